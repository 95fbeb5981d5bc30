//! The SSRF guard: which addresses the crawler may connect to.
//!
//! Links and QR payloads are attacker-controlled, so by default the crawler refuses loopback, private
//! (RFC 1918, IPv6 unique-local), link-local (including cloud metadata at 169.254.169.254), CGNAT,
//! documentation, benchmarking, multicast, broadcast, reserved and unspecified addresses, and the same
//! addresses embedded in IPv6 (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`).
//! `allow_private_addresses` lifts this (tests, the demo, private monitoring targets).
//!
//! The decision is taken where the address is known:
//! - IP-literal hosts in [`check_url`], before each request and each redirect hop (reqwest does not
//!   call the resolver for IP literals);
//! - host names in [`GuardedResolver`], the reqwest DNS resolver: it resolves the name, drops refused
//!   addresses and fails with [`Refused`] when none is left, so no connection is attempted.
//!
//! `.onion` names are never resolved here ([`GuardedResolver`] refuses them); the fetcher sends them to
//! the SOCKS5 proxy only.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, LazyLock};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use url::{Host, Url};

use crate::error::FetchError;

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// 0.0.0.0, ::
    Unspecified,
    /// 127.0.0.0/8, ::1
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10
    Private,
    /// 169.254/16 (cloud metadata lives here), fe80::/10
    LinkLocal,
    /// 100.64/10
    Cgnat,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32
    Documentation,
    /// 198.18/15
    Benchmarking,
    /// 224/4, ff00::/8
    Multicast,
    /// 255.255.255.255
    Broadcast,
    /// 0/8, 192.0.0/24, 240/4 and other special-purpose blocks
    Reserved,
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressClass::Unspecified => "unspecified",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private",
            AddressClass::LinkLocal => "link-local",
            AddressClass::Cgnat => "CGNAT",
            AddressClass::Documentation => "documentation",
            AddressClass::Benchmarking => "benchmarking",
            AddressClass::Multicast => "multicast",
            AddressClass::Broadcast => "broadcast",
            AddressClass::Reserved => "reserved",
        })
    }
}

/// The special-purpose IPv4 blocks, built once.
static V4_BLOCKS: LazyLock<Vec<(Ipv4Net, AddressClass)>> = LazyLock::new(|| {
    use AddressClass::*;
    [
        ("0.0.0.0/32", Unspecified),
        ("0.0.0.0/8", Reserved),
        ("10.0.0.0/8", Private),
        ("100.64.0.0/10", Cgnat),
        ("127.0.0.0/8", Loopback),
        ("169.254.0.0/16", LinkLocal),
        ("172.16.0.0/12", Private),
        ("192.0.0.0/24", Reserved),
        ("192.0.2.0/24", Documentation),
        ("192.88.99.0/24", Reserved),
        ("192.168.0.0/16", Private),
        ("198.18.0.0/15", Benchmarking),
        ("198.51.100.0/24", Documentation),
        ("203.0.113.0/24", Documentation),
        ("224.0.0.0/4", Multicast),
        ("255.255.255.255/32", Broadcast),
        ("240.0.0.0/4", Reserved),
    ]
    .into_iter()
    .filter_map(|(net, class)| net.parse().ok().map(|n| (n, class)))
    .collect()
});

/// The special-purpose IPv6 blocks (embedded IPv4 handled separately), built once.
static V6_BLOCKS: LazyLock<Vec<(Ipv6Net, AddressClass)>> = LazyLock::new(|| {
    use AddressClass::*;
    [
        ("::/128", Unspecified),
        ("::1/128", Loopback),
        ("fc00::/7", Private),
        ("fec0::/10", Private),
        ("fe80::/10", LinkLocal),
        ("ff00::/8", Multicast),
        ("2001:db8::/32", Documentation),
        ("100::/64", Reserved),
        ("2001::/23", Reserved),
        ("::/96", Reserved),
    ]
    .into_iter()
    .filter_map(|(net, class)| net.parse().ok().map(|n| (n, class)))
    .collect()
});

/// The class that makes `ip` refused, or `None` when it is a public unicast address.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    V4_BLOCKS
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, c)| *c)
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    if let Some(v4) = embedded_v4(ip) {
        // A mapped public address is fine; a mapped private one is refused as that class.
        return classify_v4(v4);
    }
    V6_BLOCKS
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, c)| *c)
}

/// The IPv4 address carried inside an IPv6 one (mapped, NAT64 well-known prefix, 6to4).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let from = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return Some(from(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return Some(from(s[1], s[2]));
    }
    None
}

/// Refusal raised inside the resolver; the fetcher finds it in the reqwest error's source chain.
#[derive(Debug, Clone, thiserror::Error)]
#[error("refused {class} address {addr} for host {host}")]
pub struct Refused {
    /// The name that was resolved.
    pub host: String,
    /// The first refused address.
    pub addr: IpAddr,
    /// Why.
    pub class: AddressClass,
}

/// Whether `host` is a Tor onion service name.
pub fn is_onion(host: &str) -> bool {
    let h = host.trim_end_matches('.');
    h.len() > ".onion".len() && h.to_ascii_lowercase().ends_with(".onion")
}

/// Checks scheme and IP-literal host of `url` (names are checked by [`GuardedResolver`]).
pub fn check_url(url: &Url, allow_private_addresses: bool) -> Result<(), FetchError> {
    match url.scheme() {
        "http" | "https" => {}
        scheme => {
            return Err(crate::error::UrlError::BadScheme {
                url: crate::url::shorten(url.as_str()),
                scheme: scheme.to_string(),
            }
            .into());
        }
    }
    if allow_private_addresses {
        return Ok(());
    }
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    match classify(ip) {
        Some(class) => Err(FetchError::PrivateAddress {
            url: crate::url::shorten(url.as_str()),
            addr: ip.to_string(),
            class,
        }),
        None => Ok(()),
    }
}

/// Boxed future of a [`Lookup`].
pub type LookupFuture = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

/// Name → addresses. The system resolver in production ([`SystemLookup`]); tests substitute a table so
/// that the guard's decision can be tested without sending a packet anywhere.
pub trait Lookup: Send + Sync {
    /// Resolves `host` (a name, never an IP literal).
    fn lookup(&self, host: &str) -> LookupFuture;
}

/// The operating system's resolver (`getaddrinfo` on a blocking thread, via tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let host = host.to_string();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// reqwest DNS resolver that applies the guard to every resolved address.
#[derive(Clone)]
pub struct GuardedResolver {
    lookup: Arc<dyn Lookup>,
    allow_private_addresses: bool,
}

impl fmt::Debug for GuardedResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedResolver")
            .field("allow_private_addresses", &self.allow_private_addresses)
            .finish_non_exhaustive()
    }
}

impl GuardedResolver {
    /// A resolver using `lookup` and refusing private addresses unless `allow_private_addresses`.
    pub fn new(lookup: Arc<dyn Lookup>, allow_private_addresses: bool) -> Self {
        GuardedResolver {
            lookup,
            allow_private_addresses,
        }
    }

    /// Resolves `host` and applies the guard: the allowed addresses, or the refusal.
    pub async fn resolve_checked(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        if is_onion(host) {
            return Err(ResolveError::Onion {
                host: host.to_string(),
            });
        }
        let addrs = self
            .lookup
            .lookup(host)
            .await
            .map_err(|e| ResolveError::Lookup {
                host: host.to_string(),
                reason: e.to_string(),
            })?;
        if self.allow_private_addresses {
            return Ok(addrs);
        }
        let mut first_refused = None;
        let allowed: Vec<IpAddr> = addrs
            .into_iter()
            .filter(|ip| match classify(*ip) {
                Some(class) => {
                    first_refused.get_or_insert((*ip, class));
                    false
                }
                None => true,
            })
            .collect();
        match (allowed.is_empty(), first_refused) {
            (true, Some((addr, class))) => Err(ResolveError::Refused(Refused {
                host: host.to_string(),
                addr,
                class,
            })),
            (true, None) => Err(ResolveError::Lookup {
                host: host.to_string(),
                reason: "no addresses".to_string(),
            }),
            (false, _) => Ok(allowed),
        }
    }
}

/// Failure of [`GuardedResolver::resolve_checked`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum ResolveError {
    /// Every address was refused by the guard.
    #[error(transparent)]
    Refused(Refused),
    /// An onion name reached the direct resolver (a bug upstream; refused, never resolved).
    #[error("onion host {host} is never resolved directly")]
    Onion {
        /// The name.
        host: String,
    },
    /// The name did not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Lookup {
        /// The name.
        host: String,
        /// The resolver's message.
        reason: String,
    },
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let ips = this.resolve_checked(&host).await?;
            let addrs: reqwest::dns::Addrs =
                Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// Whether an address range contains only refused addresses (used to warn about scopes that can only
/// work with `--allow-private-addresses`).
pub fn range_is_refused(net: &IpNet) -> bool {
    classify(net.network()).is_some() && classify(net.broadcast()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn classification_table() {
        let cases: &[(&str, Option<AddressClass>)] = &[
            ("8.8.8.8", None),
            ("2a00:1450:4001:80b::200e", None),
            ("0.0.0.0", Some(AddressClass::Unspecified)),
            ("127.0.0.1", Some(AddressClass::Loopback)),
            ("10.0.0.1", Some(AddressClass::Private)),
            ("172.31.255.255", Some(AddressClass::Private)),
            ("172.32.0.1", None),
            ("192.168.1.1", Some(AddressClass::Private)),
            ("169.254.169.254", Some(AddressClass::LinkLocal)),
            ("100.64.0.1", Some(AddressClass::Cgnat)),
            ("192.0.2.1", Some(AddressClass::Documentation)),
            ("203.0.113.9", Some(AddressClass::Documentation)),
            ("198.18.0.1", Some(AddressClass::Benchmarking)),
            ("224.0.0.251", Some(AddressClass::Multicast)),
            ("255.255.255.255", Some(AddressClass::Broadcast)),
            ("240.0.0.1", Some(AddressClass::Reserved)),
            ("::", Some(AddressClass::Unspecified)),
            ("::1", Some(AddressClass::Loopback)),
            ("fd00::1", Some(AddressClass::Private)),
            ("fe80::1", Some(AddressClass::LinkLocal)),
            ("ff02::1", Some(AddressClass::Multicast)),
            ("2001:db8::1", Some(AddressClass::Documentation)),
            ("::ffff:127.0.0.1", Some(AddressClass::Loopback)),
            ("::ffff:10.1.2.3", Some(AddressClass::Private)),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::a9fe:a9fe", Some(AddressClass::LinkLocal)),
            ("2002:c0a8:0101::1", Some(AddressClass::Private)),
        ];
        for (ip, want) in cases {
            assert_eq!(classify(ip.parse().unwrap()), *want, "{ip}");
        }
    }

    #[test]
    fn literal_hosts_and_schemes() {
        let check = |u: &str, allow| {
            check_url(&Url::parse(u).unwrap(), allow)
                .err()
                .map(|e| e.kind())
        };
        assert_eq!(check("http://10.0.0.1/", false), Some("private_address"));
        assert_eq!(
            check("http://[::ffff:127.0.0.1]/", false),
            Some("private_address")
        );
        assert_eq!(
            check("http://169.254.169.254/latest/meta-data/", false),
            Some("private_address")
        );
        assert_eq!(check("http://0x7f.1/", false), Some("private_address"));
        assert_eq!(check("http://10.0.0.1/", true), None);
        assert_eq!(check("http://8.8.8.8/", false), None);
        assert_eq!(check("file:///etc/passwd", true), Some("bad_scheme"));
        assert_eq!(check("gopher://example.com/", false), Some("bad_scheme"));
    }

    struct Table(HashMap<&'static str, Vec<IpAddr>>);
    impl Lookup for Table {
        fn lookup(&self, host: &str) -> LookupFuture {
            let r = self
                .0
                .get(host)
                .cloned()
                .ok_or_else(|| std::io::Error::other("nxdomain"));
            Box::pin(async move { r })
        }
    }

    fn table() -> Arc<dyn Lookup> {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        Arc::new(Table(HashMap::from([
            ("private.test", vec![ip("10.0.0.1")]),
            ("metadata.test", vec![ip("169.254.169.254")]),
            ("mapped.test", vec![ip("::ffff:127.0.0.1")]),
            ("mixed.test", vec![ip("127.0.0.1"), ip("93.184.216.34")]),
            ("public.test", vec![ip("93.184.216.34")]),
        ])))
    }

    #[tokio::test]
    async fn resolver_refuses_private_answers() {
        let r = GuardedResolver::new(table(), false);
        for host in ["private.test", "metadata.test", "mapped.test"] {
            assert!(
                matches!(r.resolve_checked(host).await, Err(ResolveError::Refused(_))),
                "{host}"
            );
        }
        // Refused addresses are dropped; only the public one is left to connect to.
        assert_eq!(
            r.resolve_checked("mixed.test").await.unwrap(),
            vec!["93.184.216.34".parse::<IpAddr>().unwrap()]
        );
        assert!(matches!(
            r.resolve_checked("nx.test").await,
            Err(ResolveError::Lookup { .. })
        ));
        assert!(matches!(
            r.resolve_checked("abc.onion").await,
            Err(ResolveError::Onion { .. })
        ));
        let open = GuardedResolver::new(table(), true);
        assert_eq!(open.resolve_checked("private.test").await.unwrap().len(), 1);
    }

    #[test]
    fn onion_names() {
        assert!(is_onion(
            "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"
        ));
        assert!(is_onion("x.ONION."));
        assert!(!is_onion("onion"));
        assert!(!is_onion("example.com"));
    }
}
