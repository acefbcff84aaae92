//! The Discord adapter: posts [rendered](super::render) messages through [`Rest`], each part
//! with a `nonce` and `enforce_nonce`, so a request retried within Discord's window returns the
//! message already made instead of posting it twice. A digest delivery's parts also carry their
//! nonce in the footer of their last embed: Discord does not give nonces back in a channel's
//! history, and a sender that died mid-flight is checked against that history before anything
//! is sent again ([`Adapter::find_sent`]). A part showing charts draws them first and goes with
//! them attached, in the same request: a part is posted whole or not at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use flywheel_insights::address::{ChannelAddress, Platform};
use flywheel_insights::message::Message;
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::render::{self, Part};
use super::rest::{Rest, RestError};
use crate::services::channels::{Adapter, Marker, SendError, Sent, base36};
use crate::services::charts;

/// What the footer of a delivery's embeds starts with, before the part's nonce.
pub const MARK_PREFIX: &str = "Flywheel · ";
/// Pages of 100 messages [`Adapter::find_sent`] reads at most.
const HISTORY_PAGES: usize = 3;
/// The code Discord answers when a message already has a thread.
const THREAD_EXISTS: i64 = 160_004;
/// How long a discussion thread stays open without messages: a day.
const THREAD_ARCHIVE_MINUTES: u32 = 1440;

/// Posts to Discord. Cheap to share behind an `Arc`; one per bot.
#[derive(Debug)]
pub struct DiscordAdapter {
    rest: Arc<Rest>,
    /// Each channel's server, for links (channels never move between servers).
    guilds: Mutex<HashMap<String, Option<String>>>,
}

impl DiscordAdapter {
    /// An adapter posting through `rest` (shared with everything else posting as the bot).
    pub fn new(rest: impl Into<Arc<Rest>>) -> DiscordAdapter {
        DiscordAdapter {
            rest: rest.into(),
            guilds: Mutex::new(HashMap::new()),
        }
    }

    /// The REST client, for the transports of the same bot.
    pub fn rest(&self) -> &Rest {
        &self.rest
    }

    /// Posts one part to the channel with id `channel`, with `nonce`.
    /// A part showing charts is posted with them drawn and attached; a chart that cannot be
    /// drawn is left to the words describing it.
    async fn post(&self, channel: &str, part: &Part, nonce: &str) -> Result<String, SendError> {
        let route = format!("POST /channels/{channel}/messages");
        let path = format!("/channels/{channel}/messages");
        let mark = |mut body: Value| {
            body["nonce"] = json!(nonce);
            body["enforce_nonce"] = json!(true);
            body
        };
        let posted = if part.charts.is_empty() {
            self.rest.post(&route, &path, &mark(part.body())).await
        } else {
            let mut drawn = part.clone();
            drawn.charts.clear();
            let mut files = Vec::new();
            for chart in &part.charts {
                match charts::draw(&chart.spec).await {
                    Ok(png) => {
                        files.push((render::chart_filename(files.len()), png.png));
                        drawn.charts.push(chart.clone());
                    }
                    Err(e) => tracing::warn!(channel, "cannot draw a chart, leaving it out: {e}"),
                }
            }
            let body = mark(drawn.body_with_charts());
            self.rest.post_files(&route, &path, &body, &files).await
        };
        message_id(&posted.map_err(|e| e.error)?)
    }

    /// Posts every part of `message`, marked with `marker` when given: the id of the first.
    async fn post_all(
        &self,
        channel: &str,
        message: &Message,
        marker: Option<&Marker>,
    ) -> Result<Sent, SendError> {
        let parts = render::render(message);
        // A message that is not a delivery still gets a fresh nonce, so a retried request does
        // not post it twice.
        let once = format!("fm{}", base36(fastrand::i64(0..)));
        let mut first = None;
        for (i, part) in parts.iter().enumerate() {
            let part_no = u16::try_from(i).unwrap_or(u16::MAX);
            let (nonce, part) = match marker {
                Some(marker) => {
                    let nonce = marker.nonce(part_no);
                    let mut marked = part.clone();
                    marked.mark(&format!("{MARK_PREFIX}{nonce} ({}/{})", i + 1, parts.len()));
                    (nonce, marked)
                }
                None => (format!("{once}.{i}"), part.clone()),
            };
            let id = self.post(channel, &part, &nonce).await?;
            first.get_or_insert(id);
        }
        Ok(Sent {
            message_ref: first.unwrap_or_default(),
        })
    }

    /// The message of the channel with id `channel` marked as part `part` of `marker`'s
    /// delivery, among its recent history, and how many parts the delivery has.
    async fn find_part(
        &self,
        channel: &str,
        marker: &Marker,
        part: u16,
    ) -> Result<Option<(String, usize)>, SendError> {
        let wanted = format!("{MARK_PREFIX}{} (", marker.nonce(part));
        let mut before: Option<String> = None;
        for _ in 0..HISTORY_PAGES {
            let path = match &before {
                Some(id) => format!("/channels/{channel}/messages?limit=100&before={id}"),
                None => format!("/channels/{channel}/messages?limit=100"),
            };
            let page = self
                .rest
                .get(&format!("GET /channels/{channel}/messages"), &path)
                .await
                .map_err(|e| e.error)?;
            let messages = page.as_array().cloned().unwrap_or_default();
            for m in &messages {
                let footers = m["embeds"].as_array().into_iter().flatten();
                let parts = footers
                    .filter_map(|e| e["footer"]["text"].as_str()?.strip_prefix(&wanted))
                    .find_map(|rest| rest.strip_suffix(')')?.split_once('/')?.1.parse().ok());
                if let Some(parts) = parts {
                    return Ok(Some((message_id(m)?, parts)));
                }
            }
            match messages.last().and_then(|m| m["id"].as_str()) {
                Some(oldest) if messages.len() == 100 => before = Some(oldest.to_string()),
                _ => break,
            }
        }
        Ok(None)
    }

    /// The server of the channel with id `channel`, asked of Discord once.
    async fn guild_of(&self, channel: &str) -> Result<Option<String>, SendError> {
        if let Some(known) = self.lock_guilds().get(channel) {
            return Ok(known.clone());
        }
        let found = self
            .rest
            .get("GET /channels", &format!("/channels/{channel}"))
            .await
            .map_err(|e| e.error)?;
        let guild = found["guild_id"].as_str().map(str::to_string);
        self.lock_guilds()
            .insert(channel.to_string(), guild.clone());
        Ok(guild)
    }

    fn lock_guilds(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<String>>> {
        self.guilds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a thread on the message `message` of `channel` (or finds the one it has): the
    /// thread's id, which is the message's.
    /// Posts `message` into the thread on the message `thread` of `channel` (a channel of its
    /// own, opened or found open first), each part with its nonce when `marker` is given.
    async fn post_in_thread(
        &self,
        channel: &ChannelAddress,
        thread: &str,
        message: &Message,
        marker: Option<&Marker>,
    ) -> Result<Sent, SendError> {
        let channel = discord_channel(channel)?;
        self.open_thread(channel, thread, &thread_name(message))
            .await?;
        self.post_all(thread, message, marker).await
    }

    async fn open_thread(&self, channel: &str, message: &str, name: &str) -> Result<(), SendError> {
        let body = json!({"name": name, "auto_archive_duration": THREAD_ARCHIVE_MINUTES});
        match self
            .rest
            .post(
                &format!("POST /channels/{channel}/messages/threads"),
                &format!("/channels/{channel}/messages/{message}/threads"),
                &body,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(RestError {
                code: Some(THREAD_EXISTS),
                ..
            }) => Ok(()),
            Err(e) => Err(e.error),
        }
    }
}

fn message_id(message: &Value) -> Result<String, SendError> {
    message["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| SendError::transient("Discord's answer named no message id"))
}

fn discord_channel(channel: &ChannelAddress) -> Result<&str, SendError> {
    if channel.platform == Platform::Discord {
        Ok(&channel.id)
    } else {
        Err(SendError::permanent(format!(
            "{channel} is not a Discord channel"
        )))
    }
}

/// A thread's name: the first line of what opens it, within Discord's 100 characters.
fn thread_name(message: &Message) -> String {
    let first = message
        .to_plain()
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("Discussion")
        .to_string();
    let mut name: String = first.chars().take(99).collect();
    if name.chars().count() < first.chars().count() {
        name.pop();
        name.push('…');
    }
    name
}

impl DiscordAdapter {
    /// The first part of the delivery marked `marker` in the channel (or thread) `channel`,
    /// when its last part is there too.
    async fn find_delivery(
        &self,
        channel: &str,
        marker: &Marker,
    ) -> Result<Option<Sent>, SendError> {
        let Some((first, parts)) = self.find_part(channel, marker, 0).await? else {
            return Ok(None);
        };
        if parts > 1 {
            let last = u16::try_from(parts - 1).unwrap_or(u16::MAX);
            if self.find_part(channel, marker, last).await?.is_none() {
                return Ok(None);
            }
        }
        Ok(Some(Sent { message_ref: first }))
    }
}

impl Adapter for DiscordAdapter {
    fn platform(&self) -> Platform {
        Platform::Discord
    }

    fn send<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        message: &'a Message,
        marker: Option<&'a Marker>,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        async move {
            let channel = discord_channel(channel)?;
            self.post_all(channel, message, marker).await
        }
        .boxed()
    }

    /// Discord's threads are channels of their own: the thread on a message has the message's
    /// id. It is opened (or found open) first.
    fn reply<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        thread: &'a str,
        message: &'a Message,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        self.post_in_thread(channel, thread, message, None).boxed()
    }

    /// Found when the delivery's last part is in the channel: parts are posted in order, so
    /// then every part is. A delivery found only in part is sent again, and the parts posted
    /// within Discord's nonce window come back instead of being posted twice.
    fn find_sent<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        marker: &'a Marker,
    ) -> BoxFuture<'a, Result<Option<Sent>, SendError>> {
        async move {
            let channel = discord_channel(channel)?;
            self.find_delivery(channel, marker).await
        }
        .boxed()
    }

    /// A ✅ reaction; a thread's messages are in the thread's own channel.
    fn acknowledge<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        thread: Option<&'a str>,
        message: &'a str,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        async move {
            let channel = thread.unwrap_or(discord_channel(channel)?);
            let path = format!("/channels/{channel}/messages/{message}/reactions/%E2%9C%85/@me");
            self.rest
                .put_empty(
                    &format!("PUT /channels/{channel}/messages/reactions"),
                    &path,
                )
                .await
                .map(|_| ())
                .map_err(|e| e.error)
        }
        .boxed()
    }

    /// The reply goes into the thread (a channel of its own), each part with its nonce.
    fn reply_marked<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        thread: &'a str,
        message: &'a Message,
        marker: &'a Marker,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        self.post_in_thread(channel, thread, message, Some(marker))
            .boxed()
    }

    /// Looked for in the thread as [`Adapter::find_sent`] looks in a channel.
    fn find_sent_in_thread<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        thread: &'a str,
        marker: &'a Marker,
    ) -> BoxFuture<'a, Result<Option<Sent>, SendError>> {
        async move {
            discord_channel(channel)?;
            self.find_delivery(thread, marker).await
        }
        .boxed()
    }

    fn link<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        message_ref: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, SendError>> {
        async move {
            let channel = discord_channel(channel)?;
            let guild = self.guild_of(channel).await?;
            let guild = guild.as_deref().unwrap_or("@me");
            Ok(Some(format!(
                "https://discord.com/channels/{guild}/{channel}/{message_ref}"
            )))
        }
        .boxed()
    }
}
