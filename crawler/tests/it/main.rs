//! Integration tests of the crawler against real servers on 127.0.0.1 (one test binary).

mod crawl;
mod fetch;
mod pages;
mod photos;
mod politeness;
mod robots;
mod servers;
mod telegram;
mod warc;
mod web;

use std::time::Duration;

use kuzet_crawler::{FetchConfig, FetchLimits, Fetcher, Scope};

/// Limits small enough for tests to run fast.
pub fn test_limits() -> FetchLimits {
    FetchLimits {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_millis(700),
        total_timeout: Duration::from_secs(5),
        max_body_bytes: 64 * 1024,
        ..FetchLimits::default()
    }
}

/// A fetcher confined to loopback, as every test and the demo run.
pub fn loopback_fetcher() -> Fetcher {
    Fetcher::new(FetchConfig {
        limits: test_limits(),
        scope: Scope::parse(["127.0.0.0/8"]).expect("scope"),
        allow_private_addresses: true,
        socks_proxy: None,
    })
    .expect("fetcher")
}

/// Parses a URL literal of a test.
pub fn url(s: &str) -> url::Url {
    url::Url::parse(s).expect("test URL")
}
