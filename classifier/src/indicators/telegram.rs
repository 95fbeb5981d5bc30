//! Telegram handles, links and bots.

use std::sync::LazyLock;

use regex::Regex;

use super::{Found, Hints, IndicatorKind, found, glued_after, glued_before};

static HANDLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"@([A-Za-z][A-Za-z0-9_]{3,31})").expect("static regex"));
static LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:https?://)?(?:t|telegram)\.(?:me|dog)/(?:s/)?(\+[A-Za-z0-9_-]{8,}|joinchat/[A-Za-z0-9_-]{8,}|[A-Za-z][A-Za-z0-9_]{3,31})",
    )
    .expect("static regex")
});
static RESOLVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)tg://resolve\?domain=([A-Za-z][A-Za-z0-9_]{3,31})").expect("static regex")
});

/// Names that follow `t.me/` but are not accounts.
const NOT_ACCOUNTS: &[&str] = &["share", "addstickers", "proxy", "socks", "login", "iv"];

fn account(pos: usize, name: &str, out: &mut Vec<Found>) {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with('_') || lower.contains("__") || NOT_ACCOUNTS.contains(&lower.as_str()) {
        return;
    }
    let kind = if lower.ends_with("bot") {
        IndicatorKind::TelegramBot
    } else {
        IndicatorKind::Telegram
    };
    out.push(found(pos, kind, format!("@{lower}")));
}

pub(crate) fn find(text: &str, h: &Hints, out: &mut Vec<Found>) {
    let none = "";
    for c in super::captures_iter(&HANDLE, if h.at { text } else { none }) {
        let (Some(m), Some(name)) = (c.get(0), c.get(1)) else {
            continue;
        };
        // `user@example.com` and ` @example.com` are e-mail, not handles; a dot that ends
        // the sentence (`пиши @kaif_shop.`) or stands alone before the `@` (`.@kaif_shop`,
        // punctuation or an OCR speck) does not make one.
        let dot_before = m.start() >= 2 && text.as_bytes()[m.start() - 1] == b'.';
        let glued = glued_before(text, m.start(), b"_@")
            || (dot_before && glued_before(text, m.start() - 1, b"_.@"));
        let rest = &text[m.end()..];
        if glued || (rest.starts_with('.') && glued_after(rest, 1)) {
            continue;
        }
        account(m.start(), name.as_str(), out);
    }
    for c in super::captures_iter(&LINK, if h.tg_link { text } else { none }) {
        let (Some(m), Some(name)) = (c.get(0), c.get(1)) else {
            continue;
        };
        if glued_before(text, m.start(), b"_.-") {
            continue;
        }
        let name = name.as_str();
        if name.starts_with('+') || name.to_ascii_lowercase().starts_with("joinchat/") {
            out.push(found(
                m.start(),
                IndicatorKind::TelegramInvite,
                format!("t.me/{name}"),
            ));
        } else {
            account(m.start(), name, out);
        }
    }
    for c in super::captures_iter(&RESOLVE, if h.tg_resolve { text } else { none }) {
        if let (Some(m), Some(name)) = (c.get(0), c.get(1)) {
            account(m.start(), name.as_str(), out);
        }
    }
}
