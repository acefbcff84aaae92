//! Continuous insight: watches (a channel's standing question), alerts (something worth saying
//! at once: a watch's new matches, a theme's spike) and where each team's themes stand.
//!
//! An alert goes out through the same outbox as digests ([`crate::deliveries`]): it is written
//! with one delivery per channel in one transaction, and its unique key makes it exactly once
//! however many replicas race to write it. A delivery may be due later than it is written (an
//! alert found during a team's quiet hours waits for the morning).
//!
//! A watch remembers the change of the store up to which it has looked at new insights
//! (`seen_seq`). [`Store::settle_watch`] moves that mark and writes the alert in one transaction
//! that only succeeds from the mark the caller read, so of two replicas looking at the same new
//! insights exactly one alerts and the other is told it lost.

use chrono::{DateTime, NaiveDate, Utc};
use flywheel_insights::model::{Insight, InsightId};
use flywheel_insights::search::Scope;
pub use flywheel_insights::watch::Cadence;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::{Db, Sql, SqlBuilder};
use crate::digests::{each_once, instant, json_text, parse_json, refuse_nul, refused};
use crate::error::{QueryResultExt, StoreError};
use crate::insights::{INSIGHT_COLUMNS, InsightRow};
use crate::store::{Backend, Store};
use crate::values::{day_text, millis, parse_day};
use crate::visibility::push_scope;

/// A watch to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWatch {
    /// The channel's team, whose visibility applies; `None` for a channel of no team (it sees
    /// only insights every team may see).
    pub team: Option<String>,
    /// Where its alerts go (`slack:C0123`).
    pub channel: String,
    /// The question, as typed.
    pub query: String,
    /// How often it reports.
    pub cadence: Cadence,
    /// Who set it up (`slack:U1`, or `config` for a declared watch).
    pub created_by: String,
    /// For a watch declared in the configuration: its stable key there.
    pub config_key: Option<String>,
}

/// A stored watch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Watch {
    /// Its id, typed in `/insights unwatch ID`.
    pub id: i64,
    /// The channel's team, if any.
    pub team: Option<String>,
    /// Where its alerts go.
    pub channel: String,
    /// The question, as typed.
    pub query: String,
    /// How often it reports.
    pub cadence: Cadence,
    /// Who set it up.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Its key in the configuration, when declared there.
    pub config_key: Option<String>,
    /// New insights up to this change have been looked at.
    pub seen_seq: i64,
    /// When it is next looked at.
    pub next_check_at: DateTime<Utc>,
    /// When it was ended, if it was.
    pub ended_at: Option<DateTime<Utc>>,
}

impl Watch {
    /// Whose eyes its alerts are for.
    pub fn scope(&self) -> Scope {
        match &self.team {
            Some(team) => Scope::Team(team.clone()),
            None => Scope::Public,
        }
    }
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlertKind {
    /// New insights matching a watch.
    Watch,
    /// A theme's volume far above its normal.
    Spike,
    /// A decision due for review.
    Reminder,
}

impl AlertKind {
    /// The name stored.
    pub fn name(self) -> &'static str {
        match self {
            AlertKind::Watch => "watch",
            AlertKind::Spike => "spike",
            AlertKind::Reminder => "reminder",
        }
    }

    fn parse(name: &str) -> Option<AlertKind> {
        [AlertKind::Watch, AlertKind::Spike, AlertKind::Reminder]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// An alert to write with its outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    /// Unique: a second alert with the same key is not written.
    pub key: String,
    /// The team it is for, if any.
    pub team: Option<String>,
    /// What it is about.
    pub kind: AlertKind,
    /// Its subject: `watch:12`, the theme key of a spike, `decision:3`.
    pub subject: String,
    /// The message to reply under, when it goes in a thread (a reminder in its decision's).
    pub thread: Option<String>,
    /// The rendered, platform-neutral message each channel is sent.
    pub message: Value,
    /// What it said, for reports and figures.
    pub summary: Value,
    /// Where to send it; repeated channels are sent once.
    pub channels: Vec<String>,
    /// When it is written.
    pub now: DateTime<Utc>,
    /// When its deliveries are due: `now`, or the end of the team's quiet hours.
    pub due: DateTime<Utc>,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// Its id.
    pub id: i64,
    /// Its unique key.
    pub key: String,
    /// The team it is for, if any.
    pub team: Option<String>,
    /// What it is about.
    pub kind: AlertKind,
    /// Its subject.
    pub subject: String,
    /// The message it replies under, if any.
    pub thread: Option<String>,
    /// The rendered message.
    pub message: Value,
    /// What it said.
    pub summary: Value,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// What [`Store::create_alert`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertCreated {
    /// This call wrote the alert and one pending delivery per channel.
    Created {
        /// The new alert.
        alert_id: i64,
        /// Its deliveries, in the order of the distinct channels given.
        deliveries: Vec<i64>,
    },
    /// An alert with the key exists; nothing was written.
    AlreadyExists {
        /// The existing alert.
        alert_id: i64,
    },
}

/// What [`Store::settle_watch`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WatchSettled {
    /// The watch moved on; with the alert written, if one was given.
    Settled {
        /// The alert's id.
        alert_id: Option<i64>,
    },
    /// The watch had moved on from the mark the caller read (another replica settled it), or
    /// it was ended: nothing was written.
    Lost,
}

/// Where a team's theme stands, as [`flywheel_insights::spike::step`] left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpikeStateRecord {
    /// The day of the alert while raised; `None` while quiet.
    pub alerted_on: Option<NaiveDate>,
    /// The last whole day folded into the state.
    pub through: NaiveDate,
}

/// Selects [`WatchRow`]s, followed by the given clauses.
macro_rules! select_watches {
    ($clauses:literal) => {
        concat!(
            "SELECT id, team, channel, query, cadence, created_by, created_at, config_key, \
             seen_seq, next_check_at, ended_at FROM watches ",
            $clauses
        )
    };
}

#[derive(Debug, sqlx::FromRow)]
struct WatchRow {
    id: i64,
    team: Option<String>,
    channel: String,
    query: String,
    cadence: String,
    created_by: String,
    created_at: i64,
    config_key: Option<String>,
    seen_seq: i64,
    next_check_at: i64,
    ended_at: Option<i64>,
}

impl WatchRow {
    fn into_watch(self) -> Result<Watch, StoreError> {
        let context = format!("watch {}", self.id);
        Ok(Watch {
            id: self.id,
            team: self.team,
            channel: self.channel,
            query: self.query,
            cadence: Cadence::parse(&self.cadence).ok_or_else(|| StoreError::Corrupt {
                detail: format!("{context}: unknown cadence {:?}", self.cadence),
            })?,
            created_by: self.created_by,
            created_at: instant(&context, "created_at", self.created_at)?,
            config_key: self.config_key,
            seen_seq: self.seen_seq,
            next_check_at: instant(&context, "next_check_at", self.next_check_at)?,
            ended_at: self
                .ended_at
                .map(|ms| instant(&context, "ended_at", ms))
                .transpose()?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct AlertRow {
    id: i64,
    alert_key: String,
    team: Option<String>,
    kind: String,
    subject: String,
    thread_ref: Option<String>,
    message: String,
    summary: String,
    created_at: i64,
}

impl AlertRow {
    fn into_record(self) -> Result<AlertRecord, StoreError> {
        let context = format!("alert {}", self.id);
        Ok(AlertRecord {
            id: self.id,
            key: self.alert_key,
            team: self.team,
            kind: AlertKind::parse(&self.kind).ok_or_else(|| StoreError::Corrupt {
                detail: format!("{context}: unknown kind {:?}", self.kind),
            })?,
            subject: self.subject,
            thread: self.thread_ref,
            message: parse_json(&context, "message", &self.message)?,
            summary: parse_json(&context, "summary", &self.summary)?,
            created_at: instant(&context, "created_at", self.created_at)?,
        })
    }
}

const SELECT_ALERTS: &str = "SELECT id, alert_key, team, kind, subject, thread_ref, message, \
     summary, created_at FROM alerts ";

/// The store's latest change.
const LATEST_CHANGE: &str = "SELECT change_seq FROM search_state WHERE id = 1";

/// Writes an alert and its deliveries in the open transaction, unless its key exists.
async fn insert_alert(db: &mut Db<'_>, alert: &NewAlert) -> Result<AlertCreated, sqlx::Error> {
    let insert = Sql::new(
        "INSERT INTO alerts (alert_key, team, kind, subject, thread_ref, message, summary, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (alert_key) DO NOTHING \
         RETURNING id",
    )
    .bind(alert.key.as_str())
    .bind(alert.team.clone())
    .bind(alert.kind.name())
    .bind(alert.subject.as_str())
    .bind(alert.thread.clone())
    .bind(json_text(&alert.message))
    .bind(json_text(&alert.summary))
    .bind(millis(alert.now));
    let inserted: Option<(i64,)> = db.fetch_optional(insert).await?;
    let Some((alert_id,)) = inserted else {
        let (alert_id,): (i64,) = db
            .fetch_one(
                Sql::new("SELECT id FROM alerts WHERE alert_key = $1").bind(alert.key.as_str()),
            )
            .await?;
        return Ok(AlertCreated::AlreadyExists { alert_id });
    };
    let channels = each_once(&alert.channels);
    let mut deliveries = Vec::with_capacity(channels.len());
    for channel in channels {
        let insert = Sql::new(
            "INSERT INTO deliveries (alert_id, channel, status, attempts, next_attempt_at, \
             created_at) VALUES ($1, $2, 'pending', 0, $3, $4) RETURNING id",
        )
        .bind(alert_id)
        .bind(channel)
        .bind(millis(alert.due.max(alert.now)))
        .bind(millis(alert.now));
        let (id,): (i64,) = db.fetch_one(insert).await?;
        deliveries.push(id);
    }
    Ok(AlertCreated::Created {
        alert_id,
        deliveries,
    })
}

/// Checks and writes an alert with its deliveries in the open transaction: for writes that
/// go with something else (a reminder marks its decision).
pub(crate) async fn write_alert(
    db: &mut Db<'_>,
    alert: &NewAlert,
    backend: Backend,
    context: &'static str,
) -> Result<AlertCreated, StoreError> {
    check_alert(alert, context, backend)?;
    insert_alert(db, alert).await.context(backend, context)
}

fn check_alert(
    alert: &NewAlert,
    context: &'static str,
    backend: Backend,
) -> Result<(), StoreError> {
    refuse_nul(
        backend,
        context,
        [
            ("key", alert.key.as_str()),
            ("subject", alert.subject.as_str()),
            ("team", alert.team.as_deref().unwrap_or("")),
            ("thread", alert.thread.as_deref().unwrap_or("")),
        ]
        .into_iter()
        .chain(alert.channels.iter().map(|c| ("channel", c.as_str()))),
    )?;
    if alert.channels.iter().any(|c| c.is_empty()) {
        return Err(refused(
            backend,
            context,
            "an alert's channel is empty".into(),
        ));
    }
    Ok(())
}

impl Store {
    /// Writes an alert and one delivery per distinct channel, due at `alert.due`, in one
    /// transaction, unless an alert with its key exists: then nothing is written and the
    /// existing one is named. Racing calls, from any number of replicas, write it once.
    #[tracing::instrument(skip(self, alert), fields(backend = %self.backend(), key = %alert.key))]
    pub async fn create_alert(&self, alert: &NewAlert) -> Result<AlertCreated, StoreError> {
        const CONTEXT: &str = "creating an alert";
        check_alert(alert, CONTEXT, self.backend())?;
        let backend = self.backend();
        let mut tx = self.pool.begin_write().await.context(backend, CONTEXT)?;
        let created = insert_alert(&mut tx.db(), alert)
            .await
            .context(backend, CONTEXT)?;
        tx.commit().await.context(backend, CONTEXT)?;
        Ok(created)
    }

    /// An alert by id.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn alert(&self, id: i64) -> Result<Option<AlertRecord>, StoreError> {
        const CONTEXT: &str = "reading an alert";
        let backend = self.backend();
        let mut b = SqlBuilder::new();
        b.push(SELECT_ALERTS).push("WHERE id = ").push_bind(id);
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let row: Option<AlertRow> = conn
            .db()
            .fetch_optional(b.build())
            .await
            .context(backend, CONTEXT)?;
        row.map(AlertRow::into_record).transpose()
    }

    /// The alerts of one kind written from `since` on, oldest first.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn alerts_since(
        &self,
        kind: AlertKind,
        since: DateTime<Utc>,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        const CONTEXT: &str = "listing alerts";
        let backend = self.backend();
        let mut b = SqlBuilder::new();
        b.push(SELECT_ALERTS)
            .push("WHERE kind = ")
            .push_bind(kind.name())
            .push(" AND created_at >= ")
            .push_bind(millis(since))
            .push(" ORDER BY created_at, id");
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let rows: Vec<AlertRow> = conn
            .db()
            .fetch_all(b.build())
            .await
            .context(backend, CONTEXT)?;
        rows.into_iter().map(AlertRow::into_record).collect()
    }

    /// The store's latest change: new insights are those added after the change a watch saw.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn latest_change(&self) -> Result<i64, StoreError> {
        const CONTEXT: &str = "reading the latest change";
        let backend = self.backend();
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let (seq,): (i64,) = conn
            .db()
            .fetch_one(Sql::new(LATEST_CHANGE))
            .await
            .context(backend, CONTEXT)?;
        Ok(seq)
    }

    /// Creates a watch that looks at insights added from now on, due at once. A watch declared
    /// in the configuration (`config_key`) that exists is brought in step instead (its team,
    /// channel, query and cadence) and keeps its place; one that was ended is started again.
    #[tracing::instrument(skip(self, watch), fields(backend = %self.backend()))]
    pub async fn create_watch(
        &self,
        watch: &NewWatch,
        now: DateTime<Utc>,
    ) -> Result<Watch, StoreError> {
        const CONTEXT: &str = "creating a watch";
        let backend = self.backend();
        refuse_nul(
            backend,
            CONTEXT,
            [
                ("team", watch.team.as_deref().unwrap_or("")),
                ("channel", watch.channel.as_str()),
                ("query", watch.query.as_str()),
                ("created_by", watch.created_by.as_str()),
                ("config_key", watch.config_key.as_deref().unwrap_or("")),
            ],
        )?;
        if watch.channel.is_empty() || watch.query.trim().is_empty() {
            return Err(refused(
                backend,
                CONTEXT,
                "a watch needs a channel and a question".into(),
            ));
        }
        let mut tx = self.pool.begin_write().await.context(backend, CONTEXT)?;
        let (seen,): (i64,) = tx
            .db()
            .fetch_one(Sql::new(LATEST_CHANGE))
            .await
            .context(backend, CONTEXT)?;
        let insert = Sql::new(
            "INSERT INTO watches (team, channel, query, cadence, created_by, created_at, \
             config_key, seen_seq, next_check_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $6) \
             ON CONFLICT (config_key) DO UPDATE SET team = excluded.team, \
             channel = excluded.channel, query = excluded.query, cadence = excluded.cadence, \
             ended_at = NULL, ended_by = NULL RETURNING id",
        )
        .bind(watch.team.clone())
        .bind(watch.channel.as_str())
        .bind(watch.query.as_str())
        .bind(watch.cadence.name())
        .bind(watch.created_by.as_str())
        .bind(millis(now))
        .bind(watch.config_key.clone())
        .bind(seen);
        let (id,): (i64,) = tx.db().fetch_one(insert).await.context(backend, CONTEXT)?;
        let row: WatchRow = tx
            .db()
            .fetch_one(Sql::new(select_watches!("WHERE id = $1")).bind(id))
            .await
            .context(backend, CONTEXT)?;
        tx.commit().await.context(backend, CONTEXT)?;
        row.into_watch()
    }

    /// A watch by id, ended or not.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn watch(&self, id: i64) -> Result<Option<Watch>, StoreError> {
        let rows = self
            .watch_rows(
                Sql::new(select_watches!("WHERE id = $1")).bind(id),
                "reading a watch",
            )
            .await?;
        Ok(rows.into_iter().next())
    }

    /// The watches of a channel that are not ended, oldest first.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn channel_watches(&self, channel: &str) -> Result<Vec<Watch>, StoreError> {
        self.watch_rows(
            Sql::new(select_watches!(
                "WHERE channel = $1 AND ended_at IS NULL ORDER BY id"
            ))
            .bind(channel),
            "listing a channel's watches",
        )
        .await
    }

    /// Every watch that is not ended, oldest first.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn active_watches(&self) -> Result<Vec<Watch>, StoreError> {
        self.watch_rows(
            Sql::new(select_watches!("WHERE ended_at IS NULL ORDER BY id")),
            "listing watches",
        )
        .await
    }

    /// The watches due to be looked at by `now`, oldest due first, at most `limit`.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn due_watches(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Watch>, StoreError> {
        self.watch_rows(
            Sql::new(select_watches!(
                "WHERE ended_at IS NULL AND next_check_at <= $1 \
                 ORDER BY next_check_at, id LIMIT $2"
            ))
            .bind(millis(now))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX)),
            "listing due watches",
        )
        .await
    }

    async fn watch_rows(&self, sql: Sql, context: &'static str) -> Result<Vec<Watch>, StoreError> {
        let backend = self.backend();
        let mut conn = self.pool.acquire().await.context(backend, context)?;
        let rows: Vec<WatchRow> = conn.db().fetch_all(sql).await.context(backend, context)?;
        rows.into_iter().map(WatchRow::into_watch).collect()
    }

    /// Ends watch `id`, when it exists, is not ended, and (when `channel` is given) belongs to
    /// that channel: the ended watch, or `None` when there was none to end.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn end_watch(
        &self,
        id: i64,
        channel: Option<&str>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Watch>, StoreError> {
        const CONTEXT: &str = "ending a watch";
        let backend = self.backend();
        refuse_nul(
            backend,
            CONTEXT,
            [("channel", channel.unwrap_or("")), ("by", by)],
        )?;
        let mut b = SqlBuilder::new();
        b.push("UPDATE watches SET ended_at = ")
            .push_bind(millis(now))
            .push(", ended_by = ")
            .push_bind(by)
            .push(" WHERE id = ")
            .push_bind(id)
            .push(" AND ended_at IS NULL");
        if let Some(channel) = channel {
            b.push(" AND channel = ").push_bind(channel);
        }
        b.push(" RETURNING id");
        let mut tx = self.pool.begin_write().await.context(backend, CONTEXT)?;
        let ended: Option<(i64,)> = tx
            .db()
            .fetch_optional(b.build())
            .await
            .context(backend, CONTEXT)?;
        tx.commit().await.context(backend, CONTEXT)?;
        match ended {
            Some(_) => self.watch(id).await,
            None => Ok(None),
        }
    }

    /// Ends the watches declared in the configuration whose key is not in `keep`: a watch
    /// removed from the file stops. Returns how many were ended.
    #[tracing::instrument(skip(self, keep), fields(backend = %self.backend()))]
    pub async fn end_undeclared_watches(
        &self,
        keep: &[String],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        const CONTEXT: &str = "ending undeclared watches";
        let backend = self.backend();
        let declared = self
            .active_watches()
            .await?
            .into_iter()
            .filter(|w| w.config_key.as_ref().is_some_and(|k| !keep.contains(k)));
        let mut ended = 0;
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        for watch in declared {
            let sql = Sql::new(
                "UPDATE watches SET ended_at = $1, ended_by = 'config' \
                 WHERE id = $2 AND ended_at IS NULL",
            )
            .bind(millis(now))
            .bind(watch.id);
            ended += conn.db().execute(sql).await.context(backend, CONTEXT)?;
        }
        Ok(ended)
    }

    /// Insights added after change `after` up to change `through`, that `scope` may see, in
    /// the order of their changes then ids, starting after `(after_seq, after_id)` when given,
    /// at most `limit`; each with the change that added it.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn insights_added(
        &self,
        after: i64,
        through: i64,
        from: Option<(i64, InsightId)>,
        scope: &Scope,
        limit: usize,
    ) -> Result<Vec<(i64, Insight)>, StoreError> {
        const CONTEXT: &str = "reading new insights";
        let backend = self.backend();
        let mut b = SqlBuilder::new();
        b.push("SELECT i.added_seq, ")
            .push(INSIGHT_COLUMNS)
            .push(" FROM insights i WHERE i.added_seq > ")
            .push_bind(after)
            .push(" AND i.added_seq <= ")
            .push_bind(through);
        if let Some((seq, id)) = from {
            b.push(" AND (i.added_seq > ")
                .push_bind(seq)
                .push(" OR (i.added_seq = ")
                .push_bind(seq)
                .push(" AND i.id > ")
                .push_bind(id)
                .push("))");
        }
        push_scope(&mut b, scope);
        b.push(" ORDER BY i.added_seq, i.id LIMIT ")
            .push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let rows: Vec<AddedRow> = conn
            .db()
            .fetch_all(b.build())
            .await
            .context(backend, CONTEXT)?;
        rows.into_iter()
            .map(|row| Ok((row.added_seq, row.insight.into_insight()?)))
            .collect()
    }

    /// Moves watch `id` from `seen` to `through` and schedules its next look at `next_check`,
    /// writing `alert` (with its deliveries) in the same transaction. Only succeeds while the
    /// watch is not ended and still at `seen`: otherwise nothing is written and
    /// [`WatchSettled::Lost`] says so.
    #[tracing::instrument(skip(self, alert), fields(backend = %self.backend()))]
    pub async fn settle_watch(
        &self,
        id: i64,
        seen: i64,
        through: i64,
        next_check: DateTime<Utc>,
        alert: Option<&NewAlert>,
    ) -> Result<WatchSettled, StoreError> {
        const CONTEXT: &str = "settling a watch";
        if let Some(alert) = alert {
            check_alert(alert, CONTEXT, self.backend())?;
        }
        let backend = self.backend();
        let mut tx = self.pool.begin_write().await.context(backend, CONTEXT)?;
        let moved = tx
            .db()
            .execute(
                Sql::new(
                    "UPDATE watches SET seen_seq = $1, next_check_at = $2 \
                     WHERE id = $3 AND seen_seq = $4 AND ended_at IS NULL",
                )
                .bind(through)
                .bind(millis(next_check))
                .bind(id)
                .bind(seen),
            )
            .await
            .context(backend, CONTEXT)?;
        if moved != 1 {
            return Ok(WatchSettled::Lost);
        }
        let alert_id = match alert {
            Some(alert) => match insert_alert(&mut tx.db(), alert)
                .await
                .context(backend, CONTEXT)?
            {
                AlertCreated::Created { alert_id, .. } => Some(alert_id),
                AlertCreated::AlreadyExists { .. } => return Ok(WatchSettled::Lost),
            },
            None => None,
        };
        tx.commit().await.context(backend, CONTEXT)?;
        Ok(WatchSettled::Settled { alert_id })
    }

    /// Where the team's theme stands, if it was ever looked at.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn spike_state(
        &self,
        team: &str,
        theme: &str,
    ) -> Result<Option<SpikeStateRecord>, StoreError> {
        const CONTEXT: &str = "reading a spike state";
        let backend = self.backend();
        let sql =
            Sql::new("SELECT alerted_on, through FROM spike_states WHERE team = $1 AND theme = $2")
                .bind(team)
                .bind(theme);
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let row: Option<(Option<String>, String)> = conn
            .db()
            .fetch_optional(sql)
            .await
            .context(backend, CONTEXT)?;
        let corrupt = |text: &str| StoreError::Corrupt {
            detail: format!("spike state of {team}/{theme}: bad day {text:?}"),
        };
        row.map(|(alerted_on, through)| {
            Ok(SpikeStateRecord {
                alerted_on: alerted_on
                    .map(|d| parse_day(&d).ok_or_else(|| corrupt(&d)))
                    .transpose()?,
                through: parse_day(&through).ok_or_else(|| corrupt(&through))?,
            })
        })
        .transpose()
    }

    /// Records where the team's theme stands now, writing `alert` (with its deliveries) in the
    /// same transaction. The alert's key keeps it once however many replicas record the same
    /// day: [`AlertCreated::AlreadyExists`] for all but one.
    #[tracing::instrument(skip(self, alert), fields(backend = %self.backend()))]
    pub async fn record_spike_state(
        &self,
        team: &str,
        theme: &str,
        state: SpikeStateRecord,
        alert: Option<&NewAlert>,
    ) -> Result<Option<AlertCreated>, StoreError> {
        const CONTEXT: &str = "recording a spike state";
        let backend = self.backend();
        refuse_nul(backend, CONTEXT, [("team", team), ("theme", theme)])?;
        if let Some(alert) = alert {
            check_alert(alert, CONTEXT, self.backend())?;
        }
        let mut tx = self.pool.begin_write().await.context(backend, CONTEXT)?;
        tx.db()
            .execute(
                Sql::new(
                    "INSERT INTO spike_states (team, theme, alerted_on, through) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (team, theme) DO UPDATE \
                     SET alerted_on = excluded.alerted_on, through = excluded.through",
                )
                .bind(team)
                .bind(theme)
                .bind(state.alerted_on.map(day_text))
                .bind(day_text(state.through)),
            )
            .await
            .context(backend, CONTEXT)?;
        let created = match alert {
            Some(alert) => Some(
                insert_alert(&mut tx.db(), alert)
                    .await
                    .context(backend, CONTEXT)?,
            ),
            None => None,
        };
        tx.commit().await.context(backend, CONTEXT)?;
        Ok(created)
    }
}

/// A new insight with the change that added it.
#[derive(Debug, sqlx::FromRow)]
struct AddedRow {
    added_seq: i64,
    #[sqlx(flatten)]
    insight: InsightRow,
}
