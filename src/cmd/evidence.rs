//! `kuzet evidence verify`: re-hash WARC evidence files and report any mismatch.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use kuzet_crawler::warc;
use serde_json::json;

use super::Context;

/// `kuzet evidence …`
#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Re-hash every record of WARC files (or of every .warc file in a folder); exit status 1 when
    /// any digest does not match or a file is malformed.
    Verify {
        /// WARC files or folders (default: ./evidence).
        paths: Vec<PathBuf>,
    },
}

fn warc_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|f| f.extension().is_some_and(|x| x == "warc"))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    out
}

pub fn run(command: EvidenceCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    let EvidenceCommand::Verify { paths } = command;
    let paths = if paths.is_empty() {
        vec![PathBuf::from("evidence")]
    } else {
        paths
    };
    let mut ok = true;
    for file in warc_files(&paths) {
        ok &= report(&file, ctx);
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn report(file: &Path, ctx: &Context) -> bool {
    match warc::verify(file) {
        Ok(r) => {
            let mismatches: Vec<_> = r
                .mismatches
                .iter()
                .map(|m| {
                    json!({"offset": m.offset, "record_id": m.record_id, "field": m.field,
                                 "expected": m.expected, "actual": m.actual})
                })
                .collect();
            ctx.emit(
                &json!({"path": file, "records": r.records, "digests_checked": r.digests_checked,
                        "mismatches": mismatches, "error": r.malformed}),
                || {
                    let mut line = format!(
                        "{}: {} records, {} digests checked, {} mismatches",
                        file.display(),
                        r.records,
                        r.digests_checked,
                        r.mismatches.len()
                    );
                    for m in &r.mismatches {
                        line.push_str(&format!(
                            "\n  offset {}: {} expected {} got {}",
                            m.offset, m.field, m.expected, m.actual
                        ));
                    }
                    if let Some(e) = &r.malformed {
                        line.push_str(&format!("\n  malformed: {e}"));
                    }
                    line
                },
            );
            r.is_ok()
        }
        Err(e) => {
            ctx.emit(&json!({"path": file, "error": e.to_string()}), || {
                format!("{}: error: {e}", file.display())
            });
            false
        }
    }
}
