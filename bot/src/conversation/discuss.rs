//! Discussing an insight: its details are posted in the thread under the message whose Discuss
//! button was pressed, and the thread is linked to the insight, so that replies in it become
//! comments on it ([`comments`](super::comments)).

use flywheel_insights::address::ChannelAddress;
use flywheel_insights::message::Message;
use flywheel_insights::model::InsightId;

use super::Inbound;
use super::reply::Reply;

/// Opens the discussion of insight `id` under the message `thread` of `channel`, posting
/// `details` there. The answer for the person who pressed: where the discussion is, or the
/// details themselves when no thread could be opened.
pub(super) async fn open(
    inbound: &Inbound,
    channel: &ChannelAddress,
    thread: &str,
    id: InsightId,
    details: Reply,
) -> Reply {
    let Some(adapter) = inbound.adapters.get(channel.platform) else {
        tracing::warn!(
            %channel,
            "cannot open a discussion: no {} adapter is running",
            channel.platform
        );
        return details;
    };
    if let Err(e) = adapter.reply(channel, thread, &details.message).await {
        tracing::warn!(%channel, "cannot post the discussion thread: {e}");
        return details;
    }
    if let Err(e) = inbound
        .app
        .store
        .link_thread(&channel.to_string(), thread, id, None)
        .await
    {
        tracing::error!(%channel, "cannot link the discussion thread: {e}");
        return details;
    }
    Reply::private(Message::text(
        "Started a thread on it: replies there are kept as comments on the insight.",
    ))
}
