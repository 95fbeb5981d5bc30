//! Forwarding a weekly report to the police partners through the configured channels:
//! - **outbox**: a folder; each delivery lands as a package folder of its own
//!   (`kuzet-<week>-<time>-r<report>/`, staged and renamed, so a watcher never sees half of one);
//! - **smtp**: one mail per partner address, with the report files, the WARC records (when they
//!   fit the attachment limit) and a `MANIFEST.sha256` over the attachments as sent.
//!
//! # Once per channel and recipient
//! A case goes to each recipient once. Before sending, kuzet claims each (case, channel,
//! recipient) with a `report_deliveries` row in state `sending` (the table's UNIQUE constraint
//! makes the claim atomic, also between two kuzet processes); after the attempt the row becomes
//! `sent` or `failed`. A later run sends the cases without a `sent` row — failed ones and ones
//! whose `sending` claim is older than [`ForwardOptions::stale_claim_ms`] (a crash mid-send) —
//! and only those: what a recipient gets is the report restricted to its new cases. Every
//! attempt is written to the audit log with the cases, the recipient and the outcome.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kuzet_storage::Db;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::evidence::{EVIDENCE_DIR, MANIFEST};
use super::package::RenderedFile;
use super::weekly::WeeklyReport;
use super::{ReportError, ReportLimits, package, path_text};
use crate::audit;

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain text: only for a relay on the same machine (and tests).
    None,
    /// Connect in plain text, then require STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// One SMTP server and the partner addresses reached through it.
#[derive(Clone)]
pub struct SmtpChannel {
    /// Server host name (also the name its TLS certificate must have).
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Transport security.
    pub security: Security,
    /// The sender, `Name <addr>` or `addr`.
    pub from: String,
    /// Partner addresses; each gets its own mail.
    pub to: Vec<String>,
    /// Login, when the server wants one.
    pub username: Option<String>,
    /// Password for `username`; never printed.
    pub password: Option<String>,
    /// Connection and command time-out.
    pub timeout: Duration,
}

impl fmt::Debug for SmtpChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpChannel")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("from", &self.from)
            .field("to", &self.to)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The configured channels.
#[derive(Debug, Clone, Default)]
pub struct Channels {
    /// The outbox folder, if any.
    pub outbox_dir: Option<PathBuf>,
    /// The SMTP server and partner addresses, if any.
    pub smtp: Option<SmtpChannel>,
}

impl Channels {
    /// True when no channel is configured.
    pub fn is_empty(&self) -> bool {
        self.outbox_dir.is_none() && self.smtp.as_ref().is_none_or(|s| s.to.is_empty())
    }
}

/// What [`forward`] needs besides the report.
#[derive(Debug, Clone)]
pub struct ForwardOptions {
    /// Where to send.
    pub channels: Channels,
    /// Relative `pages.warc_file` paths are resolved against this directory.
    pub evidence_dir: PathBuf,
    /// Who is forwarding, for the audit log.
    pub actor: String,
    /// Limits (attachment size, evidence size).
    pub limits: ReportLimits,
    /// A `sending` claim older than this (ms) is taken to be from a crashed run and is retried
    /// (default 15 minutes).
    pub stale_claim_ms: i64,
}

/// The outcome for one channel and recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// `outbox` or `smtp`.
    pub channel: String,
    /// The outbox folder or the partner address.
    pub recipient: String,
    /// The cases sent (or attempted) this time.
    pub cases: Vec<i64>,
    /// `sent`, `failed`, or `nothing_new` (every case already went to this recipient).
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
    /// The outbox package folder, for the outbox.
    pub path: Option<String>,
}

/// Claims the report's cases for one channel and recipient; returns the ones claimed.
async fn claim(
    db: &Db,
    report_id: i64,
    cases: &[i64],
    channel: &str,
    recipient: &str,
    now_ms: i64,
    stale_before: i64,
) -> Result<Vec<i64>, ReportError> {
    let mut claimed = Vec::new();
    let mut tx = db.begin_write().await?;
    for &case in cases {
        let done = sqlx::query(
            "INSERT INTO report_deliveries (report_id, case_id, channel, recipient, sent_at, status) \
             VALUES ($1, $2, $3, $4, $5, 'sending') \
             ON CONFLICT (case_id, channel, recipient) DO UPDATE \
               SET report_id = excluded.report_id, sent_at = excluded.sent_at, status = 'sending' \
               WHERE report_deliveries.status = 'failed' \
                  OR (report_deliveries.status = 'sending' AND report_deliveries.sent_at < $6)",
        )
        .bind(report_id)
        .bind(case)
        .bind(channel)
        .bind(recipient)
        .bind(now_ms)
        .bind(stale_before)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            claimed.push(case);
        }
    }
    tx.commit().await?;
    Ok(claimed)
}

/// Records the outcome of one delivery and its audit entry.
async fn settle(
    db: &Db,
    report_id: i64,
    actor: &str,
    d: &Delivery,
    now_ms: i64,
) -> Result<(), ReportError> {
    let mut tx = db.begin_write().await?;
    for &case in &d.cases {
        sqlx::query(
            "UPDATE report_deliveries SET status = $1, sent_at = $2, report_id = $3 \
             WHERE case_id = $4 AND channel = $5 AND recipient = $6",
        )
        .bind(&d.status)
        .bind(now_ms)
        .bind(report_id)
        .bind(case)
        .bind(&d.channel)
        .bind(&d.recipient)
        .execute(&mut *tx)
        .await?;
    }
    audit::record_in(
        &mut tx,
        actor,
        "report.forward",
        &format!("report:{report_id}"),
        &serde_json::json!({
            "channel": d.channel,
            "recipient": d.recipient,
            "cases": d.cases,
            "status": d.status,
            "error": d.error,
            "path": d.path,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sends the cases of `report` (recorded as `reports.id = report_id`) that each configured
/// recipient has not had yet. Per-recipient failures are reported in the result (and retried
/// by the next run), never abort the other recipients.
pub async fn forward(
    db: &Db,
    report_id: i64,
    report: &WeeklyReport,
    opts: &ForwardOptions,
    now_ms: i64,
) -> Result<Vec<Delivery>, ReportError> {
    let ids: Vec<i64> = report.cases.iter().map(|c| c.id).collect();
    let stale_before = now_ms.saturating_sub(opts.stale_claim_ms);
    let mut out = Vec::new();
    let mut targets: Vec<(&str, String)> = Vec::new();
    if let Some(dir) = &opts.channels.outbox_dir {
        targets.push(("outbox", path_text(dir)));
    }
    if let Some(smtp) = &opts.channels.smtp {
        for to in &smtp.to {
            targets.push(("smtp", to.trim().to_lowercase()));
        }
    }
    for (channel, recipient) in targets {
        let cases = claim(
            db,
            report_id,
            &ids,
            channel,
            &recipient,
            now_ms,
            stale_before,
        )
        .await?;
        if cases.is_empty() {
            out.push(Delivery {
                channel: channel.into(),
                recipient,
                cases,
                status: "nothing_new".into(),
                error: None,
                path: None,
            });
            continue;
        }
        let sub = report.subset(&cases);
        let result = match (channel, &opts.channels.outbox_dir, &opts.channels.smtp) {
            ("outbox", Some(dir), _) => to_outbox(&sub, report_id, dir, opts).await.map(Some),
            (_, _, Some(smtp)) => to_smtp(&sub, smtp, &recipient, opts).await.map(|()| None),
            _ => Err(ReportError::Task("channel vanished".into())),
        };
        let d = match result {
            Ok(path) => Delivery {
                channel: channel.into(),
                recipient,
                cases,
                status: "sent".into(),
                error: None,
                path,
            },
            Err(e) => {
                tracing::warn!(channel, recipient = %recipient, error = %e, "forwarding failed");
                Delivery {
                    channel: channel.into(),
                    recipient,
                    cases,
                    status: "failed".into(),
                    error: Some(e.to_string()),
                    path: None,
                }
            }
        };
        settle(
            db,
            report_id,
            &opts.actor,
            &d,
            kuzet_storage::now_ms().max(now_ms),
        )
        .await?;
        out.push(d);
    }
    Ok(out)
}

async fn write_package(
    sub: &WeeklyReport,
    dir: PathBuf,
    opts: &ForwardOptions,
) -> Result<package::Package, ReportError> {
    let sub = sub.clone();
    let evidence = opts.evidence_dir.clone();
    let limits = opts.limits.clone();
    tokio::task::spawn_blocking(move || package::write(&sub, &dir, &evidence, &limits))
        .await
        .map_err(|e| ReportError::Task(e.to_string()))?
}

async fn to_outbox(
    sub: &WeeklyReport,
    report_id: i64,
    outbox: &Path,
    opts: &ForwardOptions,
) -> Result<String, ReportError> {
    std::fs::create_dir_all(outbox).map_err(ReportError::io("create outbox", outbox))?;
    let dir = outbox.join(format!(
        "kuzet-{}-{}-r{report_id}",
        sub.week, sub.generated_at
    ));
    let pkg = write_package(sub, dir, opts).await?;
    Ok(path_text(&pkg.dir))
}

/// The mail's attachments, and whether the WARC records fit the size limit.
fn attachments(
    pkg: &package::Package,
    limits: &ReportLimits,
) -> Result<(Vec<RenderedFile>, bool), ReportError> {
    let mut report_files = Vec::new();
    let mut records = Vec::new();
    for f in &pkg.files {
        let path = pkg.dir.join(&f.path);
        let bytes = std::fs::read(&path).map_err(ReportError::io("read", &path))?;
        let (name, mime) = match f.path.strip_prefix(&format!("{EVIDENCE_DIR}/")) {
            Some("index.json") => ("evidence-index.json".to_string(), "application/json"),
            Some(rest) => (rest.replace('/', "_"), "application/warc"),
            None if f.path.ends_with(".pdf") => (f.path.clone(), "application/pdf"),
            None if f.path.ends_with(".csv") => (f.path.clone(), "text/csv; charset=utf-8"),
            None if f.path.ends_with(".html") => (f.path.clone(), "text/html; charset=utf-8"),
            None => (f.path.clone(), "application/json"),
        };
        let file = RenderedFile {
            name,
            bytes,
            mime: mime.to_string(),
        };
        if mime == "application/warc" {
            records.push(file);
        } else {
            report_files.push(file);
        }
    }
    let size = |v: &[RenderedFile]| v.iter().map(|a| a.bytes.len() as u64).sum::<u64>();
    let fits = size(&report_files) + size(&records) <= limits.max_attachment_bytes;
    let mut all = report_files;
    if fits {
        all.extend(records);
    }
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let manifest: String = all
        .iter()
        .map(|f| format!("{}  {}\n", hex::encode(Sha256::digest(&f.bytes)), f.name))
        .collect();
    all.push(RenderedFile {
        name: MANIFEST.into(),
        bytes: manifest.into_bytes(),
        mime: "text/plain; charset=utf-8".into(),
    });
    Ok((all, fits))
}

async fn to_smtp(
    sub: &WeeklyReport,
    smtp: &SmtpChannel,
    recipient: &str,
    opts: &ForwardOptions,
) -> Result<(), ReportError> {
    let channel = format!("smtp:{}:{}", smtp.host, smtp.port);
    let bad = |reason: String| ReportError::Channel {
        channel: channel.clone(),
        reason,
    };
    let from: Mailbox = smtp
        .from
        .parse()
        .map_err(|e| bad(format!("bad from address {:?}: {e}", smtp.from)))?;
    let to: Mailbox = recipient
        .parse()
        .map_err(|e| bad(format!("bad partner address {recipient:?}: {e}")))?;
    let tmp = tempfile::tempdir().map_err(ReportError::io("create", std::env::temp_dir()))?;
    let pkg = write_package(sub, tmp.path().join("package"), opts).await?;
    let (files, fits) = attachments(&pkg, &opts.limits)?;
    let records = pkg.records_copied();
    let mut body = format!(
        "Kuzet weekly report {week}: {n} confirmed case(s) not sent to you before.\n\n",
        week = sub.week,
        n = sub.cases.len()
    );
    for c in &sub.cases {
        body.push_str(&format!(
            "  case #{}: {} page(s), {} indicator(s)\n",
            c.id,
            c.pages.len(),
            c.indicators.len()
        ));
    }
    body.push_str(&format!(
        "\nAttached: the report as HTML, PDF, CSV and a STIX 2.1 bundle{}, and MANIFEST.sha256 \
         (save the attachments in one folder and run `sha256sum -c MANIFEST.sha256`).\n",
        if records == 0 {
            String::new()
        } else if fits {
            format!(", {records} WARC evidence record(s)")
        } else {
            String::new()
        }
    ));
    if records > 0 && !fits {
        body.push_str(&format!(
            "The {records} WARC evidence record(s) exceed the mail size limit and are not attached; \
             ask the kuzet liaison for the evidence package (manifest sha256 {}).\n",
            pkg.manifest_sha256
        ));
    }
    let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(body));
    for f in files {
        let ct = ContentType::parse(&f.mime)
            .map_err(|e| bad(format!("content type {}: {e}", f.mime)))?;
        parts = parts.singlepart(Attachment::new(f.name).body(f.bytes, ct));
    }
    let msg = Message::builder()
        .from(from)
        .to(to)
        .subject(format!(
            "kuzet weekly report {}: {} case(s)",
            sub.week,
            sub.cases.len()
        ))
        .multipart(parts)
        .map_err(|e| bad(format!("cannot build the message: {e}")))?;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        .port(smtp.port)
        .timeout(Some(smtp.timeout));
    builder = match smtp.security {
        Security::None => builder.tls(Tls::None),
        Security::Starttls | Security::Tls => {
            let params = TlsParameters::new(smtp.host.clone())
                .map_err(|e| bad(format!("TLS set-up: {e}")))?;
            builder.tls(if smtp.security == Security::Tls {
                Tls::Wrapper(params)
            } else {
                Tls::Required(params)
            })
        }
    };
    if let (Some(user), Some(pass)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
    }
    builder
        .build()
        .send(msg)
        .await
        .map_err(|e| bad(format!("sending to {recipient}: {e}")))?;
    Ok(())
}
