//! [`ClassifierScorer`]: the classifier's built-in rule set as the crawl loop's [`PageScorer`].
//! `kuzet crawl` (through the binary's wiring), re-checks and the crawl benchmark use this one
//! adapter, so what the benchmark times is what a real crawl does.

use kuzet_classifier::Classifier;
use url::Url;

use crate::crawl::{PageScorer, Score};

/// Scores crawled pages with a compiled rule set.
pub struct ClassifierScorer {
    classifier: Classifier,
}

impl ClassifierScorer {
    /// Wraps a compiled classifier.
    pub fn new(classifier: Classifier) -> Self {
        Self { classifier }
    }
}

impl PageScorer for ClassifierScorer {
    fn score(&self, _url: &Url, title: Option<&str>, text: &str) -> Option<Score> {
        let input = match title {
            Some(t) if !t.is_empty() => format!("{t}\n{text}"),
            _ => text.to_string(),
        };
        let v = self.classifier.classify_text(&input);
        Some(Score {
            score: v.score,
            verdict: v.verdict.as_str().to_string(),
            reasons_json: serde_json::to_string(&v.reasons).unwrap_or_else(|_| "[]".into()),
            rules_version: v.rules_version.clone(),
            indicators: v
                .indicators
                .iter()
                .map(|i| (i.kind.name().to_string(), i.value.clone()))
                .collect(),
        })
    }
}
