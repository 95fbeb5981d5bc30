//! Latin → Cyrillic transliteration for Russian Latin spellings and the Kazakh Latin alphabet
//! (2021, with the 2017/2018 acute and apostrophe variants).
//!
//! The output only needs to be good enough to meet the matching key (see [`super::fold_key`]):
//! `zakladki` → `закладки`, `mefedron` → `мефедрон`, `sol'` → `сол(ь)`, `jetkizu` → `жеткизу`.

/// Digraphs tried before single letters (longest first).
const DIGRAPHS: &[(&str, &str)] = &[
    ("shch", "щ"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("ts", "ц"),
    ("ya", "я"),
    ("yu", "ю"),
    ("yo", "ё"),
    ("ye", "е"),
    ("iy", "ий"),
];

/// Transliterates one Latin letter (lower-case) that is not part of a digraph.
pub fn single(c: char) -> Option<&'static str> {
    Some(match c {
        'a' => "а",
        'b' => "б",
        'c' => "ц",
        'd' => "д",
        'e' | 'é' | 'è' | 'ê' | 'ë' => "е",
        'f' => "ф",
        'g' => "г",
        'h' => "х",
        'i' | 'ì' | 'í' | 'î' | 'ï' => "и",
        'j' => "ж",
        'k' => "к",
        'l' => "л",
        'm' => "м",
        'n' => "н",
        'o' | 'ò' | 'ô' => "о",
        'p' => "п",
        'q' => "қ",
        'r' => "р",
        's' => "с",
        't' => "т",
        'u' | 'ù' | 'û' => "у",
        'v' => "в",
        'w' => "в",
        'x' => "кс",
        'y' | 'ý' => "ы",
        'z' => "з",
        // Kazakh Latin (2021 diacritics and 2018 acutes).
        'ä' | 'á' | 'à' | 'â' => "ә",
        'ğ' | 'ǵ' => "ғ",
        'ı' => "ы",
        'ñ' | 'ń' => "ң",
        'ö' | 'ó' => "ө",
        'ş' | 'ś' => "ш",
        'ç' | 'ć' => "ч",
        'ü' | 'ú' => "ү",
        'ū' => "ұ",
        _ => return None,
    })
}

/// One output piece of [`token_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// Cyrillic text from the tables.
    Text(&'static str),
    /// A character passed through unchanged.
    Char(char),
}

/// Transliterates a lower-case Latin token, calling `emit(piece, from, to)` for each output piece
/// with the index range (in the token) of the input letters it came from; `char_at(i)` gives
/// the token's i-th character. Same output as [`token`], without allocating.
pub fn token_with(
    len: usize,
    char_at: impl Fn(usize) -> char,
    mut emit: impl FnMut(Piece, usize, usize),
) {
    let mut i = 0;
    'outer: while i < len {
        let c = char_at(i);
        if matches!(c, 's' | 'z' | 'k' | 'c' | 't' | 'y' | 'i') {
            for (from, to) in DIGRAPHS {
                let n = from.len();
                if i + n <= len && from.chars().enumerate().all(|(k, a)| a == char_at(i + k)) {
                    emit(Piece::Text(to), i, i + n);
                    i += n;
                    continue 'outer;
                }
            }
        }
        match single(c) {
            Some(s) => emit(Piece::Text(s), i, i + 1),
            None if matches!(c, '\'' | '’' | 'ʼ' | '`') => {}
            None => emit(Piece::Char(c), i, i + 1),
        }
        i += 1;
    }
}

/// Transliterates a lower-case Latin token; returns, for each output piece, the index range
/// (in `chars`) of the input letters it came from.
pub fn token(chars: &[char]) -> Vec<(String, usize, usize)> {
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    'outer: while i < chars.len() {
        for (from, to) in DIGRAPHS {
            let n = from.chars().count();
            if i + n <= chars.len() && from.chars().zip(&chars[i..i + n]).all(|(a, b)| a == *b) {
                out.push(((*to).to_string(), i, i + n));
                i += n;
                continue 'outer;
            }
        }
        let c = chars[i];
        match single(c) {
            Some(s) => out.push((s.to_string(), i, i + 1)),
            None if matches!(c, '\'' | '’' | 'ʼ' | '`') => {}
            None => out.push((c.to_string(), i, i + 1)),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(s: &str) -> String {
        let chars: Vec<char> = s.chars().collect();
        token(&chars).into_iter().map(|(s, _, _)| s).collect()
    }

    #[test]
    fn russian_latin_spellings() {
        assert_eq!(tr("zakladki"), "закладки");
        assert_eq!(tr("mefedron"), "мефедрон");
        assert_eq!(tr("sol'"), "сол");
        assert_eq!(tr("shishki"), "шишки");
        assert_eq!(tr("nenahod"), "ненаход");
    }

    #[test]
    fn token_with_matches_token() {
        for s in [
            "zakladki", "shchuka", "sol'", "tsyx1", "iyya", "kh", "ts", "qala", "x-z",
        ] {
            let chars: Vec<char> = s.chars().collect();
            let mut got = Vec::new();
            token_with(
                chars.len(),
                |i| chars[i],
                |p, a, b| {
                    let t = match p {
                        Piece::Text(t) => t.to_string(),
                        Piece::Char(c) => c.to_string(),
                    };
                    got.push((t, a, b));
                },
            );
            assert_eq!(got, token(&chars), "{s}");
        }
    }

    #[test]
    fn kazakh_latin() {
        assert_eq!(tr("jetkizu"), "жеткизу");
        assert_eq!(tr("qala"), "қала");
        assert_eq!(tr("tölem"), "төлем");
    }
}
