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
//! - The main literals and each pattern's required literals (see [`super::gate`]) share one
//!   overlapping DFA walked once per text (`Engine::one_pass`); the leftmost-longest term
//!   matches are selected from its output, and a pattern runs (its own `Regex`, with its own
//!   prefilter, stopping at its first match) only when every required set is present.

use std::ops::Range;

use aho_corasick::automaton::Automaton;
use aho_corasick::{
    AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Anchored, Input, MatchKind, StartKind, dfa,
};
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

/// No entry (term slot or gate literal) for a pattern of the one-pass automaton.
const NONE: u32 = u32::MAX;

/// The main literal terms and every pattern's required literals in one overlapping DFA,
/// walked by a tight loop of our own (one table lookup per byte). Leftmost-longest term
/// matches are selected afterwards from the overlapping ones (by start, longest first,
/// greedily), which is exactly the leftmost-longest iteration.
#[derive(Debug, Clone)]
struct OnePass {
    dfa: dfa::DFA,
    /// Per automaton pattern: the term slot in `main.targets`, or [`NONE`].
    term: Vec<u32>,
    /// Per automaton pattern: the gate literal id, or [`NONE`].
    gate: Vec<u32>,
    n_gates: usize,
    /// Per regex: its required sets.
    sets: Vec<Vec<GateSet>>,
    /// Length in bytes of the longest pattern: how far the lanes of [`walk`] overlap.
    max_len: usize,
}

/// One required literal set of a regex (see [`gate::Required`]).
#[derive(Debug, Clone)]
struct GateSet {
    /// Gate literal ids; one of them occurs in every match.
    ids: Vec<u32>,
    /// How many bytes before that literal a match can start (None: unbounded).
    before: Option<usize>,
    /// The bytes a match can hold before that literal.
    bytes: gate::ByteSet,
}

/// How far [`Engine::search_start`] walks back over a run of bytes before giving up on it.
const MAX_RUN_WALK: usize = 1024;

/// A regex's junction literal set, with its own searcher.
#[derive(Debug, Clone)]
struct Junction {
    ac: AhoCorasick,
    before: usize,
    bytes: gate::ByteSet,
}

/// Where a gate literal that does not occur "starts".
const ABSENT: u32 = u32::MAX;

/// What the one pass found: term matches `(start, end, slot)` in leftmost-longest order, and
/// per gate literal the start of its first occurrence ([`ABSENT`] when it does not occur).
struct Found {
    terms: Vec<(u32, u32, u32)>,
    gates: Vec<u32>,
}

/// The rule terms of the main literals (their patterns live in [`OnePass`]).
#[derive(Debug, Clone)]
struct MainTerms {
    targets: Vec<Vec<Target>>,
}

/// A rule set compiled for matching.
#[derive(Debug, Clone)]
pub struct Engine {
    /// Literals without a digit next to a letter (matched by the one pass).
    main: Option<MainTerms>,
    /// Literals with a digit next to a letter, searched around such digits only.
    leet: Option<Literals>,
    n_terms: usize,
    pass: Option<OnePass>,
    regexes: Vec<Regex>,
    /// For each regex: its junction literals (see [`gate::junction_set`]), searched in the text
    /// only when its gate is open.
    junctions: Vec<Option<Junction>>,
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
        let leet = Literals::build(leet_p, leet_t)?;
        let main = if main_p.is_empty() {
            None
        } else {
            Some(MainTerms { targets: main_t })
        };
        let mut gate_lits: Vec<Vec<u8>> = Vec::new();
        let mut gate_index: std::collections::HashMap<Vec<u8>, u32> = Default::default();
        let mut gate_sets = Vec::new();
        for p in &regex_src {
            let mut sets = Vec::new();
            for set in gate::required_sets(p) {
                let ids = set
                    .lits
                    .into_iter()
                    .map(|lit| {
                        *gate_index.entry(lit.clone()).or_insert_with(|| {
                            gate_lits.push(lit);
                            (gate_lits.len() - 1) as u32
                        })
                    })
                    .collect();
                sets.push(GateSet {
                    ids,
                    before: set.before,
                    bytes: set.bytes,
                });
            }
            gate_sets.push(sets);
        }
        // One automaton over the main terms and the gate literals (deduplicated).
        let mut all: Vec<Vec<u8>> = Vec::new();
        let mut all_index: std::collections::HashMap<Vec<u8>, usize> = Default::default();
        let (mut term_of, mut gate_of) = (Vec::new(), Vec::new());
        let main_pats: Vec<&[u8]> = main_p.iter().map(|p| p.as_bytes()).collect();
        let items = main_pats
            .iter()
            .enumerate()
            .map(|(i, p)| (p.to_vec(), i as u32, NONE))
            .chain(
                gate_lits
                    .iter()
                    .enumerate()
                    .map(|(g, l)| (l.clone(), NONE, g as u32)),
            );
        for (lit, t, g) in items {
            let k = *all_index.entry(lit.clone()).or_insert_with(|| {
                all.push(lit);
                term_of.push(NONE);
                gate_of.push(NONE);
                all.len() - 1
            });
            if t != NONE {
                term_of[k] = t;
            }
            if g != NONE {
                gate_of[k] = g;
            }
        }
        let pass = if all.is_empty() {
            None
        } else {
            let dfa = dfa::Builder::new()
                .match_kind(MatchKind::Standard)
                .start_kind(StartKind::Unanchored)
                .prefilter(false)
                .build(&all)
                .map_err(|e| err("(terms)", e.to_string()))?;
            Some(OnePass {
                dfa,
                term: term_of,
                gate: gate_of,
                n_gates: gate_lits.len(),
                sets: gate_sets,
                max_len: all.iter().map(Vec::len).max().unwrap_or(0),
            })
        };
        let junctions = regex_src
            .iter()
            .map(|p| {
                let Some(set) = gate::junction_set(p) else {
                    return Ok(None);
                };
                let Some(before) = set.before else {
                    return Ok(None);
                };
                let ac = AhoCorasick::new(&set.lits).map_err(|e| err(p, e.to_string()))?;
                Ok(Some(Junction {
                    ac,
                    before,
                    bytes: set.bytes,
                }))
            })
            .collect::<Result<Vec<_>, Error>>()?;
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
            pass,
            regexes,
            junctions,
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
        let found = self.one_pass(text);
        self.scan_literals(text, &found, |s, e, targets| {
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
            for (i, re) in self.regexes.iter().enumerate() {
                let Some(from) = self.search_start(text, &found, i) else {
                    continue;
                };
                if let Some(m) = re.find_at(text, from) {
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
    /// Walks `text` once through the one-pass automaton: every term occurrence and which gate
    /// literals occur. Term occurrences come back sorted by start, longest first.
    fn one_pass(&self, text: &str) -> Found {
        let Some(pass) = &self.pass else {
            return Found {
                terms: Vec::new(),
                gates: Vec::new(),
            };
        };
        let dfa = &pass.dfa;
        let mut terms: Vec<(u32, u32, u32)> = Vec::new();
        let mut gates = vec![ABSENT; pass.n_gates];
        walk::<LANES>(dfa, text.as_bytes(), pass.max_len, |sid, end| {
            for k in 0..dfa.match_len(sid) {
                let pid = dfa.match_pattern(sid, k);
                let p = pid.as_usize();
                let start = (end - dfa.pattern_len(pid)) as u32;
                let t = pass.term[p];
                if t != NONE {
                    terms.push((start, end as u32, t));
                }
                let g = pass.gate[p];
                if g != NONE {
                    let first = &mut gates[g as usize];
                    *first = (*first).min(start);
                }
            }
        });
        // Matches arrive by end; leftmost-longest wants them by start, longest first.
        terms.sort_unstable_by_key(|&(s, e, _)| (s, std::cmp::Reverse(e)));
        Found { terms, gates }
    }

    /// Where regex `i` must start searching to find its leftmost match, or None when it cannot
    /// match (one of its required literal sets does not occur).
    ///
    /// Every match holds a literal of each set, at most `before` bytes after its start and with
    /// only `bytes` in between. With `f` the first occurrence of the set, a match using an
    /// occurrence `o >= f` starts at or after `o - before >= f - before`, and at or after the start
    /// of the run of `bytes` ending at `o`, which is at or after the start of the run ending at
    /// `f` (a run reaching back over `f` is the run of `f`). So no match starts before the largest
    /// of these bounds, and `find_at` from there (look-around still sees the whole text) finds
    /// the same leftmost match as `find` from 0. A junction set (searched here, not in the one
    /// pass) is bounded the same way from its first occurrence at or after the bound so far:
    /// the occurrence inside the leftmost match is there too.
    fn search_start(&self, text: &str, found: &Found, i: usize) -> Option<usize> {
        let Some(sets) = self.pass.as_ref().and_then(|p| p.sets.get(i)) else {
            return Some(0);
        };
        let bytes = text.as_bytes();
        let mut from = 0usize;
        for set in sets {
            let f = set
                .ids
                .iter()
                .map(|&id| found.gates.get(id as usize).copied().unwrap_or(ABSENT))
                .min()
                .unwrap_or(ABSENT);
            if f == ABSENT {
                return None;
            }
            from = bounded_start(
                bytes,
                f as usize,
                set.before.unwrap_or(usize::MAX),
                &set.bytes,
                from,
            );
        }
        if let Some(j) = self.junctions.get(i).and_then(Option::as_ref) {
            // The first occurrence at or after `from` (an occurrence inside a match is there).
            let f =
                j.ac.find(Input::new(bytes).span(from..bytes.len()))?
                    .start();
            from = bounded_start(bytes, f, j.before, &j.bytes, from);
        }
        while !text.is_char_boundary(from) {
            from -= 1;
        }
        Some(from)
    }

    /// Whether regex `i` may match: each of its required literal sets occurs in the text.
    #[cfg(test)]
    fn gate_open(&self, found: &Found, i: usize) -> bool {
        self.pass
            .as_ref()
            .and_then(|p| p.sets.get(i))
            .is_none_or(|sets| {
                sets.iter().all(|set| {
                    set.ids
                        .iter()
                        .any(|&id| found.gates.get(id as usize).is_some_and(|&g| g != ABSENT))
                })
            })
    }

    /// Calls `f` for each match `(start, end, terms)` of the leftmost-longest iteration over
    /// the union of both literal sets, in order.
    fn scan_literals(&self, text: &str, found: &Found, mut f: impl FnMut(usize, usize, &[Target])) {
        let len = text.len();
        let mut main_idx = 0;
        let main_terms = &found.terms;
        let mut find_main = |p: usize| -> Option<(usize, usize, usize)> {
            while main_idx < main_terms.len() && (main_terms[main_idx].0 as usize) < p {
                main_idx += 1;
            }
            main_terms
                .get(main_idx)
                .map(|&(s, e, slot)| (s as usize, e as usize, slot as usize))
        };
        let anchors = match &self.leet {
            Some(_) => digit_by_letter_positions(text),
            None => Vec::new(),
        };
        let mut next_anchor = 0;
        let mut find_leet = |p: usize| -> Option<(usize, usize, usize)> {
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
                    return Some((m.start(), m.end(), m.pattern().as_usize()));
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
                (Some(a), Some(b)) => a.0 < b.0 || (a.0 == b.0 && a.1 >= b.1),
            };
            let (m, targets) = if take_main {
                (main_next, self.main.as_ref().map(|l| &l.targets))
            } else {
                (leet_next, self.leet.as_ref().map(|l| &l.targets))
            };
            let (Some(m), Some(targets)) = (m, targets) else {
                break;
            };
            let Some(t) = targets.get(m.2) else {
                break;
            };
            f(m.0, m.1, t);
            let p = m.1.max(m.0 + 1);
            if main_next.is_some_and(|x| x.0 < p) {
                main_next = find_main(p);
            }
            if leet_next.is_some_and(|x| x.0 < p) {
                leet_next = find_leet(p);
            }
        }
    }
}

/// The largest of `from`, `f - before` and the start of the run of `bytes` ending at `f`
/// (walked back at most [`MAX_RUN_WALK`] bytes: when the walk stops early, the run's start is
/// unknown and gives no bound).
fn bounded_start(bytes: &[u8], f: usize, before: usize, set: &gate::ByteSet, from: usize) -> usize {
    let lo = f.saturating_sub(before).max(from);
    let floor = lo.max(f.saturating_sub(MAX_RUN_WALK));
    let mut run = f;
    while run > floor && set.contains(bytes[run - 1]) {
        run -= 1;
    }
    if run > floor { run } else { lo }
}

/// Independent walks [`walk`] interleaves: each DFA step waits for the previous step's table
/// load, so walking several parts of the text at once overlaps those waits.
const LANES: usize = 2;

/// Walks `bytes` through the unanchored overlapping `dfa` and calls `emit(state, end)` at every
/// match state, `end` being the offset just past the match, exactly once per end offset (in
/// no particular order).
///
/// The text is cut into `N` lanes walked in lock-step. Lane `j` reports the matches ending in
/// `(lo_j, hi_j]`; it starts `max_len - 1` bytes before `lo_j` (a match ending after `lo_j`
/// starts there or later), so every match is seen by exactly one lane, in a state that holds
/// all patterns ending at that offset. A match starting inside a UTF-8 sequence cannot occur:
/// patterns are whole UTF-8 strings.
fn walk<const N: usize>(
    dfa: &dfa::DFA,
    bytes: &[u8],
    max_len: usize,
    mut emit: impl FnMut(aho_corasick::automaton::StateID, usize),
) {
    let Ok(start) = dfa.start_state(Anchored::No) else {
        return;
    };
    let overlap = max_len.saturating_sub(1);
    let chunk = bytes.len() / N;
    let is_match = |sid| dfa.is_special(sid) && dfa.is_match(sid);
    if N == 1 || chunk <= overlap {
        let mut sid = start;
        for (i, &b) in bytes.iter().enumerate() {
            sid = dfa.next_state(Anchored::No, sid, b);
            if is_match(sid) {
                emit(sid, i + 1);
            }
        }
        return;
    }
    let lo: [usize; N] = std::array::from_fn(|j| j * chunk);
    let from: [usize; N] = std::array::from_fn(|j| lo[j].saturating_sub(overlap));
    let hi: [usize; N] = std::array::from_fn(|j| if j + 1 == N { bytes.len() } else { lo[j + 1] });
    let mut sid = [start; N];
    // Every lane has at least `chunk` bytes to walk (lane 0 exactly that many).
    for k in 0..chunk {
        for j in 0..N {
            let p = from[j] + k;
            sid[j] = dfa.next_state(Anchored::No, sid[j], bytes[p]);
            if is_match(sid[j]) && p >= lo[j] {
                emit(sid[j], p + 1);
            }
        }
    }
    for j in 0..N {
        for (p, &b) in bytes.iter().enumerate().take(hi[j]).skip(from[j] + chunk) {
            sid[j] = dfa.next_state(Anchored::No, sid[j], b);
            if is_match(sid[j]) && p >= lo[j] {
                emit(sid[j], p + 1);
            }
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
        let found = c.engine().one_pass(text);
        c.engine()
            .scan_literals(text, &found, |s, e, _| got.push((s, e)));
        let want: Vec<(usize, usize)> =
            r.ac.find_iter(text).map(|m| (m.start(), m.end())).collect();
        assert_eq!(got, want, "{text:?}");
        for (i, re) in c.engine().regexes().iter().enumerate() {
            if !c.engine().gate_open(&found, i) {
                assert!(re.find(text).is_none(), "gate closed on a match: {text:?}");
            }
        }
        same_regex_matches(c, text);
    }

    /// Each regex searched from [`Engine::search_start`] finds exactly what `find` from the
    /// start of the text finds (the engine before the search start existed).
    fn same_regex_matches(c: &Classifier, text: &str) {
        let e = c.engine();
        let found = e.one_pass(text);
        for (i, re) in e.regexes().iter().enumerate() {
            let want = re.find(text).map(|m| m.range());
            let start = e.search_start(text, &found, i);
            let got = start.and_then(|f| re.find_at(text, f)).map(|m| m.range());
            assert_eq!(got, want, "{} from {start:?} on {text:?}", re.as_str());
        }
    }

    #[test]
    fn search_start_finds_the_same_match_on_the_corpus() {
        let (c, _) = &*SETUP;
        let mut pages = Vec::new();
        for text in crate::test_corpus::dev_page_texts() {
            let norm = c.normalizer().normalize(&text).text().to_string();
            same_regex_matches(c, &norm);
            pages.push(norm);
        }
        // And on all pages joined, as `rules/engine` benchmarks it.
        same_regex_matches(c, &pages.join("\n"));
    }

    #[test]
    fn search_start_skips_to_the_literal() {
        let (c, _) = &*SETUP;
        let e = c.engine();
        let text = format!("{}1 000 тг за клад", "слово ".repeat(50));
        let found = e.one_pass(&text);
        let i = e
            .regexes()
            .iter()
            .position(|r| r.as_str().starts_with("(?:₸|тг|тенге)[ ]?за"))
            .expect("the dropper pattern");
        assert_eq!(e.search_start(&text, &found, i), text.find("тг"));
        // Digit-led: the run of digits and spaces before `тг` is part of the bound.
        let j = e
            .regexes()
            .iter()
            .position(|r| r.as_str().starts_with("[0-9]{1,3}(?:[  .]?[0-9]{3})+"))
            .expect("the price pattern");
        let price = format!("{}цена 1 000 тг за 1г", "слово ".repeat(50));
        let found = e.one_pass(&price);
        assert_eq!(e.search_start(&price, &found, j), price.find(" 1 000"));
        same_regex_matches(c, &text);
        same_regex_matches(c, &price);
        // A run longer than the walk: the bound falls back to what is known (here the start).
        let long = format!("слово 1{} тг за 1г", " 000".repeat(MAX_RUN_WALK));
        let found = e.one_pass(&long);
        assert_eq!(e.search_start(&long, &found, j), Some(0));
        same_regex_matches(c, &long);
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

    /// Every `(end, pattern)` the lane walk reports, sorted.
    fn walked<const N: usize>(c: &Classifier, text: &str) -> Vec<(usize, usize)> {
        let pass = c
            .engine()
            .pass
            .as_ref()
            .expect("the default rules have literals");
        let mut got = Vec::new();
        walk::<N>(&pass.dfa, text.as_bytes(), pass.max_len, |sid, end| {
            for k in 0..pass.dfa.match_len(sid) {
                got.push((end, pass.dfa.match_pattern(sid, k).as_usize()));
            }
        });
        got.sort_unstable();
        got
    }

    fn same_walks(c: &Classifier, text: &str) {
        let one = walked::<1>(c, text);
        assert_eq!(walked::<2>(c, text), one, "2 lanes: {text:?}");
        assert_eq!(walked::<3>(c, text), one, "3 lanes: {text:?}");
        assert_eq!(walked::<LANES>(c, text), one, "{LANES} lanes: {text:?}");
    }

    #[test]
    fn lanes_report_every_match_once_at_every_cut() {
        let (c, _) = &*SETUP;
        let pass = c.engine().pass.as_ref().expect("literals");
        // Matches straddling every possible cut: a run of terms, each prefix of it walked.
        let text = "закладки мефедрон кристалл оплата после прикоп шишки альфа пвп ".repeat(12);
        let mut n = 0;
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            same_walks(c, &text[..end]);
            n += 1;
        }
        assert!(n > 4 * pass.max_len, "long enough to use every lane");
        assert!(!walked::<1>(c, &text).is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]
        #[test]
        fn lanes_equal_one_walk_random(
            words in proptest::collection::vec(
                "(меф|мефедрон|закладк[аи]|клад|прикоп|кристалл|оплат|после|адрес|[0-9]{1,3}|[а-я]{1,4}|[ .,\n])",
                0..400,
            ),
        ) {
            let (c, _) = &*SETUP;
            same_walks(c, &words.concat());
        }

        #[test]
        fn search_start_finds_the_same_match_random(
            words in proptest::collection::vec(
                "(мин|минут|после|посл|оплат|оплата|адрес|мекенжаи|adres|пят|десят|пару|фото|координат|точк|без|бес|встреч|контакт|кездесусиз|сразу|приходит|клад|закладк|по|во|всех|в|каждом|город|район|пол|г|гр|грамм|грам|шт|тг|₸|тенге|т\\.|тнг|за|каждии|курьер|алфа|сол|кристалл|меф|❄|💎|🌿|[«»\"„“”]|[0-9]{1,4}|[а-я]{1,3}|[a-z]{1,3}|[ .,:/()\n\u{A0}\\-—=])",
                0..80,
            ),
        ) {
            let (c, _) = &*SETUP;
            same_regex_matches(c, &words.concat());
        }

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
