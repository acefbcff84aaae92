//! What people do with insights in chat, written back so the next digest knows about it:
//! flags asking a team to decide ([`Store::flag`], [`Store::open_flags`],
//! [`Store::resolve_flags`]), "useful" votes ([`Store::vote_useful`]), comments
//! ([`Store::add_comment`], [`Store::comments`]) and the threads that carry them
//! ([`Store::link_thread`], [`Store::thread_insight`]), a summary for the digest
//! ([`Store::engagement_since`]), and platform event deduplication ([`Store::first_delivery_of`]).
//!
//! Every write is idempotent under the key that the platform or the person gives it, decided by
//! the database (`ON CONFLICT`), so a retried event, a double click or two replicas handling the
//! same event leave one row. Writes about an insight that does not exist are refused with
//! [`StoreError::Constraint`].

use chrono::{DateTime, Utc};
use flywheel_insights::model::InsightId;
use flywheel_insights::search::Scope;
use serde::{Deserialize, Serialize};

use crate::db::{Sql, SqlBuilder};
use crate::digests::{instant, refuse_nul};
use crate::error::{QueryResultExt, StoreError};
use crate::store::Store;
use crate::values::millis;
use crate::visibility::push_scope;

/// What [`Store::flag`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FlagOutcome {
    /// The person's open flag on the insight for the team.
    pub flag_id: i64,
    /// Whether it was raised now (`false`: it was open already, and its note was updated).
    pub new: bool,
}

/// An insight with open flags for a team, as [`Store::open_flags`] lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenFlagRow {
    /// The insight.
    pub insight_id: InsightId,
    /// Its title.
    pub title: String,
    /// How many people flagged it.
    pub flags: u64,
    /// The most recently written note, if any flag has one.
    pub latest_note: Option<String>,
    /// When it was first flagged.
    pub first_flagged_at: DateTime<Utc>,
    /// When a flag on it was last raised or updated.
    pub last_flagged_at: DateTime<Utc>,
}

/// A comment from chat, for [`Store::add_comment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComment {
    /// The insight it is about.
    pub insight_id: InsightId,
    /// Who wrote it (the platform's user id).
    pub author: String,
    /// Where (`slack:C0123`).
    pub channel: String,
    /// The thread it was written in, if any.
    pub thread_ref: Option<String>,
    /// The platform's id of the message (a Slack `ts`); with `channel`, what makes a redelivered
    /// event a no-op.
    pub platform_ref: String,
    /// What it says.
    pub text: String,
    /// When it was written.
    pub now: DateTime<Utc>,
}

/// A stored comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentRow {
    /// Its id.
    pub id: i64,
    /// The insight it is about.
    pub insight_id: InsightId,
    /// Who wrote it.
    pub author: String,
    /// Where.
    pub channel: String,
    /// The thread it was written in, if any.
    pub thread_ref: Option<String>,
    /// The platform's id of the message.
    pub platform_ref: String,
    /// What it says.
    pub text: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// How much an insight was discussed and found useful in a window, as
/// [`Store::engagement_since`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngagementRow {
    /// The insight.
    pub insight_id: InsightId,
    /// Its title.
    pub title: String,
    /// Comments written in the window.
    pub comments: u64,
    /// "Useful" votes cast in the window.
    pub useful: u64,
}

/// Raises a flag unless the person has one open on the insight for the team. `$5` is "now".
const INSERT_FLAG: &str = "INSERT INTO insight_flags (insight_id, team, flagged_by, note, \
     flagged_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
     ON CONFLICT (insight_id, team, flagged_by) WHERE resolved_at IS NULL DO NOTHING \
     RETURNING id";

/// Updates the person's open flag, with the placeholders of [`INSERT_FLAG`]; no note keeps the
/// one written before.
const UPDATE_FLAG: &str = "UPDATE insight_flags SET note = COALESCE($4, note), updated_at = $5 \
     WHERE insight_id = $1 AND team = $2 AND flagged_by = $3 AND resolved_at IS NULL \
     RETURNING id";

/// A team's flagged insights, oldest first flag first.
const OPEN_FLAGS: &str = "SELECT f.insight_id, i.title, COUNT(*) AS flags, \
     MIN(f.flagged_at) AS first_flagged_at, MAX(f.updated_at) AS last_flagged_at, \
     (SELECT n.note FROM insight_flags n \
      WHERE n.insight_id = f.insight_id AND n.team = f.team AND n.resolved_at IS NULL \
        AND n.note IS NOT NULL \
      ORDER BY n.updated_at DESC, n.id DESC LIMIT 1) AS latest_note \
     FROM insight_flags f JOIN insights i ON i.id = f.insight_id \
     WHERE f.team = $1 AND f.resolved_at IS NULL \
     GROUP BY f.insight_id, f.team, i.title \
     ORDER BY first_flagged_at, f.insight_id";

/// An [`OpenFlagRow`] as selected by [`OPEN_FLAGS`].
#[derive(Debug, sqlx::FromRow)]
struct OpenFlagSqlRow {
    insight_id: i64,
    title: String,
    flags: i64,
    first_flagged_at: i64,
    last_flagged_at: i64,
    latest_note: Option<String>,
}

/// A [`CommentRow`] as selected by [`Store::comments`].
#[derive(Debug, sqlx::FromRow)]
struct CommentSqlRow {
    id: i64,
    insight_id: i64,
    author: String,
    channel: String,
    thread_ref: Option<String>,
    platform_ref: String,
    body: String,
    created_at: i64,
}

/// An [`EngagementRow`] as selected by [`Store::engagement_since`].
#[derive(Debug, sqlx::FromRow)]
struct EngagementSqlRow {
    insight_id: i64,
    title: String,
    comments: i64,
    useful: i64,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Appends a nullable integer: a placeholder, or `NULL` (bind values carry no NULL integers).
fn push_opt_int(b: &mut SqlBuilder, value: Option<i64>) {
    match value {
        Some(v) => b.push_bind(v),
        None => b.push("NULL"),
    };
}

impl Store {
    /// Flags an insight for a team's decision. The same person flagging the same insight for
    /// the same team while their flag is open updates its note (a `None` note keeps the old one)
    /// instead of raising a second flag; once resolved, flagging again raises a new one.
    #[tracing::instrument(skip(self, note), fields(backend = %self.backend()))]
    pub async fn flag(
        &self,
        insight_id: InsightId,
        team: &str,
        flagged_by: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<FlagOutcome, StoreError> {
        const CONTEXT: &str = "flagging an insight";
        let backend = self.backend();
        refuse_nul(
            backend,
            CONTEXT,
            [
                ("team", team),
                ("flagged_by", flagged_by),
                ("note", note.unwrap_or_default()),
            ],
        )?;
        let sql = |text: &'static str| {
            Sql::new(text)
                .bind(insight_id)
                .bind(team)
                .bind(flagged_by)
                .bind(note.map(str::to_string))
                .bind(millis(now))
        };
        let mut tx = self.pool.begin_write().await.context(backend, CONTEXT)?;
        let inserted: Option<(i64,)> = tx
            .db()
            .fetch_optional(sql(INSERT_FLAG))
            .await
            .context(backend, CONTEXT)?;
        let outcome = match inserted {
            Some((flag_id,)) => FlagOutcome { flag_id, new: true },
            None => {
                let updated: Option<(i64,)> = tx
                    .db()
                    .fetch_optional(sql(UPDATE_FLAG))
                    .await
                    .context(backend, CONTEXT)?;
                let (flag_id,) = updated.ok_or_else(|| StoreError::Query {
                    backend,
                    context: CONTEXT,
                    source: sqlx::Error::Protocol(format!(
                        "the flag on insight {insight_id} was neither inserted nor found"
                    )),
                })?;
                FlagOutcome {
                    flag_id,
                    new: false,
                }
            }
        };
        tx.commit().await.context(backend, CONTEXT)?;
        Ok(outcome)
    }

    /// The insights with open flags for a team, the longest waiting first.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn open_flags(&self, team: &str) -> Result<Vec<OpenFlagRow>, StoreError> {
        const CONTEXT: &str = "listing open flags";
        let backend = self.backend();
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let rows: Vec<OpenFlagSqlRow> = conn
            .db()
            .fetch_all(Sql::new(OPEN_FLAGS).bind(team))
            .await
            .context(backend, CONTEXT)?;
        rows.into_iter()
            .map(|row| {
                let context = format!("flags on insight {}", row.insight_id);
                Ok(OpenFlagRow {
                    insight_id: row.insight_id,
                    title: row.title,
                    flags: count(row.flags),
                    latest_note: row.latest_note,
                    first_flagged_at: instant(&context, "flagged_at", row.first_flagged_at)?,
                    last_flagged_at: instant(&context, "updated_at", row.last_flagged_at)?,
                })
            })
            .collect()
    }

    /// Closes a team's open flags on the given insights, citing the decision taken, if any.
    /// Returns how many flags were closed.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn resolve_flags(
        &self,
        team: &str,
        insight_ids: &[InsightId],
        decision_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        const CONTEXT: &str = "resolving flags";
        let backend = self.backend();
        refuse_nul(backend, CONTEXT, [("team", team)])?;
        if insight_ids.is_empty() {
            return Ok(0);
        }
        let mut b = SqlBuilder::new();
        b.push("UPDATE insight_flags SET resolved_at = ")
            .push_bind(millis(now))
            .push(", decision_id = ");
        push_opt_int(&mut b, decision_id);
        b.push(" WHERE resolved_at IS NULL AND team = ")
            .push_bind(team)
            .push(" AND insight_id IN (");
        for (n, id) in insight_ids.iter().enumerate() {
            b.push(if n == 0 { "" } else { ", " }).push_bind(*id);
        }
        b.push(")");
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        conn.db().execute(b.build()).await.context(backend, CONTEXT)
    }

    /// Records that a person found an insight useful. Returns `true` the first time, `false`
    /// when they had voted already (a vote counts once).
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn vote_useful(
        &self,
        insight_id: InsightId,
        voter: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const CONTEXT: &str = "recording a vote";
        let backend = self.backend();
        refuse_nul(backend, CONTEXT, [("voter", voter)])?;
        let sql = Sql::new(
            "INSERT INTO insight_votes (insight_id, voter, voted_at) VALUES ($1, $2, $3) \
             ON CONFLICT (insight_id, voter) DO NOTHING",
        )
        .bind(insight_id)
        .bind(voter)
        .bind(millis(now));
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let added = conn.db().execute(sql).await.context(backend, CONTEXT)?;
        Ok(added == 1)
    }

    /// Stores a comment on an insight. Returns `false`, writing nothing, when the channel's
    /// message with this `platform_ref` was stored already (the platform delivered it again).
    #[tracing::instrument(skip(self, comment), fields(backend = %self.backend(), insight_id = comment.insight_id))]
    pub async fn add_comment(&self, comment: &NewComment) -> Result<bool, StoreError> {
        const CONTEXT: &str = "adding a comment";
        let backend = self.backend();
        refuse_nul(
            backend,
            CONTEXT,
            [
                ("author", comment.author.as_str()),
                ("channel", comment.channel.as_str()),
                (
                    "thread_ref",
                    comment.thread_ref.as_deref().unwrap_or_default(),
                ),
                ("platform_ref", comment.platform_ref.as_str()),
                ("text", comment.text.as_str()),
            ],
        )?;
        let sql = Sql::new(
            "INSERT INTO insight_comments (insight_id, author, channel, thread_ref, platform_ref, \
             body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (channel, platform_ref) DO NOTHING",
        )
        .bind(comment.insight_id)
        .bind(comment.author.as_str())
        .bind(comment.channel.as_str())
        .bind(comment.thread_ref.clone())
        .bind(comment.platform_ref.as_str())
        .bind(comment.text.as_str())
        .bind(millis(comment.now));
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let added = conn.db().execute(sql).await.context(backend, CONTEXT)?;
        Ok(added == 1)
    }

    /// An insight's comments, oldest first.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn comments(&self, insight_id: InsightId) -> Result<Vec<CommentRow>, StoreError> {
        const CONTEXT: &str = "listing comments";
        let backend = self.backend();
        let sql = Sql::new(
            "SELECT id, insight_id, author, channel, thread_ref, platform_ref, body, created_at \
             FROM insight_comments WHERE insight_id = $1 ORDER BY created_at, id",
        )
        .bind(insight_id);
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let rows: Vec<CommentSqlRow> = conn.db().fetch_all(sql).await.context(backend, CONTEXT)?;
        rows.into_iter()
            .map(|row| {
                let created_at =
                    instant(&format!("comment {}", row.id), "created_at", row.created_at)?;
                Ok(CommentRow {
                    id: row.id,
                    insight_id: row.insight_id,
                    author: row.author,
                    channel: row.channel,
                    thread_ref: row.thread_ref,
                    platform_ref: row.platform_ref,
                    text: row.body,
                    created_at,
                })
            })
            .collect()
    }

    /// Remembers that a chat thread is about an insight (a digest item's thread, say), so
    /// replies in it become comments on that insight. Linking the thread again re-points it.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn link_thread(
        &self,
        channel: &str,
        thread_ref: &str,
        insight_id: InsightId,
        digest_id: Option<i64>,
    ) -> Result<(), StoreError> {
        const CONTEXT: &str = "linking a thread";
        let backend = self.backend();
        refuse_nul(
            backend,
            CONTEXT,
            [("channel", channel), ("thread_ref", thread_ref)],
        )?;
        let mut b = SqlBuilder::new();
        b.push("INSERT INTO chat_threads (channel, thread_ref, insight_id, digest_id) VALUES (")
            .push_bind(channel)
            .push(", ")
            .push_bind(thread_ref)
            .push(", ")
            .push_bind(insight_id)
            .push(", ");
        push_opt_int(&mut b, digest_id);
        b.push(
            ") ON CONFLICT (channel, thread_ref) DO UPDATE \
             SET insight_id = excluded.insight_id, digest_id = excluded.digest_id",
        );
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        conn.db()
            .execute(b.build())
            .await
            .context(backend, CONTEXT)?;
        Ok(())
    }

    /// The insight a chat thread is about, if it was linked.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn thread_insight(
        &self,
        channel: &str,
        thread_ref: &str,
    ) -> Result<Option<InsightId>, StoreError> {
        const CONTEXT: &str = "finding a thread's insight";
        let backend = self.backend();
        let sql =
            Sql::new("SELECT insight_id FROM chat_threads WHERE channel = $1 AND thread_ref = $2")
                .bind(channel)
                .bind(thread_ref);
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let row: Option<(i64,)> = conn
            .db()
            .fetch_optional(sql)
            .await
            .context(backend, CONTEXT)?;
        Ok(row.map(|(id,)| id))
    }

    /// Whether this is the first time a platform event is seen, remembering it: `true` once per
    /// key, then `false` (Slack retries events it believes were lost; handle each once).
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn first_delivery_of(
        &self,
        event_key: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const CONTEXT: &str = "remembering an event";
        let backend = self.backend();
        refuse_nul(backend, CONTEXT, [("event_key", event_key)])?;
        let sql = Sql::new(
            "INSERT INTO seen_events (event_key, seen_at) VALUES ($1, $2) \
             ON CONFLICT (event_key) DO NOTHING",
        )
        .bind(event_key)
        .bind(millis(now));
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let added = conn.db().execute(sql).await.context(backend, CONTEXT)?;
        Ok(added == 1)
    }

    /// Forgets one event, so that its next delivery is handled: how a handler that failed
    /// gives the event back to the platform's retries. Whether it was remembered.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn forget_event(&self, event_key: &str) -> Result<bool, StoreError> {
        const CONTEXT: &str = "forgetting an event";
        let backend = self.backend();
        refuse_nul(backend, CONTEXT, [("event_key", event_key)])?;
        let sql = Sql::new("DELETE FROM seen_events WHERE event_key = $1").bind(event_key);
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let forgotten = conn.db().execute(sql).await.context(backend, CONTEXT)?;
        Ok(forgotten == 1)
    }

    /// Forgets the platform events first seen before `older_than`, returning how many were
    /// forgotten. Platforms stop retrying an event within minutes (Slack: three retries over
    /// about an hour), so a day's memory is plenty; without pruning, the table of seen events
    /// grows with every event ever received. An event seen exactly at `older_than` is kept.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn prune_seen(&self, older_than: DateTime<Utc>) -> Result<u64, StoreError> {
        const CONTEXT: &str = "pruning seen events";
        let backend = self.backend();
        let sql = Sql::new("DELETE FROM seen_events WHERE seen_at < $1").bind(millis(older_than));
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        conn.db().execute(sql).await.context(backend, CONTEXT)
    }

    /// The insights the scope may see that were commented on or voted useful since `since`,
    /// with the counts in that window: most activity first (ties: more comments, then id), at
    /// most `limit`.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn engagement_since(
        &self,
        scope: &Scope,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<EngagementRow>, StoreError> {
        const CONTEXT: &str = "summarizing engagement";
        let backend = self.backend();
        let mut b = SqlBuilder::new();
        b.push(
            "SELECT i.id AS insight_id, i.title, COALESCE(c.n, 0) AS comments, \
             COALESCE(v.n, 0) AS useful FROM insights i \
             LEFT JOIN (SELECT insight_id, COUNT(*) AS n FROM insight_comments \
             WHERE created_at >= ",
        )
        .push_bind(millis(since))
        .push(
            " GROUP BY insight_id) c ON c.insight_id = i.id \
             LEFT JOIN (SELECT insight_id, COUNT(*) AS n FROM insight_votes WHERE voted_at >= ",
        )
        .push_bind(millis(since))
        .push(
            " GROUP BY insight_id) v ON v.insight_id = i.id \
             WHERE (c.n IS NOT NULL OR v.n IS NOT NULL)",
        );
        push_scope(&mut b, scope);
        b.push(
            " ORDER BY COALESCE(c.n, 0) + COALESCE(v.n, 0) DESC, COALESCE(c.n, 0) DESC, i.id \
             LIMIT ",
        )
        .push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let rows: Vec<EngagementSqlRow> = conn
            .db()
            .fetch_all(b.build())
            .await
            .context(backend, CONTEXT)?;
        Ok(rows
            .into_iter()
            .map(|row| EngagementRow {
                insight_id: row.insight_id,
                title: row.title,
                comments: count(row.comments),
                useful: count(row.useful),
            })
            .collect())
    }
}
