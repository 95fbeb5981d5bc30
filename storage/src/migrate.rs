//! The embedded migrations: `migrations/sqlite/` and `migrations/postgres/` hold the same schema
//! in two dialects; [`run`] applies whichever fits the backend and is idempotent.

use sqlx::Row;
use sqlx::migrate::Migrator;

use crate::{Backend, Db, StorageError};

static SQLITE: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("../migrations/postgres");

fn migrator(backend: Backend) -> &'static Migrator {
    match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    }
}

/// Applies every pending migration; running it again is a no-op.
pub async fn run(db: &Db) -> Result<(), StorageError> {
    migrator(db.backend()).run(db.pool()).await?;
    Ok(())
}

/// One migration and whether the database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The migration's version (the number in its file name).
    pub version: i64,
    /// Its description (the rest of the file name).
    pub description: String,
    /// Applied successfully.
    pub applied: bool,
}

/// Lists every migration this build knows and whether it is applied. A database holding a
/// migration this build does not know is an error (it was written by a newer kuzet).
pub async fn status(db: &Db) -> Result<Vec<MigrationStatus>, StorageError> {
    let exists_sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_name = '_sqlx_migrations' AND table_schema = current_schema()"
        }
    };
    let exists: i64 = sqlx::query_scalar(exists_sql).fetch_one(db.pool()).await?;
    let mut applied = Vec::new();
    if exists > 0 {
        let rows = sqlx::query(
            "SELECT version, CAST(CASE WHEN success THEN 1 ELSE 0 END AS BIGINT) AS ok \
             FROM _sqlx_migrations ORDER BY version",
        )
        .fetch_all(db.pool())
        .await?;
        for row in rows {
            applied.push((
                row.try_get::<i64, _>("version")?,
                row.try_get::<i64, _>("ok")? == 1,
            ));
        }
    }
    let known = migrator(db.backend());
    for (version, _) in &applied {
        if !known.iter().any(|m| m.version == *version) {
            return Err(StorageError::UnknownMigration { version: *version });
        }
    }
    Ok(known
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| MigrationStatus {
            version: m.version,
            description: m.description.to_string(),
            applied: applied.iter().any(|(v, ok)| *v == m.version && *ok),
        })
        .collect())
}
