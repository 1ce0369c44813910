//! Issue 19 on the emulator: `bq-profile --history DIR` keeps each run, judges the next one
//! against the earlier runs, and draws what it flags (a sparkline in text, a Mermaid chart in
//! Markdown). The 30-run step, creep and weekly-cycle cases are unit tests of
//! `checks::history`; this runs the real tool on a 20,000-row table of every type.

use serde_json::Value;

use crate::support::realistic::{self as fx, Diff};
use crate::support::{self, emulator_bin, fresh_cache_home, job_project, Emu};

const PROJECT: &str = "bqcheck-history";
const ROWS: i64 = 20_000;

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn history_keeps_runs_flags_a_step_and_draws_it() {
    let emu = Emu::new(PROJECT);
    let ds = emu.dataset("hist").await;
    let table = format!("{PROJECT}.{ds}.events");
    emu.query(&fx::every_type(&table, ROWS, Diff::Identical))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    let h = history.to_str().unwrap();

    // The first run: nothing to judge against, and the run is kept.
    let (code, j, err) = support::run_json(
        "bq-profile",
        &job_project("hist-1"),
        &["--history", h, &table],
    );
    assert_eq!(code, 0, "{j:#}{err}");
    let p = &j["profiles"][0]["profile"];
    assert_eq!(p["history"]["runs"], 0);
    assert_eq!(p["history"]["used"], false);
    assert!(
        p["notes"].to_string().contains("0 earlier run(s)"),
        "{:#}",
        p["notes"]
    );
    let file = history.join(format!("{table}.jsonl"));
    let first = lines(&file);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["rows"], ROWS);

    // 24 earlier daily runs at ~28,000 rows (this table's 20,000 is a 30% drop), then a line
    // that is not a record: skipped with a warning, and dropped when the file is rewritten.
    let now = chrono::Utc::now();
    let mut text = String::new();
    for i in 0..24i64 {
        let mut r = first[0].clone();
        let at = now - chrono::Duration::days(24 - i);
        r["at"] = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
        r["rows"] = (28_000 + [0, 90, -60, 30, -120, 75, -15][(i % 7) as usize]).into();
        text.push_str(&r.to_string());
        text.push('\n');
    }
    text.push_str("{\"not\": \"a record\"}\n");
    std::fs::write(&file, text).unwrap();

    let md = dir.path().join("report.md");
    let json = dir.path().join("report.json");
    let out = emulator_bin("bq-profile")
        .env("XDG_CACHE_HOME", fresh_cache_home())
        .args(["--project", &job_project("hist-2"), "--history", h])
        .args(["--fail-on", "anomalies", "--report-markdown"])
        .arg(&md)
        .arg("--report-json")
        .arg(&json)
        .arg(&table)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let p = &j["profiles"][0]["profile"];
    let h = &p["history"];
    assert_eq!(
        (&h["runs"], &h["used"]),
        (&24.into(), &true.into()),
        "{h:#}"
    );
    let flagged: Vec<&str> = p["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["rule"].as_str().filter(|r| r.starts_with("history_")))
        .collect();
    assert!(
        flagged.contains(&"history_row_count"),
        "{:#}",
        p["anomalies"]
    );
    let rows = &h["series"][0];
    assert_eq!(
        (&rows["metric"], &rows["flagged"]),
        (&"rows".into(), &true.into())
    );
    assert_eq!(rows["current"], ROWS as f64);
    assert_eq!(rows["values"].as_array().map(Vec::len), Some(24));
    assert!(rows["low"].as_f64().unwrap() > ROWS as f64);
    assert!(
        p["notes"]
            .to_string()
            .contains(".jsonl:25: skipped, not a history record"),
        "{:#}",
        p["notes"]
    );
    // The text report draws the trend; the Markdown report a Mermaid chart.
    assert!(
        stdout.contains("rows: 25 runs ") && stdout.contains("now 20,000 (usual "),
        "{stdout}"
    );
    assert!(stdout.contains('█') && stdout.contains('▁'), "{stdout}");
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.contains("```mermaid\nxychart-beta\n    title \"rows: 25 runs - out of band\""),
        "{md}"
    );
    // The file keeps the 24 good runs and this one; the bad line is gone.
    let kept = lines(&file);
    assert_eq!(kept.len(), 25);
    assert_eq!(kept[24]["rows"], ROWS);
}

/// `bqcheck history show`: a history written by hand (no emulator), in text and JSON; a bad
/// line is a warning on stderr; no history is exit 2 with the file it looked for.
#[test]
fn history_show_prints_trends_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for day in 1..=5 {
        text.push_str(&format!(
            "{{\"v\":1,\"table\":\"p.d.t\",\"at\":\"2026-11-0{day}T06:00:00Z\",\"rows\":{},\"age_hours\":1.5,\"columns\":{{\"email\":{{\"null_rate\":0.{day}}}}}}}\n",
            1000 * day
        ));
    }
    text.push_str("garbage\n");
    std::fs::write(dir.path().join("p.d.t.jsonl"), text).unwrap();
    let out = support::bin("bqcheck")
        .args(["history", "show", "--history"])
        .arg(dir.path())
        .args(["--columns", "email", "p.d.t"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("p.d.t: 5 run(s), 2026-11-01T06:00:00Z to 2026-11-05T06:00:00Z\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  rows                  ▁▃▅▆█  1,000 → 5,000\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  null rate of email    ▁▃▄▆█  10.0% → 50.0%\n"),
        "{stdout}"
    );
    assert!(
        stderr.contains("p.d.t.jsonl:6: skipped, not a history record"),
        "{stderr}"
    );
    let out = support::bin("bqcheck")
        .args(["history", "show", "--format", "json", "--history"])
        .arg(dir.path())
        .arg("p.d.t")
        .output()
        .unwrap();
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs.as_array().map(Vec::len), Some(5));
    assert_eq!(runs[4]["rows"], 5000);
    let out = support::bin("bqcheck")
        .args(["history", "show", "--history"])
        .arg(dir.path())
        .arg("p.d.other")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no history of p.d.other"));
}
