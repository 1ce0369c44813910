//! The report document model: what one item's result says, as [`Block`]s, rendered alike by
//! the text report ([`text`]) and Markdown ([`markdown`]), the way hyperfine's
//! `src/export/markup.rs` shares one layout between its markup formats.
//!
//! Checks build blocks from raw values; escaping is the renderers' job. Text escapes every
//! control character ([`super::one_line`]); Markdown escapes table cells, fences code and
//! stops @mentions ([`super::markdown::cell`], [`super::markdown::code`]).
//!
//! Blocks that hold table data (example rows) are marked `data`: public renderings (the
//! action's log, PR comments, job summaries, annotations) leave them out and say so.

use std::fmt::Write;

use super::markdown::{cell, code};
use super::one_line;

/// One item's result: a headline and what to show under it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Details {
    /// One line: `identical`, `3 changes (1 breaking)`, or the error.
    pub(crate) headline: String,
    pub(crate) blocks: Vec<Block>,
}

/// One piece of an item's details.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    /// A remark: `note: …`.
    Note(String),
    /// `label: value` facts.
    KeyValues(Vec<(String, String)>),
    /// How the check ran (queries, bytes): shown in text and inside Markdown details, but
    /// never a reason on its own to open a Markdown details block.
    Stats(Vec<(String, String)>),
    /// A titled list of lines.
    List {
        title: String,
        items: Vec<String>,
        /// Table data: left out of public renderings.
        data: bool,
    },
    Table(Table),
    /// Preformatted text (SQL), under a title.
    Code {
        title: String,
        text: String,
    },
    /// A metric over time: a sparkline in text, a Mermaid `xychart-beta` in Markdown.
    Chart(Chart),
}

/// A series of values (the last is now) against a band of usual values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chart {
    pub(crate) title: String,
    /// One per value: when it was measured (`11-28`; the last `now`).
    pub(crate) labels: Vec<String>,
    /// None: not measured in that run.
    pub(crate) values: Vec<Option<f64>>,
    pub(crate) low: f64,
    pub(crate) high: f64,
    /// The last value is outside the band.
    pub(crate) flagged: bool,
    /// Values are fractions shown as percentages.
    pub(crate) percent: bool,
    /// Values are counts: shown as whole numbers.
    pub(crate) integer: bool,
}

impl Chart {
    fn scaled(&self, v: f64) -> f64 {
        if self.percent {
            v * 100.0
        } else {
            v
        }
    }

    /// `14,315`, `5.2%`, `0.123`.
    fn show(&self, v: f64) -> String {
        let v = self.scaled(v);
        let s = if self.percent {
            format!("{v:.1}%")
        } else if (self.integer || v.abs() >= 1000.0) && v.abs() < 1e15 {
            crate::report::thousands(v.abs().round() as usize)
        } else if v.fract() == 0.0 {
            format!("{}", v.abs())
        } else {
            format!("{}", (v * 1000.0).round() / 1000.0)
        };
        if v < 0.0 && !s.starts_with('-') {
            format!("-{s}")
        } else {
            s
        }
    }

    /// One line: `title ▁▂▃▅▇▂ now 14,315 (usual 19,800 to 21,100)`.
    fn text(&self) -> String {
        let now = self.values.last().copied().flatten();
        format!(
            "{} {} now {} (usual {} to {}){}",
            one_line(&self.title),
            sparkline(&self.values),
            now.map(|v| self.show(v)).unwrap_or_else(|| "?".into()),
            self.show(self.low),
            self.show(self.high),
            if self.flagged { " ⚠ out of band" } else { "" }
        )
    }

    /// A Mermaid `xychart-beta`: the values as a line, the band as two lines, and a bar at
    /// the current value (the others sit on the axis). Runs without a value are left out.
    fn mermaid(&self) -> String {
        let points: Vec<(&String, f64)> = self
            .labels
            .iter()
            .zip(&self.values)
            .filter_map(|(l, v)| v.filter(|v| v.is_finite()).map(|v| (l, self.scaled(v))))
            .collect();
        let (low, high) = (self.scaled(self.low), self.scaled(self.high));
        let lo = points.iter().map(|p| p.1).fold(low, f64::min);
        let hi = points.iter().map(|p| p.1).fold(high, f64::max);
        let pad = ((hi - lo) * 0.05).max(hi.abs() * 1e-6).max(1e-9);
        let (lo, hi) = (lo - pad, hi + pad);
        // Six significant digits are plenty for a picture.
        let num = |v: f64| {
            // Mermaid reads plain decimals: nothing tiny (its scale would overflow to NaN).
            if v.abs() < 1e-9 || !v.is_finite() {
                return "0".to_string();
            }
            let scale = 10f64.powi(5 - v.abs().log10().floor() as i32);
            format!("{}", (v * scale).round() / scale)
        };
        let list = |vals: Vec<f64>| vals.into_iter().map(num).collect::<Vec<_>>().join(", ");
        let n = points.len();
        // A numeric axis of runs: one label per run would not fit a picture of 30 runs.
        let axis = match (points.first(), points.last()) {
            (Some(first), Some(last)) => format!(
                "\"runs, {} to {}\" 1 --> {}",
                mermaid_text(first.0),
                mermaid_text(last.0),
                n.max(2)
            ),
            _ => "1 --> 2".to_string(),
        };
        let mut bars = vec![lo; n];
        if let Some(last) = points.last() {
            bars[n - 1] = last.1;
        }
        let mut s = String::from("xychart-beta\n");
        let _ = writeln!(
            s,
            "    title \"{}{}\"",
            mermaid_text(&self.title),
            if self.flagged { " - out of band" } else { "" }
        );
        let _ = writeln!(s, "    x-axis {axis}");
        let unit = if self.percent { "\"%\" " } else { "" };
        let _ = writeln!(s, "    y-axis {unit}{} --> {}", num(lo), num(hi));
        let _ = writeln!(s, "    bar [{}]", list(bars));
        let _ = writeln!(
            s,
            "    line [{}]",
            list(points.iter().map(|p| p.1).collect())
        );
        let _ = writeln!(s, "    line [{}]", list(vec![low; n]));
        let _ = writeln!(s, "    line [{}]", list(vec![high; n]));
        s
    }
}

/// Bars across items (an overview of a batch): a Mermaid `xychart-beta` bar chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BarChart {
    pub(crate) title: String,
    pub(crate) labels: Vec<String>,
    pub(crate) values: Vec<f64>,
    /// The y axis' title (`%`).
    pub(crate) unit: String,
    /// A level drawn as a line across the bars (100: usual).
    pub(crate) reference: Option<f64>,
}

impl BarChart {
    pub(crate) fn mermaid(&self) -> String {
        // Mermaid draws a bar up from the axis' minimum: the axis starts at 0, and the
        // values are non-negative (a level, not a change).
        let hi = self
            .values
            .iter()
            .copied()
            .chain(self.reference)
            .fold(0.0, f64::max);
        let num = |v: f64| format!("{}", (v * 10.0).round() / 10.0);
        let mut s = String::from("xychart-beta\n");
        let _ = writeln!(s, "    title \"{}\"", mermaid_text(&self.title));
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|l| format!("\"{}\"", mermaid_text(l)))
            .collect();
        let _ = writeln!(s, "    x-axis [{}]", labels.join(", "));
        let _ = writeln!(
            s,
            "    y-axis \"{}\" 0 --> {}",
            mermaid_text(&self.unit),
            num(hi * 1.1)
        );
        let values: Vec<String> = self.values.iter().map(|v| num(v.max(0.0))).collect();
        let _ = writeln!(s, "    bar [{}]", values.join(", "));
        if let Some(r) = self.reference {
            let line = vec![num(r); self.values.len()];
            let _ = writeln!(s, "    line [{}]", line.join(", "));
        }
        s
    }
}

/// Text inside a Mermaid quoted string: letters, digits and `.:_-%()/,` and spaces; anything
/// else (a `"` would end the string, a newline the statement) becomes `_`.
fn mermaid_text(t: &str) -> String {
    t.chars()
        .map(|c| {
            if c.is_alphanumeric() || " .:_-%()/,".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A one-line trend in Unicode blocks (▁▂▃▄▅▆▇█), oldest first; a run without a value is a
/// space.
pub(crate) fn sparkline(values: &[Option<f64>]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let finite: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let (lo, hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    values
        .iter()
        .map(|v| match v {
            Some(v) if v.is_finite() => {
                if hi > lo {
                    BARS[(((v - lo) / (hi - lo)) * 7.0).round().clamp(0.0, 7.0) as usize]
                } else {
                    BARS[3]
                }
            }
            _ => ' ',
        })
        .collect()
}

/// Rows under named columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Table {
    /// Shown above the rows (text: `  title:` with the rows indented under it).
    pub(crate) title: Option<String>,
    pub(crate) columns: Vec<Column>,
    pub(crate) rows: Vec<Vec<String>>,
    /// The rows are table data (example rows): left out of public renderings.
    pub(crate) data: bool,
    /// Text: print the column names above the rows (Markdown always has a header row).
    pub(crate) header: bool,
}

/// A table column.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Column {
    pub(crate) name: String,
    /// Markdown: an identifier, shown as a code span.
    pub(crate) code: bool,
    /// Text: right-aligned (numbers).
    pub(crate) right: bool,
    /// Text: pad to at least this many characters, so that tables of several items line up.
    pub(crate) min_width: usize,
    /// Text: one space from the column before instead of two (`- legacy_flag`).
    pub(crate) tight: bool,
    /// Text: an aside after the other cells, `  (value)`, only when non-empty.
    pub(crate) aside: bool,
}

impl Column {
    pub(crate) fn new(name: &str) -> Column {
        Column {
            name: name.to_string(),
            ..Column::default()
        }
    }
    pub(crate) fn code(mut self) -> Column {
        self.code = true;
        self
    }
    pub(crate) fn right(mut self) -> Column {
        self.right = true;
        self
    }
    pub(crate) fn min_width(mut self, w: usize) -> Column {
        self.min_width = w;
        self
    }
    pub(crate) fn tight(mut self) -> Column {
        self.tight = true;
        self
    }
    pub(crate) fn aside(mut self) -> Column {
        self.aside = true;
        self
    }
}

impl Table {
    pub(crate) fn new(columns: Vec<Column>) -> Table {
        Table {
            columns,
            ..Table::default()
        }
    }
    pub(crate) fn titled(mut self, title: impl Into<String>) -> Table {
        self.title = Some(title.into());
        self
    }
    pub(crate) fn with_header(mut self) -> Table {
        self.header = true;
        self
    }
    pub(crate) fn of_data(mut self) -> Table {
        self.data = true;
        self
    }
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
}

impl Block {
    /// Holds table data, which public renderings leave out.
    fn is_data(&self) -> bool {
        match self {
            Block::Table(t) => t.data,
            Block::List { data, .. } => *data,
            _ => false,
        }
    }

    /// What a public rendering says instead of a data block.
    fn withheld(&self) -> Option<String> {
        let title = match self {
            Block::Table(t) => t.title.clone().unwrap_or_else(|| "rows".into()),
            Block::List { title, .. } => title.clone(),
            _ => return None,
        };
        Some(format!(
            "{title}: example rows are table data, left out here; they are in the JSON and JUnit reports"
        ))
    }
}

/// `blocks` as text lines, each indented by two spaces (a title's rows by four).
/// `public`: without table data.
pub(crate) fn text(blocks: &[Block], public: bool) -> String {
    let mut out = String::new();
    for b in blocks {
        if public && b.is_data() {
            if let Some(w) = b.withheld() {
                let _ = writeln!(out, "  {}", one_line(&w));
            }
            continue;
        }
        match b {
            Block::Note(n) => {
                let _ = writeln!(out, "  note: {}", one_line(n));
            }
            Block::KeyValues(kv) | Block::Stats(kv) => {
                for (k, v) in kv {
                    let _ = writeln!(out, "  {}: {}", one_line(k), one_line(v));
                }
            }
            Block::List { title, items, .. } => {
                let _ = writeln!(out, "  {}:", one_line(title));
                for i in items {
                    let _ = writeln!(out, "    {}", one_line(i));
                }
            }
            Block::Table(t) => {
                let indent = match &t.title {
                    Some(title) => {
                        let _ = writeln!(out, "  {}:", one_line(title));
                        "    "
                    }
                    None => "  ",
                };
                out.push_str(&text_table(t, indent));
            }
            Block::Chart(c) => {
                let _ = writeln!(out, "  {}", c.text());
            }
            Block::Code { title, text } => {
                let _ = writeln!(out, "  -- {}", one_line(title));
                for line in text.lines() {
                    let _ = writeln!(out, "  {}", one_line(line));
                }
                out.push('\n');
            }
        }
    }
    out
}

/// An aligned table: columns padded to their widest cell (last column and asides unpadded).
fn text_table(t: &Table, indent: &str) -> String {
    let cell_text =
        |row: &[String], i: usize| one_line(row.get(i).map(String::as_str).unwrap_or(""));
    let header: Vec<String> = t.columns.iter().map(|c| one_line(&c.name)).collect();
    let body: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| (0..t.columns.len()).map(|i| cell_text(r, i)).collect())
        .collect();
    let len = |s: &str| s.chars().count();
    let widths: Vec<usize> = t
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            body.iter()
                .map(|r| len(&r[i]))
                .chain(t.header.then(|| len(&header[i])))
                .max()
                .unwrap_or(0)
                .max(c.min_width)
        })
        .collect();
    // The last column that is not an aside is left unpadded.
    let last = t.columns.iter().rposition(|c| !c.aside);
    let line = |cells: &[String], is_header: bool| {
        let mut s = String::from(indent);
        for (i, (c, v)) in t.columns.iter().zip(cells).enumerate() {
            if c.aside {
                if !v.is_empty() && !is_header {
                    let _ = write!(s, "  ({v})");
                }
                continue;
            }
            if i > 0 {
                s.push_str(if c.tight { " " } else { "  " });
            }
            let pad = widths[i].saturating_sub(len(v));
            if Some(i) == last {
                if c.right {
                    s.push_str(&" ".repeat(pad));
                }
                s.push_str(v);
            } else if c.right {
                let _ = write!(s, "{}{v}", " ".repeat(pad));
            } else {
                let _ = write!(s, "{v}{}", " ".repeat(pad));
            }
        }
        let mut s = s.trim_end().to_string();
        s.push('\n');
        s
    };
    let mut out = String::new();
    if t.header {
        out.push_str(&line(&header, true));
    }
    for r in &body {
        out.push_str(&line(r, false));
    }
    out
}

/// Should Markdown open a details block for these blocks? Not for run statistics alone.
pub(crate) fn has_markdown(blocks: &[Block]) -> bool {
    blocks.iter().any(|b| !matches!(b, Block::Stats(_)))
}

/// `blocks` as Markdown, blocks separated by blank lines. Markdown reports are public (PR
/// comments, job summaries): table data is always left out.
pub(crate) fn markdown(blocks: &[Block]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut list: Vec<String> = Vec::new();
    // Notes, facts and statistics run together into one bullet list.
    let flush = |list: &mut Vec<String>, parts: &mut Vec<String>| {
        if !list.is_empty() {
            parts.push(list.concat());
            list.clear();
        }
    };
    for b in blocks {
        if b.is_data() {
            if let Some(w) = b.withheld() {
                list.push(format!("- _{}_\n", cell(&w)));
            }
            continue;
        }
        match b {
            Block::Note(n) => list.push(format!("- note: {}\n", cell(n))),
            Block::KeyValues(kv) | Block::Stats(kv) => {
                for (k, v) in kv {
                    list.push(format!("- {}: **{}**\n", cell(k), cell(v)));
                }
            }
            Block::List { title, items, .. } => {
                flush(&mut list, &mut parts);
                let mut s = format!("**{}**\n\n", cell(title));
                for i in items {
                    let _ = writeln!(s, "- {}", cell(i));
                }
                parts.push(s);
            }
            Block::Table(t) => {
                flush(&mut list, &mut parts);
                parts.push(markdown_table(t));
            }
            Block::Code { title, text } => {
                flush(&mut list, &mut parts);
                parts.push(format!("**{}**\n\n{}", cell(title), fenced(text, "sql")));
            }
            Block::Chart(c) => {
                flush(&mut list, &mut parts);
                parts.push(fenced(&c.mermaid(), "mermaid"));
            }
        }
    }
    flush(&mut list, &mut parts);
    parts.join("\n")
}

fn markdown_table(t: &Table) -> String {
    let mut s = String::new();
    if let Some(title) = &t.title {
        let _ = writeln!(s, "**{}**\n", cell(title));
    }
    let names: Vec<String> = t
        .columns
        .iter()
        .map(|c| match c.name.as_str() {
            "" => " ".to_string(),
            n => format!(" {} ", cell(n)),
        })
        .collect();
    let _ = writeln!(s, "|{}|", names.join("|"));
    let rule: Vec<&str> = t
        .columns
        .iter()
        .map(|c| if c.right { "--:" } else { "---" })
        .collect();
    let _ = writeln!(s, "|{}|", rule.join("|"));
    for r in &t.rows {
        let cells: Vec<String> = t
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let v = r.get(i).map(String::as_str).unwrap_or("");
                if v.is_empty() {
                    String::new()
                } else if c.code {
                    code(v)
                } else {
                    cell(v)
                }
            })
            .collect();
        let _ = writeln!(s, "| {} |", cells.join(" | "));
    }
    s
}

/// `text` as a fenced code block: the fence is longer than any run of backticks inside it.
fn fenced(text: &str, lang: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}{lang}\n{}\n{fence}\n", text.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes() -> Table {
        let mut t = Table::new(vec![
            Column::new("").code(),
            Column::new("Path").code().tight(),
            Column::new("Class").min_width(10),
            Column::new("Change"),
            Column::new("Note").aside(),
        ]);
        t.row(vec![
            "-".into(),
            "legacy_flag".into(),
            "breaking".into(),
            "column removed: BOOL NULLABLE".into(),
            String::new(),
        ]);
        t.row(vec![
            "~".into(),
            "address.zip".into(),
            "breaking".into(),
            "type STRING → INT64".into(),
            "not in place".into(),
        ]);
        t
    }

    #[test]
    fn text_tables_align_pad_to_a_minimum_and_put_asides_last() {
        assert_eq!(
            text(&[Block::Table(changes())], false),
            "  - legacy_flag  breaking    column removed: BOOL NULLABLE\n  \
             ~ address.zip  breaking    type STRING → INT64  (not in place)\n"
        );
    }

    #[test]
    fn headers_titles_and_right_alignment() {
        let mut t = Table::new(vec![Column::new("column"), Column::new("rows").right()])
            .titled("changed")
            .with_header();
        t.row(vec!["status".into(), "20".into()]);
        t.row(vec!["a".into(), "1000".into()]);
        assert_eq!(
            text(&[Block::Table(t)], false),
            "  changed:\n    column  rows\n    status    20\n    a       1000\n"
        );
    }

    #[test]
    fn markdown_renders_the_same_blocks_in_the_same_order() {
        let blocks = vec![
            Block::Table(changes()),
            Block::Note("key from the primary key".into()),
            Block::Stats(vec![("queries".into(), "2".into())]),
        ];
        assert_eq!(
            markdown(&blocks),
            "| | Path | Class | Change | Note |\n|---|---|---|---|---|\n\
             | `-` | `legacy_flag` | breaking | column removed: BOOL NULLABLE |  |\n\
             | `~` | `address.zip` | breaking | type STRING → INT64 | not in place |\n\
             \n- note: key from the primary key\n- queries: **2**\n"
        );
        assert!(has_markdown(&blocks));
        assert!(!has_markdown(&blocks[2..]));
    }

    #[test]
    fn data_blocks_are_left_out_of_public_renderings_and_say_so() {
        let mut t = Table::new(vec![Column::new("id"), Column::new("email")])
            .titled("only in A (1 of 1)")
            .with_header()
            .of_data();
        t.row(vec!["7".into(), "secret@example.com".into()]);
        let blocks = vec![Block::Table(t)];
        assert!(text(&blocks, false).contains("secret@example.com"));
        for public in [text(&blocks, true), markdown(&blocks)] {
            assert!(!public.contains("secret"), "{public}");
            assert!(public.contains("only in A (1 of 1): example rows are table data"));
        }
    }

    #[test]
    fn charts_are_a_sparkline_in_text_and_mermaid_in_markdown() {
        let c = Chart {
            title: "null rate of e\"mail`".into(),
            labels: vec!["11-01".into(), "11-02".into(), "11-03".into(), "now".into()],
            values: vec![Some(0.05), None, Some(0.051), Some(0.2)],
            low: 0.045,
            high: 0.055,
            flagged: true,
            percent: true,
            integer: false,
        };
        let txt = text(&[Block::Chart(c.clone())], false);
        assert_eq!(
            txt.trim_end(),
            "  null rate of e\"mail` ▁ ▁█ now 20.0% (usual 4.5% to 5.5%) ⚠ out of band"
        );
        let md = markdown(&[Block::Chart(c)]);
        assert!(md.starts_with("```mermaid\nxychart-beta\n"), "{md}");
        assert!(
            md.contains("    title \"null rate of e_mail_ - out of band\"\n"),
            "no quote or backtick reaches Mermaid: {md}"
        );
        assert!(
            md.contains("    x-axis \"runs, 11-01 to now\" 1 --> 3\n"),
            "a run without a value is left out: {md}"
        );
        assert!(md.contains("    line [5, 5.1, 20]\n"), "{md}");
        assert!(
            md.contains("    line [4.5, 4.5, 4.5]\n    line [5.5, 5.5, 5.5]\n"),
            "{md}"
        );
        assert!(
            md.contains("    y-axis \"%\" 3.725 --> 20.775\n    bar [3.725, 3.725, 20]\n"),
            "the current value is a bar: {md}"
        );
        assert_eq!(sparkline(&[Some(0.0), Some(7.0), None, Some(3.5)]), "▁█ ▅");
        assert_eq!(sparkline(&[Some(2.0), Some(2.0)]), "▄▄");
    }

    #[test]
    fn every_value_is_escaped_for_its_format() {
        let mut t = Table::new(vec![Column::new("name").code(), Column::new("value")]);
        t.row(vec!["a`b|c".into(), "x\u{1b}[31m|@team <b>".into()]);
        let blocks = vec![
            Block::Table(t),
            Block::Note("line\n::error::forged".into()),
            Block::Code {
                title: "query".into(),
                text: "SELECT '```' AS x".into(),
            },
        ];
        let txt = text(&blocks, false);
        assert!(!txt.contains('\u{1b}') && txt.contains("\\u{1b}"), "{txt}");
        assert!(txt.contains("note: line\\n::error::forged"), "{txt}");
        let md = markdown(&blocks);
        assert!(md.contains("| ``a`b\\|c`` |"), "{md}");
        assert!(md.contains("@\u{200B}team &lt;b&gt;"), "{md}");
        assert!(md.contains("````sql\nSELECT '```' AS x\n````"), "{md}");
    }
}
