//! The append-only audit log: who did what, to what, when.
//!
//! Rows are only ever inserted; the schema's triggers refuse `UPDATE` and `DELETE` on both
//! backends, so not even a bug in kuzet can rewrite history.

use kuzet_storage::{Db, now_ms};
use serde::Serialize;
use sqlx::Row;

use crate::ReporterError;

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Sequence number.
    pub id: i64,
    /// When, ms since the epoch.
    pub at: i64,
    /// Who: a user name, or `system`/`cli:<user>`.
    pub actor: String,
    /// What, e.g. `user.add`, `case.confirm`.
    pub action: String,
    /// To what, e.g. `case:12`.
    pub target: String,
    /// Details as JSON text.
    pub detail_json: String,
}

/// Appends an entry inside an open transaction, so it commits or rolls back with the action.
pub async fn record_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    actor: &str,
    action: &str,
    target: &str,
    detail: &serde_json::Value,
) -> Result<(), ReporterError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target, detail_json) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(now_ms())
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(detail.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Appends an entry on its own.
pub async fn record(
    db: &Db,
    actor: &str,
    action: &str,
    target: &str,
    detail: &serde_json::Value,
) -> Result<(), ReporterError> {
    let mut tx = db.begin_write().await?;
    record_in(&mut tx, actor, action, target, detail).await?;
    tx.commit().await?;
    Ok(())
}

/// The newest `limit` entries, newest first.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<Entry>, ReporterError> {
    let rows = sqlx::query(
        "SELECT id, at, actor, action, target, detail_json FROM audit_log ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Entry {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                detail_json: r.try_get("detail_json")?,
            })
        })
        .collect()
}
