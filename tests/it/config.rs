//! `.bqcheck.yml` as a user meets it: the file in the working directory or `--config`,
//! `bqcheck config check`, flags over the file, pairs from the file or the command line,
//! accepted schema changes in every report, and errors with their line and column. Offline
//! (schema files) except the table-compare and profile sections, which run on the emulator.

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::{json, Value};

use crate::support::{self, bin, emulator_bin, job_project, Emu};

fn examples() -> PathBuf {
    support::repo_root().join("examples")
}

/// A directory holding the example schema files and this `.bqcheck.yml`.
fn repo_with(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let schemas = dir.path().join("schemas");
    for side in ["pr", "prod"] {
        std::fs::create_dir_all(schemas.join(side)).unwrap();
        for t in ["users", "orders", "products"] {
            std::fs::copy(
                examples().join(format!("schemas/{side}/{t}.json")),
                schemas.join(format!("{side}/{t}.json")),
            )
            .unwrap();
        }
    }
    std::fs::write(dir.path().join(".bqcheck.yml"), config).unwrap();
    dir
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(c: &mut Command) -> Out {
    let o = c.output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

const GATE: &str = r#"
schema_diff:
  fail_on: breaking
  pairs:
    - { a: schemas/pr/users.json, b: schemas/prod/users.json }
    - { a: schemas/pr/orders.json, b: schemas/prod/orders.json }
  accept:
    - { pair: "schemas/pr/users.json:schemas/prod/users.json", path: legacy_flag, change: removed, reason: "dropped in #123" }
    - { pair: "schemas/pr/users.json:schemas/prod/users.json", path: address.zip, change: type, reason: "zip codes are numeric now (#124)" }
    # Stale: orders.json never had such a change.
    - { pair: "schemas/pr/orders.json:schemas/prod/orders.json", path: status, change: removed, reason: "old" }
"#;

#[test]
fn accepted_changes_pass_the_gate_and_show_in_every_report() {
    let repo = repo_with(GATE);
    let d = repo.path();
    let r = run(bin("bqcheck").current_dir(d).args([
        "schema-diff",
        "--report-json",
        "r.json",
        "--report-junit",
        "r.xml",
        "--report-markdown",
        "r.md",
    ]));
    // Both breaking changes are acknowledged: the breaking gate passes.
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // Text: the pair's headline counts them; they are listed apart, each with its reason.
    assert!(
        r.stdout.contains(
            "schemas/pr/users.json ↔ schemas/prod/users.json: 7 changes (4 compatible, 1 cosmetic, 2 accepted)"
        ),
        "{}",
        r.stdout
    );
    let accepted = r
        .stdout
        .split("  accepted changes (acknowledged in the config file; they do not fail the gate):\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no accepted changes: {}", r.stdout));
    assert!(
        accepted.starts_with(
            "    - legacy_flag  breaking    column removed: BOOL NULLABLE  (dropped in #123)\n"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("  Breaking: 0\n"), "{}", r.stdout);
    assert!(r.stdout.contains("  Accepted changes: 2\n"), "{}", r.stdout);
    // The stale entry is a warning naming it.
    assert!(
        r.stderr.contains(
            "warning: .bqcheck.yml (schema_diff.accept[2]): schemas/pr/orders.json:schemas/prod/orders.json status column_removed matched no change"
        ),
        "{}",
        r.stderr
    );
    // JSON: accepted: true with the reason; counts leave accepted changes out.
    let j: Value = serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
    let users = &j["comparisons"][0];
    let removed = users["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "legacy_flag")
        .unwrap();
    assert_eq!(removed["accepted"], true);
    assert_eq!(removed["reason"], "dropped in #123");
    assert_eq!(removed["class"], "breaking", "the class is still reported");
    let email = users["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "email")
        .unwrap();
    assert_eq!(email.get("accepted"), None);
    assert_eq!(users["breaking"], false);
    assert_eq!(
        users["counts"],
        json!({"breaking": 0, "compatible": 4, "cosmetic": 1, "accepted": 2})
    );
    assert_eq!(j["batch_summary"]["accepted"], 2);
    assert_eq!(j["stale_accepts"].as_array().map(Vec::len), Some(1));
    // JUnit: the pair passed, with the accepted changes and their reasons as its output.
    let xml = std::fs::read_to_string(d.join("r.xml")).unwrap();
    assert!(xml.contains(r#"failures="0""#), "{xml}");
    assert!(xml.contains("<system-out>"), "{xml}");
    assert!(
        xml.contains("breaking    type STRING(10) → INT64  (zip codes are numeric now (#124))"),
        "{xml}"
    );
    // Markdown: a section of their own, with the reasons.
    let md = std::fs::read_to_string(d.join("r.md")).unwrap();
    let section = md
        .split("**accepted changes (acknowledged in the config file; they do not fail the gate)**")
        .nth(1)
        .unwrap_or_else(|| panic!("no accepted section: {md}"));
    assert!(
        section.contains("| `-` | `legacy_flag` | breaking |"),
        "{md}"
    );
    assert!(section.contains("dropped in #123"), "{md}");
    assert!(
        md.contains("> ⚠️ .bqcheck.yml (schema_diff.accept\\[2]): schemas/pr/orders.json"),
        "the stale entry is in the report: {md}"
    );
    let before = md.split("**accepted changes").next().unwrap();
    assert!(
        !before.contains("`legacy_flag`"),
        "not in the main table: {md}"
    );
}

#[test]
fn an_accept_entry_names_schema_files_relative_to_its_file() {
    // The file lives in ci/; the pair is given on the command line from the root.
    let repo = repo_with("");
    let ci = repo.path().join("ci");
    std::fs::create_dir(&ci).unwrap();
    std::fs::write(
        ci.join("gate.yml"),
        "schema_diff:\n  fail_on: breaking\n  accept:\n    - { pair: \"../schemas/pr/users.json:../schemas/prod/users.json\", path: legacy_flag, change: removed, reason: r }\n    - { pair: \"../schemas/pr/users.json:../schemas/prod/users.json\", path: address.zip, change: type, reason: r }\n",
    )
    .unwrap();
    let r = run(bin("bq-schema-diff").current_dir(repo.path()).args([
        "--config",
        "ci/gate.yml",
        "./schemas/pr/users.json:schemas/prod/users.json",
    ]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("2 accepted"), "{}", r.stdout);
    assert!(!r.stderr.contains("matched no change"), "{}", r.stderr);
}

#[test]
fn an_accept_entry_matches_only_its_change() {
    // Right path, wrong kind: the removal is not acknowledged and the gate fails.
    let repo = repo_with(
        r#"
schema_diff:
  fail_on: breaking
  pairs: [ { a: schemas/pr/users.json, b: schemas/prod/users.json } ]
  accept:
    - { pair: "schemas/pr/users.json:schemas/prod/users.json", path: legacy_flag, change: type, reason: "x" }
"#,
    );
    let r = run(bin("bq-schema-diff")
        .current_dir(repo.path())
        .args(["--format", "json"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["batch_summary"]["breaking"], 1);
    assert_eq!(j["batch_summary"]["accepted"], 0);
    assert!(r.stderr.contains("matched no change"), "{}", r.stderr);
}

#[test]
fn flags_win_over_the_file_and_command_line_pairs_replace_its_pairs() {
    let repo = repo_with(&format!("format: json\n{GATE}"));
    let d = repo.path();
    // The file's format.
    let r = run(bin("bq-schema-diff").current_dir(d));
    assert!(r.stdout.trim_start().starts_with('{'), "{}", r.stdout);
    // A flag wins, even when it names the default.
    let r =
        run(bin("bq-schema-diff")
            .current_dir(d)
            .args(["--format", "text", "--fail-on", "any"]));
    assert!(r.stdout.starts_with("A vs B"), "{}", r.stdout);
    assert_eq!(r.code, 1, "--fail-on any: compatible changes fail");
    // Pairs on the command line replace the file's (accept entries still apply).
    let r = run(bin("bq-schema-diff")
        .current_dir(d)
        .args(["schemas/pr/products.json:schemas/prod/products.json"]));
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["batch_summary"]["total_pairs"], 1, "{}", r.stdout);
    assert_eq!(r.code, 0);
    // So do pairs on stdin... only when nothing names a pair; with the file's pairs stdin is
    // not read (a CI step's stdin must not hang the gate).
    let r = run(bin("bq-schema-diff")
        .current_dir(d)
        .write_stdin("garbage that is not a pair\n"));
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["batch_summary"]["total_pairs"], 2, "{}", r.stderr);
}

#[test]
fn config_check_prints_the_effective_settings() {
    let repo = repo_with(&format!(
        "parallel: 3\ntimeout: 2m\n{GATE}\nprofile:\n  tables: [prod.users]\n  anomalies: {{ stale_after: 2w }}\n"
    ));
    let r = run(bin("bqcheck")
        .current_dir(repo.path())
        .args(["config", "check"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("# .bqcheck.yml is valid."),
        "{}",
        r.stdout
    );
    let v: Value = serde_yaml_ng::from_str(&r.stdout).unwrap();
    assert_eq!(v["schema_diff"]["parallel"], 3);
    assert_eq!(v["schema_diff"]["timeout"], 120);
    assert_eq!(v["schema_diff"]["fail_on"], "breaking");
    assert_eq!(v["schema_diff"]["pairs"][0]["a"], "schemas/pr/users.json");
    assert_eq!(v["schema_diff"]["accept"][1]["change"], "type_changed");
    assert_eq!(
        v["table_compare"]["parallel"], 3,
        "top-level keys reach every command"
    );
    assert_eq!(v["table_compare"]["fail_on"], "any", "a default");
    assert_eq!(v["profile"]["detect_anomalies"], true);
    assert_eq!(v["profile"]["stale_after"], 14.0);
    assert_eq!(v["profile"]["tables"], json!(["prod.users"]));

    // A pair's own where/partitions are shown beside a section-level where, as a run uses
    // them (the section's applies to the other pairs).
    let repo = repo_with(
        "table_compare:\n  where: \"x > 1\"\n  pairs:\n    - { a: d.a, b: p.a, where: \"y > 2\", partitions: \"since:7d\" }\n    - { a: d.b, b: p.b }\n",
    );
    let r = run(bin("bqcheck")
        .current_dir(repo.path())
        .args(["config", "check"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_yaml_ng::from_str(&r.stdout).unwrap();
    let t = &v["table_compare"];
    assert_eq!(t["where"], "x > 1", "{}", r.stdout);
    assert_eq!(t["pairs"][0]["where"], "y > 2", "{}", r.stdout);
    assert_eq!(t["pairs"][0]["partitions"], "since:7d", "{}", r.stdout);
    assert_eq!(t["pairs"][1].get("where"), None, "{}", r.stdout);

    // The shipped example is valid, and its paths resolve from where it lives.
    let r = run(bin("bqcheck").current_dir(support::repo_root()).args([
        "config",
        "check",
        "--config",
        "examples/.bqcheck.yml",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("- a: examples/schemas/pr/users.json"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_bad_file_is_refused_with_its_line_and_column_before_anything_runs() {
    for (config, want) in [
        (
            "schema_diff:\n  fail_on: breaking\n  failon: never\n",
            ".bqcheck.yml:3:3: schema_diff: unknown field `failon`",
        ),
        (
            "parallel: 8\ntable_compare:\n  tolerance: lots\n",
            ".bqcheck.yml:3:14: table_compare.tolerance: `lots` is not a number",
        ),
        (
            "schema_diff:\n  pairs:\n    - { a: dev.users, b: \"prod..users\" }\n",
            ".bqcheck.yml:3:26: schema_diff.pairs[0].b: ",
        ),
        ("parallel: [1\n", ".bqcheck.yml:"),
    ] {
        let repo = repo_with(config);
        for (name, args) in [
            ("bq-schema-diff", vec!["dev.a:prod.a"]),
            ("bq-table-compare", vec!["dev.a:prod.a"]),
            ("bqcheck", vec!["profile", "dev.a"]),
            ("bqcheck", vec!["config", "check"]),
        ] {
            let mut c = bin(name);
            c.current_dir(repo.path());
            c.args(&args);
            if args[0] != "config" {
                // An endpoint that answers nothing: a request would show as a connection error.
                c.args(["--api-url", "http://127.0.0.1:9"]);
            }
            let r = run(&mut c);
            assert_eq!(r.code, 2, "{name} {args:?}: {}", r.stderr);
            assert!(
                r.stderr.starts_with(&format!("error: {want}")),
                "{name} {args:?} with {config:?}: {}",
                r.stderr
            );
            assert!(
                !r.stderr.contains("127.0.0.1:9"),
                "no request: {}",
                r.stderr
            );
        }
    }
    // --config names a file that must exist.
    let dir = tempfile::tempdir().unwrap();
    let r = run(bin("bq-schema-diff")
        .current_dir(dir.path())
        .args(["--config", "nope.yml", "a.json", "b.json"]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .starts_with("error: cannot read config file nope.yml:"),
        "{}",
        r.stderr
    );
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn table_compare_pairs_carry_their_key_and_filter_and_profile_its_thresholds() {
    let emu = Emu::new("bqcheck-config");
    let ds = emu.dataset("cfg").await;
    let schema = json!([{"name": "id", "type": "INTEGER"}, {"name": "name", "type": "STRING"}]);
    let row = |i: i64, n: Option<&str>| json!({"id": i, "name": n});
    let a = emu
        .table(
            &ds,
            "a",
            schema.clone(),
            json!({}),
            vec![row(1, Some("x")), row(2, Some("y")), row(3, None)],
        )
        .await;
    let changed = vec![row(1, Some("x")), row(2, Some("CHANGED")), row(3, None)];
    let b = emu
        .table(&ds, "b", schema.clone(), json!({}), changed.clone())
        .await;
    let c = emu.table(&ds, "c", schema, json!({}), changed).await;
    let jobs = job_project("cfg-jobs");
    let repo = repo_with(&format!(
        "project: {jobs}\nformat: json\ntable_compare:\n  pairs:\n    - {{ a: {a}, b: {b}, key: [id], where: \"id <> 2\" }}\n    - {{ a: {a}, b: {c}, key: [id] }}\nprofile:\n  tables: [ {a} ]\n  anomalies: {{ null_rate: 0.2 }}\n"
    ));
    let r = run(emulator_bin("bq-table-compare").current_dir(repo.path()));
    let j: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", r.stdout, r.stderr));
    // The first pair's filter leaves out the changed row; the second pair sees it.
    let c = j["comparisons"].as_array().unwrap();
    assert_eq!(c.len(), 2, "{}", r.stderr);
    assert_eq!(c[0]["identical"], true, "{:#}", c[0]);
    assert_eq!(c[0]["row_count"], json!({"a": 2, "b": 2}));
    assert_eq!(c[1]["identical"], false);
    assert_eq!(c[1]["rows"]["key"], json!(["id"]));
    assert_eq!(c[1]["rows"]["changed"], 1);
    assert_eq!(r.code, 1);

    // A pair's own `partitions` reaches its compare (these tables are not partitioned: the
    // pair fails, saying so, while the pair without one is compared).
    let parts = repo_with(&format!(
        "project: {jobs}\nformat: json\ntable_compare:\n  pairs:\n    - {{ a: {a}, b: {b}, key: [id], partitions: \"since:7d\" }}\n    - {{ a: {a}, b: {a}, key: [id] }}\n"
    ));
    let r = run(emulator_bin("bq-table-compare").current_dir(parts.path()));
    let j: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", r.stdout, r.stderr));
    let e = j["errors"][0]["error"].as_str().unwrap_or_default();
    assert!(
        e.starts_with(&format!(
            "--partitions since:7d: A ({a}): it is not partitioned by time"
        )),
        "{j:#}"
    );
    assert_eq!(j["comparisons"][0]["identical"], true, "{j:#}");
    assert_eq!(r.code, 2);

    // profile: the file's table and its null-rate threshold (1 of 3 names is null: 33% > 20%).
    let r = run(emulator_bin("bq-profile").current_dir(repo.path()));
    let j: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", r.stdout, r.stderr));
    let p = &j["profiles"][0];
    assert_eq!(p["table_id"], a.as_str());
    let rules: Vec<&str> = p["profile"]["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["rule"].as_str())
        .collect();
    assert!(rules.contains(&"high_null_rate"), "{rules:?}");
    // A flag wins: at 0.5 the column is not flagged.
    let r = run(emulator_bin("bq-profile")
        .current_dir(repo.path())
        .args(["--null-rate-threshold", "0.5"]));
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    let rules: Vec<&str> = j["profiles"][0]["profile"]["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["rule"].as_str())
        .collect();
    assert!(!rules.contains(&"high_null_rate"), "{rules:?}");
}
