//! Replies in a thread that discusses an insight become comments on it. The platform's id of
//! the reply keeps each comment once, however often the platform delivers it.

use flywheel_storage::engagement::NewComment;

use super::event::ThreadReply;
use super::without_nul;
use crate::app::App;
use crate::services::channels::Adapters;

/// The longest comment kept, in characters; the rest of a longer reply is replaced by a note
/// of how much was cut.
pub const MAX_COMMENT_CHARS: usize = 4000;

/// A reply's text as it is kept: without NUL characters, personal data redacted, and at most
/// [`MAX_COMMENT_CHARS`] characters (counted as the person typed them) plus a note of what
/// was cut.
pub fn comment_text(app: &App, text: &str) -> String {
    let text = without_nul(text);
    let typed = text.chars().count();
    let kept: String = if typed > MAX_COMMENT_CHARS {
        text.chars().take(MAX_COMMENT_CHARS).collect()
    } else {
        text.into_owned()
    };
    let mut kept = crate::services::ingest::redactor(app).redact(&kept).text;
    if typed > MAX_COMMENT_CHARS {
        kept.push_str(&format!(
            " [… {} more characters not kept: comments hold at most {MAX_COMMENT_CHARS}]",
            typed - MAX_COMMENT_CHARS
        ));
    }
    kept
}

/// Stores `reply` as a comment when its thread is linked to an insight: whether it was stored
/// now (not before). An error means it was not stored.
pub(super) async fn thread_reply(app: &App, reply: &ThreadReply) -> anyhow::Result<bool> {
    let channel = reply.channel.to_string();
    let Some(insight_id) = app.store.thread_insight(&channel, &reply.thread).await? else {
        return Ok(false);
    };
    let comment = NewComment {
        insight_id,
        author: reply.user.to_string(),
        channel,
        thread_ref: Some(reply.thread.clone()),
        platform_ref: reply.message.clone(),
        text: comment_text(app, &reply.text),
        now: app.clock.now(),
    };
    let stored = app.store.add_comment(&comment).await?;
    if stored {
        tracing::info!(insight_id, "stored a comment from a thread");
    }
    Ok(stored)
}

/// Shows the person that their reply was kept (a ✅ under it, where the platform has
/// reactions). A platform that refuses (a missing permission or scope) changes nothing else.
pub(super) async fn acknowledge(adapters: &Adapters, reply: &ThreadReply) {
    let Some(adapter) = adapters.get(reply.channel.platform) else {
        return;
    };
    if let Err(e) = adapter
        .acknowledge(&reply.channel, Some(&reply.thread), &reply.message)
        .await
    {
        tracing::debug!(channel = %reply.channel, "cannot mark a kept comment: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::scratch_inbound;

    #[tokio::test]
    async fn a_comment_is_redacted_and_cut_at_the_limit_saying_how_much_was_cut() {
        let (inbound, _dir) = scratch_inbound().await;
        let app = inbound.app();
        let kept = comment_text(app, "Call ana@example.com or +44 20 7946 0958 back\0");
        assert!(
            !kept.contains("ana@example.com") && !kept.contains("7946"),
            "{kept}"
        );
        assert!(!kept.contains('\0'));

        let long = format!("{}é", "ab".repeat(450_000));
        let kept = comment_text(app, &long);
        assert!(
            kept.starts_with(&"ab".repeat(2000)),
            "the first 4,000 are kept"
        );
        assert!(
            kept.contains("[… 896001 more characters not kept: comments hold at most 4000]"),
            "{}",
            &kept[3990..]
        );
        let short = "a reply of a reasonable length";
        assert_eq!(comment_text(app, short), short);
    }
}
