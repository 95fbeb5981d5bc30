//! Volunteers' pages (upload, my reports), their photos, the clean-up list and the admin's
//! volunteer accounts.
//!
//! The upload form posts `multipart/form-data` to `/volunteer/upload?csrf=…` (the CSRF token
//! rides in the query because the access guard does not parse multipart bodies). It works
//! without JavaScript (the answer is a result page); `assets/volunteer.js` sends the same form
//! with `XMLHttpRequest` to show progress and asks for JSON. The body is read field by field
//! with every limit enforced while reading: a photo over the byte limit is drained and refused,
//! a request over the request limit is cut off with 413.

use std::path::PathBuf;

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};

use super::access::FormData;
use super::pages::Nav;
use super::session::Session;
use super::time::fmt_ms;
use super::{AppState, WebError};
use crate::ReporterError;
use crate::users::{self, Role};
use crate::volunteer::{self, Intake, PhotoResult, store};

const VOLUNTEER_JS: &str = include_str!("../../assets/volunteer.js");

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/volunteer", get(upload_page))
        .route(
            "/volunteer/upload",
            post(upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/volunteer/reports", get(my_reports))
        .route("/volunteer/photos/{id}/image", get(photo_image))
        .route("/cleanup", get(cleanup_page))
        .route("/cleanup/route", get(route_sheet))
        .route("/cleanup/{id}/status", post(cleanup_status))
        .route(
            "/cleanup/{id}/after",
            post(cleanup_after)
                .get(after_image)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/admin/volunteers", get(admin_page).post(admin_add))
        .route("/admin/volunteers/{id}/disable", post(admin_disable))
        .route(
            "/assets/volunteer.js",
            get(|| async {
                (
                    [
                        (
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("text/javascript; charset=utf-8"),
                        ),
                        (
                            header::CACHE_CONTROL,
                            HeaderValue::from_static("public, max-age=3600"),
                        ),
                    ],
                    VOLUNTEER_JS,
                )
            }),
        )
}

fn err(e: ReporterError) -> WebError {
    e.into()
}

fn evidence_dir(st: &AppState) -> Result<PathBuf, WebError> {
    st.cfg.evidence_dir.clone().ok_or_else(|| {
        WebError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "photo uploads need an evidence directory (serve --evidence-dir)",
        )
    })
}

// ---------------------------------------------------------------- upload

#[derive(Template)]
#[template(path = "volunteer_upload.html")]
struct UploadPage {
    nav: Option<Nav>,
    csrf: String,
    districts: Vec<String>,
    max_files: usize,
    max_mb: u64,
}

async fn upload_page(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
) -> Result<Html<String>, WebError> {
    let page = UploadPage {
        nav: Some(Nav::of(&sess)),
        csrf: sess.csrf.clone(),
        districts: st.cfg.districts.iter().map(|d| d.name.clone()).collect(),
        max_files: st.cfg.uploads.max_files,
        max_mb: st.cfg.uploads.max_bytes >> 20,
    };
    Ok(Html(page.render().map_err(ReporterError::from)?))
}

#[derive(Template)]
#[template(path = "volunteer_results.html")]
struct ResultsPage {
    nav: Option<Nav>,
    report: i64,
    results: Vec<PhotoResult>,
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// One part of the multipart body: a text field or a (possibly too large) file.
enum Part {
    Text(String, String),
    File {
        name: String,
        bytes: Vec<u8>,
        over: bool,
    },
}

/// Reads every part, enforcing the per-file and per-request limits while reading.
async fn read_parts(
    mut mp: Multipart,
    max_file: u64,
    max_request: usize,
    max_files: usize,
) -> Result<Vec<Part>, WebError> {
    let too_big = || {
        WebError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("upload larger than {} MB in total", max_request >> 20),
        )
    };
    let mut parts = Vec::new();
    let mut total = 0usize;
    let mut files = 0usize;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if total > max_request => {
                tracing::debug!(error = %e, "upload cut off");
                return Err(too_big());
            }
            Err(e) => {
                return Err(WebError::new(
                    StatusCode::BAD_REQUEST,
                    format!("the upload could not be read: {e}"),
                ));
            }
        };
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let mut field = field;
        let mut bytes = Vec::new();
        let mut over = false;
        loop {
            match field.chunk().await {
                Ok(Some(c)) => {
                    total += c.len();
                    if total > max_request {
                        return Err(too_big());
                    }
                    if (bytes.len() + c.len()) as u64 > max_file {
                        over = true;
                        bytes = Vec::new();
                    } else if !over {
                        bytes.extend_from_slice(&c);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(WebError::new(
                        StatusCode::BAD_REQUEST,
                        format!("the upload could not be read: {e}"),
                    ));
                }
            }
        }
        match file_name {
            Some(f) if name == "photos" => {
                if f.is_empty() && bytes.is_empty() {
                    continue; // an empty file input
                }
                files += 1;
                if files > max_files {
                    return Err(WebError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("at most {max_files} photos per upload"),
                    ));
                }
                parts.push(Part::File {
                    name: f,
                    bytes,
                    over,
                });
            }
            _ if !over && bytes.len() <= 4096 => {
                parts.push(Part::Text(
                    name,
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
            _ => {}
        }
    }
    Ok(parts)
}

async fn upload(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    headers: HeaderMap,
    mp: Multipart,
) -> Result<Response, WebError> {
    let json = wants_json(&headers);
    let wrap = |e: WebError| if json { e.json() } else { e };
    let dir = evidence_dir(&st).map_err(wrap)?;
    let limits = st.cfg.uploads.clone();
    let parts = read_parts(
        mp,
        limits.max_bytes,
        limits.max_request_bytes,
        limits.max_files,
    )
    .await
    .map_err(wrap)?;
    let text = |k: &str| {
        parts.iter().find_map(|p| match p {
            Part::Text(n, v) if n == k => Some(v.trim().to_string()),
            _ => None,
        })
    };
    let note = text("note").unwrap_or_default();
    let district = text("district").unwrap_or_default();
    let known = st.cfg.districts.iter().find(|d| d.name == district);
    if !district.is_empty() && known.is_none() {
        return Err(wrap(WebError::new(
            StatusCode::BAD_REQUEST,
            "unknown district",
        )));
    }
    if !parts.iter().any(|p| matches!(p, Part::File { .. })) {
        return Err(wrap(WebError::new(
            StatusCode::BAD_REQUEST,
            "choose at least one photo",
        )));
    }
    let report = store::create_report(
        &st.db,
        sess.user.id,
        &note,
        &district,
        known.map(|d| (d.lat, d.lon)),
    )
    .await
    .map_err(|e| wrap(err(e)))?;
    let intake = Intake {
        db: st.db.clone(),
        evidence_dir: dir,
        limits: limits.clone(),
        tools: st.field_tools.0.clone(),
    };
    let mut results = Vec::new();
    for part in parts {
        let Part::File { name, bytes, over } = part else {
            continue;
        };
        if !st.uploads.take(sess.user.id) {
            results.push(PhotoResult {
                id: None,
                file_name: name,
                status: "limited".into(),
                outcome: "refused: too many photos from this account; try again later".into(),
                leads: 0,
            });
            continue;
        }
        if over {
            let p = store::NewPhoto {
                report_id: report.id,
                file_name: name.chars().take(200).collect(),
                sha256: String::new(),
                status: "rejected",
                outcome: format!("refused: file is larger than {} MB", limits.max_bytes >> 20),
                error: Some("over the byte limit".into()),
                ..store::NewPhoto::default()
            };
            results.push(
                store::record(&st.db, &sess.user.name, p, &[], None)
                    .await
                    .map_err(|e| wrap(err(e)))?,
            );
            continue;
        }
        results.push(
            volunteer::accept_photo(&intake, &sess.user, &report, &name, bytes)
                .await
                .map_err(|e| wrap(err(e)))?,
        );
    }
    let limited = results.iter().all(|r| r.status == "limited");
    let status = if limited {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        StatusCode::OK
    };
    if json {
        return Ok((
            status,
            Json(serde_json::json!({ "report": report.id, "results": results })),
        )
            .into_response());
    }
    let page = ResultsPage {
        nav: Some(Nav::of(&sess)),
        report: report.id,
        results,
    };
    Ok((status, Html(page.render().map_err(ReporterError::from)?)).into_response())
}

// ---------------------------------------------------------------- my reports, photos

#[derive(Template)]
#[template(path = "volunteer_reports.html")]
struct ReportsPage {
    nav: Option<Nav>,
    reports: Vec<store::MyReport>,
}

impl ReportsPage {
    fn time(&self, ms: &i64) -> String {
        fmt_ms(*ms)
    }
}

async fn my_reports(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
) -> Result<Html<String>, WebError> {
    let reports = store::my_reports(&st.db, sess.user.id, 100)
        .await
        .map_err(err)?;
    let page = ReportsPage {
        nav: Some(Nav::of(&sess)),
        reports,
    };
    Ok(Html(page.render().map_err(ReporterError::from)?))
}

async fn serve_png(st: &AppState, rel: String) -> Result<Response, WebError> {
    let dir = evidence_dir(st)?;
    let limits = st.cfg.image_limits.clone();
    let png = tokio::task::spawn_blocking(move || {
        let path = dir.join(&rel);
        let bytes = std::fs::read(&path).map_err(|_| WebError::not_found())?;
        // Stored copies are already re-encoded; decoding again keeps "only fresh pixels out"
        // true even if the file was replaced on disk.
        super::evidence::reencode_png(&bytes, &limits)
            .map_err(|e| WebError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, e))
    })
    .await
    .map_err(|_| WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "image task failed"))??;
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static("image/png"))],
        png,
    )
        .into_response())
}

async fn photo_image(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let (rel, owner) = store::photo_view(&st.db, id)
        .await
        .map_err(err)?
        .ok_or_else(WebError::not_found)?;
    if sess.role() == Role::Volunteer && owner != sess.user.id {
        return Err(WebError::not_found());
    }
    serve_png(&st, rel).await
}

// ---------------------------------------------------------------- clean-up list

#[derive(Debug, serde::Deserialize)]
struct CleanupParams {
    district: Option<String>,
    status: Option<String>,
}

#[derive(Template)]
#[template(path = "cleanup.html")]
struct CleanupPage {
    nav: Option<Nav>,
    csrf: String,
    tasks: Vec<store::Task>,
    districts: Vec<String>,
    district: String,
    status: String,
    statuses: [&'static str; 3],
}

impl CleanupPage {
    fn time(&self, ms: &i64) -> String {
        fmt_ms(*ms)
    }
    fn place(&self, t: &store::Task) -> String {
        place(t)
    }
}

fn place(t: &store::Task) -> String {
    match t.gps {
        Some((lat, lon)) => format!("{lat:.5}, {lon:.5}"),
        None => "no position".to_string(),
    }
}

async fn cleanup_page(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    Query(q): Query<CleanupParams>,
) -> Result<Html<String>, WebError> {
    let district = q.district.unwrap_or_default();
    let status = q.status.unwrap_or_default();
    let tasks = store::tasks(&st.db, Some(&district), Some(&status), 2000)
        .await
        .map_err(err)?;
    let page = CleanupPage {
        nav: Some(Nav::of(&sess)),
        csrf: sess.csrf.clone(),
        tasks,
        districts: st.cfg.districts.iter().map(|d| d.name.clone()).collect(),
        district,
        status,
        statuses: store::TASK_STATUSES,
    };
    Ok(Html(page.render().map_err(ReporterError::from)?))
}

#[derive(Template)]
#[template(path = "cleanup_route.html")]
struct RoutePage {
    nav: Option<Nav>,
    district: String,
    tasks: Vec<store::Task>,
    printed: String,
}

impl RoutePage {
    fn place(&self, t: &store::Task) -> String {
        place(t)
    }
}

async fn route_sheet(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    Query(q): Query<CleanupParams>,
) -> Result<Html<String>, WebError> {
    let district = q.district.unwrap_or_default();
    let mut tasks = store::tasks(&st.db, Some(&district), None, 2000)
        .await
        .map_err(err)?;
    tasks.retain(|t| t.status != "painted_over");
    // A walkable order: north to south, then west to east.
    tasks.sort_by(|a, b| {
        let ka = a.gps.map(|g| (-g.0, g.1)).unwrap_or((f64::MAX, 0.0));
        let kb = b.gps.map(|g| (-g.0, g.1)).unwrap_or((f64::MAX, 0.0));
        ka.partial_cmp(&kb).unwrap_or(std::cmp::Ordering::Equal)
    });
    let page = RoutePage {
        nav: Some(Nav::of(&sess)),
        district,
        tasks,
        printed: fmt_ms(kuzet_storage::now_ms()),
    };
    Ok(Html(page.render().map_err(ReporterError::from)?))
}

async fn cleanup_status(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let form = FormData::parse(&body);
    let status = form.get("status").unwrap_or("");
    store::set_task_status(&st.db, &sess.user.name, id, status)
        .await
        .map_err(err)?;
    Ok(Redirect::to("/cleanup").into_response())
}

async fn cleanup_after(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    Path(id): Path<i64>,
    mp: Multipart,
) -> Result<Response, WebError> {
    let dir = evidence_dir(&st)?;
    let limits = st.cfg.uploads.clone();
    let parts = read_parts(mp, limits.max_bytes, limits.max_request_bytes, 1).await?;
    let Some((bytes, over)) = parts.into_iter().find_map(|p| match p {
        Part::File { bytes, over, .. } => Some((bytes, over)),
        Part::Text(..) => None,
    }) else {
        return Err(WebError::new(StatusCode::BAD_REQUEST, "choose a photo"));
    };
    if over {
        return Err(WebError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("file is larger than {} MB", limits.max_bytes >> 20),
        ));
    }
    let p = tokio::task::spawn_blocking(move || volunteer::process::process(&bytes, &limits, None))
        .await
        .map_err(|_| WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "photo task failed"))?
        .map_err(|e| WebError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    let rel = format!("volunteer/after/{}.png", p.sha256);
    let (d2, r2, png) = (dir.clone(), rel.clone(), p.view_png);
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let path = d2.join(&r2);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, png)
    })
    .await
    .map_err(|_| WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "photo task failed"))?
    .map_err(|e| {
        tracing::error!(error = %e, "after photo not stored");
        WebError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the photo could not be stored",
        )
    })?;
    store::set_task_after(&st.db, &sess.user.name, id, &rel, &p.sha256)
        .await
        .map_err(err)?;
    Ok(Redirect::to("/cleanup").into_response())
}

async fn after_image(
    State(st): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let rel = store::task_after(&st.db, id)
        .await
        .map_err(err)?
        .ok_or_else(WebError::not_found)?;
    serve_png(&st, rel).await
}

// ---------------------------------------------------------------- admin: volunteer accounts

#[derive(Template)]
#[template(path = "admin_volunteers.html")]
struct AdminPage {
    nav: Option<Nav>,
    csrf: String,
    volunteers: Vec<(users::User, i64)>,
    message: Option<String>,
}

async fn admin_render(
    st: &AppState,
    sess: &Session,
    message: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let mut volunteers = Vec::new();
    for u in users::list(&st.db).await.map_err(err)? {
        if u.role == Role::Volunteer {
            let n = store::my_reports(&st.db, u.id, 10_000)
                .await
                .map_err(err)?
                .iter()
                .map(|r| r.photos.len() as i64)
                .sum();
            volunteers.push((u, n));
        }
    }
    let page = AdminPage {
        nav: Some(Nav::of(sess)),
        csrf: sess.csrf.clone(),
        volunteers,
        message,
    };
    Ok((status, Html(page.render().map_err(ReporterError::from)?)).into_response())
}

async fn admin_page(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
) -> Result<Response, WebError> {
    admin_render(&st, &sess, None, StatusCode::OK).await
}

async fn admin_add(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let form = FormData::parse(&body);
    let name = form.get("name").unwrap_or("").trim();
    let password = form.get("password").unwrap_or("");
    match users::add(&st.db, &sess.user.name, name, Role::Volunteer, password).await {
        Ok(u) => {
            admin_render(
                &st,
                &sess,
                Some(format!("volunteer {} added", u.name)),
                StatusCode::OK,
            )
            .await
        }
        Err(ReporterError::Storage(e)) => Err(err(ReporterError::Storage(e))),
        Err(e) => admin_render(&st, &sess, Some(e.to_string()), StatusCode::BAD_REQUEST).await,
    }
}

async fn admin_disable(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    // Only volunteer accounts are managed here; other accounts through `kuzet users`.
    let is_volunteer = users::list(&st.db)
        .await
        .map_err(err)?
        .iter()
        .any(|u| u.id == id && u.role == Role::Volunteer);
    if !is_volunteer {
        return Err(WebError::not_found());
    }
    users::set_disabled(&st.db, &sess.user.name, id, true)
        .await
        .map_err(err)?;
    Ok(Redirect::to("/admin/volunteers").into_response())
}
