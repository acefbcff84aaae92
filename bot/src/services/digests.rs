//! A team's digest for one period: gather what the store knows (insights observed in the
//! period within the team's filter and visibility, theme counts now and before, open flags,
//! engagement, the top themes week by week for the chart), compose it with the pure
//! [`flywheel_insights::digest::compose`], and write it with one delivery per channel in one
//! transaction (the outbox). The unique key
//! `(team, period start)` makes this exactly-once however many replicas try.

use anyhow::Context as _;
use chrono::{DateTime, Days, Utc};
use flywheel_config::Team;
use flywheel_insights::digest::{
    self, DecisionFigures, Digest, DigestInput, DueReview, Engagement, OpenFlag, Period,
};
use flywheel_insights::message::Message;
use flywheel_insights::search::{DateRange, Scope, SearchOptions};
use flywheel_storage::deliveries::DeliveryRecord;
use flywheel_storage::digests::{DigestCreated, NewDigest};

use std::sync::Arc;

use crate::app::App;
use crate::clock::ManualClock;
use crate::services::channels::Adapters;
use crate::services::delivery::Worker;

/// How many of a period's insights, the best as the search engine ranks every one of them, the
/// digest chooses its items from.
const CANDIDATES: usize = 200;
/// How far back the running themes of a quiet week look.
const RUNNING_DAYS: u64 = 56;
/// The window of the decision figures in a digest's footer.
const FIGURES_WINDOW_DAYS: u32 = 90;

/// The period whose digest is due at `at`: from the fire before the latest fire at or before
/// `at`, to that fire. `None` when the schedule has never fired.
pub fn period_at(team: &Team, at: DateTime<Utc>) -> Option<Period> {
    let end = team.schedule.latest_at_or_before(team.timezone, at)?;
    let start = team
        .schedule
        .previous_before(team.timezone, end)
        .unwrap_or(end - chrono::Duration::days(7));
    Some(Period {
        start,
        end,
        timezone: team.timezone,
    })
}

/// A composed digest and its message.
#[derive(Debug, Clone)]
pub struct Composed {
    /// The figures and items.
    pub digest: Digest,
    /// What is posted.
    pub message: Message,
}

/// Composes `team`'s digest for `period` from the store, writing nothing.
pub async fn compose(app: &App, team: &Team, period: &Period) -> anyhow::Result<Composed> {
    let started = std::time::Instant::now();
    let composed = compose_timed(app, team, period).await;
    metrics::histogram!(crate::telemetry::DIGEST_COMPOSE_SECONDS)
        .record(started.elapsed().as_secs_f64());
    composed
}

async fn compose_timed(app: &App, team: &Team, period: &Period) -> anyhow::Result<Composed> {
    let today = app.today();
    let scope = Scope::Team(team.name.clone());
    let options = |observed: DateRange| SearchOptions {
        scope: scope.clone(),
        today,
        observed: Some(observed),
        limit: 0,
        breakdown: 500,
        ranking: flywheel_insights::rank::question_ranking(today),
        theme_accounts: false,
    };
    let counted = app
        .store
        .search(
            &team.filter,
            &SearchOptions {
                theme_accounts: true,
                ..options(period.observed())
            },
        )
        .await
        .context("cannot count the period's insights")?;
    let previous = app
        .store
        .search(&team.filter, &options(period.previous().observed()))
        .await
        .context("cannot read the previous period's insights")?;
    let until = period.observed().until;
    let running = app
        .store
        .search(
            &team.filter,
            &options(DateRange {
                from: until
                    .checked_sub_days(Days::new(RUNNING_DAYS))
                    .unwrap_or(until),
                until,
            }),
        )
        .await
        .context("cannot read the running themes")?;
    // The chart's lines: the period's top themes, day by day over the chart's weeks.
    let theme_days = app
        .store
        .theme_days(
            &team.filter,
            &options(digest::chart_range(period)),
            &digest::chart_themes(&counted.themes),
        )
        .await
        .context("cannot count the top themes week by week")?;
    // Every insight of the period is ranked; the best are the candidates.
    let best = app
        .store
        .search(
            &team.filter,
            &SearchOptions {
                limit: CANDIDATES,
                breakdown: 0,
                ranking: digest::ranking(
                    period,
                    &counted.themes,
                    &previous.themes,
                    &counted.theme_accounts,
                ),
                ..options(period.observed())
            },
        )
        .await
        .context("cannot rank the period's insights")?;
    let flags = app
        .store
        .open_flags(&team.name)
        .await
        .context("cannot read open flags")?
        .into_iter()
        .map(|f| OpenFlag {
            insight_id: f.insight_id,
            title: f.title,
            flags: u32::try_from(f.flags).unwrap_or(u32::MAX),
            latest_note: f.latest_note,
            first_flagged_at: f.first_flagged_at,
        })
        .collect();
    let engagement = app
        .store
        .engagement_since(&scope, period.start, 5)
        .await
        .context("cannot read comments and votes")?
        .into_iter()
        .map(|e| Engagement {
            insight_id: e.insight_id,
            title: e.title,
            comments: u32::try_from(e.comments).unwrap_or(u32::MAX),
            useful: u32::try_from(e.useful).unwrap_or(u32::MAX),
        })
        .collect();
    let team_today = period.end.with_timezone(&team.timezone).date_naive();
    let reviews_due: Vec<DueReview> = app
        .store
        .due_reviews(&team.name, team_today)
        .await
        .context("cannot read reviews due")?
        .into_iter()
        .map(|d| DueReview {
            decision_id: d.id,
            title: d.title,
            review_on: d.review_on.unwrap_or(team_today),
            owner: d.owner,
        })
        .collect();
    let stats = app
        .store
        .decision_stats(
            Some(&team.name),
            Some(period.end - chrono::Duration::days(i64::from(FIGURES_WINDOW_DAYS))),
            team_today,
        )
        .await
        .context("cannot count decision figures")?;
    let decisions = Some(DecisionFigures {
        window_days: FIGURES_WINDOW_DAYS,
        flagged: stats.flags_raised,
        logged: stats.decisions_logged,
        median_days_to_decision: stats.median_days_evidence_to_decision,
        reviews_done: stats.reviews_done,
        reviews_on_time: stats.reviews_on_time,
        median_days_to_notice: stats.median_days_to_notice,
        spikes: stats.spikes,
        median_days_spike_to_decision: stats.median_days_spike_to_decision,
    });
    let input = DigestInput {
        team: team.name.clone(),
        period: period.clone(),
        today,
        current_total: counted.total,
        current_accounts: counted.accounts,
        current_themes: counted.themes,
        current: best.hits.into_iter().map(|hit| hit.insight).collect(),
        previous_themes: previous.themes,
        theme_accounts: counted.theme_accounts,
        running_themes: running.themes,
        theme_days,
        flags,
        reviews_due,
        engagement,
        decisions,
        size: team.digest_size,
    };
    // Grouping near-duplicates and rendering is CPU work: off the async runtime's threads.
    tokio::task::spawn_blocking(move || {
        let digest = digest::compose(&input);
        let message = digest::message(&digest);
        Composed { digest, message }
    })
    .await
    .context("composing the digest stopped unexpectedly")
}

/// What [`create`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The digest was composed and queued for every channel.
    Queued {
        /// The digest's id.
        digest_id: i64,
        /// How many deliveries were queued.
        deliveries: usize,
    },
    /// This period's digest already exists (sent, being sent or skipped).
    AlreadyExists {
        /// The existing digest's id.
        digest_id: i64,
    },
}

/// Composes `team`'s digest for `period` and writes it with its deliveries, once.
pub async fn create(app: &App, team: &Team, period: &Period) -> anyhow::Result<Created> {
    if let Some(existing) = app
        .store
        .digest_for(&team.name, period.start)
        .await
        .context("cannot read digests")?
    {
        return Ok(Created::AlreadyExists {
            digest_id: existing.id,
        });
    }
    let new = composed_digest(app, team, period).await?;
    Ok(app
        .store
        .create_digest(&new)
        .await
        .context("cannot write the digest")?
        .into())
}

impl From<DigestCreated> for Created {
    fn from(created: DigestCreated) -> Created {
        match created {
            DigestCreated::Created {
                digest_id,
                deliveries,
            } => Created::Queued {
                digest_id,
                deliveries: deliveries.len(),
            },
            DigestCreated::AlreadyExists { digest_id, .. } => Created::AlreadyExists { digest_id },
        }
    }
}

/// The digest of `team` for `period`, composed now, as the store writes it.
async fn composed_digest(app: &App, team: &Team, period: &Period) -> anyhow::Result<NewDigest> {
    let composed = compose(app, team, period).await?;
    Ok(NewDigest {
        team: team.name.clone(),
        period_start: period.start,
        period_end: period.end,
        message: serde_json::to_value(&composed.message).context("cannot encode the digest")?,
        summary: serde_json::to_value(&composed.digest).context("cannot encode the digest")?,
        channels: team.channels.iter().map(ToString::to_string).collect(),
        now: app.clock.now(),
    })
}

/// Like [`create`], but a period the scheduler skipped (the service was down past the grace
/// window) is composed after all: for someone asking for it explicitly.
pub async fn create_even_if_skipped(
    app: &App,
    team: &Team,
    period: &Period,
) -> anyhow::Result<Created> {
    let existing = app
        .store
        .digest_for(&team.name, period.start)
        .await
        .context("cannot read digests")?;
    if !existing.is_some_and(|d| d.status == flywheel_storage::digests::DigestStatus::Skipped) {
        return create(app, team, period).await;
    }
    let new = composed_digest(app, team, period).await?;
    Ok(app
        .store
        .compose_skipped(&new)
        .await
        .context("cannot write the digest")?
        .into())
}

/// Why a team's digest could not be had.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// The team's schedule has no fire time at or before the moment asked for.
    #[error("team {team}'s schedule has not fired by {at}")]
    NotFiredBy {
        /// The team.
        team: String,
        /// The moment asked for.
        at: DateTime<Utc>,
    },
    /// The team's schedule has not fired yet.
    #[error("team {team}'s schedule has not fired yet")]
    NotFiredYet {
        /// The team.
        team: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// The digest `team` got (or would get) for the period due at `at`, composed as of `at` and
/// written nowhere.
pub async fn preview(
    app: &App,
    team: &Team,
    at: DateTime<Utc>,
) -> Result<(Period, Composed), DigestError> {
    let app = App {
        clock: Arc::new(ManualClock::new(at)),
        ..app.clone()
    };
    let period = period_at(team, at).ok_or_else(|| DigestError::NotFiredBy {
        team: team.name.clone(),
        at,
    })?;
    let composed = compose(&app, team, &period).await?;
    Ok((period, composed))
}

/// What [`send_now`] did.
#[derive(Debug, Clone)]
pub struct SentNow {
    /// The period whose digest it is.
    pub period: Period,
    /// Whether it was composed now or existed already.
    pub created: Created,
    /// Every delivery of the digest, as it stands after sending.
    pub deliveries: Vec<DeliveryRecord>,
}

/// Composes this period's digest of `team` (once) and sends its deliveries now through
/// `adapters`; deliveries that must wait for a retry stay queued for `flywheel serve`.
pub async fn send_now(
    app: &App,
    team: &Team,
    adapters: Adapters,
    worker_name: &str,
) -> Result<SentNow, DigestError> {
    let now = app.clock.now();
    let period = period_at(team, now).ok_or_else(|| DigestError::NotFiredYet {
        team: team.name.clone(),
    })?;
    let created = create_even_if_skipped(app, team, &period).await?;
    let digest_id = match &created {
        Created::Queued { digest_id, .. } | Created::AlreadyExists { digest_id } => *digest_id,
    };
    Worker::new(app.clone(), adapters, worker_name)
        .drain()
        .await?;
    let deliveries = app
        .store
        .deliveries(digest_id)
        .await
        .context("cannot read deliveries")?;
    Ok(SentNow {
        period,
        created,
        deliveries,
    })
}
