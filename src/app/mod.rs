//! Entry points: each binary's `main`, the umbrella `bqcheck`, the GitHub Action and
//! `bqcheck config check`. Settings are resolved here, once: the command line is parsed, the
//! config file (`--config`, else `./.bqcheck.yml`) adds `--flag=value` arguments for what the
//! command line left unset, the result is parsed again, and the check runs with its typed
//! arguments and a [`Run`] context (the file's items, where extra items come from).

pub(crate) mod action;
pub(crate) mod config_check;
pub(crate) mod history;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{ArgMatches, Args, FromArgMatches, Subcommand};

use crate::cli::{Builtin, CommonArgs, ConfigCommand, HistoryCommand};
use crate::commands::{Check, Listed, Run, CHECKS};
use crate::config::{self, given, Config, ConfigError, Schema, SectionSpec};
use crate::report::ExitStatus;

/// The config file's keys, derived from every check's flags.
pub(crate) fn schema() -> Schema {
    let common = CommonArgs::augment_args(clap::Command::new("common"));
    Schema::new(
        &common,
        CHECKS
            .iter()
            .map(|c| SectionSpec {
                name: c.section(),
                command: c.command(),
                items: c.items(),
            })
            .collect(),
    )
}

/// The check a subcommand or action input names.
pub(crate) fn check_named(name: &str) -> Option<&'static dyn Check> {
    CHECKS.iter().copied().find(|c| c.name() == name)
}

/// A check's command line, resolved: the config file's options added where the command line
/// left them unset, parsed again.
pub(crate) struct Resolved {
    pub(crate) matches: ArgMatches,
    pub(crate) common: CommonArgs,
    pub(crate) run: Run,
}

/// Why a command line could not be resolved.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResolveError {
    /// clap's own (usage errors, `--help`, `--version`): it prints and exits itself.
    #[error("{0}")]
    Usage(#[from] clap::Error),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The file's values did not make a valid command line (a value its parser refuses).
    #[error("{path}: {message}")]
    ConfigArguments { path: String, message: String },
    /// The config file names what this run may not use (on a pull request, a path outside
    /// the workspace): one message per problem.
    #[error("{}", .0.join("\n"))]
    Refused(Vec<String>),
    /// A setting resolved from flags, file and environment is unusable (a bad project id).
    #[error("{0}")]
    Settings(String),
}

/// What a run may not take from a config file: its problems with it (none: fine). Called as
/// soon as the file is read, before anything it names is opened (the credentials file that
/// resolving the default project reads included).
pub(crate) type Guard<'a> = &'a dyn Fn(&Config) -> Vec<String>;

/// Any config file will do (the command line's own user wrote it or chose it).
pub(crate) fn trust_file(_: &Config) -> Vec<String> {
    Vec::new()
}

/// Parse `argv` (`[bin, args...]`, or `[bqcheck, subcommand, args...]` with `skip` = 2) for
/// `check`, with the config file applied.
pub(crate) fn resolve(
    check: &dyn Check,
    mut argv: Vec<OsString>,
    skip: usize,
    listed: Listed,
    guard: Guard,
) -> Result<Resolved, ResolveError> {
    // Usage lines say what the user typed: `bq-schema-diff` or `bqcheck schema-diff`.
    let shown = if skip >= 2 {
        format!("bqcheck {}", check.name())
    } else {
        check.command().get_name().to_string()
    };
    let parse = |argv: &[OsString]| {
        let args = argv.get(skip..).unwrap_or_default().iter().cloned();
        check
            .command()
            .bin_name(&shown)
            .try_get_matches_from(std::iter::once(OsString::from(&shown)).chain(args))
    };
    let first = parse(&argv)?;
    let common = CommonArgs::from_arg_matches(&first)?;
    let Some(file) = config::load(common.config.as_deref(), &schema())? else {
        let project = crate::commands::checked_project(&common).map_err(ResolveError::Settings)?;
        return Ok(Resolved {
            common,
            matches: first,
            run: Run {
                from_file: Default::default(),
                listed,
                project,
            },
        });
    };
    let refused = guard(&file);
    if !refused.is_empty() {
        return Err(ResolveError::Refused(refused));
    }
    // The file's options go first, so none can be taken for a value of the user's.
    let added = file.arguments(check.section(), &|id| given(&first, id));
    let at = skip.min(argv.len());
    argv.splice(at..at, added.into_iter().map(OsString::from));
    let matches = parse(&argv).map_err(|e| ResolveError::ConfigArguments {
        path: file.path.display().to_string(),
        message: e
            .render()
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string(),
    })?;
    let common = CommonArgs::from_arg_matches(&matches)?;
    let project = crate::commands::checked_project(&common).map_err(ResolveError::Settings)?;
    Ok(Resolved {
        common,
        matches,
        run: Run {
            from_file: file.items(check.section(), &first),
            listed,
            project,
        },
    })
}

/// Run a command on a fresh runtime, turning any error into exit status 2.
fn block_on<F>(fut: F) -> ExitCode
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
            return ExitStatus::Trouble.into();
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
            ExitStatus::Trouble.into()
        }
    }
}

/// Resolve and run one check as the CLI does: reports on stdout and in `--report-*` files.
fn run_check(check: &'static dyn Check, argv: Vec<OsString>, skip: usize) -> ExitCode {
    let resolved = match resolve(check, argv, skip, Listed::Stdin, &trust_file) {
        Ok(r) => r,
        Err(ResolveError::Usage(e)) => e.exit(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitStatus::Trouble.into();
        }
    };
    block_on(async move {
        let finished = check.execute(&resolved.matches, &resolved.run).await?;
        Ok(finished.emit(&resolved.common)?.code())
    })
}

/// `main` of a standalone binary (`bq-schema-diff`, ...).
pub fn main_check(name: &str) -> ExitCode {
    match check_named(name) {
        Some(check) => run_check(check, std::env::args_os().collect(), 1),
        None => {
            eprintln!("error: no check named {name}");
            ExitStatus::Trouble.into()
        }
    }
}

/// The umbrella's command: every check as a subcommand, then its own.
pub(crate) fn umbrella() -> clap::Command {
    let mut cmd = crate::cli::umbrella();
    for c in CHECKS {
        cmd = cmd.subcommand(c.command().name(c.name()).about(c.about()).long_about(None));
    }
    Builtin::augment_subcommands(cmd)
}

/// `main` of `bqcheck`.
pub fn main_bqcheck() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let matches = umbrella().get_matches_from(&argv);
    let Some((name, _)) = matches.subcommand() else {
        return ExitStatus::Trouble.into();
    };
    if let Some(check) = check_named(name) {
        return run_check(check, argv, 2);
    }
    match Builtin::from_arg_matches(&matches) {
        Ok(Builtin::Action { .. }) => block_on(action::run()),
        Ok(Builtin::Config(ConfigCommand::Check { config })) => {
            config_check::check(config.as_deref()).into()
        }
        Ok(Builtin::History(HistoryCommand::Show {
            table,
            history,
            columns,
            format,
        })) => history::show(&table, &history, &columns, format).into(),
        Err(e) => e.exit(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{CONFIG_GROUPS_TURN_ON, CONFIG_KEYS, NOT_ACTION_INPUTS, NOT_IN_CONFIG};

    /// Every option of every check: `(its config section, flag id, key)`.
    fn options() -> Vec<(&'static str, String, String)> {
        let mut out = Vec::new();
        for c in CHECKS {
            for a in c.command().get_arguments() {
                let id = a.get_id().to_string();
                if !matches!(id.as_str(), "help" | "version") {
                    out.push((c.section(), id, crate::cli::key_of(a)));
                }
            }
        }
        out
    }

    #[test]
    fn every_option_has_a_config_key_and_an_action_input_or_says_why_not() {
        let keys = schema().keys();
        let inputs: Vec<String> = action::option_inputs()
            .into_iter()
            .map(|i| i.name)
            .collect();
        for (section, id, key) in options() {
            let check = section;
            let in_config = keys.iter().any(|k| {
                *k == key
                    || *k == format!("{section}.{key}")
                    || CONFIG_KEYS
                        .iter()
                        .any(|(i, nested)| *i == id && *k == format!("{section}.{nested}"))
            }) || (id == "pairs_file");
            assert!(
                in_config || NOT_IN_CONFIG.iter().any(|(i, _)| *i == id),
                "{check} --{key} has no config key and is not on cli::NOT_IN_CONFIG"
            );
            let input = crate::cli::ACTION_INPUT_NAMES
                .iter()
                .find(|(i, _)| *i == id)
                .map_or(key.clone(), |(_, n)| n.to_string());
            assert!(
                inputs.contains(&input) || NOT_ACTION_INPUTS.iter().any(|(i, _)| *i == id),
                "{check} --{key} has no action input and is not on cli::NOT_ACTION_INPUTS"
            );
        }
        // The lists name real flags (a renamed flag leaves no stale entry).
        let ids: Vec<String> = options().into_iter().map(|(_, id, _)| id).collect();
        for (id, why) in NOT_IN_CONFIG
            .iter()
            .chain(NOT_ACTION_INPUTS)
            .chain(CONFIG_KEYS)
        {
            assert!(ids.iter().any(|i| i == id), "{id} ({why}) is not a flag");
        }
        for (_, id) in CONFIG_GROUPS_TURN_ON {
            assert!(ids.iter().any(|i| i == id), "{id} is not a flag");
        }
        // An input shared by several checks is read one way: the same flag, the same kind.
        for c in CHECKS {
            for a in c.command().get_arguments() {
                if let Some(i) = action::option_inputs()
                    .into_iter()
                    .find(|i| i.name == crate::cli::input_of(a))
                {
                    let boolean = a.get_value_parser().type_id() == std::any::TypeId::of::<bool>();
                    assert_eq!(
                        (i.long.as_str(), i.boolean),
                        (a.get_long().unwrap_or_default(), boolean),
                        "input `{}` means different things in {} and another check",
                        i.name,
                        c.name()
                    );
                }
            }
        }
    }

    #[test]
    fn each_check_is_a_subcommand_with_its_own_config_section() {
        let cmd = umbrella();
        cmd.clone().debug_assert();
        assert_eq!(
            cmd.get_about().map(|a| a.to_string()).as_deref(),
            Some("bqcheck: check BigQuery tables in CI and on a laptop with the same commands.")
        );
        for c in CHECKS {
            assert!(cmd.find_subcommand(c.name()).is_some(), "{}", c.name());
            c.command().debug_assert();
        }
        assert!(schema().keys().iter().any(|k| k == "table_compare.key"));
        assert!(schema()
            .keys()
            .iter()
            .any(|k| k == "profile.anomalies.null_rate"));
        assert!(schema().keys().iter().any(|k| k == "parallel"));
    }

    #[test]
    fn the_file_fills_what_the_command_line_left_unset() {
        let dir = std::env::temp_dir().join(format!("bqcheck-resolve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.yml");
        std::fs::write(
            &file,
            "parallel: 3\ntable_compare:\n  key: [id]\n  columns: [a, b]\n  pairs: [{a: d.x, b: p.x}]\n",
        )
        .unwrap();
        let check = check_named("table-compare").unwrap();
        let argv = |extra: &[&str]| -> Vec<OsString> {
            ["bq-table-compare", "--config", file.to_str().unwrap()]
                .iter()
                .chain(extra)
                .map(OsString::from)
                .collect()
        };
        let r = resolve(check, argv(&[]), 1, Listed::Stdin, &trust_file).unwrap();
        let a = crate::cli::TableCompareArgs::from_arg_matches(&r.matches).unwrap();
        assert_eq!(a.common.parallel, 3);
        assert_eq!(a.key, Some(vec!["id".to_string()]));
        assert_eq!(
            a.query.columns,
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(r.run.from_file.pairs.len(), 1);
        // The command line wins, option by option, and its pairs replace the file's.
        let r = resolve(
            check,
            argv(&["--key=k", "--parallel", "5", "d.y:p.y"]),
            1,
            Listed::Stdin,
            &trust_file,
        )
        .unwrap();
        let a = crate::cli::TableCompareArgs::from_arg_matches(&r.matches).unwrap();
        assert_eq!(a.common.parallel, 5);
        assert_eq!(a.key, Some(vec!["k".to_string()]));
        assert_eq!(
            a.query.columns,
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert!(r.run.from_file.pairs.is_empty());
        // The umbrella's form: `bqcheck table-compare ...`.
        let mut v = argv(&[]);
        v.insert(0, OsString::from("bqcheck"));
        v[1] = OsString::from("table-compare");
        let r = resolve(check, v, 2, Listed::Stdin, &trust_file).unwrap();
        assert_eq!(r.common.parallel, 3);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
