//! Where things are said and who says them: `slack:C0123ABCD`, `discord:1234567890`,
//! `console:digest`.
//!
//! An address is written `platform:id` everywhere people see one (configuration, chat replies,
//! logs) and stored the same way, so [`Display`](fmt::Display) and [`FromStr`] round-trip and
//! serde uses that text. Ids are checked against each platform's own shape when parsed, so a
//! channel name pasted where its id belongs (`slack:#general`) fails at startup with a message
//! saying what to use instead, not at the first delivery.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::nearest;

/// A chat platform Flywheel talks to. Serialized as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Slack: ids such as `C0123ABCD` (channels) and `U0123ABCD` (people).
    Slack,
    /// Discord: numeric snowflake ids.
    Discord,
    /// The terminal (or a log file per channel): names chosen by the operator.
    Console,
}

impl Platform {
    /// Every platform, in display order.
    pub const ALL: [Platform; 3] = [Platform::Slack, Platform::Discord, Platform::Console];

    /// The lowercase name used in addresses.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Slack => "slack",
            Platform::Discord => "discord",
            Platform::Console => "console",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Platform {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Platform::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| AddressError::UnknownPlatform {
                platform: wanted.to_string(),
                suggestion: nearest(wanted, Platform::ALL.iter().map(|p| p.name()))
                    .and_then(|name| Platform::ALL.into_iter().find(|p| p.name() == name)),
            })
    }
}

/// Why an address was refused. Messages are written for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// No `platform:` prefix.
    #[error("{input:?} has no platform: write slack:ID, discord:ID or console:NAME{}", hint_text(.hint))]
    NoPlatform {
        /// The text as given.
        input: String,
        /// A likely reading of it, when the id alone identifies the platform.
        hint: Option<String>,
    },
    /// The prefix is not a platform Flywheel knows.
    #[error("unknown platform {platform:?} ({})", platform_suggestion(.suggestion))]
    UnknownPlatform {
        /// The prefix as given.
        platform: String,
        /// The closest platform name, if the prefix looks like a typo of one.
        suggestion: Option<Platform>,
    },
    /// The id does not have the shape the platform uses.
    #[error("{input:?} is not a {platform} {what} id: {reason}")]
    InvalidId {
        /// The whole address as given.
        input: String,
        /// The platform named in it.
        platform: Platform,
        /// `channel` or `user`.
        what: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

fn hint_text(hint: &Option<String>) -> String {
    match hint {
        Some(h) => format!(" (did you mean {h:?}?)"),
        None => String::new(),
    }
}

fn platform_suggestion(suggestion: &Option<Platform>) -> String {
    match suggestion {
        Some(p) => format!(
            "did you mean {:?}? platforms are slack, discord and console",
            p.name()
        ),
        None => "platforms are slack, discord and console".to_string(),
    }
}

/// Whether an id names a place or a person; the two have different shapes on Slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Channel,
    User,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Channel => "channel",
            Role::User => "user",
        }
    }
}

/// Splits and checks `platform:id`, returning the platform and the id as given.
fn parse_address(input: &str, role: Role) -> Result<(Platform, String), AddressError> {
    let text = input.trim();
    let Some((prefix, id)) = text.split_once(':') else {
        return Err(AddressError::NoPlatform {
            input: text.to_string(),
            hint: guess_platform(text, role),
        });
    };
    let platform: Platform = prefix.parse()?;
    let invalid = |reason: String| AddressError::InvalidId {
        input: text.to_string(),
        platform,
        what: role.name(),
        reason,
    };
    if id.is_empty() {
        return Err(invalid("the id after the colon is empty".to_string()));
    }
    match platform {
        Platform::Slack => check_slack(id, role).map_err(invalid)?,
        Platform::Discord => match (role, id.strip_prefix(DISCORD_ROLE)) {
            // A manager may be everyone holding a Discord role: `discord:role:ID`.
            (Role::User, Some(role_id)) => check_discord(role_id).map_err(invalid)?,
            _ => check_discord(id).map_err(invalid)?,
        },
        Platform::Console => check_console(id).map_err(invalid)?,
    }
    Ok((platform, id.to_string()))
}

/// For a bare id whose shape gives the platform away, the address it most likely meant.
fn guess_platform(text: &str, role: Role) -> Option<String> {
    if check_slack(text, role).is_ok() {
        Some(format!("slack:{text}"))
    } else if check_discord(text).is_ok() {
        Some(format!("discord:{text}"))
    } else {
        None
    }
}

/// Slack ids never exceed a couple of dozen characters; the bound keeps hostile input short.
const MAX_SLACK_ID: usize = 64;

fn check_slack(id: &str, role: Role) -> Result<(), String> {
    let (prefixes, example): (&[char], &str) = match role {
        Role::Channel => (&['C', 'G', 'D'], "C0123ABCD"),
        Role::User => (&['U', 'W'], "U0123ABCD"),
    };
    if id.starts_with('#') || id.starts_with('@') {
        return Err(format!(
            "use the {} id (like {example}), not its name; Slack shows it at the bottom of the {} details",
            role.name(),
            if role == Role::Channel {
                "channel"
            } else {
                "profile"
            },
        ));
    }
    if id.len() > MAX_SLACK_ID {
        return Err(format!(
            "it is {} characters long; Slack ids are short, like {example}",
            id.len()
        ));
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "Slack ids are letters and digits only, like {example}"
        ));
    }
    if id.chars().any(|c| c.is_ascii_lowercase()) {
        return Err(format!(
            "Slack ids are uppercase (did you mean {:?}?)",
            id.to_ascii_uppercase()
        ));
    }
    if id.len() < 2 {
        return Err(format!("it is too short; Slack ids look like {example}"));
    }
    let first = id.chars().next().unwrap_or_default();
    if !prefixes.contains(&first) {
        let other = match role {
            Role::Channel if matches!(first, 'U' | 'W') => " (that is a user id)",
            Role::User if matches!(first, 'C' | 'G' | 'D') => " (that is a channel id)",
            _ => "",
        };
        let starts = match role {
            Role::Channel => "C, G or D",
            Role::User => "U or W",
        };
        return Err(format!(
            "Slack {} ids start with {starts}{other}",
            role.name()
        ));
    }
    Ok(())
}

/// What a Discord role's id is prefixed with where a person may be named:
/// `discord:role:123` stands for everyone holding role 123.
pub const DISCORD_ROLE: &str = "role:";

fn check_discord(id: &str) -> Result<(), String> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(
            "Discord ids are numbers (enable Developer Mode, then right-click → Copy ID)"
                .to_string(),
        );
    }
    if id.len() > 20 || id.parse::<u64>().is_err() {
        return Err(
            "it is too large for a Discord id (at most 20 digits that fit in 64 bits)".to_string(),
        );
    }
    Ok(())
}

const MAX_CONSOLE_NAME: usize = 64;

fn check_console(id: &str) -> Result<(), String> {
    if id.chars().count() > MAX_CONSOLE_NAME {
        return Err(format!(
            "console names are at most {MAX_CONSOLE_NAME} characters"
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "{bad:?} is not allowed; console names use letters, digits, '_', '.' and '-'"
        ));
    }
    if id == "." || id == ".." {
        // Console channels may become file names; these two would name directories.
        return Err("\".\" and \"..\" are not channel names".to_string());
    }
    Ok(())
}

macro_rules! address_type {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name {
            /// The platform.
            pub platform: Platform,
            /// The platform's id (for the console, the name).
            pub id: String,
        }

        impl $name {
            /// Parses `platform:id`, checking the id's shape for that platform.
            pub fn parse(input: &str) -> Result<Self, AddressError> {
                input.parse()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}:{}", self.platform, self.id)
            }
        }

        impl FromStr for $name {
            type Err = AddressError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let (platform, id) = parse_address(s, $role)?;
                Ok($name { platform, id })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

address_type!(
    /// A place messages are posted: a Slack channel, a Discord channel or a console stream.
    ChannelAddress,
    Role::Channel
);

address_type!(
    /// A person on a platform (who asked, who decided, who manages a team).
    UserAddress,
    Role::User
);

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(s: &str) -> Result<ChannelAddress, String> {
        s.parse::<ChannelAddress>().map_err(|e| e.to_string())
    }

    fn user(s: &str) -> Result<UserAddress, String> {
        s.parse::<UserAddress>().map_err(|e| e.to_string())
    }

    #[test]
    fn valid_addresses_round_trip_through_text_and_serde() {
        for text in [
            "slack:C0123ABCD",
            "slack:G01",
            "slack:D9Z",
            "discord:1234567890",
            "discord:18446744073709551615",
            "console:digest",
            "console:team.growth-weekly_2",
        ] {
            let parsed: ChannelAddress = text.parse().unwrap();
            assert_eq!(parsed.to_string(), text);
            let json = serde_json::to_string(&parsed).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(
                serde_json::from_str::<ChannelAddress>(&json).unwrap(),
                parsed
            );
        }
        let u: UserAddress = "slack:W0123".parse().unwrap();
        assert_eq!((u.platform, u.id.as_str()), (Platform::Slack, "W0123"));
        assert_eq!(user("discord:42").unwrap().to_string(), "discord:42");
        assert_eq!(
            user("discord:role:77").unwrap().to_string(),
            "discord:role:77"
        );
        assert!(user("discord:role:").unwrap_err().contains("numbers"));
        assert!(user("discord:role:x").unwrap_err().contains("numbers"));
        assert!(
            channel("discord:role:77").is_err(),
            "a role is not a channel"
        );
    }

    #[test]
    fn platforms_serialize_as_their_names() {
        for p in Platform::ALL {
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
            assert_eq!(p.to_string().parse::<Platform>(), Ok(p));
        }
    }

    #[test]
    fn platform_prefix_is_case_insensitive_and_printed_lowercase() {
        assert_eq!(channel(" Slack:C1 ").unwrap().to_string(), "slack:C1");
    }

    #[test]
    fn addresses_order_by_platform_then_id() {
        let mut list: Vec<ChannelAddress> = ["console:a", "slack:C2", "discord:1", "slack:C1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        list.sort();
        let texts: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(texts, ["slack:C1", "slack:C2", "discord:1", "console:a"]);
    }

    #[test]
    fn slack_channel_ids_are_checked() {
        assert_eq!(
            channel("slack:c0123").unwrap_err(),
            "\"slack:c0123\" is not a slack channel id: Slack ids are uppercase (did you mean \"C0123\"?)"
        );
        assert!(
            channel("slack:U0123")
                .unwrap_err()
                .contains("start with C, G or D (that is a user id)")
        );
        assert!(
            channel("slack:#general")
                .unwrap_err()
                .contains("not its name")
        );
        assert!(
            channel("slack:C01-23")
                .unwrap_err()
                .contains("letters and digits only")
        );
        assert!(channel("slack:C").unwrap_err().contains("too short"));
        assert!(channel("slack:").unwrap_err().contains("empty"));
        assert!(
            channel(&format!("slack:C{}", "A".repeat(100)))
                .unwrap_err()
                .contains("101 characters")
        );
    }

    #[test]
    fn slack_user_ids_are_checked() {
        assert!(user("slack:U0123").is_ok());
        assert!(
            user("slack:C0123")
                .unwrap_err()
                .contains("start with U or W (that is a channel id)")
        );
        assert!(user("slack:@alice").unwrap_err().contains("not its name"));
    }

    #[test]
    fn discord_ids_are_snowflakes() {
        assert!(
            channel("discord:abc")
                .unwrap_err()
                .contains("Discord ids are numbers")
        );
        assert!(channel("discord:-1").unwrap_err().contains("numbers"));
        // One more than u64::MAX: twenty digits, but too large.
        assert!(
            channel("discord:18446744073709551616")
                .unwrap_err()
                .contains("too large")
        );
        assert!(
            channel(&format!("discord:{}", "1".repeat(21)))
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn console_names_are_checked() {
        assert!(channel(&format!("console:{}", "a".repeat(64))).is_ok());
        assert!(
            channel(&format!("console:{}", "a".repeat(65)))
                .unwrap_err()
                .contains("at most 64")
        );
        assert!(
            channel("console:a/b")
                .unwrap_err()
                .contains("'/' is not allowed")
        );
        assert!(
            channel("console:has space")
                .unwrap_err()
                .contains("' ' is not allowed")
        );
        assert!(channel("console:..").is_err());
        assert!(user("console:alice").is_ok());
    }

    #[test]
    fn unknown_platform_suggests_the_nearest() {
        assert_eq!(
            channel("slak:C0123").unwrap_err(),
            "unknown platform \"slak\" (did you mean \"slack\"? platforms are slack, discord and console)"
        );
        assert_eq!(
            "discrod".parse::<Platform>().unwrap_err(),
            AddressError::UnknownPlatform {
                platform: "discrod".into(),
                suggestion: Some(Platform::Discord)
            }
        );
        assert!(
            channel("irc:#x")
                .unwrap_err()
                .ends_with("(platforms are slack, discord and console)")
        );
    }

    #[test]
    fn missing_platform_is_explained_with_a_guess() {
        assert_eq!(
            channel("C0123ABCD").unwrap_err(),
            "\"C0123ABCD\" has no platform: write slack:ID, discord:ID or console:NAME (did you mean \"slack:C0123ABCD\"?)"
        );
        assert!(
            channel("1234")
                .unwrap_err()
                .contains("did you mean \"discord:1234\"")
        );
        assert!(!channel("").unwrap_err().contains("did you mean"));
    }

    #[test]
    fn serde_rejects_bad_addresses_with_the_message() {
        let err = serde_json::from_str::<ChannelAddress>("\"slack:#general\"").unwrap_err();
        assert!(err.to_string().contains("not its name"), "{err}");
    }
}
