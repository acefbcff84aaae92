//! Transports: how each chat platform reaches Flywheel and how Flywheel answers on it. A
//! transport translates its platform's typed payloads to and from the
//! [conversation layer](crate::conversation), and implements the outbound
//! [`Adapter`](crate::services::channels::Adapter) that services post through. It never depends
//! on `serve` or the command line.

pub mod console;
pub mod slack;

use std::sync::Arc;

use crate::services::channels::Adapters;

/// The adapters the configuration enables: the console always, each chat platform when its
/// secrets are set.
pub fn adapters(config: &flywheel_config::Config) -> Adapters {
    let mut adapters = Adapters::new().with(Arc::new(console::ConsoleAdapter::new(
        config.console.dir.clone(),
    )));
    if let Some(token) = &config.secrets.slack_bot_token {
        adapters = adapters.with(Arc::new(slack::SlackAdapter::new(
            &config.slack,
            token.clone(),
        )));
    }
    adapters
}
