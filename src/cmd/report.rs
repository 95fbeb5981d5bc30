//! `kuzet report weekly [--week YYYY-Www] [--out DIR] [--forward]`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Subcommand;
use kuzet_reporter::report::forward::{self, Channels, ForwardOptions, SmtpChannel};
use kuzet_reporter::report::{self, GenerateOptions, IsoWeek, ReportLimits};
use serde_json::json;

use super::Context;
use crate::UsageError;

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Build the package for one ISO week: HTML, PDF, CSV, STIX 2.1, WARC evidence and a
    /// SHA-256 manifest; with --forward, send the cases not sent before to the configured
    /// outbox and partner addresses.
    Weekly {
        /// ISO week, e.g. 2026-W47 (default: the last complete week).
        #[arg(long, value_name = "YYYY-Www")]
        week: Option<String>,
        /// The package goes into DIR/kuzet-report-YYYY-Www/ (default: [report] out_dir).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Forward through the configured channels ([report] outbox_dir, [smtp]).
        #[arg(long)]
        forward: bool,
    },
}

fn channels(ctx: &Context) -> Channels {
    channels_of(&ctx.config)
}

/// Forwarding settings from the configuration, for a report generated with `opts`.
pub fn forward_options(config: &crate::config::Config, opts: &GenerateOptions) -> ForwardOptions {
    ForwardOptions {
        channels: channels_of(config),
        evidence_dir: opts.evidence_dir.clone(),
        actor: opts.actor.clone(),
        limits: opts.limits.clone(),
        stale_claim_ms: 15 * 60_000,
    }
}

fn channels_of(config: &crate::config::Config) -> Channels {
    let r = &config.report;
    let s = &config.smtp;
    let non_empty = |v: &str| (!v.is_empty()).then(|| v.to_string());
    Channels {
        outbox_dir: non_empty(&r.outbox_dir).map(PathBuf::from),
        smtp: (!s.host.is_empty()).then(|| SmtpChannel {
            host: s.host.clone(),
            port: s.port,
            security: s.security,
            from: s.from.clone(),
            to: s.to.clone(),
            username: non_empty(&s.username),
            password: non_empty(&s.password),
            timeout: Duration::from_secs(s.timeout_secs),
        }),
    }
}

pub async fn run(command: ReportCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    let ReportCommand::Weekly { week, out, forward } = command;
    let rc = &ctx.config.report;
    let now = kuzet_storage::now_ms();
    let week: IsoWeek = match week {
        Some(w) => w.parse().map_err(|e| UsageError(format!("--week: {e}")))?,
        None => IsoWeek::last_complete(now, rc.utc_offset_minutes),
    };
    let channels = channels(ctx);
    if forward && channels.is_empty() {
        return Err(UsageError(
            "--forward: no channel configured (set [report] outbox_dir or [smtp] host and to)"
                .into(),
        )
        .into());
    }
    if let Some(s) = &channels.smtp
        && s.from.is_empty()
    {
        return Err(UsageError("[smtp] from is empty".into()).into());
    }
    let limits = ReportLimits {
        max_attachment_bytes: rc.max_attachment_bytes,
        still_live_days: ctx.config.takedown.still_live_days,
        ..ReportLimits::default()
    };
    let opts = GenerateOptions {
        week,
        utc_offset_minutes: rc.utc_offset_minutes,
        out_dir: out.unwrap_or_else(|| PathBuf::from(&rc.out_dir)),
        evidence_dir: PathBuf::from(&rc.evidence_dir),
        actor: "cli".into(),
        limits: limits.clone(),
    };
    let db = ctx.open_db(true).await?;
    let (weekly, generated) = report::generate(&db, &opts, now)
        .await
        .with_context(|| format!("weekly report {week}"))?;
    let mut deliveries = Vec::new();
    if forward {
        let fopts = ForwardOptions {
            channels,
            evidence_dir: opts.evidence_dir.clone(),
            actor: "cli".into(),
            limits,
            stale_claim_ms: 15 * 60_000,
        };
        deliveries = forward::forward(&db, generated.report_id, &weekly, &fopts, now)
            .await
            .with_context(|| format!("forwarding report {week}"))?;
    }
    db.close().await;

    let count = |s: &str| {
        generated
            .package
            .evidence
            .iter()
            .filter(|e| {
                serde_json::to_value(e)
                    .ok()
                    .and_then(|v| v["status"].as_str().map(String::from))
                    == Some(s.to_string())
            })
            .count()
    };
    let evidence = json!({
        "copied": count("copied"),
        "no_record": count("no_record"),
        "missing": count("missing"),
        "skipped": count("skipped"),
    });
    let dir = generated.package.dir.display().to_string();
    ctx.emit(
        &json!({
            "week": generated.week,
            "report_id": generated.report_id,
            "complete": generated.complete,
            "cases": weekly.cases.iter().map(|c| c.id).collect::<Vec<_>>(),
            "dir": dir,
            "manifest_sha256": generated.package.manifest_sha256,
            "files": generated.package.files,
            "evidence": evidence,
            "deliveries": deliveries,
        }),
        || {
            let mut s = format!(
                "report {} (#{}): {} case(s){} → {dir}\nmanifest sha256 {}\nevidence: {evidence}",
                generated.week,
                generated.report_id,
                generated.cases,
                if generated.complete {
                    ""
                } else {
                    " (week not over: partial)"
                },
                generated.package.manifest_sha256,
            );
            for d in &deliveries {
                s.push_str(&format!(
                    "\n{} {}: {} ({} case(s)){}",
                    d.channel,
                    d.recipient,
                    d.status,
                    d.cases.len(),
                    d.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ));
            }
            s
        },
    );
    let failed = deliveries.iter().filter(|d| d.status == "failed").count();
    if failed > 0 {
        eprintln!("error: {failed} delivery(ies) failed; they are retried on the next --forward");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
