//! Slack's inbound HTTP endpoints: slash commands, button presses and the Events API.
//!
//! Every request is checked with the signing secret before anything in it is read; a request
//! larger than `[slack] max_body_bytes` is refused with 413 before it is checked. A slash
//! command that takes longer than Slack's three seconds is acknowledged with "Working on it…"
//! and its answer is posted to the command's `response_url` when ready. Replies in a thread
//! linked to an insight become comments on it; Slack's retries of an event are acknowledged
//! and ignored.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use flywheel_insights::address::{ChannelAddress, Platform, UserAddress};
use flywheel_insights::message::Action;
use flywheel_storage::engagement::NewComment;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::render;
use super::verify::SlackVerifier;
use crate::app::App;
use crate::chat::{self, Audience, Context, Incoming, Reply};
use crate::serve::Shared;

/// How long a command may run before Slack gets "Working on it…" (Slack waits three seconds).
const ANSWER_WITHIN: Duration = Duration::from_millis(2500);
/// How long posting a late answer to a `response_url` may take.
const RESPONSE_URL_TIMEOUT: Duration = Duration::from_secs(10);
/// What a command answers when it is not done in time.
const WORKING_ON_IT: &str = "Working on it…";
/// What every endpoint answers when no signing secret is configured.
const NOT_CONFIGURED: &str = "Slack is not configured";

/// The state of the Slack routes: the verifier, when the signing secret is set.
#[derive(Clone)]
struct Endpoint {
    verifier: Option<SlackVerifier>,
}

/// Slack's endpoints: `POST /slack/commands`, `/slack/interactions` and `/slack/events`.
/// Without a `verifier` (no signing secret) they answer 503.
pub fn routes(verifier: Option<SlackVerifier>, max_body_bytes: usize) -> Router<Shared> {
    let endpoint = Endpoint { verifier };
    let with = |handler: Handler| {
        let endpoint = endpoint.clone();
        post(
            move |State(shared): State<Shared>, headers: HeaderMap, body: Bytes| {
                let endpoint = endpoint.clone();
                async move {
                    if let Err(response) = endpoint.check(&shared, &headers, &body) {
                        return response;
                    }
                    match handler {
                        Handler::Commands => commands(shared, body).await,
                        Handler::Interactions => interactions(shared, body).await,
                        Handler::Events => events(shared, &headers, body).await,
                    }
                }
            },
        )
    };
    Router::new()
        .route("/slack/commands", with(Handler::Commands))
        .route("/slack/interactions", with(Handler::Interactions))
        .route("/slack/events", with(Handler::Events))
        .layer(DefaultBodyLimit::max(max_body_bytes))
}

#[derive(Debug, Clone, Copy)]
enum Handler {
    Commands,
    Interactions,
    Events,
}

impl Endpoint {
    /// Whether the request is Slack's; the refusal to send when it is not.
    #[allow(clippy::result_large_err)]
    fn check(&self, shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<(), Response> {
        let Some(verifier) = &self.verifier else {
            return Err((StatusCode::SERVICE_UNAVAILABLE, NOT_CONFIGURED).into_response());
        };
        verifier
            .verify_headers(headers, body, shared.app.clock.now())
            .map_err(|e| {
                // The body is never logged: it may hold customer text.
                tracing::warn!(body_bytes = body.len(), "refused a Slack request: {e}");
                (StatusCode::UNAUTHORIZED, "invalid request signature").into_response()
            })
    }
}

/// `POST /slack/commands`.
async fn commands(shared: Shared, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let (Some(user_id), Some(channel_id)) = (form.get("user_id"), form.get("channel_id")) else {
        return (
            StatusCode::BAD_REQUEST,
            "user_id and channel_id are required",
        )
            .into_response();
    };
    let (user, channel) = match addresses(user_id, channel_id) {
        Ok(pair) => pair,
        Err(response) => return response,
    };
    let command = form.get("command").unwrap_or("/insights");
    let text = form.get("text").unwrap_or_default();
    let incoming = Incoming {
        user,
        channel,
        text: format!("{command} {text}").trim_end().to_string(),
    };
    let response_url = form.get("response_url").map(str::to_string);

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
    match tokio::time::timeout(ANSWER_WITHIN, rx).await {
        Ok(Ok(body)) => axum::Json(body).into_response(),
        Ok(Err(_)) => {
            tracing::error!("a Slack command stopped without an answer");
            axum::Json(json!({
                "response_type": "ephemeral",
                "text": "Sorry, something went wrong on our side. Please try again in a moment.",
            }))
            .into_response()
        }
        Err(_) => {
            axum::Json(json!({"response_type": "ephemeral", "text": WORKING_ON_IT})).into_response()
        }
    }
}

/// `POST /slack/interactions`: button presses.
async fn interactions(shared: Shared, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let Some(payload) = form.get("payload") else {
        return (StatusCode::BAD_REQUEST, "the payload field is required").into_response();
    };
    let payload: Value = match serde_json::from_str(payload) {
        Ok(payload) => payload,
        Err(e) => {
            tracing::warn!("a Slack interaction payload is not JSON: {e}");
            return (StatusCode::BAD_REQUEST, "the payload is not JSON").into_response();
        }
    };
    if payload["type"] != "block_actions" {
        // Other interaction types (shortcuts, modals) are not used; acknowledge them.
        return StatusCode::OK.into_response();
    }
    let (Some(user_id), Some(channel_id)) = (
        payload["user"]["id"].as_str(),
        payload["channel"]["id"].as_str(),
    ) else {
        return StatusCode::OK.into_response();
    };
    let (user, channel) = match addresses(user_id, channel_id) {
        Ok(pair) => pair,
        Err(response) => return response,
    };
    let action_id = payload["actions"][0]["action_id"].as_str().unwrap_or("");
    let Some(action) = Action::decode(action_id) else {
        tracing::warn!(action_id, "an unknown Slack button was pressed");
        return axum::Json(json!({
            "response_type": "ephemeral",
            "replace_original": false,
            "text": "That button is no longer supported; try `/insights help`.",
        }))
        .into_response();
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
    match tokio::time::timeout(ANSWER_WITHIN, rx).await {
        Ok(Ok(body)) => axum::Json(body).into_response(),
        _ => StatusCode::OK.into_response(),
    }
}

/// Opens the discussion of insight `id`: its details in the thread under `thread`, and the
/// thread linked to it so the replies become comments. Whether it worked.
async fn discuss(
    app: &App,
    adapters: &crate::adapters::Adapters,
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

/// `POST /slack/events`: the Events API.
async fn events(shared: Shared, headers: &HeaderMap, body: Bytes) -> Response {
    let event: Value = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!("a Slack event is not JSON: {e}");
            return (StatusCode::BAD_REQUEST, "the body is not JSON").into_response();
        }
    };
    match event["type"].as_str() {
        Some("url_verification") => {
            let challenge = event["challenge"].as_str().unwrap_or_default();
            axum::Json(json!({ "challenge": challenge })).into_response()
        }
        Some("event_callback") => {
            let retry = headers
                .get("x-slack-retry-num")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("0");
            if let Err(e) = event_callback(&shared.app, &event, retry).await {
                // Acknowledged anyway: a retry would be ignored as a duplicate.
                tracing::error!("cannot handle a Slack event: {e:#}");
            }
            StatusCode::OK.into_response()
        }
        other => {
            tracing::debug!(kind = ?other, "ignored a Slack request of an unused type");
            StatusCode::OK.into_response()
        }
    }
}

async fn event_callback(app: &App, envelope: &Value, retry: &str) -> anyhow::Result<()> {
    let Some(event_id) = envelope["event_id"].as_str() else {
        return Ok(());
    };
    let now = app.clock.now();
    if !app
        .store
        .first_delivery_of(&format!("slack:{event_id}"), now)
        .await?
    {
        tracing::debug!(event_id, retry, "ignored a Slack event delivered again");
        return Ok(());
    }
    let event = &envelope["event"];
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
        text: event["text"].as_str().unwrap_or_default().to_string(),
        now,
    };
    if app.store.add_comment(&comment).await? {
        tracing::info!(insight_id, "stored a comment from a Slack thread");
    }
    Ok(())
}

/// The Slack user and channel with these ids, or a 400 answer.
#[allow(clippy::result_large_err)]
fn addresses(user_id: &str, channel_id: &str) -> Result<(UserAddress, ChannelAddress), Response> {
    let user = UserAddress::parse(&format!("slack:{user_id}"));
    let channel = ChannelAddress::parse(&format!("slack:{channel_id}"));
    match (user, channel) {
        (Ok(user), Ok(channel)) => Ok((user, channel)),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!("a Slack request names an invalid user or channel: {e}");
            Err((StatusCode::BAD_REQUEST, "invalid user or channel id").into_response())
        }
    }
}

/// The JSON Slack expects for a command's or a button's answer.
fn reply_body(reply: &Reply) -> Value {
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

/// An `application/x-www-form-urlencoded` body.
struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    fn parse(body: &[u8]) -> Form {
        let fields = body
            .split(|&b| b == b'&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let mut parts = pair.splitn(2, |&b| b == b'=');
                let name = decode(parts.next().unwrap_or_default());
                let value = decode(parts.next().unwrap_or_default());
                (name, value)
            })
            .collect();
        Form { fields }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Percent-decodes one form component (`+` is a space).
fn decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => {
                let hex = std::str::from_utf8(&s[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_decoded() {
        let form = Form::parse(b"command=%2Finsights&text=ask+refunds%20now&empty=&bad=%zz&end=%4");
        assert_eq!(form.get("command"), Some("/insights"));
        assert_eq!(form.get("text"), Some("ask refunds now"));
        assert_eq!(form.get("empty"), Some(""));
        assert_eq!(form.get("bad"), Some("%zz"));
        assert_eq!(form.get("end"), Some("%4"));
        assert_eq!(form.get("missing"), None);
        assert_eq!(decode("caf%C3%A9".as_bytes()), "café");
    }
}
