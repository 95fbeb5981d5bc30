//! TRON addresses: base58check, 21-byte payload starting with 0x41 (`T…`).

use std::sync::LazyLock;

use regex::Regex;

use super::{Found, IndicatorKind, found, glued_after, glued_before};

static TRON: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"T[1-9A-HJ-NP-Za-km-z]{33}").expect("static regex"));

pub(crate) fn find(text: &str, out: &mut Vec<Found>) {
    for m in TRON.find_iter(text) {
        if glued_before(text, m.start(), b"") || glued_after(text, m.end()) {
            continue;
        }
        if let Ok(payload) = bs58::decode(m.as_str()).with_check(None).into_vec()
            && payload.len() == 21
            && payload[0] == 0x41
        {
            out.push(found(m.start(), IndicatorKind::Tron, m.as_str()));
        }
    }
}
