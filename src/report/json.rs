//! `--format json` / `--report-json`: the batch's own document, pretty-printed.

use super::{Batch, Exporter, ReportError};

pub(crate) struct Json;

impl Exporter for Json {
    fn render(&self, batch: &dyn Batch) -> Result<Vec<u8>, ReportError> {
        batch.json().map_err(|e| ReportError::Render {
            format: "json",
            message: e.to_string(),
        })
    }
}
