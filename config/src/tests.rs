//! Loading, overriding, validating and rendering, end to end.

use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;
use flywheel_insights::address::{ChannelAddress, UserAddress};
use flywheel_insights::schedule::Schedule;

use crate::schema::{SECTIONS, known_env_names};
use crate::{Config, ConfigError, Environment, SecretSource, SlackTransport, StoreBackend};

const EXAMPLE: &str = include_str!("../flywheel.example.toml");

/// A minimal valid team, for files that test something else.
const TEAM: &str = "[[teams]]\nname = \"growth\"\nchannels = [\"slack:C1\"]\n";

fn env() -> Environment {
    Environment::empty().with("HOME", "/home/ana")
}

fn load(text: &str) -> Config {
    load_with(text, &env())
}

fn load_with(text: &str, env: &Environment) -> Config {
    Config::parse(text, env).unwrap_or_else(|e| panic!("{e}"))
}

fn problems(text: &str) -> Vec<String> {
    problems_with(text, &env())
}

fn problems_with(text: &str, env: &Environment) -> Vec<String> {
    match Config::parse(text, env) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

/// The single problem a file has.
fn problem(text: &str) -> String {
    let all = problems(text);
    assert_eq!(all.len(), 1, "{all:#?}");
    all.into_iter().next().unwrap_or_default()
}

fn channel(text: &str) -> ChannelAddress {
    text.parse().unwrap()
}

fn user(text: &str) -> UserAddress {
    text.parse().unwrap()
}

// ---- defaults ----

#[test]
fn no_file_gives_every_default() {
    let config = Config::load(None, &env()).unwrap();
    assert_eq!(config.file, None);
    assert_eq!(
        config.data_dir,
        PathBuf::from("/home/ana/.local/share/flywheel")
    );
    assert_eq!(
        config.store.url,
        "sqlite:///home/ana/.local/share/flywheel/flywheel.db"
    );
    assert_eq!(config.store.backend(), StoreBackend::Sqlite);
    assert_eq!(config.store.max_connections, 10);
    assert_eq!(config.server.listen, "127.0.0.1:3000".parse().unwrap());
    assert_eq!(config.digest.grace, Duration::from_secs(24 * 3600));
    assert_eq!(config.digest.size, 5);
    let p = config.privacy;
    assert!(p.emails && p.phones && p.cards && p.ibans && p.digit_runs);
    assert!(config.themes.is_empty());
    assert_eq!(config.slack.api_url, "https://slack.com/api");
    assert_eq!(config.slack.transport, SlackTransport::Http);
    assert_eq!(config.slack.max_body_bytes, 1024 * 1024);
    assert_eq!(config.discord.api_url, "https://discord.com");
    assert_eq!(config.discord.application_id, None);
    assert_eq!(config.console.dir, None);
}

#[test]
fn no_teams_means_the_default_team_only() {
    let config = load("");
    assert!(config.uses_default_team());
    assert_eq!(config.teams.len(), 1);
    let team = &config.teams[0];
    assert_eq!(team.name, "everyone");
    assert_eq!(team.channels, [channel("console:digest")]);
    assert_eq!(team.schedule, Schedule::parse("0 9 * * MON").unwrap());
    assert_eq!(team.timezone, Tz::UTC);
    assert!(team.filter.clauses.is_empty());
    assert_eq!(team.filter_text, "");
    assert_eq!(team.digest_size, 5);
    assert!(team.managers.is_empty());
    // The default digest size follows [digest] size.
    assert_eq!(load("[digest]\nsize = 9").teams[0].digest_size, 9);

    let config = load(TEAM);
    assert!(!config.uses_default_team());
    assert_eq!(config.teams.len(), 1);
    assert_eq!(config.teams[0].name, "growth");
}

#[test]
fn team_keys_default_individually() {
    let config = load(&format!("[digest]\nsize = 8\n{TEAM}"));
    let team = &config.teams[0];
    assert_eq!(team.schedule.as_str(), "0 9 * * MON");
    assert_eq!(team.timezone, Tz::UTC);
    assert!(team.filter.clauses.is_empty());
    assert_eq!(team.digest_size, 8);
    assert!(team.managers.is_empty());
}

#[test]
fn data_dir_and_default_store_follow_the_environment() {
    let with = |pairs: &[(&str, &str)]| load_with("", &pairs.iter().copied().collect());
    let config = with(&[("FLYWHEEL_DATA_DIR", "/srv/fw"), ("HOME", "/h")]);
    assert_eq!(config.data_dir, PathBuf::from("/srv/fw"));
    assert_eq!(config.store.url, "sqlite:///srv/fw/flywheel.db");
    let config = with(&[("XDG_DATA_HOME", "/xdg"), ("HOME", "/h")]);
    assert_eq!(config.store.url, "sqlite:///xdg/flywheel/flywheel.db");
    let config = with(&[]);
    assert_eq!(config.store.url, "sqlite://./.flywheel/flywheel.db");
    // An explicit URL wins; the data directory is still resolved.
    let config = with(&[("FLYWHEEL_STORE_URL", "postgres://db/fw"), ("HOME", "/h")]);
    assert_eq!(config.store.url, "postgres://db/fw");
    assert_eq!(config.store.backend(), StoreBackend::Postgres);
    assert_eq!(config.data_dir, PathBuf::from("/h/.local/share/flywheel"));
}

// ---- the example file ----

#[test]
fn the_example_file_loads() {
    let env = env()
        .with("SLACK_BOT_TOKEN", "xoxb-example")
        .with("DISCORD_BOT_TOKEN", "discord-example");
    let config = load_with(EXAMPLE, &env);
    assert_eq!(config.store.url, "sqlite:///var/lib/flywheel/flywheel.db");
    assert_eq!(config.teams.len(), 2);
    let growth = config.team("growth").unwrap();
    assert_eq!(growth.timezone, chrono_tz::Europe::Berlin);
    assert_eq!(growth.digest_size, 7);
    assert_eq!(growth.managers.len(), 2);
    assert_eq!(growth.filter_text, "segment:enterprise severity:>=3");
    assert_eq!(growth.filter.clauses.len(), 2);
    let support = config.team("support").unwrap();
    assert_eq!(support.digest_size, 5);
    assert_eq!(support.timezone, chrono_tz::America::New_York);
    assert_eq!(config.themes.len(), 2);
    assert_eq!(config.themes[1].name, "Onboarding friction");
    assert_eq!(config.discord.application_id, Some(123_456_789_012_345_678));
    assert_eq!(config.console.dir, Some(PathBuf::from("/var/log/flywheel")));
    assert_eq!(
        config.secrets.slack_bot_token.as_ref().map(|s| s.expose()),
        Some("xoxb-example")
    );
    assert!(config.secrets.slack_signing_secret.is_none());
}

#[test]
fn the_example_file_documents_every_key() {
    for section in SECTIONS {
        let header = if section.repeated {
            format!("[[{}]]", section.name)
        } else {
            format!("[{}]", section.name)
        };
        assert!(EXAMPLE.contains(&header), "{header} is not in the example");
        for key in section.keys {
            let written = EXAMPLE.lines().any(|line| {
                let line = line.trim_start_matches(['#', ' ']);
                line.starts_with(&format!("{} = ", key.name))
            });
            assert!(
                written,
                "{}.{} is not in the example",
                section.name, key.name
            );
        }
    }
}

#[test]
fn every_schedule_in_the_example_parses() {
    let mut seen = 0;
    for line in EXAMPLE.lines() {
        let line = line.trim_start_matches(['#', ' ']);
        if let Some(rest) = line.strip_prefix("schedule = \"") {
            let text = &rest[..rest.find('"').unwrap()];
            Schedule::parse(text).unwrap_or_else(|e| panic!("{e}"));
            seen += 1;
        }
    }
    assert!(seen >= 8, "only {seen} schedules found");
}

// ---- loading files ----

#[test]
fn load_reads_the_named_file_or_flywheel_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flywheel.toml");
    std::fs::write(&path, TEAM).unwrap();
    let config = Config::load(Some(&path), &env()).unwrap();
    assert_eq!(config.file.as_deref(), Some(path.as_path()));
    assert_eq!(config.teams[0].name, "growth");

    let via_env = env().with("FLYWHEEL_CONFIG", path.display().to_string());
    assert_eq!(
        Config::load(None, &via_env).unwrap().teams[0].name,
        "growth"
    );

    let missing = dir.path().join("nope.toml");
    let err = Config::load(Some(&missing), &env()).unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].at, missing.display().to_string());
    assert!(
        err.problems[0]
            .message
            .starts_with("cannot read the config file: ")
    );
}

#[test]
fn syntax_errors_give_line_and_column() {
    let text = "[store]\nurl = \"sqlite://x\"\nmax_connections = = 3\n";
    let all = problems(text);
    assert_eq!(all.len(), 1);
    assert!(
        all[0].starts_with("line 3, column 19: not valid TOML: "),
        "{all:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[store\n").unwrap();
    let err = Config::load(Some(&path), &env()).unwrap_err();
    assert!(
        err.problems[0]
            .at
            .starts_with(&format!("{}:1:", path.display())),
        "{err}"
    );
    // Duplicate keys are a syntax error too.
    assert!(
        problem("[server]\nlisten = \"127.0.0.1:1\"\nlisten = \"127.0.0.1:2\"")
            .starts_with("line 3")
    );
}

// ---- unknown keys and types ----

#[test]
fn unknown_keys_are_reported_at_every_level_with_a_suggestion() {
    let cases = [
        (
            "[stores]\nurl = \"x\"",
            "stores: unknown key (did you mean [store]?)",
        ),
        (
            "[store]\nurll = \"x\"",
            "store.urll: unknown key (did you mean \"url\"?)",
        ),
        (
            "[server]\nlisten_on = \"x\"",
            "server.listen_on: unknown key (did you mean \"listen\"?)",
        ),
        (
            "[digest]\ngrase = \"1h\"",
            "digest.grase: unknown key (did you mean \"grace\"?)",
        ),
        (
            "[privacy]\nemail = true",
            "privacy.email: unknown key (did you mean \"emails\"?)",
        ),
        (
            "[[teams]]\nname = \"a\"\nchannels = [\"slack:C1\"]\ntimezon = \"UTC\"",
            "teams[0].timezon: unknown key (did you mean \"timezone\"?)",
        ),
        (
            "[[themes]]\nname = \"a\"\nmatch = \"x\"\nmatches = \"y\"",
            "themes[0].matches: unknown key (did you mean \"match\"?)",
        ),
        (
            "[slack]\ntransprt = \"http\"",
            "slack.transprt: unknown key (did you mean \"transport\"?)",
        ),
        (
            "[discord]\napi_ur = \"x\"",
            "discord.api_ur: unknown key (did you mean \"api_url\"?)",
        ),
        (
            "[api]\nmax_item = 5",
            "api.max_item: unknown key (did you mean \"max_items\"?)",
        ),
        (
            "[console]\ndirs = \"x\"",
            "console.dirs: unknown key (did you mean \"dir\"?)",
        ),
        (
            "top = 1",
            "top: unknown key; the sections are store, server, digest, privacy, spikes, teams, themes, api, slack, discord, console",
        ),
        (
            "[console]\nzzzzzz = 1",
            "console.zzzzzz: unknown key; [console] takes dir",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(problem(text), expected, "{text}");
    }
}

#[test]
fn wrong_types_are_reported_with_the_key_path() {
    let cases = [
        (
            "[digest]\nsize = \"5\"",
            "digest.size: expected a whole number, found a string",
        ),
        (
            "[privacy]\nemails = \"no\"",
            "privacy.emails: expected true or false, found a string",
        ),
        (
            "[store]\nurl = 5",
            "store.url: expected a string, found a integer",
        ),
        (
            "[[teams]]\nname = \"a\"\nchannels = \"slack:C1\"",
            "teams[0].channels: expected a list of strings, found a string",
        ),
        (
            "[[teams]]\nname = \"a\"\nchannels = [\"slack:C1\", 5]",
            "teams[0].channels[1]: expected a string, found a integer",
        ),
        (
            "store = \"sqlite://x\"",
            "store: expected a table, written [store], found a string",
        ),
        (
            "[teams]\nname = \"a\"",
            "teams: expected an array of tables, written [[teams]], found a table",
        ),
        (
            "themes = [1]",
            "themes: expected an array of tables, written [[themes]], found an array of plain values",
        ),
        (
            "[discord]\napplication_id = true",
            "discord.application_id: expected an id (digits, quoted or not), found a boolean",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(problem(text), expected, "{text}");
    }
    // An id may be written as a number.
    assert_eq!(
        load("[discord]\napplication_id = 42")
            .discord
            .application_id,
        Some(42)
    );
}

#[test]
fn a_mistyped_key_does_not_hide_problems_in_the_rest_of_its_table() {
    let all = problems("[digest]\nsize = \"5\"\ngrace = \"forever\"\nbogus = 1");
    assert_eq!(all.len(), 3, "{all:#?}");
    assert!(all[0].starts_with("digest.bogus: unknown key"));
    assert!(all[1].starts_with("digest.grace: \"forever\" is not a duration"));
    assert!(all[2].starts_with("digest.size: expected a whole number"));
}

// ---- validation ----

#[test]
fn every_problem_is_reported_at_once_in_a_stable_order() {
    let text = r#"
[digest]
size = 0

[[teams]]
name = "growth"
channels = ["slack:C0123"]
schedule = "0 9 * * MONDAY"

[[teams]]
name = "support"
channels = ["console:support"]
timezone = "Europe/Berln"

[[teams]]
name = "sales"
channels = ["slack:#sales", "discord:12"]

[[themes]]
name = "billing"
match = "refund stge:onboarding"

[server]
listen = "localhost"
"#;
    let env = env().with("FLYWHEEL_STORE_URLL", "sqlite://x");
    let first = problems_with(text, &env);
    assert_eq!(
        first,
        [
            "FLYWHEEL_STORE_URLL: unknown setting — did you mean FLYWHEEL_STORE_URL?",
            "server.listen: \"localhost\" is not an address to listen on (use 127.0.0.1 rather than localhost): write IP:PORT, e.g. 127.0.0.1:3000 or 0.0.0.0:3000",
            "digest.size: 0 is out of range: use 1 to 20",
            "teams[0].schedule: \"0 9 * * MONDAY\" is not a cron expression: day-of-week \"MONDAY\" is not a day: use 0-7 (Sunday is 0 or 7) or SUN-SAT (did you mean \"MON\"?)",
            "teams[1].timezone: \"Europe/Berln\" is not a timezone (did you mean \"Europe/Berlin\"?)",
            "teams[2].channels[0]: \"slack:#sales\" is not a slack channel id: use the channel id (like C0123ABCD), not its name; Slack shows it at the bottom of the channel details",
            "themes[0].match: column 8: unknown filter \"stge\" — did you mean \"stage:\"?",
        ]
    );
    assert_eq!(problems_with(text, &env), first, "the order must not vary");
    // The error displays one problem per line.
    let err: ConfigError = Config::parse(text, &env).unwrap_err();
    assert_eq!(err.to_string().lines().count(), first.len());
    assert_eq!(ConfigError::EXIT_CODE, 2);
}

#[test]
fn store_values_are_checked() {
    assert!(load("[store]\nurl = \"sqlite::memory:\"").store.url == "sqlite::memory:");
    assert!(
        load("[store]\nurl = \"postgresql://u@h/db\"")
            .store
            .backend()
            == StoreBackend::Postgres
    );
    assert_eq!(
        problem("[store]\nurl = \"mysql://app:hunter2@db/fw\""),
        "store.url: \"mysql://app:***@db/fw\": the \"mysql\" store is not supported; use sqlite://PATH (or sqlite::memory:) or postgres://USER@HOST/DATABASE"
    );
    assert!(problem("[store]\nurl = \"\"").contains("store.url: it is empty"));
    assert!(problem("[store]\nurl = \"sqlite://\"").contains("sqlite:// needs a path"));
    assert!(problem("[store]\nurl = \"flywheel.db\"").contains("is not a database URL"));
    assert_eq!(
        problem("[store]\nmax_connections = 0"),
        "store.max_connections: 0 is out of range: use 1 to 1000"
    );
}

#[test]
fn server_and_digest_values_are_checked() {
    assert_eq!(
        load("[server]\nlisten = \"0.0.0.0:8080\"")
            .server
            .listen
            .port(),
        8080
    );
    assert_eq!(
        load("[server]\nlisten = \"[::1]:80\"").server.listen.port(),
        80
    );
    assert!(problem("[server]\nlisten = \"127.0.0.1\"").contains("(the port is missing)"));
    assert!(problem("[server]\nlisten = \"127.0.0.1:99999\"").starts_with("server.listen: "));
    assert_eq!(
        load("[digest]\ngrace = \"90m\"").digest.grace,
        Duration::from_secs(5400)
    );
    assert_eq!(
        load("[digest]\ngrace = \"2d\"").digest.grace,
        Duration::from_secs(172_800)
    );
    assert!(problem("[digest]\ngrace = \"0s\"").contains("digest.grace: must be more than zero"));
    assert!(problem("[digest]\ngrace = \"24\"").contains("digest.grace: \"24\" has no unit"));
    assert!(
        problem("[digest]\nsize = 21").contains("digest.size: 21 is out of range: use 1 to 20")
    );
    assert_eq!(load("[digest]\nsize = 20").digest.size, 20);
    assert_eq!(load("[digest]\nsize = 1").digest.size, 1);
}

#[test]
fn privacy_switches_are_read() {
    let p =
        load("[privacy]\nemails = false\nphones = true\ncards = false\nibans = false\ndigit_runs = false").privacy;
    assert!(!p.emails && p.phones && !p.cards && !p.ibans && !p.digit_runs);
}

#[test]
fn team_values_are_checked() {
    let cases = [
        (
            "channels = [\"slack:C1\"]",
            "teams[0].name: missing: every team needs a name, e.g. name = \"growth\"",
        ),
        (
            "name = \"Growth Team\"\nchannels = [\"slack:C1\"]",
            "teams[0].name: \"Growth Team\" is not a team name: use lowercase a-z, 0-9, '_' and '-' (did you mean \"growth-team\"?)",
        ),
        (
            "name = \"a\"",
            "teams[0].channels: missing: a team needs at least one channel, e.g. channels = [\"slack:C0123ABCD\"]",
        ),
        (
            "name = \"a\"\nchannels = []",
            "teams[0].channels: empty: a team needs at least one channel, e.g. channels = [\"slack:C0123ABCD\"]",
        ),
        (
            "name = \"a\"\nchannels = [\"slack:C1\", \"slack:C1\"]",
            "teams[0].channels[1]: slack:C1 is listed twice",
        ),
        (
            "name = \"a\"\nchannels = [\"slak:C1\"]",
            "teams[0].channels[0]: unknown platform \"slak\" (did you mean \"slack\"? platforms are slack, discord and console)",
        ),
        (
            "name = \"a\"\nchannels = [\"slack:C1\"]\nschedule = \"0 0 9 * * MON\"",
            "teams[0].schedule: \"0 0 9 * * MON\" is not a cron expression: it has 6 fields, but schedules use the 5-field Unix form without seconds or years; write five fields: minute hour day-of-month month day-of-week, e.g. \"0 9 * * MON\"",
        ),
        (
            "name = \"a\"\nchannels = [\"slack:C1\"]\ntimezone = \"Nowhere\"",
            "teams[0].timezone: \"Nowhere\" is not a timezone: use an IANA name such as Europe/Berlin, America/New_York or UTC",
        ),
        (
            "name = \"a\"\nchannels = [\"slack:C1\"]\nfilter = \"severity:9\"",
            "teams[0].filter: column 10: severity \"9\" is not 1 to 5 with an optional =, <, <=, > or >= (severity:>=4)",
        ),
        (
            "name = \"a\"\nchannels = [\"slack:C1\"]\ndigest_size = 25",
            "teams[0].digest_size: 25 is out of range: use 1 to 20",
        ),
        (
            "name = \"a\"\nchannels = [\"slack:C1\"]\nmanagers = [\"slack:C1\"]",
            "teams[0].managers[0]: \"slack:C1\" is not a slack user id: Slack user ids start with U or W (that is a channel id)",
        ),
    ];
    for (body, expected) in cases {
        let text = format!("[[teams]]\n{body}");
        assert_eq!(problem(&text), expected, "{text}");
    }
}

#[test]
fn team_names_must_be_unique() {
    let text = format!("{TEAM}{TEAM}");
    assert_eq!(
        problem(&text),
        "teams[1].name: \"growth\" is already the name of teams[0]; team names must be unique"
    );
}

#[test]
fn theme_values_are_checked() {
    let two = "[[themes]]\nname = \"Billing\"\nmatch = \"refund\"\n[[themes]]\nname = \"billing!\"\nmatch = \"invoice\"";
    assert_eq!(
        problem(two),
        "themes[1].name: \"billing!\" is the same theme as themes[0] (\"billing\"); theme names must differ by more than case and punctuation"
    );
    assert!(problem("[[themes]]\nmatch = \"refund\"").starts_with("themes[0].name: missing"));
    assert!(
        problem("[[themes]]\nname = \"--\"\nmatch = \"refund\"")
            .starts_with("themes[0].name: missing")
    );
    assert!(
        problem("[[themes]]\nname = \"a\"")
            .starts_with("themes[0].match: missing: a theme needs a query")
    );
    assert!(
        problem("[[themes]]\nname = \"a\"\nmatch = \"what are customers saying?\"")
            .contains("matches every insight")
    );
    assert_eq!(
        problem("[[themes]]\nname = \"a\"\nmatch = \"refund OR\""),
        "themes[0].match: column 8: OR needs a word after it"
    );
    let config = load("[[themes]]\nname = \"Billing\"\nmatch = \"refund OR chargeback\"");
    assert_eq!(config.themes[0].name, "Billing");
    assert_eq!(config.themes[0].query.clauses.len(), 1);
}

#[test]
fn platform_values_are_checked() {
    assert_eq!(
        load("[slack]\napi_url = \"http://127.0.0.1:9000/api/\"")
            .slack
            .api_url,
        "http://127.0.0.1:9000/api"
    );
    assert!(
        problem("[slack]\napi_url = \"ftp://x\"")
            .starts_with("slack.api_url: \"ftp://x\" is not an http:// or https:// URL")
    );
    assert!(problem("[discord]\napi_url = \"https://\"").starts_with("discord.api_url: "));
    assert_eq!(
        load("[slack]\ntransport = \"socket\"").slack.transport,
        SlackTransport::Socket
    );
    assert!(
        problem("[slack]\ntransport = \"sockets\"")
            .contains("\"sockets\" is not a transport (did you mean \"socket\"?)")
    );
    assert!(
        problem("[server]\nmax_commands = 0")
            .contains("server.max_commands: 0 is out of range: use 1 to 1000")
    );
    assert!(problem("[server]\ndrain = \"0s\"").contains("server.drain: must be more than zero"));
    assert!(problem("[server]\nidle_timeout = \"soon\"").starts_with("server.idle_timeout"));
    assert!(
        problem("[slack]\nmax_body_bytes = 10")
            .contains("slack.max_body_bytes: 10 is out of range")
    );
    assert!(
        problem("[discord]\nguild_ids = [\"12\", \"my server\"]")
            .starts_with("discord.guild_ids[1]: \"my server\" is not a Discord server id")
    );
    assert!(
        problem("[discord]\napplication_id = \"abc\"")
            .starts_with("discord.application_id: \"abc\" is not a Discord application id")
    );
    assert!(
        problem("[discord]\napplication_id = \"99999999999999999999999\"")
            .starts_with("discord.application_id")
    );
    assert!(problem("[console]\ndir = \"\"").starts_with("console.dir: it is empty"));
}

// ---- environment overrides ----

/// A value for every settable variable, with a file for the teams and themes to override.
fn every_override() -> Environment {
    env()
        .with("FLYWHEEL_STORE_URL", "postgres://db.internal/flywheel")
        .with("FLYWHEEL_STORE_MAX_CONNECTIONS", "33")
        .with("FLYWHEEL_SERVER_LISTEN", "0.0.0.0:8080")
        .with("FLYWHEEL_SERVER_MAX_CONNECTIONS", "2000")
        .with("FLYWHEEL_SERVER_MAX_COMMANDS", "6")
        .with("FLYWHEEL_SERVER_QUEUED_COMMANDS", "0")
        .with("FLYWHEEL_SERVER_IDLE_TIMEOUT", "30s")
        .with("FLYWHEEL_SERVER_DRAIN", "1m")
        .with("FLYWHEEL_DIGEST_GRACE", "90m")
        .with("FLYWHEEL_DIGEST_SIZE", "12")
        .with("FLYWHEEL_PRIVACY_EMAILS", "false")
        .with("FLYWHEEL_PRIVACY_PHONES", "no")
        .with("FLYWHEEL_PRIVACY_CARDS", "0")
        .with("FLYWHEEL_PRIVACY_IBANS", "false")
        .with("FLYWHEEL_PRIVACY_DIGIT_RUNS", "off")
        .with("FLYWHEEL_TEAMS_0_NAME", "growth-emea")
        .with("FLYWHEEL_TEAMS_0_CHANNELS", "slack:C9, discord:77")
        .with("FLYWHEEL_TEAMS_0_SCHEDULE", "0 8 * * FRI")
        .with("FLYWHEEL_TEAMS_0_TIMEZONE", "Europe/Paris")
        .with("FLYWHEEL_TEAMS_0_FILTER", "segment:enterprise")
        .with("FLYWHEEL_TEAMS_0_DIGEST_SIZE", "3")
        .with("FLYWHEEL_TEAMS_0_MANAGERS", "slack:U9,console:ana")
        .with("FLYWHEEL_TEAMS_0_QUIET_HOURS", "21:30-06:45")
        .with("FLYWHEEL_TEAMS_0_WATCHES", "refund every:hourly, churn")
        .with("FLYWHEEL_TEAMS_0_SPIKE_ALERTS", "false")
        .with("FLYWHEEL_TEAMS_0_FOLLOW", "Billing, Onboarding friction")
        .with("FLYWHEEL_SPIKES_RATIO", "4")
        .with("FLYWHEEL_SPIKES_MIN_COUNT", "9")
        .with("FLYWHEEL_SPIKES_BASELINE_DAYS", "14")
        .with("FLYWHEEL_THEMES_0_NAME", "refunds")
        .with("FLYWHEEL_THEMES_0_MATCH", "refund OR chargeback")
        .with("FLYWHEEL_API_MAX_BODY_BYTES", "65536")
        .with("FLYWHEEL_API_MAX_ITEMS", "50")
        .with("FLYWHEEL_API_MAX_REQUESTS", "3")
        .with("FLYWHEEL_API_TOKENS_ENV", "MY_API_TOKENS")
        .with("FLYWHEEL_API_TOKENS_FILE", "")
        .with("MY_API_TOKENS", "ci:ci-token-0123456789abcdef")
        .with("FLYWHEEL_SLACK_API_URL", "http://127.0.0.1:9/api")
        .with("FLYWHEEL_SLACK_TRANSPORT", "socket")
        .with("FLYWHEEL_SLACK_MAX_BODY_BYTES", "2048")
        .with("FLYWHEEL_SLACK_BOT_TOKEN_ENV", "MY_BOT_TOKEN")
        .with("FLYWHEEL_SLACK_BOT_TOKEN_FILE", "")
        .with("FLYWHEEL_SLACK_SIGNING_SECRET_ENV", "MY_SIGNING")
        .with("FLYWHEEL_SLACK_SIGNING_SECRET_FILE", "")
        .with("FLYWHEEL_SLACK_APP_TOKEN_ENV", "MY_APP_TOKEN")
        .with("FLYWHEEL_SLACK_APP_TOKEN_FILE", "")
        .with("FLYWHEEL_DISCORD_API_URL", "http://127.0.0.1:10")
        .with("FLYWHEEL_DISCORD_APPLICATION_ID", "4242")
        .with("FLYWHEEL_DISCORD_GUILD_IDS", "111, 222")
        .with("FLYWHEEL_DISCORD_BOT_TOKEN_ENV", "MY_DISCORD")
        .with("FLYWHEEL_DISCORD_BOT_TOKEN_FILE", "")
        .with("FLYWHEEL_DISCORD_PUBLIC_KEY_ENV", "MY_KEY")
        .with("FLYWHEEL_DISCORD_PUBLIC_KEY_FILE", "")
        .with("FLYWHEEL_CONSOLE_DIR", "/tmp/fw-console")
        .with("MY_BOT_TOKEN", "xoxb-from-custom-env")
}

#[test]
fn every_setting_has_an_override_test() {
    let env = every_override();
    for name in known_env_names(0) {
        assert!(env.get(&name).is_some(), "{name} is not exercised");
    }
}

#[test]
fn every_scalar_key_is_overridden_from_the_environment() {
    // The `_file` keys are set empty above, which leaves them unset (they are tested with real
    // files separately).
    let env = every_override();
    let file = format!(
        "{TEAM}schedule = \"0 9 * * MON\"\n[[themes]]\nname = \"old\"\nmatch = \"old\"\n[store]\nurl = \"sqlite://file.db\""
    );
    let c = load_with(&file, &env);
    assert_eq!(c.store.url, "postgres://db.internal/flywheel");
    assert_eq!(c.store.max_connections, 33);
    assert_eq!(c.server.listen, "0.0.0.0:8080".parse().unwrap());
    assert_eq!(c.server.max_connections, 2000);
    assert_eq!(c.server.max_commands, 6);
    assert_eq!(c.server.queued_commands, 0);
    assert_eq!(c.server.idle_timeout, Duration::from_secs(30));
    assert_eq!(c.server.drain, Duration::from_secs(60));
    assert_eq!(c.digest.grace, Duration::from_secs(5400));
    assert_eq!(c.digest.size, 12);
    assert!(
        !c.privacy.emails
            && !c.privacy.phones
            && !c.privacy.cards
            && !c.privacy.ibans
            && !c.privacy.digit_runs
    );
    let team = &c.teams[0];
    assert_eq!(team.name, "growth-emea");
    assert_eq!(team.channels, [channel("slack:C9"), channel("discord:77")]);
    assert_eq!(team.schedule.as_str(), "0 8 * * FRI");
    assert_eq!(team.timezone, chrono_tz::Europe::Paris);
    assert_eq!(team.filter_text, "segment:enterprise");
    assert_eq!(team.digest_size, 3);
    assert_eq!(team.managers, [user("slack:U9"), user("console:ana")]);
    assert_eq!(
        team.quiet_hours.map(|q| q.to_string()).as_deref(),
        Some("21:30-06:45")
    );
    assert_eq!(
        team.watches,
        [
            crate::TeamWatch {
                query: "refund".into(),
                every: flywheel_insights::watch::Cadence::Hourly
            },
            crate::TeamWatch {
                query: "churn".into(),
                every: flywheel_insights::watch::Cadence::Now
            }
        ]
    );
    assert!(!team.spike_alerts);
    assert_eq!(team.follow, ["billing", "onboarding-friction"]);
    assert_eq!(team.followed_themes(), ["billing", "onboarding-friction"]);
    assert_eq!(
        (c.spikes.ratio, c.spikes.min_count, c.spikes.baseline_days),
        (4.0, 9, 14)
    );
    assert_eq!(c.themes[0].name, "refunds");
    assert_eq!(c.slack.api_url, "http://127.0.0.1:9/api");
    assert_eq!(c.slack.transport, SlackTransport::Socket);
    assert_eq!(c.slack.max_body_bytes, 2048);
    assert_eq!(c.api.max_body_bytes, 65536);
    assert_eq!(c.api.max_items, 50);
    assert_eq!(c.api.max_requests, 3);
    assert_eq!(
        c.api
            .tokens
            .find("ci-token-0123456789abcdef")
            .map(|t| t.name.as_str()),
        Some("ci")
    );
    assert_eq!(
        c.secrets.sources.api_tokens,
        SecretSource::Env("MY_API_TOKENS".into())
    );
    assert_eq!(c.discord.api_url, "http://127.0.0.1:10");
    assert_eq!(c.discord.application_id, Some(4242));
    assert_eq!(c.discord.guilds, [111, 222]);
    assert_eq!(c.console.dir, Some(PathBuf::from("/tmp/fw-console")));
    let s = &c.secrets;
    assert_eq!(
        s.slack_bot_token.as_ref().map(|t| t.expose()),
        Some("xoxb-from-custom-env")
    );
    assert_eq!(
        s.sources.slack_bot_token,
        SecretSource::Env("MY_BOT_TOKEN".into())
    );
    assert_eq!(
        s.sources.slack_signing_secret,
        SecretSource::Env("MY_SIGNING".into())
    );
    assert_eq!(
        s.sources.slack_app_token,
        SecretSource::Env("MY_APP_TOKEN".into())
    );
    assert_eq!(
        s.sources.discord_bot_token,
        SecretSource::Env("MY_DISCORD".into())
    );
    assert_eq!(
        s.sources.discord_public_key,
        SecretSource::Env("MY_KEY".into())
    );

    let rendered = c.render_effective();
    assert!(
        rendered.contains("url = \"postgres://db.internal/flywheel\"  # from FLYWHEEL_STORE_URL"),
        "{rendered}"
    );
    assert!(rendered.contains("timezone = \"Europe/Paris\"  # from FLYWHEEL_TEAMS_0_TIMEZONE"));
    assert!(
        rendered.contains("bot_token_env = \"MY_BOT_TOKEN\"  # from FLYWHEEL_SLACK_BOT_TOKEN_ENV")
    );
}

#[test]
fn secret_files_can_be_named_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "  xoxb-from-file\n").unwrap();
    let env = env().with("FLYWHEEL_SLACK_BOT_TOKEN_FILE", path.display().to_string());
    let c = load_with("", &env);
    assert_eq!(
        c.secrets.slack_bot_token.as_ref().map(|t| t.expose()),
        Some("xoxb-from-file")
    );
    assert_eq!(
        c.secrets.sources.slack_bot_token,
        SecretSource::File(path.clone())
    );
}

#[test]
fn program_variables_are_not_settings() {
    let env = env()
        .with("FLYWHEEL_CONFIG", "")
        .with("FLYWHEEL_DATA_DIR", "/d")
        .with("FLYWHEEL_LOG", "debug")
        .with("FLYWHEEL_TEST_SLACK_PORT", "1");
    assert!(Config::parse("", &env).is_ok());
}

#[test]
fn empty_variables_override_nothing() {
    let env = env()
        .with("FLYWHEEL_CONSOLE_DIR", "")
        .with("FLYWHEEL_DIGEST_SIZE", "")
        .with("FLYWHEEL_STORE_URLL", "");
    let all = problems_with(TEAM, &env);
    assert_eq!(
        all,
        ["FLYWHEEL_STORE_URLL: unknown setting — did you mean FLYWHEEL_STORE_URL?"]
    );
    let config = load_with(
        TEAM,
        &env.with("FLYWHEEL_STORE_URLL", "x")
            .iter()
            .filter(|(k, _)| !k.ends_with("URLL"))
            .collect(),
    );
    assert_eq!(config.console.dir, None);
    assert_eq!(config.digest.size, 5);
}

#[test]
fn environment_problems_name_the_variable() {
    let cases = [
        (
            "FLYWHEEL_STORE_URLL",
            "x",
            "FLYWHEEL_STORE_URLL: unknown setting — did you mean FLYWHEEL_STORE_URL?",
        ),
        (
            "FLYWHEEL_DIGEST_SIZE",
            "abc",
            "FLYWHEEL_DIGEST_SIZE: \"abc\" is not a whole number",
        ),
        (
            "FLYWHEEL_DIGEST_SIZE",
            "50",
            "FLYWHEEL_DIGEST_SIZE: 50 is out of range: use 1 to 20",
        ),
        (
            "FLYWHEEL_DIGEST_GRACE",
            "2x",
            "FLYWHEEL_DIGEST_GRACE: \"2x\" has an unknown unit \"x\"; write a number and a unit: 90m, 24h, 2d (units w, d, h, m, s; combine as 1h30m)",
        ),
        (
            "FLYWHEEL_PRIVACY_EMAILS",
            "maybe",
            "FLYWHEEL_PRIVACY_EMAILS: \"maybe\" is not true or false",
        ),
        (
            "FLYWHEEL_TEAMS_0_TIMEZONE",
            "Europe/Berln",
            "FLYWHEEL_TEAMS_0_TIMEZONE: \"Europe/Berln\" is not a timezone (did you mean \"Europe/Berlin\"?)",
        ),
        (
            "FLYWHEEL_TEAMS_0_CHANNELS",
            "slack:C1,slack:c2",
            "FLYWHEEL_TEAMS_0_CHANNELS[1]: \"slack:c2\" is not a slack channel id: Slack ids are uppercase (did you mean \"C2\"?)",
        ),
        (
            "FLYWHEEL_TEAMS_1_NAME",
            "x",
            "FLYWHEEL_TEAMS_1_NAME: the config file has no teams[1] to override (it has 1 [[teams]])",
        ),
        (
            "FLYWHEEL_TEAMS_0_TIMEZON",
            "UTC",
            "FLYWHEEL_TEAMS_0_TIMEZON: unknown setting — did you mean FLYWHEEL_TEAMS_0_TIMEZONE?",
        ),
        (
            "FLYWHEEL_STORE_URL",
            "mysql://h",
            "FLYWHEEL_STORE_URL: \"mysql://h\": the \"mysql\" store is not supported; use sqlite://PATH (or sqlite::memory:) or postgres://USER@HOST/DATABASE",
        ),
    ];
    for (name, value, expected) in cases {
        let all = problems_with(TEAM, &env().with(name, value));
        assert_eq!(all, [expected], "{name}={value}");
    }
    // With no [[teams]] in the file there is nothing to override, even the default team.
    let all = problems_with("", &env().with("FLYWHEEL_TEAMS_0_CHANNELS", "slack:C1"));
    assert_eq!(
        all,
        [
            "FLYWHEEL_TEAMS_0_CHANNELS: the config file has no teams[0] to override (it has 0 [[teams]])"
        ]
    );
}

// ---- secrets ----

#[test]
fn secrets_come_from_the_platforms_own_variables() {
    let env = env()
        .with("SLACK_BOT_TOKEN", "xoxb-1")
        .with("SLACK_SIGNING_SECRET", "sign-1")
        .with("SLACK_APP_TOKEN", "")
        .with("DISCORD_BOT_TOKEN", "disc-1")
        .with("DISCORD_PUBLIC_KEY", "key-1");
    let s = load_with("", &env).secrets;
    assert_eq!(
        s.slack_bot_token.as_ref().map(|t| t.expose()),
        Some("xoxb-1")
    );
    assert_eq!(
        s.slack_signing_secret.as_ref().map(|t| t.expose()),
        Some("sign-1")
    );
    assert!(s.slack_app_token.is_none(), "an empty variable is not set");
    assert_eq!(
        s.discord_bot_token.as_ref().map(|t| t.expose()),
        Some("disc-1")
    );
    assert_eq!(
        s.discord_public_key.as_ref().map(|t| t.expose()),
        Some("key-1")
    );
    assert_eq!(
        s.sources.slack_app_token,
        SecretSource::Env("SLACK_APP_TOKEN".into())
    );
}

#[test]
fn api_tokens_come_from_their_variable_or_a_file() {
    let config = load_with(
        TEAM,
        &env().with(
            "FLYWHEEL_API_TOKENS",
            "zendesk:zendesk-token-0123456789, survey:survey-token-0123456789:growth",
        ),
    );
    assert_eq!(config.api.max_body_bytes, 5 * 1024 * 1024);
    assert_eq!(config.api.max_items, 1000);
    assert_eq!(config.api.max_requests, 8);
    let tokens = &config.api.tokens;
    assert_eq!(
        tokens.find("zendesk-token-0123456789").map(|t| t.actor()),
        Some("api:zendesk".to_string())
    );
    let survey = tokens.find("survey-token-0123456789").unwrap();
    assert_eq!(survey.teams, ["growth"]);
    assert!(tokens.find("survey-token-012345678").is_none());
    let shown = format!("{config:?}\n{}", config.render_effective());
    assert!(!shown.contains("token-0123456789"), "{shown}");
    assert!(
        shown.contains("# tokens: set (from env FLYWHEEL_API_TOKENS)"),
        "{shown}"
    );
    assert!(
        shown.contains("# token \"survey\": teams growth"),
        "{shown}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    std::fs::write(
        &file,
        "a:first-token-0123456789\nb:second-token-0123456789\n",
    )
    .unwrap();
    let config = load(&format!(
        "[api]\ntokens_file = {:?}",
        file.display().to_string()
    ));
    assert_eq!(config.api.tokens.iter().count(), 2);
    assert_eq!(config.secrets.sources.api_tokens, SecretSource::File(file));

    assert!(load("").api.tokens.is_empty(), "no tokens: the API is off");
}

#[test]
fn bad_api_tokens_are_reported_without_echoing_them() {
    let cases = [
        (
            "LEAKED-0123456789abcdef",
            "api.tokens: entry 1 is not NAME:TOKEN",
        ),
        (
            "ci:LEAKED",
            "api.tokens: entry 1 (\"ci\"): the token must be at least 16 characters",
        ),
        (
            "ci:LEAKED-0123456789abcdef:nobody",
            "api.tokens: token \"ci\" is limited to team \"nobody\", which is not configured; the teams are: growth",
        ),
        (
            "Ci Bot:LEAKED-0123456789abcdef",
            "api.tokens: entry 1: \"Ci Bot\" is not a token name",
        ),
    ];
    for (value, expected) in cases {
        let err = Config::parse(TEAM, &env().with("FLYWHEEL_API_TOKENS", value)).unwrap_err();
        let shown = format!("{err}\n{err:?}");
        assert!(shown.starts_with(expected), "{value}\n{shown}");
        assert!(!shown.contains("LEAKED"), "{value}\n{shown}");
    }
    assert!(problem("[api]\nmax_items = 0").starts_with("api.max_items: 0 is out of range"));
    assert!(problem("[api]\nmax_requests = 0").starts_with("api.max_requests: 0 is out of range"));
    assert!(
        problem("[api]\nmax_body_bytes = 10").starts_with("api.max_body_bytes: 10 is out of range"),
    );
    assert!(problem("[api]\ntokens = \"x\"").starts_with(
        "api.tokens: secrets are not read from the config file: set FLYWHEEL_API_TOKENS"
    ));
}

#[test]
fn missing_secrets_are_not_an_error() {
    let s = load("").secrets;
    assert!(s.slack_bot_token.is_none() && s.discord_bot_token.is_none());
    assert_eq!(
        s.sources.discord_bot_token,
        SecretSource::Env("DISCORD_BOT_TOKEN".into())
    );
}

#[test]
fn secret_files_are_read_and_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("discord_bot_token");
    std::fs::write(&token, "disc-from-file\n").unwrap();
    let text = format!(
        "[discord]\nbot_token_file = {:?}",
        token.display().to_string()
    );
    let s = load(&text).secrets;
    assert_eq!(
        s.discord_bot_token.as_ref().map(|t| t.expose()),
        Some("disc-from-file")
    );
    assert_eq!(s.sources.discord_bot_token, SecretSource::File(token));
}

#[test]
fn bad_secret_settings_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n  \n").unwrap();
    let missing = dir.path().join("missing");
    let text = format!(
        "[slack]\nbot_token_env = \"A\"\nbot_token_file = {:?}\nsigning_secret_file = {:?}\napp_token_env = \"NOT-A-NAME\"\n[discord]\nbot_token_env = \"FLYWHEEL_DISCORD\"",
        empty.display().to_string(),
        missing.display().to_string()
    );
    let all = problems(&text);
    assert_eq!(all.len(), 5, "{all:#?}");
    assert_eq!(
        all[0],
        "slack.bot_token_file: set either bot_token_env or bot_token_file, not both"
    );
    assert_eq!(
        all[1],
        format!(
            "slack.bot_token_file: {:?} is empty",
            empty.display().to_string()
        )
    );
    assert!(all[2].starts_with(&format!(
        "slack.signing_secret_file: cannot read {:?}: ",
        missing.display().to_string()
    )));
    assert!(
        all[3]
            .starts_with("slack.app_token_env: \"NOT-A-NAME\" is not an environment variable name")
    );
    assert!(
        all[4].starts_with("discord.bot_token_env: \"FLYWHEEL_DISCORD\" starts with FLYWHEEL_")
    );
}

#[test]
fn secrets_in_the_file_are_refused_without_echoing_them() {
    let secret = "xoxb-0000-LEAK-ME-NOT";
    let cases = [
        (
            "[slack]\nbot_token = \"{s}\"",
            "slack.bot_token: secrets are not read from the config file: set SLACK_BOT_TOKEN in the environment, or point to it with bot_token_env = \"VARIABLE\" or bot_token_file = \"/path/to/file\"",
        ),
        (
            "[slack]\nsigning_secret = \"{s}\"",
            "slack.signing_secret: secrets are not read from the config file: set SLACK_SIGNING_SECRET",
        ),
        (
            "[discord]\nbot_token = \"{s}\"",
            "discord.bot_token: secrets are not read from the config file: set DISCORD_BOT_TOKEN",
        ),
        (
            "[discord]\npublic_key = \"{s}\"",
            "discord.public_key: secrets are not read from the config file: set DISCORD_PUBLIC_KEY",
        ),
        (
            "[store]\npassword = \"{s}\"",
            "store.password: unknown key; secrets are never read from the config file",
        ),
        (
            "slack_token = \"{s}\"",
            "slack_token: unknown key; secrets are never read from the config file",
        ),
        ("[slack]\nbot_token = \"{s}", "line 2, column"),
        ("[slack]\nbot_token = {s}", "line 2, column"),
    ];
    for (template, expected) in cases {
        let text = template.replace("{s}", secret);
        let err = Config::parse(&text, &env()).unwrap_err();
        let shown = format!("{err}\n{err:?}");
        assert!(shown.starts_with(expected), "{text}\n{shown}");
        assert!(!shown.contains("LEAK"), "{text}\n{shown}");
    }
    let err = problems_with("", &env().with("FLYWHEEL_SLACK_BOT_TOKEN", secret));
    assert_eq!(
        err,
        [
            "FLYWHEEL_SLACK_BOT_TOKEN: unknown setting — the slack bot token is read from SLACK_BOT_TOKEN, or from the variable named by FLYWHEEL_SLACK_BOT_TOKEN_ENV or the file named by FLYWHEEL_SLACK_BOT_TOKEN_FILE"
        ]
    );
}

#[test]
fn secret_values_never_appear_in_debug_errors_or_rendering() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "FILE-SECRET-VALUE").unwrap();
    let env = env().with("SLACK_BOT_TOKEN", "ENV-SECRET-VALUE").with(
        "FLYWHEEL_DISCORD_PUBLIC_KEY_FILE",
        key.display().to_string(),
    );
    let config = load_with("", &env);
    assert_eq!(
        config
            .secrets
            .discord_public_key
            .as_ref()
            .map(|k| k.expose()),
        Some("FILE-SECRET-VALUE")
    );
    let debug = format!("{config:?}");
    let rendered = config.render_effective();
    for text in [&debug, &rendered] {
        assert!(!text.contains("SECRET-VALUE"), "{text}");
    }
    assert!(debug.contains("Secret(***)"));
    assert!(
        rendered.contains("# bot_token: set (from env SLACK_BOT_TOKEN)"),
        "{rendered}"
    );
    assert!(rendered.contains(&format!("# public_key: set (from file {})", key.display())));
    assert!(rendered.contains("# signing_secret: not set (looked in env SLACK_SIGNING_SECRET)"));

    // Errors elsewhere in the configuration do not bring secrets along.
    let err = Config::parse("[digest]\nsize = 0", &env).unwrap_err();
    assert!(!format!("{err} {err:?}").contains("SECRET-VALUE"));
}

#[test]
fn store_passwords_are_hidden_when_printed() {
    let env = env().with("FLYWHEEL_STORE_URL", "postgres://app:hunter2@db/fw");
    let config = load_with("", &env);
    assert_eq!(config.store.url, "postgres://app:hunter2@db/fw");
    assert_eq!(config.store.url_redacted(), "postgres://app:***@db/fw");
    assert!(!format!("{config:?}").contains("hunter2"));
    let rendered = config.render_effective();
    assert!(!rendered.contains("hunter2"));
    assert!(rendered.contains("postgres://app:***@db/fw"));
}

#[test]
fn store_passwords_are_hidden_in_every_place_a_url_carries_them() {
    for url in [
        "postgres://fw:hunter2@host/db",
        "postgres://fw@host/db?password=hunter2",
        "postgres://fw@host/db?sslmode=require&sslpassword=hunter2",
        "postgresql://host/db?application_name=fw&PGPASSWORD=hunter2",
        "postgres://fw:hun/ter@2@host:5432/db",
    ] {
        let config = load(&format!("[store]\nurl = {url:?}"));
        let rendered = config.render_effective();
        let debug = format!("{config:?}");
        for text in [&rendered, &debug, &config.store.url_redacted()] {
            assert!(
                !text.contains("hunter2") && !text.contains("ter@2"),
                "{url}: {text}"
            );
        }
        assert!(
            rendered.contains("# The password in the URL is hidden."),
            "{rendered}"
        );
        assert!(rendered.contains("***"), "{rendered}");
        // What is printed loads back to a configuration that names the same place.
        let shown = load(&rendered);
        assert!(shown.store.url.contains("host"), "{}", shown.store.url);
    }
}

#[test]
fn store_passwords_never_appear_in_error_messages() {
    for url in [
        "postgres://fw:hunter2@host:99999/db",
        "postgres://fw@host:70000/db?password=hunter2",
        "postgres://fw@host/db?sslpassword=hunter2&port=0",
        "mysql://fw:hunter2@host/db",
        "postgres:fw:hunter2@host/db",
        "fw:hunter2@host",
        "redis://h/0?token=hunter2",
    ] {
        for (at, all) in [
            ("store.url", problems(&format!("[store]\nurl = {url:?}"))),
            (
                "FLYWHEEL_STORE_URL",
                problems_with("", &env().with("FLYWHEEL_STORE_URL", url)),
            ),
        ] {
            assert_eq!(all.len(), 1, "{url}: {all:#?}");
            assert!(all[0].starts_with(&format!("{at}: ")), "{all:#?}");
            assert!(!all[0].contains("hunter2"), "{url}: {}", all[0]);
        }
    }
}

#[test]
fn ports_out_of_range_are_refused_with_their_key_path() {
    assert_eq!(
        problem("[store]\nurl = \"postgres://h:99999/db\""),
        "store.url: port 99999 is out of range: use 1 to 65535"
    );
    assert_eq!(
        problem("[store]\nurl = \"postgresql://u:pw@[::1]:0/db\""),
        "store.url: port 0 is out of range: use 1 to 65535"
    );
    assert_eq!(
        problem("[store]\nurl = \"postgres://h:5432x/db\""),
        "store.url: port \"5432x\" is not a number from 1 to 65535"
    );
    assert_eq!(
        problems_with(
            "",
            &env().with("FLYWHEEL_STORE_URL", "postgres://h/db?port=65536")
        ),
        ["FLYWHEEL_STORE_URL: port 65536 is out of range: use 1 to 65535"]
    );
    assert_eq!(
        problem("[server]\nlisten = \"0.0.0.0:70000\""),
        "server.listen: \"0.0.0.0:70000\" is not an address to listen on (port 70000 is out of range: use 0 to 65535, 0 for any free port): write IP:PORT, e.g. 127.0.0.1:3000 or 0.0.0.0:3000"
    );
    assert!(
        problems_with("", &env().with("FLYWHEEL_SERVER_LISTEN", "[::1]:99999"))[0]
            .starts_with("FLYWHEEL_SERVER_LISTEN: \"[::1]:99999\" is not an address to listen on (port 99999 is out of range")
    );
    // The largest ports are fine.
    assert_eq!(
        load("[server]\nlisten = \"0.0.0.0:65535\"")
            .server
            .listen
            .port(),
        65535
    );
    load("[store]\nurl = \"postgres://h:65535/db\"");
}

#[test]
fn plain_http_counts_as_local_only_for_localhost_and_loopback_addresses() {
    let slack = |api_url: &str| load(&format!("[slack]\napi_url = {api_url:?}"));
    for api_url in [
        "http://127.0.0.1:4000/api",
        "http://localhost/api",
        "http://[::1]:8080/api",
        "https://slack.com/api",
        "https://127.evil.example/api",
    ] {
        let config = slack(api_url);
        assert!(!config.slack.token_in_clear(), "{api_url}");
        assert!(!config.render_effective().contains("Warning"), "{api_url}");
    }
    for api_url in [
        "http://127.evil.example/api",
        "http://127.0.0.1.nip.io/api",
        "http://localhost.evil.test/api",
        "http://slack.internal/api",
    ] {
        let config = slack(api_url);
        assert!(config.slack.token_in_clear(), "{api_url}");
        let rendered = config.render_effective();
        let slack_section = &rendered[rendered.find("[slack]").unwrap()..];
        assert!(
            slack_section
                .starts_with("[slack]\n# Warning: api_url is plain http:// to another machine"),
            "{rendered}"
        );
    }
    let discord = load("[discord]\napi_url = \"http://127.evil.example\"");
    assert!(discord.discord.token_in_clear());
    assert!(!discord.slack.token_in_clear());
}

// ---- rendering ----

#[test]
fn rendering_loads_back_to_the_same_configuration() {
    for (text, env) in [
        (EXAMPLE, env().with("SLACK_BOT_TOKEN", "t")),
        ("", env()),
        (
            "[[teams]]\nname = \"q\"\nchannels = [\"console:a\"]\nfilter = 'say \"hi\" \\ there'",
            env(),
        ),
    ] {
        let first = load_with(text, &env);
        let rendered = first.render_effective();
        let again = load_with(&rendered, &env);
        // Settings must match line for line; comments (the file, the default-team note) may not.
        let settings = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(settings(&again.render_effective()), settings(&rendered));
        assert_eq!(again.teams, first.teams);
        assert_eq!(again.themes, first.themes);
        assert_eq!(again.store, first.store);
        assert_eq!(again.digest, first.digest);
        assert_eq!(again.slack, first.slack);
        assert_eq!(again.discord, first.discord);
        assert_eq!(again.console, first.console);
        assert_eq!(again.secrets.sources, first.secrets.sources);
    }
}

#[test]
fn rendering_shows_the_default_team_and_sources() {
    let rendered = load("").render_effective();
    assert!(
        rendered
            .starts_with("# Effective configuration: defaults (no file), then the environment.\n")
    );
    assert!(rendered.contains("# Data directory: /home/ana/.local/share/flywheel (from HOME)."));
    assert!(rendered.contains("[[teams]]\n# The built-in team, used because the file configures none.\nname = \"everyone\"\nchannels = [\"console:digest\"]\nschedule = \"0 9 * * MON\"\ntimezone = \"UTC\""));
    assert!(rendered.contains("grace = \"1d\""));
    assert!(rendered.contains("# dir: not set"));
}

// ---- lookups ----

#[test]
fn teams_are_found_by_name_channel_and_manager() {
    let text = r#"
[[teams]]
name = "growth"
channels = ["slack:C1", "console:shared"]
managers = ["slack:U1"]

[[teams]]
name = "support"
channels = ["discord:5", "console:shared"]
managers = ["discord:9", "discord:role:5"]
"#;
    let config = load(text);
    assert_eq!(
        config.team("GROWTH").map(|t| t.name.as_str()),
        Some("growth")
    );
    assert!(config.team("sales").is_none());
    let names = |c: &str| -> Vec<String> {
        config
            .teams_for_channel(&channel(c))
            .iter()
            .map(|t| t.name.clone())
            .collect()
    };
    assert_eq!(names("console:shared"), ["growth", "support"]);
    assert_eq!(names("slack:C1"), ["growth"]);
    assert!(names("slack:C2").is_empty());
    assert!(config.is_manager("growth", &user("slack:U1")));
    assert!(config.is_manager("Support", &user("discord:9")));
    assert!(!config.is_manager("support", &user("slack:U1")));
    assert!(!config.is_manager("sales", &user("slack:U1")));
    let role = [user("discord:role:5")];
    assert!(!config.is_manager("support", &user("discord:8")));
    assert!(config.is_manager_holding("support", &user("discord:8"), &role));
    assert!(!config.is_manager_holding("growth", &user("discord:8"), &role));
}

#[test]
fn alert_settings_are_checked_with_their_key_paths() {
    assert_eq!(
        problem(&format!("{TEAM}quiet_hours = \"25:00-07:00\"")),
        "teams[0].quiet_hours: `25:00` is not a time of day: write it as 07:00"
    );
    assert_eq!(
        problem(&format!("{TEAM}quiet_hours = \"22:00\"")),
        "teams[0].quiet_hours: `22:00` is not a range of hours: write it as 22:00-07:00"
    );
    assert!(
        problem(&format!(
            "{TEAM}watches = [\"refund\", \"refund every:weekly\"]"
        ))
        .starts_with("teams[0].watches[1]: `weekly` is not how often"),
    );
    assert!(
        problem(&format!("{TEAM}watches = [\"refund OR\"]"))
            .starts_with("teams[0].watches[0]: column 8: OR needs a word after it"),
    );
    assert_eq!(
        problem("[spikes]\nratio = 1"),
        "spikes.ratio: 1 is out of range: use 2 to 100"
    );
    assert_eq!(
        problem("[spikes]\nbaseline_days = 3"),
        "spikes.baseline_days: 3 is out of range: use 7 to 365"
    );
}
