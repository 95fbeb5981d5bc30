//! The compiled engine: one Aho-Corasick automaton (DFA, leftmost-longest) for every literal term
//! (with digit-for-letter variants) and one `RegexSet` for every pattern, both run once over the
//! normalised text. Leftmost-longest is enough: a shorter match hidden inside a longer one that
//! failed its word boundary would start inside a word and fail its own left boundary too.
//! Individual regexes run again only for patterns the set reported, to locate evidence.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::{Regex, RegexSet, RegexSetBuilder};

use super::RuleSet;
use crate::error::Error;
use crate::indicators::{Indicator, IndicatorKind};
use crate::normalize::{Normalizer, digit_variants, is_letter};

/// Most digit-for-letter variants generated per term.
const MAX_VARIANTS: usize = 32;
/// Size limit for each compiled regex and for the set (bytes of compiled program).
const REGEX_SIZE_LIMIT: usize = 8 << 20;

#[derive(Debug, Clone, Copy)]
struct Target {
    rule: u32,
    /// Global index of the term (for counting distinct terms).
    term: u32,
    left: bool,
    right: bool,
}

/// Why a rule fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Index of the rule in [`RuleSet::rules`].
    pub rule: usize,
    /// How many distinct terms, patterns or indicator kinds matched.
    pub distinct: usize,
    /// Range of the first match in the normalised text (None when only indicators matched).
    pub range: Option<Range<usize>>,
    /// The indicator that matched, when the rule matched on indicators.
    pub indicator: Option<String>,
}

/// A rule set compiled for matching.
#[derive(Debug, Clone)]
pub struct Engine {
    ac: AhoCorasick,
    /// For each automaton pattern, the rule terms it stands for.
    targets: Vec<Vec<Target>>,
    n_terms: usize,
    set: RegexSet,
    regexes: Vec<Regex>,
    /// For each regex: (rule, global pattern slot).
    regex_rules: Vec<(u32, u32)>,
    indicator_rules: Vec<(u32, IndicatorKind)>,
    n_rules: usize,
}

impl Engine {
    /// Compiles `set`, normalising every term with `normalizer`.
    pub fn compile(set: &RuleSet, normalizer: &Normalizer) -> Result<Engine, Error> {
        let err = |rule: &str, message: String| Error::RuleInvalid {
            source_name: "(compile)".into(),
            rule: rule.to_string(),
            message,
        };
        let mut patterns: Vec<String> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = Default::default();
        let mut targets: Vec<Vec<Target>> = Vec::new();
        let mut n_terms = 0u32;
        let mut regex_src = Vec::new();
        let mut regex_rules = Vec::new();
        let mut indicator_rules = Vec::new();
        for (ri, rule) in set.rules.iter().enumerate() {
            let ri = ri as u32;
            for term in &rule.terms {
                let left = !term.starts_with('*');
                let right = !term.ends_with('*');
                let core = normalizer.normalize_term(term.trim_matches('*'));
                if core.is_empty() {
                    return Err(err(
                        &rule.id,
                        format!("term {term:?} normalises to nothing"),
                    ));
                }
                let target = Target {
                    rule: ri,
                    term: n_terms,
                    left,
                    right,
                };
                n_terms += 1;
                for variant in digit_variants(&core, MAX_VARIANTS) {
                    let slot = *index.entry(variant.clone()).or_insert_with(|| {
                        patterns.push(variant);
                        targets.push(Vec::new());
                        patterns.len() - 1
                    });
                    targets[slot].push(target);
                }
            }
            for p in &rule.patterns {
                regex_src.push(p.clone());
                regex_rules.push((ri, n_terms));
                n_terms += 1;
            }
            for kind in &rule.indicators {
                indicator_rules.push((ri, *kind));
            }
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .map_err(|e| err("(terms)", e.to_string()))?;
        let set_ = RegexSetBuilder::new(&regex_src)
            .size_limit(REGEX_SIZE_LIMIT * 4)
            .dfa_size_limit(REGEX_SIZE_LIMIT * 4)
            .build()
            .map_err(|e| err("(patterns)", e.to_string()))?;
        let regexes = regex_src
            .iter()
            .map(|p| {
                regex::RegexBuilder::new(p)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| err(p, e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Engine {
            ac,
            targets,
            n_terms: n_terms as usize,
            set: set_,
            regexes,
            regex_rules,
            indicator_rules,
            n_rules: set.rules.len(),
        })
    }

    /// Number of literal patterns in the automaton (terms and their variants).
    pub fn literal_count(&self) -> usize {
        self.targets.len()
    }

    /// The literal automaton (for benchmarks and tools).
    pub fn automaton(&self) -> &AhoCorasick {
        &self.ac
    }

    /// The regex set (for benchmarks and tools).
    pub fn regex_set(&self) -> &RegexSet {
        &self.set
    }

    /// The individual regexes (for baselines and tools).
    pub fn regexes(&self) -> &[Regex] {
        &self.regexes
    }

    /// Scans normalised `text` once and returns, per fired-or-partly-matched rule, a hit.
    /// Rules with `min_distinct` are filtered by the caller (see [`Engine::fired`]).
    pub fn scan(&self, text: &str, indicators: &[Indicator]) -> Vec<Hit> {
        let mut seen = vec![false; self.n_terms];
        let mut hits: Vec<Option<Hit>> = vec![None; self.n_rules];
        for m in self.ac.find_iter(text) {
            let (s, e) = (m.start(), m.end());
            let mut left_ok: Option<bool> = None;
            let mut right_ok: Option<bool> = None;
            for t in &self.targets[m.pattern().as_usize()] {
                if seen[t.term as usize] {
                    continue;
                }
                if t.left && !*left_ok.get_or_insert_with(|| boundary_before(text, s)) {
                    continue;
                }
                if t.right && !*right_ok.get_or_insert_with(|| boundary_after(text, e)) {
                    continue;
                }
                note(&mut seen, &mut hits, t.rule, t.term, Some(s..e));
            }
        }
        if !self.regexes.is_empty() {
            for i in self.set.matches(text).iter() {
                let (rule, slot) = self.regex_rules[i];
                let range = self.regexes[i].find(text).map(|m| m.range());
                note(&mut seen, &mut hits, rule, slot, range);
            }
        }
        for &(rule, kind) in &self.indicator_rules {
            if let Some(ind) = indicators.iter().find(|i| i.kind == kind) {
                let hit = hits[rule as usize].get_or_insert_with(|| Hit {
                    rule: rule as usize,
                    distinct: 0,
                    range: None,
                    indicator: Some(ind.value.clone()),
                });
                hit.distinct += 1;
            }
        }
        hits.into_iter().flatten().collect()
    }
}

fn note(
    seen: &mut [bool],
    hits: &mut [Option<Hit>],
    rule: u32,
    term: u32,
    range: Option<Range<usize>>,
) {
    let t = term as usize;
    if seen[t] {
        return;
    }
    seen[t] = true;
    let hit = hits[rule as usize].get_or_insert(Hit {
        rule: rule as usize,
        distinct: 0,
        range: None,
        indicator: None,
    });
    hit.distinct += 1;
    if hit.range.is_none() {
        hit.range = range;
    }
}

fn boundary_before(text: &str, pos: usize) -> bool {
    text[..pos]
        .chars()
        .next_back()
        .is_none_or(|c| !is_letter(c))
}

fn boundary_after(text: &str, pos: usize) -> bool {
    text[pos..].chars().next().is_none_or(|c| !is_letter(c))
}
