//! A small BigQuery REST v2 client: metadata GETs with retries.
//!
//! Only read operations live here. Errors keep BigQuery's own message and reason so a user can
//! act on them; tokens are never part of any message.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use thiserror::Error;
use tokio::sync::OnceCell;

use super::auth::{AuthError, TokenProvider};
use super::model::TableMeta;
use crate::model::TableRef;

pub(crate) const DEFAULT_API_URL: &str = "https://bigquery.googleapis.com";

/// Everything that can go wrong talking to BigQuery. Cloneable so a cached failure can be
/// handed to every pair that shares the table.
#[derive(Debug, Error, Clone)]
pub enum WarehouseError {
    /// Said as the original utilities did ("Table not found: …"), without repeating
    /// BigQuery's own "Not found: Table" prefix.
    #[error("{}", not_found(.0))]
    NotFound(String),
    #[error("Access denied: {0}")]
    AccessDenied(String),
    #[error("Invalid request: {0}")]
    Invalid(String),
    /// A job ran something other than a SELECT: bqcheck is read-only, so its result is
    /// refused (and the item fails).
    #[error("BigQuery ran a {0} statement, not a SELECT: bqcheck only reads, so the result is refused; check --where and the tool's version")]
    NotReadOnly(String),
    #[error("BigQuery returned HTTP {status}{}: {message}", reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Api {
        status: u16,
        reason: Option<String>,
        message: String,
    },
    #[error("cannot reach BigQuery at {url}: {message}{}", emulator_hint(url, *connect))]
    Network {
        url: String,
        message: String,
        /// No connection could be made at all (refused, no route, unknown host).
        connect: bool,
    },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("unexpected response from BigQuery ({what}): {message}")]
    Decode { what: String, message: String },
    #[error("bad --api-url `{0}`: expected a URL such as http://127.0.0.1:9050")]
    BadApiUrl(String),
}

/// "Table not found: p:d.t" for BigQuery's "Not found: Table p:d.t"; its other not-found
/// messages ("Not found: Dataset p:d") as they are.
fn not_found(message: &str) -> String {
    match message.strip_prefix("Not found: Table ") {
        Some(t) => format!("Table not found: {t}"),
        None if message.starts_with("Not found: ") => message.to_string(),
        None => format!("Table not found: {message}"),
    }
}

impl From<WarehouseError> for crate::model::ItemError {
    fn from(e: WarehouseError) -> Self {
        use crate::model::ErrorKind as K;
        let kind = match &e {
            WarehouseError::NotFound(_) => K::NotFound,
            WarehouseError::AccessDenied(_) => K::AccessDenied,
            WarehouseError::Invalid(_) => K::Invalid,
            WarehouseError::NotReadOnly(_) => K::NotReadOnly,
            WarehouseError::Api { .. } => K::Api,
            WarehouseError::Network { .. } => K::Network,
            WarehouseError::Auth(_) => K::Auth,
            WarehouseError::Decode { .. } => K::Decode,
            WarehouseError::BadApiUrl(_) => K::Input,
        };
        crate::model::ItemError::new(kind, e.to_string())
    }
}

impl WarehouseError {
    /// The same error with `secret` (the access token we sent) blanked out of its text, in
    /// case a server or proxy echoed it back.
    fn redact(self, secret: &str) -> WarehouseError {
        if secret.is_empty() {
            return self;
        }
        let r = |s: String| s.replace(secret, "[redacted token]");
        match self {
            WarehouseError::NotFound(m) => WarehouseError::NotFound(r(m)),
            WarehouseError::AccessDenied(m) => WarehouseError::AccessDenied(r(m)),
            WarehouseError::Invalid(m) => WarehouseError::Invalid(r(m)),
            WarehouseError::Api {
                status,
                reason,
                message,
            } => WarehouseError::Api {
                status,
                reason: reason.map(r),
                message: r(message),
            },
            WarehouseError::Network {
                url,
                message,
                connect,
            } => WarehouseError::Network {
                url: r(url),
                message: r(message),
                connect,
            },
            WarehouseError::Decode { what, message } => WarehouseError::Decode {
                what,
                message: r(message),
            },
            other => other,
        }
    }

    /// The same error, saying that it persisted through `n` attempts.
    fn after_attempts(self, n: u32) -> WarehouseError {
        match self {
            WarehouseError::Api {
                status,
                reason,
                message,
            } => WarehouseError::Api {
                status,
                reason,
                message: format!("{message} (gave up after {n} attempts)"),
            },
            WarehouseError::Network {
                url,
                message,
                connect,
            } => WarehouseError::Network {
                url,
                message: format!("{message} (gave up after {n} attempts)"),
                connect,
            },
            other => other,
        }
    }
}

/// How often and how long to retry transient failures.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Total attempts, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Full-jitter exponential backoff: a random delay in [0, min(max, base·2^attempt)].
    fn delay(&self, attempt: u32) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max_delay);
        let millis = cap.as_millis().min(u128::from(u64::MAX)) as u64;
        Duration::from_millis(rand::rng().random_range(0..=millis.max(1)))
    }
}

/// Which credentials to use.
#[derive(Debug, Clone, Default)]
pub enum AuthMode {
    /// Talk to an emulator: no Authorization header at all.
    #[default]
    None,
    /// Discover Google credentials (optionally from an explicit key file) on first use.
    Google {
        credentials: Option<std::path::PathBuf>,
    },
}

pub struct Client {
    http: reqwest::Client,
    base: Url,
    auth: AuthMode,
    token: OnceCell<Result<TokenProvider, AuthError>>,
    retry: RetryPolicy,
    requests: AtomicU64,
    /// Set once a request gave up without ever connecting: the endpoint is down or mistyped,
    /// and the remaining items fail at once instead of each waiting through its retries.
    unreachable: std::sync::atomic::AtomicBool,
    verbose: bool,
    /// Jobs started and not seen complete: (project, job id) → location.
    running: std::sync::Mutex<std::collections::HashMap<(String, String), Option<String>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// A URL as it may be shown or stored: without its `user:password@`.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let rest = match rest[..end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    match scheme {
        Some(s) => format!("{s}://{rest}"),
        None => rest.to_string(),
    }
}

/// What to add to a failure to connect at all to `url`: when it is this machine (an
/// `--api-url` or `BIGQUERY_EMULATOR_HOST` such as `127.0.0.1:9050`), most likely the local
/// emulator is not running.
fn emulator_hint(url: &str, connect: bool) -> String {
    if connect && is_this_machine(url) {
        format!("; {EMULATOR_HINT}")
    } else {
        String::new()
    }
}

const EMULATOR_HINT: &str = "is the emulator running? start it with scripts/emulator start";

/// Does `url` (with or without a scheme) name this machine: `localhost`, a loopback address,
/// or the unspecified address (which connects to this machine)?
fn is_this_machine(url: &str) -> bool {
    let parsed = if url.contains("://") {
        Url::parse(url)
    } else {
        Url::parse(&format!("http://{url}"))
    };
    let Some(host) = parsed.as_ref().ok().and_then(Url::host_str) else {
        return false;
    };
    // An IPv6 host comes in brackets; a domain comes lowercased.
    match host.trim_start_matches('[').trim_end_matches(']').parse() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => {
            let d = host.trim_end_matches('.');
            d == "localhost" || d.ends_with(".localhost")
        }
    }
}

/// Turn `--api-url` / `BIGQUERY_EMULATOR_HOST` into a base URL ending in `/bigquery/v2/`.
pub(crate) fn api_base(api_url: &str) -> Result<Url, WarehouseError> {
    let with_scheme = if api_url.contains("://") {
        api_url.to_string()
    } else {
        format!("http://{api_url}")
    };
    let bad = || WarehouseError::BadApiUrl(redact_url(api_url));
    let mut url = Url::parse(&with_scheme).map_err(|_| bad())?;
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(bad());
    }
    let path = url.path().trim_end_matches('/').to_string();
    let path = if path.ends_with("/bigquery/v2") {
        format!("{path}/")
    } else {
        format!("{path}/bigquery/v2/")
    };
    url.set_path(&path);
    Ok(url)
}

impl Client {
    pub fn new(
        api_url: &str,
        auth: AuthMode,
        retry: RetryPolicy,
    ) -> Result<Client, WarehouseError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("bqcheck/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| WarehouseError::Network {
                url: redact_url(api_url),
                message: e.to_string(),
                connect: false,
            })?;
        Ok(Client {
            http,
            base: api_base(api_url)?,
            auth,
            token: OnceCell::new(),
            retry,
            requests: AtomicU64::new(0),
            unreachable: Default::default(),
            verbose: false,
            running: Default::default(),
        })
    }

    /// Report retries on stderr (`--verbose`).
    pub(crate) fn with_verbose(mut self, verbose: bool) -> Client {
        self.verbose = verbose;
        self
    }

    /// Note a job that is running, so it can be cancelled if its item is abandoned.
    pub(crate) fn job_started(&self, project: &str, job_id: &str, location: Option<&str>) {
        if let Ok(mut m) = self.running.lock() {
            m.insert(
                (project.to_string(), job_id.to_string()),
                location.map(String::from),
            );
        }
    }

    pub(crate) fn job_finished(&self, project: &str, job_id: &str) {
        if let Ok(mut m) = self.running.lock() {
            m.remove(&(project.to_string(), job_id.to_string()));
        }
    }

    /// `jobs.cancel` every job whose item was abandoned (timed out or cancelled by a signal):
    /// they would otherwise run, and bill, to the end. Returns how many were cancelled.
    pub(crate) async fn cancel_abandoned_jobs(&self) -> usize {
        let jobs: Vec<((String, String), Option<String>)> = match self.running.lock() {
            Ok(mut m) => m.drain().collect(),
            Err(_) => return 0,
        };
        let cancels = jobs.iter().map(|((project, job_id), location)| async move {
            let mut url = self.endpoint(&["projects", project, "jobs", job_id, "cancel"]);
            if let Ok(u) = &mut url {
                if let Some(l) = location {
                    u.query_pairs_mut().append_pair("location", l);
                }
            }
            match url {
                Ok(u) => match self.send_once(Method::POST, u, None).await {
                    Ok(_) => true,
                    Err(e) => {
                        eprintln!("could not cancel BigQuery job {project}:{job_id}: {e}");
                        false
                    }
                },
                Err(_) => false,
            }
        });
        futures::future::join_all(cancels)
            .await
            .into_iter()
            .filter(|ok| *ok)
            .count()
    }

    /// HTTP requests sent so far (retries included).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn endpoint(&self, segments: &[&str]) -> Result<Url, WarehouseError> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| WarehouseError::BadApiUrl(self.base.to_string()))?;
            path.pop_if_empty();
            path.extend(segments);
        }
        Ok(url)
    }

    async fn bearer(&self) -> Result<Option<String>, WarehouseError> {
        match &self.auth {
            AuthMode::None => Ok(None),
            AuthMode::Google { credentials } => {
                let provider = self
                    .token
                    .get_or_init(|| TokenProvider::discover(credentials.as_deref()))
                    .await
                    .as_ref()
                    .map_err(|e| WarehouseError::Auth(e.clone()))?;
                Ok(Some(provider.token().await?))
            }
        }
    }

    /// Get a token now (if this client uses Google auth), so a missing credential is reported
    /// once, before the batch, instead of once per item.
    pub(crate) async fn check_auth(&self) -> Result<(), WarehouseError> {
        self.bearer().await.map(|_| ())
    }

    /// `tables.get`: the table's metadata and schema.
    pub async fn get_table(&self, t: &TableRef) -> Result<TableMeta, WarehouseError> {
        let url = self.endpoint(&[
            "projects", &t.project, "datasets", &t.dataset, "tables", &t.table,
        ])?;
        let body = self.send_json(Method::GET, url, None).await?;
        serde_json::from_value(body).map_err(|e| WarehouseError::Decode {
            what: format!("tables.get {t}"),
            message: e.to_string(),
        })
    }

    /// `tables.list`, every page: the names of a dataset's tables (views and other kinds
    /// included), as listed.
    pub(crate) async fn list_tables(
        &self,
        d: &crate::model::DatasetRef,
    ) -> Result<Vec<String>, WarehouseError> {
        const MAX_PAGES: usize = 10_000;
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url =
                self.endpoint(&["projects", &d.project, "datasets", &d.dataset, "tables"])?;
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("maxResults", "1000");
                if let Some(t) = &token {
                    q.append_pair("pageToken", t);
                }
            }
            let page = self.send_json(Method::GET, url, None).await?;
            for t in page
                .get("tables")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if let Some(name) = t.pointer("/tableReference/tableId").and_then(Value::as_str) {
                    names.push(name.to_string());
                }
            }
            token = page
                .get("nextPageToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(String::from);
            if token.is_none() {
                return Ok(names);
            }
        }
        Err(WarehouseError::Decode {
            what: format!("tables.list {d}"),
            message: format!("more than {MAX_PAGES} pages"),
        })
    }

    /// Send a request, retrying transient failures with jittered exponential backoff.
    pub(crate) async fn send_json(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Value, WarehouseError> {
        if self.unreachable.load(Ordering::Relaxed) {
            return Err(WarehouseError::Network {
                url: redact_url(url.as_str()),
                message: "not tried: an earlier request could not connect at all".into(),
                connect: true,
            });
        }
        let mut attempt = 0;
        loop {
            let result = self.send_once(method.clone(), url.clone(), body).await;
            if let Err(WarehouseError::Network { connect: true, .. }) = &result {
                if attempt + 1 >= self.retry.max_attempts
                    && !self.unreachable.swap(true, Ordering::Relaxed)
                    && is_this_machine(self.base.as_str())
                {
                    // The errors go into the report (stdout, maybe JSON to a file): say it
                    // once where a person at the terminal sees it.
                    eprintln!(
                        "note: nothing accepts connections at {}: {EMULATOR_HINT}",
                        redact_url(self.base.as_str())
                    );
                }
            }
            match result {
                Err(e) if is_retryable(&e) && attempt + 1 < self.retry.max_attempts => {
                    let delay = self.retry.delay(attempt);
                    if self.verbose {
                        eprintln!(
                            "retry {}/{} in {:.1} s: {} {} failed: {e}",
                            attempt + 2,
                            self.retry.max_attempts,
                            delay.as_secs_f64(),
                            method,
                            url.path()
                        );
                    }
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(e) if is_retryable(&e) && attempt > 0 => {
                    return Err(e.after_attempts(attempt + 1));
                }
                other => return other,
            }
        }
    }

    async fn send_once(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Value, WarehouseError> {
        let mut req = self.http.request(method, url.clone());
        let token = self.bearer().await?;
        if let Some(token) = &token {
            req = req.bearer_auth(token);
        }
        let result = self.exchange(req, &url, body).await;
        match token {
            Some(t) => result.map_err(|e| e.redact(&t)),
            None => result,
        }
    }

    async fn exchange(
        &self,
        mut req: reqwest::RequestBuilder,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Value, WarehouseError> {
        if let Some(b) = body {
            req = req.json(b);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let network = |e: reqwest::Error| {
            let connect = e.is_connect();
            let timeout = e.is_timeout();
            // reqwest's own line is "error sending request": the cause is further down.
            let e = e.without_url();
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                let text = s.to_string();
                if !message.contains(&text) {
                    message = format!("{message}: {text}");
                }
                source = s.source();
            }
            if timeout && !message.contains("timed out") {
                message.push_str(" (timed out)");
            }
            WarehouseError::Network {
                url: redact_url(url.as_str()),
                connect,
                message,
            }
        };
        let resp = req.send().await.map_err(network)?;
        let status = resp.status();
        let text = resp.text().await.map_err(network)?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| WarehouseError::Decode {
                what: url.path().to_string(),
                message: e.to_string(),
            });
        }
        Err(api_error(status, &text))
    }
}

/// Map an error response (`{"error": {"code", "message", "errors": [{"reason"}]}}`) to an error.
pub(crate) fn api_error(status: StatusCode, body: &str) -> WarehouseError {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let err = v.get("error");
    let message = err
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| {
            let snippet: String = body.chars().take(200).collect();
            if snippet.trim().is_empty() {
                status.canonical_reason().unwrap_or("error").to_string()
            } else {
                snippet
            }
        });
    let reason = err
        .and_then(|e| e.get("errors"))
        .and_then(|e| e.get(0))
        .and_then(|e| e.get("reason"))
        .and_then(Value::as_str)
        .map(String::from)
        .or_else(|| {
            err.and_then(|e| e.get("status"))
                .and_then(Value::as_str)
                .map(|s| s.to_string())
        });
    match (status.as_u16(), reason.as_deref()) {
        (404, _) | (_, Some("notFound")) => WarehouseError::NotFound(message),
        (_, Some("accessDenied")) => WarehouseError::AccessDenied(message),
        (400, _) | (_, Some("invalid") | Some("invalidQuery")) => WarehouseError::Invalid(message),
        (403, None) => WarehouseError::AccessDenied(message),
        (s, _) => WarehouseError::Api {
            status: s,
            reason,
            message,
        },
    }
}

/// 429, 500, 502, 503, 504, `rateLimitExceeded`, `backendError` and network failures are
/// transient; `notFound`, `invalid`, `accessDenied` and auth problems are not.
pub(crate) fn is_retryable(e: &WarehouseError) -> bool {
    match e {
        WarehouseError::Api { status, reason, .. } => {
            matches!(status, 429 | 500 | 502 | 503 | 504)
                || matches!(
                    reason.as_deref(),
                    Some("rateLimitExceeded") | Some("backendError") | Some("internalError")
                )
        }
        WarehouseError::Network { .. } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_base_forms() {
        assert_eq!(
            api_base("127.0.0.1:9050").unwrap().as_str(),
            "http://127.0.0.1:9050/bigquery/v2/"
        );
        assert_eq!(
            api_base("http://localhost:9050/").unwrap().as_str(),
            "http://localhost:9050/bigquery/v2/"
        );
        assert_eq!(
            api_base("https://bigquery.googleapis.com/bigquery/v2")
                .unwrap()
                .as_str(),
            "https://bigquery.googleapis.com/bigquery/v2/"
        );
        assert!(api_base("http://").is_err());
    }

    #[test]
    fn urls_encode_table_names() {
        let c = Client::new("http://h:1", AuthMode::None, RetryPolicy::default()).unwrap();
        let u = c
            .endpoint(&["projects", "p", "datasets", "d", "tables", "my table/x"])
            .unwrap();
        assert_eq!(
            u.as_str(),
            "http://h:1/bigquery/v2/projects/p/datasets/d/tables/my%20table%2Fx"
        );
    }

    #[test]
    fn classifies_error_bodies() {
        let nf = r#"{"error":{"code":404,"message":"Not found: Table p:d.t","errors":[{"message":"Not found: Table p:d.t","domain":"global","reason":"notFound"}],"status":"NOT_FOUND"}}"#;
        let e = api_error(StatusCode::NOT_FOUND, nf);
        assert!(matches!(e, WarehouseError::NotFound(_)));
        assert_eq!(e.to_string(), "Table not found: p:d.t");
        assert!(!is_retryable(&e));
        let rl = r#"{"error":{"code":403,"message":"Exceeded rate limits","errors":[{"reason":"rateLimitExceeded"}]}}"#;
        let e = api_error(StatusCode::FORBIDDEN, rl);
        assert!(is_retryable(&e), "{e:?}");
        let ad = r#"{"error":{"code":403,"message":"Access Denied: Table p:d.t","errors":[{"reason":"accessDenied"}]}}"#;
        let e = api_error(StatusCode::FORBIDDEN, ad);
        assert!(matches!(e, WarehouseError::AccessDenied(_)));
        assert!(!is_retryable(&e));
        for s in [429u16, 500, 502, 503, 504] {
            let e = api_error(StatusCode::from_u16(s).unwrap(), "<html>oops</html>");
            assert!(is_retryable(&e), "{s}");
        }
        let e = api_error(
            StatusCode::BAD_REQUEST,
            r#"{"error":{"code":400,"message":"bad","errors":[{"reason":"invalid"}]}}"#,
        );
        assert!(matches!(e, WarehouseError::Invalid(_)) && !is_retryable(&e));
    }

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        for a in 0..20 {
            assert!(p.delay(a) <= Duration::from_millis(300));
        }
    }

    const HINT: &str = "is the emulator running? start it with scripts/emulator start";

    #[test]
    fn a_refused_connection_to_this_machine_suggests_the_emulator() {
        let network = |url: &str, connect: bool| {
            WarehouseError::Network {
                url: url.into(),
                message: "Connection refused (os error 111)".into(),
                connect,
            }
            .to_string()
        };
        for local in [
            "http://127.0.0.1:9050/bigquery/v2/projects/p/datasets/d/tables/t",
            "127.0.0.1:9050",
            "http://127.8.9.10:1",
            "http://localhost:9050",
            "LocalHost:9050",
            "http://emulator.localhost:9050/",
            "http://[::1]:9050",
            "http://[::ffff:127.0.0.1]:9050",
            "http://0.0.0.0:9050",
        ] {
            let e = network(local, true);
            assert!(e.ends_with(&format!("; {HINT}")), "{local}: {e}");
            // A failure after connecting (a timeout, a reset) is not a missing emulator.
            assert!(!network(local, false).contains(HINT), "{local}");
        }
        for remote in [
            "https://bigquery.googleapis.com/bigquery/v2/projects/p",
            "http://10.0.0.5:9050",
            "http://[2001:db8::1]:9050",
            "http://localhost.example.com:9050",
            "http://127.0.0.1.nip.io:9050",
            "not a url",
        ] {
            assert!(!network(remote, true).contains(HINT), "{remote}");
        }
    }

    /// A real refused connection, through the client: the hint is there and the URL's
    /// password is not.
    #[tokio::test]
    async fn a_closed_local_port_gives_the_hint() {
        let port = match std::net::TcpListener::bind("127.0.0.1:0") {
            Ok(l) => l.local_addr().map(|a| a.port()),
            Err(e) => Err(e),
        }
        .expect("a free local port");
        let one_try = RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        };
        let c = Client::new(
            &format!("http://user:secret@127.0.0.1:{port}"),
            AuthMode::None,
            one_try,
        )
        .expect("a client");
        let t = TableRef::parse("p.d.t", None).expect("a table");
        let e = c.get_table(&t).await.expect_err("nothing listens there");
        assert!(
            matches!(e, WarehouseError::Network { connect: true, .. }),
            "{e:?}"
        );
        let text = e.to_string();
        assert!(text.contains(HINT), "{text}");
        assert!(
            text.contains(&format!("http://127.0.0.1:{port}/")),
            "{text}"
        );
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(
            super::redact_url("https://u:p@proxy.example.com/x?y=@z"),
            "https://proxy.example.com/x?y=@z"
        );
        assert_eq!(super::redact_url("u:p@127.0.0.1:9050"), "127.0.0.1:9050");
        assert_eq!(
            super::redact_url("http://127.0.0.1:9050"),
            "http://127.0.0.1:9050"
        );
        let e = super::api_base("http://u:secret@[bad")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secret"), "{e}");
    }
}
