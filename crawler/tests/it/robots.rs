//! robots.txt against real servers: rules, status handling, size cap, caching, politeness order.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use kuzet_crawler::politeness::{HostPolicy, Politeness, PolitenessConfig, polite_fetch};
use kuzet_crawler::robots::{RobotsCache, RobotsConfig};

use crate::{loopback_fetcher, servers, url};

fn html() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "text/html")], "<html>page</html>")
}

async fn site(
    robots_status: StatusCode,
    robots_body: String,
    hits: Arc<AtomicUsize>,
) -> std::net::SocketAddr {
    let app = Router::new()
        .route(
            "/robots.txt",
            get(move || {
                let body = robots_body.clone();
                let hits = hits.clone();
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    (robots_status, [(header::CONTENT_TYPE, "text/plain")], body)
                }
            }),
        )
        .route("/public", get(|| async { html() }))
        .route("/private/page", get(|| async { html() }));
    servers::serve(app).await
}

fn polite_for_tests() -> PolitenessConfig {
    // Obey robots on loopback but without the 1 s delay, so the test is quick.
    let policy = HostPolicy {
        min_delay: Duration::ZERO,
        ..HostPolicy::default()
    };
    PolitenessConfig {
        default: policy,
        ..PolitenessConfig::default()
    }
}

#[tokio::test]
async fn rules_delay_and_cache() {
    let hits = Arc::new(AtomicUsize::new(0));
    let addr = site(
        StatusCode::OK,
        "User-agent: *\nDisallow: /private\nCrawl-delay: 3\n\nUser-agent: otherbot\nDisallow: /\n"
            .into(),
        hits.clone(),
    )
    .await;
    let f = loopback_fetcher();
    let robots = RobotsCache::new(RobotsConfig::default());
    let d = robots
        .check(&f, &url(&format!("http://{addr}/public")))
        .await
        .unwrap();
    assert!(d.allowed);
    assert_eq!(d.crawl_delay, Some(Duration::from_secs(3)));
    let d = robots
        .check(&f, &url(&format!("http://{addr}/private/page")))
        .await
        .unwrap();
    assert!(!d.allowed);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "rules are cached per origin"
    );

    let politeness = Politeness::new(polite_for_tests());
    let e = polite_fetch(
        &f,
        &robots,
        &politeness,
        &url(&format!("http://{addr}/private/page")),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), "robots_denied");
    let ok = polite_fetch(
        &f,
        &robots,
        &politeness,
        &url(&format!("http://{addr}/public")),
    )
    .await
    .unwrap();
    assert_eq!(ok.status, 200);
    // An out-of-scope URL is refused before any robots.txt request.
    let e = polite_fetch(&f, &robots, &politeness, &url("http://example.com/"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "out_of_scope");
}

#[tokio::test]
async fn status_and_size_rules() {
    let f = loopback_fetcher();
    let robots = RobotsCache::new(RobotsConfig {
        max_bytes: 4096,
        ..RobotsConfig::default()
    });
    let hits = Arc::new(AtomicUsize::new(0));
    let missing = site(StatusCode::NOT_FOUND, String::new(), hits.clone()).await;
    assert!(
        robots
            .check(&f, &url(&format!("http://{missing}/private/page")))
            .await
            .unwrap()
            .allowed
    );
    let failing = site(StatusCode::SERVICE_UNAVAILABLE, String::new(), hits.clone()).await;
    assert!(
        !robots
            .check(&f, &url(&format!("http://{failing}/public")))
            .await
            .unwrap()
            .allowed
    );
    // A huge robots.txt is cut at the cap and the part read is applied.
    let mut huge = "User-agent: *\nDisallow: /private\n".to_string();
    while huge.len() < 200_000 {
        huge.push_str("# filler filler filler filler filler filler filler filler\n");
    }
    let big = site(StatusCode::OK, huge, hits.clone()).await;
    assert!(
        !robots
            .check(&f, &url(&format!("http://{big}/private/page")))
            .await
            .unwrap()
            .allowed
    );
    assert!(
        robots
            .check(&f, &url(&format!("http://{big}/public")))
            .await
            .unwrap()
            .allowed
    );
    // A server that hangs on robots.txt: disallowed for now, not an error.
    let hang = servers::hang_before_headers().await;
    assert!(
        !robots
            .check(&f, &url(&format!("http://{hang}/x")))
            .await
            .unwrap()
            .allowed
    );
    // Garbage robots.txt: parsed leniently, allows.
    let garbage = site(
        StatusCode::OK,
        "\u{0}\u{1}<html>not robots</html>\n{{{{".into(),
        hits.clone(),
    )
    .await;
    assert!(
        robots
            .check(&f, &url(&format!("http://{garbage}/private/page")))
            .await
            .unwrap()
            .allowed
    );
}
