//! `kuzet serve [--bind ADDR]`: the analyst web UI and JSON API until Ctrl-C.

use std::process::ExitCode;

use anyhow::Context as _;
use kuzet_reporter::web::{self, AppState, WebConfig};

use super::Context;
use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let db = ctx.open_db(true).await?;
    let cfg = WebConfig {
        secure_cookies: args.secure_cookies,
        evidence_dir: args.evidence_dir.clone(),
        ..WebConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr().context("listener address")?;
    tracing::info!(%addr, "serving the web UI");
    eprintln!("kuzet: web UI on http://{addr}/ (Ctrl-C stops)");
    web::serve(listener, AppState::new(db.clone(), cfg), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("web server failed")?;
    db.close().await;
    Ok(ExitCode::SUCCESS)
}
