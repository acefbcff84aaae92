//! Alerts reaching Slack: a watch's new matches and a theme's spike go through the outbox into
//! the emulated Slack as valid Block Kit, the spike with its chart uploaded as a PNG.

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use flywheel::app::App;
use flywheel::clock::ManualClock;
use flywheel::conversation::{CommandTyped, Event, Inbound};
use flywheel::services::alerts::{spike_step, watch_step};
use flywheel::services::channels::Adapters;
use flywheel::services::delivery::Worker;
use flywheel_insights::index::PreparedInsight;
use flywheel_insights::message::{ChartSeries, ChartSpec};
use flywheel_tests::charts::assert_chart;
use flywheel_tests::slack::{SlackEmulator, check_blocks};

use super::{adapter_with, at, insight_data, prepared};

const CHANNEL: &str = "C0ALERTS";

fn insight(n: usize, observed_on: NaiveDate) -> PreparedInsight {
    let data = insight_data(
        &format!("r-{n}"),
        &format!("Refund missing {n}"),
        "The refund never reached my card.",
        observed_on,
    );
    prepared(data, vec!["Refunds".to_string()])
}

/// An app whose team `billing` follows `refunds` in `slack:C0ALERTS`.
async fn app(dir: &std::path::Path, now: &str) -> (App, ManualClock) {
    let text = format!(
        "[store]\nurl = \"sqlite://{}\"\n[[teams]]\nname = \"billing\"\nchannels = [\"slack:{CHANNEL}\"]\n\
         timezone = \"UTC\"\nfollow = [\"refunds\"]\n",
        dir.join("flywheel.db").display(),
    );
    let config = flywheel_config::Config::parse(&text, &flywheel_config::Environment::empty())
        .expect("a valid config");
    let clock = ManualClock::new(at(now));
    let app = App::open(config, Arc::new(clock.clone()))
        .await
        .unwrap_or_else(|e| panic!("the app opens: {e:?}"));
    (app, clock)
}

fn worker(app: &App, slack: &SlackEmulator) -> Worker {
    let adapter = Arc::new(adapter_with(slack, Default::default()));
    Worker::new(app.clone(), Adapters::new().with(adapter), "w")
}

#[tokio::test]
async fn a_spike_reaches_slack_with_its_chart_and_a_watch_with_its_quotes() {
    let slack = SlackEmulator::start().await;
    slack.add_channel(CHANNEL);
    let dir = tempfile::tempdir().unwrap();
    // Wednesday 11 March 2026: one refund complaint a day for five weeks, then nine today.
    let (app, clock) = app(dir.path(), "2026-03-11T15:00:00Z").await;
    let today = NaiveDate::from_ymd_opt(2026, 3, 11).unwrap();
    let mut batch = Vec::new();
    for back in 1..=35u64 {
        batch.push(insight(batch.len(), today - Days::new(back)));
    }
    for _ in 0..9 {
        batch.push(insight(batch.len(), today));
    }
    app.store
        .upsert(&batch, at("2026-03-11T15:00:00Z"))
        .await
        .unwrap();

    assert_eq!(spike_step(&app).await.unwrap().alerted, 1);
    let sent = worker(&app, &slack).drain().await.unwrap();
    assert_eq!(sent.sent, 1, "{sent:?}");
    let messages = slack.messages_in(CHANNEL);
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].text.contains("Refunds is spiking"),
        "{}",
        messages[0].text
    );
    check_blocks(messages[0].blocks.as_ref().unwrap()).unwrap();
    let files = slack.files_in(CHANNEL);
    assert_eq!(files.len(), 1, "{files:?}");
    // Twelve weeks to the week of Monday 9 March: 1 a day from Wednesday 4 February, and 1 + 1
    // + 9 this week so far.
    let monday = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
    let expected = ChartSpec {
        title: "Refunds: insights a week".into(),
        weeks: (0..12u64)
            .rev()
            .map(|w| monday - Days::new(7 * w))
            .collect(),
        series: vec![ChartSeries {
            name: "Refunds".into(),
            counts: vec![0, 0, 0, 0, 0, 0, 5, 7, 7, 7, 7, 11],
        }],
    };
    assert_chart(&files[0].bytes, &expected);

    // A watch set in the channel hears of the next refund complaint.
    let typed = Event::Command(CommandTyped {
        user: "slack:U1".parse().unwrap(),
        channel: format!("slack:{CHANNEL}").parse().unwrap(),
        text: "/insights watch refund card".into(),
        roles: Vec::new(),
    });
    let reply = Inbound::new(app.clone(), Adapters::new())
        .dispatch(typed)
        .await
        .unwrap()
        .unwrap();
    assert!(reply.message.to_plain().contains("Watching (watch 1)"));
    app.store
        .upsert(&[insight(99, today)], at("2026-03-11T15:01:00Z"))
        .await
        .unwrap();
    clock.advance(chrono::Duration::minutes(2));
    assert_eq!(watch_step(&app).await.unwrap().alerted, 1);
    assert_eq!(worker(&app, &slack).drain().await.unwrap().sent, 1);
    let messages = slack.messages_in(CHANNEL);
    assert_eq!(messages.len(), 2);
    assert!(
        messages[1].text.contains("1 new insight matches"),
        "{}",
        messages[1].text
    );
    check_blocks(messages[1].blocks.as_ref().unwrap()).unwrap();
}

/// A review reminder replies in its decision's thread through the outbox: when Slack takes the
/// reply but the answer is lost, the retry finds the reply in the thread instead of posting it
/// again.
#[tokio::test]
async fn a_review_reminder_in_a_thread_is_posted_once_when_the_answer_is_lost() {
    let slack = SlackEmulator::start().await;
    slack.add_channel(CHANNEL);
    let dir = tempfile::tempdir().unwrap();
    let (app, clock) = app(dir.path(), "2026-03-01T09:00:00Z").await;
    let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let ids: Vec<i64> = app
        .store
        .upsert(&[insight(1, today)], at("2026-03-01T09:00:00Z"))
        .await
        .unwrap()
        .iter()
        .map(|o| o.id())
        .collect();
    let parent = slack.post_user_message(CHANNEL, "U0MANAGER", "We decided on refunds");
    let decision = app
        .store
        .log_decision(&flywheel_storage::NewDecision {
            team: "billing".into(),
            title: "Refund within a week".into(),
            rationale: None,
            owner: None,
            decided_by: "slack:U0MANAGER".into(),
            channel: format!("slack:{CHANNEL}"),
            thread_ref: Some(parent.clone()),
            review_on: Some(NaiveDate::from_ymd_opt(2026, 3, 8).unwrap()),
            timezone: "UTC".into(),
            evidence: ids,
            now: at("2026-03-01T09:00:00Z"),
        })
        .await
        .unwrap();

    clock.set(at("2026-03-08T00:00:30Z"));
    assert_eq!(flywheel::services::reviews::remind(&app).await.unwrap(), 1);
    slack.inject(
        "chat.postMessage",
        CHANNEL,
        flywheel_tests::slack::Fault::DropAfterAccept,
    );
    let worker = worker(&app, &slack);
    let first = worker.drain().await.unwrap();
    assert_eq!((first.sent, first.retried), (0, 1), "{first:?}");
    clock.advance(chrono::Duration::minutes(2));
    let second = worker.drain().await.unwrap();
    assert_eq!((second.sent, second.found), (0, 1), "{second:?}");
    let replies: Vec<_> = slack
        .messages_in(CHANNEL)
        .into_iter()
        .filter(|m| m.thread_ts.as_deref() == Some(parent.as_str()))
        .collect();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(
        replies[0]
            .text
            .contains(&format!("Review due: D{decision} Refund within a week")),
        "{}",
        replies[0].text
    );
    assert_eq!(slack.count("conversations.replies", "ok"), 1);
}
