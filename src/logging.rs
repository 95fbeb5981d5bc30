//! Logging with `tracing` on stderr: human by default, JSON with `--log-format json`;
//! `RUST_LOG` overrides the level chosen by `-v`/`-q`.

use tracing_subscriber::EnvFilter;

use crate::cli::{GlobalArgs, LogFormat};
use crate::config::Config;

pub fn init(global: &GlobalArgs, config: &Config) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => {
            "warn,kuzet=info,kuzet_crawler=info,kuzet_reporter=info,kuzet_classifier=info,kuzet_storage=info"
        }
        (false, 1) => {
            "info,kuzet=debug,kuzet_crawler=debug,kuzet_reporter=debug,kuzet_classifier=debug,kuzet_storage=debug"
        }
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: piped or redirected logs stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let result = match global.log_format.unwrap_or(config.log.format) {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
    // Only fails when a subscriber is already installed, which is harmless.
    let _ = result;
}
