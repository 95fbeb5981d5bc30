//! The analyst web UI and its JSON API.
//!
//! # Layout
//! - [`access`]: the route table (method, path → allowed roles) and the one middleware that
//!   enforces it, with sessions and CSRF checks; tests iterate over the same table.
//! - [`session`]: sessions in the `sessions` table (only the SHA-256 of the cookie token is
//!   stored), CSRF tokens, login and logout, the in-memory login rate limiter.
//! - `pages`: server-rendered HTML (askama templates in `reporter/templates/`, auto-escaped;
//!   crawled data is never marked safe) and form actions.
//! - `api`: the JSON API under `/api/…`, mirroring the form actions.
//! - `reports`: the weekly reports page for liaisons and admins: list, generate for an ISO week,
//!   download each file and the evidence package (files looked up in `report_files`, never by a
//!   path from the request).
//! - `evidence`: images re-encoded to PNG before they are served; WARC record downloads.
//!
//! Every response carries a strict Content-Security-Policy, `X-Content-Type-Options: nosniff`,
//! `Referrer-Policy: no-referrer` and `X-Frame-Options: DENY`. The UI works without JavaScript;
//! `assets/app.js` adds keyboard shortcuts (j/k move, Enter open, c confirm, d dismiss, n note,
//! a approve, u back to the queue).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use kuzet_storage::Db;

use crate::cases::GroupingLimits;
use crate::report::ReportLimits;
use crate::volunteer::{District, FieldTools, UploadLimiter, UploadLimits, default_districts};

pub mod access;
mod api;
mod error;
mod evidence;
mod ops;
mod pages;
mod reports;
pub mod session;
mod time;
mod volunteer;

pub use access::{ROUTES, RouteRule};
pub use error::WebError;
pub use pages::{QueueParams, render_queue};
pub use session::{LoginLimiter, Session};

/// The Content-Security-Policy sent with every response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Limits on decoded images.
#[derive(Debug, Clone)]
pub struct ImageLimits {
    /// Largest image file read, in bytes. Default 20 MiB.
    pub max_bytes: u64,
    /// Widest image decoded, in pixels. Default 8192.
    pub max_width: u32,
    /// Tallest image decoded, in pixels. Default 8192.
    pub max_height: u32,
    /// Most memory the decoder may allocate, in bytes. Default 256 MiB.
    pub max_alloc: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_bytes: 20 << 20,
            max_width: 8192,
            max_height: 8192,
            max_alloc: 256 << 20,
        }
    }
}

/// Settings of the web server; every limit has a documented default.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Add `Secure` to cookies (set when served behind HTTPS). Default off (plain loopback).
    pub secure_cookies: bool,
    /// How long a session lives after login. Default 8 hours.
    pub session_ttl: Duration,
    /// Failed logins allowed per (client IP, user name) within [`Self::login_window`]. Default 5.
    pub login_max_failures: u32,
    /// The rate-limit window. Default 15 minutes.
    pub login_window: Duration,
    /// Directory of evidence files: WARC files (`pages.warc_file` is relative to it) and fetched
    /// images at `blobs/<first two hex digits>/<sha256>`. Default none (no downloads).
    pub evidence_dir: Option<PathBuf>,
    /// Directory of the takedown re-checks' WARC files (`watch_events.warc_file` and
    /// `qr_resolutions.warc_file` are relative to it), as `[takedown] evidence_dir`. Default none.
    pub watch_evidence_dir: Option<PathBuf>,
    /// Image decoding limits.
    pub image_limits: ImageLimits,
    /// Largest WARC record served, in bytes. Default 64 MiB.
    pub max_warc_bytes: u64,
    /// Page text shown per page on the case view, in bytes. Default 200 000.
    pub max_text_bytes: usize,
    /// QR sources and resolutions shown per code on a QR-hijack case. Default 50.
    pub max_qr_rows: i64,
    /// Queue page size when none is asked for. Default 200.
    pub queue_page: i64,
    /// Largest queue page that may be asked for (`?limit=`). Default 10 000.
    pub max_queue_page: i64,
    /// Largest form or JSON body accepted, in bytes. Default 64 KiB.
    pub max_body_bytes: usize,
    /// Grouping limits, for the rebuild triggered from the UI.
    pub grouping: GroupingLimits,
    /// Where reports generated from the UI are written (`<dir>/kuzet-report-<week>/`). Default
    /// none: the Reports page lists and serves reports but cannot generate them.
    pub report_dir: Option<PathBuf>,
    /// Offset of the reporting time zone from UTC, in minutes (weeks start on Monday 00:00
    /// there). Default 300 (UTC+5), as `[report] utc_offset_minutes`.
    pub report_utc_offset_minutes: i32,
    /// Limits of reports generated from the UI.
    pub report_limits: ReportLimits,
    /// Limits on volunteers' photo uploads (bytes, count, pixels, rate per account).
    pub uploads: UploadLimits,
    /// Districts volunteers pick from. Default: Almaty's.
    pub districts: Vec<District>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: false,
            session_ttl: Duration::from_secs(8 * 3600),
            login_max_failures: 5,
            login_window: Duration::from_secs(15 * 60),
            evidence_dir: None,
            watch_evidence_dir: None,
            image_limits: ImageLimits::default(),
            max_warc_bytes: 64 << 20,
            max_text_bytes: 200_000,
            max_qr_rows: 50,
            queue_page: 200,
            max_queue_page: 10_000,
            max_body_bytes: 64 << 10,
            grouping: GroupingLimits::default(),
            report_dir: None,
            report_utc_offset_minutes: 300,
            report_limits: ReportLimits::default(),
            uploads: UploadLimits::default(),
            districts: default_districts(),
        }
    }
}

/// What every handler shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Settings.
    pub cfg: Arc<WebConfig>,
    /// Login rate limiter (in memory, per process).
    pub limiter: Arc<LoginLimiter>,
    /// Photo upload rate limiter per account (in memory, per process).
    pub uploads: Arc<UploadLimiter>,
    /// EXIF, OCR and the crawler for volunteers' photos (wired by the binary).
    pub field_tools: FieldToolsSlot,
}

/// Optional [`FieldTools`]; without them photos are still checked, stored and scanned for QR
/// codes, but have no EXIF position, no OCR and no leads handed to the crawler.
#[derive(Clone, Default)]
pub struct FieldToolsSlot(pub Option<Arc<dyn FieldTools>>);

impl std::fmt::Debug for FieldToolsSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "FieldTools(wired)"
        } else {
            "FieldTools(none)"
        })
    }
}

impl AppState {
    /// State over `db` with `cfg`.
    pub fn new(db: Db, cfg: WebConfig) -> AppState {
        let limiter = Arc::new(LoginLimiter::new(cfg.login_max_failures, cfg.login_window));
        let uploads = Arc::new(UploadLimiter::new(
            cfg.uploads.rate_max_photos,
            cfg.uploads.rate_window,
        ));
        AppState {
            db,
            cfg: Arc::new(cfg),
            limiter,
            uploads,
            field_tools: FieldToolsSlot::default(),
        }
    }

    /// The same state with `tools` for volunteers' photos.
    pub fn with_field_tools(mut self, tools: Arc<dyn FieldTools>) -> AppState {
        self.field_tools = FieldToolsSlot(Some(tools));
        self
    }
}

/// The whole router: UI, API and assets, with access control and security headers.
pub fn app(state: AppState) -> Router {
    let routes = pages::routes()
        .merge(api::routes())
        .merge(evidence::routes())
        .merge(ops::routes())
        .merge(reports::routes())
        .merge(volunteer::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::guard,
        ));
    routes
        .fallback(|| async { WebError::not_found() })
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// Serves `app(state)` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn security_headers(req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/assets/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !is_asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
