//! The scheduler of `kuzet serve`: jobs with cron expressions (UTC), no overlapping runs of a
//! job, and a run missed while kuzet was down is run once at start.
//!
//! Runs are recorded in the database (`kuzet_storage::jobs`), so "missed" survives restarts and
//! is shared by every process on the same database.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, TimeZone, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use kuzet_storage::{Db, jobs};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One scheduled job.
#[derive(Debug, Clone)]
pub struct Job<S> {
    /// Unique name, used to remember its runs.
    pub name: String,
    /// When it runs (5 fields, or 6 with seconds first), in UTC.
    pub cron: Cron,
    /// What to run, handed to the [`Runner`].
    pub spec: S,
}

/// Parses a cron expression with optional seconds; the error names the job.
pub fn parse_cron(job: &str, expr: &str) -> anyhow::Result<Cron> {
    let parser = CronParser::builder().seconds(Seconds::Optional).build();
    parser
        .parse(expr)
        .or_else(|_| Cron::from_str(expr))
        .with_context(|| format!("schedule {job:?}: bad cron expression {expr:?}"))
}

/// Runs a job's work; returns a one-line summary for the job log.
pub trait Runner<S>: Send + Sync + 'static {
    /// Runs `spec` until done or until `shutdown` turns true.
    fn run(
        &self,
        spec: S,
        shutdown: watch::Receiver<bool>,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<String>> + Send>>;
}

/// Runs the jobs until `shutdown` turns true, then waits for the runs in progress.
pub async fn run<S: Clone + Send + Sync + 'static>(
    db: Db,
    jobs: Vec<Job<S>>,
    runner: Arc<dyn Runner<S>>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut running: HashMap<String, JoinHandle<()>> = HashMap::new();
    let now = Utc::now();
    for job in &jobs {
        let last = jobs::last_started(&db, &job.name).await?;
        if missed(&job.cron, last, now) {
            tracing::info!(job = %job.name, "running a missed run at start");
            launch(&db, job, &runner, &shutdown, &mut running);
        }
    }
    loop {
        let now = Utc::now();
        let next = jobs
            .iter()
            .filter_map(|j| {
                j.cron
                    .find_next_occurrence(&now, false)
                    .ok()
                    .map(|t| (t, j))
            })
            .min_by_key(|(t, _)| *t);
        let Some((at, _)) = next else {
            // No job will ever run again: wait for shutdown.
            let _ = shutdown.wait_for(|s| *s).await;
            break;
        };
        let wait = (at - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|s| *s) => break,
        }
        for job in &jobs {
            if job.cron.is_time_matching(&at).unwrap_or(false) {
                launch(&db, job, &runner, &shutdown, &mut running);
            }
        }
    }
    for (_, handle) in running {
        let _ = handle.await;
    }
    Ok(())
}

/// True when a scheduled time passed after the last start (or the job never ran and a
/// scheduled time has passed).
fn missed(cron: &Cron, last_started_ms: Option<i64>, now: DateTime<Utc>) -> bool {
    let Ok(prev) = cron.find_previous_occurrence(&now, true) else {
        return false;
    };
    match last_started_ms.and_then(|ms| Utc.timestamp_millis_opt(ms).single()) {
        Some(last) => last < prev,
        None => true,
    }
}

fn launch<S: Clone + Send + Sync + 'static>(
    db: &Db,
    job: &Job<S>,
    runner: &Arc<dyn Runner<S>>,
    shutdown: &watch::Receiver<bool>,
    running: &mut HashMap<String, JoinHandle<()>>,
) {
    if running.get(&job.name).is_some_and(|h| !h.is_finished()) {
        tracing::warn!(job = %job.name, "skipped: the previous run is still going");
        return;
    }
    let (db, runner, shutdown) = (db.clone(), runner.clone(), shutdown.clone());
    let (name, spec) = (job.name.clone(), job.spec.clone());
    let handle = tokio::spawn(async move {
        let id = match jobs::start(&db, &name).await {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(job = %name, error = %e, "cannot record job start");
                return;
            }
        };
        let result = runner.run(spec, shutdown).await;
        let (ok, detail) = match &result {
            Ok(summary) => (true, summary.clone()),
            Err(e) => (false, format!("{e:#}")),
        };
        if ok {
            tracing::info!(job = %name, %detail, "job finished");
        } else {
            tracing::error!(job = %name, %detail, "job failed");
        }
        if let Err(e) = jobs::finish(&db, id, ok, &detail).await {
            tracing::error!(job = %name, error = %e, "cannot record job end");
        }
    });
    running.insert(job.name.clone(), handle);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use kuzet_storage::testing::TestDb;

    use super::*;

    /// Counts runs and the most runs of one job at the same time.
    #[derive(Default)]
    struct Probe {
        runs: AtomicUsize,
        active: AtomicUsize,
        max_active: AtomicUsize,
    }

    struct SlowRunner(Arc<Probe>, Duration);

    impl Runner<()> for SlowRunner {
        fn run(
            &self,
            _spec: (),
            _shutdown: watch::Receiver<bool>,
        ) -> Pin<Box<dyn Future<Output = anyhow::Result<String>> + Send>> {
            let (p, d) = (self.0.clone(), self.1);
            Box::pin(async move {
                p.runs.fetch_add(1, Ordering::SeqCst);
                let now = p.active.fetch_add(1, Ordering::SeqCst) + 1;
                p.max_active.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(d).await;
                p.active.fetch_sub(1, Ordering::SeqCst);
                Ok("done".into())
            })
        }
    }

    #[test]
    fn cron_expressions_are_validated() {
        assert!(parse_cron("a", "*/5 * * * *").is_ok());
        assert!(parse_cron("a", "*/2 * * * * *").is_ok());
        let e = parse_cron("weekly", "every tuesday")
            .unwrap_err()
            .to_string();
        assert!(e.contains("weekly") && e.contains("every tuesday"), "{e}");
    }

    #[test]
    fn missed_runs_are_detected_from_the_last_start() {
        let cron = parse_cron("y", "0 0 1 1 *").unwrap(); // yearly, 1 January 00:00 UTC
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        let before = Utc.with_ymd_and_hms(2025, 12, 31, 0, 0, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap();
        assert!(missed(&cron, None, now), "never ran");
        assert!(missed(&cron, Some(before.timestamp_millis()), now));
        assert!(!missed(&cron, Some(after.timestamp_millis()), now));
    }

    /// Every second, a job that takes 2.5 s: runs never overlap, and the schedule keeps going.
    #[tokio::test]
    async fn runs_never_overlap_and_missed_run_happens_once_at_start() {
        let t = TestDb::sqlite().await.unwrap();
        // The yearly job last ran long ago: it runs once at start, then not again.
        let old = jobs::start(&t.db, "yearly").await.unwrap();
        jobs::finish(&t.db, old, true, "").await.unwrap();
        sqlx::query("UPDATE job_runs SET started_at = 0")
            .execute(t.db.pool())
            .await
            .unwrap();
        let fast = Arc::new(Probe::default());
        let yearly = Arc::new(Probe::default());
        let (tx, rx) = watch::channel(false);
        let every_second = Job {
            name: "every-second".into(),
            cron: parse_cron("s", "* * * * * *").unwrap(),
            spec: (),
        };
        let h1 = tokio::spawn(run(
            t.db.clone(),
            vec![every_second],
            Arc::new(SlowRunner(fast.clone(), Duration::from_millis(2500))),
            rx.clone(),
        ));
        let year = Job {
            name: "yearly".into(),
            cron: parse_cron("y", "0 0 1 1 *").unwrap(),
            spec: (),
        };
        let h2 = tokio::spawn(run(
            t.db.clone(),
            vec![year],
            Arc::new(SlowRunner(yearly.clone(), Duration::from_millis(10))),
            rx,
        ));
        tokio::time::sleep(Duration::from_millis(5200)).await;
        tx.send(true).unwrap();
        h1.await.unwrap().unwrap();
        h2.await.unwrap().unwrap();
        assert_eq!(fast.max_active.load(Ordering::SeqCst), 1, "runs overlapped");
        let n = fast.runs.load(Ordering::SeqCst);
        assert!(
            (2..=3).contains(&n),
            "expected 2-3 runs of a 2.5 s job in 5 s, got {n}"
        );
        assert_eq!(
            yearly.runs.load(Ordering::SeqCst),
            1,
            "missed run not run exactly once"
        );
        let last = jobs::last_started(&t.db, "yearly").await.unwrap().unwrap();
        assert!(last > 0);
    }
}
