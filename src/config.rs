//! Configuration: defaults → TOML file → `KUZET_<SECTION>_<KEY>` environment → command-line flags.
//!
//! Every key is documented once, in `kuzet.example.toml`, with its default. Unknown keys and bad
//! values are errors that name the key (exit status 2).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cli::LogFormat;

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub report: ReportConfig,
    pub smtp: SmtpConfig,
    pub crawl: CrawlSection,
    pub telegram: TelegramConfig,
    pub takedown: TakedownConfig,
    /// Jobs `kuzet serve` runs on a schedule (`[[schedule]]` tables).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<ScheduleEntry>,
}

/// One `[[schedule]]` job of `kuzet serve`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleEntry {
    /// Unique name; its runs are remembered under it.
    pub name: String,
    /// Cron expression in UTC: 5 fields, or 6 with seconds first.
    pub cron: String,
    /// `crawl` or `weekly_report`.
    pub job: ScheduledJob,
    /// crawl: the seeds file.
    #[serde(default)]
    pub seeds: Option<String>,
    /// crawl: scope entries (host suffixes or address ranges); empty means no scope limit.
    #[serde(default)]
    pub scope: Vec<String>,
    /// crawl: most pages per run.
    #[serde(default)]
    pub max_pages: Option<u64>,
    /// crawl: deepest link depth from a seed.
    #[serde(default = "default_depth")]
    pub max_depth: i64,
    /// crawl: allow private and loopback addresses (private monitoring targets only).
    #[serde(default)]
    pub allow_private_addresses: bool,
    /// weekly_report: also forward through the configured channels.
    #[serde(default)]
    pub forward: bool,
}

fn default_depth() -> i64 {
    3
}

/// What a scheduled job does.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ScheduledJob {
    /// One crawl run from `seeds`, then cases regrouped.
    Crawl,
    /// The weekly report for the last complete ISO week.
    WeeklyReport,
    /// Re-check the URLs of watched cases (`kuzet cases recheck`), with `scope` and
    /// `allow_private_addresses` of the entry (or `[crawl]`'s when the entry sets none).
    Recheck,
}

/// `[database]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://…`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// How long to wait for a lock or a free connection, in milliseconds.
    pub busy_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://kuzet.db".into(),
            max_connections: 8,
            busy_timeout_ms: 10_000,
        }
    }
}

/// `[crawl]`: network safety and every limit of `kuzet crawl` (flags override them).
/// Times are in milliseconds (`_ms`) or seconds (`_secs`); 0 means "no limit" only where said.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CrawlSection {
    /// Host suffixes or address ranges a crawl may fetch; empty means no scope limit.
    pub scope: Vec<String>,
    /// Allow private, loopback and link-local addresses (tests, the demo, private targets).
    pub allow_private_addresses: bool,
    /// SOCKS5 proxy for .onion hosts (must be `socks5h://`).
    pub socks_proxy: String,
    /// The `User-Agent` header of every request.
    pub user_agent: String,
    /// Largest response body, as received and after decompression, in bytes.
    pub max_body_bytes: u64,
    /// Largest image handed to the QR decoder, in bytes.
    pub max_image_bytes: u64,
    /// Largest image handed to the QR decoder, in pixels (width × height).
    pub max_image_pixels: u64,
    /// Most QR decoding passes per image (the pipeline's attempt table, cheapest first).
    pub qr_max_attempts: u64,
    /// Most pixels the QR decoder scans per image over all its passes.
    pub qr_max_pixels_scanned: u64,
    /// Most redirects followed per fetch.
    pub max_redirects: u64,
    /// TCP (or proxy) connect timeout.
    pub connect_timeout_ms: u64,
    /// Longest wait for response headers or the next body chunk.
    pub read_timeout_ms: u64,
    /// Longest whole fetch, redirects included.
    pub total_timeout_ms: u64,
    /// Longest canonical URL accepted, in bytes.
    pub max_url_length: u64,
    /// Deepest link depth followed from a seed.
    pub max_depth: u64,
    /// Pages per run; 0 = no limit.
    pub max_pages: u64,
    /// Pages per host per run; 0 = no limit.
    pub max_pages_per_host: u64,
    /// Fetches in flight.
    pub concurrency: u64,
    /// Most fetch results committed in one database transaction (results that finish while one
    /// batch commits wait for the next).
    pub commit_batch: u64,
    /// Least time between two requests to one host (robots.txt `Crawl-delay` wins when longer).
    pub min_delay_ms: u64,
    /// Requests in flight to one host.
    pub per_host_concurrency: u64,
    /// How long a host's robots.txt is cached.
    pub robots_ttl_secs: u64,
    /// Politeness off (no delay, robots.txt not read, 8 requests per host) for hosts matching these
    /// scope entries: only hosts you run or monitor privately.
    pub impolite_for: Vec<String>,
    /// How often a progress line is logged when stderr is not a terminal.
    pub progress_interval_ms: u64,
    /// How long a worker's claim on a URL lasts, in seconds: a worker that dies loses its claims
    /// after this long and other workers (or the next run) fetch those URLs again.
    pub lease_secs: u64,
    /// Fetch attempts per URL before a transient failure (time-out, connection error, 5xx) is
    /// given up; retries back off exponentially.
    pub max_attempts: u64,
}

impl Default for CrawlSection {
    fn default() -> Self {
        let fetch = kuzet_crawler::FetchLimits::default();
        let qr_opts = kuzet_classifier::qr::QrOptions::default();
        let policy = kuzet_crawler::politeness::HostPolicy::default();
        let crawl = kuzet_crawler::crawl::CrawlConfig::default();
        let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            scope: Vec::new(),
            allow_private_addresses: false,
            socks_proxy: "socks5h://127.0.0.1:9050".into(),
            user_agent: fetch.user_agent,
            max_body_bytes: fetch.max_body_bytes,
            max_image_bytes: qr_opts.limits.max_bytes as u64,
            max_image_pixels: qr_opts.limits.max_pixels,
            qr_max_attempts: qr_opts.max_attempts as u64,
            qr_max_pixels_scanned: qr_opts.max_pixels_scanned,
            max_redirects: fetch.max_redirects as u64,
            connect_timeout_ms: ms(fetch.connect_timeout),
            read_timeout_ms: ms(fetch.read_timeout),
            total_timeout_ms: ms(fetch.total_timeout),
            max_url_length: kuzet_crawler::url::UrlLimits::default().max_len as u64,
            max_depth: crawl.max_depth.max(0) as u64,
            max_pages: 0,
            max_pages_per_host: 0,
            concurrency: crawl.concurrency as u64,
            commit_batch: crawl.commit_batch as u64,
            min_delay_ms: ms(policy.min_delay),
            per_host_concurrency: policy.max_concurrency as u64,
            robots_ttl_secs: kuzet_crawler::robots::RobotsConfig::default().ttl.as_secs(),
            impolite_for: Vec::new(),
            progress_interval_ms: ms(crawl.progress_every),
            lease_secs: u64::try_from(crawl.frontier.lease_ms / 1000).unwrap_or(60),
            max_attempts: u64::try_from(crawl.frontier.max_attempts).unwrap_or(3),
        }
    }
}

/// `[telegram]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    /// Base of public channel previews; a channel's page is `<base_url><channel>`.
    pub base_url: String,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            base_url: kuzet_crawler::telegram::DEFAULT_BASE.into(),
        }
    }
}

/// `[takedown]`: re-checks of forwarded cases (`kuzet cases recheck`, `job = "recheck"`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TakedownConfig {
    /// Case statuses whose URLs are put on the watch list.
    pub statuses: Vec<String>,
    /// Consecutive NXDOMAIN / refused / 404 / 410 checks before a URL counts as gone.
    pub gone_after: i64,
    /// Largest score difference of a re-scored page still counted as the same shop.
    pub score_tolerance: f64,
    /// The N of "still live after N days" in the weekly report.
    pub still_live_days: i64,
    /// Re-checks in flight (per host, politeness still applies).
    pub concurrency: usize,
    /// Where WARC evidence of transitions goes.
    pub evidence_dir: String,
    /// HTTP statuses that mean blocked.
    pub block_statuses: Vec<u16>,
    /// Regexes (case-insensitive) over a block page's HTML.
    pub block_body_patterns: Vec<String>,
    /// Regexes (case-insensitive) over a block page's title.
    pub block_title_patterns: Vec<String>,
    /// Host suffixes a redirect to which means blocked.
    pub block_redirect_hosts: Vec<String>,
    /// Address ranges of block-page servers (a substituted DNS answer).
    pub block_addresses: Vec<String>,
    /// Re-resolve every http(s) QR payload ever decoded and open "QR hijack" cases.
    pub qr_watch: bool,
    /// Longest QR payload URL watched, in characters (longer ones cannot be indexed everywhere).
    pub qr_max_url_chars: i64,
}

impl Default for TakedownConfig {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect();
        Self {
            statuses: s(&["confirmed", "forwarded"]),
            gone_after: 3,
            score_tolerance: 0.05,
            still_live_days: 7,
            concurrency: 16,
            evidence_dir: "evidence".into(),
            block_statuses: vec![451],
            block_body_patterns: s(&[
                "доступ к (данному |этому )?(интернет-)?ресурсу (ограничен|заблокирован)",
                "(интернет-)?ресурс заблокирован",
                "қолжетімділік шектелген",
                "access to (this|the requested) (web ?site|resource|page) (is|has been) (restricted|blocked)",
            ]),
            block_title_patterns: Vec::new(),
            block_redirect_hosts: Vec::new(),
            block_addresses: Vec::new(),
            qr_watch: true,
            qr_max_url_chars: 600,
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
        }
    }
}

/// `[report]`: weekly reports and the outbox channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// Where `kuzet report weekly` writes packages when `--out` is not given.
    pub out_dir: String,
    /// Relative `pages.warc_file` paths are resolved against this directory.
    pub evidence_dir: String,
    /// Outbox channel: a folder each forwarded package lands in; empty = off.
    pub outbox_dir: String,
    /// Weeks start on Monday 00:00 at this offset from UTC, in minutes.
    pub utc_offset_minutes: i32,
    /// Largest e-mail, in bytes, before WARC records are left out of it.
    pub max_attachment_bytes: u64,
}

impl Default for ReportConfig {
    fn default() -> Self {
        Self {
            out_dir: "reports".into(),
            evidence_dir: "evidence".into(),
            outbox_dir: String::new(),
            utc_offset_minutes: 300,
            max_attachment_bytes: 20 * 1024 * 1024,
        }
    }
}

/// `[smtp]`: the mail channel to police partners.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// Server host; empty = no mail channel.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    pub security: kuzet_reporter::report::forward::Security,
    /// Sender address.
    pub from: String,
    /// Partner addresses.
    pub to: Vec<String>,
    /// Login; empty = none.
    pub username: String,
    /// Password; masked in `config show`.
    pub password: String,
    /// Connection and command time-out, seconds.
    pub timeout_secs: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            security: kuzet_reporter::report::forward::Security::Starttls,
            from: String::new(),
            to: Vec::new(),
            username: String::new(),
            password: String::new(),
            timeout_secs: 30,
        }
    }
}

/// Sections that environment variables may address, as `KUZET_<SECTION>_<KEY>`.
const SECTIONS: &[&str] = &[
    "database", "log", "report", "smtp", "crawl", "telegram", "takedown",
];

/// A configuration error: the message names the file, variable or key at fault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads defaults, then `file` (when given), then the environment.
    pub fn load(file: Option<&Path>, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!("cannot read config file {}: {e}", path.display()))
                })?;
                text.parse::<toml::Table>().map_err(|e| {
                    ConfigError(format!(
                        "config file {}: {}",
                        path.display(),
                        one_line(&e.to_string())
                    ))
                })?
            }
            None => toml::Table::new(),
        };
        apply_env(&mut table, env)?;
        let origin = file
            .map(|p| format!("config file {}", p.display()))
            .unwrap_or_else(|| "configuration".into());
        Config::deserialize(toml::Value::Table(table))
            .map_err(|e| ConfigError(format!("{origin}: {}", one_line(&e.to_string()))))
    }

    /// The configuration as TOML with secrets masked, for `kuzet config show`.
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database.url = kuzet_storage::mask_url(&shown.database.url);
        if !shown.smtp.password.is_empty() {
            shown.smtp.password = "***".into();
        }
        toml::to_string(&shown).unwrap_or_default()
    }
}

/// Applies `KUZET_<SECTION>_<KEY>=value` variables. Values are read as TOML (numbers, booleans,
/// arrays) and otherwise taken as strings. Variables of other tools (`KUZET_TEST_…`) are ignored.
fn apply_env(table: &mut toml::Table, env: &[(String, String)]) -> Result<(), ConfigError> {
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix("KUZET_") else {
            continue;
        };
        let lower = rest.to_ascii_lowercase();
        let Some(section) = SECTIONS
            .iter()
            .find(|s| lower.starts_with(&format!("{s}_")))
        else {
            continue;
        };
        let key = &lower[section.len() + 1..];
        let value = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.clone()));
        let entry = table
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match entry {
            toml::Value::Table(t) => {
                t.insert(key.to_string(), value);
            }
            _ => {
                return Err(ConfigError(format!(
                    "environment variable {name}: [{section}] is not a table in the config file"
                )));
            }
        }
    }
    Ok(())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// `kuzet.example.toml` documents every key with its default: parsing it gives the defaults,
    /// and it has exactly the keys the defaults have.
    #[test]
    fn example_file_lists_every_key_with_its_default() {
        let example: toml::Table = include_str!("../kuzet.example.toml").parse().unwrap();
        let defaults: toml::Table = toml::to_string(&Config::default())
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(example, defaults);
    }

    #[test]
    fn defaults_without_file() {
        let c = Config::load(None, &[]).unwrap();
        assert_eq!(c.database.url, "sqlite://kuzet.db");
        assert_eq!(c.database.max_connections, 8);
    }

    #[test]
    fn environment_overrides_and_is_typed() {
        let c = Config::load(
            None,
            &env(&[
                ("KUZET_DATABASE_MAX_CONNECTIONS", "3"),
                ("KUZET_DATABASE_URL", "postgres://u:pw@h/db"),
                ("KUZET_TEST_DATABASE_URL", "ignored"),
                ("KUZET_LOG_FORMAT", "json"),
                ("KUZET_CRAWL_SCOPE", "[\"127.0.0.0/8\", \"localhost\"]"),
                ("KUZET_TELEGRAM_BASE_URL", "http://127.0.0.1:8090/s/"),
            ]),
        )
        .unwrap();
        assert_eq!(c.crawl.scope, ["127.0.0.0/8", "localhost"]);
        assert_eq!(c.telegram.base_url, "http://127.0.0.1:8090/s/");
        assert!(!c.crawl.allow_private_addresses);
        assert_eq!(c.database.max_connections, 3);
        assert_eq!(c.database.url, "postgres://u:pw@h/db");
        assert_eq!(c.log.format, LogFormat::Json);
        assert!(c.to_masked_toml().contains("postgres://u:***@h/db"));
        let c = Config::load(
            None,
            &env(&[
                ("KUZET_SMTP_PASSWORD", "s3cret-pw"),
                ("KUZET_SMTP_TO", "['a@police.test', 'b@police.test']"),
                ("KUZET_REPORT_OUTBOX_DIR", "/srv/outbox"),
            ]),
        )
        .unwrap();
        assert_eq!(c.smtp.password, "s3cret-pw");
        assert_eq!(c.smtp.to, ["a@police.test", "b@police.test"]);
        assert_eq!(c.report.outbox_dir, "/srv/outbox");
        let shown = c.to_masked_toml();
        assert!(
            !shown.contains("s3cret") && shown.contains("password = \"***\""),
            "{shown}"
        );
        assert!(!c.to_masked_toml().contains("pw@"));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.toml");
        std::fs::write(&p, "[database]\nurll = 'x'\n").unwrap();
        let e = Config::load(Some(&p), &[]).unwrap_err().to_string();
        assert!(e.contains("urll"), "{e}");
        std::fs::write(&p, "[database]\nmax_connections = 'many'\n").unwrap();
        let e = Config::load(Some(&p), &[]).unwrap_err().to_string();
        assert!(e.contains("max_connections"), "{e}");
        let e = Config::load(None, &env(&[("KUZET_DATABASE_BOGUS", "1")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bogus"), "{e}");
        std::fs::write(&p, "[nonsense]\n").unwrap();
        let e = Config::load(Some(&p), &[]).unwrap_err().to_string();
        assert!(e.contains("nonsense"), "{e}");
        std::fs::write(&p, "this is = = not toml").unwrap();
        let e = Config::load(Some(&p), &[]).unwrap_err().to_string();
        assert!(e.contains("k.toml") && !e.contains('\n'), "{e}");
    }
}
