//! A generated local web: `pages` HTML pages spread over `hosts` addresses 127.0.0.2, 127.0.0.3, …
//! Page `i` lives on host `i % hosts` and links to pages `2i+1` and `2i+2` (a binary tree, so every
//! page is reachable from page 0 and each is linked exactly once). Shared by tests and benchmarks.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

#[derive(Clone)]
struct Web {
    hosts: Arc<Vec<SocketAddr>>,
    pages: usize,
}

/// The URL of page `i`.
pub fn page_url(hosts: &[SocketAddr], i: usize) -> String {
    format!("http://{}/p/{i}", hosts[i % hosts.len()])
}

async fn page(State(web): State<Web>, Path(i): Path<usize>) -> impl IntoResponse {
    if i >= web.pages {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html")],
            String::new(),
        );
    }
    let mut body = format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Страница {i}</title></head><body>\
         <h1>Объявления, страница {i}</h1><p>Продам велосипед, Алматы, недорого. Доставка по городу.</p>"
    );
    for child in [2 * i + 1, 2 * i + 2] {
        if child < web.pages {
            body.push_str(&format!(
                "<a href=\"{}\">страница {child}</a> ",
                page_url(&web.hosts, child)
            ));
        }
    }
    body.push_str("</body></html>");
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
}

/// Starts the web; returns the host addresses (page 0 is on the first).
pub async fn start(hosts: usize, pages: usize) -> Vec<SocketAddr> {
    let mut listeners = Vec::new();
    for h in 0..hosts {
        let ip = format!("127.0.{}.{}", (h + 2) / 250, (h + 2) % 250 + 1);
        listeners.push(
            TcpListener::bind((ip.as_str(), 0))
                .await
                .expect("bind 127.0.x.y"),
        );
    }
    let addrs: Vec<SocketAddr> = listeners
        .iter()
        .map(|l| l.local_addr().expect("addr"))
        .collect();
    let web = Web {
        hosts: Arc::new(addrs.clone()),
        pages,
    };
    let app = Router::new().route("/p/{i}", get(page)).with_state(web);
    for l in listeners {
        let app = app.clone();
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
    }
    addrs
}
