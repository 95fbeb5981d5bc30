//! Scoring: capped per-category sums, combination bonuses, a logistic curve to [0, 1], and
//! thresholds to a [`Label`].
//!
//! `total = Σ_category clamp(Σ weights of fired rules, ±cap) + Σ weights of holding combos`,
//! `score = 1 / (1 + e^(−steepness · (total − midpoint)))`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::indicators::Indicator;
use crate::rules::{Category, Hit, RuleSet};

/// Default cap on a category's summed weight when the rule file names none.
pub const DEFAULT_CAP: f64 = 2.0;

/// The verdict label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Looks like a drug shop.
    Shop,
    /// Some evidence; worth a look.
    Suspicious,
    /// Nothing to see.
    Clean,
}

impl Label {
    /// The label as stored and printed: `shop`, `suspicious` or `clean`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Shop => "shop",
            Label::Suspicious => "suspicious",
            Label::Clean => "clean",
        }
    }
}

/// One rule or combination that fired, with its weight and evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Rule or combination id.
    pub rule: String,
    /// Its weight.
    pub weight: f64,
    /// The original text around the first match (or the indicator, or the categories).
    pub evidence: String,
}

/// The classifier's answer for one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Score in [0, 1].
    pub score: f64,
    /// Label from the score and the rule set's thresholds.
    pub verdict: Label,
    /// Every rule and combination that fired.
    pub reasons: Vec<Reason>,
    /// Validated indicators found in the text and links.
    pub indicators: Vec<Indicator>,
    /// Version (content hash) of the rule set that produced the verdict.
    pub rules_version: String,
}

/// The outcome of scoring hits.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Score in [0, 1].
    pub score: f64,
    /// Label.
    pub label: Label,
    /// Indices of the rules that fired (hits that met `min_distinct`), in hit order.
    pub fired: Vec<usize>,
    /// Indices of the combinations that held.
    pub combos: Vec<usize>,
    /// Summed (capped) weight per category.
    pub categories: BTreeMap<Category, f64>,
}

/// Scores `hits` under `set`.
pub fn score(set: &RuleSet, hits: &[Hit]) -> Scored {
    let s = &set.scoring;
    let mut sums: BTreeMap<Category, f64> = BTreeMap::new();
    let mut fired = Vec::new();
    for h in hits {
        let Some(rule) = set.rules.get(h.rule) else {
            continue;
        };
        if h.distinct < rule.min_distinct {
            continue;
        }
        fired.push(h.rule);
        *sums.entry(rule.category).or_insert(0.0) += rule.weight;
    }
    for (cat, v) in sums.iter_mut() {
        let cap = s.caps.get(cat).copied().unwrap_or(DEFAULT_CAP);
        *v = v.clamp(-cap, cap);
    }
    let present = |c: &Category| {
        sums.get(c).is_some_and(|v| {
            if c.is_counter() {
                -*v >= s.present
            } else {
                *v >= s.present
            }
        })
    };
    let mut total: f64 = sums.values().sum();
    let mut combos = Vec::new();
    for (i, c) in set.combos.iter().enumerate() {
        if c.all.iter().all(present) && (c.any.is_empty() || c.any.iter().any(present)) {
            combos.push(i);
            total += c.weight;
        }
    }
    let raw = 1.0 / (1.0 + (-s.steepness * (total - s.midpoint)).exp());
    let score = (raw * 10_000.0).round() / 10_000.0;
    let label = if score >= s.shop {
        Label::Shop
    } else if score >= s.suspicious {
        Label::Suspicious
    } else {
        Label::Clean
    };
    Scored {
        score,
        label,
        fired,
        combos,
        categories: sums,
    }
}
