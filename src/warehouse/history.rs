//! The profile history on disk (`bq-profile --history DIR`): one JSON-lines file per table,
//! `DIR/<project>.<dataset>.<table>.jsonl`, one line per run (`checks::history::RunRecord`).
//! Small, append-only in spirit, easy to commit or to keep with `actions/cache`.
//!
//! A line that does not parse, is of another version or names another table (a file from a
//! pull request, a merge gone wrong) is skipped with a warning naming the file and line; it is
//! dropped when the file is next written. Files of other names are never read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The record format's version; a line of another version is skipped with a warning.
pub(crate) const VERSION: u32 = 1;

/// One run's profile of one table, as the history keeps it (one JSON line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunRecord {
    pub(crate) v: u32,
    /// `project.dataset.table`.
    pub(crate) table: String,
    /// When the run profiled it (UTC, RFC 3339).
    pub(crate) at: String,
    pub(crate) rows: i64,
    /// Hours since the table was last modified, at `at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) age_hours: Option<f64>,
    /// Only some columns were profiled (`--columns`): the column set says nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) partial: bool,
    pub(crate) columns: BTreeMap<String, ColumnRecord>,
}

/// A column's metrics in a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ColumnRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) null_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) distinct: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mean: Option<f64>,
}

impl RunRecord {
    /// `at` in ms since the epoch (None if it does not parse).
    pub(crate) fn at_ms(&self) -> Option<i64> {
        chrono::DateTime::parse_from_rfc3339(&self.at)
            .ok()
            .map(|t| t.timestamp_millis())
    }
}

/// `2026-11-30T12:00:00Z`.
pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The largest history file read (a year of daily runs of a 1,000-column table is ~20 MB).
const MAX_FILE_BYTES: u64 = 64 << 20;

/// How much history is kept per table: the last N runs, or the runs of the last N days.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Keep {
    Runs(usize),
    Days(f64),
}

impl Keep {
    /// `90` (runs) or `90d` (days).
    pub(crate) fn parse(s: &str) -> Result<Keep, String> {
        let t = s.trim();
        let bad = || {
            format!(
                "`{}` is not a number of runs (90) or days (90d)",
                t.escape_debug()
            )
        };
        if let Some(days) = t.strip_suffix('d') {
            let d: f64 = days.trim().parse().map_err(|_| bad())?;
            if d.is_finite() && d > 0.0 {
                return Ok(Keep::Days(d));
            }
            return Err(bad());
        }
        match t.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Keep::Runs(n)),
            _ => Err(bad()),
        }
    }
}

/// The file of a table's history.
pub(crate) fn file_of(dir: &Path, table: &str) -> PathBuf {
    // Table ids are validated (letters, digits, `_`, `-`, `.`, `:` for a project's domain);
    // anything else is replaced, so no id can name a path outside DIR.
    let name: String = table
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{}.jsonl", name.trim_start_matches('.')))
}

/// A table's earlier runs, oldest first, and warnings about lines that were skipped.
pub(crate) fn read(dir: &Path, table: &str) -> (Vec<RunRecord>, Vec<String>) {
    let path = file_of(dir, table);
    let mut warnings = Vec::new();
    let text = match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), warnings),
        Err(e) => {
            warnings.push(format!("history {}: cannot read: {e}", path.display()));
            return (Vec::new(), warnings);
        }
        Ok(m) if m.len() > MAX_FILE_BYTES => {
            warnings.push(format!(
                "history {}: skipped, larger than {} MiB",
                path.display(),
                MAX_FILE_BYTES >> 20
            ));
            return (Vec::new(), warnings);
        }
        Ok(_) => match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                warnings.push(format!("history {}: cannot read: {e}", path.display()));
                return (Vec::new(), warnings);
            }
        },
    };
    let mut runs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("history {}:{}", path.display(), i + 1);
        match serde_json::from_str::<RunRecord>(line) {
            Ok(r) if r.v != VERSION => {
                warnings.push(format!(
                    "{at}: skipped, version {} (this bqcheck writes {VERSION})",
                    r.v
                ));
            }
            Ok(r) if r.table != table => warnings.push(format!(
                "{at}: skipped, it is of another table ({})",
                r.table.escape_debug()
            )),
            Ok(r) if r.at_ms().is_none() => warnings.push(format!(
                "{at}: skipped, `at` is not a time ({})",
                r.at.escape_debug()
            )),
            Ok(r) => runs.push(r),
            Err(e) => warnings.push(format!("{at}: skipped, not a history record ({e})")),
        }
    }
    runs.sort_by_key(|r| r.at_ms());
    (runs, warnings)
}

/// The runs kept after `now` is added: the last N, or those of the last N days before it.
pub(crate) fn kept(mut runs: Vec<RunRecord>, now: RunRecord, keep: Keep) -> Vec<RunRecord> {
    runs.push(now);
    match keep {
        Keep::Runs(n) => {
            let skip = runs.len().saturating_sub(n);
            runs.split_off(skip)
        }
        Keep::Days(d) => {
            let newest = runs.iter().filter_map(RunRecord::at_ms).max().unwrap_or(0);
            let from = newest - (d * 86_400_000.0) as i64;
            runs.retain(|r| r.at_ms().is_some_and(|t| t >= from));
            runs
        }
    }
}

/// Write a table's history (written whole to a temporary file, then renamed into place).
pub(crate) fn write(dir: &Path, table: &str, runs: &[RunRecord]) -> Result<(), String> {
    let path = file_of(dir, table);
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("history {}: cannot create: {e}", dir.display()))?;
    let mut text = String::new();
    for r in runs {
        let line =
            serde_json::to_string(r).map_err(|e| format!("history {}: {e}", path.display()))?;
        text.push_str(&line);
        text.push('\n');
    }
    let tmp = path.with_extension(format!("jsonl.tmp{}", std::process::id()));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("history {}: cannot write: {e}", path.display())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(table: &str, at_ms: i64, rows: i64) -> RunRecord {
        RunRecord {
            v: VERSION,
            table: table.into(),
            at: rfc3339(at_ms),
            rows,
            age_hours: Some(1.0),
            partial: false,
            columns: BTreeMap::new(),
        }
    }

    #[test]
    fn keep_values() {
        assert_eq!(Keep::parse("30"), Ok(Keep::Runs(30)));
        assert_eq!(Keep::parse("90d"), Ok(Keep::Days(90.0)));
        for bad in ["0", "-1", "x", "0d", "d", "1.5"] {
            assert!(Keep::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn files_stay_in_the_directory() {
        let d = Path::new("/h");
        assert_eq!(file_of(d, "p.d.t"), Path::new("/h/p.d.t.jsonl"));
        assert_eq!(file_of(d, "../../etc/x"), Path::new("/h/_.._etc_x.jsonl"));
        assert_eq!(
            file_of(d, "dom.com:p.d.t"),
            Path::new("/h/dom.com_p.d.t.jsonl")
        );
    }

    #[test]
    fn corrupt_and_foreign_lines_are_skipped_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let t = "p.d.t";
        let good = |ms| serde_json::to_string(&rec(t, ms, 5)).unwrap();
        let other = serde_json::to_string(&rec("p.d.other", 3, 5)).unwrap();
        let text = format!(
            "{}\nnot json\n{other}\n{{\"v\":9,\"table\":\"p.d.t\",\"at\":\"2026-01-01T00:00:00Z\",\"rows\":1,\"columns\":{{}}}}\n\n{}\n",
            good(2_000),
            good(1_000)
        );
        std::fs::write(file_of(dir.path(), t), text).unwrap();
        let (runs, warnings) = read(dir.path(), t);
        assert_eq!(runs.len(), 2);
        assert!(runs[0].at_ms() < runs[1].at_ms(), "oldest first");
        assert_eq!(warnings.len(), 3, "{warnings:#?}");
        assert!(warnings[0].contains("p.d.t.jsonl:2: skipped, not a history record"));
        assert!(warnings[1].contains(":3: skipped, it is of another table (p.d.other)"));
        assert!(warnings[2].contains(":4: skipped, version 9"));
        // No file: no runs, no warning.
        assert_eq!(read(dir.path(), "p.d.none"), (Vec::new(), Vec::new()));
    }

    #[test]
    fn what_is_kept() {
        let day = 86_400_000;
        let runs: Vec<RunRecord> = (0..10).map(|i| rec("t", i * day, i)).collect();
        let k = kept(runs.clone(), rec("t", 10 * day, 10), Keep::Runs(4));
        assert_eq!(k.iter().map(|r| r.rows).collect::<Vec<_>>(), [7, 8, 9, 10]);
        let k = kept(runs, rec("t", 10 * day, 10), Keep::Days(3.0));
        assert_eq!(k.iter().map(|r| r.rows).collect::<Vec<_>>(), [7, 8, 9, 10]);
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "t", &k).unwrap();
        let (back, w) = read(dir.path(), "t");
        assert!(w.is_empty());
        assert_eq!(back, k);
    }
}
