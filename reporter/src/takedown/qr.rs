//! QR watch: every http(s) payload kuzet has decoded from a QR code is re-resolved, and a code
//! that starts leading to a shop opens a high-priority "QR hijack" case.
//!
//! A QR code on a city plaque or a poster can start pointing at a shop when its domain expires or
//! is taken over. [`sync`] puts every `url` payload of `qr_codes` (crawled page images and
//! volunteer photos alike) on the watch list (`qr_watch`); the binary re-resolves each one with the
//! crawler's re-checker (scope, SSRF guard, robots.txt and politeness as for a crawl; the final
//! page scored by the classifier) and hands the result to [`record`], which stores every
//! resolution (`qr_resolutions`: time, redirect chain, final URL, score, content hash, WARC
//! evidence when the outcome changed) and, when [`is_hijack`] says so, opens the case in the same
//! transaction: status `new`, reason `qr_hijack`, priority 1 (first in the queue), and a
//! `qr_hijack` history entry naming the photos and pages where the code was seen.
//!
//! The rule ([`is_hijack`]): the code now leads to a page scored `suspicious` or `shop`, no
//! QR-hijack case was opened for it yet, and its earlier resolution scored clean or was not a
//! case — i.e. the payload's own URL, as crawled, is not a page of a case (a code that always
//! pointed at a known shop is that shop's case, not a hijack).

use kuzet_storage::{Db, now_ms};
use serde::Serialize;
use sqlx::Row;

use super::watch::Evidence;
use crate::cases::workflow::{Actor, insert_case, review};
use crate::{ReporterError, audit};

/// One watched QR payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QrTarget {
    /// Id.
    pub id: i64,
    /// The payload URL as decoded.
    pub url: String,
    /// The QR-hijack case opened for it.
    pub case_id: Option<i64>,
    /// Resolutions so far.
    pub checks: i64,
    /// Final URL of the last resolution.
    pub last_final_url: Option<String>,
    /// Content hash of the last resolution.
    pub last_content_hash: Option<String>,
    /// Verdict of the last resolution.
    pub last_verdict: Option<String>,
}

/// One resolution of a payload, as the binary observed it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resolution {
    /// When (ms since the epoch).
    pub at: i64,
    /// What the re-checker saw (`live`, `changed`, `blocked`, `gone_like`, `error`).
    pub seen: String,
    /// Final HTTP status.
    pub http_status: Option<i64>,
    /// The redirect chain, each hop's target in order.
    pub redirects: Vec<String>,
    /// The URL that answered.
    pub final_url: Option<String>,
    /// SHA-256 hex of the body as received.
    pub content_hash: Option<String>,
    /// Score of the final page.
    pub score: Option<f64>,
    /// Verdict of the final page.
    pub verdict: Option<String>,
    /// Why (error, signature).
    pub detail: String,
    /// WARC evidence, when written.
    pub evidence: Option<Evidence>,
}

/// What was known about a payload before this resolution.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prior {
    /// The verdict of the last resolution, or of the payload's page as crawled.
    pub verdict: Option<String>,
    /// A QR-hijack case was already opened for it.
    pub hijack_case: bool,
    /// The payload's own URL is a page of a case (the code always led to a known shop).
    pub page_in_case: bool,
}

/// Where a watched code was seen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QrSource {
    /// The image (served re-encoded at `/images/{id}`).
    pub image_id: i64,
    /// The image's URL (crawled images).
    pub image_url: Option<String>,
    /// The page the image was on (crawled images).
    pub page_url: Option<String>,
    /// The source kind (`web`, `photos`, …).
    pub source_kind: Option<String>,
    /// The source locator (`volunteer-photo:7`, a seed…).
    pub locator: Option<String>,
    /// When the image was stored.
    pub seen_at: i64,
}

impl QrSource {
    /// One line for history notes and the command's output.
    pub fn describe(&self) -> String {
        match (&self.page_url, &self.locator) {
            (Some(p), _) => format!("image {} on page {p}", self.image_id),
            (None, Some(l)) => format!("image {} from {l}", self.image_id),
            (None, None) => format!("image {}", self.image_id),
        }
    }
}

/// A watched code of a QR-hijack case, for the case page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseCode {
    /// The payload URL.
    pub url: String,
    /// Where it was seen.
    pub sources: Vec<QrSource>,
    /// Its resolutions, newest first (at most `max` of them).
    pub resolutions: Vec<StoredResolution>,
}

/// A stored resolution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredResolution {
    /// Id.
    pub id: i64,
    /// When.
    pub at: i64,
    /// What the re-checker saw.
    pub seen: String,
    /// The redirect chain.
    pub redirects: Vec<String>,
    /// The URL that answered.
    pub final_url: Option<String>,
    /// Score.
    pub score: Option<f64>,
    /// Verdict.
    pub verdict: Option<String>,
    /// Content hash.
    pub content_hash: Option<String>,
    /// WARC digest.
    pub warc_digest: Option<String>,
    /// This resolution opened the case.
    pub hijack: bool,
}

fn flagged(verdict: Option<&str>) -> bool {
    matches!(verdict, Some("suspicious" | "shop"))
}

/// The QR-hijack rule (see the module docs).
pub fn is_hijack(prior: &Prior, now_verdict: Option<&str>) -> bool {
    flagged(now_verdict) && !prior.hijack_case && !prior.page_in_case
}

/// Whether a resolution's outcome differs from the last one (so its evidence is worth keeping).
pub fn changed(target: &QrTarget, final_url: Option<&str>, content_hash: Option<&str>) -> bool {
    target.checks == 0
        || target.last_final_url.as_deref() != final_url
        || target.last_content_hash.as_deref() != content_hash
}

/// Puts every http(s) QR payload not yet watched on the watch list; payloads longer than
/// `max_url_chars` are left out (they cannot be indexed on every backend). Returns how many were
/// added.
pub async fn sync(db: &Db, max_url_chars: i64) -> Result<usize, ReporterError> {
    let mut tx = db.begin_write().await?;
    let n = sqlx::query(
        "INSERT INTO qr_watch (url, first_seen_at) \
         SELECT q.text, MIN(i.fetched_at) FROM qr_codes q JOIN images i ON i.id = q.image_id \
         WHERE q.lead_kind = 'url' AND length(q.text) <= $1 \
         AND NOT EXISTS (SELECT 1 FROM qr_watch w WHERE w.url = q.text) \
         GROUP BY q.text ON CONFLICT (url) DO NOTHING",
    )
    .bind(max_url_chars.max(1))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(n as usize)
}

/// Up to `limit` watched payloads with id above `after`, in id order (bounded memory).
pub async fn batch(db: &Db, after: i64, limit: i64) -> Result<Vec<QrTarget>, ReporterError> {
    let rows = sqlx::query(
        "SELECT id, url, case_id, checks, last_final_url, last_content_hash, last_verdict \
         FROM qr_watch WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit.max(1))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(QrTarget {
                id: r.try_get("id")?,
                url: r.try_get("url")?,
                case_id: r.try_get("case_id")?,
                checks: r.try_get("checks")?,
                last_final_url: r.try_get("last_final_url")?,
                last_content_hash: r.try_get("last_content_hash")?,
                last_verdict: r.try_get("last_verdict")?,
            })
        })
        .collect()
}

/// What was known about `target` before this resolution: its last verdict (or, before its first
/// resolution, the newest verdict of its URL as crawled) and whether that page is in a case.
/// `url_hash` is the crawler's key of the payload's canonical URL (`pages.url_hash`, indexed);
/// `None` when it is not a fetchable URL.
pub async fn prior(
    db: &Db,
    target: &QrTarget,
    url_hash: Option<&str>,
) -> Result<Prior, ReporterError> {
    let page = sqlx::query(
        "SELECT p.id, (SELECT v.verdict FROM verdicts v WHERE v.page_id = p.id ORDER BY v.id DESC \
         LIMIT 1) AS verdict, (SELECT COUNT(*) FROM case_pages cp WHERE cp.page_id = p.id) AS in_case \
         FROM pages p WHERE p.url_hash = $1",
    )
    .bind(url_hash.unwrap_or(""))
    .fetch_optional(db.pool())
    .await?;
    let (page_verdict, page_in_case) = match page {
        Some(r) => (
            r.try_get::<Option<String>, _>("verdict")?,
            r.try_get::<i64, _>("in_case")? > 0,
        ),
        None => (None, false),
    };
    Ok(Prior {
        verdict: target.last_verdict.clone().or(page_verdict),
        hijack_case: target.case_id.is_some(),
        page_in_case,
    })
}

/// Where the code `url` was seen: the images it was decoded from, with their page or source.
pub async fn sources(db: &Db, url: &str, limit: i64) -> Result<Vec<QrSource>, ReporterError> {
    let rows = sqlx::query(
        "SELECT DISTINCT i.id, i.url, p.url AS page_url, s.kind, s.locator, i.fetched_at \
         FROM qr_codes q JOIN images i ON i.id = q.image_id \
         LEFT JOIN pages p ON p.id = i.page_id LEFT JOIN sources s ON s.id = i.source_id \
         WHERE q.text = $1 ORDER BY i.id LIMIT $2",
    )
    .bind(url)
    .bind(limit.max(1))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(QrSource {
                image_id: r.try_get("id")?,
                image_url: r.try_get("url")?,
                page_url: r.try_get("page_url")?,
                source_kind: r.try_get("kind")?,
                locator: r.try_get("locator")?,
                seen_at: r.try_get("fetched_at")?,
            })
        })
        .collect()
}

/// Most sources named in a QR-hijack case's history note.
const MAX_NOTE_SOURCES: i64 = 20;

/// Stores a resolution of `target`; when `hijack`, opens the QR-hijack case in the same
/// transaction and returns its id.
pub async fn record(
    db: &Db,
    target: &QrTarget,
    r: &Resolution,
    prior: &Prior,
    hijack: bool,
) -> Result<Option<i64>, ReporterError> {
    let seen_at = if hijack {
        sources(db, &target.url, MAX_NOTE_SOURCES).await?
    } else {
        Vec::new()
    };
    let mut tx = db.begin_write().await?;
    let case = if hijack {
        let now = now_ms();
        let host = r
            .final_url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let title: String = format!("QR hijack: {} → {host}", target.url)
            .chars()
            .take(300)
            .collect();
        let id = insert_case(&mut tx, &title, r.score.unwrap_or(0.0), now).await?;
        sqlx::query("UPDATE cases SET reason = 'qr_hijack', priority = 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let mut note = format!(
            "QR code {} (earlier: {}) now leads to {} ({} {:.2}); seen on: {}",
            target.url,
            prior.verdict.as_deref().unwrap_or("never resolved"),
            r.final_url.as_deref().unwrap_or("?"),
            r.verdict.as_deref().unwrap_or("?"),
            r.score.unwrap_or(0.0),
            if seen_at.is_empty() {
                "no stored image".to_string()
            } else {
                seen_at
                    .iter()
                    .map(QrSource::describe)
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        );
        note = note.chars().take(2000).collect();
        review(&mut tx, id, &Actor::system(), "qr_hijack", &note).await?;
        audit::record_in(
            &mut tx,
            "system",
            "case.qr_hijack",
            &format!("case:{id}"),
            &serde_json::json!({ "qr": target.url, "final_url": r.final_url }),
        )
        .await?;
        sqlx::query("UPDATE qr_watch SET case_id = $1 WHERE id = $2")
            .bind(id)
            .bind(target.id)
            .execute(&mut *tx)
            .await?;
        Some(id)
    } else {
        None
    };
    let ev = r.evidence.clone().unwrap_or_default();
    let has = r.evidence.is_some();
    sqlx::query(
        "INSERT INTO qr_resolutions (watch_id, at, seen, http_status, redirects, final_url, \
         content_hash, score, verdict, detail, hijack, warc_file, warc_offset, warc_length, \
         warc_record_id, warc_digest) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(target.id)
    .bind(r.at)
    .bind(&r.seen)
    .bind(r.http_status)
    .bind(r.redirects.join("\n"))
    .bind(&r.final_url)
    .bind(&r.content_hash)
    .bind(r.score)
    .bind(&r.verdict)
    .bind(r.detail.chars().take(2000).collect::<String>())
    .bind(i64::from(hijack))
    .bind(has.then_some(ev.file))
    .bind(has.then_some(ev.offset))
    .bind(has.then_some(ev.length))
    .bind(has.then_some(ev.record_id))
    .bind(has.then_some(ev.digest))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE qr_watch SET checks = checks + 1, last_checked_at = $1, last_final_url = $2, \
         last_content_hash = $3, last_score = $4, last_verdict = $5 WHERE id = $6",
    )
    .bind(r.at)
    .bind(&r.final_url)
    .bind(&r.content_hash)
    .bind(r.score)
    .bind(&r.verdict)
    .bind(target.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(case)
}

/// The watched codes of `case` (a QR-hijack case) with their sources and newest resolutions
/// (at most `max` of each).
pub async fn case_codes(db: &Db, case: i64, max: i64) -> Result<Vec<CaseCode>, ReporterError> {
    let codes = sqlx::query("SELECT id, url FROM qr_watch WHERE case_id = $1 ORDER BY id")
        .bind(case)
        .fetch_all(db.pool())
        .await?;
    let mut out = Vec::with_capacity(codes.len());
    for c in codes {
        let id: i64 = c.try_get("id")?;
        let url: String = c.try_get("url")?;
        let rows = sqlx::query(
            "SELECT id, at, seen, redirects, final_url, score, verdict, content_hash, \
             warc_digest, hijack FROM qr_resolutions WHERE watch_id = $1 \
             ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(id)
        .bind(max.max(1))
        .fetch_all(db.pool())
        .await?;
        let resolutions = rows
            .iter()
            .map(|r| {
                Ok(StoredResolution {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    seen: r.try_get("seen")?,
                    redirects: r
                        .try_get::<String, _>("redirects")?
                        .lines()
                        .map(str::to_string)
                        .collect(),
                    final_url: r.try_get("final_url")?,
                    score: r.try_get("score")?,
                    verdict: r.try_get("verdict")?,
                    content_hash: r.try_get("content_hash")?,
                    warc_digest: r.try_get("warc_digest")?,
                    hijack: r.try_get::<i64, _>("hijack")? != 0,
                })
            })
            .collect::<Result<Vec<_>, ReporterError>>()?;
        out.push(CaseCode {
            sources: sources(db, &url, max).await?,
            url,
            resolutions,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prior(verdict: Option<&str>, hijack_case: bool, page_in_case: bool) -> Prior {
        Prior {
            verdict: verdict.map(str::to_string),
            hijack_case,
            page_in_case,
        }
    }

    #[test]
    fn hijack_needs_a_flagged_page_now_and_a_harmless_past() {
        // Clean before, shop now: hijack.
        assert!(is_hijack(&prior(Some("clean"), false, false), Some("shop")));
        assert!(is_hijack(
            &prior(Some("clean"), false, false),
            Some("suspicious")
        ));
        // Never resolved and no case: hijack.
        assert!(is_hijack(&prior(None, false, false), Some("shop")));
        // Still clean, or nothing answered: no.
        assert!(!is_hijack(
            &prior(Some("clean"), false, false),
            Some("clean")
        ));
        assert!(!is_hijack(&prior(Some("clean"), false, false), None));
        // Already opened: no second case.
        assert!(!is_hijack(&prior(Some("shop"), true, false), Some("shop")));
        // The code always led to a shop that is a case: not a hijack.
        assert!(!is_hijack(&prior(Some("shop"), false, true), Some("shop")));
    }

    #[test]
    fn changed_compares_final_url_and_content() {
        let t = QrTarget {
            id: 1,
            url: "http://a/".into(),
            case_id: None,
            checks: 1,
            last_final_url: Some("http://a/".into()),
            last_content_hash: Some("h".into()),
            last_verdict: Some("clean".into()),
        };
        assert!(!changed(&t, Some("http://a/"), Some("h")));
        assert!(changed(&t, Some("http://b/"), Some("h")));
        assert!(changed(&t, Some("http://a/"), Some("g")));
        assert!(changed(
            &QrTarget { checks: 0, ..t },
            Some("http://a/"),
            Some("h")
        ));
    }
}
