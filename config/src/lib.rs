//! Flywheel's settings: one TOML file (`flywheel.toml`), then `FLYWHEEL_*` environment
//! overrides, checked all at once into a typed [`Config`] whose values are already parsed
//! (schedules, timezones, queries, channel addresses, durations). Start with [`Config::load`];
//! `flywheel.example.toml` next to this crate documents every key. The file's shape lives in
//! `schema` (keys, types, variable names) and `raw` (serde types); `load` checks syntax, keys
//! and types and applies the environment; `validate` interprets values; `render` prints the
//! effective configuration. Secrets never come from the file: see [`Secret`] and [`Secrets`].
//! Nothing here opens a database or a socket; the `flywheel` binary does that with what it gets.

mod api;
mod duration;
mod environment;
mod error;
mod load;
mod raw;
mod render;
mod schema;
mod secret;
mod url;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use flywheel_insights::address::{ChannelAddress, UserAddress};
use flywheel_insights::index::ThemeDef;
use flywheel_insights::query::Query;
use flywheel_insights::schedule::Schedule;
use flywheel_insights::spike::SpikeRule;
use flywheel_insights::watch::{Cadence, QuietHours};

pub use api::{ApiToken, ApiTokens, MIN_TOKEN_CHARS};
pub use environment::Environment;
pub use error::{ConfigError, Problem};
pub use secret::{Secret, SecretSource, SecretSources, Secrets};

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from, if any.
    pub file: Option<PathBuf>,
    /// Where local state lives (the default SQLite file among it).
    pub data_dir: PathBuf,
    /// `[store]`
    pub store: StoreConfig,
    /// `[server]`
    pub server: ServerConfig,
    /// `[digest]`
    pub digest: DigestConfig,
    /// `[privacy]`
    pub privacy: PrivacyConfig,
    /// `[spikes]`
    pub spikes: SpikeRule,
    /// `[[teams]]`, in file order; the single default team `everyone` when the file has none.
    pub teams: Vec<Team>,
    /// `[[themes]]`, in file order.
    pub themes: Vec<ThemeDef>,
    /// `[api]`
    pub api: ApiConfig,
    /// `[slack]`
    pub slack: SlackConfig,
    /// `[discord]`
    pub discord: DiscordConfig,
    /// `[console]`
    pub console: ConsoleConfig,
    /// Tokens and keys, read from the environment or files.
    pub secrets: Secrets,
    origin: Origin,
}

/// Where values came from, for [`Config::render_effective`].
#[derive(Debug, Clone, Default)]
struct Origin {
    /// Which rule chose the data directory.
    data_dir_rule: &'static str,
    /// Key path → the variable that set it.
    overrides: BTreeMap<String, String>,
    /// Each theme's `match` as written (a [`Query`] does not print back).
    theme_matches: Vec<String>,
    /// The teams are the built-in default.
    default_team: bool,
}

/// `[store]`: where insights are kept.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// `sqlite://PATH`, `sqlite::memory:`, `postgres://…` or `postgresql://…`. Default: the
    /// SQLite file `flywheel.db` in the data directory.
    pub url: String,
    /// The most connections the pool opens. Default 10.
    pub max_connections: u32,
}

impl StoreConfig {
    /// Which kind of database the URL names.
    pub fn backend(&self) -> StoreBackend {
        if self.url.starts_with("sqlite:") {
            StoreBackend::Sqlite
        } else {
            StoreBackend::Postgres
        }
    }

    /// The URL with any password replaced by `***`, for logs and messages.
    pub fn url_redacted(&self) -> String {
        url::redact(&self.url)
    }
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &self.url_redacted())
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// The database behind a store URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreBackend {
    /// `sqlite:`
    Sqlite,
    /// `postgres:` or `postgresql:`
    Postgres,
}

/// `[server]`: the HTTP endpoint for Slack and Discord, the HTTP API, health, readiness and
/// metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The address to bind. Default `127.0.0.1:3000`.
    pub listen: SocketAddr,
    /// Open connections at most; beyond it the longest-idle connection is closed to make room,
    /// or, when none is idle, the new one is refused with 503. Default 2048 (and never more than
    /// the process's open-file limit allows).
    pub max_connections: usize,
    /// Chat commands handled at once. Default 16.
    pub max_commands: usize,
    /// Chat commands waiting for their turn; beyond it a command is answered "busy, try again".
    /// Default 1024.
    pub queued_commands: usize,
    /// How long a connection may sit without sending a whole request header (idle keep-alive
    /// included), and how long a request body may take to arrive. Default 10 seconds.
    pub idle_timeout: Duration,
    /// How long a stopping service waits for accepted work to finish before it exits anyway.
    /// Default 20 seconds.
    pub drain: Duration,
}

/// `[digest]`: defaults for every team's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestConfig {
    /// How late a digest may still be posted after its time (after an outage). Default 24 hours.
    pub grace: Duration,
    /// How many insights a digest shows, 1–20. Default 5.
    pub size: usize,
}

/// `[privacy]`: what is redacted from customer text before it is stored. All default to true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivacyConfig {
    /// Email addresses.
    pub emails: bool,
    /// Phone numbers.
    pub phones: bool,
    /// Payment card numbers.
    pub cards: bool,
    /// International bank account numbers (IBANs).
    pub ibans: bool,
    /// Other long runs of digits (account numbers, ids).
    pub digit_runs: bool,
}

/// A team: who gets which digest, where and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    /// Unique, `[a-z0-9_-]`.
    pub name: String,
    /// Where its digest is posted; never empty.
    pub channels: Vec<ChannelAddress>,
    /// When its digest is posted, read in `timezone`. Default `0 9 * * MON`.
    pub schedule: Schedule,
    /// The team's IANA timezone. Default UTC.
    pub timezone: Tz,
    /// Which insights its digest covers. Default everything.
    pub filter: Query,
    /// `filter` as written.
    pub filter_text: String,
    /// How many insights its digest shows (`digest_size`, else `[digest] size`).
    pub digest_size: usize,
    /// Who may log and review decisions for the team.
    pub managers: Vec<UserAddress>,
    /// When alerts wait for the morning, in `timezone`. Default none.
    pub quiet_hours: Option<QuietHours>,
    /// Questions the team's channels watch (`watches`, each written as after
    /// `/insights watch`).
    pub watches: Vec<TeamWatch>,
    /// Whether the team hears about spikes in the themes it follows. Default true.
    pub spike_alerts: bool,
    /// The theme keys whose spikes the team hears about (`follow`); empty for the themes its
    /// `filter` names, or its 50 largest of the last five weeks when it names none.
    pub follow: Vec<String>,
}

/// A question a team's channels watch, declared in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamWatch {
    /// The question, as written.
    pub query: String,
    /// How often it reports.
    pub every: Cadence,
}

impl Team {
    /// The theme keys whose spikes the team hears about: `follow`, else the themes its filter
    /// names; empty means the largest recent ones, which only the store knows.
    pub fn followed_themes(&self) -> Vec<String> {
        if !self.follow.is_empty() {
            return self.follow.clone();
        }
        let mut named: Vec<String> = self
            .filter
            .atoms()
            .filter(|a| !a.negated)
            .filter_map(|a| match &a.test {
                flywheel_insights::query::Test::Filter(
                    flywheel_insights::query::Filter::Theme(key),
                ) => Some(key.clone()),
                _ => None,
            })
            .collect();
        named.sort();
        named.dedup();
        named
    }
}

/// `[api]`: the HTTP ingestion API, `/api/v1/insights` on the service's listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// The largest request body accepted, in bytes. Default 5 MiB.
    pub max_body_bytes: usize,
    /// The most insights one request may carry. Default 1,000.
    pub max_items: usize,
    /// Requests handled at once; one more is answered 503 with `Retry-After`, so bodies held in
    /// memory stay bounded. Default 8.
    pub max_requests: usize,
    /// The bearer tokens, from the secret `tokens`; none means the API is disabled.
    pub tokens: ApiTokens,
}

/// How Slack reaches Flywheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlackTransport {
    /// Slack posts events and commands to Flywheel's HTTP endpoints (needs a public URL).
    Http,
    /// Flywheel opens a Socket Mode connection (needs the app-level token).
    Socket,
}

impl SlackTransport {
    /// The name used in the file.
    pub fn name(self) -> &'static str {
        match self {
            SlackTransport::Http => "http",
            SlackTransport::Socket => "socket",
        }
    }
}

/// `[slack]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackConfig {
    /// Slack's Web API base, without a trailing slash. Default `https://slack.com/api`.
    pub api_url: String,
    /// HTTP endpoints or Socket Mode. Default HTTP.
    pub transport: SlackTransport,
    /// The largest request body accepted from Slack. Default 1 MiB.
    pub max_body_bytes: usize,
}

impl SlackConfig {
    /// Whether the bot token would cross a network unencrypted: `api_url` is plain `http://` to
    /// a host other than this machine (`localhost`, `127.0.0.0/8`, `[::1]`). A name such as
    /// `127.evil.example` is another machine.
    pub fn token_in_clear(&self) -> bool {
        url::in_clear(&self.api_url)
    }
}

/// `[discord]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordConfig {
    /// Discord's base URL, without a trailing slash. Default `https://discord.com`.
    pub api_url: String,
    /// The application whose commands are registered; when absent it is asked of Discord.
    pub application_id: Option<u64>,
    /// The servers (guilds) whose commands are registered, each at once; when empty the
    /// commands are registered globally, which Discord takes up to an hour to show everywhere.
    pub guilds: Vec<u64>,
}

impl DiscordConfig {
    /// Whether the bot token would cross a network unencrypted, as for
    /// [`SlackConfig::token_in_clear`].
    pub fn token_in_clear(&self) -> bool {
        url::in_clear(&self.api_url)
    }
}

/// `[console]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// When set, console channel `NAME` appends to `<dir>/<NAME>.log` instead of standard output.
    pub dir: Option<PathBuf>,
}

impl Config {
    /// Reads the file at `path` (or, when `None`, the one named by `FLYWHEEL_CONFIG` in `env`;
    /// with neither, no file: defaults), applies `env`'s overrides and validates everything.
    pub fn load(path: Option<&Path>, env: &Environment) -> Result<Config, ConfigError> {
        let path = path
            .map(Path::to_path_buf)
            .or_else(|| env.non_empty("FLYWHEEL_CONFIG").map(PathBuf::from));
        let Some(path) = path else {
            return Config::parse("", env);
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::one(
                path.display().to_string(),
                format!("cannot read the config file: {e}"),
            )
        })?;
        validate::build(&text, Some(&path), env)
    }

    /// Validates configuration text that was already read (no file named in messages).
    pub fn parse(text: &str, env: &Environment) -> Result<Config, ConfigError> {
        validate::build(text, None, env)
    }

    /// The team called `name`, ignoring case.
    pub fn team(&self, name: &str) -> Option<&Team> {
        self.teams
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
    }

    /// Every team that posts to `channel`, in file order.
    pub fn teams_for_channel(&self, channel: &ChannelAddress) -> Vec<&Team> {
        self.teams
            .iter()
            .filter(|t| t.channels.contains(channel))
            .collect()
    }

    /// Whether `user` manages the team called `team` (false for an unknown team).
    pub fn is_manager(&self, team: &str, user: &UserAddress) -> bool {
        self.is_manager_holding(team, user, &[])
    }

    /// Whether `user`, or a role among `roles` that they hold (`discord:role:ID`), manages the
    /// team called `team`.
    pub fn is_manager_holding(
        &self,
        team: &str,
        user: &UserAddress,
        roles: &[UserAddress],
    ) -> bool {
        self.team(team).is_some_and(|t| {
            t.managers
                .iter()
                .any(|manager| manager == user || roles.contains(manager))
        })
    }

    /// Whether the teams are the built-in default (the file configures none).
    pub fn uses_default_team(&self) -> bool {
        self.origin.default_team
    }

    /// The effective configuration as TOML that loads back to the same configuration, with
    /// values from the environment marked, and secrets shown only as `set (from env NAME)`,
    /// `set (from file PATH)` or `not set`.
    pub fn render_effective(&self) -> String {
        render::render(self)
    }
}

#[cfg(test)]
mod tests;
