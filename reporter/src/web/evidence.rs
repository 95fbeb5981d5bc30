//! Evidence downloads: images (always re-encoded to PNG, never passed through) and WARC records.

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::{Component, Path as FsPath, PathBuf};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use image::{ImageFormat, ImageReader, Limits};
use sqlx::Row;

use super::session::Session;
use super::{AppState, ImageLimits, WebError};
use crate::ReporterError;
use crate::users::Role;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/images/{id}", get(image))
        .route("/pages/{id}/warc", get(warc))
        .route("/transitions/{id}/warc", get(transition_warc))
        .route("/qr-resolutions/{id}/warc", get(qr_resolution_warc))
}

/// Decodes any supported raster image within `limits` and re-encodes it as PNG. Whatever the
/// input was (a polyglot, an SVG, HTML with an image extension), only freshly encoded pixels
/// come out — or an error.
pub fn reencode_png(bytes: &[u8], limits: &ImageLimits) -> Result<Vec<u8>, String> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut l = Limits::default();
    l.max_image_width = Some(limits.max_width);
    l.max_image_height = Some(limits.max_height);
    l.max_alloc = Some(limits.max_alloc);
    reader.limits(l);
    let img = reader.decode().map_err(|e| e.to_string())?;
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// A relative path inside `root`, refusing absolute paths and `..`.
fn inside(root: &FsPath, rel: &str) -> Option<PathBuf> {
    let p = FsPath::new(rel);
    p.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        .then(|| root.join(p))
}

/// Checks that a liaison may see the case holding `page`.
async fn may_see_page(st: &AppState, sess: &Session, page: i64) -> Result<bool, WebError> {
    if sess.role() != Role::Liaison {
        return Ok(true);
    }
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM case_pages cp JOIN cases c ON c.id = cp.case_id \
         WHERE cp.page_id = $1 AND c.status IN ('confirmed', 'forwarded')",
    )
    .bind(page)
    .fetch_one(st.db.pool())
    .await
    .map_err(ReporterError::from)?;
    Ok(n > 0)
}

async fn image(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let row = sqlx::query("SELECT path, content_hash, page_id FROM images WHERE id = $1")
        .bind(id)
        .fetch_optional(st.db.pool())
        .await
        .map_err(ReporterError::from)?
        .ok_or_else(WebError::not_found)?;
    let page: Option<i64> = row.try_get("page_id").map_err(ReporterError::from)?;
    if let Some(p) = page
        && !may_see_page(&st, &sess, p).await?
    {
        return Err(WebError::not_found());
    }
    let local: Option<String> = row.try_get("path").map_err(ReporterError::from)?;
    let hash: String = row.try_get("content_hash").map_err(ReporterError::from)?;
    let file = match (local, &st.cfg.evidence_dir) {
        (Some(p), _) => PathBuf::from(p),
        (None, Some(dir)) if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            dir.join("blobs").join(&hash[..2]).join(&hash)
        }
        _ => return Err(WebError::not_found()),
    };
    let limits = st.cfg.image_limits.clone();
    let png = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ReporterError> {
        let f = std::fs::File::open(&file).map_err(|e| ReporterError::Evidence {
            path: file.display().to_string(),
            source: e,
        })?;
        let mut bytes = Vec::new();
        f.take(limits.max_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| ReporterError::Evidence {
                path: file.display().to_string(),
                source: e,
            })?;
        if bytes.len() as u64 > limits.max_bytes {
            return Err(ReporterError::Image {
                id,
                reason: format!("larger than {} bytes", limits.max_bytes),
            });
        }
        reencode_png(&bytes, &limits).map_err(|reason| ReporterError::Image { id, reason })
    })
    .await
    .map_err(|_| WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "image task failed"))?
    .map_err(|e| match e {
        ReporterError::Evidence { .. } => WebError::not_found(),
        e => e.into(),
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("inline"),
            ),
        ],
        png,
    )
        .into_response())
}

async fn warc(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let row = sqlx::query("SELECT warc_file, warc_offset, warc_length FROM pages WHERE id = $1")
        .bind(id)
        .fetch_optional(st.db.pool())
        .await
        .map_err(ReporterError::from)?
        .ok_or_else(WebError::not_found)?;
    if !may_see_page(&st, &sess, id).await? {
        return Err(WebError::not_found());
    }
    record(
        &st,
        st.cfg.evidence_dir.clone(),
        &row,
        &format!("page-{id}"),
    )
    .await
}

/// A takedown transition's WARC record (from `[takedown] evidence_dir`), for those who may see
/// its case.
async fn transition_warc(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    watch_record(
        &st,
        &sess,
        "SELECT case_id, warc_file, warc_offset, warc_length FROM watch_events WHERE id = $1",
        id,
        "transition",
    )
    .await
}

/// A QR resolution's WARC record (from `[takedown] evidence_dir`), for those who may see the
/// QR-hijack case opened for its code.
async fn qr_resolution_warc(
    State(st): State<AppState>,
    Extension(sess): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    watch_record(
        &st,
        &sess,
        "SELECT w.case_id, r.warc_file, r.warc_offset, r.warc_length FROM qr_resolutions r \
         JOIN qr_watch w ON w.id = r.watch_id WHERE r.id = $1",
        id,
        "qr-resolution",
    )
    .await
}

async fn watch_record(
    st: &AppState,
    sess: &Session,
    sql: &str,
    id: i64,
    name: &str,
) -> Result<Response, WebError> {
    let row = sqlx::query(sql)
        .bind(id)
        .fetch_optional(st.db.pool())
        .await
        .map_err(ReporterError::from)?
        .ok_or_else(WebError::not_found)?;
    let case: Option<i64> = row.try_get("case_id").map_err(ReporterError::from)?;
    super::pages::load_visible(st, sess, case.ok_or_else(WebError::not_found)?).await?;
    record(
        st,
        st.cfg.watch_evidence_dir.clone(),
        &row,
        &format!("{name}-{id}"),
    )
    .await
}

/// Serves the WARC record that `row` (`warc_file`, `warc_offset`, `warc_length`) names inside
/// `dir`, as `<name>.warc`.
async fn record(
    st: &AppState,
    dir: Option<PathBuf>,
    row: &sqlx::any::AnyRow,
    name: &str,
) -> Result<Response, WebError> {
    let file: Option<String> = row.try_get("warc_file").map_err(ReporterError::from)?;
    let offset: Option<i64> = row.try_get("warc_offset").map_err(ReporterError::from)?;
    let length: Option<i64> = row.try_get("warc_length").map_err(ReporterError::from)?;
    let (Some(file), Some(dir)) = (file, dir) else {
        return Err(WebError::not_found());
    };
    let path = inside(&dir, &file).ok_or_else(WebError::not_found)?;
    let offset = u64::try_from(offset.unwrap_or(0)).unwrap_or(0);
    let length = u64::try_from(length.unwrap_or(0)).unwrap_or(0);
    if length == 0 || length > st.cfg.max_warc_bytes {
        return Err(WebError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "WARC record missing or over the size limit",
        ));
    }
    let bytes = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        let mut f = std::fs::File::open(&path)?;
        f.seek(SeekFrom::Start(offset))?;
        let mut buf = Vec::new();
        f.take(length).read_to_end(&mut buf)?;
        Ok(buf)
    })
    .await
    .map_err(|_| WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "read task failed"))?
    .map_err(|_| WebError::not_found())?;
    let gz = file.ends_with(".gz");
    let disposition = format!(
        "attachment; filename=\"{name}.warc{}\"",
        if gz { ".gz" } else { "" }
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(if gz {
                    "application/gzip"
                } else {
                    "application/warc"
                }),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_evidence_dir() {
        let root = FsPath::new("/ev");
        assert_eq!(
            inside(root, "a/b.warc"),
            Some(PathBuf::from("/ev/a/b.warc"))
        );
        assert_eq!(inside(root, "../etc/passwd"), None);
        assert_eq!(inside(root, "/etc/passwd"), None);
    }

    #[test]
    fn svg_and_html_are_not_images_and_png_is_reencoded() {
        let l = ImageLimits::default();
        assert!(reencode_png(b"<svg onload=alert(1)></svg>", &l).is_err());
        assert!(reencode_png(b"<html><script>alert(1)</script>", &l).is_err());
        let img = image::RgbImage::from_pixel(3, 2, image::Rgb([200, 10, 10]));
        let mut src = Cursor::new(Vec::new());
        img.write_to(&mut src, ImageFormat::Bmp).unwrap();
        let png = reencode_png(src.get_ref(), &l).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let tiny = ImageLimits {
            max_width: 2,
            ..ImageLimits::default()
        };
        assert!(reencode_png(src.get_ref(), &tiny).is_err(), "pixel limit");
    }
}
