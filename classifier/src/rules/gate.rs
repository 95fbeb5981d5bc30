//! Required literals of a pattern: sets of strings such that every match of the pattern
//! contains at least one string of each set. A pattern whose sets are not all present in a
//! text cannot match it, so its regex need not run (a gate, not a change of meaning).
//!
//! Derived from the pattern's syntax tree (`regex-syntax`): a literal requires itself; a small
//! class requires one of its characters; a concatenation requires what each part requires; an
//! alternation requires the union of one set per branch; a repetition requires what its body
//! requires when it must occur at least once. Looks, empty and large classes require nothing.
//!
//! Each set also says where a match can start relative to the set's literal it contains: at most
//! [`Required::before`] bytes earlier (when bounded), and only across bytes of
//! [`Required::bytes`] (a superset of every byte the part of the match before that literal can
//! hold). So a match cannot start before the first occurrence of the set minus `before`, nor
//! before the run of `bytes` that ends there (see `Engine::search_start`).

use regex_syntax::hir::{Class, Hir, HirKind};

/// Largest class expanded into single-character literals.
const MAX_CLASS_CHARS: u32 = 16;
/// Largest literal set kept for a gate.
const MAX_SET: usize = 32;
/// Shortest literal (bytes) worth gating on: shorter ones (digits, punctuation, a single
/// Cyrillic letter) occur in nearly every page.
const MIN_LITERAL_BYTES: usize = 3;

/// A set of literals, one of which every match contains.
pub(crate) type LiteralSet = Vec<Vec<u8>>;

/// A set of bytes (bit `b` set: byte `b` is in the set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ByteSet([u64; 4]);

impl ByteSet {
    fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    fn insert_range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.insert(b);
        }
    }

    fn union(mut self, other: ByteSet) -> ByteSet {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
        self
    }

    /// Whether `b` is in the set.
    pub(crate) fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }
}

/// A required literal set, and how far before its literal a match can start.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Required {
    /// One of these occurs in every match.
    pub(crate) lits: LiteralSet,
    /// Every match contains a literal of `lits` starting at most this many bytes after the
    /// match's start (None: unbounded) ...
    pub(crate) before: Option<usize>,
    /// ... with only bytes of this set between the match's start and that literal.
    pub(crate) bytes: ByteSet,
}

/// The required literal sets of `pattern` worth gating on (empty: always run the pattern).
/// Patterns that do not parse yield no sets (the regex compile reports the error).
pub(crate) fn required_sets(pattern: &str) -> Vec<Required> {
    let Ok(hir) = regex_syntax::ParserBuilder::new().build().parse(pattern) else {
        return Vec::new();
    };
    let mut sets = required(&hir);
    sets.retain(|s| !s.lits.is_empty() && s.lits.iter().all(|l| l.len() >= MIN_LITERAL_BYTES));
    for s in &mut sets {
        s.lits.sort();
        s.lits.dedup();
    }
    sets.sort();
    sets.dedup();
    sets
}

/// For a pattern none of whose [`required_sets`] bounds where a match starts: the best set of
/// literals across the junctions of its top-level concatenation (see [`junctions`]), if any.
/// Such literals are short and frequent, so the engine searches for them only when the
/// pattern's gate is open, not in the one pass.
pub(crate) fn junction_set(pattern: &str) -> Option<Required> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    if required_sets(pattern).iter().any(|s| s.before.is_some()) {
        return None;
    }
    let HirKind::Concat(parts) = hir.kind() else {
        return None;
    };
    junctions(parts)
        .into_iter()
        .filter(|s| s.before.is_some())
        .max_by_key(quality)
}

/// Bytes kept of the left and right side of a junction literal, tried in this order.
const JUNCTION_SIDES: [(usize, usize); 4] = [(2, 2), (1, 2), (2, 1), (1, 3)];

/// Literals across the junctions of a concatenation: every match of `left · right` is a match
/// of `left` (ending with one of its suffix literals) followed by a match of `right` (starting
/// with one of its prefix literals), so it contains `suffix · prefix` for some pair, starting at
/// most `maximum_len(left)` bytes into the match, with only bytes of `left` before it. Parts
/// made of short pieces (`[0-9][ ]?г`) yield literals long enough to search for this way.
fn junctions(parts: &[Hir]) -> Vec<Required> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let mut out = Vec::new();
    for j in 1..parts.len() {
        let left = Hir::concat(parts[..j].to_vec());
        let right = Hir::concat(parts[j..].to_vec());
        let suffixes = Extractor::new().kind(ExtractKind::Suffix).extract(&left);
        let prefixes = Extractor::new().kind(ExtractKind::Prefix).extract(&right);
        let (Some(suffixes), Some(prefixes)) = (suffixes.literals(), prefixes.literals()) else {
            continue;
        };
        // The longest sides that keep the set small, every literal long enough to search for.
        let lits = JUNCTION_SIDES.iter().find_map(|&(keep_left, keep_right)| {
            let sl = distinct(suffixes.iter().map(|l| {
                let b = l.as_bytes();
                &b[b.len().saturating_sub(keep_left)..]
            }));
            let pl = distinct(prefixes.iter().map(|l| {
                let b = l.as_bytes();
                &b[..b.len().min(keep_right)]
            }));
            if sl.is_empty() || pl.is_empty() || sl.len() * pl.len() > MAX_SET {
                return None;
            }
            let lits: LiteralSet = sl
                .iter()
                .flat_map(|l| pl.iter().map(|r| [l.as_slice(), r.as_slice()].concat()))
                .collect();
            lits.iter()
                .all(|l| l.len() >= MIN_LITERAL_BYTES)
                .then_some(lits)
        });
        if let Some(lits) = lits {
            out.push(Required {
                lits,
                before: left.properties().maximum_len(),
                bytes: bytes_of(&left),
            });
        }
    }
    out
}

/// The distinct byte strings of `items`, sorted.
fn distinct<'a>(items: impl Iterator<Item = &'a [u8]>) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = items.map(<[u8]>::to_vec).collect();
    v.sort();
    v.dedup();
    v
}

/// A set's quality: its shortest literal, then fewer literals.
fn quality(set: &Required) -> (usize, std::cmp::Reverse<usize>) {
    (
        set.lits.iter().map(Vec::len).min().unwrap_or(0),
        std::cmp::Reverse(set.lits.len()),
    )
}

fn here(lits: LiteralSet) -> Required {
    Required {
        lits,
        before: Some(0),
        bytes: ByteSet::default(),
    }
}

fn required(hir: &Hir) -> Vec<Required> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Vec::new(),
        HirKind::Literal(lit) => vec![here(vec![lit.0.to_vec()])],
        HirKind::Class(class) => class_literals(class).map_or_else(Vec::new, |s| vec![here(s)]),
        // The first repetition starts where the repetition starts.
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub),
        HirKind::Repetition(_) => Vec::new(),
        HirKind::Capture(cap) => required(&cap.sub),
        HirKind::Concat(parts) => {
            let mut out = Vec::new();
            let mut prefix_len = Some(0usize);
            let mut prefix_bytes = ByteSet::default();
            for part in parts {
                for r in required(part) {
                    out.push(Required {
                        lits: r.lits,
                        before: prefix_len.zip(r.before).map(|(a, b)| a + b),
                        bytes: prefix_bytes.union(r.bytes),
                    });
                }
                prefix_len = prefix_len
                    .zip(part.properties().maximum_len())
                    .map(|(a, b)| a + b);
                prefix_bytes = prefix_bytes.union(bytes_of(part));
            }
            out
        }
        HirKind::Alternation(branches) => {
            let mut union = Required {
                lits: Vec::new(),
                before: Some(0),
                bytes: ByteSet::default(),
            };
            for b in branches {
                let Some(best) = required(b).into_iter().max_by_key(quality) else {
                    return Vec::new();
                };
                union.lits.extend(best.lits);
                union.before = union.before.zip(best.before).map(|(a, b)| a.max(b));
                union.bytes = union.bytes.union(best.bytes);
                if union.lits.len() > MAX_SET {
                    return Vec::new();
                }
            }
            vec![union]
        }
    }
}

/// A superset of the bytes any match of `hir` can contain.
fn bytes_of(hir: &Hir) -> ByteSet {
    let mut set = ByteSet::default();
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => {
            for &b in lit.0.iter() {
                set.insert(b);
            }
        }
        HirKind::Class(Class::Unicode(c)) => {
            for r in c.ranges() {
                let (lo, hi) = (u32::from(r.start()), u32::from(r.end()));
                if lo < 0x80 {
                    set.insert_range(lo as u8, hi.min(0x7F) as u8);
                }
                if hi >= 0x80 {
                    // Any byte of a multi-byte UTF-8 sequence (a superset is enough).
                    set.insert_range(0x80, 0xFF);
                }
            }
        }
        HirKind::Class(Class::Bytes(c)) => {
            for r in c.ranges() {
                set.insert_range(r.start(), r.end());
            }
        }
        HirKind::Repetition(rep) => set = bytes_of(&rep.sub),
        HirKind::Capture(cap) => set = bytes_of(&cap.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            for s in subs {
                set = set.union(bytes_of(s));
            }
        }
    }
    set
}

/// The characters of a small class as literals (None for large classes).
fn class_literals(class: &Class) -> Option<LiteralSet> {
    match class {
        Class::Unicode(c) => {
            let n: u32 = c
                .ranges()
                .iter()
                .map(|r| u32::from(r.end()) - u32::from(r.start()) + 1)
                .sum();
            if n > MAX_CLASS_CHARS {
                return None;
            }
            let mut out = Vec::new();
            for r in c.ranges() {
                for ch in r.start()..=r.end() {
                    out.push(ch.to_string().into_bytes());
                }
            }
            Some(out)
        }
        Class::Bytes(c) => {
            let n: usize = c
                .ranges()
                .iter()
                .map(|r| usize::from(r.end() - r.start()) + 1)
                .sum();
            if n > MAX_CLASS_CHARS as usize {
                return None;
            }
            Some(
                c.ranges()
                    .iter()
                    .flat_map(|r| (r.start()..=r.end()).map(|b| vec![b]))
                    .collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(p: &str) -> Vec<Vec<String>> {
        required_sets(p)
            .into_iter()
            .map(|s| {
                s.lits
                    .into_iter()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn literals_alternations_and_repetitions() {
        assert_eq!(sets("кездесусиз"), vec![vec!["кездесусиз"]]);
        assert!(
            sets("(?:без|бе[зс])[ ]?(?:встреч|контакт)")
                .contains(&vec!["встреч".to_string(), "контакт".to_string()])
        );
        // Optional parts and large classes require nothing; digits are too short to gate on.
        assert!(sets("[0-9]+[ ]?(?:мин)?").is_empty());
        assert_eq!(sets("(?:[0-9]+|пят)[ ]?мин"), vec![vec!["мин"]]);
    }

    #[test]
    fn junctions_join_short_pieces() {
        let j =
            junction_set("(?:[1-3]|пол)[ ]?(?:г|гр)(?:[^a]|$)[^\n]*тг").expect("a junction set");
        let lits: Vec<String> = j
            .lits
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        // Each side keeps two bytes: `пол` leaves its last letter, `г` (two bytes) is whole.
        for w in ["1г", "2г", "3г", "лг"] {
            assert!(lits.contains(&w.to_string()), "{lits:?}");
        }
        assert!(j.before.is_some_and(|b| b <= 7), "{:?}", j.before);
        // A pattern with a bounded required set needs none.
        assert!(junction_set("(?:[1-3]|пол)[ ]?(?:г|гр)тенге").is_none());
    }

    #[test]
    fn small_classes_expand() {
        assert_eq!(sets("[❄💎]"), vec![vec!["❄", "💎"]]);
    }

    #[test]
    fn every_match_contains_each_set() {
        let pats = [
            "(?:адрес|мекенжаи|adres)[^.\n]{0,50}(?:[0-9]+|пят|десят|пару)[ ]?(?:мин|минут)",
            "(?:₸|тг|тенге)[ ]?за[ ]?(?:каждии[ ])?клад",
            "[«\"„“][^»\"”\n]{0,15}(?:сол|меф|клад)[^«\"“\n]{0,15}[»\"”]",
        ];
        let texts = [
            "адрес через 5 минут",
            "мекенжаи пару мин",
            "1000 тг за клад",
            "тенге за каждии клад",
            "«меф» и \"клад\"",
        ];
        for p in pats {
            let re = regex::Regex::new(p).unwrap_or_else(|e| panic!("{e}"));
            for t in texts {
                if let Some(m) = re.find(t) {
                    for set in required_sets(p) {
                        assert!(
                            set.lits.iter().any(|l| m
                                .as_str()
                                .as_bytes()
                                .windows(l.len())
                                .any(|w| w == l.as_slice())),
                            "{p} on {t}"
                        );
                    }
                }
            }
        }
    }
}
