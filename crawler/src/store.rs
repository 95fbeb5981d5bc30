//! What the crawler writes: runs, fetch attempts, pages, images, QR codes, verdicts and
//! indicators. Each fetch's results commit in one transaction together with the removal of its
//! URL from the frontier and the links it discovered, so a crash loses no committed work and
//! redoes none. The `save_*s` and `log_fetches` forms store many at once (the crawl's group
//! commit) with multi-row statements.

use kuzet_storage::sqlx::{self, Row};
use kuzet_storage::{Db, StorageError, now_ms};

use crate::frontier::{MAX_PARAMS, Marks};

/// Starts a crawl run; returns its id.
pub async fn start_run(db: &Db, worker: &str, config_json: &str) -> Result<i64, StorageError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO crawl_runs (worker, status, started_at, config_json) \
         VALUES ($1, 'running', $2, $3) RETURNING id",
    )
    .bind(worker)
    .bind(now_ms())
    .bind(config_json)
    .fetch_one(db.pool())
    .await?)
}

/// Ends a run with its status (`finished`, `failed`, `interrupted`) and summary.
pub async fn finish_run(
    db: &Db,
    run_id: i64,
    status: &str,
    stats_json: &str,
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE crawl_runs SET status = $1, finished_at = $2, stats_json = $3 WHERE id = $4",
    )
    .bind(status)
    .bind(now_ms())
    .bind(stats_json)
    .bind(run_id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The id of a source, created on first use.
pub async fn source_id(db: &Db, kind: &str, locator: &str) -> Result<i64, StorageError> {
    sqlx::query(
        "INSERT INTO sources (kind, locator, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (kind, locator) DO NOTHING",
    )
    .bind(kind)
    .bind(locator)
    .bind(now_ms())
    .execute(db.pool())
    .await?;
    Ok(
        sqlx::query_scalar("SELECT id FROM sources WHERE kind = $1 AND locator = $2")
            .bind(kind)
            .bind(locator)
            .fetch_one(db.pool())
            .await?,
    )
}

/// One fetch attempt, for the `fetch_log` table.
#[derive(Debug, Clone)]
pub struct FetchRecord<'a> {
    /// Run id.
    pub run_id: i64,
    /// Worker name.
    pub worker: &'a str,
    /// Seen-set key.
    pub url_hash: &'a str,
    /// URL.
    pub url: &'a str,
    /// HTTP status when there was one.
    pub status: Option<i64>,
    /// Stable error kind (`timeout`, `too_large`, …) when it failed.
    pub error_kind: Option<&'a str>,
    /// Error message.
    pub error: Option<String>,
    /// Which claim of this URL this was (1 for the first; more after retries or expired leases).
    pub attempt: i64,
    /// Set when this fetch took over another worker's expired lease: that worker's name. Such a
    /// fetch is a refetch (`fetch_log.refetch = 1`).
    pub expired_lease_owner: Option<&'a str>,
}

/// Records a fetch attempt.
pub async fn log_fetch(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    f: &FetchRecord<'_>,
) -> Result<(), StorageError> {
    log_fetches(tx, std::slice::from_ref(f)).await
}

/// Records fetch attempts, a few multi-row statements for all of them.
pub async fn log_fetches(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    records: &[FetchRecord<'_>],
) -> Result<(), StorageError> {
    let now = now_ms();
    let marks = Marks::of(tx);
    for chunk in records.chunks(MAX_PARAMS / 11) {
        let sql = format!(
            "INSERT INTO fetch_log (run_id, worker, url_hash, url, fetched_at, status, \
             error_kind, error, refetch, attempt, expired_lease_owner) VALUES {}",
            marks.rows(chunk.len(), 11)
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for f in chunk {
            q = q
                .bind(f.run_id)
                .bind(f.worker)
                .bind(f.url_hash)
                .bind(f.url)
                .bind(now)
                .bind(f.status)
                .bind(f.error_kind)
                .bind(f.error.as_deref())
                .bind(i64::from(f.expired_lease_owner.is_some()))
                .bind(f.attempt)
                .bind(f.expired_lease_owner);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Where a page's exact HTTP exchange is kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WarcRef {
    /// WARC file path, relative to the evidence directory.
    pub file: String,
    /// Byte offset of the first record of the exchange.
    pub offset: i64,
    /// Length in bytes of the exchange's records.
    pub length: i64,
    /// `WARC-Record-ID` of the response record.
    pub record_id: String,
    /// Digest of the response block (`sha256:…`).
    pub digest: String,
}

/// A fetched page to store.
#[derive(Debug, Clone, Default)]
pub struct PageRecord {
    /// Requested (canonical) URL.
    pub url: String,
    /// Its seen-set key.
    pub url_hash: String,
    /// URL after redirects.
    pub final_url: String,
    /// Host of the final URL.
    pub host: String,
    /// Source id.
    pub source_id: Option<i64>,
    /// Run id.
    pub run_id: Option<i64>,
    /// Depth from the seed.
    pub depth: i64,
    /// HTTP status.
    pub status: i64,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// Charset used to decode the body.
    pub encoding: Option<String>,
    /// SHA-256 hex of the body as received.
    pub content_hash: String,
    /// Body length.
    pub body_bytes: i64,
    /// `<title>`.
    pub title: Option<String>,
    /// Extracted visible text.
    pub text: Option<String>,
    /// Evidence record, when kept.
    pub warc: Option<WarcRef>,
}

/// Stores a page (replacing an older fetch of the same URL); returns its id.
pub async fn save_page(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    p: &PageRecord,
) -> Result<i64, StorageError> {
    let ids = save_pages(tx, &[p]).await?;
    ids.first()
        .copied()
        .ok_or_else(|| sqlx::Error::RowNotFound.into())
}

/// Stores pages (each replacing an older fetch of the same URL) with a few multi-row statements;
/// returns their ids in the order given.
pub async fn save_pages(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    pages: &[&PageRecord],
) -> Result<Vec<i64>, StorageError> {
    const COLS: usize = 20;
    let now = now_ms();
    let marks = Marks::of(tx);
    let mut ids = Vec::with_capacity(pages.len());
    let mut rest = pages;
    while !rest.is_empty() {
        // One statement may not touch a row twice (PostgreSQL refuses it): a URL that comes
        // again starts the next statement.
        let mut keys = std::collections::HashSet::new();
        let n = rest
            .iter()
            .take(MAX_PARAMS / COLS)
            .take_while(|p| keys.insert(p.url_hash.as_str()))
            .count();
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let mut sql = format!(
            "INSERT INTO pages (url, url_hash, final_url, host, source_id, run_id, depth, status, \
             content_type, encoding, fetched_at, content_hash, body_bytes, title, text, \
             warc_file, warc_offset, warc_length, warc_record_id, warc_digest) VALUES {}",
            marks.rows(chunk.len(), COLS)
        );
        sql.push_str(
            " ON CONFLICT (url_hash) DO UPDATE SET final_url = excluded.final_url, \
               status = excluded.status, content_type = excluded.content_type, \
               encoding = excluded.encoding, fetched_at = excluded.fetched_at, \
               content_hash = excluded.content_hash, body_bytes = excluded.body_bytes, \
               title = excluded.title, text = excluded.text, warc_file = excluded.warc_file, \
               warc_offset = excluded.warc_offset, warc_length = excluded.warc_length, \
               warc_record_id = excluded.warc_record_id, warc_digest = excluded.warc_digest \
             RETURNING id, url_hash",
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for p in chunk {
            let warc = p.warc.as_ref();
            q = q
                .bind(&p.url)
                .bind(&p.url_hash)
                .bind(&p.final_url)
                .bind(&p.host)
                .bind(p.source_id)
                .bind(p.run_id)
                .bind(p.depth)
                .bind(p.status)
                .bind(p.content_type.as_deref())
                .bind(p.encoding.as_deref())
                .bind(now)
                .bind(&p.content_hash)
                .bind(p.body_bytes)
                .bind(p.title.as_deref())
                .bind(p.text.as_deref())
                .bind(warc.map(|w| w.file.as_str()))
                .bind(warc.map(|w| w.offset))
                .bind(warc.map(|w| w.length))
                .bind(warc.map(|w| w.record_id.as_str()))
                .bind(warc.map(|w| w.digest.as_str()));
        }
        // RETURNING gives no row order: match the ids back by key.
        let mut by_key = std::collections::HashMap::with_capacity(chunk.len());
        for r in q.fetch_all(&mut **tx).await? {
            by_key.insert(
                r.try_get::<String, _>("url_hash")?,
                r.try_get::<i64, _>("id")?,
            );
        }
        for p in chunk {
            ids.push(
                by_key
                    .get(&p.url_hash)
                    .copied()
                    .ok_or(sqlx::Error::RowNotFound)?,
            );
        }
    }
    Ok(ids)
}

/// Whether a page with this body hash is already stored (content dedup across URLs).
pub async fn page_with_content(db: &Db, content_hash: &str) -> Result<Option<i64>, StorageError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM pages WHERE content_hash = $1 LIMIT 1")
            .bind(content_hash)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// A classifier verdict in storable form.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictRecord {
    /// Score in [0, 1].
    pub score: f64,
    /// `shop`, `suspicious` or `clean`.
    pub verdict: String,
    /// The reasons as JSON.
    pub reasons_json: String,
    /// Rule-set version (content hash).
    pub rules_version: String,
}

/// What a verdict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A page id.
    Page(i64),
    /// An image id.
    Image(i64),
}

/// Stores a verdict and links its indicators to the subject.
pub async fn save_verdict(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    subject: Subject,
    v: &VerdictRecord,
    indicators: &[(String, String)],
) -> Result<(), StorageError> {
    save_verdicts(tx, &[(subject, v, indicators)]).await
}

/// A verdict to store with [`save_verdicts`]: its subject, the verdict and its indicators
/// (`kind`, normalised `value`).
pub type VerdictRow<'a> = (Subject, &'a VerdictRecord, &'a [(String, String)]);

/// Stores verdicts and links their indicators to their subjects, with a few multi-row
/// statements for all of them.
pub async fn save_verdicts(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    verdicts: &[VerdictRow<'_>],
) -> Result<(), StorageError> {
    let now = now_ms();
    let marks = Marks::of(tx);
    for chunk in verdicts.chunks(MAX_PARAMS / 7) {
        let sql = format!(
            "INSERT INTO verdicts (page_id, image_id, score, verdict, reasons_json, \
             rules_version, created_at) VALUES {}",
            marks.rows(chunk.len(), 7)
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for (subject, v, _) in chunk {
            let (page_id, image_id) = match subject {
                Subject::Page(id) => (Some(*id), None),
                Subject::Image(id) => (None, Some(*id)),
            };
            q = q
                .bind(page_id)
                .bind(image_id)
                .bind(v.score)
                .bind(&v.verdict)
                .bind(&v.reasons_json)
                .bind(&v.rules_version)
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    let links: Vec<(Subject, &str, &str)> = verdicts
        .iter()
        .flat_map(|(s, _, ind)| ind.iter().map(move |(k, v)| (*s, k.as_str(), v.as_str())))
        .collect();
    link_indicators(tx, &links).await
}

/// Links indicators (`kind`, normalised `value`) to a page or image.
pub async fn save_indicators(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    subject: Subject,
    indicators: &[(String, String)],
) -> Result<(), StorageError> {
    let links: Vec<(Subject, &str, &str)> = indicators
        .iter()
        .map(|(k, v)| (subject, k.as_str(), v.as_str()))
        .collect();
    link_indicators(tx, &links).await
}

/// Creates the indicators not yet known and links each (subject, kind, value).
async fn link_indicators(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    links: &[(Subject, &str, &str)],
) -> Result<(), StorageError> {
    if links.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    // Indicator rows in key order: concurrent workers (PostgreSQL) then wait for each other's
    // new unique-index entries in one order and cannot deadlock.
    let mut keys: Vec<(&str, &str)> = links.iter().map(|(_, k, v)| (*k, *v)).collect();
    keys.sort_unstable();
    keys.dedup();
    let marks = Marks::of(tx);
    let mut ids = std::collections::HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(MAX_PARAMS / 3) {
        let sql = format!(
            "INSERT INTO indicators (kind, value, first_seen_at) VALUES {} \
             ON CONFLICT (kind, value) DO NOTHING",
            marks.rows(chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for (k, v) in chunk {
            q = q.bind(*k).bind(*v).bind(now);
        }
        q.execute(&mut **tx).await?;
        let wanted: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "(kind = {} AND value = {})",
                    marks.at(2 * i + 1),
                    marks.at(2 * i + 2)
                )
            })
            .collect();
        let sql = format!(
            "SELECT id, kind, value FROM indicators WHERE {}",
            wanted.join(" OR ")
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for (k, v) in chunk {
            q = q.bind(*k).bind(*v);
        }
        for r in q.fetch_all(&mut **tx).await? {
            ids.insert(
                (
                    r.try_get::<String, _>("kind")?,
                    r.try_get::<String, _>("value")?,
                ),
                r.try_get::<i64, _>("id")?,
            );
        }
    }
    for (table, column, images) in [
        ("page_indicators", "page_id", false),
        ("image_indicators", "image_id", true),
    ] {
        let mut rows: Vec<(i64, i64)> = Vec::new();
        for (subject, k, v) in links {
            let subject_id = match (subject, images) {
                (Subject::Page(id), false) | (Subject::Image(id), true) => *id,
                _ => continue,
            };
            let id = ids
                .get(&(k.to_string(), v.to_string()))
                .copied()
                .ok_or(sqlx::Error::RowNotFound)?;
            rows.push((subject_id, id));
        }
        rows.sort_unstable();
        rows.dedup();
        for chunk in rows.chunks(MAX_PARAMS / 2) {
            let sql = format!(
                "INSERT INTO {table} ({column}, indicator_id) VALUES {} ON CONFLICT DO NOTHING",
                marks.rows(chunk.len(), 2)
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for (s, i) in chunk {
                q = q.bind(*s).bind(*i);
            }
            q.execute(&mut **tx).await?;
        }
    }
    Ok(())
}

/// An image (fetched or from a photo folder) to store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageRecord {
    /// Where it was fetched from.
    pub url: Option<String>,
    /// Local path of a photo.
    pub path: Option<String>,
    /// SHA-256 hex of the file.
    pub content_hash: String,
    /// The page it appeared on.
    pub page_id: Option<i64>,
    /// Source id.
    pub source_id: Option<i64>,
    /// Pixel width.
    pub width: Option<i64>,
    /// Pixel height.
    pub height: Option<i64>,
    /// EXIF GPS latitude.
    pub gps_lat: Option<f64>,
    /// EXIF GPS longitude.
    pub gps_lon: Option<f64>,
    /// EXIF time taken, ms since the epoch.
    pub taken_at: Option<i64>,
    /// Why decoding failed, as a stable kind.
    pub error_kind: Option<String>,
    /// Why decoding failed, in words.
    pub error: Option<String>,
}

/// Stores an image and the QR codes decoded from it (`text`, lead kind, attempt); returns its id.
pub async fn save_image(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    img: &ImageRecord,
    codes: &[(String, String, String)],
) -> Result<i64, StorageError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO images (url, path, content_hash, page_id, source_id, fetched_at, width, \
         height, gps_lat, gps_lon, taken_at, error_kind, error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(img.url.as_deref())
    .bind(img.path.as_deref())
    .bind(&img.content_hash)
    .bind(img.page_id)
    .bind(img.source_id)
    .bind(now_ms())
    .bind(img.width)
    .bind(img.height)
    .bind(img.gps_lat)
    .bind(img.gps_lon)
    .bind(img.taken_at)
    .bind(img.error_kind.as_deref())
    .bind(img.error.as_deref())
    .fetch_one(&mut **tx)
    .await?;
    for (text, kind, attempt) in codes {
        sqlx::query(
            "INSERT INTO qr_codes (image_id, text, lead_kind, attempt) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(text)
        .bind(kind)
        .bind(attempt)
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

/// Counts for a run summary and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Pages stored.
    pub pages: i64,
    /// Images stored.
    pub images: i64,
    /// Pages whose newest verdict is `shop`.
    pub shop: i64,
    /// Pages whose newest verdict is `suspicious`.
    pub suspicious: i64,
    /// Fetch attempts that failed, by kind.
    pub errors: Vec<(String, i64)>,
}

/// Totals over the whole database, or one run.
pub async fn totals(db: &Db, run_id: Option<i64>) -> Result<Totals, StorageError> {
    let run_filter = if run_id.is_some() {
        " WHERE run_id = $1"
    } else {
        ""
    };
    let pages: i64 = scalar(
        db,
        &format!("SELECT COUNT(*) FROM pages{run_filter}"),
        run_id,
    )
    .await?;
    let images: i64 = scalar(db, "SELECT COUNT(*) FROM images", None).await?;
    let newest = "SELECT v.verdict FROM verdicts v WHERE v.page_id IS NOT NULL AND v.id = \
                  (SELECT MAX(id) FROM verdicts w WHERE w.page_id = v.page_id)";
    let shop = scalar(
        db,
        &format!("SELECT COUNT(*) FROM ({newest}) t WHERE verdict = 'shop'"),
        None,
    )
    .await?;
    let suspicious = scalar(
        db,
        &format!("SELECT COUNT(*) FROM ({newest}) t WHERE verdict = 'suspicious'"),
        None,
    )
    .await?;
    let mut sql = String::from(
        "SELECT error_kind, COUNT(*) AS n FROM fetch_log WHERE error_kind IS NOT NULL",
    );
    if run_id.is_some() {
        sql.push_str(" AND run_id = $1");
    }
    sql.push_str(" GROUP BY error_kind ORDER BY error_kind");
    let mut q = sqlx::query(&sql);
    if let Some(r) = run_id {
        q = q.bind(r);
    }
    let errors = q
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("error_kind")?, r.try_get("n")?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Totals {
        pages,
        images,
        shop,
        suspicious,
        errors,
    })
}

async fn scalar(db: &Db, sql: &str, bind: Option<i64>) -> Result<i64, StorageError> {
    let mut q = sqlx::query_scalar::<_, i64>(sql);
    if let Some(b) = bind {
        q = q.bind(b);
    }
    Ok(q.fetch_one(db.pool()).await?)
}

/// A page's evidence reference as stored, for `kuzet evidence verify`.
#[derive(Debug, Clone, PartialEq)]
pub struct PageEvidence {
    /// Page id.
    pub page_id: i64,
    /// Page URL.
    pub url: String,
    /// Where its exchange was written.
    pub warc: WarcRef,
}

/// Every page that has an evidence record, in id order.
pub async fn page_evidence(db: &Db) -> Result<Vec<PageEvidence>, StorageError> {
    let rows = sqlx::query(
        "SELECT id, url, warc_file, warc_offset, warc_length, warc_record_id, warc_digest \
         FROM pages WHERE warc_file IS NOT NULL ORDER BY id",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PageEvidence {
                page_id: r.try_get("id")?,
                url: r.try_get("url")?,
                warc: WarcRef {
                    file: r.try_get("warc_file")?,
                    offset: r.try_get::<Option<i64>, _>("warc_offset")?.unwrap_or(0),
                    length: r.try_get::<Option<i64>, _>("warc_length")?.unwrap_or(0),
                    record_id: r
                        .try_get::<Option<String>, _>("warc_record_id")?
                        .unwrap_or_default(),
                    digest: r
                        .try_get::<Option<String>, _>("warc_digest")?
                        .unwrap_or_default(),
                },
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(StorageError::from)
}
