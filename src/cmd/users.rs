//! `kuzet users add|list`

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::Context as _;
use kuzet_reporter::users::{self, Role};
use serde_json::json;

use super::Context;
use crate::UsageError;
use crate::cli::UsersCommand;

pub async fn run(command: UsersCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        UsersCommand::Add { name, role, .. } => {
            let role: Role = role.parse().map_err(|e| UsageError(format!("{e}")))?;
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("cannot read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let db = ctx.open_db(true).await?;
            let user = users::add(&db, "cli", &name, role, password)
                .await
                .map_err(|e| match e {
                    kuzet_reporter::ReporterError::Storage(_) => anyhow::Error::new(e),
                    other => anyhow::Error::new(UsageError(other.to_string())),
                })?;
            ctx.emit(&json!(user), || {
                format!("added user {} ({})", user.name, user.role)
            });
            db.close().await;
        }
        UsersCommand::List => {
            let db = ctx.open_db(true).await?;
            for u in users::list(&db).await? {
                ctx.emit(&json!(u), || {
                    let state = if u.disabled { " (disabled)" } else { "" };
                    format!("{:<24} {}{state}", u.name, u.role)
                });
            }
            db.close().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}
