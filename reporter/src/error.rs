use thiserror::Error;

/// Errors of the reporter crate.
#[derive(Debug, Error)]
pub enum ReporterError {
    /// A database query failed.
    #[error(transparent)]
    Storage(#[from] kuzet_storage::StorageError),
    /// A user name is empty, too long or has characters outside `[A-Za-z0-9._-]`.
    #[error("invalid user name {0:?}: use 1-64 characters from A-Z a-z 0-9 . _ -")]
    InvalidUserName(String),
    /// A role other than admin, analyst, liaison or volunteer.
    #[error("unknown role {0:?}: expected admin, analyst, liaison or volunteer")]
    UnknownRole(String),
    /// A password shorter than the minimum.
    #[error("password too short: at least {min} characters")]
    WeakPassword {
        /// The minimum length.
        min: usize,
    },
    /// The user already exists.
    #[error("user {0:?} already exists")]
    UserExists(String),
    /// Hashing failed (should not happen with valid parameters).
    #[error("password hashing failed: {0}")]
    Hash(String),
}

impl From<sqlx::Error> for ReporterError {
    fn from(e: sqlx::Error) -> Self {
        ReporterError::Storage(kuzet_storage::StorageError::Query(e))
    }
}
