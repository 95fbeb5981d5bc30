//! Ethereum (EVM) addresses: `0x` + 40 hex digits; EIP-55 checksum verified when mixed case.

use std::sync::LazyLock;

use regex::Regex;
use sha3::{Digest, Keccak256};

use super::{Found, IndicatorKind, found, glued_after, glued_before};

static ETH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"0x[0-9a-fA-F]{40}").expect("static regex"));

/// EIP-55: the i-th letter is upper case iff the i-th nibble of keccak256(lower hex) ≥ 8.
pub(crate) fn eip55_ok(hex40: &str) -> bool {
    let has_upper = hex40.bytes().any(|b| b.is_ascii_uppercase());
    let has_lower = hex40.bytes().any(|b| b.is_ascii_lowercase());
    if !(has_upper && has_lower) {
        return true;
    }
    let lower = hex40.to_ascii_lowercase();
    let hash = Keccak256::digest(lower.as_bytes());
    hex40.bytes().enumerate().all(|(i, b)| {
        if !b.is_ascii_alphabetic() {
            return true;
        }
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
        (nibble >= 8) == b.is_ascii_uppercase()
    })
}

pub(crate) fn find(text: &str, out: &mut Vec<Found>) {
    for m in ETH.find_iter(text) {
        if glued_before(text, m.start(), b"") || glued_after(text, m.end()) {
            continue;
        }
        let hex40 = &m.as_str()[2..];
        if eip55_ok(hex40) && hex40.bytes().any(|b| b != b'0') {
            out.push(found(
                m.start(),
                IndicatorKind::Ethereum,
                m.as_str().to_ascii_lowercase(),
            ));
        }
    }
}
