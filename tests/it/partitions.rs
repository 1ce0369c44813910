//! Issue 16: partition-aware table-compare and the per-partition cache, billed as BigQuery
//! bills: through `support::BillingProxy`, a proxy in front of the emulator that bills the
//! partitions each query's filter admits, enforces `require_partition_filter`, and serves
//! INFORMATION_SCHEMA.PARTITIONS with `last_modified_time`. Tables: [`fx::daily`], 1,096
//! daily partitions of 20 rows.

use serde_json::Value;

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
    let fake = BillingProxy::start();
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
