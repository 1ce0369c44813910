//! Hostile input: property tests over table references, pair lines and schema files (no
//! panic; every rejection names where and what), plus the extremes a hand-written pairs file
//! or a schema from anywhere can hold: huge lines, NUL bytes, invalid UTF-8, deep nesting,
//! 10,000 pairs, duplicates, a table paired with itself.

use std::path::Path;

use assert_cmd::Command;
use bqcheck::input::{parse_pair_lines, parse_table_lines};
use bqcheck::model::TableRef;
use bqcheck::warehouse::schema_file;
use proptest::prelude::*;
use serde_json::{json, Value};

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn table_refs_never_panic_and_rejections_name_the_value(s in "\\PC{0,80}") {
        if let Err(e) = TableRef::parse(&s, Some("p")) {
            let msg = e.to_string();
            prop_assert!(!msg.is_empty());
            let shown = s.trim();
            if !shown.is_empty() && !shown.contains('`') {
                prop_assert!(msg.contains(shown) || msg.contains(shown.split(['.', ':']).next().unwrap_or("")),
                    "{msg:?} does not name {shown:?}");
            }
        }
    }

    #[test]
    fn reference_like_strings_never_panic(s in "[a-z0-9_`.:\\- \\x00]{0,40}") {
        let _ = TableRef::parse(&s, None);
    }

    #[test]
    fn pair_lines_never_panic_and_errors_name_their_line(lines in proptest::collection::vec("[a-z0-9_.:, `#\\-$\\x00]{0,40}", 0..20)) {
        let text = lines.join("\n");
        let n = text.lines().count();
        for (parsed, origin) in [
            (parse_pair_lines("pairs.txt", &text, Some("p")).err(), "pairs.txt:"),
            (parse_table_lines("tables.txt", &text, Some("p")).err(), "tables.txt:"),
        ] {
            for e in parsed.unwrap_or_default() {
                prop_assert!(e.line >= 1 && e.line <= n, "line {} of {n}", e.line);
                let prefix = format!("{origin}{}: ", e.line);
                prop_assert!(e.to_string().starts_with(&prefix), "{} lacks {}", e, prefix);
                let raw = text.lines().nth(e.line - 1).unwrap_or("");
                prop_assert!(!raw.trim().is_empty() && !raw.trim().starts_with('#'),
                    "an error on a blank or comment line: {raw:?}");
            }
        }
    }

    #[test]
    fn schema_files_never_panic(s in "\\PC{0,200}") {
        let _ = schema_file::parse(Path::new("s.json"), &s);
    }

    #[test]
    fn schema_shaped_json_never_panics(v in json_value()) {
        let _ = schema_file::parse(Path::new("s.json"), &v.to_string());
        let _ = schema_file::parse(Path::new("s.json"), &json!({"fields": [v.clone()]}).to_string());
        let _ = schema_file::parse(Path::new("s.json"), &json!([v]).to_string());
    }
}

/// Arbitrary JSON leaning towards schema shapes (name/type/mode/fields keys).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "(STRING|INT64|RECORD|NUMERIC|x|)".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(("(name|type|mode|fields|schema|x)", inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn nested(depth: usize) -> Value {
    let mut field = json!({"name": "leaf", "type": "STRING"});
    for i in (1..depth).rev() {
        field = json!({"name": format!("l{i}"), "type": "RECORD", "fields": [field]});
    }
    json!([field])
}

#[test]
fn records_nest_at_most_15_levels_and_deeper_is_an_error_not_a_crash() {
    let p = Path::new("deep.json");
    // nested(n): n levels of fields, n - 1 of them RECORDs.
    assert!(
        schema_file::parse(p, &nested(16).to_string()).is_ok(),
        "15 RECORD levels"
    );
    let e = schema_file::parse(p, &nested(17).to_string())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("deep.json") && e.contains("RECORDs 16 levels deep") && e.contains("at most 15"),
        "{e}"
    );
    // Far deeper than any parser's stack should take: a clean error. (Built as text: a
    // serde_json::Value that deep would overflow the test's own stack.)
    let depth = 50_000;
    let mut text = String::from("[");
    for i in 0..depth {
        text.push_str(&format!(r#"{{"name":"l{i}","type":"RECORD","fields":["#));
    }
    text.push_str(r#"{"name":"leaf","type":"STRING"}"#);
    text.push_str(&"]}".repeat(depth));
    text.push(']');
    let e = schema_file::parse(p, &text).unwrap_err().to_string();
    assert!(e.contains("deep.json"), "{e}");
}

#[test]
fn a_huge_line_is_named_not_echoed() {
    let line = format!("dev.{}:prod.t", "x".repeat(1_000_000));
    let errors =
        parse_pair_lines("pairs.txt", &format!("dev.a:prod.a\n{line}\n"), Some("p")).unwrap_err();
    assert_eq!(errors.len(), 1);
    let msg = errors[0].to_string();
    assert!(msg.starts_with("pairs.txt:2: "), "{}", &msg[..80]);
    assert!(msg.len() < 1000, "{} bytes", msg.len());
    assert!(msg.contains("characters left out"), "{msg}");
}

/// Issue 14.7: a line of 200,000 colons is refused as not a pair, at once (each colon used
/// to be tried as the split, re-reading the line every time).
#[test]
fn a_line_of_colons_is_refused_without_trying_each() {
    let line = format!("dev.a{}prod.b", ":".repeat(200_000));
    let errors = parse_pair_lines("pairs.txt", &line, Some("p")).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].to_string().starts_with("pairs.txt:1: "),
        "{}",
        &errors[0].to_string()[..80]
    );
    // An ordinary legacy pair still splits at its one valid colon.
    let ok = parse_pair_lines("pairs.txt", "p:d.a:q:d.b\n", Some("p"));
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn nul_bytes_are_rejected_with_their_line() {
    let errors =
        parse_pair_lines("pairs.txt", "dev.a:prod.a\ndev.b\0:prod.b\n", Some("p")).unwrap_err();
    assert_eq!(errors[0].line, 2, "{errors:?}");
    let shown = errors[0].to_string();
    assert!(
        !shown.contains('\0') && shown.contains("\\u{0}"),
        "{shown:?}"
    );
}

#[test]
fn column_text_cannot_mention_people_or_embed_images_in_a_pr_comment() {
    let c = bqcheck::report::markdown::cell("ping @data-team ![x](http://e/x.png) <b>|");
    // GitHub finds mentions after rendering, so `&#64;` would still ping: an @ may stay only
    // when a zero-width space separates it from the name.
    assert!(
        !c.contains("@d")
            && c.contains("@\u{200B}data-team")
            && !c.contains("![")
            && !c.contains('<'),
        "{c}"
    );
}

fn schema_diff() -> Command {
    crate::support::bin("bq-schema-diff")
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = dir.path().join("pairs.txt");
    let schema = dir.path().join("s.json");
    std::fs::write(&schema, "\u{feff}[{\"name\": \"id\", \"type\": \"INT64\"}]").unwrap();
    std::fs::write(
        &pairs,
        format!("\u{feff}{}:{}\n", schema.display(), schema.display()),
    )
    .unwrap();
    let out = schema_diff()
        .arg("--pairs-file")
        .arg(&pairs)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_invalid_utf8_pairs_file_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pairs.txt");
    std::fs::write(&f, b"dev.a:prod.a\n# fine\ndev.\xff\xfe:prod.b\n").unwrap();
    let out = schema_diff().arg("--pairs-file").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:3: not valid UTF-8 (byte 0xff)", f.display())),
        "{err}"
    );
    let out = schema_diff()
        .write_stdin(b"dev.a:prod.a\n\xc3\x28\n".to_vec())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("<stdin>:2: not valid UTF-8"), "{err}");
}

/// 10,000 distinct pairs of schema files (100 × 100), plus 500 repeated lines: every pair is
/// compared once, the duplicates are counted in a notice, and a file paired with itself is
/// noted and reported identical.
#[test]
fn ten_thousand_pairs_with_duplicates_and_self_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = (0..100)
        .map(|i| {
            let p = dir.path().join(format!("s{i}.json"));
            let fields = if i % 2 == 0 {
                json!([{"name": "id", "type": "INT64"}])
            } else {
                json!([{"name": "id", "type": "INT64"}, {"name": "x", "type": "STRING"}])
            };
            std::fs::write(&p, fields.to_string()).unwrap();
            p.display().to_string()
        })
        .collect();
    let mut lines = Vec::new();
    for a in &files {
        for b in &files {
            lines.push(format!("{a}:{b}"));
        }
    }
    for i in 0..500 {
        lines.push(lines[i * 7].clone());
    }
    let pairs = dir.path().join("pairs.txt");
    std::fs::write(&pairs, lines.join("\n")).unwrap();
    let out = schema_diff()
        .args(["--format", "json", "--fail-on", "never", "--pairs-file"])
        .arg(&pairs)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("note: 500 duplicate pairs skipped (each is checked once)"),
        "{err}"
    );
    assert!(
        err.contains("note: 100 pairs compare a table with itself"),
        "{err}"
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["batch_summary"]["total_pairs"], 10_000);
    assert_eq!(j["batch_summary"]["identical"], 5_000, "same-parity pairs");
    assert_eq!(j["batch_summary"]["different"], 5_000);
}
