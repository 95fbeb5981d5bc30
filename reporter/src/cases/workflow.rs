//! The review workflow: one state machine ([`next_status`]) validates every status change, and
//! every change writes a `reviews` row and an audit entry in the same transaction as the change.
//!
//! ```text
//! new ──assign──► in_review ──confirm──► confirmed ──approve_forward (2nd analyst)──► confirmed
//!  │                 │                       │                                        │
//!  └──confirm/dismiss┴──dismiss──► dismissed └──────────── forward (needs approval) ──► forwarded
//!                                      └──reopen (re-flagged or by hand)──► new
//! ```
//!
//! Four-eyes: `forward` needs an `approve_forward` row, newer than the latest `confirm`, by a
//! user other than the one who confirmed; the confirming user cannot approve their own case.

use kuzet_storage::{Db, now_ms};
use serde::Serialize;
use sqlx::Row;

use super::Status;
use crate::{ReporterError, audit};

/// Who acts: a logged-in user, the CLI, or the system (grouping).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// `users.id`; `None` for the system.
    pub user_id: Option<i64>,
    /// Name written to the audit log.
    pub name: String,
}

impl Actor {
    /// The grouping job.
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            name: "system".into(),
        }
    }
    /// A user.
    pub fn user(id: i64, name: &str) -> Actor {
        Actor {
            user_id: Some(id),
            name: name.to_string(),
        }
    }
}

/// A review action on one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Assign to a user (`None` unassigns); a `new` case moves to `in_review`.
    Assign(Option<i64>),
    /// A free-text note; no status change.
    Note(String),
    /// Start reviewing: `new → in_review`.
    Start,
    /// It is a shop.
    Confirm(String),
    /// It is not a shop; the reason is required.
    Dismiss(String),
    /// Second analyst's approval for forwarding (four-eyes).
    ApproveForward(String),
    /// Sent to the police partners; needs an approval.
    Forward(String),
    /// Back to `new` (a dismissed or confirmed case).
    Reopen(String),
}

impl Action {
    /// The action's name in `reviews.action` and the audit log (`case.<name>`).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Assign(_) => "assign",
            Action::Note(_) => "note",
            Action::Start => "start",
            Action::Confirm(_) => "confirm",
            Action::Dismiss(_) => "dismiss",
            Action::ApproveForward(_) => "approve_forward",
            Action::Forward(_) => "forward",
            Action::Reopen(_) => "reopen",
        }
    }

    fn note(&self) -> String {
        match self {
            Action::Assign(u) => u.map(|u| format!("user:{u}")).unwrap_or_default(),
            Action::Start => String::new(),
            Action::Note(t)
            | Action::Confirm(t)
            | Action::Dismiss(t)
            | Action::ApproveForward(t)
            | Action::Forward(t)
            | Action::Reopen(t) => t.clone(),
        }
    }
}

/// Longest note or reason kept, in characters.
pub const MAX_NOTE_CHARS: usize = 4000;

/// The state machine: the status after `action` from `from`, or why not.
pub fn next_status(case: i64, from: Status, action: &Action) -> Result<Status, ReporterError> {
    use Status::*;
    let to = match (action, from) {
        (Action::Note(_), s) => Some(s),
        (Action::Assign(_), New) => Some(InReview),
        (Action::Assign(_), s) if s != Forwarded => Some(s),
        (Action::Start, New) => Some(InReview),
        (Action::Confirm(_), New | InReview) => Some(Confirmed),
        (Action::Dismiss(_), New | InReview | Confirmed) => Some(Dismissed),
        (Action::ApproveForward(_), Confirmed) => Some(Confirmed),
        (Action::Forward(_), Confirmed) => Some(Forwarded),
        (Action::Reopen(_), Dismissed | Confirmed) => Some(New),
        _ => None,
    };
    to.ok_or(ReporterError::InvalidTransition {
        case,
        from: from.as_str(),
        action: action.name(),
    })
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// Applies `action` to case `case` as `actor`; returns the new status.
pub async fn apply(
    db: &Db,
    actor: &Actor,
    case: i64,
    action: &Action,
) -> Result<Status, ReporterError> {
    let note = action.note();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(ReporterError::Invalid(format!(
            "note longer than {MAX_NOTE_CHARS} characters"
        )));
    }
    match action {
        Action::Note(t) | Action::Dismiss(t) if t.trim().is_empty() => {
            return Err(ReporterError::Invalid(format!(
                "case {case}: {} needs a text",
                action.name()
            )));
        }
        _ => {}
    }
    let mut tx = db.begin_write().await?;
    let from = live_status(&mut tx, case).await?;
    let to = next_status(case, from, action)?;
    match action {
        Action::ApproveForward(_) => {
            let confirmer = last_confirmer(&mut tx, case).await?;
            if confirmer.is_some() && confirmer == actor.user_id {
                return Err(ReporterError::FourEyes {
                    case,
                    reason: "the analyst who confirmed cannot approve forwarding",
                });
            }
            if actor.user_id.is_none() {
                return Err(ReporterError::FourEyes {
                    case,
                    reason: "approval needs a named user",
                });
            }
        }
        Action::Forward(_) if !has_approval(&mut tx, case).await? => {
            return Err(ReporterError::FourEyes {
                case,
                reason: "forwarding needs a second analyst's approval",
            });
        }
        Action::Assign(Some(u)) => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = $1")
                .bind(u)
                .fetch_one(&mut *tx)
                .await?;
            if n == 0 {
                return Err(ReporterError::NotFound {
                    what: "user",
                    id: *u,
                });
            }
        }
        _ => {}
    }
    let now = now_ms();
    let changed = if let Action::Assign(u) = action {
        sqlx::query(
            "UPDATE cases SET status = $1, assigned_to = $2, updated_at = $3 \
             WHERE id = $4 AND status = $5",
        )
        .bind(to.as_str())
        .bind(*u)
        .bind(now)
        .bind(case)
        .bind(from.as_str())
        .execute(&mut *tx)
        .await?
    } else {
        sqlx::query("UPDATE cases SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
            .bind(to.as_str())
            .bind(now)
            .bind(case)
            .bind(from.as_str())
            .execute(&mut *tx)
            .await?
    };
    if changed.rows_affected() != 1 {
        return Err(ReporterError::Conflict(case));
    }
    review(&mut tx, case, actor, action.name(), &note).await?;
    audit::record_in(
        &mut tx,
        &actor.name,
        &format!("case.{}", action.name()),
        &format!("case:{case}"),
        &serde_json::json!({ "from": from.as_str(), "to": to.as_str(), "note": note }),
    )
    .await?;
    tx.commit().await?;
    Ok(to)
}

async fn live_status(tx: &mut Tx<'_>, case: i64) -> Result<Status, ReporterError> {
    let r = sqlx::query("SELECT status, merged_into FROM cases WHERE id = $1")
        .bind(case)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(ReporterError::NotFound {
            what: "case",
            id: case,
        })?;
    if let Some(into) = r.try_get::<Option<i64>, _>("merged_into")? {
        return Err(ReporterError::Merged { case, into });
    }
    r.try_get::<String, _>("status")?.parse()
}

async fn last_confirmer(tx: &mut Tx<'_>, case: i64) -> Result<Option<i64>, ReporterError> {
    let r = sqlx::query(
        "SELECT user_id FROM reviews WHERE case_id = $1 AND action = 'confirm' \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(case)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match r {
        Some(r) => r.try_get::<Option<i64>, _>("user_id")?,
        None => None,
    })
}

/// True when an `approve_forward` newer than the latest `confirm` exists by another user.
async fn has_approval(tx: &mut Tx<'_>, case: i64) -> Result<bool, ReporterError> {
    let r = sqlx::query(
        "SELECT id, user_id FROM reviews WHERE case_id = $1 AND action = 'confirm' \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(case)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(r) = r else { return Ok(false) };
    let confirm_id: i64 = r.try_get("id")?;
    let confirmer: Option<i64> = r.try_get("user_id")?;
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reviews WHERE case_id = $1 AND action = 'approve_forward' \
         AND id > $2 AND user_id IS NOT NULL AND ($3 IS NULL OR user_id <> $3)",
    )
    .bind(case)
    .bind(confirm_id)
    .bind(confirmer)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

/// True when case `case` has a valid forwarding approval (for the report and the UI).
pub async fn forward_approved(db: &Db, case: i64) -> Result<bool, ReporterError> {
    let mut tx = db.begin_write().await?;
    let ok = has_approval(&mut tx, case).await?;
    tx.commit().await?;
    Ok(ok)
}

pub(crate) async fn review(
    tx: &mut Tx<'_>,
    case: i64,
    actor: &Actor,
    action: &str,
    note: &str,
) -> Result<(), ReporterError> {
    sqlx::query(
        "INSERT INTO reviews (case_id, user_id, action, note, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(case)
    .bind(actor.user_id)
    .bind(action)
    .bind(note)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts a `new` case with a `created` review row; returns its id.
pub(crate) async fn insert_case(
    tx: &mut Tx<'_>,
    title: &str,
    score: f64,
    now: i64,
) -> Result<i64, ReporterError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO cases (status, score, title, created_at, updated_at) \
         VALUES ('new', $1, $2, $3, $3) RETURNING id",
    )
    .bind(score)
    .bind(title)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    review(tx, id, &Actor::system(), "created", "").await?;
    Ok(id)
}

/// Moves `absorb`'s pages into `keep`, marks `absorb` merged, carries split-apart pairs over,
/// and records both sides' history and an audit entry.
pub(crate) async fn merge_in(
    tx: &mut Tx<'_>,
    actor: &Actor,
    keep: i64,
    absorb: i64,
) -> Result<(), ReporterError> {
    let now = now_ms();
    sqlx::query("UPDATE case_pages SET case_id = $1 WHERE case_id = $2")
        .bind(keep)
        .bind(absorb)
        .execute(&mut **tx)
        .await?;
    crate::takedown::watch::follow_merge_in(tx, keep, absorb).await?;
    sqlx::query("UPDATE cases SET merged_into = $1, updated_at = $2 WHERE id = $3")
        .bind(keep)
        .bind(now)
        .bind(absorb)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE cases SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(keep)
        .execute(&mut **tx)
        .await?;
    for (mine, other) in [("case_a", "case_b"), ("case_b", "case_a")] {
        sqlx::query(&format!(
            "INSERT INTO case_apart (case_a, case_b, created_at) \
             SELECT $1, {other}, created_at FROM case_apart WHERE {mine} = $2 AND {other} <> $1 \
             ON CONFLICT DO NOTHING"
        ))
        .bind(keep)
        .bind(absorb)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("DELETE FROM case_apart WHERE case_a = $1 OR case_b = $1")
        .bind(absorb)
        .execute(&mut **tx)
        .await?;
    review(tx, keep, actor, "merge", &format!("absorbed case {absorb}")).await?;
    review(tx, absorb, actor, "merged_into", &format!("case {keep}")).await?;
    audit::record_in(
        tx,
        &actor.name,
        "case.merge",
        &format!("case:{keep}"),
        &serde_json::json!({ "absorbed": absorb }),
    )
    .await
}

/// Reopens a dismissed case (re-flagged) with a `reopen` review row.
pub(crate) async fn reopen_in(
    tx: &mut Tx<'_>,
    actor: &Actor,
    case: i64,
    why: &str,
) -> Result<(), ReporterError> {
    sqlx::query("UPDATE cases SET status = 'new', updated_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(case)
        .execute(&mut **tx)
        .await?;
    review(tx, case, actor, "reopen", why).await?;
    audit::record_in(
        tx,
        &actor.name,
        "case.reopen",
        &format!("case:{case}"),
        &serde_json::json!({ "why": why }),
    )
    .await
}

/// Merges cases by hand: everything goes into the oldest (lowest id), which is returned.
/// A split-apart pair among them is lifted (the analyst overrides the earlier split).
pub async fn merge(db: &Db, actor: &Actor, cases: &[i64]) -> Result<i64, ReporterError> {
    let mut ids: Vec<i64> = cases.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() < 2 {
        return Err(ReporterError::Invalid(
            "merge needs at least two different cases".into(),
        ));
    }
    let mut tx = db.begin_write().await?;
    for id in &ids {
        live_status(&mut tx, *id).await?;
    }
    let keep = ids[0];
    for &absorb in &ids[1..] {
        sqlx::query(
            "DELETE FROM case_apart WHERE (case_a = $1 AND case_b = $2) OR (case_a = $2 AND case_b = $1)",
        )
        .bind(keep)
        .bind(absorb)
        .execute(&mut *tx)
        .await?;
        merge_in(&mut tx, actor, keep, absorb).await?;
    }
    rescore(&mut tx, keep).await?;
    tx.commit().await?;
    Ok(keep)
}

/// Moves `pages` of case `case` into a new case (status `new`), which automatic grouping keeps
/// apart from `case` from now on; returns the new case's id.
pub async fn split(db: &Db, actor: &Actor, case: i64, pages: &[i64]) -> Result<i64, ReporterError> {
    let mut pages = pages.to_vec();
    pages.sort_unstable();
    pages.dedup();
    let mut tx = db.begin_write().await?;
    live_status(&mut tx, case).await?;
    let mine: Vec<i64> =
        sqlx::query_scalar("SELECT page_id FROM case_pages WHERE case_id = $1 ORDER BY page_id")
            .bind(case)
            .fetch_all(&mut *tx)
            .await?;
    if pages.is_empty() || pages.iter().any(|p| !mine.contains(p)) || pages.len() >= mine.len() {
        return Err(ReporterError::Invalid(format!(
            "case {case}: split needs some, but not all, of the case's pages"
        )));
    }
    let now = now_ms();
    let id = insert_case(&mut tx, "", 0.0, now).await?;
    for p in &pages {
        sqlx::query("UPDATE case_pages SET case_id = $1 WHERE page_id = $2")
            .bind(id)
            .bind(p)
            .execute(&mut *tx)
            .await?;
    }
    let title: Option<String> =
        sqlx::query_scalar("SELECT COALESCE(NULLIF(title, ''), url) FROM pages WHERE id = $1")
            .bind(pages[0])
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
    sqlx::query("UPDATE cases SET title = $1 WHERE id = $2")
        .bind(
            title
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect::<String>(),
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO case_apart (case_a, case_b, created_at) VALUES ($1, $2, $3)")
        .bind(case)
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let list = pages
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",");
    review(
        &mut tx,
        case,
        actor,
        "split",
        &format!("pages {list} → case {id}"),
    )
    .await?;
    review(&mut tx, id, actor, "split_from", &format!("case {case}")).await?;
    audit::record_in(
        &mut tx,
        &actor.name,
        "case.split",
        &format!("case:{case}"),
        &serde_json::json!({ "new_case": id, "pages": pages }),
    )
    .await?;
    rescore(&mut tx, case).await?;
    rescore(&mut tx, id).await?;
    tx.commit().await?;
    Ok(id)
}

/// Sets a case's score to the best newest-verdict score among its pages.
async fn rescore(tx: &mut Tx<'_>, case: i64) -> Result<(), ReporterError> {
    let s: Option<f64> = sqlx::query_scalar(
        "SELECT MAX(v.score) FROM case_pages cp JOIN verdicts v ON v.page_id = cp.page_id \
         WHERE cp.case_id = $1 \
         AND v.id = (SELECT MAX(v2.id) FROM verdicts v2 WHERE v2.page_id = cp.page_id)",
    )
    .bind(case)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query("UPDATE cases SET score = $1 WHERE id = $2")
        .bind(s.unwrap_or(0.0))
        .bind(case)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole transition table, row by row: (from, action, expected).
    #[test]
    fn state_machine_table() {
        use Status::*;
        let t = || String::from("x");
        let actions = [
            Action::Assign(Some(1)),
            Action::Note(t()),
            Action::Start,
            Action::Confirm(t()),
            Action::Dismiss(t()),
            Action::ApproveForward(t()),
            Action::Forward(t()),
            Action::Reopen(t()),
        ];
        // Expected result per (from, action index); None = refused.
        let table: [(Status, [Option<Status>; 8]); 5] = [
            (
                New,
                [
                    Some(InReview),
                    Some(New),
                    Some(InReview),
                    Some(Confirmed),
                    Some(Dismissed),
                    None,
                    None,
                    None,
                ],
            ),
            (
                InReview,
                [
                    Some(InReview),
                    Some(InReview),
                    None,
                    Some(Confirmed),
                    Some(Dismissed),
                    None,
                    None,
                    None,
                ],
            ),
            (
                Confirmed,
                [
                    Some(Confirmed),
                    Some(Confirmed),
                    None,
                    None,
                    Some(Dismissed),
                    Some(Confirmed),
                    Some(Forwarded),
                    Some(New),
                ],
            ),
            (
                Dismissed,
                [
                    Some(Dismissed),
                    Some(Dismissed),
                    None,
                    None,
                    None,
                    None,
                    None,
                    Some(New),
                ],
            ),
            (
                Forwarded,
                [None, Some(Forwarded), None, None, None, None, None, None],
            ),
        ];
        for (from, row) in table {
            for (a, want) in actions.iter().zip(row) {
                let got = next_status(7, from, a).ok();
                assert_eq!(got, want, "{from} --{}-->", a.name());
            }
        }
    }
}
