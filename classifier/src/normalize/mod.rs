//! Normalisation that defeats the tricks shops use, with a map back to the original text.
//!
//! Steps, in one pass over the characters and one over the tokens:
//! 1. Unicode NFKC and lower-casing; format characters (zero-width space/joiners, soft hyphen,
//!    BOM …), combining marks left after composition and variation selectors are removed;
//!    whitespace runs become one space.
//! 2. Letters spaced or dotted apart (`з а к л а д к и`, `м.е.ф`) are rejoined: three or more
//!    single letters separated by the same short separator.
//! 3. Per token (run of letters and digits): a mostly-Cyrillic token gets its Latin look-alikes
//!    folded to Cyrillic (table from Unicode's confusables data, see [`confusables`]); a
//!    mostly-Latin token is transliterated to Cyrillic (Russian Latin spellings and the Kazakh
//!    Latin alphabet, see [`translit`]).
//! 4. Every letter goes through [`fold_key`], a deliberately lossy key (ё→е, й/ы/і→и, ь/ъ
//!    dropped, Kazakh letters to their nearest Russian letter) so Russian, Kazakh and
//!    transliterated spellings meet.
//!
//! Digits used for letters (`м3ф`, `прик0п`) stay digits in the text; rule terms are expanded
//! with [`digit_variants`] instead, because `3` stands for both `з` and `е`.
//! Emoji stay in the text as their own characters, so rules can name them.

pub mod confusables;
pub mod translit;

use std::ops::Range;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_script::{Script, UnicodeScript};

use confusables::Confusables;

/// Normalised text with, for every byte, the byte range of the original text it came from.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    text: String,
    starts: Vec<u32>,
    ends: Vec<u32>,
}

impl Normalized {
    /// The normalised text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The byte range in the original text that produced `range` of the normalised text.
    /// Out-of-range input is clamped; an empty range maps to an empty range.
    pub fn original_range(&self, range: Range<usize>) -> Range<usize> {
        let n = self.starts.len();
        if n == 0 || range.start >= n || range.end <= range.start {
            return 0..0;
        }
        let last = range.end.min(n) - 1;
        self.starts[range.start] as usize..self.ends[last] as usize
    }

    fn push(&mut self, c: char, start: u32, end: u32) {
        let len = c.len_utf8();
        self.text.push(c);
        for _ in 0..len {
            self.starts.push(start);
            self.ends.push(end);
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Unit {
    c: char,
    s: u32,
    e: u32,
    class: Class,
}

/// What a character is, computed once per character (Unicode lookups are the hot spot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Latin,
    Cyrillic,
    OtherLetter,
    Digit,
    Other,
}

impl Class {
    fn of(c: char) -> Class {
        if c.is_ascii() {
            return if c.is_ascii_alphabetic() {
                Class::Latin
            } else if c.is_ascii_digit() {
                Class::Digit
            } else {
                Class::Other
            };
        }
        if ('\u{0400}'..='\u{052F}').contains(&c) {
            return if ('\u{0482}'..='\u{0489}').contains(&c) {
                Class::Other
            } else {
                Class::Cyrillic
            };
        }
        if c.is_alphabetic() {
            match c.script() {
                Script::Latin => Class::Latin,
                Script::Cyrillic => Class::Cyrillic,
                _ => Class::OtherLetter,
            }
        } else if c.is_numeric() {
            Class::Digit
        } else {
            Class::Other
        }
    }

    fn is_alnum(self) -> bool {
        self != Class::Other
    }

    fn is_letter(self) -> bool {
        matches!(self, Class::Latin | Class::Cyrillic | Class::OtherLetter)
    }
}

/// Whether `c` is a letter, with fast paths for ASCII and Cyrillic (used for word boundaries).
pub fn is_letter(c: char) -> bool {
    Class::of(c).is_letter()
}

/// Digits that stand for letters, and the letters (in key form) they stand for.
/// A convention of shop slang, not visual look-alikes, hence a short documented table.
pub const DIGIT_LETTERS: &[(char, char)] = &[
    ('з', '3'),
    ('е', '3'),
    ('о', '0'),
    ('ч', '4'),
    ('а', '4'),
    ('б', '6'),
    ('и', '1'),
];

/// Folds a lower-case letter to the matching key; `None` drops it (soft and hard signs).
pub fn fold_key(c: char) -> Option<char> {
    Some(match c {
        'ё' | 'э' | 'є' => 'е',
        'й' | 'ы' | 'і' | 'ї' => 'и',
        'ь' | 'ъ' => return None,
        'ә' => 'а',
        'ғ' => 'г',
        'қ' => 'к',
        'ң' => 'н',
        'ө' => 'о',
        'ұ' | 'ү' | 'ў' => 'у',
        'һ' => 'х',
        _ => c,
    })
}

/// Separators allowed between spaced-apart letters.
fn is_spacing_sep(c: char) -> bool {
    matches!(
        c,
        ' ' | '.' | '-' | '_' | '*' | '·' | '•' | '|' | '/' | '+' | '~'
    )
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '`')
}

/// The normaliser: holds the look-alike tables. Build once, use many times.
#[derive(Debug, Clone)]
pub struct Normalizer {
    confusables: Confusables,
}

impl Default for Normalizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Normalizer {
    /// Builds the look-alike tables from Unicode's confusables data (about a millisecond).
    pub fn new() -> Self {
        Normalizer {
            confusables: Confusables::build(),
        }
    }

    /// Normalises `input`. Cost: linear in the input, a few allocations.
    pub fn normalize(&self, input: &str) -> Normalized {
        let mut units = units(input);
        join_spaced(&mut units);
        self.tokens(&units, input.len())
    }

    /// Normalises a rule term (same steps as text), returning only the text.
    pub fn normalize_term(&self, term: &str) -> String {
        self.normalize(term).text.trim().to_string()
    }

    fn tokens(&self, units: &[Unit], cap: usize) -> Normalized {
        let mut out = Normalized {
            text: String::with_capacity(cap),
            starts: Vec::with_capacity(cap),
            ends: Vec::with_capacity(cap),
        };
        let mut i = 0;
        while i < units.len() {
            let u = units[i];
            if !u.class.is_alnum() {
                out.push(u.c, u.s, u.e);
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < units.len()
                && (units[j].class.is_alnum()
                    || (is_apostrophe(units[j].c) && units[j - 1].class.is_letter()))
            {
                j += 1;
            }
            self.token(&units[i..j], &mut out);
            i = j;
        }
        out
    }

    fn token(&self, tok: &[Unit], out: &mut Normalized) {
        let (mut cyr, mut lat) = (0usize, 0usize);
        for u in tok {
            match u.class {
                Class::Cyrillic => cyr += 1,
                Class::Latin => lat += 1,
                _ => {}
            }
        }
        let emit = |out: &mut Normalized, c: char, s: u32, e: u32| {
            if let Some(k) = fold_key(c) {
                out.push(k, s, e);
            }
        };
        if lat == 0 {
            for u in tok.iter().filter(|u| !is_apostrophe(u.c)) {
                emit(out, u.c, u.s, u.e);
            }
        } else if cyr >= lat
            || (cyr > 0
                && tok.iter().all(|u| {
                    u.class != Class::Latin || self.confusables.to_cyrillic(u.c).is_some()
                }))
        {
            for u in tok.iter().filter(|u| !is_apostrophe(u.c)) {
                if u.class != Class::Latin {
                    emit(out, u.c, u.s, u.e);
                } else if let Some(c) = self.confusables.to_cyrillic(u.c) {
                    emit(out, c, u.s, u.e);
                } else if let Some(t) = translit::single(u.c) {
                    for c in t.chars() {
                        emit(out, c, u.s, u.e);
                    }
                } else {
                    emit(out, u.c, u.s, u.e);
                }
            }
        } else {
            let chars: Vec<char> = tok
                .iter()
                .map(|u| {
                    if u.class == Class::Cyrillic {
                        self.confusables.to_latin(u.c).unwrap_or(u.c)
                    } else {
                        u.c
                    }
                })
                .collect();
            for (piece, a, b) in translit::token(&chars) {
                let (s, e) = (tok[a].s, tok[b - 1].e);
                for c in piece.chars() {
                    emit(out, c, s, e);
                }
            }
        }
    }
}

/// Step 1: NFKC, lower case, drop format characters and marks, collapse whitespace.
fn units(input: &str) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::with_capacity(input.len());
    let mut last_space = true;
    let mut iter = input.char_indices().peekable();
    let push = |units: &mut Vec<Unit>, last_space: &mut bool, c: char, s: usize, e: usize| {
        let (s, e) = (s as u32, e as u32);
        if c.is_whitespace() {
            if !*last_space {
                units.push(Unit {
                    c: ' ',
                    s,
                    e,
                    class: Class::Other,
                });
                *last_space = true;
            }
            return;
        }
        if c.is_ascii() {
            *last_space = false;
            let c = c.to_ascii_lowercase();
            units.push(Unit {
                c,
                s,
                e,
                class: Class::of(c),
            });
            return;
        }
        if is_invisible(c) {
            return;
        }
        *last_space = false;
        for l in c.to_lowercase() {
            units.push(Unit {
                c: l,
                s,
                e,
                class: Class::of(l),
            });
        }
    };
    while let Some((i, c)) = iter.next() {
        if c.is_ascii() {
            push(&mut units, &mut last_space, c, i, i + 1);
            continue;
        }
        let mut end = i + c.len_utf8();
        let mut marks = false;
        while let Some(&(j, m)) = iter.peek() {
            if is_combining_mark(m) || is_invisible_mark(m) {
                marks = true;
                end = j + m.len_utf8();
                iter.next();
            } else {
                break;
            }
        }
        if !marks && ('\u{0400}'..='\u{04FF}').contains(&c) {
            push(&mut units, &mut last_space, c, i, end);
        } else {
            for n in input[i..end].nfkc() {
                push(&mut units, &mut last_space, n, i, end);
            }
        }
    }
    units
}

/// Characters that are present but not seen: format characters, marks, variation selectors.
fn is_invisible(c: char) -> bool {
    if c.is_ascii()
        || ('\u{0400}'..='\u{0482}').contains(&c)
        || ('\u{048A}'..='\u{052F}').contains(&c)
    {
        return false;
    }
    matches!(
        c.general_category(),
        GeneralCategory::Format | GeneralCategory::NonspacingMark | GeneralCategory::EnclosingMark
    ) || is_invisible_mark(c)
        || ('\u{E0100}'..='\u{E01EF}').contains(&c)
}

fn is_invisible_mark(c: char) -> bool {
    ('\u{FE00}'..='\u{FE0F}').contains(&c)
        || matches!(
            c,
            '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{00AD}' | '\u{FEFF}'
        )
}

/// Step 2: rejoin `з а к л а д к и`, `м.е.ф`, `m-e-f` (three or more single letters or digits,
/// at least two of them letters, separated by the same one- or two-character separator).
fn join_spaced(units: &mut Vec<Unit>) {
    let n = units.len();
    let alnum = |units: &[Unit], k: usize| k < units.len() && units[k].class.is_alnum();
    let mut keep = vec![true; n];
    let mut any = false;
    let mut i = 0;
    while i < n {
        let single = alnum(units, i)
            && !(i > 0 && alnum(units, i - 1))
            && !alnum(units, i + 1)
            && units[i].class.is_letter();
        if !single {
            i += 1;
            continue;
        }
        let mut members = vec![i];
        let mut sep: Option<(char, Option<char>)> = None;
        let mut j = i + 1;
        loop {
            let mut k = j;
            while k < n && k - j < 2 && is_spacing_sep(units[k].c) {
                k += 1;
            }
            if k == j || k >= n {
                break;
            }
            let this = (units[j].c, (k - j == 2).then(|| units[j + 1].c));
            if sep.is_some_and(|s| s != this) || !alnum(units, k) || alnum(units, k + 1) {
                break;
            }
            sep = Some(this);
            members.push(k);
            j = k + 1;
        }
        let letters = members
            .iter()
            .filter(|&&m| units[m].class.is_letter())
            .count();
        if members.len() >= 3 && letters >= 2 {
            for w in members.windows(2) {
                for flag in &mut keep[w[0] + 1..w[1]] {
                    *flag = false;
                }
            }
            any = true;
            i = members[members.len() - 1] + 1;
        } else {
            i += 1;
        }
    }
    if any {
        let mut idx = 0;
        units.retain(|_| {
            idx += 1;
            keep[idx - 1]
        });
    }
}

/// Variants of a normalised term with up to three letters written as digits (see
/// [`DIGIT_LETTERS`]); at most `max` variants, the term itself first.
pub fn digit_variants(term: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = term.chars().collect();
    let mut out = vec![term.to_string()];
    if chars.iter().filter(|c| c.is_alphabetic()).count() < 3 {
        return out;
    }
    let slots: Vec<(usize, char)> = chars
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            DIGIT_LETTERS
                .iter()
                .filter(move |(l, _)| l == c)
                .map(move |(_, d)| (i, *d))
        })
        .collect();
    // Breadth-first over the number of substitutions (1, 2, 3).
    let mut frontier: Vec<(Vec<char>, usize)> = vec![(chars.clone(), 0)];
    for _ in 0..3 {
        let mut next = Vec::new();
        for (word, from) in &frontier {
            for (si, &(pos, digit)) in slots.iter().enumerate().skip(*from) {
                if word[pos].is_ascii_digit() {
                    continue;
                }
                let mut w = word.clone();
                w[pos] = digit;
                let s: String = w.iter().collect();
                if out.len() >= max {
                    return out;
                }
                if !out.contains(&s) {
                    out.push(s);
                }
                next.push((w, si + 1));
            }
        }
        frontier = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        Normalizer::new().normalize(s).text
    }

    #[test]
    fn zero_width_and_case() {
        assert_eq!(n("Зак\u{200B}лад\u{2060}ки"), "закладки");
        assert_eq!(n("СОЛЬ"), "сол");
    }

    #[test]
    fn latin_lookalikes_fold_into_cyrillic_words() {
        assert_eq!(n("Kpиcтaллы"), "кристалли");
        assert_eq!(n("зaклaдки"), "закладки");
        // Mostly Latin, but every Latin letter has a Cyrillic twin and one letter is Cyrillic.
        assert_eq!(n("Koкc"), "кокс");
    }

    #[test]
    fn spaced_and_dotted_letters_rejoin() {
        assert_eq!(n("з а к л а д к и"), "закладки");
        assert_eq!(n("м.е.ф"), "меф");
        assert_eq!(n("ш и ш к и, г а ш"), "шишки, гаш");
        // Two single letters are not a word.
        assert_eq!(n("т.е. всё"), "т.е. все");
    }

    #[test]
    fn transliteration_meets_cyrillic() {
        assert_eq!(n("zakladki"), n("закладки"));
        assert_eq!(n("mefedron"), n("мефедрон"));
        assert_eq!(n("sol'"), n("соль"));
        assert_eq!(n("kristally"), n("кристаллы"));
        assert_eq!(n("jetkizu"), n("жеткізу"));
    }

    #[test]
    fn nfkc_and_fullwidth() {
        assert_eq!(n("ＭＥＦ"), n("mef"));
    }

    #[test]
    fn spans_point_back_to_the_original() {
        let src = "Купить зa\u{200B}клaдки тут";
        let norm = Normalizer::new().normalize(src);
        let start = norm.text().find("закладки").unwrap_or(usize::MAX);
        let range = norm.original_range(start..start + "закладки".len());
        assert_eq!(&src[range], "зa\u{200B}клaдки");
    }

    #[test]
    fn digit_variants_cover_leet() {
        let v = digit_variants("меф", 64);
        assert!(v.contains(&"м3ф".to_string()));
        let v = digit_variants("прикоп", 64);
        assert!(v.contains(&"прик0п".to_string()));
        assert_eq!(digit_variants("ск", 64), vec!["ск".to_string()]);
    }
}
