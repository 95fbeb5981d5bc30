//! Where the matched rules sit in a page's extracted text.
//!
//! The classifier stores reasons as `[{"rule","weight","evidence"}]` (optionally with byte
//! offsets `start`/`end` into the text). Spans come from those offsets when they are valid, else
//! from case-insensitive searches for the evidence text. The result is a list of plain and
//! marked [`Segment`]s; the template escapes every segment, so crawled text never becomes markup.

use regex::RegexBuilder;
use serde::{Deserialize, Serialize};

/// One rule that fired, as stored in `verdicts.reasons_json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Rule id.
    #[serde(default)]
    pub rule: String,
    /// Weight.
    #[serde(default)]
    pub weight: f64,
    /// Matched text (or the text around the match).
    #[serde(default)]
    pub evidence: String,
    /// Byte offset of the match in the page text, when the classifier recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<usize>,
    /// Byte offset just past the match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<usize>,
}

/// A run of text, highlighted or not. Never trusted: always escaped when rendered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// The text.
    pub text: String,
    /// Rules whose matches cover it (empty: plain text).
    pub rules: Vec<String>,
}

/// Longest evidence string searched for, in characters (longer ones are cut).
pub const MAX_EVIDENCE_CHARS: usize = 200;
/// Most reasons used for highlighting per page.
pub const MAX_REASONS: usize = 64;
/// Most highlighted spans per page.
pub const MAX_SPANS: usize = 2000;

/// Parses `reasons_json`; anything malformed yields no reasons (never an error in the UI).
pub fn parse_reasons(json: &str) -> Vec<Reason> {
    serde_json::from_str(json).unwrap_or_default()
}

/// `text` cut to at most `max` bytes at a character boundary, and whether it was cut.
pub fn truncate(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

/// Cuts `text` into segments, marking every span that a reason matched.
pub fn segments(text: &str, reasons: &[Reason]) -> Vec<Segment> {
    let mut spans: Vec<(usize, usize, usize)> = Vec::new(); // (start, end, reason index)
    for (ri, r) in reasons.iter().enumerate().take(MAX_REASONS) {
        if let (Some(s), Some(e)) = (r.start, r.end)
            && s < e
            && e <= text.len()
            && text.is_char_boundary(s)
            && text.is_char_boundary(e)
        {
            spans.push((s, e, ri));
            continue;
        }
        let needle: String = r
            .evidence
            .trim_matches(|c: char| c == '…' || c == '.' || c.is_whitespace())
            .chars()
            .take(MAX_EVIDENCE_CHARS)
            .collect();
        if needle.chars().count() < 2 {
            continue;
        }
        let Ok(re) = RegexBuilder::new(&regex::escape(&needle))
            .case_insensitive(true)
            .build()
        else {
            continue;
        };
        for m in re.find_iter(text).take(MAX_SPANS) {
            spans.push((m.start(), m.end(), ri));
        }
        if spans.len() >= MAX_SPANS {
            break;
        }
    }
    if spans.is_empty() {
        return vec![Segment {
            text: text.to_string(),
            rules: Vec::new(),
        }];
    }
    // Sweep over boundaries: each elementary piece lists the rules covering it.
    let mut cuts: Vec<usize> = vec![0, text.len()];
    for (s, e, _) in &spans {
        cuts.push(*s);
        cuts.push(*e);
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<Segment> = Vec::new();
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a == b {
            continue;
        }
        let mut rules: Vec<String> = spans
            .iter()
            .filter(|(s, e, _)| *s <= a && b <= *e)
            .map(|(_, _, ri)| reasons[*ri].rule.clone())
            .collect();
        rules.sort();
        rules.dedup();
        match out.last_mut() {
            Some(last) if last.rules == rules => last.text.push_str(&text[a..b]),
            _ => out.push(Segment {
                text: text[a..b].to_string(),
                rules,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(rule: &str, evidence: &str) -> Reason {
        Reason {
            rule: rule.into(),
            weight: 1.0,
            evidence: evidence.into(),
            start: None,
            end: None,
        }
    }

    #[test]
    fn marks_evidence_case_insensitively_and_overlaps_merge_rules() {
        let text = "Купить МЕФ тут, меф закладки @shop_bot";
        let segs = segments(
            text,
            &[
                reason("drug.mef", "меф"),
                reason("sell.closure", "меф закладки"),
            ],
        );
        let joined: String = segs.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(joined, text, "segments must cover the text exactly");
        let marked: Vec<(&str, Vec<String>)> = segs
            .iter()
            .filter(|s| !s.rules.is_empty())
            .map(|s| (s.text.as_str(), s.rules.clone()))
            .collect();
        assert_eq!(
            marked,
            vec![
                ("МЕФ", vec!["drug.mef".to_string()]),
                (
                    "меф",
                    vec!["drug.mef".to_string(), "sell.closure".to_string()]
                ),
                (" закладки", vec!["sell.closure".to_string()]),
            ]
        );
    }

    #[test]
    fn offsets_win_and_bad_offsets_fall_back_to_search() {
        let text = "ab <script>alert(1)</script> cd";
        let mut r = reason("x", "nothing-matches");
        r.start = Some(3);
        r.end = Some(11);
        let segs = segments(text, &[r]);
        assert_eq!(segs[1].text, "<script>");
        let mut bad = reason("y", "cd");
        bad.start = Some(1);
        bad.end = Some(999);
        let segs = segments(text, &[bad]);
        assert_eq!(segs.last().map(|s| s.text.as_str()), Some("cd"));
    }

    #[test]
    fn malformed_json_and_truncation_are_harmless() {
        assert!(parse_reasons("{not json").is_empty());
        let (t, cut) = truncate("жжж", 5);
        assert_eq!((t, cut), ("жж", true));
        assert_eq!(segments("", &[reason("r", "zz")]).len(), 1);
    }
}
