//! The checks: pure logic over fetched metadata and query results. No I/O here.

pub mod schema_diff;
pub mod table_compare;
