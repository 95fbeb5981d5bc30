use std::path::PathBuf;

use thiserror::Error;

use crate::ReporterError;

/// Errors of report building, writing and forwarding; each names what it was working on.
#[derive(Debug, Error)]
pub enum ReportError {
    /// A week string that is not `YYYY-Www` or names a week the year does not have.
    #[error("invalid week {0:?}: expected YYYY-Www, e.g. 2026-W47")]
    BadWeek(String),
    /// A query failed.
    #[error(transparent)]
    Reporter(#[from] ReporterError),
    /// Reading or writing a file failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done (`create`, `write`, `read evidence` …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A limit was exceeded.
    #[error("report too large: {what} is {got}, the limit is {limit}")]
    Limit {
        /// Which limit.
        what: &'static str,
        /// The value found.
        got: u64,
        /// The limit.
        limit: u64,
    },
    /// Rendering a writer's output failed.
    #[error("cannot render the {format} report: {reason}")]
    Render {
        /// `html`, `pdf`, `csv` or `stix`.
        format: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// A delivery channel is misconfigured (bad address, missing host).
    #[error("forwarding channel {channel}: {reason}")]
    Channel {
        /// The channel, e.g. `smtp:mail.example.kz`.
        channel: String,
        /// What is wrong.
        reason: String,
    },
    /// A background task died.
    #[error("report task failed: {0}")]
    Task(String),
}

impl From<sqlx::Error> for ReportError {
    fn from(e: sqlx::Error) -> Self {
        ReportError::Reporter(ReporterError::from(e))
    }
}

impl ReportError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| ReportError::Io {
            action,
            path,
            source,
        }
    }
}

impl From<kuzet_storage::StorageError> for ReportError {
    fn from(e: kuzet_storage::StorageError) -> Self {
        ReportError::Reporter(ReporterError::Storage(e))
    }
}
