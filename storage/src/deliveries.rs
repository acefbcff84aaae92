//! The delivery outbox: one row per digest and channel, written with the digest
//! ([`Store::create_digest`]), then leased, sent and settled by workers.
//!
//! A worker never holds a database lock across a network call. It claims due rows
//! ([`Store::claim_deliveries`]), which marks them `sending` under its name until the lease
//! ends, sends them, and settles each one with [`Store::delivery_sent`],
//! [`Store::delivery_retry`] or [`Store::delivery_failed`]. Settling only works while the row is
//! still leased to that worker; otherwise another worker took it over and the call returns
//! `false`. A row whose lease ran out while `sending` belongs to a worker that died, perhaps
//! after the platform accepted the message: the next claim hands it out *in doubt*, and the
//! worker asks the platform whether the message is there before sending it again.
//!
//! Claims never hand one row to two workers: PostgreSQL picks rows with
//! `FOR UPDATE SKIP LOCKED` (workers skip each other's rows instead of queueing behind them) and
//! rechecks each one as it locks it; SQLite claims in a single `UPDATE … RETURNING` inside a
//! write transaction, and SQLite has one writer at a time.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::{MAX_BINDS, Sql, SqlBuilder};
use crate::digests::{instant, parse_json, refuse_nul};
use crate::error::{QueryResultExt, StoreError};
use crate::store::{Backend, Store};
use crate::values::millis;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeliveryStatus {
    /// Waiting until it is due.
    Pending,
    /// Leased to a worker that is sending it (or died doing so, once the lease has run out).
    Sending,
    /// The platform accepted it.
    Sent,
    /// Given up on; `last_error` says why.
    Failed,
}

impl DeliveryStatus {
    /// The name stored in the `status` column.
    pub fn name(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }

    fn parse(name: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Sending,
            DeliveryStatus::Sent,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// What a delivery carries: a team's digest, or an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outbound {
    /// A digest.
    Digest {
        /// Its id.
        id: i64,
        /// The first instant of its period.
        period_start: DateTime<Utc>,
    },
    /// An alert (a watch's new matches, a theme's spike).
    Alert {
        /// Its id.
        id: i64,
    },
}

impl Outbound {
    /// `digest:12` or `alert:7`, for logs and the audit log.
    pub fn subject(&self) -> String {
        match self {
            Outbound::Digest { id, .. } => format!("digest:{id}"),
            Outbound::Alert { id } => format!("alert:{id}"),
        }
    }
}

/// A delivery leased to a worker by [`Store::claim_deliveries`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimedDelivery {
    /// The delivery; settle it with this id.
    pub id: i64,
    /// What it carries.
    pub outbound: Outbound,
    /// The team it is for; empty for an alert to a channel of no team.
    pub team: String,
    /// The message to reply under, when it goes in a thread.
    pub thread: Option<String>,
    /// Where to send it (`slack:C0123`).
    pub channel: String,
    /// Attempts so far, this one included (1 on the first claim).
    pub attempts: u32,
    /// The rendered message to send.
    pub message: Value,
    /// A previous worker's lease ran out while it was sending: the message may already be on
    /// the platform, so look for it before sending again.
    pub in_doubt: bool,
}

/// A delivery as stored, for reports and tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Its id.
    pub id: i64,
    /// What it carries.
    pub outbound: Outbound,
    /// The team it is for; empty for an alert to a channel of no team.
    pub team: String,
    /// Where it goes.
    pub channel: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// How many times it was claimed.
    pub attempts: u32,
    /// When it is (or was last) due.
    pub next_attempt_at: DateTime<Utc>,
    /// The worker that last claimed it.
    pub lease_owner: Option<String>,
    /// Until when that worker holds it; `None` once settled.
    pub lease_until: Option<DateTime<Utc>>,
    /// Whether its latest claim followed an expired lease.
    pub in_doubt: bool,
    /// The platform's id of the sent message.
    pub platform_message_ref: Option<String>,
    /// The latest error (kept after a later success, for the record).
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// When it was given up on.
    pub failed_at: Option<DateTime<Utc>>,
}

/// Selects [`DeliveryRow`]s from `deliveries d` joined with their digest `g` or alert `a`, then
/// the clauses.
macro_rules! select_deliveries {
    ($clauses:literal) => {
        concat!(
            "SELECT d.id, d.digest_id, d.alert_id, COALESCE(g.team, a.team, '') AS team, \
             g.period_start, d.channel, d.status, d.attempts, \
             d.next_attempt_at, d.lease_owner, d.lease_until, d.in_doubt, \
             d.platform_message_ref, d.last_error, d.created_at, d.sent_at, d.failed_at \
             FROM deliveries d LEFT JOIN digests g ON g.id = d.digest_id \
             LEFT JOIN alerts a ON a.id = d.alert_id ",
            $clauses
        )
    };
}

/// A `deliveries` row as selected by `select_deliveries!`.
#[derive(Debug, sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    digest_id: Option<i64>,
    alert_id: Option<i64>,
    team: String,
    period_start: Option<i64>,
    channel: String,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
    lease_owner: Option<String>,
    lease_until: Option<i64>,
    in_doubt: bool,
    platform_message_ref: Option<String>,
    last_error: Option<String>,
    created_at: i64,
    sent_at: Option<i64>,
    failed_at: Option<i64>,
}

impl DeliveryRow {
    fn into_record(self) -> Result<DeliveryRecord, StoreError> {
        let context = format!("delivery {}", self.id);
        let optional =
            |column: &str, ms: Option<i64>| ms.map(|ms| instant(&context, column, ms)).transpose();
        let outbound = outbound(&context, self.digest_id, self.alert_id, self.period_start)?;
        Ok(DeliveryRecord {
            id: self.id,
            outbound,
            team: self.team,
            channel: self.channel,
            status: DeliveryStatus::parse(&self.status).ok_or_else(|| StoreError::Corrupt {
                detail: format!("{context}: unknown status {:?}", self.status),
            })?,
            attempts: attempts(&context, self.attempts)?,
            next_attempt_at: instant(&context, "next_attempt_at", self.next_attempt_at)?,
            lease_owner: self.lease_owner,
            lease_until: optional("lease_until", self.lease_until)?,
            in_doubt: self.in_doubt,
            platform_message_ref: self.platform_message_ref,
            last_error: self.last_error,
            created_at: instant(&context, "created_at", self.created_at)?,
            sent_at: optional("sent_at", self.sent_at)?,
            failed_at: optional("failed_at", self.failed_at)?,
        })
    }
}

/// What a row carries, from its `digest_id` (with the digest's period) or its `alert_id`.
fn outbound(
    context: &str,
    digest_id: Option<i64>,
    alert_id: Option<i64>,
    period_start: Option<i64>,
) -> Result<Outbound, StoreError> {
    match (digest_id, alert_id, period_start) {
        (Some(id), None, Some(start)) => Ok(Outbound::Digest {
            id,
            period_start: instant(context, "period_start", start)?,
        }),
        (None, Some(id), _) => Ok(Outbound::Alert { id }),
        _ => Err(StoreError::Corrupt {
            detail: format!("{context} carries neither one digest nor one alert"),
        }),
    }
}

fn attempts(context: &str, n: i64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt {
        detail: format!("{context}: attempts {n} is out of range"),
    })
}

/// Leases due rows on SQLite: `$1` now, `$2` owner, `$3` lease end, `$4` limit. `SET` reads the
/// row as it was, so `in_doubt` tells whether it was still `sending`.
const CLAIM_SQLITE: &str = "UPDATE deliveries \
     SET status = 'sending', in_doubt = (status = 'sending'), lease_owner = $2, \
         lease_until = $3, attempts = attempts + 1 \
     WHERE id IN (SELECT id FROM deliveries \
         WHERE (status = 'pending' AND next_attempt_at <= $1) \
            OR (status = 'sending' AND lease_until <= $1) \
         ORDER BY next_attempt_at, id LIMIT $4) \
     RETURNING id, digest_id, alert_id, channel, attempts, in_doubt";

/// Leases due rows on PostgreSQL, with the placeholders of [`CLAIM_SQLITE`]. Rows locked by
/// another claim are skipped; a row another claim settled after this statement's snapshot is
/// rechecked against the conditions when locked, and left out if it no longer qualifies.
const CLAIM_POSTGRES: &str = "WITH due AS MATERIALIZED ( \
         SELECT id FROM deliveries \
         WHERE (status = 'pending' AND next_attempt_at <= $1) \
            OR (status = 'sending' AND lease_until <= $1) \
         ORDER BY next_attempt_at, id LIMIT $4 \
         FOR UPDATE SKIP LOCKED) \
     UPDATE deliveries d \
     SET status = 'sending', in_doubt = (d.status = 'sending'), lease_owner = $2, \
         lease_until = $3, attempts = d.attempts + 1 \
     FROM due WHERE d.id = due.id \
     RETURNING d.id, d.digest_id, d.alert_id, d.channel, d.attempts, d.in_doubt";

/// Settles a leased row: `$1` id, `$2` owner; the rest per statement.
const SENT: &str = "UPDATE deliveries \
     SET status = 'sent', platform_message_ref = $3, sent_at = $4, lease_until = NULL \
     WHERE id = $1 AND status = 'sending' AND lease_owner = $2";

/// See [`SENT`].
const RETRY: &str = "UPDATE deliveries \
     SET status = 'pending', next_attempt_at = $3, last_error = $4, lease_until = NULL \
     WHERE id = $1 AND status = 'sending' AND lease_owner = $2";

/// See [`SENT`].
const FAILED: &str = "UPDATE deliveries \
     SET status = 'failed', last_error = $3, failed_at = $4, lease_until = NULL \
     WHERE id = $1 AND status = 'sending' AND lease_owner = $2";

/// An alert as a claim reads it: id, team, thread, message.
type AlertRow = (i64, Option<String>, Option<String>, String);

/// A claimed row: id, digest, alert, channel, attempts, in doubt.
type ClaimRow = (i64, Option<i64>, Option<i64>, String, i64, bool);

/// Each id once, in order.
fn distinct(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// `id, id, …)`: the rest of an `IN (` list.
fn push_ids(b: &mut SqlBuilder, ids: &[i64]) {
    for (n, id) in ids.iter().enumerate() {
        b.push(if n == 0 { "" } else { ", " }).push_bind(*id);
    }
    b.push(")");
}

impl Store {
    /// Leases up to `limit` deliveries to `owner` until `now + lease`: those pending and due
    /// (`next_attempt_at <= now`), and those still `sending` whose lease has run out (handed out
    /// with `in_doubt` set). Each claim counts as an attempt. Oldest due first.
    ///
    /// `owner` must be unique per worker (host, process and a random part, say): settling
    /// checks it. Concurrent claims, from any number of replicas, never return the same row
    /// while its lease lasts.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn claim_deliveries(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        const CONTEXT: &str = "claiming deliveries";
        let backend = self.backend();
        refuse_nul(backend, CONTEXT, [("owner", owner)])?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let claim = Sql::new(match backend {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        })
        .bind(millis(now))
        .bind(owner)
        .bind(millis(now).saturating_add(lease_ms))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));

        let mut tx = self.pool.begin_write().await.context(backend, CONTEXT)?;
        let mut claimed: Vec<ClaimRow> =
            tx.db().fetch_all(claim).await.context(backend, CONTEXT)?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        claimed.sort_by_key(|row| row.0);

        let digest_ids = distinct(claimed.iter().filter_map(|row| row.1));
        let alert_ids = distinct(claimed.iter().filter_map(|row| row.2));
        let mut digests: Vec<(i64, String, i64, Option<String>)> = Vec::new();
        for chunk in digest_ids.chunks(MAX_BINDS) {
            let mut b = SqlBuilder::new();
            b.push("SELECT id, team, period_start, message FROM digests WHERE id IN (");
            push_ids(&mut b, chunk);
            digests.extend(
                tx.db()
                    .fetch_all::<(i64, String, i64, Option<String>)>(b.build())
                    .await
                    .context(backend, CONTEXT)?,
            );
        }
        let mut alerts: Vec<AlertRow> = Vec::new();
        for chunk in alert_ids.chunks(MAX_BINDS) {
            let mut b = SqlBuilder::new();
            b.push("SELECT id, team, thread_ref, message FROM alerts WHERE id IN (");
            push_ids(&mut b, chunk);
            alerts.extend(
                tx.db()
                    .fetch_all::<AlertRow>(b.build())
                    .await
                    .context(backend, CONTEXT)?,
            );
        }
        tx.commit().await.context(backend, CONTEXT)?;

        let mut by_digest = BTreeMap::new();
        for (id, team, period_start, message) in digests {
            let context = format!("digest {id}");
            let message = message.ok_or_else(|| StoreError::Corrupt {
                detail: format!("{context} has deliveries but no message"),
            })?;
            let message = parse_json(&context, "message", &message)?;
            let period_start = instant(&context, "period_start", period_start)?;
            by_digest.insert(id, (team, period_start, message));
        }
        let mut by_alert = BTreeMap::new();
        for (id, team, thread, message) in alerts {
            let message = parse_json(&format!("alert {id}"), "message", &message)?;
            by_alert.insert(id, (team.unwrap_or_default(), thread, message));
        }
        claimed
            .into_iter()
            .map(|(id, digest_id, alert_id, channel, n, in_doubt)| {
                let missing = |what: String| StoreError::Corrupt {
                    detail: format!("delivery {id}: {what} is missing"),
                };
                let (outbound, team, thread, message) = match (digest_id, alert_id) {
                    (Some(digest_id), None) => {
                        let (team, period_start, message) = by_digest
                            .get(&digest_id)
                            .ok_or_else(|| missing(format!("digest {digest_id}")))?;
                        let outbound = Outbound::Digest {
                            id: digest_id,
                            period_start: *period_start,
                        };
                        (outbound, team, None, message)
                    }
                    (None, Some(alert_id)) => {
                        let (team, thread, message) = by_alert
                            .get(&alert_id)
                            .ok_or_else(|| missing(format!("alert {alert_id}")))?;
                        (
                            Outbound::Alert { id: alert_id },
                            team,
                            thread.clone(),
                            message,
                        )
                    }
                    _ => return Err(missing("what it carries".into())),
                };
                Ok(ClaimedDelivery {
                    id,
                    outbound,
                    team: team.clone(),
                    thread,
                    channel,
                    attempts: attempts(&format!("delivery {id}"), n)?,
                    message: message.clone(),
                    in_doubt,
                })
            })
            .collect()
    }

    /// Records that the platform accepted a leased delivery, with the platform's id of the
    /// message. Returns `false`, writing nothing, when `owner` no longer holds the delivery (it
    /// was settled, or another worker took it over after the lease ran out). A lease that ran out
    /// but was not taken over still counts: the message was sent.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn delivery_sent(
        &self,
        id: i64,
        owner: &str,
        message_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const CONTEXT: &str = "recording a sent delivery";
        let backend = self.backend();
        refuse_nul(
            backend,
            CONTEXT,
            [("owner", owner), ("message_ref", message_ref)],
        )?;
        let sql = Sql::new(SENT)
            .bind(id)
            .bind(owner)
            .bind(message_ref)
            .bind(millis(now));
        self.settle(sql, CONTEXT).await
    }

    /// Puts a leased delivery back to wait until `next_attempt_at` (a 429's `Retry-After`, a
    /// backoff), keeping the error for the record. Returns `false`, writing nothing, when
    /// `owner` no longer holds it.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn delivery_retry(
        &self,
        id: i64,
        owner: &str,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StoreError> {
        const CONTEXT: &str = "rescheduling a delivery";
        let backend = self.backend();
        refuse_nul(backend, CONTEXT, [("owner", owner), ("error", error)])?;
        let sql = Sql::new(RETRY)
            .bind(id)
            .bind(owner)
            .bind(millis(next_attempt_at))
            .bind(error);
        self.settle(sql, CONTEXT).await
    }

    /// Gives up on a leased delivery (a permanent error such as `channel_not_found`, or too many
    /// attempts), with the reason. Returns `false`, writing nothing, when `owner` no longer
    /// holds it.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn delivery_failed(
        &self,
        id: i64,
        owner: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const CONTEXT: &str = "recording a failed delivery";
        let backend = self.backend();
        refuse_nul(backend, CONTEXT, [("owner", owner), ("reason", reason)])?;
        let sql = Sql::new(FAILED)
            .bind(id)
            .bind(owner)
            .bind(reason)
            .bind(millis(now));
        self.settle(sql, CONTEXT).await
    }

    async fn settle(&self, sql: Sql, context: &'static str) -> Result<bool, StoreError> {
        let backend = self.backend();
        let mut conn = self.pool.acquire().await.context(backend, context)?;
        let changed = conn.db().execute(sql).await.context(backend, context)?;
        Ok(changed == 1)
    }

    /// A digest's deliveries, by channel.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn deliveries(&self, digest_id: i64) -> Result<Vec<DeliveryRecord>, StoreError> {
        let sql = Sql::new(select_deliveries!(
            "WHERE d.digest_id = $1 ORDER BY d.channel, d.id"
        ))
        .bind(digest_id);
        self.delivery_records(sql, "listing a digest's deliveries")
            .await
    }

    /// The deliveries of the `limit` latest composed digests, newest period first, then by team
    /// and channel: what `flywheel digest send` reports.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn delivery_summary(&self, limit: usize) -> Result<Vec<DeliveryRecord>, StoreError> {
        let sql = Sql::new(select_deliveries!(
            "WHERE d.digest_id IN (SELECT id FROM digests WHERE status = 'composed' \
             ORDER BY period_start DESC, id DESC LIMIT $1) \
             ORDER BY g.period_start DESC, team, d.channel, d.id"
        ))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        self.delivery_records(sql, "summarizing deliveries").await
    }

    async fn delivery_records(
        &self,
        sql: Sql,
        context: &'static str,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let backend = self.backend();
        let mut conn = self.pool.acquire().await.context(backend, context)?;
        let rows: Vec<DeliveryRow> = conn.db().fetch_all(sql).await.context(backend, context)?;
        rows.into_iter().map(DeliveryRow::into_record).collect()
    }

    /// How many deliveries are not settled yet (pending, or being sent).
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn pending_deliveries(&self) -> Result<u64, StoreError> {
        const CONTEXT: &str = "counting pending deliveries";
        let backend = self.backend();
        let sql =
            Sql::new("SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'sending')");
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let (n,): (i64,) = conn.db().fetch_one(sql).await.context(backend, CONTEXT)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
