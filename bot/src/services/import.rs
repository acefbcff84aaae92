//! Importing a file: read every row and say which are bad and why ([`prepare`]), then store the
//! good ones through [`ingest`](super::ingest), audited ([`store`]). Two steps, so that whoever
//! imports can show the bad rows, or refuse the whole file, before anything is written.

use flywheel_insights::import::{self, FileError, Format, ImportOptions, Mapping, Recognised};
use flywheel_insights::model::InsightData;
use flywheel_storage::audit::NewAuditEvent;

use crate::app::App;
use crate::services::ingest::{IngestReport, ingest};

/// How to read a file; everything unset is recognised from the file itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportRequest {
    /// The file's format (default: from its name, else its content).
    pub format: Option<Format>,
    /// The source stored with each insight (default: recognised from the file, else "import").
    pub source: Option<String>,
    /// Columns (or keys) mapped to fields by hand.
    pub mappings: Vec<Mapping>,
}

/// A file read into rows, nothing stored yet.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What was found in the file.
    pub about: AboutFile,
    /// The good rows, in file order.
    pub rows: Vec<InsightData>,
}

/// What reading a file found, good rows aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AboutFile {
    /// What the file is called, in messages and the audit log.
    pub name: String,
    /// The format it was read as.
    pub format: Format,
    /// How its columns were recognised.
    pub recognised: Recognised,
    /// Rows in the file, good and bad.
    pub total_rows: usize,
    /// Each bad row: `row N: why`.
    pub rejected: Vec<String>,
    /// Columns (or keys) that fed no field.
    pub ignored_columns: Vec<String>,
}

/// A file that cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not what it claims to be, or not a table: nothing in it is imported.
    #[error("{name}: {error}")]
    File {
        /// The file.
        name: String,
        /// What is wrong with it.
        error: FileError,
    },
    /// Reading it stopped unexpectedly.
    #[error("{name}: reading stopped: {reason}")]
    Stopped {
        /// The file.
        name: String,
        /// Why.
        reason: String,
    },
}

/// Reads the file `name` (its `bytes`) into rows. Parsing runs off the async runtime's threads:
/// a large file takes a while.
pub async fn prepare(
    app: &App,
    name: &str,
    bytes: Vec<u8>,
    request: &ImportRequest,
) -> Result<Prepared, ImportError> {
    let file_error = |error| ImportError::File {
        name: name.to_string(),
        error,
    };
    let format = match request.format {
        Some(format) => format,
        None => Format::detect(Some(name), &bytes).map_err(file_error)?,
    };
    let options = ImportOptions {
        format,
        source: request.source.clone(),
        mappings: request.mappings.clone(),
        max_field_chars: import::DEFAULT_MAX_FIELD_CHARS,
        today: app.today(),
    };
    let parsed = tokio::task::spawn_blocking(move || import::read(&bytes, &options))
        .await
        .map_err(|e| ImportError::Stopped {
            name: name.to_string(),
            reason: e.to_string(),
        })?
        .map_err(file_error)?;
    let total_rows = parsed.rows.len();
    let mut rows = Vec::with_capacity(total_rows);
    let mut rejected = Vec::new();
    for row in parsed.rows {
        match row.result {
            Ok(data) => rows.push(data),
            Err(e) => rejected.push(format!("row {}: {e}", row.number)),
        }
    }
    Ok(Prepared {
        about: AboutFile {
            name: name.to_string(),
            format,
            recognised: parsed.recognised,
            total_rows,
            rejected,
            ignored_columns: parsed.ignored_columns,
        },
        rows,
    })
}

/// A file imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// What was found in it.
    pub about: AboutFile,
    /// What storing its good rows did.
    pub report: IngestReport,
}

/// Stores the good rows of `prepared`, calling `progress` with the rows written so far, and
/// records the import in the audit log as done by `actor` when it changed anything.
pub async fn store(
    app: &App,
    prepared: Prepared,
    actor: &str,
    progress: impl FnMut(usize),
) -> anyhow::Result<Imported> {
    let Prepared { about, rows } = prepared;
    let report = ingest(app, rows, progress).await?;
    if report.inserted + report.updated > 0 {
        let event = NewAuditEvent {
            at: app.clock.now(),
            actor: actor.to_string(),
            channel: None,
            action: "insights.imported".into(),
            subject: Some(format!("file:{}", about.name)),
            details: serde_json::json!({
                "inserted": report.inserted,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": about.rejected.len(),
            }),
        };
        if let Err(e) = app.store.audit(&event).await {
            tracing::error!("cannot write the audit log: {e}");
        }
    }
    Ok(Imported { about, report })
}
