//! Faults a CI gate meets: hung jobs (per-item --timeout), Ctrl-C / SIGTERM mid-batch
//! (partial report, jobs cancelled, 130 / 143), and transient errors retried visibly
//! (--verbose). A fake BigQuery (wiremock) stands in for the real one.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn bin(name: &str) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin(name));
    for k in [
        "BIGQUERY_EMULATOR_HOST",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GOOGLE_CLOUD_PROJECT",
    ] {
        c.env_remove(k);
    }
    c
}

fn table_meta() -> Value {
    json!({"kind": "bigquery#table", "type": "TABLE", "location": "US", "numRows": "3",
           "schema": {"fields": [{"name": "id", "type": "INTEGER"}]}})
}

/// A fake BigQuery where queries on tables whose name starts with `hang` never complete, and
/// the others complete at once with equal counts and fingerprints.
async fn fake_with_hanging_jobs() -> MockServer {
    let server = MockServer::start().await;
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
                ResponseTemplate::new(200).set_body_json(json!({
                    "jobReference": {"projectId": "billing", "jobId": "job-ok", "location": "US"},
                    "jobComplete": true, "totalBytesProcessed": "10",
                    "schema": {"fields": [{"name": "row_count", "type": "INTEGER"},
                                          {"name": "fingerprint", "type": "BIGNUMERIC"}]},
                    "rows": [{"f": [{"v": "3"}, {"v": "42"}]}]
                }))
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

async fn requests(server: &MockServer, verb: &str, path_part: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path().contains(path_part))
        .collect()
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
    let cancels = requests(&server, "POST", "/cancel").await;
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

/// Send `signal` once the first (hanging) job is being polled; expect the partial report.
async fn interrupted(signal: i32, expected_code: i32, name: &str) {
    let server = fake_with_hanging_jobs().await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let md = dir.path().join("report.md");
    let mut child = bin("bq-table-compare")
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
    while requests(&server, "GET", "/queries/job-hang")
        .await
        .is_empty()
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the job was never polled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
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
        requests(&server, "POST", "/cancel").await.len(),
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
    let server = MockServer::start().await;
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
