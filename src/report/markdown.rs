//! `--report-markdown`: a summary table and per-item details, for PR comments and job summaries.

use std::fmt::Write;

use super::{doc, one_line, Batch, Case, Exporter, Outcome, ReportError};

pub(crate) struct Markdown;

/// Make text safe inside a Markdown table cell: no HTML, no table break, and no @mention
/// or image/link from a column description reaching a PR comment.
pub fn cell(s: &str) -> String {
    one_line(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        // GitHub finds mentions after rendering, so an entity would still notify: a
        // zero-width space after the @ is what stops `@team` from pinging anyone.
        .replace('@', "@\u{200B}")
        .replace('[', "\\[")
}

/// `s` as a code span in a table cell: fenced by more backticks than any run inside it (so a
/// name with backticks cannot end the span and inject Markdown), padded when it starts or
/// ends with one. Inside a code span entities are not decoded, so only `|` (a table cell's
/// end) and line breaks are escaped.
pub(crate) fn code(s: &str) -> String {
    let text = one_line(s).replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

impl Exporter for Markdown {
    fn render(&self, batch: &dyn Batch) -> Result<Vec<u8>, ReportError> {
        Ok(render_bounded(batch, usize::MAX, "").into_bytes())
    }
}

/// The report's pieces: the heading and summary, one table row per item that failed or
/// changed, the items with nothing to see, one `<details>` block per item that has details.
struct Parts {
    head: String,
    /// Items that failed or changed, most important first.
    rows: Vec<String>,
    /// Items with nothing to see: (name as code, headline).
    quiet: Vec<(String, String)>,
    details: Vec<String>,
}

fn parts(batch: &dyn Batch) -> Parts {
    let cases = batch.cases();
    let summary = batch.summary();
    let mut head = String::new();
    let _ = writeln!(head, "## {}\n", summary.title);
    let counts: Vec<String> = summary
        .counts
        .iter()
        .map(|(k, v)| format!("{k}: **{v}**"))
        .collect();
    let _ = writeln!(head, "{}\n", counts.join(" · "));
    if let Some(cost) = &summary.cost {
        let _ = writeln!(head, "Cost: {}\n", cell(cost));
    }
    if let Some(legend) = batch.legend() {
        let _ = writeln!(head, "_{legend}_\n");
    }
    let warnings = batch.warnings();
    for w in &warnings {
        let _ = writeln!(head, "> ⚠️ {}", cell(w));
    }
    if !warnings.is_empty() {
        head.push('\n');
    }
    if let Some(chart) = batch.overview() {
        let _ = writeln!(head, "```mermaid\n{}```\n", chart.mermaid());
    }
    let _ = writeln!(head, "| | Item | Result |\n|---|---|---|");
    // What needs a look first: failures and errors, then what changed; the items with nothing
    // to see are one line at the end.
    let rank = |c: &Case| match (c.outcome, c.same) {
        (Outcome::Fail | Outcome::Error, _) => 0,
        (Outcome::Pass, false) => 1,
        (Outcome::Pass, true) => 2,
    };
    let mut ordered: Vec<&Case> = cases.iter().collect();
    ordered.sort_by_key(|c| rank(c));
    let (mut quiet, mut loud): (Vec<&Case>, Vec<&Case>) =
        ordered.into_iter().partition(|c| rank(c) == 2);
    // One item with nothing to see keeps its own row.
    if quiet.len() == 1 {
        loud.append(&mut quiet);
    }
    let rows = loud
        .iter()
        .map(|c| {
            let icon = match c.outcome {
                Outcome::Pass => "✅",
                Outcome::Fail => "❌",
                Outcome::Error => "⚠️",
            };
            format!(
                "| {icon} | {} | {} |\n",
                code(&c.name),
                cell(&c.details.headline)
            )
        })
        .collect();
    let details = loud
        .iter()
        .chain(&quiet)
        .filter(|c| doc::has_markdown(&c.details.blocks))
        .map(|c| {
            format!(
                "\n<details{}><summary><code>{}</code>: {}</summary>\n\n{}\n</details>\n",
                if c.outcome == Outcome::Fail {
                    " open"
                } else {
                    ""
                },
                html_escape(&c.name),
                html_escape(&c.details.headline),
                doc::markdown(&c.details.blocks).trim_end()
            )
        })
        .collect();
    Parts {
        head,
        rows,
        quiet: quiet
            .iter()
            .map(|c| (code(&c.name), c.details.headline.clone()))
            .collect(),
        details,
    }
}

/// Details blocks in a bounded report (a PR comment, a job summary): the first ones, by
/// importance; the full report has them all.
pub(crate) const DETAILS_SHOWN: usize = 50;

/// The one row of the items with nothing to see: how many, what they say (when they all say
/// the same), and their names while they fit in `room` characters.
fn quiet_row(quiet: &[(String, String)], room: usize) -> String {
    let n = quiet.len();
    // What they say, without the particulars in parentheses (`identical (5 rows)`).
    let mut says: Vec<&str> = quiet
        .iter()
        .map(|(_, h)| h.split(" (").next().unwrap_or(h).trim())
        .collect();
    says.sort_unstable();
    says.dedup();
    let what = match says.as_slice() {
        [one] if one.len() <= 40 => format!("{n} × {}", cell(one)),
        _ => format!("{n} with nothing to report"),
    };
    let mut names = String::new();
    let mut listed = 0;
    for (name, _) in quiet {
        let sep = if listed == 0 { "" } else { ", " };
        if names.chars().count() + sep.len() + name.chars().count() + 40 > room {
            break;
        }
        names.push_str(sep);
        names.push_str(name);
        listed += 1;
    }
    if listed < n {
        let _ = write!(
            names,
            "{}and {} more",
            if listed == 0 { "" } else { ", " },
            n - listed
        );
    }
    format!("| ✅ | {what} | {names} |\n")
}

/// The Markdown report in at most `limit` characters (a PR comment's 65,536, say): the heading
/// and summary always; then the rows of the items that failed or changed, most important
/// first, and one row for all the items with nothing to see; then the details blocks (at most
/// [`DETAILS_SHOWN`] when bounded), while they fit, in the same order. What is left out is
/// counted in a closing note that ends with `overflow` (e.g. a link to the full report).
pub(crate) fn render_bounded(batch: &dyn Batch, limit: usize, overflow: &str) -> String {
    let Parts {
        head,
        rows,
        quiet,
        details,
    } = parts(batch);
    let bounded = limit != usize::MAX;
    let len = |s: &str| s.chars().count();
    // Room for the closing note, whatever its counts.
    let reserve = 200 + len(overflow);
    let mut out = head;
    let mut used = len(&out);
    let (mut rows_left, mut details_left) = (0usize, 0usize);
    let total = rows.len() + quiet.len();
    // The quiet row is short and always kept: it is what says the rest are fine.
    let quiet_room = if bounded { 4_000 } else { usize::MAX / 2 };
    let quiet_row = (!quiet.is_empty()).then(|| quiet_row(&quiet, quiet_room));
    let quiet_len = quiet_row.as_deref().map_or(0, len);
    for (i, row) in rows.iter().enumerate() {
        if used + len(row) + quiet_len + reserve > limit {
            rows_left = rows.len() - i;
            break;
        }
        used += len(row);
        out.push_str(row);
    }
    if let Some(q) = &quiet_row {
        used += len(q);
        out.push_str(q);
    }
    for (i, d) in details.iter().enumerate() {
        if rows_left > 0 || (bounded && i >= DETAILS_SHOWN) || used + len(d) + reserve > limit {
            details_left = details.len() - i;
            break;
        }
        used += len(d);
        out.push_str(d);
    }
    if rows_left > 0 || details_left > 0 {
        let mut note = String::from("\n> **Truncated** to fit:");
        if rows_left > 0 {
            let _ = write!(note, " {rows_left} of {total} items not listed;");
        }
        if details_left > 0 {
            let _ = write!(note, " details of {details_left} items not shown;");
        }
        note.pop();
        let _ = write!(note, ". {overflow}");
        out.push_str(note.trim_end());
        out.push('\n');
    }
    out
}

/// Text for inside HTML (`<summary>`): entities escaped, and an @ followed by a zero-width
/// space, since GitHub finds mentions after rendering.
fn html_escape(s: &str) -> String {
    one_line(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('@', "@\u{200B}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_cannot_break_out_of_code_spans_or_mention() {
        assert_eq!(super::code("a.b"), "`a.b`");
        assert_eq!(super::code("x` | **y**"), "``x` \\| **y**``");
        assert_eq!(super::code("`x`"), "`` `x` ``");
        assert_eq!(
            super::code("a\nb"),
            "`a\\nb`",
            "control characters are shown escaped"
        );
        assert_eq!(super::cell("@org/team"), "@\u{200B}org/team");
        assert!(!super::cell("hi @octocat").contains("@o"));
        assert_eq!(
            super::html_escape("<b>@team</b>"),
            "&lt;b&gt;@\u{200B}team&lt;/b&gt;"
        );
    }
}
