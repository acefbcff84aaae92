//! Slack's Socket Mode: Flywheel opens a WebSocket to Slack instead of serving public HTTP
//! endpoints, so it can run behind a firewall.
//!
//! [`SocketMode::run`] asks `apps.connections.open` for a connection URL with the app-level
//! token (`xapp-…`), connects, and waits for Slack's `hello`. Slack then sends envelopes
//! (`slash_commands`, `interactive`, `events_api`), each to be acknowledged within three seconds
//! with `{"envelope_id": …}`, carrying the answer as `payload` where Slack takes one (a slash
//! command's answer, as the HTTP endpoint would return it). Envelopes are handled side by side
//! by [`super::translate`], as for the HTTP endpoints, so a slow one holds up no other, and their
//! acknowledgements go through the connection's single writer. An Events API callback that could not be handled is not
//! acknowledged, so Slack delivers it again.
//!
//! Slack's `disconnect` (`refresh_requested`, `warning`) is answered with a fresh connection;
//! the old one stays open for up to three seconds so the acknowledgements still due on it are
//! sent. A dropped or silent connection is replaced after a capped, jittered exponential
//! backoff. A refused token and `link_disabled` are permanent: the loop stops with a
//! [`SocketError`] instead of retrying. Slack's pings are answered as frames are read, and
//! Flywheel pings Slack when the connection is quiet, to notice a connection that died
//! silently. The token and the connection URL (which holds a ticket) are never logged.

use std::time::Duration;

use flywheel_config::{Secret, SecretSource};
use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::payloads::{self, SocketFrame};
use super::respond::ResponseBody;
use super::translate;
use crate::conversation::Inbound;
use crate::transports::Transport;

/// How long Slack waits for an acknowledgement; later ones are useless.
const ACK_WINDOW: Duration = Duration::from_secs(3);
/// What `/readyz` calls the connection.
const READINESS: &str = "slack socket mode";
/// The codes of `apps.connections.open` that no retry can fix.
const REFUSED: [&str; 9] = [
    "not_authed",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_allowed_token_type",
    "missing_scope",
    "no_permission",
    "team_access_not_granted",
];

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Socket Mode's pacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketOptions {
    /// The first wait before reconnecting after a failure (jittered down to half).
    pub backoff_min: Duration,
    /// The longest wait between attempts.
    pub backoff_max: Duration,
    /// A connection that stayed up this long resets the backoff when it drops.
    pub stable_after: Duration,
    /// How often Flywheel pings Slack.
    pub ping_every: Duration,
    /// A connection on which nothing was heard for this long is replaced.
    pub silence_limit: Duration,
    /// The limit on `apps.connections.open` and on the WebSocket handshake, each.
    pub open_timeout: Duration,
}

impl Default for SocketOptions {
    fn default() -> SocketOptions {
        SocketOptions {
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            stable_after: Duration::from_secs(60),
            ping_every: Duration::from_secs(10),
            silence_limit: Duration::from_secs(30),
            open_timeout: Duration::from_secs(10),
        }
    }
}

/// Why Socket Mode stopped for good.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SocketError {
    /// `apps.connections.open` refused the app-level token: retrying cannot help.
    #[error("Slack refused the app-level token ({code}): {advice}")]
    Refused {
        /// Slack's error code.
        code: String,
        /// What to do about it.
        advice: String,
    },
    /// Slack closed the connection with `link_disabled`: Socket Mode is off for the app.
    #[error(
        "Slack disabled this app's Socket Mode connection (link_disabled): turn Socket Mode on \
         in the app's settings, or set [slack] transport = \"http\""
    )]
    LinkDisabled,
}

/// The Socket Mode client of a running service.
pub struct SocketMode {
    inbound: Inbound,
    token: Secret,
    token_source: SecretSource,
    api_url: String,
    options: SocketOptions,
    http: reqwest::Client,
}

/// What `apps.connections.open` answers.
#[derive(Deserialize)]
struct ConnectionsOpen {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

/// Why `apps.connections.open` gave no URL.
enum OpenError {
    /// For good.
    Refused(SocketError),
    /// For now: try again later (no sooner than `retry_after`, when Slack said).
    Failed {
        why: String,
        retry_after: Option<Duration>,
    },
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ended {
    /// The service is stopping.
    Stopped,
    /// Slack asked for a fresh connection.
    Refresh { reason: String },
    /// The connection failed, or Slack closed it without asking for a fresh one.
    Dropped { why: String },
    /// `link_disabled`.
    LinkDisabled,
}

/// What one frame from Slack asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Frame {
    /// Nothing more to do (an envelope is being handled, or the frame is ignored).
    Continue,
    /// `hello`: the connection is ready.
    Hello,
    /// End the connection.
    End(Ended),
}

impl SocketMode {
    /// Socket Mode handing what Slack sends to `inbound`, with the app-level token and Web API
    /// URL of its configuration; an error naming what to set when the token is missing.
    pub fn new(inbound: Inbound) -> anyhow::Result<SocketMode> {
        let config = &inbound.app().config;
        let token_source = config.secrets.sources.slack_app_token.clone();
        let Some(token) = config.secrets.slack_app_token.clone() else {
            anyhow::bail!(
                "[slack] transport is \"socket\" but Slack's app-level token is not set (looked \
                 in {token_source}): {} the app's xapp-… token (Basic Information → App-Level \
                 Tokens, with the connections:write scope), or set [slack] transport = \"http\"",
                set_it(&token_source)
            );
        };
        let api_url = config.slack.api_url.clone();
        let options = SocketOptions::default();
        inbound.app().readiness.expect(READINESS);
        Ok(SocketMode {
            http: client(&options)?,
            inbound,
            token,
            token_source,
            api_url,
            options,
        })
    }

    /// The same client with other pacing.
    pub fn with_options(mut self, options: SocketOptions) -> anyhow::Result<SocketMode> {
        self.http = client(&options)?;
        self.options = options;
        Ok(self)
    }

    /// Keeps a Socket Mode connection open until `stop` turns true (or its sender is dropped):
    /// `Ok` then, or the reason Socket Mode cannot work, already logged.
    pub async fn run(self, mut stop: watch::Receiver<bool>) -> Result<(), SocketError> {
        let result = self.connect_and_serve(&mut stop).await;
        self.inbound.app().readiness.set(READINESS, false);
        if let Err(e) = &result {
            tracing::error!("Slack Socket Mode stopped: {e}");
        }
        result
    }

    async fn connect_and_serve(&self, stop: &mut watch::Receiver<bool>) -> Result<(), SocketError> {
        let mut failures: u32 = 0;
        let mut not_before: Option<Duration> = None;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            if failures > 0 {
                let wait =
                    backoff(&self.options, failures).max(not_before.take().unwrap_or_default());
                tracing::info!(
                    attempt = failures + 1,
                    "reconnecting to Slack's Socket Mode in {} ms",
                    wait.as_millis()
                );
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|stop| *stop) => return Ok(()),
                }
            }
            let url = tokio::select! {
                opened = self.open() => opened,
                _ = stop.wait_for(|stop| *stop) => return Ok(()),
            };
            let url = match url {
                Ok(url) => url,
                Err(OpenError::Refused(e)) => return Err(e),
                Err(OpenError::Failed { why, retry_after }) => {
                    tracing::warn!("cannot open a Slack Socket Mode connection: {why}");
                    failures += 1;
                    not_before = retry_after;
                    continue;
                }
            };
            let handshake = tokio::time::timeout(
                self.options.open_timeout,
                tokio_tungstenite::connect_async(url.as_str()),
            );
            let socket = tokio::select! {
                socket = handshake => socket,
                _ = stop.wait_for(|stop| *stop) => return Ok(()),
            };
            let socket = match socket {
                Ok(Ok((socket, _))) => socket,
                Ok(Err(e)) => {
                    tracing::warn!("cannot connect to Slack's Socket Mode: {e}");
                    failures += 1;
                    continue;
                }
                Err(_) => {
                    tracing::warn!(
                        "cannot connect to Slack's Socket Mode: the handshake timed out"
                    );
                    failures += 1;
                    continue;
                }
            };
            let started = Instant::now();
            let (ended, greeted) = self.serve(socket, stop).await;
            self.inbound.app().readiness.set(READINESS, false);
            match ended {
                Ended::Stopped => return Ok(()),
                Ended::LinkDisabled => return Err(SocketError::LinkDisabled),
                Ended::Refresh { reason } if greeted => {
                    tracing::info!(reason, "Slack asked for a fresh Socket Mode connection");
                    failures = 0;
                }
                Ended::Refresh { reason } => {
                    tracing::warn!(
                        reason,
                        "Slack ended a Socket Mode connection before its hello"
                    );
                    failures += 1;
                }
                Ended::Dropped { why } => {
                    tracing::warn!("the Slack Socket Mode connection ended: {why}");
                    if greeted && started.elapsed() >= self.options.stable_after {
                        failures = 1;
                    } else {
                        failures += 1;
                    }
                }
            }
        }
    }

    /// `POST apps.connections.open`: the URL of a new connection.
    async fn open(&self) -> Result<String, OpenError> {
        let failed = |why: String| OpenError::Failed {
            why,
            retry_after: None,
        };
        let response = self
            .http
            .post(format!("{}/apps.connections.open", self.api_url))
            .bearer_auth(self.token.expose())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("")
            .send()
            .await
            // The URL is left out: the message names the method.
            .map_err(|e| failed(format!("apps.connections.open: {}", e.without_url())))?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(OpenError::Failed {
                why: "apps.connections.open is rate limited".into(),
                retry_after,
            });
        }
        if !status.is_success() {
            return Err(failed(format!(
                "apps.connections.open answered HTTP {status}"
            )));
        }
        let body: ConnectionsOpen = response.json().await.map_err(|e| {
            failed(format!(
                "apps.connections.open answered something that does not fit: {}",
                e.without_url()
            ))
        })?;
        if !body.ok {
            let code = body.error.as_deref().unwrap_or("unknown_error");
            if REFUSED.contains(&code) {
                return Err(OpenError::Refused(SocketError::Refused {
                    code: code.to_string(),
                    advice: advice(code, &self.token_source),
                }));
            }
            return Err(failed(format!("apps.connections.open answered {code}")));
        }
        match body.url {
            Some(url) if url.starts_with("wss://") || url.starts_with("ws://") => Ok(url),
            _ => Err(failed("apps.connections.open gave no WebSocket URL".into())),
        }
    }

    /// Serves one connection until it ends: how, and whether Slack's `hello` came.
    async fn serve(&self, socket: Socket, stop: &mut watch::Receiver<bool>) -> (Ended, bool) {
        let (sink, mut frames) = socket.split();
        let (outbox, inbox) = mpsc::channel::<Message>(64);
        let mut writer = tokio::spawn(write(sink, inbox));
        let mut ping = tokio::time::interval_at(
            Instant::now() + self.options.ping_every,
            self.options.ping_every,
        );
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut heard = Instant::now();
        let mut greeted = false;
        let ended = loop {
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => break Ended::Stopped,
                _ = ping.tick() => {
                    if heard.elapsed() >= self.options.silence_limit {
                        break Ended::Dropped {
                            why: format!(
                                "nothing heard for {} s",
                                self.options.silence_limit.as_secs()
                            ),
                        };
                    }
                    if outbox.try_send(Message::Ping(Default::default())).is_err() {
                        tracing::debug!("a Socket Mode ping was not sent: the writer is busy");
                    }
                }
                frame = frames.next() => {
                    heard = Instant::now();
                    match frame {
                        None => break Ended::Dropped { why: "Slack closed the connection".into() },
                        Some(Err(e)) => break Ended::Dropped { why: e.to_string() },
                        Some(Ok(Message::Text(text))) => match self.frame(&text, &outbox) {
                            Frame::Continue => {}
                            Frame::Hello => greeted = true,
                            Frame::End(ended) => break ended,
                        },
                        Some(Ok(Message::Close(frame))) => {
                            let why = match frame {
                                Some(frame) => format!("Slack closed the connection ({} {})", frame.code, frame.reason),
                                None => "Slack closed the connection".to_string(),
                            };
                            break Ended::Dropped { why };
                        }
                        // Pings are answered by tungstenite as frames are read.
                        Some(Ok(_)) => {}
                    }
                }
            }
        };
        // The writer ends once every envelope still being handled has sent its acknowledgement,
        // then closes the connection; Slack ignores acknowledgements later than its window.
        drop(outbox);
        let wind_down = async move {
            if tokio::time::timeout(ACK_WINDOW, &mut writer).await.is_err() {
                writer.abort();
            }
        };
        if ended == Ended::Stopped {
            wind_down.await;
        } else {
            tokio::spawn(wind_down);
        }
        (ended, greeted)
    }

    /// Reads one text frame.
    fn frame(&self, text: &str, outbox: &mpsc::Sender<Message>) -> Frame {
        let frame: SocketFrame = match payloads::from_json("a Socket Mode frame", text.as_bytes()) {
            Ok(frame) => frame,
            Err(e) => {
                // The frame is never logged: it may hold customer text.
                tracing::warn!("refused a Slack Socket Mode frame: {e}");
                return Frame::Continue;
            }
        };
        match frame.kind.as_str() {
            "hello" => {
                self.inbound.app().readiness.set(READINESS, true);
                tracing::info!(
                    connections = frame.num_connections,
                    "connected to Slack over Socket Mode"
                );
                Frame::Hello
            }
            "disconnect" => {
                let reason = frame.reason.unwrap_or_default();
                Frame::End(match reason.as_str() {
                    "link_disabled" => Ended::LinkDisabled,
                    "refresh_requested" | "warning" => Ended::Refresh { reason },
                    _ => Ended::Dropped {
                        why: format!("Slack disconnected it ({reason})"),
                    },
                })
            }
            _ if frame.envelope_id.is_some() => {
                let inbound = self.inbound.clone();
                let outbox = outbox.clone();
                tokio::spawn(async move {
                    let Some(ack) = acknowledgement(&inbound, frame).await else {
                        return;
                    };
                    let ack = match serde_json::to_string(&ack) {
                        Ok(ack) => ack,
                        Err(e) => {
                            tracing::error!("cannot encode a Socket Mode acknowledgement: {e}");
                            return;
                        }
                    };
                    if outbox.send(Message::text(ack)).await.is_err() {
                        tracing::warn!(
                            "a Socket Mode acknowledgement was not sent: the connection had closed"
                        );
                    }
                });
                Frame::Continue
            }
            other => {
                tracing::debug!(kind = other, "ignored a Slack Socket Mode frame");
                Frame::Continue
            }
        }
    }
}

impl Transport for SocketMode {
    fn name(&self) -> &'static str {
        "Slack Socket Mode"
    }

    fn run(self: Box<Self>, shutdown: watch::Receiver<bool>) -> BoxFuture<'static, ()> {
        // A permanent failure is logged by the loop; the rest of the service keeps running.
        Box::pin(async move {
            let _ = SocketMode::run(*self, shutdown).await;
        })
    }
}

/// The HTTP client for `apps.connections.open`.
fn client(options: &SocketOptions) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(options.open_timeout)
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build an HTTP client: {e}"))
}

/// Sends the acknowledgements and pings handed over, in order, until every sender is gone;
/// then closes the connection.
async fn write(
    mut sink: futures::stream::SplitSink<Socket, Message>,
    mut inbox: mpsc::Receiver<Message>,
) {
    while let Some(message) = inbox.recv().await {
        if let Err(e) = sink.send(message).await {
            tracing::debug!("cannot write to the Slack Socket Mode connection: {e}");
            return;
        }
    }
    let _ = sink.close().await;
}

/// What a Socket Mode envelope is acknowledged with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SocketAck {
    /// The envelope's id.
    pub envelope_id: String,
    /// The answer, where Slack takes one (a slash command's, as the HTTP endpoint would
    /// return it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<ResponseBody>,
}

/// What to acknowledge the envelope `frame` with, after handling it; `None` leaves it
/// unacknowledged, so that Slack delivers it again (an event that could not be stored). An
/// envelope whose payload does not fit is acknowledged without an answer: delivering it again
/// would not make it fit.
pub async fn acknowledgement(inbound: &Inbound, frame: SocketFrame) -> Option<SocketAck> {
    let envelope_id = frame.envelope_id?;
    let kind = frame.kind.as_str();
    let answer = match kind {
        "slash_commands" => match payloads::from_value("the command", frame.payload) {
            Ok(command) => translate::slash_command(inbound, command).await,
            Err(e) => Err(e),
        },
        "interactive" => match payloads::from_value("the interaction payload", frame.payload) {
            Ok(interaction) => translate::interaction(inbound, interaction).await,
            Err(e) => Err(e),
        },
        "events_api" => match payloads::from_value("the event", frame.payload) {
            Ok(event) => {
                let retry = frame.retry_attempt.unwrap_or(0);
                if let Err(e) = translate::events(inbound, event, retry).await {
                    tracing::error!(
                        retry,
                        "cannot handle a Slack event; Slack will deliver it again: {e:#}"
                    );
                    return None;
                }
                Ok(None)
            }
            Err(e) => Err(e),
        },
        other => {
            tracing::debug!(
                kind = other,
                "acknowledged a Slack envelope of an unused type"
            );
            Ok(None)
        }
    };
    let answer = answer.unwrap_or_else(|e| {
        tracing::warn!(kind, "refused a Slack envelope over Socket Mode: {e}");
        None
    });
    let takes_answer = frame
        .accepts_response_payload
        .unwrap_or(kind == "slash_commands");
    Some(SocketAck {
        envelope_id,
        payload: answer.filter(|_| takes_answer),
    })
}

/// The wait before attempt `failures + 1`: doubling from `backoff_min` up to `backoff_max`,
/// then a random part of the second half, so that many clients do not come back together.
fn backoff(options: &SocketOptions, failures: u32) -> Duration {
    let doubled = options
        .backoff_min
        .saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    let ceiling = doubled.min(options.backoff_max);
    ceiling / 2 + ceiling.mul_f64(fastrand::f64() / 2.0)
}

/// How to put the token where it is read from: "set SLACK_APP_TOKEN to".
fn set_it(source: &SecretSource) -> String {
    match source {
        SecretSource::Env(name) => format!("set {name} to"),
        SecretSource::File(path) => format!("put in {}", path.display()),
    }
}

/// What to do about a refused token.
fn advice(code: &str, source: &SecretSource) -> String {
    let set = set_it(source);
    match code {
        "not_allowed_token_type" => format!(
            "Socket Mode needs the app-level token (xapp-…), not a bot or user token; {set} the \
             app's xapp-… token (Basic Information → App-Level Tokens)"
        ),
        "missing_scope" | "no_permission" => format!(
            "the app-level token lacks the connections:write scope; create one with it under \
             Basic Information → App-Level Tokens and {set} it"
        ),
        _ => format!(
            "check the token in {source}; {set} the app's xapp-… token (Basic Information → \
             App-Level Tokens, with the connections:write scope)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::conversation::scratch_inbound as inbound;

    /// The acknowledgement of the frame `frame`, as JSON.
    async fn ack(inbound: &Inbound, frame: serde_json::Value) -> Option<serde_json::Value> {
        let frame: SocketFrame = serde_json::from_value(frame).expect("a frame");
        acknowledgement(inbound, frame)
            .await
            .map(|ack| serde_json::to_value(ack).unwrap())
    }

    fn event(envelope_id: &str, event_id: &str) -> serde_json::Value {
        json!({
            "envelope_id": envelope_id,
            "type": "events_api",
            "accepts_response_payload": false,
            "retry_attempt": 0,
            "retry_reason": "",
            "payload": {
                "type": "event_callback",
                "event_id": event_id,
                "event": {
                    "type": "message",
                    "channel": "C0TEAM",
                    "user": "U0REPLIER",
                    "text": "a reply",
                    "ts": "1700000000.000200",
                    "thread_ts": "1700000000.000100",
                },
            },
        })
    }

    #[tokio::test]
    async fn an_event_that_cannot_be_handled_is_left_for_slack_to_deliver_again() {
        let (inbound, _dir) = inbound().await;
        assert_eq!(
            ack(&inbound, event("e1", "Ev1")).await,
            Some(json!({"envelope_id": "e1"}))
        );
        inbound.app().store.close().await;
        assert_eq!(ack(&inbound, event("e2", "Ev2")).await, None);
    }

    #[tokio::test]
    async fn envelopes_slack_would_never_send_are_acknowledged_without_an_answer() {
        let (inbound, _dir) = inbound().await;
        let command = json!({
            "envelope_id": "e1",
            "type": "slash_commands",
            "accepts_response_payload": true,
            "payload": {"command": "/insights", "text": "help"},
        });
        assert_eq!(
            ack(&inbound, command).await,
            Some(json!({"envelope_id": "e1"}))
        );
        let unknown = json!({"envelope_id": "e2", "type": "something_new", "payload": {}});
        assert_eq!(
            ack(&inbound, unknown).await,
            Some(json!({"envelope_id": "e2"}))
        );
        assert_eq!(ack(&inbound, json!({"type": "hello"})).await, None);
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_ceiling() {
        let options = SocketOptions {
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            ..SocketOptions::default()
        };
        for _ in 0..100 {
            let first = backoff(&options, 1);
            assert!(first >= Duration::from_millis(500) && first <= Duration::from_secs(1));
            let fourth = backoff(&options, 4);
            assert!(fourth >= Duration::from_secs(4) && fourth <= Duration::from_secs(8));
            let late = backoff(&options, 40);
            assert!(late >= Duration::from_secs(30) && late <= Duration::from_secs(60));
        }
    }

    #[test]
    fn refusals_say_what_to_set() {
        let env = SecretSource::Env("SLACK_APP_TOKEN".into());
        let wrong_type = SocketError::Refused {
            code: "not_allowed_token_type".into(),
            advice: advice("not_allowed_token_type", &env),
        };
        let text = wrong_type.to_string();
        assert!(text.contains("not_allowed_token_type"), "{text}");
        assert!(
            text.contains("set SLACK_APP_TOKEN to the app's xapp-"),
            "{text}"
        );
        let invalid = advice(
            "invalid_auth",
            &SecretSource::File("/run/secrets/app".into()),
        );
        assert!(invalid.contains("file /run/secrets/app"), "{invalid}");
        assert!(invalid.contains("put in /run/secrets/app"), "{invalid}");
        assert!(advice("missing_scope", &env).contains("connections:write"));
    }
}
