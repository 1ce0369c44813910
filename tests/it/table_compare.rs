//! bq-table-compare against the local BigQuery emulator (see tests/it/emulator.rs for the setup:
//! `scripts/test` starts it). These tables are small and hand-made for exact cases; realistic
//! sizes and every type are in tests/it/realistic.rs.

use serde_json::{json, Value};

use crate::support::{self, emulator_bin, job_project, Emu};

const PROJECT: &str = "bqcheck-tc";

fn compare(job_project: &str, args: &[&str]) -> (i32, Value, String) {
    support::run_json("bq-table-compare", job_project, args)
}

fn users_schema() -> Value {
    json!([
        {"name": "id", "type": "INTEGER", "mode": "REQUIRED"},
        {"name": "name", "type": "STRING"},
        {"name": "score", "type": "FLOAT"},
        {"name": "address", "type": "RECORD", "fields": [{"name": "zip", "type": "STRING"}, {"name": "city", "type": "STRING"}]},
        {"name": "tags", "type": "STRING", "mode": "REPEATED"}
    ])
}

fn user(id: i64, name: Option<&str>, score: f64, zip: &str, tags: &[&str]) -> Value {
    json!({"id": id, "name": name, "score": score, "address": {"zip": zip, "city": "X"}, "tags": tags})
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn identical_tables_stop_after_one_scan_per_side() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("tc").await;
    let rows = vec![
        user(1, Some("a"), 1.5, "111", &["x"]),
        user(2, None, 2.0, "222", &[]),
        user(3, Some("c"), -1.0, "333", &["y", "z"]),
    ];
    let a = emu
        .table(&ds, "a", users_schema(), json!({}), rows.clone())
        .await;
    let mut reversed = rows.clone();
    reversed.reverse();
    let b = emu
        .table(&ds, "b", users_schema(), json!({}), reversed)
        .await;
    let jobs = &job_project("jobs-identical");
    let (code, j, err) = compare(jobs, &[&a, &b]);
    assert_eq!(code, 0, "{j:#}{err}");
    let c = &j["comparisons"][0];
    assert_eq!(c["identical"], true);
    assert_eq!(c["row_count"], json!({"a": 3, "b": 3}));
    assert_eq!(
        c["queries"]["count"], 2,
        "identical tables need only the two scans"
    );
    assert_eq!(emu.jobs(jobs).await, 2, "jobs BigQuery actually ran");
    assert_eq!(c["rows"], Value::Null);
    let cols: Vec<&str> = c["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        cols,
        vec!["id", "name", "score", "address.zip", "address.city", "tags"]
    );
    assert_eq!(c["columns"][1]["a"]["non_null"], 2);
    assert_eq!(c["columns"][1]["differs"], false);
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn keyed_diff_finds_added_removed_and_changed_rows() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("tc").await;
    let a = emu
        .table(
            &ds,
            "a",
            users_schema(),
            json!({}),
            vec![
                user(1, Some("a"), 1.5, "111", &["x"]),
                user(2, Some("b"), 2.0, "222", &[]),
                user(3, Some("c"), 3.0, "333", &["y"]),
                user(4, Some("only-a"), 4.0, "444", &[]),
            ],
        )
        .await;
    let b = emu
        .table(
            &ds,
            "b",
            users_schema(),
            json!({}),
            vec![
                user(1, Some("a"), 1.5, "111", &["x"]),
                user(2, None, 2.0, "999", &[]), // name NULL on one side only, zip changed
                user(3, Some("c"), 3.0, "333", &["y", "q"]), // repeated column changed
                user(5, Some("only-b"), 5.0, "555", &[]),
            ],
        )
        .await;
    let jobs = &job_project("jobs-keyed");
    let (code, j, err) = compare(jobs, &["--key", "id", &a, &b]);
    assert_eq!(code, 1, "{err}");
    let r = &j["comparisons"][0]["rows"];
    assert_eq!(r["key"], json!(["id"]));
    assert_eq!(
        (
            r["only_in_a"].as_i64(),
            r["only_in_b"].as_i64(),
            r["changed"].as_i64()
        ),
        (Some(1), Some(1), Some(2)),
        "{r:#}"
    );
    assert_eq!(
        r["changed_by_column"],
        json!({"name": 1, "address.zip": 1, "tags": 1})
    );
    assert_eq!(r["samples"]["only_in_a"][0]["id"], 4);
    assert_eq!(r["samples"]["only_in_b"][0]["name"], "only-b");
    let changed = r["samples"]["changed"].as_array().unwrap();
    assert_eq!(changed[0]["key"], json!({"id": 2}));
    assert_eq!(
        changed[0]["changes"],
        json!([
            {"column": "name", "a": "b", "b": null},
            {"column": "address.zip", "a": "222", "b": "999"}
        ])
    );
    assert_eq!(changed[1]["changes"][0]["column"], "tags");
    assert_eq!(j["comparisons"][0]["queries"]["count"], 3);
    assert_eq!(emu.jobs(jobs).await, 3);

    // Text report: changed rows show only the differing columns as a → b.
    let out = emulator_bin("bq-table-compare")
        .args([
            "--project",
            &job_project("jobs-text"),
            "--key",
            "id",
            "--sample-size",
            "1",
            &a,
            &b,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("id=2  name: b → null; address.zip: 222 → 999"),
        "{text}"
    );
    assert!(
        text.contains("changed (1 of 2):"),
        "--sample-size limits examples: {text}"
    );
    assert!(text.contains("Batch Table Compare Summary"), "{text}");
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn composite_primary_key_and_duplicate_keys() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("tc").await;
    let fields = json!([{"name": "region", "type": "STRING"}, {"name": "day", "type": "DATE"}, {"name": "amount", "type": "NUMERIC"}]);
    let pk = json!({"tableConstraints": {"primaryKey": {"columns": ["region", "day"]}}});
    let r = |region: &str, day: &str, amount: &str| json!({"region": region, "day": day, "amount": amount});
    let a = emu
        .table(
            &ds,
            "a",
            fields.clone(),
            pk.clone(),
            vec![
                r("eu", "2024-01-01", "10.00"),
                r("eu", "2024-01-02", "11.00"),
                r("us", "2024-01-01", "12.00"),
                r("us", "2024-01-02", "1.00"),
                r("us", "2024-01-02", "2.00"), // duplicate key in A
            ],
        )
        .await;
    let b = emu
        .table(
            &ds,
            "b",
            fields,
            pk,
            vec![
                r("eu", "2024-01-01", "10.00"),
                r("eu", "2024-01-02", "11.50"),
                r("us", "2024-01-01", "12.00"),
                r("us", "2024-01-02", "1.00"),
            ],
        )
        .await;
    let (code, j, err) = compare(&job_project("jobs-composite"), &[&a, &b]);
    assert_eq!(code, 1, "{err}");
    let c = &j["comparisons"][0];
    let r = &c["rows"];
    assert_eq!(
        r["key"],
        json!(["region", "day"]),
        "the primary key is used when --key is absent"
    );
    assert_eq!(r["changed"], 1);
    assert_eq!(r["changed_by_column"], json!({"amount": 1}));
    assert_eq!(r["duplicate_keys_a"], 1, "{r:#}");
    assert_eq!(r["duplicate_keys_b"], 0);
    assert_eq!(
        r["only_in_a"], 0,
        "rows with duplicate keys are reported, not joined"
    );
    assert_eq!(
        r["samples"]["changed"][0]["key"],
        json!({"region": "eu", "day": "2024-01-02"})
    );
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn without_a_key_duplicate_rows_count_with_multiplicity() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("tc").await;
    let fields = json!([{"name": "k", "type": "STRING"}, {"name": "v", "type": "INTEGER"}]);
    let row = |k: &str, v: i64| json!({"k": k, "v": v});
    let a = emu
        .table(
            &ds,
            "a",
            fields.clone(),
            json!({}),
            vec![row("x", 1), row("x", 1), row("x", 1), row("y", 2)],
        )
        .await;
    let b = emu
        .table(
            &ds,
            "b",
            fields,
            json!({}),
            vec![row("x", 1), row("y", 2), row("z", 3)],
        )
        .await;
    let (code, j, err) = compare(&job_project("jobs-multiset"), &[&a, &b]);
    assert_eq!(code, 1, "{err}");
    let r = &j["comparisons"][0]["rows"];
    assert_eq!(r["key"], json!([]));
    assert_eq!(
        (r["only_in_a"].as_i64(), r["only_in_b"].as_i64()),
        (Some(2), Some(1)),
        "{r:#}"
    );
    assert_eq!(
        r["samples"]["only_in_a"],
        json!([{"k": "x", "v": 1, "_count": 2}])
    );
    assert_eq!(
        r["samples"]["only_in_b"],
        json!([{"k": "z", "v": 3, "_count": 1}])
    );
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn schema_differences_missing_tables_where_and_columns() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("tc").await;
    let rows = vec![
        user(1, Some("a"), 1.0, "1", &[]),
        user(2, Some("b"), 2.0, "2", &[]),
        user(3, Some("c"), 3.0, "3", &[]),
    ];
    let a = emu
        .table(&ds, "a", users_schema(), json!({}), rows.clone())
        .await;
    let mut schema_b = users_schema();
    schema_b[2] = json!({"name": "score", "type": "STRING"}); // one column differs in type
    let rows_b: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r["score"] = json!("x");
            if r["id"] == 3 {
                r["name"] = json!("changed");
            }
            r
        })
        .collect();
    let b = emu.table(&ds, "b", schema_b, json!({}), rows_b).await;
    let missing = format!("{PROJECT}.{ds}.nope");
    let pairs = format!("{a}:{b}\n{a}:{missing}\n{a}:{a}\n");
    let out = emulator_bin("bq-table-compare")
        .args([
            "--project",
            &job_project("jobs-schema"),
            "--format",
            "json",
            "--key",
            "id",
        ])
        .write_stdin(pairs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a failed pair means exit 2");
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        j["batch_summary"],
        json!({"total_pairs": 3, "identical": 1, "different": 1, "failed": 1,
               // What the run cost: nothing on the emulator, at the default price.
               "bytes_processed": 0, "bytes_billed": 0, "slot_ms": 0, "cost_usd": 0.0,
               "price_per_tib": 6.25, "timestamp": j["batch_summary"]["timestamp"]})
    );
    assert!(
        j["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("not found"),
        "{j:#}"
    );
    let c = &j["comparisons"][0];
    assert_eq!(
        c["schema"]["left_out"],
        json!([{"column": "score", "reason": "type FLOAT64 in A, STRING in B"}])
    );
    assert_eq!(c["schema"]["changes"][0]["kind"], "type_changed");
    assert_eq!(c["rows"]["changed_by_column"], json!({"name": 1}));

    // --where limits both sides; --columns limits the compared columns.
    let (code, j, err) = compare(
        &job_project("jobs-where"),
        &[
            "--key",
            "id",
            "--where",
            "t.id < 3",
            "--columns",
            "name",
            &a,
            &b,
        ],
    );
    assert_eq!(code, 0, "{j:#}{err}");
    let c = &j["comparisons"][0];
    assert_eq!(c["row_count"], json!({"a": 2, "b": 2}));
    let compared: Vec<&str> = c["schema"]["compared_columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(compared, vec!["id", "name"]);
    assert_eq!(c["identical"], true);

    let out = emulator_bin("bq-table-compare")
        .args(["--where", "1=1; DROP TABLE x", &a, &b])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`;`"));
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn dry_run_runs_no_job() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("tc").await;
    let a = emu
        .table(
            &ds,
            "a",
            users_schema(),
            json!({}),
            vec![user(1, Some("a"), 1.0, "1", &[])],
        )
        .await;
    let b = emu.table(&ds, "b", users_schema(), json!({}), vec![]).await;
    let jobs = &job_project("jobs-dry");
    let out = emulator_bin("bq-table-compare")
        .args(["--project", jobs, "--dry-run", "--key", "id", &a, &b])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("-- scan A: ~0 bytes") && text.contains("-- row diff"),
        "{text}"
    );
    assert!(text.contains(&format!("FROM `{a}` AS t")), "{text}");
    assert_eq!(emu.jobs(jobs).await, 0, "a dry run runs no job");
}

/// Issue 16.2: `--max-bytes-per-run` dry-runs the whole batch first and, over budget, runs
/// no job at all, naming the biggest items; under budget the run goes ahead. Each query counts
/// at least 10 MiB (BigQuery's minimum bill), so 3 queries a pair is 30 MiB here.
#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn a_run_over_its_budget_runs_no_job() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("tc").await;
    let a = emu
        .table(
            &ds,
            "a",
            users_schema(),
            json!({}),
            vec![
                user(1, Some("a"), 1.0, "1", &[]),
                user(2, Some("b"), 2.0, "2", &[]),
            ],
        )
        .await;
    let b = emu
        .table(
            &ds,
            "b",
            users_schema(),
            json!({}),
            vec![user(1, Some("a"), 1.0, "1", &[])],
        )
        .await;
    let pairs = [format!("{a}:{b}"), format!("{b}:{a}")];
    let jobs = &job_project("jobs-budget");
    let out = emulator_bin("bq-table-compare")
        .args([
            "--project",
            jobs,
            "--key",
            "id",
            "--max-bytes-per-run",
            "50000000",
        ])
        .args(&pairs)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--max-bytes-per-run 50000000 (47.7 MiB): the run could bill up to 62914560 bytes (60.0 MiB)"),
        "{err}"
    );
    assert!(
        err.contains(&format!("  {a} ↔ {b}: up to 31457280 bytes (30.0 MiB)")),
        "{err}"
    );
    assert_eq!(emu.jobs(jobs).await, 0, "refused before any job");

    let jobs = &job_project("jobs-budget-ok");
    let out = emulator_bin("bq-table-compare")
        .args([
            "--project",
            jobs,
            "--key",
            "id",
            "--max-bytes-per-run",
            "62914560",
        ])
        .args(&pairs)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "within budget: it runs\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(emu.jobs(jobs).await, 6, "two pairs, three jobs each");
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn float_tolerance_and_nan() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("tc").await;
    let fields = json!([{"name": "id", "type": "INTEGER"}, {"name": "x", "type": "FLOAT"}]);
    let a = emu
        .table(
            &ds,
            "a",
            fields.clone(),
            json!({}),
            vec![
                json!({"id": 1, "x": 1.5}),
                json!({"id": 2, "x": null}),
                json!({"id": 3, "x": "NaN"}),
            ],
        )
        .await;
    let b = emu
        .table(
            &ds,
            "b",
            fields,
            json!({}),
            vec![
                json!({"id": 1, "x": 1.5000001}),
                json!({"id": 2, "x": null}),
                json!({"id": 3, "x": "NaN"}),
            ],
        )
        .await;
    let (code, j, err) = compare(&job_project("jobs-exact"), &["--key", "id", &a, &b]);
    assert_eq!(code, 1, "FLOAT64 compares exactly by default: {j:#}{err}");
    assert_eq!(
        j["comparisons"][0]["rows"]["changed_by_column"],
        json!({"x": 1}),
        "NULL = NULL and NaN = NaN"
    );
    let (code, j, err) = compare(
        &job_project("jobs-tol"),
        &["--key", "id", "--float-tolerance", "0.001", &a, &b],
    );
    assert_eq!(code, 0, "{j:#}{err}");
    let c = &j["comparisons"][0];
    assert_eq!(c["identical"], true);
    assert_eq!(c["rows"]["within_tolerance"], 1, "{c:#}");
    assert_eq!(c["rows"]["within_tolerance_by_column"], json!({"x": 1}));
    assert!(
        c["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "compared under rules: x within 0.001"),
        "{c:#}"
    );
}
