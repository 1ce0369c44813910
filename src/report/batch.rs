//! The one batch every check's results live in. A check says what its items are and how one
//! result reads ([`CheckResults`]); [`Results`] does the rest once for all checks: outcomes,
//! the exit status, totals, the summary, the JSON envelope and the failed items.

use std::fmt;

use serde_json::{json, Map, Value};

use super::{Annotation, Batch, Case, Level, Outcome, Summary, Totals};
use crate::model::ItemError;

/// What one item's result looks like in the reports.
#[derive(Debug, Clone, Default)]
pub(crate) struct Details {
    /// One line: `identical`, `3 changes (1 breaking)`.
    pub(crate) headline: String,
    /// Detail lines for the text report (already indented by the check).
    pub(crate) text: String,
    /// The same for a public log (the action's): without example rows of table data. `None`:
    /// `text` holds none.
    pub(crate) public_text: Option<String>,
    /// Detail block for Markdown (empty if none).
    pub(crate) markdown: String,
}

/// A check's view of its own results: everything the generic [`Results`] cannot know.
pub(crate) trait CheckResults: Send + Sync + 'static {
    /// A pair or a table.
    type Item: fmt::Display + Send + Sync;
    /// One item's result.
    type Value: Send + Sync;
    /// `bq-schema-diff`.
    fn tool(&self) -> &'static str;
    /// `pair`, `table`: how items are counted (`Total pairs`, `Failed pairs:`).
    fn noun(&self) -> &'static str;
    /// `Batch Schema Diff Summary`.
    fn title(&self) -> &'static str;
    /// Does this result differ (from the other side, or from a clean profile)?
    fn differs(&self, v: &Self::Value) -> bool;
    /// Is it the same (a dry run is neither the same nor different)?
    fn same(&self, v: &Self::Value) -> bool {
        !self.differs(v)
    }
    /// Does it fail the gate (`--fail-on`)?
    fn fails(&self, v: &Self::Value) -> bool;
    /// How it reads.
    fn details(&self, v: &Self::Value) -> Details;
    /// The counted lines of the text summary, after `Total …`; `Failed` is added last.
    fn summary_counts(&self, tally: &Tally) -> Vec<(String, usize)>;
    /// The JSON report's `batch_summary` (the timestamp is added).
    fn summary_json(&self, tally: &Tally) -> Map<String, Value>;
    /// The key of the checked items' list in the JSON report: `comparisons`, `profiles`.
    fn list_key(&self) -> &'static str;
    /// How an item is named in JSON: `{table_a, table_b}` or `{table_id}`.
    fn id_json(&self, item: &Self::Item) -> Map<String, Value>;
    /// A checked item in the JSON report's list.
    fn item_json(&self, item: &Self::Item, v: &Self::Value) -> Value;
    /// Keys the JSON report has besides the envelope (`stale_accepts`).
    fn extra_json(&self) -> Map<String, Value> {
        Map::new()
    }
    /// A line shown above the items in text and Markdown reports, if any.
    fn legend(&self) -> Option<String> {
        None
    }
    /// Warnings about the run's settings rather than an item.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
    /// Findings worth an annotation for a checked item; by default, a failing item with its
    /// headline and public details.
    fn annotations(&self, item: &Self::Item, v: &Self::Value) -> Vec<Annotation> {
        if !self.fails(v) {
            return Vec::new();
        }
        let d = self.details(v);
        vec![Annotation {
            level: Level::Error,
            rank: 2,
            title: format!("{}: {item}", self.tool()),
            // Annotations are public (the checks page): no example rows.
            message: format!(
                "{}\n{}",
                d.headline,
                d.public_text.as_deref().unwrap_or(&d.text).trim_end()
            ),
        }]
    }
    /// Annotations about the run rather than an item (a stale accept entry).
    fn batch_annotations(&self) -> Vec<Annotation> {
        Vec::new()
    }
    /// Title of an annotation for an item that could not be checked.
    fn failed_title(&self, item: &Self::Item) -> String {
        format!("{}: {item} could not be checked", self.tool())
    }
    /// A count of the check's own for its summaries (schema-diff: accepted changes).
    fn extra_count(&self, _values: &[&Self::Value]) -> usize {
        0
    }
    /// Totals a CI system wants beyond the generic ones: (breaking, anomalies).
    fn extra_totals(&self, _values: &[&Self::Value]) -> (usize, usize) {
        (0, 0)
    }
    /// The status line's findings when some item differs: `2 different`.
    fn findings(&self, totals: &Totals) -> Vec<String> {
        vec![format!("{} different", totals.different)]
    }
    /// The status line when nothing differs: `no differences`.
    fn nothing_found(&self) -> &'static str {
        "no differences"
    }
}

/// Counts over a batch, for the summaries.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    pub(crate) total: usize,
    pub(crate) checked: usize,
    pub(crate) identical: usize,
    pub(crate) different: usize,
    pub(crate) failed: usize,
    pub(crate) breaking: usize,
    pub(crate) anomalies: usize,
    /// [`CheckResults::extra_count`].
    pub(crate) extra: usize,
}

/// One item and how it ended.
pub(crate) type Checked<C> = (
    <C as CheckResults>::Item,
    Result<<C as CheckResults>::Value, ItemError>,
);

/// A whole run of one check.
pub(crate) struct Results<C: CheckResults> {
    pub(crate) check: C,
    pub(crate) items: Vec<Checked<C>>,
    pub(crate) timestamp: String,
}

impl<C: CheckResults> Results<C> {
    fn values(&self) -> Vec<&C::Value> {
        self.items
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .collect()
    }

    pub(crate) fn tally(&self) -> Tally {
        let values = self.values();
        let (breaking, anomalies) = self.check.extra_totals(&values);
        Tally {
            total: self.items.len(),
            checked: values.len(),
            identical: values.iter().filter(|v| self.check.same(v)).count(),
            different: values.iter().filter(|v| self.check.differs(v)).count(),
            failed: self.items.len() - values.len(),
            breaking,
            anomalies,
            extra: self.check.extra_count(&values),
        }
    }
}

impl<C: CheckResults> Batch for Results<C> {
    fn tool(&self) -> &'static str {
        self.check.tool()
    }

    fn legend(&self) -> Option<String> {
        self.check.legend()
    }

    fn warnings(&self) -> Vec<String> {
        self.check.warnings()
    }

    fn cases(&self) -> Vec<Case> {
        self.items
            .iter()
            .map(|(item, r)| match r {
                Ok(v) => {
                    let d = self.check.details(v);
                    Case {
                        name: item.to_string(),
                        outcome: if self.check.fails(v) {
                            Outcome::Fail
                        } else {
                            Outcome::Pass
                        },
                        headline: d.headline,
                        text: d.text,
                        public_text: d.public_text,
                        markdown: d.markdown,
                    }
                }
                Err(e) => Case::error(item.to_string(), &e.message),
            })
            .collect()
    }

    fn summary(&self) -> Summary {
        let t = self.tally();
        let noun = self.check.noun();
        let mut counts = vec![(format!("Total {noun}s"), t.total)];
        counts.extend(self.check.summary_counts(&t));
        if !counts.iter().any(|(l, _)| l == "Failed") {
            counts.push(("Failed".into(), t.failed));
        }
        Summary {
            title: self.check.title().into(),
            counts,
            failed_heading: format!("Failed {noun}s:"),
        }
    }

    fn json(&self) -> Value {
        let t = self.tally();
        let mut summary = self.check.summary_json(&t);
        summary.insert("timestamp".into(), json!(self.timestamp));
        let list: Vec<Value> = self
            .items
            .iter()
            .filter_map(|(item, r)| r.as_ref().ok().map(|v| self.check.item_json(item, v)))
            .collect();
        let errors: Vec<Value> = self
            .items
            .iter()
            .filter_map(|(item, r)| {
                r.as_ref().err().map(|e| {
                    let mut o = self.check.id_json(item);
                    o.insert("error".into(), json!(e.message));
                    o.insert("kind".into(), json!(e.kind));
                    Value::Object(o)
                })
            })
            .collect();
        let mut out = Map::new();
        out.insert("tool".into(), super::tool_json(self.check.tool()));
        out.insert("schema_version".into(), json!(super::SCHEMA_VERSION));
        out.insert("batch_summary".into(), Value::Object(summary));
        out.insert(self.check.list_key().into(), Value::Array(list));
        out.insert("errors".into(), Value::Array(errors));
        out.extend(self.check.extra_json());
        Value::Object(out)
    }

    fn fails_gate(&self) -> bool {
        self.values().iter().any(|v| self.check.fails(v))
    }

    fn totals(&self) -> Totals {
        let t = self.tally();
        Totals {
            total: t.total,
            identical: t.identical,
            different: t.different,
            failed: t.failed,
            breaking: t.breaking,
            anomalies: t.anomalies,
        }
    }

    fn annotations(&self) -> Vec<Annotation> {
        let mut out = Vec::new();
        for (item, r) in &self.items {
            match r {
                Err(e) => out.push(Annotation {
                    level: Level::Error,
                    rank: 0,
                    title: self.check.failed_title(item),
                    message: e.message.clone(),
                }),
                Ok(v) => out.extend(self.check.annotations(item, v)),
            }
        }
        out.extend(self.check.batch_annotations());
        out
    }

    fn status(&self) -> (Vec<String>, &'static str) {
        let totals = self.totals();
        let findings = if totals.different > 0 {
            self.check.findings(&totals)
        } else {
            Vec::new()
        };
        (findings, self.check.nothing_found())
    }
}
