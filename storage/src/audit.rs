//! The audit log: who did what, from where ([`Store::audit`]), read back in the order it was
//! written ([`Store::audit_events`]). The table refuses updates and deletes on both backends
//! (triggers in the migrations), so a written event stays as it was.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::Sql;
use crate::digests::{instant, json_text, parse_json, refuse_nul};
use crate::error::{QueryResultExt, StoreError};
use crate::store::Store;
use crate::values::millis;

/// An event to append to the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it: a platform user id, `cli`, `scheduler`.
    pub actor: String,
    /// Where, when it came from chat (`slack:C0123`).
    pub channel: Option<String>,
    /// What, as a dotted name: `insight.added`, `insight.flagged`, `digest.sent`,
    /// `permission.refused`.
    pub action: String,
    /// What it was done to (`insight:42`, `digest:7`), if anything.
    pub subject: Option<String>,
    /// Anything else worth keeping.
    pub details: Value,
}

/// An event read back from the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Its position in the log.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: String,
    /// Where, when it came from chat.
    pub channel: Option<String>,
    /// What.
    pub action: String,
    /// What it was done to.
    pub subject: Option<String>,
    /// Anything else.
    pub details: Value,
}

/// An [`AuditEvent`] as selected by [`Store::audit_events`].
#[derive(Debug, sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    channel: Option<String>,
    action: String,
    subject: Option<String>,
    details: String,
}

impl Store {
    /// Appends an event to the audit log and returns its id; ids grow in the order of writing.
    #[tracing::instrument(skip(self, event), fields(backend = %self.backend(), action = %event.action))]
    pub async fn audit(&self, event: &NewAuditEvent) -> Result<i64, StoreError> {
        const CONTEXT: &str = "appending to the audit log";
        let backend = self.backend();
        refuse_nul(
            backend,
            CONTEXT,
            [
                ("actor", event.actor.as_str()),
                ("channel", event.channel.as_deref().unwrap_or_default()),
                ("action", event.action.as_str()),
                ("subject", event.subject.as_deref().unwrap_or_default()),
            ],
        )?;
        let sql = Sql::new(
            "INSERT INTO audit_events (at, actor, channel, action, subject, details) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(millis(event.at))
        .bind(event.actor.as_str())
        .bind(event.channel.clone())
        .bind(event.action.as_str())
        .bind(event.subject.clone())
        .bind(json_text(&event.details));
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let (id,): (i64,) = conn.db().fetch_one(sql).await.context(backend, CONTEXT)?;
        Ok(id)
    }

    /// Up to `limit` events written after the event `after` (from the first with 0) that
    /// happened at or after `since`, in the order they were written: page through the whole
    /// log by passing the last id of each page as the next `after`.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn audit_page(
        &self,
        since: Option<DateTime<Utc>>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        const CONTEXT: &str = "exporting the audit log";
        let backend = self.backend();
        let sql = Sql::new(
            "SELECT id, at, actor, channel, action, subject, details FROM audit_events \
             WHERE id > $1 AND at >= $2 ORDER BY id LIMIT $3",
        )
        .bind(after)
        .bind(since.map_or(i64::MIN, millis))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let rows: Vec<AuditRow> = conn.db().fetch_all(sql).await.context(backend, CONTEXT)?;
        rows.into_iter().map(AuditRow::into_event).collect()
    }

    /// The latest `limit` events that happened at or after `since` (all of them without it), in
    /// the order they were written.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn audit_events(
        &self,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        const CONTEXT: &str = "reading the audit log";
        let backend = self.backend();
        let sql = Sql::new(
            "SELECT id, at, actor, channel, action, subject, details FROM \
             (SELECT id, at, actor, channel, action, subject, details FROM audit_events \
              WHERE at >= $1 ORDER BY id DESC LIMIT $2) latest \
             ORDER BY id",
        )
        .bind(since.map_or(i64::MIN, millis))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let rows: Vec<AuditRow> = conn.db().fetch_all(sql).await.context(backend, CONTEXT)?;
        rows.into_iter().map(AuditRow::into_event).collect()
    }
}

impl AuditRow {
    fn into_event(self) -> Result<AuditEvent, StoreError> {
        let context = format!("audit event {}", self.id);
        Ok(AuditEvent {
            id: self.id,
            at: instant(&context, "at", self.at)?,
            actor: self.actor,
            channel: self.channel,
            action: self.action,
            subject: self.subject,
            details: parse_json(&context, "details", &self.details)?,
        })
    }
}
