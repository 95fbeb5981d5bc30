//! `kuzet classify [--rules FILE] PATH…`: one verdict (or error) per file; never stops the batch.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kuzet_classifier::{Classifier, Verdict};
use serde_json::json;

use super::Context;
use crate::cli::ClassifyArgs;

const EXTENSIONS: &[&str] = &["html", "htm", "txt"];

pub fn run(args: ClassifyArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let classifier = super::rules::classifier(&args.rules)?;
    for root in &args.paths {
        let mut files = Vec::new();
        if let Err(e) = collect(root, &mut files) {
            emit_error(ctx, root, &e);
            continue;
        }
        for path in files {
            match classify_file(&classifier, &path) {
                Ok(v) => emit_verdict(ctx, &path, &v),
                Err(e) => emit_error(ctx, &path, &e),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Files under `root` (itself if a file), sorted; directories are walked recursively and only
/// `.html`, `.htm` and `.txt` files are taken from them.
fn collect(root: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta = std::fs::metadata(root).map_err(|e| e.to_string())?;
    if meta.is_file() {
        out.push(root.to_path_buf());
        return Ok(());
    }
    let mut stack = vec![root.to_path_buf()];
    let mut found = Vec::new();
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => {
                    let ext = path
                        .extension()
                        .and_then(|e| e.to_str())
                        .map(str::to_ascii_lowercase);
                    if ext.is_some_and(|e| EXTENSIONS.contains(&e.as_str())) {
                        found.push(path);
                    }
                }
                _ => {}
            }
        }
    }
    found.sort();
    out.extend(found);
    Ok(())
}

fn classify_file(classifier: &Classifier, path: &Path) -> Result<Verdict, String> {
    let limit = classifier.limits().max_input_bytes;
    let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if size > limit as u64 {
        return Err(format!(
            "file is {size} bytes, over the limit of {limit} bytes"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let is_text = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("txt"));
    let result = if is_text {
        classifier.classify_plain(&bytes, None)
    } else {
        classifier.classify_html(&bytes, None)
    };
    result.map_err(|e| e.to_string())
}

fn emit_verdict(ctx: &Context, path: &Path, v: &Verdict) {
    let json = json!({
        "path": path.display().to_string(),
        "score": v.score,
        "verdict": v.verdict,
        "reasons": v.reasons,
        "indicators": v.indicators,
        "rules_version": v.rules_version,
    });
    ctx.emit(&json, || {
        let mut out = format!("{}\t{:?}\t{:.3}", path.display(), v.verdict, v.score).to_lowercase();
        for r in v.reasons.iter().filter(|r| r.weight != 0.0).take(8) {
            out.push_str(&format!("\n  {:+.2} {} {}", r.weight, r.rule, r.evidence));
        }
        for i in v.indicators.iter().take(20) {
            out.push_str(&format!("\n  indicator {} {}", i.kind.name(), i.value));
        }
        out
    });
}

fn emit_error(ctx: &Context, path: &Path, error: &impl std::fmt::Display) {
    tracing::warn!(path = %path.display(), error = %error, "cannot classify");
    ctx.emit(
        &json!({"path": path.display().to_string(), "error": error.to_string()}),
        || format!("{}\terror: {error}", path.display()),
    );
}
