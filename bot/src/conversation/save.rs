//! Keeping chat text as an insight: a message saved with a platform's "Save as insight"
//! action, and text added with `/insights add`. Either way it is redacted before anything is
//! derived from it, stored through [`ingest`](crate::services::ingest), audited, and answered
//! with its number.

use flywheel_insights::command::{self, NewInsightText};
use flywheel_insights::message::{Message, Text};
use flywheel_insights::model::{InsightData, Severity, Visibility};

use super::context::Context;
use super::event::SaveMessage;
use super::reply::{Audience, HandlerError, Reply, finish, refuse};
use super::{Inbound, without_nul};

/// The longest title taken from the first words of a text added in chat.
const TITLE_CHARS: usize = 80;

/// Saves a chat message as an insight, linked to the message on its platform when the
/// platform gives links.
pub(super) async fn save_message(inbound: &Inbound, save: &SaveMessage) -> Reply {
    let link = match inbound.adapters.get(save.channel.platform) {
        Some(adapter) => match adapter.link(&save.channel, &save.message).await {
            Ok(link) => link,
            Err(e) => {
                tracing::warn!(channel = %save.channel, "cannot get the link of a saved message: {e}");
                None
            }
        },
        None => None,
    };
    let context = Context::new(&inbound.app, &save.user, &save.channel);
    let message_ref = format!("{}/{}", save.channel, save.message);
    keep(&context, &save.text, &message_ref, link).await
}

/// Keeps a chat message as an insight: its text as written, linked to the message at `url`.
/// `message_ref` names the message, so saving it again updates the same insight instead of
/// adding a second.
async fn keep(
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
    let mut reply = finish(store(context, text, &platform, message_ref.to_string(), url).await);
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
pub(super) async fn store(
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
    let id = report.first_id().unwrap_or_default();
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
