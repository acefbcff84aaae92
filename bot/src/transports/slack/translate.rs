//! What Slack sends Flywheel, however it arrives: slash commands, interactions (digest buttons
//! and the "Save as insight" message shortcut) and Events API callbacks, translated into the
//! conversation layer's events. The HTTP endpoints ([`super::http`]) and Socket Mode
//! ([`super::socket`]) only unwrap Slack's framing and call these, so both transports behave
//! alike.

use flywheel_insights::address::{ChannelAddress, UserAddress};
use serde_json::Value;

use super::respond::{ResponseBody, SlackResponder};
use crate::conversation::{
    ButtonPressed, CommandTyped, Event, Inbound, Once, SaveMessage, ThreadReply,
};

/// The `callback_id` of the "Save as insight" message shortcut (see `slack-manifest.yaml`).
pub const SAVE_AS_INSIGHT: &str = "save_as_insight";

/// A request that Slack would never send: what is missing or wrong in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadRequest(pub &'static str);

/// A slash command, from a form (HTTP) or a JSON payload (Socket Mode).
#[derive(Debug, Clone)]
pub struct SlashCommand {
    /// `/insights` or `/decision`.
    pub command: String,
    /// What follows the command.
    pub text: String,
    /// Who typed it.
    pub user: UserAddress,
    /// Where.
    pub channel: ChannelAddress,
    /// Where a late answer goes.
    pub response_url: Option<String>,
}

impl SlashCommand {
    /// The command described by Slack's fields, read with `field`.
    pub fn from_fields<'a>(
        field: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<SlashCommand, BadRequest> {
        let (Some(user_id), Some(channel_id)) = (field("user_id"), field("channel_id")) else {
            return Err(BadRequest("user_id and channel_id are required"));
        };
        let (user, channel) = addresses(user_id, channel_id)?;
        Ok(SlashCommand {
            command: field("command").unwrap_or("/insights").to_string(),
            text: field("text").unwrap_or_default().to_string(),
            user,
            channel,
            response_url: field("response_url").map(str::to_string),
        })
    }
}

/// Runs a slash command: what to acknowledge it with.
pub async fn slash_command(inbound: &Inbound, command: SlashCommand) -> Option<ResponseBody> {
    let event = Event::Command(CommandTyped {
        user: command.user,
        channel: command.channel,
        text: format!("{} {}", command.command, command.text)
            .trim_end()
            .to_string(),
    });
    inbound
        .respond(event, SlackResponder::command(command.response_url))
        .await
}

/// Handles an interaction payload: what to acknowledge it with (`None`: an empty 200).
pub async fn interaction(
    inbound: &Inbound,
    payload: Value,
) -> Result<Option<ResponseBody>, BadRequest> {
    let event = match payload["type"].as_str() {
        Some("block_actions") => block_actions(&payload)?,
        Some("message_action") => message_action(&payload)?,
        other => {
            // Modals and other surfaces are not used; acknowledge them.
            tracing::debug!(kind = ?other, "ignored a Slack interaction of an unused type");
            None
        }
    };
    let Some(event) = event else {
        return Ok(None);
    };
    let response_url = payload["response_url"].as_str().map(str::to_string);
    Ok(inbound
        .respond(event, SlackResponder::interaction(response_url))
        .await)
}

/// A digest or answer button.
fn block_actions(payload: &Value) -> Result<Option<Event>, BadRequest> {
    let (Some(user_id), Some(channel_id)) = (
        payload["user"]["id"].as_str(),
        payload["channel"]["id"].as_str(),
    ) else {
        return Ok(None);
    };
    let (user, channel) = addresses(user_id, channel_id)?;
    let message = &payload["message"];
    Ok(Some(Event::Button(ButtonPressed {
        user,
        channel,
        button: payload["actions"][0]["action_id"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        message: message["thread_ts"]
            .as_str()
            .or_else(|| message["ts"].as_str())
            .map(str::to_string),
    })))
}

/// The "Save as insight" message shortcut.
fn message_action(payload: &Value) -> Result<Option<Event>, BadRequest> {
    let callback = payload["callback_id"].as_str().unwrap_or_default();
    if callback != SAVE_AS_INSIGHT {
        tracing::warn!(callback, "an unknown Slack shortcut was used");
        return Ok(None);
    }
    let (Some(user_id), Some(channel_id)) = (
        payload["user"]["id"].as_str(),
        payload["channel"]["id"].as_str(),
    ) else {
        return Err(BadRequest("user.id and channel.id are required"));
    };
    let (user, channel) = addresses(user_id, channel_id)?;
    let message = &payload["message"];
    let Some(ts) = message["ts"]
        .as_str()
        .or_else(|| payload["message_ts"].as_str())
    else {
        return Err(BadRequest("the message has no ts"));
    };
    Ok(Some(Event::Save(SaveMessage {
        user,
        channel,
        message: ts.to_string(),
        text: message["text"].as_str().unwrap_or_default().to_string(),
    })))
}

/// What an Events API request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventAnswer {
    /// `url_verification`: echo the challenge.
    Challenge(String),
    /// Handled (or deliberately ignored): acknowledge.
    Done,
}

/// Handles an Events API envelope. An error means the event was not handled and was not
/// remembered, so the platform's retry will be.
pub async fn event(
    inbound: &Inbound,
    envelope: &Value,
    retry: &str,
) -> anyhow::Result<EventAnswer> {
    match envelope["type"].as_str() {
        Some("url_verification") => Ok(EventAnswer::Challenge(
            envelope["challenge"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )),
        Some("event_callback") => {
            let Some(event_id) = envelope["event_id"].as_str() else {
                return Ok(EventAnswer::Done);
            };
            let Some(reply) = thread_reply(&envelope["event"]) else {
                return Ok(EventAnswer::Done);
            };
            let key = format!("slack:{event_id}");
            if inbound.handle_once(&key, reply).await? == Once::Repeated {
                tracing::debug!(event_id, retry, "ignored a Slack event delivered again");
            }
            Ok(EventAnswer::Done)
        }
        other => {
            tracing::debug!(kind = ?other, "ignored a Slack request of an unused type");
            Ok(EventAnswer::Done)
        }
    }
}

/// A person's reply in a thread, from a `message` event; anything else is not for Flywheel.
fn thread_reply(event: &Value) -> Option<Event> {
    if event["type"] != "message" || !event["subtype"].is_null() || !event["bot_id"].is_null() {
        return None;
    }
    let (Some(ts), Some(thread_ts), Some(channel), Some(user)) = (
        event["ts"].as_str(),
        event["thread_ts"].as_str(),
        event["channel"].as_str(),
        event["user"].as_str(),
    ) else {
        return None;
    };
    if ts == thread_ts {
        // The thread's first message, not a reply.
        return None;
    }
    let (user, channel) = addresses(user, channel).ok()?;
    Some(Event::ThreadReply(ThreadReply {
        user,
        channel,
        thread: thread_ts.to_string(),
        message: ts.to_string(),
        text: event["text"].as_str().unwrap_or_default().to_string(),
    }))
}

/// The Slack user and channel with these ids.
fn addresses(user_id: &str, channel_id: &str) -> Result<(UserAddress, ChannelAddress), BadRequest> {
    let user = UserAddress::parse(&format!("slack:{user_id}"));
    let channel = ChannelAddress::parse(&format!("slack:{channel_id}"));
    match (user, channel) {
        (Ok(user), Ok(channel)) => Ok((user, channel)),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!("a Slack request names an invalid user or channel: {e}");
            Err(BadRequest("invalid user or channel id"))
        }
    }
}
