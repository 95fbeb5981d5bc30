//! E-mail addresses, http(s) URLs and domain names.

use std::sync::LazyLock;

use regex::Regex;

use super::{Found, Hints, IndicatorKind, found, glued_before};

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@([A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24})")
        .expect("static regex")
});
static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)https?://[^\s<>"'«»\\]{3,2000}"#).expect("static regex"));
/// Bare domains are only reported with a top-level domain shops actually use, to keep
/// `file.txt` and `v1.2` out.
static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+(?:kz|ru|su|by|uz|kg|com|net|org|info|biz|io|me|cc|to|top|xyz|shop|store|site|online|club|pro|ws)")
        .expect("static regex")
});

fn host_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    parsed
        .host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
}

pub(crate) fn find(text: &str, h: &Hints, out: &mut Vec<Found>) {
    let bytes = text.as_bytes();
    for c in super::captures_iter(&EMAIL, if h.at { text } else { "" }) {
        let Some(m) = c.get(0) else { continue };
        if glued_before(text, m.start(), b"._%+-") {
            continue;
        }
        out.push(found(
            m.start(),
            IndicatorKind::Email,
            m.as_str().to_ascii_lowercase(),
        ));
    }
    for m in URL.find_iter(text) {
        let url = m
            .as_str()
            .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}']);
        if let Some(host) = host_of(url) {
            out.push(found(m.start(), IndicatorKind::Url, url));
            out.push(found(m.start(), IndicatorKind::Domain, host));
        }
    }
    for m in DOMAIN.find_iter(text) {
        if glued_before(text, m.start(), b"@.-_/")
            || bytes
                .get(m.end())
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'@' || *b == b'-')
        {
            continue;
        }
        let d = m.as_str().to_ascii_lowercase();
        // Telegram link domains are reported as Telegram indicators instead.
        if matches!(d.as_str(), "t.me" | "telegram.me" | "telegram.dog") {
            continue;
        }
        out.push(found(m.start(), IndicatorKind::Domain, d));
    }
}
