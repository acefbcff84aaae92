//! `POST /discord/interactions`: Discord's interactions over HTTP, on the service's own
//! listener, so several replicas can answer commands without each holding a gateway
//! connection.
//!
//! Every request is checked before anything in it is read: the Ed25519 signature Discord puts
//! in `X-Signature-Ed25519` over `X-Signature-Timestamp` + body, with the application's public
//! key (`DISCORD_PUBLIC_KEY`), and the timestamp must be within five minutes of now, so a
//! captured request cannot be replayed later, and each interaction id is handled once, so it
//! cannot be replayed sooner either. A missing or bad signature is answered 401, as
//! Discord requires. PING is answered with PONG; everything else goes through
//! [`translate::interaction`], as from the gateway, and the
//! interaction response is the HTTP response.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serenity::all::Interaction;
use serenity::interactions_endpoint::Verifier;

use super::rest::Rest;
use super::translate;
use crate::conversation::Inbound;
use crate::transports::Transport;

/// How far a request's timestamp may be from now.
pub const TIMESTAMP_WINDOW_SECS: i64 = 300;
/// The largest interaction accepted.
const MAX_BODY: usize = 1024 * 1024;

/// Discord's interactions over HTTP: a transport that contributes one route.
#[derive(Clone)]
pub struct DiscordHttp {
    inbound: Inbound,
    verifier: Option<Verifier>,
    rest: Option<Arc<Rest>>,
}

impl std::fmt::Debug for DiscordHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordHttp")
            .field("configured", &self.verifier.is_some())
            .finish_non_exhaustive()
    }
}

impl DiscordHttp {
    /// The endpoint of `inbound`'s configuration: verifying with its public key (without one,
    /// or with one that is not a key, it answers 503), answering through `rest`.
    pub fn new(inbound: Inbound, rest: Option<Arc<Rest>>) -> DiscordHttp {
        let verifier = inbound
            .app()
            .config
            .secrets
            .discord_public_key
            .as_ref()
            .and_then(|key| match verifier(key.expose()) {
                Ok(verifier) => Some(verifier),
                Err(why) => {
                    tracing::error!("Discord interactions are off: DISCORD_PUBLIC_KEY {why}");
                    None
                }
            });
        DiscordHttp {
            inbound,
            verifier,
            rest,
        }
    }
}

/// The verifier of a public key written as 64 hex digits.
pub fn verifier(key: &str) -> Result<Verifier, String> {
    let bytes = hex::decode(key.trim()).map_err(|_| {
        "is not hex: copy the Public Key from the Developer Portal (General Information)"
            .to_string()
    })?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "is not 64 hex digits long".to_string())?;
    Verifier::try_new(bytes).map_err(|_| "is not a valid Ed25519 key".to_string())
}

impl Transport for DiscordHttp {
    fn name(&self) -> &'static str {
        "Discord interactions endpoint"
    }

    fn routes(&self) -> Router {
        Router::new()
            .route("/discord/interactions", post(handle))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(self.clone())
    }
}

/// Whether the request is Discord's, with the reason when it is not.
fn check(
    verifier: &Verifier,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), &'static str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(signature), Some(timestamp)) = (
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
    ) else {
        return Err("the signature headers are missing");
    };
    let Ok(at) = timestamp.trim().parse::<i64>() else {
        return Err("the timestamp is not a number");
    };
    if (now - at).abs() > TIMESTAMP_WINDOW_SECS {
        return Err("the timestamp is more than five minutes off");
    }
    verifier
        .verify(signature, timestamp, body)
        .map_err(|()| "the signature does not match")
}

async fn handle(State(endpoint): State<DiscordHttp>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(verifier) = &endpoint.verifier else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "Discord interactions are not configured (set DISCORD_PUBLIC_KEY)",
        )
            .into_response();
    };
    let now = endpoint.inbound.app().clock.now().timestamp();
    if let Err(why) = check(verifier, &headers, &body, now) {
        // The body is never logged: it may hold customer text.
        tracing::warn!(
            body_bytes = body.len(),
            "refused a Discord interaction: {why}"
        );
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    let interaction: Interaction = match serde_json::from_slice(&body) {
        Ok(interaction) => interaction,
        Err(e) => {
            // serde's message names the field and position, never the text.
            let why = format!("the interaction does not fit Discord's shape: {e}");
            tracing::warn!("refused a Discord interaction: {why}");
            return (StatusCode::BAD_REQUEST, why).into_response();
        }
    };
    let rest = match (&endpoint.rest, &interaction) {
        (_, Interaction::Ping(_)) => return axum::Json(super::respond::pong()).into_response(),
        (Some(rest), _) => rest.clone(),
        (None, _) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "Discord answers need the bot token (set DISCORD_BOT_TOKEN)",
            )
                .into_response();
        }
    };
    // Each interaction has its own id: a signed request sent again within the five minutes
    // its timestamp stays fresh is a replay, and has no second effect.
    let app = endpoint.inbound.app();
    let key = format!("discord:interaction:{}", interaction.id());
    match app.store.first_delivery_of(&key, app.clock.now()).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!("refused a Discord interaction that was already handled (a replay)");
            return (
                StatusCode::CONFLICT,
                "this interaction was already handled; a repeated request has no effect",
            )
                .into_response();
        }
        Err(e) => {
            tracing::error!("cannot check a Discord interaction for replays: {e}");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the interaction could not be checked; please try again",
            )
                .into_response();
        }
    }
    let answered = translate::interaction(&endpoint.inbound, &rest, interaction).await;
    // Answers that follow wait for this; the response is on its way as the handler returns.
    if let Some(responder) = answered.responder {
        responder.acknowledged();
    }
    axum::Json(answered.response).into_response()
}
