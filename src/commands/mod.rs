//! The glue of each check: inputs → runner → warehouse → checks → reports. One module per
//! check, each implementing [`Check`]; [`CHECKS`] is the registry the CLI, the action, the PR
//! comment and `bqcheck config check` iterate. What is shared by all checks lives here.

pub(crate) mod profile;
pub(crate) mod schema_diff;
pub(crate) mod table_compare;

/// Every check, in the order `bqcheck --help` lists them. A new check is one line here.
pub(crate) static CHECKS: &[&dyn Check] = &[
    &schema_diff::SchemaDiff,
    &table_compare::TableCompare,
    &profile::Profile,
];

/// One check, as the entry points see it (object-safe, for the registry). A check does not
/// implement it by hand: it implements [`CheckDef`], and this follows.
pub(crate) trait Check: Sync {
    /// The umbrella's subcommand and the action's `command` input: `schema-diff`.
    fn name(&self) -> &'static str;
    /// One line for `bqcheck --help`.
    fn about(&self) -> &'static str;
    /// Its flags (the standalone binary's command: `bq-schema-diff`).
    fn command(&self) -> clap::Command;
    /// What its config section lists besides options.
    fn items(&self) -> crate::config::Items;
    /// Its config section: `schema_diff`.
    fn section(&self) -> &'static str;
    /// Run it with a resolved command line; the reports are left to the caller.
    fn execute<'a>(
        &'a self,
        m: &'a clap::ArgMatches,
        run: &'a Run,
    ) -> futures::future::BoxFuture<'a, anyhow::Result<Finished>>;
    /// Its settings as `bqcheck config check` shows them (the typed arguments, serialized).
    fn settings(&self, m: &clap::ArgMatches) -> anyhow::Result<serde_json::Value>;
}

/// What a check defines: its names, its typed flags, its items, and how it runs.
pub(crate) trait CheckDef: Sync {
    /// Its flags: a clap `Parser` (the standalone binary's command) that serializes for
    /// `bqcheck config check`.
    type Args: clap::Parser + serde::Serialize + Send + Sync;
    /// The subcommand and the action's `command` input: `schema-diff`.
    const NAME: &'static str;
    /// Its config section: `schema_diff`.
    const SECTION: &'static str;
    /// One line for `bqcheck --help`.
    const ABOUT: &'static str;
    /// What its config section lists besides options.
    const ITEMS: crate::config::Items;
    /// Read its items and check them all; the reports are left to the caller.
    fn run<'a>(
        args: &'a Self::Args,
        run: &'a Run,
    ) -> futures::future::BoxFuture<'a, anyhow::Result<Finished>>;
}

impl<T: CheckDef> Check for T {
    fn name(&self) -> &'static str {
        T::NAME
    }
    fn about(&self) -> &'static str {
        T::ABOUT
    }
    fn command(&self) -> clap::Command {
        <T::Args as clap::CommandFactory>::command()
    }
    fn items(&self) -> crate::config::Items {
        T::ITEMS
    }
    fn section(&self) -> &'static str {
        T::SECTION
    }
    fn execute<'a>(
        &'a self,
        m: &'a clap::ArgMatches,
        run: &'a Run,
    ) -> futures::future::BoxFuture<'a, anyhow::Result<Finished>> {
        Box::pin(async move {
            let args = <T::Args as clap::FromArgMatches>::from_arg_matches(m)?;
            T::run(&args, run).await
        })
    }
    fn settings(&self, m: &clap::ArgMatches) -> anyhow::Result<serde_json::Value> {
        let args = <T::Args as clap::FromArgMatches>::from_arg_matches(m)?;
        Ok(serde_json::to_value(args)?)
    }
}

/// What a run has besides its flags, resolved once: the config file's items, where else
/// items come from, and the default project.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) from_file: FromFile,
    pub(crate) listed: Listed,
    /// `--project`, the environment, or the credentials' project; checked.
    pub(crate) project: Option<String>,
}

use std::io::{IsTerminal, Read, Write};
use std::sync::Arc;

use anyhow::Context;

use crate::cli::CommonArgs;
use crate::config::FromFile;
use crate::input::{self, PairInputs};
use crate::model::{ErrorKind, Pair, TableRef};
use crate::report::{self, Batch, ExitStatus, Format};
use crate::warehouse::{auth, AuthMode, Client, RetryPolicy};

/// `--project`, then `GOOGLE_CLOUD_PROJECT`, `CLOUDSDK_CORE_PROJECT`, then the credentials'.
pub(crate) fn default_project(common: &CommonArgs) -> Option<String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    common
        .project
        .clone()
        .or_else(|| env("GOOGLE_CLOUD_PROJECT"))
        .or_else(|| env("CLOUDSDK_CORE_PROJECT"))
        .or_else(|| {
            if api_url(common).is_some() {
                None
            } else {
                auth::credential_project(common.credentials.as_deref())
            }
        })
}

/// [`default_project`], checked: it goes into request paths (`/projects/{id}/queries`),
/// where `../x` would silently route elsewhere.
pub(crate) fn checked_project(common: &CommonArgs) -> Result<Option<String>, String> {
    match default_project(common) {
        Some(p) => match crate::model::check_project_id(&p) {
            Ok(()) => Ok(Some(p)),
            Err(why) => Err(format!("bad project id `{}`: {why}", report::one_line(&p))),
        },
        None => Ok(None),
    }
}

/// `--api-url`, then `BIGQUERY_EMULATOR_HOST`: an emulator, talked to without auth.
fn api_url(common: &CommonArgs) -> Option<String> {
    common.api_url.clone().or_else(|| {
        std::env::var("BIGQUERY_EMULATOR_HOST")
            .ok()
            .filter(|v| !v.trim().is_empty())
    })
}

/// The BigQuery client for this run.
pub(crate) fn client(common: &CommonArgs) -> anyhow::Result<Arc<Client>> {
    let (url, auth) = match api_url(common) {
        Some(url) => {
            let auth = endpoint_auth(&url, common)?;
            (url, auth)
        }
        None => (
            crate::warehouse::client::DEFAULT_API_URL.to_string(),
            AuthMode::Google {
                credentials: common.credentials.clone(),
            },
        ),
    };
    Ok(Arc::new(
        Client::new(&url, auth, RetryPolicy::default())?.with_verbose(common.verbose),
    ))
}

/// What an endpoint other than BigQuery's own gets: no credentials, unless the command line
/// says `--send-credentials-to-api-url` (a config file cannot), and then only over https or
/// to this machine. `--api-url` may come from a pull request's `.bqcheck.yml`; a Google token
/// must never follow it there.
fn endpoint_auth(url: &str, common: &CommonArgs) -> anyhow::Result<AuthMode> {
    let shown = crate::warehouse::client::redact_url(url);
    if !common.send_credentials_to_api_url {
        if common.credentials.is_some() {
            anyhow::bail!(
                "not sending Google credentials to {shown}: the API endpoint is not BigQuery's own \
                 (--api-url, api_url in the config file, or BIGQUERY_EMULATOR_HOST). To use \
                 --credentials with a private endpoint, also pass --send-credentials-to-api-url \
                 on the command line (https, or http to this machine only)"
            );
        }
        return Ok(AuthMode::None);
    }
    let base = crate::warehouse::client::api_base(url)?;
    let host = base.host_str().unwrap_or_default();
    let local = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if base.scheme() != "https" && !local {
        anyhow::bail!(
            "not sending Google credentials to {shown} over plain {}: use https (http only to this machine)",
            base.scheme()
        );
    }
    Ok(AuthMode::Google {
        credentials: common.credentials.clone(),
    })
}

/// The run's on-disk result cache: `--cache-dir`, else the XDG cache directory; none with
/// `--no-cache` or for a dry run (nothing runs, so nothing is worth keeping).
pub(crate) fn result_store(common: &CommonArgs, dry_run: bool) -> crate::warehouse::cache::Store {
    use crate::warehouse::cache::{default_dir, ResultCache, Store};
    if common.no_cache || dry_run {
        return Store::new(None);
    }
    // Without any user:password, which has no place in a key written to disk.
    let endpoint = api_url(common)
        .map(|u| crate::warehouse::client::redact_url(&u))
        .unwrap_or_else(|| crate::warehouse::client::DEFAULT_API_URL.to_string());
    let dir = common.cache_dir.clone().or_else(default_dir);
    let sends_credentials = api_url(common).is_none() || common.send_credentials_to_api_url;
    let identity = crate::warehouse::auth::credential_identity(
        common.credentials.as_deref(),
        sends_credentials,
    );
    Store::new(dir.map(|d| ResultCache::new(d, &endpoint, &identity)))
}

/// After a batch: cancel the BigQuery jobs of items that timed out or were cancelled.
pub(crate) async fn cancel_abandoned_jobs(client: Option<&Client>) {
    if let Some(c) = client {
        let n = c.cancel_abandoned_jobs().await;
        if n > 0 {
            eprintln!(
                "cancelled {n} running BigQuery job{}",
                if n == 1 { "" } else { "s" }
            );
        }
    }
}

/// Stdin's whole text when it is not a terminal (a pipe or a file), else `None`.
pub(crate) fn stdin_text() -> anyhow::Result<Option<String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .read_to_end(&mut bytes)
        .context("cannot read stdin")?;
    Ok(Some(input::utf8_text("<stdin>", bytes)?))
}

/// Print the report on stdout in `--format` and write every `--report-*` file.
/// The report on stdout comes first, so a report file that cannot be written never costs the
/// user the results; then every file is attempted, and the first failure is returned.
pub(crate) fn emit_reports(batch: &dyn Batch, common: &CommonArgs) -> anyhow::Result<()> {
    emit_reports_public(batch, common, false)
}

/// [`emit_reports`]; with `public`, the text on stdout leaves out example rows of table data
/// (a public log: the GitHub Action's), which the report files keep.
pub(crate) fn emit_reports_public(
    batch: &dyn Batch,
    common: &CommonArgs,
    public: bool,
) -> anyhow::Result<()> {
    let bytes = if public && common.format == Format::Text {
        report::text::render_public(batch).into_bytes()
    } else {
        common.format.exporter().render(batch)?
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(&bytes).and_then(|_| out.flush()) {
        // A closed pipe (`| head`) is not an error worth reporting.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.context("cannot write to stdout")?,
    }
    drop(out);
    let mut first_error = None;
    for target in report::TARGETS {
        if let Some(path) = common.report_file(target) {
            if let Err(e) = report::write_file(batch, target.format, path) {
                if first_error.is_some() {
                    eprintln!("error: {e}");
                } else {
                    first_error = Some(e);
                }
            }
        }
    }
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Items (pairs or tables) beyond the arguments and files: stdin for the CLI, or the lines
/// the GitHub Action was given in an input.
#[derive(Debug, Clone)]
pub(crate) enum Listed {
    /// Read stdin when no argument or file names any item (and stdin is not a terminal).
    Stdin,
    /// Lines from `origin` (e.g. ``input `pairs` ``), read in addition to arguments and files.
    Text { origin: String, text: String },
}

/// Say on stderr why the input is refused (one line per problem); the lines, for
/// [`Finished::Refused`].
pub(crate) fn refuse(message: impl std::fmt::Display) -> Vec<String> {
    let m = message.to_string();
    eprintln!("{m}");
    m.lines().map(String::from).collect()
}

use crate::model::billed_at_least;

/// `--max-bytes-per-run`: the refusal, if the batch's dry-run estimates (`items`: each item's
/// name and its queries' estimated bytes) could bill more than `budget`. Each query counts
/// at least [`MIN_BILLED_PER_QUERY`]; the row diff, which runs only when the scans differ,
/// counts at its full estimate (its upper bound).
pub(crate) fn over_budget(items: &[(String, Vec<u64>)], budget: u64) -> Option<String> {
    use crate::report::human_bytes;
    // Saturating: an absurd estimate is over any budget, never wrapped under it.
    let mut per: Vec<(&str, u64)> = items
        .iter()
        .map(|(name, qs)| (name.as_str(), billed_at_least(qs)))
        .collect();
    let total = per.iter().fold(0u64, |t, (_, b)| t.saturating_add(*b));
    if total <= budget {
        return None;
    }
    per.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let shown = per.len().min(5);
    let mut lines = vec![format!(
        "--max-bytes-per-run {budget} ({}): the run could bill up to {total} bytes ({}) by BigQuery's dry-run estimates (at least 10 MiB per query), so no job ran. The biggest of {} item(s):",
        human_bytes(budget),
        human_bytes(total),
        per.len()
    )];
    for (name, b) in &per[..shown] {
        lines.push(format!(
            "  {}: up to {b} bytes ({})",
            crate::report::one_line(name),
            human_bytes(*b)
        ));
    }
    lines.push(
        "Read less (--where on a partition column, --columns, --skip-samples), check fewer items, or raise the budget."
            .into(),
    );
    Some(lines.join("\n"))
}

/// `--max-bytes-per-run`: dry-run every item with `estimate` (in parallel, as the run would),
/// read each result's queries' estimated bytes with `planned`, and return the refusal (already
/// said on stderr) if together they could bill more than `budget`. Items whose dry run failed
/// count nothing: the run reports them.
pub(crate) async fn check_budget<T, O, F, Fut>(
    items: &[T],
    budget: u64,
    common: &CommonArgs,
    noun: &str,
    estimate: F,
    planned: fn(&O) -> Vec<u64>,
) -> Option<Vec<String>>
where
    T: Clone + std::fmt::Display,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<O, crate::model::ItemError>>,
{
    let progress = progress(common, items.len(), "Estimating", noun);
    let done = crate::runner::run_batch(
        items.to_vec(),
        parallelism(common),
        common.item_timeout(),
        &progress,
        estimate,
    )
    .await;
    // An item whose estimate failed for a reason the run would meet too (it does not exist, a
    // bad column) costs nothing; any other failure (a timeout, an outage) leaves its cost
    // unknown, and an unknown cost is not within the budget.
    let mut unknown = Vec::new();
    let mut sums: Vec<(String, Vec<u64>)> = Vec::new();
    for (item, r) in &done {
        match r {
            Ok(o) => sums.push((item.to_string(), planned(o))),
            Err(e)
                if matches!(
                    e.kind,
                    ErrorKind::NotFound
                        | ErrorKind::Input
                        | ErrorKind::Invalid
                        | ErrorKind::AccessDenied
                ) => {}
            Err(e) => unknown.push(format!(
                "  {}: {}",
                crate::report::one_line(&item.to_string()),
                crate::report::one_line(&e.message)
            )),
        }
    }
    if !unknown.is_empty() {
        let mut lines = vec![format!(
            "--max-bytes-per-run {budget}: the cost of {} item(s) could not be estimated, so no job ran:",
            unknown.len()
        )];
        lines.extend(unknown);
        lines.push("Run again, or without --max-bytes-per-run.".into());
        return Some(refuse(lines.join("\n")));
    }
    over_budget(&sums, budget).map(refuse)
}

/// `--partitions` for these tables (a pair's two sides, or one table): the predicate on their
/// shared partition column, and a note saying what was read; or the item's error.
pub(crate) fn partition_filter(
    spec_text: &str,
    tables: &[(String, &crate::warehouse::TableMeta)],
) -> Result<(String, String), crate::model::ItemError> {
    use crate::checks::partitions::{partition_column, predicate, PartitionSpec};
    use crate::model::ItemError;
    let input =
        |m: String| ItemError::new(ErrorKind::Input, format!("--partitions {spec_text}: {m}"));
    let spec = PartitionSpec::parse(spec_text).map_err(input)?;
    if spec == PartitionSpec::Changed {
        // Callers read `changed` from the per-partition cache before asking for days.
        return Err(input("`changed` is not a set of days".into()));
    }
    let mut cols = Vec::new();
    for (name, meta) in tables {
        cols.push(partition_column(meta).map_err(|why| input(format!("{name}: {why}")))?);
    }
    if let [a, b] = &cols[..] {
        // BigQuery's column names are case-insensitive.
        if a.sql_type != b.sql_type || !a.describe.eq_ignore_ascii_case(&b.describe) {
            return Err(input(format!(
                "A is partitioned on {}, B on {}: one predicate cannot select both (use --where)",
                a.describe, b.describe
            )));
        }
    }
    let Some(col) = cols.first() else {
        return Err(input("no table".into()));
    };
    let p = predicate(spec, col, chrono::Utc::now().date_naive());
    let note = format!("--partitions {spec_text}: only the rows where {p} were read");
    Ok((p, note))
}

/// A table's partitions as BigQuery's metadata lists them (`INFORMATION_SCHEMA.PARTITIONS`:
/// id, `total_rows`, `last_modified_time`), by one small query, and what it used.
pub(crate) async fn partition_metadata(
    client: &crate::warehouse::Client,
    project: &str,
    table: &crate::model::TableRef,
    opts: &crate::warehouse::query::QueryOptions,
) -> Result<
    (
        Vec<crate::checks::partitions::PartitionMeta>,
        crate::model::Usage,
    ),
    String,
> {
    use crate::checks::partitions::{metadata_sql, PartitionMeta};
    let r = client
        .query(project, &metadata_sql(table), opts)
        .await
        .map_err(|e| format!("the partition metadata of {table} could not be read: {e}"))?;
    use crate::warehouse::query::int;
    // A partition can be listed once per storage tier (`__UNPARTITIONED__` in active and
    // long-term storage): one entry per id, its rows summed and its latest modification.
    let mut meta: Vec<PartitionMeta> = Vec::new();
    for row in &r.rows {
        let Some(id) = row.get("partition_id").and_then(|v| v.as_str()) else {
            continue;
        };
        let (rows, modified) = (int(row, "total_rows"), int(row, "modified"));
        match meta.iter_mut().find(|m| m.id == id) {
            Some(m) => {
                m.rows = m.rows.zip(rows).and_then(|(a, b)| a.checked_add(b));
                m.modified = m.modified.zip(modified).map(|(a, b)| a.max(b));
            }
            None => meta.push(PartitionMeta {
                id: id.to_string(),
                rows,
                modified,
            }),
        }
    }
    Ok((meta, r.usage))
}

/// Items from `--datasets`: each dataset listed once (tables.list), tables paired by name
/// (`pair_commands`) or selected (profile), with `--include`/`--exclude` applied.
#[derive(Debug, Default)]
pub(crate) struct FromDatasets {
    pub(crate) pairs: Vec<Pair>,
    pub(crate) one_sided: Vec<(Pair, crate::model::OnlyIn)>,
    pub(crate) tables: Vec<TableRef>,
}

/// The `--datasets` values, parsed: pairs for schema-diff and table-compare, single datasets
/// for profile (`pairs`: which the command takes). Bad values are refused, all of them.
pub(crate) fn dataset_specs(
    args: &crate::cli::DatasetArgs,
    project: Option<&str>,
    pairs: bool,
) -> Result<Vec<crate::input::datasets::DatasetSpec>, Vec<String>> {
    use crate::input::datasets::DatasetSpec;
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    if args.datasets.is_empty() && !(args.include.is_empty() && args.exclude.is_empty()) {
        errors.push("--include and --exclude select tables of --datasets: give --datasets".into());
    }
    for v in &args.datasets {
        match DatasetSpec::parse(v, project, pairs) {
            Ok(DatasetSpec::One(_)) if pairs => errors.push(format!(
                "--datasets {}: name two datasets, A:B (every table of A is compared with B's table of the same name)",
                report::one_line(v)
            )),
            Ok(DatasetSpec::Pair(..)) if !pairs => errors.push(format!(
                "--datasets {}: profile takes one dataset per value (`project.dataset`), not a pair",
                report::one_line(v)
            )),
            Ok(spec) => specs.push(spec),
            Err(e) => errors.push(format!("--datasets {}: {e}", report::one_line(v))),
        }
    }
    if errors.is_empty() {
        Ok(specs)
    } else {
        Err(errors.into_iter().flat_map(refuse).collect())
    }
}

/// List the datasets of `specs` (each once, concurrently) and build the items. A dataset that
/// cannot be listed refuses the run: its tables are unknown, so a gate cannot pass.
pub(crate) async fn expand_datasets(
    client: &crate::warehouse::Client,
    specs: &[crate::input::datasets::DatasetSpec],
    args: &crate::cli::DatasetArgs,
) -> Result<FromDatasets, Vec<String>> {
    use crate::input::datasets::{pair_tables, select_tables, DatasetSpec, Selection};
    use crate::model::DatasetRef;
    use futures::StreamExt;
    let mut wanted: Vec<&DatasetRef> = Vec::new();
    for s in specs {
        let ds: Vec<&DatasetRef> = match s {
            DatasetSpec::Pair(a, b) => vec![a, b],
            DatasetSpec::One(a) => vec![a],
        };
        for d in ds {
            if !wanted.contains(&d) {
                wanted.push(d);
            }
        }
    }
    let listed: Vec<(DatasetRef, Result<Vec<String>, String>)> =
        futures::stream::iter(wanted.into_iter().cloned())
            .map(|d| async move {
                let r = client.list_tables(&d).await.map_err(|e| e.to_string());
                (d, r)
            })
            .buffer_unordered(8)
            .collect()
            .await;
    let mut names = std::collections::HashMap::new();
    let mut errors = Vec::new();
    for (d, r) in listed {
        match r {
            Ok(n) => {
                names.insert(d, n);
            }
            Err(e) => errors.push(format!(
                "--datasets: cannot list the tables of {d}: {}",
                report::one_line(&e)
            )),
        }
    }
    if !errors.is_empty() {
        errors.sort();
        return Err(errors.into_iter().flat_map(refuse).collect());
    }
    let sel = Selection {
        include: args.include.clone(),
        exclude: args.exclude.clone(),
    };
    let of = |d: &DatasetRef| names.get(d).map(Vec::as_slice).unwrap_or_default();
    let mut out = FromDatasets::default();
    for s in specs {
        let skipped = match s {
            DatasetSpec::Pair(a, b) => {
                let p = pair_tables(a, of(a), b, of(b), &sel);
                eprintln!(
                    "note: --datasets {s}: {} pair{} of same-named tables, {} only in {a}, {} only in {b}",
                    p.pairs.len(),
                    if p.pairs.len() == 1 { "" } else { "s" },
                    p.one_sided.iter().filter(|(_, o)| *o == crate::model::OnlyIn::A).count(),
                    p.one_sided.iter().filter(|(_, o)| *o == crate::model::OnlyIn::B).count(),
                );
                out.pairs.extend(p.pairs);
                out.one_sided.extend(p.one_sided);
                p.skipped
            }
            DatasetSpec::One(a) => {
                let (t, skipped) = select_tables(a, of(a), &sel);
                eprintln!(
                    "note: --datasets {s}: {} table{}",
                    t.len(),
                    if t.len() == 1 { "" } else { "s" }
                );
                out.tables.extend(t);
                skipped
            }
        };
        for n in skipped {
            eprintln!(
                "warning: --datasets {s}: `{}` is not a table id BigQuery allows: left out",
                report::one_line(&n)
            );
        }
    }
    if out.pairs.is_empty() && out.one_sided.is_empty() && out.tables.is_empty() {
        return Err(refuse(format!(
            "--datasets: no table of {} is selected{}",
            specs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            if sel.include.is_empty() && sel.exclude.is_empty() {
                ""
            } else {
                " by --include/--exclude"
            }
        )));
    }
    Ok(out)
}

/// A pair command's items before the run: the pairs named, and the `--datasets` still to
/// list.
pub(crate) struct PairItems {
    pub(crate) pairs: Vec<Pair>,
    pub(crate) datasets: Vec<crate::input::datasets::DatasetSpec>,
    /// `--dbt-manifest`: models new in CI.
    pub(crate) one_sided: Vec<(Pair, crate::model::OnlyIn)>,
    /// `--dbt-manifest`: the keys the manifest names, per pair, and where (`dbt: unique
    /// test`).
    pub(crate) keys: Vec<(Pair, Vec<String>, String)>,
}

/// `--dbt-manifest`: read the manifests and build the pairs (already checked and said).
fn dbt_pairs(
    args: &crate::cli::DbtArgs,
    project: Option<&str>,
) -> Result<Option<crate::input::dbt::DbtPairs>, Vec<String>> {
    use crate::input::dbt;
    let Some(ci) = &args.dbt_manifest else {
        let stray = args.dbt_state.is_some()
            || args.dbt_target_dataset.is_some()
            || !args.dbt_select.is_empty()
            || args.dbt_views;
        return if stray {
            Err(refuse(
                "--dbt-state, --dbt-target-dataset, --dbt-select and --dbt-views go with --dbt-manifest",
            ))
        } else {
            Ok(None)
        };
    };
    let read = |p: &std::path::Path| -> Result<dbt::Manifest, String> {
        let text = std::fs::read_to_string(p)
            .map_err(|e| format!("cannot read dbt manifest {}: {e}", p.display()))?;
        dbt::parse_manifest(&p.display().to_string(), &text)
    };
    let ci = read(ci).map_err(refuse)?;
    let state = match &args.dbt_state {
        Some(p) => Some(read(p).map_err(refuse)?),
        None => None,
    };
    let target = match &args.dbt_target_dataset {
        Some(t) => Some(
            crate::model::DatasetRef::parse(t, project)
                .map_err(|e| refuse(format!("--dbt-target-dataset: {e}")))?,
        ),
        None => None,
    };
    let opts = dbt::DbtOptions {
        select: args.dbt_select.clone(),
        views: args.dbt_views,
        target,
    };
    let got = dbt::pairs(&ci, state.as_ref(), &opts)
        .map_err(|e| e.into_iter().flat_map(refuse).collect::<Vec<_>>())?;
    for n in &got.notes {
        eprintln!("{n}");
    }
    Ok(Some(got))
}

/// [`read_pairs`] and the `--datasets` values of a pair command, all checked.
pub(crate) fn read_pair_items(
    input: &crate::cli::PairArgs,
    run: &Run,
    section: &str,
) -> anyhow::Result<Result<PairItems, Vec<String>>> {
    let project = run.project.as_deref();
    let datasets = match dataset_specs(&input.datasets, project, true) {
        Ok(d) => d,
        Err(why) => return Ok(Err(why)),
    };
    let dbt = match dbt_pairs(&input.dbt, project) {
        Ok(d) => d,
        Err(why) => return Ok(Err(why)),
    };
    let pairs = read_pairs(
        &input.pairs,
        input.pairs_file.as_deref(),
        &run.listed,
        project,
        &run.from_file,
        section,
        !datasets.is_empty() || dbt.is_some(),
    )?;
    let mut items = match pairs {
        Ok(pairs) => PairItems {
            pairs,
            datasets,
            one_sided: Vec::new(),
            keys: Vec::new(),
        },
        Err(why) => return Ok(Err(why)),
    };
    let mut nothing_modified = false;
    if let Some(d) = dbt {
        nothing_modified = d.pairs.is_empty() && d.one_sided.is_empty() && d.unchanged > 0;
        for (pair, key) in d.pairs {
            if let Some((k, from)) = key {
                items.keys.push((pair.clone(), k, format!("dbt: {from}")));
            }
            items.pairs.push(pair);
        }
        items.one_sided.extend(d.one_sided);
        let (pairs, _) = input::dedup(std::mem::take(&mut items.pairs), "pair");
        items.pairs = pairs;
    }
    if items.pairs.is_empty()
        && items.datasets.is_empty()
        && items.one_sided.is_empty()
        && !nothing_modified
    {
        return Ok(Err(refuse(
            "--dbt-manifest: no model to compare (see the note above)",
        )));
    }
    Ok(Ok(items))
}

impl PairItems {
    /// List the datasets and add their pairs (a pair named twice is compared once); the
    /// tables in one dataset only.
    pub(crate) async fn expand(
        &mut self,
        client: &crate::warehouse::Client,
        args: &crate::cli::DatasetArgs,
    ) -> Result<Vec<(Pair, crate::model::OnlyIn)>, Vec<String>> {
        let mut one_sided = std::mem::take(&mut self.one_sided);
        if self.datasets.is_empty() {
            return Ok(Self::settle(&self.pairs, one_sided));
        }
        let found = expand_datasets(client, &self.datasets, args).await?;
        let mut pairs = std::mem::take(&mut self.pairs);
        pairs.extend(found.pairs);
        let (pairs, _) = input::dedup(pairs, "pair");
        self.pairs = pairs;
        one_sided.extend(found.one_sided);
        Ok(Self::settle(&self.pairs, one_sided))
    }

    /// The one-sided items, each once, and none that is also a pair to compare (a pair
    /// named explicitly is checked, and a missing side is then its error).
    fn settle(
        pairs: &[Pair],
        one_sided: Vec<(Pair, crate::model::OnlyIn)>,
    ) -> Vec<(Pair, crate::model::OnlyIn)> {
        let mut out: Vec<(Pair, crate::model::OnlyIn)> = Vec::new();
        for (p, o) in one_sided {
            if !pairs.contains(&p) && !out.iter().any(|(q, _)| *q == p) {
                out.push((p, o));
            }
        }
        out
    }
}

/// How a check ended.
pub(crate) enum Finished {
    /// The batch ran (some items may have failed); the reports are still to be written.
    Batch(Box<dyn Batch>),
    /// The input was refused before any request: why, one line per problem (already said on
    /// stderr). The exit status is 2.
    Refused(Vec<String>),
}

impl Finished {
    /// The CLI's end: print and write the reports, return the exit status.
    pub(crate) fn emit(self, common: &CommonArgs) -> anyhow::Result<ExitStatus> {
        match self {
            Finished::Batch(batch) => {
                emit_reports(batch.as_ref(), common)?;
                Ok(batch.exit_status())
            }
            Finished::Refused(_) => Ok(ExitStatus::Trouble),
        }
    }
}

/// Does listed text name anything (a line that is not blank or a comment)?
pub(crate) fn names_any(listed: &Listed) -> bool {
    match listed {
        Listed::Text { text, .. } => text.lines().any(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        }),
        Listed::Stdin => false,
    }
}

/// Pairs from the arguments, `--pairs-file`, listed text, or stdin (only when nothing else
/// names a pair), all validated. When none of those names a pair, the config file's pairs
/// (`section.pairs`, `section.pairs_file`) are the default set. `datasets`: other items come
/// from `--datasets` or a dbt manifest, so none here is fine and stdin is not read. On bad
/// input the problems are printed and `Err(2)` is the exit status.
pub(crate) fn read_pairs(
    args: &[String],
    pairs_file: Option<&std::path::Path>,
    listed: &Listed,
    default_project: Option<&str>,
    from_file: &FromFile,
    section: &str,
    more: bool,
) -> anyhow::Result<Result<Vec<Pair>, Vec<String>>> {
    let cli_names = !args.is_empty() || pairs_file.is_some() || names_any(listed);
    let collected: Result<Vec<Pair>, String> = if !cli_names && more && !from_file.names_items() {
        // `--datasets` alone: nothing else to read (stdin neither).
        Ok(Vec::new())
    } else if !cli_names && from_file.names_items() {
        let mut pairs = Vec::new();
        let mut errors = Vec::new();
        if let Some(p) = &from_file.pairs_file {
            match input::read_pairs_file(p, default_project) {
                Ok(v) => pairs.extend(v),
                Err(e) => errors.push(e.to_string()),
            }
        }
        match from_file.pairs(section, default_project) {
            Ok(v) => pairs.extend(v.into_iter().map(|(p, _)| p)),
            Err(e) => errors.extend(e),
        }
        if let Some(p) = &from_file.path {
            // Say where the pairs came from (stdin, if any, is not read).
            eprintln!(
                "note: the pairs of {} ({section}); pairs given as arguments or with --pairs-file replace them",
                p.display()
            );
        }
        if !errors.is_empty() {
            Err(errors.join("\n"))
        } else if pairs.is_empty() {
            Err(format!(
                "no pairs in the config file's `{section}` section: nothing to compare"
            ))
        } else {
            Ok(pairs)
        }
    } else {
        let stdin = if args.is_empty() && pairs_file.is_none() && matches!(listed, Listed::Stdin) {
            stdin_text()?
        } else {
            None
        };
        let listed = match listed {
            Listed::Text { origin, text } => Some((origin.as_str(), text.as_str())),
            Listed::Stdin => None,
        };
        input::collect_pairs(
            PairInputs {
                args,
                pairs_file,
                stdin,
                listed,
            },
            default_project,
        )
        .map_err(|e| e.to_string())
    };
    match collected {
        Ok(p) => {
            let (pairs, notice) = input::dedup(p, "pair");
            if let Some(n) = notice {
                eprintln!("{n}");
            }
            let selves: Vec<&Pair> = pairs.iter().filter(|p| p.a == p.b).collect();
            if let Some(first) = selves.first() {
                eprintln!(
                    "note: {} pair{} compare{} a table with itself (always identical), e.g. {}",
                    selves.len(),
                    if selves.len() == 1 { "" } else { "s" },
                    if selves.len() == 1 { "s" } else { "" },
                    first.a
                );
            }
            Ok(Ok(pairs))
        }
        Err(e) => Ok(Err(refuse(e))),
    }
}

/// The tables from the arguments and listed text, or stdin when neither names one.
/// `tables`: the TABLE arguments; `section`: the config file's section (its `tables:` are the
/// default set); `verb`: what is done to them, for the message when there are none;
/// `datasets`: `--datasets` names tables too, so none here is fine and stdin is not read.
pub(crate) fn read_tables(
    tables_given: &[String],
    run: &Run,
    project: Option<&str>,
    section: &str,
    verb: &str,
    datasets: bool,
) -> anyhow::Result<Result<Vec<TableRef>, Vec<String>>> {
    let listed = &run.listed;
    if datasets && tables_given.is_empty() && !names_any(listed) && run.from_file.tables.is_empty()
    {
        // `--datasets` alone: nothing else to read (stdin neither).
        return Ok(Ok(Vec::new()));
    }
    let mut tables = Vec::new();
    let mut errors = Vec::new();
    let mut add = |parsed: Result<Vec<TableRef>, Vec<input::LineError>>| match parsed {
        Ok(t) => tables.extend(t),
        Err(e) => errors.extend(e),
    };
    if !tables_given.is_empty() {
        add(input::parse_table_lines(
            "argument",
            &tables_given.join("\n"),
            project,
        ));
    }
    // The config file's tables are the default set: used when nothing else names a table.
    let from_file = &run.from_file;
    if tables_given.is_empty() && !names_any(listed) && !from_file.tables.is_empty() {
        let origin = match &from_file.path {
            Some(p) => format!("{} ({section}.tables)", p.display()),
            None => format!("{section}.tables"),
        };
        eprintln!("note: the tables of {origin}; TABLE arguments replace them");
        add(input::parse_table_lines(
            &origin,
            &from_file.tables.join("\n"),
            project,
        ));
    } else {
        match listed {
            Listed::Text { origin, text } => add(input::parse_table_lines(origin, text, project)),
            Listed::Stdin if tables_given.is_empty() => match stdin_text()? {
                Some(text) => add(input::parse_table_lines("<stdin>", &text, project)),
                None => {
                    return Ok(Err(refuse(
                        "no tables given: pass TABLE arguments or pipe one table per line to stdin",
                    )));
                }
            },
            Listed::Stdin => {}
        }
    }
    if !errors.is_empty() {
        return Ok(Err(errors.into_iter().flat_map(refuse).collect()));
    }
    if tables.is_empty() {
        return Ok(Err(refuse(format!(
            "no tables in the input: nothing to {verb} (blank lines and # comments are skipped)"
        ))));
    }
    let (tables, notice) = input::dedup(tables, "table");
    if let Some(n) = notice {
        eprintln!("{n}");
    }
    Ok(Ok(tables))
}

/// `--parallel`, capped, with the original utilities' warning.
pub(crate) fn parallelism(common: &CommonArgs) -> usize {
    let (parallel, warning) = crate::runner::effective_parallel(
        usize::from(common.parallel),
        common.max_parallel.map(usize::from),
    );
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    parallel
}

/// The progress display for `n` items, e.g. `Comparing 3 pairs`.
pub(crate) fn progress(
    common: &CommonArgs,
    n: usize,
    verb: &str,
    noun: &str,
) -> crate::runner::Progress {
    crate::runner::Progress::new(
        common.progress,
        n,
        &format!("{verb} {n} {noun}{}", if n == 1 { "" } else { "s" }),
    )
}

#[cfg(test)]
mod tests {
    use super::over_budget;
    use crate::model::MIN_BILLED_PER_QUERY;

    #[test]
    fn a_budget_counts_every_query_at_its_minimum_bill_and_names_the_biggest_items() {
        let gib = 1 << 30;
        let items = vec![
            ("small".to_string(), vec![0, 0]),
            ("big".to_string(), vec![gib, gib, 2 * gib]),
            ("mid".to_string(), vec![gib]),
        ];
        let total = 2 * MIN_BILLED_PER_QUERY + 5 * gib;
        assert_eq!(over_budget(&items, total), None, "exactly the budget runs");
        let why = over_budget(&items, total - 1).unwrap_or_default();
        let lines: Vec<&str> = why.lines().collect();
        assert!(
            lines[0].contains(&format!("could bill up to {total} bytes")),
            "{why}"
        );
        assert!(lines[0].contains("no job ran"), "{why}");
        assert_eq!(lines[1], "  big: up to 4294967296 bytes (4.0 GiB)");
        assert_eq!(lines[2], "  mid: up to 1073741824 bytes (1.0 GiB)");
        assert_eq!(lines[3], "  small: up to 20971520 bytes (20.0 MiB)");
        // Absurd estimates (a hostile endpoint) saturate: over any budget, never wrapped.
        let huge = vec![("x".to_string(), vec![u64::MAX / 2 + 1, u64::MAX / 2 + 1])];
        assert!(over_budget(&huge, u64::MAX - 1).is_some());
    }
}
