//! Snapshot tests of the report output: each binary's stdout in every `--format` (text,
//! markdown, junit, json), compared with the files under `tests/it/snapshots/`. They pin the
//! rendering exactly, so a rewrite of the report code can show that it changes nothing.
//!
//! Offline: schema files, and a fake BigQuery (wiremock) whose canned answers make a
//! table-compare pair differ and a profile raise anomalies. What changes from run to run
//! (timestamps, the version, ages in days) is redacted before the comparison.
//!
//! After an intended change of the output: `cargo insta review` (cargo-insta), or
//! `INSTA_UPDATE=always cargo test --test it snapshots::` and review the diff of the `.snap` files.

use serde_json::{json, Value};

use crate::support::{bin, FakeBigQuery};

const FORMATS: [&str; 4] = ["text", "markdown", "junit", "json"];

/// Run `name ARGS --format FORMAT` for each format and compare `exit: CODE` and stdout with
/// the snapshot `{snapshot}_{format}`.
fn snapshot_formats(snapshot: &str, name: &str, args: &[&str]) {
    // The fake's port changes from run to run.
    let shown_args: Vec<&str> = args
        .iter()
        .map(|a| {
            if a.starts_with("http://127.0.0.1:") {
                "[fake-bigquery]"
            } else {
                a
            }
        })
        .collect();
    for format in FORMATS {
        let out = bin(name)
            .env("NO_COLOR", "1")
            .args(args)
            .args(["--format", format])
            .output()
            .unwrap();
        let shown = shown(&out);
        assert_output(
            &format!("{snapshot}_{format}"),
            format!("{name} {} --format {format}", shown_args.join(" ")),
            &shown,
            &[(r"last modified \d+ days ago", "last modified [N] days ago")],
        );
    }
}

/// What a snapshot holds of a run: `exit: CODE` and stdout.
fn shown(out: &std::process::Output) -> String {
    format!(
        "exit: {}\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout)
    )
}

/// Compare `shown` with the snapshot `name`, with what changes from run to run redacted
/// (timestamps, the version, the fake's port, and `more` of the caller's).
fn assert_output(name: &str, description: String, shown: &str, more: &[(&str, &str)]) {
    let mut filters = vec![
        (r#""timestamp": "[^"]*""#, r#""timestamp": "[timestamp]""#),
        (r#"timestamp="[^"]*""#, r#"timestamp="[timestamp]""#),
        (r#"time="[0-9.]+""#, r#"time="[time]""#),
        (r#""version": "[^"]*""#, r#""version": "[version]""#),
        (r"127\.0\.0\.1:\d+", "[fake-bigquery]"),
    ];
    filters.extend_from_slice(more);
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        description => description,
        omit_expression => true,
        filters => filters,
    }, {
        insta::assert_snapshot!(name, shown);
    });
}

/// (a) The offline schema gate of examples/.bqcheck.yml: breaking, compatible and cosmetic
/// changes, nested fields (`address.zip`, `items.price`), an accepted change, and an
/// identical pair.
#[test]
fn schema_diff_with_config_and_accepted_change() {
    snapshot_formats(
        "schema_diff_config",
        "bq-schema-diff",
        &["--config", "examples/.bqcheck.yml"],
    );
}

/// (a) The same pairs with no config: every change counts, and `--fail-on any`.
#[test]
fn schema_diff_pairs_file() {
    snapshot_formats(
        "schema_diff_pairs_file",
        "bq-schema-diff",
        &[
            "--pairs-file",
            "examples/schema-pairs.txt",
            "--fail-on",
            "any",
        ],
    );
}

/// A table resource as tables.get sends it, last modified at a fixed time.
fn table_resource(fields: Value, rows: &str) -> Value {
    json!({"kind": "bigquery#table", "type": "TABLE", "location": "US", "numRows": rows,
           "numBytes": "4096", "lastModifiedTime": "1767225600000",
           "schema": {"fields": fields}})
}

/// `{"c0": …, "c1": …}` as TO_JSON_STRING writes a row struct.
fn row(id: i64, name: &str, amount: &str) -> String {
    json!({"c0": id, "c1": name, "c2": amount}).to_string()
}

/// (b) bq-table-compare on three pairs: one that differs (row counts, a column added on B,
/// column statistics, rows only in B and changed rows), one identical, and one whose table
/// does not exist (the failed-items section).
#[tokio::test]
async fn table_compare_differing_identical_and_failed() {
    let fake = FakeBigQuery::start().await;
    let cols = json!([
        {"name": "id", "type": "INTEGER", "mode": "REQUIRED"},
        {"name": "name", "type": "STRING"},
        {"name": "amount", "type": "NUMERIC"},
    ]);
    let mut cols_b = cols.clone();
    if let Some(a) = cols_b.as_array_mut() {
        a.push(json!({"name": "note", "type": "STRING"}));
    }
    fake.table("acme.shop.orders_a", table_resource(cols.clone(), "5"))
        .await;
    fake.table("acme.shop.orders_b", table_resource(cols_b, "6"))
        .await;
    fake.table("acme.shop.users_a", table_resource(cols.clone(), "5"))
        .await;
    fake.table("acme.shop.users_b", table_resource(cols, "5"))
        .await;
    fake.tables_not_found().await;
    let scan = |rows: i64, fingerprint: &str, max_name: &str, sum: &str, avg: &str| {
        json!({
            "row_count": rows, "fingerprint": fingerprint,
            "c0_non_null": rows, "c0_distinct": rows, "c0_min": "1", "c0_max": rows.to_string(),
            "c0_sum": (rows * (rows + 1) / 2).to_string(), "c0_avg": "3",
            "c1_non_null": rows, "c1_distinct": rows, "c1_min": "\"ann\"",
            "c1_max": format!("\"{max_name}\""),
            "c1_min_length": 3, "c1_max_length": 5, "c1_avg_length": "3.4",
            "c2_non_null": rows, "c2_distinct": rows, "c2_min": "\"1.5\"", "c2_max": "\"99.99\"",
            "c2_sum": sum, "c2_avg": avg,
        })
    };
    let changed = |id: i64, a: String, b: String, flags: &str| {
        json!({"k": json!({"c0": id}).to_string(), "a": a, "b": b, "d": flags}).to_string()
    };
    let diff = json!({
        "only_in_a": 0, "only_in_b": 1, "changed": 2,
        "duplicate_keys_a": 0, "duplicate_keys_b": 0,
        "duplicate_rows_a": 0, "duplicate_rows_b": 0,
        "changed_c1": 1, "changed_c2": 1,
        "samples_only_in_a": [],
        "samples_only_in_b": [row(6, "frank", "7.25")],
        "samples_changed": [
            changed(4, row(4, "dave", "12.5"), row(4, "dave", "12.75"), "001"),
            changed(2, row(2, "bob", "3"), row(2, "bobby", "3"), "010"),
        ],
    });
    fake.answer_queries(
        "billing",
        vec![
            ("only_in_a".into(), diff),
            (
                "`acme.shop.orders_a`".into(),
                scan(5, "1:2:3", "erin", "140.24", "28.048"),
            ),
            (
                "`acme.shop.orders_b`".into(),
                scan(6, "4:5:6", "frank", "147.74", "24.6233"),
            ),
            (
                "`acme.shop.users_a`".into(),
                scan(5, "7:8:9", "erin", "10", "2"),
            ),
            (
                "`acme.shop.users_b`".into(),
                scan(5, "7:8:9", "erin", "10", "2"),
            ),
        ],
    )
    .await;
    snapshot_formats(
        "table_compare",
        "bq-table-compare",
        &[
            "--api-url",
            &fake.uri(),
            "--project",
            "billing",
            "--key",
            "id",
            "acme.shop.orders_a:acme.shop.orders_b",
            "acme.shop.users_a:acme.shop.users_b",
            "acme.shop.gone:acme.shop.users_b",
        ],
    );
}

/// (c) bq-profile --detect-anomalies on a table whose profile trips several rules (a
/// duplicated id, a high null rate, padded and empty strings, outliers, future dates, a
/// stale table), with sample rows, next to one that does not exist.
#[tokio::test]
async fn profile_with_anomalies_and_a_failed_table() {
    let fake = FakeBigQuery::start().await;
    let mut events = table_resource(
        json!([
            {"name": "id", "type": "INTEGER"},
            {"name": "city", "type": "STRING"},
            {"name": "amount", "type": "FLOAT"},
            {"name": "created", "type": "TIMESTAMP"},
        ]),
        "8",
    );
    // Modified long ago: stale. Days are redacted, the date is fixed.
    events["lastModifiedTime"] = json!("1577836800000");
    fake.table("acme.shop.events", events).await;
    fake.tables_not_found().await;
    fake.table_rows(
        "acme.shop.events",
        json!([
            {"f": [{"v": "1"}, {"v": "Oslo"}, {"v": "10.5"}, {"v": "1.7041032E9"}]},
            {"f": [{"v": "2"}, {"v": " Bergen"}, {"v": "9000"}, {"v": "1.7041068E9"}]},
            {"f": [{"v": "2"}, {"v": null}, {"v": "11"}, {"v": "4.1024448E9"}]},
        ]),
    )
    .await;
    let profile = json!({
        "row_count": 8,
        "c0_nulls": 0, "c0_distinct": 7, "c0_exact_distinct": 7,
        "c0_min": "1", "c0_max": "8", "c0_mean": "4.375", "c0_stddev": "2.2",
        "c0_zeros": 0, "c0_negatives": 0, "c0_quantiles": "[1.0,2.0,4.0,6.0,8.0]",
        "c1_nulls": 5, "c1_distinct": 3, "c1_top": r#"[{"value":"Oslo","count":1},{"value":" Bergen","count":1},{"value":"","count":1}]"#,
        "c1_min": "\"\"", "c1_max": "\"Oslo\"",
        "c1_min_length": 0, "c1_max_length": 7, "c1_avg_length": "3.67",
        "c1_empty_strings": 1, "c1_padded_strings": 1,
        "c2_nulls": 0, "c2_distinct": 8, "c2_min": "10.5", "c2_max": "9000",
        "c2_nan_count": 0, "c2_inf_count": 0, "c2_mean": "1134.5", "c2_stddev": "3179.1",
        "c2_zeros": 0, "c2_negatives": 0, "c2_quantiles": "[10.5,11.0,12.0,13.0,9000.0]",
        "c3_nulls": 0, "c3_distinct": 8,
        "c3_min": "\"2024-01-01T10:00:00Z\"", "c3_max": "\"2100-01-01T00:00:00Z\"",
        "c3_future": 1, "c3_before_1970": 0,
    });
    fake.answer_queries("billing", vec![("`acme.shop.events`".into(), profile)])
        .await;
    snapshot_formats(
        "profile_anomalies",
        "bq-profile",
        &[
            "--api-url",
            &fake.uri(),
            "--project",
            "billing",
            "--detect-anomalies",
            "--sample-size",
            "3",
            "acme.shop.events",
            "acme.shop.missing",
        ],
    );
}

/// (d) bq-profile --history: a table whose row count and null rate left their usual band
/// over 24 earlier daily runs (a history written here, the same for every format), with a
/// chart of each in Markdown (`scripts/render-charts` renders these to PNG) and a sparkline
/// in text.
#[tokio::test]
async fn profile_against_its_history() {
    let fake = FakeBigQuery::start().await;
    let mut events = table_resource(
        json!([
            {"name": "id", "type": "INTEGER"},
            {"name": "city", "type": "STRING"},
        ]),
        "8",
    );
    // Modified two hours ago, as in every earlier run: freshness is as usual.
    let two_hours_ago = chrono::Utc::now().timestamp_millis() - 2 * 3_600_000;
    events["lastModifiedTime"] = json!(two_hours_ago.to_string());
    fake.table("acme.shop.events", events).await;
    fake.table_rows("acme.shop.events", json!([])).await;
    let profile = json!({
        "row_count": 8,
        "c0_nulls": 0, "c0_distinct": 8, "c0_exact_distinct": 8,
        "c0_min": "1", "c0_max": "8", "c0_mean": "4.5", "c0_stddev": "2.4",
        "c0_zeros": 0, "c0_negatives": 0, "c0_quantiles": "[1.0,2.0,4.0,6.0,8.0]",
        "c1_nulls": 5, "c1_distinct": 3, "c1_top": r#"[{"value":"Oslo","count":2}]"#,
        "c1_min": "\"Bergen\"", "c1_max": "\"Oslo\"",
        "c1_min_length": 4, "c1_max_length": 6, "c1_avg_length": "5.0",
        "c1_empty_strings": 0, "c1_padded_strings": 0,
    });
    fake.answer_queries("billing", vec![("`acme.shop.events`".into(), profile)])
        .await;
    // 24 daily runs in October: 12 or 13 rows, a tenth of the cities NULL.
    let mut history = String::new();
    for day in 1..=24 {
        let rows = 12 + day % 2;
        let line = json!({
            "v": 1, "table": "acme.shop.events",
            "at": format!("2026-10-{day:02}T06:00:00Z"),
            "rows": rows, "age_hours": 2.0,
            "columns": {
                "id": {"null_rate": 0.0, "distinct": rows, "mean": (rows as f64 + 1.0) / 2.0},
                "city": {"null_rate": 0.1 + f64::from(day % 3) * 0.002, "distinct": 3},
            },
        });
        history.push_str(&format!("{line}\n"));
    }
    for format in FORMATS {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("acme.shop.events.jsonl"), &history).unwrap();
        let out = bin("bq-profile")
            .env("NO_COLOR", "1")
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .args(["--api-url", &fake.uri(), "--project", "billing"])
            .args(["--sample-size", "0", "--history"])
            .arg(dir.path())
            .args(["acme.shop.events", "--format", format])
            .output()
            .unwrap();
        let shown = shown(&out);
        assert_output(
            &format!("profile_history_{format}"),
            format!("bq-profile --history DIR acme.shop.events --format {format}"),
            &shown,
            &[(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[time]")],
        );
    }
}
