//! `flywheel import`: stream a file into the store, report every bad row by number, store the
//! rest, with a progress bar (rows per second) on a terminal.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use clap::Args;
use flywheel_insights::import::{self, Format};
use indicatif::{ProgressBar, ProgressStyle};

use super::Failure;
use crate::app::App;
use crate::services::import::{AboutFile, ImportError, ImportRequest, ImportWatcher, import_file};
use crate::services::ingest::IngestReport;

/// Rejected rows listed one by one before the rest are only counted.
const LISTED_REJECTIONS: usize = 20;

pub(super) const EXAMPLES: &str = "\
Examples:
  flywheel import complaints.csv
  flywheel import tickets.ndjson --source zendesk
  flywheel import export.csv --map 'Ticket ID=source_ref' --map 'Customer words=body'
  flywheel import interviews.json --strict

Fields for --map: title, body, source_ref, observed_on, tags, segment, stage, kind, sentiment,
severity, account, url, teams, source. Re-importing a file updates changed rows and reports the
rest as unchanged.";

/// Arguments of `flywheel import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import.
    pub file: PathBuf,
    /// The file's format; by default taken from its extension or content.
    #[arg(long, value_name = "csv|json|ndjson")]
    pub format: Option<String>,
    /// The source name stored with each insight (default: recognised from the file, else
    /// "import").
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Map a column or key to a field: --map 'Ticket ID=source_ref'. Repeatable.
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub mappings: Vec<String>,
    /// Refuse the whole file, writing nothing, if any row is bad.
    #[arg(long)]
    pub strict: bool,
}

/// Runs `flywheel import`.
pub async fn run(app: &App, args: &ImportArgs) -> Result<(), Failure> {
    let path = args.file.display().to_string();
    let request = ImportRequest {
        format: args
            .format
            .as_deref()
            .map(|f| {
                f.parse::<Format>()
                    .map_err(|e| Failure::Usage(format!("--format: {e}")))
            })
            .transpose()?,
        source: args.source.clone(),
        mappings: args
            .mappings
            .iter()
            .map(|m| {
                import::parse_mapping(m).map_err(|e| Failure::Usage(format!("--map {m:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    // Refuse a missing file by name before any work starts.
    std::fs::metadata(&args.file).with_context(|| format!("cannot read {path}"))?;
    let actor = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    );
    let mut shown = Shown::new();
    let imported = import_file(app, &args.file, &request, args.strict, &actor, &mut shown).await;
    shown.bar.finish_and_clear();
    if shown.rejected > LISTED_REJECTIONS {
        eprintln!(
            "… and {} more rejected rows",
            shown.rejected - LISTED_REJECTIONS
        );
    }
    let imported = imported.map_err(|e| match e.downcast::<ImportError>() {
        Ok(e) => anyhow!(e),
        Err(e) => e,
    })?;
    print!("{}", summary(&imported.about, &imported.report));
    Ok(())
}

/// What the terminal shows while a file is imported: bad rows as they are found, then a
/// progress bar with rows per second.
struct Shown {
    bar: ProgressBar,
    rejected: usize,
}

impl Shown {
    fn new() -> Shown {
        Shown {
            bar: ProgressBar::hidden(),
            rejected: 0,
        }
    }
}

impl ImportWatcher for Shown {
    fn opened(&mut self, about: &AboutFile) {
        if !about.ignored_columns.is_empty() {
            eprintln!("ignored columns: {}", about.ignored_columns.join(", "));
        }
        if std::io::stderr().is_terminal() {
            self.bar = ProgressBar::new(about.total_rows as u64);
            self.bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {human_pos}/{human_len} rows  {per_sec:.bold}  {elapsed}",
                )
                .expect("valid progress template"),
            );
        }
    }

    fn rejected(&mut self, line: &str) {
        self.rejected += 1;
        if self.rejected <= LISTED_REJECTIONS {
            self.bar.suspend(|| eprintln!("rejected {line}"));
        }
    }

    fn progress(&mut self, rows: usize) {
        self.bar.set_position(rows as u64);
    }
}

/// The lines printed after an import.
pub fn summary(about: &AboutFile, report: &IngestReport) -> String {
    let mut out = format!(
        "Imported {} ({}, {}): {} rows\n",
        about.name, about.recognised, about.format, about.total_rows
    );
    out.push_str(&format!("  inserted  {:>7}\n", report.inserted));
    out.push_str(&format!("  updated   {:>7}\n", report.updated));
    out.push_str(&format!("  unchanged {:>7}\n", report.unchanged));
    out.push_str(&format!("  rejected  {:>7}\n", about.rejected_rows));
    if report.redactions.total() > 0 {
        out.push_str(&format!("Redacted before storing: {}\n", report.redactions));
    }
    out
}
