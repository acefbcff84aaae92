//! Writing and reading insights: [`Store::upsert`] for importers, [`Store::insight`] to show one,
//! [`Store::count`] and [`Store::theme_counts`] for summaries and "did you mean".
//!
//! An insight's identity is `(source, source_ref)`. Re-importing it compares fingerprints: the
//! same fingerprint writes nothing, a new one rewrites every field, its themes and its teams
//! while keeping `added_at`. A batch is written with few statements: one look-up of the rows
//! that exist, multi-row inserts for the new ones and their themes, one update per changed row.
//! Batches take turns on both backends (SQLite has a single writer; PostgreSQL upserts take a
//! transaction-scoped advisory lock), so the look-up stays true until the batch commits and
//! importers writing the same rows in different orders cannot deadlock; the insert still yields
//! to the unique key (`ON CONFLICT DO NOTHING`) and the update still only happens while the
//! stored fingerprint differs.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use flywheel_insights::index::PreparedInsight;
use flywheel_insights::model::{self, Insight, InsightData, InsightId, Severity, Vocabulary};
use flywheel_insights::search::{Count, Scope};
use serde::{Deserialize, Serialize};

use crate::db::{Db, MAX_BINDS, Sql, SqlBuilder};
use crate::error::{QueryResultExt, StoreError};
use crate::search::Indexing;
use crate::store::{Backend, Store};
use crate::values::{
    day_text, from_millis, list_text, millis, parse_day, parse_list, parse_vocabulary, storable_day,
};
use crate::visibility::{self, push_scope, write_teams};

/// What [`Store::upsert`] did with one insight of the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UpsertOutcome {
    /// It was new.
    Inserted(InsightId),
    /// It existed with another fingerprint and was rewritten.
    Updated(InsightId),
    /// It existed with the same fingerprint; nothing was written.
    Unchanged(InsightId),
}

impl UpsertOutcome {
    /// The insight's id, whatever happened.
    pub fn id(self) -> InsightId {
        match self {
            UpsertOutcome::Inserted(id)
            | UpsertOutcome::Updated(id)
            | UpsertOutcome::Unchanged(id) => id,
        }
    }
}

/// The columns an [`Insight`] is read from, on the `insights` table aliased `i`.
pub(crate) const INSIGHT_COLUMNS: &str = "i.id, i.source, i.source_ref, i.title, i.body, \
     i.observed_on, i.segment, i.stage, i.kind, i.sentiment, i.severity, i.account, i.url, \
     i.visibility, i.tags, i.themes, i.added_at, i.updated_at";

/// An `insights` row as selected by [`INSIGHT_COLUMNS`].
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct InsightRow {
    id: i64,
    source: String,
    source_ref: String,
    title: String,
    body: String,
    observed_on: String,
    segment: Option<String>,
    stage: Option<String>,
    kind: Option<String>,
    sentiment: String,
    severity: i64,
    account: Option<String>,
    url: Option<String>,
    visibility: String,
    tags: String,
    themes: String,
    added_at: i64,
    updated_at: i64,
}

impl InsightRow {
    /// Its id.
    pub(crate) fn id(&self) -> InsightId {
        self.id
    }

    /// The domain's insight, or why the row cannot be one.
    pub(crate) fn into_insight(self) -> Result<Insight, StoreError> {
        let id = self.id;
        let corrupt = |reason: String| StoreError::Corrupt {
            detail: format!("insight {id}: {reason}"),
        };
        let stage = self
            .stage
            .map(|name| {
                parse_vocabulary(&name).ok_or_else(|| corrupt(format!("unknown stage {name:?}")))
            })
            .transpose()?;
        let kind = self
            .kind
            .map(|name| {
                parse_vocabulary(&name).ok_or_else(|| corrupt(format!("unknown kind {name:?}")))
            })
            .transpose()?;
        let sentiment = parse_vocabulary(&self.sentiment)
            .ok_or_else(|| corrupt(format!("unknown sentiment {:?}", self.sentiment)))?;
        let severity = u8::try_from(self.severity)
            .ok()
            .and_then(Severity::new)
            .ok_or_else(|| corrupt(format!("severity {} is outside 1-5", self.severity)))?;
        let observed_on = parse_day(&self.observed_on)
            .ok_or_else(|| corrupt(format!("observed_on {:?} is not a date", self.observed_on)))?;
        let visibility = visibility::parse_column(&self.visibility)
            .ok_or_else(|| corrupt(format!("visibility {:?} is unreadable", self.visibility)))?;
        let tags = parse_list(&self.tags)
            .ok_or_else(|| corrupt(format!("tags {:?} are not a JSON list", self.tags)))?;
        let themes = parse_list(&self.themes)
            .ok_or_else(|| corrupt(format!("themes {:?} are not a JSON list", self.themes)))?;
        let added_at = from_millis(self.added_at)
            .ok_or_else(|| corrupt(format!("added_at {} is out of range", self.added_at)))?;
        let updated_at = from_millis(self.updated_at)
            .ok_or_else(|| corrupt(format!("updated_at {} is out of range", self.updated_at)))?;
        Ok(Insight {
            id,
            data: InsightData {
                source: self.source,
                source_ref: self.source_ref,
                title: self.title,
                body: self.body,
                observed_on,
                tags,
                segment: self.segment,
                stage,
                kind,
                sentiment,
                severity,
                account: self.account,
                url: self.url,
                visibility,
            },
            themes,
            added_at,
            updated_at,
        })
    }
}

/// A name and how many insights carry it, as the breakdown queries select it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CountRow {
    display: String,
    matches: i64,
}

impl From<CountRow> for Count {
    fn from(row: CountRow) -> Count {
        Count {
            name: row.display,
            count: u64::try_from(row.matches).unwrap_or(0),
        }
    }
}

/// Rewrites the insight only if its fingerprint changed; `added_at` is kept. `$19` is "now",
/// `$20` the change that writes it.
const UPDATE_CHANGED: &str = "UPDATE insights SET title = $3, body = $4, observed_on = $5, \
     segment = $6, segment_key = $7, stage = $8, kind = $9, sentiment = $10, severity = $11, \
     account = $12, account_key = $13, url = $14, visibility = $15, tags = $16, themes = $17, \
     fingerprint = $18, updated_at = $19, change_seq = $20 \
     WHERE source = $1 AND source_ref = $2 AND fingerprint <> $18 \
     RETURNING id";

/// Takes the store's next change. On PostgreSQL the row stays locked until the transaction
/// ends, so changes commit in the order of their numbers.
const NEXT_CHANGE: &str =
    "UPDATE search_state SET change_seq = change_seq + 1 WHERE id = 1 RETURNING change_seq";

/// How many themes go into one multi-row insert, at 3 values a theme ([`MAX_BINDS`]).
const THEMES_PER_STATEMENT: usize = MAX_BINDS / 3;

/// Makes PostgreSQL upserts into this schema take turns, as SQLite writers always do. Without it,
/// two importers writing overlapping rows in different orders deadlock on the unique index, and
/// retrying tends to deadlock again for as long as both run. The lock ends with the transaction.
const ONE_UPSERT_AT_A_TIME: &str =
    "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.insights.upsert'))";

/// How many times a batch is retried when PostgreSQL aborts it to break a deadlock or a
/// serialization conflict (with writers other than upserts, which take turns).
const CONFLICT_RETRIES: usize = 3;

impl Store {
    /// Writes a batch of prepared insights in one transaction, in order, and says what happened
    /// to each. A batch either is written entirely or not at all.
    ///
    /// The `source` is stored lowercase (the `source:` filter is case-insensitive). Dates must be
    /// within the years 0000–9999 and text must not contain NUL characters; otherwise the whole
    /// batch is refused with [`StoreError::InvalidInsight`]. Instants keep millisecond precision.
    #[tracing::instrument(skip(self, batch), fields(backend = %self.backend(), rows = batch.len()))]
    pub async fn upsert(
        &self,
        batch: &[PreparedInsight],
        now: DateTime<Utc>,
    ) -> Result<Vec<UpsertOutcome>, StoreError> {
        let (outcomes, change) = self.write_batch(batch, now).await?;
        if let Some(change) = change {
            self.start_indexing(change, batch.to_vec(), &outcomes, false)
                .finish()
                .await?;
        }
        Ok(outcomes)
    }

    /// [`Store::upsert`] for a bulk writer, returning once the batch is written, while it is
    /// indexed on its own. A bulk writer writes its next batch meanwhile, and finishes each
    /// [`Indexing`] before starting the next, so the index takes changes in order. The index
    /// commits every few thousand rows rather than every batch; when the writer is done it calls
    /// [`Store::commit_indexing`]. Until then searches see its rows all the same: a search
    /// first brings the index up to the store, committing what the writer holds.
    #[tracing::instrument(skip(self, batch), fields(backend = %self.backend(), rows = batch.len()))]
    pub async fn upsert_indexing_after(
        &self,
        batch: Vec<PreparedInsight>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<UpsertOutcome>, Indexing), StoreError> {
        let (outcomes, change) = self.write_batch(&batch, now).await?;
        let indexing = match change {
            Some(change) => self.start_indexing(change, batch, &outcomes, true),
            None => Indexing::done(),
        };
        Ok((outcomes, indexing))
    }

    /// Writes the batch, retrying after a conflict; also returns the change it was written
    /// as, unless nothing changed.
    async fn write_batch(
        &self,
        batch: &[PreparedInsight],
        now: DateTime<Utc>,
    ) -> Result<(Vec<UpsertOutcome>, Option<i64>), StoreError> {
        for prepared in batch {
            check_storable(prepared)?;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_upsert(batch, now).await {
                Err(StoreError::Query { source, .. })
                    if attempt <= CONFLICT_RETRIES && is_retryable(&source) =>
                {
                    tracing::debug!(attempt, error = %source, "retrying the batch after a conflict");
                }
                outcome => return outcome,
            }
        }
    }

    /// Writes the batch; also returns the change it was written as, unless nothing changed.
    async fn try_upsert(
        &self,
        batch: &[PreparedInsight],
        now: DateTime<Utc>,
    ) -> Result<(Vec<UpsertOutcome>, Option<i64>), StoreError> {
        const CONTEXT: &str = "upserting insights";
        let backend = self.backend();
        let mut tx = self.pool.begin_write().await.context(backend, CONTEXT)?;
        if backend == Backend::Postgres {
            tx.db()
                .execute(Sql::new(ONE_UPSERT_AT_A_TIME))
                .await
                .context(backend, CONTEXT)?;
        }
        let (change,): (i64,) = tx
            .db()
            .fetch_one(Sql::new(NEXT_CHANGE))
            .await
            .context(backend, CONTEXT)?;
        let mut outcomes = Vec::with_capacity(batch.len());
        // Rows naming the same insight twice are written in turn, as separate upserts would be.
        for (n, run) in runs_without_repeats(batch).into_iter().enumerate() {
            outcomes.extend(
                upsert_run(&mut tx.db(), run, millis(now), change, n == 0)
                    .await
                    .context(backend, CONTEXT)?,
            );
        }
        if outcomes
            .iter()
            .all(|o| matches!(o, UpsertOutcome::Unchanged(_)))
        {
            // Nothing was written: give the change number back.
            drop(tx);
            return Ok((outcomes, None));
        }
        tx.commit().await.context(backend, CONTEXT)?;
        Ok((outcomes, Some(change)))
    }

    /// One insight by id, if it exists and the scope may see it.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn insight(
        &self,
        id: InsightId,
        scope: &Scope,
    ) -> Result<Option<Insight>, StoreError> {
        const CONTEXT: &str = "reading an insight";
        let backend = self.backend();
        let mut b = SqlBuilder::new();
        b.push("SELECT ")
            .push(INSIGHT_COLUMNS)
            .push(" FROM insights i WHERE i.id = ")
            .push_bind(id);
        push_scope(&mut b, scope);
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let row: Option<InsightRow> = conn
            .db()
            .fetch_optional(b.build())
            .await
            .context(backend, CONTEXT)?;
        row.map(InsightRow::into_insight).transpose()
    }

    /// How many insights the scope may see.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn count(&self, scope: &Scope) -> Result<u64, StoreError> {
        const CONTEXT: &str = "counting insights";
        let backend = self.backend();
        let mut b = SqlBuilder::new();
        b.push("SELECT COUNT(*) FROM insights i WHERE TRUE");
        push_scope(&mut b, scope);
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let (n,): (i64,) = conn
            .db()
            .fetch_one(b.build())
            .await
            .context(backend, CONTEXT)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Every theme of the insights the scope may see, with how many carry it, largest first (ties
    /// by name). Spellings sharing a key count as one theme, shown under one of them.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn theme_counts(&self, scope: &Scope) -> Result<Vec<Count>, StoreError> {
        const CONTEXT: &str = "counting themes";
        let backend = self.backend();
        let mut b = SqlBuilder::new();
        b.push(
            "SELECT MIN(t.name) AS display, COUNT(*) AS matches \
             FROM insight_themes t JOIN insights i ON i.id = t.insight_id WHERE TRUE",
        );
        push_scope(&mut b, scope);
        b.push(" GROUP BY t.key ORDER BY matches DESC, display");
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let rows: Vec<CountRow> = conn
            .db()
            .fetch_all(b.build())
            .await
            .context(backend, CONTEXT)?;
        Ok(rows.into_iter().map(Count::from).collect())
    }
}

/// Whether a failed batch may simply be run again: PostgreSQL broke a deadlock or a
/// serialization conflict by aborting it.
fn is_retryable(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}

/// Refuses what the backends cannot store faithfully, before anything is written.
fn check_storable(prepared: &PreparedInsight) -> Result<(), StoreError> {
    let data = &prepared.data;
    let invalid = |reason: String| StoreError::InvalidInsight {
        source_name: data.source.clone(),
        source_ref: data.source_ref.clone(),
        reason,
    };
    if !storable_day(data.observed_on) {
        return Err(invalid(format!(
            "observed_on {} is outside the years 0000-9999",
            data.observed_on
        )));
    }
    let teams: &[String] = match &data.visibility {
        model::Visibility::All => &[],
        model::Visibility::Teams(teams) => teams,
    };
    // PostgreSQL text cannot hold NUL; refusing it on both backends keeps them alike.
    let fields = [
        ("source", Some(data.source.as_str())),
        ("source_ref", Some(data.source_ref.as_str())),
        ("title", Some(data.title.as_str())),
        ("body", Some(data.body.as_str())),
        ("segment", data.segment.as_deref()),
        ("account", data.account.as_deref()),
        ("url", data.url.as_deref()),
        ("fingerprint", Some(prepared.fingerprint.as_str())),
    ];
    let lists = [
        ("tags", &data.tags[..]),
        ("themes", &prepared.themes[..]),
        ("visibility", teams),
    ];
    let nul_in = fields
        .iter()
        .filter_map(|(name, value)| value.map(|v| (*name, v)))
        .chain(
            lists
                .iter()
                .flat_map(|(name, values)| values.iter().map(move |v| (*name, v.as_str()))),
        )
        .find(|(_, value)| value.contains('\0'));
    if let Some((name, _)) = nul_in {
        return Err(invalid(format!("{name} contains a NUL character")));
    }
    Ok(())
}

/// `text` lowercase, copied only when that changes it (a prepared insight's source already is).
fn lowercase(text: &str) -> Cow<'_, str> {
    if text
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// Consecutive slices of `batch` in none of which an insight (by source and source_ref) comes
/// twice.
fn runs_without_repeats(batch: &[PreparedInsight]) -> Vec<&[PreparedInsight]> {
    let mut runs = Vec::new();
    let mut seen: HashSet<(Cow<str>, &str)> = HashSet::new();
    let mut start = 0;
    for (i, prepared) in batch.iter().enumerate() {
        let key = (
            lowercase(&prepared.data.source),
            prepared.data.source_ref.as_str(),
        );
        if seen.contains(&key) {
            runs.push(&batch[start..i]);
            start = i;
            seen.clear();
        }
        seen.insert(key);
    }
    if start < batch.len() {
        runs.push(&batch[start..]);
    }
    runs
}

/// Rows inserted per statement, at 22 values a row ([`MAX_BINDS`]).
const ROWS_PER_STATEMENT: usize = MAX_BINDS / 22;

/// References looked up, or ids cleared, per statement ([`MAX_BINDS`]).
const KEYS_PER_STATEMENT: usize = MAX_BINDS - 1;

/// The stored id and fingerprint of insights, by lowercase source, then source_ref.
type Existing = HashMap<String, HashMap<String, (InsightId, String)>>;

/// Writes rows none of which names the same insight twice, inside the batch's transaction. On
/// SQLite: one look-up of what exists, multi-row inserts for what is new (with their themes and
/// teams), one update per changed row; unchanged rows are not touched. On PostgreSQL:
/// [`copy_run`].
async fn upsert_run(
    db: &mut Db<'_>,
    run: &[PreparedInsight],
    now: i64,
    change: i64,
    first_run: bool,
) -> Result<Vec<UpsertOutcome>, sqlx::Error> {
    if let Db::Postgres(conn) = db {
        return copy_run(conn, run, now, change, first_run).await;
    }
    let keys: Vec<(Cow<str>, &str)> = run
        .iter()
        .map(|p| (lowercase(&p.data.source), p.data.source_ref.as_str()))
        .collect();
    let mut existing: Existing = HashMap::new();
    // One source and a list of references, so that SQLite searches the unique index for each
    // reference: with `(source, source_ref) IN (VALUES …)` it scans the whole index instead,
    // and an import slows down with every row already stored.
    let mut by_source: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (source, source_ref) in &keys {
        by_source
            .entry(source.as_ref())
            .or_default()
            .push(source_ref);
    }
    for (source, refs) in &by_source {
        for chunk in refs.chunks(KEYS_PER_STATEMENT) {
            let mut b = SqlBuilder::new();
            b.push("SELECT id, source, source_ref, fingerprint FROM insights WHERE source = ")
                .push_bind(*source)
                .push(" AND source_ref IN (");
            for (n, source_ref) in chunk.iter().enumerate() {
                if n > 0 {
                    b.push(", ");
                }
                b.push_bind(*source_ref);
            }
            b.push(")");
            let rows: Vec<(i64, String, String, String)> = db.fetch_all(b.build()).await?;
            for (id, source, source_ref, fingerprint) in rows {
                existing
                    .entry(source)
                    .or_default()
                    .insert(source_ref, (id, fingerprint));
            }
        }
    }

    let mut outcomes = Vec::with_capacity(run.len());
    let mut new = Vec::new();
    let mut changed = Vec::new();
    for (i, (prepared, (source, source_ref))) in run.iter().zip(&keys).enumerate() {
        match existing
            .get(source.as_ref())
            .and_then(|refs| refs.get(*source_ref))
        {
            None => {
                new.push(i);
                outcomes.push(None);
            }
            Some((id, fingerprint)) if *fingerprint == prepared.fingerprint => {
                outcomes.push(Some(UpsertOutcome::Unchanged(*id)));
            }
            Some((id, _)) => {
                changed.push((i, *id));
                outcomes.push(Some(UpsertOutcome::Updated(*id)));
            }
        }
    }

    let mut inserted: Vec<(InsightId, &PreparedInsight)> = Vec::with_capacity(new.len());
    for chunk in new.chunks(ROWS_PER_STATEMENT) {
        let mut b = SqlBuilder::new();
        b.push(
            "INSERT INTO insights (source, source_ref, title, body, observed_on, segment, \
             segment_key, stage, kind, sentiment, severity, account, account_key, url, \
             visibility, tags, themes, fingerprint, added_at, updated_at, change_seq, \
             added_seq) VALUES ",
        );
        for (n, &i) in chunk.iter().enumerate() {
            b.push(if n == 0 { "(" } else { ", (" });
            push_values(&mut b, &run[i], now, change);
            b.push(")");
        }
        b.push(" ON CONFLICT (source, source_ref) DO NOTHING RETURNING id, source, source_ref");
        let rows: Vec<(i64, String, String)> = db.fetch_all(b.build()).await?;
        let mut ids: HashMap<String, HashMap<String, i64>> = HashMap::new();
        for (id, source, source_ref) in rows {
            ids.entry(source).or_default().insert(source_ref, id);
        }
        for &i in chunk {
            let (source, source_ref) = &keys[i];
            // Only a writer that ignores the upsert lock could have inserted it meanwhile.
            let id = *ids
                .get(source.as_ref())
                .and_then(|refs| refs.get(*source_ref))
                .ok_or_else(|| {
                    sqlx::Error::Protocol(format!(
                        "insight {source}/{source_ref} was neither inserted nor found"
                    ))
                })?;
            outcomes[i] = Some(UpsertOutcome::Inserted(id));
            inserted.push((id, &run[i]));
        }
    }

    for &(i, _) in &changed {
        // Rewrites every field but `added_at`, still only if the fingerprint differs.
        db.fetch_optional::<(i64,)>(bound_row(UPDATE_CHANGED, &run[i], now, change))
            .await?;
    }
    let changed_ids: Vec<InsightId> = changed.iter().map(|&(_, id)| id).collect();
    clear_themes_and_teams(db, &changed_ids).await?;
    let written: Vec<(InsightId, &PreparedInsight)> = inserted
        .into_iter()
        .chain(changed.iter().map(|&(i, id)| (id, &run[i])))
        .collect();
    write_themes_of(db, &written).await?;
    let visibilities: Vec<(InsightId, &model::Visibility)> = written
        .iter()
        .map(|(id, p)| (*id, &p.data.visibility))
        .collect();
    write_teams(db, &visibilities).await?;
    Ok(outcomes
        .into_iter()
        .map(|o| o.expect("every row has an outcome"))
        .collect())
}

/// The rows of one run on PostgreSQL, copied in before they are merged: private to the
/// transaction, created by its first run and dropped when it ends.
const CREATE_BATCH_TABLE: &str = "CREATE TEMPORARY TABLE insight_batch (\
     pos BIGINT NOT NULL, source TEXT NOT NULL, source_ref TEXT NOT NULL, title TEXT NOT NULL, \
     body TEXT NOT NULL, observed_on TEXT NOT NULL, segment TEXT, segment_key TEXT, stage TEXT, \
     kind TEXT, sentiment TEXT NOT NULL, severity BIGINT NOT NULL, account TEXT, \
     account_key TEXT, url TEXT, visibility TEXT NOT NULL, tags TEXT NOT NULL, \
     themes TEXT NOT NULL, fingerprint TEXT NOT NULL) ON COMMIT DROP";

const COPY_BATCH: &str = "COPY insight_batch (pos, source, source_ref, title, body, \
     observed_on, segment, segment_key, stage, kind, sentiment, severity, account, account_key, \
     url, visibility, tags, themes, fingerprint) FROM STDIN";

/// Rewrites the stored insights whose fingerprint differs from the copied row's. `$1` is
/// "now", `$2` the change.
const MERGE_CHANGED: &str = "UPDATE insights i SET title = b.title, body = b.body, \
     observed_on = b.observed_on, segment = b.segment, segment_key = b.segment_key, \
     stage = b.stage, kind = b.kind, sentiment = b.sentiment, severity = b.severity, \
     account = b.account, account_key = b.account_key, url = b.url, visibility = b.visibility, \
     tags = b.tags, themes = b.themes, fingerprint = b.fingerprint, updated_at = $1, \
     change_seq = $2 \
     FROM insight_batch b \
     WHERE i.source = b.source AND i.source_ref = b.source_ref AND i.fingerprint <> b.fingerprint \
     RETURNING b.pos, i.id";

/// Inserts the copied rows that are new, in order.
const MERGE_NEW: &str = "INSERT INTO insights (source, source_ref, title, body, observed_on, \
     segment, segment_key, stage, kind, sentiment, severity, account, account_key, url, \
     visibility, tags, themes, fingerprint, added_at, updated_at, change_seq, added_seq) \
     SELECT source, source_ref, title, body, observed_on, segment, segment_key, stage, kind, \
     sentiment, severity, account, account_key, url, visibility, tags, themes, fingerprint, \
     $1, $1, $2, $2 FROM insight_batch ORDER BY pos \
     ON CONFLICT (source, source_ref) DO NOTHING \
     RETURNING id, source, source_ref";

/// The stored id of each copied row already stored, and whether its fingerprint is the same.
const BATCH_EXISTING: &str = "SELECT b.pos, i.id, i.fingerprint = b.fingerprint \
     FROM insight_batch b JOIN insights i ON i.source = b.source AND i.source_ref = b.source_ref";

/// The id of every copied row.
const BATCH_IDS: &str = "SELECT b.pos, i.id FROM insight_batch b \
     JOIN insights i ON i.source = b.source AND i.source_ref = b.source_ref";

/// The PostgreSQL way of [`upsert_run`]: `COPY` the rows into a temporary table, look up which
/// are stored already, then merge them with one update (changed fingerprints, when any) and one
/// insert (`ON CONFLICT DO NOTHING`, when any are new), and `COPY` the new theme rows straight
/// in.
async fn copy_run(
    conn: &mut sqlx::PgConnection,
    run: &[PreparedInsight],
    now: i64,
    change: i64,
    first_run: bool,
) -> Result<Vec<UpsertOutcome>, sqlx::Error> {
    Db::Postgres(conn)
        .execute(Sql::new(if first_run {
            CREATE_BATCH_TABLE
        } else {
            "TRUNCATE insight_batch"
        }))
        .await?;
    let mut data = String::with_capacity(run.len() * 1024);
    for (pos, prepared) in run.iter().enumerate() {
        let d = &prepared.data;
        let segment_key = d.segment.as_deref().map(model::key);
        let account_key = d.account.as_deref().map(model::key);
        let (pos, source, day) = (
            pos.to_string(),
            d.source.to_lowercase(),
            day_text(d.observed_on),
        );
        let (severity, visibility, tags, themes) = (
            d.severity.get().to_string(),
            visibility::column_text(&d.visibility),
            list_text(&d.tags),
            list_text(&prepared.themes),
        );
        let fields: [Option<&str>; 19] = [
            Some(&pos),
            Some(&source),
            Some(&d.source_ref),
            Some(&d.title),
            Some(&d.body),
            Some(&day),
            d.segment.as_deref(),
            segment_key.as_deref(),
            d.stage.map(|s| s.name()),
            d.kind.map(|k| k.name()),
            Some(d.sentiment.name()),
            Some(&severity),
            d.account.as_deref(),
            account_key.as_deref(),
            d.url.as_deref(),
            Some(&visibility),
            Some(&tags),
            Some(&themes),
            Some(&prepared.fingerprint),
        ];
        push_copy_line(&mut data, &fields);
    }
    let mut copy = conn.copy_in_raw(COPY_BATCH).await?;
    copy.send(data.into_bytes()).await?;
    copy.finish().await?;

    // The planner needs the batch's size to look its rows up in the unique index rather than
    // scan the whole table once per batch.
    Db::Postgres(conn)
        .execute(Sql::new("ANALYZE insight_batch"))
        .await?;
    let mut ids: Vec<Option<InsightId>> = vec![None; run.len()];
    let mut differing = 0;
    let existing: Vec<(i64, i64, bool)> = Db::Postgres(conn)
        .fetch_all(Sql::new(BATCH_EXISTING))
        .await?;
    for (pos, id, same) in &existing {
        if let Some(slot) = usize::try_from(*pos).ok().and_then(|p| ids.get_mut(p)) {
            *slot = Some(*id);
        }
        differing += usize::from(!same);
    }
    // Upserts take turns (`ONE_UPSERT_AT_A_TIME`), so what was found is what is updated.
    let changed: HashSet<i64> = if differing > 0 {
        let changed: Vec<(i64, i64)> = Db::Postgres(conn)
            .fetch_all(Sql::new(MERGE_CHANGED).bind(now).bind(change))
            .await?;
        changed.into_iter().map(|(pos, _)| pos).collect()
    } else {
        HashSet::new()
    };
    let mut inserted: HashSet<usize> = HashSet::new();
    if existing.len() < run.len() {
        let rows: Vec<(i64, String, String)> = Db::Postgres(conn)
            .fetch_all(Sql::new(MERGE_NEW).bind(now).bind(change))
            .await?;
        let position: HashMap<(String, &str), usize> = run
            .iter()
            .enumerate()
            .map(|(pos, p)| {
                (
                    (p.data.source.to_lowercase(), p.data.source_ref.as_str()),
                    pos,
                )
            })
            .collect();
        for (id, source, source_ref) in rows {
            if let Some(&pos) = position.get(&(source, source_ref.as_str())) {
                ids[pos] = Some(id);
                inserted.insert(pos);
            }
        }
    }
    if ids.iter().any(Option::is_none) {
        // Stored meanwhile by a writer that does not take turns: look the rest up.
        let rows: Vec<(i64, i64)> = Db::Postgres(conn).fetch_all(Sql::new(BATCH_IDS)).await?;
        for (pos, id) in rows {
            if let Some(slot) = usize::try_from(pos).ok().and_then(|p| ids.get_mut(p)) {
                slot.get_or_insert(id);
            }
        }
    }
    let mut outcomes = Vec::with_capacity(run.len());
    let mut written: Vec<(InsightId, &PreparedInsight)> = Vec::new();
    let mut rewritten: Vec<InsightId> = Vec::new();
    for (pos, (prepared, id)) in run.iter().zip(ids).enumerate() {
        let Some(id) = id else {
            return Err(sqlx::Error::Protocol(format!(
                "insight {}/{} was neither inserted, updated nor found",
                prepared.data.source, prepared.data.source_ref
            )));
        };
        if inserted.contains(&pos) {
            outcomes.push(UpsertOutcome::Inserted(id));
            written.push((id, prepared));
        } else if changed.contains(&(pos as i64)) {
            outcomes.push(UpsertOutcome::Updated(id));
            written.push((id, prepared));
            rewritten.push(id);
        } else {
            outcomes.push(UpsertOutcome::Unchanged(id));
        }
    }
    let mut db = Db::Postgres(conn);
    clear_themes_and_teams(&mut db, &rewritten).await?;

    let mut themes = String::new();
    for (id, prepared) in &written {
        let mut seen = HashSet::new();
        for name in &prepared.themes {
            let key = model::key(name);
            if seen.insert(key.clone()) {
                let id = id.to_string();
                push_copy_line(&mut themes, &[Some(&id), Some(&key), Some(name)]);
            }
        }
    }
    if !themes.is_empty() {
        let Db::Postgres(conn) = &mut db else {
            unreachable!("a PostgreSQL connection")
        };
        let mut copy = conn
            .copy_in_raw("COPY insight_themes (insight_id, key, name) FROM STDIN")
            .await?;
        copy.send(themes.into_bytes()).await?;
        copy.finish().await?;
    }
    let visibilities: Vec<(InsightId, &model::Visibility)> = written
        .iter()
        .map(|(id, p)| (*id, &p.data.visibility))
        .collect();
    write_teams(&mut db, &visibilities).await?;
    Ok(outcomes)
}

/// One line of `COPY … FROM STDIN` text: fields separated by tabs, `\N` for NULL, backslash,
/// tab, newline and carriage return escaped.
fn push_copy_line(out: &mut String, fields: &[Option<&str>]) {
    for (n, field) in fields.iter().enumerate() {
        if n > 0 {
            out.push('\t');
        }
        match field {
            None => out.push_str("\\N"),
            Some(text) => {
                for c in text.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
        }
    }
    out.push('\n');
}

/// Deletes the theme and team rows of insights about to be rewritten.
async fn clear_themes_and_teams(db: &mut Db<'_>, ids: &[InsightId]) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(KEYS_PER_STATEMENT) {
        for table in [
            "DELETE FROM insight_themes WHERE insight_id IN (",
            "DELETE FROM insight_teams WHERE insight_id IN (",
        ] {
            let mut b = SqlBuilder::new();
            b.push(table);
            for (n, id) in chunk.iter().enumerate() {
                if n > 0 {
                    b.push(", ");
                }
                b.push_bind(*id);
            }
            b.push(")");
            db.execute(b.build()).await?;
        }
    }
    Ok(())
}

/// `text` (whose placeholders are those of [`UPDATE_CHANGED`]) bound to one insight.
fn bound_row(text: &'static str, prepared: &PreparedInsight, now: i64, change: i64) -> Sql {
    let data = &prepared.data;
    Sql::new(text)
        .bind(data.source.to_lowercase())
        .bind(data.source_ref.as_str())
        .bind(data.title.as_str())
        .bind(data.body.as_str())
        .bind(day_text(data.observed_on))
        .bind(data.segment.clone())
        .bind(data.segment.as_deref().map(model::key))
        .bind(data.stage.map(|s| s.name().to_string()))
        .bind(data.kind.map(|k| k.name().to_string()))
        .bind(data.sentiment.name())
        .bind(i64::from(data.severity.get()))
        .bind(data.account.clone())
        .bind(data.account.as_deref().map(model::key))
        .bind(data.url.clone())
        .bind(visibility::column_text(&data.visibility))
        .bind(list_text(&data.tags))
        .bind(list_text(&prepared.themes))
        .bind(prepared.fingerprint.as_str())
        .bind(now)
        .bind(change)
}

/// One insight's values, in the column order of the multi-row insert.
fn push_values(b: &mut SqlBuilder, prepared: &PreparedInsight, now: i64, change: i64) {
    let data = &prepared.data;
    b.push_bind(lowercase(&data.source).as_ref())
        .push(", ")
        .push_bind(data.source_ref.as_str())
        .push(", ")
        .push_bind(data.title.as_str())
        .push(", ")
        .push_bind(data.body.as_str())
        .push(", ")
        .push_bind(day_text(data.observed_on))
        .push(", ")
        .push_bind(data.segment.clone())
        .push(", ")
        .push_bind(data.segment.as_deref().map(model::key))
        .push(", ")
        .push_bind(data.stage.map(|s| s.name().to_string()))
        .push(", ")
        .push_bind(data.kind.map(|k| k.name().to_string()))
        .push(", ")
        .push_bind(data.sentiment.name())
        .push(", ")
        .push_bind(i64::from(data.severity.get()))
        .push(", ")
        .push_bind(data.account.clone())
        .push(", ")
        .push_bind(data.account.as_deref().map(model::key))
        .push(", ")
        .push_bind(data.url.clone())
        .push(", ")
        .push_bind(visibility::column_text(&data.visibility))
        .push(", ")
        .push_bind(list_text(&data.tags))
        .push(", ")
        .push_bind(list_text(&prepared.themes))
        .push(", ")
        .push_bind(prepared.fingerprint.as_str())
        .push(", ")
        .push_bind(now)
        .push(", ")
        .push_bind(now)
        .push(", ")
        .push_bind(change)
        .push(", ")
        .push_bind(change);
}

/// One row per theme key of each insight, many insights per statement; the first spelling of
/// a key wins, as in the themes list.
async fn write_themes_of(
    db: &mut Db<'_>,
    written: &[(InsightId, &PreparedInsight)],
) -> Result<(), sqlx::Error> {
    let mut rows: Vec<(InsightId, String, &str)> = Vec::new();
    for (id, prepared) in written {
        let mut seen = HashSet::new();
        for name in &prepared.themes {
            let key = model::key(name);
            if seen.insert(key.clone()) {
                rows.push((*id, key, name.as_str()));
            }
        }
    }
    for chunk in rows.chunks(THEMES_PER_STATEMENT) {
        let mut b = SqlBuilder::new();
        b.push("INSERT INTO insight_themes (insight_id, key, name) VALUES ");
        for (n, (id, key, name)) in chunk.iter().enumerate() {
            b.push(if n == 0 { "(" } else { ", (" })
                .push_bind(*id)
                .push(", ")
                .push_bind(key.clone())
                .push(", ")
                .push_bind(*name)
                .push(")");
        }
        db.execute(b.build()).await?;
    }
    Ok(())
}
