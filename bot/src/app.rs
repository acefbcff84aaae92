//! The running application: configuration, store and clock, opened once and shared by every
//! command, handler and worker. The base every other layer stands on.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use flywheel_config::{Config, ConfigError, Team};
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
    /// Whether each connection the service depends on is up, for `/readyz`.
    pub readiness: Arc<Readiness>,
}

/// The connections a running service keeps to chat platforms, by name, and whether each is up
/// now. A transport that keeps one says so when it starts ([`Readiness::expect`]) and keeps it
/// current.
#[derive(Debug, Default)]
pub struct Readiness {
    parts: std::sync::Mutex<std::collections::BTreeMap<&'static str, bool>>,
}

impl Readiness {
    /// `name` is a connection the service needs, not up yet.
    pub fn expect(&self, name: &'static str) {
        self.lock().entry(name).or_insert(false);
    }

    /// `name` is up (`true`) or down.
    pub fn set(&self, name: &'static str, up: bool) {
        self.lock().insert(name, up);
    }

    /// Every expected connection and whether it is up.
    pub fn parts(&self) -> Vec<(&'static str, bool)> {
        self.lock().iter().map(|(k, v)| (*k, *v)).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<&'static str, bool>> {
        self.parts.lock().unwrap_or_else(|e| e.into_inner())
    }
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
    pub async fn start(config_path: Option<&Path>) -> Result<App, StartError> {
        let config = load_config(config_path)?;
        App::open(config, Arc::new(SystemClock)).await
    }

    /// Opens the store of a loaded configuration, applying migrations.
    pub async fn open(config: Config, clock: Arc<dyn Clock>) -> Result<App, StartError> {
        let store = Store::open(&config.store.url, &store_options(&config))
            .await
            .context("cannot open the store")
            .map_err(StartError::Store)?;
        Ok(App {
            config: Arc::new(config),
            store,
            clock,
            readiness: Arc::default(),
        })
    }

    /// Today's date in UTC, by the app's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        self.clock.now().date_naive()
    }

    /// The team called `name`, or an error listing the teams there are.
    pub fn team(&self, name: &str) -> Result<&Team, UnknownTeam> {
        self.config.team(name).ok_or_else(|| UnknownTeam {
            name: name.to_string(),
            teams: self.config.teams.iter().map(|t| t.name.clone()).collect(),
        })
    }
}

/// Why the application did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid: every problem is listed.
    #[error("invalid configuration\n{0}")]
    Config(#[from] ConfigError),
    /// The store cannot be opened or migrated.
    #[error(transparent)]
    Store(anyhow::Error),
}

/// A team name that the configuration does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no team is called {name:?}; the teams are: {}", .teams.join(", "))]
pub struct UnknownTeam {
    /// The name asked for.
    pub name: String,
    /// The teams configured.
    pub teams: Vec<String>,
}

fn store_options(config: &Config) -> StoreOptions {
    StoreOptions {
        max_connections: config.store.max_connections,
        search_index: flywheel_storage::default_index_place(&config.store.url, &config.data_dir),
        ..StoreOptions::default()
    }
}

/// Applies migrations and returns what was applied.
pub async fn migrate(config: &Config) -> anyhow::Result<Vec<String>> {
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
pub fn load_config(path: Option<&Path>) -> Result<Config, ConfigError> {
    Config::load(path, &flywheel_config::Environment::from_process())
}
