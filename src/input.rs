//! Inputs: table references, schema-file sources, and pairs from arguments, files or stdin.
//!
//! Everything here is validated before any request is made: a bad line is reported as
//! `FILE:LINE: message` and the whole batch is refused.

use std::fmt;
use std::path::Path;

use thiserror::Error;

pub(crate) mod datasets;
pub(crate) mod dbt;

use crate::model::{Pair, Source, TableRef};
use crate::warehouse::schema_file;

/// One bad input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// File name, `<stdin>` or `<args>`.
    pub origin: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Control characters (a NUL, an escape sequence) are shown escaped, never raw.
        let visible: String = shorten(&self.message)
            .chars()
            .flat_map(|c| -> Vec<char> {
                if c.is_control() && c != '\t' {
                    c.escape_default().collect()
                } else {
                    vec![c]
                }
            })
            .collect();
        write!(f, "{}:{}: {}", self.origin, self.line, visible)
    }
}

impl std::error::Error for LineError {}

/// A message of at most ~300 characters: a pasted megabyte line is named, not echoed whole.
fn shorten(message: &str) -> std::borrow::Cow<'_, str> {
    const HEAD: usize = 200;
    const TAIL: usize = 60;
    let n = message.chars().count();
    if n <= HEAD + TAIL + 40 {
        return message.into();
    }
    let head: String = message.chars().take(HEAD).collect();
    let tail: String = message.chars().skip(n - TAIL).collect();
    format!("{head}… ({} characters left out) …{tail}", n - HEAD - TAIL).into()
}

/// Text that must be UTF-8: the line of the first invalid byte is named.
pub(crate) fn utf8_text(origin: &str, bytes: Vec<u8>) -> Result<String, LineError> {
    // A leading byte-order mark (Windows editors add one) is not part of the first line.
    let bytes = match bytes.strip_prefix("\u{feff}".as_bytes()) {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        LineError {
            origin: origin.to_string(),
            line: bytes[..valid].iter().filter(|b| **b == b'\n').count() + 1,
            message: format!(
                "not valid UTF-8 (byte 0x{:02x}); save the file as UTF-8",
                bytes.get(valid).copied().unwrap_or(0)
            ),
        }
    })
}

/// Drop repeated items, keeping the first of each; the notice names how many and the first.
pub(crate) fn dedup<T: fmt::Display>(items: Vec<T>, noun: &str) -> (Vec<T>, Option<String>) {
    let mut seen = std::collections::HashSet::new();
    let mut kept = Vec::with_capacity(items.len());
    let mut dropped = 0usize;
    let mut first = None;
    for item in items {
        let key = item.to_string();
        if seen.insert(key.clone()) {
            kept.push(item);
        } else {
            dropped += 1;
            first.get_or_insert(key);
        }
    }
    let notice = first.map(|f| {
        format!(
            "note: {dropped} duplicate {noun}{} skipped (each is checked once), e.g. {f}",
            if dropped == 1 { "" } else { "s" }
        )
    });
    (kept, notice)
}

/// Every problem found in the input, so the user can fix them all at once.
#[derive(Debug, Error)]
pub(crate) enum InputError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Lines(Vec<LineError>),
    #[error("{0}")]
    Usage(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Split one pair line into its two sides, unresolved.
///
/// `A:B` splits at the one colon that leaves two valid references (legacy refs contain `:`);
/// otherwise `A,B` or `A B`.
pub(crate) fn split_pair_line(line: &str) -> Result<(String, String), String> {
    let line = line.trim();
    // Each side holds at most one colon (`project:dataset.table`), a schema file's path a few
    // more; trying every colon of a line with thousands would be quadratic.
    const MAX_COLONS: usize = 8;
    let colons = line.matches(':').count();
    let colon_splits: Vec<(String, String)> = line
        .match_indices(':')
        .take(if colons > MAX_COLONS { 0 } else { colons })
        .map(|(i, _)| (line[..i].trim(), line[i + 1..].trim()))
        .filter(|(a, b)| Source::plausible(a) && Source::plausible(b))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    match colon_splits.len() {
        1 => return Ok(colon_splits.into_iter().next().unwrap_or_default()),
        0 => {}
        _ => {
            let options: Vec<String> = colon_splits
                .iter()
                .map(|(a, b)| format!("`{a}` : `{b}`"))
                .collect();
            return Err(format!(
                "ambiguous pair `{line}`: it splits at more than one colon ({}); separate the two tables with a comma or a space",
                options.join(" or ")
            ));
        }
    }
    for sep in [',', ' ', '\t'] {
        let parts: Vec<&str> = if sep == ' ' || sep == '\t' {
            line.split_whitespace().collect()
        } else {
            line.split(sep).map(str::trim).collect()
        };
        if parts.len() == 2 && parts.iter().all(|p| Source::plausible(p)) {
            return Ok((parts[0].to_string(), parts[1].to_string()));
        }
    }
    // Explain the most likely problem: the first side that fails to parse.
    let candidates: Vec<&str> = if line.contains(',') {
        line.split(',').map(str::trim).collect()
    } else if line.split_whitespace().count() == 2 {
        line.split_whitespace().collect()
    } else if let Some((a, b)) = line.split_once(':') {
        // Prefer the split with the rest holding a dataset.table.
        let i = line.rfind(':').unwrap_or(a.len());
        if b.contains(':') {
            vec![line[..i].trim(), line[i + 1..].trim()]
        } else {
            vec![a.trim(), b.trim()]
        }
    } else {
        vec![line]
    };
    if candidates.len() == 2 {
        for c in &candidates {
            if let Err(e) = Source::parse(c, Some("p")) {
                return Err(format!("in pair `{line}`: {e}"));
            }
        }
    }
    Err(format!(
        "`{line}` is not a pair: expected `table_a:table_b` (or `table_a,table_b`, or `table_a table_b`)"
    ))
}

/// Resolve both sides of a split pair, loading schema files so bad files are reported up front.
/// A relative schema-file path is taken relative to `base` (empty: the working directory).
fn resolve_side(value: &str, default_project: Option<&str>, base: &Path) -> Result<Source, String> {
    let mut src = Source::parse(value, default_project).map_err(|e| e.to_string())?;
    if let Source::SchemaFile(path) = &mut src {
        if path.is_relative() {
            *path = base.join(&*path);
        }
        schema_file::load(path).map_err(|e| e.to_string())?;
    }
    Ok(src)
}

/// Parse pair lines (stdin, arguments, an action input): blank lines and `#` comments are
/// skipped; schema-file paths are relative to the working directory.
pub fn parse_pair_lines(
    origin: &str,
    text: &str,
    default_project: Option<&str>,
) -> Result<Vec<Pair>, Vec<LineError>> {
    parse_pair_lines_in(origin, text, default_project, Path::new(""))
}

/// [`parse_pair_lines`], with relative schema-file paths taken relative to `base`.
fn parse_pair_lines_in(
    origin: &str,
    text: &str,
    default_project: Option<&str>,
    base: &Path,
) -> Result<Vec<Pair>, Vec<LineError>> {
    let mut pairs = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |message: String| LineError {
            origin: origin.to_string(),
            line: i + 1,
            message,
        };
        match split_pair_line(line) {
            Ok((a, b)) => {
                let a = resolve_side(&a, default_project, base);
                let b = resolve_side(&b, default_project, base);
                match (a, b) {
                    (Ok(a), Ok(b)) => pairs.push(Pair { a, b }),
                    (Err(e), _) | (_, Err(e)) => errors.push(err(e)),
                }
            }
            Err(e) => errors.push(err(e)),
        }
    }
    if errors.is_empty() {
        Ok(pairs)
    } else {
        Err(errors)
    }
}

/// Pairs from positional arguments: exactly two single references make one pair; otherwise
/// each argument is a pair spec (`A:B`).
pub(crate) fn parse_pair_args(
    args: &[String],
    default_project: Option<&str>,
) -> Result<Vec<Pair>, Vec<LineError>> {
    // Two arguments, neither of them a pair: `TABLE_A TABLE_B`, each side checked on its own
    // (so a bad one is named as a bad table, not as "not a pair").
    if args.len() == 2 && args.iter().all(|a| split_pair_line(a).is_err()) {
        let mut errors = Vec::new();
        let mut sides = Vec::new();
        for (i, a) in args.iter().enumerate() {
            match resolve_side(a, default_project, Path::new("")) {
                Ok(s) => sides.push(s),
                Err(message) => errors.push(LineError {
                    origin: "argument".into(),
                    line: i + 1,
                    message,
                }),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let b = sides.pop();
        let a = sides.pop();
        if let (Some(a), Some(b)) = (a, b) {
            return Ok(vec![Pair { a, b }]);
        }
    }
    if args.len() == 1 && Source::plausible(&args[0]) && split_pair_line(&args[0]).is_err() {
        return Err(vec![LineError {
            origin: "argument".into(),
            line: 1,
            message: format!(
                "`{}` is a single table: give two (`bq-schema-diff A B`) or a pair `A:B`",
                args[0]
            ),
        }]);
    }
    parse_pair_lines("argument", &args.join("\n"), default_project)
}

/// Table lists (bq-profile): one reference per line, blank lines and `#` comments skipped.
pub fn parse_table_lines(
    origin: &str,
    text: &str,
    default_project: Option<&str>,
) -> Result<Vec<TableRef>, Vec<LineError>> {
    let mut tables = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match TableRef::parse(line, default_project) {
            Ok(t) => tables.push(t),
            Err(e) => errors.push(LineError {
                origin: origin.to_string(),
                line: i + 1,
                message: e.to_string(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(tables)
    } else {
        Err(errors)
    }
}

/// Read a pairs file, naming it in every error. Relative schema-file paths in it are relative
/// to the file's directory (as in the config file), so the file works from any directory;
/// table references are not paths and stay as they are.
pub(crate) fn read_pairs_file(
    path: &Path,
    default_project: Option<&str>,
) -> Result<Vec<Pair>, InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let origin = path.display().to_string();
    let text = utf8_text(&origin, bytes).map_err(|e| InputError::Lines(vec![e]))?;
    let base = path.parent().unwrap_or(Path::new(""));
    parse_pair_lines_in(&origin, &text, default_project, base).map_err(InputError::Lines)
}

/// Where the pairs came from, in the order of precedence used by the CLI.
pub(crate) struct PairInputs<'a> {
    pub(crate) args: &'a [String],
    pub(crate) pairs_file: Option<&'a Path>,
    /// Stdin's text, when stdin is not a terminal and nothing else was given.
    pub(crate) stdin: Option<String>,
    /// Pair lines handed over by the caller (the GitHub Action's `pairs` input): where they
    /// come from, for error messages, and the text. Read even with arguments or a file.
    pub(crate) listed: Option<(&'a str, &'a str)>,
}

/// Gather and validate every pair before any request is made.
pub(crate) fn collect_pairs(
    inputs: PairInputs<'_>,
    default_project: Option<&str>,
) -> Result<Vec<Pair>, InputError> {
    let mut pairs = Vec::new();
    let mut errors = Vec::new();
    if !inputs.args.is_empty() {
        match parse_pair_args(inputs.args, default_project) {
            Ok(p) => pairs.extend(p),
            Err(e) => errors.extend(e),
        }
    }
    if let Some(path) = inputs.pairs_file {
        match read_pairs_file(path, default_project) {
            Ok(p) => pairs.extend(p),
            Err(InputError::Lines(e)) => errors.extend(e),
            Err(other) => return Err(other),
        }
    }
    if let Some((origin, text)) = inputs.listed {
        match parse_pair_lines(origin, text, default_project) {
            Ok(p) => pairs.extend(p),
            Err(e) => errors.extend(e),
        }
    }
    let from_stdin =
        inputs.args.is_empty() && inputs.pairs_file.is_none() && inputs.listed.is_none();
    if from_stdin {
        match inputs.stdin {
            Some(text) => match parse_pair_lines("<stdin>", &text, default_project) {
                Ok(p) => pairs.extend(p),
                Err(e) => errors.extend(e),
            },
            None => {
                return Err(InputError::Usage(
                    "no pairs given: pass `TABLE_A TABLE_B`, --pairs-file FILE, or pipe `A:B` lines to stdin".into(),
                ))
            }
        }
    }
    if !errors.is_empty() {
        return Err(InputError::Lines(errors));
    }
    if pairs.is_empty() {
        let origin = match (inputs.pairs_file, inputs.listed, from_stdin) {
            (Some(p), None, _) => p.display().to_string(),
            (None, Some((origin, _)), _) => origin.to_string(),
            (Some(p), Some((origin, _)), _) => format!("{} and {origin}", p.display()),
            (None, None, true) => "stdin".to_string(),
            _ => "the arguments".to_string(),
        };
        return Err(InputError::Usage(format!(
            "no pairs in {origin}: nothing to compare (blank lines and # comments are skipped)"
        )));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_files_are_the_same_whatever_the_dots() {
        let f = |p: &str| Source::SchemaFile(std::path::PathBuf::from(p));
        assert!(f("ci/../schemas/a.json").same_as(&f("schemas/a.json")));
        assert!(f("./schemas/a.json").same_as(&f("schemas/./a.json")));
        assert!(!f("../schemas/a.json").same_as(&f("schemas/a.json")));
        assert!(!f("schemas/a.json").same_as(&f("schemas/b.json")));
    }

    use super::*;
    use std::path::PathBuf;

    fn t(p: &str, d: &str, t: &str) -> TableRef {
        TableRef {
            project: p.into(),
            dataset: d.into(),
            table: t.into(),
        }
    }

    #[test]
    fn parses_every_reference_form() {
        let def = Some("dflt");
        assert_eq!(TableRef::parse("p1.ds.t", def).unwrap(), t("p1", "ds", "t"));
        assert_eq!(TableRef::parse("ds.t", def).unwrap(), t("dflt", "ds", "t"));
        assert_eq!(TableRef::parse("p1:ds.t", def).unwrap(), t("p1", "ds", "t"));
        assert_eq!(
            TableRef::parse("example.com:proj.ds.t", def).unwrap(),
            t("example.com:proj", "ds", "t")
        );
        assert_eq!(
            TableRef::parse("example.com:proj:ds.t", def).unwrap(),
            t("example.com:proj", "ds", "t")
        );
        assert_eq!(
            TableRef::parse("`p1.ds.t`", def).unwrap(),
            t("p1", "ds", "t")
        );
        assert_eq!(
            TableRef::parse("`my-proj`.ds.`my table`", def).unwrap(),
            t("my-proj", "ds", "my table")
        );
        assert_eq!(
            TableRef::parse("  p1.ds.t  ", def).unwrap(),
            t("p1", "ds", "t")
        );
    }

    #[test]
    fn rejects_invalid_references_naming_the_value() {
        let def = Some("dflt");
        let e = TableRef::parse("P1.ds.t", def).unwrap_err().to_string();
        assert!(e.contains("P1.ds.t") && e.contains("project"), "{e}");
        let e = TableRef::parse("p.d-s.t", def).unwrap_err().to_string();
        assert!(e.contains("dataset") && e.contains("d-s"), "{e}");
        let e = TableRef::parse("p.ds.t;DROP", def).unwrap_err().to_string();
        assert!(e.contains("t;DROP"), "{e}");
        assert!(TableRef::parse("a.b.c.d", def).is_err());
        assert!(TableRef::parse("justtable", def).is_err());
        assert!(TableRef::parse("p.ds.t`", def).is_err());
        assert!(TableRef::parse("`p.ds.t", def).is_err());
        assert!(
            TableRef::parse("p.ds.my table", def).is_err(),
            "spaces need backticks"
        );
        assert!(TableRef::parse("p-.ds.t", def).is_err());
        assert!(TableRef::parse("1p.ds.t", def).is_err());
        assert!(TableRef::parse(&format!("{}.ds.t", "a".repeat(31)), def).is_err());
        assert_eq!(
            TableRef::parse("ds.t", None).unwrap_err(),
            crate::model::RefError::NoProject("ds.t".into())
        );
    }

    #[test]
    fn sql_ident_is_backticked() {
        assert_eq!(t("p", "d", "t").sql_ident(), "`p.d.t`");
    }

    #[test]
    fn splits_pairs_at_the_only_valid_colon() {
        assert_eq!(
            split_pair_line("dev.t1:prod.t1").unwrap(),
            ("dev.t1".into(), "prod.t1".into())
        );
        assert_eq!(
            split_pair_line("proj:dev.t1:proj:prod.t1").unwrap(),
            ("proj:dev.t1".into(), "proj:prod.t1".into())
        );
        assert_eq!(
            split_pair_line("p.dev.t1:p:prod.t1").unwrap(),
            ("p.dev.t1".into(), "p:prod.t1".into())
        );
        assert_eq!(
            split_pair_line("dev.t1, prod.t1").unwrap(),
            ("dev.t1".into(), "prod.t1".into())
        );
        assert_eq!(
            split_pair_line("dev.t1 \t prod.t1").unwrap(),
            ("dev.t1".into(), "prod.t1".into())
        );
        assert_eq!(
            split_pair_line("schemas/users.json:prod.users").unwrap(),
            ("schemas/users.json".into(), "prod.users".into())
        );
        assert_eq!(
            split_pair_line("file:a.json:prod.users").unwrap(),
            ("file:a.json".into(), "prod.users".into())
        );
    }

    #[test]
    fn ambiguous_and_invalid_pairs_are_errors() {
        // `a:b.c:d.e` splits as `a:b.c` + `d.e` and as `a` + ... no: only valid splits count.
        let e = split_pair_line("dev.t1").unwrap_err();
        assert!(e.contains("not a pair"), "{e}");
        let e = split_pair_line("dev.t1:Prod.t1!").unwrap_err();
        assert!(e.contains("Prod.t1!") || e.contains("not a pair"), "{e}");
        // x:y.z:w.v can split as (x:y.z , w.v) and (x , ...)? `x` alone is invalid, so unique.
        assert!(split_pair_line("x:y.z:w.v").is_ok());
        // Both splits valid: `a.b:c.d:e.f` -> (a.b, c.d:e.f)? `c.d:e.f` is invalid (c.d is not a
        // project), so unique; a real ambiguity needs legacy refs on both sides without dataset
        // dots, which BigQuery's grammar rules out. Check the error path directly:
        let e = split_pair_line("a.b:c.d:e.f:g.h").unwrap_err();
        assert!(!e.is_empty());
    }

    #[test]
    fn pair_lines_skip_comments_and_report_every_bad_line() {
        let text =
            "# header\n\ndev.t1:prod.t1\nnot a pair at all\ndev.t2,prod.t2\nbad-ds.x:prod.t3\n";
        let errs = parse_pair_lines("pairs.txt", text, Some("proj")).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![4, 6]);
        assert!(errs[0].to_string().starts_with("pairs.txt:4: "));
        let ok = parse_pair_lines(
            "pairs.txt",
            "# c\ndev.t1:prod.t1\n dev.t2 prod.t2 \n",
            Some("proj"),
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].a, Source::Table(t("proj", "dev", "t2")));
    }

    #[test]
    fn dataset_table_without_project_is_an_error_per_line() {
        let errs = parse_pair_lines("<stdin>", "dev.t1:prod.t1\n", None).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.contains("--project"), "{}", errs[0].message);
    }

    #[test]
    fn positional_arguments() {
        let p = parse_pair_args(&["dev.a".into(), "prod.a".into()], Some("x")).unwrap();
        assert_eq!(p.len(), 1);
        let p =
            parse_pair_args(&["dev.a:prod.a".into(), "dev.b:prod.b".into()], Some("x")).unwrap();
        assert_eq!(p.len(), 2);
        let e = parse_pair_args(&["dev.a".into()], Some("x")).unwrap_err();
        assert!(e[0].message.contains("single table"), "{}", e[0].message);
        let e = parse_pair_args(&["dev.a".into(), "prod.a".into(), "x.y".into()], Some("x"))
            .unwrap_err();
        assert!(!e.is_empty());
    }

    #[test]
    fn empty_input_is_an_error() {
        let e = collect_pairs(
            PairInputs {
                args: &[],
                pairs_file: None,
                stdin: Some("# only a comment\n\n".into()),
                listed: None,
            },
            Some("p"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("no pairs"), "{e}");
        let e = collect_pairs(
            PairInputs {
                args: &[],
                pairs_file: None,
                stdin: None,
                listed: None,
            },
            Some("p"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("no pairs given"), "{e}");
    }

    #[test]
    fn table_lines() {
        let t = parse_table_lines("<stdin>", "# x\np.d.t\n\nd.u\n", Some("q")).unwrap();
        assert_eq!(t.len(), 2);
        let e = parse_table_lines("<stdin>", "p.d.t\nbad one\n", Some("q")).unwrap_err();
        assert_eq!(e[0].line, 2);
    }

    const SCHEMA: &str = r#"[{"name": "id", "type": "INT64"}]"#;

    /// Issue 15.7: a pairs file's schema-file paths are relative to the pairs file, as the
    /// config file's are; table references and absolute paths stay as written.
    #[test]
    fn a_pairs_files_schema_paths_are_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let gate = dir.path().join("gate");
        std::fs::create_dir_all(gate.join("old")).unwrap();
        for f in ["users.json", "other.json", "old/users.json"] {
            std::fs::write(gate.join(f), SCHEMA).unwrap();
        }
        let abs = dir.path().join("abs.json");
        std::fs::write(&abs, SCHEMA).unwrap();
        let pairs = gate.join("pairs.txt");
        std::fs::write(
            &pairs,
            format!(
                "users.json:old/users.json\nusers.json:p.prod.users\nfile:other.json,{}\n",
                abs.display()
            ),
        )
        .unwrap();
        let got = read_pairs_file(&pairs, None).unwrap();
        let file = |p: PathBuf| Source::SchemaFile(p);
        assert_eq!(
            got,
            vec![
                Pair {
                    a: file(gate.join("users.json")),
                    b: file(gate.join("old/users.json")),
                },
                Pair {
                    a: file(gate.join("users.json")),
                    b: Source::Table(t("p", "prod", "users")),
                },
                Pair {
                    a: file(gate.join("other.json")),
                    b: file(abs.clone()),
                },
            ]
        );
    }

    /// A missing schema file is named where it was looked for: beside the pairs file.
    #[test]
    fn a_missing_schema_file_in_a_pairs_file_is_named_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let pairs = dir.path().join("pairs.txt");
        std::fs::write(&pairs, "# gate\nnope.json:p.d.t\n").unwrap();
        let e = read_pairs_file(&pairs, None).unwrap_err().to_string();
        let want = dir.path().join("nope.json").display().to_string();
        assert!(e.contains(&format!("{}:2: ", pairs.display())), "{e}");
        assert!(e.contains(&want), "{e}");
    }

    /// Stdin, arguments and the action's `pairs` input have no file: their schema files stay
    /// relative to the working directory (the crate root in tests).
    #[test]
    fn pair_lines_without_a_file_keep_paths_as_written() {
        let line = "examples/schemas/pr/users.json:examples/schemas/prod/users.json";
        let got = parse_pair_lines("<stdin>", line, None).unwrap();
        assert_eq!(
            got[0].a,
            Source::SchemaFile(PathBuf::from("examples/schemas/pr/users.json"))
        );
        let got = parse_pair_args(&[line.to_string()], None).unwrap();
        assert_eq!(
            got[0].b,
            Source::SchemaFile(PathBuf::from("examples/schemas/prod/users.json"))
        );
    }
}
