//! The one way insights enter the store, whatever brought them (a file, the HTTP API, chat):
//! redact personal data, assign themes, then upsert in batched transactions.

use flywheel_insights::index::prepare;
use flywheel_insights::model::{InsightData, InsightId};
use flywheel_insights::redact::{RedactionCounts, Redactor};
use flywheel_storage::UpsertOutcome;

use crate::app::App;

/// Rows written per transaction.
pub const BATCH: usize = 500;

/// What an ingestion did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// New insights.
    pub inserted: usize,
    /// Insights whose content changed.
    pub updated: usize,
    /// Insights already stored exactly so.
    pub unchanged: usize,
    /// The id of every row, in input order.
    pub ids: Vec<InsightId>,
    /// What redaction removed.
    pub redactions: RedactionCounts,
}

/// The redactor the configuration asks for.
pub fn redactor(app: &App) -> Redactor {
    let p = &app.config.privacy;
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
        for outcome in app.store.upsert(&batch, now).await? {
            let id = match outcome {
                UpsertOutcome::Inserted(id) => {
                    report.inserted += 1;
                    id
                }
                UpsertOutcome::Updated(id) => {
                    report.updated += 1;
                    id
                }
                UpsertOutcome::Unchanged(id) => {
                    report.unchanged += 1;
                    id
                }
            };
            report.ids.push(id);
        }
        progress(report.ids.len().min(total));
    }
    Ok(report)
}
