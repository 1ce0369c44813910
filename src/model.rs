//! The things a run is about: table references, the sides of a pair, pairs. A leaf module:
//! it depends on nothing else in the crate, and everything may use it.

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// A problem with one table reference.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RefError {
    #[error("`{0}` is not a table reference: expected project.dataset.table, dataset.table or project:dataset.table")]
    Shape(String),
    #[error("`{value}`: invalid project id `{project}`: {why}")]
    Project {
        value: String,
        project: String,
        why: &'static str,
    },
    #[error("`{value}`: invalid dataset id `{dataset}`: {why}")]
    Dataset {
        value: String,
        dataset: String,
        why: &'static str,
    },
    #[error("`{value}`: invalid table id `{table}`: {why}")]
    Table {
        value: String,
        table: String,
        why: &'static str,
    },
    #[error("`{0}` has no project and no default project is set: pass --project or set GOOGLE_CLOUD_PROJECT")]
    NoProject(String),
}

/// A fully qualified BigQuery table: `project.dataset.table`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableRef {
    pub project: String,
    pub dataset: String,
    pub table: String,
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.project, self.dataset, self.table)
    }
}

impl TableRef {
    /// Parse a reference in any of the accepted forms, filling a missing project from
    /// `default_project`.
    ///
    /// Accepted: `project.dataset.table`, `dataset.table`, `project:dataset.table` (bq CLI),
    /// `example.com:project.dataset.table` and `example.com:project:dataset.table`
    /// (domain-scoped projects), each optionally wrapped in backticks.
    pub fn parse(value: &str, default_project: Option<&str>) -> Result<TableRef, RefError> {
        let raw = value.trim();
        let unquoted = unquote(raw).ok_or_else(|| RefError::Shape(raw.to_string()))?;
        if unquoted.is_empty() || unquoted.chars().any(char::is_whitespace) && !raw.contains('`') {
            return Err(RefError::Shape(raw.to_string()));
        }
        let (project, rest): (Option<String>, &str) = match unquoted.rfind(':') {
            Some(i) => {
                let prefix = &unquoted[..i];
                let rest = &unquoted[i + 1..];
                let dots = rest.matches('.').count();
                if dots == 2 {
                    // example.com:project.dataset.table
                    let (p, r) = rest.split_once('.').unwrap_or((rest, ""));
                    (Some(format!("{prefix}:{p}")), r)
                } else {
                    // project:dataset.table or example.com:project:dataset.table
                    (Some(prefix.to_string()), rest)
                }
            }
            None => {
                let parts: Vec<&str> = unquoted.splitn(2, '.').collect();
                if unquoted.matches('.').count() == 2 {
                    (
                        Some(parts[0].to_string()),
                        parts.get(1).copied().unwrap_or(""),
                    )
                } else {
                    (None, unquoted.as_str())
                }
            }
        };
        let (dataset, table) = rest
            .split_once('.')
            .ok_or_else(|| RefError::Shape(raw.to_string()))?;
        if table.contains('.') {
            return Err(RefError::Shape(raw.to_string()));
        }
        let d = DatasetRef::checked(raw, project, dataset, default_project)?;
        validate_table(table).map_err(|why| RefError::Table {
            value: raw.to_string(),
            table: table.to_string(),
            why,
        })?;
        Ok(TableRef {
            project: d.project,
            dataset: d.dataset,
            table: table.to_string(),
        })
    }

    /// The identifier as it goes into GoogleSQL: every part validated, the whole backtick-quoted.
    pub fn sql_ident(&self) -> String {
        format!("`{}.{}.{}`", self.project, self.dataset, self.table)
    }
}

/// Remove backticks: either around the whole reference or around each part.
fn unquote(s: &str) -> Option<String> {
    if !s.contains('`') {
        return Some(s.to_string());
    }
    // Backticks must be balanced and may only stand at the edges of parts.
    if !s.matches('`').count().is_multiple_of(2) {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut inside = false;
    let mut prev: Option<char> = None;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '`' {
            let next = chars.get(i + 1).copied();
            if !inside {
                if !matches!(prev, None | Some('.') | Some(':')) {
                    return None;
                }
            } else if !matches!(next, None | Some('.') | Some(':')) {
                return None;
            }
            inside = !inside;
        } else {
            out.push(c);
        }
        prev = Some(c);
    }
    Some(out)
}

/// BigQuery project ids: lowercase letters, digits and hyphens, starting with a letter, not
/// ending with a hyphen, at most 30 characters; optionally `domain:` scoped.
/// (Google requires at least 6 characters for new projects; shorter ids are accepted so that
/// emulators and old projects work.)
/// Is `p` a project id BigQuery could have? It goes into request paths (`/projects/{p}/...`),
/// where `..` or `/` would change the route.
pub(crate) fn check_project_id(p: &str) -> Result<(), &'static str> {
    validate_project(p)
}

fn validate_project(p: &str) -> Result<(), &'static str> {
    let id = match p.rsplit_once(':') {
        Some((domain, id)) => {
            if domain.is_empty()
                || !domain
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
                || !domain.contains('.')
            {
                return Err("a domain-scoped project is `example.com:project`");
            }
            id
        }
        None => p,
    };
    if id.is_empty() {
        return Err("empty");
    }
    if id.len() > 30 {
        return Err("longer than 30 characters");
    }
    if !id.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lowercase letter");
    }
    if id.ends_with('-') {
        return Err("must not end with a hyphen");
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("only lowercase letters, digits and hyphens are allowed");
    }
    Ok(())
}

/// Dataset ids: letters, digits and underscores, at most 1024 characters.
fn validate_dataset(d: &str) -> Result<(), &'static str> {
    if d.is_empty() {
        return Err("empty");
    }
    if d.len() > 1024 {
        return Err("longer than 1024 characters");
    }
    if !d.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err("only letters, digits and underscores are allowed");
    }
    Ok(())
}

/// Table ids: up to 1024 UTF-8 bytes of letters, marks, numbers, underscores, dashes and
/// spaces (BigQuery's categories L, M, N, Pc, Pd, Zs).
fn validate_table(t: &str) -> Result<(), &'static str> {
    if t.is_empty() {
        return Err("empty");
    }
    if t.len() > 1024 {
        return Err("longer than 1024 bytes");
    }
    if !t
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' ' | '\u{0300}'..='\u{036F}'))
    {
        return Err("only letters, numbers, underscores, dashes and spaces are allowed");
    }
    Ok(())
}

/// One side of a pair: a live table, or a schema file (the offline gate).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    Table(TableRef),
    SchemaFile(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Table(t) => t.fmt(f),
            Source::SchemaFile(p) => write!(f, "{}", p.display()),
        }
    }
}

impl Source {
    /// `file:PATH` or a path ending in `.json` is a schema file; anything else a table reference.
    pub fn parse(value: &str, default_project: Option<&str>) -> Result<Source, RefError> {
        let v = value.trim();
        if let Some(path) = v.strip_prefix("file:") {
            return Ok(Source::SchemaFile(PathBuf::from(path)));
        }
        if v.to_ascii_lowercase().ends_with(".json") {
            return Ok(Source::SchemaFile(PathBuf::from(v)));
        }
        TableRef::parse(v, default_project).map(Source::Table)
    }

    /// Do two sides name the same thing? Schema files compare by their path with `.` and
    /// `dir/..` resolved (`ci/../schemas/a.json` is `schemas/a.json`), without touching the
    /// filesystem.
    pub(crate) fn same_as(&self, other: &Source) -> bool {
        match (self, other) {
            (Source::SchemaFile(a), Source::SchemaFile(b)) => lexical(a) == lexical(b),
            (a, b) => a == b,
        }
    }

    /// A side is syntactically plausible (used to decide where a pair line splits).
    pub(crate) fn plausible(value: &str) -> bool {
        // Any default project will do for the shape check.
        Source::parse(value, Some("p")).is_ok()
    }
}

/// `path` with `.` dropped and `dir/..` resolved, lexically.
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.iter().collect()
}

/// Two things to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub a: Source,
    pub b: Source,
}

impl fmt::Display for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ↔ {}", self.a, self.b)
    }
}

/// What kind of trouble stopped an item: in the JSON report's `errors[].kind`, so a pipeline
/// can tell a missing table from a timeout without reading the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A table (or dataset) does not exist.
    NotFound,
    /// The credentials may not read it.
    AccessDenied,
    /// No usable credentials.
    Auth,
    /// BigQuery refused the request or query (a bad column, `--where`, `--max-bytes-billed`).
    Invalid,
    /// A job ran something other than a SELECT.
    NotReadOnly,
    /// BigQuery answered with another error, after retries.
    Api,
    /// BigQuery could not be reached.
    Network,
    /// BigQuery's answer could not be read.
    Decode,
    /// A schema file or other input of the item could not be used.
    Input,
    /// `--timeout` passed.
    Timeout,
    /// SIGINT or SIGTERM.
    Cancelled,
    /// A bug in bqcheck.
    Internal,
}

/// Why one item could not be checked. The batch goes on; the run exits 2.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ItemError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ItemError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ItemError {
        ItemError {
            kind,
            message: message.into(),
        }
    }
}

/// What BigQuery jobs used, the inputs of the bill: bytes processed, bytes billed (rounded up
/// per table and query, with a 10 MiB minimum per query) and slot time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Usage {
    pub(crate) bytes_processed: u64,
    pub(crate) bytes_billed: u64,
    pub(crate) slot_ms: u64,
}

impl std::ops::AddAssign for Usage {
    /// Saturating: figures from an endpoint never overflow.
    fn add_assign(&mut self, o: Usage) {
        self.bytes_processed = self.bytes_processed.saturating_add(o.bytes_processed);
        self.bytes_billed = self.bytes_billed.saturating_add(o.bytes_billed);
        self.slot_ms = self.slot_ms.saturating_add(o.slot_ms);
    }
}

impl std::iter::Sum for Usage {
    fn sum<I: Iterator<Item = Usage>>(iter: I) -> Usage {
        let mut total = Usage::default();
        for u in iter {
            total += u;
        }
        total
    }
}

/// On-demand BigQuery bills every query at least this much.
pub(crate) const MIN_BILLED_PER_QUERY: u64 = 10 * 1024 * 1024;

/// What queries with these dry-run estimates (bytes processed) could bill: each at least
/// [`MIN_BILLED_PER_QUERY`], the sum saturating.
pub(crate) fn billed_at_least(estimates: &[u64]) -> u64 {
    estimates.iter().fold(0u64, |t, q| {
        t.saturating_add((*q).max(MIN_BILLED_PER_QUERY))
    })
}

/// 2^40 bytes: BigQuery's on-demand price is per TiB.
pub(crate) const TIB: f64 = 1_099_511_627_776.0;

impl Usage {
    /// The on-demand cost of the bytes billed at `price_per_tib` (USD; 0 under capacity
    /// pricing, where slots are paid for instead).
    pub(crate) fn cost(&self, price_per_tib: f64) -> f64 {
        self.bytes_billed as f64 / TIB * price_per_tib
    }
}

/// A dataset: `project.dataset` (`--datasets`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatasetRef {
    pub project: String,
    pub dataset: String,
}

impl fmt::Display for DatasetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.project, self.dataset)
    }
}

impl DatasetRef {
    /// `project.dataset`, `project:dataset` or `dataset` (with `default_project`), each
    /// optionally in backticks; validated as a table reference's parts are.
    pub fn parse(value: &str, default_project: Option<&str>) -> Result<DatasetRef, RefError> {
        let raw = value.trim();
        let shape = || RefError::Shape(raw.to_string());
        let plain = unquote(raw).ok_or_else(shape)?;
        if plain.is_empty() || plain.chars().any(char::is_whitespace) {
            return Err(shape());
        }
        // `example.com:project.dataset`, `project:dataset`, `project.dataset`, `dataset`.
        let (project, dataset) = match plain.rsplit_once(':') {
            Some((prefix, rest)) => match rest.split_once('.') {
                Some((p, d)) => (Some(format!("{prefix}:{p}")), d.to_string()),
                None => (Some(prefix.to_string()), rest.to_string()),
            },
            None => match plain.split_once('.') {
                Some((p, d)) => (Some(p.to_string()), d.to_string()),
                None => (None, plain.clone()),
            },
        };
        if dataset.contains('.') {
            return Err(shape());
        }
        DatasetRef::checked(raw, project, &dataset, default_project)
    }

    /// A dataset from its parts (a manifest's `database` and `schema`), checked.
    pub fn new(project: &str, dataset: &str) -> Result<DatasetRef, RefError> {
        let value = format!("{project}.{dataset}");
        DatasetRef::checked(&value, Some(project.to_string()), dataset, None)
    }

    /// `project` (else `default_project`) and `dataset`, each checked by BigQuery's rules;
    /// errors name `raw`, the value they came from.
    fn checked(
        raw: &str,
        project: Option<String>,
        dataset: &str,
        default_project: Option<&str>,
    ) -> Result<DatasetRef, RefError> {
        let project = match project {
            Some(p) => p,
            None => default_project
                .map(str::to_string)
                .ok_or_else(|| RefError::NoProject(raw.to_string()))?,
        };
        validate_project(&project).map_err(|why| RefError::Project {
            value: raw.to_string(),
            project: project.clone(),
            why,
        })?;
        validate_dataset(dataset).map_err(|why| RefError::Dataset {
            value: raw.to_string(),
            dataset: dataset.to_string(),
            why,
        })?;
        Ok(DatasetRef {
            project,
            dataset: dataset.to_string(),
        })
    }

    /// The table of this dataset named `table` (a name tables.list returned): every part
    /// checked, the dataset's too, so a `TableRef` made here is as safe in SQL as a parsed one.
    pub fn table(&self, table: &str) -> Result<TableRef, RefError> {
        let d = DatasetRef::new(&self.project, &self.dataset)?;
        validate_table(table).map_err(|why| RefError::Table {
            value: format!("{d}.{table}"),
            table: table.to_string(),
            why,
        })?;
        Ok(TableRef {
            project: self.project.clone(),
            dataset: self.dataset.clone(),
            table: table.to_string(),
        })
    }

    /// The dataset's INFORMATION_SCHEMA view `view` in GoogleSQL: every part validated.
    pub fn information_schema(&self, view: &str) -> String {
        format!(
            "`{}.{}`.INFORMATION_SCHEMA.{view}",
            self.project, self.dataset
        )
    }
}

/// Where a table of a dataset run exists when it is not in both datasets: A (proposed: `dev`
/// in `--datasets dev:prod`) or B (the base). For a profile, B is the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnlyIn {
    A,
    B,
}
