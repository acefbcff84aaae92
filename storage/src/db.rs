//! Running one statement on whichever backend is open, so feature modules write each query once.
//!
//! A [`Sql`] is statement text plus its bind values. Its text can only be assembled from
//! `&'static str` fragments and numbered placeholders (`$1`, `$2`, … — SQLite accepts them too),
//! so no runtime value can ever end up inside SQL text: every value travels as a bind parameter.
//! [`Db`] runs a [`Sql`] on a SQLite or PostgreSQL connection with the same generic body, and
//! [`Pool`], [`Conn`] and [`Tx`] hand out such connections.

use std::borrow::Cow;
use std::fmt::Write as _;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{AssertSqlSafe, FromRow, Transaction};

use crate::store::Backend;

/// The most values bound to one statement. SQLite's driver looks each numbered parameter's name
/// up among all of the statement's parameters while binding, so binding a statement of numbered
/// placeholders grows with the square of its values; statements assembled by [`SqlBuilder`]
/// reach SQLite with anonymous `?` placeholders, which have no name to look up. A few thousand
/// values per statement keep a batch of 2,000 insights to a few statements (each one a round
/// trip to the database's thread), far under both engines' limits.
pub(crate) const MAX_BINDS: usize = 4_000;

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
    OptText(Option<String>),
    OptInt(Option<i64>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_string())
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::OptInt(v)
    }
}

impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::OptText(v)
    }
}

/// A statement and its bind values.
#[derive(Debug, Clone)]
pub(crate) struct Sql {
    text: Cow<'static, str>,
    /// The same statement with anonymous `?` placeholders, when its placeholders come in order,
    /// each once (as [`SqlBuilder`] writes them): what SQLite is given.
    anonymous: Option<String>,
    args: Vec<Arg>,
}

impl Sql {
    /// A statement written out in full; add its values in placeholder order with [`Sql::bind`].
    pub(crate) fn new(text: &'static str) -> Sql {
        Sql {
            text: Cow::Borrowed(text),
            anonymous: None,
            args: Vec::new(),
        }
    }

    /// Adds the value of the next placeholder.
    pub(crate) fn bind(mut self, arg: impl Into<Arg>) -> Sql {
        self.args.push(arg.into());
        self
    }

    /// The statement text, for tests and logs.
    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        &self.text
    }
}

/// Assembles a statement whose shape depends on the request (a query's clauses, a batch's size).
#[derive(Debug, Default)]
pub(crate) struct SqlBuilder {
    text: String,
    anonymous: String,
    args: Vec<Arg>,
}

impl SqlBuilder {
    /// An empty statement.
    pub(crate) fn new() -> SqlBuilder {
        SqlBuilder::default()
    }

    /// Appends fixed SQL text. Only `'static` text is accepted: values go through
    /// [`SqlBuilder::push_bind`].
    pub(crate) fn push(&mut self, fragment: &'static str) -> &mut Self {
        self.text.push_str(fragment);
        self.anonymous.push_str(fragment);
        self
    }

    /// Appends a placeholder for `arg`.
    pub(crate) fn push_bind(&mut self, arg: impl Into<Arg>) -> &mut Self {
        self.args.push(arg.into());
        // Writing into a `String` cannot fail.
        let _ = write!(self.text, "${}", self.args.len());
        self.anonymous.push('?');
        self
    }

    /// The finished statement.
    pub(crate) fn build(self) -> Sql {
        Sql {
            text: Cow::Owned(self.text),
            anonymous: Some(self.anonymous),
            args: self.args,
        }
    }
}

/// A row type that decodes on both backends (`#[derive(FromRow)]` structs and tuples do).
pub(crate) trait Record:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

impl<T> Record for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// Binds every value of a [`Sql`] to a sqlx query, whichever the backend.
macro_rules! bound {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Int(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
                Arg::OptText(v) => query.bind(v),
                Arg::OptInt(v) => query.bind(v),
            };
        }
        query
    }};
}

/// Runs the same body against whichever connection `$db` holds; `$conn` names it in the body.
macro_rules! on_backend {
    ($db:expr, $conn:ident => $body:expr) => {
        match $db {
            Db::Sqlite($conn) => $body,
            Db::Postgres($conn) => $body,
        }
    };
}

/// A connection of either backend, borrowed for a few statements.
pub(crate) enum Db<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Db<'_> {
    /// The text of `sql` for this connection's backend, and its values.
    fn text_of(&self, sql: Sql) -> (Cow<'static, str>, Vec<Arg>) {
        match (self, sql.anonymous) {
            (Db::Sqlite(_), Some(anonymous)) => (Cow::Owned(anonymous), sql.args),
            _ => (sql.text, sql.args),
        }
    }

    /// Every row of the result.
    pub(crate) async fn fetch_all<T: Record>(&mut self, sql: Sql) -> Result<Vec<T>, sqlx::Error> {
        // The text comes from `'static` fragments and placeholders only (see `SqlBuilder`).
        let (text, args) = self.text_of(sql);
        on_backend!(self, conn => {
            bound!(sqlx::query_as(AssertSqlSafe(text)), args).fetch_all(&mut **conn).await
        })
    }

    /// The first row, if any.
    pub(crate) async fn fetch_optional<T: Record>(
        &mut self,
        sql: Sql,
    ) -> Result<Option<T>, sqlx::Error> {
        let (text, args) = self.text_of(sql);
        on_backend!(self, conn => {
            bound!(sqlx::query_as(AssertSqlSafe(text)), args).fetch_optional(&mut **conn).await
        })
    }

    /// Exactly one row.
    pub(crate) async fn fetch_one<T: Record>(&mut self, sql: Sql) -> Result<T, sqlx::Error> {
        let (text, args) = self.text_of(sql);
        on_backend!(self, conn => {
            bound!(sqlx::query_as(AssertSqlSafe(text)), args).fetch_one(&mut **conn).await
        })
    }

    /// Runs a statement, returning how many rows it changed.
    pub(crate) async fn execute(&mut self, sql: Sql) -> Result<u64, sqlx::Error> {
        let (text, args) = self.text_of(sql);
        on_backend!(self, conn => {
            bound!(sqlx::query(AssertSqlSafe(text)), args)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected())
        })
    }
}

/// The connection pool of the open backend.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    /// Which backend the pool talks to.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// A connection for statements that need no transaction.
    pub(crate) async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(pool) => Conn::Sqlite(pool.acquire().await?),
            Pool::Postgres(pool) => Conn::Postgres(pool.acquire().await?),
        })
    }

    /// A transaction that will write.
    pub(crate) async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            // IMMEDIATE takes the write lock up front, waiting for it under the busy timeout,
            // instead of failing with SQLITE_BUSY when a read turns into a write mid-transaction.
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// A read-only transaction whose statements all see the same snapshot, so a search's count,
    /// candidates and breakdowns agree with each other while importers write.
    pub(crate) async fn begin_read(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            // In WAL mode a deferred transaction reads one snapshot from its first statement on.
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Pool::Postgres(pool) => Tx::Postgres(
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
        })
    }

    /// Waits for checked-out connections to come back, then closes every connection.
    pub(crate) async fn close(&self) {
        match self {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// A pooled connection of either backend.
pub(crate) enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl Conn {
    /// The connection, to run statements on.
    pub(crate) fn db(&mut self) -> Db<'_> {
        match self {
            Conn::Sqlite(conn) => Db::Sqlite(conn),
            Conn::Postgres(conn) => Db::Postgres(conn),
        }
    }
}

/// An open transaction of either backend; dropped without [`Tx::commit`], it rolls back.
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    /// The transaction's connection, to run statements on.
    pub(crate) fn db(&mut self) -> Db<'_> {
        match self {
            Tx::Sqlite(tx) => Db::Sqlite(tx),
            Tx::Postgres(tx) => Db::Postgres(tx),
        }
    }

    /// Makes the transaction's writes visible.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_numbers_placeholders_in_order() {
        let mut b = SqlBuilder::new();
        b.push("SELECT 1 WHERE a = ")
            .push_bind(7_i64)
            .push(" AND b = ")
            .push_bind("x");
        let sql = b.build();
        assert_eq!(sql.text(), "SELECT 1 WHERE a = $1 AND b = $2");
        assert_eq!(
            sql.anonymous.as_deref(),
            Some("SELECT 1 WHERE a = ? AND b = ?")
        );
        assert_eq!(sql.args, vec![Arg::Int(7), Arg::Text("x".into())]);
    }
}
