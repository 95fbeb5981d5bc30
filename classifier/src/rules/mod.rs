//! The rule language: file format, validation, and the compiled engine.
//!
//! A rule file is TOML (documented in `classifier/RULES.md`): `[scoring]`, `[[rule]]` and
//! `[[combo]]` tables. [`RuleSet::parse`] reads and validates one; [`RuleSet::extend`] layers
//! another on top (same id replaces). The rule set's version is a SHA-256 over its canonical
//! serialisation, stored with every verdict.

mod engine;
mod examples;
mod gate;

pub use engine::{Engine, Hit};
pub use examples::{ExampleFailure, ExampleReport, run_examples};

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::indicators::IndicatorKind;

/// The default Russian/Kazakh rule set, shipped inside the binary.
pub const DEFAULT_RULES: &str = include_str!("../../rules/default.toml");

/// What a rule is evidence of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Drug names and slang, product codes.
    Substance,
    /// Dead drops: клад, закладка, прикоп, магнит, ненаход …
    DeadDrop,
    /// Prices and weights in the form shops use (`1г — 15 000 ₸`).
    PriceWeight,
    /// Payment: crypto, exchangers, "оплата".
    Payment,
    /// Contact channels: Telegram, bots, operators, onion cabinets, Session.
    Contact,
    /// Recruiting couriers, stencil painters.
    Recruitment,
    /// Anonymity claims: Tor, mirrors, "без встреч".
    Anonymity,
    /// Shop talk: assortment, guarantees, reviews, stock.
    Commerce,
    /// Counter-evidence: news and police reports.
    News,
    /// Counter-evidence: prevention campaigns, reporting channels.
    Prevention,
    /// Counter-evidence: treatment, rehab, support.
    Treatment,
    /// Counter-evidence: a legal product or service (pharmacy, bookmarks, hair dryers …).
    LegalProduct,
}

impl Category {
    /// Whether this category is counter-evidence (its rules carry negative weights).
    pub fn is_counter(self) -> bool {
        matches!(
            self,
            Category::News | Category::Prevention | Category::Treatment | Category::LegalProduct
        )
    }
}

/// Scoring parameters (see RULES.md for the formula).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    /// Score at or above which the verdict is `shop`.
    pub shop: f64,
    /// Score at or above which the verdict is `suspicious`.
    pub suspicious: f64,
    /// Total evidence at which the score is 0.5.
    pub midpoint: f64,
    /// Steepness of the logistic curve.
    pub steepness: f64,
    /// Summed weight a category needs to count as present for combinations.
    pub present: f64,
    /// Cap on the absolute summed weight of each category (default for missing entries: 2.0).
    #[serde(default)]
    pub caps: BTreeMap<Category, f64>,
}

/// One rule as written in a rule file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique id, e.g. `substance.mephedrone`.
    pub id: String,
    /// What the rule looks for, for analysts.
    pub description: String,
    /// What it is evidence of.
    pub category: Category,
    /// Languages or scripts it is written for (`ru`, `kk`, `translit`, `any`).
    #[serde(default)]
    pub lang: Vec<String>,
    /// Weight added to the category when the rule fires (negative for counter-evidence).
    pub weight: f64,
    /// Literal terms (`word` whole word, `stem*` prefix, `*infix*` anywhere).
    #[serde(default)]
    pub terms: Vec<String>,
    /// Regular expressions over the normalised text.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Indicator kinds whose presence fires the rule (`telegram`, `onion` …).
    #[serde(default)]
    pub indicators: Vec<IndicatorKind>,
    /// How many distinct terms/patterns/indicator kinds must match (default 1).
    #[serde(default = "one")]
    pub min_distinct: usize,
    /// Texts the rule must fire on.
    #[serde(default)]
    pub must_match: Vec<String>,
    /// Texts the rule must not fire on.
    #[serde(default)]
    pub must_not_match: Vec<String>,
}

fn one() -> usize {
    1
}

/// A combination rule over categories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Combo {
    /// Unique id, e.g. `combo.substance-drop-contact`.
    pub id: String,
    /// What the combination means.
    pub description: String,
    /// Categories that must all be present.
    pub all: Vec<Category>,
    /// Categories of which at least one must be present (empty: no condition).
    #[serde(default)]
    pub any: Vec<Category>,
    /// Weight added when the combination holds.
    pub weight: f64,
    /// Texts on which the combination must hold.
    #[serde(default)]
    pub must_match: Vec<String>,
    /// Texts on which it must not hold.
    #[serde(default)]
    pub must_not_match: Vec<String>,
}

/// A rule set as read from a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Scoring parameters; required in a base rule set, optional in an extension.
    #[serde(default)]
    pub scoring: Option<Scoring>,
    /// The rules.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
    /// The combinations.
    #[serde(default, rename = "combo")]
    pub combos: Vec<Combo>,
}

/// A validated rule set.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// Scoring parameters.
    pub scoring: Scoring,
    /// Rules, in file order.
    pub rules: Vec<Rule>,
    /// Combinations, in file order.
    pub combos: Vec<Combo>,
    version: String,
}

impl RuleSet {
    /// The default Russian/Kazakh rule set.
    pub fn default_rules() -> Result<RuleSet, Error> {
        RuleSet::parse(DEFAULT_RULES, "default")
    }

    /// Parses and validates a complete rule file. `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<RuleSet, Error> {
        let file = parse_file(text, source_name)?;
        let scoring = file.scoring.ok_or_else(|| Error::RuleInvalid {
            source_name: source_name.to_string(),
            rule: "[scoring]".into(),
            message: "a base rule set needs a [scoring] table (or use it as an extension)".into(),
        })?;
        let mut set = RuleSet {
            scoring,
            rules: file.rules,
            combos: file.combos,
            version: String::new(),
        };
        set.validate(source_name)?;
        Ok(set)
    }

    /// Layers `text` over this set: rules and combos with an existing id replace it, new ones
    /// are appended, a `[scoring]` table replaces the scoring.
    pub fn extend(mut self, text: &str, source_name: &str) -> Result<RuleSet, Error> {
        let file = parse_file(text, source_name)?;
        if let Some(s) = file.scoring {
            self.scoring = s;
        }
        for r in file.rules {
            match self.rules.iter_mut().find(|x| x.id == r.id) {
                Some(slot) => *slot = r,
                None => self.rules.push(r),
            }
        }
        for c in file.combos {
            match self.combos.iter_mut().find(|x| x.id == c.id) {
                Some(slot) => *slot = c,
                None => self.combos.push(c),
            }
        }
        self.validate(source_name)?;
        Ok(self)
    }

    /// The content hash (`sha256:` + 16 hex digits) identifying this exact rule set.
    pub fn version(&self) -> &str {
        &self.version
    }

    fn validate(&mut self, source_name: &str) -> Result<(), Error> {
        let err = |rule: &str, message: String| Error::RuleInvalid {
            source_name: source_name.to_string(),
            rule: rule.to_string(),
            message,
        };
        let s = &self.scoring;
        if !(0.0..=1.0).contains(&s.suspicious) || !(s.suspicious..=1.0).contains(&s.shop) {
            return Err(err(
                "[scoring]",
                "need 0 ≤ suspicious ≤ shop ≤ 1".to_string(),
            ));
        }
        if s.steepness.is_nan() || s.steepness <= 0.0 || !s.midpoint.is_finite() {
            return Err(err("[scoring]", "steepness must be > 0".to_string()));
        }
        let mut ids = HashSet::new();
        for r in &self.rules {
            if !ids.insert(r.id.as_str()) {
                return Err(err(&r.id, "duplicate id".into()));
            }
            if r.terms.is_empty() && r.patterns.is_empty() && r.indicators.is_empty() {
                return Err(err(&r.id, "needs terms, patterns or indicators".into()));
            }
            if !r.weight.is_finite() || r.category.is_counter() != (r.weight < 0.0) {
                return Err(err(
                    &r.id,
                    format!(
                        "weight {} does not fit category {:?} (counter-evidence is negative, evidence positive)",
                        r.weight, r.category
                    ),
                ));
            }
            if r.min_distinct == 0 {
                return Err(err(&r.id, "min_distinct must be at least 1".into()));
            }
            for t in &r.terms {
                if t.trim_matches('*').trim().is_empty() {
                    return Err(err(&r.id, format!("empty term {t:?}")));
                }
            }
            for p in &r.patterns {
                regex::Regex::new(p).map_err(|e| err(&r.id, format!("pattern {p:?}: {e}")))?;
            }
        }
        for c in &self.combos {
            if !ids.insert(c.id.as_str()) {
                return Err(err(&c.id, "duplicate id".into()));
            }
            if c.all.is_empty() {
                return Err(err(
                    &c.id,
                    "a combination needs at least one category in `all`".into(),
                ));
            }
        }
        let canonical = toml::to_string(&RuleFile {
            scoring: Some(self.scoring.clone()),
            rules: self.rules.clone(),
            combos: self.combos.clone(),
        })
        .map_err(|e| err("(version)", e.to_string()))?;
        let digest = Sha256::digest(canonical.as_bytes());
        self.version = format!("sha256:{}", &hex::encode(digest)[..16]);
        Ok(())
    }
}

fn parse_file(text: &str, source_name: &str) -> Result<RuleFile, Error> {
    toml::from_str(text).map_err(|e| Error::RuleSyntax {
        source_name: source_name.to_string(),
        message: e.to_string(),
    })
}
