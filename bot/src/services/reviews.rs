//! Review reminders, as one step: when a decision's review date arrives (in the timezone it
//! was logged in), [`remind`] posts a reminder where the decision was logged, in its thread when
//! there is one, saying how many new insights on the same themes arrived since and whether
//! their sentiment moved.
//!
//! Each reminder is leased in the store before it is posted, so of several replicas one sends
//! it, and marked reminded only once posted. A post that fails for a passing reason (a rate
//! limit, a timeout, the platform's 5xx) is retried with the deliveries' backoff, at most
//! [`MAX_ATTEMPTS`] times; one that cannot succeed (an unknown channel, a refused token) is
//! given up and logged. A process that dies while posting leaves a lease that runs out after
//! [`REMINDER_LEASE`], and the reminder is due again: a reminder may then be posted twice,
//! never lost. The decision stays in the team's digest as due for review until it is reviewed.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use flywheel_insights::address::ChannelAddress;
use flywheel_insights::message::{Message, Text};
use flywheel_insights::search::Scope;
use flywheel_storage::audit::NewAuditEvent;
use flywheel_storage::decisions::{DecisionSummary, SentimentCounts};

use crate::app::App;
use crate::services::channels::{Adapters, SendError};
use crate::services::delivery::{MAX_ATTEMPTS, backoff};

/// How long a process holds a reminder it is posting before another may take it up.
pub const REMINDER_LEASE: Duration = Duration::from_secs(120);

/// Posts every review reminder that is due; returns how many were posted.
pub async fn remind(app: &App, adapters: &Adapters) -> anyhow::Result<usize> {
    let now = app.clock.now();
    let due = app
        .store
        .reviews_to_remind(now)
        .await
        .context("cannot read due reviews")?;
    let mut posted = 0;
    for decision in due {
        if !app
            .store
            .claim_reminder(decision.id, now, REMINDER_LEASE)
            .await?
        {
            continue;
        }
        match post(app, adapters, &decision).await {
            Ok(()) => {
                app.store.reminder_sent(decision.id, now).await?;
                posted += 1;
                let event = NewAuditEvent {
                    at: now,
                    actor: "scheduler".into(),
                    channel: Some(decision.channel.clone()),
                    action: "decision.reminded".into(),
                    subject: Some(format!("decision:{}", decision.id)),
                    details: serde_json::Value::Null,
                };
                if let Err(e) = app.store.audit(&event).await {
                    tracing::error!("cannot write the audit log: {e}");
                }
            }
            Err(error) => failed(app, &decision, now, &error).await?,
        }
    }
    Ok(posted)
}

/// Builds and posts the reminder of `decision`.
async fn post(app: &App, adapters: &Adapters, decision: &DecisionSummary) -> Result<(), SendError> {
    let message = reminder(app, decision)
        .await
        .map_err(|e| SendError::transient(format!("{e:#}")))?;
    let channel: ChannelAddress = decision
        .channel
        .parse()
        .map_err(|e| SendError::permanent(format!("{e}")))?;
    let adapter = adapters.get(channel.platform).ok_or_else(|| {
        SendError::transient(format!(
            "no {} adapter: set the platform's secrets",
            channel.platform
        ))
    })?;
    match &decision.thread_ref {
        Some(thread) => adapter.reply(&channel, thread, &message).await,
        None => adapter.send(&channel, &message, None).await,
    }
    .map(|_| ())
}

/// Records a failed post: due again after the backoff, or given up.
async fn failed(
    app: &App,
    decision: &DecisionSummary,
    now: DateTime<Utc>,
    error: &SendError,
) -> anyhow::Result<()> {
    let (reason, retry_after, permanent) = match error {
        SendError::Transient {
            reason,
            retry_after,
        } => (reason.as_str(), *retry_after, false),
        SendError::Permanent { reason } => (reason.as_str(), None, true),
    };
    let mut retry_in = None;
    let attempts = app
        .store
        .reminder_failed(decision.id, reason, |attempts| {
            if permanent || attempts >= MAX_ATTEMPTS {
                return None;
            }
            let wait = backoff(attempts, retry_after);
            retry_in = Some(wait);
            Some(now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX))
        })
        .await?;
    match retry_in {
        Some(wait) => tracing::warn!(
            decision = decision.id,
            attempts,
            retry_in_s = wait.as_secs(),
            "reminder not posted, will retry: {reason}"
        ),
        None => tracing::error!(
            decision = decision.id,
            attempts,
            "reminder not posted, given up: {reason}"
        ),
    }
    Ok(())
}

/// The reminder for one decision.
pub async fn reminder(app: &App, decision: &DecisionSummary) -> anyhow::Result<Message> {
    let scope = Scope::Team(decision.team.clone());
    let full = app
        .store
        .decision(decision.id, &scope)
        .await?
        .context("the decision disappeared")?;
    let mut themes = BTreeSet::new();
    for evidence in &full.evidence {
        if let Some(insight) = app.store.insight(evidence.insight_id, &scope).await? {
            themes.extend(insight.themes);
        }
    }
    let themes: Vec<String> = themes.into_iter().collect();
    let activity = app
        .store
        .new_insights_since(&scope, &themes, decision.created_at)
        .await?;
    let new = total(&activity.since);
    let mut text = Text::new()
        .strong(format!("Review due: D{} {}", decision.id, decision.title))
        .line()
        .and(format!(
            "Logged {}{}.",
            decision.created_at.format("%Y-%m-%d"),
            decision
                .review_on
                .map(|d| format!(", review on {d}"))
                .unwrap_or_default()
        ));
    if themes.is_empty() {
        text = text.line().and("Its evidence carries no themes to follow.");
    } else {
        text = text.line().and(format!(
            "Since then: {new} new insight(s) on {}. {}",
            themes.join(", "),
            sentiment_change(&activity.before, &activity.since)
        ));
    }
    text = text.line().and(format!(
        "Record the outcome: /decision review {} kept|changed|reversed \"what happened\"",
        decision.id
    ));
    Ok(Message::new().section(text))
}

fn total(counts: &SentimentCounts) -> u64 {
    counts.negative + counts.neutral + counts.positive
}

/// `Negative share fell from 80% to 40%.` or why nothing can be said.
pub fn sentiment_change(before: &SentimentCounts, since: &SentimentCounts) -> String {
    let share = |c: &SentimentCounts| c.negative as f64 * 100.0 / total(c).max(1) as f64;
    if total(before) < 3 {
        return "Too few came before it to tell whether sentiment moved.".into();
    }
    if total(since) < 3 {
        return "Too few since to tell whether sentiment moved.".into();
    }
    let (was, now) = (share(before), share(since));
    if (now - was).abs() < 10.0 {
        format!("Sentiment is about the same ({now:.0}% negative, {was:.0}% before).")
    } else if now < was {
        format!("Negative share fell from {was:.0}% to {now:.0}%.")
    } else {
        format!("Negative share rose from {was:.0}% to {now:.0}%.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(negative: u64, neutral: u64, positive: u64) -> SentimentCounts {
        SentimentCounts {
            negative,
            neutral,
            positive,
        }
    }

    #[test]
    fn sentiment_moves_only_when_there_is_enough_to_tell() {
        assert_eq!(
            sentiment_change(&counts(1, 0, 0), &counts(9, 0, 0)),
            "Too few came before it to tell whether sentiment moved."
        );
        assert_eq!(
            sentiment_change(&counts(9, 0, 0), &counts(0, 1, 1)),
            "Too few since to tell whether sentiment moved."
        );
        assert_eq!(
            sentiment_change(&counts(8, 2, 0), &counts(2, 2, 1)),
            "Negative share fell from 80% to 40%."
        );
        assert!(sentiment_change(&counts(5, 5, 0), &counts(5, 4, 1)).contains("about the same"));
        assert!(sentiment_change(&counts(1, 9, 0), &counts(5, 5, 0)).contains("rose"));
    }
}
