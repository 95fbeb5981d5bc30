//! Kazakhstan phone numbers (+7 6xx / +7 7xx, written `+7`, `8` or bare), normalised to E.164.

use std::sync::LazyLock;

use regex::Regex;

use super::{Found, IndicatorKind, found};

static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+\s?7|8)[\s\-]?\(?([67]\d{2})\)?[\s\-]?(\d{3})[\s\-]?(\d{2})[\s\-]?(\d{2})")
        .expect("static regex")
});

pub(crate) fn find(text: &str, out: &mut Vec<Found>) {
    let bytes = text.as_bytes();
    for c in super::captures_iter(&PHONE, text) {
        let Some(m) = c.get(0) else { continue };
        let before = m.start().checked_sub(1).and_then(|i| bytes.get(i));
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'+')
            || bytes.get(m.end()).is_some_and(|b| b.is_ascii_digit())
        {
            continue;
        }
        let digits: String = (1..=4)
            .filter_map(|i| c.get(i))
            .map(|g| g.as_str())
            .collect();
        if digits.len() == 10 {
            out.push(found(
                m.start(),
                IndicatorKind::Phone,
                format!("+7{digits}"),
            ));
        }
    }
}
