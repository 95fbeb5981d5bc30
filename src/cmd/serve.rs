//! `kuzet serve [--bind ADDR]`: the analyst web UI and JSON API, `/healthz` and `/metrics`, and
//! the `[[schedule]]` jobs (crawls, weekly report) until Ctrl-C or SIGTERM.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use kuzet_crawler::crawl::parse_seeds;
use kuzet_crawler::scope::{Scope, ScopeEntry};
use kuzet_reporter::report::{self, GenerateOptions, IsoWeek, ReportLimits};
use kuzet_reporter::web::{self, AppState, WebConfig};
use kuzet_storage::Db;
use tokio::sync::watch;

use super::Context;
use crate::UsageError;
use crate::cli::ServeArgs;
use crate::config::{Config, ScheduleEntry, ScheduledJob};
use crate::schedule::{self, Job, Runner};

pub async fn run(args: ServeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let jobs = ctx
        .config
        .schedule
        .iter()
        .map(|e| {
            Ok(Job {
                name: e.name.clone(),
                cron: schedule::parse_cron(&e.name, &e.cron)
                    .map_err(|err| UsageError(format!("{err:#}")))?,
                spec: e.clone(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let db = ctx.open_db(true).await?;
    let rc = &ctx.config.report;
    let cfg = WebConfig {
        secure_cookies: args.secure_cookies,
        // Without --evidence-dir, the `[report] evidence_dir` the reports read from.
        evidence_dir: Some(
            args.evidence_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(&rc.evidence_dir)),
        ),
        watch_evidence_dir: Some(PathBuf::from(&ctx.config.takedown.evidence_dir)),
        // The Reports page writes where `kuzet report weekly` does.
        report_dir: Some(PathBuf::from(&rc.out_dir)),
        report_utc_offset_minutes: rc.utc_offset_minutes,
        report_limits: ReportLimits {
            max_attachment_bytes: rc.max_attachment_bytes,
            ..ReportLimits::default()
        },
        ..WebConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr().context("listener address")?;
    tracing::info!(%addr, jobs = jobs.len(), "serving the web UI");
    eprintln!("kuzet: web UI on http://{addr}/ (Ctrl-C stops)");

    let (stop_tx, stop_rx) = watch::channel(false);
    let runner = Arc::new(ScheduledRunner {
        db: db.clone(),
        config: ctx.config.clone(),
    });
    let scheduler = tokio::spawn(schedule::run(db.clone(), jobs, runner, stop_rx.clone()));
    let mut web_stop = stop_rx.clone();
    let telegram_base = kuzet_crawler::url::parse_canonical(&ctx.config.telegram.base_url)
        .map_err(|e| UsageError(format!("[telegram] base_url: {e}")))?;
    let state = AppState::new(db.clone(), cfg).with_field_tools(Arc::new(
        crate::wiring::FieldWiring::new(db.clone(), telegram_base),
    ));
    let server = web::serve(listener, state, async move {
        let _ = web_stop.wait_for(|s| *s).await;
    });
    let signals = async {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing the runs in progress");
        let _ = stop_tx.send(true);
    };
    let (served, ()) = tokio::join!(server, signals);
    served.context("web server failed")?;
    scheduler.await.context("scheduler task")??;
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

struct ScheduledRunner {
    db: Db,
    config: Config,
}

impl Runner<ScheduleEntry> for ScheduledRunner {
    fn run(
        &self,
        spec: ScheduleEntry,
        shutdown: watch::Receiver<bool>,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<String>> + Send>> {
        let (db, config) = (self.db.clone(), self.config.clone());
        Box::pin(async move {
            match spec.job {
                ScheduledJob::Crawl => scheduled_crawl(&db, &config, &spec, shutdown).await,
                ScheduledJob::WeeklyReport => scheduled_report(&db, &config, &spec).await,
                ScheduledJob::Recheck => {
                    super::recheck::scheduled(&db, &config, &spec, shutdown).await
                }
            }
        })
    }
}

async fn scheduled_crawl(
    db: &Db,
    cfg: &Config,
    spec: &ScheduleEntry,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<String> {
    let path = spec
        .seeds
        .as_ref()
        .with_context(|| format!("schedule {:?}: crawl needs `seeds`", spec.name))?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("schedule {:?}: cannot read seeds {path}", spec.name))?;
    let seeds = parse_seeds(&text)?;
    let scope = spec
        .scope
        .iter()
        .map(|s| s.parse::<ScopeEntry>().map_err(|e| anyhow::anyhow!("{e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // The `[crawl]` limits apply; the job's own keys override them.
    let (mut config, qr) = super::crawl::crawl_settings(&cfg.crawl)?;
    config.max_pages = spec.max_pages;
    config.max_depth = spec.max_depth;
    config.evidence_dir = Some(PathBuf::from("evidence"));
    config.fetch.scope = Scope::new(scope);
    config.fetch.allow_private_addresses = spec.allow_private_addresses;
    config.telegram_base = kuzet_crawler::url::parse_canonical(&cfg.telegram.base_url)
        .map_err(|e| anyhow::anyhow!("[telegram] base_url: {e}"))?;
    config.frontier.worker = format!("serve-{}", spec.name);
    let (run, summary) = super::crawl::crawl_and_group_with(
        db,
        config,
        &seeds,
        async move {
            let _ = shutdown.wait_for(|s| *s).await;
        },
        false,
        qr,
    )
    .await?;
    Ok(format!(
        "run {run}: {} pages, {} flagged",
        summary.pages, summary.flagged
    ))
}

async fn scheduled_report(
    db: &Db,
    config: &Config,
    spec: &ScheduleEntry,
) -> anyhow::Result<String> {
    let rc = &config.report;
    let now = kuzet_storage::now_ms();
    let opts = GenerateOptions {
        week: IsoWeek::last_complete(now, rc.utc_offset_minutes),
        utc_offset_minutes: rc.utc_offset_minutes,
        out_dir: PathBuf::from(&rc.out_dir),
        evidence_dir: PathBuf::from(&rc.evidence_dir),
        actor: format!("schedule:{}", spec.name),
        limits: ReportLimits {
            max_attachment_bytes: rc.max_attachment_bytes,
            still_live_days: config.takedown.still_live_days,
            ..ReportLimits::default()
        },
    };
    let (weekly, generated) = report::generate(db, &opts, now).await?;
    let mut sent = 0;
    if spec.forward {
        let fopts = super::report::forward_options(config, &opts);
        sent = report::forward::forward(db, generated.report_id, &weekly, &fopts, now)
            .await?
            .len();
    }
    Ok(format!(
        "report {}: {} cases, {sent} deliveries",
        generated.week,
        weekly.cases.len()
    ))
}
