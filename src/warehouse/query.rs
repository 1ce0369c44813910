//! `jobs.query` / `jobs.getQueryResults`: run one generated SELECT and read its rows.
//!
//! Every job is GoogleSQL (`useLegacySql: false`), labelled `bqcheck`, run in the tables'
//! location, and carries `maximumBytesBilled` when the user set one. Errors arrive either as
//! an HTTP error (the emulator and most real failures) or inside a 200 response (`errors`,
//! `status.errorResult`); both become a [`WarehouseError`].

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::client::{Client, WarehouseError};
use super::model::Field;
use crate::model::Usage;

/// How to run a query.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryOptions {
    /// Where the tables live (`US`, `EU`, ...).
    pub(crate) location: Option<String>,
    /// `maximumBytesBilled`: BigQuery refuses the job rather than bill more.
    pub(crate) max_bytes_billed: Option<u64>,
    /// Value of the `bqcheck` job label, e.g. `table-compare`.
    pub(crate) label: String,
    /// Validate and estimate only (`dryRun: true`): nothing runs, nothing is billed.
    pub(crate) dry_run: bool,
}

/// A finished query: rows as JSON values keyed by column name.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryResult {
    pub(crate) rows: Vec<Map<String, Value>>,
    /// What the job used: `totalBytesProcessed` (for a dry run: the estimate, and nothing
    /// billed), `totalBytesBilled` and `totalSlotMs` (0 when BigQuery does not say).
    pub(crate) usage: Usage,
}

fn decode(what: &str, message: impl Into<String>) -> WarehouseError {
    WarehouseError::Decode {
        what: what.to_string(),
        message: message.into(),
    }
}

/// Turn one `{"v": ...}` cell into plain JSON using its schema field.
fn cell_value(field: &Field, v: &Value) -> Value {
    let repeated = field.mode.as_deref() == Some("REPEATED");
    if repeated {
        let items = v.as_array().cloned().unwrap_or_default();
        let single = Field {
            mode: Some("NULLABLE".into()),
            ..field.clone()
        };
        return Value::Array(
            items
                .iter()
                .map(|item| cell_value(&single, item.get("v").unwrap_or(&Value::Null)))
                .collect(),
        );
    }
    if !field.fields.is_empty() {
        if let Some(cells) = v.get("f").and_then(Value::as_array) {
            return Value::Object(
                field
                    .fields
                    .iter()
                    .zip(cells)
                    .map(|(f, c)| {
                        (
                            f.name.clone(),
                            cell_value(f, c.get("v").unwrap_or(&Value::Null)),
                        )
                    })
                    .collect(),
            );
        }
    }
    typed_scalar(&field.field_type, v)
}

/// BigQuery sends every scalar as a string: give integers, finite floats and booleans their
/// JSON types and timestamps (float seconds, `1.7041032E9` or `1704103200.0`) as RFC 3339.
/// NUMERIC/BIGNUMERIC stay strings: a JSON number would lose digits.
fn typed_scalar(field_type: &str, v: &Value) -> Value {
    let Some(s) = v.as_str() else {
        return v.clone();
    };
    match field_type.to_ascii_uppercase().as_str() {
        "INTEGER" | "INT64" => s
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| v.clone()),
        "FLOAT" | "FLOAT64" => s
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| v.clone()),
        "BOOLEAN" | "BOOL" => match s {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => v.clone(),
        },
        "TIMESTAMP" => s
            .parse::<f64>()
            .ok()
            .and_then(|secs| {
                let micros = (secs * 1_000_000.0).round() as i64;
                chrono::DateTime::from_timestamp_micros(micros)
            })
            .map(|t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
            .unwrap_or_else(|| v.clone()),
        _ => v.clone(),
    }
}

/// Rows of a query response (`schema` + `rows[].f[].v`) as objects keyed by column name.
pub(crate) fn parse_rows(resp: &Value) -> Result<Vec<Map<String, Value>>, WarehouseError> {
    let fields: Vec<Field> = match resp.get("schema").and_then(|s| s.get("fields")) {
        Some(f) => serde_json::from_value(f.clone())
            .map_err(|e| decode("query result schema", e.to_string()))?,
        None => Vec::new(),
    };
    let rows = resp
        .get("rows")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    rows.iter()
        .map(|row| {
            let cells = row
                .get("f")
                .and_then(Value::as_array)
                .ok_or_else(|| decode("query result row", "no `f` array"))?;
            Ok(fields
                .iter()
                .zip(cells)
                .map(|(f, c)| {
                    (
                        f.name.clone(),
                        cell_value(f, c.get("v").unwrap_or(&Value::Null)),
                    )
                })
                .collect())
        })
        .collect()
}

/// An error reported inside a 200 response, if any.
fn embedded_error(resp: &Value) -> Option<WarehouseError> {
    let err = resp
        .get("status")
        .and_then(|s| s.get("errorResult"))
        .or_else(|| {
            // `errors` on a complete response without a schema means the job failed.
            if resp.get("schema").is_none() && resp.get("jobComplete") == Some(&Value::Bool(true)) {
                resp.get("errors").and_then(|e| e.get(0))
            } else {
                None
            }
        })?;
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("query failed")
        .to_string();
    Some(match err.get("reason").and_then(Value::as_str) {
        Some("notFound") => WarehouseError::NotFound(message),
        Some("accessDenied") => WarehouseError::AccessDenied(message),
        Some(reason) if reason.starts_with("invalid") || reason == "bytesBilledLimitExceeded" => {
            WarehouseError::Invalid(format!("{message} ({reason})"))
        }
        reason => WarehouseError::Api {
            status: 200,
            reason: reason.map(String::from),
            message,
        },
    })
}

/// bqcheck only ever means to run SELECTs. BigQuery's answer says what actually ran where it
/// can: `statementType` (jobs.get, the emulator's jobs.query), or DML statistics (every
/// jobs.query answer for INSERT, UPDATE, DELETE, MERGE). Anything else is refused, loudly.
fn not_a_select(resp: &Value) -> Option<WarehouseError> {
    let statement = resp
        .get("statementType")
        .or_else(|| resp.pointer("/statistics/query/statementType"))
        .and_then(Value::as_str);
    let dml = resp.get("numDmlAffectedRows").is_some() || resp.get("dmlStats").is_some();
    match statement {
        Some("SELECT") if !dml => None,
        None if !dml => None,
        other => Some(WarehouseError::NotReadOnly(
            other.unwrap_or("DML").chars().take(40).collect(),
        )),
    }
}

/// A count BigQuery sends as a string (`"1024"`), or a number.
fn count_at(resp: &Value, pointer: &str) -> Option<u64> {
    resp.pointer(pointer).and_then(|v| {
        v.as_str()
            .and_then(|s| s.parse().ok())
            .or_else(|| v.as_u64())
    })
}

fn bytes(resp: &Value) -> u64 {
    count_at(resp, "/totalBytesProcessed").unwrap_or(0)
}

/// What a job's statistics say it used (jobs.get `statistics`, or a jobs.query answer's
/// top-level `totalBytesBilled` / `totalSlotMs`, which getQueryResults answers lack).
#[derive(Debug, Clone, Default, PartialEq)]
struct JobStatistics {
    statement_type: Option<String>,
    bytes_billed: Option<u64>,
    slot_ms: Option<u64>,
}

impl Client {
    /// Run `sql` in `project` and return every row (all pages).
    pub(crate) async fn query(
        &self,
        project: &str,
        sql: &str,
        opts: &QueryOptions,
    ) -> Result<QueryResult, WarehouseError> {
        let mut body = json!({
            "query": sql,
            "useLegacySql": false,
            // Short: the job id arrives with the first answer, and only a known job can be
            // cancelled (--timeout, Ctrl-C). Longer jobs are then long-polled by id.
            "timeoutMs": 1000,
            "labels": {"bqcheck": opts.label},
            "dryRun": opts.dry_run,
        });
        if let Some(loc) = &opts.location {
            body["location"] = json!(loc);
        }
        if let Some(max) = opts.max_bytes_billed {
            body["maximumBytesBilled"] = json!(max.to_string());
        }
        let url = self.endpoint(&["projects", project, "queries"])?;
        let resp = self.send_json(Method::POST, url, Some(&body)).await?;
        if let Some(e) = embedded_error(&resp) {
            return Err(e);
        }
        if opts.dry_run {
            return Ok(QueryResult {
                rows: Vec::new(),
                usage: Usage {
                    bytes_processed: bytes(&resp),
                    ..Usage::default()
                },
            });
        }
        // A jobs.query answer that completed at once says what it billed.
        let mut billed = count_at(&resp, "/totalBytesBilled");
        let mut slot_ms = count_at(&resp, "/totalSlotMs");
        let job = resp.get("jobReference").cloned().unwrap_or(Value::Null);
        let job_id = job
            .get("jobId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let location = job
            .get("location")
            .and_then(Value::as_str)
            .map(String::from)
            .or_else(|| opts.location.clone());
        let job_project = job
            .get("projectId")
            .and_then(Value::as_str)
            .unwrap_or(project)
            .to_string();
        let mut waited = 0u32;
        let mut rows = Vec::new();
        if resp.get("jobComplete") != Some(&Value::Bool(true)) && !job_id.is_empty() {
            self.job_started(&job_project, &job_id, location.as_deref());
        }
        let result = self
            .finish_query(
                resp,
                &job_project,
                &job_id,
                location.as_deref(),
                &mut waited,
                &mut rows,
            )
            .await;
        if !job_id.is_empty() {
            self.job_finished(&job_project, &job_id);
        }
        let resp = result?;
        // jobs.query's answer names no statement type on BigQuery (the emulator's does):
        // ask the job itself, and refuse anything but a SELECT, or a job that cannot say.
        // The same jobs.get says what the job billed, which a polled job's answer does not.
        if resp.get("statementType").is_none() && !job_id.is_empty() {
            let stats = self
                .job_statistics(&job_project, &job_id, location.as_deref())
                .await?;
            if stats.statement_type.as_deref() != Some("SELECT") {
                return Err(WarehouseError::NotReadOnly(
                    stats
                        .statement_type
                        .unwrap_or_else(|| "unknown".into())
                        .chars()
                        .take(40)
                        .collect(),
                ));
            }
            billed = billed.or(stats.bytes_billed);
            slot_ms = slot_ms.or(stats.slot_ms);
        }
        Ok(QueryResult {
            rows,
            usage: Usage {
                bytes_processed: bytes(&resp),
                // Else the last answer's, if it says (a polled job's usually does not).
                bytes_billed: billed
                    .or_else(|| count_at(&resp, "/totalBytesBilled"))
                    .unwrap_or(0),
                slot_ms: slot_ms
                    .or_else(|| count_at(&resp, "/totalSlotMs"))
                    .unwrap_or(0),
            },
        })
    }

    /// Poll the job until it is complete and read every page of its rows into `rows`; the
    /// last response.
    async fn finish_query(
        &self,
        mut resp: Value,
        job_project: &str,
        job_id: &str,
        location: Option<&str>,
        waited: &mut u32,
        rows: &mut Vec<Row>,
    ) -> Result<Value, WarehouseError> {
        loop {
            if resp.get("jobComplete") == Some(&Value::Bool(true)) {
                if let Some(e) = embedded_error(&resp) {
                    return Err(e);
                }
                if let Some(e) = not_a_select(&resp) {
                    return Err(e);
                }
                rows.extend(parse_rows(&resp)?);
                let Some(token) = resp.get("pageToken").and_then(Value::as_str) else {
                    break;
                };
                let token = token.to_string();
                resp = self
                    .get_results(job_project, job_id, location, Some(&token))
                    .await?;
                continue;
            }
            if job_id.is_empty() {
                return Err(decode(
                    "jobs.query",
                    "incomplete job without a jobReference",
                ));
            }
            *waited += 1;
            if *waited > 1 {
                tokio::time::sleep(Duration::from_millis(200 * u64::from((*waited).min(10)))).await;
            }
            resp = self
                .get_results(job_project, job_id, location, None)
                .await?;
        }
        Ok(resp)
    }

    /// `tabledata.list`: up to `max` rows of a table without running a query (free: no bytes
    /// billed). Views have no table data; query them instead.
    pub(crate) async fn list_rows(
        &self,
        t: &crate::model::TableRef,
        fields: &[Field],
        max: u32,
    ) -> Result<Vec<Row>, WarehouseError> {
        let mut url = self.endpoint(&[
            "projects", &t.project, "datasets", &t.dataset, "tables", &t.table, "data",
        ])?;
        url.query_pairs_mut()
            .append_pair("maxResults", &max.to_string());
        let mut resp = self.send_json(Method::GET, url, None).await?;
        resp["schema"] = json!({ "fields": fields });
        let mut rows = parse_rows(&resp)?;
        rows.truncate(max as usize);
        Ok(rows)
    }

    /// A job's statement type and what it billed (jobs.get, only those fields).
    async fn job_statistics(
        &self,
        project: &str,
        job_id: &str,
        location: Option<&str>,
    ) -> Result<JobStatistics, WarehouseError> {
        let mut url = self.endpoint(&["projects", project, "jobs", job_id])?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair(
                "fields",
                "statistics(totalSlotMs,query(statementType,totalBytesBilled,totalSlotMs))",
            );
            if let Some(l) = location {
                q.append_pair("location", l);
            }
        }
        let v = self.send_json(Method::GET, url, None).await?;
        Ok(JobStatistics {
            statement_type: v
                .pointer("/statistics/query/statementType")
                .and_then(Value::as_str)
                .map(String::from),
            bytes_billed: count_at(&v, "/statistics/query/totalBytesBilled"),
            slot_ms: count_at(&v, "/statistics/query/totalSlotMs")
                .or_else(|| count_at(&v, "/statistics/totalSlotMs")),
        })
    }

    async fn get_results(
        &self,
        project: &str,
        job_id: &str,
        location: Option<&str>,
        page_token: Option<&str>,
    ) -> Result<Value, WarehouseError> {
        let mut url = self.endpoint(&["projects", project, "queries", job_id])?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("timeoutMs", "30000");
            if let Some(l) = location {
                q.append_pair("location", l);
            }
            if let Some(t) = page_token {
                q.append_pair("pageToken", t);
            }
        }
        self.send_json(Method::GET, url, None).await
    }
}

/// Rows keyed by name, for lookups in tests and interpreters.
pub(crate) type Row = Map<String, Value>;

/// A numeric or string cell as text (`"42"`, `"1.5"`), `None` for NULL.
pub(crate) fn text(row: &Row, key: &str) -> Option<String> {
    match row.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

/// An integer cell (BigQuery sends INT64 as a string).
pub(crate) fn int(row: &Row, key: &str) -> Option<i64> {
    text(row, key).and_then(|s| {
        s.parse::<i64>()
            .ok()
            .or_else(|| s.parse::<f64>().ok().map(|f| f as i64))
    })
}

/// A string-array cell.
pub(crate) fn strings(row: &Row, key: &str) -> Vec<String> {
    row.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scalar_repeated_and_record_cells() {
        let resp = json!({
            "jobComplete": true,
            "schema": {"fields": [
                {"name": "n", "type": "INTEGER", "mode": "NULLABLE"},
                {"name": "s", "type": "STRING", "mode": "REPEATED"},
                {"name": "r", "type": "RECORD", "mode": "NULLABLE", "fields": [
                    {"name": "a", "type": "INTEGER"}, {"name": "b", "type": "STRING", "mode": "REPEATED"}]}
            ]},
            "rows": [{"f": [{"v": "3"}, {"v": [{"v": "x"}, {"v": "y"}]}, {"v": {"f": [{"v": "1"}, {"v": [{"v": "q"}]}]}}]},
                     {"f": [{"v": null}, {"v": []}, {"v": null}]}]
        });
        let rows = parse_rows(&resp).unwrap();
        assert_eq!(rows[0]["n"], json!(3));
        assert_eq!(int(&rows[0], "n"), Some(3));
        assert_eq!(strings(&rows[0], "s"), vec!["x", "y"]);
        assert_eq!(rows[0]["r"], json!({"a": 1, "b": ["q"]}));
        assert_eq!(text(&rows[1], "n"), None);
        assert!(strings(&rows[1], "s").is_empty());
    }

    #[test]
    fn scalars_get_their_json_types() {
        assert_eq!(typed_scalar("INTEGER", &json!("42")), json!(42));
        assert_eq!(typed_scalar("FLOAT", &json!("1.5")), json!(1.5));
        assert_eq!(typed_scalar("FLOAT", &json!("NaN")), json!("NaN"));
        assert_eq!(typed_scalar("BOOLEAN", &json!("true")), json!(true));
        assert_eq!(
            typed_scalar("NUMERIC", &json!("12345678901234567890.123")),
            json!("12345678901234567890.123")
        );
        // Real BigQuery and the emulator spell timestamps differently; both parse.
        assert_eq!(
            typed_scalar("TIMESTAMP", &json!("1.7041032E9")),
            json!("2024-01-01T10:00:00Z")
        );
        assert_eq!(
            typed_scalar("TIMESTAMP", &json!("1704103200.5")),
            json!("2024-01-01T10:00:00.500Z")
        );
        assert_eq!(typed_scalar("INTEGER", &Value::Null), Value::Null);
    }

    #[test]
    fn errors_inside_a_200_response() {
        let r = json!({"jobComplete": true, "status": {"errorResult": {"reason": "invalidQuery", "message": "Syntax error"}}});
        assert!(matches!(
            embedded_error(&r),
            Some(WarehouseError::Invalid(_))
        ));
        let r = json!({"jobComplete": true, "errors": [{"reason": "notFound", "message": "Not found: Table p:d.t"}]});
        assert!(matches!(
            embedded_error(&r),
            Some(WarehouseError::NotFound(_))
        ));
        let ok =
            json!({"jobComplete": true, "schema": {"fields": []}, "errors": [{"reason": "x"}]});
        assert!(embedded_error(&ok).is_none());
        let r = json!({"jobComplete": true, "status": {"errorResult": {"reason": "bytesBilledLimitExceeded", "message": "Query exceeded limit for bytes billed: 1000."}}});
        let e = embedded_error(&r).unwrap().to_string();
        assert!(e.contains("bytes billed"), "{e}");
    }
}
