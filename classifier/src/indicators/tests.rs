//! Data-driven indicator tests: `classifier/testdata/indicators.toml`.

use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    text: String,
    expect: Vec<(IndicatorKind, String)>,
}

#[test]
fn indicator_cases_from_toml() {
    let cases: Cases = match toml::from_str(include_str!("../../testdata/indicators.toml")) {
        Ok(c) => c,
        Err(e) => panic!("indicators.toml: {e}"),
    };
    let mut failures = Vec::new();
    for case in &cases.case {
        let got: Vec<(IndicatorKind, String)> = extract(&case.text)
            .into_iter()
            .map(|i| (i.kind, i.value))
            .collect();
        if got != case.expect {
            failures.push(format!(
                "{}:\n  expected {:?}\n  got      {:?}",
                case.name, case.expect, got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn limit_is_respected() {
    let text: String = (0..100).map(|i| format!("@handle_{i:03} ")).collect();
    assert_eq!(extract_limited(&text, 7).len(), 7);
}

/// Hints that skip nothing: the finders as they were before hints.
fn no_hints() -> Hints {
    Hints {
        at: true,
        ascii_digits: usize::MAX,
        max_alnum_run: usize::MAX,
        onion: true,
        tg_link: true,
        tg_resolve: true,
    }
}

#[test]
fn hints_never_change_the_result_on_cases() {
    let cases: Cases = toml::from_str(include_str!("../../testdata/indicators.toml"))
        .unwrap_or_else(|e| panic!("indicators.toml: {e}"));
    for case in &cases.case {
        assert_eq!(
            extract(&case.text),
            extract_with_hints(&case.text, 500, &no_hints()),
            "{}",
            case.name
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, .. Default::default() })]
    #[test]
    fn hints_never_change_the_result(s in "([@a-zA-Z0-9_.:/+\\- ]|T\\.ME/|\\.onion|tg://|\u{212A}|\u{017F}|[0-9]{4} ){0,120}") {
        proptest::prop_assert_eq!(extract(&s), extract_with_hints(&s, 500, &no_hints()));
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, .. Default::default() })]
    #[test]
    fn captures_on_the_match_equal_captures_on_the_text(s in "([@a-zA-Z0-9_.+()\\- ]|8 |\\+7|[0-9]{3} |t\\.me/|\\.onion){0,80}") {
        for pat in [
            r"(?:\+\s?7|8)[\s\-]?\(?([67]\d{2})\)?[\s\-]?(\d{3})[\s\-]?(\d{2})[\s\-]?(\d{2})",
            r"@([A-Za-z][A-Za-z0-9_]{3,31})",
            r"[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@([A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24})",
            r"(?i)(?:https?://)?(?:t|telegram)\.(?:me|dog)/(?:s/)?(\+[A-Za-z0-9_-]{8,}|joinchat/[A-Za-z0-9_-]{8,}|[A-Za-z][A-Za-z0-9_]{3,31})",
            r"(a|ab)(c|bcd)?(d*)",
        ] {
            let re = regex::Regex::new(pat).unwrap_or_else(|e| panic!("{e}"));
            let want: Vec<Vec<Option<String>>> = re
                .captures_iter(&s)
                .map(|c| {
                    let m = c.get(0).map(|m| format!("{:?}", m.range()));
                    std::iter::once(m)
                        .chain((1..c.len()).map(|i| c.get(i).map(|g| g.as_str().to_string())))
                        .collect()
                })
                .collect();
            let got: Vec<Vec<Option<String>>> = captures_iter(&re, &s)
                .map(|c| {
                    let m = c.get(0).map(|m| format!("{:?}", m.range()));
                    std::iter::once(m)
                        .chain((1..re.captures_len()).map(|i| c.get(i).map(|g| g.as_str().to_string())))
                        .collect()
                })
                .collect();
            proptest::prop_assert_eq!(got, want, "{}", pat);
        }
    }
}
