//! Bitcoin addresses: base58check (P2PKH `1…`, P2SH `3…`) and segwit bech32/bech32m (`bc1…`).

use std::sync::LazyLock;

use regex::Regex;

use super::{Found, Hints, IndicatorKind, found, glued_after, glued_before};

static BASE58: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[13][1-9A-HJ-NP-Za-km-z]{25,34}").expect("static regex"));
static BECH32: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)bc1[02-9ac-hj-np-z]{11,71}").expect("static regex"));

/// A valid address is a run of ASCII letters and digits of at least 26 (base58) or 14 (bech32)
/// characters; shorter runs are not searched.
pub(crate) fn find(text: &str, h: &Hints, out: &mut Vec<Found>) {
    if h.max_alnum_run < 14 {
        return;
    }
    for m in BASE58.find_iter(if h.max_alnum_run >= 26 { text } else { "" }) {
        if glued_before(text, m.start(), b"") || glued_after(text, m.end()) {
            continue;
        }
        if let Ok(payload) = bs58::decode(m.as_str()).with_check(None).into_vec()
            && payload.len() == 21
            && (payload[0] == 0x00 || payload[0] == 0x05)
        {
            out.push(found(m.start(), IndicatorKind::Bitcoin, m.as_str()));
        }
    }
    for m in BECH32.find_iter(text) {
        if glued_before(text, m.start(), b"") || glued_after(text, m.end()) {
            continue;
        }
        let s = m.as_str();
        // Mixed case is invalid in bech32.
        if s.chars().any(|c| c.is_ascii_uppercase()) && s.chars().any(|c| c.is_ascii_lowercase()) {
            continue;
        }
        if let Ok((hrp, _version, _program)) = bech32::segwit::decode(s)
            && hrp == bech32::hrp::BC
        {
            out.push(found(
                m.start(),
                IndicatorKind::Bitcoin,
                s.to_ascii_lowercase(),
            ));
        }
    }
}
