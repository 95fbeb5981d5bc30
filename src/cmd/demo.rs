//! `kuzet demo`

use std::process::ExitCode;

use serde_json::json;

use super::Context;
use crate::cli::DemoArgs;
use crate::demo;

pub async fn run(args: DemoArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let web = demo::start(args.web_port).await?;
    ctx.emit(
        &json!({"demo_web": web.entry_url(), "telegram_base": web.telegram_base()}),
        || {
            format!(
                "demo web: {}  (hosts 127.0.0.1-{} on port {}; Telegram base {})",
                web.entry_url(),
                demo::HOSTS,
                web.port,
                web.telegram_base()
            )
        },
    );
    if !args.web_only {
        anyhow::bail!(
            "the crawl step of `kuzet demo` is not wired yet; use --web-only to serve the demo web"
        );
    }
    tokio::signal::ctrl_c().await?;
    web.stop().await;
    Ok(ExitCode::SUCCESS)
}
