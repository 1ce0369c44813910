//! Command-line flags: every flag is defined and documented once here, and shared by the
//! standalone binaries (`bq-schema-diff`, ...) and the umbrella `bqcheck <subcommand>`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use serde::Serialize;

use crate::config::{ConfigError, FromFile};
use crate::report::Format;

const EXIT_CODES: &str = "\
Exit status (as diff(1)):
  0  nothing to fail on
  1  differences found (subject to --fail-on)
  2  trouble: bad input, or any item failed";

/// Flags every utility takes.
///
/// On/off flags (`--progress`, `--skip-stats`, ...) also take `=false`, so a command line or
/// an action input can turn off what a config file turns on.
#[derive(Debug, Clone, Args, Serialize)]
pub struct CommonArgs {
    /// Number of items processed at once (capped at 2 × CPUs, or --max-parallel). Each item
    /// has at most 2 requests to BigQuery in flight (its two sides, or a profile's query and
    /// its sample rows), so at most 2 × N at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,

    /// Cap on --parallel instead of 2 × CPUs. The work is waiting on BigQuery, not the CPU, so
    /// on a 2-core CI runner a batch of 200 tables can safely run 32 at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_parallel: Option<u16>,

    /// Give up on an item after this many seconds (it fails as timed out; its BigQuery jobs
    /// are cancelled). Each request also has its own 120 s limit.
    #[arg(long, value_name = "SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// Say on stderr what is retried and why (status, reason, attempt, delay).
    #[arg(long, short = 'v', num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_name = "BOOL", hide_possible_values = true, hide_default_value = true)]
    pub verbose: bool,

    /// Show progress on stderr: a bar on a terminal, plain `[3/40] ✓ item` lines otherwise.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_name = "BOOL", hide_possible_values = true, hide_default_value = true)]
    pub progress: bool,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text, value_name = "FORMAT")]
    pub format: Format,

    /// Use no cache: fetch every table's metadata anew even if several items name the same
    /// table, and run every query even if a cached result of an unchanged table exists.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_name = "BOOL", hide_possible_values = true, hide_default_value = true)]
    pub no_cache: bool,

    /// Where query results of unchanged tables are cached between runs
    /// [default: $XDG_CACHE_HOME/bqcheck, else ~/.cache/bqcheck].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Settings file: defaults for these flags, pairs or tables, accepted schema changes
    /// [default: .bqcheck.yml in the working directory, if there is one]. Flags win over it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Default project for `dataset.table` references and for running jobs
    /// [default: $GOOGLE_CLOUD_PROJECT, $CLOUDSDK_CORE_PROJECT, then the credentials' project].
    #[arg(long, value_name = "ID")]
    pub project: Option<String>,

    /// BigQuery API endpoint, e.g. an emulator at http://127.0.0.1:9050. No credentials are
    /// sent to it unless --send-credentials-to-api-url is given on the command line
    /// [default: $BIGQUERY_EMULATOR_HOST, else https://bigquery.googleapis.com].
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,

    /// Send Google credentials to the --api-url endpoint (a private endpoint or proxy): only
    /// over https, or http to this machine (127.0.0.1, ::1, localhost). A command-line flag
    /// only: a config file cannot set it.
    #[arg(long)]
    pub send_credentials_to_api_url: bool,

    /// Google credentials JSON (service_account, authorized_user or external_account)
    /// [default: $GOOGLE_APPLICATION_CREDENTIALS, gcloud's ADC file, the metadata server].
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,

    /// Also write the JSON report to PATH.
    #[arg(long, value_name = "PATH")]
    pub report_json: Option<PathBuf>,

    /// Also write a JUnit XML report to PATH (one testcase per item).
    #[arg(long, value_name = "PATH")]
    pub report_junit: Option<PathBuf>,

    /// Also write a Markdown report to PATH (for PR comments and job summaries).
    #[arg(long, value_name = "PATH")]
    pub report_markdown: Option<PathBuf>,
}

impl CommonArgs {
    /// `--timeout` as a duration.
    pub fn item_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout)
    }
}

/// Where pairs come from (bq-schema-diff, bq-table-compare).
#[derive(Debug, Clone, Args, Serialize)]
pub struct PairArgs {
    /// `TABLE_A TABLE_B` (one pair) or pairs `A:B`. A side is a table
    /// (project.dataset.table, dataset.table, project:dataset.table) or, for schema-diff, a
    /// schema file (`*.json` or `file:PATH`). With no pairs and no --pairs-file, pairs are read
    /// from stdin.
    #[arg(value_name = "PAIR")]
    #[serde(skip)]
    pub pairs: Vec<String>,

    /// File with one pair per line (`A:B`, `A,B` or `A B`); blank lines and `#` comments skipped.
    #[arg(long, value_name = "FILE")]
    pub pairs_file: Option<PathBuf>,
}

/// Flags of the utilities that run queries (bq-table-compare, bq-profile).
#[derive(Debug, Clone, Args, Serialize)]
pub struct QueryArgs {
    /// Only these columns (paths such as `address.zip`).
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,

    /// A predicate applied to every table read, e.g. for partition pruning (columns by name or
    /// as `t.col`; no `;` or comments).
    #[arg(long = "where", value_name = "PREDICATE")]
    #[serde(rename = "where")]
    pub where_clause: Option<String>,

    /// Set `maximumBytesBilled` on every job: BigQuery refuses a job that would bill more.
    #[arg(long, value_name = "BYTES")]
    pub max_bytes_billed: Option<u64>,

    /// Print each generated query and BigQuery's bytes estimate; run nothing.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_name = "BOOL", hide_possible_values = true, hide_default_value = true)]
    pub dry_run: bool,

    /// Location to run query jobs in, e.g. `EU` [default: the tables' own location].
    #[arg(long, value_name = "LOCATION")]
    pub location: Option<String>,
}

/// What makes `bq-schema-diff` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaFailOn {
    /// Any difference, cosmetic ones included.
    Any,
    /// Only breaking changes.
    Breaking,
    /// Never (report only).
    Never,
}

/// Compare the schemas of table pairs (nested fields too) and classify each change as
/// breaking, compatible or cosmetic by BigQuery's rules for in-place schema changes.
///
/// A is the proposed schema (dev, a PR's schema file), B the one it would replace (prod):
/// `+` is only in A, `-` only in B, `~` changed from B's value to A's.
#[derive(Debug, Clone, Parser, Serialize)]
#[command(name = "bq-schema-diff", version, after_help = SCHEMA_DIFF_HELP)]
pub struct SchemaDiffArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub input: PairArgs,

    /// Which differences make the exit status 1.
    #[arg(long, value_enum, default_value_t = SchemaFailOn::Any)]
    pub fail_on: SchemaFailOn,

    /// Also compare partitioning, clustering, table description, labels and primary key.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_name = "BOOL", hide_possible_values = true, hide_default_value = true)]
    pub include_table_options: bool,

    #[command(flatten)]
    #[serde(flatten)]
    pub common: CommonArgs,

    /// What the config file adds (pairs, accept entries).
    #[arg(skip)]
    #[serde(skip)]
    pub from_file: FromFile,
}

const SCHEMA_DIFF_HELP: &str = "\
Examples:
  bq-schema-diff project.dev.users project.prod.users
  bq-schema-diff schemas/users.json prod.users            # offline: a PR's schema file vs prod
  echo -e \"dev.t1:prod.t1\\ndev.t2:prod.t2\" | bq-schema-diff --parallel 2 --progress
  bq-schema-diff --pairs-file=table_pairs.txt --format=json --fail-on=breaking

Exit status (as diff(1)):
  0  nothing to fail on
  1  differences found (subject to --fail-on)
  2  trouble: bad input, or any item failed";

/// Compare the data of table pairs, computed inside BigQuery: row counts, per-column
/// statistics and row-level differences with example rows. Tables are never pulled.
///
/// Cost per pair: metadata (free); one scan of each side (row count, fingerprint, statistics);
/// and, only when those differ, one more query joining both sides.
#[derive(Debug, Clone, Parser, Serialize)]
#[command(name = "bq-table-compare", version, after_help = TABLE_COMPARE_HELP)]
pub struct TableCompareArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub input: PairArgs,

    /// Number of example rows per kind of difference.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub sample_size: u32,

    /// Skip per-column statistics (the scan still counts rows and fingerprints them).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_name = "BOOL", hide_possible_values = true, hide_default_value = true)]
    pub skip_stats: bool,

    /// Skip the row-level diff and example rows (no third query).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_name = "BOOL", hide_possible_values = true, hide_default_value = true)]
    pub skip_samples: bool,

    /// Key columns for the row-level diff [default: the primary key, else a multiset diff].
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub key: Option<Vec<String>>,

    /// Leave these columns out.
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub exclude_columns: Vec<String>,

    #[command(flatten)]
    #[serde(flatten)]
    pub query: QueryArgs,

    /// Which differences make the exit status 1.
    #[arg(long, value_enum, default_value_t = CompareFailOn::Any)]
    pub fail_on: CompareFailOn,

    /// Relative tolerance for numeric statistics (sum, avg), e.g. 0.001.
    #[arg(long, value_name = "REL", default_value_t = 0.0)]
    pub tolerance: f64,

    /// Absolute tolerance for FLOAT64 values in the keyed row-level diff [default: exact].
    #[arg(long, value_name = "ABS")]
    pub float_tolerance: Option<f64>,

    #[command(flatten)]
    #[serde(flatten)]
    pub common: CommonArgs,

    /// What the config file adds (pairs with their own key and filter).
    #[arg(skip)]
    #[serde(skip)]
    pub from_file: FromFile,
}

const TABLE_COMPARE_HELP: &str = "\
Examples:
  bq-table-compare staging.orders prod.orders --key order_id
  echo -e \"staging.t1:prod.t1\\nstaging.t2:prod.t2\" | bq-table-compare --parallel 2 --progress --skip-stats
  bq-table-compare --pairs-file=pairs.txt --where \"order_date >= '2024-01-01'\" --max-bytes-billed 10000000000
  bq-table-compare --dry-run dev.orders prod.orders

Exit status (as diff(1)):
  0  the pairs hold the same data
  1  some pair differs
  2  trouble: bad input, or any pair failed";

/// What makes `bq-table-compare` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CompareFailOn {
    /// Any pair whose data differs.
    Any,
    /// Never (report only).
    Never,
}

/// What makes `bq-profile` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileFailOn {
    /// Any anomaly, info included.
    Anomalies,
    /// Error-severity anomalies only.
    Errors,
    /// Never (report only).
    Never,
}

/// Profile tables in one query each: nulls, distinct counts, min/max, quantiles, lengths, top
/// values, arrays; sample rows for free through tabledata.list; anomaly detection and drift
/// against a baseline.
#[derive(Debug, Clone, Parser, Serialize)]
#[command(name = "bq-profile", version, after_help = PROFILE_HELP)]
pub struct ProfileArgs {
    /// Tables to profile; stdin (one per line, `#` comments) when none are given.
    #[arg(value_name = "TABLE")]
    #[serde(skip)]
    pub tables: Vec<String>,

    /// Number of sample rows (0 for none).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub sample_size: u32,

    /// Flag anomalies: empty tables, all-null and constant columns, high null rates, duplicate
    /// ids, outliers, future or pre-1970 dates, empty or padded strings, stale tables.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_name = "BOOL", hide_possible_values = true, hide_default_value = true)]
    pub detect_anomalies: bool,

    /// A previous `--format json` output: flag drift in rows, null rates, distinct counts,
    /// means, and added or removed columns.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// What makes the exit status 1
    /// [default: errors with --detect-anomalies or --baseline, else never].
    #[arg(long, value_enum)]
    pub fail_on: Option<ProfileFailOn>,

    #[command(flatten)]
    #[serde(flatten)]
    pub query: QueryArgs,

    /// Days without modification after which a table is stale.
    #[arg(long, value_name = "DAYS", default_value_t = 30.0)]
    pub stale_after: f64,

    /// Null rate (0–1) above which a column is flagged.
    #[arg(long, value_name = "RATE", default_value_t = 0.5)]
    pub null_rate_threshold: f64,

    /// Outliers: min or max beyond the quartiles by this many IQRs.
    #[arg(long, value_name = "K", default_value_t = 3.0)]
    pub outlier_iqr: f64,

    /// Drift: relative row-count change flagged.
    #[arg(long, value_name = "REL", default_value_t = 0.1)]
    pub drift_rows: f64,

    /// Drift: absolute null-rate change flagged.
    #[arg(long, value_name = "ABS", default_value_t = 0.1)]
    pub drift_null_rate: f64,

    /// Drift: relative distinct-count change flagged.
    #[arg(long, value_name = "REL", default_value_t = 0.2)]
    pub drift_distinct: f64,

    /// Drift: mean shift, in baseline standard deviations, flagged.
    #[arg(long, value_name = "K", default_value_t = 3.0)]
    pub drift_mean_stddevs: f64,

    #[command(flatten)]
    #[serde(flatten)]
    pub common: CommonArgs,

    /// What the config file adds (tables).
    #[arg(skip)]
    #[serde(skip)]
    pub from_file: FromFile,
}

const PROFILE_HELP: &str = "\
Examples:
  bq-profile --parallel 4 --progress project.dataset.table1 project.dataset.table2
  bq-profile --detect-anomalies --format=json analytics.events > profile.json
  bq-profile --baseline yesterday.json --detect-anomalies analytics.events

Exit status (as diff(1)):
  0  nothing to fail on
  1  anomalies per --fail-on
  2  trouble: bad input, or any table failed";

/// bqcheck: check BigQuery tables in CI and on a laptop with the same commands.
#[derive(Debug, Parser)]
#[command(name = "bqcheck", version, after_help = EXIT_CODES)]
pub struct Bqcheck {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compare schemas of table pairs (same flags as bq-schema-diff).
    SchemaDiff(SchemaDiffArgs),
    /// Compare the data of table pairs (same flags as bq-table-compare).
    TableCompare(TableCompareArgs),
    /// Profile tables (same flags as bq-profile).
    Profile(ProfileArgs),
    /// Run as the GitHub Action: read the action's inputs from INPUT_* variables, run the
    /// command they name, then write step outputs, the job summary, annotations, the reports
    /// and the sticky PR comment (see action.yml).
    Action {
        /// Ignored: a Docker action's runner may pass the `args` input here too; the action
        /// reads it from INPUT_ARGS.
        #[arg(num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        ignored: Vec<String>,
    },
    /// Work with the settings file (.bqcheck.yml).
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a settings file and print the effective settings of each command (the defaults
    /// with the file applied; flags given on a command line would still win).
    Check {
        /// The file [default: .bqcheck.yml in the working directory].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

impl Command {
    /// Fill in what the command line left unset from the config file (`--config`, else
    /// `.bqcheck.yml` if present). `m` are the subcommand's matches.
    pub fn apply_config(&mut self, m: &ArgMatches) -> Result<(), ConfigError> {
        match self {
            Command::SchemaDiff(a) => a.apply_config(m),
            Command::TableCompare(a) => a.apply_config(m),
            Command::Profile(a) => a.apply_config(m),
            Command::Action { .. } | Command::Config(_) => Ok(()),
        }
    }
}

impl SchemaDiffArgs {
    pub fn apply_config(&mut self, m: &ArgMatches) -> Result<(), ConfigError> {
        let path = self.common.config.clone();
        crate::config::apply_file(path.as_deref(), |l| l.apply_schema_diff(m, self))
    }
}

impl TableCompareArgs {
    pub fn apply_config(&mut self, m: &ArgMatches) -> Result<(), ConfigError> {
        let path = self.common.config.clone();
        crate::config::apply_file(path.as_deref(), |l| l.apply_table_compare(m, self))
    }
}

impl ProfileArgs {
    pub fn apply_config(&mut self, m: &ArgMatches) -> Result<(), ConfigError> {
        let path = self.common.config.clone();
        crate::config::apply_file(path.as_deref(), |l| l.apply_profile(m, self))
    }
}

/// Parse a standalone binary's command line and apply the config file; on trouble, say it
/// and exit (clap's own status for usage errors, 2 for a bad config file).
fn parse_configured<T: CommandFactory + FromArgMatches>(
    apply: impl FnOnce(&mut T, &ArgMatches) -> Result<(), ConfigError>,
) -> Result<T, ExitCode> {
    let m = T::command().get_matches();
    let mut args = match T::from_arg_matches(&m) {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    match apply(&mut args, &m) {
        Ok(()) => Ok(args),
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// Run a command on a fresh runtime, turning any error into exit status 2.
fn run<F>(fut: F) -> ExitCode
where
    F: std::future::Future<Output = anyhow::Result<u8>>,
{
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = rt.block_on(async {
        crate::cancel::install();
        fut.await
    });
    // After SIGINT/SIGTERM the partial report is written; the status says it was cut short.
    if let Some(code) = crate::cancel::exit_code() {
        return ExitCode::from(code);
    }
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

pub fn main_schema_diff() -> ExitCode {
    match parse_configured(SchemaDiffArgs::apply_config) {
        Ok(args) => run(crate::commands::schema_diff::run(args)),
        Err(code) => code,
    }
}

pub fn main_table_compare() -> ExitCode {
    match parse_configured(TableCompareArgs::apply_config) {
        Ok(args) => run(crate::commands::table_compare::run(args)),
        Err(code) => code,
    }
}

pub fn main_profile() -> ExitCode {
    match parse_configured(ProfileArgs::apply_config) {
        Ok(args) => run(crate::commands::profile::run(args)),
        Err(code) => code,
    }
}

pub fn main_bqcheck() -> ExitCode {
    let matches = Bqcheck::command().get_matches();
    let mut parsed = match Bqcheck::from_arg_matches(&matches) {
        Ok(p) => p,
        Err(e) => e.exit(),
    };
    if let Some((_, sub)) = matches.subcommand() {
        if let Err(e) = parsed.command.apply_config(sub) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    match parsed.command {
        Command::SchemaDiff(args) => run(crate::commands::schema_diff::run(args)),
        Command::TableCompare(args) => run(crate::commands::table_compare::run(args)),
        Command::Profile(args) => run(crate::commands::profile::run(args)),
        Command::Action { .. } => run(crate::commands::action::run()),
        Command::Config(ConfigCommand::Check { config }) => {
            ExitCode::from(crate::commands::config::check(config.as_deref()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flag_definitions_are_consistent() {
        Bqcheck::command().debug_assert();
        SchemaDiffArgs::command().debug_assert();
        TableCompareArgs::command().debug_assert();
        ProfileArgs::command().debug_assert();
    }

    #[test]
    fn parallel_must_be_positive() {
        assert!(SchemaDiffArgs::try_parse_from(["x", "--parallel", "0", "a.b", "c.d"]).is_err());
        let a = SchemaDiffArgs::try_parse_from(["x", "--parallel=8", "a.b", "c.d"]).unwrap();
        assert_eq!(a.common.parallel, 8);
        assert_eq!(a.fail_on, SchemaFailOn::Any);
    }
}
