//! `bqcheck action` as GitHub runs it: `INPUT_*` variables, `GITHUB_*` files in a temp dir, a
//! fake GitHub API (wiremock, with GitHub's documented request and response shapes) and, for
//! the end-to-end test, the BigQuery emulator.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::support::github::{comment, comments_path, PR, REPO};
use crate::support::{self, github, repo_root, FakeBigQuery, FakeGithub};

/// A recognisable fake token: it must never appear in any output.
const TOKEN: &str = "ghs_FAKE0TOKEN0bqcheck0test0123456789";
const MARKER: &str = "<!-- bqcheck:schema-diff:default -->";
const BASE_SHA: &str = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";

/// One step's files and environment.
struct Step {
    dir: tempfile::TempDir,
    api_url: String,
    inputs: Vec<(String, String)>,
    event: &'static str,
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: HashMap<String, String>,
    summary: String,
}

impl Step {
    fn new(api_url: &str, inputs: &[(&str, &str)]) -> Step {
        Step {
            dir: tempfile::tempdir().unwrap(),
            api_url: api_url.to_string(),
            inputs: inputs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            event: "pull_request",
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self) -> Ran {
        self.run_inner(None)
    }

    /// Run, and send `signal` to the step once it has polled a query job (the caller waits
    /// for that; here the signal goes out after a short delay once the job is seen).
    fn run_with_signal(&self, signal: i32) -> Ran {
        self.run_inner(Some(signal))
    }

    fn run_inner(&self, signal: Option<i32>) -> Ran {
        let event = json!({"action": "synchronize", "number": PR, "pull_request": {"number": PR,
            "base": {"ref": "main", "sha": BASE_SHA}}});
        std::fs::write(self.file("event.json"), event.to_string()).unwrap();
        let mut c = support::command("bqcheck");
        for (k, _) in std::env::vars() {
            if k.starts_with("INPUT_") || k.starts_with("GITHUB_") {
                c.env_remove(k);
            }
        }
        c.arg("action")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", self.file("output"))
            .env("GITHUB_STEP_SUMMARY", self.file("summary.md"))
            .env("GITHUB_EVENT_NAME", self.event)
            .env("GITHUB_EVENT_PATH", self.file("event.json"))
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_API_URL", &self.api_url)
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
            .env("INPUT_GITHUB_TOKEN", TOKEN)
            .env("INPUT_REPORT_DIR", self.file("reports"));
        for (k, v) in &self.inputs {
            c.env(format!("INPUT_{}", k.to_uppercase()), v);
        }
        let out = match signal {
            None => c.output().unwrap(),
            Some(sig) => {
                let child = c
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                // The job is polled within a second or two of the start.
                std::thread::sleep(std::time::Duration::from_millis(2500));
                // SAFETY: kill(2) on our own child's pid.
                unsafe {
                    libc::kill(child.id() as libc::pid_t, sig);
                }
                child.wait_with_output().unwrap()
            }
        };
        let read = |name: &str| std::fs::read_to_string(self.file(name)).unwrap_or_default();
        let ran = Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            outputs: bqcheck::github::workflow::read_outputs(&read("output")),
            summary: read("summary.md"),
        };
        // The token never appears in anything the step produced.
        let mut everything = format!("{}{}{}", ran.stdout, ran.stderr, read("output"));
        everything.push_str(&ran.summary);
        for f in ["report.json", "report.xml", "report.md"] {
            everything.push_str(&read(&format!("reports/{f}")));
        }
        assert!(
            !everything.contains(TOKEN),
            "the token leaked into the step's output"
        );
        ran
    }
}

impl Ran {
    fn out(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .unwrap_or_else(|| panic!("output {name} not written: {:?}", self.outputs))
    }
    fn log(&self) -> String {
        format!("stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr)
    }
}

/// The offline schema gate of the README: 3 pairs of schema files, 2 different, 1 breaking.
fn schema_gate() -> Vec<(&'static str, &'static str)> {
    vec![
        ("command", "schema-diff"),
        (
            "pairs",
            "examples/schemas/pr/users.json:examples/schemas/prod/users.json\n\
             examples/schemas/pr/orders.json:examples/schemas/prod/orders.json\n\
             # a comment\n\
             examples/schemas/pr/products.json:examples/schemas/prod/products.json\n",
        ),
    ]
}

#[tokio::test]
async fn creates_the_comment_when_absent_and_writes_outputs_summary_and_annotations() {
    let server = FakeGithub::start().await;
    Mock::given(method("GET"))
        .and(path(comments_path("")))
        .and(query_param("per_page", "100"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            comment(1, "LGTM"),
            comment(
                2,
                "<!-- bqcheck:profile:default -->\nanother command's comment"
            )
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(comments_path("")))
        .and(body_string_contains(MARKER))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(99, "created")))
        .expect(1)
        .mount(&server)
        .await;
    let step = Step::new(&server.uri(), &schema_gate());
    let r = step.run();
    assert_eq!(r.code, 1, "differences fail the step\n{}", r.log());
    for (k, v) in [
        ("total", "3"),
        ("identical", "1"),
        ("different", "2"),
        ("failed", "0"),
        ("breaking", "1"),
        ("anomalies", "0"),
        ("exit_code", "1"),
    ] {
        assert_eq!(r.out(k), v, "output {k}\n{}", r.log());
    }
    assert_eq!(
        r.out("comment_url"),
        format!("https://github.com/{REPO}/pull/{PR}#issuecomment-99")
    );
    for (k, f) in [
        ("report_json", "report.json"),
        ("report_junit", "report.xml"),
        ("report_markdown", "report.md"),
    ] {
        let p = PathBuf::from(r.out(k));
        assert!(p.ends_with(f) && p.exists(), "{k} = {}", p.display());
    }
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(r.out("report_json")).unwrap()).unwrap();
    assert_eq!(json["batch_summary"]["breaking"], 1);

    // The comment: marker, headline, a details block per differing pair, footer with the run.
    let body = &server.sent_bodies("POST").await[0];
    assert!(body.starts_with(MARKER), "{body}");
    assert!(
        body.contains("### ❌ bqcheck schema-diff: 1 breaking, 2 different (of 3)"),
        "{body}"
    );
    assert!(body.contains("<details open><summary><code>examples/schemas/pr/users.json"));
    assert!(body.contains("legacy_flag"), "{body}");
    assert!(body.contains(&format!(
        "[workflow run](https://github.com/{REPO}/actions/runs/4242)"
    )));
    assert!(body.contains("commit 0123456"), "{body}");

    // Job summary, annotations and log group.
    assert!(
        r.summary
            .contains("### ❌ bqcheck schema-diff: 1 breaking, 2 different (of 3)"),
        "{}",
        r.summary
    );
    assert!(r.summary.contains("## Batch Schema Diff Summary"));
    assert!(
        r.stdout
            .contains("::error title=2 breaking schema changes%3A examples/schemas/pr/users.json"),
        "{}",
        r.log()
    );
    assert!(
        r.stdout.contains("::warning title=Schema differs"),
        "{}",
        r.log()
    );
    assert!(
        r.stdout.contains("::group::bqcheck schema-diff"),
        "{}",
        r.log()
    );
    assert!(r.stdout.contains("::endgroup::"));
    assert!(r.stdout.contains("PR comment created"), "{}", r.log());
}

#[tokio::test]
async fn updates_the_comment_found_on_page_2_under_an_enterprise_api_path() {
    let server = FakeGithub::start().await;
    let prefix = "/api/v3";
    let page2 = format!(
        "{}{}?per_page=100&page=2",
        server.uri(),
        comments_path(prefix)
    );
    Mock::given(method("GET"))
        .and(path(comments_path(prefix)))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            comment(5, "unrelated"),
            comment(6, &format!("{MARKER}\n### old results")),
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(comments_path(prefix)))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    format!(r#"<{page2}>; rel="next", <{page2}>; rel="last""#).as_str(),
                )
                .set_body_json((1..=4).map(|i| comment(i, "just talk")).collect::<Vec<_>>()),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{prefix}/repos/{REPO}/issues/comments/6")))
        .respond_with(ResponseTemplate::new(200).set_body_json(comment(6, "updated")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let step = Step::new(&format!("{}{prefix}", server.uri()), &schema_gate());
    let r = step.run();
    assert_eq!(r.code, 1, "{}", r.log());
    assert!(r.stdout.contains("PR comment updated"), "{}", r.log());
    assert_eq!(
        r.out("comment_url"),
        format!("https://github.com/{REPO}/pull/{PR}#issuecomment-6")
    );
    let body = &server.sent_bodies("PATCH").await[0];
    assert!(
        body.starts_with(MARKER) && body.contains("1 breaking"),
        "{body}"
    );
}

#[tokio::test]
async fn no_call_when_the_comment_already_says_the_same() {
    // First run: capture the body the action posts.
    let first = FakeGithub::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&first)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(3, "x")))
        .expect(1)
        .mount(&first)
        .await;
    Step::new(&first.uri(), &schema_gate()).run();
    let body = first.sent_bodies("POST").await.remove(0);

    // Second run, another workflow run (another footer), same results: no write.
    let second = FakeGithub::start().await;
    let old = body.replace("actions/runs/4242", "actions/runs/1111");
    Mock::given(method("GET"))
        .and(path(comments_path("")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([comment(3, &old)])))
        .expect(1)
        .mount(&second)
        .await;
    for verb in ["POST", "PATCH"] {
        Mock::given(method(verb))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(&second)
            .await;
    }
    let r = Step::new(&second.uri(), &schema_gate()).run();
    assert_eq!(r.code, 1, "{}", r.log());
    assert!(r.stdout.contains("PR comment unchanged"), "{}", r.log());
    assert_eq!(
        r.out("comment_url"),
        format!("https://github.com/{REPO}/pull/{PR}#issuecomment-3")
    );
}

#[tokio::test]
async fn a_read_only_token_is_a_warning_and_keeps_the_exit_code() {
    for (status, pairs, expected) in [
        (403, schema_gate(), 1),
        (
            404,
            vec![
                ("command", "schema-diff"),
                (
                    "pairs",
                    "examples/schemas/prod/users.json:examples/schemas/prod/users.json",
                ),
            ],
            0,
        ),
    ] {
        let server = FakeGithub::start().await;
        Mock::given(method("GET"))
            .respond_with(github::error(
                status,
                "Resource not accessible by integration",
                "https://docs.github.com/rest/issues/comments#list-issue-comments",
            ))
            .mount(&server)
            .await;
        let r = Step::new(&server.uri(), &pairs).run();
        assert_eq!(r.code, expected, "{}", r.log());
        assert_eq!(r.out("exit_code"), expected.to_string());
        assert_eq!(r.out("comment_url"), "");
        assert!(
            r.stdout.contains(&format!(
                "::warning::no PR comment: GitHub answered {status} (Resource not accessible by integration)"
            )),
            "{}",
            r.log()
        );
    }
}

#[tokio::test]
async fn comments_only_on_pull_requests_unless_told() {
    let server = FakeGithub::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let mut step = Step::new(&server.uri(), &schema_gate());
    step.event = "push";
    let r = step.run();
    assert_eq!(r.code, 1, "{}", r.log());
    assert_eq!(r.out("comment_url"), "");
    assert!(!r.stdout.contains("PR comment"), "{}", r.log());

    let mut inputs = schema_gate();
    inputs.push(("comment", "never"));
    let r = Step::new(&server.uri(), &inputs).run();
    assert_eq!(r.out("total"), "3");
}

/// The `config` input: the gate's pairs and acknowledged changes come from the repository's
/// settings file; an input still wins over it.
#[tokio::test]
async fn the_config_input_supplies_pairs_and_accepted_changes() {
    let server = FakeGithub::start().await;
    Mock::given(method("GET"))
        .and(path(comments_path("")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(comments_path("")))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(5, "created")))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gate.yml");
    // Paths in the file are relative to it: point them back at the repository's examples.
    let root = repo_root().join("examples/schemas");
    std::fs::write(
        &config,
        format!(
            "schema_diff:\n  fail_on: breaking\n  pairs:\n    - {{ a: {r}/pr/users.json, b: {r}/prod/users.json }}\n  accept:\n    - {{ pair: \"{r}/pr/users.json:{r}/prod/users.json\", path: legacy_flag, change: removed, reason: \"dropped in #123\" }}\n    - {{ pair: \"{r}/pr/users.json:{r}/prod/users.json\", path: address.zip, change: type, reason: \"numeric zips (#124)\" }}\n",
            r = root.display()
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let step = Step::new(
        &server.uri(),
        &[("command", "schema-diff"), ("config", config.as_str())],
    );
    let r = step.run();
    assert_eq!(r.code, 0, "both breaking changes are accepted\n{}", r.log());
    assert_eq!(r.out("total"), "1", "the file's pair");
    assert_eq!(r.out("breaking"), "0");
    let body = &server.sent_bodies("POST").await[0];
    assert!(body.contains("**accepted changes (acknowledged"), "{body}");
    assert!(body.contains("numeric zips (#124)"), "{body}");
    assert!(!r.stdout.contains("::error"), "{}", r.log());

    // An input wins over the file: fail on any difference.
    let step = Step::new(
        &server.uri(),
        &[
            ("command", "schema-diff"),
            ("config", config.as_str()),
            ("fail_on", "any"),
            ("comment", "never"),
        ],
    );
    let r = step.run();
    assert_eq!(r.code, 1, "{}", r.log());

    // A bad file fails the step with its position, as an error annotation.
    std::fs::write(&config, "schema_diff:\n  fail_onn: breaking\n").unwrap();
    let step = Step::new(
        &server.uri(),
        &[
            ("command", "schema-diff"),
            ("config", config.as_str()),
            ("comment", "never"),
        ],
    );
    let r = step.run();
    assert_eq!(r.code, 2, "{}", r.log());
    assert_eq!(r.out("exit_code"), "2");
    assert!(
        r.stdout.contains("::error::")
            && r.stdout
                .contains("gate.yml:2:3: schema_diff: unknown field `fail_onn`"),
        "{}",
        r.log()
    );
}

/// Schema files for `n` pairs whose diffs are long: 80 columns renamed each.
fn long_diff_pairs(dir: &Path, n: usize) -> String {
    // Other names and another type: each column removed and one added (not renamed).
    let fields = |prefix: &str, ty: &str| {
        let f: Vec<Value> = (0..80)
            .map(|i| json!({"name": format!("{prefix}_column_with_a_long_name_{i}"), "type": ty}))
            .collect();
        Value::Array(f)
    };
    let mut pairs = String::new();
    for i in 0..n {
        let a = dir.join(format!("a{i}.json"));
        let b = dir.join(format!("b{i}.json"));
        std::fs::write(&a, fields("new", "INT64").to_string()).unwrap();
        std::fs::write(&b, fields("old", "STRING").to_string()).unwrap();
        pairs.push_str(&format!("{}:{}\n", a.display(), b.display()));
    }
    pairs
}

/// A fake GitHub with no comment on the PR yet, expecting exactly one to be created.
async fn github_taking_one_new_comment() -> FakeGithub {
    let server = FakeGithub::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(8, "x")))
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_comment_that_would_be_too_long_is_cut_to_65536_characters() {
    let server = github_taking_one_new_comment().await;
    let files = tempfile::tempdir().unwrap();
    let pairs = long_diff_pairs(files.path(), 40);
    let step = Step::new(
        &server.uri(),
        &[("command", "schema-diff"), ("pairs", &pairs)],
    );
    let r = step.run();
    assert_eq!(r.code, 1, "{}", r.log());
    let full = std::fs::read_to_string(r.out("report_markdown")).unwrap();
    assert!(
        full.chars().count() > 65_536,
        "the test needs a long report"
    );
    let body = &server.sent_bodies("POST").await[0];
    let n = body.chars().count();
    assert!(n <= 65_536, "{n} characters");
    assert!(n > 60_000, "the room is used: {n} characters");
    assert!(body.contains("### ❌ bqcheck schema-diff: 40 breaking, 40 different (of 40)"));
    assert!(
        body.contains("**Truncated** to fit"),
        "{}",
        &body[body.len() - 600..]
    );
    assert!(body.contains("The full report is in the workflow run's job summary"));
    assert!(body.contains(&format!(
        "[workflow run](https://github.com/{REPO}/actions/runs/4242)"
    )));
    // The summary table is whole: every pair has its row.
    assert_eq!(body.matches("| ❌ |").count(), 40);
    // The job summary has room for all of it.
    assert!(!r.summary.contains("Summary truncated"));
}

/// Issue 17.4: 500 pairs (5 breaking with long diffs, 50 with a compatible change, 445
/// identical): the comment stays under GitHub's limit and keeps what matters: the counts,
/// the failures first and open, the changed pairs, and one line for the identical ones.
#[tokio::test]
async fn a_500_pair_comment_keeps_failures_first_and_folds_the_identical() {
    let server = github_taking_one_new_comment().await;
    let files = tempfile::tempdir().unwrap();
    let dir = files.path();
    let fields = |names: &[String]| {
        Value::Array(
            names
                .iter()
                .map(|n| json!({"name": n, "type": "STRING"}))
                .collect(),
        )
        .to_string()
    };
    let base: Vec<String> = (0..80)
        .map(|i| format!("column_with_a_long_name_{i}"))
        .collect();
    let mut pairs = String::new();
    for i in 0..500 {
        let (a, b) = (
            dir.join(format!("a{i}.json")),
            dir.join(format!("b{i}.json")),
        );
        let mut new = base.clone();
        if i % 100 == 7 {
            // Breaking: every column renamed.
            new = base.iter().map(|c| format!("renamed_{c}")).collect();
        } else if i % 10 == 3 {
            // Compatible: a column added.
            new.push("added_column".into());
        }
        std::fs::write(&a, fields(&new)).unwrap();
        std::fs::write(&b, fields(&base)).unwrap();
        pairs.push_str(&format!("{}:{}\n", a.display(), b.display()));
    }
    let step = Step::new(
        &server.uri(),
        &[
            ("command", "schema-diff"),
            ("pairs", &pairs),
            ("fail_on", "breaking"),
        ],
    );
    let r = step.run();
    assert_eq!(r.code, 1, "{}", r.log());
    let body = &server.sent_bodies("POST").await[0];
    let n = body.chars().count();
    assert!(n <= 65_536, "{n} characters");
    // Counts first.
    assert!(
        body.contains("### ❌ bqcheck schema-diff: 5 breaking, 55 different (of 500)"),
        "{}",
        &body[..400]
    );
    // Failures, then changed pairs, then one line for the 445 identical ones.
    let table = || body.chars().take(3000).collect::<String>();
    let first_fail = body.find("| ❌ |").unwrap_or_else(|| panic!("{}", table()));
    let first_changed = body
        .find("| ✅ | `")
        .unwrap_or_else(|| panic!("{}", table()));
    let quiet = body
        .find("| ✅ | 445 × identical |")
        .unwrap_or_else(|| panic!("{body}"));
    assert!(first_fail < first_changed && first_changed < quiet);
    assert_eq!(body.matches("| ❌ |").count(), 5);
    assert_eq!(body.matches("| ✅ | `").count(), 50);
    // Details: the failures' first, open, as many as fit (each lists 160 changes); at most
    // 50 in all, and the note says where the rest are.
    let open = body.matches("<details open>").count();
    assert!(open >= 1, "{open}");
    assert!(body.matches("<details").count() <= 50);
    if let Some(closed) = body.find("<details>") {
        assert!(body.rfind("<details open>").unwrap() < closed);
    }
    assert!(
        body.contains("details of"),
        "the note counts what is left out"
    );
    assert!(body.contains("The full report is in the workflow run's job summary"));
    // The full Markdown report lists every changed pair, and folds the identical ones too.
    let full = std::fs::read_to_string(r.out("report_markdown")).unwrap();
    assert_eq!(
        full.matches("<details").count(),
        55,
        "all details in the file"
    );
    assert!(full.contains("| ✅ | 445 × identical |"));
}

#[test]
fn bad_inputs_are_reported_as_errors_with_outputs_written() {
    let step = Step::new(
        "http://127.0.0.1:9",
        &[
            ("command", "schema-diff"),
            ("key", "id"),
            ("pairs", "dev.t1:prod.t1"),
        ],
    );
    let r = step.run();
    assert_eq!(r.code, 2, "{}", r.log());
    assert!(
        r.stdout
            .contains("::error::input `key` applies to table-compare only, not to schema-diff"),
        "{}",
        r.log()
    );
    assert_eq!(r.out("exit_code"), "2");
    assert_eq!(r.out("total"), "0");

    let step = Step::new(
        "http://127.0.0.1:9",
        &[("command", "schema-diff"), ("pairs", "dev.t1:prod.t$1\n")],
    );
    let r = step.run();
    assert_eq!(r.code, 2, "{}", r.log());
    assert!(
        r.stderr.contains("input `pairs`:1:"),
        "the bad line is named by input and line\n{}",
        r.log()
    );
    assert!(
        r.stdout.contains("::error::input refused: input `pairs`:1: in pair `dev.t1:prod.t$1`: `prod.t$1`: invalid table id"),
        "the reason reaches the checks page as an annotation\n{}",
        r.log()
    );
}

/// The whole action against the emulator: table-compare of seeded tables, comment on the fake
/// GitHub.
#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn end_to_end_table_compare_against_the_emulator() {
    let host = support::emulator_host();
    let server = FakeGithub::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(comments_path("")))
        .and(body_string_contains(
            "<!-- bqcheck:table-compare:nightly -->",
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(11, "x")))
        .expect(1)
        .mount(&server)
        .await;
    let api = format!("http://{}", host.trim_start_matches("http://"));
    let jobs = support::job_project("action-e2e");
    let step = Step::new(
        &server.uri(),
        &[
            ("command", "table-compare"),
            (
                "pairs",
                "project.staging.t1:project.prod.t1\nproject.staging.t2 project.prod.t2\nproject.staging.nope:project.prod.t1",
            ),
            ("api_url", &api),
            ("project", &jobs),
            ("parallel", "2"),
            ("skip_stats", "true"),
            ("sample_size", "5"),
            ("comment_tag", "nightly"),
        ],
    );
    let r = step.run();
    assert_eq!(r.code, 2, "a missing table is trouble\n{}", r.log());
    for (k, v) in [
        ("total", "3"),
        ("identical", "0"),
        ("different", "2"),
        ("failed", "1"),
        ("exit_code", "2"),
        // The emulator bills nothing (real BigQuery: 10 MiB or more per query).
        ("bytes_billed", "0"),
        ("cost_usd", "0.000000"),
    ] {
        assert_eq!(r.out(k), v, "output {k}\n{}", r.log());
    }
    assert!(
        r.stdout.contains(
            "::error title=bq-table-compare%3A project.staging.nope ↔ project.prod.t1 could not be checked::"
        ),
        "{}",
        r.log()
    );
    assert!(
        r.stdout
            .contains("::error title=bq-table-compare%3A project.staging.t1 ↔ project.prod.t1::"),
        "{}",
        r.log()
    );
    let body = &server.sent_bodies("POST").await[0];
    assert!(
        body.contains("### ⚠️ bqcheck table-compare: 1 failed, 2 different (of 3)"),
        "{body}"
    );
    assert!(
        body.contains("project.staging.t1 ↔ project.prod.t1"),
        "{body}"
    );
    assert!(r.summary.contains("Batch Table Compare Summary"));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(r.out("report_json")).unwrap()).unwrap();
    assert_eq!(json["batch_summary"]["different"], 2, "{json:#}");
    let junit = std::fs::read_to_string(r.out("report_junit")).unwrap();
    assert!(junit.contains(r#"tests="3""#), "{junit}");
    // Issue 14.8: example rows are table data. The report keeps them; the public log does not.
    let samples: usize = json["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = &c["rows"]["samples"];
            ["only_in_a", "only_in_b", "changed"]
                .iter()
                .map(|k| s[k].as_array().map_or(0, Vec::len))
                .sum::<usize>()
        })
        .sum();
    assert!(samples > 0, "the report has example rows: {json:#}");
    assert!(
        r.stdout.contains("only in A"),
        "counts stay in the log\n{}",
        r.log()
    );
    assert!(
        r.stdout
            .contains("example rows are table data, left out here"),
        "the log says where the example rows went\n{}",
        r.log()
    );
    // Each example-row table is replaced by that line: no title of one is followed by rows.
    for line in r.stdout.lines().map(str::trim_start) {
        if ["only in A (", "only in B (", "changed ("]
            .iter()
            .any(|t| line.starts_with(t))
        {
            assert!(
                line.contains("example rows are table data, left out here"),
                "example rows in the log: {line}\n{}",
                r.log()
            );
        }
    }
}

/// A Docker action's runner may hand the `args` input to the container as arguments too:
/// they are ignored, the input is read from INPUT_ARGS.
#[test]
fn trailing_container_arguments_are_ignored() {
    let out = support::bin("bqcheck")
        .args(["action", "--where", "x > 1"])
        .env("INPUT_COMMAND", "schema-diff")
        .env(
            "INPUT_PAIRS",
            "examples/schemas/prod/users.json:examples/schemas/prod/users.json",
        )
        .env("INPUT_COMMENT", "never")
        .env("INPUT_REPORT_DIR", tempfile::tempdir().unwrap().path())
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A POST answered with a 5xx may have created the comment anyway: it is never retried, so no
/// duplicate appears; the step warns and keeps its result.
#[tokio::test]
async fn a_failed_create_is_not_retried_into_duplicates() {
    let server = FakeGithub::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502).set_body_json(json!({"message": "Bad gateway"})))
        .expect(1)
        .mount(&server)
        .await;
    let r = Step::new(&server.uri(), &schema_gate()).run();
    assert_eq!(r.code, 1, "{}", r.log());
    assert!(r.stdout.contains("::warning::no PR comment"), "{}", r.log());
    server.verify().await;
}

/// SIGTERM mid-run (a newer push cancelled this run): the outputs say 143, the reports are
/// written, and the PR comment is left to the run that replaced this one.
#[tokio::test]
async fn a_cancelled_run_writes_its_outputs_and_leaves_the_comment_alone() {
    let github = FakeGithub::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&github)
        .await;
    let bigquery = FakeBigQuery::start().await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(r"/tables/[^/]+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "type": "TABLE", "location": "US",
            "schema": {"fields": [{"name": "id", "type": "INTEGER"}]}})))
        .mount(&bigquery)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "jobReference": {"projectId": "billing", "jobId": "slow", "location": "US"},
            "jobComplete": false})))
        .mount(&bigquery)
        .await;
    Mock::given(method("GET"))
        .and(path("/bigquery/v2/projects/billing/queries/slow"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"jobComplete": false}))
                .set_delay(std::time::Duration::from_millis(100)),
        )
        .mount(&bigquery)
        .await;
    let step = Step::new(
        &github.uri(),
        &[
            ("command", "table-compare"),
            ("pairs", "acme.d.a:acme.d.b"),
            ("api_url", &bigquery.uri()),
            ("project", "billing"),
            ("skip_stats", "true"),
        ],
    );
    let polled = async {
        loop {
            let reqs = bigquery.received_requests().await.unwrap_or_default();
            if reqs.iter().any(|r| r.url.path().ends_with("/queries/slow")) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let run = tokio::task::spawn_blocking(move || step.run_with_signal(libc::SIGTERM));
    tokio::time::timeout(std::time::Duration::from_secs(20), polled)
        .await
        .expect("the job was polled");
    let r = run.await.unwrap();
    assert_eq!(r.code, 143, "{}", r.log());
    assert_eq!(r.out("exit_code"), "143");
    assert_eq!(r.out("total"), "1");
    assert_eq!(r.out("failed"), "1");
    assert_eq!(r.out("comment_url"), "");
    assert!(
        r.stdout
            .contains("no PR comment: the run was cancelled (SIGTERM)"),
        "{}",
        r.log()
    );
    github.verify().await;
}

/// Issue 14.2: a schema file (a pull request's) whose description and column name carry
/// workflow commands and terminal escapes. No line of the data may act as a command: the
/// report is fenced by `::stop-commands::TOKEN` … `::TOKEN::`, the data is printed escaped,
/// and bqcheck's own annotations come after the fence, alive.
#[tokio::test]
async fn workflow_commands_in_data_are_dead_in_the_log() {
    let server = FakeGithub::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(5, "x")))
        .mount(&server)
        .await;
    let step = Step::new(&server.uri(), &[]);
    let evil = json!([
        {"name": "id", "type": "INTEGER"},
        {"name": "note", "type": "STRING", "description": "ok\n::stop-commands::pwned\n::add-mask::INT64\u{1b}[2J"},
    ]);
    let base = json!([
        {"name": "id", "type": "INTEGER"},
        {"name": "note", "type": "STRING", "description": "ok"},
        {"name": "x\n::warning::planted", "type": "STRING"},
    ]);
    std::fs::write(step.file("pr.json"), evil.to_string()).unwrap();
    std::fs::write(step.file("base.json"), base.to_string()).unwrap();
    let pairs = format!(
        "{}:{}",
        step.file("pr.json").display(),
        step.file("base.json").display()
    );
    let step = Step {
        inputs: vec![
            ("command".into(), "schema-diff".into()),
            ("pairs".into(), pairs),
        ],
        ..step
    };
    let r = step.run();
    assert_eq!(r.code, 1, "{}", r.log());
    let lines: Vec<&str> = r.stdout.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("::stop-commands::"))
        .unwrap_or_else(|| panic!("no fence\n{}", r.log()));
    let token = lines[start].trim_start_matches("::stop-commands::");
    assert_eq!(token.len(), 32, "a 128-bit random token");
    assert_ne!(token, "pwned");
    let end = lines
        .iter()
        .position(|l| *l == format!("::{token}::"))
        .unwrap_or_else(|| panic!("fence not closed\n{}", r.log()));
    // Inside the fence: the report, with the data escaped onto its own lines' text.
    let inside = lines[start + 1..end].join("\n");
    assert!(inside.contains("note"), "{inside}");
    assert!(
        inside.contains("\\n::stop-commands::pwned\\n::add-mask::INT64\\u{1b}[2J"),
        "{inside}"
    );
    // No line anywhere (fenced or not) starts with the data's commands, and no raw ESC.
    for l in r.stdout.lines().chain(r.stderr.lines()) {
        assert!(
            !l.starts_with("::stop-commands::pwned")
                && !l.starts_with("::add-mask::")
                && !l.starts_with("::warning::planted"),
            "live command from data: {l}"
        );
    }
    assert!(!r.stdout.contains('\u{1b}'), "raw terminal escape");
    // bqcheck's own annotations come after the fence, where commands work again.
    let annotation = lines
        .iter()
        .position(|l| l.starts_with("::error") || l.starts_with("::warning"))
        .unwrap_or_else(|| panic!("no annotation\n{}", r.log()));
    assert!(
        annotation > end,
        "annotations must follow the fence\n{}",
        r.log()
    );
}

/// Issue 14.3: anyone can write our marker into a comment. A planted "✅ no differences"
/// by another user is never adopted (nor a quote of ours): the real result is posted anew.
/// A token that can say who it is (GET /user) adopts that identity's own comment.
#[tokio::test]
async fn only_the_tokens_own_comment_is_updated() {
    let server = FakeGithub::start().await;
    let mut planted = comment(
        3,
        &format!("{MARKER}\n### ✅ bqcheck schema-diff: no differences"),
    );
    planted["user"] = json!({"login": "mallory", "id": 666, "type": "User"});
    let quoted = comment(4, &format!("> {MARKER}\n> was this right?"));
    Mock::given(method("GET"))
        .and(path(comments_path("")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([planted, quoted])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(comments_path("")))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(99, "created")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(200).set_body_json(comment(3, "patched")))
        .expect(0)
        .mount(&server)
        .await;
    let r = Step::new(&server.uri(), &schema_gate()).run();
    assert_eq!(r.code, 1, "{}", r.log());
    assert!(
        r.out("comment_url").ends_with("issuecomment-99"),
        "{}",
        r.log()
    );
    let posted = server.sent_bodies("POST").await;
    assert!(
        posted[0].contains("breaking"),
        "the real result: {}",
        posted[0]
    );
    server.verify().await;

    // A personal token: GET /user names it, and its own marked comment is updated.
    let server = FakeGithub::start().await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"login": "ci-user", "id": 7})),
        )
        .mount(&server)
        .await;
    let mut mine = comment(8, &format!("{MARKER}\nold result"));
    mine["user"] = json!({"login": "ci-user", "id": 7, "type": "User"});
    let bots = comment(9, &format!("{MARKER}\nthe bot's, not this token's"));
    Mock::given(method("GET"))
        .and(path(comments_path("")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([bots, mine])))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/repos/{REPO}/issues/comments/8")))
        .respond_with(ResponseTemplate::new(200).set_body_json(comment(8, "patched")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(99, "created")))
        .expect(0)
        .mount(&server)
        .await;
    let r = Step::new(&server.uri(), &schema_gate()).run();
    assert_eq!(r.code, 1, "{}", r.log());
    server.verify().await;
}

/// Issue 14.6: on a pull request `.bqcheck.yml` is the PR author's. It may not make bqcheck
/// read files outside the workspace: not /proc/self/environ (whose refusal echoed
/// INPUT_GITHUB_TOKEN), not `../`, not a symlink out. Nothing of such a file is printed.
#[tokio::test]
async fn a_pull_requests_config_cannot_name_files_outside_the_workspace() {
    let server = FakeGithub::start().await;
    let step = Step::new(&server.uri(), &[]);
    let link = repo_root().join(format!("target-link-{}", std::process::id()));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("/proc/self/environ", &link).unwrap();
    for (key, value) in [
        (
            "schema_diff:\n  pairs_file",
            "/proc/self/environ".to_string(),
        ),
        (
            "schema_diff:\n  pairs_file",
            "../../../../../../../../etc/passwd".to_string(),
        ),
        ("schema_diff:\n  pairs_file", link.display().to_string()),
        ("credentials", "/etc/hostname".to_string()),
        ("report_json", "/tmp/elsewhere.json".to_string()),
    ] {
        let config = step.file("pr.yml");
        std::fs::write(&config, format!("{key}: {value}\n")).unwrap();
        let step = Step {
            dir: tempfile::tempdir().unwrap(),
            api_url: server.uri(),
            inputs: vec![
                ("command".into(), "schema-diff".into()),
                ("config".into(), config.display().to_string()),
            ],
            event: "pull_request",
        };
        let r = step.run();
        assert_eq!(r.code, 2, "{key}: {value}\n{}", r.log());
        assert!(
            r.stdout.contains("outside the workspace"),
            "{key}: {value}\n{}",
            r.log()
        );
        for leaked in ["INPUT_", "root:x:0:0"] {
            assert!(!r.log().contains(leaked), "{leaked} leaked\n{}", r.log());
        }
    }
    let _ = std::fs::remove_file(&link);
    // A push runs the repository's own config: its choice of files is trusted.
    let config = step.file("own.yml");
    std::fs::write(&config, "report_json: /tmp/bqcheck-own-report.json\n").unwrap();
    let push = Step {
        dir: tempfile::tempdir().unwrap(),
        api_url: server.uri(),
        inputs: schema_gate()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([("config".to_string(), config.display().to_string())])
            .collect(),
        event: "push",
    };
    let r = push.run();
    assert_eq!(r.code, 1, "{}", r.log());
    assert!(!r.stdout.contains("outside the workspace"), "{}", r.log());
}

/// Issue 14.6: `config_from_base: true` runs the gate with the base commit's config (from
/// GitHub's contents API), not the PR's copy; a base without the file means no config.
#[tokio::test]
async fn config_from_base_uses_the_base_commits_file() {
    let server = FakeGithub::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/repos/{REPO}/contents/examples/.bqcheck.yml"
        )))
        .and(query_param("ref", BASE_SHA))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("accept", "application/vnd.github.raw+json"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("schema_diff:\n  fail_on: never\n"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/contents/.bqcheck.yml")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&server)
        .await;
    let mut inputs = schema_gate();
    inputs.push(("comment", "never"));
    inputs.push(("config_from_base", "true"));
    // The PR's examples/.bqcheck.yml fails this gate (exit 1); the base's says fail_on: never.
    let mut with_config = inputs.clone();
    with_config.push(("config", "examples/.bqcheck.yml"));
    let r = Step::new(&server.uri(), &with_config).run();
    assert_eq!(r.code, 0, "the base's fail_on: never\n{}", r.log());
    // Without a config on the base: no config at all, and the default gate fails.
    let r = Step::new(&server.uri(), &inputs).run();
    assert_eq!(r.code, 1, "{}", r.log());
    server.verify().await;
    let leftovers: Vec<_> = std::fs::read_dir(repo_root().join("examples"))
        .unwrap()
        .chain(std::fs::read_dir(repo_root()).unwrap())
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".bqcheck-base-")
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary config left behind: {leftovers:?}"
    );
}
