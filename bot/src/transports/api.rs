//! The HTTP ingestion API: `POST /api/v1/insights` stores insights sent as JSON (one object or
//! an array) or NDJSON through [`intake`], and
//! `GET /api/v1/insights?q=QUERY` answers a question as `flywheel ask --json` does.
//!
//! Every request carries `Authorization: Bearer TOKEN`, one of the `[api]` tokens (see
//! [`flywheel_config::ApiTokens`]); without any configured token every request is answered 503.
//! A token limited to teams reads as one of its teams sees (`?team=`, by default its first) and
//! writes insights visible to its teams only. Errors are JSON objects with an `error` message.
//! Tokens are never logged.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use flywheel_config::ApiToken;
use flywheel_insights::import::Format;
use futures::StreamExt as _;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::app::App;
use crate::services::ask::{AskError, ask_as};
use crate::services::intake::{self, Outcome, Submission, SubmitError, Submitted};
use crate::transports::Transport;

/// Where the API lives.
pub const PATH: &str = "/api/v1/insights";

/// Results a question returns unless it says otherwise, as `flywheel ask`.
const DEFAULT_LIMIT: usize = 5;
/// Results a question may ask for at most, as `flywheel ask --limit`.
const MAX_LIMIT: usize = 100;

/// The API as a transport: it contributes its routes to the service's listener.
#[derive(Debug, Clone)]
pub struct HttpApi {
    app: App,
    /// One permit per request handled at once (`[api] max_requests`).
    busy: Arc<Semaphore>,
}

impl HttpApi {
    /// The API over `app`, with the tokens and limits of its `[api]` configuration.
    pub fn new(app: App) -> HttpApi {
        let busy = Arc::new(Semaphore::new(app.config.api.max_requests));
        HttpApi { app, busy }
    }
}

impl Transport for HttpApi {
    fn name(&self) -> &'static str {
        "HTTP ingestion API"
    }

    fn routes(&self) -> Router {
        if self.app.config.api.tokens.is_empty() {
            tracing::info!(
                "the HTTP API at {PATH} is disabled: no token in FLYWHEEL_API_TOKENS ([api] tokens)"
            );
        }
        Router::new()
            .route(PATH, get(search).post(submit))
            .with_state(self.clone())
    }
}

/// A JSON error answer.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

/// The token the request carries, or the answer refusing it.
#[allow(clippy::result_large_err)]
fn authorize<'a>(app: &'a App, headers: &HeaderMap) -> Result<&'a ApiToken, Response> {
    let tokens = &app.config.api.tokens;
    if tokens.is_empty() {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the HTTP API is disabled: set FLYWHEEL_API_TOKENS (or [api] tokens_env or \
             tokens_file) to NAME:TOKEN to enable it",
        ));
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        });
    let refuse = |message: &str, challenge: &'static str| {
        let mut response = error(StatusCode::UNAUTHORIZED, message);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
        response
    };
    let Some(presented) = presented else {
        tracing::warn!("refused an API request: no bearer token");
        return Err(refuse(
            "send a token: Authorization: Bearer TOKEN",
            "Bearer realm=\"flywheel\"",
        ));
    };
    match tokens.find(presented) {
        Some(token) => Ok(token),
        None => {
            // What was presented is never logged: it may be a real token of something else.
            tracing::warn!("refused an API request: unknown token");
            Err(refuse(
                "the token is not valid",
                "Bearer realm=\"flywheel\", error=\"invalid_token\"",
            ))
        }
    }
}

/// What an admitted request holds: its token, its query parameters, and its turn.
type Admitted<'a> = (&'a ApiToken, HashMap<String, String>, OwnedSemaphorePermit);

/// The request's token, query parameters and turn, or the answer refusing it: a request beyond
/// `[api] max_requests` at once is answered 503 at once rather than queued, so no body waits in
/// memory for its turn.
#[allow(clippy::result_large_err)]
fn admit<'a>(
    api: &'a HttpApi,
    headers: &HeaderMap,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Admitted<'a>, Response> {
    let token = authorize(&api.app, headers)?;
    let params = match params {
        Ok(Query(params)) => params,
        Err(e) => return Err(error(StatusCode::BAD_REQUEST, e.body_text())),
    };
    let Ok(turn) = api.busy.clone().try_acquire_owned() else {
        let mut busy = error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "busy: {} API requests are being handled ([api] max_requests); try again in a moment",
                api.app.config.api.max_requests
            ),
        );
        busy.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return Err(busy);
    };
    Ok((token, params, turn))
}

/// The format the `Content-Type` names, or the 415 answer.
#[allow(clippy::result_large_err)]
fn format_of(headers: &HeaderMap) -> Result<Format, Response> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = given
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(Format::Json),
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => Ok(Format::Ndjson),
        _ => Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "unsupported Content-Type {given:?}: send application/json (one insight or an \
                 array) or application/x-ndjson (one insight per line)"
            ),
        )),
    }
}

/// The body, refused with 413 past `max` bytes (before it is read, when its length says so).
async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Vec<u8>, Response> {
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body is larger than {max} bytes ([api] max_body_bytes): send fewer insights \
                 per request"
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                format!("the body could not be read: {e}"),
            )
        })?;
        if bytes.len() + chunk.len() > max {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A yes-or-no query parameter: absent is no.
#[allow(clippy::result_large_err)]
fn flag(params: &HashMap<String, String>, name: &str) -> Result<bool, Response> {
    match params.get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if matches!(v.as_str(), "true" | "1" | "yes" | "") => Ok(true),
        Some(v) if matches!(v.as_str(), "false" | "0" | "no") => Ok(false),
        Some(v) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("{name}={v:?}: write {name}=true or {name}=false"),
        )),
    }
}

/// `POST /api/v1/insights[?strict=true]`.
async fn submit(
    State(api): State<HttpApi>,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (token, params, _turn) = match admit(&api, &headers, params) {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    let app = &api.app;
    let strict = match flag(&params, "strict") {
        Ok(strict) => strict,
        Err(refused) => return refused,
    };
    let format = match format_of(&headers) {
        Ok(format) => format,
        Err(refused) => return refused,
    };
    let body = match read_body(&headers, body, app.config.api.max_body_bytes).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let submission = Submission {
        format,
        source: token.name.clone(),
        teams: token.teams.clone(),
        strict,
        max_items: app.config.api.max_items,
        actor: token.actor(),
    };
    match intake::submit(app, body, &submission).await {
        Ok(submitted) => {
            tracing::info!(
                actor = %submission.actor,
                items = submitted.items.len(),
                "insights received"
            );
            (StatusCode::OK, axum::Json(report(&submitted))).into_response()
        }
        Err(SubmitError::Malformed {
            message,
            line,
            column,
        }) => {
            let mut body = json!({ "error": message });
            if let Some(line) = line {
                body["line"] = line.into();
            }
            if let Some(column) = column {
                body["column"] = column.into();
            }
            (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
        }
        Err(e @ SubmitError::TooMany { .. }) => error(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
        Err(refused @ SubmitError::Refused { .. }) => {
            let message = refused.to_string();
            let SubmitError::Refused { submitted, .. } = refused else {
                unreachable!("matched above")
            };
            let mut body = report(&submitted);
            body["error"] = message.into();
            (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
        }
        Err(SubmitError::Store(e)) => {
            tracing::error!("storing insights from the API failed: {e:#}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the insights could not be stored (some may have been); sending the same \
                 request again is safe",
            )
        }
    }
}

/// The answer to a submission: counts, then one result per item.
fn report(submitted: &Submitted) -> Value {
    let results: Vec<Value> = submitted
        .items
        .iter()
        .map(|item| {
            let (status, id, reason) = match &item.outcome {
                Outcome::Created(id) => ("created", Some(*id), None),
                Outcome::Updated(id) => ("updated", Some(*id), None),
                Outcome::Unchanged(id) => ("unchanged", Some(*id), None),
                Outcome::Rejected(why) => ("rejected", None, Some(why.as_str())),
                Outcome::NotWritten => ("not_written", None, None),
            };
            let mut result = json!({"index": item.index, "row": item.row, "status": status});
            if let Some(id) = id {
                result["id"] = id.into();
            }
            if let Some(reason) = reason {
                result["reason"] = reason.into();
            }
            result
        })
        .collect();
    json!({
        "created": submitted.count(|o| matches!(o, Outcome::Created(_))),
        "updated": submitted.count(|o| matches!(o, Outcome::Updated(_))),
        "unchanged": submitted.count(|o| matches!(o, Outcome::Unchanged(_))),
        "rejected": submitted.count(|o| matches!(o, Outcome::Rejected(_))),
        "redacted": submitted.redacted,
        "ignored_keys": submitted.ignored_keys,
        "results": results,
    })
}

/// `GET /api/v1/insights?q=QUERY[&limit=N][&team=NAME]`.
async fn search(
    State(api): State<HttpApi>,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let (token, params, _turn) = match admit(&api, &headers, params) {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    let app = &api.app;
    let Some(text) = params.get("q") else {
        return error(
            StatusCode::BAD_REQUEST,
            "ask with ?q=QUERY: words, \"a phrase\" or a filter such as theme:billing",
        );
    };
    let limit = match params.get("limit").map(|l| l.trim().parse::<usize>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if n >= 1 => n.min(MAX_LIMIT),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
            );
        }
    };
    let team = match (params.get("team"), token.teams.first()) {
        (None, None) => None,
        (None, Some(first)) => Some(first.as_str()),
        (Some(asked), _)
            if token.teams.is_empty()
                || token.teams.iter().any(|t| t.eq_ignore_ascii_case(asked)) =>
        {
            Some(asked.as_str())
        }
        (Some(asked), _) => {
            return error(
                StatusCode::FORBIDDEN,
                format!(
                    "this token may ask as {} only, not as {asked:?}",
                    token.teams.join(", ")
                ),
            );
        }
    };
    let asked = ask_as(app, text, team, limit).await;
    match asked {
        Ok(asked) => axum::Json(asked).into_response(),
        Err(AskError::Store(e)) => {
            tracing::error!("answering an API question failed: {e:#}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the question could not be answered; try again",
            )
        }
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}
