//! Profile: the one query that profiles every column of a table (split only for very wide
//! tables), the reader of its result, anomaly rules and drift against a baseline. Pure.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{column_expr, groupable, leaves, numeric, orderable, quotable, selects};
use crate::model::TableRef;
use crate::warehouse::query::{int, text, Row};
use crate::warehouse::TableMeta;

/// Columns per query before a table is split (BigQuery limits query text and complexity).
pub(crate) const COLUMNS_PER_QUERY: usize = 120;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProfileColumn {
    pub(crate) path: String,
    pub(crate) parts: Vec<String>,
    pub(crate) col_type: String,
    pub(crate) repeated: bool,
    /// Exact distinct count wanted (id-like columns and the primary key).
    pub(crate) id_like: bool,
    /// Named `id` or in the primary key: must be unique.
    pub(crate) key_like: bool,
}

/// Is this column named like an identifier (`id`, `*_id`) or part of the primary key?
pub(crate) fn is_id_like(path: &str, pk: &[String]) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path).to_ascii_lowercase();
    last == "id" || last.ends_with("_id") || pk.iter().any(|k| k.eq_ignore_ascii_case(path))
}

/// The columns to profile (`--columns` restricts them) and those skipped, with why.
pub(crate) fn columns(
    meta: &TableMeta,
    only: Option<&[String]>,
) -> Result<(Vec<ProfileColumn>, Vec<String>), String> {
    let mut all = Vec::new();
    leaves(meta.fields(), &[], &mut all);
    if let Some(only) = only {
        for c in only {
            if !all.iter().any(|l| selects(c, &l.path)) {
                return Err(format!("--columns: no column `{c}`"));
            }
        }
    }
    let pk: Vec<String> = meta
        .primary_key()
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    let mut cols = Vec::new();
    let mut skipped = Vec::new();
    for l in all {
        if only.is_some_and(|o| !o.iter().any(|c| selects(c, &l.path))) {
            continue;
        }
        if !l.parts.iter().all(|p| quotable(p)) {
            skipped.push(format!("{}: name cannot be quoted safely", l.path));
            continue;
        }
        let last = l
            .parts
            .last()
            .map(|p| p.to_ascii_lowercase())
            .unwrap_or_default();
        cols.push(ProfileColumn {
            id_like: !l.repeated && groupable(&l.ty) && is_id_like(&l.path, &pk),
            // A top-level `id` (a nested `customer.id` is usually a foreign key) or the PK.
            key_like: !l.repeated
                && ((l.parts.len() == 1 && last == "id")
                    || pk.iter().any(|k| k.eq_ignore_ascii_case(&l.path))),
            path: l.path,
            parts: l.parts,
            col_type: l.ty,
            repeated: l.repeated,
        });
    }
    Ok((cols, skipped))
}

fn temporal_literals(t: &str) -> Option<(&'static str, &'static str)> {
    match t {
        "DATE" => Some(("CURRENT_DATE()", "DATE '1970-01-01'")),
        "DATETIME" => Some(("CURRENT_DATETIME()", "DATETIME '1970-01-01 00:00:00'")),
        "TIMESTAMP" => Some(("CURRENT_TIMESTAMP()", "TIMESTAMP '1970-01-01 00:00:00+00'")),
        _ => None,
    }
}

/// The select-list items for column `i`.
fn column_items(i: usize, c: &ProfileColumn) -> Vec<String> {
    let e = column_expr("t", &c.parts);
    let t = c.col_type.as_str();
    let mut s = Vec::new();
    if c.repeated {
        s.push(format!("MIN(ARRAY_LENGTH({e})) AS c{i}_array_min_length"));
        s.push(format!("MAX(ARRAY_LENGTH({e})) AS c{i}_array_max_length"));
        s.push(format!(
            "CAST(AVG(ARRAY_LENGTH({e})) AS STRING) AS c{i}_array_avg_length"
        ));
        s.push(format!(
            "COUNTIF(ARRAY_LENGTH({e}) = 0) AS c{i}_empty_arrays"
        ));
        s.push(format!("SUM(ARRAY_LENGTH({e})) AS c{i}_elements"));
        s.push(format!(
            "SUM((SELECT COUNTIF(x IS NULL) FROM UNNEST({e}) AS x)) AS c{i}_null_elements"
        ));
        s.push(format!(
            "APPROX_COUNT_DISTINCT(TO_JSON_STRING({e})) AS c{i}_distinct"
        ));
        if orderable(t) {
            s.push(format!(
                "TO_JSON_STRING(MIN((SELECT MIN(x) FROM UNNEST({e}) AS x))) AS c{i}_min"
            ));
            s.push(format!(
                "TO_JSON_STRING(MAX((SELECT MAX(x) FROM UNNEST({e}) AS x))) AS c{i}_max"
            ));
        }
        return s;
    }
    s.push(format!("COUNTIF({e} IS NULL) AS c{i}_nulls"));
    if groupable(t) {
        s.push(format!("APPROX_COUNT_DISTINCT({e}) AS c{i}_distinct"));
        s.push(format!(
            "TO_JSON_STRING(APPROX_TOP_COUNT({e}, 5)) AS c{i}_top"
        ));
    } else {
        s.push(format!(
            "APPROX_COUNT_DISTINCT(TO_JSON_STRING({e})) AS c{i}_distinct"
        ));
    }
    if c.id_like {
        s.push(format!("COUNT(DISTINCT {e}) AS c{i}_exact_distinct"));
    }
    if t == "FLOAT64" {
        // NaN orders differently on different engines and poisons every mean: it is counted
        // on its own, min and max skip it, and the moments and quantiles (below) see only
        // finite values.
        let not_nan = format!("IF(IS_NAN({e}), NULL, {e})");
        s.push(format!("TO_JSON_STRING(MIN({not_nan})) AS c{i}_min"));
        s.push(format!("TO_JSON_STRING(MAX({not_nan})) AS c{i}_max"));
        s.push(format!("COUNTIF(IS_NAN({e})) AS c{i}_nan_count"));
        s.push(format!("COUNTIF(IS_INF({e})) AS c{i}_inf_count"));
    } else if orderable(t) {
        s.push(format!("TO_JSON_STRING(MIN({e})) AS c{i}_min"));
        s.push(format!("TO_JSON_STRING(MAX({e})) AS c{i}_max"));
    }
    if numeric(t) {
        let (m, f) = if t == "FLOAT64" {
            let finite = format!("IF(IS_NAN({e}) OR IS_INF({e}), NULL, {e})");
            (finite.clone(), finite)
        } else {
            (e.clone(), format!("CAST({e} AS FLOAT64)"))
        };
        s.push(format!("CAST(AVG({m}) AS STRING) AS c{i}_mean"));
        s.push(format!("CAST(STDDEV({f}) AS STRING) AS c{i}_stddev"));
        s.push(format!("COUNTIF({e} = 0) AS c{i}_zeros"));
        s.push(format!("COUNTIF({e} < 0) AS c{i}_negatives"));
        s.push(format!(
            "TO_JSON_STRING(APPROX_QUANTILES({f}, 4)) AS c{i}_quantiles"
        ));
    }
    if matches!(t, "STRING" | "BYTES") {
        s.push(format!("MIN(LENGTH({e})) AS c{i}_min_length"));
        s.push(format!("MAX(LENGTH({e})) AS c{i}_max_length"));
        s.push(format!(
            "CAST(AVG(LENGTH({e})) AS STRING) AS c{i}_avg_length"
        ));
    }
    if t == "STRING" {
        s.push(format!("COUNTIF({e} = '') AS c{i}_empty_strings"));
        s.push(format!("COUNTIF({e} != TRIM({e})) AS c{i}_padded_strings"));
    }
    if t == "BOOL" {
        s.push(format!("COUNTIF({e}) AS c{i}_true"));
        s.push(format!("COUNTIF(NOT {e}) AS c{i}_false"));
    }
    if let Some((now, epoch)) = temporal_literals(t) {
        s.push(format!("COUNTIF({e} > {now}) AS c{i}_future"));
        s.push(format!("COUNTIF({e} < {epoch}) AS c{i}_before_1970"));
    }
    s
}

/// Columns in slices of at most [`COLUMNS_PER_QUERY`], one per query (one empty slice for
/// no columns: the row count still needs its query).
fn chunked<T>(indexed: &[T]) -> Vec<&[T]> {
    if indexed.is_empty() {
        vec![&[]]
    } else {
        indexed.chunks(COLUMNS_PER_QUERY).collect()
    }
}

/// The profiling query (one; several only for very wide tables). Column `i` of the table is
/// `c{i}_*` in whichever query holds it.
pub(crate) fn profile_sql(
    table: &TableRef,
    cols: &[ProfileColumn],
    where_clause: Option<&str>,
) -> Vec<String> {
    let from = match where_clause {
        Some(w) => format!("FROM {} AS t\nWHERE ({w})", table.sql_ident()),
        None => format!("FROM {} AS t", table.sql_ident()),
    };
    let indexed: Vec<(usize, &ProfileColumn)> = cols.iter().enumerate().collect();
    chunked(&indexed)
        .into_iter()
        .map(|chunk| {
            let mut items = vec!["COUNT(*) AS row_count".to_string()];
            for (i, c) in chunk {
                items.extend(column_items(*i, c));
            }
            format!("SELECT\n  {}\n{from}", items.join(",\n  "))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Per partition: the statistics a partition's values give the whole table's.
// ---------------------------------------------------------------------------------------

/// The column of a row's partition id in a grouped profile query.
pub(crate) const PARTITION_ID: &str = "_bqcheck_p";
/// 1 in the grand-total row of a grouped profile query, 0 in a partition's.
pub(crate) const TOTAL: &str = "_bqcheck_total";

/// How a statistic's per-partition values make the whole table's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Merge {
    Sum,
    Min,
    Max,
    /// `TO_JSON_STRING` of a value, ordered by the column's type.
    MinValue,
    MaxValue,
    /// A mean, weighted by the values it is over.
    Mean,
}

/// The merge of the statistic named `suffix` (`c3_{suffix}`); `None` for those a partition's
/// values cannot give (distinct counts, top values, quantiles, stddev, the clock-dependent
/// `future`): they need a scan of the whole table.
fn merge_of(suffix: &str) -> Option<Merge> {
    Some(match suffix {
        "nulls" | "nan_count" | "inf_count" | "zeros" | "negatives" | "empty_strings"
        | "padded_strings" | "true" | "false" | "before_1970" | "empty_arrays" | "elements"
        | "null_elements" => Merge::Sum,
        "min_length" | "array_min_length" => Merge::Min,
        "max_length" | "array_max_length" => Merge::Max,
        "min" => Merge::MinValue,
        "max" => Merge::MaxValue,
        "mean" | "avg_length" | "array_avg_length" => Merge::Mean,
        _ => return None,
    })
}

/// `c12_max_length` → (12, `max_length`).
fn split_key(key: &str) -> Option<(usize, &str)> {
    let rest = key.strip_prefix('c')?;
    let (i, suffix) = rest.split_once('_')?;
    Some((i.parse().ok()?, suffix))
}

/// The statistics that need a whole-table scan, for the report.
pub(crate) const NEEDS_FULL_SCAN: &str =
    "distinct counts, top values, quantiles, standard deviations and future dates";

/// The profile queries grouped by partition (`partition_id`: SQL for a row's partition id
/// over alias `t`). With `total`, `GROUP BY GROUPING SETS ((partition), ())`: one row per
/// partition with the statistics that merge (the others NULL there), and the grand-total
/// row with every statistic, in one scan. Without, only the partitions' rows and only the
/// statistics that merge.
pub(crate) fn profile_sql_by_partition(
    table: &TableRef,
    cols: &[ProfileColumn],
    where_clause: Option<&str>,
    partition_id: &str,
    total: bool,
) -> Vec<String> {
    let filter = where_clause
        .map(|w| format!("\n  WHERE ({w})"))
        .unwrap_or_default();
    let from = format!(
        "FROM (\n  SELECT *, {partition_id} AS {PARTITION_ID}\n  FROM {} AS t{filter}\n) AS t",
        table.sql_ident()
    );
    let indexed: Vec<(usize, &ProfileColumn)> = cols.iter().enumerate().collect();
    chunked(&indexed)
        .into_iter()
        .map(|chunk| {
            let mut items = vec![PARTITION_ID.to_string()];
            if total {
                items.push(format!("GROUPING({PARTITION_ID}) AS {TOTAL}"));
            }
            items.push("COUNT(*) AS row_count".into());
            for (i, c) in chunk {
                for item in column_items(*i, c) {
                    let Some((expr, alias)) = item.rsplit_once(" AS ") else {
                        continue;
                    };
                    let merges = split_key(alias).and_then(|(_, s)| merge_of(s)).is_some();
                    if merges {
                        items.push(item.clone());
                    } else if total {
                        items.push(format!(
                            "IF(GROUPING({PARTITION_ID}) = 0, NULL, {expr}) AS {alias}"
                        ));
                    }
                }
            }
            let group = if total {
                format!("GROUP BY GROUPING SETS (({PARTITION_ID}), ())")
            } else {
                format!("GROUP BY {PARTITION_ID}")
            };
            format!("SELECT\n  {}\n{from}\n{group}", items.join(",\n  "))
        })
        .collect()
}

/// A grouped profile's answer rows (of every query of a split profile): the grand-total row
/// (with every statistic), if asked for, and each partition's row (the statistics that
/// merge), by partition id.
pub(crate) fn split_partition_rows(
    rows: Vec<Row>,
) -> (Option<Row>, std::collections::BTreeMap<String, Row>) {
    let mut total: Option<Row> = None;
    let mut parts: std::collections::BTreeMap<String, Row> = Default::default();
    for mut r in rows {
        let is_total = int(&r, TOTAL) == Some(1);
        let id = text(&r, PARTITION_ID);
        r.remove(TOTAL);
        r.remove(PARTITION_ID);
        let into = if is_total {
            total.get_or_insert_with(Row::new)
        } else {
            match id {
                Some(id) => parts.entry(id).or_default(),
                None => continue,
            }
        };
        into.extend(r);
    }
    (total, parts)
}

/// Compare two `TO_JSON_STRING` values of a column of type `t`, as BigQuery orders them.
fn cmp_values(t: &str, a: &str, b: &str) -> std::cmp::Ordering {
    let unquote = |s: &str| match serde_json::from_str::<Value>(s) {
        Ok(Value::String(x)) => x,
        _ => s.to_string(),
    };
    let (x, y) = (unquote(a), unquote(b));
    match t {
        "INT64" | "NUMERIC" | "BIGNUMERIC" => cmp_decimal(&x, &y),
        "FLOAT64" => match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(p), Ok(q)) => p.total_cmp(&q),
            _ => x.cmp(&y),
        },
        // Base64 digits in value order: the bytes' order.
        "BYTES" => {
            let digits = |s: &str| -> Vec<i8> {
                s.bytes()
                    .map(|c| match c {
                        b'A'..=b'Z' => (c - b'A') as i8,
                        b'a'..=b'z' => (c - b'a' + 26) as i8,
                        b'0'..=b'9' => (c - b'0' + 52) as i8,
                        b'+' | b'-' => 62,
                        b'/' | b'_' => 63,
                        _ => -1,
                    })
                    .collect()
            };
            digits(&x).cmp(&digits(&y))
        }
        // Times with their fractions written out to the same length (`10:00:00Z` leaves
        // out `.0`, and sorts after `10:00:00.5Z` as text).
        "TIMESTAMP" | "DATETIME" | "TIME" => full_fraction(&x).cmp(&full_fraction(&y)),
        // Strings by code point (UTF-8 byte order); dates in ISO form.
        _ => x.cmp(&y),
    }
}

/// `2024-01-01T10:00:00.5Z` → `2024-01-01T10:00:00.500000000000Z`: the seconds (after the
/// second `:`) followed by a 12-digit fraction, so that times compare as text.
fn full_fraction(s: &str) -> String {
    let Some(secs) = s.match_indices(':').nth(1).map(|(i, _)| i + 3) else {
        return s.to_string();
    };
    let Some((head, rest)) = s.split_at_checked(secs) else {
        return s.to_string();
    };
    let (digits, tail) = match rest.strip_prefix('.') {
        Some(r) => {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            r.split_at(n)
        }
        None => ("", rest),
    };
    format!("{head}.{digits:0<12}{tail}")
}

/// Compare decimal numbers written out in full (`-12.5`, `900719925474099300`) exactly.
fn cmp_decimal(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn parts(s: &str) -> Option<(bool, String, String)> {
        let (neg, digits) = match s.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let int = int.trim_start_matches('0').to_string();
        let frac = frac.trim_end_matches('0').to_string();
        let zero = int.is_empty() && frac.is_empty();
        Some((neg && !zero, int, frac))
    }
    let (Some((na, ia, fa)), Some((nb, ib, fb))) = (parts(a), parts(b)) else {
        return match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(x), Ok(y)) => x.total_cmp(&y),
            _ => a.cmp(b),
        };
    };
    let magnitude = ia
        .len()
        .cmp(&ib.len())
        .then_with(|| ia.cmp(&ib))
        .then_with(|| fa.cmp(&fb));
    match (na, nb) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
    }
}

/// The whole table's row from its partitions' rows: the statistics that merge, merged
/// (sums, minimums and maximums in the column's order, means weighted by what they are
/// over). The others are absent: they need a whole-table scan.
pub(crate) fn merge_partitions(parts: &[&Row], cols: &[ProfileColumn]) -> Row {
    let rows = |r: &Row| int(r, "row_count").unwrap_or(0);
    let mut out = Row::new();
    let total: i64 = parts.iter().map(|r| rows(r)).fold(0, i64::saturating_add);
    out.insert("row_count".into(), Value::String(total.to_string()));
    let mut keys: Vec<&String> = parts.iter().flat_map(|r| r.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let Some((i, suffix)) = split_key(key) else {
            continue;
        };
        let (Some(rule), Some(col)) = (merge_of(suffix), cols.get(i)) else {
            continue;
        };
        let cell = |r: &Row| text(r, key);
        let merged: Option<String> = match rule {
            Merge::Sum => Some(
                parts
                    .iter()
                    .filter_map(|r| int(r, key))
                    .fold(0i64, i64::saturating_add)
                    .to_string(),
            ),
            Merge::Min => parts
                .iter()
                .filter_map(|r| int(r, key))
                .min()
                .map(|n| n.to_string()),
            Merge::Max => parts
                .iter()
                .filter_map(|r| int(r, key))
                .max()
                .map(|n| n.to_string()),
            Merge::MinValue => parts
                .iter()
                .filter_map(|r| cell(r))
                .min_by(|a, b| cmp_values(&col.col_type, a, b)),
            Merge::MaxValue => parts
                .iter()
                .filter_map(|r| cell(r))
                .max_by(|a, b| cmp_values(&col.col_type, a, b)),
            Merge::Mean => {
                // What the mean is over: the non-NULL (and, for FLOAT64, finite) values; an
                // array's length is over every row.
                let weight = |r: &Row| -> i64 {
                    let k = |s: &str| int(r, &format!("c{i}_{s}")).unwrap_or(0);
                    let all = rows(r);
                    if suffix == "array_avg_length" {
                        all
                    } else if suffix == "mean" && col.col_type == "FLOAT64" {
                        all.saturating_sub(k("nulls"))
                            .saturating_sub(k("nan_count"))
                            .saturating_sub(k("inf_count"))
                    } else {
                        all.saturating_sub(k("nulls"))
                    }
                };
                let (mut sum, mut n) = (0.0, 0f64);
                for r in parts {
                    if let Some(m) = text(r, key).and_then(|s| s.parse::<f64>().ok()) {
                        let w = weight(r) as f64;
                        sum += m * w;
                        n += w;
                    }
                }
                (n > 0.0).then(|| (sum / n).to_string())
            }
        };
        if let Some(v) = merged {
            out.insert(key.clone(), Value::String(v));
        }
    }
    out
}

/// A partition's mergeable statistics as the per-partition record keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredPartition {
    pub(crate) id: String,
    /// The partition's `last_modified_time` before the scan that read it (ms).
    pub(crate) modified: i64,
    pub(crate) total_rows: Option<i64>,
    pub(crate) row: Row,
}

/// A value with its count (top values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TopValue {
    pub(crate) value: Value,
    pub(crate) count: i64,
}

/// Everything measured about one column. Fields that do not apply are absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ColumnProfile {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) col_type: String,
    pub(crate) mode: String,
    pub(crate) count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nulls: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) null_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) distinct: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exact_distinct: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) min: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max: Option<Value>,
    /// FLOAT64: NaN values (left out of min, max, mean, stddev and quantiles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nan_count: Option<i64>,
    /// FLOAT64: +Inf and -Inf values (left out of mean, stddev and quantiles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) inf_count: Option<i64>,
    /// Over finite values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mean: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stddev: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) zeros: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) negatives: Option<i64>,
    /// p0, p25, p50, p75, p100 (approximate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) quantiles: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) min_length: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_length: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) avg_length: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) empty_strings: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) padded_strings: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) true_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) false_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) future: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) before_1970: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) top_values: Vec<TopValue>,
    /// Named `id` or part of the primary key: duplicates are an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) key_like: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) array: Option<ArrayProfile>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ArrayProfile {
    pub(crate) min_length: Option<i64>,
    pub(crate) max_length: Option<i64>,
    pub(crate) avg_length: Option<f64>,
    pub(crate) empty: Option<i64>,
    pub(crate) elements: Option<i64>,
    pub(crate) null_elements: Option<i64>,
}

fn float(row: &Row, key: &str) -> Option<f64> {
    text(row, key).and_then(|s| s.parse().ok())
}

/// A `TO_JSON_STRING` cell. Text that is not JSON (the emulator writes ±Infinity and NaN
/// bare; BigQuery quotes them) is kept as a string.
fn json_cell(row: &Row, key: &str) -> Option<Value> {
    text(row, key)
        .map(|s| serde_json::from_str(&s).unwrap_or(Value::String(s)))
        .filter(|v: &Value| !v.is_null())
}

/// Read the profiling query's row(s) into column profiles.
pub(crate) fn read_profile(rows: &[Row], cols: &[ProfileColumn]) -> (i64, Vec<ColumnProfile>) {
    let row_count = rows.first().and_then(|r| int(r, "row_count")).unwrap_or(0);
    let find = |key: &str| rows.iter().find(|r| r.contains_key(key));
    let profiles = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let k = |s: &str| format!("c{i}_{s}");
            let empty = Row::new();
            // A row merged from partitions has no distinct count: its one row has the rest.
            let row = find(&k("distinct"))
                .or_else(|| {
                    rows.iter()
                        .find(|r| r.keys().any(|key| key.starts_with(&k(""))))
                })
                .unwrap_or(&empty);
            let mut p = ColumnProfile {
                name: c.path.clone(),
                col_type: c.col_type.clone(),
                mode: if c.repeated { "REPEATED" } else { "NULLABLE" }.into(),
                key_like: c.key_like,
                count: row_count,
                distinct: int(row, &k("distinct")),
                exact_distinct: int(row, &k("exact_distinct")),
                min: json_cell(row, &k("min")),
                max: json_cell(row, &k("max")),
                nan_count: int(row, &k("nan_count")),
                inf_count: int(row, &k("inf_count")),
                mean: float(row, &k("mean")),
                stddev: float(row, &k("stddev")),
                zeros: int(row, &k("zeros")),
                negatives: int(row, &k("negatives")),
                quantiles: json_cell(row, &k("quantiles"))
                    .and_then(|v| serde_json::from_value(v).ok()),
                min_length: int(row, &k("min_length")),
                max_length: int(row, &k("max_length")),
                avg_length: float(row, &k("avg_length")),
                empty_strings: int(row, &k("empty_strings")),
                padded_strings: int(row, &k("padded_strings")),
                true_count: int(row, &k("true")),
                false_count: int(row, &k("false")),
                future: int(row, &k("future")),
                before_1970: int(row, &k("before_1970")),
                top_values: json_cell(row, &k("top"))
                    .and_then(|v| serde_json::from_value(v).ok())
                    .unwrap_or_default(),
                ..ColumnProfile::default()
            };
            if c.repeated {
                p.array = Some(ArrayProfile {
                    min_length: int(row, &k("array_min_length")),
                    max_length: int(row, &k("array_max_length")),
                    avg_length: float(row, &k("array_avg_length")),
                    empty: int(row, &k("empty_arrays")),
                    elements: int(row, &k("elements")),
                    null_elements: int(row, &k("null_elements")),
                });
            } else {
                p.nulls = int(row, &k("nulls"));
                p.null_rate = p.nulls.map(|n| {
                    if row_count > 0 {
                        n as f64 / row_count as f64
                    } else {
                        0.0
                    }
                });
            }
            p
        })
        .collect();
    (row_count, profiles)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Info,
    Warning,
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// One finding: what, where, the evidence, and why it matters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Anomaly {
    pub(crate) severity: Severity,
    pub(crate) rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) column: Option<String>,
    pub(crate) evidence: String,
    pub(crate) explanation: String,
}

fn anomaly(
    severity: Severity,
    rule: &str,
    column: Option<&str>,
    evidence: String,
    explanation: &str,
) -> Anomaly {
    Anomaly {
        severity,
        rule: rule.into(),
        column: column.map(String::from),
        evidence,
        explanation: explanation.into(),
    }
}

/// Thresholds for the anomaly rules and drift (each a flag).
#[derive(Debug, Clone)]
pub(crate) struct Thresholds {
    /// Null rate above which a column is flagged (0..1).
    pub(crate) null_rate: f64,
    /// IQR multiple beyond the quartiles that counts as an outlier.
    pub(crate) outlier_iqr: f64,
    /// Days without modification after which a table is stale.
    pub(crate) stale_after_days: f64,
    /// Relative row-count change flagged by drift.
    pub(crate) drift_rows: f64,
    /// Absolute null-rate change flagged by drift.
    pub(crate) drift_null_rate: f64,
    /// Relative distinct-count change flagged by drift.
    pub(crate) drift_distinct: f64,
    /// Mean shift, in baseline standard deviations, flagged by drift.
    pub(crate) drift_mean_stddevs: f64,
    /// The rows were filtered by `--where`: "empty" means no row matched.
    pub(crate) filtered: bool,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            null_rate: 0.5,
            outlier_iqr: 3.0,
            stale_after_days: 30.0,
            drift_rows: 0.1,
            drift_null_rate: 0.1,
            drift_distinct: 0.2,
            drift_mean_stddevs: 3.0,
            filtered: false,
        }
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The anomaly rules over one table's profile. `now_ms` is the current time (ms since epoch).
pub(crate) fn detect(
    row_count: i64,
    cols: &[ColumnProfile],
    meta: &TableMeta,
    th: &Thresholds,
    now_ms: i64,
) -> Vec<Anomaly> {
    let mut out = Vec::new();
    if row_count == 0 {
        out.push(if th.filtered {
            anomaly(
                Severity::Error,
                "empty_table",
                None,
                "0 rows match --where".into(),
                "no row matches the --where predicate; consumers of that slice will see nothing",
            )
        } else {
            anomaly(
                Severity::Error,
                "empty_table",
                None,
                "0 rows".into(),
                "the table has no rows; downstream consumers will see nothing",
            )
        });
    }
    if let Some(modified) = meta.last_modified_time {
        let days = (now_ms - modified) as f64 / 86_400_000.0;
        if days > th.stale_after_days {
            out.push(anomaly(
                Severity::Warning,
                "stale_table",
                None,
                format!(
                    "last modified {days:.0} days ago (threshold {} days)",
                    th.stale_after_days
                ),
                "the pipeline that writes this table may have stopped",
            ));
        }
    }
    if row_count == 0 {
        return out;
    }
    for c in cols {
        let col = Some(c.name.as_str());
        let non_null = row_count - c.nulls.unwrap_or(0);
        if let Some(n) = c.nulls {
            if n == row_count {
                out.push(anomaly(
                    Severity::Warning,
                    "all_null",
                    col,
                    format!("{n} of {row_count} values are NULL"),
                    "the column carries no data",
                ));
                continue;
            }
            let rate = c.null_rate.unwrap_or(0.0);
            if rate > th.null_rate {
                out.push(anomaly(
                    Severity::Warning,
                    "high_null_rate",
                    col,
                    format!(
                        "null rate {} ({n} of {row_count}), threshold {}",
                        pct(rate),
                        pct(th.null_rate)
                    ),
                    "more values are missing than the null-rate threshold allows",
                ));
            }
        }
        if c.distinct == Some(1) && non_null > 1 && c.array.is_none() {
            out.push(anomaly(
                Severity::Info,
                "constant_column",
                col,
                format!(
                    "one distinct value ({}) in {non_null} rows",
                    c.min.as_ref().map(Value::to_string).unwrap_or_default()
                ),
                "a constant column adds nothing; it may be a default that was never filled",
            ));
        }
        if let Some(exact) = c.exact_distinct.filter(|&e| e < non_null) {
            let dups = non_null - exact;
            let evidence =
                format!("{dups} duplicate value(s): {exact} distinct among {non_null} non-null");
            if c.key_like {
                out.push(anomaly(
                    Severity::Error,
                    "duplicate_ids",
                    col,
                    evidence,
                    "an `id` column or primary key should be unique",
                ));
            } else if exact as f64 >= 0.9 * non_null as f64 {
                // `*_id` columns are often foreign keys (duplicates expected); a column that is
                // almost unique is more likely an id with a few accidental duplicates.
                out.push(anomaly(
                    Severity::Warning,
                    "duplicate_ids",
                    col,
                    evidence,
                    "an almost-unique id column has a few duplicates",
                ));
            }
        }
        if let Some(q) = c.quantiles.as_ref().filter(|q| q.len() == 5) {
            let iqr = q[3] - q[1];
            let (lo, hi) = (q[1] - th.outlier_iqr * iqr, q[3] + th.outlier_iqr * iqr);
            let num = |v: &Option<Value>| {
                v.as_ref().and_then(|v| {
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
            };
            let (mn, mx) = (num(&c.min), num(&c.max));
            if iqr > 0.0 && (mn.is_some_and(|m| m < lo) || mx.is_some_and(|m| m > hi)) {
                out.push(anomaly(
                    Severity::Warning,
                    "outliers",
                    col,
                    format!(
                        "min {} / max {} outside [{lo}, {hi}] (quartiles {} – {}, {}×IQR)",
                        mn.map(|v| v.to_string()).unwrap_or_default(),
                        mx.map(|v| v.to_string()).unwrap_or_default(),
                        q[1],
                        q[3],
                        th.outlier_iqr
                    ),
                    "extreme values far beyond the quartiles are often unit or parsing errors",
                ));
            }
        }
        if let Some(n) = c.future.filter(|&n| n > 0) {
            out.push(anomaly(
                Severity::Warning,
                "future_dates",
                col,
                format!("{n} value(s) after now"),
                "dates in the future usually mean a time zone or parsing error",
            ));
        }
        if let Some(n) = c.before_1970.filter(|&n| n > 0) {
            out.push(anomaly(
                Severity::Warning,
                "dates_before_1970",
                col,
                format!("{n} value(s) before 1970-01-01"),
                "very old dates are often epoch-zero defaults or placeholders",
            ));
        }
        if let Some(n) = c.empty_strings.filter(|&n| n > 0 && n < non_null) {
            out.push(anomaly(Severity::Warning, "empty_strings", col, format!("{n} empty string(s) among {non_null} values"), "empty strings in a column that otherwise has text are usually missing values in disguise"));
        }
        if let Some(n) = c.padded_strings.filter(|&n| n > 0 && n < non_null) {
            out.push(anomaly(
                Severity::Warning,
                "whitespace_padded",
                col,
                format!("{n} value(s) with leading or trailing whitespace among {non_null}"),
                "padded values break joins and equality filters",
            ));
        }
    }
    out
}

/// Drift of a profile against a baseline profile of the same table.
pub(crate) fn drift(
    row_count: i64,
    cols: &[ColumnProfile],
    base_rows: i64,
    base: &[ColumnProfile],
    th: &Thresholds,
) -> Vec<Anomaly> {
    let mut out = Vec::new();
    let rel = |now: f64, before: f64| {
        if before == 0.0 {
            if now == 0.0 {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            (now - before).abs() / before.abs()
        }
    };
    let r = rel(row_count as f64, base_rows as f64);
    if r > th.drift_rows {
        out.push(anomaly(
            Severity::Warning,
            "drift_row_count",
            None,
            format!(
                "{base_rows} → {row_count} rows ({}), threshold {}",
                if r.is_finite() {
                    pct(r)
                } else {
                    "from 0".into()
                },
                pct(th.drift_rows)
            ),
            "the table grew or shrank more than usual",
        ));
    }
    for b in base {
        let Some(c) = cols.iter().find(|c| c.name.eq_ignore_ascii_case(&b.name)) else {
            out.push(anomaly(
                Severity::Error,
                "drift_column_removed",
                Some(&b.name),
                "in the baseline, not now".into(),
                "consumers of this column will break",
            ));
            continue;
        };
        let col = Some(c.name.as_str());
        if let (Some(now), Some(before)) = (c.null_rate, b.null_rate) {
            if (now - before).abs() > th.drift_null_rate {
                out.push(anomaly(
                    Severity::Warning,
                    "drift_null_rate",
                    col,
                    format!(
                        "null rate {} → {}, threshold ±{}",
                        pct(before),
                        pct(now),
                        pct(th.drift_null_rate)
                    ),
                    "a change in missing values often means an upstream change",
                ));
            }
        }
        if let (Some(now), Some(before)) = (c.distinct, b.distinct) {
            let r = rel(now as f64, before as f64);
            if r > th.drift_distinct {
                out.push(anomaly(
                    Severity::Warning,
                    "drift_distinct",
                    col,
                    format!(
                        "distinct {before} → {now}, threshold {}",
                        pct(th.drift_distinct)
                    ),
                    "the set of values changed noticeably",
                ));
            }
        }
        if let (Some(now), Some(before), Some(sd)) = (c.mean, b.mean, b.stddev) {
            if sd > 0.0 && (now - before).abs() / sd > th.drift_mean_stddevs {
                out.push(anomaly(
                    Severity::Warning,
                    "drift_mean",
                    col,
                    format!(
                        "mean {before} → {now} ({:.1} baseline stddevs), threshold {}",
                        (now - before).abs() / sd,
                        th.drift_mean_stddevs
                    ),
                    "the distribution moved",
                ));
            }
        }
    }
    for c in cols {
        if !base.iter().any(|b| b.name.eq_ignore_ascii_case(&c.name)) {
            out.push(anomaly(
                Severity::Info,
                "drift_column_added",
                Some(&c.name),
                "new since the baseline".into(),
                "a new column appeared",
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{f, table as meta};
    use crate::warehouse::model::{PrimaryKey, TableConstraints};
    use crate::warehouse::Field;
    use serde_json::json;

    #[test]
    fn columns_flatten_records_and_mark_ids() {
        let mut m = meta(vec![
            f("id", "INTEGER"),
            f("user_id", "INT64"),
            f("code", "STRING"),
            Field {
                fields: vec![f("zip", "STRING")],
                ..f("addr", "RECORD")
            },
            Field {
                mode: Some("REPEATED".into()),
                ..f("tags", "STRING")
            },
        ]);
        m.table_constraints = Some(TableConstraints {
            primary_key: Some(PrimaryKey {
                columns: vec!["code".into()],
            }),
        });
        let (cols, skipped) = columns(&m, None).unwrap();
        let got: Vec<_> = cols
            .iter()
            .map(|c| (c.path.as_str(), c.id_like, c.key_like, c.repeated))
            .collect();
        assert_eq!(
            got,
            vec![
                ("id", true, true, false),
                ("user_id", true, false, false),
                ("code", true, true, false),
                ("addr.zip", false, false, false),
                ("tags", false, false, true)
            ]
        );
        assert!(skipped.is_empty());
        assert!(columns(&m, Some(&["nope".into()])).is_err());
        assert_eq!(columns(&m, Some(&["tags".into()])).unwrap().0.len(), 1);
    }

    #[test]
    fn one_query_with_every_metric() {
        let m = meta(vec![
            f("id", "INT64"),
            f("s", "STRING"),
            f("b", "BOOL"),
            f("ts", "TIMESTAMP"),
            Field {
                mode: Some("REPEATED".into()),
                ..f("tags", "STRING")
            },
        ]);
        let (cols, _) = columns(&m, None).unwrap();
        let t = TableRef {
            project: "p".into(),
            dataset: "d".into(),
            table: "t".into(),
        };
        let q = profile_sql(&t, &cols, Some("t.`id` > 0"));
        assert_eq!(q.len(), 1);
        let sql = &q[0];
        for needle in [
            "COUNT(*) AS row_count",
            "COUNTIF(t.`id` IS NULL) AS c0_nulls",
            "COUNT(DISTINCT t.`id`) AS c0_exact_distinct",
            "TO_JSON_STRING(APPROX_QUANTILES(CAST(t.`id` AS FLOAT64), 4)) AS c0_quantiles",
            "COUNTIF(t.`s` != TRIM(t.`s`)) AS c1_padded_strings",
            "COUNTIF(t.`b`) AS c2_true",
            "COUNTIF(t.`ts` > CURRENT_TIMESTAMP()) AS c3_future",
            "COUNTIF(ARRAY_LENGTH(t.`tags`) = 0) AS c4_empty_arrays",
            "TO_JSON_STRING(APPROX_TOP_COUNT(t.`s`, 5)) AS c1_top",
            "FROM `p.d.t` AS t\nWHERE (t.`id` > 0)",
        ] {
            assert!(sql.contains(needle), "missing {needle} in {sql}");
        }
    }

    #[test]
    fn wide_tables_split_into_several_queries() {
        let fields: Vec<Field> = (0..(COLUMNS_PER_QUERY + 5))
            .map(|i| f(&format!("c{i}"), "STRING"))
            .collect();
        let (cols, _) = columns(&meta(fields), None).unwrap();
        let t = TableRef {
            project: "p".into(),
            dataset: "d".into(),
            table: "t".into(),
        };
        let q = profile_sql(&t, &cols, None);
        assert_eq!(q.len(), 2);
        assert!(q[1].contains(&format!("c{}_nulls", COLUMNS_PER_QUERY)));
    }

    fn num_col(name: &str, q: [f64; 5]) -> ColumnProfile {
        ColumnProfile {
            name: name.into(),
            col_type: "FLOAT64".into(),
            nulls: Some(0),
            null_rate: Some(0.0),
            distinct: Some(10),
            min: Some(json!(q[0])),
            max: Some(json!(q[4])),
            quantiles: Some(q.to_vec()),
            mean: Some(5.0),
            stddev: Some(1.0),
            ..ColumnProfile::default()
        }
    }

    fn rules(a: &[Anomaly]) -> Vec<(&str, Severity)> {
        a.iter().map(|a| (a.rule.as_str(), a.severity)).collect()
    }

    #[test]
    fn every_rule_fires_and_a_clean_table_is_clean() {
        let th = Thresholds::default();
        let m = TableMeta {
            last_modified_time: Some(0),
            ..TableMeta::default()
        };
        let now = 100 * 86_400_000;
        let clean = vec![num_col("x", [1.0, 4.0, 5.0, 6.0, 9.0])];
        assert!(detect(
            10,
            &clean,
            &TableMeta {
                last_modified_time: Some(now),
                ..TableMeta::default()
            },
            &th,
            now
        )
        .is_empty());
        assert_eq!(
            rules(&detect(0, &[], &m, &th, now)),
            vec![
                ("empty_table", Severity::Error),
                ("stale_table", Severity::Warning)
            ]
        );
        let cols = vec![
            ColumnProfile {
                name: "n".into(),
                nulls: Some(10),
                null_rate: Some(1.0),
                ..Default::default()
            },
            ColumnProfile {
                name: "h".into(),
                nulls: Some(6),
                null_rate: Some(0.6),
                ..Default::default()
            },
            ColumnProfile {
                name: "k".into(),
                nulls: Some(0),
                distinct: Some(1),
                min: Some(json!("x")),
                ..Default::default()
            },
            ColumnProfile {
                name: "id".into(),
                nulls: Some(0),
                exact_distinct: Some(8),
                key_like: true,
                ..Default::default()
            },
            // A foreign key with many repeats is not flagged; an almost-unique one is.
            ColumnProfile {
                name: "user_id".into(),
                nulls: Some(0),
                exact_distinct: Some(3),
                ..Default::default()
            },
            ColumnProfile {
                name: "order_id".into(),
                nulls: Some(0),
                exact_distinct: Some(9),
                ..Default::default()
            },
            num_col("o", [1.0, 4.0, 5.0, 6.0, 1000.0]),
            ColumnProfile {
                name: "d".into(),
                nulls: Some(0),
                future: Some(1),
                before_1970: Some(2),
                ..Default::default()
            },
            ColumnProfile {
                name: "s".into(),
                nulls: Some(0),
                empty_strings: Some(1),
                padded_strings: Some(2),
                ..Default::default()
            },
        ];
        let found = detect(10, &cols, &TableMeta::default(), &th, now);
        let got = rules(&found);
        assert_eq!(
            got,
            vec![
                ("all_null", Severity::Warning),
                ("high_null_rate", Severity::Warning),
                ("constant_column", Severity::Info),
                ("duplicate_ids", Severity::Error),
                ("duplicate_ids", Severity::Warning),
                ("outliers", Severity::Warning),
                ("future_dates", Severity::Warning),
                ("dates_before_1970", Severity::Warning),
                ("empty_strings", Severity::Warning),
                ("whitespace_padded", Severity::Warning),
            ]
        );
        // Empty strings in a column of only empty strings are not "otherwise none".
        let all_empty = vec![ColumnProfile {
            name: "s".into(),
            nulls: Some(0),
            empty_strings: Some(10),
            ..Default::default()
        }];
        assert!(detect(10, &all_empty, &TableMeta::default(), &th, now).is_empty());
    }

    #[test]
    fn drift_against_a_baseline() {
        let th = Thresholds::default();
        let base = vec![
            ColumnProfile {
                name: "a".into(),
                null_rate: Some(0.0),
                distinct: Some(100),
                mean: Some(10.0),
                stddev: Some(1.0),
                ..Default::default()
            },
            ColumnProfile {
                name: "gone".into(),
                ..Default::default()
            },
        ];
        let now = vec![
            ColumnProfile {
                name: "a".into(),
                null_rate: Some(0.3),
                distinct: Some(50),
                mean: Some(20.0),
                ..Default::default()
            },
            ColumnProfile {
                name: "new".into(),
                ..Default::default()
            },
        ];
        let found = drift(150, &now, 100, &base, &th);
        let got = rules(&found);
        assert_eq!(
            got,
            vec![
                ("drift_row_count", Severity::Warning),
                ("drift_null_rate", Severity::Warning),
                ("drift_distinct", Severity::Warning),
                ("drift_mean", Severity::Warning),
                ("drift_column_removed", Severity::Error),
                ("drift_column_added", Severity::Info),
            ]
        );
        assert!(drift(100, &base, 100, &base, &th).is_empty());
    }

    #[test]
    fn a_grouped_profile_is_one_scan_with_the_total_and_each_partition() {
        let m = meta(vec![f("id", "INT64"), f("s", "STRING"), f("x", "FLOAT64")]);
        let (cols, _) = columns(&m, None).unwrap();
        let t = TableRef::parse("p.d.t", None).unwrap();
        let with_total = profile_sql_by_partition(&t, &cols, Some("t.`id` > 0"), "PID", true);
        assert_eq!(with_total.len(), 1);
        let q = &with_total[0];
        assert_eq!(q.matches("FROM `p.d.t`").count(), 1, "{q}");
        assert!(
            q.contains("SELECT *, PID AS _bqcheck_p\n  FROM `p.d.t` AS t\n  WHERE (t.`id` > 0)"),
            "{q}"
        );
        assert!(
            q.ends_with("GROUP BY GROUPING SETS ((_bqcheck_p), ())"),
            "{q}"
        );
        // What merges is computed per partition; the rest only in the total row.
        assert!(q.contains("  COUNTIF(t.`s` IS NULL) AS c1_nulls,"), "{q}");
        assert!(
            q.contains(
                "IF(GROUPING(_bqcheck_p) = 0, NULL, APPROX_COUNT_DISTINCT(t.`s`)) AS c1_distinct"
            ),
            "{q}"
        );
        assert!(
            q.contains("IF(GROUPING(_bqcheck_p) = 0, NULL, TO_JSON_STRING(APPROX_QUANTILES("),
            "{q}"
        );
        let only = profile_sql_by_partition(&t, &cols, None, "PID", false);
        assert!(only[0].ends_with("GROUP BY _bqcheck_p"));
        assert!(
            !only[0].contains("distinct") && !only[0].contains("GROUPING"),
            "{}",
            only[0]
        );
        assert!(only[0].contains("AS c2_mean"));
        let (total, parts) = split_partition_rows(vec![
            serde_json::from_value(
                json!({"_bqcheck_p": "20240101", "_bqcheck_total": "0", "row_count": "2"}),
            )
            .unwrap(),
            serde_json::from_value(
                json!({"_bqcheck_p": null, "_bqcheck_total": "1", "row_count": "5"}),
            )
            .unwrap(),
            serde_json::from_value(
                json!({"_bqcheck_p": "20240102", "_bqcheck_total": "0", "row_count": "3"}),
            )
            .unwrap(),
        ]);
        assert_eq!(total.and_then(|r| int(&r, "row_count")), Some(5));
        assert_eq!(parts.keys().collect::<Vec<_>>(), ["20240101", "20240102"]);
        assert!(!parts["20240101"].contains_key("_bqcheck_p"));
    }

    #[test]
    fn partitions_merge_into_the_whole_tables_statistics() {
        let m = meta(vec![
            f("n", "NUMERIC"),
            f("x", "FLOAT64"),
            f("s", "STRING"),
            f("b", "BYTES"),
            Field {
                mode: Some("REPEATED".into()),
                ..f("tags", "INT64")
            },
        ]);
        let (cols, _) = columns(&m, None).unwrap();
        let row = |v: Value| -> Row { serde_json::from_value(v).unwrap() };
        // Partition 1: 4 rows; partition 2: 6 rows.
        let p1 = row(json!({"row_count": "4",
            "c0_nulls": "1", "c0_min": "-12345678901234567890.5", "c0_max": "9.25", "c0_mean": "2.0",
            "c1_nulls": "0", "c1_nan_count": "1", "c1_inf_count": "1", "c1_min": "-1.5", "c1_max": "1e+20", "c1_mean": "3.0",
            "c2_nulls": "2", "c2_min": "\"Zebra\"", "c2_max": "\"zz\"", "c2_avg_length": "4.0", "c2_min_length": "2", "c2_max_length": "6",
            "c3_min": "\"+w==\"", "c3_max": "\"+w==\"",
            "c4_array_avg_length": "1.0", "c4_elements": "4", "c4_empty_arrays": "1"}));
        let p2 = row(json!({"row_count": "6",
            "c0_nulls": "0", "c0_min": "-9", "c0_max": "10", "c0_mean": "8.0",
            "c1_nulls": "2", "c1_nan_count": "0", "c1_inf_count": "0", "c1_min": "-2", "c1_max": "3.5", "c1_mean": "6.0",
            "c2_nulls": "0", "c2_min": "\"apple\"", "c2_max": "\"é\"", "c2_avg_length": "1.0", "c2_min_length": "1", "c2_max_length": "3",
            "c3_min": "\"AA==\"", "c3_max": "\"AQ==\"",
            "c4_array_avg_length": "2.0", "c4_elements": "12", "c4_empty_arrays": "0"}));
        let merged = merge_partitions(&[&p1, &p2], &cols);
        let get = |k: &str| text(&merged, k).unwrap_or_else(|| panic!("{k} in {merged:?}"));
        assert_eq!(get("row_count"), "10");
        assert_eq!(get("c0_nulls"), "1");
        // NUMERIC ordered exactly, not as a float.
        assert_eq!(get("c0_min"), "-12345678901234567890.5");
        assert_eq!(get("c0_max"), "10");
        // Means weighted by what each is over: NUMERIC 3 and 6 values ((3 × 2 + 6 × 8) / 9);
        // FLOAT64 finite values
        // 2 (4 - 1 NaN - 1 Inf) and 4 (6 - 2 NULL).
        assert_eq!(get("c0_mean"), "6");
        assert_eq!(get("c1_mean"), "5");
        assert_eq!(get("c1_max"), "1e+20");
        assert_eq!(get("c1_min"), "-2");
        // Strings by code point: "Zebra" < "apple" < "zz" < "é".
        assert_eq!(get("c2_min"), "\"Zebra\"");
        assert_eq!(get("c2_max"), "\"é\"");
        // avg length over the non-NULL values: (2 × 4.0 + 6 × 1.0) / 8.
        assert_eq!(get("c2_avg_length"), "1.75");
        assert_eq!(
            (get("c2_min_length"), get("c2_max_length")),
            ("1".into(), "6".into())
        );
        // BYTES by their bytes, 0x00 < 0x01 < 0xfb (base64 AA==, AQ==, +w==), not by the
        // base64 text (in ASCII, + sorts before A).
        assert_eq!(
            (get("c3_min"), get("c3_max")),
            ("\"AA==\"".into(), "\"+w==\"".into())
        );
        // An array's mean length is over every row: (4 × 1 + 6 × 2) / 10.
        assert_eq!(get("c4_array_avg_length"), "1.6");
        assert_eq!(get("c4_elements"), "16");
        // What needs a whole-table scan is absent, and read_profile reads the merged row.
        assert!(!merged.contains_key("c0_distinct"));
        let (n, p) = read_profile(&[merged], &cols);
        assert_eq!(n, 10);
        assert_eq!(p[0].nulls, Some(1));
        assert_eq!(p[0].distinct, None);
        assert_eq!(p[2].min, Some(json!("Zebra")));
    }

    #[test]
    fn times_compare_by_value_whatever_their_fraction() {
        use std::cmp::Ordering::*;
        for (t, a, b, want) in [
            (
                "TIMESTAMP",
                "\"2024-01-01T10:00:00Z\"",
                "\"2024-01-01T10:00:00.5Z\"",
                Less,
            ),
            (
                "TIMESTAMP",
                "\"2024-01-01T10:00:00.25Z\"",
                "\"2024-01-01T10:00:00.250Z\"",
                Equal,
            ),
            (
                "TIMESTAMP",
                "\"2024-01-01 10:00:01+00\"",
                "\"2024-01-01 10:00:00.999999+00\"",
                Greater,
            ),
            (
                "DATETIME",
                "\"2024-01-01T10:00:00\"",
                "\"2024-01-01T09:59:59.9\"",
                Greater,
            ),
            ("TIME", "\"10:00:00\"", "\"10:00:00.000001\"", Less),
            ("DATE", "\"2024-01-02\"", "\"2024-01-10\"", Less),
        ] {
            assert_eq!(cmp_values(t, a, b), want, "{t} {a} {b}");
        }
    }

    #[test]
    fn decimals_compare_exactly() {
        use std::cmp::Ordering::*;
        for (a, b, want) in [
            ("9007199254740993", "9007199254740992", Greater),
            ("-0.5", "0", Less),
            ("-0", "0", Equal),
            ("0010.50", "10.5", Equal),
            ("-10", "-9", Less),
            (
                "123456789012345678901234567890.000000001",
                "123456789012345678901234567890",
                Greater,
            ),
            ("1e3", "999", Greater),
        ] {
            assert_eq!(cmp_decimal(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn reads_the_result_row() {
        let m = meta(vec![
            f("id", "INT64"),
            Field {
                mode: Some("REPEATED".into()),
                ..f("tags", "STRING")
            },
        ]);
        let (cols, _) = columns(&m, None).unwrap();
        let row: Row = serde_json::from_value(json!({
            "row_count": "4", "c0_nulls": "1", "c0_distinct": "3", "c0_exact_distinct": "3", "c0_min": "1", "c0_max": "9",
            "c0_mean": "4.5", "c0_stddev": "2.0", "c0_zeros": "0", "c0_negatives": "0",
            "c0_quantiles": "[1.0,2.0,4.0,6.0,9.0]", "c0_top": "[{\"value\":1,\"count\":2}]",
            "c1_array_min_length": "0", "c1_array_max_length": "2", "c1_array_avg_length": "1.0", "c1_empty_arrays": "1",
            "c1_elements": "4", "c1_null_elements": "0", "c1_distinct": "3"
        }))
        .unwrap();
        let (n, p) = read_profile(&[row], &cols);
        assert_eq!(n, 4);
        assert_eq!(p[0].null_rate, Some(0.25));
        assert_eq!(p[0].quantiles, Some(vec![1.0, 2.0, 4.0, 6.0, 9.0]));
        assert_eq!(
            p[0].top_values,
            vec![TopValue {
                value: json!(1),
                count: 2
            }]
        );
        assert_eq!(p[0].min, Some(json!(1)));
        assert_eq!(p[1].array.as_ref().unwrap().empty, Some(1));
        assert_eq!(p[1].nulls, None);
    }
}
