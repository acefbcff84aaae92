//! Every key the configuration file knows, in one table: the unknown-key check, the
//! did-you-mean suggestions and the names of environment overrides all come from here, so a new
//! key is added in one place (and in [`crate::raw`], which a test keeps in step with this table).

use flywheel_insights::model::nearest;

/// The TOML type a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A string.
    Text,
    /// An integer.
    Integer,
    /// `true` or `false`.
    Bool,
    /// A list of strings (from the environment: comma-separated).
    List,
    /// A numeric id, written as a string or an integer; kept as a string.
    Id,
}

impl Kind {
    /// How the expected type is named in messages.
    pub(crate) fn expected(self) -> &'static str {
        match self {
            Kind::Text => "a string",
            Kind::Integer => "a whole number",
            Kind::Bool => "true or false",
            Kind::List => "a list of strings",
            Kind::Id => "an id (digits, quoted or not)",
        }
    }
}

/// A key of a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
}

/// A secret a section can read: from the environment variable `default_env`, or wherever its
/// `<name>_env` / `<name>_file` keys point.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SecretKey {
    pub(crate) name: &'static str,
    pub(crate) default_env: &'static str,
}

/// A top-level table (`[store]`) or array of tables (`[[teams]]`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Section {
    pub(crate) name: &'static str,
    /// `[[name]]`: an array of tables, overridden per item as `FLYWHEEL_<NAME>_<N>_<KEY>`.
    pub(crate) repeated: bool,
    pub(crate) keys: &'static [Key],
    pub(crate) secrets: &'static [SecretKey],
}

impl Section {
    /// The key named `name`, if the section has it.
    pub(crate) fn key(&self, name: &str) -> Option<&'static Key> {
        self.keys.iter().find(|k| k.name == name)
    }
}

const fn key(name: &'static str, kind: Kind) -> Key {
    Key { name, kind }
}

/// The sections, in the order they are checked and rendered.
pub(crate) const SECTIONS: &[Section] = &[
    Section {
        name: "store",
        repeated: false,
        keys: &[
            key("url", Kind::Text),
            key("max_connections", Kind::Integer),
        ],
        secrets: &[],
    },
    Section {
        name: "server",
        repeated: false,
        keys: &[
            key("listen", Kind::Text),
            key("max_connections", Kind::Integer),
            key("max_commands", Kind::Integer),
            key("queued_commands", Kind::Integer),
            key("idle_timeout", Kind::Text),
            key("drain", Kind::Text),
        ],
        secrets: &[],
    },
    Section {
        name: "digest",
        repeated: false,
        keys: &[key("grace", Kind::Text), key("size", Kind::Integer)],
        secrets: &[],
    },
    Section {
        name: "privacy",
        repeated: false,
        keys: &[
            key("emails", Kind::Bool),
            key("phones", Kind::Bool),
            key("cards", Kind::Bool),
            key("ibans", Kind::Bool),
            key("digit_runs", Kind::Bool),
        ],
        secrets: &[],
    },
    Section {
        name: "spikes",
        repeated: false,
        keys: &[
            key("ratio", Kind::Integer),
            key("min_count", Kind::Integer),
            key("baseline_days", Kind::Integer),
        ],
        secrets: &[],
    },
    Section {
        name: "teams",
        repeated: true,
        keys: &[
            key("name", Kind::Text),
            key("channels", Kind::List),
            key("schedule", Kind::Text),
            key("timezone", Kind::Text),
            key("filter", Kind::Text),
            key("digest_size", Kind::Integer),
            key("managers", Kind::List),
            key("quiet_hours", Kind::Text),
            key("watches", Kind::List),
            key("spike_alerts", Kind::Bool),
            key("follow", Kind::List),
        ],
        secrets: &[],
    },
    Section {
        name: "themes",
        repeated: true,
        keys: &[key("name", Kind::Text), key("match", Kind::Text)],
        secrets: &[],
    },
    Section {
        name: "api",
        repeated: false,
        keys: &[
            key("max_body_bytes", Kind::Integer),
            key("max_items", Kind::Integer),
            key("max_requests", Kind::Integer),
            key("tokens_env", Kind::Text),
            key("tokens_file", Kind::Text),
        ],
        secrets: &[SecretKey {
            name: "tokens",
            default_env: "FLYWHEEL_API_TOKENS",
        }],
    },
    Section {
        name: "slack",
        repeated: false,
        keys: &[
            key("api_url", Kind::Text),
            key("transport", Kind::Text),
            key("max_body_bytes", Kind::Integer),
            key("bot_token_env", Kind::Text),
            key("bot_token_file", Kind::Text),
            key("signing_secret_env", Kind::Text),
            key("signing_secret_file", Kind::Text),
            key("app_token_env", Kind::Text),
            key("app_token_file", Kind::Text),
        ],
        secrets: &[
            SecretKey {
                name: "bot_token",
                default_env: "SLACK_BOT_TOKEN",
            },
            SecretKey {
                name: "signing_secret",
                default_env: "SLACK_SIGNING_SECRET",
            },
            SecretKey {
                name: "app_token",
                default_env: "SLACK_APP_TOKEN",
            },
        ],
    },
    Section {
        name: "discord",
        repeated: false,
        keys: &[
            key("api_url", Kind::Text),
            key("application_id", Kind::Id),
            key("guild_ids", Kind::List),
            key("bot_token_env", Kind::Text),
            key("bot_token_file", Kind::Text),
            key("public_key_env", Kind::Text),
            key("public_key_file", Kind::Text),
        ],
        secrets: &[
            SecretKey {
                name: "bot_token",
                default_env: "DISCORD_BOT_TOKEN",
            },
            SecretKey {
                name: "public_key",
                default_env: "DISCORD_PUBLIC_KEY",
            },
        ],
    },
    Section {
        name: "console",
        repeated: false,
        keys: &[key("dir", Kind::Text)],
        secrets: &[],
    },
];

/// The section named `name`.
pub(crate) fn section(name: &str) -> Option<&'static Section> {
    SECTIONS.iter().find(|s| s.name == name)
}

/// Environment variables that start with `FLYWHEEL_` but belong to the program, not to the
/// configuration. Anything starting with `FLYWHEEL_TEST_` is also left alone.
pub(crate) const PROGRAM_VARIABLES: [&str; 4] = [
    "FLYWHEEL_CONFIG",
    "FLYWHEEL_DATA_DIR",
    "FLYWHEEL_LOG",
    "FLYWHEEL_LOG_FORMAT",
];

/// The prefix of every configuration variable.
pub(crate) const ENV_PREFIX: &str = "FLYWHEEL_";

/// What an environment variable overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvTarget {
    pub(crate) section: &'static Section,
    /// For repeated sections, which item.
    pub(crate) index: Option<usize>,
    pub(crate) key: &'static Key,
}

impl PartialEq for Section {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Section {}

impl EnvTarget {
    /// The key path it overrides, as used in messages: `store.url`, `teams[1].timezone`.
    pub(crate) fn path(&self) -> String {
        match self.index {
            Some(i) => format!("{}[{i}].{}", self.section.name, self.key.name),
            None => format!("{}.{}", self.section.name, self.key.name),
        }
    }
}

/// The variable that overrides `key` of `section` (item `index` for repeated sections).
pub(crate) fn env_name(section: &Section, index: Option<usize>, key: &str) -> String {
    let section = section.name.to_uppercase();
    let key = key.to_uppercase();
    match index {
        Some(i) => format!("{ENV_PREFIX}{section}_{i}_{key}"),
        None => format!("{ENV_PREFIX}{section}_{key}"),
    }
}

/// Why a `FLYWHEEL_*` variable is not a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EnvNameError {
    /// Not a known setting; the nearest known name, if close.
    Unknown(Option<String>),
    /// It names a secret directly; secrets come from their own variables.
    Secret {
        section: &'static str,
        name: &'static str,
        default_env: &'static str,
    },
}

/// Reads a variable name against the schema. Keys contain underscores (`digit_runs`,
/// `max_body_bytes`), so the name is matched against every known key rather than split.
/// `Ok(None)` means the variable belongs to the program and is not a setting.
pub(crate) fn resolve_env(name: &str) -> Result<Option<EnvTarget>, EnvNameError> {
    let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
        return Ok(None);
    };
    if PROGRAM_VARIABLES.contains(&name) || rest.starts_with("TEST_") || is_secret_variable(name) {
        return Ok(None);
    }
    let mut index_seen = None;
    for section in SECTIONS {
        let Some(after) = rest
            .strip_prefix(&section.name.to_uppercase())
            .and_then(|r| r.strip_prefix('_'))
        else {
            continue;
        };
        let (index, key_text) = if section.repeated {
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            let Some(key_text) = after[digits.len()..].strip_prefix('_') else {
                continue;
            };
            let Ok(index) = digits.parse::<usize>() else {
                continue;
            };
            index_seen = Some(index);
            (Some(index), key_text)
        } else {
            (None, after)
        };
        if let Some(key) = section
            .keys
            .iter()
            .find(|k| k.name.to_uppercase() == key_text)
        {
            return Ok(Some(EnvTarget {
                section,
                index,
                key,
            }));
        }
        if let Some(secret) = section
            .secrets
            .iter()
            .find(|s| s.name.to_uppercase() == key_text)
        {
            return Err(EnvNameError::Secret {
                section: section.name,
                name: secret.name,
                default_env: secret.default_env,
            });
        }
    }
    let candidates = known_env_names(index_seen.unwrap_or(0));
    Err(EnvNameError::Unknown(
        nearest(name, candidates.iter().map(String::as_str)).map(str::to_string),
    ))
}

/// Whether `name` is the default variable of a secret (`FLYWHEEL_API_TOKENS`): it holds the
/// secret, not a setting.
pub(crate) fn is_secret_variable(name: &str) -> bool {
    SECTIONS
        .iter()
        .flat_map(|s| s.secrets)
        .any(|secret| secret.default_env == name)
}

/// Every settable variable name, with `index` for the items of repeated sections.
pub(crate) fn known_env_names(index: usize) -> Vec<String> {
    SECTIONS
        .iter()
        .flat_map(|s| {
            let index = s.repeated.then_some(index);
            s.keys.iter().map(move |k| env_name(s, index, k.name))
        })
        .collect()
}

/// Names that look like they hold a secret; such keys get a pointer to the environment instead
/// of a plain "unknown key".
pub(crate) fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "passwd",
        "private_key",
        "public_key",
        "api_key",
    ]
    .iter()
    .any(|word| key.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(name: &str) -> Option<String> {
        resolve_env(name).unwrap().map(|t| t.path())
    }

    #[test]
    fn variable_names_resolve_against_the_schema() {
        assert_eq!(target("FLYWHEEL_STORE_URL").as_deref(), Some("store.url"));
        assert_eq!(
            target("FLYWHEEL_PRIVACY_DIGIT_RUNS").as_deref(),
            Some("privacy.digit_runs")
        );
        assert_eq!(
            target("FLYWHEEL_SLACK_BOT_TOKEN_FILE").as_deref(),
            Some("slack.bot_token_file")
        );
        assert_eq!(
            target("FLYWHEEL_TEAMS_12_DIGEST_SIZE").as_deref(),
            Some("teams[12].digest_size")
        );
        assert_eq!(
            target("FLYWHEEL_THEMES_0_MATCH").as_deref(),
            Some("themes[0].match")
        );
    }

    #[test]
    fn program_variables_are_not_settings() {
        for name in [
            "FLYWHEEL_CONFIG",
            "FLYWHEEL_DATA_DIR",
            "FLYWHEEL_LOG",
            "FLYWHEEL_TEST_ANYTHING",
            "FLYWHEEL_API_TOKENS",
            "HOME",
            "flywheel_store_url",
        ] {
            assert_eq!(resolve_env(name), Ok(None), "{name}");
        }
    }

    #[test]
    fn unknown_variables_get_the_nearest_name() {
        assert_eq!(
            resolve_env("FLYWHEEL_STORE_URLL"),
            Err(EnvNameError::Unknown(Some("FLYWHEEL_STORE_URL".into())))
        );
        assert_eq!(
            resolve_env("FLYWHEEL_TEAMS_3_TIMEZON"),
            Err(EnvNameError::Unknown(Some(
                "FLYWHEEL_TEAMS_3_TIMEZONE".into()
            )))
        );
        assert_eq!(
            resolve_env("FLYWHEEL_TEAMS_NAME"),
            Err(EnvNameError::Unknown(Some("FLYWHEEL_TEAMS_0_NAME".into())))
        );
        assert_eq!(
            resolve_env("FLYWHEEL_COMPLETELY_DIFFERENT_THING"),
            Err(EnvNameError::Unknown(None))
        );
        assert!(matches!(
            resolve_env("FLYWHEEL_SLACK_BOT_TOKEN"),
            Err(EnvNameError::Secret {
                default_env: "SLACK_BOT_TOKEN",
                ..
            })
        ));
    }

    #[test]
    fn every_key_has_a_distinct_variable() {
        let names = known_env_names(0);
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        for name in &names {
            assert!(resolve_env(name).unwrap().is_some(), "{name}");
        }
    }
}
