//! The bundled demo web: a small fictional web of shop and non-shop pages, Telegram previews, a
//! street photo whose QR code leads to an otherwise unlinked shop, and a few hostile hosts — all
//! on loopback (127.0.0.1 … 127.0.0.6, one port), so `kuzet demo` and the end-to-end tests show
//! the whole pipeline with no network.
//!
//! The pages live in `demo/site/` (listed with their labels in `demo/site/manifest.toml`) and are
//! embedded in the binary.

mod hostile;
mod images;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

static SITE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/demo/site");

/// How many loopback hosts the demo web uses (127.0.0.1 … 127.0.0.N).
pub const HOSTS: u8 = 6;

/// One page of the demo web and what it truly is.
#[derive(Debug, Clone, Deserialize)]
pub struct DemoPage {
    /// Last octet of the host address.
    pub host: u8,
    /// Path (and query) it is served at.
    pub path: String,
    /// File under `demo/site/`.
    pub file: String,
    /// `shop` or `not_shop`.
    pub label: String,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    page: Vec<DemoPage>,
}

/// The demo's pages with their labels.
pub fn pages() -> anyhow::Result<Vec<DemoPage>> {
    let text = SITE
        .get_file("manifest.toml")
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| anyhow!("demo manifest missing from the binary"))?;
    Ok(toml::from_str::<Manifest>(text)
        .context("demo/site/manifest.toml")?
        .page)
}

struct Site {
    port: u16,
    /// (host octet, path with query) → body
    pages: HashMap<(u8, String), String>,
    images: images::DemoImages,
}

/// A running demo web.
pub struct DemoWeb {
    /// The shared port.
    pub port: u16,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl DemoWeb {
    /// The URL of the demo's entry page.
    pub fn entry_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The Telegram preview base the crawler should use.
    pub fn telegram_base(&self) -> String {
        format!("http://127.0.0.1:{}/tg/s/", self.port)
    }

    /// The full URL of a demo page.
    pub fn url_of(&self, page: &DemoPage) -> String {
        format!("http://127.0.0.{}:{}{}", page.host, self.port, page.path)
    }

    /// Stops every listener and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Starts the demo web on 127.0.0.1 … 127.0.0.6 on one port (`port` 0 picks a free one).
pub async fn start(port: u16) -> anyhow::Result<DemoWeb> {
    tokio::task::spawn_blocking(hostile::prepare).await?;
    for _ in 0..20 {
        let first = TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
            .await
            .context("cannot bind the demo web on 127.0.0.1")?;
        let chosen = first.local_addr()?.port();
        let mut listeners = vec![(1u8, first)];
        let mut ok = true;
        for h in 2..=HOSTS {
            match TcpListener::bind(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(127, 0, 0, h)),
                chosen,
            ))
            .await
            {
                Ok(l) => listeners.push((h, l)),
                Err(_) if port == 0 => {
                    ok = false;
                    break;
                }
                Err(e) => return Err(e).context(format!("cannot bind 127.0.0.{h}:{chosen}")),
            }
        }
        if !ok {
            continue;
        }
        return serve(listeners, chosen);
    }
    Err(anyhow!("no free port for the demo web on 127.0.0.1-6"))
}

fn serve(listeners: Vec<(u8, TcpListener)>, port: u16) -> anyhow::Result<DemoWeb> {
    let mut pages = HashMap::new();
    for p in self::pages()? {
        let body = SITE
            .get_file(&p.file)
            .and_then(|f| f.contents_utf8())
            .ok_or_else(|| anyhow!("demo page {} missing", p.file))?;
        pages.insert(
            (p.host, p.path.clone()),
            body.replace("{port}", &port.to_string()),
        );
    }
    let site = Arc::new(Site {
        port,
        pages,
        images: images::DemoImages::generate(port)?,
    });
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    for (host, listener) in listeners {
        let app = Router::new()
            .fallback(handle)
            .with_state((site.clone(), host));
        let mut rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await;
        }));
    }
    Ok(DemoWeb { port, stop, tasks })
}

async fn handle(State((site, host)): State<(Arc<Site>, u8)>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let path_q = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    if path == "/robots.txt" && host == 6 {
        return hostile::robots();
    }
    if path == "/robots.txt" {
        return text(
            "User-agent: *\nDisallow: /private/\n",
            "text/plain; charset=utf-8",
        );
    }
    if path.starts_with("/private/") {
        // robots.txt forbids this: a polite crawler never asks for it.
        return text("<html><body>trap</body></html>", "text/html; charset=utf-8");
    }
    if let Some(png) = site.images.get(host, &path) {
        let mut r = png.clone().into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
        return r;
    }
    if host == 6 {
        return hostile::handle(site.port, &path, &path_q).await;
    }
    if let Some(body) = site.pages.get(&(host, path_q.clone())) {
        return text(body, "text/html; charset=utf-8");
    }
    if path.starts_with("/tg/s/") && path_q.contains('?') {
        // Past the oldest window, t.me answers with an empty history.
        return text(
            "<html><body><div class=\"tme_no_messages_found\">No posts found</div></body></html>",
            "text/html; charset=utf-8",
        );
    }
    (StatusCode::NOT_FOUND, "not found").into_response()
}

fn text(body: &str, content_type: &'static str) -> Response {
    let mut r = body.to_string().into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}
