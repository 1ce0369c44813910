//! `bqcheck config check`: validate a settings file and print what each command would run
//! with (the defaults with the file applied).

use std::path::Path;

use clap::FromArgMatches;
use serde_json::{json, Map, Value};

use crate::cli::CommonArgs;
use crate::commands::CHECKS;
use crate::config::{self, Config, FromFile, Items};
use crate::report::ExitStatus;

/// Check the file; print the effective settings on stdout. Returns the exit status.
pub(crate) fn check(explicit: Option<&Path>) -> ExitStatus {
    let loaded = match config::load(explicit, &super::schema()) {
        Ok(Some(l)) => l,
        Ok(None) => {
            eprintln!(
                "error: no {} in the working directory (or pass --config FILE)",
                config::DEFAULT_FILE
            );
            return ExitStatus::Trouble;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitStatus::Trouble;
        }
    };
    match effective(&loaded) {
        Ok(v) => match serde_yaml_ng::to_string(&v) {
            Ok(yaml) => {
                println!(
                    "# {} is valid. Effective settings: the defaults with the file applied;\n# flags given on a command line still win.",
                    loaded.path.display()
                );
                print!("{yaml}");
                ExitStatus::Clean
            }
            Err(e) => {
                eprintln!("error: cannot show the settings: {e}");
                ExitStatus::Trouble
            }
        },
        Err(e) => {
            eprintln!("error: {e}");
            ExitStatus::Trouble
        }
    }
}

fn items(f: &FromFile, section: &mut Map<String, Value>, with_options: bool) {
    if let Some(p) = &f.pairs_file {
        section.insert("pairs_file".into(), json!(p.display().to_string()));
    }
    if !f.pairs.is_empty() {
        let pairs: Vec<Value> = f
            .pairs
            .iter()
            .map(|p| {
                let mut o = json!({"a": p.a.0, "b": p.b.0});
                if with_options {
                    if let Some(k) = &p.key {
                        o["key"] = json!(k.0);
                    }
                    if let Some(w) = &p.where_clause {
                        o["where"] = json!(w.0);
                    }
                    if let Some(x) = &p.partitions {
                        o["partitions"] = json!(x.0);
                    }
                }
                o
            })
            .collect();
        section.insert("pairs".into(), Value::Array(pairs));
    }
    if !f.tables.is_empty() {
        section.insert("tables".into(), json!(f.tables));
    }
    if !f.accept.is_empty() {
        let accept: Vec<Value> = f
            .accept
            .iter()
            .map(|e| {
                json!({
                    "pair": format!("{}:{}", e.pair.a, e.pair.b),
                    "path": e.path.0,
                    "change": e.change,
                    "reason": e.reason.0,
                })
            })
            .collect();
        section.insert("accept".into(), Value::Array(accept));
    }
}

fn section(args: &Value) -> Result<Map<String, Value>, String> {
    match args.clone() {
        Value::Object(mut m) => {
            // Where the settings came from is not a setting; unset ones are noise.
            for (id, _) in crate::cli::NOT_IN_CONFIG {
                m.remove(*id);
            }
            m.retain(|_, v| !v.is_null());
            Ok(m)
        }
        _ => Err("settings are not a map".into()),
    }
}

/// Each command's settings: its defaults (as parsed from an empty command line), with the file
/// applied exactly as a run applies it.
fn effective(file: &Config) -> Result<Value, String> {
    let mut out = Map::new();
    for check in CHECKS {
        let name = check.command().get_name().to_string();
        let argv = std::iter::once(name)
            .chain(file.arguments(check.section(), &|_| false))
            .collect::<Vec<_>>();
        let m = check
            .command()
            .try_get_matches_from(argv)
            .map_err(|e| format!("{}: {}", file.path.display(), e.render().to_string().trim()))?;
        // The items as a run with no flags takes them: the file's own section-level `key`,
        // `where` or `partitions` are settings, not flags, and leave each pair's own in place.
        let bare = check
            .command()
            .try_get_matches_from([check.command().get_name().to_string()])
            .map_err(|e| e.render().to_string())?;
        let items_of = file.items(check.section(), &bare);
        // Accept entries must resolve, as a run resolves them.
        if !items_of.accept.is_empty() {
            let common = CommonArgs::from_arg_matches(&m).map_err(|e| e.to_string())?;
            let project = crate::commands::default_project(&common);
            items_of.accept_rules(project.as_deref())?;
        }
        let mut s = section(&check.settings(&m).map_err(|e| e.to_string())?)?;
        items(
            &items_of,
            &mut s,
            matches!(check.items(), Items::Pairs { per_pair: true, .. }),
        );
        out.insert(check.section().into(), Value::Object(s));
    }
    Ok(Value::Object(out))
}
