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
