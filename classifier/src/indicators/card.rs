//! Payment card numbers: 13–19 digits (contiguous or in groups of four), Luhn-valid, with a
//! known issuer prefix (Visa, Mastercard, Amex, UnionPay, Mir, JCB, Maestro).

use std::sync::LazyLock;

use regex::Regex;

use super::{Found, IndicatorKind, found};

static CARD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d{4}(?:[ \-]\d{4}){3}(?:[ \-]\d{1,3})?|\d{13,19}").expect("static regex")
});

/// The Luhn check.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

fn known_issuer(d: &[u8]) -> bool {
    let prefix = |n: usize| -> u32 {
        d.iter()
            .take(n)
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'))
    };
    let (p1, p2, p4) = (prefix(1), prefix(2), prefix(4));
    p1 == 4
        || (51..=55).contains(&p2)
        || (2221..=2720).contains(&p4)
        || p2 == 34
        || p2 == 37
        || p2 == 62
        || (2200..=2204).contains(&p4)
        || p2 == 35
        || matches!(p2, 50 | 56..=58 | 63 | 67)
}

pub(crate) fn find(text: &str, out: &mut Vec<Found>) {
    let bytes = text.as_bytes();
    for m in CARD.find_iter(text) {
        let before = m.start().checked_sub(1).and_then(|i| bytes.get(i));
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b','))
            || bytes
                .get(m.end())
                .is_some_and(|b| b.is_ascii_alphanumeric())
        {
            continue;
        }
        let digits: Vec<u8> = m.as_str().bytes().filter(u8::is_ascii_digit).collect();
        if (13..=19).contains(&digits.len())
            && known_issuer(&digits)
            && luhn(&digits)
            && digits.iter().any(|&d| d != digits[0])
        {
            let value = String::from_utf8_lossy(&digits).into_owned();
            out.push(found(m.start(), IndicatorKind::Card, value));
        }
    }
}
