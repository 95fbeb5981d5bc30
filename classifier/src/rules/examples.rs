//! Running the examples embedded in a rule set (`kuzet rules test`).

use serde::Serialize;

use super::RuleSet;
use crate::Classifier;
use crate::error::Error;

/// One example that did not behave as its rule says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExampleFailure {
    /// Rule or combination id.
    pub rule: String,
    /// The example text.
    pub text: String,
    /// `true` for a must-match example that did not match, `false` for a must-not-match
    /// example that did.
    pub should_match: bool,
}

/// The outcome of [`run_examples`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExampleReport {
    /// Number of examples checked.
    pub checked: usize,
    /// Examples that failed.
    pub failures: Vec<ExampleFailure>,
}

impl ExampleReport {
    /// Whether every example behaved.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Compiles `set` and runs every must-match and must-not-match example of every rule and
/// combination through the full pipeline (normalisation, indicators, engine, scoring).
pub fn run_examples(set: &RuleSet) -> Result<ExampleReport, Error> {
    let classifier = Classifier::new(set.clone())?;
    let mut report = ExampleReport {
        checked: 0,
        failures: Vec::new(),
    };
    let mut check = |id: &str, text: &str, should: bool, fired: bool| {
        report.checked += 1;
        if fired != should {
            report.failures.push(ExampleFailure {
                rule: id.to_string(),
                text: text.to_string(),
                should_match: should,
            });
        }
    };
    for (i, rule) in set.rules.iter().enumerate() {
        for (texts, should) in [(&rule.must_match, true), (&rule.must_not_match, false)] {
            for text in texts {
                let scored = classifier.analyze(text).0;
                check(&rule.id, text, should, scored.fired.contains(&i));
            }
        }
    }
    for (i, combo) in set.combos.iter().enumerate() {
        for (texts, should) in [(&combo.must_match, true), (&combo.must_not_match, false)] {
            for text in texts {
                let scored = classifier.analyze(text).0;
                check(&combo.id, text, should, scored.combos.contains(&i));
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rule_examples_pass() {
        let set = match RuleSet::default_rules() {
            Ok(s) => s,
            Err(e) => panic!("default rules: {e}"),
        };
        let report = match run_examples(&set) {
            Ok(r) => r,
            Err(e) => panic!("compile: {e}"),
        };
        assert!(report.checked > 50, "only {} examples", report.checked);
        assert!(report.passed(), "{:#?}", report.failures);
    }

    #[test]
    fn a_wrong_example_is_reported() {
        let text = r#"
[scoring]
shop = 0.8
suspicious = 0.5
midpoint = 1.0
steepness = 1.0
present = 0.5

[[rule]]
id = "t.salt"
description = "test"
category = "substance"
weight = 1.0
terms = ["соль"]
must_match = ["сахар"]
must_not_match = ["соль"]
"#;
        let set = RuleSet::parse(text, "test").unwrap_or_else(|e| panic!("{e}"));
        let report = run_examples(&set).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.checked, 2);
        assert_eq!(report.failures.len(), 2);
    }
}
