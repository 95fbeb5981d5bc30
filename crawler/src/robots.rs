//! robots.txt per host, parsed with `texting_robots`, cached with a TTL.
//!
//! Rules, after Google's documented handling of robots.txt:
//! - 2xx: the first [`RobotsConfig::max_bytes`] bytes are parsed (a longer file is cut, not refused);
//!   a file that does not parse allows everything.
//! - 3xx: followed by the fetcher (at most its redirect cap, each hop scope- and guard-checked).
//! - 4xx (401 and 403 included) and content types other than text: no restrictions.
//! - 429, 5xx, timeouts and connection failures: the host is treated as fully disallowed for
//!   [`RobotsConfig::error_ttl`], then robots.txt is asked again.
//! - Refusals that no retry can change (out of scope, private address, onion without proxy) are not
//!   cached as robots rules: the page fetch itself fails with that kind.
//!
//! `Crawl-delay` is exposed as [`RobotsDecision::crawl_delay`]; [`crate::politeness`] applies it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use texting_robots::Robot;
use tokio::time::Instant;
use url::Url;

use crate::error::FetchError;
use crate::fetch::{Fetcher, RequestOptions};

/// Robots settings. `Default` gives the documented values.
#[derive(Debug, Clone, PartialEq)]
pub struct RobotsConfig {
    /// Whether robots.txt is obeyed at all. Default `true`; turning it off is an explicit choice for
    /// private monitoring targets.
    pub obey: bool,
    /// The product token matched against `User-agent:` lines. Default `kuzet`.
    pub agent: String,
    /// How long fetched rules are kept. Default 24 h.
    pub ttl: Duration,
    /// How long a host stays disallowed after a 5xx, 429 or network failure. Default 10 min.
    pub error_ttl: Duration,
    /// Bytes of robots.txt parsed. Default 500 KiB (Google's limit).
    pub max_bytes: u64,
    /// Most hosts kept in the cache; beyond it expired entries are dropped, then the oldest.
    /// Default 100 000.
    pub max_hosts: usize,
}

impl Default for RobotsConfig {
    fn default() -> Self {
        RobotsConfig {
            obey: true,
            agent: "kuzet".to_string(),
            ttl: Duration::from_secs(24 * 3600),
            error_ttl: Duration::from_secs(600),
            max_bytes: 500 * 1024,
            max_hosts: 100_000,
        }
    }
}

/// The rules known for one host.
#[derive(Debug, Clone)]
pub enum RobotsRules {
    /// No robots.txt restrictions (4xx, unparseable, or not obeyed).
    AllowAll,
    /// Everything disallowed for now (5xx or network failure on robots.txt).
    DisallowAll,
    /// A parsed robots.txt.
    Parsed(Arc<Robot>),
}

impl RobotsRules {
    /// Whether `url` may be fetched.
    pub fn allows(&self, url: &Url) -> bool {
        match self {
            RobotsRules::AllowAll => true,
            RobotsRules::DisallowAll => false,
            RobotsRules::Parsed(r) => r.allowed(url.as_str()),
        }
    }

    /// The `Crawl-delay` for our agent, if any.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            RobotsRules::Parsed(r) => r
                .delay
                .filter(|d| d.is_finite() && *d >= 0.0)
                .map(|d| Duration::from_secs_f32(d.min(86_400.0))),
            _ => None,
        }
    }
}

/// What the cache says about one URL.
#[derive(Debug, Clone, PartialEq)]
pub struct RobotsDecision {
    /// Whether the URL may be fetched.
    pub allowed: bool,
    /// The host's `Crawl-delay`, if any.
    pub crawl_delay: Option<Duration>,
}

/// Parses a robots.txt body for `agent` (pure); a file that does not parse allows everything.
pub fn parse_robots(agent: &str, body: &[u8]) -> RobotsRules {
    match Robot::new(agent, body) {
        Ok(robot) => RobotsRules::Parsed(Arc::new(robot)),
        Err(_) => RobotsRules::AllowAll,
    }
}

/// Turns the result of fetching robots.txt into rules and how long to keep them (pure).
pub fn rules_from_fetch(
    result: &Result<crate::fetch::FetchOutcome, FetchError>,
    config: &RobotsConfig,
) -> Option<(RobotsRules, Duration)> {
    match result {
        Ok(o) => {
            let textual = o
                .media_type
                .as_deref()
                .is_none_or(|m| m.starts_with("text/"));
            if !textual {
                return Some((RobotsRules::AllowAll, config.ttl));
            }
            Some((parse_robots(&config.agent, o.body()), config.ttl))
        }
        Err(FetchError::HttpStatus { status, .. }) if *status == 429 || *status >= 500 => {
            Some((RobotsRules::DisallowAll, config.error_ttl))
        }
        Err(FetchError::HttpStatus { .. }) => Some((RobotsRules::AllowAll, config.ttl)),
        Err(e) if e.is_transient() => Some((RobotsRules::DisallowAll, config.error_ttl)),
        // Refusals (scope, guard, onion, bad scheme) and redirect trouble: no cached rule.
        Err(FetchError::TooManyRedirects { .. } | FetchError::RedirectLoop { .. }) => {
            Some((RobotsRules::AllowAll, config.ttl))
        }
        Err(_) => None,
    }
}

struct Entry {
    rules: RobotsRules,
    expires: Instant,
}

/// robots.txt cache for one crawl process. One fetch per origin at a time: concurrent callers for the
/// same origin wait for the first one's result.
#[derive(Default)]
pub struct RobotsCache {
    config: RobotsConfig,
    entries: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Entry>>>>>,
}

impl std::fmt::Debug for RobotsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RobotsCache")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The origin key of a URL: `scheme://host[:port]`.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl RobotsCache {
    /// An empty cache.
    pub fn new(config: RobotsConfig) -> Self {
        RobotsCache {
            config,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RobotsConfig {
        &self.config
    }

    /// Decides whether `url` may be fetched, fetching `/robots.txt` of its origin through `fetcher` when
    /// the cached rules are missing or expired. Returns the refusal error when the origin itself cannot be
    /// fetched (out of scope, private address, …).
    pub async fn check(&self, fetcher: &Fetcher, url: &Url) -> Result<RobotsDecision, FetchError> {
        if !self.config.obey {
            return Ok(RobotsDecision {
                allowed: true,
                crawl_delay: None,
            });
        }
        let slot = self.slot(&origin(url));
        let mut guard = slot.lock().await;
        let now = Instant::now();
        if let Some(entry) = guard.as_ref()
            && entry.expires > now
        {
            return Ok(decision(&entry.rules, url));
        }
        let mut robots_url = url.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        let opts = RequestOptions {
            max_body_bytes: Some(self.config.max_bytes),
            truncate: true,
            any_content_type: true,
            any_status: false,
        };
        let result = fetcher.fetch_with(&robots_url, &opts).await;
        match rules_from_fetch(&result, &self.config) {
            Some((rules, ttl)) => {
                let d = decision(&rules, url);
                *guard = Some(Entry {
                    rules,
                    expires: Instant::now() + ttl,
                });
                Ok(d)
            }
            None => Err(result.err().unwrap_or(FetchError::Build {
                reason: "robots: no rule".into(),
            })),
        }
    }

    fn slot(&self, origin: &str) -> Arc<tokio::sync::Mutex<Option<Entry>>> {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = map.get(origin) {
            return slot.clone();
        }
        if map.len() >= self.config.max_hosts {
            let now = Instant::now();
            // Drop expired entries not in use; if none, drop arbitrary idle ones down to 90 %.
            map.retain(|_, s| {
                Arc::strong_count(s) > 1
                    || s.try_lock()
                        .map(|e| e.as_ref().is_some_and(|e| e.expires > now))
                        .unwrap_or(true)
            });
            let target = self.config.max_hosts * 9 / 10;
            if map.len() >= self.config.max_hosts {
                let idle: Vec<String> = map
                    .iter()
                    .filter(|(_, s)| Arc::strong_count(s) == 1)
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in idle.into_iter().take(map.len().saturating_sub(target)) {
                    map.remove(&k);
                }
            }
        }
        map.entry(origin.to_string()).or_default().clone()
    }
}

fn decision(rules: &RobotsRules, url: &Url) -> RobotsDecision {
    RobotsDecision {
        allowed: rules.allows(url),
        crawl_delay: rules.crawl_delay(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_rules_and_delay() {
        let robot = Robot::new(
            "kuzet",
            b"User-agent: *\nDisallow: /private\nCrawl-delay: 2.5\n",
        )
        .unwrap();
        let rules = RobotsRules::Parsed(Arc::new(robot));
        assert!(rules.allows(&Url::parse("http://a.kz/public").unwrap()));
        assert!(!rules.allows(&Url::parse("http://a.kz/private/x").unwrap()));
        assert_eq!(rules.crawl_delay(), Some(Duration::from_millis(2500)));
    }

    #[test]
    fn status_rules() {
        let c = RobotsConfig::default();
        let status = |s| {
            Err(FetchError::HttpStatus {
                url: "u".into(),
                status: s,
            })
        };
        let r = rules_from_fetch(&status(404), &c).unwrap();
        assert!(matches!(r.0, RobotsRules::AllowAll) && r.1 == c.ttl);
        let r = rules_from_fetch(&status(403), &c).unwrap();
        assert!(matches!(r.0, RobotsRules::AllowAll));
        let r = rules_from_fetch(&status(503), &c).unwrap();
        assert!(matches!(r.0, RobotsRules::DisallowAll) && r.1 == c.error_ttl);
        let r = rules_from_fetch(&status(429), &c).unwrap();
        assert!(matches!(r.0, RobotsRules::DisallowAll));
        let timeout = Err(FetchError::Timeout {
            url: "u".into(),
            phase: crate::error::TimeoutPhase::Read,
            after: Duration::from_secs(1),
        });
        assert!(matches!(
            rules_from_fetch(&timeout, &c).unwrap().0,
            RobotsRules::DisallowAll
        ));
        assert!(rules_from_fetch(&Err(FetchError::OutOfScope { url: "u".into() }), &c).is_none());
    }
}
