//! Realistic fixtures, built inside BigQuery (or the local emulator) by one
//! `CREATE TABLE ... AS SELECT ... FROM UNNEST(GENERATE_ARRAY(1, n)) AS i` each: no row
//! uploads, so 20,000 or 1,000,000 rows cost one query.
//!
//! Everything here is pure SQL building (no I/O) and uses only `std`, so the integration
//! tests (`tests/it/support/`) and the benchmark (`#[path = "../tests/it/support/realistic.rs"]`)
//! share it. Run a statement with `Emu::query` (tests) or any `jobs.query` client.
//!
//! `table` is always a table path as BigQuery takes it in backticks, e.g.
//! `project.dataset.table` (it is quoted as one identifier: `` `project.dataset.table` ``).
//! The SQL is GoogleSQL that real BigQuery accepts too; nothing emulator-only.
//!
//! Every value is a pure function of the row number `i` (= `id`), so the helper functions
//! below can state exactly which rows are NULL, special or changed, for any `n`.

#![allow(dead_code)]

// ---------------------------------------------------------------------------------------
// 1. every_type
// ---------------------------------------------------------------------------------------

/// Which copy of [`every_type`] to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Diff {
    /// The same data as the A table for the same `n`.
    Identical,
    /// B's copy: for each non-key column of [`EVERY_TYPE_COLUMNS`], exactly one row (the id
    /// [`seeded_changes`] gives, a different id per column) holds a different non-NULL value
    /// in that column and nowhere else.
    OnePerColumn,
}

/// The non-key columns of [`every_type`] as leaf paths (a STRUCT's leaves count separately,
/// an ARRAY counts as one column), in table order, with their type and the change
/// [`Diff::OnePerColumn`] makes at its [`seeded_changes`] row.
pub const EVERY_TYPE_COLUMNS: [(&str, &str, &str); 18] = [
    ("i64", "INT64", "+1"),
    ("num", "NUMERIC", "+0.000000001 (NUMERIC's last digit)"),
    ("bignum", "BIGNUMERIC", "+1e-18"),
    ("f64", "FLOAT64", "+0.0005 (inside a 0.001 float tolerance)"),
    ("b", "BOOL", "negated"),
    ("s", "STRING", "a trailing space added"),
    ("byt", "BYTES", "'!' appended"),
    ("d", "DATE", "+1 day"),
    ("dt", "DATETIME", "+1 second"),
    ("t", "TIME", "+0.25 s"),
    ("ts", "TIMESTAMP", "+0.25 s"),
    ("j", "JSON", "nested.x + 10"),
    ("g", "GEOGRAPHY", "longitude +0.25"),
    ("st.a", "INT64", "+1"),
    ("st.b.c", "STRING", "'x' appended"),
    ("st.b.d.e", "FLOAT64", "+0.5"),
    ("arr", "ARRAY<INT64>", "one more element"),
    (
        "kv",
        "ARRAY<STRUCT<k STRING, v INT64>>",
        "first element's v +1",
    ),
];

/// NULL pattern of each [`EVERY_TYPE_COLUMNS`] entry: the column is NULL in the rows whose
/// id is a multiple of this (for `st`, NULL in multiples of 59 as a whole STRUCT, which makes
/// every leaf NULL there too). The ARRAY columns (`arr`, `kv`) are never NULL (BigQuery stores
/// a NULL array as `[]`): they are EMPTY in the multiples of their number instead.
/// All moduli are >= 7, so rows 1..=6 are never NULL.
pub const EVERY_TYPE_NULL_EVERY: [(&str, i64); 18] = [
    ("i64", 7),
    ("num", 11),
    ("bignum", 13),
    ("f64", 17),
    ("b", 19),
    ("s", 23),
    ("byt", 29),
    ("d", 31),
    ("dt", 37),
    ("t", 41),
    ("ts", 43),
    ("j", 47),
    ("g", 53),
    ("st.a", 61),
    ("st.b.c", 67),
    ("st.b.d.e", 71),
    ("arr", 73),
    ("kv", 79),
];

/// The whole `st` STRUCT is NULL in the multiples of this.
pub const EVERY_TYPE_ST_NULL_EVERY: i64 = 59;

/// Special values in [`every_type`], keyed by `id % 100` (each applies only where the
/// column is not NULL in that row, i.e. the id is not a multiple of the column's modulus):
/// - `f64`: 5 → NaN, 6 → +Infinity, 8 → -Infinity, 9 → -0.0
/// - `s`: 11 → `'Zürich 東京 🙂'`, 12 → `''`, 13 → `'  '` (two spaces), 14 → `'trailing '`,
///   15 → `line1⏎line2 "quoted" \ back` (a newline, double quotes and a backslash)
/// - `byt`: 12 → `b''`, 16 → bytes `00 ff`
/// - `ts`: 17 → a sub-second value (`.123456`)
/// - `j`: 18 → JSON `null` (not SQL NULL), 19 → JSON `[]`, 21 → JSON `"Zürich"`
///
/// and by id: 2 → the maximum, 3 → the minimum of `i64` (±9007199254740993 = ±(2^53+1), not
/// representable as f64), `num` (±12345678901234567890.123456789), `bignum`
/// (±12345678901234567.123456789012345678), `d` (9999-12-31 / 0001-01-01), `dt`
/// (9999-12-31T23:59:59.999999 / 0001-01-01T00:00:00), `t` (23:59:59.999999 / 00:00:00) and
/// `ts` (9999-12-31 23:59:59 UTC / 0001-01-01 00:00:00 UTC).
pub const EVERY_TYPE_SPECIAL_MOD100: std::ops::RangeInclusive<i64> = 5..=21;

/// Builds `table` with `n` rows (ids 1..=n): `id INT64` (never NULL, the key) and one column
/// per type, in this order (see [`EVERY_TYPE_COLUMNS`]):
///
/// | column | type | ordinary value (row i) |
/// |---|---|---|
/// | `i64` | INT64 | `3*i - 1000` |
/// | `num` | NUMERIC | `i / 8` (exact: x.125, x.25, ...) |
/// | `bignum` | BIGNUMERIC | `i + 0.123456789012345678` |
/// | `f64` | FLOAT64 | `(i - 1000) / 7` |
/// | `b` | BOOL | `MOD(i, 3) = 0` |
/// | `s` | STRING | `'name-<i>'` |
/// | `byt` | BYTES | `'b<i>'` as bytes |
/// | `d` | DATE | 2000-01-01 + i days |
/// | `dt` | DATETIME | 2021-06-01 08:00:00 + i*61.001 s |
/// | `t` | TIME | 00:00:00.5 + (7i mod 86400) s |
/// | `ts` | TIMESTAMP | 2024-01-01 00:00:00 UTC + i hours |
/// | `j` | JSON | `{"id":i,"tags":["a","b"],"nested":{"x":i mod 10}}` |
/// | `g` | GEOGRAPHY | `POINT(i mod 360 - 179.5, i mod 170 - 84.75)` |
/// | `st` | STRUCT<a INT64, b STRUCT<c STRING, d STRUCT<e FLOAT64>>> | a = 2i, c = `'c<i>'`, e = i/4 |
/// | `arr` | ARRAY<INT64> | `[i, ..., i + i mod 4]` (1 to 4 elements) |
/// | `kv` | ARRAY<STRUCT<k STRING, v INT64>> | `[('k1', i), ('k2', NULL if i even else 10i)]` |
///
/// NULLs per [`EVERY_TYPE_NULL_EVERY`], special values per [`EVERY_TYPE_SPECIAL_MOD100`],
/// exact counts in [`every_type_facts`]. `diff` picks A's data or B's ([`Diff`]).
/// Needs `n >= 100` for [`Diff::OnePerColumn`].
pub fn every_type(table: &str, n: i64, diff: Diff) -> String {
    let changes: Vec<(&'static str, i64)> = match diff {
        Diff::Identical => Vec::new(),
        Diff::OnePerColumn => seeded_changes(n),
    };
    let at = |col: &str| changes.iter().find(|(c, _)| *c == col).map(|(_, id)| *id);
    // The value of a column: `normal` everywhere, `changed` in its seeded row (which is never
    // NULL, special, nor row 1..=3, so `changed` may use the ordinary formula).
    let v = |col: &str, normal: String, changed: &str| -> String {
        match at(col) {
            None => normal,
            Some(id) => format!("CASE WHEN i = {id} THEN {changed} ELSE {normal} END"),
        }
    };
    let m = |col: &str| null_every(col);

    let i64_ = v(
        "i64",
        format!(
            "CASE WHEN MOD(i, {}) = 0 THEN NULL WHEN i = 2 THEN 9007199254740993 \
             WHEN i = 3 THEN -9007199254740993 ELSE 3 * i - 1000 END",
            m("i64")
        ),
        "3 * i - 1000 + 1",
    );
    let num = v(
        "num",
        format!(
            "CASE WHEN MOD(i, {}) = 0 THEN NULL \
             WHEN i = 2 THEN NUMERIC '12345678901234567890.123456789' \
             WHEN i = 3 THEN NUMERIC '-12345678901234567890.123456789' \
             ELSE CAST(i AS NUMERIC) / 8 END",
            m("num")
        ),
        "CAST(i AS NUMERIC) / 8 + NUMERIC '0.000000001'",
    );
    let bignum = v(
        "bignum",
        format!(
            "CASE WHEN MOD(i, {}) = 0 THEN NULL \
             WHEN i = 2 THEN BIGNUMERIC '12345678901234567.123456789012345678' \
             WHEN i = 3 THEN BIGNUMERIC '-12345678901234567.123456789012345678' \
             ELSE CAST(i AS BIGNUMERIC) + BIGNUMERIC '0.123456789012345678' END",
            m("bignum")
        ),
        "CAST(i AS BIGNUMERIC) + BIGNUMERIC '0.123456789012345679'",
    );
    let f64_ = v(
        "f64",
        format!(
            "CASE WHEN MOD(i, {}) = 0 THEN NULL \
             WHEN MOD(i, 100) = 5 THEN CAST('NaN' AS FLOAT64) \
             WHEN MOD(i, 100) = 6 THEN CAST('+inf' AS FLOAT64) \
             WHEN MOD(i, 100) = 8 THEN CAST('-inf' AS FLOAT64) \
             WHEN MOD(i, 100) = 9 THEN CAST('-0.0' AS FLOAT64) \
             ELSE (i - 1000) / 7 END",
            m("f64")
        ),
        "(i - 1000) / 7 + 0.0005",
    );
    let b = v(
        "b",
        format!(
            "CASE WHEN MOD(i, {}) = 0 THEN NULL ELSE MOD(i, 3) = 0 END",
            m("b")
        ),
        "NOT (MOD(i, 3) = 0)",
    );
    let s = v(
        "s",
        format!(
            concat!(
                "CASE WHEN MOD(i, {}) = 0 THEN NULL ",
                "WHEN MOD(i, 100) = 11 THEN 'Zürich 東京 🙂' ",
                "WHEN MOD(i, 100) = 12 THEN '' ",
                "WHEN MOD(i, 100) = 13 THEN '  ' ",
                "WHEN MOD(i, 100) = 14 THEN 'trailing ' ",
                r#"WHEN MOD(i, 100) = 15 THEN 'line1\nline2 "quoted" \\ back' "#,
                "ELSE CONCAT('name-', CAST(i AS STRING)) END"
            ),
            m("s")
        ),
        "CONCAT('name-', CAST(i AS STRING), ' ')",
    );
    let byt = v(
        "byt",
        format!(
            "CASE WHEN MOD(i, {}) = 0 THEN NULL \
             WHEN MOD(i, 100) = 12 THEN b'' \
             WHEN MOD(i, 100) = 16 THEN FROM_HEX('00ff') \
             ELSE CAST(CONCAT('b', CAST(i AS STRING)) AS BYTES) END",
            m("byt")
        ),
        "CAST(CONCAT('b', CAST(i AS STRING), '!') AS BYTES)",
    );
    let d = v(
        "d",
        format!(
            "CASE WHEN MOD(i, {}) = 0 THEN NULL WHEN i = 2 THEN DATE '9999-12-31' \
             WHEN i = 3 THEN DATE '0001-01-01' \
             ELSE DATE_ADD(DATE '2000-01-01', INTERVAL i DAY) END",
            m("d")
        ),
        "DATE_ADD(DATE '2000-01-01', INTERVAL i + 1 DAY)",
    );
    let dt = v(
        "dt",
        format!(
            "CASE WHEN MOD(i, {}) = 0 THEN NULL \
             WHEN i = 2 THEN DATETIME '9999-12-31 23:59:59.999999' \
             WHEN i = 3 THEN DATETIME '0001-01-01 00:00:00' \
             ELSE DATETIME_ADD(DATETIME '2021-06-01 08:00:00', INTERVAL i * 61001 MILLISECOND) END",
            m("dt")
        ),
        "DATETIME_ADD(DATETIME '2021-06-01 08:00:00', INTERVAL i * 61001 + 1000 MILLISECOND)",
    );
    let t = v(
        "t",
        format!(
            "CASE WHEN MOD(i, {}) = 0 THEN NULL WHEN i = 2 THEN TIME '23:59:59.999999' \
             WHEN i = 3 THEN TIME '00:00:00' \
             ELSE TIME_ADD(TIME '00:00:00.5', INTERVAL MOD(i * 7, 86400) SECOND) END",
            m("t")
        ),
        "TIME_ADD(TIME '00:00:00.75', INTERVAL MOD(i * 7, 86400) SECOND)",
    );
    let ts = v(
        "ts",
        format!(
            "CASE WHEN MOD(i, {}) = 0 THEN NULL \
             WHEN i = 2 THEN TIMESTAMP '9999-12-31 23:59:59 UTC' \
             WHEN i = 3 THEN TIMESTAMP '0001-01-01 00:00:00 UTC' \
             WHEN MOD(i, 100) = 17 THEN TIMESTAMP_MICROS(1704067200000000 + i * 3600000000 + 123456) \
             ELSE TIMESTAMP_MICROS(1704067200000000 + i * 3600000000) END",
            m("ts")
        ),
        "TIMESTAMP_MICROS(1704067200000000 + i * 3600000000 + 250000)",
    );
    // TO_JSON(STRUCT) rather than PARSE_JSON(CONCAT(..)): the same JSON, and 15x faster in
    // the emulator (its PARSE_JSON runs ~6,500 rows/s).
    let json_of = |x: &str| {
        format!("TO_JSON(STRUCT(i AS id, ['a', 'b'] AS tags, STRUCT({x} AS x) AS nested))")
    };
    let j = v(
        "j",
        format!(
            concat!(
                "CASE WHEN MOD(i, {}) = 0 THEN NULL ",
                "WHEN MOD(i, 100) = 18 THEN JSON 'null' ",
                "WHEN MOD(i, 100) = 19 THEN JSON '[]' ",
                r#"WHEN MOD(i, 100) = 21 THEN JSON '"Zürich"' "#,
                "ELSE {} END"
            ),
            m("j"),
            json_of("MOD(i, 10)")
        ),
        &json_of("MOD(i, 10) + 10"),
    );
    let g = v(
        "g",
        format!(
            "CASE WHEN MOD(i, {}) = 0 THEN NULL \
             ELSE ST_GEOGPOINT(MOD(i, 360) - 179.5, MOD(i, 170) - 84.75) END",
            m("g")
        ),
        "ST_GEOGPOINT(MOD(i, 360) - 179.25, MOD(i, 170) - 84.75)",
    );
    let st_a = v(
        "st.a",
        format!("IF(MOD(i, {}) = 0, NULL, 2 * i)", m("st.a")),
        "2 * i + 1",
    );
    let st_c = v(
        "st.b.c",
        format!(
            "IF(MOD(i, {}) = 0, NULL, CONCAT('c', CAST(i AS STRING)))",
            m("st.b.c")
        ),
        "CONCAT('c', CAST(i AS STRING), 'x')",
    );
    let st_e = v(
        "st.b.d.e",
        format!("IF(MOD(i, {}) = 0, NULL, i / 4)", m("st.b.d.e")),
        "i / 4 + 0.5",
    );
    let arr = v(
        "arr",
        format!(
            "CASE WHEN MOD(i, {}) = 0 THEN ARRAY<INT64>[] \
             ELSE GENERATE_ARRAY(i, i + MOD(i, 4)) END",
            m("arr")
        ),
        "GENERATE_ARRAY(i, i + MOD(i, 4) + 1)",
    );
    let kv_of = |v1: &str| {
        format!(
            "[STRUCT('k1' AS k, {v1} AS v), STRUCT('k2' AS k, IF(MOD(i, 2) = 0, NULL, 10 * i) AS v)]"
        )
    };
    let kv = v(
        "kv",
        format!(
            "CASE WHEN MOD(i, {}) = 0 THEN ARRAY<STRUCT<k STRING, v INT64>>[] ELSE {} END",
            m("kv"),
            kv_of("i")
        ),
        &kv_of("i + 1"),
    );
    format!(
        "CREATE TABLE `{table}` AS\nSELECT\n  i AS id,\n  {i64_} AS i64,\n  {num} AS num,\n  \
         {bignum} AS bignum,\n  {f64_} AS f64,\n  {b} AS b,\n  {s} AS s,\n  {byt} AS byt,\n  \
         {d} AS d,\n  {dt} AS dt,\n  {t} AS t,\n  {ts} AS ts,\n  {j} AS j,\n  {g} AS g,\n  \
         CASE WHEN MOD(i, {EVERY_TYPE_ST_NULL_EVERY}) = 0 THEN NULL ELSE STRUCT({st_a} AS a, \
         STRUCT({st_c} AS c, STRUCT({st_e} AS e) AS d) AS b) END AS st,\n  {arr} AS arr,\n  \
         {kv} AS kv\nFROM UNNEST(GENERATE_ARRAY(1, {n})) AS i"
    )
}

pub fn null_every(col: &str) -> i64 {
    EVERY_TYPE_NULL_EVERY
        .iter()
        .find(|(c, _)| *c == col)
        .unwrap_or_else(|| panic!("no column {col}"))
        .1
}

/// Whether `col` (a path of [`EVERY_TYPE_COLUMNS`]) is SQL NULL in row `id` (for `arr`/`kv`:
/// whether the array is empty).
pub fn every_type_is_null(col: &str, id: i64) -> bool {
    let own = id % null_every(col) == 0;
    if col.starts_with("st.") {
        own || id % EVERY_TYPE_ST_NULL_EVERY == 0
    } else {
        own
    }
}

/// The (column path, id) pairs [`Diff::OnePerColumn`] changes, one per column of
/// [`EVERY_TYPE_COLUMNS`] in that order: 18 distinct ids, spread evenly over 1..=n, each a
/// row where the column is not NULL (nor an empty array), not a special row (ids 1..=3 and
/// ids with `id % 100` in 5..=21) and not a multiple of 59 (`st` NULL). Needs `n >= 100`.
pub fn seeded_changes(n: i64) -> Vec<(&'static str, i64)> {
    assert!(n >= 100, "seeded_changes needs n >= 100, got {n}");
    let cols = EVERY_TYPE_COLUMNS.len() as i64;
    let mut used: Vec<i64> = Vec::new();
    let mut out = Vec::new();
    for (k, (col, _, _)) in EVERY_TYPE_COLUMNS.iter().enumerate() {
        let mut id = (k as i64 + 1) * n / (cols + 1);
        let ok = |id: i64, used: &Vec<i64>| {
            id > 3
                && !EVERY_TYPE_SPECIAL_MOD100.contains(&(id % 100))
                && !every_type_is_null(col, id)
                && id % EVERY_TYPE_ST_NULL_EVERY != 0
                && !used.contains(&id)
        };
        let mut tries = 0;
        while !ok(id, &used) {
            id = if id >= n { 4 } else { id + 1 };
            tries += 1;
            assert!(tries <= n, "no row for {col} in 1..={n}");
        }
        used.push(id);
        out.push((*col, id));
    }
    out
}

/// Facts about [`every_type`]`(_, n, _)`, computed from the rules above and checked against
/// the emulator (n = 5, 137, 1,000 and 20,000). They hold for both [`Diff`]s: the seeded
/// changes never touch a NULL, special or extreme row. For n = 20,000:
///
/// - rows 20000; SQL NULLs: i64 2857, num 1818, bignum 1538, f64 1176, b 1052, s 869,
///   byt 689, d 645, dt 540, t 487, ts 465, j 425, g 377, st (whole) 338, st.a 660,
///   st.b.c 631, st.b.d.e 615 (leaf NULLs include the 338 NULL structs), arr 0, kv 0
/// - empty arrays: arr 273, kv 253
/// - f64: NaN 188, +Inf 188, -Inf 188, -0.0 189, = 0 (incl. -0.0) 190 (NaN/Inf are not NULL)
/// - s: '' 191, '  ' 191, 'trailing ' 191, 'Zürich 東京 🙂' 191; byt: b'' 193
/// - j: JSON null 196 (plus JSON [] 196, JSON "Zürich" 196)
/// - i64 min -9007199254740993, max 9007199254740993; d min 0001-01-01, max 9999-12-31
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EveryTypeFacts {
    pub rows: i64,
    /// SQL NULLs per column path of [`EVERY_TYPE_COLUMNS`] (0 for the arrays).
    pub nulls: Vec<(&'static str, i64)>,
    /// Rows where the whole `st` is NULL.
    pub st_nulls: i64,
    pub arr_empty: i64,
    pub kv_empty: i64,
    pub f64_nan: i64,
    pub f64_pos_inf: i64,
    pub f64_neg_inf: i64,
    pub f64_neg_zero: i64,
    /// `f64 = 0`: the -0.0 rows plus row 1000 (`(1000 - 1000) / 7`).
    pub f64_zero: i64,
    /// `s = ''`.
    pub s_empty: i64,
    /// `s = '  '` (whitespace only, not empty).
    pub s_blank: i64,
    /// `s = 'trailing '`.
    pub s_trailing_space: i64,
    /// `s = 'Zürich 東京 🙂'`.
    pub s_unicode: i64,
    /// `byt = b''`.
    pub byt_empty: i64,
    /// `j` is JSON `null` (not SQL NULL).
    pub j_json_null: i64,
    pub i64_min: i64,
    pub i64_max: i64,
    /// As `YYYY-MM-DD`.
    pub d_min: &'static str,
    pub d_max: &'static str,
}

impl EveryTypeFacts {
    /// SQL NULLs in `col` (a path of [`EVERY_TYPE_COLUMNS`]).
    pub fn null(&self, col: &str) -> i64 {
        self.nulls
            .iter()
            .find(|(c, _)| *c == col)
            .unwrap_or_else(|| panic!("no column {col}"))
            .1
    }
}

/// See [`EveryTypeFacts`]; needs `n >= 3` (rows 2 and 3 hold the extremes).
pub fn every_type_facts(n: i64) -> EveryTypeFacts {
    assert!(n >= 3, "every_type_facts needs n >= 3");
    let count = |f: &dyn Fn(i64) -> bool| (1..=n).filter(|&i| f(i)).count() as i64;
    // Rows where `col` is not NULL and id % 100 == r.
    let special = |col: &str, r: i64| count(&|i| i % 100 == r && !every_type_is_null(col, i));
    let nulls = EVERY_TYPE_COLUMNS
        .iter()
        .map(|(col, _, _)| {
            let c = if *col == "arr" || *col == "kv" {
                0
            } else {
                count(&|i| every_type_is_null(col, i))
            };
            (*col, c)
        })
        .collect();
    EveryTypeFacts {
        rows: n,
        nulls,
        st_nulls: n / EVERY_TYPE_ST_NULL_EVERY,
        arr_empty: n / null_every("arr"),
        kv_empty: n / null_every("kv"),
        f64_nan: special("f64", 5),
        f64_pos_inf: special("f64", 6),
        f64_neg_inf: special("f64", 8),
        f64_neg_zero: special("f64", 9),
        f64_zero: special("f64", 9) + i64::from(n >= 1000),
        s_empty: special("s", 12),
        s_blank: special("s", 13),
        s_trailing_space: special("s", 14),
        s_unicode: special("s", 11),
        byt_empty: special("byt", 12),
        j_json_null: special("j", 18),
        i64_min: -9007199254740993,
        i64_max: 9007199254740993,
        d_min: "0001-01-01",
        d_max: "9999-12-31",
    }
}

// ---------------------------------------------------------------------------------------
// 2. wide
// ---------------------------------------------------------------------------------------

/// The types [`wide`]'s columns cycle over: column k (1-based) has `WIDE_TYPES[(k-1) % 7]`.
pub const WIDE_TYPES: [&str; 7] = [
    "INT64",
    "FLOAT64",
    "STRING",
    "DATE",
    "BOOL",
    "NUMERIC",
    "TIMESTAMP",
];

/// Name of [`wide`]'s column k (1-based): `c001`, ..., `c999`, `c1000`.
pub fn wide_column(k: usize) -> String {
    format!("c{k:03}")
}

/// Type of [`wide`]'s column k (1-based).
pub fn wide_type(k: usize) -> &'static str {
    WIDE_TYPES[(k - 1) % WIDE_TYPES.len()]
}

/// Whether [`wide`]'s column k is NULL in row `id` (unchanged table): when `(id + k) % 11 == 0`,
/// so about 1/11 of each column, in different rows per column.
pub fn wide_is_null(k: usize, id: i64) -> bool {
    (id + k as i64) % 11 == 0
}

/// NULLs in [`wide`]'s column k for `n` rows (unchanged table).
pub fn wide_null_count(n: i64, k: usize) -> i64 {
    (1..=n).filter(|&i| wide_is_null(k, i)).count() as i64
}

/// Builds `table` with `n` rows: `id` (1..=n, never NULL, the key) and `cols` columns
/// `c001`..`cNNN` cycling over [`WIDE_TYPES`], NULL per [`wide_is_null`]. Row i, column k:
/// INT64 `i*k`; FLOAT64 `i/k + 0.5`; STRING `'v<i>_<k>'`; DATE 2020-01-01 + ((i+k) mod 3000)
/// days; BOOL `(i+k) mod 3 = 0`; NUMERIC `i*k/100`; TIMESTAMP `TIMESTAMP_SECONDS(1.7e9 + 60i + k)`.
///
/// `changed = Some((k, id))` (k 1-based, as in the column name) makes column k of row `id`
/// a different, non-NULL value (even where that cell would be NULL) and changes nothing else.
///
/// Emulator build times: 300 columns x 20,000 rows ~3.6 s, 1,000 columns x 5,000 rows ~9.5 s
/// (the SQL is ~22 kB and ~74 kB).
pub fn wide(table: &str, n: i64, cols: usize, changed: Option<(usize, i64)>) -> String {
    assert!(cols >= 1, "wide needs at least one column");
    if let Some((k, _)) = changed {
        assert!(
            (1..=cols).contains(&k),
            "changed column {k} not in 1..={cols}"
        );
    }
    let mut sql = format!("CREATE TABLE `{table}` AS\nSELECT\n  i AS id");
    for k in 1..=cols {
        let (normal, other) = match wide_type(k) {
            "INT64" => (format!("i * {k}"), format!("i * {k} + 1")),
            "FLOAT64" => (format!("i / {k} + 0.5"), format!("i / {k} + 1.5")),
            "STRING" => (
                format!("CONCAT('v', CAST(i AS STRING), '_{k}')"),
                format!("CONCAT('v', CAST(i AS STRING), '_{k}x')"),
            ),
            "DATE" => (
                format!("DATE_ADD(DATE '2020-01-01', INTERVAL MOD(i + {k}, 3000) DAY)"),
                format!("DATE_ADD(DATE '2020-01-01', INTERVAL MOD(i + {k}, 3000) + 1 DAY)"),
            ),
            "BOOL" => (
                format!("MOD(i + {k}, 3) = 0"),
                format!("MOD(i + {k}, 3) != 0"),
            ),
            "NUMERIC" => (
                format!("CAST(i * {k} AS NUMERIC) / 100"),
                format!("CAST(i * {k} AS NUMERIC) / 100 + NUMERIC '0.01'"),
            ),
            _ => (
                format!("TIMESTAMP_SECONDS(1700000000 + 60 * i + {k})"),
                format!("TIMESTAMP_SECONDS(1700000001 + 60 * i + {k})"),
            ),
        };
        let cell = format!("IF(MOD(i + {k}, 11) = 0, NULL, {normal})");
        let cell = match changed {
            Some((ck, id)) if ck == k => format!("IF(i = {id}, {other}, {cell})"),
            _ => cell,
        };
        sql.push_str(&format!(",\n  {cell} AS {}", wide_column(k)));
    }
    sql.push_str(&format!("\nFROM UNNEST(GENERATE_ARRAY(1, {n})) AS i"));
    sql
}

// ---------------------------------------------------------------------------------------
// 3. orders (and 4. partitioned)
// ---------------------------------------------------------------------------------------

/// Which copy of [`orders`] to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The base: ids 1..=n. Build it twice for an identical pair.
    A,
    /// A without [`only_in_a`] (2 ids), plus [`only_in_b`] (1 id), with `status` changed to
    /// `'cancelled'` in [`changed`] (20 ids). Needs n >= 100.
    B,
    /// Like B but `status` is changed in [`changed_scaled`] (the ids ending in 500 mod 1000,
    /// i.e. n/1000 rows when n is a multiple of 1000; 0.1%) instead of [`changed`].
    BScaled,
}

/// Ids in A and not in B: the first row and one in the middle: `[1, n/2 + 3]`.
pub fn only_in_a(n: i64) -> Vec<i64> {
    vec![1, n / 2 + 3]
}

/// Ids in B and not in A: `[n + 1]`.
pub fn only_in_b(n: i64) -> Vec<i64> {
    vec![n + 1]
}

/// The 20 ids whose `status` Side::B changes: `k*n/21 + 2` for k = 1..=20 (spread evenly,
/// never in [`only_in_a`] for n >= 100).
pub fn changed(n: i64) -> Vec<i64> {
    assert!(n >= 100, "orders Side::B needs n >= 100, got {n}");
    (1..=20).map(|k| k * n / 21 + 2).collect()
}

/// The ids whose `status` Side::BScaled changes: ids in 1..=n with `id % 1000 == 500`,
/// except [`only_in_a`] (10 for n=10k, 100 for 100k, 1,000 for 1M).
pub fn changed_scaled(n: i64) -> Vec<i64> {
    let gone = only_in_a(n);
    (1..=n)
        .filter(|i| i % 1000 == 500 && !gone.contains(i))
        .collect()
}

/// The statuses of A (`status` = `ORDER_STATUSES[id % 5]`); B's changed rows are
/// `'cancelled'`, which A never has.
pub const ORDER_STATUSES: [&str; 5] = ["new", "paid", "shipped", "delivered", "returned"];

/// The 90 days `created` spreads over: 2024-01-01 .. 2024-03-30 for ids 1..=n (ids beyond n,
/// i.e. [`only_in_b`], fall on 2024-03-31 or later).
pub const ORDERS_DAYS: i64 = 90;

/// The SELECT of [`orders`] (no CREATE), for reuse.
fn orders_select(n: i64, side: Side) -> String {
    let (upto, status) = match side {
        Side::A => (n, "status".to_string()),
        Side::B => (
            n + only_in_b(n).len() as i64,
            format!("IF(i IN ({}), 'cancelled', status)", join(&changed(n))),
        ),
        Side::BScaled => (
            n + only_in_b(n).len() as i64,
            "IF(MOD(i, 1000) = 500, 'cancelled', status)".to_string(),
        ),
    };
    let filter = match side {
        Side::A => String::new(),
        _ => format!("\nWHERE i NOT IN ({})", join(&only_in_a(n))),
    };
    let secs = ORDERS_DAYS * 86400;
    format!(
        "SELECT\n  i AS id,\n  \
         IF(MOD(i, 101) = 0, NULL, CONCAT('C', FORMAT('%05d', MOD(i * 7919, 5000)))) AS customer,\n  \
         IF(MOD(i, 97) = 0, NULL, CAST(MOD(i * 7919, 100000) AS NUMERIC) / 100) AS amount,\n  \
         IF(MOD(i, 89) = 0, NULL, MOD(i * 31, 10000) / 100 + 0.99) AS price,\n  \
         {status} AS status,\n  \
         created,\n  \
         IF(MOD(i, 5) < 2, NULL, DATE_ADD(DATE(created), INTERVAL MOD(i, 7) DAY)) AS day\n\
         FROM (\n  SELECT i, ['new', 'paid', 'shipped', 'delivered', 'returned'][OFFSET(MOD(i, 5))] AS status,\n    \
         TIMESTAMP_SECONDS(1704067200 + DIV((i - 1) * {secs}, {n})) AS created\n  \
         FROM UNNEST(GENERATE_ARRAY(1, {upto})) AS i\n){filter}"
    )
}

/// Builds a plain order table. Columns, row i:
/// - `id` INT64 (never NULL, the key)
/// - `customer` STRING `'C%05d'` of `(7919 i) mod 5000` (5,000 customers), NULL when i % 101 == 0
/// - `amount` NUMERIC `((7919 i) mod 100000) / 100`, NULL when i % 97 == 0
/// - `price` FLOAT64 `((31 i) mod 10000) / 100 + 0.99`, NULL when i % 89 == 0
/// - `status` STRING `ORDER_STATUSES[i % 5]`, never NULL
/// - `created` TIMESTAMP, never NULL: 2024-01-01 UTC + floor((i-1) * 90 days / n), so ids
///   1..=n are in order over 90 days (n/90 per day)
/// - `day` DATE `DATE(created) + (i mod 7)` days, NULL when i % 5 < 2 (status new/paid)
///
/// See [`Side`] for the A/B differences.
pub fn orders(table: &str, n: i64, side: Side) -> String {
    format!("CREATE TABLE `{table}` AS\n{}", orders_select(n, side))
}

/// NULLs in [`orders`]`(_, n, Side::A)` per column.
/// For n = 20,000 (checked): customer 198, amount 206, price 224, day 8000, others 0;
/// 5,000 distinct customers, 90 distinct days; B: 19,999 rows, only in A [1, 10003], only in
/// B [20001], status changed in 20 rows (954, 1906, ..., 19049).
pub fn orders_nulls(n: i64) -> Vec<(&'static str, i64)> {
    vec![
        ("id", 0),
        ("customer", n / 101),
        ("amount", n / 97),
        ("price", n / 89),
        ("status", 0),
        ("created", 0),
        ("day", (1..=n).filter(|i| i % 5 < 2).count() as i64),
    ]
}

/// The day (partition) [`partitioned`] changes when `diff` is true, as `YYYY-MM-DD`:
/// day 45 of [`ORDERS_DAYS`].
pub const PARTITION_CHANGED_DAY: &str = "2024-02-15";

/// The ids of day index `d` (0 = 2024-01-01) in [`orders`]/[`partitioned`] for `n` rows:
/// those with floor((i-1) * 90 / n) == d (integer arithmetic as in the SQL).
pub fn orders_day_ids(n: i64, d: i64) -> Vec<i64> {
    let secs = ORDERS_DAYS * 86400;
    (1..=n)
        .filter(|i| ((i - 1) * secs / n) / 86400 == d)
        .collect()
}

/// The ids [`partitioned`] changes when `diff` is true: the first 5 ids of the
/// [`PARTITION_CHANGED_DAY`] partition (needs n >= 900, i.e. >= 10 rows a day).
pub fn partition_changes(n: i64) -> Vec<i64> {
    assert!(n >= 900, "partitioned diff needs n >= 900, got {n}");
    orders_day_ids(n, 45).into_iter().take(5).collect()
}

/// Builds the [`orders`] Side::A data as `PARTITION BY DATE(created) CLUSTER BY customer`
/// (90 daily partitions, 2024-01-01 .. 2024-03-30; `tables.get` shows
/// `timePartitioning {type: DAY, field: created}` and `clustering {fields: [customer]}`).
/// With `diff`, `status` is `'cancelled'` in the 5 [`partition_changes`] rows, all in the
/// [`PARTITION_CHANGED_DAY`] partition; every other partition is identical.
/// For n = 20,000 (checked): the same rows as `orders(_, 20000, Side::A)`; partition 20240215
/// holds 223 rows, the changed ids are 10001..=10005; INFORMATION_SCHEMA.PARTITIONS lists 90.
pub fn partitioned(table: &str, n: i64, diff: bool) -> String {
    let select = orders_select(n, Side::A);
    let select = if diff {
        format!(
            "SELECT * REPLACE (IF(id IN ({}), 'cancelled', status) AS status) FROM (\n{select}\n)",
            join(&partition_changes(n))
        )
    } else {
        select
    };
    format!("CREATE TABLE `{table}`\nPARTITION BY DATE(created)\nCLUSTER BY customer\nAS\n{select}")
}

/// [`every_type`]'s rows as a table partitioned by month of `d` (DATE: NULL in multiples of
/// 31, `9999-12-31` in row 2 and `0001-01-01` in row 3, so it has a `__NULL__` and an
/// `__UNPARTITIONED__` partition besides ~660 monthly ones for n = 20,000), created with
/// `require_partition_filter`. `s` gets `'!'` appended in rows `changed`.
pub fn every_type_partitioned(table: &str, n: i64, changed: &[i64]) -> String {
    let full = every_type("x", n, Diff::Identical);
    let select = full.split_once(" AS\n").map_or(full.as_str(), |(_, s)| s);
    let select = if changed.is_empty() {
        select.to_string()
    } else {
        format!(
            "SELECT * REPLACE (IF(id IN ({}), CONCAT(s, '!'), s) AS s) FROM (\n{select}\n)",
            join(changed)
        )
    };
    format!(
        "CREATE TABLE `{table}`\nPARTITION BY DATE_TRUNC(d, MONTH)\n\
         OPTIONS (require_partition_filter = TRUE)\nAS\n{select}"
    )
}

/// The monthly partition (`YYYYMM`) of [`every_type_partitioned`]'s row `id` (not a special
/// row, `d` not NULL): `d` is 2000-01-01 + id days.
pub fn every_type_month(id: i64) -> String {
    let d = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.checked_add_days(chrono::Days::new(id as u64)))
        .expect("a date");
    d.format("%Y%m").to_string()
}

// ---------------------------------------------------------------------------------------
// 5. daily: three years of daily partitions
// ---------------------------------------------------------------------------------------

/// Days (partitions) of [`daily`]: three years, 2023-01-01 .. 2025-12-31.
pub const DAILY_DAYS: i64 = 1096;
/// Rows per day of [`daily`].
pub const DAILY_ROWS_PER_DAY: i64 = 20;

/// A table of [`DAILY_DAYS`] × [`DAILY_ROWS_PER_DAY`] rows (21,920), `PARTITION BY d` (DATE,
/// daily) and created with `require_partition_filter`: `id` (the key), `d` (row `id` is on
/// day `(id - 1) / 20`), `customer` STRING (NULL every 13th), `amount` NUMERIC (NULL every
/// 17th), `score` FLOAT64 (NULL every 19th), `at` TIMESTAMP, `flag` BOOL, `status` STRING.
/// Rows `changed` have `status` `'cancelled'`, which no other row has. (Not `INTERVAL
/// DIV(..) DAY`: the emulator adds the dividend's days.)
pub fn daily(table: &str, changed: &[i64]) -> String {
    let status = if changed.is_empty() {
        "['new', 'paid', 'shipped'][OFFSET(MOD(i, 3))]".to_string()
    } else {
        format!(
            "IF(i IN ({}), 'cancelled', ['new', 'paid', 'shipped'][OFFSET(MOD(i, 3))])",
            join(changed)
        )
    };
    format!(
        "CREATE OR REPLACE TABLE `{table}`\nPARTITION BY d\nOPTIONS (require_partition_filter = TRUE)\nAS\n\
         SELECT\n  i AS id,\n  DATE_ADD(DATE '2023-01-01', INTERVAL CAST(FLOOR((i - 1) / {DAILY_ROWS_PER_DAY}) AS INT64) DAY) AS d,\n  \
         IF(MOD(i, 13) = 0, NULL, CONCAT('C', CAST(MOD(i * 7919, 5000) AS STRING))) AS customer,\n  \
         IF(MOD(i, 17) = 0, NULL, CAST(MOD(i * 31, 10000) AS NUMERIC) / 100) AS amount,\n  \
         IF(MOD(i, 19) = 0, NULL, MOD(i, 1000) / 7.0) AS score,\n  \
         TIMESTAMP_ADD(TIMESTAMP '2023-01-01 00:00:00+00', INTERVAL i MINUTE) AS at,\n  \
         MOD(i, 3) = 0 AS flag,\n  {status} AS status\n\
         FROM UNNEST(GENERATE_ARRAY(1, {})) AS i",
        DAILY_DAYS * DAILY_ROWS_PER_DAY
    )
}

/// The partition id (`YYYYMMDD`) of [`daily`]'s row `id`.
pub fn daily_partition(id: i64) -> String {
    let d = chrono::NaiveDate::from_ymd_opt(2023, 1, 1)
        .and_then(|d| d.checked_add_days(chrono::Days::new(((id - 1) / DAILY_ROWS_PER_DAY) as u64)))
        .expect("a date");
    d.format("%Y%m%d").to_string()
}

fn join(ids: &[i64]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod realistic_tests {
    // Unused where the file is compiled without a test harness (the benchmark).
    #[allow(unused_imports)]
    use super::*;

    #[test]
    fn seeded_changes_are_distinct_plain_rows() {
        for n in [100, 101, 1000, 20_000, 1_000_000] {
            let c = seeded_changes(n);
            assert_eq!(c.len(), EVERY_TYPE_COLUMNS.len());
            let mut ids: Vec<i64> = c.iter().map(|(_, id)| *id).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), c.len(), "n={n}: {c:?}");
            for (col, id) in c {
                assert!((4..=n).contains(&id), "n={n} {col} {id}");
                assert!(!every_type_is_null(col, id), "n={n} {col} {id}");
            }
        }
    }

    #[test]
    fn orders_id_sets_are_disjoint() {
        for n in [100, 999, 1000, 10_000, 100_000, 1_000_000] {
            let a = only_in_a(n);
            let c = changed(n);
            assert!(
                a.iter().all(|i| (1..=n).contains(i) && !c.contains(i)),
                "n={n}"
            );
            let mut s = c.clone();
            s.dedup();
            assert_eq!(s.len(), 20, "n={n}");
            assert!(c.iter().all(|i| (1..=n).contains(i)), "n={n}");
            if n % 1000 == 0 {
                assert_eq!(changed_scaled(n).len() as i64, n / 1000, "n={n}");
            }
        }
        assert_eq!(partition_changes(20_000).len(), 5);
    }
}
