//! `flywheel serve` as a real process on a free port: health, readiness, connection limits and
//! stopping on SIGTERM whatever clients do.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Scratch, entries_per_channel, flywheel};

/// The signing secret the services are started with.
const SIGNING_SECRET: &str = "serve-test-signing-secret";

/// A running `flywheel serve`, its address, and everything it logged so far.
pub(crate) struct Service {
    child: Child,
    pub(crate) address: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Service {
    /// Starts `flywheel serve` on a free port with `config` (TOML) on `store_url`, and waits
    /// until it listens.
    pub(crate) fn start(dir: &Path, store_url: &str, config: &str) -> Service {
        Service::start_limited(dir, store_url, config, None, &[])
    }

    /// Posts a Slack slash command, signed with [`SIGNING_SECRET`]: the status and body.
    pub(crate) fn slack_command(&self, user: &str, channel: &str, text: &str) -> (u16, String) {
        static TRIGGERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let trigger = TRIGGERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (command, rest) = text.split_once(' ').unwrap_or((text, ""));
        let encode = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        let body = format!(
            "command={}&text={}&user_id={user}&channel_id={channel}&trigger_id={trigger}.1.x&response_url={}",
            encode(command),
            encode(rest),
            encode("http://127.0.0.1:9/unused"),
        );
        let ts = chrono::Utc::now().timestamp();
        let verifier = flywheel::transports::slack::verify::SlackVerifier::new(
            flywheel_config::Secret::new(SIGNING_SECRET),
        );
        let signature = verifier.sign(ts, body.as_bytes());
        let mut stream = TcpStream::connect(self.address).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        write!(
            stream,
            "POST /slack/commands HTTP/1.1\r\nHost: flywheel\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             X-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: {signature}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("an answer");
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// The same, with the process allowed at most `open_files` open files (soft and hard).
    pub(crate) fn start_limited(
        dir: &Path,
        store_url: &str,
        config: &str,
        open_files: Option<u32>,
        env: &[(&str, &str)],
    ) -> Service {
        let config_path = dir.join("serve.toml");
        std::fs::write(&config_path, config).expect("the config is written");
        let mut command = flywheel();
        let args = [
            "--config",
            config_path.to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ];
        match open_files {
            None => {
                command.args(args);
            }
            Some(limit) => {
                // The shell lowers its limits, then becomes flywheel (same pid).
                let program = command.get_program().to_owned();
                command = std::process::Command::new("sh");
                for (name, _) in std::env::vars() {
                    if name.starts_with("FLYWHEEL_") {
                        command.env_remove(name);
                    }
                }
                command
                    .arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(program)
                    .args(args);
            }
        }
        let mut child = command
            .env("FLYWHEEL_STORE_URL", store_url)
            .env("FLYWHEEL_DATA_DIR", dir)
            .env("FLYWHEEL_LOG", "info")
            .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flywheel serve starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(at) = line.find("listening on http://") {
                    let rest = &line[at + "listening on http://".len()..];
                    let address: String = rest
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '"')
                        .collect();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(address);
                    }
                }
                let mut log = kept.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let address = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(address) => address.parse().expect("an address"),
            Err(_) => {
                let _ = child.kill();
                panic!("serve did not start:\n{}", log.lock().unwrap());
            }
        };
        Service {
            child,
            address,
            log,
        }
    }

    /// `GET path`: the status code and body, on a new connection.
    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, &[], "")
    }

    /// `method path` with `headers` (`Name: value`) and `body`: the status code and body, on a
    /// new connection.
    pub(crate) fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[&str],
        body: &str,
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(self.address).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: flywheel\r\nConnection: close\r\n\
             Content-Length: {}\r\n",
            body.len()
        );
        for header in headers {
            head.push_str(header);
            head.push_str("\r\n");
        }
        write!(stream, "{head}\r\n{body}").unwrap();
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .unwrap_or_else(|e| panic!("no answer to {method} {path}: {e}\n{}", self.log()));
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not HTTP: {response:?}"));
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// What it logged so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits (at most `limit`) for the exit.
    pub(crate) fn terminate(mut self, limit: Duration) -> (std::process::ExitStatus, String) {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The log thread ends with the pipe.
                std::thread::sleep(Duration::from_millis(50));
                return (status, self.log());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "serve did not exit within {limit:?} of SIGTERM:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn idle_and_half_open_connections_never_lock_out_health_checks() {
    let scratch = Scratch::sqlite();
    // Idle connections are never timed out here, and there are more of them than the process
    // may open files: only making room lets anyone else in.
    let service = Service::start_limited(
        scratch.dir.path(),
        &scratch.store_url,
        "[server]\nidle_timeout = \"1h\"\n",
        Some(256),
        &[],
    );
    let mut idle: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(service.address).expect("connects"))
        .collect();
    for _ in 0..10 {
        let mut half = TcpStream::connect(service.address).expect("connects");
        half.write_all(b"GET /healthz HTTP/1.1\r\nHost: fly")
            .unwrap();
        idle.push(half);
    }
    for _ in 0..3 {
        let (status, body) = service.get("/healthz");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"ok\""), "{body}");
    }
    let (status, body) = service.get("/readyz");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"ready\""), "{body}");
    // The oldest idle connections were closed to make room: reading them ends.
    let mut closed = 0;
    for stream in idle.iter_mut().take(20) {
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut byte = [0u8; 1];
        if matches!(stream.read(&mut byte), Ok(0)) {
            closed += 1;
        }
    }
    assert!(closed > 0, "no idle connection was closed");
    assert!(
        service.log().contains("open-file limit"),
        "the connection cap followed the file limit:\n{}",
        service.log()
    );
    drop(idle);
    let (status, _) = service.terminate(Duration::from_secs(60));
    assert!(status.success(), "{status:?}");
}

#[test]
fn sigterm_exits_within_the_drain_time_whatever_clients_hold() {
    let scratch = Scratch::sqlite();
    let service = Service::start(
        scratch.dir.path(),
        &scratch.store_url,
        "[server]\nidle_timeout = \"1h\"\ndrain = \"2s\"\n",
    );
    // A request whose body never finishes, and one whose header never does.
    let mut body = TcpStream::connect(service.address).unwrap();
    body.write_all(
        b"POST /slack/commands HTTP/1.1\r\nHost: flywheel\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ncommand=%2Finsights",
    )
    .unwrap();
    let mut header = TcpStream::connect(service.address).unwrap();
    header.write_all(b"GET /healthz HTTP/1.1\r\nHo").unwrap();
    // Both are in: a health check on a third connection is answered.
    assert_eq!(service.get("/healthz").0, 200);
    let (status, log) = service.terminate(Duration::from_secs(60));
    assert!(
        status.success(),
        "exit 0 after the drain: {status:?}\n{log}"
    );
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("stopped in"), "{log}");
    drop((body, header));
}

#[test]
fn readiness_follows_the_store_going_away_and_coming_back() {
    let Some(admin_url) = std::env::var("FLYWHEEL_TEST_POSTGRES_URL").ok() else {
        eprintln!("skipped: FLYWHEEL_TEST_POSTGRES_URL is not set");
        return;
    };
    let name = format!("flywheel_ready_{}", std::process::id());
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base.to_string())
        .expect("a database URL");
    let psql = |sql: String| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            use sqlx::Connection as _;
            let mut conn = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("the admin database");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .map(|_| ())
        })
    };
    let _ = psql(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    psql(format!("CREATE DATABASE {name}")).expect("a database");
    let scratch = Scratch::sqlite();
    let store_url = format!("{base}/{name}");
    let service = Service::start(scratch.dir.path(), &store_url, "");

    let (status, body) = service.get("/readyz");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"PostgreSQL\""), "{body}");

    psql(format!(
        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .expect("the store goes away");
    let gone = poll(|| service.get("/readyz"), |(status, _)| *status == 503);
    assert!(
        gone.1.contains("does not answer") || gone.1.contains("did not answer"),
        "{}",
        gone.1
    );
    // Alive all the same: nothing should restart it.
    assert_eq!(service.get("/healthz").0, 200);

    psql(format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")).expect("it comes back");
    let back = poll(|| service.get("/readyz"), |(status, _)| *status == 200);
    assert!(back.1.contains("\"ready\""), "{}", back.1);

    let (status, log) = service.terminate(Duration::from_secs(60));
    assert!(status.success(), "{status:?}\n{log}");
    let _ = psql(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}

/// Calls `probe` until `done` holds (at most two minutes), returning the last answer.
fn poll<T: std::fmt::Debug>(mut probe: impl FnMut() -> T, done: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let answer = probe();
        if done(&answer) {
            return answer;
        }
        assert!(Instant::now() < deadline, "still {answer:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn health_answers_for_a_running_service_and_fails_once_it_stopped() {
    let scratch = Scratch::sqlite();
    let service = Service::start(scratch.dir.path(), &scratch.store_url, "");
    let url = format!("http://{}/healthz", service.address);
    let healthy = scratch.run(&["health", "--url", &url]);
    assert_eq!(healthy.code, 0, "{healthy:?}");
    let (status, _) = service.terminate(Duration::from_secs(60));
    assert!(status.success());
    let gone = scratch.run(&["health", "--url", &url]);
    assert_eq!(gone.code, 1, "{gone:?}");
    assert!(gone.stderr.contains("did not answer"), "{gone:?}");
}

#[test]
fn doctor_says_what_is_in_place_and_what_to_fix() {
    let scratch = Scratch::sqlite();
    let new = scratch.run(&["doctor"]);
    assert_eq!(new.code, 1, "{new:?}");
    assert!(new.stdout.contains("run `flywheel migrate`"), "{new:?}");
    assert_eq!(scratch.run(&["migrate"]).code, 0);
    let fine = scratch.run(&["doctor"]);
    assert_eq!(fine.code, 0, "{fine:?}");
    assert!(fine.stdout.contains("ok   store"), "{fine:?}");
    assert!(
        fine.stdout.contains("every migration is applied"),
        "{fine:?}"
    );

    // A team on Slack without a token, and a Slack API nobody answers.
    let config = scratch.write(
        "doctor.toml",
        "[[teams]]\nname = \"growth\"\nchannels = [\"slack:C0123\", \"discord:42\"]\n",
    );
    let missing = scratch.run(&["--config", config.to_str().unwrap(), "doctor"]);
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(
        missing.stdout.contains("FIX  slack")
            && missing
                .stdout
                .contains("a team posts to Slack but the bot token is not set"),
        "{missing:?}"
    );
    assert!(missing.stdout.contains("FIX  discord"), "{missing:?}");
    let unreachable = super::run_with(
        &["--config", config.to_str().unwrap(), "doctor"],
        &[
            ("FLYWHEEL_STORE_URL", "postgres://nobody@127.0.0.1:9/none"),
            ("FLYWHEEL_SLACK_API_URL", "http://127.0.0.1:9/api"),
            ("SLACK_BOT_TOKEN", "xoxb-not-a-real-token"),
        ],
        scratch.dir.path(),
    );
    assert_eq!(unreachable.code, 1, "{unreachable:?}");
    assert!(
        unreachable.stdout.contains("FIX  store")
            && unreachable.stdout.contains("cannot reach the store"),
        "{unreachable:?}"
    );
    assert!(
        unreachable.stdout.contains("auth.test failed"),
        "{unreachable:?}"
    );
    assert!(
        !unreachable.stdout.contains("xoxb-not-a-real-token")
            && !unreachable.stderr.contains("xoxb-not-a-real-token"),
        "the token is never printed"
    );
}

#[test]
fn two_replicas_on_one_postgres_share_the_work_and_see_each_others_writes() {
    let Some(admin_url) = std::env::var("FLYWHEEL_TEST_POSTGRES_URL").ok() else {
        eprintln!("skipped: FLYWHEEL_TEST_POSTGRES_URL is not set");
        return;
    };
    const CHANNELS: usize = 40;
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap();
    let name = format!("flywheel_replicas_{}", std::process::id());
    let admin = |sql: String| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                use sqlx::Connection as _;
                let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .map(|_| ())
            })
    };
    let _ = admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    admin(format!("CREATE DATABASE {name}")).unwrap();
    let store_url = format!("{base}/{name}");
    let shared = Scratch::sqlite();
    let console = shared.path("console");
    let channels: Vec<String> = (0..CHANNELS)
        .map(|n| format!("\"console:c{n:02}\""))
        .collect();
    let config = format!(
        "[console]\ndir = \"{}\"\n[[teams]]\nname = \"growth\"\nchannels = [{}]\nschedule = \"@hourly\"\n",
        console.display(),
        channels.join(", ")
    );
    // Each replica has its own data directory, so its own search index.
    let (one_dir, two_dir) = (shared.path("one"), shared.path("two"));
    std::fs::create_dir_all(&one_dir).unwrap();
    std::fs::create_dir_all(&two_dir).unwrap();
    const TOKEN: &str = "intake-0123456789abcdef";
    let tokens = [("FLYWHEEL_API_TOKENS", "intake:intake-0123456789abcdef")];
    let one = Service::start_limited(&one_dir, &store_url, &config, None, &tokens);
    let two = Service::start_limited(&two_dir, &store_url, &config, None, &tokens);

    // A command to either replica is answered; what one stores, the other finds.
    let (status, added) =
        one.slack_command("U1", "C1", "/insights add Exports lose accents in surnames");
    assert_eq!(status, 200, "{added}");
    assert!(added.contains("Saved as #1"), "{added}");
    let found = poll(
        || two.slack_command("U2", "C2", "/insights ask accents"),
        |(status, body)| *status == 200 && body.contains("Exports lose accents"),
    );
    assert!(found.1.contains("#1"), "{}", found.1);
    // An insight sent to one replica's HTTP API is found through the other's.
    let bearer = format!("Authorization: Bearer {TOKEN}");
    let (status, posted) = one.request(
        "POST",
        "/api/v1/insights",
        &[&bearer, "Content-Type: application/json"],
        r#"{"id": "T-1", "subject": "Wrong currency", "feedback": "Invoices show the wrong currency symbol"}"#,
    );
    assert_eq!(status, 200, "{posted}");
    assert!(posted.contains("\"created\":1"), "{posted}");
    let found = poll(
        || two.request("GET", "/api/v1/insights?q=currency", &[&bearer], ""),
        |(status, body)| *status == 200 && body.contains("wrong currency symbol"),
    );
    assert!(found.1.contains("\"total\":1"), "{}", found.1);

    // The hourly digest reaches every channel once, whichever replica sends it.
    poll(
        || entries_per_channel(&console),
        |counts| counts.len() == CHANNELS && counts.iter().all(|&c| c >= 1),
    );
    let (first, _) = one.terminate(Duration::from_secs(60));
    let (second, _) = two.terminate(Duration::from_secs(60));
    assert!(first.success() && second.success());
    let counts = entries_per_channel(&console);
    assert_eq!(counts.len(), CHANNELS);
    assert!(counts.iter().all(|&c| c == 1), "duplicates: {counts:?}");
    let _ = admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}

#[test]
fn metrics_count_what_happened_and_json_logs_carry_request_ids() {
    let scratch = Scratch::sqlite();
    let service = Service::start_limited(
        scratch.dir.path(),
        &scratch.store_url,
        "",
        None,
        &[("FLYWHEEL_LOG_FORMAT", "json")],
    );
    assert_eq!(service.get("/healthz").0, 200);
    let (status, answer) = service.slack_command("U1", "C1", "/insights help");
    assert_eq!(status, 200, "{answer}");
    // Unsigned: refused, and the refusal is logged within the request's span.
    let mut stream = TcpStream::connect(service.address).unwrap();
    write!(
        stream,
        "POST /slack/commands HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"
    )
    .unwrap();
    let mut refused = String::new();
    stream.read_to_string(&mut refused).unwrap();
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");

    let (status, metrics) = service.get("/metrics");
    assert_eq!(status, 200);
    for expected in [
        "flywheel_http_requests_total{route=\"/healthz\",status=\"200\"} 1",
        "flywheel_http_requests_total{route=\"/slack/commands\",status=\"200\"} 1",
        "flywheel_http_requests_total{route=\"/slack/commands\",status=\"401\"} 1",
        "flywheel_command_seconds_count{platform=\"slack\",command=\"insights help\"} 1",
        "flywheel_outbox_backlog 0",
        "# TYPE flywheel_command_seconds histogram",
    ] {
        assert!(metrics.contains(expected), "{expected} missing:\n{metrics}");
    }

    let (status, log) = service.terminate(Duration::from_secs(60));
    assert!(status.success());
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let refusal = lines
        .iter()
        .find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("refused a Slack request"))
        })
        .unwrap_or_else(|| panic!("the refusal is logged:\n{log}"));
    assert_eq!(refusal["span"]["route"], "/slack/commands", "{refusal}");
    assert_eq!(
        refusal["span"]["id"].as_str().map(str::len),
        Some(16),
        "{refusal}"
    );
}

#[test]
fn sigterm_during_a_delivery_run_loses_and_repeats_nothing() {
    const CHANNELS: usize = 300;
    let scratch = Scratch::sqlite();
    let console = scratch.path("console");
    let channels: Vec<String> = (0..CHANNELS)
        .map(|n| format!("\"console:c{n:03}\""))
        .collect();
    let config = format!(
        "[console]\ndir = \"{}\"\n[[teams]]\nname = \"everyone\"\nchannels = [{}]\nschedule = \"@hourly\"\n",
        console.display(),
        channels.join(", ")
    );
    let first = Service::start(scratch.dir.path(), &scratch.store_url, &config);
    poll(
        || entries_per_channel(&console).len(),
        |delivered| *delivered >= 10,
    );
    let (status, log) = first.terminate(Duration::from_secs(60));
    assert!(status.success(), "{status:?}\n{log}");
    let at_stop = entries_per_channel(&console);
    assert!(
        at_stop.len() < CHANNELS,
        "every delivery was done before the stop; nothing was tested"
    );
    assert!(at_stop.iter().all(|&c| c == 1), "{at_stop:?}");

    let second = Service::start(scratch.dir.path(), &scratch.store_url, &config);
    poll(
        || entries_per_channel(&console),
        |counts| counts.len() == CHANNELS && counts.iter().all(|&c| c >= 1),
    );
    let (status, _) = second.terminate(Duration::from_secs(60));
    assert!(status.success());
    let counts = entries_per_channel(&console);
    assert!(
        counts.iter().all(|&c| c == 1),
        "duplicates: {:?}",
        counts.iter().filter(|&&c| c != 1).collect::<Vec<_>>()
    );
}

#[test]
fn digest_send_with_the_platform_unreachable_exits_1_saying_why() {
    let scratch = Scratch::sqlite();
    let config = scratch.write(
        "send.toml",
        "[[teams]]\nname = \"growth\"\nchannels = [\"slack:C0123\"]\nschedule = \"@hourly\"\n",
    );
    let run = super::run_with(
        &[
            "--config",
            config.to_str().unwrap(),
            "digest",
            "send",
            "--team",
            "growth",
        ],
        &[
            ("FLYWHEEL_STORE_URL", &scratch.store_url),
            ("FLYWHEEL_SLACK_API_URL", "http://127.0.0.1:9/api"),
            ("SLACK_BOT_TOKEN", "xoxb-unreachable"),
        ],
        scratch.dir.path(),
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("slack:C0123"), "{run:?}");
    assert!(run.stderr.contains("could not be sent yet"), "{run:?}");
    for debug in ["Os {", "kind:", "hyper::", "Error {"] {
        assert!(
            !run.stdout.contains(debug) && !run.stderr.contains(debug),
            "a readable reason, not a debug dump: {run:?}"
        );
    }
}
