//! The evidence package: each page's WARC record, copied byte for byte from the crawler's WARC
//! file (`pages.warc_file`, `warc_offset`, `warc_length`), an index of what was copied from
//! where, and `MANIFEST.sha256` over every file of the package.
//!
//! The manifest has the format `sha256sum` writes and checks (`<hex>  <path>`, one line per
//! file, paths relative to the package with `/` separators, sorted), so a recipient verifies
//! the whole package with `sha256sum -c MANIFEST.sha256` and no kuzet installed.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::weekly::WeeklyReport;
use super::{ReportError, ReportLimits};

/// The manifest's file name.
pub const MANIFEST: &str = "MANIFEST.sha256";
/// The folder of WARC records inside a package.
pub const EVIDENCE_DIR: &str = "evidence";

/// What happened to one page's evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum EvidenceStatus {
    /// The record is in the package.
    Copied,
    /// The crawler kept no WARC record for the page (only its content hash).
    NoRecord,
    /// The WARC file is missing or shorter than the record.
    Missing(String),
    /// Not copied because of a limit or an unsafe path.
    Skipped(String),
}

/// One page's evidence in the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceItem {
    /// The case.
    pub case_id: i64,
    /// The page.
    pub page_id: i64,
    /// Path inside the package, when copied.
    pub file: Option<String>,
    /// The WARC file it came from, as recorded by the crawler.
    pub source_file: Option<String>,
    /// Byte offset in the source file.
    pub offset: Option<u64>,
    /// Record length.
    pub length: Option<u64>,
    /// `WARC-Record-ID`.
    pub record_id: Option<String>,
    /// SHA-256 of the copied bytes.
    pub sha256: Option<String>,
    /// The page body's SHA-256 as recorded at fetch time.
    pub content_sha256: String,
    /// What happened.
    #[serde(flatten)]
    pub status: EvidenceStatus,
}

/// Resolves a recorded WARC path: absolute paths as they are, relative ones under `root`; a
/// relative path that climbs out of `root` (`..`) is refused.
fn resolve(root: &Path, file: &str) -> Option<PathBuf> {
    let p = Path::new(file);
    if p.is_absolute() {
        return Some(p.to_path_buf());
    }
    if p.components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return None;
    }
    Some(root.join(p))
}

/// Copies `length` bytes at `offset` of `src` to `dst`, hashing them; `Ok(None)` when the file
/// ends before the record does.
fn copy_range(
    src: &Path,
    offset: u64,
    length: u64,
    dst: &Path,
) -> Result<Option<String>, std::io::Error> {
    let mut f = File::open(src)?;
    if f.metadata()?.len() < offset.saturating_add(length) {
        return Ok(None);
    }
    f.seek(SeekFrom::Start(offset))?;
    let mut reader = f.take(length);
    let mut out = File::create(dst)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
    }
    out.flush()?;
    Ok(Some(hex::encode(hasher.finalize())))
}

/// Copies every page's WARC record into `pkg/evidence/` and writes `evidence/index.json`.
/// Problems with single records (missing file, limit) are recorded per page, not fatal.
pub fn copy_records(
    report: &WeeklyReport,
    evidence_root: &Path,
    pkg: &Path,
    limits: &ReportLimits,
) -> Result<Vec<EvidenceItem>, ReportError> {
    let dir = pkg.join(EVIDENCE_DIR);
    std::fs::create_dir_all(&dir).map_err(ReportError::io("create", &dir))?;
    let mut total: u64 = 0;
    let mut items = Vec::new();
    for (case, page) in report.pages() {
        let mut item = EvidenceItem {
            case_id: case.id,
            page_id: page.id,
            file: None,
            source_file: page.warc.as_ref().map(|w| w.file.clone()),
            offset: page.warc.as_ref().map(|w| w.offset),
            length: page.warc.as_ref().map(|w| w.length),
            record_id: page.warc.as_ref().and_then(|w| w.record_id.clone()),
            sha256: None,
            content_sha256: page.content_hash.clone(),
            status: EvidenceStatus::NoRecord,
        };
        if let Some(w) = &page.warc {
            item.status = if w.length > limits.max_record_bytes {
                EvidenceStatus::Skipped(format!(
                    "record of {} bytes exceeds the limit of {} bytes",
                    w.length, limits.max_record_bytes
                ))
            } else if total.saturating_add(w.length) > limits.max_evidence_bytes {
                EvidenceStatus::Skipped(format!(
                    "package evidence limit of {} bytes reached",
                    limits.max_evidence_bytes
                ))
            } else if let Some(src) = resolve(evidence_root, &w.file) {
                let ext = if w.file.ends_with(".gz") {
                    "warc.gz"
                } else {
                    "warc"
                };
                let name = format!("{EVIDENCE_DIR}/page-{}.{ext}", page.id);
                match copy_range(&src, w.offset, w.length, &pkg.join(&name)) {
                    Ok(Some(sha)) => {
                        total += w.length;
                        item.file = Some(name);
                        item.sha256 = Some(sha);
                        EvidenceStatus::Copied
                    }
                    Ok(None) => EvidenceStatus::Missing(format!(
                        "{} ends before the record ({}+{})",
                        src.display(),
                        w.offset,
                        w.length
                    )),
                    Err(e) => EvidenceStatus::Missing(format!("{}: {e}", src.display())),
                }
            } else {
                EvidenceStatus::Skipped(format!("unsafe WARC path {:?}", w.file))
            };
            if let EvidenceStatus::Missing(why) | EvidenceStatus::Skipped(why) = &item.status {
                tracing::warn!(page = page.id, case = case.id, reason = %why, "evidence not copied");
            }
        }
        items.push(item);
    }
    let index = dir.join("index.json");
    let json = serde_json::to_vec_pretty(&items).map_err(|e| ReportError::Render {
        format: "evidence index",
        reason: e.to_string(),
    })?;
    std::fs::write(&index, json).map_err(ReportError::io("write", &index))?;
    Ok(items)
}

/// One file listed in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestEntry {
    /// Path relative to the package, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 hex.
    pub sha256: String,
}

/// SHA-256 hex of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String, ReportError> {
    let mut f = File::open(path).map_err(ReportError::io("read", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(ReportError::io("read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), ReportError> {
    let rd = std::fs::read_dir(dir).map_err(ReportError::io("list", dir))?;
    for entry in rd {
        let entry = entry.map_err(ReportError::io("list", dir))?;
        let path = entry.path();
        let ty = entry.file_type().map_err(ReportError::io("stat", &path))?;
        if ty.is_dir() {
            walk(root, &path, out)?;
        } else if ty.is_file() {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            if rel != MANIFEST {
                out.push((rel, path));
            }
        }
    }
    Ok(())
}

/// Writes `pkg/MANIFEST.sha256` over every other file under `pkg` and returns the entries and
/// the SHA-256 of the manifest itself (stored in `reports.manifest_sha256`).
pub fn write_manifest(pkg: &Path) -> Result<(Vec<ManifestEntry>, String), ReportError> {
    let mut files = Vec::new();
    walk(pkg, pkg, &mut files)?;
    files.sort();
    let mut text = String::new();
    let mut entries = Vec::with_capacity(files.len());
    for (rel, path) in files {
        let sha = sha256_file(&path)?;
        let bytes = std::fs::metadata(&path)
            .map_err(ReportError::io("stat", &path))?
            .len();
        text.push_str(&format!("{sha}  {rel}\n"));
        entries.push(ManifestEntry {
            path: rel,
            bytes,
            sha256: sha,
        });
    }
    let path = pkg.join(MANIFEST);
    std::fs::write(&path, &text).map_err(ReportError::io("write", &path))?;
    Ok((entries, hex::encode(Sha256::digest(text.as_bytes()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_stay_under_the_root() {
        let root = Path::new("/var/kuzet/evidence");
        assert_eq!(
            resolve(root, "2026/11/a.warc.gz"),
            Some(root.join("2026/11/a.warc.gz"))
        );
        assert_eq!(
            resolve(root, "/abs/a.warc"),
            Some(PathBuf::from("/abs/a.warc"))
        );
        assert_eq!(resolve(root, "../../etc/passwd"), None);
        assert_eq!(resolve(root, "a/../../b"), None);
    }

    #[test]
    fn copies_exact_ranges_and_reports_short_files() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("x.warc");
        std::fs::write(&src, b"0123456789").unwrap();
        let dst = dir.path().join("out");
        let sha = copy_range(&src, 3, 4, &dst).unwrap().unwrap();
        assert_eq!(std::fs::read(&dst).unwrap(), b"3456");
        assert_eq!(sha, hex::encode(Sha256::digest(b"3456")));
        assert_eq!(copy_range(&src, 8, 4, &dst).unwrap(), None);
        assert!(copy_range(&dir.path().join("nope"), 0, 1, &dst).is_err());
    }
}
