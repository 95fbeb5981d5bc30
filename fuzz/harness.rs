//! What each fuzz target does with one input, shared by the `cargo fuzz` targets in
//! `fuzz/fuzz_targets/` and by the regression test `tests/it/fuzz_regressions.rs`, which replays
//! every saved input in `fuzz/regressions/<target>/` through the same function on stable Rust.
//!
//! Each function feeds hostile bytes to the code that meets them in production and asserts the
//! invariants the rest of kuzet relies on; a panic (or a failed assertion) is a finding.

// Each fuzz binary uses one function of this module.
#![allow(dead_code)]

use std::sync::LazyLock;

use kuzet_classifier::normalize::Normalizer;
use kuzet_classifier::qr::{self, QrOptions};
use kuzet_classifier::{Classifier, Limits, RuleSet, html};
use kuzet_crawler::parse::{ParseLimits, parse_html};
use kuzet_crawler::{robots, telegram, url as curl};
use url::Url;

/// One fuzz target: what it does with an input.
pub type Target = fn(&[u8]);

/// The targets, by name (the file names in `fuzz/fuzz_targets/` and `fuzz/regressions/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("html", html),
    ("text", text),
    ("rules", rules),
    ("robots", robots),
    ("qr", qr),
    ("url", url),
];

static CLASSIFIER: LazyLock<Classifier> =
    LazyLock::new(|| Classifier::default_rules().expect("built-in rules compile"));
static NORMALIZER: LazyLock<Normalizer> = LazyLock::new(Normalizer::new);
static PAGE_URL: LazyLock<Url> =
    LazyLock::new(|| Url::parse("http://127.0.0.1:8080/dir/page.html").expect("valid"));

/// Bytes of a web page: charset decoding, the classifier's HTML extraction and verdict, the
/// crawler's link/image parse and the Telegram preview parser, as a fetched page goes through.
pub fn html(data: &[u8]) {
    // The first line may carry a Content-Type header value, as the crawler passes one.
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) if i < 100 && data.starts_with(b"text/") => {
            (std::str::from_utf8(&data[..i]).ok(), &data[i + 1..])
        }
        _ => (None, data),
    };
    let decoded = kuzet_classifier::decode::decode(body, header);
    let text: &str = &decoded.text;
    let limits = Limits::default();
    let extracted = html::extract_with_limits(text, &limits);
    assert!(extracted.links.len() <= limits.max_links);
    assert!(extracted.images.len() <= limits.max_links);
    // The verdict through the public entry point (its input checks included); it extracts
    // the same way as above, so classifying `extracted` again would only repeat the work.
    if let Ok(v) = CLASSIFIER.classify_html(body, header) {
        check_verdict(&v);
    }

    let plimits = ParseLimits::default();
    let parsed = parse_html(text, &PAGE_URL, &plimits);
    assert!(parsed.links.len() <= plimits.max_links);
    assert!(parsed.images.len() <= plimits.max_images);
    let _ = telegram::parse_channel_page(text, &PAGE_URL);
}

/// Text as rules see it: normalisation with its map back to the original, indicator
/// extraction, and a verdict with evidence snippets cut from the original text.
pub fn text(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let normalized = NORMALIZER.normalize(input);
    let out = normalized.text();
    // Every normalised range maps back to a range of the original on character boundaries.
    let mut bounds: Vec<usize> = out.char_indices().map(|(i, _)| i).collect();
    bounds.push(out.len());
    for w in bounds.windows(2).take(4096) {
        let r = normalized.original_range(w[0]..w[1]);
        assert!(
            r.start <= r.end && r.end <= input.len(),
            "{r:?} outside the input"
        );
        assert!(input.is_char_boundary(r.start) && input.is_char_boundary(r.end));
    }
    let whole = normalized.original_range(0..out.len());
    assert!(whole.end <= input.len());

    let verdict = CLASSIFIER.classify_text(input);
    for ind in &verdict.indicators {
        assert!(!ind.value.is_empty(), "empty indicator {ind:?}");
    }
    check_verdict(&verdict);
}

/// A rule file as an analyst might write it (or break it): parse, compile, run its examples and
/// classify with it. Errors are fine; panics are not.
pub fn rules(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(set) = RuleSet::parse(src, "fuzz.toml") else {
        return;
    };
    assert!(!set.version().is_empty());
    let _ = kuzet_classifier::rules::run_examples(&set);
    if let Ok(c) = Classifier::new(set) {
        check_verdict(&c.classify_text("закладки мефедрон @shop_bot 0.5г 5000тг"));
    }
}

/// A robots.txt body: parse, answer for a few URLs, read the crawl delay.
pub fn robots(data: &[u8]) {
    let rules = robots::parse_robots("kuzet", data);
    for u in [
        "http://127.0.0.1/",
        "http://127.0.0.1/private/x?y=1",
        "http://127.0.0.1/%D0%B7%D0%B0",
    ] {
        let _ = rules.allows(&Url::parse(u).expect("valid"));
    }
    if let Some(d) = rules.crawl_delay() {
        assert!(d.as_secs() <= 86_400);
    }
}

/// An image file: bounded loading, the QR pipeline, and the typed leads of every payload.
pub fn qr(data: &[u8]) {
    let opts = QrOptions {
        limits: qr::Limits {
            max_pixels: 4_000_000,
            ..qr::Limits::default()
        },
        ..QrOptions::default()
    };
    if let Ok(res) = qr::decode_image(data, &opts) {
        assert!(u64::from(res.width) * u64::from(res.height) <= opts.limits.max_pixels);
        for code in &res.codes {
            let _ = qr::leads(&code.text);
        }
    }
}

/// A URL or reference as found in a page or a QR payload: canonical form, joins, trap check,
/// Telegram link classification, lead extraction.
pub fn url(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(u) = curl::parse_canonical(s) {
        let again = curl::parse_canonical(u.as_str()).expect("a canonical URL parses again");
        assert_eq!(again, u, "canonical form is not stable");
        let _ = curl::url_key(&u);
        let _ = curl::host_key(&u);
        let _ = curl::check_trap(&u, &curl::UrlLimits::default());
    }
    if let Ok(j) = curl::join_canonical(&PAGE_URL, s) {
        let _ = curl::check_trap(&j, &curl::UrlLimits::default());
    }
    let _ = telegram::classify_link(s);
    let _ = telegram::channel_from_ref(s);
    let _ = qr::leads(s);
}

fn check_verdict(v: &kuzet_classifier::Verdict) {
    assert!(
        v.score.is_finite() && (0.0..=1.0).contains(&v.score),
        "score {}",
        v.score
    );
    for r in &v.reasons {
        assert!(r.weight.is_finite(), "weight of {}", r.rule);
    }
}
