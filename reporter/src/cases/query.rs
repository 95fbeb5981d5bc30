//! Reading cases: the queue and the full case view.

use std::cmp::Ordering;
use std::collections::HashMap;

use kuzet_storage::{Backend, Db};
use serde::Serialize;
use sqlx::Row;

use super::highlight::{self, Segment};
use super::{IndicatorRef, Status};
use crate::ReporterError;

/// Queue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Highest score first, then oldest.
    #[default]
    Score,
    /// Oldest first (longest waiting).
    Oldest,
    /// Newest first.
    Newest,
}

impl Sort {
    /// Parses `score`, `oldest`, `newest`; anything else is the default.
    pub fn parse(s: &str) -> Sort {
        match s {
            "oldest" | "age" => Sort::Oldest,
            "newest" => Sort::Newest,
            _ => Sort::Score,
        }
    }
    /// The name used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Score => "score",
            Sort::Oldest => "oldest",
            Sort::Newest => "newest",
        }
    }
}

/// Which cases, in which order. Merged cases are never listed.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Only these statuses (empty: all).
    pub statuses: Vec<Status>,
    /// Only cases with a page from a source of this kind (`web`, `telegram`, `onion`, `photos`).
    pub source: Option<String>,
    /// Only cases with an indicator whose value contains this text (case-insensitive for ASCII).
    pub indicator: Option<String>,
    /// Order.
    pub sort: Sort,
    /// Most cases returned (callers cap it; see `web::Limits::max_queue_page`).
    pub limit: i64,
    /// Cases skipped.
    pub offset: i64,
}

/// One line of the queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseSummary {
    /// Case id.
    pub id: i64,
    /// Status.
    pub status: Status,
    /// Best score among its pages.
    pub score: f64,
    /// Title (from the best page).
    pub title: String,
    /// Created, ms since the epoch.
    pub created_at: i64,
    /// Last change, ms since the epoch.
    pub updated_at: i64,
    /// Assigned analyst's name.
    pub assigned_to: Option<String>,
    /// Why it was opened: `flagged`, `reappeared`, `qr_hijack`.
    pub reason: String,
    /// Queue priority: higher comes first in the default order (QR-hijack cases are 1).
    pub priority: i64,
    /// Page URLs, sorted.
    pub urls: Vec<String>,
    /// Distinct indicators, sorted.
    pub indicators: Vec<IndicatorRef>,
}

/// How the queue's rows travel from the database to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fetch {
    /// One JSON row per query on SQLite, plain rows on PostgreSQL.
    #[default]
    Auto,
    /// Plain rows on every backend (what PostgreSQL always uses; kept for the benchmark and the
    /// equivalence tests).
    Rows,
}

/// Lists cases for the queue, the CLI and the API.
pub async fn list(db: &Db, f: &QueueFilter) -> Result<Vec<CaseSummary>, ReporterError> {
    list_with(db, f, Fetch::Auto).await
}

/// [`list`] with the row transport chosen by the caller.
pub async fn list_with(
    db: &Db,
    f: &QueueFilter,
    fetch: Fetch,
) -> Result<Vec<CaseSummary>, ReporterError> {
    let json = fetch == Fetch::Auto && db.backend() == Backend::Sqlite;
    let mut sql = String::from(
        "SELECT c.id, c.status, c.score, c.title, c.created_at, c.updated_at, u.name AS assignee, \
         c.reason, c.priority \
         FROM cases c LEFT JOIN users u ON u.id = c.assigned_to WHERE c.merged_into IS NULL",
    );
    let mut binds: Vec<String> = Vec::new();
    if !f.statuses.is_empty() {
        let list: Vec<String> = f
            .statuses
            .iter()
            .map(|s| {
                binds.push(s.as_str().to_string());
                format!("${}", binds.len())
            })
            .collect();
        sql.push_str(&format!(" AND c.status IN ({})", list.join(", ")));
    }
    if let Some(src) = f.source.as_deref().filter(|s| !s.is_empty()) {
        binds.push(src.to_string());
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM case_pages cp JOIN pages p ON p.id = cp.page_id \
             JOIN sources s ON s.id = p.source_id WHERE cp.case_id = c.id AND s.kind = ${})",
            binds.len()
        ));
    }
    if let Some(ind) = f.indicator.as_deref().filter(|s| !s.is_empty()) {
        let escaped = ind
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        binds.push(format!("%{escaped}%"));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM case_pages cp JOIN page_indicators pi ON pi.page_id = cp.page_id \
             JOIN indicators i ON i.id = pi.indicator_id \
             WHERE cp.case_id = c.id AND LOWER(i.value) LIKE ${} ESCAPE '\\')",
            binds.len()
        ));
    }
    sql.push_str(match f.sort {
        Sort::Score => " ORDER BY c.priority DESC, c.score DESC, c.created_at ASC, c.id ASC",
        Sort::Oldest => " ORDER BY c.created_at ASC, c.id ASC",
        Sort::Newest => " ORDER BY c.created_at DESC, c.id DESC",
    });
    sql.push_str(&format!(
        " LIMIT {} OFFSET {}",
        f.limit.max(0),
        f.offset.max(0)
    ));
    let mut out = if json {
        summaries_sqlite(db, &sql, &binds, f.sort).await?
    } else {
        summaries_rows(db, &sql, &binds).await?
    };
    fill_urls_and_indicators(db, &mut out, json).await?;
    Ok(out)
}

/// A case row's columns in query order.
type Row8 = (
    i64,
    String,
    f64,
    String,
    i64,
    i64,
    Option<String>,
    (String, i64),
);

fn summary(row: Row8) -> Result<CaseSummary, ReporterError> {
    let (id, status, score, title, created_at, updated_at, assigned_to, (reason, priority)) = row;
    Ok(CaseSummary {
        id,
        status: status.parse()?,
        score,
        title,
        created_at,
        updated_at,
        assigned_to,
        reason,
        priority,
        urls: Vec::new(),
        indicators: Vec::new(),
    })
}

/// The case rows one database row each (PostgreSQL streams rows cheaply).
async fn summaries_rows(
    db: &Db,
    sql: &str,
    binds: &[String],
) -> Result<Vec<CaseSummary>, ReporterError> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(b);
    }
    let rows = q.fetch_all(db.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(summary((
            r.try_get("id")?,
            r.try_get("status")?,
            r.try_get("score")?,
            r.try_get("title")?,
            r.try_get("created_at")?,
            r.try_get("updated_at")?,
            r.try_get("assignee")?,
            (r.try_get("reason")?, r.try_get("priority")?),
        ))?);
    }
    Ok(out)
}

/// On SQLite, sqlx hands every result row from its worker thread to the async caller through a
/// channel, and that hand-off, not SQLite, dominated a 10,000-case queue (one wake-up per row
/// on a busy machine). So the rows come back as ONE row holding a JSON array, built by SQLite's
/// `json_group_array`. Scores travel as `printf('%!.17g')` text, which round-trips an `f64`
/// exactly (SQLite's JSON writes only 15 digits). The order is re-established here with the same
/// keys as the `ORDER BY`, as SQLite does not promise an aggregate's input order.
async fn summaries_sqlite(
    db: &Db,
    sql: &str,
    binds: &[String],
    sort: Sort,
) -> Result<Vec<CaseSummary>, ReporterError> {
    let wrapped = format!(
        "SELECT json_group_array(json_array(q.id, q.status, printf('%!.17g', q.score), q.title, \
         q.created_at, q.updated_at, q.assignee, q.reason, q.priority)) AS j FROM ({sql}) q"
    );
    let mut q = sqlx::query(&wrapped);
    for b in binds {
        q = q.bind(b);
    }
    let text: String = q.fetch_one(db.pool()).await?.try_get("j")?;
    type Line = (
        i64,
        String,
        String,
        String,
        i64,
        i64,
        Option<String>,
        String,
        i64,
    );
    let lines: Vec<Line> = serde_json::from_str(&text)
        .map_err(|e| ReporterError::Invalid(format!("queue rows from SQLite: {e}")))?;
    let mut out = Vec::with_capacity(lines.len());
    for (id, status, score, title, created_at, updated_at, assignee, reason, priority) in lines {
        let score: f64 = score
            .parse()
            .map_err(|_| ReporterError::Invalid(format!("case {id}: score {score:?}")))?;
        out.push(summary((
            id,
            status,
            score,
            title,
            created_at,
            updated_at,
            assignee,
            (reason, priority),
        ))?);
    }
    out.sort_by(|a, b| match sort {
        Sort::Score => b
            .priority
            .cmp(&a.priority)
            .then(b.score.partial_cmp(&a.score).unwrap_or(Ordering::Equal))
            .then(a.created_at.cmp(&b.created_at))
            .then(a.id.cmp(&b.id)),
        Sort::Oldest => a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)),
        Sort::Newest => b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)),
    });
    Ok(out)
}

/// Ids per query in `IN (…)` lists.
const CHUNK: usize = 1000;

async fn fill_urls_and_indicators(
    db: &Db,
    cases: &mut [CaseSummary],
    json: bool,
) -> Result<(), ReporterError> {
    let pos: HashMap<i64, usize> = cases.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
    for chunk in ids.chunks(CHUNK) {
        let list = chunk
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let urls_sql = format!(
            "SELECT cp.case_id, p.url FROM case_pages cp JOIN pages p ON p.id = cp.page_id \
             WHERE cp.case_id IN ({list}) ORDER BY p.url"
        );
        let inds_sql = format!(
            "SELECT DISTINCT cp.case_id, i.kind, i.value FROM case_pages cp \
             JOIN page_indicators pi ON pi.page_id = cp.page_id \
             JOIN indicators i ON i.id = pi.indicator_id \
             WHERE cp.case_id IN ({list}) ORDER BY i.kind, i.value"
        );
        if json {
            // One JSON row per query (see `summaries_sqlite`); SQLite's default BINARY collation
            // orders like Rust's `str`, so sorting here gives the `ORDER BY` order.
            let urls: Vec<(i64, String)> = json_rows(
                db,
                &format!(
                    "SELECT json_group_array(json_array(case_id, url)) AS j FROM ({urls_sql})"
                ),
            )
            .await?;
            for (c, url) in urls {
                if let Some(&i) = pos.get(&c) {
                    cases[i].urls.push(url);
                }
            }
            let inds: Vec<(i64, String, String)> = json_rows(
                db,
                &format!(
                    "SELECT json_group_array(json_array(case_id, kind, value)) AS j FROM ({inds_sql})"
                ),
            )
            .await?;
            for (c, kind, value) in inds {
                if let Some(&i) = pos.get(&c) {
                    cases[i].indicators.push(IndicatorRef { kind, value });
                }
            }
            for &c in chunk {
                if let Some(&i) = pos.get(&c) {
                    cases[i].urls.sort_unstable();
                    cases[i].indicators.sort_unstable();
                    cases[i].indicators.dedup();
                }
            }
            continue;
        }
        let urls = sqlx::query(&urls_sql).fetch_all(db.pool()).await?;
        for r in &urls {
            let c: i64 = r.try_get("case_id")?;
            if let Some(&i) = pos.get(&c) {
                cases[i].urls.push(r.try_get("url")?);
            }
        }
        let inds = sqlx::query(&inds_sql).fetch_all(db.pool()).await?;
        for r in &inds {
            let c: i64 = r.try_get("case_id")?;
            if let Some(&i) = pos.get(&c) {
                cases[i].indicators.push(IndicatorRef {
                    kind: r.try_get("kind")?,
                    value: r.try_get("value")?,
                });
            }
        }
    }
    Ok(())
}

/// Runs a query answering one column `j` with a JSON array, and decodes it.
async fn json_rows<T: serde::de::DeserializeOwned>(
    db: &Db,
    sql: &str,
) -> Result<Vec<T>, ReporterError> {
    let text: String = sqlx::query(sql).fetch_one(db.pool()).await?.try_get("j")?;
    serde_json::from_str(&text).map_err(|e| ReporterError::Invalid(format!("JSON rows: {e}")))
}

/// A page of a case with its evidence.
#[derive(Debug, Clone, Serialize)]
pub struct CasePage {
    /// Page id.
    pub id: i64,
    /// URL as discovered.
    pub url: String,
    /// URL after redirects.
    pub final_url: String,
    /// Title.
    pub title: String,
    /// Source kind, when known.
    pub source: Option<String>,
    /// Fetch time, ms.
    pub fetched_at: i64,
    /// SHA-256 of the body as received.
    pub content_hash: String,
    /// WARC record digest, when the crawler stored one.
    pub warc_digest: Option<String>,
    /// True when a WARC record can be downloaded.
    pub has_warc: bool,
    /// Newest verdict: score.
    pub score: f64,
    /// Newest verdict: label.
    pub verdict: String,
    /// Rules that fired, from the newest verdict.
    pub reasons: Vec<highlight::Reason>,
    /// The extracted text cut into plain and highlighted segments (to be escaped when shown).
    pub segments: Vec<Segment>,
    /// True when the text was longer than the display limit and cut.
    pub text_truncated: bool,
    /// Indicators of this page.
    pub indicators: Vec<IndicatorRef>,
    /// Images of this page (and their QR codes).
    pub images: Vec<CaseImage>,
}

/// An image with the QR codes decoded from it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseImage {
    /// Image id (served re-encoded at `/images/{id}`).
    pub id: i64,
    /// Where it came from.
    pub url: Option<String>,
    /// SHA-256 of the image bytes.
    pub content_hash: String,
    /// Decoded QR payloads.
    pub qr: Vec<String>,
}

/// One history line.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// When, ms.
    pub at: i64,
    /// Who (`system` when nobody).
    pub user: String,
    /// What.
    pub action: String,
    /// Note or reason.
    pub note: String,
}

/// Everything the case page shows.
#[derive(Debug, Clone, Serialize)]
pub struct CaseDetail {
    /// The queue line.
    pub summary: CaseSummary,
    /// Set when this case was merged into another one.
    pub merged_into: Option<i64>,
    /// Pages, best score first.
    pub pages: Vec<CasePage>,
    /// History, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Who confirmed last (four-eyes), by name.
    pub confirmed_by: Option<String>,
    /// An approval for forwarding exists.
    pub forward_approved: bool,
}

/// Loads one case with its pages, evidence and history. `max_text` caps the text shown per page
/// (in bytes, cut at a character boundary).
pub async fn get(db: &Db, id: i64, max_text: usize) -> Result<CaseDetail, ReporterError> {
    let r = sqlx::query(
        "SELECT c.id, c.status, c.score, c.title, c.created_at, c.updated_at, c.merged_into, \
         c.reason, c.priority, u.name AS assignee \
         FROM cases c LEFT JOIN users u ON u.id = c.assigned_to WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(ReporterError::NotFound { what: "case", id })?;
    let mut summary = vec![CaseSummary {
        id,
        status: r.try_get::<String, _>("status")?.parse()?,
        score: r.try_get("score")?,
        title: r.try_get("title")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        assigned_to: r.try_get("assignee")?,
        reason: r.try_get("reason")?,
        priority: r.try_get("priority")?,
        urls: Vec::new(),
        indicators: Vec::new(),
    }];
    let merged_into: Option<i64> = r.try_get("merged_into")?;
    fill_urls_and_indicators(db, &mut summary, db.backend() == Backend::Sqlite).await?;
    let summary = summary.remove(0);

    let rows = sqlx::query(
        "SELECT p.id, p.url, p.final_url, p.title, p.text, p.fetched_at, p.content_hash, \
         p.warc_digest, p.warc_file, s.kind AS source, v.score, v.verdict, v.reasons_json \
         FROM case_pages cp JOIN pages p ON p.id = cp.page_id \
         LEFT JOIN sources s ON s.id = p.source_id \
         LEFT JOIN verdicts v ON v.page_id = p.id \
           AND v.id = (SELECT MAX(v2.id) FROM verdicts v2 WHERE v2.page_id = p.id) \
         WHERE cp.case_id = $1 ORDER BY v.score DESC, p.id ASC",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let mut pages = Vec::with_capacity(rows.len());
    for r in &rows {
        let pid: i64 = r.try_get("id")?;
        let text: String = r.try_get::<Option<String>, _>("text")?.unwrap_or_default();
        let reasons = highlight::parse_reasons(
            &r.try_get::<Option<String>, _>("reasons_json")?
                .unwrap_or_default(),
        );
        let (shown, truncated) = highlight::truncate(&text, max_text);
        let segments = highlight::segments(shown, &reasons);
        let indicators = sqlx::query(
            "SELECT i.kind, i.value FROM page_indicators pi JOIN indicators i ON i.id = pi.indicator_id \
             WHERE pi.page_id = $1 ORDER BY i.kind, i.value",
        )
        .bind(pid)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(IndicatorRef {
                kind: r.try_get("kind")?,
                value: r.try_get("value")?,
            })
        })
        .collect::<Result<Vec<_>, ReporterError>>()?;
        let mut images = Vec::new();
        for ir in
            sqlx::query("SELECT id, url, content_hash FROM images WHERE page_id = $1 ORDER BY id")
                .bind(pid)
                .fetch_all(db.pool())
                .await?
        {
            let iid: i64 = ir.try_get("id")?;
            let qr: Vec<String> =
                sqlx::query_scalar("SELECT text FROM qr_codes WHERE image_id = $1 ORDER BY id")
                    .bind(iid)
                    .fetch_all(db.pool())
                    .await?;
            images.push(CaseImage {
                id: iid,
                url: ir.try_get("url")?,
                content_hash: ir.try_get("content_hash")?,
                qr,
            });
        }
        pages.push(CasePage {
            id: pid,
            url: r.try_get("url")?,
            final_url: r.try_get("final_url")?,
            title: r.try_get::<Option<String>, _>("title")?.unwrap_or_default(),
            source: r.try_get("source")?,
            fetched_at: r.try_get("fetched_at")?,
            content_hash: r.try_get("content_hash")?,
            warc_digest: r.try_get("warc_digest")?,
            has_warc: r.try_get::<Option<String>, _>("warc_file")?.is_some(),
            score: r.try_get::<Option<f64>, _>("score")?.unwrap_or(0.0),
            verdict: r
                .try_get::<Option<String>, _>("verdict")?
                .unwrap_or_default(),
            reasons,
            segments,
            text_truncated: truncated,
            indicators,
            images,
        });
    }
    let history = sqlx::query(
        "SELECT r.created_at, r.action, r.note, u.name FROM reviews r \
         LEFT JOIN users u ON u.id = r.user_id WHERE r.case_id = $1 ORDER BY r.id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(HistoryEntry {
            at: r.try_get("created_at")?,
            user: r
                .try_get::<Option<String>, _>("name")?
                .unwrap_or_else(|| "system".into()),
            action: r.try_get("action")?,
            note: r.try_get("note")?,
        })
    })
    .collect::<Result<Vec<_>, ReporterError>>()?;
    let confirmed_by = history
        .iter()
        .rev()
        .find(|h| h.action == "confirm")
        .map(|h| h.user.clone());
    let forward_approved = super::workflow::forward_approved(db, id).await?;
    Ok(CaseDetail {
        summary,
        merged_into,
        pages,
        history,
        confirmed_by,
        forward_approved,
    })
}
