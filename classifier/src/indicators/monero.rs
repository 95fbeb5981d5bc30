//! Monero addresses: Monero's block base58 (8-byte blocks ↔ 11 characters, which the `bs58`
//! crate does not implement) and a Keccak-256 checksum over network byte and keys.

use std::sync::LazyLock;

use regex::Regex;
use sha3::{Digest, Keccak256};

use super::{Found, IndicatorKind, found, glued_after, glued_before};

static XMR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[48][1-9A-HJ-NP-Za-km-z]{94}(?:[1-9A-HJ-NP-Za-km-z]{11})?").expect("static regex")
});

const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
/// Encoded length of a block of n bytes (index n).
const ENCODED_BLOCK: [usize; 9] = [0, 2, 3, 5, 6, 7, 9, 10, 11];

fn decode_block(chars: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let size = ENCODED_BLOCK.iter().position(|&n| n == chars.len())?;
    let mut value: u128 = 0;
    for &c in chars {
        let digit = ALPHABET.iter().position(|&a| a == c)? as u128;
        value = value.checked_mul(58)?.checked_add(digit)?;
    }
    if size < 16 && value >> (8 * size) != 0 {
        return None;
    }
    let bytes = value.to_be_bytes();
    out.extend_from_slice(&bytes[16 - size..]);
    Some(())
}

/// Decodes Monero base58.
pub(crate) fn decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len() * 8 / 11 + 8);
    for chunk in b.chunks(11) {
        decode_block(chunk, &mut out)?;
    }
    Some(out)
}

/// Validates network byte, length and checksum.
pub(crate) fn valid(s: &str) -> bool {
    let Some(bytes) = decode(s) else {
        return false;
    };
    let expected_len = match bytes.first() {
        Some(18 | 42) => 69,
        Some(19) => 77,
        _ => return false,
    };
    if bytes.len() != expected_len {
        return false;
    }
    let (body, check) = bytes.split_at(expected_len - 4);
    Keccak256::digest(body)[..4] == *check
}

pub(crate) fn find(text: &str, out: &mut Vec<Found>) {
    for m in XMR.find_iter(text) {
        if glued_before(text, m.start(), b"") || glued_after(text, m.end()) {
            continue;
        }
        if valid(m.as_str()) {
            out.push(found(m.start(), IndicatorKind::Monero, m.as_str()));
        }
    }
}
