//! Replies in a thread that discusses an insight become comments on it. The platform's id of
//! the reply keeps each comment once, however often the platform delivers it.

use flywheel_storage::engagement::NewComment;

use super::event::ThreadReply;
use super::without_nul;
use crate::app::App;

/// Stores `reply` as a comment when its thread is linked to an insight. An error means it was
/// not stored.
pub(super) async fn thread_reply(app: &App, reply: &ThreadReply) -> anyhow::Result<()> {
    let channel = reply.channel.to_string();
    let Some(insight_id) = app.store.thread_insight(&channel, &reply.thread).await? else {
        return Ok(());
    };
    let comment = NewComment {
        insight_id,
        author: reply.user.to_string(),
        channel,
        thread_ref: Some(reply.thread.clone()),
        platform_ref: reply.message.clone(),
        text: without_nul(&reply.text).into_owned(),
        now: app.clock.now(),
    };
    if app.store.add_comment(&comment).await? {
        tracing::info!(insight_id, "stored a comment from a thread");
    }
    Ok(())
}
