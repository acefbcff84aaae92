//! Transports: how each chat platform reaches Flywheel and how Flywheel answers on it. A
//! transport translates its platform's typed payloads to and from the
//! [conversation layer](crate::conversation), and implements the outbound
//! [`Adapter`](crate::services::channels::Adapter) that services post through. It never depends
//! on `serve` or the command line.
//!
//! `flywheel serve` starts the [`Transport`]s of [`for_config`]: each contributes HTTP routes
//! on the service's listener ([`slack::http::SlackHttp`]), a loop of its own
//! ([`slack::socket::SocketMode`]), or both. The [`console`] is the terminal's transport, for
//! `flywheel chat`. The [`api`] is the HTTP ingestion API: not a chat platform, but another way
//! in on the same listener.

pub mod api;
pub mod console;
pub mod discord;
pub mod slack;

use std::sync::Arc;

use axum::Router;
use flywheel_config::SlackTransport;
use futures::future::BoxFuture;
use tokio::sync::watch;

use crate::conversation::Inbound;
use crate::services::channels::Adapters;

/// A way a chat platform reaches a running service.
pub trait Transport: Send {
    /// What it is called in the log.
    fn name(&self) -> &'static str;

    /// Its HTTP routes, merged into the service's router; none by default.
    fn routes(&self) -> Router {
        Router::new()
    }

    /// Its own loop, run until `shutdown` turns true; nothing to run by default.
    fn run(self: Box<Self>, shutdown: watch::Receiver<bool>) -> BoxFuture<'static, ()> {
        let _ = shutdown;
        Box::pin(async {})
    }
}

/// The transports the configuration enables, handing what they receive to `inbound`: Slack's
/// HTTP endpoints always (answering 503 until a signing secret is set), and Slack's Socket Mode
/// with `[slack] transport = "socket"`, which fails at once without its app-level token;
/// Discord's interactions endpoint always (503 until its public key is set), and Discord's
/// gateway when its bot token is set; the HTTP ingestion API always (503 until a token is set).
pub fn for_config(inbound: &Inbound) -> anyhow::Result<Vec<Box<dyn Transport>>> {
    let config = &inbound.app().config;
    let discord = discord::rest_for(config)?;
    let mut transports: Vec<Box<dyn Transport>> = vec![
        Box::new(slack::http::SlackHttp::new(inbound.clone())),
        Box::new(discord::DiscordHttp::new(inbound.clone(), discord.clone())),
        Box::new(api::HttpApi::new(inbound.app().clone())),
    ];
    if config.slack.transport == SlackTransport::Socket {
        transports.push(Box::new(slack::socket::SocketMode::new(inbound.clone())?));
    }
    if let (Some(rest), Some(token)) = (discord, &config.secrets.discord_bot_token) {
        transports.push(Box::new(discord::DiscordGateway::new(
            inbound.clone(),
            rest,
            token.clone(),
        )));
    }
    Ok(transports)
}

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
    match discord::rest_for(config) {
        Ok(Some(rest)) => {
            adapters = adapters.with(Arc::new(discord::DiscordAdapter::new(rest)));
        }
        Ok(None) => {}
        Err(e) => tracing::error!("no Discord adapter: {e:#}"),
    }
    adapters
}
