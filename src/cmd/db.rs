//! `kuzet db migrate|status`

use std::process::ExitCode;

use kuzet_storage::migrate;
use serde_json::json;

use super::Context;
use crate::cli::DbCommand;

pub async fn run(command: DbCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    let db = ctx.open_db(false).await?;
    match command {
        DbCommand::Migrate => {
            let before = migrate::status(&db).await?;
            migrate::run(&db).await?;
            let applied = before.iter().filter(|m| !m.applied).count();
            ctx.emit(
                &json!({"database": db.url_masked(), "applied": applied, "total": before.len()}),
                || match applied {
                    0 => format!(
                        "{}: up to date ({} migrations)",
                        db.url_masked(),
                        before.len()
                    ),
                    n => format!("{}: applied {n} migration(s)", db.url_masked()),
                },
            );
        }
        DbCommand::Status => {
            for m in migrate::status(&db).await? {
                ctx.emit(
                    &json!({"version": m.version, "description": m.description, "applied": m.applied}),
                    || {
                        let state = if m.applied { "applied" } else { "pending" };
                        format!("{:>4}  {state:<8} {}", m.version, m.description)
                    },
                );
            }
        }
    }
    db.close().await;
    Ok(ExitCode::SUCCESS)
}
