//! An emulated Slack Web API, so the real Slack adapter can be tested end to end.
//!
//! It serves `POST|GET /api/{method}` on `127.0.0.1:0` for `auth.test`, `chat.postMessage`,
//! `chat.postEphemeral`, `chat.update`, `chat.getPermalink`, `conversations.history`,
//! `conversations.info`, and file uploads ([`files`]: `files.getUploadURLExternal`, the upload
//! URL, `files.completeUploadExternal`), and
//! enforces what Slack enforces: the bearer token, the channel's existence and the bot's
//! membership, Block Kit's limits (`invalid_blocks`), the message metadata shape, and about one
//! post a second per channel with a small burst (429 with `Retry-After`). Faults can be queued
//! per method and channel: a forced 429, a 5xx, a slow answer, a connection dropped before or
//! after the message was accepted. Every accepted message is recorded for assertions.
//!
//! It also plays the other end of Slack's `response_url`s: [`SlackEmulator::response_url`]
//! names one, and what Flywheel posts there is kept for [`SlackEmulator::wait_for_responses`].
//!
//! And Socket Mode ([`socket`]): `apps.connections.open` for the app-level token
//! ([`APP_TOKEN`]) and the WebSocket it names, over which a test sends envelopes with
//! [`SlackEmulator::socket_send`] and gets Flywheel's acknowledgements back.
//!
//! Time is tokio's: on a paused test clock the emulator's rate limits follow the virtual time,
//! and [`SlackEmulator::advance_clock`] moves its own clock forward without waiting.
//!
//! ```no_run
//! # async fn demo() {
//! use flywheel_tests::slack::{Fault, SlackEmulator};
//! let slack = SlackEmulator::start().await;
//! slack.add_channel("C0DIGEST");
//! slack.inject("chat.postMessage", "C0DIGEST", Fault::ServerError(503));
//! // point the adapter at slack.api_url() with slack.token(), then:
//! assert!(slack.messages_in("C0DIGEST").is_empty());
//! # }
//! ```

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub mod files;
pub mod socket;

pub use files::{PNG_SIGNATURE, UploadedFile};
pub use socket::SOCKET_CEILING;

/// The bot token the emulator accepts unless told otherwise.
pub const BOT_TOKEN: &str = "xoxb-emulated-flywheel-token";
/// The emulated workspace.
pub const TEAM_ID: &str = "T0FLYWHEEL";
/// The bot's user id.
pub const BOT_USER_ID: &str = "U0FLYWHEEL";
/// The app-level token (Socket Mode) the emulator accepts unless told otherwise.
pub const APP_TOKEN: &str = "xapp-1-A0FLYWHEEL-1-emulated-app-token";
/// The emulated app.
pub const APP_ID: &str = "A0FLYWHEEL";

/// A failure to produce on the next request of one method to one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer 429 with `Retry-After`, and keep answering it to that channel until the time
    /// has passed.
    RateLimited {
        /// The wait Slack asks for (whole seconds are sent, rounded up).
        retry_after: Duration,
    },
    /// Answer with this HTTP status and an HTML body, as Slack's edge does.
    ServerError(u16),
    /// Handle the request normally (accepting the message) but answer only after this long.
    Slow(Duration),
    /// Close the connection without an answer; nothing is accepted.
    DropBeforeAccept,
    /// Accept the message, then close the connection without an answer.
    DropAfterAccept,
}

/// Emulator settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmulatorOptions {
    /// Sustained posting rate per channel: one post per this interval.
    pub channel_interval: Duration,
    /// How many posts a channel accepts back to back after a quiet spell.
    pub channel_burst: u32,
}

impl Default for EmulatorOptions {
    fn default() -> EmulatorOptions {
        EmulatorOptions {
            channel_interval: Duration::from_secs(1),
            channel_burst: 4,
        }
    }
}

/// A message the emulator accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The channel id.
    pub channel: String,
    /// Slack's id for the message.
    pub ts: String,
    /// The parent message, for thread replies.
    pub thread_ts: Option<String>,
    /// The top-level `text`.
    pub text: String,
    /// The `blocks`, as sent.
    pub blocks: Option<Value>,
    /// The `metadata`, as sent.
    pub metadata: Option<Value>,
    /// For `chat.postEphemeral`, who it was shown to; such messages never appear in history.
    pub ephemeral_user: Option<String>,
    /// How many times `chat.update` changed it.
    pub edits: u32,
}

impl Recorded {
    /// The `delivery` of `flywheel_delivery` metadata, when the message carries it.
    pub fn delivery(&self) -> Option<&str> {
        let metadata = self.metadata.as_ref()?;
        if metadata["event_type"] != "flywheel_delivery" {
            return None;
        }
        metadata["event_payload"]["delivery"].as_str()
    }
}

/// One request the emulator answered (or dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The API method.
    pub method: String,
    /// The channel it named, if any.
    pub channel: Option<String>,
    /// `ok`, the Slack error code, `http 429`, `http 503`, `dropped` or `dropped after accept`.
    pub outcome: String,
}

/// A running emulated Slack. Stops accepting connections when dropped.
pub struct SlackEmulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for SlackEmulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

struct Shared {
    addr: SocketAddr,
    options: EmulatorOptions,
    started: Instant,
    started_unix_micros: u64,
    state: Mutex<Emulated>,
    /// Woken whenever something is posted to a response URL.
    responded: Notify,
}

#[derive(Default)]
struct Emulated {
    token: String,
    token_revoked: bool,
    missing_scopes: HashSet<String>,
    clock_offset: Duration,
    channels: HashMap<String, Channel>,
    /// Per channel: the theoretical arrival time of the next post, and a forced hold.
    buckets: HashMap<String, Bucket>,
    faults: HashMap<(String, String), VecDeque<Fault>>,
    messages: Vec<Recorded>,
    calls: Vec<Call>,
    last_ts_micros: u64,
    /// What was posted to response URLs: the URL's name and the body.
    responses: Vec<(String, Value)>,
    /// Socket Mode: tickets, connections, envelopes and acknowledgements.
    sockets: socket::Sockets,
    /// Files announced, uploaded and shared.
    files: files::Files,
    /// Reactions the bot added: (channel, message ts, name).
    reactions: Vec<(String, String, String)>,
}

struct Channel {
    name: String,
    member: bool,
    archived: bool,
}

#[derive(Default)]
struct Bucket {
    tat: Duration,
    held_until: Duration,
}

impl SlackEmulator {
    /// Starts an emulator with default limits on a free local port.
    pub async fn start() -> SlackEmulator {
        SlackEmulator::start_with(EmulatorOptions::default()).await
    }

    /// Starts an emulator with the given limits on a free local port.
    pub async fn start_with(options: EmulatorOptions) -> SlackEmulator {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port for the Slack emulator");
        let addr = listener.local_addr().expect("local address");
        let started_unix_micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        let shared = Arc::new(Shared {
            addr,
            options,
            started: Instant::now(),
            started_unix_micros,
            state: Mutex::new(Emulated {
                token: BOT_TOKEN.to_string(),
                ..Emulated::default()
            }),
            responded: Notify::new(),
        });
        let router = Router::new()
            .route("/api/{method}", any(api))
            .route("/respond/{name}", axum::routing::post(respond))
            .route("/upload/{id}", axum::routing::post(files::upload))
            .route("/api/apps.connections.open", any(socket::connections_open))
            .route("/link/", axum::routing::get(socket::link))
            .with_state(shared.clone());
        let server = tokio::spawn(serve(listener, router));
        SlackEmulator {
            addr,
            shared,
            server,
        }
    }

    /// The Web API base, as `slack.api_url` takes it: `http://127.0.0.1:PORT/api`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// The bot token currently accepted.
    pub fn token(&self) -> String {
        self.lock().token.clone()
    }

    /// Makes `token` the only accepted bot token.
    pub fn set_token(&self, token: &str) {
        self.lock().token = token.to_string();
    }

    /// From now on every call answers `token_revoked`.
    pub fn revoke_token(&self) {
        self.lock().token_revoked = true;
    }

    /// Takes a scope away from the bot: methods needing it answer `missing_scope`.
    pub fn remove_scope(&self, scope: &str) {
        self.lock().missing_scopes.insert(scope.to_string());
    }

    /// A public channel the bot is a member of.
    pub fn add_channel(&self, id: &str) {
        self.add_channel_with(id, true, false);
    }

    /// A channel with the given membership and archive state.
    pub fn add_channel_with(&self, id: &str, member: bool, archived: bool) {
        self.lock().channels.insert(
            id.to_string(),
            Channel {
                name: id.to_ascii_lowercase(),
                member,
                archived,
            },
        );
    }

    /// Queues `fault` for the next request of `method` naming `channel`; several queue in order.
    pub fn inject(&self, method: &str, channel: &str, fault: Fault) {
        self.lock()
            .faults
            .entry((method.to_string(), channel.to_string()))
            .or_default()
            .push_back(fault);
    }

    /// Moves the emulator's clock forward (on top of tokio's), for rate limits and holds.
    pub fn advance_clock(&self, by: Duration) {
        self.lock().clock_offset += by;
    }

    /// Adds `count` plain bot messages to `channel`'s history, as if posted earlier.
    pub fn seed_messages(&self, channel: &str, count: usize) {
        let mut state = self.lock();
        for i in 0..count {
            let ts = self.shared.next_ts(&mut state);
            state.messages.push(Recorded {
                channel: channel.to_string(),
                ts,
                thread_ts: None,
                text: format!("earlier message {i}"),
                blocks: None,
                metadata: None,
                ephemeral_user: None,
                edits: 0,
            });
        }
    }

    /// Adds a message written by the person `user` to `channel`, as if they had posted it:
    /// its `ts`.
    pub fn post_user_message(&self, channel: &str, user: &str, text: &str) -> String {
        let mut state = self.lock();
        let ts = self.shared.next_ts(&mut state);
        state.messages.push(Recorded {
            channel: channel.to_string(),
            ts: ts.clone(),
            thread_ts: None,
            text: text.to_string(),
            blocks: None,
            metadata: Some(json!({"author": user})),
            ephemeral_user: None,
            edits: 0,
        });
        ts
    }

    /// A `response_url` of this emulator named `name`: what is posted there is kept.
    pub fn response_url(&self, name: &str) -> String {
        format!("http://{}/respond/{name}", self.addr)
    }

    /// Waits until at least `count` answers were posted to the response URL `name` (giving up
    /// after `limit`), and returns those posted so far.
    pub async fn wait_for_responses(
        &self,
        name: &str,
        count: usize,
        limit: Duration,
    ) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.shared.responded.notified();
            let found = self.responses(name);
            if found.len() >= count || tokio::time::Instant::now() >= deadline {
                return found;
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }

    /// What was posted to the response URL `name` so far.
    pub fn responses(&self, name: &str) -> Vec<Value> {
        self.lock()
            .responses
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// The reactions the bot added under the message `ts` of `channel`, in order.
    pub fn reactions(&self, channel: &str, ts: &str) -> Vec<String> {
        self.lock()
            .reactions
            .iter()
            .filter(|(c, t, _)| c == channel && t == ts)
            .map(|(_, _, name)| name.clone())
            .collect()
    }

    /// Every accepted message, in order.
    pub fn messages(&self) -> Vec<Recorded> {
        self.lock().messages.clone()
    }

    /// The accepted messages of one channel, in order.
    pub fn messages_in(&self, channel: &str) -> Vec<Recorded> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.channel == channel)
            .cloned()
            .collect()
    }

    /// Every request answered so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The requests of one method with one outcome.
    pub fn count(&self, method: &str, outcome: &str) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method == method && c.outcome == outcome)
            .count()
    }

    fn lock(&self) -> MutexGuard<'_, Emulated> {
        self.shared.lock()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Emulated> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self, state: &Emulated) -> Duration {
        self.started.elapsed() + state.clock_offset
    }

    /// A fresh `ts`, later than every earlier one: Slack's ids are unique per channel and
    /// ordered in time.
    fn next_ts(&self, state: &mut Emulated) -> String {
        let now = self.started_unix_micros + self.now(state).as_micros() as u64;
        let micros = now.max(state.last_ts_micros + 1);
        state.last_ts_micros = micros;
        format_ts(micros)
    }
}

fn format_ts(micros: u64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// A posted message as the Web API returns it: its blocks, and its metadata when asked for.
fn message_json(m: &Recorded, with_metadata: bool) -> Value {
    let mut message = json!({
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": "B0FLYWHEEL",
        "text": m.text,
        "ts": m.ts,
    });
    if let Some(blocks) = &m.blocks {
        message["blocks"] = blocks.clone();
    }
    if let (true, Some(metadata)) = (with_metadata, &m.metadata) {
        message["metadata"] = metadata.clone();
    }
    message
}

fn parse_ts(ts: &str) -> Option<u64> {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, "0"));
    let secs: u64 = secs.parse().ok()?;
    let frac = format!("{frac:0<6}");
    let micros: u64 = frac.get(..6)?.parse().ok()?;
    Some(secs * 1_000_000 + micros)
}

/// Lets a handler close its own connection without answering.
#[derive(Clone)]
struct Connection(Arc<Notify>);

async fn serve(listener: TcpListener, router: Router) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let kill = Arc::new(Notify::new());
        let service =
            TowerToHyperService::new(router.clone().layer(Extension(Connection(kill.clone()))));
        tokio::spawn(async move {
            // No timer: nothing in the emulator's connections waits on the (possibly paused)
            // clock except what a test asked for.
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

/// `POST /respond/{name}`: a response URL. Slack takes JSON there, and answers `ok`.
async fn respond(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    if !json || !body.is_object() {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    }
    if let Some(blocks) = body.get("blocks")
        && check_blocks(blocks).is_err()
    {
        return (StatusCode::BAD_REQUEST, "invalid_blocks").into_response();
    }
    shared.lock().responses.push((name, body));
    shared.responded.notify_waiters();
    "ok".into_response()
}

/// What a handler decided, before faults that act after it.
type Answer = Result<Value, Refusal>;

enum Refusal {
    /// `{"ok":false,"error":code}` with HTTP 200, plus extra fields.
    Slack(&'static str, Map<String, Value>),
    /// HTTP 429 with `Retry-After` in whole seconds.
    RateLimited(u64),
    /// Another HTTP status.
    Http(StatusCode),
}

fn slack_error(code: &'static str) -> Refusal {
    Refusal::Slack(code, Map::new())
}

async fn api(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    Extension(connection): Extension<Connection>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = params(&query, &headers, &body);
    let channel = params
        .get("channel")
        .or_else(|| params.get("channel_id"))
        .and_then(Value::as_str)
        .map(str::to_string);

    // Faults act before anything else is looked at, like a failing edge in front of Slack.
    let fault = {
        let mut state = shared.lock();
        let fault = channel.as_ref().and_then(|c| {
            state
                .faults
                .get_mut(&(method.clone(), c.clone()))
                .and_then(VecDeque::pop_front)
        });
        if let (Some(Fault::RateLimited { retry_after }), Some(c)) = (&fault, &channel) {
            // Posting is held for the channel until the time has passed; other methods are
            // refused once.
            let until = shared.now(&state) + *retry_after;
            let bucket = state.buckets.entry(c.clone()).or_default();
            bucket.held_until = bucket.held_until.max(until);
        }
        fault
    };
    match fault {
        Some(Fault::RateLimited { retry_after }) if method != "chat.postMessage" => {
            log(&shared, &method, &channel, "http 429");
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, ceil_secs(retry_after).to_string())],
                Json(json!({"ok": false, "error": "ratelimited"})),
            )
                .into_response();
        }
        Some(Fault::DropBeforeAccept) => {
            log(&shared, &method, &channel, "dropped");
            connection.0.notify_one();
            return std::future::pending().await;
        }
        Some(Fault::ServerError(status)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            log(
                &shared,
                &method,
                &channel,
                &format!("http {}", status.as_u16()),
            );
            return (
                status,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>upstream error</body></html>",
            )
                .into_response();
        }
        _ => {}
    }

    let answer = handle(&shared, &method, &headers, &params);
    let outcome = match &answer {
        Ok(_) => "ok".to_string(),
        Err(Refusal::Slack(code, _)) => (*code).to_string(),
        Err(Refusal::RateLimited(_)) => "http 429".to_string(),
        Err(Refusal::Http(status)) => format!("http {}", status.as_u16()),
    };
    match fault {
        Some(Fault::DropAfterAccept) if answer.is_err() => {
            // Nothing was accepted (a rate limit, an error): the fault waits for a request
            // that is.
            if let Some(c) = &channel {
                shared
                    .lock()
                    .faults
                    .entry((method.clone(), c.clone()))
                    .or_default()
                    .push_front(Fault::DropAfterAccept);
            }
            log(&shared, &method, &channel, &outcome);
        }
        Some(Fault::DropAfterAccept) => {
            log(
                &shared,
                &method,
                &channel,
                &format!("dropped after {outcome}"),
            );
            connection.0.notify_one();
            return std::future::pending().await;
        }
        Some(Fault::Slow(delay)) => {
            log(&shared, &method, &channel, &outcome);
            tokio::time::sleep(delay).await;
        }
        _ => log(&shared, &method, &channel, &outcome),
    }

    match answer {
        Ok(mut body) => {
            body["ok"] = json!(true);
            Json(body).into_response()
        }
        Err(Refusal::Slack(code, mut extra)) => {
            extra.insert("ok".into(), json!(false));
            extra.insert("error".into(), json!(code));
            Json(Value::Object(extra)).into_response()
        }
        Err(Refusal::RateLimited(seconds)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, seconds.to_string())],
            Json(json!({"ok": false, "error": "ratelimited"})),
        )
            .into_response(),
        Err(Refusal::Http(status)) => (
            status,
            Json(json!({"ok": false, "error": "unknown_method"})),
        )
            .into_response(),
    }
}

fn log(shared: &Shared, method: &str, channel: &Option<String>, outcome: &str) {
    shared.lock().calls.push(Call {
        method: method.to_string(),
        channel: channel.clone(),
        outcome: outcome.to_string(),
    });
}

/// The request's parameters from its query string and its JSON or form body, JSON-typed.
fn params(query: &HashMap<String, String>, headers: &HeaderMap, body: &[u8]) -> Map<String, Value> {
    let mut out: Map<String, Value> = query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/json") {
        if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) {
            out.extend(fields);
        }
    } else if !body.is_empty() {
        let text = String::from_utf8_lossy(body);
        if let Ok(uri) = format!("/?{text}").parse::<Uri>()
            && let Ok(Query(form)) = Query::<HashMap<String, String>>::try_from_uri(&uri)
        {
            out.extend(form.into_iter().map(|(k, v)| (k, Value::String(v))));
        }
    }
    out
}

/// A parameter that is JSON: given as JSON, or as a string holding JSON (form bodies).
fn json_param(params: &Map<String, Value>, key: &str) -> Option<Result<Value, ()>> {
    match params.get(key)? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(serde_json::from_str(s).map_err(|_| ())),
        other => Some(Ok(other.clone())),
    }
}

fn str_param<'a>(params: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    params
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn bool_param(params: &Map<String, Value>, key: &str) -> bool {
    match params.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// The scope each method needs.
fn needed_scope(method: &str) -> Option<&'static str> {
    match method {
        "chat.postMessage" | "chat.postEphemeral" | "chat.update" => Some("chat:write"),
        "conversations.history" | "conversations.replies" => Some("channels:history"),
        "conversations.info" => Some("channels:read"),
        "files.getUploadURLExternal" | "files.completeUploadExternal" => Some("files:write"),
        "reactions.add" => Some("reactions:write"),
        _ => None,
    }
}

fn handle(
    shared: &Shared,
    method: &str,
    headers: &HeaderMap,
    params: &Map<String, Value>,
) -> Answer {
    let mut state = shared.lock();

    let known = matches!(
        method,
        "auth.test"
            | "chat.postMessage"
            | "chat.postEphemeral"
            | "chat.update"
            | "chat.getPermalink"
            | "conversations.history"
            | "conversations.replies"
            | "conversations.info"
            | "reactions.add"
            | "files.getUploadURLExternal"
            | "files.completeUploadExternal"
    );
    if !known {
        return Err(Refusal::Http(StatusCode::NOT_FOUND));
    }

    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match bearer {
        None => return Err(slack_error("not_authed")),
        Some(token) if token != state.token => return Err(slack_error("invalid_auth")),
        Some(_) if state.token_revoked => return Err(slack_error("token_revoked")),
        Some(_) => {}
    }
    if let Some(scope) = needed_scope(method).filter(|s| state.missing_scopes.contains(*s)) {
        let mut extra = Map::new();
        extra.insert("needed".into(), json!(scope));
        extra.insert("provided".into(), json!("chat:write,channels:read"));
        return Err(Refusal::Slack("missing_scope", extra));
    }

    if method == "auth.test" {
        return Ok(json!({
            "url": "https://flywheel-emulated.slack.com/",
            "team": "Flywheel Emulated",
            "user": "flywheel",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": "B0FLYWHEEL",
        }));
    }

    if method == "files.getUploadURLExternal" {
        return files::get_upload_url(shared, &mut state, params);
    }
    // A file completed without a channel stays private to the bot.
    let channel_key = if method == "files.completeUploadExternal" {
        match str_param(params, "channel_id") {
            None => return files::complete(shared, &mut state, params, None),
            Some(_) => "channel_id",
        }
    } else {
        "channel"
    };
    let Some(channel) = str_param(params, channel_key).map(str::to_string) else {
        return Err(slack_error("channel_not_found"));
    };

    if method == "chat.postMessage" {
        // Rate limits apply per channel before the channel is even looked up.
        let now = shared.now(&state);
        let options = shared.options;
        let bucket = state.buckets.entry(channel.clone()).or_default();
        if bucket.held_until > now {
            return Err(Refusal::RateLimited(ceil_secs(bucket.held_until - now)));
        }
        let tolerance = options.channel_interval * options.channel_burst.saturating_sub(1);
        if bucket.tat > now + tolerance {
            return Err(Refusal::RateLimited(ceil_secs(
                bucket.tat - tolerance - now,
            )));
        }
        bucket.tat = bucket.tat.max(now) + options.channel_interval;
    }

    let Some(info) = state.channels.get(&channel) else {
        return Err(slack_error("channel_not_found"));
    };
    if method == "conversations.info" {
        return Ok(json!({
            "channel": {
                "id": channel,
                "name": info.name,
                "is_channel": true,
                "is_member": info.member,
                "is_archived": info.archived,
            }
        }));
    }
    if info.archived && !method.starts_with("conversations.") {
        return Err(slack_error("is_archived"));
    }
    if !info.member {
        return Err(slack_error("not_in_channel"));
    }

    match method {
        "conversations.history" => history(&state, &channel, params),
        "conversations.replies" => replies(&state, &channel, params),
        "files.completeUploadExternal" => {
            files::complete(shared, &mut state, params, Some(&channel))
        }
        "reactions.add" => {
            let ts = str_param(params, "timestamp")
                .unwrap_or_default()
                .to_string();
            let Some(name) = str_param(params, "name").map(str::to_string) else {
                return Err(slack_error("invalid_name"));
            };
            shown_message(&state, &channel, &ts)?;
            let reaction = (channel.clone(), ts, name);
            if state.reactions.contains(&reaction) {
                return Err(slack_error("already_reacted"));
            }
            state.reactions.push(reaction);
            Ok(json!({}))
        }
        "chat.getPermalink" => {
            let ts = str_param(params, "message_ts").unwrap_or_default();
            shown_message(&state, &channel, ts)?;
            Ok(json!({
                "channel": channel,
                "permalink": format!(
                    "https://flywheel-emulated.slack.com/archives/{channel}/p{}",
                    ts.replace('.', "")
                ),
            }))
        }
        "chat.update" => {
            let content = content(params)?;
            let Some(ts) = str_param(params, "ts") else {
                return Err(slack_error("message_not_found"));
            };
            let Some(message) = state
                .messages
                .iter_mut()
                .find(|m| m.channel == channel && m.ts == ts && m.ephemeral_user.is_none())
            else {
                return Err(slack_error("message_not_found"));
            };
            message.text = content.text.clone();
            message.blocks = content.blocks;
            message.edits += 1;
            Ok(json!({"channel": channel, "ts": ts, "text": content.text}))
        }
        "chat.postEphemeral" => {
            let content = content(params)?;
            let Some(user) = str_param(params, "user") else {
                return Err(slack_error("user_not_in_channel"));
            };
            let ts = shared.next_ts(&mut state);
            state.messages.push(Recorded {
                channel,
                ts: ts.clone(),
                thread_ts: str_param(params, "thread_ts").map(str::to_string),
                text: content.text,
                blocks: content.blocks,
                metadata: None,
                ephemeral_user: Some(user.to_string()),
                edits: 0,
            });
            Ok(json!({"message_ts": ts}))
        }
        _ => {
            let content = content(params)?;
            let thread_ts = thread_param(&state, &channel, params)?;
            let ts = shared.next_ts(&mut state);
            let message = json!({
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": "B0FLYWHEEL",
                "text": content.text,
                "ts": ts,
                "blocks": content.blocks,
                "metadata": content.metadata,
                "thread_ts": thread_ts,
            });
            state.messages.push(Recorded {
                channel: channel.clone(),
                ts: ts.clone(),
                thread_ts,
                text: content.text,
                blocks: content.blocks,
                metadata: content.metadata,
                ephemeral_user: None,
                edits: 0,
            });
            Ok(json!({"channel": channel, "ts": ts, "message": message}))
        }
    }
}

/// The `thread_ts` of a post to `channel`, which must name a message there.
fn thread_param(
    state: &Emulated,
    channel: &str,
    params: &Map<String, Value>,
) -> Result<Option<String>, Refusal> {
    let thread_ts = str_param(params, "thread_ts").map(str::to_string);
    if let Some(parent) = &thread_ts {
        let exists = state
            .messages
            .iter()
            .any(|m| m.channel == channel && &m.ts == parent && m.ephemeral_user.is_none());
        if !exists {
            return Err(slack_error("thread_not_found"));
        }
    }
    Ok(thread_ts)
}

fn ceil_secs(d: Duration) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.max(1)
}

struct Content {
    text: String,
    blocks: Option<Value>,
    metadata: Option<Value>,
}

/// The text, blocks and metadata of a message, checked the way Slack checks them.
fn content(params: &Map<String, Value>) -> Result<Content, Refusal> {
    let text = str_param(params, "text").unwrap_or_default().to_string();
    let blocks = match json_param(params, "blocks") {
        None => None,
        Some(Err(())) => return Err(slack_error("invalid_blocks_format")),
        Some(Ok(blocks)) => {
            if let Err(errors) = check_blocks(&blocks) {
                let mut extra = Map::new();
                extra.insert("errors".into(), json!(errors));
                return Err(Refusal::Slack("invalid_blocks", extra));
            }
            Some(blocks)
        }
    };
    let has_blocks = blocks
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|b| !b.is_empty());
    if text.trim().is_empty() && !has_blocks {
        return Err(slack_error("no_text"));
    }
    if text.chars().count() > 40_000 {
        return Err(slack_error("msg_too_long"));
    }
    let metadata = match json_param(params, "metadata") {
        None => None,
        Some(Err(())) => return Err(slack_error("invalid_metadata_format")),
        Some(Ok(metadata)) => {
            let event_type_ok = metadata["event_type"].as_str().is_some_and(|t| {
                !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if !event_type_ok || !metadata["event_payload"].is_object() {
                return Err(slack_error("invalid_metadata_format"));
            }
            Some(metadata)
        }
    };
    Ok(Content {
        text,
        blocks,
        metadata,
    })
}

/// A page's `limit` (1–999, 100 by default) and where the `cursor` starts it.
fn paging(params: &Map<String, Value>) -> (usize, usize) {
    let limit = str_param(params, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 999);
    let offset = str_param(params, "cursor")
        .and_then(|c| c.strip_prefix("next:"))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    (limit, offset)
}

fn history(state: &Emulated, channel: &str, params: &Map<String, Value>) -> Answer {
    let (limit, offset) = paging(params);
    let inclusive = bool_param(params, "inclusive");
    let oldest = str_param(params, "oldest").and_then(parse_ts);
    let latest = str_param(params, "latest").and_then(parse_ts);
    let with_metadata = bool_param(params, "include_all_metadata");

    let in_range = |ts: u64| {
        let after = oldest.is_none_or(|o| if inclusive { ts >= o } else { ts > o });
        let before = latest.is_none_or(|l| if inclusive { ts <= l } else { ts < l });
        after && before
    };
    // Messages and the messages sharing files, newest first.
    let mut matching: Vec<(u64, Value)> = state
        .messages
        .iter()
        .filter(|m| m.channel == channel && m.ephemeral_user.is_none())
        .filter(|m| m.thread_ts.is_none())
        .filter_map(|m| {
            let ts = parse_ts(&m.ts).filter(|ts| in_range(*ts))?;
            Some((ts, message_json(m, with_metadata)))
        })
        .collect();
    matching.extend(
        state
            .files
            .shared
            .iter()
            .filter(|f| f.channel.as_deref() == Some(channel) && f.thread_ts.is_none())
            .filter_map(|f| {
                let ts = parse_ts(&f.ts).filter(|ts| in_range(*ts))?;
                Some((ts, files::share_message(f)))
            }),
    );
    matching.sort_by_key(|m| std::cmp::Reverse(m.0));
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(_, message)| message.clone())
        .collect();
    let has_more = offset + page.len() < matching.len();
    let next_cursor = if has_more {
        format!("next:{}", offset + page.len())
    } else {
        String::new()
    };
    Ok(json!({
        "messages": page,
        "has_more": has_more,
        "pin_count": 0,
        "response_metadata": {"next_cursor": next_cursor},
    }))
}

/// Refuses with `message_not_found` unless `channel` shows a message `ts` (not an ephemeral
/// one).
fn shown_message(state: &Emulated, channel: &str, ts: &str) -> Result<(), Refusal> {
    let exists = state
        .messages
        .iter()
        .any(|m| m.channel == channel && m.ts == ts && m.ephemeral_user.is_none());
    if exists {
        Ok(())
    } else {
        Err(slack_error("message_not_found"))
    }
}

/// `conversations.replies`: the thread under the message `ts`, the parent first, then its
/// replies oldest first, paged like the history.
fn replies(state: &Emulated, channel: &str, params: &Map<String, Value>) -> Answer {
    let Some(parent) = str_param(params, "ts") else {
        return Err(slack_error("invalid_arguments"));
    };
    let (limit, offset) = paging(params);
    let with_metadata = bool_param(params, "include_all_metadata");
    let visible = |m: &&Recorded| m.channel == channel && m.ephemeral_user.is_none();
    if !state
        .messages
        .iter()
        .filter(visible)
        .any(|m| m.ts == parent)
    {
        return Err(slack_error("thread_not_found"));
    }
    let mut thread: Vec<&Recorded> = state
        .messages
        .iter()
        .filter(visible)
        .filter(|m| m.ts == parent || m.thread_ts.as_deref() == Some(parent))
        .collect();
    thread.sort_by_key(|m| parse_ts(&m.ts));
    let page: Vec<Value> = thread
        .iter()
        .skip(offset)
        .take(limit)
        .map(|m| {
            let mut message = message_json(m, with_metadata);
            message["thread_ts"] = json!(m.thread_ts.clone().unwrap_or_else(|| m.ts.clone()));
            message
        })
        .collect();
    let has_more = offset + page.len() < thread.len();
    Ok(json!({
        "messages": page,
        "has_more": has_more,
        "response_metadata": {
            "next_cursor": if has_more { format!("next:{}", offset + page.len()) } else { String::new() },
        },
    }))
}

/// Block Kit's limits, as Slack enforces them on `chat.postMessage`; each problem is reported
/// with a JSON pointer, like Slack's `errors`.
pub fn check_blocks(blocks: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let Some(blocks) = blocks.as_array() else {
        return Err(vec!["must be an array [json-pointer:/blocks]".to_string()]);
    };
    if blocks.len() > 50 {
        errors.push(format!(
            "must provide no more than 50 items, got {} [json-pointer:/blocks]",
            blocks.len()
        ));
    }
    let mut block_ids = HashSet::new();
    for (i, block) in blocks.iter().enumerate() {
        let at = format!("/blocks/{i}");
        if let Some(id) = block.get("block_id") {
            match id.as_str() {
                Some(id) if id.chars().count() <= 255 && block_ids.insert(id.to_string()) => {}
                _ => errors.push(format!(
                    "invalid or duplicate block_id [json-pointer:{at}/block_id]"
                )),
            }
        }
        match block["type"].as_str() {
            Some("section") => {
                let text = block.get("text");
                let fields = block.get("fields");
                if text.is_none() && fields.is_none() {
                    errors.push(format!("must provide text or fields [json-pointer:{at}]"));
                }
                if let Some(text) = text {
                    check_text(text, 3000, false, &format!("{at}/text"), &mut errors);
                }
                if let Some(fields) = fields {
                    match fields.as_array() {
                        Some(list) if !list.is_empty() && list.len() <= 10 => {
                            for (j, field) in list.iter().enumerate() {
                                check_text(
                                    field,
                                    2000,
                                    false,
                                    &format!("{at}/fields/{j}"),
                                    &mut errors,
                                );
                            }
                        }
                        _ => errors.push(format!(
                            "must provide 1 to 10 fields [json-pointer:{at}/fields]"
                        )),
                    }
                }
            }
            Some("header") => check_text(
                &block["text"],
                150,
                true,
                &format!("{at}/text"),
                &mut errors,
            ),
            Some("context") => match block["elements"].as_array() {
                Some(elements) if !elements.is_empty() && elements.len() <= 10 => {
                    for (j, element) in elements.iter().enumerate() {
                        if element["type"] != "image" {
                            check_text(
                                element,
                                3000,
                                false,
                                &format!("{at}/elements/{j}"),
                                &mut errors,
                            );
                        }
                    }
                }
                _ => errors.push(format!(
                    "must provide 1 to 10 elements [json-pointer:{at}/elements]"
                )),
            },
            Some("actions") => match block["elements"].as_array() {
                Some(elements) if !elements.is_empty() && elements.len() <= 25 => {
                    let mut action_ids = HashSet::new();
                    for (j, element) in elements.iter().enumerate() {
                        let at = format!("{at}/elements/{j}");
                        check_button(element, &at, &mut action_ids, &mut errors);
                    }
                }
                _ => errors.push(format!(
                    "must provide 1 to 25 elements [json-pointer:{at}/elements]"
                )),
            },
            Some("divider") => {}
            Some(other) => errors.push(format!(
                "unsupported block type {other:?} in this emulator [json-pointer:{at}/type]"
            )),
            None => errors.push(format!("missing type [json-pointer:{at}/type]")),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_text(text: &Value, max: usize, plain_only: bool, at: &str, errors: &mut Vec<String>) {
    let kind = text["type"].as_str();
    let kind_ok = match kind {
        Some("plain_text") => true,
        Some("mrkdwn") => !plain_only,
        _ => false,
    };
    if !kind_ok {
        errors.push(format!(
            "invalid text type {kind:?} [json-pointer:{at}/type]"
        ));
    }
    match text["text"].as_str() {
        Some("") => errors.push(format!(
            "must be at least 1 character [json-pointer:{at}/text]"
        )),
        Some(s) if s.chars().count() > max => errors.push(format!(
            "must be less than {} characters [json-pointer:{at}/text]",
            max + 1
        )),
        Some(_) => {}
        None => errors.push(format!("missing text [json-pointer:{at}/text]")),
    }
}

fn check_button(
    element: &Value,
    at: &str,
    action_ids: &mut HashSet<String>,
    errors: &mut Vec<String>,
) {
    if element["type"] != "button" {
        errors.push(format!(
            "unsupported element type in this emulator [json-pointer:{at}/type]"
        ));
        return;
    }
    check_text(&element["text"], 75, true, &format!("{at}/text"), errors);
    match element["action_id"].as_str() {
        Some(id) if id.is_empty() || id.chars().count() > 255 => errors.push(format!(
            "must be 1 to 255 characters [json-pointer:{at}/action_id]"
        )),
        Some(id) if !action_ids.insert(id.to_string()) => errors.push(format!(
            "action_id {id:?} is already used in this block [json-pointer:{at}/action_id]"
        )),
        _ => {}
    }
    if let Some(value) = element.get("value")
        && value.as_str().is_none_or(|v| v.chars().count() > 2000)
    {
        errors.push(format!(
            "must be a string of at most 2000 characters [json-pointer:{at}/value]"
        ));
    }
    if let Some(style) = element.get("style")
        && style != "primary"
        && style != "danger"
    {
        errors.push(format!(
            "must be primary or danger [json-pointer:{at}/style]"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_round_trips_and_orders() {
        assert_eq!(parse_ts("1712345678.000100"), Some(1_712_345_678_000_100));
        assert_eq!(format_ts(1_712_345_678_000_100), "1712345678.000100");
        assert_eq!(parse_ts("1712345678"), Some(1_712_345_678_000_000));
        assert_eq!(parse_ts("x.1"), None);
    }

    #[test]
    fn block_limits_are_checked() {
        let ok = json!([
            {"type": "header", "text": {"type": "plain_text", "text": "Digest"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}},
            {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "fw.flag.1"}]},
            {"type": "divider"},
        ]);
        assert_eq!(check_blocks(&ok), Ok(()));

        let long =
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "x".repeat(3001)}}]);
        let errors = check_blocks(&long).unwrap_err();
        assert_eq!(
            errors,
            vec!["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]
        );

        let many: Vec<Value> = (0..51).map(|_| json!({"type": "divider"})).collect();
        assert!(check_blocks(&Value::Array(many)).is_err());

        let header_mrkdwn = json!([{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}]);
        assert!(check_blocks(&header_mrkdwn).is_err());

        let dup = json!([{"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "a"}, "action_id": "x"},
            {"type": "button", "text": {"type": "plain_text", "text": "b"}, "action_id": "x"},
        ]}]);
        assert!(check_blocks(&dup).is_err());

        let fields: Vec<Value> = (0..11)
            .map(|_| json!({"type": "mrkdwn", "text": "f"}))
            .collect();
        assert!(check_blocks(&json!([{"type": "section", "fields": fields}])).is_err());
    }
}
