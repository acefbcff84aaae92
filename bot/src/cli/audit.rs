//! `flywheel audit export`: the audit log on standard output, as CSV or JSON.

use std::io::Write as _;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};

use super::Failure;
use crate::app::App;
use crate::services::audit::{self, ExportFormat};

/// `flywheel audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write the audit log to standard output, oldest first.
    #[command(after_help = EXAMPLES)]
    Export(AuditExportArgs),
}

const EXAMPLES: &str = "\
Examples:
  flywheel audit export > audit.json
  flywheel audit export --since 2026-03-01 --format csv > audit.csv
  flywheel audit export --since 2026-03-01T09:00:00Z | jq '.[] | select(.action == \"decision.logged\")'

Actions: insights.imported, insight.added, insight.updated, insight.flagged, insight.useful,
decision.logged, decision.reviewed, decision.reminded, digest.sent, digest.failed,
watch.created, watch.ended, alert.sent, alert.failed, permission.refused.";

/// Arguments of `flywheel audit export`.
#[derive(Debug, Args)]
pub struct AuditExportArgs {
    /// Only events at or after this date (midnight UTC) or RFC 3339 instant.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// csv (a header row, then one row per event; details as JSON) or json (an array).
    #[arg(long, value_enum, default_value_t = FormatArg::Json)]
    pub format: FormatArg,
}

/// The formats of `flywheel audit export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Comma-separated values.
    Csv,
    /// A JSON array of events.
    Json,
}

impl From<FormatArg> for ExportFormat {
    fn from(format: FormatArg) -> ExportFormat {
        match format {
            FormatArg::Csv => ExportFormat::Csv,
            FormatArg::Json => ExportFormat::Json,
        }
    }
}

/// Runs `flywheel audit export`, writing to standard output.
pub async fn run_export(app: &App, args: &AuditExportArgs) -> Result<(), Failure> {
    let since = match args.since.as_deref().map(parse_since).transpose() {
        Ok(since) => since,
        Err(message) => return Err(Failure::Usage(message)),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = audit::export(app, since, args.format.into(), &mut out).await?;
    out.flush().context("cannot write the export")?;
    eprintln!("{written} audit event(s) exported");
    Ok(())
}

/// `--since`: a date (midnight UTC) or an RFC 3339 instant.
fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!(
                "--since {text:?} is not a date: use 2026-03-01 (midnight UTC) or \
                 2026-03-01T09:00:00Z"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_date_or_an_instant() {
        assert_eq!(
            parse_since("2026-03-01").unwrap().to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_since("2026-03-01T09:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2026-03-01T07:00:00+00:00"
        );
        assert!(parse_since("last week").unwrap_err().contains("not a date"));
    }
}
