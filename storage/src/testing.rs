//! Throw-away databases for tests, on both backends.
//!
//! PostgreSQL tests read `KUZET_TEST_DATABASE_URL`; each [`TestDb`] gets a schema of its own so
//! tests run in parallel, and drops it in [`TestDb::cleanup`]. When the variable is unset the
//! PostgreSQL half of a test prints that it was skipped — unless `KUZET_REQUIRE_POSTGRES=1`
//! (set by `.ci/run`), which turns the missing variable into a test failure.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Backend, Db, DbOptions, StorageError};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A migrated, empty database that lives as long as the test.
#[derive(Debug)]
pub struct TestDb {
    /// The open database.
    pub db: Db,
    /// The URL other processes (the `kuzet` binary under test) can open it with.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

impl TestDb {
    /// A fresh SQLite file in a temporary directory.
    pub async fn sqlite() -> Result<TestDb, StorageError> {
        let dir = tempfile::tempdir().map_err(|e| StorageError::Query(sqlx::Error::Io(e)))?;
        let url = format!("sqlite://{}", dir.path().join("kuzet.db").display());
        let db = Db::connect(&url, &DbOptions::default()).await?;
        Ok(TestDb {
            db,
            url,
            _dir: Some(dir),
            schema: None,
        })
    }

    /// A fresh schema on the server named by `KUZET_TEST_DATABASE_URL`; `None` (after saying so
    /// on stderr) when the variable is unset.
    pub async fn postgres() -> Result<Option<TestDb>, StorageError> {
        Self::postgres_with(true).await
    }

    /// Like [`TestDb::postgres`], with migrations applied only when `migrate` is true (an empty
    /// schema lets tests check what `kuzet db migrate` does to a fresh database).
    pub async fn postgres_with(migrate: bool) -> Result<Option<TestDb>, StorageError> {
        let Some(base) = postgres_url() else {
            return Ok(None);
        };
        let schema = format!(
            "kuzet_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            crate::now_ms() % 1_000_000
        );
        let admin = Db::connect(
            &base,
            &DbOptions {
                migrate: false,
                max_connections: 1,
                ..DbOptions::default()
            },
        )
        .await?;
        sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
            .execute(admin.pool())
            .await?;
        admin.close().await;
        let db = Db::connect(
            &base,
            &DbOptions {
                search_path: Some(schema.clone()),
                migrate,
                ..DbOptions::default()
            },
        )
        .await?;
        let url = with_search_path(&base, &schema);
        Ok(Some(TestDb {
            db,
            url,
            _dir: None,
            schema: Some((base, schema)),
        }))
    }

    /// Every backend available to this test run: SQLite always, PostgreSQL when configured.
    pub async fn all() -> Result<Vec<TestDb>, StorageError> {
        let mut dbs = vec![TestDb::sqlite().await?];
        if let Some(pg) = TestDb::postgres().await? {
            dbs.push(pg);
        }
        Ok(dbs)
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// Closes the pool and drops the PostgreSQL schema (the SQLite directory goes with `self`).
    pub async fn cleanup(self) -> Result<(), StorageError> {
        self.db.close().await;
        if let Some((base, schema)) = &self.schema {
            let admin = Db::connect(
                base,
                &DbOptions {
                    migrate: false,
                    max_connections: 1,
                    ..DbOptions::default()
                },
            )
            .await?;
            sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .execute(admin.pool())
                .await?;
            admin.close().await;
        }
        Ok(())
    }
}

/// `KUZET_TEST_DATABASE_URL`, or `None` after printing that PostgreSQL tests are skipped.
///
/// # Panics
/// When the variable is unset but `KUZET_REQUIRE_POSTGRES=1`: CI must never skip silently.
pub fn postgres_url() -> Option<String> {
    match std::env::var("KUZET_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("KUZET_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "KUZET_REQUIRE_POSTGRES=1 but KUZET_TEST_DATABASE_URL is not set"
            );
            eprintln!("SKIPPED (PostgreSQL): KUZET_TEST_DATABASE_URL is not set");
            None
        }
    }
}

/// A PostgreSQL URL whose connections use `schema`, for child processes (libpq `options`).
pub fn with_search_path(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}
