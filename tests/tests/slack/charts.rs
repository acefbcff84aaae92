//! Charts reaching Slack: a digest's chart of its top themes is drawn at send time and
//! uploaded into the channel right after the message, once, however the delivery is retried;
//! the emulated Slack refuses uploads the way Slack does.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, Utc};
use flywheel::app::App;
use flywheel::clock::ManualClock;
use flywheel::services::channels::{Adapter, Adapters, Marker, Sent};
use flywheel::services::delivery::Worker;
use flywheel::transports::slack::{SlackAdapter, SlackOptions};
use flywheel_insights::index::PreparedInsight;
use flywheel_insights::message::{ChartSeries, ChartSpec, Message};
use flywheel_tests::charts::assert_chart;
use flywheel_tests::slack::{Fault, PNG_SIGNATURE, SlackEmulator};
use serde_json::{Value, json};

use super::{adapter_with, at, insight_data, prepared};

/// The team's channel.
const CHANNEL: &str = "C0CHARTS";

/// The Monday of the first of the chart's ten weeks; the digest covers the tenth.
fn first_monday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 12, 29).unwrap()
}

fn week(n: u64) -> NaiveDate {
    first_monday() + Days::new(7 * n)
}

/// Insights per week, oldest first, of each theme the store holds.
const BILLING: [u64; 10] = [1, 0, 2, 0, 0, 3, 0, 1, 0, 4];
const ONBOARDING: [u64; 10] = [0, 0, 0, 1, 0, 0, 2, 0, 0, 2];
/// Only before the digest's week: not one of its top themes, so not drawn.
const REFUNDS: [u64; 10] = [3, 0, 0, 0, 0, 0, 0, 0, 0, 0];

fn insight(n: usize, theme: &str, observed_on: NaiveDate) -> PreparedInsight {
    let data = insight_data(
        &format!("{theme}-{n}"),
        &format!("{theme} trouble {n}"),
        &format!("A customer wrote about {theme} again."),
        observed_on,
    );
    prepared(data, vec![theme.to_string()])
}

/// An app whose team `growth` gets its digest in `slack:C0CHARTS` on Mondays at 9:00 UTC, with
/// the insights of [`BILLING`], [`ONBOARDING`] and [`REFUNDS`], each on a Wednesday.
async fn app_with_history() -> (App, ManualClock, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[store]\nurl = \"sqlite://{}\"\n[[teams]]\nname = \"growth\"\nchannels = [\"slack:{CHANNEL}\"]\n\
         schedule = \"0 9 * * MON\"\ntimezone = \"UTC\"\n",
        dir.path().join("flywheel.db").display(),
    );
    let config = flywheel_config::Config::parse(&text, &flywheel_config::Environment::empty())
        .expect("a valid config");
    let clock = ManualClock::new(at("2026-03-04T12:00:00Z"));
    let app = App::open(config, Arc::new(clock.clone()))
        .await
        .unwrap_or_else(|e| panic!("the app opens: {e:?}"));
    let mut batch = Vec::new();
    for (theme, weeks) in [
        ("Billing", BILLING),
        ("Onboarding", ONBOARDING),
        ("Refunds", REFUNDS),
    ] {
        for (w, count) in weeks.iter().enumerate() {
            for _ in 0..*count {
                batch.push(insight(batch.len(), theme, week(w as u64) + Days::new(2)));
            }
        }
    }
    app.store.upsert(&batch, clock_now(&clock)).await.unwrap();
    (app, clock, dir)
}

fn clock_now(clock: &ManualClock) -> DateTime<Utc> {
    flywheel::clock::Clock::now(clock)
}

/// What the chart must show: the digest week's two top themes, largest first.
fn expected_chart() -> ChartSpec {
    ChartSpec {
        title: "Top themes, last 10 weeks".into(),
        weeks: (0..10).map(week).collect(),
        series: vec![
            ChartSeries {
                name: "Billing".into(),
                counts: BILLING.to_vec(),
            },
            ChartSeries {
                name: "Onboarding".into(),
                counts: ONBOARDING.to_vec(),
            },
        ],
    }
}

fn slack_adapter(slack: &SlackEmulator) -> SlackAdapter {
    adapter_with(
        slack,
        SlackOptions {
            request_timeout: Some(Duration::from_secs(5)),
            ..SlackOptions::default()
        },
    )
}

#[tokio::test]
async fn a_digest_uploads_its_chart_into_the_channel_once_even_when_the_upload_is_retried() {
    let slack = SlackEmulator::start().await;
    slack.add_channel(CHANNEL);
    let (app, clock, _dir) = app_with_history().await;

    // Monday 9 March, 9:00: the week of 2 March is due.
    clock.set(at("2026-03-09T09:00:30Z"));
    flywheel::services::scheduler::tick(&app).await.unwrap();
    assert_eq!(app.store.pending_deliveries().await.unwrap(), 1);

    // The stored digest carries its chart as data, not as an image.
    let digest = app
        .store
        .digest_for("growth", at("2026-03-02T09:00:00Z"))
        .await
        .unwrap()
        .expect("the week's digest");
    let delivery = app.store.deliveries(digest.id).await.unwrap().remove(0);
    let json = digest.message.expect("a composed digest");
    let stored: Message = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(stored.charts().collect::<Vec<_>>(), [&expected_chart()]);
    assert!(json.to_string().len() < 20_000, "stored small");

    // Slack takes the message, then fails the upload's completion once.
    slack.inject(
        "files.completeUploadExternal",
        CHANNEL,
        Fault::ServerError(503),
    );
    let adapter = Arc::new(slack_adapter(&slack));
    let worker = Worker::new(
        app.clone(),
        Adapters::new().with(adapter.clone()),
        "worker-1",
    );
    let first = worker.drain().await.unwrap();
    assert_eq!((first.sent, first.retried), (0, 1), "{first:?}");
    assert_eq!(slack.messages_in(CHANNEL).len(), 1);
    assert!(slack.files_in(CHANNEL).is_empty());

    // The retry finds the message and only uploads the chart.
    clock.advance(chrono::Duration::minutes(5));
    let second = worker.drain().await.unwrap();
    assert_eq!((second.sent, second.found), (0, 1), "{second:?}");
    let messages = slack.messages_in(CHANNEL);
    assert_eq!(messages.len(), 1, "the message is posted once");
    let files = slack.files_in(CHANNEL);
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    let marker = Marker {
        delivery_id: delivery.id,
    };
    assert_eq!(file.filename, format!("{}-chart1.png", marker.key()));
    assert_eq!(file.title.as_deref(), Some("Top themes, last 10 weeks"));
    assert!(
        file.thread_ts.is_none(),
        "into the channel, right after the message"
    );
    assert!(file.ts > messages[0].ts);
    let alt = file.alt_text.as_deref().unwrap_or_default();
    assert!(alt.contains("Billing 1 → 4 (peak 4)"), "{alt}");
    assert_chart(&file.bytes, &expected_chart());
    // The notification text describes the chart for those who cannot see it.
    assert!(
        messages[0].text.contains("Chart: Top themes"),
        "{}",
        messages[0].text
    );

    // Finishing the delivery again (another worker in doubt) uploads nothing more.
    let sent = Sent {
        message_ref: messages[0].ts.clone(),
    };
    let channel = format!("slack:{CHANNEL}").parse().unwrap();
    adapter
        .complete(&channel, &sent, &stored, &marker)
        .await
        .unwrap();
    assert_eq!(slack.files_in(CHANNEL).len(), 1);
    assert_eq!(slack.count("files.getUploadURLExternal", "ok"), 2);
    assert_eq!(slack.count("files.completeUploadExternal", "ok"), 1);
}

#[tokio::test]
async fn a_chart_that_slack_refuses_for_good_leaves_the_message_posted_once() {
    let slack = SlackEmulator::start().await;
    slack.add_channel(CHANNEL);
    slack.remove_scope("files:write");
    let adapter = slack_adapter(&slack);
    let channel = format!("slack:{CHANNEL}").parse().unwrap();
    let message = Message::text("Weekly trend").chart(expected_chart());
    adapter.send(&channel, &message, None).await.unwrap();
    assert_eq!(slack.messages_in(CHANNEL).len(), 1);
    assert!(slack.files().is_empty());
    assert_eq!(
        slack.count("files.getUploadURLExternal", "missing_scope"),
        1
    );
}

#[tokio::test]
async fn the_emulator_refuses_uploads_as_slack_does() {
    let slack = SlackEmulator::start().await;
    slack.add_channel("C0IN");
    slack.add_channel_with("C0OUT", false, false);
    let http = reqwest::Client::new();
    let token = slack.token();
    let api = |method: &str, body: Value| {
        let request = http
            .post(format!("{}/{method}", slack.api_url()))
            .bearer_auth(&token)
            .json(&body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let png = {
        let mut bytes = PNG_SIGNATURE.to_vec();
        bytes.extend_from_slice(b"rest of the image");
        bytes
    };
    // Announces a file of `length` bytes and posts `bytes` to its URL: its id and the
    // answer's status.
    let upload = |length: usize, bytes: Vec<u8>| {
        let api = &api;
        let http = &http;
        async move {
            let ticket = api(
                "files.getUploadURLExternal",
                json!({"filename": "chart.png", "length": length}),
            )
            .await;
            assert_eq!(ticket["ok"], true, "{ticket}");
            let url = ticket["upload_url"].as_str().unwrap().to_string();
            let status = http.post(url).body(bytes).send().await.unwrap().status();
            (ticket["file_id"].as_str().unwrap().to_string(), status)
        }
    };
    let complete = |id: &str, channel: &str| {
        api(
            "files.completeUploadExternal",
            json!({"files": [{"id": id, "title": "Chart"}], "channel_id": channel}),
        )
    };

    let answer = api(
        "files.getUploadURLExternal",
        json!({"filename": "chart.png"}),
    )
    .await;
    assert_eq!(answer["error"], "invalid_arguments", "a length is needed");
    assert_eq!(
        complete("F0NEVERGIVEN", "C0IN").await["error"],
        "file_not_found"
    );

    let (short, status) = upload(png.len() + 1, png.clone()).await;
    assert!(status.is_success());
    assert_eq!(
        complete(&short, "C0IN").await["error"],
        "file_upload_size_mismatch"
    );

    let (text, status) = upload(5, b"hello".to_vec()).await;
    assert_eq!(status.as_u16(), 400, "only PNGs");
    assert_eq!(
        complete(&text, "C0IN").await["error"],
        "file_upload_size_mismatch"
    );

    let (good, _) = upload(png.len(), png.clone()).await;
    assert_eq!(complete(&good, "C0OUT").await["error"], "not_in_channel");
    assert_eq!(
        complete(&good, "C0MISSING").await["error"],
        "channel_not_found"
    );
    let done = complete(&good, "C0IN").await;
    assert_eq!(done["ok"], true, "{done}");
    assert_eq!(done["files"][0]["id"], good.as_str());
    assert_eq!(
        complete(&good, "C0IN").await["error"],
        "file_not_found",
        "ids are used once"
    );
    let status = http
        .post(format!("{}/../upload/F0NEVERGIVEN", slack.api_url()))
        .body(png.clone())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 404);

    let files = slack.files_in("C0IN");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].bytes, png);
    // The shared file shows in the channel's history.
    let history = api("conversations.history", json!({"channel": "C0IN"})).await;
    assert_eq!(history["messages"][0]["files"][0]["name"], "chart.png");
}

/// Insights mentioning refunds per week, over the eight weeks the trend of a question shows.
const REFUND_WEEKS: [u64; 8] = [2, 0, 1, 3, 0, 0, 1, 4];

/// The refund insights of [`REFUND_WEEKS`], each on a Wednesday, and billing ones that do not
/// mention refunds.
pub(super) fn refund_history() -> Vec<PreparedInsight> {
    let mut batch = Vec::new();
    for (w, count) in REFUND_WEEKS.iter().enumerate() {
        for _ in 0..*count {
            batch.push(insight(
                batch.len(),
                "Refunds",
                week(w as u64) + Days::new(2),
            ));
        }
        batch.push(insight(
            batch.len(),
            "Billing",
            week(w as u64) + Days::new(3),
        ));
    }
    batch
}

/// What `/insights chart refund` must show.
pub(super) fn refund_chart() -> ChartSpec {
    ChartSpec {
        title: "Insights per week: refund".into(),
        weeks: (0..8).map(week).collect(),
        series: vec![ChartSeries {
            name: "refund".into(),
            counts: REFUND_WEEKS.to_vec(),
        }],
    }
}

#[tokio::test]
async fn insights_chart_posts_the_weekly_trend_of_a_question_in_the_channel() {
    let slack = SlackEmulator::start().await;
    slack.add_channel("C0TEAM");
    slack.add_channel_with("C0OUTSIDE", false, false);
    // Answers always come with the acknowledgement, so the chart is posted by then.
    let service = super::Service::start_with(Some(&slack), 1 << 20, Duration::from_secs(60)).await;
    let now = clock_now(&service.clock);
    service
        .app
        .store
        .upsert(&refund_history(), now)
        .await
        .unwrap();

    let response = service.command("/insights", "chart refund", "C0TEAM").await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["response_type"], "ephemeral", "{body}");
    assert!(
        body["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Posted the weekly trend"),
        "{body}"
    );
    let messages = slack.messages_in("C0TEAM");
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].text.contains("11 insights match"),
        "{}",
        messages[0].text
    );
    let files = slack.files_in("C0TEAM");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].filename, "chart1.png");
    assert!(files[0].ts > messages[0].ts);
    assert_chart(&files[0].bytes, &refund_chart());

    // Nothing to draw, or nowhere to post it: said to the person, nothing posted.
    let response = service.command("/insights", "chart zebra", "C0TEAM").await;
    let body: Value = response.json().await.unwrap();
    assert!(
        body["text"]
            .as_str()
            .unwrap_or_default()
            .contains("no trend"),
        "{body}"
    );
    let response = service
        .command("/insights", "chart refund", "C0OUTSIDE")
        .await;
    let body: Value = response.json().await.unwrap();
    let text = body["text"].as_str().unwrap_or_default();
    assert!(text.contains("not_in_channel"), "{body}");
    assert_eq!(slack.messages().len(), 1);
    assert_eq!(slack.files().len(), 1);
}
