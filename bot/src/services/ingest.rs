//! The one way insights enter the store, whatever brought them (a file, the HTTP API or chat):
//! redact personal data, assign themes, then upsert in batched transactions.

use chrono::{DateTime, Utc};
use flywheel_insights::index::{PreparedInsight, prepare};
use flywheel_insights::model::{InsightData, InsightId};
use flywheel_insights::redact::{RedactionCounts, Redactor};
use flywheel_storage::{Indexing, UpsertOutcome};

use crate::app::App;

/// Rows written per transaction.
pub const BATCH: usize = 2_000;

/// What an ingestion did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// New insights.
    pub inserted: usize,
    /// Insights whose content changed.
    pub updated: usize,
    /// Insights already stored exactly so.
    pub unchanged: usize,
    /// What happened to every row, with its id, in input order (left empty by a streamed file
    /// import, which may hold millions of rows).
    pub outcomes: Vec<UpsertOutcome>,
    /// What redaction removed.
    pub redactions: RedactionCounts,
}

impl IngestReport {
    /// Rows stored so far: inserted, updated or unchanged.
    pub fn total(&self) -> usize {
        self.inserted + self.updated + self.unchanged
    }

    /// The id of the first row, if any was kept.
    pub fn first_id(&self) -> Option<InsightId> {
        self.outcomes.first().map(|o| o.id())
    }
}

/// The redactor the configuration asks for.
pub fn redactor(app: &App) -> Redactor {
    redactor_of(&app.config)
}

/// The redactor `config` asks for.
pub fn redactor_of(config: &flywheel_config::Config) -> Redactor {
    let p = &config.privacy;
    Redactor {
        emails: p.emails,
        phones: p.phones,
        cards: p.cards,
        ibans: p.ibans,
        digit_runs: p.digit_runs,
    }
}

/// Redacts, prepares and stores `rows`, calling `progress` with the number of rows written
/// after each batch.
pub async fn ingest(
    app: &App,
    rows: Vec<InsightData>,
    mut progress: impl FnMut(usize),
) -> anyhow::Result<IngestReport> {
    let redactor = redactor(app);
    let now = app.clock.now();
    let today = now.date_naive();
    let mut report = IngestReport::default();
    let mut batch = Vec::with_capacity(BATCH.min(rows.len()));
    let total = rows.len();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        batch.clear();
        for mut data in rows.by_ref().take(BATCH) {
            report.redactions += redactor.redact_insight(&mut data);
            batch.push(prepare(data, &app.config.themes, today));
        }
        store_batch(app, &batch, now, &mut report, true).await?;
        progress(report.outcomes.len().min(total));
    }
    Ok(report)
}

/// Stores one batch of prepared insights in one transaction, counting what happened in
/// `report` (and each row's outcome when `keep_outcomes`).
pub async fn store_batch(
    app: &App,
    batch: &[PreparedInsight],
    now: DateTime<Utc>,
    report: &mut IngestReport,
    keep_outcomes: bool,
) -> anyhow::Result<()> {
    let outcomes = app.store.upsert(batch, now).await?;
    count_outcomes(report, outcomes, keep_outcomes);
    Ok(())
}

/// [`store_batch`] for a bulk writer: returns once the batch is written, while it is indexed
/// (see [`flywheel_storage::Store::upsert_indexing_after`]). Outcomes are only counted.
pub async fn store_batch_indexing_after(
    app: &App,
    batch: Vec<PreparedInsight>,
    now: DateTime<Utc>,
    report: &mut IngestReport,
) -> anyhow::Result<Indexing> {
    let (outcomes, indexing) = app.store.upsert_indexing_after(batch, now).await?;
    count_outcomes(report, outcomes, false);
    Ok(indexing)
}

fn count_outcomes(report: &mut IngestReport, outcomes: Vec<UpsertOutcome>, keep_outcomes: bool) {
    for outcome in outcomes {
        let name = match outcome {
            UpsertOutcome::Inserted(_) => {
                report.inserted += 1;
                "inserted"
            }
            UpsertOutcome::Updated(_) => {
                report.updated += 1;
                "updated"
            }
            UpsertOutcome::Unchanged(_) => {
                report.unchanged += 1;
                "unchanged"
            }
        };
        metrics::counter!(crate::telemetry::IMPORTED_ROWS, "outcome" => name).increment(1);
        if keep_outcomes {
            report.outcomes.push(outcome);
        }
    }
}
