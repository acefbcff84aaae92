//! The embedded migrations, one folder per backend, and applying them.
//!
//! This follows what sqlx's `Migrator::run` does (lock, check what is applied, apply the rest)
//! but reports which migrations this call applied, and always releases the lock, even when a
//! migration fails. Migrations are recorded in sqlx's usual `_sqlx_migrations` table, so the
//! sqlx command-line tool reads the same history.

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
        Pool::Sqlite(pool) => apply(&mut *pool.acquire().await?, &SQLITE).await,
        Pool::Postgres(pool) => apply(&mut *pool.acquire().await?, &POSTGRES).await,
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
