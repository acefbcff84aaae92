//! Socket Mode end to end: the real service (or its Socket Mode loop) connects to the emulated
//! Slack over a WebSocket, and what Slack sends there is answered in the acknowledgements.
//!
//! These run on the real clock: nothing waits for background work with a sleep; every wait is
//! for an acknowledgement, a connection or an answer, with a ceiling.

use std::sync::Arc;
use std::time::Duration;

use flywheel::app::App;
use flywheel::conversation::Inbound;
use flywheel::services::channels::Adapters;
use flywheel::transports::slack::socket::{SocketError, SocketMode, SocketOptions};
use flywheel::transports::slack::{SlackAdapter, SlackOptions};
use flywheel_config::{Config, Environment, Secret};
use flywheel_insights::message::{Action, MoreRef};
use flywheel_tests::slack::{APP_TOKEN, BOT_TOKEN, SOCKET_CEILING, SlackEmulator};
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// The team's channel.
const CHANNEL: &str = "C0TEAM";

/// An app on a fresh SQLite store whose Slack transport is Socket Mode against `slack`, with
/// `app_token` as SLACK_APP_TOKEN, and a team owning `slack:C0TEAM`; the Slack adapter posts
/// to `slack`.
async fn app(slack: &SlackEmulator, app_token: Option<&str>) -> (App, Adapters, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[store]\nurl = \"sqlite://{}\"\n[console]\ndir = \"{}\"\n\
         [slack]\ntransport = \"socket\"\napi_url = \"{}\"\n\
         [[teams]]\nname = \"growth\"\nchannels = [\"slack:{CHANNEL}\"]\nschedule = \"0 9 * * MON\"\ntimezone = \"UTC\"\n",
        dir.path().join("flywheel.db").display(),
        dir.path().join("console").display(),
        slack.api_url(),
    );
    let mut env = Environment::empty();
    if let Some(token) = app_token {
        env = env.with("SLACK_APP_TOKEN", token);
    }
    let config = Config::parse(&text, &env).expect("a valid config");
    let adapter = SlackAdapter::with_options(
        &config.slack,
        Secret::new(BOT_TOKEN),
        SlackOptions {
            request_timeout: Some(Duration::from_secs(5)),
            ..SlackOptions::default()
        },
    );
    let app = App::open(config, Arc::new(flywheel::clock::SystemClock))
        .await
        .unwrap_or_else(|e| panic!("the app opens: {e:?}"));
    let adapters = Adapters::new().with(Arc::new(adapter));
    (app, adapters, dir)
}

/// `flywheel serve` with Socket Mode, until [`Service::stop`].
struct Service {
    app: App,
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    run: JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Service {
    async fn start(slack: &SlackEmulator) -> Service {
        let (app, adapters, dir) = app(slack, Some(APP_TOKEN)).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let run = tokio::spawn(flywheel::serve::run(
            app.clone(),
            adapters,
            listener,
            async move {
                let _ = stopped.await;
            },
        ));
        assert!(
            slack.wait_for_socket(1, SOCKET_CEILING).await,
            "the service connects over Socket Mode"
        );
        Service {
            app,
            url,
            shutdown: Some(shutdown),
            run,
            _dir: dir,
        }
    }

    /// Stops the service: it ends cleanly, in time.
    async fn stop(mut self) {
        let _ = self.shutdown.take().expect("running").send(());
        tokio::time::timeout(SOCKET_CEILING, &mut self.run)
            .await
            .expect("the service stops in time")
            .expect("the service does not panic")
            .expect("the service stops cleanly");
    }
}

/// The Socket Mode loop alone, for its ending.
async fn socket_loop(
    slack: &SlackEmulator,
    app_token: &str,
) -> (
    watch::Sender<bool>,
    JoinHandle<Result<(), SocketError>>,
    tempfile::TempDir,
) {
    let (app, adapters, dir) = app(slack, Some(app_token)).await;
    let socket_mode = SocketMode::new(Inbound::new(app, adapters))
        .expect("the app-level token is set")
        .with_options(SocketOptions {
            backoff_min: Duration::from_millis(50),
            ..SocketOptions::default()
        })
        .expect("an HTTP client");
    let (stop, stopping) = watch::channel(false);
    (stop, tokio::spawn(socket_mode.run(stopping)), dir)
}

fn command(text: &str, response_url: &str) -> Value {
    json!({
        "token": "legacy-verification-token",
        "team_id": "T0FLYWHEEL",
        "team_domain": "flywheel-emulated",
        "channel_id": CHANNEL,
        "channel_name": "team",
        "user_id": "U0ASKER",
        "user_name": "asker",
        "command": "/insights",
        "text": text,
        "api_app_id": "A0FLYWHEEL",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    })
}

fn block_actions(action: &Action, message_ts: &str, response_url: &str) -> Value {
    json!({
        "type": "block_actions",
        "user": {"id": "U0ASKER"},
        "channel": {"id": CHANNEL},
        "message": {"ts": message_ts},
        "actions": [{"action_id": action.encode()}],
        "response_url": response_url,
    })
}

fn thread_reply(event_id: &str, thread_ts: &str, ts: &str, text: &str) -> Value {
    json!({
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1,
        "event": {
            "type": "message",
            "channel": CHANNEL,
            "user": "U0REPLIER",
            "text": text,
            "ts": ts,
            "thread_ts": thread_ts,
        },
    })
}

/// The id of the insight named in an answer like "Saved as #12.".
fn insight_id(answer: &Value) -> i64 {
    let text = answer["text"].as_str().unwrap_or_default();
    text.split('#')
        .nth(1)
        .and_then(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("an insight id in {answer}"))
}

/// Adds an insight through `/insights add` over Socket Mode: its id.
async fn add_insight(slack: &SlackEmulator, text: &str) -> i64 {
    let ack = slack
        .socket_send(
            "slash_commands",
            command(&format!("add {text}"), "http://127.0.0.1:9/unused"),
        )
        .await;
    assert_eq!(ack["payload"]["response_type"], "in_channel", "{ack}");
    insight_id(&ack["payload"])
}

#[tokio::test]
async fn socket_mode_answers_commands_and_buttons_in_the_acknowledgements() {
    let slack = SlackEmulator::start().await;
    slack.add_channel(CHANNEL);
    let service = Service::start(&slack).await;
    assert_eq!(slack.count("apps.connections.open", "ok"), 1);

    // The HTTP listener still answers health checks.
    let health = reqwest::get(format!("{}/healthz", service.url))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let ack = slack
        .socket_send(
            "slash_commands",
            command("help", "http://127.0.0.1:9/unused"),
        )
        .await;
    let answer = &ack["payload"];
    assert!(ack["envelope_id"].is_string(), "{ack}");
    assert_eq!(answer["response_type"], "ephemeral", "{ack}");
    assert!(
        answer["blocks"].as_array().is_some_and(|b| !b.is_empty()),
        "{ack}"
    );
    assert!(
        answer["text"]
            .as_str()
            .is_some_and(|t| t.contains("/insights")),
        "{ack}"
    );

    let id = add_insight(&slack, "Refunds take two weeks to arrive").await;
    let ack = slack
        .socket_send(
            "slash_commands",
            command("ask refunds", "http://127.0.0.1:9/unused"),
        )
        .await;
    let answer = &ack["payload"];
    assert_eq!(answer["response_type"], "ephemeral", "{ack}");
    let show = Action::ShowMore {
        what: MoreRef::Insight(id),
    }
    .encode();
    assert!(
        answer["blocks"].to_string().contains(&show),
        "the answer offers to show #{id}: {ack}"
    );

    // A button: acknowledged at once (Slack takes no answer in it), answered through the
    // response URL.
    let ack = slack
        .socket_send(
            "interactive",
            block_actions(
                &Action::Useful(id),
                "1700000000.000100",
                &slack.response_url("useful"),
            ),
        )
        .await;
    assert!(ack["envelope_id"].is_string(), "{ack}");
    assert!(ack.get("payload").is_none(), "{ack}");
    let answers = slack.wait_for_responses("useful", 1, SOCKET_CEILING).await;
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0]["response_type"], "ephemeral", "{answers:?}");

    assert!(
        slack.socket_ping(SOCKET_CEILING).await,
        "pings are answered"
    );

    service.stop().await;
    assert!(
        slack.wait_for_sockets_open(0, SOCKET_CEILING).await,
        "the connection is closed on shutdown"
    );
    assert_eq!(slack.sockets_opened(), 1);
}

#[tokio::test]
async fn socket_mode_thread_replies_become_comments_once_even_when_delivered_again() {
    let slack = SlackEmulator::start().await;
    slack.add_channel(CHANNEL);
    let service = Service::start(&slack).await;
    let id = add_insight(&slack, "Charged twice for one order").await;

    // Discuss on a digest message opens a thread linked to the insight.
    slack.seed_messages(CHANNEL, 1);
    let parent = slack.messages_in(CHANNEL)[0].ts.clone();
    let ack = slack
        .socket_send(
            "interactive",
            block_actions(
                &Action::Discuss(id),
                &parent,
                &slack.response_url("discuss"),
            ),
        )
        .await;
    assert!(ack["envelope_id"].is_string(), "{ack}");
    let answers = slack.wait_for_responses("discuss", 1, SOCKET_CEILING).await;
    assert!(
        answers[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Started a thread")),
        "{answers:?}"
    );
    assert_eq!(
        service
            .app
            .store
            .thread_insight(&format!("slack:{CHANNEL}"), &parent)
            .await
            .unwrap(),
        Some(id)
    );

    // A reply there, then the same envelope again, as when Slack missed the acknowledgement.
    let reply = thread_reply(
        "Ev0SOCKET1",
        &parent,
        "1700000000.000200",
        "Happens to us too",
    );
    let ack = slack.socket_send("events_api", reply).await;
    assert!(ack.get("payload").is_none(), "{ack}");
    let envelope_id = ack["envelope_id"].as_str().unwrap().to_string();
    let again = slack.socket_redeliver(&envelope_id).await;
    assert_ne!(again["envelope_id"], ack["envelope_id"]);
    assert!(slack.socket_unacknowledged().is_empty());

    let comments = service.app.store.comments(id).await.unwrap();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0].text, "Happens to us too");
    assert_eq!(comments[0].author, "slack:U0REPLIER");

    service.stop().await;
}

#[tokio::test]
async fn socket_mode_reconnects_after_a_refresh_and_a_dropped_connection() {
    let slack = SlackEmulator::start().await;
    slack.add_channel(CHANNEL);
    let service = Service::start(&slack).await;

    // Slack asks for a fresh connection: Flywheel opens one and closes the old.
    slack.socket_disconnect("refresh_requested");
    assert!(
        slack.wait_for_socket(2, SOCKET_CEILING).await,
        "a fresh connection"
    );
    assert!(
        slack.wait_for_sockets_open(1, SOCKET_CEILING).await,
        "the old connection is closed"
    );
    assert_eq!(slack.count("apps.connections.open", "ok"), 2);
    let ack = slack
        .socket_send(
            "slash_commands",
            command("help", "http://127.0.0.1:9/unused"),
        )
        .await;
    assert_eq!(ack["payload"]["response_type"], "ephemeral", "{ack}");

    // The connection drops without a word: Flywheel comes back after a short backoff.
    slack.socket_drop();
    assert!(
        slack.wait_for_socket(3, SOCKET_CEILING).await,
        "reconnected"
    );
    assert_eq!(slack.count("apps.connections.open", "ok"), 3);
    let id = add_insight(&slack, "Exports time out").await;
    assert!(id > 0);

    service.stop().await;
    assert!(slack.wait_for_sockets_open(0, SOCKET_CEILING).await);
}

#[tokio::test]
async fn a_refused_app_token_stops_socket_mode_with_a_clear_error() {
    let slack = SlackEmulator::start().await;
    let wrong = "xapp-1-A0FLYWHEEL-1-not-the-token";
    let (_stop, run, _dir) = socket_loop(&slack, wrong).await;
    let error = tokio::time::timeout(SOCKET_CEILING, run)
        .await
        .expect("the loop stops instead of retrying")
        .expect("no panic")
        .expect_err("a refused token is an error");
    assert!(
        matches!(&error, SocketError::Refused { code, .. } if code == "invalid_auth"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("SLACK_APP_TOKEN"), "{message}");
    assert!(
        !message.contains(wrong),
        "the token is never shown: {message}"
    );
    assert_eq!(slack.count("apps.connections.open", "invalid_auth"), 1);
    assert_eq!(slack.sockets_opened(), 0);

    // The bot token where the app-level token belongs.
    let (_stop, run, _dir) = socket_loop(&slack, BOT_TOKEN).await;
    let error = tokio::time::timeout(SOCKET_CEILING, run)
        .await
        .expect("the loop stops instead of retrying")
        .expect("no panic")
        .expect_err("a bot token is refused");
    let message = error.to_string();
    assert!(message.contains("not_allowed_token_type"), "{message}");
    assert!(message.contains("xapp-"), "{message}");
    assert!(!message.contains(BOT_TOKEN), "{message}");
    assert_eq!(
        slack.count("apps.connections.open", "not_allowed_token_type"),
        1
    );
}

#[tokio::test]
async fn link_disabled_stops_socket_mode_and_the_stop_signal_ends_it_cleanly() {
    let slack = SlackEmulator::start().await;
    let (_stop, run, _dir) = socket_loop(&slack, APP_TOKEN).await;
    assert!(slack.wait_for_socket(1, SOCKET_CEILING).await);
    slack.socket_disconnect("link_disabled");
    let ended = tokio::time::timeout(SOCKET_CEILING, run)
        .await
        .expect("the loop stops")
        .expect("no panic");
    assert_eq!(ended, Err(SocketError::LinkDisabled));
    assert_eq!(slack.count("apps.connections.open", "ok"), 1);

    let (stop, run, _dir) = socket_loop(&slack, APP_TOKEN).await;
    assert!(slack.wait_for_socket(2, SOCKET_CEILING).await);
    stop.send(true).unwrap();
    let ended = tokio::time::timeout(SOCKET_CEILING, run)
        .await
        .expect("the loop stops")
        .expect("no panic");
    assert_eq!(ended, Ok(()));
    assert!(slack.wait_for_sockets_open(0, SOCKET_CEILING).await);
}

#[tokio::test]
async fn the_socket_transport_without_an_app_token_fails_at_start() {
    let slack = SlackEmulator::start().await;
    let (app, adapters, _dir) = app(&slack, None).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ended = tokio::time::timeout(
        SOCKET_CEILING,
        flywheel::serve::run(app, adapters, listener, std::future::pending()),
    )
    .await
    .expect("the service fails at once");
    let message = format!("{:#}", ended.expect_err("no app-level token"));
    assert!(message.contains("SLACK_APP_TOKEN"), "{message}");
    assert!(message.contains("socket"), "{message}");
    assert_eq!(slack.count("apps.connections.open", "ok"), 0);
}
