//! Takedown re-checks: one watched URL fetched again and sorted into what answered.
//!
//! A re-check goes through the same layers as a crawl — scope (before any DNS query), the SSRF
//! guard on every hop, robots.txt and per-host politeness ([`Politeness`]) — and then says what it
//! saw, without touching the database ([`Rechecker::observe`]):
//!
//! - [`Seen::Blocked`]: a block signature of the configuration matched — an HTTP status (451),
//!   the resolved address (an ISP's block-page server), a redirect hop to a block host, a title or
//!   body pattern (the block page of a national authority or ISP);
//! - [`Seen::GoneLike`]: the name does not resolve, the connection is refused, the answer is 404 or
//!   410, or a Telegram preview shows no posts. The caller decides after how many consecutive
//!   such checks the target counts as gone;
//! - [`Seen::Live`]: the page's extracted text is the baseline's (same SHA-256), or it differs but
//!   the re-score keeps the verdict, the score within the tolerance and the same indicators;
//! - [`Seen::Changed`]: anything else that answered with a page (re-scored with the classifier);
//! - [`Seen::Error`]: timeouts, TLS or protocol failures, other statuses, refusals.
//!
//! Evidence is written only when the caller asks ([`Rechecker::write_evidence`], for transitions):
//! the exchange as WARC response, request and metadata records, or — when nothing answered — a
//! WARC metadata record naming the failure, so every transition has a record and a digest.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ipnet::IpNet;
use regex::{Regex, RegexBuilder};
use sha2::{Digest, Sha256};
use url::Url;

use crate::crawl::PageScorer;
use crate::error::FetchError;
use crate::fetch::{FetchConfig, FetchOutcome, Fetcher, RequestOptions};
use crate::parse::{ParseLimits, parse_html};
use crate::politeness::{Politeness, PolitenessConfig};
use crate::robots::{RobotsCache, RobotsConfig};
use crate::store::WarcRef;
use crate::telegram;
use crate::url::{host_key, parse_canonical, shorten};
use crate::warc::{WarcError, WarcWriter};
use kuzet_classifier::decode::decode;

/// Block signatures as configured (text), compiled by [`BlockSignatures::compile`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockSignatureConfig {
    /// HTTP statuses that mean "blocked" (e.g. 451).
    pub statuses: Vec<u16>,
    /// Regexes over the decoded HTML of the answer (case-insensitive).
    pub body_patterns: Vec<String>,
    /// Regexes over the page title (case-insensitive).
    pub title_patterns: Vec<String>,
    /// Host suffixes a redirect to which means "blocked" (`blocked.example.kz`).
    pub redirect_hosts: Vec<String>,
    /// Address ranges of block-page servers (a DNS answer the ISP substitutes), e.g. `10.0.0.1/32`.
    pub addresses: Vec<String>,
}

/// A configured block signature that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("block signature {what} {value:?}: {reason}")]
pub struct SignatureError {
    /// Which list.
    pub what: &'static str,
    /// The entry.
    pub value: String,
    /// Why it is refused.
    pub reason: String,
}

/// Compiled block signatures (regexes built once per run).
#[derive(Debug, Clone, Default)]
pub struct BlockSignatures {
    statuses: Vec<u16>,
    body: Vec<Regex>,
    title: Vec<Regex>,
    redirect_hosts: Vec<String>,
    addresses: Vec<IpNet>,
}

/// Largest compiled size of one signature regex.
const MAX_REGEX_BYTES: usize = 1 << 20;

impl BlockSignatures {
    /// Compiles the configured signatures; the error names the bad entry.
    pub fn compile(c: &BlockSignatureConfig) -> Result<Self, SignatureError> {
        let regexes = |what: &'static str, list: &[String]| {
            list.iter()
                .map(|p| {
                    RegexBuilder::new(p)
                        .case_insensitive(true)
                        .size_limit(MAX_REGEX_BYTES)
                        .build()
                        .map_err(|e| SignatureError {
                            what,
                            value: p.clone(),
                            reason: e.to_string(),
                        })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let addresses = c
            .addresses
            .iter()
            .map(|a| {
                a.parse::<IpNet>()
                    .or_else(|_| a.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|e| SignatureError {
                        what: "address",
                        value: a.clone(),
                        reason: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BlockSignatures {
            statuses: c.statuses.clone(),
            body: regexes("body pattern", &c.body_patterns)?,
            title: regexes("title pattern", &c.title_patterns)?,
            redirect_hosts: c
                .redirect_hosts
                .iter()
                .map(|h| h.trim().trim_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            addresses,
        })
    }

    fn redirect_host(&self, url: &Url) -> Option<&str> {
        let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
        self.redirect_hosts
            .iter()
            .find(|s| {
                host == **s
                    || (host.len() > s.len()
                        && host.ends_with(s.as_str())
                        && host.as_bytes()[host.len() - s.len() - 1] == b'.')
            })
            .map(String::as_str)
    }

    /// Which signature the answer matches, described for the timeline.
    fn matches(&self, o: &FetchOutcome, html: &str, title: Option<&str>) -> Option<String> {
        if let Some(r) = o.redirects.iter().find_map(|r| self.redirect_host(&r.to)) {
            return Some(format!("redirect to block host {r}"));
        }
        if self.statuses.contains(&o.status) {
            return Some(format!("block status {}", o.status));
        }
        if let Some(addr) = o.remote_addr
            && let Some(net) = self.addresses.iter().find(|n| n.contains(&addr.ip()))
        {
            return Some(format!("block-page address {} in {net}", addr.ip()));
        }
        if let Some(t) = title
            && let Some(re) = self.title.iter().find(|re| re.is_match(t))
        {
            return Some(format!("block title /{}/", re.as_str()));
        }
        self.body
            .iter()
            .find(|re| re.is_match(html))
            .map(|re| format!("block page /{}/", re.as_str()))
    }
}

/// What a watched target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// A web page.
    Web,
    /// A page on an `.onion` host (fetched through the SOCKS proxy only).
    Onion,
    /// A Telegram channel preview (`t.me/s/<channel>` or the configured base).
    Telegram,
}

/// What the page looked like when it was flagged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Baseline {
    /// SHA-256 hex of the extracted text.
    pub text_hash: Option<String>,
    /// The score then.
    pub score: Option<f64>,
    /// The verdict then.
    pub verdict: Option<String>,
    /// Indicators then, as (kind, value).
    pub indicators: BTreeSet<(String, String)>,
}

/// What one check saw, in the order of the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The baseline's shop content.
    Live,
    /// Answered with content that differs from the baseline.
    Changed,
    /// A block signature matched.
    Blocked,
    /// NXDOMAIN, connection refused, 404/410, empty Telegram channel.
    GoneLike,
    /// Anything else that went wrong.
    Error,
}

impl Seen {
    /// Stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Seen::Live => "live",
            Seen::Changed => "changed",
            Seen::Blocked => "blocked",
            Seen::GoneLike => "gone_like",
            Seen::Error => "error",
        }
    }
}

/// One check's result; the exchange is kept for evidence until the observation is dropped.
#[derive(Debug)]
pub struct Observation {
    /// The classification.
    pub seen: Seen,
    /// The URL checked.
    pub url: String,
    /// The URL that answered, after redirects.
    pub final_url: Option<String>,
    /// The redirect chain: each hop's target in order (empty when none was followed or the
    /// fetch failed).
    pub redirects: Vec<String>,
    /// The final HTTP status.
    pub http_status: Option<u16>,
    /// SHA-256 hex of the body as received.
    pub content_hash: Option<String>,
    /// SHA-256 hex of the extracted text.
    pub text_hash: Option<String>,
    /// Re-score (only when the text differs from the baseline).
    pub score: Option<f64>,
    /// Re-score verdict.
    pub verdict: Option<String>,
    /// The fetch error kind, when the fetch failed.
    pub error_kind: Option<String>,
    /// Why: the matched signature, the error, what changed.
    pub detail: String,
    /// When the check ended (ms since the epoch).
    pub at: i64,
    exchange: Option<Box<FetchOutcome>>,
}

impl Observation {
    fn failed(url: &str, seen: Seen, e: &FetchError) -> Self {
        Observation {
            seen,
            url: url.to_string(),
            final_url: None,
            redirects: Vec::new(),
            http_status: match e {
                FetchError::HttpStatus { status, .. } => Some(*status),
                _ => None,
            },
            content_hash: None,
            text_hash: None,
            score: None,
            verdict: None,
            error_kind: Some(e.kind().to_string()),
            detail: format!("{}: {e}", e.kind()),
            at: kuzet_storage::now_ms(),
            exchange: None,
        }
    }
}

/// Settings of a re-check run. `Default` is polite and safe.
#[derive(Debug, Clone)]
pub struct RecheckConfig {
    /// Fetcher settings (limits, scope, SSRF guard, SOCKS proxy).
    pub fetch: FetchConfig,
    /// robots.txt handling.
    pub robots: RobotsConfig,
    /// Per-host politeness.
    pub politeness: PolitenessConfig,
    /// Parse caps (the same as the crawl's, so that text hashes compare).
    pub parse: ParseLimits,
    /// Block signatures.
    pub signatures: BlockSignatureConfig,
    /// Largest score difference still counted as the same shop content. Default 0.05.
    pub score_tolerance: f64,
    /// Where WARC evidence of transitions goes; `None` keeps none.
    pub evidence_dir: Option<PathBuf>,
    /// WARC file name inside `evidence_dir`.
    pub evidence_file: String,
}

impl Default for RecheckConfig {
    fn default() -> Self {
        RecheckConfig {
            fetch: FetchConfig::default(),
            robots: RobotsConfig::default(),
            politeness: PolitenessConfig::default(),
            parse: ParseLimits::default(),
            signatures: BlockSignatureConfig::default(),
            score_tolerance: 0.05,
            evidence_dir: None,
            evidence_file: "kuzet-recheck.warc".into(),
        }
    }
}

/// Errors that stop a re-check run before it starts.
#[derive(Debug, thiserror::Error)]
pub enum RecheckError {
    /// The HTTP client could not be built.
    #[error(transparent)]
    Fetcher(#[from] FetchError),
    /// A block signature does not compile.
    #[error(transparent)]
    Signature(#[from] SignatureError),
}

/// Re-checks watched URLs; share one per run (fetches may run concurrently).
pub struct Rechecker {
    fetcher: Fetcher,
    robots: RobotsCache,
    politeness: Politeness,
    scorer: Arc<dyn PageScorer>,
    signatures: BlockSignatures,
    config: RecheckConfig,
    warc: Mutex<Option<WarcWriter<std::fs::File>>>,
}

impl std::fmt::Debug for Rechecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rechecker").finish_non_exhaustive()
    }
}

impl Rechecker {
    /// A re-checker scoring changed pages with `scorer`.
    pub fn new(config: RecheckConfig, scorer: Arc<dyn PageScorer>) -> Result<Self, RecheckError> {
        Ok(Rechecker {
            fetcher: Fetcher::new(config.fetch.clone())?,
            robots: RobotsCache::new(config.robots.clone()),
            politeness: Politeness::new(config.politeness.clone()),
            scorer,
            signatures: BlockSignatures::compile(&config.signatures)?,
            config,
            warc: Mutex::new(None),
        })
    }

    /// Fetches `url` politely and classifies the answer against `baseline`.
    pub async fn observe(&self, url: &str, kind: TargetKind, baseline: &Baseline) -> Observation {
        let parsed = match parse_canonical(url) {
            Ok(u) => u,
            Err(e) => return Observation::failed(url, Seen::Error, &e.into()),
        };
        match self.polite_fetch(&parsed).await {
            Ok(o) => self.classify(url, kind, baseline, o),
            Err(e) => {
                let seen = self.classify_error(&parsed, &e);
                let mut obs = Observation::failed(url, seen, &e);
                if seen == Seen::Blocked
                    && let Some(u) = error_url(&e)
                {
                    obs.detail = format!("redirect to block host: {u}; {}", obs.detail);
                }
                obs
            }
        }
    }

    async fn polite_fetch(&self, url: &Url) -> Result<FetchOutcome, FetchError> {
        self.fetcher.check(url)?;
        let policy = self.politeness.config().policy_for(url);
        if policy.obey_robots {
            let decision = self.robots.check(&self.fetcher, url).await?;
            self.politeness.set_crawl_delay(url, decision.crawl_delay);
            if !decision.allowed {
                return Err(FetchError::RobotsDenied {
                    url: shorten(url.as_str()),
                });
            }
        }
        let _permit = self.politeness.acquire(url).await;
        let opts = RequestOptions {
            any_status: true,
            any_content_type: true,
            ..RequestOptions::default()
        };
        self.fetcher.fetch_with(url, &opts).await
    }

    fn classify_error(&self, requested: &Url, e: &FetchError) -> Seen {
        // A failure on a redirect hop to a block host (often private or out of scope) is a block.
        if let Some(hop) = error_url(e).and_then(|u| Url::parse(u).ok())
            && host_key(&hop) != host_key(requested)
            && self.signatures.redirect_host(&hop).is_some()
        {
            return Seen::Blocked;
        }
        match e {
            FetchError::HttpStatus { status, .. } if self.signatures.statuses.contains(status) => {
                Seen::Blocked
            }
            FetchError::HttpStatus {
                status: 404 | 410, ..
            } => Seen::GoneLike,
            FetchError::Connect { reason, .. } => {
                let r = reason.to_ascii_lowercase();
                if r.contains("cannot resolve") || r.contains("refused") {
                    Seen::GoneLike
                } else {
                    Seen::Error
                }
            }
            _ => Seen::Error,
        }
    }

    fn classify(
        &self,
        url: &str,
        kind: TargetKind,
        baseline: &Baseline,
        o: FetchOutcome,
    ) -> Observation {
        let decoded = decode(o.body(), o.header("content-type"));
        let (title, text, empty_channel) = match kind {
            TargetKind::Telegram => {
                let page = telegram::parse_channel_page(&decoded.text, &o.final_url);
                let text = page
                    .posts
                    .iter()
                    .map(|p| p.text.as_str())
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n\n");
                (page.title, text, page.posts.is_empty())
            }
            TargetKind::Web | TargetKind::Onion => {
                let parsed = parse_html(&decoded.text, &o.final_url, &self.config.parse);
                (parsed.title, parsed.text, false)
            }
        };
        let mut obs = Observation {
            seen: Seen::Error,
            url: url.to_string(),
            final_url: Some(o.final_url.to_string()),
            redirects: o.redirects.iter().map(|r| r.to.to_string()).collect(),
            http_status: Some(o.status),
            content_hash: Some(hex::encode(Sha256::digest(&o.raw.response_body))),
            text_hash: Some(hex::encode(Sha256::digest(text.as_bytes()))),
            score: None,
            verdict: None,
            error_kind: None,
            detail: String::new(),
            at: kuzet_storage::now_ms(),
            exchange: None,
        };
        if let Some(sig) = self.signatures.matches(&o, &decoded.text, title.as_deref()) {
            obs.seen = Seen::Blocked;
            obs.detail = sig;
        } else if matches!(o.status, 404 | 410) {
            obs.seen = Seen::GoneLike;
            obs.detail = format!("HTTP status {}", o.status);
        } else if !(200..300).contains(&o.status) {
            obs.seen = Seen::Error;
            obs.error_kind = Some("http_status".into());
            obs.detail = format!("HTTP status {}", o.status);
        } else if empty_channel {
            obs.seen = Seen::GoneLike;
            obs.detail = "Telegram preview shows no posts".into();
        } else if obs.text_hash.is_some() && obs.text_hash == baseline.text_hash {
            obs.seen = Seen::Live;
            obs.detail = "same text".into();
        } else {
            let s = self.scorer.score(&o.final_url, title.as_deref(), &text);
            let (seen, detail) = same_shop(baseline, s.as_ref(), self.config.score_tolerance);
            obs.seen = seen;
            obs.detail = detail;
            obs.score = s.as_ref().map(|s| s.score);
            obs.verdict = s.map(|s| s.verdict);
        }
        obs.exchange = Some(Box::new(o));
        obs
    }

    /// Writes `obs` as evidence (see the module docs); `state` names the new state. Returns where
    /// it went, or `None` when no evidence directory is configured or the file cannot be written
    /// (logged).
    pub fn write_evidence(&self, obs: &Observation, state: &str) -> Option<WarcRef> {
        let dir = self.config.evidence_dir.as_ref()?;
        let name = self.config.evidence_file.clone();
        let mut guard = self.warc.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let _ = std::fs::create_dir_all(dir);
            match WarcWriter::append(&dir.join(&name)) {
                Ok(w) => *guard = Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot open recheck evidence file");
                    return None;
                }
            }
        }
        let writer = guard.as_mut()?;
        match write_obs(writer, obs, state) {
            Ok(mut r) => {
                r.file = name;
                Some(r)
            }
            Err(e) => {
                tracing::warn!(error = %e, url = %obs.url, "cannot write recheck evidence");
                None
            }
        }
    }
}

fn write_obs(
    writer: &mut WarcWriter<std::fs::File>,
    obs: &Observation,
    state: &str,
) -> Result<WarcRef, WarcError> {
    let mut meta = vec![
        ("kuzet-recheck-state", state.to_string()),
        ("kuzet-recheck-seen", obs.seen.as_str().to_string()),
        ("kuzet-recheck-detail", obs.detail.clone()),
    ];
    if !obs.redirects.is_empty() {
        meta.push(("kuzet-redirect-chain", obs.redirects.join(" ")));
    }
    if let (Some(s), Some(v)) = (obs.score, &obs.verdict) {
        meta.push(("kuzet-score", format!("{s:.4}")));
        meta.push(("kuzet-verdict", v.clone()));
    }
    let r = match &obs.exchange {
        Some(o) => {
            let records = writer.write_exchange(o, &meta)?;
            let end = records.metadata.offset + records.metadata.length;
            WarcRef {
                file: String::new(),
                offset: records.response.offset as i64,
                length: (end - records.response.offset) as i64,
                record_id: records.response.record_id,
                digest: records.response.block_digest,
            }
        }
        None => {
            let mut block = String::new();
            for (k, v) in &meta {
                block.push_str(&format!("{k}: {v}\r\n"));
            }
            if let Some(k) = &obs.error_kind {
                block.push_str(&format!("kuzet-error-kind: {k}\r\n"));
            }
            let loc = writer.write_record(
                "metadata",
                "application/warc-fields",
                &[("WARC-Target-URI", obs.url.clone())],
                block.as_bytes(),
            )?;
            WarcRef {
                file: String::new(),
                offset: loc.offset as i64,
                length: loc.length as i64,
                record_id: loc.record_id,
                digest: loc.block_digest,
            }
        }
    };
    writer.sync()?;
    Ok(r)
}

/// Live when the re-score keeps the verdict, the score within `tolerance` and the indicators.
fn same_shop(
    baseline: &Baseline,
    score: Option<&crate::crawl::Score>,
    tolerance: f64,
) -> (Seen, String) {
    let Some(s) = score else {
        return (Seen::Changed, "text changed (not scored)".into());
    };
    let indicators: BTreeSet<(String, String)> = s.indicators.iter().cloned().collect();
    let same_verdict = baseline.verdict.as_deref() == Some(s.verdict.as_str());
    let close = baseline
        .score
        .is_some_and(|b| (b - s.score).abs() <= tolerance);
    if same_verdict && close && indicators == baseline.indicators {
        return (
            Seen::Live,
            format!("text changed, same shop (score {:.2})", s.score),
        );
    }
    let added = indicators.difference(&baseline.indicators).count();
    let removed = baseline.indicators.difference(&indicators).count();
    (
        Seen::Changed,
        format!(
            "text changed: {} {:.2} (was {} {:.2}), indicators +{added} -{removed}",
            s.verdict,
            s.score,
            baseline.verdict.as_deref().unwrap_or("unscored"),
            baseline.score.unwrap_or(0.0)
        ),
    )
}

/// The URL a fetch error names (the hop that failed, for redirects).
fn error_url(e: &FetchError) -> Option<&str> {
    match e {
        FetchError::OutOfScope { url }
        | FetchError::PrivateAddress { url, .. }
        | FetchError::OnionWithoutProxy { url }
        | FetchError::Timeout { url, .. }
        | FetchError::Connect { url, .. }
        | FetchError::Protocol { url, .. }
        | FetchError::HttpStatus { url, .. } => Some(url),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crawl::Score;

    fn score(s: f64, verdict: &str, inds: &[(&str, &str)]) -> Score {
        Score {
            score: s,
            verdict: verdict.into(),
            reasons_json: "[]".into(),
            rules_version: "t".into(),
            indicators: inds
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn same_shop_needs_verdict_score_and_indicators() {
        let base = Baseline {
            text_hash: Some("x".into()),
            score: Some(0.9),
            verdict: Some("shop".into()),
            indicators: [("telegram".to_string(), "shop_kz".to_string())].into(),
        };
        let tg = [("telegram", "shop_kz")];
        assert_eq!(
            same_shop(&base, Some(&score(0.93, "shop", &tg)), 0.05).0,
            Seen::Live
        );
        assert_eq!(
            same_shop(&base, Some(&score(0.7, "shop", &tg)), 0.05).0,
            Seen::Changed
        );
        assert_eq!(
            same_shop(&base, Some(&score(0.9, "suspicious", &tg)), 0.05).0,
            Seen::Changed
        );
        let other = [("telegram", "other_kz")];
        let (seen, detail) = same_shop(&base, Some(&score(0.9, "shop", &other)), 0.05);
        assert_eq!(seen, Seen::Changed);
        assert!(detail.contains("+1 -1"), "{detail}");
        assert_eq!(same_shop(&base, None, 0.05).0, Seen::Changed);
    }

    #[test]
    fn signatures_compile_and_name_bad_entries() {
        let sigs = BlockSignatures::compile(&BlockSignatureConfig {
            redirect_hosts: vec![".Blocked.example.".into()],
            ..Default::default()
        })
        .unwrap();
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            sigs.redirect_host(&u("http://warning.blocked.example/")),
            Some("blocked.example")
        );
        assert_eq!(
            sigs.redirect_host(&u("http://blocked.example/x")),
            Some("blocked.example")
        );
        assert_eq!(sigs.redirect_host(&u("http://notblocked.example/")), None);
        let e = BlockSignatures::compile(&BlockSignatureConfig {
            body_patterns: vec!["(unclosed".into()],
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("(unclosed") && e.contains("body pattern"), "{e}");
        let e = BlockSignatures::compile(&BlockSignatureConfig {
            addresses: vec!["10.0.0.300".into()],
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("10.0.0.300"), "{e}");
    }
}
