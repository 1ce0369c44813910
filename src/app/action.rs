//! `bqcheck action`: the GitHub Action's entry point. It reads the action's inputs from
//! `INPUT_*` variables, turns them into the same typed arguments the CLI parses (no shell
//! string is built), runs the command through the same code path, then writes the reports,
//! step outputs, job summary, annotations and the sticky PR comment.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{check_named, resolve, ResolveError};
use crate::commands::{emit_reports_public, Finished, Listed, CHECKS};
use crate::github::comment::{self, BodyContext, Posted, Target};
use crate::github::workflow::{self, MAX_ANNOTATIONS};
use crate::github::{ActionEnv, GithubError};
use crate::report::{self, Batch, ExitStatus, Format, Level, Totals};

/// The action's inputs, as GitHub passes them: `INPUT_<NAME>` with the name upper-cased
/// (spaces become `_`, hyphens are kept). Every name read is recorded, so a test can check
/// that each input `action.yml` declares is consumed.
/// Looks up an environment variable.
type Lookup = Box<dyn Fn(&str) -> Option<String>>;

pub(crate) struct Inputs {
    get: Lookup,
    read: RefCell<BTreeSet<String>>,
}

impl Inputs {
    pub(crate) fn from_env() -> Inputs {
        Inputs::from_lookup(|k| std::env::var(k).ok())
    }

    pub(crate) fn from_lookup(get: impl Fn(&str) -> Option<String> + 'static) -> Inputs {
        Inputs {
            get: Box::new(get),
            read: RefCell::new(BTreeSet::new()),
        }
    }

    fn var_name(name: &str) -> String {
        format!("INPUT_{}", name.replace(' ', "_").to_uppercase())
    }

    /// The input's value, trimmed; `None` when unset or blank.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.read.borrow_mut().insert(name.to_string());
        (self.get)(&Self::var_name(name))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A boolean input, as `core.getBooleanInput` reads it: true/True/TRUE, false/False/FALSE;
    /// `None` when unset or blank (the config file, or the default, decides).
    pub(crate) fn flag(&self, name: &str) -> Result<Option<bool>, String> {
        match self.get(name).as_deref() {
            None => Ok(None),
            Some("false" | "False" | "FALSE") => Ok(Some(false)),
            Some("true" | "True" | "TRUE") => Ok(Some(true)),
            Some(other) => Err(format!(
                "input `{name}`: `{other}` is not a boolean (use true or false)"
            )),
        }
    }

    /// The names read so far.
    #[cfg(test)]
    pub(crate) fn names_read(&self) -> BTreeSet<String> {
        self.read.borrow().clone()
    }
}

/// When to post the sticky comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommentMode {
    /// On pull-request events.
    Auto,
    Always,
    Never,
}

/// The action's settings, read from its inputs. Its `Debug` never shows the token.
pub(crate) struct Settings {
    /// A check's name (`schema-diff`, ...: `commands::CHECKS`).
    pub(crate) command: String,
    /// The command line the inputs amount to, `bqcheck <command> ...` (for parsing, and shown
    /// in the log).
    pub(crate) argv: Vec<String>,
    /// The `pairs` or `tables` input's lines.
    pub(crate) listed: Listed,
    pub(crate) comment: CommentMode,
    pub(crate) comment_tag: String,
    pub(crate) github_token: Option<String>,
    pub(crate) report_dir: PathBuf,
    /// On a pull request, take the config file from the base commit.
    pub(crate) config_from_base: bool,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("command", &self.command)
            .field("argv", &self.argv)
            .field("listed", &self.listed)
            .field("comment", &self.comment)
            .field("comment_tag", &self.comment_tag)
            .field(
                "github_token",
                &self.github_token.as_ref().map(|_| "<redacted>"),
            )
            .field("report_dir", &self.report_dir)
            .field("config_from_base", &self.config_from_base)
            .finish()
    }
}

/// An input that stands for an option.
#[derive(Debug, Clone)]
pub(crate) struct OptionInput {
    /// `max_bytes_billed`.
    pub(crate) name: String,
    /// `max-bytes-billed`.
    pub(crate) long: String,
    pub(crate) boolean: bool,
    /// The checks that take it.
    pub(crate) checks: Vec<&'static str>,
}

/// Every option of every check as an input, but those on `cli::NOT_ACTION_INPUTS`.
pub(crate) fn option_inputs() -> Vec<OptionInput> {
    let mut out: Vec<OptionInput> = Vec::new();
    for check in CHECKS {
        let command = check.command();
        for a in crate::cli::options(&command) {
            let id = a.get_id().as_str();
            if crate::cli::NOT_ACTION_INPUTS.iter().any(|(n, _)| *n == id) {
                continue;
            }
            let name = crate::cli::input_of(a);
            match out.iter_mut().find(|i| i.name == name) {
                Some(i) => i.checks.push(check.name()),
                None => out.push(OptionInput {
                    name,
                    long: a.get_long().unwrap_or_default().to_string(),
                    boolean: a.get_value_parser().type_id() == std::any::TypeId::of::<bool>(),
                    checks: vec![check.name()],
                }),
            }
        }
    }
    out
}

impl Settings {
    /// Read every input (each one, whatever the command, so none is silently ignored) and
    /// check that the ones given apply to the command.
    pub(crate) fn read(inputs: &Inputs) -> Result<Settings, String> {
        let names: Vec<&str> = CHECKS.iter().map(|c| c.name()).collect();
        let command = inputs
            .get("command")
            .ok_or_else(|| format!("input `command` is required: {}", names.join(", ")))?;
        if !names.contains(&command.as_str()) {
            return Err(format!(
                "input `command`: `{command}` is not one of {}",
                names.join(", ")
            ));
        }
        let cmd = command.as_str();
        let mut argv = vec!["bqcheck".to_string(), command.clone()];
        let mut errors = Vec::new();
        let applies = |name: &str, to: &[&'static str], errors: &mut Vec<String>| -> bool {
            if to.contains(&cmd) {
                true
            } else {
                errors.push(format!(
                    "input `{name}` applies to {} only, not to {cmd}",
                    to.join(" and ")
                ));
                false
            }
        };
        // Every option of the command is an input of the same name (`max_bytes_billed` is
        // `--max-bytes-billed`), derived from the flags; each becomes a `--flag=value`.
        for input in option_inputs() {
            let value = if input.boolean {
                // An explicit false is passed on, so it wins over a config file's true.
                match inputs.flag(&input.name) {
                    Ok(v) => v.map(|on| on.to_string()),
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                }
            } else {
                inputs.get(&input.name)
            };
            if let Some(v) = value {
                if applies(&input.name, &input.checks, &mut errors) {
                    argv.push(format!("--{}={v}", input.long));
                }
            }
        }
        let pairs = inputs.get("pairs");
        let tables = inputs.get("tables");
        let takes_tables =
            |c: &dyn crate::commands::Check| matches!(c.items(), crate::config::Items::Tables);
        let lists_tables = check_named(cmd).is_some_and(takes_tables);
        let table_checks: Vec<&str> = CHECKS
            .iter()
            .filter(|c| takes_tables(**c))
            .map(|c| c.name())
            .collect();
        let listed = if lists_tables {
            if pairs.is_some() {
                errors.push(format!(
                    "input `pairs` does not apply to {cmd}: use `tables`"
                ));
            }
            Listed::Text {
                origin: "input `tables`".into(),
                text: tables.unwrap_or_default(),
            }
        } else {
            if tables.is_some() {
                errors.push(format!(
                    "input `tables` applies to {} only: {cmd} takes `pairs`",
                    table_checks.join(" and ")
                ));
            }
            Listed::Text {
                origin: "input `pairs`".into(),
                text: pairs.unwrap_or_default(),
            }
        };
        if let Some(extra) = inputs.get("args") {
            match shell_words::split(&extra) {
                Ok(words) => argv.extend(words),
                Err(e) => errors.push(format!("input `args`: {e} in `{extra}`")),
            }
        }
        let comment = match inputs.get("comment").as_deref() {
            None | Some("auto") => CommentMode::Auto,
            Some("always") => CommentMode::Always,
            Some("never") => CommentMode::Never,
            Some(other) => {
                errors.push(format!(
                    "input `comment`: `{other}` is not one of auto, always, never"
                ));
                CommentMode::Never
            }
        };
        let comment_tag = inputs
            .get("comment_tag")
            .unwrap_or_else(|| "default".into());
        let tag_ok = comment_tag.len() <= 64
            && comment_tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            && !comment_tag.contains("--");
        if !tag_ok {
            errors.push(format!(
                "input `comment_tag`: `{comment_tag}` may use only letters, digits, `.`, `_` and single `-` (at most 64)"
            ));
        }
        let config_from_base = match inputs.get("config_from_base").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                errors.push(format!(
                    "input `config_from_base`: `{other}` is not true or false"
                ));
                false
            }
        };
        let github_token = inputs.get("github_token");
        let report_dir = PathBuf::from(
            inputs
                .get("report_dir")
                .unwrap_or_else(|| "bqcheck-reports".into()),
        );
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        Ok(Settings {
            command,
            argv,
            listed,
            comment,
            comment_tag,
            github_token,
            report_dir,
            config_from_base,
        })
    }

    /// The `config` input's value, if given.
    fn config_path(&self) -> Option<&str> {
        self.argv.iter().find_map(|a| a.strip_prefix("--config="))
    }
}

/// The checked-out repository: `$GITHUB_WORKSPACE`, else the working directory.
fn workspace() -> PathBuf {
    std::env::var_os("GITHUB_WORKSPACE")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default()
}

/// A file removed when dropped.
struct TempFile {
    path: PathBuf,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Fetch the config file as the pull request's base commit has it (GitHub's contents API, raw)
/// and write it beside where the PR's copy is, so its relative paths resolve the same way. A
/// base without the file means no config: an empty one is written.
async fn base_config(env: &ActionEnv, settings: &Settings) -> Result<TempFile, String> {
    let name = settings
        .config_path()
        .unwrap_or(crate::config::DEFAULT_FILE);
    let workspace = workspace();
    let local = normalize(&workspace.join(name));
    let in_repo = local
        .strip_prefix(normalize(&workspace))
        .map_err(|_| format!("config_from_base: `{name}` is not inside the workspace"))?
        .to_path_buf();
    let event = env
        .event_path
        .as_ref()
        .ok_or("config_from_base: no GITHUB_EVENT_PATH")?;
    let payload: serde_json::Value = std::fs::read_to_string(event)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or("config_from_base: the event payload cannot be read")?;
    let sha = payload
        .pointer("/pull_request/base/sha")
        .and_then(serde_json::Value::as_str)
        .filter(|s| s.len() >= 7 && s.chars().all(|c| c.is_ascii_hexdigit()))
        .ok_or("config_from_base: no pull_request.base.sha in the event payload")?;
    let repo = env
        .repository
        .as_deref()
        .ok_or("config_from_base: no GITHUB_REPOSITORY")?;
    let token = settings
        .github_token
        .as_deref()
        .ok_or("config_from_base: needs github_token")?;
    let path: Vec<String> = in_repo
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let url = format!(
        "{}/repos/{repo}/contents/{}?ref={sha}",
        env.api_url,
        path.join("/")
    );
    let resp = reqwest::Client::new()
        .get(&url)
        .bearer_auth(token)
        .header("accept", "application/vnd.github.raw+json")
        .header("user-agent", concat!("bqcheck/", env!("CARGO_PKG_VERSION")))
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| format!("config_from_base: {e}"))?;
    let text = match resp.status().as_u16() {
        200 => resp
            .text()
            .await
            .map_err(|e| format!("config_from_base: {e}"))?,
        404 => String::new(),
        code => {
            return Err(format!(
                "config_from_base: GitHub answered HTTP {code} for {} at {sha}",
                in_repo.display()
            ))
        }
    };
    let bytes: [u8; 8] = rand::random();
    let tag: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let dir = local.parent().map(Path::to_path_buf).unwrap_or_default();
    let file = TempFile {
        path: dir.join(format!(".bqcheck-base-{tag}.yml")),
    };
    std::fs::write(&file.path, text).map_err(|e| {
        format!(
            "config_from_base: cannot write {}: {e}",
            file.path.display()
        )
    })?;
    Ok(file)
}

/// The paths that resolve outside `workspace`: lexically (`..`), or through a symlink when
/// the path exists.
fn outside_workspace(workspace: &Path, paths: &[(String, PathBuf)]) -> Vec<(String, PathBuf)> {
    let root = workspace
        .canonicalize()
        .unwrap_or_else(|_| normalize(workspace));
    paths
        .iter()
        .filter(|(_, p)| {
            let abs = if p.is_absolute() {
                p.clone()
            } else {
                workspace.join(p)
            };
            // An existing file is judged where it really is; one still to be written, by
            // its nearest existing parent.
            let mut probe = normalize(&abs);
            let mut rest = Vec::new();
            let real = loop {
                match probe.canonicalize() {
                    Ok(r) => break rest.iter().rev().fold(r, |acc: PathBuf, c| acc.join(c)),
                    Err(_) => match (probe.parent(), probe.file_name()) {
                        (Some(parent), Some(name)) => {
                            rest.push(name.to_os_string());
                            probe = parent.to_path_buf();
                        }
                        _ => break normalize(&abs),
                    },
                }
            };
            !real.starts_with(&root)
        })
        .cloned()
        .collect()
}

/// `a/./b/../c` → `a/c`, without touching the filesystem.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Where messages for the workflow log go: annotations in Actions, plain lines elsewhere.
struct Log {
    in_actions: bool,
}

impl Log {
    fn say(&self, level: Level, message: &str) {
        let mut out = std::io::stdout().lock();
        let line = if self.in_actions {
            workflow::message_line(level, message)
        } else {
            let word = match level {
                Level::Error => "error",
                Level::Warning => "warning",
                Level::Notice => "note",
            };
            format!("{word}: {message}")
        };
        let _ = writeln!(out, "{line}");
    }

    fn print(&self, line: &str) {
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }

    /// A workflow command that means nothing outside Actions (log groups).
    fn command(&self, line: &str) {
        if self.in_actions {
            self.print(line);
        }
    }
}

/// Every report file (`report::TARGETS`) under `report_dir`.
struct ReportPaths(Vec<(&'static report::Target, PathBuf)>);

impl ReportPaths {
    fn new(dir: &Path) -> ReportPaths {
        ReportPaths(
            report::TARGETS
                .iter()
                .map(|t| (t, dir.join(t.action_file)))
                .collect(),
        )
    }

    fn write(&self, dir: &Path, batch: &dyn Batch) -> Result<(), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create report_dir {}: {e}", dir.display()))?;
        for (target, path) in &self.0 {
            report::write_file(batch, target.format, path).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// The step outputs, every one of them written whatever happened.
fn outputs(
    totals: &Totals,
    exit_code: u8,
    reports: Option<&ReportPaths>,
    comment_url: &str,
) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("total", totals.total.to_string()),
        ("identical", totals.identical.to_string()),
        ("different", totals.different.to_string()),
        ("failed", totals.failed.to_string()),
        ("breaking", totals.breaking.to_string()),
        ("anomalies", totals.anomalies.to_string()),
        ("one_sided", totals.one_sided.to_string()),
        ("bytes_billed", totals.usage.bytes_billed.to_string()),
        ("cost_usd", format!("{:.6}", totals.cost_usd)),
        ("exit_code", exit_code.to_string()),
    ];
    // One output per report file, named as its flag: `report_json`.
    for t in report::TARGETS {
        let path = reports
            .and_then(|r| r.0.iter().find(|(x, _)| x.flag == t.flag))
            .map(|(_, p)| p.display().to_string())
            .unwrap_or_default();
        out.push((t.flag, path));
    }
    out.push(("comment_url", comment_url.to_string()));
    out
}

fn write_outputs(env: &ActionEnv, log: &Log, values: &[(&str, String)]) -> Result<(), GithubError> {
    match &env.output {
        Some(path) => workflow::write_outputs(path, values),
        None => {
            if env.in_actions {
                log.say(Level::Warning, "GITHUB_OUTPUT is not set: no step outputs");
            }
            Ok(())
        }
    }
}

/// Run the action; returns the step's exit status.
pub(crate) async fn run() -> anyhow::Result<u8> {
    let env = ActionEnv::from_env();
    let log = Log {
        in_actions: env.in_actions,
    };
    let inputs = Inputs::from_env();
    let trouble = |message: &str| -> anyhow::Result<u8> {
        log.say(Level::Error, message);
        write_outputs(&env, &log, &outputs(&Totals::default(), 2, None, ""))?;
        Ok(2)
    };
    let mut settings = match Settings::read(&inputs) {
        Ok(s) => s,
        Err(message) => return trouble(&message),
    };
    // The base branch's config, in place of the PR's copy; removed when the run ends.
    let _base_config = if settings.config_from_base && env.is_pull_request_event() {
        match base_config(&env, &settings).await {
            Ok(file) => {
                settings
                    .argv
                    .retain(|a| !a.starts_with("--config=") && a != "--config");
                settings
                    .argv
                    .insert(2, format!("--config={}", file.path.display()));
                Some(file)
            }
            Err(message) => return trouble(&message),
        }
    } else {
        None
    };
    let Some(check) = check_named(&settings.command) else {
        return trouble("input `command` names no check");
    };
    let argv = settings.argv.iter().map(std::ffi::OsString::from).collect();
    // On a pull request the config file is the PR author's: it may not point bqcheck at
    // files outside the workspace (a runner's secrets, /proc/self/environ, ~/.ssh). Checked
    // as soon as it is read, before anything it names is opened.
    let pull_request = env.is_pull_request_event();
    let workspace = workspace();
    let inside_workspace = |loaded: &crate::config::Config| -> Vec<String> {
        if !pull_request {
            return Vec::new();
        }
        outside_workspace(&workspace, &loaded.paths())
            .iter()
            .map(|(key, path)| {
                format!(
                    "{}: `{key}` names {}, outside the workspace: on a pull request the config file may only name files inside it",
                    loaded.path.display(),
                    crate::report::one_line(&path.display().to_string())
                )
            })
            .collect()
    };
    let resolved = match resolve(check, argv, 2, settings.listed.clone(), &inside_workspace) {
        Ok(r) => r,
        Err(ResolveError::Usage(e)) => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            return trouble(&format!(
                "the action's inputs do not make a valid command line ({}): {first}",
                settings.argv[1..].join(" ")
            ));
        }
        Err(ResolveError::Refused(problems)) => {
            for p in &problems {
                log.say(Level::Error, p);
            }
            write_outputs(&env, &log, &outputs(&Totals::default(), 2, None, ""))?;
            return Ok(2);
        }
        Err(e) => return trouble(&e.to_string()),
    };
    let common = resolved.common.clone();

    log.command(&workflow::group_start(&format!(
        "bqcheck {}",
        shell_words::join(&settings.argv[1..])
    )));
    // Everything the run prints holds table data, schema text and server messages: no line
    // of it may act as a workflow command (`::add-mask::`, `::stop-commands::`, ...), so the
    // runner is told to ignore commands until a token no data can know.
    let fence = workflow::StopCommands::new();
    log.command(&fence.start());
    let finished = check.execute(&resolved.matches, &resolved.run).await;
    let report_error = match &finished {
        // Example rows are table data: they stay in the reports, out of the public log.
        Ok(Finished::Batch(b)) => emit_reports_public(b.as_ref(), &common, true).err(),
        _ => None,
    };
    log.command(&fence.end());
    log.command(workflow::GROUP_END);
    let batch = match finished {
        Ok(Finished::Batch(b)) => b,
        Ok(Finished::Refused(reasons)) => {
            let code = ExitStatus::Trouble.code();
            if reasons.is_empty() {
                log.say(Level::Error, "the input was refused");
            }
            // Each reason as an annotation, so the checks page says what to fix.
            for r in reasons.iter().take(MAX_ANNOTATIONS) {
                log.say(Level::Error, &format!("input refused: {r}"));
            }
            write_outputs(&env, &log, &outputs(&Totals::default(), code, None, ""))?;
            return Ok(code);
        }
        Err(e) => return trouble(&format!("{e:#}")),
    };

    let mut code = batch.exit_status().code();
    if let Some(e) = report_error {
        log.say(Level::Error, &format!("{e:#}"));
        code = 2;
    }
    let reports = ReportPaths::new(&settings.report_dir);
    let reports = match reports.write(&settings.report_dir, batch.as_ref()) {
        Ok(()) => Some(reports),
        Err(e) => {
            log.say(Level::Error, &e);
            code = 2;
            None
        }
    };
    let totals = batch.totals();
    if env.in_actions {
        for line in workflow::annotation_lines(batch.annotations(), MAX_ANNOTATIONS) {
            log.print(&line);
        }
    }
    if let Some(path) = &env.step_summary {
        let headline = comment::status_headline(&settings.command, batch.as_ref());
        let md = String::from_utf8_lossy(&Format::Markdown.exporter().render(batch.as_ref())?)
            .into_owned();
        if let Err(e) = workflow::append_summary(path, &format!("### {headline}\n\n{md}")) {
            log.say(Level::Warning, &e.to_string());
        }
    }
    // After SIGINT/SIGTERM the step's status is 130/143, and the outputs say so.
    if let Some(c) = crate::cancel::exit_code() {
        code = c;
    }
    // Every output but the comment's URL now, so a slow or interrupted comment cannot cost
    // them; the URL last.
    let mut values = outputs(&totals, code, reports.as_ref(), "");
    let url_output = values.pop();
    write_outputs(&env, &log, &values)?;
    let comment_url = if let Some(sig) = crate::cancel::requested() {
        // A cancelled run must not overwrite the comment of the run that replaced it.
        log.say(
            Level::Warning,
            &format!(
                "no PR comment: the run was cancelled ({})",
                crate::cancel::signal_name(sig)
            ),
        );
        String::new()
    } else {
        tokio::select! {
            url = post_comment(&env, &log, &settings, batch.as_ref()) => url,
            _ = crate::cancel::cancelled() => {
                log.say(Level::Warning, "PR comment abandoned: the run was cancelled");
                String::new()
            }
        }
    };
    if let Some((name, _)) = url_output {
        write_outputs(&env, &log, &[(name, comment_url)])?;
    }
    if let Some(c) = crate::cancel::exit_code() {
        code = c;
    }
    Ok(code)
}

/// The sticky comment, when wanted and possible; its URL, or empty. Never fails the step.
async fn post_comment(
    env: &ActionEnv,
    log: &Log,
    settings: &Settings,
    batch: &dyn Batch,
) -> String {
    let wanted = match settings.comment {
        CommentMode::Never => false,
        CommentMode::Auto => env.is_pull_request_event(),
        CommentMode::Always => true,
    };
    if !wanted {
        return String::new();
    }
    let skip = |why: &str| {
        log.say(Level::Warning, &format!("no PR comment: {why}"));
        String::new()
    };
    let number = match env.pull_request_number() {
        Ok(Some(n)) => n,
        Ok(None) => {
            return skip(&format!(
                "comment is `always` but this is a `{}` event, not a pull request",
                env.event_name.as_deref().unwrap_or("unknown")
            ))
        }
        Err(e) => return skip(&e.to_string()),
    };
    let Some(token) = settings.github_token.as_deref() else {
        return skip("input `github_token` is empty");
    };
    let Some(repository) = env.repository.as_deref() else {
        return skip("GITHUB_REPOSITORY is not set");
    };
    let run_url = env.run_url();
    let body = comment::body(
        batch,
        &BodyContext {
            command: &settings.command,
            tag: &settings.comment_tag,
            run_url: run_url.as_deref(),
            sha: env.sha.as_deref(),
        },
    );
    let target = Target {
        api_url: &env.api_url,
        token,
        repository,
        number,
    };
    let marker = comment::marker(&settings.command, &settings.comment_tag);
    match comment::upsert(&target, &marker, &body).await {
        Ok(posted) => {
            let what = match &posted {
                Posted::Created(_) => "created",
                Posted::Updated(_) => "updated",
                Posted::Unchanged(_) => "unchanged, not updated",
            };
            log.print(&format!("PR comment {what}: {}", posted.url()));
            posted.url().to_string()
        }
        Err(GithubError::Api { status, message }) if status == 403 || status == 404 => {
            skip(&format!(
                "GitHub answered {status} ({message}); the token cannot write to this pull request \
                 (a pull request from a fork gets a read-only token). Grant `pull-requests: write` \
                 or set comment: never. The check's result is unaffected."
            ))
        }
        Err(e) => skip(&format!("{e}. The check's result is unaffected.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn inputs(vars: &[(&str, &str)]) -> Inputs {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (Inputs::var_name(k), v.to_string()))
            .collect();
        Inputs::from_lookup(move |k| map.get(k).cloned())
    }

    #[test]
    fn debug_never_shows_the_github_token() {
        let s = Settings::read(&inputs(&[
            ("command", "schema-diff"),
            ("pairs", "dev.a:prod.a"),
            ("github_token", "ghs_SECRET0TOKEN"),
        ]))
        .unwrap();
        assert_eq!(s.github_token.as_deref(), Some("ghs_SECRET0TOKEN"));
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("SECRET") && shown.contains("<redacted>"),
            "{shown}"
        );
    }

    #[test]
    fn inputs_become_the_cli_arguments() {
        let s = Settings::read(&inputs(&[
            ("command", "table-compare"),
            ("pairs", "dev.a:prod.a\ndev.b prod.b\n"),
            ("parallel", "8"),
            ("key", "id,region"),
            ("skip_stats", "true"),
            ("skip_samples", "false"),
            ("max_bytes_billed", "1000000"),
            ("location", "EU"),
            (
                "args",
                r#"--where "dt >= '2026-01-01'" --exclude-columns=updated_at"#,
            ),
            ("comment", "never"),
        ]))
        .unwrap();
        assert_eq!(
            s.argv,
            [
                "bqcheck",
                "table-compare",
                "--parallel=8",
                // An explicit false is passed on: it must win over a config file's true.
                "--skip-stats=true",
                "--skip-samples=false",
                "--key=id,region",
                "--max-bytes-billed=1000000",
                "--location=EU",
                "--where",
                "dt >= '2026-01-01'",
                "--exclude-columns=updated_at"
            ]
        );
        assert!(matches!(&s.listed, Listed::Text { origin, text }
            if origin == "input `pairs`" && text.contains("dev.b prod.b")));
        assert_eq!(s.comment, CommentMode::Never);
        assert_eq!(s.report_dir, PathBuf::from("bqcheck-reports"));
        let m = check_named("table-compare")
            .unwrap()
            .command()
            .try_get_matches_from(&s.argv[1..])
            .unwrap();
        let a =
            <crate::cli::TableCompareArgs as clap::FromArgMatches>::from_arg_matches(&m).unwrap();
        assert_eq!(a.key, Some(vec!["id".to_string(), "region".to_string()]));
        assert_eq!(a.query.where_clause.as_deref(), Some("dt >= '2026-01-01'"));
        assert_eq!(a.common.parallel, 8);
        assert!(a.skip_stats && !a.skip_samples);
    }

    #[test]
    fn inputs_that_do_not_apply_are_refused_with_their_names() {
        let e = Settings::read(&inputs(&[
            ("command", "schema-diff"),
            ("key", "id"),
            ("detect_anomalies", "true"),
            ("tables", "prod.t"),
            ("skip_stats", "yes"),
            ("comment", "sometimes"),
            ("comment_tag", "a b"),
        ]))
        .unwrap_err();
        for needle in [
            "input `key` applies to table-compare only, not to schema-diff",
            "input `detect_anomalies` applies to profile only",
            // The table checks are listed from the registry: profile, and any added later.
            "input `tables` applies to profile",
            "only: schema-diff takes `pairs`",
            "input `skip_stats`: `yes` is not a boolean",
            "input `comment`: `sometimes`",
            "input `comment_tag`: `a b`",
        ] {
            assert!(e.contains(needle), "missing {needle:?} in:\n{e}");
        }
        let e = Settings::read(&inputs(&[("command", "diff")])).unwrap_err();
        assert!(e.contains("`diff` is not one of"), "{e}");
        let e = Settings::read(&inputs(&[])).unwrap_err();
        assert!(e.contains("input `command` is required"), "{e}");
        let e =
            Settings::read(&inputs(&[("command", "profile"), ("args", "--where 'x")])).unwrap_err();
        assert!(e.contains("input `args`"), "{e}");
    }

    /// Every input declared in action.yml is read by the action, and the action reads no
    /// input that action.yml does not declare; every declared output is written, and only
    /// those.
    #[test]
    fn action_yml_matches_what_the_binary_reads_and_writes() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml"))
            .expect("action.yml at the repository root");
        let yml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("valid YAML");
        let keys = |section: &str| -> BTreeSet<String> {
            yml[section]
                .as_mapping()
                .unwrap_or_else(|| panic!("action.yml has no {section}"))
                .keys()
                .filter_map(|k| k.as_str().map(String::from))
                .collect()
        };
        let declared_inputs = keys("inputs");
        for command in CHECKS.iter().map(|c| c.name()) {
            let i = inputs(&[("command", command)]);
            let _ = Settings::read(&i);
            let read = i.names_read();
            assert_eq!(
                read,
                declared_inputs,
                "for {command}: read but not declared in action.yml: {:?}; declared but not read: {:?}",
                read.difference(&declared_inputs).collect::<Vec<_>>(),
                declared_inputs.difference(&read).collect::<Vec<_>>(),
            );
        }
        let written: BTreeSet<String> = outputs(&Totals::default(), 0, None, "")
            .into_iter()
            .map(|(k, _)| k.to_string())
            .collect();
        assert_eq!(written, keys("outputs"), "outputs written vs declared");
        for (name, spec) in yml["inputs"].as_mapping().unwrap() {
            assert!(
                spec["description"].as_str().is_some_and(|d| !d.is_empty()),
                "input {name:?} needs a description"
            );
            assert!(
                spec.get("default").is_some() || spec["required"].as_bool() == Some(true),
                "input {name:?} needs a default"
            );
        }
        assert_eq!(yml["runs"]["using"].as_str(), Some("docker"));
        assert_eq!(yml["runs"]["image"].as_str(), Some("Dockerfile"));
        assert_eq!(
            yml["runs"]["args"].as_sequence().map(Vec::len),
            Some(0),
            "no container arguments: inputs come from INPUT_*"
        );
    }
}
