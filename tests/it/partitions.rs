//! Issue 16: partition-aware table-compare and the per-partition cache, billed as BigQuery
//! bills: through `support::BillingProxy`, a proxy in front of the emulator that bills the
//! partitions each query's filter admits, enforces `require_partition_filter`, and serves
//! INFORMATION_SCHEMA.PARTITIONS with `last_modified_time`. Tables: [`fx::daily`], 1,096
//! daily partitions of 20 rows.

use serde_json::{json, Value};

use crate::support::realistic as fx;
use crate::support::{self, job_project, BillingProxy, Emu};

const PROJECT: &str = "bqcheck-parts";

/// The partitions each logged query read of `table` (None: the query did not read it).
fn read_of<'a>(entry: &'a Value, table: &str) -> Option<Vec<&'a str>> {
    entry["tables"][table]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
}

/// The logged jobs (not dry runs) that read exactly `tables`.
fn jobs_reading<'a>(log: &'a [Value], tables: &[&str]) -> Vec<&'a Value> {
    log.iter()
        .filter(|e| e["dry_run"] == false)
        .filter(|e| {
            let read = e["tables"].as_object().map(|m| m.len()).unwrap_or(0);
            read == tables.len() && tables.iter().all(|t| e["tables"].get(*t).is_some())
        })
        .collect()
}

fn metadata_jobs(log: &[Value]) -> usize {
    log.iter()
        .filter(|e| {
            e["dry_run"] == false
                && e["sql"]
                    .as_str()
                    .is_some_and(|s| s.contains("INFORMATION_SCHEMA.PARTITIONS"))
        })
        .count()
}

fn bytes(entries: &[&Value]) -> u64 {
    entries
        .iter()
        .map(|e| e["bytes_processed"].as_u64().unwrap_or(0))
        .sum()
}

fn differing(j: &Value) -> Vec<String> {
    j["comparisons"][0]["partitions"]["differing"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|p| p["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn only_changed_partitions_are_read_and_billed() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("daily").await;
    let (a, b) = (format!("{PROJECT}.{ds}.a"), format!("{PROJECT}.{ds}.b"));
    // Two rows in two partitions differ.
    let first = [2001, 18001];
    emu.query(&fx::daily(&a, &[])).await;
    emu.query(&fx::daily(&b, &first)).await;
    let fake = BillingProxy::start(&support::emulator_host());
    let cache = support::fresh_cache_home();

    // Run 1: one full scan per side (both tables require a partition filter: the scans have
    // one that admits every row), then a row diff of only the 2 partitions that differ.
    let (code, j, err) = fake.run_json(
        "bq-table-compare",
        &job_project("daily-1"),
        &cache,
        &["--key", "id", &a, &b],
    );
    assert_eq!(code, 1, "{j:#}{err}");
    let want: Vec<String> = first.iter().map(|i| fx::daily_partition(*i)).collect();
    assert_eq!(differing(&j), want);
    let c = &j["comparisons"][0];
    assert_eq!(c["partitions"]["total"], fx::DAILY_DAYS, "{c:#}");
    assert_eq!(c["rows"]["changed"], 2);
    let log = fake.take_log();
    let (scan_a, scan_b) = (jobs_reading(&log, &[&a]), jobs_reading(&log, &[&b]));
    assert_eq!((scan_a.len(), scan_b.len()), (1, 1), "{log:#?}");
    for (scan, t) in [(&scan_a, &a), (&scan_b, &b)] {
        assert_eq!(
            read_of(scan[0], t).map(|r| r.len()),
            Some(fx::DAILY_DAYS as usize),
            "a full scan"
        );
    }
    let diff = jobs_reading(&log, &[&a, &b]);
    assert_eq!(diff.len(), 1, "{log:#?}");
    for t in [&a, &b] {
        assert_eq!(
            read_of(diff[0], t),
            Some(want.iter().map(String::as_str).collect())
        );
    }
    assert_eq!(metadata_jobs(&log), 2);
    // Bytes: a full scan per side, plus the 2 differing partitions of each side (today's
    // whole-table row diff would read both tables again).
    let full = bytes(&scan_a) + bytes(&scan_b);
    let partition = full / (2 * fx::DAILY_DAYS as u64);
    assert!(
        bytes(&diff) <= 2 * 2 * partition + 2,
        "row diff {} > 4 partitions of {partition}",
        bytes(&diff)
    );
    let all: Vec<&Value> = log.iter().filter(|e| e["dry_run"] == false).collect();
    assert_eq!(
        all.len(),
        5,
        "2 metadata queries, 2 scans, 1 row diff: {log:#?}"
    );
    assert_eq!(
        c["queries"]["bytes_processed"].as_u64(),
        Some(bytes(&all)),
        "the report's cost is what BigQuery billed"
    );

    // One more partition of B changes (the fake moves only its last_modified_time). Run 2:
    // the metadata, then a scan of only that partition per side; 3 partitions differ.
    let second = [2001, 18001, 10001];
    emu.query(&fx::daily(&b, &second)).await;
    let (code, j, err) = fake.run_json(
        "bq-table-compare",
        &job_project("daily-2"),
        &cache,
        &["--key", "id", &a, &b],
    );
    assert_eq!(code, 1, "{j:#}{err}");
    let mut want: Vec<String> = second.iter().map(|i| fx::daily_partition(*i)).collect();
    want.sort();
    assert_eq!(differing(&j), want);
    let c = &j["comparisons"][0];
    assert_eq!(c["rows"]["changed"], 3, "{c:#}");
    assert_eq!(c["row_count"]["a"], fx::DAILY_DAYS * fx::DAILY_ROWS_PER_DAY);
    let log = fake.take_log();
    let new = fx::daily_partition(10001);
    for t in [&a, &b] {
        let scans = jobs_reading(&log, &[t]);
        assert_eq!(scans.len(), 1, "{log:#?}");
        assert_eq!(
            read_of(scans[0], t),
            Some(vec![new.as_str()]),
            "one partition"
        );
    }
    assert_eq!(metadata_jobs(&log), 2);
    assert!(
        c["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap_or("")
            .starts_with(&format!("per-partition cache: 1 of 1,096 partitions read (new or modified since the last run: {new})"))),
        "{c:#}"
    );

    // --partitions changed: nothing was modified since run 2, so only the metadata is read.
    let (code, j, err) = fake.run_json(
        "bq-table-compare",
        &job_project("daily-3"),
        &cache,
        &["--key", "id", "--partitions", "changed", &a, &b],
    );
    assert_eq!(code, 0, "{j:#}{err}");
    let p = &j["comparisons"][0]["partitions"];
    assert_eq!(
        (&p["changed_only"], &p["total"]),
        (&json!(true), &json!(0)),
        "{p:#}"
    );
    let log = fake.take_log();
    assert_eq!(metadata_jobs(&log), 2);
    assert_eq!(
        log.iter().filter(|e| e["dry_run"] == false).count(),
        2,
        "{log:#?}"
    );
    // Without a cache it cannot know what changed: an error that says so.
    let (code, j, err) = fake.run_json(
        "bq-table-compare",
        &job_project("daily-4"),
        &cache,
        &[
            "--key",
            "id",
            "--no-cache",
            "--partitions",
            "changed",
            &a,
            &b,
        ],
    );
    assert_eq!(code, 2, "{j:#}{err}");
    let e = j["errors"][0]["error"].as_str().unwrap_or("");
    assert!(
        e.contains("--partitions changed needs the per-partition cache"),
        "{e}"
    );
}

/// Issue 16.4 for profile: the next run reads only the modified partitions, and the
/// statistics that merge (counts, NULLs, min/max, means, lengths) come out as a full scan's;
/// the others are left out and named.
#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn a_profile_reads_only_modified_partitions_and_merges_the_rest() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("daily_profile").await;
    let a = format!("{PROJECT}.{ds}.a");
    emu.query(&fx::daily(&a, &[])).await;
    let fake = BillingProxy::start(&support::emulator_host());
    let cache = support::fresh_cache_home();
    let profile = |name: &str, extra: &[&str]| {
        let mut args = extra.to_vec();
        args.push(&a);
        fake.run_json("bq-profile", &job_project(name), &cache, &args)
    };
    // Run 1: the metadata and one grouped scan with every statistic.
    let (code, j, err) = profile("daily-profile-1", &[]);
    assert!(code <= 1, "{j:#}{err}");
    let p = &j["profiles"][0]["profile"];
    assert_eq!(p["row_count"], fx::DAILY_DAYS * fx::DAILY_ROWS_PER_DAY);
    let log = fake.take_log();
    let scans = jobs_reading(&log, &[&a]);
    assert_eq!(scans.len(), 1, "{log:#?}");
    assert_eq!(
        read_of(scans[0], &a).map(|r| r.len()),
        Some(fx::DAILY_DAYS as usize)
    );
    assert_eq!(metadata_jobs(&log), 1);
    let column = |p: &Value, name: &str| -> Value {
        p["columns"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no column {name} in {p:#}"))
    };
    assert!(
        column(p, "customer")["distinct"].is_number(),
        "a full scan has every statistic"
    );

    // One partition changes: run 2 reads only it.
    emu.query(&fx::daily(&a, &[10001])).await;
    let (code, j, err) = profile("daily-profile-2", &[]);
    assert!(code <= 1, "{j:#}{err}");
    let merged = j["profiles"][0]["profile"].clone();
    let log = fake.take_log();
    let scans = jobs_reading(&log, &[&a]);
    assert_eq!(scans.len(), 1, "{log:#?}");
    let day = fx::daily_partition(10001);
    assert_eq!(
        read_of(scans[0], &a),
        Some(vec![day.as_str()]),
        "one partition"
    );
    let notes = merged["notes"].to_string();
    assert!(
        notes.contains("per-partition record: 1 of 1,096 partitions read"),
        "{notes}"
    );
    assert!(
        notes.contains("distinct counts, top values, quantiles"),
        "{notes}"
    );
    // The merged statistics are a full scan's.
    let (code, j, err) = profile("daily-profile-full", &["--no-cache"]);
    assert!(code <= 1, "{j:#}{err}");
    let full = &j["profiles"][0]["profile"];
    fake.take_log();
    assert_eq!(merged["row_count"], full["row_count"]);
    for name in [
        "id", "d", "customer", "amount", "score", "at", "flag", "status",
    ] {
        let (m, f) = (column(&merged, name), column(full, name));
        for stat in [
            "nulls",
            "min",
            "max",
            "nan_count",
            "zeros",
            "negatives",
            "min_length",
            "max_length",
            "empty_strings",
            "true_count",
            "false_count",
            "before_1970",
        ] {
            assert_eq!(m[stat], f[stat], "{name}.{stat}: merged {m:#} full {f:#}");
        }
        for stat in ["mean", "avg_length"] {
            match (m[stat].as_f64(), f[stat].as_f64()) {
                (Some(x), Some(y)) => assert!(
                    (x - y).abs() <= 1e-9 * y.abs().max(1.0),
                    "{name}.{stat}: {x} vs {y}"
                ),
                (x, y) => assert_eq!(x, y, "{name}.{stat}"),
            }
        }
        assert!(m["distinct"].is_null(), "{name}: needs a full scan: {m:#}");
    }
    assert_eq!(column(&merged, "status")["max"], "shipped");
    assert_eq!(
        column(&merged, "status")["min"],
        "cancelled",
        "the modified partition's value"
    );

    // --partitions changed: nothing modified since run 2, so only the metadata is read.
    let (code, j, err) = profile("daily-profile-3", &["--partitions", "changed"]);
    assert!(code <= 1, "{j:#}{err}");
    let log = fake.take_log();
    assert_eq!(
        log.iter().filter(|e| e["dry_run"] == false).count(),
        1,
        "{log:#?}"
    );
    assert!(j["profiles"][0]["profile"]["notes"]
        .to_string()
        .contains("no partition was modified since the last run"));
}
