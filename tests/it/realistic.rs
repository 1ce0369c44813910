//! Realistic data, the default test condition: tables of 20,000 rows with every BigQuery type
//! and NULLs in every column, 300- and 1,000-column tables, and a partitioned, clustered
//! table, all built inside the emulator (`tests/it/support/realistic.rs`). A 9-row fixture hid an
//! overflow after ~20 rows, NaN failing a whole profile, and STRUCT names in `--columns`.

use serde_json::{json, Value};

use crate::support::realistic::{self as fx, Diff, Side};
use crate::support::{self, job_project, Emu};

const PROJECT: &str = "bqcheck-real";
const ROWS: i64 = 20_000;

fn compare(job_project: &str, args: &[&str]) -> (i32, Value, String) {
    support::run_json("bq-table-compare", job_project, args)
}

fn profile(job_project: &str, args: &[&str]) -> (i32, Value, String) {
    support::run_json("bq-profile", job_project, args)
}

/// `changed_by_column` as (column, rows) pairs.
fn changed_by_column(c: &Value) -> Vec<(String, i64)> {
    c["rows"]["changed_by_column"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_i64().unwrap_or(-1)))
                .collect()
        })
        .unwrap_or_default()
}

fn column<'a>(p: &'a Value, name: &str) -> &'a Value {
    p["columns"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no column {name} in {p:#}"))
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn every_type_at_20k_rows_identical_copy_and_one_change_per_column() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("every").await;
    let (a, b, c) = (
        format!("{PROJECT}.{ds}.a"),
        format!("{PROJECT}.{ds}.b"),
        format!("{PROJECT}.{ds}.c"),
    );
    emu.query(&fx::every_type(&a, ROWS, Diff::Identical)).await;
    emu.query(&fx::every_type(&b, ROWS, Diff::OnePerColumn))
        .await;
    emu.query(&fx::every_type(&c, ROWS, Diff::Identical)).await;

    // An identical copy: identical, with one scan per side and no row diff.
    let jobs = &job_project("every-identical");
    let (code, j, err) = compare(jobs, &[&a, &c]);
    assert_eq!(code, 0, "{j:#}{err}");
    let r = &j["comparisons"][0];
    assert_eq!(r["identical"], true, "{r:#}");
    assert_eq!(r["row_count"], json!({"a": ROWS, "b": ROWS}));
    assert_eq!(r["queries"]["count"], 2);
    assert_eq!(emu.jobs(jobs).await, 2);
    assert_eq!(
        r["schema"]["compared_columns"].as_array().map(Vec::len),
        Some(19),
        "id + 18 leaves, every type compared: {:#}",
        r["schema"]["left_out"]
    );
    // NaN and ±Inf are counted apart; sums and means stay finite.
    let f64s = r["columns"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == "f64"))
        .unwrap();
    let facts = fx::every_type_facts(ROWS);
    assert_eq!(f64s["a"]["nan_count"], facts.f64_nan);
    assert_eq!(
        f64s["a"]["inf_count"],
        facts.f64_pos_inf + facts.f64_neg_inf
    );
    let avg: f64 = f64s["a"]["avg"].as_str().unwrap().parse().unwrap();
    assert!(avg.is_finite(), "{f64s:#}");

    // One seeded difference per column type, each under its own column.
    let jobs = &job_project("every-diff");
    let (code, j, err) = compare(jobs, &["--key", "id", &a, &b]);
    assert_eq!(code, 1, "{j:#}{err}");
    let r = &j["comparisons"][0];
    assert_eq!(r["identical"], false);
    let seeded = fx::seeded_changes(ROWS);
    assert_eq!(r["rows"]["changed"], seeded.len(), "{:#}", r["rows"]);
    assert_eq!(r["rows"]["only_in_a"], 0);
    assert_eq!(r["rows"]["only_in_b"], 0);
    let mut expected: Vec<(String, i64)> =
        seeded.iter().map(|(col, _)| (col.to_string(), 1)).collect();
    expected.sort();
    assert_eq!(changed_by_column(r), expected);
    // Each example names the row and the one column that changed there.
    let samples = r["rows"]["samples"]["changed"].as_array().unwrap();
    for (col, id) in &seeded {
        let s = samples
            .iter()
            .find(|s| s["key"]["id"] == *id)
            .unwrap_or_else(|| panic!("no example for id {id} ({col})"));
        let cols: Vec<&str> = s["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["column"].as_str())
            .collect();
        assert_eq!(cols, vec![*col], "id {id}");
    }
    // Every changed column is flagged as differing, whatever its statistics say.
    for (col, _) in &seeded {
        let cc = r["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == *col)
            .unwrap();
        assert_eq!(cc["differs"], true, "{col}");
    }
    assert_eq!(r["queries"]["count"], 3, "two scans and one row diff");
    assert_eq!(emu.jobs(jobs).await, 3);

    // Without a key: the same rows, as a multiset (18 changed rows = 18 + 18).
    let (code, j, err) = compare(&job_project("every-multiset"), &[&a, &b]);
    assert_eq!(code, 1, "{j:#}{err}");
    let r = &j["comparisons"][0];
    assert_eq!(r["rows"]["only_in_a"], seeded.len());
    assert_eq!(r["rows"]["only_in_b"], seeded.len());
    // Whole rows carry no column attribution: the scans fingerprint each column instead, and
    // exactly the seeded columns differ.
    for c in r["columns"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let seeded_here = seeded.iter().any(|(col, _)| *col == name);
        assert_eq!(c["differs"], seeded_here, "{name}: {c:#}");
    }
    assert!(
        r["notes"].to_string().contains("no key"),
        "{:#}",
        r["notes"]
    );

    // A STRUCT parent selects its leaves: only st's changes are seen.
    let (code, j, err) = compare(
        &job_project("every-struct"),
        &["--key", "id", "--columns", "st", &a, &b],
    );
    assert_eq!(code, 1, "{j:#}{err}");
    let r = &j["comparisons"][0];
    let names: Vec<String> = changed_by_column(r).into_iter().map(|(c, _)| c).collect();
    assert_eq!(names, ["st.a", "st.b.c", "st.b.d.e"]);
    let (code, j, err) = compare(
        &job_project("every-struct-out"),
        &["--key", "id", "--exclude-columns", "st,arr,kv", &a, &b],
    );
    assert_eq!(code, 1, "{j:#}{err}");
    assert_eq!(
        j["comparisons"][0]["rows"]["changed"],
        seeded.len() - 5,
        "{:#}",
        j["comparisons"][0]["rows"]
    );
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn every_type_profile_at_20k_rows_matches_hand_counts() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("everyp").await;
    let a = format!("{PROJECT}.{ds}.a");
    emu.query(&fx::every_type(&a, ROWS, Diff::Identical)).await;
    let jobs = &job_project("every-profile");
    let (code, j, err) = profile(jobs, &[&a]);
    assert!(code == 0 || code == 1, "{j:#}{err}");
    let p = &j["profiles"][0]["profile"];
    assert_eq!(p["row_count"], ROWS, "{j:#}");
    let facts = fx::every_type_facts(ROWS);
    for (col, nulls) in &facts.nulls {
        if *col == "arr" || *col == "kv" {
            continue;
        }
        assert_eq!(column(p, col)["nulls"], *nulls, "nulls of {col}");
    }
    let f = column(p, "f64");
    assert_eq!(f["nan_count"], facts.f64_nan);
    assert_eq!(f["inf_count"], facts.f64_pos_inf + facts.f64_neg_inf);
    for k in ["mean", "stddev"] {
        assert!(f[k].as_f64().is_some_and(f64::is_finite), "{k}: {f:#}");
    }
    let q = f["quantiles"].as_array().unwrap();
    assert!(
        q.iter().all(|v| v.as_f64().is_some_and(f64::is_finite)),
        "{f:#}"
    );
    assert_eq!(column(p, "i64")["min"], json!(facts.i64_min));
    assert_eq!(column(p, "i64")["max"], json!(facts.i64_max));
    assert_eq!(column(p, "d")["min"], facts.d_min);
    assert_eq!(column(p, "d")["max"], facts.d_max);
    assert_eq!(column(p, "s")["empty_strings"], facts.s_empty);
    assert_eq!(
        column(p, "s")["padded_strings"],
        facts.s_blank + facts.s_trailing_space
    );
    assert_eq!(column(p, "arr")["array"]["empty"], facts.arr_empty);
    assert_eq!(column(p, "kv")["array"]["empty"], facts.kv_empty);
    assert_eq!(column(p, "st.b.d.e")["nulls"], facts.null("st.b.d.e"));

    // --columns with a STRUCT parent profiles its leaves.
    let (code, j, err) = profile(&job_project("every-profile-st"), &["--columns", "st", &a]);
    assert!(code == 0 || code == 1, "{j:#}{err}");
    let names: Vec<&str> = j["profiles"][0]["profile"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["st.a", "st.b.c", "st.b.d.e"]);
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn three_hundred_columns_at_20k_rows() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("wide").await;
    let (a, b, c) = (
        format!("{PROJECT}.{ds}.a"),
        format!("{PROJECT}.{ds}.b"),
        format!("{PROJECT}.{ds}.c"),
    );
    // Column 250 (a STRING) is changed in one row.
    let (k, id) = (250, 12_345);
    emu.query(&fx::wide(&a, ROWS, 300, None)).await;
    emu.query(&fx::wide(&b, ROWS, 300, Some((k, id)))).await;
    emu.query(&fx::wide(&c, ROWS, 300, None)).await;

    let jobs = &job_project("wide-identical");
    let (code, j, err) = compare(jobs, &[&a, &c]);
    assert_eq!(code, 0, "{j:#}{err}");
    let r = &j["comparisons"][0];
    assert_eq!(r["identical"], true);
    assert_eq!(r["columns"].as_array().map(Vec::len), Some(301));
    assert_eq!(
        r["queries"]["count"], 2,
        "301 columns: still one scan per side"
    );

    let (code, j, err) = compare(&job_project("wide-diff"), &["--key", "id", &a, &b]);
    assert_eq!(code, 1, "{j:#}{err}");
    let r = &j["comparisons"][0];
    assert_eq!(changed_by_column(r), vec![(fx::wide_column(k), 1)]);
    assert_eq!(r["rows"]["samples"]["changed"][0]["key"]["id"], id);

    let (code, j, err) = profile(&job_project("wide-profile"), &[&a]);
    assert!(code == 0 || code == 1, "{j:#}{err}");
    let p = &j["profiles"][0]["profile"];
    assert_eq!(p["row_count"], ROWS);
    assert_eq!(p["columns"].as_array().map(Vec::len), Some(301));
    for k in [1, 2, 3, 150, 300] {
        assert_eq!(
            column(p, &fx::wide_column(k))["nulls"],
            fx::wide_null_count(ROWS, k),
            "column {k} ({})",
            fx::wide_type(k)
        );
    }
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn a_thousand_columns() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("wider").await;
    let n = 2_000;
    let (a, b, c) = (
        format!("{PROJECT}.{ds}.a"),
        format!("{PROJECT}.{ds}.b"),
        format!("{PROJECT}.{ds}.c"),
    );
    let (k, id) = (999, 1_500);
    emu.query(&fx::wide(&a, n, 1000, None)).await;
    emu.query(&fx::wide(&b, n, 1000, Some((k, id)))).await;
    emu.query(&fx::wide(&c, n, 1000, None)).await;
    // With a key, as wide tables usually have (the per-column fingerprints of a keyless pair
    // are covered at 300 columns: at 1,000 they cost the emulator's Python UDF minutes).
    let (code, j, err) = compare(&job_project("wider-identical"), &["--key", "id", &a, &c]);
    assert_eq!(code, 0, "{j:#}{err}");
    assert_eq!(j["comparisons"][0]["identical"], true);
    assert_eq!(
        j["comparisons"][0]["queries"]["count"], 6,
        "1,001 columns: statistics split over three queries per side"
    );
    assert_eq!(
        j["comparisons"][0]["columns"].as_array().map(Vec::len),
        Some(1001)
    );
    let (code, j, err) = compare(&job_project("wider-diff"), &["--key", "id", &a, &b]);
    assert_eq!(code, 1, "{j:#}{err}");
    assert_eq!(
        changed_by_column(&j["comparisons"][0]),
        vec![(fx::wide_column(k), 1)]
    );
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn twenty_thousand_orders_with_known_differences() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("orders").await;
    let (a, b, c) = (
        format!("{PROJECT}.{ds}.a"),
        format!("{PROJECT}.{ds}.b"),
        format!("{PROJECT}.{ds}.c"),
    );
    emu.query(&fx::orders(&a, ROWS, Side::A)).await;
    emu.query(&fx::orders(&b, ROWS, Side::B)).await;
    emu.query(&fx::orders(&c, ROWS, Side::A)).await;
    let (code, j, err) = compare(&job_project("orders-identical"), &[&a, &c]);
    assert_eq!(code, 0, "{j:#}{err}");
    assert_eq!(j["comparisons"][0]["identical"], true);

    let (code, j, err) = compare(&job_project("orders-diff"), &["--key", "id", &a, &b]);
    assert_eq!(code, 1, "{j:#}{err}");
    let r = &j["comparisons"][0]["rows"];
    assert_eq!(r["only_in_a"], fx::only_in_a(ROWS).len(), "{r:#}");
    assert_eq!(r["only_in_b"], fx::only_in_b(ROWS).len());
    assert_eq!(r["changed"], fx::changed(ROWS).len());
    assert_eq!(
        changed_by_column(&j["comparisons"][0]),
        vec![("status".to_string(), fx::changed(ROWS).len() as i64)]
    );
    let ids: Vec<i64> = r["samples"]["only_in_a"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_i64())
        .collect();
    assert_eq!(ids, fx::only_in_a(ROWS), "examples in key order");
    let first_changed = r["samples"]["changed"][0]["key"]["id"].as_i64();
    assert_eq!(first_changed, fx::changed(ROWS).first().copied());
    // With fewer examples than changes, the examples are the first keys by value (the ids
    // run from 954 to 19,049: by text, 10478 would come first).
    let (code, j, err) = compare(
        &job_project("orders-sample"),
        &["--key", "id", "--sample-size", "5", &a, &b],
    );
    assert_eq!(code, 1, "{j:#}{err}");
    let ids: Vec<i64> = j["comparisons"][0]["rows"]["samples"]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["key"]["id"].as_i64())
        .collect();
    let mut expected = fx::changed(ROWS);
    expected.sort();
    expected.truncate(5);
    assert_eq!(ids, expected);
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn a_partitioned_clustered_table() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("parts").await;
    let (a, b, c) = (
        format!("{PROJECT}.{ds}.a"),
        format!("{PROJECT}.{ds}.b"),
        format!("{PROJECT}.{ds}.c"),
    );
    emu.query(&fx::partitioned(&a, ROWS, false)).await;
    emu.query(&fx::partitioned(&b, ROWS, true)).await;
    emu.query(&fx::partitioned(&c, ROWS, false)).await;
    let (code, j, err) = compare(&job_project("parts-identical"), &[&a, &c]);
    assert_eq!(code, 0, "{j:#}{err}");
    assert_eq!(j["comparisons"][0]["identical"], true);
    let (code, j, err) = compare(&job_project("parts-diff"), &["--key", "id", &a, &b]);
    assert_eq!(code, 1, "{j:#}{err}");
    let r = &j["comparisons"][0]["rows"];
    assert_eq!(r["changed"], fx::partition_changes(ROWS).len(), "{r:#}");
    assert_eq!(r["only_in_a"], 0);
    let (code, j, err) = profile(&job_project("parts-profile"), &[&a]);
    assert!(code == 0 || code == 1, "{j:#}{err}");
    assert_eq!(j["profiles"][0]["profile"]["row_count"], ROWS);

    // Issue 16.5: --partitions reads only those days, by a predicate on the partition column.
    let day = fx::PARTITION_CHANGED_DAY;
    let before = "2024-01-01..2024-02-14";
    let (code, j, err) = compare(
        &job_project("parts-before"),
        &["--key", "id", "--partitions", before, &a, &b],
    );
    assert_eq!(code, 0, "the changed day is not read\n{j:#}{err}");
    let c = &j["comparisons"][0];
    let day_ids = |d| fx::orders_day_ids(ROWS, d).len() as i64;
    let rows_before: i64 = (0..45).map(day_ids).sum();
    assert_eq!(
        c["row_count"],
        json!({"a": rows_before, "b": rows_before}),
        "the rows of those days"
    );
    assert!(
        c["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap_or("")
            .contains("t.`created` >= TIMESTAMP '2024-01-01 00:00:00+00' AND t.`created` < TIMESTAMP '2024-02-15 00:00:00+00'")),
        "{c:#}"
    );
    let (code, j, err) = compare(
        &job_project("parts-day"),
        &[
            "--key",
            "id",
            "--partitions",
            &format!("{day}..{day}"),
            &a,
            &b,
        ],
    );
    assert_eq!(code, 1, "{j:#}{err}");
    let r = &j["comparisons"][0]["rows"];
    assert_eq!(r["changed"], fx::partition_changes(ROWS).len(), "{r:#}");
    assert_eq!((&r["only_in_a"], &r["only_in_b"]), (&json!(0), &json!(0)));
    let (code, j, err) = profile(
        &job_project("parts-profile-days"),
        &["--partitions", before, &a],
    );
    assert!(code == 0 || code == 1, "{j:#}{err}");
    assert_eq!(j["profiles"][0]["profile"]["row_count"], rows_before);
    // A table not partitioned by time is refused, saying why.
    let plain = format!("{PROJECT}.{ds}.plain");
    emu.query(&format!("CREATE TABLE `{plain}` AS SELECT 1 AS id"))
        .await;
    let (code, j, err) = compare(
        &job_project("parts-plain"),
        &["--partitions", "since:7d", &a, &plain],
    );
    assert_eq!(code, 2, "{j:#}{err}");
    let e = j["errors"][0]["error"].as_str().unwrap_or("");
    assert!(
        e.contains("--partitions since:7d: B (") && e.contains("it is not partitioned by time"),
        "{e}"
    );
}

/// Issue 16.3: tables partitioned alike are compared partition by partition in the same one
/// scan per side, and the row diff reads only the partitions that differ. On every type, with
/// NULL and out-of-range partition values, and `require_partition_filter`.
#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn partitions_that_differ_are_found_listed_and_alone_row_diffed() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("every_parts").await;
    let (a, b, c) = (
        format!("{PROJECT}.{ds}.a"),
        format!("{PROJECT}.{ds}.b"),
        format!("{PROJECT}.{ds}.c"),
    );
    // Two rows in two months; neither has `s` NULL (multiples of 23) nor is special.
    let changed = [1000, 15000];
    emu.query(&fx::every_type_partitioned(&a, ROWS, &[])).await;
    emu.query(&fx::every_type_partitioned(&b, ROWS, &changed))
        .await;
    emu.query(&fx::every_type_partitioned(&c, ROWS, &[])).await;
    // Months of d = 2000-01-01 + i days for the ordinary rows, plus __NULL__ and
    // __UNPARTITIONED__ (rows 2 and 3).
    let mut months: Vec<String> = (4..=ROWS)
        .filter(|i| !fx::every_type_is_null("d", *i))
        .map(fx::every_type_month)
        .collect();
    months.push(fx::every_type_month(1));
    months.sort();
    months.dedup();
    let total = months.len() + 2;

    // An identical copy: identical in one scan per side, every partition equal.
    let jobs = &job_project("every-parts-identical");
    let (code, j, err) = compare(jobs, &[&a, &c]);
    assert_eq!(code, 0, "{j:#}{err}");
    let r = &j["comparisons"][0];
    assert_eq!(r["identical"], true, "{r:#}");
    assert_eq!(r["partitions"]["total"], total, "{:#}", r["partitions"]);
    assert_eq!(r["partitions"]["differing_count"], 0);
    assert_eq!(r["partitions"]["column"], "d (DATE) by MONTH");
    // 2 scans, and each side's partition metadata query for the per-partition cache, which
    // fails on the emulator (its INFORMATION_SCHEMA.PARTITIONS has no last_modified_time;
    // tests/it/partitions.rs covers the cache through a proxy that has it).
    assert_eq!(emu.jobs(jobs).await, 2 + 2);
    assert!(
        r["notes"]
            .to_string()
            .contains("no per-partition cache: the partition metadata of"),
        "{r:#}"
    );
    // The statistics merged over partitions are the same as a whole-table scan's.
    let facts = fx::every_type_facts(ROWS);
    assert_eq!(column(r, "f64")["a"]["nan_count"], facts.f64_nan);
    assert_eq!(
        column(r, "i64")["a"]["non_null"],
        ROWS - ROWS / fx::null_every("i64")
    );

    // Two changed rows: their two partitions differ and are listed, and the row diff (the
    // third query) reads only them.
    let jobs = &job_project("every-parts-diff");
    let (code, j, err) = compare(jobs, &["--key", "id", &a, &b]);
    assert_eq!(code, 1, "{j:#}{err}");
    let r = &j["comparisons"][0];
    let p = &r["partitions"];
    let want: Vec<String> = changed.iter().map(|i| fx::every_type_month(*i)).collect();
    let got: Vec<&str> = p["differing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(got, want, "{p:#}");
    assert_eq!(p["differing_count"], 2);
    assert_eq!(p["total"], total);
    assert_eq!(p["row_diff_pruned"], true);
    assert_eq!(r["rows"]["changed"], 2, "{r:#}");
    assert_eq!(changed_by_column(r), [("s".to_string(), 2)]);
    assert_eq!(
        emu.jobs(jobs).await,
        2 + 3,
        "2 metadata queries, 2 scans, 1 row diff"
    );
    // The text report says how many partitions differ, and which.
    let out = support::emulator_bin("bq-table-compare")
        .env("XDG_CACHE_HOME", support::fresh_cache_home())
        .args([
            "--project",
            &job_project("every-parts-text"),
            "--key",
            "id",
            &a,
            &b,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("2 of {total} partitions differ")),
        "{text}"
    );
    assert!(
        text.contains(&format!("    {}  ", want[0]))
            && text.contains(&format!("    {}  ", want[1])),
        "{text}"
    );
    // The table requires a partition filter: every query has one that admits all rows, and
    // the row diff's admits only the two months.
    let (code, j, err) = compare(
        &job_project("every-parts-dry"),
        &["--key", "id", "--dry-run", &a, &b],
    );
    assert_eq!(code, 0, "{j:#}{err}");
    let planned = j["comparisons"][0]["dry_run"].as_array().unwrap();
    let steps: Vec<&str> = planned.iter().filter_map(|q| q["step"].as_str()).collect();
    assert_eq!(
        steps.len(),
        5,
        "2 metadata queries, 2 scans, the row diff: {steps:?}"
    );
    for q in planned.iter().filter(|q| {
        !q["step"]
            .as_str()
            .unwrap_or("")
            .starts_with("partition metadata")
    }) {
        let sql = q["sql"].as_str().unwrap_or("");
        assert!(
            sql.contains("(t.`d` IS NULL OR t.`d` >= DATE '0001-01-01')"),
            "{sql}"
        );
    }
}

/// Issue 14.2: table data holding workflow commands and terminal escapes is printed escaped
/// in the text reports of table-compare (example rows, changed values) and profile (min/max).
#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn control_characters_in_table_data_are_printed_escaped() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("ctl").await;
    let (a, b) = (format!("{PROJECT}.{ds}.a"), format!("{PROJECT}.{ds}.b"));
    let evil = "CONCAT('ok', CHR(10), '::add-mask::INT64', CHR(27), '[2J')";
    emu.query(&format!(
        "CREATE TABLE `{a}` AS SELECT i AS id, IF(i = 3, {evil}, CONCAT('v', CAST(i AS STRING))) AS s \
         FROM UNNEST(GENERATE_ARRAY(1, 50)) AS i"
    ))
    .await;
    emu.query(&format!(
        "CREATE TABLE `{b}` AS SELECT id, IF(id IN (3, 4), CONCAT(s, CHR(10), '::warning::planted'), s) AS s \
         FROM `{a}` WHERE id != 5 UNION ALL SELECT 51, {evil}"
    ))
    .await;
    let run = |bin: &str, args: &[&str]| {
        let out = support::emulator_bin(bin)
            .args(["--project", &job_project("ctl"), "--no-cache"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let compare = run("bq-table-compare", &["--key", "id", &a, &b]);
    let profile = run("bq-profile", &[&a]);
    for (what, out) in [("table-compare", &compare), ("profile", &profile)] {
        assert!(!out.contains('\u{1b}'), "{what}: raw ESC\n{out}");
        for l in out.lines() {
            assert!(
                !l.trim_start().starts_with("::"),
                "{what}: a line of data starts a workflow command: {l}\n{out}"
            );
        }
    }
    assert!(
        compare.contains("ok\\n::add-mask::INT64\\u{1b}[2J"),
        "{compare}"
    );
    assert!(compare.contains("\\n::warning::planted"), "{compare}");
    assert!(
        profile.contains("::add-mask::"),
        "the value is shown, escaped\n{profile}"
    );
}
