//! The environment the configuration is read against, passed in as a value so tests never touch
//! the process environment, and the default data directory it implies.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// A snapshot of environment variables. Its `Debug` lists names only: values include tokens.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Environment")
            .field(&self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Environment {
    /// No variables at all.
    pub fn empty() -> Environment {
        Environment::default()
    }

    /// The process environment. Variables whose name or value is not UTF-8 are left out.
    pub fn from_process() -> Environment {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    }

    /// Adds or replaces a variable.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Environment {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// A variable's value, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// A variable's value if set and not empty: an empty `XDG_DATA_HOME` or `SLACK_BOT_TOKEN`
    /// means "not set", as the XDG specification and most shells' users expect.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// Every variable, ordered by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Environment {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Environment {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// Where local state lives: `FLYWHEEL_DATA_DIR`, else `$XDG_DATA_HOME/flywheel`, else
/// `$HOME/.local/share/flywheel`, else `./.flywheel`. Returns the directory and which rule
/// chose it.
pub(crate) fn data_dir(env: &Environment) -> (PathBuf, &'static str) {
    if let Some(dir) = env.non_empty("FLYWHEEL_DATA_DIR") {
        (PathBuf::from(dir), "FLYWHEEL_DATA_DIR")
    } else if let Some(xdg) = env.non_empty("XDG_DATA_HOME") {
        (PathBuf::from(xdg).join("flywheel"), "XDG_DATA_HOME")
    } else if let Some(home) = env.non_empty("HOME") {
        (PathBuf::from(home).join(".local/share/flywheel"), "HOME")
    } else {
        (PathBuf::from("./.flywheel"), "no HOME")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_follows_the_documented_order() {
        let env = Environment::empty()
            .with("HOME", "/home/ana")
            .with("XDG_DATA_HOME", "/xdg")
            .with("FLYWHEEL_DATA_DIR", "/srv/flywheel");
        assert_eq!(data_dir(&env).0, PathBuf::from("/srv/flywheel"));
        let env = env.with("FLYWHEEL_DATA_DIR", "");
        assert_eq!(data_dir(&env).0, PathBuf::from("/xdg/flywheel"));
        let env = env.with("XDG_DATA_HOME", "");
        assert_eq!(
            data_dir(&env).0,
            PathBuf::from("/home/ana/.local/share/flywheel")
        );
        assert_eq!(
            data_dir(&Environment::empty()).0,
            PathBuf::from("./.flywheel")
        );
    }

    #[test]
    fn environments_are_built_from_pairs() {
        let env: Environment = [("A", "1"), ("B", "")].into_iter().collect();
        assert_eq!(env.get("A"), Some("1"));
        assert_eq!(env.get("B"), Some(""));
        assert_eq!(env.non_empty("B"), None);
        assert_eq!(env.iter().count(), 2);
    }

    #[test]
    fn debug_shows_names_not_values() {
        let env = Environment::empty().with("SLACK_BOT_TOKEN", "xoxb-hidden");
        let shown = format!("{env:?}");
        assert_eq!(shown, "Environment([\"SLACK_BOT_TOKEN\"])");
    }
}
