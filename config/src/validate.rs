//! From [`RawFile`] to [`Config`]: every value parsed and checked, defaults filled in, every
//! problem recorded with its key path before giving up.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono_tz::Tz;
use flywheel_insights::address::{ChannelAddress, UserAddress};
use flywheel_insights::index::ThemeDef;
use flywheel_insights::model::{key, nearest};
use flywheel_insights::query::{self, Query};
use flywheel_insights::schedule::Schedule;
use flywheel_insights::spike::SpikeRule;
use flywheel_insights::watch::QuietHours;

use crate::environment::{self, Environment};
use crate::load::{self, Problems};
use crate::raw::{
    RawApi, RawConsole, RawDigest, RawDiscord, RawServer, RawSlack, RawSpikes, RawStore, RawTeam,
    RawTheme,
};
use crate::schema::{SECTIONS, SecretKey};
use crate::secret::{Secret, SecretSource, SecretSources, Secrets};
use crate::url;
use crate::{
    ApiConfig, ApiTokens, Config, ConfigError, ConsoleConfig, DigestConfig, DiscordConfig, Origin,
    PrivacyConfig, ServerConfig, SlackConfig, SlackTransport, StoreConfig, Team, TeamWatch,
    duration,
};

/// Defaults, named so the documentation, the example file and the code agree.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(24 * 3600);
pub(crate) const DEFAULT_DIGEST_SIZE: usize = 5;
pub(crate) const DIGEST_SIZES: std::ops::RangeInclusive<i64> = 1..=20;
pub(crate) const DEFAULT_MAX_CONNECTIONS: u32 = 10;
pub(crate) const DEFAULT_SCHEDULE: &str = "0 9 * * MON";
pub(crate) const DEFAULT_SLACK_API: &str = "https://slack.com/api";
pub(crate) const DEFAULT_DISCORD_API: &str = "https://discord.com";
pub(crate) const DEFAULT_MAX_BODY: usize = 1024 * 1024;
pub(crate) const DEFAULT_API_MAX_BODY: usize = 5 * 1024 * 1024;
pub(crate) const DEFAULT_API_MAX_ITEMS: usize = 1_000;
pub(crate) const DEFAULT_TEAM: &str = "everyone";
pub(crate) const DEFAULT_TEAM_CHANNEL: &str = "console:digest";

/// Reads, overrides and validates; the one path every entry point takes.
pub(crate) fn build(
    text: &str,
    file: Option<&Path>,
    env: &Environment,
) -> Result<Config, ConfigError> {
    let mut problems = Problems::default();
    let Some(raw) = load::read(text, file, env, &mut problems) else {
        return Err(problems.into_error());
    };
    let (data_dir, data_dir_rule) = environment::data_dir(env);
    let p = &mut problems;
    let store = store(raw.store, &data_dir, p);
    let server = server(raw.server, p);
    let digest = digest(raw.digest, p);
    let privacy = PrivacyConfig {
        emails: raw.privacy.emails.unwrap_or(true),
        phones: raw.privacy.phones.unwrap_or(true),
        cards: raw.privacy.cards.unwrap_or(true),
        ibans: raw.privacy.ibans.unwrap_or(true),
        digit_runs: raw.privacy.digit_runs.unwrap_or(true),
    };
    let spikes = spikes(&raw.spikes, p);
    let default_team = raw.teams.is_empty();
    let teams = if default_team {
        vec![default_team_for(&digest)]
    } else {
        teams(raw.teams, &digest, p)
    };
    let (themes, theme_matches) = themes(raw.themes, p);
    let secrets = secrets(&raw.slack, &raw.discord, &raw.api, env, p);
    let api = api(&raw.api, secrets.api_tokens.as_ref(), &teams, p);
    let slack = slack(raw.slack, p);
    let discord = discord(raw.discord, p);
    let console = console(raw.console, p);
    if !problems.is_empty() {
        return Err(problems.into_error());
    }
    Ok(Config {
        file: file.map(Path::to_path_buf),
        data_dir,
        store,
        server,
        digest,
        privacy,
        spikes,
        teams,
        themes,
        api,
        slack,
        discord,
        console,
        secrets,
        origin: Origin {
            data_dir_rule,
            overrides: problems.overrides,
            theme_matches,
            default_team,
        },
    })
}

/// A whole number within `range`, or the default; out of range is reported at `path`.
fn bounded(
    value: Option<i64>,
    range: std::ops::RangeInclusive<i64>,
    default: i64,
    path: &str,
    p: &mut Problems,
) -> i64 {
    match value {
        None => default,
        Some(v) if range.contains(&v) => v,
        Some(v) => {
            p.push(
                path,
                format!(
                    "{v} is out of range: use {} to {}",
                    range.start(),
                    range.end()
                ),
            );
            default
        }
    }
}

fn store(raw: RawStore, data_dir: &Path, p: &mut Problems) -> StoreConfig {
    let url = match raw.url {
        Some(url) => {
            if let Err(message) = check_store_url(&url) {
                p.push("store.url", message);
            }
            url
        }
        None => format!("sqlite://{}", data_dir.join("flywheel.db").display()),
    };
    let max_connections = bounded(
        raw.max_connections,
        1..=1000,
        DEFAULT_MAX_CONNECTIONS.into(),
        "store.max_connections",
        p,
    ) as u32;
    StoreConfig {
        url,
        max_connections,
    }
}

fn check_store_url(url: &str) -> Result<(), String> {
    let usage = "use sqlite://PATH (or sqlite::memory:) or postgres://USER@HOST/DATABASE";
    if url.trim().is_empty() {
        return Err(format!("it is empty; {usage}"));
    }
    if url == "sqlite::memory:" {
        return Ok(());
    }
    for scheme in ["sqlite://", "postgres://", "postgresql://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            return if rest.is_empty() {
                Err(format!(
                    "{scheme} needs a {}; {usage}",
                    if scheme == "sqlite://" {
                        "path"
                    } else {
                        "host"
                    }
                ))
            } else if scheme == "sqlite://" {
                Ok(())
            } else {
                url::check_ports(url)
            };
        }
    }
    let scheme = url
        .split_once(':')
        .map(|(scheme, _)| scheme)
        .filter(|scheme| {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+')
        });
    // A URL too malformed to find its password in is described, never quoted.
    Err(match (url::quotable(url), scheme) {
        (Some(shown), Some(scheme)) => {
            format!("{shown:?}: the {scheme:?} store is not supported; {usage}")
        }
        (None, Some(scheme)) => {
            format!("the {scheme:?} store is not supported, or \"://\" is missing; {usage}")
        }
        (Some(shown), None) => format!("{shown:?} is not a database URL; {usage}"),
        (None, None) => format!("it is not a database URL; {usage}"),
    })
}

fn listen(raw: Option<String>, p: &mut Problems) -> SocketAddr {
    let default =
        SocketAddr::from_str(DEFAULT_LISTEN).unwrap_or_else(|_| unreachable!("a valid literal"));
    let Some(text) = raw else {
        return default;
    };
    match text.trim().parse() {
        Ok(addr) => addr,
        Err(_) => {
            // The part after the last colon, when it is all digits, is the port that failed.
            let port = text
                .trim()
                .rsplit_once(':')
                .map(|(_, port)| port)
                .filter(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
            let hint = if text.starts_with("localhost") {
                " (use 127.0.0.1 rather than localhost)".to_string()
            } else if !text.contains(':') {
                " (the port is missing)".to_string()
            } else if let Some(port) = port.filter(|port| port.parse::<u16>().is_err()) {
                format!(" (port {port} is out of range: use 0 to 65535, 0 for any free port)")
            } else {
                String::new()
            };
            p.push(
                "server.listen",
                format!("{text:?} is not an address to listen on{hint}: write IP:PORT, e.g. 127.0.0.1:3000 or 0.0.0.0:3000"),
            );
            default
        }
    }
}

fn server(raw: RawServer, p: &mut Problems) -> ServerConfig {
    let max_connections = bounded(
        raw.max_connections,
        8..=100_000,
        2048,
        "server.max_connections",
        p,
    );
    let max_commands = bounded(raw.max_commands, 1..=1000, 16, "server.max_commands", p);
    let queued_commands = bounded(
        raw.queued_commands,
        0..=100_000,
        1024,
        "server.queued_commands",
        p,
    );
    let mut time = |raw: Option<String>, default: Duration, path: &str| match raw {
        None => default,
        Some(text) => match duration::parse(&text) {
            Ok(d) if d.is_zero() => {
                p.push(path, "must be more than zero");
                default
            }
            Ok(d) => d,
            Err(message) => {
                p.push(path, message);
                default
            }
        },
    };
    let idle_timeout = time(
        raw.idle_timeout,
        Duration::from_secs(10),
        "server.idle_timeout",
    );
    let drain = time(raw.drain, Duration::from_secs(20), "server.drain");
    ServerConfig {
        listen: listen(raw.listen, p),
        max_connections: max_connections as usize,
        max_commands: max_commands as usize,
        queued_commands: queued_commands as usize,
        idle_timeout,
        drain,
    }
}

fn digest(raw: RawDigest, p: &mut Problems) -> DigestConfig {
    let grace = match raw.grace {
        None => DEFAULT_GRACE,
        Some(text) => match duration::parse(&text) {
            Ok(d) if d.is_zero() => {
                p.push(
                    "digest.grace",
                    "must be more than zero (a digest that cannot be late is never caught up)",
                );
                DEFAULT_GRACE
            }
            Ok(d) => d,
            Err(message) => {
                p.push("digest.grace", message);
                DEFAULT_GRACE
            }
        },
    };
    let size = bounded(
        raw.size,
        DIGEST_SIZES,
        DEFAULT_DIGEST_SIZE as i64,
        "digest.size",
        p,
    ) as usize;
    DigestConfig { grace, size }
}

fn default_team_for(digest: &DigestConfig) -> Team {
    Team {
        name: DEFAULT_TEAM.to_string(),
        channels: vec![
            ChannelAddress::from_str(DEFAULT_TEAM_CHANNEL)
                .unwrap_or_else(|_| unreachable!("a valid literal")),
        ],
        schedule: Schedule::parse(DEFAULT_SCHEDULE)
            .unwrap_or_else(|_| unreachable!("a valid literal")),
        timezone: Tz::UTC,
        filter: Query::everything(),
        filter_text: String::new(),
        digest_size: digest.size,
        managers: Vec::new(),
        quiet_hours: None,
        watches: Vec::new(),
        spike_alerts: true,
        follow: Vec::new(),
    }
}

const MAX_TEAM_NAME: usize = 64;

fn check_team_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if name.is_empty() {
        return Err("it is empty; team names use a-z, 0-9, '_' and '-'".to_string());
    }
    if name.chars().count() > MAX_TEAM_NAME {
        return Err(format!("team names are at most {MAX_TEAM_NAME} characters"));
    }
    if name.chars().all(allowed) {
        return Ok(());
    }
    let suggestion: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .filter(|&c| allowed(c))
        .collect();
    let hint = if suggestion.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {suggestion:?}?)")
    };
    Err(format!(
        "{name:?} is not a team name: use lowercase a-z, 0-9, '_' and '-'{hint}"
    ))
}

fn teams(raw: Vec<RawTeam>, digest: &DigestConfig, p: &mut Problems) -> Vec<Team> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut teams = Vec::with_capacity(raw.len());
    for (i, raw) in raw.into_iter().enumerate() {
        let at = |key: &str| format!("teams[{i}].{key}");
        let name = match raw.name {
            None if p.has(&at("name")) => String::new(),
            None => {
                p.push(
                    &at("name"),
                    "missing: every team needs a name, e.g. name = \"growth\"",
                );
                String::new()
            }
            Some(name) => {
                if let Err(message) = check_team_name(&name) {
                    p.push(&at("name"), message);
                } else if let Some(first) = seen.get(&name.to_lowercase()) {
                    p.push(&at("name"), format!("{name:?} is already the name of teams[{first}]; team names must be unique"));
                } else {
                    seen.insert(name.to_lowercase(), i);
                }
                name
            }
        };
        let channels = match raw.channels {
            None if p.has(&at("channels")) => Vec::new(),
            None => {
                p.push(&at("channels"), "missing: a team needs at least one channel, e.g. channels = [\"slack:C0123ABCD\"]");
                Vec::new()
            }
            Some(list) if list.is_empty() => {
                p.push(&at("channels"), "empty: a team needs at least one channel, e.g. channels = [\"slack:C0123ABCD\"]");
                Vec::new()
            }
            Some(list) => addresses::<ChannelAddress>(&list, &at("channels"), p),
        };
        let schedule_text = raw.schedule.unwrap_or_else(|| DEFAULT_SCHEDULE.to_string());
        let schedule = Schedule::parse(&schedule_text).unwrap_or_else(|e| {
            p.push(&at("schedule"), e.to_string());
            Schedule::parse(DEFAULT_SCHEDULE).unwrap_or_else(|_| unreachable!("a valid literal"))
        });
        let timezone = match raw.timezone {
            None => Tz::UTC,
            Some(text) => timezone(&text).unwrap_or_else(|message| {
                p.push(&at("timezone"), message);
                Tz::UTC
            }),
        };
        let filter_text = raw.filter.unwrap_or_default();
        let filter = query::parse(&filter_text).unwrap_or_else(|e| {
            p.push(&at("filter"), e.to_string());
            Query::everything()
        });
        let digest_size = bounded(
            raw.digest_size,
            DIGEST_SIZES,
            digest.size as i64,
            &at("digest_size"),
            p,
        ) as usize;
        let managers =
            addresses::<UserAddress>(&raw.managers.unwrap_or_default(), &at("managers"), p);
        let quiet_hours = raw.quiet_hours.and_then(|text| {
            QuietHours::parse(&text)
                .map_err(|message| p.push(&at("quiet_hours"), message))
                .ok()
        });
        let watches = team_watches(&raw.watches.unwrap_or_default(), &at("watches"), p);
        let follow = raw
            .follow
            .unwrap_or_default()
            .iter()
            .map(|theme| key(theme))
            .filter(|key| !key.is_empty())
            .collect();
        teams.push(Team {
            name,
            channels,
            schedule,
            timezone,
            filter,
            filter_text,
            digest_size,
            managers,
            quiet_hours,
            watches,
            spike_alerts: raw.spike_alerts.unwrap_or(true),
            follow,
        });
    }
    teams
}

/// Reads each watch as the text after `/insights watch`, reporting bad ones by index.
fn team_watches(list: &[String], path: &str, p: &mut Problems) -> Vec<TeamWatch> {
    let mut out = Vec::with_capacity(list.len());
    for (j, text) in list.iter().enumerate() {
        match flywheel_insights::command::parse_parts("/insights watch", text) {
            Ok(flywheel_insights::command::Command::Watch { query, every }) => {
                if let Err(e) = query::parse(&query) {
                    p.push(&format!("{path}[{j}]"), e.to_string());
                } else {
                    out.push(TeamWatch { query, every });
                }
            }
            Ok(_) => p.push(&format!("{path}[{j}]"), "not a question to watch"),
            Err(e) => p.push(&format!("{path}[{j}]"), e.to_string()),
        }
    }
    out
}

/// `[spikes]`: a day spikes at `ratio` times its baseline and at least `min_count` insights.
fn spikes(raw: &RawSpikes, p: &mut Problems) -> SpikeRule {
    let defaults = SpikeRule::default();
    SpikeRule {
        ratio: bounded(raw.ratio, 2..=100, defaults.ratio as i64, "spikes.ratio", p) as f64,
        min_count: bounded(
            raw.min_count,
            1..=1_000_000,
            defaults.min_count as i64,
            "spikes.min_count",
            p,
        ) as u64,
        baseline_days: bounded(
            raw.baseline_days,
            7..=365,
            i64::from(defaults.baseline_days),
            "spikes.baseline_days",
            p,
        ) as u32,
        ..defaults
    }
}

/// Parses each address of a list, reporting bad and repeated ones by index.
fn addresses<A>(list: &[String], path: &str, p: &mut Problems) -> Vec<A>
where
    A: FromStr<Err = flywheel_insights::address::AddressError> + PartialEq + std::fmt::Display,
{
    let mut out: Vec<A> = Vec::with_capacity(list.len());
    for (j, text) in list.iter().enumerate() {
        match text.parse::<A>() {
            Ok(address) if out.contains(&address) => {
                p.push(
                    &format!("{path}[{j}]"),
                    format!("{address} is listed twice"),
                );
            }
            Ok(address) => out.push(address),
            Err(e) => p.push(&format!("{path}[{j}]"), e.to_string()),
        }
    }
    out
}

fn timezone(text: &str) -> Result<Tz, String> {
    let name = text.trim();
    Tz::from_str(name).map_err(|_| {
        let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
        match nearest(name, names) {
            Some(s) => format!("{text:?} is not a timezone (did you mean {s:?}?)"),
            None => format!("{text:?} is not a timezone: use an IANA name such as Europe/Berlin, America/New_York or UTC"),
        }
    })
}

fn themes(raw: Vec<RawTheme>, p: &mut Problems) -> (Vec<ThemeDef>, Vec<String>) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut themes = Vec::with_capacity(raw.len());
    let mut texts = Vec::with_capacity(raw.len());
    for (i, raw) in raw.into_iter().enumerate() {
        let at = |key: &str| format!("themes[{i}].{key}");
        let name = raw.name.unwrap_or_default();
        let name_key = key(&name);
        if name_key.is_empty() {
            // A name dropped for its type was already reported.
            if !p.has(&at("name")) {
                p.push(
                    &at("name"),
                    "missing: every theme needs a name with a letter or digit, e.g. name = \"billing\"",
                );
            }
        } else if let Some(first) = seen.get(&name_key) {
            p.push(&at("name"), format!("{name:?} is the same theme as themes[{first}] ({name_key:?}); theme names must differ by more than case and punctuation"));
        } else {
            seen.insert(name_key, i);
        }
        let text = raw.query.unwrap_or_default();
        let query = if text.trim().is_empty() {
            if !p.has(&at("match")) {
                p.push(
                    &at("match"),
                    "missing: a theme needs a query, e.g. match = \"refund OR chargeback\"",
                );
            }
            Query::everything()
        } else {
            match query::parse(&text) {
                Ok(q) if q.clauses.is_empty() => {
                    p.push(
                        &at("match"),
                        format!("{text:?} matches every insight; a theme needs words or filters"),
                    );
                    q
                }
                Ok(q) => q,
                Err(e) => {
                    p.push(&at("match"), e.to_string());
                    Query::everything()
                }
            }
        };
        themes.push(ThemeDef { name, query });
        texts.push(text);
    }
    (themes, texts)
}

/// An `http(s)://` base URL, without its trailing slash.
fn base_url(raw: Option<String>, default: &str, path: &str, p: &mut Problems) -> String {
    let Some(text) = raw else {
        return default.to_string();
    };
    let host = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    match host {
        Some(rest)
            if !rest.is_empty()
                && !rest.starts_with('/')
                && !text.chars().any(char::is_whitespace) =>
        {
            text.trim_end_matches('/').to_string()
        }
        _ => {
            p.push(
                path,
                format!("{text:?} is not an http:// or https:// URL (e.g. {default})"),
            );
            default.to_string()
        }
    }
}

fn slack(raw: RawSlack, p: &mut Problems) -> SlackConfig {
    let api_url = base_url(raw.api_url, DEFAULT_SLACK_API, "slack.api_url", p);
    let transport = match raw.transport.as_deref() {
        None | Some("http") => SlackTransport::Http,
        Some("socket") => SlackTransport::Socket,
        Some(other) => {
            let hint = match nearest(other, ["http", "socket"]) {
                Some(s) => format!(" (did you mean {s:?}?)"),
                None => String::new(),
            };
            p.push("slack.transport", format!("{other:?} is not a transport{hint}: use \"http\" (Slack calls Flywheel's URL) or \"socket\" (Socket Mode)"));
            SlackTransport::Http
        }
    };
    let max_body_bytes = bounded(
        raw.max_body_bytes,
        1024..=100 * 1024 * 1024,
        DEFAULT_MAX_BODY as i64,
        "slack.max_body_bytes",
        p,
    ) as usize;
    SlackConfig {
        api_url,
        transport,
        max_body_bytes,
    }
}

fn discord(raw: RawDiscord, p: &mut Problems) -> DiscordConfig {
    let api_url = base_url(raw.api_url, DEFAULT_DISCORD_API, "discord.api_url", p);
    let application_id = raw.application_id.and_then(|text| {
        let id = text.trim();
        match id.parse::<u64>() {
            Ok(n) if n > 0 && id.chars().all(|c| c.is_ascii_digit()) => Some(n),
            _ => {
                p.push("discord.application_id", format!("{text:?} is not a Discord application id (a number of up to 20 digits, shown in the Developer Portal)"));
                None
            }
        }
    });
    let guilds = raw
        .guild_ids
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, text)| {
            let id = text.trim();
            match id.parse::<u64>() {
                Ok(n) if n > 0 && id.chars().all(|c| c.is_ascii_digit()) => Some(n),
                _ => {
                    p.push(&format!("discord.guild_ids[{i}]"), format!("{text:?} is not a Discord server id (a number: enable Developer Mode, then right-click the server → Copy Server ID)"));
                    None
                }
            }
        })
        .fold(Vec::new(), |mut ids, id| {
            if !ids.contains(&id) {
                ids.push(id);
            }
            ids
        });
    DiscordConfig {
        api_url,
        application_id,
        guilds,
    }
}

fn console(raw: RawConsole, p: &mut Problems) -> ConsoleConfig {
    let dir = raw.dir.and_then(|dir| {
        if dir.trim().is_empty() {
            p.push(
                "console.dir",
                "it is empty; leave it out to print console channels to standard output",
            );
            None
        } else {
            Some(PathBuf::from(dir))
        }
    });
    ConsoleConfig { dir }
}

/// `[api]`: its limits, and its tokens read from the secret, each limited only to teams that
/// exist.
fn api(raw: &RawApi, tokens: Option<&Secret>, teams: &[Team], p: &mut Problems) -> ApiConfig {
    let max_body_bytes = bounded(
        raw.max_body_bytes,
        1024..=100 * 1024 * 1024,
        DEFAULT_API_MAX_BODY as i64,
        "api.max_body_bytes",
        p,
    );
    let max_items = bounded(
        raw.max_items,
        1..=100_000,
        DEFAULT_API_MAX_ITEMS as i64,
        "api.max_items",
        p,
    );
    let max_requests = bounded(raw.max_requests, 1..=1000, 8, "api.max_requests", p);
    let tokens = match tokens.map(|t| ApiTokens::parse(t.expose())) {
        None => ApiTokens::default(),
        Some(Ok(tokens)) => tokens,
        Some(Err(why)) => {
            p.push("api.tokens", why);
            ApiTokens::default()
        }
    };
    for token in tokens.iter() {
        for team in &token.teams {
            if !teams.iter().any(|t| t.name.eq_ignore_ascii_case(team)) {
                let known: Vec<&str> = teams.iter().map(|t| t.name.as_str()).collect();
                p.push(
                    "api.tokens",
                    format!(
                        "token {:?} is limited to team {team:?}, which is not configured; the teams are: {}",
                        token.name,
                        known.join(", ")
                    ),
                );
            }
        }
    }
    ApiConfig {
        max_body_bytes: max_body_bytes as usize,
        max_items: max_items as usize,
        max_requests: max_requests as usize,
        tokens,
    }
}

fn secrets(
    slack: &RawSlack,
    discord: &RawDiscord,
    api: &RawApi,
    env: &Environment,
    p: &mut Problems,
) -> Secrets {
    let spec = |section: &str, name: &str| -> &'static SecretKey {
        SECTIONS
            .iter()
            .find(|s| s.name == section)
            .and_then(|s| s.secrets.iter().find(|k| k.name == name))
            .unwrap_or_else(|| unreachable!("{section}.{name} is in the schema"))
    };
    let mut read = |section: &str, name: &str, var: &Option<String>, file: &Option<String>| {
        secret(
            section,
            spec(section, name),
            var.as_deref(),
            file.as_deref(),
            env,
            p,
        )
    };
    let (slack_bot_token, s1) = read(
        "slack",
        "bot_token",
        &slack.bot_token_env,
        &slack.bot_token_file,
    );
    let (slack_signing_secret, s2) = read(
        "slack",
        "signing_secret",
        &slack.signing_secret_env,
        &slack.signing_secret_file,
    );
    let (slack_app_token, s3) = read(
        "slack",
        "app_token",
        &slack.app_token_env,
        &slack.app_token_file,
    );
    let (discord_bot_token, s4) = read(
        "discord",
        "bot_token",
        &discord.bot_token_env,
        &discord.bot_token_file,
    );
    let (discord_public_key, s5) = read(
        "discord",
        "public_key",
        &discord.public_key_env,
        &discord.public_key_file,
    );
    let (api_tokens, s6) = read("api", "tokens", &api.tokens_env, &api.tokens_file);
    Secrets {
        slack_bot_token,
        slack_signing_secret,
        slack_app_token,
        discord_bot_token,
        discord_public_key,
        api_tokens,
        sources: SecretSources {
            slack_bot_token: s1,
            slack_signing_secret: s2,
            slack_app_token: s3,
            discord_bot_token: s4,
            discord_public_key: s5,
            api_tokens: s6,
        },
    }
}

/// One secret, from the file named by `<name>_file`, the variable named by `<name>_env`, or the
/// platform's usual variable. Unset is fine; a named file that cannot be read is not.
fn secret(
    section: &str,
    spec: &SecretKey,
    var: Option<&str>,
    file: Option<&str>,
    env: &Environment,
    p: &mut Problems,
) -> (Option<Secret>, SecretSource) {
    let name = spec.name;
    let env_path = format!("{section}.{name}_env");
    let file_path = format!("{section}.{name}_file");
    if var.is_some() && file.is_some() {
        p.push(
            &file_path,
            format!("set either {name}_env or {name}_file, not both"),
        );
    }
    if let Some(path) = file {
        let source = SecretSource::File(PathBuf::from(path));
        if path.trim().is_empty() {
            p.push(
                &file_path,
                "it is empty; name the file that holds the secret",
            );
            return (None, source);
        }
        // The I/O error names the path and the reason, never the contents.
        return match std::fs::read_to_string(path) {
            Ok(contents) if contents.trim().is_empty() => {
                p.push(&file_path, format!("{path:?} is empty"));
                (None, source)
            }
            Ok(contents) => (Some(Secret::new(contents.trim())), source),
            Err(e) => {
                p.push(&file_path, format!("cannot read {path:?}: {e}"));
                (None, source)
            }
        };
    }
    let var = match var {
        Some(var) => {
            let valid = var
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                p.push(
                    &env_path,
                    format!(
                        "{var:?} is not an environment variable name (letters, digits and '_')"
                    ),
                );
            } else if var.starts_with(crate::schema::ENV_PREFIX) && var != spec.default_env {
                p.push(&env_path, format!("{var:?} starts with FLYWHEEL_, which is kept for settings; pick another name"));
            }
            var
        }
        None => spec.default_env,
    };
    let value = env.non_empty(var).map(Secret::new);
    (value, SecretSource::Env(var.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_names_suggest_a_valid_spelling() {
        assert!(check_team_name("growth-2_b").is_ok());
        assert_eq!(
            check_team_name("Growth Team").unwrap_err(),
            "\"Growth Team\" is not a team name: use lowercase a-z, 0-9, '_' and '-' (did you mean \"growth-team\"?)"
        );
        assert!(check_team_name("").unwrap_err().contains("empty"));
        assert!(
            check_team_name(&"a".repeat(65))
                .unwrap_err()
                .contains("at most 64")
        );
    }

    #[test]
    fn timezones_suggest_the_nearest_name() {
        assert_eq!(timezone("Europe/Berlin"), Ok(chrono_tz::Europe::Berlin));
        assert_eq!(
            timezone("Europe/Berln").unwrap_err(),
            "\"Europe/Berln\" is not a timezone (did you mean \"Europe/Berlin\"?)"
        );
        assert!(
            timezone("europe/berlin")
                .unwrap_err()
                .contains("did you mean \"Europe/Berlin\"")
        );
        assert!(
            timezone("Mars/Olympus_Mons_Base")
                .unwrap_err()
                .contains("use an IANA name")
        );
    }
}
