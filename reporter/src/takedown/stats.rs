//! The takedown figures of the weekly report, computed from stored transitions only.
//!
//! A forwarded case (its first `forward` review) is, at time `as_of`:
//! - `live` when any of its targets is `live` or `changed`;
//! - otherwise `blocked` when a target is blocked, `gone` when a target is gone and none is
//!   blocked (taken down);
//! - otherwise `unknown` (never checked, or only errors).
//!
//! Time to takedown is from the first forwarding to the start of the case's current taken-down
//! stretch (a case that came back and went down again counts from the last time it went down).
//! Cases already down when they were forwarded are not in the time figures. Percentiles use the
//! nearest-rank method on the sorted times: the median is the value at rank ⌈n/2⌉, the 90th
//! percentile the value at rank ⌈0.9·n⌉.

use std::collections::{BTreeMap, HashMap};

use kuzet_storage::Db;
use serde::Serialize;
use sqlx::Row;

use super::State;
use crate::ReporterError;

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// A forwarded case and the transitions of its targets.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseHistory {
    /// Case id.
    pub case_id: i64,
    /// Title.
    pub title: String,
    /// First forwarding.
    pub forwarded_at: i64,
    /// (target id, URL).
    pub targets: Vec<(i64, String)>,
    /// (target id, time, new state), in time order.
    pub events: Vec<(i64, i64, State)>,
}

/// A still-live shop to resend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resend {
    /// Case id.
    pub case_id: i64,
    /// Title.
    pub title: String,
    /// URLs live or changed at `as_of`.
    pub urls: Vec<String>,
    /// First forwarding.
    pub forwarded_at: i64,
    /// Whole days since forwarding.
    pub days_since_forwarding: i64,
}

/// The takedown section's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// The time the figures describe.
    pub as_of: i64,
    /// Start of the report period (for `forwarded_in_period`).
    pub period_start: i64,
    /// The N of "still live after N days".
    pub still_live_days: i64,
    /// Cases forwarded up to `as_of`.
    pub forwarded: i64,
    /// Cases first forwarded in [`period_start`, `as_of`].
    pub forwarded_in_period: i64,
    /// Forwarded cases blocked at `as_of`.
    pub blocked: i64,
    /// Forwarded cases gone at `as_of`.
    pub gone: i64,
    /// Forwarded cases live at `as_of`.
    pub live: i64,
    /// Forwarded cases never reached or only failing.
    pub unknown: i64,
    /// Live cases forwarded at least `still_live_days` days before `as_of`.
    pub still_live_after_days: i64,
    /// Median time from forwarding to blocked/gone, in ms.
    pub median_ms_to_takedown: Option<i64>,
    /// 90th percentile of the same, in ms.
    pub p90_ms_to_takedown: Option<i64>,
    /// How many times the percentiles are computed from.
    pub takedown_times: i64,
    /// The still-live shops to resend (oldest forwarding first).
    pub resend: Vec<Resend>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CaseState {
    Live,
    Blocked,
    Gone,
    Unknown,
}

fn case_state(states: &HashMap<i64, State>) -> CaseState {
    if states.values().any(|s| s.is_up()) {
        CaseState::Live
    } else if states.values().any(|s| *s == State::Blocked) {
        CaseState::Blocked
    } else if states.values().any(|s| *s == State::Gone) {
        CaseState::Gone
    } else {
        CaseState::Unknown
    }
}

/// Nearest-rank percentile of sorted values (`p` in 1..=100).
pub fn nearest_rank(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (u64::from(p.clamp(1, 100)) * n).div_ceil(100).max(1);
    sorted.get((rank - 1) as usize).copied()
}

/// The figures at `as_of` (events after it are ignored). Pure: tests feed it hand-made histories.
pub fn compute(
    cases: &[CaseHistory],
    as_of: i64,
    period_start: i64,
    still_live_days: i64,
) -> Figures {
    let mut f = Figures {
        as_of,
        period_start,
        still_live_days,
        ..Figures::default()
    };
    let mut times = Vec::new();
    for c in cases.iter().filter(|c| c.forwarded_at <= as_of) {
        f.forwarded += 1;
        if c.forwarded_at >= period_start {
            f.forwarded_in_period += 1;
        }
        let mut states: HashMap<i64, State> = HashMap::new();
        let mut down_since: Option<i64> = None;
        let mut events: Vec<&(i64, i64, State)> =
            c.events.iter().filter(|e| e.1 <= as_of).collect();
        events.sort_by_key(|e| e.1);
        for (target, at, to) in events {
            let before = case_state(&states);
            states.insert(*target, *to);
            let after = case_state(&states);
            let was_down = matches!(before, CaseState::Blocked | CaseState::Gone);
            let is_down = matches!(after, CaseState::Blocked | CaseState::Gone);
            if is_down && !was_down {
                down_since = Some(*at);
            } else if !is_down {
                down_since = None;
            }
        }
        match case_state(&states) {
            CaseState::Live => {
                f.live += 1;
                if c.forwarded_at <= as_of - still_live_days * DAY_MS {
                    f.still_live_after_days += 1;
                    let mut urls: Vec<String> = c
                        .targets
                        .iter()
                        .filter(|(t, _)| states.get(t).is_some_and(|s| s.is_up()))
                        .map(|(_, u)| u.clone())
                        .collect();
                    urls.sort();
                    f.resend.push(Resend {
                        case_id: c.case_id,
                        title: c.title.clone(),
                        urls,
                        forwarded_at: c.forwarded_at,
                        days_since_forwarding: (as_of - c.forwarded_at) / DAY_MS,
                    });
                }
            }
            CaseState::Blocked => f.blocked += 1,
            CaseState::Gone => f.gone += 1,
            CaseState::Unknown => f.unknown += 1,
        }
        if let Some(down) = down_since
            && down >= c.forwarded_at
        {
            times.push(down - c.forwarded_at);
        }
    }
    times.sort_unstable();
    f.takedown_times = times.len() as i64;
    f.median_ms_to_takedown = nearest_rank(&times, 50);
    f.p90_ms_to_takedown = nearest_rank(&times, 90);
    f.resend.sort_by_key(|r| (r.forwarded_at, r.case_id));
    f
}

/// Loads every forwarded case's history up to `as_of` from the database.
pub async fn load(db: &Db, as_of: i64) -> Result<Vec<CaseHistory>, ReporterError> {
    let mut cases: BTreeMap<i64, CaseHistory> = BTreeMap::new();
    for r in sqlx::query(
        "SELECT r.case_id, MIN(r.created_at) AS forwarded_at, MIN(c.title) AS title \
         FROM reviews r JOIN cases c ON c.id = r.case_id \
         WHERE r.action = 'forward' AND r.created_at <= $1 GROUP BY r.case_id",
    )
    .bind(as_of)
    .fetch_all(db.pool())
    .await?
    {
        let id: i64 = r.try_get("case_id")?;
        cases.insert(
            id,
            CaseHistory {
                case_id: id,
                title: r.try_get("title")?,
                forwarded_at: r.try_get("forwarded_at")?,
                targets: Vec::new(),
                events: Vec::new(),
            },
        );
    }
    for r in sqlx::query("SELECT id, case_id, url FROM watch_targets ORDER BY id")
        .fetch_all(db.pool())
        .await?
    {
        let case: i64 = r.try_get("case_id")?;
        if let Some(c) = cases.get_mut(&case) {
            c.targets.push((r.try_get("id")?, r.try_get("url")?));
        }
    }
    for r in sqlx::query(
        "SELECT target_id, case_id, at, to_state FROM watch_events WHERE at <= $1 ORDER BY at, id",
    )
    .bind(as_of)
    .fetch_all(db.pool())
    .await?
    {
        let case: i64 = r.try_get("case_id")?;
        if let Some(c) = cases.get_mut(&case) {
            c.events.push((
                r.try_get("target_id")?,
                r.try_get("at")?,
                r.try_get::<String, _>("to_state")?.parse()?,
            ));
        }
    }
    Ok(cases.into_values().collect())
}

/// [`load`] then [`compute`].
pub async fn figures(
    db: &Db,
    as_of: i64,
    period_start: i64,
    still_live_days: i64,
) -> Result<Figures, ReporterError> {
    Ok(compute(
        &load(db, as_of).await?,
        as_of,
        period_start,
        still_live_days,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn case(id: i64, fwd: i64, targets: &[i64], events: &[(i64, i64, State)]) -> CaseHistory {
        CaseHistory {
            case_id: id,
            title: format!("case {id}"),
            forwarded_at: fwd,
            targets: targets
                .iter()
                .map(|t| (*t, format!("http://t{t}.test/")))
                .collect(),
            events: events.to_vec(),
        }
    }

    #[test]
    fn nearest_rank_by_hand() {
        let v = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
        assert_eq!(nearest_rank(&v, 50), Some(50));
        assert_eq!(nearest_rank(&v, 90), Some(90));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[1, 2, 3], 50), Some(2));
        assert_eq!(nearest_rank(&[], 50), None);
    }

    /// Seven cases, figures checked by hand. Week: days 14..21; as_of = day 21 (0 h).
    #[test]
    fn hand_checked_fixture() {
        use State::*;
        let d = DAY_MS;
        let as_of = 21 * d;
        let cases = vec![
            // 1: forwarded day 1, live day 1, blocked day 3 (+2 d), gone day 9. Down since day 3:
            //    time 48 h. State gone.
            case(
                1,
                d,
                &[11],
                &[(11, d, Live), (11, 3 * d, Blocked), (11, 9 * d, Gone)],
            ),
            // 2: forwarded day 2, live, still live at as_of (19 days): resend.
            case(2, 2 * d, &[21], &[(21, 2 * d + H, Live)]),
            // 3: forwarded day 15 (in period), two targets: one gone day 16, the other live →
            //    live; forwarded 6 days ago, under N = 7: not in the resend list.
            case(
                3,
                15 * d,
                &[31, 32],
                &[(31, 15 * d, Live), (32, 15 * d, Live), (31, 16 * d, Gone)],
            ),
            // 4: forwarded day 5, blocked day 5 + 6 h, back live day 8, blocked again day 10:
            //    time from forwarding to the current stretch = 5 days.
            case(
                4,
                5 * d,
                &[41],
                &[
                    (41, 5 * d, Live),
                    (41, 5 * d + 6 * H, Blocked),
                    (41, 8 * d, Changed),
                    (41, 10 * d, Blocked),
                ],
            ),
            // 5: forwarded day 12, only errors: unknown.
            case(5, 12 * d, &[51], &[(51, 12 * d, Error)]),
            // 6: forwarded day 6, gone day 7 + 12 h (36 h); an event after as_of is ignored.
            case(
                6,
                6 * d,
                &[61],
                &[
                    (61, 6 * d, Live),
                    (61, 7 * d + 12 * H, Gone),
                    (61, 22 * d, Live),
                ],
            ),
            // 7: forwarded after as_of: not counted at all.
            case(7, 22 * d, &[71], &[(71, 22 * d, Live)]),
        ];
        let f = compute(&cases, as_of, 14 * d, 7);
        assert_eq!(f.forwarded, 6);
        assert_eq!(f.forwarded_in_period, 1);
        assert_eq!((f.live, f.blocked, f.gone, f.unknown), (2, 1, 2, 1));
        assert_eq!(f.still_live_after_days, 1);
        // Times: 48 h (1), 120 h (4), 36 h (6) → sorted 36, 48, 120.
        assert_eq!(f.takedown_times, 3);
        assert_eq!(f.median_ms_to_takedown, Some(48 * H));
        assert_eq!(f.p90_ms_to_takedown, Some(120 * H));
        assert_eq!(
            f.resend,
            vec![Resend {
                case_id: 2,
                title: "case 2".into(),
                urls: vec!["http://t21.test/".into()],
                forwarded_at: 2 * d,
                days_since_forwarding: 19,
            }]
        );
    }
}
