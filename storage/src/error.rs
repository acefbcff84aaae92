//! What can go wrong in the store, worded for the operator reading the log: which backend, which
//! host or file, which operation. Passwords never appear in a message.

use crate::store::Backend;

/// An error from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names a scheme the store does not speak.
    #[error(
        "unsupported database URL{}: use sqlite://PATH (for example sqlite://data/flywheel.db) \
         or postgres://USER@HOST:PORT/DATABASE (postgresql:// also works)",
        scheme_text(.scheme)
    )]
    UnsupportedUrl {
        /// The scheme found, if the URL had one.
        scheme: Option<String>,
    },

    /// The URL has an accepted scheme but cannot be used.
    #[error("invalid {backend} database URL: {reason}")]
    InvalidUrl {
        /// Which backend the URL was for.
        backend: Backend,
        /// What is wrong with it.
        reason: String,
    },

    /// The database could not be reached or opened.
    #[error("could not connect to {backend} at {target}: {source}")]
    Connect {
        /// Which backend.
        backend: Backend,
        /// The file (SQLite) or `host:port/database` (PostgreSQL); never credentials.
        target: String,
        /// Why.
        source: sqlx::Error,
    },

    /// Applying the embedded migrations failed; nothing of the failing migration is applied.
    #[error("migrating the {backend} database failed: {source}")]
    Migrate {
        /// Which backend.
        backend: Backend,
        /// Why.
        source: sqlx::migrate::MigrateError,
    },

    /// A statement failed for a reason that is not the caller's data (connection lost, pool
    /// exhausted, disk full, ...).
    #[error("{context} failed on {backend}: {source}")]
    Query {
        /// Which backend.
        backend: Backend,
        /// The operation, in words ("upserting insights").
        context: &'static str,
        /// Why.
        source: sqlx::Error,
    },

    /// A write broke a rule of the schema (a uniqueness, reference or check constraint).
    #[error("{context} was refused by the {backend} schema: {detail}")]
    Constraint {
        /// Which backend.
        backend: Backend,
        /// The operation, in words.
        context: &'static str,
        /// The constraint, when the database names it, and its message.
        detail: String,
    },

    /// An insight cannot be stored as given.
    #[error("insight {source_name}/{source_ref} cannot be stored: {reason}")]
    InvalidInsight {
        /// Its source.
        source_name: String,
        /// Its id in the source.
        source_ref: String,
        /// What is wrong.
        reason: String,
    },

    /// The search index could not be opened, written or searched.
    #[error("{detail}")]
    Search {
        /// What failed, and where the index is.
        detail: String,
    },

    /// Stored data could not be read back into the domain model (written by another program,
    /// or by a newer version with values this one does not know).
    #[error("stored data is unreadable: {detail}")]
    Corrupt {
        /// What could not be decoded, and where.
        detail: String,
    },
}

fn scheme_text(scheme: &Option<String>) -> String {
    match scheme {
        Some(scheme) => format!(" scheme {scheme:?}"),
        None => " (no scheme)".to_string(),
    }
}

impl StoreError {
    /// Classifies a failed statement: constraint violations become [`StoreError::Constraint`],
    /// anything else [`StoreError::Query`].
    pub(crate) fn query(backend: Backend, context: &'static str, source: sqlx::Error) -> Self {
        if let Some(db) = source.as_database_error() {
            use sqlx::error::ErrorKind;
            if matches!(
                db.kind(),
                ErrorKind::UniqueViolation
                    | ErrorKind::ForeignKeyViolation
                    | ErrorKind::NotNullViolation
                    | ErrorKind::CheckViolation
            ) {
                let detail = match db.constraint() {
                    Some(name) => format!("{name}: {}", db.message()),
                    None => db.message().to_string(),
                };
                return StoreError::Constraint {
                    backend,
                    context,
                    detail,
                };
            }
        }
        StoreError::Query {
            backend,
            context,
            source,
        }
    }
}

/// Attaches the operation and backend to a failed statement.
pub(crate) trait QueryResultExt<T> {
    /// Maps a sqlx error to a [`StoreError`] naming what was being done.
    fn context(self, backend: Backend, context: &'static str) -> Result<T, StoreError>;
}

impl<T> QueryResultExt<T> for Result<T, sqlx::Error> {
    fn context(self, backend: Backend, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::query(backend, context, e))
    }
}
