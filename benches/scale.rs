//! The scale benchmark: bqcheck on realistic tables in the local BigQuery emulator, against
//! the floor (one plain scan per side) and against the peer tools a user would pick instead.
//!
//!   cargo bench --bench scale                  # 10k and 100k rows, 300 columns, peers (~5 min)
//!   cargo bench --bench scale -- --full        # also 1,000,000 rows
//!   cargo bench --bench scale -- --no-peers    # bqcheck and the floor only
//!   cargo bench --bench scale -- --only wide   # one section: scale, wide, cost, metadata or peers
//!   cargo bench --bench scale -- --json out.json
//!
//! It starts a fresh emulator of its own (`scripts/emulator`, port $BQCHECK_BENCH_PORT,
//! default 9150: an emulator slows down as it accumulates projects, so figures come from a
//! clean one) and stops it at the end. Tables are built inside it from
//! `tests/it/support/realistic.rs` (the fixtures the tests use). For each run it measures wall
//! time, the jobs BigQuery ran (the emulator's jobs.list for a job project of the run's own),
//! how many of them read each side, and the client's peak RSS (wait4). The floor is one plain
//! scan per side, both at once, computing COUNT(*) and the same row fingerprint bqcheck uses.
//! The cost section (issue 16) runs bqcheck through `tests/it/support/fake_bigquery.py`, a
//! proxy that bills each query by the partitions its filter admits, on a 1,096-partition
//! pair: first run, a run after one partition changed, `--partitions changed`, and a
//! whole-table diff of the same data unpartitioned.
//! The metadata section (issue 17) runs bq-schema-diff over dataset pairs of 10 to 200
//! tables, reading schemas by tables.get and by one INFORMATION_SCHEMA query per dataset,
//! with the requests counted at the same proxy.
//! Peers (reladiff joindiff and hashdiff, data-diff joindiff) run through
//! `benches/peers/peers.py` (set up by `benches/peers/setup`, from PyPI).

#[path = "../tests/it/support/billing.rs"]
mod billing;
#[path = "../tests/it/support/realistic.rs"]
mod realistic;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use realistic::{Diff, Side};
use serde_json::{json, Value};

const PROJECT: &str = "scale";

struct Options {
    full: bool,
    peers: bool,
    /// `--only scale|wide|cost|metadata|peers`: one section.
    only: Option<String>,
    json: Option<PathBuf>,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    Options {
        full: args.iter().any(|a| a == "--full"),
        peers: !args.iter().any(|a| a == "--no-peers"),
        only: args
            .iter()
            .position(|a| a == "--only")
            .and_then(|i| args.get(i + 1))
            .cloned(),
        json: args
            .iter()
            .position(|a| a == "--json")
            .and_then(|i| args.get(i + 1))
            .map(PathBuf::from),
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The emulator this benchmark starts, and a small REST client for it.
struct Emulator {
    port: String,
    base: String,
    http: reqwest::Client,
}

impl Emulator {
    fn script(port: &str, verb: &str) -> bool {
        Command::new(repo().join("scripts/emulator"))
            .arg(verb)
            .env("BQCHECK_EMULATOR_PORT", port)
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    fn start() -> Emulator {
        let port = std::env::var("BQCHECK_BENCH_PORT").unwrap_or_else(|_| "9150".into());
        // Fresh data: a stop, then a start that wipes the data directory.
        Self::script(&port, "stop");
        assert!(
            Self::script(&port, "start"),
            "scripts/emulator start failed on port {port}"
        );
        Emulator {
            base: format!("http://127.0.0.1:{port}/bigquery/v2/projects"),
            port,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("an HTTP client"),
        }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    async fn call(&self, method: reqwest::Method, url: String, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, &url).bearer_auth("bench");
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("the emulator answers");
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{url} -> {status}: {v}");
        v
    }

    async fn dataset(&self, id: &str) {
        self.call(
            reqwest::Method::POST,
            format!("{}/{PROJECT}/datasets", self.base),
            Some(json!({"datasetReference": {"projectId": PROJECT, "datasetId": id}})),
        )
        .await;
    }

    /// Run one statement to completion.
    async fn query(&self, project: &str, sql: &str) -> Value {
        let mut v = self
            .call(
                reqwest::Method::POST,
                format!("{}/{project}/queries", self.base),
                Some(json!({"query": sql, "useLegacySql": false, "timeoutMs": 600000})),
            )
            .await;
        while v["jobComplete"] == json!(false) {
            let job = v["jobReference"]["jobId"].as_str().unwrap_or_default();
            v = self
                .call(
                    reqwest::Method::GET,
                    format!("{}/{project}/queries/{job}?timeoutMs=600000", self.base),
                    None,
                )
                .await;
        }
        v
    }

    /// The SQL of every job run in `project`.
    async fn jobs(&self, project: &str) -> Vec<String> {
        let v = self
            .call(
                reqwest::Method::GET,
                format!("{}/{project}/jobs?maxResults=1000", self.base),
                None,
            )
            .await;
        v["jobs"]
            .as_array()
            .map(|jobs| {
                jobs.iter()
                    .map(|j| {
                        j["configuration"]["query"]["query"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        Self::script(&self.port, "stop");
    }
}

/// One measured run.
#[derive(Debug, Clone, Default)]
struct Run {
    wall: f64,
    jobs: usize,
    reads_a: usize,
    reads_b: usize,
    rss_mib: f64,
    code: i32,
    out: Value,
}

/// Run a binary, wait for it with wait4 (for its peak RSS), and parse its JSON output.
#[allow(clippy::zombie_processes)] // reaped by wait4, which std's Child cannot do
fn spawn_measured(bin: &Path, args: &[&str], host: &str, cache: &Path) -> (f64, i32, f64, Value) {
    let start = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .env("BIGQUERY_EMULATOR_HOST", host)
        .env("XDG_CACHE_HOME", cache)
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut stdout = Vec::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_end(&mut stdout);
    }
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own child, not yet reaped (std's Child is never waited on).
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    assert!(pid > 0, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let rss_mib = usage.ru_maxrss as f64 / 1024.0;
    let out = serde_json::from_slice(&stdout).unwrap_or(Value::Null);
    (wall, code, rss_mib, out)
}

fn bin(name: &str) -> PathBuf {
    match name {
        "bq-profile" => PathBuf::from(env!("CARGO_BIN_EXE_bq-profile")),
        "bq-schema-diff" => PathBuf::from(env!("CARGO_BIN_EXE_bq-schema-diff")),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_bq-table-compare")),
    }
}

static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A job project of its own per run, so its jobs can be counted.
fn job_project() -> String {
    format!(
        "run-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

async fn bqcheck(emu: &Emulator, tool: &str, tables: (&str, &str), extra: &[&str]) -> Run {
    let jp = job_project();
    let cache = std::env::temp_dir().join(format!("bqcheck-bench-cache-{jp}"));
    let mut args = vec!["--project", &jp, "--format", "json", "--no-cache"];
    args.extend_from_slice(extra);
    args.push(tables.0);
    if !tables.1.is_empty() {
        args.push(tables.1);
    }
    let (wall, code, rss_mib, out) = spawn_measured(&bin(tool), &args, &emu.host(), &cache);
    let sql = emu.jobs(&jp).await;
    let reads = |t: &str| sql.iter().filter(|q| q.contains(&format!("`{t}`"))).count();
    Run {
        wall,
        jobs: sql.len(),
        reads_a: reads(tables.0),
        reads_b: if tables.1.is_empty() {
            0
        } else {
            reads(tables.1)
        },
        rss_mib,
        code,
        out,
    }
}

/// The floor: one plain scan per side, both at once: COUNT(*) and the row fingerprint.
async fn floor(emu: &Emulator, a: &str, b: &str) -> f64 {
    let sql = |t: &str| {
        format!(
            "SELECT COUNT(*) AS n, CONCAT(CAST(SUM(CAST(CONCAT('0x', SUBSTR(h, 1, 6)) AS INT64)) AS STRING), ':', \
             CAST(SUM(CAST(CONCAT('0x', SUBSTR(h, 7, 6)) AS INT64)) AS STRING), ':', \
             CAST(SUM(CAST(CONCAT('0x', SUBSTR(h, 13, 6)) AS INT64)) AS STRING)) AS fp \
             FROM (SELECT TO_HEX(MD5(TO_JSON_STRING(t))) AS h FROM `{t}` AS t)"
        )
    };
    let jp = job_project();
    let start = Instant::now();
    let (sa, sb) = (sql(a), sql(b));
    futures::join!(emu.query(&jp, &sa), emu.query(&jp, &sb));
    start.elapsed().as_secs_f64()
}

fn check(ok: bool, what: &str) {
    if !ok {
        eprintln!("WRONG: {what}");
    }
}

fn row(cells: &[String]) -> String {
    format!("| {} |", cells.join(" | "))
}

async fn scale(emu: &Emulator, sizes: &[i64], results: &mut Vec<Value>) {
    println!("\n## Scale: orders tables (7 columns of 6 types, NULLs), 0.1% of rows changed\n");
    println!(
        "{}",
        row(&[
            "rows",
            "run",
            "wall s",
            "jobs",
            "scans A / B",
            "client peak RSS",
            "floor s",
            "÷ floor"
        ]
        .map(String::from))
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let ds = format!("orders_{n}");
        emu.dataset(&ds).await;
        let t = |x: &str| format!("{PROJECT}.{ds}.{x}");
        let (a, b, c) = (t("a"), t("b"), t("c"));
        for (table, side) in [(&a, Side::A), (&b, Side::BScaled), (&c, Side::A)] {
            emu.query(PROJECT, &realistic::orders(table, n, side)).await;
        }
        let fl = floor(emu, &a, &c).await;
        let runs = [
            (
                "identical pair",
                bqcheck(emu, "bq-table-compare", (&a, &c), &["--key", "id"]).await,
            ),
            (
                "0.1% different",
                bqcheck(emu, "bq-table-compare", (&a, &b), &["--key", "id"]).await,
            ),
            ("profile", bqcheck(emu, "bq-profile", (&a, ""), &[]).await),
        ];
        let changed = realistic::changed_scaled(n).len() as i64;
        check(
            runs[0].1.code == 0 && runs[0].1.out["comparisons"][0]["identical"] == true,
            &format!("{n}: identical pair"),
        );
        check(
            runs[1].1.code == 1 && runs[1].1.out["comparisons"][0]["rows"]["changed"] == changed,
            &format!("{n}: {changed} changed rows"),
        );
        check(runs[2].1.code <= 1, &format!("{n}: profile ran"));
        for (what, r) in &runs {
            let scans = if *what == "profile" {
                format!("{}", r.reads_a)
            } else {
                format!("{} / {}", r.reads_a, r.reads_b)
            };
            println!(
                "{}",
                row(&[
                    format!("{n}"),
                    what.to_string(),
                    format!("{:.2}", r.wall),
                    r.jobs.to_string(),
                    scans,
                    format!("{:.1} MiB", r.rss_mib),
                    format!("{fl:.2}"),
                    format!("{:.1}", r.wall / fl),
                ])
            );
            results.push(json!({
                "section": "scale", "rows": n, "run": what, "wall_s": r.wall, "jobs": r.jobs,
                "reads_a": r.reads_a, "reads_b": r.reads_b, "peak_rss_mib": r.rss_mib,
                "floor_s": fl, "exit": r.code,
            }));
        }
    }
}

/// What one run's jobs read and billed, by kind of job.
#[derive(Default)]
struct Bill {
    /// Scan jobs: bytes, and partitions read per side (a scan reads one table).
    scan_bytes: u64,
    scan_partitions: Vec<Option<usize>>,
    /// The row diff (reads both tables): bytes, partitions read of each.
    diff_bytes: u64,
    diff_partitions: Vec<Option<usize>>,
    metadata_bytes: u64,
    processed: u64,
    billed: u64,
    jobs: usize,
}

fn bill(log: &[Value]) -> Bill {
    let mut b = Bill::default();
    for e in log {
        let bytes = e["bytes_processed"].as_u64().unwrap_or(0);
        b.processed += bytes;
        b.billed += e["bytes_billed"].as_u64().unwrap_or(0);
        b.jobs += 1;
        let tables = e["tables"].as_object().cloned().unwrap_or_default();
        // `null`: a table that is not partitioned, read whole.
        let parts = |v: &Value| v.as_array().map(Vec::len);
        match tables.len() {
            0 => b.metadata_bytes += bytes,
            1 => {
                b.scan_bytes += bytes;
                b.scan_partitions.extend(tables.values().map(parts));
            }
            _ => {
                b.diff_bytes += bytes;
                b.diff_partitions.extend(tables.values().map(parts));
            }
        }
    }
    b
}

/// Issue 16: what a compare of a 3-year daily-partitioned pair reads, billed as BigQuery
/// bills (by the partitions each query's filter admits), first run and after one partition
/// changed; against a whole-table diff of the same data.
async fn cost(emu: &Emulator, results: &mut Vec<Value>) {
    let days = realistic::DAILY_DAYS;
    let rows = days * realistic::DAILY_ROWS_PER_DAY;
    println!(
        "\n## Cost: a {days}-partition pair ({rows} rows a side, 8 columns), billed by the partitions each query reads\n"
    );
    let ds = "cost";
    emu.dataset(ds).await;
    let t = |x: &str| format!("{PROJECT}.{ds}.{x}");
    let (a, b, wa, wb) = (t("a"), t("b"), t("whole_a"), t("whole_b"));
    emu.query(PROJECT, &realistic::daily(&a, &[])).await;
    emu.query(PROJECT, &realistic::daily(&b, &[2001, 18001]))
        .await;
    // The same data unpartitioned: what a whole-table diff reads.
    for (from, to) in [(&a, &wa), (&b, &wb)] {
        emu.query(
            PROJECT,
            &format!("CREATE TABLE `{to}` AS SELECT * FROM `{from}` WHERE d IS NULL OR d >= DATE '0001-01-01'"),
        )
        .await;
    }
    let fake = billing::BillingProxy::start(&emu.host());
    let cache = std::env::temp_dir().join(format!("bqcheck-bench-cost-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let run = |tables: (&str, &str), extra: &[&str], cache: &Path| {
        let jp = job_project();
        let mut args = vec!["--project", &jp, "--format", "json", "--key", "id"];
        args.extend_from_slice(extra);
        args.extend([tables.0, tables.1]);
        let (wall, code, _, out) =
            spawn_measured(&bin("bq-table-compare"), &args, &fake.host, cache);
        let log: Vec<Value> = fake
            .take_log()
            .into_iter()
            .filter(|e| e["dry_run"] == false)
            .collect();
        (wall, code, out, bill(&log))
    };
    let mut rows_out = Vec::new();
    let whole = run((&wa, &wb), &["--no-cache"], &cache);
    check(whole.1 == 1, "whole-table diff finds the 2 changed rows");
    rows_out.push(("whole-table diff (same data, unpartitioned)", whole));
    let first = run((&a, &b), &[], &cache);
    check(
        first.1 == 1 && first.2["comparisons"][0]["partitions"]["differing_count"] == 2,
        "first run: 2 partitions differ",
    );
    rows_out.push(("partition-aware, first run (2 partitions differ)", first));
    emu.query(PROJECT, &realistic::daily(&b, &[2001, 18001, 10001]))
        .await;
    let second = run((&a, &b), &[], &cache);
    check(
        second.1 == 1 && second.2["comparisons"][0]["partitions"]["differing_count"] == 3,
        "second run: 3 partitions differ",
    );
    rows_out.push(("next run, 1 partition modified since", second));
    let changed = run((&a, &b), &["--partitions", "changed"], &cache);
    check(changed.1 == 0, "--partitions changed: nothing modified");
    rows_out.push(("`--partitions changed`, nothing modified since", changed));
    let _ = std::fs::remove_dir_all(&cache);

    let full = {
        let w = &rows_out[0].1 .3;
        // The whole-table diff's scans read each table once.
        w.scan_bytes / 2
    };
    let per_partition = full as f64 / days as f64;
    println!(
        "{}",
        row(&[
            "run",
            "jobs",
            "scans: partitions read A / B",
            "row diff: partitions read A / B",
            "bytes read",
            "tables' worth read",
            "at 1 GiB a partition",
            "wall s",
        ]
        .map(String::from))
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (what, (wall, _, _, b)) in &rows_out {
        let parts = |v: &[Option<usize>]| match v {
            [] => "—".to_string(),
            v => v
                .iter()
                .map(|n| n.map_or("whole".to_string(), |n| n.to_string()))
                .collect::<Vec<_>>()
                .join(" / "),
        };
        let data = b.scan_bytes + b.diff_bytes;
        // Scale: partitions read × 1 GiB, plus the metadata queries' 10 MiB each.
        let partitions_read = data as f64 / per_partition;
        let at_scale = partitions_read * (1u64 << 30) as f64 + b.metadata_bytes as f64;
        let tib = (1u64 << 40) as f64;
        println!(
            "{}",
            row(&[
                what.to_string(),
                b.jobs.to_string(),
                parts(&b.scan_partitions),
                parts(&b.diff_partitions),
                format!("{data} + {} MiB metadata", b.metadata_bytes >> 20),
                format!("{:.3}", data as f64 / full as f64),
                format!(
                    "{:.1} GiB, ${:.2}",
                    at_scale / (1u64 << 30) as f64,
                    at_scale / tib * 6.25
                ),
                format!("{wall:.1}"),
            ])
        );
        results.push(json!({
            "section": "cost", "run": what, "jobs": b.jobs, "scan_bytes": b.scan_bytes,
            "diff_bytes": b.diff_bytes, "metadata_bytes": b.metadata_bytes,
            "bytes_processed": b.processed, "bytes_billed": b.billed,
            "scan_partitions": b.scan_partitions, "diff_partitions": b.diff_partitions,
            "full_table_bytes": full, "wall_s": wall,
        }));
    }
    println!(
        "\nOne full table is {full} bytes here ({days} partitions of {per_partition:.0}). \"At 1 GiB a partition\" \
         scales the partitions read to a 1.07 TiB table (3 years of 1 GiB days) at $6.25/TiB; \
         the metadata queries (INFORMATION_SCHEMA.PARTITIONS, one per side) bill 10 MiB each."
    );
}

async fn wide(emu: &Emulator, results: &mut Vec<Value>) {
    let (n, cols) = (20_000, 300);
    println!("\n## Width: {n} rows × {cols} columns (7 types, NULLs), one cell changed\n");
    println!(
        "{}",
        row(&["run", "wall s", "jobs", "scans A / B", "floor s", "÷ floor"].map(String::from))
    );
    println!("|---|---:|---:|---:|---:|---:|");
    emu.dataset("wide").await;
    let t = |x: &str| format!("{PROJECT}.wide.{x}");
    let (a, b, c) = (t("a"), t("b"), t("c"));
    emu.query(PROJECT, &realistic::wide(&a, n, cols, None))
        .await;
    emu.query(PROJECT, &realistic::wide(&b, n, cols, Some((150, 777))))
        .await;
    emu.query(PROJECT, &realistic::wide(&c, n, cols, None))
        .await;
    let fl = floor(emu, &a, &c).await;
    for (what, pair, extra) in [
        ("identical pair", (&a, &c), vec!["--key", "id"]),
        ("one cell changed", (&a, &b), vec!["--key", "id"]),
        (
            "one cell changed, --skip-stats",
            (&a, &b),
            vec!["--key", "id", "--skip-stats"],
        ),
    ] {
        let r = bqcheck(emu, "bq-table-compare", (pair.0, pair.1), &extra).await;
        check(r.code <= 1, &format!("wide {what}: exit {}", r.code));
        println!(
            "{}",
            row(&[
                what.to_string(),
                format!("{:.2}", r.wall),
                r.jobs.to_string(),
                format!("{} / {}", r.reads_a, r.reads_b),
                format!("{fl:.2}"),
                format!("{:.1}", r.wall / fl),
            ])
        );
        results.push(json!({
            "section": "wide", "rows": n, "columns": cols, "run": what, "wall_s": r.wall,
            "jobs": r.jobs, "reads_a": r.reads_a, "reads_b": r.reads_b, "floor_s": fl,
        }));
    }
    // Before issues 9 and 16 the scan hashed every row once and every column of every row
    // once more (FARM_FINGERPRINT, a Python UDF in the emulator at a few thousand rows/s).
    // That is measured on the first 500 rows (20,000 would take about ten minutes), against
    // today's scan and the floor on the same 500 rows.
    let m = 500;
    let filter = format!("t.id <= {m}");
    let before = |t: &str| {
        let mut sel = vec![
            "COUNT(*) AS row_count".to_string(),
            "SUM(CAST(FARM_FINGERPRINT(TO_JSON_STRING(t)) AS NUMERIC)) AS fingerprint".to_string(),
        ];
        for k in 1..=cols {
            let c = realistic::wide_column(k);
            sel.push(format!("COUNT(t.`{c}`) AS n{k}"));
            sel.push(format!(
                "SUM(IF(t.`{c}` IS NULL, NULL, CAST(FARM_FINGERPRINT(TO_JSON_STRING(t.`{c}`)) AS NUMERIC))) AS f{k}"
            ));
        }
        format!("SELECT {} FROM `{t}` AS t WHERE {filter}", sel.join(", "))
    };
    let jp = job_project();
    let start = Instant::now();
    let (ba, bc) = (before(&a), before(&c));
    futures::join!(emu.query(&jp, &ba), emu.query(&jp, &bc));
    let old = start.elapsed().as_secs_f64();
    let floor_sql = |t: &str| {
        format!(
            "SELECT COUNT(*) AS n, CONCAT(CAST(SUM(CAST(CONCAT('0x', SUBSTR(h, 1, 6)) AS INT64)) AS STRING)) AS fp \
             FROM (SELECT TO_HEX(MD5(TO_JSON_STRING(t))) AS h FROM `{t}` AS t WHERE {filter})"
        )
    };
    let start = Instant::now();
    let (fa, fc) = (floor_sql(&a), floor_sql(&c));
    futures::join!(emu.query(&jp, &fa), emu.query(&jp, &fc));
    let small_floor = start.elapsed().as_secs_f64();
    let now = bqcheck(
        emu,
        "bq-table-compare",
        (&a, &c),
        &["--key", "id", "--where", &filter],
    )
    .await;
    println!(
        "\nOn the first {m} rows (`--where \"{filter}\"`), the identical pair: the scans as they were \
         (1 + {cols} FARM_FINGERPRINTs per row) {old:.2} s = {:.1} × the floor ({small_floor:.2} s); \
         bqcheck now {:.2} s = {:.1} × the floor.",
        old / small_floor,
        now.wall,
        now.wall / small_floor
    );
    results.push(json!({
        "section": "wide-before", "rows": m, "columns": cols, "before_scans_s": old,
        "floor_s": small_floor, "now_s": now.wall,
    }));
}

/// A peer tool's run through benches/peers/peers.py.
fn peer(emu: &Emulator, tool: &str, a: &str, b: &str) -> Value {
    let out = Command::new(repo().join("benches/peers/peers.py"))
        .args(["--tool", tool, "--project", PROJECT, "--table-a", a])
        .args([
            "--table-b",
            b,
            "--key",
            "id",
            "--jobs-project",
            &job_project(),
        ])
        .env("BIGQUERY_EMULATOR_HOST", emu.host())
        .stderr(Stdio::null())
        .output();
    match out {
        Ok(o) => serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|_| json!({"error": String::from_utf8_lossy(&o.stdout)})),
        Err(e) => json!({"error": e.to_string()}),
    }
}

/// What a tool reported for a pair: (only in A, only in B, changed), or why not.
fn verdict(v: &Value) -> String {
    match v["error"].as_str() {
        Some(e) => format!("error: {}", e.chars().take(60).collect::<String>()),
        None => format!("{} / {} / {}", v["only_in_a"], v["only_in_b"], v["changed"]),
    }
}

async fn peers(emu: &Emulator, results: &mut Vec<Value>) {
    let ready = Command::new(repo().join("benches/peers/setup"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ready {
        println!("\n(peers skipped: benches/peers/setup failed)");
        return;
    }
    let n = 20_000;
    emu.dataset("peers").await;
    let t = |x: &str| format!("{PROJECT}.peers.{x}");
    let (a, b, c) = (t("a"), t("b"), t("c"));
    for (table, side) in [(&a, Side::A), (&b, Side::B), (&c, Side::A)] {
        emu.query(PROJECT, &realistic::orders(table, n, side)).await;
    }
    println!(
        "\n## Compared with other tools: {n}-row orders pair (2 only in A, 1 only in B, 20 changed) and an identical copy\n"
    );
    println!(
        "{}",
        row(&[
            "tool",
            "different: wall s",
            "jobs",
            "reads A / B",
            "rows to client",
            "found (A / B / changed)",
            "identical: wall s",
            "jobs",
        ]
        .map(String::from))
    );
    println!("|---|---:|---:|---:|---:|---|---:|---:|");
    let ours = |r: &Run| {
        let rows = &r.out["comparisons"][0]["rows"];
        json!({
            "wall_s": r.wall, "jobs": r.jobs, "reads_a": r.reads_a, "reads_b": r.reads_b,
            // Every generated query returns exactly one row.
            "rows_to_client": r.jobs,
            "only_in_a": rows["only_in_a"], "only_in_b": rows["only_in_b"], "changed": rows["changed"],
            "error": Value::Null,
        })
    };
    let mut lines: Vec<(String, Value, Value)> = Vec::new();
    for (label, extra) in [
        ("bqcheck (default flags, no cache)", vec!["--key", "id"]),
        ("bqcheck --skip-stats", vec!["--key", "id", "--skip-stats"]),
    ] {
        let d = bqcheck(emu, "bq-table-compare", (&a, &b), &extra).await;
        let i = bqcheck(emu, "bq-table-compare", (&a, &c), &extra).await;
        lines.push((label.into(), ours(&d), ours(&i)));
    }
    for tool in [
        "reladiff-joindiff",
        "data-diff-joindiff",
        "reladiff-hashdiff",
    ] {
        let d = peer(emu, tool, &a, &b);
        let i = peer(emu, tool, &a, &c);
        lines.push((tool.into(), d, i));
    }
    for (label, d, i) in &lines {
        let f = |v: &Value, k: &str| match &v[k] {
            Value::Number(n) => n
                .as_f64()
                .map(|x| {
                    if k == "wall_s" {
                        format!("{x:.2}")
                    } else {
                        format!("{x}")
                    }
                })
                .unwrap_or_default(),
            _ => "–".into(),
        };
        println!(
            "{}",
            row(&[
                label.clone(),
                f(d, "wall_s"),
                f(d, "jobs"),
                format!("{} / {}", f(d, "reads_a"), f(d, "reads_b")),
                f(d, "rows_to_client"),
                verdict(d),
                f(i, "wall_s"),
                f(i, "jobs"),
            ])
        );
        results.push(json!({"section": "peers", "tool": label, "different": d, "identical": i}));
    }
    subtle(emu, results).await;
}

/// The subtle cases: does each tool see the difference?
async fn subtle(emu: &Emulator, results: &mut Vec<Value>) {
    let n = 1_000;
    emu.dataset("subtle").await;
    let t = |x: &str| format!("{PROJECT}.subtle.{x}");
    let base = format!(
        "SELECT i AS id, CONCAT('ab', CAST(i AS STRING)) AS p, 'c' AS q, \
         TIMESTAMP_ADD(TIMESTAMP '2024-01-01 00:00:00', INTERVAL i SECOND) AS ts, \
         CONCAT('name', CAST(i AS STRING)) AS name FROM UNNEST(GENERATE_ARRAY(1, {n})) AS i"
    );
    emu.query(PROJECT, &format!("CREATE TABLE `{}` AS {base}", t("a")))
        .await;
    let cases = [
        (
            "values run together (`ab`+`c` vs `a`+`bc`)",
            "run",
            format!("SELECT id, IF(id = 7, 'a', p) AS p, IF(id = 7, 'b7c', q) AS q, ts, name FROM `{}`", t("a")),
        ),
        (
            "a 0.25 s timestamp change",
            "ts",
            format!("SELECT id, p, q, IF(id = 7, TIMESTAMP_ADD(ts, INTERVAL 250 MILLISECOND), ts) AS ts, name FROM `{}`", t("a")),
        ),
        (
            "a trailing space",
            "space",
            format!("SELECT id, p, q, ts, IF(id = 7, CONCAT(name, ' '), name) AS name FROM `{}`", t("a")),
        ),
        (
            "a duplicated row",
            "dup",
            format!("SELECT * FROM `{0}` UNION ALL SELECT * FROM `{0}` WHERE id = 7", t("a")),
        ),
    ];
    println!("\n## The subtle cases ({n} rows, one row affected): who sees the difference\n");
    let tools = [
        "bqcheck",
        "reladiff-joindiff",
        "data-diff-joindiff",
        "reladiff-hashdiff",
    ];
    println!("| case | {} |", tools.join(" | "));
    println!("|---|{}", "---|".repeat(tools.len()));
    for (label, name, sql) in cases {
        let b = t(name);
        emu.query(PROJECT, &format!("CREATE TABLE `{b}` AS {sql}"))
            .await;
        let mut cells = vec![label.to_string()];
        for tool in tools {
            let cell = if tool == "bqcheck" {
                let r = bqcheck(emu, "bq-table-compare", (&t("a"), &b), &["--key", "id"]).await;
                match r.code {
                    1 => "found (exit 1)".to_string(),
                    0 => "missed (exit 0)".to_string(),
                    c => format!("error (exit {c})"),
                }
            } else {
                let v = peer(emu, tool, &t("a"), &b);
                if let Some(e) = v["error"].as_str() {
                    format!("error: {}", e.chars().take(40).collect::<String>())
                } else {
                    let total = ["only_in_a", "only_in_b", "changed"]
                        .iter()
                        .map(|k| v[k].as_i64().unwrap_or(0))
                        .sum::<i64>();
                    if total > 0 { "found" } else { "missed" }.to_string()
                }
            };
            cells.push(cell);
        }
        println!("{}", row(&cells));
        results.push(json!({"section": "subtle", "case": label, "results": cells}));
    }
}

/// Dataset pairs of N tables: schemas by tables.get vs one INFORMATION_SCHEMA query per
/// dataset (`--metadata-via`), wall time and requests.
async fn metadata(emu: &Emulator, results: &mut Vec<Value>) {
    println!("\n## Metadata: bq-schema-diff --datasets A:B, N tables a side (5 columns each)\n");
    println!("| tables a side | tables.get: wall | requests | INFORMATION_SCHEMA: wall | queries | billed |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let fake = billing::BillingProxy::start(&emu.host());
    let cache = std::env::temp_dir().join(format!("bqcheck-bench-meta-{}", std::process::id()));
    for n in [10usize, 50, 200] {
        let (a, b) = (format!("meta_a_{n}"), format!("meta_b_{n}"));
        for ds in [&a, &b] {
            emu.dataset(ds).await;
            let script: Vec<String> = (0..n)
                .map(|i| {
                    format!(
                        "CREATE TABLE `{PROJECT}.{ds}.t{i:03}` AS SELECT x AS id, CAST(x AS STRING) AS name, \
                         x * 1.5 AS amount, DATE '2024-01-01' AS d, MOD(x, 2) = 0 AS flag \
                         FROM UNNEST(GENERATE_ARRAY(1, 10)) AS x"
                    )
                })
                .collect();
            emu.query(PROJECT, &script.join(";\n")).await;
        }
        let pair = format!("{PROJECT}.{a}:{PROJECT}.{b}");
        let mut cells = vec![n.to_string()];
        let mut figures = serde_json::Map::new();
        for how in ["tables-get", "information-schema"] {
            let jp = job_project();
            let args = [
                "--project",
                &jp,
                "--format",
                "json",
                "--datasets",
                &pair,
                "--metadata-via",
                how,
            ];
            let (wall, code, _, out) =
                spawn_measured(&bin("bq-schema-diff"), &args, &fake.host, &cache);
            let log = fake.take_log();
            let gets = log.iter().filter(|e| e.get("tables_get").is_some()).count();
            let queries = log.iter().filter(|e| e["dry_run"] == false).count();
            let billed: u64 = log.iter().filter_map(|e| e["bytes_billed"].as_u64()).sum();
            check(
                code == 0 && out["comparisons"].as_array().map(Vec::len) == Some(n),
                &format!("{how}: {n} identical pairs"),
            );
            if how == "tables-get" {
                cells.extend([format!("{wall:.2} s"), gets.to_string()]);
            } else {
                cells.extend([
                    format!("{wall:.2} s"),
                    queries.to_string(),
                    format!("{:.0} MiB", billed as f64 / 1_048_576.0),
                ]);
            }
            figures.insert(
                how.into(),
                json!({"wall": wall, "tables_get": gets, "queries": queries, "billed": billed}),
            );
        }
        println!("{}", row(&cells));
        results.push(json!({"section": "metadata", "tables": n, "results": figures}));
    }
    let _ = std::fs::remove_dir_all(&cache);
}

#[tokio::main]
async fn main() {
    let opts = options();
    let started = Instant::now();
    let emu = Emulator::start();
    let mut results = Vec::new();
    let mut sizes = vec![10_000, 100_000];
    if opts.full {
        sizes.push(1_000_000);
    }
    println!(
        "# bqcheck scale benchmark (emulator on port {}, fresh)",
        emu.port
    );
    // Warm-up: the emulator's first queries pay for start-up.
    emu.dataset("warm").await;
    emu.query(
        PROJECT,
        &realistic::every_type(&format!("{PROJECT}.warm.t"), 1_000, Diff::Identical),
    )
    .await;
    let run = |s: &str| opts.only.as_deref().is_none_or(|o| o == s);
    if run("scale") {
        scale(&emu, &sizes, &mut results).await;
    }
    if run("wide") {
        wide(&emu, &mut results).await;
    }
    if run("cost") {
        cost(&emu, &mut results).await;
    }
    if run("metadata") {
        metadata(&emu, &mut results).await;
    }
    if opts.peers && run("peers") {
        peers(&emu, &mut results).await;
    }
    println!(
        "\n(total {:.0} s; wall times include process start-up and metadata requests)",
        started.elapsed().as_secs_f64()
    );
    let path = opts.json.unwrap_or_else(|| {
        PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
            .join("bench-scale.json")
    });
    if let Err(e) = std::fs::write(
        &path,
        serde_json::to_string_pretty(&results).unwrap_or_default(),
    ) {
        eprintln!("could not write {}: {e}", path.display());
    } else {
        println!("figures: {}", path.display());
    }
}
