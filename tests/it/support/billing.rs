//! `tests/it/support/fake_bigquery.py` in front of the emulator: BigQuery's billing by the
//! partitions a query's filter admits, `require_partition_filter`, and
//! INFORMATION_SCHEMA.PARTITIONS with `last_modified_time`. Shared by the tests and the
//! scale benchmark (which includes this file by path).

use std::path::PathBuf;

use serde_json::Value;

/// The proxy, stopped when dropped.
pub struct BillingProxy {
    child: std::process::Child,
    /// `127.0.0.1:PORT`, for `BIGQUERY_EMULATOR_HOST`.
    pub host: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl BillingProxy {
    /// Start it on a free port in front of the emulator at `emulator` (`HOST:PORT`).
    pub fn start(emulator: &str) -> BillingProxy {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = dir.path().join("billing.jsonl");
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/fake_bigquery.py");
        let child = std::process::Command::new("python3")
            .arg(&script)
            .args(["--port", &port.to_string(), "--emulator"])
            .arg(emulator.trim_start_matches("http://"))
            .arg("--log")
            .arg(&log)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
        let host = format!("127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(&host).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        BillingProxy {
            child,
            host,
            log,
            _dir: dir,
        }
    }

    /// The query jobs (dry runs included, marked `dry_run`) and tables.get requests
    /// (`tables_get`) logged since the last call.
    pub fn take_log(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::write(&self.log, "");
        text.lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("a bad log line ({e}): {l}"))
            })
            .collect()
    }
}

impl Drop for BillingProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
