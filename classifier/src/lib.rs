//! The classifier: pure functions from bytes to verdicts. No IO, no database, no clock.
//!
//! # Layout
//! - [`decode`]: bytes → text with the right character set.
//! - [`html`]: HTML → title, description, visible text, links, images (one tokenizer pass).
//! - [`normalize`]: the text rules see (NFKC, case, invisible characters, look-alikes, spaced
//!   letters, transliteration), with a map back to the original bytes.
//! - [`ocr`]: text in images, the pure half (line detection, preparation, OCR jobs, repair).
//! - [`indicators`]: validated Telegram handles, onion addresses, wallets, phones, cards …
//! - [`rules`]: the rule file format, its validation, the compiled engine, example runner.
//! - [`score`]: scoring, labels, reasons, the [`Verdict`].
//! - [`eval`]: precision, recall, F1 and confusion over labelled data.
//! - [`qr`]: QR codes in images: bounded loading, a pipeline of attempts around `rqrr`, typed leads.
//! - [`error`], [`limits`]: the crate's error type and its explicit limits.
//!
//! The entry point is [`Classifier`]: compile a [`RuleSet`] once, classify many inputs.
#![deny(missing_docs)]

pub mod decode;
pub mod error;
pub mod eval;
pub mod html;
pub mod indicators;
pub mod limits;
pub mod normalize;
pub mod ocr;
mod pixels;
pub mod qr;
pub mod rules;
pub mod score;
#[cfg(test)]
mod test_corpus;

pub use error::Error;
pub use html::Extracted;
pub use indicators::{Indicator, IndicatorKind};
pub use limits::Limits;
pub use rules::RuleSet;
pub use score::{Label, Reason, Verdict};

use normalize::{Normalized, Normalizer};
use rules::Engine;
use score::Scored;

/// Characters of context on each side of an evidence snippet.
const SNIPPET_CONTEXT: usize = 40;

/// A compiled rule set, ready to classify. Build once (milliseconds), share freely (`Sync`).
#[derive(Debug, Clone)]
pub struct Classifier {
    rules: RuleSet,
    normalizer: Normalizer,
    engine: Engine,
    limits: Limits,
}

impl Classifier {
    /// Compiles `rules` with default [`Limits`].
    pub fn new(rules: RuleSet) -> Result<Classifier, Error> {
        Classifier::with_limits(rules, Limits::default())
    }

    /// Compiles `rules` with explicit limits.
    pub fn with_limits(rules: RuleSet, limits: Limits) -> Result<Classifier, Error> {
        let normalizer = Normalizer::new();
        let engine = Engine::compile(&rules, &normalizer)?;
        Ok(Classifier {
            rules,
            normalizer,
            engine,
            limits,
        })
    }

    /// The classifier with the built-in Russian/Kazakh rule set.
    pub fn default_rules() -> Result<Classifier, Error> {
        Classifier::new(RuleSet::default_rules()?)
    }

    /// The rule set this classifier was compiled from.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The compiled engine (for benchmarks and tools).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The normaliser (for benchmarks and tools).
    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Decodes, extracts and classifies an HTML document.
    ///
    /// Errors: [`Error::TooLarge`] over `max_input_bytes`, [`Error::Binary`] for input that
    /// is not text.
    pub fn classify_html(
        &self,
        bytes: &[u8],
        content_type: Option<&str>,
    ) -> Result<Verdict, Error> {
        let text = self.decode_checked(bytes, content_type)?;
        let extracted = html::extract_with_limits(&text, &self.limits);
        Ok(self.classify_extracted(&extracted))
    }

    /// Decodes and classifies a plain-text document, with the same checks as
    /// [`Classifier::classify_html`].
    pub fn classify_plain(
        &self,
        bytes: &[u8],
        content_type: Option<&str>,
    ) -> Result<Verdict, Error> {
        let text = self.decode_checked(bytes, content_type)?;
        Ok(self.classify_text(&text))
    }

    /// Classifies what [`html::extract`] found (the crawler parses each page once and calls
    /// this). Indicators come from the text and from link and image URLs.
    pub fn classify_extracted(&self, extracted: &Extracted) -> Verdict {
        let text = extracted.text();
        let mut urls = String::new();
        for l in &extracted.links {
            urls.push_str(&l.href);
            urls.push('\n');
        }
        for i in &extracted.images {
            urls.push_str(&i.src);
            urls.push('\n');
        }
        self.classify_with_urls(&text, &urls)
    }

    /// Classifies plain text (text beyond `max_text_bytes` is ignored).
    pub fn classify_text(&self, text: &str) -> Verdict {
        self.classify_with_urls(text, "")
    }

    fn classify_with_urls(&self, text: &str, urls: &str) -> Verdict {
        let text = truncate(text, self.limits.max_text_bytes);
        let mut indicators = indicators::extract_limited(text, self.limits.max_indicators);
        if !urls.is_empty() {
            for ind in indicators::extract_limited(urls, self.limits.max_indicators) {
                if indicators.len() < self.limits.max_indicators && !indicators.contains(&ind) {
                    indicators.push(ind);
                }
            }
        }
        let normalized = self.normalizer.normalize(text);
        let hits = self.engine.scan(normalized.text(), &indicators);
        let scored = score::score(&self.rules, &hits);
        let reasons = self.reasons(text, &normalized, &hits, &scored);
        Verdict {
            score: scored.score,
            verdict: scored.label,
            reasons,
            indicators,
            rules_version: self.rules.version().to_string(),
        }
    }

    /// Runs the pipeline on `text` and returns the scoring details (used by the example
    /// runner and for debugging rules).
    pub fn analyze(&self, text: &str) -> (Scored, Vec<rules::Hit>) {
        let text = truncate(text, self.limits.max_text_bytes);
        let indicators = indicators::extract_limited(text, self.limits.max_indicators);
        let normalized = self.normalizer.normalize(text);
        let hits = self.engine.scan(normalized.text(), &indicators);
        (score::score(&self.rules, &hits), hits)
    }

    fn reasons(
        &self,
        text: &str,
        norm: &Normalized,
        hits: &[rules::Hit],
        scored: &Scored,
    ) -> Vec<Reason> {
        let mut out = Vec::new();
        for &ri in &scored.fired {
            let Some(rule) = self.rules.rules.get(ri) else {
                continue;
            };
            let hit = hits.iter().find(|h| h.rule == ri);
            let evidence = match hit {
                Some(rules::Hit { range: Some(r), .. }) => {
                    snippet(text, norm.original_range(r.clone()))
                }
                Some(rules::Hit {
                    indicator: Some(v), ..
                }) => v.clone(),
                _ => String::new(),
            };
            out.push(Reason {
                rule: rule.id.clone(),
                weight: rule.weight,
                evidence,
            });
        }
        for &ci in &scored.combos {
            let Some(c) = self.rules.combos.get(ci) else {
                continue;
            };
            let names: Vec<String> = c.all.iter().map(|k| format!("{k:?}")).collect();
            out.push(Reason {
                rule: c.id.clone(),
                weight: c.weight,
                evidence: names.join(" + "),
            });
        }
        out.truncate(self.limits.max_reasons);
        out
    }

    fn decode_checked(&self, bytes: &[u8], content_type: Option<&str>) -> Result<String, Error> {
        if bytes.len() > self.limits.max_input_bytes {
            return Err(Error::TooLarge {
                size: bytes.len(),
                limit: self.limits.max_input_bytes,
            });
        }
        let head = &bytes[..bytes.len().min(8192)];
        let utf16_bom = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
        if !utf16_bom && head.contains(&0) {
            return Err(Error::Binary {
                reason: "NUL bytes in the first 8 KiB".into(),
            });
        }
        let decoded = decode::decode(bytes, content_type);
        let (mut total, mut bad) = (0usize, 0usize);
        for c in decoded.text.chars().take(65_536) {
            total += 1;
            if c == '\u{FFFD}' || (c.is_control() && !c.is_whitespace()) {
                bad += 1;
            }
        }
        if total > 0 && bad * 10 > total {
            return Err(Error::Binary {
                reason: format!(
                    "{bad} of the first {total} characters are undecodable or control characters"
                ),
            });
        }
        Ok(decoded.text)
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The original text around `range`, whitespace collapsed, with `…` where cut.
fn snippet(text: &str, range: std::ops::Range<usize>) -> String {
    let (mut s, mut e) = (range.start.min(text.len()), range.end.min(text.len()));
    while !text.is_char_boundary(s) {
        s -= 1;
    }
    while !text.is_char_boundary(e) {
        e += 1;
    }
    let before: Vec<(usize, char)> = text[..s]
        .char_indices()
        .rev()
        .take(SNIPPET_CONTEXT)
        .collect();
    let from = before.last().map_or(s, |(i, _)| *i);
    let to = text[e..]
        .char_indices()
        .nth(SNIPPET_CONTEXT)
        .map_or(text.len(), |(i, _)| e + i);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.push_str(
        &text[from..to]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    );
    if to < text.len() {
        out.push('…');
    }
    out
}
