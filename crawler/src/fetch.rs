//! Fetching one URL: limits, manual redirects, guarded connections, capped bodies.
//!
//! [`Fetcher`] owns two reqwest clients: a direct one whose DNS resolver is the SSRF guard
//! ([`crate::guard::GuardedResolver`]) and, when a SOCKS5 proxy is configured, one that sends every
//! request through it (`socks5h`, so the proxy resolves the name; used for `.onion` hosts only).
//! Neither client follows redirects, reads system proxy variables or decompresses by itself:
//!
//! - every hop is checked again for scheme, scope, IP-literal guard and onion routing, and a hop to a
//!   URL already seen in the chain is a `redirect_loop`;
//! - the body is read chunk by chunk with a read timeout per chunk and a byte cap, and then decoded
//!   (`gzip`, `deflate`, `br`) through a reader capped at the same limit, so a compression bomb stops
//!   at the cap;
//! - the raw exchange (request head, response head, body as received) is kept for WARC evidence.
//!
//! reqwest does not expose wire bytes, so the request and response heads are rebuilt from what was
//! sent and received: header names are lower-case, same-name headers are grouped, and
//! `Transfer-Encoding` (already removed from the body by the client) is recorded as
//! `X-Kuzet-Transfer-Encoding` so that WARC readers do not try to de-chunk the body again.

use std::collections::HashSet;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{self, HeaderMap};
use tokio::time::Instant;
use url::Url;

use crate::error::{FetchError, TimeoutPhase};
use crate::guard::{self, GuardedResolver, Lookup, ResolveError, SystemLookup};
use crate::scope::Scope;
use crate::url::{canonicalize, join_canonical, shorten};

/// Limits of one fetch. `Default` gives the documented values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchLimits {
    /// TCP (or proxy) connect timeout. Default 10 s.
    pub connect_timeout: Duration,
    /// Longest wait for response headers or for the next body chunk. Default 15 s.
    pub read_timeout: Duration,
    /// The whole fetch including redirects. Default 60 s.
    pub total_timeout: Duration,
    /// Largest body, both as received and after decompression. Default 5 MiB.
    pub max_body_bytes: u64,
    /// Most redirects followed. Default 5.
    pub max_redirects: usize,
    /// The `User-Agent` header. Default [`DEFAULT_USER_AGENT`].
    pub user_agent: String,
    /// Media types kept; an entry ending in `/` is a prefix (`image/`). Default HTML, XHTML and images.
    pub allowed_content_types: Vec<String>,
}

/// The default `User-Agent`: names the crawler and where to read about it.
pub const DEFAULT_USER_AGENT: &str =
    "kuzet-crawler/0.1 (research crawler for harm reduction; +https://example.invalid/kuzet)";

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(15),
            total_timeout: Duration::from_secs(60),
            max_body_bytes: 5 * 1024 * 1024,
            max_redirects: 5,
            user_agent: DEFAULT_USER_AGENT.to_string(),
            allowed_content_types: vec![
                "text/html".to_string(),
                "application/xhtml+xml".to_string(),
                "image/".to_string(),
            ],
        }
    }
}

/// Everything a [`Fetcher`] needs. `Default` is safe: no scope restriction, private addresses refused,
/// no SOCKS proxy (so `.onion` hosts are refused).
#[derive(Debug, Clone, Default)]
pub struct FetchConfig {
    /// Limits.
    pub limits: FetchLimits,
    /// `--scope`.
    pub scope: Scope,
    /// `--allow-private-addresses`: lift the SSRF guard.
    pub allow_private_addresses: bool,
    /// `--socks-proxy`, e.g. `socks5h://127.0.0.1:9050`; must be `socks5h` so names never resolve here.
    pub socks_proxy: Option<String>,
}

/// Per-call overrides of [`FetchLimits`] (robots.txt uses them).
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// A smaller or larger body cap than the fetcher's.
    pub max_body_bytes: Option<u64>,
    /// Keep the first `max_body_bytes` instead of failing with `too_large`.
    pub truncate: bool,
    /// Accept any content type.
    pub any_content_type: bool,
    /// Return a final 4xx/5xx answer (with its body, for evidence) as an outcome instead of an
    /// `http_status` error. Takedown re-checks use it: block pages often come as 403 or 451.
    pub any_status: bool,
}

/// One redirect hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The URL that answered with a redirect.
    pub from: Url,
    /// Where it pointed (canonical).
    pub to: Url,
    /// The 3xx status.
    pub status: u16,
}

/// The exchange as needed for a WARC file (see the module docs on how it is rebuilt).
#[derive(Debug, Clone, Default)]
pub struct RawExchange {
    /// Request line and headers, ending with the blank line.
    pub request_head: Vec<u8>,
    /// Status line and headers, ending with the blank line.
    pub response_head: Vec<u8>,
    /// The body as received (still content-encoded, transfer-decoded).
    pub response_body: Vec<u8>,
}

/// A successful fetch (2xx, or any status with [`RequestOptions::any_status`]; kept content type,
/// within limits).
#[derive(Debug, Clone)]
pub struct FetchOutcome {
    /// The URL asked for (canonical).
    pub requested_url: Url,
    /// The URL that answered (after redirects).
    pub final_url: Url,
    /// HTTP status (2xx).
    pub status: u16,
    /// Response headers of the final hop.
    pub headers: HeaderMap,
    /// The media type (lower case, without parameters), if the server sent one.
    pub media_type: Option<String>,
    /// Redirects followed, in order.
    pub redirects: Vec<Redirect>,
    /// The exchange for evidence.
    pub raw: RawExchange,
    /// The peer address of the final hop (absent through a proxy).
    pub remote_addr: Option<SocketAddr>,
    /// When the response headers arrived.
    pub fetched_at: SystemTime,
    /// Whether the body was cut at the cap (only with [`RequestOptions::truncate`]).
    pub truncated: bool,
    decoded: Option<Vec<u8>>,
}

impl FetchOutcome {
    /// The body after content decoding.
    pub fn body(&self) -> &[u8] {
        self.decoded.as_deref().unwrap_or(&self.raw.response_body)
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the body is HTML.
    pub fn is_html(&self) -> bool {
        matches!(
            self.media_type.as_deref(),
            Some("text/html" | "application/xhtml+xml")
        )
    }

    /// Whether the body is an image.
    pub fn is_image(&self) -> bool {
        self.media_type
            .as_deref()
            .is_some_and(|m| m.starts_with("image/"))
    }
}

/// The fetcher. Cheap to clone (clients are reference-counted); share one per crawl.
#[derive(Debug, Clone)]
pub struct Fetcher {
    direct: reqwest::Client,
    onion: Option<reqwest::Client>,
    config: Arc<FetchConfig>,
}

impl Fetcher {
    /// A fetcher resolving names with the system resolver.
    pub fn new(config: FetchConfig) -> Result<Self, FetchError> {
        Self::with_lookup(config, Arc::new(SystemLookup))
    }

    /// A fetcher resolving names with `lookup` (tests use a table).
    pub fn with_lookup(config: FetchConfig, lookup: Arc<dyn Lookup>) -> Result<Self, FetchError> {
        let build_err = |e: reqwest::Error| FetchError::Build {
            reason: error_chain(&e),
        };
        let base = |limits: &FetchLimits| {
            // The one place a reqwest client is built; clippy.toml forbids the shortcuts elsewhere.
            #[allow(clippy::disallowed_methods)]
            reqwest::Client::builder()
                .user_agent(limits.user_agent.clone())
                .connect_timeout(limits.connect_timeout)
                .read_timeout(limits.read_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .referer(false)
                .no_gzip()
                .no_brotli()
                .no_deflate()
                .no_zstd()
                .tcp_nodelay(true)
                .pool_max_idle_per_host(4)
        };
        let resolver = GuardedResolver::new(lookup, config.allow_private_addresses);
        let direct = base(&config.limits)
            .no_proxy()
            .dns_resolver(Arc::new(resolver))
            .build()
            .map_err(build_err)?;
        let onion = match &config.socks_proxy {
            None => None,
            Some(proxy) => {
                let parsed = Url::parse(proxy).map_err(|e| FetchError::Build {
                    reason: format!("socks proxy {proxy:?}: {e}"),
                })?;
                if parsed.scheme() != "socks5h" {
                    return Err(FetchError::Build {
                        reason: format!(
                            "socks proxy {proxy:?} must use socks5h:// so that onion names are resolved by the proxy"
                        ),
                    });
                }
                let proxy = reqwest::Proxy::all(proxy.as_str()).map_err(build_err)?;
                Some(
                    base(&config.limits)
                        .proxy(proxy)
                        .build()
                        .map_err(build_err)?,
                )
            }
        };
        Ok(Fetcher {
            direct,
            onion,
            config: Arc::new(config),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// Checks that `url` may be requested at all: scheme, scope (no DNS), IP-literal guard, onion
    /// routing. Run before the first request and again on every redirect hop.
    pub fn check(&self, url: &Url) -> Result<(), FetchError> {
        self.config.scope.check(url)?;
        guard::check_url(url, self.config.allow_private_addresses)?;
        if url.host_str().is_some_and(guard::is_onion) && self.onion.is_none() {
            return Err(FetchError::OnionWithoutProxy {
                url: shorten(url.as_str()),
            });
        }
        Ok(())
    }

    /// Fetches `url` with the configured limits.
    pub async fn fetch(&self, url: &Url) -> Result<FetchOutcome, FetchError> {
        self.fetch_with(url, &RequestOptions::default()).await
    }

    /// Fetches `url` with per-call overrides.
    pub async fn fetch_with(
        &self,
        url: &Url,
        opts: &RequestOptions,
    ) -> Result<FetchOutcome, FetchError> {
        let total = self.config.limits.total_timeout;
        let deadline = Instant::now() + total;
        match tokio::time::timeout_at(deadline, self.fetch_chain(url, opts, deadline)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout {
                url: shorten(url.as_str()),
                phase: TimeoutPhase::Total,
                after: total,
            }),
        }
    }

    async fn fetch_chain(
        &self,
        url: &Url,
        opts: &RequestOptions,
        deadline: Instant,
    ) -> Result<FetchOutcome, FetchError> {
        let limits = &self.config.limits;
        let requested = canonicalize(url.clone())?;
        let mut current = requested.clone();
        let mut seen = HashSet::from([current.as_str().to_string()]);
        let mut redirects = Vec::new();
        loop {
            self.check(&current)?;
            let is_onion = current.host_str().is_some_and(guard::is_onion);
            let client = match (is_onion, &self.onion) {
                (true, Some(c)) => c,
                (true, None) => {
                    return Err(FetchError::OnionWithoutProxy {
                        url: shorten(current.as_str()),
                    });
                }
                (false, _) => &self.direct,
            };
            let accept = if opts.any_content_type {
                "*/*"
            } else {
                "text/html,application/xhtml+xml,image/*;q=0.9,*/*;q=0.1"
            };
            let request = client
                .get(current.clone())
                .header(header::ACCEPT, accept)
                .header(header::ACCEPT_ENCODING, "gzip, deflate, br");
            let head_wait = limits.connect_timeout + limits.read_timeout;
            let mut resp = match tokio::time::timeout(head_wait, request.send()).await {
                Err(_) => {
                    return Err(FetchError::Timeout {
                        url: shorten(current.as_str()),
                        phase: TimeoutPhase::Read,
                        after: limits.read_timeout,
                    });
                }
                Ok(Err(e)) => return Err(map_reqwest(&current, &e, limits)),
                Ok(Ok(r)) => r,
            };
            let fetched_at = SystemTime::now();
            let status = resp.status();
            if status.is_redirection() {
                let location = resp
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok());
                let Some(location) = location else {
                    return Err(FetchError::HttpStatus {
                        url: shorten(current.as_str()),
                        status: status.as_u16(),
                    });
                };
                let next = join_canonical(&current, location)?;
                redirects.push(Redirect {
                    from: current.clone(),
                    to: next.clone(),
                    status: status.as_u16(),
                });
                if !seen.insert(next.as_str().to_string()) {
                    return Err(FetchError::RedirectLoop {
                        url: shorten(next.as_str()),
                    });
                }
                if redirects.len() > limits.max_redirects {
                    return Err(FetchError::TooManyRedirects {
                        url: shorten(requested.as_str()),
                        max: limits.max_redirects,
                    });
                }
                current = next;
                continue;
            }
            if !status.is_success() && !opts.any_status {
                return Err(FetchError::HttpStatus {
                    url: shorten(current.as_str()),
                    status: status.as_u16(),
                });
            }
            let media_type = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .map(|m| m.trim().to_ascii_lowercase())
                .filter(|m| !m.is_empty());
            if !opts.any_content_type
                && !content_type_allowed(media_type.as_deref(), &limits.allowed_content_types)
            {
                return Err(FetchError::ContentType {
                    url: shorten(current.as_str()),
                    content_type: media_type.unwrap_or_default(),
                });
            }
            let cap = opts.max_body_bytes.unwrap_or(limits.max_body_bytes);
            let too_large = |decompressed| FetchError::TooLarge {
                url: shorten(current.as_str()),
                limit: cap,
                decompressed,
            };
            if !opts.truncate && resp.content_length().is_some_and(|n| n > cap) {
                return Err(too_large(false));
            }
            let headers = resp.headers().clone();
            let remote_addr = resp.remote_addr();
            let version = resp.version();
            // Read the body chunk by chunk under the cap and the per-chunk read timeout.
            let mut raw: Vec<u8> = Vec::new();
            let mut truncated = false;
            loop {
                let chunk = match tokio::time::timeout(limits.read_timeout, resp.chunk()).await {
                    Err(_) => {
                        return Err(FetchError::Timeout {
                            url: shorten(current.as_str()),
                            phase: TimeoutPhase::Read,
                            after: limits.read_timeout,
                        });
                    }
                    Ok(Err(e)) => return Err(map_reqwest(&current, &e, limits)),
                    Ok(Ok(None)) => break,
                    Ok(Ok(Some(c))) => c,
                };
                let room = cap.saturating_sub(raw.len() as u64) as usize;
                if chunk.len() > room {
                    if !opts.truncate {
                        return Err(too_large(false));
                    }
                    raw.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    break;
                }
                raw.extend_from_slice(&chunk);
                if Instant::now() >= deadline {
                    // Never hand out a partial body as a success.
                    return Err(FetchError::Timeout {
                        url: shorten(current.as_str()),
                        phase: TimeoutPhase::Total,
                        after: limits.total_timeout,
                    });
                }
            }
            let encodings = content_encodings(&headers);
            let decoded = if encodings.is_empty() {
                None
            } else {
                match decode_body(&raw, &encodings, cap, opts.truncate || truncated) {
                    Ok((body, cut)) => {
                        truncated |= cut;
                        Some(body)
                    }
                    Err(DecodeError::TooLarge) => return Err(too_large(true)),
                    Err(DecodeError::Bad { encoding, reason }) => {
                        return Err(FetchError::Decompression {
                            url: shorten(current.as_str()),
                            encoding,
                            reason,
                        });
                    }
                }
            };
            let raw = RawExchange {
                request_head: request_head(&current, version, accept, &limits.user_agent),
                response_head: response_head(version, status, &headers),
                response_body: raw,
            };
            return Ok(FetchOutcome {
                requested_url: requested,
                final_url: current,
                status: status.as_u16(),
                headers,
                media_type,
                redirects,
                raw,
                remote_addr,
                fetched_at,
                truncated,
                decoded,
            });
        }
    }
}

fn content_type_allowed(media_type: Option<&str>, allowed: &[String]) -> bool {
    let Some(m) = media_type else { return false };
    allowed.iter().any(|a| {
        if a.ends_with('/') {
            m.starts_with(a.as_str())
        } else {
            m == a
        }
    })
}

/// `Content-Encoding` values in the order they were applied (identity removed).
fn content_encodings(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e != "identity")
        .collect()
}

enum DecodeError {
    TooLarge,
    Bad { encoding: String, reason: String },
}

/// Undoes the content encodings (last applied first), each through a reader capped at `cap` bytes.
fn decode_body(
    raw: &[u8],
    encodings: &[String],
    cap: u64,
    truncate: bool,
) -> Result<(Vec<u8>, bool), DecodeError> {
    let mut data = raw.to_vec();
    let mut cut = false;
    for enc in encodings.iter().rev() {
        let reader: Box<dyn Read + '_> = match enc.as_str() {
            "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(&data[..])),
            "deflate" => {
                // HTTP deflate is zlib-wrapped, but some servers send raw deflate.
                let zlib = data.len() >= 2
                    && data[0] & 0x0f == 8
                    && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0;
                if zlib {
                    Box::new(flate2::read::ZlibDecoder::new(&data[..]))
                } else {
                    Box::new(flate2::read::DeflateDecoder::new(&data[..]))
                }
            }
            "br" => Box::new(brotli::Decompressor::new(&data[..], 16 * 1024)),
            other => {
                return Err(DecodeError::Bad {
                    encoding: other.to_string(),
                    reason: "unsupported encoding".into(),
                });
            }
        };
        let mut out = Vec::new();
        let res = reader.take(cap.saturating_add(1)).read_to_end(&mut out);
        if out.len() as u64 > cap {
            if !truncate {
                return Err(DecodeError::TooLarge);
            }
            out.truncate(cap as usize);
            cut = true;
        } else if let Err(e) = res
            && !truncate
        {
            return Err(DecodeError::Bad {
                encoding: enc.clone(),
                reason: e.to_string(),
            });
        }
        data = out;
    }
    Ok((data, cut))
}

fn version_str(v: reqwest::Version) -> &'static str {
    match v {
        reqwest::Version::HTTP_09 => "HTTP/0.9",
        reqwest::Version::HTTP_10 => "HTTP/1.0",
        reqwest::Version::HTTP_2 => "HTTP/2",
        reqwest::Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

fn request_head(url: &Url, version: reqwest::Version, accept: &str, user_agent: &str) -> Vec<u8> {
    let mut target = url.path().to_string();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let host = crate::url::host_key(url);
    format!(
        "GET {target} {}\r\nhost: {host}\r\nuser-agent: {user_agent}\r\naccept: {accept}\r\naccept-encoding: gzip, deflate, br\r\n\r\n",
        version_str(version)
    )
    .into_bytes()
}

fn response_head(
    version: reqwest::Version,
    status: reqwest::StatusCode,
    headers: &HeaderMap,
) -> Vec<u8> {
    let mut out = format!(
        "{} {} {}\r\n",
        version_str(version),
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in headers {
        if name == header::TRANSFER_ENCODING {
            out.extend_from_slice(b"x-kuzet-transfer-encoding");
        } else {
            out.extend_from_slice(name.as_str().as_bytes());
        }
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Maps a reqwest error to a typed kind, looking for the guard's refusal in the source chain.
fn map_reqwest(url: &Url, e: &reqwest::Error, limits: &FetchLimits) -> FetchError {
    let u = shorten(url.as_str());
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<ResolveError>() {
            return match r {
                ResolveError::Refused(r) => FetchError::PrivateAddress {
                    url: u,
                    addr: r.addr.to_string(),
                    class: r.class,
                },
                ResolveError::Onion { .. } => FetchError::OnionWithoutProxy { url: u },
                ResolveError::Lookup { .. } => FetchError::Connect {
                    url: u,
                    reason: r.to_string(),
                },
            };
        }
        source = s.source();
    }
    if e.is_timeout() {
        let (phase, after) = if e.is_connect() {
            (TimeoutPhase::Connect, limits.connect_timeout)
        } else {
            (TimeoutPhase::Read, limits.read_timeout)
        };
        return FetchError::Timeout {
            url: u,
            phase,
            after,
        };
    }
    if e.is_connect() {
        return FetchError::Connect {
            url: u,
            reason: error_chain(e),
        };
    }
    FetchError::Protocol {
        url: u,
        reason: error_chain(e),
    }
}

/// An error and its sources on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn content_types() {
        let allowed = FetchLimits::default().allowed_content_types;
        assert!(content_type_allowed(Some("text/html"), &allowed));
        assert!(content_type_allowed(Some("image/webp"), &allowed));
        assert!(!content_type_allowed(Some("application/pdf"), &allowed));
        assert!(!content_type_allowed(Some("text/htmlx"), &allowed));
        assert!(!content_type_allowed(None, &allowed));
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn decode_caps_and_errors() {
        let plain = b"hello hello hello".repeat(10);
        let gz = gzip(&plain);
        let ok = decode_body(&gz, &["gzip".into()], 1000, false)
            .ok()
            .unwrap();
        assert_eq!(ok.0, plain);
        assert!(matches!(
            decode_body(&gz, &["gzip".into()], 100, false),
            Err(DecodeError::TooLarge)
        ));
        let cut = decode_body(&gz, &["gzip".into()], 100, true).ok().unwrap();
        assert_eq!((cut.0.len(), cut.1), (100, true));
        assert!(matches!(
            decode_body(b"not gzip", &["gzip".into()], 100, false),
            Err(DecodeError::Bad { .. })
        ));
        assert!(matches!(
            decode_body(b"x", &["zstd".into()], 100, false),
            Err(DecodeError::Bad { .. })
        ));
        // Two layers, applied gzip then gzip again.
        let twice = gzip(&gz);
        assert_eq!(
            decode_body(&twice, &["gzip".into(), "gzip".into()], 1000, false)
                .ok()
                .unwrap()
                .0,
            plain
        );
    }
}
