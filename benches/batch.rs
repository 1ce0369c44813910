//! The performance benchmark: batch scaling, API calls per item, and client cost.
//!
//!   cargo bench --bench batch                 # everything (about 7 minutes on 2 cores)
//!   cargo bench --bench batch -- --quick      # N up to 64, 50 ms latency (about 1 minute)
//!   cargo bench --bench batch -- --json out.json
//!
//! A fake BigQuery (wiremock on loopback) answers every request after a fixed latency, so the
//! work is latency-bound as it is against real BigQuery. For each command, N items are run with
//! P workers; the ideal is ceil(N/P) × the time one item takes alone (its round trips), and
//! efficiency is ideal / measured. Then the API calls per item are counted from the fake
//! server's log, process start-up, peak RSS and binary size are measured, and, when
//! BIGQUERY_EMULATOR_HOST is set, schema-diff scaling is measured against the emulator.
//! Prints Markdown tables and writes the figures as JSON (default
//! `$CARGO_TARGET_DIR/bench-batch.json`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

struct Options {
    quick: bool,
    json: Option<PathBuf>,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    Options {
        quick: args.iter().any(|a| a == "--quick"),
        json: args
            .iter()
            .position(|a| a == "--json")
            .and_then(|i| args.get(i + 1))
            .map(PathBuf::from),
    }
}

fn bin(name: &str) -> PathBuf {
    match name {
        "bq-schema-diff" => PathBuf::from(env!("CARGO_BIN_EXE_bq-schema-diff")),
        "bq-table-compare" => PathBuf::from(env!("CARGO_BIN_EXE_bq-table-compare")),
        "bq-profile" => PathBuf::from(env!("CARGO_BIN_EXE_bq-profile")),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_bqcheck")),
    }
}

/// A fake BigQuery: tables.get, jobs.query (complete at once, one row that reads as equal
/// counts and fingerprints for table-compare and as a profile's row count), tabledata.list.
async fn fake_bigquery(latency: Duration) -> MockServer {
    let server = MockServer::start().await;
    // jobs.get: bqcheck asks each job what it ran (a SELECT).
    Mock::given(method("GET"))
        .and(path_regex(r"/projects/[^/]+/jobs/[^/]+$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"statistics": {"query": {"statementType": "SELECT"}}}))
                .set_delay(latency),
        )
        .mount(&server)
        .await;
    let meta = json!({
        "kind": "bigquery#table", "type": "TABLE", "location": "US", "numRows": "10",
        "schema": {"fields": [{"name": "id", "type": "INTEGER"}, {"name": "name", "type": "STRING"}]}
    });
    Mock::given(method("GET"))
        .and(path_regex(r"/tables/[^/]+/data$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(
                    json!({"kind": "bigquery#tableDataList", "totalRows": "10", "rows": []}),
                )
                .set_delay(latency),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"/tables/[^/]+$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(meta)
                .set_delay(latency),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"/queries$"))
        .respond_with(move |req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let project = body["jobReference"]["projectId"]
                .as_str()
                .unwrap_or("bench");
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "jobReference": {"projectId": project, "jobId": "job", "location": "US"},
                    "jobComplete": true, "totalBytesProcessed": "1000",
                    "schema": {"fields": [
                        {"name": "row_count", "type": "INTEGER"},
                        {"name": "fingerprint", "type": "BIGNUMERIC"}]},
                    "rows": [{"f": [{"v": "10"}, {"v": "123456789"}]}]
                }))
                .set_delay(latency)
        })
        .mount(&server)
        .await;
    server
}

/// Run a command to completion; the wall time.
fn timed(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run the binary");
    let took = start.elapsed();
    let code = out.status.code();
    assert!(
        matches!(code, Some(0) | Some(1)),
        "the benchmark batch failed ({code:?}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// The command line for `n` items of `command` against `api`, with `p` workers.
fn batch_command(command: &str, api: &str, dir: &Path, n: usize, p: usize) -> Command {
    let mut c = Command::new(bin(command));
    c.env_remove("BIGQUERY_EMULATOR_HOST")
        .args(["--api-url", api, "--project", "bench"])
        .args(["--parallel", &p.to_string(), "--max-parallel", "64"]);
    let file = dir.join(format!("{command}-{n}.txt"));
    let lines: Vec<String> = (0..n)
        .map(|i| match command {
            "bq-profile" => format!("acme.prod.t{i}"),
            _ => format!("acme.dev.t{i}:acme.prod.t{i}"),
        })
        .collect();
    std::fs::write(&file, lines.join("\n")).expect("write the item list");
    match command {
        "bq-profile" => {
            c.arg("--sample-size").arg("10");
            c.stdin(std::fs::File::open(&file).expect("item list"));
        }
        "bq-table-compare" => {
            c.args(["--skip-stats", "--pairs-file"]).arg(&file);
        }
        _ => {
            c.arg("--pairs-file").arg(&file);
        }
    }
    c
}

struct Row {
    command: String,
    n: usize,
    p: usize,
    secs: f64,
    speedup: f64,
    efficiency: f64,
}

fn scaling(api: &str, dir: &Path, commands: &[&str], ns: &[usize], ps: &[usize]) -> Vec<Row> {
    let mut rows = Vec::new();
    for &command in commands {
        for &n in ns {
            let mut serial = None;
            for &p in ps {
                let secs = timed(&mut batch_command(command, api, dir, n, p)).as_secs_f64();
                let base = *serial.get_or_insert(secs);
                let per_item = base / n as f64;
                let ideal = n.div_ceil(p) as f64 * per_item;
                rows.push(Row {
                    command: command.to_string(),
                    n,
                    p,
                    secs,
                    speedup: base / secs,
                    efficiency: ideal / secs,
                });
            }
        }
    }
    rows
}

fn print_scaling(title: &str, rows: &[Row]) {
    println!("\n### {title}\n");
    println!("| command | N | P | seconds | speed-up vs P=1 | efficiency vs ceil(N/P) × item |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.2} | {:.2}× | {:.2} |",
            r.command, r.n, r.p, r.secs, r.speedup, r.efficiency
        );
    }
}

fn scaling_json(rows: &[Row]) -> Value {
    rows.iter()
        .map(|r| {
            json!({"command": r.command, "n": r.n, "p": r.p, "seconds": r.secs,
                         "speedup": r.speedup, "efficiency": r.efficiency})
        })
        .collect()
}

/// API calls by kind in the fake server's log.
async fn calls(server: &MockServer) -> (usize, usize, usize, usize) {
    let reqs = server.received_requests().await.unwrap_or_default();
    let count = |f: &dyn Fn(&Request) -> bool| reqs.iter().filter(|r| f(r)).count();
    let p = |r: &Request| r.url.path().to_string();
    (
        count(&|r| {
            r.method.as_str() == "GET" && p(r).contains("/tables/") && !p(r).ends_with("/data")
        }),
        count(&|r| r.method.as_str() == "POST" && p(r).ends_with("/queries")),
        count(&|r| r.method.as_str() == "GET" && p(r).contains("/queries/")),
        count(&|r| r.method.as_str() == "GET" && p(r).ends_with("/data")),
    )
}

async fn calls_per_command(dir: &Path) -> Value {
    println!("\n### API calls (fake BigQuery's log)\n");
    println!("| run | items | tables.get | jobs.query | getQueryResults | tabledata.list |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut out = Vec::new();
    let pairs_file = dir.join("dedup.txt");
    let dedup: Vec<String> = (0..50)
        .map(|i| format!("acme.dev.t{i}:acme.prod.p{}", i % 5))
        .collect();
    std::fs::write(&pairs_file, dedup.join("\n")).expect("dedup pairs");
    let runs: Vec<(&str, &str, usize)> = vec![
        ("bq-schema-diff", "schema-diff, 10 pairs", 10),
        ("bq-table-compare", "table-compare, 10 identical pairs", 10),
        ("bq-profile", "profile, 10 tables", 10),
        (
            "dedup",
            "schema-diff, 50 dev tables vs the same 5 prod tables",
            50,
        ),
    ];
    for (command, label, n) in runs {
        let server = fake_bigquery(Duration::ZERO).await;
        let mut cmd = if command == "dedup" {
            let mut c = Command::new(bin("bq-schema-diff"));
            c.env_remove("BIGQUERY_EMULATOR_HOST")
                .args([
                    "--api-url",
                    &server.uri(),
                    "--project",
                    "bench",
                    "--pairs-file",
                ])
                .arg(&pairs_file);
            c
        } else {
            batch_command(command, &server.uri(), dir, n, 4)
        };
        timed(&mut cmd);
        let (gets, queries, polls, lists) = calls(&server).await;
        println!("| {label} | {n} | {gets} | {queries} | {polls} | {lists} |");
        out.push(
            json!({"run": label, "items": n, "tables_get": gets, "jobs_query": queries,
                         "get_query_results": polls, "tabledata_list": lists}),
        );
    }
    Value::Array(out)
}

/// Peak RSS of the children waited for so far, in MiB (getrusage RUSAGE_CHILDREN).
fn children_peak_rss_mib() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    if rc != 0 {
        return f64::NAN;
    }
    usage.ru_maxrss as f64 / 1024.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

async fn client_cost(dir: &Path) -> Value {
    println!("\n### Client cost\n");
    println!("| measure | value |");
    println!("|---|---:|");
    let help: Vec<f64> = (0..21)
        .map(|_| {
            let start = Instant::now();
            let _ = Command::new(bin("bqcheck"))
                .arg("--help")
                .stdout(Stdio::null())
                .status();
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let help = median(help);
    println!("| start-up: `bqcheck --help` (median of 21) | {help:.1} ms |");
    let mut emulator_ms = Value::Null;
    if let Ok(host) = std::env::var("BIGQUERY_EMULATOR_HOST") {
        let api = format!("http://{}", host.trim_start_matches("http://"));
        let runs: Vec<f64> = (0..5)
            .map(|_| {
                let start = Instant::now();
                let _ = Command::new(bin("bq-schema-diff"))
                    .args(["--api-url", &api, "project.dev.users", "project.prod.users"])
                    .stdout(Stdio::null())
                    .status();
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        let ms = median(runs);
        println!("| 1-pair schema-diff against the emulator (median of 5) | {ms:.0} ms |");
        emulator_ms = json!(ms);
    }
    // Peak RSS of a 1,000-pair batch (the largest child so far is this one: the others are
    // smaller batches of the same binary).
    let server = fake_bigquery(Duration::ZERO).await;
    timed(&mut batch_command(
        "bq-schema-diff",
        &server.uri(),
        dir,
        1000,
        16,
    ));
    let rss = children_peak_rss_mib();
    println!("| peak RSS, 1,000-pair schema-diff batch | {rss:.1} MiB |");
    let size =
        |name: &str| std::fs::metadata(bin(name)).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;
    let size_mib = size("bqcheck");
    println!("| binary size, `bqcheck` (this build profile) | {size_mib:.1} MiB |");
    json!({"help_ms": help, "emulator_one_pair_ms": emulator_ms, "peak_rss_mib_1000_pairs": rss,
           "binary_mib": size_mib})
}

fn main() {
    let opts = options();
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let dir = std::env::temp_dir().join(format!("bqcheck-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let latency = Duration::from_millis(if opts.quick { 50 } else { 100 });
    let ns: &[usize] = if opts.quick {
        &[4, 8, 64]
    } else {
        &[4, 8, 64, 256]
    };
    let ps = [1, 2, 4, 8, 16];
    let commands = ["bq-schema-diff", "bq-table-compare", "bq-profile"];
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "## bqcheck batch benchmark\n\n{cpus} CPUs; fake BigQuery latency {} ms per request; \
         --max-parallel 64 so the 2 × CPUs cap ({}) does not apply",
        latency.as_millis(),
        cpus * 2
    );

    let client = rt.block_on(client_cost(&dir));
    let server = rt.block_on(fake_bigquery(latency));
    let rows = scaling(&server.uri(), &dir, &commands, ns, &ps);
    print_scaling("Batch scaling (fake BigQuery)", &rows);
    let calls = rt.block_on(calls_per_command(&dir));

    let mut emulator = Vec::new();
    if let Ok(host) = std::env::var("BIGQUERY_EMULATOR_HOST") {
        let api = format!("http://{}", host.trim_start_matches("http://"));
        let mut rows = Vec::new();
        for n in [8usize, 32] {
            let mut serial = None;
            for p in [1usize, 4, 16] {
                let file = dir.join(format!("emu-{n}.txt"));
                let lines = vec!["project.dev.users:project.prod.users"; n];
                std::fs::write(&file, lines.join("\n")).expect("pairs");
                let mut c = Command::new(bin("bq-schema-diff"));
                c.args(["--api-url", &api, "--no-cache", "--max-parallel", "64"])
                    .args(["--parallel", &p.to_string(), "--pairs-file"])
                    .arg(&file);
                let secs = timed(&mut c).as_secs_f64();
                let base = *serial.get_or_insert(secs);
                rows.push(Row {
                    command: "bq-schema-diff (emulator, --no-cache)".into(),
                    n,
                    p,
                    secs,
                    speedup: base / secs,
                    efficiency: n.div_ceil(p) as f64 * (base / n as f64) / secs,
                });
            }
        }
        print_scaling("Batch scaling against the emulator", &rows);
        emulator = rows;
    } else {
        println!("\n(BIGQUERY_EMULATOR_HOST is not set: the emulator section is skipped)");
    }

    let doc = json!({
        "cpus": cpus, "latency_ms": latency.as_millis() as u64, "quick": opts.quick,
        "scaling": scaling_json(&rows), "calls": calls, "client": client,
        "emulator_scaling": scaling_json(&emulator),
    });
    let out = opts.json.unwrap_or_else(|| {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        PathBuf::from(target).join("bench-batch.json")
    });
    match std::fs::write(&out, serde_json::to_string_pretty(&doc).unwrap_or_default()) {
        Ok(()) => println!("\nJSON: {}", out.display()),
        Err(e) => eprintln!("cannot write {}: {e}", out.display()),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
