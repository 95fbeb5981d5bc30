//! Required literals of a pattern: sets of strings such that every match of the pattern
//! contains at least one string of each set. A pattern whose sets are not all present in a
//! text cannot match it, so its regex need not run (a gate, not a change of meaning).
//!
//! Derived from the pattern's syntax tree (`regex-syntax`): a literal requires itself; a small
//! class requires one of its characters; a concatenation requires what each part requires; an
//! alternation requires the union of one set per branch; a repetition requires what its body
//! requires when it must occur at least once. Looks, empty and large classes require nothing.

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

/// The required literal sets of `pattern` worth gating on (empty: always run the pattern).
/// Patterns that do not parse yield no sets (the regex compile reports the error).
pub(crate) fn required_sets(pattern: &str) -> Vec<LiteralSet> {
    let Ok(hir) = regex_syntax::ParserBuilder::new().build().parse(pattern) else {
        return Vec::new();
    };
    let mut sets = required(&hir);
    sets.retain(|s| !s.is_empty() && s.iter().all(|l| l.len() >= MIN_LITERAL_BYTES));
    for s in &mut sets {
        s.sort();
        s.dedup();
    }
    sets.sort();
    sets.dedup();
    sets
}

/// A set's quality: its shortest literal, then fewer literals.
fn quality(set: &LiteralSet) -> (usize, std::cmp::Reverse<usize>) {
    (
        set.iter().map(Vec::len).min().unwrap_or(0),
        std::cmp::Reverse(set.len()),
    )
}

fn required(hir: &Hir) -> Vec<LiteralSet> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Vec::new(),
        HirKind::Literal(lit) => vec![vec![lit.0.to_vec()]],
        HirKind::Class(class) => class_literals(class).map_or_else(Vec::new, |s| vec![s]),
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub),
        HirKind::Repetition(_) => Vec::new(),
        HirKind::Capture(cap) => required(&cap.sub),
        HirKind::Concat(parts) => parts.iter().flat_map(required).collect(),
        HirKind::Alternation(branches) => {
            let mut union: LiteralSet = Vec::new();
            for b in branches {
                let Some(best) = required(b).into_iter().max_by_key(quality) else {
                    return Vec::new();
                };
                union.extend(best);
                if union.len() > MAX_SET {
                    return Vec::new();
                }
            }
            vec![union]
        }
    }
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
                s.into_iter()
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
                            set.iter().any(|l| m
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
