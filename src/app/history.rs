//! `bqcheck history show TABLE --history DIR`: a table's metric history as bq-profile kept
//! it, as trend lines and a table of runs (text), or the runs themselves (JSON).

use std::path::Path;

use crate::checks::history::Metric;
use crate::cli::HistoryFormat;
use crate::model::TableRef;
use crate::report::doc::sparkline;
use crate::report::{one_line, ExitStatus};
use crate::warehouse::history::{self, RunRecord};

/// Print the history; the exit status (2 for a bad table name or no history).
pub(crate) fn show(
    table: &str,
    dir: &Path,
    columns: &[String],
    format: HistoryFormat,
) -> ExitStatus {
    let t = match TableRef::parse(table, None) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitStatus::Trouble;
        }
    };
    let id = t.to_string();
    let read = history::read(dir, &id, chrono::Utc::now().timestamp_millis());
    let runs = read.runs;
    for w in &read.warnings {
        eprintln!("warning: {}", one_line(w));
    }
    if runs.is_empty() {
        eprintln!(
            "error: no history of {id} in {} (looked for {})",
            dir.display(),
            history::file_of(dir, &id).display()
        );
        return ExitStatus::Trouble;
    }
    match format {
        HistoryFormat::Json => match serde_json::to_string_pretty(&runs) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitStatus::Trouble;
            }
        },
        HistoryFormat::Text => print!("{}", text(&id, &runs, columns)),
    }
    ExitStatus::Clean
}

/// The metrics shown: the table's, and those of the columns asked for (`*`: all).
fn metrics(runs: &[RunRecord], columns: &[String]) -> Vec<Metric> {
    let mut out = vec![Metric::Rows, Metric::Freshness];
    let mut names: Vec<&String> = runs.iter().flat_map(|r| r.columns.keys()).collect();
    names.sort();
    names.dedup();
    for c in names {
        if columns
            .iter()
            .any(|w| w == "*" || w.eq_ignore_ascii_case(c))
        {
            out.push(Metric::NullRate(c.clone()));
            out.push(Metric::Distinct(c.clone()));
            out.push(Metric::Mean(c.clone()));
        }
    }
    out
}

fn text(id: &str, runs: &[RunRecord], columns: &[String]) -> String {
    let mut out = format!(
        "{}: {} run(s), {} to {}\n",
        one_line(id),
        runs.len(),
        runs[0].at,
        runs[runs.len() - 1].at
    );
    let metrics = metrics(runs, columns);
    let width = metrics
        .iter()
        .map(|m| m.label().chars().count())
        .max()
        .unwrap_or(0);
    for m in &metrics {
        let values: Vec<Option<f64>> = runs.iter().map(|r| m.value(r)).collect();
        if values.iter().all(Option::is_none) {
            continue;
        }
        let shown = |v: Option<&Option<f64>>| match v.copied().flatten() {
            Some(v) => m.show(v),
            None => "-".into(),
        };
        out.push_str(&format!(
            "  {:<width$}  {}  {} → {}\n",
            one_line(&m.label()),
            sparkline(&values),
            shown(values.first()),
            shown(values.last()),
        ));
    }
    out.push_str(&format!(
        "  {:<20}  {:>14}  {:>20}\n",
        "at", "rows", "hours since modified"
    ));
    for r in runs {
        out.push_str(&format!(
            "  {:<20}  {:>14}  {:>20}\n",
            one_line(&r.at),
            Metric::Rows.show(r.rows as f64),
            r.age_hours
                .map(|h| format!("{h:.1}"))
                .unwrap_or_else(|| "-".into())
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn text_shows_trends_and_runs() {
        let runs: Vec<RunRecord> = (0..3)
            .map(|i| RunRecord {
                v: 1,
                table: "p.d.t".into(),
                at: format!("2026-11-0{}T00:00:00Z", i + 1),
                rows: 1000 * (i + 1),
                age_hours: Some(1.5),
                partial: false,
                modified: None,
                scope: None,
                columns: BTreeMap::from([(
                    "email".to_string(),
                    history::ColumnRecord {
                        null_rate: Some(0.1 * i as f64),
                        distinct: None,
                        mean: None,
                    },
                )]),
            })
            .collect();
        let t = text("p.d.t", &runs, &["email".into()]);
        assert!(
            t.starts_with("p.d.t: 3 run(s), 2026-11-01T00:00:00Z to 2026-11-03T00:00:00Z\n"),
            "{t}"
        );
        assert!(
            t.contains("  rows                  ▁▅█  1,000 → 3,000\n"),
            "{t}"
        );
        assert!(
            t.contains("  null rate of email    ▁▅█  0.0% → 20.0%\n"),
            "{t}"
        );
        assert!(!t.contains("distinct email"), "no values, no line: {t}");
        assert!(
            t.contains("  2026-11-02T00:00:00Z           2,000                   1.5\n"),
            "{t}"
        );
        assert!(!text("p.d.t", &runs, &[]).contains("email"));
    }
}
