//! `--report-markdown`: a summary table and per-item details, for PR comments and job summaries.

use std::fmt::Write;

use super::{doc, one_line, Batch, Exporter, Outcome, ReportError};

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

/// The report's pieces: the heading and summary, one table row per item, one `<details>`
/// block per item that has details.
struct Parts {
    head: String,
    rows: Vec<String>,
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
    let _ = writeln!(head, "| | Item | Result |\n|---|---|---|");
    let rows = cases
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
    let details = cases
        .iter()
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
        details,
    }
}

/// The Markdown report in at most `limit` characters (a PR comment's 65,536, say): the heading
/// and summary always; then the item rows and the details blocks while they fit, in order;
/// what is left out is counted in a closing note that ends with `overflow` (e.g. a link to
/// the full report).
pub(crate) fn render_bounded(batch: &dyn Batch, limit: usize, overflow: &str) -> String {
    let Parts {
        head,
        rows,
        details,
    } = parts(batch);
    let len = |s: &str| s.chars().count();
    // Room for the closing note, whatever its counts.
    let reserve = 200 + len(overflow);
    let mut out = head;
    let mut used = len(&out);
    let (mut rows_left, mut details_left) = (0usize, 0usize);
    let total = rows.len();
    for (i, row) in rows.iter().enumerate() {
        if used + len(row) + reserve > limit {
            rows_left = total - i;
            break;
        }
        used += len(row);
        out.push_str(row);
    }
    for (i, d) in details.iter().enumerate() {
        if rows_left > 0 || used + len(d) + reserve > limit {
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
