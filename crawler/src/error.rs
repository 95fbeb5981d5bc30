//! Error types of the crawler.
//!
//! [`FetchError`] is what one fetch (or one refusal before a fetch) ends with; its [`FetchError::kind`]
//! is a stable, lower-case string that the frontier stores per URL and the run summary counts by.
//! [`UrlError`] covers URL parsing, canonicalisation and trap heuristics; the other modules have their
//! own small error types next to their code ([`crate::warc::WarcError`], [`crate::photos::PhotoError`]).

use std::time::Duration;

use crate::guard::AddressClass;

/// Why a URL was refused before it reached the network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// The text is not a URL (or not one relative to the base it was joined with).
    #[error("not a URL: {input:?}: {reason}")]
    Parse {
        /// The text as given.
        input: String,
        /// What the `url` crate said.
        reason: String,
    },
    /// Only `http` and `https` are crawled.
    #[error("scheme {scheme:?} is not http or https: {url}")]
    BadScheme {
        /// The URL.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// An http(s) URL without a host (cannot happen with the `url` crate, kept for totality).
    #[error("URL has no host: {url}")]
    NoHost {
        /// The URL.
        url: String,
    },
    /// A trap heuristic refused the URL.
    #[error("crawler trap ({trap}): {url}")]
    Trap {
        /// The URL (possibly shortened for display).
        url: String,
        /// Which heuristic fired.
        trap: Trap,
    },
}

impl UrlError {
    /// Stable kind string: `bad_url`, `bad_scheme` or the trap's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            UrlError::Parse { .. } | UrlError::NoHost { .. } => "bad_url",
            UrlError::BadScheme { .. } => "bad_scheme",
            UrlError::Trap { trap, .. } => trap.kind(),
        }
    }
}

/// A crawler-trap heuristic that refused a URL (see [`crate::url::UrlLimits`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Trap {
    /// The canonical URL is longer than allowed.
    #[error("URL length {len} > {max}")]
    TooLong {
        /// Length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// One path segment repeats too often (`/a/b/a/b/a/b/…`).
    #[error("path segment {segment:?} occurs {count} times (> {max})")]
    RepeatingSegments {
        /// The repeated segment.
        segment: String,
        /// How often it occurs.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Too many path segments.
    #[error("path depth {depth} > {max}")]
    TooDeep {
        /// Number of segments.
        depth: usize,
        /// The limit.
        max: usize,
    },
    /// Too many query parameters (calendar and faceted-search explosions).
    #[error("{count} query parameters (> {max})")]
    QueryExplosion {
        /// Number of parameters.
        count: usize,
        /// The limit.
        max: usize,
    },
}

impl Trap {
    /// Stable kind string.
    pub fn kind(&self) -> &'static str {
        match self {
            Trap::TooLong { .. } => "trap_url_too_long",
            Trap::RepeatingSegments { .. } => "trap_repeating_segments",
            Trap::TooDeep { .. } => "trap_too_deep",
            Trap::QueryExplosion { .. } => "trap_query_explosion",
        }
    }
}

/// Which timeout fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Establishing the TCP (or proxy) connection.
    Connect,
    /// Waiting for response headers or for the next body chunk.
    Read,
    /// The whole fetch, redirects included.
    Total,
}

impl std::fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connect",
            TimeoutPhase::Read => "read",
            TimeoutPhase::Total => "total",
        })
    }
}

/// How one fetch failed, or why it was refused before any connection. Every variant names the URL.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL failed parsing, canonicalisation or a trap heuristic.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The host is outside the configured `--scope` (decided before any DNS query).
    #[error("out of scope: {url}")]
    OutOfScope {
        /// The URL.
        url: String,
    },
    /// The host resolved to (or is) an address the SSRF guard refuses.
    #[error("refused {class} address {addr} for {url}")]
    PrivateAddress {
        /// The URL.
        url: String,
        /// The refused address.
        addr: String,
        /// Why it is refused.
        class: AddressClass,
    },
    /// A `.onion` host while no SOCKS5 proxy is configured.
    #[error("no SOCKS5 proxy configured for onion host: {url}")]
    OnionWithoutProxy {
        /// The URL.
        url: String,
    },
    /// A timeout fired.
    #[error("{phase} timeout after {after:?}: {url}")]
    Timeout {
        /// The URL.
        url: String,
        /// Which timeout.
        phase: TimeoutPhase,
        /// Its configured length.
        after: Duration,
    },
    /// DNS failure, refused or reset connection, TLS failure, proxy failure.
    #[error("connection failed for {url}: {reason}")]
    Connect {
        /// The URL.
        url: String,
        /// The underlying error, flattened.
        reason: String,
    },
    /// The server broke the exchange after the connection was made (reset, bad HTTP).
    #[error("HTTP exchange failed for {url}: {reason}")]
    Protocol {
        /// The URL.
        url: String,
        /// The underlying error, flattened.
        reason: String,
    },
    /// The body (as sent, or after decompression) exceeds the cap.
    #[error("body of {url} exceeds {limit} bytes{}", if *.decompressed { " after decompression" } else { "" })]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap in bytes.
        limit: u64,
        /// Whether the cap was hit while decompressing.
        decompressed: bool,
    },
    /// A redirect pointed back to a URL already visited in this chain.
    #[error("redirect loop at {url}")]
    RedirectLoop {
        /// The URL visited twice.
        url: String,
    },
    /// More redirects than allowed.
    #[error("more than {max} redirects starting at {url}")]
    TooManyRedirects {
        /// The URL first requested.
        url: String,
        /// The cap.
        max: usize,
    },
    /// A final status outside 2xx (or a 3xx without a usable `Location`).
    #[error("HTTP status {status} for {url}")]
    HttpStatus {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// A content type that is not kept (only HTML and images by default).
    #[error("content type {content_type:?} not kept for {url}")]
    ContentType {
        /// The URL.
        url: String,
        /// The `Content-Type` header, empty when absent.
        content_type: String,
    },
    /// A `Content-Encoding` that is unknown or whose stream is corrupt.
    #[error("cannot decode {encoding} body of {url}: {reason}")]
    Decompression {
        /// The URL.
        url: String,
        /// The encoding.
        encoding: String,
        /// What went wrong.
        reason: String,
    },
    /// robots.txt disallows the URL for our user agent.
    #[error("robots.txt disallows {url}")]
    RobotsDenied {
        /// The URL.
        url: String,
    },
    /// The run's per-host page limit is reached.
    #[error("per-host page limit reached: {url}")]
    HostLimit {
        /// The URL not fetched.
        url: String,
    },
    /// The HTTP client could not be built (bad proxy URL, TLS backend failure).
    #[error("cannot build HTTP client: {reason}")]
    Build {
        /// What went wrong.
        reason: String,
    },
}

impl FetchError {
    /// Stable, lower-case kind string, stored with the URL and counted in run summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Url(e) => e.kind(),
            FetchError::OutOfScope { .. } => "out_of_scope",
            FetchError::PrivateAddress { .. } => "private_address",
            FetchError::OnionWithoutProxy { .. } => "onion_without_proxy",
            FetchError::Timeout { .. } => "timeout",
            FetchError::Connect { .. } => "connect",
            FetchError::Protocol { .. } => "protocol",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::RedirectLoop { .. } => "redirect_loop",
            FetchError::TooManyRedirects { .. } => "too_many_redirects",
            FetchError::HttpStatus { .. } => "http_status",
            FetchError::ContentType { .. } => "content_type",
            FetchError::Decompression { .. } => "decompression",
            FetchError::RobotsDenied { .. } => "robots_denied",
            FetchError::HostLimit { .. } => "host_limit",
            FetchError::Build { .. } => "build",
        }
    }

    /// Whether trying the same URL later may succeed (timeouts, connection failures, 5xx, 429).
    /// The frontier uses it to choose between backoff and a permanent failure.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Timeout { .. }
            | FetchError::Connect { .. }
            | FetchError::Protocol { .. } => true,
            FetchError::HttpStatus { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}
