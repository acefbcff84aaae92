//! The `flywheel` binary as its users run it: real processes, real files, real exit codes, a real
//! SQLite store in a temporary directory and, when `FLYWHEEL_TEST_POSTGRES_URL` is set, a real
//! PostgreSQL schema.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sqlx::Connection;

#[path = "cli/alerts.rs"]
mod alerts;
#[path = "cli/api.rs"]
mod api;
#[path = "cli/digests.rs"]
mod digests;
#[path = "cli/import.rs"]
mod import;
#[path = "cli/serve.rs"]
mod serve;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/cfpb-complaints-sample.csv"
);

/// A scratch directory with a configuration pointing at a store inside it.
struct Scratch {
    dir: tempfile::TempDir,
    store_url: String,
}

impl Scratch {
    fn sqlite() -> Scratch {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store_url = format!("sqlite://{}", dir.path().join("flywheel.db").display());
        Scratch { dir, store_url }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("a scratch file is written");
        path
    }

    /// Runs `flywheel ARGS` against this store, with no other configuration.
    fn run(&self, args: &[&str]) -> Run {
        run_with(
            args,
            &[("FLYWHEEL_STORE_URL", &self.store_url)],
            self.dir.path(),
        )
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The `flywheel` binary with none of this process's `FLYWHEEL_*` variables.
fn flywheel() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flywheel"));
    for (name, _) in std::env::vars() {
        if name.starts_with("FLYWHEEL_") {
            command.env_remove(name);
        }
    }
    command
}

fn run_with(args: &[&str], env: &[(&str, &str)], data_dir: &Path) -> Run {
    let mut command = flywheel();
    command.args(args);
    command.env("FLYWHEEL_DATA_DIR", data_dir);
    for (name, value) in env {
        command.env(name, value);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("flywheel runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// The count printed on a summary line such as `  unchanged    2067`.
fn summary_count(out: &str, label: &str) -> usize {
    out.lines()
        .find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(label)).then(|| words.next()?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{out}"))
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {run:?}"))
}

fn import_twice_reports_everything_unchanged(scratch: &Scratch) {
    let first = scratch.run(&["import", SAMPLE]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(first.stdout.contains("CFPB complaints"), "{first:?}");
    assert_eq!(summary_count(&first.stdout, "inserted"), 2067, "{first:?}");
    assert_eq!(summary_count(&first.stdout, "rejected"), 0, "{first:?}");

    let second = scratch.run(&["import", SAMPLE]);
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(summary_count(&second.stdout, "inserted"), 0, "{second:?}");
    assert_eq!(summary_count(&second.stdout, "updated"), 0, "{second:?}");
    assert_eq!(
        summary_count(&second.stdout, "unchanged"),
        2067,
        "{second:?}"
    );

    let asked = scratch.run(&["ask", "identity theft", "--json", "--limit", "3"]);
    assert_eq!(asked.code, 0, "{asked:?}");
    let answer = json(&asked);
    assert!(answer["total"].as_u64().unwrap() > 50, "{asked:?}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{asked:?}");
    for result in results {
        assert!(result["id"].as_i64().is_some(), "{result}");
        assert_eq!(result["source"], "cfpb", "{result}");
        assert!(result["source_ref"].as_str().is_some(), "{result}");
        assert!(result["title"].as_str().is_some(), "{result}");
        assert!(result["score"].as_f64().is_some(), "{result}");
    }
    let scores: Vec<f64> = results
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}

#[test]
fn importing_the_sample_twice_on_sqlite_changes_nothing() {
    import_twice_reports_everything_unchanged(&Scratch::sqlite());
}

#[test]
fn importing_the_sample_twice_on_postgres_changes_nothing() {
    let Ok(admin_url) = std::env::var("FLYWHEEL_TEST_POSTGRES_URL") else {
        eprintln!("skipping: FLYWHEEL_TEST_POSTGRES_URL is not set");
        return;
    };
    let schema = format!("flywheel_cli_{}", std::process::id());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let admin = |sql: String| {
        runtime.block_on(async {
            let mut connection = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("FLYWHEEL_TEST_POSTGRES_URL is set but PostgreSQL is unreachable");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut connection)
                .await
                .expect("schema statement");
        })
    };
    admin(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    admin(format!("CREATE SCHEMA {schema}"));
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let mut scratch = Scratch::sqlite();
    scratch.store_url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
    import_twice_reports_everything_unchanged(&scratch);
    admin(format!("DROP SCHEMA {schema} CASCADE"));
}

#[test]
fn bad_rows_are_reported_by_number_and_the_rest_imported() {
    let scratch = Scratch::sqlite();
    let file = scratch.write(
        "feedback.csv",
        "id,title,body,date\n\
         a1,Refund late,My refund took six weeks,2026-01-05\n\
         a2,,,2026-01-06\n\
         a3,Login loop,Cannot log in after reset,not a date\n\
         a4,Invoice wrong,Charged twice on the invoice,2026-01-07\n",
    );
    let file = file.to_str().unwrap();

    let strict = scratch.run(&["import", file, "--strict"]);
    assert_eq!(strict.code, 1, "{strict:?}");
    assert!(strict.stderr.contains("row 2"), "{strict:?}");
    assert!(strict.stderr.contains("row 3"), "{strict:?}");
    assert!(strict.stderr.contains("nothing was written"), "{strict:?}");
    let after_strict = scratch.run(&["ask", "refund OR invoice", "--json"]);
    assert_eq!(json(&after_strict)["total"], 0, "{after_strict:?}");

    let lenient = scratch.run(&["import", file]);
    assert_eq!(lenient.code, 0, "{lenient:?}");
    assert!(lenient.stderr.contains("rejected row 2"), "{lenient:?}");
    assert!(lenient.stderr.contains("rejected row 3"), "{lenient:?}");
    assert_eq!(summary_count(&lenient.stdout, "inserted"), 2, "{lenient:?}");
    assert_eq!(summary_count(&lenient.stdout, "rejected"), 2, "{lenient:?}");
    let after = scratch.run(&["ask", "refund OR invoice", "--json"]);
    assert_eq!(json(&after)["total"], 2, "{after:?}");
}

#[test]
fn a_file_that_is_not_what_it_claims_writes_nothing() {
    let scratch = Scratch::sqlite();
    let file = scratch.write("export.csv", "{\"title\": \"x\", \"body\": \"y\"}\n");
    let run = scratch.run(&["import", file.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("not CSV"), "{run:?}");
    let forced = scratch.run(&["import", file.to_str().unwrap(), "--format", "json"]);
    assert_ne!(forced.code, 0, "{forced:?}");
    let bad_format = scratch.run(&["import", file.to_str().unwrap(), "--format", "xlsx"]);
    assert_eq!(bad_format.code, 2, "{bad_format:?}");
    assert!(bad_format.stderr.contains("--format"), "{bad_format:?}");
    let asked = scratch.run(&["ask", "x OR y", "--json"]);
    assert_eq!(json(&asked)["total"], 0, "{asked:?}");
}

#[test]
fn a_missing_file_is_named() {
    let scratch = Scratch::sqlite();
    let run = scratch.run(&["import", "no-such-file.csv"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("cannot read no-such-file.csv"),
        "{run:?}"
    );
}

#[test]
fn a_bad_query_exits_2_with_the_position_and_a_suggestion() {
    let scratch = Scratch::sqlite();
    let run = scratch.run(&["ask", "refund stag:usage"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("stage"), "{run:?}");
    assert!(run.stderr.contains('^'), "{run:?}");
    let unknown_team = scratch.run(&["ask", "refund", "--team", "nobody"]);
    assert_eq!(unknown_team.code, 2, "{unknown_team:?}");
}

#[test]
fn an_invalid_config_lists_every_problem_and_exits_2() {
    let scratch = Scratch::sqlite();
    let config = scratch.write(
        "flywheel.toml",
        "[[teams]]\nname = \"growth\"\nchannels = [\"console:growth\"]\n\
         timezone = \"Europe/Berln\"\nschedule = \"0 25 * * MON\"\ncolour = \"red\"\n",
    );
    let run = scratch.run(&["--config", config.to_str().unwrap(), "config", "check"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("teams[0].timezone: \"Europe/Berln\" is not a timezone"),
        "{run:?}"
    );
    assert!(run.stderr.contains("teams[0].schedule"), "{run:?}");
    assert!(run.stderr.contains("teams[0].colour"), "{run:?}");
}

#[test]
fn config_check_masks_secrets() {
    let scratch = Scratch::sqlite();
    let run = run_with(
        &["config", "check"],
        &[("SLACK_BOT_TOKEN", "xoxb-very-secret-token")],
        scratch.dir.path(),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("very-secret"), "{run:?}");
    assert!(!run.stderr.contains("very-secret"), "{run:?}");
    assert!(run.stdout.contains("SLACK_BOT_TOKEN"), "{run:?}");

    // A store password in a query parameter is hidden when printed, and when refused.
    for (url, code) in [
        ("postgres://fw@db/flywheel?sslpassword=very-secret-pw", 0),
        ("postgres://fw:very-secret-pw@db:99999/flywheel", 2),
    ] {
        let run = run_with(
            &["config", "check"],
            &[("FLYWHEEL_STORE_URL", url)],
            scratch.dir.path(),
        );
        assert_eq!(run.code, code, "{run:?}");
        assert!(!run.stdout.contains("very-secret"), "{run:?}");
        assert!(!run.stderr.contains("very-secret"), "{run:?}");
    }
}

#[test]
fn logs_piped_to_a_file_carry_no_colour_codes() {
    let scratch = Scratch::sqlite();
    let mut command = flywheel();
    command
        .args(["migrate"])
        .env("FLYWHEEL_DATA_DIR", scratch.dir.path())
        .env("FLYWHEEL_STORE_URL", &scratch.store_url)
        .env("FLYWHEEL_LOG", "info")
        // The logger must decide from where stderr goes, not from the absence of NO_COLOR.
        .env_remove("NO_COLOR");
    let output = command.output().expect("flywheel runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("applied migration"), "{stderr}");
    assert!(!stderr.contains("\x1b["), "{stderr:?}");
}

#[test]
fn processes_migrating_a_new_store_at_once_all_succeed() {
    let scratch = Scratch::sqlite();
    let children: Vec<_> = (0..4)
        .map(|_| {
            flywheel()
                .args(["migrate"])
                .env("FLYWHEEL_DATA_DIR", scratch.dir.path())
                .env("FLYWHEEL_STORE_URL", &scratch.store_url)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("flywheel starts")
        })
        .collect();
    let mut applied = 0;
    for child in children {
        let output = child.wait_with_output().expect("flywheel runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stdout}\n{stderr}");
        applied += stdout.matches("0001 insights").count();
    }
    // One process applied the schema; the others found it applied.
    assert_eq!(applied, 1);
    let again = scratch.run(&["migrate"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(!again.stdout.contains("0001"), "{again:?}");
}

#[test]
fn the_demo_imports_asks_and_says_what_to_try_next() {
    let scratch = Scratch::sqlite();
    let run = scratch.run(&["demo"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(summary_count(&run.stdout, "unchanged"), 0, "{run:?}");
    let again = &run.stdout[run.stdout.find("changes nothing").expect("a second import")..];
    assert_eq!(summary_count(again, "unchanged"), 2067, "{run:?}");
    assert!(
        run.stdout
            .contains("match “what are customers saying about identity theft"),
        "{run:?}"
    );
    assert!(run.stdout.contains("why: matched \"identity\""), "{run:?}");
    assert!(run.stdout.contains("Decision D1 logged"), "{run:?}");
    assert!(
        run.stdout.contains("Review due: D1 Escalate disputes"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("identity theft is at 20× its usual volume (20 on 17 Jul"),
        "{run:?}"
    );
    assert!(
        !run.stdout.contains("Sorry, something went wrong"),
        "{run:?}"
    );
    assert!(run.stdout.contains("Try next"), "{run:?}");
    assert!(scratch.path("demo/flywheel.db").exists());
}

#[test]
fn every_command_has_help_with_examples() {
    let scratch = Scratch::sqlite();
    for command in [
        &["--help"][..],
        &["demo", "--help"],
        &["import", "--help"],
        &["ask", "--help"],
        &["migrate", "--help"],
        &["config", "check", "--help"],
        &["reindex", "--help"],
    ] {
        let run = scratch.run(command);
        assert_eq!(run.code, 0, "{command:?}: {run:?}");
        assert!(run.stdout.contains("Example"), "{command:?}: {run:?}");
    }
}

/// Waits for `condition`, checking every few milliseconds, for at most `limit`.
fn wait_for(what: &str, limit: std::time::Duration, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// How many digest entries each console log in `dir` holds.
fn entries_per_channel(dir: &Path) -> Vec<usize> {
    let Ok(files) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    files
        .filter_map(Result::ok)
        .map(|f| {
            std::fs::read_to_string(f.path())
                .unwrap_or_default()
                .matches("=== flywheel-delivery-")
                .count()
        })
        .collect()
}

#[test]
fn a_service_killed_mid_delivery_resumes_and_every_channel_gets_exactly_one_digest() {
    const CHANNELS: usize = 300;
    let scratch = Scratch::sqlite();
    let console = scratch.path("console");
    let channels: Vec<String> = (0..CHANNELS)
        .map(|n| format!("\"console:c{n:03}\""))
        .collect();
    let config = scratch.write(
        "flywheel.toml",
        &format!(
            "[console]\ndir = \"{}\"\n[[teams]]\nname = \"everyone\"\nchannels = [{}]\nschedule = \"@hourly\"\n",
            console.display(),
            channels.join(", ")
        ),
    );
    let serve = || {
        flywheel()
            .args([
                "--config",
                config.to_str().unwrap(),
                "serve",
                "--listen",
                "127.0.0.1:0",
            ])
            .env("FLYWHEEL_STORE_URL", &scratch.store_url)
            .env("FLYWHEEL_DATA_DIR", scratch.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("flywheel serve starts")
    };

    let mut first = serve();
    wait_for(
        "the first deliveries",
        std::time::Duration::from_secs(60),
        || entries_per_channel(&console).len() >= 10,
    );
    first.kill().expect("SIGKILL");
    first.wait().unwrap();
    let at_kill = entries_per_channel(&console);
    assert!(
        at_kill.len() < CHANNELS,
        "the service finished before it was killed; nothing was tested"
    );

    let mut second = serve();
    wait_for("every channel", std::time::Duration::from_secs(120), || {
        let counts = entries_per_channel(&console);
        counts.len() == CHANNELS && counts.iter().all(|&c| c >= 1)
    });
    // Stop cleanly (SIGTERM) before counting, so nothing more can be written.
    let terminated = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(terminated.success());
    let status = second.wait().unwrap();
    assert!(
        status.success(),
        "serve exits cleanly on SIGTERM: {status:?}"
    );
    let counts = entries_per_channel(&console);
    assert_eq!(counts.len(), CHANNELS);
    assert!(
        counts.iter().all(|&c| c == 1),
        "duplicates: {:?}",
        counts.iter().filter(|&&c| c != 1).collect::<Vec<_>>()
    );
}

/// A scratch store with the CFPB sample imported and two teams with managers.
fn chat_scratch() -> (Scratch, PathBuf) {
    let scratch = Scratch::sqlite();
    let config = scratch.write(
        "flywheel.toml",
        r#"
[[teams]]
name = "growth"
channels = ["console:growth"]
managers = ["console:maria"]
timezone = "Europe/Berlin"

[[teams]]
name = "support"
channels = ["console:support"]
managers = ["console:sam"]
timezone = "America/New_York"
"#,
    );
    let imported = scratch.run(&["--config", config.to_str().unwrap(), "import", SAMPLE]);
    assert_eq!(imported.code, 0, "{imported:?}");
    (scratch, config)
}

/// Runs `flywheel chat` with `lines` on standard input.
fn chat(scratch: &Scratch, config: &Path, user: &str, channel: &str, lines: &str) -> Run {
    use std::io::Write as _;
    let mut child = flywheel()
        .args([
            "--config",
            config.to_str().unwrap(),
            "chat",
            "--user",
            user,
            "--channel",
            channel,
        ])
        .env("FLYWHEEL_STORE_URL", &scratch.store_url)
        .env("FLYWHEEL_DATA_DIR", scratch.dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("flywheel chat starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn chat_commands_answer_and_bad_ones_get_the_right_usage() {
    let (scratch, config) = chat_scratch();
    let run = chat(
        &scratch,
        &config,
        "console:ana",
        "console:growth",
        "/insights ask identity theft\n\
         /insights show 5\n\
         /insights flg 5\n\
         /insights show 999999\n\
         /insights ask severity:>=9\n\
         /insights add Checkout button hidden on mobile, email me at jo@example.com theme:checkout severity:4\n\
         /insights ask checkout\n\
         /insights add Invoices arrive\0 late theme:billing\n\
         /insights flag 5 call jo@example.com or 07700 900123, card 4111.1111.1111.1111\n\
         /insights show 5\n\
         /insights help\n",
    );
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    assert!(out.contains("match “identity theft”"), "{out}");
    assert!(out.contains("#5 "), "{out}");
    assert!(out.contains("did you mean `flag`"), "{out}");
    assert!(out.contains("Usage: /insights flag ID"), "{out}");
    assert!(out.contains("There is no insight #999999"), "{out}");
    assert!(out.contains("not 1 to 5"), "{out}");
    assert!(out.contains("Saved as #2068"), "{out}");
    assert!(out.contains("Personal data was redacted"), "{out}");
    let stored = &out[out.find("> /insights ask checkout").unwrap()..];
    let stored = &stored[..stored.find("> /insights add Invoices").unwrap()];
    assert!(!stored.contains("jo@example"), "{stored}");
    assert!(stored.contains("email me at [email]"), "{stored}");
    assert!(out.contains("1 insight matches “checkout”"), "{out}");
    assert!(
        out.contains("Saved as #2069"),
        "a NUL is dropped, not refused: {out}"
    );
    assert!(!out.to_lowercase().contains("panicked"), "{out}");
    assert!(!out.contains("Sorry, something went wrong"), "{out}");
    // A flag's note is redacted before the store, the audit log or the channel sees it.
    let flagged = &out[out.find("> /insights flag 5").unwrap()..];
    // What follows the line typed (which the terminal echoes).
    let flagged = &flagged[flagged.find('\n').unwrap()..];
    for personal in ["jo@example.com", "07700", "4111"] {
        assert!(!flagged.contains(personal), "{personal}: {flagged}");
    }
    let audit = scratch.run(&["--config", config.to_str().unwrap(), "audit", "export"]);
    assert_eq!(audit.code, 0, "{audit:?}");
    assert!(audit.stdout.contains("[email]"), "{}", audit.stdout);
    for personal in ["jo@example.com", "07700", "4111"] {
        assert!(
            !audit.stdout.contains(personal),
            "{personal}: {}",
            audit.stdout
        );
    }
}

#[test]
fn decisions_follow_the_permission_matrix_of_role_command_and_team() {
    let (scratch, config) = chat_scratch();
    let talk = |user: &str, channel: &str, lines: &str| {
        let run = chat(&scratch, &config, user, channel, lines);
        assert_eq!(run.code, 0, "{run:?}");
        run.stdout
    };
    let refused_log = "Only growth's managers can log decisions";

    // A growth manager in growth's channel may do everything.
    let maria = talk(
        "console:maria",
        "console:growth",
        "/insights flag 6 disputes keep failing\n\
         /decision queue\n\
         /decision log \"Rebuild the dispute flow\" evidence:5,6 review:30d rationale:\"top complaint\"\n\
         /decision queue\n\
         /decision show 1\n\
         /decision list\n\
         /decision stats\n\
         /decision log \"Nothing behind it\" evidence:999999\n",
    );
    assert!(maria.contains("#6 "), "{maria}");
    assert!(maria.contains("flagged 1×"), "{maria}");
    assert!(maria.contains("Decision D1 logged"), "{maria}");
    assert!(
        maria.contains("Nothing is waiting for a decision in growth"),
        "the decision resolved the flag: {maria}"
    );
    assert!(maria.contains("D1 Rebuild the dispute flow"), "{maria}");
    assert!(maria.contains("#5 "), "{maria}");
    assert!(maria.contains("1 decisions logged"), "{maria}");
    assert!(
        maria.contains("No insight #999999 is visible to growth"),
        "{maria}"
    );

    // A member of growth may browse and flag, not log, review or see the queue. A bare name
    // is a console user: `ana` is `console:ana`.
    let ana = talk(
        "ana",
        "console:growth",
        "/decision log \"Mine\" evidence:5\n\
         /decision review 1 kept \"fine\"\n\
         /decision queue\n\
         /decision show 1\n\
         /decision list all\n\
         /decision stats\n\
         /insights flag 7\n",
    );
    assert!(ana.contains(refused_log), "{ana}");
    assert!(
        ana.contains("Only growth's managers can review decisions"),
        "{ana}"
    );
    assert!(
        ana.contains("Only growth's managers can see the decision queue"),
        "{ana}"
    );
    assert!(
        ana.contains("/insights flag ID"),
        "the refusal offers to flag: {ana}"
    );
    assert!(ana.contains("D1 Rebuild the dispute flow"), "{ana}");
    assert!(ana.contains("Flagged #7"), "{ana}");

    // Another team's manager is a member here.
    let sam_here = talk(
        "console:sam",
        "console:growth",
        "/decision log \"Sam's\" evidence:5\n/decision queue\n",
    );
    assert!(sam_here.contains(refused_log), "{sam_here}");
    assert!(
        sam_here.contains("Only growth's managers can see the decision queue"),
        "{sam_here}"
    );

    // In their own team, growth's decisions are not theirs to see or review.
    let sam_home = talk(
        "console:sam",
        "console:support",
        "/decision show 1\n\
         /decision review 1 kept \"x\"\n\
         /decision log \"Answer disputes within a week\" evidence:5\n\
         /decision list\n",
    );
    assert!(
        sam_home.contains("There is no decision D1 here"),
        "{sam_home}"
    );
    assert!(
        sam_home.contains("There is no decision D1 in support"),
        "{sam_home}"
    );
    assert!(sam_home.contains("Decision D2 logged"), "{sam_home}");
    assert!(!sam_home.contains("Rebuild the dispute flow"), "{sam_home}");

    // Growth's manager is a member in support.
    let maria_away = talk(
        "console:maria",
        "console:support",
        "/decision log \"x\" evidence:5\n/decision show 2\n/decision show 1\n",
    );
    assert!(
        maria_away.contains("Only support's managers can log decisions"),
        "{maria_away}"
    );
    assert!(
        maria_away.contains("D2 Answer disputes within a week"),
        "{maria_away}"
    );
    assert!(
        maria_away.contains("There is no decision D1 here"),
        "{maria_away}"
    );

    // Reviews are final.
    let review = talk(
        "console:maria",
        "console:growth",
        "/decision review 1 kept \"disputes halved\"\n/decision review 1 reversed \"again\"\n/decision show 1\n/insights show 5\n",
    );
    assert!(review.contains("D1 reviewed: kept"), "{review}");
    assert!(review.contains("already been reviewed"), "{review}");
    assert!(review.contains("Reviewed: kept"), "{review}");
    assert!(
        review.contains("Decisions citing it"),
        "an insight shows its decisions: {review}"
    );

    // Every change and every refusal is in the audit log, with who and where.
    let config = config.to_str().unwrap();
    let json = scratch.run(&["--config", config, "audit", "export"]);
    assert_eq!(json.code, 0, "{json:?}");
    let events: Vec<Value> = serde_json::from_str(&json.stdout).expect("a JSON array");
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");
    let find = |action: &str, actor: &str| {
        events
            .iter()
            .find(|e| e["action"] == action && e["actor"] == actor)
            .unwrap_or_else(|| panic!("no {action} by {actor} in {events:#?}"))
    };
    let logged = find("decision.logged", "console:maria");
    assert_eq!(logged["channel"], "console:growth");
    assert_eq!(logged["subject"], "decision:1");
    assert_eq!(
        find("decision.reviewed", "console:maria")["subject"],
        "decision:1"
    );
    assert_eq!(
        find("insight.flagged", "console:ana")["subject"],
        "insight:7"
    );
    let imported = events
        .iter()
        .find(|e| e["action"] == "insights.imported")
        .expect("the import is audited");
    assert_eq!(imported["details"]["inserted"], 2067, "{imported}");
    let refused = find("permission.refused", "console:ana");
    assert_eq!(refused["channel"], "console:growth");
    assert!(
        json.stderr
            .contains(&format!("{} audit event(s) exported", events.len()))
    );

    let csv = scratch.run(&["--config", config, "audit", "export", "--format", "csv"]);
    assert_eq!(csv.code, 0, "{csv:?}");
    let mut lines = csv.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("id,at,actor,channel,action,subject,details")
    );
    assert_eq!(lines.count(), events.len(), "{}", csv.stdout);
    assert!(
        csv.stdout
            .contains(",console:maria,console:growth,decision.logged,decision:1,")
    );

    // Nothing happened after tomorrow; a date that is not one is refused.
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let none = scratch.run(&["--config", config, "audit", "export", "--since", &tomorrow]);
    assert_eq!(none.code, 0, "{none:?}");
    assert_eq!(none.stdout.trim(), "[]");
    let bad = scratch.run(&[
        "--config",
        config,
        "audit",
        "export",
        "--since",
        "last week",
    ]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(
        bad.stderr.contains("--since \"last week\" is not a date"),
        "{bad:?}"
    );
}

/// The total and the ids of the best matches of `flywheel ask QUERY --json`.
fn asked(scratch: &Scratch, query: &str) -> (u64, Vec<i64>) {
    let run = scratch.run(&["ask", query, "--json", "--limit", "20"]);
    assert_eq!(run.code, 0, "{run:?}");
    let answer = json(&run);
    let ids = answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_i64().expect("an id"))
        .collect();
    (answer["total"].as_u64().expect("a total"), ids)
}

#[test]
fn the_search_index_is_rebuilt_when_deleted_and_on_demand() {
    let scratch = Scratch::sqlite();
    assert_eq!(scratch.run(&["import", SAMPLE]).code, 0);
    let questions = [
        "what are customers saying about identity theft on their credit report?",
        "foreclosure",
        "credit account:equifax",
    ];
    let before: Vec<(u64, Vec<i64>)> = questions.iter().map(|q| asked(&scratch, q)).collect();
    assert!(before.iter().all(|(total, _)| *total > 0), "{before:?}");

    let index = scratch.path("flywheel.index");
    assert!(index.is_dir(), "the index lives beside the store");
    std::fs::remove_dir_all(&index).unwrap();
    let after_deletion: Vec<(u64, Vec<i64>)> =
        questions.iter().map(|q| asked(&scratch, q)).collect();
    assert_eq!(after_deletion, before);

    let reindex = scratch.run(&["reindex"]);
    assert_eq!(reindex.code, 0, "{reindex:?}");
    assert!(
        reindex.stdout.contains("indexed 2067 insights"),
        "{reindex:?}"
    );
    let after_reindex: Vec<(u64, Vec<i64>)> =
        questions.iter().map(|q| asked(&scratch, q)).collect();
    assert_eq!(after_reindex, before);
}

#[test]
fn an_import_killed_midway_leaves_the_store_and_the_index_agreeing() {
    let scratch = Scratch::sqlite();
    // The sample many times over, each copy with its own complaint ids.
    let sample = std::fs::read_to_string(SAMPLE).unwrap();
    let mut records = csv::Reader::from_reader(sample.as_bytes());
    let headers = records.headers().unwrap().clone();
    let id = headers.iter().position(|h| h == "Complaint ID").unwrap();
    let rows: Vec<csv::StringRecord> = records.records().map(Result::unwrap).collect();
    let big = scratch.path("big.csv");
    let mut out = csv::Writer::from_path(&big).unwrap();
    out.write_record(&headers).unwrap();
    for copy in 0..15 {
        for row in &rows {
            let mut row: Vec<String> = row.iter().map(str::to_string).collect();
            row[id] = format!("{copy}-{}", row[id]);
            out.write_record(&row).unwrap();
        }
    }
    out.flush().unwrap();
    drop(out);

    let mut import = flywheel()
        .args(["import", big.to_str().unwrap()])
        .env("FLYWHEEL_STORE_URL", &scratch.store_url)
        .env("FLYWHEEL_DATA_DIR", scratch.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("flywheel import starts");
    let stored = || -> i64 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let Ok(mut db) = sqlx::SqliteConnection::connect(&scratch.store_url).await else {
                return 0;
            };
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM insights")
                .fetch_one(&mut db)
                .await
                .unwrap_or(0)
        })
    };
    wait_for(
        "the import to write some rows",
        std::time::Duration::from_secs(120),
        || stored() > 0,
    );
    // SIGKILL: no chance to finish anything.
    import.kill().unwrap();
    let status = import.wait().unwrap();
    assert!(
        !status.success(),
        "the import was killed before it finished"
    );
    let written = stored();
    assert!(written > 0 && written < 15 * 2067, "{written} rows written");

    // Every complaint of the sample is a cfpb insight: the index finds exactly what the store holds.
    let (total, _) = asked(&scratch, "source:cfpb");
    assert_eq!(total as i64, written);
    let reindex = scratch.run(&["reindex"]);
    assert_eq!(reindex.code, 0, "{reindex:?}");
    assert_eq!(asked(&scratch, "source:cfpb").0 as i64, written);
    // Importing again completes what was missing, exactly once.
    let again = scratch.run(&["import", big.to_str().unwrap()]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(stored(), 15 * 2067);
    assert_eq!(asked(&scratch, "source:cfpb").0, 15 * 2067);
}

#[test]
fn ask_draws_the_weekly_trend_as_a_png() {
    let scratch = Scratch::sqlite();
    assert_eq!(scratch.run(&["import", SAMPLE]).code, 0);
    let chart = scratch.path("trend.png");
    let run = scratch.run(&["ask", "credit report", "--chart", chart.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("chart written to"), "{run:?}");
    let bytes = std::fs::read(&chart).expect("the chart is written");
    let decoder = png::Decoder::new(&bytes[..]);
    let reader = decoder.read_info().expect("a PNG");
    assert_eq!((reader.info().width, reader.info().height), (960, 540));

    let nowhere = scratch.path("missing/dir/trend.png");
    let run = scratch.run(&["ask", "credit", "--chart", nowhere.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("cannot write the chart"), "{run:?}");
}
