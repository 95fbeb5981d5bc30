//! `kuzet rules test`, and loading rule sets for the commands that classify.

use std::process::ExitCode;

use kuzet_classifier::{Classifier, RuleSet, rules};
use serde_json::json;

use super::Context;
use crate::UsageError;
use crate::cli::RulesArgs;

/// The rule set named by `--rules` (or the built-in one) with `--extend-rules` layered on.
/// A missing or invalid file is a usage error (exit 2).
pub fn load(args: &RulesArgs) -> anyhow::Result<RuleSet> {
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p)
            .map_err(|e| UsageError(format!("cannot read rule file {}: {e}", p.display())))
    };
    let mut set = match &args.rules {
        Some(p) => RuleSet::parse(&read(p)?, &p.display().to_string()),
        None => RuleSet::default_rules(),
    }
    .map_err(|e| UsageError(e.to_string()))?;
    for p in &args.extend_rules {
        set = set
            .extend(&read(p)?, &p.display().to_string())
            .map_err(|e| UsageError(e.to_string()))?;
    }
    Ok(set)
}

/// Compiles the rule set named by `args`.
pub fn classifier(args: &RulesArgs) -> anyhow::Result<Classifier> {
    Classifier::new(load(args)?).map_err(|e| UsageError(e.to_string()).into())
}

pub fn test(args: &RulesArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let set = load(args)?;
    let report = rules::run_examples(&set).map_err(|e| UsageError(e.to_string()))?;
    for f in &report.failures {
        let expectation = if f.should_match {
            "must match"
        } else {
            "must not match"
        };
        ctx.emit(&json!(f), || {
            format!("FAIL {}: {expectation}: {:?}", f.rule, f.text)
        });
    }
    ctx.emit(
        &json!({"version": set.version(), "checked": report.checked, "failed": report.failures.len()}),
        || {
            format!(
                "rules {}: {} examples, {} failed",
                set.version(),
                report.checked,
                report.failures.len()
            )
        },
    );
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
