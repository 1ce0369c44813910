//! Column rules for table-compare: what "equal" means for a column. Tolerances for numbers
//! (absolute, relative) and times (a duration), normalisation for strings (trim, case, NULL
//! as ''), and renamed columns (`--map new=old`). Pure: parsing, matching columns, and the
//! SQL that applies a rule inside BigQuery.
//!
//! Rules come from flags (each `COL=VALUE` or a list of columns), the config file (the same
//! keys, for every pair or per pair) and two older flags that now mean the same thing:
//! `--float-tolerance ABS` is an absolute tolerance for every FLOAT64 column, `--tolerance
//! REL` a relative one for every numeric column. A column takes, for each kind of rule, the
//! first entry that names it: a pair's own, then the run's, then those two.

use std::fmt::Write as _;

use serde::Serialize;

use super::{numeric, selects};

/// One kind of rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RuleKind {
    /// Numbers equal when they differ by at most this much.
    Abs(f64),
    /// Numbers equal when they differ by at most this fraction of the larger magnitude.
    Rel(f64),
    /// TIMESTAMP, DATETIME and TIME values equal within this many microseconds.
    Time(i64),
    /// Strings compared without leading and trailing whitespace.
    Trim,
    /// Strings compared case-insensitively.
    IgnoreCase,
    /// A NULL string equals ''.
    NullEqualsEmpty,
}

impl RuleKind {
    /// The flag (and config key, with `_`) that sets it.
    pub(crate) fn flag(self) -> &'static str {
        match self {
            RuleKind::Abs(_) => "--abs-tolerance",
            RuleKind::Rel(_) => "--rel-tolerance",
            RuleKind::Time(_) => "--time-tolerance",
            RuleKind::Trim => "--trim",
            RuleKind::IgnoreCase => "--ignore-case",
            RuleKind::NullEqualsEmpty => "--null-equals-empty",
        }
    }

    /// Does it apply to a column of this (compared) type?
    fn applies_to(self, ty: &str) -> bool {
        match self {
            RuleKind::Abs(_) | RuleKind::Rel(_) => numeric(ty),
            RuleKind::Time(_) => matches!(ty, "TIMESTAMP" | "DATETIME" | "TIME"),
            RuleKind::Trim | RuleKind::IgnoreCase | RuleKind::NullEqualsEmpty => ty == "STRING",
        }
    }

    fn same_kind(self, other: RuleKind) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }
}

/// A rule for the columns a pattern names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RuleEntry {
    /// A column path, a STRUCT parent (all its leaves), or a glob (`*_at`, `*`).
    pub(crate) pattern: String,
    pub(crate) kind: RuleKind,
    /// Only columns of these types (`--float-tolerance`: FLOAT64); empty: any it applies to.
    pub(crate) only_types: &'static [&'static str],
    /// Where it came from, for notes: `--abs-tolerance`, `--float-tolerance`.
    pub(crate) source: &'static str,
}

impl RuleEntry {
    fn names(&self, path: &str) -> bool {
        if self.pattern.contains(['*', '?']) {
            crate::input::datasets::glob(
                &self.pattern.to_ascii_lowercase(),
                &path.to_ascii_lowercase(),
            )
        } else {
            selects(&self.pattern, path)
        }
    }

    fn is_glob(&self) -> bool {
        self.pattern.contains(['*', '?'])
    }
}

/// A pair's rules, in the order they are looked up.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Rules {
    pub(crate) entries: Vec<RuleEntry>,
}

/// What the flags (or a config pair) say, as text: each list as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RuleFlags {
    pub(crate) abs_tolerance: Vec<String>,
    pub(crate) rel_tolerance: Vec<String>,
    pub(crate) time_tolerance: Vec<String>,
    pub(crate) trim: Vec<String>,
    pub(crate) ignore_case: Vec<String>,
    pub(crate) null_equals_empty: Vec<String>,
}

impl Rules {
    /// Rules from flags' text (already checked by their value parsers, checked again here).
    pub(crate) fn from_flags(f: &RuleFlags) -> Result<Rules, String> {
        let mut entries = Vec::new();
        let mut valued = |items: &[String],
                          source: &'static str,
                          make: &dyn Fn(&str) -> Result<RuleKind, String>|
         -> Result<(), String> {
            for item in items {
                let (col, value) =
                    split_assignment(item).map_err(|e| format!("{source} {item}: {e}"))?;
                let kind = make(value).map_err(|e| format!("{source} {item}: {e}"))?;
                entries.push(RuleEntry {
                    pattern: col.to_string(),
                    kind,
                    only_types: &[],
                    source,
                });
            }
            Ok(())
        };
        valued(&f.abs_tolerance, "--abs-tolerance", &|v| {
            tolerance(v).map(RuleKind::Abs)
        })?;
        valued(&f.rel_tolerance, "--rel-tolerance", &|v| {
            tolerance(v).map(RuleKind::Rel)
        })?;
        valued(&f.time_tolerance, "--time-tolerance", &|v| {
            micros(v).map(RuleKind::Time)
        })?;
        for (items, kind) in [
            (&f.trim, RuleKind::Trim),
            (&f.ignore_case, RuleKind::IgnoreCase),
            (&f.null_equals_empty, RuleKind::NullEqualsEmpty),
        ] {
            for col in items {
                column_pattern(col).map_err(|e| format!("{} {col}: {e}", kind.flag()))?;
                entries.push(RuleEntry {
                    pattern: col.trim().to_string(),
                    kind,
                    only_types: &[],
                    source: kind.flag(),
                });
            }
        }
        Ok(Rules { entries })
    }

    /// `--float-tolerance` and `--tolerance`, looked up after every other rule.
    /// `--tolerance` is relative, so it leaves INT64 columns (ids, counts) alone.
    pub(crate) fn with_defaults(mut self, float_abs: Option<f64>, rel: f64) -> Rules {
        if let Some(a) = float_abs {
            self.entries.push(RuleEntry {
                pattern: "*".into(),
                kind: RuleKind::Abs(a),
                only_types: &["FLOAT64"],
                source: "--float-tolerance",
            });
        }
        if rel > 0.0 {
            self.entries.push(RuleEntry {
                pattern: "*".into(),
                kind: RuleKind::Rel(rel),
                only_types: &["FLOAT64", "NUMERIC", "BIGNUMERIC"],
                source: "--tolerance",
            });
        }
        self
    }

    /// A pair's own rules first, then these.
    /// Does a rule name this column by its name (not by a glob or a default)?
    pub(crate) fn names_explicitly(&self, path: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.only_types.is_empty() && !e.is_glob() && e.names(path))
    }

    pub(crate) fn under(&self, own: &Rules) -> Rules {
        Rules {
            entries: own.entries.iter().chain(&self.entries).cloned().collect(),
        }
    }

    /// The rule of a compared column (its A path and compared type), if any applies.
    pub(crate) fn for_column(&self, path: &str, ty: &str, repeated: bool) -> Option<ColumnRule> {
        if repeated {
            return None;
        }
        let mut rule = ColumnRule::default();
        let mut taken: Vec<RuleKind> = Vec::new();
        for e in &self.entries {
            if taken.iter().any(|k| k.same_kind(e.kind))
                || !e.kind.applies_to(ty)
                || (!e.only_types.is_empty() && !e.only_types.contains(&ty))
                || !e.names(path)
            {
                continue;
            }
            taken.push(e.kind);
            match e.kind {
                RuleKind::Abs(v) => rule.abs = Some(v),
                RuleKind::Rel(v) => rule.rel = Some(v),
                RuleKind::Time(v) => rule.time_us = Some(v),
                RuleKind::Trim => rule.trim = true,
                RuleKind::IgnoreCase => rule.ignore_case = true,
                RuleKind::NullEqualsEmpty => rule.null_equals_empty = true,
            }
        }
        (rule != ColumnRule::default()).then_some(rule)
    }

    /// Notes on rules that name no compared column they could apply to (a typo, or a column
    /// of another type). `columns`: each compared column's path, type and whether repeated.
    pub(crate) fn unused(&self, columns: &[(&str, &str, bool)]) -> Vec<String> {
        let mut notes = Vec::new();
        for e in self.entries.iter().filter(|e| e.only_types.is_empty()) {
            let named: Vec<&(&str, &str, bool)> =
                columns.iter().filter(|(p, _, _)| e.names(p)).collect();
            if named.is_empty() {
                if !e.is_glob() {
                    notes.push(format!(
                        "{} `{}`: no compared column of that name",
                        e.source, e.pattern
                    ));
                }
            } else if !named.iter().any(|(_, t, r)| !r && e.kind.applies_to(t)) {
                let (p, t, r) = named[0];
                let what = if *r {
                    "REPEATED".to_string()
                } else {
                    (*t).to_string()
                };
                notes.push(format!(
                    "{} `{}` does not apply to `{p}` ({what})",
                    e.source, e.pattern
                ));
            }
        }
        notes
    }
}

/// `COL=VALUE`: the column pattern and the value, both non-blank.
pub(crate) fn split_assignment(s: &str) -> Result<(&str, &str), String> {
    let (col, value) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not COLUMN=VALUE"))?;
    let (col, value) = (col.trim(), value.trim());
    column_pattern(col)?;
    if value.is_empty() {
        return Err(format!("`{s}` has no value after `=`"));
    }
    Ok((col, value))
}

/// A column path or glob: letters, digits, `_`, `.`, `*`, `?` (no quoting needed, nothing
/// that could reach SQL).
pub(crate) fn column_pattern(s: &str) -> Result<(), String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("a column name is empty".into());
    }
    if let Some(c) = t
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '*' | '?' | '-')))
    {
        return Err(format!(
            "`{}`: a column name or glob cannot hold {c:?}",
            t.escape_debug()
        ));
    }
    Ok(())
}

/// A tolerance: a finite number of at least 0.
pub(crate) fn tolerance(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 => Ok(n),
        _ => Err(format!(
            "`{}` is not a tolerance: use a number of at least 0",
            s.escape_debug()
        )),
    }
}

/// A duration in microseconds: `300ms`, `1s`, `2m`, `1h`, `1d`, `500us`; a bare number is
/// seconds.
pub(crate) fn micros(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| c.is_alphabetic() || c == 'µ')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || {
        format!(
            "`{}` is not a duration: use e.g. 300ms, 1s, 2m, 1h, 1d or 500us",
            s.escape_debug()
        )
    };
    let n: f64 = num.trim().parse().map_err(|_| bad())?;
    let scale = match unit {
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "" | "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        "d" => 86_400e6,
        _ => return Err(bad()),
    };
    let v = (n * scale).round();
    if v.is_finite() && (0.0..=1e17).contains(&v) {
        Ok(v as i64)
    } else {
        Err(bad())
    }
}

/// `new=old` of `--map`: a column of A and the column of B it was renamed from.
pub(crate) fn mapping(s: &str) -> Result<(String, String), String> {
    let (new, old) = split_assignment(s)?;
    if new.contains(['*', '?']) || old.contains(['*', '?']) {
        return Err(format!("`{s}`: --map takes column names, not globs"));
    }
    column_pattern(old)?;
    Ok((new.to_string(), old.to_string()))
}

/// B's name for a column of A under `--map` (a mapped STRUCT renames its leaves too).
pub(crate) fn mapped(map: &[(String, String)], path_a: &str) -> Option<String> {
    map.iter().find_map(|(new, old)| {
        if path_a.eq_ignore_ascii_case(new) {
            Some(old.clone())
        } else if selects(new, path_a) {
            Some(format!("{old}{}", &path_a[new.len()..]))
        } else {
            None
        }
    })
}

/// A's name for a column of B under `--map` (the inverse of [`mapped`]).
pub(crate) fn unmapped(map: &[(String, String)], path_b: &str) -> Option<String> {
    map.iter().find_map(|(new, old)| {
        if path_b.eq_ignore_ascii_case(old) {
            Some(new.clone())
        } else if selects(old, path_b) {
            Some(format!("{new}{}", &path_b[old.len()..]))
        } else {
            None
        }
    })
}

/// How one column's values compare.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct ColumnRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) abs: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rel: Option<f64>,
    #[serde(rename = "time_us", skip_serializing_if = "Option::is_none")]
    pub(crate) time_us: Option<i64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) trim: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) ignore_case: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) null_equals_empty: bool,
}

/// `1.5s`, `300ms`, `20us`.
pub(crate) fn show_micros(us: i64) -> String {
    if us % 1_000_000 == 0 {
        format!("{}s", us / 1_000_000)
    } else if us % 1000 == 0 {
        format!("{}ms", us / 1000)
    } else {
        format!("{us}us")
    }
}

/// A decimal literal's text for `CAST('…' AS BIGNUMERIC)`: Rust writes no exponent
/// (`0.000001`); BIGNUMERIC rounds past 38 decimals and holds up to ~5.7e38, so a larger
/// tolerance is 1e38 (every difference of exact numbers is within it).
fn decimal(v: f64) -> String {
    format!("{}", v.min(1e38))
}

impl ColumnRule {
    /// Does the rule change what equal means beyond normalising strings (so a per-column
    /// fingerprint cannot say whether the column differs)?
    pub(crate) fn tolerant(&self) -> bool {
        self.abs.is_some() || self.rel.is_some() || self.time_us.is_some()
    }

    pub(crate) fn normalizes(&self) -> bool {
        self.trim || self.ignore_case || self.null_equals_empty
    }

    /// `within 0.01`, `within 1e-06 relative`, `within 300ms`, `trimmed, case-insensitive`.
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        let mut within = Vec::new();
        if let Some(a) = self.abs {
            within.push(format!("{a}"));
        }
        if let Some(r) = self.rel {
            within.push(format!("{r} relative"));
        }
        if let Some(t) = self.time_us {
            within.push(show_micros(t));
        }
        if !within.is_empty() {
            parts.push(format!("within {}", within.join(" or ")));
        }
        if self.trim {
            parts.push("trimmed".into());
        }
        if self.ignore_case {
            parts.push("case-insensitive".into());
        }
        if self.null_equals_empty {
            parts.push("NULL = ''".into());
        }
        parts.join(", ")
    }

    /// A string column's value as compared: `LOWER(TRIM(IFNULL(e, '')))`.
    pub(crate) fn normalized(&self, e: &str) -> String {
        let mut out = e.to_string();
        if self.null_equals_empty {
            out = format!("IFNULL({out}, '')");
        }
        if self.trim {
            out = format!("TRIM({out})");
        }
        if self.ignore_case {
            out = format!("LOWER({out})");
        }
        out
    }

    /// SQL that is TRUE when the typed values `x` and `y` (of compared type `ty`) are equal
    /// under the rule, else FALSE (never NULL).
    pub(crate) fn equal_sql(&self, x: &str, y: &str, ty: &str) -> String {
        if self.normalizes() {
            let (nx, ny) = (self.normalized(x), self.normalized(y));
            return format!("IFNULL({nx} = {ny}, {nx} IS NULL AND {ny} IS NULL)");
        }
        let mut within = Vec::new();
        if let Some(us) = self.time_us {
            let diff = match ty {
                "TIMESTAMP" => "TIMESTAMP_DIFF",
                "DATETIME" => "DATETIME_DIFF",
                _ => "TIME_DIFF",
            };
            within.push(format!("ABS({diff}({x}, {y}, MICROSECOND)) <= {us}"));
        }
        if self.abs.is_some() || self.rel.is_some() {
            // Exact numbers are compared as BIGNUMERIC, where INT64 and NUMERIC differences
            // cannot overflow; FLOAT64 as itself, where only finite values are ever within a
            // tolerance (±Inf would be "within" any relative one) and an overflowing
            // difference is NULL (SAFE_SUBTRACT), so not within.
            let float = ty == "FLOAT64";
            let (cx, cy) = if float || ty == "BIGNUMERIC" {
                (x.to_string(), y.to_string())
            } else {
                (
                    format!("CAST({x} AS BIGNUMERIC)"),
                    format!("CAST({y} AS BIGNUMERIC)"),
                )
            };
            let lit = |v: f64| {
                if float {
                    format!("{v:e}")
                } else {
                    format!("CAST('{}' AS BIGNUMERIC)", decimal(v))
                }
            };
            let diff = if float {
                format!("ABS(SAFE_SUBTRACT({cx}, {cy}))")
            } else {
                format!("ABS({cx} - {cy})")
            };
            let mut numeric = Vec::new();
            if let Some(a) = self.abs {
                numeric.push(format!("{diff} <= {}", lit(a)));
            }
            if let Some(r) = self.rel {
                numeric.push(format!(
                    "{diff} <= {} * GREATEST(ABS({cx}), ABS({cy}))",
                    lit(r)
                ));
            }
            let numeric = numeric.join(" OR ");
            within.push(if float {
                format!("(NOT IS_INF({x}) AND NOT IS_INF({y}) AND ({numeric}))")
            } else {
                numeric
            });
        }
        if within.is_empty() {
            return format!("IFNULL({x} = {y}, {x} IS NULL AND {y} IS NULL)");
        }
        format!("IFNULL(({}), FALSE)", within.join(" OR "))
    }

    /// Are two numbers (statistics' text) equal under the rule's numeric tolerance? `count`
    /// scales the absolute tolerance (a sum of `count` values each within it).
    pub(crate) fn numbers_close(&self, a: &str, b: &str, count: f64) -> Option<bool> {
        let (x, y) = (
            a.trim_matches('"').parse::<f64>().ok()?,
            b.trim_matches('"').parse::<f64>().ok()?,
        );
        if !(x.is_finite() && y.is_finite()) {
            return Some(false);
        }
        let d = (x - y).abs();
        let abs = self.abs.map(|t| d <= t * count.max(1.0) * (1.0 + 1e-12));
        let rel = self
            .rel
            .map(|r| d <= r * x.abs().max(y.abs()) * (1.0 + 1e-12));
        match (abs, rel) {
            (None, None) => None,
            (a, r) => Some(a.unwrap_or(false) || r.unwrap_or(false)),
        }
    }
}

/// `amount within 0.01; updated_at, created_at within 1s`, for a note: the columns of each
/// rule together, at most five named (a wide table's `*` rule is one line, not 300).
pub(crate) fn summary(rules: &[(String, ColumnRule)]) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for (col, r) in rules {
        let d = r.describe();
        match groups.iter_mut().find(|(g, _)| *g == d) {
            Some((_, cols)) => cols.push(col),
            None => groups.push((d, vec![col])),
        }
    }
    let mut out = String::new();
    for (i, (rule, cols)) in groups.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        let shown = cols.iter().take(5).copied().collect::<Vec<_>>().join(", ");
        let _ = match cols.len() {
            n if n > 5 => write!(out, "{shown} and {} more {rule}", n - 5),
            _ => write!(out, "{shown} {rule}"),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(f: impl FnOnce(&mut RuleFlags)) -> Rules {
        let mut r = RuleFlags::default();
        f(&mut r);
        Rules::from_flags(&r).unwrap()
    }

    #[test]
    fn durations_and_tolerances() {
        assert_eq!(micros("300ms"), Ok(300_000));
        assert_eq!(micros("1s"), Ok(1_000_000));
        assert_eq!(micros("1.5"), Ok(1_500_000));
        assert_eq!(micros("2m"), Ok(120_000_000));
        assert_eq!(micros("500us"), Ok(500));
        assert_eq!(micros("1d"), Ok(86_400_000_000));
        for bad in ["", "ms", "-1s", "1y", "NaNs", "1e30s"] {
            assert!(micros(bad).is_err(), "{bad}");
        }
        assert_eq!(tolerance("1e-9"), Ok(1e-9));
        assert!(tolerance("-1").is_err());
        assert!(tolerance("inf").is_err());
        assert_eq!(show_micros(300_000), "300ms");
        assert_eq!(show_micros(2_000_000), "2s");
        assert_eq!(show_micros(7), "7us");
    }

    #[test]
    fn assignments_refuse_what_could_reach_sql() {
        assert_eq!(split_assignment(" amount = 0.01 "), Ok(("amount", "0.01")));
        assert!(split_assignment("amount").is_err());
        assert!(split_assignment("=1").is_err());
        assert!(split_assignment("a=").is_err());
        assert!(split_assignment("a`) OR TRUE --=1").is_err());
        assert!(column_pattern("a b").is_err());
        assert_eq!(
            mapping("customer_name=name"),
            Ok(("customer_name".into(), "name".into()))
        );
        assert!(mapping("a*=b").is_err());
        assert!(mapping("a=b`c").is_err());
    }

    #[test]
    fn a_column_takes_the_first_rule_of_each_kind() {
        let run = flags(|f| {
            f.abs_tolerance = vec!["amount=0.5".into(), "*=0.1".into()];
            f.time_tolerance = vec!["*_at=1s".into()];
            f.trim = vec!["name".into()];
        })
        .with_defaults(Some(1e-9), 0.001);
        let own = flags(|f| f.abs_tolerance = vec!["amount=2".into()]);
        let rules = run.under(&own);
        let amount = rules.for_column("amount", "NUMERIC", false).unwrap();
        assert_eq!((amount.abs, amount.rel), (Some(2.0), Some(0.001)));
        let score = rules.for_column("score", "FLOAT64", false).unwrap();
        assert_eq!(
            score.abs,
            Some(0.1),
            "the run's `*` before --float-tolerance"
        );
        assert_eq!(
            rules.for_column("id", "INT64", false).and_then(|r| r.rel),
            None,
            "--tolerance leaves INT64 alone"
        );
        let only_float = Rules::default().with_defaults(Some(1e-9), 0.0);
        assert_eq!(only_float.for_column("n", "INT64", false), None);
        assert_eq!(
            only_float.for_column("f", "FLOAT64", false).unwrap().abs,
            Some(1e-9)
        );
        let at = rules.for_column("Updated_AT", "TIMESTAMP", false).unwrap();
        assert_eq!(at.time_us, Some(1_000_000), "globs ignore case");
        assert_eq!(rules.for_column("created", "TIMESTAMP", false), None);
        assert!(rules.for_column("name", "STRING", false).unwrap().trim);
        assert_eq!(rules.for_column("name", "STRING", true), None, "arrays");
        assert_eq!(rules.for_column("amount", "STRING", false), None);
        // A STRUCT parent names its leaves.
        let s = flags(|f| f.ignore_case = vec!["address".into()]);
        assert!(s.for_column("address.city", "STRING", false).is_some());
        assert!(s.for_column("address_line", "STRING", false).is_none());
    }

    #[test]
    fn rules_that_name_nothing_are_noted() {
        let rules = flags(|f| {
            f.abs_tolerance = vec!["amout=1".into(), "*_x=1".into(), "name=1".into()];
            f.trim = vec!["name".into()];
        })
        .with_defaults(Some(0.1), 0.1);
        let notes = rules.unused(&[("name", "STRING", false), ("amount", "INT64", false)]);
        assert_eq!(
            notes,
            vec![
                "--abs-tolerance `amout`: no compared column of that name".to_string(),
                "--abs-tolerance `name` does not apply to `name` (STRING)".to_string(),
            ]
        );
    }

    #[test]
    fn the_summary_groups_columns_by_rule() {
        let abs = ColumnRule {
            abs: Some(0.5),
            ..ColumnRule::default()
        };
        let case = ColumnRule {
            ignore_case: true,
            ..ColumnRule::default()
        };
        let mut rules: Vec<(String, ColumnRule)> =
            (0..7).map(|k| (format!("n{k}"), abs.clone())).collect();
        rules.insert(2, ("name".into(), case));
        assert_eq!(
            summary(&rules),
            "n0, n1, n2, n3, n4 and 2 more within 0.5; name case-insensitive"
        );
    }

    #[test]
    fn renamed_columns() {
        let map = vec![
            ("customer_name".to_string(), "name".to_string()),
            ("addr".to_string(), "address".to_string()),
        ];
        assert_eq!(mapped(&map, "Customer_Name"), Some("name".into()));
        assert_eq!(mapped(&map, "addr.zip"), Some("address.zip".into()));
        assert_eq!(mapped(&map, "address"), None);
        assert_eq!(mapped(&map, "id"), None);
        assert_eq!(unmapped(&map, "address.zip"), Some("addr.zip".into()));
        assert_eq!(unmapped(&map, "NAME"), Some("customer_name".into()));
    }

    #[test]
    fn equality_sql_by_type() {
        let r = ColumnRule {
            abs: Some(0.01),
            rel: Some(1e-6),
            ..ColumnRule::default()
        };
        assert_eq!(
            r.equal_sql("a.f1", "b.f1", "FLOAT64"),
            "IFNULL(((NOT IS_INF(a.f1) AND NOT IS_INF(b.f1) AND (ABS(SAFE_SUBTRACT(a.f1, b.f1)) <= 1e-2 OR ABS(SAFE_SUBTRACT(a.f1, b.f1)) <= 1e-6 * GREATEST(ABS(a.f1), ABS(b.f1))))), FALSE)"
        );
        let int = r.equal_sql("a.f1", "b.f1", "INT64");
        assert!(
            int.contains("ABS(CAST(a.f1 AS BIGNUMERIC) - CAST(b.f1 AS BIGNUMERIC)) <= CAST('0.01' AS BIGNUMERIC)"),
            "{int}"
        );
        let huge = ColumnRule {
            abs: Some(1e300),
            ..ColumnRule::default()
        };
        assert!(huge
            .equal_sql("x", "y", "NUMERIC")
            .contains(&format!("CAST('{}' AS BIGNUMERIC)", 1e38)));
        assert!(r
            .equal_sql("x", "y", "BIGNUMERIC")
            .contains("CAST('0.000001' AS BIGNUMERIC)"));
        let t = ColumnRule {
            time_us: Some(300_000),
            ..ColumnRule::default()
        };
        assert_eq!(
            t.equal_sql("x", "y", "DATETIME"),
            "IFNULL((ABS(DATETIME_DIFF(x, y, MICROSECOND)) <= 300000), FALSE)"
        );
        let s = ColumnRule {
            trim: true,
            ignore_case: true,
            null_equals_empty: true,
            ..ColumnRule::default()
        };
        assert_eq!(s.normalized("x"), "LOWER(TRIM(IFNULL(x, '')))");
        assert_eq!(s.describe(), "trimmed, case-insensitive, NULL = ''");
        assert_eq!(r.describe(), "within 0.01 or 0.000001 relative");
        assert_eq!(t.describe(), "within 300ms");
    }

    #[test]
    fn statistics_within_a_tolerance() {
        let r = ColumnRule {
            abs: Some(0.5),
            ..ColumnRule::default()
        };
        assert_eq!(r.numbers_close("10", "10.4", 1.0), Some(true));
        assert_eq!(r.numbers_close("10", "11", 1.0), Some(false));
        assert_eq!(
            r.numbers_close("100", "104", 10.0),
            Some(true),
            "sums scale"
        );
        assert_eq!(r.numbers_close("\"x\"", "1", 1.0), None);
        assert_eq!(ColumnRule::default().numbers_close("1", "2", 1.0), None);
        let rel = ColumnRule {
            rel: Some(0.5),
            ..ColumnRule::default()
        };
        assert_eq!(
            rel.numbers_close("inf", "5", 1.0),
            Some(false),
            "±Inf is never within"
        );
    }
}
