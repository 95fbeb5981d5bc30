//! Latin ↔ Cyrillic look-alike tables derived from Unicode's confusables data.
//!
//! No hand-written list: for every Latin letter and every Cyrillic letter we compare the
//! UTS #39 skeletons (via `unicode-security`, which embeds `confusables.txt`) of both the
//! lower- and upper-case forms. Letters whose skeletons coincide are look-alikes. Basic Russian
//! letters are preferred over other Cyrillic letters when several match.

use std::collections::HashMap;

use unicode_security::confusable_detection::skeleton;

/// Look-alike maps in both directions (lower-case letters only).
#[derive(Debug, Clone)]
pub struct Confusables {
    latin_to_cyrillic: HashMap<char, char>,
    cyrillic_to_latin: HashMap<char, char>,
}

fn skel(c: char) -> String {
    let mut buf = [0u8; 4];
    skeleton(c.encode_utf8(&mut buf)).collect()
}

fn forms(c: char) -> Vec<String> {
    let mut out = vec![skel(c)];
    for u in c.to_uppercase() {
        out.push(skel(u));
    }
    out
}

impl Confusables {
    /// Builds the tables (a few thousand skeleton computations; done once per `Normalizer`).
    pub fn build() -> Self {
        // Russian first (preferred), then the rest of the basic Cyrillic block (Kazakh, Ukrainian …).
        let cyrillic: Vec<char> = ('а'..='я')
            .chain(['ё'])
            .chain('\u{0450}'..='\u{04FF}')
            .filter(|c| c.is_lowercase())
            .collect();
        let latin: Vec<char> = ('a'..='z').chain(['ı']).collect();
        let cyr_forms: Vec<(char, Vec<String>)> = cyrillic.iter().map(|&c| (c, forms(c))).collect();
        let mut latin_to_cyrillic = HashMap::new();
        let mut cyrillic_to_latin = HashMap::new();
        for &l in &latin {
            let lf = forms(l);
            for (c, cf) in &cyr_forms {
                // Lower with lower, upper with upper.
                let same = lf.iter().zip(cf.iter()).any(|(a, b)| a == b);
                if same {
                    latin_to_cyrillic.entry(l).or_insert(*c);
                    cyrillic_to_latin.entry(*c).or_insert(l);
                }
            }
        }
        Confusables {
            latin_to_cyrillic,
            cyrillic_to_latin,
        }
    }

    /// The Cyrillic look-alike of a lower-case Latin letter.
    pub fn to_cyrillic(&self, c: char) -> Option<char> {
        self.latin_to_cyrillic.get(&c).copied()
    }

    /// The Latin look-alike of a lower-case Cyrillic letter.
    pub fn to_latin(&self, c: char) -> Option<char> {
        self.cyrillic_to_latin.get(&c).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_lookalikes_come_from_the_data() {
        let t = Confusables::build();
        for (l, c) in [
            ('a', 'а'),
            ('o', 'о'),
            ('p', 'р'),
            ('c', 'с'),
            ('e', 'е'),
            ('x', 'х'),
        ] {
            assert_eq!(t.to_cyrillic(l), Some(c), "{l}");
            assert_eq!(t.to_latin(c), Some(l), "{c}");
        }
        assert_eq!(t.to_cyrillic('k'), Some('к'));
        assert_eq!(t.to_cyrillic('f'), None);
    }
}
