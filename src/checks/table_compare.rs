//! Table compare: which columns to compare, the SQL that compares them inside BigQuery (one
//! function per query), and the interpretation of the results. Pure: no I/O.
//!
//! Cost model: step 1 is metadata (free); step 2 is one scan per side returning row count,
//! a duplicate-sensitive fingerprint and per-column statistics; step 3 (only when step 2 found
//! a difference) is one query that joins both sides for row-level counts and examples.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::column_rules::{self, ColumnRule, Rules};
use super::{column_expr, groupable, leaves, orderable, quotable, selects, Leaf};
use crate::model::TableRef;
use crate::warehouse::query::{int, strings, text, Row};
use crate::warehouse::TableMeta;

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompareOptions {
    pub(crate) key: Option<Vec<String>>,
    /// Where `key` came from, for the report [default: `--key`].
    pub(crate) key_source: Option<String>,
    pub(crate) columns: Option<Vec<String>>,
    pub(crate) exclude_columns: Vec<String>,
    pub(crate) where_clause: Option<String>,
    pub(crate) skip_stats: bool,
    pub(crate) skip_samples: bool,
    pub(crate) sample_size: u32,
    /// What equal means per column (tolerances, normalisation; `--float-tolerance` and
    /// `--tolerance` included), in the row diff and the statistics.
    pub(crate) rules: Rules,
    /// `--map new=old`: A's column `new` is B's `old`.
    pub(crate) map: Vec<(String, String)>,
}

/// Which table of a pair an expression reads (a column renamed with `--map` has a name of its
/// own on each side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    A,
    B,
}

/// One compared column (a leaf path, or a REPEATED column as a whole).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Column {
    /// `address.zip`
    pub(crate) path: String,
    #[serde(skip)]
    pub(crate) parts: Vec<String>,
    /// Canonical type after any cast (e.g. `BIGNUMERIC` for INT64 vs NUMERIC).
    #[serde(rename = "type")]
    pub(crate) col_type: String,
    pub(crate) repeated: bool,
    /// A cast applied on both sides so values compare equal across compatible types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cast: Option<String>,
    /// B's name for it, when `--map` renamed it.
    #[serde(rename = "b_name", skip_serializing_if = "Option::is_none")]
    pub(crate) path_b: Option<String>,
    #[serde(skip)]
    pub(crate) parts_b: Option<Vec<String>>,
    /// What equal means for it (a tolerance, a normalisation), if not exactly equal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rule: Option<ColumnRule>,
}

impl Column {
    /// The column's path parts in one side's table.
    fn parts(&self, side: Side) -> &[String] {
        match (side, &self.parts_b) {
            (Side::B, Some(p)) => p,
            _ => &self.parts,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct LeftOut {
    pub(crate) column: String,
    pub(crate) reason: String,
}

/// Which columns are compared and on what key.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Plan {
    pub(crate) columns: Vec<Column>,
    pub(crate) left_out: Vec<LeftOut>,
    /// Indexes into `columns`.
    #[serde(skip)]
    pub(crate) key: Vec<usize>,
    /// `--key`, `primary key`, or `none`.
    pub(crate) key_source: String,
    /// What the plan noticed: rules that apply to no column, rules left off key columns.
    #[serde(skip)]
    pub(crate) notes: Vec<String>,
}

impl Plan {
    pub(crate) fn key_names(&self) -> Vec<String> {
        self.key
            .iter()
            .map(|&i| self.columns[i].path.clone())
            .collect()
    }
}

fn is_exact_numeric(t: &str) -> bool {
    matches!(t, "INT64" | "NUMERIC" | "BIGNUMERIC")
}

/// The type both sides are compared as, or why they cannot be.
fn common_type(a: &Leaf, b: &Leaf) -> Result<(String, Option<String>), String> {
    if a.repeated != b.repeated {
        return Err("REPEATED on one side only".into());
    }
    if a.ty == b.ty {
        return Ok((a.ty.clone(), None));
    }
    if a.repeated {
        return Err(format!("type {} in A, {} in B", a.ty, b.ty));
    }
    if is_exact_numeric(&a.ty) && is_exact_numeric(&b.ty) {
        return Ok(("BIGNUMERIC".into(), Some("BIGNUMERIC".into())));
    }
    let numeric = |t: &str| is_exact_numeric(t) || t == "FLOAT64";
    if numeric(&a.ty) && numeric(&b.ty) {
        return Ok(("FLOAT64".into(), Some("FLOAT64".into())));
    }
    Err(format!("type {} in A, {} in B", a.ty, b.ty))
}

/// Step 1: decide the compared columns and the key from both tables' metadata.
pub(crate) fn plan(a: &TableMeta, b: &TableMeta, opts: &CompareOptions) -> Result<Plan, String> {
    let (mut la, mut lb) = (Vec::new(), Vec::new());
    leaves(a.fields(), &[], &mut la);
    leaves(b.fields(), &[], &mut lb);
    let find =
        |list: &[Leaf], path: &str| list.iter().position(|l| l.path.eq_ignore_ascii_case(path));
    // A name selects a leaf, or every leaf of a STRUCT.
    let named = |list: &[Leaf], name: &str| list.iter().any(|l| selects(name, &l.path));
    if let Some(cols) = &opts.columns {
        for c in cols {
            if !named(&la, c) && !named(&lb, c) {
                return Err(format!("--columns: no column `{c}` in either table"));
            }
        }
    }
    for c in &opts.exclude_columns {
        if !named(&la, c) && !named(&lb, c) {
            return Err(format!(
                "--exclude-columns: no column `{c}` in either table"
            ));
        }
    }
    let wanted = |path: &str| {
        opts.columns
            .as_ref()
            .is_none_or(|cols| cols.iter().any(|c| selects(c, path)))
            && !opts.exclude_columns.iter().any(|c| selects(c, path))
    };
    // --map: a mapping applies to a pair whose A has `new` and whose B has `old` (the first
    // such mapping of a column wins: a pair's own before the run's); any other is a note, as
    // a batch's mappings may be for other pairs.
    let mut notes = Vec::new();
    let mut map: Vec<(String, String)> = Vec::new();
    for (new, old) in &opts.map {
        if map.iter().any(|(n, _)| n.eq_ignore_ascii_case(new)) {
            continue;
        }
        match (named(&la, new), named(&lb, old)) {
            (true, true) => map.push((new.clone(), old.clone())),
            (a, b) => notes.push(format!(
                "--map {new}={old} does not apply: {}",
                match (a, b) {
                    (true, _) => format!("B has no column `{old}`"),
                    (_, true) => format!("A has no column `{new}`"),
                    _ => "neither table has these columns".to_string(),
                }
            )),
        }
    }
    // B's name of each A leaf: its own, or where --map says; a B column that a mapping
    // claims is not also paired by name.
    let b_name = |path: &str| -> Result<String, String> {
        if let Some(old) = column_rules::mapped(&map, path) {
            return Ok(old);
        }
        match map.iter().find(|(_, old)| selects(old, path)) {
            Some((new, old)) => Err(format!(
                "only in A (B's `{old}` is compared with A's `{new}`: --map)"
            )),
            None => Ok(path.to_string()),
        }
    };
    let key_names: Vec<String> = opts.key.clone().unwrap_or_default();
    let mut columns = Vec::new();
    let mut left_out = Vec::new();
    let mut paired_b = Vec::new();
    for l in &la {
        let is_key = key_names.iter().any(|k| selects(k, &l.path));
        if !wanted(&l.path) && !is_key {
            if opts.columns.is_none() {
                left_out.push(LeftOut {
                    column: l.path.clone(),
                    reason: "excluded by --exclude-columns".into(),
                });
            }
            continue;
        }
        let name_b = match b_name(&l.path) {
            Ok(n) => n,
            Err(reason) => {
                left_out.push(LeftOut {
                    column: l.path.clone(),
                    reason,
                });
                continue;
            }
        };
        let Some(j) = find(&lb, &name_b) else {
            left_out.push(LeftOut {
                column: l.path.clone(),
                reason: "only in A".into(),
            });
            continue;
        };
        paired_b.push(j);
        if !l.parts.iter().chain(&lb[j].parts).all(|p| quotable(p)) {
            left_out.push(LeftOut {
                column: l.path.clone(),
                reason: "name cannot be quoted safely".into(),
            });
            continue;
        }
        let renamed = !lb[j].path.eq_ignore_ascii_case(&l.path);
        match common_type(l, &lb[j]) {
            Ok((col_type, cast)) => columns.push(Column {
                path: l.path.clone(),
                parts: l.parts.clone(),
                rule: opts.rules.for_column(&l.path, &col_type, l.repeated),
                col_type,
                repeated: l.repeated,
                cast,
                path_b: renamed.then(|| lb[j].path.clone()),
                parts_b: renamed.then(|| lb[j].parts.clone()),
            }),
            Err(reason) => left_out.push(LeftOut {
                column: l.path.clone(),
                reason,
            }),
        }
    }
    // A B column is only in B unless A's same-named column already says why it is not
    // compared (A's namesake mapped to another column says nothing about this one).
    let mapped_away = |path: &str| column_rules::mapped(&map, path).is_some();
    for (j, l) in lb.iter().enumerate() {
        let namesake = find(&la, &l.path).filter(|&i| !mapped_away(&la[i].path));
        if !paired_b.contains(&j) && namesake.is_none() && wanted(&l.path) {
            left_out.push(LeftOut {
                column: l.path.clone(),
                reason: "only in B".into(),
            });
        }
    }
    if columns.is_empty() {
        return Err(
            "no column can be compared: the tables share no column of a compatible type".into(),
        );
    }
    let (names, key_source) = match &opts.key {
        Some(k) => (
            k.clone(),
            opts.key_source.clone().unwrap_or_else(|| "--key".into()),
        ),
        None => match (a.primary_key(), b.primary_key()) {
            (Some(pk), _) => (pk.to_vec(), "primary key".to_string()),
            // B's key names B's columns: A's names for them, through --map.
            (None, Some(pk)) => (
                pk.iter()
                    .map(|k| column_rules::unmapped(&map, k).unwrap_or_else(|| k.clone()))
                    .collect(),
                "primary key".to_string(),
            ),
            (None, None) => (Vec::new(), "none".to_string()),
        },
    };
    let mut key = Vec::new();
    for k in &names {
        // A STRUCT key means all its leaves, every one of them: a key narrowed to the leaves
        // that happen to be comparable would join different rows.
        // (A key names A's columns: B's own column of a mapped key's name is not it.)
        let renamed = column_rules::mapped(&map, k).is_some();
        if let Some(l) = plan_left_out_leaf(&left_out, &la, &lb, k)
            .filter(|l| !(renamed && l.reason == "only in B"))
        {
            return Err(format!(
                "key column `{k}`: its field `{}` cannot be compared ({})",
                l.column, l.reason
            ));
        }
        let of_k: Vec<usize> = (0..columns.len())
            .filter(|&i| selects(k, &columns[i].path))
            .collect();
        if of_k.is_empty() {
            let why = match la.iter().find(|l| selects(k, &l.path)) {
                Some(l) if l.repeated => format!(
                    "key column `{k}` is REPEATED (`{}`) and cannot be a key",
                    l.path
                ),
                _ => format!(
                    "key column `{k}` ({key_source}) is not a compared column of both tables"
                ),
            };
            return Err(why);
        }
        for i in of_k {
            if columns[i].repeated {
                return Err(if columns[i].path.eq_ignore_ascii_case(k) {
                    format!("key column `{k}` is REPEATED and cannot be a key")
                } else {
                    format!(
                        "key column `{k}` holds a REPEATED field (`{}`) and cannot be a key",
                        columns[i].path
                    )
                });
            }
            if !key.contains(&i) {
                key.push(i);
            }
        }
    }
    // Rows join on exact key values: a rule on a key column is left off, and said so.
    for &i in &key {
        let explicit = opts.rules.names_explicitly(&columns[i].path);
        if let Some(r) = columns[i].rule.take().filter(|_| explicit) {
            notes.push(format!(
                "key column `{}`: rows join on exact key values, so its rule ({}) does not apply",
                columns[i].path,
                r.describe()
            ));
        }
    }
    let compared: Vec<(&str, &str, bool)> = columns
        .iter()
        .map(|c| (c.path.as_str(), c.col_type.as_str(), c.repeated))
        .collect();
    notes.extend(opts.rules.unused(&compared));
    Ok(Plan {
        columns,
        left_out,
        key,
        key_source,
        notes,
    })
}

/// A leaf selected by key name `k` (in either table) that was left out of the comparison.
fn plan_left_out_leaf<'a>(
    left_out: &'a [LeftOut],
    la: &[Leaf],
    lb: &[Leaf],
    k: &str,
) -> Option<&'a LeftOut> {
    let is_leaf = |p: &str| la.iter().chain(lb).any(|l| l.path.eq_ignore_ascii_case(p));
    left_out
        .iter()
        .find(|l| selects(k, &l.column) && is_leaf(&l.column))
}

/// Reject predicates that could end the statement, hide the rest of it, or close the
/// `WHERE (...)` they are wrapped in: outside string literals no `;`, comments or unbalanced
/// parentheses; every quote closed.
pub(crate) fn validate_where(pred: &str) -> Result<(), String> {
    if pred.trim().is_empty() {
        return Err("--where is empty".into());
    }
    let chars: Vec<char> = pred.chars().collect();
    let mut quote: Option<char> = None;
    let mut depth = 0i32;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match quote {
            Some(q) => {
                if c == '\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                // GoogleSQL's triple-quoted strings ('''…''', """…""") would read as several
                // short strings here: refused, so no `;` can hide in one.
                '\'' | '"' if next == Some(c) && chars.get(i + 2) == Some(&c) => {
                    return Err(format!(
                        "--where must not use triple-quoted strings: {pred}"
                    ))
                }
                '\'' | '"' | '`' => quote = Some(c),
                ';' => return Err(format!("--where must not contain `;`: {pred}")),
                '#' => return Err(format!("--where must not contain comments: {pred}")),
                '-' if next == Some('-') => {
                    return Err(format!("--where must not contain comments: {pred}"))
                }
                '/' if next == Some('*') => {
                    return Err(format!("--where must not contain comments: {pred}"))
                }
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth < 0 {
                        return Err(format!("--where has a `)` without its `(`: {pred}"));
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    if quote.is_some() {
        return Err(format!("--where has an unclosed quote: {pred}"));
    }
    if depth != 0 {
        return Err(format!("--where has an unclosed `(`: {pred}"));
    }
    Ok(())
}

/// `t.`address`.`zip`` in one side's table, cast if needed.
fn expr(c: &Column, alias: &str, side: Side) -> String {
    let e = column_expr(alias, c.parts(side));
    match &c.cast {
        Some(t) => format!("CAST({e} AS {t})"),
        None => e,
    }
}

fn from_clause(table: &TableRef, where_clause: Option<&str>) -> String {
    match where_clause {
        Some(w) => format!("FROM {} AS t\nWHERE ({w})", table.sql_ident()),
        None => format!("FROM {} AS t", table.sql_ident()),
    }
}

fn row_struct(plan: &Plan, side: Side) -> String {
    let items: Vec<String> = plan
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} AS c{i}", expr(c, "t", side)))
        .collect();
    format!("TO_JSON_STRING(STRUCT({}))", items.join(", "))
}

fn key_struct(plan: &Plan, side: Side) -> String {
    let items: Vec<String> = plan
        .key
        .iter()
        .map(|&i| format!("{} AS c{i}", expr(&plan.columns[i], "t", side)))
        .collect();
    format!("TO_JSON_STRING(STRUCT({}))", items.join(", "))
}

/// Columns whose statistics one scan query carries; a wider table's statistics are split over
/// several queries per side (the first also carries the row count and the fingerprint), which
/// keeps each query well inside BigQuery's limits on query text and complexity and its answer
/// under 10,000 columns (a column has at most 9 aggregates).
pub(crate) const STATS_COLUMNS_PER_QUERY: usize = 500;

/// The hex digits of an MD5 (of 32) that the fingerprint sums, in parts of [`HASH_PART`].
const HASH_PARTS: [usize; 3] = [1, 7, 13];
/// Hex digits per part: 24 bits, so a part's sum stays exact in INT64 up to 2^39 rows.
const HASH_PART: usize = 6;

/// A multiset fingerprint of the hex hashes in `h` (one per row; NULLs skipped): the sums of
/// three 24-bit slices of each hash, as `s1:s2:s3`. 72 bits of the hash, duplicate-sensitive
/// (a row counted twice adds its hash twice), order-insensitive, and exact in INT64 up to
/// 2^39 (5.5 × 10^11) rows per side; beyond that BigQuery reports an INT64 overflow, so the
/// pair fails (exit 2) rather than passing. MD5 rather than FARM_FINGERPRINT: both are cheap
/// on BigQuery, and MD5 is the same function, bit for bit, on every engine.
fn hash_sum(h: &str) -> String {
    let parts: Vec<String> = HASH_PARTS
        .iter()
        .map(|start| {
            format!("CAST(SUM(CAST(CONCAT('0x', SUBSTR({h}, {start}, {HASH_PART})) AS INT64)) AS STRING)")
        })
        .collect();
    format!("CONCAT({})", parts.join(", ':', "))
}

/// Why the scans also fingerprint each column: only when no row diff will say which columns
/// differ (the tables cannot be joined, `--skip-samples` skips the row diff, or there is no
/// key, so the row diff compares whole rows).
pub(crate) fn column_fingerprints_reason(
    same_location: bool,
    plan: &Plan,
    opts: &CompareOptions,
) -> Option<String> {
    if opts.skip_stats {
        None
    } else if !same_location {
        Some("the tables are in different locations, so no row diff can join them: each column is fingerprinted in the scans to say which columns differ".into())
    } else if opts.skip_samples {
        Some("--skip-samples skips the row diff: each column is fingerprinted in the scans to say which columns differ".into())
    } else if plan.key.is_empty() {
        Some("no key: the row diff compares whole rows, so each column is fingerprinted in the scans to say which columns differ".into())
    } else {
        None
    }
}

/// `IF(IS_NAN(x) OR IS_INF(x), NULL, x)`: a FLOAT64's finite values (sums, means).
fn finite(e: &str) -> String {
    format!("IF(IS_NAN({e}) OR IS_INF({e}), NULL, {e})")
}

/// One statistic of a scan, in two forms: `flat`, an aggregate over rows; and, for a scan
/// grouped by partition, `parts` (aggregates per partition) and `merge` (an aggregate over
/// the partitions' rows, where `$0`, `$1`.. stand for the parts).
struct Agg {
    name: String,
    flat: String,
    parts: Vec<String>,
    merge: String,
}

impl Agg {
    /// A statistic whose per-partition value merges with `merge` (`SUM`, `MIN`, `MAX`).
    fn mergeable(name: String, agg: String, merge: &str, wrap: &str) -> Agg {
        let flat = wrap.replace("$", &agg);
        Agg {
            name,
            flat,
            parts: vec![agg],
            merge: wrap.replace("$", &format!("{merge}($0)")),
        }
    }

    /// An average: `SUM(e)` over `COUNT(e)` per partition, divided once merged.
    fn average(name: String, e: &str) -> Agg {
        Agg {
            name,
            flat: format!("CAST(AVG({e}) AS STRING)"),
            parts: vec![format!("SUM({e})"), format!("COUNT({e})")],
            merge: "CAST(SAFE_DIVIDE(SUM($0), SUM($1)) AS STRING)".into(),
        }
    }

    /// A multiset fingerprint ([`hash_sum`]): its three sums per partition, summed.
    fn fingerprint(name: String, h: &str) -> Agg {
        Agg {
            name,
            flat: hash_sum(h),
            parts: hash_parts(h),
            merge: format!(
                "CONCAT({})",
                (0..HASH_PARTS.len())
                    .map(|k| format!("CAST(SUM(${k}) AS STRING)"))
                    .collect::<Vec<_>>()
                    .join(", ':', ")
            ),
        }
    }
}

/// The cheap aggregates of one column, read from the scan's inner `c{i}` (and `h{i}`).
fn column_stats(i: usize, c: &Column, fingerprint: bool) -> Vec<Agg> {
    let e = format!("c{i}");
    let name = |s: &str| format!("c{i}_{s}");
    let scalar = !c.repeated;
    let float = scalar && c.col_type == "FLOAT64";
    let mut sel = vec![Agg::mergeable(
        name("non_null"),
        format!("COUNT({e})"),
        "SUM",
        "$",
    )];
    // Distinct counts merge as HyperLogLog++ sketches, which take integers, strings and
    // bytes; other values are counted by their JSON text.
    let distinct_of = if scalar && groupable(&c.col_type) {
        e.clone()
    } else {
        format!("TO_JSON_STRING({e})")
    };
    let sketchable = if scalar && matches!(c.col_type.as_str(), "INT64" | "STRING" | "BYTES") {
        e.clone()
    } else if scalar {
        // NULL stays NULL (not the text `null`), as APPROX_COUNT_DISTINCT skips it.
        format!("IF({e} IS NULL, NULL, TO_JSON_STRING({e}))")
    } else {
        format!("TO_JSON_STRING({e})")
    };
    sel.push(Agg {
        name: name("distinct"),
        flat: format!("APPROX_COUNT_DISTINCT({distinct_of})"),
        parts: vec![format!("HLL_COUNT.INIT({sketchable})")],
        merge: "HLL_COUNT.MERGE($0)".into(),
    });
    let json = "TO_JSON_STRING($)";
    let text = "CAST($ AS STRING)";
    if float {
        // NaN orders differently on different engines: min and max skip it, and it is
        // counted on its own; sums and means are over finite values.
        let not_nan = format!("IF(IS_NAN({e}), NULL, {e})");
        sel.push(Agg::mergeable(
            name("min"),
            format!("MIN({not_nan})"),
            "MIN",
            json,
        ));
        sel.push(Agg::mergeable(
            name("max"),
            format!("MAX({not_nan})"),
            "MAX",
            json,
        ));
        sel.push(Agg::mergeable(
            name("nan_count"),
            format!("COUNTIF(IS_NAN({e}))"),
            "SUM",
            "$",
        ));
        sel.push(Agg::mergeable(
            name("inf_count"),
            format!("COUNTIF(IS_INF({e}))"),
            "SUM",
            "$",
        ));
        sel.push(Agg::mergeable(
            name("sum"),
            format!("SUM({})", finite(&e)),
            "SUM",
            text,
        ));
        sel.push(Agg::average(name("avg"), &finite(&e)));
    } else {
        if scalar && orderable(&c.col_type) {
            sel.push(Agg::mergeable(
                name("min"),
                format!("MIN({e})"),
                "MIN",
                json,
            ));
            sel.push(Agg::mergeable(
                name("max"),
                format!("MAX({e})"),
                "MAX",
                json,
            ));
        }
        if scalar && is_exact_numeric(&c.col_type) {
            sel.push(Agg::mergeable(
                name("sum"),
                format!("SUM({e})"),
                "SUM",
                text,
            ));
            sel.push(Agg::average(name("avg"), &e));
        }
    }
    if scalar && matches!(c.col_type.as_str(), "STRING" | "BYTES") {
        let len = format!("LENGTH({e})");
        sel.push(Agg::mergeable(
            name("min_length"),
            format!("MIN({len})"),
            "MIN",
            "$",
        ));
        sel.push(Agg::mergeable(
            name("max_length"),
            format!("MAX({len})"),
            "MAX",
            "$",
        ));
        sel.push(Agg::average(name("avg_length"), &len));
    }
    // A time tolerance compares min and max as microseconds, computed here.
    if c.rule.as_ref().is_some_and(|r| r.time_us.is_some()) && scalar {
        let us = match c.col_type.as_str() {
            "TIMESTAMP" => format!("UNIX_MICROS({e})"),
            "DATETIME" => format!("UNIX_MICROS(TIMESTAMP({e}))"),
            _ => format!("TIME_DIFF({e}, TIME '00:00:00', MICROSECOND)"),
        };
        sel.push(Agg::mergeable(
            name("min_us"),
            format!("MIN({us})"),
            "MIN",
            "$",
        ));
        sel.push(Agg::mergeable(
            name("max_us"),
            format!("MAX({us})"),
            "MAX",
            "$",
        ));
    }
    if c.repeated {
        sel.push(Agg::average(
            name("avg_length"),
            &format!("ARRAY_LENGTH({e})"),
        ));
    }
    if fingerprint {
        sel.push(Agg::fingerprint(name("fingerprint"), &format!("h{i}")));
    }
    sel
}

/// The three sums [`hash_sum`] concatenates, as separate aggregates.
fn hash_parts(h: &str) -> Vec<String> {
    HASH_PARTS
        .iter()
        .map(|start| format!("SUM(CAST(CONCAT('0x', SUBSTR({h}, {start}, {HASH_PART})) AS INT64))"))
        .collect()
}

/// Step 2: the scan of one side, as one query (or, for a table wider than
/// [`STATS_COLUMNS_PER_QUERY`] with statistics, one query per slice of columns). The first
/// query returns the row count and the row fingerprint, which hashes each row once; the
/// statistics are cheap aggregates (counts, NULLs, NaN and ±Inf, min, max, sums, lengths,
/// approximate distincts). `column_fingerprints` adds one hash per column and row: see
/// [`column_fingerprints_reason`].
///
/// With `partition_id` (SQL for a row's partition id: both tables are partitioned alike),
/// the first query aggregates per partition first and merges the partitions' aggregates, so
/// that it also returns `partitions`: each partition's id, row count and fingerprint, as
/// `id:rows:fingerprint` joined by `,`. Still one scan.
pub(crate) fn scan_sql(
    table: &TableRef,
    side: Side,
    plan: &Plan,
    opts: &CompareOptions,
    column_fingerprints: bool,
    partition_id: Option<&str>,
) -> Vec<String> {
    let from = from_clause(table, opts.where_clause.as_deref()).replace('\n', "\n  ");
    let indexed: Vec<(usize, &Column)> = plan.columns.iter().enumerate().collect();
    let chunks: Vec<&[(usize, &Column)]> = if opts.skip_stats {
        vec![&[]]
    } else {
        indexed.chunks(STATS_COLUMNS_PER_QUERY).collect()
    };
    chunks
        .iter()
        .enumerate()
        .map(|(n, chunk)| {
            let mut inner = Vec::new();
            let mut aggs = Vec::new();
            if n == 0 {
                inner.push(format!("TO_HEX(MD5({})) AS _h", row_struct(plan, side)));
                aggs.push(Agg::mergeable(
                    "row_count".into(),
                    "COUNT(*)".into(),
                    "SUM",
                    "$",
                ));
                aggs.push(Agg::fingerprint("fingerprint".into(), "_h"));
            }
            for (i, c) in chunk.iter() {
                // Statistics of a normalised string column are of its normalised values.
                let e = match &c.rule {
                    Some(r) if r.normalizes() => r.normalized(&expr(c, "t", side)),
                    _ => expr(c, "t", side),
                };
                inner.push(format!("{e} AS c{i}"));
                if column_fingerprints {
                    inner.push(format!(
                        "IF({e} IS NULL, NULL, TO_HEX(MD5(TO_JSON_STRING({e})))) AS h{i}"
                    ));
                }
                aggs.extend(column_stats(*i, c, column_fingerprints));
            }
            match partition_id.filter(|_| n == 0) {
                None => {
                    let sel: Vec<String> = aggs
                        .iter()
                        .map(|a| format!("{} AS {}", a.flat, a.name))
                        .collect();
                    format!(
                        "SELECT\n  {}\nFROM (\n  SELECT\n    {}\n  {from}\n)",
                        sel.join(",\n  "),
                        inner.join(",\n    ")
                    )
                }
                Some(id) => by_partition(&aggs, &inner, id, &from),
            }
        })
        .collect()
}

/// [`scan_sql`]'s first query grouped by partition: rows → one row per partition (each
/// statistic's parts, named `{name}__{k}`) → one row (each merged, plus `partitions`).
fn by_partition(aggs: &[Agg], inner: &[String], id: &str, from: &str) -> String {
    let mut mid = vec!["_p".to_string()];
    let mut sel = Vec::new();
    for a in aggs {
        let mut merge = a.merge.clone();
        for (k, part) in a.parts.iter().enumerate() {
            let alias = format!("{}__{k}", a.name);
            mid.push(format!("{part} AS {alias}"));
            merge = merge.replace(&format!("${k}"), &alias);
        }
        sel.push(format!("{merge} AS {}", a.name));
    }
    // Each partition's count and fingerprint: `id:rows:s1:s2:s3`.
    let print = (0..HASH_PARTS.len())
        .map(|k| format!("CAST(fingerprint__{k} AS STRING)"))
        .collect::<Vec<_>>()
        .join(", ':', ");
    sel.push(format!(
        "STRING_AGG(CONCAT(_p, ':', CAST(row_count__0 AS STRING), ':', {print}), ',' ORDER BY _p) AS partitions"
    ));
    let mut rows = vec![format!("{id} AS _p")];
    rows.extend(inner.iter().cloned());
    format!(
        "SELECT\n  {}\nFROM (\n  SELECT\n    {}\n  FROM (\n    SELECT\n      {}\n    {}\n  )\n  GROUP BY _p\n)",
        sel.join(",\n  "),
        mid.join(",\n    "),
        rows.join(",\n      "),
        from.replace('\n', "\n  ")
    )
}

/// Step 3 with a key: per-key FULL OUTER JOIN of both sides (duplicate keys counted, never
/// joined), counts per kind and per column, and example rows.
pub(crate) fn keyed_diff_sql(
    a: &TableRef,
    b: &TableRef,
    plan: &Plan,
    opts: &CompareOptions,
) -> String {
    let n = plan.columns.len();
    // Examples are the first rows by key value (id 7 before 1007) where the key can be
    // ordered; otherwise by the key's JSON text.
    let typed_order = plan
        .key
        .iter()
        .all(|&i| orderable(&plan.columns[i].col_type) && !plan.columns[i].repeated);
    let order = if typed_order {
        let mut by: Vec<String> = (0..plan.key.len()).map(|j| format!("kk{j}")).collect();
        by.push("COALESCE(ak, bk)".into());
        by.join(", ")
    } else {
        "COALESCE(ak, bk)".into()
    };
    let side = |t: &TableRef, s: Side| {
        let mut cols = vec![
            format!("{} AS _k", key_struct(plan, s)),
            format!("{} AS _row", row_struct(plan, s)),
        ];
        for (i, c) in plan.columns.iter().enumerate() {
            cols.push(format!("TO_JSON_STRING({}) AS c{i}", expr(c, "t", s)));
            // A column with a rule is also read as its typed value, which the rule compares.
            if c.rule.is_some() {
                cols.push(format!("{} AS f{i}", expr(c, "t", s)));
            }
        }
        let mut agg = vec![
            "_k".to_string(),
            "COUNT(*) AS _n".to_string(),
            "ANY_VALUE(_row) AS _row".to_string(),
        ];
        if typed_order {
            for (j, &i) in plan.key.iter().enumerate() {
                cols.push(format!("{} AS k{j}", expr(&plan.columns[i], "t", s)));
                agg.push(format!("ANY_VALUE(k{j}) AS k{j}"));
            }
        }
        for (i, c) in plan.columns.iter().enumerate() {
            agg.push(format!("ANY_VALUE(c{i}) AS c{i}"));
            if c.rule.is_some() {
                agg.push(format!("ANY_VALUE(f{i}) AS f{i}"));
            }
        }
        format!(
            "SELECT {}\n  FROM (SELECT {}\n    {})\n  GROUP BY _k",
            agg.join(", "),
            cols.join(",\n      "),
            from_clause(t, opts.where_clause.as_deref()).replace('\n', "\n    ")
        )
    };
    let mut join_cols = vec![
        "a._k AS ak".to_string(),
        "b._k AS bk".to_string(),
        "a._n AS an".to_string(),
        "b._n AS bn".to_string(),
        "a._row AS arow".to_string(),
        "b._row AS brow".to_string(),
    ];
    if typed_order {
        for j in 0..plan.key.len() {
            join_cols.push(format!("COALESCE(a.k{j}, b.k{j}) AS kk{j}"));
        }
    }
    // d{i}: the column differs (under its rule); r{i}: its values differ as stored, for a
    // column with a rule. A row whose columns differ only as stored is equal within the
    // rules (kind `w`).
    let mut diffs = Vec::new();
    let mut raw = Vec::new();
    for (i, c) in plan.columns.iter().enumerate() {
        let d = match &c.rule {
            Some(r) => {
                join_cols.push(format!("(a.c{i} != b.c{i}) AS r{i}"));
                raw.push(format!("r{i}"));
                format!(
                    "(a.c{i} != b.c{i} AND NOT {})",
                    r.equal_sql(&format!("a.f{i}"), &format!("b.f{i}"), &c.col_type)
                )
            }
            None => format!("(a.c{i} != b.c{i})"),
        };
        join_cols.push(format!("{d} AS d{i}"));
        diffs.push(format!("d{i}"));
    }
    let within_kind = if raw.is_empty() {
        String::new()
    } else {
        format!(" WHEN TRUE IN UNNEST([{}]) THEN 'w'", raw.join(", "))
    };
    let mut sel = vec![
        "COUNTIF(kind = 'a') AS only_in_a".to_string(),
        "COUNTIF(kind = 'b') AS only_in_b".to_string(),
        "COUNTIF(kind = 'c') AS changed".to_string(),
        "COUNTIF(an > 1) AS duplicate_keys_a".to_string(),
        "COUNTIF(bn > 1) AS duplicate_keys_b".to_string(),
        "IFNULL(SUM(IF(an > 1, an, 0)), 0) AS duplicate_rows_a".to_string(),
        "IFNULL(SUM(IF(bn > 1, bn, 0)), 0) AS duplicate_rows_b".to_string(),
    ];
    for i in 0..n {
        sel.push(format!("COUNTIF(kind = 'c' AND d{i}) AS changed_c{i}"));
    }
    if !raw.is_empty() {
        sel.push("COUNTIF(kind = 'w') AS within_tolerance".to_string());
        for (i, c) in plan.columns.iter().enumerate() {
            if c.rule.is_some() {
                sel.push(format!(
                    "COUNTIF(kind IN ('c', 'w') AND r{i} AND NOT d{i}) AS within_c{i}"
                ));
            }
        }
    }
    if !opts.skip_samples {
        let limit = opts.sample_size;
        sel.push(format!(
            "ARRAY_AGG(IF(kind = 'a' AND rn <= {limit}, arow, NULL) IGNORE NULLS) AS samples_only_in_a"
        ));
        sel.push(format!(
            "ARRAY_AGG(IF(kind = 'b' AND rn <= {limit}, brow, NULL) IGNORE NULLS) AS samples_only_in_b"
        ));
        sel.push(format!(
            "ARRAY_AGG(IF(kind = 'c' AND rn <= {limit}, TO_JSON_STRING(STRUCT(ak AS k, arow AS a, brow AS b, {flags} AS d)), NULL) IGNORE NULLS) AS samples_changed",
            flags = changed_flags(n)
        ));
    }
    format!(
        "WITH a AS (\n  {}\n),\nb AS (\n  {}\n),\nj AS (\n  SELECT {}\n  FROM a FULL OUTER JOIN b ON a._k = b._k\n),\n\
         d AS (\n  SELECT *, CASE WHEN an > 1 OR bn > 1 THEN 'dup' WHEN bk IS NULL THEN 'a' WHEN ak IS NULL THEN 'b' \
         WHEN TRUE IN UNNEST([{}]) THEN 'c'{within_kind} END AS kind\n  FROM j\n),\n\
         r AS (\n  SELECT *, ROW_NUMBER() OVER (PARTITION BY kind ORDER BY {order}) AS rn\n  FROM d\n)\n\
         SELECT\n  {}\nFROM r",
        side(a, Side::A),
        side(b, Side::B),
        join_cols.join(",\n    "),
        // A flat list, not `d0 OR d1 OR ...`: a thousand ORs nest a thousand deep.
        diffs.join(", "),
        sel.join(",\n  ")
    )
}

/// `ARRAY_TO_STRING([IF(d0, '1', '0'), ...], '')`: which columns of a changed row differ, as
/// BigQuery decided (with `--float-tolerance` applied), one character per column. An array,
/// not CONCAT, which some engines nest one level per argument.
fn changed_flags(n: usize) -> String {
    let flags: Vec<String> = (0..n).map(|i| format!("IF(d{i}, '1', '0')")).collect();
    format!("ARRAY_TO_STRING([{}], '')", flags.join(", "))
}

/// Step 3 without a key: multiset difference of whole rows (with multiplicity), both ways.
pub(crate) fn multiset_diff_sql(
    a: &TableRef,
    b: &TableRef,
    plan: &Plan,
    opts: &CompareOptions,
) -> String {
    let w = opts.where_clause.as_deref();
    let mut sel = vec![
        "IFNULL(SUM(GREATEST(na - nb, 0)), 0) AS only_in_a".to_string(),
        "IFNULL(SUM(GREATEST(nb - na, 0)), 0) AS only_in_b".to_string(),
    ];
    if !opts.skip_samples {
        let limit = opts.sample_size;
        sel.push(format!("ARRAY_AGG(IF(kind = 'a' AND rn <= {limit}, CONCAT(CAST(na - nb AS STRING), ':', _row), NULL) IGNORE NULLS) AS samples_only_in_a"));
        sel.push(format!("ARRAY_AGG(IF(kind = 'b' AND rn <= {limit}, CONCAT(CAST(nb - na AS STRING), ':', _row), NULL) IGNORE NULLS) AS samples_only_in_b"));
    }
    format!(
        "WITH a AS (\n  SELECT {row} AS _row, COUNT(*) AS n\n  {fa}\n  GROUP BY _row\n),\n\
         b AS (\n  SELECT {row_b} AS _row, COUNT(*) AS n\n  {fb}\n  GROUP BY _row\n),\n\
         j AS (\n  SELECT COALESCE(a._row, b._row) AS _row, IFNULL(a.n, 0) AS na, IFNULL(b.n, 0) AS nb,\n    \
         CASE WHEN IFNULL(a.n, 0) > IFNULL(b.n, 0) THEN 'a' WHEN IFNULL(b.n, 0) > IFNULL(a.n, 0) THEN 'b' END AS kind\n  \
         FROM a FULL OUTER JOIN b ON a._row = b._row\n),\n\
         r AS (\n  SELECT *, ROW_NUMBER() OVER (PARTITION BY kind ORDER BY _row) AS rn\n  FROM j\n)\n\
         SELECT\n  {sel}\nFROM r",
        row = row_struct(plan, Side::A),
        row_b = row_struct(plan, Side::B),
        fa = from_clause(a, w).replace('\n', "\n  "),
        fb = from_clause(b, w).replace('\n', "\n  "),
        sel = sel.join(",\n  ")
    )
}

/// Per-column statistics of one side.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct ColumnStats {
    pub(crate) non_null: Option<i64>,
    pub(crate) distinct: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max: Option<String>,
    /// FLOAT64 only: NaN values (not in min, max, sum or avg).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) nan_count: Option<i64>,
    /// FLOAT64 only: +Inf and -Inf values (not in sum or avg).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) inf_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sum: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) avg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min_length: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_length: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) avg_length: Option<String>,
    #[serde(skip)]
    pub(crate) fingerprint: Option<String>,
    /// A column with a time tolerance: min and max in microseconds.
    #[serde(skip)]
    pub(crate) min_us: Option<i64>,
    #[serde(skip)]
    pub(crate) max_us: Option<i64>,
}

/// The result of one side's scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ScanResult {
    pub(crate) row_count: i64,
    pub(crate) fingerprint: Option<String>,
    pub(crate) columns: Vec<ColumnStats>,
    /// A scan grouped by partition: each partition's `id:rows:fingerprint`, joined by `,`.
    pub(crate) partitions: Option<String>,
}

/// Read step 2's answers for one side: one row per query, their columns merged.
pub(crate) fn read_scan(rows: &[Row], plan: &Plan, with_stats: bool) -> ScanResult {
    let mut row = Row::new();
    for r in rows {
        row.extend(r.clone());
    }
    let row = &row;
    let columns = if with_stats {
        (0..plan.columns.len())
            .map(|i| {
                let k = |s: &str| format!("c{i}_{s}");
                ColumnStats {
                    non_null: int(row, &k("non_null")),
                    distinct: int(row, &k("distinct")),
                    min: text(row, &k("min")),
                    max: text(row, &k("max")),
                    nan_count: int(row, &k("nan_count")),
                    inf_count: int(row, &k("inf_count")),
                    sum: text(row, &k("sum")),
                    avg: text(row, &k("avg")),
                    min_length: int(row, &k("min_length")),
                    max_length: int(row, &k("max_length")),
                    avg_length: text(row, &k("avg_length")),
                    fingerprint: text(row, &k("fingerprint")),
                    min_us: int(row, &k("min_us")),
                    max_us: int(row, &k("max_us")),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    ScanResult {
        row_count: int(row, "row_count").unwrap_or(0),
        fingerprint: text(row, "fingerprint"),
        columns,
        partitions: text(row, "partitions"),
    }
}

/// Equal within a relative tolerance when both parse as numbers, else exactly equal.
fn close(a: &Option<String>, b: &Option<String>, rel: f64) -> bool {
    match (a, b) {
        (Some(x), Some(y)) if x != y => match (
            x.trim_matches('"').parse::<f64>(),
            y.trim_matches('"').parse::<f64>(),
        ) {
            (Ok(x), Ok(y)) => {
                let scale = x.abs().max(y.abs());
                (x - y).abs() <= rel * scale || (x.is_nan() && y.is_nan())
            }
            _ => false,
        },
        (x, y) => x == y,
    }
}

/// One column's statistics side by side.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ColumnComparison {
    pub(crate) name: String,
    pub(crate) a: ColumnStats,
    pub(crate) b: ColumnStats,
    pub(crate) differs: bool,
}

/// Compare step 2's per-column statistics, each column under its rule: a numeric tolerance
/// applies to min, max and mean (and to sums, scaled by the count of values), a time
/// tolerance to min and max; a normalised string column's statistics are of its normalised
/// values already. FLOAT64 sums and averages depend on summation order, so they always get
/// at least a 1e-9 relative tolerance.
pub(crate) fn compare_columns(
    plan: &Plan,
    a: &ScanResult,
    b: &ScanResult,
) -> Vec<ColumnComparison> {
    plan.columns
        .iter()
        .zip(a.columns.iter().zip(&b.columns))
        .map(|(c, (x, y))| {
            let rule = c.rule.clone().unwrap_or_default();
            let float = if c.col_type == "FLOAT64" { 1e-9 } else { 0.0 };
            let rel = rule.rel.unwrap_or(0.0).max(float);
            let count = x.non_null.max(y.non_null).unwrap_or(1) as f64;
            // Equal as text, or within the column's numeric tolerance.
            let near = |p: &Option<String>, q: &Option<String>, n: f64| match (p, q) {
                (Some(p), Some(q)) if p != q => rule.numbers_close(p, q, n).unwrap_or(false),
                _ => p == q,
            };
            let within_time = |p: Option<i64>, q: Option<i64>| match (rule.time_us, p, q) {
                (Some(t), Some(p), Some(q)) => (p - q).abs() <= t,
                _ => false,
            };
            let numeric_rule = rule.abs.is_some() || rule.rel.is_some();
            let min_equal = x.min == y.min
                || (numeric_rule && near(&x.min, &y.min, 1.0))
                || within_time(x.min_us, y.min_us);
            let max_equal = x.max == y.max
                || (numeric_rule && near(&x.max, &y.max, 1.0))
                || within_time(x.max_us, y.max_us);
            let sum_equal =
                close(&x.sum, &y.sum, rel) || (numeric_rule && near(&x.sum, &y.sum, count));
            let avg_equal =
                close(&x.avg, &y.avg, rel) || (numeric_rule && near(&x.avg, &y.avg, 1.0));
            let differs = x.non_null != y.non_null
                || !min_equal
                || !max_equal
                || x.nan_count != y.nan_count
                || x.inf_count != y.inf_count
                || !sum_equal
                || !avg_equal
                || x.min_length != y.min_length
                || x.max_length != y.max_length
                || !close(&x.avg_length, &y.avg_length, rel.max(1e-9))
                // A fingerprint cannot apply a tolerance.
                || (x.fingerprint != y.fingerprint && !rule.tolerant());
            ColumnComparison {
                name: c.path.clone(),
                a: x.clone(),
                b: y.clone(),
                differs,
            }
        })
        .collect()
}

/// One differing column of a changed row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ValueChange {
    pub(crate) column: String,
    pub(crate) a: Value,
    pub(crate) b: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ChangedRow {
    pub(crate) key: BTreeMap<String, Value>,
    pub(crate) changes: Vec<ValueChange>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Samples {
    pub(crate) only_in_a: Vec<Value>,
    pub(crate) only_in_b: Vec<Value>,
    pub(crate) changed: Vec<ChangedRow>,
}

/// Step 3's result.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct RowDiff {
    /// Key columns, empty for a multiset comparison.
    pub(crate) key: Vec<String>,
    pub(crate) only_in_a: i64,
    pub(crate) only_in_b: i64,
    /// Rows present on both sides (by key) whose values differ; always 0 without a key.
    pub(crate) changed: i64,
    pub(crate) changed_by_column: BTreeMap<String, i64>,
    /// Rows on both sides whose values differ as stored but are equal under the columns'
    /// rules (tolerances, normalisation): not changed.
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) within_tolerance: i64,
    /// Per column with a rule: rows where it differs as stored and is equal under its rule.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) within_tolerance_by_column: BTreeMap<String, i64>,
    pub(crate) duplicate_keys_a: i64,
    pub(crate) duplicate_keys_b: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) duplicate_rows_a: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) duplicate_rows_b: Option<i64>,
    pub(crate) samples: Samples,
}

impl RowDiff {
    pub(crate) fn is_empty(&self) -> bool {
        self.only_in_a == 0
            && self.only_in_b == 0
            && self.changed == 0
            && self.duplicate_keys_a == 0
            && self.duplicate_keys_b == 0
    }
}

/// `{"c0": 1, "c1": "x"}` → `{"id": 1, "name": "x"}`. A number that a 64-bit float cannot
/// hold to the digit (a NUMERIC, a BIGNUMERIC) is kept as its exact text, as BigQuery's own
/// API sends such values, so two values that differ in the 18th decimal still look different.
fn named_row(plan: &Plan, json: &str) -> Value {
    let parsed = serde_json::from_str::<HashMap<String, Box<RawValue>>>(json).or_else(|e| {
        serde_json::from_str::<HashMap<String, Box<RawValue>>>(&quote_non_finite(json))
            .map_err(|_| e)
    });
    match parsed {
        Ok(m) => Value::Object(
            plan.columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let v = m.get(&format!("c{i}")).map_or(Value::Null, |r| exact(r));
                    (c.path.clone(), v)
                })
                .collect(),
        ),
        Err(_) => Value::String(json.to_string()),
    }
}

/// Some engines write a FLOAT64's NaN and ±Inf into JSON bare (`{"x":NaN}`), which is not
/// JSON; BigQuery writes them as strings (`"NaN"`, `"Infinity"`, `"-Infinity"`). This quotes
/// the bare ones, outside string literals, so such a row still reads.
fn quote_non_finite(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 8);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = json;
    while let Some(c) = rest.chars().next() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if let Some(token) = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t))
        {
            out.push('"');
            out.push_str(token);
            out.push('"');
            rest = &rest[token.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A JSON value, with any number a float would round kept as a string of its digits.
fn exact(raw: &RawValue) -> Value {
    let text = raw.get().trim();
    let v: Value = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into()));
    match &v {
        Value::Number(n) if n.is_f64() && !text.contains(['e', 'E']) => {
            let shown = n.to_string();
            if trim_decimal(text) == trim_decimal(&shown) {
                v
            } else {
                Value::String(text.to_string())
            }
        }
        _ => v,
    }
}

/// `12.340` → `12.34`, `3.0` → `3`.
fn trim_decimal(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// The order example rows are shown in: numbers by value (so 7 comes before 1007), NULLs
/// first, anything else by its JSON text.
fn value_order(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    let num = |v: Option<&Value>| v.and_then(Value::as_f64);
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => {
            let t = |v: Option<&Value>| v.filter(|v| !v.is_null()).map(Value::to_string);
            t(a).cmp(&t(b))
        }
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Read step 3's single row (keyed).
pub(crate) fn read_keyed_diff(row: &Row, plan: &Plan) -> RowDiff {
    let mut changed_by_column = BTreeMap::new();
    let mut within_tolerance_by_column = BTreeMap::new();
    for (i, c) in plan.columns.iter().enumerate() {
        let n = int(row, &format!("changed_c{i}")).unwrap_or(0);
        if n > 0 {
            changed_by_column.insert(c.path.clone(), n);
        }
        let w = int(row, &format!("within_c{i}")).unwrap_or(0);
        if w > 0 {
            within_tolerance_by_column.insert(c.path.clone(), w);
        }
    }
    let rows =
        |k: &str| -> Vec<Value> { strings(row, k).iter().map(|s| named_row(plan, s)).collect() };
    let mut changed: Vec<ChangedRow> = strings(row, "samples_changed")
        .iter()
        .filter_map(|s| serde_json::from_str::<Value>(s).ok())
        .map(|v| {
            let get = |k: &str| {
                v.get(k)
                    .and_then(Value::as_str)
                    .map(|s| named_row(plan, s))
                    .unwrap_or(Value::Null)
            };
            let (ra, rb, rk) = (get("a"), get("b"), get("k"));
            // The key struct names its fields c{i} by column index, like the row struct.
            let key = plan
                .key
                .iter()
                .map(|&i| {
                    let name = plan.columns[i].path.clone();
                    let val = rk.get(&name).cloned().unwrap_or(Value::Null);
                    (name, val)
                })
                .collect();
            // Which columns differ is BigQuery's verdict (`d`), which applied any
            // --float-tolerance; without it, compare the values shown.
            let flags: Vec<bool> = v
                .get("d")
                .and_then(Value::as_str)
                .map(|d| d.chars().map(|c| c == '1').collect())
                .unwrap_or_default();
            let changes = plan
                .columns
                .iter()
                .enumerate()
                .filter(|(i, c)| match flags.get(*i) {
                    Some(&differs) if flags.len() == plan.columns.len() => differs,
                    _ => ra.get(&c.path) != rb.get(&c.path),
                })
                .map(|(_, c)| ValueChange {
                    column: c.path.clone(),
                    a: ra.get(&c.path).cloned().unwrap_or(Value::Null),
                    b: rb.get(&c.path).cloned().unwrap_or(Value::Null),
                })
                .collect();
            ChangedRow { key, changes }
        })
        .collect();
    let key_names = plan.key_names();
    let by_key = |a: &Value, b: &Value| {
        key_names
            .iter()
            .map(|k| value_order(a.get(k), b.get(k)))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.to_string().cmp(&b.to_string()))
    };
    changed.sort_by(|x, y| {
        key_names
            .iter()
            .map(|k| value_order(x.key.get(k), y.key.get(k)))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut only_a = rows("samples_only_in_a");
    let mut only_b = rows("samples_only_in_b");
    only_a.sort_by(by_key);
    only_b.sort_by(by_key);
    RowDiff {
        key: plan.key_names(),
        only_in_a: int(row, "only_in_a").unwrap_or(0),
        only_in_b: int(row, "only_in_b").unwrap_or(0),
        changed: int(row, "changed").unwrap_or(0),
        changed_by_column,
        within_tolerance: int(row, "within_tolerance").unwrap_or(0),
        within_tolerance_by_column,
        duplicate_keys_a: int(row, "duplicate_keys_a").unwrap_or(0),
        duplicate_keys_b: int(row, "duplicate_keys_b").unwrap_or(0),
        duplicate_rows_a: int(row, "duplicate_rows_a"),
        duplicate_rows_b: int(row, "duplicate_rows_b"),
        samples: Samples {
            only_in_a: only_a,
            only_in_b: only_b,
            changed,
        },
    }
}

/// Read step 3's single row (multiset): samples carry their surplus count as `_count`.
pub(crate) fn read_multiset_diff(row: &Row, plan: &Plan) -> RowDiff {
    let rows = |k: &str| -> Vec<Value> {
        let mut v: Vec<Value> = strings(row, k)
            .iter()
            .map(|s| {
                let (count, json) = s.split_once(':').unwrap_or(("1", s));
                let mut r = named_row(plan, json);
                if let Value::Object(m) = &mut r {
                    m.insert(
                        "_count".into(),
                        Value::from(count.parse::<i64>().unwrap_or(1)),
                    );
                }
                r
            })
            .collect();
        v.sort_by(|x, y| {
            plan.columns
                .iter()
                .map(|c| value_order(x.get(&c.path), y.get(&c.path)))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        v
    };
    RowDiff {
        key: Vec::new(),
        only_in_a: int(row, "only_in_a").unwrap_or(0),
        only_in_b: int(row, "only_in_b").unwrap_or(0),
        samples: Samples {
            only_in_a: rows("samples_only_in_a"),
            only_in_b: rows("samples_only_in_b"),
            changed: Vec::new(),
        },
        ..RowDiff::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{f, table};
    use crate::warehouse::model::{PrimaryKey, TableConstraints};
    use crate::warehouse::Field;
    use serde_json::json;

    fn t(name: &str) -> TableRef {
        TableRef {
            project: "p".into(),
            dataset: "d".into(),
            table: name.into(),
        }
    }

    #[test]
    fn plans_common_columns_and_explains_the_rest() {
        let a = table(vec![
            f("id", "INTEGER"),
            Field {
                fields: vec![f("zip", "STRING"), f("city", "STRING")],
                ..f("addr", "RECORD")
            },
            Field {
                mode: Some("REPEATED".into()),
                ..f("tags", "STRING")
            },
            f("amount", "INT64"),
            f("only_a", "STRING"),
            f("s", "STRING"),
        ]);
        let b = table(vec![
            f("id", "INT64"),
            Field {
                fields: vec![f("zip", "STRING")],
                ..f("addr", "STRUCT")
            },
            Field {
                mode: Some("REPEATED".into()),
                ..f("tags", "STRING")
            },
            f("amount", "NUMERIC"),
            f("s", "INT64"),
            f("only_b", "DATE"),
        ]);
        let p = plan(&a, &b, &CompareOptions::default()).unwrap();
        let cols: Vec<_> = p
            .columns
            .iter()
            .map(|c| (c.path.as_str(), c.col_type.as_str()))
            .collect();
        assert_eq!(
            cols,
            vec![
                ("id", "INT64"),
                ("addr.zip", "STRING"),
                ("tags", "STRING"),
                ("amount", "BIGNUMERIC")
            ]
        );
        let out: Vec<_> = p
            .left_out
            .iter()
            .map(|l| (l.column.as_str(), l.reason.as_str()))
            .collect();
        assert_eq!(
            out,
            vec![
                ("addr.city", "only in A"),
                ("only_a", "only in A"),
                ("s", "type STRING in A, INT64 in B"),
                ("only_b", "only in B")
            ]
        );
        assert_eq!(p.key_source, "none");
    }

    #[test]
    fn key_from_flag_or_primary_key() {
        let mut a = table(vec![f("id", "INT64"), f("v", "STRING")]);
        let b = table(vec![f("id", "INT64"), f("v", "STRING")]);
        a.table_constraints = Some(TableConstraints {
            primary_key: Some(PrimaryKey {
                columns: vec!["id".into()],
            }),
        });
        let p = plan(&a, &b, &CompareOptions::default()).unwrap();
        assert_eq!(
            (p.key_names(), p.key_source.as_str()),
            (vec!["id".to_string()], "primary key")
        );
        let o = CompareOptions {
            key: Some(vec!["v".into(), "id".into()]),
            ..Default::default()
        };
        let p = plan(&a, &b, &o).unwrap();
        assert_eq!(p.key_names(), vec!["v", "id"]);
        let o = CompareOptions {
            key: Some(vec!["nope".into()]),
            ..Default::default()
        };
        assert!(plan(&a, &b, &o).unwrap_err().contains("nope"));
    }

    #[test]
    fn columns_and_exclusions() {
        let a = table(vec![f("id", "INT64"), f("v", "STRING"), f("w", "STRING")]);
        let o = CompareOptions {
            columns: Some(vec!["v".into()]),
            key: Some(vec!["id".into()]),
            ..Default::default()
        };
        let p = plan(&a, &a, &o).unwrap();
        assert_eq!(
            p.columns
                .iter()
                .map(|c| c.path.as_str())
                .collect::<Vec<_>>(),
            vec!["id", "v"]
        );
        let o = CompareOptions {
            exclude_columns: vec!["w".into()],
            ..Default::default()
        };
        let p = plan(&a, &a, &o).unwrap();
        assert_eq!(p.columns.len(), 2);
        assert_eq!(p.left_out[0].reason, "excluded by --exclude-columns");
        let o = CompareOptions {
            columns: Some(vec!["zz".into()]),
            ..Default::default()
        };
        assert!(plan(&a, &a, &o).is_err());
    }

    #[test]
    fn a_struct_parent_names_all_its_leaves() {
        let st = Field {
            fields: vec![
                f("a", "INT64"),
                Field {
                    fields: vec![f("c", "STRING"), f("d", "DATE")],
                    ..f("b", "RECORD")
                },
            ],
            ..f("st", "RECORD")
        };
        let a = table(vec![f("id", "INT64"), st.clone(), f("v", "STRING")]);
        let names = |p: &Plan| p.columns.iter().map(|c| c.path.clone()).collect::<Vec<_>>();
        let only = CompareOptions {
            columns: Some(vec!["ST".into()]),
            ..Default::default()
        };
        assert_eq!(
            names(&plan(&a, &a, &only).unwrap()),
            ["st.a", "st.b.c", "st.b.d"]
        );
        let nested = CompareOptions {
            columns: Some(vec!["st.b".into()]),
            ..Default::default()
        };
        assert_eq!(names(&plan(&a, &a, &nested).unwrap()), ["st.b.c", "st.b.d"]);
        let without = CompareOptions {
            exclude_columns: vec!["st".into()],
            ..Default::default()
        };
        let p = plan(&a, &a, &without).unwrap();
        assert_eq!(names(&p), ["id", "v"]);
        assert_eq!(p.left_out.len(), 3, "{:?}", p.left_out);
        let key = CompareOptions {
            key: Some(vec!["st".into()]),
            columns: Some(vec!["v".into()]),
            ..Default::default()
        };
        let p = plan(&a, &a, &key).unwrap();
        assert_eq!(p.key_names(), ["st.a", "st.b.c", "st.b.d"]);
        assert!(names(&p).contains(&"v".to_string()));
        assert_eq!(p.key_source, "--key");
        // A key from elsewhere (a dbt test) says so.
        let dbt = CompareOptions {
            key_source: Some("dbt: unique test".into()),
            ..key.clone()
        };
        assert_eq!(plan(&a, &a, &dbt).unwrap().key_source, "dbt: unique test");
        // A STRUCT holding an array cannot be a key, and says which field is why.
        let tags = Field {
            fields: vec![Field {
                mode: Some("REPEATED".into()),
                ..f("tags", "STRING")
            }],
            ..f("r", "RECORD")
        };
        let b = table(vec![f("id", "INT64"), tags]);
        let e = plan(
            &b,
            &b,
            &CompareOptions {
                key: Some(vec!["r".into()]),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.contains("r.tags") && e.contains("REPEATED"), "{e}");
        // A STRUCT key with a leaf that cannot be compared is refused, not narrowed.
        let sa = table(vec![Field {
            fields: vec![f("a", "INT64"), f("b", "STRING")],
            ..f("st", "RECORD")
        }]);
        let sb = table(vec![Field {
            fields: vec![f("a", "INT64"), f("b", "INT64")],
            ..f("st", "RECORD")
        }]);
        let e = plan(
            &sa,
            &sb,
            &CompareOptions {
                key: Some(vec!["st".into()]),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            e.contains("`st.b`") && e.contains("type STRING in A"),
            "{e}"
        );
        let missing = CompareOptions {
            columns: Some(vec!["s".into()]),
            ..Default::default()
        };
        assert!(plan(&a, &a, &missing)
            .unwrap_err()
            .contains("no column `s`"));
    }

    #[test]
    fn a_scan_by_partition_is_still_one_scan_with_mergeable_statistics() {
        let a = table(vec![
            f("id", "INT64"),
            f("s", "STRING"),
            f("x", "FLOAT64"),
            f("d", "DATE"),
        ]);
        let p = plan(&a, &a, &CompareOptions::default()).unwrap();
        let flat =
            scan_sql(&t("a"), Side::A, &p, &CompareOptions::default(), true, None).join("\n");
        let grouped = scan_sql(
            &t("a"),
            Side::A,
            &p,
            &CompareOptions::default(),
            true,
            Some("PID"),
        )
        .join("\n");
        for sql in [&flat, &grouped] {
            assert_eq!(sql.matches("FROM `").count(), 1, "one scan: {sql}");
        }
        assert!(!flat.contains("GROUP BY") && flat.contains("APPROX_COUNT_DISTINCT(c0)"));
        assert!(
            grouped.contains("PID AS _p") && grouped.contains("GROUP BY _p"),
            "{grouped}"
        );
        // Distinct counts merge as sketches; averages as sums over counts; fingerprints as sums.
        assert!(
            grouped.contains("HLL_COUNT.INIT(c0) AS c0_distinct__0"),
            "{grouped}"
        );
        assert!(
            grouped.contains("HLL_COUNT.INIT(IF(c3 IS NULL, NULL, TO_JSON_STRING(c3)))"),
            "{grouped}"
        );
        assert!(grouped.contains("HLL_COUNT.MERGE(c0_distinct__0) AS c0_distinct"));
        assert!(grouped.contains(
            "CAST(SAFE_DIVIDE(SUM(c1_avg_length__0), SUM(c1_avg_length__1)) AS STRING) AS c1_avg_length"
        ));
        assert!(grouped.contains("TO_JSON_STRING(MIN(c2_min__0)) AS c2_min"));
        assert!(grouped.contains("SUM(row_count__0) AS row_count"));
        assert!(grouped.contains("AS c1_fingerprint"));
        assert!(grouped.contains(
            "STRING_AGG(CONCAT(_p, ':', CAST(row_count__0 AS STRING), ':', CAST(fingerprint__0 AS STRING)"
        ));
        // Every statistic the flat scan returns, the grouped one returns under the same name.
        let names = |sql: &str| -> Vec<String> {
            let top = sql.split("\nFROM (").next().unwrap_or("");
            let mut n: Vec<String> = top
                .lines()
                .filter_map(|l| l.trim().trim_end_matches(',').rsplit(" AS ").next())
                .map(String::from)
                .filter(|n| n != "SELECT")
                .collect();
            n.sort();
            n
        };
        let mut want = names(&flat);
        want.push("partitions".into());
        want.sort();
        assert_eq!(names(&grouped), want);
    }

    #[test]
    fn unsafe_names_are_left_out() {
        let a = table(vec![f("id", "INT64"), f("bad`name", "STRING")]);
        let p = plan(&a, &a, &CompareOptions::default()).unwrap();
        assert_eq!(p.left_out[0].reason, "name cannot be quoted safely");
    }

    #[test]
    fn where_clause_validation() {
        assert!(validate_where("dt >= '2024-01-01'").is_ok());
        assert!(validate_where("1=1; DROP TABLE x").is_err());
        assert!(validate_where("1=1 -- x").is_err());
        assert!(validate_where("  ").is_err());
        assert!(
            validate_where("email = 'a#b;c--d'").is_ok(),
            "inside strings anything goes"
        );
        assert!(validate_where("(a = 1) AND (b IN (1, 2))").is_ok());
        assert!(
            validate_where("1=1) GROUP BY t.id HAVING (TRUE").is_err(),
            "cannot close WHERE ("
        );
        assert!(validate_where("a = 'x").is_err());
        // A triple-quoted string is one string to BigQuery, seven quotes to a naive scan.
        let smuggled = "id = ''' ' ''' ) ; DELETE FROM p.d.t WHERE TRUE ; SELECT 1 FROM UNNEST([1]) AS t WHERE ( ''' ' '''";
        assert!(validate_where(smuggled).is_err());
        assert!(validate_where(r#"a = """x""""#).is_err());
        assert!(validate_where("a = '' OR b = r'\\d+'").is_ok());
        assert!(validate_where("(a = 1").is_err());
    }

    #[test]
    fn scan_sql_quotes_every_identifier_and_covers_types() {
        let a = table(vec![
            f("id", "INTEGER"),
            f("name", "STRING"),
            f("price", "FLOAT"),
            f("ts", "TIMESTAMP"),
            Field {
                fields: vec![f("zip", "STRING")],
                ..f("addr", "RECORD")
            },
            Field {
                mode: Some("REPEATED".into()),
                ..f("tags", "STRING")
            },
            f("g", "GEOGRAPHY"),
        ]);
        let p = plan(&a, &a, &CompareOptions::default()).unwrap();
        let o = CompareOptions {
            where_clause: Some("t.`id` > 0".into()),
            ..Default::default()
        };
        let sqls = scan_sql(&t("my-t"), Side::A, &p, &o, false, None);
        assert_eq!(sqls.len(), 1, "one query per side");
        let sql = &sqls[0];
        assert!(
            sql.contains("FROM `p.d.my-t` AS t\n  WHERE (t.`id` > 0)"),
            "{sql}"
        );
        assert!(sql.contains("TO_HEX(MD5(TO_JSON_STRING(STRUCT(t.`id` AS c0, t.`name` AS c1, t.`price` AS c2, t.`ts` AS c3, t.`addr`.`zip` AS c4, t.`tags` AS c5, t.`g` AS c6)))) AS _h"), "{sql}");
        assert_eq!(
            sql.matches("MD5(").count(),
            1,
            "one hash per row, none per column: {sql}"
        );
        assert!(sql.contains("CONCAT(CAST(SUM(CAST(CONCAT('0x', SUBSTR(_h, 1, 6)) AS INT64)) AS STRING), ':', CAST(SUM(CAST(CONCAT('0x', SUBSTR(_h, 7, 6)) AS INT64)) AS STRING), ':', CAST(SUM(CAST(CONCAT('0x', SUBSTR(_h, 13, 6)) AS INT64)) AS STRING)) AS fingerprint"), "{sql}");
        assert!(sql.contains("t.`price` AS c2,"), "{sql}");
        assert!(
            sql.contains("CAST(SUM(IF(IS_NAN(c2) OR IS_INF(c2), NULL, c2)) AS STRING) AS c2_sum"),
            "{sql}"
        );
        assert!(sql.contains("COUNTIF(IS_NAN(c2)) AS c2_nan_count"), "{sql}");
        assert!(sql.contains("COUNTIF(IS_INF(c2)) AS c2_inf_count"), "{sql}");
        assert!(
            sql.contains("TO_JSON_STRING(MIN(IF(IS_NAN(c2), NULL, c2))) AS c2_min"),
            "{sql}"
        );
        assert!(sql.contains("MAX(LENGTH(c1)) AS c1_max_length"));
        assert!(sql.contains("TO_JSON_STRING(MIN(c3)) AS c3_min"));
        assert!(
            !sql.contains("MIN(c5)") && !sql.contains("MIN(c6)"),
            "no MIN on arrays or geography"
        );
        assert!(sql.contains("APPROX_COUNT_DISTINCT(TO_JSON_STRING(c5)) AS c5_distinct"));
        assert!(sql.contains("CAST(AVG(ARRAY_LENGTH(c5)) AS STRING) AS c5_avg_length"));
        assert!(!sql.contains("_fingerprint"), "{sql}");
        let fast = scan_sql(
            &t("x"),
            Side::A,
            &p,
            &CompareOptions {
                skip_stats: true,
                ..Default::default()
            },
            false,
            None,
        );
        assert_eq!(fast.len(), 1);
        assert!(!fast[0].contains("c0_non_null") && fast[0].contains("AS fingerprint"));
        // Where no row diff can say which columns differ, each column is hashed too.
        let per_column = scan_sql(&t("x"), Side::A, &p, &CompareOptions::default(), true, None);
        assert!(
            per_column[0].contains(
                "IF(t.`name` IS NULL, NULL, TO_HEX(MD5(TO_JSON_STRING(t.`name`)))) AS h1"
            ),
            "{}",
            per_column[0]
        );
        assert!(
            per_column[0].contains("SUBSTR(h1, 13, 6)) AS INT64)) AS STRING)) AS c1_fingerprint")
        );
    }

    #[test]
    fn column_fingerprints_only_where_no_row_diff_attributes() {
        let a = table(vec![f("id", "INT64"), f("v", "STRING")]);
        let o = CompareOptions {
            key: Some(vec!["id".into()]),
            ..Default::default()
        };
        let keyed = plan(&a, &a, &o).unwrap();
        assert_eq!(column_fingerprints_reason(true, &keyed, &o), None);
        assert!(column_fingerprints_reason(false, &keyed, &o)
            .unwrap()
            .contains("different locations"));
        let skip = CompareOptions {
            skip_samples: true,
            ..o.clone()
        };
        assert!(column_fingerprints_reason(true, &keyed, &skip)
            .unwrap()
            .contains("--skip-samples"));
        let nostats = CompareOptions {
            skip_stats: true,
            ..o.clone()
        };
        assert_eq!(column_fingerprints_reason(false, &keyed, &nostats), None);
        let none = CompareOptions::default();
        let unkeyed = plan(&a, &a, &none).unwrap();
        assert!(column_fingerprints_reason(true, &unkeyed, &none)
            .unwrap()
            .contains("no key"));
    }

    #[test]
    fn wide_tables_split_their_statistics_not_their_fingerprint() {
        let fields: Vec<Field> = (0..1000).map(|i| f(&format!("c{i:04}"), "INT64")).collect();
        let a = table(fields);
        let p = plan(&a, &a, &CompareOptions::default()).unwrap();
        let sqls = scan_sql(
            &t("w"),
            Side::A,
            &p,
            &CompareOptions::default(),
            false,
            None,
        );
        assert_eq!(sqls.len(), 1000usize.div_ceil(STATS_COLUMNS_PER_QUERY));
        assert!(sqls[0].contains("AS fingerprint") && sqls[0].contains("COUNT(*) AS row_count"));
        for (n, sql) in sqls.iter().enumerate() {
            assert_eq!(
                sql.contains("MD5("),
                n == 0,
                "only the first query hashes rows"
            );
            let first = n * STATS_COLUMNS_PER_QUERY;
            assert!(sql.contains(&format!("COUNT(c{first}) AS c{first}_non_null")));
            assert!(!sql.contains(&format!("AS c{}_non_null", first + STATS_COLUMNS_PER_QUERY)));
        }
        let fast = scan_sql(
            &t("w"),
            Side::A,
            &p,
            &CompareOptions {
                skip_stats: true,
                ..Default::default()
            },
            false,
            None,
        );
        assert_eq!(fast.len(), 1);
    }

    #[test]
    fn every_type_gets_the_statistics_it_supports() {
        // (type, has min/max, has sum/avg, has lengths)
        let types = [
            ("INT64", true, true, false),
            ("NUMERIC", true, true, false),
            ("BIGNUMERIC", true, true, false),
            ("FLOAT64", true, true, false),
            ("STRING", true, false, true),
            ("BYTES", true, false, true),
            ("BOOL", true, false, false),
            ("DATE", true, false, false),
            ("DATETIME", true, false, false),
            ("TIME", true, false, false),
            ("TIMESTAMP", true, false, false),
            ("INTERVAL", false, false, false),
            ("GEOGRAPHY", false, false, false),
            ("JSON", false, false, false),
            ("RANGE", false, false, false),
        ];
        let fields: Vec<Field> = types
            .iter()
            .map(|(t, ..)| f(&format!("c_{t}"), t))
            .collect();
        let p = plan(
            &table(fields.clone()),
            &table(fields),
            &CompareOptions::default(),
        )
        .unwrap();
        assert_eq!(p.columns.len(), types.len());
        let sql = scan_sql(&t("x"), Side::A, &p, &CompareOptions::default(), true, None).join("\n");
        for (i, (ty, minmax, sum, len)) in types.iter().enumerate() {
            assert!(sql.contains(&format!("t.`c_{ty}` AS c{i},")), "{ty}");
            let col = format!("c{i}");
            assert!(
                sql.contains(&format!("COUNT({col}) AS c{i}_non_null")),
                "{ty}"
            );
            assert!(sql.contains(&format!("c{i}_fingerprint")), "{ty}");
            assert_eq!(sql.contains(&format!("AS c{i}_min")), *minmax, "{ty} min");
            assert_eq!(sql.contains(&format!("AS c{i}_sum")), *sum, "{ty} sum");
            assert_eq!(
                sql.contains(&format!("AS c{i}_max_length")),
                *len,
                "{ty} length"
            );
            let groupable = *minmax || *ty == "INTERVAL";
            let distinct = if groupable {
                format!("APPROX_COUNT_DISTINCT({col}) AS c{i}_distinct")
            } else {
                format!("APPROX_COUNT_DISTINCT(TO_JSON_STRING({col})) AS c{i}_distinct")
            };
            assert!(sql.contains(&distinct), "{ty}: {distinct}");
        }
    }

    #[test]
    fn casts_for_compatible_types() {
        let a = table(vec![f("n", "INT64"), f("x", "FLOAT64")]);
        let b = table(vec![f("n", "NUMERIC"), f("x", "INT64")]);
        let p = plan(&a, &b, &CompareOptions::default()).unwrap();
        let sql = scan_sql(
            &t("a"),
            Side::A,
            &p,
            &CompareOptions::default(),
            false,
            None,
        )
        .join("\n");
        assert!(sql.contains("CAST(t.`n` AS BIGNUMERIC) AS c0"), "{sql}");
        assert!(sql.contains("CAST(t.`x` AS FLOAT64) AS c1"), "{sql}");
    }

    #[test]
    fn diff_sql_shapes() {
        let a = table(vec![f("id", "INT64"), f("v", "FLOAT64")]);
        let o = CompareOptions {
            key: Some(vec!["id".into()]),
            sample_size: 7,
            rules: Rules::default().with_defaults(Some(0.001), 0.0),
            ..Default::default()
        };
        let p = plan(&a, &a, &o).unwrap();
        let sql = keyed_diff_sql(&t("a"), &t("b"), &p, &o);
        assert!(
            sql.contains("FROM `p.d.a` AS t") && sql.contains("FROM `p.d.b` AS t"),
            "{sql}"
        );
        assert!(
            sql.contains("TO_JSON_STRING(STRUCT(t.`id` AS c0)) AS _k"),
            "{sql}"
        );
        assert!(
            sql.contains("ABS(SAFE_SUBTRACT(a.f1, b.f1)) <= 1e-3"),
            "{sql}"
        );
        assert!(
            sql.contains("COUNTIF(kind = 'w') AS within_tolerance")
                && sql.contains("AS within_c1")
                && !sql.contains("within_c0"),
            "rows equal only within a rule are counted apart: {sql}"
        );
        assert!(sql.contains("rn <= 7"), "{sql}");
        assert!(
            sql.contains("WHEN an > 1 OR bn > 1 THEN 'dup'"),
            "duplicate keys are never joined: {sql}"
        );
        assert!(
            sql.contains("COALESCE(a.k0, b.k0) AS kk0")
                && sql.contains("ORDER BY kk0, COALESCE(ak, bk)"),
            "examples are the first keys by value: {sql}"
        );
        let o2 = CompareOptions {
            skip_samples: true,
            ..Default::default()
        };
        let p2 = plan(&a, &a, &o2).unwrap();
        let sql = multiset_diff_sql(&t("a"), &t("b"), &p2, &o2);
        assert!(
            sql.contains("GROUP BY _row") && !sql.contains("samples"),
            "{sql}"
        );
    }

    #[test]
    fn reads_results() {
        let a = table(vec![f("id", "INT64"), f("v", "STRING")]);
        let p = plan(
            &a,
            &a,
            &CompareOptions {
                key: Some(vec!["id".into()]),
                ..Default::default()
            },
        )
        .unwrap();
        let row: Row = serde_json::from_value(json!({
            "only_in_a": "1", "only_in_b": "0", "changed": "1", "duplicate_keys_a": "0", "duplicate_keys_b": "2",
            "changed_c0": "0", "changed_c1": "1",
            "samples_only_in_a": ["{\"c0\":3,\"c1\":\"z\"}"],
            "samples_only_in_b": [],
            "samples_changed": ["{\"k\":\"{\\\"c0\\\":2}\",\"a\":\"{\\\"c0\\\":2,\\\"c1\\\":\\\"x\\\"}\",\"b\":\"{\\\"c0\\\":2,\\\"c1\\\":\\\"y\\\"}\"}"]
        }))
        .unwrap();
        let d = read_keyed_diff(&row, &p);
        assert_eq!(
            (d.only_in_a, d.only_in_b, d.changed, d.duplicate_keys_b),
            (1, 0, 1, 2)
        );
        assert_eq!(d.changed_by_column.get("v"), Some(&1));
        assert_eq!(d.samples.only_in_a, vec![json!({"id": 3, "v": "z"})]);
        assert_eq!(d.samples.changed[0].key.get("id"), Some(&json!(2)));
        assert_eq!(
            d.samples.changed[0].changes,
            vec![ValueChange {
                column: "v".into(),
                a: json!("x"),
                b: json!("y")
            }]
        );
        assert!(!d.is_empty());

        let row: Row = serde_json::from_value(json!({
            "only_in_a": "2", "only_in_b": "1",
            "samples_only_in_a": ["2:{\"c0\":1,\"c1\":\"a\"}"], "samples_only_in_b": ["1:{\"c0\":5,\"c1\":null}"]
        }))
        .unwrap();
        let d = read_multiset_diff(&row, &p);
        assert_eq!(
            d.samples.only_in_a,
            vec![json!({"id": 1, "v": "a", "_count": 2})]
        );
        assert_eq!(
            d.samples.only_in_b,
            vec![json!({"id": 5, "v": null, "_count": 1})]
        );
    }

    #[test]
    fn example_values_keep_every_digit() {
        let a = table(vec![
            f("id", "INT64"),
            f("n", "BIGNUMERIC"),
            f("x", "FLOAT64"),
        ]);
        let p = plan(&a, &a, &CompareOptions::default()).unwrap();
        let r = named_row(
            &p,
            r#"{"c0": 9007199254740993, "c1": 3157.123456789012345679, "c2": 12.340000000}"#,
        );
        assert_eq!(
            r,
            json!({"id": 9007199254740993i64, "n": "3157.123456789012345679", "x": 12.34}),
            "a BIGNUMERIC a float would round stays text; a float that only has zeros to drop stays a number"
        );
        assert_eq!(named_row(&p, "not json"), json!("not json"));
        // Bare NaN and ±Inf (some engines' TO_JSON_STRING) read as BigQuery writes them.
        assert_eq!(
            named_row(&p, r#"{"c0":5,"c1":NaN}"#),
            json!({"id": 5, "n": "NaN", "x": null})
        );
        assert_eq!(
            quote_non_finite(r#"{"a":-Infinity,"b":"x:NaN \" Infinity","c":Infinity}"#),
            r#"{"a":"-Infinity","b":"x:NaN \" Infinity","c":"Infinity"}"#
        );
    }

    #[test]
    fn changed_columns_are_bigquerys_verdict() {
        let a = table(vec![f("id", "INT64"), f("x", "FLOAT64"), f("s", "STRING")]);
        let o = CompareOptions {
            key: Some(vec!["id".into()]),
            rules: Rules::default().with_defaults(Some(0.01), 0.0),
            sample_size: 5,
            ..Default::default()
        };
        let p = plan(&a, &a, &o).unwrap();
        let sql = keyed_diff_sql(&t("a"), &t("b"), &p, &o);
        assert!(
            sql.contains(
                "ARRAY_TO_STRING([IF(d0, '1', '0'), IF(d1, '1', '0'), IF(d2, '1', '0')], '') AS d"
            ),
            "{sql}"
        );
        assert!(
            sql.contains(
                "WHEN TRUE IN UNNEST([d0, d1, d2]) THEN 'c' WHEN TRUE IN UNNEST([r1]) THEN 'w'"
            ),
            "{sql}"
        );
        // x differs within tolerance (flag 0), s differs (flag 1): only s is a change.
        let row: Row = serde_json::from_value(json!({
            "changed": "1",
            "samples_changed": [json!({
                "k": "{\"c0\":1}",
                "a": "{\"c0\":1,\"c1\":1.0,\"c2\":\"p\"}",
                "b": "{\"c0\":1,\"c1\":1.001,\"c2\":\"q\"}",
                "d": "001"
            }).to_string()]
        }))
        .unwrap();
        let d = read_keyed_diff(&row, &p);
        let cols: Vec<&str> = d.samples.changed[0]
            .changes
            .iter()
            .map(|c| c.column.as_str())
            .collect();
        assert_eq!(cols, ["s"]);
    }

    #[test]
    fn examples_are_in_key_order() {
        let a = table(vec![f("id", "INT64"), f("v", "STRING")]);
        let o = CompareOptions {
            key: Some(vec!["id".into()]),
            ..Default::default()
        };
        let p = plan(&a, &a, &o).unwrap();
        let row: Row = serde_json::from_value(json!({
            "samples_only_in_a": ["{\"c0\":1007,\"c1\":\"x\"}", "{\"c0\":7,\"c1\":\"y\"}", "{\"c0\":null,\"c1\":\"z\"}"]
        }))
        .unwrap();
        let d = read_keyed_diff(&row, &p);
        let ids: Vec<Value> = d
            .samples
            .only_in_a
            .iter()
            .map(|r| r["id"].clone())
            .collect();
        assert_eq!(ids, vec![Value::Null, json!(7), json!(1007)]);
    }

    #[test]
    fn statistics_with_tolerance() {
        let a = table(vec![f("x", "FLOAT64"), f("n", "NUMERIC")]);
        let p = plan(&a, &a, &CompareOptions::default()).unwrap();
        let s = |sum: &str, nsum: &str| ScanResult {
            row_count: 2,
            fingerprint: None,
            partitions: None,
            columns: vec![
                ColumnStats {
                    sum: Some(sum.into()),
                    ..Default::default()
                },
                ColumnStats {
                    sum: Some(nsum.into()),
                    ..Default::default()
                },
            ],
        };
        let c = compare_columns(&p, &s("0.30000000000000004", "10.5"), &s("0.3", "10.5"));
        assert!(!c[0].differs, "float sums differ only by summation order");
        let c = compare_columns(&p, &s("0.3", "10.5"), &s("0.3", "10.6"));
        assert!(c[1].differs);
        // --tolerance 0.01: a relative rule for every numeric column.
        let o = CompareOptions {
            rules: Rules::default().with_defaults(None, 0.01),
            ..Default::default()
        };
        let p = plan(&a, &a, &o).unwrap();
        let c = compare_columns(&p, &s("0.3", "10.5"), &s("0.3", "10.6"));
        assert!(!c[1].differs);
    }

    fn rules(f: impl FnOnce(&mut column_rules::RuleFlags)) -> Rules {
        let mut flags = column_rules::RuleFlags::default();
        f(&mut flags);
        Rules::from_flags(&flags).unwrap()
    }

    #[test]
    fn statistics_under_column_rules() {
        let a = table(vec![
            f("amount", "NUMERIC"),
            f("at", "TIMESTAMP"),
            f("name", "STRING"),
        ]);
        let o = CompareOptions {
            rules: rules(|r| {
                r.abs_tolerance = vec!["amount=0.5".into()];
                r.time_tolerance = vec!["at=1s".into()];
                r.trim = vec!["name".into()];
            }),
            ..Default::default()
        };
        let p = plan(&a, &a, &o).unwrap();
        let side = |min: &str, sum: &str, min_us: i64| ScanResult {
            row_count: 10,
            columns: vec![
                ColumnStats {
                    non_null: Some(10),
                    min: Some(min.into()),
                    sum: Some(sum.into()),
                    fingerprint: Some(min.into()),
                    ..Default::default()
                },
                ColumnStats {
                    min: Some(format!("t{min_us}")),
                    min_us: Some(min_us),
                    ..Default::default()
                },
                ColumnStats::default(),
            ],
            ..Default::default()
        };
        // min within 0.5, the sum of 10 values within 10 × 0.5, times within 1 s; the
        // per-column fingerprints differ, which a tolerance cannot judge.
        let c = compare_columns(&p, &side("1.0", "100", 0), &side("1.4", "104", 900_000));
        assert!(!c[0].differs && !c[1].differs, "{c:?}");
        let c = compare_columns(&p, &side("1.0", "100", 0), &side("1.6", "106", 1_100_000));
        assert!(c[0].differs && c[1].differs, "{c:?}");
        // The normalised column's statistics are of its normalised values, in the scan.
        let sql = scan_sql(&t("x"), Side::A, &p, &o, true, None).join("\n");
        assert!(sql.contains("TRIM(t.`name`) AS c2"), "{sql}");
        assert!(sql.contains("MIN(UNIX_MICROS(c1)) AS c1_min_us"), "{sql}");
    }

    #[test]
    fn renamed_columns_pair_by_their_names_on_each_side() {
        let a = table(vec![
            f("id", "INT64"),
            f("customer_name", "STRING"),
            f("x", "INT64"),
        ]);
        let b = table(vec![f("x", "INT64"), f("name", "STRING"), f("id", "INT64")]);
        let o = CompareOptions {
            key: Some(vec!["customer_name".into()]),
            map: vec![("customer_name".into(), "name".into())],
            ..Default::default()
        };
        let p = plan(&a, &b, &o).unwrap();
        assert!(p.left_out.is_empty(), "{:?}", p.left_out);
        assert_eq!(p.columns[1].path_b.as_deref(), Some("name"));
        let sql = keyed_diff_sql(&t("a"), &t("b"), &p, &o);
        assert!(
            sql.contains("TO_JSON_STRING(STRUCT(t.`customer_name` AS c1)) AS _k")
                && sql.contains("TO_JSON_STRING(STRUCT(t.`name` AS c1)) AS _k"),
            "the key joins A's new name to B's old one: {sql}"
        );
        assert!(scan_sql(&t("b"), Side::B, &p, &o, false, None)[0].contains("t.`name` AS c1"));
        // Without the map: one column only in A, one only in B.
        let p = plan(&a, &b, &CompareOptions::default()).unwrap();
        assert_eq!(p.left_out.len(), 2);
        // A mapping to a column B does not have is refused; one neither table has is a note.
        let bad = CompareOptions {
            map: vec![("customer_name".into(), "nom".into())],
            ..Default::default()
        };
        let p = plan(&a, &b, &CompareOptions { key: None, ..bad }).unwrap();
        assert!(
            p.notes[0].contains("B has no column `nom`"),
            "{:?}",
            p.notes
        );
        let other = CompareOptions {
            map: vec![("zz".into(), "yy".into())],
            ..Default::default()
        };
        assert_eq!(plan(&a, &b, &other).unwrap().notes.len(), 1);
        // B's own `customer_name`, unpaired because A's is mapped to `name`: only in B.
        let b2 = table(vec![
            f("id", "INT64"),
            f("name", "STRING"),
            f("customer_name", "STRING"),
        ]);
        let p = plan(&a, &b2, &o).unwrap();
        assert!(
            p.left_out
                .iter()
                .any(|l| l.column == "customer_name" && l.reason == "only in B"),
            "{:?}",
            p.left_out
        );
        // A pair's own mapping comes first; the run's for the same column is then left alone.
        let both = CompareOptions {
            map: vec![
                ("customer_name".into(), "name".into()),
                ("customer_name".into(), "nom".into()),
            ],
            ..Default::default()
        };
        assert!(plan(&a, &b, &both).unwrap().notes.is_empty());
        // A's own `name`, if it has one, is not paired with B's `name` the map claims.
        let a2 = table(vec![f("customer_name", "STRING"), f("name", "STRING")]);
        let p = plan(&a2, &b, &o).unwrap();
        assert!(
            p.left_out
                .iter()
                .any(|l| l.column == "name" && l.reason.contains("--map")),
            "{:?}",
            p.left_out
        );
    }

    #[test]
    fn a_rule_on_a_key_column_is_left_off_and_said() {
        let a = table(vec![f("id", "STRING"), f("v", "STRING")]);
        let o = CompareOptions {
            key: Some(vec!["id".into()]),
            rules: rules(|r| r.ignore_case = vec!["id".into(), "v".into()]),
            ..Default::default()
        };
        let p = plan(&a, &a, &o).unwrap();
        assert!(p.columns[0].rule.is_none() && p.columns[1].rule.is_some());
        assert!(p.notes[0].contains("key column `id`"), "{:?}", p.notes);
        // A glob or a default names no column in particular: no note.
        let glob = CompareOptions {
            rules: rules(|r| r.ignore_case = vec!["*".into()]),
            ..o.clone()
        };
        let p = plan(&a, &a, &glob).unwrap();
        assert!(
            p.columns[0].rule.is_none() && p.notes.is_empty(),
            "{:?}",
            p.notes
        );
        let sql = keyed_diff_sql(&t("a"), &t("b"), &p, &o);
        assert!(
            sql.contains("(a.c1 != b.c1 AND NOT IFNULL(LOWER(a.f1) = LOWER(b.f1), LOWER(a.f1) IS NULL AND LOWER(b.f1) IS NULL)) AS d1"),
            "{sql}"
        );
    }
}
