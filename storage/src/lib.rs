//! Flywheel's store: the insights and everything later written about them, on SQLite (the
//! embedded default, one file) or PostgreSQL (for several replicas), behind one API and one
//! contract test suite (`tests/contract.rs`). Ranking, explaining and composing live in
//! `flywheel-insights`; this crate only stores, finds and counts.
//!
//! A short tour:
//!
//! - [`Store::open`] takes a URL (`sqlite://data/flywheel.db` or `postgres://…`), connects and
//!   applies the embedded migrations (`migrations/sqlite/`, `migrations/postgres/`) — see
//!   [`store`].
//! - [`Store::upsert`] writes prepared insights, telling inserts, updates and unchanged re-imports
//!   apart by fingerprint — see [`insights`].
//! - [`Store::search`] runs a [`flywheel_insights::query::Query`] on a Tantivy index derived
//!   from the store, ranking every match and counting totals, breakdowns and trends in the
//!   same pass; the index follows the store's change sequence, so it can be deleted and
//!   rebuilt at any time — see [`search`].
//! - [`Store::create_digest`] writes a team's digest for a period exactly once, with its outbox
//!   of one delivery per channel — see [`digests`]; workers lease, send and settle deliveries
//!   with [`Store::claim_deliveries`] and friends — see [`deliveries`].
//! - Flags, "useful" votes, comments, chat threads and platform event deduplication, all
//!   idempotent — see [`engagement`]; the append-only audit log — see [`audit`].
//! - [`Store::log_decision`] records a team's decision citing the insights behind it, closing
//!   their flags; reviews, due lists, reminders claimed once and figures — see [`decisions`].
//!
//! Both backends share their SQL text wherever the engines agree; `db` is the small layer that
//! runs one statement on whichever pool is open, so a feature module writes each query once.
//! Portable encodings (instants as milliseconds, dates as `YYYY-MM-DD` text) are in `values`.

pub mod alerts;
pub mod audit;
mod db;
pub mod decisions;
pub mod deliveries;
pub mod digests;
pub mod engagement;
mod error;
pub mod insights;
mod migrate;
pub mod search;
pub mod store;
mod values;
mod visibility;

pub use alerts::{
    AlertCreated, AlertKind, AlertRecord, Cadence, NewAlert, NewWatch, SpikeStateRecord, Watch,
    WatchSettled,
};
pub use audit::{AuditEvent, NewAuditEvent};
pub use decisions::{
    Decision, DecisionError, DecisionEvent, DecisionEventKind, DecisionFilter, DecisionId,
    DecisionListing, DecisionStats, DecisionStatus, DecisionSummary, Evidence, NewDecision, Review,
    ReviewOutcome, SentimentCounts, ThemeActivity,
};
pub use deliveries::{ClaimedDelivery, DeliveryRecord, DeliveryStatus, Outbound};
pub use digests::{DigestCreated, DigestRecord, DigestStatus, NewDigest};
pub use engagement::{CommentRow, EngagementRow, FlagOutcome, NewComment, OpenFlagRow};
pub use error::StoreError;
pub use insights::UpsertOutcome;
pub use search::{IndexPlace, IndexStatus, Indexing};
pub use store::{AppliedMigration, Backend, Store, StoreOptions, default_index_place};
