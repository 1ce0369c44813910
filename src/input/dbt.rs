//! `--dbt-manifest`: pairs from a dbt project's `manifest.json` (schema v10–v12), read as
//! JSON (no dbt installation). Each selected model's CI relation (`database.schema.alias`) is
//! paired with its prod relation: the `--dbt-state` manifest's node, or `--dbt-target-dataset`
//! with the model's custom schema suffix (dbt's default `generate_schema_name`). Keys come
//! from `primary_key` and `unique` constraints, `unique` tests and an incremental model's
//! `unique_key`. Pure: the caller reads the files.

use serde_json::Value;

use crate::input::datasets::glob;
use crate::model::{DatasetRef, OnlyIn, Pair, Source, TableRef};
use crate::report::one_line;

/// A key's columns, and where the manifest names it (`unique test`).
pub(crate) type Key = (Vec<String>, String);

/// A model as the pairing needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Model {
    /// `model.shop.orders`.
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) materialized: String,
    /// `database`, `schema`, `alias`, as the manifest has them.
    pub(crate) database: String,
    pub(crate) schema: String,
    pub(crate) alias: String,
    /// `config.schema`: the custom schema, if any (`finance` in `ci_pr_42_finance`).
    pub(crate) custom_schema: Option<String>,
    pub(crate) checksum: String,
    /// The key for the row diff; `None` when the manifest names none.
    pub(crate) key: Option<Key>,
}

/// A manifest's models, by id.
#[derive(Debug, Clone, Default)]
pub(crate) struct Manifest {
    pub(crate) origin: String,
    pub(crate) models: Vec<Model>,
}

/// What `--dbt-*` selects and maps.
#[derive(Debug, Clone, Default)]
pub(crate) struct DbtOptions {
    /// `--dbt-select`: model names or globs on them; empty: every model.
    pub(crate) select: Vec<String>,
    /// `--dbt-views`: views too.
    pub(crate) views: bool,
    /// `--dbt-target-dataset`: prod's dataset for models without a custom schema.
    pub(crate) target: Option<DatasetRef>,
}

/// The pairs a manifest gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DbtPairs {
    /// A model's CI relation ↔ its prod relation, with its key and where the manifest names
    /// it (`unique test`), if it does.
    pub(crate) pairs: Vec<(Pair, Option<Key>)>,
    /// Models new in CI (not in the state manifest): only in A.
    pub(crate) one_sided: Vec<(Pair, OnlyIn)>,
    /// What was selected and left out, for stderr.
    pub(crate) notes: Vec<String>,
    /// With a state: selected models whose checksum did not change (not compared).
    pub(crate) unchanged: usize,
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The strings of a JSON array (none if it is not one).
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// A plain column name (a `unique` test may name an expression such as `lower(email)`).
fn plain_column(c: &str) -> bool {
    !c.is_empty() && c.chars().all(|ch| ch.is_alphanumeric() || ch == '_')
}

/// Read a manifest's JSON text (`origin`: its path, for messages).
pub(crate) fn parse_manifest(origin: &str, text_: &str) -> Result<Manifest, String> {
    let v: Value = serde_json::from_str(text_).map_err(|e| format!("{origin}: not JSON: {e}"))?;
    let version = v
        .pointer("/metadata/dbt_schema_version")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{origin}: not a dbt manifest (no metadata.dbt_schema_version)"))?;
    let n: u32 = version
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_prefix('v'))
        .and_then(|f| f.strip_suffix(".json"))
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| {
            format!(
                "{origin}: unknown dbt_schema_version `{}`",
                one_line(version)
            )
        })?;
    if !(10..=12).contains(&n) {
        return Err(format!(
            "{origin}: manifest schema v{n} is not supported: use a manifest of dbt 1.6 or later (v10–v12)"
        ));
    }
    let nodes = v
        .get("nodes")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{origin}: no `nodes`"))?;
    // Keys from tests: model id → columns of its `unique` (or unique-combination) tests.
    let mut tested: std::collections::HashMap<&str, Vec<Vec<String>>> = Default::default();
    for node in nodes.values() {
        if text(node, "resource_type") != Some("test") {
            continue;
        }
        let Some(meta) = node.get("test_metadata") else {
            continue;
        };
        let Some(model) = text(node, "attached_node").or_else(|| {
            node.pointer("/depends_on/nodes/0")
                .and_then(Value::as_str)
                .filter(|_| {
                    node.pointer("/depends_on/nodes")
                        .and_then(Value::as_array)
                        .is_some_and(|a| a.len() == 1)
                })
        }) else {
            continue;
        };
        let cols: Vec<String> = match text(meta, "name") {
            Some("unique") => text(&meta["kwargs"], "column_name")
                .map(|c| vec![c.to_string()])
                .unwrap_or_default(),
            Some("unique_combination_of_columns") => {
                strings(&meta["kwargs"]["combination_of_columns"])
            }
            _ => Vec::new(),
        };
        if !cols.is_empty() && cols.iter().all(|c| plain_column(c)) {
            tested.entry(model).or_default().push(cols);
        }
    }
    let mut models = Vec::new();
    for (id, node) in nodes {
        if text(node, "resource_type") != Some("model") {
            continue;
        }
        let field = |k: &str| text(node, k).unwrap_or_default().to_string();
        let config = &node["config"];
        let constraint_cols = |c: &Value, want: &str| -> Option<Vec<String>> {
            (text(c, "type") == Some(want)).then(|| strings(&c["columns"]))
        };
        let model_level = |want: &str| {
            node["constraints"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|c| constraint_cols(c, want).filter(|v| !v.is_empty()))
        };
        let column_level = |want: &str| {
            let cols: Vec<String> = node["columns"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, c)| {
                    c["constraints"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| text(x, "type") == Some(want)))
                })
                .map(|(name, c)| text(c, "name").unwrap_or(name).to_string())
                .collect();
            (!cols.is_empty()).then_some(cols)
        };
        let unique_key = match &config["unique_key"] {
            Value::String(s) => Some(vec![s.clone()]),
            // A list with anything but names is no key at all (a shorter one would misreport
            // duplicates).
            Value::Array(a) => a
                .iter()
                .map(|v| v.as_str().map(String::from))
                .collect::<Option<Vec<String>>>(),
            _ => None,
        };
        let key = model_level("primary_key")
            .map(|k| (k, "primary_key constraint"))
            .or_else(|| column_level("primary_key").map(|k| (k, "primary_key constraint")))
            .or_else(|| model_level("unique").map(|k| (k, "unique constraint")))
            .or_else(|| column_level("unique").map(|k| (k, "unique constraint")))
            .or_else(|| {
                tested
                    .get(id.as_str())
                    .and_then(|t| t.first().cloned())
                    .map(|k| (k, "unique test"))
            })
            .or_else(|| unique_key.map(|k| (k, "incremental unique_key")))
            .filter(|(k, _)| !k.is_empty() && k.iter().all(|c| plain_column(c)))
            .map(|(k, from)| (k, from.to_string()));
        models.push(Model {
            id: id.clone(),
            name: field("name"),
            materialized: text(config, "materialized").unwrap_or_default().to_string(),
            database: field("database"),
            schema: field("schema"),
            alias: text(node, "alias")
                .or_else(|| text(node, "name"))
                .unwrap_or_default()
                .to_string(),
            custom_schema: text(config, "schema").map(String::from),
            checksum: node
                .pointer("/checksum/checksum")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            key,
        });
    }
    models.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    Ok(Manifest {
        origin: origin.to_string(),
        models,
    })
}

impl Model {
    /// Its relation as a BigQuery table, checked.
    fn relation(&self, origin: &str) -> Result<TableRef, String> {
        DatasetRef::new(&self.database, &self.schema)
            .and_then(|d| d.table(&self.alias))
            .map_err(|e| {
                format!(
                    "{origin}: {}: its relation is not a BigQuery table: {e}",
                    one_line(&self.id)
                )
            })
    }

    /// Its relation in `target`: the custom schema appended as dbt's default
    /// `generate_schema_name` does (`analytics` + `finance` → `analytics_finance`).
    fn in_target(&self, target: &DatasetRef) -> Result<TableRef, String> {
        let dataset = match &self.custom_schema {
            Some(c) => format!("{}_{}", target.dataset, c.trim()),
            None => target.dataset.clone(),
        };
        DatasetRef::new(&target.project, &dataset)
            .and_then(|d| d.table(&self.alias))
            .map_err(|e| format!("{}: no prod relation in {target}: {e}", one_line(&self.id)))
    }
}

/// The pairs of the selected models of `ci`, mapped to prod by `state` or `opts.target`.
pub(crate) fn pairs(
    ci: &Manifest,
    state: Option<&Manifest>,
    opts: &DbtOptions,
) -> Result<DbtPairs, Vec<String>> {
    if state.is_none() && opts.target.is_none() {
        return Err(vec![
            "--dbt-manifest: say where prod is: --dbt-state (prod's manifest.json) or --dbt-target-dataset".into(),
        ]);
    }
    let mut out = DbtPairs::default();
    let mut errors = Vec::new();
    let (mut unchanged, mut kinds_left_out) = (0usize, 0usize);
    let wanted_kind = |m: &Model| match m.materialized.as_str() {
        "table" | "incremental" => true,
        "view" | "materialized_view" => opts.views,
        _ => false,
    };
    let selected =
        |m: &Model| opts.select.is_empty() || opts.select.iter().any(|g| glob(g, &m.name));
    for m in &ci.models {
        if !wanted_kind(m) {
            kinds_left_out += 1;
            continue;
        }
        if !selected(m) {
            continue;
        }
        let prod = state.and_then(|s| s.models.iter().find(|p| p.id == m.id));
        if let (Some(_), Some(p)) = (state, prod) {
            if p.checksum == m.checksum && !p.checksum.is_empty() {
                unchanged += 1;
                continue;
            }
        }
        let state_origin = state.map(|s| s.origin.as_str()).unwrap_or_default();
        let prod_relation = || {
            if let Some(t) = &opts.target {
                m.in_target(t)
            } else if let Some(p) = prod {
                p.relation(state_origin)
            } else {
                // New in CI: where prod would have it, by the state's default schema.
                match state.and_then(default_target) {
                    Some(t) => m.in_target(&t),
                    None => Err(format!(
                        "{}: no prod relation: the state manifest has no model to learn prod's dataset from; give --dbt-target-dataset",
                        one_line(&m.id)
                    )),
                }
            }
        };
        match pair_of(m.relation(&ci.origin), prod_relation()) {
            Ok(pair) if state.is_some() && prod.is_none() => out.one_sided.push((pair, OnlyIn::A)),
            Ok(pair) => out.pairs.push((pair, m.key.clone())),
            Err(e) => errors.push(e),
        }
    }
    // Models prod has and the PR removed: only in B, where CI would have built them.
    let mut removed = 0usize;
    if let Some(st) = state {
        for p in st.models.iter().filter(|p| wanted_kind(p) && selected(p)) {
            if ci.models.iter().any(|m| m.id == p.id) {
                continue;
            }
            let ci_relation = match default_target(ci) {
                Some(t) => p.in_target(&t),
                None => Err(format!(
                    "{}: removed in the PR, and the CI manifest has no model to learn CI's dataset from",
                    one_line(&p.id)
                )),
            };
            match pair_of(ci_relation, p.relation(&st.origin)) {
                Ok(pair) => {
                    removed += 1;
                    out.one_sided.push((pair, OnlyIn::B));
                }
                Err(e) => errors.push(e),
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    out.unchanged = unchanged;
    let mut note = format!(
        "note: --dbt-manifest {}: {} model{} to compare",
        ci.origin,
        out.pairs.len(),
        if out.pairs.len() == 1 { "" } else { "s" }
    );
    if state.is_some() {
        note.push_str(&format!(
            " (modified since the state manifest), {} new, {removed} removed, {unchanged} unchanged",
            out.one_sided.len() - removed
        ));
    }
    if kinds_left_out > 0 {
        note.push_str(&format!(
            "; {kinds_left_out} left out by materialization (ephemeral{})",
            if opts.views {
                ""
            } else {
                ", views: --dbt-views"
            }
        ));
    }
    out.notes.push(note);
    Ok(out)
}

/// The pair of two relations, or the first one's error.
fn pair_of(a: Result<TableRef, String>, b: Result<TableRef, String>) -> Result<Pair, String> {
    Ok(Pair {
        a: Source::Table(a?),
        b: Source::Table(b?),
    })
}

/// Prod's project and dataset as the state manifest shows them: those of its models without a
/// custom schema (the most common, should they differ).
fn default_target(state: &Manifest) -> Option<DatasetRef> {
    let mut counts: Vec<(DatasetRef, usize)> = Vec::new();
    for m in state.models.iter().filter(|m| m.custom_schema.is_none()) {
        let Ok(d) = DatasetRef::new(&m.database, &m.schema) else {
            continue;
        };
        match counts.iter_mut().find(|(x, _)| *x == d) {
            Some((_, n)) => *n += 1,
            None => counts.push((d, 1)),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    counts.into_iter().next().map(|(d, _)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Manifest {
        let p = format!("{}/tests/fixtures/dbt/{path}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&p).unwrap();
        parse_manifest(path, &text).unwrap()
    }

    fn shown(p: &DbtPairs) -> Vec<String> {
        p.pairs
            .iter()
            .map(|(pair, key)| match key {
                Some((k, _)) => format!("{pair} [{}]", k.join(",")),
                None => pair.to_string(),
            })
            .collect()
    }

    #[test]
    fn a_real_manifest_gives_its_models_relations_and_keys() {
        let ci = fixture("manifest.json");
        let get = |n: &str| ci.models.iter().find(|m| m.name == n).cloned().unwrap();
        assert_eq!(
            get("customers").key,
            Some((vec!["customer_id".into()], "primary_key constraint".into()))
        );
        assert_eq!(
            get("orders").key,
            Some((vec!["order_id".into()], "unique test".into()))
        );
        assert_eq!(
            get("events").key,
            Some((vec!["event_id".into()], "incremental unique_key".into()))
        );
        assert_eq!(get("daily_revenue").key, None);
        let ledger = get("finance_ledger");
        assert_eq!(
            (
                ledger.schema.as_str(),
                ledger.alias.as_str(),
                ledger.custom_schema.as_deref()
            ),
            ("ci_pr_42_finance", "ledger", Some("finance"))
        );
        assert!(ci.models.iter().all(|m| m.id.starts_with("model.")));
    }

    #[test]
    fn without_state_every_table_model_is_paired_with_the_target_dataset() {
        let ci = fixture("manifest.json");
        let opts = DbtOptions {
            target: DatasetRef::new("acme", "analytics").ok(),
            ..DbtOptions::default()
        };
        let got = pairs(&ci, None, &opts).unwrap();
        assert_eq!(
            shown(&got),
            [
                "shop.ci_pr_42.customers ↔ acme.analytics.customers [customer_id]",
                "shop.ci_pr_42.events ↔ acme.analytics.events [event_id]",
                "shop.ci_pr_42_finance.ledger ↔ acme.analytics_finance.ledger",
                "shop.ci_pr_42.orders ↔ acme.analytics.orders [order_id]",
                "shop.ci_pr_42.refunds ↔ acme.analytics.refunds",
                "shop.ci_pr_42.sessions ↔ acme.analytics.sessions [session_id]",
            ]
        );
        assert!(got.one_sided.is_empty());
        let views = DbtOptions {
            views: true,
            select: vec!["daily_*".into(), "orders".into()],
            ..opts
        };
        let got = pairs(&ci, None, &views).unwrap();
        assert_eq!(
            shown(&got),
            [
                "shop.ci_pr_42.daily_revenue ↔ acme.analytics.daily_revenue",
                "shop.ci_pr_42.orders ↔ acme.analytics.orders [order_id]",
            ]
        );
    }

    #[test]
    fn with_state_only_modified_models_and_new_ones_as_only_in_a() {
        let (ci, prod) = (fixture("manifest.json"), fixture("prod/manifest.json"));
        let got = pairs(&ci, Some(&prod), &DbtOptions::default()).unwrap();
        assert_eq!(
            shown(&got),
            [
                "shop.ci_pr_42_finance.ledger ↔ shop.analytics_finance.ledger",
                "shop.ci_pr_42.orders ↔ shop.analytics.orders [order_id]",
            ]
        );
        let new: Vec<String> = got
            .one_sided
            .iter()
            .map(|(p, o)| format!("{p} {o:?}"))
            .collect();
        assert_eq!(new, ["shop.ci_pr_42.refunds ↔ shop.analytics.refunds A"]);
        assert!(
            got.notes[0].contains("2 models to compare"),
            "{:?}",
            got.notes
        );
        assert!(
            got.notes[0].contains("1 new, 0 removed, 3 unchanged"),
            "{:?}",
            got.notes
        );
        let only = DbtOptions {
            select: vec!["orders".into()],
            ..DbtOptions::default()
        };
        let got = pairs(&ci, Some(&prod), &only).unwrap();
        assert_eq!(
            shown(&got),
            ["shop.ci_pr_42.orders ↔ shop.analytics.orders [order_id]"]
        );
        assert!(got.one_sided.is_empty());
    }

    #[test]
    fn a_model_the_pr_removed_is_only_in_b() {
        // Prod's manifest as the PR's and the PR's as the state: `refunds` was removed.
        let (ci, prod) = (fixture("prod/manifest.json"), fixture("manifest.json"));
        let got = pairs(&ci, Some(&prod), &DbtOptions::default()).unwrap();
        let one: Vec<String> = got
            .one_sided
            .iter()
            .map(|(p, o)| format!("{p} {o:?}"))
            .collect();
        assert_eq!(one, ["shop.analytics.refunds ↔ shop.ci_pr_42.refunds B"]);
        assert!(got.notes[0].contains("0 new, 1 removed"), "{:?}", got.notes);
        // Nothing modified: nothing to compare, and that is no error.
        let got = pairs(&prod, Some(&prod), &DbtOptions::default()).unwrap();
        assert!(got.pairs.is_empty() && got.one_sided.is_empty());
        assert_eq!(got.unchanged, 6);
    }

    #[test]
    fn bad_manifests_are_named() {
        assert!(parse_manifest("m.json", "{")
            .unwrap_err()
            .starts_with("m.json: not JSON"));
        let e = parse_manifest("m.json", r#"{"metadata": {}}"#).unwrap_err();
        assert!(e.contains("not a dbt manifest"), "{e}");
        let e = parse_manifest(
            "m.json",
            r#"{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v4.json"}, "nodes": {}}"#,
        )
        .unwrap_err();
        assert!(e.contains("v4 is not supported"), "{e}");
        // A relation that is no BigQuery table is refused with the model's id.
        let m = r#"{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
          "nodes": {"model.p.x": {"resource_type": "model", "name": "x", "database": "p",
            "schema": "s;drop", "alias": "x", "config": {"materialized": "table"},
            "checksum": {"checksum": "1"}}}}"#;
        let ci = parse_manifest("m.json", m).unwrap();
        let opts = DbtOptions {
            target: DatasetRef::new("acme", "prod").ok(),
            ..DbtOptions::default()
        };
        let e = pairs(&ci, None, &opts).unwrap_err();
        assert!(
            e[0].contains("model.p.x") && e[0].contains("s;drop"),
            "{e:?}"
        );
        let e = pairs(&ci, None, &DbtOptions::default()).unwrap_err();
        assert!(e[0].contains("--dbt-state"), "{e:?}");
        // A custom schema that would break out of the backticks never reaches SQL.
        let m = r#"{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
          "nodes": {"model.p.x": {"resource_type": "model", "name": "x", "database": "p",
            "schema": "s", "alias": "x", "config": {"materialized": "table", "schema": "x`.t; DROP TABLE y --"},
            "checksum": {"checksum": "1"}}}}"#;
        let ci = parse_manifest("m.json", m).unwrap();
        let e = pairs(&ci, None, &opts).unwrap_err();
        assert!(e[0].contains("invalid dataset id"), "{e:?}");
        let m = m.replace(r#""schema": "s""#, r#""schema": "s`""#);
        let e = pairs(&parse_manifest("m.json", &m).unwrap(), None, &opts).unwrap_err();
        assert!(e[0].contains("invalid dataset id `s`"), "{e:?}");
    }
}
