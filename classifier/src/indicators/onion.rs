//! Onion v3 addresses: base32 of public key (32) ‖ checksum (2) ‖ version (1), where
//! checksum = SHA3-256(".onion checksum" ‖ pubkey ‖ version)[..2] and version = 3.

use std::sync::LazyLock;

use regex::Regex;
use sha3::{Digest, Sha3_256};

use super::{Found, IndicatorKind, found, glued_before};

static ONION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)([a-z2-7]{56})\.onion").expect("static regex"));

/// Validates the 56-character label of a v3 onion address.
pub(crate) fn valid_v3(label: &str) -> bool {
    let upper = label.to_ascii_uppercase();
    let Ok(bytes) = data_encoding::BASE32_NOPAD.decode(upper.as_bytes()) else {
        return false;
    };
    if bytes.len() != 35 || bytes[34] != 3 {
        return false;
    }
    let mut h = Sha3_256::new();
    h.update(b".onion checksum");
    h.update(&bytes[..32]);
    h.update([3u8]);
    let digest = h.finalize();
    digest[..2] == bytes[32..34]
}

pub(crate) fn find(text: &str, out: &mut Vec<Found>) {
    for c in super::captures_iter(&ONION, text) {
        let (Some(m), Some(label)) = (c.get(0), c.get(1)) else {
            continue;
        };
        if glued_before(text, m.start(), b"") {
            continue;
        }
        if valid_v3(label.as_str()) {
            out.push(found(
                m.start(),
                IndicatorKind::Onion,
                format!("{}.onion", label.as_str().to_ascii_lowercase()),
            ));
        }
    }
}
