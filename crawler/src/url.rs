//! URL canonicalisation, the frontier key and crawler-trap heuristics.
//!
//! The canonical form is what the frontier deduplicates on. Parsing with the `url` crate already
//! lower-cases the host, applies IDNA (Unicode hosts become `xn--` labels), drops the scheme's default
//! port, resolves `.` and `..` segments and turns an empty path into `/`. On top of that
//! [`canonicalize`] drops the fragment, an empty query (`?`) and trailing dots on the host, and
//! refuses schemes other than `http` and `https`. Query parameter order is kept: reordering changes
//! meaning on some sites.

use sha2::{Digest, Sha256};
use url::Url;

use crate::error::{Trap, UrlError};

/// Limits of the trap heuristics. `Default` gives the documented values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlLimits {
    /// Longest canonical URL accepted, in bytes. Default 2048 (what most servers and browsers accept).
    pub max_len: usize,
    /// How often one non-empty path segment may occur. Default 3 (`/a/b/a/b/a/b/a` is refused).
    pub max_segment_repeats: usize,
    /// Most path segments. Default 32.
    pub max_path_segments: usize,
    /// Most query parameters. Default 16.
    pub max_query_params: usize,
}

impl Default for UrlLimits {
    fn default() -> Self {
        UrlLimits {
            max_len: 2048,
            max_segment_repeats: 3,
            max_path_segments: 32,
            max_query_params: 16,
        }
    }
}

/// Parses `input` and returns its canonical form (see the module docs).
pub fn parse_canonical(input: &str) -> Result<Url, UrlError> {
    let url = Url::parse(input.trim()).map_err(|e| UrlError::Parse {
        input: input.to_string(),
        reason: e.to_string(),
    })?;
    canonicalize(url)
}

/// Resolves `href` against `base` and returns the canonical form of the result.
pub fn join_canonical(base: &Url, href: &str) -> Result<Url, UrlError> {
    let url = base.join(href.trim()).map_err(|e| UrlError::Parse {
        input: href.to_string(),
        reason: e.to_string(),
    })?;
    canonicalize(url)
}

/// Canonicalises an already parsed URL (see the module docs).
pub fn canonicalize(mut url: Url) -> Result<Url, UrlError> {
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(UrlError::BadScheme {
                url: shorten(url.as_str()),
                scheme: other.to_string(),
            });
        }
    }
    let host = match url.host_str() {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => {
            return Err(UrlError::NoHost {
                url: shorten(url.as_str()),
            });
        }
    };
    // Every trailing dot goes (`a.kz..` is `a.kz`), so canonicalising is idempotent; found by
    // the `url` fuzz target.
    let stripped = host.trim_end_matches('.');
    if stripped.len() != host.len() && !stripped.is_empty() {
        url.set_host(Some(stripped)).map_err(|e| UrlError::Parse {
            input: url.to_string(),
            reason: e.to_string(),
        })?;
    }
    url.set_fragment(None);
    if url.query() == Some("") {
        url.set_query(None);
    }
    // Credentials never belong in a crawled URL: they would end up in the database and in reports.
    if !url.username().is_empty() || url.password().is_some() {
        // Cannot fail for http(s) URLs with a host.
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    Ok(url)
}

/// The frontier key of a canonical URL: lower-case hex SHA-256 of its serialisation (64 characters).
pub fn url_key(canonical: &Url) -> String {
    hex::encode(Sha256::digest(canonical.as_str().as_bytes()))
}

/// Applies the trap heuristics of `limits` to a canonical URL.
pub fn check_trap(url: &Url, limits: &UrlLimits) -> Result<(), UrlError> {
    let trap = |trap| {
        Err(UrlError::Trap {
            url: shorten(url.as_str()),
            trap,
        })
    };
    let len = url.as_str().len();
    if len > limits.max_len {
        return trap(Trap::TooLong {
            len,
            max: limits.max_len,
        });
    }
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    if segments.len() > limits.max_path_segments {
        return trap(Trap::TooDeep {
            depth: segments.len(),
            max: limits.max_path_segments,
        });
    }
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for s in &segments {
        let c = counts.entry(s).or_insert(0);
        *c += 1;
        if *c > limits.max_segment_repeats {
            return trap(Trap::RepeatingSegments {
                segment: s.to_string(),
                count: *c,
                max: limits.max_segment_repeats,
            });
        }
    }
    if let Some(q) = url.query() {
        let count = q.split('&').filter(|p| !p.is_empty()).count();
        if count > limits.max_query_params {
            return trap(Trap::QueryExplosion {
                count,
                max: limits.max_query_params,
            });
        }
    }
    Ok(())
}

/// The host of an http(s) URL as the politeness and robots layers key it: `host[:port]`
/// (the port only when it is not the scheme's default).
pub fn host_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// Shortens a URL for error messages (URLs in errors are attacker-controlled and may be huge).
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 300;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        let cases = [
            (
                "HTTP://Example.COM:80/a/./b/../c#frag",
                "http://example.com/a/c",
            ),
            ("https://example.com:443", "https://example.com/"),
            ("https://example.com:8443/x?", "https://example.com:8443/x"),
            (
                "http://пример.қаз/путь?q=1",
                "http://xn--e1afmkfd.xn--80ao21a/%D0%BF%D1%83%D1%82%D1%8C?q=1",
            ),
            ("http://example.com./", "http://example.com/"),
            ("http://example.com%2e%2e/", "http://example.com/"),
            ("http://user:pw@example.com/", "http://example.com/"),
            (
                "  http://example.com/b?y=2&x=1  ",
                "http://example.com/b?y=2&x=1",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_canonical(input).map(|u| u.to_string()),
                Ok(want.to_string()),
                "{input}"
            );
        }
    }

    #[test]
    fn refusals_have_kinds() {
        assert_eq!(
            parse_canonical("ftp://example.com/").unwrap_err().kind(),
            "bad_scheme"
        );
        assert_eq!(
            parse_canonical("javascript:alert(1)").unwrap_err().kind(),
            "bad_scheme"
        );
        assert_eq!(parse_canonical("not a url").unwrap_err().kind(), "bad_url");
    }

    #[test]
    fn key_is_stable_hex_and_dedups_equivalent_forms() {
        let a = parse_canonical("http://EXAMPLE.com:80/a/../b#x").unwrap();
        let b = parse_canonical("http://example.com/b").unwrap();
        assert_eq!(url_key(&a), url_key(&b));
        assert_eq!(url_key(&a).len(), 64);
        assert_ne!(
            url_key(&a),
            url_key(&parse_canonical("http://example.com/c").unwrap())
        );
    }

    #[test]
    fn traps() {
        let l = UrlLimits::default();
        let kind = |s: &str| {
            check_trap(&parse_canonical(s).unwrap(), &l)
                .err()
                .map(|e| e.kind())
        };
        assert_eq!(kind("http://e.com/2024/01/01/post"), None);
        assert_eq!(
            kind("http://e.com/a/b/a/b/a/b/a/b"),
            Some("trap_repeating_segments")
        );
        let long = format!("http://e.com/{}", "x".repeat(3000));
        assert_eq!(kind(&long), Some("trap_url_too_long"));
        let q: Vec<String> = (0..20).map(|i| format!("p{i}=1")).collect();
        assert_eq!(
            kind(&format!("http://e.com/?{}", q.join("&"))),
            Some("trap_query_explosion")
        );
        let deep: String = (0..40).map(|i| format!("/d{i}")).collect();
        assert_eq!(kind(&format!("http://e.com{deep}")), Some("trap_too_deep"));
    }

    #[test]
    fn host_key_keeps_non_default_port() {
        assert_eq!(
            host_key(&parse_canonical("http://127.0.0.1:8080/").unwrap()),
            "127.0.0.1:8080"
        );
        assert_eq!(
            host_key(&parse_canonical("https://a.kz:443/").unwrap()),
            "a.kz"
        );
    }
}
