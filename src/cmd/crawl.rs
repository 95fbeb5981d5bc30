//! `kuzet crawl`: one crawl run over the database frontier (resumable; several workers may share it).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use kuzet_classifier::qr::QrOptions;
use kuzet_crawler::crawl::{CrawlConfig, Crawler, EvidencePolicy, parse_seeds};
use kuzet_crawler::fetch::{FetchConfig, FetchLimits};
use kuzet_crawler::politeness::HostPolicy;
use kuzet_crawler::scope::{Scope, ScopeEntry};
use serde_json::json;

use super::Context;
use crate::UsageError;
use crate::wiring::{ClassifierScorer, QrDecoder};

/// `kuzet crawl` options.
#[derive(Debug, Args)]
pub struct CrawlArgs {
    /// Seeds file: one URL, t.me/<channel>, @channel or photo folder a line (# comments).
    #[arg(long, value_name = "FILE")]
    pub seeds: Option<PathBuf>,
    /// Stop after this many pages.
    #[arg(long, value_name = "N")]
    pub max_pages: Option<u64>,
    /// Deepest link depth followed from a seed.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_depth: i64,
    /// Only fetch hosts under this suffix or in this range (repeatable), e.g. 127.0.0.0/8, example.kz.
    #[arg(long, value_name = "ENTRY")]
    pub scope: Vec<String>,
    /// Allow private, loopback and link-local addresses (tests, the demo, private targets);
    /// default from `[crawl] allow_private_addresses`.
    #[arg(long)]
    pub allow_private_addresses: bool,
    /// SOCKS5 proxy for .onion hosts (must be socks5h://).
    /// Default from `[crawl] socks_proxy` (socks5h://127.0.0.1:9050).
    #[arg(long, value_name = "URL")]
    pub socks_proxy: Option<String>,
    /// Telegram preview base.
    /// Default from `[telegram] base_url` (https://t.me/s/).
    #[arg(long, value_name = "URL")]
    pub telegram_base: Option<String>,
    /// Turn politeness off (no delay, no robots.txt, 8 requests per host) for hosts matching this
    /// scope entry (repeatable): only for hosts you run or monitor privately.
    #[arg(long, value_name = "ENTRY")]
    pub impolite_for: Vec<String>,
    /// Fetches in flight.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: usize,
    /// Where WARC evidence files go.
    #[arg(long, value_name = "DIR", default_value = "evidence")]
    pub evidence_dir: PathBuf,
    /// Which pages get WARC evidence.
    #[arg(long, value_enum, default_value_t = Evidence::Flagged)]
    pub evidence: Evidence,
    /// This worker's name (default worker-<pid>).
    #[arg(long, value_name = "NAME")]
    pub worker: Option<String>,
    /// How long this worker's claim on a URL lasts, in seconds (a killed worker's URLs are
    /// fetched again after it). Default from `[crawl] lease_secs` (60).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub lease_secs: Option<u64>,
    /// Longest time one fetch may take, in seconds (connect and read time-outs are capped by it
    /// too). Default 60.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub fetch_timeout_secs: Option<u64>,
    /// Fetch attempts per URL before a transient failure (time-out, connection error, 5xx) is
    /// given up; retries back off exponentially from 5 s.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(i64).range(1..=20))]
    pub max_attempts: i64,
}

/// Which pages get WARC evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Evidence {
    /// Pages scored suspicious or shop.
    Flagged,
    /// Every page.
    All,
    /// None.
    Off,
}

fn scope_entries(values: &[String]) -> anyhow::Result<Vec<ScopeEntry>> {
    values
        .iter()
        .map(|v| {
            v.parse::<ScopeEntry>()
                .map_err(|e| UsageError(e.to_string()).into())
        })
        .collect()
}

fn fetch_limits(timeout_secs: Option<u64>) -> FetchLimits {
    let mut limits = FetchLimits::default();
    if let Some(secs) = timeout_secs {
        let total = Duration::from_secs(secs);
        limits.total_timeout = total;
        limits.read_timeout = limits.read_timeout.min(total);
        limits.connect_timeout = limits.connect_timeout.min(total);
    }
    limits
}

/// This process's peak resident set size in KiB (Linux `VmHWM`), when the system reports it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub async fn run(args: CrawlArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let seeds = match &args.seeds {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                UsageError(format!("cannot read seeds file {}: {e}", path.display()))
            })?;
            parse_seeds(&text).map_err(|e| UsageError(format!("{}: {e}", path.display())))?
        }
        None => Vec::new(),
    };
    let crawl_cfg = &ctx.config.crawl;
    let telegram_base = args
        .telegram_base
        .clone()
        .unwrap_or_else(|| ctx.config.telegram.base_url.clone());
    let telegram_base = kuzet_crawler::url::parse_canonical(&telegram_base)
        .map_err(|e| UsageError(format!("--telegram-base: {e}")))?;
    let mut config = CrawlConfig {
        fetch: FetchConfig {
            limits: fetch_limits(args.fetch_timeout_secs),
            // Flags replace the configured scope; without flags the config's scope applies.
            scope: Scope::new(scope_entries(if args.scope.is_empty() {
                &crawl_cfg.scope
            } else {
                &args.scope
            })?),
            allow_private_addresses: args.allow_private_addresses
                || crawl_cfg.allow_private_addresses,
            socks_proxy: Some(
                args.socks_proxy
                    .clone()
                    .unwrap_or_else(|| crawl_cfg.socks_proxy.clone()),
            ),
        },
        max_pages: args.max_pages,
        max_depth: args.max_depth,
        concurrency: args.concurrency.max(1),
        telegram_base,
        evidence_dir: Some(args.evidence_dir.clone()),
        evidence: match args.evidence {
            Evidence::Flagged => EvidencePolicy::Flagged,
            Evidence::All => EvidencePolicy::All,
            Evidence::Off => EvidencePolicy::Off,
        },
        ..CrawlConfig::default()
    };
    if let Some(w) = &args.worker {
        config.frontier.worker = w.clone();
    }
    config.frontier.max_attempts = args.max_attempts;
    let lease_secs = args.lease_secs.unwrap_or(crawl_cfg.lease_secs);
    if lease_secs == 0 {
        return Err(UsageError("[crawl] lease_secs must be at least 1".into()).into());
    }
    config.frontier.lease_ms = i64::try_from(lease_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    for entry in scope_entries(&args.impolite_for)? {
        config
            .politeness
            .overrides
            .push((entry, HostPolicy::relaxed(8)));
    }
    let db = ctx.open_db(true).await?;
    let (run_id, summary) = crawl_and_group(&db, config, &seeds, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::warn!("interrupted: letting fetches in flight commit");
    })
    .await?;
    let peak = peak_rss_kib();
    ctx.emit(&json!({"run": run_id, "summary": summary, "peak_rss_kib": peak}), || {
        let errors: Vec<String> = summary
            .errors
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        format!(
            "run {run_id}: {} pages, {} images, {} bytes, {} flagged, {} new URLs, errors: {}{}",
            summary.pages,
            summary.images,
            summary.bytes,
            summary.flagged,
            summary.discovered,
            if errors.is_empty() {
                "none".to_string()
            } else {
                errors.join(" ")
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

/// One crawl run with the built-in classifier and QR pipeline, then cases regrouped: what
/// `kuzet crawl`, `kuzet demo` and scheduled runs share. Returns the run id and its summary.
pub async fn crawl_and_group(
    db: &kuzet_storage::Db,
    config: CrawlConfig,
    seeds: &[kuzet_crawler::crawl::Seed],
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(i64, kuzet_crawler::crawl::CrawlSummary)> {
    let classifier = kuzet_classifier::Classifier::default_rules()
        .context("cannot compile the built-in rule set")?;
    let scorer = Arc::new(ClassifierScorer::new(classifier));
    let decoder = Arc::new(QrDecoder::new(QrOptions::default()));
    let crawler = Crawler::new(db.clone(), config, scorer, decoder)
        .await
        .context("cannot start the crawl")?;
    let added = crawler.seed(seeds).await.context("cannot add seeds")?;
    let run_id = crawler.run_id();
    tracing::info!(
        run = run_id,
        seeds = seeds.len(),
        new_urls = added,
        "crawl started"
    );
    let summary = Arc::new(crawler)
        .run(shutdown)
        .await
        .context("crawl failed")?;
    let grouped = kuzet_reporter::cases::rebuild_or_update(db, &Default::default())
        .await
        .context("cannot group flagged pages into cases")?;
    tracing::info!(
        run = run_id,
        created = grouped.created.len(),
        pages_added = grouped.pages_added,
        "cases updated"
    );
    Ok((run_id, summary))
}
