//! The command line: global options and one subcommand per job (see the design notes' contract).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Kuzet finds online drug shops (web, Telegram, .onion, street QR codes) and hands them to
/// the people who can shut them down.
#[derive(Debug, Parser)]
#[command(name = "kuzet", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file (TOML); defaults are sane without one.
    #[arg(long, global = true, value_name = "FILE", env = "KUZET_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH (default sqlite://kuzet.db) or postgres://…
    #[arg(long, global = true, value_name = "URL")]
    pub db: Option<String>,
    /// Output format on stdout; json prints one JSON object per line.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// More log output (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// Output format on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable lines.
    Text,
    /// JSON Lines: one object per line.
    Json,
}

/// Log format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per event.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Database: apply migrations, show their status.
    #[command(subcommand)]
    Db(DbCommand),
    /// Configuration: show the effective settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// User accounts for the web UI.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Weekly reports and evidence packages for the police partners.
    #[command(subcommand)]
    Report(crate::cmd::report::ReportCommand),
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations (idempotent).
    Migrate,
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (defaults, file, environment, flags), secrets masked.
    Show,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user; the password is read from standard input.
    Add {
        /// Login name (A-Z a-z 0-9 . _ -).
        name: String,
        /// Role: admin, analyst, liaison or volunteer.
        #[arg(long)]
        role: String,
        /// Read the password from standard input (the first line). Required: passwords are never
        /// taken from the command line, where other users could see them.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List users (never their password hashes).
    List,
}
