//! `--datasets A:B`: a 200-table dataset pair built by CTAS inside the emulator, with 3
//! changed schemas, a table only in A, a table only in B and one table whose data changed
//! (one row of 200). Each command finds exactly those. (Every type at 20,000 rows is the
//! realistic suite's; here the emulator's time goes to 400 tables.)

use serde_json::Value;

use crate::support::billing::BillingProxy;
use crate::support::{self, job_project, Emu};

const PROJECT: &str = "bqcheck-datasets";
/// Tables of each dataset (A: t000..t198 and `t_added`; B: t000..t199).
const TABLES: usize = 200;
const SCHEMA_CHANGED: [&str; 3] = ["t010", "t020", "t030"];
const DATA_CHANGED: &str = "t050";

/// A small table with NULLs, built in the emulator; `variant` changes its schema as A's copy
/// of a schema-changed table does.
fn small(table: &str, rows: i64, variant: &str) -> String {
    let (amount, extra, d) = match variant {
        // A column added (compatible).
        "t010" => ("IF(MOD(x, 7) = 0, NULL, x * 1.5)", ", x AS extra", true),
        // FLOAT64 → STRING (breaking).
        "t020" => ("IF(MOD(x, 7) = 0, NULL, CAST(x * 1.5 AS STRING))", "", true),
        // A column removed (breaking).
        "t030" => ("IF(MOD(x, 7) = 0, NULL, x * 1.5)", "", false),
        _ => ("IF(MOD(x, 7) = 0, NULL, x * 1.5)", "", true),
    };
    let d = if d {
        ", DATE_ADD(DATE '2024-01-01', INTERVAL x DAY) AS d"
    } else {
        ""
    };
    format!(
        "CREATE TABLE `{table}` AS SELECT x AS id, IF(MOD(x, 5) = 0, NULL, CONCAT('n', CAST(x AS STRING))) AS name, \
         {amount} AS amount{d}, MOD(x, 3) = 0 AS flag{extra} FROM UNNEST(GENERATE_ARRAY(1, {rows})) AS x"
    )
}

/// Both datasets, each built by one script of CTAS statements. Each table is a copy
/// (`CREATE TABLE … AS SELECT * FROM`) of a source table in a third dataset: the emulator
/// spends about half as long on a copy as on a CTAS that computes its rows.
async fn build(emu: &Emu) -> (String, String) {
    let (a, b, src) = (
        emu.dataset("ds_dev").await,
        emu.dataset("ds_prod").await,
        emu.dataset("ds_src").await,
    );
    let s = |t: &str| format!("{PROJECT}.{src}.{t}");
    let mut sources = vec![
        small(&s("plain"), 200, ""),
        // t050 in B: one row's amount differs.
        small(&s("changed"), 200, "").replace("NULL, x * 1.5)", "NULL, IF(x = 78, -1.0, x * 1.5))"),
    ];
    for v in SCHEMA_CHANGED {
        sources.push(small(&s(v), 200, v));
    }
    emu.query(&sources.join(";\n")).await;
    let copy =
        |to: String, from: &str| format!("CREATE TABLE `{to}` AS SELECT * FROM `{}`", s(from));
    let mut sa = Vec::new();
    let mut sb = Vec::new();
    for i in 0..TABLES {
        let n = format!("t{i:03}");
        let (ta, tb) = (format!("{PROJECT}.{a}.{n}"), format!("{PROJECT}.{b}.{n}"));
        let (from_a, from_b) = match n.as_str() {
            DATA_CHANGED => ("plain", "changed"),
            x if SCHEMA_CHANGED.contains(&x) => (x, "plain"),
            _ => ("plain", "plain"),
        };
        if i < TABLES - 1 {
            sa.push(copy(ta, from_a));
        }
        sb.push(copy(tb, from_b));
    }
    sa.push(copy(format!("{PROJECT}.{a}.t_added"), "plain"));
    emu.query(&sa.join(";\n")).await;
    emu.query(&sb.join(";\n")).await;
    (format!("{PROJECT}.{a}"), format!("{PROJECT}.{b}"))
}

fn table_of(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .and_then(|s| s.rsplit('.').next())
        .unwrap_or_default()
        .to_string()
}

/// The one-sided items as (table, only_in).
fn one_sided(j: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = j["one_sided"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| {
                    let key = if o.get("table_a").is_some() {
                        "table_a"
                    } else {
                        "table_id"
                    };
                    (
                        table_of(o, key),
                        o["only_in"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn a_200_table_dataset_pair_finds_exactly_its_changes() {
    let clock = std::time::Instant::now();
    let phase = |what: &str| eprintln!("[{:>5.1} s] {what}", clock.elapsed().as_secs_f64());
    let emu = Emu::new(PROJECT);
    let (a, b) = build(&emu).await;
    let pair = format!("{a}:{b}");
    let expected_one_sided = vec![
        ("t199".to_string(), "b".to_string()),
        ("t_added".to_string(), "a".to_string()),
    ];

    phase("200-table dataset pair built");

    // schema-diff, through a proxy that counts tables.get and query jobs: by tables.get, and
    // `auto` (which picks one INFORMATION_SCHEMA query per dataset for 200 tables).
    let proxy = BillingProxy::start(&support::emulator_host());
    let cache = support::fresh_cache_home();
    let via = |how: &str| {
        let (code, j, err) = proxy.run_json(
            "bq-schema-diff",
            &job_project(&format!("ds-{}", &how[..3])),
            &cache,
            &[
                "--datasets",
                &pair,
                "--fail-on",
                "breaking",
                "--metadata-via",
                how,
            ],
        );
        let log = proxy.take_log();
        let gets = log.iter().filter(|e| e.get("tables_get").is_some()).count();
        let queries: Vec<String> = log
            .iter()
            .filter_map(|e| e["sql"].as_str().map(String::from))
            .collect();
        (code, j, err, gets, queries)
    };
    let (code, j, err, gets, queries) = via("tables-get");
    assert_eq!((code, gets, queries.len()), (1, 398, 0), "{err}");
    phase("schema-diff by tables.get");
    // The 3 changed schemas, the removed table breaking, the added one compatible.
    assert!(
        err.contains("199 pairs of same-named tables, 1 only in") && err.contains(", 1 only in"),
        "{err}"
    );
    let comps = j["comparisons"].as_array().cloned().unwrap_or_default();
    assert_eq!(comps.len(), 199, "{err}");
    let mut changed: Vec<String> = comps
        .iter()
        .filter(|c| c["identical"] == false)
        .map(|c| table_of(c, "table_a"))
        .collect();
    changed.sort();
    assert_eq!(changed, SCHEMA_CHANGED);
    assert_eq!(one_sided(&j), expected_one_sided);
    let s = &j["batch_summary"];
    assert_eq!(
        (
            s["total_pairs"].as_i64(),
            s["only_in_a"].as_i64(),
            s["only_in_b"].as_i64()
        ),
        (Some(201), Some(1), Some(1))
    );
    // t020's type change, t030's removed column and the removed table t199.
    assert_eq!(s["breaking"], 3, "{s:#}");
    let removed = j["one_sided"]
        .as_array()
        .and_then(|a| a.iter().find(|o| o["only_in"] == "b"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (&removed["breaking"], &removed["fails"]),
        (&true.into(), &true.into())
    );
    let by_get = j;

    // `auto` reads a dataset with 50 or more of the run's tables with one query.
    let (code_is, by_is, err, gets, queries) = via("auto");
    phase("schema-diff by INFORMATION_SCHEMA (auto)");
    assert_eq!((code_is, gets), (1, 0), "{err}");
    assert_eq!(queries.len(), 2, "one query per dataset: {queries:#?}");
    assert!(queries
        .iter()
        .all(|q| q.contains("INFORMATION_SCHEMA.COLUMNS")));
    assert!(
        err.contains("199 of 199 tables")
            && err.contains("came from one INFORMATION_SCHEMA query instead of 199 tables.get"),
        "{err}"
    );
    for key in ["comparisons", "one_sided"] {
        assert_eq!(
            by_get[key], by_is[key],
            "{key}: the same classification either way"
        );
    }
    drop(proxy);

    // table-compare: one table's data differs; the one-sided tables are reported, not failed.
    let jobs = job_project("ds-compare");
    let (code, j, err) = support::run_json(
        "bq-table-compare",
        &jobs,
        &["--datasets", &pair, "--skip-stats", "--skip-samples"],
    );
    assert_eq!(code, 1, "{err}");
    let comps = j["comparisons"].as_array().cloned().unwrap_or_default();
    assert_eq!(comps.len(), 199, "{j:#}");
    phase("table-compare, 199 pairs");
    // Only t050's data differs; the schema-changed pairs differ in their schemas (a pair with
    // a column more is not the same data), and their shared columns hold the same data.
    let differing: Vec<String> = comps
        .iter()
        .filter(|c| c["identical"] == false)
        .map(|c| table_of(c, "table_a"))
        .collect();
    assert_eq!(differing, ["t010", "t020", "t030", DATA_CHANGED]);
    let by_name = |t: &str| {
        comps
            .iter()
            .find(|c| table_of(c, "table_a") == t)
            .cloned()
            .unwrap_or_default()
    };
    for t in SCHEMA_CHANGED {
        let c = by_name(t);
        assert_eq!(
            (&c["schema"]["identical"], &c["fingerprints_equal"]),
            (&false.into(), &true.into()),
            "{t}: {c:#}"
        );
    }
    let data = by_name(DATA_CHANGED);
    assert_eq!(
        (&data["schema"]["identical"], &data["fingerprints_equal"]),
        (&true.into(), &false.into()),
        "{data:#}"
    );
    assert_eq!(one_sided(&j), expected_one_sided);
    assert!(j["one_sided"]
        .as_array()
        .is_some_and(|a| a.iter().all(|o| o["fails"] == false)));
    assert_eq!(j["errors"].as_array().map(Vec::len), Some(0), "{j:#}");

    // `--fail-on any-or-missing` fails on a one-sided table alone; --include/--exclude select.
    let (code, j, err) = support::run_json(
        "bq-table-compare",
        &job_project("ds-compare-missing"),
        &[
            "--datasets",
            &pair,
            "--include",
            "t19*,t_added",
            "--exclude",
            "t198",
            "--fail-on",
            "any-or-missing",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let names: Vec<String> = j["comparisons"]
        .as_array()
        .map(|a| a.iter().map(|c| table_of(c, "table_a")).collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        ["t190", "t191", "t192", "t193", "t194", "t195", "t196", "t197"]
    );
    assert!(j["comparisons"]
        .as_array()
        .is_some_and(|a| a.iter().all(|c| c["identical"] == true)));
    assert_eq!(one_sided(&j), expected_one_sided);
    phase("table-compare, --include/--exclude");

    // profile (of 20 of B's tables: a profile query costs the emulator seconds): a baseline,
    // then B loses t199 and t060 doubles.
    let cache = support::fresh_cache_home();
    let baseline = cache.join("baseline.json");
    std::fs::create_dir_all(&cache).unwrap();
    let baseline_path = baseline.to_str().unwrap_or_default();
    let profile_b = |job: &str, extra: &[&str]| {
        let mut args = vec![
            "--datasets",
            &b,
            "--include",
            "t06?,t19?",
            "--sample-size",
            "0",
        ];
        args.extend_from_slice(extra);
        support::run_json("bq-profile", &job_project(job), &args)
    };
    let (code, j, err) = profile_b("ds-profile-1", &["--report-json", baseline_path]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(j["profiles"].as_array().map(Vec::len), Some(20));
    phase("profile, the baseline");
    let ds_b = b.rsplit('.').next().unwrap_or_default().to_string();
    emu.delete_table(&ds_b, "t199").await;
    emu.delete_table(&ds_b, "t060").await;
    emu.query(&small(&format!("{b}.t060"), 400, "")).await;
    let (code, j, err) = profile_b(
        "ds-profile-2",
        &["--baseline", baseline_path, "--fail-on", "anomalies"],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        one_sided(&j),
        [("t199".to_string(), "b".to_string())],
        "{j:#}"
    );
    let drifted: Vec<String> = j["profiles"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|p| {
                    p["profile"]["anomalies"].as_array().is_some_and(|x| {
                        x.iter()
                            .any(|x| x["rule"].as_str().is_some_and(|k| k.starts_with("drift")))
                    })
                })
                .map(|p| table_of(p, "table_id"))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(drifted, ["t060"], "{err}");
    phase("profile against the baseline");
}

/// Create `project.dataset` if it is not there (the dbt fixture's names are fixed).
async fn ensure_dataset(project: &str, dataset: &str) {
    let host = support::emulator_host();
    let url = format!(
        "http://{}/bigquery/v2/projects/{project}/datasets",
        host.trim_start_matches("http://").trim_end_matches('/')
    );
    let status = reqwest::Client::new()
        .post(&url)
        .bearer_auth("test")
        .json(
            &serde_json::json!({"datasetReference": {"projectId": project, "datasetId": dataset}}),
        )
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert!(matches!(status, 200 | 409), "{url}: HTTP {status}");
}

/// The dbt fixture (`tests/fixtures/dbt`, a real dbt 1.9 manifest and prod's) against tables
/// built at its relations: `orders` and `finance_ledger` changed since prod's manifest,
/// `refunds` is new, the rest unchanged.
#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn a_dbt_manifest_pairs_the_modified_models_with_prod_and_uses_their_keys() {
    let emu = Emu::new("shop");
    for d in [
        "ci_pr_42",
        "ci_pr_42_finance",
        "analytics",
        "analytics_finance",
    ] {
        ensure_dataset("shop", d).await;
    }
    let rows = 20_000;
    let orders = |t: &str, changed: bool, status: bool| {
        format!(
            "CREATE OR REPLACE TABLE `{t}` AS SELECT x AS order_id, IF(MOD(x, 9) = 0, NULL, MOD(x, 500)) AS customer_id, \
             IF({changed} AND x = 777, 1.0, x * 0.25) AS amount{} FROM UNNEST(GENERATE_ARRAY(1, {rows})) AS x",
            if status { ", IF(MOD(x, 4) = 0, 'paid', 'open') AS status" } else { "" }
        )
    };
    let ledger = |t: &str| {
        format!(
            "CREATE OR REPLACE TABLE `{t}` AS SELECT x AS entry_id, x * 2 AS cents FROM UNNEST(GENERATE_ARRAY(1, {rows})) AS x"
        )
    };
    emu.query(
        &[
            orders("shop.ci_pr_42.orders", true, true),
            orders("shop.analytics.orders", false, false),
            ledger("shop.ci_pr_42_finance.ledger"),
            ledger("shop.analytics_finance.ledger"),
            ledger("shop.ci_pr_42.refunds"),
        ]
        .join(";\n"),
    )
    .await;
    let fixtures = support::repo_root().join("tests/fixtures/dbt");
    let (ci, prod) = (
        fixtures.join("manifest.json"),
        fixtures.join("prod/manifest.json"),
    );
    let (ci, prod) = (
        ci.to_str().unwrap_or_default(),
        prod.to_str().unwrap_or_default(),
    );
    let names = |j: &Value| -> Vec<String> {
        j["comparisons"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        format!(
                            "{} ↔ {}",
                            c["table_a"].as_str().unwrap_or_default(),
                            c["table_b"].as_str().unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let both = [
        "shop.ci_pr_42_finance.ledger ↔ shop.analytics_finance.ledger",
        "shop.ci_pr_42.orders ↔ shop.analytics.orders",
    ];

    // With state: the two modified models, keyed as the manifest says; refunds is new.
    let (code, j, err) = support::run_json(
        "bq-table-compare",
        &job_project("dbt-compare"),
        &["--dbt-manifest", ci, "--dbt-state", prod],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("2 models to compare (modified since the state manifest), 1 new, 0 removed, 3 unchanged"),
        "{err}"
    );
    assert_eq!(names(&j), both, "{j:#}");
    let orders_c = &j["comparisons"][1];
    assert_eq!(
        orders_c["rows"]["key"],
        serde_json::json!(["order_id"]),
        "{orders_c:#}"
    );
    assert_eq!(orders_c["rows"]["changed"], 1, "{orders_c:#}");
    assert_eq!(j["comparisons"][0]["identical"], true);
    assert_eq!(one_sided(&j), [("refunds".to_string(), "a".to_string())]);

    // schema-diff: orders gained a column (compatible), refunds is an added table.
    let (code, j, err) = support::run_json(
        "bq-schema-diff",
        &job_project("dbt-schema"),
        &[
            "--dbt-manifest",
            ci,
            "--dbt-state",
            prod,
            "--fail-on",
            "breaking",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(names(&j), both);
    assert_eq!(j["comparisons"][1]["changes"][0]["path"], "status", "{j:#}");
    assert_eq!(j["batch_summary"]["only_in_a"], 1);

    // Without state: every selected model, in the target dataset (custom schema appended).
    let (code, j, err) = support::run_json(
        "bq-schema-diff",
        &job_project("dbt-target"),
        &[
            "--dbt-manifest",
            ci,
            "--dbt-target-dataset",
            "shop.analytics",
            "--dbt-select",
            "orders,finance_*",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(names(&j), both);
    assert!(j.get("one_sided").is_none());
}

#[tokio::test]
#[cfg_attr(
    not(feature = "emulator-tests"),
    ignore = "needs the BigQuery emulator: run scripts/test"
)]
async fn a_dataset_that_cannot_be_listed_stops_the_run_with_its_name() {
    let emu = Emu::new(PROJECT);
    let b = emu.dataset("ds_listed").await;
    let out = support::emulator_bin("bq-table-compare")
        .args(["--project", &job_project("ds-missing")])
        .args(["--datasets", &format!("{PROJECT}.no_such_ds:{PROJECT}.{b}")])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty(), "nothing ran, so no report");
    assert!(
        err.contains(&format!("cannot list the tables of {PROJECT}.no_such_ds"))
            && err.contains("Not found: Dataset"),
        "{err}"
    );
    assert!(!err.contains("Table not found"), "{err}");
}
