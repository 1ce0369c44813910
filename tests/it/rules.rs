//! Issue 18 on the emulator: comparing what users mean. Column rules (tolerances, string
//! normalisation), renamed columns (`--map`), a widened column (INT64 → NUMERIC) and a column
//! order change, on the 20,000-row every-type table (every type, NULLs, NaN, ±Inf, extremes).

use serde_json::{json, Value};

use crate::support::realistic::{self as fx, Diff};
use crate::support::{self, emulator_bin, fresh_cache_home, job_project, Emu};

const PROJECT: &str = "bqcheck-rules";
const ROWS: i64 = 20_000;

fn compare(job_project: &str, args: &[&str]) -> (i32, Value, String) {
    support::run_json("bq-table-compare", job_project, args)
}

/// Rows where B's value differs from A's as stored, per column (the modified rows where the
/// column is not NULL and the change changes something).
struct Expected {
    f64: i64,
    ts: i64,
    label: i64,
}

fn expected() -> Expected {
    let null = |col: &str, id: i64| fx::every_type_is_null(col, id);
    let count = |f: &dyn Fn(i64) -> bool| (1..=ROWS).filter(|&id| f(id)).count() as i64;
    Expected {
        // + 1e-9 where id % 10 = 0: never a NaN or ±Inf row (ids ending 05, 06, 08).
        f64: count(&|id| id % 10 == 0 && !null("f64", id)),
        // + 300 ms where id % 10 = 5.
        ts: count(&|id| id % 10 == 5 && !null("ts", id)),
        // UPPER(s) where id % 10 = 3, but for '  ' (id % 100 = 13), which UPPER leaves alone.
        label: count(&|id| id % 10 == 3 && id % 100 != 13 && !null("s", id)),
    }
}

fn changed_by_column(c: &Value) -> Value {
    c["rows"]["changed_by_column"].clone()
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn rules_renames_and_widened_types_compare_what_users_mean() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("rules").await;
    let (base, a, b) = (
        format!("{PROJECT}.{ds}.base"),
        format!("{PROJECT}.{ds}.a"),
        format!("{PROJECT}.{ds}.b"),
    );
    emu.query(&fx::every_type(&base, ROWS, Diff::Identical))
        .await;
    // A (the new table): `s` renamed to `label`, `i64` widened to NUMERIC, both moved last.
    emu.query(&format!(
        "CREATE TABLE `{a}` AS SELECT * EXCEPT (s, i64), s AS label, CAST(i64 AS NUMERIC) AS i64 FROM `{base}`"
    ))
    .await;
    // B (the old one): FLOAT64 + 1e-9, TIMESTAMP + 300 ms, STRING in upper case, in some rows.
    emu.query(&format!(
        "CREATE TABLE `{b}` AS SELECT * REPLACE (\
           IF(MOD(id, 10) = 0, f64 + 1e-9, f64) AS f64, \
           IF(MOD(id, 10) = 5, TIMESTAMP_ADD(ts, INTERVAL 300 MILLISECOND), ts) AS ts, \
           IF(MOD(id, 10) = 3, UPPER(s), s) AS s) FROM `{base}`"
    ))
    .await;
    let want = expected();
    assert!(want.f64 > 1000 && want.ts > 1000 && want.label > 1000);

    // Without rules: every modified column is different, the renamed one is not compared,
    // and the widened column is equal (by value, cast to a common type).
    let (code, j, err) = compare(&job_project("rules-none"), &["--key", "id", &a, &b]);
    assert_eq!(code, 1, "{j:#}{err}");
    let c = &j["comparisons"][0];
    assert_eq!(c["identical"], false);
    assert_eq!(
        changed_by_column(c),
        json!({"f64": want.f64, "ts": want.ts}),
        "{:#}",
        c["rows"]
    );
    let left_out: Vec<(String, String)> = c["schema"]["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["column"].as_str().unwrap().to_string(),
                l["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        left_out,
        [
            ("label".to_string(), "only in A".to_string()),
            ("s".to_string(), "only in B".to_string())
        ]
    );
    assert!(c["rows"].get("within_tolerance").is_none());

    // The rename alone: the column is compared, and its case changes are changes.
    let (code, j, err) = compare(
        &job_project("rules-map"),
        &["--key", "id", "--map", "label=s", &a, &b],
    );
    assert_eq!(code, 1, "{j:#}{err}");
    let c = &j["comparisons"][0];
    assert_eq!(
        changed_by_column(c),
        json!({"f64": want.f64, "label": want.label, "ts": want.ts})
    );
    assert_eq!(c["schema"]["left_out"], json!([]));

    // With the rules: identical, and the rows equal only within them counted apart.
    let md = tempfile::NamedTempFile::new().unwrap();
    let junit = tempfile::NamedTempFile::new().unwrap();
    let (md_path, junit_path) = (
        md.path().to_str().unwrap().to_string(),
        junit.path().to_str().unwrap().to_string(),
    );
    let (code, flags, err) = compare(
        &job_project("rules-flags"),
        &[
            "--key",
            "id",
            "--map",
            "label=s",
            "--abs-tolerance",
            "f64=1e-6",
            "--time-tolerance",
            "ts=1s",
            "--ignore-case",
            "label",
            "--report-markdown",
            &md_path,
            "--report-junit",
            &junit_path,
            &a,
            &b,
        ],
    );
    assert_eq!(code, 0, "{flags:#}{err}");
    let c = &flags["comparisons"][0];
    assert_eq!(c["identical"], true, "{c:#}");
    let within = want.f64 + want.ts + want.label;
    assert_eq!(c["rows"]["changed"], 0);
    assert_eq!(c["rows"]["within_tolerance"], within, "{:#}", c["rows"]);
    assert_eq!(
        c["rows"]["within_tolerance_by_column"],
        json!({"f64": want.f64, "label": want.label, "ts": want.ts})
    );
    let compared = c["schema"]["compared_columns"].as_array().unwrap();
    let col = |name: &str| compared.iter().find(|x| x["path"] == name).unwrap();
    assert_eq!(col("label")["b_name"], "s");
    assert_eq!(col("f64")["rule"], json!({"abs": 1e-6}));
    assert_eq!(col("ts")["rule"], json!({"time_us": 1_000_000}));
    assert_eq!(
        col("i64")["type"],
        "BIGNUMERIC",
        "INT64 vs NUMERIC: compared by value"
    );
    // No column's statistics differ under the rules (min, max, means within them).
    let differing: Vec<&Value> = c["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["differs"] == true)
        .collect();
    assert!(differing.is_empty(), "{differing:#?}");
    let phrase = format!("{} equal within the column rules", thousands(within));
    // The headline (Markdown, text) and the row facts (JUnit, text) say it.
    let facts = format!("0 changed, {within} equal within the column rules");
    for (what, path, says) in [
        ("Markdown", &md_path, &phrase),
        ("JUnit", &junit_path, &facts),
    ] {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains(says.as_str()), "{what}: {text}");
    }

    // The same rules from the config file (some for every pair, some for the pair), in the
    // text format: the same result.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join(".bqcheck.yml");
    std::fs::write(
        &config,
        format!(
            "table_compare:\n  key: [id]\n  time_tolerance: {{ts: 1s}}\n  columns_map: {{label: s}}\n  pairs:\n    - a: {a}\n      b: {b}\n      abs_tolerance: {{f64: 1e-6}}\n      ignore_case: [label]\n"
        ),
    )
    .unwrap();
    let report = dir.path().join("report.json");
    let out = emulator_bin("bq-table-compare")
        .env("XDG_CACHE_HOME", fresh_cache_home())
        .args(["--project", &job_project("rules-config"), "--config"])
        .arg(&config)
        .arg("--report-json")
        .arg(&report)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(&phrase) && text.contains(&facts), "{text}");
    assert!(
        text.contains("rows equal within the column rules, by column"),
        "{text}"
    );
    let from_file: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let f = &from_file["comparisons"][0];
    for key in ["identical", "rows", "columns", "schema"] {
        assert_eq!(
            f[key], c[key],
            "{key} from the file differs from the flags'"
        );
    }
}

fn thousands(n: i64) -> String {
    let digits: Vec<char> = n.to_string().chars().rev().collect();
    let groups: Vec<String> = digits
        .chunks(3)
        .map(|c| c.iter().rev().collect())
        .rev()
        .collect();
    groups.join(",")
}
