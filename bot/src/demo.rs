//! `flywheel demo`: Flywheel at work on 2,067 real complaints from the CFPB Consumer Complaint
//! Database, with nothing to set up. It writes a small configuration and a fresh SQLite store in
//! `<data dir>/demo`, imports the sample (embedded in the binary) twice to show that re-imports
//! change nothing, asks a few questions the way people do, previews the weekly digest a team
//! would have received when the complaints peaked, closes the loop with a flag, a decision and
//! its review reminder, replays the quarter to show the first spike alert the team would have
//! got, and says what to try next.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use chrono::{Days, NaiveDate, NaiveTime};
use flywheel_config::{Config, Environment};
use flywheel_insights::import::{self, Format, ImportOptions};
use flywheel_insights::search::Scope;

use crate::app::App;
use crate::cli::Failure;
use crate::clock::ManualClock;
use crate::conversation::{CommandTyped, Event, Inbound};
use crate::services::ask::ask;
use crate::services::channels::Adapters;
use crate::services::import::{ImportRequest, prepare};
use crate::services::ingest::ingest;
use crate::transports::console::render;

/// The sample: complaints about credit reporting, July to September 2023.
pub const SAMPLE: &[u8] = include_bytes!("../data/cfpb-complaints-sample.csv");
/// What the sample is called in the output.
pub const SAMPLE_NAME: &str = "cfpb-complaints-sample.csv";

/// The questions the demo asks, each with a line on what it shows.
pub const QUESTIONS: &[(&str, &str)] = &[
    (
        "what are customers saying about identity theft on their credit report?",
        "A question in plain words: question words and filler are ignored, words are stemmed.",
    ),
    (
        "account:equifax \"investigation\" since:60d",
        "Keywords and filters: one company, a phrase, the last 60 days.",
    ),
    (
        "segment:servicemember OR segment:\"older american\"",
        "Who is hurting: complaints from servicemembers or older Americans.",
    ),
    (
        "theme:identity-theft -experian severity:>=4",
        "A saved theme from the configuration, an exclusion and a severity filter.",
    ),
];

/// The demo's configuration: one team and two saved-query themes.
fn demo_config(store: &Path) -> String {
    format!(
        r#"# Written by `flywheel demo`.
[store]
url = "sqlite://{store}"

[[teams]]
name = "credit-reports"
channels = ["console:credit-reports"]
schedule = "0 9 * * MON"
timezone = "America/New_York"
filter = "source:cfpb"
managers = ["console:dana"]
follow = ["identity theft", "ignored disputes"]

[[themes]]
name = "identity theft"
match = "\"identity theft\" OR fraud OR fraudulent OR \"not mine\""

[[themes]]
name = "ignored disputes"
match = "dispute OR disputed OR investigation"
"#,
        store = store.display()
    )
}

/// Where the demo keeps its files: `demo` in the data directory.
fn demo_dir() -> PathBuf {
    match Config::parse("", &Environment::from_process()) {
        Ok(config) => config.data_dir.join("demo"),
        Err(_) => std::env::temp_dir().join("flywheel-demo"),
    }
}

/// Runs the demo in its usual place.
pub async fn run() -> Result<(), Failure> {
    let dir = demo_dir();
    let output = run_in(&dir).await?;
    print!("{output}");
    Ok(())
}

/// Runs the demo with its files in `dir` (emptied first) and returns what it prints.
pub async fn run_in(dir: &Path) -> Result<String, Failure> {
    let started = Instant::now();
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let config_path = dir.join("flywheel.toml");
    std::fs::write(&config_path, demo_config(&dir.join("flywheel.db")))
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    let config =
        Config::load(Some(&config_path), &Environment::empty()).map_err(Failure::Config)?;

    // The sample ends in September 2023: the demo's clock stands a few days later, so that
    // "since:60d" and the ages in explanations read as they would have then.
    let probe = import::read(SAMPLE, &ImportOptions::new(Format::Csv, NaiveDate::MIN))
        .context("the embedded sample does not parse")?;
    let newest = probe
        .rows
        .iter()
        .filter_map(|r| r.result.as_ref().ok())
        .map(|d| d.observed_on)
        .max()
        .context("the embedded sample is empty")?;
    let today = newest.checked_add_days(Days::new(3)).unwrap_or(newest);
    let clock = ManualClock::new(
        today
            .and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default())
            .and_utc(),
    );
    let app = App::open(config, Arc::new(clock)).await?;

    let mut out = String::new();
    out.push_str(&format!(
        "Flywheel demo: {} real complaints from the CFPB Consumer Complaint Database,\n\
         in a fresh SQLite store at {}\n(it is {} on the demo's clock)\n\n",
        probe.rows.len(),
        dir.join("flywheel.db").display(),
        today
    ));

    for pass in ["first", "again"] {
        let request = ImportRequest {
            format: Some(Format::Csv),
            ..ImportRequest::default()
        };
        let prepared = prepare(&app, SAMPLE_NAME, SAMPLE.to_vec(), &request)
            .await
            .context("the embedded sample does not parse")?;
        let report = ingest(&app, prepared.rows, |_| {}).await?;
        if pass == "again" {
            out.push_str("Importing the same file again changes nothing:\n");
        }
        out.push_str(&crate::cli::import::summary(&prepared.about, &report));
        out.push('\n');
    }

    for (question, why) in QUESTIONS {
        out.push_str(&format!("$ flywheel ask '{question}'\n# {why}\n\n"));
        let asked = ask(&app, question, Scope::Everything, None, 3)
            .await
            .map_err(|e| Failure::Other(anyhow::anyhow!("{question}: {e}")))?;
        let message = flywheel_insights::present::answer(&asked.answer, &asked.notes);
        out.push_str(&render(&message));
        out.push('\n');
    }

    // The week the complaints peaked, as the team would have seen it on Monday morning.
    let team = app
        .config
        .team("credit-reports")
        .context("the demo team is configured")?;
    let monday = chrono::DateTime::parse_from_rfc3339("2023-07-24T09:00:00-04:00")
        .context("a valid instant")?
        .with_timezone(&chrono::Utc);
    let period = crate::services::digests::period_at(team, monday).context("the schedule fires")?;
    let then = App {
        clock: Arc::new(ManualClock::new(monday)),
        ..app.clone()
    };
    let composed = crate::services::digests::compose(&then, team, &period).await?;
    out.push_str(&format!(
        "$ flywheel digest preview --team credit-reports --at {}\n\
         # The weekly digest the team's channel got that Monday: what is new, what is moving.\n\n",
        monday.format("%Y-%m-%dT%H:%M:%SZ")
    ));
    out.push_str(&render(&composed.message));
    out.push('\n');

    close_the_loop(&app, &composed.digest, &mut out).await?;
    spikes(&app, probe_first(&probe), today, &mut out).await?;

    app.store.close().await;
    let config = config_path.display();
    out.push_str(&format!(
        "Done in {:.1?}. Try next:\n\
         \x20 flywheel --config {config} ask \"why was my dispute rejected?\"\n\
         \x20 flywheel --config {config} ask 'theme:ignored-disputes since:30d' --json\n\
         \x20 flywheel --config {config} digest preview --team credit-reports --at 2023-07-31\n\
         \x20 flywheel --config {config} chat --user console:dana\n\
         \x20 flywheel --config {config} audit export --format csv\n\
         \x20 flywheel --config {config} config check\n\
         \x20 flywheel import your-export.csv --map 'Ticket ID=source_ref' --map 'Text=body'\n\
         \x20 FLYWHEEL_STORE_URL=postgres://postgres@127.0.0.1/flywheel flywheel import FILE\n\
         \x20 flywheel ask --help\n",
        started.elapsed()
    ));
    Ok(out)
}

/// The first day of the sample.
fn probe_first(probe: &import::Parsed) -> Option<NaiveDate> {
    probe
        .rows
        .iter()
        .filter_map(|r| r.result.as_ref().ok())
        .map(|d| d.observed_on)
        .min()
}

/// The quarter replayed a day at a time, at noon in the team's timezone, as `flywheel serve`
/// would have watched it: the first spike alert the team's channel got, and how many came.
async fn spikes(
    app: &App,
    first: Option<NaiveDate>,
    today: NaiveDate,
    out: &mut String,
) -> Result<(), Failure> {
    let Some(first) = first else {
        return Ok(());
    };
    let team = app
        .config
        .team("credit-reports")
        .context("the demo team is configured")?;
    // Four weeks of history before a day can be judged against its own normal.
    let mut day = first.checked_add_days(Days::new(28)).unwrap_or(first);
    while day <= today {
        let noon = day
            .and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default())
            .and_local_timezone(team.timezone)
            .earliest()
            .context("noon exists")?
            .with_timezone(&chrono::Utc);
        let then = App {
            clock: Arc::new(ManualClock::new(noon)),
            ..app.clone()
        };
        crate::services::alerts::spike_step(&then).await?;
        day = day.succ_opt().unwrap_or(today);
        if day == today {
            break;
        }
    }
    let alerts = app
        .store
        .alerts_since(
            flywheel_storage::AlertKind::Spike,
            chrono::DateTime::UNIX_EPOCH,
        )
        .await
        .context("cannot read the spike alerts")?;
    let Some(alert) = alerts.first() else {
        return Ok(());
    };
    let message: flywheel_insights::message::Message =
        serde_json::from_value(alert.message.clone()).context("a stored alert")?;
    out.push_str(&format!(
        "# {}: a spike alert in console:credit-reports, one of {} over the quarter for the \
         themes the team follows.\n\n",
        alert
            .created_at
            .with_timezone(&team.timezone)
            .format("%Y-%m-%d"),
        alerts.len()
    ));
    out.push_str(&render(&message));
    out.push('\n');
    Ok(())
}

/// The loop from the digest to a decision and its review, as the team's channel would see it:
/// a member flags the digest's top item, the manager logs a decision citing the top two, and
/// thirty days later Flywheel reminds her to review it.
async fn close_the_loop(
    app: &App,
    digest: &flywheel_insights::digest::Digest,
    out: &mut String,
) -> Result<(), Failure> {
    let [first, second, ..] = digest.items.as_slice() else {
        return Ok(());
    };
    let (first, second) = (first.insight.id, second.insight.id);
    let channel = "console:credit-reports";
    let conversation = [
        (
            "console:sam",
            format!("/insights flag {first} disputes ignored for months"),
        ),
        ("console:dana", "/decision queue".to_string()),
        (
            "console:dana",
            format!(
                "/decision log \"Escalate disputes unanswered after 30 days\" \
                 evidence:{first},{second} review:30d owner:console:dana \
                 rationale:\"the top complaints this week\""
            ),
        ),
        ("console:dana", "/decision show 1".to_string()),
    ];
    out.push_str(&format!(
        "$ flywheel chat --channel {channel}\n\
         # Closing the loop: Sam flags the top item, Dana (the team's manager) logs a decision.\n\n"
    ));
    let inbound = Inbound::new(app.clone(), Adapters::new());
    for (user, text) in &conversation {
        let event = Event::Command(CommandTyped {
            user: user.parse().context("a demo user")?,
            channel: channel.parse().context("the demo channel")?,
            text: text.clone(),
            roles: Vec::new(),
        });
        out.push_str(&format!("{user}> {text}\n"));
        if let Some(reply) = inbound.dispatch(event).await? {
            out.push_str(&render(&reply.message));
        }
        out.push('\n');
    }

    // Thirty days on, the review is due: the reminder posted where the decision was logged.
    let later = app.clock.now() + chrono::Duration::days(30);
    let reminded = App {
        clock: Arc::new(ManualClock::new(later)),
        ..app.clone()
    };
    let due = reminded
        .store
        .due_reviews("credit-reports", later.date_naive())
        .await
        .context("cannot read the reviews due")?;
    if let Some(decision) = due.first() {
        let message = crate::services::reviews::reminder(&reminded, decision).await?;
        out.push_str(&format!(
            "# {}: the review reminder in {channel}.\n\n",
            later.format("%Y-%m-%d")
        ));
        out.push_str(&render(&message));
        out.push('\n');
    }
    Ok(())
}
