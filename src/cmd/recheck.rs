//! `kuzet cases recheck [--case ID]`: fetch every watched URL again now, store the transitions
//! with their evidence, print each transition and a summary. Also the `job = "recheck"` schedule.
//!
//! Wiring only: the watch list and the transition rule are the reporter's
//! (`kuzet_reporter::takedown`), fetching and classifying the crawler's
//! (`kuzet_crawler::recheck`), scoring the classifier's (through `wiring::ClassifierScorer`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use futures_util::StreamExt;
use kuzet_crawler::recheck::{
    Baseline, BlockSignatureConfig, Observation, RecheckConfig, Rechecker, Seen as CrawlSeen,
    TargetKind,
};
use kuzet_reporter::cases::Status;
use kuzet_reporter::takedown::watch::{self, Check, Evidence, Target};
use kuzet_reporter::takedown::{self, Seen};
use kuzet_storage::Db;
use serde::Serialize;
use serde_json::json;
use tokio::sync::watch as signal;

use super::Context;
use super::crawl::crawl_settings;
use crate::UsageError;
use crate::config::{Config, CrawlSection, ScheduleEntry};
use crate::wiring::ClassifierScorer;

/// `kuzet cases recheck` options (network flags as for `kuzet crawl`).
#[derive(Debug, Args)]
pub struct RecheckArgs {
    /// Only this case (its URLs are put on the watch list whatever its status).
    #[arg(long, value_name = "ID")]
    pub case: Option<i64>,
    /// Only fetch hosts under this suffix or in this range (repeatable); default `[crawl] scope`.
    #[arg(long, value_name = "ENTRY")]
    pub scope: Vec<String>,
    /// Allow private, loopback and link-local addresses; default `[crawl] allow_private_addresses`.
    #[arg(long)]
    pub allow_private_addresses: bool,
    /// SOCKS5 proxy for .onion hosts (socks5h://); default `[crawl] socks_proxy`.
    #[arg(long, value_name = "URL")]
    pub socks_proxy: Option<String>,
    /// Telegram preview base; default `[telegram] base_url`.
    #[arg(long, value_name = "URL")]
    pub telegram_base: Option<String>,
    /// Turn politeness off for hosts matching this scope entry (repeatable; own hosts only).
    #[arg(long, value_name = "ENTRY")]
    pub impolite_for: Vec<String>,
    /// Where WARC evidence of transitions goes; default `[takedown] evidence_dir`.
    #[arg(long, value_name = "DIR")]
    pub evidence_dir: Option<PathBuf>,
}

/// Everything one re-check run needs.
#[derive(Debug, Clone)]
pub struct RecheckOptions {
    pub case: Option<i64>,
    /// The `[crawl]` section with this run's flags applied: scope, SSRF guard, proxy, limits
    /// and politeness as for any crawl.
    pub crawl: CrawlSection,
    pub telegram_base: String,
    pub evidence_dir: PathBuf,
}

/// What one run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecheckSummary {
    /// URLs newly put on the watch list.
    pub added: usize,
    /// URLs checked.
    pub checked: u64,
    /// Transitions stored.
    pub transitions: u64,
    /// Targets by state after their check.
    pub states: BTreeMap<String, u64>,
    /// QR payloads newly put on the QR watch list.
    pub qr_added: usize,
    /// QR payloads re-resolved.
    pub qr_checked: u64,
    /// QR-hijack cases opened.
    pub qr_hijacks: u64,
    /// Stopped on a shutdown request.
    pub interrupted: bool,
}

pub use super::recheck_qr::HijackLine;

/// What a run reports as it goes.
pub enum Found<'a> {
    Transition(&'a TransitionLine),
    Hijack(&'a HijackLine),
}

/// One stored transition, printed by the command.
#[derive(Debug, Clone, Serialize)]
pub struct TransitionLine {
    pub case: i64,
    pub target: i64,
    pub url: String,
    pub from: String,
    pub to: String,
    pub http_status: Option<i64>,
    pub detail: String,
    pub warc_digest: Option<String>,
}

pub async fn run(args: RecheckArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.config;
    let mut crawl = cfg.crawl.clone();
    if !args.scope.is_empty() {
        crawl.scope = args.scope.clone();
    }
    crawl.allow_private_addresses |= args.allow_private_addresses;
    if let Some(proxy) = &args.socks_proxy {
        crawl.socks_proxy = proxy.clone();
    }
    if !args.impolite_for.is_empty() {
        crawl.impolite_for = args.impolite_for.clone();
    }
    let opts = RecheckOptions {
        case: args.case,
        crawl,
        telegram_base: args
            .telegram_base
            .clone()
            .unwrap_or_else(|| cfg.telegram.base_url.clone()),
        evidence_dir: args
            .evidence_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(&cfg.takedown.evidence_dir)),
    };
    let statuses = statuses(cfg)?;
    let db = ctx.open_db(true).await?;
    let (tx, rx) = signal::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::warn!("interrupted: finishing the checks in flight");
        let _ = tx.send(true);
    });
    let summary = recheck(&db, cfg, &statuses, &opts, rx, |found| match found {
        Found::Transition(t) => ctx.emit(&json!({ "transition": t }), || {
            format!(
                "case #{} {} {} → {}  {}",
                t.case, t.url, t.from, t.to, t.detail
            )
        }),
        Found::Hijack(h) => ctx.emit(&json!({ "qr_hijack": h }), || {
            format!(
                "case #{} QR hijack: {} → {} ({} {:.2}); seen on {}",
                h.case,
                h.qr,
                h.final_url.as_deref().unwrap_or("?"),
                h.verdict.as_deref().unwrap_or("?"),
                h.score.unwrap_or(0.0),
                h.seen_on.join("; ")
            )
        }),
    })
    .await?;
    ctx.emit(&json!({ "summary": summary }), || {
        let states: Vec<String> = summary
            .states
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        format!(
            "{} URLs checked ({} newly watched), {} transitions; {} QR codes resolved ({} newly \
             watched), {} QR hijacks; {}{}",
            summary.checked,
            summary.added,
            summary.transitions,
            summary.qr_checked,
            summary.qr_added,
            summary.qr_hijacks,
            if states.is_empty() {
                "nothing watched".to_string()
            } else {
                states.join(" ")
            },
            if summary.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        )
    });
    tokio::time::timeout(Duration::from_secs(5), db.close())
        .await
        .ok();
    Ok(ExitCode::SUCCESS)
}

fn statuses(cfg: &Config) -> anyhow::Result<Vec<Status>> {
    cfg.takedown
        .statuses
        .iter()
        .map(|s| {
            s.parse::<Status>()
                .map_err(|e| UsageError(format!("[takedown] statuses: {e}")).into())
        })
        .collect()
}

/// Targets read from the database per batch: memory stays bounded whatever the watch list's size.
pub(super) const BATCH: i64 = 256;

/// Syncs the watch list, then checks every target (or `opts.case`'s) with bounded concurrency,
/// storing each check and its transition; then (without `opts.case`, when `[takedown] qr_watch`)
/// re-resolves every watched QR payload. `on_found` sees each stored transition and each
/// QR-hijack case opened.
pub async fn recheck(
    db: &Db,
    cfg: &Config,
    statuses: &[Status],
    opts: &RecheckOptions,
    shutdown: signal::Receiver<bool>,
    on_found: impl Fn(Found<'_>),
) -> anyhow::Result<RecheckSummary> {
    let tk = &cfg.takedown;
    let all = Status::ALL;
    let watched: &[Status] = if opts.case.is_some() { &all } else { statuses };
    let mut summary = RecheckSummary {
        added: watch::sync(db, watched, opts.case, &opts.telegram_base)
            .await
            .context("cannot update the watch list")?,
        ..RecheckSummary::default()
    };
    let (crawl, _) = crawl_settings(&opts.crawl)?;
    let config = RecheckConfig {
        fetch: crawl.fetch,
        robots: crawl.robots,
        politeness: crawl.politeness,
        parse: crawl.parse,
        signatures: BlockSignatureConfig {
            statuses: tk.block_statuses.clone(),
            body_patterns: tk.block_body_patterns.clone(),
            title_patterns: tk.block_title_patterns.clone(),
            redirect_hosts: tk.block_redirect_hosts.clone(),
            addresses: tk.block_addresses.clone(),
        },
        score_tolerance: tk.score_tolerance,
        evidence_dir: Some(opts.evidence_dir.clone()),
        evidence_file: format!(
            "kuzet-recheck-{}-{}.warc",
            kuzet_storage::now_ms(),
            std::process::id()
        ),
    };
    let classifier = kuzet_classifier::Classifier::default_rules()
        .context("cannot compile the built-in rule set")?;
    let rechecker = Arc::new(
        Rechecker::new(config, Arc::new(ClassifierScorer::new(classifier)))
            .map_err(|e| UsageError(format!("[takedown] {e}")))?,
    );
    let concurrency = tk.concurrency.max(1);
    let mut after = 0;
    loop {
        if *shutdown.borrow() {
            summary.interrupted = true;
            break;
        }
        let targets = watch::batch(db, after, BATCH, opts.case).await?;
        let Some(last) = targets.last() else { break };
        after = last.id;
        let mut results = futures_util::stream::iter(targets)
            .map(|t| {
                let (rechecker, shutdown) = (&rechecker, shutdown.clone());
                async move {
                    if *shutdown.borrow() {
                        return Ok(None);
                    }
                    check_one(db, rechecker, &t, tk.gone_after).await.map(Some)
                }
            })
            .buffer_unordered(concurrency);
        while let Some(r) = results.next().await {
            let Some((state, line)) = r? else {
                summary.interrupted = true;
                continue;
            };
            summary.checked += 1;
            *summary.states.entry(state).or_default() += 1;
            if let Some(line) = line {
                summary.transitions += 1;
                on_found(Found::Transition(&line));
            }
        }
    }
    if opts.case.is_none() && tk.qr_watch && !summary.interrupted {
        super::recheck_qr::qr_watch(
            db,
            tk,
            &rechecker,
            concurrency,
            shutdown,
            &mut summary,
            &on_found,
        )
        .await?;
    }
    Ok(summary)
}

async fn check_one(
    db: &Db,
    rechecker: &Arc<Rechecker>,
    t: &Target,
    gone_after: i64,
) -> anyhow::Result<(String, Option<TransitionLine>)> {
    let kind = match t.kind.as_str() {
        "telegram" => TargetKind::Telegram,
        "onion" => TargetKind::Onion,
        _ => TargetKind::Web,
    };
    let baseline = Baseline {
        text_hash: t.baseline_text_hash.clone(),
        score: t.baseline_score,
        verdict: t.baseline_verdict.clone(),
        indicators: t.baseline_indicators.clone(),
    };
    let obs = rechecker.observe(&t.url, kind, &baseline).await;
    let seen = match obs.seen {
        CrawlSeen::Live => Seen::Live,
        CrawlSeen::Changed => Seen::Changed,
        CrawlSeen::Blocked => Seen::Blocked,
        CrawlSeen::GoneLike => Seen::GoneLike,
        CrawlSeen::Error => Seen::Error,
    };
    let decision = takedown::decide(&t.current(), seen, obs.text_hash.as_deref(), gone_after);
    let (obs, evidence) = if decision.transition {
        write_evidence(rechecker, obs, decision.to.as_str()).await?
    } else {
        (obs, None)
    };
    let check = Check {
        at: obs.at,
        seen,
        http_status: obs.http_status.map(i64::from),
        final_url: obs.final_url.clone(),
        content_hash: obs.content_hash.clone(),
        text_hash: obs.text_hash.clone(),
        score: obs.score,
        verdict: obs.verdict.clone(),
        error_kind: obs.error_kind.clone(),
        detail: obs.detail.clone(),
        evidence: evidence.clone(),
    };
    watch::record(db, t, &check, &decision)
        .await
        .with_context(|| format!("cannot store the check of {}", t.url))?;
    tracing::debug!(target = t.id, url = %t.url, seen = obs.seen.as_str(), to = %decision.to, "rechecked");
    let line = decision.transition.then(|| TransitionLine {
        case: t.case_id,
        target: t.id,
        url: t.url.clone(),
        from: t.state.to_string(),
        to: decision.to.to_string(),
        http_status: check.http_status,
        detail: check.detail.clone(),
        warc_digest: evidence.map(|e| e.digest),
    });
    Ok((decision.to.to_string(), line))
}

/// Writes `obs` as WARC evidence on a blocking thread (the file is synced to disk: that must not
/// stall the fetches in flight, whose politeness timers run on the async workers).
pub(super) async fn write_evidence(
    rechecker: &Arc<Rechecker>,
    obs: Observation,
    state: &str,
) -> anyhow::Result<(Observation, Option<Evidence>)> {
    let (rc, state) = (rechecker.clone(), state.to_string());
    let (obs, w) = tokio::task::spawn_blocking(move || {
        let w = rc.write_evidence(&obs, &state);
        (obs, w)
    })
    .await
    .context("the evidence writer task failed")?;
    let evidence = w.map(|w| Evidence {
        file: w.file,
        offset: w.offset,
        length: w.length,
        record_id: w.record_id,
        digest: w.digest,
    });
    Ok((obs, evidence))
}

/// The `job = "recheck"` schedule of `kuzet serve`.
pub async fn scheduled(
    db: &Db,
    cfg: &Config,
    spec: &ScheduleEntry,
    shutdown: signal::Receiver<bool>,
) -> anyhow::Result<String> {
    let mut crawl = cfg.crawl.clone();
    if !spec.scope.is_empty() {
        crawl.scope = spec.scope.clone();
    }
    crawl.allow_private_addresses |= spec.allow_private_addresses;
    let opts = RecheckOptions {
        case: None,
        crawl,
        telegram_base: cfg.telegram.base_url.clone(),
        evidence_dir: PathBuf::from(&cfg.takedown.evidence_dir),
    };
    let s = recheck(db, cfg, &statuses(cfg)?, &opts, shutdown, |_| {}).await?;
    Ok(format!(
        "{} URLs checked, {} transitions, {} QR codes resolved, {} QR hijacks",
        s.checked, s.transitions, s.qr_checked, s.qr_hijacks
    ))
}
