//! Credentials, tried in a fixed order; the first source that exists is used.
//!
//! 1. an emulator (`--api-url` / `BIGQUERY_EMULATOR_HOST`): no auth at all (decided by the caller);
//! 2. `--credentials FILE`, then `GOOGLE_APPLICATION_CREDENTIALS`: a JSON key of type
//!    `service_account`, `authorized_user` or `external_account` (Workload Identity Federation,
//!    as google-github-actions/auth writes it);
//! 3. gcloud's application-default credentials file (`gcloud auth application-default login`);
//! 4. the GCE/GKE/Cloud Run metadata server.
//!
//! Tokens never leave this module except in the `Authorization` header.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use thiserror::Error;
use yup_oauth2::authenticator::{ApplicationDefaultCredentialsTypes, DefaultAuthenticator};
use yup_oauth2::{
    ApplicationDefaultCredentialsAuthenticator, ApplicationDefaultCredentialsFlowOpts,
    AuthorizedUserAuthenticator, ExternalAccountAuthenticator, ServiceAccountAuthenticator,
};

const SCOPES: &[&str] = &["https://www.googleapis.com/auth/bigquery"];

#[derive(Debug, Error, Clone)]
pub enum AuthError {
    #[error("credentials file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("no usable Google credentials; tried, in order:\n{tried}\nSet GOOGLE_APPLICATION_CREDENTIALS to a key file, run `gcloud auth application-default login`, pass --credentials FILE, or use --api-url for an emulator")]
    NoCredentials { tried: String },
    #[error("could not get an access token from {source_name}: {message}")]
    Token {
        source_name: String,
        message: String,
    },
}

/// Where a credential came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CredentialSource {
    Flag(PathBuf),
    EnvVar(PathBuf),
    GcloudAdc(PathBuf),
    MetadataServer,
}

impl std::fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSource::Flag(p) => write!(f, "--credentials {}", p.display()),
            CredentialSource::EnvVar(p) => {
                write!(f, "GOOGLE_APPLICATION_CREDENTIALS={}", p.display())
            }
            CredentialSource::GcloudAdc(p) => write!(f, "gcloud ADC file {}", p.display()),
            CredentialSource::MetadataServer => write!(f, "the metadata server"),
        }
    }
}

/// The key file's location and kind, found without any network access. Its `Debug` shows
/// neither the key nor any token in it.
#[derive(Clone)]
pub(crate) struct CredentialFile {
    pub(crate) source: CredentialSource,
    pub(crate) path: PathBuf,
    pub(crate) kind: String,
    /// The project the credential names, if any (default project of last resort).
    pub(crate) project: Option<String>,
    json: Value,
}

impl std::fmt::Debug for CredentialFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialFile")
            .field("source", &self.source)
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

/// The path gcloud writes application-default credentials to.
pub(crate) fn gcloud_adc_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CLOUDSDK_CONFIG") {
        return Some(PathBuf::from(dir).join("application_default_credentials.json"));
    }
    std::env::var_os("HOME").map(|h| {
        PathBuf::from(h)
            .join(".config")
            .join("gcloud")
            .join("application_default_credentials.json")
    })
}

fn read_credential(path: &Path, source: CredentialSource) -> Result<CredentialFile, AuthError> {
    let file_err = |message: String| AuthError::File {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| {
        // serde_json's message names a position only, never the content: safe to show.
        file_err(format!("not valid JSON ({e})"))
    })?;
    let kind = json
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let project = match kind.as_str() {
        "service_account" => json.get("project_id").and_then(Value::as_str).map(String::from),
        "authorized_user" | "external_account" => json
            .get("quota_project_id")
            .and_then(Value::as_str)
            .map(String::from)
            .or_else(|| {
                // .../serviceAccounts/NAME@PROJECT.iam.gserviceaccount.com:generateAccessToken
                json.get("service_account_impersonation_url")
                    .and_then(Value::as_str)
                    .and_then(|u| u.split('@').nth(1))
                    .and_then(|rest| rest.split(".iam.gserviceaccount.com").next())
                    .map(String::from)
            }),
        "" => return Err(file_err("has no \"type\" field".into())),
        other => {
            return Err(file_err(format!(
                "credential type \"{other}\" is not supported (use service_account, authorized_user or external_account)"
            )))
        }
    };
    Ok(CredentialFile {
        source,
        path: path.to_path_buf(),
        kind,
        project,
        json,
    })
}

/// Find the credential file to use, without network access. `Ok(None)` means: fall back to the
/// metadata server. `tried` collects what was looked at, for the final error message.
pub(crate) fn find_credential_file(
    flag: Option<&Path>,
    tried: &mut Vec<String>,
) -> Result<Option<CredentialFile>, AuthError> {
    match flag {
        Some(p) => return read_credential(p, CredentialSource::Flag(p.to_path_buf())).map(Some),
        None => tried.push("  --credentials: not given".into()),
    }
    match std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").filter(|v| !v.is_empty()) {
        Some(p) => {
            let p = PathBuf::from(p);
            return read_credential(&p, CredentialSource::EnvVar(p.clone())).map(Some);
        }
        None => tried.push("  GOOGLE_APPLICATION_CREDENTIALS: not set".into()),
    }
    match gcloud_adc_path() {
        Some(p) if p.is_file() => {
            return read_credential(&p, CredentialSource::GcloudAdc(p.clone())).map(Some)
        }
        Some(p) => tried.push(format!("  gcloud ADC file {}: not found", p.display())),
        None => tried.push("  gcloud ADC file: HOME not set".into()),
    }
    Ok(None)
}

/// The project named by whatever credential would be used (no network).
pub(crate) fn credential_project(flag: Option<&Path>) -> Option<String> {
    find_credential_file(flag, &mut Vec::new())
        .ok()
        .flatten()
        .and_then(|c| c.project)
}

/// Who the credentials that would be used are, for the result cache's key (no network, and
/// nothing secret: a refresh token is represented by a hash of it). `anonymous` when no
/// credentials are sent (an emulator).
pub(crate) fn credential_identity(flag: Option<&Path>, sends_credentials: bool) -> String {
    if !sends_credentials {
        return "anonymous".into();
    }
    let c = match find_credential_file(flag, &mut Vec::new()) {
        Ok(Some(c)) => c,
        Ok(None) => return "metadata-server".into(),
        Err(_) => return "unknown".into(),
    };
    let field = |k: &str| c.json.get(k).and_then(Value::as_str).map(String::from);
    let who = match c.kind.as_str() {
        "service_account" => field("client_email"),
        "external_account" => field("service_account_impersonation_url")
            .and_then(|u| {
                u.split('/')
                    .next_back()
                    .and_then(|s| s.split(':').next())
                    .map(String::from)
            })
            .or_else(|| field("audience")),
        // gcloud's client id is everyone's: the refresh token is the user's grant.
        "authorized_user" => field("refresh_token").map(|t| {
            use sha2::{Digest, Sha256};
            Sha256::digest(t.as_bytes())
                .iter()
                .take(16)
                .map(|b| format!("{b:02x}"))
                .collect()
        }),
        _ => None,
    };
    format!("{}:{}", c.kind, who.unwrap_or_else(|| "?".into()))
}

/// A ready token source.
pub(crate) struct TokenProvider {
    auth: DefaultAuthenticator,
    source: CredentialSource,
    tried: Vec<String>,
}

impl std::fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenProvider")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl TokenProvider {
    /// Build the authenticator for the first available source.
    pub(crate) async fn discover(flag: Option<&Path>) -> Result<TokenProvider, AuthError> {
        let mut tried = Vec::new();
        let timeout = Duration::from_secs(30);
        let Some(cred) = find_credential_file(flag, &mut tried)? else {
            let opts = ApplicationDefaultCredentialsFlowOpts::default();
            let auth = match ApplicationDefaultCredentialsAuthenticator::builder(opts).await {
                ApplicationDefaultCredentialsTypes::InstanceMetadata(b) => {
                    b.with_timeout(Duration::from_secs(5)).build().await
                }
                ApplicationDefaultCredentialsTypes::ServiceAccount(b) => b.build().await,
            }
            .map_err(|e| AuthError::Token {
                source_name: CredentialSource::MetadataServer.to_string(),
                message: e.to_string(),
            })?;
            return Ok(TokenProvider {
                auth,
                source: CredentialSource::MetadataServer,
                tried,
            });
        };
        let file_err = |message: String| AuthError::File {
            path: cred.path.clone(),
            message,
        };
        let bad_key = |e: serde_json::Error| {
            file_err(format!(
                "not a valid {} credential: {}",
                cred.kind,
                // serde's message names a missing/invalid field, never a secret value.
                e.to_string().split(" at line").next().unwrap_or_default()
            ))
        };
        let auth = match cred.kind.as_str() {
            "service_account" => {
                let key = serde_json::from_value(cred.json.clone()).map_err(bad_key)?;
                ServiceAccountAuthenticator::builder(key)
                    .with_timeout(timeout)
                    .build()
                    .await
            }
            "authorized_user" => {
                let secret = serde_json::from_value(cred.json.clone()).map_err(bad_key)?;
                AuthorizedUserAuthenticator::builder(secret)
                    .with_timeout(timeout)
                    .build()
                    .await
            }
            _ => {
                let secret = serde_json::from_value(cred.json.clone()).map_err(bad_key)?;
                ExternalAccountAuthenticator::builder(secret)
                    .with_timeout(timeout)
                    .build()
                    .await
            }
        }
        .map_err(|e| file_err(e.to_string()))?;
        Ok(TokenProvider {
            auth,
            source: cred.source,
            tried,
        })
    }

    /// A bearer token for BigQuery.
    pub(crate) async fn token(&self) -> Result<String, AuthError> {
        let fail = |message: String| {
            if self.source == CredentialSource::MetadataServer {
                let mut tried = self.tried.clone();
                tried.push(format!("  the metadata server: {message}"));
                AuthError::NoCredentials {
                    tried: tried.join("\n"),
                }
            } else {
                AuthError::Token {
                    source_name: self.source.to_string(),
                    message,
                }
            }
        };
        let token = self
            .auth
            .token(SCOPES)
            .await
            .map_err(|e| fail(e.to_string()))?;
        token
            .token()
            .map(String::from)
            .ok_or_else(|| fail("the response held no access token".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_the_project_of_each_credential_kind() {
        let d = tempfile::tempdir().unwrap();
        let sa = write(
            d.path(),
            "sa.json",
            r#"{"type":"service_account","project_id":"acme-prod","private_key":"SECRET"}"#,
        );
        let c = read_credential(&sa, CredentialSource::Flag(sa.clone())).unwrap();
        assert_eq!(c.project.as_deref(), Some("acme-prod"));
        let wif = write(
            d.path(),
            "wif.json",
            r#"{"type":"external_account","audience":"//iam.googleapis.com/x","subject_token_type":"urn:ietf:params:oauth:token-type:jwt","token_url":"https://sts.googleapis.com/v1/token","service_account_impersonation_url":"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/ci@acme-ci.iam.gserviceaccount.com:generateAccessToken","credential_source":{"url":"http://x","headers":{}}}"#,
        );
        let c = read_credential(&wif, CredentialSource::Flag(wif.clone())).unwrap();
        assert_eq!(c.kind, "external_account");
        assert_eq!(c.project.as_deref(), Some("acme-ci"));
    }

    #[test]
    fn errors_name_the_file_but_never_its_secrets() {
        let d = tempfile::tempdir().unwrap();
        let bad = write(d.path(), "bad.json", r#"{"private_key":"TOPSECRET"}"#);
        let e = read_credential(&bad, CredentialSource::Flag(bad.clone()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.json") && e.contains("no \"type\""), "{e}");
        assert!(!e.contains("TOPSECRET"));
        let weird = write(
            d.path(),
            "w.json",
            r#"{"type":"impersonated_service_account","x":"TOPSECRET"}"#,
        );
        let e = read_credential(&weird, CredentialSource::Flag(weird.clone()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not supported") && !e.contains("TOPSECRET"),
            "{e}"
        );
        let notjson = write(d.path(), "n.json", "TOPSECRET garbage");
        let e = read_credential(&notjson, CredentialSource::Flag(notjson.clone()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not valid JSON") && !e.contains("TOPSECRET"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_broken_service_account_key_is_a_clear_error_without_the_key() {
        let d = tempfile::tempdir().unwrap();
        let sa = write(
            d.path(),
            "sa.json",
            r#"{"type":"service_account","project_id":"p","private_key":"TOPSECRET"}"#,
        );
        let e = TokenProvider::discover(Some(&sa))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sa.json") && e.contains("service_account"),
            "{e}"
        );
        assert!(!e.contains("TOPSECRET"), "{e}");
    }

    #[test]
    fn identities_name_the_principal_and_never_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, v: serde_json::Value| {
            let p = dir.path().join(name);
            std::fs::write(&p, v.to_string()).unwrap();
            p
        };
        let sa = write(
            "sa.json",
            serde_json::json!({"type": "service_account", "client_email": "ci@p.iam.gserviceaccount.com", "private_key": "SECRET"}),
        );
        assert_eq!(
            credential_identity(Some(&sa), true),
            "service_account:ci@p.iam.gserviceaccount.com"
        );
        assert_eq!(credential_identity(Some(&sa), false), "anonymous");
        let user = write(
            "user.json",
            serde_json::json!({"type": "authorized_user", "client_id": "gcloud", "refresh_token": "1//REFRESH-SECRET"}),
        );
        let a = credential_identity(Some(&user), true);
        assert!(
            a.starts_with("authorized_user:") && !a.contains("SECRET"),
            "{a}"
        );
        let other = write(
            "other.json",
            serde_json::json!({"type": "authorized_user", "client_id": "gcloud", "refresh_token": "1//ANOTHER"}),
        );
        assert_ne!(
            credential_identity(Some(&other), true),
            a,
            "two users of gcloud's client id"
        );
        let wif = write(
            "wif.json",
            serde_json::json!({"type": "external_account", "audience": "//iam/pool", "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/bq@p.iam.gserviceaccount.com:generateAccessToken"}),
        );
        assert_eq!(
            credential_identity(Some(&wif), true),
            "external_account:bq@p.iam.gserviceaccount.com"
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.json");
        std::fs::write(
            &p,
            r#"{"type":"service_account","client_email":"a@p.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----SECRET"}"#,
        )
        .unwrap();
        let c = find_credential_file(Some(&p), &mut Vec::new())
            .unwrap()
            .unwrap();
        let shown = format!("{c:?}");
        assert!(
            shown.contains("service_account") && !shown.contains("SECRET"),
            "{shown}"
        );
    }
}
