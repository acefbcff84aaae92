//! Load on a real `flywheel serve`: bursts of signed Slack commands, as Slack sends them.
//!
//! ```sh
//! cargo run --release -p flywheel-tests --bin load
//! ```
//!
//! It imports the bundled CFPB sample ten times over (about 20,000 insights) into a SQLite store
//! in a temporary directory, starts `flywheel serve` on it as a child process (this same binary,
//! run as Flywheel), and a receiver for the answers that follow through `response_url`. Then:
//!
//! - bursts of 50, 200 and 1,000 concurrent `/insights ask` commands: how long the
//!   acknowledgement took (p50, p99, max; Slack allows 3 s), how each was acknowledged (the
//!   answer itself, "Working on it…" then the answer, or "busy"), and whether every one was
//!   answered;
//! - 10,000 commands, 50 at a time: commands per second, and the service's resident memory
//!   before and after.
//!
//! `--quick` runs smaller counts (for a smoke run).

use std::collections::HashMap;
use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::extract::{Path, State};
use axum::routing::post;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Set in the child process: run as Flywheel itself.
const AS_FLYWHEEL: &str = "LOAD_RUN_AS_FLYWHEEL";
const SIGNING_SECRET: &str = "load-signing-secret";
const SAMPLE: &str = include_str!("../../../bot/data/cfpb-complaints-sample.csv");
const QUESTIONS: [&str; 6] = [
    "credit report",
    "identity theft",
    "foreclosure",
    "what are customers saying about late fees?",
    "debt collection calls",
    "mortgage escrow",
];

fn main() -> ExitCode {
    if std::env::var_os(AS_FLYWHEEL).is_some() {
        return flywheel::cli::main();
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    match runtime.block_on(run(quick)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// When each follow-up arrived, by command id, and what it said.
type Arrivals = Arc<Mutex<HashMap<u64, (Instant, String)>>>;

async fn run(quick: bool) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store_url = format!("sqlite://{}", dir.path().join("flywheel.db").display());
    let copies = if quick { 2 } else { 10 };
    let file = dir.path().join("complaints.csv");
    let rows = write_sample(&file, copies)?;
    eprintln!("importing {rows} insights…");
    let imported = flywheel_command(dir.path(), &store_url)
        .args(["import", file.to_str().unwrap()])
        .stdout(Stdio::null())
        .status()
        .await?;
    anyhow::ensure!(imported.success(), "the import failed");

    let arrivals: Arrivals = Arc::default();
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver_url = format!("http://{}", receiver.local_addr()?);
    let app = axum::Router::new()
        .route("/r/{id}", post(follow_up))
        .with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(receiver, app).await });

    let mut child = flywheel_command(dir.path(), &store_url)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
        .env("FLYWHEEL_LOG", "warn,flywheel::serve=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("the service has a pid")?;
    let mut lines = BufReader::new(child.stderr.take().context("stderr")?).lines();
    let address = loop {
        let line = lines
            .next_line()
            .await?
            .context("the service ended before it listened")?;
        if let Some(at) = line.find("listening on http://") {
            let rest = &line[at + "listening on http://".len()..];
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let service = format!("http://{address}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1000)
        .timeout(Duration::from_secs(60))
        .build()?;
    let load = Load {
        http,
        service,
        receiver: receiver_url,
        arrivals,
        next: Arc::default(),
    };
    // Warm up: the first searches open the index.
    load.burst(20).await;

    println!(
        "| concurrent commands | acknowledged p50 | p99 | max | answered at once | \"working on it\", then answered | \"busy\" | errors | never answered |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let bursts: &[usize] = if quick { &[50, 200] } else { &[50, 200, 1000] };
    for &n in bursts {
        let outcome = load.burst(n).await;
        println!(
            "| {n} | {} ms | {} ms | {} ms | {} | {} | {} | {} | {} |",
            outcome.percentile(50),
            outcome.percentile(99),
            outcome.percentile(100),
            outcome.inline,
            outcome.followed,
            outcome.busy,
            outcome.errors,
            outcome.unanswered
        );
    }

    let total = if quick { 1_000 } else { 10_000 };
    let before = resident_kb(pid);
    let started = Instant::now();
    let mut sent = 0;
    let mut totals = Outcome::default();
    while sent < total {
        let outcome = load.burst(50).await;
        totals.add(outcome);
        sent += 50;
    }
    let elapsed = started.elapsed();
    let after = resident_kb(pid);
    println!();
    println!(
        "{sent} commands, 50 at a time: {:.0} commands/s; acknowledged p50 {} ms, p99 {} ms; \
         {} busy, {} errors, {} never answered",
        sent as f64 / elapsed.as_secs_f64(),
        totals.percentile(50),
        totals.percentile(99),
        totals.busy,
        totals.errors,
        totals.unanswered
    );
    println!(
        "resident memory of the service: {} MB before, {} MB after",
        before / 1024,
        after / 1024
    );

    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let stopped = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
    println!("stopped on SIGTERM: {stopped:?}");
    Ok(())
}

/// The bundled sample `copies` times over, each copy with its own complaint ids.
fn write_sample(path: &std::path::Path, copies: usize) -> anyhow::Result<usize> {
    let mut reader = csv::Reader::from_reader(SAMPLE.as_bytes());
    let headers = reader.headers()?.clone();
    let id_column = headers
        .iter()
        .position(|h| h == "Complaint ID")
        .context("the sample has a Complaint ID column")?;
    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    let mut writer = csv::Writer::from_path(path)?;
    writer.write_record(&headers)?;
    let mut rows = 0;
    for copy in 0..copies {
        for record in &records {
            let fields: Vec<String> = record
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    if i == id_column {
                        format!("{f}{copy:02}")
                    } else {
                        f.to_string()
                    }
                })
                .collect();
            writer.write_record(&fields)?;
            rows += 1;
        }
    }
    writer.flush()?;
    Ok(rows)
}

/// This binary, run as Flywheel on `store_url`.
fn flywheel_command(dir: &std::path::Path, store_url: &str) -> tokio::process::Command {
    let mut command =
        tokio::process::Command::new(std::env::current_exe().expect("this binary's path"));
    for (name, _) in std::env::vars() {
        if name.starts_with("FLYWHEEL_") {
            command.env_remove(name);
        }
    }
    command
        .env(AS_FLYWHEEL, "1")
        .env("FLYWHEEL_STORE_URL", store_url)
        .env("FLYWHEEL_DATA_DIR", dir);
    command
}

async fn follow_up(
    State(arrivals): State<Arrivals>,
    Path(id): Path<u64>,
    body: String,
) -> &'static str {
    arrivals.lock().unwrap().insert(id, (Instant::now(), body));
    "ok"
}

/// The resident memory of process `pid`, in kB.
fn resident_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

struct Load {
    http: reqwest::Client,
    service: String,
    receiver: String,
    arrivals: Arrivals,
    next: Arc<std::sync::atomic::AtomicU64>,
}

/// How a burst went.
#[derive(Debug, Default)]
struct Outcome {
    acks: Vec<Duration>,
    inline: usize,
    followed: usize,
    busy: usize,
    errors: usize,
    unanswered: usize,
}

impl Outcome {
    fn percentile(&self, p: usize) -> u128 {
        if self.acks.is_empty() {
            return 0;
        }
        let mut sorted = self.acks.clone();
        sorted.sort();
        let at = ((sorted.len() * p).div_ceil(100)).clamp(1, sorted.len()) - 1;
        sorted[at].as_millis()
    }

    fn add(&mut self, other: Outcome) {
        self.acks.extend(other.acks);
        self.inline += other.inline;
        self.followed += other.followed;
        self.busy += other.busy;
        self.errors += other.errors;
        self.unanswered += other.unanswered;
    }
}

/// How one command was acknowledged.
enum Ack {
    Answer,
    Working,
    Busy,
    Error,
}

impl Load {
    /// `n` commands at once; waits for every answer that follows (at most a minute).
    async fn burst(&self, n: usize) -> Outcome {
        let sent: Vec<_> = (0..n)
            .map(|k| {
                let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let question = QUESTIONS[k % QUESTIONS.len()];
                async move { (id, self.command(id, question).await) }
            })
            .collect();
        let results = futures::future::join_all(sent).await;
        let mut outcome = Outcome::default();
        let mut waiting = Vec::new();
        for (id, (took, ack)) in results {
            outcome.acks.push(took);
            match ack {
                Ack::Answer => outcome.inline += 1,
                Ack::Working => waiting.push(id),
                Ack::Busy => outcome.busy += 1,
                Ack::Error => outcome.errors += 1,
            }
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let arrived = {
                let arrivals = self.arrivals.lock().unwrap();
                waiting
                    .iter()
                    .filter(|id| arrivals.contains_key(id))
                    .count()
            };
            if arrived == waiting.len() || Instant::now() > deadline {
                outcome.followed = arrived;
                outcome.unanswered = waiting.len() - arrived;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let arrivals = self.arrivals.lock().unwrap();
        outcome.errors += waiting
            .iter()
            .filter_map(|id| arrivals.get(id))
            .filter(|(_, body)| body.contains("something went wrong"))
            .count();
        outcome
    }

    /// Sends one signed `/insights ask`: how long the acknowledgement took, and what it was.
    async fn command(&self, id: u64, question: &str) -> (Duration, Ack) {
        let body = format!(
            "command=%2Finsights&text={}&user_id=U{id}&channel_id=C1&trigger_id={id}.1.load&response_url={}",
            encode(&format!("ask {question}")),
            encode(&format!("{}/r/{id}", self.receiver)),
        );
        let ts = chrono::Utc::now().timestamp();
        let signature = flywheel::transports::slack::verify::SlackVerifier::new(
            flywheel_config::Secret::new(SIGNING_SECRET),
        )
        .sign(ts, body.as_bytes());
        let started = Instant::now();
        let response = self
            .http
            .post(format!("{}/slack/commands", self.service))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts.to_string())
            .header("x-slack-signature", signature)
            .body(body)
            .send()
            .await;
        let ack = match response {
            Ok(response) if response.status().is_success() => {
                let text = response.text().await.unwrap_or_default();
                if text.contains(flywheel::conversation::WORKING_ON_IT) {
                    Ack::Working
                } else if text.contains("busy") {
                    Ack::Busy
                } else if text.contains("something went wrong") {
                    Ack::Error
                } else {
                    Ack::Answer
                }
            }
            _ => Ack::Error,
        };
        (started.elapsed(), ack)
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
