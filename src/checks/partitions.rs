//! `--partitions`: read only some partitions of time-partitioned tables, by a predicate on the
//! partition column that BigQuery prunes on (a comparison with a literal). Pure: the caller
//! gives the table's metadata and today's date.
//!
//! A spec is `since:7d` (the last 7 days, today included), `since:2026-11-01`, or
//! `2026-11-01..2026-11-28` (both days included). Dates are UTC days, computed by bqcheck, so
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
}

fn date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date: use YYYY-MM-DD"))
}

impl PartitionSpec {
    /// `since:7d`, `since:2026-11-01` or `2026-11-01..2026-11-28`.
    pub(crate) fn parse(s: &str) -> Result<PartitionSpec, String> {
        let s = s.trim();
        let usage = "use `since:7d`, `since:2026-11-01` or `2026-11-01..2026-11-28`";
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
    match sql_type {
        "DATE" => format!("DATE '{d}'"),
        "DATETIME" => format!("DATETIME '{d} 00:00:00'"),
        _ => format!("TIMESTAMP '{d} 00:00:00+00'"),
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
}
