//! `--partitions`: read only some partitions of time-partitioned tables, by a predicate on the
//! partition column that BigQuery prunes on (a comparison with a literal). Pure: the caller
//! gives the table's metadata and today's date.
//!
//! A spec is `since:7d` (the last 7 days, today included), `since:2026-11-01`,
//! `2026-11-01..2026-11-28` (both days included), or `changed` (table-compare: the partitions
//! modified since the last run, from its per-partition cache). Dates are UTC days, computed by bqcheck, so
//! the query text holds no clock function and its result can be cached.

use chrono::{Days, NaiveDate};

use crate::checks::column_expr;
use crate::warehouse::TableMeta;

/// Which partitions to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartitionSpec {
    /// The last N days, today included.
    LastDays(u32),
    /// From this day on.
    Since(NaiveDate),
    /// These days, both included.
    Range(NaiveDate, NaiveDate),
    /// The partitions modified since the last run (table-compare's per-partition cache).
    Changed,
}

fn date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date: use YYYY-MM-DD"))
}

impl PartitionSpec {
    /// `since:7d`, `since:2026-11-01` or `2026-11-01..2026-11-28`.
    pub(crate) fn parse(s: &str) -> Result<PartitionSpec, String> {
        let s = s.trim();
        let usage = "use `since:7d`, `since:2026-11-01`, `2026-11-01..2026-11-28` or `changed`";
        if s == "changed" {
            return Ok(PartitionSpec::Changed);
        }
        if let Some(rest) = s.strip_prefix("since:") {
            if let Some(days) = rest.strip_suffix('d') {
                return match days.parse::<u32>() {
                    Ok(n) if (1..=100_000).contains(&n) => Ok(PartitionSpec::LastDays(n)),
                    _ => Err(format!("`{s}`: the number of days must be 1 to 100000")),
                };
            }
            return date(rest)
                .map(PartitionSpec::Since)
                .map_err(|e| format!("`{s}`: {e}, or a number of days (`7d`)"));
        }
        if let Some((a, b)) = s.split_once("..") {
            let (a, b) = (date(a)?, date(b)?);
            if a > b {
                return Err(format!("`{s}`: the range ends before it starts"));
            }
            return Ok(PartitionSpec::Range(a, b));
        }
        Err(format!("`{s}` is not a partition selection: {usage}"))
    }

    /// The first and the day after the last day (`None`: open-ended), given today.
    fn days(self, today: NaiveDate) -> (NaiveDate, Option<NaiveDate>) {
        match self {
            PartitionSpec::LastDays(n) => (
                today
                    .checked_sub_days(Days::new(u64::from(n) - 1))
                    .unwrap_or(NaiveDate::MIN),
                None,
            ),
            PartitionSpec::Since(d) => (d, None),
            PartitionSpec::Range(a, b) => (a, b.checked_add_days(Days::new(1))),
            // Not a set of days: callers handle it before asking (this admits every day).
            PartitionSpec::Changed => (NaiveDate::MIN, None),
        }
    }
}

/// A table's partition column as a SQL expression over alias `t`, and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionColumn {
    /// `t.`dt`` or `t._PARTITIONTIME` (ingestion-time partitioning).
    pub(crate) expr: String,
    /// `DATE`, `TIMESTAMP` or `DATETIME`.
    pub(crate) sql_type: &'static str,
    /// For messages: `dt (DATE)`.
    pub(crate) describe: String,
}

/// The column `meta`'s time partitioning is on; an error that says why there is none.
pub(crate) fn partition_column(meta: &TableMeta) -> Result<PartitionColumn, String> {
    let Some(tp) = &meta.time_partitioning else {
        return Err(if meta.range_partitioning.is_some() {
            "it is partitioned on an integer range; --partitions selects days (use --where)".into()
        } else {
            "it is not partitioned by time (use --where)".into()
        });
    };
    let Some(field) = tp.get("field").and_then(|f| f.as_str()) else {
        return Ok(PartitionColumn {
            expr: "t._PARTITIONTIME".into(),
            sql_type: "TIMESTAMP",
            describe: "_PARTITIONTIME (ingestion time)".into(),
        });
    };
    let f = partition_field(meta, field)?;
    let sql_type = match f.field_type.to_ascii_uppercase().as_str() {
        "DATE" => "DATE",
        "TIMESTAMP" => "TIMESTAMP",
        "DATETIME" => "DATETIME",
        other => return Err(format!("its partition column `{field}` is {other}")),
    };
    Ok(PartitionColumn {
        expr: column_expr("t", std::slice::from_ref(&f.name)),
        sql_type,
        describe: format!("{} ({sql_type})", f.name),
    })
}

/// A literal of `sql_type` for midnight (UTC) of `d`.
fn literal(sql_type: &str, d: NaiveDate) -> String {
    time_literal(sql_type, d.and_time(chrono::NaiveTime::MIN))
}

/// A literal of `sql_type` (`DATE`, `DATETIME`, else `TIMESTAMP` in UTC) for `at`.
fn time_literal(sql_type: &str, at: chrono::NaiveDateTime) -> String {
    match sql_type {
        "DATE" => format!("DATE '{}'", at.date()),
        "DATETIME" => format!("DATETIME '{}'", at.format("%Y-%m-%d %H:%M:%S")),
        _ => format!("TIMESTAMP '{}+00'", at.format("%Y-%m-%d %H:%M:%S")),
    }
}

/// The predicate that reads only `spec`'s partitions of a table partitioned on `col`.
pub(crate) fn predicate(spec: PartitionSpec, col: &PartitionColumn, today: NaiveDate) -> String {
    let (from, until) = spec.days(today);
    let mut p = format!("{} >= {}", col.expr, literal(col.sql_type, from));
    if let Some(u) = until {
        p.push_str(&format!(" AND {} < {}", col.expr, literal(col.sql_type, u)));
    }
    p
}

/// `where` and the partition predicate together.
pub(crate) fn and(where_clause: Option<&str>, partitions: &str) -> String {
    match where_clause {
        Some(w) => format!("({w}) AND ({partitions})"),
        None => partitions.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Partition-aware compare: a table's partitions, their ids, and a pruning predicate for some
// of them.
// ---------------------------------------------------------------------------------------

/// The first day BigQuery keeps in a time partition of its own; earlier and later values
/// (from [`TIME_END`] on) go to `__UNPARTITIONED__`.
const TIME_START: &str = "1960-01-01";
/// The day after the last day with a time partition of its own.
const TIME_END: &str = "2160-01-01";

/// BigQuery's time-partitioning granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Hour,
    Day,
    Month,
    Year,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Hour => "HOUR",
            Unit::Day => "DAY",
            Unit::Month => "MONTH",
            Unit::Year => "YEAR",
        }
    }

    /// The partition id's format (BigQuery's: `2024010112`, `20240101`, `202401`, `2024`).
    fn format(self) -> &'static str {
        match self {
            Unit::Hour => "%Y%m%d%H",
            Unit::Day => "%Y%m%d",
            Unit::Month => "%Y%m",
            Unit::Year => "%Y",
        }
    }
}

/// How a table is split into partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// Time-unit or ingestion-time partitioning.
    Time(Unit),
    /// Integer-range partitioning: buckets `[start + k*interval, start + (k+1)*interval)`
    /// up to `end`.
    Range { start: i64, end: i64, interval: i64 },
}

/// A table's partitioning: the column, its type and the scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Partitioning {
    /// `t.`dt`` or `t._PARTITIONTIME`.
    pub(crate) expr: String,
    /// `DATE`, `TIMESTAMP`, `DATETIME` or `INT64`.
    pub(crate) sql_type: &'static str,
    pub(crate) scheme: Scheme,
    /// For messages: `dt (DATE, by MONTH)`.
    pub(crate) describe: String,
}

fn int_of(v: Option<&serde_json::Value>) -> Option<i64> {
    match v? {
        serde_json::Value::String(s) => s.parse().ok(),
        n => n.as_i64(),
    }
}

/// `meta`'s partitioning, or why it has none bqcheck can use.
pub(crate) fn partitioning(meta: &TableMeta) -> Result<Partitioning, String> {
    if let Some(rp) = &meta.range_partitioning {
        let field = rp
            .get("field")
            .and_then(|f| f.as_str())
            .ok_or("its range partitioning names no column")?;
        let range = rp.get("range");
        let get = |k: &str| int_of(range.and_then(|r| r.get(k)));
        let (Some(start), Some(end), Some(interval)) = (get("start"), get("end"), get("interval"))
        else {
            return Err("its range partitioning has no start, end and interval".into());
        };
        if interval <= 0 || end <= start {
            return Err(format!(
                "its range partitioning is empty (start {start}, end {end}, interval {interval})"
            ));
        }
        let col = leaf(meta, field, &["INT64", "INTEGER"])?;
        return Ok(Partitioning {
            describe: format!("{field} (INT64 range {start}..{end} by {interval})"),
            expr: col,
            sql_type: "INT64",
            scheme: Scheme::Range {
                start,
                end,
                interval,
            },
        });
    }
    let col = partition_column(meta)?;
    let unit = match meta
        .time_partitioning
        .as_ref()
        .and_then(|tp| tp.get("type"))
        .and_then(|t| t.as_str())
        .unwrap_or("DAY")
        .to_ascii_uppercase()
        .as_str()
    {
        "HOUR" => Unit::Hour,
        "DAY" => Unit::Day,
        "MONTH" => Unit::Month,
        "YEAR" => Unit::Year,
        other => return Err(format!("its time partitioning is by {other}")),
    };
    if unit == Unit::Hour && col.sql_type == "DATE" {
        return Err("it is partitioned by HOUR on a DATE".into());
    }
    Ok(Partitioning {
        describe: format!("{} by {}", col.describe, unit.name()),
        expr: col.expr,
        sql_type: col.sql_type,
        scheme: Scheme::Time(unit),
    })
}

/// The partition column `field` in `meta`'s schema (names are case-insensitive), if its
/// name can be quoted.
fn partition_field<'a>(
    meta: &'a TableMeta,
    field: &str,
) -> Result<&'a crate::warehouse::model::Field, String> {
    let f = meta
        .fields()
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(field))
        .ok_or_else(|| format!("its partition column `{field}` is not in its schema"))?;
    if !crate::checks::quotable(&f.name) {
        return Err(format!(
            "its partition column's name {:?} cannot be quoted",
            f.name
        ));
    }
    Ok(f)
}

/// The top-level column `field` of one of `types`, quoted under alias `t`.
fn leaf(meta: &TableMeta, field: &str, types: &[&str]) -> Result<String, String> {
    let f = partition_field(meta, field)?;
    if !types.iter().any(|t| f.field_type.eq_ignore_ascii_case(t)) {
        return Err(format!(
            "its partition column `{field}` is {}",
            f.field_type
        ));
    }
    Ok(column_expr("t", std::slice::from_ref(&f.name)))
}

impl Partitioning {
    /// Whether rows of both tables fall in partitions of the same ids: the same column (by
    /// name), type and scheme.
    /// Ingestion-time partitions are never alike: a row's partition is when it was loaded,
    /// not anything in it, so two loads of the same rows fall in different partitions.
    pub(crate) fn same_as(&self, other: &Partitioning) -> bool {
        !self.expr.ends_with("_PARTITIONTIME")
            && self.expr.eq_ignore_ascii_case(&other.expr)
            && self.sql_type == other.sql_type
            && self.scheme == other.scheme
    }

    fn midnight(&self, day: &str) -> String {
        literal(self.sql_type, date(day).unwrap_or_default())
    }

    /// The label of rows whose partition column is NULL.
    fn null_id(&self) -> &'static str {
        if self.expr.ends_with("_PARTITIONTIME") {
            "__STREAMING_UNPARTITIONED__"
        } else {
            "__NULL__"
        }
    }

    /// SQL (over alias `t`) for the id of a row's partition, as BigQuery names partitions
    /// (`INFORMATION_SCHEMA.PARTITIONS.partition_id`): `20240101`, `202401`, `1000`,
    /// `__NULL__`, `__UNPARTITIONED__`.
    pub(crate) fn id_sql(&self) -> String {
        let e = &self.expr;
        let null = self.null_id();
        match &self.scheme {
            Scheme::Range {
                start,
                end,
                interval,
            } => format!(
                "CASE WHEN {e} IS NULL THEN '{null}' WHEN {e} < {start} OR {e} >= {end} THEN '__UNPARTITIONED__' \
                 ELSE CAST({start} + DIV({e} - {start}, {interval}) * {interval} AS STRING) END"
            ),
            Scheme::Time(unit) => {
                let f = unit.format();
                let format = match self.sql_type {
                    "DATE" => format!("FORMAT_DATE('{f}', {e})"),
                    "DATETIME" => format!("FORMAT_DATETIME('{f}', {e})"),
                    _ => format!("FORMAT_TIMESTAMP('{f}', {e}, 'UTC')"),
                };
                format!(
                    "CASE WHEN {e} IS NULL THEN '{null}' WHEN {e} < {} OR {e} >= {} THEN '__UNPARTITIONED__' ELSE {format} END",
                    self.midnight(TIME_START),
                    self.midnight(TIME_END)
                )
            }
        }
    }

    /// A predicate that admits every row and that BigQuery accepts as a partition filter,
    /// for tables created with `require_partition_filter`.
    pub(crate) fn admit_all(&self) -> String {
        let e = &self.expr;
        let min = match self.sql_type {
            "INT64" => i64::MIN.to_string(),
            _ => self.midnight("0001-01-01"),
        };
        format!("({e} IS NULL OR {e} >= {min})")
    }

    /// The half-open range of values partition `id` holds, as (low, high) in an order that
    /// sorts partitions; `None` for the special ids.
    fn bounds(&self, id: &str) -> Option<(Bound, Bound)> {
        match &self.scheme {
            Scheme::Range {
                start,
                end,
                interval,
            } => {
                let lo: i64 = id.parse().ok()?;
                // Only a bucket's own start is one of this table's partition ids.
                let on_grid = lo
                    .checked_sub(*start)
                    .is_some_and(|d| d >= 0 && d % interval == 0);
                if !on_grid || lo >= *end {
                    return None;
                }
                Some((
                    Bound::Int(lo),
                    Bound::Int(lo.saturating_add(*interval).min(*end)),
                ))
            }
            Scheme::Time(unit) => {
                let full = match unit {
                    Unit::Hour => format!("{id}0000"),
                    Unit::Day => format!("{id}000000"),
                    Unit::Month => format!("{id}01000000"),
                    Unit::Year => format!("{id}0101000000"),
                };
                if full.len() != 14 || !full.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let lo = chrono::NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S").ok()?;
                let hi = match unit {
                    Unit::Hour => lo.checked_add_signed(chrono::TimeDelta::hours(1))?,
                    Unit::Day => lo.checked_add_days(Days::new(1))?,
                    Unit::Month => lo.checked_add_months(chrono::Months::new(1))?,
                    Unit::Year => lo.checked_add_months(chrono::Months::new(12))?,
                };
                Some((Bound::Time(lo), Bound::Time(hi)))
            }
        }
    }

    fn bound_sql(&self, b: &Bound) -> String {
        match b {
            Bound::Int(i) => i.to_string(),
            Bound::Time(t) => time_literal(self.sql_type, *t),
        }
    }

    /// Sort partition ids by the values they hold (the special ids last).
    pub(crate) fn sort_ids(&self, ids: &mut [String]) {
        ids.sort_by(|a, b| match (self.bounds(a), self.bounds(b)) {
            (Some(x), Some(y)) => x.0.cmp(&y.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.cmp(b),
        });
    }

    /// A predicate that admits exactly the rows of partitions `ids`, as comparisons of the
    /// partition column with literals (which BigQuery prunes on); adjacent partitions are
    /// one range. `None` when an id is not one of this partitioning's, or when there are
    /// more than [`MAX_RANGES`] ranges.
    pub(crate) fn only(&self, ids: &[String]) -> Option<String> {
        let e = &self.expr;
        let mut ranges: Vec<(Bound, Bound)> = Vec::new();
        let mut special = Vec::new();
        for id in ids {
            if id == self.null_id() {
                special.push(format!("{e} IS NULL"));
                continue;
            }
            if id == "__UNPARTITIONED__" {
                special.push(match &self.scheme {
                    Scheme::Range { start, end, .. } => format!("{e} < {start} OR {e} >= {end}"),
                    Scheme::Time(_) => format!(
                        "{e} < {} OR {e} >= {}",
                        self.midnight(TIME_START),
                        self.midnight(TIME_END)
                    ),
                });
                continue;
            }
            ranges.push(self.bounds(id)?);
        }
        ranges.sort();
        let mut merged: Vec<(Bound, Bound)> = Vec::new();
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if last.1 >= lo => last.1 = last.1.clone().max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        let mut terms: Vec<String> = merged
            .iter()
            .map(|(lo, hi)| {
                format!(
                    "({e} >= {} AND {e} < {})",
                    self.bound_sql(lo),
                    self.bound_sql(hi)
                )
            })
            .collect();
        terms.extend(special.into_iter().map(|s| format!("({s})")));
        // BigQuery takes at most 1 MB of query text: a longer list is no filter.
        if terms.len() > MAX_RANGES {
            return None;
        }
        match terms.len() {
            0 => Some("FALSE".into()),
            1 => terms.pop(),
            _ => Some(terms.join(" OR ")),
        }
    }
}

/// The most separate ranges [`Partitioning::only`] writes (each ~100 bytes of SQL, and the
/// row diff repeats the filter for both sides).
const MAX_RANGES: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Bound {
    Int(i64),
    Time(chrono::NaiveDateTime),
}

/// One partition's share of a scan: its id, row count and row fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct PartitionPrint {
    pub(crate) id: String,
    pub(crate) rows: i64,
    pub(crate) fingerprint: String,
}

/// Parse the scan's `partitions` answer: `id:rows:s1:s2:s3` joined by `,` (empty or NULL
/// for a scan that read no row).
pub(crate) fn read_prints(text: Option<&str>) -> Result<Vec<PartitionPrint>, String> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|item| {
            let mut parts = item.splitn(3, ':');
            let (Some(id), Some(rows), Some(fp)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!("bad partition fingerprint {item:?}"));
            };
            let rows = rows
                .parse()
                .map_err(|_| format!("bad partition row count in {item:?}"))?;
            Ok(PartitionPrint {
                id: id.to_string(),
                rows,
                fingerprint: fp.to_string(),
            })
        })
        .collect()
}

/// A partition whose rows differ between the sides: its row count on each (0 where the side
/// has no such partition).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct PartitionDelta {
    pub(crate) id: String,
    pub(crate) rows_a: i64,
    pub(crate) rows_b: i64,
}

/// The partitions whose row count or fingerprint differ, in `p`'s order.
pub(crate) fn differing(
    p: &Partitioning,
    a: &[PartitionPrint],
    b: &[PartitionPrint],
) -> Vec<PartitionDelta> {
    use std::collections::BTreeMap;
    let mut all: BTreeMap<&str, (Option<&PartitionPrint>, Option<&PartitionPrint>)> =
        BTreeMap::new();
    // A partition with no rows (remembered so by the cache) is as good as absent.
    for x in a.iter().filter(|x| x.rows != 0) {
        all.entry(&x.id).or_default().0 = Some(x);
    }
    for y in b.iter().filter(|y| y.rows != 0) {
        all.entry(&y.id).or_default().1 = Some(y);
    }
    let mut ids: Vec<String> = all
        .iter()
        .filter(|(_, (x, y))| x != y)
        .map(|(id, _)| id.to_string())
        .collect();
    p.sort_ids(&mut ids);
    ids.into_iter()
        .map(|id| {
            let (x, y) = all[id.as_str()];
            PartitionDelta {
                rows_a: x.map_or(0, |x| x.rows),
                rows_b: y.map_or(0, |y| y.rows),
                id,
            }
        })
        .collect()
}

/// How many partitions either side has.
pub(crate) fn union_count(a: &[PartitionPrint], b: &[PartitionPrint]) -> usize {
    let mut ids: Vec<&str> = a.iter().chain(b).map(|p| p.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

// ---------------------------------------------------------------------------------------
// The per-partition cache: which partitions' prints a stored run still vouches for.
// ---------------------------------------------------------------------------------------

/// A partition as BigQuery's metadata lists it (`INFORMATION_SCHEMA.PARTITIONS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionMeta {
    pub(crate) id: String,
    pub(crate) rows: Option<i64>,
    /// `last_modified_time`, in ms since the epoch.
    pub(crate) modified: Option<i64>,
}

/// A partition's print as the cache keeps it, with the modification time the partition had
/// when it was read (taken before the scan, so a write during the scan makes it stale).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredPrint {
    #[serde(flatten)]
    pub(crate) print: PartitionPrint,
    pub(crate) modified: i64,
    /// The partition's row count in the metadata (a filtered scan reads fewer).
    pub(crate) total_rows: Option<i64>,
}

/// The stored prints the metadata still vouches for: the partition exists, was not modified
/// since, and has the same number of rows.
pub(crate) fn fresh(meta: &[PartitionMeta], stored: &[StoredPrint]) -> Vec<PartitionPrint> {
    stored
        .iter()
        .filter(|s| still_fresh(meta, &s.print.id, s.modified, s.total_rows))
        .map(|s| s.print.clone())
        .collect()
}

/// Whether the metadata still vouches for a partition stored with this modification time
/// and row count: it exists, was not modified since, and has as many rows.
pub(crate) fn still_fresh(
    meta: &[PartitionMeta],
    id: &str,
    modified: i64,
    total_rows: Option<i64>,
) -> bool {
    meta.iter()
        .any(|m| m.id == id && m.modified == Some(modified) && m.rows == total_rows)
}

/// The partitions the metadata lists that `fresh` does not cover: new or modified ones.
pub(crate) fn stale(meta: &[PartitionMeta], fresh: &[PartitionPrint]) -> Vec<String> {
    meta.iter()
        .filter(|m| !fresh.iter().any(|f| f.id == m.id))
        .map(|m| m.id.clone())
        .collect()
}

/// What to store after a scan of `scanned` partitions: their prints with the modification
/// times the metadata gave before the scan, and the fresh ones kept. Partitions the metadata
/// gives no time for are not stored.
pub(crate) fn to_store(
    meta: &[PartitionMeta],
    fresh: &[PartitionPrint],
    scanned: &[PartitionPrint],
) -> Vec<StoredPrint> {
    fresh
        .iter()
        .filter(|f| !scanned.iter().any(|s| s.id == f.id))
        .chain(scanned)
        .filter_map(|p| {
            let m = meta.iter().find(|m| m.id == p.id)?;
            Some(StoredPrint {
                print: p.clone(),
                modified: m.modified?,
                total_rows: m.rows,
            })
        })
        .collect()
}

/// `fresh` and `scanned` together (a scanned partition replaces a fresh one), and a print of
/// the whole: the row count and the fingerprint a scan of all of them would give (the sums
/// of the partitions' sums); `None` for no rows, as a scan of no rows gives.
pub(crate) fn merge(
    fresh: &[PartitionPrint],
    scanned: &[PartitionPrint],
) -> Result<(Vec<PartitionPrint>, i64, Option<String>), String> {
    let mut all: Vec<PartitionPrint> = fresh
        .iter()
        .filter(|f| !scanned.iter().any(|s| s.id == f.id))
        .chain(scanned)
        .cloned()
        .collect();
    all.retain(|p| p.rows != 0);
    all.sort_by(|a, b| a.id.cmp(&b.id));
    let rows = all
        .iter()
        .try_fold(0i64, |n, p| n.checked_add(p.rows))
        .ok_or("partition row counts overflow")?;
    let mut sums: Vec<i128> = Vec::new();
    for p in &all {
        for (k, part) in p.fingerprint.split(':').enumerate() {
            let n: i128 = part
                .parse()
                .map_err(|_| format!("bad partition fingerprint {:?}", p.fingerprint))?;
            match sums.get_mut(k) {
                Some(s) => *s = s.saturating_add(n),
                None => sums.push(n),
            }
        }
    }
    let fingerprint = (rows > 0).then(|| {
        sums.iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(":")
    });
    Ok((all, rows, fingerprint))
}

/// Whether the metadata's partitions hold as many rows as the table (unknown counts pass):
/// they do not, e.g., while rows are in a streaming buffer, and then a partition the
/// metadata misses would never be read.
pub(crate) fn accounts_for(meta: &[PartitionMeta], table_rows: Option<i64>) -> bool {
    let listed = meta
        .iter()
        .try_fold(0i64, |n, p| p.rows.and_then(|r| n.checked_add(r)));
    match (listed, table_rows) {
        (Some(l), Some(n)) => l == n,
        _ => true,
    }
}

/// A table name as a GoogleSQL string literal.
fn string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The metadata query listing `table`'s partitions (`partition_id`, `total_rows`,
/// `modified` in ms): BigQuery bills it 10 MiB, its minimum for INFORMATION_SCHEMA queries.
pub(crate) fn metadata_sql(table: &crate::model::TableRef) -> String {
    format!(
        "SELECT partition_id, total_rows, UNIX_MILLIS(last_modified_time) AS modified\nFROM `{}.{}.INFORMATION_SCHEMA.PARTITIONS`\nWHERE table_name = {}",
        table.project,
        table.dataset,
        string_literal(&table.table)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(v: serde_json::Value) -> TableMeta {
        serde_json::from_value(v).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        date(s).unwrap()
    }

    #[test]
    fn specs_parse_and_bad_ones_say_what_to_write() {
        assert_eq!(
            PartitionSpec::parse("since:7d"),
            Ok(PartitionSpec::LastDays(7))
        );
        assert_eq!(
            PartitionSpec::parse("since:2026-11-01"),
            Ok(PartitionSpec::Since(day("2026-11-01")))
        );
        assert_eq!(
            PartitionSpec::parse(" changed "),
            Ok(PartitionSpec::Changed)
        );
        assert_eq!(
            PartitionSpec::parse("2026-11-01..2026-11-28"),
            Ok(PartitionSpec::Range(day("2026-11-01"), day("2026-11-28")))
        );
        for (bad, says) in [
            ("since:0d", "1 to 100000"),
            ("since:yesterday", "is not a date"),
            ("2026-11-28..2026-11-01", "ends before it starts"),
            ("2026-13-01..2026-11-01", "is not a date"),
            ("last week", "since:7d"),
        ] {
            let e = PartitionSpec::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn predicates_compare_the_partition_column_with_literals_of_its_type() {
        let dated = meta(json!({"timePartitioning": {"type": "DAY", "field": "dt"},
            "schema": {"fields": [{"name": "dt", "type": "DATE"}]}}));
        let col = partition_column(&dated).unwrap();
        let today = day("2026-11-30");
        assert_eq!(
            predicate(PartitionSpec::LastDays(7), &col, today),
            "t.`dt` >= DATE '2026-11-24'"
        );
        assert_eq!(
            predicate(
                PartitionSpec::Range(day("2026-11-01"), day("2026-11-28")),
                &col,
                today
            ),
            "t.`dt` >= DATE '2026-11-01' AND t.`dt` < DATE '2026-11-29'"
        );
        let ingestion = meta(json!({"timePartitioning": {"type": "DAY"}}));
        let col = partition_column(&ingestion).unwrap();
        assert_eq!(
            predicate(PartitionSpec::Since(day("2026-11-01")), &col, today),
            "t._PARTITIONTIME >= TIMESTAMP '2026-11-01 00:00:00+00'"
        );
        let ts = meta(json!({"timePartitioning": {"type": "HOUR", "field": "at"},
            "schema": {"fields": [{"name": "at", "type": "DATETIME"}]}}));
        assert_eq!(
            predicate(
                PartitionSpec::LastDays(1),
                &partition_column(&ts).unwrap(),
                today
            ),
            "t.`at` >= DATETIME '2026-11-30 00:00:00'"
        );
        assert_eq!(and(Some("x > 1"), "p"), "(x > 1) AND (p)");
    }

    #[test]
    fn tables_without_time_partitions_are_refused_with_the_reason() {
        let e = partition_column(&meta(json!({}))).unwrap_err();
        assert!(e.contains("not partitioned by time"), "{e}");
        let e = partition_column(&meta(json!({"rangePartitioning": {"field": "id"}}))).unwrap_err();
        assert!(e.contains("integer range"), "{e}");
        // A name from a hostile endpoint cannot break out of its quotes.
        let evil = meta(
            json!({"timePartitioning": {"type": "DAY", "field": "d`) OR TRUE OR (`x"},
            "schema": {"fields": [{"name": "d`) OR TRUE OR (`x", "type": "DATE"}]}}),
        );
        let e = partition_column(&evil).unwrap_err();
        assert!(e.contains("cannot be quoted"), "{e}");
    }

    fn parts(v: serde_json::Value) -> Partitioning {
        partitioning(&meta(v)).unwrap()
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn partitionings_are_read_from_table_metadata() {
        let monthly = parts(json!({"timePartitioning": {"type": "MONTH", "field": "d"},
            "schema": {"fields": [{"name": "d", "type": "DATE"}]}}));
        assert_eq!(monthly.scheme, Scheme::Time(Unit::Month));
        assert_eq!(monthly.describe, "d (DATE) by MONTH");
        let range = parts(json!({"rangePartitioning": {"field": "n",
                "range": {"start": "0", "end": "100", "interval": "10"}},
            "schema": {"fields": [{"name": "n", "type": "INTEGER"}]}}));
        assert_eq!(
            range.scheme,
            Scheme::Range {
                start: 0,
                end: 100,
                interval: 10
            }
        );
        let ingestion = parts(json!({"timePartitioning": {"type": "DAY"}}));
        assert_eq!(ingestion.expr, "t._PARTITIONTIME");
        // Alike: the same column (names are case-insensitive), type and scheme.
        let daily = |f: &str, ty: &str| {
            parts(json!({"timePartitioning": {"type": "DAY", "field": f},
                "schema": {"fields": [{"name": f, "type": ty}]}}))
        };
        assert!(daily("dt", "DATE").same_as(&daily("DT", "DATE")));
        assert!(!daily("dt", "DATE").same_as(&daily("dt", "TIMESTAMP")));
        assert!(!daily("dt", "DATE").same_as(&monthly));
        // A time partitioning on an INT64 (how an emulator shows a range) is not used.
        let e = partitioning(&meta(
            json!({"timePartitioning": {"type": "DAY", "field": "id"},
            "schema": {"fields": [{"name": "id", "type": "INTEGER"}]}}),
        ))
        .unwrap_err();
        assert!(e.contains("is INTEGER"), "{e}");
        let e = partitioning(&meta(json!({"rangePartitioning": {"field": "n",
                "range": {"start": "0", "end": "0", "interval": "10"}},
            "schema": {"fields": [{"name": "n", "type": "INTEGER"}]}})))
        .unwrap_err();
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn partition_ids_are_bigquerys() {
        let daily_ts = parts(json!({"timePartitioning": {"type": "DAY", "field": "at"},
            "schema": {"fields": [{"name": "at", "type": "TIMESTAMP"}]}}));
        assert_eq!(
            daily_ts.id_sql(),
            "CASE WHEN t.`at` IS NULL THEN '__NULL__' WHEN t.`at` < TIMESTAMP '1960-01-01 00:00:00+00' \
             OR t.`at` >= TIMESTAMP '2160-01-01 00:00:00+00' THEN '__UNPARTITIONED__' \
             ELSE FORMAT_TIMESTAMP('%Y%m%d', t.`at`, 'UTC') END"
        );
        let range = parts(json!({"rangePartitioning": {"field": "n",
                "range": {"start": "-5", "end": "100", "interval": "10"}},
            "schema": {"fields": [{"name": "n", "type": "INTEGER"}]}}));
        assert!(range
            .id_sql()
            .contains("CAST(-5 + DIV(t.`n` - -5, 10) * 10 AS STRING)"));
        let ingestion = parts(json!({"timePartitioning": {"type": "HOUR"}}));
        assert!(ingestion.id_sql().contains("'__STREAMING_UNPARTITIONED__'"));
        assert!(ingestion.id_sql().contains("'%Y%m%d%H'"));
    }

    #[test]
    fn only_some_partitions_are_read_by_ranges_bigquery_prunes_on() {
        let daily = parts(json!({"timePartitioning": {"type": "DAY", "field": "d"},
            "schema": {"fields": [{"name": "d", "type": "DATE"}]}}));
        // Adjacent days are one range; NULL and out-of-range rows have their own terms.
        assert_eq!(
            daily
                .only(&ids(&[
                    "20240103", "20240101", "20240102", "20240110", "__NULL__"
                ]))
                .unwrap(),
            "(t.`d` >= DATE '2024-01-01' AND t.`d` < DATE '2024-01-04') OR \
             (t.`d` >= DATE '2024-01-10' AND t.`d` < DATE '2024-01-11') OR (t.`d` IS NULL)"
        );
        assert_eq!(
            daily.only(&ids(&["__UNPARTITIONED__"])).unwrap(),
            "(t.`d` < DATE '1960-01-01' OR t.`d` >= DATE '2160-01-01')"
        );
        assert_eq!(daily.only(&[]).unwrap(), "FALSE");
        // An id that is not a partition of this table (or hostile text) is refused.
        assert_eq!(daily.only(&ids(&["2024' OR TRUE --"])), None);
        assert_eq!(daily.only(&ids(&["202401"])), None);
        let monthly_dt = parts(json!({"timePartitioning": {"type": "MONTH", "field": "at"},
            "schema": {"fields": [{"name": "at", "type": "DATETIME"}]}}));
        assert_eq!(
            monthly_dt.only(&ids(&["202412"])).unwrap(),
            "(t.`at` >= DATETIME '2024-12-01 00:00:00' AND t.`at` < DATETIME '2025-01-01 00:00:00')"
        );
        let hourly = parts(json!({"timePartitioning": {"type": "HOUR", "field": "at"},
            "schema": {"fields": [{"name": "at", "type": "TIMESTAMP"}]}}));
        assert_eq!(
            hourly.only(&ids(&["2024123123"])).unwrap(),
            "(t.`at` >= TIMESTAMP '2024-12-31 23:00:00+00' AND t.`at` < TIMESTAMP '2025-01-01 00:00:00+00')"
        );
        let range = parts(json!({"rangePartitioning": {"field": "n",
                "range": {"start": "0", "end": "25", "interval": "10"}},
            "schema": {"fields": [{"name": "n", "type": "INTEGER"}]}}));
        assert_eq!(
            range.only(&ids(&["20", "0", "__UNPARTITIONED__"])).unwrap(),
            "(t.`n` >= 0 AND t.`n` < 10) OR (t.`n` >= 20 AND t.`n` < 25) OR (t.`n` < 0 OR t.`n` >= 25)"
        );
        assert_eq!(
            range.admit_all(),
            "(t.`n` IS NULL OR t.`n` >= -9223372036854775808)"
        );
        assert_eq!(
            daily.admit_all(),
            "(t.`d` IS NULL OR t.`d` >= DATE '0001-01-01')"
        );
    }

    #[test]
    fn differing_partitions_are_found_and_sorted_by_their_values() {
        let range = parts(json!({"rangePartitioning": {"field": "n",
                "range": {"start": "0", "end": "1000", "interval": "10"}},
            "schema": {"fields": [{"name": "n", "type": "INTEGER"}]}}));
        let a = read_prints(Some("0:5:1:2:3,10:5:4:5:6,100:1:7:8:9,20:3:1:1:1")).unwrap();
        let b = read_prints(Some("0:5:1:2:3,10:5:4:5:7,20:3:1:1:1,30:2:0:0:0")).unwrap();
        let d = differing(&range, &a, &b);
        let got: Vec<(&str, i64, i64)> = d
            .iter()
            .map(|d| (d.id.as_str(), d.rows_a, d.rows_b))
            .collect();
        assert_eq!(got, [("10", 5, 5), ("30", 0, 2), ("100", 1, 0)]);
        assert_eq!(union_count(&a, &b), 5);
        assert_eq!(read_prints(None).unwrap(), []);
        assert_eq!(read_prints(Some("")).unwrap(), []);
        assert!(read_prints(Some("0:x:1:2:3")).is_err());
        assert!(read_prints(Some("garbage")).is_err());
    }

    #[test]
    fn the_cache_vouches_only_for_unmodified_partitions_and_merges_exactly() {
        let print = |id: &str, rows: i64, fp: &str| PartitionPrint {
            id: id.into(),
            rows,
            fingerprint: fp.into(),
        };
        let meta = |id: &str, rows: i64, modified: i64| PartitionMeta {
            id: id.into(),
            rows: Some(rows),
            modified: Some(modified),
        };
        let now = [
            meta("1", 10, 100),
            meta("2", 10, 205),
            meta("3", 5, 100),
            meta("4", 7, 300),
        ];
        let stored = [
            // Unchanged, read through a filter (3 of its 10 rows): still fresh.
            StoredPrint {
                print: print("1", 3, "1:2:3"),
                modified: 100,
                total_rows: Some(10),
            },
            // Modified since.
            StoredPrint {
                print: print("2", 10, "4:5:6"),
                modified: 200,
                total_rows: Some(10),
            },
            // Same time, other row count: not trusted.
            StoredPrint {
                print: print("3", 4, "7:8:9"),
                modified: 100,
                total_rows: Some(4),
            },
            // Gone from the table.
            StoredPrint {
                print: print("9", 1, "1:1:1"),
                modified: 100,
                total_rows: Some(1),
            },
        ];
        let fresh = fresh(&now, &stored);
        assert_eq!(fresh, [print("1", 3, "1:2:3")]);
        assert_eq!(stale(&now, &fresh), ["2", "3", "4"]);
        // A scan of the stale ones: stored with the times the metadata gave before it.
        let scanned = [
            print("2", 10, "4:5:7"),
            print("3", 5, "1:1:1"),
            print("4", 7, "0:0:9"),
        ];
        let kept = to_store(&now, &fresh, &scanned);
        assert_eq!(kept.len(), 4);
        assert!(kept
            .iter()
            .any(|k| k.print.id == "2" && k.modified == 205 && k.total_rows == Some(10)));
        // Merged: the sums of the partitions' sums, as one scan of all of them gives.
        let (all, rows, fp) = merge(&fresh, &scanned).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(rows, 25);
        assert_eq!(fp.as_deref(), Some("6:8:20"));
        assert_eq!(
            merge(&[], &[]).unwrap().2,
            None,
            "no rows: no fingerprint, as a scan gives"
        );
        assert!(merge(&[print("x", 1, "1:y:3")], &[]).is_err());
        // The metadata query names the table as a string literal.
        let t = crate::model::TableRef::parse("p.d.t", None).unwrap();
        assert!(metadata_sql(&t)
            .ends_with("FROM `p.d.INFORMATION_SCHEMA.PARTITIONS`\nWHERE table_name = 't'"));
    }

    #[test]
    fn only_a_tables_own_partition_ids_and_a_bounded_filter() {
        let range = parts(json!({"rangePartitioning": {"field": "n",
                "range": {"start": "-5", "end": "100", "interval": "10"}},
            "schema": {"fields": [{"name": "n", "type": "INTEGER"}]}}));
        // Bucket starts are -5, 5, 15, ..., 95: anything else is not an id of this table.
        assert!(range.only(&ids(&["5", "95"])).is_some());
        for bad in ["0", "6", "105", "-15", "9223372036854775807"] {
            assert_eq!(range.only(&ids(&[bad])), None, "{bad}");
        }
        // Past MAX_RANGES separate ranges, no filter (BigQuery's 1 MB query text).
        let daily = parts(json!({"timePartitioning": {"type": "DAY", "field": "d"},
            "schema": {"fields": [{"name": "d", "type": "DATE"}]}}));
        let every_other: Vec<String> = (0..(2 * MAX_RANGES as u64 + 2))
            .step_by(2)
            .map(|k| {
                (day("2000-01-01") + Days::new(k))
                    .format("%Y%m%d")
                    .to_string()
            })
            .collect();
        assert_eq!(daily.only(&every_other), None);
        assert!(daily.only(&every_other[..MAX_RANGES]).is_some());
        // Ingestion time is never partitioned alike: a partition is a load, not the data.
        let ingestion = parts(json!({"timePartitioning": {"type": "DAY"}}));
        assert!(!ingestion.same_as(&ingestion));
    }

    #[test]
    fn an_empty_partition_is_as_good_as_none() {
        let range = parts(json!({"rangePartitioning": {"field": "n",
                "range": {"start": "0", "end": "100", "interval": "10"}},
            "schema": {"fields": [{"name": "n", "type": "INTEGER"}]}}));
        let a = read_prints(Some("10:0:0:0:0,20:3:1:1:1")).unwrap();
        let b = read_prints(Some("20:3:1:1:1")).unwrap();
        assert_eq!(differing(&range, &a, &b), []);
        let (all, rows, _) = merge(&a, &[]).unwrap();
        assert_eq!((all.len(), rows), (1, 3));
        let huge = read_prints(Some("10:9223372036854775807:0:0:0,20:1:0:0:0")).unwrap();
        assert!(
            merge(&huge, &[]).is_err(),
            "an overflow is an error, not a panic"
        );
    }
}
