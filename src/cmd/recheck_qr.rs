//! The QR watch part of `kuzet cases recheck`: every http(s) QR payload re-resolved with the
//! re-check's `Rechecker`, each resolution stored, a QR-hijack case opened when
//! `kuzet_reporter::takedown::qr::is_hijack` says so. Wiring only.

use std::sync::Arc;

use anyhow::Context as _;
use futures_util::StreamExt;
use kuzet_crawler::recheck::{Baseline, Rechecker, TargetKind};
use kuzet_reporter::takedown::qr::{self, QrSource, QrTarget, Resolution};
use kuzet_reporter::takedown::watch;
use kuzet_storage::Db;
use serde::Serialize;
use tokio::sync::watch as signal;

use super::recheck::{BATCH, Found, RecheckSummary, write_evidence};

/// One QR-hijack case opened, printed by the command.
#[derive(Debug, Clone, Serialize)]
pub struct HijackLine {
    pub case: i64,
    pub qr: String,
    pub redirects: Vec<String>,
    pub final_url: Option<String>,
    pub verdict: Option<String>,
    pub score: Option<f64>,
    pub seen_on: Vec<String>,
    pub warc_digest: Option<String>,
}

/// Re-resolves every watched QR payload (see `kuzet_reporter::takedown::qr`), in batches.
pub(super) async fn qr_watch(
    db: &Db,
    tk: &crate::config::TakedownConfig,
    rechecker: &Arc<Rechecker>,
    concurrency: usize,
    shutdown: signal::Receiver<bool>,
    summary: &mut RecheckSummary,
    on_found: &impl Fn(Found<'_>),
) -> anyhow::Result<()> {
    summary.qr_added = qr::sync(db, tk.qr_max_url_chars)
        .await
        .context("cannot update the QR watch list")?;
    let mut after = 0;
    loop {
        if *shutdown.borrow() {
            summary.interrupted = true;
            break;
        }
        let targets = qr::batch(db, after, BATCH).await?;
        let Some(last) = targets.last() else { break };
        after = last.id;
        let mut results = futures_util::stream::iter(targets)
            .map(|t| {
                let shutdown = shutdown.clone();
                async move {
                    if *shutdown.borrow() {
                        return Ok(None);
                    }
                    resolve_one(db, rechecker, &t).await.map(Some)
                }
            })
            .buffer_unordered(concurrency);
        while let Some(r) = results.next().await {
            let Some(hijack) = r? else {
                summary.interrupted = true;
                continue;
            };
            summary.qr_checked += 1;
            if let Some(h) = hijack {
                summary.qr_hijacks += 1;
                on_found(Found::Hijack(&h));
            }
        }
    }
    Ok(())
}

/// Most sources named on a hijack line.
const MAX_SEEN_ON: i64 = 20;

/// One QR payload resolved, stored, and its QR-hijack case opened when the rule says so.
async fn resolve_one(
    db: &Db,
    rechecker: &Arc<Rechecker>,
    t: &QrTarget,
) -> anyhow::Result<Option<HijackLine>> {
    let kind = if watch::kind_of(&t.url, "") == "onion" {
        TargetKind::Onion
    } else {
        TargetKind::Web
    };
    // No baseline: every answer is scored.
    let obs = rechecker.observe(&t.url, kind, &Baseline::default()).await;
    let key = kuzet_crawler::url::parse_canonical(&t.url)
        .ok()
        .map(|u| kuzet_crawler::url::url_key(&u));
    let prior = qr::prior(db, t, key.as_deref()).await?;
    let hijack = qr::is_hijack(&prior, obs.verdict.as_deref());
    let (obs, evidence) =
        if hijack || qr::changed(t, obs.final_url.as_deref(), obs.content_hash.as_deref()) {
            let state = if hijack { "qr_hijack" } else { "qr_resolved" };
            write_evidence(rechecker, obs, state).await?
        } else {
            (obs, None)
        };
    let res = Resolution {
        at: obs.at,
        seen: obs.seen.as_str().to_string(),
        http_status: obs.http_status.map(i64::from),
        redirects: obs.redirects.clone(),
        final_url: obs.final_url.clone(),
        content_hash: obs.content_hash.clone(),
        score: obs.score,
        verdict: obs.verdict.clone(),
        detail: obs.detail.clone(),
        evidence,
    };
    let case = qr::record(db, t, &res, &prior, hijack)
        .await
        .with_context(|| format!("cannot store the resolution of QR payload {}", t.url))?;
    tracing::debug!(qr = t.id, url = %t.url, verdict = ?res.verdict, hijack, "QR resolved");
    let Some(case) = case else { return Ok(None) };
    let seen_on = qr::sources(db, &t.url, MAX_SEEN_ON)
        .await?
        .iter()
        .map(QrSource::describe)
        .collect();
    Ok(Some(HijackLine {
        case,
        qr: t.url.clone(),
        redirects: res.redirects,
        final_url: res.final_url,
        verdict: res.verdict,
        score: res.score,
        seen_on,
        warc_digest: res.evidence.map(|e| e.digest),
    }))
}
