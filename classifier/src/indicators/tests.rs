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
