//! The sticky pull-request comment: one comment per command and tag, found by a hidden marker,
//! updated in place on every push, never duplicated.

use std::time::Duration;

use octocrab::{Octocrab, Page};
use serde::Deserialize;

use super::GithubError;
use crate::report::{markdown, Batch, Totals};

/// GitHub refuses a comment body above this many characters.
pub(crate) const COMMENT_LIMIT: usize = 65_536;

/// Where the run-specific footer starts: what follows is ignored when deciding whether the
/// comment changed, so a re-run with the same results makes no API call.
const FOOTER_MARK: &str = "<!-- bqcheck:footer -->";

/// The hidden marker that identifies our comment: `<!-- bqcheck:{command}:{tag} -->`.
pub(crate) fn marker(command: &str, tag: &str) -> String {
    format!("<!-- bqcheck:{command}:{tag} -->")
}

/// The status line: `✅ bqcheck schema-diff: no differences`, `❌ … 1 breaking, 2 different`,
/// `⚠️ … 1 failed`. What a check found is the check's to say (`Batch::status`).
pub(crate) fn status_headline(command: &str, batch: &dyn Batch) -> String {
    headline_of(
        command,
        &batch.totals(),
        batch.status(),
        batch.exit_status().code(),
    )
}

fn headline_of(
    command: &str,
    totals: &Totals,
    (findings, nothing): (Vec<String>, &str),
    exit_code: u8,
) -> String {
    let mut parts = Vec::new();
    if totals.failed > 0 {
        parts.push(format!("{} failed", totals.failed));
    }
    parts.extend(findings);
    let icon = match exit_code {
        0 => "✅",
        1 => "❌",
        _ => "⚠️",
    };
    if parts.is_empty() {
        format!(
            "{icon} bqcheck {command}: {nothing} ({} checked)",
            totals.total
        )
    } else {
        format!(
            "{icon} bqcheck {command}: {} (of {})",
            parts.join(", "),
            totals.total
        )
    }
}

/// What goes around the report in the comment.
pub(crate) struct BodyContext<'a> {
    pub(crate) command: &'a str,
    pub(crate) tag: &'a str,
    pub(crate) run_url: Option<&'a str>,
    pub(crate) sha: Option<&'a str>,
}

/// The comment: marker, status headline, the Markdown report (cut to fit GitHub's limit, with a
/// link to the run for the rest), and a footer with version, commit and run link.
pub(crate) fn body(batch: &dyn Batch, ctx: &BodyContext<'_>) -> String {
    let head = format!(
        "{}\n### {}\n\n",
        marker(ctx.command, ctx.tag),
        status_headline(ctx.command, batch)
    );
    let mut footer = format!(
        "\n{FOOTER_MARK}\n---\n<sub>bqcheck {}",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(sha) = ctx.sha {
        let short: String = sha.chars().take(7).collect();
        footer.push_str(&format!(" · commit {short}"));
    }
    if let Some(url) = ctx.run_url {
        footer.push_str(&format!(" · [workflow run]({url})"));
    }
    footer.push_str("</sub>\n");
    // No run link here (the footer has it): the cut report must read the same on every run,
    // or an unchanged result would be re-posted each time.
    let overflow =
        "The full report is in the workflow run's job summary and reports (linked below).";
    let room = COMMENT_LIMIT
        .saturating_sub(head.chars().count() + footer.chars().count())
        .saturating_sub(16);
    let report = markdown::render_bounded(batch, room, overflow);
    format!("{head}{}{footer}", report.trim_end())
}

/// Do two bodies say the same, footer aside?
pub(crate) fn same_content(a: &str, b: &str) -> bool {
    let content = |s: &str| {
        s.split(FOOTER_MARK)
            .next()
            .unwrap_or(s)
            .trim_end()
            .to_string()
    };
    content(a) == content(b)
}

/// Where to comment.
pub(crate) struct Target<'a> {
    /// `$GITHUB_API_URL`.
    pub(crate) api_url: &'a str,
    pub(crate) token: &'a str,
    /// `owner/repo`.
    pub(crate) repository: &'a str,
    pub(crate) number: u64,
}

/// What was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Posted {
    Created(String),
    Updated(String),
    /// The comment already said this: no call was made.
    Unchanged(String),
}

impl Posted {
    pub(crate) fn url(&self) -> &str {
        match self {
            Posted::Created(u) | Posted::Updated(u) | Posted::Unchanged(u) => u,
        }
    }
}

/// The fields of an issue comment we use (GitHub sends many more).
#[derive(Debug, Deserialize)]
struct Comment {
    id: u64,
    html_url: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    user: Option<Login>,
}

#[derive(Debug, Deserialize)]
struct Login {
    login: String,
}

/// Who comments with the default `GITHUB_TOKEN` (an installation token, which cannot read
/// `GET /user`).
pub(crate) const ACTIONS_BOT: &str = "github-actions[bot]";

/// Is this comment ours to update? Written by the token's own identity, and starting with
/// our marker: anyone can write the marker into a comment of theirs (a planted "✅ no
/// differences"), and a quote of ours has it in the middle.
fn is_ours(c: &Comment, marker: &str, me: &str) -> bool {
    c.user
        .as_ref()
        .is_some_and(|u| u.login.eq_ignore_ascii_case(me))
        && c.body.as_deref().is_some_and(|b| b.starts_with(marker))
}

fn api_error(e: octocrab::Error) -> GithubError {
    match e {
        octocrab::Error::GitHub { source, .. } => GithubError::Api {
            status: source.status_code.as_u16(),
            message: source.message,
        },
        other => GithubError::Transport(other.to_string()),
    }
}

/// Find the comment carrying `marker` on the pull request (every page of comments), then update
/// it, or create one; no call when its content is already `body`.
pub(crate) async fn upsert(
    target: &Target<'_>,
    marker: &str,
    body: &str,
) -> Result<Posted, GithubError> {
    let octo = Octocrab::builder()
        .base_uri(target.api_url)
        .map_err(api_error)?
        .personal_token(target.token.to_string())
        // No automatic retries: a POST that timed out or got a 5xx may still have created
        // the comment, and a retry would post a duplicate. A failed call is a warning.
        .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
        .set_connect_timeout(Some(Duration::from_secs(10)))
        .set_read_timeout(Some(Duration::from_secs(30)))
        .build()
        .map_err(api_error)?;
    let route = format!(
        "/repos/{}/issues/{}/comments",
        target.repository, target.number
    );
    // The token's identity: a personal or app-user token can read GET /user; the default
    // GITHUB_TOKEN cannot, and comments as github-actions[bot].
    let me = match octo.get::<Login, _, ()>("/user", None).await {
        Ok(u) => u.login,
        Err(_) => ACTIONS_BOT.to_string(),
    };
    let mut page: Page<Comment> = octo
        .get(&route, Some(&[("per_page", "100")]))
        .await
        .map_err(api_error)?;
    let mut found = None;
    loop {
        if let Some(c) = page.items.into_iter().find(|c| is_ours(c, marker, &me)) {
            found = Some(c);
            break;
        }
        match octo
            .get_page::<Comment>(&page.next)
            .await
            .map_err(api_error)?
        {
            Some(next) => page = next,
            None => break,
        }
    }
    let payload = serde_json::json!({ "body": body });
    match found {
        Some(c) if c.body.as_deref().is_some_and(|b| same_content(b, body)) => {
            Ok(Posted::Unchanged(c.html_url))
        }
        Some(c) => {
            let route = format!("/repos/{}/issues/comments/{}", target.repository, c.id);
            let updated: Comment = octo.patch(route, Some(&payload)).await.map_err(api_error)?;
            Ok(Posted::Updated(updated.html_url))
        }
        None => {
            let created: Comment = octo.post(route, Some(&payload)).await.map_err(api_error)?;
            Ok(Posted::Created(created.html_url))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headlines() {
        let t = |total, different, failed, breaking| Totals {
            total,
            identical: total - different - failed,
            different,
            failed,
            breaking,
            ..Totals::default()
        };
        assert_eq!(
            headline_of("schema-diff", &t(3, 0, 0, 0), (vec![], "no differences"), 0),
            "✅ bqcheck schema-diff: no differences (3 checked)"
        );
        assert_eq!(
            headline_of(
                "schema-diff",
                &t(3, 2, 0, 1),
                (
                    vec!["1 breaking".into(), "2 different".into()],
                    "no differences"
                ),
                1
            ),
            "❌ bqcheck schema-diff: 1 breaking, 2 different (of 3)"
        );
        assert_eq!(
            headline_of(
                "table-compare",
                &t(3, 1, 1, 0),
                (vec!["1 different".into()], "no differences"),
                2
            ),
            "⚠️ bqcheck table-compare: 1 failed, 1 different (of 3)"
        );
    }

    #[test]
    fn only_our_own_comment_starting_with_the_marker_is_adopted() {
        let c = |login: &str, body: &str| Comment {
            id: 1,
            html_url: String::new(),
            body: Some(body.into()),
            user: Some(Login {
                login: login.into(),
            }),
        };
        let m = "<!-- bqcheck:schema-diff:default -->";
        assert!(is_ours(&c(ACTIONS_BOT, &format!("{m}\nx")), m, ACTIONS_BOT));
        assert!(!is_ours(&c("mallory", &format!("{m}\n✅")), m, ACTIONS_BOT));
        assert!(!is_ours(&c(ACTIONS_BOT, &format!("> {m}")), m, ACTIONS_BOT));
        assert!(is_ours(
            &c("Deploy-Bot", &format!("{m}\nx")),
            m,
            "deploy-bot"
        ));
        let anonymous = Comment {
            user: None,
            ..c(ACTIONS_BOT, m)
        };
        assert!(!is_ours(&anonymous, m, ACTIONS_BOT));
    }

    #[test]
    fn footer_changes_do_not_count() {
        let a = format!("x\n{FOOTER_MARK}\nrun 1");
        let b = format!("x\n{FOOTER_MARK}\nrun 2");
        assert!(same_content(&a, &b));
        assert!(!same_content(&a, &format!("y\n{FOOTER_MARK}\nrun 1")));
    }
}
