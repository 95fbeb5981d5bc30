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

/// One word as the engine read it, with its confidence (0–100, Tesseract's TSV `conf`).
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    /// The word.
    pub text: String,
    /// The engine's confidence in it.
    pub conf: f32,
    /// Its box in the strip (left, top, width, height), when known.
    pub bbox: Option<(u32, u32, u32, u32)>,
    /// The engine's text line it belongs to (TSV block, paragraph and line numbers), when
    /// known: words of one crop on different engine lines are on different text rows.
    pub row: Option<(u32, u32, u32)>,
}

/// One pass's words, per line (index = line index; empty when the pass did not read it).
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Words of each line in reading order, however unsure the engine was of them.
    pub lines: Vec<Vec<Word>>,
    /// Words below this confidence are left out of [`Reading::text`]; indicators still see
    /// them, so a handle whose last word the engine doubted is doubted too, not cut short.
    pub min_conf: f32,
}

impl Reading {
    /// No words for `n` lines.
    pub fn empty(n: usize) -> Reading {
        Reading {
            lines: vec![Vec::new(); n],
            min_conf: 0.0,
        }
    }

    /// One string per line, every word with confidence `conf` (for tests and tools).
    pub fn from_texts(texts: &[String], conf: f32) -> Reading {
        Reading {
            lines: texts
                .iter()
                .map(|t| {
                    t.split_whitespace()
                        .map(|w| Word {
                            text: w.to_string(),
                            conf,
                            bbox: None,
                            row: None,
                        })
                        .collect()
                })
                .collect(),
            min_conf: 0.0,
        }
    }

    /// The words of line `i` the engine was reasonably sure of, joined by spaces, the crop's
    /// text rows by line breaks (empty when not read).
    pub fn text(&self, i: usize) -> String {
        self.lines
            .get(i)
            .map(|ws| {
                let sure: Vec<Word> = ws
                    .iter()
                    .filter(|w| w.conf >= self.min_conf)
                    .cloned()
                    .collect();
                join(&sure)
            })
            .unwrap_or_default()
    }

    /// All words of line `i`, the doubted ones too, joined as [`Reading::text`] joins them:
    /// what the engine saw, for deciding which lines deserve a closer look.
    pub fn seen(&self, i: usize) -> String {
        self.lines.get(i).map(|ws| join(ws)).unwrap_or_default()
    }

    /// Parses Tesseract's TSV output for `strip`; words below `min_conf` are kept for the
    /// indicators' confidence but left out of the text. Malformed rows are skipped.
    pub fn from_tsv(tsv: &str, strip: &Strip, n: usize, min_conf: f32) -> Reading {
        let mut r = Reading::empty(n);
        r.min_conf = min_conf;
        for row in tsv.lines().skip(1) {
            let f: Vec<&str> = row.split('\t').collect();
            if f.len() < 12 || f[0] != "5" {
                continue;
            }
            let row = match (f[2].parse(), f[3].parse(), f[4].parse()) {
                (Ok(b), Ok(p), Ok(l)) => Some((b, p, l)),
                _ => None,
            };
            let (Ok(left), Ok(top), Ok(width), Ok(height), Ok(conf)) = (
                f[6].parse::<u32>(),
                f[7].parse::<u32>(),
                f[8].parse::<u32>(),
                f[9].parse::<u32>(),
                f[10].parse::<f32>(),
            ) else {
                continue;
            };
            let word = f[11..].join("\t");
            let word = word.trim();
            if word.is_empty() || conf.is_nan() {
                continue;
            }
            let Some(i) = strip.line_at(top.saturating_add(height / 2)) else {
                continue;
            };
            if let Some(l) = r.lines.get_mut(i) {
                let parts: Vec<&str> = word.split_whitespace().collect();
                let bbox = (parts.len() == 1).then_some((left, top, width, height));
                l.extend(parts.into_iter().map(|w| Word {
                    text: w.to_string(),
                    conf: conf.min(100.0),
                    bbox,
                    row,
                }));
            }
        }
        r
    }
}

/// A gap between two words narrower than this share of the lower word's height is no space:
/// the engine split one word (`@lavka_sta rbot`). A dropped underscore leaves a gap of about
/// half a letter height or more, a real space more still.
const SPLIT_GAP: f32 = 0.33;

/// The words joined by spaces, except where two words' boxes almost touch on one text row
/// (see [`SPLIT_GAP`]): those are joined without one; and where the next word sits on another
/// text row of the crop (a neighbouring line's letters inside the margin): there a line
/// break, which neither repair crosses, so such words are never taken for the rest of a
/// handle (`@snow_shop` above the cut-off tops of a phone number is not `@snow_shop_ta`).
fn join(words: &[Word]) -> String {
    let mut out = String::new();
    for (k, w) in words.iter().enumerate() {
        if k > 0 {
            let prev = &words[k - 1];
            if !same_row(prev, w) {
                out.push('\n');
            } else if !same_word(prev, w) {
                out.push(' ');
            }
        }
        out.push_str(&w.text);
    }
    out
}

/// On one text row: the same engine line when both are known (the engine follows a skewed
/// baseline), else boxes that overlap vertically by at least half the lower one (words
/// without either are taken to share the row).
fn same_row(a: &Word, b: &Word) -> bool {
    if let (Some(ra), Some(rb)) = (a.row, b.row) {
        return ra == rb;
    }
    overlap_vertically(a, b).unwrap_or(true)
}

/// The boxes overlap vertically by at least half the lower one (`None` without boxes).
fn overlap_vertically(a: &Word, b: &Word) -> Option<bool> {
    let (Some((_, at, _, ah)), Some((_, bt, _, bh))) = (a.bbox, b.bbox) else {
        return None;
    };
    let h = ah.min(bh) as f32;
    let overlap = i64::from((at + ah).min(bt + bh)) - i64::from(at.max(bt));
    Some(overlap as f32 >= 0.5 * h)
}

fn same_word(a: &Word, b: &Word) -> bool {
    let (Some((al, _, aw, ah)), Some((bl, _, _, bh))) = (a.bbox, b.bbox) else {
        return false;
    };
    let gap = i64::from(bl) - i64::from(al + aw);
    let h = ah.min(bh) as f32;
    gap >= 0
        && (gap as f32) < SPLIT_GAP * h
        && same_row(a, b)
        && overlap_vertically(a, b) == Some(true)
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

/// Characters the general (`rus+kaz+eng`) reading writes for an `@` it did not recognise:
/// the ring of the `@` read as a round Cyrillic letter or an opening bracket (`ФІСЕСООО63` for
/// `@ICEGOOD63`, `(ддгееп` for `@green`, `ӘСООРМІРЗ5` for `@GOODVIP35`). Only a hint: the
/// Latin pass must still read an `@`.
const AT_GUESS: [char; 7] = ['(', 'Ф', 'ф', 'Ө', 'ө', 'Ә', 'ә'];
/// The misread `@`s of [`AT_GUESS`] that start few Russian words (`Ф` starts `ФОТО`).
const AT_GUESS_SPLIT: [char; 3] = ['(', 'Ө', 'ө'];

/// The general reading of a line suggests a Telegram handle or link: an `@` or a look-alike,
/// `t.me`, a word mixing Latin and Cyrillic letters, a mostly Latin word of 4+ letters, a word
/// mixing Cyrillic letters and digits (`ісе78`: the general pass reads Latin capitals and
/// small letters shaped like Cyrillic ones as Cyrillic), or a word starting with a misread
/// `@` ([`AT_GUESS`]) whose other characters (four or more) nearly all have a Latin
/// look-alike (`ӨМІХМІНІТЕ`). A handle whose underscores the general pass read as spaces
/// counts as one word after a misread `@` that Russian words rarely start with
/// ([`AT_GUESS_SPLIT`]: `ӨУІР МІР ВОТ` for `@VIP_VIP_BOT`).
pub fn hints_handle(text: &str) -> bool {
    if text.contains(AT_LIKE) || text.to_lowercase().contains("t.me") {
        return true;
    }
    let text = text.trim_start();
    if text.starts_with(AT_GUESS_SPLIT) && misread_at(&text.split_whitespace().collect::<String>())
    {
        return true;
    }
    text.split_whitespace().any(|w| {
        let latin = w.chars().filter(|&c| is_latin(c)).count();
        let cyr = w.chars().filter(|&c| is_cyrillic(c)).count();
        let digits = w.chars().filter(char::is_ascii_digit).count();
        (latin > 0 && cyr > 0)
            || (latin >= 4 && latin * 2 >= w.chars().count())
            || (cyr >= 2 && digits >= 2)
            || misread_at(w)
    })
}

/// `w` starts with a character the general pass writes for an `@` ([`AT_GUESS`]), and at
/// least four fifths of the (at least four) characters after it have a Latin look-alike.
fn misread_at(w: &str) -> bool {
    let mut cs = w.chars();
    if !cs.next().is_some_and(|c| AT_GUESS.contains(&c)) {
        return false;
    }
    let rest: Vec<char> = cs.flat_map(char::to_lowercase).collect();
    let mapped = rest.iter().filter(|&&c| latin_of(c).is_some()).count();
    rest.len() >= 4 && mapped * 5 >= rest.len() * 4
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
                // `@moon snow60` → `@moon_snow60`, `@mixwhite ВОТ` → `@mixwhite_bot`,
                // `@good tripp_bot` → `@good_tripp_bot`.
                loop {
                    let rest: String = chars.clone().collect();
                    let Some(next) = rest.strip_prefix(' ') else {
                        break;
                    };
                    let w: String = next.chars().take_while(|c| !c.is_whitespace()).collect();
                    let joined: Option<String> = w
                        .chars()
                        .flat_map(char::to_lowercase)
                        .map(|c| latin_of(c).filter(|l| l.is_ascii_alphanumeric() || *l == '_'))
                        .collect();
                    let Some(joined) = joined
                        .filter(|j| j.len() >= 2 && j.chars().any(|c| c.is_ascii_alphabetic()))
                    else {
                        break;
                    };
                    // An underscore the engine kept but set apart (`@STUFF _STORE18`) is
                    // not doubled.
                    if !m.ends_with('_') && !joined.starts_with('_') {
                        m.push('_');
                    }
                    m.push_str(&joined);
                    for _ in 0..=w.chars().count() {
                        chars.next();
                    }
                }
                digit_tail(&mut m);
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

/// Letters that end a handle after a digit are digits the engine misread when they look like
/// one (`o`, `l`, `i`) and the real digits of that tail are at least as many: `@starwhite4o` →
/// `@starwhite40`, `@moon_drop9l` → `@moon_drop91` (the Latin whitelist lets the engine choose
/// a letter where the line's other numbers say digit). `@top1oil` and `@silo12` keep theirs.
fn digit_tail(handle: &mut String) {
    let lookalike = |c: char| matches!(c, 'o' | 'l' | 'i');
    let chars: Vec<char> = handle.chars().collect();
    let run = chars
        .iter()
        .rev()
        .take_while(|&&c| c.is_ascii_digit() || lookalike(c))
        .count();
    let tail = &chars[chars.len() - run..];
    let Some(first) = tail.iter().position(char::is_ascii_digit) else {
        return;
    };
    let tail = &tail[first..];
    let digits = tail.iter().filter(|c| c.is_ascii_digit()).count();
    if digits * 2 < tail.len() {
        return;
    }
    let head: String = chars[..chars.len() - tail.len()].iter().collect();
    let fixed: String = tail
        .iter()
        .map(|&c| match c {
            'o' => '0',
            'l' | 'i' => '1',
            d => d,
        })
        .collect();
    *handle = head + &fixed;
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

/// The Telegram kinds (handles, bots, invite links): what the Latin passes read.
pub fn is_telegram(k: IndicatorKind) -> bool {
    matches!(
        k,
        IndicatorKind::Telegram | IndicatorKind::TelegramBot | IndicatorKind::TelegramInvite
    )
}

/// Most words of one line whose share in an indicator is worked out one by one (a longer line
/// takes the lowest confidence of all its words).
const MAX_WORDS_WEIGHED: usize = 24;

/// The indicators of `words` after repair, each with the lowest confidence of the words it
/// rests on: the words without which it is no longer read. Each word is left out once (one
/// extraction per word, whatever the number of indicators).
pub fn read_indicators(words: &[Word]) -> Vec<(Indicator, f32)> {
    let found = indicators::extract(&repair(&join(words)));
    if found.is_empty() {
        return Vec::new();
    }
    let lowest_of_all = words.iter().map(|w| w.conf).fold(100.0, f32::min);
    let mut conf = vec![f32::INFINITY; found.len()];
    if words.len() <= MAX_WORDS_WEIGHED {
        let mut without: Vec<Word> = Vec::with_capacity(words.len());
        for (k, w) in words.iter().enumerate() {
            without.clear();
            without.extend(words[..k].iter().chain(&words[k + 1..]).cloned());
            let left = indicators::extract(&repair(&join(&without)));
            for (c, ind) in conf.iter_mut().zip(&found) {
                if !left.contains(ind) {
                    *c = c.min(w.conf);
                }
            }
        }
    }
    found
        .into_iter()
        .zip(conf)
        .map(|(ind, c)| (ind, if c.is_infinite() { lowest_of_all } else { c }))
        .collect()
}

/// An indicator one pass read on one line, before the vote.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The indicator.
    pub indicator: Indicator,
    /// The pass that read it.
    pub pass: Pass,
    /// The line it was read on.
    pub line: usize,
    /// The lowest engine confidence of the words it was read from (0–100).
    pub conf: f32,
}

/// Whether `pass` is trusted for indicators of `kind` at all: the Latin passes only for
/// Telegram kinds, the digit pass only for phones, the general pass for everything.
pub fn reads_kind(pass: Pass, kind: IndicatorKind) -> bool {
    match pass {
        Pass::General | Pass::Plain => true,
        Pass::Latin | Pass::LatinRecheck | Pass::LatinThird => is_telegram(kind),
        Pass::Digits | Pass::DigitsRecheck | Pass::DigitsThird => kind == IndicatorKind::Phone,
    }
}

/// Which prepared image a pass reads: passes on the same image (the general pass and the
/// whitelisted ones on the first crops) share the engine's view of it, and with several
/// languages loaded Tesseract gives the same word the same reading and confidence in each, so
/// they do not count as independent votes; the rechecks read differently prepared crops.
pub fn view(pass: Pass) -> u8 {
    match pass {
        Pass::General | Pass::Latin | Pass::Digits => 0,
        Pass::LatinRecheck | Pass::DigitsRecheck => 1,
        Pass::LatinThird | Pass::DigitsThird => 3,
        Pass::Plain => 2,
    }
}

/// Every candidate of every reading, in reading order.
pub fn candidates(readings: &[(Pass, &Reading)]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for &(pass, r) in readings {
        for (line, words) in r.lines.iter().enumerate() {
            for (indicator, conf) in read_indicators(words) {
                if reads_kind(pass, indicator.kind) {
                    out.push(Candidate {
                        indicator,
                        pass,
                        line,
                        conf,
                    });
                }
            }
        }
    }
    out
}

/// Letters a handle's tail may hold where the engine misread digits (`s` for `5`, `l` for `1`).
fn tail_digit(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, 'o' | 'l' | 'i' | 'z' | 's' | 'g' | 'q')
}

/// Digits the Latin reading turned into letters at the end of a handle: `@star_kaifs0` for
/// `@star_kaif90`, `@mixicess` for `@mixice88` (the Latin whitelist lets the engine pick a
/// letter for a digit it is unsure of, and two crops may agree on it). A digit pass that read
/// the same line saw the tail as digits. When the last word of its reading of that line is as
/// many digits as the handle ends in digit look-alikes (at least one of them a letter), keeps
/// the tail's real digits, and reads at least one of its letters as a digit that letter does
/// not look like (`9` for `s`), the tail becomes those digits. A digit pass reads every letter
/// as its look-alike digit (`l` as `1`, `o` as `0`), so that is no evidence: `@white_crystal72`
/// and `@fastbro26` stay as they are. The digit reading of the candidate's own view is taken
/// first; otherwise the digit readings must agree. Returns the candidates, repaired.
pub fn digit_tails(cands: &[Candidate], readings: &[(Pass, &Reading)]) -> Vec<Candidate> {
    cands
        .iter()
        .map(|c| {
            let mut c = c.clone();
            if !is_telegram(c.indicator.kind) {
                return c;
            }
            let chars: Vec<char> = c.indicator.value.chars().collect();
            let run = chars.iter().rev().take_while(|&&ch| tail_digit(ch)).count();
            let head = chars.len() - run;
            // The tail must follow at least two letters of the handle's own (`@` excluded).
            if run == 0
                || head < 3
                || !chars[head - 1].is_ascii_alphabetic()
                || chars[head..].iter().all(char::is_ascii_digit)
            {
                return c;
            }
            let seen: Vec<(u8, String)> = readings
                .iter()
                .filter(|(p, _)| {
                    matches!(p, Pass::Digits | Pass::DigitsRecheck | Pass::DigitsThird)
                })
                .filter_map(|(p, r)| {
                    let last = r.lines.get(c.line)?.last()?;
                    let read: Vec<char> = last.text.chars().collect();
                    let fits = read.len() == run
                        && read.iter().all(char::is_ascii_digit)
                        && chars[head..]
                            .iter()
                            .zip(&read)
                            .all(|(&h, &d)| !h.is_ascii_digit() || h == d)
                        && chars[head..]
                            .iter()
                            .zip(&read)
                            .any(|(&h, &d)| !h.is_ascii_digit() && digit_of(h) != Some(d));
                    fits.then(|| (view(*p), last.text.clone()))
                })
                .collect();
            let digits = seen
                .iter()
                .find(|(v, _)| *v == view(c.pass))
                .or_else(|| seen.first().filter(|f| seen.iter().all(|o| o.1 == f.1)))
                .map(|(_, d)| d.clone());
            if let Some(d) = digits {
                let fixed: String = chars[..head].iter().collect::<String>() + &d;
                c.indicator.value = fixed;
            }
            c
        })
        .collect()
}

/// The vote, per line and per group of kinds (Telegram kinds; phones):
/// 1. a value read on two or more differently prepared images ([`view`]) is reported
///    (independent readings agreeing is what makes a reading trustworthy);
/// 2. otherwise a value read by one pass only is reported when the engine was sure of every
///    word it rests on (confidence at least `sure_conf`) and no other reading of the line that
///    the engine did not doubt (`doubt_conf`) nearly matches it, the specialised pass (Latin
///    for handles, digits for phones) before the general one;
/// 3. other kinds (wallets, links, e-mail) are read by the general pass alone, as in page text.
///
/// No indicator is reported twice. Returns the reported indicators.
pub fn vote(cands: &[Candidate], sure_conf: f32, doubt_conf: f32) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    let mut push = |f: Found| {
        if !found.iter().any(|g| g.indicator == f.indicator) {
            found.push(f);
        }
    };
    let lines: Vec<usize> = {
        let mut l: Vec<usize> = cands.iter().map(|c| c.line).collect();
        l.sort_unstable();
        l.dedup();
        l
    };
    let groups: [&dyn Fn(IndicatorKind) -> bool; 2] =
        [&is_telegram, &|k| k == IndicatorKind::Phone];
    for line in lines {
        // The third look only breaks a tie between the first two; a reading of it the engine
        // doubts breaks nothing (two doubted readings agree on a cut-off `@kz_g` now and then).
        // A doubted third look at a phone still counts beside a reading of the same number on
        // another crop that the engine did not doubt: a phone is read only whole, all eleven
        // digits, so two crops agreeing on one is no cut-off. (For handles it let a doubted
        // `@tripp_kladgo` agree with another barely above the doubt.)
        let here: Vec<&Candidate> = cands
            .iter()
            .filter(|c| {
                c.line == line
                    && (!matches!(c.pass, Pass::LatinThird | Pass::DigitsThird)
                        || c.conf >= doubt_conf
                        || c.pass == Pass::DigitsThird
                            && cands.iter().any(|o| {
                                o.line == line
                                    && view(o.pass) != view(c.pass)
                                    && o.indicator == c.indicator
                                    && o.conf >= doubt_conf
                            }))
            })
            .collect();
        for c in &here {
            if !groups.iter().any(|g| g(c.indicator.kind)) && c.pass == Pass::General {
                push(Found {
                    indicator: c.indicator.clone(),
                    pass: c.pass,
                    line,
                    votes: 1,
                    confidence: c.conf,
                });
            }
        }
        for group in groups {
            let cs: Vec<&&Candidate> = here.iter().filter(|c| group(c.indicator.kind)).collect();
            // Distinct values with the passes that read them and their best confidence.
            let views = |passes: &[Pass]| {
                let mut v: Vec<u8> = passes.iter().map(|&p| view(p)).collect();
                v.sort_unstable();
                v.dedup();
                v.len()
            };
            let mut values: Vec<(&Indicator, Vec<Pass>, f32)> = Vec::new();
            for c in &cs {
                match values.iter_mut().find(|v| *v.0 == c.indicator) {
                    Some(v) => {
                        if !v.1.contains(&c.pass) {
                            v.1.push(c.pass);
                        }
                        v.2 = v.2.max(c.conf);
                    }
                    None => values.push((&c.indicator, vec![c.pass], c.conf)),
                }
            }
            // An underscore the engine was fairly sure of ([`UNDERSCORE_CONF`]) on one crop
            // and lost on another (`@drop_fast` at 92 beside `@dropfast` on two other crops,
            // `@mix_vip` at 87 beside `@mixvip`): the readings without
            // it vote for the one with it. Dropping a thin stroke on the baseline is the
            // common misreading; inventing one the engine is sure of is not, unless the same
            // crop was also read without it (`@topc_rystal_bot` at 92 by the Latin pass,
            // `@topcrystal_bot` by the general pass on that crop and by the recheck). The
            // general pass is the exception: it has no whitelist pushing it towards Latin
            // letters, and on the tuning sets each of its sure underscores that the Latin pass
            // on the same crop lost was right (`@drop_fast` at 92 beside the Latin pass's and
            // the recheck's `@dropfast`); still, a reading of another crop must be among
            // those it outvotes, or one crop would settle its own contest.
            let lost: Vec<(usize, usize)> = (0..values.len())
                .filter_map(|i| {
                    let v = &values[i];
                    let t = values.iter().position(|w| {
                        is_telegram(w.0.kind)
                            && w.2 >= UNDERSCORE_CONF
                            && underscores(&w.0.value) > underscores(&v.0.value)
                            && skeleton(&w.0.value) == skeleton(&v.0.value)
                            && v.1.iter().all(|&p| {
                                w.1.iter()
                                    .all(|&q| view(q) != view(p) || q == Pass::General)
                            })
                            && v.1.iter().any(|&p| w.1.iter().all(|&q| view(q) != view(p)))
                    })?;
                    Some((i, t))
                })
                .collect();
            for &(i, t) in &lost {
                let passes = values[i].1.clone();
                for p in passes {
                    if !values[t].1.contains(&p) {
                        values[t].1.push(p);
                    }
                }
            }
            let merged: Vec<usize> = lost.iter().map(|&(i, _)| i).collect();
            let values: Vec<_> = values
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !merged.contains(i))
                .map(|(_, v)| v)
                .collect();
            let agreed: Vec<_> = values.iter().filter(|v| views(&v.1) >= 2).collect();
            let chosen: Vec<_> = if agreed.is_empty() {
                let sure: Vec<_> = values.iter().filter(|v| v.2 >= sure_conf).collect();
                // Another reading of one thing that differs (`@store_dream`, `@storedream`;
                // `@topc_rystal_bot` at 92 beside `@topcrystal_bot` at 89) and that the engine
                // did not doubt: its confidence in either says little, the line needs a look
                // from another crop. A reading cut short (`@dropsta` beside a sure
                // `@dropstar`) is no rival: losing the end of a word is the usual misreading.
                let contested = |v: &&(&Indicator, Vec<Pass>, f32)| {
                    values.iter().any(|w| {
                        w.0 != v.0
                            && w.2 >= doubt_conf
                            && near(&skeleton(&w.0.value), &skeleton(&v.0.value))
                            && !cut_from(&v.0.value, &w.0.value)
                    })
                };
                let sure: Vec<_> = sure.into_iter().filter(|v| !contested(v)).collect();
                let special: Vec<_> = sure
                    .iter()
                    .copied()
                    .filter(|v| v.1.iter().any(|&p| p != Pass::General))
                    .collect();
                if special.is_empty() { sure } else { special }
            } else {
                agreed
            };
            // A handle that another reading of the line continues (`@dropstar` beside
            // `@dropstarbot`) was most likely cut short: the engine lost the rest of it on
            // one crop. Reporting it would name someone else's account. A longer reading
            // that only one view made and the engine itself doubted (below `doubt_conf`:
            // `@dropstar28s`, an `s` made of the crop's edge) is no such evidence.
            let cut_short = |ind: &Indicator| {
                is_telegram(ind.kind)
                    && values.iter().any(|w| {
                        cut_from(&w.0.value, &ind.value) && (views(&w.1) >= 2 || w.2 >= doubt_conf)
                    })
            };
            for (ind, passes, conf) in chosen {
                if cut_short(ind) {
                    continue;
                }
                let pass = passes
                    .iter()
                    .copied()
                    .find(|&p| p != Pass::General)
                    .unwrap_or(passes[0]);
                push(Found {
                    indicator: (*ind).clone(),
                    pass,
                    line,
                    votes: views(passes),
                    confidence: *conf,
                });
            }
        }
    }
    found
}

/// Least engine confidence in a handle for its underscores to outvote readings of other crops
/// that lost them. On the four tuning sets, of ten lines read with and without an underscore,
/// the reading with it was right in eight, at 83.7 to 93.1; the two others were a doubted
/// misreading (21.7) and `@topc_rystal_bot` at 92.1, whose own crop was also read without it.
const UNDERSCORE_CONF: f32 = 80.0;

/// A value without its underscores: what is left when the engine loses or misplaces them
/// (`@mix_v` cut short from `@mixvip`, `@dropfast` for `@drop_fast`).
fn skeleton(value: &str) -> String {
    value.replace('_', "")
}

/// `short` is `long` cut short (underscores aside): `@mix_v` of `@mixvip`.
fn cut_from(long: &str, short: &str) -> bool {
    let (long, short) = (skeleton(long), skeleton(short));
    long.len() > short.len() && long.starts_with(&short)
}

fn underscores(value: &str) -> usize {
    value.matches('_').count()
}

/// Two values are readings of the same thing: at most a third of the longer one's characters
/// (at least two) edited.
fn near(a: &str, b: &str) -> bool {
    let longer = a.chars().count().max(b.chars().count());
    strsim::levenshtein(a, b) <= (longer / 3).max(2)
}

/// Per line: the repaired general text (the crop's text rows joined by spaces), and the
/// indicators chosen by [`vote`] from `cands` (the [`candidates`] of `readings`, worked out
/// once by the caller), their tails checked against the digit readings ([`digit_tails`]).
pub fn combine(
    n: usize,
    readings: &[(Pass, &Reading)],
    cands: &[Candidate],
    sure_conf: f32,
    doubt_conf: f32,
) -> (Vec<String>, Vec<Found>) {
    let general = readings.iter().find(|(p, _)| *p == Pass::General);
    let texts = (0..n)
        .map(|i| {
            general
                .map(|(_, r)| repair(&r.text(i)).replace('\n', " "))
                .unwrap_or_default()
        })
        .collect();
    let cands = digit_tails(cands, readings);
    (texts, vote(&cands, sure_conf, doubt_conf))
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
        // Handles the general pass read entirely as Cyrillic (engine readings of real runs):
        // the `@` as `Ф`, `Ө` or `(`, or Cyrillic look-alikes mixed with digits.
        assert!(hints_handle("ФІСЕСООО63"));
        assert!(hints_handle("ӨМІХМІНІТЕ ВОТ +:"));
        assert!(hints_handle("ӘСООРМІРЗ5"));
        assert!(!hints_handle("Әке мен бала"));
        assert!(hints_handle("(ддгееп"));
        assert!(hints_handle("ісе78"));
        assert!(hints_handle("ӨУІР МІР ВОТ"));
        // Russian words and numbers are no hint.
        assert!(!hints_handle("ФОТО МЕФ"));
        assert!(!hints_handle("КАССА №3"));
        assert!(!hints_handle("ОПТ 20 (от 5 шт)"));
        assert!(!hints_handle("Ф№%!?"));
    }

    #[test]
    fn an_underscore_set_apart_is_not_doubled() {
        assert_eq!(fix_handles("@STUFF _STORE18"), "@stuff_store18");
        assert_eq!(fix_handles("@stuff_ store18"), "@stuff_store18");
        assert_eq!(fix_handles("@stuff store18"), "@stuff_store18");
    }

    #[test]
    fn digit_look_alikes_after_a_handles_last_digits_become_digits() {
        assert_eq!(fix_handles("@starwhite4o"), "@starwhite40");
        assert_eq!(fix_handles("@moon_drop9l"), "@moon_drop91");
        assert_eq!(fix_handles("@x1o1"), "@x101");
        // More look-alikes than digits, or none after a digit: words, left alone.
        assert_eq!(fix_handles("@top1oil"), "@top1oil");
        assert_eq!(fix_handles("@silo12"), "@silo12");
        assert_eq!(fix_handles("@mix_oil"), "@mix_oil");
        assert_eq!(fix_handles("@drop9li"), "@drop9li");
    }

    #[test]
    fn a_handle_another_reading_continues_is_not_reported() {
        // `@dropstar` sure on the first crop, `@dropstarbot` on the other: the first is the
        // same handle cut short, and neither is confirmed.
        let g = one("@dropstar", 95.0);
        let r = one("@dropstarbot", 60.0);
        assert_eq!(
            reported(&[(Pass::General, &g)]),
            vec![("@dropstar".to_string(), Pass::General, 1)]
        );
        assert!(reported(&[(Pass::General, &g), (Pass::LatinRecheck, &r)]).is_empty());
        // A shorter reading (the handle cut off on the other crop) takes nothing away.
        let other = one("@dropsta", 60.0);
        assert_eq!(
            reported(&[(Pass::General, &g), (Pass::LatinRecheck, &other)]),
            vec![("@dropstar".to_string(), Pass::General, 1)]
        );
        // A longer reading the engine doubted, made on one view only, is no evidence.
        let doubted = one("@dropstars", 18.0);
        assert_eq!(
            reported(&[(Pass::General, &doubted), (Pass::LatinRecheck, &g)]),
            vec![("@dropstar".to_string(), Pass::LatinRecheck, 1)]
        );
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
        assert_eq!(r.text(0), "СОЛЬ");
        assert_eq!(r.text(1), "@shop");
        assert_eq!(r.lines[1][0].conf, 91.0);
    }

    fn words(t: &[(&str, f32)]) -> Vec<Word> {
        t.iter()
            .map(|&(w, conf)| Word {
                text: w.to_string(),
                conf,
                bbox: None,
                row: None,
            })
            .collect()
    }

    /// One line of one word the engine read with confidence `conf`.
    fn one(word: &str, conf: f32) -> Reading {
        Reading::from_texts(&[word.to_string()], conf)
    }

    fn reported(readings: &[(Pass, &Reading)]) -> Vec<(String, Pass, usize)> {
        let (_, found) = combine(1, readings, &candidates(readings), 90.0, 20.0);
        found
            .iter()
            .map(|f| (f.indicator.value.clone(), f.pass, f.votes))
            .collect()
    }

    #[test]
    fn digits_read_as_letters_at_a_handles_end_take_the_digit_passs_reading() {
        // Engine readings of real runs: both crops read `@star_kaifs0`; the digit pass on the
        // recheck crop read the line's last word as `90`.
        let g = one("@STAR_KAIFS0", 75.8);
        let r = one("@STAR_KAIFS0", 54.7);
        let d = one("90", 0.0);
        assert_eq!(
            reported(&[
                (Pass::General, &g),
                (Pass::LatinRecheck, &r),
                (Pass::DigitsRecheck, &d)
            ]),
            vec![("@star_kaif90".to_string(), Pass::LatinRecheck, 2)]
        );
        // Without the digit reading the misreading stands: two crops agree on it.
        assert_eq!(
            reported(&[(Pass::General, &g), (Pass::LatinRecheck, &r)]),
            vec![("@star_kaifs0".to_string(), Pass::LatinRecheck, 2)]
        );
        // Digit readings of the two views that disagree and neither of the candidate's own
        // view: left alone. Here the first view's digit reading (`30`) repairs the first
        // view's candidate and the recheck's (`90`) the recheck's, so nothing agrees.
        let d0 = one("30", 0.0);
        assert!(
            reported(&[
                (Pass::General, &g),
                (Pass::LatinRecheck, &r),
                (Pass::Digits, &d0),
                (Pass::DigitsRecheck, &d)
            ])
            .is_empty()
        );
        // A digit pass reads letters as the digits they look like: no evidence. `crystal72`
        // read `172`, `fastbro26` read `fastbr026`, `zakazzakaz` read `...zaka2`.
        for (handle, digits) in [
            ("@white_crystal72", "172"),
            ("@fastbro26", "026"),
            ("@zakazzakaz", "2"),
        ] {
            let h = one(handle, 80.0);
            let d = one(digits, 60.0);
            let found = reported(&[
                (Pass::General, &h),
                (Pass::LatinRecheck, &h),
                (Pass::Digits, &d),
            ]);
            assert_eq!(found, vec![(handle.to_string(), Pass::LatinRecheck, 2)]);
        }
        // A tail whose real digits the digit reading contradicts, or of another length, stays.
        let h = one("@star_kaifs0", 80.0);
        for digits in ["91", "990", "9"] {
            let d = one(digits, 60.0);
            assert_eq!(
                reported(&[
                    (Pass::General, &h),
                    (Pass::LatinRecheck, &h),
                    (Pass::Digits, &d)
                ]),
                vec![("@star_kaifs0".to_string(), Pass::LatinRecheck, 2)],
                "{digits}"
            );
        }
    }

    #[test]
    fn an_indicator_rests_on_its_least_sure_word() {
        let r = read_indicators(&words(&[
            ("Звони", 40.0),
            ("8", 95.0),
            ("707", 91.0),
            ("123", 72.0),
            ("45", 96.0),
            ("67", 93.0),
        ]));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].0.value, "+77071234567");
        // `Звони` is not part of the number: its low confidence does not count.
        assert_eq!(r[0].1, 72.0);
        // A handle joined from two words rests on both.
        let r = read_indicators(&words(&[("@moon", 95.0), ("snow60", 61.0)]));
        assert_eq!(r[0].0.value, "@moon_snow60");
        assert_eq!(r[0].1, 61.0);
    }

    #[test]
    fn words_split_by_a_hair_are_joined_and_a_dropped_underscore_is_put_back() {
        let w = |text: &str, left: u32, width: u32| Word {
            text: text.into(),
            conf: 90.0,
            bbox: Some((left, 20, width, 54)),
            row: None,
        };
        // `sta` and `rbot` 11 px apart (a fifth of the letter height): one word. `@lavka` and
        // `sta` 36 px apart: the underscore the engine dropped.
        let words = vec![
            w("@lavka", 45, 257),
            w("sta", 338, 133),
            w("rbot", 482, 159),
        ];
        assert_eq!(
            join(&words),
            "@lavka sta rbot".replacen(" sta r", " star", 1)
        );
        let found = read_indicators(&words);
        assert_eq!(found[0].0.value, "@lavka_starbot");
        // Without boxes every gap is a space.
        let r = Reading::from_texts(&["@lavka sta rbot".to_string()], 90.0);
        assert_eq!(r.text(0), "@lavka sta rbot");
    }

    #[test]
    fn words_on_another_row_of_the_crop_are_not_part_of_a_handle() {
        // A sticker's handle line whose crop holds the cut-off tops of the phone number below
        // (the engine's words and boxes from a real run): the second row is read as `ТА 4232
        // AG t`, which must not become `@snow_shop_ta`.
        let w = |text: &str, left: u32, top: u32, width: u32, height: u32, conf: f32| Word {
            text: text.into(),
            conf,
            bbox: Some((left, top, width, height)),
            row: None,
        };
        let words = vec![
            w("@snow_shop", 43, 240, 482, 69, 91.5),
            w("ТА", 35, 322, 177, 22, 66.7),
            w("4232", 248, 321, 130, 33, 50.9),
            w("AG", 411, 321, 88, 33, 78.6),
        ];
        assert_eq!(join(&words), "@snow_shop\nТА 4232 AG");
        let found = read_indicators(&words);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.value, "@snow_shop");
        // It rests on its own word only.
        assert_eq!(found[0].1, 91.5);
        // On one row (no boxes: one row is assumed) `ТА` would be the rest of the handle.
        let one_row: Vec<Word> = words
            .iter()
            .map(|x| Word {
                bbox: None,
                row: None,
                ..x.clone()
            })
            .collect();
        assert_eq!(read_indicators(&one_row)[0].0.value, "@snow_shop_ta");
        // The line's text keeps both rows, one after the other.
        let r = Reading {
            lines: vec![words],
            min_conf: 20.0,
        };
        let readings = [(Pass::General, &r)];
        let (texts, found) = combine(1, &readings, &candidates(&readings), 90.0, 20.0);
        assert_eq!(texts[0], "@snow_shop ТА 4232 AG");
        assert_eq!(found.len(), 1);
        // From TSV the engine's own line numbers decide, so a skewed row stays one row.
        let strip = Strip {
            image: image::GrayImage::new(10, 400),
            rows: vec![(0, 0, 400)],
        };
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   5\t1\t1\t1\t3\t1\t43\t240\t300\t60\t91.5\t@moon\n\
                   5\t1\t1\t1\t3\t2\t380\t285\t200\t60\t90.5\tsnow60\n\
                   5\t1\t1\t1\t4\t1\t35\t322\t177\t22\t66.7\tТА\n";
        let r = Reading::from_tsv(tsv, &strip, 1, 20.0);
        let found = read_indicators(&r.lines[0]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.value, "@moon_snow60");
    }

    #[test]
    fn a_doubted_last_word_makes_the_handle_doubted_not_shorter() {
        let strip = Strip {
            image: image::GrayImage::new(10, 100),
            rows: vec![(0, 0, 100)],
        };
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   5\t1\t1\t1\t1\t1\t0\t20\t300\t50\t93.0\t@good_green\n\
                   5\t1\t1\t1\t1\t2\t330\t20\t90\t50\t12.0\tbot\n";
        let r = Reading::from_tsv(tsv, &strip, 1, 20.0);
        // The text leaves the doubted word out; the indicator rests on it.
        assert_eq!(r.text(0), "@good_green");
        let found = read_indicators(&r.lines[0]);
        assert_eq!(found.len(), 1);
        assert_ne!(found[0].0.value, "@good_green");
        assert_eq!(found[0].1, 12.0);
        assert!(vote(&candidates(&[(Pass::General, &r)]), 90.0, 20.0).is_empty());
    }

    #[test]
    fn near_values_are_readings_of_one_thing() {
        assert!(near("@store_dream", "@storedream"));
        assert!(near("+77071234567", "+77071284567"));
        assert!(!near("@store_dream", "@alma_kz"));
    }

    #[test]
    fn two_sure_but_different_readings_of_one_handle_report_neither() {
        let g = one("@store_dream", 91.4);
        let l = one("@storedream", 91.8);
        assert!(reported(&[(Pass::General, &g), (Pass::Latin, &l)]).is_empty());
        // A recheck on the other crop settles it.
        let r = one("@store_dream", 70.0);
        assert_eq!(
            reported(&[
                (Pass::General, &g),
                (Pass::Latin, &l),
                (Pass::LatinRecheck, &r)
            ]),
            vec![("@store_dream".to_string(), Pass::LatinRecheck, 2)]
        );
        // A sure reading beside a different one the engine was less sure of but did not
        // doubt is contested too; beside a doubted one it stands.
        let l = one("@topc_rystal_bot", 92.1);
        for (general, want) in [(89.0, 0), (12.0, 1)] {
            let g = one("@topcrystal_bot", general);
            let got = reported(&[(Pass::General, &g), (Pass::Latin, &l)]);
            assert_eq!(got.len(), want, "general at {general}: {got:?}");
        }
    }

    #[test]
    fn an_underscore_one_crop_was_sure_of_outvotes_crops_that_lost_it() {
        let (r, t) = (one("@dropfast", 92.6), one("@dropfast", 92.8));
        let (sure, unsure) = (one("@drop_fast", 91.6), one("@drop_fast", 70.0));
        let (g, l) = (one("@topcrystal_bot", 89.0), one("@topc_rystal_bot", 92.1));
        let again = one("@topcrystal_bot", 91.5);
        // The readings of a line, the value reported, its votes.
        type Case<'a> = (&'a [(Pass, &'a Reading)], &'a str, usize);
        let cases: [Case; 3] = [
            (
                &[
                    (Pass::General, &sure),
                    (Pass::LatinRecheck, &r),
                    (Pass::LatinThird, &t),
                ],
                "@drop_fast",
                3,
            ),
            // An underscore the engine was not fairly sure of does not outvote two crops,
            (
                &[
                    (Pass::General, &unsure),
                    (Pass::LatinRecheck, &r),
                    (Pass::LatinThird, &t),
                ],
                "@dropfast",
                2,
            ),
            // nor does one that the same crop was also read without.
            (
                &[
                    (Pass::General, &g),
                    (Pass::Latin, &l),
                    (Pass::LatinRecheck, &again),
                ],
                "@topcrystal_bot",
                2,
            ),
        ];
        for (readings, want, votes) in cases {
            assert_eq!(
                reported(readings),
                vec![(want.to_string(), Pass::LatinRecheck, votes)]
            );
        }
        // The general pass's sure underscore outvotes the Latin pass on the same crop: the
        // Latin pass and the recheck lost it.
        let l = one("@dropfast", 92.6);
        assert_eq!(
            reported(&[
                (Pass::General, &sure),
                (Pass::Latin, &l),
                (Pass::LatinRecheck, &r)
            ]),
            vec![("@drop_fast".to_string(), Pass::Latin, 2)]
        );
    }

    #[test]
    fn a_handle_cut_short_at_an_underscore_is_not_reported() {
        // `@mix_v` sure on the first crop, `@mixvip` on the other: the rest of `@mix_vip`
        // was lost on the first.
        let l = one("@mix_v", 91.6);
        let r = one("@mixvip", 51.1);
        assert!(reported(&[(Pass::Latin, &l), (Pass::LatinRecheck, &r)]).is_empty());
    }

    #[test]
    fn a_doubted_third_look_at_a_phone_counts_beside_an_undoubted_reading() {
        let third = one("+77752460447", 7.9);
        let g = one("+77752460447", 55.1);
        assert_eq!(
            reported(&[(Pass::General, &g), (Pass::DigitsThird, &third)]),
            vec![("+77752460447".to_string(), Pass::DigitsThird, 2)]
        );
        // Two doubted readings break no tie, nor does a doubted third look at a handle.
        let g = one("+77752460447", 5.8);
        assert!(reported(&[(Pass::General, &g), (Pass::DigitsThird, &third)]).is_empty());
        let (r, t) = (one("@tripp_kladgo", 22.7), one("@tripp_kladgo", 13.3));
        assert!(reported(&[(Pass::LatinRecheck, &r), (Pass::LatinThird, &t)]).is_empty());
    }

    #[test]
    fn agreement_between_differently_prepared_crops_is_reported() {
        let g = Reading {
            min_conf: 0.0,
            lines: vec![words(&[("@snoш_shop", 55.0), ("8", 60.0), ("707", 50.0)])],
        };
        let l = one("@snow_shop", 70.0);
        // The general and Latin passes read the same crop: their agreement is one vote, and
        // the engine was unsure.
        assert!(reported(&[(Pass::General, &g), (Pass::Latin, &l)]).is_empty());
        // The recheck reads another crop: the general reading repairs to the same handle.
        assert_eq!(
            reported(&[(Pass::General, &g), (Pass::LatinRecheck, &l)]),
            vec![("@snow_shop".to_string(), Pass::LatinRecheck, 2)]
        );
    }

    #[test]
    fn a_one_pass_reading_needs_a_sure_engine() {
        let g = one("ЗВОНИ", 90.0);
        let unsure = Reading {
            min_conf: 0.0,
            lines: vec![words(&[
                ("8", 80.0),
                ("707", 62.0),
                ("123", 88.0),
                ("45", 90.0),
                ("67", 90.0),
            ])],
        };
        // Read by the digit pass alone, one word at 62: not reported.
        assert!(reported(&[(Pass::General, &g), (Pass::Digits, &unsure)]).is_empty());
        let sure = Reading {
            min_conf: 0.0,
            lines: vec![words(&[
                ("8", 96.0),
                ("707", 95.0),
                ("123", 93.0),
                ("45", 96.0),
                ("67", 97.0),
            ])],
        };
        assert_eq!(
            reported(&[(Pass::General, &g), (Pass::Digits, &sure)]),
            vec![("+77071234567".to_string(), Pass::Digits, 1)]
        );
    }

    #[test]
    fn unrelated_sure_readings_prefer_the_specialised_pass() {
        let g = Reading {
            min_conf: 0.0,
            lines: vec![words(&[
                ("@ab_cd", 95.0),
                ("8", 95.0),
                ("707", 95.0),
                ("999", 95.0),
                ("99", 95.0),
                ("99", 95.0),
            ])],
        };
        let l = one("@snow_shop", 93.0);
        let d = Reading {
            min_conf: 0.0,
            lines: vec![words(&[
                ("8", 94.0),
                ("707", 94.0),
                ("123", 94.0),
                ("45", 94.0),
                ("67", 94.0),
            ])],
        };
        let got = reported(&[(Pass::General, &g), (Pass::Latin, &l), (Pass::Digits, &d)]);
        assert_eq!(
            got,
            vec![
                ("@snow_shop".to_string(), Pass::Latin, 1),
                ("+77071234567".to_string(), Pass::Digits, 1)
            ]
        );
    }

    #[test]
    fn specialised_passes_only_count_for_their_kinds() {
        // The digit pass "reading" a handle or the Latin pass a phone is ignored.
        let l = one("+77071234567", 99.0);
        let g = Reading::empty(1);
        assert!(reported(&[(Pass::General, &g), (Pass::Latin, &l)]).is_empty());
    }
}
