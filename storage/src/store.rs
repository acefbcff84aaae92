//! Opening the store: which backend a URL means, how each is configured, and migrations.
//!
//! - `sqlite://relative/path.db` or `sqlite:///absolute/path.db`: the file and its parent
//!   directories are created when missing; WAL journal (readers never wait for the writer),
//!   foreign keys on, `synchronous = NORMAL` (durable at checkpoints, safe with WAL), and a busy
//!   timeout so concurrent writers wait for each other instead of failing.
//! - `postgres://…` or `postgresql://…`: the URL is handed to sqlx, so every libpq-style
//!   parameter it knows works (`sslmode`, `options=-c search_path=…`, …).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::db::Pool;
use crate::error::StoreError;
use crate::migrate;
use crate::search::{IndexPlace, SearchIndex};

/// The database engine behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// How to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// The most connections the pool opens (at least 1).
    pub max_connections: u32,
    /// How long to wait for the first connection, and later for a free connection from the
    /// pool, before failing. SQLite writers also wait this long for each other.
    pub connect_timeout: Duration,
    /// Where [`Store::open`] keeps the search index.
    pub search_index: IndexPlace,
}

impl Default for StoreOptions {
    /// Eight connections, ten seconds, the search index in memory.
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            connect_timeout: Duration::from_secs(10),
            search_index: IndexPlace::Memory,
        }
    }
}

/// A migration that [`Store::migrate`] applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Its version (the number its file name starts with).
    pub version: i64,
    /// Its description (the rest of its file name).
    pub description: String,
}

/// Flywheel's store on SQLite or PostgreSQL. Cheap to clone: clones share one connection pool
/// and one search index.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    /// The search index, once [`Store::open`] attached it.
    pub(crate) search: Option<Arc<SearchIndex>>,
}

/// Where a URL points.
enum Location {
    Sqlite(PathBuf),
    Postgres(Box<PgConnectOptions>),
}

impl Location {
    fn parse(url: &str) -> Result<Location, StoreError> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(StoreError::UnsupportedUrl {
                scheme: url
                    .split_once(':')
                    .map(|(scheme, _)| scheme)
                    .filter(|s| is_scheme(s))
                    .map(str::to_string),
            });
        };
        if !is_scheme(scheme) {
            return Err(StoreError::UnsupportedUrl { scheme: None });
        }
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" if rest.is_empty() => Err(StoreError::InvalidUrl {
                backend: Backend::Sqlite,
                reason: "no file path after sqlite://".to_string(),
            }),
            "sqlite" => Ok(Location::Sqlite(PathBuf::from(rest))),
            "postgres" | "postgresql" => PgConnectOptions::from_str(url)
                .map(|options| Location::Postgres(Box::new(options)))
                // sqlx's parse errors describe the problem without echoing the URL.
                .map_err(|e| StoreError::InvalidUrl {
                    backend: Backend::Postgres,
                    reason: e.to_string(),
                }),
            _ => Err(StoreError::UnsupportedUrl {
                scheme: Some(scheme.to_string()),
            }),
        }
    }
}

/// RFC 3986: a letter, then letters, digits, `+`, `-` or `.`; anything else is not reported back
/// (it may be part of a secret).
fn is_scheme(s: &str) -> bool {
    s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Where a PostgreSQL server is, for messages: never the user or password.
fn postgres_target(options: &PgConnectOptions) -> String {
    let place = match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    match options.get_database() {
        Some(database) => format!("{place}/{database}"),
        None => place,
    }
}

/// Where a store's search index lives unless configured otherwise: beside a SQLite file
/// (`data/flywheel.db` → `data/flywheel.index/`), or for PostgreSQL in
/// `<data_dir>/index/<host>-<port>-<database>-<hash>/` (one per replica, as each keeps its own),
/// where the hash tells apart URLs that differ in anything else (another schema in the
/// `search_path`, another user) without writing any of it, a password least of all. A URL that
/// cannot be parsed gives memory; opening the store then reports the URL's problem.
pub fn default_index_place(url: &str, data_dir: &Path) -> IndexPlace {
    match Location::parse(url) {
        Ok(Location::Sqlite(path)) => IndexPlace::Directory(path.with_extension("index")),
        Ok(Location::Postgres(pg)) => {
            let name: String = postgres_target(&pg)
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            // FNV-1a: stable across releases, unlike the standard hasher.
            let hash = url.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
            });
            IndexPlace::Directory(
                data_dir
                    .join("index")
                    .join(format!("{name}-{:08x}", hash >> 32)),
            )
        }
        Err(_) => IndexPlace::Memory,
    }
}

impl Store {
    /// Connects to the database a URL names, without migrating. See the module docs for the
    /// accepted URLs.
    #[tracing::instrument(skip(url, options))]
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let pool = match Location::parse(url)? {
            Location::Sqlite(path) => connect_sqlite(&path, options).await?,
            Location::Postgres(pg) => connect_postgres(*pg, options).await?,
        };
        Ok(Store { pool, search: None })
    }

    /// Connects, applies any embedded migrations the database lacks, and opens the search
    /// index at `options.search_index` (created, or rebuilt when it belongs to another store
    /// or layout; it catches up with the store on the first search, or at once with
    /// [`Store::sync_search`]).
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let mut store = Store::connect(url, options).await?;
        store.migrate().await?;
        store.attach_search(options.search_index.clone()).await?;
        Ok(store)
    }

    /// Applies the embedded migrations the database lacks and returns them; an up-to-date
    /// database gives an empty list. Replicas and processes starting together on a new database
    /// are safe: they take turns (an advisory lock on PostgreSQL, the write lock on SQLite) and
    /// one of them applies what is missing. Fails if an applied migration was changed or is
    /// unknown to this build.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn migrate(&self) -> Result<Vec<AppliedMigration>, StoreError> {
        let backend = self.backend();
        let applied = migrate::run(&self.pool)
            .await
            .map_err(|source| StoreError::Migrate { backend, source })?;
        for migration in &applied {
            tracing::info!(version = migration.version, description = %migration.description, "applied migration");
        }
        Ok(applied)
    }

    /// Whether the store answers and holds every migration this build knows: the versions
    /// still to apply (empty when ready), or why it does not answer.
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn missing_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let backend = self.backend();
        migrate::missing(&self.pool)
            .await
            .map_err(|source| StoreError::Migrate { backend, source })
    }

    /// Which engine this store runs on.
    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// Waits for operations in flight, then closes every connection and lets go of the search
    /// index's writer. Later operations fail.
    pub async fn close(&self) {
        self.pool.close().await;
        let store = self.clone();
        // Waiting for the index's merges is blocking work.
        let _ = tokio::task::spawn_blocking(move || store.release_search()).await;
    }
}

/// Rows SQLite's connection thread may read ahead of the task consuming them. With few, a
/// statement returning thousands of rows (an import's inserted ids) stops and wakes the two
/// threads in turn every few rows.
const SQLITE_ROWS_IN_FLIGHT: usize = 1024;

async fn connect_sqlite(path: &Path, options: &StoreOptions) -> Result<Pool, StoreError> {
    let failed = |source: sqlx::Error| StoreError::Connect {
        backend: Backend::Sqlite,
        target: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| failed(sqlx::Error::Io(e)))?;
    }
    let connect = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(options.connect_timeout)
        .row_buffer_size(SQLITE_ROWS_IN_FLIGHT);
    // Processes opening a new file together race to turn it to WAL. The loser of that race is
    // refused at once ("database is locked") instead of waiting: SQLite does not wait for a
    // lock it would need while another connection waits for one it holds. It tries again
    // shortly, within the connect timeout.
    let deadline = tokio::time::Instant::now() + options.connect_timeout;
    loop {
        let attempt = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect.clone())
            .await;
        match attempt {
            Ok(pool) => return Ok(Pool::Sqlite(pool)),
            Err(e) if is_locked(&e) && tokio::time::Instant::now() < deadline => {
                tracing::debug!("the new SQLite file is being set up by another process: {e}");
                // Spread by process, so that racing processes do not retry in step.
                let pause = Duration::from_millis(20 + u64::from(std::process::id() % 80));
                tokio::time::sleep(pause).await;
            }
            Err(e) => return Err(failed(e)),
        }
    }
}

/// Whether SQLite refused because another connection holds a lock: `SQLITE_BUSY` or
/// `SQLITE_LOCKED`, or one of their extended codes.
fn is_locked(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

async fn connect_postgres(
    connect: PgConnectOptions,
    options: &StoreOptions,
) -> Result<Pool, StoreError> {
    let failed = |source: sqlx::Error| StoreError::Connect {
        backend: Backend::Postgres,
        target: postgres_target(&connect),
        source,
    };
    // The pool retries a refused connection until its timeout and then reports only "timed out";
    // one direct connection first reports the actual cause (refused, unknown host, bad password).
    let first = tokio::time::timeout(options.connect_timeout, connect.connect())
        .await
        .map_err(|_| failed(sqlx::Error::PoolTimedOut))?
        .map_err(failed)?;
    // Closing politely is a courtesy to the server; the connection has done its job either way.
    let _ = first.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .acquire_timeout(options.connect_timeout)
        .connect_lazy_with(connect);
    Ok(Pool::Postgres(pool))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsupported(url: &str) -> Option<String> {
        match Location::parse(url) {
            Err(StoreError::UnsupportedUrl { scheme }) => scheme,
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("{url} was accepted"),
        }
    }

    #[test]
    fn urls_choose_the_backend() {
        assert!(matches!(
            Location::parse("sqlite://data/f.db"),
            Ok(Location::Sqlite(p)) if p == Path::new("data/f.db")
        ));
        assert!(matches!(
            Location::parse("sqlite:///tmp/f.db"),
            Ok(Location::Sqlite(p)) if p == Path::new("/tmp/f.db")
        ));
        assert!(matches!(
            Location::parse("postgresql://u@db.internal:6543/flywheel"),
            Ok(Location::Postgres(pg)) if postgres_target(&pg) == "db.internal:6543/flywheel"
        ));
        assert!(matches!(
            Location::parse("sqlite://"),
            Err(StoreError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn search_indexes_live_beside_sqlite_or_in_the_data_directory() {
        let data = Path::new("/var/lib/flywheel");
        assert_eq!(
            default_index_place("sqlite://data/flywheel.db", data),
            IndexPlace::Directory(PathBuf::from("data/flywheel.index"))
        );
        let IndexPlace::Directory(replica) =
            default_index_place("postgres://fw:secret@db.internal:6543/flywheel", data)
        else {
            panic!("PostgreSQL indexes live on disk");
        };
        let name = replica.file_name().unwrap().to_str().unwrap();
        assert!(
            replica.starts_with("/var/lib/flywheel/index"),
            "{replica:?}"
        );
        assert!(name.starts_with("db-internal-6543-flywheel-"), "{name}");
        assert!(!name.contains("secret") && !name.contains("fw"), "{name}");
        let other_schema = default_index_place(
            "postgres://fw:secret@db.internal:6543/flywheel?options=-c%20search_path%3Dother",
            data,
        );
        assert_ne!(other_schema, IndexPlace::Directory(replica));
        assert_eq!(default_index_place("mysql://x", data), IndexPlace::Memory);
    }

    #[test]
    fn unsupported_urls_name_the_scheme_but_nothing_else() {
        assert_eq!(unsupported("mysql://u:hunter2@h/db"), Some("mysql".into()));
        assert_eq!(unsupported("sqlite:data.db"), Some("sqlite".into()));
        assert_eq!(unsupported("hunter2"), None);
        assert_eq!(unsupported("p@ss:word://x"), None);
        let message = StoreError::UnsupportedUrl {
            scheme: Some("mysql".into()),
        }
        .to_string();
        assert!(message.contains("sqlite://") && message.contains("postgres://"));
    }
}
