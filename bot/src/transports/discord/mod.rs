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

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub use adapter::DiscordAdapter;
pub use gateway::{DiscordGateway, GatewayStop};
pub use interactions::DiscordHttp;
pub use rest::Rest;

/// How long one call to Discord's API may take before it counts as a (transient) failure.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The REST client of the configuration's Discord bot, when its token is set: one per bot
/// and API address in the process, so that everything posting as the bot (delivery workers,
/// interaction answers, the gateway's follow-ups) shares its rate-limit buckets and global limit,
/// which Discord counts per bot.
pub fn rest_for(config: &flywheel_config::Config) -> anyhow::Result<Option<Arc<Rest>>> {
    static CLIENTS: OnceLock<Mutex<HashMap<[u8; 32], Arc<Rest>>>> = OnceLock::new();
    let Some(token) = &config.secrets.discord_bot_token else {
        return Ok(None);
    };
    let key: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(
        format!("{}\n{}", config.discord.api_url, token.expose()).as_bytes(),
    )
    .into();
    let clients = CLIENTS.get_or_init(Mutex::default);
    let mut clients = clients.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rest) = clients.get(&key) {
        return Ok(Some(rest.clone()));
    }
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
    let rest = Arc::new(rest);
    clients.insert(key, rest.clone());
    Ok(Some(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(token: &str, api: &str) -> flywheel_config::Config {
        let env = flywheel_config::Environment::empty()
            .with("DISCORD_BOT_TOKEN", token)
            .with("FLYWHEEL_DISCORD_API_URL", api);
        flywheel_config::Config::parse("", &env).expect("a valid config")
    }

    #[test]
    fn everything_posting_as_one_bot_shares_one_client_and_its_rate_limits() {
        let a = rest_for(&config("token-a", "http://127.0.0.1:9"))
            .unwrap()
            .unwrap();
        let again = rest_for(&config("token-a", "http://127.0.0.1:9"))
            .unwrap()
            .unwrap();
        let other_bot = rest_for(&config("token-b", "http://127.0.0.1:9"))
            .unwrap()
            .unwrap();
        let other_api = rest_for(&config("token-a", "http://127.0.0.1:10"))
            .unwrap()
            .unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        assert!(!Arc::ptr_eq(&a, &other_bot));
        assert!(!Arc::ptr_eq(&a, &other_api));
        assert!(
            rest_for(
                &flywheel_config::Config::parse("", &flywheel_config::Environment::empty())
                    .unwrap()
            )
            .unwrap()
            .is_none()
        );
    }
}
