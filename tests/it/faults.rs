//! Faults a CI gate meets: hung jobs (per-item --timeout), Ctrl-C / SIGTERM mid-batch
//! (partial report, jobs cancelled, 130 / 143), and transient errors retried visibly
//! (--verbose). A fake BigQuery (wiremock) stands in for the real one.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::bigquery::{error as bq_error, scan_done, table_meta};
use crate::support::{self, bin, FakeBigQuery};

/// A fake BigQuery where queries on tables whose name starts with `hang` never complete, and
/// the others complete at once with equal counts and fingerprints.
async fn fake_with_hanging_jobs() -> FakeBigQuery {
    let server = FakeBigQuery::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"/datasets/[^/]+/tables/[^/]+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(table_meta()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/bigquery/v2/projects/billing/queries"))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let sql = body["query"].as_str().unwrap_or("");
            let hang = sql.contains(".hang");
            let id = if sql.contains("hang_a") {
                "job-hang-a"
            } else {
                "job-hang-b"
            };
            if hang {
                ResponseTemplate::new(200).set_body_json(json!({
                    "jobReference": {"projectId": "billing", "jobId": id, "location": "US"},
                    "jobComplete": false
                }))
            } else {
                ResponseTemplate::new(200).set_body_json(scan_done(Some("job-ok"), "42"))
            }
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"/projects/billing/queries/job-hang-[ab]$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"jobComplete": false}))
                .set_delay(Duration::from_millis(100)),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"/projects/billing/jobs/job-hang-[ab]/cancel$"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"kind": "bigquery#jobCancelResponse"})),
        )
        .mount(&server)
        .await;
    server
}

fn wait_with_deadline(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("the process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn a_hung_item_times_out_its_jobs_are_cancelled_and_the_others_complete() {
    let server = fake_with_hanging_jobs().await;
    let out = bin("bq-table-compare")
        .args(["--api-url", &server.uri(), "--project", "billing"])
        .args(["--format", "json", "--skip-stats", "--timeout", "2"])
        .args([
            "acme.d.ok_a:acme.d.ok_b",
            "acme.d.hang_a:acme.d.hang_b",
            "acme.d.ok_b:acme.d.ok_a",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a timed-out item is trouble: {stderr}"
    );
    let j: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(j["batch_summary"]["total_pairs"], 3, "{j:#}");
    assert_eq!(j["batch_summary"]["identical"], 2, "{j:#}");
    let err = j["errors"][0]["error"].as_str().unwrap();
    assert!(err.contains("timed out after 2 s (--timeout)"), "{err}");
    assert_eq!(j["errors"][0]["table_a"], "acme.d.hang_a");
    let cancels = server.requests("POST", "/cancel").await;
    let mut ids: Vec<String> = cancels.iter().map(|r| r.url.path().to_string()).collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "/bigquery/v2/projects/billing/jobs/job-hang-a/cancel",
            "/bigquery/v2/projects/billing/jobs/job-hang-b/cancel"
        ],
        "both sides' jobs are cancelled"
    );
    assert!(cancels.iter().all(|r| r.url.query() == Some("location=US")));
    assert!(
        stderr.contains("cancelled 2 running BigQuery jobs"),
        "{stderr}"
    );
}

/// Send `signal` once both sides' (hanging) jobs are being polled; expect the partial report.
async fn interrupted(signal: i32, expected_code: i32, name: &str) {
    let server = fake_with_hanging_jobs().await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let md = dir.path().join("report.md");
    let mut child = support::command("bq-table-compare")
        .args(["--api-url", &server.uri(), "--project", "billing"])
        .args(["--format", "json", "--skip-stats", "--parallel", "1"])
        .arg("--report-junit")
        .arg(&junit)
        .arg("--report-markdown")
        .arg(&md)
        .args([
            "acme.d.hang_a:acme.d.hang_b",
            "acme.d.ok_a:acme.d.ok_b",
            "acme.d.ok_b:acme.d.ok_a",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    // Both sides run at once: wait for both jobs, or a loaded machine may signal while one
    // side's job does not exist yet (and so has nothing to cancel).
    for job in ["/queries/job-hang-a", "/queries/job-hang-b"] {
        while server.requests("GET", job).await.is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{job} was never polled"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
    let status = wait_with_deadline(&mut child, Duration::from_secs(20));
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(expected_code), "{stderr}");
    assert!(stderr.contains(&format!("{name} received")), "{stderr}");
    let j: Value = serde_json::from_slice(&out.stdout).expect("the partial JSON report");
    assert_eq!(
        j["batch_summary"]["total_pairs"], 3,
        "every item, once: {j:#}"
    );
    assert_eq!(j["batch_summary"]["failed"], 3, "{j:#}");
    let errors: Vec<&str> = j["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["error"].as_str().unwrap())
        .collect();
    assert_eq!(
        errors,
        [
            format!("cancelled ({name}) before it finished"),
            format!("cancelled ({name}) before it started"),
            format!("cancelled ({name}) before it started"),
        ],
        "in input order"
    );
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report is written");
    assert!(xml.contains(r#"tests="3""#), "{xml}");
    assert!(std::fs::read_to_string(&md)
        .unwrap()
        .contains("before it finished"));
    assert_eq!(
        server.requests("POST", "/cancel").await.len(),
        2,
        "the running jobs (both sides) are cancelled"
    );
}

#[tokio::test]
async fn sigint_writes_the_partial_report_cancels_jobs_and_exits_130() {
    interrupted(libc::SIGINT, 130, "SIGINT").await;
}

#[tokio::test]
async fn sigterm_exits_143() {
    interrupted(libc::SIGTERM, 143, "SIGTERM").await;
}

#[tokio::test]
async fn verbose_shows_each_retry_and_the_item_completes() {
    let server = FakeBigQuery::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({"error": {"code": 503,
            "message": "Backend error", "errors": [{"reason": "backendError"}]}})),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(table_meta()))
        .with_priority(2)
        .mount(&server)
        .await;
    let out = bin("bq-schema-diff")
        .args([
            "--api-url",
            &server.uri(),
            "--verbose",
            "acme.d.a",
            "acme.d.a",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("retry 2/6 in"), "{stderr}");
    assert!(stderr.contains("retry 3/6 in"), "{stderr}");
    assert!(
        stderr.contains("GET /bigquery/v2/projects/acme/datasets/d/tables/a failed: BigQuery returned HTTP 503 (backendError): Backend error"),
        "{stderr}"
    );
}

/// Every distinct request fails twice (429 or 503, then 403 rateLimitExceeded or 500) and
/// succeeds on its third attempt: tables.get, jobs.query and getQueryResults alike.
struct Storm {
    seen: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    ok: Box<dyn Fn(&Request) -> ResponseTemplate + Send + Sync>,
}

impl wiremock::Respond for Storm {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let key = format!(
            "{} {} {}",
            req.method,
            req.url,
            String::from_utf8_lossy(&req.body)
        );
        let n = {
            let mut seen = self.seen.lock().unwrap();
            let n = seen.entry(key.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let odd = key.len() % 2 == 1;
        let error =
            |status: u16, reason: &str| bq_error(status, reason, &format!("transient {reason}"));
        match n {
            1 if odd => error(429, "rateLimitExceeded"),
            1 => error(503, "backendError"),
            2 if odd => error(403, "rateLimitExceeded"),
            2 => error(500, "internalError"),
            _ => (self.ok)(req),
        }
    }
}

#[tokio::test]
async fn retry_storms_on_every_endpoint_lose_no_item() {
    let server = FakeBigQuery::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"/tables/[^/]+$"))
        .respond_with(Storm {
            seen: Default::default(),
            ok: Box::new(|_| ResponseTemplate::new(200).set_body_json(table_meta())),
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/bigquery/v2/projects/billing/queries"))
        .respond_with(Storm {
            seen: Default::default(),
            ok: Box::new(|req: &Request| {
                // Each side's job id is its table's name, so polls differ per job.
                let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                let sql = body["query"].as_str().unwrap_or("");
                let id = sql.split("`acme.d.").nth(1).and_then(|s| s.split('`').next()).unwrap_or("x");
                ResponseTemplate::new(200).set_body_json(json!({
                    "jobReference": {"projectId": "billing", "jobId": format!("job-{id}"), "location": "US"},
                    "jobComplete": false}))
            }),
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"/projects/billing/queries/job-"))
        .respond_with(Storm {
            seen: Default::default(),
            ok: Box::new(|_| ResponseTemplate::new(200).set_body_json(scan_done(None, "42"))),
        })
        .mount(&server)
        .await;
    let pairs: Vec<String> = (0..6).map(|i| format!("acme.d.a{i}:acme.d.b{i}")).collect();
    let out = bin("bq-table-compare")
        .args([
            "--api-url",
            &server.uri(),
            "--project",
            "billing",
            "--verbose",
        ])
        .args(["--format", "json", "--skip-stats", "--parallel", "3"])
        .args(&pairs)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<String> = j["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}:{}",
                c["table_a"].as_str().unwrap(),
                c["table_b"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(names, pairs, "every item exactly once, in input order");
    // 12 tables.get + 12 jobs.query + 12 polls, each retried twice.
    assert_eq!(stderr.matches("retry 2/6").count(), 36, "{stderr}");
    assert_eq!(stderr.matches("retry 3/6").count(), 36, "{stderr}");
    for what in [
        "HTTP 429 (rateLimitExceeded)",
        "HTTP 403 (rateLimitExceeded)",
        "HTTP 500",
        "HTTP 503",
    ] {
        assert!(stderr.contains(what), "{what} was never seen: {stderr}");
    }
}

#[tokio::test]
async fn permanent_errors_are_not_retried_and_keep_bigquerys_message() {
    let server = FakeBigQuery::start().await;
    Mock::given(method("GET"))
        .and(path("/bigquery/v2/projects/acme/datasets/d/tables/missing"))
        .respond_with(bq_error(404, "notFound", "Not found: Table acme:d.missing"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bigquery/v2/projects/acme/datasets/d/tables/secret"))
        .respond_with(bq_error(
            403,
            "accessDenied",
            "Access Denied: Table acme:d.secret: User does not have permission",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"/tables/(ok|bad)$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(table_meta()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            if body["query"].as_str().unwrap_or("").contains("acme.d.bad") {
                bq_error(400, "invalidQuery", "Unrecognized name: idd at [1:8]")
            } else {
                ResponseTemplate::new(200).set_body_json(scan_done(Some("j"), "42"))
            }
        })
        .mount(&server)
        .await;
    let out = bin("bq-table-compare")
        .args(["--api-url", &server.uri(), "--project", "billing"])
        .args(["--format", "json", "--skip-stats"])
        .args([
            "acme.d.missing:acme.d.ok",
            "acme.d.ok:acme.d.ok",
            "acme.d.secret:acme.d.ok",
            "acme.d.bad:acme.d.ok",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        j["batch_summary"]["identical"], 1,
        "the good pair completes: {j:#}"
    );
    let errors: Vec<&str> = j["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["error"].as_str().unwrap())
        .collect();
    assert!(
        errors[0].contains("Table not found: acme:d.missing"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("Access Denied: Table acme:d.secret"),
        "{errors:?}"
    );
    assert!(
        errors[2].contains("Unrecognized name: idd at [1:8]"),
        "{errors:?}"
    );
    let posts = server.requests("POST", "/queries").await;
    assert_eq!(
        posts
            .iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains("acme.d.bad"))
            .count(),
        1,
        "invalidQuery is not retried"
    );
    server.verify().await;
}

#[tokio::test]
async fn malformed_answers_are_clear_per_item_errors() {
    let server = FakeBigQuery::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/bigquery/v2/projects/acme/datasets/d/tables/truncated",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"kind": "bigquery#table", "schema": {"fiel"#),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"/tables/(ok|late|paged)$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(table_meta()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(|req: &Request| {
            let sql = String::from_utf8_lossy(&req.body).to_string();
            let id = if sql.contains("acme.d.late") {
                "late"
            } else if sql.contains("acme.d.paged") {
                "paged"
            } else {
                "ok"
            };
            ResponseTemplate::new(200).set_body_json(json!({
                "jobReference": {"projectId": "billing", "jobId": id, "location": "US"},
                "jobComplete": false}))
        })
        .mount(&server)
        .await;
    let done = scan_done(None, "42");
    // A long-running job: incomplete three times, then done.
    Mock::given(method("GET"))
        .and(path("/bigquery/v2/projects/billing/queries/ok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"jobComplete": false})))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bigquery/v2/projects/billing/queries/ok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(done.clone()))
        .with_priority(2)
        .mount(&server)
        .await;
    // A job that fails after polling: errorResult set.
    Mock::given(method("GET"))
        .and(path("/bigquery/v2/projects/billing/queries/late"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"jobComplete": true,
            "status": {"state": "DONE", "errorResult": {"reason": "resourcesExceeded",
              "message": "Resources exceeded during query execution"}}})),
        )
        .mount(&server)
        .await;
    // Paging that ends early: a next page is promised, then the body is cut off.
    let mut first_page = done.clone();
    first_page["pageToken"] = json!("p2");
    Mock::given(method("GET"))
        .and(path("/bigquery/v2/projects/billing/queries/paged"))
        .and(wiremock::matchers::query_param("pageToken", "p2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"jobComplete": true, "rows": [{"f": [{"v"#),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bigquery/v2/projects/billing/queries/paged"))
        .respond_with(ResponseTemplate::new(200).set_body_json(first_page))
        .with_priority(2)
        .mount(&server)
        .await;
    let out = bin("bq-table-compare")
        .args(["--api-url", &server.uri(), "--project", "billing"])
        .args(["--format", "json", "--skip-stats"])
        .args([
            "acme.d.truncated:acme.d.ok",
            "acme.d.ok:acme.d.ok",
            "acme.d.late:acme.d.ok",
            "acme.d.paged:acme.d.ok",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        j["batch_summary"]["identical"], 1,
        "the long-running job was polled to completion: {j:#}"
    );
    let errors: Vec<&str> = j["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["error"].as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors[0].contains("unexpected response from BigQuery"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("Resources exceeded during query execution"),
        "{errors:?}"
    );
    assert!(
        errors[2].contains("unexpected response from BigQuery"),
        "{errors:?}"
    );
}

/// Every query the three commands generate, captured at the fake server: one SELECT
/// statement each, identifiers backticked, cost guards on every job; --dry-run runs no job;
/// --where cannot smuggle a second statement.
#[tokio::test]
async fn every_generated_query_is_one_guarded_select() {
    let server = FakeBigQuery::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"/tables/[^/]+/data$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"rows": []})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"/tables/[^/]+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "bigquery#table", "type": "TABLE", "location": "US", "numRows": "3",
            "schema": {"fields": [{"name": "id", "type": "INTEGER"}, {"name": "name", "type": "STRING"},
                                  {"name": "amount", "type": "NUMERIC"},
                                  {"name": "addr", "type": "RECORD", "fields": [{"name": "zip", "type": "STRING"}]}]}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let sql = body["query"].as_str().unwrap_or("");
            // Different fingerprints, so table-compare also runs its row-level diff.
            let fp = if sql.contains("acme.d.a`") { "1" } else { "2" };
            ResponseTemplate::new(200).set_body_json(scan_done(Some("j"), fp))
        })
        .mount(&server)
        .await;
    let api = server.uri();
    let common = [
        "--api-url",
        api.as_str(),
        "--project",
        "billing",
        "--max-bytes-billed",
        "1000000",
        "--where",
        "amount > 0",
    ];
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("bq-table-compare", vec!["acme.d.a", "acme.d.b"]),
        (
            "bq-table-compare",
            vec!["--key", "id", "acme.d.a", "acme.d.b"],
        ),
        (
            "bq-table-compare",
            vec!["--skip-stats", "acme.d.a", "acme.d.b"],
        ),
        ("bq-profile", vec!["--detect-anomalies", "acme.d.a"]),
    ];
    for (b, args) in &runs {
        let out = bin(b).args(common).args(args).output().unwrap();
        assert!(
            matches!(out.status.code(), Some(0..=2)),
            "{b}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let posts = server.requests("POST", "/queries").await;
    assert!(posts.len() >= 7, "{} queries", posts.len());
    for r in &posts {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        let sql = body["query"].as_str().unwrap();
        assert_eq!(body["useLegacySql"], false);
        assert_eq!(body["maximumBytesBilled"], "1000000", "{sql}");
        assert_eq!(body["dryRun"], false);
        let head = sql.trim_start().to_uppercase();
        assert!(
            head.starts_with("SELECT") || head.starts_with("WITH"),
            "{sql}"
        );
        assert!(!sql.contains(';'), "one statement: {sql}");
        for word in [
            "INSERT ",
            "UPDATE ",
            "DELETE ",
            "MERGE ",
            "DROP ",
            "CREATE ",
            "ALTER ",
            "TRUNCATE ",
        ] {
            assert!(!sql.to_uppercase().contains(word), "{word}in {sql}");
        }
        // Tables appear only backticked and fully qualified.
        for t in ["acme.d.a", "acme.d.b"] {
            let bare = sql.matches(t).count();
            let quoted = sql.matches(&format!("`{t}`")).count();
            assert_eq!(bare, quoted, "{t} not backticked in {sql}");
        }
    }
    // --dry-run: every job is a dry run.
    let before = posts.len();
    let out = bin("bq-table-compare")
        .args(common)
        .args(["--dry-run", "acme.d.a", "acme.d.b"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let posts = server.requests("POST", "/queries").await;
    assert!(posts.len() > before);
    for r in &posts[before..] {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["dryRun"], true, "--dry-run must not run a job");
    }
    // --where cannot smuggle a second statement, a comment, or close the predicate.
    let count = server.requests("POST", "/queries").await.len();
    for evil in [
        "1=1; DROP TABLE acme.d.a",
        "1=1 -- ",
        "1=1 /* x */",
        "1=1) OR (1=1",
        "1=1 # x",
        "id = ''' ' ''' ) ; DELETE FROM acme.d.a WHERE TRUE ; SELECT 1 FROM UNNEST([1]) AS t WHERE ( ''' ' '''",
    ] {
        for b in ["bq-table-compare", "bq-profile"] {
            let tables: &[&str] = if b == "bq-profile" {
                &["acme.d.a"]
            } else {
                &["acme.d.a", "acme.d.b"]
            };
            let out = bin(b)
                .args([
                    "--api-url",
                    api.as_str(),
                    "--project",
                    "billing",
                    "--where",
                    evil,
                ])
                .args(tables)
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(2),
                "{b} --where {evil:?} must be refused"
            );
        }
    }
    assert_eq!(
        server.requests("POST", "/queries").await.len(),
        count,
        "no query ran for a refused --where"
    );
}

/// 2,000 pairs, random latency, 10% of requests failing once: every pair ends correct, the
/// fake server never sees more than 2 × --parallel requests at once (each pair fetches its
/// two sides together), and peak RSS is reported.
#[tokio::test]
async fn load_two_thousand_pairs_with_transient_failures() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let server = FakeBigQuery::start().await;
    let spans = Arc::new(std::sync::Mutex::new(Vec::<(Instant, Duration)>::new()));
    let failures = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(std::sync::Mutex::new(
        std::collections::HashSet::<String>::new(),
    ));
    {
        let spans = Arc::clone(&spans);
        let failures = Arc::clone(&failures);
        let seen = Arc::clone(&seen);
        Mock::given(method("GET"))
            .respond_with(move |req: &Request| {
                let path = req.url.path().to_string();
                let h = path
                    .bytes()
                    .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
                let delay = Duration::from_millis(h % 20);
                spans.lock().unwrap().push((Instant::now(), delay));
                let first_time = seen.lock().unwrap().insert(path.clone());
                if first_time && h % 10 == 0 {
                    failures.fetch_add(1, Ordering::SeqCst);
                    return ResponseTemplate::new(503).set_delay(delay);
                }
                let n: u64 = path
                    .rsplit('t')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                // Odd tables have an extra column: odd pairs differ.
                let mut fields = vec![json!({"name": "id", "type": "INTEGER"})];
                if path.contains("/dev/") && n % 2 == 1 {
                    fields.push(json!({"name": "extra", "type": "STRING"}));
                }
                ResponseTemplate::new(200)
                    .set_body_json(json!({"schema": {"fields": fields}}))
                    .set_delay(delay)
            })
            .mount(&server)
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pairs.txt");
    let lines: Vec<String> = (0..2000)
        .map(|i| format!("acme.dev.t{i}:acme.prod.t{i}"))
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let parallel = 8;
    let out = bin("bq-schema-diff")
        .args([
            "--api-url",
            &server.uri(),
            "--format",
            "json",
            "--max-parallel",
            "8",
        ])
        .args(["--parallel", &parallel.to_string(), "--pairs-file"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["batch_summary"]["total_pairs"], 2000);
    assert_eq!(j["batch_summary"]["failed"], 0, "{}", j["errors"]);
    assert_eq!(j["batch_summary"]["different"], 1000);
    let comparisons = j["comparisons"].as_array().unwrap();
    for (i, c) in comparisons.iter().enumerate() {
        assert_eq!(c["table_a"], format!("acme.dev.t{i}"), "input order");
        assert_eq!(c["identical"], i % 2 == 0, "pair {i}");
    }
    assert!(failures.load(Ordering::SeqCst) > 100, "the storm happened");
    // Peak concurrency from the request spans (arrival, arrival + delay).
    let spans = spans.lock().unwrap().clone();
    let mut events: Vec<(Instant, i32)> = spans
        .iter()
        .flat_map(|(start, d)| [(*start, 1), (*start + *d, -1)])
        .collect();
    events.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut peak) = (0, 0);
    for (_, delta) in events {
        now += delta;
        peak = peak.max(now);
    }
    assert!(
        peak <= 2 * parallel,
        "{peak} requests at once with --parallel {parallel}"
    );
    // SAFETY: getrusage only writes into the struct passed.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    println!(
        "load: 2000 pairs, {} transient failures retried, peak {peak} concurrent requests, peak RSS {:.1} MiB",
        failures.load(Ordering::SeqCst),
        usage.ru_maxrss as f64 / 1024.0
    );
}

/// A real (freshly generated) service-account key whose token endpoint is `server`'s
/// `/token`; returns the key file's path.
fn service_account_key(dir: &std::path::Path, server: &MockServer) -> std::path::PathBuf {
    let pem = dir.join("key.pem");
    let status = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&pem)
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success());
    let key = json!({
        "type": "service_account", "project_id": "acme",
        "private_key_id": "k1", "private_key": std::fs::read_to_string(&pem).unwrap(),
        "client_email": "bqcheck@acme.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": format!("{}/token", server.uri()),
    });
    let key_file = dir.join("key.json");
    std::fs::write(&key_file, key.to_string()).unwrap();
    key_file
}

/// A token endpoint and a BigQuery that log everything, for the credential-routing tests.
async fn logging_endpoints() -> FakeBigQuery {
    let server = FakeBigQuery::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "ya29.SHOULD-NOT-TRAVEL", "expires_in": 3600, "token_type": "Bearer"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"error": {"code": 404, "message": "Not found: Table acme:d.a", "status": "NOT_FOUND"}}),
        ))
        .mount(&server)
        .await;
    server
}

/// Issue 14.1: a pull request's `.bqcheck.yml` names its own `api_url`; the workflow passes
/// `--credentials`. The token must not be minted, nor sent there: the run stops first.
#[tokio::test]
async fn a_config_files_api_url_never_gets_the_credentials() {
    let server = logging_endpoints().await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = service_account_key(dir.path(), &server);
    std::fs::write(
        dir.path().join(".bqcheck.yml"),
        format!("api_url: {}\n", server.uri()),
    )
    .unwrap();
    // bq-schema-diff in that directory with `--credentials KEY`: (exit code, stderr).
    let with_flag = || {
        let out = bin("bq-schema-diff")
            .current_dir(dir.path())
            .arg("--credentials")
            .arg(&key_file)
            .args(["acme.d.a", "acme.d.b"])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = with_flag();
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("not sending Google credentials")
            && err.contains("--send-credentials-to-api-url"),
        "{err}"
    );
    let all = server.received_requests().await.unwrap_or_default();
    assert!(all.is_empty(), "nothing reaches the endpoint: {all:?}");
    // The same file with the environment's credentials (no --credentials): requests go out,
    // and none carries a token.
    let out = bin("bq-schema-diff")
        .current_dir(dir.path())
        .env("GOOGLE_APPLICATION_CREDENTIALS", &key_file)
        .args(["acme.d.a", "acme.d.b"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let all = server.received_requests().await.unwrap_or_default();
    assert!(!all.is_empty(), "the tables were asked for");
    assert!(
        all.iter()
            .all(|r| r.url.path() != "/token" && r.headers.get("authorization").is_none()),
        "no token minted or sent: {:?}",
        all.iter()
            .map(|r| (
                r.url.path().to_string(),
                r.headers.get("authorization").cloned()
            ))
            .collect::<Vec<_>>()
    );
    // And the file cannot opt in: the key is unknown to it.
    std::fs::write(
        dir.path().join(".bqcheck.yml"),
        format!(
            "api_url: {}\nsend_credentials_to_api_url: true\n",
            server.uri()
        ),
    )
    .unwrap();
    let (code, err) = with_flag();
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("send_credentials_to_api_url"), "{err}");
}

/// Opting in on the command line still never sends a token over plain http to another
/// machine, and a password in the URL is never echoed.
#[test]
fn credentials_never_travel_over_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key.json");
    std::fs::write(&key_file, r#"{"type":"service_account","project_id":"acme","private_key":"x","client_email":"x@acme.iam.gserviceaccount.com","token_uri":"http://127.0.0.1:9/token"}"#).unwrap();
    let out = bin("bq-schema-diff")
        .args(["--api-url", "http://user:hunter2@bq-proxy.example.com:8080"])
        .arg("--send-credentials-to-api-url")
        .arg("--credentials")
        .arg(&key_file)
        .args(["acme.d.a", "acme.d.b"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("over plain http"), "{err}");
    assert!(err.contains("bq-proxy.example.com"), "{err}");
    assert!(!err.contains("hunter2"), "password echoed: {err}");
}

/// A recognisable access token, minted by a fake token endpoint for a real (test-generated)
/// service-account key, is sent to BigQuery and appears in no output, report or error.
#[tokio::test]
async fn the_access_token_never_appears_in_any_output() {
    const TOKEN: &str = "ya29.FAKE-bqcheck-TOKEN-0123456789abcdef";
    let server = FakeBigQuery::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"}),
        ))
        .mount(&server)
        .await;
    // A server that echoes what it was sent, Authorization header included, in its errors.
    Mock::given(method("GET"))
        .respond_with(|req: &Request| {
            let auth = req
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none")
                .to_string();
            ResponseTemplate::new(500)
                .set_body_string(format!("<html>backend exploded; you sent {auth}</html>"))
        })
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = service_account_key(dir.path(), &server);
    let report = dir.path().join("r.json");
    let out = bin("bq-schema-diff")
        .args(["--api-url", &server.uri(), "--verbose", "--format", "junit"])
        .arg("--send-credentials-to-api-url")
        .arg("--credentials")
        .arg(&key_file)
        .arg("--report-json")
        .arg(&report)
        .args(["acme.d.a", "acme.d.b"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let gets = server.requests("GET", "/tables/").await;
    assert!(
        gets.iter().any(
            |r| r.headers.get("authorization").and_then(|v| v.to_str().ok())
                == Some(&format!("Bearer {TOKEN}"))
        ),
        "the token is used"
    );
    let all = format!(
        "{}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&report).unwrap_or_default()
    );
    assert!(
        all.contains("backend exploded"),
        "the server's message is kept: {all}"
    );
    assert!(!all.contains("FAKE-bqcheck-TOKEN"), "token leaked: {all}");
    assert!(!all.contains("PRIVATE KEY"), "key leaked");
}

/// A BigQuery endpoint that cannot be reached at all (down, or a mistyped --api-url): the
/// first request retries, the remaining items fail at once instead of each waiting out its
/// retries, and the message says why.
#[test]
fn an_unreachable_endpoint_fails_the_rest_fast() {
    let pairs: Vec<String> = (0..20)
        .map(|i| format!("acme.d.a{i}:acme.d.b{i}"))
        .collect();
    let out = bin("bq-schema-diff")
        .args([
            "--api-url",
            "http://127.0.0.1:1",
            "--format",
            "json",
            "--parallel",
            "1",
        ])
        .args(&pairs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = j["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 20);
    let first = errors[0]["error"].as_str().unwrap();
    assert!(
        first.contains("Connection refused") && first.contains("gave up after 6 attempts"),
        "{first}"
    );
    for e in &errors[1..] {
        assert!(
            e["error"]
                .as_str()
                .unwrap()
                .contains("not tried: an earlier request could not connect"),
            "{e}"
        );
    }
}

/// Issue 14.5: read-only by more than the lexer. If BigQuery's answer says a job ran
/// anything but a SELECT (`statementType`, or DML statistics), the result is refused and
/// the item fails, naming the statement.
#[tokio::test]
async fn a_job_that_was_not_a_select_is_refused() {
    for (tag, extra) in [
        ("delete", json!({"statementType": "DELETE"})),
        (
            "dml",
            json!({"numDmlAffectedRows": "3", "dmlStats": {"deletedRowCount": "3"}}),
        ),
        ("ok", json!({"statementType": "SELECT"})),
        // Real BigQuery's answer names no statement: bqcheck asks jobs.get.
        ("jobs.get", json!({})),
        ("jobs.get-select", json!({})),
    ] {
        let server = FakeBigQuery::bare().await;
        let statement = if tag == "jobs.get" {
            "DROP_TABLE"
        } else {
            "SELECT"
        };
        Mock::given(method("GET"))
            .and(path("/bigquery/v2/projects/billing/jobs/job-1"))
            .and(query_param(
                "fields",
                "statistics(totalSlotMs,query(statementType,totalBytesBilled,totalSlotMs))",
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"statistics": {"query": {"statementType": statement}}})),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"/datasets/[^/]+/tables/[^/]+$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(table_meta()))
            .mount(&server)
            .await;
        let mut answer = scan_done(Some("job-1"), "42");
        if let (Some(a), Some(e)) = (answer.as_object_mut(), extra.as_object()) {
            a.extend(e.clone());
        }
        Mock::given(method("POST"))
            .and(path("/bigquery/v2/projects/billing/queries"))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .mount(&server)
            .await;
        let out = bin("bq-table-compare")
            .args([
                "--api-url",
                &server.uri(),
                "--project",
                "billing",
                "--no-cache",
            ])
            .args(["--format", "json", "acme.d.a", "acme.d.b"])
            .output()
            .unwrap();
        let j: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        if tag == "ok" || tag == "jobs.get-select" {
            assert_eq!(out.status.code(), Some(0), "{tag}: {j:#}");
            continue;
        }
        assert_eq!(out.status.code(), Some(2), "{tag}: {j:#}");
        let e = j["errors"][0]["error"].as_str().unwrap_or_default();
        assert!(e.contains("not a SELECT"), "{tag}: {e}");
        let named = match tag {
            "delete" => "DELETE",
            "dml" => "DML",
            _ => "DROP_TABLE",
        };
        assert!(e.contains(named), "{tag}: {e}");
    }
}
