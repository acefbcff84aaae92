//! The conversation layer: one platform-neutral inbound path for every transport.
//!
//! A transport turns its platform's payloads into an [`Event`] (a command typed, a button
//! pressed, a message to save, a thread reply), with user and channel addresses already built,
//! and hands it to an [`Inbound`]:
//!
//! - [`Inbound::respond`] (in [`defer`]) answers within the deadline or acknowledges and
//!   follows up, through the transport's [`Responder`];
//! - [`Inbound::handle_once`] (in [`once`]) handles an event the platform may deliver again,
//!   once, giving it back on failure;
//! - both go through the one [`Inbound::dispatch`] (in [`dispatch`]).
//!
//! Then, one module per feature: [`commands`] and [`decisions`] (the chat commands),
//! [`buttons`], [`discuss`], [`save`] (keeping a message as an insight) and [`comments`]
//! (thread replies). Each parses (in `flywheel-insights`, pure), authorizes (with the
//! [`Context`]), applies through the store and the services, and answers with a neutral
//! [`Reply`] that the transport renders. Nothing here names a platform.

pub mod buttons;
pub mod commands;
pub mod comments;
pub mod context;
pub mod decisions;
pub mod defer;
pub mod discuss;
pub mod dispatch;
pub mod event;
pub mod once;
pub mod reply;
pub mod save;
pub mod watches;
pub mod work;

use std::time::Duration;

use crate::app::App;
use crate::services::channels::Adapters;

pub use context::Context;
pub use defer::{ANSWER_WITHIN, Acknowledgement, Responder, WORKING_ON_IT};
pub use event::{ButtonPressed, CommandTyped, Event, SaveMessage, ThreadReply};
pub use once::Once;
pub use reply::{Audience, Reply};
pub use work::{BUSY, Work};

/// The inbound path of a running service: what every transport hands its events to.
#[derive(Debug, Clone)]
pub struct Inbound {
    app: App,
    adapters: Adapters,
    answer_within: Option<Duration>,
    work: std::sync::Arc<Work>,
}

impl Inbound {
    /// The inbound path of `app`, posting through `adapters` (a discussion's thread, a saved
    /// message's link), answering within [`ANSWER_WITHIN`].
    /// At most `[server] max_commands` events are handled at once and `queued_commands` wait.
    pub fn new(app: App, adapters: Adapters) -> Inbound {
        let server = &app.config.server;
        let work = Work::new(server.max_commands, server.queued_commands);
        Inbound {
            app,
            adapters,
            answer_within: Some(ANSWER_WITHIN),
            work,
        }
    }

    /// The same path with another deadline: `Some(Duration::ZERO)` always acknowledges first,
    /// `None` waits for every answer (a terminal, where nothing times out).
    pub fn answering_within(mut self, deadline: Option<Duration>) -> Inbound {
        self.answer_within = deadline;
        self
    }

    /// The application.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The events in hand and their limits.
    pub fn work(&self) -> &std::sync::Arc<Work> {
        &self.work
    }

    /// The adapters answers are posted through.
    pub fn adapters(&self) -> &Adapters {
        &self.adapters
    }
}

/// Chat text as it can be stored: NUL characters, which no chat client types and no store
/// keeps, are dropped.
pub fn without_nul(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', ""))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// An inbound path on a fresh SQLite store with no adapters, for tests; the store lives as
/// long as the directory.
#[cfg(test)]
pub(crate) async fn scratch_inbound() -> (Inbound, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let text = format!(
        "[store]\nurl = \"sqlite://{}\"\n",
        dir.path().join("flywheel.db").display()
    );
    let config = flywheel_config::Config::parse(&text, &flywheel_config::Environment::empty())
        .expect("a valid config");
    let app = App::open(config, std::sync::Arc::new(crate::clock::SystemClock))
        .await
        .unwrap_or_else(|e| panic!("the app opens: {e:?}"));
    (Inbound::new(app, Adapters::new()), dir)
}
