//! Tokens and keys: never in the configuration file, never printed.
//!
//! Each secret is read from an environment variable (by default the name the platform's own
//! tooling uses, such as `SLACK_BOT_TOKEN`) or from a file (`bot_token_file`, for container
//! secrets). A missing secret is not an error here: the adapter that needs it is simply not
//! started, and the effective configuration says "not set".

use std::fmt;
use std::path::PathBuf;

/// A secret value. `Debug` and `Display` print `***`, so a secret can sit in any struct that is
/// logged; the value is only reachable through [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that sends it (an HTTP header, a signature check).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret is read from, whether or not it was found there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file; its contents are trimmed.
    File(PathBuf),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(name) => write!(f, "env {name}"),
            SecretSource::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// The secrets of every platform, each with where it is read from.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// Slack's bot token (`xoxb-…`), for posting.
    pub slack_bot_token: Option<Secret>,
    /// Slack's signing secret, for verifying requests Slack sends.
    pub slack_signing_secret: Option<Secret>,
    /// Slack's app-level token (`xapp-…`), for Socket Mode.
    pub slack_app_token: Option<Secret>,
    /// Discord's bot token.
    pub discord_bot_token: Option<Secret>,
    /// Discord's application public key, for verifying interactions.
    pub discord_public_key: Option<Secret>,
    /// The HTTP ingestion API's tokens, as written (see [`crate::ApiTokens`]).
    pub api_tokens: Option<Secret>,
    /// Where each of the above is read from.
    pub sources: SecretSources,
}

/// Where each secret of [`Secrets`] is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSources {
    /// For [`Secrets::slack_bot_token`].
    pub slack_bot_token: SecretSource,
    /// For [`Secrets::slack_signing_secret`].
    pub slack_signing_secret: SecretSource,
    /// For [`Secrets::slack_app_token`].
    pub slack_app_token: SecretSource,
    /// For [`Secrets::discord_bot_token`].
    pub discord_bot_token: SecretSource,
    /// For [`Secrets::discord_public_key`].
    pub discord_public_key: SecretSource,
    /// For [`Secrets::api_tokens`].
    pub api_tokens: SecretSource,
}

impl Secrets {
    /// Each secret as `(section, key, value, source)`, in the order they are rendered.
    pub fn entries(&self) -> [(&'static str, &'static str, Option<&Secret>, &SecretSource); 6] {
        let s = &self.sources;
        [
            (
                "slack",
                "bot_token",
                self.slack_bot_token.as_ref(),
                &s.slack_bot_token,
            ),
            (
                "slack",
                "signing_secret",
                self.slack_signing_secret.as_ref(),
                &s.slack_signing_secret,
            ),
            (
                "slack",
                "app_token",
                self.slack_app_token.as_ref(),
                &s.slack_app_token,
            ),
            (
                "discord",
                "bot_token",
                self.discord_bot_token.as_ref(),
                &s.discord_bot_token,
            ),
            (
                "discord",
                "public_key",
                self.discord_public_key.as_ref(),
                &s.discord_public_key,
            ),
            ("api", "tokens", self.api_tokens.as_ref(), &s.api_tokens),
        ]
    }
}

/// How a secret's state is shown: `set (from env SLACK_BOT_TOKEN)`, never its value.
pub(crate) fn status(value: Option<&Secret>, source: &SecretSource) -> String {
    match value {
        Some(_) => format!("set (from {source})"),
        None => format!("not set (looked in {source})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_their_value() {
        let secret = Secret::new("xoxb-very-secret");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(secret.to_string(), "***");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(Secret(***))");
        assert_eq!(secret.expose(), "xoxb-very-secret");
    }

    #[test]
    fn status_names_the_source_only() {
        let env = SecretSource::Env("SLACK_BOT_TOKEN".into());
        let secret = Secret::new("xoxb-1");
        assert_eq!(
            status(Some(&secret), &env),
            "set (from env SLACK_BOT_TOKEN)"
        );
        assert_eq!(
            status(None, &env),
            "not set (looked in env SLACK_BOT_TOKEN)"
        );
        let file = SecretSource::File("/run/secrets/t".into());
        assert_eq!(
            status(Some(&secret), &file),
            "set (from file /run/secrets/t)"
        );
    }
}
