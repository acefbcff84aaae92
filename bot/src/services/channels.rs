//! Where messages go out: the one trait the services need from a chat platform, and the set of
//! adapters a running service has. Transports implement [`Adapter`]; services only see this
//! module, so none of them depends on a platform.
//!
//! An adapter renders the neutral [`Message`] in its platform's markup, keeps inside the
//! platform's limits, and classifies failures as transient (retry later, perhaps after
//! `Retry-After`) or permanent (unknown channel, bot not in channel, revoked token: stop).
//! Each digest delivery carries a [`Marker`]; after a crash between sending and recording, the
//! delivery worker asks [`Adapter::find_sent`] before sending again, so nothing is posted twice,
//! and lets the adapter finish what the earlier attempt may have left unsent
//! ([`Adapter::complete`]: a chart uploaded after its message).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use flywheel_insights::address::{ChannelAddress, Platform};
use flywheel_insights::message::Message;
use futures::future::BoxFuture;

/// Identifies one delivery on the platform, so it can be found again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Marker {
    /// The delivery's id in the store.
    pub delivery_id: i64,
}

/// The longest key [`Marker::nonce`] makes: Discord refuses a nonce over 25 characters.
pub const MAX_NONCE: usize = 25;

impl Marker {
    /// The marker as a readable string, `flywheel-delivery-42`: Slack message metadata, a line
    /// in a console log. It grows with the id, so it is not for length-bound fields such as
    /// Discord's nonce ([`Marker::nonce`]).
    pub fn key(&self) -> String {
        format!("flywheel-delivery-{}", self.delivery_id)
    }

    /// A short key for part `part` of the delivery (a message split in several), unique per
    /// delivery and part: `fd` and the id in base 36, then `.` and the part. Every `i64` id and
    /// `u16` part fit in [`MAX_NONCE`] characters (`fd` + 13 + `.` + 5 = 21).
    pub fn nonce(&self, part: u16) -> String {
        format!("fd{}.{part}", base36(self.delivery_id))
    }
}

/// `n` in base 36 (digits then lowercase letters), with a `-` when negative.
pub fn base36(n: i64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rest = n.unsigned_abs();
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(rest % 36) as usize]);
        rest /= 36;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A message the platform accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The platform's id for the message (Slack `ts`, Discord message id, console line).
    pub message_ref: String,
}

/// Why sending failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again: rate limited, a timeout, a 5xx, a dropped connection.
    #[error("{reason}")]
    Transient {
        /// What happened, for the log and the delivery row. Never a secret.
        reason: String,
        /// How long the platform asked us to wait (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// Will never work as things stand: unknown channel, not in channel, revoked token.
    #[error("{reason}")]
    Permanent {
        /// What happened and what to do about it.
        reason: String,
    },
}

impl SendError {
    /// A transient failure with no requested wait.
    pub fn transient(reason: impl Into<String>) -> SendError {
        SendError::Transient {
            reason: reason.into(),
            retry_after: None,
        }
    }

    /// A permanent failure.
    pub fn permanent(reason: impl Into<String>) -> SendError {
        SendError::Permanent {
            reason: reason.into(),
        }
    }
}

/// What the core needs from a chat platform.
pub trait Adapter: Send + Sync + 'static {
    /// The platform this adapter speaks to.
    fn platform(&self) -> Platform;

    /// Posts `message` to `channel`, marked with `marker` when it is a delivery.
    fn send<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        message: &'a Message,
        marker: Option<&'a Marker>,
    ) -> BoxFuture<'a, Result<Sent, SendError>>;

    /// Posts `message` in the thread under the message `thread` of `channel`.
    fn reply<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        thread: &'a str,
        message: &'a Message,
    ) -> BoxFuture<'a, Result<Sent, SendError>>;

    /// Posts `message` in the thread under the message `thread` of `channel`, marked with
    /// `marker` so that [`Adapter::find_sent_in_thread`] finds it again. Adapters that cannot
    /// mark a reply post it unmarked.
    fn reply_marked<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        thread: &'a str,
        message: &'a Message,
        marker: &'a Marker,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        let _ = marker;
        self.reply(channel, thread, message)
    }

    /// Whether a reply marked `marker` was already posted in the thread under the message
    /// `thread` of `channel`, and if so which. Adapters that cannot tell say no.
    fn find_sent_in_thread<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        thread: &'a str,
        marker: &'a Marker,
    ) -> BoxFuture<'a, Result<Option<Sent>, SendError>> {
        let _ = (channel, thread, marker);
        Box::pin(async { Ok(None) })
    }

    /// Marks the message `message` of `channel` (in the thread under `thread`, when given) as
    /// kept, where the platform has reactions: a ✅ under a thread reply stored as a comment,
    /// so the person sees it counted. Adapters without reactions do nothing.
    fn acknowledge<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        thread: Option<&'a str>,
        message: &'a str,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        let _ = (channel, thread, message);
        Box::pin(async { Ok(()) })
    }

    /// Whether a message marked `marker` was already posted to `channel`, and if so which.
    fn find_sent<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        marker: &'a Marker,
    ) -> BoxFuture<'a, Result<Option<Sent>, SendError>>;

    /// Finishes a delivery [`find_sent`](Adapter::find_sent) found already posted as `sent`:
    /// what a platform takes in several calls (Slack: the message, then each chart as a file)
    /// may have been cut short after the first. Whatever is already there is not sent again.
    fn complete<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        sent: &'a Sent,
        message: &'a Message,
        marker: &'a Marker,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        let _ = (channel, sent, message, marker);
        Box::pin(async { Ok(()) })
    }

    /// A link that opens the message `message_ref` of `channel`, where the platform has one.
    fn link<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        message_ref: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, SendError>> {
        let _ = (channel, message_ref);
        Box::pin(async { Ok(None) })
    }
}

/// The adapters of a running service, one per platform.
#[derive(Clone, Default)]
pub struct Adapters {
    by_platform: HashMap<Platform, Arc<dyn Adapter>>,
}

impl fmt::Debug for Adapters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut platforms: Vec<_> = self.by_platform.keys().collect();
        platforms.sort();
        f.debug_struct("Adapters")
            .field("platforms", &platforms)
            .finish()
    }
}

impl Adapters {
    /// No adapters.
    pub fn new() -> Adapters {
        Adapters::default()
    }

    /// Adds (or replaces) the adapter for its platform.
    pub fn with(mut self, adapter: Arc<dyn Adapter>) -> Adapters {
        self.by_platform.insert(adapter.platform(), adapter);
        self
    }

    /// The adapter for `platform`, if one is running.
    pub fn get(&self, platform: Platform) -> Option<&Arc<dyn Adapter>> {
        self.by_platform.get(&platform)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_short_and_unique_for_every_id_and_part() {
        for id in [0, 1, 35, 36, 9_999_999, 10_000_000, i64::MAX, i64::MIN] {
            for part in [0, 1, 9, u16::MAX] {
                let nonce = Marker { delivery_id: id }.nonce(part);
                assert!(nonce.chars().count() <= MAX_NONCE, "{nonce}");
            }
        }
        assert_eq!(
            Marker {
                delivery_id: 10_000_000
            }
            .nonce(0),
            "fd5yc1s.0"
        );
        assert_eq!(base36(35), "z");
        assert_eq!(base36(-36), "-10");
        let mut seen = std::collections::HashSet::new();
        for id in (0..2000).chain(9_999_000..10_001_000) {
            for part in 0..12 {
                assert!(seen.insert(Marker { delivery_id: id }.nonce(part)));
            }
        }
    }
}
