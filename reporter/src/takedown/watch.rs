//! The watch list (`watch_targets`) and its transitions (`watch_events`).

use std::collections::BTreeSet;

use kuzet_storage::{Db, now_ms};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Current, Decision, Seen, State};
use crate::ReporterError;
use crate::cases::Status;

/// One watched URL with its baseline and current state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// Id.
    pub id: i64,
    /// The case it belongs to.
    pub case_id: i64,
    /// `web`, `onion` or `telegram`.
    pub kind: String,
    /// The URL fetched.
    pub url: String,
    /// SHA-256 hex of the page's extracted text when it was flagged.
    pub baseline_text_hash: Option<String>,
    /// Score when flagged.
    pub baseline_score: Option<f64>,
    /// Verdict when flagged.
    pub baseline_verdict: Option<String>,
    /// Indicators when flagged, as (kind, value).
    pub baseline_indicators: BTreeSet<(String, String)>,
    /// Current state.
    pub state: State,
    /// Consecutive failed checks.
    pub failures: i64,
    /// Text hash of the last check.
    pub last_text_hash: Option<String>,
    /// Why it is watched: `watched` or `reappeared`.
    pub added_reason: String,
}

impl Target {
    /// The state before the next check.
    pub fn current(&self) -> Current {
        Current {
            state: self.state,
            failures: self.failures,
            last_text_hash: self.last_text_hash.clone(),
        }
    }
}

/// Where a transition's evidence is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// WARC file, relative to the evidence directory.
    pub file: String,
    /// Offset of the first record.
    pub offset: i64,
    /// Length of the records.
    pub length: i64,
    /// `WARC-Record-ID` of the response (or metadata) record.
    pub record_id: String,
    /// Its block digest (`sha256:…`).
    pub digest: String,
}

/// One check's result as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// When (ms since the epoch).
    pub at: i64,
    /// What it saw.
    pub seen: Seen,
    /// Final HTTP status.
    pub http_status: Option<i64>,
    /// URL that answered.
    pub final_url: Option<String>,
    /// SHA-256 hex of the body as received.
    pub content_hash: Option<String>,
    /// SHA-256 hex of the extracted text.
    pub text_hash: Option<String>,
    /// Re-score.
    pub score: Option<f64>,
    /// Re-score verdict.
    pub verdict: Option<String>,
    /// Fetch error kind.
    pub error_kind: Option<String>,
    /// Why.
    pub detail: String,
    /// Evidence (transitions only).
    pub evidence: Option<Evidence>,
}

/// A stored transition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Id.
    pub id: i64,
    /// Target.
    pub target_id: i64,
    /// Case.
    pub case_id: i64,
    /// The target's URL.
    pub url: String,
    /// When.
    pub at: i64,
    /// State before.
    pub from: State,
    /// State after.
    pub to: State,
    /// HTTP status.
    pub http_status: Option<i64>,
    /// Content hash.
    pub content_hash: Option<String>,
    /// Re-score.
    pub score: Option<f64>,
    /// Consecutive failures at the transition.
    pub failures: i64,
    /// Why.
    pub detail: String,
    /// Evidence.
    pub evidence: Option<Evidence>,
}

/// SHA-256 hex of a page's extracted text, as the crawler's re-check computes it.
pub fn text_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// `telegram`, `onion` or `web`: what a watched URL is (Telegram previews start with `telegram_base`).
pub fn kind_of(url: &str, telegram_base: &str) -> &'static str {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    if !telegram_base.is_empty() && url.starts_with(telegram_base) {
        "telegram"
    } else if host.is_some_and(|h| h.trim_end_matches('.').ends_with(".onion")) {
        "onion"
    } else {
        "web"
    }
}

/// Puts every page of the cases in `statuses` (or only of `case`) on the watch list with its
/// baseline (text hash, newest verdict, indicators). Pages already watched are left alone.
/// `telegram_base` tells Telegram previews apart. Returns how many targets were added.
pub async fn sync(
    db: &Db,
    statuses: &[Status],
    case: Option<i64>,
    telegram_base: &str,
) -> Result<usize, ReporterError> {
    if !telegram_base.is_empty() {
        // Grouping adds reappeared targets knowing only the public preview base.
        sqlx::query(
            "UPDATE watch_targets SET kind = 'telegram' \
             WHERE kind <> 'telegram' AND substr(url, 1, length($1)) = $1",
        )
        .bind(telegram_base)
        .execute(db.pool())
        .await?;
    }
    if statuses.is_empty() {
        return Ok(0);
    }
    let list = statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT cp.page_id, cp.case_id FROM case_pages cp JOIN cases c ON c.id = cp.case_id \
         JOIN pages p ON p.id = cp.page_id \
         WHERE c.merged_into IS NULL AND c.status IN ({list}) AND ($1 < 0 OR c.id = $1) \
         AND NOT EXISTS (SELECT 1 FROM watch_targets w WHERE w.case_id = c.id AND w.url = p.url) \
         ORDER BY cp.page_id"
    ))
    .bind(case.unwrap_or(-1))
    .fetch_all(db.pool())
    .await?;
    let mut added = 0;
    for r in rows {
        let page: i64 = r.try_get("page_id")?;
        let case_id: i64 = r.try_get("case_id")?;
        let mut tx = db.begin_write().await?;
        added += add_page_in(&mut tx, case_id, page, "watched", telegram_base).await?;
        tx.commit().await?;
    }
    Ok(added)
}

/// Adds `page` of `case` as a target (inside a transaction); 0 when already watched.
pub(crate) async fn add_page_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    case_id: i64,
    page: i64,
    reason: &str,
    telegram_base: &str,
) -> Result<usize, ReporterError> {
    let Some(p) = sqlx::query("SELECT url, text FROM pages WHERE id = $1")
        .bind(page)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(0);
    };
    let url: String = p.try_get("url")?;
    let text: Option<String> = p.try_get("text")?;
    let verdict = sqlx::query(
        "SELECT score, verdict FROM verdicts WHERE page_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(page)
    .fetch_optional(&mut **tx)
    .await?;
    let (score, verdict): (Option<f64>, Option<String>) = match verdict {
        Some(v) => (Some(v.try_get("score")?), Some(v.try_get("verdict")?)),
        None => (None, None),
    };
    let mut inds: Vec<String> = Vec::new();
    for i in sqlx::query(
        "SELECT i.kind, i.value FROM page_indicators pi JOIN indicators i ON i.id = pi.indicator_id \
         WHERE pi.page_id = $1",
    )
    .bind(page)
    .fetch_all(&mut **tx)
    .await?
    {
        let k: String = i.try_get("kind")?;
        let v: String = i.try_get("value")?;
        inds.push(format!("{k}:{v}"));
    }
    inds.sort();
    let n = sqlx::query(
        "INSERT INTO watch_targets (case_id, page_id, kind, url, added_at, added_reason, \
         baseline_text_hash, baseline_score, baseline_verdict, baseline_indicators) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (case_id, url) DO NOTHING",
    )
    .bind(case_id)
    .bind(page)
    .bind(kind_of(&url, telegram_base))
    .bind(&url)
    .bind(now_ms())
    .bind(reason)
    .bind(text.as_deref().map(text_hash))
    .bind(score)
    .bind(verdict)
    .bind(inds.join("\n"))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n as usize)
}

/// Up to `limit` targets with id above `after` (all cases, or only `case`), in id order: callers
/// page through the watch list with bounded memory.
pub async fn batch(
    db: &Db,
    after: i64,
    limit: i64,
    case: Option<i64>,
) -> Result<Vec<Target>, ReporterError> {
    let rows = sqlx::query(
        "SELECT id, case_id, kind, url, baseline_text_hash, baseline_score, baseline_verdict, \
         baseline_indicators, state, failures, last_text_hash, added_reason FROM watch_targets \
         WHERE id > $1 AND ($2 < 0 OR case_id = $2) ORDER BY id LIMIT $3",
    )
    .bind(after)
    .bind(case.unwrap_or(-1))
    .bind(limit.max(1))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(target_from_row).collect()
}

fn target_from_row(r: &sqlx::any::AnyRow) -> Result<Target, ReporterError> {
    let inds: String = r.try_get("baseline_indicators")?;
    Ok(Target {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        kind: r.try_get("kind")?,
        url: r.try_get("url")?,
        baseline_text_hash: r.try_get("baseline_text_hash")?,
        baseline_score: r.try_get("baseline_score")?,
        baseline_verdict: r.try_get("baseline_verdict")?,
        baseline_indicators: inds
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        state: r.try_get::<String, _>("state")?.parse()?,
        failures: r.try_get("failures")?,
        last_text_hash: r.try_get("last_text_hash")?,
        added_reason: r.try_get("added_reason")?,
    })
}

/// Stores a check: the target's state and last check, and the transition (with evidence) when
/// `decision` is one. One transaction.
pub async fn record(
    db: &Db,
    target: &Target,
    check: &Check,
    decision: &Decision,
) -> Result<(), ReporterError> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE watch_targets SET state = $1, failures = $2, checks = checks + 1, \
         last_checked_at = $3, last_status = $4, last_content_hash = $5, last_text_hash = $6, \
         last_error_kind = $7, state_since = CASE WHEN $8 = 1 THEN $3 ELSE state_since END \
         WHERE id = $9",
    )
    .bind(decision.to.as_str())
    .bind(decision.failures)
    .bind(check.at)
    .bind(check.http_status)
    .bind(&check.content_hash)
    .bind(&check.text_hash)
    .bind(&check.error_kind)
    .bind(i64::from(
        decision.transition && decision.to != target.state,
    ))
    .bind(target.id)
    .execute(&mut *tx)
    .await?;
    if decision.transition {
        let ev = check.evidence.clone().unwrap_or_default();
        let has = check.evidence.is_some();
        sqlx::query(
            "INSERT INTO watch_events (target_id, case_id, at, from_state, to_state, http_status, \
             final_url, content_hash, text_hash, score, verdict, failures, detail, warc_file, \
             warc_offset, warc_length, warc_record_id, warc_digest) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(target.id)
        .bind(target.case_id)
        .bind(check.at)
        .bind(target.state.as_str())
        .bind(decision.to.as_str())
        .bind(check.http_status)
        .bind(&check.final_url)
        .bind(&check.content_hash)
        .bind(&check.text_hash)
        .bind(check.score)
        .bind(&check.verdict)
        .bind(decision.failures)
        .bind(check.detail.chars().take(2000).collect::<String>())
        .bind(has.then_some(ev.file))
        .bind(has.then_some(ev.offset))
        .bind(has.then_some(ev.length))
        .bind(has.then_some(ev.record_id))
        .bind(has.then_some(ev.digest))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The transitions of `case`'s targets, oldest first: the case page's timeline.
pub async fn timeline(db: &Db, case: i64) -> Result<Vec<Event>, ReporterError> {
    let rows = sqlx::query(
        "SELECT e.id, e.target_id, e.case_id, t.url, e.at, e.from_state, e.to_state, \
         e.http_status, e.content_hash, e.score, e.failures, e.detail, e.warc_file, e.warc_offset, \
         e.warc_length, e.warc_record_id, e.warc_digest \
         FROM watch_events e JOIN watch_targets t ON t.id = e.target_id \
         WHERE e.case_id = $1 ORDER BY e.at, e.id",
    )
    .bind(case)
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let file: Option<String> = r.try_get("warc_file")?;
        let evidence = match file {
            Some(file) => Some(Evidence {
                file,
                offset: r.try_get::<Option<i64>, _>("warc_offset")?.unwrap_or(0),
                length: r.try_get::<Option<i64>, _>("warc_length")?.unwrap_or(0),
                record_id: r
                    .try_get::<Option<String>, _>("warc_record_id")?
                    .unwrap_or_default(),
                digest: r
                    .try_get::<Option<String>, _>("warc_digest")?
                    .unwrap_or_default(),
            }),
            None => None,
        };
        out.push(Event {
            id: r.try_get("id")?,
            target_id: r.try_get("target_id")?,
            case_id: r.try_get("case_id")?,
            url: r.try_get("url")?,
            at: r.try_get("at")?,
            from: r.try_get::<String, _>("from_state")?.parse()?,
            to: r.try_get::<String, _>("to_state")?.parse()?,
            http_status: r.try_get("http_status")?,
            content_hash: r.try_get("content_hash")?,
            score: r.try_get("score")?,
            failures: r.try_get("failures")?,
            detail: r.try_get("detail")?,
            evidence,
        });
    }
    Ok(out)
}

/// Targets by state (every state listed, zero included), for `/metrics`.
pub async fn counts(db: &Db) -> Result<Vec<(State, i64)>, ReporterError> {
    let mut out: Vec<(State, i64)> = State::ALL.iter().map(|s| (*s, 0)).collect();
    for r in sqlx::query("SELECT state, COUNT(*) AS n FROM watch_targets GROUP BY state")
        .fetch_all(db.pool())
        .await?
    {
        let s: State = r.try_get::<String, _>("state")?.parse()?;
        let n: i64 = r.try_get("n")?;
        if let Some(e) = out.iter_mut().find(|(st, _)| *st == s) {
            e.1 = n;
        }
    }
    Ok(out)
}

/// Moves `absorb`'s watch targets, transitions and QR-hijack codes to `keep` when the cases are
/// merged (inside the merge's transaction). A URL both cases watch keeps `keep`'s target, which
/// takes over the absorbed target's transitions. The kept case keeps the higher priority (a
/// QR-hijack case stays first in the queue).
pub(crate) async fn follow_merge_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    keep: i64,
    absorb: i64,
) -> Result<(), ReporterError> {
    sqlx::query("UPDATE watch_events SET case_id = $1 WHERE case_id = $2")
        .bind(keep)
        .bind(absorb)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE watch_events SET target_id = (SELECT k.id FROM watch_targets k \
         JOIN watch_targets a ON a.url = k.url WHERE a.id = watch_events.target_id AND k.case_id = $1) \
         WHERE target_id IN (SELECT a.id FROM watch_targets a JOIN watch_targets k \
         ON k.url = a.url AND k.case_id = $1 WHERE a.case_id = $2)",
    )
    .bind(keep)
    .bind(absorb)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "DELETE FROM watch_targets WHERE case_id = $2 \
         AND url IN (SELECT url FROM watch_targets WHERE case_id = $1)",
    )
    .bind(keep)
    .bind(absorb)
    .execute(&mut **tx)
    .await?;
    for table in ["watch_targets", "qr_watch"] {
        sqlx::query(&format!(
            "UPDATE {table} SET case_id = $1 WHERE case_id = $2"
        ))
        .bind(keep)
        .bind(absorb)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "UPDATE cases SET priority = (SELECT MAX(c.priority) FROM cases c WHERE c.id IN ($1, $2)) \
         WHERE id = $1",
    )
    .bind(keep)
    .bind(absorb)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
