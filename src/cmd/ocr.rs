//! `kuzet ocr [--format json] IMAGE…`: the recognised text and indicators per image; never
//! stops the batch. The OCR engine (Tesseract) runs in a separate, limited process; when it is
//! not installed, kuzet says so once and exits 1.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use kuzet_classifier::Classifier;
use kuzet_classifier::ocr::{OcrOptions, OcrResult};
use kuzet_crawler::ocr_runner::{OcrRunError, OcrRunner, RunnerConfig};
use serde_json::json;

use super::Context;
use crate::cli::OcrArgs;

pub fn run(args: OcrArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let runner = OcrRunner::new(RunnerConfig {
        command: args.tesseract.clone(),
        timeout: Duration::from_millis(args.timeout_ms),
        memory_limit_bytes: args.memory_mb.saturating_mul(1 << 20),
        ..RunnerConfig::default()
    });
    if let Err(e) = runner.available() {
        anyhow::bail!(
            "{e}; install the Debian packages tesseract-ocr tesseract-ocr-rus tesseract-ocr-kaz"
        );
    }
    let opts = OcrOptions {
        languages: args.languages.clone(),
        ..OcrOptions::default()
    };
    let classifier = Classifier::default_rules()?;
    for path in &args.images {
        match read_image(&runner, &opts, path) {
            Ok(r) => emit_result(ctx, &classifier, path, &r),
            Err(e) => emit_error(ctx, path, &e),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_image(runner: &OcrRunner, opts: &OcrOptions, path: &Path) -> Result<OcrResult, String> {
    let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    let max = opts.limits.max_bytes as u64;
    if size > max {
        return Err(format!(
            "image is {size} bytes, more than the limit of {max}"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    runner.ocr(&bytes, opts).map_err(|e| match e {
        OcrRunError::Image(e) => e.to_string(),
        OcrRunError::Engine(e) => e.to_string(),
    })
}

fn emit_result(ctx: &Context, classifier: &Classifier, path: &Path, r: &OcrResult) {
    let verdict = classifier.classify_text(&r.classifier_text());
    let indicators: Vec<_> = r
        .indicators
        .iter()
        .map(|f| {
            json!({
                "kind": f.indicator.kind.name(),
                "value": f.indicator.value,
                "source": "image",
                "pass": f.pass.name(),
                "line": f.line,
                "votes": f.votes,
                "confidence": (f.confidence * 10.0).round() / 10.0,
            })
        })
        .collect();
    let lines: Vec<_> = r
        .lines
        .iter()
        .map(|l| json!({"bbox": [l.bbox.0, l.bbox.1, l.bbox.2, l.bbox.3], "angle": l.angle_deg, "text": l.text}))
        .collect();
    let json = json!({
        "path": path.display().to_string(),
        "width": r.width,
        "height": r.height,
        "text_free": r.text_free,
        "text": r.text,
        "lines": lines,
        "indicators": indicators,
        "score": verdict.score,
        "verdict": verdict.verdict,
        "reasons": verdict.reasons,
        "pass_errors": r.pass_errors,
    });
    ctx.emit(&json, || {
        let mut out = format!(
            "{}\t{}×{}\t{:?}\t{:.3}",
            path.display(),
            r.width,
            r.height,
            verdict.verdict,
            verdict.score
        );
        if r.text_free {
            out.push_str("\n  no text");
        }
        for l in r.lines.iter().filter(|l| !l.text.is_empty()) {
            out.push_str(&format!("\n  text {}", l.text));
        }
        for f in &r.indicators {
            out.push_str(&format!(
                "\n  indicator {} {} ({} pass, {} vote{}, confidence {:.0})",
                f.indicator.kind.name(),
                f.indicator.value,
                f.pass.name(),
                f.votes,
                if f.votes == 1 { "" } else { "s" },
                f.confidence
            ));
        }
        for e in &r.pass_errors {
            out.push_str(&format!("\n  warning {e}"));
        }
        out
    });
}

fn emit_error(ctx: &Context, path: &Path, error: &str) {
    tracing::warn!(path = %path.display(), error = %error, "cannot read image");
    ctx.emit(
        &json!({"path": path.display().to_string(), "error": error}),
        || format!("{}\terror: {error}", path.display()),
    );
}
