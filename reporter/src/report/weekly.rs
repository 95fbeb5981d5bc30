//! The weekly report's data: the cases confirmed in one ISO week, with their pages, indicators,
//! reviewer decisions and evidence references.
//!
//! # Which cases belong to a week
//! A case is in the report for week W when, at build time,
//! 1. its status is `confirmed` or `forwarded`, and it was not merged into another case; and
//! 2. its *confirmation time* lies in W (`[Monday 00:00, next Monday 00:00)` in the reporting
//!    time zone). The confirmation time is the time of the case's latest `reviews` row with
//!    action `confirm` (so a case re-opened and confirmed again counts in the week of the second
//!    confirmation); a case without such a row (imported, or confirmed by hand in SQL) falls back
//!    to `cases.updated_at`.
//!
//! Later changes (approval, forwarding, notes) do not move a case to another week, so a case
//! appears in exactly one weekly report. A report for a week still in progress is allowed and is
//! marked `complete: false`.

use std::collections::{BTreeMap, HashMap};

use kuzet_storage::Db;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{IsoWeek, ReportError, ReportLimits, clip};

/// Bind parameters per `IN (…)` list; well under both backends' limits.
const CHUNK: usize = 500;

/// One week's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeeklyReport {
    /// The week.
    pub week: IsoWeek,
    /// Start of the week, ms since the epoch (inclusive).
    pub period_start: i64,
    /// End of the week, ms since the epoch (exclusive).
    pub period_end: i64,
    /// The reporting time zone's offset from UTC, in minutes.
    pub utc_offset_minutes: i32,
    /// When the report was built.
    pub generated_at: i64,
    /// Whether the week had ended when the report was built.
    pub complete: bool,
    /// The cases, by confirmation time, then id.
    pub cases: Vec<CaseEntry>,
    /// Takedown figures at the end of the week (or now, for a week not over), from stored
    /// re-check transitions ([`crate::takedown::stats`]).
    pub takedown: crate::takedown::stats::Figures,
    /// Volunteers' photos and walls cleaned in the week.
    pub field: crate::volunteer::store::Figures,
}

/// One confirmed case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseEntry {
    /// `cases.id`.
    pub id: i64,
    /// `confirmed` or `forwarded`.
    pub status: String,
    /// The case's title (crawled text: hostile).
    pub title: String,
    /// The case's score in [0, 1].
    pub score: f64,
    /// Why the case was opened (`flagged`, …).
    pub reason: String,
    /// The confirmation time (see the module docs).
    pub confirmed_at: i64,
    /// Earliest fetch of any of its pages.
    pub first_seen: Option<i64>,
    /// Latest fetch of any of its pages.
    pub last_seen: Option<i64>,
    /// Its pages, by fetch time.
    pub pages: Vec<PageEntry>,
    /// Its indicators (from all its pages), by kind and value.
    pub indicators: Vec<IndicatorEntry>,
    /// Every `reviews` row of the case, oldest first.
    pub reviews: Vec<ReviewEntry>,
}

/// One page of a case and its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageEntry {
    /// `pages.id`.
    pub id: i64,
    /// The URL as discovered.
    pub url: String,
    /// The URL after redirects.
    pub final_url: String,
    /// The page title (hostile).
    pub title: Option<String>,
    /// HTTP status.
    pub status: i64,
    /// Fetch time.
    pub fetched_at: i64,
    /// SHA-256 hex of the body as received.
    pub content_hash: String,
    /// Body size in bytes.
    pub body_bytes: i64,
    /// Where the WARC record is, when the crawler kept one.
    pub warc: Option<WarcRef>,
    /// The newest classifier verdict for the page.
    pub verdict: Option<Verdict>,
}

/// A WARC record's location in the evidence store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WarcRef {
    /// The WARC file (relative paths are under the evidence directory).
    pub file: String,
    /// Byte offset of the record.
    pub offset: u64,
    /// Byte length of the record.
    pub length: u64,
    /// `WARC-Record-ID`.
    pub record_id: Option<String>,
    /// The record's digest as the crawler wrote it (e.g. `sha256:…`).
    pub digest: Option<String>,
}

/// A classifier verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// `shop`, `suspicious` or `clean`.
    pub verdict: String,
    /// Score in [0, 1].
    pub score: f64,
    /// The rule set's version.
    pub rules_version: String,
}

/// An indicator of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndicatorEntry {
    /// Kind (`telegram`, `bitcoin`, `url`, …).
    pub kind: String,
    /// Normalised value.
    pub value: String,
    /// When kuzet first saw it anywhere.
    pub first_seen: i64,
    /// The latest fetch of a page of this case that carries it.
    pub last_seen: i64,
    /// On how many of the case's pages it appears.
    pub pages: usize,
}

/// A reviewer's decision or note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewEntry {
    /// When.
    pub at: i64,
    /// The reviewer's user name; `None` for the system.
    pub reviewer: Option<String>,
    /// `confirm`, `approve_forward`, `note`, …
    pub action: String,
    /// The note or reason.
    pub note: String,
}

impl WeeklyReport {
    /// The same report with only the cases whose ids are in `ids` (for forwarding the cases a
    /// recipient has not had yet).
    pub fn subset(&self, ids: &[i64]) -> WeeklyReport {
        WeeklyReport {
            cases: self
                .cases
                .iter()
                .filter(|c| ids.contains(&c.id))
                .cloned()
                .collect(),
            ..self.clone()
        }
    }

    /// Every page of every case, with its case.
    pub fn pages(&self) -> impl Iterator<Item = (&CaseEntry, &PageEntry)> {
        self.cases
            .iter()
            .flat_map(|c| c.pages.iter().map(move |p| (c, p)))
    }
}

/// [`build_with`] in UTC with the default limits.
pub async fn build(db: &Db, week: IsoWeek, now_ms: i64) -> Result<WeeklyReport, ReportError> {
    build_with(db, week, 0, now_ms, &ReportLimits::default()).await
}

/// Reads the report for `week` (see the module docs for which cases belong to it). Runs five
/// queries in total for up to 500 cases, and four more per further 500.
pub async fn build_with(
    db: &Db,
    week: IsoWeek,
    utc_offset_minutes: i32,
    now_ms: i64,
    limits: &ReportLimits,
) -> Result<WeeklyReport, ReportError> {
    let (start, end) = week.bounds_ms(utc_offset_minutes);
    let rows = sqlx::query(
        "SELECT id, status, title, score, reason, confirmed_at FROM ( \
           SELECT c.id, c.status, c.title, c.score, c.reason, \
                  COALESCE((SELECT MAX(r.created_at) FROM reviews r \
                            WHERE r.case_id = c.id AND r.action = 'confirm'), c.updated_at) \
                    AS confirmed_at \
           FROM cases c \
           WHERE c.status IN ('confirmed', 'forwarded') AND c.merged_into IS NULL \
         ) t WHERE confirmed_at >= $1 AND confirmed_at < $2 \
         ORDER BY confirmed_at, id",
    )
    .bind(start)
    .bind(end)
    .fetch_all(db.pool())
    .await?;
    if rows.len() > limits.max_cases {
        return Err(ReportError::Limit {
            what: "the number of cases",
            got: rows.len() as u64,
            limit: limits.max_cases as u64,
        });
    }
    let mut cases = Vec::with_capacity(rows.len());
    for r in &rows {
        cases.push(CaseEntry {
            id: r.try_get("id")?,
            status: r.try_get("status")?,
            title: clip(&r.try_get::<String, _>("title")?, limits.max_title_chars),
            score: r.try_get("score")?,
            reason: r.try_get("reason")?,
            confirmed_at: r.try_get("confirmed_at")?,
            first_seen: None,
            last_seen: None,
            pages: Vec::new(),
            indicators: Vec::new(),
            reviews: Vec::new(),
        });
    }
    let index: HashMap<i64, usize> = cases.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();

    for chunk in ids.chunks(CHUNK) {
        load_pages(db, chunk, &index, &mut cases, limits).await?;
        load_indicators(db, chunk, &index, &mut cases).await?;
        load_reviews(db, chunk, &index, &mut cases, limits).await?;
    }
    for c in &mut cases {
        c.first_seen = c.pages.iter().map(|p| p.fetched_at).min();
        c.last_seen = c.pages.iter().map(|p| p.fetched_at).max();
    }
    Ok(WeeklyReport {
        week,
        period_start: start,
        period_end: end,
        utc_offset_minutes,
        generated_at: now_ms,
        complete: now_ms >= end,
        cases,
        takedown: crate::takedown::stats::figures(
            db,
            end.min(now_ms),
            start,
            limits.still_live_days,
        )
        .await?,
        field: crate::volunteer::store::figures(db, start, end).await?,
    })
}

fn in_list(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn fetch_for(db: &Db, sql: &str, ids: &[i64]) -> Result<Vec<AnyRow>, ReportError> {
    let mut q = sqlx::query(sql);
    for id in ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(db.pool()).await?)
}

async fn load_pages(
    db: &Db,
    ids: &[i64],
    index: &HashMap<i64, usize>,
    cases: &mut [CaseEntry],
    limits: &ReportLimits,
) -> Result<(), ReportError> {
    let list = in_list(1, ids.len());
    let sql = format!(
        "SELECT cp.case_id, p.id, p.url, p.final_url, p.title, p.status, p.fetched_at, \
                p.content_hash, p.body_bytes, p.warc_file, p.warc_offset, p.warc_length, \
                p.warc_record_id, p.warc_digest \
         FROM case_pages cp JOIN pages p ON p.id = cp.page_id \
         WHERE cp.case_id IN ({list}) ORDER BY cp.case_id, p.fetched_at, p.id"
    );
    let mut page_case: HashMap<i64, usize> = HashMap::new();
    for r in fetch_for(db, &sql, ids).await? {
        let case_id: i64 = r.try_get("case_id")?;
        let Some(&ci) = index.get(&case_id) else {
            continue;
        };
        let warc = match (
            r.try_get::<Option<String>, _>("warc_file")?,
            r.try_get::<Option<i64>, _>("warc_offset")?,
            r.try_get::<Option<i64>, _>("warc_length")?,
        ) {
            (Some(file), Some(offset), Some(length)) if !file.is_empty() => Some(WarcRef {
                file,
                offset: u64::try_from(offset).unwrap_or(0),
                length: u64::try_from(length).unwrap_or(0),
                record_id: r.try_get("warc_record_id")?,
                digest: r.try_get("warc_digest")?,
            }),
            _ => None,
        };
        let id: i64 = r.try_get("id")?;
        page_case.insert(id, ci);
        cases[ci].pages.push(PageEntry {
            id,
            url: r.try_get("url")?,
            final_url: r.try_get("final_url")?,
            title: r
                .try_get::<Option<String>, _>("title")?
                .map(|t| clip(&t, limits.max_title_chars)),
            status: r.try_get("status")?,
            fetched_at: r.try_get("fetched_at")?,
            content_hash: r.try_get("content_hash")?,
            body_bytes: r.try_get("body_bytes")?,
            warc,
            verdict: None,
        });
    }
    // The newest verdict per page (ties broken by id).
    let sql = format!(
        "SELECT v.page_id, v.score, v.verdict, v.rules_version \
         FROM verdicts v JOIN case_pages cp ON cp.page_id = v.page_id \
         WHERE cp.case_id IN ({list}) ORDER BY v.page_id, v.created_at, v.id"
    );
    let mut newest: HashMap<i64, Verdict> = HashMap::new();
    for r in fetch_for(db, &sql, ids).await? {
        newest.insert(
            r.try_get("page_id")?,
            Verdict {
                verdict: r.try_get("verdict")?,
                score: r.try_get("score")?,
                rules_version: r.try_get("rules_version")?,
            },
        );
    }
    for (page, v) in newest {
        if let Some(&ci) = page_case.get(&page)
            && let Some(p) = cases[ci].pages.iter_mut().find(|p| p.id == page)
        {
            p.verdict = Some(v);
        }
    }
    Ok(())
}

async fn load_indicators(
    db: &Db,
    ids: &[i64],
    index: &HashMap<i64, usize>,
    cases: &mut [CaseEntry],
) -> Result<(), ReportError> {
    let sql = format!(
        "SELECT cp.case_id, i.kind, i.value, i.first_seen_at, p.fetched_at \
         FROM case_pages cp \
         JOIN page_indicators pi ON pi.page_id = cp.page_id \
         JOIN indicators i ON i.id = pi.indicator_id \
         JOIN pages p ON p.id = cp.page_id \
         WHERE cp.case_id IN ({})",
        in_list(1, ids.len())
    );
    let mut acc: HashMap<usize, BTreeMap<(String, String), IndicatorEntry>> = HashMap::new();
    for r in fetch_for(db, &sql, ids).await? {
        let case_id: i64 = r.try_get("case_id")?;
        let Some(&ci) = index.get(&case_id) else {
            continue;
        };
        let kind: String = r.try_get("kind")?;
        let value: String = r.try_get("value")?;
        let first_seen: i64 = r.try_get("first_seen_at")?;
        let fetched: i64 = r.try_get("fetched_at")?;
        let e = acc
            .entry(ci)
            .or_default()
            .entry((kind.clone(), value.clone()))
            .or_insert(IndicatorEntry {
                kind,
                value,
                first_seen,
                last_seen: fetched,
                pages: 0,
            });
        e.pages += 1;
        e.last_seen = e.last_seen.max(fetched);
    }
    for (ci, m) in acc {
        cases[ci].indicators = m.into_values().collect();
    }
    Ok(())
}

async fn load_reviews(
    db: &Db,
    ids: &[i64],
    index: &HashMap<i64, usize>,
    cases: &mut [CaseEntry],
    limits: &ReportLimits,
) -> Result<(), ReportError> {
    let sql = format!(
        "SELECT r.case_id, r.action, r.note, r.created_at, u.name \
         FROM reviews r LEFT JOIN users u ON u.id = r.user_id \
         WHERE r.case_id IN ({}) ORDER BY r.case_id, r.created_at, r.id",
        in_list(1, ids.len())
    );
    for r in fetch_for(db, &sql, ids).await? {
        let case_id: i64 = r.try_get("case_id")?;
        let Some(&ci) = index.get(&case_id) else {
            continue;
        };
        cases[ci].reviews.push(ReviewEntry {
            at: r.try_get("created_at")?,
            reviewer: r.try_get("name")?,
            action: r.try_get("action")?,
            note: clip(&r.try_get::<String, _>("note")?, limits.max_note_chars),
        });
    }
    Ok(())
}
