//! The effective configuration as TOML, for `flywheel config` and support requests: every value
//! after defaults and overrides, in the example file's order, loadable again. Secrets appear
//! only as whether they are set and where from.

use std::fmt::Write as _;

use crate::secret::{SecretSource, status};
use crate::{Config, duration, schema};

/// Said above an `api_url` that sends a token over plain HTTP to another machine.
const IN_CLEAR: &str = "Warning: api_url is plain http:// to another machine; the token crosses the network unencrypted.";

/// A TOML string literal.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A TOML array of strings.
fn list<T: ToString>(items: &[T]) -> String {
    let texts: Vec<String> = items.iter().map(|i| quoted(&i.to_string())).collect();
    format!("[{}]", texts.join(", "))
}

struct Writer<'c> {
    out: String,
    config: &'c Config,
}

impl Writer<'_> {
    fn section(&mut self, header: &str) {
        let _ = write!(self.out, "\n{header}\n");
    }

    /// `key = value`, marked with the variable that set it, if one did.
    fn key(&mut self, path: &str, key: &str, value: String) {
        let _ = write!(self.out, "{key} = {value}");
        if let Some(var) = self.config.origin.overrides.get(path) {
            let _ = write!(self.out, "  # from {var}");
        }
        self.out.push('\n');
    }

    fn comment(&mut self, text: &str) {
        let _ = writeln!(self.out, "# {text}");
    }
}

pub(crate) fn render(config: &Config) -> String {
    let mut w = Writer {
        out: String::new(),
        config,
    };
    let origin = &config.origin;
    match &config.file {
        Some(path) => w.comment(&format!(
            "Effective configuration: {}, then the environment.",
            path.display()
        )),
        None => w.comment("Effective configuration: defaults (no file), then the environment."),
    }
    w.comment(&format!(
        "Data directory: {} (from {}).",
        config.data_dir.display(),
        origin.data_dir_rule
    ));

    w.section("[store]");
    let redacted = config.store.url_redacted();
    if redacted != config.store.url {
        w.comment("The password in the URL is hidden.");
    }
    w.key("store.url", "url", quoted(&redacted));
    w.key(
        "store.max_connections",
        "max_connections",
        config.store.max_connections.to_string(),
    );

    w.section("[server]");
    w.key(
        "server.listen",
        "listen",
        quoted(&config.server.listen.to_string()),
    );
    let server = &config.server;
    w.key(
        "server.max_connections",
        "max_connections",
        server.max_connections.to_string(),
    );
    w.key(
        "server.max_commands",
        "max_commands",
        server.max_commands.to_string(),
    );
    w.key(
        "server.queued_commands",
        "queued_commands",
        server.queued_commands.to_string(),
    );
    w.key(
        "server.idle_timeout",
        "idle_timeout",
        quoted(&duration::format(server.idle_timeout)),
    );
    w.key(
        "server.drain",
        "drain",
        quoted(&duration::format(server.drain)),
    );

    w.section("[digest]");
    w.key(
        "digest.grace",
        "grace",
        quoted(&duration::format(config.digest.grace)),
    );
    w.key("digest.size", "size", config.digest.size.to_string());

    w.section("[privacy]");
    let privacy = &config.privacy;
    for (key, on) in [
        ("emails", privacy.emails),
        ("phones", privacy.phones),
        ("cards", privacy.cards),
        ("ibans", privacy.ibans),
        ("digit_runs", privacy.digit_runs),
    ] {
        w.key(&format!("privacy.{key}"), key, on.to_string());
    }

    w.section("[spikes]");
    w.key("spikes.ratio", "ratio", format!("{}", config.spikes.ratio));
    w.key(
        "spikes.min_count",
        "min_count",
        config.spikes.min_count.to_string(),
    );
    w.key(
        "spikes.baseline_days",
        "baseline_days",
        config.spikes.baseline_days.to_string(),
    );

    for (i, team) in config.teams.iter().enumerate() {
        w.section("[[teams]]");
        if origin.default_team {
            w.comment("The built-in team, used because the file configures none.");
        }
        let at = |key: &str| format!("teams[{i}].{key}");
        w.key(&at("name"), "name", quoted(&team.name));
        w.key(&at("channels"), "channels", list(&team.channels));
        w.key(&at("schedule"), "schedule", quoted(team.schedule.as_str()));
        w.key(&at("timezone"), "timezone", quoted(team.timezone.name()));
        w.key(&at("filter"), "filter", quoted(&team.filter_text));
        w.key(
            &at("digest_size"),
            "digest_size",
            team.digest_size.to_string(),
        );
        w.key(&at("managers"), "managers", list(&team.managers));
        if let Some(quiet) = &team.quiet_hours {
            w.key(
                &at("quiet_hours"),
                "quiet_hours",
                quoted(&quiet.to_string()),
            );
        }
        let watches: Vec<String> = team
            .watches
            .iter()
            .map(|w| match w.every {
                flywheel_insights::watch::Cadence::Now => w.query.clone(),
                every => format!("{} every:{every}", w.query),
            })
            .collect();
        w.key(&at("watches"), "watches", list(&watches));
        w.key(
            &at("spike_alerts"),
            "spike_alerts",
            team.spike_alerts.to_string(),
        );
        w.key(&at("follow"), "follow", list(&team.follow));
    }

    for (i, theme) in config.themes.iter().enumerate() {
        w.section("[[themes]]");
        let text = origin.theme_matches.get(i).map_or("", String::as_str);
        w.key(&format!("themes[{i}].name"), "name", quoted(&theme.name));
        w.key(&format!("themes[{i}].match"), "match", quoted(text));
    }

    w.section("[api]");
    w.key(
        "api.max_body_bytes",
        "max_body_bytes",
        config.api.max_body_bytes.to_string(),
    );
    w.key(
        "api.max_items",
        "max_items",
        config.api.max_items.to_string(),
    );
    w.key(
        "api.max_requests",
        "max_requests",
        config.api.max_requests.to_string(),
    );
    secrets(&mut w, "api");
    for token in config.api.tokens.iter() {
        if token.teams.is_empty() {
            w.comment(&format!("token {:?}: every team", token.name));
        } else {
            w.comment(&format!(
                "token {:?}: teams {}",
                token.name,
                token.teams.join(", ")
            ));
        }
    }

    w.section("[slack]");
    if config.slack.token_in_clear() {
        w.comment(IN_CLEAR);
    }
    w.key("slack.api_url", "api_url", quoted(&config.slack.api_url));
    w.key(
        "slack.transport",
        "transport",
        quoted(config.slack.transport.name()),
    );
    w.key(
        "slack.max_body_bytes",
        "max_body_bytes",
        config.slack.max_body_bytes.to_string(),
    );
    secrets(&mut w, "slack");

    w.section("[discord]");
    if config.discord.token_in_clear() {
        w.comment(IN_CLEAR);
    }
    w.key(
        "discord.api_url",
        "api_url",
        quoted(&config.discord.api_url),
    );
    match config.discord.application_id {
        Some(id) => w.key(
            "discord.application_id",
            "application_id",
            quoted(&id.to_string()),
        ),
        None => w.comment("application_id: not set (asked of Discord at startup)"),
    }
    if config.discord.guilds.is_empty() {
        w.comment("guild_ids: not set (commands are registered globally)");
    } else {
        let ids: Vec<String> = config
            .discord
            .guilds
            .iter()
            .map(|id| quoted(&id.to_string()))
            .collect();
        w.key(
            "discord.guild_ids",
            "guild_ids",
            format!("[{}]", ids.join(", ")),
        );
    }
    secrets(&mut w, "discord");

    w.section("[console]");
    match &config.console.dir {
        Some(dir) => w.key("console.dir", "dir", quoted(&dir.display().to_string())),
        None => w.comment("dir: not set (console channels print to standard output)"),
    }
    w.out
}

/// A section's secrets: the `_env`/`_file` key when it differs from the default, and a comment
/// saying whether the secret is set.
fn secrets(w: &mut Writer<'_>, section: &str) {
    let Some(spec) = schema::section(section) else {
        return;
    };
    let entries = w.config.secrets.entries();
    for secret in spec.secrets {
        let Some((_, _, value, source)) = entries
            .iter()
            .find(|(s, name, _, _)| *s == section && *name == secret.name)
        else {
            continue;
        };
        match source {
            SecretSource::Env(var) if var == secret.default_env => {}
            SecretSource::Env(var) => w.key(
                &format!("{section}.{}_env", secret.name),
                &format!("{}_env", secret.name),
                quoted(var),
            ),
            SecretSource::File(path) => w.key(
                &format!("{section}.{}_file", secret.name),
                &format!("{}_file", secret.name),
                quoted(&path.display().to_string()),
            ),
        }
        w.comment(&format!("{}: {}", secret.name, status(*value, source)));
    }
}
