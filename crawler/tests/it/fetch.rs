//! The fetcher against misbehaving servers: every failure is a typed kind, nothing panics.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use kuzet_crawler::guard::{Lookup, LookupFuture};
use kuzet_crawler::{FetchConfig, Fetcher, Scope};

use crate::servers;
use crate::{loopback_fetcher, test_limits, url};

fn app() -> Router {
    Router::new()
        .route(
            "/ok",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    "<html><a href=/x>x</a></html>",
                )
            }),
        )
        .route("/loop/a", get(|| async { Redirect::temporary("/loop/b") }))
        .route(
            "/loop/b",
            get(|| async { Redirect::permanent("/loop/a#frag") }),
        )
        .route(
            "/chain/{n}",
            get(
                |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                    Redirect::to(&format!("/chain/{}", n + 1))
                },
            ),
        )
        .route("/to-ok", get(|| async { Redirect::to("/ok") }))
        .route(
            "/to-outside",
            get(|| async { Redirect::to("http://example.com/") }),
        )
        .route(
            "/to-metadata",
            get(|| async { Redirect::to("http://169.254.169.254/latest/meta-data/") }),
        )
        .route(
            "/to-ftp",
            get(|| async { Redirect::to("ftp://127.0.0.1/") }),
        )
        .route(
            "/500",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route("/404", get(|| async { (StatusCode::NOT_FOUND, "nope") }))
        .route(
            "/pdf",
            get(|| async { ([(header::CONTENT_TYPE, "application/pdf")], "%PDF-1.4") }),
        )
        .route(
            "/big",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    "x".repeat(200 * 1024),
                )
            }),
        )
        .route(
            "/no-location",
            get(|| async { StatusCode::FOUND.into_response() }),
        )
}

async fn kind(fetcher: &Fetcher, u: &str) -> &'static str {
    match fetcher.fetch(&url(u)).await {
        Ok(o) => panic!("{u} unexpectedly fetched with status {}", o.status),
        Err(e) => e.kind(),
    }
}

#[tokio::test]
async fn ok_page_keeps_the_exchange() {
    let addr = servers::serve(app()).await;
    let f = loopback_fetcher();
    let o = f
        .fetch(&url(&format!("http://{addr}/to-ok")))
        .await
        .unwrap();
    assert_eq!(o.status, 200);
    assert!(o.is_html());
    assert_eq!(o.final_url.path(), "/ok");
    assert_eq!(o.redirects.len(), 1);
    assert_eq!(o.body(), b"<html><a href=/x>x</a></html>");
    let req = String::from_utf8(o.raw.request_head.clone()).unwrap();
    assert!(req.starts_with("GET /ok HTTP/1.1\r\n"), "{req}");
    assert!(req.contains("user-agent: kuzet-crawler/"), "{req}");
    let head = String::from_utf8(o.raw.response_head.clone()).unwrap();
    assert!(
        head.starts_with("HTTP/1.1 200 OK\r\n") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
    assert_eq!(o.remote_addr.map(|a| a.ip()), Some(addr.ip()));
}

#[tokio::test]
async fn redirects_are_capped_and_rechecked() {
    let addr = servers::serve(app()).await;
    let f = loopback_fetcher();
    let base = format!("http://{addr}");
    assert_eq!(kind(&f, &format!("{base}/loop/a")).await, "redirect_loop");
    assert_eq!(
        kind(&f, &format!("{base}/chain/0")).await,
        "too_many_redirects"
    );
    assert_eq!(
        kind(&f, &format!("{base}/to-outside")).await,
        "out_of_scope"
    );
    assert_eq!(
        kind(&f, &format!("{base}/to-metadata")).await,
        "out_of_scope"
    );
    assert_eq!(kind(&f, &format!("{base}/to-ftp")).await, "bad_scheme");
    assert_eq!(
        kind(&f, &format!("{base}/no-location")).await,
        "http_status"
    );
}

#[tokio::test]
async fn default_guard_refuses_loopback_without_connecting() {
    let (addr, connections) = servers::raw(|mut s| async move {
        let _ = servers::read_head(&mut s).await;
    })
    .await;
    let guarded = Fetcher::new(FetchConfig {
        limits: test_limits(),
        ..FetchConfig::default()
    })
    .unwrap();
    assert_eq!(
        kind(&guarded, &format!("http://{addr}/")).await,
        "private_address"
    );
    assert_eq!(
        kind(&guarded, &format!("http://localhost:{}/", addr.port())).await,
        "private_address"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn status_content_type_and_size() {
    let addr = servers::serve(app()).await;
    let f = loopback_fetcher();
    let base = format!("http://{addr}");
    let e = f.fetch(&url(&format!("{base}/500"))).await.unwrap_err();
    assert_eq!((e.kind(), e.is_transient()), ("http_status", true));
    let e = f.fetch(&url(&format!("{base}/404"))).await.unwrap_err();
    assert_eq!((e.kind(), e.is_transient()), ("http_status", false));
    assert_eq!(kind(&f, &format!("{base}/pdf")).await, "content_type");
    assert_eq!(kind(&f, &format!("{base}/big")).await, "too_large");
}

#[tokio::test]
async fn hanging_and_broken_servers() {
    let f = loopback_fetcher();
    let hang = servers::hang_before_headers().await;
    assert_eq!(kind(&f, &format!("http://{hang}/")).await, "timeout");
    let mid = servers::hang_mid_body().await;
    assert_eq!(kind(&f, &format!("http://{mid}/")).await, "timeout");
    let reset = servers::reset().await;
    assert_eq!(kind(&f, &format!("http://{reset}/")).await, "protocol");
    let closed = servers::closed_port().await;
    assert_eq!(kind(&f, &format!("http://{closed}/")).await, "connect");
    let endless = servers::endless_body().await;
    assert_eq!(kind(&f, &format!("http://{endless}/")).await, "too_large");
    let garbage = servers::fixed(b"SMTP ready\r\n\r\n".to_vec()).await;
    assert_eq!(kind(&f, &format!("http://{garbage}/")).await, "protocol");
}

fn response(headers: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 1, 22);
        w.write_all(data).unwrap();
    }
    out
}

#[tokio::test]
async fn compression_bombs_stop_at_the_cap() {
    let f = loopback_fetcher(); // cap 64 KiB
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let gz = gzip(&zeros);
    let br = brotli(&zeros);
    assert!(
        gz.len() < 64 * 1024 && br.len() < 64 * 1024,
        "bombs must be small on the wire"
    );
    let gz_addr = servers::fixed(response(
        "Content-Type: text/html\r\nContent-Encoding: gzip\r\n",
        &gz,
    ))
    .await;
    let br_addr = servers::fixed(response(
        "Content-Type: text/html\r\nContent-Encoding: br\r\n",
        &br,
    ))
    .await;
    for addr in [gz_addr, br_addr] {
        let e = f.fetch(&url(&format!("http://{addr}/"))).await.unwrap_err();
        assert!(
            matches!(
                e,
                kuzet_crawler::FetchError::TooLarge {
                    decompressed: true,
                    ..
                }
            ),
            "{e}"
        );
    }
    // A small compressed page decodes, and the raw body stays compressed for the evidence.
    let page = b"<html><body>hello</body></html>".repeat(20);
    let small = gzip(&page);
    let ok_addr = servers::fixed(response(
        "Content-Type: text/html\r\nContent-Encoding: gzip\r\n",
        &small,
    ))
    .await;
    let o = f.fetch(&url(&format!("http://{ok_addr}/"))).await.unwrap();
    assert_eq!(o.body(), &page[..]);
    assert_eq!(o.raw.response_body, small);
    // A corrupt stream is a decompression error.
    let bad = servers::fixed(response(
        "Content-Type: text/html\r\nContent-Encoding: gzip\r\n",
        b"\x1f\x8bnot really",
    ))
    .await;
    assert_eq!(kind(&f, &format!("http://{bad}/")).await, "decompression");
}

/// A name table standing in for DNS; counts lookups.
struct Table {
    map: HashMap<&'static str, Vec<IpAddr>>,
    lookups: AtomicUsize,
}

impl Lookup for Table {
    fn lookup(&self, host: &str) -> LookupFuture {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let r = self
            .map
            .get(host)
            .cloned()
            .ok_or_else(|| std::io::Error::other("nxdomain"));
        Box::pin(async move { r })
    }
}

#[tokio::test]
async fn guard_refuses_private_answers_before_connecting() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let table = Arc::new(Table {
        map: HashMap::from([
            ("intranet.test", vec![ip("10.0.0.1")]),
            ("metadata.test", vec![ip("169.254.169.254")]),
            ("mapped.test", vec![ip("::ffff:127.0.0.1")]),
        ]),
        lookups: AtomicUsize::new(0),
    });
    let f = Fetcher::with_lookup(
        FetchConfig {
            limits: test_limits(),
            ..FetchConfig::default()
        },
        table.clone(),
    )
    .unwrap();
    for host in ["intranet.test", "metadata.test", "mapped.test"] {
        assert_eq!(
            kind(&f, &format!("http://{host}/")).await,
            "private_address",
            "{host}"
        );
    }
    assert_eq!(table.lookups.load(Ordering::SeqCst), 3);
    for literal in [
        "http://10.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/",
    ] {
        assert_eq!(kind(&f, literal).await, "private_address", "{literal}");
    }
    // With a scope, an out-of-scope name is refused without even a DNS query.
    let scoped = Fetcher::with_lookup(
        FetchConfig {
            limits: test_limits(),
            scope: Scope::parse(["127.0.0.0/8"]).unwrap(),
            ..FetchConfig::default()
        },
        table.clone(),
    )
    .unwrap();
    assert_eq!(kind(&scoped, "http://intranet.test/").await, "out_of_scope");
    assert_eq!(table.lookups.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn onion_hosts_go_only_through_the_socks_proxy() {
    let onion = "http://kuzettestonionxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion/page";
    let direct = Fetcher::new(FetchConfig {
        limits: test_limits(),
        ..FetchConfig::default()
    })
    .unwrap();
    assert_eq!(kind(&direct, onion).await, "onion_without_proxy");
    let not_h = Fetcher::new(FetchConfig {
        socks_proxy: Some("socks5://127.0.0.1:9050".into()),
        ..FetchConfig::default()
    });
    assert_eq!(not_h.unwrap_err().kind(), "build");

    let seen = Arc::new(Mutex::new(Vec::new()));
    let proxy = servers::fake_socks5(seen.clone()).await;
    let f = Fetcher::new(FetchConfig {
        limits: test_limits(),
        socks_proxy: Some(format!("socks5h://{proxy}")),
        ..FetchConfig::default()
    })
    .unwrap();
    let o = f.fetch(&url(onion)).await.unwrap();
    assert!(String::from_utf8_lossy(o.body()).contains("hidden service"));
    assert_eq!(o.final_url.as_str(), onion);
    // The proxy got the name itself (socks5h), not an address resolved here.
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        ["kuzettestonionxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion".to_string()]
    );
}

#[tokio::test]
async fn a_dripping_body_hits_the_total_timeout() {
    let addr = servers::drip().await;
    let limits = kuzet_crawler::FetchLimits {
        total_timeout: std::time::Duration::from_millis(1500),
        ..test_limits()
    };
    let f = Fetcher::new(FetchConfig {
        limits,
        scope: Scope::parse(["127.0.0.0/8"]).unwrap(),
        allow_private_addresses: true,
        socks_proxy: None,
    })
    .unwrap();
    let started = std::time::Instant::now();
    let e = f.fetch(&url(&format!("http://{addr}/"))).await.unwrap_err();
    assert!(
        matches!(
            e,
            kuzet_crawler::FetchError::Timeout {
                phase: kuzet_crawler::error::TimeoutPhase::Total,
                ..
            }
        ),
        "{e}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}
