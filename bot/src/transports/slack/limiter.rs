//! Pacing posts to Slack: about one message a second per channel (a short burst allowed) under a
//! workspace-wide cap, so Slack rarely needs to answer 429 at all.
//!
//! Each bucket is kept as a "theoretical arrival time" (the generic cell rate algorithm): a post
//! may go at `t` when `t >= tat - tolerance`, and then moves `tat` on by one interval. A caller
//! reserves its slot under a lock and then sleeps until it without holding the lock, so waiting
//! costs nothing and callers are served in the order they asked. The channel's slot is taken
//! first and the workspace's only when the channel is ready, so one busy channel never holds
//! the workspace back for the others.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A rate: one event per `interval`, with up to `burst` at once after a quiet spell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Time between events at the sustained rate.
    pub interval: Duration,
    /// How many events may go back to back (at least 1).
    pub burst: u32,
}

impl Rate {
    /// `per_second` events a second, in bursts of up to `burst`.
    pub fn per_second(per_second: u32, burst: u32) -> Rate {
        Rate {
            interval: Duration::from_secs(1) / per_second.max(1),
            burst: burst.max(1),
        }
    }

    fn tolerance(&self) -> Duration {
        self.interval * (self.burst - 1)
    }
}

/// Channels not seen for a while are forgotten once the table grows past this.
const FORGET_AFTER_CHANNELS: usize = 1024;

/// Per-channel and workspace-wide pacing.
#[derive(Debug)]
pub(crate) struct Limiter {
    channel_rate: Rate,
    workspace_rate: Rate,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    workspace: Option<Instant>,
    channels: HashMap<String, Instant>,
}

impl Limiter {
    pub(crate) fn new(channel_rate: Rate, workspace_rate: Rate) -> Limiter {
        Limiter {
            channel_rate,
            workspace_rate,
            state: Mutex::new(State::default()),
        }
    }

    /// Waits until a message may be posted to `channel`, and counts it.
    pub(crate) async fn acquire(&self, channel: &str) {
        let channel_at = {
            let mut state = self.lock();
            let now = Instant::now();
            if state.channels.len() > FORGET_AFTER_CHANNELS {
                state.channels.retain(|_, tat| *tat > now);
            }
            let tat = state.channels.entry(channel.to_string()).or_insert(now);
            reserve(tat, now, self.channel_rate)
        };
        sleep_until(channel_at).await;

        let workspace_at = {
            let mut state = self.lock();
            let now = Instant::now();
            let tat = state.workspace.get_or_insert(now);
            let at = reserve(tat, now, self.workspace_rate);
            // A late start also moves the channel's next slot, so the channel keeps its spacing.
            if at > channel_at {
                let next = at + self.channel_rate.interval;
                if let Some(tat) = state.channels.get_mut(channel) {
                    *tat = (*tat).max(next);
                }
            }
            at
        };
        sleep_until(workspace_at).await;
    }

    /// Slack asked to wait `retry_after` before posting to `channel` again: later callers for
    /// the channel wait too.
    pub(crate) fn back_off(&self, channel: &str, retry_after: Duration) {
        let mut state = self.lock();
        let until = Instant::now() + retry_after + self.channel_rate.tolerance();
        let tat = state.channels.entry(channel.to_string()).or_insert(until);
        *tat = (*tat).max(until);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a table of instants: still valid after a panic elsewhere.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Sleeps until `at`, without yielding when it is already past.
async fn sleep_until(at: Instant) {
    if at > Instant::now() {
        tokio::time::sleep_until(at).await;
    }
}

/// Takes the earliest slot of a bucket at or after `now`, returning when it is.
fn reserve(tat: &mut Instant, now: Instant, rate: Rate) -> Instant {
    let earliest = tat
        .checked_sub(rate.tolerance())
        .map_or(now, |t| t.max(now));
    *tat = (*tat).max(earliest) + rate.interval;
    earliest
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn limiter(workspace_per_second: u32) -> Arc<Limiter> {
        Arc::new(Limiter::new(
            Rate::per_second(1, 3),
            Rate::per_second(workspace_per_second, workspace_per_second),
        ))
    }

    /// When each acquisition completes, in seconds since the start.
    async fn times(limiter: Arc<Limiter>, channels: Vec<String>) -> Vec<f64> {
        let start = Instant::now();
        let tasks: Vec<_> = channels
            .into_iter()
            .map(|c| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    limiter.acquire(&c).await;
                    (Instant::now() - start).as_secs_f64()
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn one_channel_bursts_then_goes_once_a_second() {
        let at = times(limiter(20), vec!["C1".to_string(); 6]).await;
        assert_eq!(at, vec![0.0, 0.0, 0.0, 1.0, 2.0, 3.0]);
    }

    #[tokio::test(start_paused = true)]
    async fn many_channels_share_the_workspace_cap() {
        let channels: Vec<String> = (0..50).map(|i| format!("C{i}")).collect();
        let at = times(limiter(20), channels).await;
        // 20 at once, then one every 50 ms.
        assert!(at[..20].iter().all(|t| *t == 0.0), "{at:?}");
        let last = at.iter().cloned().fold(0.0, f64::max);
        assert!((last - 1.5).abs() < 1e-6, "{last}");
        let mut sorted = at.clone();
        sorted.sort_by(f64::total_cmp);
        for pair in sorted[20..].windows(2) {
            assert!(pair[1] - pair[0] >= 0.05 - 1e-6, "{pair:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_channel_does_not_hold_up_the_others() {
        let limiter = limiter(20);
        let mut channels = vec!["BUSY".to_string(); 10];
        channels.push("QUIET".to_string());
        let at = times(limiter, channels).await;
        assert_eq!(at[10], 0.0);
        assert_eq!(at[9], 7.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_spell_restores_the_burst() {
        let limiter = limiter(20);
        times(limiter.clone(), vec!["C1".to_string(); 3]).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let at = times(limiter, vec!["C1".to_string(); 3]).await;
        assert_eq!(at, vec![0.0, 0.0, 0.0]);
    }

    #[tokio::test(start_paused = true)]
    async fn back_off_holds_the_channel_only() {
        let limiter = limiter(20);
        limiter.back_off("C1", Duration::from_secs(30));
        let at = times(limiter.clone(), vec!["C1".to_string(), "C2".to_string()]).await;
        assert_eq!(at, vec![30.0, 0.0]);
    }
}
