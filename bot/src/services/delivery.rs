//! Delivery workers, as one step: [`Worker::step`] leases due deliveries from the outbox, sends
//! each through its channel's adapter and records the outcome. A loop in `flywheel serve` calls
//! it; tests call it directly.
//!
//! - Sent: the platform's message id is recorded.
//! - Transient failure (rate limit, timeout, 5xx): retried with exponential backoff and jitter,
//!   never sooner than the platform's `Retry-After`, at most [`MAX_ATTEMPTS`] times in all.
//! - Permanent failure (unknown channel, bot not in channel, revoked token): failed at once with
//!   the reason stored and logged.
//! - In doubt (a previous worker's lease expired while sending): the adapter is asked whether
//!   the marked message is already there before anything is sent again, and if it is, to
//!   finish what may be missing (a chart after it) without posting the message twice.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use flywheel_insights::address::ChannelAddress;
use flywheel_insights::message::Message;
use flywheel_storage::audit::NewAuditEvent;
use flywheel_storage::deliveries::{ClaimedDelivery, Outbound};
use futures::StreamExt as _;

use crate::app::App;
use crate::services::channels::{Adapters, Marker, SendError, Sent};

/// Attempts before a delivery that keeps failing transiently is given up.
pub const MAX_ATTEMPTS: u32 = 8;
/// The first retry waits about this long; each further one twice as long.
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
/// No retry waits longer than this (unless the platform asks for more).
const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);
/// How long a claimed delivery stays leased to its worker: long enough to send one batch under
/// the platforms' rate limits, short enough that a crashed worker's deliveries resume soon.
pub const LEASE: Duration = Duration::from_secs(30);
/// Deliveries claimed per step: as many as are sent at once, so none waits out its lease
/// behind the others.
const BATCH: usize = CONCURRENCY;
/// Deliveries sent at once within a step (adapters pace each channel themselves).
const CONCURRENCY: usize = 16;

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepOutcome {
    /// Deliveries leased.
    pub claimed: usize,
    /// Sent now.
    pub sent: usize,
    /// Found already sent by an earlier worker, recorded without sending again.
    pub found: usize,
    /// To be retried later.
    pub retried: usize,
    /// Given up.
    pub failed: usize,
    /// The lease was lost before the outcome could be recorded (another worker took over).
    pub lost: usize,
}

impl StepOutcome {
    fn add(&mut self, other: StepOutcome) {
        self.claimed += other.claimed;
        self.sent += other.sent;
        self.found += other.found;
        self.retried += other.retried;
        self.failed += other.failed;
        self.lost += other.lost;
    }
}

/// A delivery worker.
#[derive(Debug, Clone)]
pub struct Worker {
    app: App,
    adapters: Adapters,
    owner: Arc<str>,
}

impl Worker {
    /// A worker called `owner` (unique per process and worker: it holds leases by that name).
    pub fn new(app: App, adapters: Adapters, owner: impl Into<Arc<str>>) -> Worker {
        Worker {
            app,
            adapters,
            owner: owner.into(),
        }
    }

    /// Leases due deliveries and handles each once.
    pub async fn step(&self) -> anyhow::Result<StepOutcome> {
        let now = self.app.clock.now();
        let claimed = self
            .app
            .store
            .claim_deliveries(&self.owner, now, LEASE, BATCH)
            .await
            .context("cannot claim deliveries")?;
        let mut outcome = StepOutcome {
            claimed: claimed.len(),
            ..StepOutcome::default()
        };
        let mut results = futures::stream::iter(claimed)
            .map(|delivery| self.deliver(delivery))
            .buffer_unordered(CONCURRENCY);
        while let Some(result) = results.next().await {
            outcome.add(result?);
        }
        for (name, n) in [
            ("sent", outcome.sent),
            ("found", outcome.found),
            ("retried", outcome.retried),
            ("failed", outcome.failed),
            ("lost", outcome.lost),
        ] {
            if n > 0 {
                metrics::counter!(crate::telemetry::DELIVERIES, "outcome" => name)
                    .increment(n as u64);
            }
        }
        Ok(outcome)
    }

    /// Steps until a step claims nothing. For `flywheel digest send` and tests: deliveries
    /// waiting for a retry stay queued for `flywheel serve`.
    pub async fn drain(&self) -> anyhow::Result<StepOutcome> {
        let mut total = StepOutcome::default();
        loop {
            let step = self.step().await?;
            if step.claimed == 0 {
                return Ok(total);
            }
            total.add(step);
        }
    }

    async fn deliver(&self, delivery: ClaimedDelivery) -> anyhow::Result<StepOutcome> {
        let result = self.attempt(&delivery).await;
        let store = &self.app.store;
        let now = self.app.clock.now();
        let mut outcome = StepOutcome::default();
        let recorded = match result {
            Ok((sent, found)) => {
                if found {
                    outcome.found = 1;
                } else {
                    outcome.sent = 1;
                }
                store
                    .delivery_sent(delivery.id, &self.owner, &sent.message_ref, now)
                    .await?
            }
            Err(SendError::Transient {
                reason,
                retry_after,
            }) if delivery.attempts < MAX_ATTEMPTS => {
                let wait = backoff(delivery.attempts, retry_after);
                tracing::warn!(
                    delivery = delivery.id,
                    channel = %delivery.channel,
                    attempt = delivery.attempts,
                    retry_in_s = wait.as_secs(),
                    "delivery failed, will retry: {reason}"
                );
                outcome.retried = 1;
                let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
                store
                    .delivery_retry(delivery.id, &self.owner, next, &reason)
                    .await?
            }
            Err(error) => {
                let reason = match error {
                    SendError::Transient { reason, .. } => {
                        format!("gave up after {} attempts: {reason}", delivery.attempts)
                    }
                    SendError::Permanent { reason } => reason,
                };
                tracing::error!(
                    delivery = delivery.id,
                    channel = %delivery.channel,
                    "delivery failed for good: {reason}"
                );
                outcome.failed = 1;
                store
                    .delivery_failed(delivery.id, &self.owner, &reason, now)
                    .await?
            }
        };
        if recorded && (outcome.sent + outcome.found + outcome.failed) > 0 {
            self.audit(&delivery, &outcome).await;
        }
        if !recorded {
            tracing::warn!(
                delivery = delivery.id,
                "lease lost before the outcome was recorded"
            );
            outcome = StepOutcome {
                lost: 1,
                ..StepOutcome::default()
            };
        }
        Ok(outcome)
    }

    /// Appends `digest.sent` or `alert.sent` (`….failed`) to the audit log for a settled
    /// delivery; a failure to write it is logged, never fatal.
    async fn audit(&self, delivery: &ClaimedDelivery, outcome: &StepOutcome) {
        let (what, period_start) = match delivery.outbound {
            Outbound::Digest { period_start, .. } => ("digest", Some(period_start.to_rfc3339())),
            Outbound::Alert { .. } => ("alert", None),
        };
        let action = format!(
            "{what}.{}",
            if outcome.failed > 0 { "failed" } else { "sent" }
        );
        let event = NewAuditEvent {
            at: self.app.clock.now(),
            actor: "scheduler".into(),
            channel: Some(delivery.channel.clone()),
            action: action.clone(),
            subject: Some(delivery.outbound.subject()),
            details: serde_json::json!({
                "delivery": delivery.id,
                "team": delivery.team,
                "period_start": period_start,
                "attempts": delivery.attempts,
                "found_already_sent": outcome.found > 0,
            }),
        };
        if let Err(e) = self.app.store.audit(&event).await {
            tracing::error!(action, "cannot write the audit log: {e}");
        }
    }

    /// Sends one delivery, or finds it already sent. `Ok((sent, true))` when found.
    async fn attempt(&self, delivery: &ClaimedDelivery) -> Result<(Sent, bool), SendError> {
        let channel: ChannelAddress = delivery
            .channel
            .parse()
            .map_err(|e| SendError::permanent(format!("{}: {e}", delivery.channel)))?;
        let adapter = self
            .adapters
            .get(channel.platform)
            .ok_or_else(|| SendError::permanent(no_adapter(&self.app.config, &channel)))?;
        let message: Message = serde_json::from_value(delivery.message.clone())
            .map_err(|e| SendError::permanent(format!("the stored message is unreadable: {e}")))?;
        let marker = Marker {
            delivery_id: delivery.id,
        };
        // A worker that lost its lease mid-send, or an attempt that failed after the platform
        // may have taken the message (a timeout, a dropped connection), leaves it unknown
        // whether the message is there: look before posting again.
        if delivery.in_doubt || delivery.attempts > 1 {
            let found = match &delivery.thread {
                Some(thread) => adapter.find_sent_in_thread(&channel, thread, &marker).await,
                None => adapter.find_sent(&channel, &marker).await,
            };
            match found {
                Ok(Some(sent)) => {
                    match adapter.complete(&channel, &sent, &message, &marker).await {
                        Ok(()) => {}
                        Err(error @ SendError::Transient { .. }) => return Err(error),
                        Err(SendError::Permanent { reason }) => tracing::warn!(
                            delivery = delivery.id,
                            channel = %delivery.channel,
                            "the message was sent, but not all of it: {reason}"
                        ),
                    }
                    return Ok((sent, true));
                }
                Ok(None) => {}
                Err(error @ SendError::Transient { .. }) => return Err(error),
                Err(SendError::Permanent { reason }) => tracing::warn!(
                    delivery = delivery.id,
                    channel = %delivery.channel,
                    "cannot look for an earlier copy, sending: {reason}"
                ),
            }
        }
        match &delivery.thread {
            Some(thread) => {
                adapter
                    .reply_marked(&channel, thread, &message, &marker)
                    .await
            }
            None => adapter.send(&channel, &message, Some(&marker)).await,
        }
        .map(|sent| (sent, false))
    }
}

/// Why `channel` has no adapter to send through, naming what would give it one.
fn no_adapter(config: &flywheel_config::Config, channel: &ChannelAddress) -> String {
    use flywheel_insights::address::Platform;
    let (secret, source) = match channel.platform {
        Platform::Slack => ("bot token", &config.secrets.sources.slack_bot_token),
        Platform::Discord => ("bot token", &config.secrets.sources.discord_bot_token),
        // The console always has an adapter.
        Platform::Console => return format!("{channel}: the console adapter is not running"),
    };
    format!(
        "{channel} is a {} channel, but no {} adapter is running: its {secret} is not set \
         (looked in {source}); set it and restart, or remove the channel from the team",
        channel.platform, channel.platform
    )
}

/// How long to wait before attempt `attempts + 1`: 30 s doubling per attempt up to an hour,
/// ±20% jitter so that many deliveries failing together do not retry together, and never less
/// than the platform asked for.
pub fn backoff(attempts: u32, retry_after: Option<Duration>) -> Duration {
    let exponential = FIRST_BACKOFF
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let jitter = 0.8 + fastrand::f64() * 0.4;
    let wait = exponential.mul_f64(jitter);
    match retry_after {
        Some(asked) => wait.max(asked),
        None => wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_caps_and_honours_retry_after() {
        for _ in 0..100 {
            let first = backoff(1, None);
            assert!(first >= Duration::from_secs(24) && first <= Duration::from_secs(36));
            let third = backoff(3, None);
            assert!(third >= Duration::from_secs(96) && third <= Duration::from_secs(144));
            assert!(backoff(30, None) <= MAX_BACKOFF.mul_f64(1.2));
            assert!(backoff(1, Some(Duration::from_secs(600))) >= Duration::from_secs(600));
        }
    }
}
