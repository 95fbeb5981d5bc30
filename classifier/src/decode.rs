//! Bytes → text with the right character set.
//!
//! Order (WHATWG "encoding sniffing", simplified): a byte-order mark wins; then the `charset`
//! of the HTTP `Content-Type` header; then a `<meta charset>` / `<meta http-equiv>` declaration
//! in the first 4 KiB; then the statistical detector `chardetng` (Cyrillic windows-1251 and
//! KOI8-R pages are common and often undeclared).

use encoding_rs::Encoding;

/// How far into the document the `<meta charset>` pre-scan looks.
const META_PRESCAN_BYTES: usize = 4096;

/// Decoded text and the name of the encoding used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The decoded text (malformed sequences replaced by U+FFFD).
    pub text: String,
    /// The WHATWG name of the encoding that was used, e.g. `UTF-8`, `windows-1251`.
    pub encoding_name: &'static str,
    /// Whether malformed byte sequences were replaced.
    pub had_errors: bool,
}

/// Decodes `bytes`, using `content_type_header` (the raw HTTP `Content-Type` value) when given.
///
/// Never fails: undecodable bytes become U+FFFD. Cost: one pass for the detector when no label
/// is found, one pass to decode.
pub fn decode(bytes: &[u8], content_type_header: Option<&str>) -> Decoded {
    let encoding = Encoding::for_bom(bytes)
        .map(|(enc, _)| enc)
        .or_else(|| content_type_header.and_then(charset_from_content_type))
        .or_else(|| meta_charset(bytes))
        .unwrap_or_else(|| detect(bytes));
    let (text, used, had_errors) = encoding.decode(bytes);
    Decoded {
        text: text.into_owned(),
        encoding_name: used.name(),
        had_errors,
    }
}

/// The encoding named by a `Content-Type` header's `charset` parameter, if any and known.
pub fn charset_from_content_type(header: &str) -> Option<&'static Encoding> {
    let lower = header.to_ascii_lowercase();
    let idx = lower.find("charset=")?;
    let rest = &header[idx + "charset=".len()..];
    let label: String = rest
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| !matches!(c, '"' | '\'' | ';' | ' ' | ','))
        .collect();
    label_to_encoding(&label)
}

fn label_to_encoding(label: &str) -> Option<&'static Encoding> {
    let enc = Encoding::for_label(label.trim().as_bytes())?;
    // A document cannot really be UTF-16 if a meta tag in ASCII says so; WHATWG maps it to UTF-8.
    if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        return Some(encoding_rs::UTF_8);
    }
    Some(enc)
}

/// Looks for `charset=` inside a `<meta` tag in the first [`META_PRESCAN_BYTES`] bytes.
fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(META_PRESCAN_BYTES)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(pos) = find(&lower[from..], b"<meta") {
        let start = from + pos;
        let end = lower[start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(c) = find(tag, b"charset") {
            let mut rest = &tag[c + b"charset".len()..];
            while let [b' ' | b'=' | b'"' | b'\'', tail @ ..] = rest {
                rest = tail;
            }
            let label_len = rest
                .iter()
                .position(|b| matches!(b, b'"' | b'\'' | b';' | b' ' | b'/' | b'>'))
                .unwrap_or(rest.len());
            if let Some(enc) = std::str::from_utf8(&rest[..label_len])
                .ok()
                .and_then(label_to_encoding)
            {
                return Some(enc);
            }
        }
        from = end.max(start + 1);
        if from >= lower.len() {
            break;
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn detect(bytes: &[u8]) -> &'static Encoding {
    if std::str::from_utf8(bytes).is_ok() {
        return encoding_rs::UTF_8;
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    // `.kz` makes the detector favour Cyrillic encodings when in doubt.
    detector.guess(Some(b"kz"), chardetng::Utf8Detection::Allow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_charset_is_used() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("закладки и соль");
        let d = decode(&bytes, Some("text/html; charset=windows-1251"));
        assert_eq!(d.text, "закладки и соль");
        assert_eq!(d.encoding_name, "windows-1251");
    }

    #[test]
    fn meta_charset_is_used() {
        let html = "<html><head><meta charset=\"koi8-r\"></head><body>привет мир</body></html>";
        let (bytes, _, _) = encoding_rs::KOI8_R.encode(html);
        let d = decode(&bytes, None);
        assert_eq!(d.encoding_name, "KOI8-R");
        assert!(d.text.contains("привет мир"));
    }

    #[test]
    fn bom_wins_over_header() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice("тест".as_bytes());
        let d = decode(&bytes, Some("text/html; charset=windows-1251"));
        assert_eq!(d.text, "тест");
        assert_eq!(d.encoding_name, "UTF-8");
    }

    #[test]
    fn undeclared_cp1251_is_detected() {
        let text = "Продаём свежие овощи с доставкой по городу, звоните нам в любое время суток.";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
        let d = decode(&bytes, None);
        assert_eq!(d.encoding_name, "windows-1251");
        assert_eq!(d.text, text);
    }
}
