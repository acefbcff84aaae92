//! Slack's payloads translated into the conversation layer's events: slash commands, buttons,
//! the "Save as insight" message shortcut and thread replies. User and channel ids become
//! addresses here (`slack:U0123`); what the conversation layer answers goes back through a
//! [`SlackResponder`]. The HTTP endpoints ([`super::http`]) and Socket Mode ([`super::socket`])
//! only unwrap Slack's framing and call these, so both transports behave alike.

use flywheel_insights::address::{ChannelAddress, UserAddress};

use super::payloads::{
    BadRequest, BlockActions, CommandPayload, EventsPayload, InnerEvent, InteractionPayload,
    MessageAction, MessageEvent,
};
use super::respond::{ResponseBody, SlackResponder};
use crate::conversation::{
    ButtonPressed, CommandTyped, Event, Inbound, Once, SaveMessage, ThreadReply,
};

/// The `callback_id` of the "Save as insight" message shortcut (see `slack/manifest.yaml`).
pub const SAVE_AS_INSIGHT: &str = "save_as_insight";

/// Runs a slash command: what to acknowledge it with.
pub async fn slash_command(
    inbound: &Inbound,
    command: CommandPayload,
) -> Result<Option<ResponseBody>, BadRequest> {
    let (user, channel) = addresses(&command.user_id, &command.channel_id)?;
    let event = Event::Command(CommandTyped {
        user,
        channel,
        text: format!("{} {}", command.command, command.text)
            .trim_end()
            .to_string(),
        roles: Vec::new(),
    });
    Ok(inbound
        .respond(event, SlackResponder::command(command.response_url))
        .await)
}

/// Handles an interaction: what to acknowledge it with (`None`: an empty 200).
pub async fn interaction(
    inbound: &Inbound,
    payload: InteractionPayload,
) -> Result<Option<ResponseBody>, BadRequest> {
    let (event, response_url) = match payload {
        InteractionPayload::BlockActions(pressed) => {
            let response_url = pressed.response_url.clone();
            (button(pressed)?, response_url)
        }
        InteractionPayload::MessageAction(shortcut) => {
            let response_url = shortcut.response_url.clone();
            (save(shortcut)?, response_url)
        }
        InteractionPayload::Unused => {
            tracing::debug!("ignored a Slack interaction of an unused type");
            (None, None)
        }
    };
    let Some(event) = event else {
        return Ok(None);
    };
    Ok(inbound
        .respond(event, SlackResponder::interaction(response_url))
        .await)
}

/// A digest or answer button; `None` for a button outside a message, which is not Flywheel's.
fn button(pressed: BlockActions) -> Result<Option<Event>, BadRequest> {
    let Some(channel) = pressed.channel else {
        tracing::debug!("ignored a Slack button outside a channel");
        return Ok(None);
    };
    let Some(action) = pressed.actions.into_iter().next() else {
        return Err(BadRequest("the button press names no action".into()));
    };
    let (user, channel) = addresses(&pressed.user.id, &channel.id)?;
    Ok(Some(Event::Button(ButtonPressed {
        user,
        channel,
        button: action.action_id,
        // A discussion opens in the thread the button is in, or under its message.
        message: pressed.message.map(|m| m.thread_ts.unwrap_or(m.ts)),
        roles: Vec::new(),
    })))
}

/// The "Save as insight" message shortcut; `None` for a shortcut Flywheel does not know.
fn save(shortcut: MessageAction) -> Result<Option<Event>, BadRequest> {
    if shortcut.callback_id != SAVE_AS_INSIGHT {
        tracing::warn!(
            callback = shortcut.callback_id,
            "an unknown Slack shortcut was used"
        );
        return Ok(None);
    }
    let (user, channel) = addresses(&shortcut.user.id, &shortcut.channel.id)?;
    Ok(Some(Event::Save(SaveMessage {
        user,
        channel,
        message: shortcut.message.ts,
        text: shortcut.message.text.unwrap_or_default(),
    })))
}

/// What an Events API request is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventAnswer {
    /// `url_verification`: echo the challenge.
    Challenge(String),
    /// Handled (or deliberately ignored): acknowledge.
    Done,
}

/// Handles an Events API payload. An error means the event was not handled and was not
/// remembered, so Slack's retry will be; `retry` (Slack's retry number) is for the log.
pub async fn events(
    inbound: &Inbound,
    payload: EventsPayload,
    retry: u64,
) -> anyhow::Result<EventAnswer> {
    let callback = match payload {
        EventsPayload::UrlVerification { challenge } => {
            return Ok(EventAnswer::Challenge(challenge));
        }
        EventsPayload::EventCallback(callback) => callback,
        EventsPayload::Unused => {
            tracing::debug!("ignored a Slack request of an unused type");
            return Ok(EventAnswer::Done);
        }
    };
    let InnerEvent::Message(message) = callback.event else {
        return Ok(EventAnswer::Done);
    };
    let Some(reply) = thread_reply(message) else {
        return Ok(EventAnswer::Done);
    };
    let key = format!("slack:{}", callback.event_id);
    if inbound.handle_once(&key, reply).await? == Once::Repeated {
        tracing::debug!(
            event_id = callback.event_id,
            retry,
            "ignored a Slack event delivered again"
        );
    }
    Ok(EventAnswer::Done)
}

/// A person's reply in a thread; `None` for any other message (a bot's, an edit, a thread's
/// first message, a message outside threads).
fn thread_reply(message: MessageEvent) -> Option<Event> {
    if message.subtype.is_some() || message.bot_id.is_some() {
        return None;
    }
    let (Some(ts), Some(thread_ts), Some(channel), Some(user)) =
        (message.ts, message.thread_ts, message.channel, message.user)
    else {
        return None;
    };
    if ts == thread_ts {
        return None;
    }
    let (user, channel) = match addresses(&user, &channel) {
        Ok(addresses) => addresses,
        Err(e) => {
            tracing::warn!("ignored a Slack thread reply: {e}");
            return None;
        }
    };
    Some(Event::ThreadReply(ThreadReply {
        user,
        channel,
        thread: thread_ts,
        message: ts,
        text: message.text.unwrap_or_default(),
    }))
}

/// The Slack user and channel with these ids.
fn addresses(user_id: &str, channel_id: &str) -> Result<(UserAddress, ChannelAddress), BadRequest> {
    let user = UserAddress::parse(&format!("slack:{user_id}"));
    let channel = ChannelAddress::parse(&format!("slack:{channel_id}"));
    match (user, channel) {
        (Ok(user), Ok(channel)) => Ok((user, channel)),
        (Err(e), _) | (_, Err(e)) => Err(BadRequest(format!(
            "the request names an invalid user or channel: {e}"
        ))),
    }
}
