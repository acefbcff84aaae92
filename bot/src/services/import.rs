//! Importing a file. [`import_file`] streams a file of any size from disk: a blocking thread
//! reads, redacts and prepares rows and hands them in batches, through a short queue, to the
//! store, one transaction (and one search index commit) per batch, so memory stays flat. Reading
//! overlaps writing, and writing a batch overlaps indexing the one before. With `strict`, the file is read through once more first and
//! nothing is written if any row is bad.
//!
//! For a file already in memory, [`prepare`] reads every row and says which are bad and why,
//! then [`store`] writes the good ones through [`ingest`](mod@super::ingest), audited.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use flywheel_insights::import::{
    self, FileError, Format, ImportOptions, Mapping, Reader, Recognised,
};
use flywheel_insights::index::{PreparedInsight, prepare as prepare_insight};
use flywheel_insights::model::InsightData;
use flywheel_insights::redact::RedactionCounts;
use flywheel_storage::Indexing;
use flywheel_storage::audit::NewAuditEvent;
use tokio::sync::mpsc;

use crate::app::App;
use crate::services::ingest::{self, IngestReport, ingest};

/// Rejected rows kept word for word in [`AboutFile::rejected`]; the rest are only counted.
pub const KEPT_REJECTIONS: usize = 1_000;

/// Rows of a file written per transaction (and per search index commit).
pub const IMPORT_BATCH: usize = 2_000;

/// Text (titles and bodies) per batch at most, whatever the row count: a prepared row holds
/// its stems and the index its tokens, several times the text, so batches of long rows are
/// cut short to keep memory flat.
pub const IMPORT_BATCH_BYTES: usize = 4 * 1024 * 1024;

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
    /// Bad rows: `row N: why`, the first [`KEPT_REJECTIONS`] of them.
    pub rejected: Vec<String>,
    /// How many rows were bad in all.
    pub rejected_rows: usize,
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
    /// `strict` was asked for and some rows are bad: nothing was written.
    #[error("{name}: {rejected} of {total} rows rejected; --strict: nothing was written")]
    Refused {
        /// The file.
        name: String,
        /// Bad rows.
        rejected: usize,
        /// Rows in the file.
        total: usize,
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
            rejected_rows: rejected.len(),
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
    audit_import(
        app,
        &report,
        &format!("file:{}", about.name),
        about.rejected_rows,
        actor,
    )
    .await;
    Ok(Imported { about, report })
}

/// Records an import (from `subject`: `file:NAME`, or `api`) in the audit log when it changed
/// anything.
pub(crate) async fn audit_import(
    app: &App,
    report: &IngestReport,
    subject: &str,
    rejected: usize,
    actor: &str,
) {
    if report.inserted + report.updated > 0 {
        let event = NewAuditEvent {
            at: app.clock.now(),
            actor: actor.to_string(),
            channel: None,
            action: "insights.imported".into(),
            subject: Some(subject.to_string()),
            details: serde_json::json!({
                "inserted": report.inserted,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": rejected,
            }),
        };
        if let Err(e) = app.store.audit(&event).await {
            tracing::error!("cannot write the audit log: {e}");
        }
    }
}

/// What [`import_file`] tells its caller as it goes.
pub trait ImportWatcher {
    /// The file was read through once and accepted; rows are coming.
    fn opened(&mut self, _about: &AboutFile) {}
    /// A bad row: `row N: why`.
    fn rejected(&mut self, _line: &str) {}
    /// Rows dealt with so far (written or rejected), out of [`AboutFile::total_rows`].
    fn progress(&mut self, _rows: usize) {}
}

/// A watcher that wants to hear nothing.
impl ImportWatcher for () {}

/// What the reading thread sends the writer.
enum Step {
    Opened {
        format: Format,
        total_rows: usize,
        recognised: Recognised,
        ignored_columns: Vec<String>,
    },
    Rejected(String),
    Batch {
        rows: Vec<PreparedInsight>,
        redactions: RedactionCounts,
    },
    /// Strict, and this many rows are bad.
    Refused(usize),
}

/// Imports the file at `path`, streaming it: it is read through once to refuse it early (a
/// [`FileError`] writes nothing), once more when `strict` to refuse it if any row is bad, then
/// read again while its good rows are written in batches of [`IMPORT_BATCH`] rows (fewer when
/// they hold over [`IMPORT_BATCH_BYTES`] of text), each one transaction. Memory does not grow with the file. The import is recorded in the audit log as
/// done by `actor` when it changed anything.
///
/// [`IngestReport::outcomes`] stays empty: a file may hold millions of rows.
pub async fn import_file(
    app: &App,
    path: &Path,
    request: &ImportRequest,
    strict: bool,
    actor: &str,
    watcher: &mut dyn ImportWatcher,
) -> anyhow::Result<Imported> {
    let name = path.display().to_string();
    // One batch waiting while one is written and the next is read: enough to overlap them.
    let (sender, mut steps) = mpsc::channel::<Step>(1);
    let reading = tokio::task::spawn_blocking({
        let path = path.to_path_buf();
        let name = name.clone();
        let request = request.clone();
        let config = app.config.clone();
        let today = app.today();
        move || read_file(path, &name, &request, strict, &config, today, sender)
    });

    let mut about = AboutFile {
        name: name.clone(),
        format: Format::Csv,
        recognised: Recognised::Generic,
        total_rows: 0,
        rejected: Vec::new(),
        rejected_rows: 0,
        ignored_columns: Vec::new(),
    };
    let mut report = IngestReport::default();
    let mut refused = None;
    let now = app.clock.now();
    let mut written = Ok(());
    let mut indexing: Option<Indexing> = None;
    while let Some(step) = steps.recv().await {
        match step {
            Step::Opened {
                format,
                total_rows,
                recognised,
                ignored_columns,
            } => {
                about.format = format;
                about.total_rows = total_rows;
                about.recognised = recognised;
                about.ignored_columns = ignored_columns;
                watcher.opened(&about);
            }
            Step::Rejected(line) => {
                watcher.rejected(&line);
                about.rejected_rows += 1;
                if about.rejected.len() < KEPT_REJECTIONS {
                    about.rejected.push(line);
                }
                if refused.is_none() {
                    watcher.progress(report.total() + about.rejected_rows);
                }
            }
            Step::Batch { rows, redactions } => {
                report.redactions += redactions;
                // This batch is written while the last one is indexed; the index takes them in
                // order.
                let step =
                    match ingest::store_batch_indexing_after(app, rows, now, &mut report).await {
                        Ok(next) => match indexing.replace(next) {
                            Some(last) => last.finish().await.map_err(anyhow::Error::from),
                            None => Ok(()),
                        },
                        Err(e) => Err(e),
                    };
                if let Err(e) = step {
                    // Dropping the queue stops the reader.
                    written = Err(e);
                    break;
                }
                watcher.progress(report.total() + about.rejected_rows);
            }
            Step::Refused(rejected) => refused = Some(rejected),
        }
    }
    drop(steps);
    if let Some(last) = indexing.take() {
        let finished = last.finish().await;
        if written.is_ok() {
            written = finished.map_err(anyhow::Error::from);
        }
    }
    // Whatever was written is committed to the index now, even when the import stopped.
    let committed = app.store.commit_indexing().await;
    if written.is_ok() {
        written = committed.map_err(anyhow::Error::from);
    }
    let read = reading.await.map_err(|e| ImportError::Stopped {
        name: name.clone(),
        reason: e.to_string(),
    })?;
    written?;
    read?;
    if let Some(rejected) = refused {
        return Err(ImportError::Refused {
            name,
            rejected,
            total: about.total_rows,
        }
        .into());
    }
    audit_import(
        app,
        &report,
        &format!("file:{}", about.name),
        about.rejected_rows,
        actor,
    )
    .await;
    Ok(Imported { about, report })
}

/// The reading side of [`import_file`], on a blocking thread.
fn read_file(
    path: PathBuf,
    name: &str,
    request: &ImportRequest,
    strict: bool,
    config: &flywheel_config::Config,
    today: chrono::NaiveDate,
    sender: mpsc::Sender<Step>,
) -> Result<(), ImportError> {
    let file_error = |error| ImportError::File {
        name: name.to_string(),
        error,
    };
    let format = match request.format {
        Some(format) => format,
        None => Format::detect_source(Some(name), &path).map_err(file_error)?,
    };
    let options = ImportOptions {
        format,
        source: request.source.clone(),
        mappings: request.mappings.clone(),
        max_field_chars: import::DEFAULT_MAX_FIELD_CHARS,
        today,
    };
    let reader = Reader::open(&path, &options).map_err(file_error)?;
    // A closed queue means the writer gave up: stop reading.
    let send = |step| sender.blocking_send(step).is_ok();
    if !send(Step::Opened {
        format,
        total_rows: reader.total_rows(),
        recognised: reader.recognised(),
        ignored_columns: reader.ignored_columns(),
    }) {
        return Ok(());
    }
    if strict {
        let mut bad = 0;
        let finished = reader
            .rows(|row| match row.result {
                Ok(_) => ControlFlow::Continue(()),
                Err(e) => {
                    bad += 1;
                    if send(Step::Rejected(format!("row {}: {e}", row.number))) {
                        ControlFlow::Continue(())
                    } else {
                        ControlFlow::Break(())
                    }
                }
            })
            .map_err(file_error)?;
        if bad > 0 || !finished {
            send(Step::Refused(bad));
            return Ok(());
        }
    }
    let redactor = ingest::redactor_of(config);
    let mut rows = Vec::with_capacity(IMPORT_BATCH);
    let mut bytes = 0;
    let mut redactions = RedactionCounts::default();
    let mut open = true;
    reader
        .rows(|row| {
            match row.result {
                Ok(mut data) => {
                    redactions += redactor.redact_insight(&mut data);
                    bytes += data.title.len() + data.body.len();
                    rows.push(prepare_insight(data, &config.themes, today));
                }
                Err(e) => open = send(Step::Rejected(format!("row {}: {e}", row.number))),
            }
            if open && (rows.len() >= IMPORT_BATCH || bytes >= IMPORT_BATCH_BYTES) {
                bytes = 0;
                open = send(Step::Batch {
                    rows: std::mem::replace(&mut rows, Vec::with_capacity(IMPORT_BATCH)),
                    redactions: std::mem::take(&mut redactions),
                });
            }
            if open {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        })
        .map_err(file_error)?;
    if open && !rows.is_empty() {
        send(Step::Batch { rows, redactions });
    }
    Ok(())
}
