//! `--format text`: each item's details, then the original utilities' summary block.

use std::fmt::Write;

use super::{doc, one_line, Batch, Exporter, Outcome, ReportError};

pub(crate) struct Text;

const RULE: &str =
    "================================================================================";

impl Exporter for Text {
    fn render(&self, batch: &dyn Batch) -> Result<Vec<u8>, ReportError> {
        Ok(render(batch, false).into_bytes())
    }
}

/// The text report for a public log (the GitHub Action's): the same, without example rows of
/// table data, which stay in the report files.
pub(crate) fn render_public(batch: &dyn Batch) -> String {
    render(batch, true)
}

fn render(batch: &dyn Batch, public: bool) -> String {
    {
        let mut out = String::new();
        let cases = batch.cases();
        if let Some(legend) = batch.legend() {
            let _ = writeln!(out, "{legend}\n");
        }
        for case in cases.iter().filter(|c| c.outcome != Outcome::Error) {
            let _ = writeln!(
                out,
                "{}: {}",
                one_line(&case.name),
                one_line(&case.details.headline)
            );
            out.push_str(&doc::text(&case.details.blocks, public));
            out.push('\n');
        }
        let summary = batch.summary();
        let _ = writeln!(out, "{RULE}\n{}\n{RULE}\n\nResults:", summary.title);
        for (label, n) in &summary.counts {
            let _ = writeln!(out, "  {label}: {n}");
        }
        if let Some(cost) = &summary.cost {
            let _ = writeln!(out, "  Cost: {cost}");
        }
        let failed: Vec<_> = cases
            .iter()
            .filter(|c| c.outcome == Outcome::Error)
            .collect();
        if !failed.is_empty() {
            let _ = writeln!(out, "\n{}", summary.failed_heading);
            for c in failed {
                let _ = writeln!(
                    out,
                    "  ✗ {}: {}",
                    one_line(&c.name),
                    one_line(&c.details.headline)
                );
            }
        }
        let _ = writeln!(out, "\n{RULE}");
        out
    }
}
