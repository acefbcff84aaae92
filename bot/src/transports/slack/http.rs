//! Slack's inbound HTTP endpoints: slash commands, interactions and the Events API.
//!
//! Every request is checked with the signing secret before anything in it is read; a request
//! larger than `[slack] max_body_bytes` is refused with 413 before it is checked. What the
//! request asks is then done by [`super::translate`], as for Socket Mode. An event that could not
//! be handled is answered with 500, so Slack sends it again.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use super::payloads::{self, BadRequest, CommandPayload, EventsPayload, InteractionPayload};
use super::respond::ResponseBody;
use super::translate::{self, EventAnswer};
use super::verify::SlackVerifier;
use crate::conversation::Inbound;
use crate::transports::Transport;

/// What every endpoint answers when no signing secret is configured.
const NOT_CONFIGURED: &str = "Slack is not configured";

/// The state of the Slack routes: the verifier, when the signing secret is set.
#[derive(Debug, Clone)]
struct Endpoint {
    verifier: Option<SlackVerifier>,
}

/// Slack over HTTP: a transport that contributes Slack's endpoints to the service's listener.
#[derive(Debug, Clone)]
pub struct SlackHttp {
    inbound: Inbound,
    verifier: Option<SlackVerifier>,
    max_body_bytes: usize,
}

impl SlackHttp {
    /// The endpoints of the configuration of `inbound`'s app: its signing secret (without
    /// one, every endpoint answers 503) and `[slack] max_body_bytes`.
    pub fn new(inbound: Inbound) -> SlackHttp {
        let config = &inbound.app().config;
        SlackHttp {
            verifier: config
                .secrets
                .slack_signing_secret
                .clone()
                .map(SlackVerifier::new),
            max_body_bytes: config.slack.max_body_bytes,
            inbound,
        }
    }
}

impl Transport for SlackHttp {
    fn name(&self) -> &'static str {
        "Slack HTTP endpoints"
    }

    fn routes(&self) -> Router {
        routes(self.verifier.clone(), self.max_body_bytes).with_state(self.inbound.clone())
    }
}

/// Slack's endpoints: `POST /slack/commands`, `/slack/interactions` and `/slack/events`.
/// Without a `verifier` (no signing secret) they answer 503.
fn routes(verifier: Option<SlackVerifier>, max_body_bytes: usize) -> Router<Inbound> {
    let endpoint = Endpoint { verifier };
    let with = |handler: Handler| {
        let endpoint = endpoint.clone();
        post(
            move |State(inbound): State<Inbound>, headers: HeaderMap, body: Bytes| {
                let endpoint = endpoint.clone();
                async move {
                    if let Err(response) = endpoint.check(&inbound, &headers, &body) {
                        return response;
                    }
                    if !matches!(handler, Handler::Events)
                        && let Err(response) = first_time(&inbound, &headers).await
                    {
                        return response;
                    }
                    match handler {
                        Handler::Commands => commands(inbound, body).await,
                        Handler::Interactions => interactions(inbound, body).await,
                        Handler::Events => events(inbound, &headers, body).await,
                    }
                }
            },
        )
    };
    Router::new()
        .route("/slack/commands", with(Handler::Commands))
        .route("/slack/interactions", with(Handler::Interactions))
        .route("/slack/events", with(Handler::Events))
        .layer(DefaultBodyLimit::max(max_body_bytes))
}

#[derive(Debug, Clone, Copy)]
enum Handler {
    Commands,
    Interactions,
    Events,
}

impl Endpoint {
    /// Whether the request is Slack's; the refusal to send when it is not.
    #[allow(clippy::result_large_err)]
    fn check(&self, inbound: &Inbound, headers: &HeaderMap, body: &[u8]) -> Result<(), Response> {
        let Some(verifier) = &self.verifier else {
            return Err((StatusCode::SERVICE_UNAVAILABLE, NOT_CONFIGURED).into_response());
        };
        verifier
            .verify_headers(headers, body, inbound.app().clock.now())
            .map_err(|e| {
                // The body is never logged: it may hold customer text.
                tracing::warn!(body_bytes = body.len(), "refused a Slack request: {e}");
                (StatusCode::UNAUTHORIZED, "invalid request signature").into_response()
            })
    }
}

/// Refuses a signed command or interaction that was handled before: someone who captured a
/// request can send it again while its signature is fresh (five minutes), and without this
/// check a `/decision log` would be logged twice. The signature covers the timestamp and the
/// body, so it names the request; Slack never retries commands or interactions, so a repeat
/// is a replay. (Events carry their own id, and Slack does retry them: see [`events`].)
async fn first_time(inbound: &Inbound, headers: &HeaderMap) -> Result<(), Response> {
    let Some(signature) = headers
        .get("x-slack-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let app = inbound.app();
    let key = format!("slack:request:{signature}");
    match app.store.first_delivery_of(&key, app.clock.now()).await {
        Ok(true) => Ok(()),
        Ok(false) => {
            tracing::warn!("refused a Slack request that was already handled (a replay)");
            Err((
                StatusCode::CONFLICT,
                "this request was already handled; a repeated request has no effect",
            )
                .into_response())
        }
        Err(e) => {
            tracing::error!("cannot check a Slack request for replays: {e}");
            Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "the request could not be checked; please try again",
            )
                .into_response())
        }
    }
}

fn bad_request(BadRequest(why): BadRequest) -> Response {
    // The request's text is never logged: it may hold customer text; the reason quotes none.
    tracing::warn!("refused a Slack request: {why}");
    (StatusCode::BAD_REQUEST, why).into_response()
}

/// The response that acknowledges a command or an interaction.
fn acknowledgement(body: Option<ResponseBody>) -> Response {
    match body {
        Some(body) => axum::Json(body).into_response(),
        None => StatusCode::OK.into_response(),
    }
}

/// `POST /slack/commands`.
async fn commands(inbound: Inbound, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let command = match CommandPayload::from_form(form.fields()) {
        Ok(command) => command,
        Err(e) => return bad_request(e),
    };
    match translate::slash_command(&inbound, command).await {
        Ok(body) => acknowledgement(body),
        Err(e) => bad_request(e),
    }
}

/// `POST /slack/interactions`: buttons and shortcuts.
async fn interactions(inbound: Inbound, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let Some(payload) = form.get("payload") else {
        return bad_request(BadRequest("the payload field is required".into()));
    };
    let payload: InteractionPayload =
        match payloads::from_json("the interaction payload", payload.as_bytes()) {
            Ok(payload) => payload,
            Err(e) => return bad_request(e),
        };
    match translate::interaction(&inbound, payload).await {
        Ok(body) => acknowledgement(body),
        Err(e) => bad_request(e),
    }
}

/// `POST /slack/events`: the Events API.
async fn events(inbound: Inbound, headers: &HeaderMap, body: Bytes) -> Response {
    let payload: EventsPayload = match payloads::from_json("the event", &body) {
        Ok(payload) => payload,
        Err(e) => return bad_request(e),
    };
    let retry = headers
        .get("x-slack-retry-num")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    match translate::events(&inbound, payload, retry).await {
        Ok(EventAnswer::Challenge(challenge)) => {
            axum::Json(json!({ "challenge": challenge })).into_response()
        }
        Ok(EventAnswer::Done) => StatusCode::OK.into_response(),
        Err(e) => {
            tracing::error!("cannot handle a Slack event: {e:#}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the event could not be handled; please retry",
            )
                .into_response()
        }
    }
}

/// An `application/x-www-form-urlencoded` body.
struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    fn parse(body: &[u8]) -> Form {
        let fields = body
            .split(|&b| b == b'&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let mut parts = pair.splitn(2, |&b| b == b'=');
                let name = decode(parts.next().unwrap_or_default());
                let value = decode(parts.next().unwrap_or_default());
                (name, value)
            })
            .collect();
        Form { fields }
    }

    fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Percent-decodes one form component (`+` is a space).
fn decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => {
                let hex = std::str::from_utf8(&s[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = include_str!("../../../slack/manifest.yaml");
    const SOCKET_MANIFEST: &str = include_str!("../../../slack/manifest-socket-mode.yaml");

    /// The values of `key: value` lines, in order.
    fn values<'a>(yaml: &'a str, key: &str) -> Vec<&'a str> {
        yaml.lines()
            .filter_map(|line| line.trim_start().trim_start_matches("- ").strip_prefix(key))
            .filter_map(|rest| rest.strip_prefix(':'))
            .map(str::trim)
            .collect()
    }

    #[test]
    fn the_app_manifests_match_the_endpoints_commands_and_shortcut() {
        for manifest in [MANIFEST, SOCKET_MANIFEST] {
            assert_eq!(values(manifest, "command"), ["/insights", "/decision"]);
            for command in values(manifest, "command") {
                flywheel_insights::command::parse(&format!("{command} help"))
                    .unwrap_or_else(|e| panic!("{command} is not understood: {e}"));
            }
            assert_eq!(
                values(manifest, "callback_id"),
                [translate::SAVE_AS_INSIGHT]
            );
            for scope in [
                "chat:write",
                "files:write",
                "reactions:write",
                "commands",
                "channels:history",
            ] {
                assert!(
                    manifest.contains(&format!("      - {scope}\n")),
                    "{scope} is missing"
                );
            }
            assert_eq!(
                values(manifest, "bot_events"),
                [""],
                "message events are subscribed to"
            );
            assert!(manifest.contains("      - message.channels\n"));
        }
        let mut paths: Vec<&str> = values(MANIFEST, "url")
            .into_iter()
            .chain(values(MANIFEST, "request_url"))
            .map(|url| url.trim_start_matches("https://flywheel.example.com"))
            .collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(
            paths,
            ["/slack/commands", "/slack/events", "/slack/interactions"]
        );
        assert_eq!(values(MANIFEST, "socket_mode_enabled"), ["false"]);
        assert!(values(SOCKET_MANIFEST, "url").is_empty());
        assert!(values(SOCKET_MANIFEST, "request_url").is_empty());
        assert_eq!(values(SOCKET_MANIFEST, "socket_mode_enabled"), ["true"]);
    }

    #[test]
    fn forms_are_decoded() {
        let form = Form::parse(b"command=%2Finsights&text=ask+refunds%20now&empty=&bad=%zz&end=%4");
        assert_eq!(form.get("command"), Some("/insights"));
        assert_eq!(form.get("text"), Some("ask refunds now"));
        assert_eq!(form.get("empty"), Some(""));
        assert_eq!(form.get("bad"), Some("%zz"));
        assert_eq!(form.get("end"), Some("%4"));
        assert_eq!(form.get("missing"), None);
        assert_eq!(decode("caf%C3%A9".as_bytes()), "café");
    }
}
