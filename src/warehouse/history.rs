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
    /// The table's last modification (ms): the version of it this run saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) modified: Option<i64>,
    /// The rows profiled, when not all (`--where`, `--partitions`): runs are judged only
    /// against runs of the same scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<String>,
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

/// The file of a table's history: the id with every byte but `A-Za-z0-9_-.` written as
/// `%XX`, so two ids never share a file and none names a path outside DIR; an id too long
/// for a file name is cut and given a hash of the whole.
pub(crate) fn file_of(dir: &Path, table: &str) -> PathBuf {
    let mut name = String::new();
    for b in table.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-') || (b == b'.' && !name.is_empty())
        {
            name.push(b as char);
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    if name.len() > 200 {
        // FNV-1a: stable across Rust versions, unlike the std hasher.
        let hash = table.bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        });
        name = format!("{}-{hash:016x}", &name[..150]);
    }
    dir.join(format!("{name}.jsonl"))
}

/// What reading a table's history found.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Read {
    /// Its runs, oldest first.
    pub(crate) runs: Vec<RunRecord>,
    /// Lines of another version of the format: kept as they are when the file is written.
    pub(crate) foreign: Vec<String>,
    /// Why lines were skipped (at most [`MAX_WARNINGS`], then how many more).
    pub(crate) warnings: Vec<String>,
    /// The file exists but could not be read: it must not be overwritten.
    pub(crate) unreadable: bool,
}

/// Warnings kept per file; the rest are counted.
const MAX_WARNINGS: usize = 5;

/// A table's earlier runs. `now_ms`: a run dated more than a day after it is skipped (it
/// would stay the newest run for ever).
pub(crate) fn read(dir: &Path, table: &str, now_ms: i64) -> Read {
    let path = file_of(dir, table);
    let mut out = Read::default();
    let unreadable = |why: String, out: &mut Read| {
        out.warnings.push(format!(
            "history {}: {why}; it is left as it is and this run is not added",
            path.display()
        ));
        out.unreadable = true;
    };
    // A regular file only (not a symlink to /dev/zero or elsewhere), read to a bound.
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return out,
        Err(e) => {
            unreadable(format!("cannot read: {e}"), &mut out);
            return out;
        }
        Ok(m) if !m.file_type().is_file() => {
            unreadable("not a regular file".into(), &mut out);
            return out;
        }
        Ok(_) => {}
    }
    let mut bytes = Vec::new();
    let read = std::fs::File::open(&path).and_then(|f| {
        std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_FILE_BYTES + 1), &mut bytes)
    });
    if let Err(e) = read {
        unreadable(format!("cannot read: {e}"), &mut out);
        return out;
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        unreadable(
            format!("larger than {} MiB", MAX_FILE_BYTES >> 20),
            &mut out,
        );
        return out;
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut skipped = 0usize;
    let mut skip = |warning: String, out: &mut Read| {
        skipped += 1;
        if skipped <= MAX_WARNINGS {
            out.warnings.push(warning);
        }
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("history {}:{}", path.display(), i + 1);
        // Another version's line is kept as it is, whatever its fields.
        let version = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("v").and_then(serde_json::Value::as_u64));
        if version.is_some_and(|v| v != u64::from(VERSION)) {
            out.foreign.push(line.to_string());
            continue;
        }
        match serde_json::from_str::<RunRecord>(line) {
            Ok(r) if r.table != table => skip(
                format!(
                    "{at}: skipped, it is of another table ({})",
                    r.table.escape_debug()
                ),
                &mut out,
            ),
            Ok(r) => match r.at_ms() {
                None => skip(
                    format!(
                        "{at}: skipped, `at` is not a time ({})",
                        r.at.escape_debug()
                    ),
                    &mut out,
                ),
                Some(t) if t > now_ms + 86_400_000 => skip(
                    format!(
                        "{at}: skipped, dated in the future ({})",
                        r.at.escape_debug()
                    ),
                    &mut out,
                ),
                Some(_) => out.runs.push(r),
            },
            Err(e) => skip(
                format!("{at}: skipped, not a history record ({e})"),
                &mut out,
            ),
        }
    }
    if skipped > MAX_WARNINGS {
        out.warnings.push(format!(
            "history {}: {} more line(s) skipped",
            path.display(),
            skipped - MAX_WARNINGS
        ));
    }
    out.runs.sort_by_key(|r| r.at_ms());
    out
}

/// The earlier runs that count under `keep` before a run at `now_ms` (the oldest beyond it go).
pub(crate) fn kept(mut runs: Vec<RunRecord>, now_ms: i64, keep: Keep) -> Vec<RunRecord> {
    match keep {
        Keep::Runs(n) => {
            // `n` with the run to come.
            let skip = runs.len().saturating_sub(n.saturating_sub(1));
            runs.split_off(skip)
        }
        Keep::Days(d) => {
            let from = now_ms - (d * 86_400_000.0) as i64;
            runs.retain(|r| r.at_ms().is_some_and(|t| t >= from));
            runs
        }
    }
}

/// The runs to write: the kept ones and `now`, which replaces the last one when it saw the
/// same version of the table on the same day (CI runs of a pull request re-profiling an
/// unchanged table add no run).
pub(crate) fn with_run(mut runs: Vec<RunRecord>, now: RunRecord) -> Vec<RunRecord> {
    let day = |r: &RunRecord| r.at.get(..10).map(str::to_string);
    if let Some(last) = runs.last() {
        if last.modified.is_some() && last.modified == now.modified && day(last) == day(&now) {
            runs.pop();
        }
    }
    runs.push(now);
    runs
}

/// Write a table's history: `foreign` lines first, as they were, then `runs`; into a new
/// file beside it (never an existing path: a planted symlink is not followed), renamed into
/// place.
pub(crate) fn write(
    dir: &Path,
    table: &str,
    foreign: &[String],
    runs: &[RunRecord],
) -> Result<(), String> {
    use std::io::Write as _;
    let path = file_of(dir, table);
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("history {}: cannot create: {e}", dir.display()))?;
    let mut text = String::new();
    for line in foreign {
        text.push_str(line);
        text.push('\n');
    }
    for r in runs {
        let line =
            serde_json::to_string(r).map_err(|e| format!("history {}: {e}", path.display()))?;
        text.push_str(&line);
        text.push('\n');
    }
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = path.with_extension(format!(
        "jsonl.{}-{nanos}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, &path));
    written.map_err(|e| {
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
            modified: Some(at_ms),
            scope: None,
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
        assert_eq!(
            file_of(d, "../../etc/x"),
            Path::new("/h/%2E.%2F..%2Fetc%2Fx.jsonl")
        );
        assert_eq!(
            file_of(d, "dom.com:p.d.t"),
            Path::new("/h/dom.com%3Ap.d.t.jsonl")
        );
        assert_ne!(file_of(d, "p.d.my table"), file_of(d, "p.d.my_table"));
        let long = file_of(d, &format!("p.d.{}", "x".repeat(1000)));
        assert!(long.file_name().unwrap().len() < 200, "{long:?}");
        assert_ne!(long, file_of(d, &format!("p.d.{}", "x".repeat(999))));
    }

    #[test]
    fn corrupt_and_foreign_lines_are_skipped_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let t = "p.d.t";
        let good = |ms| serde_json::to_string(&rec(t, ms, 5)).unwrap();
        let other = serde_json::to_string(&rec("p.d.other", 3, 5)).unwrap();
        let newer = r#"{"v":9,"table":"p.d.t","at":"2026-01-01T00:00:00Z","new":1}"#;
        let future = serde_json::to_string(&rec(t, 10 * 86_400_000, 5)).unwrap();
        let text = format!(
            "{}\nnot json\n{other}\n{newer}\n\n{}\n{future}\n",
            good(2_000),
            good(1_000)
        );
        std::fs::write(file_of(dir.path(), t), text).unwrap();
        let r = read(dir.path(), t, 86_400_000);
        assert_eq!(r.runs.len(), 2);
        assert!(r.runs[0].at_ms() < r.runs[1].at_ms(), "oldest first");
        assert_eq!(
            r.foreign,
            [newer],
            "another version's line is kept as it is"
        );
        assert!(!r.unreadable);
        assert_eq!(r.warnings.len(), 3, "{:#?}", r.warnings);
        assert!(r.warnings[0].contains("p.d.t.jsonl:2: skipped, not a history record"));
        assert!(r.warnings[1].contains(":3: skipped, it is of another table (p.d.other)"));
        assert!(r.warnings[2].contains(":7: skipped, dated in the future"));
        // No file: nothing, and no warning.
        assert_eq!(read(dir.path(), "p.d.none", 0), Read::default());
        // Many bad lines: five warnings, and a count of the rest.
        std::fs::write(file_of(dir.path(), t), "x\n".repeat(12)).unwrap();
        let r = read(dir.path(), t, 0);
        assert_eq!(r.warnings.len(), 6);
        assert!(
            r.warnings[5].ends_with("7 more line(s) skipped"),
            "{:?}",
            r.warnings
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_or_directory_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "keep me").unwrap();
        std::os::unix::fs::symlink(&target, file_of(dir.path(), "p.d.t")).unwrap();
        let r = read(dir.path(), "p.d.t", 0);
        assert!(
            r.unreadable && r.warnings[0].contains("not a regular file"),
            "{r:?}"
        );
        // A planted temp-file symlink is never written through: the name is new each time.
        write(dir.path(), "p.d.u", &[], &[rec("p.d.u", 0, 1)]).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    }

    #[test]
    fn what_is_kept() {
        let day = 86_400_000;
        let runs: Vec<RunRecord> = (0..10).map(|i| rec("t", i * day, i)).collect();
        let k = kept(runs.clone(), 10 * day, Keep::Runs(4));
        assert_eq!(
            k.iter().map(|r| r.rows).collect::<Vec<_>>(),
            [7, 8, 9],
            "3 and the new one"
        );
        let k = kept(runs, 10 * day, Keep::Days(3.0));
        assert_eq!(k.iter().map(|r| r.rows).collect::<Vec<_>>(), [7, 8, 9]);
        // The same version of the table again on the same day replaces its run.
        let mut again = rec("t", 9 * day + 3_600_000, 9);
        again.modified = k[2].modified;
        let w = with_run(k.clone(), again.clone());
        assert_eq!(w.len(), 3);
        assert_eq!(w[2].at, again.at);
        let w = with_run(k.clone(), rec("t", 10 * day, 10));
        assert_eq!(w.len(), 4);
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "t", &["{\"v\":9}".to_string()], &w).unwrap();
        let back = read(dir.path(), "t", 11 * day);
        assert!(back.warnings.is_empty());
        assert_eq!(back.runs, w);
        assert_eq!(back.foreign, ["{\"v\":9}"]);
    }
}
