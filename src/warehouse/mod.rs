//! Everything that talks to BigQuery (or reads a schema file in its place).

pub(crate) mod auth;
pub(crate) mod cache;
pub(crate) mod client;
pub(crate) mod history;
pub(crate) mod info_schema;
pub(crate) mod model;
pub(crate) mod query;
pub mod schema_file;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

pub use client::{AuthMode, Client, RetryPolicy, WarehouseError};
pub use model::{Field, TableMeta};

use crate::model::{Source, TableRef};

type Slot = Arc<OnceCell<Result<Arc<TableMeta>, WarehouseError>>>;

/// Table metadata for a run: each distinct table is fetched once, however many pairs name it
/// (unless caching is off), and concurrent requests for one table wait for the same fetch.
pub(crate) struct Metadata {
    client: Option<Arc<Client>>,
    cache: Option<Mutex<HashMap<TableRef, Slot>>>,
    /// Schemas read in bulk (`INFORMATION_SCHEMA`), served before any `tables.get`.
    read_in_bulk: Mutex<HashMap<TableRef, Arc<TableMeta>>>,
}

impl Metadata {
    /// `client` is `None` when every source is a schema file (no credentials needed).
    pub(crate) fn new(client: Option<Arc<Client>>, cache: bool) -> Metadata {
        Metadata {
            client,
            cache: cache.then(|| Mutex::new(HashMap::new())),
            read_in_bulk: Mutex::new(HashMap::new()),
        }
    }

    /// Serve these tables' metadata without a `tables.get` (read in bulk).
    pub(crate) fn add_read_in_bulk(&self, tables: impl IntoIterator<Item = (TableRef, TableMeta)>) {
        let mut map = self.read_in_bulk.lock().unwrap_or_else(|p| p.into_inner());
        map.extend(tables.into_iter().map(|(t, m)| (t, Arc::new(m))));
    }

    /// The metadata of one side of a pair.
    pub(crate) async fn get(&self, source: &Source) -> Result<Arc<TableMeta>, SourceFetchError> {
        match source {
            Source::SchemaFile(path) => schema_file::load(path)
                .map(Arc::new)
                .map_err(|e| SourceFetchError::File(e.to_string())),
            Source::Table(t) => self.table(t).await.map_err(SourceFetchError::Warehouse),
        }
    }

    async fn table(&self, t: &TableRef) -> Result<Arc<TableMeta>, WarehouseError> {
        let bulk = self
            .read_in_bulk
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(t)
            .cloned();
        if let Some(m) = bulk {
            return Ok(m);
        }
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| WarehouseError::Invalid("no BigQuery client configured".to_string()))?;
        let Some(cache) = &self.cache else {
            return client.get_table(t).await.map(Arc::new);
        };
        let slot = {
            let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(t.clone()).or_default().clone()
        };
        slot.get_or_init(|| async { client.get_table(t).await.map(Arc::new) })
            .await
            .clone()
    }
}

/// Why one side could not be read.
#[derive(Debug, thiserror::Error, Clone)]
pub(crate) enum SourceFetchError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("{0}")]
    File(String),
}

impl From<SourceFetchError> for crate::model::ItemError {
    fn from(e: SourceFetchError) -> Self {
        match e {
            SourceFetchError::Warehouse(w) => w.into(),
            SourceFetchError::File(m) => {
                crate::model::ItemError::new(crate::model::ErrorKind::Input, m)
            }
        }
    }
}
