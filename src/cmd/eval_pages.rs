//! `kuzet eval pages --corpus DIR`: precision, recall, F1 and confusion matrix of
//! `verdict == shop` against `label == shop`. The measures come from the classifier library;
//! this file only reads files.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use kuzet_classifier::{Label, eval};
use serde_json::json;

use super::Context;
use crate::UsageError;
use crate::cli::RulesArgs;

pub fn run(corpus: &Path, rules: &RulesArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let classifier = super::rules::classifier(rules)?;
    let labels_path = corpus.join("labels.csv");
    let csv = std::fs::read_to_string(&labels_path)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", labels_path.display())))?;
    let rows = eval::parse_labels(&csv)
        .map_err(|e| UsageError(format!("{}: {e}", labels_path.display())))?;
    let mut pairs = Vec::with_capacity(rows.len());
    let mut errors = 0usize;
    for row in &rows {
        let path = corpus.join("pages").join(format!("{}.html", row.id));
        let predicted = match std::fs::read(&path)
            .with_context(|| format!("cannot read {}", path.display()))
            .and_then(|b| {
                classifier
                    .classify_html(&b, None)
                    .map_err(anyhow::Error::new)
            }) {
            Ok(v) => v.verdict == Label::Shop,
            Err(e) => {
                errors += 1;
                tracing::warn!(page = %row.id, error = %e, "page not classified; counted as not shop");
                false
            }
        };
        pairs.push((row.label == "shop", predicted));
    }
    let e = eval::evaluate(pairs);
    let json = json!({
        "corpus": corpus.display().to_string(),
        "pages": rows.len(),
        "errors": errors,
        "rules_version": classifier.rules().version(),
        "precision": e.precision,
        "recall": e.recall,
        "f1": e.f1,
        "confusion": {"tp": e.true_positives, "fp": e.false_positives, "fn": e.false_negatives, "tn": e.true_negatives},
    });
    ctx.emit(&json, || {
        format!(
            "pages {} (errors {errors}), rules {}\nprecision {:.4}  recall {:.4}  f1 {:.4}\n\
             confusion (rows: label, columns: verdict)\n\
             {:>12} {:>8} {:>8}\n{:>12} {:>8} {:>8}\n{:>12} {:>8} {:>8}",
            rows.len(),
            classifier.rules().version(),
            e.precision,
            e.recall,
            e.f1,
            "",
            "shop",
            "not shop",
            "shop",
            e.true_positives,
            e.false_negatives,
            "not shop",
            e.false_positives,
            e.true_negatives,
        )
    });
    Ok(ExitCode::SUCCESS)
}
