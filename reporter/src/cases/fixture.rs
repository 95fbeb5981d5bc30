//! Writes crawler-owned rows (sources, pages, verdicts, indicators, images, QR codes) for tests,
//! benchmarks and demos. In production only the crawler writes these tables.

use kuzet_storage::{Db, now_ms};

use crate::ReporterError;

/// A page to insert with its newest verdict and indicators.
#[derive(Debug, Clone)]
pub struct PageSpec<'a> {
    /// URL (also the final URL).
    pub url: &'a str,
    /// Title.
    pub title: &'a str,
    /// Extracted text.
    pub text: &'a str,
    /// Verdict score.
    pub score: f64,
    /// `shop`, `suspicious` or `clean`.
    pub verdict: &'a str,
    /// `reasons_json` as the classifier writes it.
    pub reasons_json: &'a str,
    /// `(kind, value)` pairs.
    pub indicators: &'a [(&'a str, &'a str)],
    /// Source kind (`web`, `telegram`, `onion`, `photos`); a source row is created on demand.
    pub source: &'a str,
}

impl Default for PageSpec<'_> {
    fn default() -> Self {
        PageSpec {
            url: "http://shop.test/",
            title: "",
            text: "",
            score: 0.9,
            verdict: "shop",
            reasons_json: "[]",
            indicators: &[],
            source: "web",
        }
    }
}

/// Inserts (or finds) a source of `kind` and returns its id.
pub async fn source(db: &Db, kind: &str) -> Result<i64, ReporterError> {
    let locator = format!("fixture:{kind}");
    if let Some(id) =
        sqlx::query_scalar::<_, i64>("SELECT id FROM sources WHERE kind = $1 AND locator = $2")
            .bind(kind)
            .bind(&locator)
            .fetch_optional(db.pool())
            .await?
    {
        return Ok(id);
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO sources (kind, locator, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(kind)
    .bind(&locator)
    .bind(now_ms())
    .fetch_one(db.pool())
    .await?)
}

/// Inserts a page with one verdict and its indicators; returns the page id.
pub async fn page(db: &Db, p: &PageSpec<'_>) -> Result<i64, ReporterError> {
    let src = source(db, p.source).await?;
    let now = now_ms();
    let hash = format!("{:064x}", fxhash(p.url.as_bytes()));
    let host = p
        .url
        .split("//")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("")
        .to_string();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO pages (url, url_hash, final_url, host, source_id, status, fetched_at, \
         content_hash, body_bytes, title, text) VALUES ($1, $2, $1, $3, $4, 200, $5, $6, $7, $8, $9) \
         RETURNING id",
    )
    .bind(p.url)
    .bind(&hash)
    .bind(&host)
    .bind(src)
    .bind(now)
    .bind(format!("{:064x}", fxhash(p.text.as_bytes())))
    .bind(p.text.len() as i64)
    .bind(p.title)
    .bind(p.text)
    .fetch_one(db.pool())
    .await?;
    verdict(db, id, p.score, p.verdict, p.reasons_json).await?;
    for (kind, value) in p.indicators {
        link_indicator(db, id, kind, value).await?;
    }
    Ok(id)
}

/// Adds a newer verdict for a page (a re-crawl or re-score).
pub async fn verdict(
    db: &Db,
    page: i64,
    score: f64,
    label: &str,
    reasons_json: &str,
) -> Result<(), ReporterError> {
    sqlx::query(
        "INSERT INTO verdicts (page_id, score, verdict, reasons_json, rules_version, created_at) \
         VALUES ($1, $2, $3, $4, 'fixture', $5)",
    )
    .bind(page)
    .bind(score)
    .bind(label)
    .bind(reasons_json)
    .bind(now_ms())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Links an indicator (created on demand) to a page.
pub async fn link_indicator(
    db: &Db,
    page: i64,
    kind: &str,
    value: &str,
) -> Result<(), ReporterError> {
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM indicators WHERE kind = $1 AND value = $2")
            .bind(kind)
            .bind(value)
            .fetch_optional(db.pool())
            .await?;
    let ind = match existing {
        Some(id) => id,
        None => sqlx::query_scalar(
            "INSERT INTO indicators (kind, value, first_seen_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(kind)
        .bind(value)
        .bind(now_ms())
        .fetch_one(db.pool())
        .await?,
    };
    sqlx::query(
        "INSERT INTO page_indicators (page_id, indicator_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(page)
    .bind(ind)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Adds an image to a page (at local `path`) with decoded QR payloads; returns the image id.
pub async fn image(
    db: &Db,
    page: i64,
    path: &str,
    content_hash: &str,
    qr: &[&str],
) -> Result<i64, ReporterError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO images (path, content_hash, page_id, fetched_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(path)
    .bind(content_hash)
    .bind(page)
    .bind(now_ms())
    .fetch_one(db.pool())
    .await?;
    for t in qr {
        sqlx::query("INSERT INTO qr_codes (image_id, text, lead_kind) VALUES ($1, $2, 'text')")
            .bind(id)
            .bind(*t)
            .execute(db.pool())
            .await?;
    }
    Ok(id)
}

/// Points a page at a WARC record (file relative to the evidence directory).
pub async fn warc(
    db: &Db,
    page: i64,
    file: &str,
    offset: i64,
    length: i64,
) -> Result<(), ReporterError> {
    sqlx::query(
        "UPDATE pages SET warc_file = $1, warc_offset = $2, warc_length = $3, \
         warc_digest = 'sha256:fixture' WHERE id = $4",
    )
    .bind(file)
    .bind(offset)
    .bind(length)
    .bind(page)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A small deterministic hash for fixture hashes (not cryptographic; real rows carry SHA-256).
fn fxhash(b: &[u8]) -> u128 {
    b.iter().fold(0xcbf2_9ce4_8422_2325_u128, |h, x| {
        (h ^ u128::from(*x)).wrapping_mul(0x0100_0000_01b3)
    })
}
