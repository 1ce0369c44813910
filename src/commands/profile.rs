//! `bq-profile`: metadata (free) → one profiling query → sample rows (free via tabledata.list)
//! → anomalies and drift.

use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use futures::future::BoxFuture;

use super::{client, parallelism, progress, CheckDef, Finished, Run};
use crate::checks::history::{self as hist, HistoryOptions, HistoryVerdict, Metric, Series};
use crate::checks::partitions;
use crate::checks::profile::{self as pf, Anomaly, ColumnProfile, Severity, Thresholds};
use crate::checks::table_compare::validate_where;
use crate::cli::{ProfileArgs, ProfileFailOn};
use crate::config::Items;
use crate::model::OnlyIn;
use crate::model::TableRef;
use crate::model::{ErrorKind, ItemError, Usage};
use crate::report::batch::{CheckResults, Details, NoExtra, OneSided, Results, TableId, Tally};
use crate::report::doc::{BarChart, Block, Chart, Column, Table};
use crate::report::{self, Annotation, Level, Totals};
use crate::runner;
use crate::warehouse::cache::{Served, Store};
use crate::warehouse::history::{self as history_files, Keep};
use crate::warehouse::query::{QueryOptions, Row};
use crate::warehouse::{Client, Metadata, TableMeta};

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PlannedQuery {
    pub(crate) sql: String,
    pub(crate) estimated_bytes: u64,
}

/// One table's profile.
#[derive(Debug, Clone)]
pub(crate) struct TableProfile {
    pub(crate) metadata: MetadataJson,
    pub(crate) row_count: i64,
    pub(crate) columns: Vec<ColumnProfile>,
    pub(crate) samples: Vec<Row>,
    pub(crate) anomalies: Vec<Anomaly>,
    pub(crate) notes: Vec<String>,
    pub(crate) queries: u32,
    /// What its jobs used.
    pub(crate) usage: Usage,
    pub(crate) dry_run: Vec<PlannedQuery>,
    /// What `--history` said about this run.
    pub(crate) history: Option<HistoryVerdict>,
}

/// How profile's results read, under its gate.
pub(crate) struct ProfileView {
    pub(crate) fail_on: ProfileFailOn,
    /// Anomalies were looked for (`--detect-anomalies` or `--baseline`): finding none is
    /// said, and the summary counts them.
    pub(crate) detecting: bool,
    /// `--price-per-tib`.
    pub(crate) price_per_tib: f64,
}

/// A whole run.
pub(crate) type ProfileBatch = Results<ProfileView>;

/// A previous run's profiles, by table id.
type Baseline = HashMap<String, (i64, Vec<ColumnProfile>)>;

/// Read a previous `--format json` output.
pub(crate) fn load_baseline(path: &Path) -> anyhow::Result<Baseline> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read baseline {}", path.display()))?;
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("baseline {} is not JSON", path.display()))?;
    let profiles = v
        .get("profiles")
        .and_then(Value::as_array)
        .with_context(|| {
            format!(
                "baseline {}: no `profiles` array (expected bq-profile --format json output)",
                path.display()
            )
        })?;
    let mut out = HashMap::new();
    for (i, p) in profiles.iter().enumerate() {
        let id = p.get("table_id").and_then(Value::as_str).with_context(|| {
            format!("baseline {}: profiles[{i}] has no table_id", path.display())
        })?;
        let prof = &p["profile"];
        let rows = prof["row_count"].as_i64().unwrap_or(0);
        let cols: Vec<ColumnProfile> = serde_json::from_value(prof["columns"].clone())
            .with_context(|| {
                format!("baseline {}: profiles[{i}].profile.columns", path.display())
            })?;
        out.insert(id.to_string(), (rows, cols));
    }
    Ok(out)
}

fn rfc3339(ms: Option<i64>) -> Option<String> {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// What `tables.get` told about a table, in the JSON report's `metadata`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct MetadataJson {
    #[serde(rename = "type")]
    table_type: String,
    rows: Option<i64>,
    bytes: Option<i64>,
    created: Option<String>,
    last_modified: Option<String>,
    location: Option<String>,
    partitioning: Option<Value>,
    clustering: Option<Vec<String>>,
    primary_key: Option<Vec<String>>,
    description: Option<String>,
}

impl From<&TableMeta> for MetadataJson {
    fn from(m: &TableMeta) -> Self {
        MetadataJson {
            table_type: m.table_type.clone().unwrap_or_else(|| "TABLE".into()),
            rows: m.num_rows,
            bytes: m.num_bytes,
            created: rfc3339(m.creation_time),
            last_modified: rfc3339(m.last_modified_time),
            location: m.location.clone(),
            partitioning: m
                .time_partitioning
                .as_ref()
                .or(m.range_partitioning.as_ref())
                .cloned(),
            clustering: m.clustering.as_ref().map(|c| c.fields.clone()),
            primary_key: m.primary_key().map(<[String]>::to_vec),
            description: m.description.clone(),
        }
    }
}

/// The JSON report's `batch_summary`.
#[derive(Serialize)]
pub(crate) struct SummaryJson {
    total_tables: usize,
    successful: usize,
    failed: usize,
    tables_with_anomalies: usize,
    anomalies: usize,
}

/// A profiled table in the JSON report.
#[derive(Serialize)]
pub(crate) struct ProfileJson<'a> {
    table_id: String,
    profile: ProfileBody<'a>,
}

#[derive(Serialize)]
struct ProfileBody<'a> {
    metadata: &'a MetadataJson,
    row_count: i64,
    columns: &'a [ColumnProfile],
    samples: &'a [Row],
    anomalies: &'a [Anomaly],
    notes: &'a [String],
    queries: QueriesJson,
    /// Only in a dry run.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    dry_run: &'a [PlannedQuery],
    /// With `--history`: the earlier runs, and each flagged metric's series and band.
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<&'a HistoryVerdict>,
}

#[derive(Serialize)]
struct QueriesJson {
    count: u32,
    #[serde(flatten)]
    usage: Usage,
    cost_usd: f64,
}

/// Partitions × columns beyond which a profile keeps no per-partition record.
const MAX_PARTITION_CELLS: usize = 500_000;

struct Ctx {
    /// Shared by the estimate and the run of a budgeted batch.
    meta: Arc<Metadata>,
    client: Arc<Client>,
    job_project: Option<String>,
    args: ProfileArgs,
    thresholds: Thresholds,
    baseline: Option<Baseline>,
    history: HistoryOptions,
    /// `--history-keep`, parsed once.
    history_keep: Keep,
    store: Store,
}

impl Ctx {
    fn query_opts(&self, location: Option<&str>, dry_run: bool) -> QueryOptions {
        QueryOptions {
            location: self
                .args
                .query
                .location
                .clone()
                .or_else(|| location.map(String::from)),
            max_bytes_billed: self.args.query.max_bytes_billed,
            label: "profile".into(),
            dry_run,
        }
    }

    /// The profile's answer rows, the jobs run and what they used, and notes: through the
    /// result cache, and for a partitioned table through the per-partition record, so that
    /// a table whose partitions mostly did not change is read only where they did.
    async fn profile_rows(
        &self,
        t: &TableRef,
        m: &TableMeta,
        cols: &[pf::ProfileColumn],
        sqls: &[String],
        filter: Option<&str>,
        changed_only: bool,
    ) -> Result<(Vec<Row>, u32, Usage, Vec<String>), ItemError> {
        let by_partition = match self.partition_mode(t, m, cols, filter) {
            Ok(p) => Some(p),
            Err(why) if changed_only => {
                return Err(ItemError::new(
                    ErrorKind::Input,
                    format!("--partitions changed needs the per-partition record, and {why}"),
                ))
            }
            Err(_) => None,
        };
        let Some(p) = by_partition else {
            return self.run_profile(t, m, sqls, filter).await;
        };
        let pid = p.id_sql();
        let grouped = pf::profile_sql_by_partition(t, cols, filter, &pid, true);
        // An unchanged table: the whole grouped answer is stored; no metadata needed.
        let side = [(t, m)];
        if !changed_only
            && grouped
                .iter()
                .all(|q| self.store.would_serve(q, &side, filter))
        {
            let (rows, queries, usage, notes) = self.run_profile(t, m, &grouped, filter).await?;
            let (total, _) = pf::split_partition_rows(rows);
            return Ok((total.into_iter().collect(), queries, usage, notes));
        }
        let project = self.job_project.as_deref().unwrap_or(&t.project);
        let location = m.location.as_deref();
        let (meta, mut usage) = match super::partition_metadata(
            &self.client,
            project,
            t,
            &self.query_opts(location, false),
        )
        .await
        {
            Ok(x) => x,
            Err(why) if changed_only => {
                return Err(ItemError::new(
                    ErrorKind::Input,
                    format!("--partitions changed needs the per-partition record, and {why}"),
                ))
            }
            Err(why) => {
                let (rows, queries, usage, mut notes) =
                    self.run_profile(t, m, sqls, filter).await?;
                notes.push(format!("no per-partition record: {why}"));
                return Ok((rows, queries, usage, notes));
            }
        };
        let mut queries = 1u32;
        // Each partition's statistics are kept (and answered): not for thousands of
        // partitions of a wide table.
        if meta.len().saturating_mul(cols.len()) > MAX_PARTITION_CELLS && !changed_only {
            let (rows, n, u, mut notes) = self.run_profile(t, m, sqls, filter).await?;
            notes.push(format!(
                "no per-partition record: {} partitions × {} columns is more than bqcheck keeps ({})",
                report::thousands(meta.len()),
                report::thousands(cols.len()),
                report::thousands(MAX_PARTITION_CELLS)
            ));
            usage += u;
            return Ok((rows, queries + n, usage, notes));
        }
        let what = format!("per-partition profile\n{}", grouped.join("\n"));
        let stored: Vec<pf::StoredPartition> = self.store.get_entries(t, &what);
        // Metadata that misses rows vouches for nothing.
        let accounted = partitions::accounts_for(&meta, m.num_rows);
        let mut fresh: Vec<&pf::StoredPartition> = stored
            .iter()
            .filter(|s| {
                accounted && partitions::still_fresh(&meta, &s.id, s.modified, s.total_rows)
            })
            .collect();
        let mut stale: Vec<String> = meta
            .iter()
            .filter(|m| !fresh.iter().any(|f| f.id == m.id))
            .map(|m| m.id.clone())
            .collect();
        // Dropped partitions changed too (for --partitions changed).
        stale.extend(
            stored
                .iter()
                .filter(|s| !meta.iter().any(|m| m.id == s.id))
                .map(|s| s.id.clone()),
        );
        stale.sort();
        stale.dedup();
        // Modified partitions that no filter can single out (too many ranges): read all.
        let only = p.only(&stale);
        if only.is_none() && !changed_only {
            fresh.clear();
        }
        let total_partitions = report::thousands(meta.len());
        let store = |parts: &std::collections::BTreeMap<String, Row>, read: &[String]| {
            let rows: Vec<serde_json::Map<String, Value>> = meta
                .iter()
                .filter_map(|pm| {
                    let row = if read.contains(&pm.id) {
                        parts.get(&pm.id).cloned().unwrap_or_default()
                    } else {
                        fresh.iter().find(|f| f.id == pm.id)?.row.clone()
                    };
                    let s = pf::StoredPartition {
                        id: pm.id.clone(),
                        modified: pm.modified?,
                        total_rows: pm.rows,
                        row,
                    };
                    match serde_json::to_value(s) {
                        Ok(Value::Object(o)) => Some(o),
                        _ => None,
                    }
                })
                .collect();
            self.store.put_entry(t, &what, &rows);
        };
        if changed_only {
            // Profile the modified partitions alone (every statistic, over them).
            if stale.is_empty() {
                let note = "--partitions changed: no partition was modified since the last run, so nothing was profiled".to_string();
                return Ok((Vec::new(), queries, usage, vec![note]));
            }
            let only = only.unwrap_or_else(|| "TRUE".into());
            let w = partitions::and(filter, &only);
            let g = pf::profile_sql_by_partition(t, cols, Some(&w), &pid, true);
            let (rows, n, u, mut notes) = self.run_profile(t, m, &g, Some(&w)).await?;
            let (total, parts) = pf::split_partition_rows(rows);
            store(&parts, &stale);
            notes.push(format!(
                "--partitions changed: only the {} partition(s) modified since the last run were profiled: {}",
                report::thousands(stale.len()),
                stale.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
            ));
            usage += u;
            return Ok((total.into_iter().collect(), queries + n, usage, notes));
        }
        if fresh.is_empty() {
            // Nothing stored yet: every statistic in one grouped scan, and the record kept.
            let (rows, n, u, mut notes) = self.run_profile(t, m, &grouped, filter).await?;
            let (total, parts) = pf::split_partition_rows(rows);
            // Every partition found must be one the metadata lists, or the next run could
            // not tell when it changes: then nothing is kept.
            match parts.keys().find(|id| !meta.iter().any(|m| &&m.id == id)) {
                Some(id) => notes.push(format!(
                    "no per-partition record: partition {id} is not in the partition metadata"
                )),
                None => {
                    store(&parts, &stale);
                    notes.push(format!(
                        "per-partition record: all {total_partitions} partitions read; the next run reads only new or modified ones for counts, NULLs, min/max, means and lengths"
                    ));
                }
            }
            usage += u;
            return Ok((total.into_iter().collect(), queries + n, usage, notes));
        }
        // Read only the new and modified partitions, and merge them with the rest.
        let mut parts = std::collections::BTreeMap::new();
        let mut notes = Vec::new();
        if let (false, Some(only)) = (stale.is_empty(), &only) {
            let w = partitions::and(filter, only);
            let g = pf::profile_sql_by_partition(t, cols, Some(&w), &pid, false);
            let (rows, n, u, served) = self.run_profile(t, m, &g, Some(&w)).await?;
            queries += n;
            usage += u;
            notes.extend(served);
            parts = pf::split_partition_rows(rows).1;
            // Only what was asked for (a partition is never counted twice).
            parts.retain(|id, _| stale.contains(id));
            store(&parts, &stale);
        }
        let mut all: Vec<&Row> = fresh
            .iter()
            .filter(|f| !stale.contains(&f.id))
            .map(|f| &f.row)
            .collect();
        all.extend(parts.values());
        let merged = pf::merge_partitions(&all, cols);
        notes.push(format!(
            "per-partition record: {} of {total_partitions} partitions read (new or modified since the last run); counts, NULLs, NaN/±Inf, zeros, negatives, min/max, means and lengths are the whole table's; {} need a full scan (--no-cache) and are left out",
            report::thousands(stale.len()),
            pf::NEEDS_FULL_SCAN
        ));
        Ok((vec![merged], queries, usage, notes))
    }

    /// Why a table's profile cannot keep a per-partition record, or its partitioning.
    fn partition_mode(
        &self,
        t: &TableRef,
        m: &TableMeta,
        cols: &[pf::ProfileColumn],
        filter: Option<&str>,
    ) -> Result<partitions::Partitioning, String> {
        use crate::warehouse::cache;
        if !self.store.enabled() {
            return Err("the cache is off (--no-cache)".into());
        }
        let p = partitions::partitioning(m).map_err(|why| format!("{t}: {why}"))?;
        if let Some(why) = cache::untrusted(m) {
            return Err(format!("{t} is not cached: {why}"));
        }
        if filter.is_some_and(|f| cache::calls_volatile(f) || cache::reads_beyond_its_tables(f)) {
            return Err("the filter can change its rows without the table changing".into());
        }
        let _ = cols;
        Ok(p)
    }

    /// Run the profile's queries through the result cache: their rows, the jobs run, what
    /// they used, and what the cache did (one note for the table).
    async fn run_profile(
        &self,
        t: &TableRef,
        m: &TableMeta,
        sqls: &[String],
        filter: Option<&str>,
    ) -> Result<(Vec<Row>, u32, Usage, Vec<String>), ItemError> {
        let project = self.job_project.as_deref().unwrap_or(&t.project);
        let location = m.location.as_deref();
        let mut rows = Vec::new();
        let (mut queries, mut bytes) = (0u32, Usage::default());
        let mut served_notes = Vec::new();
        let side = [(t, m)];
        for sql in sqls {
            let (r, served) = self
                .store
                .query(
                    &self.client,
                    project,
                    sql,
                    &self.query_opts(location, false),
                    &side,
                    filter,
                )
                .await
                .map_err(ItemError::from)?;
            if !matches!(served, Served::Cached { .. }) {
                queries += 1;
                bytes += r.usage;
            }
            // One note for the table, not one per query of a split profile.
            if let Some(n) = served.note("profile") {
                if !served_notes.contains(&n) {
                    served_notes.push(n);
                }
            }
            rows.extend(r.rows);
        }
        Ok((rows, queries, bytes, served_notes))
    }

    /// `--history DIR`: judge this run against the table's earlier runs, then keep it with
    /// them. Returns the verdict and the notes (skipped lines, too few runs).
    fn judge_and_keep(
        &self,
        dir: &Path,
        t: &TableRef,
        m: &TableMeta,
        row_count: i64,
        columns: &[ColumnProfile],
    ) -> (HistoryVerdict, Vec<String>) {
        let table = t.to_string();
        let now = chrono::Utc::now().timestamp_millis();
        // A filtered profile's runs are kept apart from the table's whole.
        let q = &self.args.query;
        let filters: Vec<String> = [
            q.where_clause.as_ref().map(|w| format!("--where {w}")),
            q.partitions.as_ref().map(|p| format!("--partitions {p}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        let scope = (!filters.is_empty()).then(|| filters.join(" "));
        let record = hist::record(
            &table,
            now,
            row_count,
            m.last_modified_time,
            columns,
            q.columns.is_some(),
            scope,
        );
        let read = history_files::read(dir, &table, now);
        let mut notes = read.warnings;
        let past = history_files::kept(read.runs, now, self.history_keep);
        let verdict = hist::judge(&record, &past, &self.history);
        notes.extend(verdict.notes.iter().cloned());
        if !read.unreadable {
            let runs = history_files::with_run(past, record);
            if let Err(e) = history_files::write(dir, &table, &read.foreign, &runs) {
                notes.push(e);
            }
        }
        (verdict, notes)
    }

    async fn profile(&self, t: &TableRef) -> Result<TableProfile, ItemError> {
        let err = ItemError::from;
        let m = self
            .meta
            .get(&crate::model::Source::Table(t.clone()))
            .await?;
        let (cols, skipped) = pf::columns(&m, self.args.query.columns.as_deref())
            .map_err(|e| ItemError::new(ErrorKind::Input, e))?;
        let mut notes: Vec<String> = skipped
            .iter()
            .map(|s| format!("not profiled: {s}"))
            .collect();
        // --where, and the --partitions predicate on this table's partition column.
        let mut filter = self.args.query.where_clause.clone();
        let changed_only = self.args.query.partitions.as_deref().map(str::trim) == Some("changed");
        if let Some(spec) = self
            .args
            .query
            .partitions
            .as_ref()
            .filter(|_| !changed_only)
        {
            let (p, note) = super::partition_filter(spec, &[(t.to_string(), &*m)])?;
            filter = Some(crate::checks::partitions::and(filter.as_deref(), &p));
            notes.push(note);
        }
        // A table that requires a partition filter gets one that admits every row (it reads
        // what no filter would, so the samples stay).
        let sql_filter = if m.requires_partition_filter() {
            let p = partitions::partitioning(&m).map_err(|why| {
                ItemError::new(
                    ErrorKind::Input,
                    format!("{t} requires a partition filter, but {why}"),
                )
            })?;
            Some(partitions::and(filter.as_deref(), &p.admit_all()))
        } else {
            filter.clone()
        };
        let sqls = pf::profile_sql(t, &cols, sql_filter.as_deref());
        let project = self.job_project.as_deref().unwrap_or(&t.project);
        let location = m.location.as_deref();
        if sqls.len() > 1 {
            notes.push(format!(
                "{} columns: split into {} queries of at most {} columns to stay under BigQuery's query limits",
                cols.len(),
                sqls.len(),
                pf::COLUMNS_PER_QUERY
            ));
        }
        // A view has no table data: its sample rows take a LIMIT query (which can bill a whole
        // scan of what the view reads), planned in a dry run like the profile queries.
        let virtual_table = matches!(
            m.table_type.as_deref(),
            Some("VIEW") | Some("MATERIALIZED_VIEW") | Some("EXTERNAL")
        );
        let sample_sql =
            (virtual_table && self.args.sample_size > 0 && filter.is_none()).then(|| {
                format!(
                    "SELECT * FROM {} LIMIT {}",
                    t.sql_ident(),
                    self.args.sample_size
                )
            });
        if self.args.query.dry_run {
            let mut planned = Vec::new();
            // A partitioned table's run reads its partition metadata (not dry-run: BigQuery
            // bills it 10 MiB, its minimum for INFORMATION_SCHEMA, as the budget counts any query).
            if !self.args.common.no_cache
                && partitions::partitioning(&m).is_ok()
                && crate::warehouse::cache::untrusted(&m).is_none()
            {
                planned.push(PlannedQuery {
                    sql: partitions::metadata_sql(t),
                    estimated_bytes: crate::model::MIN_BILLED_PER_QUERY,
                });
            }
            for sql in sqls.iter().cloned().chain(sample_sql.clone()) {
                let r = self
                    .client
                    .query(project, &sql, &self.query_opts(location, true))
                    .await
                    .map_err(err)?;
                planned.push(PlannedQuery {
                    sql,
                    estimated_bytes: r.usage.bytes_processed,
                });
            }
            return Ok(TableProfile {
                metadata: MetadataJson::from(m.as_ref()),
                row_count: m.num_rows.unwrap_or(0),
                columns: Vec::new(),
                samples: Vec::new(),
                anomalies: Vec::new(),
                notes,
                queries: 0,
                usage: Usage::default(),
                dry_run: planned,
                history: None,
            });
        }
        // The profile query and the samples go out together: one round trip, not two.
        // Through the result cache: an unchanged table is not scanned again.
        let profile = self.profile_rows(t, &m, &cols, &sqls, sql_filter.as_deref(), changed_only);
        // Samples: free through tabledata.list; views (and other virtual tables) have no table
        // data, so they take one small LIMIT query.
        let samples = async {
            // tabledata.list is free but cannot filter rows: with --where its rows could be
            // ones the predicate excludes, so none are shown.
            if self.args.sample_size == 0 || filter.is_some() || changed_only {
                return Ok::<_, ItemError>((Vec::new(), 0u32, Usage::default()));
            }
            if let Some(sql) = &sample_sql {
                let r = self
                    .client
                    .query(project, sql, &self.query_opts(location, false))
                    .await
                    .map_err(err)?;
                let usage = r.usage;
                Ok((r.rows, 1, usage))
            } else {
                let rows = self
                    .client
                    .list_rows(t, m.fields(), self.args.sample_size)
                    .await
                    .map_err(err)?;
                Ok((rows, 0, Usage::default()))
            }
        };
        let (profile, samples) = futures::join!(profile, samples);
        let (rows, mut queries, mut bytes, served_notes) = profile?;
        notes.extend(served_notes);
        let (mut samples, sample_queries, sample_bytes) = samples?;
        if filter.is_some() && self.args.sample_size > 0 {
            notes.push(
                "no sample rows with --where or --partitions: tabledata.list (free) cannot filter them".into(),
            );
        }
        // With --columns, the samples show the selected columns only.
        if let Some(selected) = &self.args.query.columns {
            let tops: Vec<String> = selected
                .iter()
                .map(|c| c.split('.').next().unwrap_or(c).to_lowercase())
                .collect();
            for row in &mut samples {
                row.retain(|k, _| tops.contains(&k.to_lowercase()));
            }
        }
        if sample_queries > 0 {
            notes.push("a view has no table data: samples came from a LIMIT query".into());
        }
        queries += sample_queries;
        bytes += sample_bytes;
        let (row_count, columns) = pf::read_profile(&rows, &cols);
        let mut anomalies = Vec::new();
        // With --partitions changed, the profile is of some partitions: no table-level rules.
        if changed_only && (self.args.detect_anomalies || self.baseline.is_some()) {
            notes.push("--partitions changed: anomalies and drift are not checked on a profile of some partitions".into());
        }
        if self.args.detect_anomalies && !changed_only {
            let now = chrono::Utc::now().timestamp_millis();
            anomalies.extend(pf::detect(row_count, &columns, &m, &self.thresholds, now));
        }
        // History: the earlier runs in --history DIR judge this one (when there are enough
        // of them, instead of --baseline); then this run joins them.
        let mut history = None;
        if changed_only && self.args.history.is_some() {
            notes.push("--partitions changed: the history is not judged nor added to (a profile of some partitions)".into());
        }
        if let Some(dir) = self.args.history.as_ref().filter(|_| !changed_only) {
            let (verdict, history_notes) = self.judge_and_keep(dir, t, &m, row_count, &columns);
            notes.extend(history_notes);
            anomalies.extend(verdict.anomalies.iter().cloned());
            history = Some(verdict);
        }
        let history_judged = history.as_ref().is_some_and(|h| h.used);
        if history_judged && self.baseline.is_some() {
            notes.push("drift is judged against the history, not --baseline".into());
        }
        if let Some(base) = self
            .baseline
            .as_ref()
            .filter(|_| !changed_only && !history_judged)
        {
            match base.get(&t.to_string()) {
                Some((base_rows, base_cols)) => {
                    // With --columns, the baseline's other columns were not profiled this
                    // time: they did not go away.
                    let selected: Vec<ColumnProfile> = match &self.args.query.columns {
                        Some(_) => base_cols
                            .iter()
                            .filter(|b| columns.iter().any(|c| c.name == b.name))
                            .cloned()
                            .collect(),
                        None => base_cols.clone(),
                    };
                    anomalies.extend(pf::drift(
                        row_count,
                        &columns,
                        *base_rows,
                        &selected,
                        &self.thresholds,
                    ))
                }
                None => notes.push("not in the baseline: no drift computed".into()),
            }
        }
        anomalies.sort_by_key(|a| std::cmp::Reverse(a.severity));
        Ok(TableProfile {
            metadata: MetadataJson::from(m.as_ref()),
            row_count,
            columns,
            samples,
            anomalies,
            notes,
            queries,
            usage: bytes,
            dry_run: Vec::new(),
            history,
        })
    }
}

fn short(v: &Option<Value>, width: usize) -> String {
    let s = match v {
        None => String::new(),
        // Table data, on one line: control characters escaped.
        Some(Value::String(s)) => crate::report::one_line(s),
        Some(other) => other.to_string(),
    };
    if s.chars().count() > width {
        let cut: String = s.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn column_table(cols: &[ColumnProfile]) -> Table {
    let mut t = Table::new(vec![
        Column::new("column").code(),
        Column::new("type"),
        Column::new("nulls").right(),
        Column::new("distinct").right(),
        Column::new("min"),
        Column::new("max"),
        Column::new("mean").right(),
    ])
    .with_header();
    for c in cols {
        let ty = if c.mode == "REPEATED" {
            format!("ARRAY<{}>", c.col_type)
        } else {
            c.col_type.clone()
        };
        let nulls = match (c.nulls, c.null_rate) {
            (Some(n), Some(r)) => format!("{n} ({:.1}%)", r * 100.0),
            _ => c
                .array
                .as_ref()
                .and_then(|a| a.empty)
                .map(|e| format!("{e} empty []"))
                .unwrap_or_default(),
        };
        t.row(vec![
            c.name.clone(),
            ty,
            nulls,
            c.distinct.map(|d| d.to_string()).unwrap_or_default(),
            short(&c.min, 24),
            short(&c.max, 24),
            c.mean
                .map(|m| {
                    format!("{m:.4}")
                        .trim_end_matches('0')
                        .trim_end_matches('.')
                        .to_string()
                })
                .unwrap_or_default(),
        ]);
    }
    t
}

fn headline(p: &TableProfile, price_per_tib: f64) -> String {
    if !p.dry_run.is_empty() {
        return report::dry_run_headline(
            &p.dry_run
                .iter()
                .map(|q| q.estimated_bytes)
                .collect::<Vec<_>>(),
            price_per_tib,
        );
    }
    let errors = p
        .anomalies
        .iter()
        .filter(|a| a.severity == Severity::Error)
        .count();
    let mut s = format!(
        "{} rows, {} columns, {}",
        p.row_count,
        p.columns.len(),
        p.metadata.table_type
    );
    if !p.anomalies.is_empty() {
        let _ = write!(
            s,
            ", {} anomal{} ({errors} error{})",
            p.anomalies.len(),
            if p.anomalies.len() == 1 { "y" } else { "ies" },
            if errors == 1 { "" } else { "s" }
        );
    }
    s
}

/// What a table's profile shows, in the text report and Markdown alike; `detecting`: say so
/// when anomaly detection found nothing. Sample rows are table data.
fn blocks(p: &TableProfile, detecting: bool, price_per_tib: f64) -> Vec<Block> {
    if !p.dry_run.is_empty() {
        return p
            .dry_run
            .iter()
            .map(|q| Block::Code {
                title: format!("profile query: ~{} bytes", q.estimated_bytes),
                text: q.sql.clone(),
            })
            .collect();
    }
    let m = &p.metadata;
    let known = |v: Option<String>| v.unwrap_or_else(|| "?".into());
    let mut facts = vec![
        ("created".to_string(), known(m.created.clone())),
        ("last modified".to_string(), known(m.last_modified.clone())),
        ("bytes".to_string(), known(m.bytes.map(|b| b.to_string()))),
    ];
    if let Some(k) = &m.primary_key {
        facts.push(("primary key".into(), k.join(", ")));
    }
    let mut out = vec![
        Block::KeyValues(facts),
        Block::Table(column_table(&p.columns)),
    ];
    for c in &p.columns {
        let (nan, inf) = (c.nan_count.unwrap_or(0), c.inf_count.unwrap_or(0));
        if nan + inf > 0 {
            out.push(Block::Note(format!(
                "{}: {nan} NaN, {inf} ±Inf (left out of min/max (NaN), mean, stddev and quantiles)",
                c.name
            )));
        }
    }
    if !p.anomalies.is_empty() {
        let mut t = Table::new(vec![
            Column::new("severity"),
            Column::new("column").code(),
            Column::new("rule"),
            Column::new("evidence"),
            Column::new("why it matters").aside(),
        ])
        .titled("anomalies")
        .with_header();
        for a in &p.anomalies {
            t.row(vec![
                a.severity.to_string(),
                a.column.clone().unwrap_or_default(),
                a.rule.to_string(),
                a.evidence.clone(),
                a.explanation.clone(),
            ]);
        }
        out.push(Block::Table(t));
    } else if detecting {
        out.push(Block::KeyValues(vec![(
            "anomalies".into(),
            "none found".into(),
        )]));
    }
    // History: a chart of each flagged metric, and of the row count when anything is flagged.
    // At most CHARTS_PER_TABLE: the row count, then the flagged metrics in order (a lost load
    // can flag every column's distinct count; the anomalies table lists them all).
    if let Some(h) = p.history.as_ref().filter(|h| h.used) {
        let any = h.series.iter().any(|s| s.flagged);
        for s in h
            .series
            .iter()
            .filter(|s| s.flagged || any)
            .take(CHARTS_PER_TABLE)
        {
            out.push(Block::Chart(chart_of(s, h)));
        }
    }
    if !p.samples.is_empty() {
        out.push(Block::List {
            title: format!("sample rows ({})", p.samples.len()),
            items: p
                .samples
                .iter()
                .map(|r| Value::Object(r.clone()).to_string())
                .collect(),
            data: true,
        });
    }
    out.extend(p.notes.iter().cloned().map(Block::Note));
    out.push(Block::Stats(vec![
        ("queries".into(), p.queries.to_string()),
        ("cost".into(), report::cost_line(&p.usage, price_per_tib)),
    ]));
    out
}

/// Charts drawn per table, and runs per chart (the latest): a PR comment has room for them.
const CHARTS_PER_TABLE: usize = 6;
const RUNS_PER_CHART: usize = 60;

/// A metric's history as a chart: the earlier runs (the latest [`RUNS_PER_CHART`]), this run
/// last, and the usual band.
fn chart_of(s: &Series, h: &HistoryVerdict) -> Chart {
    let skip = s.values.len().saturating_sub(RUNS_PER_CHART - 1);
    let mut labels: Vec<String> =
        s.at.iter()
            .skip(skip)
            .map(|t| t.get(5..10).unwrap_or(t).to_string())
            .collect();
    labels.push("now".into());
    let mut values: Vec<Option<f64>> = s.values.iter().skip(skip).copied().collect();
    values.push(Some(s.current));
    Chart {
        title: format!(
            "{}: {} runs{}",
            s.metric,
            values.len(),
            if h.seasonality.is_some() {
                ", band of the same weekday"
            } else {
                ""
            }
        ),
        labels,
        values,
        low: s.low,
        high: s.high,
        flagged: s.flagged,
        percent: matches!(s.kind, Metric::NullRate(_)),
        integer: matches!(s.kind, Metric::Rows | Metric::Distinct(_)),
    }
}

impl CheckResults for ProfileView {
    type Item = TableRef;
    type Value = TableProfile;
    type SummaryJson = SummaryJson;
    type IdJson = TableId;
    type ItemJson<'a> = ProfileJson<'a>;
    type ExtraJson = NoExtra;

    fn tool(&self) -> &'static str {
        "bq-profile"
    }
    /// With `--history`: each judged table's row count as a percentage of its usual level
    /// (the band's median; 100 is usual), the 20 furthest from it, when any table is flagged.
    fn overview(&self, items: &[(&TableRef, &TableProfile)]) -> Option<BarChart> {
        let mut bars: Vec<(String, f64, bool)> = items
            .iter()
            .filter_map(|(t, p)| {
                let h = p.history.as_ref().filter(|h| h.used)?;
                let rows = h.series.iter().find(|s| s.kind == Metric::Rows)?;
                // A table usually empty has no level to be a percentage of.
                if rows.median <= 0.0 {
                    return None;
                }
                let level = rows.current / rows.median * 100.0;
                Some((
                    format!("{}.{}", t.dataset, t.table),
                    level,
                    h.series.iter().any(|s| s.flagged),
                ))
            })
            .collect();
        if !bars.iter().any(|b| b.2) {
            return None;
        }
        // Flagged tables first, then the furthest from their usual level.
        bars.sort_by(|a, b| {
            b.2.cmp(&a.2)
                .then((b.1 - 100.0).abs().total_cmp(&(a.1 - 100.0).abs()))
        });
        bars.truncate(20);
        Some(BarChart {
            title: format!(
                "row count as % of its usual level (100), {} table(s)",
                bars.len()
            ),
            labels: bars.iter().map(|b| b.0.clone()).collect(),
            values: bars.iter().map(|b| b.1).collect(),
            unit: "% of usual".into(),
            reference: Some(100.0),
        })
    }
    fn noun(&self) -> &'static str {
        "table"
    }
    fn title(&self) -> &'static str {
        "Batch Profile Summary"
    }
    fn differs(&self, p: &TableProfile) -> bool {
        !p.anomalies.is_empty()
    }
    fn fails(&self, p: &TableProfile) -> bool {
        match self.fail_on {
            ProfileFailOn::Anomalies => !p.anomalies.is_empty(),
            ProfileFailOn::Errors => p.anomalies.iter().any(|a| a.severity == Severity::Error),
            ProfileFailOn::Never => false,
        }
    }
    /// A table of the baseline that its dataset no longer holds: reported; a failure only
    /// with `--fail-on anomalies`.
    fn one_sided(&self, only_in: OnlyIn) -> OneSided {
        OneSided {
            headline: match only_in {
                OnlyIn::B => "only in the baseline: the dataset no longer has this table".into(),
                OnlyIn::A => "not in the baseline".into(),
            },
            fails: self.fail_on == ProfileFailOn::Anomalies,
            breaking: false,
        }
    }
    fn details(&self, p: &TableProfile) -> Details {
        Details {
            headline: headline(p, self.price_per_tib),
            blocks: blocks(p, self.detecting, self.price_per_tib),
        }
    }
    fn extra_totals(&self, values: &[&TableProfile]) -> (usize, usize) {
        (0, values.iter().map(|p| p.anomalies.len()).sum())
    }
    fn summary_counts(&self, t: &Tally) -> Vec<(String, usize)> {
        let mut out = vec![
            ("Successful".into(), t.checked),
            ("Failed".into(), t.failed),
        ];
        if self.detecting {
            out.push(("Tables with anomalies".into(), t.different));
            out.push(("Anomalies".into(), t.anomalies));
        }
        out
    }
    fn summary_json(&self, t: &Tally) -> SummaryJson {
        SummaryJson {
            total_tables: t.total,
            successful: t.checked,
            failed: t.failed,
            tables_with_anomalies: t.different,
            anomalies: t.anomalies,
        }
    }
    fn list_key(&self) -> &'static str {
        "profiles"
    }
    fn id_json(&self, t: &TableRef) -> TableId {
        TableId {
            table_id: t.to_string(),
        }
    }
    fn item_json<'a>(&'a self, t: &'a TableRef, p: &'a TableProfile) -> ProfileJson<'a> {
        ProfileJson {
            table_id: t.to_string(),
            profile: ProfileBody {
                metadata: &p.metadata,
                row_count: p.row_count,
                columns: &p.columns,
                samples: &p.samples,
                anomalies: &p.anomalies,
                notes: &p.notes,
                queries: QueriesJson {
                    count: p.queries,
                    usage: p.usage,
                    cost_usd: p.usage.cost(self.price_per_tib),
                },
                dry_run: &p.dry_run,
                history: p.history.as_ref(),
            },
        }
    }
    fn extra_json(&self) -> NoExtra {
        NoExtra {}
    }
    fn usage(&self, p: &TableProfile) -> Usage {
        p.usage
    }
    fn price_per_tib(&self) -> Option<f64> {
        Some(self.price_per_tib)
    }
    fn failed_title(&self, t: &TableRef) -> String {
        format!("Profile failed: {t}")
    }
    /// Each table with anomalies, as loud as its worst one (an error only when it fails the
    /// gate), listing them.
    fn annotations(&self, t: &TableRef, p: &TableProfile) -> Vec<Annotation> {
        if p.anomalies.is_empty() {
            return Vec::new();
        }
        let worst = p.anomalies.iter().map(|a| a.severity).max();
        let (level, rank) = match worst {
            Some(Severity::Error) if self.fails(p) => (Level::Error, 2),
            Some(Severity::Error) | Some(Severity::Warning) => (Level::Warning, 3),
            _ => (Level::Notice, 3),
        };
        let n = p.anomalies.len();
        let message = p
            .anomalies
            .iter()
            .map(|a| match &a.column {
                Some(c) => format!("{} {} ({c}): {}", a.severity, a.rule, a.evidence),
                None => format!("{} {}: {}", a.severity, a.rule, a.evidence),
            })
            .collect::<Vec<_>>()
            .join("\n");
        vec![Annotation {
            level,
            rank,
            title: format!("{n} anomal{}: {t}", if n == 1 { "y" } else { "ies" }),
            message,
        }]
    }
    fn findings(&self, totals: &Totals) -> Vec<String> {
        vec![format!(
            "{} with anomalies ({} anomal{})",
            totals.different,
            totals.anomalies,
            if totals.anomalies == 1 { "y" } else { "ies" }
        )]
    }
    fn nothing_found(&self) -> &'static str {
        "no anomalies"
    }
}

/// `profile`: tables, one query each.
pub(crate) struct Profile;

impl CheckDef for Profile {
    type Args = ProfileArgs;
    const NAME: &'static str = "profile";
    const SECTION: &'static str = "profile";
    const ABOUT: &'static str = "Profile tables (same flags as bq-profile).";
    const ITEMS: Items = Items::Tables;
    fn run<'a>(args: &'a ProfileArgs, run: &'a Run) -> BoxFuture<'a, anyhow::Result<Finished>> {
        Box::pin(execute(args, run))
    }
}

/// Read the tables, profile them all; the reports are left to the caller.
pub(crate) async fn execute(args: &ProfileArgs, run: &Run) -> anyhow::Result<Finished> {
    let common = &args.common;
    if let Some(w) = &args.query.where_clause {
        if let Err(e) = validate_where(w) {
            return Ok(Finished::Refused(super::refuse(e)));
        }
    }
    let project = run.project.clone();
    let datasets = match super::dataset_specs(&args.datasets, project.as_deref(), false) {
        Ok(d) => d,
        Err(why) => return Ok(Finished::Refused(why)),
    };
    let mut tables = match super::read_tables(
        &args.tables,
        run,
        project.as_deref(),
        "profile",
        "profile",
        !datasets.is_empty(),
    )? {
        Ok(t) => t,
        Err(why) => return Ok(Finished::Refused(why)),
    };
    let baseline = match &args.baseline {
        Some(p) => match load_baseline(p) {
            Ok(b) => Some(b),
            Err(e) => {
                return Ok(Finished::Refused(super::refuse(format!("{e:#}"))));
            }
        },
        None => None,
    };
    if let Some(dir) = args.history.as_ref().filter(|d| d.exists() && !d.is_dir()) {
        return Ok(Finished::Refused(super::refuse(format!(
            "--history {}: not a directory",
            dir.display()
        ))));
    }
    // Checked by the flag's own parser; the default if that ever disagrees.
    let history_keep = Keep::parse(&args.history_keep).unwrap_or(Keep::Runs(90));
    let history = HistoryOptions {
        min_runs: usize::from(args.history_min_runs),
        k: args.history_band,
        weekly: args.seasonality == crate::cli::Seasonality::Weekly,
    };
    let fail_on = args.fail_on.unwrap_or(
        if args.detect_anomalies || baseline.is_some() || args.history.is_some() {
            ProfileFailOn::Errors
        } else {
            ProfileFailOn::Never
        },
    );
    let parallel = parallelism(common);
    let client = client(common)?;
    client.check_auth().await?;
    let mut one_sided = Vec::new();
    if !datasets.is_empty() {
        let found = match super::expand_datasets(&client, &datasets, &args.datasets).await {
            Ok(f) => f,
            Err(why) => return Ok(Finished::Refused(why)),
        };
        tables.extend(found.tables);
        let (t, _) = crate::input::dedup(tables, "table");
        tables = t;
        if let Some(b) = &baseline {
            one_sided = gone_since_baseline(b, &datasets, &args.datasets, &tables);
        }
    }
    let thresholds = Thresholds {
        null_rate: args.null_rate_threshold,
        outlier_iqr: args.outlier_iqr,
        stale_after_days: args.stale_after,
        drift_rows: args.drift_rows,
        drift_null_rate: args.drift_null_rate,
        drift_distinct: args.drift_distinct,
        drift_mean_stddevs: args.drift_mean_stddevs,
        filtered: args.query.where_clause.is_some() || args.query.partitions.is_some(),
    };
    let meta = Arc::new(Metadata::new(Some(Arc::clone(&client)), !common.no_cache));
    // --max-bytes-per-run: the whole batch's dry runs first (free); over budget, nothing runs.
    if let (Some(budget), false) = (args.query.max_bytes_per_run, args.query.dry_run) {
        let mut dry = args.clone();
        dry.query.dry_run = true;
        let estimate = Arc::new(Ctx {
            meta: Arc::clone(&meta),
            client: Arc::clone(&client),
            job_project: project.clone(),
            args: dry,
            thresholds: thresholds.clone(),
            baseline: None,
            history: history.clone(),
            history_keep,
            store: super::result_store(common, true),
        });
        let refused = super::check_budget(
            &tables,
            budget,
            common,
            "table",
            |table| {
                let ctx = Arc::clone(&estimate);
                async move { ctx.profile(&table).await }
            },
            |p: &TableProfile| p.dry_run.iter().map(|q| q.estimated_bytes).collect(),
        )
        .await;
        if let Some(why) = refused {
            return Ok(Finished::Refused(why));
        }
    }
    let ctx = Arc::new(Ctx {
        meta,
        client,
        job_project: project,
        args: args.clone(),
        thresholds,
        baseline,
        history,
        history_keep,
        store: super::result_store(common, args.query.dry_run),
    });
    let progress = progress(common, tables.len(), "Profiling", "table");
    let results = runner::run_batch(
        tables,
        parallel,
        common.item_timeout(),
        &progress,
        |table| {
            let ctx = Arc::clone(&ctx);
            async move { ctx.profile(&table).await }
        },
    )
    .await;
    super::cancel_abandoned_jobs(Some(&ctx.client)).await;
    let batch = ProfileBatch {
        check: ProfileView {
            fail_on,
            detecting: args.detect_anomalies || args.baseline.is_some() || args.history.is_some(),
            price_per_tib: args.query.price_per_tib,
        },
        items: results,
        one_sided,
        timestamp: report::timestamp_now(),
    };
    Ok(Finished::Batch(Box::new(batch)))
}

/// `--datasets` with `--baseline`: the baseline's tables of those datasets (selected by
/// `--include`/`--exclude`) that the datasets no longer hold, in name order.
fn gone_since_baseline(
    baseline: &Baseline,
    datasets: &[crate::input::datasets::DatasetSpec],
    args: &crate::cli::DatasetArgs,
    now: &[TableRef],
) -> Vec<(TableRef, OnlyIn)> {
    use crate::input::datasets::{DatasetSpec, Selection};
    let sel = Selection {
        include: args.include.clone(),
        exclude: args.exclude.clone(),
    };
    let mut gone: Vec<TableRef> = baseline
        .keys()
        .filter_map(|id| TableRef::parse(id, None).ok())
        .filter(|t| {
            datasets.iter().any(|d| match d {
                DatasetSpec::One(d) => d.project == t.project && d.dataset == t.dataset,
                DatasetSpec::Pair(..) => false,
            })
        })
        .filter(|t| sel.selects(&t.table) && !now.contains(t))
        .collect();
    gone.sort();
    gone.into_iter().map(|t| (t, OnlyIn::B)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::datasets::DatasetSpec;
    use crate::model::DatasetRef;

    #[test]
    fn a_baseline_table_the_dataset_no_longer_has_is_one_sided() {
        let baseline: Baseline = [
            "p.analytics.kept",
            "p.analytics.gone",
            "p.analytics.gone_tmp",
            "p.other.elsewhere",
            "not a table id",
        ]
        .into_iter()
        .map(|id| (id.to_string(), (1, Vec::new())))
        .collect();
        let d = DatasetSpec::One(DatasetRef {
            project: "p".into(),
            dataset: "analytics".into(),
        });
        let args = crate::cli::DatasetArgs {
            datasets: vec!["p.analytics".into()],
            include: vec![],
            exclude: vec!["*_tmp".into()],
        };
        let now = vec![TableRef::parse("p.analytics.kept", None).unwrap()];
        let gone = gone_since_baseline(&baseline, &[d], &args, &now);
        let names: Vec<String> = gone.iter().map(|(t, _)| t.to_string()).collect();
        assert_eq!(names, ["p.analytics.gone"]);
        assert!(gone.iter().all(|(_, o)| *o == OnlyIn::B));
        let view = ProfileView {
            fail_on: ProfileFailOn::Errors,
            detecting: true,
            price_per_tib: 0.0,
        };
        assert!(!view.one_sided(OnlyIn::B).fails);
        let strict = ProfileView {
            fail_on: ProfileFailOn::Anomalies,
            ..view
        };
        assert!(strict.one_sided(OnlyIn::B).fails);
    }
}
