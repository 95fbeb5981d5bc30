//! Cases: flagged pages grouped by the indicators they share, and their review workflow.
//!
//! # Layout
//! - [`group`]: [`rebuild_or_update`] groups flagged pages into cases (union-find over shared
//!   indicators, with a frequency cap against generic values), merges cases a new page bridges
//!   and reopens dismissed cases that are re-flagged.
//! - [`workflow`]: the status state machine (`new → in_review → confirmed | dismissed →
//!   forwarded`), the four-eyes rule for forwarding, notes, assignment, merge and split. Every
//!   change writes a `reviews` row and an audit entry in the same transaction.
//! - [`query`]: the queue (filters, sorting, paging) and the full case view.
//! - [`highlight`]: where the matched rules sit in a page's extracted text, as escaped-later
//!   segments for the UI.
//! - [`fixture`]: writes crawler-owned rows (pages, verdicts, indicators) for tests, benchmarks
//!   and demos; production data comes from the crawler.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::ReporterError;

pub mod fixture;
pub mod group;
pub mod highlight;
pub mod query;
pub mod workflow;

pub use group::{GroupingLimits, RebuildStats, rebuild_or_update};
pub use query::{CaseDetail, CaseSummary, Fetch, QueueFilter, Sort, get, list, list_with};
pub use workflow::{Action, Actor, apply, merge, split};

/// Where a case stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Just grouped, nobody looked yet.
    New,
    /// An analyst is on it.
    InReview,
    /// An analyst confirmed a shop; forwarding needs a second analyst's approval.
    Confirmed,
    /// Not a shop (with a reason); reopened when re-flagged.
    Dismissed,
    /// Sent to the police partners.
    Forwarded,
}

impl Status {
    /// Every status, in workflow order.
    pub const ALL: [Status; 5] = [
        Status::New,
        Status::InReview,
        Status::Confirmed,
        Status::Dismissed,
        Status::Forwarded,
    ];

    /// The name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::InReview => "in_review",
            Status::Confirmed => "confirmed",
            Status::Dismissed => "dismissed",
            Status::Forwarded => "forwarded",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = ReporterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| ReporterError::UnknownStatus(s.to_string()))
    }
}

/// An indicator as shown with a case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct IndicatorRef {
    /// Kind (`telegram`, `onion`, `bitcoin`, `phone`, `domain`…).
    pub kind: String,
    /// Normalised value.
    pub value: String,
}
