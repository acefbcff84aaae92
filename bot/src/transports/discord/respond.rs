//! Answers on Discord. An interaction is acknowledged once, within three seconds, with an
//! interaction response (the JSON an HTTP interaction is answered with, or what is posted to
//! `/interactions/{id}/{token}/callback` for one from the gateway):
//!
//! - an answer ready in time is the response itself (type 4), ephemeral unless shared;
//! - otherwise a command is deferred (type 5, Discord shows "thinking…" to the person only),
//!   and a button is acknowledged without a change (type 6); the answer then follows through
//!   the interaction's webhook: it replaces the "thinking…" message when it is for the asker,
//!   or is posted for the channel, the "thinking…" message then removed.
//!
//! The token an answer follows with is valid for 15 minutes, far longer than any answer takes.
//! A follow-up waits until the acknowledgement is out ([`DiscordResponder::acknowledged`]),
//! since Discord refuses one for an interaction it has not seen answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Notify;

use super::render;
use super::rest::Rest;
use crate::conversation::{Acknowledgement, Audience, Reply, Responder};

/// Interaction response types.
const PONG: u8 = 1;
const MESSAGE: u8 = 4;
const DEFERRED_MESSAGE: u8 = 5;
const DEFERRED_UPDATE: u8 = 6;
/// Autocomplete suggestions.
pub const AUTOCOMPLETE_RESULT: u8 = 8;
/// The message flag that shows a message only to the person who asked.
const EPHEMERAL: u64 = 1 << 6;
/// Discord's code for a webhook (an interaction's token) it does not know (yet).
const UNKNOWN_WEBHOOK: i64 = 10_015;
/// How long a follow-up waits for the acknowledgement to be out.
const ACK_WAIT: Duration = Duration::from_secs(10);

/// The answer to a PING.
pub fn pong() -> Value {
    json!({"type": PONG})
}

/// What was interacted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// A slash command or a message command.
    Command,
    /// A button on a message.
    Button,
}

/// How Discord hears back about one interaction.
#[derive(Clone)]
pub struct DiscordResponder {
    rest: Arc<Rest>,
    application_id: u64,
    token: String,
    surface: Surface,
    /// Whether the acknowledgement deferred a command, so the first answer edits "thinking…".
    deferred: Arc<AtomicBool>,
    /// Set once the acknowledgement reached Discord.
    acked: Arc<(AtomicBool, Notify)>,
}

impl std::fmt::Debug for DiscordResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token lets anyone answer in the bot's name: never logged.
        f.debug_struct("DiscordResponder")
            .field("surface", &self.surface)
            .finish_non_exhaustive()
    }
}

impl DiscordResponder {
    /// For the interaction with `token` of the application `application_id`.
    pub fn new(rest: Arc<Rest>, application_id: u64, token: String, surface: Surface) -> Self {
        DiscordResponder {
            rest,
            application_id,
            token,
            surface,
            deferred: Arc::new(AtomicBool::new(false)),
            acked: Arc::new((AtomicBool::new(false), Notify::new())),
        }
    }

    /// Says that the acknowledgement is out: answers that follow may go.
    pub fn acknowledged(&self) {
        self.acked.0.store(true, Ordering::SeqCst);
        self.acked.1.notify_waiters();
    }

    async fn wait_for_ack(&self) {
        let (done, notify) = &*self.acked;
        let waited = tokio::time::timeout(ACK_WAIT, async {
            loop {
                let notified = notify.notified();
                if done.load(Ordering::SeqCst) {
                    return;
                }
                notified.await;
            }
        })
        .await;
        if waited.is_err() {
            tracing::warn!("a Discord answer follows an acknowledgement that never went out");
        }
    }

    fn webhook(&self) -> String {
        format!("/webhooks/{}/{}", self.application_id, self.token)
    }
}

/// The message of `reply` as an interaction response or webhook takes it: the first part of
/// its rendering (an answer over 10 embeds is cut to its first message).
pub fn message_data(reply: &Reply) -> Value {
    let parts = render::render(&reply.message);
    let mut data = parts
        .into_iter()
        .next()
        .map(|p| p.body())
        .unwrap_or_else(|| json!({"content": "…"}));
    if reply.audience == Audience::Asker {
        data["flags"] = json!(EPHEMERAL);
    }
    data
}

impl Responder for DiscordResponder {
    /// The interaction response.
    type Ack = Value;

    fn acknowledge(&self, acknowledgement: Acknowledgement<'_>) -> Value {
        match (acknowledgement, self.surface) {
            (Acknowledgement::Answer(reply), _) => {
                json!({"type": MESSAGE, "data": message_data(reply)})
            }
            (Acknowledgement::Working(_) | Acknowledgement::Quiet, Surface::Command) => {
                self.deferred.store(true, Ordering::SeqCst);
                json!({"type": DEFERRED_MESSAGE, "data": {"flags": EPHEMERAL}})
            }
            (Acknowledgement::Working(_) | Acknowledgement::Quiet, Surface::Button) => {
                json!({"type": DEFERRED_UPDATE})
            }
        }
    }

    async fn follow_up(&self, reply: &Reply) {
        self.wait_for_ack().await;
        let body = message_data(reply);
        let original = format!("{}/messages/@original", self.webhook());
        let route = format!("webhook {}", self.application_id);
        let result = if self.deferred.swap(false, Ordering::SeqCst) {
            match reply.audience {
                // "Thinking…" was only shown to the asker: it becomes the answer.
                Audience::Asker => self.rest.patch(&route, &original, &body).await.map(|_| ()),
                Audience::Channel => {
                    let posted = self.rest.post(&route, &self.webhook(), &body).await;
                    if posted.is_ok()
                        && let Err(e) = self.rest.delete(&route, &original).await
                    {
                        tracing::debug!("cannot remove Discord's thinking message: {e}");
                    }
                    posted.map(|_| ())
                }
            }
        } else {
            let mut tries = 0;
            loop {
                tries += 1;
                match self.rest.post(&route, &self.webhook(), &body).await {
                    // An answer given as an HTTP response may not have reached Discord's
                    // bookkeeping yet: the webhook exists a moment later.
                    Err(e) if e.code == Some(UNKNOWN_WEBHOOK) && tries < 5 => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    other => break other.map(|_| ()),
                }
            }
        };
        if let Err(e) = result {
            tracing::warn!("cannot post an answer on Discord: {e}");
        }
    }
}
