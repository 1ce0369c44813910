//! `--report-markdown`: a summary table and per-item details, for PR comments and job summaries.

use std::fmt::Write;

use super::{Batch, Exporter, Outcome, ReportError};

pub struct Markdown;

/// Make text safe inside a Markdown table cell.
pub fn cell(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('\n', " ")
}

impl Exporter for Markdown {
    fn render(&self, batch: &dyn Batch) -> Result<Vec<u8>, ReportError> {
        let mut out = String::new();
        let cases = batch.cases();
        let summary = batch.summary();
        let _ = writeln!(out, "## {}\n", summary.title);
        let counts: Vec<String> = summary
            .counts
            .iter()
            .map(|(k, v)| format!("{k}: **{v}**"))
            .collect();
        let _ = writeln!(out, "{}\n", counts.join(" · "));
        if let Some(legend) = batch.legend() {
            let _ = writeln!(out, "_{legend}_\n");
        }
        let _ = writeln!(out, "| | Item | Result |\n|---|---|---|");
        for c in &cases {
            let icon = match c.outcome {
                Outcome::Pass => "✅",
                Outcome::Fail => "❌",
                Outcome::Error => "⚠️",
            };
            let _ = writeln!(
                out,
                "| {icon} | `{}` | {} |",
                cell(&c.name),
                cell(&c.headline)
            );
        }
        for c in cases.iter().filter(|c| !c.markdown.is_empty()) {
            let _ = writeln!(
                out,
                "\n<details{}><summary><code>{}</code>: {}</summary>\n\n{}\n</details>",
                if c.outcome == Outcome::Fail {
                    " open"
                } else {
                    ""
                },
                html_escape(&c.name),
                html_escape(&c.headline),
                c.markdown.trim_end()
            );
        }
        Ok(out.into_bytes())
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
