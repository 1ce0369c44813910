//! Integration tests against the local BigQuery emulator (`scripts/emulator start`, or run
//! everything with `scripts/test`). Without the `emulator-tests` feature they are ignored,
//! with the reason; with it they need `BIGQUERY_EMULATOR_HOST`, and without that they fail
//! with a message saying how to start the emulator, rather than silently passing.

use serde_json::{json, Value};

use crate::support::{self, emulator_bin as bin, Emu};

const PROJECT: &str = "bqcheck-it";

/// A table with a schema and no rows.
async fn create(emu: &Emu, ds: &str, name: &str, fields: Value) {
    emu.table(ds, name, fields, json!({}), vec![]).await;
}

fn json_out(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// (path, kind, class) of every change of comparison `i`.
fn changes(j: &Value, i: usize) -> Vec<(String, String, String)> {
    j["comparisons"][i]["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no changes array in {j:#}"))
        .iter()
        .map(|c| {
            (
                c["path"].as_str().unwrap_or_default().to_string(),
                c["kind"].as_str().unwrap_or_default().to_string(),
                c["class"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn triple(p: &str, k: &str, c: &str) -> (String, String, String) {
    (p.into(), k.into(), c.into())
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn nested_schemas_and_legacy_type_names() {
    let emu = Emu::new(PROJECT);
    let dev = emu.dataset("dev").await;
    let prod = emu.dataset("prod").await;
    // prod in legacy names, dev in standard names.
    create(
        &emu,
        &prod,
        "users",
        json!([
            {"name": "id", "type": "INTEGER", "mode": "REQUIRED"},
            {"name": "active", "type": "BOOLEAN"},
            {"name": "score", "type": "FLOAT"},
            {"name": "age", "type": "INTEGER"},
            {"name": "address", "type": "RECORD", "fields": [
                {"name": "zip", "type": "STRING"},
                {"name": "city", "type": "STRING"},
                {"name": "geo", "type": "RECORD", "fields": [{"name": "lat", "type": "FLOAT"}]}
            ]},
            {"name": "items", "type": "RECORD", "mode": "REPEATED", "fields": [
                {"name": "sku", "type": "STRING"}, {"name": "qty", "type": "INTEGER"}
            ]}
        ]),
    )
    .await;
    create(&emu, &dev, "users", json!([
            {"name": "id", "type": "INT64", "mode": "REQUIRED"},
            {"name": "active", "type": "BOOL"},
            {"name": "score", "type": "FLOAT64"},
            {"name": "age", "type": "NUMERIC"},
            {"name": "address", "type": "STRUCT", "fields": [
                {"name": "zip", "type": "INT64"},
                {"name": "geo", "type": "STRUCT", "fields": [
                    {"name": "lat", "type": "FLOAT64"}, {"name": "lng", "type": "FLOAT64"}
                ]}
            ]},
            {"name": "items", "type": "STRUCT", "mode": "REPEATED", "fields": [
                {"name": "sku", "type": "STRING"}, {"name": "qty", "type": "INT64", "mode": "REQUIRED"}
            ]}
        ]),
    )
    .await;
    let out = bin("bq-schema-diff")
        .args(["--project", PROJECT, "--format", "json"])
        .arg(format!("{dev}.users"))
        .arg(format!("{prod}.users"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = json_out(&out);
    let mut got = changes(&j, 0);
    got.sort();
    let mut want = vec![
        triple("age", "type_changed", "compatible"),
        triple("address.zip", "type_changed", "breaking"),
        triple("address.city", "column_removed", "breaking"),
        triple("address.geo.lng", "column_added", "compatible"),
        triple("items.qty", "mode_changed", "breaking"),
    ];
    want.sort();
    assert_eq!(got, want, "{j:#}");
    assert_eq!(
        j["comparisons"][0]["table_a"],
        format!("{PROJECT}.{dev}.users")
    );
    assert_eq!(j["batch_summary"]["breaking"], 1);
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn identical_schemas_in_legacy_and_standard_names_exit_0() {
    let emu = Emu::new(PROJECT);
    let a = emu.dataset("a").await;
    let b = emu.dataset("b").await;
    create(&emu, &a, "t", json!([{"name": "x", "type": "INTEGER"}, {"name": "r", "type": "RECORD", "fields": [{"name": "f", "type": "BOOLEAN"}]}])).await;
    create(&emu, &b, "t", json!([{"name": "x", "type": "INT64"}, {"name": "r", "type": "STRUCT", "fields": [{"name": "f", "type": "BOOL"}]}])).await;
    let out = bin("bq-schema-diff")
        .arg(format!("{PROJECT}:{a}.t"))
        .arg(format!("`{PROJECT}.{b}.t`"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("{PROJECT}.{a}.t ↔ {PROJECT}.{b}.t: identical")),
        "{text}"
    );
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn a_missing_table_fails_alone_and_the_rest_are_compared() {
    let emu = Emu::new(PROJECT);
    let dev = emu.dataset("dev").await;
    let prod = emu.dataset("prod").await;
    for (ds, t, ty) in [
        (&dev, "t1", "STRING"),
        (&prod, "t1", "STRING"),
        (&dev, "t3", "STRING"),
        (&prod, "t3", "INTEGER"),
        (&prod, "t2", "STRING"),
    ] {
        create(&emu, ds, t, json!([{"name": "c", "type": ty}])).await;
    }
    let pairs = format!("{dev}.t1:{prod}.t1\n{dev}.t2:{prod}.t2\n{dev}.t3:{prod}.t3\n");
    let out = bin("bq-schema-diff")
        .env("GOOGLE_CLOUD_PROJECT", PROJECT)
        .args(["--parallel", "2"])
        .write_stdin(pairs.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a failed item means exit 2");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "  Total pairs: 3\n  Identical: 1\n  Different: 1\n  Breaking: 1\n  Failed: 1\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Failed pairs:\n  ✗ {PROJECT}.{dev}.t2 ↔ {PROJECT}.{prod}.t2: Table not found"
        )),
        "{text}"
    );
    let out = bin("bq-schema-diff")
        .env("GOOGLE_CLOUD_PROJECT", PROJECT)
        .arg("--format=json")
        .write_stdin(pairs)
        .output()
        .unwrap();
    let j = json_out(&out);
    assert_eq!(j["comparisons"].as_array().map(Vec::len), Some(2));
    assert_eq!(j["errors"][0]["table_a"], format!("{PROJECT}.{dev}.t2"));
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn fifty_pair_batch() {
    let emu = Emu::new(PROJECT);
    let dev = emu.dataset("dev").await;
    let prod = emu.dataset("prod").await;
    let mut pairs = String::from("# 50 pairs, every fifth one with an added column\n");
    for i in 0..50 {
        let base = json!([{"name": "id", "type": "INTEGER", "mode": "REQUIRED"}, {"name": "v", "type": "STRING"}]);
        let mut dev_fields = base.clone();
        if i % 5 == 0 {
            dev_fields
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "extra", "type": "STRING"}));
        }
        // One at a time: the emulator serialises writes, and concurrent ones only contend.
        create(&emu, &prod, &format!("t{i}"), base).await;
        create(&emu, &dev, &format!("t{i}"), dev_fields).await;
        pairs.push_str(&format!("{PROJECT}.{dev}.t{i}:{PROJECT}.{prod}.t{i}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pairs.txt");
    std::fs::write(&file, pairs).unwrap();
    let out = bin("bq-schema-diff")
        .args([
            "--parallel",
            "8",
            "--progress",
            "--format=json",
            "--pairs-file",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = json_out(&out);
    assert_eq!(j["batch_summary"]["total_pairs"], 50);
    assert_eq!(j["batch_summary"]["different"], 10);
    assert_eq!(j["batch_summary"]["identical"], 40);
    assert_eq!(j["batch_summary"]["failed"], 0);
    assert_eq!(
        j["comparisons"][5]["table_a"],
        format!("{PROJECT}.{dev}.t5"),
        "input order kept"
    );
    assert_eq!(
        changes(&j, 5),
        vec![triple("extra", "column_added", "compatible")]
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[50/50] ✓"),
        "the last item is always reported: {err}"
    );
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn schema_file_against_a_live_table_matches_the_offline_gate() {
    let emu = Emu::new(PROJECT);
    let prod = emu.dataset("prod").await;
    let fields: Value = serde_json::from_str(
        &std::fs::read_to_string(support::repo_root().join("examples/schemas/prod/users.json"))
            .unwrap(),
    )
    .unwrap();
    create(&emu, &prod, "users", fields).await;
    let live = bin("bq-schema-diff")
        .args(["--format=json", "examples/schemas/pr/users.json"])
        .arg(format!("{PROJECT}.{prod}.users"))
        .output()
        .unwrap();
    let offline = bin("bq-schema-diff")
        .args([
            "--format=json",
            "examples/schemas/pr/users.json",
            "examples/schemas/prod/users.json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        live.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    assert_eq!(
        changes(&json_out(&live), 0),
        changes(&json_out(&offline), 0)
    );
}

/// The seed's documented examples, run verbatim through a shell against the demo data that
/// `scripts/emulator seed` loads (project `project`, datasets dev/prod).
#[test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
fn seed_examples_run_verbatim() {
    let _ = Emu::new(PROJECT);
    let shell = support::Shell::new();
    let sh = |script: &str| shell.run(script);
    let seeded = sh("bq-schema-diff project.dev.t1 project.prod.t1");
    assert_eq!(
        seeded.status.code(),
        Some(0),
        "demo data missing: run `scripts/emulator seed` (scripts/test does)\n{}",
        String::from_utf8_lossy(&seeded.stdout)
    );

    let out = sh(
        r#"echo -e "dev.t1:prod.t1\ndev.t2:prod.t2\ndev.t3:prod.t3" | \
  bq-schema-diff --parallel 2 --progress"#,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("project.dev.t1 ↔ project.prod.t1: identical"),
        "{text}"
    );
    assert!(
        text.contains(
            "  Total pairs: 3\n  Identical: 1\n  Different: 2\n  Breaking: 1\n  Failed: 0\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("~ amount         breaking    type INT64 → STRING"),
        "{text}"
    );
    assert!(
        text.contains("+ meta.campaign  compatible  column added: STRING NULLABLE"),
        "{text}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("[3/3] ✓"),
        "progress lines on stderr"
    );

    let out = sh(r#"cat > table_pairs.txt << EOF
project.dev.users:project.prod.users
project.dev.orders:project.prod.orders
project.dev.products:project.prod.products
EOF

bq-schema-diff --parallel 4 --pairs-file=table_pairs.txt --progress"#);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("- phone            breaking    column removed: STRING NULLABLE"),
        "{text}"
    );
    assert!(
        text.contains("~ category          breaking    mode NULLABLE → REQUIRED"),
        "{text}"
    );
    assert!(
        text.contains("- dimensions.depth  breaking    column removed: FLOAT64 NULLABLE"),
        "{text}"
    );
    assert!(
        text.contains(
            "  Total pairs: 3\n  Identical: 0\n  Different: 3\n  Breaking: 2\n  Failed: 0\n"
        ),
        "{text}"
    );

    let out = sh(
        r#"bq-schema-diff --parallel 4 --pairs-file=table_pairs.txt --format=json > schema_diff.json
jq '.batch_summary.different' schema_diff.json
jq -c '.comparisons[] | select(.identical == false) | .table_a' schema_diff.json"#,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "3\n\"project.dev.users\"\n\"project.dev.orders\"\n\"project.dev.products\"\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // --include-table-options sees the clustering change on orders.
    let out = sh("bq-schema-diff --include-table-options --format=json project.dev.orders project.prod.orders");
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        changes(&j, 0).contains(&triple("(table)", "clustering_changed", "breaking")),
        "{j:#}"
    );
}

/// The seed's bq-table-compare examples, verbatim, against the demo data: staging.t1 has one
/// row more than prod.t1 (4 vs 3), staging.t2 one more than prod.t2 (3 vs 2).
#[test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
fn seed_table_compare_examples_run_verbatim() {
    let _ = Emu::new(PROJECT);
    let shell = support::Shell::new();
    let sh = |script: &str| shell.run(script);
    let out = sh(r#"echo -e "staging.t1:prod.t1\nstaging.t2:prod.t2" | \
  bq-table-compare --parallel 2 --progress --skip-stats"#);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("project.staging.t1 ↔ project.prod.t1: different (rows 4 vs 3, 1 only in A)"),
        "{text}"
    );
    assert!(
        text.contains("project.staging.t2 ↔ project.prod.t2: different (rows 3 vs 2, 1 only in A)"),
        "{text}"
    );
    assert!(text.contains("Batch Table Compare Summary"), "{text}");
    assert!(
        text.contains("  Total pairs: 2\n  Identical: 0\n  Different: 2\n  Failed: 0\n"),
        "{text}"
    );

    let out = sh(r#"cat > table_pairs.txt << EOF
project.dev.users:project.prod.users
project.dev.orders:project.prod.orders
project.dev.products:project.prod.products
EOF
bq-table-compare --parallel 2 --pairs-file=table_pairs.txt --format=json"#);
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(j["batch_summary"]["total_pairs"], 3);
    assert_eq!(j["batch_summary"]["failed"], 0);
    // dev.users is empty, prod.users has 2 rows.
    assert_eq!(j["comparisons"][0]["row_count"], json!({"a": 0, "b": 2}));
    assert_eq!(j["comparisons"][0]["rows"]["only_in_b"], 2);

    let out = sh(
        r#"printf 'staging.t1:prod.t1\nprod.t1:prod.t1\n' > pairs.txt
bq-table-compare --parallel 4 --pairs-file=pairs.txt \
  --skip-stats --skip-samples --progress"#,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("project.prod.t1 ↔ project.prod.t1: identical (3 rows)"),
        "{text}"
    );
    // Earlier commands in this shell may have left the scans in the result cache: run or
    // cached, a pair takes its two scans and no third query.
    let first_pair = text.split("\n\n").next().unwrap_or_default();
    let line = first_pair
        .lines()
        .find(|l| l.trim_start().starts_with("queries:"))
        .unwrap_or_default();
    let numbers: Vec<u32> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let cached = if line.contains("from the cache") {
        numbers.last().copied().unwrap_or(0)
    } else {
        0
    };
    assert_eq!(
        numbers.first().copied().unwrap_or(99) + cached,
        2,
        "--skip-samples: no third query: {text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("[2/2]"));
}
