//! A report package on disk:
//!
//! ```text
//! kuzet-report-2026-W47/
//!   kuzet-2026-W47.html         readable report
//!   kuzet-2026-W47.pdf          the same, printable (Cyrillic and Kazakh letters embedded)
//!   kuzet-2026-W47.csv          one row per page
//!   kuzet-2026-W47.stix.json    STIX 2.1 bundle
//!   evidence/page-<id>.warc     WARC records (byte ranges of the crawler's files)
//!   evidence/index.json         what was copied from where, and what could not be
//!   MANIFEST.sha256             sha256sum -c MANIFEST.sha256
//! ```
//!
//! The package is written into `<dir>.partial` and renamed into place at the end, so a reader
//! (an outbox watcher, a liaison) never sees half a package; an older package of the same name
//! is replaced.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::evidence::{self, EvidenceItem, ManifestEntry};
use super::weekly::WeeklyReport;
use super::{ReportError, ReportLimits, file_stem};

/// A package as written.
#[derive(Debug, Clone, Serialize)]
pub struct Package {
    /// Its directory.
    pub dir: PathBuf,
    /// Every file but the manifest, as listed in the manifest.
    pub files: Vec<ManifestEntry>,
    /// SHA-256 of `MANIFEST.sha256`.
    pub manifest_sha256: String,
    /// Per page: what became of its evidence.
    pub evidence: Vec<EvidenceItem>,
}

impl Package {
    /// Number of WARC records copied.
    pub fn records_copied(&self) -> usize {
        self.evidence
            .iter()
            .filter(|e| e.status == evidence::EvidenceStatus::Copied)
            .count()
    }
}

/// A file rendered in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// File name, e.g. `kuzet-2026-W47.pdf`.
    pub name: String,
    /// Content.
    pub bytes: Vec<u8>,
    /// MIME type.
    pub mime: String,
}

impl RenderedFile {
    fn new(name: String, bytes: Vec<u8>, mime: &str) -> Self {
        RenderedFile {
            name,
            bytes,
            mime: mime.to_string(),
        }
    }
}

/// The four report files of `report` (HTML, PDF, CSV, STIX), rendered in memory; also what the
/// web UI offers liaisons for download.
pub fn render_files(report: &WeeklyReport) -> Result<Vec<RenderedFile>, ReportError> {
    let stem = file_stem(report.week);
    Ok(vec![
        RenderedFile::new(
            format!("{stem}.html"),
            super::html::render(report)?.into_bytes(),
            "text/html; charset=utf-8",
        ),
        RenderedFile::new(
            format!("{stem}.pdf"),
            super::pdf::render(report)?,
            "application/pdf",
        ),
        RenderedFile::new(
            format!("{stem}.csv"),
            super::csv::render(report)?,
            "text/csv; charset=utf-8",
        ),
        RenderedFile::new(
            format!("{stem}.stix.json"),
            super::stix::render(report)?,
            "application/stix+json;version=2.1",
        ),
    ])
}

fn staging_path(dir: &Path) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "package".into());
    name.push(".partial");
    dir.with_file_name(name)
}

/// Writes the whole package for `report` to `dir` (blocking IO: call from a blocking thread).
pub fn write(
    report: &WeeklyReport,
    dir: &Path,
    evidence_root: &Path,
    limits: &ReportLimits,
) -> Result<Package, ReportError> {
    let staging = staging_path(dir);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(ReportError::io("remove", &staging))?;
    }
    std::fs::create_dir_all(&staging).map_err(ReportError::io("create", &staging))?;
    for f in render_files(report)? {
        let path = staging.join(&f.name);
        std::fs::write(&path, f.bytes).map_err(ReportError::io("write", &path))?;
    }
    let evidence = evidence::copy_records(report, evidence_root, &staging, limits)?;
    let (files, manifest_sha256) = evidence::write_manifest(&staging)?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(ReportError::io("replace", dir))?;
    }
    std::fs::rename(&staging, dir).map_err(ReportError::io("rename into place", dir))?;
    Ok(Package {
        dir: dir.to_path_buf(),
        files,
        manifest_sha256,
        evidence,
    })
}
