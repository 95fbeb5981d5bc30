//! `kuzet crawl`: one crawl run over the database frontier (resumable; several workers may share it).

use std::io::IsTerminal as _;
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
use crate::config::CrawlSection;
use crate::wiring::{ClassifierScorer, QrDecoder};

/// `kuzet crawl` options.
#[derive(Debug, Args)]
pub struct CrawlArgs {
    /// Seeds file: one URL, t.me/<channel>, @channel or photo folder a line (# comments).
    #[arg(long, value_name = "FILE")]
    pub seeds: Option<PathBuf>,
    /// Stop after this many pages. Default from `[crawl] max_pages` (0 = no limit).
    #[arg(long, value_name = "N")]
    pub max_pages: Option<u64>,
    /// Deepest link depth followed from a seed. Default from `[crawl] max_depth` (3).
    #[arg(long, value_name = "N")]
    pub max_depth: Option<u64>,
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
    /// Replaces `[crawl] impolite_for`.
    #[arg(long, value_name = "ENTRY")]
    pub impolite_for: Vec<String>,
    /// Fetches in flight. Default from `[crawl] concurrency` (16).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u64>,
    /// Where WARC evidence files go.
    #[arg(long, value_name = "DIR", default_value = "evidence")]
    pub evidence_dir: PathBuf,
    /// Which pages get WARC evidence.
    #[arg(long, value_enum, default_value_t = Evidence::Flagged)]
    pub evidence: Evidence,
    /// This worker's name (default worker-<pid>).
    #[arg(long, value_name = "NAME")]
    pub worker: Option<String>,
    /// Limits; each overrides its `[crawl]` key of the same name.
    #[command(flatten)]
    pub limits: Box<LimitArgs>,
}

/// Crawl limits as flags; each overrides the `[crawl]` key of the same name.
#[derive(Debug, Default, Args)]
pub struct LimitArgs {
    /// The User-Agent header.
    #[arg(long, value_name = "TEXT")]
    pub user_agent: Option<String>,
    /// Largest response body in bytes (as received and decompressed).
    #[arg(long, value_name = "BYTES")]
    pub max_body_bytes: Option<u64>,
    /// Largest image decoded for QR codes, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_image_bytes: Option<u64>,
    /// Largest image decoded for QR codes, in pixels.
    #[arg(long, value_name = "N")]
    pub max_image_pixels: Option<u64>,
    /// Most QR decoding passes per image.
    #[arg(long, value_name = "N")]
    pub qr_max_attempts: Option<u64>,
    /// Most pixels the QR decoder scans per image over all passes.
    #[arg(long, value_name = "N")]
    pub qr_max_pixels_scanned: Option<u64>,
    /// Most redirects per fetch.
    #[arg(long, value_name = "N")]
    pub max_redirects: Option<u64>,
    /// Connect timeout, milliseconds.
    #[arg(long, value_name = "MS")]
    pub connect_timeout_ms: Option<u64>,
    /// Read timeout (headers, next body chunk), milliseconds.
    #[arg(long, value_name = "MS")]
    pub read_timeout_ms: Option<u64>,
    /// Whole-fetch timeout, milliseconds.
    #[arg(long, value_name = "MS")]
    pub total_timeout_ms: Option<u64>,
    /// Longest URL accepted, bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_url_length: Option<u64>,
    /// Pages per host per run (0 = no limit).
    #[arg(long, value_name = "N")]
    pub max_pages_per_host: Option<u64>,
    /// Least time between requests to one host, milliseconds.
    #[arg(long, value_name = "MS")]
    pub min_delay_ms: Option<u64>,
    /// Requests in flight to one host.
    #[arg(long, value_name = "N")]
    pub per_host_concurrency: Option<u64>,
    /// How long robots.txt is cached, seconds.
    #[arg(long, value_name = "SECS")]
    pub robots_ttl_secs: Option<u64>,
    /// How often a progress line is logged (stderr not a terminal), milliseconds.
    #[arg(long, value_name = "MS")]
    pub progress_interval_ms: Option<u64>,
    /// How long this worker's claim on a URL lasts, in seconds (a killed worker's URLs are
    /// fetched again after it).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub lease_secs: Option<u64>,
    /// Fetch attempts per URL before a transient failure (time-out, connection error, 5xx) is
    /// given up; retries back off exponentially from 5 s.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=20))]
    pub max_attempts: Option<u64>,
}

impl CrawlArgs {
    /// The `[crawl]` section with this command's flags applied over it.
    pub fn apply_to(&self, section: &CrawlSection) -> CrawlSection {
        let mut c = section.clone();
        let l = &self.limits;
        if !self.scope.is_empty() {
            c.scope = self.scope.clone();
        }
        c.allow_private_addresses |= self.allow_private_addresses;
        set(&mut c.socks_proxy, self.socks_proxy.clone());
        if !self.impolite_for.is_empty() {
            c.impolite_for = self.impolite_for.clone();
        }
        set(&mut c.max_pages, self.max_pages);
        set(&mut c.max_depth, self.max_depth);
        set(&mut c.concurrency, self.concurrency);
        set(&mut c.user_agent, l.user_agent.clone());
        set(&mut c.max_body_bytes, l.max_body_bytes);
        set(&mut c.max_image_bytes, l.max_image_bytes);
        set(&mut c.max_image_pixels, l.max_image_pixels);
        set(&mut c.qr_max_attempts, l.qr_max_attempts);
        set(&mut c.qr_max_pixels_scanned, l.qr_max_pixels_scanned);
        set(&mut c.max_redirects, l.max_redirects);
        set(&mut c.connect_timeout_ms, l.connect_timeout_ms);
        set(&mut c.read_timeout_ms, l.read_timeout_ms);
        set(&mut c.total_timeout_ms, l.total_timeout_ms);
        set(&mut c.max_url_length, l.max_url_length);
        set(&mut c.max_pages_per_host, l.max_pages_per_host);
        set(&mut c.min_delay_ms, l.min_delay_ms);
        set(&mut c.per_host_concurrency, l.per_host_concurrency);
        set(&mut c.robots_ttl_secs, l.robots_ttl_secs);
        set(&mut c.progress_interval_ms, l.progress_interval_ms);
        set(&mut c.lease_secs, l.lease_secs);
        set(&mut c.max_attempts, l.max_attempts);
        c
    }
}

fn set<T>(slot: &mut T, flag: Option<T>) {
    if let Some(v) = flag {
        *slot = v;
    }
}

fn usize_of(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// The crawler's settings and the QR decoder's options from a `[crawl]` section (flags already
/// applied). Scope entries that do not parse are usage errors naming the key.
pub fn crawl_settings(c: &CrawlSection) -> anyhow::Result<(CrawlConfig, QrOptions)> {
    let ms = Duration::from_millis;
    let mut config = CrawlConfig {
        fetch: FetchConfig {
            limits: FetchLimits {
                connect_timeout: ms(c.connect_timeout_ms),
                read_timeout: ms(c.read_timeout_ms),
                total_timeout: ms(c.total_timeout_ms),
                max_body_bytes: c.max_body_bytes,
                max_redirects: usize_of(c.max_redirects),
                user_agent: c.user_agent.clone(),
                ..FetchLimits::default()
            },
            scope: Scope::new(scope_entries("[crawl] scope", &c.scope)?),
            allow_private_addresses: c.allow_private_addresses,
            socks_proxy: Some(c.socks_proxy.clone()),
        },
        max_pages: (c.max_pages > 0).then_some(c.max_pages),
        max_depth: i64::try_from(c.max_depth).unwrap_or(i64::MAX),
        max_pages_per_host: (c.max_pages_per_host > 0).then_some(c.max_pages_per_host),
        concurrency: usize_of(c.concurrency).max(1),
        commit_batch: usize_of(c.commit_batch).max(1),
        progress_every: ms(c.progress_interval_ms),
        ..CrawlConfig::default()
    };
    if c.lease_secs == 0 {
        return Err(UsageError("[crawl] lease_secs must be at least 1".into()).into());
    }
    if c.max_attempts == 0 {
        return Err(UsageError("[crawl] max_attempts must be at least 1".into()).into());
    }
    config.frontier.lease_ms = i64::try_from(c.lease_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    config.frontier.max_attempts = i64::try_from(c.max_attempts).unwrap_or(i64::MAX);
    // No single wait outlasts the whole fetch.
    config.fetch.limits.read_timeout = config
        .fetch
        .limits
        .read_timeout
        .min(config.fetch.limits.total_timeout);
    config.fetch.limits.connect_timeout = config
        .fetch
        .limits
        .connect_timeout
        .min(config.fetch.limits.total_timeout);
    config.url_limits.max_len = usize_of(c.max_url_length);
    config.robots.ttl = Duration::from_secs(c.robots_ttl_secs);
    config.politeness.default.min_delay = ms(c.min_delay_ms);
    config.politeness.default.max_concurrency = usize_of(c.per_host_concurrency).max(1);
    for entry in scope_entries("[crawl] impolite_for", &c.impolite_for)? {
        config
            .politeness
            .overrides
            .push((entry, HostPolicy::relaxed(8)));
    }
    let mut qr = QrOptions::default();
    qr.limits.max_bytes = usize_of(c.max_image_bytes);
    qr.limits.max_pixels = c.max_image_pixels;
    qr.max_attempts = usize_of(c.qr_max_attempts);
    qr.max_pixels_scanned = c.qr_max_pixels_scanned;
    Ok((config, qr))
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

fn scope_entries(key: &str, values: &[String]) -> anyhow::Result<Vec<ScopeEntry>> {
    values
        .iter()
        .map(|v| {
            v.parse::<ScopeEntry>()
                .map_err(|e| UsageError(format!("{key}: {e}")).into())
        })
        .collect()
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
    let telegram_base = args
        .telegram_base
        .clone()
        .unwrap_or_else(|| ctx.config.telegram.base_url.clone());
    let telegram_base = kuzet_crawler::url::parse_canonical(&telegram_base)
        .map_err(|e| UsageError(format!("--telegram-base: {e}")))?;
    let (mut config, qr) = crawl_settings(&args.apply_to(&ctx.config.crawl))?;
    config.telegram_base = telegram_base;
    config.evidence_dir = Some(args.evidence_dir.clone());
    config.evidence = match args.evidence {
        Evidence::Flagged => EvidencePolicy::Flagged,
        Evidence::All => EvidencePolicy::All,
        Evidence::Off => EvidencePolicy::Off,
    };
    if let Some(w) = &args.worker {
        config.frontier.worker = w.clone();
    }
    // A progress bar on a terminal; periodic log lines otherwise (and in JSON output mode).
    let bar = ctx.format == crate::cli::Format::Text && std::io::stderr().is_terminal();
    let db = ctx.open_db(true).await?;
    let (run_id, summary) = crawl_and_group_with(
        &db,
        config,
        &seeds,
        async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::warn!("interrupted: letting fetches in flight commit");
        },
        bar,
        qr,
    )
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
    crawl_and_group_with(db, config, seeds, shutdown, false, QrOptions::default()).await
}

/// [`crawl_and_group`] with these QR options, and a progress bar on stderr instead of progress log lines when `bar`.
pub async fn crawl_and_group_with(
    db: &kuzet_storage::Db,
    mut config: CrawlConfig,
    seeds: &[kuzet_crawler::crawl::Seed],
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    bar: bool,
    qr: QrOptions,
) -> anyhow::Result<(i64, kuzet_crawler::crawl::CrawlSummary)> {
    config.log_progress &= !bar;
    let max_pages = config.max_pages;
    let classifier = kuzet_classifier::Classifier::default_rules()
        .context("cannot compile the built-in rule set")?;
    let scorer = Arc::new(ClassifierScorer::new(classifier));
    let decoder = Arc::new(QrDecoder::new(qr));
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
    let crawler = Arc::new(crawler);
    let bar = bar.then(|| progress_bar(crawler.clone(), max_pages));
    let summary = crawler.run(shutdown).await;
    if let Some((bar, task)) = bar {
        task.abort();
        bar.finish_and_clear();
    }
    let summary = summary.context("crawl failed")?;
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

/// A bar (or a spinner without `--max-pages`) refreshed twice a second from the crawler's
/// progress: pages, bytes, errors, flagged, queue size and rate.
fn progress_bar(
    crawler: Arc<Crawler>,
    max_pages: Option<u64>,
) -> (indicatif::ProgressBar, tokio::task::JoinHandle<()>) {
    let bar = match max_pages {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let template = if max_pages.is_some() {
        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} pages {msg}"
    } else {
        "{spinner} [{elapsed_precise}] {pos} pages {msg}"
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    let shown = bar.clone();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tick.tick().await;
            let Ok(p) = crawler.progress().await else {
                continue;
            };
            shown.set_position(p.pages);
            shown.set_message(format!(
                "· {} · {} errors · {} flagged · {} queued · {:.0} pages/s",
                indicatif::HumanBytes(p.bytes),
                p.errors,
                p.flagged,
                p.queued,
                p.pages_per_sec()
            ));
        }
    });
    (bar, task)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        args: CrawlArgs,
    }

    fn section(toml_text: &str) -> CrawlSection {
        let c: crate::config::Config = toml::from_str(toml_text).unwrap();
        c.crawl
    }

    /// Every `[crawl]` key lands in the crawler's settings (or the QR options).
    #[test]
    fn every_crawl_key_maps_to_the_crawl_config() {
        let c = section(
            r#"
            [crawl]
            scope = ["127.0.0.0/8"]
            allow_private_addresses = true
            socks_proxy = "socks5h://127.0.0.1:9999"
            user_agent = "test-agent/1"
            max_body_bytes = 1000
            max_image_bytes = 2000
            max_image_pixels = 3000
            qr_max_attempts = 3
            qr_max_pixels_scanned = 4000
            max_redirects = 2
            connect_timeout_ms = 111
            read_timeout_ms = 222
            total_timeout_ms = 333
            max_url_length = 444
            max_depth = 7
            max_pages = 55
            max_pages_per_host = 66
            concurrency = 9
            min_delay_ms = 1234
            per_host_concurrency = 3
            robots_ttl_secs = 77
            impolite_for = ["127.0.0.2/32"]
            progress_interval_ms = 88
            "#,
        );
        let (cfg, qr) = crawl_settings(&c).unwrap();
        let l = &cfg.fetch.limits;
        assert_eq!(l.user_agent, "test-agent/1");
        assert_eq!(l.max_body_bytes, 1000);
        assert_eq!(l.max_redirects, 2);
        assert_eq!(l.connect_timeout, Duration::from_millis(111));
        assert_eq!(l.read_timeout, Duration::from_millis(222));
        assert_eq!(l.total_timeout, Duration::from_millis(333));
        assert_eq!((qr.limits.max_bytes, qr.limits.max_pixels), (2000, 3000));
        assert_eq!((qr.max_attempts, qr.max_pixels_scanned), (3, 4000));
        assert!(cfg.fetch.allow_private_addresses);
        assert_eq!(
            cfg.fetch.socks_proxy.as_deref(),
            Some("socks5h://127.0.0.1:9999")
        );
        let inside = url::Url::parse("http://127.0.0.9/").unwrap();
        let outside = url::Url::parse("http://example.kz/").unwrap();
        assert!(cfg.fetch.scope.allows(&inside) && !cfg.fetch.scope.allows(&outside));
        assert_eq!(cfg.url_limits.max_len, 444);
        assert_eq!(cfg.max_depth, 7);
        assert_eq!(cfg.max_pages, Some(55));
        assert_eq!(cfg.max_pages_per_host, Some(66));
        assert_eq!(cfg.concurrency, 9);
        assert_eq!(
            cfg.politeness.default.min_delay,
            Duration::from_millis(1234)
        );
        assert_eq!(cfg.politeness.default.max_concurrency, 3);
        assert!(cfg.politeness.default.obey_robots);
        assert_eq!(cfg.robots.ttl, Duration::from_secs(77));
        assert_eq!(cfg.progress_every, Duration::from_millis(88));
        let relaxed = url::Url::parse("http://127.0.0.2/").unwrap();
        assert_eq!(cfg.politeness.policy_for(&relaxed), &HostPolicy::relaxed(8));
        assert_eq!(
            cfg.politeness.policy_for(&inside).min_delay.as_millis(),
            1234
        );
    }

    /// The defaults map to the crawler's own defaults; 0 means no page limit.
    #[test]
    fn default_section_gives_the_crawler_defaults() {
        let (cfg, qr) = crawl_settings(&CrawlSection::default()).unwrap();
        let d = CrawlConfig::default();
        assert_eq!(cfg.fetch.limits, d.fetch.limits);
        assert_eq!(cfg.politeness, d.politeness);
        assert_eq!(cfg.url_limits, d.url_limits);
        assert_eq!(cfg.robots.ttl, d.robots.ttl);
        assert_eq!(
            (
                cfg.max_pages,
                cfg.max_pages_per_host,
                cfg.max_depth,
                cfg.concurrency
            ),
            (None, None, d.max_depth, d.concurrency)
        );
        assert_eq!(qr, kuzet_classifier::qr::QrOptions::default());
    }

    /// Flags override their keys; keys without a flag keep the configured value.
    #[test]
    fn flags_override_config_keys() {
        let c =
            section("[crawl]\nmin_delay_ms = 50\nmax_body_bytes = 10\nscope = ['example.kz']\n");
        let cmd = Cmd::try_parse_from([
            "crawl",
            "--max-body-bytes",
            "99",
            "--scope",
            "127.0.0.0/8",
            "--max-pages",
            "4",
            "--user-agent",
            "flag-agent",
            "--robots-ttl-secs",
            "5",
        ])
        .unwrap();
        let merged = cmd.args.apply_to(&c);
        let (cfg, _) = crawl_settings(&merged).unwrap();
        assert_eq!(cfg.fetch.limits.max_body_bytes, 99);
        assert_eq!(cfg.fetch.limits.user_agent, "flag-agent");
        assert_eq!(cfg.max_pages, Some(4));
        assert_eq!(cfg.robots.ttl, Duration::from_secs(5));
        assert_eq!(cfg.politeness.default.min_delay, Duration::from_millis(50));
        assert_eq!(merged.scope, ["127.0.0.0/8"]);
        let bad = section("[crawl]\nimpolite_for = ['not a scope/99']\n");
        let e = crawl_settings(&bad).unwrap_err().to_string();
        assert!(e.contains("impolite_for"), "{e}");
    }
}
