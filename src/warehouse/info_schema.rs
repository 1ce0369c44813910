//! A dataset's schemas from one `INFORMATION_SCHEMA` query (`COLUMNS`, `COLUMN_FIELD_PATHS`,
//! `TABLES`) instead of one `tables.get` per table: for schema-diff over whole datasets.
//!
//! `COLUMNS` gives each top-level column's type as GoogleSQL text (`STRUCT<a INT64 NOT NULL,
//! b ARRAY<STRING(10)>>`, `NUMERIC(12, 2)`), its nullability, default and collation;
//! `COLUMN_FIELD_PATHS` gives every field's description, collation and policy tags by path.
//! The type text is parsed back into `tables.get`'s field tree (`ARRAY<T>` is a REPEATED
//! field, `NOT NULL` REQUIRED), so schema-diff sees the same schema either way. Each row is
//! read as `TO_JSON_STRING(row)`, so a view's columns that one BigQuery (or an emulator) lacks
//! are simply absent. Pure: the caller runs the query.

use std::collections::BTreeMap;

use serde_json::Value;

use super::model::{Field, PolicyTags, RangeElementType, Schema, TableMeta};
use crate::model::DatasetRef;

/// The one query for a dataset's schemas (`k`: `c` column, `f` field path, `t` table).
pub(crate) fn dataset_schemas_sql(d: &DatasetRef) -> String {
    format!(
        "SELECT 'c' AS k, TO_JSON_STRING(c) AS j FROM {} AS c\n\
         UNION ALL SELECT 'f' AS k, TO_JSON_STRING(f) AS j FROM {} AS f\n\
         UNION ALL SELECT 't' AS k, TO_JSON_STRING(t) AS j FROM {} AS t",
        d.information_schema("COLUMNS"),
        d.information_schema("COLUMN_FIELD_PATHS"),
        d.information_schema("TABLES"),
    )
}

/// The query's rows (`k`, `j`) as each table's metadata, by table name. A row that cannot be
/// read, or a type that cannot be parsed, leaves its table out: the caller falls back to
/// `tables.get` for it.
pub(crate) fn tables_from_rows(rows: &[(String, String)]) -> BTreeMap<String, TableMeta> {
    let mut columns: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut paths: BTreeMap<(String, String), Value> = BTreeMap::new();
    let mut kinds: BTreeMap<String, String> = BTreeMap::new();
    let mut broken: Vec<String> = Vec::new();
    for (k, j) in rows {
        let Ok(v) = serde_json::from_str::<Value>(j) else {
            continue;
        };
        let Some(table) = v
            .get("table_name")
            .and_then(Value::as_str)
            .map(String::from)
        else {
            continue;
        };
        match k.as_str() {
            // Pseudo-columns (`_PARTITIONTIME` of an ingestion-time table) are listed as
            // hidden or system-defined, without a position; tables.get never shows them.
            "c" if v.get("is_hidden").and_then(Value::as_str) == Some("YES")
                || v.get("is_system_defined").and_then(Value::as_str) == Some("YES")
                || v.get("ordinal_position").is_none_or(Value::is_null) => {}
            "c" => columns.entry(table).or_default().push(v),
            "f" => {
                if let Some(p) = v.get("field_path").and_then(Value::as_str) {
                    paths.insert((table, p.to_ascii_lowercase()), v);
                }
            }
            "t" => {
                let kind = match v.get("table_type").and_then(Value::as_str) {
                    Some("BASE TABLE") => "TABLE",
                    Some("MATERIALIZED VIEW") => "MATERIALIZED_VIEW",
                    Some(other) => other,
                    None => "TABLE",
                };
                kinds.insert(table, kind.to_string());
            }
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    for (table, mut cols) in columns {
        cols.sort_by_key(|c| c.get("ordinal_position").and_then(Value::as_i64));
        let mut fields = Vec::new();
        for c in &cols {
            let name = c
                .get("column_name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let ty = c
                .get("data_type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Ok(mut f) = parse_field(name, ty) else {
                broken.push(table.clone());
                break;
            };
            if f.mode.as_deref() != Some("REPEATED") {
                let nullable = c.get("is_nullable").and_then(Value::as_str) != Some("NO");
                f.mode = Some(if nullable { "NULLABLE" } else { "REQUIRED" }.into());
            }
            // Real BigQuery says `NULL` for a column without a default.
            f.default_value_expression = c
                .get("column_default")
                .and_then(Value::as_str)
                .filter(|d| !d.eq_ignore_ascii_case("NULL"))
                .map(String::from);
            annotate(&mut f, &table, "", &paths);
            fields.push(f);
        }
        if broken.last() == Some(&table) {
            continue;
        }
        out.insert(
            table.clone(),
            TableMeta {
                schema: Some(Schema { fields }),
                table_type: Some(kinds.get(&table).cloned().unwrap_or_else(|| "TABLE".into())),
                ..TableMeta::default()
            },
        );
    }
    out
}

/// Descriptions, collations and policy tags from `COLUMN_FIELD_PATHS`, by path.
fn annotate(f: &mut Field, table: &str, parent: &str, paths: &BTreeMap<(String, String), Value>) {
    let path = if parent.is_empty() {
        f.name.clone()
    } else {
        format!("{parent}.{}", f.name)
    };
    if let Some(p) = paths.get(&(table.to_string(), path.to_ascii_lowercase())) {
        f.description = p
            .get("description")
            .and_then(Value::as_str)
            .map(String::from);
        if let Some(c) = p
            .get("collation_name")
            .and_then(Value::as_str)
            .filter(|c| !c.eq_ignore_ascii_case("NULL"))
        {
            f.collation = Some(c.to_string());
        }
        let tags: Vec<String> = p
            .get("policy_tags")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        if !tags.is_empty() {
            f.policy_tags = Some(PolicyTags { names: tags });
        }
    }
    for child in &mut f.fields {
        annotate(child, table, &path, paths);
    }
}

/// A column named `name` of GoogleSQL type `ty`, as `tables.get` would describe it.
pub(crate) fn parse_field(name: &str, ty: &str) -> Result<Field, String> {
    let mut p = Parser {
        s: ty.as_bytes(),
        i: 0,
    };
    let f = p.field_of(name)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected `{}` in type `{ty}`", &ty[p.i..]));
    }
    Ok(f)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{}` at {}", c as char, self.i))
        }
    }

    /// A keyword or name; a backticked name unquoted.
    fn word(&mut self) -> Result<String, String> {
        self.ws();
        if self.eat(b'`') {
            let start = self.i;
            while self.i < self.s.len() && self.s[self.i] != b'`' {
                self.i += 1;
            }
            let w = String::from_utf8_lossy(&self.s[start..self.i]).to_string();
            self.expect(b'`')?;
            return Ok(w);
        }
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric()
                || self.s[self.i] == b'_'
                || self.s[self.i] >= 0x80)
        {
            self.i += 1;
        }
        if start == self.i {
            return Err(format!("expected a name at {}", self.i));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).to_string())
    }

    fn peek_word(&mut self) -> Option<String> {
        let save = self.i;
        let w = self.word().ok();
        self.i = save;
        w
    }

    fn number(&mut self) -> Result<i64, String> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("expected a number at {start}"))
    }

    /// A quoted string (`COLLATE 'und:ci'`).
    fn quoted(&mut self) -> Result<String, String> {
        self.ws();
        let q = *self.s.get(self.i).ok_or("expected a quoted string")?;
        if q != b'\'' && q != b'"' {
            return Err(format!("expected a quoted string at {}", self.i));
        }
        self.i += 1;
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i] != q {
            self.i += 1;
        }
        let w = String::from_utf8_lossy(&self.s[start..self.i]).to_string();
        self.expect(q)?;
        Ok(w)
    }

    /// A field named `name`: its type, then `NOT NULL`, `COLLATE '…'`, `OPTIONS(…)`.
    fn field_of(&mut self, name: &str) -> Result<Field, String> {
        let mut f = Field {
            name: name.to_string(),
            ..Field::default()
        };
        let ty = self.word()?.to_ascii_uppercase();
        match ty.as_str() {
            "ARRAY" => {
                self.expect(b'<')?;
                let inner = self.field_of(name)?;
                self.expect(b'>')?;
                f = Field {
                    mode: Some("REPEATED".into()),
                    ..inner
                };
            }
            "STRUCT" | "RECORD" => {
                f.field_type = "RECORD".into();
                self.expect(b'<')?;
                loop {
                    let child = self.word()?;
                    let mut c = self.field_of(&child)?;
                    if c.mode.is_none() {
                        c.mode = Some("NULLABLE".into());
                    }
                    f.fields.push(c);
                    if !self.eat(b',') {
                        break;
                    }
                }
                self.expect(b'>')?;
            }
            "RANGE" => {
                f.field_type = "RANGE".into();
                self.expect(b'<')?;
                let e = self.word()?.to_ascii_uppercase();
                self.expect(b'>')?;
                f.range_element_type = Some(RangeElementType { element_type: e });
            }
            other => {
                f.field_type = other.to_string();
                if self.eat(b'(') {
                    let a = self.number()?;
                    let b = if self.eat(b',') {
                        Some(self.number()?)
                    } else {
                        None
                    };
                    self.expect(b')')?;
                    match (other, b) {
                        ("STRING" | "BYTES", None) => f.max_length = Some(a),
                        ("NUMERIC" | "BIGNUMERIC" | "DECIMAL" | "BIGDECIMAL", b) => {
                            f.precision = Some(a);
                            f.scale = b;
                        }
                        _ => return Err(format!("unexpected parameters of {other}")),
                    }
                }
            }
        }
        // Attributes after the type, in any order.
        loop {
            match self.peek_word().map(|w| w.to_ascii_uppercase()).as_deref() {
                Some("NOT") => {
                    self.word()?;
                    if !self.word()?.eq_ignore_ascii_case("NULL") {
                        return Err("expected NOT NULL".into());
                    }
                    f.mode = Some("REQUIRED".into());
                }
                Some("COLLATE") => {
                    self.word()?;
                    f.collation = Some(self.quoted()?);
                }
                Some("OPTIONS") => {
                    self.word()?;
                    self.skip_parens()?;
                }
                _ => break,
            }
        }
        Ok(f)
    }

    /// `( … )`, nested parentheses and quoted strings included.
    fn skip_parens(&mut self) -> Result<(), String> {
        self.expect(b'(')?;
        let mut depth = 1;
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        return Ok(());
                    }
                }
                b'\'' | b'"' => {
                    self.quoted()?;
                    continue;
                }
                _ => {}
            }
            self.i += 1;
        }
        Err("unbalanced parentheses".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn googlesql_types_become_tables_get_fields() {
        let f = parse_field(
            "items",
            "ARRAY<STRUCT<sku STRING(32) NOT NULL, price NUMERIC(12, 2), tags ARRAY<STRING>, `from` STRUCT<x RANGE<DATE>, y BIGNUMERIC(40)>>>",
        )
        .unwrap();
        assert_eq!(
            (f.field_type.as_str(), f.mode.as_deref()),
            ("RECORD", Some("REPEATED"))
        );
        let sku = &f.fields[0];
        assert_eq!(
            (sku.field_type.as_str(), sku.mode.as_deref(), sku.max_length),
            ("STRING", Some("REQUIRED"), Some(32))
        );
        let price = &f.fields[1];
        assert_eq!((price.precision, price.scale), (Some(12), Some(2)));
        assert_eq!(price.mode.as_deref(), Some("NULLABLE"));
        assert_eq!(f.fields[2].mode.as_deref(), Some("REPEATED"));
        let from = &f.fields[3];
        assert_eq!(from.name, "from");
        assert_eq!(
            from.fields[0].range_element_type,
            Some(RangeElementType {
                element_type: "DATE".into()
            })
        );
        assert_eq!(
            (from.fields[1].precision, from.fields[1].scale),
            (Some(40), None)
        );
        let c = parse_field(
            "s",
            "STRING COLLATE 'und:ci' OPTIONS(description=\"a (b)\")",
        )
        .unwrap();
        assert_eq!(c.collation.as_deref(), Some("und:ci"));
        assert!(parse_field("x", "STRUCT<a INT64").is_err());
        assert!(parse_field("x", "INT64(3)").is_err());
        assert!(parse_field("x", "INT64 garbage").is_err());
    }

    #[test]
    fn rows_become_tables_with_modes_descriptions_and_kinds() {
        let row = |k: &str, v: Value| (k.to_string(), v.to_string());
        let rows = vec![
            row(
                "c",
                serde_json::json!({"table_name": "t", "column_name": "b", "ordinal_position": 2, "is_nullable": "YES", "data_type": "STRUCT<x INT64>", "column_default": "NULL"}),
            ),
            row(
                "c",
                serde_json::json!({"table_name": "t", "column_name": "a", "ordinal_position": 1, "is_nullable": "NO", "data_type": "INT64", "column_default": "0"}),
            ),
            row(
                "f",
                serde_json::json!({"table_name": "t", "field_path": "b.x", "description": "the x", "policy_tags": ["projects/p/tag"]}),
            ),
            row(
                "t",
                serde_json::json!({"table_name": "t", "table_type": "BASE TABLE"}),
            ),
            row(
                "c",
                serde_json::json!({"table_name": "v", "column_name": "a", "ordinal_position": 1, "is_nullable": "YES", "data_type": "STRUCT<"}),
            ),
            row("x", serde_json::json!({"table_name": "ignored"})),
            row(
                "c",
                serde_json::json!({"table_name": "t", "column_name": "_PARTITIONTIME", "ordinal_position": null, "is_nullable": "YES", "data_type": "TIMESTAMP", "is_hidden": "YES", "is_system_defined": "YES"}),
            ),
            ("c".into(), "not json".into()),
        ];
        let got = tables_from_rows(&rows);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            ["t"],
            "v's broken type leaves it out"
        );
        let t = &got["t"];
        assert_eq!(t.table_type.as_deref(), Some("TABLE"));
        let fields = &t.schema.as_ref().unwrap().fields;
        assert_eq!(fields.len(), 2, "no pseudo-column");
        assert_eq!(fields[0].name, "a");
        assert_eq!(fields[0].mode.as_deref(), Some("REQUIRED"));
        assert_eq!(fields[0].default_value_expression.as_deref(), Some("0"));
        assert_eq!(fields[1].default_value_expression, None);
        assert_eq!(fields[1].fields[0].description.as_deref(), Some("the x"));
        assert_eq!(
            fields[1].fields[0].policy_tags,
            Some(PolicyTags {
                names: vec!["projects/p/tag".into()]
            })
        );
    }
}
