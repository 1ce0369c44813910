//! Schema files: one side of a pair read from disk instead of BigQuery (the offline gate).
//!
//! Accepted shapes: `bq show --schema --format=prettyjson` (an array of fields), a table
//! resource as `bq show --format=prettyjson` prints it (`{"schema": {"fields": [...]}, ...}`),
//! or a bare schema object (`{"fields": [...]}`).

use std::path::{Path, PathBuf};

use serde_json::Value;
use thiserror::Error;

use super::model::{Field, Schema, TableMeta};

#[derive(Debug, Error)]
pub enum SchemaFileError {
    #[error("cannot read schema file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: invalid JSON: {message}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Shape { path: PathBuf, message: String },
}

/// Read and parse a schema file.
pub(crate) fn load(path: &Path) -> Result<TableMeta, SchemaFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| SchemaFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    // A byte-order mark (Windows editors add one) is not JSON.
    parse(path, text.strip_prefix('\u{feff}').unwrap_or(&text))
}

/// Parse the text of a schema file; `path` only names it in errors.
pub fn parse(path: &Path, text: &str) -> Result<TableMeta, SchemaFileError> {
    let json_err = |e: serde_json::Error| SchemaFileError::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    let shape = |message: String| SchemaFileError::Shape {
        path: path.to_path_buf(),
        message,
    };
    let value: Value = serde_json::from_str(text).map_err(json_err)?;
    let meta = match &value {
        Value::Array(_) => {
            let fields: Vec<Field> = serde_json::from_value(value)
                .map_err(|e| shape(format!("not a list of schema fields: {e}")))?;
            TableMeta {
                schema: Some(Schema { fields }),
                schema_only: true,
                ..TableMeta::default()
            }
        }
        Value::Object(map) if map.contains_key("schema") => serde_json::from_value(value)
            .map_err(|e| shape(format!("not a table resource: {e}")))?,
        Value::Object(map) if map.contains_key("fields") => {
            let schema: Schema = serde_json::from_value(value)
                .map_err(|e| shape(format!("not a schema object: {e}")))?;
            TableMeta {
                schema: Some(schema),
                schema_only: true,
                ..TableMeta::default()
            }
        }
        _ => {
            return Err(shape(
                "expected a list of fields (bq show --schema --format=prettyjson) or a table \
                 resource with \"schema\": {\"fields\": [...]} (bq show --format=prettyjson)"
                    .into(),
            ))
        }
    };
    let columns = count_fields(meta.fields());
    if columns > MAX_COLUMNS {
        return Err(shape(format!(
            "{columns} columns (nested fields included): BigQuery allows at most {MAX_COLUMNS}"
        )));
    }
    check_fields(meta.fields(), "", 1).map_err(shape)?;
    Ok(meta)
}

/// BigQuery allows at most this many columns in a table, nested fields included.
pub(crate) const MAX_COLUMNS: usize = 10_000;

fn count_fields(fields: &[Field]) -> usize {
    fields.iter().map(|f| 1 + count_fields(&f.fields)).sum()
}

/// BigQuery allows at most this many levels of nested RECORD types.
pub(crate) const MAX_DEPTH: usize = 15;

/// Every field needs a name and a type; names are unique (case-insensitively) per level; no
/// deeper than BigQuery allows.
fn check_fields(fields: &[Field], prefix: &str, depth: usize) -> Result<(), String> {
    // `fields` sit at level `depth`, inside `depth - 1` RECORDs.
    if depth - 1 > MAX_DEPTH && !fields.is_empty() {
        return Err(format!(
            "`{}` nests RECORDs {} levels deep: BigQuery allows at most {MAX_DEPTH}",
            prefix.trim_end_matches('.'),
            depth - 1
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, f) in fields.iter().enumerate() {
        let path = format!("{prefix}{}", f.name);
        if f.name.is_empty() {
            return Err(format!("field #{} under `{prefix}` has no name", i + 1));
        }
        if f.field_type.is_empty() {
            return Err(format!("field `{path}` has no type"));
        }
        if !seen.insert(f.name.to_lowercase()) {
            return Err(format!("field `{path}` appears twice"));
        }
        check_fields(&f.fields, &format!("{path}."), depth + 1)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_columns_than_bigquery_allows_are_refused() {
        let fields: Vec<serde_json::Value> = (0..10_001)
            .map(|i| serde_json::json!({"name": format!("c{i}"), "type": "STRING"}))
            .collect();
        let text = serde_json::Value::Array(fields).to_string();
        let e = parse(Path::new("wide.json"), &text)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("wide.json") && e.contains("10001 columns"),
            "{e}"
        );
        let ok: Vec<serde_json::Value> = (0..10_000)
            .map(|i| serde_json::json!({"name": format!("c{i}"), "type": "STRING"}))
            .collect();
        assert!(parse(
            Path::new("ok.json"),
            &serde_json::Value::Array(ok).to_string()
        )
        .is_ok());
    }

    #[test]
    fn reads_all_three_shapes() {
        let p = Path::new("s.json");
        let a = parse(p, r#"[{"name":"id","type":"INTEGER","mode":"REQUIRED"}]"#).unwrap();
        let b = parse(
            p,
            r#"{"kind":"bigquery#table","schema":{"fields":[{"name":"id","type":"INTEGER","mode":"REQUIRED"}]},"numRows":"3","labels":{"team":"x"}}"#,
        )
        .unwrap();
        let c = parse(
            p,
            r#"{"fields":[{"name":"id","type":"INTEGER","mode":"REQUIRED"}]}"#,
        )
        .unwrap();
        assert_eq!(a.fields(), b.fields());
        assert!(a.schema_only && c.schema_only && !b.schema_only);
        assert_eq!(a.fields(), c.fields());
        assert_eq!(b.num_rows, Some(3));
        assert_eq!(b.labels.get("team").map(String::as_str), Some("x"));
    }

    #[test]
    fn max_length_as_string_or_number() {
        let p = Path::new("s.json");
        let a = parse(p, r#"[{"name":"s","type":"STRING","maxLength":"10"}]"#).unwrap();
        let b = parse(p, r#"[{"name":"s","type":"STRING","maxLength":10}]"#).unwrap();
        assert_eq!(a.fields()[0].max_length, Some(10));
        assert_eq!(a, b);
    }

    #[test]
    fn errors_name_the_file_and_position() {
        let p = Path::new("schemas/users.json");
        let e = parse(p, "[\n  {\"name\": \"id\",\n  \"type\": }\n]")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("schemas/users.json:3:"), "{e}");
        let e = parse(p, r#"{"foo": 1}"#).unwrap_err().to_string();
        assert!(e.starts_with("schemas/users.json: expected a list"), "{e}");
        let e = parse(p, r#"[{"name":"id"}]"#).unwrap_err().to_string();
        assert!(e.contains("`id` has no type"), "{e}");
        let e = parse(p, r#"[{"name":"a","type":"RECORD","fields":[{"name":"x","type":"INT64"},{"name":"X","type":"INT64"}]}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`a.X` appears twice"), "{e}");
        let e = load(Path::new("/nonexistent/x.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/x.json"), "{e}");
    }
}
