//! `kuzet eval qr --corpus DIR [--plain-rqrr]`: exact-match decode rate per category and
//! images/s (single thread; pin with `taskset -c 0` for one-core figures).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use kuzet_classifier::qr::{self, QrOptions, eval};
use serde_json::json;

use super::Context;

/// (category, expected text bytes) for one code of an image.
type Expected = (String, Vec<u8>);
/// An image's bytes (or why they could not be read) and its expected codes.
type Item = (Result<Vec<u8>, String>, Vec<Expected>);

pub fn run(corpus: &Path, plain_rqrr: bool, ctx: &Context) -> anyhow::Result<ExitCode> {
    super::qr::quiet_rqrr_panics();
    let manifest_path = corpus.join("manifest.csv");
    let manifest = std::fs::read(&manifest_path)
        .with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let rows = eval::parse_manifest(&manifest)
        .with_context(|| format!("in {}", manifest_path.display()))?;
    let opts = QrOptions::default();
    // Read everything first so the clock measures decoding only.
    let mut images: BTreeMap<String, Item> = BTreeMap::new();
    for r in &rows {
        let file = corpus.join(&r.expected_text_file);
        let expected =
            std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        images
            .entry(r.image.clone())
            .or_insert_with(|| {
                (
                    super::qr::read_limited(&corpus.join(&r.image), opts.limits.max_bytes),
                    Vec::new(),
                )
            })
            .1
            .push((r.category.clone(), expected));
    }
    let mut tally = eval::Tally::default();
    let (mut errors, mut attempts) = (0usize, 0usize);
    let start = Instant::now();
    for (bytes, expected) in images.values() {
        let result = bytes.as_ref().map_err(Clone::clone).and_then(|b| {
            let r = if plain_rqrr {
                qr::decode_image_plain_rqrr(b, &opts.limits)
            } else {
                qr::decode_image(b, &opts)
            };
            r.map_err(|e| e.to_string())
        });
        errors += usize::from(result.is_err());
        attempts += result.as_ref().map_or(0, |r| r.attempts_tried);
        let codes = result.map(|r| r.codes).unwrap_or_default();
        for (category, text) in expected {
            tally.add(
                category,
                text,
                codes.iter().map(|c| (c.text.as_str(), c.attempt)),
            );
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let decoder = if plain_rqrr { "plain-rqrr" } else { "kuzet" };
    for (category, (expected, read)) in &tally.per_category {
        ctx.emit(
            &json!({"decoder": decoder, "category": category, "expected": expected, "decoded": read}),
            || format!("{decoder:<11} {category:<24} {read:>4}/{expected}"),
        );
    }
    let (expected, read) = tally.total();
    let n = images.len();
    let per_s = if seconds > 0.0 {
        n as f64 / seconds
    } else {
        0.0
    };
    ctx.emit(
        &json!({
            "decoder": decoder, "category": "ALL", "expected": expected, "decoded": read,
            "images": n, "errors": errors, "seconds": seconds, "images_per_s": per_s,
            "attempts_per_image": attempts as f64 / n.max(1) as f64,
            "codes_per_attempt": tally.per_attempt,
        }),
        || {
            let mut s = format!(
                "{decoder:<11} {:<24} {read:>4}/{expected}  ({n} images, {errors} errors, {seconds:.2} s, {per_s:.1} images/s)",
                "ALL"
            );
            for (a, k) in &tally.per_attempt {
                s.push_str(&format!("\n{decoder:<11} attempt {a:<20} {k}"));
            }
            s
        },
    );
    Ok(ExitCode::SUCCESS)
}
