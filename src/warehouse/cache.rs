//! An on-disk cache of query results, keyed by table version.
//!
//! Re-running a check on an unchanged table should not scan it again. A result (the rows of a
//! scan/profile query and the bytes it processed) is stored under a key made of:
//! the cache format version, the tool version, the API endpoint URL, every table the query read
//! with the `lastModifiedTime` it had (sorted, so listing order does not matter), and the exact
//! SQL text. Any change to any of these is a miss; nothing is ever invalidated in place.
//!
//! Only tables whose `lastModifiedTime` moves whenever their contents do may take part (see
//! [`untrusted`]): a view or a materialized view can change when its sources change, an external
//! table reads files BigQuery does not version, and rows in a streaming buffer may land without
//! the table's `lastModifiedTime` moving. A table with no `lastModifiedTime` has no version.
//! The caller must also only cache deterministic SQL (no `CURRENT_TIMESTAMP()`, `RAND()`, ...).
//!
//! Entries live at `<dir>/v1/<first 2 hex>/<sha256 hex>.json` and repeat the full key, so a
//! hash collision or a damaged file is detected. A missing, unreadable or corrupt entry is a
//! miss, and the next [`ResultCache::put`] replaces it: entries are written to a temporary
//! file in the same directory and renamed into place, so readers never see half an entry.
//! Nothing here is fatal: `get` never fails and callers warn about `put` errors.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::model::TableMeta;
use crate::model::TableRef;

const FORMAT: &str = "1";

/// One table as read by a cached query: its id and the lastModifiedTime it had.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct TableVersion {
    pub(crate) table: String,
    pub(crate) last_modified: i64,
}

/// Why a table's results are never cached (None = cacheable). Phrased to follow "not cached: ".
pub(crate) fn untrusted(meta: &TableMeta) -> Option<&'static str> {
    match meta.table_type.as_deref().unwrap_or("TABLE") {
        "TABLE" | "SNAPSHOT" | "CLONE" => {}
        "VIEW" => return Some("a view"),
        "MATERIALIZED_VIEW" => return Some("a materialized view"),
        "EXTERNAL" => return Some("an external table"),
        _ => return Some("an unknown table type"),
    }
    if meta.streaming_buffer.is_some() {
        return Some("it has a streaming buffer");
    }
    if meta.last_modified_time.is_none() {
        return Some("it has no lastModifiedTime");
    }
    None
}

/// The version of `table` to key a cached result by, or why there is none.
pub(crate) fn version(table: &TableRef, meta: &TableMeta) -> Result<TableVersion, &'static str> {
    if let Some(reason) = untrusted(meta) {
        return Err(reason);
    }
    let Some(last_modified) = meta.last_modified_time else {
        return Err("it has no lastModifiedTime");
    };
    Ok(TableVersion {
        table: table.to_string(),
        last_modified,
    })
}

/// `$XDG_CACHE_HOME/bqcheck`, else `$HOME/.cache/bqcheck`, else None.
pub(crate) fn default_dir() -> Option<PathBuf> {
    dir_from(
        std::env::var_os("XDG_CACHE_HOME").as_deref(),
        std::env::var_os("HOME").as_deref(),
    )
}

/// Empty or relative values are ignored (as the XDG spec asks), so the cache never lands in
/// the working directory.
fn dir_from(xdg: Option<&OsStr>, home: Option<&OsStr>) -> Option<PathBuf> {
    fn absolute(v: Option<&OsStr>) -> Option<&Path> {
        v.map(Path::new).filter(|p| p.is_absolute())
    }
    if let Some(xdg) = absolute(xdg) {
        return Some(xdg.join("bqcheck"));
    }
    absolute(home).map(|h| h.join(".cache").join("bqcheck"))
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum CacheError {
    #[error("cannot create cache directory {}: {source}", path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot write cache entry {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// A cached result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hit {
    pub(crate) rows: Vec<Map<String, Value>>,
    pub(crate) bytes_processed: u64,
    /// When it was stored, RFC 3339 UTC.
    pub(crate) stored_at: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Key {
    format: String,
    tool: String,
    endpoint: String,
    /// Who asked ([`crate::warehouse::auth::credential_identity`]): row-level security and
    /// column masking can give another principal other results.
    identity: String,
    tables: Vec<TableVersion>,
    sql: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    key: Key,
    stored_at: String,
    bytes_processed: u64,
    rows: Vec<Map<String, Value>>,
}

pub(crate) struct ResultCache {
    dir: PathBuf,
    endpoint: String,
    identity: String,
}

impl ResultCache {
    pub(crate) fn new(dir: PathBuf, endpoint: &str, identity: &str) -> ResultCache {
        ResultCache {
            dir,
            endpoint: endpoint.to_string(),
            identity: identity.to_string(),
        }
    }

    #[cfg(test)]
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn key(&self, tables: &[TableVersion], sql: &str) -> Key {
        let mut tables = tables.to_vec();
        tables.sort();
        tables.dedup();
        Key {
            format: FORMAT.to_string(),
            tool: env!("CARGO_PKG_VERSION").to_string(),
            endpoint: self.endpoint.clone(),
            identity: self.identity.clone(),
            tables,
            sql: sql.to_string(),
        }
    }

    fn path(&self, key: &Key) -> PathBuf {
        // Serializing a struct of strings and integers cannot fail; fall back to Debug anyway.
        let canonical = serde_json::to_vec(key).unwrap_or_else(|_| format!("{key:?}").into_bytes());
        let hex: String = Sha256::digest(&canonical)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.dir
            .join(format!("v{FORMAT}"))
            .join(&hex[..2])
            .join(format!("{hex}.json"))
    }

    /// The stored result of `sql` over exactly these table versions, if any.
    pub(crate) fn get(&self, tables: &[TableVersion], sql: &str) -> Option<Hit> {
        let key = self.key(tables, sql);
        let text = fs::read(self.path(&key)).ok()?;
        let entry: Entry = serde_json::from_slice(&text).ok()?;
        if entry.key != key || chrono::DateTime::parse_from_rfc3339(&entry.stored_at).is_err() {
            return None;
        }
        Some(Hit {
            rows: entry.rows,
            bytes_processed: entry.bytes_processed,
            stored_at: entry.stored_at,
        })
    }

    /// Store a result, replacing any entry (corrupt or not) under the same key.
    pub(crate) fn put(
        &self,
        tables: &[TableVersion],
        sql: &str,
        rows: &[Map<String, Value>],
        bytes_processed: u64,
    ) -> Result<(), CacheError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let key = self.key(tables, sql);
        let path = self.path(&key);
        let write_err = |source| CacheError::Write {
            path: path.clone(),
            source,
        };
        let entry = Entry {
            key,
            stored_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            bytes_processed,
            rows: rows.to_vec(),
        };
        let bytes = serde_json::to_vec(&entry).map_err(|e| write_err(io::Error::other(e)))?;
        let parent = path.parent().unwrap_or(&self.dir);
        private_dirs(&self.dir, parent).map_err(|source| CacheError::CreateDir {
            path: parent.to_path_buf(),
            source,
        })?;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_extension(format!("json.{}.{n}.tmp", std::process::id()));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        // Entries hold table data (sample rows, statistics): readable by the owner only.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options
            .open(&tmp)
            .and_then(|mut f| f.write_all(&bytes))
            .and_then(|()| fs::rename(&tmp, &path));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(write_err(e));
        }
        Ok(())
    }
}

/// Create `leaf` and the directories up to it below `root` (and `root` itself) as private
/// (0700 on Unix), tightening any that exist with wider permissions.
fn private_dirs(root: &Path, leaf: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(leaf)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut dir = Some(leaf);
        while let Some(d) = dir {
            if let Ok(m) = fs::metadata(d) {
                if m.permissions().mode() & 0o077 != 0 {
                    fs::set_permissions(d, fs::Permissions::from_mode(0o700))?;
                }
            }
            if d == root {
                break;
            }
            dir = d.parent().filter(|p| p.starts_with(root));
        }
    }
    Ok(())
}

/// How long a result whose query calls a clock function (`CURRENT_TIMESTAMP()` in the
/// generated "future dates" check) is served: the table is unchanged, but "now" moved on.
pub(crate) const CLOCK_MAX_AGE_SECS: i64 = 3600;

/// Functions whose value changes between runs over the same data. GoogleSQL lets the
/// `CURRENT_*` ones go without parentheses, so whole words are matched.
const VOLATILE: [&str; 7] = [
    "CURRENT_DATE",
    "CURRENT_DATETIME",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "RAND",
    "GENERATE_UUID",
    "SESSION_USER",
];

/// Does `text` name a clock or random function? Words are compared whole, so a column such
/// as `current_balance` is not one (a false alarm would only cost a cache hit).
pub(crate) fn calls_volatile(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| VOLATILE.iter().any(|f| word.eq_ignore_ascii_case(f)))
}

/// Does a filter read something besides the tables it filters: a subquery (`IN (SELECT ...)`)
/// or a persistent function (`dataset.fn(x)`)? Their changes do not move the filtered
/// tables' `lastModifiedTime`, so such a result is never cached. (`SAFE.fn(x)` is a built-in.)
pub(crate) fn reads_beyond_its_tables(text: &str) -> bool {
    let words_select = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w.eq_ignore_ascii_case("SELECT"));
    if words_select {
        return true;
    }
    let chars: Vec<char> = text.chars().collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    for (i, &c) in chars.iter().enumerate() {
        if c != '(' {
            continue;
        }
        let mut j = i;
        while j > 0 && chars[j - 1].is_whitespace() {
            j -= 1;
        }
        if j > 0 && chars[j - 1] == '`' {
            // `project.dataset.fn`(x)
            let end = j - 1;
            if let Some(start) = chars[..end].iter().rposition(|&c| c == '`') {
                if chars[start + 1..end].contains(&'.') {
                    return true;
                }
            }
            continue;
        }
        let end = j;
        while j > 0 && ident(chars[j - 1]) {
            j -= 1;
        }
        if j < end && j > 0 && chars[j - 1] == '.' {
            let mut k = j - 1;
            while k > 0 && ident(chars[k - 1]) {
                k -= 1;
            }
            let qualifier: String = chars[k..j - 1].iter().collect();
            if !qualifier.eq_ignore_ascii_case("SAFE") {
                return true;
            }
        }
    }
    false
}

/// Where a query's result came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Served {
    /// Run in BigQuery (and stored, if it could be).
    Ran,
    /// From the cache: every table read is unchanged since `unchanged_since` (ms).
    Cached {
        unchanged_since: i64,
        stored_at: String,
        /// How many tables the query read.
        tables: usize,
    },
    /// Run, and not cached, for this reason.
    NotCached(String),
}

impl Served {
    /// A line for the report, if there is something to say.
    pub(crate) fn note(&self, what: &str) -> Option<String> {
        match self {
            Served::Ran => None,
            Served::Cached {
                unchanged_since,
                stored_at,
                tables,
            } => Some(format!(
                "{what}: cached, {} unchanged since {} (result stored {stored_at})",
                if *tables == 1 { "table" } else { "tables" },
                chrono::DateTime::from_timestamp_millis(*unchanged_since)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_else(|| unchanged_since.to_string())
            )),
            Served::NotCached(why) => Some(format!("{what}: not cached: {why}")),
        }
    }
}

/// The run's cache: queries go through it. Disabled by `--no-cache`, for dry runs, and when
/// there is no cache directory.
pub(crate) struct Store {
    cache: Option<ResultCache>,
    warned: std::sync::atomic::AtomicBool,
}

impl Store {
    pub(crate) fn new(cache: Option<ResultCache>) -> Store {
        Store {
            cache,
            warned: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether results are stored at all (not with `--no-cache`, for dry runs, or without a
    /// cache directory).
    pub(crate) fn enabled(&self) -> bool {
        self.cache.is_some()
    }

    /// Whether [`Store::query`] would serve `sql` over `tables` from the cache (every table
    /// unchanged, the result stored), without running anything.
    pub(crate) fn would_serve(
        &self,
        sql: &str,
        tables: &[(&TableRef, &TableMeta)],
        filter: Option<&str>,
    ) -> bool {
        let Some(cache) = &self.cache else {
            return false;
        };
        if filter.is_some_and(|f| calls_volatile(f) || reads_beyond_its_tables(f))
            || calls_volatile(sql)
        {
            return false;
        }
        let versions: Option<Vec<TableVersion>> =
            tables.iter().map(|(t, m)| version(t, m).ok()).collect();
        versions.is_some_and(|v| cache.get(&v, sql).is_some())
    }

    /// Rows stored under `what` for `table` by [`Store::put_entry`], whatever the table's
    /// version: the caller checks their freshness itself (the per-partition cache keeps each
    /// partition's modification time).
    pub(crate) fn get_entry(
        &self,
        table: &TableRef,
        what: &str,
    ) -> Option<Vec<Map<String, Value>>> {
        let v = [TableVersion {
            table: table.to_string(),
            last_modified: 0,
        }];
        self.cache.as_ref()?.get(&v, what).map(|h| h.rows)
    }

    /// [`Store::get_entry`]'s rows as `T`s (rows that are not one are skipped).
    pub(crate) fn get_entries<T: serde::de::DeserializeOwned>(
        &self,
        table: &TableRef,
        what: &str,
    ) -> Vec<T> {
        self.get_entry(table, what)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|row| serde_json::from_value(Value::Object(row)).ok())
            .collect()
    }

    /// Store rows under `what` for `table` (a failure is a warning, once).
    pub(crate) fn put_entry(&self, table: &TableRef, what: &str, rows: &[Map<String, Value>]) {
        let Some(cache) = &self.cache else {
            return;
        };
        let v = [TableVersion {
            table: table.to_string(),
            last_modified: 0,
        }];
        if let Err(e) = cache.put(&v, what, rows, 0) {
            if !self.warned.swap(true, Ordering::Relaxed) {
                eprintln!("warning: results are not cached: {e}");
            }
        }
    }

    /// Run `sql` over `tables`, or serve its stored result when every table is unchanged.
    /// `filter` is the user's `--where` (a clock or random function in it: never cached).
    pub(crate) async fn query(
        &self,
        client: &super::Client,
        project: &str,
        sql: &str,
        opts: &super::query::QueryOptions,
        tables: &[(&TableRef, &TableMeta)],
        filter: Option<&str>,
    ) -> Result<(super::query::QueryResult, Served), super::WarehouseError> {
        let cache = match &self.cache {
            Some(c) if !opts.dry_run => c,
            _ => return Ok((client.query(project, sql, opts).await?, Served::Ran)),
        };
        let versions: Result<Vec<TableVersion>, String> = tables
            .iter()
            .map(|(t, m)| {
                version(t, m).map_err(|why| match why.strip_prefix("it ") {
                    Some(rest) => format!("{t} {rest}"),
                    None => format!("{t} is {why}"),
                })
            })
            .collect();
        let why_not = match (&versions, filter) {
            (Err(why), _) => Some(why.clone()),
            (_, Some(f)) if calls_volatile(f) => Some(
                "the filter calls a clock or random function, so its result can change without the table changing".into(),
            ),
            (_, Some(f)) if reads_beyond_its_tables(f) => Some(
                "the filter reads other tables or functions, which can change without this table changing".into(),
            ),
            _ => None,
        };
        let versions = match (why_not, versions) {
            (None, Ok(v)) => v,
            (why, _) => {
                let r = client.query(project, sql, opts).await?;
                return Ok((r, Served::NotCached(why.unwrap_or_default())));
            }
        };
        if let Some(hit) = cache.get(&versions, sql) {
            let fresh = !calls_volatile(sql)
                || chrono::DateTime::parse_from_rfc3339(&hit.stored_at).is_ok_and(|t| {
                    (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds()
                        < CLOCK_MAX_AGE_SECS
                });
            if fresh {
                let unchanged_since = versions.iter().map(|v| v.last_modified).max().unwrap_or(0);
                return Ok((
                    super::query::QueryResult {
                        rows: hit.rows,
                        ..Default::default()
                    },
                    Served::Cached {
                        unchanged_since,
                        stored_at: hit.stored_at,
                        tables: versions.len(),
                    },
                ));
            }
        }
        let r = client.query(project, sql, opts).await?;
        if let Err(e) = cache.put(&versions, sql, &r.rows, r.usage.bytes_processed) {
            if !self.warned.swap(true, Ordering::Relaxed) {
                eprintln!("warning: results are not cached: {e}");
            }
        }
        Ok((r, Served::Ran))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn filters_that_read_elsewhere() {
        for f in [
            "id IN (SELECT id FROM ds.allow)",
            "EXISTS(select 1 from x)",
            "ds.is_valid(id)",
            "`proj.ds.is_valid`(id)",
            "proj.ds.fn (id) > 0",
        ] {
            assert!(reads_beyond_its_tables(f), "{f}");
        }
        for f in [
            "t.id > 1 AND LENGTH(t.name) > 0",
            "SAFE.PARSE_DATE('%Y', s) IS NOT NULL",
            "dt IN (DATE '2026-01-01')",
            "selection = 1",
        ] {
            assert!(!reads_beyond_its_tables(f), "{f}");
        }
    }

    #[test]
    fn clock_and_random_functions_are_whole_words() {
        for f in [
            "dt >= DATE_SUB(CURRENT_DATE(), INTERVAL 7 DAY)",
            "dt = current_date",
            "ts > CURRENT_TIMESTAMP()",
            "RAND() < 0.1",
            "x=GENERATE_UUID()",
        ] {
            assert!(calls_volatile(f), "{f}");
        }
        for f in [
            "current_balance > 0",
            "random_id = 3",
            "`t`.`rand_col` = 1",
            "dt >= '2026-01-01'",
        ] {
            assert!(!calls_volatile(f), "{f}");
        }
    }

    use super::*;
    use serde_json::json;

    fn tv(table: &str, last_modified: i64) -> TableVersion {
        TableVersion {
            table: table.to_string(),
            last_modified,
        }
    }

    fn rows() -> Vec<Map<String, Value>> {
        let row = json!({"b": 1, "a": "x", "n": null});
        vec![row.as_object().unwrap().clone()]
    }

    const EP: &str = "https://bigquery.googleapis.com/bigquery/v2";

    #[test]
    fn put_then_get_round_trips_and_any_key_change_misses() {
        let dir = tempfile::tempdir().unwrap();
        let c = ResultCache::new(
            dir.path().to_path_buf(),
            EP,
            "sa:a@p.iam.gserviceaccount.com",
        );
        let tables = [tv("p.d.a", 10), tv("p.d.b", 20)];
        assert_eq!(c.get(&tables, "SELECT 1"), None);
        c.put(&tables, "SELECT 1", &rows(), 1234).unwrap();
        let hit = c.get(&tables, "SELECT 1").unwrap();
        assert_eq!((hit.rows, hit.bytes_processed), (rows(), 1234));
        assert!(chrono::DateTime::parse_from_rfc3339(&hit.stored_at).is_ok());
        assert!(hit.stored_at.ends_with('Z'));
        let hits = |t: &[TableVersion], sql| c.get(t, sql).is_some();
        assert!(hits(&[tv("p.d.b", 20), tv("p.d.a", 10)], "SELECT 1")); // order is irrelevant
        assert!(!hits(&[tv("p.d.a", 11), tv("p.d.b", 20)], "SELECT 1"));
        assert!(!hits(&[tv("p.d.a", 10), tv("p.d.c", 20)], "SELECT 1"));
        assert!(!hits(&[tv("p.d.a", 10)], "SELECT 1"));
        assert!(!hits(&tables, "SELECT 1 "));
        let other = ResultCache::new(
            dir.path().to_path_buf(),
            "http://localhost:9050",
            "sa:a@p.iam.gserviceaccount.com",
        );
        assert!(other.get(&tables, "SELECT 1").is_none());
        // Another principal (row-level security, masking) is never served this one's rows.
        let weaker = ResultCache::new(
            dir.path().to_path_buf(),
            EP,
            "sa:intern@p.iam.gserviceaccount.com",
        );
        assert!(weaker.get(&tables, "SELECT 1").is_none());
        assert_eq!(c.dir(), dir.path());
    }

    #[cfg(unix)]
    #[test]
    fn entries_are_private_to_their_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cache");
        // A cache dir made earlier with the usual 0755 is tightened.
        fs::create_dir_all(&root).unwrap();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        let c = ResultCache::new(root.clone(), EP, "anonymous");
        c.put(&[tv("p.d.a", 1)], "SELECT 1", &rows(), 0).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let mut files = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            assert_eq!(mode(&d), 0o700, "{}", d.display());
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        assert_eq!(files.len(), 1);
        assert_eq!(mode(&files[0]), 0o600, "{}", files[0].display());
    }

    #[test]
    fn corrupt_entries_miss_and_are_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let c = ResultCache::new(
            dir.path().to_path_buf(),
            EP,
            "sa:a@p.iam.gserviceaccount.com",
        );
        let t = [tv("p.d.t", 5)];
        c.put(&t, "SELECT a", &rows(), 7).unwrap();
        let good = fs::read(c.path(&c.key(&t, "SELECT a"))).unwrap();
        let path = c.path(&c.key(&t, "SELECT b"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let corrupt: [&[u8]; 5] = [
            b"\xff\x00garbage",
            &good[..good.len() / 2],
            b"{\"rows\": 3}",
            b"[]",
            &good, // a well-formed entry whose stored sql is "SELECT a"
        ];
        for bad in corrupt {
            fs::write(&path, bad).unwrap();
            assert_eq!(c.get(&t, "SELECT b"), None);
            c.put(&t, "SELECT b", &rows(), 9).unwrap();
            assert_eq!(c.get(&t, "SELECT b").unwrap().bytes_processed, 9);
        }
        assert_eq!(c.get(&t, "SELECT a").unwrap().bytes_processed, 7);
        // No temporary files are left behind.
        for f in fs::read_dir(path.parent().unwrap()).unwrap() {
            let name = f.unwrap().file_name();
            assert!(!name.to_string_lossy().ends_with(".tmp"), "{name:?}");
        }
    }

    #[test]
    fn put_into_an_unwritable_dir_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "x").unwrap();
        let c = ResultCache::new(file.join("cache"), EP, "anonymous");
        let err = c
            .put(&[tv("p.d.t", 1)], "SELECT 1", &rows(), 0)
            .unwrap_err();
        assert!(err.to_string().contains("cache"), "{err}");
        assert!(c.get(&[tv("p.d.t", 1)], "SELECT 1").is_none());
    }

    #[test]
    fn untrusted_tables() {
        let meta = |t: Option<&str>| TableMeta {
            table_type: t.map(str::to_string),
            last_modified_time: Some(1),
            ..TableMeta::default()
        };
        assert_eq!(untrusted(&meta(Some("VIEW"))), Some("a view"));
        assert_eq!(
            untrusted(&meta(Some("MATERIALIZED_VIEW"))),
            Some("a materialized view")
        );
        assert_eq!(
            untrusted(&meta(Some("EXTERNAL"))),
            Some("an external table")
        );
        assert!(untrusted(&meta(Some("SOMETHING_NEW"))).is_some());
        for ok in [None, Some("TABLE"), Some("SNAPSHOT"), Some("CLONE")] {
            assert_eq!(untrusted(&meta(ok)), None, "{ok:?}");
        }
        let streaming = TableMeta {
            streaming_buffer: Some(json!({"estimatedRows": "3"})),
            ..meta(Some("TABLE"))
        };
        assert_eq!(untrusted(&streaming), Some("it has a streaming buffer"));
        let unversioned = TableMeta::default();
        assert_eq!(untrusted(&unversioned), Some("it has no lastModifiedTime"));

        let t = TableRef::parse("p.d.t", None).unwrap();
        assert_eq!(version(&t, &meta(None)), Ok(tv("p.d.t", 1)));
        assert_eq!(version(&t, &streaming), Err("it has a streaming buffer"));
        let parsed: TableMeta =
            serde_json::from_value(json!({"type": "TABLE", "lastModifiedTime": "5",
                "streamingBuffer": {"oldestEntryTime": "1"}}))
            .unwrap();
        assert!(parsed.streaming_buffer.is_some());
    }

    #[test]
    fn cache_dir_from_the_environment() {
        let os = |s: &'static str| Some(OsStr::new(s));
        let expect = |s: &str| Some(PathBuf::from(s));
        assert_eq!(dir_from(os("/x"), os("/h")), expect("/x/bqcheck"));
        assert_eq!(dir_from(os(""), os("/h")), expect("/h/.cache/bqcheck"));
        assert_eq!(dir_from(os("rel"), os("/h")), expect("/h/.cache/bqcheck"));
        assert_eq!(dir_from(None, os("/h")), expect("/h/.cache/bqcheck"));
        assert_eq!(dir_from(None, None), None);
        assert_eq!(dir_from(None, os("")), None);
    }
}
