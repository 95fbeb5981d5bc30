//! Indicators: contacts, addresses and accounts a shop leaves behind, validated so that noise
//! is not reported (checksums, versions, Luhn, country plan). One file per family.
//!
//! Values are normalised so that the same indicator on two pages compares equal: handles
//! lower-case with `@`, onion hosts lower-case, phones E.164, Ethereum lower-case hex.

mod bitcoin;
mod card;
mod ethereum;
mod monero;
mod onion;
mod phone;
mod telegram;
mod tron;
mod web;

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use serde::{Deserialize, Serialize};

/// What kind of indicator a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    /// A Telegram user or channel (`@name`, `t.me/name`, `tg://resolve?domain=name`).
    Telegram,
    /// A Telegram bot (a handle ending in `bot`).
    TelegramBot,
    /// A Telegram invite link (`t.me/+…`, `t.me/joinchat/…`).
    TelegramInvite,
    /// A v3 onion service address (checksum and version verified).
    Onion,
    /// A Bitcoin address (base58check P2PKH/P2SH or bech32/bech32m segwit).
    Bitcoin,
    /// An Ethereum (or other EVM) address; EIP-55 checked when mixed case.
    Ethereum,
    /// A TRON address (base58check, version byte 0x41).
    Tron,
    /// A Monero standard, subaddress or integrated address (Keccak checksum verified).
    Monero,
    /// A Kazakhstan phone number, E.164 (`+77…`, `+76…`).
    Phone,
    /// A payment card number (Luhn and issuer prefix checked).
    Card,
    /// An e-mail address.
    Email,
    /// An http(s) URL.
    Url,
    /// A domain name (from URLs or bare names with a common top-level domain).
    Domain,
}

impl IndicatorKind {
    /// The kind's name as written in rule files and JSON (`telegram_bot`, `onion` …).
    pub fn name(self) -> &'static str {
        match self {
            IndicatorKind::Telegram => "telegram",
            IndicatorKind::TelegramBot => "telegram_bot",
            IndicatorKind::TelegramInvite => "telegram_invite",
            IndicatorKind::Onion => "onion",
            IndicatorKind::Bitcoin => "bitcoin",
            IndicatorKind::Ethereum => "ethereum",
            IndicatorKind::Tron => "tron",
            IndicatorKind::Monero => "monero",
            IndicatorKind::Phone => "phone",
            IndicatorKind::Card => "card",
            IndicatorKind::Email => "email",
            IndicatorKind::Url => "url",
            IndicatorKind::Domain => "domain",
        }
    }
}

/// One validated indicator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Indicator {
    /// Its kind.
    pub kind: IndicatorKind,
    /// Its normalised value.
    pub value: String,
}

/// A found indicator with the byte offset where it starts (for ordering).
pub(crate) type Found = (usize, Indicator);

pub(crate) fn found(pos: usize, kind: IndicatorKind, value: impl Into<String>) -> Found {
    (
        pos,
        Indicator {
            kind,
            value: value.into(),
        },
    )
}

/// Extracts validated indicators from `text`, in order of first appearance, without
/// duplicates, at most [`crate::Limits::default`]`.max_indicators`.
/// Cost: a handful of regex passes over the text.
pub fn extract(text: &str) -> Vec<Indicator> {
    extract_limited(text, crate::Limits::default().max_indicators)
}

/// [`extract`] with an explicit maximum number of indicators.
pub fn extract_limited(text: &str, max: usize) -> Vec<Indicator> {
    extract_with_hints(text, max, &Hints::of(text))
}

fn extract_with_hints(text: &str, max: usize, h: &Hints) -> Vec<Indicator> {
    let mut all: Vec<Found> = Vec::new();
    telegram::find(text, h, &mut all);
    if h.onion {
        onion::find(text, &mut all);
    }
    bitcoin::find(text, h, &mut all);
    // Each address is a run of ASCII letters and digits of at least this length.
    if h.max_alnum_run >= 42 {
        ethereum::find(text, &mut all);
    }
    if h.max_alnum_run >= 34 {
        tron::find(text, &mut all);
    }
    if h.max_alnum_run >= 95 {
        monero::find(text, &mut all);
    }
    // A phone has ten ASCII digits after its prefix, a card thirteen or more.
    if h.ascii_digits >= 10 {
        phone::find(text, &mut all);
    }
    if h.ascii_digits >= 13 {
        card::find(text, &mut all);
    }
    web::find(text, h, &mut all);
    all.sort_by_key(|(pos, i)| (*pos, i.kind));
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (_, ind) in all {
        if out.len() >= max {
            break;
        }
        if seen.insert(ind.clone()) {
            out.push(ind);
        }
    }
    out
}

/// Literals (ASCII case-insensitive) that some finders require: `.onion`, Telegram link
/// domains, `tg://`.
static REQUIRED: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build([".onion", ".me/", ".dog/", "tg://"])
        .expect("static literals")
});

/// Cheap facts about a text (one pass over its bytes, one small automaton) that let a finder
/// skip a regex which cannot yield a validated indicator there. Never changes a result: each
/// fact is implied by every value its finder reports.
pub(crate) struct Hints {
    /// The text has an `@` (handles, e-mail).
    pub(crate) at: bool,
    /// Number of ASCII digits.
    pub(crate) ascii_digits: usize,
    /// Longest run of ASCII letters and digits (addresses).
    pub(crate) max_alnum_run: usize,
    /// `.onion` occurs (any ASCII case).
    pub(crate) onion: bool,
    /// `.me/` or `.dog/` occurs (Telegram links).
    pub(crate) tg_link: bool,
    /// `tg://` occurs.
    pub(crate) tg_resolve: bool,
}

impl Hints {
    pub(crate) fn of(text: &str) -> Hints {
        let (mut at, mut digits, mut run, mut max_run) = (false, 0usize, 0usize, 0usize);
        for &b in text.as_bytes() {
            if b.is_ascii_alphanumeric() {
                run += 1;
                digits += usize::from(b.is_ascii_digit());
            } else {
                max_run = max_run.max(run);
                run = 0;
                at |= b == b'@';
            }
        }
        let mut h = Hints {
            at,
            ascii_digits: digits,
            max_alnum_run: max_run.max(run),
            onion: false,
            tg_link: false,
            tg_resolve: false,
        };
        for m in REQUIRED.find_overlapping_iter(text) {
            match m.pattern().as_usize() {
                0 => h.onion = true,
                1 | 2 => h.tg_link = true,
                _ => h.tg_resolve = true,
            }
        }
        h
    }
}

/// A match and its capture groups. Group 0 carries positions in the searched text; the other
/// groups were resolved on the match alone, so only their text is meaningful.
pub(crate) struct Caps<'t> {
    m: regex::Match<'t>,
    groups: Option<regex::Captures<'t>>,
}

impl<'t> Caps<'t> {
    pub(crate) fn get(&self, i: usize) -> Option<regex::Match<'t>> {
        if i == 0 {
            Some(self.m)
        } else {
            self.groups.as_ref().and_then(|g| g.get(i))
        }
    }
}

/// `re.captures_iter(text)` for regexes without look-around: matches are found first and
/// groups resolved on each match alone (same groups: the leftmost-first match at the start of
/// its own text is the same match). Resolving groups on the whole text made the bounded
/// backtracker clear state proportional to the text for every match.
pub(crate) fn captures_iter<'r, 't>(
    re: &'r regex::Regex,
    text: &'t str,
) -> impl Iterator<Item = Caps<'t>> + use<'r, 't> {
    re.find_iter(text).map(move |m| Caps {
        m,
        groups: re.captures(m.as_str()),
    })
}

/// True when the byte before `pos` (if any) is an ASCII letter, digit or one of `extra`.
pub(crate) fn glued_before(text: &str, pos: usize, extra: &[u8]) -> bool {
    pos > 0
        && text
            .as_bytes()
            .get(pos - 1)
            .is_some_and(|b| b.is_ascii_alphanumeric() || extra.contains(b))
}

/// True when the byte at `pos` (if any) is an ASCII letter or digit.
pub(crate) fn glued_after(text: &str, pos: usize) -> bool {
    text.as_bytes()
        .get(pos)
        .is_some_and(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests;
