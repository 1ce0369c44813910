//! Command-line flags: every flag is defined and documented once here, and shared by the
//! standalone binaries (`bq-schema-diff`, ...) and the umbrella `bqcheck <subcommand>`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};

use serde::Serialize;

use crate::report::Format;

/// Where an option sits in `.bqcheck.yml` when that is not its flag's name: `(flag id, key)`.
/// Every other option's key is its long flag with `_` for `-`: top level for the options every
/// command takes, else in the command's section.
pub(crate) const CONFIG_KEYS: &[(&str, &str)] = &[
    ("null_rate_threshold", "anomalies.null_rate"),
    ("stale_after", "anomalies.stale_after"),
    ("outlier_iqr", "anomalies.outlier_iqr"),
    ("drift_rows", "drift.rows"),
    ("drift_null_rate", "drift.null_rate"),
    ("drift_distinct", "drift.distinct"),
    ("drift_mean_stddevs", "drift.mean_stddevs"),
    ("map", "columns_map"),
];

/// A config group whose presence turns an on/off option on (`anomalies:` means
/// `--detect-anomalies`, unless the file says `detect_anomalies: false`).
pub(crate) const CONFIG_GROUPS_TURN_ON: &[(&str, &str)] = &[("anomalies", "detect_anomalies")];

/// Options with no config key, and why. A test fails for any other option without one.
pub(crate) const NOT_IN_CONFIG: &[(&str, &str)] = &[
    ("config", "it names the file itself"),
    (
        "send_credentials_to_api_url",
        "where credentials go is said on the command line only: a pull request can change the file",
    ),
    (
        "pairs",
        "the file lists `pairs:` (with per-pair options) in the command's section",
    ),
    (
        "tables",
        "the file lists `tables:` in the command's section",
    ),
];

/// Action inputs not named as their flag's config key: `(flag id, input)`.
pub(crate) const ACTION_INPUT_NAMES: &[(&str, &str)] = &[("history", "history_dir")];

/// The action input of an option: its config key, or its name in [`ACTION_INPUT_NAMES`].
pub(crate) fn input_of(arg: &clap::Arg) -> String {
    ACTION_INPUT_NAMES
        .iter()
        .find(|(id, _)| arg.get_id() == *id)
        .map(|(_, name)| name.to_string())
        .unwrap_or_else(|| key_of(arg))
}

/// Options with no action input, and why. A test fails for any other option without one.
pub(crate) const NOT_ACTION_INPUTS: &[(&str, &str)] = &[
    (
        "format",
        "the action prints text and writes every format into `report_dir`",
    ),
    ("report_json", "written as report_dir/report.json"),
    ("report_junit", "written as report_dir/report.xml"),
    ("report_markdown", "written as report_dir/report.md"),
    (
        "send_credentials_to_api_url",
        "where credentials go is said on a command line only",
    ),
    ("pairs", "the `pairs` input lists them, one per line"),
    ("tables", "the `tables` input lists them, one per line"),
];

/// A command's options: its named flags, but `--help` and `--version` (for the config file's
/// keys, the action's inputs and their tests alike).
pub(crate) fn options(command: &clap::Command) -> impl Iterator<Item = &clap::Arg> {
    command.get_arguments().filter(|a| {
        !a.is_positional()
            && a.get_long().is_some()
            && !matches!(a.get_id().as_str(), "help" | "version")
    })
}

/// The flag id's config key or action input name: `--max-bytes-billed` is `max_bytes_billed`.
pub(crate) fn key_of(arg: &clap::Arg) -> String {
    arg.get_long()
        .map(|l| l.replace('-', "_"))
        .unwrap_or_else(|| arg.get_id().to_string())
}

/// Value checks shared by the flags, the config file and the action's inputs: each option
/// refuses the same values, with the same message, wherever it is set.
pub(crate) mod values {
    /// A whole number of at least 1 (`--parallel`).
    pub(crate) fn positive(s: &str) -> Result<u16, String> {
        let max = u16::MAX;
        match s.trim().parse::<i128>() {
            Ok(n) if (1..=i128::from(max)).contains(&n) => Ok(n as u16),
            Ok(n) => Err(format!(
                "{n} is out of range: use a whole number from 1 to {max}"
            )),
            Err(_) => Err(format!(
                "`{s}` is not a whole number: use one from 1 to {max}"
            )),
        }
    }

    /// A number, or a number with a unit (`s`, `m`, `h`, `d`, `w`), in seconds.
    pub(crate) fn duration_seconds(text: &str, unit_seconds: f64) -> Result<f64, String> {
        let t = text.trim();
        let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: f64 = num
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not a duration: use e.g. 90s, 15m, 12h, 7d or 2w"))?;
        let scale = match unit.trim() {
            "" => unit_seconds,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 7.0 * 86_400.0,
            other => {
                return Err(format!(
                    "`{text}`: unknown unit `{other}`: use s, m, h, d or w"
                ))
            }
        };
        let v = n * scale;
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(format!("`{text}` is not a duration of 0 or more"))
        }
    }

    /// Whole seconds: `900`, `15m`, `1h` (`--timeout`).
    pub(crate) fn seconds(s: &str) -> Result<u64, String> {
        let v = duration_seconds(s, 1.0)?;
        if !(1.0..=f64::from(u32::MAX)).contains(&v) {
            return Err(format!(
                "use a timeout from 1 second to {} seconds",
                u32::MAX
            ));
        }
        Ok(v.round() as u64)
    }

    /// Days: `7`, `7d`, `12h`, `2w` (`--stale-after`; 0: every table is stale).
    pub(crate) fn days(s: &str) -> Result<f64, String> {
        duration_seconds(s, 86_400.0).map(|v| v / 86_400.0)
    }

    fn number(s: &str) -> Result<f64, String> {
        s.trim()
            .parse::<f64>()
            .map_err(|_| format!("`{s}` is not a number"))
    }

    /// A finite number of at least 0 (tolerances, thresholds).
    pub(crate) fn non_negative(s: &str) -> Result<f64, String> {
        let n = number(s)?;
        if n.is_finite() && n >= 0.0 {
            Ok(n)
        } else {
            Err(format!("{n} is not allowed: use a number of at least 0"))
        }
    }

    /// A rate from 0 to 1 (`--null-rate-threshold`).
    pub(crate) fn rate(s: &str) -> Result<f64, String> {
        let n = number(s)?;
        if (0.0..=1.0).contains(&n) {
            Ok(n)
        } else {
            Err(format!(
                "{n} is not a rate: use a number from 0 to 1 (0.2 = 20%)"
            ))
        }
    }

    /// `true` or `false`.
    pub(crate) fn boolean(s: &str) -> Result<bool, String> {
        match s.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!("`{other}` is not true or false")),
        }
    }

    /// Text that is not blank (`--project`, `--location`).
    pub(crate) fn text(s: &str) -> Result<String, String> {
        if s.trim().is_empty() {
            Err("must not be empty".into())
        } else {
            Ok(s.trim().to_string())
        }
    }

    /// A column name or path (one of `--columns a,b`).
    pub(crate) fn column(s: &str) -> Result<String, String> {
        text(s)
    }

    /// `COL=NUMBER` (`--abs-tolerance`, `--rel-tolerance`).
    pub(crate) fn tolerance_rule(s: &str) -> Result<String, String> {
        use crate::checks::column_rules as r;
        let (col, v) = r::split_assignment(s)?;
        r::tolerance(v).map(|_| format!("{col}={v}"))
    }

    /// `COL=DURATION` (`--time-tolerance`).
    pub(crate) fn time_rule(s: &str) -> Result<String, String> {
        use crate::checks::column_rules as r;
        let (col, v) = r::split_assignment(s)?;
        r::micros(v).map(|_| format!("{col}={v}"))
    }

    /// A column name or glob (`--trim`, `--ignore-case`, `--null-equals-empty`).
    pub(crate) fn column_glob(s: &str) -> Result<String, String> {
        crate::checks::column_rules::column_pattern(s).map(|()| s.trim().to_string())
    }

    /// `90` runs or `90d` days (`--history-keep`).
    pub(crate) fn history_keep(s: &str) -> Result<String, String> {
        crate::warehouse::history::Keep::parse(s).map(|_| s.trim().to_string())
    }

    /// `NEW=OLD` (`--map`).
    pub(crate) fn column_map(s: &str) -> Result<String, String> {
        crate::checks::column_rules::mapping(s).map(|(n, o)| format!("{n}={o}"))
    }

    /// A `--where` predicate: no `;`, comments or unbalanced parentheses.
    pub(crate) fn predicate(s: &str) -> Result<String, String> {
        crate::checks::table_compare::validate_where(s).map(|()| s.to_string())
    }

    /// A `--datasets` value: `A:B` or `A` (each `dataset`, `project.dataset` or
    /// `project:dataset`); the project is filled in at run time.
    pub(crate) fn datasets(s: &str) -> Result<String, String> {
        use crate::input::datasets::DatasetSpec;
        // A pair (schema-diff, table-compare) or one dataset (profile): the command decides.
        DatasetSpec::parse(s, Some("default-project"), true)
            .or_else(|_| DatasetSpec::parse(s, Some("default-project"), false))
            .map(|_| s.trim().to_string())
    }

    /// A dataset: `project.dataset`, `project:dataset` or `dataset`.
    pub(crate) fn dataset(s: &str) -> Result<String, String> {
        crate::model::DatasetRef::parse(s, Some("default-project"))
            .map(|_| s.trim().to_string())
            .map_err(|e| e.to_string())
    }

    /// An `--include`/`--exclude` glob: a table name with `*` and `?`.
    pub(crate) fn glob(s: &str) -> Result<String, String> {
        let t = text(s)?;
        if t.chars().any(|c| c.is_control()) {
            return Err("a glob is a table name with * and ?".into());
        }
        Ok(t)
    }

    /// A `--partitions` selection: `since:7d`, `since:2026-11-01`, `2026-11-01..2026-11-28`,
    /// `changed`.
    pub(crate) fn partitions(s: &str) -> Result<String, String> {
        crate::checks::partitions::PartitionSpec::parse(s).map(|_| s.trim().to_string())
    }
}

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
pub(crate) struct CommonArgs {
    /// Number of items processed at once (capped at 2 × CPUs, or --max-parallel). Each item
    /// has at most 2 requests to BigQuery in flight (its two sides, or a profile's query and
    /// its sample rows), so at most 2 × N at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = values::positive, help_heading = "Run")]
    pub(crate) parallel: u16,

    /// Cap on --parallel instead of 2 × CPUs. The work is waiting on BigQuery, not the CPU, so
    /// on a 2-core CI runner a batch of 200 tables can safely run 32 at once.
    #[arg(long, value_name = "N", value_parser = values::positive, help_heading = "Run")]
    pub(crate) max_parallel: Option<u16>,

    /// Give up on an item after this long: seconds, or a duration such as 15m (it fails as
    /// timed out; its BigQuery jobs are cancelled). Each request also has its own 120 s limit.
    #[arg(long, value_name = "SECS", default_value_t = 900, value_parser = values::seconds, help_heading = "Run")]
    pub(crate) timeout: u64,

    /// Say on stderr what is retried and why (status, reason, attempt, delay).
    #[arg(long, short = 'v', num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_parser = values::boolean, value_name = "BOOL", hide_default_value = true, help_heading = "Output")]
    pub(crate) verbose: bool,

    /// Show progress on stderr: a bar on a terminal, plain `[3/40] ✓ item` lines otherwise.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_parser = values::boolean, value_name = "BOOL", hide_default_value = true, help_heading = "Output")]
    pub(crate) progress: bool,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text, value_name = "FORMAT", help_heading = "Output")]
    pub(crate) format: Format,

    /// Use no cache: fetch every table's metadata anew even if several items name the same
    /// table, and run every query even if a cached result of an unchanged table exists.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_parser = values::boolean, value_name = "BOOL", hide_default_value = true, help_heading = "Run")]
    pub(crate) no_cache: bool,

    /// Where query results of unchanged tables are cached between runs
    /// [default: $XDG_CACHE_HOME/bqcheck, else ~/.cache/bqcheck].
    #[arg(long, value_name = "DIR", help_heading = "Run", value_hint = ValueHint::DirPath)]
    pub(crate) cache_dir: Option<PathBuf>,

    /// Settings file: defaults for these flags, pairs or tables, accepted schema changes
    /// [default: .bqcheck.yml in the working directory, if there is one]. Flags win over it.
    #[arg(long, value_name = "FILE", help_heading = "Input", value_hint = ValueHint::FilePath)]
    pub(crate) config: Option<PathBuf>,

    /// Default project for `dataset.table` references and for running jobs
    /// [default: $GOOGLE_CLOUD_PROJECT, $CLOUDSDK_CORE_PROJECT, then the credentials' project].
    #[arg(long, value_name = "ID", help_heading = "Connection", value_parser = values::text)]
    pub(crate) project: Option<String>,

    /// BigQuery API endpoint, e.g. an emulator at http://127.0.0.1:9050. No credentials are
    /// sent to it unless --send-credentials-to-api-url is given on the command line
    /// [default: $BIGQUERY_EMULATOR_HOST, else https://bigquery.googleapis.com].
    #[arg(long, value_name = "URL", help_heading = "Connection", value_parser = values::text)]
    pub(crate) api_url: Option<String>,

    /// Send Google credentials to the --api-url endpoint (a private endpoint or proxy): only
    /// over https, or http to this machine (127.0.0.1, ::1, localhost). A command-line flag
    /// only: a config file cannot set it.
    #[arg(long, help_heading = "Connection")]
    pub(crate) send_credentials_to_api_url: bool,

    /// Google credentials JSON (service_account, authorized_user or external_account)
    /// [default: $GOOGLE_APPLICATION_CREDENTIALS, gcloud's ADC file, the metadata server].
    #[arg(long, value_name = "FILE", help_heading = "Connection", value_hint = ValueHint::FilePath)]
    pub(crate) credentials: Option<PathBuf>,

    /// Also write the JSON report to PATH.
    #[arg(long, value_name = "PATH", help_heading = "Output", value_hint = ValueHint::FilePath)]
    pub(crate) report_json: Option<PathBuf>,

    /// Also write a JUnit XML report to PATH (one testcase per item).
    #[arg(long, value_name = "PATH", help_heading = "Output", value_hint = ValueHint::FilePath)]
    pub(crate) report_junit: Option<PathBuf>,

    /// Also write a Markdown report to PATH (for PR comments and job summaries).
    #[arg(long, value_name = "PATH", help_heading = "Output", value_hint = ValueHint::FilePath)]
    pub(crate) report_markdown: Option<PathBuf>,
}

impl CommonArgs {
    /// The `--report-*` flag's path for a report target, if given.
    pub(crate) fn report_file(&self, target: &crate::report::Target) -> Option<&std::path::Path> {
        match target.format {
            Format::Json => self.report_json.as_deref(),
            Format::Junit => self.report_junit.as_deref(),
            Format::Markdown => self.report_markdown.as_deref(),
            Format::Text => None,
        }
    }

    /// `--timeout` as a duration.
    pub(crate) fn item_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout)
    }
}

/// Where pairs come from (bq-schema-diff, bq-table-compare).
#[derive(Debug, Clone, Args, Serialize)]
pub(crate) struct PairArgs {
    /// `TABLE_A TABLE_B` (one pair) or pairs `A:B`. A side is a table
    /// (project.dataset.table, dataset.table, project:dataset.table) or a schema file
    /// (`*.json` or `file:PATH`). With no pairs and no --pairs-file, pairs are read from stdin.
    #[arg(value_name = "PAIR", help_heading = "Input")]
    #[serde(skip)]
    pub(crate) pairs: Vec<String>,

    /// File with one pair per line (`A:B`, `A,B` or `A B`); blank lines and `#` comments skipped.
    #[arg(long, value_name = "FILE", help_heading = "Input", value_hint = ValueHint::FilePath)]
    pub(crate) pairs_file: Option<PathBuf>,

    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) datasets: DatasetArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) dbt: DbtArgs,
}

/// Whole datasets instead of listed items (every command).
#[derive(Debug, Clone, Args, Serialize)]
pub(crate) struct DatasetArgs {
    /// Every table of dataset A paired with the same-named table of dataset B (`dev:prod`,
    /// `proj.dev:proj.prod`); profile takes one dataset (`proj.analytics`). A table in one
    /// dataset only is reported as such. Repeat the flag or separate with commas; adds to
    /// the pairs or tables given otherwise.
    #[arg(long, value_name = "A:B", value_delimiter = ',', help_heading = "Input", value_parser = values::datasets)]
    pub(crate) datasets: Vec<String>,

    /// With --datasets: only tables whose name matches one of these globs (`*`, `?`;
    /// case-sensitive), e.g. `fct_*,dim_*`.
    #[arg(long, value_name = "GLOB[,GLOB...]", value_delimiter = ',', help_heading = "Input", value_parser = values::glob)]
    pub(crate) include: Vec<String>,

    /// With --datasets: leave out tables whose name matches one of these globs, e.g. `*_tmp`.
    #[arg(long, value_name = "GLOB[,GLOB...]", value_delimiter = ',', help_heading = "Input", value_parser = values::glob)]
    pub(crate) exclude: Vec<String>,
}

/// A dbt project's models as pairs (schema-diff, table-compare).
#[derive(Debug, Clone, Args, Serialize)]
pub(crate) struct DbtArgs {
    /// A dbt `manifest.json` (the CI build's, e.g. target/manifest.json): pair each model
    /// materialized as a table or incremental with its prod relation. No dbt needed.
    #[arg(long, value_name = "FILE", help_heading = "Input", value_hint = ValueHint::FilePath)]
    pub(crate) dbt_manifest: Option<PathBuf>,

    /// Prod's `manifest.json`: only models whose checksum changed (new ones are reported as
    /// only in A), paired with the relation this manifest gives them.
    #[arg(long, value_name = "FILE", help_heading = "Input", value_hint = ValueHint::FilePath)]
    pub(crate) dbt_state: Option<PathBuf>,

    /// Prod's dataset (`project.dataset`) for the models, a custom schema appended as dbt does
    /// (`analytics` + `finance` → `analytics_finance`) [default: the --dbt-state relations].
    #[arg(long, value_name = "DATASET", help_heading = "Input", value_parser = values::dataset)]
    pub(crate) dbt_target_dataset: Option<String>,

    /// Only these models: names or globs (`fct_*`).
    #[arg(long, value_name = "MODEL[,MODEL...]", value_delimiter = ',', help_heading = "Input", value_parser = values::glob)]
    pub(crate) dbt_select: Vec<String>,

    /// Views too (by default, tables and incremental models only).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_parser = values::boolean, value_name = "BOOL", hide_default_value = true, help_heading = "Input")]
    pub(crate) dbt_views: bool,
}

/// BigQuery's on-demand list price per TiB in the US multi-region (USD), the default of
/// `--price-per-tib`.
pub(crate) const DEFAULT_PRICE_PER_TIB: f64 = 6.25;

/// Flags of the utilities that run queries (bq-table-compare, bq-profile).
#[derive(Debug, Clone, Args, Serialize)]
pub(crate) struct QueryArgs {
    /// Only these columns (paths such as `address.zip`).
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',', help_heading = "Query", value_parser = values::column)]
    pub(crate) columns: Option<Vec<String>>,

    /// A predicate applied to every table read, e.g. for partition pruning (columns by name or
    /// as `t.col`; no `;` or comments).
    #[arg(long = "where", value_name = "PREDICATE", help_heading = "Query", value_parser = values::predicate)]
    #[serde(rename = "where")]
    pub(crate) where_clause: Option<String>,

    /// Read only these days of time-partitioned tables (a filter on the partition column that
    /// BigQuery prunes on; with `--where`, both apply): `since:7d` (today and the 6 days
    /// before, UTC), `since:2026-11-01`, or `2026-11-01..2026-11-28` (both days included);
    /// or `changed`: the partitions modified since the last run (kept in the result cache).
    #[arg(long, value_name = "DAYS", help_heading = "Query", value_parser = values::partitions)]
    pub(crate) partitions: Option<String>,

    /// Set `maximumBytesBilled` on every job: BigQuery refuses a job that would bill more.
    #[arg(long, value_name = "BYTES", help_heading = "Query")]
    pub(crate) max_bytes_billed: Option<u64>,

    /// A budget for the whole run: first dry-run every query of the batch (free), and run
    /// nothing, exit 2, if together they could bill more (each query bills at least 10 MiB).
    #[arg(long, value_name = "BYTES", help_heading = "Query")]
    pub(crate) max_bytes_per_run: Option<u64>,

    /// On-demand price in USD per TiB billed, for the cost in reports; 0 under capacity
    /// (slot) pricing. BigQuery's public list price, which differs by region, is the default.
    #[arg(long, value_name = "USD", default_value_t = DEFAULT_PRICE_PER_TIB, value_parser = values::non_negative, help_heading = "Query")]
    pub(crate) price_per_tib: f64,

    /// Print each generated query and BigQuery's bytes estimate; run nothing.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_parser = values::boolean, value_name = "BOOL", hide_default_value = true, help_heading = "Query")]
    pub(crate) dry_run: bool,

    /// Location to run query jobs in, e.g. `EU` [default: the tables' own location].
    #[arg(long, value_name = "LOCATION", help_heading = "Query", value_parser = values::text)]
    pub(crate) location: Option<String>,
}

/// What makes `bq-schema-diff` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SchemaFailOn {
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
pub(crate) struct SchemaDiffArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) input: PairArgs,

    /// Which differences make the exit status 1.
    #[arg(long, value_enum, default_value_t = SchemaFailOn::Any, help_heading = "Thresholds")]
    pub(crate) fail_on: SchemaFailOn,

    /// Also compare partitioning, clustering, table description, labels and primary key.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_parser = values::boolean, value_name = "BOOL", hide_default_value = true, help_heading = "Query")]
    pub(crate) include_table_options: bool,

    /// How tables' schemas are read: `tables-get` (one free metadata request per table),
    /// `information-schema` (one INFORMATION_SCHEMA query per dataset, billed at least
    /// 10 MiB), or `auto`: a query for each dataset with at least 50 of the run's tables.
    #[arg(long, value_enum, default_value_t = MetadataVia::Auto, help_heading = "Query")]
    pub(crate) metadata_via: MetadataVia,

    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) common: CommonArgs,
}

/// `--metadata-via`: how schema-diff reads schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum MetadataVia {
    /// One INFORMATION_SCHEMA query for each dataset with at least 50 of the run's tables,
    /// tables.get for the rest.
    Auto,
    /// One tables.get per table.
    TablesGet,
    /// One INFORMATION_SCHEMA query per dataset.
    InformationSchema,
}

const SCHEMA_DIFF_HELP: &str = "\
Examples:
  bq-schema-diff project.dev.users project.prod.users

  # offline: a PR's schema file vs prod
  bq-schema-diff schemas/users.json prod.users

  printf 'dev.t1:prod.t1\\ndev.t2:prod.t2\\n' \\
    | bq-schema-diff --parallel 2 --progress

  bq-schema-diff --pairs-file=table_pairs.txt \\
    --format=json --fail-on=breaking

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
#[command(mut_arg("pairs", |a| a.help(
    "`TABLE_A TABLE_B` (one pair) or pairs `A:B`, each side a table (project.dataset.table, \
     dataset.table, project:dataset.table). With no pairs and no --pairs-file, pairs are read \
     from stdin."
)))]
pub(crate) struct TableCompareArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) input: PairArgs,

    /// Number of example rows per kind of difference.
    #[arg(long, value_name = "N", default_value_t = 100, help_heading = "Query")]
    pub(crate) sample_size: u32,

    /// Skip per-column statistics (the scan still counts rows and fingerprints them).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_parser = values::boolean, value_name = "BOOL", hide_default_value = true, help_heading = "Query")]
    pub(crate) skip_stats: bool,

    /// Skip the row-level diff and example rows (no third query).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_parser = values::boolean, value_name = "BOOL", hide_default_value = true, help_heading = "Query")]
    pub(crate) skip_samples: bool,

    /// Key columns for the row-level diff [default: the primary key, else a multiset diff].
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',', help_heading = "Query", value_parser = values::column)]
    pub(crate) key: Option<Vec<String>>,

    /// Leave these columns out.
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',', help_heading = "Query", value_parser = values::column)]
    pub(crate) exclude_columns: Vec<String>,

    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) query: QueryArgs,

    /// Which differences make the exit status 1.
    #[arg(long, value_enum, default_value_t = CompareFailOn::Any, help_heading = "Thresholds")]
    pub(crate) fail_on: CompareFailOn,

    /// Relative tolerance for every FLOAT64, NUMERIC and BIGNUMERIC column without a rule of
    /// its own (e.g. 0.001: values within 0.1% of each other are equal), in the row diff and
    /// the statistics. INT64 columns (ids, counts) are left exact.
    #[arg(long, value_name = "REL", default_value_t = 0.0, help_heading = "Comparing", value_parser = values::non_negative)]
    pub(crate) tolerance: f64,

    /// Absolute tolerance for every FLOAT64 column without a rule of its own [default: exact].
    #[arg(long, value_name = "ABS", help_heading = "Comparing", value_parser = values::non_negative)]
    pub(crate) float_tolerance: Option<f64>,

    /// Numeric columns equal when they differ by at most ABS: `amount=0.01`. A column, a
    /// STRUCT (its leaves) or a glob (`*_usd=0.01`). Rows equal only within a rule are counted
    /// apart, not as changed.
    #[arg(long, value_name = "COL=ABS[,...]", value_delimiter = ',', help_heading = "Comparing", value_parser = values::tolerance_rule)]
    pub(crate) abs_tolerance: Vec<String>,

    /// Numeric columns equal when they differ by at most REL of the larger value:
    /// `price=1e-6`.
    #[arg(long, value_name = "COL=REL[,...]", value_delimiter = ',', help_heading = "Comparing", value_parser = values::tolerance_rule)]
    pub(crate) rel_tolerance: Vec<String>,

    /// TIMESTAMP, DATETIME or TIME columns equal within a duration: `updated_at=1s`,
    /// `*_at=300ms` (us, ms, s, m, h, d).
    #[arg(long, value_name = "COL=DURATION[,...]", value_delimiter = ',', help_heading = "Comparing", value_parser = values::time_rule)]
    pub(crate) time_tolerance: Vec<String>,

    /// STRING columns compared without leading and trailing whitespace.
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',', help_heading = "Comparing", value_parser = values::column_glob)]
    pub(crate) trim: Vec<String>,

    /// STRING columns compared case-insensitively.
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',', help_heading = "Comparing", value_parser = values::column_glob)]
    pub(crate) ignore_case: Vec<String>,

    /// STRING columns where NULL equals the empty string.
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',', help_heading = "Comparing", value_parser = values::column_glob)]
    pub(crate) null_equals_empty: Vec<String>,

    /// Renamed columns: A's column NEW is B's column OLD (`customer_name=name`; a STRUCT
    /// renames its leaves). Compared as one column, keys included.
    #[arg(long, value_name = "NEW=OLD[,...]", value_delimiter = ',', help_heading = "Comparing", value_parser = values::column_map)]
    pub(crate) map: Vec<String>,

    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) common: CommonArgs,
}

impl TableCompareArgs {
    /// The column rules' flags as given.
    pub(crate) fn rule_flags(&self) -> crate::checks::column_rules::RuleFlags {
        crate::checks::column_rules::RuleFlags {
            abs_tolerance: self.abs_tolerance.clone(),
            rel_tolerance: self.rel_tolerance.clone(),
            time_tolerance: self.time_tolerance.clone(),
            trim: self.trim.clone(),
            ignore_case: self.ignore_case.clone(),
            null_equals_empty: self.null_equals_empty.clone(),
        }
    }
}

const TABLE_COMPARE_HELP: &str = "\
Examples:
  bq-table-compare staging.orders prod.orders --key order_id

  printf 'staging.t1:prod.t1\\nstaging.t2:prod.t2\\n' \\
    | bq-table-compare --parallel 2 --progress --skip-stats

  bq-table-compare --pairs-file=pairs.txt \\
    --where \"order_date >= '2024-01-01'\" \\
    --max-bytes-billed 10000000000

  # the queries and their cost, nothing run
  bq-table-compare --dry-run dev.orders prod.orders

Exit status (as diff(1)):
  0  the pairs hold the same data
  1  some pair differs
  2  trouble: bad input, or any pair failed";

/// What makes `bq-table-compare` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum CompareFailOn {
    /// Any pair whose data differs.
    Any,
    /// Any pair whose data differs, and any table in one dataset only (--datasets).
    AnyOrMissing,
    /// Never (report only).
    Never,
}

/// `--seasonality`: which earlier runs a run's band is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Seasonality {
    /// Every earlier run.
    None,
    /// Earlier runs on the same weekday.
    Weekly,
}

/// What makes `bq-profile` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ProfileFailOn {
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
pub(crate) struct ProfileArgs {
    /// Tables to profile; stdin (one per line, `#` comments) when none are given.
    #[arg(value_name = "TABLE", help_heading = "Input")]
    #[serde(skip)]
    pub(crate) tables: Vec<String>,

    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) datasets: DatasetArgs,

    /// Number of sample rows (0 for none).
    #[arg(long, value_name = "N", default_value_t = 10, help_heading = "Query")]
    pub(crate) sample_size: u32,

    /// Flag anomalies: empty tables, all-null and constant columns, high null rates, duplicate
    /// ids, outliers, future or pre-1970 dates, empty or padded strings, stale tables.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, value_parser = values::boolean, value_name = "BOOL", hide_default_value = true, help_heading = "Thresholds")]
    pub(crate) detect_anomalies: bool,

    /// A previous `--format json` output: flag drift in rows, null rates, distinct counts,
    /// means, and added or removed columns.
    #[arg(long, value_name = "FILE", help_heading = "Thresholds", value_hint = ValueHint::FilePath)]
    pub(crate) baseline: Option<PathBuf>,

    /// What makes the exit status 1
    /// [default: errors with --detect-anomalies or --baseline, else never].
    #[arg(long, value_enum, help_heading = "Thresholds")]
    pub(crate) fail_on: Option<ProfileFailOn>,

    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) query: QueryArgs,

    /// Keep each table's profile in DIR (one JSON-lines file per table, to commit or keep with
    /// actions/cache) and flag drift against the earlier runs there: row count, freshness,
    /// null rates, distinct counts, means and the column set. With fewer than
    /// --history-min-runs earlier runs, --baseline (if given) is used instead.
    #[arg(long, value_name = "DIR", help_heading = "Thresholds", value_hint = ValueHint::DirPath)]
    pub(crate) history: Option<PathBuf>,

    /// How much history to keep per table: the last N runs, or `Nd` for the last N days.
    #[arg(long, value_name = "N|Nd", default_value = "90", help_heading = "Thresholds", value_parser = values::history_keep)]
    pub(crate) history_keep: String,

    /// Earlier runs needed before drift against history is judged.
    #[arg(long, value_name = "K", default_value_t = 5, help_heading = "Thresholds", value_parser = values::positive)]
    pub(crate) history_min_runs: u16,

    /// Width of the usual band: the median of earlier runs ± K robust standard deviations
    /// (1.4826 × the median absolute deviation).
    #[arg(long, value_name = "K", default_value_t = 3.5, help_heading = "Thresholds", value_parser = values::non_negative)]
    pub(crate) history_band: f64,

    /// `weekly`: compare each run with earlier runs on the same weekday (UTC), so a weekly
    /// cycle is not drift.
    #[arg(long, value_enum, default_value_t = Seasonality::None, help_heading = "Thresholds")]
    pub(crate) seasonality: Seasonality,

    /// Days (or a duration such as 12h) without modification after which a table is stale.
    #[arg(long, value_name = "DAYS", default_value_t = 30.0, help_heading = "Thresholds", value_parser = values::days)]
    pub(crate) stale_after: f64,

    /// Null rate (0–1) above which a column is flagged.
    #[arg(long, value_name = "RATE", default_value_t = 0.5, help_heading = "Thresholds", value_parser = values::rate)]
    pub(crate) null_rate_threshold: f64,

    /// Outliers: min or max beyond the quartiles by this many IQRs.
    #[arg(long, value_name = "K", default_value_t = 3.0, help_heading = "Thresholds", value_parser = values::non_negative)]
    pub(crate) outlier_iqr: f64,

    /// Drift: relative row-count change flagged.
    #[arg(long, value_name = "REL", default_value_t = 0.1, help_heading = "Thresholds", value_parser = values::non_negative)]
    pub(crate) drift_rows: f64,

    /// Drift: absolute null-rate change flagged.
    #[arg(long, value_name = "ABS", default_value_t = 0.1, help_heading = "Thresholds", value_parser = values::rate)]
    pub(crate) drift_null_rate: f64,

    /// Drift: relative distinct-count change flagged.
    #[arg(long, value_name = "REL", default_value_t = 0.2, help_heading = "Thresholds", value_parser = values::non_negative)]
    pub(crate) drift_distinct: f64,

    /// Drift: mean shift, in baseline standard deviations, flagged.
    #[arg(long, value_name = "K", default_value_t = 3.0, help_heading = "Thresholds", value_parser = values::non_negative)]
    pub(crate) drift_mean_stddevs: f64,

    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) common: CommonArgs,
}

const PROFILE_HELP: &str = "\
Examples:
  bq-profile --parallel 4 --progress \\
    project.dataset.table1 project.dataset.table2

  bq-profile --detect-anomalies --format=json \\
    analytics.events > profile.json

  bq-profile --baseline yesterday.json --detect-anomalies \\
    analytics.events

Exit status (as diff(1)):
  0  nothing to fail on
  1  anomalies per --fail-on
  2  trouble: bad input, or any table failed";

/// The umbrella `bqcheck`: one subcommand per check (from the registry, `app::CHECKS`) and
/// these of its own.
pub(crate) fn umbrella() -> clap::Command {
    clap::Command::new("bqcheck")
        .version(env!("CARGO_PKG_VERSION"))
        .about("bqcheck: check BigQuery tables in CI and on a laptop with the same commands.")
        .after_help(EXIT_CODES)
        .subcommand_required(true)
        .arg_required_else_help(true)
}

// The umbrella's subcommands that are not checks. (No doc comment: clap would make it the
// umbrella's `about`.)
#[derive(Debug, Subcommand)]
pub(crate) enum Builtin {
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
    /// Read the profile history that `bq-profile --history DIR` keeps.
    #[command(subcommand)]
    History(HistoryCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum HistoryCommand {
    /// Print a table's metric history: a trend line per metric, then each run.
    Show {
        /// The table (`project.dataset.table`, as bq-profile named it).
        #[arg(value_name = "TABLE")]
        table: String,
        /// The history directory (bq-profile's --history).
        #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
        history: PathBuf,
        /// Also these columns' null rate, distinct count and mean (or `*` for every column).
        #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
        columns: Vec<String>,
        /// `text` or `json` (the runs as bq-profile keeps them).
        #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
        format: HistoryFormat,
    },
}

/// `bqcheck history show --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum HistoryFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Check a settings file and print the effective settings of each command (the defaults
    /// with the file applied; flags given on a command line would still win).
    Check {
        /// The file [default: .bqcheck.yml in the working directory].
        #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
        config: Option<PathBuf>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flag_definitions_are_consistent() {
        SchemaDiffArgs::command().debug_assert();
        TableCompareArgs::command().debug_assert();
        ProfileArgs::command().debug_assert();
    }

    #[test]
    fn every_report_target_is_a_flag_that_reaches_its_file() {
        for t in crate::report::TARGETS {
            let flag = format!("--{}=out.file", t.flag.replace('_', "-"));
            let a = SchemaDiffArgs::try_parse_from(["x", &flag]).unwrap();
            assert_eq!(
                a.common.report_file(t),
                Some(std::path::Path::new("out.file")),
                "{}",
                t.flag
            );
        }
    }

    #[test]
    fn parallel_must_be_positive() {
        assert!(SchemaDiffArgs::try_parse_from(["x", "--parallel", "0", "a.b", "c.d"]).is_err());
        let a = SchemaDiffArgs::try_parse_from(["x", "--parallel=8", "a.b", "c.d"]).unwrap();
        assert_eq!(a.common.parallel, 8);
        assert_eq!(a.fail_on, SchemaFailOn::Any);
    }
}
