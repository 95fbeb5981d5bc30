//! After the engine: TSV parsing, words mapped back to lines, script-aware repair, and the
//! choice between passes.
//!
//! Repair is narrow on purpose: only the characters after an `@` (or its look-alikes `©`, `®`)
//! are mapped from Cyrillic to Latin look-alikes, and only runs that already hold six real
//! digits have letters mapped to digits. Everything else is left as read, so the page-text
//! rules see the slang as written.

use std::sync::LazyLock;

use crate::indicators::{self, Indicator, IndicatorKind};
use crate::normalize::confusables::Confusables;

use super::prep::Strip;
use super::{Found, Pass};

static CONFUSABLES: LazyLock<Confusables> = LazyLock::new(Confusables::build);

/// Characters an engine writes for `@`.
const AT_LIKE: [char; 3] = ['@', '©', '®'];

/// One pass's words, per line (index = line index; empty when the pass did not read it).
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Words of each line joined by spaces.
    pub lines: Vec<String>,
}

impl Reading {
    /// No words for `n` lines.
    pub fn empty(n: usize) -> Reading {
        Reading {
            lines: vec![String::new(); n],
        }
    }

    /// Parses Tesseract's TSV output for `strip`, keeping words of at least `min_conf`.
    /// Malformed rows are skipped.
    pub fn from_tsv(tsv: &str, strip: &Strip, n: usize, min_conf: f32) -> Reading {
        let mut r = Reading::empty(n);
        for row in tsv.lines().skip(1) {
            let f: Vec<&str> = row.split('\t').collect();
            if f.len() < 12 || f[0] != "5" {
                continue;
            }
            let (Ok(top), Ok(height), Ok(conf)) = (
                f[7].parse::<u32>(),
                f[9].parse::<u32>(),
                f[10].parse::<f32>(),
            ) else {
                continue;
            };
            let word = f[11..].join("\t");
            let word = word.trim();
            if word.is_empty() || conf < min_conf {
                continue;
            }
            let Some(i) = strip.line_at(top.saturating_add(height / 2)) else {
                continue;
            };
            if let Some(l) = r.lines.get_mut(i) {
                if !l.is_empty() {
                    l.push(' ');
                }
                l.push_str(word);
            }
        }
        r
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
pub fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic()
}

fn is_cyrillic(c: char) -> bool {
    ('\u{0400}'..='\u{04FF}').contains(&c)
}

/// The general reading of a line suggests a Telegram handle or link: an `@` or a look-alike,
/// `t.me`, a word mixing Latin and Cyrillic letters, or a mostly Latin word of 4+ letters.
pub fn hints_handle(text: &str) -> bool {
    if text.contains(AT_LIKE) || text.to_lowercase().contains("t.me") {
        return true;
    }
    text.split_whitespace().any(|w| {
        let latin = w.chars().filter(|&c| is_latin(c)).count();
        let cyr = w.chars().filter(|&c| is_cyrillic(c)).count();
        (latin > 0 && cyr > 0) || (latin >= 4 && latin * 2 >= w.chars().count())
    })
}

/// The digit an engine may have meant by `c`, for characters often confused with digits.
fn digit_of(c: char) -> Option<char> {
    Some(match c {
        '0'..='9' => c,
        'O' | 'o' | 'О' | 'о' | 'D' | 'Q' => '0',
        'l' | 'I' | '|' | 'i' | 'і' | 'І' | '!' => '1',
        'Z' | 'z' => '2',
        'З' | 'з' => '3',
        'Ч' | 'ч' | 'A' => '4',
        'S' | 's' | 'Ѕ' | 'ѕ' => '5',
        'б' | 'G' => '6',
        'T' => '7',
        'B' | 'В' => '8',
        'g' | 'q' => '9',
        _ => return None,
    })
}

/// Characters that count as digits when choosing lines for the digit pass.
pub fn digit_like(text: &str) -> usize {
    text.chars().filter(|&c| digit_of(c).is_some()).count()
}

/// The Latin letter a Cyrillic letter (lower case) is read as inside a handle: Unicode's
/// look-alikes, then shapes an engine confuses (`п`/`n`, `и`/`u`, `г`/`r`, `ш`/`w`, `ь`/`b`).
fn latin_of(c: char) -> Option<char> {
    if c.is_ascii_alphanumeric() || c == '_' {
        return Some(c);
    }
    if c == '-' {
        return Some('_');
    }
    if let Some(l) = CONFUSABLES.to_latin(c) {
        return Some(l);
    }
    Some(match c {
        'п' => 'n',
        'и' | 'ц' => 'u',
        'г' => 'r',
        'ш' | 'щ' => 'w',
        'ь' | 'ъ' => 'b',
        'д' => 'g',
        'л' => 'n',
        'ү' | 'ұ' => 'y',
        'һ' => 'h',
        'к' | 'қ' => 'k',
        'ң' => 'h',
        'ө' => 'o',
        'ә' => 'a',
        _ => return None,
    })
}

/// Repairs handles: after an `@` look-alike, the word is lower-cased and its Cyrillic letters
/// mapped to Latin look-alikes, `-` to `_`. A word that cannot be mapped entirely loses its
/// `@` (a half-read handle would be a false lead).
pub fn fix_handles(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !AT_LIKE.contains(&c) {
            out.push(c);
            continue;
        }
        let mut word = String::new();
        while let Some(&n) = chars.peek() {
            if n.is_alphanumeric() || n == '_' || n == '-' {
                word.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let mapped: Option<String> = word
            .chars()
            .flat_map(char::to_lowercase)
            .map(latin_of)
            .collect();
        match mapped {
            Some(mut m) if !m.is_empty() => {
                // Underscores the engine dropped: a handle has no spaces, so following words
                // that are Latin (or Cyrillic look-alikes) on the same line are joined with `_`:
                // `@moon snow60` → `@moon_snow60`, `@mixwhite ВОТ` → `@mixwhite_bot`.
                loop {
                    let rest: String = chars.clone().collect();
                    let Some(next) = rest.strip_prefix(' ') else {
                        break;
                    };
                    let w: String = next.chars().take_while(|c| !c.is_whitespace()).collect();
                    let joined: Option<String> = w
                        .chars()
                        .flat_map(char::to_lowercase)
                        .map(|c| latin_of(c).filter(|l| l.is_ascii_alphanumeric()))
                        .collect();
                    let Some(joined) = joined
                        .filter(|j| j.len() >= 2 && j.chars().any(|c| c.is_ascii_alphabetic()))
                    else {
                        break;
                    };
                    m.push('_');
                    m.push_str(&joined);
                    for _ in 0..=w.chars().count() {
                        chars.next();
                    }
                }
                out.push('@');
                out.push_str(&m);
            }
            _ => {
                out.push(' ');
                out.push_str(&word);
            }
        }
    }
    out
}

/// Repairs phone numbers: in a run of digits, look-alikes, spaces and `+-()` that holds at
/// least six real digits, look-alikes become digits; an 11-digit run starting `7` without a
/// `+` gets one, and a `+` read as `4` in front of `7` is put back.
pub fn fix_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let in_run = |c: char| digit_of(c).is_some() || matches!(c, ' ' | '+' | '-' | '(' | ')');
    while i < chars.len() {
        if !in_run(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && in_run(chars[i]) {
            i += 1;
        }
        let run = &chars[start..i];
        let real = run.iter().filter(|c| c.is_ascii_digit()).count();
        if real < 6 {
            out.extend(run);
            continue;
        }

        // Only words that hold a real digit are mapped (`Sale` next to a number stays `Sale`).
        let run: String = run.iter().collect();
        let mapped: String = run
            .split(' ')
            .map(|w| {
                if w.chars().any(|c| c.is_ascii_digit()) {
                    w.chars().map(|c| digit_of(c).unwrap_or(c)).collect()
                } else {
                    w.to_string()
                }
            })
            .collect::<Vec<String>>()
            .join(" ");
        let lead = mapped.len() - mapped.trim_start().len();
        let (pad, body) = mapped.split_at(lead);
        let digits: String = body.chars().filter(char::is_ascii_digit).collect();
        out.push_str(pad);
        if !body.starts_with('+') && digits.len() == 11 && digits.starts_with('7') {
            out.push('+');
            out.push_str(body);
        } else if digits.len() == 12 && body.starts_with("47") {
            out.push('+');
            out.push_str(&body[1..]);
        } else {
            out.push_str(body);
        }
    }
    out
}

/// Both repairs.
pub fn repair(text: &str) -> String {
    fix_digits(&fix_handles(text))
}

fn is_telegram(k: IndicatorKind) -> bool {
    matches!(
        k,
        IndicatorKind::Telegram | IndicatorKind::TelegramBot | IndicatorKind::TelegramInvite
    )
}

/// Per line: the repaired general text, and the indicators chosen across passes (Telegram
/// kinds from the Latin pass when it read any, phones from the digit pass when it read one,
/// everything else from the general pass). No indicator is reported twice.
pub fn combine(general: &Reading, latin: &Reading, digits: &Reading) -> (Vec<String>, Vec<Found>) {
    let mut texts = Vec::with_capacity(general.lines.len());
    let mut found: Vec<Found> = Vec::new();
    let push = |found: &mut Vec<Found>, indicator: Indicator, pass: Pass, line: usize| {
        if !found.iter().any(|f| f.indicator == indicator) {
            found.push(Found {
                indicator,
                pass,
                line,
            });
        }
    };
    for (i, g) in general.lines.iter().enumerate() {
        let g = repair(g);
        let from_general = indicators::extract(&g);
        let pick = |r: &Reading, keep: &dyn Fn(IndicatorKind) -> bool| -> Vec<Indicator> {
            r.lines
                .get(i)
                .map(|t| indicators::extract(&repair(t)))
                .unwrap_or_default()
                .into_iter()
                .filter(|ind| keep(ind.kind))
                .collect()
        };
        let tg_latin = pick(latin, &is_telegram);
        let ph_digits = pick(digits, &|k| k == IndicatorKind::Phone);
        for ind in from_general {
            let k = ind.kind;
            if (is_telegram(k) && !tg_latin.is_empty())
                || (k == IndicatorKind::Phone && !ph_digits.is_empty())
            {
                continue;
            }
            push(&mut found, ind, Pass::General, i);
        }
        for ind in tg_latin {
            push(&mut found, ind, Pass::Latin, i);
        }
        for ind in ph_digits {
            push(&mut found, ind, Pass::Digits, i);
        }
        texts.push(g);
    }
    (texts, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrillic_lookalikes_inside_a_handle_become_latin() {
        assert_eq!(fix_handles("пиши @ѕпоw_ѕһор"), "пиши @snow_shop");
        assert_eq!(fix_handles("@SNOW-ВОТ"), "@snow_bot");
        assert_eq!(fix_handles("Пиши @mag tripp |"), "Пиши @mag_tripp |");
        assert_eq!(fix_handles("@mixwhite ВОТ"), "@mixwhite_bot");
        assert_eq!(fix_handles("@shop ЗАКАЗ"), "@shop ЗАКАЗ");
        assert_eq!(fix_handles("@kaif lavka bot"), "@kaif_lavka_bot");
        assert_eq!(fix_handles("©alma_kz"), "@alma_kz");
        // Not mappable: the `@` is dropped rather than leaving half a handle.
        assert_eq!(fix_handles("@жжж"), " жжж");
        // Cyrillic outside handles is left alone.
        assert_eq!(fix_handles("СОЛЬ МЕФ"), "СОЛЬ МЕФ");
    }

    #[test]
    fn letters_inside_phone_runs_become_digits() {
        assert_eq!(fix_digits("8 (7O7) l23-45-67"), "8 (707) 123-45-67");
        assert_eq!(fix_digits("77071234567"), "+77071234567");
        assert_eq!(fix_digits("47 707 123 45 67"), "+7 707 123 45 67");
        // Too few real digits: left alone.
        assert_eq!(fix_digits("ОПТ 2O"), "ОПТ 2O");
        assert_eq!(fix_digits("+7 707 123 45 67 Sale"), "+7 707 123 45 67 Sale");
    }

    #[test]
    fn handle_hints() {
        assert!(hints_handle("Telegram: ©snow"));
        assert!(hints_handle("t.me/shop"));
        assert!(hints_handle("sпow"));
        assert!(!hints_handle("ЗАКЛАДКИ СОЛЬ"));
    }

    #[test]
    fn tsv_words_go_to_their_lines_and_low_confidence_is_dropped() {
        let strip = Strip {
            image: image::GrayImage::new(10, 100),
            rows: vec![(1, 0, 40), (0, 60, 100)],
        };
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   5\t1\t1\t1\t1\t1\t0\t5\t10\t30\t91.0\t@shop\n\
                   5\t1\t1\t1\t2\t1\t0\t65\t10\t30\t88.5\tСОЛЬ\n\
                   5\t1\t1\t1\t2\t2\t0\t65\t10\t30\t3.0\tzzz\n\
                   5\tbroken\n";
        let r = Reading::from_tsv(tsv, &strip, 2, 20.0);
        assert_eq!(r.lines, vec!["СОЛЬ".to_string(), "@shop".to_string()]);
    }

    #[test]
    fn combine_prefers_the_specialised_passes() {
        let g = Reading {
            lines: vec!["@snoш_shop 8 707 123 45 6".into()],
        };
        let l = Reading {
            lines: vec!["@snow_shop".into()],
        };
        let d = Reading {
            lines: vec!["8 707 123 45 67".into()],
        };
        let (_, found) = combine(&g, &l, &d);
        let values: Vec<(&str, Pass)> = found
            .iter()
            .map(|f| (f.indicator.value.as_str(), f.pass))
            .collect();
        assert_eq!(
            values,
            vec![("@snow_shop", Pass::Latin), ("+77071234567", Pass::Digits)]
        );
    }
}
