//! `--scope ENTRY`: which hosts a crawl may touch at all.
//!
//! An entry is either an address range in CIDR notation (`127.0.0.0/8`, `::1/128`; a bare address
//! means just that address) or a host-name suffix (`example.kz`, `localhost`). With at least one
//! entry set, a URL is in scope when its host is an IP literal inside a listed range, or a name equal
//! to a listed suffix or ending in `.` + suffix. Names are never resolved to decide scope: a name is
//! matched only against suffixes, an IP literal only against ranges, so refusing costs no DNS query
//! and no connection. With no entry, every host is in scope (the SSRF guard still applies).

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use url::{Host, Url};

use crate::error::FetchError;

/// One `--scope` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeEntry {
    /// A host-name suffix, lower-case, IDNA-encoded, without a leading or trailing dot.
    Suffix(String),
    /// An address range.
    Range(IpNet),
}

/// A `--scope` entry that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid scope entry {entry:?}: expected a host suffix (example.kz) or an address range (127.0.0.0/8)"
)]
pub struct ScopeParseError {
    /// The entry as given.
    pub entry: String,
}

impl FromStr for ScopeEntry {
    type Err = ScopeParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ScopeParseError {
            entry: s.to_string(),
        };
        let t = s.trim();
        if let Ok(net) = t.parse::<IpNet>() {
            return Ok(ScopeEntry::Range(net.trunc()));
        }
        if let Ok(ip) = t
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Ok(ScopeEntry::Range(IpNet::from(ip)));
        }
        if t.contains('/') {
            return Err(err());
        }
        let name = t.trim_start_matches('.').trim_end_matches('.');
        if name.is_empty() {
            return Err(err());
        }
        // Use the URL parser's host rules (lower case, IDNA) so entries compare like URL hosts.
        match Host::parse(name) {
            Ok(Host::Domain(d)) => Ok(ScopeEntry::Suffix(d)),
            _ => Err(err()),
        }
    }
}

impl ScopeEntry {
    /// Whether `url`'s host matches this entry (no DNS).
    pub fn matches_url(&self, url: &Url) -> bool {
        url.host().is_some_and(|h| self.matches(&h))
    }

    fn matches(&self, host: &Host<&str>) -> bool {
        match (self, host) {
            (ScopeEntry::Range(net), Host::Ipv4(ip)) => net.contains(&IpAddr::V4(*ip)),
            (ScopeEntry::Range(net), Host::Ipv6(ip)) => {
                net.contains(&IpAddr::V6(*ip))
                    || ip
                        .to_ipv4_mapped()
                        .is_some_and(|v4| net.contains(&IpAddr::V4(v4)))
            }
            (ScopeEntry::Suffix(suffix), Host::Domain(name)) => {
                let name = name.trim_end_matches('.');
                name == suffix
                    || (name.len() > suffix.len()
                        && name.ends_with(suffix.as_str())
                        && name.as_bytes()[name.len() - suffix.len() - 1] == b'.')
            }
            _ => false,
        }
    }
}

/// The set of scope entries of one crawl. Cheap to clone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    entries: Vec<ScopeEntry>,
}

impl Scope {
    /// No restriction: every host is in scope.
    pub fn unrestricted() -> Self {
        Scope::default()
    }

    /// A scope made of `entries` (empty means unrestricted).
    pub fn new(entries: Vec<ScopeEntry>) -> Self {
        Scope { entries }
    }

    /// Parses each `--scope` value.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, ScopeParseError> {
        entries
            .into_iter()
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Scope::new)
    }

    /// Whether no entry restricts the crawl.
    pub fn is_unrestricted(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries.
    pub fn entries(&self) -> &[ScopeEntry] {
        &self.entries
    }

    /// Whether `url`'s host is in scope. Pure: no DNS, no IO.
    pub fn allows(&self, url: &Url) -> bool {
        if self.entries.is_empty() {
            return true;
        }
        match url.host() {
            Some(host) => self.entries.iter().any(|e| e.matches(&host)),
            None => false,
        }
    }

    /// [`Scope::allows`] as a `Result` with the `out_of_scope` error.
    pub fn check(&self, url: &Url) -> Result<(), FetchError> {
        if self.allows(url) {
            Ok(())
        } else {
            Err(FetchError::OutOfScope {
                url: crate::url::shorten(url.as_str()),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(entries: &[&str]) -> Scope {
        Scope::parse(entries.iter().copied()).unwrap()
    }

    #[test]
    fn table() {
        // (scope entries, url, in scope)
        let cases: &[(&[&str], &str, bool)] = &[
            (&[], "http://anything.example/", true),
            (&["127.0.0.0/8"], "http://127.0.0.1:8080/", true),
            (&["127.0.0.0/8"], "http://127.200.3.4/", true),
            (&["127.0.0.0/8"], "http://10.0.0.1/", false),
            (&["127.0.0.0/8"], "http://localhost/", false),
            (&["127.0.0.0/8"], "http://[::ffff:127.0.0.1]/", true),
            (&["localhost"], "http://localhost:3000/", true),
            (&["localhost"], "http://127.0.0.1/", false),
            (&["example.kz"], "http://shop.example.kz/", true),
            (&["example.kz"], "http://EXAMPLE.KZ./", true),
            (&["example.kz"], "http://badexample.kz/", false),
            (&["example.kz"], "http://example.kz.evil.com/", false),
            (&[".example.kz"], "http://a.example.kz/", true),
            (&["::1"], "http://[::1]:80/", true),
            (&["қаз"], "http://магазин.қаз/", true),
            (&["onion"], "http://abcdefghijklmnop.onion/", true),
        ];
        for (entries, url, want) in cases {
            let u = Url::parse(url).unwrap();
            assert_eq!(scope(entries).allows(&u), *want, "{entries:?} {url}");
        }
    }

    #[test]
    fn bad_entries_are_refused() {
        for bad in ["", "127.0.0.0/33", "a/b", "exa mple.kz", "."] {
            assert!(bad.parse::<ScopeEntry>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn check_gives_out_of_scope_kind() {
        let s = scope(&["127.0.0.0/8"]);
        let e = s
            .check(&Url::parse("http://example.com/").unwrap())
            .unwrap_err();
        assert_eq!(e.kind(), "out_of_scope");
    }
}
