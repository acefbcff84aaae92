//! Digests, exactly once per team per period: [`Store::create_digest`] writes a composed digest
//! and its outbox (one delivery row per channel, see [`crate::deliveries`]) in one transaction,
//! [`Store::skip_period`] records a period that gets no digest, and [`Store::latest_digest`],
//! [`Store::digest`] and [`Store::digest_for`] read them back.
//!
//! The unique key `(team, period_start)` decides races: the insert yields to it
//! (`ON CONFLICT DO NOTHING`), so of several schedulers or replicas writing the same period,
//! exactly one creates the digest and its deliveries and every other one is told it exists. On
//! PostgreSQL the losing insert waits for the winner's transaction and then sees its row; on
//! SQLite writers take turns.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::{Db, Sql};
use crate::error::{QueryResultExt, StoreError};
use crate::store::{Backend, Store};
use crate::values::{from_millis, millis};

/// Whether a period got a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DigestStatus {
    /// A digest was composed and queued for its channels.
    Composed,
    /// The period was skipped; nothing was sent.
    Skipped,
}

impl DigestStatus {
    /// The name stored in the `status` column.
    pub fn name(self) -> &'static str {
        match self {
            DigestStatus::Composed => "composed",
            DigestStatus::Skipped => "skipped",
        }
    }

    fn parse(name: &str) -> Option<DigestStatus> {
        [DigestStatus::Composed, DigestStatus::Skipped]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// A composed digest to write with its outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDigest {
    /// The team's configured name.
    pub team: String,
    /// The first instant of the period; with `team`, the digest's identity.
    pub period_start: DateTime<Utc>,
    /// The instant after the period (exclusive); must be after `period_start`.
    pub period_end: DateTime<Utc>,
    /// The rendered, platform-neutral message each channel is sent.
    pub message: Value,
    /// What the digest contained, for the next period's comparisons and for reports.
    pub summary: Value,
    /// Where to send it (`slack:C0123`, `discord:987…`); repeated channels are sent once.
    pub channels: Vec<String>,
    /// When it is written; the deliveries are due from then on.
    pub now: DateTime<Utc>,
}

/// What [`Store::create_digest`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DigestCreated {
    /// This call wrote the digest and one pending delivery per channel.
    Created {
        /// The new digest.
        digest_id: i64,
        /// Its deliveries, in the order of the distinct channels given.
        deliveries: Vec<i64>,
    },
    /// The team already had a digest (or a skip) for this period; nothing was written.
    AlreadyExists {
        /// The existing digest.
        digest_id: i64,
        /// Whether it was composed or skipped.
        status: DigestStatus,
    },
}

impl DigestCreated {
    /// The digest's id, whoever wrote it.
    pub fn digest_id(&self) -> i64 {
        match self {
            DigestCreated::Created { digest_id, .. }
            | DigestCreated::AlreadyExists { digest_id, .. } => *digest_id,
        }
    }
}

/// A stored digest or skipped period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestRecord {
    /// Its id.
    pub id: i64,
    /// The team's configured name.
    pub team: String,
    /// The first instant of the period.
    pub period_start: DateTime<Utc>,
    /// The instant after the period.
    pub period_end: DateTime<Utc>,
    /// Composed or skipped.
    pub status: DigestStatus,
    /// The rendered message; `None` when skipped.
    pub message: Option<Value>,
    /// What the digest contained; `Null` when skipped.
    pub summary: Value,
    /// Why the period was skipped; `None` when composed.
    pub skip_reason: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// Selects [`DigestRow`]s from `digests` aliased `g`, followed by the given clauses.
macro_rules! select_digests {
    ($clauses:literal) => {
        concat!(
            "SELECT g.id, g.team, g.period_start, g.period_end, g.status, g.message, g.summary, \
             g.skip_reason, g.created_at FROM digests g ",
            $clauses
        )
    };
}

/// The team's digest with the latest period.
const LATEST_DIGEST: &str =
    select_digests!("WHERE g.team = $1 ORDER BY g.period_start DESC LIMIT 1");
/// A digest by id.
const DIGEST_BY_ID: &str = select_digests!("WHERE g.id = $1");
/// A team's digest for a period.
const DIGEST_BY_PERIOD: &str = select_digests!("WHERE g.team = $1 AND g.period_start = $2");

/// A `digests` row as selected by `select_digests!`.
#[derive(Debug, sqlx::FromRow)]
struct DigestRow {
    id: i64,
    team: String,
    period_start: i64,
    period_end: i64,
    status: String,
    message: Option<String>,
    summary: Option<String>,
    skip_reason: Option<String>,
    created_at: i64,
}

impl DigestRow {
    fn into_record(self) -> Result<DigestRecord, StoreError> {
        let id = self.id;
        let context = format!("digest {id}");
        let message = self
            .message
            .map(|text| parse_json(&context, "message", &text))
            .transpose()?;
        let summary = match self.summary {
            Some(text) => parse_json(&context, "summary", &text)?,
            None => Value::Null,
        };
        Ok(DigestRecord {
            id,
            team: self.team,
            period_start: instant(&context, "period_start", self.period_start)?,
            period_end: instant(&context, "period_end", self.period_end)?,
            status: DigestStatus::parse(&self.status).ok_or_else(|| StoreError::Corrupt {
                detail: format!("{context}: unknown status {:?}", self.status),
            })?,
            message,
            summary,
            skip_reason: self.skip_reason,
            created_at: instant(&context, "created_at", self.created_at)?,
        })
    }
}

/// Inserts a digest unless its `(team, period_start)` exists.
const INSERT_DIGEST: &str = "INSERT INTO digests (team, period_start, period_end, status, \
     message, summary, skip_reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (team, period_start) DO NOTHING RETURNING id";

/// Queues a digest for one channel, due at once.
const INSERT_DELIVERY: &str = "INSERT INTO deliveries (digest_id, channel, status, attempts, \
     next_attempt_at, created_at) VALUES ($1, $2, 'pending', 0, $3, $3) RETURNING id";

/// The digest's channels, each once in the order given; refused when the team or a channel
/// holds NUL.
fn distinct_channels<'a>(
    digest: &'a NewDigest,
    backend: Backend,
    context: &'static str,
) -> Result<Vec<&'a str>, StoreError> {
    let channels = each_once(&digest.channels);
    refuse_nul(
        backend,
        context,
        std::iter::once(("team", digest.team.as_str()))
            .chain(channels.iter().map(|c| ("channel", *c))),
    )?;
    Ok(channels)
}

/// Each channel once, in the order given: a message goes to a channel once however often it is
/// named.
pub(crate) fn each_once(channels: &[String]) -> Vec<&str> {
    let mut once: Vec<&str> = Vec::with_capacity(channels.len());
    for channel in channels {
        if !once.contains(&channel.as_str()) {
            once.push(channel);
        }
    }
    once
}

/// Queues digest `digest_id` for each channel, due at `now`: the deliveries' ids.
async fn queue_deliveries(
    db: &mut Db<'_>,
    digest_id: i64,
    channels: &[&str],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut deliveries = Vec::with_capacity(channels.len());
    for channel in channels {
        let insert = Sql::new(INSERT_DELIVERY)
            .bind(digest_id)
            .bind(*channel)
            .bind(millis(now));
        let (id,): (i64,) = db.fetch_one(insert).await?;
        deliveries.push(id);
    }
    Ok(deliveries)
}

impl Store {
    /// Writes a composed digest and one pending delivery per distinct channel in one
    /// transaction, unless the team already has a digest or a skip for the period: then nothing
    /// is written and the existing one is named. Concurrent calls for the same period, from any
    /// number of replicas, create it exactly once; the others get
    /// [`DigestCreated::AlreadyExists`], never an error.
    ///
    /// Refused with [`StoreError::Constraint`], writing nothing: a team or channel containing
    /// NUL, an empty channel, or a period that does not end after it starts.
    #[tracing::instrument(skip(self, digest), fields(backend = %self.backend(), team = %digest.team))]
    pub async fn create_digest(&self, digest: &NewDigest) -> Result<DigestCreated, StoreError> {
        const CONTEXT: &str = "creating a digest";
        let backend = self.backend();
        let channels = distinct_channels(digest, backend, CONTEXT)?;
        let mut tx = self.pool.begin_write().await.context(backend, CONTEXT)?;
        let insert = Sql::new(INSERT_DIGEST)
            .bind(digest.team.as_str())
            .bind(millis(digest.period_start))
            .bind(millis(digest.period_end))
            .bind(DigestStatus::Composed.name())
            .bind(Some(json_text(&digest.message)))
            .bind(Some(json_text(&digest.summary)))
            .bind(None::<String>)
            .bind(millis(digest.now));
        let inserted: Option<(i64,)> = tx
            .db()
            .fetch_optional(insert)
            .await
            .context(backend, CONTEXT)?;
        let Some((digest_id,)) = inserted else {
            let existing = existing_digest(&mut tx.db(), &digest.team, digest.period_start)
                .await
                .context(backend, CONTEXT)?;
            // Nothing was written; dropping the transaction rolls it back.
            return match existing {
                Some((digest_id, status)) => {
                    let status =
                        DigestStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
                            detail: format!("digest {digest_id}: unknown status {status:?}"),
                        })?;
                    Ok(DigestCreated::AlreadyExists { digest_id, status })
                }
                None => Err(StoreError::Query {
                    backend,
                    context: CONTEXT,
                    source: sqlx::Error::Protocol(format!(
                        "the digest of {} for {} was neither inserted nor found",
                        digest.team, digest.period_start
                    )),
                }),
            };
        };
        let deliveries = queue_deliveries(&mut tx.db(), digest_id, &channels, digest.now)
            .await
            .context(backend, CONTEXT)?;
        tx.commit().await.context(backend, CONTEXT)?;
        Ok(DigestCreated::Created {
            digest_id,
            deliveries,
        })
    }

    /// Composes, after all, a period that was skipped: when someone asks for it explicitly
    /// (`flywheel digest send` after the service was down past the grace window). The skip
    /// becomes the digest, with one pending delivery per distinct channel, in one transaction.
    /// Only one caller turns a given skip into a digest; the others, and a period that is not
    /// skipped, get [`DigestCreated::AlreadyExists`] with nothing written.
    #[tracing::instrument(skip(self, digest), fields(backend = %self.backend(), team = %digest.team))]
    pub async fn compose_skipped(&self, digest: &NewDigest) -> Result<DigestCreated, StoreError> {
        const CONTEXT: &str = "composing a skipped period";
        let backend = self.backend();
        let channels = distinct_channels(digest, backend, CONTEXT)?;
        let mut tx = self.pool.begin_write().await.context(backend, CONTEXT)?;
        let update = Sql::new(
            "UPDATE digests SET status = $1, message = $2, summary = $3, skip_reason = NULL, \
             created_at = $4 WHERE team = $5 AND period_start = $6 AND status = $7 RETURNING id",
        )
        .bind(DigestStatus::Composed.name())
        .bind(Some(json_text(&digest.message)))
        .bind(Some(json_text(&digest.summary)))
        .bind(millis(digest.now))
        .bind(digest.team.as_str())
        .bind(millis(digest.period_start))
        .bind(DigestStatus::Skipped.name());
        let updated: Option<(i64,)> = tx
            .db()
            .fetch_optional(update)
            .await
            .context(backend, CONTEXT)?;
        let Some((digest_id,)) = updated else {
            drop(tx);
            return match self.digest_for(&digest.team, digest.period_start).await? {
                Some(existing) => Ok(DigestCreated::AlreadyExists {
                    digest_id: existing.id,
                    status: existing.status,
                }),
                None => self.create_digest(digest).await,
            };
        };
        let deliveries = queue_deliveries(&mut tx.db(), digest_id, &channels, digest.now)
            .await
            .context(backend, CONTEXT)?;
        tx.commit().await.context(backend, CONTEXT)?;
        Ok(DigestCreated::Created {
            digest_id,
            deliveries,
        })
    }

    /// Records that a team's period gets no digest (the service was down when it was due, or
    /// there was nothing to say), so it is neither retried nor composed late. Returns `false`,
    /// writing nothing, when the period already has a digest or a skip. Refused with
    /// [`StoreError::Constraint`] like [`Store::create_digest`].
    #[tracing::instrument(skip(self, reason), fields(backend = %self.backend()))]
    pub async fn skip_period(
        &self,
        team: &str,
        period_start: DateTime<Utc>,
        period_end: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const CONTEXT: &str = "skipping a period";
        let backend = self.backend();
        refuse_nul(backend, CONTEXT, [("team", team), ("reason", reason)])?;
        let insert = Sql::new(INSERT_DIGEST)
            .bind(team)
            .bind(millis(period_start))
            .bind(millis(period_end))
            .bind(DigestStatus::Skipped.name())
            .bind(None::<String>)
            .bind(None::<String>)
            .bind(Some(reason.to_string()))
            .bind(millis(now));
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let inserted: Option<(i64,)> = conn
            .db()
            .fetch_optional(insert)
            .await
            .context(backend, CONTEXT)?;
        Ok(inserted.is_some())
    }

    /// The team's digest or skip with the latest period, if any.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn latest_digest(&self, team: &str) -> Result<Option<DigestRecord>, StoreError> {
        let sql = Sql::new(LATEST_DIGEST).bind(team);
        self.one_digest(sql, "reading the latest digest").await
    }

    /// A digest or skip by id.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn digest(&self, id: i64) -> Result<Option<DigestRecord>, StoreError> {
        let sql = Sql::new(DIGEST_BY_ID).bind(id);
        self.one_digest(sql, "reading a digest").await
    }

    /// The team's digest or skip for the period starting at `period_start`, if any.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn digest_for(
        &self,
        team: &str,
        period_start: DateTime<Utc>,
    ) -> Result<Option<DigestRecord>, StoreError> {
        let sql = Sql::new(DIGEST_BY_PERIOD)
            .bind(team)
            .bind(millis(period_start));
        self.one_digest(sql, "reading a period's digest").await
    }

    async fn one_digest(
        &self,
        sql: Sql,
        context: &'static str,
    ) -> Result<Option<DigestRecord>, StoreError> {
        let backend = self.backend();
        let mut conn = self.pool.acquire().await.context(backend, context)?;
        let row: Option<DigestRow> = conn
            .db()
            .fetch_optional(sql)
            .await
            .context(backend, context)?;
        row.map(DigestRow::into_record).transpose()
    }
}

/// The id and status of the digest holding a period.
async fn existing_digest(
    db: &mut Db<'_>,
    team: &str,
    period_start: DateTime<Utc>,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    let sql = Sql::new("SELECT id, status FROM digests WHERE team = $1 AND period_start = $2")
        .bind(team)
        .bind(millis(period_start));
    db.fetch_optional(sql).await
}

/// A write refused before reaching the database, reported as the schema would.
pub(crate) fn refused(backend: Backend, context: &'static str, detail: String) -> StoreError {
    StoreError::Constraint {
        backend,
        context,
        detail,
    }
}

/// Refuses text that PostgreSQL cannot store (NUL), on both backends so that they stay alike.
pub(crate) fn refuse_nul<'a>(
    backend: Backend,
    context: &'static str,
    fields: impl IntoIterator<Item = (&'static str, &'a str)>,
) -> Result<(), StoreError> {
    match fields.into_iter().find(|(_, value)| value.contains('\0')) {
        Some((name, _)) => Err(refused(
            backend,
            context,
            format!("{name} contains a NUL character"),
        )),
        None => Ok(()),
    }
}

/// A JSON document as stored. NUL inside JSON strings is escaped, so any value is storable.
pub(crate) fn json_text(value: &Value) -> String {
    value.to_string()
}

/// A stored JSON document read back.
pub(crate) fn parse_json(context: &str, column: &str, text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        detail: format!("{context}: {column} is not JSON: {e}"),
    })
}

/// A stored instant read back.
pub(crate) fn instant(context: &str, column: &str, ms: i64) -> Result<DateTime<Utc>, StoreError> {
    from_millis(ms).ok_or_else(|| StoreError::Corrupt {
        detail: format!("{context}: {column} {ms} is out of range"),
    })
}
