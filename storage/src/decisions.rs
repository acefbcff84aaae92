//! Decisions that cite their customer evidence, and their reviews: [`Store::log_decision`]
//! writes a decision with the insights it rests on and closes the team's flags on them,
//! [`Store::decision`], [`Store::decisions`] and [`Store::decisions_citing`] read them back,
//! [`Store::review_decision`] records what became of one, [`Store::due_reviews`] lists what a
//! digest should remind a team of, [`Store::reviews_to_remind`] and [`Store::queue_reminder`]
//! queue each review reminder once (through the outbox), [`Store::new_insights_since`] tells a reminder what customers
//! said since, and [`Store::decision_stats`] counts how decisions fare.
//!
//! A decision belongs to one team and is visible in that team's [`Scope`] only (and to
//! [`Scope::Everything`]); its evidence must be visible to the team when it is logged, and an
//! insight the team can no longer see is later shown by id without its title. Every change is
//! appended to the decision's history. Reviewing and queueing a reminder are decided by the
//! database (`WHERE status = 'open'`, `WHERE reminded_at IS NULL`), so two people reviewing at
//! once, or several replicas reminding at once, change the decision once.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use flywheel_insights::model::{self, InsightId, Sentiment};
use flywheel_insights::search::Scope;
use serde::{Deserialize, Serialize};

use crate::alerts::{AlertCreated, NewAlert};
use crate::db::{Db, Sql, SqlBuilder};
use crate::digests::{instant, refuse_nul, refused};
use crate::error::{QueryResultExt, StoreError};
use crate::store::Store;
use crate::values::{bound_text, day_text, millis, parse_day, parse_vocabulary, storable_day};
use crate::visibility::push_scope;

/// The store's identity for a decision, typed in chat as `12` or `#12` like an insight id.
pub type DecisionId = i64;

/// How many ids go into one statement, well under both engines' placeholder limits.
const IDS_PER_STATEMENT: usize = 500;

/// Who the history names for what the service does on its own.
const SCHEDULER: &str = "scheduler";

const DAY_MILLIS: f64 = 86_400_000.0;

/// Whether a decision still waits for its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DecisionStatus {
    /// Logged, not yet reviewed.
    Open,
    /// Reviewed; it has a [`Review`].
    Reviewed,
}

impl DecisionStatus {
    /// The name stored in the `status` column.
    pub fn name(self) -> &'static str {
        match self {
            DecisionStatus::Open => "open",
            DecisionStatus::Reviewed => "reviewed",
        }
    }

    fn parse(name: &str) -> Option<DecisionStatus> {
        [DecisionStatus::Open, DecisionStatus::Reviewed]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// What became of a decision at its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReviewOutcome {
    /// It stands as decided.
    Kept,
    /// It was adjusted.
    Changed,
    /// It was undone.
    Reversed,
}

impl ReviewOutcome {
    /// Every outcome, in display order.
    pub const ALL: [ReviewOutcome; 3] = [
        ReviewOutcome::Kept,
        ReviewOutcome::Changed,
        ReviewOutcome::Reversed,
    ];

    /// The name stored in the `outcome` column.
    pub fn name(self) -> &'static str {
        match self {
            ReviewOutcome::Kept => "kept",
            ReviewOutcome::Changed => "changed",
            ReviewOutcome::Reversed => "reversed",
        }
    }

    fn parse(name: &str) -> Option<ReviewOutcome> {
        ReviewOutcome::ALL.into_iter().find(|o| o.name() == name)
    }
}

/// What happened to a decision, as its history records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DecisionEventKind {
    /// It was logged.
    Logged,
    /// It was reviewed.
    Reviewed,
    /// Its review reminder was sent.
    Reminded,
    /// More evidence was cited.
    EvidenceAdded,
}

impl DecisionEventKind {
    /// The name stored in the `kind` column.
    pub fn name(self) -> &'static str {
        match self {
            DecisionEventKind::Logged => "logged",
            DecisionEventKind::Reviewed => "reviewed",
            DecisionEventKind::Reminded => "reminded",
            DecisionEventKind::EvidenceAdded => "evidence-added",
        }
    }

    fn parse(name: &str) -> Option<DecisionEventKind> {
        [
            DecisionEventKind::Logged,
            DecisionEventKind::Reviewed,
            DecisionEventKind::Reminded,
            DecisionEventKind::EvidenceAdded,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// A decision to log with [`Store::log_decision`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDecision {
    /// The team's configured name; the decision is visible to this team only.
    pub team: String,
    /// What was decided.
    pub title: String,
    /// Why, if said.
    pub rationale: Option<String>,
    /// Who answers for it (`slack:U0123`); `None`: whoever logged it.
    pub owner: Option<String>,
    /// Who logged it (`slack:U0123`).
    pub decided_by: String,
    /// Where it was logged (`slack:C0123`); review reminders go there.
    pub channel: String,
    /// The thread or message it was logged in, if any; reminders reply there.
    pub thread_ref: Option<String>,
    /// When to review it, if ever; within the years 0000–9999.
    pub review_on: Option<NaiveDate>,
    /// The team's IANA timezone when it was logged, which `review_on` is a date in.
    pub timezone: String,
    /// The insights it rests on: at least one, each visible to the team. Repeated ids count once.
    pub evidence: Vec<InsightId>,
    /// When it was logged.
    pub now: DateTime<Utc>,
}

/// A decision as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionSummary {
    /// Its id.
    pub id: DecisionId,
    /// The team it belongs to.
    pub team: String,
    /// What was decided.
    pub title: String,
    /// Who answers for it, if named (otherwise `decided_by`).
    pub owner: Option<String>,
    /// Who logged it.
    pub decided_by: String,
    /// Where it was logged.
    pub channel: String,
    /// The thread or message it was logged in, if any.
    pub thread_ref: Option<String>,
    /// Open or reviewed.
    pub status: DecisionStatus,
    /// When to review it, if ever.
    pub review_on: Option<NaiveDate>,
    /// The team's IANA timezone when it was logged.
    pub timezone: String,
    /// When it was logged.
    pub created_at: DateTime<Utc>,
    /// How many insights it cites.
    pub evidence_count: u64,
    /// What became of it, once reviewed.
    pub outcome: Option<ReviewOutcome>,
}

impl DecisionSummary {
    /// The timezone its review date is a date in ([`zone`] of [`DecisionSummary::timezone`]).
    pub fn zone(&self) -> chrono_tz::Tz {
        zone(&self.timezone)
    }
}

/// The timezone named `name`; UTC for a name that is not (or no longer) known.
pub fn zone(name: &str) -> chrono_tz::Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

/// An insight a decision cites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The insight.
    pub insight_id: InsightId,
    /// Its title; `None` when the scope reading the decision may no longer see the insight.
    pub title: Option<String>,
}

/// One entry of a decision's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (a user address, or `scheduler`).
    pub actor: String,
    /// What.
    pub kind: DecisionEventKind,
    /// Anything else worth showing.
    pub details: Option<String>,
}

/// How a review went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// What became of the decision.
    pub outcome: ReviewOutcome,
    /// What happened, in the reviewer's words.
    pub note: String,
    /// When it was reviewed.
    pub reviewed_at: DateTime<Utc>,
    /// Who reviewed it.
    pub reviewed_by: String,
}

/// A decision in full, as [`Store::decision`] reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// What lists show.
    pub summary: DecisionSummary,
    /// Why, if said.
    pub rationale: Option<String>,
    /// The insights it cites, in the order they were cited.
    pub evidence: Vec<Evidence>,
    /// What happened to it, oldest first.
    pub history: Vec<DecisionEvent>,
    /// Its review, once done.
    pub review: Option<Review>,
    /// When its review reminder was claimed, if it was.
    pub reminded_at: Option<DateTime<Utc>>,
}

/// Which decisions [`Store::decisions`] lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionListing {
    /// Not yet reviewed.
    Open,
    /// Not yet reviewed and due: the review date is `today` or earlier.
    Due {
        /// Today, in the team's timezone.
        today: NaiveDate,
    },
    /// Those a person answers for: named owner, or logged by them without an owner. Any status.
    Mine {
        /// The person's user address.
        user: String,
    },
    /// Every decision.
    All,
}

/// What [`Store::decisions`] lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionFilter {
    /// Only this team's decisions; `None`: every team's (for the operator).
    pub team: Option<String>,
    /// Which ones.
    pub status: DecisionListing,
    /// Only those whose title or rationale contains this text, ignoring case.
    pub text: Option<String>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// How many insights had each sentiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SentimentCounts {
    /// Negative.
    pub negative: u64,
    /// Neutral.
    pub neutral: u64,
    /// Positive.
    pub positive: u64,
}

impl SentimentCounts {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.negative + self.neutral + self.positive
    }

    fn add(&mut self, sentiment: Sentiment, n: u64) {
        match sentiment {
            Sentiment::Negative => self.negative += n,
            Sentiment::Neutral => self.neutral += n,
            Sentiment::Positive => self.positive += n,
        }
    }
}

/// What customers said on some themes around an instant, as [`Store::new_insights_since`]
/// counts it: a reminder says how many insights arrived since a decision and whether their
/// sentiment differs from what came before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ThemeActivity {
    /// Insights added after the instant.
    pub since: SentimentCounts,
    /// Insights added at or before it.
    pub before: SentimentCounts,
}

/// How decisions fare, as [`Store::decision_stats`] counts them.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct DecisionStats {
    /// Flags raised in the window.
    pub flags_raised: u64,
    /// Decisions logged in the window.
    pub decisions_logged: u64,
    /// Of the decisions logged in the window, the median number of days from their earliest
    /// evidence (the earliest `observed_on`, at midnight UTC, or `added_at`) to the decision;
    /// `None` without decisions.
    pub median_days_evidence_to_decision: Option<f64>,
    /// Reviews done in the window.
    pub reviews_done: u64,
    /// Of those, done on or before the review date, a date in the decision's timezone: a
    /// review at 21:00 in Los Angeles on the day is on time, though it is the next day in UTC.
    pub reviews_on_time: u64,
    /// Of those, done after the review date. Reviews of decisions without a date are neither.
    pub reviews_late: u64,
    /// Decisions still open whose review date is before today, whenever they were logged.
    pub reviews_overdue: u64,
    /// Themes first watched or flagged (by the team) in the window.
    pub themes_noticed: u64,
    /// Of those, the median number of days from the first insight on the theme (its earliest
    /// `observed_on`, at midnight UTC, or `added_at`) to its first watch or flag.
    pub median_days_to_notice: Option<f64>,
    /// Spike alerts (to the team) in the window.
    pub spikes: u64,
    /// Of those, how many a decision citing an insight on the theme followed.
    pub spikes_decided: u64,
    /// Of those, the median number of days from the alert to that decision.
    pub median_days_spike_to_decision: Option<f64>,
}

/// Why a decision could not be logged or reviewed.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    /// These evidence ids name no insight the team may see (whether the insight does not exist
    /// or is hidden from the team is not told). Nothing was written.
    #[error("unknown evidence {}", id_list(.0))]
    UnknownEvidence(Vec<InsightId>),
    /// No evidence was given; a decision must cite at least one insight. Nothing was written.
    #[error("a decision must cite at least one insight as evidence")]
    NoEvidence,
    /// No decision with this id is visible in the scope.
    #[error("no decision #{0}")]
    NotFound(DecisionId),
    /// The decision was reviewed already; a review is final.
    #[error("decision #{0} was reviewed already")]
    AlreadyReviewed(DecisionId),
    /// The store failed or refused the write.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn id_list(ids: &[InsightId]) -> String {
    ids.iter()
        .map(|id| format!("#{id}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The columns a [`DecisionRow`] is read from, on `decisions` aliased `d`.
const DECISION_COLUMNS: &str = "d.id, d.team, d.title, d.rationale, d.owner, d.decided_by, \
     d.channel, d.thread_ref, d.status, d.review_on, d.timezone, d.created_at, d.outcome, \
     d.outcome_note, d.reviewed_at, d.reviewed_by, d.reminded_at, \
     (SELECT COUNT(*) FROM decision_evidence e WHERE e.decision_id = d.id) AS evidence_count";

/// A `decisions` row as selected by [`DECISION_COLUMNS`].
#[derive(Debug, sqlx::FromRow)]
struct DecisionRow {
    id: i64,
    team: String,
    title: String,
    rationale: Option<String>,
    owner: Option<String>,
    decided_by: String,
    channel: String,
    thread_ref: Option<String>,
    status: String,
    review_on: Option<String>,
    timezone: String,
    created_at: i64,
    outcome: Option<String>,
    outcome_note: Option<String>,
    reviewed_at: Option<i64>,
    reviewed_by: Option<String>,
    reminded_at: Option<i64>,
    evidence_count: i64,
}

/// The parts of a [`Decision`] beyond its summary, read from the same row.
struct DecisionDetails {
    rationale: Option<String>,
    review: Option<Review>,
    reminded_at: Option<DateTime<Utc>>,
}

impl DecisionRow {
    fn into_parts(self) -> Result<(DecisionSummary, DecisionDetails), StoreError> {
        let context = format!("decision {}", self.id);
        let corrupt = |reason: String| StoreError::Corrupt {
            detail: format!("{context}: {reason}"),
        };
        let status = DecisionStatus::parse(&self.status)
            .ok_or_else(|| corrupt(format!("unknown status {:?}", self.status)))?;
        let review_on = self
            .review_on
            .map(|text| {
                parse_day(&text).ok_or_else(|| corrupt(format!("review_on {text:?} is not a date")))
            })
            .transpose()?;
        let outcome = self
            .outcome
            .map(|name| {
                ReviewOutcome::parse(&name)
                    .ok_or_else(|| corrupt(format!("unknown outcome {name:?}")))
            })
            .transpose()?;
        let review = match (
            outcome,
            self.outcome_note,
            self.reviewed_at,
            self.reviewed_by,
        ) {
            (Some(outcome), Some(note), Some(at), Some(reviewed_by)) => Some(Review {
                outcome,
                note,
                reviewed_at: instant(&context, "reviewed_at", at)?,
                reviewed_by,
            }),
            (None, None, None, None) => None,
            _ => return Err(corrupt("the review is incomplete".to_string())),
        };
        let reminded_at = self
            .reminded_at
            .map(|ms| instant(&context, "reminded_at", ms))
            .transpose()?;
        let summary = DecisionSummary {
            id: self.id,
            team: self.team,
            title: self.title,
            owner: self.owner,
            decided_by: self.decided_by,
            channel: self.channel,
            thread_ref: self.thread_ref,
            status,
            review_on,
            timezone: self.timezone,
            created_at: instant(&context, "created_at", self.created_at)?,
            evidence_count: count(self.evidence_count),
            outcome,
        };
        let details = DecisionDetails {
            rationale: self.rationale,
            review,
            reminded_at,
        };
        Ok((summary, details))
    }
}

fn into_summaries(rows: Vec<DecisionRow>) -> Result<Vec<DecisionSummary>, StoreError> {
    rows.into_iter()
        .map(|row| row.into_parts().map(|(summary, _)| summary))
        .collect()
}

/// A [`DecisionEvent`] as selected by [`Store::decision`].
#[derive(Debug, sqlx::FromRow)]
struct EventRow {
    at: i64,
    actor: String,
    kind: String,
    details: Option<String>,
}

/// One decision's figures for [`Store::decision_stats`].
#[derive(Debug, sqlx::FromRow)]
struct StatsRow {
    id: i64,
    status: String,
    review_on: Option<String>,
    timezone: String,
    created_at: i64,
    reviewed_at: Option<i64>,
    first_observed_on: Option<String>,
    first_added_at: Option<i64>,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Appends ` AND <condition>` limiting the decisions aliased `d` to those the scope may see:
/// a team sees its own, a channel of no team sees none.
fn push_decision_scope(b: &mut SqlBuilder, scope: &Scope) {
    match scope {
        Scope::Everything => {}
        Scope::Public => {
            b.push(" AND FALSE");
        }
        Scope::Team(team) => {
            b.push(" AND d.team = ").push_bind(team.as_str());
        }
    }
}

/// A `LIKE` pattern (with `ESCAPE '\'`) for text containing `needle`, ignoring case as the
/// stored `*_key` columns do.
fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::from("%");
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Appends `(id, id, …)`.
fn push_id_list(b: &mut SqlBuilder, ids: &[i64]) {
    b.push("(");
    for (n, id) in ids.iter().enumerate() {
        b.push(if n == 0 { "" } else { ", " }).push_bind(*id);
    }
    b.push(")");
}

/// The insights among `ids` that a team may see.
async fn visible_to_team(
    db: &mut Db<'_>,
    team: &str,
    ids: &[InsightId],
) -> Result<HashSet<InsightId>, sqlx::Error> {
    let mut visible = HashSet::new();
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let mut b = SqlBuilder::new();
        b.push("SELECT i.id FROM insights i WHERE i.id IN ");
        push_id_list(&mut b, chunk);
        push_scope(&mut b, &Scope::Team(team.to_string()));
        let rows: Vec<(i64,)> = db.fetch_all(b.build()).await?;
        visible.extend(rows.into_iter().map(|(id,)| id));
    }
    Ok(visible)
}

/// Appends an entry to a decision's history.
async fn record_event(
    db: &mut Db<'_>,
    decision_id: DecisionId,
    at: DateTime<Utc>,
    actor: &str,
    kind: DecisionEventKind,
    details: Option<String>,
) -> Result<(), sqlx::Error> {
    let sql = Sql::new(
        "INSERT INTO decision_events (decision_id, at, actor, kind, details) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(decision_id)
    .bind(millis(at))
    .bind(actor)
    .bind(kind.name())
    .bind(details);
    db.execute(sql).await.map(|_| ())
}

/// Closes the team's open flags on the insights, citing the decision, as
/// [`Store::resolve_flags`] does, inside the caller's transaction.
async fn resolve_team_flags(
    db: &mut Db<'_>,
    team: &str,
    ids: &[InsightId],
    decision_id: DecisionId,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let mut b = SqlBuilder::new();
        b.push("UPDATE insight_flags SET resolved_at = ")
            .push_bind(millis(now))
            .push(", decision_id = ")
            .push_bind(decision_id)
            .push(" WHERE resolved_at IS NULL AND team = ")
            .push_bind(team)
            .push(" AND insight_id IN ");
        push_id_list(&mut b, chunk);
        db.execute(b.build()).await?;
    }
    Ok(())
}

/// Inserts an open decision; the placeholders follow the column list.
const INSERT_DECISION: &str = "INSERT INTO decisions (team, title, title_key, rationale, \
     rationale_key, owner, decided_by, channel, thread_ref, status, review_on, timezone, \
     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11, $12) \
     RETURNING id";

impl Store {
    /// Logs a decision with the insights it rests on, in one transaction: the decision, its
    /// evidence, a `logged` entry in its history, and the team's open flags on the evidence
    /// closed with the decision's id.
    ///
    /// Refused, writing nothing: without evidence ([`DecisionError::NoEvidence`]); with evidence
    /// the team may not see or that does not exist ([`DecisionError::UnknownEvidence`] lists
    /// those ids in the order given); with text containing NUL or a review date outside the years
    /// 0000–9999 ([`StoreError::Constraint`]).
    #[tracing::instrument(skip(self, decision), fields(backend = %self.backend(), team = %decision.team))]
    pub async fn log_decision(&self, decision: &NewDecision) -> Result<DecisionId, DecisionError> {
        const CONTEXT: &str = "logging a decision";
        let backend = self.backend();
        refuse_nul(
            backend,
            CONTEXT,
            [
                ("team", decision.team.as_str()),
                ("title", decision.title.as_str()),
                (
                    "rationale",
                    decision.rationale.as_deref().unwrap_or_default(),
                ),
                ("owner", decision.owner.as_deref().unwrap_or_default()),
                ("decided_by", decision.decided_by.as_str()),
                ("channel", decision.channel.as_str()),
                (
                    "thread_ref",
                    decision.thread_ref.as_deref().unwrap_or_default(),
                ),
                ("timezone", decision.timezone.as_str()),
            ],
        )?;
        if let Some(day) = decision.review_on
            && !storable_day(day)
        {
            return Err(refused(
                backend,
                CONTEXT,
                format!("review_on {day} is outside the years 0000-9999"),
            )
            .into());
        }
        let mut seen = HashSet::new();
        let evidence: Vec<InsightId> = decision
            .evidence
            .iter()
            .copied()
            .filter(|id| seen.insert(*id))
            .collect();
        if evidence.is_empty() {
            return Err(DecisionError::NoEvidence);
        }

        let mut tx = self.pool.begin_write().await.context(backend, CONTEXT)?;
        let visible = visible_to_team(&mut tx.db(), &decision.team, &evidence)
            .await
            .context(backend, CONTEXT)?;
        let unknown: Vec<InsightId> = evidence
            .iter()
            .copied()
            .filter(|id| !visible.contains(id))
            .collect();
        if !unknown.is_empty() {
            // Nothing was written; dropping the transaction rolls it back.
            return Err(DecisionError::UnknownEvidence(unknown));
        }
        let insert = Sql::new(INSERT_DECISION)
            .bind(decision.team.as_str())
            .bind(decision.title.as_str())
            .bind(decision.title.to_lowercase())
            .bind(decision.rationale.clone())
            .bind(decision.rationale.as_deref().map(str::to_lowercase))
            .bind(decision.owner.clone())
            .bind(decision.decided_by.as_str())
            .bind(decision.channel.as_str())
            .bind(decision.thread_ref.clone())
            .bind(decision.review_on.map(day_text))
            .bind(decision.timezone.as_str())
            .bind(millis(decision.now));
        let (id,): (i64,) = tx.db().fetch_one(insert).await.context(backend, CONTEXT)?;
        let positioned: Vec<(i64, InsightId)> = (0_i64..).zip(evidence.iter().copied()).collect();
        for chunk in positioned.chunks(IDS_PER_STATEMENT) {
            let mut b = SqlBuilder::new();
            b.push("INSERT INTO decision_evidence (decision_id, insight_id, position) VALUES ");
            for (n, (position, insight_id)) in chunk.iter().enumerate() {
                b.push(if n == 0 { "(" } else { ", (" })
                    .push_bind(id)
                    .push(", ")
                    .push_bind(*insight_id)
                    .push(", ")
                    .push_bind(*position)
                    .push(")");
            }
            tx.db().execute(b.build()).await.context(backend, CONTEXT)?;
        }
        record_event(
            &mut tx.db(),
            id,
            decision.now,
            &decision.decided_by,
            DecisionEventKind::Logged,
            Some(format!("evidence {}", id_list(&evidence))),
        )
        .await
        .context(backend, CONTEXT)?;
        resolve_team_flags(&mut tx.db(), &decision.team, &evidence, id, decision.now)
            .await
            .context(backend, CONTEXT)?;
        tx.commit().await.context(backend, CONTEXT)?;
        Ok(id)
    }

    /// One decision in full, if it exists and the scope may see it (its own team, or
    /// everything). Evidence the scope may no longer see is listed without its title.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn decision(
        &self,
        id: DecisionId,
        scope: &Scope,
    ) -> Result<Option<Decision>, StoreError> {
        const CONTEXT: &str = "reading a decision";
        let backend = self.backend();
        let mut b = SqlBuilder::new();
        b.push("SELECT ")
            .push(DECISION_COLUMNS)
            .push(" FROM decisions d WHERE d.id = ")
            .push_bind(id);
        push_decision_scope(&mut b, scope);
        // One snapshot, so the evidence and history belong to the decision as read.
        let mut tx = self.pool.begin_read().await.context(backend, CONTEXT)?;
        let row: Option<DecisionRow> = tx
            .db()
            .fetch_optional(b.build())
            .await
            .context(backend, CONTEXT)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (summary, details) = row.into_parts()?;

        let mut b = SqlBuilder::new();
        b.push("SELECT e.insight_id, CASE WHEN TRUE");
        push_scope(&mut b, scope);
        b.push(
            " THEN i.title END AS title FROM decision_evidence e \
             JOIN insights i ON i.id = e.insight_id WHERE e.decision_id = ",
        )
        .push_bind(id)
        .push(" ORDER BY e.position");
        let evidence: Vec<(i64, Option<String>)> = tx
            .db()
            .fetch_all(b.build())
            .await
            .context(backend, CONTEXT)?;
        let history: Vec<EventRow> = tx
            .db()
            .fetch_all(
                Sql::new(
                    "SELECT at, actor, kind, details FROM decision_events \
                     WHERE decision_id = $1 ORDER BY id",
                )
                .bind(id),
            )
            .await
            .context(backend, CONTEXT)?;
        tx.commit().await.context(backend, CONTEXT)?;

        let context = format!("decision {id}");
        let history = history
            .into_iter()
            .map(|event| {
                Ok(DecisionEvent {
                    at: instant(&context, "event at", event.at)?,
                    actor: event.actor,
                    kind: DecisionEventKind::parse(&event.kind).ok_or_else(|| {
                        StoreError::Corrupt {
                            detail: format!("{context}: unknown event kind {:?}", event.kind),
                        }
                    })?,
                    details: event.details,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(Decision {
            summary,
            rationale: details.rationale,
            evidence: evidence
                .into_iter()
                .map(|(insight_id, title)| Evidence { insight_id, title })
                .collect(),
            history,
            review: details.review,
            reminded_at: details.reminded_at,
        }))
    }

    /// Decisions matching a filter, newest first.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn decisions(
        &self,
        filter: &DecisionFilter,
    ) -> Result<Vec<DecisionSummary>, StoreError> {
        const CONTEXT: &str = "listing decisions";
        let mut b = SqlBuilder::new();
        b.push("SELECT ")
            .push(DECISION_COLUMNS)
            .push(" FROM decisions d WHERE TRUE");
        if let Some(team) = &filter.team {
            b.push(" AND d.team = ").push_bind(team.as_str());
        }
        match &filter.status {
            DecisionListing::Open => {
                b.push(" AND d.status = 'open'");
            }
            DecisionListing::Due { today } => {
                b.push(" AND d.status = 'open' AND d.review_on <= ")
                    .push_bind(bound_text(*today));
            }
            DecisionListing::Mine { user } => {
                b.push(" AND COALESCE(d.owner, d.decided_by) = ")
                    .push_bind(user.as_str());
            }
            DecisionListing::All => {}
        }
        if let Some(text) = filter.text.as_deref().filter(|t| !t.trim().is_empty()) {
            let pattern = contains_pattern(text);
            b.push(" AND (d.title_key LIKE ")
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\' OR d.rationale_key LIKE ")
                .push_bind(pattern)
                .push(" ESCAPE '\\')");
        }
        b.push(" ORDER BY d.created_at DESC, d.id DESC LIMIT ")
            .push_bind(i64::try_from(filter.limit).unwrap_or(i64::MAX));
        self.decision_summaries(b.build(), CONTEXT).await
    }

    /// The decisions citing an insight that the scope may see, newest first.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn decisions_citing(
        &self,
        insight_id: InsightId,
        scope: &Scope,
    ) -> Result<Vec<DecisionSummary>, StoreError> {
        const CONTEXT: &str = "listing decisions citing an insight";
        let mut b = SqlBuilder::new();
        b.push("SELECT ")
            .push(DECISION_COLUMNS)
            .push(
                " FROM decisions d WHERE d.id IN \
                 (SELECT c.decision_id FROM decision_evidence c WHERE c.insight_id = ",
            )
            .push_bind(insight_id)
            .push(")");
        push_decision_scope(&mut b, scope);
        b.push(" ORDER BY d.created_at DESC, d.id DESC");
        self.decision_summaries(b.build(), CONTEXT).await
    }

    /// Records the review of an open decision the scope may see, with a `reviewed` entry in its
    /// history. A review is final: reviewing again, even concurrently, is
    /// [`DecisionError::AlreadyReviewed`]; a decision the scope may not see is
    /// [`DecisionError::NotFound`].
    #[tracing::instrument(skip(self, note), fields(backend = %self.backend()))]
    pub async fn review_decision(
        &self,
        id: DecisionId,
        scope: &Scope,
        outcome: ReviewOutcome,
        note: &str,
        reviewed_by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DecisionError> {
        const CONTEXT: &str = "reviewing a decision";
        let backend = self.backend();
        refuse_nul(
            backend,
            CONTEXT,
            [("note", note), ("reviewed_by", reviewed_by)],
        )?;
        let mut b = SqlBuilder::new();
        b.push("SELECT d.status FROM decisions d WHERE d.id = ")
            .push_bind(id);
        push_decision_scope(&mut b, scope);
        let mut tx = self.pool.begin_write().await.context(backend, CONTEXT)?;
        let status: Option<(String,)> = tx
            .db()
            .fetch_optional(b.build())
            .await
            .context(backend, CONTEXT)?;
        match status {
            None => return Err(DecisionError::NotFound(id)),
            Some((status,)) if status != DecisionStatus::Open.name() => {
                return Err(DecisionError::AlreadyReviewed(id));
            }
            Some(_) => {}
        }
        // The status is checked again by the update itself: a concurrent review that committed
        // after the read above leaves nothing to update.
        let update = Sql::new(
            "UPDATE decisions SET status = 'reviewed', outcome = $2, outcome_note = $3, \
             reviewed_at = $4, reviewed_by = $5 WHERE id = $1 AND status = 'open'",
        )
        .bind(id)
        .bind(outcome.name())
        .bind(note)
        .bind(millis(now))
        .bind(reviewed_by);
        if tx.db().execute(update).await.context(backend, CONTEXT)? == 0 {
            return Err(DecisionError::AlreadyReviewed(id));
        }
        record_event(
            &mut tx.db(),
            id,
            now,
            reviewed_by,
            DecisionEventKind::Reviewed,
            Some(format!("{}: {note}", outcome.name())),
        )
        .await
        .context(backend, CONTEXT)?;
        tx.commit().await.context(backend, CONTEXT)?;
        Ok(())
    }

    /// A team's open decisions whose review date is `today` (in the team's timezone) or
    /// earlier, the longest overdue first: a digest lists them until they are reviewed.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn due_reviews(
        &self,
        team: &str,
        today: NaiveDate,
    ) -> Result<Vec<DecisionSummary>, StoreError> {
        const CONTEXT: &str = "listing due reviews";
        let mut b = SqlBuilder::new();
        b.push("SELECT ")
            .push(DECISION_COLUMNS)
            .push(" FROM decisions d WHERE d.status = 'open' AND d.team = ")
            .push_bind(team)
            .push(" AND d.review_on <= ")
            .push_bind(bound_text(today))
            .push(" ORDER BY d.review_on, d.id");
        self.decision_summaries(b.build(), CONTEXT).await
    }

    /// Open decisions that are due for review at `now` and whose reminder is not queued yet,
    /// the longest overdue first. A review date is a date in the decision's own timezone, so it
    /// comes at that zone's midnight. Queue each reminder with [`Store::queue_reminder`].
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn reviews_to_remind(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<DecisionSummary>, StoreError> {
        const CONTEXT: &str = "listing reviews to remind";
        // No timezone is a day ahead of UTC: the database narrows to what may be due, the
        // decisions' own calendars decide.
        let latest = now.date_naive().succ_opt().unwrap_or(NaiveDate::MAX);
        let mut b = SqlBuilder::new();
        b.push("SELECT ")
            .push(DECISION_COLUMNS)
            .push(" FROM decisions d WHERE d.status = 'open' AND d.reminded_at IS NULL")
            .push(" AND d.review_on <= ")
            .push_bind(bound_text(latest));
        let mut summaries = self.decision_summaries(b.build(), CONTEXT).await?;
        summaries.retain(|d| {
            d.review_on
                .is_some_and(|day| day <= now.with_timezone(&d.zone()).date_naive())
        });
        summaries.sort_by_key(|s| (s.review_on, s.id));
        Ok(summaries)
    }

    /// Queues the review reminder of open decision `id`: marks it reminded, adds `reminded` to
    /// its history and writes `alert` (the reminder, with its delivery) in one transaction. Of
    /// several replicas racing, exactly one queues it; the others, and a decision reviewed or
    /// reminded already, get `None` with nothing written. The delivery workers then send it
    /// exactly once, retrying transient failures.
    #[tracing::instrument(skip(self, alert), fields(backend = %self.backend()))]
    pub async fn queue_reminder(
        &self,
        id: DecisionId,
        alert: &NewAlert,
    ) -> Result<Option<i64>, StoreError> {
        const CONTEXT: &str = "queueing a review reminder";
        let backend = self.backend();
        let mark = Sql::new(
            "UPDATE decisions SET reminded_at = $2 \
             WHERE id = $1 AND reminded_at IS NULL AND status = 'open'",
        )
        .bind(id)
        .bind(millis(alert.now));
        let mut tx = self.pool.begin_write().await.context(backend, CONTEXT)?;
        if tx.db().execute(mark).await.context(backend, CONTEXT)? == 0 {
            return Ok(None);
        }
        record_event(
            &mut tx.db(),
            id,
            alert.now,
            SCHEDULER,
            DecisionEventKind::Reminded,
            None,
        )
        .await
        .context(backend, CONTEXT)?;
        let created = crate::alerts::write_alert(&mut tx.db(), alert, backend, CONTEXT).await?;
        tx.commit().await.context(backend, CONTEXT)?;
        Ok(match created {
            AlertCreated::Created { alert_id, .. } => Some(alert_id),
            AlertCreated::AlreadyExists { .. } => None,
        })
    }

    /// The insights the scope may see on any of the themes (matched by theme key), by sentiment:
    /// those added after `since` and those added at or before it (the evidence of a decision
    /// logged at `since` came before it). No themes count nothing.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn new_insights_since(
        &self,
        scope: &Scope,
        themes: &[String],
        since: DateTime<Utc>,
    ) -> Result<ThemeActivity, StoreError> {
        const CONTEXT: &str = "counting insights on themes";
        let backend = self.backend();
        let mut keys: Vec<String> = themes.iter().map(|t| model::key(t)).collect();
        keys.sort();
        keys.dedup();
        keys.retain(|k| !k.is_empty());
        let mut activity = ThemeActivity::default();
        if keys.is_empty() {
            return Ok(activity);
        }
        let mut b = SqlBuilder::new();
        b.push("SELECT i.sentiment, SUM(CASE WHEN i.added_at > ")
            .push_bind(millis(since))
            .push(" THEN 1 ELSE 0 END) AS since_count, SUM(CASE WHEN i.added_at <= ")
            .push_bind(millis(since))
            .push(
                " THEN 1 ELSE 0 END) AS before_count FROM insights i WHERE i.id IN \
                 (SELECT t.insight_id FROM insight_themes t WHERE t.key IN (",
            );
        for (n, key) in keys.iter().enumerate() {
            b.push(if n == 0 { "" } else { ", " })
                .push_bind(key.as_str());
        }
        b.push("))");
        push_scope(&mut b, scope);
        b.push(" GROUP BY i.sentiment");
        let mut conn = self.pool.acquire().await.context(backend, CONTEXT)?;
        let rows: Vec<(String, i64, i64)> = conn
            .db()
            .fetch_all(b.build())
            .await
            .context(backend, CONTEXT)?;
        for (name, since, before) in rows {
            let sentiment: Sentiment =
                parse_vocabulary(&name).ok_or_else(|| StoreError::Corrupt {
                    detail: format!("insights: unknown sentiment {name:?}"),
                })?;
            activity.since.add(sentiment, count(since));
            activity.before.add(sentiment, count(before));
        }
        Ok(activity)
    }

    /// How decisions fare for a team (every team with `None`) since an instant (ever with
    /// `None`); `today` is the team's date, for what is overdue. See [`DecisionStats`].
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn decision_stats(
        &self,
        team: Option<&str>,
        since: Option<DateTime<Utc>>,
        today: NaiveDate,
    ) -> Result<DecisionStats, StoreError> {
        const CONTEXT: &str = "counting decision figures";
        let backend = self.backend();
        let since = since.map_or(i64::MIN, millis);

        let mut flags = SqlBuilder::new();
        flags
            .push("SELECT COUNT(*) FROM insight_flags WHERE flagged_at >= ")
            .push_bind(since);
        if let Some(team) = team {
            flags.push(" AND team = ").push_bind(team);
        }
        // Decisions are logged by hand, a few a week: reading a team's figures and counting
        // here keeps the arithmetic identical on both backends.
        let mut decisions = SqlBuilder::new();
        decisions.push(
            "SELECT d.id, d.status, d.review_on, d.timezone, d.created_at, d.reviewed_at, \
             MIN(i.observed_on) AS first_observed_on, MIN(i.added_at) AS first_added_at \
             FROM decisions d LEFT JOIN decision_evidence e ON e.decision_id = d.id \
             LEFT JOIN insights i ON i.id = e.insight_id WHERE TRUE",
        );
        if let Some(team) = team {
            decisions.push(" AND d.team = ").push_bind(team);
        }
        decisions
            .push(" GROUP BY d.id, d.status, d.review_on, d.timezone, d.created_at, d.reviewed_at");

        let mut tx = self.pool.begin_read().await.context(backend, CONTEXT)?;
        let (flags_raised,): (i64,) = tx
            .db()
            .fetch_one(flags.build())
            .await
            .context(backend, CONTEXT)?;
        let rows: Vec<StatsRow> = tx
            .db()
            .fetch_all(decisions.build())
            .await
            .context(backend, CONTEXT)?;
        tx.commit().await.context(backend, CONTEXT)?;

        let mut stats = DecisionStats {
            flags_raised: count(flags_raised),
            ..DecisionStats::default()
        };
        let mut days = Vec::new();
        for row in rows {
            let context = format!("decision {}", row.id);
            let corrupt = |reason: String| StoreError::Corrupt {
                detail: format!("{context}: {reason}"),
            };
            let status = DecisionStatus::parse(&row.status)
                .ok_or_else(|| corrupt(format!("unknown status {:?}", row.status)))?;
            let review_on = row
                .review_on
                .as_deref()
                .map(|text| {
                    parse_day(text)
                        .ok_or_else(|| corrupt(format!("review_on {text:?} is not a date")))
                })
                .transpose()?;
            if row.created_at >= since {
                stats.decisions_logged += 1;
                if let Some(text) = row.first_observed_on.as_deref()
                    && parse_day(text).is_none()
                {
                    return Err(corrupt(format!("evidence date {text:?}")));
                }
                let earliest =
                    earliest_evidence(row.first_observed_on.as_deref(), row.first_added_at);
                if let Some(earliest) = earliest {
                    days.push((row.created_at - earliest) as f64 / DAY_MILLIS);
                }
            }
            match (status, row.reviewed_at) {
                (DecisionStatus::Reviewed, Some(reviewed_at)) if reviewed_at >= since => {
                    stats.reviews_done += 1;
                    let reviewed_on = instant(&context, "reviewed_at", reviewed_at)?
                        .with_timezone(&zone(&row.timezone))
                        .date_naive();
                    match review_on {
                        Some(due) if reviewed_on <= due => stats.reviews_on_time += 1,
                        Some(_) => stats.reviews_late += 1,
                        None => {}
                    }
                }
                (DecisionStatus::Open, _) if review_on.is_some_and(|due| due < today) => {
                    stats.reviews_overdue += 1;
                }
                _ => {}
            }
        }
        stats.median_days_evidence_to_decision = median(&mut days);
        self.attention_figures(team, since, &mut stats).await?;
        Ok(stats)
    }

    /// How fast themes get noticed and spikes get decided, into `stats`.
    async fn attention_figures(
        &self,
        team: Option<&str>,
        since: i64,
        stats: &mut DecisionStats,
    ) -> Result<(), StoreError> {
        const CONTEXT: &str = "counting how fast evidence is noticed";
        let backend = self.backend();
        let mut flags = SqlBuilder::new();
        flags.push(
            "SELECT t.key, MIN(f.flagged_at) FROM insight_flags f \
             JOIN insight_themes t ON t.insight_id = f.insight_id WHERE TRUE",
        );
        let mut watches = SqlBuilder::new();
        watches.push("SELECT query, created_at FROM watches WHERE TRUE");
        let mut spikes = SqlBuilder::new();
        spikes
            .push("SELECT subject, created_at FROM alerts WHERE kind = 'spike' AND created_at >= ")
            .push_bind(since);
        if let Some(team) = team {
            flags.push(" AND f.team = ").push_bind(team);
            watches.push(" AND team = ").push_bind(team);
            spikes.push(" AND team = ").push_bind(team);
        }
        flags.push(" GROUP BY t.key");
        let mut tx = self.pool.begin_read().await.context(backend, CONTEXT)?;
        let flagged: Vec<(String, i64)> = tx
            .db()
            .fetch_all(flags.build())
            .await
            .context(backend, CONTEXT)?;
        let watched: Vec<(String, i64)> = tx
            .db()
            .fetch_all(watches.build())
            .await
            .context(backend, CONTEXT)?;
        let spiked: Vec<(String, i64)> = tx
            .db()
            .fetch_all(spikes.build())
            .await
            .context(backend, CONTEXT)?;

        // The first time each theme was flagged or watched (a watch names it with `theme:`).
        let mut noticed: BTreeMap<String, i64> = BTreeMap::new();
        let mut note = |key: String, at: i64| {
            let first = noticed.entry(key).or_insert(at);
            *first = (*first).min(at);
        };
        for (key, at) in flagged {
            note(key, at);
        }
        for (query, at) in watched {
            let Ok(parsed) = flywheel_insights::query::parse(&query) else {
                continue;
            };
            for atom in parsed.atoms().filter(|a| !a.negated) {
                if let flywheel_insights::query::Test::Filter(
                    flywheel_insights::query::Filter::Theme(key),
                ) = &atom.test
                {
                    note(key.clone(), at);
                }
            }
        }
        let mut days = Vec::new();
        for (key, at) in noticed.into_iter().filter(|(_, at)| *at >= since) {
            let first: (Option<String>, Option<i64>) = tx
                .db()
                .fetch_one(
                    Sql::new(
                        "SELECT MIN(i.observed_on), MIN(i.added_at) FROM insight_themes t \
                         JOIN insights i ON i.id = t.insight_id WHERE t.key = $1",
                    )
                    .bind(key.as_str()),
                )
                .await
                .context(backend, CONTEXT)?;
            stats.themes_noticed += 1;
            if let Some(earliest) = earliest_evidence(first.0.as_deref(), first.1) {
                days.push(((at - earliest) as f64 / DAY_MILLIS).max(0.0));
            }
        }
        stats.median_days_to_notice = median(&mut days);

        let mut days = Vec::new();
        for (theme, at) in spiked {
            stats.spikes += 1;
            let mut decided = SqlBuilder::new();
            decided
                .push(
                    "SELECT MIN(d.created_at) FROM decisions d \
                     JOIN decision_evidence e ON e.decision_id = d.id \
                     JOIN insight_themes t ON t.insight_id = e.insight_id WHERE t.key = ",
                )
                .push_bind(theme)
                .push(" AND d.created_at >= ")
                .push_bind(at);
            if let Some(team) = team {
                decided.push(" AND d.team = ").push_bind(team);
            }
            let (first,): (Option<i64>,) = tx
                .db()
                .fetch_one(decided.build())
                .await
                .context(backend, CONTEXT)?;
            if let Some(first) = first {
                stats.spikes_decided += 1;
                days.push((first - at) as f64 / DAY_MILLIS);
            }
        }
        stats.median_days_spike_to_decision = median(&mut days);
        tx.commit().await.context(backend, CONTEXT)?;
        Ok(())
    }

    async fn decision_summaries(
        &self,
        sql: Sql,
        context: &'static str,
    ) -> Result<Vec<DecisionSummary>, StoreError> {
        let backend = self.backend();
        let mut conn = self.pool.acquire().await.context(backend, context)?;
        let rows: Vec<DecisionRow> = conn.db().fetch_all(sql).await.context(backend, context)?;
        into_summaries(rows)
    }
}

/// The earliest of an insight's `observed_on` (at midnight UTC) and `added_at`, in
/// milliseconds.
fn earliest_evidence(observed_on: Option<&str>, added_at: Option<i64>) -> Option<i64> {
    let observed = observed_on
        .and_then(parse_day)
        .map(|day| millis(day.and_time(chrono::NaiveTime::MIN).and_utc()));
    match (observed, added_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_like_wildcards_and_fold_case() {
        assert_eq!(contains_pattern("50% Off_\\"), "%50\\% off\\_\\\\%");
        assert_eq!(contains_pattern("ÉTÉ"), "%été%");
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn unknown_evidence_names_every_id() {
        assert_eq!(
            DecisionError::UnknownEvidence(vec![12, 15]).to_string(),
            "unknown evidence #12, #15"
        );
    }

    #[test]
    fn stored_names_read_back() {
        for outcome in ReviewOutcome::ALL {
            assert_eq!(ReviewOutcome::parse(outcome.name()), Some(outcome));
        }
        assert_eq!(
            DecisionEventKind::parse("evidence-added"),
            Some(DecisionEventKind::EvidenceAdded)
        );
        assert_eq!(DecisionStatus::parse("Open"), None);
    }
}
