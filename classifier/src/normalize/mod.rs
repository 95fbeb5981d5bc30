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
#[cfg(test)]
mod reference;
pub mod translit;

use std::ops::Range;
use std::sync::LazyLock;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_script::{Script, UnicodeScript};

use confusables::Confusables;

/// Normalised text with, for every byte, the byte range of the original text it came from.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    text: String,
    /// Per byte of `text`: (start, end) in the original.
    spans: Vec<(u32, u32)>,
}

impl Normalized {
    /// The normalised text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The byte range in the original text that produced `range` of the normalised text.
    /// Out-of-range input is clamped; an empty range maps to an empty range.
    pub fn original_range(&self, range: Range<usize>) -> Range<usize> {
        let n = self.spans.len();
        if n == 0 || range.start >= n || range.end <= range.start {
            return 0..0;
        }
        let last = range.end.min(n) - 1;
        self.spans[range.start].0 as usize..self.spans[last].1 as usize
    }

    #[inline(always)]
    fn push(&mut self, c: char, start: u32, end: u32) {
        self.text.push(c);
        let span = (start, end);
        match c.len_utf8() {
            1 => self.spans.push(span),
            2 => {
                self.spans.push(span);
                self.spans.push(span);
            }
            n => {
                for _ in 0..n {
                    self.spans.push(span);
                }
            }
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
            spans: Vec::with_capacity(cap),
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
        #[inline]
        fn emit(out: &mut Normalized, c: char, s: u32, e: u32) {
            if let Some(k) = fold_key(c) {
                out.push(k, s, e);
            }
        }
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
            let char_at = |i: usize| {
                let u = tok[i];
                if u.class == Class::Cyrillic {
                    self.confusables.to_latin(u.c).unwrap_or(u.c)
                } else {
                    u.c
                }
            };
            translit::token_with(tok.len(), char_at, |piece, a, b| {
                let (s, e) = (tok[a].s, tok[b - 1].e);
                match piece {
                    translit::Piece::Text(t) => {
                        for c in t.chars() {
                            emit(out, c, s, e);
                        }
                    }
                    translit::Piece::Char(c) => emit(out, c, s, e),
                }
            });
        }
    }
}

/// Lower case and class of each character in U+0400..U+04FF, when lower-casing gives one
/// character (all of them in current Unicode); `None` sends the character down the slow path.
static CYRILLIC: LazyLock<Vec<Option<(char, Class)>>> = LazyLock::new(|| {
    (0x400u32..0x500)
        .map(|cp| {
            let c = char::from_u32(cp)?;
            let mut lower = c.to_lowercase();
            let l = lower.next()?;
            lower.next().is_none().then(|| (l, Class::of(l)))
        })
        .collect()
});

/// Whether `m`, following a non-ASCII character, is folded into it (a combining mark or an
/// invisible mark), with a fast answer for ASCII and Cyrillic letters.
#[inline]
fn is_attached_mark(m: char) -> bool {
    let cp = m as u32;
    if cp < 0xAD || (0x400..=0x482).contains(&cp) || (0x48A..=0x52F).contains(&cp) {
        return false;
    }
    is_combining_mark(m) || is_invisible_mark(m)
}

/// The character starting at byte `i` of `s` (a character boundary), with a fast path for
/// two-byte sequences (Cyrillic, Latin-1 …).
#[inline]
fn char_at(s: &str, i: usize) -> Option<char> {
    let b = s.as_bytes();
    if let (Some(&b0), Some(&b1)) = (b.get(i), b.get(i + 1))
        && (0xC2..=0xDF).contains(&b0)
    {
        // A valid `str`: b1 is a continuation byte.
        return char::from_u32((u32::from(b0 & 0x1F) << 6) | u32::from(b1 & 0x3F));
    }
    s.get(i..)?.chars().next()
}

/// Step 1: NFKC, lower case, drop format characters and marks, collapse whitespace.
/// Fast paths: ASCII, and Cyrillic letters without following marks (table lookup); characters
/// that NFKC leaves alone skip the NFKC iterator.
fn units(input: &str) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::with_capacity(input.chars().count() + 1);
    let cyrillic = &*CYRILLIC;
    let mut last_space = true;
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
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            push(&mut units, &mut last_space, b as char, i, i + 1);
            i += 1;
            continue;
        }
        let Some(c) = char_at(input, i) else {
            break;
        };
        let mut end = i + c.len_utf8();
        let mut marks = false;
        while end < bytes.len() && bytes[end] >= 0x80 {
            let Some(m) = char_at(input, end) else {
                break;
            };
            if is_attached_mark(m) {
                marks = true;
                end += m.len_utf8();
            } else {
                break;
            }
        }
        let cp = c as u32;
        if !marks && (0x400..0x500).contains(&cp) {
            let fast = if (0x483..=0x489).contains(&cp) {
                None
            } else {
                cyrillic[(cp - 0x400) as usize]
            };
            match fast {
                Some((l, class)) => {
                    last_space = false;
                    units.push(Unit {
                        c: l,
                        s: i as u32,
                        e: end as u32,
                        class,
                    });
                }
                None => push(&mut units, &mut last_space, c, i, end),
            }
        } else if !marks && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes {
            push(&mut units, &mut last_space, c, i, end);
        } else {
            for n in input[i..end].nfkc() {
                push(&mut units, &mut last_space, n, i, end);
            }
        }
        i = end;
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

    /// The optimised normaliser gives the reference's text and spans.
    fn same_as_reference(s: &str) {
        let norm = Normalizer::new();
        let got = norm.normalize(s);
        let (text, starts, ends) = reference::normalize(&norm.confusables, s);
        assert_eq!(got.text, text, "{s:?}");
        let (gs, ge): (Vec<u32>, Vec<u32>) = got.spans.iter().copied().unzip();
        assert_eq!((gs, ge), (starts, ends), "{s:?}");
    }

    #[test]
    fn matches_the_reference_on_tricky_text() {
        for s in [
            "",
            "  Купить  ЗАКЛАДКИ\tв\u{00A0}Алматы  ",
            "Kpиcтaллы m3f м.е.ф з а к л а д к и sol' Тұз tuz ＭＥＦ",
            "é\u{0301}e\u{0301} ё\u{0308} й\u{0306} Ѐ Ӏ ӏ Ҁ҃ ҈ x\u{200B}y \u{00AD}a\u{FE0F}❄️ 💎",
            "ﬁ ǅ İstanbul ΣΑΣ ß ẞ ㎏ ½ ① Ⅻ \u{2028}\u{2029}\u{3000}\u{000B}\u{0085}",
            "shchuka zhizn' kh tsy yaya iy jetkizu qala tölem ñ ı",
            "\u{0483}\u{0483}a \u{0301}start Ӂ ӂ Ԁ ԯ \u{E0100}",
        ] {
            same_as_reference(s);
        }
    }

    #[test]
    fn matches_the_reference_on_the_corpus() {
        for text in crate::test_corpus::dev_page_texts() {
            same_as_reference(&text);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, .. Default::default() })]
        #[test]
        fn matches_the_reference(s in "[a-zA-Zа-яА-ЯёЁәғқңөұүһіӘҒҚҢӨҰҮҺІ0-9 .\\-_*'’\n\t\u{00A0}\u{200B}\u{00AD}\u{0301}\u{0483}\u{FE0F}❄💎ﬁ①é]{0,120}") {
            same_as_reference(&s);
        }

        #[test]
        fn matches_the_reference_on_any_text(s in "\\PC{0,120}") {
            same_as_reference(&s);
        }
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
