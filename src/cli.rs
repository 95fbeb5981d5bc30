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
    /// The whole pipeline on a bundled demo web served on 127.0.0.1-6 (no network needed).
    Demo(DemoArgs),
    /// Score local files or directories (recursive: .html .htm .txt).
    Classify(ClassifyArgs),
    /// Evaluate the classifier on labelled data.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Rule files: run their embedded examples.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Decode QR codes in images (files or directories, recursive).
    Qr(QrArgs),
    /// One crawl run over the shared frontier; resumable, Ctrl-C stops cleanly.
    Crawl(crate::cmd::crawl::CrawlArgs),
    /// WARC evidence: verify digests.
    #[command(subcommand)]
    Evidence(crate::cmd::evidence::EvidenceCommand),
    /// Cases: flagged pages grouped by shared indicators.
    #[command(subcommand)]
    Cases(CasesCommand),
    /// The analyst web UI and JSON API.
    Serve(ServeArgs),
    /// Read text in images (Tesseract in a limited child process): text and indicators per image.
    Ocr(OcrArgs),
}

#[derive(Debug, Subcommand)]
pub enum CasesCommand {
    /// Print each case with id, status, score, URLs and indicators.
    List {
        /// Only this status: new, in_review, confirmed, dismissed, forwarded (or open, all).
        #[arg(long, value_name = "S")]
        status: Option<String>,
        /// Most cases printed.
        #[arg(long, default_value_t = 10_000)]
        limit: i64,
    },
    /// Group flagged pages into cases now (runs after every crawl too); idempotent.
    Rebuild,
    /// Re-check every URL of watched cases now (forwarded and confirmed by default, see
    /// `[takedown]`): live, changed, blocked, gone or error, transitions stored with evidence.
    Recheck(crate::cmd::recheck::RecheckArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub bind: std::net::SocketAddr,
    /// Mark cookies `Secure` (set when served behind HTTPS).
    #[arg(long)]
    pub secure_cookies: bool,
    /// Evidence directory (WARC files, image blobs) for downloads.
    #[arg(long, value_name = "DIR")]
    pub evidence_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct OcrArgs {
    /// The OCR engine command.
    #[arg(long, value_name = "CMD", default_value = "tesseract")]
    pub tesseract: PathBuf,
    /// Tesseract languages of the general pass.
    #[arg(long, default_value = "rus+kaz+eng")]
    pub languages: String,
    /// Wall-clock limit of one engine run in milliseconds; the process is killed after it.
    #[arg(long, value_name = "MS", default_value_t = 20_000)]
    pub timeout_ms: u64,
    /// Address-space limit of one engine run in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    pub memory_mb: u64,
    /// Image files (PNG, JPEG, GIF, WebP, BMP).
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Port of the demo web on 127.0.0.1 … 127.0.0.6 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub web_port: u16,
    /// Only serve the demo web (until Ctrl-C); do not crawl.
    #[arg(long)]
    pub web_only: bool,
    /// Folder for the demo's fresh SQLite database and evidence (emptied first).
    #[arg(long, value_name = "DIR", default_value = "kuzet-demo")]
    pub dir: PathBuf,
    /// Address of the review UI.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub bind: std::net::SocketAddr,
    /// Crawl, classify and build cases, print the summary, then exit instead of serving the UI.
    #[arg(long)]
    pub no_serve: bool,
}

/// Which rules to classify with.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Rule file replacing the built-in rule set.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Rule file layered over the rule set (same id replaces, new ids add); repeatable.
    #[arg(long, value_name = "FILE")]
    pub extend_rules: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    #[command(flatten)]
    pub rules: RulesArgs,
    /// Files or directories.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// `kuzet qr`
#[derive(Debug, Args)]
pub struct QrArgs {
    /// Image files or directories (searched recursively for .png .jpg .jpeg .gif .webp .bmp).
    #[arg(required = true, value_name = "IMAGE")]
    pub paths: Vec<PathBuf>,
    /// Largest accepted image file in bytes.
    #[arg(long, default_value_t = 32 << 20)]
    pub max_bytes: usize,
    /// Largest accepted image in pixels (width × height).
    #[arg(long, default_value_t = 50_000_000)]
    pub max_pixels: u64,
    /// Most decoding passes per image, cheapest first (default 10; 14 runs the whole table).
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<usize>,
    /// Most pixels scanned per image over all passes (default 16,000,000).
    #[arg(long, value_name = "N")]
    pub max_pixels_scanned: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Precision, recall, F1 and confusion matrix for `verdict == shop` against `label == shop`
    /// on DIR/labels.csv (`id,label,…`) and DIR/pages/<id>.html.
    Pages {
        /// Corpus directory.
        #[arg(long, value_name = "DIR")]
        corpus: PathBuf,
        #[command(flatten)]
        rules: RulesArgs,
    },
    /// QR decode rate on a corpus with manifest.csv (image,expected_text_file,category).
    Qr {
        /// Folder holding manifest.csv; paths in it are relative to this folder.
        #[arg(long, value_name = "DIR")]
        corpus: PathBuf,
        /// Measure a single plain rqrr call per image instead of kuzet's pipeline (baseline).
        #[arg(long)]
        plain_rqrr: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Run every must-match / must-not-match example; exit 1 when any fails.
    Test {
        #[command(flatten)]
        rules: RulesArgs,
    },
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
