//! The embedded migrations, one folder per backend, and applying them.
//!
//! This follows what sqlx's `Migrator::run` does (lock, check what is applied, apply the rest)
//! but reports which migrations this call applied, and always releases the lock, even when a
//! migration fails. Migrations are recorded in sqlx's usual `_sqlx_migrations` table, so the
//! sqlx command-line tool reads the same history.
//!
//! Processes starting together on a new database take turns. On PostgreSQL an advisory lock
//! serializes them. SQLite has no such lock (sqlx's `lock` does nothing there), so the check and
//! the migrations run in one `BEGIN IMMEDIATE` transaction: it takes the write lock before
//! reading what is applied, and a second process waits for it (up to the busy timeout) and then
//! finds everything applied, instead of failing with "database is locked" or "table already
//! exists". The whole history applies at once or not at all, which is also why SQLite
//! migrations must not be marked `-- no-transaction`.

use sqlx::Connection;
use sqlx::migrate::{Migrate, MigrateError, Migrator};

use crate::db::Pool;
use crate::store::AppliedMigration;

/// The SQLite schema's history (`migrations/sqlite/`).
static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");

/// The PostgreSQL schema's history (`migrations/postgres/`).
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// Where applied migrations are recorded.
const TABLE: &str = "_sqlx_migrations";

/// Applies what the database lacks, returning what was applied.
pub(crate) async fn run(pool: &Pool) -> Result<Vec<AppliedMigration>, MigrateError> {
    match pool {
        Pool::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
            match apply_locked(&mut *tx, &SQLITE).await {
                Ok(applied) => {
                    tx.commit().await?;
                    Ok(applied)
                }
                Err(e) => {
                    // The migration's own error is the one worth reporting.
                    let _ = tx.rollback().await;
                    Err(e)
                }
            }
        }
        Pool::Postgres(pool) => apply(&mut *pool.acquire().await?, &POSTGRES).await,
    }
}

/// The versions this build knows that the database has not applied (an empty list when it is
/// up to date). Reads only: safe to call often, from any replica.
pub(crate) async fn missing(pool: &Pool) -> Result<Vec<i64>, MigrateError> {
    async fn missing_on<C: Migrate>(
        conn: &mut C,
        migrator: &Migrator,
    ) -> Result<Vec<i64>, MigrateError> {
        conn.ensure_migrations_table(TABLE).await?;
        let done = conn.list_applied_migrations(TABLE).await?;
        Ok(migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .filter(|m| !done.iter().any(|d| d.version == m.version))
            .map(|m| m.version)
            .collect())
    }
    match pool {
        Pool::Sqlite(pool) => missing_on(&mut *pool.acquire().await?, &SQLITE).await,
        Pool::Postgres(pool) => missing_on(&mut *pool.acquire().await?, &POSTGRES).await,
    }
}

async fn apply<C: Migrate>(
    conn: &mut C,
    migrator: &Migrator,
) -> Result<Vec<AppliedMigration>, MigrateError> {
    conn.lock().await?;
    let applied = apply_locked(conn, migrator).await;
    let unlocked = conn.unlock().await;
    let applied = applied?;
    unlocked?;
    Ok(applied)
}

async fn apply_locked<C: Migrate>(
    conn: &mut C,
    migrator: &Migrator,
) -> Result<Vec<AppliedMigration>, MigrateError> {
    conn.ensure_migrations_table(TABLE).await?;
    if let Some(version) = conn.dirty_version(TABLE).await? {
        return Err(MigrateError::Dirty(version));
    }
    let known: Vec<_> = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect();
    let done = conn.list_applied_migrations(TABLE).await?;
    for applied in &done {
        match known.iter().find(|m| m.version == applied.version) {
            None => return Err(MigrateError::VersionMissing(applied.version)),
            Some(m) if m.checksum != applied.checksum => {
                return Err(MigrateError::VersionMismatch(applied.version));
            }
            Some(_) => {}
        }
    }
    let mut applied_now = Vec::new();
    for migration in known {
        if done.iter().any(|d| d.version == migration.version) {
            continue;
        }
        conn.apply(TABLE, migration).await?;
        applied_now.push(AppliedMigration {
            version: migration.version,
            description: migration.description.to_string(),
        });
    }
    Ok(applied_now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_migrations_can_run_inside_the_locking_transaction() {
        // A `-- no-transaction` migration (VACUUM, say) would fail inside `BEGIN IMMEDIATE`.
        assert!(SQLITE.iter().all(|m| !m.no_tx));
    }
}
