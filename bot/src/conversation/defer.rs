//! Answer within the deadline, or acknowledge and follow up: one helper for every platform.
//!
//! Chat platforms want an event acknowledged quickly (within three seconds), while
//! a question over many insights can take longer. [`Inbound::respond`] handles the event in
//! its own task and waits up to the deadline: an answer ready in time is the acknowledgement
//! itself; otherwise the platform is acknowledged at once ("Working on it…" for a typed
//! command) and the answer follows when it is ready. A transport only says how its platform is
//! acknowledged and how an answer follows (a [`Responder`]): an HTTP response body and a
//! follow-up URL or webhook, a frame on a socket, a line on a terminal.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use flywheel_insights::message::Message;
use tokio::sync::oneshot;

use super::Inbound;
use super::event::Event;
use super::reply::{HandlerError, Reply, finish};

/// How long an event may take before the platform is acknowledged without its answer (chat
/// platforms wait three seconds).
pub const ANSWER_WITHIN: Duration = Duration::from_millis(2500);
/// What a typed command is acknowledged with when its answer is not ready in time.
pub const WORKING_ON_IT: &str = "Working on it…";
/// What is said when handling stopped without an answer (it panicked).
const STOPPED: &str = "Sorry, something went wrong on our side. Please try again in a moment.";

/// What a platform is acknowledged with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Acknowledgement<'a> {
    /// The answer, ready in time.
    Answer(&'a Reply),
    /// A notice that the answer is coming, which follows.
    Working(&'a Reply),
    /// Nothing to show: the answer follows, or there is none.
    Quiet,
}

/// How one platform acknowledges an event and delivers an answer that follows.
pub trait Responder: Send + Sync + 'static {
    /// What the platform is acknowledged with: an HTTP response body, a Socket Mode payload,
    /// nothing at all.
    type Ack: Send + 'static;

    /// The platform's acknowledgement.
    fn acknowledge(&self, acknowledgement: Acknowledgement<'_>) -> Self::Ack;

    /// Delivers an answer that was not part of the acknowledgement. Failures are logged.
    fn follow_up(&self, reply: &Reply) -> impl Future<Output = ()> + Send;

    /// Whether the platform shows an answer only when it follows, even one ready in time
    /// (the answer to a button, on some platforms): then every answer also follows.
    fn shows_only_follow_ups(&self) -> bool {
        false
    }
}

impl Inbound {
    /// Handles `event`, acknowledging it through `responder` within the deadline: with its
    /// answer when ready in time, else without, the answer following when ready.
    ///
    /// Past the limits of [`Work`](super::Work) the event is answered [`BUSY`](super::BUSY)
    /// at once, untouched.
    pub async fn respond<R: Responder>(&self, event: Event, responder: R) -> R::Ack {
        let Some(ticket) = self.work.admit(&event) else {
            tracing::warn!(
                in_hand = self.work.in_hand(),
                "too many events in hand; answering busy"
            );
            metrics::counter!(crate::telemetry::COMMANDS_BUSY).increment(1);
            let busy = Reply::private(Message::text(super::BUSY));
            return responder.acknowledge(Acknowledgement::Answer(&busy));
        };
        let deadline = self.deadline(&event);
        let working = matches!(event, Event::Command(_))
            .then(|| Reply::private(Message::text(WORKING_ON_IT)));
        let responder = Arc::new(responder);
        let waits = deadline != Some(Duration::ZERO);
        let (answer_tx, mut answer_rx) = oneshot::channel::<Option<Reply>>();
        let answer_tx = waits.then_some(answer_tx);
        let inbound = self.clone();
        let follower = responder.clone();
        let measured = match &event {
            Event::Command(typed) => Some((
                typed.user.platform.to_string(),
                crate::telemetry::command_label(&typed.text),
            )),
            _ => None,
        };
        let handling = async move {
            let turn = ticket.turn().await;
            let started = std::time::Instant::now();
            let reply = match inbound.dispatch(event).await {
                Ok(reply) => reply,
                Err(e) => Some(finish(Err(HandlerError::Internal(e)))),
            };
            drop(turn);
            if let Some((platform, command)) = measured {
                metrics::histogram!(
                    crate::telemetry::COMMAND_SECONDS,
                    "platform" => platform,
                    "command" => command
                )
                .record(started.elapsed().as_secs_f64());
            }
            let late = match answer_tx {
                Some(tx) if follower.shows_only_follow_ups() => {
                    if let Some(reply) = &reply {
                        follower.follow_up(reply).await;
                    }
                    let _ = tx.send(reply);
                    None
                }
                // Refused once the deadline has passed: the acknowledgement went without it.
                Some(tx) => tx.send(reply).err().flatten(),
                None => reply,
            };
            if let Some(reply) = late {
                follower.follow_up(&reply).await;
            }
            drop(ticket);
        };
        // The answer that follows is logged within the request's span.
        tokio::spawn(tracing::Instrument::in_current_span(handling));
        let answered = match deadline {
            _ if !waits => None,
            None => Some((&mut answer_rx).await),
            Some(within) => match tokio::time::timeout(within, &mut answer_rx).await {
                Ok(answered) => Some(answered),
                Err(_) => {
                    // An answer sent as the deadline passed is taken; after `close` none is.
                    answer_rx.close();
                    answer_rx.try_recv().ok().map(Ok)
                }
            },
        };
        match answered {
            Some(Ok(Some(reply))) => responder.acknowledge(Acknowledgement::Answer(&reply)),
            Some(Ok(None)) => responder.acknowledge(Acknowledgement::Quiet),
            Some(Err(_)) => {
                tracing::error!("handling an event stopped without an answer");
                let sorry = Reply::private(Message::text(STOPPED));
                responder.acknowledge(Acknowledgement::Answer(&sorry))
            }
            None => match &working {
                Some(working) => responder.acknowledge(Acknowledgement::Working(working)),
                None => responder.acknowledge(Acknowledgement::Quiet),
            },
        }
    }

    /// How long `event` may take before it is acknowledged without its answer; `None`: as
    /// long as it takes.
    fn deadline(&self, event: &Event) -> Option<Duration> {
        match (event, self.answer_within) {
            // Saving asks the platform for the message's link first, which alone can take the
            // whole deadline: acknowledged at once, answered when saved.
            (Event::Save(_), Some(_)) => Some(Duration::ZERO),
            (_, within) => within,
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc;

    use super::*;
    use crate::conversation::{CommandTyped, SaveMessage, ThreadReply, scratch_inbound};

    /// Says how it was acknowledged, and hands over every answer that follows.
    struct Recorder {
        follow_ups: mpsc::UnboundedSender<Reply>,
        only_follow_ups: bool,
    }

    impl Responder for Recorder {
        type Ack = String;

        fn acknowledge(&self, acknowledgement: Acknowledgement<'_>) -> String {
            match acknowledgement {
                Acknowledgement::Answer(reply) => format!("answer: {}", reply.message.to_plain()),
                Acknowledgement::Working(reply) => {
                    format!("working: {}", reply.message.to_plain())
                }
                Acknowledgement::Quiet => "quiet".into(),
            }
        }

        async fn follow_up(&self, reply: &Reply) {
            let _ = self.follow_ups.send(reply.clone());
        }

        fn shows_only_follow_ups(&self) -> bool {
            self.only_follow_ups
        }
    }

    /// A recorder, and what follows through it; the receiver ends once handling is over.
    fn recorder(only_follow_ups: bool) -> (Recorder, mpsc::UnboundedReceiver<Reply>) {
        let (follow_ups, followed) = mpsc::unbounded_channel();
        (
            Recorder {
                follow_ups,
                only_follow_ups,
            },
            followed,
        )
    }

    fn help() -> Event {
        Event::Command(CommandTyped {
            user: "console:ana".parse().unwrap(),
            channel: "console:growth".parse().unwrap(),
            text: "/insights help".into(),
            roles: Vec::new(),
        })
    }

    #[tokio::test]
    async fn an_answer_ready_in_time_is_the_acknowledgement_and_nothing_follows() {
        let (inbound, _dir) = scratch_inbound().await;
        let (recorder, mut followed) = recorder(false);
        let ack = inbound
            .clone()
            .answering_within(None)
            .respond(help(), recorder)
            .await;
        assert!(ack.starts_with("answer: "), "{ack}");
        assert!(ack.contains("/insights ask"), "{ack}");
        assert!(followed.recv().await.is_none(), "nothing follows");
    }

    #[tokio::test]
    async fn a_late_command_is_acknowledged_as_working_and_its_answer_follows() {
        let (inbound, _dir) = scratch_inbound().await;
        let (recorder, mut followed) = recorder(false);
        let ack = inbound
            .answering_within(Some(Duration::ZERO))
            .respond(help(), recorder)
            .await;
        assert_eq!(ack, format!("working: {WORKING_ON_IT}"));
        let answer = followed.recv().await.expect("the answer follows");
        assert!(answer.message.to_plain().contains("/insights ask"));
        assert!(followed.recv().await.is_none(), "it follows once");
    }

    #[tokio::test]
    async fn where_only_follow_ups_show_every_answer_follows_too() {
        let (inbound, _dir) = scratch_inbound().await;
        let (recorder, mut followed) = recorder(true);
        let ack = inbound
            .answering_within(None)
            .respond(help(), recorder)
            .await;
        assert!(ack.starts_with("answer: "), "{ack}");
        let answer = followed.recv().await.expect("the answer follows");
        assert_eq!(format!("answer: {}", answer.message.to_plain()), ack);
        assert!(followed.recv().await.is_none(), "it follows once");
    }

    #[tokio::test]
    async fn past_the_limits_a_command_is_answered_busy_at_once_and_nothing_is_done() {
        let (inbound, _dir) = scratch_inbound().await;
        let limits = &inbound.app().config.server;
        let held: Vec<_> = (0..limits.max_commands + limits.queued_commands)
            .map(|_| inbound.work().admit(&help()).expect("room"))
            .collect();
        let (refused, mut followed) = recorder(false);
        let ack = inbound
            .clone()
            .answering_within(None)
            .respond(help(), refused)
            .await;
        assert_eq!(ack, format!("answer: {}", crate::conversation::BUSY));
        assert!(followed.recv().await.is_none(), "nothing follows");
        drop(held);
        let (recorder, _followed) = recorder(false);
        let ack = inbound
            .answering_within(None)
            .respond(help(), recorder)
            .await;
        assert!(
            ack.contains("/insights ask"),
            "answered once there is room: {ack}"
        );
    }

    #[tokio::test]
    async fn a_save_is_acknowledged_at_once_and_answered_when_saved() {
        let (inbound, _dir) = scratch_inbound().await;
        let (recorder, mut followed) = recorder(true);
        let save = Event::Save(SaveMessage {
            user: "console:ana".parse().unwrap(),
            channel: "console:growth".parse().unwrap(),
            message: "m1".into(),
            text: "The export drops accents.".into(),
        });
        assert_eq!(inbound.respond(save, recorder).await, "quiet");
        let answer = followed.recv().await.expect("the answer follows");
        assert_eq!(answer.audience, crate::conversation::Audience::Asker);
        assert!(answer.message.to_plain().contains("Saved as #1"));
    }

    #[tokio::test]
    async fn an_event_without_an_answer_is_acknowledged_quietly_and_handled_once() {
        let (inbound, _dir) = scratch_inbound().await;
        let reply = Event::ThreadReply(ThreadReply {
            user: "console:ana".parse().unwrap(),
            channel: "console:growth".parse().unwrap(),
            thread: "t1".into(),
            message: "m2".into(),
            text: "in a thread nobody discusses".into(),
        });
        let (recorder, mut followed) = recorder(false);
        assert_eq!(inbound.respond(reply.clone(), recorder).await, "quiet");
        assert!(followed.recv().await.is_none());
        use crate::conversation::Once;
        assert_eq!(
            inbound
                .handle_once("test:Ev1", reply.clone())
                .await
                .unwrap(),
            Once::Handled
        );
        assert_eq!(
            inbound.handle_once("test:Ev1", reply).await.unwrap(),
            Once::Repeated
        );
    }
}
