//! The configuration file as written: every key optional, nothing interpreted yet. Loading
//! checks keys and types against [`crate::schema`] first (so every mistake is reported, with its
//! path), then deserializes what is left into these types, then [`crate::validate`] turns them
//! into a [`crate::Config`].

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    #[serde(default)]
    pub(crate) store: RawStore,
    #[serde(default)]
    pub(crate) server: RawServer,
    #[serde(default)]
    pub(crate) digest: RawDigest,
    #[serde(default)]
    pub(crate) privacy: RawPrivacy,
    #[serde(default)]
    pub(crate) spikes: RawSpikes,
    #[serde(default)]
    pub(crate) teams: Vec<RawTeam>,
    #[serde(default)]
    pub(crate) themes: Vec<RawTheme>,
    #[serde(default)]
    pub(crate) api: RawApi,
    #[serde(default)]
    pub(crate) slack: RawSlack,
    #[serde(default)]
    pub(crate) discord: RawDiscord,
    #[serde(default)]
    pub(crate) console: RawConsole,
}

/// `[store]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStore {
    pub(crate) url: Option<String>,
    pub(crate) max_connections: Option<i64>,
}

/// `[server]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    pub(crate) listen: Option<String>,
    pub(crate) max_connections: Option<i64>,
    pub(crate) max_commands: Option<i64>,
    pub(crate) queued_commands: Option<i64>,
    pub(crate) idle_timeout: Option<String>,
    pub(crate) drain: Option<String>,
}

/// `[digest]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDigest {
    pub(crate) grace: Option<String>,
    pub(crate) size: Option<i64>,
}

/// `[privacy]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrivacy {
    pub(crate) emails: Option<bool>,
    pub(crate) phones: Option<bool>,
    pub(crate) cards: Option<bool>,
    pub(crate) ibans: Option<bool>,
    pub(crate) digit_runs: Option<bool>,
}

/// `[spikes]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSpikes {
    pub(crate) ratio: Option<i64>,
    pub(crate) min_count: Option<i64>,
    pub(crate) baseline_days: Option<i64>,
}

/// One `[[teams]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTeam {
    pub(crate) name: Option<String>,
    pub(crate) channels: Option<Vec<String>>,
    pub(crate) schedule: Option<String>,
    pub(crate) timezone: Option<String>,
    pub(crate) filter: Option<String>,
    pub(crate) digest_size: Option<i64>,
    pub(crate) managers: Option<Vec<String>>,
    pub(crate) quiet_hours: Option<String>,
    pub(crate) watches: Option<Vec<String>>,
    pub(crate) spike_alerts: Option<bool>,
    pub(crate) follow: Option<Vec<String>>,
}

/// One `[[themes]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTheme {
    pub(crate) name: Option<String>,
    #[serde(rename = "match")]
    pub(crate) query: Option<String>,
}

/// `[api]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApi {
    pub(crate) max_body_bytes: Option<i64>,
    pub(crate) max_items: Option<i64>,
    pub(crate) max_requests: Option<i64>,
    pub(crate) tokens_env: Option<String>,
    pub(crate) tokens_file: Option<String>,
}

/// `[slack]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlack {
    pub(crate) api_url: Option<String>,
    pub(crate) transport: Option<String>,
    pub(crate) max_body_bytes: Option<i64>,
    pub(crate) bot_token_env: Option<String>,
    pub(crate) bot_token_file: Option<String>,
    pub(crate) signing_secret_env: Option<String>,
    pub(crate) signing_secret_file: Option<String>,
    pub(crate) app_token_env: Option<String>,
    pub(crate) app_token_file: Option<String>,
}

/// `[discord]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDiscord {
    pub(crate) api_url: Option<String>,
    pub(crate) application_id: Option<String>,
    pub(crate) guild_ids: Option<Vec<String>>,
    pub(crate) bot_token_env: Option<String>,
    pub(crate) bot_token_file: Option<String>,
    pub(crate) public_key_env: Option<String>,
    pub(crate) public_key_file: Option<String>,
}

/// `[console]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConsole {
    pub(crate) dir: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Kind, SECTIONS};

    /// A value of the right type for each kind.
    fn sample(kind: Kind) -> toml::Value {
        match kind {
            Kind::Text | Kind::Id => toml::Value::String("x".into()),
            Kind::Integer => toml::Value::Integer(1),
            Kind::Bool => toml::Value::Boolean(true),
            Kind::List => toml::Value::Array(vec![toml::Value::String("x".into())]),
        }
    }

    #[test]
    fn every_schema_key_deserializes_and_nothing_else_does() {
        let mut file = toml::Table::new();
        for section in SECTIONS {
            let table: toml::Table = section
                .keys
                .iter()
                .map(|k| (k.name.to_string(), sample(k.kind)))
                .collect();
            let value = if section.repeated {
                toml::Value::Array(vec![toml::Value::Table(table)])
            } else {
                toml::Value::Table(table)
            };
            file.insert(section.name.to_string(), value);
        }
        let raw: RawFile = toml::Value::Table(file.clone()).try_into().unwrap();
        assert_eq!(raw.teams.len(), 1);
        assert_eq!(raw.themes[0].query.as_deref(), Some("x"));
        assert_eq!(raw.discord.application_id.as_deref(), Some("x"));

        for section in SECTIONS {
            let mut extra = file.clone();
            let table = match extra.get_mut(section.name).unwrap() {
                toml::Value::Array(items) => items[0].as_table_mut().unwrap(),
                value => value.as_table_mut().unwrap(),
            };
            table.insert("not_in_schema".into(), toml::Value::Boolean(true));
            let result: Result<RawFile, _> = toml::Value::Table(extra).try_into();
            assert!(result.is_err(), "{} accepted an unknown key", section.name);
        }
    }
}
