//! The running application: configuration, store and clock, opened once and shared by every
//! command, handler and worker. Also how failures become exit codes.

use std::fmt;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use flywheel_config::Config;
use flywheel_storage::{Store, StoreOptions};

use crate::clock::{Clock, SystemClock};

/// What every part of the running service needs.
#[derive(Clone)]
pub struct App {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The store.
    pub store: Store,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("store", &self.store.backend())
            .finish_non_exhaustive()
    }
}

impl App {
    /// Loads the configuration, opens the store (applying migrations) on the system clock.
    pub async fn start(config_path: Option<&Path>) -> Result<App, Failure> {
        let config = load_config(config_path)?;
        App::open(config, Arc::new(SystemClock)).await
    }

    /// Opens the store of a loaded configuration, applying migrations.
    pub async fn open(config: Config, clock: Arc<dyn Clock>) -> Result<App, Failure> {
        let store = Store::open(&config.store.url, &store_options(&config))
            .await
            .context("cannot open the store")?;
        Ok(App {
            config: Arc::new(config),
            store,
            clock,
        })
    }

    /// Today's date in UTC, by the app's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        self.clock.now().date_naive()
    }
}

fn store_options(config: &Config) -> StoreOptions {
    StoreOptions {
        max_connections: config.store.max_connections,
        search_index: flywheel_storage::default_index_place(&config.store.url, &config.data_dir),
        ..StoreOptions::default()
    }
}

/// Applies migrations and returns what was applied.
pub async fn migrate(config: &Config) -> Result<Vec<String>, Failure> {
    let store = Store::connect(&config.store.url, &store_options(config))
        .await
        .context("cannot connect to the store")?;
    let applied = store.migrate().await.context("migration failed")?;
    Ok(applied
        .into_iter()
        .map(|m| format!("{:04} {}", m.version, m.description))
        .collect())
}

/// Loads and validates the configuration from `path` (if any) and the process environment.
pub fn load_config(path: Option<&Path>) -> Result<Config, Failure> {
    Config::load(path, &flywheel_config::Environment::from_process()).map_err(Failure::Config)
}

/// Sets up logging to stderr. `FLYWHEEL_LOG` takes `tracing` filter directives
/// (`info`, `flywheel=debug,sqlx=warn`); `default` applies when it is unset. Colours only when
/// stderr is a terminal: a log file or journal gets plain text.
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLYWHEEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Why a command failed, and so which exit code it ends with.
#[derive(Debug)]
pub enum Failure {
    /// The configuration is invalid: every problem is listed. Exit code 2.
    Config(flywheel_config::ConfigError),
    /// The command was used wrongly (a bad query, an unknown team). Exit code 2.
    Usage(String),
    /// Anything else. Exit code 1.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::Other(e)
    }
}

impl Failure {
    /// Prints the failure to stderr and returns the exit code.
    pub fn report(self) -> ExitCode {
        match self {
            Failure::Config(errors) => {
                eprintln!("error: invalid configuration\n{errors}");
                ExitCode::from(2)
            }
            Failure::Usage(message) => {
                eprintln!("error: {message}");
                ExitCode::from(2)
            }
            Failure::Other(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    }
}
