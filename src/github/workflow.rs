//! Workflow commands and files of a GitHub Actions step: annotations, log groups, step outputs
//! (`$GITHUB_OUTPUT`) and the job summary (`$GITHUB_STEP_SUMMARY`).
//!
//! Escaping follows GitHub's toolkit (`@actions/core` `command.ts`): in a message `%`, CR and LF
//! are percent-encoded; in a property (`title=`) also `:` and `,`.

use std::io::Write;
use std::path::Path;

use super::GithubError;
use crate::report::{Annotation, Level};

/// GitHub shows at most this many annotations of each type per step.
pub(crate) const MAX_ANNOTATIONS: usize = 10;

/// GitHub refuses a step summary above 1 MiB.
pub(crate) const SUMMARY_LIMIT: usize = 1024 * 1024;

/// Escape a workflow command's message.
/// `::stop-commands::TOKEN` … `::TOKEN::`: while it is open the runner processes no workflow
/// command, so printed data cannot add masks, annotations or stop the log. The token is random
/// (128 bits), so no data can close the fence early.
pub(crate) struct StopCommands {
    token: String,
}

impl Default for StopCommands {
    fn default() -> Self {
        Self::new()
    }
}

impl StopCommands {
    pub(crate) fn new() -> StopCommands {
        let bytes: [u8; 16] = rand::random();
        StopCommands {
            token: bytes.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    pub(crate) fn start(&self) -> String {
        format!("::stop-commands::{}", self.token)
    }

    pub(crate) fn end(&self) -> String {
        format!("::{}::", self.token)
    }
}

pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a workflow command's property value.
pub(crate) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command_name(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Notice => "notice",
    }
}

/// `::error title=…::message`.
pub(crate) fn annotation_line(a: &Annotation) -> String {
    format!(
        "::{} title={}::{}",
        command_name(a.level),
        escape_property(&a.title),
        escape_data(&a.message)
    )
}

/// The lines to print for `all`: the `max` most severe (errors before warnings before
/// notices; within a level, failures before breaking changes before differences; otherwise in
/// input order), then one notice saying how many were left out.
pub(crate) fn annotation_lines(mut all: Vec<Annotation>, max: usize) -> Vec<String> {
    all.sort_by_key(|a| (a.level, a.rank));
    let left_out = all.len().saturating_sub(max);
    let mut lines: Vec<String> = all.iter().take(max).map(annotation_line).collect();
    if left_out > 0 {
        lines.push(format!(
            "::notice title={}::{}",
            escape_property("bqcheck: more findings"),
            escape_data(&format!(
                "and {left_out} more not annotated here: see the job summary or the reports"
            ))
        ));
    }
    lines
}

/// `::group::title`, to fold a long log section.
pub(crate) fn group_start(title: &str) -> String {
    format!("::group::{}", escape_data(title))
}

pub(crate) const GROUP_END: &str = "::endgroup::";

/// `::warning::message`, or `::error::message`.
pub(crate) fn message_line(level: Level, message: &str) -> String {
    format!("::{}::{}", command_name(level), escape_data(message))
}

/// Append `name=value` pairs to the `$GITHUB_OUTPUT` file, in the multi-line form
/// (`name<<DELIMITER`), with a random delimiter that no value contains.
pub(crate) fn write_outputs(path: &Path, outputs: &[(&str, String)]) -> Result<(), GithubError> {
    let mut text = String::new();
    for (name, value) in outputs {
        let delimiter = loop {
            let d = format!("ghadelimiter_{:016x}", rand::random::<u64>());
            if !value.contains(&d) {
                break d;
            }
        };
        text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
    }
    append(path, &text)
}

/// Append `markdown` to the job summary, cut (with a note) so the file stays under GitHub's
/// 1 MiB limit.
pub(crate) fn append_summary(path: &Path, markdown: &str) -> Result<(), GithubError> {
    let existing = std::fs::metadata(path)
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    let room = SUMMARY_LIMIT.saturating_sub(existing);
    append(path, &fit_summary(markdown, room))
}

/// `markdown` if it fits in `room` bytes, else its head cut at a line boundary plus a note.
pub(crate) fn fit_summary(markdown: &str, room: usize) -> String {
    const NOTE: &str =
        "\n\n> **Summary truncated** at GitHub's 1 MiB limit: the full report is in the reports.\n";
    if markdown.len() < room {
        return format!("{markdown}\n");
    }
    let budget = room.saturating_sub(NOTE.len());
    let mut cut = budget.min(markdown.len());
    while cut > 0 && !markdown.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &markdown[..cut];
    let head = head.rfind('\n').map_or(head, |i| &head[..i]);
    format!("{head}{NOTE}")
}

fn append(path: &Path, text: &str) -> Result<(), GithubError> {
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        f.write_all(text.as_bytes())?;
        f.flush()
    };
    write().map_err(|source| GithubError::File {
        path: path.display().to_string(),
        source,
    })
}

/// Read a `$GITHUB_OUTPUT` file as the runner does (`name=value` lines and `name<<DELIM`
/// blocks): for tests and for tools that check a step's outputs.
pub fn read_outputs(text: &str) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(level: Level, rank: u8, title: &str) -> Annotation {
        Annotation {
            level,
            rank,
            title: title.into(),
            message: "m".into(),
        }
    }

    #[test]
    fn escapes_follow_the_toolkit() {
        assert_eq!(escape_data("50% a\r\nb"), "50%25 a%0D%0Ab");
        assert_eq!(escape_property("a: b, c%"), "a%3A b%2C c%25");
        let line = annotation_line(&Annotation {
            level: Level::Error,
            rank: 1,
            title: "1 breaking schema change: p.dev.t ↔ p.prod.t".into(),
            message: "- email: removed\n~ id: INT64 → STRING".into(),
        });
        assert_eq!(
            line,
            "::error title=1 breaking schema change%3A p.dev.t ↔ p.prod.t::- email: removed%0A~ id: INT64 → STRING"
        );
    }

    #[test]
    fn the_most_severe_ten_then_a_count() {
        let mut all = Vec::new();
        for i in 0..8 {
            all.push(ann(Level::Notice, 3, &format!("notice {i}")));
        }
        for i in 0..5 {
            all.push(ann(Level::Warning, 3, &format!("warning {i}")));
        }
        all.push(ann(Level::Error, 2, "differs"));
        all.push(ann(Level::Error, 0, "failed"));
        all.push(ann(Level::Error, 1, "breaking"));
        let lines = annotation_lines(all, MAX_ANNOTATIONS);
        assert_eq!(lines.len(), 11);
        assert!(lines[0].starts_with("::error title=failed::"), "{lines:?}");
        assert!(lines[1].starts_with("::error title=breaking::"));
        assert!(lines[2].starts_with("::error title=differs::"));
        assert!(lines[3].starts_with("::warning title=warning 0::"));
        assert!(lines[8].starts_with("::notice title=notice 0::"));
        assert!(lines[9].starts_with("::notice title=notice 1::"));
        assert!(lines[10].contains("and 6 more"), "{}", lines[10]);
        assert_eq!(
            annotation_lines(vec![ann(Level::Error, 0, "x")], 10).len(),
            1
        );
    }

    #[test]
    fn outputs_use_a_delimiter_no_value_contains() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, "earlier=1\n").unwrap();
        write_outputs(
            &path,
            &[
                ("total", "3".into()),
                ("multi", "line 1\nline 2\nghadelimiter_x".into()),
            ],
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("earlier=1\n"), "appends: {text}");
        let parsed = read_outputs(&text);
        assert_eq!(parsed.get("total").map(String::as_str), Some("3"));
        assert_eq!(
            parsed.get("multi").map(String::as_str),
            Some("line 1\nline 2\nghadelimiter_x")
        );
    }

    #[test]
    fn summary_stays_under_the_limit() {
        let md = "| row |\n".repeat(1000);
        assert_eq!(fit_summary(&md, 1 << 20), format!("{md}\n"));
        let cut = fit_summary(&md, 2000);
        assert!(cut.len() <= 2000, "{}", cut.len());
        assert!(cut.contains("Summary truncated"));
        assert!(cut.starts_with("| row |\n| row |"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        std::fs::write(&path, "x".repeat(SUMMARY_LIMIT - 100)).unwrap();
        append_summary(&path, &md).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() as usize <= SUMMARY_LIMIT);
    }
}
