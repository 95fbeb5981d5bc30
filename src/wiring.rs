//! Adapters that plug the classifier into the crawler: page scoring and QR decoding.
//! The crawler defines the traits; the binary is the only place that knows both crates.

use kuzet_classifier::Classifier;
use kuzet_classifier::qr::{self, QrOptions};
use kuzet_crawler::crawl::{PageScorer, Score};
use kuzet_crawler::photos::ImageDecoder;
use url::Url;

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

/// Decodes QR codes in crawled images and photos with kuzet's pipeline.
pub struct QrDecoder {
    opts: QrOptions,
}

impl QrDecoder {
    /// With the given options (limits on bytes and pixels included).
    pub fn new(opts: QrOptions) -> Self {
        Self { opts }
    }
}

impl ImageDecoder for QrDecoder {
    fn decode(&self, image: &[u8]) -> Vec<String> {
        match qr::decode_image(image, &self.opts) {
            Ok(result) => result.codes.into_iter().map(|c| c.text).collect(),
            Err(e) => {
                tracing::debug!(error = %e, "image not decoded");
                Vec::new()
            }
        }
    }
}
