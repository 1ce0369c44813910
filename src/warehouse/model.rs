//! Our own model of a `tables.get` resource.
//!
//! Types are kept as strings: BigQuery adds types (RANGE, JSON, ...) and a closed enum would
//! refuse to deserialize a table that uses a new one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A column, possibly with nested fields (RECORD/STRUCT).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    pub name: String,
    #[serde(rename = "type", default)]
    pub(crate) field_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mode: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) fields: Vec<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) policy_tags: Option<PolicyTags>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default_value_expression: Option<String>,
    /// int64 values arrive as JSON strings from the API and as numbers in hand-written files.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "int_or_string"
    )]
    pub(crate) max_length: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "int_or_string"
    )]
    pub(crate) precision: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "int_or_string"
    )]
    pub(crate) scale: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) collation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) range_element_type: Option<RangeElementType>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PolicyTags {
    #[serde(default)]
    pub(crate) names: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RangeElementType {
    #[serde(rename = "type", default)]
    pub(crate) element_type: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Schema {
    #[serde(default)]
    pub(crate) fields: Vec<Field>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TableConstraints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) primary_key: Option<PrimaryKey>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PrimaryKey {
    #[serde(default)]
    pub(crate) columns: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Clustering {
    #[serde(default)]
    pub(crate) fields: Vec<String>,
}

/// The parts of a table resource the checks use. Unknown keys are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) schema: Option<Schema>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub(crate) table_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) time_partitioning: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) range_partitioning: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) clustering: Option<Clustering>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) table_constraints: Option<TableConstraints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) location: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "int_or_string"
    )]
    pub(crate) num_rows: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "int_or_string"
    )]
    pub(crate) num_bytes: Option<i64>,
    /// Milliseconds since the epoch.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "int_or_string"
    )]
    pub(crate) creation_time: Option<i64>,
    /// Milliseconds since the epoch.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "int_or_string"
    )]
    pub(crate) last_modified_time: Option<i64>,
    /// `require_partition_filter`: every query must filter on the partition column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) require_partition_filter: Option<bool>,
    /// BigQuery's `streamingBuffer` object: present while recently streamed rows are buffered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) streaming_buffer: Option<Value>,
    /// Set when this came from a schema-only file (a field list): it has no table options.
    #[serde(skip)]
    pub(crate) schema_only: bool,
}

impl TableMeta {
    pub fn fields(&self) -> &[Field] {
        self.schema
            .as_ref()
            .map(|s| s.fields.as_slice())
            .unwrap_or(&[])
    }

    /// Whether queries must filter on the partition column (the table option, or its older
    /// place inside `timePartitioning`).
    pub(crate) fn requires_partition_filter(&self) -> bool {
        self.require_partition_filter.unwrap_or(false)
            || self
                .time_partitioning
                .as_ref()
                .and_then(|tp| tp.get("requirePartitionFilter"))
                .and_then(|v| v.as_bool())
                .unwrap_or(false)
    }

    pub(crate) fn primary_key(&self) -> Option<&[String]> {
        self.table_constraints
            .as_ref()
            .and_then(|c| c.primary_key.as_ref())
            .map(|p| p.columns.as_slice())
            .filter(|c| !c.is_empty())
    }
}

/// BigQuery encodes int64 as JSON strings; hand-written schema files often use numbers.
mod int_or_string {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    use serde_json::Value;

    pub(crate) fn serialize<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(n) => s.serialize_str(&n.to_string()),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("expected an integer, found {n}"))),
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| D::Error::custom(format!("expected an integer, found \"{s}\""))),
            Some(other) => Err(D::Error::custom(format!(
                "expected an integer, found {other}"
            ))),
        }
    }
}
