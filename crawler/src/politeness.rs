//! Per-host politeness in memory: a minimum delay between requests and a concurrency cap per host,
//! with robots.txt `Crawl-delay` honoured. (The database-backed host lease of the frontier replaces the
//! in-memory clock when several workers share a host; the rules stay the same.)
//!
//! Polite by default: one request at a time per host, at least one second apart, robots.txt obeyed.
//! Relaxing is explicit: [`PolitenessConfig::overrides`] maps scope entries (host suffixes or address
//! ranges, e.g. a private monitoring target or `127.0.0.0/8` for the benchmark) to a [`HostPolicy`].
//!
//! [`polite_fetch`] puts the layers in their order: scope/guard check (no robots.txt request for a
//! refused host), robots.txt, host slot and delay, fetch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

use crate::error::FetchError;
use crate::fetch::{FetchOutcome, Fetcher};
use crate::robots::RobotsCache;
use crate::scope::ScopeEntry;
use crate::url::{host_key, shorten};

/// How one host is treated. `Default` is the polite policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPolicy {
    /// Least time between the starts of two requests to the host, and from the end of one request
    /// (its permit dropped) to the start of the next. Default 1 s.
    pub min_delay: Duration,
    /// Most requests in flight to the host. Default 1.
    pub max_concurrency: usize,
    /// Obey robots.txt. Default `true`.
    pub obey_robots: bool,
    /// Apply robots.txt `Crawl-delay` when it is longer than `min_delay`. Default `true`.
    pub honour_crawl_delay: bool,
    /// Longest `Crawl-delay` applied (a larger value is capped, not refused). Default 60 s.
    pub max_crawl_delay: Duration,
}

impl Default for HostPolicy {
    fn default() -> Self {
        HostPolicy {
            min_delay: Duration::from_secs(1),
            max_concurrency: 1,
            obey_robots: true,
            honour_crawl_delay: true,
            max_crawl_delay: Duration::from_secs(60),
        }
    }
}

impl HostPolicy {
    /// No delay, `max_concurrency` requests in flight, robots.txt ignored: only for hosts the operator
    /// controls or monitors privately (benchmarks, the demo), and only when configured explicitly.
    pub fn relaxed(max_concurrency: usize) -> Self {
        HostPolicy {
            min_delay: Duration::ZERO,
            max_concurrency: max_concurrency.max(1),
            obey_robots: false,
            honour_crawl_delay: false,
            max_crawl_delay: Duration::ZERO,
        }
    }
}

/// Politeness settings: a default policy and explicit per-scope overrides (first match wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolitenessConfig {
    /// The policy for hosts no override matches.
    pub default: HostPolicy,
    /// Explicit relaxations (or tightenings) for matching hosts.
    pub overrides: Vec<(ScopeEntry, HostPolicy)>,
    /// Most hosts tracked; idle hosts beyond it are forgotten. Default 0 means 100 000.
    pub max_hosts: usize,
}

impl PolitenessConfig {
    /// The policy that applies to `url`.
    pub fn policy_for(&self, url: &Url) -> &HostPolicy {
        self.overrides
            .iter()
            .find(|(e, _)| e.matches_url(url))
            .map(|(_, p)| p)
            .unwrap_or(&self.default)
    }
}

struct HostState {
    slots: Arc<Semaphore>,
    next_start: tokio::sync::Mutex<Instant>,
    crawl_delay: Mutex<Option<Duration>>,
}

/// The per-host clocks and slots of one crawl process.
#[derive(Default)]
pub struct Politeness {
    config: PolitenessConfig,
    hosts: Mutex<HashMap<String, Arc<HostState>>>,
}

impl std::fmt::Debug for Politeness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Politeness")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A request slot on one host; released when dropped. Dropping it (the request is done) also
/// pushes the host's next start to at least `delay` after now, so the gap between two requests
/// holds from the end of one, whatever the time between the slot and the request on the wire.
pub struct HostPermit {
    _permit: Option<OwnedSemaphorePermit>,
    state: Arc<HostState>,
    delay: Duration,
    /// The host key (`host[:port]`).
    pub host: String,
    /// How long the caller waited for the slot and the delay.
    pub waited: Duration,
}

impl std::fmt::Debug for HostPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostPermit")
            .field("host", &self.host)
            .field("waited", &self.waited)
            .finish_non_exhaustive()
    }
}

impl Drop for HostPermit {
    fn drop(&mut self) {
        if self.delay.is_zero() {
            return;
        }
        // The slot is still held here (fields drop after this body); with one slot per host no
        // other request holds the clock. With several, a busy clock is left as it is.
        if let Ok(mut next) = self.state.next_start.try_lock() {
            *next = (*next).max(Instant::now() + self.delay);
        }
    }
}

impl Politeness {
    /// Politeness with `config`.
    pub fn new(config: PolitenessConfig) -> Self {
        Politeness {
            config,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PolitenessConfig {
        &self.config
    }

    fn state(&self, host: &str, policy: &HostPolicy) -> Arc<HostState> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let max = if self.config.max_hosts == 0 {
            100_000
        } else {
            self.config.max_hosts
        };
        if hosts.len() >= max && !hosts.contains_key(host) {
            let now = Instant::now();
            hosts.retain(|_, s| {
                Arc::strong_count(s) > 1
                    || s.next_start.try_lock().map(|t| *t > now).unwrap_or(true)
            });
        }
        hosts
            .entry(host.to_string())
            .or_insert_with(|| {
                Arc::new(HostState {
                    slots: Arc::new(Semaphore::new(policy.max_concurrency.max(1))),
                    next_start: tokio::sync::Mutex::new(Instant::now()),
                    crawl_delay: Mutex::new(None),
                })
            })
            .clone()
    }

    /// Records the robots.txt `Crawl-delay` of `url`'s host.
    pub fn set_crawl_delay(&self, url: &Url, delay: Option<Duration>) {
        let policy = self.config.policy_for(url);
        let state = self.state(&host_key(url), policy);
        *state.crawl_delay.lock().unwrap_or_else(|p| p.into_inner()) = delay;
    }

    /// Waits for a request slot on `url`'s host and for its delay, then reserves the next start time.
    pub async fn acquire(&self, url: &Url) -> HostPermit {
        let started = Instant::now();
        let policy = self.config.policy_for(url);
        let host = host_key(url);
        let state = self.state(&host, policy);
        // The semaphore is never closed, so this is always `Some`.
        let permit = state.slots.clone().acquire_owned().await.ok();
        let mut delay = policy.min_delay;
        if policy.honour_crawl_delay
            && let Some(cd) = *state.crawl_delay.lock().unwrap_or_else(|p| p.into_inner())
        {
            delay = delay.max(cd.min(policy.max_crawl_delay));
        }
        let mut next = state.next_start.lock().await;
        let start = (*next).max(Instant::now());
        tokio::time::sleep_until(start).await;
        // From the moment this request really starts: a late wake-up (a busy machine) must not
        // shorten the gap to the next request.
        *next = Instant::now().max(start) + delay;
        drop(next);
        HostPermit {
            _permit: permit,
            state,
            delay,
            host,
            waited: started.elapsed(),
        }
    }
}

/// Fetches `url` politely: scope/guard check, robots.txt (when the host's policy obeys it), host slot
/// and delay, then the fetch. A URL robots.txt disallows fails with `robots_denied`.
pub async fn polite_fetch(
    fetcher: &Fetcher,
    robots: &RobotsCache,
    politeness: &Politeness,
    url: &Url,
) -> Result<FetchOutcome, FetchError> {
    fetcher.check(url)?;
    let policy = politeness.config().policy_for(url);
    if policy.obey_robots {
        let decision = robots.check(fetcher, url).await?;
        politeness.set_crawl_delay(url, decision.crawl_delay);
        if !decision.allowed {
            return Err(FetchError::RobotsDenied {
                url: shorten(url.as_str()),
            });
        }
    }
    let _permit = politeness.acquire(url).await;
    fetcher.fetch(url).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn overrides_are_explicit() {
        let cfg = PolitenessConfig {
            overrides: vec![("127.0.0.0/8".parse().unwrap(), HostPolicy::relaxed(8))],
            ..PolitenessConfig::default()
        };
        assert_eq!(cfg.policy_for(&url("http://127.0.0.5/")).max_concurrency, 8);
        assert_eq!(
            cfg.policy_for(&url("http://example.kz/")),
            &HostPolicy::default()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn delay_and_concurrency_per_host() {
        let p = Arc::new(Politeness::new(PolitenessConfig::default()));
        let a = url("http://a.kz/1");
        let t0 = Instant::now();
        let first = p.acquire(&a).await;
        assert!(first.waited < Duration::from_millis(10));
        // Another host is independent.
        let other = p.acquire(&url("http://b.kz/")).await;
        assert!(other.waited < Duration::from_millis(10));
        // Same host: waits for the slot (concurrency 1), then for the 1 s delay.
        let p2 = p.clone();
        let a2 = a.clone();
        let second = tokio::spawn(async move { p2.acquire(&a2).await.waited });
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(first);
        let waited = second.await.unwrap();
        assert!(waited >= Duration::from_secs(1), "{waited:?}");
        assert!(Instant::now() - t0 >= Duration::from_secs(1));
        // Crawl-delay longer than min_delay is honoured, capped at max_crawl_delay.
        p.set_crawl_delay(&a, Some(Duration::from_secs(500)));
        let t1 = Instant::now();
        drop(p.acquire(&a).await); // reserved after the previous 1 s slot
        drop(p.acquire(&a).await);
        assert!(
            Instant::now() - t1 >= Duration::from_secs(60),
            "{:?}",
            Instant::now() - t1
        );
    }
}
