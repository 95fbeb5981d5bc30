use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

use crate::StorageError;

/// Which database server is behind a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (the zero-set-up default).
    Sqlite,
    /// A PostgreSQL server (multi-worker and team deployments).
    Postgres,
}

/// Pool and connection settings; the defaults suit one crawl process on SQLite.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Most connections the pool opens (SQLite: writers still take turns).
    pub max_connections: u32,
    /// How long a SQLite writer waits for the lock before failing, and how long a pool waits for a
    /// free connection.
    pub busy_timeout: Duration,
    /// Run pending migrations when connecting.
    pub migrate: bool,
    /// PostgreSQL only: run every connection with this `search_path` (used by tests to isolate
    /// themselves in a schema of their own).
    pub search_path: Option<String>,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
            migrate: true,
            search_path: None,
        }
    }
}

/// A pool of connections to SQLite or PostgreSQL. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    url_masked: String,
}

/// Milliseconds since the Unix epoch, the unit of every `*_at` column.
pub fn now_ms() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The URL with any password replaced by `***`, for messages and `config show`.
pub fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

impl Db {
    /// Opens the database at `url` (`sqlite://PATH`, `sqlite::memory:`, `postgres://…`),
    /// creating a SQLite file on first use, and applies migrations unless `opts.migrate` is off.
    ///
    /// SQLite connections run with WAL journaling, foreign keys on and a busy timeout.
    pub async fn connect(url: &str, opts: &DbOptions) -> Result<Db, StorageError> {
        sqlx::any::install_default_drivers();
        let url_masked = mask_url(url);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StorageError::UnsupportedUrl { url: url_masked });
        };
        let connect_err = |source| StorageError::Connect {
            url: url_masked.clone(),
            source,
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url_with_create(url),
            Backend::Postgres => url.to_string(),
        };
        let connect_opts = AnyConnectOptions::from_str(&url)
            .map_err(connect_err)?
            .disable_statement_logging();
        // One direct connection first: a pool that cannot connect only reports a time-out,
        // while this says what went wrong (refused, unknown host, bad password, no such file).
        sqlx::AnyConnection::connect_with(&connect_opts)
            .await
            .map_err(connect_err)?
            .close()
            .await
            .map_err(connect_err)?;
        let busy_ms = opts.busy_timeout.as_millis();
        let search_path = opts.search_path.clone();
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite if url.contains(":memory:") => 1,
                _ => opts.max_connections,
            })
            .acquire_timeout(opts.busy_timeout.max(Duration::from_secs(5)))
            .after_connect(move |conn, _meta| {
                let search_path = search_path.clone();
                Box::pin(async move {
                    match backend {
                        Backend::Sqlite => {
                            conn.execute(
                                format!(
                                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_ms}; \
                                     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                                )
                                .as_str(),
                            )
                            .await?;
                        }
                        Backend::Postgres => {
                            if let Some(path) = search_path {
                                conn.execute(format!("SET search_path TO \"{path}\"").as_str())
                                    .await?;
                            }
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(connect_opts)
            .await
            .map_err(connect_err)?;
        let db = Db {
            pool,
            backend,
            url_masked,
        };
        if opts.migrate {
            crate::migrate::run(&db).await?;
        }
        Ok(db)
    }

    /// The connection pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so it waits for other writers under the busy timeout instead of
    /// failing with "database is locked" when a read later turns into a write.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StorageError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Begins a write transaction (as [`Db::begin_write`]) on a connection the caller holds, e.g.
    /// one kept for all of a crawl's writes: on SQLite its page cache then stays warm, since no
    /// other connection writes in between.
    pub async fn begin_write_on<'c>(
        &self,
        conn: &'c mut sqlx::AnyConnection,
    ) -> Result<sqlx::Transaction<'c, sqlx::Any>, StorageError> {
        Ok(match self.backend {
            Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => conn.begin().await?,
        })
    }

    /// Whether the pool can lend a connection for long while others still get one (false for
    /// an in-memory SQLite database, whose pool has a single connection).
    pub fn can_keep_connection(&self) -> bool {
        self.pool.options().get_max_connections() > 1
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL this pool was opened with, password masked.
    pub fn url_masked(&self) -> &str {
        &self.url_masked
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// sqlx opens `sqlite://x.db` only if it exists; kuzet creates it on first use.
fn sqlite_url_with_create(url: &str) -> String {
    if url.contains(":memory:") || url.contains("mode=") {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}mode=rwc")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords_only() {
        assert_eq!(
            mask_url("postgres://kuzet:s3cret@db:5432/k"),
            "postgres://kuzet:***@db:5432/k"
        );
        assert_eq!(mask_url("sqlite://kuzet.db"), "sqlite://kuzet.db");
    }

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(
            sqlite_url_with_create("sqlite://a.db"),
            "sqlite://a.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url_with_create("sqlite://a.db?x=1"),
            "sqlite://a.db?x=1&mode=rwc"
        );
        assert_eq!(sqlite_url_with_create("sqlite::memory:"), "sqlite::memory:");
    }
}
