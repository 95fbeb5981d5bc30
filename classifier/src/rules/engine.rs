//! The compiled engine. Literal terms (with digit-for-letter variants) are matched with
//! leftmost-longest semantics over the union of all of them; patterns are regexes, each gated by
//! the literals it requires. Leftmost-longest is enough: a shorter match hidden inside a longer
//! one that failed its word boundary would start inside a word and fail its own left boundary too.
//!
//! How it stays fast without changing a match:
//! - Literals that contain an ASCII digit next to a letter (`м3ф`, `прик0п`, most digit
//!   variants) live in a second automaton, searched only in windows around such digits in the
//!   text; the main automaton keeps the rest (about one pattern in eight). The two match streams
//!   are merged so the result is exactly the leftmost-longest iteration over the union.
//! - Each pattern's required literals (see [`super::gate`]) are looked up in one overlapping
//!   Aho-Corasick pass; a pattern runs (its own `Regex`, with its own prefilter, stopping at its
//!   first match) only when every required set is present.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Input, Match, MatchKind};
use regex::Regex;

use super::gate;

use super::RuleSet;
use crate::error::Error;
use crate::indicators::{Indicator, IndicatorKind};
use crate::normalize::{Normalizer, digit_variants, is_letter};

/// Most digit-for-letter variants generated per term.
const MAX_VARIANTS: usize = 32;
/// Size limit for each compiled regex (bytes of compiled program).
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

/// A literal automaton and, for each of its patterns, the rule terms it stands for.
#[derive(Debug, Clone)]
struct Literals {
    ac: AhoCorasick,
    targets: Vec<Vec<Target>>,
    /// Longest pattern, in bytes.
    max_len: usize,
}

impl Literals {
    fn build(patterns: Vec<String>, targets: Vec<Vec<Target>>) -> Result<Option<Self>, Error> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let max_len = patterns.iter().map(String::len).max().unwrap_or(0);
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .map_err(|e| Error::RuleInvalid {
                source_name: "(compile)".into(),
                rule: "(terms)".into(),
                message: e.to_string(),
            })?;
        Ok(Some(Literals {
            ac,
            targets,
            max_len,
        }))
    }
}

/// The required literals of every pattern, found in one overlapping pass.
#[derive(Debug, Clone)]
struct Gates {
    ac: AhoCorasick,
    /// Per regex: its required sets, each a list of automaton pattern ids.
    sets: Vec<Vec<Vec<u32>>>,
}

/// A rule set compiled for matching.
#[derive(Debug, Clone)]
pub struct Engine {
    /// Literals without a digit next to a letter.
    main: Option<Literals>,
    /// Literals with a digit next to a letter, searched around such digits only.
    leet: Option<Literals>,
    n_terms: usize,
    gates: Option<Gates>,
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
        let (mut main_p, mut main_t, mut leet_p, mut leet_t) = (vec![], vec![], vec![], vec![]);
        for (p, t) in patterns.into_iter().zip(targets) {
            if has_digit_by_letter(&p) {
                leet_p.push(p);
                leet_t.push(t);
            } else {
                main_p.push(p);
                main_t.push(t);
            }
        }
        let main = Literals::build(main_p, main_t)?;
        let leet = Literals::build(leet_p, leet_t)?;
        let mut gate_lits: Vec<Vec<u8>> = Vec::new();
        let mut gate_index: std::collections::HashMap<Vec<u8>, u32> = Default::default();
        let mut gate_sets = Vec::new();
        for p in &regex_src {
            let mut sets = Vec::new();
            for set in gate::required_sets(p) {
                let ids = set
                    .into_iter()
                    .map(|lit| {
                        *gate_index.entry(lit.clone()).or_insert_with(|| {
                            gate_lits.push(lit);
                            (gate_lits.len() - 1) as u32
                        })
                    })
                    .collect();
                sets.push(ids);
            }
            gate_sets.push(sets);
        }
        let gates = if gate_lits.is_empty() {
            None
        } else {
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&gate_lits)
                .map_err(|e| err("(patterns)", e.to_string()))?;
            Some(Gates {
                ac,
                sets: gate_sets,
            })
        };
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
            main,
            leet,
            n_terms: n_terms as usize,
            gates,
            regexes,
            regex_rules,
            indicator_rules,
            n_rules: set.rules.len(),
        })
    }

    /// Number of literal patterns (terms and their variants), in both automata.
    pub fn literal_count(&self) -> usize {
        self.main.as_ref().map_or(0, |l| l.targets.len())
            + self.leet.as_ref().map_or(0, |l| l.targets.len())
    }

    /// Number of literal patterns in the main automaton (the rest are searched around digits).
    pub fn main_literal_count(&self) -> usize {
        self.main.as_ref().map_or(0, |l| l.targets.len())
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
        self.scan_literals(text, |m, targets| {
            let (s, e) = (m.start(), m.end());
            let mut left_ok: Option<bool> = None;
            let mut right_ok: Option<bool> = None;
            for t in targets {
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
        });
        if !self.regexes.is_empty() {
            let open = self.open_gates(text);
            for (i, re) in self.regexes.iter().enumerate() {
                if !open(i) {
                    continue;
                }
                if let Some(m) = re.find(text) {
                    let (rule, slot) = self.regex_rules[i];
                    note(&mut seen, &mut hits, rule, slot, Some(m.range()));
                }
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

impl Engine {
    /// Calls `f` for each match of the leftmost-longest iteration over the union of both
    /// literal automata, in order, with the rule terms of the matched pattern.
    fn scan_literals(&self, text: &str, mut f: impl FnMut(Match, &[Target])) {
        let len = text.len();
        let find_main = |p: usize| {
            self.main
                .as_ref()
                .and_then(|l| l.ac.find(Input::new(text).span(p..len)))
        };
        let anchors = match &self.leet {
            Some(_) => digit_by_letter_positions(text),
            None => Vec::new(),
        };
        let mut next_anchor = 0;
        let mut find_leet = |p: usize| -> Option<Match> {
            let leet = self.leet.as_ref()?;
            // A leet match contains an anchor digit d, so it starts in (d - max_len, d].
            while next_anchor < anchors.len() && anchors[next_anchor] < p {
                next_anchor += 1;
            }
            let mut from = p;
            for &d in &anchors[next_anchor..] {
                let ws = from.max((d + 1).saturating_sub(leet.max_len));
                let we = len.min(d + leet.max_len);
                if let Some(m) = leet.ac.find(Input::new(text).span(ws..we))
                    && m.start() <= d
                {
                    return Some(m);
                }
                from = d + 1;
            }
            None
        };
        let mut main_next = find_main(0);
        let mut leet_next = find_leet(0);
        loop {
            let take_main = match (&main_next, &leet_next) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(a), Some(b)) => {
                    a.start() < b.start() || (a.start() == b.start() && a.end() >= b.end())
                }
            };
            let (m, lits) = if take_main {
                (main_next, self.main.as_ref())
            } else {
                (leet_next, self.leet.as_ref())
            };
            let (Some(m), Some(lits)) = (m, lits) else {
                break;
            };
            f(m, &lits.targets[m.pattern().as_usize()]);
            let p = m.end().max(m.start() + 1);
            if main_next.is_some_and(|x| x.start() < p) {
                main_next = find_main(p);
            }
            if leet_next.is_some_and(|x| x.start() < p) {
                leet_next = find_leet(p);
            }
        }
    }

    /// Which regexes may match `text`: those whose required literal sets all occur in it.
    fn open_gates(&self, text: &str) -> impl Fn(usize) -> bool + '_ {
        let found = match &self.gates {
            Some(g) => {
                let mut found = vec![false; g.ac.patterns_len()];
                for m in g.ac.find_overlapping_iter(text) {
                    found[m.pattern().as_usize()] = true;
                }
                found
            }
            None => Vec::new(),
        };
        move |i: usize| {
            self.gates
                .as_ref()
                .and_then(|g| g.sets.get(i))
                .is_none_or(|sets| {
                    sets.iter()
                        .all(|set| set.iter().any(|&id| found.get(id as usize) == Some(&true)))
                })
        }
    }
}

/// Whether a literal holds an ASCII digit next to a letter (the anchor for the leet automaton).
fn has_digit_by_letter(p: &str) -> bool {
    let chars: Vec<char> = p.chars().collect();
    chars.iter().enumerate().any(|(i, c)| {
        c.is_ascii_digit()
            && ((i > 0 && chars[i - 1].is_alphabetic())
                || chars.get(i + 1).is_some_and(|n| n.is_alphabetic()))
    })
}

/// Byte positions of ASCII digits next to a letter in `text`, in order.
fn digit_by_letter_positions(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        if !b.is_ascii_digit() {
            continue;
        }
        let before = text[..i]
            .chars()
            .next_back()
            .is_some_and(char::is_alphabetic);
        if before
            || text[i + 1..]
                .chars()
                .next()
                .is_some_and(char::is_alphabetic)
        {
            out.push(i);
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Classifier;
    use proptest::prelude::*;

    /// The reference: one leftmost-longest automaton over every literal, and every regex run
    /// without gates, as the engine did before it was split.
    struct Reference {
        ac: AhoCorasick,
    }

    fn setup() -> (Classifier, Reference) {
        let c = Classifier::default_rules().unwrap_or_else(|e| panic!("{e}"));
        let mut patterns: Vec<String> = Vec::new();
        for rule in &c.rules().rules {
            for t in &rule.terms {
                let core = c.normalizer().normalize_term(t.trim_matches('*'));
                for v in digit_variants(&core, MAX_VARIANTS) {
                    if !patterns.contains(&v) {
                        patterns.push(v);
                    }
                }
            }
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .unwrap_or_else(|e| panic!("{e}"));
        (c, Reference { ac })
    }

    fn same(c: &Classifier, r: &Reference, text: &str) {
        let mut got = Vec::new();
        c.engine()
            .scan_literals(text, |m, _| got.push((m.start(), m.end())));
        let want: Vec<(usize, usize)> =
            r.ac.find_iter(text).map(|m| (m.start(), m.end())).collect();
        assert_eq!(got, want, "{text:?}");
        let open = c.engine().open_gates(text);
        for (i, re) in c.engine().regexes().iter().enumerate() {
            if !open(i) {
                assert!(re.find(text).is_none(), "gate closed on a match: {text:?}");
            }
        }
    }

    static SETUP: std::sync::LazyLock<(Classifier, Reference)> = std::sync::LazyLock::new(setup);

    #[test]
    fn literal_stream_equals_the_single_automaton() {
        let (c, r) = &*SETUP;
        for text in [
            "м3ф м3федрон мефедр0н прик0п 1г 2гр trc20 trc-20 usdt",
            "з4кл4дк1 з4клад 3акладки m3f мeф 1000тг 5мин",
            "4 3 0 1 6 кр1сталл кр1 сталл а1ф4 пв4 4пв 1пв",
            "",
            "1",
        ] {
            same(c, r, text);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]
        #[test]
        fn literal_stream_equals_the_single_automaton_random(
            words in proptest::collection::vec(
                "(меф|мефедрон|закладк[аи]|клад|прикоп|кристалл|шишки|соль|альфа|пв|гаш|тг|мин|оплат|после|адрес|[0-9]{1,3}|[а-я]{1,4}|[ .,\n])",
                0..40,
            ),
            leet in proptest::collection::vec((0usize..200, "[0134 6]"), 0..8),
        ) {
            let (c, r) = &*SETUP;
            let mut chars: Vec<char> = words.concat().chars().collect();
            for (pos, d) in leet {
                if !chars.is_empty() {
                    let i = pos % chars.len();
                    chars[i] = d.chars().next().unwrap_or('3');
                }
            }
            let text: String = chars.into_iter().collect();
            same(c, r, &text);
        }
    }
}
