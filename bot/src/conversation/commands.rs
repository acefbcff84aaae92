//! The chat commands: `/insights ask|chart|show|add|flag|useful|digest|help` and the
//! `/decision` family (in [`decisions`]). Parse (in `flywheel-insights`, pure), authorize,
//! apply (the store), answer with a neutral message. A chart is posted in the channel through
//! its platform's adapter, which draws it.

use flywheel_insights::command::{self, Command, NewInsightText};
use flywheel_insights::message::{Action, Block, Button, Message, MoreRef, Text};
use flywheel_insights::model::InsightId;

use super::context::Context;
use super::event::CommandTyped;
use super::reply::{HandlerError, Reply, UserError, finish, refuse};
use super::{Inbound, without_nul};
use super::{decisions, watches};
use crate::services::ask::{AskError, Asked, ask};
use crate::services::channels::{Adapters, SendError};
use crate::services::charts;

/// Results shown for a question asked in chat.
const CHAT_RESULTS: usize = 5;

/// Handles one typed command and returns the reply.
pub async fn handle(inbound: &Inbound, typed: &CommandTyped) -> Reply {
    let app = &inbound.app;
    let context = Context::new(app, &typed.user, &typed.channel).holding(&typed.roles);
    let result = match command::parse(&without_nul(&typed.text)) {
        Ok(mut command) => {
            // Before anything is stored, audited or posted. An added insight is redacted
            // where every new insight is, which also tells the person what was removed.
            if !matches!(command, Command::Add(_)) {
                command.redact(&crate::services::ingest::redactor(app));
            }
            apply(&context, &inbound.adapters, command).await
        }
        Err(e) => Err(HandlerError::User(UserError(e.to_string()))),
    };
    finish(result)
}

async fn apply(
    context: &Context<'_>,
    adapters: &Adapters,
    command: Command,
) -> Result<Reply, HandlerError> {
    match command {
        Command::Ask { query, share } => ask_command(context, &query, share).await,
        Command::Chart { query } => chart(context, adapters, &query).await,
        Command::Show { id } => show(context, id).await,
        Command::Add(text) => add(context, text).await,
        Command::Flag { id, note } => flag(context, id, note.as_deref()).await,
        Command::Useful { id } => useful(context, id).await,
        Command::Digest { preview } => digest(context, preview).await,
        Command::Watch { query, every } => watches::watch(context, &query, every).await,
        Command::Watches => watches::list(context).await,
        Command::Unwatch { id } => watches::unwatch(context, id).await,
        Command::Help { topic } => Ok(Reply::private(command::help(topic))),
        Command::DecisionLog(draft) => decisions::log(context, draft).await,
        Command::DecisionList { filter, query } => {
            decisions::list(context, filter, query.as_deref()).await
        }
        Command::DecisionShow { id } => decisions::show(context, id).await,
        Command::DecisionReview { id, outcome, note } => {
            decisions::review(context, id, outcome, &note).await
        }
        Command::DecisionQueue => decisions::queue(context).await,
        Command::DecisionStats => decisions::stats(context).await,
    }
}

/// Answers `query` as the channel may see it (its team's insights within the team's filter).
async fn asked_here(
    context: &Context<'_>,
    query: &str,
    limit: usize,
) -> Result<Asked, HandlerError> {
    let filter = context.team.map(|t| &t.filter);
    match ask(context.app, query, context.scope(), filter, limit).await {
        Ok(asked) => Ok(asked),
        Err(AskError::Store(e)) => Err(HandlerError::Internal(e)),
        Err(e) => refuse(e.to_string()),
    }
}

/// Posts the weekly trend of `query` in the channel as a chart, for everyone, through the
/// channel's adapter; the person who asked is told it is there, or why it is not.
async fn chart(
    context: &Context<'_>,
    adapters: &Adapters,
    query: &str,
) -> Result<Reply, HandlerError> {
    let asked = asked_here(context, query, 1).await?;
    let answer = &asked.answer;
    if answer.total == 0 {
        return refuse(format!(
            "Nothing here matches “{query}”, so there is no trend to draw."
        ));
    }
    let Some(adapter) = adapters.get(context.channel.platform) else {
        return refuse(format!(
            "Charts cannot be posted in {}: Flywheel does not post to {} here.",
            context.channel, context.channel.platform
        ));
    };
    let message = Message::new()
        .section(
            Text::plain(format!("{} insights match ", answer.total))
                .code(query)
                .and(format!(" — {}.", answer.trend_direction())),
        )
        .chart(charts::answer_chart(answer))
        .context(Text::plain("Asked with ").code(format!("/insights chart {query}")));
    match adapter.send(context.channel, &message, None).await {
        Ok(_) => Ok(Reply::private(Message::text(format!(
            "Posted the weekly trend of “{query}” in this channel."
        )))),
        Err(SendError::Permanent { reason }) => {
            refuse(format!("The chart could not be posted here: {reason}"))
        }
        Err(SendError::Transient { reason, .. }) => refuse(format!(
            "The chart could not be posted just now ({reason}); please try again in a moment."
        )),
    }
}

async fn ask_command(
    context: &Context<'_>,
    query: &str,
    share: bool,
) -> Result<Reply, HandlerError> {
    let asked = asked_here(context, query, CHAT_RESULTS).await?;
    let mut message = flywheel_insights::present::answer(&asked.answer, &asked.notes);
    let buttons: Vec<Button> = asked
        .answer
        .results
        .iter()
        .take(3)
        .map(|r| Button {
            label: format!("Show #{}", r.insight.id),
            action: Action::ShowMore {
                what: MoreRef::Insight(r.insight.id),
            },
            primary: false,
        })
        .collect();
    if !buttons.is_empty() {
        message = message.push(Block::Actions(buttons));
    }
    Ok(if share {
        Reply::public(message)
    } else {
        Reply::private(message)
    })
}

pub(super) async fn visible_insight(
    context: &Context<'_>,
    id: InsightId,
) -> Result<flywheel_insights::model::Insight, HandlerError> {
    match context.app.store.insight(id, &context.scope()).await? {
        Some(insight) => Ok(insight),
        None => refuse(format!(
            "There is no insight #{id} here (it does not exist or is not visible in this channel)."
        )),
    }
}

pub(super) async fn show(context: &Context<'_>, id: InsightId) -> Result<Reply, HandlerError> {
    let insight = visible_insight(context, id).await?;
    let comments = context.app.store.comments(id).await?;
    let citing = context
        .app
        .store
        .decisions_citing(id, &context.scope())
        .await?;
    let data = &insight.data;
    let mut about = vec![
        data.observed_on.format("%Y-%m-%d").to_string(),
        format!("{} {}", data.source, data.source_ref),
        format!("severity {}", data.severity.get()),
    ];
    if let Some(account) = &data.account {
        about.push(account.clone());
    }
    if let Some(segment) = &data.segment {
        about.push(segment.clone());
    }
    let mut message = Message::new()
        .header(format!("#{} {}", insight.id, data.title))
        .context(Text::plain(about.join(" · ")));
    if !data.body.trim().is_empty() {
        message = message.section(Text::new().quote(data.body.clone()));
    }
    if !insight.themes.is_empty() {
        message = message.context(Text::plain(format!(
            "themes: {}",
            insight.themes.join(", ")
        )));
    }
    if let Some(url) = &data.url {
        message = message.context(Text::new().link("source", url.clone()));
    }
    if !citing.is_empty() {
        let mut text = Text::new().strong("Decisions citing it");
        for d in &citing {
            text = text.line().and(format!(
                "D{} {} ({})",
                d.id,
                d.title,
                decisions::status_label(d)
            ));
        }
        message = message.section(text);
    }
    if !comments.is_empty() {
        let mut text = Text::new().strong(format!("Discussion ({})", comments.len()));
        for c in comments.iter().rev().take(10).rev() {
            text = text
                .line()
                .emphasis(c.author.clone())
                .and(": ")
                .and(c.text.clone());
        }
        message = message.section(text);
    }
    message = message.push(Block::Actions(vec![
        Button {
            label: "Flag for decision".into(),
            action: Action::Flag(id),
            primary: false,
        },
        Button {
            label: "Useful".into(),
            action: Action::Useful(id),
            primary: false,
        },
    ]));
    Ok(Reply::private(message))
}

async fn add(context: &Context<'_>, text: NewInsightText) -> Result<Reply, HandlerError> {
    // Named by who said what where: the same words added twice (a retried command, a double
    // submit) keep one insight; anything else is a new one.
    let words = text
        .text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let digest = <sha2::Sha256 as sha2::Digest>::digest(words.as_bytes());
    let source_ref = format!(
        "{}/{}/{}",
        context.channel,
        context.user.id,
        hex::encode(&digest[..12])
    );
    super::save::store(context, text, "chat", source_ref, None).await
}

pub(super) async fn flag(
    context: &Context<'_>,
    id: InsightId,
    note: Option<&str>,
) -> Result<Reply, HandlerError> {
    let team = context.require_team("flag an insight for a decision")?;
    let insight = visible_insight(context, id).await?;
    let outcome = context
        .app
        .store
        .flag(
            id,
            &team.name,
            &context.user.to_string(),
            note,
            context.app.clock.now(),
        )
        .await?;
    context
        .audit(
            "insight.flagged",
            Some(format!("insight:{id}")),
            serde_json::json!({"team": team.name, "note": note, "new": outcome.new}),
        )
        .await;
    let text = if outcome.new {
        format!(
            "Flagged #{id} “{}” for a decision by {}. Managers see it in /decision queue and in the next digest.",
            insight.data.title, team.name
        )
    } else {
        format!("You had already flagged #{id}; the note is updated.")
    };
    Ok(Reply::public(Message::text(text)))
}

pub(super) async fn useful(context: &Context<'_>, id: InsightId) -> Result<Reply, HandlerError> {
    visible_insight(context, id).await?;
    let new = context
        .app
        .store
        .vote_useful(id, &context.user.to_string(), context.app.clock.now())
        .await?;
    if new {
        context
            .audit(
                "insight.useful",
                Some(format!("insight:{id}")),
                serde_json::Value::Null,
            )
            .await;
    }
    Ok(Reply::private(Message::text(if new {
        format!("Thanks: #{id} marked useful.")
    } else {
        format!("You already marked #{id} useful; each person counts once.")
    })))
}

pub(super) async fn digest(context: &Context<'_>, preview: bool) -> Result<Reply, HandlerError> {
    let team = context.require_team("compose a digest for")?;
    let now = context.app.clock.now();
    let Some(period) = crate::services::digests::period_at(team, now) else {
        return refuse(format!("{}'s schedule has not fired yet.", team.name));
    };
    let composed = crate::services::digests::compose(context.app, team, &period).await?;
    Ok(if preview {
        Reply::private(composed.message)
    } else {
        Reply::public(composed.message)
    })
}
