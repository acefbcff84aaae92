//! `flywheel import`: read a file, report every bad row by number, store the rest.

use std::io::IsTerminal as _;

use anyhow::{Context as _, anyhow};
use flywheel_insights::import::{self, Format, ImportOptions};
use indicatif::{ProgressBar, ProgressStyle};

use crate::app::{App, Failure};
use crate::cli::ImportArgs;
use crate::ingest::{IngestReport, ingest};
use flywheel_storage::audit::NewAuditEvent;

/// Rejected rows listed one by one before the rest are only counted.
const LISTED_REJECTIONS: usize = 20;

/// Runs `flywheel import`.
pub async fn run(app: &App, args: &ImportArgs) -> Result<(), Failure> {
    let path = args.file.display().to_string();
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {path}"))?;
    let format = match &args.format {
        Some(f) => f
            .parse::<Format>()
            .map_err(|e| Failure::Usage(format!("--format: {e}")))?,
        None => Format::detect(Some(&path), &bytes).map_err(|e| anyhow!("{path}: {e}"))?,
    };
    let mappings = args
        .mappings
        .iter()
        .map(|m| import::parse_mapping(m).map_err(|e| Failure::Usage(format!("--map {m:?}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let options = ImportOptions {
        format,
        source: args.source.clone(),
        mappings,
        max_field_chars: import::DEFAULT_MAX_FIELD_CHARS,
        today: app.today(),
    };
    let parsed = import::read(&bytes, &options).map_err(|e| anyhow!("{path}: {e}"))?;
    let total_rows = parsed.rows.len();
    let mut good = Vec::with_capacity(total_rows);
    let mut rejected = Vec::new();
    for row in parsed.rows {
        match row.result {
            Ok(data) => good.push(data),
            Err(e) => rejected.push(format!("row {}: {e}", row.number)),
        }
    }
    for line in rejected.iter().take(LISTED_REJECTIONS) {
        eprintln!("rejected {line}");
    }
    if rejected.len() > LISTED_REJECTIONS {
        eprintln!(
            "… and {} more rejected rows",
            rejected.len() - LISTED_REJECTIONS
        );
    }
    if !parsed.ignored_columns.is_empty() {
        eprintln!("ignored columns: {}", parsed.ignored_columns.join(", "));
    }
    if args.strict && !rejected.is_empty() {
        return Err(anyhow!(
            "{path}: {} of {total_rows} rows rejected; --strict: nothing was written",
            rejected.len()
        )
        .into());
    }

    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(good.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} rows {elapsed}")
                .expect("valid progress template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let report = ingest(app, good, |n| bar.set_position(n as u64)).await?;
    bar.finish_and_clear();
    if report.inserted + report.updated > 0 {
        let event = NewAuditEvent {
            at: app.clock.now(),
            actor: format!(
                "cli:{}",
                std::env::var("USER").unwrap_or_else(|_| "unknown".into())
            ),
            channel: None,
            action: "insights.imported".into(),
            subject: Some(format!("file:{path}")),
            details: serde_json::json!({
                "inserted": report.inserted,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": rejected.len(),
            }),
        };
        if let Err(e) = app.store.audit(&event).await {
            tracing::error!("cannot write the audit log: {e}");
        }
    }

    print!(
        "{}",
        summary(
            &path,
            &parsed.recognised.to_string(),
            format,
            total_rows,
            rejected.len(),
            &report
        )
    );
    Ok(())
}

/// The lines printed after an import.
pub fn summary(
    path: &str,
    recognised: &str,
    format: Format,
    rows: usize,
    rejected: usize,
    report: &IngestReport,
) -> String {
    let mut out = format!("Imported {path} ({recognised}, {format}): {rows} rows\n");
    out.push_str(&format!("  inserted  {:>7}\n", report.inserted));
    out.push_str(&format!("  updated   {:>7}\n", report.updated));
    out.push_str(&format!("  unchanged {:>7}\n", report.unchanged));
    out.push_str(&format!("  rejected  {:>7}\n", rejected));
    if report.redactions.total() > 0 {
        out.push_str(&format!("Redacted before storing: {}\n", report.redactions));
    }
    out
}
