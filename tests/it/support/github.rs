//! A fake GitHub REST API (wiremock) for `bqcheck action`, with GitHub's documented request
//! and response shapes: issue comments (list, create, update), the contents API, `/user`,
//! and GitHub's error body.

use std::ops::Deref;

use serde_json::{json, Value};
use wiremock::{MockServer, Request, ResponseTemplate};

/// The repository the fake's pull request is in.
pub const REPO: &str = "acme/data";
/// The fake's pull request.
pub const PR: u64 = 7;

/// A GitHub API on a local port; tests mount the endpoints they need (see [`comment`],
/// [`comments_path`], [`error`]). Derefs to the [`MockServer`] for mounting and checking.
pub struct FakeGithub {
    server: MockServer,
}

impl FakeGithub {
    pub async fn start() -> FakeGithub {
        FakeGithub {
            server: MockServer::start().await,
        }
    }

    /// The `body` of each comment sent with `verb` (POST creates, PATCH updates) so far.
    pub async fn sent_bodies(&self, verb: &str) -> Vec<String> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r: &Request| r.method.as_str() == verb)
            .map(|r| {
                let v: Value = serde_json::from_slice(&r.body).unwrap();
                v["body"].as_str().unwrap().to_string()
            })
            .collect()
    }
}

impl Deref for FakeGithub {
    type Target = MockServer;
    fn deref(&self) -> &MockServer {
        &self.server
    }
}

/// An issue comment as GitHub's REST API returns it (list, create and update alike).
pub fn comment(id: u64, body: &str) -> Value {
    json!({
        "id": id,
        "node_id": format!("IC_kwDO{id}"),
        "url": format!("https://api.github.com/repos/{REPO}/issues/comments/{id}"),
        "html_url": format!("https://github.com/{REPO}/pull/{PR}#issuecomment-{id}"),
        "issue_url": format!("https://api.github.com/repos/{REPO}/issues/{PR}"),
        "body": body,
        "user": {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"},
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": "2026-11-01T10:00:00Z",
        "author_association": "NONE"
    })
}

/// The pull request's comments, under an API path `prefix` (`""` on github.com, `/api/v3`
/// on GitHub Enterprise Server).
pub fn comments_path(prefix: &str) -> String {
    format!("{prefix}/repos/{REPO}/issues/{PR}/comments")
}

/// GitHub's error response: `{"message", "documentation_url", "status"}`.
pub fn error(status: u16, message: &str, documentation_url: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "message": message,
        "documentation_url": documentation_url,
        "status": status.to_string()
    }))
}
