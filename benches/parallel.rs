//! How --parallel scales when BigQuery, not the CPU, is the bottleneck: a fake BigQuery
//! (wiremock) answers every tables.get after a fixed delay, and bq-schema-diff compares 40
//! pairs with 1, 2, 4 and 8 workers. Prints a table; it checks only that the batch ran.
//!
//!   cargo bench --bench parallel

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const PAIRS: usize = 40;
const LATENCY: Duration = Duration::from_millis(100);

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(
                        json!({"schema": {"fields": [{"name": "id", "type": "INTEGER"}]}}),
                    )
                    .set_delay(LATENCY),
            )
            .mount(&server)
            .await;
        server
    });
    let dir = std::env::temp_dir().join(format!("bqcheck-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pairs = dir.join("pairs.txt");
    let lines: Vec<String> = (0..PAIRS)
        .map(|i| format!("acme.dev.t{i}:acme.prod.t{i}"))
        .collect();
    std::fs::write(&pairs, lines.join("\n")).expect("pairs file");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_bq-schema-diff"));

    println!(
        "bq-schema-diff, {PAIRS} pairs, {} ms per tables.get",
        LATENCY.as_millis()
    );
    println!("{:>8} {:>10} {:>8}", "workers", "seconds", "speedup");
    let mut first = None;
    for workers in [1, 2, 4, 8] {
        let start = Instant::now();
        let status = Command::new(bin)
            .args([
                "--api-url",
                &server.uri(),
                "--parallel",
                &workers.to_string(),
                "--pairs-file",
            ])
            .arg(&pairs)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("run bq-schema-diff");
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(
            status.code(),
            Some(0),
            "the benchmark batch should compare cleanly"
        );
        let base = *first.get_or_insert(secs);
        println!("{workers:>8} {secs:>10.2} {:>7.2}x", base / secs);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
