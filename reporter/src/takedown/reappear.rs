//! Reappearance: a shop taken down (targets `gone` or `blocked`) shows up again on a new URL.
//!
//! Grouping ([`crate::cases::rebuild_or_update`]) already puts a newly flagged page that shares an
//! indicator with a case into that case. [`mark_in`] runs at the end of the same transaction: for
//! each case that gained pages and has a watched target that is gone or blocked, the new pages'
//! URLs are put on the watch list as `reappeared` targets, and the case is reopened (status `new`,
//! reason `reappeared`, a `reopen` review naming the new URLs) so an analyst sees the old and the
//! new URLs together and can forward the new ones.

use kuzet_storage::now_ms;
use sqlx::Row;

use super::watch::add_page_in;
use crate::ReporterError;
use crate::cases::workflow::{Actor, reopen_in};

/// Telegram previews are told apart later by the re-check (which knows the configured base);
/// grouping only knows the public default.
const DEFAULT_TELEGRAM_BASE: &str = "https://t.me/s/";

/// Marks reappeared cases among `gained` (cases that got pages in this grouping run, added at
/// `added_at`), skipping `already_reopened`. Returns the reappeared case ids.
pub(crate) async fn mark_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    gained: &[i64],
    already_reopened: &[i64],
    added_at: i64,
) -> Result<Vec<i64>, ReporterError> {
    let mut out = Vec::new();
    for &case in gained {
        let down: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM watch_targets WHERE case_id = $1 AND state IN ('gone', 'blocked')",
        )
        .bind(case)
        .fetch_one(&mut **tx)
        .await?;
        if down == 0 {
            continue;
        }
        let fresh = sqlx::query(
            "SELECT cp.page_id, p.url FROM case_pages cp JOIN pages p ON p.id = cp.page_id \
             WHERE cp.case_id = $1 AND cp.added_at = $2 \
             AND NOT EXISTS (SELECT 1 FROM watch_targets w WHERE w.case_id = $1 AND w.url = p.url) \
             ORDER BY cp.page_id",
        )
        .bind(case)
        .bind(added_at)
        .fetch_all(&mut **tx)
        .await?;
        let mut urls = Vec::new();
        for r in &fresh {
            let page: i64 = r.try_get("page_id")?;
            if add_page_in(tx, case, page, "reappeared", DEFAULT_TELEGRAM_BASE).await? > 0 {
                urls.push(r.try_get::<String, _>("url")?);
            }
        }
        if urls.is_empty() {
            continue;
        }
        if !already_reopened.contains(&case) {
            let mut why = format!("reappeared: {}", urls.join(" "));
            why = why.chars().take(1000).collect();
            reopen_in(tx, &Actor::system(), case, &why).await?;
        }
        sqlx::query("UPDATE cases SET reason = 'reappeared', updated_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(case)
            .execute(&mut **tx)
            .await?;
        out.push(case);
    }
    Ok(out)
}
