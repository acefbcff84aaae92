//! Bounded work: how many events are handled at once, how many may wait, and what is still
//! in hand when the service stops.
//!
//! Every event [`Inbound::respond`](super::Inbound::respond) accepts takes a [`Ticket`]: at
//! most `max_commands` are handled at once, at most `queued` more wait their turn, and past
//! that an event is answered "busy, try again" at once rather than piling up until the store's
//! connections run out. Tickets are registered by id until their answer is delivered, so a
//! stopping service can wait for them ([`Work::drain`]) and name those it could not answer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::event::Event;

/// What is said when there is no room for another event.
pub const BUSY: &str = "Flywheel is busy right now; please try again in a moment.";

/// The limits and the events in hand.
#[derive(Debug)]
pub struct Work {
    running: Arc<Semaphore>,
    /// Events admitted and not yet finished: waiting, running or delivering their answer.
    in_hand: Mutex<BTreeMap<u64, String>>,
    capacity: usize,
    next: AtomicU64,
    finished: Notify,
}

impl Work {
    /// At most `running` events handled at once, and `queued` more waiting.
    pub fn new(running: usize, queued: usize) -> Arc<Work> {
        let running = running.max(1);
        Arc::new(Work {
            running: Arc::new(Semaphore::new(running)),
            in_hand: Mutex::new(BTreeMap::new()),
            capacity: running.saturating_add(queued),
            next: AtomicU64::new(0),
            finished: Notify::new(),
        })
    }

    /// Admits `event`, or `None` when as many events as allowed are already in hand.
    pub fn admit(self: &Arc<Work>, event: &Event) -> Option<Ticket> {
        let mut in_hand = self.in_hand.lock().expect("never poisoned");
        if in_hand.len() >= self.capacity {
            return None;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        in_hand.insert(id, describe(event));
        Some(Ticket {
            id,
            work: self.clone(),
        })
    }

    /// Events in hand now.
    pub fn in_hand(&self) -> usize {
        self.in_hand.lock().expect("never poisoned").len()
    }

    /// Waits until every event in hand is finished, for at most `within`; then logs each one
    /// still in hand, by id, and returns how many there were.
    pub async fn drain(&self, within: Duration) -> usize {
        let all_done = async {
            loop {
                let finished = self.finished.notified();
                if self.in_hand() == 0 {
                    return;
                }
                finished.await;
            }
        };
        if tokio::time::timeout(within, all_done).await.is_ok() {
            return 0;
        }
        let in_hand = self.in_hand.lock().expect("never poisoned");
        for (id, what) in in_hand.iter() {
            tracing::error!(
                event = id,
                "not answered before the service stopped: {what}"
            );
        }
        in_hand.len()
    }
}

/// An admitted event's place: its turn to run ([`Ticket::turn`]), held until its answer is
/// delivered.
#[derive(Debug)]
pub struct Ticket {
    id: u64,
    work: Arc<Work>,
}

impl Ticket {
    /// Waits for a turn among the events handled at once.
    pub async fn turn(&self) -> OwnedSemaphorePermit {
        self.work
            .running
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.work
            .in_hand
            .lock()
            .expect("never poisoned")
            .remove(&self.id);
        self.work.finished.notify_waiters();
    }
}

/// How an event is named in the log: what it is and who sent it, never what they wrote.
fn describe(event: &Event) -> String {
    match event {
        Event::Command(typed) => {
            let name: Vec<&str> = typed.text.split_whitespace().take(2).collect();
            let name = name.join(" ");
            let name: String = name.chars().take(40).collect();
            format!("command {name:?} from {} in {}", typed.user, typed.channel)
        }
        Event::Button(pressed) => format!("button from {} in {}", pressed.user, pressed.channel),
        Event::Save(save) => format!("save of message {} by {}", save.message, save.user),
        Event::ThreadReply(reply) => {
            format!("thread reply {} by {}", reply.message, reply.user)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::CommandTyped;

    fn ask() -> Event {
        Event::Command(CommandTyped {
            user: "console:ana".parse().unwrap(),
            channel: "console:growth".parse().unwrap(),
            text: "/insights ask refunds for alice@example.com".into(),
            roles: Vec::new(),
        })
    }

    #[test]
    fn past_the_running_and_queued_limits_nothing_more_is_admitted() {
        let work = Work::new(2, 1);
        let tickets: Vec<Ticket> = (0..3).map(|_| work.admit(&ask()).unwrap()).collect();
        assert!(work.admit(&ask()).is_none());
        drop(tickets);
        assert_eq!(work.in_hand(), 0);
        assert!(work.admit(&ask()).is_some());
    }

    #[test]
    fn the_log_names_the_command_not_what_was_asked() {
        let named = describe(&ask());
        assert!(named.contains("/insights ask"), "{named}");
        assert!(!named.contains("alice"), "{named}");
    }

    #[tokio::test]
    async fn turns_are_limited_to_the_running_count() {
        let work = Work::new(1, 5);
        let first = work.admit(&ask()).unwrap();
        let second = work.admit(&ask()).unwrap();
        let held = first.turn().await;
        assert!(work.running.try_acquire().is_err(), "one turn at a time");
        drop(held);
        let _turn = second.turn().await;
    }

    #[tokio::test(start_paused = true)]
    async fn drain_waits_for_tickets_and_counts_those_left() {
        let work = Work::new(1, 5);
        let ticket = work.admit(&ask()).unwrap();
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            drop(ticket);
        });
        assert_eq!(work.drain(Duration::from_secs(5)).await, 0);
        release.await.unwrap();
        let _stuck = work.admit(&ask()).unwrap();
        assert_eq!(work.drain(Duration::from_secs(2)).await, 1);
    }
}
