//! Schema diff: compare two schemas field by field (nested too) and classify every change by
//! BigQuery's rules for in-place schema changes. Pure: no I/O.
//!
//! Direction: `A` is the proposed schema (dev, a PR's schema file), `B` the one it would replace
//! (prod, the base branch). A change reads "B → A": `column_added` means in A and not in B, and
//! `before`/`after` are B's and A's values.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::Pair;
use crate::warehouse::{Field, TableMeta};

/// How a change affects consumers and whether BigQuery can apply it in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Class {
    /// No effect on data or queries (descriptions, labels, column order).
    Cosmetic,
    /// Applied in place; existing data and queries keep working.
    Compatible,
    /// Rejected by BigQuery in place, or breaks existing data or consumers.
    Breaking,
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Class::Cosmetic => "cosmetic",
            Class::Compatible => "compatible",
            Class::Breaking => "breaking",
        })
    }
}

/// The kinds of change; `.bqcheck.yml` accept entries name them in snake_case (JSON's `kind`),
/// or by the short aliases `added`, `removed`, `type`, `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ChangeKind {
    #[serde(alias = "added")]
    ColumnAdded,
    #[serde(alias = "removed")]
    ColumnRemoved,
    #[serde(alias = "type")]
    TypeChanged,
    #[serde(alias = "mode")]
    ModeChanged,
    NameCaseChanged,
    DescriptionChanged,
    PolicyTagsChanged,
    DefaultValueChanged,
    MaxLengthChanged,
    PrecisionChanged,
    ScaleChanged,
    CollationChanged,
    RangeElementTypeChanged,
    ColumnOrderChanged,
    /// A removed column and an added one that look like one column renamed.
    #[serde(alias = "renamed")]
    ColumnRenamed,
    PartitioningChanged,
    ClusteringChanged,
    TableDescriptionChanged,
    LabelsChanged,
    PrimaryKeyChanged,
}

impl ChangeKind {
    /// Words for text reports.
    pub(crate) fn label(self) -> &'static str {
        match self {
            ChangeKind::ColumnAdded => "column added",
            ChangeKind::ColumnRemoved => "column removed",
            ChangeKind::TypeChanged => "type",
            ChangeKind::ModeChanged => "mode",
            ChangeKind::NameCaseChanged => "name case",
            ChangeKind::DescriptionChanged => "description",
            ChangeKind::PolicyTagsChanged => "policy tags",
            ChangeKind::DefaultValueChanged => "default value",
            ChangeKind::MaxLengthChanged => "maxLength",
            ChangeKind::PrecisionChanged => "precision",
            ChangeKind::ScaleChanged => "scale",
            ChangeKind::CollationChanged => "collation",
            ChangeKind::RangeElementTypeChanged => "RANGE element type",
            ChangeKind::ColumnOrderChanged => "column order",
            ChangeKind::ColumnRenamed => "renamed?",
            ChangeKind::PartitioningChanged => "partitioning",
            ChangeKind::ClusteringChanged => "clustering",
            ChangeKind::TableDescriptionChanged => "table description",
            ChangeKind::LabelsChanged => "labels",
            ChangeKind::PrimaryKeyChanged => "primary key",
        }
    }
}

/// Path used for table-level changes (no column can be named this).
pub(crate) const TABLE_PATH: &str = "(table)";

/// One difference between the schemas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Change {
    /// Field path (`address.zip`), or `(table)` for table options.
    pub(crate) path: String,
    pub(crate) kind: ChangeKind,
    pub(crate) class: Class,
    /// B's value (null when the column is added).
    pub(crate) before: Option<String>,
    /// A's value (null when the column is removed).
    pub(crate) after: Option<String>,
    /// Why the class was chosen, or a warning (precision loss, `SELECT *` order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
    /// Acknowledged by a `.bqcheck.yml` accept entry: its reason. An accepted change is
    /// reported but never fails the gate.
    #[serde(skip)]
    pub(crate) accepted: Option<String>,
}

impl Change {
    fn new(
        path: &str,
        kind: ChangeKind,
        class: Class,
        before: Option<String>,
        after: Option<String>,
    ) -> Change {
        Change {
            path: path.to_string(),
            kind,
            class,
            before,
            after,
            note: None,
            accepted: None,
        }
    }

    fn note(mut self, note: impl Into<String>) -> Change {
        self.note = Some(note.into());
        self
    }

    /// `+`, `-` or `~`, as in a diff.
    pub(crate) fn sign(&self) -> char {
        match self.kind {
            ChangeKind::ColumnAdded => '+',
            ChangeKind::ColumnRemoved => '-',
            _ => '~',
        }
    }

    /// One line describing the change, e.g. `type INT64 → STRING`.
    pub(crate) fn describe(&self) -> String {
        let show = |v: &Option<String>| match v {
            Some(s) if s.is_empty() => "\"\"".to_string(),
            Some(s) => s.clone(),
            None => "(none)".to_string(),
        };
        match self.kind {
            ChangeKind::ColumnAdded => format!("column added: {}", show(&self.after)),
            ChangeKind::ColumnRemoved => format!("column removed: {}", show(&self.before)),
            ChangeKind::ColumnRenamed => {
                format!("renamed? {} → {}", show(&self.before), show(&self.after))
            }
            k => format!(
                "{} {} → {}",
                k.label(),
                show(&self.before),
                show(&self.after)
            ),
        }
    }
}

/// What to compare besides the columns.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DiffOptions {
    /// Partitioning, clustering, table description, labels, primary key.
    pub(crate) include_table_options: bool,
}

/// The standard name of a type: legacy names are the same type.
pub(crate) fn canonical_type(t: &str) -> String {
    let up = t.trim().to_ascii_uppercase();
    match up.as_str() {
        "INTEGER" => "INT64".into(),
        "FLOAT" => "FLOAT64".into(),
        "BOOLEAN" => "BOOL".into(),
        "RECORD" => "STRUCT".into(),
        "DECIMAL" => "NUMERIC".into(),
        "BIGDECIMAL" => "BIGNUMERIC".into(),
        _ => up,
    }
}

/// Missing mode means NULLABLE.
pub(crate) fn canonical_mode(m: Option<&str>) -> String {
    match m.map(str::trim) {
        None | Some("") => "NULLABLE".into(),
        Some(m) => m.to_ascii_uppercase(),
    }
}

fn type_with_params(f: &Field) -> String {
    let t = canonical_type(&f.field_type);
    match (f.max_length, f.precision, f.scale) {
        (Some(l), _, _) => format!("{t}({l})"),
        (None, Some(p), Some(s)) => format!("{t}({p}, {s})"),
        (None, Some(p), None) => format!("{t}({p})"),
        _ => t,
    }
}

/// `STRING NULLABLE`, `STRUCT<zip STRING, city STRING> REPEATED`: a column's shape, for reports.
pub(crate) fn describe_field(f: &Field) -> String {
    format!("{} {}", describe_type(f), canonical_mode(f.mode.as_deref()))
}

fn describe_type(f: &Field) -> String {
    if canonical_type(&f.field_type) == "STRUCT" && !f.fields.is_empty() {
        let inner: Vec<String> = f
            .fields
            .iter()
            .map(|c| {
                let mode = canonical_mode(c.mode.as_deref());
                let t = describe_type(c);
                match mode.as_str() {
                    "REPEATED" => format!("{} ARRAY<{t}>", c.name),
                    "REQUIRED" => format!("{} {t} NOT NULL", c.name),
                    _ => format!("{} {t}", c.name),
                }
            })
            .collect();
        format!("STRUCT<{}>", inner.join(", "))
    } else {
        type_with_params(f)
    }
}

/// Is changing a column from `from` to `to` a widening BigQuery applies in place?
/// Returns the note to attach (precision loss) when it is.
fn widening(from: &str, to: &str) -> Option<Option<&'static str>> {
    match (from, to) {
        ("INT64", "NUMERIC") | ("INT64", "BIGNUMERIC") | ("NUMERIC", "BIGNUMERIC") => Some(None),
        ("INT64", "FLOAT64") | ("NUMERIC", "FLOAT64") | ("BIGNUMERIC", "FLOAT64") => Some(Some(
            "FLOAT64 cannot hold every value of the old type exactly: precision may be lost",
        )),
        _ => None,
    }
}

/// Digits before and after the point a NUMERIC-like column holds: its parameters when set
/// (a missing scale is 0 when a precision is given), else the type's own.
fn digits(f: &Field, ty: &str) -> Option<(i64, i64)> {
    match (f.precision, ty) {
        (Some(p), _) => {
            let s = f.scale.unwrap_or(0);
            Some((p - s, s))
        }
        (None, "INT64") => Some((19, 0)),
        (None, "NUMERIC") => Some((29, 9)),
        (None, "BIGNUMERIC") => Some((39, 38)),
        _ => None,
    }
}

/// Can the new column (`to`) hold every value of the old one (`from`, of type `from_ty`)?
/// Only parameterised targets can fall short: INT64 → NUMERIC(5) cannot.
fn holds_every_value(from: &Field, from_ty: &str, to: &Field) -> bool {
    if to.precision.is_none() {
        return true;
    }
    match (digits(from, from_ty), digits(to, "")) {
        (Some((fi, fs)), Some((ti, ts))) => ti >= fi && ts >= fs,
        _ => true,
    }
}

/// Compare two tables' schemas (and options when asked, and both sides have them). `a` is the
/// proposed side, `b` the base.
pub(crate) fn diff(a: &TableMeta, b: &TableMeta, opts: DiffOptions) -> Vec<Change> {
    let mut changes = Vec::new();
    diff_fields(a.fields(), b.fields(), "", &mut changes);
    // A schema-only file has no table options to compare: comparing would invent changes.
    if opts.include_table_options && !a.schema_only && !b.schema_only {
        diff_table_options(a, b, &mut changes);
    }
    changes
}

fn diff_fields(a: &[Field], b: &[Field], prefix: &str, out: &mut Vec<Change>) {
    // Each side indexed by lower-cased name (the first of duplicates, as a scan would find):
    // matching is linear, so 10,000 columns take milliseconds, not a minute.
    let index = |fields: &[Field]| {
        let mut m: std::collections::HashMap<String, usize> =
            std::collections::HashMap::with_capacity(fields.len());
        for (i, f) in fields.iter().enumerate() {
            m.entry(f.name.to_ascii_lowercase()).or_insert(i);
        }
        m
    };
    let (ia, ib) = (index(a), index(b));
    let find = |fields: &[Field], name: &str| {
        let m = if std::ptr::eq(fields, a) { &ia } else { &ib };
        m.get(&name.to_ascii_lowercase()).copied()
    };
    // Columns only in B or only in A, and which of them look like one column renamed.
    let removed: Vec<(usize, &Field)> = b
        .iter()
        .enumerate()
        .filter(|(_, fb)| find(a, &fb.name).is_none())
        .collect();
    let added: Vec<(usize, &Field)> = a
        .iter()
        .enumerate()
        .filter(|(_, fa)| find(b, &fa.name).is_none())
        .collect();
    let renames = likely_renames(&removed, &added);
    // Columns of B in B's order: changed, renamed or removed.
    for (i, fb) in b.iter().enumerate() {
        let path = format!("{prefix}{}", fb.name);
        if let Some(j) = find(a, &fb.name) {
            diff_field(&a[j], fb, &path, out);
            continue;
        }
        if let Some((_, fa, why)) = renames.iter().find(|(r, _, _)| *r == i) {
            let to = format!("{prefix}{}", fa.name);
            out.push(
                Change::new(&to, ChangeKind::ColumnRenamed, Class::Breaking, Some(path), Some(to.clone()))
                    .note(format!(
                        "a column removed and one added with {why}: a rename breaks every query that names the old column; if it is not one, it is a removal and an addition (accept it with `change: renamed`, `from`, `to`)"
                    )),
            );
            continue;
        }
        out.push(
            Change::new(
                &path,
                ChangeKind::ColumnRemoved,
                Class::Breaking,
                Some(describe_field(fb)),
                None,
            )
            .note(if prefix.is_empty() {
                "removing a column breaks every query and load that names it"
            } else {
                "removing a RECORD field is not allowed in place"
            }),
        );
    }
    // Columns only in A, in A's order: added.
    for (_, fa) in &added {
        if renames.iter().any(|(_, r, _)| std::ptr::eq(*r, *fa)) {
            continue;
        }
        let path = format!("{prefix}{}", fa.name);
        let mode = canonical_mode(fa.mode.as_deref());
        let change = Change::new(
            &path,
            ChangeKind::ColumnAdded,
            if mode == "REQUIRED" {
                Class::Breaking
            } else {
                Class::Compatible
            },
            None,
            Some(describe_field(fa)),
        );
        out.push(if mode == "REQUIRED" {
            change.note("a REQUIRED column cannot be added to a table that has rows")
        } else {
            change
        });
    }
    // Relative order of the columns both sides have.
    let common_b: Vec<String> = b
        .iter()
        .filter(|f| find(a, &f.name).is_some())
        .map(|f| f.name.to_ascii_lowercase())
        .collect();
    let common_a: Vec<String> = a
        .iter()
        .filter(|f| find(b, &f.name).is_some())
        .map(|f| f.name.to_ascii_lowercase())
        .collect();
    if common_a != common_b {
        let path = if prefix.is_empty() {
            TABLE_PATH.to_string()
        } else {
            prefix.trim_end_matches('.').to_string()
        };
        out.push(
            Change::new(
                &path,
                ChangeKind::ColumnOrderChanged,
                Class::Cosmetic,
                Some(common_b.join(", ")),
                Some(common_a.join(", ")),
            )
            .note("warning: SELECT * and positional consumers see the new column order"),
        );
    }
}

/// Removed columns (B's, with their position) that look renamed to an added one (A's): the
/// same type, mode and contents at the same position, or the same non-empty description.
/// Each column is paired at most once, in B's order. Returns (B's position, A's field, why).
fn likely_renames<'a>(
    removed: &[(usize, &Field)],
    added: &[(usize, &'a Field)],
) -> Vec<(usize, &'a Field, &'static str)> {
    let same_shape = |x: &Field, y: &Field| {
        canonical_type(&x.field_type) == canonical_type(&y.field_type)
            && canonical_mode(x.mode.as_deref()) == canonical_mode(y.mode.as_deref())
            && {
                // A RECORD renamed keeps its fields.
                let mut inner = Vec::new();
                diff_fields(&x.fields, &y.fields, "", &mut inner);
                inner.is_empty()
            }
    };
    let mut out: Vec<(usize, &'a Field, &'static str)> = Vec::new();
    for &(i, fb) in removed {
        let taken = |fa: &Field| out.iter().any(|(_, t, _)| std::ptr::eq(*t, fa));
        let by_position = added
            .iter()
            .find(|(j, fa)| *j == i && !taken(fa) && same_shape(fa, fb))
            .map(|(_, fa)| (*fa, "the same type and mode at the same position"));
        let by_description = || {
            let d = fb
                .description
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())?;
            added
                .iter()
                .find(|(_, fa)| !taken(fa) && fa.description.as_deref().map(str::trim) == Some(d))
                .map(|(_, fa)| (*fa, "the same description"))
        };
        if let Some((fa, why)) = by_position.or_else(by_description) {
            out.push((i, fa, why));
        }
    }
    out
}

fn diff_field(a: &Field, b: &Field, path: &str, out: &mut Vec<Change>) {
    if a.name != b.name {
        out.push(
            Change::new(
                path,
                ChangeKind::NameCaseChanged,
                Class::Cosmetic,
                Some(b.name.clone()),
                Some(a.name.clone()),
            )
            .note("BigQuery column names are case-insensitive; case-sensitive consumers (JSON keys) see the new spelling"),
        );
    }
    let (ta, tb) = (canonical_type(&a.field_type), canonical_type(&b.field_type));
    let (ma, mb) = (
        canonical_mode(a.mode.as_deref()),
        canonical_mode(b.mode.as_deref()),
    );
    let mut type_ok = true;
    if ta != tb {
        type_ok = false;
        let change = Change::new(
            path,
            ChangeKind::TypeChanged,
            Class::Breaking,
            Some(describe_type(b)),
            Some(describe_type(a)),
        );
        let fits = holds_every_value(b, &tb, a);
        out.push(match widening(&tb, &ta) {
            Some(_) if !fits => change.note(format!(
                "{} cannot hold every {} value",
                describe_type(a),
                describe_type(b)
            )),
            Some(note) => {
                let c = Change {
                    class: Class::Compatible,
                    ..change
                };
                match note {
                    Some(n) => c.note(format!("warning: {n}")),
                    None => c.note("widening: existing values convert exactly"),
                }
            }
            None if ta == "STRUCT" || tb == "STRUCT" => {
                change.note("a RECORD cannot become a scalar (or the reverse) in place")
            }
            None => change.note(format!("{tb} values cannot be coerced to {ta} in place")),
        });
    }
    if ma != mb {
        let (class, note) = match (mb.as_str(), ma.as_str()) {
            ("REQUIRED", "NULLABLE") => (
                Class::Compatible,
                "relaxing REQUIRED to NULLABLE is allowed in place",
            ),
            ("NULLABLE", "REQUIRED") => (
                Class::Breaking,
                "NULLABLE cannot become REQUIRED in place (existing NULLs)",
            ),
            _ => (
                Class::Breaking,
                "a column cannot change to or from REPEATED in place",
            ),
        };
        out.push(Change::new(path, ChangeKind::ModeChanged, class, Some(mb), Some(ma)).note(note));
    }
    if a.description != b.description {
        out.push(Change::new(
            path,
            ChangeKind::DescriptionChanged,
            Class::Cosmetic,
            b.description.clone(),
            a.description.clone(),
        ));
    }
    let tags = |f: &Field| {
        let mut t = f
            .policy_tags
            .as_ref()
            .map(|p| p.names.clone())
            .unwrap_or_default();
        t.sort();
        t
    };
    if tags(a) != tags(b) {
        let join = |v: Vec<String>| (!v.is_empty()).then(|| v.join(", "));
        out.push(
            Change::new(
                path,
                ChangeKind::PolicyTagsChanged,
                Class::Compatible,
                join(tags(b)),
                join(tags(a)),
            )
            .note("allowed in place, but changes who may read the column"),
        );
    }
    if a.default_value_expression != b.default_value_expression {
        out.push(
            Change::new(
                path,
                ChangeKind::DefaultValueChanged,
                Class::Compatible,
                b.default_value_expression.clone(),
                a.default_value_expression.clone(),
            )
            .note("applies to rows written from now on"),
        );
    }
    if type_ok {
        diff_params(a, b, path, out);
    }
    if a.collation.as_deref().unwrap_or("") != b.collation.as_deref().unwrap_or("") {
        out.push(
            Change::new(
                path,
                ChangeKind::CollationChanged,
                Class::Breaking,
                b.collation.clone(),
                a.collation.clone(),
            )
            .note("an existing column's collation cannot be changed in place"),
        );
    }
    let range = |f: &Field| {
        f.range_element_type
            .as_ref()
            .map(|r| canonical_type(&r.element_type))
    };
    if type_ok && range(a) != range(b) {
        out.push(
            Change::new(
                path,
                ChangeKind::RangeElementTypeChanged,
                Class::Breaking,
                range(b),
                range(a),
            )
            .note("RANGE element types cannot be coerced"),
        );
    }
    if type_ok && ta == "STRUCT" {
        diff_fields(&a.fields, &b.fields, &format!("{path}."), out);
    }
}

/// maxLength, precision and scale: widening is compatible, narrowing (or adding a limit) breaks.
fn diff_params(a: &Field, b: &Field, path: &str, out: &mut Vec<Change>) {
    let widen = |before: Option<i64>, after: Option<i64>| -> Class {
        match (before, after) {
            (Some(x), Some(y)) if y >= x => Class::Compatible,
            (_, None) => Class::Compatible,
            _ => Class::Breaking,
        }
    };
    let s = |v: Option<i64>| v.map(|n| n.to_string());
    if a.max_length != b.max_length {
        let class = widen(b.max_length, a.max_length);
        out.push(
            Change::new(
                path,
                ChangeKind::MaxLengthChanged,
                class,
                s(b.max_length),
                s(a.max_length),
            )
            .note(match class {
                Class::Breaking => "a shorter (or new) maxLength can reject existing values",
                _ => "a longer maxLength is allowed in place",
            }),
        );
    }
    if a.precision != b.precision {
        let class = widen(b.precision, a.precision);
        out.push(
            Change::new(
                path,
                ChangeKind::PrecisionChanged,
                class,
                s(b.precision),
                s(a.precision),
            )
            .note(match class {
                Class::Breaking => "a smaller (or new) precision can reject existing values",
                _ => "a larger precision is allowed in place",
            }),
        );
    }
    // A missing scale is 0 when a precision is set: NUMERIC(10,2) → NUMERIC(10) drops digits.
    let scale = |f: &Field| f.scale.or(f.precision.map(|_| 0));
    if scale(a) != scale(b) {
        // More digits after the point are fine only if the digits before it do not shrink.
        let int_digits = |f: &Field| f.precision.map(|p| p - f.scale.unwrap_or(0));
        let int_ok = match (int_digits(b), int_digits(a)) {
            (Some(x), Some(y)) => y >= x,
            (_, None) => true,
            (None, Some(_)) => false,
        };
        let class = match widen(scale(b), scale(a)) {
            Class::Compatible if int_ok => Class::Compatible,
            _ => Class::Breaking,
        };
        out.push(
            Change::new(path, ChangeKind::ScaleChanged, class, s(b.scale), s(a.scale)).note(
                match class {
                    Class::Breaking => {
                        "a smaller scale, or one that leaves fewer integer digits, can reject existing values"
                    }
                    _ => "a larger scale with as many integer digits is allowed in place",
                },
            ),
        );
    }
}

fn diff_table_options(a: &TableMeta, b: &TableMeta, out: &mut Vec<Change>) {
    let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
    let part = |t: &TableMeta| {
        json(&t.time_partitioning)
            .map(|s| format!("time {s}"))
            .or_else(|| json(&t.range_partitioning).map(|s| format!("range {s}")))
    };
    // The partitioning scheme (time type and column, or the integer range) is fixed at
    // creation; its expiration and the partition-filter requirement change in place.
    let scheme = |t: &TableMeta| {
        let time = t.time_partitioning.as_ref().map(|p| {
            (
                p.get("type")
                    .and_then(|v| v.as_str())
                    .unwrap_or("DAY")
                    .to_string(),
                p.get("field")
                    .and_then(|v| v.as_str())
                    .map(str::to_lowercase),
            )
        });
        (time, t.range_partitioning.clone())
    };
    if a.time_partitioning != b.time_partitioning || a.range_partitioning != b.range_partitioning {
        let in_place = scheme(a) == scheme(b);
        out.push(
            Change::new(
                TABLE_PATH,
                ChangeKind::PartitioningChanged,
                if in_place {
                    Class::Compatible
                } else {
                    Class::Breaking
                },
                part(b),
                part(a),
            )
            .note(if in_place {
                "partition expiration and the partition-filter requirement change in place"
            } else {
                "the partitioning scheme cannot be changed in place: the table must be recreated"
            }),
        );
    }
    let clus = |t: &TableMeta| {
        t.clustering
            .as_ref()
            .filter(|c| !c.fields.is_empty())
            .map(|c| c.fields.join(", "))
    };
    if clus(a) != clus(b) {
        out.push(
            Change::new(
                TABLE_PATH,
                ChangeKind::ClusteringChanged,
                Class::Breaking,
                clus(b),
                clus(a),
            )
            .note("existing data stays clustered the old way; queries tuned for it change cost"),
        );
    }
    if a.description != b.description {
        out.push(Change::new(
            TABLE_PATH,
            ChangeKind::TableDescriptionChanged,
            Class::Cosmetic,
            b.description.clone(),
            a.description.clone(),
        ));
    }
    if a.labels != b.labels {
        let show = |t: &TableMeta| {
            (!t.labels.is_empty()).then(|| {
                t.labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
        };
        out.push(Change::new(
            TABLE_PATH,
            ChangeKind::LabelsChanged,
            Class::Cosmetic,
            show(b),
            show(a),
        ));
    }
    let pk = |t: &TableMeta| t.primary_key().map(|c| c.join(", "));
    if pk(a) != pk(b) {
        out.push(
            Change::new(
                TABLE_PATH,
                ChangeKind::PrimaryKeyChanged,
                Class::Compatible,
                pk(b),
                pk(a),
            )
            .note("primary keys are unenforced; the optimizer and key-based tools rely on them"),
        );
    }
}

/// Changes of `class` that are not accepted.
pub(crate) fn count(changes: &[Change], class: Class) -> usize {
    changes
        .iter()
        .filter(|c| c.class == class && c.accepted.is_none())
        .count()
}

/// An acknowledged change (a `.bqcheck.yml` accept entry), resolved to the pair's sides.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AcceptRule {
    pub(crate) pair: Pair,
    /// The field path as reported (`address.zip`); compared case-insensitively, as BigQuery
    /// compares column names.
    pub(crate) path: String,
    /// A rename's old path (`change: renamed`).
    pub(crate) from: Option<String>,
    pub(crate) kind: ChangeKind,
    pub(crate) reason: String,
}

impl AcceptRule {
    fn matches(&self, pair: &Pair, change: &Change) -> bool {
        self.pair.a.same_as(&pair.a)
            && self.pair.b.same_as(&pair.b)
            && self.kind == change.kind
            && self.path.eq_ignore_ascii_case(&change.path)
            && self.from.as_deref().is_none_or(|f| {
                change
                    .before
                    .as_deref()
                    .is_some_and(|b| b.eq_ignore_ascii_case(f))
            })
    }
}

/// Mark the changes of `pair` that a rule accepts (the first matching rule's reason), and set
/// `used[i]` for every rule that matched something.
pub(crate) fn accept(pair: &Pair, changes: &mut [Change], rules: &[AcceptRule], used: &mut [bool]) {
    for change in changes.iter_mut() {
        for (i, rule) in rules.iter().enumerate() {
            if rule.matches(pair, change) {
                if change.accepted.is_none() {
                    change.accepted = Some(rule.reason.clone());
                }
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{f, table};
    use crate::warehouse::model::{
        Clustering, PolicyTags, PrimaryKey, RangeElementType, TableConstraints,
    };

    fn m(mut x: Field, mode: &str) -> Field {
        x.mode = Some(mode.into());
        x
    }
    fn rec(name: &str, fields: Vec<Field>) -> Field {
        Field {
            fields,
            ..f(name, "RECORD")
        }
    }
    /// diff(a = proposed, b = base)
    fn d(a: Vec<Field>, b: Vec<Field>) -> Vec<Change> {
        diff(&table(a), &table(b), DiffOptions::default())
    }
    fn one(a: Vec<Field>, b: Vec<Field>) -> Change {
        let c = d(a, b);
        assert_eq!(c.len(), 1, "{c:#?}");
        c.into_iter().next().unwrap()
    }

    #[test]
    fn accept_rules_mark_only_their_change_and_report_use() {
        use crate::model::{Source, TableRef};
        let t = |d: &str, n: &str| {
            Source::Table(TableRef {
                project: "p".into(),
                dataset: d.into(),
                table: n.into(),
            })
        };
        let users = Pair {
            a: t("dev", "users"),
            b: t("prod", "users"),
        };
        let orders = Pair {
            a: t("dev", "orders"),
            b: t("prod", "orders"),
        };
        let mut changes = d(
            vec![f("id", "INT64")],
            vec![f("id", "INT64"), f("Legacy_Flag", "BOOL")],
        );
        changes.extend(d(vec![f("id", "STRING")], vec![f("id", "INT64")]));
        let rule = |pair: &Pair, path: &str, kind| AcceptRule {
            pair: pair.clone(),
            path: path.into(),
            from: None,
            kind,
            reason: "dropped in #123".into(),
        };
        let rules = vec![
            rule(&users, "legacy_flag", ChangeKind::ColumnRemoved),
            // Right path, wrong kind: must not accept the removal.
            rule(&users, "legacy_flag", ChangeKind::TypeChanged),
            // Right change, other pair.
            rule(&orders, "id", ChangeKind::TypeChanged),
        ];
        let mut used = vec![false; rules.len()];
        accept(&users, &mut changes, &rules, &mut used);
        assert_eq!(used, [true, false, false]);
        let removed = &changes[0];
        assert_eq!(removed.kind, ChangeKind::ColumnRemoved);
        assert_eq!(removed.accepted.as_deref(), Some("dropped in #123"));
        assert_eq!(changes[1].kind, ChangeKind::TypeChanged);
        assert_eq!(
            changes[1].accepted, None,
            "the type change of users is not accepted"
        );
        assert_eq!(
            count(&changes, Class::Breaking),
            1,
            "accepted changes are not counted"
        );
        // A rename is accepted by its old and new path, not by the new path alone.
        let mut renamed = d(
            vec![f("id", "INT64"), f("user_id", "INT64")],
            vec![f("id", "INT64"), f("uid", "INT64")],
        );
        let renames = |from: &str| AcceptRule {
            from: Some(from.into()),
            ..rule(&users, "user_id", ChangeKind::ColumnRenamed)
        };
        let rules = vec![renames("other"), renames("UID")];
        let mut used = vec![false; 2];
        accept(&users, &mut renamed, &rules, &mut used);
        assert_eq!(used, [false, true]);
        assert!(renamed[0].accepted.is_some());
    }

    #[test]
    fn identical_schemas_have_no_changes() {
        let s = vec![f("id", "INT64"), rec("a", vec![f("zip", "STRING")])];
        assert!(d(s.clone(), s).is_empty());
    }

    #[test]
    fn legacy_and_standard_names_are_the_same_type() {
        let a = vec![
            f("a", "INTEGER"),
            f("b", "FLOAT"),
            f("c", "BOOLEAN"),
            rec("d", vec![f("x", "INTEGER")]),
            f("e", "DECIMAL"),
        ];
        let b = vec![
            f("a", "INT64"),
            f("b", "FLOAT64"),
            f("c", "BOOL"),
            Field {
                fields: vec![f("x", "INT64")],
                ..f("d", "STRUCT")
            },
            f("e", "NUMERIC"),
        ];
        assert!(d(a, b).is_empty());
    }

    #[test]
    fn missing_mode_is_nullable() {
        assert!(d(
            vec![f("a", "STRING")],
            vec![m(f("a", "STRING"), "NULLABLE")]
        )
        .is_empty());
    }

    #[test]
    fn adding_nullable_or_repeated_is_compatible() {
        let c = one(
            vec![f("id", "INT64"), f("x", "STRING")],
            vec![f("id", "INT64")],
        );
        assert_eq!(
            (c.kind, c.class),
            (ChangeKind::ColumnAdded, Class::Compatible)
        );
        assert_eq!(c.after.as_deref(), Some("STRING NULLABLE"));
        let c = one(
            vec![f("id", "INT64"), m(f("x", "STRING"), "REPEATED")],
            vec![f("id", "INT64")],
        );
        assert_eq!(c.class, Class::Compatible);
    }

    #[test]
    fn adding_required_is_breaking() {
        let c = one(
            vec![f("id", "INT64"), m(f("x", "STRING"), "REQUIRED")],
            vec![f("id", "INT64")],
        );
        assert_eq!(
            (c.kind, c.class),
            (ChangeKind::ColumnAdded, Class::Breaking)
        );
    }

    #[test]
    fn removing_a_column_or_record_field_is_breaking() {
        let c = one(
            vec![f("id", "INT64")],
            vec![f("id", "INT64"), f("gone", "STRING")],
        );
        assert_eq!(
            (c.kind, c.class, c.path.as_str()),
            (ChangeKind::ColumnRemoved, Class::Breaking, "gone")
        );
        let c = one(
            vec![rec("addr", vec![f("zip", "STRING")])],
            vec![rec("addr", vec![f("zip", "STRING"), f("city", "STRING")])],
        );
        assert_eq!(
            (c.kind, c.class, c.path.as_str()),
            (ChangeKind::ColumnRemoved, Class::Breaking, "addr.city")
        );
    }

    #[test]
    fn a_likely_rename_is_one_breaking_change_with_a_hint() {
        // Same type and mode at the same position.
        let c = one(
            vec![f("id", "INT64"), f("user_id", "INT64")],
            vec![f("id", "INT64"), f("uid", "INT64")],
        );
        assert_eq!(
            (c.kind, c.class),
            (ChangeKind::ColumnRenamed, Class::Breaking)
        );
        assert_eq!(c.path, "user_id");
        assert_eq!(c.describe(), "renamed? uid → user_id");
        assert!(c
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("same position"));
        // The same description, elsewhere; nested fields by their paths.
        let desc = |n: &str, t: &str| Field {
            description: Some("Where the user lives".into()),
            ..f(n, t)
        };
        let c = one(
            vec![rec("a", vec![f("x", "INT64"), desc("home", "STRING")])],
            vec![rec("a", vec![desc("addr", "STRING"), f("x", "INT64")])],
        );
        // The order of the shared field `x` did not change relative to the others it shares.
        assert_eq!(
            (c.kind, c.path.as_str()),
            (ChangeKind::ColumnRenamed, "a.home")
        );
        assert_eq!(c.before.as_deref(), Some("a.addr"));
        // A different type at the same position is a removal and an addition.
        let c = d(vec![f("user_id", "STRING")], vec![f("uid", "INT64")]);
        let kinds: Vec<_> = c.iter().map(|c| (c.kind, c.class)).collect();
        assert_eq!(
            kinds,
            vec![
                (ChangeKind::ColumnRemoved, Class::Breaking),
                (ChangeKind::ColumnAdded, Class::Compatible)
            ]
        );
        // A RECORD whose fields differ too is not called renamed.
        let c = d(
            vec![rec("new_r", vec![f("x", "INT64")])],
            vec![rec("old_r", vec![f("y", "INT64")])],
        );
        assert!(
            c.iter().all(|c| c.kind != ChangeKind::ColumnRenamed),
            "{c:#?}"
        );
        // Each column is paired once: two removed, one added.
        let c = d(
            vec![f("k", "INT64")],
            vec![f("a", "INT64"), f("b", "INT64")],
        );
        let kinds: Vec<_> = c.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            vec![ChangeKind::ColumnRenamed, ChangeKind::ColumnRemoved]
        );
    }

    #[test]
    fn nested_fields_compare_by_path() {
        let c = one(
            vec![rec("addr", vec![f("zip", "STRING"), f("geo", "GEOGRAPHY")])],
            vec![rec("addr", vec![f("zip", "STRING")])],
        );
        assert_eq!((c.path.as_str(), c.class), ("addr.geo", Class::Compatible));
        let c = one(
            vec![m(rec("items", vec![f("price", "STRING")]), "REPEATED")],
            vec![m(rec("items", vec![f("price", "NUMERIC")]), "REPEATED")],
        );
        assert_eq!(
            (c.path.as_str(), c.kind, c.class),
            ("items.price", ChangeKind::TypeChanged, Class::Breaking)
        );
        let c = one(
            vec![rec(
                "a",
                vec![rec("b", vec![m(f("c", "STRING"), "REQUIRED")])],
            )],
            vec![rec("a", vec![rec("b", vec![f("c", "STRING")])])],
        );
        assert_eq!(
            (c.path.as_str(), c.kind, c.class),
            ("a.b.c", ChangeKind::ModeChanged, Class::Breaking)
        );
    }

    #[test]
    fn mode_rules() {
        let c = one(
            vec![f("a", "STRING")],
            vec![m(f("a", "STRING"), "REQUIRED")],
        );
        assert_eq!(
            (c.kind, c.class),
            (ChangeKind::ModeChanged, Class::Compatible)
        );
        let c = one(
            vec![m(f("a", "STRING"), "REQUIRED")],
            vec![f("a", "STRING")],
        );
        assert_eq!(c.class, Class::Breaking);
        let c = one(
            vec![m(f("a", "STRING"), "REPEATED")],
            vec![f("a", "STRING")],
        );
        assert_eq!(c.class, Class::Breaking);
        let c = one(
            vec![f("a", "STRING")],
            vec![m(f("a", "STRING"), "REPEATED")],
        );
        assert_eq!(c.class, Class::Breaking);
        let c = one(
            vec![m(f("a", "STRING"), "REPEATED")],
            vec![m(f("a", "STRING"), "REQUIRED")],
        );
        assert_eq!(c.class, Class::Breaking);
    }

    #[test]
    fn widening_types_is_compatible_narrowing_is_breaking() {
        let cases = [
            ("INT64", "NUMERIC", Class::Compatible, false),
            ("INTEGER", "BIGNUMERIC", Class::Compatible, false),
            ("NUMERIC", "BIGNUMERIC", Class::Compatible, false),
            ("INT64", "FLOAT64", Class::Compatible, true),
            ("NUMERIC", "FLOAT", Class::Compatible, true),
            ("BIGNUMERIC", "FLOAT64", Class::Compatible, true),
            ("NUMERIC", "INT64", Class::Breaking, false),
            ("FLOAT64", "INT64", Class::Breaking, false),
            ("FLOAT64", "NUMERIC", Class::Breaking, false),
            ("INT64", "STRING", Class::Breaking, false),
            ("STRING", "BYTES", Class::Breaking, false),
            ("DATE", "TIMESTAMP", Class::Breaking, false),
        ];
        for (from, to, class, warns) in cases {
            let c = one(vec![f("x", to)], vec![f("x", from)]);
            assert_eq!(
                (c.kind, c.class),
                (ChangeKind::TypeChanged, class),
                "{from} → {to}"
            );
            let has_warning = c.note.as_deref().is_some_and(|n| n.contains("precision"));
            assert_eq!(has_warning, warns, "{from} → {to}: {:?}", c.note);
        }
    }

    #[test]
    fn record_to_scalar_is_breaking_and_not_recursed() {
        let c = one(
            vec![f("a", "STRING")],
            vec![rec("a", vec![f("x", "INT64")])],
        );
        assert_eq!(
            (c.kind, c.class),
            (ChangeKind::TypeChanged, Class::Breaking)
        );
        assert_eq!(c.before.as_deref(), Some("STRUCT<x INT64>"));
    }

    #[test]
    fn parameterised_types() {
        let s = |l: Option<i64>| Field {
            max_length: l,
            ..f("s", "STRING")
        };
        assert_eq!(
            one(vec![s(Some(20))], vec![s(Some(10))]).class,
            Class::Compatible
        );
        assert_eq!(
            one(vec![s(Some(5))], vec![s(Some(10))]).class,
            Class::Breaking
        );
        assert_eq!(
            one(vec![s(None)], vec![s(Some(10))]).class,
            Class::Compatible
        );
        assert_eq!(one(vec![s(Some(10))], vec![s(None)]).class, Class::Breaking);
        let n = |p: Option<i64>, sc: Option<i64>| Field {
            precision: p,
            scale: sc,
            ..f("n", "NUMERIC")
        };
        let c = one(vec![n(Some(12), Some(2))], vec![n(Some(10), Some(2))]);
        assert_eq!(
            (c.kind, c.class),
            (ChangeKind::PrecisionChanged, Class::Compatible)
        );
        let c = one(vec![n(Some(8), Some(2))], vec![n(Some(10), Some(2))]);
        assert_eq!(c.class, Class::Breaking);
        // scale up with precision up by as much: integer digits kept.
        let c = d(vec![n(Some(12), Some(4))], vec![n(Some(10), Some(2))]);
        assert!(c.iter().all(|c| c.class == Class::Compatible), "{c:#?}");
        // scale up within the same precision: fewer integer digits.
        let c = one(vec![n(Some(10), Some(4))], vec![n(Some(10), Some(2))]);
        assert_eq!(
            (c.kind, c.class),
            (ChangeKind::ScaleChanged, Class::Breaking)
        );
        let c = one(vec![n(Some(10), Some(1))], vec![n(Some(10), Some(2))]);
        assert_eq!(c.class, Class::Breaking);
        // A missing scale is 0 when a precision is set: the 2 decimals are lost.
        let c = one(vec![n(Some(10), None)], vec![n(Some(10), Some(2))]);
        assert_eq!(
            (c.kind, c.class),
            (ChangeKind::ScaleChanged, Class::Breaking),
            "{c:?}"
        );
        assert!(d(vec![n(Some(10), Some(0))], vec![n(Some(10), None)]).is_empty());
    }

    #[test]
    fn a_type_change_to_a_parameterised_type_must_hold_every_old_value() {
        let n = |ty: &str, p: Option<i64>, sc: Option<i64>| Field {
            precision: p,
            scale: sc,
            ..f("n", ty)
        };
        // INT64 needs 19 integer digits.
        let c = one(vec![n("NUMERIC", Some(5), None)], vec![f("n", "INT64")]);
        assert_eq!(
            (c.kind, c.class),
            (ChangeKind::TypeChanged, Class::Breaking),
            "{c:?}"
        );
        assert!(
            c.note
                .as_deref()
                .unwrap_or("")
                .contains("cannot hold every"),
            "{c:?}"
        );
        let c = one(vec![n("NUMERIC", Some(20), Some(1))], vec![f("n", "INT64")]);
        assert_eq!(c.class, Class::Compatible, "{c:?}");
        // NUMERIC(10,2) fits in BIGNUMERIC(12,2), not in BIGNUMERIC(10,4).
        let c = one(
            vec![n("BIGNUMERIC", Some(12), Some(2))],
            vec![n("NUMERIC", Some(10), Some(2))],
        );
        assert_eq!(c.class, Class::Compatible, "{c:?}");
        let c = one(
            vec![n("BIGNUMERIC", Some(10), Some(4))],
            vec![n("NUMERIC", Some(10), Some(2))],
        );
        assert_eq!(c.class, Class::Breaking, "{c:?}");
        // Unparameterised targets keep the plain widening rules.
        assert_eq!(
            one(vec![f("n", "NUMERIC")], vec![f("n", "INT64")]).class,
            Class::Compatible
        );
    }

    #[test]
    fn default_value_is_compatible_description_is_cosmetic() {
        let dv = |e: &str| Field {
            default_value_expression: Some(e.into()),
            ..f("a", "INT64")
        };
        let c = one(vec![dv("1")], vec![dv("0")]);
        assert_eq!(
            (c.kind, c.class),
            (ChangeKind::DefaultValueChanged, Class::Compatible)
        );
        let ds = |e: &str| Field {
            description: Some(e.into()),
            ..f("a", "INT64")
        };
        let c = one(vec![ds("new")], vec![ds("old")]);
        assert_eq!(
            (c.kind, c.class),
            (ChangeKind::DescriptionChanged, Class::Cosmetic)
        );
        assert_eq!(c.describe(), "description old → new");
    }

    #[test]
    fn policy_tags_collation_and_range() {
        let pt = |t: &[&str]| Field {
            policy_tags: Some(PolicyTags {
                names: t.iter().map(|s| s.to_string()).collect(),
            }),
            ..f("a", "STRING")
        };
        let c = one(
            vec![pt(&["projects/p/taxonomies/1/policyTags/2"])],
            vec![pt(&[])],
        );
        assert_eq!(
            (c.kind, c.class),
            (ChangeKind::PolicyTagsChanged, Class::Compatible)
        );
        let co = |c: &str| Field {
            collation: Some(c.into()),
            ..f("a", "STRING")
        };
        let c = one(vec![co("und:ci")], vec![co("")]);
        assert_eq!(
            (c.kind, c.class),
            (ChangeKind::CollationChanged, Class::Breaking)
        );
        let r = |t: &str| Field {
            range_element_type: Some(RangeElementType {
                element_type: t.into(),
            }),
            ..f("r", "RANGE")
        };
        let c = one(vec![r("TIMESTAMP")], vec![r("DATE")]);
        assert_eq!(
            (c.kind, c.class),
            (ChangeKind::RangeElementTypeChanged, Class::Breaking)
        );
        assert!(d(vec![r("DATE")], vec![r("DATE")]).is_empty());
    }

    #[test]
    fn column_order_is_a_cosmetic_warning() {
        let c = one(
            vec![f("b", "INT64"), f("a", "INT64")],
            vec![f("a", "INT64"), f("b", "INT64")],
        );
        assert_eq!(
            (c.kind, c.class, c.path.as_str()),
            (ChangeKind::ColumnOrderChanged, Class::Cosmetic, TABLE_PATH)
        );
        assert!(c.note.as_deref().unwrap_or("").contains("SELECT *"));
        // Adding a column in the middle keeps the relative order of the others.
        let c = one(
            vec![f("a", "INT64"), f("new", "INT64"), f("b", "INT64")],
            vec![f("a", "INT64"), f("b", "INT64")],
        );
        assert_eq!(c.kind, ChangeKind::ColumnAdded);
    }

    #[test]
    fn name_case_is_cosmetic() {
        let c = one(vec![f("UserId", "INT64")], vec![f("userid", "INT64")]);
        assert_eq!(
            (c.kind, c.class),
            (ChangeKind::NameCaseChanged, Class::Cosmetic)
        );
    }

    #[test]
    fn table_options_only_when_asked() {
        let mut a = table(vec![f("id", "INT64")]);
        let b = table(vec![f("id", "INT64")]);
        a.time_partitioning = Some(serde_json::json!({"type": "DAY", "field": "ts"}));
        a.clustering = Some(Clustering {
            fields: vec!["id".into()],
        });
        a.description = Some("orders".into());
        a.labels.insert("team".into(), "data".into());
        a.table_constraints = Some(TableConstraints {
            primary_key: Some(PrimaryKey {
                columns: vec!["id".into()],
            }),
        });
        assert!(diff(&a, &b, DiffOptions::default()).is_empty());
        let c = diff(
            &a,
            &b,
            DiffOptions {
                include_table_options: true,
            },
        );
        let got: Vec<_> = c.iter().map(|c| (c.kind, c.class)).collect();
        assert_eq!(
            got,
            vec![
                (ChangeKind::PartitioningChanged, Class::Breaking),
                (ChangeKind::ClusteringChanged, Class::Breaking),
                (ChangeKind::TableDescriptionChanged, Class::Cosmetic),
                (ChangeKind::LabelsChanged, Class::Cosmetic),
                (ChangeKind::PrimaryKeyChanged, Class::Compatible),
            ]
        );
        assert_eq!(count(&c, Class::Breaking), 2);
        assert_eq!(count(&c, Class::Cosmetic), 2);
    }

    #[test]
    fn partition_expiration_changes_in_place_the_scheme_does_not() {
        let opts = DiffOptions {
            include_table_options: true,
        };
        let with = |p: serde_json::Value| {
            let mut t = table(vec![f("id", "INT64")]);
            t.time_partitioning = Some(p);
            t
        };
        let b = with(serde_json::json!({"type": "DAY", "field": "ts"}));
        let a = with(serde_json::json!({"type": "DAY", "field": "ts", "expirationMs": "86400000"}));
        let c = diff(&a, &b, opts);
        assert_eq!(
            c.iter().map(|c| (c.kind, c.class)).collect::<Vec<_>>(),
            vec![(ChangeKind::PartitioningChanged, Class::Compatible)],
            "{c:?}"
        );
        for other in [
            serde_json::json!({"type": "HOUR", "field": "ts"}),
            serde_json::json!({"type": "DAY", "field": "created"}),
        ] {
            let c = diff(&with(other), &b, opts);
            assert_eq!(c[0].class, Class::Breaking, "{c:?}");
        }
    }

    #[test]
    fn describes_changes() {
        let c = one(vec![f("x", "STRING")], vec![f("x", "INTEGER")]);
        assert_eq!(c.describe(), "type INT64 → STRING");
        assert_eq!(c.sign(), '~');
        let c = one(
            vec![
                f("id", "INT64"),
                m(
                    rec(
                        "items",
                        vec![f("sku", "STRING"), m(f("qty", "INT64"), "REQUIRED")],
                    ),
                    "REPEATED",
                ),
            ],
            vec![f("id", "INT64")],
        );
        assert_eq!(
            c.describe(),
            "column added: STRUCT<sku STRING, qty INT64 NOT NULL> REPEATED"
        );
        assert_eq!(c.sign(), '+');
    }

    #[test]
    fn ten_thousand_columns_match_by_name() {
        let names: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
        let a: Vec<Field> = names.iter().map(|n| f(n, "STRING")).collect();
        let mut b: Vec<Field> = names
            .iter()
            .rev()
            .map(|n| f(&n.to_uppercase(), "STRING"))
            .collect();
        b[0] = f("gone", "STRING");
        let changes = diff(&table(a), &table(b), DiffOptions::default());
        let kinds: Vec<(&str, ChangeKind)> = changes
            .iter()
            .filter(|c| {
                !matches!(
                    c.kind,
                    ChangeKind::ColumnOrderChanged | ChangeKind::NameCaseChanged
                )
            })
            .map(|c| (c.path.as_str(), c.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("gone", ChangeKind::ColumnRemoved),
                ("c9999", ChangeKind::ColumnAdded)
            ],
            "{kinds:?}"
        );
        let renamed = changes
            .iter()
            .filter(|c| c.kind == ChangeKind::NameCaseChanged)
            .count();
        assert_eq!(
            renamed, 9_999,
            "every other column matched, whatever its case"
        );
    }
}
