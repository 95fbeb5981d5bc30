//! Robustness: property tests over decoding, normalisation, extraction and indicators (a bounded
//! number of cases, run by `cargo test`), and limits on huge or binary input.

use kuzet_classifier::{Classifier, Error, Label, Limits, decode, html, indicators, normalize};
use proptest::prelude::*;

static CLASSIFIER: std::sync::LazyLock<Classifier> = std::sync::LazyLock::new(|| {
    Classifier::default_rules().unwrap_or_else(|e| panic!("default rules: {e}"))
});

fn classifier() -> &'static Classifier {
    &CLASSIFIER
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048), ct in proptest::option::of(".{0,40}")) {
        let d = decode::decode(&bytes, ct.as_deref());
        prop_assert!(!d.encoding_name.is_empty());
    }

    #[test]
    fn normalise_spans_stay_inside_the_input(s in "\\PC{0,300}") {
        let n = normalize::Normalizer::default().normalize(&s);
        let len = n.text().len();
        for start in 0..len {
            let r = n.original_range(start..len);
            prop_assert!(r.start <= r.end && r.end <= s.len());
        }
    }

    #[test]
    fn normalise_handles_mixed_scripts(s in "[a-zA-Zа-яА-ЯәғқңөұүһіӘҒҚҢӨҰҮҺІ0-9 .\\-_*\u{200B}\u{2060}\u{00AD}❄💎]{0,200}") {
        let n = normalize::Normalizer::default().normalize(&s);
        let zero_width = n.text().contains('\u{200B}');
        prop_assert!(!zero_width);
    }

    #[test]
    fn html_extract_never_panics(s in "(<[a-z]{1,6}( [a-z]{1,5}=\"[^\"]{0,10}\")?>|</[a-z]{1,6}>|[^<]{0,20}){0,60}") {
        let e = html::extract(&s);
        prop_assert!(e.links.len() <= Limits::default().max_links);
    }

    #[test]
    fn indicators_never_panic(s in "[@a-zA-Z0-9_.:/+\\- ]{0,300}") {
        let found = indicators::extract(&s);
        prop_assert!(found.len() <= Limits::default().max_indicators);
    }

    #[test]
    fn classify_text_score_is_a_probability(s in "\\PC{0,400}") {
        let v = classifier().classify_text(&s);
        prop_assert!((0.0..=1.0).contains(&v.score));
    }
}

#[test]
fn fifty_megabytes_is_a_clear_error() {
    let big = vec![b'a'; 50 << 20];
    match classifier().classify_html(&big, None) {
        Err(Error::TooLarge { size, limit }) => {
            assert_eq!(size, 50 << 20);
            assert_eq!(limit, Limits::default().max_input_bytes);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn binary_input_is_a_clear_error() {
    // A deterministic pseudo-random byte stream (xorshift), like a JPEG or an archive.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let err = classifier().classify_html(&bytes, None);
    assert!(matches!(err, Err(Error::Binary { .. })), "{err:?}");
    let msg = err
        .map(|_| ())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("binary"), "{msg}");
}

#[test]
fn shop_and_hard_negative() {
    let c = classifier();
    let shop = "Кл\u{2060}aды в каждом районе: м3ф 1г — 16 000 ₸, гaш 1г — 9 000 ₸. Адрес через 5 минут. Оплата BTC. Бот @zima_shop_bot";
    let v = c.classify_text(shop);
    assert_eq!(v.verdict, Label::Shop, "{v:#?}");
    assert!(
        v.reasons
            .iter()
            .any(|r| r.rule == "deaddrop.klad" && r.evidence.contains("Кл\u{2060}aды")),
        "{v:#?}"
    );
    assert!(v.indicators.iter().any(|i| i.value == "@zima_shop_bot"));
    assert!(v.rules_version.starts_with("sha256:"));
    let news = "Полиция задержала закладчика: по данным следствия, он продавал «соль» и мефедрон, клады прятал у гаражей. Возбуждено уголовное дело. Сообщите о наркотиках по номеру 102.";
    let v = c.classify_text(news);
    assert_eq!(v.verdict, Label::Clean, "{v:#?}");
    let bookmarks =
        "Закладки для книг, кожаные, 1 200 ₸. Доставка по Алматы. Kaspi. Пишите @bookmarks_kz";
    assert_eq!(c.classify_text(bookmarks).verdict, Label::Clean);
}

#[test]
fn cp1251_page_is_classified_like_utf8() {
    let html = "<html><head><meta charset=\"windows-1251\"></head><body><p>Мефедрон 1г — 15 000 ₸, клады по городу, адрес через 5 минут, оплата BTC</p></body></html>";
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(html);
    let c = classifier();
    let a = c
        .classify_html(&bytes, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let b = c
        .classify_html(html.as_bytes(), Some("text/html; charset=utf-8"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.verdict, b.verdict);
    assert_eq!(a.verdict, Label::Shop);
}

#[test]
fn extension_rules_replace_and_add() {
    let base = kuzet_classifier::RuleSet::default_rules().unwrap_or_else(|e| panic!("{e}"));
    let v0 = base.version().to_string();
    let extra = r#"
[[rule]]
id = "substance.local-slang"
description = "new local slang"
category = "substance"
weight = 1.0
terms = ["зефирка"]
must_match = ["зефирка 1г"]
"#;
    let ext = base
        .extend(extra, "extra.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(ext.version(), v0);
    assert!(ext.rules.iter().any(|r| r.id == "substance.local-slang"));
    let bad = ext.clone().extend("[[rule]]\nid = \"x\"\ndescription = \"\"\ncategory = \"news\"\nweight = 1.0\nterms = [\"a\"]\n", "bad.toml");
    assert!(matches!(bad, Err(Error::RuleInvalid { .. })));
}
