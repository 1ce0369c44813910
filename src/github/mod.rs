//! GitHub: the environment of an Actions step, its workflow commands and files
//! ([`workflow`]), and the sticky pull-request comment ([`comment`]).

pub(crate) mod comment;
pub mod workflow;

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub(crate) enum GithubError {
    #[error("cannot write {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the event payload {path}: {message}")]
    Event { path: String, message: String },
    /// The API answered with an error status.
    #[error("GitHub API: {status} {message}")]
    Api { status: u16, message: String },
    /// No answer, or one that could not be read.
    #[error("GitHub API: {0}")]
    Transport(String),
}

/// What GitHub Actions tells a step through its environment
/// (<https://docs.github.com/actions/reference/variables-reference>).
#[derive(Debug, Clone, Default)]
pub(crate) struct ActionEnv {
    /// `GITHUB_ACTIONS=true`: running in Actions.
    pub(crate) in_actions: bool,
    /// `GITHUB_OUTPUT`: the step-outputs file.
    pub(crate) output: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`: the job-summary file.
    pub(crate) step_summary: Option<PathBuf>,
    /// `GITHUB_EVENT_NAME`, e.g. `pull_request`.
    pub(crate) event_name: Option<String>,
    /// `GITHUB_EVENT_PATH`: the webhook payload.
    pub(crate) event_path: Option<PathBuf>,
    /// `GITHUB_REPOSITORY`: `owner/repo`.
    pub(crate) repository: Option<String>,
    /// `GITHUB_SERVER_URL` (default `https://github.com`).
    pub(crate) server_url: String,
    /// `GITHUB_API_URL` (default `https://api.github.com`; GitHub Enterprise sets its own).
    pub(crate) api_url: String,
    pub(crate) run_id: Option<String>,
    pub(crate) sha: Option<String>,
}

impl ActionEnv {
    pub(crate) fn from_env() -> ActionEnv {
        ActionEnv::from_lookup(|k| std::env::var(k).ok())
    }

    /// Built from any variable lookup (tests pass a map).
    pub(crate) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> ActionEnv {
        let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        ActionEnv {
            in_actions: var("GITHUB_ACTIONS").is_some_and(|v| v == "true"),
            output: var("GITHUB_OUTPUT").map(PathBuf::from),
            step_summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            event_name: var("GITHUB_EVENT_NAME"),
            event_path: var("GITHUB_EVENT_PATH").map(PathBuf::from),
            repository: var("GITHUB_REPOSITORY"),
            server_url: var("GITHUB_SERVER_URL")
                .map(|u| u.trim_end_matches('/').to_string())
                .unwrap_or_else(|| "https://github.com".into()),
            api_url: var("GITHUB_API_URL")
                .map(|u| u.trim_end_matches('/').to_string())
                .unwrap_or_else(|| "https://api.github.com".into()),
            run_id: var("GITHUB_RUN_ID"),
            sha: var("GITHUB_SHA"),
        }
    }

    /// `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`.
    pub(crate) fn run_url(&self) -> Option<String> {
        Some(format!(
            "{}/{}/actions/runs/{}",
            self.server_url,
            self.repository.as_deref()?,
            self.run_id.as_deref()?
        ))
    }

    /// Is this a pull-request event (`pull_request` or `pull_request_target`)?
    pub(crate) fn is_pull_request_event(&self) -> bool {
        matches!(
            self.event_name.as_deref(),
            Some("pull_request" | "pull_request_target")
        )
    }

    /// The pull request's number, from the event payload of a pull-request event.
    pub(crate) fn pull_request_number(&self) -> Result<Option<u64>, GithubError> {
        if !self.is_pull_request_event() {
            return Ok(None);
        }
        let Some(path) = &self.event_path else {
            return Ok(None);
        };
        let err = |message: String| GithubError::Event {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let payload: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
        let number = payload
            .pointer("/pull_request/number")
            .or_else(|| payload.get("number"))
            .and_then(serde_json::Value::as_u64);
        match number {
            Some(n) => Ok(Some(n)),
            None => Err(err("no pull_request.number in it".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> ActionEnv {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ActionEnv::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_and_run_url() {
        let e = env(&[]);
        assert!(!e.in_actions);
        assert_eq!(e.api_url, "https://api.github.com");
        assert_eq!(e.run_url(), None);
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://ghe.example.com/"),
            ("GITHUB_API_URL", "https://ghe.example.com/api/v3"),
            ("GITHUB_REPOSITORY", "acme/data"),
            ("GITHUB_RUN_ID", "42"),
        ]);
        assert!(e.in_actions);
        assert_eq!(e.api_url, "https://ghe.example.com/api/v3");
        assert_eq!(
            e.run_url().as_deref(),
            Some("https://ghe.example.com/acme/data/actions/runs/42")
        );
    }

    #[test]
    fn pull_request_number_from_the_event_payload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(
            &path,
            r#"{"action":"synchronize","number":7,"pull_request":{"number":7}}"#,
        )
        .unwrap();
        let p = path.to_str().unwrap();
        let pr = env(&[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", p),
        ]);
        assert_eq!(pr.pull_request_number().unwrap(), Some(7));
        let target = env(&[
            ("GITHUB_EVENT_NAME", "pull_request_target"),
            ("GITHUB_EVENT_PATH", p),
        ]);
        assert_eq!(target.pull_request_number().unwrap(), Some(7));
        let push = env(&[("GITHUB_EVENT_NAME", "push"), ("GITHUB_EVENT_PATH", p)]);
        assert_eq!(push.pull_request_number().unwrap(), None);
        std::fs::write(&path, "{not json").unwrap();
        let e = pr.pull_request_number().unwrap_err().to_string();
        assert!(e.contains("event.json"), "{e}");
    }
}
