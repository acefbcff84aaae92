//! Discord: embeds and buttons inside Discord's limits, posting through its REST API, the
//! gateway, and interactions over HTTP.
//!
//! [`render`] turns the neutral message into one or more messages of embeds and buttons within
//! Discord's limits, customer text escaped so it can never mention anyone. [`rest`] calls the
//! API paced by Discord's rate limits; [`DiscordAdapter`] posts through it with a nonce on
//! every message and finds a delivery again after a crash. What Discord sends arrives over the
//! [`gateway`] or the HTTP endpoint of [`interactions`], and is translated alike by
//! [`translate`] (with the typed options of [`commands`]) into the conversation layer's
//! events; [`respond`] says how Discord is answered.

pub mod adapter;
pub mod commands;
pub mod gateway;
pub mod interactions;
pub mod render;
pub mod respond;
pub mod rest;
pub mod translate;

use std::time::Duration;

pub use adapter::DiscordAdapter;
pub use gateway::{DiscordGateway, GatewayStop};
pub use interactions::DiscordHttp;
pub use rest::Rest;

/// How long one call to Discord's API may take before it counts as a (transient) failure.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A REST client for the configuration's Discord bot, when its token is set.
pub fn rest_for(config: &flywheel_config::Config) -> anyhow::Result<Option<Rest>> {
    let Some(token) = &config.secrets.discord_bot_token else {
        return Ok(None);
    };
    if config.discord.token_in_clear() {
        tracing::warn!(
            api_url = config.discord.api_url,
            "the Discord API URL is plain http: the bot token crosses the network unencrypted"
        );
    }
    let rest = Rest::new(
        &config.discord.api_url,
        token.clone(),
        Some(REQUEST_TIMEOUT),
    )
    .map_err(|e| anyhow::anyhow!("cannot build an HTTP client for Discord: {e}"))?;
    Ok(Some(rest))
}
