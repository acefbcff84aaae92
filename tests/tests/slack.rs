//! The real Slack adapter against the emulated Slack Web API.
//!
//! Most tests run on a paused tokio clock: the adapter's pacing and a caller's `Retry-After`
//! waits pass in virtual time, and the emulator's rate limits follow the same clock, so the
//! tests are exact and fast. Those adapters run without a request timeout, because on a paused
//! clock a pending timeout would fire as soon as the runtime waits for the socket; the timeout
//! itself is tested on the real clock.

#[path = "slack/alerts.rs"]
mod alerts;
#[path = "slack/charts.rs"]
mod charts;
#[path = "discord/mod.rs"]
mod discord;
#[path = "slack/socket.rs"]
mod socket;

use std::sync::Arc;
use std::time::Duration;

use flywheel::conversation::{CommandTyped, Event, Inbound};
use flywheel::services::channels::{Adapter, Marker, SendError, Sent};
use flywheel::transports::slack::verify::SlackVerifier;
use flywheel::transports::slack::{Rate, SlackAdapter, SlackOptions};
use flywheel_config::{Secret, SlackConfig, SlackTransport};
use flywheel_insights::address::ChannelAddress;
use flywheel_insights::message::{Action, Block, Button, Field, Message, MoreRef, Section, Text};
use flywheel_tests::slack::{BOT_USER_ID, Fault, SlackEmulator};
use serde_json::{Value, json};
use tokio::time::Instant;

fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// A negative insight from `test` of the default severity, visible to every team, observed on
/// `observed_on`: tests change what they need.
fn insight_data(
    source_ref: &str,
    title: &str,
    body: &str,
    observed_on: chrono::NaiveDate,
) -> flywheel_insights::model::InsightData {
    use flywheel_insights::model::{InsightData, Sentiment, Severity, Visibility};
    InsightData {
        source: "test".into(),
        source_ref: source_ref.into(),
        title: title.into(),
        body: body.into(),
        observed_on,
        tags: Vec::new(),
        segment: None,
        stage: None,
        kind: None,
        sentiment: Sentiment::Negative,
        severity: Severity::DEFAULT,
        account: None,
        url: None,
        visibility: Visibility::All,
    }
}

/// `data` ready for the store, carrying `themes`, indexed as an import would.
fn prepared(
    data: flywheel_insights::model::InsightData,
    themes: Vec<String>,
) -> flywheel_insights::index::PreparedInsight {
    flywheel_insights::index::PreparedInsight {
        text: flywheel_insights::text::IndexedText::of(&data.title, &data.body, &themes),
        fingerprint: format!("{}-v1", data.source_ref),
        data,
        themes,
    }
}

fn config(slack: &SlackEmulator) -> SlackConfig {
    SlackConfig {
        api_url: slack.api_url(),
        transport: SlackTransport::Http,
        max_body_bytes: 1 << 20,
    }
}

/// The adapter as configured in production, minus the request timeout (see the module docs).
fn adapter(slack: &SlackEmulator) -> SlackAdapter {
    adapter_with(slack, SlackOptions::default())
}

fn adapter_with(slack: &SlackEmulator, options: SlackOptions) -> SlackAdapter {
    SlackAdapter::with_options(
        &config(slack),
        Secret::new(slack.token()),
        SlackOptions {
            request_timeout: None,
            ..options
        },
    )
}

fn channel(id: &str) -> ChannelAddress {
    ChannelAddress::parse(&format!("slack:{id}")).expect("a Slack channel address")
}

fn marker(delivery_id: i64) -> Marker {
    Marker { delivery_id }
}

/// A digest shaped like the composer's: a header, then per insight a divider, a section with
/// the customer's words and fields, a context line and buttons, and a final "full digest" button.
fn digest(insights: i64, digest_id: i64) -> Message {
    let mut m = Message::new()
        .header("Weekly digest · Onboarding · 2024-W23")
        .context(Text::plain(
            "12 new insights · 3 themes growing · 2 flagged",
        ));
    for id in 1..=insights {
        let words = format!(
            "<!channel> <@U0EVIL> I was charged twice & support said > wait. {}",
            "The export keeps timing out on large workspaces. ".repeat(8)
        );
        m = m
            .divider()
            .push(Block::Section(Section {
                text: Text::plain(format!("{id}. "))
                    .strong(format!("Billing theme {id}"))
                    .line()
                    .quote(words),
                fields: vec![
                    Field {
                        label: "Severity".into(),
                        value: Text::plain("5"),
                    },
                    Field {
                        label: "Source".into(),
                        value: Text::new()
                            .link("ticket", format!("https://support.example/t/{id}")),
                    },
                ],
            }))
            .context(Text::plain("new theme · 3× more mentions than last week"))
            .push(Block::Actions(vec![
                Button {
                    label: "Discuss".into(),
                    action: Action::Discuss(id),
                    primary: true,
                },
                Button {
                    label: "Flag for decision".into(),
                    action: Action::Flag(id),
                    primary: false,
                },
                Button {
                    label: "Useful".into(),
                    action: Action::Useful(id),
                    primary: false,
                },
            ]));
    }
    m.push(Block::Actions(vec![Button {
        label: "Full digest".into(),
        action: Action::ShowMore {
            what: MoreRef::Digest(digest_id),
        },
        primary: false,
    }]))
}

/// What the delivery worker does: before sending again after a transient failure, ask whether
/// the marked message already arrived; wait as long as Slack asked.
async fn deliver(
    adapter: &SlackAdapter,
    channel: &ChannelAddress,
    message: &Message,
    marker: &Marker,
) -> Result<Sent, SendError> {
    for attempt in 1.. {
        if attempt > 1
            && let Some(sent) = adapter.find_sent(channel, marker).await?
        {
            return Ok(sent);
        }
        match adapter.send(channel, message, Some(marker)).await {
            Err(SendError::Transient { retry_after, .. }) if attempt < 6 => {
                tokio::time::sleep(retry_after.unwrap_or(Duration::from_secs(2))).await;
            }
            other => return other,
        }
    }
    unreachable!()
}

fn block_texts(blocks: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(s)) = map.get("text") {
                    out.push(s.clone());
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(blocks, &mut out);
    out
}

#[tokio::test(start_paused = true)]
async fn a_large_digest_is_accepted_within_slack_limits() {
    let slack = SlackEmulator::start().await;
    slack.add_channel("C0DIGEST");
    let adapter = adapter(&slack);

    let sent = adapter
        .send(&channel("C0DIGEST"), &digest(40, 77), Some(&marker(5)))
        .await
        .expect("the digest is accepted");

    let messages = slack.messages_in("C0DIGEST");
    assert_eq!(messages.len(), 1);
    let posted = &messages[0];
    assert_eq!(posted.ts, sent.message_ref);
    assert_eq!(posted.delivery(), Some("flywheel-delivery-5"));
    let blocks = posted.blocks.as_ref().expect("blocks").as_array().unwrap();
    assert_eq!(blocks.len(), 50, "cut to Slack's 50 blocks");
    let last = blocks.last().unwrap();
    assert_eq!(last["type"], "actions");
    assert_eq!(last["elements"][0]["action_id"], "fw.more.digest.77");
    for text in block_texts(posted.blocks.as_ref().unwrap())
        .iter()
        .chain([&posted.text])
    {
        assert!(!text.contains("<!channel>"), "{text}");
        assert!(!text.contains("<@U0EVIL>"), "{text}");
    }
    assert!(posted.text.starts_with("Weekly digest · Onboarding"));
    assert_eq!(slack.count("chat.postMessage", "invalid_blocks"), 0);

    // One enormous section is cut, not refused.
    let huge = Message::new()
        .header("h".repeat(500))
        .section(Text::plain("&<>".repeat(10_000)));
    adapter
        .send(&channel("C0DIGEST"), &huge, None)
        .await
        .expect("the long message is accepted");
    assert_eq!(slack.messages_in("C0DIGEST").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_forced_429_is_transient_and_a_retrying_caller_honours_retry_after() {
    let slack = SlackEmulator::start().await;
    slack.add_channel("C0LIMIT");
    slack.inject(
        "chat.postMessage",
        "C0LIMIT",
        Fault::RateLimited {
            retry_after: Duration::from_secs(3),
        },
    );
    let adapter = adapter(&slack);
    let message = Message::text("hello");

    let refused = adapter
        .send(&channel("C0LIMIT"), &message, Some(&marker(1)))
        .await;
    assert!(
        matches!(
            refused,
            Err(SendError::Transient {
                retry_after: Some(wait),
                ..
            }) if wait == Duration::from_secs(3)
        ),
        "{refused:?}"
    );

    // A sender that does not wait is refused again: the emulator holds the channel.
    let impatient = adapter_with(&slack, SlackOptions::default());
    let again = impatient.send(&channel("C0LIMIT"), &message, None).await;
    assert!(
        matches!(again, Err(SendError::Transient { retry_after: Some(wait), .. }) if wait <= Duration::from_secs(3)),
        "{again:?}"
    );

    let start = Instant::now();
    let sent = deliver(&adapter, &channel("C0LIMIT"), &message, &marker(1))
        .await
        .expect("delivered after waiting");
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(slack.messages_in("C0LIMIT").len(), 1);
    assert_eq!(slack.messages_in("C0LIMIT")[0].ts, sent.message_ref);
    assert_eq!(slack.count("chat.postMessage", "http 429"), 2);
}

#[tokio::test(start_paused = true)]
async fn the_adapter_paces_itself_below_slacks_channel_limit() {
    let slack = SlackEmulator::start().await;
    slack.add_channel("C0BUSY");

    // Without pacing, the emulator's per-channel limit (burst of 4, then 1/s) answers 429.
    let unpaced = adapter_with(
        &slack,
        SlackOptions {
            channel_rate: Rate::per_second(1000, 1000),
            ..SlackOptions::default()
        },
    );
    let mut results = Vec::new();
    for i in 0..6 {
        results.push(
            unpaced
                .send(&channel("C0BUSY"), &Message::text(format!("m{i}")), None)
                .await,
        );
    }
    assert!(results[..4].iter().all(Result::is_ok), "{results:?}");
    assert!(
        matches!(&results[4], Err(SendError::Transient { retry_after: Some(wait), .. }) if *wait == Duration::from_secs(1)),
        "{results:?}"
    );
    slack.advance_clock(Duration::from_secs(60));

    // With the default pacing, ten posts to one channel all pass: a burst, then one a second.
    let paced = adapter(&slack);
    let before = slack.count("chat.postMessage", "http 429");
    let start = Instant::now();
    for i in 0..10 {
        paced
            .send(&channel("C0BUSY"), &Message::text(format!("p{i}")), None)
            .await
            .expect("paced posts are accepted");
    }
    assert_eq!(slack.count("chat.postMessage", "http 429"), before);
    assert!(
        start.elapsed() >= Duration::from_secs(7),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_are_classified_with_a_reason() {
    let slack = SlackEmulator::start().await;
    slack.add_channel("C0OPEN");
    slack.add_channel_with("C0OUTSIDE", false, false);
    slack.add_channel_with("C0ARCHIVED", true, true);
    let adapter = adapter(&slack);
    let message = Message::text("hello");

    let reason = |result: Result<Sent, SendError>| match result {
        Err(SendError::Permanent { reason }) => reason,
        other => panic!("expected a permanent error, got {other:?}"),
    };

    let r = reason(adapter.send(&channel("C0MISSING"), &message, None).await);
    assert!(r.contains("channel_not_found"), "{r}");
    let r = reason(adapter.send(&channel("C0OUTSIDE"), &message, None).await);
    assert!(
        r.contains("not_in_channel") && r.contains("/invite @Flywheel"),
        "{r}"
    );
    let r = reason(adapter.send(&channel("C0ARCHIVED"), &message, None).await);
    assert!(r.contains("is_archived"), "{r}");
    let console = ChannelAddress::parse("console:digest").unwrap();
    let r = reason(adapter.send(&console, &message, None).await);
    assert!(r.contains("not a Slack channel"), "{r}");

    let wrong_token = SlackAdapter::with_options(
        &config(&slack),
        Secret::new("xoxb-not-the-token"),
        SlackOptions {
            request_timeout: None,
            ..SlackOptions::default()
        },
    );
    let r = reason(wrong_token.send(&channel("C0OPEN"), &message, None).await);
    assert!(
        r.contains("invalid_auth") && r.contains("SLACK_BOT_TOKEN"),
        "{r}"
    );
    assert!(!r.contains("xoxb"), "{r}");

    slack.remove_scope("channels:history");
    let found = adapter.find_sent(&channel("C0OPEN"), &marker(1)).await;
    assert!(
        matches!(&found, Err(SendError::Permanent { reason }) if reason.contains("channels:history")),
        "{found:?}"
    );

    slack.revoke_token();
    let r = reason(adapter.send(&channel("C0OPEN"), &message, None).await);
    assert!(r.contains("token_revoked"), "{r}");

    assert!(slack.messages().is_empty());
}

#[tokio::test(start_paused = true)]
async fn server_errors_and_dropped_connections_are_transient() {
    let slack = SlackEmulator::start().await;
    slack.add_channel("C0FLAKY");
    slack.inject("chat.postMessage", "C0FLAKY", Fault::ServerError(503));
    slack.inject("chat.postMessage", "C0FLAKY", Fault::DropBeforeAccept);
    slack.inject("chat.postMessage", "C0FLAKY", Fault::DropAfterAccept);
    let adapter = adapter(&slack);
    let message = Message::text("hello");
    let c = channel("C0FLAKY");

    for (expected_messages, what) in [(0, "503"), (0, "drop before"), (1, "drop after")] {
        let result = adapter.send(&c, &message, Some(&marker(9))).await;
        assert!(
            matches!(
                result,
                Err(SendError::Transient {
                    retry_after: None,
                    ..
                })
            ),
            "{what}: {result:?}"
        );
        assert_eq!(
            slack.messages_in("C0FLAKY").len(),
            expected_messages,
            "{what}"
        );
    }

    // The answer was lost but the message arrived: the marker finds it.
    let found = adapter.find_sent(&c, &marker(9)).await.unwrap();
    assert_eq!(
        found.map(|s| s.message_ref),
        Some(slack.messages_in("C0FLAKY")[0].ts.clone())
    );
}

#[tokio::test]
async fn a_slow_answer_times_out_as_transient_and_is_found_afterwards() {
    let slack = SlackEmulator::start().await;
    slack.add_channel("C0SLOW");
    slack.inject(
        "chat.postMessage",
        "C0SLOW",
        Fault::Slow(Duration::from_secs(30)),
    );
    let adapter = SlackAdapter::with_options(
        &config(&slack),
        Secret::new(slack.token()),
        SlackOptions {
            request_timeout: Some(Duration::from_millis(300)),
            ..SlackOptions::default()
        },
    );
    let c = channel("C0SLOW");
    let result = adapter
        .send(&c, &Message::text("hello"), Some(&marker(3)))
        .await;
    assert!(
        matches!(&result, Err(SendError::Transient { reason, .. }) if reason.contains("did not answer")),
        "{result:?}"
    );
    let found = adapter.find_sent(&c, &marker(3)).await.unwrap();
    assert_eq!(
        found.map(|s| s.message_ref),
        Some(slack.messages_in("C0SLOW")[0].ts.clone())
    );
}

#[tokio::test(start_paused = true)]
async fn find_sent_finds_a_marked_message_after_a_crash() {
    let slack = SlackEmulator::start().await;
    slack.add_channel("C0DIGEST");
    slack.add_channel("C0OTHER");
    let c = channel("C0DIGEST");

    let before_crash = adapter(&slack);
    before_crash
        .send(&c, &Message::text("older digest"), Some(&marker(40)))
        .await
        .unwrap();
    let sent = before_crash
        .send(&c, &digest(3, 1), Some(&marker(41)))
        .await
        .unwrap();
    drop(before_crash);

    // Enough newer messages that the marked one is on the third page of history.
    slack.seed_messages("C0DIGEST", 450);

    let after_restart = adapter(&slack);
    let found = after_restart.find_sent(&c, &marker(41)).await.unwrap();
    assert_eq!(found, Some(sent));
    assert_eq!(
        after_restart.find_sent(&c, &marker(42)).await.unwrap(),
        None
    );
    assert_eq!(
        after_restart
            .find_sent(&channel("C0OTHER"), &marker(41))
            .await
            .unwrap(),
        None
    );
    assert_eq!(slack.messages_in("C0DIGEST").len(), 452);
}

#[tokio::test(start_paused = true)]
async fn replies_go_into_the_thread() {
    let slack = SlackEmulator::start().await;
    slack.add_channel("C0TALK");
    let adapter = adapter(&slack);
    let c = channel("C0TALK");
    let parent = adapter
        .send(&c, &Message::text("digest"), None)
        .await
        .unwrap();
    let reply = adapter
        .reply(&c, &parent.message_ref, &Message::text("a reply"))
        .await
        .unwrap();
    let messages = slack.messages_in("C0TALK");
    assert_eq!(messages[1].ts, reply.message_ref);
    assert_eq!(
        messages[1].thread_ts.as_deref(),
        Some(parent.message_ref.as_str())
    );
    assert!(messages[1].metadata.is_none());

    let orphan = adapter.reply(&c, "1.000000", &Message::text("lost")).await;
    assert!(
        matches!(orphan, Err(SendError::Permanent { .. })),
        "{orphan:?}"
    );

    let me = adapter.identify().await.unwrap();
    assert_eq!(me.user_id, BOT_USER_ID);
}

/// One of each way a post fails, on channels 3 (a 429 asking for `retry_after`), 7 (a 503),
/// 11 (the connection drops after the message was taken) and 13 (it drops before).
fn inject_delivery_faults(slack: &SlackEmulator, channels: &[String], retry_after: Duration) {
    let post = "chat.postMessage";
    slack.inject(post, &channels[3], Fault::RateLimited { retry_after });
    slack.inject(post, &channels[7], Fault::ServerError(503));
    slack.inject(post, &channels[11], Fault::DropAfterAccept);
    slack.inject(post, &channels[13], Fault::DropBeforeAccept);
}

#[tokio::test(start_paused = true)]
async fn fifty_channels_under_rate_limits_get_exactly_one_message_each() {
    let slack = SlackEmulator::start().await;
    let channels: Vec<String> = (0..50).map(|i| format!("C0TEAM{i:02}")).collect();
    for id in &channels {
        slack.add_channel(id);
    }
    let post = "chat.postMessage";
    inject_delivery_faults(&slack, &channels, Duration::from_secs(2));
    slack.inject(post, &channels[17], Fault::ServerError(500));
    slack.inject(post, &channels[17], Fault::ServerError(502));

    let adapter = Arc::new(adapter(&slack));
    let message = digest(5, 9);
    let start = Instant::now();
    let results = futures::future::join_all(channels.iter().enumerate().map(|(i, id)| {
        let adapter = adapter.clone();
        let message = &message;
        async move {
            let marker = marker(1000 + i as i64);
            let sent = deliver(&adapter, &channel(id), message, &marker).await;
            (id.clone(), marker, sent)
        }
    }))
    .await;

    for (id, marker, sent) in results {
        let sent = sent.unwrap_or_else(|e| panic!("{id}: {e}"));
        let messages = slack.messages_in(&id);
        assert_eq!(messages.len(), 1, "{id} got {} messages", messages.len());
        assert_eq!(messages[0].ts, sent.message_ref, "{id}");
        assert_eq!(messages[0].delivery(), Some(marker.key().as_str()), "{id}");
    }
    assert_eq!(slack.messages().len(), 50);
    // The only 429 was the forced one: the adapter's pacing kept inside Slack's limits.
    assert_eq!(slack.count(post, "http 429"), 1);
    assert_eq!(slack.count(post, "dropped after ok"), 1);
    // The workspace cap (20/s after a burst of 20) spreads 50 posts over at least 1.5 s.
    assert!(
        start.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn the_emulator_checks_tokens_payloads_and_methods() {
    let slack = SlackEmulator::start().await;
    slack.add_channel("C0RAW");
    let http = reqwest::Client::new();
    let url = |method: &str| format!("{}/{method}", slack.api_url());
    let token = slack.token();
    let post = |method: &str, body: Value, auth: bool| {
        let mut request = http.post(url(method)).json(&body);
        if auth {
            request = request.bearer_auth(&token);
        }
        async move {
            let response = request.send().await.unwrap();
            response.json::<Value>().await.unwrap()
        }
    };

    let answer = post(
        "chat.postMessage",
        json!({"channel": "C0RAW", "text": "x"}),
        false,
    )
    .await;
    assert_eq!(answer, json!({"ok": false, "error": "not_authed"}));

    let too_many: Vec<Value> = (0..51).map(|_| json!({"type": "divider"})).collect();
    let answer = post(
        "chat.postMessage",
        json!({"channel": "C0RAW", "text": "x", "blocks": too_many}),
        true,
    )
    .await;
    assert_eq!(answer["error"], "invalid_blocks");
    assert!(answer["errors"][0].as_str().unwrap().contains("50"));

    let answer = post("chat.postMessage", json!({"channel": "C0RAW"}), true).await;
    assert_eq!(answer["error"], "no_text");

    let answer = post(
        "chat.postMessage",
        json!({"channel": "C0RAW", "text": "x", "metadata": {"event_type": "bad type!"}}),
        true,
    )
    .await;
    assert_eq!(answer["error"], "invalid_metadata_format");

    // Form-encoded bodies, as other Slack clients send them.
    let answer: Value = http
        .post(url("chat.postMessage"))
        .bearer_auth(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("channel=C0RAW&text=hello%20form&blocks=%5B%7B%22type%22%3A%22divider%22%7D%5D")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["ok"], true, "{answer}");
    let ts = answer["ts"].as_str().unwrap().to_string();

    let answer = post(
        "chat.update",
        json!({"channel": "C0RAW", "ts": ts, "text": "edited"}),
        true,
    )
    .await;
    assert_eq!(answer["ok"], true, "{answer}");
    let answer = post(
        "chat.postEphemeral",
        json!({"channel": "C0RAW", "user": "U0SOMEONE", "text": "only you"}),
        true,
    )
    .await;
    assert_eq!(answer["ok"], true, "{answer}");
    let answer = post("conversations.info", json!({"channel": "C0RAW"}), true).await;
    assert_eq!(answer["channel"]["is_member"], true);

    let history: Value = http
        .get(url("conversations.history"))
        .bearer_auth(&token)
        .query(&[("channel", "C0RAW")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "ephemeral messages are not history");
    assert_eq!(messages[0]["text"], "edited");

    let unknown = http
        .post(url("chat.delete"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let recorded = slack.messages_in("C0RAW");
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].edits, 1);
    assert_eq!(recorded[1].ephemeral_user.as_deref(), Some("U0SOMEONE"));
}

// ---- Slack's inbound HTTP endpoints ----------------------------------------------------------

const SIGNING_SECRET: &str = "test-signing-secret";

/// Flywheel's HTTP service on a fresh SQLite store, with the Slack adapter at `slack` when
/// given, and a team owning `slack:C0TEAM`.
struct Service {
    app: flywheel::app::App,
    adapters: flywheel::services::channels::Adapters,
    /// The service's clock: requests are signed with its time.
    clock: flywheel::clock::ManualClock,
    url: String,
    http: reqwest::Client,
    store_url: String,
    _dir: tempfile::TempDir,
}

impl Service {
    async fn start(slack: Option<&SlackEmulator>, max_body_bytes: usize) -> Service {
        Service::start_with(slack, max_body_bytes, flywheel::conversation::ANSWER_WITHIN).await
    }

    /// A service that answers commands within `answer_within`, or says "Working on it…".
    async fn start_with(
        slack: Option<&SlackEmulator>,
        max_body_bytes: usize,
        answer_within: Duration,
    ) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let store_url = format!("sqlite://{}", dir.path().join("flywheel.db").display());
        let text = format!(
            "[store]\nurl = \"sqlite://{}\"\n[console]\ndir = \"{}\"\n[slack]\nmax_body_bytes = {max_body_bytes}\n\
             [[teams]]\nname = \"growth\"\nchannels = [\"slack:C0TEAM\"]\nschedule = \"0 9 * * MON\"\ntimezone = \"UTC\"\n\
             managers = [\"slack:U0MANAGER\"]\n",
            dir.path().join("flywheel.db").display(),
            dir.path().join("console").display(),
        );
        let env =
            flywheel_config::Environment::empty().with("SLACK_SIGNING_SECRET", SIGNING_SECRET);
        let config = flywheel_config::Config::parse(&text, &env).expect("a valid config");
        let clock = flywheel::clock::ManualClock::new(chrono::Utc::now());
        let app = flywheel::app::App::open(config, Arc::new(clock.clone()))
            .await
            .unwrap_or_else(|e| panic!("the app opens: {e:?}"));
        let mut adapters = flywheel::services::channels::Adapters::new();
        if let Some(slack) = slack {
            adapters = adapters.with(Arc::new(adapter_with(
                slack,
                SlackOptions {
                    request_timeout: Some(Duration::from_secs(5)),
                    ..SlackOptions::default()
                },
            )));
        }
        let inbound =
            Inbound::new(app.clone(), adapters.clone()).answering_within(Some(answer_within));
        let transports = flywheel::transports::for_config(&inbound).expect("the transports start");
        let router = flywheel::serve::router(&app, &transports);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Service {
            app,
            adapters,
            clock,
            url,
            http: reqwest::Client::new(),
            store_url,
            _dir: dir,
        }
    }

    /// Posts `body` to `path`, signed as Slack would at `timestamp` (now when `None`).
    async fn send(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
        timestamp: Option<i64>,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let ts = timestamp.unwrap_or_else(|| flywheel::clock::Clock::now(&self.clock).timestamp());
        let verifier = SlackVerifier::new(Secret::new(SIGNING_SECRET));
        let mut request = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", content_type)
            .header("x-slack-request-timestamp", ts.to_string())
            .header("x-slack-signature", verifier.sign(ts, body.as_bytes()))
            .body(body.to_string());
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    async fn command(&self, command: &str, text: &str, channel: &str) -> reqwest::Response {
        self.command_as("U0ASKER", command, text, channel).await
    }

    async fn command_as(
        &self,
        user: &str,
        command: &str,
        text: &str,
        channel: &str,
    ) -> reqwest::Response {
        // Slack gives every command its own trigger id, so no two requests are the same.
        static TRIGGERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let trigger = format!(
            "{}.42.abc",
            TRIGGERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let body = form(&[
            ("command", command),
            ("text", text),
            ("user_id", user),
            ("channel_id", channel),
            ("response_url", "http://127.0.0.1:9/unused"),
            ("trigger_id", &trigger),
        ]);
        self.send(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            &body,
            None,
            &[],
        )
        .await
    }

    async fn event(&self, event: &Value, retry: Option<&str>) -> reqwest::Response {
        let extra: Vec<(&str, &str)> = retry
            .map(|n| ("x-slack-retry-num", n))
            .into_iter()
            .collect();
        self.send(
            "/slack/events",
            "application/json",
            &event.to_string(),
            None,
            &extra,
        )
        .await
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_signed_help_command_is_answered_privately_with_blocks() {
    let service = Service::start(None, 1 << 20).await;
    let response = service.command("/insights", "help", "C0TEAM").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["response_type"], "ephemeral", "{body}");
    assert!(
        body["blocks"].as_array().is_some_and(|b| !b.is_empty()),
        "{body}"
    );
    assert!(
        body["text"]
            .as_str()
            .is_some_and(|t| t.contains("/insights")),
        "{body}"
    );

    let response = service
        .command("/insights", "frobnicate now", "C0TEAM")
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["response_type"], "ephemeral", "{body}");
    let text = body["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("frobnicate") || text.contains("help"),
        "{body}"
    );
}

#[tokio::test]
async fn unsigned_stale_and_oversized_requests_are_refused() {
    let service = Service::start(None, 2048).await;
    let body = form(&[
        ("command", "/insights"),
        ("text", "help"),
        ("user_id", "U1"),
        ("channel_id", "C1"),
    ]);
    let ct = "application/x-www-form-urlencoded";

    // Missing headers.
    let response = service
        .http
        .post(format!("{}/slack/commands", service.url))
        .header("content-type", ct)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // A signature for another body.
    let ts = chrono::Utc::now().timestamp();
    let verifier = SlackVerifier::new(Secret::new(SIGNING_SECRET));
    let response = service
        .http
        .post(format!("{}/slack/commands", service.url))
        .header("content-type", ct)
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", verifier.sign(ts, b"something else"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // A wrong secret.
    let other = SlackVerifier::new(Secret::new("not-the-secret"));
    let response = service
        .http
        .post(format!("{}/slack/events", service.url))
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", other.sign(ts, b"{}"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // Correctly signed, but ten minutes old.
    let stale = service
        .send("/slack/commands", ct, &body, Some(ts - 600), &[])
        .await;
    assert_eq!(stale.status(), 401);

    // Too large.
    let big = form(&[("command", "/insights"), ("text", &"x".repeat(4096))]);
    let response = service.send("/slack/commands", ct, &big, None, &[]).await;
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn a_replayed_signed_command_has_no_second_effect() {
    let service = Service::start(None, 1 << 20).await;
    let body = form(&[
        ("command", "/decision"),
        (
            "text",
            "log \"Refunds within a day\" evidence:#1 rationale:\"many asked\"",
        ),
        ("user_id", "U0MANAGER"),
        ("channel_id", "C0TEAM"),
        ("response_url", "http://127.0.0.1:9/unused"),
        ("trigger_id", "777.42.replayed"),
    ]);
    let added = service
        .command("/insights", "add Refunds take two weeks", "C0TEAM")
        .await;
    assert_eq!(added.status(), 200);
    let ct = "application/x-www-form-urlencoded";
    let first = service.send("/slack/commands", ct, &body, None, &[]).await;
    assert_eq!(first.status(), 200);
    let first = first.text().await.unwrap();
    assert!(first.contains("Decision D1 logged"), "{first}");
    for _ in 0..3 {
        let again = service.send("/slack/commands", ct, &body, None, &[]).await;
        assert_eq!(again.status(), 409);
        assert!(again.text().await.unwrap().contains("already handled"));
    }
    let listed = service
        .command_as("U0MANAGER", "/decision", "list all", "C0TEAM")
        .await;
    let listed = listed.text().await.unwrap();
    assert!(listed.contains("D1 Refunds within a day"), "{listed}");
    assert!(
        !listed.contains("D2"),
        "one decision, not one per replay: {listed}"
    );
}

#[tokio::test]
async fn without_a_signing_secret_the_endpoints_are_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[store]\nurl = \"sqlite://{}\"\n[console]\ndir = \"{}\"\n",
        dir.path().join("flywheel.db").display(),
        dir.path().join("console").display(),
    );
    let config = flywheel_config::Config::parse(&text, &flywheel_config::Environment::empty())
        .expect("a valid config");
    let app = flywheel::app::App::open(config, Arc::new(flywheel::clock::SystemClock))
        .await
        .unwrap_or_else(|e| panic!("the app opens: {e:?}"));
    let inbound = Inbound::new(app.clone(), flywheel::services::channels::Adapters::new());
    let transports = flywheel::transports::for_config(&inbound).expect("the transports start");
    let router = flywheel::serve::router(&app, &transports);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slack/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let response = reqwest::Client::new()
        .post(url)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.text().await.unwrap(), "Slack is not configured");
}

#[tokio::test]
async fn the_url_verification_challenge_is_echoed() {
    let service = Service::start(None, 1 << 20).await;
    let response = service
        .event(
            &json!({"type": "url_verification", "token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
}

/// Signed requests whose content Slack would never send get a 400 that says what is wrong,
/// without quoting what was sent; what Slack may send but Flywheel does not use gets a 200.
#[tokio::test]
async fn payloads_that_do_not_fit_are_refused_with_what_is_wrong() {
    let service = Service::start(None, 1 << 20).await;
    let ct = "application/x-www-form-urlencoded";
    let refused = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 400);
        response.text().await.unwrap()
    };

    let no_user = form(&[("command", "/insights"), ("channel_id", "C0TEAM")]);
    let why = refused(
        service
            .send("/slack/commands", ct, &no_user, None, &[])
            .await,
    )
    .await;
    assert_eq!(why, "the command does not fit: missing field `user_id`");
    let bad_id = form(&[("user_id", "U0ASKER"), ("channel_id", "#general")]);
    let why = refused(
        service
            .send("/slack/commands", ct, &bad_id, None, &[])
            .await,
    )
    .await;
    assert!(why.contains("invalid user or channel"), "{why}");

    let interaction = |payload: &str| form(&[("payload", payload)]);
    let why = refused(
        service
            .send(
                "/slack/interactions",
                ct,
                &form(&[("other", "x")]),
                None,
                &[],
            )
            .await,
    )
    .await;
    assert_eq!(why, "the payload field is required");
    for (payload, wanted) in [
        ("{not json", "the interaction payload is not JSON"),
        ("", "the interaction payload is not JSON"),
        ("{}", "missing field `type`"),
        (
            r#"{"type": "block_actions", "channel": {"id": "C0TEAM"}, "actions": []}"#,
            "missing field `user`",
        ),
        (
            r#"{"type": "block_actions", "user": {"id": "U0ASKER"}, "channel": {"id": "C0TEAM"}, "actions": []}"#,
            "names no action",
        ),
        (
            r#"{"type": "block_actions", "user": {"id": "U0ASKER"}, "actions": "call me at 555 0100"}"#,
            "invalid type: a string",
        ),
    ] {
        let why = refused(
            service
                .send("/slack/interactions", ct, &interaction(payload), None, &[])
                .await,
        )
        .await;
        assert!(why.contains(wanted), "{payload}: {why}");
        assert!(!why.contains("555"), "{why}");
    }
    let modal = service
        .send(
            "/slack/interactions",
            ct,
            &interaction(r#"{"type": "view_closed", "view": {"id": "V1"}}"#),
            None,
            &[],
        )
        .await;
    assert_eq!(modal.status(), 200);

    let json = "application/json";
    for (body, wanted) in [
        ("[]", "the event does not fit"),
        ("{\"type\": \"event_callback\"}", "missing field `event_id`"),
        ("nul\u{0}", "the event is not JSON"),
    ] {
        let why = refused(service.send("/slack/events", json, body, None, &[]).await).await;
        assert!(why.contains(wanted), "{body:?}: {why}");
    }
    for unused in [
        json!({"type": "app_rate_limited", "minute_rate_limited": 1}),
        json!({"type": "event_callback", "event_id": "EvR", "event": {"type": "reaction_added"}}),
        json!({"type": "event_callback", "event_id": "EvE",
               "event": {"type": "message", "subtype": "message_changed", "channel": "C0TEAM"}}),
    ] {
        assert_eq!(service.event(&unused, None).await.status(), 200, "{unused}");
    }
}

fn thread_reply(event_id: &str, thread_ts: &str, ts: &str, text: &str) -> Value {
    json!({
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1,
        "event": {
            "type": "message",
            "channel": "C0TEAM",
            "user": "U0REPLIER",
            "text": text,
            "ts": ts,
            "thread_ts": thread_ts,
        },
    })
}

#[tokio::test]
async fn discuss_opens_a_linked_thread_whose_replies_become_comments_once() {
    let slack = SlackEmulator::start().await;
    slack.add_channel("C0TEAM");
    let service = Service::start(Some(&slack), 1 << 20).await;

    // An insight added in the team's channel.
    let response = service
        .command("/insights", "add Charged twice for one order", "C0TEAM")
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["response_type"], "in_channel", "{body}");
    let text = body["text"].as_str().unwrap().to_string();
    let id: i64 = text
        .split('#')
        .nth(1)
        .and_then(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("an id in {text:?}"));

    // The digest message with the Discuss button.
    let parent = adapter(&slack)
        .send(&channel("C0TEAM"), &Message::text("digest"), None)
        .await
        .unwrap()
        .message_ref;
    let payload = json!({
        "type": "block_actions",
        "user": {"id": "U0ASKER"},
        "channel": {"id": "C0TEAM"},
        "message": {"ts": parent},
        "actions": [{"action_id": Action::Discuss(id).encode()}],
    });
    let response = service
        .send(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            &form(&[("payload", &payload.to_string())]),
            None,
            &[],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["response_type"], "ephemeral", "{body}");
    let replies: Vec<_> = slack
        .messages_in("C0TEAM")
        .into_iter()
        .filter(|m| m.thread_ts.as_deref() == Some(parent.as_str()))
        .collect();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(
        service
            .app
            .store
            .thread_insight("slack:C0TEAM", &parent)
            .await
            .unwrap(),
        Some(id)
    );

    // A reply in the thread, delivered twice (Slack retries), and a reply elsewhere.
    let said = slack.post_user_message("C0TEAM", "U0REPLIER", "Happens to us too");
    let event = thread_reply("Ev01", &parent, &said, "Happens to us too");
    assert_eq!(service.event(&event, None).await.status(), 200);
    assert_eq!(service.event(&event, Some("1")).await.status(), 200);
    let elsewhere = thread_reply(
        "Ev02",
        "1600000000.000100",
        "1700000000.000300",
        "unrelated",
    );
    assert_eq!(service.event(&elsewhere, None).await.status(), 200);
    let mut bot = thread_reply("Ev03", &parent, "1700000000.000400", "from a bot");
    bot["event"]["bot_id"] = json!("B0BOT");
    assert_eq!(service.event(&bot, None).await.status(), 200);

    let comments = service.app.store.comments(id).await.unwrap();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0].text, "Happens to us too");
    assert_eq!(comments[0].author, "slack:U0REPLIER");
    assert_eq!(comments[0].platform_ref, said);
    // The person sees their reply kept, once.
    assert_eq!(slack.reactions("C0TEAM", &said), ["white_check_mark"]);
    assert_eq!(slack.count("reactions.add", "ok"), 1);
}

#[tokio::test]
async fn a_comment_event_retried_with_a_new_id_is_still_stored_once() {
    let service = Service::start(None, 1 << 20).await;
    let response = service
        .command("/insights", "add Export is slow", "C0TEAM")
        .await;
    let body: Value = response.json().await.unwrap();
    let text = body["text"].as_str().unwrap().to_string();
    let id: i64 = text
        .split('#')
        .nth(1)
        .unwrap()
        .trim_end_matches('.')
        .parse()
        .unwrap();
    service
        .app
        .store
        .link_thread("slack:C0TEAM", "1700000000.000100", id, None)
        .await
        .unwrap();
    for event_id in ["EvA", "EvB"] {
        let event = thread_reply(
            event_id,
            "1700000000.000100",
            "1700000000.000900",
            "same message",
        );
        assert_eq!(service.event(&event, None).await.status(), 200);
    }
    assert_eq!(service.app.store.comments(id).await.unwrap().len(), 1);
}

/// The insight number in a "Saved as #N." answer.
fn saved_id(text: &str) -> i64 {
    text.split('#')
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("an insight number in {text:?}"))
}

/// Slack's payload for the "Save as insight" shortcut on the message `ts`.
fn shortcut(slack: &SlackEmulator, ts: &str, text: &str, answer_to: &str) -> String {
    let payload = json!({
        "type": "message_action",
        "callback_id": "save_as_insight",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "action_ts": "1700000001.000000",
        "team": {"id": "T0FLYWHEEL", "domain": "flywheel-emulated"},
        "user": {"id": "U0SAVER", "name": "saver"},
        "channel": {"id": "C0TEAM", "name": "growth"},
        "message_ts": ts,
        "message": {"type": "message", "user": "U0SUPPORT", "ts": ts, "text": text},
        "response_url": slack.response_url(answer_to),
    });
    form(&[("payload", &payload.to_string())])
}

#[tokio::test]
async fn save_as_insight_keeps_a_message_redacted_with_its_permalink_once() {
    let slack = SlackEmulator::start().await;
    slack.add_channel("C0TEAM");
    let service = Service::start(Some(&slack), 1 << 20).await;
    let said =
        "Customer on the Pro plan: the CSV export drops accents. Reach her at ana@example.com";
    let ts = slack.post_user_message("C0TEAM", "U0SUPPORT", said);
    let ct = "application/x-www-form-urlencoded";
    let limit = Duration::from_secs(10);

    // Acknowledged at once with an empty 200; the answer follows on the response URL.
    let response = service
        .send(
            "/slack/interactions",
            ct,
            &shortcut(&slack, &ts, said, "save"),
            None,
            &[],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "");
    let answers = slack.wait_for_responses("save", 1, limit).await;
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0]["response_type"], "ephemeral", "{}", answers[0]);
    let text = answers[0]["text"].as_str().unwrap();
    assert!(text.contains("Saved as #"), "{text}");
    assert!(text.contains("Personal data was redacted"), "{text}");
    let id = saved_id(text);

    let insight = service
        .app
        .store
        .insight(id, &flywheel_insights::search::Scope::Everything)
        .await
        .unwrap()
        .expect("the insight is stored");
    assert_eq!(insight.data.source, "slack");
    assert_eq!(
        insight.data.url.as_deref(),
        Some(
            format!(
                "https://flywheel-emulated.slack.com/archives/C0TEAM/p{}",
                ts.replace('.', "")
            )
            .as_str()
        )
    );
    assert!(
        insight.data.body.contains("drops accents"),
        "{}",
        insight.data.body
    );
    assert!(
        !insight.data.body.contains("ana@example.com"),
        "{}",
        insight.data.body
    );

    // Saving the same message again keeps one insight.
    service
        .send(
            "/slack/interactions",
            ct,
            &shortcut(&slack, &ts, said, "again"),
            None,
            &[],
        )
        .await;
    let again = slack.wait_for_responses("again", 1, limit).await;
    let text = again[0]["text"].as_str().unwrap();
    assert!(text.contains("Already saved as #"), "{text}");
    assert_eq!(saved_id(text), id);

    // A message with no text (a file) is refused with a reason; nothing is stored.
    let file = slack.post_user_message("C0TEAM", "U0SUPPORT", "");
    let before = service
        .app
        .store
        .count(&flywheel_insights::search::Scope::Everything)
        .await
        .unwrap();
    service
        .send(
            "/slack/interactions",
            ct,
            &shortcut(&slack, &file, "  ", "empty"),
            None,
            &[],
        )
        .await;
    let empty = slack.wait_for_responses("empty", 1, limit).await;
    assert!(
        empty[0]["text"]
            .as_str()
            .unwrap()
            .contains("no text to save"),
        "{}",
        empty[0]
    );
    assert_eq!(
        service
            .app
            .store
            .count(&flywheel_insights::search::Scope::Everything)
            .await
            .unwrap(),
        before
    );

    // A shortcut without a message is Slack's mistake, not ours: 400.
    let broken = json!({"type": "message_action", "callback_id": "save_as_insight",
        "user": {"id": "U0SAVER"}, "channel": {"id": "C0TEAM"}});
    let response = service
        .send(
            "/slack/interactions",
            ct,
            &form(&[("payload", &broken.to_string())]),
            None,
            &[],
        )
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_slow_command_is_acknowledged_then_answered_through_its_response_url() {
    let slack = SlackEmulator::start().await;
    // Every command counts as slow.
    let service = Service::start_with(Some(&slack), 1 << 20, Duration::ZERO).await;
    let body = form(&[
        ("command", "/insights"),
        ("text", "help"),
        ("user_id", "U0ASKER"),
        ("channel_id", "C0TEAM"),
        ("response_url", &slack.response_url("late")),
    ]);
    let response = service
        .send(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            &body,
            None,
            &[],
        )
        .await;
    assert_eq!(response.status(), 200);
    let ack: Value = response.json().await.unwrap();
    assert_eq!(ack["response_type"], "ephemeral");
    assert_eq!(ack["text"], "Working on it…");

    let late = slack
        .wait_for_responses("late", 1, Duration::from_secs(10))
        .await;
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0]["response_type"], "ephemeral", "{}", late[0]);
    assert!(
        late[0]["text"].as_str().unwrap().contains("/insights"),
        "{}",
        late[0]
    );
    assert!(late[0]["blocks"].as_array().is_some_and(|b| !b.is_empty()));
}

#[tokio::test]
async fn an_event_that_cannot_be_stored_is_refused_so_that_slacks_retry_stores_it() {
    use sqlx::Connection as _;
    let service = Service::start(None, 1 << 20).await;
    let added = service
        .command("/insights", "add Export is slow", "C0TEAM")
        .await
        .json::<Value>()
        .await
        .unwrap();
    let id = saved_id(added["text"].as_str().unwrap());
    service
        .app
        .store
        .link_thread("slack:C0TEAM", "1700000000.000100", id, None)
        .await
        .unwrap();

    // The store refuses comments for a while, as a full disk would.
    let mut db = sqlx::SqliteConnection::connect(&service.store_url)
        .await
        .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_comments BEFORE INSERT ON insight_comments \
         BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let event = thread_reply("EvFULL", "1700000000.000100", "1700000000.000500", "kept");
    let refused = service.event(&event, None).await;
    assert_eq!(refused.status(), 500);
    assert!(service.app.store.comments(id).await.unwrap().is_empty());

    // Hostile text is stored, not refused: a NUL no store keeps is dropped.
    let nul = thread_reply(
        "EvNUL",
        "1700000000.000100",
        "1700000000.000400",
        "nul\u{0}here",
    );
    assert_eq!(
        service.event(&nul, None).await.status(),
        500,
        "comments are still refused"
    );

    // Slack retries the same event: now it is stored, and a further retry changes nothing.
    sqlx::query("DROP TRIGGER refuse_comments")
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(service.event(&event, Some("1")).await.status(), 200);
    assert_eq!(service.event(&event, Some("2")).await.status(), 200);
    assert_eq!(service.event(&nul, Some("1")).await.status(), 200);
    let comments = service.app.store.comments(id).await.unwrap();
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert_eq!(comments[0].text, "kept");
    assert_eq!(comments[1].text, "nulhere");
}

/// A team digest to fifty Slack channels through the real scheduler, outbox and delivery
/// worker, with Slack's rate limits enforced and a few channels failing on the way: every
/// channel gets the digest exactly once and no delivery is left behind.
#[tokio::test]
async fn a_team_digest_reaches_fifty_slack_channels_exactly_once_through_the_worker() {
    let slack = SlackEmulator::start().await;
    let channels: Vec<String> = (0..50).map(|i| format!("C0DIGEST{i:02}")).collect();
    for id in &channels {
        slack.add_channel(id);
    }
    let post = "chat.postMessage";
    inject_delivery_faults(&slack, &channels, Duration::from_secs(1));

    let dir = tempfile::tempdir().unwrap();
    let list = channels
        .iter()
        .map(|c| format!("\"slack:{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        "[store]\nurl = \"sqlite://{}\"\n[[teams]]\nname = \"growth\"\nchannels = [{list}]\n\
         schedule = \"0 9 * * MON\"\ntimezone = \"Europe/Berlin\"\n",
        dir.path().join("flywheel.db").display(),
    );
    let config = flywheel_config::Config::parse(&text, &flywheel_config::Environment::empty())
        .expect("a valid config");
    let clock = flywheel::clock::ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-03-04T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    );
    let app = flywheel::app::App::open(config, Arc::new(clock.clone()))
        .await
        .unwrap_or_else(|e| panic!("the app opens: {e:?}"));
    for text in [
        "Refunds take three weeks theme:refunds severity:4",
        "The export drops accents theme:export",
        "Checkout fails on Safari theme:checkout severity:5",
    ] {
        let event = Event::Command(CommandTyped {
            user: "slack:U0ASKER".parse().unwrap(),
            channel: "slack:C0DIGEST00".parse().unwrap(),
            text: format!("/insights add {text}"),
            roles: Vec::new(),
        });
        let reply = Inbound::new(app.clone(), flywheel::services::channels::Adapters::new())
            .dispatch(event)
            .await
            .unwrap()
            .unwrap();
        let said = reply.message.to_plain();
        assert!(said.contains("Saved as"), "{said}");
    }

    // Monday 9:00 in Berlin: the scheduler queues the week's digest for every channel.
    clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-03-09T08:00:30Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    );
    let ticked = flywheel::services::scheduler::tick(&app).await.unwrap();
    assert!(
        matches!(
            ticked[0].1,
            flywheel::services::scheduler::TeamTick::Queued { .. }
        ),
        "{ticked:?}"
    );
    assert_eq!(app.store.pending_deliveries().await.unwrap(), 50);

    let adapters = flywheel::services::channels::Adapters::new().with(Arc::new(adapter_with(
        &slack,
        SlackOptions {
            request_timeout: Some(Duration::from_secs(5)),
            ..SlackOptions::default()
        },
    )));
    let worker = flywheel::services::delivery::Worker::new(app.clone(), adapters, "worker-1");
    let mut total = flywheel::services::delivery::StepOutcome::default();
    let mut rounds = 0;
    while app.store.pending_deliveries().await.unwrap() > 0 {
        rounds += 1;
        assert!(
            rounds <= 5,
            "deliveries are still pending after {rounds} rounds"
        );
        let drained = worker.drain().await.unwrap();
        total.sent += drained.sent;
        total.found += drained.found;
        total.retried += drained.retried;
        total.failed += drained.failed;
        // The retries come due.
        clock.advance(chrono::Duration::minutes(5));
    }

    for id in &channels {
        let messages = slack.messages_in(id);
        assert_eq!(messages.len(), 1, "{id} got {} messages", messages.len());
        assert!(
            messages[0].delivery().is_some(),
            "{id}: marked with its delivery"
        );
    }
    assert_eq!(total.failed, 0);
    assert_eq!(total.retried, 4, "{total:?}");
    // The message that arrived before its connection dropped was found, not posted again.
    assert_eq!((total.sent, total.found), (49, 1), "{total:?}");
    // The only 429 was the forced one: the adapter kept inside Slack's limits.
    assert_eq!(slack.count(post, "http 429"), 1);
    let sent = app
        .store
        .audit_events(None, 200)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "digest.sent")
        .count();
    assert_eq!(sent, 50, "one digest.sent audit event per channel");
}

#[tokio::test]
async fn digest_buttons_flag_and_vote_once_per_person_answering_on_the_response_url() {
    let slack = SlackEmulator::start().await;
    let service = Service::start(Some(&slack), 1 << 20).await;
    let added = service
        .command(
            "/insights",
            "add Invoices arrive in the wrong currency",
            "C0TEAM",
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let id = saved_id(added["text"].as_str().unwrap());
    let press = |user: &str, action: Action, answer_to: &str| {
        let payload = json!({
            "type": "block_actions",
            "user": {"id": user},
            "channel": {"id": "C0TEAM"},
            "message": {"ts": "1700000000.000100"},
            "response_url": slack.response_url(answer_to),
            "actions": [{"action_id": action.encode(), "type": "button"}],
        });
        form(&[("payload", &payload.to_string())])
    };
    let ct = "application/x-www-form-urlencoded";
    let limit = Duration::from_secs(10);
    for (user, answer_to) in [("U0ONE", "first"), ("U0ONE", "again"), ("U0TWO", "second")] {
        let response = service
            .send(
                "/slack/interactions",
                ct,
                &press(user, Action::Useful(id), answer_to),
                None,
                &[],
            )
            .await;
        assert_eq!(response.status(), 200);
        slack.wait_for_responses(answer_to, 1, limit).await;
    }
    let text = |name: &str| {
        slack.responses(name)[0]["text"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(text("first").contains("marked useful"), "{}", text("first"));
    assert!(
        text("again").contains("already marked"),
        "{}",
        text("again")
    );
    assert!(
        text("second").contains("marked useful"),
        "{}",
        text("second")
    );
    for name in ["first", "again", "second"] {
        let answer = &slack.responses(name)[0];
        assert_eq!(answer["response_type"], "ephemeral", "{answer}");
        assert_eq!(answer["replace_original"], false, "{answer}");
    }

    let response = service
        .send(
            "/slack/interactions",
            ct,
            &press("U0ONE", Action::Flag(id), "flag"),
            None,
            &[],
        )
        .await;
    assert_eq!(response.status(), 200);
    let flagged = slack.wait_for_responses("flag", 1, limit).await;
    assert!(
        flagged[0]["text"]
            .as_str()
            .unwrap()
            .contains(&format!("#{id}")),
        "{}",
        flagged[0]
    );
    let open = service.app.store.open_flags("growth").await.unwrap();
    assert_eq!(open.iter().map(|f| f.insight_id).collect::<Vec<_>>(), [id]);

    // A button from an older version of Flywheel is answered, not failed.
    let response = service
        .send(
            "/slack/interactions",
            ct,
            &form(&[(
                "payload",
                &json!({"type": "block_actions", "user": {"id": "U0ONE"},
                        "channel": {"id": "C0TEAM"},
                        "actions": [{"action_id": "retired-button"}]})
                .to_string(),
            )]),
            None,
            &[],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("no longer supported"),
        "{body}"
    );
}

/// The decision number in a "Decision D3 logged" answer.
fn decision_id(text: &str) -> i64 {
    text.split(" D")
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("a decision number in {text:?}"))
}

/// Decisions through Slack: a manager logs one with `/decision`, a member is refused and
/// offered to flag instead, the review reminder is posted in the channel on its date (retried
/// when Slack fails it), and the review is recorded.
#[tokio::test]
async fn decisions_are_logged_reminded_and_reviewed_through_slack() {
    let slack = SlackEmulator::start().await;
    slack.add_channel("C0TEAM");
    let service = Service::start(Some(&slack), 1 << 20).await;
    let answer = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["text"].as_str().unwrap_or_default().to_string()
    };
    let added = answer(
        service
            .command(
                "/insights",
                "add Refunds take three weeks theme:refunds",
                "C0TEAM",
            )
            .await,
    )
    .await;
    let evidence = saved_id(&added);
    service.clock.advance(chrono::Duration::minutes(1));

    let refused = answer(
        service
            .command_as(
                "U0MEMBER",
                "/decision",
                &format!("log \"Refund within a week\" evidence:{evidence} review:7d"),
                "C0TEAM",
            )
            .await,
    )
    .await;
    assert!(
        refused.contains("Only growth's managers can log decisions"),
        "{refused}"
    );
    assert!(refused.contains("/insights flag"), "{refused}");

    let logged = answer(
        service
            .command_as(
                "U0MANAGER",
                "/decision",
                &format!("log \"Refund within a week\" evidence:{evidence} review:7d"),
                "C0TEAM",
            )
            .await,
    )
    .await;
    let id = decision_id(&logged);
    // Someone discusses the evidence in its thread.
    service
        .app
        .store
        .link_thread("slack:C0TEAM", "1700000000.000100", evidence, None)
        .await
        .unwrap();
    let reply = thread_reply(
        "EvDISCUSS",
        "1700000000.000100",
        "1700000000.000700",
        "Three of our biggest accounts asked about this",
    );
    assert_eq!(service.event(&reply, None).await.status(), 200);
    let shown = answer(
        service
            .command("/decision", &format!("show {id}"), "C0TEAM")
            .await,
    )
    .await;
    assert!(shown.contains("Refund within a week"), "{shown}");
    assert!(shown.contains("Discussion of the evidence"), "{shown}");
    assert!(
        shown.contains("slack:U0REPLIER on ") && shown.contains("Three of our biggest accounts"),
        "{shown}"
    );
    let cited = answer(
        service
            .command("/insights", &format!("show {evidence}"), "C0TEAM")
            .await,
    )
    .await;
    assert!(
        cited.contains(&format!("D{id}")),
        "the insight shows its decision: {cited}"
    );

    let remind = || async {
        flywheel::services::reviews::remind(&service.app)
            .await
            .unwrap()
    };
    let worker = flywheel::services::delivery::Worker::new(
        service.app.clone(),
        service.adapters.clone(),
        "reminders",
    );
    // Six days on, nothing.
    service.clock.advance(chrono::Duration::days(6));
    assert_eq!(remind().await, 0);
    // On the seventh the reminder is queued once, through the outbox. Slack fails the first
    // post: nothing is lost, the reminder is retried after the backoff (not before), and
    // posted once.
    service.clock.advance(chrono::Duration::days(1));
    slack.inject("chat.postMessage", "C0TEAM", Fault::ServerError(503));
    assert_eq!(remind().await, 1);
    assert_eq!(remind().await, 0, "queued once");
    let first = worker.drain().await.unwrap();
    assert_eq!((first.sent, first.retried), (0, 1), "{first:?}");
    assert_eq!(
        worker.drain().await.unwrap().claimed,
        0,
        "waits for the retry"
    );
    assert!(slack.messages_in("C0TEAM").is_empty());
    service.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(worker.drain().await.unwrap().sent, 1);
    assert_eq!(worker.drain().await.unwrap().claimed, 0);
    let reminders = slack.messages_in("C0TEAM");
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    assert!(
        reminders[0]
            .text
            .contains(&format!("Review due: D{id} Refund within a week")),
        "{}",
        reminders[0].text
    );

    let reviewed = answer(
        service
            .command_as(
                "U0MANAGER",
                "/decision",
                &format!("review {id} kept \"refunds now take five days\""),
                "C0TEAM",
            )
            .await,
    )
    .await;
    assert!(
        reviewed.contains(&format!("D{id} reviewed: kept")),
        "{reviewed}"
    );
    let stats = answer(service.command("/decision", "stats", "C0TEAM").await).await;
    assert!(
        stats.contains("1 reviews done, 1 on time, 0 late"),
        "{stats}"
    );
}
