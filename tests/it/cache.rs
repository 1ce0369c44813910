//! The on-disk result cache. Against the emulator: an unchanged table is not scanned again
//! (counted in the emulator's jobs.list), a rebuilt table is, corrupt entries are ignored and
//! rewritten, `--no-cache` and a different `--where` run the queries. Against a fake BigQuery
//! (wiremock), what the emulator cannot show: `lastModifiedTime` moving after an insert, and a
//! streaming buffer.

use std::path::Path;
use std::process::Output;

use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::bigquery::{scan_done, select_jobs};
use crate::support::{self, job_project, Emu, FakeBigQuery};

const PROJECT: &str = "bqcheck-cache";

fn schema() -> Value {
    json!([{"name": "id", "type": "INTEGER"}, {"name": "name", "type": "STRING"}])
}

fn rows(ids: &[i64]) -> Vec<Value> {
    ids.iter()
        .map(|i| json!({"id": i, "name": format!("n{i}")}))
        .collect()
}

/// Run a utility with a given cache directory; jobs run in `jobs`.
fn run(bin: &str, cache: &Path, jobs: &str, args: &[&str]) -> (i32, Value, String) {
    let out = support::emulator_bin(bin)
        .arg("--cache-dir")
        .arg(cache)
        .args(["--project", jobs, "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    parse(out)
}

fn parse(out: Output) -> (i32, Value, String) {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap_or(-1), v, stderr)
}

fn notes(c: &Value) -> Vec<String> {
    c["notes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn an_unchanged_table_is_not_scanned_again() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("hit").await;
    let a = emu
        .table(&ds, "a", schema(), json!({}), rows(&[1, 2, 3]))
        .await;
    let b = emu
        .table(&ds, "b", schema(), json!({}), rows(&[3, 2, 1]))
        .await;
    let c = emu
        .table(&ds, "c", schema(), json!({}), rows(&[1, 2, 4]))
        .await;
    let cache = tempfile::tempdir().unwrap();
    let jobs = &job_project("cache-hit");

    // Identical pair: two scans, then none. (Keyed, as below, so a's scan is the same query
    // there: a pair without a key also fingerprints each column.)
    let keyed = ["--key", "id", a.as_str(), b.as_str()];
    let (code, first, err) = run("bq-table-compare", cache.path(), jobs, &keyed);
    assert_eq!(code, 0, "{err}");
    assert_eq!(emu.jobs(jobs).await, 2);
    let (code, second, err) = run("bq-table-compare", cache.path(), jobs, &keyed);
    assert_eq!(code, 0, "{err}");
    assert_eq!(emu.jobs(jobs).await, 2, "no job ran the second time");
    let c2 = &second["comparisons"][0];
    assert_eq!(
        c2["queries"],
        json!({"count": 0, "bytes_processed": 0, "bytes_billed": 0, "slot_ms": 0, "cached": 2,
               "cost_usd": 0.0}),
        "served from the cache: no job, nothing billed"
    );
    let n = notes(c2);
    assert!(
        n.iter()
            .any(|n| n.starts_with("scan A: cached, table unchanged since 20")),
        "{n:?}"
    );
    assert!(n.iter().any(|n| n.starts_with("scan B: cached")), "{n:?}");
    // The verdict and the statistics are the same as when they were computed.
    assert_eq!(c2["identical"], true);
    assert_eq!(c2["columns"], first["comparisons"][0]["columns"]);

    // A pair that differs: the row diff is cached too.
    let (code, first, _) = run(
        "bq-table-compare",
        cache.path(),
        jobs,
        &["--key", "id", &a, &c],
    );
    assert_eq!(code, 1);
    assert_eq!(emu.jobs(jobs).await, 2 + 2, "a's scan came from the cache");
    let (code, second, _) = run(
        "bq-table-compare",
        cache.path(),
        jobs,
        &["--key", "id", &a, &c],
    );
    assert_eq!(code, 1);
    assert_eq!(emu.jobs(jobs).await, 4, "nothing ran the second time");
    assert_eq!(
        second["comparisons"][0]["rows"],
        first["comparisons"][0]["rows"]
    );
    assert_eq!(second["comparisons"][0]["queries"]["cached"], 3);

    // Another --where is another query: never served a result of a different filter.
    let (code, _, _) = run(
        "bq-table-compare",
        cache.path(),
        jobs,
        &["--where", "id > 1", &a, &b],
    );
    assert_eq!(code, 0);
    assert_eq!(emu.jobs(jobs).await, 6);
    // Nor another --columns.
    run(
        "bq-table-compare",
        cache.path(),
        jobs,
        &["--columns", "id", &a, &b],
    );
    assert_eq!(emu.jobs(jobs).await, 8);
    // --no-cache runs everything, with the cache warm.
    let (code, j, _) = run(
        "bq-table-compare",
        cache.path(),
        jobs,
        &["--no-cache", &a, &b],
    );
    assert_eq!(code, 0);
    assert_eq!(emu.jobs(jobs).await, 10);
    assert_eq!(j["comparisons"][0]["queries"]["cached"], 0);

    // profile: one query, then none.
    let pj = &job_project("cache-hit-profile");
    let (code, first, err) = run("bq-profile", cache.path(), pj, &[&a]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(emu.jobs(pj).await, 1);
    let (code, second, _) = run("bq-profile", cache.path(), pj, &[&a]);
    assert_eq!(code, 0);
    assert_eq!(emu.jobs(pj).await, 1, "no job ran the second time");
    let p = &second["profiles"][0]["profile"];
    assert!(
        notes(p)
            .iter()
            .any(|n| n.starts_with("profile: cached, table unchanged since")),
        "{p:#}"
    );
    assert_eq!(p["columns"], first["profiles"][0]["profile"]["columns"]);
    // A filter that calls a clock function is never cached: "now" moves.
    let recent = [
        "--where",
        "id <= EXTRACT(YEAR FROM CURRENT_DATE())",
        a.as_str(),
    ];
    run("bq-profile", cache.path(), pj, &recent);
    let (_, j, _) = run("bq-profile", cache.path(), pj, &recent);
    assert_eq!(emu.jobs(pj).await, 3);
    assert!(
        notes(&j["profiles"][0]["profile"])
            .iter()
            .any(|n| n.contains("not cached: the filter calls a clock")),
        "{j:#}"
    );
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn a_filter_that_reads_another_table_is_never_cached() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("sub").await;
    let a = emu
        .table(&ds, "a", schema(), json!({}), rows(&[1, 2]))
        .await;
    let b = emu
        .table(&ds, "b", schema(), json!({}), rows(&[1, 3]))
        .await;
    let allow = emu
        .table(&ds, "allow", schema(), json!({}), rows(&[1]))
        .await;
    let cache = tempfile::tempdir().unwrap();
    let jobs = &job_project("cache-sub");
    // The allow list can change without a or b changing: both runs scan.
    let filter = format!("id IN (SELECT id FROM `{allow}`)");
    for _ in 0..2 {
        let (code, j, err) = run(
            "bq-table-compare",
            cache.path(),
            jobs,
            &["--where", &filter, &a, &b],
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(j["comparisons"][0]["queries"]["cached"], 0);
        assert!(
            notes(&j["comparisons"][0])
                .iter()
                .any(|n| n.contains("not cached: the filter reads other tables")),
            "{j:#}"
        );
    }
    assert_eq!(emu.jobs(jobs).await, 4);
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn a_rebuilt_table_is_scanned_again() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("rebuilt").await;
    let a = emu
        .table(&ds, "a", schema(), json!({}), rows(&[1, 2]))
        .await;
    let b = emu
        .table(&ds, "b", schema(), json!({}), rows(&[1, 2]))
        .await;
    let cache = tempfile::tempdir().unwrap();
    let jobs = &job_project("cache-rebuilt");
    let (code, _, _) = run("bq-table-compare", cache.path(), jobs, &[&a, &b]);
    assert_eq!(code, 0);
    assert_eq!(emu.jobs(jobs).await, 2);
    // CREATE OR REPLACE, as a rebuild does: a new lastModifiedTime. (The emulator does not
    // move lastModifiedTime on DML, as BigQuery does; the fake-server test below covers that.)
    emu.delete_table(&ds, "b").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    emu.table(&ds, "b", schema(), json!({}), rows(&[1, 2, 3]))
        .await;
    let (code, j, err) = run("bq-table-compare", cache.path(), jobs, &[&a, &b]);
    assert_eq!(code, 1, "{err}");
    let c = &j["comparisons"][0];
    assert_eq!(c["row_count"], json!({"a": 2, "b": 3}), "{c:#}");
    // a is unchanged (cached); b and the row diff ran.
    assert_eq!(c["queries"]["cached"], 1, "{c:#}");
    assert_eq!(emu.jobs(jobs).await, 2 + 2);
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn corrupt_or_unwritable_caches_are_never_fatal() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("corrupt").await;
    let a = emu
        .table(&ds, "a", schema(), json!({}), rows(&[1, 2]))
        .await;
    let b = emu
        .table(&ds, "b", schema(), json!({}), rows(&[1, 2]))
        .await;
    let cache = tempfile::tempdir().unwrap();
    let jobs = &job_project("cache-corrupt");
    run("bq-table-compare", cache.path(), jobs, &[&a, &b]);
    assert_eq!(emu.jobs(jobs).await, 2);
    // Damage every entry: garbage in one, a truncated document in the others.
    let mut entries = Vec::new();
    let mut dirs = vec![cache.path().to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                entries.push(p);
            }
        }
    }
    assert_eq!(entries.len(), 2, "one entry per scan: {entries:?}");
    std::fs::write(&entries[0], b"\xff\xfe not json").unwrap();
    let text = std::fs::read_to_string(&entries[1]).unwrap();
    std::fs::write(&entries[1], &text[..text.len() / 2]).unwrap();
    let (code, j, err) = run("bq-table-compare", cache.path(), jobs, &[&a, &b]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(j["comparisons"][0]["identical"], true);
    assert!(
        !err.contains("cache"),
        "corrupt entries are silently misses: {err}"
    );
    assert_eq!(emu.jobs(jobs).await, 4, "both scans ran again");
    // ... and were rewritten.
    run("bq-table-compare", cache.path(), jobs, &[&a, &b]);
    assert_eq!(emu.jobs(jobs).await, 4);

    // A cache directory that cannot be created: one warning, the results, exit 0.
    let file = cache.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let (code, j, err) = run("bq-table-compare", &file.join("sub"), jobs, &[&a, &b]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(j["comparisons"][0]["identical"], true);
    assert_eq!(
        err.matches("warning: results are not cached").count(),
        1,
        "{err}"
    );
}

// --- What the emulator cannot show: BigQuery's lastModifiedTime and streaming buffers. ---

/// A fake BigQuery: every table has `meta`; every scan answers the same.
async fn fake(meta: Value) -> FakeBigQuery {
    let server = FakeBigQuery::bare().await;
    mount(&server, meta).await;
    server
}

async fn mount(server: &MockServer, meta: Value) {
    select_jobs(server).await;
    Mock::given(method("GET"))
        .and(path_regex(r"/datasets/[^/]+/tables/[^/]+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(meta))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/bigquery/v2/projects/billing/queries"))
        .respond_with(ResponseTemplate::new(200).set_body_json(scan_done(Some("j"), "42")))
        .mount(server)
        .await;
}

fn meta(last_modified: &str, extra: Value) -> Value {
    let mut m = json!({"kind": "bigquery#table", "type": "TABLE", "location": "US",
        "numRows": "3", "lastModifiedTime": last_modified,
        "schema": {"fields": [{"name": "id", "type": "INTEGER"}]}});
    if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    m
}

fn compare_on(server: &MockServer, cache: &Path) -> (i32, Value, String) {
    let out = support::bin("bq-table-compare")
        .args(["--api-url", &server.uri(), "--project", "billing"])
        .args(["--format", "json", "--skip-stats"])
        .arg("--cache-dir")
        .arg(cache)
        .args(["acme.dev.t", "acme.prod.t"])
        .output()
        .unwrap();
    parse(out)
}

#[tokio::test]
async fn a_table_modified_after_the_cached_run_is_scanned_again() {
    let cache = tempfile::tempdir().unwrap();
    let server = fake(meta("1764000000000", json!({}))).await;
    let (code, _, err) = compare_on(&server, cache.path());
    assert_eq!(code, 0, "{err}");
    assert_eq!(server.query_count().await, 2);
    let (_, j, _) = compare_on(&server, cache.path());
    assert_eq!(
        server.query_count().await,
        2,
        "unchanged: served from the cache"
    );
    assert_eq!(j["comparisons"][0]["queries"]["cached"], 2);
    // An INSERT moves lastModifiedTime: both tables now read as modified. Same endpoint (it
    // is part of the key), new table versions.
    server.reset().await;
    mount(&server, meta("1764000999000", json!({}))).await;
    let (code, j, _) = compare_on(&server, cache.path());
    assert_eq!(code, 0);
    assert_eq!(server.query_count().await, 2, "modified: scanned again");
    assert_eq!(j["comparisons"][0]["queries"]["cached"], 0);
}

#[tokio::test]
async fn a_table_with_a_streaming_buffer_is_never_served_from_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let buffer =
        json!({"streamingBuffer": {"estimatedRows": "5", "oldestEntryTime": "1764000000000"}});
    let server = fake(meta("1764000000000", buffer)).await;
    compare_on(&server, cache.path());
    let (code, j, err) = compare_on(&server, cache.path());
    assert_eq!(code, 0, "{err}");
    assert_eq!(server.query_count().await, 4, "scanned both times");
    let n = notes(&j["comparisons"][0]);
    assert!(
        n.iter()
            .any(|n| n == "scan A: not cached: acme.dev.t has a streaming buffer"),
        "{n:?}"
    );
}
