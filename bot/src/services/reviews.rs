//! Review reminders, as one step: when a decision's review date arrives (in the timezone it
//! was logged in), [`remind`] queues a reminder where the decision was logged, in its thread
//! when there is one, saying how many new insights on the same themes arrived since and whether
//! their sentiment moved.
//!
//! A reminder goes through the outbox like a digest: the decision is marked reminded and the
//! reminder written with its delivery in one transaction, so of several replicas one queues it;
//! the delivery workers then send it exactly once, retrying passing failures with backoff and
//! looking in the channel or thread for a copy before sending again after a crash. The decision
//! stays in the team's digest as due for review until it is reviewed.

use std::collections::BTreeSet;

use anyhow::Context as _;
use flywheel_insights::message::{Message, Text};
use flywheel_insights::search::Scope;
use flywheel_storage::audit::NewAuditEvent;
use flywheel_storage::decisions::{DecisionSummary, SentimentCounts};
use flywheel_storage::{AlertKind, NewAlert};

use crate::app::App;

/// Queues every review reminder that is due; returns how many this call queued.
pub async fn remind(app: &App) -> anyhow::Result<usize> {
    let now = app.clock.now();
    let due = app
        .store
        .reviews_to_remind(now)
        .await
        .context("cannot read due reviews")?;
    let mut queued = 0;
    for decision in due {
        let message = reminder(app, &decision).await?;
        let alert = NewAlert {
            key: format!(
                "reminder:{}:{}",
                decision.id,
                decision
                    .review_on
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            ),
            team: Some(decision.team.clone()),
            kind: AlertKind::Reminder,
            subject: format!("decision:{}", decision.id),
            thread: decision.thread_ref.clone(),
            message: serde_json::to_value(&message)?,
            summary: serde_json::json!({
                "decision": decision.id,
                "review_on": decision.review_on,
            }),
            channels: vec![decision.channel.clone()],
            now,
            due: now,
        };
        if let Some(alert_id) = app.store.queue_reminder(decision.id, &alert).await? {
            queued += 1;
            tracing::info!(
                decision = decision.id,
                alert = alert_id,
                "review reminder queued"
            );
            let event = NewAuditEvent {
                at: now,
                actor: "scheduler".into(),
                channel: Some(decision.channel.clone()),
                action: "decision.reminded".into(),
                subject: Some(format!("decision:{}", decision.id)),
                details: serde_json::json!({"alert": alert_id}),
            };
            if let Err(e) = app.store.audit(&event).await {
                tracing::error!("cannot write the audit log: {e}");
            }
        }
    }
    Ok(queued)
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
