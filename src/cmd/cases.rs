//! `kuzet cases list|rebuild|recheck`

use std::process::ExitCode;

use kuzet_reporter::cases::{self, GroupingLimits, QueueFilter, Status};
use serde_json::json;

use super::Context;
use crate::UsageError;
use crate::cli::CasesCommand;

pub async fn run(command: CasesCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    let db = ctx.open_db(true).await?;
    match command {
        CasesCommand::List { status, limit } => {
            let statuses = match status.as_deref() {
                None | Some("all") => Vec::new(),
                Some("open") => vec![Status::New, Status::InReview],
                Some(s) => vec![s.parse::<Status>().map_err(|e| UsageError(e.to_string()))?],
            };
            let filter = QueueFilter {
                statuses,
                limit: limit.max(1),
                ..QueueFilter::default()
            };
            for c in cases::list(&db, &filter).await? {
                ctx.emit(
                    &json!({
                        "id": c.id, "status": c.status, "score": c.score, "title": c.title,
                        "reason": c.reason, "priority": c.priority,
                        "created_at": c.created_at, "assigned_to": c.assigned_to,
                        "urls": c.urls, "indicators": c.indicators,
                    }),
                    || {
                        let inds: Vec<String> = c
                            .indicators
                            .iter()
                            .map(|i| format!("{}:{}", i.kind, i.value))
                            .collect();
                        format!(
                            "#{:<6} {:<10} {:.2}  {}{}\n        urls: {}\n        indicators: {}",
                            c.id,
                            c.status,
                            c.score,
                            if c.reason == "flagged" {
                                String::new()
                            } else {
                                format!("[{}] ", c.reason)
                            },
                            c.title,
                            c.urls.join(" "),
                            inds.join(" ")
                        )
                    },
                );
            }
        }
        CasesCommand::Recheck(args) => {
            db.close().await;
            return super::recheck::run(args, ctx).await;
        }
        CasesCommand::Rebuild => {
            let s = cases::rebuild_or_update(&db, &GroupingLimits::default()).await?;
            ctx.emit(&json!(s), || {
                format!(
                    "{} flagged pages: {} cases created, {} pages added, {} merges, {} reopened",
                    s.flagged_pages,
                    s.created.len(),
                    s.pages_added,
                    s.merged.len(),
                    s.reopened.len()
                )
            });
        }
    }
    db.close().await;
    Ok(ExitCode::SUCCESS)
}
