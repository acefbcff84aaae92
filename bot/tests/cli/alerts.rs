//! Watches and spike alerts end to end in-process: commands typed in a channel, insights
//! ingested, the alert steps driven with an injected clock, and the outbox drained into the
//! console adapter's files.

use std::path::Path;

use chrono::{Days, NaiveDate};
use flywheel::app::App;
use flywheel::clock::ManualClock;
use flywheel::services::alerts::{spike_step, sync_declared_watches, watch_step};
use flywheel::services::delivery::Worker;
use flywheel::services::ingest::ingest;
use flywheel_insights::model::{InsightData, Sentiment, Severity, Visibility};
use flywheel_storage::AlertKind;

use super::digests::{app_with, say, utc};

fn insight(source_ref: &str, day: NaiveDate, title: &str, body: &str) -> InsightData {
    InsightData {
        source: "zendesk".into(),
        source_ref: source_ref.into(),
        title: title.into(),
        body: body.into(),
        observed_on: day,
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

async fn add(app: &App, rows: Vec<InsightData>) {
    let report = ingest(app, rows, |_| {}).await.expect("ingest");
    assert!(report.inserted > 0 || report.updated > 0, "{report:?}");
}

fn worker(app: &App) -> Worker {
    Worker::new(
        app.clone(),
        flywheel::transports::adapters(&app.config),
        "w",
    )
}

fn log(dir: &Path, channel: &str) -> String {
    std::fs::read_to_string(dir.join(format!("console/{channel}.log"))).unwrap_or_default()
}

fn today(app: &App) -> NaiveDate {
    app.clock.now().date_naive()
}

const SUPPORT: &str = r#"
[[teams]]
name = "support"
channels = ["console:support"]
timezone = "UTC"
spike_alerts = false
"#;

#[tokio::test]
async fn a_watch_posts_new_matches_once_in_batches_capped_with_the_rest_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (app, clock) = app_with(dir.path(), None, SUPPORT, "2026-03-10T10:00:00Z").await;
    let day = today(&app);
    add(
        &app,
        vec![insight(
            "old",
            day,
            "Refund never came",
            "old news before the watch",
        )],
    )
    .await;
    let reply = say(
        &app,
        "console:ana",
        "console:support",
        "/insights watch refund -\"gift card\"",
    )
    .await;
    assert!(reply.contains("Watching (watch 1)"), "{reply}");
    // Nothing new yet: looked at, nothing said.
    let step = watch_step(&app).await.unwrap();
    assert_eq!((step.looked, step.alerted), (1, 0));

    let mut rows = vec![
        insight(
            "g1",
            day,
            "Refund as a gift card",
            "they gave me a gift card refund",
        ),
        insight("n1", day, "Login broken", "cannot log in"),
    ];
    for n in 0..7 {
        let mut row = insight(
            &format!("r{n}"),
            day,
            &format!("Refund missing {n}"),
            "I was promised a refund weeks ago",
        );
        row.severity = Severity::new(if n == 4 { 5 } else { 2 }).unwrap();
        rows.push(row);
    }
    add(&app, rows).await;
    // An update to the insight from before the watch is not news.
    add(
        &app,
        vec![insight("old", day, "Refund never came", "old news, edited")],
    )
    .await;

    // Not due until a minute after the last look.
    assert_eq!(watch_step(&app).await.unwrap().looked, 0);
    clock.advance(chrono::Duration::seconds(61));
    let step = watch_step(&app).await.unwrap();
    assert_eq!((step.looked, step.alerted, step.matched), (1, 1, 7));
    assert_eq!(worker(&app).drain().await.unwrap().sent, 1);
    let posted = log(dir.path(), "support");
    assert!(posted.contains("7 new insights match"), "{posted}");
    assert!(
        posted.contains("Refund missing 4"),
        "the most severe is quoted: {posted}"
    );
    assert_eq!(
        posted.matches("Discuss: /insights show").count(),
        3,
        "{posted}"
    );
    assert!(
        posted.contains("and 4 more: /insights ask refund -\"gift card\" since:2026-03-10"),
        "{posted}"
    );
    assert!(!posted.contains("gift card refund"), "{posted}");
    assert!(!posted.contains("Login broken"), "{posted}");

    // Looked at again later: nothing new, nothing posted.
    clock.advance(chrono::Duration::seconds(61));
    let step = watch_step(&app).await.unwrap();
    assert_eq!((step.looked, step.alerted), (1, 0));
    assert_eq!(worker(&app).drain().await.unwrap().sent, 0);

    // Listing and ending, from its own channel only.
    let listed = say(&app, "console:bo", "console:support", "/insights watches").await;
    assert!(
        listed.contains("refund -\"gift card\" · every:now · by console:ana"),
        "{listed}"
    );
    let elsewhere = say(&app, "console:bo", "console:other", "/insights unwatch 1").await;
    assert!(
        elsewhere.contains("no watch 1 in this channel"),
        "{elsewhere}"
    );
    let again = say(
        &app,
        "console:bo",
        "console:support",
        "/insights watch refund -\"gift card\"",
    )
    .await;
    assert!(again.contains("already watches"), "{again}");
    let ended = say(&app, "console:bo", "console:support", "/insights unwatch 1").await;
    assert!(ended.contains("Stopped watching (watch 1)"), "{ended}");
    let listed = say(&app, "console:bo", "console:support", "/insights watches").await;
    assert!(listed.contains("watches nothing yet"), "{listed}");
    add(
        &app,
        vec![insight("r9", day, "Refund late", "refund please")],
    )
    .await;
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(watch_step(&app).await.unwrap().looked, 0);

    // Mistakes get specific answers.
    let bad = say(
        &app,
        "console:bo",
        "console:support",
        "/insights watch refund every:weekly",
    )
    .await;
    assert!(bad.contains("`weekly` is not how often"), "{bad}");
    let bad = say(
        &app,
        "console:bo",
        "console:support",
        "/insights watch \"refund",
    )
    .await;
    assert!(bad.contains("quote"), "{bad}");
}

#[tokio::test]
async fn hourly_watches_gather_and_quiet_hours_hold_alerts_until_morning() {
    let dir = tempfile::tempdir().unwrap();
    let teams = r#"
[[teams]]
name = "paris"
channels = ["console:paris"]
timezone = "Europe/Paris"
quiet_hours = "22:00-07:00"
spike_alerts = false
watches = ["checkout every:hourly"]
"#;
    // 22:30 in Paris (UTC+1 in March before the clocks change).
    let (app, clock) = app_with(dir.path(), None, teams, "2026-03-10T21:30:00Z").await;
    assert_eq!(sync_declared_watches(&app).await.unwrap(), 1);
    assert_eq!(
        sync_declared_watches(&app).await.unwrap(),
        1,
        "declared once"
    );
    let listed = say(&app, "console:x", "console:paris", "/insights watches").await;
    assert!(
        listed.contains("checkout · every:hourly · from the configuration"),
        "{listed}"
    );
    let refused = say(&app, "console:x", "console:paris", "/insights unwatch 1").await;
    assert!(
        refused.contains("declared in the configuration"),
        "{refused}"
    );

    assert_eq!(watch_step(&app).await.unwrap().looked, 1);
    add(
        &app,
        vec![insight(
            "c1",
            today(&app),
            "Checkout fails",
            "checkout spins forever",
        )],
    )
    .await;
    // Hourly: not looked at again before 23:00 Paris (22:00 UTC).
    clock.set(utc("2026-03-10T21:59:00Z"));
    assert_eq!(watch_step(&app).await.unwrap().looked, 0);
    clock.set(utc("2026-03-10T22:00:00Z"));
    let step = watch_step(&app).await.unwrap();
    assert_eq!((step.looked, step.alerted), (1, 1));
    // Written at once, but due when the quiet hours end: 07:00 Paris is 06:00 UTC.
    assert_eq!(worker(&app).drain().await.unwrap().sent, 0);
    clock.set(utc("2026-03-11T05:59:00Z"));
    assert_eq!(worker(&app).drain().await.unwrap().sent, 0);
    clock.set(utc("2026-03-11T06:00:00Z"));
    assert_eq!(worker(&app).drain().await.unwrap().sent, 1);
    assert!(log(dir.path(), "paris").contains("1 new insight matches"));
}

#[tokio::test]
async fn a_channel_only_hears_of_insights_its_team_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let teams = r#"
[[teams]]
name = "support"
channels = ["console:support"]
spike_alerts = false

[[teams]]
name = "finance"
channels = ["console:finance"]
spike_alerts = false
"#;
    let (app, clock) = app_with(dir.path(), None, teams, "2026-03-10T10:00:00Z").await;
    for channel in ["console:support", "console:finance"] {
        let reply = say(&app, "console:ana", channel, "/insights watch invoice").await;
        assert!(reply.contains("Watching"), "{reply}");
    }
    // A second question in finance, looked at in the same pass as the first.
    let reply = say(
        &app,
        "console:ana",
        "console:finance",
        "/insights watch merger -refund",
    )
    .await;
    assert!(reply.contains("Watching"), "{reply}");
    let mut secret = insight(
        "s1",
        today(&app),
        "Invoice dispute",
        "invoice for the merger",
    );
    secret.visibility = Visibility::Teams(vec!["finance".into()]);
    add(&app, vec![secret]).await;
    clock.advance(chrono::Duration::seconds(61));
    let step = watch_step(&app).await.unwrap();
    assert_eq!((step.looked, step.alerted, step.matched), (3, 2, 2));
    assert_eq!(worker(&app).drain().await.unwrap().sent, 2);
    let finance = log(dir.path(), "finance");
    assert_eq!(finance.matches("Invoice dispute").count(), 2, "{finance}");
    assert!(finance.contains("merger -refund"), "{finance}");
    assert!(!log(dir.path(), "support").contains("Invoice dispute"));
}

const BILLING: &str = r#"
[[teams]]
name = "billing"
channels = ["console:billing"]
timezone = "UTC"
follow = ["refunds"]
"#;

/// `per_day[i]` insights on the theme `refunds`, `i` days before the clock's today (index 0 is
/// today).
async fn history(app: &App, prefix: &str, per_day: &[u64]) {
    let today = today(app);
    let mut rows = Vec::new();
    for (back, n) in per_day.iter().enumerate() {
        let day = today.checked_sub_days(Days::new(back as u64)).unwrap();
        for k in 0..*n {
            let mut row = insight(
                &format!("{prefix}-{back}-{k}"),
                day,
                &format!("Refund problem {back}/{k}"),
                "the refund did not arrive",
            );
            row.tags = vec!["refunds".into()];
            row.segment = Some(if k % 2 == 0 { "enterprise" } else { "smb" }.into());
            row.account = Some(format!("acct-{}", k % 3));
            rows.push(row);
        }
    }
    if !rows.is_empty() {
        add(app, rows).await;
    }
}

/// Steps spikes once a day at noon from the clock's day for `days` days; the number of spike
/// alerts written each day.
async fn daily_spike_steps(app: &App, clock: &ManualClock, days: usize) -> Vec<usize> {
    let mut alerted = Vec::new();
    for _ in 0..days {
        alerted.push(spike_step(app).await.unwrap().alerted);
        clock.advance(chrono::Duration::days(1));
    }
    alerted
}

#[tokio::test]
async fn a_spike_alerts_once_with_its_figures_and_stays_quiet_until_it_settles() {
    let dir = tempfile::tempdir().unwrap();
    let (app, clock) = app_with(dir.path(), None, BILLING, "2026-03-10T12:00:00Z").await;
    // Two a day for five weeks, then twelve today.
    let mut per_day = vec![2; 36];
    per_day[0] = 12;
    history(&app, "h", &per_day).await;
    let first = spike_step(&app).await.unwrap();
    assert_eq!((first.looked, first.alerted), (1, 1));
    // Again the same day, and the next days while it stays high: no new alert.
    assert_eq!(spike_step(&app).await.unwrap().alerted, 0);
    clock.advance(chrono::Duration::days(1));
    history(&app, "d1", &[11]).await;
    assert_eq!(spike_step(&app).await.unwrap().alerted, 0);
    assert_eq!(worker(&app).drain().await.unwrap().sent, 1);
    let posted = log(dir.path(), "billing");
    assert!(posted.contains("refunds is spiking"), "{posted}");
    assert!(
        posted.contains("6× its usual volume (12 on 10 Mar, usually 2 a day)"),
        "{posted}"
    );
    assert!(
        posted.contains("segments: enterprise (6), smb (6)"),
        "{posted}"
    );
    assert!(posted.contains("from 3 accounts"), "{posted}");
    assert_eq!(
        posted.matches("Discuss: /insights show").count(),
        3,
        "{posted}"
    );

    // It settles (a normal day), then spikes again: a second alert.
    clock.advance(chrono::Duration::days(1));
    history(&app, "d2", &[2]).await;
    assert_eq!(spike_step(&app).await.unwrap().alerted, 0);
    clock.advance(chrono::Duration::days(1));
    history(&app, "d3", &[2]).await;
    assert_eq!(spike_step(&app).await.unwrap().alerted, 0);
    clock.advance(chrono::Duration::days(1));
    history(&app, "d4", &[14]).await;
    assert_eq!(spike_step(&app).await.unwrap().alerted, 1);
    let alerts = app
        .store
        .alerts_since(AlertKind::Spike, utc("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0].summary["since"], "2026-03-10");
    let chart = alerts[0].message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|b| b.get("Chart"))
        .expect("a chart block");
    let counts: Vec<u64> = chart["series"][0]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    // Twelve weeks to the spike's (Monday 9 March: 2, then 12 on Tuesday the 10th); five weeks
    // of two a day before (from Tuesday 3 February), nothing earlier.
    assert_eq!(counts, [0, 0, 0, 0, 0, 0, 12, 14, 14, 14, 14, 14]);
}

#[tokio::test]
async fn a_slow_rise_and_a_weekly_pattern_do_not_alert() {
    let dir = tempfile::tempdir().unwrap();
    // Tuesday 10 March 2026.
    let (app, clock) = app_with(dir.path(), None, BILLING, "2026-03-10T12:00:00Z").await;
    // Eight weeks of Monday peaks (10 on Mondays, 2 otherwise), before today.
    let start = today(&app);
    let mut per_day = Vec::new();
    for back in 0..57u64 {
        let day = start.checked_sub_days(Days::new(back)).unwrap();
        per_day.push(if chrono::Datelike::weekday(&day) == chrono::Weekday::Mon {
            10
        } else {
            2
        });
    }
    per_day[0] = 0;
    history(&app, "w", &per_day).await;
    // Steps through the next fourteen days, the pattern going on (Mondays included).
    let mut alerted = Vec::new();
    for n in 0..14 {
        let day = today(&app);
        let count = if chrono::Datelike::weekday(&day) == chrono::Weekday::Mon {
            10
        } else {
            2
        };
        history(&app, &format!("w+{n}"), &[count]).await;
        alerted.extend(daily_spike_steps(&app, &clock, 1).await);
    }
    assert_eq!(alerted, vec![0; 14], "Mondays are normal for this theme");

    // A slow rise: one more a day every few days, for two months.
    let dir = tempfile::tempdir().unwrap();
    let (app, clock) = app_with(dir.path(), None, BILLING, "2026-03-10T12:00:00Z").await;
    let per_day: Vec<u64> = (0..36u64)
        .map(|back| if back == 0 { 0 } else { 2 + (36 - back) / 6 })
        .collect();
    history(&app, "s", &per_day).await;
    let mut alerted = Vec::new();
    for n in 0..30u64 {
        history(&app, &format!("s+{n}"), &[8 + n / 6]).await;
        alerted.extend(daily_spike_steps(&app, &clock, 1).await);
    }
    assert_eq!(alerted, vec![0; 30], "a slow rise moves its own baseline");
}

#[tokio::test]
async fn a_spike_at_night_waits_for_the_morning_and_racing_replicas_alert_once() {
    let dir = tempfile::tempdir().unwrap();
    let teams = r#"
[[teams]]
name = "billing"
channels = ["console:billing", "console:billing-leads"]
timezone = "America/New_York"
quiet_hours = "21:00-08:00"
follow = ["refunds"]
"#;
    // 23:00 in New York on 10 March (EDT since 8 March: UTC-4).
    let at = "2026-03-11T03:00:00Z";
    let (app, clock) = app_with(dir.path(), None, teams, at).await;
    let (replica, _) = app_with(dir.path(), None, teams, at).await;
    let mut per_day = vec![1; 36];
    per_day[0] = 9;
    // Today in New York is 10 March: the history is laid out from the UTC date, one day on.
    let shifted: Vec<u64> = std::iter::once(0).chain(per_day).collect();
    history(&app, "n", &shifted).await;
    let (a, b) = tokio::join!(spike_step(&app), spike_step(&replica));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.alerted + b.alerted, 1, "{a:?} {b:?}");
    // Held until 08:00 in New York (12:00 UTC), then sent to both channels.
    assert_eq!(worker(&app).drain().await.unwrap().sent, 0);
    clock.set(utc("2026-03-11T11:59:00Z"));
    assert_eq!(worker(&app).drain().await.unwrap().sent, 0);
    clock.set(utc("2026-03-11T12:00:00Z"));
    assert_eq!(worker(&app).drain().await.unwrap().sent, 2);
    assert!(log(dir.path(), "billing-leads").contains("refunds is spiking"));
}

/// A team that names no themes follows its largest recent ones, whatever their spelling.
#[tokio::test]
async fn a_team_without_followed_themes_hears_of_its_largest_ones() {
    let dir = tempfile::tempdir().unwrap();
    let teams = r#"
[[teams]]
name = "everyone"
channels = ["console:everyone"]
"#;
    let (app, _clock) = app_with(dir.path(), None, teams, "2026-03-10T12:00:00Z").await;
    let today = today(&app);
    let mut rows = Vec::new();
    for back in 0..36u64 {
        let n = if back == 0 { 12 } else { 2 };
        for k in 0..n {
            let mut row = insight(
                &format!("d{back}-{k}"),
                today.checked_sub_days(Days::new(back)).unwrap(),
                "Refund late",
                "my refund is late",
            );
            row.tags = vec!["Refund Delays".into()];
            rows.push(row);
        }
    }
    add(&app, rows).await;
    let step = spike_step(&app).await.unwrap();
    assert_eq!((step.looked, step.alerted), (1, 1), "{step:?}");
    assert_eq!(worker(&app).drain().await.unwrap().sent, 1);
    let posted = log(dir.path(), "everyone");
    assert!(posted.contains("Refund Delays is spiking"), "{posted}");
}

/// A channel holds at most 25 watches; the 26th is refused, saying how to make room.
#[tokio::test]
async fn a_channel_holds_a_bounded_number_of_watches() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _clock) = app_with(dir.path(), None, SUPPORT, "2026-03-10T10:00:00Z").await;
    for n in 0..25 {
        let reply = say(
            &app,
            "console:ana",
            "console:support",
            &format!("/insights watch word{n}"),
        )
        .await;
        assert!(reply.contains("Watching"), "{n}: {reply}");
    }
    let refused = say(
        &app,
        "console:ana",
        "console:support",
        "/insights watch word25",
    )
    .await;
    assert!(
        refused.contains("already has 25 watches, the most it may have"),
        "{refused}"
    );
    assert!(refused.contains("/insights unwatch ID"), "{refused}");
    // Another channel has room of its own.
    let elsewhere = say(
        &app,
        "console:ana",
        "console:other",
        "/insights watch word25",
    )
    .await;
    assert!(elsewhere.contains("Watching"), "{elsewhere}");
}
