//! `--format text`: each item's details, then the original utilities' summary block.

use std::fmt::Write;

use super::{lines_only, one_line, Batch, Exporter, Outcome, ReportError};

pub struct Text;

const RULE: &str =
    "================================================================================";

impl Exporter for Text {
    fn render(&self, batch: &dyn Batch) -> Result<Vec<u8>, ReportError> {
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
                one_line(&case.headline)
            );
            if !case.text.is_empty() {
                // The commands escape each data value; this catches anything they missed
                // (terminal escapes), leaving only their own line breaks.
                out.push_str(&lines_only(&case.text));
                if !case.text.ends_with('\n') {
                    out.push('\n');
                }
            }
            out.push('\n');
        }
        let summary = batch.summary();
        let _ = writeln!(out, "{RULE}\n{}\n{RULE}\n\nResults:", summary.title);
        for (label, n) in &summary.counts {
            let _ = writeln!(out, "  {label}: {n}");
        }
        let failed: Vec<_> = cases
            .iter()
            .filter(|c| c.outcome == Outcome::Error)
            .collect();
        if !failed.is_empty() {
            let _ = writeln!(out, "\n{}", summary.failed_heading);
            for c in failed {
                let _ = writeln!(out, "  ✗ {}: {}", one_line(&c.name), one_line(&c.headline));
            }
        }
        let _ = writeln!(out, "\n{RULE}");
        Ok(out.into_bytes())
    }
}
