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
    /// No case (or page, image, user) with this id.
    #[error("{what} {id} not found")]
    NotFound {
        /// `case`, `page`, `image`, `user`.
        what: &'static str,
        /// The id asked for.
        id: i64,
    },
    /// A case status other than new, in_review, confirmed, dismissed or forwarded.
    #[error(
        "unknown case status {0:?}: expected new, in_review, confirmed, dismissed or forwarded"
    )]
    UnknownStatus(String),
    /// The state machine does not allow this action from the case's status.
    #[error("case {case}: cannot {action} a case that is {from}")]
    InvalidTransition {
        /// The case.
        case: i64,
        /// Its status.
        from: &'static str,
        /// The refused action.
        action: &'static str,
    },
    /// Four-eyes rule: forwarding needs an approval by someone other than the confirming analyst.
    #[error("case {case}: {reason}")]
    FourEyes {
        /// The case.
        case: i64,
        /// What is missing.
        reason: &'static str,
    },
    /// The case was merged into another one; act on that one.
    #[error("case {case} was merged into case {into}")]
    Merged {
        /// The merged case.
        case: i64,
        /// Where its pages went.
        into: i64,
    },
    /// Another user changed the case at the same moment; reload and try again.
    #[error("case {0} changed concurrently; reload and retry")]
    Conflict(i64),
    /// A request that makes no sense (empty reason, split of every page, merge with itself…).
    #[error("{0}")]
    Invalid(String),
    /// An image could not be decoded or re-encoded (or exceeds the limits).
    #[error("image {id}: {reason}")]
    Image {
        /// The image id.
        id: i64,
        /// Why.
        reason: String,
    },
    /// Reading evidence (WARC record, image file) failed.
    #[error("evidence {path}: {source}")]
    Evidence {
        /// The file.
        path: String,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A template failed to render.
    #[error("template: {0}")]
    Template(#[from] askama::Error),
}

impl From<sqlx::Error> for ReporterError {
    fn from(e: sqlx::Error) -> Self {
        ReporterError::Storage(kuzet_storage::StorageError::Query(e))
    }
}
