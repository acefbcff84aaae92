//! The Slack adapter: posts through slack-morphism's hyper client to the Web API at the
//! configured base URL, paced by the [`Limiter`], and classifies every failure as transient or
//! permanent for the delivery worker.
//!
//! Requests are built from this module's own serde types rather than slack-morphism's message
//! models, so what is sent is exactly what [`render`](super::render) produced and what is read
//! back from `conversations.history` is only what is needed (a `ts`, the metadata, the names of
//! shared files): a message with blocks the model does not know cannot break the duplicate
//! check.
//!
//! A chart in a message is drawn when it is sent and uploaded right after the message, into the
//! same channel (or thread), the way Slack takes files now: `files.getUploadURLExternal`, the
//! bytes posted to the URL it names, then `files.completeUploadExternal`. A delivery's chart
//! file is named after its marker, so a delivery found already posted after a crash
//! ([`Adapter::complete`]) uploads only the charts the channel does not show yet.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flywheel_config::{Secret, SlackConfig};
use flywheel_insights::address::{ChannelAddress, Platform};
use flywheel_insights::message::Message;
use futures::FutureExt;
use futures::future::BoxFuture;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use super::limiter::{Limiter, Rate};
use super::render::{self, Rendered};
use crate::services::channels::{Adapter, Marker, SendError, Sent};
use crate::services::charts;

/// The metadata `event_type` of every digest delivery.
pub const DELIVERY_EVENT_TYPE: &str = "flywheel_delivery";
/// The key of the marker in the metadata's `event_payload`.
pub const DELIVERY_PAYLOAD_KEY: &str = "delivery";

type Connector = SlackClientHyperConnector<HttpsConnector<HttpConnector>>;

/// How the adapter paces and bounds its calls. The defaults follow Slack's documented limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackOptions {
    /// Posts per channel: Slack allows about one a second, with short bursts.
    pub channel_rate: Rate,
    /// Posts across the workspace.
    pub workspace_rate: Rate,
    /// How long one API call may take before it counts as a (transient) failure; `None` waits
    /// as long as the connection lives (for tests on a paused clock, where any pending timer
    /// would fire at once).
    pub request_timeout: Option<Duration>,
    /// How far back [`Adapter::find_sent`] looks for a marked message.
    pub history_window: Duration,
    /// How many pages (of 200 messages) of history it reads at most.
    pub history_pages: u32,
}

impl Default for SlackOptions {
    fn default() -> SlackOptions {
        SlackOptions {
            channel_rate: Rate::per_second(1, 3),
            workspace_rate: Rate::per_second(20, 20),
            request_timeout: Some(Duration::from_secs(10)),
            history_window: Duration::from_secs(3 * 24 * 3600),
            history_pages: 5,
        }
    }
}

/// Who the bot token belongs to, from `auth.test`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SlackIdentity {
    /// The bot's user id (`U…`).
    pub user_id: String,
    /// The bot's user name.
    #[serde(default)]
    pub user: String,
    /// The workspace id (`T…`).
    #[serde(default)]
    pub team_id: String,
    /// The workspace name.
    #[serde(default)]
    pub team: String,
}

/// Posts to Slack. Cheap to share behind an `Arc`; one per workspace.
pub struct SlackAdapter {
    client: SlackClient<Connector>,
    token: SlackApiToken,
    api_url: String,
    limiter: Limiter,
    options: SlackOptions,
}

impl fmt::Debug for SlackAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token stays out of every log line.
        f.debug_struct("SlackAdapter")
            .field("api_url", &self.api_url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SlackAdapter {
    /// An adapter for the Web API at `config.api_url`, posting with `bot_token`, with the
    /// default pacing.
    pub fn new(config: &SlackConfig, bot_token: Secret) -> SlackAdapter {
        SlackAdapter::with_options(config, bot_token, SlackOptions::default())
    }

    /// An adapter with explicit pacing and bounds.
    pub fn with_options(
        config: &SlackConfig,
        bot_token: Secret,
        options: SlackOptions,
    ) -> SlackAdapter {
        // slack-morphism's own constructor only speaks https and needs the system's CA store;
        // this one carries its roots and also speaks plain http, for a local Slack emulator.
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let api_url = config.api_url.trim_end_matches('/').to_string();
        if config.token_in_clear() {
            tracing::warn!(
                api_url,
                "the Slack API URL is plain http: the bot token crosses the network unencrypted"
            );
        }
        let connector =
            SlackClientHyperConnector::with_connector(https).with_slack_api_url(&api_url);
        SlackAdapter {
            client: SlackClient::new(connector),
            token: SlackApiToken::new(SlackApiTokenValue(bot_token.expose().to_string())),
            api_url,
            limiter: Limiter::new(options.channel_rate, options.workspace_rate),
            options,
        }
    }

    /// The API base URL in use.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// Checks the token with `auth.test`: who the bot is, in which workspace.
    pub async fn identify(&self) -> Result<SlackIdentity, SendError> {
        let session = self.client.open_session(&self.token);
        self.call("auth.test", None, async {
            session
                .http_session_api
                .http_post::<_, SlackIdentity>("auth.test", &serde_json::json!({}), None)
                .await
        })
        .await
    }

    /// Posts an already rendered message to the channel with id `channel`: in the thread under
    /// `thread` when given, marked with `marker` when given.
    pub async fn post(
        &self,
        channel: &str,
        rendered: &Rendered,
        thread: Option<&str>,
        marker: Option<&Marker>,
    ) -> Result<Sent, SendError> {
        let request = PostMessage {
            channel,
            text: &rendered.text,
            blocks: (!rendered.blocks.is_empty()).then_some(&rendered.blocks),
            thread_ts: thread,
            metadata: marker.map(|m| Metadata {
                event_type: DELIVERY_EVENT_TYPE,
                event_payload: DeliveryPayload { delivery: m.key() },
            }),
            // Customer text must never ping anyone: no name linking, no automatic parsing.
            link_names: false,
            parse: "none",
            unfurl_links: false,
            unfurl_media: false,
        };
        self.limiter.acquire(channel).await;
        let session = self.client.open_session(&self.token);
        let posted: Posted = self
            .call("chat.postMessage", Some(channel), async {
                session
                    .http_session_api
                    .http_post("chat.postMessage", &request, None)
                    .await
            })
            .await?;
        Ok(Sent {
            message_ref: posted.ts,
        })
    }

    /// The `ts` of the message marked `marker` among the recent messages of `channel`.
    pub async fn find_marked(
        &self,
        channel: &str,
        thread: Option<&str>,
        marker: &Marker,
    ) -> Result<Option<String>, SendError> {
        let key = marker.key();
        let oldest = SystemTime::now()
            .checked_sub(self.options.history_window)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| format!("{}.000000", d.as_secs()));
        let mut found = None;
        self.read_messages(channel, thread, oldest, true, |page| {
            found = page
                .iter()
                .find(|m| m.is_marked(&key))
                .map(|m| m.ts.clone());
            found.is_none()
        })
        .await?;
        Ok(found)
    }

    /// The names of the files shared in the channel with id `channel` after the message
    /// `after`, among its recent history.
    pub async fn files_after(
        &self,
        channel: &str,
        after: &str,
    ) -> Result<HashSet<String>, SendError> {
        let mut names = HashSet::new();
        self.read_messages(channel, None, Some(after.to_string()), false, |page| {
            names.extend(
                page.iter()
                    .flat_map(|m| &m.files)
                    .filter_map(|f| f.name.clone()),
            );
            true
        })
        .await?;
        Ok(names)
    }

    /// Reads the history of the channel with id `channel` (`conversations.history`), or of the
    /// thread under its message `thread` (`conversations.replies`), after `oldest` when given,
    /// at most [`SlackOptions::history_pages`] pages, handing each page to `page` until it
    /// answers `false` or the history ends.
    async fn read_messages(
        &self,
        channel: &str,
        thread: Option<&str>,
        oldest: Option<String>,
        metadata: bool,
        mut page: impl FnMut(&[HistoryMessage]) -> bool,
    ) -> Result<(), SendError> {
        let limit = "200".to_string();
        let include = metadata.then(|| "true".to_string());
        let channel_id = channel.to_string();
        let thread = thread.map(str::to_string);
        let method = if thread.is_some() {
            "conversations.replies"
        } else {
            "conversations.history"
        };
        let mut cursor: Option<String> = None;
        for _ in 0..self.options.history_pages.max(1) {
            let params = vec![
                ("channel", Some(&channel_id)),
                ("ts", thread.as_ref()),
                ("limit", Some(&limit)),
                ("include_all_metadata", include.as_ref()),
                ("oldest", oldest.as_ref()),
                ("cursor", cursor.as_ref()),
            ];
            let session = self.client.open_session(&self.token);
            let read: History = self
                .call(method, Some(channel), async {
                    session
                        .http_session_api
                        .http_get(method, &params, None)
                        .await
                })
                .await?;
            if !page(&read.messages) {
                break;
            }
            cursor = read
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.is_empty());
            if cursor.is_none() || read.has_more == Some(false) {
                break;
            }
        }
        Ok(())
    }

    /// The permalink of the message `ts` in the channel with id `channel` (`chat.getPermalink`).
    pub async fn permalink(&self, channel: &str, ts: &str) -> Result<String, SendError> {
        let channel_id = channel.to_string();
        let message_ts = ts.to_string();
        let params = vec![
            ("channel", Some(&channel_id)),
            ("message_ts", Some(&message_ts)),
        ];
        let session = self.client.open_session(&self.token);
        let found: Permalink = self
            .call("chat.getPermalink", Some(channel), async {
                session
                    .http_session_api
                    .http_get("chat.getPermalink", &params, None)
                    .await
            })
            .await?;
        Ok(found.permalink)
    }

    /// Uploads the PNG `png` as `filename` titled `title` (with `alt` for screen readers) and
    /// shares it in the channel with id `channel`, in the thread under `thread` when given:
    /// the file's id.
    pub async fn upload_png(
        &self,
        channel: &str,
        thread: Option<&str>,
        filename: &str,
        title: &str,
        alt: &str,
        png: Vec<u8>,
    ) -> Result<String, SendError> {
        let session = self.client.open_session(&self.token);
        let alt: String = alt.chars().take(MAX_ALT_TEXT).collect();
        let ticket = SlackApiFilesGetUploadUrlExternalRequest::new(filename.to_string(), png.len())
            .with_alt_txt(alt);
        let ticket = self
            .call("files.getUploadURLExternal", Some(channel), async {
                session.get_upload_url_external(&ticket).await
            })
            .await?;
        let bytes = SlackApiFilesUploadViaUrlRequest::new(
            ticket.upload_url.clone(),
            png,
            "image/png".to_string(),
        );
        self.call("the upload URL", Some(channel), async {
            session.files_upload_via_url(&bytes).await
        })
        .await?;
        let title: String = title.chars().take(MAX_FILE_TITLE).collect();
        let complete = SlackApiFilesCompleteUploadExternalRequest::new(vec![
            SlackApiFilesComplete::new(ticket.file_id.clone()).with_title(title),
        ])
        .with_channel_id(SlackChannelId(channel.to_string()))
        .opt_thread_ts(thread.map(|ts| SlackTs(ts.to_string())));
        self.call("files.completeUploadExternal", Some(channel), async {
            session.files_complete_upload_external(&complete).await
        })
        .await?;
        Ok(ticket.file_id.0)
    }

    /// Draws and uploads each chart of `message` whose file name is not in `present`, into
    /// the channel with id `channel` (in the thread under `thread` when given). A chart that
    /// cannot be drawn is left out with a warning: the message describes it in words.
    async fn upload_charts(
        &self,
        channel: &str,
        thread: Option<&str>,
        message: &Message,
        marker: Option<&Marker>,
        present: &HashSet<String>,
    ) -> Result<(), SendError> {
        for (n, spec) in message.charts().enumerate() {
            let filename = chart_filename(marker, n);
            if present.contains(&filename) {
                continue;
            }
            let chart = match charts::draw(spec).await {
                Ok(chart) => chart,
                Err(e) => {
                    tracing::warn!(channel, "cannot draw a chart, leaving it out: {e}");
                    continue;
                }
            };
            self.upload_png(
                channel,
                thread,
                &filename,
                &spec.title,
                &spec.describe(),
                chart.png,
            )
            .await?;
        }
        Ok(())
    }

    /// Posts `message` to the channel with id `channel` (in the thread under `thread` when
    /// given), then its charts. Once the message is posted, a chart Slack refuses for good is
    /// only logged: the message is there, and sending it again would post it twice.
    async fn post_with_charts(
        &self,
        channel: &str,
        thread: Option<&str>,
        message: &Message,
        marker: Option<&Marker>,
    ) -> Result<Sent, SendError> {
        let rendered = render::render(message);
        let sent = self.post(channel, &rendered, thread, marker).await?;
        match self
            .upload_charts(channel, thread, message, marker, &HashSet::new())
            .await
        {
            Ok(()) => Ok(sent),
            Err(error @ SendError::Transient { .. }) => Err(error),
            Err(SendError::Permanent { reason }) => {
                tracing::warn!(
                    channel,
                    "the message was posted without its chart: {reason}"
                );
                Ok(sent)
            }
        }
    }

    /// Runs one API call under the timeout and turns its failure into a [`SendError`].
    async fn call<T>(
        &self,
        method: &str,
        channel: Option<&str>,
        request: impl Future<Output = Result<T, SlackClientError>>,
    ) -> Result<T, SendError> {
        let result = match self.options.request_timeout {
            None => request.await,
            Some(limit) => match tokio::time::timeout(limit, request).await {
                Ok(result) => result,
                Err(_) => {
                    return Err(SendError::transient(format!(
                        "Slack did not answer {method} within {} s",
                        limit.as_secs_f32()
                    )));
                }
            },
        };
        result.map_err(|error| {
            let error = classify(method, channel, &error);
            if let (
                Some(channel),
                SendError::Transient {
                    retry_after: Some(wait),
                    ..
                },
            ) = (channel, &error)
            {
                self.limiter.back_off(channel, *wait);
            }
            tracing::debug!(method, channel, %error, "Slack call failed");
            error
        })
    }
}

fn slack_channel(channel: &ChannelAddress) -> Result<&str, SendError> {
    if channel.platform == Platform::Slack {
        Ok(&channel.id)
    } else {
        Err(SendError::permanent(format!(
            "{channel} is not a Slack channel"
        )))
    }
}

/// The longest alt text Slack takes for a file.
const MAX_ALT_TEXT: usize = 1000;
/// The longest file title kept.
const MAX_FILE_TITLE: usize = 250;

/// The file name of the `n`-th chart of a message: named after the delivery's marker, so that
/// the delivery can tell which of its charts the channel already shows.
pub fn chart_filename(marker: Option<&Marker>, n: usize) -> String {
    match marker {
        Some(marker) => format!("{}-chart{}.png", marker.key(), n + 1),
        None => format!("chart{}.png", n + 1),
    }
}

/// How long to wait when Slack says 429 without a usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Sorts a failed call into transient (try again, maybe after a wait) or permanent (say why and
/// stop), with a reason a person can act on.
pub(crate) fn classify(method: &str, channel: Option<&str>, error: &SlackClientError) -> SendError {
    let where_ = channel.map_or_else(String::new, |c| format!(" for channel {c}"));
    match error {
        SlackClientError::RateLimitError(e) => {
            metrics::counter!(crate::telemetry::RATE_LIMITED, "platform" => "slack").increment(1);
            SendError::Transient {
                reason: format!("Slack rate limited {method}{where_}"),
                retry_after: Some(e.retry_after.unwrap_or(DEFAULT_RETRY_AFTER)),
            }
        }
        SlackClientError::ApiError(e) => classify_api_error(method, channel, &e.code, e),
        SlackClientError::HttpError(e) => {
            let status = e.status_code;
            if status.is_server_error() || status.as_u16() == 408 {
                SendError::transient(format!("Slack answered HTTP {status} to {method}{where_}"))
            } else if status.as_u16() == 401 || status.as_u16() == 403 {
                SendError::permanent(format!(
                    "Slack refused the bot token (HTTP {status}): check SLACK_BOT_TOKEN"
                ))
            } else if status.as_u16() == 404 {
                SendError::permanent(format!(
                    "Slack's API has no {method} at the configured URL (HTTP 404): check slack.api_url"
                ))
            } else {
                SendError::permanent(format!("Slack answered HTTP {status} to {method}{where_}"))
            }
        }
        SlackClientError::HttpProtocolError(e) => SendError::transient(format!(
            "the connection to Slack failed during {method}{where_}: {}",
            e.cause
                .as_deref()
                .map_or_else(|| "no reason given".to_string(), |cause| readable(cause))
        )),
        SlackClientError::EndOfStream(_) | SlackClientError::SystemError(_) => {
            SendError::transient(format!(
                "the connection to Slack failed during {method}{where_}: {}",
                one_line(&error.to_string())
            ))
        }
        SlackClientError::ProtocolError(_) | SlackClientError::SocketModeProtocolError(_) => {
            SendError::transient(format!(
                "Slack's answer to {method}{where_} could not be read"
            ))
        }
    }
}

fn classify_api_error(
    method: &str,
    channel: Option<&str>,
    code: &str,
    error: &slack_morphism::errors::SlackClientApiError,
) -> SendError {
    let channel = channel.unwrap_or("?");
    let permanent = |reason: String| SendError::permanent(format!("{reason} ({code})"));
    match code {
        "channel_not_found" => permanent(format!(
            "Slack has no channel {channel} that the bot can see: check the channel id, and for a private channel invite the bot with /invite @Flywheel"
        )),
        "not_in_channel" => permanent(format!(
            "the bot is not a member of channel {channel}: invite the bot with /invite @Flywheel"
        )),
        "is_archived" => permanent(format!(
            "channel {channel} is archived: unarchive it or remove it from the team's channels"
        )),
        "invalid_auth" | "not_authed" | "account_inactive" | "token_revoked" | "token_expired"
        | "no_permission" | "org_login_required" | "ekm_access_denied" => permanent(
            "Slack refused the bot token: check SLACK_BOT_TOKEN and that the app is still installed"
                .to_string(),
        ),
        "missing_scope" => {
            let needed = error
                .http_response_body
                .as_deref()
                .and_then(|body| serde_json::from_str::<Value>(body).ok())
                .and_then(|body| body["needed"].as_str().map(str::to_string));
            permanent(match needed {
                Some(needed) => format!(
                    "the Slack app lacks the scope {needed} for {method}: add it under OAuth & Permissions and reinstall the app"
                ),
                None => format!(
                    "the Slack app lacks a scope for {method}: add it under OAuth & Permissions and reinstall the app"
                ),
            })
        }
        "invalid_blocks" | "invalid_blocks_format" | "msg_too_long" | "no_text"
        | "invalid_metadata_format" | "invalid_metadata_schema" | "metadata_too_large"
        | "too_many_attachments" => permanent(format!(
            "Slack refused the message layout in channel {channel}; Flywheel's Slack rendering should have prevented this, please report it"
        )),
        "restricted_action" | "restricted_action_read_only_channel"
        | "restricted_action_thread_only_channel" | "restricted_action_non_threadable_channel"
        | "cannot_reply_to_message" | "thread_reply_not_allowed" | "message_limit_exceeded"
        | "team_access_not_granted" | "channel_is_archived" => permanent(format!(
            "Slack does not let the bot post in channel {channel}: check the channel's posting permissions"
        )),
        "ratelimited" | "rate_limited" => SendError::Transient {
            reason: format!("Slack rate limited {method}"),
            retry_after: Some(DEFAULT_RETRY_AFTER),
        },
        "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout"
        | "team_added_to_org" => {
            SendError::transient(format!("Slack failed on {method}: {code}"))
        }
        other => permanent(format!("Slack refused {method} in channel {channel}: {other}")),
    }
}

/// What went wrong with a connection, in words a person can act on: the operating system's
/// reason when there is one (connection refused, timed out, …), else the innermost error's
/// message, never a debug dump.
fn readable(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "connection refused (check slack.api_url and that the network reaches it)"
                        .to_string()
                }
                std::io::ErrorKind::TimedOut => "the connection timed out".to_string(),
                _ => one_line(&io.to_string()),
            };
        }
        innermost = e;
        current = e.source();
    }
    one_line(&innermost.to_string())
}

fn one_line(s: &str) -> String {
    let line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    line.chars().take(300).collect()
}

#[derive(Serialize)]
struct PostMessage<'a> {
    channel: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    blocks: Option<&'a Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_ts: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata>,
    link_names: bool,
    parse: &'static str,
    unfurl_links: bool,
    unfurl_media: bool,
}

#[derive(Serialize)]
struct Metadata {
    event_type: &'static str,
    event_payload: DeliveryPayload,
}

#[derive(Serialize)]
struct DeliveryPayload {
    delivery: String,
}

#[derive(Deserialize)]
struct Posted {
    ts: String,
}

#[derive(Deserialize)]
struct Permalink {
    permalink: String,
}

#[derive(Deserialize)]
struct History {
    #[serde(default)]
    messages: Vec<HistoryMessage>,
    has_more: Option<bool>,
    response_metadata: Option<ResponseMetadata>,
}

#[derive(Deserialize)]
struct ResponseMetadata {
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct HistoryMessage {
    ts: String,
    metadata: Option<Value>,
    #[serde(default)]
    files: Vec<HistoryFile>,
}

#[derive(Deserialize)]
struct HistoryFile {
    name: Option<String>,
}

impl HistoryMessage {
    fn is_marked(&self, key: &str) -> bool {
        self.metadata.as_ref().is_some_and(|m| {
            m["event_type"] == DELIVERY_EVENT_TYPE
                && m["event_payload"][DELIVERY_PAYLOAD_KEY] == key
        })
    }
}

impl Adapter for SlackAdapter {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    fn send<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        message: &'a Message,
        marker: Option<&'a Marker>,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        async move {
            let channel = slack_channel(channel)?;
            self.post_with_charts(channel, None, message, marker).await
        }
        .boxed()
    }

    fn reply<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        thread: &'a str,
        message: &'a Message,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        async move {
            let channel = slack_channel(channel)?;
            self.post_with_charts(channel, Some(thread), message, None)
                .await
        }
        .boxed()
    }

    fn find_sent<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        marker: &'a Marker,
    ) -> BoxFuture<'a, Result<Option<Sent>, SendError>> {
        async move {
            let channel = slack_channel(channel)?;
            Ok(self
                .find_marked(channel, None, marker)
                .await?
                .map(|ts| Sent { message_ref: ts }))
        }
        .boxed()
    }

    /// A ✅ reaction (`reactions.add`; needs the `reactions:write` scope).
    fn acknowledge<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        _thread: Option<&'a str>,
        message: &'a str,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        async move {
            let channel = slack_channel(channel)?;
            let request = serde_json::json!({
                "channel": channel,
                "timestamp": message,
                "name": "white_check_mark",
            });
            let session = self.client.open_session(&self.token);
            let _: serde_json::Value = self
                .call("reactions.add", Some(channel), async {
                    session
                        .http_session_api
                        .http_post("reactions.add", &request, None)
                        .await
                })
                .await?;
            Ok(())
        }
        .boxed()
    }

    fn reply_marked<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        thread: &'a str,
        message: &'a Message,
        marker: &'a Marker,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        async move {
            let channel = slack_channel(channel)?;
            self.post_with_charts(channel, Some(thread), message, Some(marker))
                .await
        }
        .boxed()
    }

    fn find_sent_in_thread<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        thread: &'a str,
        marker: &'a Marker,
    ) -> BoxFuture<'a, Result<Option<Sent>, SendError>> {
        async move {
            let channel = slack_channel(channel)?;
            Ok(self
                .find_marked(channel, Some(thread), marker)
                .await?
                .map(|ts| Sent { message_ref: ts }))
        }
        .boxed()
    }

    /// Uploads the charts of a delivery found already posted that the channel does not show
    /// after it yet.
    fn complete<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        sent: &'a Sent,
        message: &'a Message,
        marker: &'a Marker,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        async move {
            let channel = slack_channel(channel)?;
            if message.charts().next().is_none() {
                return Ok(());
            }
            let present = self.files_after(channel, &sent.message_ref).await?;
            self.upload_charts(channel, None, message, Some(marker), &present)
                .await
        }
        .boxed()
    }

    fn link<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        message_ref: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, SendError>> {
        async move {
            let channel = slack_channel(channel)?;
            self.permalink(channel, message_ref).await.map(Some)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slack_morphism::errors::{SlackClientApiError, SlackClientHttpError, SlackRateLimitError};

    fn api(code: &str) -> SendError {
        classify(
            "chat.postMessage",
            Some("C1"),
            &SlackClientError::ApiError(SlackClientApiError::new(code.to_string())),
        )
    }

    #[test]
    fn slack_errors_are_sorted_with_a_reason() {
        for code in [
            "channel_not_found",
            "not_in_channel",
            "is_archived",
            "invalid_auth",
            "account_inactive",
            "token_revoked",
            "missing_scope",
            "invalid_blocks",
            "something_new",
        ] {
            let SendError::Permanent { reason } = api(code) else {
                panic!("{code} should be permanent");
            };
            assert!(reason.ends_with(&format!("({code})")), "{reason}");
        }
        assert!(
            matches!(api("not_in_channel"), SendError::Permanent { reason } if reason.contains("/invite @Flywheel"))
        );
        assert!(matches!(api("internal_error"), SendError::Transient { .. }));
        assert!(matches!(
            api("ratelimited"),
            SendError::Transient {
                retry_after: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn the_needed_scope_is_named() {
        let error = SlackClientApiError::new("missing_scope".to_string()).with_http_response_body(
            r#"{"ok":false,"error":"missing_scope","needed":"channels:history","provided":"chat:write"}"#
                .to_string(),
        );
        let SendError::Permanent { reason } = classify(
            "conversations.history",
            Some("C1"),
            &SlackClientError::ApiError(error),
        ) else {
            panic!()
        };
        assert!(reason.contains("channels:history"), "{reason}");
    }

    #[test]
    fn http_failures_are_sorted() {
        let http = |status: u16| {
            classify(
                "chat.postMessage",
                None,
                &SlackClientError::HttpError(SlackClientHttpError::new(
                    axum::http::StatusCode::from_u16(status).unwrap(),
                )),
            )
        };
        assert!(matches!(http(500), SendError::Transient { .. }));
        assert!(matches!(http(503), SendError::Transient { .. }));
        assert!(matches!(http(408), SendError::Transient { .. }));
        assert!(matches!(http(401), SendError::Permanent { .. }));
        assert!(matches!(http(404), SendError::Permanent { .. }));
        let limited = classify(
            "chat.postMessage",
            None,
            &SlackClientError::RateLimitError(
                SlackRateLimitError::new().with_retry_after(Duration::from_secs(7)),
            ),
        );
        assert_eq!(
            limited,
            SendError::Transient {
                reason: "Slack rate limited chat.postMessage".to_string(),
                retry_after: Some(Duration::from_secs(7)),
            }
        );
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let config = SlackConfig {
            api_url: "http://127.0.0.1:9/api".to_string(),
            transport: flywheel_config::SlackTransport::Http,
            max_body_bytes: 1 << 20,
        };
        let adapter = SlackAdapter::new(&config, Secret::new("xoxb-very-secret"));
        let debug = format!("{adapter:?}");
        assert!(!debug.contains("xoxb"), "{debug}");
        assert!(debug.contains("127.0.0.1:9"));
    }
}
