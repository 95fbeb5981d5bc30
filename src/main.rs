//! `kuzet`: parses arguments, loads configuration, wires the crates, maps errors to exit codes.
//!
//! Exit status: 0 success, 1 runtime failure, 2 usage or configuration error.

mod cli;
mod cmd;
mod config;
mod demo;
mod logging;
mod schedule;
mod wiring;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::cmd::Context;

/// An error the user must fix in how kuzet was called or configured: exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    // `kuzet classify … | head` ends quietly when the reader goes away, as Unix tools do,
    // instead of panicking on a broken pipe. Only for commands that open no socket and start no
    // child process: with the default SIGPIPE action, a write to a connection the peer has
    // closed (a hostile web server, a dropped database connection) or to a dead child's pipe
    // would kill the process outright (found by the hostile-host crawl test).
    if matches!(
        cli.command,
        Command::Classify(_)
            | Command::Rules(_)
            | Command::Qr(_)
            | Command::Eval(_)
            | Command::Config(_)
    ) {
        sigpipe::reset();
    }
    let env: Vec<(String, String)> = std::env::vars().collect();
    let config = match config::Config::load(cli.global.config.as_deref(), &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    logging::init(&cli.global, &config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let ctx = Context::new(&cli.global, config);
    match runtime.block_on(run(cli.command, ctx)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", one_line_chain(&e));
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

async fn run(command: Command, ctx: Context) -> anyhow::Result<ExitCode> {
    match command {
        Command::Db(c) => cmd::db::run(c, &ctx).await,
        Command::Config(c) => cmd::config::run(c, &ctx),
        Command::Users(c) => cmd::users::run(c, &ctx).await,
        Command::Report(c) => cmd::report::run(c, &ctx).await,
        Command::Demo(a) => cmd::demo::run(a, &ctx).await,
        Command::Classify(a) => cmd::classify::run(a, &ctx),
        Command::Eval(cli::EvalCommand::Pages { corpus, rules }) => {
            cmd::eval_pages::run(&corpus, &rules, &ctx)
        }
        Command::Rules(cli::RulesCommand::Test { rules }) => cmd::rules::test(&rules, &ctx),
        Command::Qr(a) => cmd::qr::run(a, &ctx),
        Command::Eval(cli::EvalCommand::Qr { corpus, plain_rqrr }) => {
            cmd::eval_qr::run(&corpus, plain_rqrr, &ctx)
        }
        Command::Crawl(c) => cmd::crawl::run(c, &ctx).await,
        Command::Evidence(c) => cmd::evidence::run(c, &ctx).await,
        Command::Cases(c) => cmd::cases::run(c, &ctx).await,
        Command::Serve(a) => cmd::serve::run(a, &ctx).await,
        Command::Ocr(a) => cmd::ocr::run(a, &ctx),
    }
}

/// The error and its causes on one line, skipping a cause its parent already spelled out
/// (sqlx and io errors often repeat their source in their own message).
fn one_line_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}
