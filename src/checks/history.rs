//! Profile history: what one run of `bq-profile --history DIR` keeps per table, and drift of
//! a run against the runs before it. Pure: the files are read and written by
//! `warehouse::history`.
//!
//! Each metric (row count, freshness, and per column: null rate, distinct count, mean) is
//! compared with a robust band of its earlier values: the median ± k × 1.4826 × MAD (the
//! median absolute deviation, scaled to a normal distribution's standard deviation), never
//! narrower than a metric's own floor. The current run is never part of its own band. With
//! `--seasonality weekly` the band is of the earlier runs on the same weekday (UTC).

use serde::Serialize;

use super::profile::{Anomaly, ColumnProfile, Severity};
pub(crate) use crate::warehouse::history::{rfc3339, ColumnRecord, RunRecord, VERSION};

/// A run's record from its profile.
pub(crate) fn record(
    table: &str,
    at_ms: i64,
    rows: i64,
    last_modified_ms: Option<i64>,
    columns: &[ColumnProfile],
    partial: bool,
    scope: Option<String>,
) -> RunRecord {
    RunRecord {
        v: VERSION,
        table: table.to_string(),
        at: rfc3339(at_ms),
        rows,
        age_hours: last_modified_ms.map(|m| ((at_ms - m) as f64 / 3_600_000.0).max(0.0)),
        partial,
        modified: last_modified_ms,
        scope,
        columns: columns
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    ColumnRecord {
                        null_rate: c.null_rate,
                        distinct: c.distinct,
                        mean: c.mean.filter(|m| m.is_finite()),
                    },
                )
            })
            .collect(),
    }
}

/// A measured quantity of a table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Metric {
    Rows,
    /// Hours since last modified.
    Freshness,
    NullRate(String),
    Distinct(String),
    Mean(String),
}

impl Metric {
    pub(crate) fn value(&self, r: &RunRecord) -> Option<f64> {
        let col = |c: &str| r.columns.get(c);
        match self {
            Metric::Rows => Some(r.rows as f64),
            Metric::Freshness => r.age_hours,
            Metric::NullRate(c) => col(c)?.null_rate,
            Metric::Distinct(c) => col(c)?.distinct.map(|d| d as f64),
            Metric::Mean(c) => col(c)?.mean,
        }
    }

    /// `rows`, `freshness`, `null rate of email`.
    pub(crate) fn label(&self) -> String {
        match self {
            Metric::Rows => "rows".into(),
            Metric::Freshness => "hours since modified".into(),
            Metric::NullRate(c) => format!("null rate of {c}"),
            Metric::Distinct(c) => format!("distinct {c}"),
            Metric::Mean(c) => format!("mean of {c}"),
        }
    }

    fn rule(&self) -> &'static str {
        match self {
            Metric::Rows => "history_row_count",
            Metric::Freshness => "history_freshness",
            Metric::NullRate(_) => "history_null_rate",
            Metric::Distinct(_) => "history_distinct",
            Metric::Mean(_) => "history_mean",
        }
    }

    fn column(&self) -> Option<&str> {
        match self {
            Metric::Rows | Metric::Freshness => None,
            Metric::NullRate(c) | Metric::Distinct(c) | Metric::Mean(c) => Some(c),
        }
    }

    /// The narrowest half-width of a band: changes smaller than this are never flagged, even
    /// against a series that never moved.
    fn floor(&self, median: f64) -> f64 {
        match self {
            Metric::Rows | Metric::Distinct(_) => (0.005 * median.abs()).max(1.0),
            Metric::Freshness => 1.0,
            Metric::NullRate(_) => 0.005,
            // A mean moves a little with every load: 0.1% of it is not drift.
            Metric::Mean(_) => 1e-3 * median.abs().max(1e-3),
        }
    }

    /// Shows a value of this metric.
    pub(crate) fn show(&self, v: f64) -> String {
        match self {
            Metric::Rows | Metric::Distinct(_) => thousands(v.round() as i64),
            Metric::NullRate(_) => format!("{:.1}%", v * 100.0),
            Metric::Freshness => format!("{v:.1} h"),
            Metric::Mean(_) => format!("{}", (v * 1e6).round() / 1e6),
        }
    }
}

fn thousands(n: i64) -> String {
    let digits: Vec<char> = n.unsigned_abs().to_string().chars().rev().collect();
    let groups: Vec<String> = digits
        .chunks(3)
        .map(|c| c.iter().rev().collect())
        .rev()
        .collect();
    format!("{}{}", if n < 0 { "-" } else { "" }, groups.join(","))
}

/// The band of usual values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Band {
    pub(crate) median: f64,
    pub(crate) low: f64,
    pub(crate) high: f64,
    /// How many earlier runs it is of.
    pub(crate) runs: usize,
}

impl Band {
    pub(crate) fn holds(&self, v: f64) -> bool {
        v >= self.low && v <= self.high
    }
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        // Halfway without overflowing near f64::MAX.
        let (a, b) = (sorted[n / 2 - 1], sorted[n / 2]);
        a + (b - a) / 2.0
    }
}

/// The median ± `k` × 1.4826 × MAD of `values` (at least `metric`'s floor); None if empty.
pub(crate) fn band(metric: &Metric, values: &[f64], k: f64) -> Option<Band> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = median(&v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let mad = median(&dev);
    let half = (k * 1.4826 * mad).max(metric.floor(m));
    // Within what the metric can be: no negative counts, rates from 0 to 1.
    let (min, max) = match metric {
        Metric::Rows | Metric::Distinct(_) | Metric::Freshness => (0.0, f64::INFINITY),
        Metric::NullRate(_) => (0.0, 1.0),
        Metric::Mean(_) => (f64::NEG_INFINITY, f64::INFINITY),
    };
    Some(Band {
        median: m,
        low: (m - half).max(min),
        high: (m + half).min(max),
        runs: v.len(),
    })
}

/// How drift against history is judged.
#[derive(Debug, Clone)]
pub(crate) struct HistoryOptions {
    /// Fewer earlier runs than this: no drift against history (a note says so).
    pub(crate) min_runs: usize,
    /// Band half-width in robust standard deviations.
    pub(crate) k: f64,
    /// Compare with the same weekday's runs only.
    pub(crate) weekly: bool,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        HistoryOptions {
            min_runs: 5,
            k: 3.5,
            weekly: false,
        }
    }
}

/// One metric's history and verdict, for reports and charts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Series {
    pub(crate) metric: String,
    /// What it measures (the label is for people).
    #[serde(skip)]
    pub(crate) kind: Metric,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) column: Option<String>,
    /// Each earlier run's time and value (None: not measured then), oldest first.
    pub(crate) at: Vec<String>,
    pub(crate) values: Vec<Option<f64>>,
    pub(crate) current: f64,
    pub(crate) median: f64,
    pub(crate) low: f64,
    pub(crate) high: f64,
    /// How many earlier runs the band is of.
    pub(crate) band_runs: usize,
    pub(crate) flagged: bool,
}

/// What history says about a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct HistoryVerdict {
    /// Earlier runs of the table in the history.
    pub(crate) runs: usize,
    /// Drift was judged (enough runs).
    pub(crate) used: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) seasonality: Option<String>,
    /// Row count always; each flagged metric too.
    pub(crate) series: Vec<Series>,
    #[serde(skip)]
    pub(crate) anomalies: Vec<Anomaly>,
    #[serde(skip)]
    pub(crate) notes: Vec<String>,
}

/// Drift of `now` against the earlier runs in `past` (oldest first; `now` is not among them).
pub(crate) fn judge(now: &RunRecord, past: &[RunRecord], o: &HistoryOptions) -> HistoryVerdict {
    // Only runs of the same rows: a run filtered by --where or --partitions is judged
    // against runs filtered alike.
    let past: Vec<&RunRecord> = past.iter().filter(|r| r.scope == now.scope).collect();
    let mut out = HistoryVerdict {
        runs: past.len(),
        ..HistoryVerdict::default()
    };
    if past.len() < o.min_runs {
        out.notes.push(format!(
            "history: {} earlier run(s) of this table, drift against history needs {}",
            past.len(),
            o.min_runs
        ));
        return out;
    }
    out.used = true;
    // The runs a band is of: every earlier run, or the same weekday's.
    let weekday = |r: &RunRecord| {
        r.at_ms()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| chrono::Datelike::weekday(&t))
    };
    let mut basis: Vec<&RunRecord> = past.clone();
    if o.weekly {
        let same: Vec<&RunRecord> = past
            .iter()
            .copied()
            .filter(|r| weekday(r).is_some() && weekday(r) == weekday(now))
            .collect();
        let need = o.min_runs.min(3);
        if same.len() >= need {
            out.seasonality = Some(format!(
                "weekly: the {} earlier run(s) on the same weekday",
                same.len()
            ));
            basis = same;
        } else {
            out.notes.push(format!(
                "history: {} earlier run(s) on this weekday, weekly seasonality needs {need}; every earlier run is the band",
                same.len()
            ));
        }
    }
    let mut metrics = vec![Metric::Rows, Metric::Freshness];
    for c in now.columns.keys() {
        metrics.push(Metric::NullRate(c.clone()));
        metrics.push(Metric::Distinct(c.clone()));
        metrics.push(Metric::Mean(c.clone()));
    }
    for m in metrics {
        let Some(current) = m.value(now) else {
            continue;
        };
        let values: Vec<f64> = basis.iter().filter_map(|r| m.value(r)).collect();
        if values.len() < o.min_runs.min(3) {
            continue;
        }
        let Some(b) = band(&m, &values, o.k) else {
            continue;
        };
        // A table fresher than usual is no trouble: only an older one is flagged.
        let flagged = if m == Metric::Freshness {
            current > b.high
        } else {
            !b.holds(current)
        };
        if flagged {
            out.anomalies.push(Anomaly {
                severity: Severity::Warning,
                rule: m.rule().into(),
                column: m.column().map(String::from),
                evidence: format!(
                    "{} now; usually {} to {} (median {} of {} earlier runs{})",
                    m.show(current),
                    m.show(b.low),
                    m.show(b.high),
                    m.show(b.median),
                    b.runs,
                    if out.seasonality.is_some() {
                        ", same weekday"
                    } else {
                        ""
                    }
                ),
                explanation: match m {
                    Metric::Rows => "the row count left its usual band: a load was lost, doubled or filtered",
                    Metric::Freshness => "the table is older than it usually is at this time: a load may not have run",
                    Metric::NullRate(_) => "missing values left their usual band: often an upstream change",
                    Metric::Distinct(_) => "the set of values changed more than usual",
                    Metric::Mean(_) => "the values moved out of their usual range",
                }
                .into(),
            });
        }
        if flagged || m == Metric::Rows {
            out.series.push(Series {
                metric: m.label(),
                kind: m.clone(),
                column: m.column().map(String::from),
                at: past.iter().map(|r| r.at.clone()).collect(),
                values: past.iter().map(|r| m.value(r)).collect(),
                current,
                median: b.median,
                low: b.low,
                high: b.high,
                band_runs: b.runs,
                flagged,
            });
        }
    }
    // Columns since the last run that profiled them all.
    if !now.partial {
        if let Some(last) = past.iter().rev().find(|r| !r.partial) {
            for c in last
                .columns
                .keys()
                .filter(|c| !now.columns.contains_key(*c))
            {
                out.anomalies.push(Anomaly {
                    severity: Severity::Error,
                    rule: "history_column_removed".into(),
                    column: Some(c.clone()),
                    evidence: format!("in the run of {}, not now", last.at),
                    explanation: "consumers of this column will break".into(),
                });
            }
            for c in now
                .columns
                .keys()
                .filter(|c| !last.columns.contains_key(*c))
            {
                out.anomalies.push(Anomaly {
                    severity: Severity::Info,
                    rule: "history_column_added".into(),
                    column: Some(c.clone()),
                    evidence: format!("new since the run of {}", last.at),
                    explanation: "a new column appeared".into(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const DAY: i64 = 86_400_000;
    /// 2026-11-02, a Monday.
    const START: i64 = 1_793_577_600_000;

    fn run(day: i64, rows: i64, null_rate: f64) -> RunRecord {
        let mut columns = BTreeMap::new();
        columns.insert(
            "email".to_string(),
            ColumnRecord {
                null_rate: Some(null_rate),
                distinct: Some(rows / 2),
                mean: None,
            },
        );
        RunRecord {
            v: VERSION,
            table: "p.d.t".into(),
            at: rfc3339(START + day * DAY),
            rows,
            age_hours: Some(2.0 + (day % 3) as f64 * 0.1),
            partial: false,
            modified: Some(START + day * DAY - 7_200_000),
            scope: None,
            columns,
        }
    }

    /// 30 daily runs: rows grow ~0.4% a day with noise and drop by 30% at run 25 (index 24);
    /// the null rate of `email` is steady at 5% for 10 runs, then creeps up 0.2 points a run.
    fn thirty() -> Vec<RunRecord> {
        (0..30)
            .map(|i| {
                let noise = [0, 37, -21, 12, -40, 25, -8][(i % 7) as usize];
                let rows = 20_000 + 80 * i + noise;
                let rows = if i >= 24 { rows * 7 / 10 } else { rows };
                let wobble = [0.0, 0.0004, -0.0003, 0.0002][(i % 4) as usize];
                let null = 0.05 + wobble + if i >= 10 { 0.002 * (i - 9) as f64 } else { 0.0 };
                run(i, rows, null)
            })
            .collect()
    }

    fn flagged(v: &HistoryVerdict, rule: &str) -> bool {
        v.anomalies.iter().any(|a| a.rule == rule)
    }

    #[test]
    fn a_step_is_flagged_when_it_happens_and_not_before() {
        let runs = thirty();
        let o = HistoryOptions::default();
        // Flagged at run 25 (index 24) and not before. (After it, the lower level is still
        // out of the band until the band's runs are mostly after the step.)
        for i in 0..=24 {
            let v = judge(&runs[i], &runs[..i], &o);
            assert_eq!(v.used, i >= 5, "run {}", i + 1);
            assert_eq!(
                flagged(&v, "history_row_count"),
                i == 24,
                "run {}: {:?}",
                i + 1,
                v.anomalies
            );
        }
        // The row count's series is always there, with the current run out of its band.
        let v = judge(&runs[24], &runs[..24], &o);
        let s = &v.series[0];
        assert_eq!(
            (s.metric.as_str(), s.values.len(), s.flagged),
            ("rows", 24, true)
        );
        assert!(s.current < s.low && s.low < s.median && s.median < s.high);
        assert!(
            v.anomalies[0].evidence.contains("median"),
            "{:?}",
            v.anomalies
        );
    }

    #[test]
    fn a_creep_is_flagged_once_it_leaves_the_band() {
        let runs = thirty();
        let o = HistoryOptions::default();
        let first = (0..30)
            .find(|&i| flagged(&judge(&runs[i], &runs[..i], &o), "history_null_rate"))
            .unwrap();
        // Steady until run 10; the creep is 0.2 points a run from run 11.
        assert!(
            (12..=16).contains(&first),
            "first flagged at run {}",
            first + 1
        );
        let v = judge(&runs[first], &runs[..first], &o);
        let s = v
            .series
            .iter()
            .find(|s| s.metric == "null rate of email")
            .unwrap();
        assert!(s.flagged && s.current > s.high);
        for i in 5..first {
            assert!(!flagged(
                &judge(&runs[i], &runs[..i], &o),
                "history_null_rate"
            ));
        }
    }

    #[test]
    fn weekly_seasonality_does_not_flag_a_weekly_cycle() {
        // Weekends (days 5 and 6 from a Monday) have 40% fewer rows.
        let runs: Vec<RunRecord> = (0..29)
            .map(|i| {
                let rows = 20_000 + [0, 15, -10, 5, -20, 0, 10][(i % 7) as usize];
                let rows = if i % 7 >= 5 { rows * 6 / 10 } else { rows };
                run(i, rows, 0.05)
            })
            .collect();
        let flags = |o: &HistoryOptions| -> Vec<usize> {
            (7..29)
                .filter(|&i| flagged(&judge(&runs[i], &runs[..i], o), "history_row_count"))
                .collect()
        };
        let plain = flags(&HistoryOptions::default());
        assert!(
            !plain.is_empty(),
            "without seasonality the weekends are flagged"
        );
        assert!(plain.iter().all(|i| i % 7 >= 5));
        let weekly = HistoryOptions {
            weekly: true,
            ..HistoryOptions::default()
        };
        // From the third week, each weekday has 2 earlier runs; from the fourth, 3.
        let w: Vec<usize> = flags(&weekly).into_iter().filter(|&i| i >= 21).collect();
        assert!(w.is_empty(), "{w:?}");
        let v = judge(&runs[26], &runs[..26], &weekly);
        assert!(v.seasonality.as_deref().unwrap().contains("same weekday"));
        // A weekend that drops on a weekend is still flagged.
        let mut odd = runs[26].clone();
        odd.rows /= 2;
        assert!(flagged(
            &judge(&odd, &runs[..26], &weekly),
            "history_row_count"
        ));
    }

    #[test]
    fn few_runs_say_so_and_columns_are_compared_with_the_last_run() {
        let runs = thirty();
        let v = judge(&runs[3], &runs[..3], &HistoryOptions::default());
        assert!(
            !v.used && v.notes[0].contains("3 earlier run(s)"),
            "{:?}",
            v.notes
        );
        let mut now = runs[10].clone();
        now.columns.remove("email");
        now.columns.insert("phone".into(), ColumnRecord::default());
        let v = judge(&now, &runs[..10], &HistoryOptions::default());
        assert!(flagged(&v, "history_column_removed") && flagged(&v, "history_column_added"));
        now.partial = true;
        let v = judge(&now, &runs[..10], &HistoryOptions::default());
        assert!(!flagged(&v, "history_column_removed"));
    }

    #[test]
    fn runs_of_another_scope_and_fresher_tables_are_not_flagged() {
        let runs = thirty();
        let mut filtered = runs[20].clone();
        filtered.rows = 100;
        filtered.scope = Some("--where x > 1".into());
        let v = judge(&filtered, &runs[..20], &HistoryOptions::default());
        assert!(
            !v.used && v.runs == 0,
            "no earlier run of that scope: {v:?}"
        );
        let mut fresh = runs[20].clone();
        fresh.age_hours = Some(0.0);
        assert!(!flagged(
            &judge(&fresh, &runs[..20], &HistoryOptions::default()),
            "history_freshness"
        ));
        let mut stale = runs[20].clone();
        stale.age_hours = Some(30.0);
        assert!(flagged(
            &judge(&stale, &runs[..20], &HistoryOptions::default()),
            "history_freshness"
        ));
    }

    #[test]
    fn a_wide_table_flags_only_its_changed_column() {
        // 300 columns, 90 daily runs; column c123's null rate jumps in the last run.
        let wide = |day: i64, jump: bool| {
            let mut r = run(day, 20_000 + day * 10, 0.05);
            r.columns = (0..300)
                .map(|k| {
                    let null = 0.01 * (k % 7) as f64 + if jump && k == 123 { 0.2 } else { 0.0 };
                    (
                        format!("c{k}"),
                        ColumnRecord {
                            null_rate: Some(null + [0.0, 0.0003, -0.0002][(day % 3) as usize]),
                            distinct: Some(1000 + k),
                            mean: Some(k as f64 * 1.5 + (day % 5) as f64 * 1e-4),
                        },
                    )
                })
                .collect();
            r
        };
        let past: Vec<RunRecord> = (0..90).map(|d| wide(d, false)).collect();
        let v = judge(&wide(90, true), &past, &HistoryOptions::default());
        let flagged: Vec<(String, Option<String>)> = v
            .anomalies
            .iter()
            .map(|a| (a.rule.clone(), a.column.clone()))
            .collect();
        assert_eq!(
            flagged,
            [("history_null_rate".to_string(), Some("c123".to_string()))]
        );
        assert_eq!(v.series.len(), 2, "the row count and the flagged metric");
    }

    #[test]
    fn bands_are_robust_and_never_zero_wide() {
        let b = band(&Metric::Rows, &[100.0, 101.0, 99.0, 100.0, 1e9], 3.5).unwrap();
        assert_eq!(b.median, 100.0);
        assert!(b.high < 110.0, "one outlier does not widen the band: {b:?}");
        let flat = band(&Metric::NullRate("x".into()), &[0.1; 6], 3.5).unwrap();
        assert!((flat.high - 0.105).abs() < 1e-12);
        let zero = band(&Metric::NullRate("x".into()), &[0.0; 6], 3.5).unwrap();
        assert_eq!((zero.low, zero.high), (0.0, 0.005), "no negative rate");
        let huge = band(&Metric::Mean("x".into()), &[f64::MAX, f64::MAX], 3.5).unwrap();
        assert!(huge.median.is_finite());
        assert_eq!(band(&Metric::Rows, &[], 3.5), None);
    }

    #[test]
    fn records_round_trip_and_refuse_foreign_keys() {
        let r = run(0, 10, 0.5);
        let line = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<RunRecord>(&line).unwrap(), r);
        assert!(serde_json::from_str::<RunRecord>(r#"{"v":1,"foo":2}"#).is_err());
        assert_eq!(r.at, "2026-11-02T00:00:00Z");
        assert_eq!(thousands(-1234567), "-1,234,567");
    }
}
