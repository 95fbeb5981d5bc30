use thiserror::Error;

/// Errors from opening, migrating or querying the database.
#[derive(Debug, Error)]
pub enum StorageError {
    /// The URL is not `sqlite://…` or `postgres://…`.
    #[error("unsupported database URL {url:?}: expected sqlite://PATH or postgres://…")]
    UnsupportedUrl {
        /// The URL as given, with any password masked.
        url: String,
    },
    /// The database could not be reached or opened.
    #[error("cannot open database {url}")]
    Connect {
        /// The URL, with any password masked.
        url: String,
        /// What sqlx said.
        #[source]
        source: sqlx::Error,
    },
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// The database holds migrations this build does not know (it was written by a newer kuzet).
    #[error("database has migration {version} that this kuzet does not know; upgrade kuzet")]
    UnknownMigration {
        /// The unknown version.
        version: i64,
    },
}
