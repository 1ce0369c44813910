//! `.bqcheck.yml`: a gate's pairs, keys, thresholds and acknowledged changes, reviewed in the
//! repository instead of spread over workflow flags.
//!
//! The file's keys are not declared here: they are derived from the flags (`cli`), one key
//! per option, so a new flag is a config key the moment it exists. Rules (the README's
//! "Configuration file" section says the same):
//! - `--config PATH`, else `.bqcheck.yml` in the working directory if there is one.
//! - Top-level keys are the options every command takes; each command has a section
//!   (`schema_diff`, `table_compare`, `profile`) for its own. A key is its long flag with `_`
//!   for `-` (`--max-bytes-billed` is `max_bytes_billed`), except the few grouped under
//!   `anomalies:` and `drift:` (`cli::CONFIG_KEYS`).
//! - The file's options become arguments (`--flag=value`), added to the command line for each
//!   option it does not set itself: a flag given on the command line (or by an action input)
//!   wins, and the file is checked by the flags' own value parsers.
//! - Pairs (or tables) named by arguments, `--pairs-file`, stdin or the action's inputs
//!   *replace* the file's: the file's list is the default set.
//! - Unknown keys, wrong types and bad values are errors naming the file, line and column:
//!   a typo in a gate's config must never silently disable a check.
//! - Relative paths in the file are relative to the file's directory.
//!
//! Values are checked while the YAML is read, inside serde visitors, so every error carries
//! the position serde_yaml_ng reports.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::parser::ValueSource;
use clap::ArgMatches;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::checks::schema_diff::{AcceptRule, ChangeKind};
use crate::input::split_pair_line;
use crate::model::{Pair, Source, TableRef};

/// The file looked for when `--config` is not given.
pub(crate) const DEFAULT_FILE: &str = ".bqcheck.yml";

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("cannot read config file {path}: {error}")]
    Read {
        path: String,
        // Not a `source`: the message already says it.
        error: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Unplaced { path: String, message: String },
}

// ---------------------------------------------------------------------------------------------
// What a file may say: derived from the commands' flags.

/// The kind of items a command's section lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Items {
    /// `pairs:` and `pairs_file:`; `per_pair`: each pair may carry its own `key` and `where`;
    /// `accept`: the section takes `accept:` entries (acknowledged schema changes).
    Pairs { per_pair: bool, accept: bool },
    /// `tables:`.
    Tables,
}

/// A command's section: its name in the file, its flags, its items.
#[derive(Debug, Clone)]
pub(crate) struct SectionSpec {
    pub(crate) name: &'static str,
    pub(crate) command: clap::Command,
    pub(crate) items: Items,
}

/// One option as the file sees it.
#[derive(Debug, Clone)]
struct Opt {
    /// Its key within its scope: `parallel`, `anomalies.null_rate`.
    key: String,
    /// The flag's id and long name.
    id: String,
    long: String,
    /// Takes a list (`key: [id, region]`).
    list: bool,
    /// Its items are `COL=VALUE` (`--abs-tolerance`, `--map`): the file may write a map.
    assign: bool,
    /// Names a file or directory (rebased on the file's directory).
    path: bool,
    /// The command whose parser checks the value (one per section, shared).
    command: Arc<clap::Command>,
}

impl Opt {
    fn all(command: &clap::Command, skip: &dyn Fn(&str) -> bool) -> Vec<Opt> {
        let shared = Arc::new(command.clone());
        crate::cli::options(command)
            .filter(|a| {
                !crate::cli::NOT_IN_CONFIG
                    .iter()
                    .any(|(id, _)| a.get_id() == *id)
            })
            .filter(|a| !skip(a.get_id().as_str()))
            .map(|a| {
                let id = a.get_id().to_string();
                let key = crate::cli::CONFIG_KEYS
                    .iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, k)| k.to_string())
                    .unwrap_or_else(|| crate::cli::key_of(a));
                Opt {
                    key,
                    long: a.get_long().unwrap_or_default().to_string(),
                    list: a.get_value_delimiter().is_some(),
                    assign: a
                        .get_value_names()
                        .is_some_and(|n| n.iter().any(|n| n.as_str().contains('='))),
                    path: a.get_value_parser().type_id() == std::any::TypeId::of::<PathBuf>(),
                    command: Arc::clone(&shared),
                    id,
                }
            })
            .collect()
    }

    /// Check `value` with the flag's own parser; the message for the file if refused.
    fn check(&self, value: &str) -> Result<(), String> {
        let name = self.command.get_name().to_string();
        match clap::Command::clone(&self.command)
            .try_get_matches_from([name, format!("--{}={value}", self.long)])
        {
            Ok(_) => Ok(()),
            Err(e) => Err(clap_message(&e, value)),
        }
    }
}

/// A clap error as one message for the file: the value parser's own words where it has them.
fn clap_message(e: &clap::Error, value: &str) -> String {
    use clap::error::{ContextKind, ContextValue};
    if let Some(ContextValue::Strings(valid)) = e.get(ContextKind::ValidValue) {
        return format!("`{value}` is not one of {}", valid.join(", "));
    }
    if let Some(source) = std::error::Error::source(e) {
        let s = source.to_string();
        return if s.contains(value) || value.is_empty() {
            s
        } else {
            format!("`{value}`: {s}")
        };
    }
    let rendered = e.to_string();
    rendered
        .lines()
        .next()
        .unwrap_or("invalid value")
        .trim_start_matches("error: ")
        .to_string()
}

/// Every key the file may hold.
#[derive(Debug, Clone)]
pub(crate) struct Schema {
    common: Vec<Opt>,
    sections: Vec<(SectionSpec, Vec<Opt>)>,
}

impl Schema {
    /// The options every command takes (`common`) sit at the top level; the rest in sections.
    pub(crate) fn new(common: &clap::Command, sections: Vec<SectionSpec>) -> Schema {
        let common_ids: Vec<String> = common
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .collect();
        let common = Opt::all(common, &|_| false);
        let sections = sections
            .into_iter()
            .map(|s| {
                let opts = Opt::all(&s.command, &|id| {
                    common_ids.iter().any(|c| c == id) || id == "pairs_file"
                });
                (s, opts)
            })
            .collect();
        Schema { common, sections }
    }

    /// Every key, as `section.key` (for tests).
    #[cfg(test)]
    pub(crate) fn keys(&self) -> Vec<String> {
        let mut out: Vec<String> = self.common.iter().map(|o| o.key.clone()).collect();
        for (s, opts) in &self.sections {
            out.extend(opts.iter().map(|o| format!("{}.{}", s.name, o.key)));
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The file as read.

/// One option the file sets, as the argument it becomes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Setting {
    /// Where it was written: `table_compare.key`.
    pub(crate) key: String,
    id: String,
    long: String,
    /// The flag's argument: `1000`, `id,region`, `true`.
    pub(crate) value: String,
    path: bool,
}

impl Setting {
    fn argument(&self) -> String {
        format!("--{}={}", self.long, self.value)
    }
}

/// A command's section as read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Section {
    pub(crate) name: String,
    settings: Vec<Setting>,
    pub(crate) pairs: Vec<ComparePairEntry>,
    pub(crate) pairs_file: Option<PathBuf>,
    pub(crate) tables: Vec<TableName>,
    pub(crate) accept: Vec<AcceptEntry>,
}

/// A config file, read and checked.
#[derive(Debug, Clone, Default)]
pub(crate) struct Config {
    pub(crate) path: PathBuf,
    common: Vec<Setting>,
    sections: Vec<Section>,
}

/// Reads a value for one option, checked where it stands.
struct ValueSeed<'a> {
    opt: &'a Opt,
    key: String,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Setting;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Setting, D::Error> {
        d.deserialize_any(self)
    }
}

impl ValueSeed<'_> {
    fn setting<E: de::Error>(self, value: String) -> Result<Setting, E> {
        self.opt.check(&value).map_err(E::custom)?;
        Ok(Setting {
            key: self.key,
            id: self.opt.id.clone(),
            long: self.opt.long.clone(),
            value,
            path: self.opt.path,
        })
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Setting;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.opt.list {
            f.write_str("a list, e.g. [id, region]")
        } else {
            f.write_str("a value")
        }
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Setting, E> {
        self.setting(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Setting, E> {
        self.setting(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Setting, E> {
        self.setting(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Setting, E> {
        self.setting(v.to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Setting, E> {
        if self.opt.list {
            // One name is a list of one: `key: id`.
            return self.setting(Text::checked(v).map_err(E::custom)?);
        }
        self.setting(v.to_string())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Setting, A::Error> {
        if !self.opt.list {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        let mut names = Vec::new();
        while let Some(t) = seq.next_element::<Text>()? {
            if t.0.contains(',') {
                return Err(de::Error::custom(format!(
                    "`{}`: a name cannot hold `,`",
                    t.0
                )));
            }
            names.push(t.0);
        }
        if names.is_empty() {
            return Err(de::Error::custom(
                "an empty list: name at least one column, or leave the key out",
            ));
        }
        self.setting(names.join(","))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Setting, A::Error> {
        if !self.opt.assign {
            return Err(de::Error::invalid_type(de::Unexpected::Map, &self));
        }
        self.map_items(map)
    }
}

impl ValueSeed<'_> {
    /// A list option written as a map (`columns_map: {customer_name: name}`,
    /// `abs_tolerance: {amount: 0.01}`): its items are `key=value`.
    fn map_items<'de, A: MapAccess<'de>>(self, mut map: A) -> Result<Setting, A::Error> {
        let mut items = Vec::new();
        while let Some((k, v)) = map.next_entry::<Text, ScalarText>()? {
            let item = format!("{}={}", k.0, v.0);
            if item.contains(',') {
                return Err(de::Error::custom(format!(
                    "`{item}`: a name cannot hold `,`"
                )));
            }
            self.opt.check(&item).map_err(de::Error::custom)?;
            items.push(item);
        }
        if items.is_empty() {
            return Err(de::Error::custom("an empty map: leave the key out"));
        }
        self.setting(items.join(","))
    }
}

/// A scalar as text: `0.01`, `1s`, `name`.
struct ScalarText(String);

impl<'de> Deserialize<'de> for ScalarText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar(d, "a value", |v| {
            Ok(ScalarText(match v {
                Scalar::Int(i) => i.to_string(),
                Scalar::Float(f) => f.to_string(),
                Scalar::Str(s) => s.to_string(),
            }))
        })
    }
}

/// Reads a key, refusing one the scope does not have (at the key's position).
struct KeySeed<'a> {
    allowed: &'a [String],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        if self.allowed.iter().any(|a| a == v) {
            Ok(v.to_string())
        } else {
            Err(E::custom(format!(
                "unknown field `{v}`, expected one of {}",
                self.allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }
}

/// What a map (the file, a section, a group) may hold.
struct Scope<'a> {
    /// `""`, `table_compare.`, `profile.anomalies.`: for the keys settings are shown with.
    prefix: String,
    /// The options, each with its key relative to this scope (`null_rate` in `anomalies:`).
    opts: Vec<(String, &'a Opt)>,
    /// At the top level: the commands' sections.
    sections: &'a [(SectionSpec, Vec<Opt>)],
    root: bool,
    items: Option<Items>,
}

#[derive(Default)]
struct Read {
    settings: Vec<Setting>,
    sections: Vec<Section>,
    section: Section,
    groups: Vec<String>,
}

impl Scope<'_> {
    fn allowed(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (k, _) in &self.opts {
            let first = k.split('.').next().unwrap_or(k).to_string();
            if !out.contains(&first) {
                out.push(first);
            }
        }
        if self.root {
            out.extend(self.sections.iter().map(|(s, _)| s.name.to_string()));
        }
        match self.items {
            Some(Items::Pairs { accept, .. }) => {
                out.push("pairs".into());
                out.push("pairs_file".into());
                if accept {
                    out.push("accept".into());
                }
            }
            Some(Items::Tables) => out.push("tables".into()),
            None => {}
        }
        out
    }
}

impl<'de> DeserializeSeed<'de> for Scope<'_> {
    type Value = Read;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Read, D::Error> {
        if self.root {
            d.deserialize_map(self)
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Scope<'_> {
    type Value = Read;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of settings")
    }
    /// `anomalies:` with every line commented out: present and empty.
    fn visit_unit<E: de::Error>(self) -> Result<Read, E> {
        Ok(Read::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Read, A::Error> {
        let allowed = self.allowed();
        let mut seen: Vec<String> = Vec::new();
        let mut read = Read::default();
        while let Some(key) = map.next_key_seed(KeySeed { allowed: &allowed })? {
            if seen.contains(&key) {
                return Err(de::Error::custom(format!("duplicate field `{key}`")));
            }
            seen.push(key.clone());
            let shown = format!("{}{key}", self.prefix);
            if self.root {
                if let Some((spec, opts)) = self.sections.iter().find(|(s, _)| s.name == key) {
                    let inner = map.next_value_seed(Scope {
                        prefix: format!("{key}."),
                        opts: opts.iter().map(|o| (o.key.clone(), o)).collect(),
                        sections: self.sections,
                        root: false,
                        items: Some(spec.items),
                    })?;
                    let mut section = inner.section;
                    section.name = key.clone();
                    section.settings = inner.settings;
                    for g in inner.groups {
                        turn_on(&mut section.settings, &g, opts, &key);
                    }
                    read.sections.push(section);
                    continue;
                }
            }
            match key.as_str() {
                "pairs" if self.items.is_some() => {
                    read.section.pairs = match self.items {
                        Some(Items::Pairs { per_pair: true, .. }) => {
                            map.next_value::<Vec<ComparePairEntry>>()?
                        }
                        _ => map
                            .next_value::<Vec<PairEntry>>()?
                            .into_iter()
                            .map(|p| ComparePairEntry {
                                a: p.a,
                                b: p.b,
                                key: None,
                                where_clause: None,
                                partitions: None,
                                abs_tolerance: None,
                                rel_tolerance: None,
                                time_tolerance: None,
                                trim: None,
                                ignore_case: None,
                                null_equals_empty: None,
                                columns_map: None,
                            })
                            .collect(),
                    };
                    continue;
                }
                "pairs_file" if self.items.is_some() => {
                    read.section.pairs_file = Some(map.next_value::<PathBuf>()?);
                    continue;
                }
                "tables" if self.items.is_some() => {
                    read.section.tables = map.next_value::<Vec<TableName>>()?;
                    continue;
                }
                "accept" if self.items.is_some() => {
                    read.section.accept = map.next_value::<Vec<AcceptEntry>>()?;
                    continue;
                }
                _ => {}
            }
            // An option, or a group of them (`anomalies:`).
            match self.opts.iter().find(|(k, _)| *k == key) {
                Some((_, opt)) => {
                    let s = map.next_value_seed(ValueSeed { opt, key: shown })?;
                    read.settings.push(s);
                }
                None => {
                    let group = format!("{key}.");
                    let inner = map.next_value_seed(Scope {
                        prefix: format!("{shown}."),
                        opts: self
                            .opts
                            .iter()
                            .filter_map(|(k, o)| {
                                k.strip_prefix(&group).map(|r| (r.to_string(), *o))
                            })
                            .collect(),
                        sections: &[],
                        root: false,
                        items: None,
                    })?;
                    read.settings.extend(inner.settings);
                    read.groups.push(key.clone());
                }
            }
        }
        Ok(read)
    }
}

/// A group whose presence turns an option on (`anomalies:` → `detect_anomalies`), unless the
/// section sets that option itself.
fn turn_on(settings: &mut Vec<Setting>, group: &str, opts: &[Opt], section: &str) {
    for (g, id) in crate::cli::CONFIG_GROUPS_TURN_ON {
        if *g != group || settings.iter().any(|s| s.id == *id) {
            continue;
        }
        if let Some(o) = opts.iter().find(|o| o.id == *id) {
            settings.push(Setting {
                key: format!("{section}.{group}"),
                id: o.id.clone(),
                long: o.long.clone(),
                value: "true".into(),
                path: false,
            });
        }
    }
}

/// Parse a file's text. `path` is only for messages.
pub(crate) fn parse(path: &Path, text: &str, schema: &Schema) -> Result<Config, ConfigError> {
    let shown = path.display().to_string();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut config = Config {
        path: path.to_path_buf(),
        ..Config::default()
    };
    // An empty file (or one of comments only) is an empty config, not an error.
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(config);
    }
    limits(&shown, text)?;
    let root = Scope {
        prefix: String::new(),
        opts: schema.common.iter().map(|o| (o.key.clone(), o)).collect(),
        sections: &schema.sections,
        root: true,
        items: None,
    };
    let read = root
        .deserialize(serde_yaml_ng::Deserializer::from_str(text))
        .map_err(|e| {
            let full = e.to_string();
            // serde_yaml_ng appends " at line L column C"; the position goes in front instead.
            // The message quotes the file's keys and values, which a pull request wrote: on
            // one line, control characters escaped.
            let message = crate::report::one_line(match full.rfind(" at line ") {
                Some(i) => &full[..i],
                None => &full,
            });
            match e.location() {
                Some(loc) => ConfigError::Invalid {
                    path: shown.clone(),
                    line: loc.line(),
                    column: loc.column(),
                    message,
                },
                None => ConfigError::Unplaced {
                    path: shown.clone(),
                    message,
                },
            }
        })?;
    config.common = read.settings;
    config.sections = read.sections;
    Ok(config)
}

/// `--config PATH` (which must exist), else `.bqcheck.yml` in the working directory if any.
pub(crate) fn load(
    explicit: Option<&Path>,
    schema: &Schema,
) -> Result<Option<Config>, ConfigError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let p = PathBuf::from(DEFAULT_FILE);
            if !p.is_file() {
                return Ok(None);
            }
            p
        }
    };
    let bytes = std::fs::read(&path).map_err(|error| ConfigError::Read {
        path: path.display().to_string(),
        error,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| ConfigError::Unplaced {
        path: path.display().to_string(),
        message: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    let mut config = parse(&path, &text, schema)?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    config.rebase(&base);
    Ok(Some(config))
}

impl Config {
    fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The arguments the file adds to `section`'s command line: `--flag=value` for every
    /// option it sets that `given` says the command line did not.
    pub(crate) fn arguments(&self, section: &str, given: &dyn Fn(&str) -> bool) -> Vec<String> {
        let own = self
            .section(section)
            .map(|s| &s.settings[..])
            .unwrap_or(&[]);
        self.common
            .iter()
            .chain(own)
            .filter(|s| !given(&s.id))
            .map(Setting::argument)
            .collect()
    }

    /// What the file lists for `section` (its pairs or tables, accept entries), with the
    /// command line's precedence applied: its pairs replace the file's, and a `--key` or
    /// `--where` given replaces every pair's own.
    pub(crate) fn items(&self, section: &str, m: &ArgMatches) -> FromFile {
        let mut out = FromFile {
            path: Some(self.path.clone()),
            ..FromFile::default()
        };
        let Some(s) = self.section(section) else {
            return out;
        };
        let pairs_given = given(m, "pairs") || given(m, "pairs_file");
        if !pairs_given {
            out.pairs = s.pairs.clone();
            out.pairs_file = s.pairs_file.clone();
            for p in &mut out.pairs {
                if given(m, "key") {
                    p.key = None;
                }
                if given(m, "where_clause") {
                    p.where_clause = None;
                }
                if given(m, "partitions") {
                    p.partitions = None;
                }
                // A rule flag on the command line replaces every pair's own of its kind.
                macro_rules! replaced {
                    ($($f:ident),*) => {$(
                        if given(m, stringify!($f)) {
                            p.$f = None;
                        }
                    )*};
                }
                replaced!(
                    abs_tolerance,
                    rel_tolerance,
                    time_tolerance,
                    trim,
                    ignore_case,
                    null_equals_empty
                );
                if given(m, "map") {
                    p.columns_map = None;
                }
            }
        }
        if !given(m, "tables") {
            out.tables = s.tables.iter().map(|t| t.0.clone()).collect();
        }
        out.accept = s.accept.clone();
        out
    }

    /// Every path the file names (after [`Config::rebase`]), with the key that names it:
    /// files it makes bqcheck read or write, schema files among its pairs included.
    pub(crate) fn paths(&self) -> Vec<(String, PathBuf)> {
        let mut out: Vec<(String, PathBuf)> = Vec::new();
        let settings = self
            .common
            .iter()
            .chain(self.sections.iter().flat_map(|s| s.settings.iter()));
        for s in settings.filter(|s| s.path) {
            out.push((s.key.clone(), PathBuf::from(&s.value)));
        }
        for s in &self.sections {
            if let Some(p) = &s.pairs_file {
                out.push((format!("{}.pairs_file", s.name), p.clone()));
            }
            for e in &s.pairs {
                for side in [&e.a, &e.b] {
                    if let Ok(Source::SchemaFile(p)) = Source::parse(&side.0, Some("p")) {
                        out.push((format!("{}.pairs", s.name), p));
                    }
                }
            }
        }
        out
    }

    /// Make relative paths relative to the file's directory.
    fn rebase(&mut self, base: &Path) {
        let settings = self
            .common
            .iter_mut()
            .chain(self.sections.iter_mut().flat_map(|s| s.settings.iter_mut()));
        for s in settings.filter(|s| s.path) {
            let mut p = PathBuf::from(&s.value);
            rebase_path(base, &mut p);
            s.value = p.display().to_string();
        }
        for s in &mut self.sections {
            if let Some(p) = &mut s.pairs_file {
                rebase_path(base, p);
            }
            for e in &mut s.pairs {
                rebase_side(base, &mut e.a);
                rebase_side(base, &mut e.b);
            }
            // An accept entry names its pair as the pairs do, so it is rebased the same way.
            for e in &mut s.accept {
                for side in [&mut e.pair.a, &mut e.pair.b] {
                    let mut s = Side(side.clone());
                    rebase_side(base, &mut s);
                    *side = s.0;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Item value types: each refuses what the command line would refuse, with a message for the
// file. Checks run inside the visitor, so serde_yaml_ng places the error at the value itself.

/// A YAML scalar as a check sees it.
enum Scalar<'a> {
    Int(i128),
    Float(f64),
    Str(&'a str),
}

impl Scalar<'_> {
    fn text(&self) -> Result<&str, String> {
        match self {
            Scalar::Str(s) => Ok(s),
            Scalar::Int(i) => Err(format!("{i} is a number: text was expected")),
            Scalar::Float(f) => Err(format!("{f} is a number: text was expected")),
        }
    }
}

struct Check<F> {
    expecting: &'static str,
    check: F,
}

impl<'de, T, F: FnOnce(Scalar) -> Result<T, String>> de::Visitor<'de> for Check<F> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        (self.check)(Scalar::Int(v.into())).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        (self.check)(Scalar::Int(v.into())).map_err(E::custom)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        (self.check)(Scalar::Float(v)).map_err(E::custom)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.check)(Scalar::Str(v)).map_err(E::custom)
    }
}

/// Read a scalar and check it where it stands.
fn scalar<'de, D: Deserializer<'de>, T>(
    d: D,
    expecting: &'static str,
    check: impl FnOnce(Scalar) -> Result<T, String>,
) -> Result<T, D::Error> {
    d.deserialize_any(Check { expecting, check })
}

/// Read text and check it where it stands; the text itself is kept.
fn checked_text<'de, D: Deserializer<'de>>(
    d: D,
    expecting: &'static str,
    check: impl FnOnce(&str) -> Result<(), String>,
) -> Result<String, D::Error> {
    scalar(d, expecting, |v| {
        let s = v.text()?;
        check(s).map(|()| s.to_string())
    })
}

/// A table reference or schema file, checked for shape as it is read (the project of
/// `dataset.table` is resolved later, with `--project`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Side(pub String);

impl<'de> Deserialize<'de> for Side {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_text(d, "a table or schema file", |s| {
            Source::parse(s, Some("p"))
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .map(Side)
    }
}

/// A `TABLE` (profile's `tables`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableName(pub String);

impl<'de> Deserialize<'de> for TableName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_text(d, "a table", |s| {
            TableRef::parse(s, Some("p"))
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .map(TableName)
    }
}

/// A `--where` predicate, refused as the flag refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Predicate(pub String);

/// A pair's own `--partitions` selection, checked as the flag checks it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Partitions(pub String);

impl<'de> Deserialize<'de> for Partitions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_text(d, "a partition selection", |s| {
            crate::cli::values::partitions(s).map(|_| ())
        })
        .map(Partitions)
    }
}

impl<'de> Deserialize<'de> for Predicate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_text(d, "a predicate", |s| {
            crate::checks::table_compare::validate_where(s)
                .map_err(|e| e.replace("--where", "where"))
        })
        .map(Predicate)
    }
}

/// Text that must not be blank (`reason`, `project`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text(pub String);

impl Text {
    fn checked(s: &str) -> Result<String, String> {
        crate::cli::values::text(s)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar(d, "text", |v| Text::checked(v.text()?).map(Text))
    }
}

/// A non-empty list of column names (`key`, `columns`, `exclude_columns`): `key: []` or a
/// blank name is an error, not a silent "no key".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Names(pub Vec<String>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Names;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of column names, e.g. [id, region]")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Names, A::Error> {
                let mut out = Vec::new();
                while let Some(t) = seq.next_element::<Text>()? {
                    out.push(t.0);
                }
                if out.is_empty() {
                    return Err(de::Error::custom(
                        "an empty list: name at least one column, or leave the key out",
                    ));
                }
                Ok(Names(out))
            }
        }
        d.deserialize_seq(V)
    }
}

/// `A:B` (an accept entry's `pair`), split as a pairs-file line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PairText {
    pub(crate) a: String,
    pub(crate) b: String,
}

impl<'de> Deserialize<'de> for PairText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar(d, "a pair `A:B`", |v| {
            let (a, b) = split_pair_line(v.text()?)?;
            for side in [&a, &b] {
                Source::parse(side, Some("p")).map_err(|e| e.to_string())?;
            }
            Ok(PairText { a, b })
        })
    }
}

/// A key that is written must have a value: `key: ~` is an error rather than a silent
/// "not set".
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A pair: `{ a: dev.users, b: prod.users }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PairEntry {
    pub(crate) a: Side,
    pub(crate) b: Side,
}

/// An acknowledged schema change: `path` and `change`, or for a rename `change: renamed`
/// with `from` and `to` (the old and the new path).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "AcceptText")]
pub(crate) struct AcceptEntry {
    pub(crate) pair: PairText,
    /// The change's path (a rename's new path).
    pub(crate) path: Text,
    /// A rename's old path.
    pub(crate) from: Option<Text>,
    pub(crate) change: ChangeKind,
    pub(crate) reason: Text,
}

/// An accept entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptText {
    pair: PairText,
    #[serde(default)]
    path: Option<Text>,
    #[serde(default)]
    from: Option<Text>,
    #[serde(default)]
    to: Option<Text>,
    change: ChangeKind,
    reason: Text,
}

impl TryFrom<AcceptText> for AcceptEntry {
    type Error = String;
    fn try_from(e: AcceptText) -> Result<AcceptEntry, String> {
        let renamed = e.change == ChangeKind::ColumnRenamed;
        let path = match (renamed, e.path, &e.from, e.to) {
            (true, None, Some(_), Some(to)) => to,
            (true, Some(p), Some(_), Some(to)) if p.0.eq_ignore_ascii_case(&to.0) => to,
            (true, ..) => {
                return Err(
                    "`change: renamed` takes `from` (the old path) and `to` (the new one)".into(),
                )
            }
            (false, Some(p), None, None) => p,
            (false, None, ..) => return Err("missing field `path`".into()),
            (false, ..) => return Err("`from` and `to` go with `change: renamed` only".into()),
        };
        Ok(AcceptEntry {
            pair: e.pair,
            path,
            from: if renamed { e.from } else { None },
            change: e.change,
            reason: e.reason,
        })
    }
}

/// A pair with its own key and filter: `{ a: dev.orders, b: prod.orders, key: [id] }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ComparePairEntry {
    pub(crate) a: Side,
    pub(crate) b: Side,
    #[serde(default, deserialize_with = "present")]
    pub(crate) key: Option<Names>,
    #[serde(rename = "where")]
    #[serde(default, deserialize_with = "present")]
    pub(crate) where_clause: Option<Predicate>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) partitions: Option<Partitions>,
    // The pair's own column rules and renames: the keys and values of the flags.
    #[serde(default, deserialize_with = "present")]
    pub(crate) abs_tolerance: Option<Assignments<Tolerance>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) rel_tolerance: Option<Assignments<Tolerance>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) time_tolerance: Option<Assignments<Duration>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) trim: Option<Assignments<ColumnGlob>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) ignore_case: Option<Assignments<ColumnGlob>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) null_equals_empty: Option<Assignments<ColumnGlob>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) columns_map: Option<Assignments<Rename>>,
}

impl ComparePairEntry {
    /// The pair's own rules, as the flags' text.
    fn rule_flags(&self) -> crate::checks::column_rules::RuleFlags {
        fn list<K>(a: &Option<Assignments<K>>) -> Vec<String> {
            a.as_ref().map(|a| a.items.clone()).unwrap_or_default()
        }
        crate::checks::column_rules::RuleFlags {
            abs_tolerance: list(&self.abs_tolerance),
            rel_tolerance: list(&self.rel_tolerance),
            time_tolerance: list(&self.time_tolerance),
            trim: list(&self.trim),
            ignore_case: list(&self.ignore_case),
            null_equals_empty: list(&self.null_equals_empty),
        }
    }
}

/// How one kind of pair-level assignment is checked: as its flag checks it.
pub(crate) trait AssignKind {
    /// Items are `COL=VALUE` (a map in the file), else column names (a list).
    const VALUED: bool;
    const EXPECTING: &'static str;
    fn check(item: &str) -> Result<String, String>;
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tolerance;
impl AssignKind for Tolerance {
    const VALUED: bool = true;
    const EXPECTING: &'static str = "a map of columns to tolerances, e.g. {amount: 0.01}";
    fn check(item: &str) -> Result<String, String> {
        crate::cli::values::tolerance_rule(item)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Duration;
impl AssignKind for Duration {
    const VALUED: bool = true;
    const EXPECTING: &'static str = "a map of columns to durations, e.g. {updated_at: 1s}";
    fn check(item: &str) -> Result<String, String> {
        crate::cli::values::time_rule(item)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rename;
impl AssignKind for Rename {
    const VALUED: bool = true;
    const EXPECTING: &'static str = "a map of A's column names to B's, e.g. {customer_name: name}";
    fn check(item: &str) -> Result<String, String> {
        crate::cli::values::column_map(item)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnGlob;
impl AssignKind for ColumnGlob {
    const VALUED: bool = false;
    const EXPECTING: &'static str = "a list of columns, e.g. [name, city]";
    fn check(item: &str) -> Result<String, String> {
        crate::cli::values::column_glob(item)
    }
}

/// A pair's rule list: `{amount: 0.01}` (or `[amount=0.01]`), or `[name, city]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assignments<K> {
    pub(crate) items: Vec<String>,
    kind: std::marker::PhantomData<K>,
}

impl<'de, K: AssignKind> Deserialize<'de> for Assignments<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<K>(std::marker::PhantomData<K>);
        impl<'de, K: AssignKind> de::Visitor<'de> for V<K> {
            type Value = Assignments<K>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(K::EXPECTING)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(t) = seq.next_element::<Text>()? {
                    items.push(K::check(&t.0).map_err(de::Error::custom)?);
                }
                done(items)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                // One item: `trim: name`.
                done(vec![K::check(v).map_err(E::custom)?])
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                if !K::VALUED {
                    return Err(de::Error::invalid_type(de::Unexpected::Map, &self));
                }
                let mut items = Vec::new();
                while let Some((k, v)) = map.next_entry::<Text, ScalarText>()? {
                    items.push(K::check(&format!("{}={}", k.0, v.0)).map_err(de::Error::custom)?);
                }
                done(items)
            }
        }
        fn done<K, E: de::Error>(items: Vec<String>) -> Result<Assignments<K>, E> {
            if items.is_empty() {
                return Err(E::custom("empty: leave the key out"));
            }
            Ok(Assignments {
                items,
                kind: std::marker::PhantomData,
            })
        }
        d.deserialize_any(V::<K>(std::marker::PhantomData))
    }
}

// ---------------------------------------------------------------------------------------------
// Limits and paths.

/// The largest config file read (a real one is a few kilobytes).
pub(crate) const MAX_CONFIG_BYTES: usize = 1 << 20;
/// The deepest nesting of flow collections (`[`, `{`) or indentation levels read; the
/// schema's own nesting is 4.
pub(crate) const MAX_CONFIG_DEPTH: usize = 32;

/// Refuse, before the parser sees it, a file too large or too deeply nested to be a config
/// (a PR can ship one: 100,000 nested `[` took the parser 45 s).
fn limits(shown: &str, text: &str) -> Result<(), ConfigError> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::Unplaced {
            path: shown.to_string(),
            message: format!(
                "{} bytes: a config file is at most {MAX_CONFIG_BYTES}",
                text.len()
            ),
        });
    }
    let mut depth = 0usize;
    let mut quote: Option<char>;
    for (n, line) in text.lines().enumerate() {
        let deep = |column: usize| ConfigError::Invalid {
            path: shown.to_string(),
            line: n + 1,
            column,
            message: format!("nested deeper than {MAX_CONFIG_DEPTH} levels"),
        };
        if depth == 0 {
            let indent = line.len() - line.trim_start_matches([' ', '-']).len();
            if indent > 2 * MAX_CONFIG_DEPTH {
                return Err(deep(indent + 1));
            }
        }
        // A quote opens a quoted scalar only where a value starts (an apostrophe inside a
        // plain scalar, `it's`, opens nothing); a quoted scalar is taken to end with its line.
        quote = None;
        let mut prev = ' ';
        for (col, c) in line.chars().enumerate() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') if matches!(prev, ' ' | '\t' | ':' | '-' | '[' | '{' | ',') => {
                    quote = Some(c)
                }
                (None, '#') if matches!(prev, ' ' | '\t') => break,
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > MAX_CONFIG_DEPTH {
                        return Err(deep(col + 1));
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
            prev = c;
        }
    }
    Ok(())
}

fn rebase_path(base: &Path, p: &mut PathBuf) {
    if p.is_relative() && !base.as_os_str().is_empty() {
        *p = base.join(&*p);
    }
}

fn rebase_side(base: &Path, s: &mut Side) {
    // Only schema files are paths; a table reference stays as it is.
    if let Ok(Source::SchemaFile(p)) = Source::parse(&s.0, Some("p")) {
        if p.is_relative() && !base.as_os_str().is_empty() {
            s.0 = base.join(p).display().to_string();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the file adds that has no flag.

/// What the file adds that has no flag: its pairs or tables (used when the command line
/// names none), per-pair options, and accept entries.
#[derive(Debug, Clone, Default)]
pub(crate) struct FromFile {
    /// The file, for messages (`None`: no config file).
    pub(crate) path: Option<PathBuf>,
    pub(crate) pairs: Vec<ComparePairEntry>,
    pub(crate) pairs_file: Option<PathBuf>,
    pub(crate) tables: Vec<String>,
    pub(crate) accept: Vec<AcceptEntry>,
}

/// Per-pair options from the file (table-compare).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PairOptions {
    pub(crate) key: Option<Vec<String>>,
    /// Where `key` came from when not the config file (`dbt: unique test`).
    pub(crate) key_source: Option<String>,
    pub(crate) where_clause: Option<String>,
    pub(crate) partitions: Option<String>,
    /// The pair's own column rules and renames (`--abs-tolerance`'s text, ...).
    pub(crate) rules: crate::checks::column_rules::RuleFlags,
    pub(crate) map: Vec<String>,
}

impl FromFile {
    fn origin(&self, what: &str) -> String {
        match &self.path {
            Some(p) => format!("{} ({what})", p.display()),
            None => what.to_string(),
        }
    }

    /// Does the file name any pair (or table)?
    pub(crate) fn names_items(&self) -> bool {
        !self.pairs.is_empty() || self.pairs_file.is_some() || !self.tables.is_empty()
    }

    /// The file's pairs, resolved with the default project, each with its own options.
    pub(crate) fn pairs(
        &self,
        section: &str,
        default_project: Option<&str>,
    ) -> Result<Vec<(Pair, PairOptions)>, Vec<String>> {
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for (i, e) in self.pairs.iter().enumerate() {
            let side = |s: &Side| {
                Source::parse(&s.0, default_project).map_err(|err| {
                    format!("{}: {err}", self.origin(&format!("{section}.pairs[{i}]")))
                })
            };
            match (side(&e.a), side(&e.b)) {
                (Ok(a), Ok(b)) => {
                    let pair = Pair { a, b };
                    let options = PairOptions {
                        key: e.key.as_ref().map(|k| k.0.clone()),
                        key_source: None,
                        where_clause: e.where_clause.as_ref().map(|w| w.0.clone()),
                        partitions: e.partitions.as_ref().map(|p| p.0.trim().to_string()),
                        rules: e.rule_flags(),
                        map: e
                            .columns_map
                            .as_ref()
                            .map(|m| m.items.clone())
                            .unwrap_or_default(),
                    };
                    // One pair, one set of options: which would a run use?
                    if out.iter().any(|(p, o)| *p == pair && *o != options) {
                        errors.push(format!(
                            "{}: {pair} is listed twice with different options",
                            self.origin(&format!("{section}.pairs[{i}]"))
                        ));
                    }
                    out.push((pair, options));
                }
                (Err(x), _) | (_, Err(x)) => errors.push(x),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// The accept entries, resolved with the default project.
    pub(crate) fn accept_rules(
        &self,
        default_project: Option<&str>,
    ) -> Result<Vec<AcceptRule>, String> {
        self.accept
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let side = |s: &str| {
                    Source::parse(s, default_project).map_err(|err| {
                        format!(
                            "{}: {err}",
                            self.origin(&format!("schema_diff.accept[{i}]"))
                        )
                    })
                };
                Ok(AcceptRule {
                    pair: Pair {
                        a: side(&e.pair.a)?,
                        b: side(&e.pair.b)?,
                    },
                    path: e.path.0.clone(),
                    from: e.from.as_ref().map(|f| f.0.clone()),
                    kind: e.change,
                    reason: e.reason.0.clone(),
                })
            })
            .collect()
    }

    /// How a stale accept entry is named in a warning.
    pub(crate) fn describe_accept(&self, i: usize) -> String {
        let e = &self.accept[i.min(self.accept.len().saturating_sub(1))];
        let change = serde_json::to_value(e.change)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        format!(
            "{}: {}:{} {} {change}",
            self.origin(&format!("schema_diff.accept[{i}]")),
            e.pair.a,
            e.pair.b,
            e.path.0,
        )
    }
}

/// Was this argument given on the command line (or by the environment), not defaulted?
pub(crate) fn given(m: &ArgMatches, id: &str) -> bool {
    matches!(
        m.try_get_raw(id).ok().and_then(|_| m.value_source(id)),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{CompareFailOn, ProfileArgs, SchemaDiffArgs, SchemaFailOn, TableCompareArgs};
    use crate::report::Format;
    use clap::{CommandFactory, FromArgMatches};

    fn schema() -> Schema {
        crate::app::schema()
    }

    const FULL: &str = r#"
parallel: 8
max_parallel: 16
timeout: 15m
verbose: true
format: json
project: acme-data
cache_dir: cache
report_junit: out/report.xml
schema_diff:
  fail_on: breaking
  include_table_options: true
  pairs:
    - { a: dev.users, b: prod.users }
    - { a: schemas/orders.json, b: prod.orders }
  accept:
    - { pair: "dev.users:prod.users", path: legacy_flag, change: removed, reason: "dropped in #123" }
table_compare:
  fail_on: never
  tolerance: 0.001
  sample_size: 5
  exclude_columns: [updated_at]
  where: "dt >= '2026-01-01'"
  max_bytes_billed: 1000000000
  pairs: [ { a: dev.orders, b: prod.orders, key: [id], where: "placed >= '2026-01-01'", partitions: "since:7d" } ]
profile:
  tables: [ prod.customers ]
  anomalies: { null_rate: 0.2, stale_after: 7d, outlier_iqr: 2 }
  drift: { rows: 0.05, null_rate: 0.1, distinct: 0.3, mean_stddevs: 4 }
"#;

    fn err(text: &str) -> String {
        parse(Path::new("cfg/.bqcheck.yml"), text, &schema())
            .expect_err("must be refused")
            .to_string()
    }

    #[test]
    fn files_too_large_or_too_deep_are_refused_before_parsing() {
        let deep = format!("table_compare:\n  exclude_columns: {}", "[".repeat(100_000));
        assert_eq!(
            err(&deep),
            "cfg/.bqcheck.yml:2:52: nested deeper than 32 levels"
        );
        let mut indented = String::new();
        for i in 0..200 {
            indented.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
        }
        assert!(err(&indented).contains("nested deeper than 32 levels"));
        let big = format!("# {}\nparallel: 2\n", "x".repeat(MAX_CONFIG_BYTES));
        assert!(
            err(&big).contains("a config file is at most"),
            "{}",
            err(&big)
        );
        // Quotes and apostrophes do not hide or invent nesting.
        assert!(parse(Path::new("c"), FULL, &schema()).is_ok());
        let fine = "schema_diff:\n  accept:\n    - { pair: \"a.b:c.d\", path: x, change: removed, reason: \"it's [[[[ fine\" }\n";
        assert!(
            parse(Path::new("c"), fine, &schema()).is_ok(),
            "{:?}",
            parse(Path::new("c"), fine, &schema()).err()
        );
        let hidden = format!(
            "table_compare:\n  exclude_columns: [a, it's, {}",
            "[".repeat(1000)
        );
        assert!(err(&hidden).contains("nested deeper"), "{}", err(&hidden));
    }

    fn loaded(text: &str) -> Config {
        parse(Path::new(".bqcheck.yml"), text, &schema()).unwrap()
    }

    /// A command line with the file applied as a run applies it: the typed arguments and
    /// what the file lists.
    fn parsed<T: CommandFactory + FromArgMatches>(
        file: &Config,
        section: &str,
        argv: &[&str],
    ) -> (T, FromFile) {
        let first = T::command().try_get_matches_from(argv).unwrap();
        let mut full: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let added = file.arguments(section, &|id| given(&first, id));
        full.splice(1..1, added);
        let m = T::command().try_get_matches_from(full).unwrap();
        (
            T::from_arg_matches(&m).unwrap(),
            file.items(section, &first),
        )
    }

    fn setting<'c>(c: &'c Config, key: &str) -> Option<&'c str> {
        c.common
            .iter()
            .chain(c.sections.iter().flat_map(|s| s.settings.iter()))
            .find(|s| s.key == key)
            .map(|s| s.value.as_str())
    }

    #[test]
    fn every_section_is_read() {
        let c = parse(Path::new("x.yml"), FULL, &schema()).unwrap();
        assert_eq!(setting(&c, "parallel"), Some("8"));
        assert_eq!(setting(&c, "timeout"), Some("15m"));
        assert_eq!(setting(&c, "format"), Some("json"));
        let sd = c.section("schema_diff").unwrap();
        assert_eq!(setting(&c, "schema_diff.fail_on"), Some("breaking"));
        assert_eq!(sd.pairs.len(), 2);
        assert_eq!(sd.accept[0].change, ChangeKind::ColumnRemoved);
        assert_eq!(sd.accept[0].reason.0, "dropped in #123");
        let tc = c.section("table_compare").unwrap();
        let p = &tc.pairs[0];
        assert_eq!(p.key, Some(Names(vec!["id".to_string()])));
        assert_eq!(p.where_clause.as_ref().unwrap().0, "placed >= '2026-01-01'");
        assert_eq!(p.partitions, Some(Partitions("since:7d".into())));
        assert_eq!(setting(&c, "profile.anomalies.stale_after"), Some("7d"));
        assert_eq!(setting(&c, "profile.anomalies.null_rate"), Some("0.2"));
        assert_eq!(setting(&c, "profile.drift.mean_stddevs"), Some("4"));
        assert_eq!(
            setting(&c, "profile.anomalies"),
            Some("true"),
            "an anomalies group turns detection on"
        );
    }

    #[test]
    fn errors_name_file_line_and_column() {
        // A typo in a key.
        let e = err("schema_diff:\n  fail_onn: breaking\n");
        assert!(e.starts_with("cfg/.bqcheck.yml:2:3: "), "{e}");
        assert!(e.contains("unknown field `fail_onn`"), "{e}");
        // A wrong type.
        let e = err("parallel: eight\n");
        assert!(e.starts_with("cfg/.bqcheck.yml:1:11: "), "{e}");
        // Bad values, each refused where it stands.
        for (text, line, col, what) in [
            ("parallel: 0\n", 1, 11, "out of range"),
            ("project: x\ntimeout: 10 parsecs\n", 2, 10, "unknown unit"),
            ("schema_diff:\n  fail_on: breakin\n", 2, 12, "`breakin` is not one of any, breaking, never"),
            ("format: yaml\n", 1, 9, "not one of text, json, junit, markdown"),
            ("table_compare:\n  tolerance: -1\n", 2, 14, "at least 0"),
            ("profile:\n  anomalies: { null_rate: 1.5 }\n", 2, 27, "not a rate"),
            ("profile:\n  anomalies:\n    stale_after: soon\n", 3, 18, "not a duration"),
            ("profile:\n  tables: [ 'prod..x' ]\n", 2, 13, "prod..x"),
            ("table_compare:\n  where: \"1=1; DELETE FROM t\"\n", 2, 10, ";"),
            ("table_compare:\n  partitions: last week\n", 2, 15, "since:7d"),
            ("table_compare:\n  pairs:\n    - { a: d.a, b: p.a, partitions: \"2026-02-30..2026-03-01\" }\n", 3, 37, "is not a date"),
            ("schema_diff:\n  pairs:\n    - { a: dev.users }\n", 3, 7, "missing field `b`"),
            ("schema_diff:\n  accept:\n    - { pair: \"dev.users:prod.users\", path: x, change: dropped, reason: r }\n", 3, 56, "unknown variant `dropped`"),
            ("schema_diff:\n  accept:\n    - { pair: \"dev.users:prod.users\", path: x, change: removed }\n", 3, 7, "missing field `reason`"),
            ("schema_diff:\n  accept:\n    - { pair: \"dev.users:prod.users\", change: renamed, to: b, reason: r }\n", 3, 5, "`change: renamed` takes `from`"),
            ("schema_diff:\n  accept:\n    - { pair: \"dev.users:prod.users\", path: x, from: a, change: removed, reason: r }\n", 3, 5, "`from` and `to` go with `change: renamed` only"),
            ("schema_diff:\n  accept:\n    - { pair: \"dev.users:prod.users\", change: removed, reason: r }\n", 3, 5, "missing field `path`"),
            ("schema_diff:\n  accept:\n    - { pair: \"dev.users\", path: x, change: removed, reason: r }\n", 3, 15, "dev.users"),
            ("parallel: 1\nparallel: 2\n", 1, 1, "duplicate field `parallel`"),
            ("parallel: ~\n", 1, 11, "invalid type"),
            ("table_compare:\n  key: []\n", 2, 8, "an empty list"),
            ("table_compare:\n  columns: [id, \"\"]\n", 2, 17, "must not be empty"),
            ("project: x\nschema_diff:\n  fail_on:\n", 3, 11, "invalid type"),
        ] {
            let e = err(text);
            assert!(
                e.starts_with(&format!("cfg/.bqcheck.yml:{line}:{col}: ")) && e.contains(what),
                "{text:?} gave {e}"
            );
        }
        // Not a map at all.
        let e = err("- a\n- b\n");
        assert!(e.starts_with("cfg/.bqcheck.yml:"), "{e}");
    }

    #[test]
    fn what_the_file_says_is_quoted_escaped() {
        let e = err("schema_diff:\n  \"fail\\e[31m\\n::error::x\": any\n");
        assert!(
            e.contains("unknown field `fail\\u{1b}[31m\\n::error::x`"),
            "{e}"
        );
        assert!(!e.contains('\u{1b}') && !e.contains('\n'), "{e}");
        let e = err("format: \"json\\e]8;;x\"\n");
        assert!(!e.contains('\u{1b}'), "{e}");
    }

    #[test]
    fn an_empty_section_is_present_and_empty() {
        // As `anomalies: {}`: detection on, default thresholds (never silently off).
        let l = loaded("profile:\n  anomalies:\n  #  null_rate: 0.2\n");
        let (p, _) = parsed::<ProfileArgs>(&l, "profile", &["bq-profile"]);
        assert!(p.detect_anomalies);
        assert_eq!(p.null_rate_threshold, 0.5);
    }

    #[test]
    fn an_empty_file_is_an_empty_config() {
        let c = parse(Path::new("x"), "# nothing yet\n\n", &schema()).unwrap();
        assert!(c.common.is_empty() && c.sections.is_empty());
    }

    #[test]
    fn column_rules_as_maps_lists_and_per_pair() {
        let text = "table_compare:\n  abs_tolerance: {amount: 0.01, \"*_usd\": 1}\n  time_tolerance: [updated_at=1s]\n  columns_map: {customer_name: name}\n  trim: [city]\n  pairs:\n    - a: dev.c\n      b: prod.c\n      rel_tolerance: {price: 1e-6}\n      ignore_case: [email]\n      columns_map: {addr: address}\n";
        let l = loaded(text);
        let (t, file) = parsed::<TableCompareArgs>(&l, "table_compare", &["bq-table-compare"]);
        assert_eq!(t.abs_tolerance, ["amount=0.01", "*_usd=1"]);
        assert_eq!(t.time_tolerance, ["updated_at=1s"]);
        assert_eq!(t.map, ["customer_name=name"]);
        assert_eq!(t.trim, ["city"]);
        let pairs = file.pairs("table_compare", Some("p")).unwrap();
        let own = &pairs[0].1;
        assert_eq!(own.rules.rel_tolerance, ["price=0.000001"]);
        assert_eq!(own.rules.ignore_case, ["email"]);
        assert_eq!(own.map, ["addr=address"]);
        // A rule flag on the command line replaces the pairs' own of its kind only.
        let (_, file) = parsed::<TableCompareArgs>(
            &l,
            "table_compare",
            &[
                "bq-table-compare",
                "--rel-tolerance",
                "price=0.1",
                "--map",
                "a=b",
            ],
        );
        let own = &file.pairs("table_compare", Some("p")).unwrap()[0].1;
        assert!(own.rules.rel_tolerance.is_empty() && own.map.is_empty());
        assert_eq!(own.rules.ignore_case, ["email"]);
        // Bad values are refused where they stand, as the flags refuse them.
        for (bad, line, col, says) in [
            (
                "table_compare:\n  abs_tolerance: {amount: -1}\n",
                2,
                18,
                "tolerance",
            ),
            (
                "table_compare:\n  time_tolerance: {at: 1y}\n",
                2,
                19,
                "not a duration",
            ),
            (
                "table_compare:\n  columns_map: {\"a`b\": c}\n",
                2,
                16,
                "cannot hold",
            ),
            (
                "table_compare:\n  pairs:\n    - {a: d.a, b: d.b, abs_tolerance: {x: nope}}\n",
                3,
                42,
                "not a tolerance",
            ),
            (
                "table_compare:\n  pairs:\n    - {a: d.a, b: d.b, trim: {x: 1}}\n",
                3,
                33,
                "a list of columns",
            ),
            (
                "table_compare:\n  pairs:\n    - {a: d.a, b: d.b, columns_map: {a: \"b*\"}}\n",
                3,
                40,
                "not globs",
            ),
            ("table_compare:\n  key: {id: x}\n", 2, 8, "a list"),
        ] {
            let e = err(bad);
            assert!(
                e.starts_with(&format!("cfg/.bqcheck.yml:{line}:")) && e.contains(says),
                "{bad}: {e} (expected line {line}, column near {col})"
            );
        }
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let l = loaded(FULL);
        // Nothing on the command line: the file's values.
        let (a, a_file) = parsed::<SchemaDiffArgs>(&l, "schema_diff", &["bq-schema-diff"]);
        assert_eq!(a.common.parallel, 8);
        assert_eq!(a.common.timeout, 900);
        assert!(a.common.verbose);
        assert_eq!(a.common.format, Format::Json);
        assert_eq!(a.common.project.as_deref(), Some("acme-data"));
        assert_eq!(a.fail_on, SchemaFailOn::Breaking);
        assert!(a.include_table_options);
        assert_eq!(a_file.pairs.len(), 2);
        assert_eq!(a_file.accept.len(), 1);
        // Flags win, even when they name the default value.
        let (a, a_file) = parsed::<SchemaDiffArgs>(
            &l,
            "schema_diff",
            &[
                "bq-schema-diff",
                "--parallel=4",
                "--fail-on=any",
                "--format",
                "text",
                "--project=other",
                "dev.a:prod.a",
            ],
        );
        assert_eq!(a.common.parallel, 4);
        assert_eq!(a.fail_on, SchemaFailOn::Any);
        assert_eq!(a.common.format, Format::Text);
        assert_eq!(a.common.project.as_deref(), Some("other"));
        // Pairs on the command line replace the file's; accept entries still apply.
        assert!(a_file.pairs.is_empty());
        assert_eq!(a_file.accept.len(), 1);

        let (t, t_file) = parsed::<TableCompareArgs>(
            &l,
            "table_compare",
            &["bq-table-compare", "--tolerance=0.5"],
        );
        assert_eq!(t.tolerance, 0.5);
        assert_eq!(t.fail_on, CompareFailOn::Never);
        assert_eq!(t.sample_size, 5);
        assert_eq!(t.exclude_columns, ["updated_at"]);
        assert_eq!(t.query.where_clause.as_deref(), Some("dt >= '2026-01-01'"));
        assert_eq!(t.query.max_bytes_billed, Some(1_000_000_000));
        let pairs = t_file.pairs("table_compare", Some("acme")).unwrap();
        assert_eq!(pairs[0].0.to_string(), "acme.dev.orders ↔ acme.prod.orders");
        assert_eq!(pairs[0].1.key.as_deref(), Some(&["id".to_string()][..]));

        // An on/off setting of the file is turned off by `--flag=false`.
        let on = loaded("verbose: true\ntable_compare:\n  skip_stats: true\n");
        let (t, _) = parsed::<TableCompareArgs>(&on, "table_compare", &["bq-table-compare"]);
        assert!(t.skip_stats && t.common.verbose);
        let (t, _) = parsed::<TableCompareArgs>(
            &on,
            "table_compare",
            &["bq-table-compare", "--skip-stats=false", "-v=false"],
        );
        assert!(!t.skip_stats && !t.common.verbose);

        // A flag wins over a pair's own key and filter too.
        let (t, t_file) = parsed::<TableCompareArgs>(
            &l,
            "table_compare",
            &["bq-table-compare", "--where", "dt >= '2026-02-01'"],
        );
        let pairs = t_file.pairs("table_compare", Some("acme")).unwrap();
        assert_eq!(pairs[0].1.where_clause, None, "--where replaces the pair's");
        assert_eq!(pairs[0].1.key.as_deref(), Some(&["id".to_string()][..]));
        assert_eq!(t.query.where_clause.as_deref(), Some("dt >= '2026-02-01'"));

        let (p, p_file) = parsed::<ProfileArgs>(&l, "profile", &["bq-profile", "--stale-after=1"]);
        assert!(
            p.detect_anomalies,
            "an anomalies section turns detection on"
        );
        assert_eq!(p.stale_after, 1.0, "the flag wins");
        assert_eq!(p.null_rate_threshold, 0.2);
        assert_eq!(p.outlier_iqr, 2.0);
        assert_eq!(p.drift_rows, 0.05);
        assert_eq!(p_file.tables, ["prod.customers"]);
        let (_, p_file) = parsed::<ProfileArgs>(&l, "profile", &["bq-profile", "prod.other"]);
        assert!(
            p_file.tables.is_empty(),
            "tables on the command line replace the file's"
        );
    }

    #[test]
    fn relative_paths_are_relative_to_the_file() {
        let mut c = parse(Path::new("x"), FULL, &schema()).unwrap();
        c.rebase(Path::new("repo/ci"));
        assert_eq!(setting(&c, "cache_dir"), Some("repo/ci/cache"));
        assert_eq!(setting(&c, "report_junit"), Some("repo/ci/out/report.xml"));
        let sd = c.section("schema_diff").unwrap();
        let pairs = &sd.pairs;
        assert_eq!(pairs[1].a.0, "repo/ci/schemas/orders.json");
        assert_eq!(pairs[0].a.0, "dev.users", "tables are not paths");
        assert_eq!(sd.accept[0].pair.a, "dev.users");
    }

    #[test]
    fn accept_rules_resolve_with_the_default_project() {
        let l = loaded(FULL);
        let (_, a_file) = parsed::<SchemaDiffArgs>(&l, "schema_diff", &["bq-schema-diff"]);
        let rules = a_file.accept_rules(Some("acme")).unwrap();
        assert_eq!(
            rules[0].pair.to_string(),
            "acme.dev.users ↔ acme.prod.users"
        );
        assert_eq!(rules[0].path, "legacy_flag");
        let e = a_file.accept_rules(None).unwrap_err();
        assert!(
            e.starts_with(".bqcheck.yml (schema_diff.accept[0]): `dev.users`"),
            "{e}"
        );
    }

    #[test]
    fn durations() {
        use crate::cli::values::{days, duration_seconds, seconds};
        assert_eq!(duration_seconds("90s", 1.0), Ok(90.0));
        assert_eq!(duration_seconds("2w", 1.0), Ok(14.0 * 86_400.0));
        assert_eq!(duration_seconds("1.5h", 1.0), Ok(5400.0));
        assert!(duration_seconds("-1d", 1.0).is_err());
        assert!(duration_seconds("d", 1.0).is_err());
        // The flags take the same: `--timeout 15m`, `--stale-after 12h`.
        assert_eq!(seconds("15m"), Ok(900));
        assert_eq!(seconds("900"), Ok(900));
        assert_eq!(days("12h"), Ok(0.5));
        assert_eq!(days("7"), Ok(7.0));
    }
}
