//! A fake BigQuery (wiremock) answering as the REST API v2 does: tables.get, jobs.query and
//! getQueryResults, jobs.get, tabledata.list and BigQuery's error body. For what the local
//! emulator cannot show (retries, hangs, cancellation, other locations, cost guards), and for
//! the report snapshots, which need no emulator.

use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Map, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A BigQuery API on a local port. Derefs to the [`MockServer`], on which tests mount their
/// own answers and check what was asked.
pub struct FakeBigQuery {
    server: MockServer,
}

impl FakeBigQuery {
    /// A fake whose jobs.get answers that every job was a SELECT (bqcheck asks, since a real
    /// jobs.query answer does not say), mounted first so it wins over later catch-alls.
    pub async fn start() -> FakeBigQuery {
        let fake = FakeBigQuery::bare().await;
        select_jobs(&fake.server).await;
        fake
    }

    /// A fake that answers nothing yet, not even jobs.get.
    pub async fn bare() -> FakeBigQuery {
        FakeBigQuery {
            server: MockServer::start().await,
        }
    }

    /// The requests received so far with method `verb` whose path contains `path_part`.
    pub async fn requests(&self, verb: &str, path_part: &str) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.method.as_str() == verb && r.url.path().contains(path_part))
            .collect()
    }

    /// How many jobs.query calls it received.
    pub async fn query_count(&self) -> usize {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/queries"))
            .count()
    }

    /// tables.get of `project.dataset.table` answers `resource`.
    pub async fn table(&self, id: &str, resource: Value) {
        Mock::given(method("GET"))
            .and(path(table_path(id)))
            .respond_with(ResponseTemplate::new(200).set_body_json(resource))
            .mount(&self.server)
            .await;
    }

    /// tabledata.list of `project.dataset.table` answers `rows` (cells as BigQuery sends them).
    pub async fn table_rows(&self, id: &str, rows: Value) {
        let n = rows.as_array().map_or(0, Vec::len);
        Mock::given(method("GET"))
            .and(path(format!("{}/data", table_path(id))))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"totalRows": n.to_string(), "rows": rows})),
            )
            .mount(&self.server)
            .await;
    }

    /// Every tables.get not answered by a mock mounted before: BigQuery's 404 naming the table.
    pub async fn tables_not_found(&self) {
        Mock::given(method("GET"))
            .and(path_regex(r"/datasets/[^/]+/tables/[^/]+$"))
            .respond_with(|req: &Request| {
                let p: Vec<&str> = req.url.path().split('/').collect();
                let (project, dataset, table) = (p[4], p[6], p[8]);
                error(
                    404,
                    "notFound",
                    &format!("Not found: Table {project}:{dataset}.{table}"),
                )
            })
            .mount(&self.server)
            .await;
    }

    /// jobs.query in `project` answers at once with one row, from `answers`: (marker,
    /// columns). A query's row holds every column of the first answer whose marker (a table's
    /// `` `project.dataset.table` `` identifier, or a column alias such as `only_in_a`) its
    /// SQL contains. Values go as BigQuery sends scalars (strings), arrays as REPEATED STRING;
    /// a query no marker matches gets BigQuery's 400 invalidQuery.
    pub async fn answer_queries(&self, project: &str, answers: Vec<(String, Value)>) {
        let jobs = AtomicUsize::new(0);
        let project = project.to_string();
        Mock::given(method("POST"))
            .and(path(format!("/bigquery/v2/projects/{project}/queries")))
            .respond_with(move |req: &Request| {
                let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                let sql = body["query"].as_str().unwrap_or("");
                let Some((_, cols)) = answers.iter().find(|(m, _)| sql.contains(m.as_str()))
                else {
                    return error(
                        400,
                        "invalidQuery",
                        &format!("the fake has no answer for: {sql}"),
                    );
                };
                let empty = Map::new();
                let cols = cols.as_object().unwrap_or(&empty);
                let fields: Vec<Value> = cols
                    .iter()
                    .map(|(k, v)| match v {
                        Value::Array(_) => json!({"name": k, "type": "STRING", "mode": "REPEATED"}),
                        _ => json!({"name": k, "type": "STRING"}),
                    })
                    .collect();
                let cell = |v: &Value| match v {
                    Value::Null => Value::Null,
                    Value::String(s) => json!(s),
                    other => json!(other.to_string()),
                };
                let cells: Vec<Value> = cols
                    .values()
                    .map(|v| match v {
                        Value::Array(a) => {
                            json!({"v": a.iter().map(|x| json!({"v": cell(x)})).collect::<Vec<_>>()})
                        }
                        v => json!({"v": cell(v)}),
                    })
                    .collect();
                let n = jobs.fetch_add(1, Ordering::SeqCst);
                ResponseTemplate::new(200).set_body_json(json!({
                    "jobReference": {"projectId": project, "jobId": format!("job-{n}"), "location": "US"},
                    "jobComplete": true,
                    "totalBytesProcessed": "1000",
                    // As BigQuery bills: at least 10 MiB per query.
                    "totalBytesBilled": "10485760",
                    "totalSlotMs": "250",
                    "cacheHit": false,
                    "schema": {"fields": fields},
                    "rows": [{"f": cells}],
                }))
            })
            .mount(&self.server)
            .await;
    }
}

impl Deref for FakeBigQuery {
    type Target = MockServer;
    fn deref(&self) -> &MockServer {
        &self.server
    }
}

/// The REST path of `project.dataset.table`.
fn table_path(id: &str) -> String {
    let parts: Vec<&str> = id.split('.').collect();
    assert_eq!(parts.len(), 3, "not project.dataset.table: {id}");
    format!(
        "/bigquery/v2/projects/{}/datasets/{}/tables/{}",
        parts[0], parts[1], parts[2]
    )
}

/// jobs.get answering that every job was a SELECT. Mount it first: it takes precedence over
/// catch-alls.
pub async fn select_jobs(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path_regex(r"/projects/[^/]+/jobs/[^/]+$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"statistics": {"query": {"statementType": "SELECT"}}})),
        )
        .mount(server)
        .await;
}

/// A table resource as tables.get sends it: a TABLE in the US, 3 rows, one INTEGER `id`.
pub fn table_meta() -> Value {
    json!({"kind": "bigquery#table", "type": "TABLE", "location": "US", "numRows": "3",
           "schema": {"fields": [{"name": "id", "type": "INTEGER"}]}})
}

/// A table resource with these schema `fields` and no rows.
pub fn table_body(fields: Value) -> Value {
    json!({"kind": "bigquery#table", "schema": {"fields": fields}, "numRows": "0"})
}

/// A completed scan as jobs.query or getQueryResults answers it: 3 rows, `fingerprint`;
/// with `job`, the job reference jobs.query carries.
pub fn scan_done(job: Option<&str>, fingerprint: &str) -> Value {
    let mut v = json!({
        "jobComplete": true, "totalBytesProcessed": "10",
        "schema": {"fields": [{"name": "row_count", "type": "INTEGER"},
                              {"name": "fingerprint", "type": "BIGNUMERIC"}]},
        "rows": [{"f": [{"v": "3"}, {"v": fingerprint}]}]
    });
    if let Some(id) = job {
        v["jobReference"] = json!({"projectId": "billing", "jobId": id, "location": "US"});
    }
    v
}

/// BigQuery's error body: `{"error": {"code", "message", "errors": [{"reason", "message"}]}}`.
pub fn error(status: u16, reason: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {"code": status,
        "message": message, "errors": [{"reason": reason, "message": message}]}}))
}
