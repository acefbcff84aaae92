//! Discord's gateway: serenity's client keeps a WebSocket to Discord (Hello, Identify, Ready,
//! heartbeats, resuming after a dropped connection) and hands Flywheel its events.
//!
//! - On Ready, the application commands are registered: per server for `[discord] guild_ids`
//!   (shown at once), else globally.
//! - `INTERACTION_CREATE`: commands, buttons and autocomplete go through
//!   [`translate::interaction`]; the response is posted to the
//!   interaction's callback.
//! - `MESSAGE_CREATE` in a thread: a reply in a discussion, handled once by its message id.
//!
//! A refused token (close code 4004) or a privileged intent the application lacks (4014) stops
//! the Discord transport with an error that names the fix; the rest of the service keeps
//! running. The bot token is checked first with `GET /users/@me`, so a revoked one is reported
//! before any connection is tried.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use flywheel_config::Secret;
use futures::future::BoxFuture;
use serenity::all::{
    ClientBuilder, Context as SerenityContext, EventHandler, GatewayError, GatewayIntents,
    HttpBuilder, Interaction, Message, Ready,
};
use tokio::sync::watch;

use super::commands;
use super::rest::Rest;
use super::translate;
use crate::conversation::{Inbound, Once};
use crate::transports::Transport;

/// What `/readyz` calls the connection.
const READINESS: &str = "discord gateway";

/// Discord's own API, where serenity's rate limiter applies.
const DISCORD: &str = "https://discord.com";
/// Thread channel types: announcement, public and private threads.
const THREADS: [u64; 3] = [10, 11, 12];

/// Why the Discord gateway stopped for good.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayStop {
    /// The bot token was refused.
    #[error(
        "Discord refused the bot token ({0}): it was reset or revoked; copy a new one from the \
         Developer Portal (your application → Bot → Reset Token) into DISCORD_BOT_TOKEN and \
         restart"
    )]
    Token(String),
    /// The application may not use an intent Flywheel needs.
    #[error(
        "Discord refused the gateway intents (4014): Flywheel reads discussion threads, which \
         needs the Message Content Intent; turn it on in the Developer Portal (your application \
         → Bot → Privileged Gateway Intents) and restart"
    )]
    Intents,
    /// Anything else serenity gave up on.
    #[error("the Discord gateway stopped: {0}")]
    Other(String),
}

/// The gateway transport of a running service.
pub struct DiscordGateway {
    inbound: Inbound,
    rest: Arc<Rest>,
    token: Secret,
    api_url: String,
    guilds: Vec<u64>,
    application_id: Option<u64>,
}

impl DiscordGateway {
    /// The gateway of `inbound`'s configuration, posting through `rest` with `token`.
    pub fn new(inbound: Inbound, rest: Arc<Rest>, token: Secret) -> DiscordGateway {
        let config = &inbound.app().config.discord;
        inbound.app().readiness.expect(READINESS);
        DiscordGateway {
            api_url: config.api_url.clone(),
            guilds: config.guilds.clone(),
            application_id: config.application_id,
            inbound,
            rest,
            token,
        }
    }

    /// Keeps the gateway connection until `stop` turns true: `Ok` then, or why it cannot work,
    /// already logged.
    pub async fn run(self, mut stop: watch::Receiver<bool>) -> Result<(), GatewayStop> {
        let app = self.inbound.app().clone();
        let result = self.connect(&mut stop).await;
        app.readiness.set(READINESS, false);
        if let Err(e) = &result {
            tracing::error!("Discord stopped: {e}");
        }
        result
    }

    async fn connect(self, stop: &mut watch::Receiver<bool>) -> Result<(), GatewayStop> {
        if let Err(e) = self.rest.get("GET /users/@me", "/users/@me").await {
            return match e.status {
                Some(401) => Err(GatewayStop::Token("HTTP 401".into())),
                _ => Err(GatewayStop::Other(e.to_string())),
            };
        }
        let mut http = HttpBuilder::new(self.token.expose());
        if self.api_url.trim_end_matches('/') != DISCORD {
            // serenity's own rate limiter only speaks to discord.com; Flywheel's REST client
            // paces every call it makes itself.
            http = http.proxy(self.api_url.clone()).ratelimiter_disabled(true);
        }
        let intents = GatewayIntents::GUILDS
            | GatewayIntents::GUILD_MESSAGES
            | GatewayIntents::MESSAGE_CONTENT;
        let handler = Handler {
            inbound: self.inbound.clone(),
            rest: self.rest.clone(),
            guilds: self.guilds.clone(),
            application_id: self.application_id,
            threads: Arc::new(Mutex::new(HashMap::new())),
        };
        let mut client = ClientBuilder::new_with_http(http.build(), intents)
            .event_handler(handler)
            .await
            .map_err(|e| GatewayStop::Other(e.to_string()))?;
        let shards = client.shard_manager.clone();
        let mut running = tokio::spawn(async move { client.start().await });
        let stopping = async {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        tokio::select! {
            () = stopping => {
                shards.shutdown_all().await;
                let _ = running.await;
                Ok(())
            }
            ended = &mut running => match ended {
                Ok(Ok(())) => Ok(()),
                Ok(Err(serenity::Error::Gateway(GatewayError::InvalidAuthentication))) => {
                    Err(GatewayStop::Token("close code 4004".into()))
                }
                Ok(Err(serenity::Error::Gateway(
                    GatewayError::DisallowedGatewayIntents | GatewayError::InvalidGatewayIntents,
                ))) => Err(GatewayStop::Intents),
                Ok(Err(e)) => Err(GatewayStop::Other(e.to_string())),
                Err(e) => Err(GatewayStop::Other(format!("the gateway task failed: {e}"))),
            },
        }
    }
}

impl Transport for DiscordGateway {
    fn name(&self) -> &'static str {
        "Discord gateway"
    }

    fn run(self: Box<Self>, shutdown: watch::Receiver<bool>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let _ = DiscordGateway::run(*self, shutdown).await;
        })
    }
}

/// What serenity calls with the gateway's events.
struct Handler {
    inbound: Inbound,
    rest: Arc<Rest>,
    guilds: Vec<u64>,
    application_id: Option<u64>,
    /// Channel id → the channel a thread belongs to (`None`: not a thread).
    threads: Arc<Mutex<HashMap<String, Option<String>>>>,
}

impl Handler {
    /// The channel the channel `id` is a thread of, asked of Discord once.
    async fn parent_of(&self, id: &str) -> Option<String> {
        if let Some(known) = self.lock_threads().get(id) {
            return known.clone();
        }
        let found = match self
            .rest
            .get("GET /channels", &format!("/channels/{id}"))
            .await
        {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(channel = id, "cannot look up a Discord channel: {e}");
                return None;
            }
        };
        let parent = found["type"]
            .as_u64()
            .filter(|t| THREADS.contains(t))
            .and(found["parent_id"].as_str())
            .map(str::to_string);
        self.lock_threads().insert(id.to_string(), parent.clone());
        parent
    }

    fn lock_threads(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<String>>> {
        self.threads.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: SerenityContext, ready: Ready) {
        let application = self.application_id.unwrap_or(ready.application.id.get());
        tracing::info!(user = %ready.user.name, "connected to Discord");
        self.inbound.app().readiness.set(READINESS, true);
        register(&self.rest, application, &self.guilds).await;
    }

    async fn resume(&self, _ctx: SerenityContext, _resumed: serenity::model::event::ResumedEvent) {
        self.inbound.app().readiness.set(READINESS, true);
    }

    async fn shard_stage_update(
        &self,
        _ctx: SerenityContext,
        update: serenity::gateway::ShardStageUpdateEvent,
    ) {
        if update.new != serenity::gateway::ConnectionStage::Connected {
            self.inbound.app().readiness.set(READINESS, false);
        }
    }

    async fn interaction_create(&self, _ctx: SerenityContext, interaction: Interaction) {
        let id = interaction.id();
        let token = interaction.token().to_string();
        let answered = translate::interaction(&self.inbound, &self.rest, interaction).await;
        let callback = format!("/interactions/{id}/{token}/callback");
        match self
            .rest
            .post("POST /interactions/callback", &callback, &answered.response)
            .await
        {
            Ok(_) => {
                if let Some(responder) = answered.responder {
                    responder.acknowledged();
                }
            }
            Err(e) => tracing::warn!("cannot answer a Discord interaction: {e}"),
        }
    }

    async fn message(&self, _ctx: SerenityContext, message: Message) {
        if message.author.bot || message.guild_id.is_none() {
            return;
        }
        let Some(parent) = self.parent_of(&message.channel_id.to_string()).await else {
            return;
        };
        let Some(event) = translate::thread_reply(&message, &parent) else {
            return;
        };
        let key = format!("discord:{}", message.id);
        match self.inbound.handle_once(&key, event).await {
            Ok(Once::Handled) => {}
            Ok(Once::Repeated) => tracing::debug!(key, "ignored a Discord message seen before"),
            Err(e) => tracing::error!(key, "cannot store a Discord thread message: {e:#}"),
        }
    }
}

/// Registers Flywheel's commands for `application`: in each of `guilds`, else globally.
pub async fn register(rest: &Rest, application: u64, guilds: &[u64]) {
    let definitions = commands::definitions();
    let targets: Vec<String> = if guilds.is_empty() {
        vec![format!("/applications/{application}/commands")]
    } else {
        guilds
            .iter()
            .map(|g| format!("/applications/{application}/guilds/{g}/commands"))
            .collect()
    };
    for path in targets {
        match rest.put(&format!("PUT {path}"), &path, &definitions).await {
            Ok(_) => tracing::info!(path, "registered Flywheel's Discord commands"),
            Err(e) => tracing::error!(path, "cannot register Flywheel's Discord commands: {e}"),
        }
    }
}
