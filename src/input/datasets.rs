//! `--datasets A:B`: which tables of two datasets pair up, which are on one side only, and
//! `--include`/`--exclude` globs. Pure: the listings come from the caller (tables.list).

use crate::model::{DatasetRef, OnlyIn, Pair, RefError, Source, TableRef};

/// One `--datasets` value: `A:B` (schema-diff, table-compare) or `A` (profile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DatasetSpec {
    Pair(DatasetRef, DatasetRef),
    One(DatasetRef),
}

impl std::fmt::Display for DatasetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatasetSpec::Pair(a, b) => write!(f, "{a}:{b}"),
            DatasetSpec::One(a) => a.fmt(f),
        }
    }
}

impl DatasetSpec {
    /// `dev:prod`, `proj.dev:proj.prod`, `proj:dev:proj:prod` (each side `dataset`,
    /// `project.dataset` or `project:dataset`), or one dataset. With `want_pair` false (a
    /// profile), one colon is `project:dataset`.
    pub(crate) fn parse(
        value: &str,
        default_project: Option<&str>,
        want_pair: bool,
    ) -> Result<DatasetSpec, String> {
        let v = value.trim();
        if !want_pair {
            // A pair if it reads as one (the command then says it takes one dataset), else
            // one dataset (`project:dataset` included).
            return match DatasetSpec::parse(v, default_project, true) {
                Ok(pair) => Ok(pair),
                Err(e) => DatasetRef::parse(v, default_project)
                    .map(DatasetSpec::One)
                    .map_err(|_| e),
            };
        }
        let side = |s: &str| DatasetRef::parse(s, default_project).map_err(|e| e.to_string());
        let colons: Vec<usize> = v.match_indices(':').map(|(i, _)| i).collect();
        let split = match colons.len() {
            0 => return side(v).map(DatasetSpec::One),
            1 => colons[0],
            // `proj:dev:proj:prod`: the middle colon.
            3 => colons[1],
            _ => {
                return Err(format!(
                    "`{v}` is not `A:B`: write each dataset as project.dataset"
                ))
            }
        };
        let (a, b) = (&v[..split], &v[split + 1..]);
        if colons.len() == 1 && !a.contains('.') && !b.contains('.') && default_project.is_none() {
            // `dev:prod` with no default project could be project `dev`, dataset `prod`; a
            // pair it is, and each side then needs a project.
            return Err(RefError::NoProject(a.to_string()).to_string());
        }
        Ok(DatasetSpec::Pair(side(a)?, side(b)?))
    }
}

/// `--include`/`--exclude`: a table is selected when it matches some include glob (or none is
/// given) and no exclude glob. Globs match the whole table name: `*` any run of characters,
/// `?` one character, everything else itself (case-sensitive, as BigQuery's table names).
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    pub(crate) include: Vec<String>,
    pub(crate) exclude: Vec<String>,
}

impl Selection {
    pub(crate) fn selects(&self, table: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| glob(g, table)))
            && !self.exclude.iter().any(|g| glob(g, table))
    }
}

/// Does `name` match `pattern` (`*`, `?`)? Linear in practice: the classic two-pointer
/// match with one backtrack point.
pub(crate) fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// What pairing two datasets' listings gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Paired {
    /// Same-named tables, in name order.
    pub(crate) pairs: Vec<Pair>,
    /// Tables in one dataset only: the pair they would form, and where the table is.
    pub(crate) one_sided: Vec<(Pair, OnlyIn)>,
    /// Names that are not table ids (from a hostile or broken listing): skipped, said.
    pub(crate) skipped: Vec<String>,
}

/// Pair the tables of `a` and `b` (their tables.list names) by name, selected by `sel`.
pub(crate) fn pair_tables(
    a: &DatasetRef,
    a_names: &[String],
    b: &DatasetRef,
    b_names: &[String],
    sel: &Selection,
) -> Paired {
    use std::collections::BTreeSet;
    let pick = |names: &[String]| -> BTreeSet<String> {
        names.iter().filter(|n| sel.selects(n)).cloned().collect()
    };
    let (in_a, in_b) = (pick(a_names), pick(b_names));
    let mut out = Paired::default();
    for name in in_a.union(&in_b) {
        let (ta, tb) = match (a.table(name), b.table(name)) {
            (Ok(ta), Ok(tb)) => (ta, tb),
            _ => {
                out.skipped.push(name.clone());
                continue;
            }
        };
        let pair = Pair {
            a: Source::Table(ta),
            b: Source::Table(tb),
        };
        match (in_a.contains(name), in_b.contains(name)) {
            (true, true) => out.pairs.push(pair),
            (true, false) => out.one_sided.push((pair, OnlyIn::A)),
            _ => out.one_sided.push((pair, OnlyIn::B)),
        }
    }
    out
}

/// The selected tables of one dataset, in name order, and the names that are not table ids.
pub(crate) fn select_tables(
    d: &DatasetRef,
    names: &[String],
    sel: &Selection,
) -> (Vec<TableRef>, Vec<String>) {
    let mut sorted: Vec<&String> = names.iter().filter(|n| sel.selects(n)).collect();
    sorted.sort();
    sorted.dedup();
    let mut tables = Vec::new();
    let mut skipped = Vec::new();
    for n in sorted {
        match d.table(n) {
            Ok(t) => tables.push(t),
            Err(_) => skipped.push(n.clone()),
        }
    }
    (tables, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(p: &str, d: &str) -> DatasetRef {
        DatasetRef {
            project: p.into(),
            dataset: d.into(),
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dataset_pairs_parse_in_every_form() {
        let p = Some("acme");
        let pair = |a: DatasetRef, b: DatasetRef| Ok(DatasetSpec::Pair(a, b));
        assert_eq!(
            DatasetSpec::parse("dev:prod", p, true),
            pair(ds("acme", "dev"), ds("acme", "prod"))
        );
        assert_eq!(
            DatasetSpec::parse("x.dev:y.prod", None, true),
            pair(ds("x", "dev"), ds("y", "prod"))
        );
        assert_eq!(
            DatasetSpec::parse("x:dev:y:prod", None, true),
            pair(ds("x", "dev"), ds("y", "prod"))
        );
        assert_eq!(
            DatasetSpec::parse("`x.dev`:`y.prod`", None, true),
            pair(ds("x", "dev"), ds("y", "prod"))
        );
        assert_eq!(
            DatasetSpec::parse("x.dev", None, true),
            Ok(DatasetSpec::One(ds("x", "dev")))
        );
        // No project to put `dev` in: said, not guessed.
        let e = DatasetSpec::parse("dev:prod", None, true).unwrap_err();
        assert!(e.contains("no default project"), "{e}");
        let e = DatasetSpec::parse("x.dev:y.pr;od", None, true).unwrap_err();
        assert!(e.contains("invalid dataset id `pr;od`"), "{e}");
        assert!(DatasetSpec::parse("a.b.c:d.e", None, true).is_err());
        assert!(DatasetSpec::parse("a:b:c", None, true).is_err());
        // A profile's one dataset may be `project:dataset`.
        assert_eq!(
            DatasetSpec::parse("x:dev", None, false),
            Ok(DatasetSpec::One(ds("x", "dev")))
        );
        assert_eq!(
            DatasetSpec::parse("x.dev:y.prod", None, false),
            pair(ds("x", "dev"), ds("y", "prod"))
        );
    }

    #[test]
    fn globs_match_whole_names() {
        assert!(glob("*", ""));
        assert!(glob("fct_*", "fct_orders"));
        assert!(!glob("fct_*", "dim_fct_orders"));
        assert!(glob("*_tmp", "orders_tmp"));
        assert!(glob("t?", "t1"));
        assert!(!glob("t?", "t10"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("Orders", "Orders"));
        assert!(!glob("orders", "Orders"));
        // No blow-up on a pathological pattern.
        let long = "a".repeat(5000);
        assert!(!glob(
            &"*a".repeat(50).replace("**", "*"),
            &format!("{long}b")
        ));
    }

    #[test]
    fn tables_pair_by_name_and_the_rest_is_one_sided() {
        let (a, b) = (ds("p", "dev"), ds("p", "prod"));
        let sel = Selection {
            include: vec![],
            exclude: vec!["*_tmp".into()],
        };
        let got = pair_tables(
            &a,
            &names(&["t2", "t1", "new", "x_tmp", "bad/name"]),
            &b,
            &names(&["t1", "t2", "gone", "y_tmp"]),
            &sel,
        );
        let shown: Vec<String> = got.pairs.iter().map(|p| p.to_string()).collect();
        assert_eq!(shown, ["p.dev.t1 ↔ p.prod.t1", "p.dev.t2 ↔ p.prod.t2"]);
        let one: Vec<(String, OnlyIn)> = got
            .one_sided
            .iter()
            .map(|(p, s)| (p.to_string(), *s))
            .collect();
        assert_eq!(
            one,
            [
                ("p.dev.gone ↔ p.prod.gone".to_string(), OnlyIn::B),
                ("p.dev.new ↔ p.prod.new".to_string(), OnlyIn::A),
            ]
        );
        assert_eq!(got.skipped, ["bad/name"]);
        let only = Selection {
            include: vec!["t*".into()],
            exclude: vec![],
        };
        let got = pair_tables(&a, &names(&["t1", "new"]), &b, &names(&["t1"]), &only);
        assert_eq!(got.pairs.len(), 1);
        assert!(got.one_sided.is_empty());
    }
}
