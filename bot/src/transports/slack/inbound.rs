//! What Slack sends Flywheel, however it arrives: slash commands, interactions (digest buttons
//! and the "Save as insight" message shortcut) and Events API callbacks. The HTTP endpoints
//! ([`super::http`]) and Socket Mode ([`super::socket`]) only unwrap Slack's framing and call
//! these, so both transports behave alike.
//!
//! Slack wants an answer within three seconds. A slash command not done within
//! [`Shared::answer_within`] is acknowledged with "Working on it…" and its answer is posted to
//! the command's `response_url` when ready; an interaction is acknowledged at once and answered
//! through its `response_url`.

use flywheel_insights::address::{ChannelAddress, Platform, UserAddress};
use flywheel_insights::message::Action;
use flywheel_storage::engagement::NewComment;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::oneshot;

use super::render;
use crate::app::App;
use crate::chat::{self, Audience, Context, Incoming, Reply};
use crate::serve::Shared;
use crate::services::channels::Adapters;

/// The `callback_id` of the "Save as insight" message shortcut (see `slack-manifest.yaml`).
pub const SAVE_AS_INSIGHT: &str = "save_as_insight";
/// How long posting a late answer to a `response_url` may take.
const RESPONSE_URL_TIMEOUT: Duration = Duration::from_secs(10);
/// What a command answers when it is not done in time.
pub const WORKING_ON_IT: &str = "Working on it…";

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

/// Runs a slash command: the answer to acknowledge it with (the answer itself, or "Working on
/// it…" with the answer following through the `response_url`).
pub async fn slash_command(shared: &Shared, command: SlashCommand) -> Value {
    let incoming = Incoming {
        user: command.user,
        channel: command.channel,
        text: format!("{} {}", command.command, command.text)
            .trim_end()
            .to_string(),
    };
    let response_url = command.response_url;
    let (tx, rx) = oneshot::channel::<Value>();
    let app = shared.app.clone();
    tokio::spawn(async move {
        let reply = chat::handle(&app, &incoming).await;
        let body = reply_body(&reply);
        if let Err(body) = tx.send(body) {
            // Slack was already told "Working on it…": the answer goes to the response URL.
            match response_url {
                Some(url) => post_response(&url, &body).await,
                None => tracing::warn!("a late Slack command answer has no response_url"),
            }
        }
    });
    let answer = if shared.answer_within.is_zero() {
        None
    } else {
        tokio::time::timeout(shared.answer_within, rx).await.ok()
    };
    match answer {
        Some(Ok(body)) => body,
        Some(Err(_)) => {
            tracing::error!("a Slack command stopped without an answer");
            json!({
                "response_type": "ephemeral",
                "text": "Sorry, something went wrong on our side. Please try again in a moment.",
            })
        }
        None => json!({"response_type": "ephemeral", "text": WORKING_ON_IT}),
    }
}

/// Handles an interaction payload: what to acknowledge it with (`None`: an empty 200).
pub async fn interaction(shared: &Shared, payload: Value) -> Result<Option<Value>, BadRequest> {
    match payload["type"].as_str() {
        Some("block_actions") => block_actions(shared, payload).await,
        Some("message_action") => {
            message_action(shared, payload)?;
            Ok(None)
        }
        other => {
            // Modals and other surfaces are not used; acknowledge them.
            tracing::debug!(kind = ?other, "ignored a Slack interaction of an unused type");
            Ok(None)
        }
    }
}

/// A digest or answer button.
async fn block_actions(shared: &Shared, payload: Value) -> Result<Option<Value>, BadRequest> {
    let (Some(user_id), Some(channel_id)) = (
        payload["user"]["id"].as_str(),
        payload["channel"]["id"].as_str(),
    ) else {
        return Ok(None);
    };
    let (user, channel) = addresses(user_id, channel_id)?;
    let action_id = payload["actions"][0]["action_id"].as_str().unwrap_or("");
    let Some(action) = Action::decode(action_id) else {
        tracing::warn!(action_id, "an unknown Slack button was pressed");
        return Ok(Some(json!({
            "response_type": "ephemeral",
            "replace_original": false,
            "text": "That button is no longer supported; try `/insights help`.",
        })));
    };
    let message = &payload["message"];
    let thread = message["thread_ts"]
        .as_str()
        .or_else(|| message["ts"].as_str())
        .map(str::to_string);
    let response_url = payload["response_url"].as_str().map(str::to_string);

    let app = shared.app.clone();
    let adapters = shared.adapters.clone();
    let (tx, rx) = oneshot::channel::<Value>();
    tokio::spawn(async move {
        let context = Context::new(&app, &user, &channel);
        let reply = chat::handle_action(&context, &action).await;
        let discussed = match (&action, &thread) {
            (Action::Discuss(id), Some(thread)) => {
                discuss(&app, &adapters, &channel, thread, *id, &reply).await
            }
            _ => false,
        };
        let mut body = reply_body(&reply);
        body["replace_original"] = json!(false);
        if discussed {
            body = json!({
                "response_type": "ephemeral",
                "replace_original": false,
                "text": "Started a thread on it: replies there are kept as comments on the insight.",
            });
        }
        // Slack shows an interaction's answer only when it is posted to the response URL.
        if let Some(url) = &response_url {
            post_response(url, &body).await;
        }
        let _ = tx.send(body);
    });
    if shared.answer_within.is_zero() {
        return Ok(None);
    }
    match tokio::time::timeout(shared.answer_within, rx).await {
        Ok(Ok(body)) => Ok(Some(body)),
        _ => Ok(None),
    }
}

/// The "Save as insight" message shortcut: the message becomes an insight linked to it, and
/// the person who saved it is told its number through the `response_url`. Acknowledged at once.
fn message_action(shared: &Shared, payload: Value) -> Result<(), BadRequest> {
    let callback = payload["callback_id"].as_str().unwrap_or_default();
    if callback != SAVE_AS_INSIGHT {
        tracing::warn!(callback, "an unknown Slack shortcut was used");
        return Ok(());
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
        .map(str::to_string)
    else {
        return Err(BadRequest("the message has no ts"));
    };
    let text = message["text"].as_str().unwrap_or_default().to_string();
    let response_url = payload["response_url"].as_str().map(str::to_string);
    let app = shared.app.clone();
    let adapters = shared.adapters.clone();
    tokio::spawn(async move {
        let link = match adapters.get(Platform::Slack) {
            Some(adapter) => match adapter.link(&channel, &ts).await {
                Ok(link) => link,
                Err(e) => {
                    tracing::warn!(%channel, "cannot get the link of a saved message: {e}");
                    None
                }
            },
            None => None,
        };
        let context = Context::new(&app, &user, &channel);
        let message_ref = format!("{channel}/{ts}");
        let reply = chat::save_message(&context, &text, &message_ref, link).await;
        match &response_url {
            Some(url) => post_response(url, &reply_body(&reply)).await,
            None => tracing::warn!("a Slack shortcut has no response_url to answer"),
        }
    });
    Ok(())
}

/// Opens the discussion of insight `id`: its details in the thread under `thread`, and the
/// thread linked to it so the replies become comments. Whether it worked.
async fn discuss(
    app: &App,
    adapters: &Adapters,
    channel: &ChannelAddress,
    thread: &str,
    id: i64,
    reply: &Reply,
) -> bool {
    let Some(adapter) = adapters.get(Platform::Slack) else {
        tracing::warn!("cannot open a discussion: no Slack bot token is configured");
        return false;
    };
    if let Err(e) = adapter.reply(channel, thread, &reply.message).await {
        tracing::warn!(%channel, "cannot post the discussion thread: {e}");
        return false;
    }
    if let Err(e) = app
        .store
        .link_thread(&channel.to_string(), thread, id, None)
        .await
    {
        tracing::error!(%channel, "cannot link the discussion thread: {e}");
        return false;
    }
    true
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
pub async fn event(app: &App, envelope: &Value, retry: &str) -> anyhow::Result<EventAnswer> {
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
            let key = format!("slack:{event_id}");
            if !app.store.first_delivery_of(&key, app.clock.now()).await? {
                tracing::debug!(event_id, retry, "ignored a Slack event delivered again");
                return Ok(EventAnswer::Done);
            }
            if let Err(e) = event_callback(app, &envelope["event"]).await {
                // Given back, so that Slack's retry is handled rather than ignored.
                if let Err(forget) = app.store.forget_event(&key).await {
                    tracing::error!(event_id, "cannot give a failed event back: {forget}");
                }
                return Err(e);
            }
            Ok(EventAnswer::Done)
        }
        other => {
            tracing::debug!(kind = ?other, "ignored a Slack request of an unused type");
            Ok(EventAnswer::Done)
        }
    }
}

/// A reply in a thread linked to an insight becomes a comment on it.
async fn event_callback(app: &App, event: &Value) -> anyhow::Result<()> {
    if event["type"] != "message" || !event["subtype"].is_null() || !event["bot_id"].is_null() {
        return Ok(());
    }
    let (Some(ts), Some(thread_ts), Some(channel), Some(user)) = (
        event["ts"].as_str(),
        event["thread_ts"].as_str(),
        event["channel"].as_str(),
        event["user"].as_str(),
    ) else {
        return Ok(());
    };
    if ts == thread_ts {
        // The thread's first message, not a reply.
        return Ok(());
    }
    let channel = format!("slack:{channel}");
    let Some(insight_id) = app.store.thread_insight(&channel, thread_ts).await? else {
        return Ok(());
    };
    let comment = NewComment {
        insight_id,
        author: format!("slack:{user}"),
        channel,
        thread_ref: Some(thread_ts.to_string()),
        platform_ref: ts.to_string(),
        text: chat::without_nul(event["text"].as_str().unwrap_or_default()).into_owned(),
        now: app.clock.now(),
    };
    if app.store.add_comment(&comment).await? {
        tracing::info!(insight_id, "stored a comment from a Slack thread");
    }
    Ok(())
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

/// The JSON Slack expects for a command's or a button's answer.
pub fn reply_body(reply: &Reply) -> Value {
    let rendered = render::render(&reply.message);
    let response_type = match reply.audience {
        Audience::Asker => "ephemeral",
        Audience::Channel => "in_channel",
    };
    let mut body = json!({
        "response_type": response_type,
        "text": rendered.text,
    });
    if !rendered.blocks.is_empty() {
        body["blocks"] = Value::Array(rendered.blocks);
    }
    body
}

/// Posts an answer to a `response_url`; failures are logged.
async fn post_response(url: &str, body: &Value) {
    let client = match reqwest::Client::builder()
        .timeout(RESPONSE_URL_TIMEOUT)
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!("cannot build an HTTP client: {e}");
            return;
        }
    };
    match client.post(url).json(body).send().await {
        Ok(response) if response.status().is_success() => {}
        Ok(response) => {
            tracing::warn!(status = %response.status(), "Slack refused an answer sent to its response_url");
        }
        Err(e) => tracing::warn!("cannot post an answer to Slack's response_url: {e}"),
    }
}
