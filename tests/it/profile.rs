//! bq-profile against the local BigQuery emulator (`scripts/test` starts it).

use serde_json::{json, Value};

use crate::support::{self, emulator_bin, job_project, Emu};

const PROJECT: &str = "bqcheck-pf";

fn profile(job_project: &str, args: &[&str]) -> (i32, Value, String) {
    support::run_json("bq-profile", job_project, args)
}

fn col<'a>(p: &'a Value, name: &str) -> &'a Value {
    p["profile"]["columns"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no column {name} in {p:#}"))
}

fn rules(p: &Value) -> Vec<(String, String, String)> {
    p["profile"]["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["rule"].as_str().unwrap_or_default().to_string(),
                a["column"].as_str().unwrap_or_default().to_string(),
                a["severity"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn r(rule: &str, column: &str, severity: &str) -> (String, String, String) {
    (rule.into(), column.into(), severity.into())
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn known_metrics_nested_repeated_one_query_per_table() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("pf").await;
    let fields = json!([
        {"name": "id", "type": "INTEGER"},
        {"name": "amount", "type": "FLOAT"},
        {"name": "name", "type": "STRING"},
        {"name": "ok", "type": "BOOLEAN"},
        {"name": "addr", "type": "RECORD", "fields": [{"name": "zip", "type": "STRING"}]},
        {"name": "tags", "type": "STRING", "mode": "REPEATED"}
    ]);
    let rows = vec![
        json!({"id": 1, "amount": 0.0, "name": "a", "ok": true, "addr": {"zip": "111"}, "tags": ["x", "y"]}),
        json!({"id": 2, "amount": 10.0, "name": "bb", "ok": false, "addr": {"zip": "222"}, "tags": []}),
        json!({"id": 3, "amount": 20.0, "name": null, "ok": true, "addr": null, "tags": ["x"]}),
        json!({"id": 4, "amount": -30.0, "name": "dddd", "ok": null, "addr": {"zip": "111"}, "tags": []}),
        json!({"id": 5, "amount": 40.0, "name": "a", "ok": true, "addr": {"zip": null}, "tags": ["z"]}),
    ];
    let t = emu.table(&ds, "t", fields, json!({}), rows).await;
    let other = emu
        .table(
            &ds,
            "u",
            json!([{"name": "v", "type": "STRING"}]),
            json!({}),
            vec![json!({"v": "x"})],
        )
        .await;
    let jobs = job_project("pf-metrics");
    let (code, j, err) = profile(&jobs, &["--sample-size", "2", &t, &other]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        emu.jobs(&jobs).await,
        2,
        "exactly one profiling query per table"
    );
    let p = &j["profiles"][0];
    assert_eq!(p["table_id"], t);
    assert_eq!(p["profile"]["row_count"], 5);
    assert_eq!(p["profile"]["metadata"]["type"], "TABLE");
    assert_eq!(p["profile"]["queries"]["count"], 1);
    let id = col(p, "id");
    assert_eq!(
        (
            id["nulls"].as_i64(),
            id["distinct"].as_i64(),
            id["min"].as_i64(),
            id["max"].as_i64()
        ),
        (Some(0), Some(5), Some(1), Some(5))
    );
    assert_eq!(id["mean"], 3.0);
    assert_eq!(id["quantiles"], json!([1.0, 2.0, 3.0, 4.0, 5.0]));
    let amount = col(p, "amount");
    assert_eq!(
        (amount["zeros"].as_i64(), amount["negatives"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(amount["quantiles"], json!([-30.0, 0.0, 10.0, 20.0, 40.0]));
    let name = col(p, "name");
    assert_eq!(
        (
            name["nulls"].as_i64(),
            name["null_rate"].as_f64(),
            name["distinct"].as_i64()
        ),
        (Some(1), Some(0.2), Some(3))
    );
    assert_eq!(
        (name["min_length"].as_i64(), name["max_length"].as_i64()),
        (Some(1), Some(4))
    );
    assert_eq!(name["top_values"][0], json!({"value": "a", "count": 2}));
    let ok = col(p, "ok");
    assert_eq!(
        (
            ok["true_count"].as_i64(),
            ok["false_count"].as_i64(),
            ok["nulls"].as_i64()
        ),
        (Some(3), Some(1), Some(1))
    );
    let zip = col(p, "addr.zip");
    assert_eq!(
        (zip["nulls"].as_i64(), zip["distinct"].as_i64()),
        (Some(2), Some(2))
    );
    let tags = col(p, "tags");
    assert_eq!(tags["mode"], "REPEATED");
    assert_eq!(
        tags["array"],
        json!({"min_length": 0, "max_length": 2, "avg_length": 0.8, "empty": 2, "elements": 4, "null_elements": 0})
    );
    assert_eq!(
        (tags["min"].as_str(), tags["max"].as_str()),
        (Some("x"), Some("z"))
    );
    assert_eq!(
        p["profile"]["samples"].as_array().map(Vec::len),
        Some(2),
        "--sample-size rows via tabledata.list"
    );
    assert!(
        p["profile"]["anomalies"].as_array().unwrap().is_empty(),
        "no rules without --detect-anomalies"
    );
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn every_anomaly_rule_fires_on_a_bad_table_and_none_on_a_clean_one() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("pf").await;
    let fields = json!([
        {"name": "id", "type": "INTEGER"},
        {"name": "always_null", "type": "STRING"},
        {"name": "mostly_null", "type": "STRING"},
        {"name": "constant", "type": "STRING"},
        {"name": "amount", "type": "FLOAT"},
        {"name": "ts", "type": "TIMESTAMP"},
        {"name": "d", "type": "DATE"},
        {"name": "label", "type": "STRING"}
    ]);
    let row = |id: i64, mostly: Option<&str>, amount: f64, ts: &str, d: &str, label: &str| json!({"id": id, "always_null": null, "mostly_null": mostly, "constant": "k", "amount": amount, "ts": ts, "d": d, "label": label});
    let bad = emu
        .table(
            &ds,
            "bad",
            fields.clone(),
            json!({}),
            vec![
                row(
                    1,
                    Some("x"),
                    10.0,
                    "2024-01-01 00:00:00",
                    "2024-01-01",
                    "red",
                ),
                row(1, None, 11.0, "2024-01-02 00:00:00", "2024-01-02", "blue"),
                row(2, None, 12.0, "2024-01-03 00:00:00", "1960-05-05", " green"),
                row(3, None, 13.0, "2099-01-04 00:00:00", "2024-01-04", ""),
                row(4, None, 14.0, "2024-01-05 00:00:00", "2024-01-05", "red"),
                row(5, None, 15.0, "2024-01-06 00:00:00", "2024-01-06", "blue"),
                row(6, None, 16.0, "2024-01-07 00:00:00", "2024-01-07", "red"),
                row(7, None, 9000.0, "2024-01-08 00:00:00", "2024-01-08", "blue"),
            ],
        )
        .await;
    let clean_fields = json!([{"name": "id", "type": "INTEGER"}, {"name": "amount", "type": "FLOAT"}, {"name": "label", "type": "STRING"}]);
    let clean_rows = (1..=8)
        .map(|i| json!({"id": i, "amount": 10.0 + i as f64, "label": format!("l{}", i % 3)}))
        .collect();
    let clean = emu
        .table(&ds, "clean", clean_fields, json!({}), clean_rows)
        .await;
    let empty = emu
        .table(
            &ds,
            "empty",
            json!([{"name": "id", "type": "INTEGER"}]),
            json!({}),
            vec![],
        )
        .await;
    let (code, j, err) = profile(
        &job_project("pf-anomalies"),
        &["--detect-anomalies", &bad, &clean, &empty],
    );
    assert_eq!(code, 1, "error-severity anomalies fail by default: {err}");
    let mut got = rules(&j["profiles"][0]);
    got.sort();
    let mut want = vec![
        r("duplicate_ids", "id", "error"),
        r("all_null", "always_null", "warning"),
        r("high_null_rate", "mostly_null", "warning"),
        r("constant_column", "constant", "info"),
        r("outliers", "amount", "warning"),
        r("future_dates", "ts", "warning"),
        r("dates_before_1970", "d", "warning"),
        r("empty_strings", "label", "warning"),
        r("whitespace_padded", "label", "warning"),
    ];
    want.sort();
    assert_eq!(got, want, "{:#}", j["profiles"][0]["profile"]["anomalies"]);
    assert!(
        rules(&j["profiles"][1]).is_empty(),
        "clean table: {:#}",
        j["profiles"][1]["profile"]["anomalies"]
    );
    assert_eq!(
        rules(&j["profiles"][2]),
        vec![r("empty_table", "", "error")]
    );
    // Stale: nothing here is 30 days old, so a negative threshold makes every table stale.
    let (_, j, _) = profile(
        &job_project("pf-stale"),
        &[
            "--detect-anomalies",
            "--stale-after=0",
            "--fail-on",
            "never",
            &clean,
        ],
    );
    assert_eq!(
        rules(&j["profiles"][0]),
        vec![r("stale_table", "", "warning")]
    );
    // --fail-on anomalies counts warnings too; never ignores everything.
    let (code, _, _) = profile(
        &job_project("pf-failon"),
        &["--detect-anomalies", "--fail-on", "never", &bad],
    );
    assert_eq!(code, 0);
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn drift_against_a_baseline_a_view_and_a_missing_table() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("pf").await;
    let fields = json!([{"name": "id", "type": "INTEGER"}, {"name": "v", "type": "FLOAT"}, {"name": "note", "type": "STRING"}]);
    let rows: Vec<Value> = (1..=10)
        .map(|i| json!({"id": i, "v": 10.0 + (i % 2) as f64, "note": "n"}))
        .collect();
    let t = emu.table(&ds, "t", fields, json!({}), rows).await;
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("baseline.json");
    let out = emulator_bin("bq-profile")
        .args(["--project", &job_project("pf-base"), "--format", "json", &t])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    // The baseline is edited to look like yesterday: fewer rows, a lower mean, an extra column.
    let mut b: Value = serde_json::from_slice(&out.stdout).unwrap();
    let prof = &mut b["profiles"][0]["profile"];
    prof["row_count"] = json!(5);
    let cols = prof["columns"].as_array_mut().unwrap();
    cols[1]["mean"] = json!(1.0);
    cols.push(json!({"name": "dropped", "type": "STRING", "mode": "NULLABLE", "count": 5}));
    std::fs::write(&base, serde_json::to_vec(&b).unwrap()).unwrap();

    let view = emu
        .table(&ds, "view", Value::Null, json!({"view": {"query": format!("SELECT id, v FROM `{t}` WHERE id <= 3"), "useLegacySql": false}}), vec![])
        .await;
    let missing = format!("{PROJECT}.{ds}.missing");
    let jobs = job_project("pf-drift");
    let (code, j, err) = profile(
        &jobs,
        &["--baseline", base.to_str().unwrap(), &t, &missing, &view],
    );
    assert_eq!(code, 2, "a failed table means exit 2: {err}");
    assert_eq!(j["batch_summary"]["total_tables"], 3);
    assert_eq!(j["batch_summary"]["successful"], 2);
    assert_eq!(j["batch_summary"]["failed"], 1);
    assert_eq!(j["errors"][0]["table_id"], missing);
    let mut got = rules(&j["profiles"][0]);
    got.sort();
    let mut want = vec![
        r("drift_row_count", "", "warning"),
        r("drift_mean", "v", "warning"),
        r("drift_column_removed", "dropped", "error"),
    ];
    want.sort();
    assert_eq!(got, want, "{:#}", j["profiles"][0]["profile"]["anomalies"]);
    // With --columns, the baseline's other columns were not profiled: not "removed".
    let (code, only_v, err) = profile(
        &job_project("pf-drift-cols"),
        &["--baseline", base.to_str().unwrap(), "--columns", "v", &t],
    );
    assert_eq!(code, 0, "warnings only: {err}");
    let mut got = rules(&only_v["profiles"][0]);
    got.sort();
    let mut want = vec![
        r("drift_row_count", "", "warning"),
        r("drift_mean", "v", "warning"),
    ];
    want.sort();
    assert_eq!(
        got, want,
        "{:#}",
        only_v["profiles"][0]["profile"]["anomalies"]
    );
    let v = &j["profiles"][1];
    assert_eq!(v["profile"]["metadata"]["type"], "VIEW");
    assert_eq!(v["profile"]["row_count"], 3);
    assert_eq!(v["profile"]["samples"].as_array().map(Vec::len), Some(3));
    let notes: Vec<&str> = v["profile"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(notes.iter().any(|n| n.contains("LIMIT query")), "{notes:?}");
    // A view's data can change with its sources: never served from the cache.
    assert!(
        notes
            .iter()
            .any(|n| n.contains("not cached") && n.contains("is a view")),
        "{notes:?}"
    );
    assert_eq!(
        emu.jobs(&jobs).await,
        3,
        "one profiling query per table, plus the view's sample query"
    );
}

#[test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
fn seed_profile_examples_and_the_data_quality_pipeline() {
    let _ = Emu::new(PROJECT);
    let shell = support::Shell::new();
    let sh = |script: &str| shell.run(script);
    let out = sh("bq-profile --parallel 4 --progress \\\n  project.analytics.events \\\n  project.analytics.sessions \\\n  project.prod.users \\\n  project.prod.t1");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Batch Profile Summary\n"), "{text}");
    assert!(
        text.contains("Results:\n  Total tables: 4\n  Successful: 4\n  Failed: 0\n"),
        "{text}"
    );

    let out = sh("bq-profile --parallel 4 project.prod.t1 project.prod.nope project.prod.t2 project.prod.users");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2));
    // The cost line follows the counts (the emulator bills nothing).
    assert!(text.contains("  Total tables: 4\n  Successful: 3\n  Failed: 1\n  Cost: $0.0000 (0 B billed at $6.25/TiB; 0 B processed; 0.0 slot-seconds)\n\nFailed tables:\n  ✗ project.prod.nope: Table not found"), "{text}");

    // Data Quality Monitoring, verbatim but for two fixes the bq CLI itself needs: it lists
    // `project:dataset` (it refuses `project.analytics`), and `bq ls --format=json` puts the
    // table id under `.tableReference.tableId` (there is no top-level `.tableId`).
    let out = sh(r#"DATASET="project:analytics"

# Get all tables
TABLES=$(bq ls --format=json $DATASET | jq -r '.[].tableReference.tableId' | \
  sed "s|^|$DATASET.|")

# Profile in parallel
echo "$TABLES" | tr ' ' '\n' | \
  xargs -n 1 echo | \
  bq-profile --parallel 8 --progress --format=json > profiles.json
jq -r '.batch_summary.successful, .profiles[].table_id' profiles.json"#);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2\nproject.analytics.events\nproject.analytics.sessions\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn where_columns_and_dry_run() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("pf").await;
    let rows: Vec<Value> = (1..=6)
        .map(|i| json!({"id": i, "v": format!("v{i}")}))
        .collect();
    let t = emu
        .table(
            &ds,
            "t",
            json!([{"name": "id", "type": "INTEGER"}, {"name": "v", "type": "STRING"}]),
            json!({}),
            rows,
        )
        .await;
    let (code, j, err) = profile(
        &job_project("pf-where"),
        &[
            "--where",
            "id > 4",
            "--columns",
            "v",
            "--sample-size",
            "0",
            &t,
        ],
    );
    assert_eq!(code, 0, "{err}");
    let p = &j["profiles"][0]["profile"];
    assert_eq!(p["row_count"], 2);
    let names: Vec<&str> = p["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["v"]);
    assert_eq!(col(&j["profiles"][0], "v")["min"], "v5");
    assert!(p["samples"].as_array().unwrap().is_empty());

    // No row matches: the anomaly says so; samples, which could not be filtered, are left out.
    let (code, j, err) = profile(
        &job_project("pf-where-none"),
        &["--detect-anomalies", "--where", "FALSE", &t],
    );
    assert_eq!(code, 1, "{err}");
    let p = &j["profiles"][0]["profile"];
    assert_eq!(p["anomalies"][0]["rule"], "empty_table", "{p:#}");
    assert_eq!(p["anomalies"][0]["evidence"], "0 rows match --where");
    assert!(p["samples"].as_array().unwrap().is_empty(), "{p:#}");
    assert!(
        p["notes"]
            .to_string()
            .contains("no sample rows with --where"),
        "{p:#}"
    );

    // --columns: the samples show the selected columns only.
    let (code, j, err) = profile(&job_project("pf-cols-samples"), &["--columns", "v", &t]);
    assert_eq!(code, 0, "{err}");
    let samples = j["profiles"][0]["profile"]["samples"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!samples.is_empty());
    for s in samples {
        let keys: Vec<&String> = s.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["v"], "{s}");
    }

    let jobs = job_project("pf-dry");
    let out = emulator_bin("bq-profile")
        .args(["--project", &jobs, "--dry-run", &t])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("dry run: 1 query") && text.contains(&format!("FROM `{t}` AS t")),
        "{text}"
    );
    assert_eq!(emu.jobs(&jobs).await, 0, "a dry run runs no job");
}

/// Issue 16.2 for profile: over `--max-bytes-per-run`, no job runs (each table's profile query
/// counts at least 10 MiB); within it, the profile runs and its cost is reported.
#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn a_budget_refuses_before_any_job_and_the_cost_is_reported() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("pf").await;
    let fields = json!([{"name": "id", "type": "INTEGER"}]);
    let rows: Vec<Value> = (1..=3).map(|i| json!({ "id": i })).collect();
    let t = emu
        .table(&ds, "t", fields.clone(), json!({}), rows.clone())
        .await;
    let u = emu.table(&ds, "u", fields, json!({}), rows).await;
    let jobs = &job_project("pf-budget");
    let out = emulator_bin("bq-profile")
        .args(["--project", jobs, "--max-bytes-per-run", "20971519", &t, &u])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("could bill up to 20971520 bytes (20.0 MiB)") && err.contains("no job ran"),
        "{err}"
    );
    assert_eq!(emu.jobs(jobs).await, 0, "refused before any job");

    let jobs = &job_project("pf-budget-ok");
    let (code, j, err) = profile(jobs, &["--max-bytes-per-run", "20971520", &t, &u]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(emu.jobs(jobs).await, 2, "one profile query per table");
    let s = &j["batch_summary"];
    // The emulator bills nothing; the keys are there, and the price is the default.
    assert_eq!(
        (&s["bytes_billed"], &s["cost_usd"], &s["price_per_tib"]),
        (&json!(0), &json!(0.0), &json!(6.25)),
        "{s:#}"
    );
}
