//! The scheduler, as one step: [`tick`] looks at every team's schedule at the clock's "now" and
//! queues each digest that is due, once. A loop in `flywheel serve` calls it; tests call it with
//! the clock set where they want.
//!
//! Catch-up: a period whose fire time passed while the service was down is still sent if it is
//! within the grace window (`[digest] grace`, 24 h by default). Past that it is recorded as
//! skipped, and so is every older period missed since the team's last digest, so coming back
//! after a long outage never posts a burst of stale digests.

use std::fmt;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use flywheel_config::Team;
use flywheel_insights::digest::Period;

use crate::app::App;
use crate::services::digests::{self, Created, period_at};

/// The most missed periods recorded as skipped in one tick.
const MAX_SKIPPED: usize = 1000;

/// What a tick did for one team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamTick {
    /// The schedule has not fired yet.
    NotYet,
    /// The current period's digest already exists.
    Done {
        /// Its period's start.
        period_start: DateTime<Utc>,
    },
    /// The current period's digest was composed and queued.
    Queued {
        /// Its period's start.
        period_start: DateTime<Utc>,
        /// The digest's id.
        digest_id: i64,
        /// Deliveries queued, one per channel.
        deliveries: usize,
        /// Older periods missed since the last digest, recorded as skipped.
        skipped: usize,
    },
    /// The current period's fire time is older than the grace window: recorded as skipped.
    Missed {
        /// Its period's start.
        period_start: DateTime<Utc>,
    },
}

impl fmt::Display for TeamTick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TeamTick::NotYet => f.write_str("not due yet"),
            TeamTick::Done { period_start } => write!(f, "period from {period_start} already done"),
            TeamTick::Queued {
                period_start,
                digest_id,
                deliveries,
                skipped,
            } => {
                write!(
                    f,
                    "digest {digest_id} for the period from {period_start} queued to {deliveries} channel(s)"
                )?;
                if *skipped > 0 {
                    write!(f, "; {skipped} older missed period(s) skipped")?;
                }
                Ok(())
            }
            TeamTick::Missed { period_start } => write!(
                f,
                "period from {period_start} missed by more than the grace window: skipped"
            ),
        }
    }
}

/// Queues every due digest, once. Returns what happened for each team, in config order.
pub async fn tick(app: &App) -> anyhow::Result<Vec<(String, TeamTick)>> {
    let now = app.clock.now();
    let mut outcomes = Vec::with_capacity(app.config.teams.len());
    for team in &app.config.teams {
        let outcome = tick_team(app, team, now)
            .await
            .with_context(|| format!("team {}", team.name))?;
        outcomes.push((team.name.clone(), outcome));
    }
    Ok(outcomes)
}

async fn tick_team(app: &App, team: &Team, now: DateTime<Utc>) -> anyhow::Result<TeamTick> {
    let Some(period) = period_at(team, now) else {
        return Ok(TeamTick::NotYet);
    };
    if app
        .store
        .digest_for(&team.name, period.start)
        .await?
        .is_some()
    {
        return Ok(TeamTick::Done {
            period_start: period.start,
        });
    }
    let grace = chrono::Duration::from_std(app.config.digest.grace)
        .unwrap_or_else(|_| chrono::Duration::days(1));
    if now - period.end > grace {
        app.store
            .skip_period(
                &team.name,
                period.start,
                period.end,
                "the service was not running within the grace window",
                now,
            )
            .await?;
        return Ok(TeamTick::Missed {
            period_start: period.start,
        });
    }
    let skipped = skip_missed_before(app, team, &period, now).await?;
    Ok(match digests::create(app, team, &period).await? {
        Created::Queued {
            digest_id,
            deliveries,
        } => TeamTick::Queued {
            period_start: period.start,
            digest_id,
            deliveries,
            skipped,
        },
        Created::AlreadyExists { .. } => TeamTick::Done {
            period_start: period.start,
        },
    })
}

/// Records as skipped the periods between the team's last digest and `period`.
async fn skip_missed_before(
    app: &App,
    team: &Team,
    period: &Period,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let Some(last) = app.store.latest_digest(&team.name).await? else {
        return Ok(0);
    };
    let mut skipped = 0;
    let mut end = period.start;
    while end > last.period_start && skipped < MAX_SKIPPED {
        let Some(start) = team.schedule.previous_before(team.timezone, end) else {
            break;
        };
        if start <= last.period_start {
            break;
        }
        if app
            .store
            .skip_period(
                &team.name,
                start,
                end,
                "missed while the service was not running",
                now,
            )
            .await?
        {
            skipped += 1;
        }
        end = start;
    }
    Ok(skipped)
}
