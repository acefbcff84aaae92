//! The real Discord transports and adapter against the emulated Discord: interactions over
//! HTTP and over the gateway, digests through the scheduler, outbox and worker, discussions in
//! threads, decisions, and who may do what.

use std::sync::Arc;
use std::time::Duration;

use flywheel::conversation::{CommandTyped, Event, Inbound};
use flywheel::services::channels::Adapters;
use flywheel::transports::discord::{DiscordAdapter, Rest};
use flywheel_insights::address::ChannelAddress;
use flywheel_insights::message::{Action, Block, Button, Message};
use flywheel_tests::discord::{self as emulated, DiscordEmulator, Fault, GUILD_ID};
use serde_json::{Value, json};
use tokio::sync::watch;

/// Growth's channel, support's channel, and a channel of no team.
const GROWTH: &str = "1001";
const SUPPORT: &str = "1002";
/// Growth's manager by name, the holder of growth's manager role, a member, support's manager.
const MANAGER: u64 = 100;
const ROLE_HOLDER: u64 = 101;
const MEMBER: u64 = 300;
const OTHER_MANAGER: u64 = 200;
const MANAGER_ROLE: u64 = 500;
const LIMIT: Duration = Duration::from_secs(20);

/// Flywheel's service against `discord`, on a fresh store.
struct Service {
    app: flywheel::app::App,
    adapters: Adapters,
    clock: flywheel::clock::ManualClock,
    url: String,
    http: reqwest::Client,
    stop: watch::Sender<bool>,
    loops: Vec<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Service {
    /// Sends what the outbox holds through the service's adapters, as a delivery worker does.
    async fn deliver(&self) -> flywheel::services::delivery::StepOutcome {
        flywheel::services::delivery::Worker::new(self.app.clone(), self.adapters.clone(), "test")
            .drain()
            .await
            .expect("the outbox drains")
    }

    /// With its transports running when `run` is set (the gateway among them).
    async fn start(discord: &DiscordEmulator, answer_within: Duration, run: bool) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[store]\nurl = \"sqlite://{}\"\n[discord]\napi_url = \"{}\"\nguild_ids = [\"{GUILD_ID}\"]\n\
             [[teams]]\nname = \"growth\"\nchannels = [\"discord:{GROWTH}\"]\ntimezone = \"UTC\"\n\
             managers = [\"discord:{MANAGER}\", \"discord:role:{MANAGER_ROLE}\"]\n\
             [[teams]]\nname = \"support\"\nchannels = [\"discord:{SUPPORT}\"]\nmanagers = [\"discord:{OTHER_MANAGER}\"]\n",
            dir.path().join("flywheel.db").display(),
            discord.api_url(),
        );
        let env = flywheel_config::Environment::empty()
            .with("DISCORD_BOT_TOKEN", emulated::BOT_TOKEN)
            .with("DISCORD_PUBLIC_KEY", discord.public_key());
        let config = flywheel_config::Config::parse(&text, &env).expect("a valid config");
        let clock = flywheel::clock::ManualClock::new(chrono::Utc::now());
        let app = flywheel::app::App::open(config, Arc::new(clock.clone()))
            .await
            .unwrap_or_else(|e| panic!("the app opens: {e:?}"));
        let adapters = flywheel::transports::adapters(&app.config);
        let inbound =
            Inbound::new(app.clone(), adapters.clone()).answering_within(Some(answer_within));
        let transports = flywheel::transports::for_config(&inbound).expect("the transports start");
        let router = flywheel::serve::router(&app, &transports);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        let (stop, stopped) = watch::channel(false);
        let mut loops = Vec::new();
        if run {
            for transport in transports {
                loops.push(tokio::spawn(transport.run(stopped.clone())));
            }
        }
        for id in [GROWTH, SUPPORT] {
            discord.add_channel(id);
        }
        Service {
            app,
            adapters,
            clock,
            url,
            http: reqwest::Client::new(),
            stop,
            loops,
            _dir: dir,
        }
    }

    /// Posts `body` to the interactions endpoint, signed by `discord` at `timestamp`.
    async fn post(
        &self,
        discord: &DiscordEmulator,
        body: &Value,
        timestamp: i64,
    ) -> reqwest::Response {
        let body = body.to_string();
        let ts = timestamp.to_string();
        self.http
            .post(format!("{}/discord/interactions", self.url))
            .header("x-signature-ed25519", discord.sign(&ts, body.as_bytes()))
            .header("x-signature-timestamp", ts)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    fn now(&self) -> i64 {
        flywheel::clock::Clock::now(&self.clock).timestamp()
    }

    /// Runs `/{name} {sub}` as `user` with `roles` in `channel` over HTTP: what is answered.
    async fn slash(
        &self,
        discord: &DiscordEmulator,
        (user, roles): (u64, &[u64]),
        channel: &str,
        (name, sub): (&str, &str),
        options: Value,
    ) -> String {
        let body = emulated::slash("tok", channel, user, roles, name, sub, options);
        let response = self.post(discord, &body, self.now()).await;
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["type"], 4, "{answer}");
        text_of(&answer["data"])
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Everything a message body says.
fn text_of(data: &Value) -> String {
    emulated::Recorded {
        id: String::new(),
        channel: String::new(),
        body: data.clone(),
        author: 0,
        files: Vec::new(),
    }
    .text()
}

/// The insight number in a "Saved as #3" answer.
fn saved_id(text: &str) -> i64 {
    text.split('#')
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("an insight number in {text:?}"))
}

#[tokio::test]
async fn forged_stale_and_unsigned_interactions_get_401_and_a_ping_its_pong() {
    let discord = DiscordEmulator::start().await;
    let service = Service::start(&discord, Duration::from_secs(2), false).await;
    let body = emulated::ping().to_string();
    let url = format!("{}/discord/interactions", service.url);
    let now = service.now().to_string();

    let unsigned = service
        .http
        .post(&url)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let forged = service
        .http
        .post(&url)
        .header("x-signature-ed25519", "ab".repeat(64))
        .header("x-signature-timestamp", &now)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    // Signed, but for another body.
    let tampered = service
        .http
        .post(&url)
        .header("x-signature-ed25519", discord.sign(&now, b"{}"))
        .header("x-signature-timestamp", &now)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 401);
    let stale = service
        .post(&discord, &emulated::ping(), service.now() - 600)
        .await;
    assert_eq!(stale.status(), 401);

    let pong = service
        .post(&discord, &emulated::ping(), service.now())
        .await;
    assert_eq!(pong.status(), 200);
    assert_eq!(pong.json::<Value>().await.unwrap(), json!({"type": 1}));

    let help = service
        .slash(
            &discord,
            (MEMBER, &[]),
            GROWTH,
            ("insights", "help"),
            json!([]),
        )
        .await;
    assert!(help.contains("/insights ask"), "{help}");

    // The same signed interaction sent again, while its timestamp is fresh, does nothing.
    let add = emulated::slash(
        "tok",
        GROWTH,
        MEMBER,
        &[],
        "insights",
        "add",
        json!([{"name": "text", "type": 3, "value": "Replayed insight text"}]),
    );
    let first = service.post(&discord, &add, service.now()).await;
    assert_eq!(first.status(), 200);
    let again = service.post(&discord, &add, service.now()).await;
    assert_eq!(again.status(), 409);
    assert!(again.text().await.unwrap().contains("already handled"));
    let garbage = service
        .post(&discord, &json!({"type": 2}), service.now())
        .await;
    assert_eq!(garbage.status(), 400);
    assert!(garbage.text().await.unwrap().contains("missing field"));
}

/// Who may do what on Discord, as on Slack and the console: a team's managers (named, or
/// through a role) log and review; members browse and flag; another team's manager is a member
/// here, and another team's decisions are not visible. Then the loop: reminder and review.
#[tokio::test]
async fn decisions_follow_the_permission_matrix_and_the_review_loop_on_discord() {
    let discord = DiscordEmulator::start().await;
    let service = Service::start(&discord, Duration::from_secs(2), false).await;
    let added = service
        .slash(
            &discord,
            (MEMBER, &[]),
            GROWTH,
            ("insights", "add"),
            json!([{"name": "text", "type": 3, "value": "Refunds take three weeks, mail jo@example.com"},
                   {"name": "theme", "type": 3, "value": "refunds"}]),
        )
        .await;
    assert!(added.contains("Saved as"), "{added}");
    let evidence = saved_id(&added);
    let shown = service
        .slash(
            &discord,
            (MEMBER, &[]),
            GROWTH,
            ("insights", "show"),
            json!([{"name": "id", "type": 4, "value": evidence}]),
        )
        .await;
    assert!(
        shown.contains("[email]") && !shown.contains("jo@example"),
        "redacted: {shown}"
    );

    // An insight only growth may see is neither shown nor found in support's channel.
    let mut private = crate::insight_data(
        "private-1",
        "Merger pricing complaint",
        "Only growth may read this",
        flywheel::clock::Clock::now(&service.clock).date_naive(),
    );
    private.visibility = flywheel_insights::model::Visibility::Teams(vec!["growth".into()]);
    let report = flywheel::services::ingest::ingest(&service.app, vec![private], |_| {})
        .await
        .unwrap();
    let private_id = report.first_id().unwrap();
    let show = |channel: &'static str| {
        service.slash(
            &discord,
            (MEMBER, &[]),
            channel,
            ("insights", "show"),
            json!([{"name": "id", "type": 4, "value": private_id}]),
        )
    };
    assert!(show(GROWTH).await.contains("Merger pricing complaint"));
    let hidden = show(SUPPORT).await;
    assert!(
        hidden.contains(&format!("There is no insight #{private_id} here")),
        "{hidden}"
    );
    let asked = service
        .slash(
            &discord,
            (MEMBER, &[]),
            SUPPORT,
            ("insights", "ask"),
            json!([{"name": "question", "type": 3, "value": "merger pricing"}]),
        )
        .await;
    assert!(!asked.contains("Merger pricing complaint"), "{asked}");

    let log = |title: &str| {
        json!([{"name": "title", "type": 3, "value": title},
               {"name": "evidence", "type": 3, "value": evidence.to_string()},
               {"name": "review", "type": 3, "value": "7d"}])
    };
    let refused = service
        .slash(
            &discord,
            (MEMBER, &[]),
            GROWTH,
            ("decision", "log"),
            log("Refund in a week"),
        )
        .await;
    assert!(
        refused.contains("Only growth's managers can log decisions"),
        "{refused}"
    );
    assert!(refused.contains("/insights flag"), "{refused}");
    let elsewhere = service
        .slash(
            &discord,
            (OTHER_MANAGER, &[]),
            GROWTH,
            ("decision", "log"),
            log("Not theirs"),
        )
        .await;
    assert!(elsewhere.contains("Only growth's managers"), "{elsewhere}");
    let queue = service
        .slash(
            &discord,
            (MEMBER, &[]),
            GROWTH,
            ("decision", "queue"),
            json!([]),
        )
        .await;
    assert!(
        queue.contains("Only growth's managers can see the decision queue"),
        "{queue}"
    );

    let logged = service
        .slash(
            &discord,
            (ROLE_HOLDER, &[MANAGER_ROLE]),
            GROWTH,
            ("decision", "log"),
            log("Refund in a week"),
        )
        .await;
    assert!(
        logged.contains("logged"),
        "a manager by role logs: {logged}"
    );
    let id: i64 = logged
        .split('D')
        .skip(1)
        .find_map(|r| r.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .unwrap_or_else(|| panic!("{logged}"));

    let hidden = service
        .slash(
            &discord,
            (OTHER_MANAGER, &[]),
            SUPPORT,
            ("decision", "show"),
            json!([{"name": "id", "type": 4, "value": id}]),
        )
        .await;
    assert!(
        hidden.contains(&format!("There is no decision D{id} here")),
        "{hidden}"
    );
    let review = json!([{"name": "id", "type": 4, "value": id},
                        {"name": "outcome", "type": 3, "value": "kept"},
                        {"name": "note", "type": 3, "value": "refunds now take five days"}]);
    let not_theirs = service
        .slash(
            &discord,
            (OTHER_MANAGER, &[]),
            SUPPORT,
            ("decision", "review"),
            review.clone(),
        )
        .await;
    assert!(
        not_theirs.contains(&format!("There is no decision D{id} in support")),
        "{not_theirs}"
    );
    let member_review = service
        .slash(
            &discord,
            (MEMBER, &[]),
            GROWTH,
            ("decision", "review"),
            review.clone(),
        )
        .await;
    assert!(
        member_review.contains("Only growth's managers can review"),
        "{member_review}"
    );

    // Seven days on, one reminder in growth's channel.
    service.clock.advance(chrono::Duration::days(7));
    let reminded = flywheel::services::reviews::remind(&service.app)
        .await
        .unwrap();
    assert_eq!(reminded, 1);
    let sent = service.deliver().await;
    assert_eq!(sent.sent, 1);
    let reminders = discord.messages_in(GROWTH);
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    assert!(
        reminders[0].text().contains(&format!("D{id}")),
        "{}",
        reminders[0].text()
    );
    assert!(
        reminders[0].body["nonce"]
            .as_str()
            .is_some_and(|n| n.len() <= 25)
    );

    let reviewed = service
        .slash(
            &discord,
            (MANAGER, &[]),
            GROWTH,
            ("decision", "review"),
            review,
        )
        .await;
    assert!(
        reviewed.contains(&format!("D{id} reviewed: kept")),
        "{reviewed}"
    );
}

/// The gateway: commands are registered on Ready; a command is deferred and followed up; a
/// Discuss button, pressed over HTTP or over the gateway, opens a thread on the digest message
/// (when Discord fails the thread's message, the person gets the details instead), and a
/// message in the thread arriving over the gateway becomes a comment once; a revoked token
/// stops the gateway while HTTP keeps answering.
#[tokio::test]
async fn the_gateway_answers_commands_and_threads_become_comments() {
    let discord = DiscordEmulator::start().await;
    let mut service = Service::start(&discord, Duration::ZERO, true).await;
    let commands = format!(
        "/applications/{}/guilds/{GUILD_ID}/commands",
        emulated::APPLICATION_ID
    );
    assert!(
        discord
            .wait_until(LIMIT, |d| d.identified() == 1
                && d.commands(&commands).is_some())
            .await,
        "the gateway identifies and registers the commands"
    );
    let registered = discord.commands(&commands).unwrap();
    assert_eq!(registered.as_array().map(Vec::len), Some(3));

    // Every answer is late here: deferred, then the "thinking" message becomes the answer.
    discord.dispatch(
        "INTERACTION_CREATE",
        emulated::slash("slow", GROWTH, MEMBER, &[], "insights", "help", json!([])),
    );
    assert!(
        discord
            .wait_until(LIMIT, |d| d.said("slow").len() >= 2)
            .await,
        "{:?}",
        discord.said("slow")
    );
    let said = discord.said("slow");
    assert_eq!(said[0].how, "callback");
    assert_eq!(said[0].body["type"], 5, "deferred");
    assert_eq!(said[1].how, "edit original");
    assert!(text_of(&said[1].body).contains("/insights ask"));

    // An insight, and a digest-like message carrying its Discuss button.
    let saved = Inbound::new(service.app.clone(), Adapters::new())
        .dispatch(Event::Command(CommandTyped {
            user: format!("discord:{MEMBER}").parse().unwrap(),
            channel: format!("discord:{GROWTH}").parse().unwrap(),
            text: "/insights add The export drops accents".into(),
            roles: Vec::new(),
        }))
        .await
        .unwrap()
        .unwrap();
    let id = saved_id(&saved.message.to_plain());
    let channel: ChannelAddress = format!("discord:{GROWTH}").parse().unwrap();
    let digest = Message::new()
        .header("Weekly digest")
        .push(Block::Actions(vec![Button {
            label: "Discuss".into(),
            action: Action::Discuss(id),
            primary: true,
        }]));
    let adapter = service.adapters.get(channel.platform).unwrap();
    let sent = adapter.send(&channel, &digest, None).await.unwrap();
    let posted = discord.messages_in(GROWTH);
    let posted = posted.iter().find(|m| m.id == sent.message_ref).unwrap();
    assert_eq!(posted.buttons(), [Action::Discuss(id).encode()]);

    // Pressed over HTTP; its answer follows through the interaction's webhook.
    let press = emulated::button(
        "discuss",
        GROWTH,
        MEMBER,
        &[],
        &emulated::as_message(posted),
        &Action::Discuss(id).encode(),
    );
    let pressed = service.post(&discord, &press, service.now()).await;
    assert_eq!(pressed.status(), 200);
    let response: Value = pressed.json().await.unwrap();
    assert_eq!(response["type"], 6);
    discord.answered_over_http("discuss", response);
    let thread = sent.message_ref.clone();
    assert!(
        discord
            .wait_until(LIMIT, |d| !d.messages_in(&thread).is_empty()
                && d.said("discuss").len() >= 2)
            .await,
        "a thread opens on the digest message: {:?}",
        discord.said("discuss")
    );
    assert!(
        discord.messages_in(&thread)[0]
            .text()
            .contains("The export drops accents")
    );
    assert!(text_of(&discord.said("discuss")[1].body).contains("Started a thread"));

    let reply = discord.user_message(&thread, MEMBER, "Three big accounts asked about this");
    for _ in 0..2 {
        discord.dispatch("MESSAGE_CREATE", discord.message_create(&reply));
    }
    // Kept as a comment once, and the person sees it kept: a ✅ under their message.
    assert!(
        discord
            .wait_until(LIMIT, |d| !d.reactions(&thread, &reply.id).is_empty())
            .await,
        "the reply is marked as kept"
    );
    assert_eq!(discord.reactions(&thread, &reply.id), ["✅"]);
    let comments = service.app.store.comments(id).await.unwrap();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0].author, format!("discord:{MEMBER}"));

    // Pressed over the gateway, on another digest message. First Discord fails the thread's
    // message with a 503: the person gets the insight's details instead, and nothing is linked.
    let second = adapter.send(&channel, &digest, None).await.unwrap();
    let posted = discord.messages_in(GROWTH);
    let posted = posted.iter().find(|m| m.id == second.message_ref).unwrap();
    let press = |token: &str| {
        emulated::button(
            token,
            GROWTH,
            MEMBER,
            &[],
            &emulated::as_message(posted),
            &Action::Discuss(id).encode(),
        )
    };
    let thread = second.message_ref.clone();
    discord.inject(&thread, Fault::ServerError(503));
    discord.dispatch("INTERACTION_CREATE", press("discuss-failing"));
    assert!(
        discord
            .wait_until(LIMIT, |d| d.said("discuss-failing").len() >= 2)
            .await,
        "{:?}",
        discord.said("discuss-failing")
    );
    let said = discord.said("discuss-failing");
    assert!(
        text_of(&said[1].body).contains("The export drops accents"),
        "{said:?}"
    );
    assert!(discord.messages_in(&thread).is_empty());
    // Then it works: a thread opens there too.
    discord.dispatch("INTERACTION_CREATE", press("discuss-gateway"));
    assert!(
        discord
            .wait_until(LIMIT, |d| !d.messages_in(&thread).is_empty()
                && d.said("discuss-gateway").len() >= 2)
            .await,
        "a thread opens on the message pressed over the gateway: {:?}",
        discord.said("discuss-gateway")
    );
    let said = discord.said("discuss-gateway");
    assert_eq!(said[0].how, "callback");
    assert!(
        text_of(&said[1].body).contains("Started a thread"),
        "{said:?}"
    );

    // The token is revoked: the gateway stops, naming the fix; HTTP interactions still work.
    discord.set_token("a-new-token");
    discord.drop_connections();
    // The gateway is the last transport started.
    let gateway = service.loops.pop().expect("the gateway runs");
    let ended = tokio::time::timeout(Duration::from_secs(30), gateway).await;
    assert!(ended.is_ok(), "the gateway stops for good");
    let pong = service
        .post(&discord, &emulated::ping(), service.now())
        .await;
    assert_eq!(pong.status(), 200);
}

/// A team digest to twenty Discord channels through the real scheduler, outbox and delivery
/// worker, with rate limits, a global limit, server errors and dropped connections on the way:
/// every channel gets it exactly once, every message inside Discord's limits.
#[tokio::test]
async fn a_digest_reaches_twenty_discord_channels_exactly_once_through_the_worker() {
    let discord = DiscordEmulator::start().await;
    let channels: Vec<String> = (0..20).map(|i| format!("20{i:02}")).collect();
    for id in &channels {
        discord.add_channel(id);
    }
    discord.inject(&channels[0], Fault::RateLimited(Duration::from_millis(300)));
    discord.inject(&channels[1], Fault::RateLimited(Duration::from_secs(30)));
    discord.inject(&channels[2], Fault::ServerError(502));
    discord.inject(&channels[3], Fault::DropAfterAccept);
    discord.inject(&channels[4], Fault::DropBeforeAccept);
    discord.inject(
        &channels[5],
        Fault::GlobalRateLimited(Duration::from_millis(200)),
    );

    let dir = tempfile::tempdir().unwrap();
    let list = channels
        .iter()
        .map(|c| format!("\"discord:{c}\""))
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
        let reply = Inbound::new(app.clone(), Adapters::new())
            .dispatch(Event::Command(CommandTyped {
                user: "discord:300".parse().unwrap(),
                channel: format!("discord:{}", channels[0]).parse().unwrap(),
                text: format!("/insights add {text}"),
                roles: Vec::new(),
            }))
            .await
            .unwrap()
            .unwrap();
        assert!(reply.message.to_plain().contains("Saved as"));
    }
    clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-03-09T08:00:30Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    );
    flywheel::services::scheduler::tick(&app).await.unwrap();
    assert_eq!(app.store.pending_deliveries().await.unwrap(), 20);

    let rest = Rest::new(
        &discord.api_url(),
        flywheel_config::Secret::new(emulated::BOT_TOKEN),
        Some(Duration::from_secs(5)),
    )
    .unwrap();
    let adapters = Adapters::new().with(Arc::new(DiscordAdapter::new(rest)));
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
        clock.advance(chrono::Duration::minutes(5));
    }
    for id in &channels {
        let messages = discord.messages_in(id);
        let firsts = messages.iter().filter(|m| m.text().contains("(1/")).count();
        assert_eq!(
            firsts,
            1,
            "{id}: {:?}",
            messages.iter().map(|m| m.text()).collect::<Vec<_>>()
        );
        let parts: Vec<String> = messages
            .iter()
            .map(|m| m.body["nonce"].as_str().unwrap().to_string())
            .collect();
        let mut unique = parts.clone();
        unique.dedup();
        assert_eq!(unique.len(), parts.len(), "{id}: a part posted twice");
    }
    assert_eq!(total.failed, 0, "{total:?}");
    // The message that arrived before its connection dropped was found, not posted again.
    assert_eq!(total.found, 1, "{total:?}");
    assert_eq!(total.sent, 19, "{total:?}");
    // A long 429, a 5xx and two dropped connections came back for a retry; the short 429s were
    // waited out within the call.
    assert_eq!(total.retried, 4, "{total:?}");
    assert!(
        discord
            .calls()
            .iter()
            .all(|c| !c.outcome.starts_with("http 400")),
        "{:?}",
        discord.calls()
    );
}

#[tokio::test]
async fn insights_chart_posts_the_trend_with_its_png_attached_to_an_embed() {
    let discord = DiscordEmulator::start().await;
    let service = Service::start(&discord, Duration::from_secs(60), false).await;
    let now = flywheel::clock::Clock::now(&service.clock);
    service
        .app
        .store
        .upsert(&crate::charts::refund_history(), now)
        .await
        .unwrap();
    let answer = service
        .slash(
            &discord,
            (MEMBER, &[]),
            GROWTH,
            ("insights", "chart"),
            json!([{"name": "question", "type": 3, "value": "refund"}]),
        )
        .await;
    assert!(answer.contains("Posted the weekly trend"), "{answer}");
    let posted = discord.messages_in(GROWTH);
    assert_eq!(posted.len(), 1, "{posted:?}");
    let message = &posted[0];
    assert!(
        message.text().contains("11 insights match"),
        "{}",
        message.text()
    );
    assert_eq!(message.files.len(), 1);
    assert_eq!(message.files[0].filename, "chart.png");
    assert_eq!(
        message.body["attachments"],
        json!([{"id": 0, "filename": "chart.png"}])
    );
    let embeds = message.body["embeds"].as_array().unwrap();
    let shown: Vec<&Value> = embeds.iter().filter(|e| e["image"].is_object()).collect();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0]["image"]["url"], "attachment://chart.png");
    assert_eq!(shown[0]["title"], "Insights per week: refund");
    flywheel_tests::charts::assert_chart(&message.files[0].bytes, &crate::charts::refund_chart());
}

#[tokio::test]
async fn the_emulator_takes_files_only_as_attachments_of_a_png() {
    let discord = DiscordEmulator::start().await;
    discord.add_channel(GROWTH);
    let rest = Rest::new(
        &discord.api_url(),
        flywheel_config::Secret::new(emulated::BOT_TOKEN),
        None,
    )
    .unwrap();
    let route = format!("POST /channels/{GROWTH}/messages");
    let path = format!("/channels/{GROWTH}/messages");
    let png = {
        let mut bytes = emulated::PNG_SIGNATURE.to_vec();
        bytes.extend_from_slice(b"rest of the image");
        bytes
    };
    let body = |attachment: u64, image: &str| {
        json!({
            "embeds": [{"title": "Chart", "image": {"url": image}}],
            "attachments": [{"id": attachment, "filename": "chart.png"}],
        })
    };
    let refused = |result: Result<Value, flywheel::transports::discord::rest::RestError>| {
        let error = result.expect_err("refused");
        assert_eq!(error.code, Some(50035), "{error}");
        error.to_string()
    };
    let files = vec![("chart.png".to_string(), png.clone())];
    let why = refused(
        rest.post_files(&route, &path, &body(1, "attachment://chart.png"), &files)
            .await,
    );
    assert!(why.contains("attachments.0.id"), "{why}");
    let why = refused(
        rest.post_files(&route, &path, &body(0, "attachment://other.png"), &files)
            .await,
    );
    assert!(why.contains("image.url"), "{why}");
    let text = vec![("chart.png".to_string(), b"not an image".to_vec())];
    let why = refused(
        rest.post_files(&route, &path, &body(0, "attachment://chart.png"), &text)
            .await,
    );
    assert!(why.contains("not a PNG"), "{why}");
    assert!(discord.messages_in(GROWTH).is_empty());
    rest.post_files(&route, &path, &body(0, "attachment://chart.png"), &files)
        .await
        .unwrap();
    let posted = discord.messages_in(GROWTH);
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].files[0].bytes, png);
}

/// A spike alert reaches Discord through the outbox as an embed, its chart attached and shown.
#[tokio::test]
async fn a_spike_alert_reaches_discord_with_its_chart() {
    let discord = DiscordEmulator::start().await;
    let service = Service::start(&discord, Duration::from_secs(60), false).await;
    let now = flywheel::clock::Clock::now(&service.clock);
    let today = now.date_naive();
    let row = |n: usize, back: u64| {
        let mut data = crate::insight_data(
            &format!("spike-{n}"),
            &format!("Refund missing {n}"),
            "The refund never reached my card.",
            today - chrono::Days::new(back),
        );
        data.tags = vec!["refunds".into()];
        data.visibility = flywheel_insights::model::Visibility::Teams(vec!["growth".into()]);
        data
    };
    let mut rows: Vec<_> = (1..=35).map(|back| row(back as usize, back)).collect();
    rows.extend((0..9).map(|n| row(100 + n, 0)));
    flywheel::services::ingest::ingest(&service.app, rows, |_| {})
        .await
        .unwrap();

    let spiked = flywheel::services::alerts::spike_step(&service.app)
        .await
        .unwrap();
    assert_eq!(
        spiked.alerted, 1,
        "growth alone sees these insights: {spiked:?}"
    );
    let sent = service.deliver().await;
    assert_eq!(sent.sent, 1);
    assert!(discord.messages_in(SUPPORT).is_empty());
    let posted = discord.messages_in(GROWTH);
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(
        posted[0].text().contains("refunds is spiking"),
        "{}",
        posted[0].text()
    );
    assert_eq!(posted[0].files.len(), 1);
    assert!(posted[0].files[0].bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    let embeds = posted[0].body["embeds"].as_array().unwrap();
    assert!(
        embeds
            .iter()
            .any(|e| e["image"]["url"] == "attachment://chart.png"),
        "{embeds:?}"
    );
}
