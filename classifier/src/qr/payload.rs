//! Payload analysis: decoded QR text → typed leads for the crawler and the case builder.
//!
//! URLs with a dangerous or useless scheme (`javascript:`, `file:`, `data:`, `intent:`, …) are
//! recorded as [`LeadKind::DangerousScheme`] and never as a URL to fetch.

use std::sync::LazyLock;

use regex::Regex;

/// What a lead is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LeadKind {
    /// An `http`/`https` URL on the clear web (still subject to the crawler's SSRF guard).
    Url,
    /// An `http`/`https` URL whose host is a `.onion` name (fetched only through SOCKS).
    Onion,
    /// A Telegram link: `t.me/…`, `telegram.me/…`, `tg://…`.
    Telegram,
    /// A cryptocurrency address or payment URI.
    Wallet,
    /// A telephone number.
    Phone,
    /// An e-mail address.
    Email,
    /// A URI with a scheme that must never be followed (`javascript:`, `file:`, `data:`,
    /// `intent:`, `vbscript:`, `blob:`, `content:`, `jar:`, …); the value is the text as found.
    DangerousScheme,
    /// Plain text with none of the above.
    Text,
}

impl LeadKind {
    /// Stable lower-case name for JSON and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Url => "url",
            Self::Onion => "onion",
            Self::Telegram => "telegram",
            Self::Wallet => "wallet",
            Self::Phone => "phone",
            Self::Email => "email",
            Self::DangerousScheme => "dangerous_scheme",
            Self::Text => "text",
        }
    }
}

/// A typed lead extracted from a payload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lead {
    /// The kind.
    pub kind: LeadKind,
    /// The value: a URL as found (trimmed), an address, a number, or the whole text for `Text`.
    pub value: String,
}

/// Longest value kept for a lead; longer values are cut at a character boundary.
pub const MAX_LEAD_CHARS: usize = 2048;

const DANGEROUS: &[&str] = &[
    "javascript",
    "vbscript",
    "file",
    "data",
    "intent",
    "blob",
    "content",
    "jar",
    "about",
    "chrome",
    "res",
    "ms-appx",
    "filesystem",
    "view-source",
];

const WALLET_SCHEMES: &[&str] = &[
    "bitcoin",
    "ethereum",
    "litecoin",
    "monero",
    "tron",
    "dogecoin",
    "bitcoincash",
    "usdt",
];

/// URIs with a scheme we act on: web, Telegram, dangerous and wallet schemes.
static SCHEME_URI: LazyLock<Regex> = LazyLock::new(|| {
    let schemes: Vec<&str> = ["https?", "tg"]
        .into_iter()
        .chain(DANGEROUS.iter().copied())
        .chain(WALLET_SCHEMES.iter().copied())
        .collect();
    Regex::new(&format!(r"(?i)\b({}):[^\s<>\x22]+", schemes.join("|"))).expect("static regex")
});
static BARE_HOST_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:www\.|t\.me/|telegram\.me/|[a-z2-7]{16,56}\.onion\b)[^\s<>\x22;]*")
        .expect("static regex")
});

/// Turns one decoded payload into leads, most specific first, without duplicates.
/// A payload with nothing recognisable gives one [`LeadKind::Text`] lead.
pub fn leads(text: &str) -> Vec<Lead> {
    // MECARD/MEBKM payloads: `;`-separated fields with `\:` and `\;` escaped.
    let upper = text.get(..7).unwrap_or(text).to_ascii_uppercase();
    if upper.starts_with("MECARD:") || upper.starts_with("MEBKM:") {
        let mut out: Vec<Lead> = Vec::new();
        for field in text.replace("\\;", "\u{1}").split(';') {
            let field = field.replace("\\:", ":").replace('\u{1}', ";");
            for l in scan_text(&field) {
                if !out.contains(&l) {
                    out.push(l);
                }
            }
        }
        if out.is_empty() {
            out.push(Lead {
                kind: LeadKind::Text,
                value: cut(text),
            });
        }
        return out;
    }
    let mut out = scan_text(text);
    if out.is_empty() {
        out.push(Lead {
            kind: LeadKind::Text,
            value: cut(text),
        });
    }
    out
}

/// Leads found in `text`; empty when none.
fn scan_text(text: &str) -> Vec<Lead> {
    let mut out: Vec<Lead> = Vec::new();
    let mut push = |kind: LeadKind, value: &str| {
        let value = cut(trim_trailing(value));
        if !value.is_empty() && !out.iter().any(|l| l.kind == kind && l.value == value) {
            out.push(Lead { kind, value });
        }
    };
    // Spans already claimed by a URI, so that e-mails and phones inside it are not repeated.
    let mut claimed: Vec<(usize, usize)> = Vec::new();
    for m in SCHEME_URI.captures_iter(text) {
        let (Some(all), Some(scheme)) = (m.get(0), m.get(1)) else {
            continue;
        };
        let scheme_lc = scheme.as_str().to_ascii_lowercase();
        let s = all.as_str();
        let kind = match scheme_lc.as_str() {
            "http" | "https" => Some(classify_web(s)),
            "tg" => Some(LeadKind::Telegram),
            x if DANGEROUS.contains(&x) => Some(LeadKind::DangerousScheme),
            x if WALLET_SCHEMES.contains(&x) => Some(LeadKind::Wallet),
            _ => None,
        };
        if let Some(kind) = kind {
            push(kind, s);
            claimed.push((all.start(), all.end()));
        }
    }
    let free = |s: usize, e: usize, claimed: &[(usize, usize)]| {
        !claimed.iter().any(|&(a, b)| s < b && a < e)
    };
    for m in BARE_HOST_URL.find_iter(text) {
        if free(m.start(), m.end(), &claimed) {
            let lower = m.as_str().to_ascii_lowercase();
            let kind = if lower.starts_with("t.me/") || lower.starts_with("telegram.me/") {
                LeadKind::Telegram
            } else {
                classify_web(&format!("http://{lower}"))
            };
            push(kind, m.as_str());
            claimed.push((m.start(), m.end()));
        }
    }
    // Wallets, phones, e-mails and handles come from the classifier's validated extraction
    // (checksums, E.164), so a QR payload yields the same indicators as page text.
    use crate::indicators::IndicatorKind as K;
    let mut extra = Vec::new();
    for ind in crate::indicators::extract(text) {
        let kind = match ind.kind {
            K::Bitcoin | K::Ethereum | K::Tron | K::Monero | K::Card => LeadKind::Wallet,
            K::Phone => LeadKind::Phone,
            K::Email => LeadKind::Email,
            K::Onion => LeadKind::Onion,
            K::Telegram | K::TelegramBot | K::TelegramInvite => LeadKind::Telegram,
            // URLs and domains were typed above from the URI itself.
            K::Url | K::Domain => continue,
        };
        extra.push((kind, ind.value));
    }
    for (kind, value) in extra {
        // Skip what a URI lead already carries (a handle inside its t.me link, say).
        let bare = value.trim_start_matches('@').to_lowercase();
        if !out.iter().any(|l| l.value.to_lowercase().contains(&bare)) {
            out.push(Lead {
                kind,
                value: cut(&value),
            });
        }
    }
    out
}

/// `Onion`, `Telegram` or `Url` for an `http(s)://` string, judged by its host.
fn classify_web(s: &str) -> LeadKind {
    let rest = s.split_once("://").map_or(s, |(_, r)| r);
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = host_port
        .split(':')
        .next()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if host.ends_with(".onion") {
        LeadKind::Onion
    } else if ["t.me", "telegram.me", "telegram.dog"]
        .iter()
        .any(|t| host == *t || host.ends_with(&format!(".{t}")))
    {
        LeadKind::Telegram
    } else {
        LeadKind::Url
    }
}

/// Drops punctuation that ends a sentence rather than a URI: `.,!?'` and unbalanced `)`/`]`.
fn trim_trailing(mut s: &str) -> &str {
    loop {
        let Some(last) = s.chars().last() else {
            return s;
        };
        let drop = match last {
            '.' | ',' | '!' | '?' | '\'' | ';' => true,
            ')' => s.matches('(').count() < s.matches(')').count(),
            ']' => s.matches('[').count() < s.matches(']').count(),
            _ => false,
        };
        if !drop {
            return s;
        }
        s = &s[..s.len() - last.len_utf8()];
    }
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_LEAD_CHARS) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(LeadKind, String)> {
        leads(text).into_iter().map(|l| (l.kind, l.value)).collect()
    }

    #[test]
    fn typed_leads() {
        use LeadKind::*;
        let cases: &[(&str, &[(LeadKind, &str)])] = &[
            (
                "https://shop.example.kz/buy?x=1",
                &[(Url, "https://shop.example.kz/buy?x=1")],
            ),
            ("HTTP://Example.COM", &[(Url, "HTTP://Example.COM")]),
            (
                "http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv.onion/shop",
                &[(
                    Onion,
                    "http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv.onion/shop",
                )],
            ),
            (
                "https://t.me/some_shop_kz",
                &[(Telegram, "https://t.me/some_shop_kz")],
            ),
            ("пиши в t.me/shop_bot!", &[(Telegram, "t.me/shop_bot")]),
            (
                "tg://resolve?domain=shop",
                &[(Telegram, "tg://resolve?domain=shop")],
            ),
            (
                "javascript:alert(1)",
                &[(DangerousScheme, "javascript:alert(1)")],
            ),
            (
                "file:///etc/passwd",
                &[(DangerousScheme, "file:///etc/passwd")],
            ),
            (
                "data:text/html,<b>x</b>",
                &[(DangerousScheme, "data:text/html")],
            ),
            (
                "intent://scan/#Intent;scheme=zxing;end",
                &[(DangerousScheme, "intent://scan/#Intent;scheme=zxing;end")],
            ),
            (
                "bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq?amount=1",
                &[(
                    Wallet,
                    "bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq?amount=1",
                )],
            ),
            (
                "USDT TRC20: TJRabPrwbZy45sbavfcjinPJC18kjpRTv8",
                &[(Wallet, "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8")],
            ),
            ("звоните +7 701 234 56 78", &[(Phone, "+77012345678")]),
            ("mailto:a@b.kz", &[(Email, "a@b.kz")]),
            (
                "MEBKM:TITLE:x;URL:http\\://en.wikipedia.org/wiki/Main_Page;;",
                &[(Url, "http://en.wikipedia.org/wiki/Main_Page")],
            ),
            ("see www.example.com/x now", &[(Url, "www.example.com/x")]),
            ("hello world", &[(Text, "hello world")]),
        ];
        for (text, want) in cases {
            let want: Vec<_> = want.iter().map(|(k, v)| (*k, v.to_string())).collect();
            assert_eq!(kinds(text), want, "payload {text:?}");
        }
    }

    #[test]
    fn vcard_gives_email_phone_and_url() {
        let v = "BEGIN:VCARD\nN:Doe;J\nTEL:+7 (701) 234-56-78\nEMAIL:j@shop.kz\nURL:https://shop.kz\nEND:VCARD";
        let got = kinds(v);
        assert!(
            got.contains(&(LeadKind::Url, "https://shop.kz".into())),
            "{got:?}"
        );
        assert!(
            got.contains(&(LeadKind::Email, "j@shop.kz".into())),
            "{got:?}"
        );
        assert!(got.iter().any(|(k, _)| *k == LeadKind::Phone), "{got:?}");
        assert!(!got.iter().any(|(k, _)| *k == LeadKind::Text), "{got:?}");
    }

    #[test]
    fn long_values_are_cut() {
        let long = format!("https://example.com/{}", "a".repeat(10_000));
        let l = leads(&long);
        assert_eq!(l[0].value.chars().count(), MAX_LEAD_CHARS);
    }
}
