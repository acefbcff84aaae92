//! The emulated gateway: a WebSocket speaking Discord's opcodes as JSON text frames.
//!
//! Hello (op 10) first; then Identify (op 2) is checked: a wrong token closes with 4004, the
//! Message Content Intent without the application's permission with 4014. Ready (op 0) follows,
//! heartbeats (op 1) are acknowledged (op 11), and a Resume (op 6) is answered with Invalid
//! Session (op 9), so the client identifies afresh. Dispatches a test sends go to every
//! connection, each with the next sequence number; [`Command::Drop`] closes the connections
//! without a close frame.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::{Value, json};

use super::{APPLICATION_ID, BOT_USER_ID, DiscordEmulator, GUILD_ID, Recorded, Shared};

/// The Message Content Intent's bit.
const MESSAGE_CONTENT: u64 = 1 << 15;

/// What a test tells the open connections.
#[derive(Debug, Clone)]
pub enum Command {
    /// Send the event `t` with data `d`.
    Dispatch(String, Value),
    /// Drop the connection.
    Drop,
}

impl DiscordEmulator {
    /// Sends the gateway event `t` with `d` on every open connection.
    pub fn dispatch(&self, t: &str, d: Value) {
        let _ = self
            .shared
            .dispatch
            .send(Command::Dispatch(t.to_string(), d));
    }

    /// Drops every open gateway connection.
    pub fn drop_connections(&self) {
        let _ = self.shared.dispatch.send(Command::Drop);
    }

    /// A person's message in a thread or channel, as `MESSAGE_CREATE` carries it.
    pub fn message_create(&self, m: &Recorded) -> Value {
        json!({
            "id": m.id, "channel_id": m.channel, "guild_id": GUILD_ID.to_string(),
            "author": {"id": m.author.to_string(), "username": format!("user{}", m.author),
                       "discriminator": "0", "global_name": null, "avatar": null},
            "content": m.body["content"], "timestamp": "2024-01-01T00:00:00.000000+00:00",
            "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [],
            "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "type": 0,
        })
    }
}

pub(crate) async fn connect(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(shared, socket))
}

fn frame(op: u8, d: Value, s: Option<u64>, t: Option<&str>) -> Message {
    Message::Text(json!({"op": op, "d": d, "s": s, "t": t}).to_string().into())
}

async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.to_string().into(),
        })))
        .await;
}

async fn session(shared: Arc<Shared>, mut socket: WebSocket) {
    let mut commands = shared.dispatch.subscribe();
    if socket
        .send(frame(10, json!({"heartbeat_interval": 41_250}), None, None))
        .await
        .is_err()
    {
        return;
    }
    let mut seq = 0u64;
    loop {
        tokio::select! {
            received = socket.recv() => {
                let Some(Ok(message)) = received else { return };
                let text = match message {
                    Message::Text(text) => text.to_string(),
                    Message::Close(_) => return,
                    _ => continue,
                };
                let Ok(payload) = serde_json::from_str::<Value>(&text) else { continue };
                match payload["op"].as_u64() {
                    Some(1) if socket.send(frame(11, Value::Null, None, None)).await.is_err() => {
                        return;
                    }
                    Some(2) => {
                        let (token, allowed) = {
                            let state = shared.lock();
                            (state.token.clone(), state.message_content_allowed)
                        };
                        let given = payload["d"]["token"].as_str().unwrap_or("");
                        if given.trim_start_matches("Bot ") != token {
                            return close(socket, 4004, "Authentication failed.").await;
                        }
                        let intents = payload["d"]["intents"].as_u64().unwrap_or(0);
                        if intents & MESSAGE_CONTENT != 0 && !allowed {
                            return close(socket, 4014, "Disallowed intent(s).").await;
                        }
                        shared.lock().identified += 1;
                        shared.touched();
                        seq += 1;
                        let addr = shared.addr.lock().unwrap_or_else(|e| e.into_inner()).unwrap();
                        let ready = json!({
                            "v": 10,
                            "user": {"id": BOT_USER_ID.to_string(), "username": "Flywheel",
                                     "bot": true, "discriminator": "0000", "global_name": null,
                                     "avatar": null},
                            "guilds": [],
                            "session_id": "emulated-session",
                            "resume_gateway_url": format!("ws://{addr}/gateway"),
                            "application": {"id": APPLICATION_ID.to_string(), "flags": 0},
                        });
                        if socket.send(frame(0, ready, Some(seq), Some("READY"))).await.is_err() {
                            return;
                        }
                    }
                    Some(6) if socket.send(frame(9, json!(false), None, None)).await.is_err() => {
                        return;
                    }
                    _ => {}
                }
            }
            command = commands.recv() => match command {
                Ok(Command::Dispatch(t, d)) => {
                    seq += 1;
                    if socket.send(frame(0, d, Some(seq), Some(&t))).await.is_err() {
                        return;
                    }
                }
                Ok(Command::Drop) | Err(_) => return,
            },
        }
    }
}
