//! Helpers shared by the integration tests: the built binaries ([`bin`]), the local BigQuery
//! emulator ([`Emu`]), fake BigQuery and GitHub servers ([`bigquery`], [`github`]) and the
//! realistic fixtures ([`realistic`]). What talks to the emulator needs
//! `BIGQUERY_EMULATOR_HOST` (set by `scripts/test`) and fails, rather than skips, without
//! it; the tests that use it are ignored unless the `emulator-tests` feature is on.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

pub mod bigquery;
pub mod billing;
pub mod github;
pub mod realistic;

pub use bigquery::FakeBigQuery;
pub use billing::BillingProxy;
pub use github::FakeGithub;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The repository root (the crate's directory): where the binaries run unless told otherwise.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The path of one of the package's binaries, built by cargo for these tests.
pub fn bin_path(name: &str) -> PathBuf {
    PathBuf::from(match name {
        "bqcheck" => env!("CARGO_BIN_EXE_bqcheck"),
        "bq-schema-diff" => env!("CARGO_BIN_EXE_bq-schema-diff"),
        "bq-table-compare" => env!("CARGO_BIN_EXE_bq-table-compare"),
        "bq-profile" => env!("CARGO_BIN_EXE_bq-profile"),
        other => panic!("no binary named {other}"),
    })
}

/// What a run must not pick up from the environment of `cargo test`: credentials, a default
/// project, the emulator.
const OUTSIDE: [&str; 5] = [
    "BIGQUERY_EMULATOR_HOST",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "CLOUDSDK_CORE_PROJECT",
    "CLOUDSDK_CONFIG",
];

/// A binary in a clean environment (nothing of [`OUTSIDE`]), with an empty result cache of
/// its own, run from the repository root. A `std` command, for the tests that spawn and
/// signal it; the others take [`bin`].
pub fn command(name: &str) -> std::process::Command {
    let mut c = std::process::Command::new(bin_path(name));
    for k in OUTSIDE {
        c.env_remove(k);
    }
    c.env("XDG_CACHE_HOME", fresh_cache_home());
    c.current_dir(repo_root());
    c
}

/// How long a run of a binary may take before the test kills it: a guard against hangs, as
/// long as the tools' own default `--timeout`, not a timing assertion (a realistic compare on
/// a busy CI machine has taken over 300 s).
pub const GUARD: std::time::Duration = std::time::Duration::from_secs(900);

/// [`command`] as an `assert_cmd` command (stdin, assertions), killed after [`GUARD`].
pub fn bin(name: &str) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::from_std(command(name));
    c.timeout(GUARD);
    c
}

/// [`bin`] pointed at the local emulator (`BIGQUERY_EMULATOR_HOST`).
pub fn emulator_bin(name: &str) -> assert_cmd::Command {
    let mut c = bin(name);
    c.env("BIGQUERY_EMULATOR_HOST", emulator_host());
    c
}

/// `BIGQUERY_EMULATOR_HOST`, or a panic that says how to start the emulator.
pub fn emulator_host() -> String {
    std::env::var("BIGQUERY_EMULATOR_HOST").unwrap_or_else(|_| {
        panic!(
            "BIGQUERY_EMULATOR_HOST is not set: run the tests with `scripts/test`, or \
             `scripts/emulator start` and export BIGQUERY_EMULATOR_HOST=127.0.0.1:9050"
        )
    })
}

/// A name unique to this test process and call.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh, empty result-cache home for one run of a binary (`XDG_CACHE_HOME`), so no run
/// is served a result another run (or an earlier `cargo test`) stored.
pub fn fresh_cache_home() -> std::path::PathBuf {
    std::env::temp_dir().join(unique("bqcheck-test-cache"))
}

/// A project of its own for one test's jobs, so job counts are exact across runs.
pub fn job_project(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

pub struct Emu {
    pub project: String,
    base: String,
    http: reqwest::Client,
}

impl Emu {
    pub fn new(project: &str) -> Emu {
        let host = emulator_host();
        Emu {
            project: project.to_string(),
            base: format!(
                "http://{}/bigquery/v2/projects",
                host.trim_start_matches("http://").trim_end_matches('/')
            ),
            // No idle connections: the emulator closes them after a few seconds.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
        }
    }

    pub async fn call(&self, method: reqwest::Method, url: String, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, &url).bearer_auth("test");
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("emulator unreachable at {url}: {e}"));
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(
            status.is_success(),
            "{url} -> {status}: {v}\nbody: {body:?}"
        );
        v
    }

    /// A fresh dataset, unique per test run, so tests never collide.
    pub async fn dataset(&self, prefix: &str) -> String {
        let id = unique(prefix);
        self.call(
            reqwest::Method::POST,
            format!("{}/{}/datasets", self.base, self.project),
            Some(json!({"datasetReference": {"projectId": self.project, "datasetId": id}})),
        )
        .await;
        id
    }

    /// Create a table (schema `fields`, other resource keys in `extra`) and insert `rows`;
    /// returns `project.dataset.table`.
    pub async fn table(
        &self,
        ds: &str,
        name: &str,
        fields: Value,
        extra: Value,
        rows: Vec<Value>,
    ) -> String {
        let mut body = json!({
            "tableReference": {"projectId": self.project, "datasetId": ds, "tableId": name},
        });
        if !fields.is_null() {
            body["schema"] = json!({ "fields": fields });
        }
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.call(
            reqwest::Method::POST,
            format!("{}/{}/datasets/{ds}/tables", self.base, self.project),
            Some(body),
        )
        .await;
        if !rows.is_empty() {
            let rows: Vec<Value> = rows.into_iter().map(|r| json!({"json": r})).collect();
            let r = self
                .call(
                    reqwest::Method::POST,
                    format!(
                        "{}/{}/datasets/{ds}/tables/{name}/insertAll",
                        self.base, self.project
                    ),
                    Some(json!({"rows": rows})),
                )
                .await;
            assert!(r.get("insertErrors").is_none(), "insertAll: {r}");
        }
        format!("{}.{ds}.{name}", self.project)
    }

    /// Run one GoogleSQL statement with `jobs.query` (polling `getQueryResults` while the job
    /// is not complete) and return the final response; panics with the SQL and the error body
    /// when the query fails.
    pub async fn query(&self, sql: &str) -> Value {
        let fail = |status: reqwest::StatusCode, v: &Value| -> ! {
            panic!("query failed ({status}): {v}\nSQL:\n{sql}")
        };
        let url = format!("{}/{}/queries", self.base, self.project);
        let body = json!({"query": sql, "useLegacySql": false, "timeoutMs": 120000});
        let resp = self
            .http
            .post(&url)
            .bearer_auth("test")
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("emulator unreachable at {url}: {e}"));
        let status = resp.status();
        let mut v: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            fail(status, &v);
        }
        while v["jobComplete"] == json!(false) {
            let job = v["jobReference"]["jobId"]
                .as_str()
                .unwrap_or_else(|| panic!("no jobId in {v}\nSQL:\n{sql}"))
                .to_string();
            let mut url = format!(
                "{}/{}/queries/{job}?timeoutMs=120000",
                self.base, self.project
            );
            if let Some(loc) = v["jobReference"]["location"].as_str() {
                url.push_str(&format!("&location={loc}"));
            }
            let resp = self
                .http
                .get(&url)
                .bearer_auth("test")
                .send()
                .await
                .unwrap_or_else(|e| panic!("emulator unreachable at {url}: {e}"));
            let status = resp.status();
            v = resp.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                fail(status, &v);
            }
        }
        if v.get("errors")
            .is_some_and(|e| e.as_array().is_some_and(|a| !a.is_empty()))
        {
            fail(reqwest::StatusCode::OK, &v);
        }
        v
    }

    /// Delete a table (to rebuild it, as `CREATE OR REPLACE` would).
    pub async fn delete_table(&self, ds: &str, name: &str) {
        self.call(
            reqwest::Method::DELETE,
            format!("{}/{}/datasets/{ds}/tables/{name}", self.base, self.project),
            None,
        )
        .await;
    }

    /// Jobs run in `project`.
    pub async fn jobs(&self, project: &str) -> usize {
        let v = self
            .call(
                reqwest::Method::GET,
                format!("{}/{project}/jobs?maxResults=1000", self.base),
                None,
            )
            .await;
        v["jobs"].as_array().map(Vec::len).unwrap_or(0)
    }
}

/// Run a utility with `--project JOB_PROJECT --format json ARGS`; (exit code, JSON, stderr).
pub fn run_json(bin: &str, job_project: &str, args: &[&str]) -> (i32, Value, String) {
    let out = emulator_bin(bin)
        .args(["--project", job_project, "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    json_of(bin, args, out)
}

/// A run's exit status, its stdout as JSON (or a panic that says how the run ended), and
/// its stderr.
fn json_of(bin: &str, args: &[&str], out: std::process::Output) -> (i32, Value, String) {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let j: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        // No exit code: killed by a signal, or by the guard after GUARD.
        panic!(
            "{bin} {args:?}: {}; stdout is not JSON ({e}): {}\n{stderr}",
            match out.status.code() {
                Some(c) => format!("exit {c}"),
                None => format!("killed (no exit code; the guard kills after {GUARD:?})"),
            },
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap_or(-1), j, stderr)
}

/// A shell as a user has it: the built binaries and a `bq` configured for the emulator on
/// PATH, `GOOGLE_CLOUD_PROJECT=project` (the demo data's project), in a fresh directory.
pub struct Shell {
    pub dir: tempfile::TempDir,
    path: String,
}

impl Shell {
    pub fn new() -> Shell {
        let host = std::env::var("BIGQUERY_EMULATOR_HOST").unwrap_or_default();
        let dir = tempfile::tempdir().unwrap();
        let shim = dir.path().join("bin");
        std::fs::create_dir(&shim).unwrap();
        let bq = shim.join("bq");
        std::fs::write(
            &bq,
            format!(
                "#!/bin/sh\nexec /usr/bin/bq --api=http://{host} --project_id=project \
                 --discovery_file=/usr/lib/google-cloud-sdk/platform/bq/discovery_next/bigquery.json \"$@\"\n"
            ),
        )
        .unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&bq)
            .status()
            .unwrap();
        let bins = bin_path("bqcheck");
        let bins = bins.parent().unwrap();
        let path = format!(
            "{}:{}:{}",
            shim.display(),
            bins.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Shell { dir, path }
    }

    pub fn run(&self, script: &str) -> std::process::Output {
        std::process::Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(self.dir.path())
            .env("PATH", &self.path)
            .env("GOOGLE_CLOUD_PROJECT", "project")
            .env("CLOUDSDK_CONFIG", self.dir.path().join("gcloud"))
            .env("CLOUDSDK_AUTH_ACCESS_TOKEN", "dummy")
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .output()
            .unwrap()
    }
}

impl BillingProxy {
    /// Run a binary against the fake, with `--format json` and the result cache in `cache`.
    pub fn run_json(
        &self,
        bin_name: &str,
        job_project: &str,
        cache: &std::path::Path,
        args: &[&str],
    ) -> (i32, Value, String) {
        let out = bin(bin_name)
            .env("BIGQUERY_EMULATOR_HOST", &self.host)
            .env("XDG_CACHE_HOME", cache)
            .args(["--project", job_project, "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        json_of(bin_name, args, out)
    }
}
