//! Runs of scheduled jobs (table `job_runs`, owned by this crate): when each job last started,
//! so a scheduler can tell a missed run, and how each run ended.

use sqlx::Row;

use crate::{Db, StorageError, now_ms};

/// Records the start of a run of `job`; returns the run id.
pub async fn start(db: &Db, job: &str) -> Result<i64, StorageError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO job_runs (job, started_at, status) VALUES ($1, $2, 'running') RETURNING id",
    )
    .bind(job)
    .bind(now_ms())
    .fetch_one(db.pool())
    .await?)
}

/// Records how a run ended (`ok` false: failed) with a short detail.
pub async fn finish(db: &Db, run_id: i64, ok: bool, detail: &str) -> Result<(), StorageError> {
    sqlx::query("UPDATE job_runs SET finished_at = $1, status = $2, detail = $3 WHERE id = $4")
        .bind(now_ms())
        .bind(if ok { "finished" } else { "failed" })
        .bind(detail)
        .bind(run_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// When `job` last started (ms), if ever.
pub async fn last_started(db: &Db, job: &str) -> Result<Option<i64>, StorageError> {
    let row = sqlx::query("SELECT MAX(started_at) AS t FROM job_runs WHERE job = $1")
        .bind(job)
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get::<Option<i64>, _>("t")?)
}

/// Durations of finished runs in milliseconds, newest first, for `/metrics`.
pub async fn recent_durations(db: &Db, limit: i64) -> Result<Vec<(String, i64)>, StorageError> {
    let rows = sqlx::query(
        "SELECT job, finished_at - started_at AS ms FROM job_runs \
         WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("job")?, r.try_get("ms")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StorageError::from)
}
