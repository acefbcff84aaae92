//! Digests end to end in-process: the scheduler stepped with an injected clock, delivery
//! workers stepped by hand, adapters that write real files or fail on demand, SQLite and (when
//! `FLYWHEEL_TEST_POSTGRES_URL` is set) PostgreSQL.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use flywheel::app::App;
use flywheel::clock::ManualClock;
use flywheel::conversation::{CommandTyped, Event, Inbound};
use flywheel::services::channels::{Adapter, Adapters, Marker, SendError, Sent};
use flywheel::services::delivery::Worker;
use flywheel::services::scheduler::{TeamTick, tick};
use flywheel::transports::console::ConsoleAdapter;
use flywheel_config::{Config, Environment};
use flywheel_insights::address::{ChannelAddress, Platform};
use flywheel_insights::message::Message;
use flywheel_storage::deliveries::DeliveryStatus;
use futures::future::BoxFuture;

pub(crate) fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

/// An app on a fresh store with `teams` (TOML `[[teams]]` tables) and its clock.
pub(crate) async fn app_with(
    dir: &Path,
    store_url: Option<&str>,
    teams: &str,
    at: &str,
) -> (App, ManualClock) {
    let url = store_url
        .map(str::to_string)
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("flywheel.db").display()));
    let text = format!(
        "[store]\nurl = \"{url}\"\n[console]\ndir = \"{}\"\n{teams}",
        dir.join("console").display()
    );
    let environment = Environment::empty().with("FLYWHEEL_DATA_DIR", dir.display().to_string());
    let config = Config::parse(&text, &environment).expect("a valid config");
    let clock = ManualClock::new(utc(at));
    let app = App::open(config, Arc::new(clock.clone()))
        .await
        .unwrap_or_else(|e| panic!("the app opens: {e:?}"));
    (app, clock)
}

fn queued(outcomes: &[(String, TeamTick)]) -> usize {
    outcomes
        .iter()
        .filter(|(_, o)| matches!(o, TeamTick::Queued { .. }))
        .count()
}

/// Ticks every `step` from `from` to `until` and returns the local times at which a digest
/// was queued, per team.
async fn tick_through(
    app: &App,
    clock: &ManualClock,
    from: &str,
    until: &str,
    step: chrono::Duration,
) -> HashMap<String, Vec<DateTime<Utc>>> {
    let mut queued_at: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    clock.set(utc(from));
    while clock.now_utc() <= utc(until) {
        for (team, outcome) in tick(app).await.expect("tick") {
            if let TeamTick::Queued { .. } = outcome {
                queued_at.entry(team).or_default().push(clock.now_utc());
            }
        }
        clock.advance(step);
    }
    queued_at
}

trait NowUtc {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl NowUtc for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        flywheel::clock::Clock::now(self)
    }
}

#[tokio::test]
async fn weekly_digests_stay_at_nine_local_across_daylight_saving_in_two_timezones() {
    let dir = tempfile::tempdir().unwrap();
    let teams = r#"
[[teams]]
name = "berlin"
channels = ["console:berlin"]
schedule = "0 9 * * MON"
timezone = "Europe/Berlin"

[[teams]]
name = "new-york"
channels = ["console:new-york"]
schedule = "0 9 * * MON"
timezone = "America/New_York"
"#;
    let (app, clock) = app_with(dir.path(), None, teams, "2026-03-01T00:00:00Z").await;
    // New York moves its clocks on 8 March 2026, Berlin on 29 March.
    let queued = tick_through(
        &app,
        &clock,
        "2026-03-01T00:00:00Z",
        "2026-04-07T00:00:00Z",
        chrono::Duration::minutes(30),
    )
    .await;
    let local = |team: &str, tz: chrono_tz::Tz| -> Vec<String> {
        queued[team]
            .iter()
            .map(|t| t.with_timezone(&tz).format("%a %d %b %H:%M").to_string())
            .collect()
    };
    // 1 March is a Sunday: Monday 23 February's digest is past the grace window and skipped.
    // Every later Monday is sent at 09:00 local.
    assert_eq!(
        local("berlin", chrono_tz::Europe::Berlin),
        [
            "Mon 02 Mar 09:00",
            "Mon 09 Mar 09:00",
            "Mon 16 Mar 09:00",
            "Mon 23 Mar 09:00",
            "Mon 30 Mar 09:00",
            "Mon 06 Apr 09:00"
        ]
    );
    assert_eq!(
        local("new-york", chrono_tz::America::New_York),
        [
            "Mon 02 Mar 09:00",
            "Mon 09 Mar 09:00",
            "Mon 16 Mar 09:00",
            "Mon 23 Mar 09:00",
            "Mon 30 Mar 09:00",
            "Mon 06 Apr 09:00"
        ]
    );
    // UTC shows the shift: 08:00Z before Berlin's change, 07:00Z after.
    assert_eq!(queued["berlin"][3], utc("2026-03-23T08:00:00Z"));
    assert_eq!(queued["berlin"][4], utc("2026-03-30T07:00:00Z"));
}

#[tokio::test]
async fn skipped_and_doubled_local_hours_give_exactly_one_digest_each_day() {
    let dir = tempfile::tempdir().unwrap();
    let teams = r#"
[[teams]]
name = "gap"
channels = ["console:gap"]
schedule = "30 2 * * *"
timezone = "America/New_York"

[[teams]]
name = "overlap"
channels = ["console:overlap"]
schedule = "30 1 * * *"
timezone = "America/New_York"
"#;
    let (app, clock) = app_with(dir.path(), None, teams, "2026-03-07T00:00:00Z").await;
    // 8 March 2026: 02:00–03:00 does not exist in New York.
    let spring = tick_through(
        &app,
        &clock,
        "2026-03-07T12:00:00Z",
        "2026-03-09T12:00:00Z",
        chrono::Duration::minutes(15),
    )
    .await;
    let days = |times: &[DateTime<Utc>]| -> Vec<String> {
        times
            .iter()
            .map(|t| {
                t.with_timezone(&chrono_tz::America::New_York)
                    .format("%d %H:%M")
                    .to_string()
            })
            .collect()
    };
    // The first tick catches up on 7 March's digest (within the grace window).
    assert_eq!(days(&spring["gap"]), ["07 07:00", "08 03:00", "09 02:30"]);
    // 1 November 2026: 01:00–02:00 happens twice.
    let autumn = tick_through(
        &app,
        &clock,
        "2026-10-31T12:00:00Z",
        "2026-11-02T12:00:00Z",
        chrono::Duration::minutes(15),
    )
    .await;
    assert_eq!(
        days(&autumn["overlap"]),
        ["31 08:00", "01 01:30", "02 01:30"]
    );
}

#[tokio::test]
async fn after_an_outage_one_digest_is_sent_and_older_periods_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let teams = r#"
[[teams]]
name = "growth"
channels = ["console:growth"]
schedule = "0 9 * * MON"
timezone = "UTC"
"#;
    let (app, clock) = app_with(dir.path(), None, teams, "2026-01-05T09:10:00Z").await;
    let first = tick(&app).await.unwrap();
    assert_eq!(queued(&first), 1, "{first:?}");
    // A second tick in the same period does nothing.
    assert!(matches!(
        tick(&app).await.unwrap()[0].1,
        TeamTick::Done { .. }
    ));

    // Down for three weeks; back two hours after the fourth Monday's fire time.
    clock.set(utc("2026-01-26T11:00:00Z"));
    let back = tick(&app).await.unwrap();
    match &back[0].1 {
        TeamTick::Queued {
            skipped,
            period_start,
            ..
        } => {
            assert_eq!(*skipped, 2, "the periods ending 12 and 19 January");
            assert_eq!(*period_start, utc("2026-01-19T09:00:00Z"));
        }
        other => panic!("expected a queued digest, got {other:?}"),
    }

    // Back 30 hours after a fire time: past the 24 h grace, nothing is sent for it.
    clock.set(utc("2026-02-03T15:00:00Z"));
    let late = tick(&app).await.unwrap();
    assert!(matches!(late[0].1, TeamTick::Missed { .. }), "{late:?}");
    assert!(matches!(
        tick(&app).await.unwrap()[0].1,
        TeamTick::Done { .. }
    ));

    let worker = Worker::new(
        app.clone(),
        flywheel::transports::adapters(&app.config),
        "w",
    );
    let drained = worker.drain().await.unwrap();
    assert_eq!(drained.sent, 2, "{drained:?}");
    let log = std::fs::read_to_string(dir.path().join("console/growth.log")).unwrap();
    assert_eq!(log.matches("=== flywheel-delivery-").count(), 2, "{log}");
}

#[tokio::test]
async fn an_empty_week_gets_a_quiet_week_note() {
    let dir = tempfile::tempdir().unwrap();
    let teams = r#"
[[teams]]
name = "growth"
channels = ["console:growth"]
schedule = "0 9 * * MON"
timezone = "UTC"
"#;
    let (app, _clock) = app_with(dir.path(), None, teams, "2026-01-05T09:10:00Z").await;
    assert_eq!(queued(&tick(&app).await.unwrap()), 1);
    let worker = Worker::new(
        app.clone(),
        flywheel::transports::adapters(&app.config),
        "w",
    );
    assert_eq!(worker.drain().await.unwrap().sent, 1);
    let log = std::fs::read_to_string(dir.path().join("console/growth.log")).unwrap();
    assert!(log.to_lowercase().contains("quiet"), "{log}");
}

/// An adapter whose channels fail as told, recording what it sent.
#[derive(Default)]
struct Scripted {
    failures: Mutex<HashMap<String, Vec<SendError>>>,
    sent: Mutex<Vec<(String, Option<String>)>>,
}

impl Scripted {
    fn fail(&self, channel: &str, errors: Vec<SendError>) {
        self.failures
            .lock()
            .unwrap()
            .insert(channel.to_string(), errors);
    }

    fn sent_to(&self, channel: &str) -> usize {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|(c, _)| c == channel)
            .count()
    }
}

impl Adapter for Scripted {
    fn platform(&self) -> Platform {
        Platform::Console
    }

    fn send<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        _message: &'a Message,
        marker: Option<&'a Marker>,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            if let Some(errors) = self.failures.lock().unwrap().get_mut(&channel.to_string())
                && !errors.is_empty()
            {
                return Err(errors.remove(0));
            }
            self.sent
                .lock()
                .unwrap()
                .push((channel.to_string(), marker.map(Marker::key)));
            Ok(Sent {
                message_ref: format!("{channel}#{}", self.sent.lock().unwrap().len()),
            })
        })
    }

    fn reply<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        _thread: &'a str,
        message: &'a Message,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        self.send(channel, message, None)
    }

    fn find_sent<'a>(
        &'a self,
        channel: &'a ChannelAddress,
        marker: &'a Marker,
    ) -> BoxFuture<'a, Result<Option<Sent>, SendError>> {
        Box::pin(async move {
            let key = marker.key();
            Ok(self
                .sent
                .lock()
                .unwrap()
                .iter()
                .any(|(c, m)| *c == channel.to_string() && m.as_deref() == Some(key.as_str()))
                .then(|| Sent {
                    message_ref: format!("{channel}:{key}"),
                }))
        })
    }
}

#[tokio::test]
async fn transient_failures_retry_after_the_wait_and_permanent_ones_stop() {
    let dir = tempfile::tempdir().unwrap();
    let teams = r#"
[[teams]]
name = "growth"
channels = ["console:ok", "console:limited", "console:gone", "console:flaky"]
schedule = "0 9 * * MON"
timezone = "UTC"
"#;
    let (app, clock) = app_with(dir.path(), None, teams, "2026-01-05T09:10:00Z").await;
    let scripted = Arc::new(Scripted::default());
    scripted.fail(
        "console:limited",
        vec![SendError::Transient {
            reason: "rate limited".into(),
            retry_after: Some(Duration::from_secs(900)),
        }],
    );
    scripted.fail(
        "console:gone",
        vec![SendError::permanent(
            "channel_not_found: the channel does not exist",
        )],
    );
    scripted.fail(
        "console:flaky",
        (0..20)
            .map(|_| SendError::transient("503 from the platform"))
            .collect(),
    );
    let adapters = Adapters::new().with(scripted.clone());
    let worker = Worker::new(app.clone(), adapters, "w");
    assert_eq!(queued(&tick(&app).await.unwrap()), 1);

    let first = worker.step().await.unwrap();
    assert_eq!(
        (first.sent, first.retried, first.failed),
        (1, 2, 1),
        "{first:?}"
    );
    // Ten minutes later the rate-limited delivery is not due yet (it asked for 15).
    clock.advance(chrono::Duration::minutes(10));
    let early = worker.step().await.unwrap();
    assert_eq!(early.sent, 0, "{early:?}");
    assert_eq!(scripted.sent_to("console:limited"), 0);
    clock.advance(chrono::Duration::minutes(6));
    worker.step().await.unwrap();
    assert_eq!(scripted.sent_to("console:limited"), 1);
    assert_eq!(scripted.sent_to("console:gone"), 0);

    // The flaky channel is given up after a bounded number of attempts, never retried forever.
    for _ in 0..40 {
        clock.advance(chrono::Duration::hours(2));
        worker.step().await.unwrap();
    }
    let digest = app.store.latest_digest("growth").await.unwrap().unwrap();
    let statuses: HashMap<String, (DeliveryStatus, Option<String>)> = app
        .store
        .deliveries(digest.id)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.channel.clone(), (d.status, d.last_error.clone())))
        .collect();
    assert_eq!(statuses["console:ok"].0, DeliveryStatus::Sent);
    assert_eq!(statuses["console:limited"].0, DeliveryStatus::Sent);
    assert_eq!(statuses["console:gone"].0, DeliveryStatus::Failed);
    assert!(
        statuses["console:gone"]
            .1
            .as_deref()
            .unwrap()
            .contains("channel_not_found")
    );
    assert_eq!(statuses["console:flaky"].0, DeliveryStatus::Failed);
    assert!(
        statuses["console:flaky"]
            .1
            .as_deref()
            .unwrap()
            .contains("gave up after")
    );
    assert_eq!(scripted.sent_to("console:flaky"), 0);
}

#[tokio::test]
async fn a_delivery_in_doubt_is_looked_up_before_it_is_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let teams = r#"
[[teams]]
name = "growth"
channels = ["console:a", "console:b"]
schedule = "0 9 * * MON"
timezone = "UTC"
"#;
    let (app, clock) = app_with(dir.path(), None, teams, "2026-01-05T09:10:00Z").await;
    assert_eq!(queued(&tick(&app).await.unwrap()), 1);
    let scripted = Arc::new(Scripted::default());
    // A worker claims both, sends to `a`, and dies before recording anything.
    let claimed = app
        .store
        .claim_deliveries(
            "dead",
            clock.now_utc(),
            flywheel::services::delivery::LEASE,
            10,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let a = claimed.iter().find(|d| d.channel == "console:a").unwrap();
    scripted
        .send(
            &"console:a".parse().unwrap(),
            &Message::text("digest"),
            Some(&Marker { delivery_id: a.id }),
        )
        .await
        .unwrap();

    let worker = Worker::new(app.clone(), Adapters::new().with(scripted.clone()), "w");
    assert_eq!(worker.step().await.unwrap().claimed, 0, "leases still held");
    clock.advance(
        chrono::Duration::from_std(flywheel::services::delivery::LEASE).unwrap()
            + chrono::Duration::seconds(1),
    );
    let after = worker.step().await.unwrap();
    assert_eq!((after.found, after.sent), (1, 1), "{after:?}");
    assert_eq!(scripted.sent_to("console:a"), 1, "not posted twice");
    assert_eq!(scripted.sent_to("console:b"), 1);
}

#[tokio::test]
async fn racing_schedulers_and_workers_on_postgres_deliver_once_per_channel() {
    let Ok(admin_url) = std::env::var("FLYWHEEL_TEST_POSTGRES_URL") else {
        eprintln!("skipping: FLYWHEEL_TEST_POSTGRES_URL is not set");
        return;
    };
    let schema = format!("flywheel_race_{}", std::process::id());
    let admin = |sql: String| {
        let url = admin_url.clone();
        async move {
            use sqlx::Connection as _;
            let mut connection = sqlx::PgConnection::connect(&url)
                .await
                .expect("FLYWHEEL_TEST_POSTGRES_URL is set but PostgreSQL is unreachable");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut connection)
                .await
                .expect("schema statement");
        }
    };
    admin(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
    admin(format!("CREATE SCHEMA {schema}")).await;
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");

    let dir = tempfile::tempdir().unwrap();
    let channels: Vec<String> = (0..200).map(|n| format!("\"console:c{n:03}\"")).collect();
    let teams = format!(
        "[[teams]]\nname = \"growth\"\nchannels = [{}]\nschedule = \"0 9 * * MON\"\ntimezone = \"UTC\"\n",
        channels.join(", ")
    );
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(
            app_with(dir.path(), Some(&url), &teams, "2026-01-05T09:10:00Z")
                .await
                .0,
        );
    }
    let ticks = futures::future::join_all(replicas.iter().map(tick)).await;
    let queued_total: usize = ticks.iter().map(|t| queued(t.as_ref().unwrap())).sum();
    assert_eq!(queued_total, 1, "one digest however many schedulers race");

    let console = Arc::new(ConsoleAdapter::new(Some(dir.path().join("console"))));
    let workers: Vec<Worker> = replicas
        .iter()
        .enumerate()
        .map(|(n, app)| {
            Worker::new(
                app.clone(),
                Adapters::new().with(console.clone()),
                format!("w{n}"),
            )
        })
        .collect();
    let outcomes = futures::future::join_all(workers.iter().map(Worker::drain)).await;
    let sent: usize = outcomes.iter().map(|o| o.as_ref().unwrap().sent).sum();
    assert_eq!(sent, 200);
    for n in 0..200 {
        let log = std::fs::read_to_string(dir.path().join(format!("console/c{n:03}.log"))).unwrap();
        assert_eq!(
            log.matches("=== flywheel-delivery-").count(),
            1,
            "c{n:03}: {log}"
        );
    }
    for app in &replicas {
        app.store.close().await;
    }
    admin(format!("DROP SCHEMA {schema} CASCADE")).await;
}

/// Queues the review reminders that are due and sends them: how many were queued.
async fn remind_and_send(app: &App, adapters: &Adapters) -> usize {
    let queued = flywheel::services::reviews::remind(app).await.unwrap();
    Worker::new(app.clone(), adapters.clone(), "reminders")
        .drain()
        .await
        .unwrap();
    queued
}

/// What `user` is told for `text` typed in `channel`.
pub(crate) async fn say(app: &App, user: &str, channel: &str, text: &str) -> String {
    let event = Event::Command(CommandTyped {
        user: user.parse().expect("a user address"),
        channel: channel.parse().expect("a channel address"),
        text: text.to_string(),
        roles: Vec::new(),
    });
    Inbound::new(app.clone(), Adapters::new())
        .dispatch(event)
        .await
        .expect("a command is answered")
        .expect("with a reply")
        .message
        .to_plain()
}

/// Auckland is 13 hours ahead of UTC in March, Los Angeles 8 behind: a review date comes in
/// each team's own night, and a review is on time by the decision's own calendar, whatever the
/// UTC date says.
#[tokio::test]
async fn review_reminders_come_on_the_teams_date_and_punctuality_follows_its_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let teams = r#"
[[teams]]
name = "auckland"
channels = ["console:akl"]
managers = ["console:kiri"]
timezone = "Pacific/Auckland"

[[teams]]
name = "la"
channels = ["console:la"]
managers = ["console:lee"]
timezone = "America/Los_Angeles"
"#;
    // 22:59 on 1 March in Auckland; 01:59 on 1 March in Los Angeles.
    let (app, clock) = app_with(dir.path(), None, teams, "2026-03-01T09:59:00Z").await;
    let adapters = Adapters::new().with(Arc::new(ConsoleAdapter::new(Some(
        dir.path().join("console"),
    ))));
    let added = say(
        &app,
        "console:kiri",
        "console:akl",
        "/insights add Refunds take three weeks theme:refunds",
    )
    .await;
    assert!(added.contains("Saved as #1"), "{added}");
    clock.advance(chrono::Duration::minutes(1));
    for (user, channel) in [
        ("console:kiri", "console:akl"),
        ("console:lee", "console:la"),
    ] {
        let logged = say(
            &app,
            user,
            channel,
            "/decision log \"Refund within a week\" evidence:1 review:1d",
        )
        .await;
        assert!(logged.contains("logged"), "{logged}");
    }
    let shown = say(&app, "console:kiri", "console:akl", "/decision show 1").await;
    assert!(
        shown.contains("2026-03-02"),
        "due on the 2nd in Auckland: {shown}"
    );
    let shown = say(&app, "console:lee", "console:la", "/decision show 2").await;
    assert!(
        shown.contains("2026-03-02"),
        "due on the 2nd in Los Angeles: {shown}"
    );

    // More customers complain about refunds after the decisions.
    clock.set(utc("2026-03-01T10:30:00Z"));
    say(
        &app,
        "console:kiri",
        "console:akl",
        "/insights add Refund still missing after a month, furious theme:refunds",
    )
    .await;

    // 23:59 in Auckland: not yet.
    clock.set(utc("2026-03-01T10:59:00Z"));
    assert_eq!(remind_and_send(&app, &adapters).await, 0);
    // Midnight in Auckland (still the 1st in UTC): Auckland's reminder, not Los Angeles'.
    clock.set(utc("2026-03-01T11:00:00Z"));
    assert_eq!(remind_and_send(&app, &adapters).await, 1);
    assert_eq!(remind_and_send(&app, &adapters).await, 0, "reminded once");
    let akl = std::fs::read_to_string(dir.path().join("console/akl.log")).unwrap();
    assert!(akl.contains("Review due: D1 Refund within a week"), "{akl}");
    assert!(
        akl.contains("Since then: 1 new insight(s) on refunds."),
        "{akl}"
    );
    assert!(!dir.path().join("console/la.log").exists());
    // Midnight in Los Angeles.
    clock.set(utc("2026-03-02T07:59:00Z"));
    assert_eq!(remind_and_send(&app, &adapters).await, 0);
    clock.set(utc("2026-03-02T08:00:00Z"));
    assert_eq!(remind_and_send(&app, &adapters).await, 1);
    let la = std::fs::read_to_string(dir.path().join("console/la.log")).unwrap();
    assert!(la.contains("Review due: D2 Refund within a week"), "{la}");

    // Kiri reviews at 01:00 on the 3rd in Auckland (the 2nd in UTC): late.
    clock.set(utc("2026-03-02T12:00:00Z"));
    let reviewed = say(
        &app,
        "console:kiri",
        "console:akl",
        "/decision review 1 kept \"halved\"",
    )
    .await;
    assert!(reviewed.contains("D1 reviewed: kept"), "{reviewed}");
    // Lee reviews at 20:30 on the 2nd in Los Angeles (the 3rd in UTC): on time.
    clock.set(utc("2026-03-03T04:30:00Z"));
    let reviewed = say(
        &app,
        "console:lee",
        "console:la",
        "/decision review 2 kept \"halved\"",
    )
    .await;
    assert!(reviewed.contains("D2 reviewed: kept"), "{reviewed}");

    let akl = say(&app, "console:kiri", "console:akl", "/decision stats").await;
    assert!(akl.contains("1 reviews done, 0 on time, 1 late"), "{akl}");
    let la = say(&app, "console:lee", "console:la", "/decision stats").await;
    assert!(la.contains("1 reviews done, 1 on time, 0 late"), "{la}");
    assert_eq!(remind_and_send(&app, &adapters).await, 0);

    // The next digest's footer carries the same figures.
    clock.set(utc("2026-03-09T20:00:00Z"));
    let team = app.config.team("auckland").unwrap();
    let period = flywheel::services::digests::period_at(team, clock.now_utc()).unwrap();
    let composed = flywheel::services::digests::compose(&app, team, &period)
        .await
        .unwrap();
    let plain = composed.message.to_plain();
    assert!(
        plain.ends_with(
            "Last 90 days: 0 insights flagged · 1 decision logged, 0.4 days from first evidence \
             to decision (median) · 0 of 1 review on time."
        ),
        "{plain}"
    );
}

#[tokio::test]
async fn digest_send_composes_a_period_the_scheduler_skipped_and_sends_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _clock) = app_with(
        dir.path(),
        None,
        "[[teams]]\nname = \"growth\"\nchannels = [\"console:growth\", \"console:leads\"]\nschedule = \"0 9 * * MON\"\ntimezone = \"UTC\"\n",
        // Wednesday: Monday's digest is past the 24-hour grace window.
        "2026-03-04T12:00:00Z",
    )
    .await;
    let outcomes = tick(&app).await.expect("tick");
    assert!(
        matches!(outcomes[0].1, TeamTick::Missed { .. }),
        "{outcomes:?}"
    );
    let team = app.team("growth").unwrap().clone();
    let adapters = flywheel::transports::adapters(&app.config);
    let sent = flywheel::services::digests::send_now(&app, &team, adapters.clone(), "cli-1")
        .await
        .expect("sent");
    assert!(
        matches!(
            sent.created,
            flywheel::services::digests::Created::Queued { deliveries: 2, .. }
        ),
        "{:?}",
        sent.created
    );
    assert!(
        sent.deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Sent),
        "{:?}",
        sent.deliveries
    );
    let again = flywheel::services::digests::send_now(&app, &team, adapters, "cli-2")
        .await
        .expect("asked again");
    assert!(
        matches!(
            again.created,
            flywheel::services::digests::Created::AlreadyExists { .. }
        ),
        "{:?}",
        again.created
    );
    let log = std::fs::read_to_string(dir.path().join("console").join("growth.log")).unwrap();
    assert_eq!(log.matches("=== flywheel-delivery-").count(), 1, "{log}");
}
