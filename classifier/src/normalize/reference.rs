//! The first, straightforward implementation of [`super::Normalizer::normalize`], kept as the
//! oracle for differential tests of the optimised one (same text, same spans).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::confusables::Confusables;
use super::{
    Class, fold_key, is_apostrophe, is_invisible, is_invisible_mark, is_spacing_sep, translit,
};

/// Normalised text and, per byte, the original start and end.
pub(crate) type Reference = (String, Vec<u32>, Vec<u32>);

/// The reference normalisation.
pub(crate) fn normalize(conf: &Confusables, input: &str) -> Reference {
    let mut units = units(input);
    join_spaced(&mut units);
    let mut out = (String::new(), Vec::new(), Vec::new());
    tokens(conf, &units, &mut out);
    out
}

fn push(out: &mut Reference, c: char, start: u32, end: u32) {
    out.0.push(c);
    for _ in 0..c.len_utf8() {
        out.1.push(start);
        out.2.push(end);
    }
}

fn tokens(conf: &Confusables, units: &[Unit], out: &mut Reference) {
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        if !u.class.is_alnum() {
            push(out, u.c, u.s, u.e);
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
        token(conf, &units[i..j], out);
        i = j;
    }
}

fn token(conf: &Confusables, tok: &[Unit], out: &mut Reference) {
    let (mut cyr, mut lat) = (0usize, 0usize);
    for u in tok {
        match u.class {
            Class::Cyrillic => cyr += 1,
            Class::Latin => lat += 1,
            _ => {}
        }
    }
    let emit = |out: &mut Reference, c: char, s: u32, e: u32| {
        if let Some(k) = fold_key(c) {
            push(out, k, s, e);
        }
    };
    if lat == 0 {
        for u in tok.iter().filter(|u| !is_apostrophe(u.c)) {
            emit(out, u.c, u.s, u.e);
        }
    } else if cyr >= lat
        || (cyr > 0
            && tok
                .iter()
                .all(|u| u.class != Class::Latin || conf.to_cyrillic(u.c).is_some()))
    {
        for u in tok.iter().filter(|u| !is_apostrophe(u.c)) {
            if u.class != Class::Latin {
                emit(out, u.c, u.s, u.e);
            } else if let Some(c) = conf.to_cyrillic(u.c) {
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
                    conf.to_latin(u.c).unwrap_or(u.c)
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

#[derive(Debug, Clone, Copy)]
struct Unit {
    c: char,
    s: u32,
    e: u32,
    class: Class,
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
