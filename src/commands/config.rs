//! `bqcheck config check`: validate a settings file and print what each command would run
//! with (the defaults with the file applied).

use std::path::Path;

use clap::{CommandFactory, FromArgMatches};
use serde_json::{json, Map, Value};

use crate::cli::{ProfileArgs, SchemaDiffArgs, TableCompareArgs};
use crate::config::{self, FromFile, Loaded};

/// Check the file; print the effective settings on stdout. Returns the exit status.
pub fn check(explicit: Option<&Path>) -> u8 {
    let loaded = match config::load(explicit) {
        Ok(Some(l)) => l,
        Ok(None) => {
            eprintln!(
                "error: no {} in the working directory (or pass --config FILE)",
                config::DEFAULT_FILE
            );
            return 2;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
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
                0
            }
            Err(e) => {
                eprintln!("error: cannot show the settings: {e}");
                2
            }
        },
        Err(e) => {
            eprintln!("error: {e}");
            2
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

fn section<T: serde::Serialize>(args: &T) -> Result<Map<String, Value>, String> {
    match serde_json::to_value(args).map_err(|e| e.to_string())? {
        Value::Object(mut m) => {
            // Where the settings came from is not a setting; unset ones are noise.
            m.remove("config");
            m.retain(|_, v| !v.is_null());
            Ok(m)
        }
        _ => Err("settings are not a map".into()),
    }
}

/// Each command's settings: its defaults (as parsed from an empty command line), with the file
/// applied exactly as a run applies it.
fn effective(l: &Loaded) -> Result<Value, String> {
    fn defaults<T: CommandFactory + FromArgMatches>(
        bin: &str,
    ) -> Result<(T, clap::ArgMatches), String> {
        let m = T::command()
            .try_get_matches_from([bin])
            .map_err(|e| e.to_string())?;
        let a = T::from_arg_matches(&m).map_err(|e| e.to_string())?;
        Ok((a, m))
    }
    let mut out = Map::new();
    let (mut sd, m) = defaults::<SchemaDiffArgs>("bq-schema-diff")?;
    l.apply_schema_diff(&m, &mut sd);
    // Accept entries must resolve, as a run resolves them.
    let project = super::default_project(&sd.common);
    sd.from_file.accept_rules(project.as_deref())?;
    let mut s = section(&sd)?;
    items(&sd.from_file, &mut s, false);
    out.insert("schema_diff".into(), Value::Object(s));

    let (mut tc, m) = defaults::<TableCompareArgs>("bq-table-compare")?;
    l.apply_table_compare(&m, &mut tc);
    let mut s = section(&tc)?;
    items(&tc.from_file, &mut s, true);
    out.insert("table_compare".into(), Value::Object(s));

    let (mut pr, m) = defaults::<ProfileArgs>("bq-profile")?;
    l.apply_profile(&m, &mut pr);
    let mut s = section(&pr)?;
    items(&pr.from_file, &mut s, false);
    out.insert("profile".into(), Value::Object(s));
    Ok(Value::Object(out))
}
