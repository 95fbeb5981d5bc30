//! Weekly reports in the UI, for liaisons and admins: the list of generated reports, generating
//! one for an ISO week (a CSRF-checked POST, audited as `report.generate` by the report code), and
//! downloads of each report file and of the whole evidence package as one tar file.
//!
//! Downloads name a report id and a kind (`html`, `pdf`, `csv`, `stix`, `package`), never a path:
//! the file is looked up in `report_files`, its recorded name must stay inside the report's folder,
//! and a folder replaced by a newer report of the same week answers `410 Gone`. Every download is
//! an attachment with its content type and `nosniff` (set for every response by `security_headers`).

use std::io::Read;
use std::path::{Path as FsPath, PathBuf};

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use kuzet_storage::now_ms;
use serde::Deserialize;

use super::access::FormData;
use super::pages::Nav;
use super::time::fmt_ms;
use super::{AppState, Session, WebError};
use crate::ReporterError;
use crate::report::files::{self, DOWNLOAD_KINDS, PACKAGE_CONTENT_TYPE, ReportEntry};
use crate::report::{self, GenerateOptions, Generated, IsoWeek, ReportError};

/// Most reports listed.
const LIST_LIMIT: i64 = 200;
/// Bytes per chunk of a streamed download.
const CHUNK: usize = 64 << 10;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports", get(page).post(generate_form))
        .route("/reports/{id}/{kind}", get(download))
        .route("/api/reports", get(api_list).post(generate_api))
}

impl From<ReportError> for WebError {
    fn from(e: ReportError) -> WebError {
        match e {
            ReportError::Reporter(e) => e.into(),
            ReportError::BadWeek(_) => WebError::new(StatusCode::BAD_REQUEST, e.to_string()),
            ReportError::Limit { .. } => {
                WebError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
            other => {
                tracing::error!(error = %other, "report generation failed");
                WebError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "report generation failed (see the server log)",
                )
            }
        }
    }
}

struct ReportRow {
    id: i64,
    week: String,
    at: String,
    by: String,
    contents: String,
    links: Vec<(&'static str, String, String)>,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    nav: Option<Nav>,
    rows: Vec<ReportRow>,
    week: String,
    can_generate: bool,
}

fn label(kind: &str) -> &'static str {
    match kind {
        "html" => "HTML",
        "pdf" => "PDF",
        "csv" => "CSV",
        "stix" => "STIX 2.1 JSON",
        _ => "evidence package (.tar)",
    }
}

fn row(e: &ReportEntry) -> ReportRow {
    let links = DOWNLOAD_KINDS
        .iter()
        .filter(|k| **k == "package" || e.file(k).is_some())
        .filter(|_| !e.files.is_empty())
        .map(|k| (*k, label(k).to_string(), format!("/reports/{}/{k}", e.id)))
        .collect();
    ReportRow {
        id: e.id,
        week: e.week.clone(),
        at: fmt_ms(e.generated_at),
        by: e.generated_by.clone(),
        contents: format!("{} files, {} WARC records", e.files.len(), e.records()),
        links,
    }
}

async fn page(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
) -> Result<Html<String>, WebError> {
    let list = files::list(&st.db, LIST_LIMIT).await?;
    let page = ReportsPage {
        nav: Some(Nav::of(&sess)),
        rows: list.iter().map(row).collect(),
        week: IsoWeek::last_complete(now_ms(), st.cfg.report_utc_offset_minutes).to_string(),
        can_generate: st.cfg.report_dir.is_some(),
    };
    Ok(Html(page.render().map_err(ReporterError::from)?))
}

/// Generates the report for `week` (empty: the last complete week) as `sess`'s user.
async fn generate(st: &AppState, sess: &Session, week: &str) -> Result<Generated, WebError> {
    let Some(out_dir) = st.cfg.report_dir.clone() else {
        return Err(WebError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no report folder is configured for the web server",
        ));
    };
    let now = now_ms();
    let week = match week.trim() {
        "" => IsoWeek::last_complete(now, st.cfg.report_utc_offset_minutes),
        w => w.parse::<IsoWeek>().map_err(WebError::from)?,
    };
    let opts = GenerateOptions {
        week,
        utc_offset_minutes: st.cfg.report_utc_offset_minutes,
        out_dir,
        evidence_dir: st.cfg.evidence_dir.clone().unwrap_or_default(),
        actor: sess.user.name.clone(),
        limits: st.cfg.report_limits.clone(),
    };
    let (_, generated) = report::generate(&st.db, &opts, now).await?;
    Ok(generated)
}

async fn generate_form(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = FormData::parse(&body);
    generate(&st, &sess, form.get("week").unwrap_or("")).await?;
    Ok(Redirect::to("/reports").into_response())
}

#[derive(Debug, Default, Deserialize)]
struct GenerateBody {
    #[serde(default)]
    week: String,
}

async fn generate_api(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    body: Bytes,
) -> Result<Response, WebError> {
    let b: GenerateBody = if body.iter().all(u8::is_ascii_whitespace) {
        GenerateBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| WebError::new(StatusCode::BAD_REQUEST, e.to_string()).json())?
    };
    let g = generate(&st, &sess, &b.week).await.map_err(|e| e.json())?;
    let entry = files::get(&st.db, g.report_id)
        .await
        .map_err(|e| WebError::from(e).json())?;
    Ok(Json(serde_json::json!({
        "id": g.report_id,
        "week": g.week,
        "complete": g.complete,
        "cases": g.cases,
        "files": entry.files,
        "downloads": downloads(&entry),
    }))
    .into_response())
}

fn downloads(e: &ReportEntry) -> serde_json::Value {
    serde_json::Value::Object(
        DOWNLOAD_KINDS
            .iter()
            .filter(|k| **k == "package" || e.file(k).is_some())
            .filter(|_| !e.files.is_empty())
            .map(|k| (k.to_string(), format!("/reports/{}/{k}", e.id).into()))
            .collect(),
    )
}

async fn api_list(State(st): State<AppState>) -> Result<Response, WebError> {
    let list = files::list(&st.db, LIST_LIMIT)
        .await
        .map_err(|e| WebError::from(e).json())?;
    let out: Vec<serde_json::Value> = list
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id,
                "week": e.week,
                "generated_at": e.generated_at,
                "generated_by": e.generated_by,
                "manifest_sha256": e.manifest_sha256,
                "files": e.files,
                "downloads": downloads(e),
            })
        })
        .collect();
    Ok(Json(out).into_response())
}

/// What a download streams: one file, or the package as a tar of these files.
enum Source {
    File(PathBuf, u64),
    Tar(Vec<(String, PathBuf)>, u64),
}

async fn download(
    State(st): State<AppState>,
    Path((id, kind)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    if !DOWNLOAD_KINDS.contains(&kind.as_str()) {
        return Err(WebError::not_found());
    }
    let e = files::get(&st.db, id).await?;
    if e.files.is_empty() {
        return Err(WebError::not_found());
    }
    let dir = PathBuf::from(&e.out_dir);
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("kuzet-report-{}", e.week));
    let (name, ct, source) = if kind == "package" {
        let mut list = Vec::with_capacity(e.files.len());
        for f in &e.files {
            let path = files::resolve(&dir, &f.name).ok_or_else(WebError::not_found)?;
            list.push((format!("{base}/{}", f.name), path));
        }
        (
            format!("{base}.tar"),
            PACKAGE_CONTENT_TYPE.to_string(),
            Source::Tar(list, 0),
        )
    } else {
        let f = e.file(&kind).ok_or_else(WebError::not_found)?;
        let path = files::resolve(&dir, &f.name).ok_or_else(WebError::not_found)?;
        (
            f.name.clone(),
            f.content_type.clone(),
            Source::File(path, 0),
        )
    };
    // Check the folder is still this report's and measure what will be sent (blocking IO).
    let e2 = e.clone();
    let source = tokio::task::spawn_blocking(move || -> Result<Source, WebError> {
        if !files::is_current(&e2) {
            return Err(WebError::new(
                StatusCode::GONE,
                "this report's files were replaced by a newer report of the same week",
            ));
        }
        let size = |p: &FsPath| {
            std::fs::metadata(p)
                .map(|m| m.len())
                .map_err(|_| WebError::not_found())
        };
        Ok(match source {
            Source::File(p, _) => {
                let n = size(&p)?;
                Source::File(p, n)
            }
            Source::Tar(list, _) => {
                let mut total = 1024;
                for (_, p) in &list {
                    let n = size(p)?;
                    total += 512 + n + files::tar_padding(n) as u64;
                }
                Source::Tar(list, total)
            }
        })
    })
    .await
    .map_err(|_| WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "read task failed"))??;
    let length = match &source {
        Source::File(_, n) | Source::Tar(_, n) => *n,
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let r = match source {
            Source::File(p, n) => send_file(&tx, &p, n),
            Source::Tar(list, _) => send_tar(&tx, &list),
        };
        if let Err(err) = r {
            tracing::warn!(error = %err, "report download cut short");
            let _ = tx.blocking_send(Err(err));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut res = Body::from_stream(stream).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&ct).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\""))
            .unwrap_or(HeaderValue::from_static("attachment")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(res)
}

type Tx = tokio::sync::mpsc::Sender<std::io::Result<Bytes>>;

fn closed() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away")
}

/// Sends exactly `n` bytes of `path` (a file that shrank since it was measured is an error, so
/// the announced length is never silently wrong).
fn send_file(tx: &Tx, path: &FsPath, n: u64) -> std::io::Result<()> {
    let f = std::fs::File::open(path)?;
    let mut r = f.take(n);
    let mut left = n;
    let mut buf = vec![0u8; CHUNK];
    while left > 0 {
        let got = r.read(&mut buf)?;
        if got == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("{} shrank while being sent", path.display()),
            ));
        }
        left -= got as u64;
        tx.blocking_send(Ok(Bytes::copy_from_slice(&buf[..got])))
            .map_err(|_| closed())?;
    }
    Ok(())
}

fn send_tar(tx: &Tx, list: &[(String, PathBuf)]) -> std::io::Result<()> {
    let mtime = u64::try_from(now_ms() / 1000).unwrap_or(0);
    for (name, path) in list {
        let n = std::fs::metadata(path)?.len();
        let header = files::tar_header(name, n, mtime).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{name}: name too long or file too large for ustar"),
            )
        })?;
        tx.blocking_send(Ok(Bytes::copy_from_slice(&header)))
            .map_err(|_| closed())?;
        send_file(tx, path, n)?;
        let pad = files::tar_padding(n);
        if pad > 0 {
            tx.blocking_send(Ok(Bytes::from(vec![0u8; pad])))
                .map_err(|_| closed())?;
        }
    }
    tx.blocking_send(Ok(Bytes::from(vec![0u8; 1024])))
        .map_err(|_| closed())?;
    Ok(())
}
