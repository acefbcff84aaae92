//! Discord's interactions and messages translated into the conversation layer's events:
//! slash commands (their typed options read back into a command line), buttons, the *Save as
//! insight* message command, autocomplete, and messages in discussion threads. Users, channels
//! and roles become addresses here (`discord:123`, `discord:role:456`). The gateway
//! ([`super::gateway`]) and the HTTP endpoint ([`super::interactions`]) both come through
//! [`interaction`], so both behave alike.

use std::sync::Arc;

use flywheel_insights::address::{ChannelAddress, UserAddress};
use serde_json::{Value, json};
use serenity::all::{
    CommandInteraction, CommandType, ComponentInteraction, Interaction, Member, Message, User,
};

use super::commands::{self, SAVE_AS_INSIGHT};
use super::respond::{self, AUTOCOMPLETE_RESULT, DiscordResponder, Surface};
use super::rest::Rest;
use crate::conversation::{
    ButtonPressed, CommandTyped, Context, Event, Inbound, Reply, SaveMessage, ThreadReply,
};

/// How an interaction was answered.
pub struct Answered {
    /// The interaction response.
    pub response: Value,
    /// Through which later answers follow; to be told once the response is out.
    pub responder: Option<DiscordResponder>,
}

/// Handles an interaction: its response, within Discord's three seconds.
pub async fn interaction(
    inbound: &Inbound,
    rest: &Arc<Rest>,
    interaction: Interaction,
) -> Answered {
    let (event, surface, application_id, token) = match interaction {
        Interaction::Ping(_) => return answered(respond::pong()),
        Interaction::Autocomplete(asked) => return answered(autocomplete(inbound, &asked).await),
        Interaction::Command(command) => match command_event(&command) {
            Ok(event) => (
                event,
                Surface::Command,
                command.application_id.get(),
                command.token,
            ),
            Err(refusal) => return answered(refuse(&refusal)),
        },
        Interaction::Component(pressed) => match button_event(&pressed) {
            Ok(event) => (
                event,
                Surface::Button,
                pressed.application_id.get(),
                pressed.token,
            ),
            Err(refusal) => return answered(refuse(&refusal)),
        },
        _ => {
            tracing::debug!("ignored a Discord interaction of an unused type");
            return answered(refuse("Flywheel does not handle that kind of interaction."));
        }
    };
    let responder = DiscordResponder::new(rest.clone(), application_id, token, surface);
    let response = inbound.respond(event, responder.clone()).await;
    Answered {
        response,
        responder: Some(responder),
    }
}

fn answered(response: Value) -> Answered {
    Answered {
        response,
        responder: None,
    }
}

/// An answer only the person sees, for an interaction that could not be read.
fn refuse(why: &str) -> Value {
    let reply = Reply::private(flywheel_insights::message::Message::text(why));
    json!({"type": 4, "data": respond::message_data(&reply)})
}

/// Who acted, with the roles they hold where they did.
fn person(user: &User, member: Option<&Member>) -> Result<(UserAddress, Vec<UserAddress>), String> {
    let user = member.map_or(user, |m| &m.user);
    let address = UserAddress::parse(&format!("discord:{}", user.id))
        .map_err(|e| format!("the interaction names an invalid user: {e}"))?;
    let roles = member
        .map(|m| {
            m.roles
                .iter()
                .filter_map(|role| UserAddress::parse(&format!("discord:role:{role}")).ok())
                .collect()
        })
        .unwrap_or_default();
    Ok((address, roles))
}

fn channel(id: impl std::fmt::Display) -> Result<ChannelAddress, String> {
    ChannelAddress::parse(&format!("discord:{id}"))
        .map_err(|e| format!("the interaction names an invalid channel: {e}"))
}

/// A slash command or the *Save as insight* message command.
fn command_event(command: &CommandInteraction) -> Result<Event, String> {
    let (user, roles) = person(&command.user, command.member.as_deref())?;
    let channel = channel(command.channel_id)?;
    match command.data.kind {
        CommandType::ChatInput => {
            let text = commands::command_line(&command.data.name, &command.data.options)
                .map_err(|e| e.0)?;
            Ok(Event::Command(CommandTyped {
                user,
                channel,
                text,
                roles,
            }))
        }
        CommandType::Message if command.data.name == SAVE_AS_INSIGHT => {
            let target = command
                .data
                .target_id
                .ok_or("the message command names no message")?;
            let message = command
                .data
                .resolved
                .messages
                .get(&target.get().into())
                .ok_or("the message to save was not sent along")?;
            Ok(Event::Save(SaveMessage {
                user,
                channel,
                message: message.id.to_string(),
                text: message.content.clone(),
            }))
        }
        _ => Err(format!(
            "{} is not a Flywheel command; try /insights help",
            command.data.name
        )),
    }
}

/// A button on one of Flywheel's messages.
fn button_event(pressed: &ComponentInteraction) -> Result<Event, String> {
    let (user, roles) = person(&pressed.user, pressed.member.as_ref())?;
    Ok(Event::Button(ButtonPressed {
        user,
        channel: channel(pressed.channel_id)?,
        button: pressed.data.custom_id.clone(),
        message: Some(pressed.message.id.to_string()),
        roles,
    }))
}

/// Suggestions for the option being typed.
async fn autocomplete(inbound: &Inbound, asked: &CommandInteraction) -> Value {
    let choices = match (
        commands::focused(&asked.data.options),
        person(&asked.user, asked.member.as_deref()),
        channel(asked.channel_id),
    ) {
        (Some((name, typed)), Ok((user, roles)), Ok(channel)) => {
            let context = Context::new(inbound.app(), &user, &channel).holding(&roles);
            commands::suggest(&context, &name, &typed).await
        }
        _ => Vec::new(),
    };
    json!({"type": AUTOCOMPLETE_RESULT, "data": {"choices": choices}})
}

/// A person's message in the thread `thread` of the channel `parent`; `None` for a bot's.
pub fn thread_reply(message: &Message, parent: &str) -> Option<Event> {
    if message.author.bot || message.webhook_id.is_some() {
        return None;
    }
    let user = UserAddress::parse(&format!("discord:{}", message.author.id)).ok()?;
    let channel = ChannelAddress::parse(&format!("discord:{parent}")).ok()?;
    Some(Event::ThreadReply(ThreadReply {
        user,
        channel,
        thread: message.channel_id.to_string(),
        message: message.id.to_string(),
        text: message.content.clone(),
    }))
}
