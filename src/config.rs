//! `.bqcheck.yml`: a gate's pairs, keys, thresholds and acknowledged changes, reviewed in the
//! repository instead of spread over workflow flags.
//!
//! Rules (the README's "Configuration file" section says the same):
//! - `--config PATH`, else `.bqcheck.yml` in the working directory if there is one.
//! - Top-level keys are defaults for the options every command takes; each command has a
//!   section (`schema_diff`, `table_compare`, `profile`) for its own options.
//! - A flag given on the command line (or by an action input) wins over the file.
//! - Pairs (or tables) named by arguments, `--pairs-file`, stdin or the action's inputs
//!   *replace* the file's: the file's list is the default set.
//! - Unknown keys, wrong types and bad values are errors naming the file, line and column:
//!   a typo in a gate's config must never silently disable a check.
//! - Relative paths in the file are relative to the file's directory.
//!
//! Values are checked while the YAML is read (each value type below refuses what its flag
//! would refuse), so every error carries the position serde_yaml_ng reports.

use std::fmt;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, ValueEnum};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::checks::schema_diff::{AcceptRule, ChangeKind};
use crate::cli::{
    CommonArgs, CompareFailOn, ProfileArgs, ProfileFailOn, QueryArgs, SchemaDiffArgs, SchemaFailOn,
    TableCompareArgs,
};
use crate::input::split_pair_line;
use crate::model::{Pair, Source, TableRef};
use crate::report::Format;

/// The file looked for when `--config` is not given.
pub const DEFAULT_FILE: &str = ".bqcheck.yml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {error}")]
    Read {
        path: String,
        // Not a `source`: the message already says it.
        error: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Unplaced { path: String, message: String },
}

// ---------------------------------------------------------------------------------------------
// Value types: each refuses what the matching flag refuses, with a message for the file.
// Checks run inside the visitor, so serde_yaml_ng places the error at the value itself.

/// A YAML scalar as a check sees it.
enum Scalar<'a> {
    Int(i128),
    Float(f64),
    Str(&'a str),
}

impl Scalar<'_> {
    fn number(&self) -> Result<f64, String> {
        match self {
            Scalar::Int(i) => Ok(*i as f64),
            Scalar::Float(f) => Ok(*f),
            Scalar::Str(s) => Err(format!("`{s}` is not a number")),
        }
    }
    fn text(&self) -> Result<&str, String> {
        match self {
            Scalar::Str(s) => Ok(s),
            Scalar::Int(i) => Err(format!("{i} is a number: text was expected")),
            Scalar::Float(f) => Err(format!("{f} is a number: text was expected")),
        }
    }
}

struct Check<F> {
    expecting: &'static str,
    check: F,
}

impl<'de, T, F: FnOnce(Scalar) -> Result<T, String>> de::Visitor<'de> for Check<F> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        (self.check)(Scalar::Int(v.into())).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        (self.check)(Scalar::Int(v.into())).map_err(E::custom)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        (self.check)(Scalar::Float(v)).map_err(E::custom)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.check)(Scalar::Str(v)).map_err(E::custom)
    }
}

/// Read a scalar and check it where it stands.
fn scalar<'de, D: Deserializer<'de>, T>(
    d: D,
    expecting: &'static str,
    check: impl FnOnce(Scalar) -> Result<T, String>,
) -> Result<T, D::Error> {
    d.deserialize_any(Check { expecting, check })
}

/// Read text and check it where it stands; the text itself is kept.
fn checked_text<'de, D: Deserializer<'de>>(
    d: D,
    expecting: &'static str,
    check: impl FnOnce(&str) -> Result<(), String>,
) -> Result<String, D::Error> {
    scalar(d, expecting, |v| {
        let s = v.text()?;
        check(s).map(|()| s.to_string())
    })
}

/// A whole number of at least 1 (`parallel`, `max_parallel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Positive(pub u16);

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar(d, "a whole number of at least 1", |v| match v {
            Scalar::Int(n) if (1..=i128::from(u16::MAX)).contains(&n) => Ok(Positive(n as u16)),
            Scalar::Int(n) => Err(format!(
                "{n} is out of range: use a whole number from 1 to {}",
                u16::MAX
            )),
            other => Err(format!(
                "{}: use a whole number from 1 to {}",
                other.number().map(|f| f.to_string()).unwrap_or_else(|e| e),
                u16::MAX
            )),
        })
    }
}

/// A number that is finite and not negative (tolerances, thresholds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NonNegative(pub f64);

impl<'de> Deserialize<'de> for NonNegative {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar(d, "a number of at least 0", |v| {
            let n = v.number()?;
            if n.is_finite() && n >= 0.0 {
                Ok(NonNegative(n))
            } else {
                Err(format!("{n} is not allowed: use a number of at least 0"))
            }
        })
    }
}

/// A rate from 0 to 1 (`null_rate`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate(pub f64);

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar(d, "a rate from 0 to 1", |v| {
            let n = v.number()?;
            if (0.0..=1.0).contains(&n) {
                Ok(Rate(n))
            } else {
                Err(format!(
                    "{n} is not a rate: use a number from 0 to 1 (0.2 = 20%)"
                ))
            }
        })
    }
}

/// A number, or a number with a unit: `s`, `m`, `h`, `d`, `w`.
fn duration_seconds(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: use e.g. 90s, 15m, 12h, 7d or 2w"))?;
    let scale = match unit.trim() {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        "w" => 7.0 * 86_400.0,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}`: use s, m, h, d or w"
            ))
        }
    };
    let v = n * scale;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("`{text}` is not a positive duration"))
    }
}

/// Either a plain number (in `unit_seconds` units) or a string with a unit; in seconds.
fn duration(v: Scalar, unit_seconds: f64) -> Result<f64, String> {
    match v {
        Scalar::Str(s) => duration_seconds(s),
        n => {
            let n = n.number()?;
            if n.is_finite() && n > 0.0 {
                Ok(n * unit_seconds)
            } else {
                Err(format!("{n} is not a positive duration"))
            }
        }
    }
}

/// Days: `7`, `7d`, `12h`, `2w` (`stale_after`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Days(pub f64);

impl<'de> Deserialize<'de> for Days {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar(d, "days, or a duration such as 7d", |v| {
            duration(v, 86_400.0).map(|s| Days(s / 86_400.0))
        })
    }
}

/// Whole seconds: `900`, `15m`, `1h` (`timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Seconds(pub u64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar(d, "seconds, or a duration such as 15m", |v| {
            let s = duration(v, 1.0)?;
            if s < 1.0 || s > f64::from(u32::MAX) {
                return Err(format!(
                    "use a timeout from 1 second to {} seconds",
                    u32::MAX
                ));
            }
            Ok(Seconds(s.round() as u64))
        })
    }
}

/// One of a flag's values (`fail_on: breaking`, `format: json`), as clap spells them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Choice<T>(pub T);

impl<'de, T: ValueEnum> Deserialize<'de> for Choice<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar(d, "a word", |v| {
            let s = v.text()?;
            T::from_str(s, false)
                .map(Choice)
                .map_err(|_| format!("`{s}` is not one of {}", names::<T>()))
        })
    }
}

fn names<T: ValueEnum>() -> String {
    T::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value())
        .map(|p| p.get_name().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A table reference or schema file, checked for shape as it is read (the project of
/// `dataset.table` is resolved later, with `--project`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side(pub String);

impl<'de> Deserialize<'de> for Side {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_text(d, "a table or schema file", |s| {
            Source::parse(s, Some("p"))
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .map(Side)
    }
}

/// A `TABLE` (profile's `tables`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName(pub String);

impl<'de> Deserialize<'de> for TableName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_text(d, "a table", |s| {
            TableRef::parse(s, Some("p"))
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .map(TableName)
    }
}

/// A `--where` predicate, refused as the flag refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predicate(pub String);

impl<'de> Deserialize<'de> for Predicate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_text(d, "a predicate", |s| {
            crate::checks::table_compare::validate_where(s)
                .map_err(|e| e.replace("--where", "where"))
        })
        .map(Predicate)
    }
}

/// Text that must not be blank (`reason`, `project`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar(d, "text", |v| {
            let s = v.text()?;
            if s.trim().is_empty() {
                Err("must not be empty".into())
            } else {
                Ok(Text(s.trim().to_string()))
            }
        })
    }
}

/// A non-empty list of column names (`key`, `columns`, `exclude_columns`): `key: []` or a
/// blank name is an error, not a silent "no key".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names(pub Vec<String>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Names;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of column names, e.g. [id, region]")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Names, A::Error> {
                let mut out = Vec::new();
                while let Some(t) = seq.next_element::<Text>()? {
                    out.push(t.0);
                }
                if out.is_empty() {
                    return Err(de::Error::custom(
                        "an empty list: name at least one column, or leave the key out",
                    ));
                }
                Ok(Names(out))
            }
        }
        d.deserialize_seq(V)
    }
}

/// `A:B` (an accept entry's `pair`), split as a pairs-file line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairText {
    pub a: String,
    pub b: String,
}

impl<'de> Deserialize<'de> for PairText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar(d, "a pair `A:B`", |v| {
            let (a, b) = split_pair_line(v.text()?)?;
            for side in [&a, &b] {
                Source::parse(side, Some("p")).map_err(|e| e.to_string())?;
            }
            Ok(PairText { a, b })
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The file's shape.

/// A key that is written must have a value: `parallel: ~`, or a section whose lines are all
/// commented out, is an error rather than a silent "not set".
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The whole file. Top-level keys are the options every command takes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default, deserialize_with = "present")]
    pub parallel: Option<Positive>,
    #[serde(default, deserialize_with = "present")]
    pub max_parallel: Option<Positive>,
    #[serde(default, deserialize_with = "present")]
    pub timeout: Option<Seconds>,
    #[serde(default, deserialize_with = "present")]
    pub verbose: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub progress: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub format: Option<Choice<Format>>,
    #[serde(default, deserialize_with = "present")]
    pub no_cache: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub cache_dir: Option<PathBuf>,
    #[serde(default, deserialize_with = "present")]
    pub project: Option<Text>,
    #[serde(default, deserialize_with = "present")]
    pub api_url: Option<Text>,
    #[serde(default, deserialize_with = "present")]
    pub credentials: Option<PathBuf>,
    #[serde(default, deserialize_with = "present")]
    pub report_json: Option<PathBuf>,
    #[serde(default, deserialize_with = "present")]
    pub report_junit: Option<PathBuf>,
    #[serde(default, deserialize_with = "present")]
    pub report_markdown: Option<PathBuf>,
    #[serde(default, deserialize_with = "present")]
    pub schema_diff: Option<SchemaDiffSection>,
    #[serde(default, deserialize_with = "present")]
    pub table_compare: Option<TableCompareSection>,
    #[serde(default, deserialize_with = "present")]
    pub profile: Option<ProfileSection>,
}

/// `schema_diff:`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaDiffSection {
    #[serde(default, deserialize_with = "present")]
    pub pairs: Option<Vec<PairEntry>>,
    #[serde(default, deserialize_with = "present")]
    pub pairs_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "present")]
    pub fail_on: Option<Choice<SchemaFailOn>>,
    #[serde(default, deserialize_with = "present")]
    pub include_table_options: Option<bool>,
    #[serde(default)]
    pub accept: Vec<AcceptEntry>,
}

/// A pair: `{ a: dev.users, b: prod.users }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairEntry {
    pub a: Side,
    pub b: Side,
}

/// An acknowledged schema change.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptEntry {
    pub pair: PairText,
    pub path: Text,
    pub change: ChangeKind,
    pub reason: Text,
}

/// `table_compare:`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableCompareSection {
    #[serde(default, deserialize_with = "present")]
    pub pairs: Option<Vec<ComparePairEntry>>,
    #[serde(default, deserialize_with = "present")]
    pub pairs_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "present")]
    pub sample_size: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    pub skip_stats: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub skip_samples: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub key: Option<Names>,
    #[serde(default, deserialize_with = "present")]
    pub exclude_columns: Option<Names>,
    #[serde(default, deserialize_with = "present")]
    pub fail_on: Option<Choice<CompareFailOn>>,
    #[serde(default, deserialize_with = "present")]
    pub tolerance: Option<NonNegative>,
    #[serde(default, deserialize_with = "present")]
    pub float_tolerance: Option<NonNegative>,
    // Flattening would lose `deny_unknown_fields`, so the query options are spelled out.
    #[serde(default, deserialize_with = "present")]
    pub columns: Option<Names>,
    #[serde(rename = "where")]
    #[serde(default, deserialize_with = "present")]
    pub where_clause: Option<Predicate>,
    #[serde(default, deserialize_with = "present")]
    pub max_bytes_billed: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    pub dry_run: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub location: Option<Text>,
}

/// A pair with its own key and filter: `{ a: dev.orders, b: prod.orders, key: [id] }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparePairEntry {
    pub a: Side,
    pub b: Side,
    #[serde(default, deserialize_with = "present")]
    pub key: Option<Names>,
    #[serde(rename = "where")]
    #[serde(default, deserialize_with = "present")]
    pub where_clause: Option<Predicate>,
}

/// `profile:`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSection {
    #[serde(default, deserialize_with = "present")]
    pub tables: Option<Vec<TableName>>,
    #[serde(default, deserialize_with = "present")]
    pub sample_size: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    pub detect_anomalies: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub baseline: Option<PathBuf>,
    #[serde(default, deserialize_with = "present")]
    pub fail_on: Option<Choice<ProfileFailOn>>,
    /// Thresholds; the section's presence turns anomaly detection on.
    #[serde(default, deserialize_with = "present")]
    pub anomalies: Option<Anomalies>,
    #[serde(default, deserialize_with = "present")]
    pub drift: Option<Drift>,
    #[serde(default, deserialize_with = "present")]
    pub columns: Option<Names>,
    #[serde(rename = "where")]
    #[serde(default, deserialize_with = "present")]
    pub where_clause: Option<Predicate>,
    #[serde(default, deserialize_with = "present")]
    pub max_bytes_billed: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    pub dry_run: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub location: Option<Text>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anomalies {
    #[serde(default, deserialize_with = "present")]
    pub null_rate: Option<Rate>,
    #[serde(default, deserialize_with = "present")]
    pub stale_after: Option<Days>,
    #[serde(default, deserialize_with = "present")]
    pub outlier_iqr: Option<NonNegative>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drift {
    #[serde(default, deserialize_with = "present")]
    pub rows: Option<NonNegative>,
    #[serde(default, deserialize_with = "present")]
    pub null_rate: Option<Rate>,
    #[serde(default, deserialize_with = "present")]
    pub distinct: Option<NonNegative>,
    #[serde(default, deserialize_with = "present")]
    pub mean_stddevs: Option<NonNegative>,
}

// ---------------------------------------------------------------------------------------------
// Loading.

/// A config file, read and checked.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub config: Config,
}

/// Parse a file's text. `path` is only for messages.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let shown = path.display().to_string();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // An empty file (or one of comments only) is an empty config, not an error.
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Config::default());
    }
    limits(&shown, text)?;
    serde_yaml_ng::from_str::<Config>(text).map_err(|e| {
        let full = e.to_string();
        // serde_yaml_ng appends " at line L column C"; the position goes in front instead.
        let message = match full.rfind(" at line ") {
            Some(i) => full[..i].to_string(),
            None => full.clone(),
        };
        match e.location() {
            Some(loc) => ConfigError::Invalid {
                path: shown.clone(),
                line: loc.line(),
                column: loc.column(),
                message,
            },
            None => ConfigError::Unplaced {
                path: shown.clone(),
                message,
            },
        }
    })
}

/// The largest config file read (a real one is a few kilobytes).
pub const MAX_CONFIG_BYTES: usize = 1 << 20;
/// The deepest nesting of flow collections (`[`, `{`) or indentation levels read; the
/// schema's own nesting is 4.
pub const MAX_CONFIG_DEPTH: usize = 32;

/// Refuse, before the parser sees it, a file too large or too deeply nested to be a config
/// (a PR can ship one: 100,000 nested `[` took the parser 45 s).
fn limits(shown: &str, text: &str) -> Result<(), ConfigError> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::Unplaced {
            path: shown.to_string(),
            message: format!(
                "{} bytes: a config file is at most {MAX_CONFIG_BYTES}",
                text.len()
            ),
        });
    }
    let mut depth = 0usize;
    let mut quote: Option<char>;
    for (n, line) in text.lines().enumerate() {
        let deep = |column: usize| ConfigError::Invalid {
            path: shown.to_string(),
            line: n + 1,
            column,
            message: format!("nested deeper than {MAX_CONFIG_DEPTH} levels"),
        };
        if depth == 0 {
            let indent = line.len() - line.trim_start_matches([' ', '-']).len();
            if indent > 2 * MAX_CONFIG_DEPTH {
                return Err(deep(indent + 1));
            }
        }
        // A quote opens a quoted scalar only where a value starts (an apostrophe inside a
        // plain scalar, `it's`, opens nothing); a quoted scalar is taken to end with its line.
        quote = None;
        let mut prev = ' ';
        for (col, c) in line.chars().enumerate() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') if matches!(prev, ' ' | '\t' | ':' | '-' | '[' | '{' | ',') => {
                    quote = Some(c)
                }
                (None, '#') if matches!(prev, ' ' | '\t') => break,
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > MAX_CONFIG_DEPTH {
                        return Err(deep(col + 1));
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
            prev = c;
        }
    }
    Ok(())
}

/// `--config PATH` (which must exist), else `.bqcheck.yml` in the working directory if any.
pub fn load(explicit: Option<&Path>) -> Result<Option<Loaded>, ConfigError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let p = PathBuf::from(DEFAULT_FILE);
            if !p.is_file() {
                return Ok(None);
            }
            p
        }
    };
    let bytes = std::fs::read(&path).map_err(|error| ConfigError::Read {
        path: path.display().to_string(),
        error,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| ConfigError::Unplaced {
        path: path.display().to_string(),
        message: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    let mut config = parse(&path, &text)?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    config.rebase(&base);
    Ok(Some(Loaded { path, config }))
}

fn rebase_path(base: &Path, p: &mut PathBuf) {
    if p.is_relative() && !base.as_os_str().is_empty() {
        *p = base.join(&*p);
    }
}

fn rebase_side(base: &Path, s: &mut Side) {
    // Only schema files are paths; a table reference stays as it is.
    if let Ok(Source::SchemaFile(p)) = Source::parse(&s.0, Some("p")) {
        if p.is_relative() && !base.as_os_str().is_empty() {
            s.0 = base.join(p).display().to_string();
        }
    }
}

impl Config {
    /// Every path the file names (after [`Config::rebase`]), with the key that names it:
    /// files it makes bqcheck read or write, schema files among its pairs included.
    pub fn paths(&self) -> Vec<(String, PathBuf)> {
        let mut out: Vec<(String, PathBuf)> = Vec::new();
        let mut add = |key: &str, p: &Option<PathBuf>| {
            if let Some(p) = p {
                out.push((key.to_string(), p.clone()));
            }
        };
        add("cache_dir", &self.cache_dir);
        add("credentials", &self.credentials);
        add("report_json", &self.report_json);
        add("report_junit", &self.report_junit);
        add("report_markdown", &self.report_markdown);
        if let Some(s) = &self.schema_diff {
            add("schema_diff.pairs_file", &s.pairs_file);
        }
        if let Some(s) = &self.table_compare {
            add("table_compare.pairs_file", &s.pairs_file);
        }
        if let Some(s) = &self.profile {
            add("profile.baseline", &s.baseline);
        }
        if let Some(s) = &self.schema_diff {
            for e in s.pairs.iter().flatten() {
                for side in [&e.a, &e.b] {
                    if let Ok(Source::SchemaFile(p)) = Source::parse(&side.0, Some("p")) {
                        out.push(("schema_diff.pairs".into(), p));
                    }
                }
            }
        }
        out
    }

    /// Make relative paths relative to the file's directory.
    fn rebase(&mut self, base: &Path) {
        for p in [
            &mut self.cache_dir,
            &mut self.credentials,
            &mut self.report_json,
            &mut self.report_junit,
            &mut self.report_markdown,
        ]
        .into_iter()
        .flatten()
        {
            rebase_path(base, p);
        }
        if let Some(s) = &mut self.schema_diff {
            if let Some(p) = &mut s.pairs_file {
                rebase_path(base, p);
            }
            for e in s.pairs.iter_mut().flatten() {
                rebase_side(base, &mut e.a);
                rebase_side(base, &mut e.b);
            }
            // An accept entry names its pair as the pairs do, so it is rebased the same way.
            for e in &mut s.accept {
                for side in [&mut e.pair.a, &mut e.pair.b] {
                    let mut s = Side(side.clone());
                    rebase_side(base, &mut s);
                    *side = s.0;
                }
            }
        }
        if let Some(s) = &mut self.table_compare {
            if let Some(p) = &mut s.pairs_file {
                rebase_path(base, p);
            }
        }
        if let Some(s) = &mut self.profile {
            if let Some(p) = &mut s.baseline {
                rebase_path(base, p);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Applying: a flag given on the command line wins; otherwise the file's value is used.

/// What the file adds that has no flag: its pairs or tables (used when the command line
/// names none), per-pair options, and accept entries.
#[derive(Debug, Clone, Default)]
pub struct FromFile {
    /// The file, for messages (`None`: no config file).
    pub path: Option<PathBuf>,
    pub pairs: Vec<ComparePairEntry>,
    pub pairs_file: Option<PathBuf>,
    pub tables: Vec<String>,
    pub accept: Vec<AcceptEntry>,
}

/// Per-pair options from the file (table-compare).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairOptions {
    pub key: Option<Vec<String>>,
    pub where_clause: Option<String>,
}

impl FromFile {
    fn origin(&self, what: &str) -> String {
        match &self.path {
            Some(p) => format!("{} ({what})", p.display()),
            None => what.to_string(),
        }
    }

    /// Does the file name any pair (or table)?
    pub fn names_items(&self) -> bool {
        !self.pairs.is_empty() || self.pairs_file.is_some() || !self.tables.is_empty()
    }

    /// The file's pairs, resolved with the default project, each with its own options.
    pub fn pairs(
        &self,
        section: &str,
        default_project: Option<&str>,
    ) -> Result<Vec<(Pair, PairOptions)>, Vec<String>> {
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for (i, e) in self.pairs.iter().enumerate() {
            let side = |s: &Side| {
                Source::parse(&s.0, default_project).map_err(|err| {
                    format!("{}: {err}", self.origin(&format!("{section}.pairs[{i}]")))
                })
            };
            match (side(&e.a), side(&e.b)) {
                (Ok(a), Ok(b)) => {
                    let pair = Pair { a, b };
                    let options = PairOptions {
                        key: e.key.as_ref().map(|k| k.0.clone()),
                        where_clause: e.where_clause.as_ref().map(|w| w.0.clone()),
                    };
                    // One pair, one set of options: which would a run use?
                    if out.iter().any(|(p, o)| *p == pair && *o != options) {
                        errors.push(format!(
                            "{}: {pair} is listed twice with different key or where",
                            self.origin(&format!("{section}.pairs[{i}]"))
                        ));
                    }
                    out.push((pair, options));
                }
                (Err(x), _) | (_, Err(x)) => errors.push(x),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// The accept entries, resolved with the default project.
    pub fn accept_rules(&self, default_project: Option<&str>) -> Result<Vec<AcceptRule>, String> {
        self.accept
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let side = |s: &str| {
                    Source::parse(s, default_project).map_err(|err| {
                        format!(
                            "{}: {err}",
                            self.origin(&format!("schema_diff.accept[{i}]"))
                        )
                    })
                };
                Ok(AcceptRule {
                    pair: Pair {
                        a: side(&e.pair.a)?,
                        b: side(&e.pair.b)?,
                    },
                    path: e.path.0.clone(),
                    kind: e.change,
                    reason: e.reason.0.clone(),
                })
            })
            .collect()
    }

    /// How a stale accept entry is named in a warning.
    pub fn describe_accept(&self, i: usize) -> String {
        let e = &self.accept[i.min(self.accept.len().saturating_sub(1))];
        let change = serde_json::to_value(e.change)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        format!(
            "{}: {}:{} {} {change}",
            self.origin(&format!("schema_diff.accept[{i}]")),
            e.pair.a,
            e.pair.b,
            e.path.0,
        )
    }
}

/// Was this argument given on the command line (or by the environment), not defaulted?
fn given(m: &ArgMatches, id: &str) -> bool {
    matches!(
        m.try_get_raw(id).ok().and_then(|_| m.value_source(id)),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

/// Set `$field` from the file unless the flag `$id` was given.
macro_rules! fill {
    ($m:expr, $id:literal, $field:expr, $value:expr) => {
        if let Some(v) = $value {
            if !given($m, $id) {
                $field = v;
            }
        }
    };
}

fn apply_common(c: &Config, m: &ArgMatches, a: &mut CommonArgs) {
    fill!(m, "parallel", a.parallel, c.parallel.map(|v| v.0));
    fill!(
        m,
        "max_parallel",
        a.max_parallel,
        c.max_parallel.map(|v| Some(v.0))
    );
    fill!(m, "timeout", a.timeout, c.timeout.map(|v| v.0));
    fill!(m, "verbose", a.verbose, c.verbose);
    fill!(m, "progress", a.progress, c.progress);
    fill!(m, "format", a.format, c.format.map(|v| v.0));
    fill!(m, "no_cache", a.no_cache, c.no_cache);
    fill!(m, "cache_dir", a.cache_dir, c.cache_dir.clone().map(Some));
    fill!(
        m,
        "project",
        a.project,
        c.project.clone().map(|v| Some(v.0))
    );
    fill!(
        m,
        "api_url",
        a.api_url,
        c.api_url.clone().map(|v| Some(v.0))
    );
    fill!(
        m,
        "credentials",
        a.credentials,
        c.credentials.clone().map(Some)
    );
    fill!(
        m,
        "report_json",
        a.report_json,
        c.report_json.clone().map(Some)
    );
    fill!(
        m,
        "report_junit",
        a.report_junit,
        c.report_junit.clone().map(Some)
    );
    fill!(
        m,
        "report_markdown",
        a.report_markdown,
        c.report_markdown.clone().map(Some)
    );
}

#[allow(clippy::too_many_arguments)]
fn apply_query(
    m: &ArgMatches,
    q: &mut QueryArgs,
    columns: &Option<Names>,
    where_clause: &Option<Predicate>,
    max_bytes_billed: Option<u64>,
    dry_run: Option<bool>,
    location: &Option<Text>,
) {
    fill!(
        m,
        "columns",
        q.columns,
        columns.as_ref().map(|c| Some(c.0.clone()))
    );
    fill!(
        m,
        "where_clause",
        q.where_clause,
        where_clause.clone().map(|w| Some(w.0))
    );
    fill!(
        m,
        "max_bytes_billed",
        q.max_bytes_billed,
        max_bytes_billed.map(Some)
    );
    fill!(m, "dry_run", q.dry_run, dry_run);
    fill!(
        m,
        "location",
        q.location,
        location.clone().map(|l| Some(l.0))
    );
}

/// Did the command line name pairs (arguments or `--pairs-file`)?
fn pairs_given(m: &ArgMatches) -> bool {
    given(m, "pairs") || given(m, "pairs_file")
}

impl Loaded {
    fn extras(&self) -> FromFile {
        FromFile {
            path: Some(self.path.clone()),
            ..FromFile::default()
        }
    }

    pub fn apply_schema_diff(&self, m: &ArgMatches, a: &mut SchemaDiffArgs) {
        let c = &self.config;
        apply_common(c, m, &mut a.common);
        let mut extra = self.extras();
        if let Some(s) = &c.schema_diff {
            fill!(m, "fail_on", a.fail_on, s.fail_on.map(|v| v.0));
            fill!(
                m,
                "include_table_options",
                a.include_table_options,
                s.include_table_options
            );
            if !pairs_given(m) {
                extra.pairs = s
                    .pairs
                    .iter()
                    .flatten()
                    .map(|p| ComparePairEntry {
                        a: p.a.clone(),
                        b: p.b.clone(),
                        key: None,
                        where_clause: None,
                    })
                    .collect();
                extra.pairs_file = s.pairs_file.clone();
            }
            extra.accept = s.accept.clone();
        }
        a.from_file = extra;
    }

    pub fn apply_table_compare(&self, m: &ArgMatches, a: &mut TableCompareArgs) {
        let c = &self.config;
        apply_common(c, m, &mut a.common);
        let mut extra = self.extras();
        if let Some(s) = &c.table_compare {
            fill!(m, "sample_size", a.sample_size, s.sample_size);
            fill!(m, "skip_stats", a.skip_stats, s.skip_stats);
            fill!(m, "skip_samples", a.skip_samples, s.skip_samples);
            fill!(m, "key", a.key, s.key.as_ref().map(|k| Some(k.0.clone())));
            fill!(
                m,
                "exclude_columns",
                a.exclude_columns,
                s.exclude_columns.as_ref().map(|c| c.0.clone())
            );
            fill!(m, "fail_on", a.fail_on, s.fail_on.map(|v| v.0));
            fill!(m, "tolerance", a.tolerance, s.tolerance.map(|v| v.0));
            fill!(
                m,
                "float_tolerance",
                a.float_tolerance,
                s.float_tolerance.map(|v| Some(v.0))
            );
            apply_query(
                m,
                &mut a.query,
                &s.columns,
                &s.where_clause,
                s.max_bytes_billed,
                s.dry_run,
                &s.location,
            );
            if !pairs_given(m) {
                extra.pairs = s.pairs.clone().unwrap_or_default();
                extra.pairs_file = s.pairs_file.clone();
                // A flag wins over a pair's own key or filter too.
                for p in &mut extra.pairs {
                    if given(m, "key") {
                        p.key = None;
                    }
                    if given(m, "where_clause") {
                        p.where_clause = None;
                    }
                }
            }
        }
        a.from_file = extra;
    }

    pub fn apply_profile(&self, m: &ArgMatches, a: &mut ProfileArgs) {
        let c = &self.config;
        apply_common(c, m, &mut a.common);
        let mut extra = self.extras();
        if let Some(s) = &c.profile {
            fill!(m, "sample_size", a.sample_size, s.sample_size);
            fill!(
                m,
                "detect_anomalies",
                a.detect_anomalies,
                s.detect_anomalies
            );
            if s.anomalies.is_some()
                && s.detect_anomalies.is_none()
                && !given(m, "detect_anomalies")
            {
                a.detect_anomalies = true;
            }
            fill!(m, "baseline", a.baseline, s.baseline.clone().map(Some));
            fill!(m, "fail_on", a.fail_on, s.fail_on.map(|v| Some(v.0)));
            if let Some(t) = &s.anomalies {
                fill!(
                    m,
                    "null_rate_threshold",
                    a.null_rate_threshold,
                    t.null_rate.map(|v| v.0)
                );
                fill!(m, "stale_after", a.stale_after, t.stale_after.map(|v| v.0));
                fill!(m, "outlier_iqr", a.outlier_iqr, t.outlier_iqr.map(|v| v.0));
            }
            if let Some(t) = &s.drift {
                fill!(m, "drift_rows", a.drift_rows, t.rows.map(|v| v.0));
                fill!(
                    m,
                    "drift_null_rate",
                    a.drift_null_rate,
                    t.null_rate.map(|v| v.0)
                );
                fill!(
                    m,
                    "drift_distinct",
                    a.drift_distinct,
                    t.distinct.map(|v| v.0)
                );
                fill!(
                    m,
                    "drift_mean_stddevs",
                    a.drift_mean_stddevs,
                    t.mean_stddevs.map(|v| v.0)
                );
            }
            apply_query(
                m,
                &mut a.query,
                &s.columns,
                &s.where_clause,
                s.max_bytes_billed,
                s.dry_run,
                &s.location,
            );
            if !given(m, "tables") {
                extra.tables = s.tables.iter().flatten().map(|t| t.0.clone()).collect();
            }
        }
        a.from_file = extra;
    }
}

/// Load the config (`--config`, else the default file, if any) and apply it.
pub fn apply_file(explicit: Option<&Path>, apply: impl FnOnce(&Loaded)) -> Result<(), ConfigError> {
    if let Some(l) = load(explicit)? {
        apply(&l);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    const FULL: &str = r#"
parallel: 8
max_parallel: 16
timeout: 15m
verbose: true
format: json
project: acme-data
cache_dir: cache
report_junit: out/report.xml
schema_diff:
  fail_on: breaking
  include_table_options: true
  pairs:
    - { a: dev.users, b: prod.users }
    - { a: schemas/orders.json, b: prod.orders }
  accept:
    - { pair: "dev.users:prod.users", path: legacy_flag, change: removed, reason: "dropped in #123" }
table_compare:
  fail_on: never
  tolerance: 0.001
  sample_size: 5
  exclude_columns: [updated_at]
  where: "dt >= '2026-01-01'"
  max_bytes_billed: 1000000000
  pairs: [ { a: dev.orders, b: prod.orders, key: [id], where: "placed >= '2026-01-01'" } ]
profile:
  tables: [ prod.customers ]
  anomalies: { null_rate: 0.2, stale_after: 7d, outlier_iqr: 2 }
  drift: { rows: 0.05, null_rate: 0.1, distinct: 0.3, mean_stddevs: 4 }
"#;

    fn err(text: &str) -> String {
        parse(Path::new("cfg/.bqcheck.yml"), text)
            .expect_err("must be refused")
            .to_string()
    }

    #[test]
    fn files_too_large_or_too_deep_are_refused_before_parsing() {
        let deep = format!("table_compare:\n  exclude_columns: {}", "[".repeat(100_000));
        assert_eq!(
            err(&deep),
            "cfg/.bqcheck.yml:2:52: nested deeper than 32 levels"
        );
        let mut indented = String::new();
        for i in 0..200 {
            indented.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
        }
        assert!(err(&indented).contains("nested deeper than 32 levels"));
        let big = format!("# {}\nparallel: 2\n", "x".repeat(MAX_CONFIG_BYTES));
        assert!(
            err(&big).contains("a config file is at most"),
            "{}",
            err(&big)
        );
        // Quotes and apostrophes do not hide or invent nesting.
        assert!(parse(Path::new("c"), FULL).is_ok());
        let fine = "schema_diff:\n  accept:\n    - { pair: \"a.b:c.d\", path: x, change: removed, reason: \"it's [[[[ fine\" }\n";
        assert!(
            parse(Path::new("c"), fine).is_ok(),
            "{:?}",
            parse(Path::new("c"), fine).err()
        );
        let hidden = format!(
            "table_compare:\n  exclude_columns: [a, it's, {}",
            "[".repeat(1000)
        );
        assert!(err(&hidden).contains("nested deeper"), "{}", err(&hidden));
    }

    fn loaded(text: &str) -> Loaded {
        Loaded {
            path: PathBuf::from(".bqcheck.yml"),
            config: parse(Path::new(".bqcheck.yml"), text).unwrap(),
        }
    }

    fn parsed<T: CommandFactory + FromArgMatches>(argv: &[&str]) -> (T, ArgMatches) {
        let m = T::command().try_get_matches_from(argv).unwrap();
        (T::from_arg_matches(&m).unwrap(), m)
    }

    #[test]
    fn every_section_is_read() {
        let c = parse(Path::new("x.yml"), FULL).unwrap();
        assert_eq!(c.parallel, Some(Positive(8)));
        assert_eq!(c.timeout, Some(Seconds(900)));
        assert_eq!(c.format, Some(Choice(Format::Json)));
        let sd = c.schema_diff.unwrap();
        assert_eq!(sd.fail_on, Some(Choice(SchemaFailOn::Breaking)));
        assert_eq!(sd.pairs.as_ref().map(Vec::len), Some(2));
        assert_eq!(sd.accept[0].change, ChangeKind::ColumnRemoved);
        assert_eq!(sd.accept[0].reason.0, "dropped in #123");
        let tc = c.table_compare.unwrap();
        let p = &tc.pairs.unwrap()[0];
        assert_eq!(p.key, Some(Names(vec!["id".to_string()])));
        assert_eq!(p.where_clause.as_ref().unwrap().0, "placed >= '2026-01-01'");
        let pr = c.profile.unwrap();
        let an = pr.anomalies.unwrap();
        assert_eq!(an.stale_after, Some(Days(7.0)));
        assert_eq!(an.null_rate, Some(Rate(0.2)));
        assert_eq!(pr.drift.unwrap().mean_stddevs, Some(NonNegative(4.0)));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        // A typo in a key.
        let e = err("schema_diff:\n  fail_onn: breaking\n");
        assert!(e.starts_with("cfg/.bqcheck.yml:2:3: "), "{e}");
        assert!(e.contains("unknown field `fail_onn`"), "{e}");
        // A wrong type.
        let e = err("parallel: eight\n");
        assert!(e.starts_with("cfg/.bqcheck.yml:1:11: "), "{e}");
        // Bad values, each refused where it stands.
        for (text, line, col, what) in [
            ("parallel: 0\n", 1, 11, "out of range"),
            ("project: x\ntimeout: 10 parsecs\n", 2, 10, "unknown unit"),
            ("schema_diff:\n  fail_on: breakin\n", 2, 12, "`breakin` is not one of any, breaking, never"),
            ("format: yaml\n", 1, 9, "not one of text, json, junit, markdown"),
            ("table_compare:\n  tolerance: -1\n", 2, 14, "at least 0"),
            ("profile:\n  anomalies: { null_rate: 1.5 }\n", 2, 27, "not a rate"),
            ("profile:\n  anomalies:\n    stale_after: soon\n", 3, 18, "not a duration"),
            ("profile:\n  tables: [ 'prod..x' ]\n", 2, 13, "prod..x"),
            ("table_compare:\n  where: \"1=1; DELETE FROM t\"\n", 2, 10, ";"),
            ("schema_diff:\n  pairs:\n    - { a: dev.users }\n", 3, 7, "missing field `b`"),
            ("schema_diff:\n  accept:\n    - { pair: \"dev.users:prod.users\", path: x, change: dropped, reason: r }\n", 3, 56, "unknown variant `dropped`"),
            ("schema_diff:\n  accept:\n    - { pair: \"dev.users:prod.users\", path: x, change: removed }\n", 3, 7, "missing field `reason`"),
            ("schema_diff:\n  accept:\n    - { pair: \"dev.users\", path: x, change: removed, reason: r }\n", 3, 15, "dev.users"),
            ("parallel: 1\nparallel: 2\n", 1, 1, "duplicate field `parallel`"),
            ("parallel: ~\n", 1, 11, "invalid type"),
            ("table_compare:\n  key: []\n", 2, 8, "an empty list"),
            ("table_compare:\n  columns: [id, \"\"]\n", 2, 17, "must not be empty"),
            ("project: x\nschema_diff:\n  fail_on:\n", 3, 11, "invalid type"),
        ] {
            let e = err(text);
            assert!(
                e.starts_with(&format!("cfg/.bqcheck.yml:{line}:{col}: ")) && e.contains(what),
                "{text:?} gave {e}"
            );
        }
        // Not a map at all.
        let e = err("- a\n- b\n");
        assert!(e.starts_with("cfg/.bqcheck.yml:"), "{e}");
    }

    #[test]
    fn an_empty_section_is_present_and_empty() {
        // As `anomalies: {}`: detection on, default thresholds (never silently off).
        let l = loaded("profile:\n  anomalies:\n  #  null_rate: 0.2\n");
        let (mut p, m) = parsed::<ProfileArgs>(&["bq-profile"]);
        l.apply_profile(&m, &mut p);
        assert!(p.detect_anomalies);
        assert_eq!(p.null_rate_threshold, 0.5);
    }

    #[test]
    fn an_empty_file_is_an_empty_config() {
        let c = parse(Path::new("x"), "# nothing yet\n\n").unwrap();
        assert!(c.parallel.is_none() && c.schema_diff.is_none());
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let l = loaded(FULL);
        // Nothing on the command line: the file's values.
        let (mut a, m) = parsed::<SchemaDiffArgs>(&["bq-schema-diff"]);
        l.apply_schema_diff(&m, &mut a);
        assert_eq!(a.common.parallel, 8);
        assert_eq!(a.common.timeout, 900);
        assert!(a.common.verbose);
        assert_eq!(a.common.format, Format::Json);
        assert_eq!(a.common.project.as_deref(), Some("acme-data"));
        assert_eq!(a.fail_on, SchemaFailOn::Breaking);
        assert!(a.include_table_options);
        assert_eq!(a.from_file.pairs.len(), 2);
        assert_eq!(a.from_file.accept.len(), 1);
        // Flags win, even when they name the default value.
        let (mut a, m) = parsed::<SchemaDiffArgs>(&[
            "bq-schema-diff",
            "--parallel=4",
            "--fail-on=any",
            "--format",
            "text",
            "--project=other",
            "dev.a:prod.a",
        ]);
        l.apply_schema_diff(&m, &mut a);
        assert_eq!(a.common.parallel, 4);
        assert_eq!(a.fail_on, SchemaFailOn::Any);
        assert_eq!(a.common.format, Format::Text);
        assert_eq!(a.common.project.as_deref(), Some("other"));
        // Pairs on the command line replace the file's; accept entries still apply.
        assert!(a.from_file.pairs.is_empty());
        assert_eq!(a.from_file.accept.len(), 1);

        let (mut t, m) = parsed::<TableCompareArgs>(&["bq-table-compare", "--tolerance=0.5"]);
        l.apply_table_compare(&m, &mut t);
        assert_eq!(t.tolerance, 0.5);
        assert_eq!(t.fail_on, CompareFailOn::Never);
        assert_eq!(t.sample_size, 5);
        assert_eq!(t.exclude_columns, ["updated_at"]);
        assert_eq!(t.query.where_clause.as_deref(), Some("dt >= '2026-01-01'"));
        assert_eq!(t.query.max_bytes_billed, Some(1_000_000_000));
        let pairs = t.from_file.pairs("table_compare", Some("acme")).unwrap();
        assert_eq!(pairs[0].0.to_string(), "acme.dev.orders ↔ acme.prod.orders");
        assert_eq!(pairs[0].1.key.as_deref(), Some(&["id".to_string()][..]));

        // An on/off setting of the file is turned off by `--flag=false`.
        let on = loaded("verbose: true\ntable_compare:\n  skip_stats: true\n");
        let (mut t, m) = parsed::<TableCompareArgs>(&["bq-table-compare"]);
        on.apply_table_compare(&m, &mut t);
        assert!(t.skip_stats && t.common.verbose);
        let (mut t, m) =
            parsed::<TableCompareArgs>(&["bq-table-compare", "--skip-stats=false", "-v=false"]);
        on.apply_table_compare(&m, &mut t);
        assert!(!t.skip_stats && !t.common.verbose);

        // A flag wins over a pair's own key and filter too.
        let (mut t, m) =
            parsed::<TableCompareArgs>(&["bq-table-compare", "--where", "dt >= '2026-02-01'"]);
        l.apply_table_compare(&m, &mut t);
        let pairs = t.from_file.pairs("table_compare", Some("acme")).unwrap();
        assert_eq!(pairs[0].1.where_clause, None, "--where replaces the pair's");
        assert_eq!(pairs[0].1.key.as_deref(), Some(&["id".to_string()][..]));
        assert_eq!(t.query.where_clause.as_deref(), Some("dt >= '2026-02-01'"));

        let (mut p, m) = parsed::<ProfileArgs>(&["bq-profile", "--stale-after=1"]);
        l.apply_profile(&m, &mut p);
        assert!(
            p.detect_anomalies,
            "an anomalies section turns detection on"
        );
        assert_eq!(p.stale_after, 1.0, "the flag wins");
        assert_eq!(p.null_rate_threshold, 0.2);
        assert_eq!(p.outlier_iqr, 2.0);
        assert_eq!(p.drift_rows, 0.05);
        assert_eq!(p.from_file.tables, ["prod.customers"]);
        let (mut p, m) = parsed::<ProfileArgs>(&["bq-profile", "prod.other"]);
        l.apply_profile(&m, &mut p);
        assert!(
            p.from_file.tables.is_empty(),
            "tables on the command line replace the file's"
        );
    }

    #[test]
    fn relative_paths_are_relative_to_the_file() {
        let mut c = parse(Path::new("x"), FULL).unwrap();
        c.rebase(Path::new("repo/ci"));
        assert_eq!(c.cache_dir, Some(PathBuf::from("repo/ci/cache")));
        assert_eq!(
            c.report_junit,
            Some(PathBuf::from("repo/ci/out/report.xml"))
        );
        let sd = c.schema_diff.unwrap();
        let pairs = sd.pairs.unwrap();
        assert_eq!(pairs[1].a.0, "repo/ci/schemas/orders.json");
        assert_eq!(pairs[0].a.0, "dev.users", "tables are not paths");
        assert_eq!(sd.accept[0].pair.a, "dev.users");
    }

    #[test]
    fn accept_rules_resolve_with_the_default_project() {
        let l = loaded(FULL);
        let (mut a, m) = parsed::<SchemaDiffArgs>(&["bq-schema-diff"]);
        l.apply_schema_diff(&m, &mut a);
        let rules = a.from_file.accept_rules(Some("acme")).unwrap();
        assert_eq!(
            rules[0].pair.to_string(),
            "acme.dev.users ↔ acme.prod.users"
        );
        assert_eq!(rules[0].path, "legacy_flag");
        let e = a.from_file.accept_rules(None).unwrap_err();
        assert!(
            e.starts_with(".bqcheck.yml (schema_diff.accept[0]): `dev.users`"),
            "{e}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration_seconds("90s"), Ok(90.0));
        assert_eq!(duration_seconds("2w"), Ok(14.0 * 86_400.0));
        assert_eq!(duration_seconds("1.5h"), Ok(5400.0));
        assert!(duration_seconds("-1d").is_err());
        assert!(duration_seconds("d").is_err());
    }
}
