//! The checks: pure logic over fetched metadata and query results. No I/O here.

pub(crate) mod column_rules;
pub(crate) mod history;
pub(crate) mod partitions;
pub(crate) mod profile;
pub(crate) mod schema_diff;
pub(crate) mod table_compare;

use crate::warehouse::Field;

/// A column as the data checks see it: a leaf path through non-repeated RECORDs
/// (`address.zip`), or a REPEATED column as a whole.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    pub(crate) path: String,
    pub(crate) parts: Vec<String>,
    /// Canonical type (`INT64`, `STRUCT` for a repeated record, ...).
    pub(crate) ty: String,
    pub(crate) repeated: bool,
}

/// Flatten a schema into leaves, in schema order.
pub(crate) fn leaves(fields: &[Field], prefix: &[String], out: &mut Vec<Leaf>) {
    for f in fields {
        let mut parts = prefix.to_vec();
        parts.push(f.name.clone());
        let ty = schema_diff::canonical_type(&f.field_type);
        let repeated = schema_diff::canonical_mode(f.mode.as_deref()) == "REPEATED";
        if ty == "STRUCT" && !repeated && !f.fields.is_empty() {
            leaves(&f.fields, &parts, out);
        } else {
            out.push(Leaf {
                path: parts.join("."),
                parts,
                ty,
                repeated,
            });
        }
    }
}

/// Does a name given by the user (`--columns`, `--exclude-columns`, `--key`) select this leaf?
/// A leaf's own path does, and so does a STRUCT parent's: `address` selects `address.zip` and
/// `address.city`. Case-insensitive, as BigQuery's column names are.
pub(crate) fn selects(name: &str, path: &str) -> bool {
    path.eq_ignore_ascii_case(name)
        || (path.len() > name.len()
            && path.as_bytes()[name.len()] == b'.'
            && path.is_char_boundary(name.len())
            && path[..name.len()].eq_ignore_ascii_case(name))
}

/// A name we can put between backticks without any escaping.
pub(crate) fn quotable(name: &str) -> bool {
    !name.is_empty() && !name.contains(['`', '\\']) && !name.chars().any(char::is_control)
}

/// `t.`address`.`zip``: a column path under the alias, each part backtick-quoted. Callers
/// check [`quotable`] first.
pub(crate) fn column_expr(alias: &str, parts: &[String]) -> String {
    let path: Vec<String> = parts.iter().map(|p| format!("`{p}`")).collect();
    format!("{alias}.{}", path.join("."))
}

/// Types with an order (MIN/MAX work).
pub(crate) fn orderable(t: &str) -> bool {
    matches!(
        t,
        "INT64"
            | "NUMERIC"
            | "BIGNUMERIC"
            | "FLOAT64"
            | "STRING"
            | "BYTES"
            | "DATE"
            | "DATETIME"
            | "TIME"
            | "TIMESTAMP"
            | "BOOL"
    )
}

/// Types that can be grouped (COUNT DISTINCT, TOP_COUNT work).
pub(crate) fn groupable(t: &str) -> bool {
    orderable(t) || t == "INTERVAL"
}

/// Numbers: sums, means and quantiles make sense.
pub(crate) fn numeric(t: &str) -> bool {
    matches!(t, "INT64" | "NUMERIC" | "BIGNUMERIC" | "FLOAT64")
}

#[cfg(test)]
mod tests {
    use super::selects;

    #[test]
    fn a_struct_parent_selects_its_leaves() {
        assert!(selects("address", "address"));
        assert!(selects("Address", "address.zip"));
        assert!(selects("a.b", "a.b.c.d"));
        assert!(!selects("address", "address_line"));
        assert!(!selects("address.zip", "address"));
        assert!(!selects("addr", "address.zip"));
        assert!(!selects("zip", "address.zip"));
        assert!(!selects("é", "éa.x"), "no panic off a char boundary");
    }
}

/// Schema builders shared by the checks' unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::warehouse::model::Schema;
    use crate::warehouse::{Field, TableMeta};

    /// A NULLABLE field of type `t`.
    pub(crate) fn f(name: &str, t: &str) -> Field {
        Field {
            name: name.into(),
            field_type: t.into(),
            ..Field::default()
        }
    }

    /// A table with these fields and nothing else.
    pub(crate) fn table(fields: Vec<Field>) -> TableMeta {
        TableMeta {
            schema: Some(Schema { fields }),
            ..TableMeta::default()
        }
    }
}
