//! `kuzet evidence verify`: re-hash WARC evidence files and report any mismatch, then follow every
//! page's evidence reference in the database (file, offset, record id, SHA-256) to its record.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use kuzet_crawler::store;
use kuzet_crawler::warc::{self, ReferenceProblem};
use serde_json::json;

use super::Context;

/// `kuzet evidence …`
#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Re-hash every record of WARC files (or of every .warc file in a folder), then check each
    /// page's evidence reference in the database against the files (missing file, missing record,
    /// digest mismatch); exit status 1 when anything does not hold or a file is malformed.
    Verify {
        /// WARC files or folders (default: ./evidence).
        paths: Vec<PathBuf>,
        /// Folder the database's relative WARC file names are resolved against (default: the
        /// one folder given, else `[report] evidence_dir`).
        #[arg(long, value_name = "DIR")]
        evidence_dir: Option<PathBuf>,
        /// Only re-hash the files; do not read the database.
        #[arg(long)]
        files_only: bool,
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

pub async fn run(command: EvidenceCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    let EvidenceCommand::Verify {
        paths,
        evidence_dir,
        files_only,
    } = command;
    let paths = if paths.is_empty() {
        vec![PathBuf::from("evidence")]
    } else {
        paths
    };
    let mut ok = true;
    for file in warc_files(&paths) {
        ok &= report(&file, ctx);
    }
    if !files_only {
        let dir = evidence_dir.unwrap_or_else(|| match paths.as_slice() {
            [one] if one.is_dir() => one.clone(),
            _ => PathBuf::from(&ctx.config.report.evidence_dir),
        });
        ok &= check_database(&dir, ctx).await?;
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Follows every page's evidence reference; prints one line (or JSON object) per problem and a
/// total. Returns whether all references hold.
async fn check_database(dir: &Path, ctx: &Context) -> anyhow::Result<bool> {
    let db = ctx.open_db(false).await?;
    let refs = store::page_evidence(&db)
        .await
        .context("cannot read evidence references from the database")?;
    let mut problems = 0;
    for r in &refs {
        let file = Path::new(&r.warc.file);
        let path = if file.is_absolute() {
            file.to_path_buf()
        } else {
            dir.join(file)
        };
        let offset = u64::try_from(r.warc.offset).unwrap_or(u64::MAX);
        let Err(problem) = warc::check_reference(&path, offset, &r.warc.record_id, &r.warc.digest)
        else {
            continue;
        };
        problems += 1;
        let (kind, detail) = match &problem {
            ReferenceProblem::MissingFile => ("missing_file", String::new()),
            ReferenceProblem::MissingRecord(why) => ("missing_record", why.clone()),
            ReferenceProblem::Mismatch { expected, actual } => {
                ("mismatch", format!("expected {expected} got {actual}"))
            }
        };
        ctx.emit(
            &json!({"page": r.page_id, "url": r.url, "path": path, "offset": offset,
                    "problem": kind, "detail": detail}),
            || {
                format!(
                    "page {} ({}): {kind} {}@{offset} {detail}",
                    r.page_id,
                    r.url,
                    path.display()
                )
            },
        );
    }
    ctx.emit(
        &json!({"database_references": refs.len(), "problems": problems}),
        || {
            format!(
                "database: {} evidence references checked, {problems} problems",
                refs.len()
            )
        },
    );
    tokio::time::timeout(std::time::Duration::from_secs(5), db.close())
        .await
        .ok();
    Ok(problems == 0)
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
