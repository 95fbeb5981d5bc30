//! Politeness of the whole crawl loop: consecutive fetches to one host are spaced by
//! max(minimum delay, robots.txt `Crawl-delay`), from the first fetch on. A loopback server
//! records when each request arrives; only lower bounds on the spacing are asserted.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::IntoResponse;
use axum::routing::get;
use kuzet_crawler::crawl::{CrawlConfig, Crawler, NoScorer, Seed};
use kuzet_crawler::frontier::FrontierOptions;
use kuzet_crawler::politeness::{HostPolicy, PolitenessConfig};
use kuzet_crawler::{FetchConfig, Scope};
use kuzet_storage::testing::TestDb;

use crate::{servers, test_limits, url};

type Log = Arc<Mutex<Vec<(String, Instant)>>>;

/// A host whose `/` links to `/1` … `/4`; `robots` is its robots.txt (404 when `None`).
async fn recording_host(robots: Option<&'static str>) -> (std::net::SocketAddr, Log) {
    let log: Log = Arc::default();
    let app = Router::new()
        .fallback(get(move |State(log): State<Log>, uri: Uri| async move {
            let path = uri.path().to_string();
            if path == "/robots.txt" {
                return match robots {
                    Some(text) => ([(header::CONTENT_TYPE, "text/plain")], text).into_response(),
                    None => StatusCode::NOT_FOUND.into_response(),
                };
            }
            log.lock().unwrap().push((path.clone(), Instant::now()));
            let body = if path == "/" {
                "<html><body><a href=/1>1</a> <a href=/2>2</a> <a href=/3>3</a> \
                     <a href=/4>4</a></body></html>"
            } else {
                "<html><body>leaf</body></html>"
            };
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
        }))
        .with_state(log.clone());
    (servers::serve(app).await, log)
}

/// The smallest gap between consecutive page requests of one host.
fn smallest_gap(log: &Log) -> Duration {
    let mut times: Vec<Instant> = log.lock().unwrap().iter().map(|(_, t)| *t).collect();
    times.sort();
    times
        .windows(2)
        .map(|w| w[1] - w[0])
        .min()
        .expect("two requests or more")
}

#[tokio::test]
async fn consecutive_fetches_to_a_host_are_spaced_from_the_first_one() {
    let min_delay = Duration::from_millis(400);
    let crawl_delay = Duration::from_secs(1);
    // Request arrival is measured at the server, the spacing is enforced where the crawler starts a
    // fetch; this margin covers the loopback connection and millisecond rounding in the database.
    let margin = Duration::from_millis(100);
    for t in TestDb::all().await.unwrap() {
        let (plain, plain_log) = recording_host(None).await;
        let (slow, slow_log) = recording_host(Some("User-agent: *\nCrawl-delay: 1\n")).await;
        let config = CrawlConfig {
            fetch: FetchConfig {
                limits: test_limits(),
                scope: Scope::parse(["127.0.0.0/8"]).unwrap(),
                allow_private_addresses: true,
                socks_proxy: None,
            },
            politeness: PolitenessConfig {
                default: HostPolicy {
                    min_delay,
                    ..HostPolicy::default()
                },
                ..PolitenessConfig::default()
            },
            // Several URLs per host per claim would be allowed if the host had no delay yet.
            frontier: FrontierOptions {
                worker: "polite".into(),
                per_host: 8,
                ..FrontierOptions::default()
            },
            concurrency: 8,
            fetch_images: false,
            ..CrawlConfig::default()
        };
        let crawler = Crawler::new(
            t.db.clone(),
            config,
            Arc::new(NoScorer),
            Arc::new(|_: &[u8]| Vec::new()),
        )
        .await
        .unwrap();
        let seeds = [
            Seed::Web(url(&format!("http://{plain}/"))),
            Seed::Web(url(&format!("http://{slow}/"))),
        ];
        crawler.seed(&seeds).await.unwrap();
        let summary = tokio::time::timeout(
            Duration::from_secs(60),
            Arc::new(crawler).run(std::future::pending()),
        )
        .await
        .expect("crawl finishes")
        .unwrap();
        assert_eq!(summary.pages, 10, "{summary:?}");
        assert_eq!(plain_log.lock().unwrap().len(), 5);
        assert_eq!(slow_log.lock().unwrap().len(), 5);
        let gap = smallest_gap(&plain_log);
        assert!(gap + margin >= min_delay, "minimum delay: {gap:?}");
        let gap = smallest_gap(&slow_log);
        assert!(gap + margin >= crawl_delay, "Crawl-delay: {gap:?}");
        t.cleanup().await.unwrap();
    }
}
