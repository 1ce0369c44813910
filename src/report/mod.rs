//! Reports: one file per format behind one trait (as hyperfine's `src/export/`). Every check's
//! batch result implements [`Batch`], a format-neutral view; each [`Exporter`] renders it.
//! Several formats can be written in one run.

pub(crate) mod batch;
pub(crate) mod doc;
pub(crate) mod json;
pub(crate) mod junit;
pub mod markdown;
pub(crate) mod text;

use std::path::Path;

use thiserror::Error;

#[derive(Debug, Error)]
pub(crate) enum ReportError {
    #[error("cannot write report {path}: {error}")]
    Write {
        path: String,
        // Not a `source`: the message already says it (anyhow's chain would repeat it).
        error: std::io::Error,
    },
    #[error("cannot render {format} report: {message}")]
    Render {
        format: &'static str,
        message: String,
    },
}

/// A run's exit status, as diff(1): trouble beats differences beats nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ExitStatus {
    /// Nothing to fail on.
    Clean = 0,
    /// Differences (or anomalies) that fail the gate under `--fail-on`.
    Differences = 1,
    /// Bad input, or an item that could not be checked.
    Trouble = 2,
}

impl ExitStatus {
    pub(crate) fn code(self) -> u8 {
        self as u8
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(s.code())
    }
}

/// How one item of a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Nothing to report (identical, or differences that `--fail-on` ignores).
    Pass,
    /// Differences that fail the gate.
    Fail,
    /// The item could not be checked.
    Error,
}

/// One item (pair or table), as every format sees it.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    /// `a ↔ b` or the table id.
    pub(crate) name: String,
    pub(crate) outcome: Outcome,
    /// Nothing to see: identical, no change, a clean profile (not for a dry run or an error).
    pub(crate) same: bool,
    /// Its headline (`identical`, `3 changes (1 breaking)`, or the error) and blocks.
    pub(crate) details: doc::Details,
}

impl Case {
    /// An item that could not be checked.
    pub(crate) fn error(name: String, message: &str) -> Case {
        Case {
            name,
            outcome: Outcome::Error,
            same: false,
            details: doc::Details {
                headline: message.to_string(),
                blocks: Vec::new(),
            },
        }
    }
}

/// The batch summary: a title and counted lines, as the original utilities printed.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    /// `Batch Schema Diff Summary`.
    pub(crate) title: String,
    /// (`Total pairs`, 3), ...
    pub(crate) counts: Vec<(String, usize)>,
    /// `Failed pairs:` / `Failed tables:`.
    pub(crate) failed_heading: String,
    /// What the run's queries cost ([`cost_line`]), for checks that run queries.
    pub(crate) cost: Option<String>,
}

/// The counts a CI system wants as outputs (the GitHub Action's `total`, `identical`, ...).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Totals {
    /// Pairs or tables checked.
    pub(crate) total: usize,
    /// Pairs that are identical; for profile, tables with no anomaly.
    pub(crate) identical: usize,
    /// Pairs that differ; for profile, tables with anomalies.
    pub(crate) different: usize,
    /// Items that could not be checked.
    pub(crate) failed: usize,
    /// schema-diff: pairs with breaking changes.
    pub(crate) breaking: usize,
    /// profile: anomalies found.
    pub(crate) anomalies: usize,
    /// `--datasets`: tables in one dataset only (or, for profile, only in the baseline).
    pub(crate) one_sided: usize,
    /// What the run's jobs used (jobs served from the cache cost nothing).
    pub(crate) usage: crate::model::Usage,
    /// Their cost at the run's `--price-per-tib` (0 for checks that run no queries).
    pub(crate) cost_usd: f64,
}

/// A count for people: `1,096`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes for people: `512 B`, `2.9 KiB`, `30.0 MiB`, `1.3 TiB`.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Dollars: 4 decimals under a dollar (BigQuery bills fractions of a cent per query), else 2.
pub(crate) fn usd(x: f64) -> String {
    if x < 1.0 {
        format!("${x:.4}")
    } else {
        format!("${x:.2}")
    }
}

/// `dry run: 3 queries, 3000 bytes estimated (2.9 KiB), billing at least 30.0 MiB, ~$0.0002
/// at $6.25/TiB`: BigQuery's estimates are of bytes processed; each query bills at least
/// 10 MiB, as `--max-bytes-per-run` counts them.
pub(crate) fn dry_run_headline(estimates: &[u64], price_per_tib: f64) -> String {
    let n = estimates.len();
    let bytes = estimates.iter().fold(0u64, |t, b| t.saturating_add(*b));
    let billed = crate::model::billed_at_least(estimates);
    format!(
        "dry run: {n} quer{}, {bytes} bytes estimated ({}), billing at least {}, ~{} at {}/TiB",
        if n == 1 { "y" } else { "ies" },
        human_bytes(bytes),
        human_bytes(billed),
        usd(billed as f64 / crate::model::TIB * price_per_tib),
        usd(price_per_tib)
    )
}

/// What jobs cost, in one line: `$0.0002 (30.0 MiB billed at $6.25/TiB; 2.9 KiB processed;
/// 0.8 slot-seconds)`.
pub(crate) fn cost_line(u: &crate::model::Usage, price_per_tib: f64) -> String {
    format!(
        "{} ({} billed at {}/TiB; {} processed; {:.1} slot-seconds)",
        usd(u.cost(price_per_tib)),
        human_bytes(u.bytes_billed),
        usd(price_per_tib),
        human_bytes(u.bytes_processed),
        u.slot_ms as f64 / 1000.0
    )
}

/// How loud a CI annotation is; ordered from most to least severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Error,
    Warning,
    Notice,
}

/// One finding worth a CI annotation (GitHub's `::error title=…::…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Annotation {
    pub(crate) level: Level,
    /// Within a level, lower is more severe: 0 an item that failed, 1 a breaking change,
    /// 2 a difference that fails the gate, 3 anything else.
    pub(crate) rank: u8,
    pub(crate) title: String,
    pub(crate) message: String,
}

/// A check's batch result, viewed by the exporters.
pub(crate) trait Batch: Send + Sync {
    /// The utility's name, e.g. `bq-schema-diff`.
    fn tool(&self) -> &'static str;
    /// A line shown above the items in text and Markdown reports, if any.
    fn legend(&self) -> Option<String> {
        None
    }
    /// Warnings about the run's settings rather than an item (a stale accept entry), shown
    /// under the summary in Markdown reports and PR comments.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
    fn cases(&self) -> Vec<Case>;
    fn summary(&self) -> Summary;
    /// A chart of the whole batch for Markdown reports and PR comments, if the check has one.
    fn overview(&self) -> Option<doc::BarChart> {
        None
    }
    /// The machine-readable document, pretty-printed (keys kept from the original utilities).
    fn json(&self) -> Result<Vec<u8>, serde_json::Error>;
    /// Does any item fail the gate (under `--fail-on`)?
    fn fails_gate(&self) -> bool;
    /// diff(1) semantics: trouble if any item failed, else differences if the gate fails.
    fn exit_status(&self) -> ExitStatus {
        if self.totals().failed > 0 {
            ExitStatus::Trouble
        } else if self.fails_gate() {
            ExitStatus::Differences
        } else {
            ExitStatus::Clean
        }
    }
    fn totals(&self) -> Totals;
    /// The PR comment's status line: the findings when something differs, else what to say
    /// (`no differences`).
    fn status(&self) -> (Vec<String>, &'static str);
    /// Findings for CI annotations, in item order (the caller ranks them).
    fn annotations(&self) -> Vec<Annotation>;
}

/// One output format.
pub(crate) trait Exporter {
    fn render(&self, batch: &dyn Batch) -> Result<Vec<u8>, ReportError>;
}

/// The formats, for `--format` and the `--report-*` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    Text,
    Json,
    Junit,
    Markdown,
}

impl Format {
    pub(crate) fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Format::Text => Box::new(text::Text),
            Format::Json => Box::new(json::Json),
            Format::Junit => Box::new(junit::Junit),
            Format::Markdown => Box::new(markdown::Markdown),
        }
    }
}

/// A report file a run can write: by a flag (`--report-json PATH`) on the command line, and
/// into `report_dir` in the action.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) format: Format,
    /// The flag's id, and the action's output naming the file: `report_json`.
    pub(crate) flag: &'static str,
    /// Its name in the action's `report_dir`.
    pub(crate) action_file: &'static str,
}

/// Every report file, for the CLI's `--report-*` flags and the action alike.
pub(crate) const TARGETS: &[Target] = &[
    Target {
        format: Format::Json,
        flag: "report_json",
        action_file: "report.json",
    },
    Target {
        format: Format::Junit,
        flag: "report_junit",
        action_file: "report.xml",
    },
    Target {
        format: Format::Markdown,
        flag: "report_markdown",
        action_file: "report.md",
    },
];

/// Render `batch` in `format` and write it to `path`.
pub(crate) fn write_file(
    batch: &dyn Batch,
    format: Format,
    path: &Path,
) -> Result<(), ReportError> {
    let bytes = format.exporter().render(batch)?;
    std::fs::write(path, bytes).map_err(|error| ReportError::Write {
        path: path.display().to_string(),
        error,
    })
}

/// The tool block every JSON report carries.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct ToolJson {
    name: &'static str,
    version: &'static str,
}

impl ToolJson {
    pub(crate) fn new(name: &'static str) -> ToolJson {
        ToolJson {
            name,
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// Version of the JSON report layout; bumped on incompatible changes.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// A value from table data, a schema or BigQuery, made safe to print on one line: every
/// control character (newline, carriage return, ESC, ...) is shown escaped (`\n`, `\u{1b}`),
/// so data can neither start a line of its own (a `::workflow-command::` in the Actions log)
/// nor drive the terminal.
pub(crate) fn one_line(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// RFC 3339 UTC timestamp, seconds precision, as in the original reports.
pub(crate) fn timestamp_now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
