//! The one batch every check's results live in. A check says what its items are and how one
//! result reads ([`CheckResults`]); [`Results`] does the rest once for all checks: outcomes,
//! the exit status, totals, the summary, the JSON envelope and the failed items.

use std::fmt;

use serde::Serialize;

pub(crate) use super::doc::Details;
use super::{doc, Annotation, Batch, Case, Level, Outcome, Summary, Totals};
use crate::model::{ItemError, OnlyIn, Usage};

/// A check's view of its own results: everything the generic [`Results`] cannot know.
pub(crate) trait CheckResults: Send + Sync + 'static {
    /// A pair or a table.
    type Item: fmt::Display + Send + Sync;
    /// One item's result.
    type Value: Send + Sync;
    /// The JSON report's typed pieces; see the `*_json` methods.
    type SummaryJson: Serialize;
    type IdJson: Serialize;
    type ItemJson<'a>: Serialize
    where
        Self: 'a;
    type ExtraJson: Serialize;
    /// `bq-schema-diff`.
    fn tool(&self) -> &'static str;
    /// A chart of the batch's items (Markdown only), if the check draws one.
    fn overview(&self, _items: &[(&Self::Item, &Self::Value)]) -> Option<super::doc::BarChart> {
        None
    }
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
    /// The JSON report's `batch_summary` (the timestamp is added after its keys).
    fn summary_json(&self, tally: &Tally) -> Self::SummaryJson;
    /// The key of the checked items' list in the JSON report: `comparisons`, `profiles`.
    fn list_key(&self) -> &'static str;
    /// How an item is named in JSON (`{table_a, table_b}`, `{table_id}`), for `errors[]`.
    fn id_json(&self, item: &Self::Item) -> Self::IdJson;
    /// A checked item in the JSON report's list.
    fn item_json<'a>(&'a self, item: &'a Self::Item, v: &'a Self::Value) -> Self::ItemJson<'a>;
    /// Keys the JSON report has after the envelope's (`stale_accepts`); [`NoExtra`] if none.
    fn extra_json(&self) -> Self::ExtraJson;
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
            message: format!("{}\n{}", d.headline, doc::text(&d.blocks, true).trim_end()),
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
    /// How an item of a dataset run that exists on one side only reads (`--datasets`): a
    /// table only in A or only in B (for a profile, only in the baseline). By default it is
    /// reported and does not fail the gate.
    fn one_sided(&self, only_in: OnlyIn) -> OneSided {
        OneSided {
            headline: match only_in {
                OnlyIn::A => "only in A: B's dataset has no table of this name".into(),
                OnlyIn::B => "only in B: A's dataset has no table of this name".into(),
            },
            fails: false,
            breaking: false,
        }
    }
    /// What a result's jobs used (none for checks that run no queries).
    fn usage(&self, _v: &Self::Value) -> Usage {
        Usage::default()
    }
    /// `--price-per-tib`, for checks that run queries: their reports say what the run cost.
    fn price_per_tib(&self) -> Option<f64> {
        None
    }
}

/// How a one-sided item reads and counts ([`CheckResults::one_sided`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OneSided {
    /// `table removed (only in B)`.
    pub(crate) headline: String,
    /// Does it fail the gate (`--fail-on`)?
    pub(crate) fails: bool,
    /// Is it a breaking change (schema-diff: a table removed)?
    pub(crate) breaking: bool,
}

/// A one-sided item in the JSON report's `one_sided` list.
#[derive(Serialize)]
struct OneSidedJson<E> {
    #[serde(flatten)]
    id: E,
    only_in: OnlyIn,
    headline: String,
    fails: bool,
    breaking: bool,
}

/// The JSON report: the envelope every check shares, around its typed pieces. The keys are
/// the original utilities', in their order.
#[derive(Serialize)]
struct Envelope<'a, S, I, E, X> {
    tool: super::ToolJson,
    schema_version: u32,
    batch_summary: SummaryJson<'a, S>,
    /// One key, the check's [`CheckResults::list_key`].
    #[serde(flatten)]
    list: std::collections::BTreeMap<&'static str, Vec<I>>,
    errors: Vec<ErrorJson<'a, E>>,
    /// `--datasets`: the tables in one dataset only (absent when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    one_sided: Vec<OneSidedJson<E>>,
    #[serde(flatten)]
    extra: X,
}

#[derive(Serialize)]
struct SummaryJson<'a, S> {
    #[serde(flatten)]
    counts: S,
    /// Checks that run queries: what the run's jobs cost.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    cost: Option<CostJson>,
    /// `--datasets`: tables in one dataset only (absent when there are none).
    #[serde(skip_serializing_if = "Option::is_none")]
    only_in_a: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    only_in_b: Option<usize>,
    timestamp: &'a str,
}

/// What jobs used and cost, in JSON: exact bytes, slot milliseconds, USD at `price_per_tib`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CostJson {
    #[serde(flatten)]
    usage: Usage,
    cost_usd: f64,
    price_per_tib: f64,
}

impl CostJson {
    pub(crate) fn new(usage: &Usage, price_per_tib: f64) -> CostJson {
        CostJson {
            usage: *usage,
            cost_usd: usage.cost(price_per_tib),
            price_per_tib,
        }
    }
}

/// An item that could not be checked: its name, the message and its kind.
#[derive(Serialize)]
struct ErrorJson<'a, E> {
    #[serde(flatten)]
    id: E,
    error: &'a str,
    kind: crate::model::ErrorKind,
}

/// A pair as the JSON reports name it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PairId {
    pub(crate) table_a: String,
    pub(crate) table_b: String,
}

impl From<&crate::model::Pair> for PairId {
    fn from(p: &crate::model::Pair) -> PairId {
        PairId {
            table_a: p.a.to_string(),
            table_b: p.b.to_string(),
        }
    }
}

/// The `batch_summary` counts of a check over pairs.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PairCounts {
    pub(crate) total_pairs: usize,
    pub(crate) identical: usize,
    pub(crate) different: usize,
    pub(crate) failed: usize,
}

impl From<&Tally> for PairCounts {
    fn from(t: &Tally) -> PairCounts {
        PairCounts {
            total_pairs: t.total,
            identical: t.identical,
            different: t.different,
            failed: t.failed,
        }
    }
}

/// A table as the JSON reports name it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TableId {
    pub(crate) table_id: String,
}

/// [`CheckResults::ExtraJson`] of a check with no keys of its own.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct NoExtra {}

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
    /// [`CheckResults::usage`], summed.
    pub(crate) usage: Usage,
    /// `--datasets`: tables in one dataset only.
    pub(crate) only_in_a: usize,
    pub(crate) only_in_b: usize,
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
    /// `--datasets`: the items that exist on one side only (nothing was run for them).
    pub(crate) one_sided: Vec<(C::Item, OnlyIn)>,
    pub(crate) timestamp: String,
}

impl<C: CheckResults> Results<C> {
    fn values(&self) -> Vec<&C::Value> {
        self.items
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .collect()
    }

    fn one_sided_views(&self) -> impl Iterator<Item = (&C::Item, OnlyIn, OneSided)> {
        self.one_sided
            .iter()
            .map(|(item, side)| (item, *side, self.check.one_sided(*side)))
    }

    pub(crate) fn tally(&self) -> Tally {
        let values = self.values();
        let (breaking, anomalies) = self.check.extra_totals(&values);
        let side = |s: OnlyIn| self.one_sided.iter().filter(|(_, o)| *o == s).count();
        let breaking_one_sided = self
            .one_sided_views()
            .filter(|(_, _, v)| v.breaking)
            .count();
        Tally {
            only_in_a: side(OnlyIn::A),
            only_in_b: side(OnlyIn::B),
            total: self.items.len() + self.one_sided.len(),
            checked: values.len(),
            identical: values.iter().filter(|v| self.check.same(v)).count(),
            different: values.iter().filter(|v| self.check.differs(v)).count(),
            failed: self.items.len() - values.len(),
            breaking: breaking + breaking_one_sided,
            anomalies,
            extra: self.check.extra_count(&values),
            usage: values.iter().map(|v| self.check.usage(v)).sum(),
        }
    }
}

impl<C: CheckResults> Batch for Results<C> {
    fn tool(&self) -> &'static str {
        self.check.tool()
    }

    fn overview(&self) -> Option<super::doc::BarChart> {
        let items: Vec<(&C::Item, &C::Value)> = self
            .items
            .iter()
            .filter_map(|(i, r)| r.as_ref().ok().map(|v| (i, v)))
            .collect();
        self.check.overview(&items)
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
                Ok(v) => Case {
                    name: item.to_string(),
                    outcome: if self.check.fails(v) {
                        Outcome::Fail
                    } else {
                        Outcome::Pass
                    },
                    same: self.check.same(v),
                    details: self.check.details(v),
                },
                Err(e) => Case::error(item.to_string(), &e.message),
            })
            .chain(self.one_sided_views().map(|(item, _, v)| Case {
                name: item.to_string(),
                outcome: if v.fails {
                    Outcome::Fail
                } else {
                    Outcome::Pass
                },
                same: false,
                details: Details {
                    headline: v.headline,
                    blocks: Vec::new(),
                },
            }))
            .collect()
    }

    fn summary(&self) -> Summary {
        let t = self.tally();
        let noun = self.check.noun();
        let mut counts = vec![(format!("Total {noun}s"), t.total)];
        counts.extend(self.check.summary_counts(&t));
        for (label, n) in [("Only in A", t.only_in_a), ("Only in B", t.only_in_b)] {
            if n > 0 {
                let at = counts
                    .iter()
                    .position(|(l, _)| l == "Failed")
                    .unwrap_or(counts.len());
                counts.insert(at, (label.to_string(), n));
            }
        }
        if !counts.iter().any(|(l, _)| l == "Failed") {
            counts.push(("Failed".into(), t.failed));
        }
        Summary {
            title: self.check.title().into(),
            counts,
            failed_heading: format!("Failed {noun}s:"),
            cost: self
                .check
                .price_per_tib()
                .map(|p| super::cost_line(&t.usage, p)),
        }
    }

    fn json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let t = self.tally();
        let mut list = Vec::new();
        let mut errors = Vec::new();
        for (item, r) in &self.items {
            match r {
                Ok(v) => list.push(self.check.item_json(item, v)),
                Err(e) => errors.push(ErrorJson {
                    id: self.check.id_json(item),
                    error: &e.message,
                    kind: e.kind,
                }),
            }
        }
        let doc = Envelope {
            tool: super::ToolJson::new(self.check.tool()),
            schema_version: super::SCHEMA_VERSION,
            batch_summary: SummaryJson {
                counts: self.check.summary_json(&t),
                cost: self
                    .check
                    .price_per_tib()
                    .map(|p| CostJson::new(&t.usage, p)),
                only_in_a: (!self.one_sided.is_empty()).then_some(t.only_in_a),
                only_in_b: (!self.one_sided.is_empty()).then_some(t.only_in_b),
                timestamp: &self.timestamp,
            },
            list: [(self.check.list_key(), list)].into_iter().collect(),
            errors,
            one_sided: self
                .one_sided_views()
                .map(|(item, only_in, v)| OneSidedJson {
                    id: self.check.id_json(item),
                    only_in,
                    headline: v.headline,
                    fails: v.fails,
                    breaking: v.breaking,
                })
                .collect(),
            extra: self.check.extra_json(),
        };
        let mut out = serde_json::to_vec_pretty(&doc)?;
        out.push(b'\n');
        Ok(out)
    }

    fn fails_gate(&self) -> bool {
        self.values().iter().any(|v| self.check.fails(v))
            || self.one_sided_views().any(|(_, _, v)| v.fails)
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
            one_sided: t.only_in_a + t.only_in_b,
            usage: t.usage,
            cost_usd: self.check.price_per_tib().map_or(0.0, |p| t.usage.cost(p)),
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
        for (item, _, v) in self.one_sided_views() {
            out.push(Annotation {
                level: if v.fails { Level::Error } else { Level::Notice },
                rank: if v.breaking { 1 } else { 2 },
                title: format!("{}: {item}", self.check.tool()),
                message: v.headline,
            });
        }
        out.extend(self.check.batch_annotations());
        out
    }

    fn status(&self) -> (Vec<String>, &'static str) {
        let totals = self.totals();
        let mut findings = if totals.different > 0 {
            self.check.findings(&totals)
        } else {
            Vec::new()
        };
        if totals.one_sided > 0 {
            findings.push(format!("{} in one dataset only", totals.one_sided));
        }
        (findings, self.check.nothing_found())
    }
}
