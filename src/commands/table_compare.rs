//! `bq-table-compare`: metadata → one scan per side → (only if they differ) one row-level diff.

use std::sync::Arc;

use anyhow::bail;
use serde::Serialize;
use serde_json::Value;

use futures::future::BoxFuture;

use super::{client, parallelism, progress, CheckDef, Finished, Run};
use crate::checks::column_rules::{RuleFlags, Rules};
use crate::checks::partitions::{self, PartitionDelta, Partitioning};
use crate::checks::schema_diff::{self, Change, DiffOptions};
use crate::checks::table_compare::{self as tc, ColumnComparison, CompareOptions, Plan, RowDiff};
use crate::cli::{CompareFailOn, TableCompareArgs};
use crate::config::Items;
use crate::config::PairOptions;
use crate::model::OnlyIn;
use crate::model::{ErrorKind, ItemError, Usage};
use crate::model::{Pair, Source, TableRef};
use crate::report;
use crate::report::batch::{
    CheckResults, Details, NoExtra, OneSided, PairCounts, PairId, Results, Tally,
};
use crate::report::doc::{Block, Column, Table};
use crate::runner;
use crate::warehouse::cache::{Served, Store};
use crate::warehouse::query::QueryOptions;
use crate::warehouse::{Client, Metadata, TableMeta, WarehouseError};

/// A generated query and BigQuery's estimate (`--dry-run`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PlannedQuery {
    pub(crate) step: String,
    pub(crate) sql: String,
    pub(crate) estimated_bytes: u64,
}

/// Jobs run for a pair.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct QueryStats {
    /// Jobs run in BigQuery.
    pub(crate) count: u32,
    /// What they used (`bytes_processed`, `bytes_billed`, `slot_ms` in JSON).
    #[serde(flatten)]
    pub(crate) usage: Usage,
    /// Results served from the on-disk cache instead (the tables were unchanged).
    pub(crate) cached: u32,
    /// What the cache did, for the report's notes.
    #[serde(skip)]
    pub(crate) cache_notes: Vec<String>,
}

/// Everything learned about one pair.
#[derive(Debug, Clone)]
pub(crate) struct PairOutcome {
    pub(crate) plan: Plan,
    pub(crate) schema_changes: Vec<Change>,
    pub(crate) row_count: Option<(i64, i64)>,
    pub(crate) fingerprints_equal: Option<bool>,
    pub(crate) columns: Vec<ColumnComparison>,
    pub(crate) rows: Option<RowDiff>,
    /// `None` for a dry run.
    pub(crate) identical: Option<bool>,
    pub(crate) notes: Vec<String>,
    pub(crate) queries: QueryStats,
    pub(crate) dry_run: Vec<PlannedQuery>,
    /// Both tables are partitioned alike: which partitions differ.
    pub(crate) partitions: Option<PartitionReport>,
}

/// A partition-aware compare's finding: the partitions whose row count or fingerprint
/// differ, of how many.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PartitionReport {
    /// `dt (DATE) by DAY`.
    pub(crate) column: String,
    /// Partitions either side has.
    pub(crate) total: usize,
    pub(crate) differing_count: usize,
    pub(crate) differing: Vec<PartitionDelta>,
    /// Whether the row diff read only the differing partitions.
    pub(crate) row_diff_pruned: bool,
    /// `--partitions changed`: only the partitions modified since the last run were compared.
    pub(crate) changed_only: bool,
}

#[derive(Debug, Clone)]
/// How table-compare's results read, under its gate.
pub(crate) struct TableCompareView {
    pub(crate) fail_on: CompareFailOn,
    /// `--price-per-tib`.
    pub(crate) price_per_tib: f64,
}

/// A whole run.
pub(crate) type TableCompareBatch = Results<TableCompareView>;

/// A compared pair in the JSON report.
#[derive(Serialize)]
pub(crate) struct ComparisonJson<'a> {
    #[serde(flatten)]
    id: PairId,
    /// `null` for a dry run.
    identical: Option<bool>,
    row_count: Option<RowCountJson>,
    fingerprints_equal: Option<bool>,
    schema: SchemaJson<'a>,
    columns: &'a [ColumnComparison],
    rows: Option<&'a RowDiff>,
    notes: &'a [String],
    /// Both tables are partitioned alike.
    #[serde(skip_serializing_if = "Option::is_none")]
    partitions: Option<&'a PartitionReport>,
    queries: QueriesJson<'a>,
    /// Only in a dry run.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    dry_run: &'a [PlannedQuery],
}

/// A pair's jobs and what they cost.
#[derive(Serialize)]
struct QueriesJson<'a> {
    #[serde(flatten)]
    stats: &'a QueryStats,
    cost_usd: f64,
}

#[derive(Serialize)]
struct RowCountJson {
    a: i64,
    b: i64,
}

#[derive(Serialize)]
struct SchemaJson<'a> {
    identical: bool,
    changes: &'a [Change],
    compared_columns: &'a [tc::Column],
    left_out: &'a [tc::LeftOut],
}

/// One query of a pair.
struct Job<'a> {
    /// Names it in notes (`scan A`).
    what: &'a str,
    sql: &'a str,
    /// The tables' location (`--location` wins).
    location: Option<&'a str>,
    /// Runs here unless `--project` says otherwise.
    default_project: &'a str,
    /// The tables it reads, with their metadata (their versions key the cache).
    tables: &'a [(&'a TableRef, &'a TableMeta)],
    /// The `--where` in effect (a clock function in it: never cached).
    filter: Option<&'a str>,
}

struct Ctx {
    /// Shared by the estimate and the run of a budgeted batch.
    meta: Arc<Metadata>,
    client: Arc<Client>,
    /// Project the jobs run (and are billed) in.
    job_project: Option<String>,
    opts: CompareOptions,
    /// Pairs of the config file with their own key or filter.
    per_pair: Vec<(Pair, PairOptions)>,
    store: Store,
    dry_run: bool,
    max_bytes_billed: Option<u64>,
    location: Option<String>,
    /// `--partitions`, checked.
    partitions: Option<String>,
    /// The run keeps the result cache (no `--no-cache`): a partition-aware pair reads its
    /// partition metadata, which a dry run counts.
    caching: bool,
}

fn table(s: &Source) -> Result<&TableRef, ItemError> {
    match s {
        Source::Table(t) => Ok(t),
        Source::SchemaFile(p) => Err(ItemError::new(
            ErrorKind::Input,
            format!(
                "{} is a schema file: bq-table-compare compares tables' data",
                p.display()
            ),
        )),
    }
}

/// For tables created with `require_partition_filter`, a predicate on the partition column
/// that admits every row (BigQuery refuses their queries without one); `None` when neither
/// side requires it. It applies to both sides, so the other side must have the column too.
fn required_partition_filter(
    ma: &TableMeta,
    mb: &TableMeta,
    alike: Option<&Partitioning>,
) -> Result<Option<String>, ItemError> {
    let input = |m: String| ItemError::new(ErrorKind::Input, m);
    let mut out = None;
    for (side, m, other) in [("A", ma, mb), ("B", mb, ma)] {
        if !m.requires_partition_filter() || out.is_some() {
            continue;
        }
        let p = match alike {
            Some(p) => p.clone(),
            None => partitions::partitioning(m)
                .map_err(|why| input(format!("{side} requires a partition filter, but {why}")))?,
        };
        if alike.is_none() {
            // `t.`dt`` must name a column of the other side too.
            let name = p.expr.trim_start_matches("t.").trim_matches('`');
            if !other
                .fields()
                .iter()
                .any(|f| f.name.eq_ignore_ascii_case(name))
            {
                return Err(input(format!(
                    "{side} requires a partition filter on {}, which the other table does not have: filter both with --where",
                    p.describe
                )));
            }
        }
        out = Some(p.admit_all());
    }
    Ok(out)
}

/// One side's partitions as the metadata lists them, and the prints the cache still vouches
/// for.
struct SideCache<'a> {
    table: &'a TableRef,
    /// The cache entry's name: the scan it stands for.
    what: String,
    meta: Vec<partitions::PartitionMeta>,
    fresh: Vec<partitions::PartitionPrint>,
    /// Partitions stored last time that the metadata no longer lists (dropped): changed.
    gone: Vec<String>,
}

/// The per-partition cache of a pair partitioned alike.
struct PartitionCache<'a> {
    sides: [SideCache<'a>; 2],
}

/// A merged side: its partitions' prints, row count and fingerprint.
type Merged = (Vec<partitions::PartitionPrint>, i64, Option<String>);

impl PartitionCache<'_> {
    /// The partitions to read: `None` for all (nothing stored yet), else the new and modified
    /// ones of either side (maybe none).
    fn to_scan(&self, changed_only: bool) -> Option<Vec<String>> {
        if !changed_only && self.sides.iter().all(|s| s.fresh.is_empty()) {
            return None;
        }
        let mut ids: Vec<String> = self
            .sides
            .iter()
            .flat_map(|s| {
                partitions::stale(&s.meta, &s.fresh)
                    .into_iter()
                    .chain(s.gone.clone())
            })
            .collect();
        ids.sort();
        ids.dedup();
        Some(ids)
    }

    /// Each side's prints: the fresh stored ones (unless `changed_only`) and those read now;
    /// and store them all for the next run.
    fn merge_and_store(
        &self,
        store: &Store,
        scanned: [Vec<partitions::PartitionPrint>; 2],
        scan_ids: Option<&[String]>,
        changed_only: bool,
    ) -> Result<(Merged, Merged, Vec<String>), String> {
        let mut out = Vec::new();
        let mut warnings = Vec::new();
        for (side, got) in self.sides.iter().zip(scanned) {
            let read: Vec<String> = match scan_ids {
                Some(ids) => ids.to_vec(),
                None => side.meta.iter().map(|m| m.id.clone()).collect(),
            };
            let kept: Vec<partitions::PartitionPrint> = side
                .fresh
                .iter()
                .filter(|f| !read.contains(&f.id))
                .cloned()
                .collect();
            // A partition read with no rows (its rows filtered out) is remembered as empty.
            let mut remembered = got.clone();
            for id in &read {
                if !got.iter().any(|p| &p.id == id) {
                    remembered.push(partitions::PartitionPrint {
                        id: id.clone(),
                        rows: 0,
                        fingerprint: "0:0:0".into(),
                    });
                }
            }
            // Every partition a full read found must be one the metadata lists, or the next
            // run could not tell when it changes: then nothing is stored.
            let unlisted = got.iter().find(|p| !side.meta.iter().any(|m| m.id == p.id));
            if let Some(p) = unlisted.filter(|_| scan_ids.is_none()) {
                warnings.push(format!(
                    "per-partition cache off for {}: its partition {} is not in its partition metadata",
                    side.table, p.id
                ));
                out.push(partitions::merge(&[], &got)?);
                continue;
            }
            let rows: Vec<serde_json::Map<String, Value>> =
                partitions::to_store(&side.meta, &kept, &remembered)
                    .iter()
                    .filter_map(|p| match serde_json::to_value(p) {
                        Ok(Value::Object(m)) => Some(m),
                        _ => None,
                    })
                    .collect();
            store.put_entry(side.table, &side.what, &rows);
            let base = if changed_only { Vec::new() } else { kept };
            out.push(partitions::merge(&base, &got)?);
        }
        let b = out.pop().unwrap_or_default();
        let a = out.pop().unwrap_or_default();
        Ok((a, b, warnings))
    }

    /// What the cache did, for the report.
    fn notes(&self, scan_ids: Option<&[String]>, changed_only: bool) -> Vec<String> {
        let mut all: Vec<&str> = self
            .sides
            .iter()
            .flat_map(|s| s.meta.iter().map(|m| m.id.as_str()))
            .collect();
        all.sort_unstable();
        all.dedup();
        let total = report::thousands(all.len());
        let read = scan_ids.map(<[String]>::len);
        let list = |ids: &[String]| {
            let shown: Vec<&str> = ids.iter().take(10).map(String::as_str).collect();
            let more = if ids.len() > 10 { ", …" } else { "" };
            format!("{}{more}", shown.join(", "))
        };
        match (read, changed_only) {
            (None, _) => vec![format!(
                "per-partition cache: all {total} partitions read; their counts and fingerprints are stored, so the next run reads only new or modified partitions"
            )],
            (Some(0), true) => vec![
                "--partitions changed: no partition was modified since the last run, so nothing was compared".into(),
            ],
            (Some(n), true) => vec![format!(
                "--partitions changed: only the {} partition(s) modified since the last run were compared: {}",
                report::thousands(n),
                list(scan_ids.unwrap_or_default())
            )],
            (Some(0), false) => vec![format!(
                "per-partition cache: no partition changed since the last run: all {total} partitions' counts and fingerprints came from the cache (no query read the tables, so there are no column statistics)"
            )],
            (Some(n), false) => vec![format!(
                "per-partition cache: {} of {total} partitions read (new or modified since the last run: {}); the others' counts and fingerprints came from the cache, and column statistics cover only the partitions read",
                report::thousands(n),
                list(scan_ids.unwrap_or_default())
            )],
        }
    }
}

/// `scan A`, then `scan A (statistics, part 2)` for a wide table's further queries.
fn scan_name(side: &str, n: usize) -> String {
    match n {
        0 => format!("scan {side}"),
        n => format!("scan {side} (statistics, part {})", n + 1),
    }
}

/// Every generated query aggregates to exactly one row; anything else is a bug or a
/// predicate that escaped its WHERE, and must never pass as a verdict.
fn only_row(
    r: &crate::warehouse::query::QueryResult,
) -> Result<crate::warehouse::query::Row, ItemError> {
    match r.rows.as_slice() {
        [row] => Ok(row.clone()),
        rows => Err(ItemError::new(
            ErrorKind::Decode,
            format!("expected one result row, got {}", rows.len()),
        )),
    }
}

impl Ctx {
    /// Run one query (through the result cache).
    async fn query(
        &self,
        job: Job<'_>,
        stats: &mut QueryStats,
    ) -> Result<crate::warehouse::query::QueryResult, WarehouseError> {
        let Job {
            what,
            sql,
            location,
            default_project,
            tables,
            filter,
        } = job;
        let opts = QueryOptions {
            location: self.location.clone().or_else(|| location.map(String::from)),
            max_bytes_billed: self.max_bytes_billed,
            label: "table-compare".into(),
            dry_run: self.dry_run,
        };
        let project = self.job_project.as_deref().unwrap_or(default_project);
        let (r, served) = self
            .store
            .query(&self.client, project, sql, &opts, tables, filter)
            .await?;
        if !self.dry_run {
            if matches!(served, Served::Cached { .. }) {
                stats.cached += 1;
            } else {
                stats.count += 1;
                stats.usage += r.usage;
            }
        }
        stats.cache_notes.extend(served.note(what));
        Ok(r)
    }

    /// The options for one pair: the run's, with the pair's own `key`, `where` and
    /// `partitions` from the config file, if it has them; and its `--partitions` selection.
    fn options_for(&self, pair: &Pair) -> (CompareOptions, Option<String>) {
        let mut opts = self.opts.clone();
        let mut partitions = self.partitions.clone();
        if let Some((_, own)) = self.per_pair.iter().find(|(p, _)| p == pair) {
            if let Some(k) = &own.key {
                opts.key = Some(k.clone());
                opts.key_source = Some(
                    own.key_source
                        .clone()
                        .unwrap_or_else(|| "the pair's key in the config file".into()),
                );
            }
            if let Some(w) = &own.where_clause {
                opts.where_clause = Some(w.clone());
            }
            if let Some(p) = &own.partitions {
                partitions = Some(p.clone());
            }
            // The pair's own rules and renames come first; checked when the file was read.
            if let Ok((rules, map)) = column_rules(&own.rules, &own.map) {
                opts.rules = self.opts.rules.under(&rules);
                opts.map = map
                    .into_iter()
                    .chain(self.opts.map.iter().cloned())
                    .collect();
            }
        }
        (opts, partitions)
    }

    /// The per-partition cache of a pair partitioned alike: each side's partition metadata
    /// (one small query per side) and the stored prints it still vouches for; or why there is
    /// none. `scans` pairs each table with its scan (the entry's name).
    async fn partition_cache<'a>(
        &self,
        sides: [(&'a TableRef, &'a TableMeta, &String); 2],
        filter: Option<&str>,
        stats: &mut QueryStats,
    ) -> Result<PartitionCache<'a>, String> {
        use crate::warehouse::cache;
        for (t, m, _) in &sides {
            if let Some(why) = cache::untrusted(m) {
                return Err(format!("{t} is not cached: {why}"));
            }
        }
        if filter.is_some_and(|f| cache::calls_volatile(f) || cache::reads_beyond_its_tables(f)) {
            return Err("the filter can change its rows without the tables changing".into());
        }
        let metadata = |t: &'a TableRef, m: &'a TableMeta| async move {
            let opts = QueryOptions {
                location: self.location.clone().or_else(|| m.location.clone()),
                max_bytes_billed: self.max_bytes_billed,
                label: "table-compare".into(),
                dry_run: false,
            };
            let project = self.job_project.as_deref().unwrap_or(&t.project);
            super::partition_metadata(&self.client, project, t, &opts).await
        };
        let [(ta, ma, sa), (tb, mb, sb)] = sides;
        let (ra, rb) = futures::join!(metadata(ta, ma), metadata(tb, mb));
        let mut out = Vec::new();
        for ((t, m, scan), r) in [((ta, ma, sa), ra), ((tb, mb, sb), rb)] {
            let (meta, usage) = r?;
            stats.count += 1;
            stats.usage += usage;
            let what = format!("per-partition prints\n{scan}");
            let stored: Vec<partitions::StoredPrint> = self.store.get_entries(t, &what);
            if !partitions::accounts_for(&meta, m.num_rows) {
                return Err(format!(
                    "the partition metadata of {t} does not account for all {} rows",
                    m.num_rows.unwrap_or(0)
                ));
            }
            let gone = stored
                .iter()
                .filter(|s| !meta.iter().any(|m| m.id == s.print.id))
                .map(|s| s.print.id.clone())
                .collect();
            out.push(SideCache {
                table: t,
                fresh: partitions::fresh(&meta, &stored),
                meta,
                what,
                gone,
            });
        }
        let (Some(b), Some(a)) = (out.pop(), out.pop()) else {
            return Err("no sides".into());
        };
        Ok(PartitionCache { sides: [a, b] })
    }

    /// Step 2 for one side: its scan queries, one after another; their answer rows.
    async fn scan(
        &self,
        side: &str,
        sqls: &[String],
        table: &TableRef,
        meta: &TableMeta,
        filter: Option<&str>,
        stats: &mut QueryStats,
    ) -> Result<Vec<crate::warehouse::query::Row>, ItemError> {
        let tables = [(table, meta)];
        let mut rows = Vec::new();
        for (n, sql) in sqls.iter().enumerate() {
            let r = self
                .query(
                    Job {
                        what: &scan_name(side, n),
                        sql,
                        location: meta.location.as_deref(),
                        default_project: &table.project,
                        tables: &tables,
                        filter,
                    },
                    stats,
                )
                .await?;
            rows.push(only_row(&r)?);
        }
        Ok(rows)
    }

    async fn compare(&self, pair: &Pair) -> Result<PairOutcome, ItemError> {
        let (mut opts, selection) = self.options_for(pair);
        let (ta, tb) = (table(&pair.a)?, table(&pair.b)?);
        let (ma, mb) = futures::join!(self.meta.get(&pair.a), self.meta.get(&pair.b));
        let (ma, mb) = match (ma, mb) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return Err(e.into()),
        };
        let mut notes = Vec::new();
        // `--partitions changed`: only the partitions modified since the last run.
        let changed_only = selection.as_deref().map(str::trim) == Some("changed");
        if let Some(spec) = selection.as_ref().filter(|_| !changed_only) {
            let sides = [(format!("A ({ta})"), &*ma), (format!("B ({tb})"), &*mb)];
            let (p, note) = super::partition_filter(spec, &sides)?;
            opts.where_clause = Some(crate::checks::partitions::and(
                opts.where_clause.as_deref(),
                &p,
            ));
            notes.push(note);
        }
        // Both partitioned alike: the scans also fingerprint each partition, and the row diff
        // reads only the partitions that differ.
        let parts = match (partitions::partitioning(&ma), partitions::partitioning(&mb)) {
            (Ok(a), Ok(b)) if a.same_as(&b) => Some(a),
            _ => None,
        };
        if let Some(f) = required_partition_filter(&ma, &mb, parts.as_ref())? {
            opts.where_clause = Some(partitions::and(opts.where_clause.as_deref(), &f));
        }
        let opts = &opts;
        // Step 1: metadata.
        let schema_changes = schema_diff::diff(&ma, &mb, DiffOptions::default());
        let plan = tc::plan(&ma, &mb, opts).map_err(|e| ItemError::new(ErrorKind::Input, e))?;
        let same_location = match (&ma.location, &mb.location) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => true,
        };
        let mut stats = QueryStats::default();
        let fingerprint_columns = tc::column_fingerprints_reason(same_location, &plan, opts);
        let id_sql = parts.as_ref().map(Partitioning::id_sql);
        notes.extend(plan.notes.iter().cloned());
        let ruled: Vec<(String, crate::checks::column_rules::ColumnRule)> = plan
            .columns
            .iter()
            .filter_map(|c| c.rule.clone().map(|r| (c.path.clone(), r)))
            .collect();
        if !ruled.is_empty() {
            notes.push(format!(
                "compared under rules: {}",
                crate::checks::column_rules::summary(&ruled)
            ));
            if plan.key.is_empty() {
                notes.push("no key: the row diff compares whole rows exactly, so the rules apply to the statistics only".into());
            }
        }
        let mapped: Vec<String> = plan
            .columns
            .iter()
            .filter_map(|c| {
                c.path_b
                    .as_ref()
                    .map(|b| format!("A's `{}` = B's `{b}`", c.path))
            })
            .collect();
        if !mapped.is_empty() {
            notes.push(format!("renamed columns (--map): {}", mapped.join(", ")));
        }
        let scan_a = tc::scan_sql(
            ta,
            tc::Side::A,
            &plan,
            opts,
            fingerprint_columns.is_some(),
            id_sql.as_deref(),
        );
        let scan_b = tc::scan_sql(
            tb,
            tc::Side::B,
            &plan,
            opts,
            fingerprint_columns.is_some(),
            id_sql.as_deref(),
        );
        let diff_sql_for = |o: &CompareOptions| {
            if plan.key.is_empty() {
                tc::multiset_diff_sql(ta, tb, &plan, o)
            } else {
                tc::keyed_diff_sql(ta, tb, &plan, o)
            }
        };
        let diff_sql = diff_sql_for(opts);
        let err = ItemError::from;
        let filter = opts.where_clause.as_deref();
        if self.dry_run {
            let mut planned = Vec::new();
            let mut steps = Vec::new();
            for (side, sqls, m, t) in [("A", scan_a, &ma, ta), ("B", scan_b, &mb, tb)] {
                for (n, sql) in sqls.into_iter().enumerate() {
                    steps.push((scan_name(side, n), sql, m.location.as_deref(), &t.project));
                }
            }
            if !opts.skip_samples && same_location {
                steps.push((
                    "row diff (only if the scans differ)".to_string(),
                    diff_sql,
                    ma.location.as_deref(),
                    &ta.project,
                ));
            }
            if parts.is_some() && self.caching {
                // Not dry-run (a metadata query): BigQuery bills each 10 MiB, its minimum for
                // INFORMATION_SCHEMA queries, as the budget counts any query.
                for (side, t) in [("A", ta), ("B", tb)] {
                    planned.push(PlannedQuery {
                        step: format!("partition metadata {side} (for the per-partition cache; billed 10 MiB, the minimum for INFORMATION_SCHEMA)"),
                        sql: partitions::metadata_sql(t),
                        estimated_bytes: crate::model::MIN_BILLED_PER_QUERY,
                    });
                }
            }
            for (step, sql, loc, project) in steps {
                let r = self
                    .query(
                        Job {
                            what: &step,
                            sql: &sql,
                            location: loc,
                            default_project: project,
                            tables: &[],
                            filter: None,
                        },
                        &mut stats,
                    )
                    .await
                    .map_err(err)?;
                planned.push(PlannedQuery {
                    step,
                    sql,
                    estimated_bytes: r.usage.bytes_processed,
                });
            }
            return Ok(PairOutcome {
                plan,
                schema_changes,
                row_count: ma.num_rows.zip(mb.num_rows),
                fingerprints_equal: None,
                columns: Vec::new(),
                rows: None,
                identical: None,
                notes,
                queries: stats,
                dry_run: planned,
                partitions: None,
            });
        }
        // The per-partition cache: partitions unchanged since the last run are not read again.
        // (Unless the tables are unchanged and their scans are stored whole.)
        let stored_whole = self.store.would_serve(&scan_a[0], &[(ta, &*ma)], filter)
            && self.store.would_serve(&scan_b[0], &[(tb, &*mb)], filter);
        let pcache = match &parts {
            Some(_) if stored_whole && !changed_only => Err(String::new()),
            Some(_) if self.store.enabled() => {
                self.partition_cache(
                    [(ta, &*ma, &scan_a[0]), (tb, &*mb, &scan_b[0])],
                    filter,
                    &mut stats,
                )
                .await
            }
            _ => Err("the cache is off (--no-cache)".to_string()),
        };
        let pcache = match pcache {
            Ok(pc) => Some(pc),
            Err(why) if changed_only => {
                return Err(ItemError::new(
                    ErrorKind::Input,
                    format!("--partitions changed needs the per-partition cache, and {why}"),
                ))
            }
            Err(why) => {
                if parts.is_some() && !why.is_empty() {
                    notes.push(format!("no per-partition cache: {why}"));
                }
                None
            }
        };
        // The partitions to read: all, or (with a cache) the new and modified ones, on both
        // sides; none when nothing changed.
        let scan_ids = pcache.as_ref().and_then(|pc| pc.to_scan(changed_only));
        let (scan_a, scan_b) = match (&scan_ids, &parts) {
            (Some(ids), Some(p)) if !ids.is_empty() => match p.only(ids) {
                Some(pred) => {
                    let mut o = opts.clone();
                    o.where_clause = Some(partitions::and(o.where_clause.as_deref(), &pred));
                    let fp = fingerprint_columns.is_some();
                    (
                        tc::scan_sql(ta, tc::Side::A, &plan, &o, fp, id_sql.as_deref()),
                        tc::scan_sql(tb, tc::Side::B, &plan, &o, fp, id_sql.as_deref()),
                    )
                }
                None => (scan_a, scan_b),
            },
            (Some(_), _) => (Vec::new(), Vec::new()),
            _ => (scan_a, scan_b),
        };
        // Step 2: the scan of each side (its queries one after another), both sides at once.
        let (mut sa, mut sb) = (QueryStats::default(), QueryStats::default());
        let (ra, rb) = futures::join!(
            self.scan("A", &scan_a, ta, &ma, filter, &mut sa),
            self.scan("B", &scan_b, tb, &mb, filter, &mut sb)
        );
        for s in [sa, sb] {
            stats.count += s.count;
            stats.usage += s.usage;
            stats.cached += s.cached;
            stats.cache_notes.extend(s.cache_notes);
        }
        let (ra, rb) = (ra?, rb?);
        let scanned = !scan_a.is_empty();
        let with_stats = !opts.skip_stats && scanned;
        let mut scan_a = tc::read_scan(&ra, &plan, with_stats);
        let mut scan_b = tc::read_scan(&rb, &plan, with_stats);
        if let Some(pc) = &pcache {
            let decode = |e: String| ItemError::new(ErrorKind::Decode, e);
            let (pa, pb) = (
                partitions::read_prints(scan_a.partitions.as_deref()).map_err(decode)?,
                partitions::read_prints(scan_b.partitions.as_deref()).map_err(decode)?,
            );
            let (merged_a, merged_b, warnings) = pc
                .merge_and_store(&self.store, [pa, pb], scan_ids.as_deref(), changed_only)
                .map_err(decode)?;
            notes.extend(warnings);
            for (scan, (prints, rows, fingerprint)) in
                [(&mut scan_a, merged_a), (&mut scan_b, merged_b)]
            {
                scan.row_count = rows;
                scan.fingerprint = fingerprint;
                scan.partitions = Some(
                    prints
                        .iter()
                        .map(|p| format!("{}:{}:{}", p.id, p.rows, p.fingerprint))
                        .collect::<Vec<_>>()
                        .join(","),
                );
            }
            notes.extend(pc.notes(scan_ids.as_deref(), changed_only));
        }
        let mut columns = if with_stats {
            tc::compare_columns(&plan, &scan_a, &scan_b)
        } else {
            Vec::new()
        };
        if let Some(why) = fingerprint_columns.filter(|_| scanned) {
            notes.push(why);
        }
        let fingerprints_equal = scan_a.fingerprint == scan_b.fingerprint;
        let mut data_equal = scan_a.row_count == scan_b.row_count && fingerprints_equal;
        // Which partitions differ; the row diff reads only those.
        let mut partition_report = None;
        let mut diff_sql = diff_sql;
        if let Some(p) = &parts {
            let read = |s: &tc::ScanResult| {
                partitions::read_prints(s.partitions.as_deref())
                    .map_err(|e| ItemError::new(ErrorKind::Decode, e))
            };
            let (pa, pb) = (read(&scan_a)?, read(&scan_b)?);
            let differing = partitions::differing(p, &pa, &pb);
            let total = partitions::union_count(&pa, &pb);
            let ids: Vec<String> = differing.iter().map(|d| d.id.clone()).collect();
            let pruned = match p.only(&ids) {
                Some(pred) if !ids.is_empty() => {
                    let mut o = opts.clone();
                    o.where_clause = Some(partitions::and(o.where_clause.as_deref(), &pred));
                    diff_sql = diff_sql_for(&o);
                    true
                }
                _ => false,
            };
            partition_report = Some(PartitionReport {
                column: p.describe.clone(),
                total,
                differing_count: differing.len(),
                differing,
                row_diff_pruned: pruned,
                changed_only,
            });
        }
        // Step 3: only when step 2 found a difference.
        let mut rows = None;
        if !data_equal && !opts.skip_samples {
            if same_location {
                let r = self
                    .query(
                        Job {
                            what: "row diff",
                            sql: &diff_sql,
                            location: ma.location.as_deref(),
                            default_project: &ta.project,
                            tables: &[(ta, &*ma), (tb, &*mb)],
                            filter,
                        },
                        &mut stats,
                    )
                    .await
                    .map_err(err)?;
                let row = only_row(&r)?;
                let d = if plan.key.is_empty() {
                    tc::read_multiset_diff(&row, &plan)
                } else {
                    tc::read_keyed_diff(&row, &plan)
                };
                if d.is_empty() && scan_a.row_count == scan_b.row_count {
                    // The fingerprints differed but no row does: only possible within the
                    // column rules, which the fingerprints cannot apply.
                    if d.within_tolerance == 0 {
                        notes.push("fingerprints differ but no row does".into());
                    }
                    data_equal = true;
                }
                // The row diff says which columns hold changed values; a column with a rule
                // whose rows all matched under it does not differ, whatever its statistics
                // (a sum of values each within a relative tolerance may not be).
                let keyed = !plan.key.is_empty();
                for (c, pc) in columns.iter_mut().zip(&plan.columns) {
                    if d.changed_by_column.contains_key(&c.name) {
                        c.differs = true;
                    } else if keyed && pc.rule.is_some() {
                        c.differs = false;
                    }
                }
                rows = Some(d);
            } else {
                notes.push(format!(
                    "the tables are in different locations ({} and {}): BigQuery cannot join them, so the verdict rests on counts and fingerprints",
                    ma.location.as_deref().unwrap_or("?"),
                    mb.location.as_deref().unwrap_or("?")
                ));
            }
        }
        let columns_missing = plan
            .left_out
            .iter()
            .any(|l| l.reason != "excluded by --exclude-columns");
        if columns_missing {
            notes.push(format!(
                "{} column(s) could not be compared (see schema)",
                plan.left_out.len()
            ));
        }
        notes.extend(std::mem::take(&mut stats.cache_notes));
        Ok(PairOutcome {
            plan,
            schema_changes,
            row_count: Some((scan_a.row_count, scan_b.row_count)),
            fingerprints_equal: Some(fingerprints_equal),
            columns,
            rows,
            identical: Some(data_equal && !columns_missing),
            notes,
            queries: stats,
            dry_run: Vec::new(),
            partitions: partition_report,
        })
    }
}

/// A value from the tables, on one line (control characters escaped).
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => report::one_line(s),
        other => other.to_string(),
    }
}

fn headline(o: &PairOutcome, price_per_tib: f64) -> String {
    let counts = o
        .row_count
        .map(|(a, b)| {
            if a == b {
                format!("{a} rows")
            } else {
                format!("rows {a} vs {b}")
            }
        })
        .unwrap_or_default();
    match o.identical {
        None => report::dry_run_headline(
            &o.dry_run
                .iter()
                .map(|q| q.estimated_bytes)
                .collect::<Vec<_>>(),
            price_per_tib,
        ),
        Some(true) => match &o.partitions {
            Some(p) if p.changed_only && p.total == 0 => {
                "nothing to compare: no partition was modified since the last run".into()
            }
            Some(p) if p.changed_only => format!(
                "the {} partition(s) modified since the last run are identical ({counts})",
                report::thousands(p.total)
            ),
            _ => match o.rows.as_ref().map_or(0, |r| r.within_tolerance) {
                0 => format!("identical ({counts})"),
                n => format!(
                    "identical ({counts}; {} equal within the column rules)",
                    report::thousands(n as usize)
                ),
            },
        },
        Some(false) => {
            let mut parts = vec![counts];
            if let Some(r) = &o.rows {
                if r.only_in_a > 0 {
                    parts.push(format!("{} only in A", r.only_in_a));
                }
                if r.only_in_b > 0 {
                    parts.push(format!("{} only in B", r.only_in_b));
                }
                if r.changed > 0 {
                    parts.push(format!("{} changed", r.changed));
                }
                if r.within_tolerance > 0 {
                    parts.push(format!(
                        "{} equal within the column rules",
                        report::thousands(r.within_tolerance as usize)
                    ));
                }
                if r.duplicate_keys_a + r.duplicate_keys_b > 0 {
                    parts.push(format!(
                        "duplicate keys {} in A, {} in B",
                        r.duplicate_keys_a, r.duplicate_keys_b
                    ));
                }
            }
            if let Some(p) = o.partitions.as_ref().filter(|p| p.differing_count > 0) {
                parts.push(format!(
                    "{} of {} partitions differ",
                    report::thousands(p.differing_count),
                    report::thousands(p.total)
                ));
            }
            let differing = o.columns.iter().filter(|c| c.differs).count();
            if differing > 0 {
                parts.push(format!("{differing} column(s) differ"));
            }
            if !o.plan.left_out.is_empty() {
                parts.push(format!("{} column(s) not compared", o.plan.left_out.len()));
            }
            format!("different ({})", parts.join(", "))
        }
    }
}

fn stat_line(c: &ColumnComparison) -> String {
    let mut parts = Vec::new();
    let (a, b) = (&c.a, &c.b);
    let mut cmp = |label: &str, x: Option<String>, y: Option<String>| {
        if x != y {
            parts.push(format!(
                "{label} {} → {}",
                x.unwrap_or_else(|| "null".into()),
                y.unwrap_or_else(|| "null".into())
            ));
        }
    };
    let n = |v: Option<i64>| v.map(|n| n.to_string());
    cmp("non-null", n(a.non_null), n(b.non_null));
    cmp("distinct≈", n(a.distinct), n(b.distinct));
    cmp("min", a.min.clone(), b.min.clone());
    cmp("max", a.max.clone(), b.max.clone());
    cmp("NaN", n(a.nan_count), n(b.nan_count));
    cmp("±Inf", n(a.inf_count), n(b.inf_count));
    cmp("sum", a.sum.clone(), b.sum.clone());
    cmp("avg", a.avg.clone(), b.avg.clone());
    cmp("max length", n(a.max_length), n(b.max_length));
    if parts.is_empty() {
        parts.push("values differ (same summary statistics)".into());
    }
    parts.join(", ")
}

/// Example rows as a table of table data: a column per name, long values cut at 30
/// characters. A multiset sample's surplus count (`_count`) comes first, as `×`.
fn sample_table(title: String, rows: &[Value]) -> Table {
    const MAX: usize = 30;
    let mut columns: Vec<String> = Vec::new();
    for r in rows {
        for k in r.as_object().map(|o| o.keys()).into_iter().flatten() {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    if let Some(i) = columns.iter().position(|c| c == "_count") {
        let c = columns.remove(i);
        columns.insert(0, c);
    }
    let cell_text = |v: Option<&Value>| {
        let s = match v {
            None | Some(Value::Null) => "null".to_string(),
            Some(v) => show(v),
        };
        if s.chars().count() > MAX {
            format!("{}…", s.chars().take(MAX - 1).collect::<String>())
        } else {
            s
        }
    };
    let mut t = Table::new(
        columns
            .iter()
            .map(|c| {
                if c == "_count" {
                    Column::new("×").right()
                } else {
                    Column::new(c).code()
                }
            })
            .collect(),
    )
    .titled(title)
    .with_header()
    .of_data();
    for r in rows {
        t.row(columns.iter().map(|c| cell_text(r.get(c))).collect());
    }
    t
}

/// Partitions listed in a report (all of them are in the JSON report).
const PARTITIONS_SHOWN: usize = 20;

/// The partitions that differ: id and row count on each side.
fn partition_table(p: &PartitionReport) -> Table {
    let shown = p.differing.len().min(PARTITIONS_SHOWN);
    let more = if p.differing_count > shown {
        format!(", the first {shown} here, all in the JSON report")
    } else {
        String::new()
    };
    let pruned = if p.row_diff_pruned {
        "; the row diff read only these"
    } else {
        ""
    };
    let mut t = Table::new(vec![
        Column::new("partition").code(),
        Column::new("rows in A").right(),
        Column::new("rows in B").right(),
    ])
    .titled(format!(
        "partitions that differ ({} of {}, on {}{more}{pruned})",
        report::thousands(p.differing_count),
        report::thousands(p.total),
        p.column
    ))
    .with_header();
    for d in p.differing.iter().take(shown) {
        t.row(vec![
            d.id.clone(),
            d.rows_a.to_string(),
            d.rows_b.to_string(),
        ]);
    }
    t
}

/// What a pair's result shows, in the text report and Markdown alike. Example rows are table
/// data (left out of public renderings).
fn blocks(o: &PairOutcome, price_per_tib: f64) -> Vec<Block> {
    let mut out = Vec::new();
    if !o.dry_run.is_empty() {
        for q in &o.dry_run {
            out.push(Block::Code {
                title: format!("{}: ~{} bytes", q.step, q.estimated_bytes),
                text: q.sql.clone(),
            });
        }
        return out;
    }
    if !o.plan.left_out.is_empty() {
        let mut t = Table::new(vec![Column::new("column").code(), Column::new("why")])
            .titled("not compared")
            .with_header();
        for l in &o.plan.left_out {
            t.row(vec![l.column.clone(), l.reason.clone()]);
        }
        out.push(Block::Table(t));
    }
    let differing: Vec<_> = o.columns.iter().filter(|c| c.differs).collect();
    if !differing.is_empty() {
        let mut t = Table::new(vec![Column::new("column").code(), Column::new("A → B")])
            .titled("columns whose statistics differ")
            .with_header();
        for c in differing {
            t.row(vec![c.name.clone(), stat_line(c)]);
        }
        out.push(Block::Table(t));
    }
    if let Some(p) = o
        .partitions
        .as_ref()
        .filter(|p| p.differing_count > 0 && o.identical == Some(false))
    {
        out.push(Block::Table(partition_table(p)));
    }
    if let Some(r) = &o.rows {
        let how = if r.key.is_empty() {
            "rows compared as a multiset (no key)".to_string()
        } else {
            format!(
                "rows joined on key ({}) {}",
                o.plan.key_source,
                r.key.join(", ")
            )
        };
        let changed = if r.key.is_empty() {
            String::new()
        } else if r.within_tolerance > 0 {
            format!(
                ", {} changed, {} equal within the column rules",
                r.changed, r.within_tolerance
            )
        } else {
            format!(", {} changed", r.changed)
        };
        let mut facts = vec![(
            how,
            format!(
                "{} only in A, {} only in B{changed}",
                r.only_in_a, r.only_in_b
            ),
        )];
        if r.duplicate_keys_a + r.duplicate_keys_b > 0 {
            facts.push((
                "duplicate keys (not compared)".into(),
                format!("{} in A, {} in B", r.duplicate_keys_a, r.duplicate_keys_b),
            ));
        }
        out.push(Block::KeyValues(facts));
        if !r.changed_by_column.is_empty() {
            let mut t = Table::new(vec![
                Column::new("column").code(),
                Column::new("rows changed").right(),
            ])
            .titled("changed rows by column")
            .with_header();
            for (col, n) in &r.changed_by_column {
                t.row(vec![col.clone(), n.to_string()]);
            }
            out.push(Block::Table(t));
        }
        if !r.within_tolerance_by_column.is_empty() {
            let mut t = Table::new(vec![
                Column::new("column").code(),
                Column::new("rule"),
                Column::new("rows equal only under it").right(),
            ])
            .titled("rows equal within the column rules, by column")
            .with_header();
            for (col, n) in &r.within_tolerance_by_column {
                let rule = o
                    .plan
                    .columns
                    .iter()
                    .find(|c| &c.path == col)
                    .and_then(|c| c.rule.as_ref())
                    .map(|r| r.describe())
                    .unwrap_or_default();
                t.row(vec![col.clone(), rule, n.to_string()]);
            }
            out.push(Block::Table(t));
        }
        for (label, rows, total) in [
            ("only in A", &r.samples.only_in_a, r.only_in_a),
            ("only in B", &r.samples.only_in_b, r.only_in_b),
        ] {
            if !rows.is_empty() {
                let title = format!("{label} ({} of {total})", rows.len());
                out.push(Block::Table(sample_table(title, rows)));
            }
        }
        if !r.samples.changed.is_empty() {
            let mut t = Table::new(vec![Column::new("key"), Column::new("changes (A → B)")])
                .titled(format!(
                    "changed ({} of {})",
                    r.samples.changed.len(),
                    r.changed
                ))
                .with_header()
                .of_data();
            for c in &r.samples.changed {
                let key: Vec<String> = c
                    .key
                    .iter()
                    .map(|(k, v)| format!("{k}={}", show(v)))
                    .collect();
                let ch: Vec<String> = c
                    .changes
                    .iter()
                    .map(|v| format!("{}: {} → {}", v.column, show(&v.a), show(&v.b)))
                    .collect();
                t.row(vec![key.join(" "), ch.join("; ")]);
            }
            out.push(Block::Table(t));
        }
    }
    out.extend(o.notes.iter().cloned().map(Block::Note));
    if o.identical.is_some() {
        let cached = match o.queries.cached {
            0 => String::new(),
            n => format!(" ({n} from the cache)"),
        };
        out.push(Block::Stats(vec![
            ("queries".into(), format!("{}{cached}", o.queries.count)),
            (
                "cost".into(),
                report::cost_line(&o.queries.usage, price_per_tib),
            ),
        ]));
    }
    out
}

impl CheckResults for TableCompareView {
    type Item = Pair;
    type Value = PairOutcome;
    type SummaryJson = PairCounts;
    type IdJson = PairId;
    type ItemJson<'a> = ComparisonJson<'a>;
    type ExtraJson = NoExtra;

    fn tool(&self) -> &'static str {
        "bq-table-compare"
    }
    fn noun(&self) -> &'static str {
        "pair"
    }
    fn title(&self) -> &'static str {
        "Batch Table Compare Summary"
    }
    fn differs(&self, o: &PairOutcome) -> bool {
        o.identical == Some(false)
    }
    fn same(&self, o: &PairOutcome) -> bool {
        o.identical == Some(true)
    }
    fn fails(&self, o: &PairOutcome) -> bool {
        self.differs(o) && self.fail_on != CompareFailOn::Never
    }
    fn details(&self, o: &PairOutcome) -> Details {
        Details {
            headline: headline(o, self.price_per_tib),
            blocks: blocks(o, self.price_per_tib),
        }
    }
    fn summary_counts(&self, t: &Tally) -> Vec<(String, usize)> {
        vec![
            ("Identical".into(), t.identical),
            ("Different".into(), t.different),
        ]
    }
    /// Reported; a failure only with `--fail-on any-or-missing`.
    fn one_sided(&self, only_in: OnlyIn) -> OneSided {
        let (here, there) = match only_in {
            OnlyIn::A => ("A", "B"),
            OnlyIn::B => ("B", "A"),
        };
        OneSided {
            headline: format!(
                "only in {here}: {there}'s dataset has no table of this name, so there is no data to compare"
            ),
            fails: self.fail_on == CompareFailOn::AnyOrMissing,
            breaking: false,
        }
    }
    fn summary_json(&self, t: &Tally) -> PairCounts {
        t.into()
    }
    fn list_key(&self) -> &'static str {
        "comparisons"
    }
    fn id_json(&self, pair: &Pair) -> PairId {
        pair.into()
    }
    fn item_json<'a>(&'a self, pair: &'a Pair, o: &'a PairOutcome) -> ComparisonJson<'a> {
        ComparisonJson {
            id: pair.into(),
            identical: o.identical,
            row_count: o.row_count.map(|(a, b)| RowCountJson { a, b }),
            fingerprints_equal: o.fingerprints_equal,
            schema: SchemaJson {
                identical: o.schema_changes.is_empty(),
                changes: &o.schema_changes,
                compared_columns: &o.plan.columns,
                left_out: &o.plan.left_out,
            },
            columns: &o.columns,
            rows: o.rows.as_ref(),
            notes: &o.notes,
            partitions: o.partitions.as_ref(),
            queries: QueriesJson {
                stats: &o.queries,
                cost_usd: o.queries.usage.cost(self.price_per_tib),
            },
            dry_run: &o.dry_run,
        }
    }
    fn extra_json(&self) -> NoExtra {
        NoExtra {}
    }
    fn usage(&self, o: &PairOutcome) -> Usage {
        o.queries.usage
    }
    fn price_per_tib(&self) -> Option<f64> {
        Some(self.price_per_tib)
    }
}

/// `table-compare`: pairs.
pub(crate) struct TableCompare;

impl CheckDef for TableCompare {
    type Args = TableCompareArgs;
    const NAME: &'static str = "table-compare";
    const SECTION: &'static str = "table_compare";
    const ABOUT: &'static str = "Compare the data of table pairs (same flags as bq-table-compare).";
    const ITEMS: Items = Items::Pairs {
        per_pair: true,
        accept: false,
    };
    fn run<'a>(
        args: &'a TableCompareArgs,
        run: &'a Run,
    ) -> BoxFuture<'a, anyhow::Result<Finished>> {
        Box::pin(execute(args, run))
    }
}

/// The rules and renames of flags (or of a pair in the config file), parsed.
pub(crate) fn column_rules(
    flags: &RuleFlags,
    map: &[String],
) -> Result<(Rules, Vec<(String, String)>), String> {
    let rules = Rules::from_flags(flags)?;
    let map = map
        .iter()
        .map(|m| crate::checks::column_rules::mapping(m).map_err(|e| format!("--map: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rules, map))
}

/// Read the pairs, compare them all; the reports are left to the caller.
pub(crate) async fn execute(args: &TableCompareArgs, run: &Run) -> anyhow::Result<Finished> {
    let listed = &run.listed;
    let common = &args.common;
    if let Some(w) = &args.query.where_clause {
        if let Err(e) = tc::validate_where(w) {
            return Ok(Finished::Refused(super::refuse(e)));
        }
    }
    if !(args.tolerance >= 0.0 && args.tolerance.is_finite())
        || args
            .float_tolerance
            .is_some_and(|t| t < 0.0 || !t.is_finite())
    {
        bail!("tolerances must be non-negative numbers");
    }
    let project = run.project.clone();
    let mut items = match super::read_pair_items(&args.input, run, "table_compare")? {
        Ok(p) => p,
        Err(why) => return Ok(Finished::Refused(why)),
    };
    let files: Vec<String> = items
        .pairs
        .iter()
        .flat_map(|p| [&p.a, &p.b])
        .filter(|s| matches!(s, Source::SchemaFile(_)))
        .map(ToString::to_string)
        .collect();
    if !files.is_empty() {
        return Ok(Finished::Refused(super::refuse(format!(
            "bq-table-compare compares tables' data; these are schema files: {}",
            files.join(", ")
        ))));
    }
    // A pair's own key and filter apply when the file's pairs are the ones compared (nothing
    // on the command line or in the action's inputs named a pair). Checked when read.
    let file_pairs_used =
        args.input.pairs.is_empty() && args.input.pairs_file.is_none() && !super::names_any(listed);
    let per_pair = if file_pairs_used {
        run.from_file
            .pairs("table_compare", project.as_deref())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let parallel = parallelism(common);
    let client = client(common)?;
    client.check_auth().await?;
    let one_sided = match items.expand(&client, &args.input.datasets).await {
        Ok(o) => o,
        Err(why) => return Ok(Finished::Refused(why)),
    };
    let pairs = items.pairs;
    // A dbt model's key, unless `--key` or the config file gives its pair one.
    let mut per_pair = per_pair;
    for (pair, key, source) in items.keys {
        if args.key.is_none() && !per_pair.iter().any(|(p, _)| *p == pair) {
            per_pair.push((
                pair,
                crate::config::PairOptions {
                    key: Some(key),
                    key_source: Some(source),
                    ..Default::default()
                },
            ));
        }
    }
    let meta = Arc::new(Metadata::new(Some(Arc::clone(&client)), !common.no_cache));
    let (rules, map) = match column_rules(&args.rule_flags(), &args.map) {
        Ok(r) => r,
        Err(e) => return Ok(Finished::Refused(super::refuse(e))),
    };
    let rules = rules.with_defaults(args.float_tolerance, args.tolerance);
    let opts = CompareOptions {
        key: args.key.clone(),
        key_source: None,
        columns: args.query.columns.clone(),
        exclude_columns: args.exclude_columns.clone(),
        where_clause: args.query.where_clause.clone(),
        skip_stats: args.skip_stats,
        skip_samples: args.skip_samples,
        sample_size: args.sample_size,
        rules,
        map,
    };
    let make_ctx = |dry_run: bool| {
        Arc::new(Ctx {
            meta: Arc::clone(&meta),
            client: Arc::clone(&client),
            job_project: project.clone(),
            opts: opts.clone(),
            per_pair: per_pair.clone(),
            store: super::result_store(common, dry_run),
            dry_run,
            max_bytes_billed: args.query.max_bytes_billed,
            location: args.query.location.clone(),
            partitions: args.query.partitions.clone(),
            caching: !common.no_cache,
        })
    };
    // --max-bytes-per-run: the whole batch's dry runs first (free); over budget, nothing runs.
    if let (Some(budget), false) = (args.query.max_bytes_per_run, args.query.dry_run) {
        let estimate = make_ctx(true);
        let refused = super::check_budget(
            &pairs,
            budget,
            common,
            "pair",
            |pair| {
                let ctx = Arc::clone(&estimate);
                async move { ctx.compare(&pair).await }
            },
            |o: &PairOutcome| o.dry_run.iter().map(|q| q.estimated_bytes).collect(),
        )
        .await;
        if let Some(why) = refused {
            return Ok(Finished::Refused(why));
        }
    }
    let ctx = make_ctx(args.query.dry_run);
    let progress = progress(common, pairs.len(), "Comparing", "pair");
    let results = runner::run_batch(pairs, parallel, common.item_timeout(), &progress, |pair| {
        let ctx = Arc::clone(&ctx);
        async move { ctx.compare(&pair).await }
    })
    .await;
    super::cancel_abandoned_jobs(Some(&ctx.client)).await;
    let batch = TableCompareBatch {
        check: TableCompareView {
            fail_on: args.fail_on,
            price_per_tib: args.query.price_per_tib,
        },
        items: results,
        one_sided,
        timestamp: report::timestamp_now(),
    };
    Ok(Finished::Batch(Box::new(batch)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn samples_print_as_an_aligned_table_of_table_data() {
        let rows = vec![
            json!({"id": 3, "email": null, "note": "x".repeat(40), "_count": 2}),
            json!({"id": 10, "email": "a@b.c", "note": "short", "_count": 1}),
        ];
        let blocks = vec![Block::Table(sample_table(
            "only in A (2 of 2)".into(),
            &rows,
        ))];
        let text = crate::report::doc::text(&blocks, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "  only in A (2 of 2):");
        assert_eq!(lines[1], "    ×  id  email  note");
        assert_eq!(lines[2], format!("    2  3   null   {}…", "x".repeat(29)));
        assert_eq!(lines[3], "    1  10  a@b.c  short");
        assert!(!crate::report::doc::text(&blocks, true).contains("a@b.c"));
    }
}
