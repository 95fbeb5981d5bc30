//! Takedown tracking: the URLs of forwarded and confirmed cases, re-checked until they are gone.
//!
//! # Layout
//! - this module: the target [`State`]s and the pure transition rule [`decide`].
//! - [`watch`]: the watch list (table `watch_targets`: each URL of a watched case with the baseline
//!   it is compared with, its state and its last check) and the transitions (table `watch_events`,
//!   each with its WARC evidence). Only transitions and the last check are stored.
//! - [`stats`]: the weekly report's takedown figures, computed from stored transitions.
//! - [`reappear`]: a newly flagged page that joins a case whose targets are gone or blocked
//!   reopens it as "reappeared" and puts the new URL on the watch list.
//! - [`qr`]: QR watch (tables `qr_watch`, `qr_resolutions`): every http(s) QR payload re-resolved;
//!   one that starts leading to a shop opens a high-priority "QR hijack" case.
//!
//! The fetching and classification of a re-check happen in the crawler
//! (`kuzet_crawler::recheck`); the binary wires the two. This crate owns both tables.
//!
//! # States and transitions
//! A check is seen as `live`, `changed`, `blocked`, `gone_like` or `error` ([`Seen`]). [`decide`]
//! turns it into the target's state:
//! - `live`, `changed`, `blocked` are taken as they are;
//! - `gone_like` (NXDOMAIN, connection refused, 404/410) becomes `gone` only after `gone_after`
//!   consecutive failed checks; before that the target keeps `blocked` or `gone`, and otherwise
//!   becomes `error`;
//! - `error` (timeouts, TLS, other statuses) keeps `blocked` and `gone` — a target that is down
//!   stays down — and otherwise becomes `error`.
//!
//! A transition is a change of state, or new content while `changed` (changed again).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::ReporterError;

pub mod qr;
pub mod reappear;
pub mod stats;
pub mod watch;

/// Where a watched target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Not checked yet.
    Unchecked,
    /// The shop answers with the content it was forwarded with.
    Live,
    /// It answers with different content (re-scored).
    Changed,
    /// A block page or another configured block signature answers.
    Blocked,
    /// It is gone (no name, no server, 404/410 several times in a row).
    Gone,
    /// The last check failed otherwise.
    Error,
}

impl State {
    /// Every state.
    pub const ALL: [State; 6] = [
        State::Unchecked,
        State::Live,
        State::Changed,
        State::Blocked,
        State::Gone,
        State::Error,
    ];

    /// The name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unchecked => "unchecked",
            State::Live => "live",
            State::Changed => "changed",
            State::Blocked => "blocked",
            State::Gone => "gone",
            State::Error => "error",
        }
    }

    /// Live or changed: the shop still answers.
    pub fn is_up(self) -> bool {
        matches!(self, State::Live | State::Changed)
    }

    /// Blocked or gone: taken down.
    pub fn is_down(self) -> bool {
        matches!(self, State::Blocked | State::Gone)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = ReporterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| ReporterError::Invalid(format!("unknown watch state {s:?}")))
    }
}

/// What one check saw (the crawler's classification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Seen {
    /// Same shop content.
    Live,
    /// Different content.
    Changed,
    /// A block signature matched.
    Blocked,
    /// NXDOMAIN, connection refused, 404/410, empty channel.
    GoneLike,
    /// Another failure.
    Error,
}

impl FromStr for Seen {
    type Err = ReporterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "live" => Seen::Live,
            "changed" => Seen::Changed,
            "blocked" => Seen::Blocked,
            "gone_like" => Seen::GoneLike,
            "error" => Seen::Error,
            _ => {
                return Err(ReporterError::Invalid(format!(
                    "unknown check result {s:?}"
                )));
            }
        })
    }
}

/// A target's state before a check, as [`decide`] needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    /// The state.
    pub state: State,
    /// Consecutive failed checks so far.
    pub failures: i64,
    /// Text hash of the last check.
    pub last_text_hash: Option<String>,
}

/// What a check does to a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The new state.
    pub to: State,
    /// Consecutive failed checks including this one.
    pub failures: i64,
    /// Whether this check is stored as a transition (with evidence).
    pub transition: bool,
}

/// The transition rule (see the module docs). `gone_after` below 1 counts as 1.
pub fn decide(cur: &Current, seen: Seen, text_hash: Option<&str>, gone_after: i64) -> Decision {
    let failures = match seen {
        Seen::GoneLike | Seen::Error => cur.failures.saturating_add(1),
        _ => 0,
    };
    let down = cur.state.is_down();
    let to = match seen {
        Seen::Live => State::Live,
        Seen::Changed => State::Changed,
        Seen::Blocked => State::Blocked,
        Seen::GoneLike if failures >= gone_after.max(1) => State::Gone,
        Seen::GoneLike | Seen::Error if down => cur.state,
        Seen::GoneLike | Seen::Error => State::Error,
    };
    let transition = to != cur.state
        || (to == State::Changed
            && text_hash.is_some()
            && text_hash != cur.last_text_hash.as_deref());
    Decision {
        to,
        failures,
        transition,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(state: State, failures: i64, hash: Option<&str>) -> Current {
        Current {
            state,
            failures,
            last_text_hash: hash.map(str::to_string),
        }
    }

    #[test]
    fn gone_needs_consecutive_failures() {
        let d = decide(&cur(State::Live, 0, None), Seen::GoneLike, None, 3);
        assert_eq!((d.to, d.failures, d.transition), (State::Error, 1, true));
        let d = decide(&cur(State::Error, 1, None), Seen::GoneLike, None, 3);
        assert_eq!((d.to, d.failures, d.transition), (State::Error, 2, false));
        let d = decide(&cur(State::Error, 2, None), Seen::GoneLike, None, 3);
        assert_eq!((d.to, d.failures, d.transition), (State::Gone, 3, true));
        // A live answer resets the count.
        let d = decide(&cur(State::Error, 2, None), Seen::Live, Some("a"), 3);
        assert_eq!((d.to, d.failures, d.transition), (State::Live, 0, true));
        // gone_after 0 behaves as 1.
        let d = decide(&cur(State::Live, 0, None), Seen::GoneLike, None, 0);
        assert_eq!(d.to, State::Gone);
    }

    #[test]
    fn down_targets_stay_down_on_failures() {
        let d = decide(&cur(State::Blocked, 0, None), Seen::Error, None, 2);
        assert_eq!((d.to, d.failures, d.transition), (State::Blocked, 1, false));
        let d = decide(&cur(State::Blocked, 1, None), Seen::GoneLike, None, 2);
        assert_eq!((d.to, d.transition), (State::Gone, true));
        let d = decide(&cur(State::Gone, 5, None), Seen::Error, None, 2);
        assert_eq!((d.to, d.transition), (State::Gone, false));
        // A gone shop that answers again is live again.
        let d = decide(&cur(State::Gone, 5, None), Seen::Live, Some("a"), 2);
        assert_eq!((d.to, d.transition), (State::Live, true));
    }

    #[test]
    fn changed_again_is_a_transition_same_content_is_not() {
        let d = decide(&cur(State::Live, 0, Some("a")), Seen::Changed, Some("b"), 3);
        assert_eq!((d.to, d.transition), (State::Changed, true));
        let d = decide(
            &cur(State::Changed, 0, Some("b")),
            Seen::Changed,
            Some("b"),
            3,
        );
        assert!(!d.transition);
        let d = decide(
            &cur(State::Changed, 0, Some("b")),
            Seen::Changed,
            Some("c"),
            3,
        );
        assert!(d.transition);
        let d = decide(&cur(State::Live, 0, Some("a")), Seen::Live, Some("a"), 3);
        assert!(!d.transition);
        let d = decide(&cur(State::Unchecked, 0, None), Seen::Live, Some("a"), 3);
        assert_eq!((d.to, d.transition), (State::Live, true));
    }

    #[test]
    fn names_round_trip() {
        for s in State::ALL {
            assert_eq!(s.as_str().parse::<State>().unwrap(), s);
        }
        assert!("bogus".parse::<State>().is_err());
        assert_eq!("gone_like".parse::<Seen>().unwrap(), Seen::GoneLike);
    }
}
