//! Discord's REST API, paced the way Discord asks: per-route buckets learnt from the
//! `X-RateLimit-*` headers of each answer, the global limit of 50 requests a second, and a 429's
//! `retry_after` (the route's, or everyone's when `global` is set) honoured before the next
//! request. A 429 that asks for a short wait is waited out and retried here; a longer one is
//! handed back as transient with the wait, for the delivery worker to schedule.
//!
//! Requests go to `{api_url}/api/v10/…` (a local emulator works) with the bot token; the token
//! and response bodies are never logged. A message with files goes as `multipart/form-data`:
//! the JSON as `payload_json`, file `n` as `files[n]`. Failures become [`SendError`]s with a reason a person
//! can act on.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use flywheel_config::Secret;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::time::Instant;

use crate::services::channels::SendError;

/// Discord's global limit: requests a second across every route.
const GLOBAL_PER_SECOND: u32 = 50;
/// 429s waited out and retried within one call.
const RETRIES: u32 = 3;
/// The longest wait a call sits through itself; longer ones go back to the caller.
const LONGEST_INLINE_WAIT: Duration = Duration::from_secs(10);
/// The wait assumed when a 429 names none.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// How a request failed, with Discord's JSON error code when it sent one.
#[derive(Debug, Clone, PartialEq)]
pub struct RestError {
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// Discord's error code (`10003` unknown channel, `50001` missing access, …).
    pub code: Option<i64>,
    /// What went wrong, for the log; never a secret or a body.
    pub error: SendError,
}

impl fmt::Display for RestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

/// A Discord REST client for one bot.
pub struct Rest {
    http: reqwest::Client,
    api: String,
    token: Secret,
    limits: Mutex<Limits>,
    timeout: Option<Duration>,
}

impl fmt::Debug for Rest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token stays out of every log line.
        f.debug_struct("Rest")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Limits {
    /// The global bucket's theoretical arrival time (one request every 20 ms, bursts of 50).
    global_tat: Option<Instant>,
    /// Nothing goes out before this (a global 429).
    global_hold: Option<Instant>,
    /// Per route: what Discord said is left and when the bucket resets.
    routes: HashMap<String, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    remaining: u32,
    reset_at: Instant,
}

impl Rest {
    /// A client for the API at `api_url` (`https://discord.com`), with `timeout` per request
    /// (`None`: as long as the connection lives, for tests on a paused clock).
    pub fn new(
        api_url: &str,
        token: Secret,
        timeout: Option<Duration>,
    ) -> Result<Rest, reqwest::Error> {
        let mut builder = reqwest::Client::builder();
        if let Some(timeout) = timeout {
            builder = builder.timeout(timeout);
        }
        Ok(Rest {
            http: builder.build()?,
            api: format!("{}/api/v10", api_url.trim_end_matches('/')),
            token,
            limits: Mutex::new(Limits::default()),
            timeout,
        })
    }

    /// `GET path`.
    pub async fn get(&self, route: &str, path: &str) -> Result<Value, RestError> {
        self.call(Method::GET, route, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, route: &str, path: &str, body: &Value) -> Result<Value, RestError> {
        self.call(Method::POST, route, path, Some(body)).await
    }

    /// `POST path` with `payload` as `payload_json` and each of `files` (a name and its
    /// bytes) as `files[n]`, in a `multipart/form-data` body.
    pub async fn post_files(
        &self,
        route: &str,
        path: &str,
        payload: &Value,
        files: &[(String, Vec<u8>)],
    ) -> Result<Value, RestError> {
        let form = Form::new(payload, files);
        self.send(Method::POST, route, path, Body::Form(&form))
            .await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, route: &str, path: &str, body: &Value) -> Result<Value, RestError> {
        self.call(Method::PUT, route, path, Some(body)).await
    }

    /// `PUT path` without a body (a reaction).
    pub async fn put_empty(&self, route: &str, path: &str) -> Result<Value, RestError> {
        self.call(Method::PUT, route, path, None).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, route: &str, path: &str, body: &Value) -> Result<Value, RestError> {
        self.call(Method::PATCH, route, path, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, route: &str, path: &str) -> Result<Value, RestError> {
        self.call(Method::DELETE, route, path, None).await
    }

    /// One call, paced: `route` names its rate-limit bucket (the route with its major
    /// parameter, such as `POST /channels/123/messages`).
    pub async fn call(
        &self,
        method: Method,
        route: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, RestError> {
        let body = match body {
            Some(json) => Body::Json(json),
            None => Body::Empty,
        };
        self.send(method, route, path, body).await
    }

    async fn send(
        &self,
        method: Method,
        route: &str,
        path: &str,
        body: Body<'_>,
    ) -> Result<Value, RestError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.wait_turn(route).await;
            let url = format!("{}{path}", self.api);
            let mut request = self
                .http
                .request(method.clone(), &url)
                .header("authorization", format!("Bot {}", self.token.expose()))
                .header("user-agent", "DiscordBot (https://flywheel.invalid, 0.1)");
            match body {
                Body::Empty => {}
                Body::Json(json) => request = request.json(json),
                Body::Form(form) => {
                    request = request
                        .header("content-type", form.content_type())
                        .body(form.bytes.clone());
                }
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) => {
                    let why = if e.is_timeout() {
                        format!(
                            "Discord did not answer {method} {route} within {} s",
                            self.timeout.map_or(0.0, |t| t.as_secs_f32())
                        )
                    } else {
                        format!("the connection to Discord failed during {method} {route}")
                    };
                    return Err(RestError {
                        status: None,
                        code: None,
                        error: SendError::transient(why),
                    });
                }
            };
            let status = response.status();
            self.learn(route, response.headers());
            let text = response.text().await.unwrap_or_default();
            let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if status.is_success() {
                return Ok(json);
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = json["retry_after"]
                    .as_f64()
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64)
                    .unwrap_or(DEFAULT_RETRY_AFTER);
                let global = json["global"].as_bool().unwrap_or(false);
                metrics::counter!(crate::telemetry::RATE_LIMITED, "platform" => "discord")
                    .increment(1);
                self.hold(route, wait, global);
                tracing::debug!(
                    route,
                    global,
                    wait_s = wait.as_secs_f32(),
                    "Discord said 429"
                );
                if attempt <= RETRIES && wait <= LONGEST_INLINE_WAIT {
                    continue;
                }
                return Err(RestError {
                    status: Some(429),
                    code: None,
                    error: SendError::Transient {
                        reason: format!(
                            "Discord rate limited {method} {route}{}",
                            if global { " (global limit)" } else { "" }
                        ),
                        retry_after: Some(wait),
                    },
                });
            }
            return Err(classify(&method, route, status, &json));
        }
    }

    /// Waits until the route's bucket and the global limit allow a request, and counts it.
    async fn wait_turn(&self, route: &str) {
        loop {
            let until = {
                let mut limits = self.lock();
                let now = Instant::now();
                let mut until = limits.global_hold.filter(|h| *h > now);
                if let Some(bucket) = limits.routes.get(route)
                    && bucket.remaining == 0
                    && bucket.reset_at > now
                {
                    until = Some(until.map_or(bucket.reset_at, |u| u.max(bucket.reset_at)));
                }
                if until.is_none() {
                    // The global bucket: one request every 20 ms, up to 50 at once.
                    let interval = Duration::from_secs(1) / GLOBAL_PER_SECOND;
                    let tolerance = interval * (GLOBAL_PER_SECOND - 1);
                    let tat = limits.global_tat.unwrap_or(now).max(now);
                    let earliest = tat.checked_sub(tolerance).map_or(now, |t| t.max(now));
                    if earliest > now {
                        until = Some(earliest);
                    } else {
                        limits.global_tat = Some(tat + interval);
                        if let Some(bucket) = limits.routes.get_mut(route)
                            && bucket.reset_at > now
                        {
                            bucket.remaining = bucket.remaining.saturating_sub(1);
                        }
                    }
                }
                until
            };
            match until {
                Some(at) => tokio::time::sleep_until(at).await,
                None => return,
            }
        }
    }

    /// Reads the route's bucket from an answer's headers.
    fn learn(&self, route: &str, headers: &reqwest::header::HeaderMap) {
        let number = |name: &str| -> Option<f64> {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
        };
        let (Some(remaining), Some(reset_after)) = (
            number("x-ratelimit-remaining"),
            number("x-ratelimit-reset-after"),
        ) else {
            return;
        };
        if !(reset_after.is_finite() && reset_after >= 0.0 && remaining >= 0.0) {
            return;
        }
        let bucket = Bucket {
            remaining: remaining as u32,
            reset_at: Instant::now() + Duration::from_secs_f64(reset_after.min(3600.0)),
        };
        let mut limits = self.lock();
        if limits.routes.len() > 4096 {
            let now = Instant::now();
            limits.routes.retain(|_, b| b.reset_at > now);
        }
        limits.routes.insert(route.to_string(), bucket);
    }

    /// Holds the route (or everything, for a global limit) for `wait`.
    fn hold(&self, route: &str, wait: Duration, global: bool) {
        let until = Instant::now() + wait;
        let mut limits = self.lock();
        if global {
            limits.global_hold = Some(limits.global_hold.map_or(until, |h| h.max(until)));
        } else {
            let bucket = limits.routes.entry(route.to_string()).or_insert(Bucket {
                remaining: 0,
                reset_at: until,
            });
            bucket.remaining = 0;
            bucket.reset_at = bucket.reset_at.max(until);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Limits> {
        // A table of instants stays valid after a panic elsewhere.
        self.limits.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a request carries.
#[derive(Clone, Copy)]
enum Body<'a> {
    Empty,
    Json(&'a Value),
    Form(&'a Form),
}

/// A `multipart/form-data` body, encoded once for every attempt.
struct Form {
    boundary: String,
    bytes: Vec<u8>,
}

impl Form {
    fn new(payload: &Value, files: &[(String, Vec<u8>)]) -> Form {
        let json = payload.to_string();
        // A boundary that occurs in no part.
        let boundary = loop {
            let candidate = format!("flywheel-{:016x}", fastrand::u64(..));
            let found = |bytes: &[u8]| {
                bytes
                    .windows(candidate.len())
                    .any(|w| w == candidate.as_bytes())
            };
            if !found(json.as_bytes()) && !files.iter().any(|(_, bytes)| found(bytes)) {
                break candidate;
            }
        };
        let mut bytes = Vec::new();
        let mut part = |headers: String, content: &[u8]| {
            bytes.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
            bytes.extend_from_slice(content);
            bytes.extend_from_slice(b"\r\n");
        };
        part(
            "Content-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json"
                .to_string(),
            json.as_bytes(),
        );
        for (n, (name, content)) in files.iter().enumerate() {
            // File names are Flywheel's own (`chart.png`); quotes and line breaks are dropped
            // all the same.
            let name: String = name
                .chars()
                .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
                .collect();
            part(
                format!(
                    "Content-Disposition: form-data; name=\"files[{n}]\"; filename=\"{name}\"\r\n\
                     Content-Type: image/png"
                ),
                content,
            );
        }
        bytes.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        Form { boundary, bytes }
    }

    fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }
}

/// Sorts a failed answer into transient or permanent, with a reason naming the fix.
fn classify(method: &Method, route: &str, status: StatusCode, json: &Value) -> RestError {
    let code = json["code"].as_i64();
    let message = json["message"]
        .as_str()
        .map(|m| m.chars().take(200).collect::<String>())
        .unwrap_or_default();
    let error = match (status.as_u16(), code) {
        (500..=599 | 408, _) => SendError::transient(format!(
            "Discord answered HTTP {} to {method} {route}",
            status.as_u16()
        )),
        (401, _) => SendError::permanent(
            "Discord refused the bot token (HTTP 401): it was reset or revoked; copy a new one \
             from the Developer Portal (Bot → Reset Token) into DISCORD_BOT_TOKEN and restart",
        ),
        (_, Some(10003)) => SendError::permanent(format!(
            "Discord has no such channel ({route}, 10003 Unknown Channel): check the channel id \
             in the team's channels"
        )),
        (_, Some(50001)) => SendError::permanent(format!(
            "the bot cannot see the channel ({route}, 50001 Missing Access): add the bot to the \
             channel, or give it the View Channel permission there"
        )),
        (_, Some(50013)) => SendError::permanent(format!(
            "the bot lacks a permission for {route} (50013 Missing Permissions): give it Send \
             Messages, Embed Links, Attach Files, Create Public Threads and Send Messages in \
             Threads"
        )),
        (403, _) => SendError::permanent(format!(
            "Discord refused {method} {route} (HTTP 403): check the bot's permissions in the \
             channel"
        )),
        (404, _) => SendError::permanent(format!(
            "Discord has no {route} (HTTP 404{}): check the id, and discord.api_url",
            code.map(|c| format!(", code {c}")).unwrap_or_default()
        )),
        (status, code) => SendError::permanent(format!(
            "Discord refused {method} {route} (HTTP {status}{}): {message}",
            code.map(|c| format!(", code {c}")).unwrap_or_default()
        )),
    };
    RestError {
        status: Some(status.as_u16()),
        code,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_sorted_with_the_fix_named() {
        let c = |status: u16, body: Value| {
            classify(
                &Method::POST,
                "POST /channels/1/messages",
                StatusCode::from_u16(status).unwrap(),
                &body,
            )
            .error
        };
        assert!(matches!(c(502, Value::Null), SendError::Transient { .. }));
        assert!(
            matches!(c(401, serde_json::json!({"code": 0})), SendError::Permanent { reason } if reason.contains("DISCORD_BOT_TOKEN"))
        );
        assert!(
            matches!(c(404, serde_json::json!({"code": 10003})), SendError::Permanent { reason } if reason.contains("Unknown Channel"))
        );
        assert!(
            matches!(c(403, serde_json::json!({"code": 50013})), SendError::Permanent { reason } if reason.contains("Send Messages"))
        );
        assert!(
            matches!(c(400, serde_json::json!({"code": 50035, "message": "Invalid Form Body"})), SendError::Permanent { reason } if reason.contains("Invalid Form Body"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_bucket_waits_for_its_reset_and_the_global_limit_paces_bursts() {
        let rest = Rest::new("http://127.0.0.1:9", Secret::new("t"), None).unwrap();
        rest.hold("a", Duration::from_secs(2), false);
        let start = Instant::now();
        rest.wait_turn("b").await;
        assert_eq!(start.elapsed(), Duration::ZERO, "another route is not held");
        rest.wait_turn("a").await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        let start = Instant::now();
        for _ in 0..100 {
            rest.wait_turn("c").await;
        }
        // 50 at once, then one every 20 ms, less the burst already used above.
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(900) && took <= Duration::from_millis(1100),
            "{took:?}"
        );
        rest.hold("x", Duration::from_secs(5), true);
        let start = Instant::now();
        rest.wait_turn("d").await;
        assert!(
            start.elapsed() >= Duration::from_secs(5),
            "a global 429 holds every route"
        );
    }
}
