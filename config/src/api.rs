//! The bearer tokens of the HTTP ingestion API, read from the secret `[api] tokens`
//! (`FLYWHEEL_API_TOKENS` by default, or `tokens_env` / `tokens_file`).
//!
//! The secret lists tokens separated by commas or line breaks, each `NAME:TOKEN` or
//! `NAME:TOKEN:TEAM+TEAM`:
//!
//! ```text
//! zendesk:3f9c…e1,ci:77ab…90:support+growth
//! ```
//!
//! The name says who wrote (the audit log records `api:NAME`); teams limit what the token sees
//! and may write. Only a SHA-256 digest of each token is kept, compared in constant time, and
//! nothing here prints a token, not even in an error.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The shortest token accepted, in characters: shorter ones are guessable.
pub const MIN_TOKEN_CHARS: usize = 16;

/// One token of the API: who it is and which teams it is limited to.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Who uses it, `[a-z0-9_-]`; the audit log names it `api:NAME`.
    pub name: String,
    /// The teams it is limited to, in the order given; empty means unlimited.
    pub teams: Vec<String>,
    digest: [u8; 32],
}

impl ApiToken {
    /// The audit log's actor for requests made with this token: `api:NAME`.
    pub fn actor(&self) -> String {
        format!("api:{}", self.name)
    }
}

/// Names and teams only: the digest stays out of logs too.
impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("name", &self.name)
            .field("teams", &self.teams)
            .finish_non_exhaustive()
    }
}

/// Every token of the API; none means the API is disabled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiTokens {
    tokens: Vec<ApiToken>,
}

impl ApiTokens {
    /// Reads the secret's text (see the module documentation). An error says which entry is
    /// wrong and why, by position and name, never with the token.
    pub fn parse(text: &str) -> Result<ApiTokens, String> {
        let mut tokens: Vec<ApiToken> = Vec::new();
        let entries = text
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty());
        for (i, entry) in entries.enumerate() {
            let n = i + 1;
            let mut parts = entry.splitn(3, ':');
            let (Some(name), Some(token)) = (parts.next(), parts.next()) else {
                return Err(format!(
                    "entry {n} is not NAME:TOKEN or NAME:TOKEN:TEAM+TEAM"
                ));
            };
            let name = name.trim();
            check_name(name).map_err(|why| format!("entry {n}: {why}"))?;
            let token = token.trim();
            if token.chars().count() < MIN_TOKEN_CHARS || token.chars().any(char::is_whitespace) {
                return Err(format!(
                    "entry {n} ({name:?}): the token must be at least {MIN_TOKEN_CHARS} \
                     characters without spaces (for example the output of `openssl rand -hex 32`)"
                ));
            }
            let teams = match parts.next() {
                None => Vec::new(),
                Some(teams) => {
                    let teams: Vec<String> = teams
                        .split('+')
                        .map(|t| t.trim().to_ascii_lowercase())
                        .collect();
                    if teams.iter().any(String::is_empty) {
                        return Err(format!(
                            "entry {n} ({name:?}): teams are written TEAM+TEAM, with no empty name \
                             (and a token holds no ':')"
                        ));
                    }
                    teams
                }
            };
            let digest = digest(token);
            if tokens.iter().any(|t| t.name == name) {
                return Err(format!("entry {n}: the name {name:?} is used twice"));
            }
            if tokens.iter().any(|t| bool::from(t.digest.ct_eq(&digest))) {
                return Err(format!(
                    "entry {n} ({name:?}): the same token as another entry; give each its own"
                ));
            }
            tokens.push(ApiToken {
                name: name.to_string(),
                teams,
                digest,
            });
        }
        Ok(ApiTokens { tokens })
    }

    /// The token `presented` is, if any. Every token is compared, each in constant time, so the
    /// time taken says nothing about which (or how much of one) matched.
    pub fn find(&self, presented: &str) -> Option<&ApiToken> {
        let wanted = digest(presented.trim());
        let mut found = None;
        for token in &self.tokens {
            if bool::from(token.digest.ct_eq(&wanted)) {
                found = Some(token);
            }
        }
        found
    }

    /// Whether no token is configured (the API is then disabled).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Every token, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &ApiToken> {
        self.tokens.iter()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name before the first ':' is empty".into());
    }
    if name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err(format!(
            "{name:?} is not a token name: use at most 64 of lowercase a-z, 0-9, '_' and '-'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaa-1";
    const B: &str = "bbbbbbbbbbbbbbbb-2";

    #[test]
    fn tokens_are_found_by_value_with_their_name_and_teams() {
        let tokens = ApiTokens::parse(&format!("zendesk:{A}, ci:{B}:support+Growth\n")).unwrap();
        let zendesk = tokens.find(A).unwrap();
        assert_eq!(zendesk.name, "zendesk");
        assert!(zendesk.teams.is_empty());
        assert_eq!(zendesk.actor(), "api:zendesk");
        let ci = tokens.find(B).unwrap();
        assert_eq!(ci.teams, ["support", "growth"]);
        assert!(tokens.find("aaaaaaaaaaaaaaaa-").is_none());
        assert!(tokens.find("").is_none());
        assert!(ApiTokens::parse("").unwrap().is_empty());
    }

    #[test]
    fn line_breaks_separate_tokens_as_commas_do() {
        let tokens = ApiTokens::parse(&format!("a:{A}\n\nb:{B}\n")).unwrap();
        assert_eq!(tokens.iter().count(), 2);
    }

    #[test]
    fn bad_entries_are_named_by_position_without_the_token() {
        let cases = [
            (A.to_string(), "entry 1 is not NAME:TOKEN"),
            (
                format!("a:{A},:{B}"),
                "entry 2: the name before the first ':' is empty",
            ),
            (
                format!("Zen Desk:{A}"),
                "entry 1: \"Zen Desk\" is not a token name",
            ),
            (
                "a:short-secret".to_string(),
                "entry 1 (\"a\"): the token must be at least 16",
            ),
            (
                format!("a:{A}:support+"),
                "entry 1 (\"a\"): teams are written TEAM+TEAM",
            ),
            (
                format!("a:{A},a:{B}"),
                "entry 2: the name \"a\" is used twice",
            ),
            (
                format!("a:{A},b:{A}"),
                "entry 2 (\"b\"): the same token as another entry",
            ),
        ];
        for (text, expected) in cases {
            let err = ApiTokens::parse(&text).unwrap_err();
            assert!(err.starts_with(expected), "{text}: {err}");
            for secret in [A, B, "short-secret"] {
                assert!(!err.contains(secret), "{err}");
            }
        }
    }

    #[test]
    fn debug_shows_no_token_or_digest() {
        let tokens = ApiTokens::parse(&format!("zendesk:{A}")).unwrap();
        let shown = format!("{tokens:?}");
        assert!(shown.contains("zendesk"), "{shown}");
        assert!(
            !shown.contains("aaaa") && !shown.contains("digest"),
            "{shown}"
        );
    }
}
