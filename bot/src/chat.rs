//! Conversation: every chat command and button, for every adapter, handled here once.
//!
//! An adapter turns a platform event into an [`Incoming`] (who, where, what was typed) or an
//! [`Action`] press, and renders the [`Reply`] it gets back. In between: parse (in
//! `flywheel-insights`, pure), authorize, apply (the store), answer with a neutral message.
//! Mistakes a person can fix get a short, specific answer with the right usage; anything
//! else is logged with an id and answered with an apology quoting that id, never an internal
//! error text.

pub mod console;
pub mod decisions;

use chrono::Utc;
use flywheel_config::Team;
use flywheel_insights::address::{ChannelAddress, UserAddress};
use flywheel_insights::command::{self, Command, NewInsightText};
use flywheel_insights::message::{Action, Block, Button, Message, MoreRef, Text};
use flywheel_insights::model::{InsightData, InsightId, Severity, Visibility};
use flywheel_insights::search::Scope;
use flywheel_storage::audit::NewAuditEvent;

use crate::app::App;
use crate::services::ask::{AskError, ask};

/// Results shown for a question asked in chat.
const CHAT_RESULTS: usize = 5;
/// The longest title taken from the first words of a text added in chat.
const TITLE_CHARS: usize = 80;

/// Someone typed a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Who.
    pub user: UserAddress,
    /// Where.
    pub channel: ChannelAddress,
    /// What, e.g. `/insights ask refunds`.
    pub text: String,
}

/// Who sees a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Only the person who asked (Slack ephemeral, Discord ephemeral, console).
    Asker,
    /// Everyone in the channel.
    Channel,
}

/// What the bot answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The answer.
    pub message: Message,
    /// Who sees it.
    pub audience: Audience,
}

impl Reply {
    fn private(message: Message) -> Reply {
        Reply {
            message,
            audience: Audience::Asker,
        }
    }

    fn public(message: Message) -> Reply {
        Reply {
            message,
            audience: Audience::Channel,
        }
    }
}

/// A mistake the person can fix, or a refusal: shown to them as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError(pub String);

/// Why a command was not applied.
#[derive(Debug)]
pub enum HandlerError {
    /// Shown to the person.
    User(UserError),
    /// Logged; the person gets an apology with an id.
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for HandlerError {
    fn from(e: anyhow::Error) -> HandlerError {
        HandlerError::Internal(e)
    }
}

impl From<flywheel_storage::StoreError> for HandlerError {
    fn from(e: flywheel_storage::StoreError) -> HandlerError {
        HandlerError::Internal(e.into())
    }
}

fn refuse<T>(message: impl Into<String>) -> Result<T, HandlerError> {
    Err(HandlerError::User(UserError(message.into())))
}

/// Where a command comes from: the person, the channel and the team the channel belongs to.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The running app.
    pub app: &'a App,
    /// Who.
    pub user: &'a UserAddress,
    /// Where.
    pub channel: &'a ChannelAddress,
    /// The channel's team, if it belongs to one.
    pub team: Option<&'a Team>,
}

impl<'a> Context<'a> {
    /// The context of a message from `user` in `channel`.
    pub fn new(app: &'a App, user: &'a UserAddress, channel: &'a ChannelAddress) -> Context<'a> {
        let team = app.config.teams_for_channel(channel).into_iter().next();
        Context {
            app,
            user,
            channel,
            team,
        }
    }

    /// What may be shown here: the team's insights, or only public ones in a channel that
    /// belongs to no team.
    pub fn scope(&self) -> Scope {
        match self.team {
            Some(team) => Scope::Team(team.name.clone()),
            None => Scope::Public,
        }
    }

    /// The team, or a refusal naming what needs one.
    pub fn require_team(&self, what: &str) -> Result<&'a Team, HandlerError> {
        self.team.ok_or_else(|| {
            HandlerError::User(UserError(format!(
                "{} belongs to no team, so there is nowhere to {what}; use a team's channel",
                self.channel
            )))
        })
    }

    /// Appends an event to the audit log; a failure is logged, never shown.
    pub async fn audit(&self, action: &str, subject: Option<String>, details: serde_json::Value) {
        let event = NewAuditEvent {
            at: self.app.clock.now(),
            actor: self.user.to_string(),
            channel: Some(self.channel.to_string()),
            action: action.to_string(),
            subject,
            details,
        };
        if let Err(e) = self.app.store.audit(&event).await {
            tracing::error!(action, "cannot write the audit log: {e}");
        }
    }
}

/// Handles one typed command and returns the reply.
pub async fn handle(app: &App, incoming: &Incoming) -> Reply {
    let context = Context::new(app, &incoming.user, &incoming.channel);
    let result = match command::parse(&without_nul(&incoming.text)) {
        Ok(command) => apply(&context, command).await,
        Err(e) => Err(HandlerError::User(UserError(e.to_string()))),
    };
    finish(result)
}

/// Chat text as it can be stored: NUL characters, which no chat client types and no store
/// keeps, are dropped.
pub fn without_nul(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', ""))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Handles a parsed command (Slack and Discord deliver the command and its text apart).
pub async fn handle_command(context: &Context<'_>, command: Command) -> Reply {
    finish(apply(context, command).await)
}

/// Turns a handler's result into what the person sees.
pub fn finish(result: Result<Reply, HandlerError>) -> Reply {
    match result {
        Ok(reply) => reply,
        Err(HandlerError::User(UserError(message))) => Reply::private(Message::text(message)),
        Err(HandlerError::Internal(e)) => {
            let id = format!("{:08x}", fastrand::u32(..));
            tracing::error!(error_id = id, "command failed: {e:#}");
            Reply::private(Message::text(format!(
                "Sorry, something went wrong on our side (error {id}). It has been logged; \
                 please try again in a moment."
            )))
        }
    }
}

async fn apply(context: &Context<'_>, command: Command) -> Result<Reply, HandlerError> {
    match command {
        Command::Ask { query, share } => ask_command(context, &query, share).await,
        Command::Show { id } => show(context, id).await,
        Command::Add(text) => add(context, text).await,
        Command::Flag { id, note } => flag(context, id, note.as_deref()).await,
        Command::Useful { id } => useful(context, id).await,
        Command::Digest { preview } => digest(context, preview).await,
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

/// Handles a button press on a digest item or an answer.
pub async fn handle_action(context: &Context<'_>, action: &Action) -> Reply {
    let result = match action {
        Action::Flag(id) => flag(context, *id, None).await,
        Action::Useful(id) => useful(context, *id).await,
        Action::Discuss(id) => show(context, *id).await,
        Action::ShowMore {
            what: MoreRef::Insight(id),
        } => show(context, *id).await,
        Action::ShowMore {
            what: MoreRef::Digest(_),
        } => digest(context, true).await,
    };
    finish(result)
}

async fn ask_command(
    context: &Context<'_>,
    query: &str,
    share: bool,
) -> Result<Reply, HandlerError> {
    let filter = context.team.map(|t| &t.filter);
    let asked = match ask(context.app, query, context.scope(), filter, CHAT_RESULTS).await {
        Ok(asked) => asked,
        Err(AskError::Store(e)) => return Err(HandlerError::Internal(e)),
        Err(e) => return refuse(e.to_string()),
    };
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

async fn visible_insight(
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

async fn show(context: &Context<'_>, id: InsightId) -> Result<Reply, HandlerError> {
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

/// The first sentence (or words) of `text`, for a title.
fn title_of(text: &str) -> String {
    // A sentence ends at punctuation followed by a space, so `jo@example.com` or `v1.2` stay
    // whole.
    let end = [". ", "! ", "? ", "\n"]
        .iter()
        .filter_map(|stop| text.find(stop).map(|at| at + stop.len() - 1))
        .min()
        .unwrap_or(text.len());
    let first = text[..end].trim();
    if first.chars().count() <= TITLE_CHARS {
        return first.trim_end_matches(['.', '!', '?']).to_string();
    }
    let mut title: String = first.chars().take(TITLE_CHARS - 1).collect();
    if let Some(space) = title.rfind(' ') {
        title.truncate(space);
    }
    title.push('…');
    title
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
    save(context, text, "chat", source_ref, None).await
}

/// Saves a chat message as an insight (Slack's "Save as insight" shortcut): its text as
/// written, linked to the message at `url`. `message_ref` names the message, so saving it
/// again updates the same insight instead of adding a second.
pub async fn save_message(
    context: &Context<'_>,
    message_text: &str,
    message_ref: &str,
    url: Option<String>,
) -> Reply {
    let message_text = without_nul(message_text);
    let trimmed = message_text.trim();
    if trimmed.is_empty() {
        return finish(refuse(
            "That message has no text to save (files and attachments are not kept).",
        ));
    }
    let shortened = trimmed.chars().count() > command::MAX_INSIGHT_TEXT_CHARS;
    let text: String = if shortened {
        let mut cut: String = trimmed
            .chars()
            .take(command::MAX_INSIGHT_TEXT_CHARS - 1)
            .collect();
        cut.push('…');
        cut
    } else {
        trimmed.to_string()
    };
    let text = NewInsightText {
        text,
        ..NewInsightText::default()
    };
    let platform = context.channel.platform.to_string();
    let mut reply = finish(save(context, text, &platform, message_ref.to_string(), url).await);
    // Only the person who saved it is told; the channel saw the message already.
    reply.audience = Audience::Asker;
    if shortened {
        reply.message = reply.message.section(Text::plain(format!(
            "The message was longer than {} characters, so the insight keeps its beginning; \
             the link leads to the whole of it.",
            command::MAX_INSIGHT_TEXT_CHARS
        )));
    }
    reply
}

/// Stores one insight typed or saved in chat, redacted, and audits it.
async fn save(
    context: &Context<'_>,
    text: NewInsightText,
    source: &str,
    source_ref: String,
    url: Option<String>,
) -> Result<Reply, HandlerError> {
    let now = context.app.clock.now();
    // Redacted before anything is derived from it: a title cut mid-address must not keep
    // half an email.
    let redacted = crate::services::ingest::redactor(context.app).redact(&text.text);
    let text = NewInsightText {
        text: redacted.text,
        ..text
    };
    let data = InsightData {
        source: source.into(),
        source_ref,
        title: title_of(&text.text),
        body: text.text.clone(),
        observed_on: now.date_naive(),
        tags: text.themes.clone(),
        segment: text.segment.clone(),
        stage: text.stage,
        kind: text.kind,
        sentiment: flywheel_insights::import::signals::estimate_sentiment(&text.text),
        severity: text.severity.unwrap_or(Severity::DEFAULT),
        account: text.account.clone(),
        url,
        visibility: Visibility::All,
    };
    let mut report = crate::services::ingest::ingest(context.app, vec![data], |_| {}).await?;
    report.redactions += redacted.counts;
    let id = report.ids.first().copied().unwrap_or_default();
    let again = report.inserted == 0;
    context
        .audit(
            if again {
                "insight.updated"
            } else {
                "insight.added"
            },
            Some(format!("insight:{id}")),
            serde_json::json!({"source": source, "redacted": report.redactions.total()}),
        )
        .await;
    let mut reply = if again {
        Text::plain("Already saved as ")
            .strong(format!("#{id}"))
            .and("; brought up to date.")
    } else {
        Text::plain("Saved as ").strong(format!("#{id}")).and(".")
    };
    if report.redactions.total() > 0 {
        reply = reply.and(format!(
            " Personal data was redacted: {}.",
            report.redactions
        ));
    }
    Ok(Reply::public(Message::new().section(reply)))
}

async fn flag(
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

async fn useful(context: &Context<'_>, id: InsightId) -> Result<Reply, HandlerError> {
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

async fn digest(context: &Context<'_>, preview: bool) -> Result<Reply, HandlerError> {
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

/// Today in `team`'s timezone (UTC without a team).
pub fn team_today(context: &Context<'_>) -> chrono::NaiveDate {
    let now = context.app.clock.now();
    match context.team {
        Some(team) => now.with_timezone(&team.timezone).date_naive(),
        None => now.with_timezone(&Utc).date_naive(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_the_first_sentence_or_the_first_words() {
        assert_eq!(
            title_of("Refund took six weeks. Then nothing."),
            "Refund took six weeks"
        );
        let long = "word ".repeat(40);
        let title = title_of(&long);
        assert!(title.chars().count() <= TITLE_CHARS, "{title}");
        assert!(title.ends_with('…'), "{title}");
    }
}
