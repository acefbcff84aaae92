//! `/insights watch`, `/insights watches` and `/insights unwatch`: a channel's standing
//! questions. The alerts themselves are written by [`crate::services::alerts`].

use flywheel_insights::message::{Message, Text};
use flywheel_insights::query::parse;
use flywheel_insights::watch::Cadence;
use flywheel_storage::NewWatch;

use super::context::Context;
use super::reply::{HandlerError, Reply, refuse};

/// The most watches one channel may have.
pub const MAX_PER_CHANNEL: usize = 25;

/// `/insights watch QUESTION [every:…]`.
pub async fn watch(
    context: &Context<'_>,
    query: &str,
    every: Cadence,
) -> Result<Reply, HandlerError> {
    let parsed = match parse(query) {
        Ok(parsed) => parsed,
        Err(e) => return refuse(e.display_with_input(query)),
    };
    if parsed.clauses.is_empty() {
        return refuse(
            "watch needs something to look for: words, \"a phrase\" or a filter such as theme:billing",
        );
    }
    let channel = context.channel.to_string();
    let existing = context.app.store.channel_watches(&channel).await?;
    if let Some(same) = existing.iter().find(|w| w.query == query) {
        return refuse(format!(
            "This channel already watches `{query}` (watch {}); /insights unwatch {} ends it.",
            same.id, same.id
        ));
    }
    if existing.len() >= MAX_PER_CHANNEL {
        return refuse(format!(
            "This channel already has {MAX_PER_CHANNEL} watches, the most it may have; end one with /insights unwatch ID (see /insights watches)."
        ));
    }
    let now = context.app.clock.now();
    let created = context
        .app
        .store
        .create_watch(
            &NewWatch {
                team: context.team.map(|t| t.name.clone()),
                channel,
                query: query.to_string(),
                cadence: every,
                created_by: context.user.to_string(),
                config_key: None,
            },
            now,
        )
        .await?;
    context
        .audit(
            "watch.created",
            Some(format!("watch:{}", created.id)),
            serde_json::json!({"query": query, "every": every.name(), "team": created.team}),
        )
        .await;
    let when = match every {
        Cadence::Now => "as they arrive",
        Cadence::Hourly => "once an hour",
        Cadence::Daily => "once a day, in the morning",
    };
    let mut text = Text::plain(format!("Watching (watch {}) ", created.id))
        .code(query)
        .and(format!(": new insights that match are posted here {when}"));
    if let Some(quiet) = context.team.and_then(|t| t.quiet_hours) {
        text = text.and(format!(", except during quiet hours ({quiet})"));
    }
    text = text
        .and(". ")
        .code(format!("/insights unwatch {}", created.id))
        .and(" ends it.");
    Ok(Reply::public(Message::new().section(text)))
}

/// `/insights watches`.
pub async fn list(context: &Context<'_>) -> Result<Reply, HandlerError> {
    let watches = context
        .app
        .store
        .channel_watches(&context.channel.to_string())
        .await?;
    if watches.is_empty() {
        return Ok(Reply::private(
            Message::new().section(
                Text::plain("This channel watches nothing yet. Start with ")
                    .code("/insights watch refund -\"gift card\""),
            ),
        ));
    }
    let mut text = Text::new().strong(format!("Watches here ({})", watches.len()));
    for w in &watches {
        let by = if w.config_key.is_some() {
            "from the configuration".to_string()
        } else {
            format!("by {}", w.created_by)
        };
        text = text
            .line()
            .and(format!("{} ", w.id))
            .code(w.query.clone())
            .and(format!(" · every:{} · {by}", w.cadence));
    }
    Ok(Reply::private(Message::new().section(text)))
}

/// `/insights unwatch ID`.
pub async fn unwatch(context: &Context<'_>, id: i64) -> Result<Reply, HandlerError> {
    let channel = context.channel.to_string();
    let store = &context.app.store;
    match store.watch(id).await? {
        Some(w) if w.channel == channel && w.ended_at.is_none() && w.config_key.is_some() => {
            return refuse(format!(
                "Watch {id} is declared in the configuration (the team's watches); remove it there."
            ));
        }
        Some(w) if w.channel == channel && w.ended_at.is_none() => {}
        _ => {
            return refuse(format!(
                "There is no watch {id} in this channel; /insights watches lists them."
            ));
        }
    }
    let Some(ended) = store
        .end_watch(
            id,
            Some(&channel),
            &context.user.to_string(),
            context.app.clock.now(),
        )
        .await?
    else {
        return refuse(format!("Watch {id} has already ended."));
    };
    context
        .audit(
            "watch.ended",
            Some(format!("watch:{id}")),
            serde_json::json!({"query": ended.query}),
        )
        .await;
    Ok(Reply::public(Message::new().section(
        Text::plain(format!("Stopped watching (watch {id}) ")).code(ended.query),
    )))
}
