//! The crawl loop: seeds → frontier → polite fetch → parse/score → store + new leads, until the
//! frontier is empty, `max_pages` is reached or shutdown is asked for.
//!
//! Each fetched URL commits in one transaction: its fetch-log row, the page (or image) with its
//! verdict, the links it discovered, and its removal from the frontier. The transaction is shared
//! (group commit): one writer task takes every result that has finished while the previous batch
//! committed, up to `commit_batch`, and stores them together with a few multi-row statements; a
//! fetch task returns only once its result is committed. A crash or `kill -9` loses only work not
//! yet committed (whole batches, never part of one); leases of the dead worker expire and another
//! run picks those URLs up. All of a process's writes go through one connection kept for the crawl.
//! A graceful shutdown stops claiming, lets fetches in flight commit, and releases unstarted leases.
//!
//! The classifier and the QR decoder are plugged in ([`PageScorer`], [`ImageDecoder`]); the real
//! scorer is [`crate::scoring::ClassifierScorer`], and the binary wires it and the QR decoder.
//!
//! Politeness: the database frontier spaces requests per host (`hosts.next_allowed_at`, advanced by
//! the host's delay: the policy's `min_delay`, or robots.txt `Crawl-delay` when longer); the
//! in-memory [`Politeness`] adds this process's per-host concurrency cap.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kuzet_storage::sqlx::pool::PoolConnection;
use kuzet_storage::sqlx::{self, Any, AnyConnection};
use kuzet_storage::{Db, StorageError};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use url::Url;

use crate::error::FetchError;
use crate::fetch::{FetchConfig, FetchOutcome, Fetcher};
use crate::frontier::{self, FrontierOptions, HostIds, Lease, NewUrl};
use crate::parse::{ParseLimits, parse_html};
use crate::photos::{ImageDecoder, PhotoLimits, scan_folder};
use crate::politeness::{HostPolicy, Politeness, PolitenessConfig};
use crate::robots::{RobotsCache, RobotsConfig};
use crate::store::{self, FetchRecord, ImageRecord, PageRecord, Subject, VerdictRecord, WarcRef};
use crate::telegram::{self, LeadKind};
use crate::url::{UrlLimits, check_trap, parse_canonical, url_key};
use crate::warc::{WarcError, WarcWriter};
use kuzet_classifier::decode::decode;

/// `fetch_log.error_kind` of a fetch whose result was dropped because its lease had expired and
/// another worker had claimed the URL.
pub const LEASE_LOST: &str = "lease_lost";

/// Errors that stop a crawl (per-URL failures are recorded, never returned).
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A seed line is not a URL, a Telegram channel or a folder.
    #[error("seed line {line}: {reason}: {text:?}")]
    Seed {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
        /// Why it was refused.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error(transparent)]
    Fetcher(#[from] FetchError),
    /// The evidence file could not be written.
    #[error(transparent)]
    Evidence(#[from] WarcError),
    /// The task that commits fetch results stopped (after a failed commit, reported instead).
    #[error("the crawl's writer stopped")]
    WriterStopped,
}

/// A classifier verdict as the crawler needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Score in [0, 1].
    pub score: f64,
    /// `shop`, `suspicious` or `clean`.
    pub verdict: String,
    /// Reasons as JSON.
    pub reasons_json: String,
    /// Rule-set version.
    pub rules_version: String,
    /// Indicators (kind, normalised value).
    pub indicators: Vec<(String, String)>,
}

/// Scores page text; the classifier implements it. `None` means "not scored" (no classifier).
pub trait PageScorer: Send + Sync {
    /// Scores a page's title and visible text.
    fn score(&self, url: &Url, title: Option<&str>, text: &str) -> Option<Score>;
}

/// No classifier: nothing is scored, every page counts as `clean` for priorities.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoScorer;

impl PageScorer for NoScorer {
    fn score(&self, _: &Url, _: Option<&str>, _: &str) -> Option<Score> {
        None
    }
}

/// Which pages get WARC evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvidencePolicy {
    /// None.
    Off,
    /// Pages scored `suspicious` or `shop` (default).
    #[default]
    Flagged,
    /// Every page.
    All,
}

/// One crawl's settings. `Default` is polite and safe.
#[derive(Debug, Clone)]
pub struct CrawlConfig {
    /// Fetcher settings (limits, scope, SSRF guard, SOCKS proxy).
    pub fetch: FetchConfig,
    /// robots.txt handling.
    pub robots: RobotsConfig,
    /// Per-host politeness.
    pub politeness: PolitenessConfig,
    /// Parse caps.
    pub parse: ParseLimits,
    /// Trap heuristics.
    pub url_limits: UrlLimits,
    /// Photo-folder limits.
    pub photos: PhotoLimits,
    /// Frontier leases and retries.
    pub frontier: FrontierOptions,
    /// Stop after this many fetched pages (pages and Telegram windows). Default unlimited.
    pub max_pages: Option<u64>,
    /// Deepest link depth followed from a seed. Default 3.
    pub max_depth: i64,
    /// Most pages fetched per host in one run. Default unlimited.
    pub max_pages_per_host: Option<u64>,
    /// Fetches in flight. Default 16.
    pub concurrency: usize,
    /// Most fetch results committed in one transaction (group commit: results that finish while
    /// a batch commits wait for the next one). Default 64.
    pub commit_batch: usize,
    /// Fetch images found on pages (for QR codes). Default true.
    pub fetch_images: bool,
    /// Telegram preview base. Default `https://t.me/s/`.
    pub telegram_base: Url,
    /// Where WARC files go; `None` keeps no evidence.
    pub evidence_dir: Option<PathBuf>,
    /// Which pages get evidence.
    pub evidence: EvidencePolicy,
    /// How often a progress line is logged. Default 10 s.
    pub progress_every: Duration,
    /// Log progress lines (`crawl progress`) at all; off when the caller shows a progress bar
    /// instead. Default true.
    pub log_progress: bool,
}

impl Default for CrawlConfig {
    fn default() -> Self {
        CrawlConfig {
            fetch: FetchConfig::default(),
            robots: RobotsConfig::default(),
            politeness: PolitenessConfig::default(),
            parse: ParseLimits::default(),
            url_limits: UrlLimits::default(),
            photos: PhotoLimits::default(),
            frontier: FrontierOptions::default(),
            max_pages: None,
            max_depth: 3,
            max_pages_per_host: None,
            concurrency: 16,
            commit_batch: 64,
            fetch_images: true,
            telegram_base: Url::parse(telegram::DEFAULT_BASE).expect("constant URL"),
            evidence_dir: None,
            evidence: EvidencePolicy::default(),
            progress_every: Duration::from_secs(10),
            log_progress: true,
        }
    }
}

/// One seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seed {
    /// A web (or onion) URL.
    Web(Url),
    /// A Telegram channel name.
    Telegram(String),
    /// A folder of photos.
    Photos(PathBuf),
}

/// Parses a seeds file: one URL, `t.me/<channel>`, `@channel` or folder path a line; `#` comments and
/// blank lines skipped.
pub fn parse_seeds(text: &str) -> Result<Vec<Seed>, CrawlError> {
    let mut seeds = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |reason: &str| CrawlError::Seed {
            line: i + 1,
            text: line.to_string(),
            reason: reason.into(),
        };
        let lower = line.to_ascii_lowercase();
        let is_tme = [
            "t.me/",
            "telegram.me/",
            "https://t.me/",
            "http://t.me/",
            "https://telegram.me/",
        ]
        .iter()
        .any(|p| lower.starts_with(p));
        if line.starts_with('@') || is_tme {
            seeds.push(Seed::Telegram(
                telegram::channel_from_ref(line).ok_or_else(|| err("not a channel name"))?,
            ));
        } else if lower.starts_with("http://") || lower.starts_with("https://") {
            seeds.push(Seed::Web(
                parse_canonical(line).map_err(|e| err(&e.to_string()))?,
            ));
        } else if Path::new(line).is_dir() {
            seeds.push(Seed::Photos(PathBuf::from(line)));
        } else {
            return Err(err("not a URL, a Telegram channel or an existing folder"));
        }
    }
    Ok(seeds)
}

/// The run summary, stored with the run as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CrawlSummary {
    /// Pages (and Telegram windows) fetched and stored.
    pub pages: u64,
    /// Images fetched or read from folders.
    pub images: u64,
    /// Bytes received (bodies as received).
    pub bytes: u64,
    /// Pages scored `suspicious` or `shop`.
    pub flagged: u64,
    /// New URLs added to the frontier.
    pub discovered: u64,
    /// Failures by kind.
    pub errors: std::collections::BTreeMap<String, u64>,
    /// Whether the run stopped on a shutdown request.
    pub interrupted: bool,
    /// How long the run took, in milliseconds.
    pub elapsed_ms: u64,
}

/// A running crawl at one moment, for a progress bar or a log line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Progress {
    /// Pages (and Telegram windows) stored so far.
    pub pages: u64,
    /// Images stored so far.
    pub images: u64,
    /// Bytes received so far.
    pub bytes: u64,
    /// Failed fetches so far (all kinds).
    pub errors: u64,
    /// Pages scored `suspicious` or `shop` so far.
    pub flagged: u64,
    /// URLs waiting in the frontier (all workers').
    pub queued: i64,
    /// This worker's fetches in flight.
    pub in_flight: u64,
    /// Time since the run started.
    pub elapsed: Duration,
}

impl Progress {
    /// Pages per second since the run started.
    pub fn pages_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.pages as f64 / secs
        } else {
            0.0
        }
    }

    /// Logs the snapshot as one `tracing` line with fields.
    pub fn log(&self, run_id: i64, message: &'static str) {
        tracing::info!(
            run = run_id,
            pages = self.pages,
            images = self.images,
            bytes = self.bytes,
            errors = self.errors,
            flagged = self.flagged,
            queued = self.queued,
            in_flight = self.in_flight,
            pages_per_sec = format_args!("{:.1}", self.pages_per_sec()),
            "{message}"
        );
    }
}

/// The crawler of one worker process.
pub struct Crawler {
    db: Db,
    fetcher: Fetcher,
    robots: RobotsCache,
    politeness: Politeness,
    scorer: Arc<dyn PageScorer>,
    decoder: Arc<dyn ImageDecoder>,
    config: CrawlConfig,
    run_id: i64,
    warc: Mutex<Option<(WarcWriter<std::fs::File>, String)>>,
    summary: Mutex<CrawlSummary>,
    per_host: Mutex<HashMap<String, u64>>,
    host_delays: Mutex<HashMap<i64, i64>>,
    started: std::time::Instant,
    in_flight: std::sync::atomic::AtomicU64,
    /// The connection every write of this crawl goes through, and the turn at using it.
    write_conn: tokio::sync::Mutex<Option<PoolConnection<Any>>>,
}

impl std::fmt::Debug for Crawler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crawler")
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// A frontier entry for `url`; `host_delay_ms` is the minimum delay a host first seen starts with.
fn new_url(
    url: &Url,
    depth: i64,
    priority: f64,
    kind: &'static str,
    source: Option<i64>,
    parent: Option<i64>,
    host_delay_ms: i64,
) -> NewUrl {
    NewUrl {
        url: url.to_string(),
        url_hash: url_key(url),
        host: origin(url),
        depth,
        priority,
        kind,
        source_id: source,
        parent_page_id: parent,
        host_delay_ms,
    }
}

/// Decoded payloads → (stored codes `(text, kind, attempt)`, frontier entries). QR payloads are
/// strong leads: Telegram references become preview pages under `telegram_base`, http(s) URLs
/// become pages (the scope check and SSRF guard still apply when they are fetched), anything else
/// is kept as text and never fetched. `host_delay_ms` gives a new host's starting delay.
pub fn payload_leads(
    payloads: &[String],
    telegram_base: &Url,
    depth: i64,
    source: Option<i64>,
    parent: Option<i64>,
    host_delay_ms: &dyn Fn(&Url) -> i64,
) -> (Vec<(String, String, String)>, Vec<NewUrl>) {
    let mut codes = Vec::new();
    let mut links = Vec::new();
    for p in payloads {
        let text = p.trim();
        let lower = text.to_ascii_lowercase();
        let kind = if let Some(ch) = (lower.contains("t.me/") || text.starts_with('@'))
            .then(|| telegram::channel_from_ref(text))
            .flatten()
        {
            if let Ok(u) = telegram::page_url(telegram_base, &ch, None) {
                links.push(new_url(
                    &u,
                    depth,
                    1.0,
                    "telegram",
                    source,
                    parent,
                    host_delay_ms(&u),
                ));
            }
            "telegram"
        } else if let Ok(u) = parse_canonical(text) {
            links.push(new_url(
                &u,
                depth,
                1.0,
                "page",
                source,
                parent,
                host_delay_ms(&u),
            ));
            "url"
        } else {
            "text"
        };
        codes.push((text.to_string(), kind.to_string(), String::new()));
    }
    (codes, links)
}

/// A finished lease waiting for the writer, and how to tell its task once it is committed.
struct Finished {
    lease: Lease,
    outcome: Outcome,
    stored: oneshot::Sender<()>,
}

/// A turn at writing on the crawl's write connection (see `Crawler::write_turn`).
struct WriteTurn<'a> {
    slot: tokio::sync::MutexGuard<'a, Option<PoolConnection<Any>>>,
    keep: bool,
}

impl WriteTurn<'_> {
    fn conn(&mut self) -> &mut AnyConnection {
        // `Crawler::write_turn` fills the slot before handing out the turn; only drop empties it.
        self.slot
            .as_deref_mut()
            .expect("the write turn holds a connection")
    }
}

impl Drop for WriteTurn<'_> {
    fn drop(&mut self) {
        if !self.keep {
            self.slot.take();
        }
    }
}

/// What processing one lease produced, committed together.
enum Outcome {
    Page {
        record: Box<PageRecord>,
        score: Option<Score>,
        links: Vec<NewUrl>,
    },
    Image {
        record: ImageRecord,
        codes: Vec<(String, String, String)>,
        links: Vec<NewUrl>,
    },
    Failed(FetchError),
}

impl Crawler {
    /// A crawler for one run; starts the run row.
    pub async fn new(
        db: Db,
        config: CrawlConfig,
        scorer: Arc<dyn PageScorer>,
        decoder: Arc<dyn ImageDecoder>,
    ) -> Result<Self, CrawlError> {
        let fetcher = Fetcher::new(config.fetch.clone())?;
        let mut mem_politeness = config.politeness.clone();
        // The database spaces requests; in memory only the concurrency cap applies.
        let no_delay = |p: &HostPolicy| HostPolicy {
            min_delay: Duration::ZERO,
            honour_crawl_delay: false,
            ..p.clone()
        };
        mem_politeness.default = no_delay(&mem_politeness.default);
        for (_, p) in &mut mem_politeness.overrides {
            *p = no_delay(p);
        }
        let run_id = store::start_run(&db, &config.frontier.worker, "{}").await?;
        Ok(Crawler {
            db,
            fetcher,
            robots: RobotsCache::new(config.robots.clone()),
            politeness: Politeness::new(mem_politeness),
            scorer,
            decoder,
            config,
            run_id,
            warc: Mutex::new(None),
            summary: Mutex::new(CrawlSummary::default()),
            per_host: Mutex::new(HashMap::new()),
            host_delays: Mutex::new(HashMap::new()),
            started: std::time::Instant::now(),
            in_flight: std::sync::atomic::AtomicU64::new(0),
            write_conn: tokio::sync::Mutex::new(None),
        })
    }

    /// A frontier entry for `url`; a host first seen gets its policy's minimum delay.
    fn new_url(
        &self,
        url: &Url,
        depth: i64,
        priority: f64,
        kind: &'static str,
        source: Option<i64>,
        parent: Option<i64>,
    ) -> NewUrl {
        new_url(
            url,
            depth,
            priority,
            kind,
            source,
            parent,
            self.host_delay_ms(url),
        )
    }

    /// The minimum delay of `url`'s host under the politeness policy, in milliseconds.
    fn host_delay_ms(&self, url: &Url) -> i64 {
        let delay = self.config.politeness.policy_for(url).min_delay;
        i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)
    }

    /// This process's writes (claims, the writer's batches, seeds, host delays) take turns on one
    /// connection, first come first served, taken from the pool on first use and kept for the
    /// crawl: no racing for SQLite's file lock under the busy timeout, and the connection's page
    /// cache stays valid, since no other connection writes in between. (A pool of one connection,
    /// an in-memory SQLite database, lends it for each turn only.)
    async fn write_turn(&self) -> Result<WriteTurn<'_>, StorageError> {
        let mut slot = self.write_conn.lock().await;
        if slot.is_none() {
            *slot = Some(self.db.pool().acquire().await?);
        }
        Ok(WriteTurn {
            slot,
            keep: self.db.can_keep_connection(),
        })
    }

    /// This run's id.
    pub fn run_id(&self) -> i64 {
        self.run_id
    }

    /// The run so far; `queued` is one count query on the frontier.
    pub async fn progress(&self) -> Result<Progress, CrawlError> {
        let queued = frontier::stats(&self.db).await?.queued;
        let s = self.lock_summary().clone();
        Ok(Progress {
            pages: s.pages,
            images: s.images,
            bytes: s.bytes,
            errors: s.errors.values().sum(),
            flagged: s.flagged,
            queued,
            in_flight: self.in_flight.load(std::sync::atomic::Ordering::Relaxed),
            elapsed: self.started.elapsed(),
        })
    }

    /// Adds seeds to the frontier (photo folders are read at once). Returns how many URLs were new.
    pub async fn seed(&self, seeds: &[Seed]) -> Result<usize, CrawlError> {
        let mut added = 0;
        for seed in seeds {
            match seed {
                Seed::Web(url) => {
                    let kind = if url.host_str().is_some_and(crate::guard::is_onion) {
                        "onion"
                    } else {
                        "web"
                    };
                    let source = store::source_id(&self.db, kind, url.as_str()).await?;
                    added += self
                        .enqueue(&[self.new_url(url, 0, 1.0, "page", Some(source), None)])
                        .await?;
                }
                Seed::Telegram(channel) => {
                    let source = store::source_id(&self.db, "telegram", channel).await?;
                    let Ok(url) = telegram::page_url(&self.config.telegram_base, channel, None)
                    else {
                        continue;
                    };
                    added += self
                        .enqueue(&[self.new_url(&url, 0, 1.0, "telegram", Some(source), None)])
                        .await?;
                }
                Seed::Photos(dir) => added += self.scan_photos(dir).await?,
            }
        }
        Ok(added)
    }

    async fn enqueue(&self, urls: &[NewUrl]) -> Result<usize, CrawlError> {
        let mut turn = self.write_turn().await?;
        let mut tx = self.db.begin_write_on(turn.conn()).await?;
        let n = frontier::enqueue(&mut tx, urls).await?;
        tx.commit().await.map_err(StorageError::from)?;
        self.lock_summary().discovered += n as u64;
        Ok(n)
    }

    async fn scan_photos(&self, dir: &Path) -> Result<usize, CrawlError> {
        let source = store::source_id(&self.db, "photos", &dir.to_string_lossy()).await?;
        let (dir2, limits, decoder) = (
            dir.to_path_buf(),
            self.config.photos.clone(),
            self.decoder.clone(),
        );
        let scan =
            tokio::task::spawn_blocking(move || scan_folder(&dir2, &limits, decoder.as_ref()))
                .await
                .map_err(|e| CrawlError::Seed {
                    line: 0,
                    text: dir.display().to_string(),
                    reason: e.to_string(),
                })?
                .map_err(|e| CrawlError::Seed {
                    line: 0,
                    text: dir.display().to_string(),
                    reason: e.to_string(),
                })?;
        let mut added = 0;
        for photo in &scan.photos {
            let exif = photo.exif.as_ref();
            let record = ImageRecord {
                path: Some(photo.path.to_string_lossy().into_owned()),
                content_hash: photo.sha256.clone(),
                source_id: Some(source),
                gps_lat: exif.and_then(|e| e.gps).map(|g| g.latitude),
                gps_lon: exif.and_then(|e| e.gps).map(|g| g.longitude),
                error_kind: photo.error.as_ref().map(|_| "photo".to_string()),
                error: photo.error.clone(),
                ..ImageRecord::default()
            };
            let (codes, links) = self.payload_leads(&photo.codes, 0, Some(source), None);
            let mut turn = self.write_turn().await?;
            let mut tx = self.db.begin_write_on(turn.conn()).await?;
            store::save_image(&mut tx, &record, &codes).await?;
            added += frontier::enqueue(&mut tx, &links).await?;
            tx.commit().await.map_err(StorageError::from)?;
            self.lock_summary().images += 1;
        }
        Ok(added)
    }

    /// Decoded payloads → (stored codes, frontier entries); see [`payload_leads`].
    fn payload_leads(
        &self,
        payloads: &[String],
        depth: i64,
        source: Option<i64>,
        parent: Option<i64>,
    ) -> (Vec<(String, String, String)>, Vec<NewUrl>) {
        payload_leads(
            payloads,
            &self.config.telegram_base,
            depth,
            source,
            parent,
            &|u| self.host_delay_ms(u),
        )
    }

    fn lock_summary(&self) -> std::sync::MutexGuard<'_, CrawlSummary> {
        self.summary.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs until the frontier is empty, `max_pages` is reached or `shutdown` completes.
    pub async fn run(
        self: Arc<Self>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<CrawlSummary, CrawlError> {
        tokio::pin!(shutdown);
        let mut tasks: JoinSet<Result<(), CrawlError>> = JoinSet::new();
        let (results, queue) = mpsc::channel(self.config.concurrency.max(1));
        let writer = tokio::spawn({
            let me = self.clone();
            async move { me.write_results(queue).await }
        });
        let mut last_progress = tokio::time::Instant::now();
        let mut failure = None;
        loop {
            let done = self
                .config
                .max_pages
                .is_some_and(|m| self.lock_summary().pages >= m);
            if done {
                break;
            }
            let room = self.config.concurrency.max(1).saturating_sub(tasks.len());
            // Claim in batches (a quarter of the slots at least): one short write transaction
            // per batch rather than one per finished fetch.
            let batch = (self.config.concurrency / 4).max(1);
            let leases = if room >= batch || (room > 0 && tasks.is_empty()) {
                self.claim(room as i64).await?
            } else {
                Vec::new()
            };
            let claimed = !leases.is_empty();
            for lease in leases {
                let (me, results) = (self.clone(), results.clone());
                tasks.spawn(async move { me.process(lease, results).await });
            }
            self.in_flight
                .store(tasks.len() as u64, std::sync::atomic::Ordering::Relaxed);
            if self.config.log_progress && last_progress.elapsed() >= self.config.progress_every {
                last_progress = tokio::time::Instant::now();
                self.progress().await?.log(self.run_id, "crawl progress");
            }
            if claimed && tasks.len() < self.config.concurrency {
                continue;
            }
            if tasks.is_empty() {
                match frontier::next_due(&self.db).await? {
                    None => break,
                    Some(due) => {
                        let wait = (due - kuzet_storage::now_ms()).clamp(10, 1000) as u64;
                        tokio::select! {
                            _ = &mut shutdown => { self.lock_summary().interrupted = true; break; }
                            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                        }
                    }
                }
                continue;
            }
            tokio::select! {
                _ = &mut shutdown => { self.lock_summary().interrupted = true; break; }
                joined = tasks.join_next() => {
                    if let Some(Ok(Err(e))) = joined { failure = Some(e); break; }
                }
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
        // Let fetches in flight commit.
        while let Some(joined) = tasks.join_next().await {
            if let Ok(Err(e)) = joined {
                failure.get_or_insert(e);
            }
        }
        drop(results);
        match writer.await {
            Ok(Ok(())) => {}
            // The writer's own error says why tasks saw it stop.
            Ok(Err(e)) => failure = Some(e),
            Err(_) => {
                failure.get_or_insert(CrawlError::WriterStopped);
            }
        }
        // The write connection goes back to the pool.
        self.write_conn.lock().await.take();
        if let Some((w, _)) = self.warc.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            w.sync()?;
        }
        self.in_flight
            .store(0, std::sync::atomic::Ordering::Relaxed);
        let progress = self.progress().await?;
        progress.log(self.run_id, "crawl finished");
        let summary = {
            let mut s = self.lock_summary();
            s.elapsed_ms = u64::try_from(progress.elapsed.as_millis()).unwrap_or(u64::MAX);
            s.clone()
        };
        let status = match (&failure, summary.interrupted) {
            (Some(_), _) => "failed",
            (None, true) => "interrupted",
            (None, false) => "finished",
        };
        let json = serde_json::to_string(&summary).unwrap_or_else(|_| "{}".into());
        store::finish_run(&self.db, self.run_id, status, &json).await?;
        match failure {
            Some(e) => Err(e),
            None => Ok(summary),
        }
    }

    /// Fetches and extracts one lease, hands the result to the writer and returns once it is
    /// committed.
    async fn process(
        &self,
        lease: Lease,
        results: mpsc::Sender<Finished>,
    ) -> Result<(), CrawlError> {
        let outcome = self.fetch_and_extract(&lease).await;
        let (stored, committed) = oneshot::channel();
        let sent = results.send(Finished {
            lease,
            outcome,
            stored,
        });
        if sent.await.is_err() || committed.await.is_err() {
            return Err(CrawlError::WriterStopped);
        }
        Ok(())
    }

    /// The writer: takes the results of finished fetches as they come and commits all that are
    /// waiting (up to `commit_batch`) in one transaction, then tells their tasks. While one batch
    /// commits, the next gathers, so the batch grows with the rate at which fetches finish and
    /// a lone result is committed at once. Ends when every sender is gone, or at the first
    /// failed commit (whose results are not stored: their leases expire and are fetched again).
    async fn write_results(&self, mut queue: mpsc::Receiver<Finished>) -> Result<(), CrawlError> {
        let mut batch = Vec::new();
        let mut hosts = HostIds::default();
        while queue
            .recv_many(&mut batch, self.config.commit_batch.max(1))
            .await
            > 0
        {
            match self.commit(&mut batch, &mut hosts).await {
                Ok(()) => hosts.committed(),
                Err(e) => {
                    hosts.rolled_back();
                    return Err(e);
                }
            }
            for f in batch.drain(..) {
                let _ = f.stored.send(());
            }
        }
        Ok(())
    }

    /// Stores a batch of fetch results in one transaction: per result its fetch-log row, then
    /// (when the lease still holds) the page or image with its verdict, the links it discovered
    /// and its removal from the frontier, or the failure's retry or give-up. A result whose lease
    /// expired and was taken over by another worker is only logged (`lease_lost`): that worker's
    /// fetch is the one stored, so nothing is stored twice.
    async fn commit(&self, batch: &mut [Finished], hosts: &mut HostIds) -> Result<(), CrawlError> {
        let worker = self.config.frontier.worker.clone();
        let mut turn = self.write_turn().await?;
        let mut tx = self.db.begin_write_on(turn.conn()).await?;
        let leases: Vec<&Lease> = batch.iter().map(|f| &f.lease).collect();
        let held = frontier::held_in(&mut tx, self.db.backend(), &leases, &worker).await?;
        // Whether a result may be stored: its lease is still this worker's.
        let holds = |f: &Finished| held.contains(&f.lease.id);
        let mut lost = 0;
        let records: Vec<FetchRecord<'_>> = batch
            .iter()
            .map(|f| {
                let record = self.fetch_record(&worker, &f.lease, &f.outcome);
                if holds(f) {
                    record
                } else {
                    lost += 1;
                    FetchRecord {
                        error_kind: Some(LEASE_LOST),
                        error: Some("lease expired and was claimed by another worker".into()),
                        ..record
                    }
                }
            })
            .collect();
        store::log_fetches(&mut tx, &records).await?;
        drop(records);
        let pages: Vec<&PageRecord> = batch
            .iter()
            .filter(|f| holds(f))
            .filter_map(|f| match &f.outcome {
                Outcome::Page { record, .. } => Some(&**record),
                _ => None,
            })
            .collect();
        let mut page_ids = store::save_pages(&mut tx, &pages).await?.into_iter();
        drop(pages);
        let mut stored = Vec::new();
        let mut verdicts = Vec::new();
        for f in batch.iter_mut().filter(|f| holds(f)) {
            match &mut f.outcome {
                Outcome::Page { score, links, .. } => {
                    let page_id = page_ids
                        .next()
                        .ok_or(sqlx::Error::RowNotFound)
                        .map_err(StorageError::from)?;
                    if let Some(s) = score {
                        verdicts.push((page_id, s));
                    }
                    for l in links.iter_mut() {
                        l.parent_page_id = Some(page_id);
                    }
                    stored.push(f.lease.id);
                }
                Outcome::Image { record, codes, .. } => {
                    store::save_image(&mut tx, record, codes).await?;
                    stored.push(f.lease.id);
                }
                Outcome::Failed(e) => {
                    frontier::fail_in(&mut tx, &f.lease, &self.config.frontier, e.is_transient())
                        .await?;
                }
            }
        }
        let verdict_records: Vec<VerdictRecord> = verdicts
            .iter()
            .map(|(_, s)| VerdictRecord {
                score: s.score,
                verdict: s.verdict.clone(),
                reasons_json: s.reasons_json.clone(),
                rules_version: s.rules_version.clone(),
            })
            .collect();
        let verdict_rows: Vec<store::VerdictRow<'_>> = verdicts
            .iter()
            .zip(&verdict_records)
            .map(|((id, s), v)| (Subject::Page(*id), v, s.indicators.as_slice()))
            .collect();
        store::save_verdicts(&mut tx, &verdict_rows).await?;
        let links: Vec<&NewUrl> = batch
            .iter()
            .filter(|f| holds(f))
            .flat_map(|f| match &f.outcome {
                Outcome::Page { links, .. } | Outcome::Image { links, .. } => links.as_slice(),
                Outcome::Failed(_) => &[],
            })
            .collect();
        let discovered = frontier::enqueue_with(&mut tx, &links, hosts).await?;
        frontier::remove_held_in(&mut tx, &stored).await?;
        tx.commit().await.map_err(StorageError::from)?;
        let mut summary = self.lock_summary();
        summary.discovered += discovered as u64;
        if lost > 0 {
            *summary.errors.entry(LEASE_LOST.to_string()).or_default() += lost;
        }
        Ok(())
    }

    /// The fetch-log row of a finished lease.
    fn fetch_record<'a>(
        &self,
        worker: &'a str,
        lease: &'a Lease,
        outcome: &Outcome,
    ) -> FetchRecord<'a> {
        let (status, error_kind, error) = match outcome {
            Outcome::Page { record, .. } => (Some(record.status), None, None),
            Outcome::Image { .. } => (Some(200), None, None),
            Outcome::Failed(e) => {
                let status = match e {
                    FetchError::HttpStatus { status, .. } => Some(i64::from(*status)),
                    _ => None,
                };
                (status, Some(e.kind()), Some(e.to_string()))
            }
        };
        FetchRecord {
            run_id: self.run_id,
            worker,
            url_hash: &lease.url_hash,
            url: &lease.url,
            status,
            error_kind,
            error,
            attempt: lease.attempts,
            expired_lease_owner: lease.expired_owner.as_deref(),
        }
    }

    async fn host_fetch_starts(&self, host_id: i64, ms: i64) -> Result<(), StorageError> {
        let mut turn = self.write_turn().await?;
        frontier::host_fetch_starts(turn.conn(), host_id, ms).await
    }

    /// Claims up to `max` URLs on the write connection.
    async fn claim(&self, max: i64) -> Result<Vec<Lease>, StorageError> {
        let mut turn = self.write_turn().await?;
        let mut tx = self.db.begin_write_on(turn.conn()).await?;
        let leases =
            frontier::claim_in(&mut tx, self.db.backend(), &self.config.frontier, max).await?;
        tx.commit().await?;
        Ok(leases)
    }

    fn count_error(&self, e: &FetchError) {
        *self
            .lock_summary()
            .errors
            .entry(e.kind().to_string())
            .or_default() += 1;
    }

    async fn fetch_and_extract(&self, lease: &Lease) -> Outcome {
        let failed = |e: FetchError| {
            self.count_error(&e);
            Outcome::Failed(e)
        };
        let url = match parse_canonical(&lease.url) {
            Ok(u) => u,
            Err(e) => return failed(e.into()),
        };
        if lease.kind != "image" {
            if let Err(e) = check_trap(&url, &self.config.url_limits) {
                return failed(e.into());
            }
            if let Some(max) = self.config.max_pages_per_host {
                let mut per_host = self.per_host.lock().unwrap_or_else(|p| p.into_inner());
                let n = per_host.entry(origin(&url)).or_default();
                if *n >= max {
                    return failed(FetchError::HostLimit {
                        url: lease.url.clone(),
                    });
                }
                *n += 1;
            }
        }
        let outcome = match self.polite_fetch(lease, &url).await {
            Ok(o) => o,
            Err(e) => return failed(e),
        };
        self.lock_summary().bytes += outcome.raw.response_body.len() as u64;
        match lease.kind.as_str() {
            "image" => self.extract_image(lease, &outcome).await,
            "telegram" => self.extract_telegram(lease, outcome),
            _ if outcome.is_image() => self.extract_image(lease, &outcome).await,
            _ => self.extract_page(lease, outcome),
        }
    }

    async fn polite_fetch(&self, lease: &Lease, url: &Url) -> Result<FetchOutcome, FetchError> {
        self.fetcher.check(url)?;
        let policy = self.config.politeness.policy_for(url);
        let mut delay = policy.min_delay;
        if policy.obey_robots {
            let decision = self.robots.check(&self.fetcher, url).await?;
            if policy.honour_crawl_delay
                && let Some(cd) = decision.crawl_delay
            {
                delay = delay.max(cd.min(policy.max_crawl_delay));
            }
            if !decision.allowed {
                return Err(FetchError::RobotsDenied {
                    url: lease.url.clone(),
                });
            }
        }
        let _permit = self.politeness.acquire(url).await;
        // Keep the database's host delay in step with policy and robots.txt, and the host's next
        // claim at least one delay after this fetch starts. Hosts without a delay (politeness
        // relaxed) are written only when their delay changes.
        let ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        let changed = self
            .host_delays
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(lease.host_id, ms)
            != Some(ms);
        if (changed || ms > 0)
            && let Err(e) = self.host_fetch_starts(lease.host_id, ms).await
        {
            tracing::warn!(error = %e, host_id = lease.host_id, "cannot store host delay");
        }
        self.fetcher.fetch(url).await
    }

    fn extract_page(&self, lease: &Lease, outcome: FetchOutcome) -> Outcome {
        let decoded = decode(outcome.body(), outcome.header("content-type"));
        let parsed = parse_html(&decoded.text, &outcome.final_url, &self.config.parse);
        let score = self
            .scorer
            .score(&outcome.final_url, parsed.title.as_deref(), &parsed.text);
        let parent_score = score.as_ref().map(|s| s.score).unwrap_or(0.0);
        let depth = lease.depth + 1;
        let mut links = Vec::new();
        if depth <= self.config.max_depth {
            for l in &parsed.links {
                // Focused crawl: the linking page's score leads; shallower links break ties.
                let priority = parent_score - 0.01 * depth as f64;
                let base = &self.config.telegram_base;
                let (target, kind) = match telegram_channel_link(&l.url)
                    .and_then(|ch| telegram::page_url(base, &ch, None).ok())
                {
                    Some(preview) => (preview, "telegram"),
                    None if l.url.as_str().starts_with(base.as_str()) => {
                        (l.url.clone(), "telegram")
                    }
                    None => (l.url.clone(), "page"),
                };
                links.push(self.new_url(&target, depth, priority, kind, lease.source_id, None));
            }
        }
        let images = parsed.images.iter().map(|i| i.url.clone());
        self.page_outcome(
            lease,
            &outcome,
            PageText {
                encoding: decoded.encoding_name,
                title: parsed.title,
                text: parsed.text,
            },
            score,
            links,
            images,
        )
    }

    fn extract_telegram(&self, lease: &Lease, outcome: FetchOutcome) -> Outcome {
        let decoded = decode(outcome.body(), outcome.header("content-type"));
        let page = telegram::parse_channel_page(&decoded.text, &outcome.final_url);
        let text: String = page
            .posts
            .iter()
            .map(|p| p.text.as_str())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
        let score = self
            .scorer
            .score(&outcome.final_url, page.title.as_deref(), &text);
        let parent_score = score.as_ref().map(|s| s.score).unwrap_or(0.0);
        let base = &self.config.telegram_base;
        let mut links = Vec::new();
        if let Some(before) = page.before
            && let Ok(u) = telegram::page_url(base, &page.channel, Some(before))
        {
            // Older windows of the same channel: same depth, just below the window itself.
            links.push(self.new_url(
                &u,
                lease.depth,
                lease.priority - 0.001,
                "telegram",
                lease.source_id,
                None,
            ));
        }
        let depth = lease.depth + 1;
        if depth <= self.config.max_depth {
            for lead in &page.leads {
                match lead.kind {
                    LeadKind::Channel => {
                        if let Ok(u) = telegram::page_url(base, &lead.value, None) {
                            links.push(self.new_url(
                                &u,
                                depth,
                                parent_score,
                                "telegram",
                                lease.source_id,
                                None,
                            ));
                        }
                    }
                    LeadKind::Web => {
                        if let Ok(u) = parse_canonical(&lead.value) {
                            links.push(self.new_url(
                                &u,
                                depth,
                                parent_score,
                                "page",
                                lease.source_id,
                                None,
                            ));
                        }
                    }
                    LeadKind::Bot | LeadKind::Invite => {}
                }
            }
        }
        let images = page
            .posts
            .iter()
            .flat_map(|p| p.photos.iter())
            .filter_map(|photo| parse_canonical(photo).ok());
        self.page_outcome(
            lease,
            &outcome,
            PageText {
                encoding: decoded.encoding_name,
                title: page.title,
                text,
            },
            score,
            links,
            images,
        )
    }

    /// What a web page and a Telegram window share once parsed and scored: image links queued
    /// (when images are fetched), evidence written, the page record built and counted.
    fn page_outcome(
        &self,
        lease: &Lease,
        outcome: &FetchOutcome,
        page: PageText,
        score: Option<Score>,
        mut links: Vec<NewUrl>,
        images: impl Iterator<Item = Url>,
    ) -> Outcome {
        if self.config.fetch_images {
            let priority = score.as_ref().map(|s| s.score).unwrap_or(0.0) + 0.5;
            for img in images {
                links.push(self.new_url(
                    &img,
                    lease.depth,
                    priority,
                    "image",
                    lease.source_id,
                    None,
                ));
            }
        }
        let warc = self.evidence(outcome, score.as_ref());
        let record = page_record(lease, outcome, self.run_id, page, warc);
        self.count_page(score.as_ref());
        Outcome::Page {
            record: Box::new(record),
            score,
            links,
        }
    }

    async fn extract_image(&self, lease: &Lease, outcome: &FetchOutcome) -> Outcome {
        let bytes = outcome.body().to_vec();
        let hash = hex::encode(Sha256::digest(&bytes));
        let decoder = self.decoder.clone();
        let decoded = tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decoder.decode(&bytes)))
        })
        .await;
        let (payloads, error) = match decoded {
            Ok(Ok(p)) => (p, None),
            _ => (Vec::new(), Some("image decoder failed".to_string())),
        };
        let (codes, links) = self.payload_leads(
            &payloads,
            lease.depth + 1,
            lease.source_id,
            lease.parent_page_id,
        );
        self.lock_summary().images += 1;
        Outcome::Image {
            record: ImageRecord {
                url: Some(outcome.final_url.to_string()),
                content_hash: hash,
                page_id: lease.parent_page_id,
                source_id: lease.source_id,
                error_kind: error.as_ref().map(|_| "decode".to_string()),
                error,
                ..ImageRecord::default()
            },
            codes,
            links,
        }
    }

    fn count_page(&self, score: Option<&Score>) {
        let mut s = self.lock_summary();
        s.pages += 1;
        if score.is_some_and(|s| s.verdict == "shop" || s.verdict == "suspicious") {
            s.flagged += 1;
        }
    }

    /// Writes the exchange to this run's WARC file when the policy asks for it.
    fn evidence(&self, outcome: &FetchOutcome, score: Option<&Score>) -> Option<WarcRef> {
        let dir = self.config.evidence_dir.as_ref()?;
        let flagged = score.is_some_and(|s| s.verdict == "shop" || s.verdict == "suspicious");
        let keep = match self.config.evidence {
            EvidencePolicy::Off => false,
            EvidencePolicy::Flagged => flagged,
            EvidencePolicy::All => true,
        };
        if !keep {
            return None;
        }
        let mut guard = self.warc.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let name = format!(
                "kuzet-run{}-{}.warc",
                self.run_id,
                sanitize(&self.config.frontier.worker)
            );
            let _ = std::fs::create_dir_all(dir);
            match WarcWriter::append(&dir.join(&name)) {
                Ok(w) => *guard = Some((w, name)),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot open evidence file");
                    return None;
                }
            }
        }
        let (writer, name) = guard.as_mut()?;
        let mut meta = Vec::new();
        if let Some(s) = score {
            meta.push(("kuzet-score", format!("{:.4}", s.score)));
            meta.push(("kuzet-verdict", s.verdict.clone()));
            meta.push(("kuzet-rules-version", s.rules_version.clone()));
        }
        let records = match writer
            .write_exchange(outcome, &meta)
            .and_then(|r| writer.sync().map(|_| r))
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot write evidence");
                return None;
            }
        };
        let end = records.metadata.offset + records.metadata.length;
        Some(WarcRef {
            file: name.clone(),
            offset: records.response.offset as i64,
            length: (end - records.response.offset) as i64,
            record_id: records.response.record_id,
            digest: records.response.block_digest,
        })
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A page's decoded, extracted text.
struct PageText {
    encoding: &'static str,
    title: Option<String>,
    text: String,
}

fn page_record(
    lease: &Lease,
    o: &FetchOutcome,
    run_id: i64,
    page: PageText,
    warc: Option<WarcRef>,
) -> PageRecord {
    PageRecord {
        url: lease.url.clone(),
        url_hash: lease.url_hash.clone(),
        final_url: o.final_url.to_string(),
        host: origin(&o.final_url),
        source_id: lease.source_id,
        run_id: Some(run_id),
        depth: lease.depth,
        status: i64::from(o.status),
        content_type: o.media_type.clone(),
        encoding: Some(page.encoding.to_string()),
        content_hash: hex::encode(Sha256::digest(&o.raw.response_body)),
        body_bytes: o.raw.response_body.len() as i64,
        title: page.title,
        text: Some(page.text),
        warc,
    }
}

/// A `t.me/<channel>` (or `t.me/s/<channel>`) link: crawled through the preview base.
fn telegram_channel_link(url: &Url) -> Option<String> {
    match telegram::classify_link(url.as_str()) {
        Some((LeadKind::Channel, name)) => Some(name),
        _ => None,
    }
}
