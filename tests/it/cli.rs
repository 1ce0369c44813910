//! CLI tests that need no emulator: schema files, input validation, and a fake BigQuery
//! (wiremock) for request counting, retries and errors.

use predicates::prelude::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, ResponseTemplate};

use crate::support::bigquery::table_body;
use crate::support::{bin, FakeBigQuery};

fn stdout_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn readme_example_gate_prints_a_diff_and_exits_1() {
    let out = bin("bq-schema-diff")
        .args(["--pairs-file", "examples/schema-pairs.txt"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("- legacy_flag      breaking    column removed: BOOL NULLABLE"),
        "{text}"
    );
    assert!(
        text.contains("~ address.zip      breaking    type STRING(10) → INT64"),
        "{text}"
    );
    assert!(
        text.contains("+ tags             compatible  column added: STRING REPEATED"),
        "{text}"
    );
    assert!(text.contains(
        "examples/schemas/pr/products.json ↔ examples/schemas/prod/products.json: identical"
    ));
    assert!(
        text.contains(
            "  Total pairs: 3\n  Identical: 1\n  Different: 2\n  Breaking: 1\n  Failed: 0\n"
        ),
        "{text}"
    );
}

#[test]
fn umbrella_binary_takes_the_same_flags() {
    bin("bqcheck")
        .args(["schema-diff", "--format=json", "--fail-on=breaking"])
        .args([
            "examples/schemas/pr/orders.json",
            "examples/schemas/prod/orders.json",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"different\": 1"));
}

#[test]
fn fail_on_controls_exit_code() {
    let run = |fail_on: &str| {
        bin("bq-schema-diff")
            .args([
                "--fail-on",
                fail_on,
                "--pairs-file",
                "examples/schema-pairs.txt",
            ])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(run("any"), Some(1));
    assert_eq!(run("breaking"), Some(1));
    assert_eq!(run("never"), Some(0));
}

#[tokio::test]
async fn profile_validates_every_table_line_before_any_request() {
    let server = FakeBigQuery::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let out = bin("bqcheck")
        .args(["profile", "--api-url", &server.uri(), "--project", "acme"])
        .write_stdin("# tables\nanalytics.events\n\nbad table\nanalytics.ok\nx.y.z.w\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("<stdin>:4: ") && err.contains("<stdin>:6: "),
        "{err}"
    );
    assert!(!err.contains("<stdin>:2:"), "{err}");
    server.verify().await;
    bin("bq-profile")
        .args(["--api-url", &server.uri(), "--project", "acme"])
        .write_stdin("# nothing\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no tables"));
}

#[tokio::test]
async fn malformed_pairs_file_reports_every_line_before_any_request() {
    let server = FakeBigQuery::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(table_body(json!([]))))
        .expect(0)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let pairs = dir.path().join("pairs.txt");
    std::fs::write(
        &pairs,
        "# pairs\nproj.dev.users:proj.prod.users\n\nproj.dev.orders\nproj.dev.x:proj.PROD-bad.x\nproj.dev.a:proj.prod.a;DROP TABLE x\nmissing.json:proj.prod.a\n",
    )
    .unwrap();
    let out = bin("bq-schema-diff")
        .args(["--api-url", &server.uri(), "--pairs-file"])
        .arg(&pairs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let p = pairs.display().to_string();
    for line in [4, 5, 6, 7] {
        assert!(
            err.contains(&format!("{p}:{line}: ")),
            "line {line} missing in:\n{err}"
        );
    }
    assert!(!err.contains(&format!("{p}:2:")), "{err}");
    assert!(
        err.contains("PROD-bad") && err.contains("missing.json"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    server.verify().await;
}

#[test]
fn empty_input_is_an_error() {
    bin("bq-schema-diff")
        .write_stdin("# nothing here\n\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no pairs in stdin"));
}

#[test]
fn bad_schema_file_names_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "[\n {\"name\": \"a\", \"type\": \"STRING\"},\n {\"name\": }\n]",
    )
    .unwrap();
    let out = bin("bq-schema-diff")
        .arg(&bad)
        .arg("examples/schemas/prod/users.json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:3:", bad.display())), "{err}");
}

#[test]
fn dataset_table_without_any_project_is_refused() {
    bin("bq-schema-diff")
        .env("HOME", tempfile::tempdir().unwrap().path())
        .args(["dev.t1", "prod.t1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no default project is set"));
}

#[tokio::test]
async fn each_table_is_fetched_once_unless_no_cache() {
    let server = FakeBigQuery::start().await;
    let base = "/bigquery/v2/projects/acme/datasets";
    Mock::given(method("GET"))
        .and(path(format!("{base}/prod/tables/shared")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(table_body(json!([{"name": "id", "type": "INTEGER"}]))),
        )
        .expect(1)
        .named("shared table")
        .mount(&server)
        .await;
    for t in ["a", "b", "c"] {
        Mock::given(method("GET"))
            .and(path(format!("{base}/dev/tables/{t}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(table_body(json!([{"name": "id", "type": "INT64"}]))),
            )
            .mount(&server)
            .await;
    }
    let stdin =
        "acme.dev.a:acme.prod.shared\nacme.dev.b:acme.prod.shared\nacme.dev.c:acme.prod.shared\n";
    bin("bq-schema-diff")
        .args(["--api-url", &server.uri(), "--parallel", "3"])
        .write_stdin(stdin)
        .assert()
        .code(0);
    server.verify().await;
    server.reset().await;
    Mock::given(method("GET"))
        .and(path(format!("{base}/prod/tables/shared")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(table_body(json!([{"name": "id", "type": "INTEGER"}]))),
        )
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(table_body(json!([{"name": "id", "type": "INT64"}]))),
        )
        .mount(&server)
        .await;
    bin("bq-schema-diff")
        .args(["--api-url", &server.uri(), "--no-cache"])
        .write_stdin(stdin)
        .assert()
        .code(0);
    server.verify().await;
}

#[tokio::test]
async fn emulator_host_env_is_used_without_auth_and_errors_keep_bigquerys_message() {
    let server = FakeBigQuery::start().await;
    Mock::given(method("GET"))
        .and(path("/bigquery/v2/projects/acme/datasets/dev/tables/gone"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"code": 404, "message": "Not found: Table acme:dev.gone",
                      "errors": [{"message": "Not found: Table acme:dev.gone", "domain": "global", "reason": "notFound"}],
                      "status": "NOT_FOUND"}})))
        .expect(1) // notFound is never retried
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(table_body(json!([{"name": "id", "type": "INT64"}]))),
        )
        .mount(&server)
        .await;
    let host = server.uri().trim_start_matches("http://").to_string();
    let out = bin("bq-schema-diff")
        .env("BIGQUERY_EMULATOR_HOST", &host)
        .env("GOOGLE_CLOUD_PROJECT", "acme")
        .args(["--format=json", "--progress"])
        .write_stdin("dev.ok:prod.ok\ndev.gone:prod.ok\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let j = stdout_json(&out);
    assert_eq!(j["batch_summary"]["total_pairs"], 2);
    assert_eq!(j["batch_summary"]["identical"], 1);
    assert_eq!(j["batch_summary"]["failed"], 1);
    assert_eq!(j["errors"][0]["table_a"], "acme.dev.gone");
    assert_eq!(j["errors"][0]["error"], "Table not found: acme:dev.gone");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("✗ acme.dev.gone ↔ acme.prod.ok"),
        "plain progress lines on a non-TTY: {err}"
    );
    let requests = server.received_requests().await.unwrap();
    assert!(requests
        .iter()
        .all(|r| !r.headers.contains_key("authorization")));
    server.verify().await;
}

#[tokio::test]
async fn transient_errors_are_retried() {
    use bqcheck::model::TableRef;
    use bqcheck::warehouse::{AuthMode, Client, RetryPolicy};
    use std::time::Duration;
    let server = FakeBigQuery::start().await;
    let t = TableRef {
        project: "acme".into(),
        dataset: "d".into(),
        table: "t".into(),
    };
    let p = "/bigquery/v2/projects/acme/datasets/d/tables/t";
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(ResponseTemplate::new(503).set_body_string("backend unavailable"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {"code": 403, "message": "Exceeded rate limits", "errors": [{"reason": "rateLimitExceeded"}]}})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(table_body(json!([{"name": "id", "type": "INT64"}]))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let retry = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    };
    let client = Client::new(&server.uri(), AuthMode::None, retry.clone()).unwrap();
    let meta = client.get_table(&t).await.unwrap();
    assert_eq!(meta.fields()[0].name, "id");
    assert_eq!(client.requests_sent(), 4);
    server.verify().await;

    // Attempts are bounded: a server that always fails gives up after max_attempts.
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).set_body_string(""))
        .expect(5)
        .mount(&server)
        .await;
    let client = Client::new(&server.uri(), AuthMode::None, retry).unwrap();
    let e = client.get_table(&t).await.unwrap_err();
    assert!(e.to_string().contains("429"), "{e}");
    server.verify().await;
}

#[test]
fn reports_in_several_formats_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let (j, x, m) = (
        dir.path().join("r.json"),
        dir.path().join("r.xml"),
        dir.path().join("r.md"),
    );
    bin("bq-schema-diff")
        .args(["--pairs-file", "examples/schema-pairs.txt", "--report-json"])
        .arg(&j)
        .arg("--report-junit")
        .arg(&x)
        .arg("--report-markdown")
        .arg(&m)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Batch Schema Diff Summary"));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&j).unwrap()).unwrap();
    assert_eq!(json["batch_summary"]["different"], 2);
    let xml = std::fs::read_to_string(&x).unwrap();
    assert!(
        xml.contains(r#"<testsuite name="bq-schema-diff" tests="3""#)
            && xml.contains(r#"failures="2""#),
        "{xml}"
    );
    let md = std::fs::read_to_string(&m).unwrap();
    assert!(md.contains("| ✅ | `examples/schemas/pr/products.json ↔ examples/schemas/prod/products.json` | identical |"), "{md}");
}

#[test]
fn too_many_workers_are_limited_with_the_seed_warning() {
    bin("bq-schema-diff")
        .args([
            "--parallel",
            "999",
            "--pairs-file",
            "examples/schema-pairs.txt",
        ])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("Limiting workers to")
                .and(predicate::str::contains("(system max)")),
        );
}

#[test]
fn missing_credentials_give_one_clear_message() {
    let home = tempfile::tempdir().unwrap();
    let out = bin("bq-schema-diff")
        .env("HOME", home.path())
        .args(["acme.dev.a", "acme.prod.a"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no usable Google credentials"), "{err}");
    assert!(
        err.contains("GOOGLE_APPLICATION_CREDENTIALS: not set"),
        "{err}"
    );
    assert!(err.contains("gcloud ADC file"), "{err}");
    assert!(err.contains("metadata server"), "{err}");
    assert_eq!(
        err.matches("no usable Google credentials").count(),
        1,
        "{err}"
    );
}

#[test]
fn secrets_in_a_credentials_file_never_reach_output() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.json");
    std::fs::write(
        &key,
        r#"{"type":"service_account","project_id":"acme","private_key":"-----BEGIN PRIVATE KEY-----\nTOPSECRETVALUE\n-----END PRIVATE KEY-----\n","client_email":"x@acme.iam.gserviceaccount.com","token_uri":"http://127.0.0.1:9/token"}"#,
    )
    .unwrap();
    let out = bin("bq-schema-diff")
        .arg("--credentials")
        .arg(&key)
        .args(["dev.a", "prod.a"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("TOPSECRETVALUE"), "{all}");
    assert!(
        all.contains("key.json") || all.contains("--credentials"),
        "{all}"
    );
}

/// Real BigQuery's behaviour the emulator does not show: a job that is not complete at first
/// (polled through getQueryResults), cost guards on every job, and tables in two locations.
#[tokio::test]
async fn table_compare_sets_cost_guards_polls_jobs_and_respects_locations() {
    use wiremock::Request;
    let server = FakeBigQuery::bare().await;
    // A polled job's answer does not say what it billed: jobs.get does (as BigQuery does).
    Mock::given(method("GET"))
        .and(path_regex(r"/projects/billing/jobs/job-(US|EU)$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"statistics": {
            "totalSlotMs": "1500",
            "query": {"statementType": "SELECT", "totalBytesBilled": "10485760", "totalSlotMs": "1500"}
        }})))
        .mount(&server)
        .await;
    let meta = |loc: &str, rows: &str| json!({"schema": {"fields": [{"name": "id", "type": "INTEGER"}]}, "location": loc, "numRows": rows});
    Mock::given(method("GET"))
        .and(path("/bigquery/v2/projects/acme/datasets/us/tables/t"))
        .respond_with(ResponseTemplate::new(200).set_body_json(meta("US", "2")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bigquery/v2/projects/acme/datasets/eu/tables/t"))
        .respond_with(ResponseTemplate::new(200).set_body_json(meta("EU", "3")))
        .mount(&server)
        .await;
    // jobs.query: not complete yet; the job id says which side it scanned.
    Mock::given(method("POST"))
        .and(path("/bigquery/v2/projects/billing/queries"))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let loc = body["location"].as_str().unwrap_or("?").to_string();
            ResponseTemplate::new(200).set_body_json(json!({
                "jobReference": {"projectId": "billing", "jobId": format!("job-{loc}"), "location": loc},
                "jobComplete": false
            }))
        })
        .expect(2)
        .mount(&server)
        .await;
    let done = |n: &str| {
        json!({"jobComplete": true, "totalBytesProcessed": "1000",
               "schema": {"fields": [{"name": "row_count", "type": "INTEGER"}, {"name": "fingerprint", "type": "BIGNUMERIC"}]},
               "rows": [{"f": [{"v": n}, {"v": format!("{n}00")}]}]})
    };
    Mock::given(method("GET"))
        .and(path("/bigquery/v2/projects/billing/queries/job-US"))
        .respond_with(ResponseTemplate::new(200).set_body_json(done("2")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bigquery/v2/projects/billing/queries/job-EU"))
        .respond_with(ResponseTemplate::new(200).set_body_json(done("3")))
        .mount(&server)
        .await;
    let out = bin("bq-table-compare")
        .args([
            "--api-url",
            &server.uri(),
            "--project",
            "billing",
            "--format",
            "json",
            "--skip-stats",
        ])
        .args(["--max-bytes-billed", "5000000", "acme.us.t", "acme.eu.t"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = stdout_json(&out);
    let c = &j["comparisons"][0];
    assert_eq!(c["row_count"], json!({"a": 2, "b": 3}));
    // Issue 16.1: what the jobs billed, their slot time and cost at the default $6.25/TiB.
    let mut q = c["queries"].clone();
    let cost = q["cost_usd"].take().as_f64().unwrap_or(-1.0);
    assert!(
        (cost - 0.000_119_209_289_550_781_25).abs() < 1e-15,
        "{cost}"
    );
    assert_eq!(
        q,
        json!({"count": 2, "bytes_processed": 2000, "bytes_billed": 20971520, "slot_ms": 3000,
               "cached": 0, "cost_usd": null})
    );
    let s = &j["batch_summary"];
    assert_eq!(
        (&s["bytes_billed"], &s["slot_ms"], &s["price_per_tib"]),
        (&json!(20971520), &json!(3000), &json!(6.25)),
        "{s:#}"
    );
    assert!(
        c["notes"][0]
            .as_str()
            .unwrap()
            .contains("different locations (US and EU)"),
        "{c:#}"
    );
    for req in server.received_requests().await.unwrap() {
        if req.method.as_str() != "POST" {
            continue;
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["useLegacySql"], false);
        assert_eq!(body["maximumBytesBilled"], "5000000");
        assert_eq!(body["labels"]["bqcheck"], "table-compare");
        assert_eq!(body["dryRun"], false);
        let sql = body["query"].as_str().unwrap();
        assert!(
            sql.starts_with("SELECT") && !sql.contains("JOIN"),
            "no join across locations: {sql}"
        );
    }
    server.verify().await;
}

#[tokio::test]
async fn query_errors_are_reported_per_pair_whether_http_400_or_inside_a_200() {
    let server = FakeBigQuery::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"schema": {"fields": [{"name": "id", "type": "INTEGER"}]}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/bigquery/v2/projects/billing/queries"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"code": 400,
            "message": "Query exceeded limit for bytes billed: 1000. 20971520 or higher required.",
            "errors": [{"reason": "bytesBilledLimitExceeded", "message": "Query exceeded limit for bytes billed: 1000."}]}})))
        .expect(2) // never retried
        .mount(&server)
        .await;
    let out = bin("bq-table-compare")
        .args([
            "--api-url",
            &server.uri(),
            "--project",
            "billing",
            "--format",
            "json",
            "acme.a.t",
            "acme.b.t",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let j = stdout_json(&out);
    assert!(
        j["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("bytes billed"),
        "{j:#}"
    );
    server.verify().await;

    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"schema": {"fields": [{"name": "id", "type": "INTEGER"}]}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"jobComplete": true,
            "status": {"errorResult": {"reason": "invalidQuery", "message": "Syntax error at [1:1]"}}})))
        .mount(&server)
        .await;
    let out = bin("bq-table-compare")
        .args([
            "--api-url",
            &server.uri(),
            "--project",
            "billing",
            "--format",
            "json",
            "acme.a.t",
            "acme.b.t",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout_json(&out)["errors"][0]["error"]
        .as_str()
        .unwrap()
        .contains("Syntax error"));
}

#[test]
fn table_compare_refuses_schema_files() {
    bin("bq-table-compare")
        .args([
            "examples/schemas/pr/users.json",
            "examples/schemas/prod/users.json",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("schema files"));
}

#[test]
fn a_bad_table_argument_is_named_and_an_unwritable_report_keeps_stdout() {
    let out = bin("bq-schema-diff")
        .args(["--project", "p", "dev.t1$x", "prod.t1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("argument:1: `dev.t1$x`: invalid table id `t1$x`"),
        "{err}"
    );
    assert!(!err.contains("not a pair"), "{err}");

    let out = bin("bq-schema-diff")
        .args([
            "examples/schemas/pr/users.json",
            "examples/schemas/prod/users.json",
        ])
        .args(["--report-json", "/nonexistent/dir/r.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("No such file or directory").count(),
        1,
        "said once: {err}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Batch Schema Diff Summary"),
        "the results still reach stdout"
    );
}

#[test]
fn tolerances_must_be_finite() {
    for bad in ["NaN", "inf", "-0.1"] {
        let out = bin("bq-table-compare")
            .args(["--api-url", "http://127.0.0.1:9", "--tolerance", bad])
            .args(["a.b.c", "a.b.d"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--tolerance {bad}");
    }
}

/// Issue 14.8: the job project goes into request paths; `../x` would route elsewhere.
#[test]
fn a_project_id_that_could_change_the_route_is_refused() {
    for bad in ["../admin", "a/b", "Acme"] {
        let out = bin("bq-table-compare")
            .args(["--api-url", "http://127.0.0.1:1", "--project", bad])
            .args(["p.d.a", "p.d.b"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains("bad project id"), "{bad}: {err}");
        assert!(
            !err.contains("Connection refused"),
            "refused before any request: {err}"
        );
    }
}

/// Issue 15.7: `Connection refused` from an `--api-url` on this machine is nearly always an
/// emulator that is not running: the error says so, and stderr says it once.
#[test]
fn a_refused_local_endpoint_suggests_starting_the_emulator() {
    const HINT: &str = "is the emulator running? start it with scripts/emulator start";
    // A port that was free a moment ago: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let out = bin("bq-schema-diff")
        .args(["--api-url", &format!("http://user:secret@127.0.0.1:{port}")])
        .args(["p.a.b", "p.c.d"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert_eq!(stderr.matches(HINT).count(), 1, "said once: {stderr}");
    assert!(
        stderr.contains(&format!("http://127.0.0.1:{port}/")),
        "{stderr}"
    );
    assert!(
        stdout.contains("Connection refused") && stdout.contains(&format!("attempts); {HINT}")),
        "each failed pair's error carries it: {stdout}"
    );
    assert!(
        !stdout.contains("secret") && !stderr.contains("secret"),
        "the URL's password is never shown: {stdout}\n{stderr}"
    );
}

/// Issue 15.7: a pairs file's schema-file paths are relative to the pairs file, so a gate's
/// pairs file works from any directory.
#[test]
fn a_pairs_files_schema_files_are_found_beside_it_from_any_directory() {
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("gate");
    std::fs::create_dir(&gate).unwrap();
    std::fs::copy(
        crate::support::repo_root().join("examples/schemas/pr/users.json"),
        gate.join("users.json"),
    )
    .unwrap();
    std::fs::copy(
        crate::support::repo_root().join("examples/schemas/prod/users.json"),
        gate.join("prod-users.json"),
    )
    .unwrap();
    std::fs::write(
        gate.join("pairs.txt"),
        "# beside this file\nusers.json:prod-users.json\n",
    )
    .unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    for (cwd, pairs_file) in [
        (
            dir.path().to_path_buf(),
            std::path::PathBuf::from("gate/pairs.txt"),
        ),
        (elsewhere, gate.join("pairs.txt")),
    ] {
        let out = bin("bq-schema-diff")
            .current_dir(&cwd)
            .arg("--pairs-file")
            .arg(&pairs_file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "from {}: {stdout}\n{stderr}",
            cwd.display()
        );
        let base = pairs_file.parent().unwrap();
        let shown = format!(
            "{} ↔ {}: 7 changes (2 breaking",
            base.join("users.json").display(),
            base.join("prod-users.json").display()
        );
        assert!(stdout.contains(&shown), "want `{shown}` in: {stdout}");
    }
}

/// Issue 15.7: anomaly detection that finds nothing says so, and the summary counts
/// anomalies, so a clean gate is told apart from one that did not look.
#[tokio::test]
async fn anomaly_detection_that_finds_nothing_says_so() {
    let fake = crate::support::FakeBigQuery::start().await;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    fake.table(
        "acme.shop.clean",
        json!({"kind": "bigquery#table", "type": "TABLE", "location": "US", "numRows": "3",
               "numBytes": "64", "lastModifiedTime": now_ms,
               "schema": {"fields": [{"name": "id", "type": "INTEGER"}]}}),
    )
    .await;
    fake.table_rows("acme.shop.clean", json!([])).await;
    let profile = json!({
        "row_count": 3,
        "c0_nulls": 0, "c0_distinct": 3, "c0_exact_distinct": 3,
        "c0_min": "1", "c0_max": "3", "c0_mean": "2", "c0_stddev": "1",
        "c0_zeros": 0, "c0_negatives": 0, "c0_quantiles": "[1.0,1.0,2.0,3.0,3.0]",
    });
    fake.answer_queries("billing", vec![("`acme.shop.clean`".into(), profile)])
        .await;
    let run = |extra: &[&str]| {
        let mut c = bin("bq-profile");
        c.args([
            "--api-url",
            &fake.uri(),
            "--project",
            "billing",
            "--sample-size",
            "0",
        ])
        .args(extra)
        .arg("acme.shop.clean");
        c.output().unwrap()
    };
    let out = run(&["--detect-anomalies"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("  anomalies: none found\n"), "{stdout}");
    assert!(stdout.contains("  Anomalies: 0\n"), "{stdout}");
    assert!(stdout.contains("  Tables with anomalies: 0\n"), "{stdout}");
    // Without detection nothing is claimed either way.
    let out = run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("none found") && !stdout.contains("Anomalies:"),
        "{stdout}"
    );
}

/// Issue 15.1: a flag refuses what its config key refuses, with the same words, and takes
/// what the key takes (durations).
#[test]
fn flags_and_config_keys_share_their_checks() {
    let out = bin("bq-profile")
        .args(["--null-rate-threshold", "1.5", "p.d.t"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("1.5 is not a rate"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.yml");
    std::fs::write(&cfg, "profile:\n  anomalies:\n    null_rate: 1.5\n").unwrap();
    let out = bin("bq-profile")
        .args(["--config", cfg.to_str().unwrap(), "p.d.t"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("c.yml:3:16: profile.anomalies.null_rate: 1.5 is not a rate"),
        "{err}"
    );
    // A duration, as the file has always taken: `--timeout 15m` is 900 seconds.
    let out = bin("bqcheck")
        .args(["config", "check", "--config"])
        .arg(dir.path().join("t.yml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a missing file is trouble");
    let out = bin("bq-schema-diff")
        .args([
            "--timeout",
            "15m",
            "examples/schemas/pr/users.json",
            "examples/schemas/prod/users.json",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "compared, and they differ: {err}"
    );
    let out = bin("bq-schema-diff")
        .args(["--timeout", "soon", "x.json", "y.json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("`soon` is not a duration"), "{err}");
}

#[test]
fn dataset_and_dbt_inputs_are_checked_before_any_request() {
    let refused = |bin_name: &str, args: &[&str], says: &str| {
        let out = bin(bin_name)
            .args(["--project", "acme", "--api-url", "http://127.0.0.1:9"])
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("cannot reach"), "no request was made: {err}");
    };
    refused(
        "bq-schema-diff",
        &["--datasets", "dev"],
        "--datasets dev: name two datasets, A:B",
    );
    refused(
        "bq-profile",
        &["--datasets", "dev:prod"],
        "profile takes one dataset per value",
    );
    refused(
        "bq-table-compare",
        &["--include", "fct_*", "dev.a", "prod.a"],
        "--include and --exclude select tables of --datasets",
    );
    refused(
        "bq-schema-diff",
        &["--datasets", "dev:pr;od"],
        "invalid dataset id `pr;od`",
    );
    refused(
        "bq-schema-diff",
        &["--dbt-manifest", "no/such/manifest.json"],
        "cannot read dbt manifest no/such/manifest.json",
    );
    refused(
        "bq-table-compare",
        &["--dbt-manifest", "tests/fixtures/dbt/manifest.json"],
        "--dbt-state (prod's manifest.json) or --dbt-target-dataset",
    );
    refused(
        "bq-schema-diff",
        &[
            "--dbt-state",
            "tests/fixtures/dbt/prod/manifest.json",
            "dev.a",
            "prod.a",
        ],
        "go with --dbt-manifest",
    );
    refused(
        "bq-schema-diff",
        &["--dbt-manifest", "Cargo.toml"],
        "Cargo.toml: not JSON",
    );
}

#[test]
fn a_likely_rename_is_one_breaking_change_and_an_accept_entry_takes_it() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, cols: Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, cols.to_string()).unwrap();
        p
    };
    let a = write(
        "a.json",
        serde_json::json!([{"name": "id", "type": "INT64"}, {"name": "user_id", "type": "INT64"}]),
    );
    let b = write(
        "b.json",
        serde_json::json!([{"name": "id", "type": "INT64"}, {"name": "uid", "type": "INT64"}]),
    );
    let run = |config: Option<&std::path::Path>| {
        let mut c = bin("bq-schema-diff");
        c.args(["--format", "json", "--fail-on", "breaking"]);
        if let Some(cfg) = config {
            c.arg("--config").arg(cfg);
        }
        let out = c.arg(&a).arg(&b).output().unwrap();
        (out.status.code(), stdout_json(&out))
    };
    let (code, j) = run(None);
    assert_eq!(code, Some(1));
    let changes = &j["comparisons"][0]["changes"];
    assert_eq!(changes.as_array().map(Vec::len), Some(1), "{j:#}");
    assert_eq!(changes[0]["kind"], "column_renamed");
    assert_eq!(changes[0]["class"], "breaking");
    assert_eq!(
        (&changes[0]["before"], &changes[0]["after"]),
        (&"uid".into(), &"user_id".into())
    );
    let cfg = dir.path().join("gate.yml");
    std::fs::write(
        &cfg,
        format!(
            "schema_diff:\n  accept:\n    - pair: \"{}:{}\"\n      change: renamed\n      from: uid\n      to: user_id\n      reason: \"renamed in #130\"\n",
            a.display(),
            b.display()
        ),
    )
    .unwrap();
    let (code, j) = run(Some(&cfg));
    assert_eq!(code, Some(0), "{j:#}");
    assert_eq!(
        j["comparisons"][0]["changes"][0]["reason"],
        "renamed in #130"
    );
}
