//! The audit log's export (`flywheel audit export`): every event as CSV or JSON, streamed page
//! by page so a large log never sits in memory.
//!
//! Every state change is in it: insights added, flags, decisions logged and reviewed, review
//! reminders, digests sent or failed, refused permissions. Events name insights by id
//! (`insight:12`) and never carry their text, so an export shows nothing of an insight that a
//! team may not see.

use std::io::Write;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use flywheel_storage::audit::AuditEvent;

use crate::app::App;

/// Events read from the store at a time.
const PAGE: usize = 1_000;

/// How the audit log is written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values: a header row, then one row per event, details as JSON.
    Csv,
    /// A JSON array of events.
    Json,
}

/// Writes every event at or after `since` to `out` in `format`; how many were written.
pub async fn export(
    app: &App,
    since: Option<DateTime<Utc>>,
    format: ExportFormat,
    out: &mut impl Write,
) -> anyhow::Result<u64> {
    let mut written = 0_u64;
    let mut after = 0;
    match format {
        ExportFormat::Csv => writeln!(out, "id,at,actor,channel,action,subject,details")?,
        ExportFormat::Json => write!(out, "[")?,
    }
    loop {
        let page = app
            .store
            .audit_page(since, after, PAGE)
            .await
            .context("cannot read the audit log")?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for event in &page {
            match format {
                ExportFormat::Csv => writeln!(out, "{}", csv_row(event))?,
                ExportFormat::Json => {
                    let separator = if written == 0 { "\n" } else { ",\n" };
                    write!(out, "{separator}{}", serde_json::to_string(event)?)?;
                }
            }
            written += 1;
        }
    }
    if format == ExportFormat::Json {
        writeln!(out, "{}]", if written == 0 { "" } else { "\n" })?;
    }
    Ok(written)
}

fn csv_row(event: &AuditEvent) -> String {
    [
        event.id.to_string(),
        event
            .at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        event.actor.clone(),
        event.channel.clone().unwrap_or_default(),
        event.action.clone(),
        event.subject.clone().unwrap_or_default(),
        if event.details.is_null() {
            String::new()
        } else {
            event.details.to_string()
        },
    ]
    .iter()
    .map(|cell| csv_cell(cell))
    .collect::<Vec<_>>()
    .join(",")
}

/// One CSV cell (RFC 4180), safe to open in a spreadsheet: text that a spreadsheet would run
/// as a formula (`=`, `+`, `-`, `@`, tab or carriage return first) is prefixed with `'`.
fn csv_cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("{\"a\":1}"), "\"{\"\"a\"\":1}\"");
    }
}
