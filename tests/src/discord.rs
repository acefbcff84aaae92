//! An emulated Discord, so the real Discord transports and adapter can be tested end to end.
//!
//! It serves REST under `/api/v10` on `127.0.0.1:0` (serenity's HTTP client is pointed at it
//! with `HttpBuilder::proxy`, Flywheel's REST client with `discord.api_url`): the gateway URL,
//! `users/@me`, command registration, messages (post, history), channels and threads,
//! interaction callbacks and the interaction webhooks. It enforces what Discord enforces: the
//! bot token, the channel's existence, the message limits (content 2,000; 10 embeds and 6,000
//! characters together; title 256, description 4,096, 25 fields of 1,024; 5 rows of 5
//! buttons with unique ids), a nonce of at most 25 characters with `enforce_nonce`, five posts
//! per five seconds per channel (429 with `retry_after` and the `X-RateLimit-*` headers), and
//! follow-ups only after an interaction was answered. A message may come as
//! `multipart/form-data` (`payload_json` and `files[n]`), as it must when it carries files:
//! every file must be a PNG (Flywheel only sends charts), every entry of `attachments` must
//! name a file sent with it, and every `attachment://` image of an embed an attachment; the
//! files are kept with the message ([`Recorded::files`]). Faults can be queued per channel: a
//! forced 429 (the route's or the global one), a 5xx, a connection dropped before or after the
//! message was accepted.
//!
//! And a gateway WebSocket ([`gateway`]): Hello, Identify (a wrong token closes with 4004, a
//! privileged intent the application lacks with 4014), Ready, Heartbeat/ACK, then whatever a
//! test dispatches (`INTERACTION_CREATE`, `MESSAGE_CREATE`); a test can drop the connection.
//!
//! It also plays Discord calling an interactions endpoint: [`DiscordEmulator::sign`] signs a
//! body with the application's Ed25519 key ([`DiscordEmulator::public_key`]).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use ed25519_dalek::{Signer, SigningKey};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub mod gateway;

/// The bot token the emulator accepts unless told otherwise.
pub const BOT_TOKEN: &str = "emulated.discord.bot-token";
/// The application.
pub const APPLICATION_ID: u64 = 900_000_000_000_000_001;
/// The bot's user id.
pub const BOT_USER_ID: u64 = 900_000_000_000_000_002;
/// The emulated server.
pub const GUILD_ID: u64 = 900_000_000_000_000_003;
/// Posts a channel accepts per window.
const CHANNEL_POSTS: u32 = 5;
/// The window of [`CHANNEL_POSTS`].
const CHANNEL_WINDOW: Duration = Duration::from_secs(5);
/// How long a nonce is remembered with `enforce_nonce`.
const NONCE_WINDOW: Duration = Duration::from_secs(300);

/// A failure to produce on the next post to one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer 429 for the route with this `retry_after`.
    RateLimited(Duration),
    /// Answer 429 with `global: true`.
    GlobalRateLimited(Duration),
    /// Answer with this status and an HTML body, as Discord's edge does.
    ServerError(u16),
    /// Close the connection without an answer; nothing is accepted.
    DropBeforeAccept,
    /// Accept the message, then close the connection without an answer.
    DropAfterAccept,
}

/// A message the emulator accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// Its id.
    pub id: String,
    /// The channel (or thread) id.
    pub channel: String,
    /// The body as sent.
    pub body: Value,
    /// Who posted it: the bot's id, or a person's.
    pub author: u64,
    /// The files attached to it, by attachment id.
    pub files: Vec<Attachment>,
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Its id in the message's `attachments`.
    pub id: u64,
    /// Its name.
    pub filename: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

impl Recorded {
    /// Everything the message says: content, embed titles, descriptions, fields and footers.
    pub fn text(&self) -> String {
        let mut out = vec![self.body["content"].as_str().unwrap_or("").to_string()];
        for e in self.body["embeds"].as_array().into_iter().flatten() {
            for key in ["title", "description"] {
                out.push(e[key].as_str().unwrap_or("").to_string());
            }
            for f in e["fields"].as_array().into_iter().flatten() {
                out.push(format!(
                    "{}: {}",
                    f["name"].as_str().unwrap_or(""),
                    f["value"].as_str().unwrap_or("")
                ));
            }
            out.push(e["footer"]["text"].as_str().unwrap_or("").to_string());
        }
        out.retain(|s| !s.is_empty());
        out.join("\n")
    }

    /// The `custom_id` of every button.
    pub fn buttons(&self) -> Vec<String> {
        self.body["components"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .filter_map(|b| b["custom_id"].as_str().map(str::to_string))
            .collect()
    }
}

/// One request the emulator answered (or dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `POST /channels/{id}/messages` with the id.
    pub route: String,
    /// `ok`, `http 429`, `http 400 …`, `dropped`, `dropped after ok`.
    pub outcome: String,
}

/// What was said through an interaction: its callback, follow-ups and edits, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Said {
    /// `callback`, `followup`, `edit original`, `delete original`.
    pub how: String,
    /// The body.
    pub body: Value,
}

/// A running emulated Discord. Stops when dropped.
pub struct DiscordEmulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for DiscordEmulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub(crate) struct Shared {
    state: Mutex<Emulated>,
    changed: Notify,
    key: SigningKey,
    started: Instant,
    /// Gateway dispatches, to every connection.
    pub(crate) dispatch: broadcast::Sender<gateway::Command>,
    pub(crate) addr: Mutex<Option<SocketAddr>>,
}

#[derive(Default)]
pub(crate) struct Emulated {
    pub(crate) token: String,
    pub(crate) message_content_allowed: bool,
    next_id: u64,
    /// Channel id → (type, parent).
    channels: HashMap<String, (u8, Option<String>)>,
    messages: Vec<Recorded>,
    calls: Vec<Call>,
    faults: HashMap<String, VecDeque<Fault>>,
    /// Channel → the instants of its recent posts.
    posts: HashMap<String, VecDeque<Duration>>,
    /// Nonce → (message id, when).
    nonces: HashMap<(String, String), (String, Duration)>,
    global_hold: Duration,
    /// Token → what was said through the interaction.
    interactions: HashMap<String, Vec<Said>>,
    /// Registered commands, by path.
    pub(crate) commands: HashMap<String, Value>,
    pub(crate) identified: u32,
    /// Reactions the bot added: (channel, message, emoji).
    reactions: Vec<(String, String, String)>,
}

/// Lets a handler close its own connection without answering.
#[derive(Clone)]
struct Connection(Arc<Notify>);

impl DiscordEmulator {
    /// Starts an emulator on a free local port.
    pub async fn start() -> DiscordEmulator {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port for the Discord emulator");
        let addr = listener.local_addr().expect("local address");
        let (dispatch, _) = broadcast::channel(256);
        let shared = Arc::new(Shared {
            state: Mutex::new(Emulated {
                token: BOT_TOKEN.to_string(),
                message_content_allowed: true,
                next_id: 1_000_000_000_000_000_000,
                ..Emulated::default()
            }),
            changed: Notify::new(),
            key: SigningKey::from_bytes(&[7; 32]),
            started: Instant::now(),
            dispatch,
            addr: Mutex::new(Some(addr)),
        });
        let router = Router::new()
            .route("/gateway", get(gateway::connect))
            .route("/api/v10/{*path}", any(api))
            .with_state(shared.clone());
        let server = tokio::spawn(serve(listener, router));
        DiscordEmulator {
            addr,
            shared,
            server,
        }
    }

    /// The base URL, as `discord.api_url` takes it: `http://127.0.0.1:PORT`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The application's public key, as `DISCORD_PUBLIC_KEY` holds it (64 hex digits).
    pub fn public_key(&self) -> String {
        hex::encode(self.shared.key.verifying_key().to_bytes())
    }

    /// The `X-Signature-Ed25519` Discord puts on `body` sent at `timestamp`.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        let message = [timestamp.as_bytes(), body].concat();
        hex::encode(self.shared.key.sign(&message).to_bytes())
    }

    /// From now on only `token` is accepted (the old one is revoked).
    pub fn set_token(&self, token: &str) {
        self.lock().token = token.to_string();
    }

    /// Whether the application may use the Message Content Intent.
    pub fn allow_message_content(&self, allowed: bool) {
        self.lock().message_content_allowed = allowed;
    }

    /// A text channel in the server.
    pub fn add_channel(&self, id: &str) {
        self.lock().channels.insert(id.to_string(), (0, None));
    }

    /// Queues `fault` for the next post to `channel`; several queue in order.
    pub fn inject(&self, channel: &str, fault: Fault) {
        self.lock()
            .faults
            .entry(channel.to_string())
            .or_default()
            .push_back(fault);
    }

    /// The accepted messages of one channel (or thread), in order.
    pub fn messages_in(&self, channel: &str) -> Vec<Recorded> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.channel == channel)
            .cloned()
            .collect()
    }

    /// Every request answered so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// How many requests had `outcome`.
    pub fn count(&self, outcome: &str) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.outcome == outcome)
            .count()
    }

    /// What was said through the interaction with `token`.
    pub fn said(&self, token: &str) -> Vec<Said> {
        self.lock()
            .interactions
            .get(token)
            .cloned()
            .unwrap_or_default()
    }

    /// Records that the interaction with `token` was answered with `response` as an HTTP
    /// response, as Discord does when its request to an interactions endpoint returns.
    pub fn answered_over_http(&self, token: &str, response: Value) {
        self.lock()
            .interactions
            .entry(token.to_string())
            .or_default()
            .push(Said {
                how: "callback".into(),
                body: response,
            });
        self.shared.touched();
    }

    /// The commands registered at `path` (`/applications/{id}/guilds/{g}/commands`).
    pub fn commands(&self, path: &str) -> Option<Value> {
        self.lock().commands.get(path).cloned()
    }

    /// How many times a gateway connection identified.
    pub fn identified(&self) -> u32 {
        self.lock().identified
    }

    /// A message written by the person `author` in `channel`: its record (not yet dispatched).
    pub fn user_message(&self, channel: &str, author: u64, text: &str) -> Recorded {
        let mut state = self.lock();
        let id = next_id(&mut state);
        let record = Recorded {
            id,
            channel: channel.to_string(),
            body: json!({"content": text}),
            author,
            files: Vec::new(),
        };
        state.messages.push(record.clone());
        record
    }

    /// The reactions the bot added under the message `message` of `channel` (a thread is a
    /// channel), in order.
    pub fn reactions(&self, channel: &str, message: &str) -> Vec<String> {
        self.lock()
            .reactions
            .iter()
            .filter(|(c, m, _)| c == channel && m == message)
            .map(|(_, _, emoji)| emoji.clone())
            .collect()
    }

    /// Waits until `check` holds of the emulator's state (giving up after `limit`).
    pub async fn wait_until(
        &self,
        limit: Duration,
        check: impl Fn(&DiscordEmulator) -> bool,
    ) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let changed = self.shared.changed.notified();
            if check(self) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return check(self);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Emulated> {
        self.shared.lock()
    }
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Emulated> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn touched(&self) {
        self.changed.notify_waiters();
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }
}

fn next_id(state: &mut Emulated) -> String {
    state.next_id += 1;
    state.next_id.to_string()
}

async fn serve(listener: TcpListener, router: Router) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let kill = Arc::new(Notify::new());
        let service =
            TowerToHyperService::new(router.clone().layer(Extension(Connection(kill.clone()))));
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .header_read_timeout(None)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::select! {
                _ = connection => {}
                _ = kill.notified() => {}
            }
        });
    }
}

/// An error as Discord sends it.
fn error(status: StatusCode, code: i64, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

async fn api(
    State(shared): State<Arc<Shared>>,
    Extension(connection): Extension<Connection>,
    Path(path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parts: Vec<&str> = path.split('/').collect();
    // Webhooks and interaction callbacks are authorised by the interaction's token.
    let by_token = matches!(parts.first(), Some(&"webhooks" | &"interactions"));
    if !by_token {
        let expected = format!("Bot {}", shared.lock().token);
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
            return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
        }
    }
    let form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix("multipart/form-data; boundary="))
        .map(|boundary| form_data(boundary.trim_matches('"'), &body));
    let (json, files) = match form {
        None => (
            serde_json::from_slice(&body).unwrap_or(Value::Null),
            Vec::new(),
        ),
        Some(Ok(form)) => form,
        Some(Err(why)) => {
            let response = error(
                StatusCode::BAD_REQUEST,
                50035,
                &format!("Invalid Form Body: {why}"),
            );
            shared.lock().calls.push(Call {
                route: format!("{method} /{path}"),
                outcome: format!("http 400 {why}"),
            });
            return response;
        }
    };
    let response = match (&method, parts.as_slice()) {
        (&Method::GET, ["gateway"]) => {
            let addr = shared
                .addr
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap();
            Json(json!({"url": format!("ws://{addr}/gateway")})).into_response()
        }
        (&Method::GET, ["users", "@me"]) => Json(json!({
            "id": BOT_USER_ID.to_string(), "username": "Flywheel", "bot": true,
            "discriminator": "0000", "global_name": null, "avatar": null,
        }))
        .into_response(),
        (&Method::PUT, ["applications", _, "commands"])
        | (&Method::PUT, ["applications", _, "guilds", _, "commands"]) => {
            shared
                .lock()
                .commands
                .insert(format!("/{path}"), json.clone());
            Json(json).into_response()
        }
        (&Method::GET, ["channels", id]) => {
            let state = shared.lock();
            match state.channels.get(*id) {
                Some((kind, parent)) => Json(json!({
                    "id": id, "type": kind, "guild_id": GUILD_ID.to_string(), "parent_id": parent,
                }))
                .into_response(),
                None => error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"),
            }
        }
        (&Method::GET, ["channels", id, "messages"]) => history(&shared, id, &query),
        (&Method::POST, ["channels", id, "messages"]) => {
            return post_message(&shared, &connection, id, json, files).await;
        }
        (
            &Method::PUT,
            [
                "channels",
                id,
                "messages",
                message,
                "reactions",
                emoji,
                "@me",
            ],
        ) => {
            let mut state = shared.lock();
            if state
                .messages
                .iter()
                .any(|m| m.channel == *id && m.id == *message)
            {
                let emoji = percent_decoded(emoji);
                state
                    .reactions
                    .push((id.to_string(), message.to_string(), emoji));
                StatusCode::NO_CONTENT.into_response()
            } else {
                error(StatusCode::NOT_FOUND, 10008, "Unknown Message")
            }
        }
        (&Method::POST, ["channels", id, "messages", message, "threads"]) => {
            open_thread(&shared, id, message, &json)
        }
        (&Method::POST, ["interactions", _, token, "callback"]) => {
            said(&shared, token, "callback", json, false)
        }
        (&Method::POST, ["webhooks", _, token]) => said(&shared, token, "followup", json, true),
        (&Method::PATCH, ["webhooks", _, token, "messages", "@original"]) => {
            said(&shared, token, "edit original", json, true)
        }
        (&Method::DELETE, ["webhooks", _, token, "messages", "@original"]) => {
            said(&shared, token, "delete original", json, true)
        }
        _ => error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
    };
    shared.touched();
    response
}

fn said(shared: &Shared, token: &str, how: &str, body: Value, needs_callback: bool) -> Response {
    let mut state = shared.lock();
    let list = state.interactions.entry(token.to_string()).or_default();
    if needs_callback && !list.iter().any(|s| s.how == "callback") {
        return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
    }
    if !needs_callback && list.iter().any(|s| s.how == "callback") {
        return error(
            StatusCode::BAD_REQUEST,
            40060,
            "Interaction has already been acknowledged.",
        );
    }
    // A callback carries the message under `data`; a webhook carries it whole.
    let message = if body["data"].is_object() {
        &body["data"]
    } else {
        &body
    };
    // Of the callbacks, only "a message" (4) and "update the message" (7) carry one; a deferral
    // (5, 6) or a pong (1) carries at most flags.
    let carries_message = how != "callback" || matches!(body["type"].as_u64(), Some(4 | 7));
    let checked = if carries_message {
        check_message(message)
    } else {
        Ok(())
    };
    if let Err(why) = checked {
        return error(
            StatusCode::BAD_REQUEST,
            50035,
            &format!("Invalid Form Body: {why}"),
        );
    }
    list.push(Said {
        how: how.to_string(),
        body: body.clone(),
    });
    if how == "callback" {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Json(json!({"id": "1", "channel_id": "1", "content": body["content"]})).into_response()
    }
}

fn open_thread(shared: &Shared, channel: &str, message: &str, body: &Value) -> Response {
    let mut state = shared.lock();
    if !state
        .messages
        .iter()
        .any(|m| m.channel == channel && m.id == message)
    {
        return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
    }
    if state.channels.contains_key(message) {
        return error(
            StatusCode::BAD_REQUEST,
            160004,
            "A thread has already been created for this message",
        );
    }
    let name = body["name"].as_str().unwrap_or("");
    if name.is_empty() || name.chars().count() > 100 {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body: name");
    }
    state
        .channels
        .insert(message.to_string(), (11, Some(channel.to_string())));
    Json(json!({"id": message, "type": 11, "parent_id": channel, "name": name})).into_response()
}

fn history(shared: &Shared, channel: &str, query: &HashMap<String, String>) -> Response {
    let state = shared.lock();
    if !state.channels.contains_key(channel) {
        return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    }
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let before = query.get("before").and_then(|b| b.parse::<u64>().ok());
    let page: Vec<Value> = state
        .messages
        .iter()
        .rev()
        .filter(|m| m.channel == channel)
        .filter(|m| before.is_none_or(|b| m.id.parse::<u64>().is_ok_and(|id| id < b)))
        .take(limit)
        .map(|m| {
            // Discord does not give nonces back in a channel's history.
            let mut message = m.body.clone();
            if let Some(object) = message.as_object_mut() {
                object.remove("nonce");
                object.remove("enforce_nonce");
            }
            message["id"] = json!(m.id);
            message["channel_id"] = json!(m.channel);
            message["author"] = json!({"id": m.author.to_string()});
            message
        })
        .collect();
    Json(Value::Array(page)).into_response()
}

async fn post_message(
    shared: &Shared,
    connection: &Connection,
    channel: &str,
    body: Value,
    files: Vec<Attachment>,
) -> Response {
    let route = format!("POST /channels/{channel}/messages");
    let log = |outcome: &str| {
        shared.lock().calls.push(Call {
            route: route.clone(),
            outcome: outcome.to_string(),
        });
        shared.touched();
    };
    let fault = shared
        .lock()
        .faults
        .get_mut(channel)
        .and_then(VecDeque::pop_front);
    let now = shared.now();
    match &fault {
        Some(Fault::RateLimited(wait)) => {
            log("http 429");
            return limited(*wait, false);
        }
        Some(Fault::GlobalRateLimited(wait)) => {
            shared.lock().global_hold = now + *wait;
            log("http 429 global");
            return limited(*wait, true);
        }
        Some(Fault::ServerError(status)) => {
            log(&format!("http {status}"));
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY);
            return (status, "<html><body>upstream error</body></html>").into_response();
        }
        Some(Fault::DropBeforeAccept) => {
            log("dropped");
            connection.0.notify_one();
            return std::future::pending().await;
        }
        _ => {}
    }
    let accepted = accept(shared, channel, body, files, now);
    if fault == Some(Fault::DropAfterAccept) && accepted.is_err() {
        // Nothing was accepted (a rate limit, a bad request): the fault waits for a message
        // that is.
        shared
            .lock()
            .faults
            .entry(channel.to_string())
            .or_default()
            .push_front(Fault::DropAfterAccept);
    }
    let accepted_any = accepted.is_ok();
    let (response, outcome) = match accepted {
        Ok((message, remaining, reset_after)) => (
            (
                [
                    ("x-ratelimit-limit", CHANNEL_POSTS.to_string()),
                    ("x-ratelimit-remaining", remaining.to_string()),
                    ("x-ratelimit-reset-after", format!("{reset_after:.3}")),
                    ("x-ratelimit-bucket", "messages".to_string()),
                ],
                Json(message),
            )
                .into_response(),
            "ok".to_string(),
        ),
        Err(refused) => *refused,
    };
    if fault == Some(Fault::DropAfterAccept) && accepted_any {
        log(&format!("dropped after {outcome}"));
        connection.0.notify_one();
        return std::future::pending().await;
    }
    log(&outcome);
    response
}

fn limited(wait: Duration, global: bool) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({
            "message": "You are being rate limited.",
            "retry_after": wait.as_secs_f64(),
            "global": global,
        })),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        "retry-after",
        wait.as_secs().max(1).to_string().parse().unwrap(),
    );
    if global {
        headers.insert("x-ratelimit-global", "true".parse().unwrap());
    }
    response
}

type Accepted = Result<(Value, u32, f64), Box<(Response, String)>>;

fn accept(
    shared: &Shared,
    channel: &str,
    body: Value,
    files: Vec<Attachment>,
    now: Duration,
) -> Accepted {
    let mut state = shared.lock();
    if !state.channels.contains_key(channel) {
        return Err(Box::new((
            error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"),
            "http 404".into(),
        )));
    }
    if state.global_hold > now {
        let wait = state.global_hold - now;
        return Err(Box::new((limited(wait, true), "http 429 global".into())));
    }
    if let Err(why) = check_message(&body).and_then(|()| check_attachments(&body, &files)) {
        return Err(Box::new((
            error(
                StatusCode::BAD_REQUEST,
                50035,
                &format!("Invalid Form Body: {why}"),
            ),
            format!("http 400 {why}"),
        )));
    }
    let nonce = body["nonce"].as_str().map(str::to_string);
    if let Some(nonce) = &nonce {
        if nonce.chars().count() > 25 {
            return Err(Box::new((
                error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body: nonce"),
                "http 400 nonce".into(),
            )));
        }
        if body["enforce_nonce"] == true
            && let Some((id, at)) = state.nonces.get(&(channel.to_string(), nonce.clone()))
            && *at + NONCE_WINDOW > now
        {
            let id = id.clone();
            let existing = state
                .messages
                .iter()
                .find(|m| m.id == id)
                .map(message_json)
                .unwrap_or(Value::Null);
            return Ok((existing, CHANNEL_POSTS, 0.0));
        }
    }
    let recent = state.posts.entry(channel.to_string()).or_default();
    while recent.front().is_some_and(|t| *t + CHANNEL_WINDOW <= now) {
        recent.pop_front();
    }
    if recent.len() as u32 >= CHANNEL_POSTS {
        let wait = recent[0] + CHANNEL_WINDOW - now;
        return Err(Box::new((limited(wait, false), "http 429".into())));
    }
    recent.push_back(now);
    let remaining = CHANNEL_POSTS - recent.len() as u32;
    let reset_after = (recent[0] + CHANNEL_WINDOW - now).as_secs_f64();
    let id = next_id(&mut state);
    if let Some(nonce) = nonce {
        state
            .nonces
            .insert((channel.to_string(), nonce), (id.clone(), now));
    }
    let record = Recorded {
        id,
        channel: channel.to_string(),
        body,
        author: BOT_USER_ID,
        files,
    };
    let json = message_json(&record);
    state.messages.push(record);
    Ok((json, remaining, reset_after))
}

fn message_json(m: &Recorded) -> Value {
    let mut message = m.body.clone();
    message["attachments"] = json!(
        m.files
            .iter()
            .map(|f| json!({
                "id": format!("{}{}", m.id, f.id),
                "filename": f.filename,
                "size": f.bytes.len(),
                "content_type": "image/png",
                "url": format!("https://cdn.discord.invalid/attachments/{}/{}", m.id, f.filename),
            }))
            .collect::<Vec<_>>()
    );
    message["id"] = json!(m.id);
    message["channel_id"] = json!(m.channel);
    message["author"] = json!({"id": m.author.to_string(), "username": "Flywheel", "bot": true});
    message
}

/// The first bytes of every PNG file.
pub const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// Reads a `multipart/form-data` body: the JSON of `payload_json`, and each `files[n]` as the
/// attachment `n`. Each file must be a PNG.
pub fn form_data(boundary: &str, body: &[u8]) -> Result<(Value, Vec<Attachment>), String> {
    let delimiter = format!("--{boundary}");
    let mut pieces = split(body, delimiter.as_bytes()).into_iter();
    // Before the first delimiter: the preamble.
    pieces.next();
    let mut json = None;
    let mut files = Vec::new();
    for piece in pieces {
        if piece.starts_with(b"--") {
            break;
        }
        let piece = piece
            .strip_prefix(b"\r\n")
            .ok_or("a part without a line break")?;
        let piece = piece
            .strip_suffix(b"\r\n")
            .ok_or("a part not ended by a line break")?;
        let at = find(piece, b"\r\n\r\n").ok_or("a part without headers")?;
        let headers = String::from_utf8_lossy(&piece[..at]).to_lowercase();
        let content = &piece[at + 4..];
        let disposition = headers
            .lines()
            .find_map(|l| l.strip_prefix("content-disposition: form-data;"))
            .ok_or("a part without content-disposition")?;
        let field = |key: &str| {
            disposition
                .split(';')
                .filter_map(|p| p.trim().strip_prefix(&format!("{key}=")))
                .map(|v| v.trim_matches('"').to_string())
                .next()
        };
        let name = field("name").ok_or("a part without a name")?;
        if name == "payload_json" {
            json = Some(serde_json::from_slice(content).map_err(|_| "payload_json: not JSON")?);
        } else if let Some(n) = name
            .strip_prefix("files[")
            .and_then(|n| n.strip_suffix(']'))
        {
            let id: u64 = n.parse().map_err(|_| format!("{name}: not a file index"))?;
            if !content.starts_with(PNG_SIGNATURE) {
                return Err(format!("{name}: not a PNG"));
            }
            files.push(Attachment {
                id,
                filename: field("filename").ok_or(format!("{name}: no filename"))?,
                bytes: content.to_vec(),
            });
        } else {
            return Err(format!("{name}: unknown field"));
        }
    }
    Ok((json.ok_or("no payload_json")?, files))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    while let Some(at) = find(body, delimiter) {
        pieces.push(&body[..at]);
        body = &body[at + delimiter.len()..];
    }
    pieces.push(body);
    pieces
}

/// Every attachment a message names is a file sent with it, and every `attachment://` image
/// names an attachment.
fn check_attachments(body: &Value, files: &[Attachment]) -> Result<(), String> {
    let attachments = body["attachments"].as_array().cloned().unwrap_or_default();
    let mut names = Vec::new();
    for (i, attachment) in attachments.iter().enumerate() {
        let id = attachment["id"].as_u64();
        let Some(file) = files.iter().find(|f| Some(f.id) == id) else {
            return Err(format!("attachments.{i}.id: no such file"));
        };
        names.push(
            attachment["filename"]
                .as_str()
                .unwrap_or(&file.filename)
                .to_string(),
        );
    }
    for (i, embed) in body["embeds"].as_array().into_iter().flatten().enumerate() {
        if let Some(url) = embed["image"]["url"].as_str()
            && let Some(name) = url.strip_prefix("attachment://")
            && !names.iter().any(|n| n == name)
        {
            return Err(format!("embeds.{i}.image.url: no attachment {name}"));
        }
    }
    Ok(())
}

/// Discord's message limits; the first problem found.
pub fn check_message(body: &Value) -> Result<(), String> {
    let len = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    if len(&body["content"]) > 2000 {
        return Err("content: must be 2000 or fewer in length".into());
    }
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > 10 {
        return Err("embeds: must be 10 or fewer in length".into());
    }
    let mut total = 0;
    for (i, e) in embeds.iter().enumerate() {
        if len(&e["title"]) > 256 {
            return Err(format!("embeds.{i}.title: too long"));
        }
        if len(&e["description"]) > 4096 {
            return Err(format!("embeds.{i}.description: too long"));
        }
        if len(&e["footer"]["text"]) > 2048 {
            return Err(format!("embeds.{i}.footer: too long"));
        }
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        if fields.len() > 25 {
            return Err(format!("embeds.{i}.fields: must be 25 or fewer in length"));
        }
        total += len(&e["title"]) + len(&e["description"]) + len(&e["footer"]["text"]);
        for (j, f) in fields.iter().enumerate() {
            if len(&f["name"]) == 0 || len(&f["name"]) > 256 {
                return Err(format!("embeds.{i}.fields.{j}.name: 1 to 256"));
            }
            if len(&f["value"]) == 0 || len(&f["value"]) > 1024 {
                return Err(format!("embeds.{i}.fields.{j}.value: 1 to 1024"));
            }
            total += len(&f["name"]) + len(&f["value"]);
        }
    }
    if total > 6000 {
        return Err(format!("embeds: {total} characters, over 6000"));
    }
    let rows = body["components"].as_array().cloned().unwrap_or_default();
    if rows.len() > 5 {
        return Err("components: must be 5 or fewer in length".into());
    }
    let mut ids = std::collections::HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let buttons = row["components"].as_array().cloned().unwrap_or_default();
        if row["type"] != 1 || buttons.is_empty() || buttons.len() > 5 {
            return Err(format!("components.{i}: an action row of 1 to 5 buttons"));
        }
        for b in buttons {
            let id = b["custom_id"].as_str().unwrap_or("");
            if id.is_empty() || id.chars().count() > 100 || !ids.insert(id.to_string()) {
                return Err(format!(
                    "components.{i}: custom_id missing, too long or repeated"
                ));
            }
            if len(&b["label"]) > 80 {
                return Err(format!("components.{i}: label too long"));
            }
        }
    }
    let empty = len(&body["content"]) == 0 && embeds.is_empty() && rows.is_empty();
    if empty && body.get("flags").is_none() {
        return Err("Cannot send an empty message".into());
    }
    Ok(())
}

/// The `member` of an interaction by `user` holding `roles`.
pub fn member(user: u64, roles: &[u64]) -> Value {
    json!({
        "user": {"id": user.to_string(), "username": format!("user{user}"), "discriminator": "0",
                 "global_name": null, "avatar": null},
        "roles": roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "deaf": false, "mute": false, "flags": 0, "pending": false,
        "nick": null, "avatar": null, "premium_since": null, "permissions": "0",
    })
}

/// The parts every interaction has.
/// A fresh interaction id: Discord gives every interaction its own snowflake.
fn next_interaction_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1_000);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn interaction(kind: u8, id: u64, token: &str, channel: &str, user: u64, roles: &[u64]) -> Value {
    json!({
        "id": id.to_string(),
        "application_id": APPLICATION_ID.to_string(),
        "type": kind,
        "guild_id": GUILD_ID.to_string(),
        "channel_id": channel,
        "channel": {"id": channel, "type": 0},
        "member": member(user, roles),
        "token": token,
        "version": 1,
        "locale": "en-US",
        "guild_locale": "en-US",
        "app_permissions": "0",
        "entitlements": [],
        "authorizing_integration_owners": {},
        "context": 0,
        "attachment_size_limit": 10_485_760,
    })
}

/// A slash command: `/{name} {sub}` with `options` (`[{name, type, value}]`).
pub fn slash(
    token: &str,
    channel: &str,
    user: u64,
    roles: &[u64],
    name: &str,
    sub: &str,
    options: Value,
) -> Value {
    let mut i = interaction(2, next_interaction_id(), token, channel, user, roles);
    i["data"] = json!({
        "id": "77", "name": name, "type": 1,
        "options": [{"name": sub, "type": 1, "options": options}],
    });
    i
}

/// A press of the button `custom_id` on the message `message`.
pub fn button(
    token: &str,
    channel: &str,
    user: u64,
    roles: &[u64],
    message: &Value,
    custom_id: &str,
) -> Value {
    let mut i = interaction(3, next_interaction_id(), token, channel, user, roles);
    let mut message = message.clone();
    message["timestamp"] = json!("2024-01-01T00:00:00.000000+00:00");
    message["edited_timestamp"] = Value::Null;
    message["tts"] = json!(false);
    message["mention_everyone"] = json!(false);
    message["mentions"] = json!([]);
    message["mention_roles"] = json!([]);
    message["attachments"] = json!([]);
    message["pinned"] = json!(false);
    message["type"] = json!(0);
    message["author"] = json!({"id": BOT_USER_ID.to_string(), "username": "Flywheel", "bot": true, "discriminator": "0", "global_name": null, "avatar": null});
    if message.get("content").is_none() {
        message["content"] = json!("");
    }
    i["message"] = message;
    i["data"] = json!({"custom_id": custom_id, "component_type": 2});
    i
}

/// A PING.
pub fn ping() -> Value {
    let mut i = interaction(1, 3, "ping", "1", 1, &[]);
    i.as_object_mut().map(|o| o.remove("member"));
    i["user"] = json!({"id": "1", "username": "discord", "discriminator": "0", "global_name": null, "avatar": null});
    i
}

/// What a recorded message looks like in Discord's JSON, for a button press on it.
pub fn as_message(m: &Recorded) -> Value {
    message_json(m)
}

/// `%E2%9C%85` as `✅`: a path segment with its percent-escapes decoded.
fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
