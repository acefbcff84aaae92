//! Slack's Socket Mode, emulated: `apps.connections.open` hands out a one-time
//! `ws://127.0.0.1:PORT/link/?ticket=…` URL for the app-level token ([`APP_TOKEN`]), and the
//! WebSocket there speaks Slack's protocol. It says `hello`, then sends the envelopes a test
//! pushes ([`SlackEmulator::socket_send`]) to the newest connection that Slack has not asked
//! to go away, and hands the acknowledgements back. A test can also send `disconnect`, drop
//! the connection without a close frame, ping, and deliver an Events API envelope again with
//! `retry_attempt` one higher, as Slack does when it did not see the acknowledgement in time.
//! Every connection is counted, and every `apps.connections.open` is recorded as a
//! [`Call`](super::Call).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;

use super::{APP_ID, APP_TOKEN, Shared, SlackEmulator, log};

/// How long [`SlackEmulator::socket_send`] and [`SlackEmulator::socket_redeliver`] wait for a
/// connection and then for the acknowledgement before failing the test.
pub const SOCKET_CEILING: Duration = Duration::from_secs(10);

/// The Socket Mode side of the emulator's state.
#[derive(Default)]
pub(super) struct Sockets {
    /// The accepted app-level token, when a test changed it from [`APP_TOKEN`].
    app_token: Option<String>,
    /// Tickets handed out by `apps.connections.open` and not used yet.
    tickets: HashSet<String>,
    /// The last id given to a ticket, a connection or an envelope.
    serial: u64,
    /// Connections opened so far (`hello` sent).
    opened: usize,
    /// Connections open now.
    open: usize,
    /// Where envelopes go: the newest connection Slack has not asked to go away.
    live: Option<(u64, mpsc::UnboundedSender<Outbound>)>,
    /// Every envelope sent, by id.
    envelopes: HashMap<String, Value>,
    /// Who waits for the acknowledgement of which envelope.
    waiting: HashMap<String, oneshot::Sender<Value>>,
    /// Every acknowledgement received, in order.
    acks: Vec<Value>,
    /// Pongs received.
    pongs: usize,
    /// Woken whenever any of the above changes.
    changed: Arc<Notify>,
}

/// What a connection is told to do.
enum Outbound {
    Text(String),
    Ping,
    Drop,
}

impl SlackEmulator {
    /// Makes `token` the only accepted app-level token.
    pub fn set_app_token(&self, token: &str) {
        self.lock().sockets.app_token = Some(token.to_string());
    }

    /// How many Socket Mode connections were opened (`hello` sent) so far.
    pub fn sockets_opened(&self) -> usize {
        self.lock().sockets.opened
    }

    /// How many Socket Mode connections are open now.
    pub fn sockets_open(&self) -> usize {
        self.lock().sockets.open
    }

    /// Every acknowledgement received so far, in order.
    pub fn socket_acks(&self) -> Vec<Value> {
        self.lock().sockets.acks.clone()
    }

    /// The ids of the Events API envelopes never acknowledged.
    pub fn socket_unacknowledged(&self) -> Vec<String> {
        let state = self.lock();
        let acked: HashSet<&str> = state
            .sockets
            .acks
            .iter()
            .filter_map(|ack| ack["envelope_id"].as_str())
            .collect();
        let mut ids: Vec<String> = state
            .sockets
            .envelopes
            .iter()
            .filter(|(id, envelope)| {
                envelope["type"] == "events_api" && !acked.contains(id.as_str())
            })
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Waits until `count` connections were opened and one takes envelopes (giving up after
    /// `limit`): whether that happened.
    pub async fn wait_for_socket(&self, count: usize, limit: Duration) -> bool {
        self.wait_sockets(Instant::now() + limit, |s| {
            (s.opened >= count && s.live.is_some()).then_some(())
        })
        .await
        .is_some()
    }

    /// Waits until exactly `count` connections are open (giving up after `limit`): whether
    /// that happened.
    pub async fn wait_for_sockets_open(&self, count: usize, limit: Duration) -> bool {
        self.wait_sockets(Instant::now() + limit, |s| (s.open == count).then_some(()))
            .await
            .is_some()
    }

    /// Sends an envelope of `kind` (`slash_commands`, `interactive`, `events_api`) carrying
    /// `payload`, and returns its acknowledgement: `{"envelope_id": …}`, with the `payload`
    /// answered when there is one. Fails the test when there is no connection or no
    /// acknowledgement within [`SOCKET_CEILING`].
    pub async fn socket_send(&self, kind: &str, payload: Value) -> Value {
        let (id, ack) = self.socket_try_send(kind, payload, SOCKET_CEILING).await;
        ack.unwrap_or_else(|| panic!("the {kind} envelope {id} was not acknowledged"))
    }

    /// Sends an envelope like [`socket_send`](Self::socket_send), waiting at most `limit`: its
    /// id, and its acknowledgement if one came.
    pub async fn socket_try_send(
        &self,
        kind: &str,
        payload: Value,
        limit: Duration,
    ) -> (String, Option<Value>) {
        let envelope = self.envelope(kind, payload, None);
        let id = envelope["envelope_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (id, self.push(envelope, limit).await)
    }

    /// Delivers the Events API envelope `envelope_id` again, under a new envelope id with
    /// `retry_attempt` one higher and `retry_reason` `timeout`, as Slack does when the
    /// acknowledgement did not reach it in time; returns the new acknowledgement (failing the
    /// test after [`SOCKET_CEILING`]).
    pub async fn socket_redeliver(&self, envelope_id: &str) -> Value {
        let earlier = self
            .lock()
            .sockets
            .envelopes
            .get(envelope_id)
            .cloned()
            .unwrap_or_else(|| panic!("no envelope {envelope_id} was sent"));
        assert_eq!(
            earlier["type"], "events_api",
            "Slack delivers only Events API envelopes again"
        );
        let attempt = earlier["retry_attempt"].as_u64().unwrap_or(0) + 1;
        let envelope = self.envelope("events_api", earlier["payload"].clone(), Some(attempt));
        let id = envelope["envelope_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.push(envelope, SOCKET_CEILING)
            .await
            .unwrap_or_else(|| panic!("the redelivered envelope {id} was not acknowledged"))
    }

    /// Sends `{"type": "disconnect", "reason": reason}` on the connection that takes envelopes;
    /// no envelope goes to it afterwards, and it stays open until Flywheel closes it.
    pub fn socket_disconnect(&self, reason: &str) {
        let outbox = self.take_live_socket();
        let message = json!({
            "type": "disconnect",
            "reason": reason,
            "debug_info": {"host": "emulated-slack"},
        });
        let _ = outbox.send(Outbound::Text(message.to_string()));
    }

    /// Drops the connection that takes envelopes, without a close frame.
    pub fn socket_drop(&self) {
        let outbox = self.take_live_socket();
        let _ = outbox.send(Outbound::Drop);
    }

    /// The connection that takes envelopes, which from now on takes none.
    fn take_live_socket(&self) -> mpsc::UnboundedSender<Outbound> {
        let (_, outbox) = self
            .lock()
            .sockets
            .live
            .take()
            .expect("a Socket Mode connection is open");
        outbox
    }

    /// Pings the connection that takes envelopes and waits for the pong (giving up after
    /// `limit`): whether it came.
    pub async fn socket_ping(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let Some(outbox) = self
            .wait_sockets(deadline, |s| s.live.as_ref().map(|(_, o)| o.clone()))
            .await
        else {
            return false;
        };
        let before = self.lock().sockets.pongs;
        if outbox.send(Outbound::Ping).is_err() {
            return false;
        }
        self.wait_sockets(deadline, |s| (s.pongs > before).then_some(()))
            .await
            .is_some()
    }

    /// A new envelope; `retry_attempt` is set for Events API envelopes (0 when `None`).
    fn envelope(&self, kind: &str, payload: Value, retry_attempt: Option<u64>) -> Value {
        let serial = {
            let mut state = self.lock();
            state.sockets.serial += 1;
            state.sockets.serial
        };
        // Slack takes an answer in the acknowledgement of slash commands and of the
        // interactions that are answered in place.
        let accepts_response_payload = match kind {
            "slash_commands" => true,
            "interactive" => matches!(
                payload["type"].as_str(),
                Some("view_submission" | "block_suggestion")
            ),
            _ => false,
        };
        let mut envelope = json!({
            "envelope_id": format!("{serial:08x}-0000-4000-8000-emulatedenv"),
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        });
        if kind == "events_api" {
            let attempt = retry_attempt.unwrap_or(0);
            envelope["retry_attempt"] = json!(attempt);
            envelope["retry_reason"] = json!(if attempt == 0 { "" } else { "timeout" });
        }
        envelope
    }

    /// Sends `envelope` to the connection that takes envelopes (waiting for one) and waits for
    /// its acknowledgement, all within `limit`.
    async fn push(&self, envelope: Value, limit: Duration) -> Option<Value> {
        let deadline = Instant::now() + limit;
        let id = envelope["envelope_id"].as_str()?.to_string();
        let (tx, rx) = oneshot::channel();
        {
            let mut state = self.lock();
            state.sockets.envelopes.insert(id.clone(), envelope.clone());
            state.sockets.waiting.insert(id, tx);
        }
        let outbox = self
            .wait_sockets(deadline, |s| s.live.as_ref().map(|(_, o)| o.clone()))
            .await?;
        outbox.send(Outbound::Text(envelope.to_string())).ok()?;
        tokio::time::timeout_at(deadline, rx).await.ok()?.ok()
    }

    /// Waits until `check` finds something in the Socket Mode state, or `deadline` passes.
    async fn wait_sockets<T>(
        &self,
        deadline: Instant,
        check: impl Fn(&Sockets) -> Option<T>,
    ) -> Option<T> {
        let changed = self.lock().sockets.changed.clone();
        loop {
            let notified = changed.notified();
            if let Some(found) = check(&self.lock().sockets) {
                return Some(found);
            }
            if Instant::now() >= deadline {
                return None;
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }
}

/// `apps.connections.open`: a one-time WebSocket URL, for the app-level token only.
pub(super) async fn connections_open(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let answer = {
        let mut state = shared.lock();
        let sockets = &mut state.sockets;
        let accepted = sockets.app_token.as_deref().unwrap_or(APP_TOKEN);
        match bearer {
            None => Err("not_authed"),
            Some(token) if token == accepted => {
                sockets.serial += 1;
                let ticket = format!("emulated-ticket-{}", sockets.serial);
                sockets.tickets.insert(ticket.clone());
                Ok(ticket)
            }
            // Bot and user tokens are real tokens, of the wrong type.
            Some(token) if token.starts_with("xox") => Err("not_allowed_token_type"),
            Some(_) => Err("invalid_auth"),
        }
    };
    let outcome = match &answer {
        Ok(_) => "ok",
        Err(code) => code,
    };
    log(&shared, "apps.connections.open", &None, outcome);
    match answer {
        Ok(ticket) => Json(json!({
            "ok": true,
            "url": format!("ws://{host}/link/?ticket={ticket}&app_id={APP_ID}"),
        })),
        Err(code) => Json(json!({"ok": false, "error": code})),
    }
    .into_response()
}

/// `GET /link/?ticket=…`: the WebSocket, for a ticket handed out and not used yet.
pub(super) async fn link(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let valid = query
        .get("ticket")
        .is_some_and(|ticket| shared.lock().sockets.tickets.remove(ticket));
    if !valid {
        return (StatusCode::UNAUTHORIZED, "invalid_ticket").into_response();
    }
    upgrade.on_upgrade(move |socket| connection(shared, socket))
}

/// One connection: `hello`, then what the test sends and what Flywheel acknowledges.
async fn connection(shared: Arc<Shared>, mut socket: WebSocket) {
    let (outbox, mut inbox) = mpsc::unbounded_channel();
    let (id, hello) = {
        let mut state = shared.lock();
        let sockets = &mut state.sockets;
        sockets.serial += 1;
        sockets.open += 1;
        let hello = json!({
            "type": "hello",
            "num_connections": sockets.open,
            "debug_info": {
                "host": "emulated-slack",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": APP_ID},
        });
        (sockets.serial, hello)
    };
    if socket.send(Message::text(hello.to_string())).await.is_ok() {
        {
            let mut state = shared.lock();
            state.sockets.opened += 1;
            state.sockets.live = Some((id, outbox.clone()));
            state.sockets.changed.notify_waiters();
        }
        serve(&shared, &mut socket, &mut inbox).await;
    }
    let mut state = shared.lock();
    state.sockets.open -= 1;
    if state
        .sockets
        .live
        .as_ref()
        .is_some_and(|(live, _)| *live == id)
    {
        state.sockets.live = None;
    }
    state.sockets.changed.notify_waiters();
    // Dropping the socket closes the connection; `outbox` is kept until then so the inbox
    // never ends on its own.
    drop(outbox);
}

async fn serve(
    shared: &Shared,
    socket: &mut WebSocket,
    inbox: &mut mpsc::UnboundedReceiver<Outbound>,
) {
    loop {
        tokio::select! {
            out = inbox.recv() => {
                let message = match out {
                    Some(Outbound::Text(text)) => Message::text(text),
                    Some(Outbound::Ping) => Message::Ping(Bytes::from_static(b"emulated")),
                    Some(Outbound::Drop) | None => return,
                };
                if socket.send(message).await.is_err() {
                    return;
                }
            }
            frame = socket.recv() => match frame {
                Some(Ok(Message::Text(text))) => acknowledged(shared, text.as_str()),
                Some(Ok(Message::Pong(_))) => {
                    let mut state = shared.lock();
                    state.sockets.pongs += 1;
                    state.sockets.changed.notify_waiters();
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// An acknowledgement (anything else Flywheel sends is ignored, as Slack does).
fn acknowledged(shared: &Shared, text: &str) {
    let Ok(ack) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let Some(id) = ack["envelope_id"].as_str() else {
        return;
    };
    let mut state = shared.lock();
    state.sockets.acks.push(ack.clone());
    if let Some(waiting) = state.sockets.waiting.remove(id) {
        let _ = waiting.send(ack);
    }
    state.sockets.changed.notify_waiters();
}
