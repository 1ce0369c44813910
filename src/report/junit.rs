//! `--report-junit`: one testcase per item; failure = differences that fail the gate, error =
//! the item could not be checked. quick-junit writes suite totals and strips characters that
//! are invalid in XML.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{doc, Batch, Exporter, Outcome, ReportError};

pub(crate) struct Junit;

impl Exporter for Junit {
    fn render(&self, batch: &dyn Batch) -> Result<Vec<u8>, ReportError> {
        let mut report = Report::new("bqcheck");
        let mut suite = TestSuite::new(batch.tool());
        for case in batch.cases() {
            // JUnit reports are artifacts, not public logs: they keep the example rows.
            let text = doc::text(&case.details.blocks, false);
            let status = match case.outcome {
                Outcome::Pass => TestCaseStatus::success(),
                Outcome::Fail | Outcome::Error => {
                    let kind = if case.outcome == Outcome::Fail {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    };
                    let mut s = TestCaseStatus::non_success(kind);
                    s.set_message(case.details.headline.clone());
                    if !text.is_empty() {
                        s.set_description(text.clone());
                    }
                    s
                }
            };
            let mut tc = TestCase::new(case.name.clone(), status);
            tc.set_classname(batch.tool());
            if case.outcome == Outcome::Pass && !text.is_empty() {
                tc.set_system_out(text);
            }
            suite.add_test_case(tc);
        }
        report.add_test_suite(suite);
        report
            .to_string()
            .map(String::into_bytes)
            .map_err(|e| ReportError::Render {
                format: "junit",
                message: e.to_string(),
            })
    }
}
