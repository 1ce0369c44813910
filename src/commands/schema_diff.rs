//! `bq-schema-diff`: fetch both sides of every pair (each table once), diff, report.

use std::sync::Arc;

use serde::Serialize;

use futures::future::BoxFuture;

use super::{client, parallelism, progress, CheckDef, Finished, Run};
use crate::checks::schema_diff::{self, Change, Class, DiffOptions};
use crate::cli::{SchemaDiffArgs, SchemaFailOn};
use crate::config::Items;
use crate::model::ItemError;
use crate::model::OnlyIn;
use crate::model::{Pair, Source};
use crate::report::batch::{
    CheckResults, Checked, Details, OneSided, PairCounts, PairId, Results, Tally,
};
use crate::report::doc::{Block, Column, Table};
use crate::report::{self, Annotation, Level, Totals};
use crate::runner;
use crate::warehouse::Metadata;

/// How schema-diff's results read, under its gate.
#[derive(Debug, Clone)]
pub(crate) struct SchemaDiffView {
    pub(crate) fail_on: SchemaFailOn,
    /// Accept entries of the config file that matched no change (described for warnings).
    pub(crate) stale_accepts: Vec<String>,
}

/// A whole run.
pub(crate) type SchemaDiffBatch = Results<SchemaDiffView>;

/// Does a breaking change that is not accepted stand among these?
fn breaks(changes: &[Change]) -> bool {
    changes
        .iter()
        .any(|c| c.class == Class::Breaking && c.accepted.is_none())
}

/// A change as JSON; an accepted one carries `accepted: true` and the entry's `reason`.
#[derive(Serialize)]
struct ChangeJson<'a> {
    #[serde(flatten)]
    change: &'a Change,
    #[serde(skip_serializing_if = "Option::is_none")]
    accepted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

impl<'a> From<&'a Change> for ChangeJson<'a> {
    fn from(change: &'a Change) -> Self {
        ChangeJson {
            change,
            accepted: change.accepted.as_ref().map(|_| true),
            reason: change.accepted.as_deref(),
        }
    }
}

/// A pair in the JSON report.
#[derive(Serialize)]
pub(crate) struct ComparisonJson<'a> {
    #[serde(flatten)]
    id: PairId,
    identical: bool,
    breaking: bool,
    counts: CountsJson,
    changes: Vec<ChangeJson<'a>>,
}

#[derive(Serialize)]
struct CountsJson {
    breaking: usize,
    compatible: usize,
    cosmetic: usize,
    accepted: usize,
}

/// The JSON report's `batch_summary`.
#[derive(Serialize)]
pub(crate) struct SummaryJson {
    #[serde(flatten)]
    pairs: PairCounts,
    breaking: usize,
    accepted: usize,
}

/// Accept entries of the config file that matched no change.
#[derive(Serialize)]
pub(crate) struct StaleAccepts {
    stale_accepts: Vec<String>,
}

fn accepted_count(changes: &[Change]) -> usize {
    changes.iter().filter(|c| c.accepted.is_some()).count()
}

fn headline(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "identical".into();
    }
    let mut parts: Vec<String> = [Class::Breaking, Class::Compatible, Class::Cosmetic]
        .iter()
        .map(|&k| (k, schema_diff::count(changes, k)))
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    let accepted = accepted_count(changes);
    if accepted > 0 {
        parts.push(format!("{accepted} accepted"));
    }
    let n = changes.len();
    format!(
        "{n} change{} ({})",
        if n == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// The changes that count, then the accepted ones in a table of their own. The text lines
/// are the original utility's: `  - legacy_flag      breaking    column removed: BOOL NULLABLE`.
fn blocks(changes: &[Change]) -> Vec<Block> {
    let (accepted, open): (Vec<&Change>, Vec<&Change>) =
        changes.iter().partition(|c| c.accepted.is_some());
    let table = |rows: &[&Change], last: &str, aside: fn(&Change) -> Option<&str>| {
        let mut t = Table::new(vec![
            Column::new("").code(),
            Column::new("Path").code().tight(),
            // The longest class, so that every pair's table lines up.
            Column::new("Class").min_width(10),
            Column::new("Change"),
            Column::new(last).aside(),
        ]);
        for c in rows {
            t.row(vec![
                c.sign().to_string(),
                c.path.clone(),
                c.class.to_string(),
                c.describe(),
                aside(c).unwrap_or_default().to_string(),
            ]);
        }
        t
    };
    let mut out = Vec::new();
    if !open.is_empty() {
        out.push(Block::Table(table(&open, "Note", |c| c.note.as_deref())));
    }
    if !accepted.is_empty() {
        out.push(Block::Table(
            table(&accepted, "Reason", |c| c.accepted.as_deref()).titled(
                "accepted changes (acknowledged in the config file; they do not fail the gate)",
            ),
        ));
    }
    out
}

impl CheckResults for SchemaDiffView {
    type Item = Pair;
    type Value = Vec<Change>;
    type SummaryJson = SummaryJson;
    type IdJson = PairId;
    type ItemJson<'a> = ComparisonJson<'a>;
    type ExtraJson = StaleAccepts;

    fn tool(&self) -> &'static str {
        "bq-schema-diff"
    }
    fn noun(&self) -> &'static str {
        "pair"
    }
    fn title(&self) -> &'static str {
        "Batch Schema Diff Summary"
    }
    fn differs(&self, changes: &Vec<Change>) -> bool {
        !changes.is_empty()
    }
    /// Does this pair fail the gate under `--fail-on`?
    fn fails(&self, changes: &Vec<Change>) -> bool {
        match self.fail_on {
            SchemaFailOn::Any => changes.iter().any(|c| c.accepted.is_none()),
            SchemaFailOn::Breaking => breaks(changes),
            SchemaFailOn::Never => false,
        }
    }
    fn details(&self, changes: &Vec<Change>) -> Details {
        Details {
            headline: headline(changes),
            blocks: blocks(changes),
        }
    }
    fn extra_totals(&self, values: &[&Vec<Change>]) -> (usize, usize) {
        (values.iter().filter(|c| breaks(c)).count(), 0)
    }
    fn summary_counts(&self, t: &Tally) -> Vec<(String, usize)> {
        let accepted = t.extra;
        let mut out = vec![
            ("Identical".into(), t.identical),
            ("Different".into(), t.different),
            ("Breaking".into(), t.breaking),
            ("Failed".into(), t.failed),
        ];
        if accepted > 0 {
            out.push(("Accepted changes".into(), accepted));
        }
        out
    }
    /// A table removed (only in B, the base) is breaking; one added (only in A) compatible.
    fn one_sided(&self, only_in: OnlyIn) -> OneSided {
        let breaking = only_in == OnlyIn::B;
        OneSided {
            headline: if breaking {
                "table removed: only in B, A's dataset has no table of this name (breaking)".into()
            } else {
                "table added: only in A, B's dataset has no table of this name (compatible)".into()
            },
            fails: match self.fail_on {
                SchemaFailOn::Any => true,
                SchemaFailOn::Breaking => breaking,
                SchemaFailOn::Never => false,
            },
            breaking,
        }
    }
    fn summary_json(&self, t: &Tally) -> SummaryJson {
        SummaryJson {
            pairs: t.into(),
            breaking: t.breaking,
            accepted: t.extra,
        }
    }
    fn extra_count(&self, values: &[&Vec<Change>]) -> usize {
        values.iter().map(|c| accepted_count(c)).sum()
    }
    fn list_key(&self) -> &'static str {
        "comparisons"
    }
    fn id_json(&self, pair: &Pair) -> PairId {
        pair.into()
    }
    fn item_json<'a>(&'a self, pair: &'a Pair, changes: &'a Vec<Change>) -> ComparisonJson<'a> {
        ComparisonJson {
            id: pair.into(),
            identical: changes.is_empty(),
            breaking: breaks(changes),
            counts: CountsJson {
                breaking: schema_diff::count(changes, Class::Breaking),
                compatible: schema_diff::count(changes, Class::Compatible),
                cosmetic: schema_diff::count(changes, Class::Cosmetic),
                accepted: accepted_count(changes),
            },
            changes: changes.iter().map(ChangeJson::from).collect(),
        }
    }
    fn extra_json(&self) -> StaleAccepts {
        StaleAccepts {
            stale_accepts: self.stale_accepts.clone(),
        }
    }
    fn legend(&self) -> Option<String> {
        Some("A vs B: + only in A, - only in B, ~ changed from B's value → A's".into())
    }
    fn warnings(&self) -> Vec<String> {
        self.stale_accepts
            .iter()
            .map(|s| format!("{s} matched no change: remove it if the change has landed"))
            .collect()
    }
    fn failed_title(&self, pair: &Pair) -> String {
        format!("Schema diff failed: {pair}")
    }
    /// Each pair's breaking changes (one annotation per pair, listing them); other
    /// differences, as warnings when they fail the gate and notices when not.
    fn annotations(&self, pair: &Pair, changes: &Vec<Change>) -> Vec<Annotation> {
        if changes.is_empty() {
            return Vec::new();
        }
        let name = pair.to_string();
        let breaking: Vec<&Change> = changes
            .iter()
            .filter(|c| c.class == Class::Breaking && c.accepted.is_none())
            .collect();
        let (level, rank, title, listed) = if !breaking.is_empty() {
            let level = if self.fail_on == SchemaFailOn::Never {
                Level::Warning
            } else {
                Level::Error
            };
            let n = breaking.len();
            let title = format!(
                "{n} breaking schema change{}: {name}",
                if n == 1 { "" } else { "s" }
            );
            (level, 1, title, breaking)
        } else {
            let level = if self.fails(changes) {
                Level::Warning
            } else {
                Level::Notice
            };
            let title = format!("Schema differs ({}): {name}", headline(changes));
            let listed = changes.iter().filter(|c| c.accepted.is_none()).collect();
            (level, 3, title, listed)
        };
        if listed.is_empty() {
            // Only accepted changes: nothing to point at.
            return Vec::new();
        }
        let message = listed
            .iter()
            .map(|c| format!("{} {}: {}", c.sign(), c.path, c.describe()))
            .collect::<Vec<_>>()
            .join("\n");
        vec![Annotation {
            level,
            rank,
            title,
            message,
        }]
    }
    fn batch_annotations(&self) -> Vec<Annotation> {
        self.stale_accepts
            .iter()
            .map(|s| Annotation {
                level: Level::Warning,
                rank: 3,
                title: "Stale accept entry".into(),
                message: format!("{s} matched no change: remove it if the change has landed"),
            })
            .collect()
    }
    fn findings(&self, totals: &Totals) -> Vec<String> {
        let mut out = Vec::new();
        if totals.breaking > 0 {
            out.push(format!("{} breaking", totals.breaking));
        }
        out.push(format!("{} different", totals.different));
        out
    }
}

/// Compare one pair: both sides fetched concurrently (through the shared cache), then diffed.
pub(crate) async fn compare_pair(
    meta: &Metadata,
    pair: &Pair,
    opts: DiffOptions,
) -> Result<Vec<Change>, ItemError> {
    let (a, b) = futures::join!(meta.get(&pair.a), meta.get(&pair.b));
    match (a, b) {
        (Ok(a), Ok(b)) => Ok(schema_diff::diff(&a, &b, opts)),
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e.into()),
        (Err(ea), Err(eb)) => {
            let (ea, eb) = (ItemError::from(ea), ItemError::from(eb));
            // Both sides missing the same way (one table named twice): said once.
            if ea == eb {
                Err(ea)
            } else {
                Err(ItemError::new(ea.kind, format!("{ea}; {eb}")))
            }
        }
    }
}

/// Mark accepted changes; return the indexes of rules that matched nothing. A rule for a pair
/// that could not be compared is not called stale: nobody knows.
fn apply_accepts(
    mut results: Vec<Checked<SchemaDiffView>>,
    rules: &[schema_diff::AcceptRule],
) -> (Vec<Checked<SchemaDiffView>>, Vec<usize>) {
    let mut used = vec![false; rules.len()];
    for (pair, result) in &mut results {
        match result {
            Ok(changes) => schema_diff::accept(pair, changes, rules, &mut used),
            Err(_) => {
                for (i, rule) in rules.iter().enumerate() {
                    if rule.pair.a.same_as(&pair.a) && rule.pair.b.same_as(&pair.b) {
                        used[i] = true;
                    }
                }
            }
        }
    }
    let stale = (0..rules.len()).filter(|&i| !used[i]).collect();
    (results, stale)
}

/// `schema-diff`: pairs.
pub(crate) struct SchemaDiff;

impl CheckDef for SchemaDiff {
    type Args = SchemaDiffArgs;
    const NAME: &'static str = "schema-diff";
    const SECTION: &'static str = "schema_diff";
    const ABOUT: &'static str = "Compare schemas of table pairs (same flags as bq-schema-diff).";
    const ITEMS: Items = Items::Pairs {
        per_pair: false,
        accept: true,
    };
    fn run<'a>(args: &'a SchemaDiffArgs, run: &'a Run) -> BoxFuture<'a, anyhow::Result<Finished>> {
        Box::pin(execute(args, run))
    }
}

/// Read the pairs, compare them all; the reports are left to the caller.
pub(crate) async fn execute(args: &SchemaDiffArgs, run: &Run) -> anyhow::Result<Finished> {
    let common = &args.common;
    let project = run.project.clone();
    let mut items = match super::read_pair_items(&args.input, run, "schema_diff")? {
        Ok(p) => p,
        Err(why) => return Ok(Finished::Refused(why)),
    };
    let rules = match run.from_file.accept_rules(project.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            return Ok(Finished::Refused(super::refuse(e)));
        }
    };
    let parallel = parallelism(common);
    let needs_bigquery = !items.datasets.is_empty()
        || items
            .pairs
            .iter()
            .any(|p| matches!(p.a, Source::Table(_)) || matches!(p.b, Source::Table(_)));
    let client = if needs_bigquery {
        let c = client(common)?;
        c.check_auth().await?;
        Some(c)
    } else {
        None
    };
    let one_sided = match &client {
        Some(c) => match items.expand(c, &args.input.datasets).await {
            Ok(o) => o,
            Err(why) => return Ok(Finished::Refused(why)),
        },
        None => Vec::new(),
    };
    let pairs = items.pairs;
    let meta = Arc::new(Metadata::new(client.clone(), !common.no_cache));
    if let Some(c) = &client {
        if let Err(why) = read_in_bulk(c, &meta, &pairs, args, project.as_deref()).await {
            return Ok(Finished::Refused(why));
        }
    }
    let opts = DiffOptions {
        include_table_options: args.include_table_options,
    };
    let progress = progress(common, pairs.len(), "Comparing", "pair");
    let results = runner::run_batch(pairs, parallel, common.item_timeout(), &progress, |pair| {
        let meta = Arc::clone(&meta);
        async move { compare_pair(&meta, &pair, opts).await }
    })
    .await;
    let (results, stale) = apply_accepts(results, &rules);
    let stale_accepts: Vec<String> = stale
        .into_iter()
        .map(|i| run.from_file.describe_accept(i))
        .collect();
    for s in &stale_accepts {
        eprintln!("warning: {s} matched no change: remove it if the change has landed");
    }
    let batch = SchemaDiffBatch {
        check: SchemaDiffView {
            fail_on: args.fail_on,
            stale_accepts,
        },
        items: results,
        one_sided,
        timestamp: report::timestamp_now(),
    };
    Ok(Finished::Batch(Box::new(batch)))
}

/// `--metadata-via auto`: datasets with at least this many of a run's tables have their
/// schemas read by one INFORMATION_SCHEMA query (see `cargo bench --bench scale -- --only
/// metadata` for the crossover).
pub(crate) const BULK_FROM_TABLES: usize = 50;

/// `--metadata-via`: read the schemas of the datasets it picks with one INFORMATION_SCHEMA
/// query each and hand them to `meta`. A dataset whose query fails falls back to tables.get,
/// with a note; so does a table the query did not list (a missing table gets its own
/// `tables.get` 404).
async fn read_in_bulk(
    client: &crate::warehouse::Client,
    meta: &Metadata,
    pairs: &[Pair],
    args: &SchemaDiffArgs,
    project: Option<&str>,
) -> Result<(), Vec<String>> {
    use crate::cli::MetadataVia;
    use crate::model::DatasetRef;
    use crate::warehouse::info_schema;
    use futures::StreamExt;
    if args.metadata_via == MetadataVia::TablesGet {
        return Ok(());
    }
    if args.include_table_options {
        if args.metadata_via == MetadataVia::InformationSchema {
            return Err(super::refuse(
                "--metadata-via information-schema cannot read partitioning, clustering, labels and keys: drop --include-table-options, or use --metadata-via tables-get",
            ));
        }
        return Ok(());
    }
    let mut by_dataset: std::collections::BTreeMap<DatasetRef, Vec<crate::model::TableRef>> =
        Default::default();
    for p in pairs {
        for s in [&p.a, &p.b] {
            if let Source::Table(t) = s {
                let d = DatasetRef {
                    project: t.project.clone(),
                    dataset: t.dataset.clone(),
                };
                let ts = by_dataset.entry(d).or_default();
                if !ts.contains(t) {
                    ts.push(t.clone());
                }
            }
        }
    }
    let wanted: Vec<(DatasetRef, Vec<crate::model::TableRef>)> = by_dataset
        .into_iter()
        .filter(|(_, ts)| {
            args.metadata_via == MetadataVia::InformationSchema || ts.len() >= BULK_FROM_TABLES
        })
        .collect();
    let opts = crate::warehouse::query::QueryOptions {
        label: "schema-diff".into(),
        ..Default::default()
    };
    let done: Vec<_> = futures::stream::iter(wanted)
        .map(|(d, tables)| {
            let opts = opts.clone();
            async move {
                let job_project = project.unwrap_or(&d.project).to_string();
                let r = client
                    .query(&job_project, &info_schema::dataset_schemas_sql(&d), &opts)
                    .await;
                (d, tables, r)
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    for (d, tables, r) in done {
        match r {
            Ok(r) => {
                let rows: Vec<(String, String)> = r
                    .rows
                    .iter()
                    .map(|row| {
                        let t = |k: &str| crate::warehouse::query::text(row, k).unwrap_or_default();
                        (t("k"), t("j"))
                    })
                    .collect();
                let mut found = info_schema::tables_from_rows(&rows);
                let n = tables.len();
                let read: Vec<_> = tables
                    .into_iter()
                    .filter_map(|t| found.remove(&t.table).map(|m| (t, m)))
                    .collect();
                eprintln!(
                    "note: the schemas of {} of {n} table{} of {d} came from one INFORMATION_SCHEMA query instead of {n} tables.get (it bills at least 10 MiB)",
                    read.len(),
                    if n == 1 { "" } else { "s" }
                );
                meta.add_read_in_bulk(read);
            }
            Err(e) => eprintln!(
                "note: INFORMATION_SCHEMA of {d} could not be read ({}): its tables' schemas come from tables.get",
                report::one_line(&e.to_string())
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ErrorKind, TableRef};
    use crate::report::Batch;

    fn pair(n: &str) -> Pair {
        let t = |d: &str| {
            Source::Table(TableRef {
                project: "p".into(),
                dataset: d.into(),
                table: n.into(),
            })
        };
        Pair {
            a: t("dev"),
            b: t("prod"),
        }
    }

    fn change(class: Class) -> Change {
        Change {
            path: "x".into(),
            kind: schema_diff::ChangeKind::DescriptionChanged,
            class,
            before: None,
            after: Some("y".into()),
            note: None,
            accepted: None,
        }
    }

    fn batch(results: Vec<Result<Vec<Change>, String>>, fail_on: SchemaFailOn) -> SchemaDiffBatch {
        SchemaDiffBatch {
            check: SchemaDiffView {
                fail_on,
                stale_accepts: Vec::new(),
            },
            items: results
                .into_iter()
                .enumerate()
                .map(|(i, result)| {
                    let result = result.map_err(|m| ItemError::new(ErrorKind::NotFound, m));
                    (pair(&format!("t{i}")), result)
                })
                .collect(),
            one_sided: Vec::new(),
            timestamp: "2026-01-13T12:00:00Z".into(),
        }
    }

    #[test]
    fn a_removed_table_is_breaking_and_an_added_one_compatible() {
        let with = |only: OnlyIn, fail_on| {
            let mut b = batch(vec![Ok(vec![])], fail_on);
            b.one_sided = vec![(pair("x"), only)];
            b
        };
        let code = |only, fail_on| with(only, fail_on).exit_status().code();
        assert_eq!(code(OnlyIn::B, SchemaFailOn::Breaking), 1);
        assert_eq!(code(OnlyIn::A, SchemaFailOn::Breaking), 0);
        assert_eq!(code(OnlyIn::A, SchemaFailOn::Any), 1);
        assert_eq!(code(OnlyIn::B, SchemaFailOn::Never), 0);
        let b = with(OnlyIn::B, SchemaFailOn::Breaking);
        let t = b.totals();
        assert_eq!(
            (t.total, t.breaking, t.one_sided, t.identical),
            (2, 1, 1, 1)
        );
        let json: serde_json::Value = serde_json::from_slice(&b.json().unwrap()).unwrap();
        assert_eq!(json["batch_summary"]["only_in_b"], 1);
        assert_eq!(json["batch_summary"]["only_in_a"], 0);
        assert_eq!(json["one_sided"][0]["only_in"], "b");
        assert_eq!(json["one_sided"][0]["breaking"], true);
        assert_eq!(json["one_sided"][0]["table_a"], "p.dev.x");
        let text =
            String::from_utf8(crate::report::Format::Text.exporter().render(&b).unwrap()).unwrap();
        assert!(text.contains("table removed: only in B"), "{text}");
        assert!(text.contains("Only in B"), "{text}");
        let (findings, _) = b.status();
        assert_eq!(findings, ["1 in one dataset only"]);
        // Without one-sided items the JSON keeps its keys.
        let plain: serde_json::Value =
            serde_json::from_slice(&batch(vec![Ok(vec![])], SchemaFailOn::Any).json().unwrap())
                .unwrap();
        assert!(plain.get("one_sided").is_none());
        assert!(plain["batch_summary"].get("only_in_a").is_none());
    }

    #[test]
    fn exit_codes_follow_diff_and_fail_on() {
        let cosmetic = || Ok(vec![change(Class::Cosmetic)]);
        let breaking = || Ok(vec![change(Class::Breaking)]);
        assert_eq!(
            batch(vec![Ok(vec![])], SchemaFailOn::Any)
                .exit_status()
                .code(),
            0
        );
        assert_eq!(
            batch(vec![cosmetic()], SchemaFailOn::Any)
                .exit_status()
                .code(),
            1
        );
        assert_eq!(
            batch(vec![cosmetic()], SchemaFailOn::Breaking)
                .exit_status()
                .code(),
            0
        );
        assert_eq!(
            batch(vec![breaking()], SchemaFailOn::Breaking)
                .exit_status()
                .code(),
            1
        );
        assert_eq!(
            batch(vec![breaking()], SchemaFailOn::Never)
                .exit_status()
                .code(),
            0
        );
        assert_eq!(
            batch(vec![breaking(), Err("x".into())], SchemaFailOn::Any)
                .exit_status()
                .code(),
            2
        );
        assert_eq!(
            batch(vec![Ok(vec![]), Err("x".into())], SchemaFailOn::Never)
                .exit_status()
                .code(),
            2
        );
    }

    #[test]
    fn json_keeps_the_seed_keys() {
        let b = batch(
            vec![
                Ok(vec![]),
                Ok(vec![change(Class::Breaking)]),
                Err("Table not found: t2".into()),
            ],
            SchemaFailOn::Any,
        );
        let j: serde_json::Value = serde_json::from_slice(&b.json().unwrap()).unwrap();
        assert_eq!(j["batch_summary"]["total_pairs"], 3);
        assert_eq!(j["batch_summary"]["identical"], 1);
        assert_eq!(j["batch_summary"]["different"], 1);
        assert_eq!(j["batch_summary"]["failed"], 1);
        assert_eq!(j["batch_summary"]["breaking"], 1);
        assert_eq!(j["batch_summary"]["timestamp"], "2026-01-13T12:00:00Z");
        assert_eq!(j["comparisons"][1]["table_a"], "p.dev.t1");
        assert_eq!(j["comparisons"][1]["identical"], false);
        assert_eq!(
            j["comparisons"][1]["changes"][0]["kind"],
            "description_changed"
        );
        assert_eq!(j["comparisons"][1]["changes"][0]["class"], "breaking");
        assert_eq!(
            j["comparisons"][1]["changes"][0]["before"],
            serde_json::Value::Null
        );
        assert_eq!(j["errors"][0]["error"], "Table not found: t2");
        assert_eq!(j["tool"]["name"], "bq-schema-diff");
        assert_eq!(j["schema_version"], 1);
    }

    #[test]
    fn text_report_has_the_seed_summary_block() {
        let b = batch(
            vec![Ok(vec![]), Err("Table not found: x".into())],
            SchemaFailOn::Any,
        );
        let text =
            String::from_utf8(crate::report::Format::Text.exporter().render(&b).unwrap()).unwrap();
        assert!(text.contains("p.dev.t0 ↔ p.prod.t0: identical"), "{text}");
        assert!(text.contains("Batch Schema Diff Summary\n"), "{text}");
        assert!(text.contains("Results:\n  Total pairs: 2\n  Identical: 1\n  Different: 0\n  Breaking: 0\n  Failed: 1\n"), "{text}");
        assert!(
            text.contains("Failed pairs:\n  ✗ p.dev.t1 ↔ p.prod.t1: Table not found: x\n"),
            "{text}"
        );
    }

    #[test]
    fn junit_and_markdown_reports() {
        let b = batch(
            vec![
                Ok(vec![]),
                Ok(vec![change(Class::Breaking)]),
                Err("boom \u{1b} <x>".into()),
            ],
            SchemaFailOn::Any,
        );
        let xml =
            String::from_utf8(crate::report::Format::Junit.exporter().render(&b).unwrap()).unwrap();
        assert!(
            xml.contains(r#"tests="3""#)
                && xml.contains(r#"failures="1""#)
                && xml.contains(r#"errors="1""#),
            "{xml}"
        );
        assert!(
            !xml.contains('\u{1b}'),
            "invalid XML characters are stripped"
        );
        let md = String::from_utf8(
            crate::report::Format::Markdown
                .exporter()
                .render(&b)
                .unwrap(),
        )
        .unwrap();
        assert!(md.contains("## Batch Schema Diff Summary"), "{md}");
        assert!(
            md.contains("| ❌ | `p.dev.t1 ↔ p.prod.t1` | 1 change (1 breaking) |"),
            "{md}"
        );
        assert!(
            md.contains("<details open><summary><code>p.dev.t1 ↔ p.prod.t1</code>"),
            "{md}"
        );
    }
}
