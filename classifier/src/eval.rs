//! Evaluation against labelled pages: precision, recall, F1 and the confusion matrix.

use serde::Serialize;

/// Confusion counts and derived measures for the positive class (`shop`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evaluation {
    /// Predicted shop, labelled shop.
    pub true_positives: usize,
    /// Predicted shop, labelled not shop.
    pub false_positives: usize,
    /// Predicted not shop, labelled shop.
    pub false_negatives: usize,
    /// Predicted not shop, labelled not shop.
    pub true_negatives: usize,
    /// TP / (TP + FP); 1.0 when nothing was predicted positive.
    pub precision: f64,
    /// TP / (TP + FN); 1.0 when nothing is labelled positive.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

/// Evaluates pairs of (labelled positive, predicted positive).
pub fn evaluate(pairs: impl IntoIterator<Item = (bool, bool)>) -> Evaluation {
    let (mut tp, mut fp, mut fn_, mut tn) = (0, 0, 0, 0);
    for (label, predicted) in pairs {
        match (label, predicted) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => tn += 1,
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    Evaluation {
        true_positives: tp,
        false_positives: fp,
        false_negatives: fn_,
        true_negatives: tn,
        precision,
        recall,
        f1,
    }
}

/// One row of a `labels.csv` (`id,label,…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRow {
    /// Page id (`pages/<id>.html`).
    pub id: String,
    /// The label (`shop`, `not_shop` …).
    pub label: String,
}

/// Parses `labels.csv`: a header line, then `id,label,…` rows (extra columns ignored; quoted
/// fields allowed in the extra columns). Returns an error message naming the bad line.
pub fn parse_labels(csv: &str) -> Result<Vec<LabelRow>, String> {
    let mut rows = Vec::new();
    for (n, line) in csv.lines().enumerate().skip(1) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.splitn(3, ',');
        match (fields.next(), fields.next()) {
            (Some(id), Some(label)) if !id.trim().is_empty() => rows.push(LabelRow {
                id: id.trim().to_string(),
                label: label.trim().to_string(),
            }),
            _ => return Err(format!("labels.csv line {}: expected `id,label,…`", n + 1)),
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_measures() {
        let e = evaluate([
            (true, true),
            (true, false),
            (false, true),
            (false, false),
            (true, true),
        ]);
        assert_eq!(
            (
                e.true_positives,
                e.false_negatives,
                e.false_positives,
                e.true_negatives
            ),
            (2, 1, 1, 1)
        );
        assert!((e.precision - 2.0 / 3.0).abs() < 1e-9);
        assert!((e.recall - 2.0 / 3.0).abs() < 1e-9);
        assert!((e.f1 - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn parses_labels_with_quoted_notes() {
        let rows =
            parse_labels("id,label,notes\np1,shop,\"a, b\"\n\np2,not_shop,x\n").unwrap_or_default();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].label, "not_shop");
        assert!(parse_labels("id,label\nbad\n").is_err());
    }
}
