//! Bytes → text for HTML pages, in the order browsers use (WHATWG "determine the encoding"):
//! a byte-order mark, then the `charset` of the `Content-Type` header, then a `<meta charset>` or
//! `<meta http-equiv="Content-Type">` in the first 1024 bytes, then statistical detection (`chardetng`,
//! which tells windows-1251 from KOI8-R and UTF-8 reliably on Russian and Kazakh text). Labels are
//! resolved by `encoding_rs` (so `cp1251`, `windows-1251` and `x-cp1251` are one encoding); a `<meta>`
//! claiming UTF-16 means UTF-8, as in browsers. Malformed sequences become U+FFFD, never an error.

use std::sync::LazyLock;

use encoding_rs::Encoding;
use regex::bytes::Regex;

/// Where the encoding came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetSource {
    /// A byte-order mark.
    Bom,
    /// The `Content-Type` header.
    Header,
    /// A `<meta>` element.
    Meta,
    /// `chardetng` detection.
    Detected,
}

/// Decoded text and how it was decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The text.
    pub text: String,
    /// The encoding's canonical name (`UTF-8`, `windows-1251`, …).
    pub encoding: &'static str,
    /// Where the encoding came from.
    pub source: CharsetSource,
    /// Whether malformed sequences were replaced.
    pub had_errors: bool,
}

/// Bytes of the document searched for `<meta>` charset declarations.
const META_PRESCAN_BYTES: usize = 1024;

static META_CHARSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i-u)<meta[^>]*?charset\s*=\s*["']?\s*([a-z0-9_:.\-]+)"#)
        .expect("constant regex")
});

/// The `charset` parameter of a `Content-Type` value.
pub fn header_charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']))
    })
}

/// The encoding declared by a `<meta>` in the first 1024 bytes.
pub fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(META_PRESCAN_BYTES)];
    let label = META_CHARSET.captures(head)?.get(1)?.as_bytes();
    let enc = Encoding::for_label(label)?;
    Some(
        if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
            encoding_rs::UTF_8
        } else {
            enc
        },
    )
}

/// Decodes an HTML body. `content_type` is the response header, `host` the page's host (its top-level
/// domain helps detection: `.kz`, `.ru`).
pub fn decode_html(bytes: &[u8], content_type: Option<&str>, host: Option<&str>) -> Decoded {
    let (encoding, source) = if let Some((enc, _)) = Encoding::for_bom(bytes) {
        (enc, CharsetSource::Bom)
    } else if let Some(enc) = content_type
        .and_then(header_charset)
        .and_then(|l| Encoding::for_label(l.as_bytes()))
    {
        (enc, CharsetSource::Header)
    } else if let Some(enc) = meta_charset(bytes) {
        (enc, CharsetSource::Meta)
    } else {
        let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
        det.feed(bytes, true);
        let tld = host.and_then(|h| h.rsplit('.').next()).map(str::as_bytes);
        (
            det.guess(tld, chardetng::Utf8Detection::Allow),
            CharsetSource::Detected,
        )
    };
    // `decode` strips a BOM matching any encoding and switches to it, as browsers do.
    let (text, used, had_errors) = encoding.decode(bytes);
    Decoded {
        text: text.into_owned(),
        encoding: used.name(),
        source,
        had_errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp1251(s: &str) -> Vec<u8> {
        encoding_rs::WINDOWS_1251.encode(s).0.into_owned()
    }

    #[test]
    fn sources_in_order() {
        let text = "<html><body>Купить закладку в Алматы — доставка</body></html>";
        let body = cp1251(text);
        let d = decode_html(&body, Some("text/html; charset=windows-1251"), None);
        assert_eq!(
            (d.text.as_str(), d.encoding, d.source),
            (text, "windows-1251", CharsetSource::Header)
        );
        let with_meta = [b"<meta charset=\"cp1251\">".as_slice(), &body].concat();
        let d = decode_html(&with_meta, Some("text/html"), None);
        assert_eq!(
            (d.encoding, d.source),
            ("windows-1251", CharsetSource::Meta)
        );
        assert!(d.text.contains("Купить закладку"));
        let d = decode_html(&body, None, Some("shop.kz"));
        assert_eq!(
            (d.encoding, d.source),
            ("windows-1251", CharsetSource::Detected)
        );
        assert_eq!(d.text, text);
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        let d = decode_html(&bom, Some("text/html; charset=windows-1251"), None);
        assert_eq!((d.text.as_str(), d.source), (text, CharsetSource::Bom));
    }

    #[test]
    fn malformed_bytes_are_replaced() {
        let d = decode_html(
            b"ok \xFF\xFE\xFD end",
            Some("text/html; charset=utf-8"),
            None,
        );
        assert!(d.had_errors && d.text.starts_with("ok ") && d.text.ends_with(" end"));
        assert_eq!(
            header_charset("text/html; Charset=\"KOI8-R\""),
            Some("KOI8-R")
        );
        assert_eq!(
            meta_charset(b"<meta charset=utf-16>"),
            Some(encoding_rs::UTF_8)
        );
    }
}
