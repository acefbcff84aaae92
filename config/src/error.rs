//! Everything wrong with a configuration, reported at once.

use std::fmt;

/// One thing wrong, and where: a key path (`teams[1].timezone`), an environment variable
/// (`FLYWHEEL_DIGEST_GRACE`), or a position in the file (`flywheel.toml:3:7`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where the problem is.
    pub at: String,
    /// What is wrong and, where possible, how to fix it. Never contains a secret.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// The configuration could not be used. Holds every problem found, in a stable order:
/// unknown `FLYWHEEL_*` variables first (by name), then the file section by section in the
/// order of the example file (`store`, `server`, `digest`, `privacy`, `teams`, `themes`,
/// `slack`, `discord`, `console`), items by index.
///
/// Displays as one problem per line. The `flywheel` binary prints it to standard error and
/// exits with status 2 ([`ConfigError::EXIT_CODE`]), so scripts can tell a bad configuration
/// from a failure at run time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Every problem, never empty.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// The process exit status for a configuration that cannot be used.
    pub const EXIT_CODE: i32 = 2;

    /// A single problem.
    pub(crate) fn one(at: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            problems: vec![Problem {
                at: at.into(),
                message: message.into(),
            }],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}
