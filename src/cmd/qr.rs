//! `kuzet qr [--format json] IMAGE…`: decode QR codes in image files and directories.
//!
//! Per image: `{"path","codes":[{"text","attempt","leads":[{"kind","value"}]}],"error"}`.
//! A bad image is reported in its own record and never stops the batch.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kuzet_classifier::qr::{self, Limits, QrOptions};
use serde_json::json;

use super::Context;
use crate::cli::QrArgs;

/// File extensions searched for inside directories (explicit files are sniffed by content).
const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "gif", "webp", "bmp"];

pub fn run(args: QrArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    quiet_rqrr_panics();
    let defaults = QrOptions::default();
    let opts = QrOptions {
        limits: Limits {
            max_bytes: args.max_bytes,
            max_pixels: args.max_pixels,
            ..Limits::default()
        },
        max_attempts: args.max_attempts.unwrap_or(defaults.max_attempts),
        max_pixels_scanned: args
            .max_pixels_scanned
            .unwrap_or(defaults.max_pixels_scanned),
        ..defaults
    };
    for path in &args.paths {
        for item in expand(path) {
            let (path, result) = match item {
                Ok(p) => {
                    let r = read_limited(&p, opts.limits.max_bytes)
                        .and_then(|b| qr::decode_image(&b, &opts).map_err(|e| e.to_string()));
                    (p, r)
                }
                Err((p, e)) => (p, Err(e)),
            };
            emit(ctx, &path, &result);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn emit(ctx: &Context, path: &Path, result: &Result<qr::QrResult, String>) {
    let shown = path.display().to_string();
    let codes: Vec<_> = result
        .as_ref()
        .map_or(&[][..], |r| &r.codes[..])
        .iter()
        .collect();
    let json = json!({
        "path": shown,
        "codes": codes.iter().map(|c| json!({
            "text": c.text,
            "attempt": c.attempt,
            "leads": qr::leads(&c.text).iter()
                .map(|l| json!({"kind": l.kind.as_str(), "value": l.value}))
                .collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "error": result.as_ref().err(),
    });
    ctx.emit(&json, || match result {
        Err(e) => format!("{shown}: error: {e}"),
        Ok(r) if r.codes.is_empty() => format!("{shown}: no QR code"),
        Ok(r) => r
            .codes
            .iter()
            .map(|c| format!("{shown}: {}", c.text.escape_debug()))
            .collect::<Vec<_>>()
            .join("\n"),
    });
}

/// Reads a file, refusing it from its metadata when it is larger than `max` bytes.
pub(crate) fn read_limited(path: &Path, max: usize) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() > max as u64 {
        return Err(format!(
            "image is {} bytes, more than the limit of {max}",
            meta.len()
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read: {e}"))
}

/// A file as itself; a directory as its image files, recursively, in sorted order. Unreadable
/// entries are reported, not skipped.
fn expand(path: &Path) -> Vec<Result<PathBuf, (PathBuf, String)>> {
    let mut out = Vec::new();
    if !path.is_dir() {
        out.push(Ok(path.to_path_buf()));
        return out;
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                out.push(Err((dir, format!("cannot list directory: {e}"))));
                continue;
            }
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for p in entries.into_iter().rev() {
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            {
                out.push(Ok(p));
            }
        }
    }
    out.sort_by(|a, b| key(a).cmp(key(b)));
    out
}

fn key(r: &Result<PathBuf, (PathBuf, String)>) -> &Path {
    match r {
        Ok(p) | Err((p, _)) => p,
    }
}

/// `rqrr` panics on some inputs (caught per pass by the classifier); keep its panic messages
/// out of stderr at the default level while every other panic still prints as usual.
pub(crate) fn quiet_rqrr_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.location().is_some_and(|l| {
            // crates.io path (`…/rqrr-0.11.0/src/…`) or the patched copy (`vendor/rqrr/src/…`)
            let f = l.file();
            f.contains("/rqrr-") || f.contains("vendor/rqrr/")
        }) {
            tracing::debug!(location = %info.location().map(|l| l.to_string()).unwrap_or_default(), "rqrr panicked; pass counted as empty");
        } else {
            default(info);
        }
    }));
}
