//! The files of generated reports as recorded in `report_files`, for the liaisons' downloads.
//!
//! [`record_in`] stores one row per file of a package when the report is generated (kind, path
//! relative to the package, content type, size, SHA-256). Downloads look files up by report id and
//! kind only, never by a path taken from a request, and [`resolve`] refuses any recorded name that
//! would leave the package directory. The evidence package is served as one uncompressed `ustar`
//! stream of every recorded file plus `MANIFEST.sha256` ([`tar_header`], [`tar_padding`]).

use std::path::{Component, Path, PathBuf};

use kuzet_storage::Db;
use serde::Serialize;
use sqlx::Row;

use super::ReportError;
use super::evidence::{MANIFEST, ManifestEntry};
use crate::ReporterError;

/// What a download link may ask for: one of the four report files or the whole package.
pub const DOWNLOAD_KINDS: [&str; 5] = ["html", "pdf", "csv", "stix", "package"];

/// Content type of the package download.
pub const PACKAGE_CONTENT_TYPE: &str = "application/x-tar";

/// The kind and content type of a package file, from its path inside the package.
pub fn classify(path: &str) -> (&'static str, &'static str) {
    if path == MANIFEST {
        ("manifest", "text/plain; charset=utf-8")
    } else if path.contains('/') {
        if path.ends_with(".json") {
            ("evidence", "application/json")
        } else {
            ("evidence", "application/warc")
        }
    } else if path.ends_with(".stix.json") {
        ("stix", "application/stix+json;version=2.1")
    } else if path.ends_with(".html") {
        ("html", "text/html; charset=utf-8")
    } else if path.ends_with(".pdf") {
        ("pdf", "application/pdf")
    } else if path.ends_with(".csv") {
        ("csv", "text/csv; charset=utf-8")
    } else {
        ("other", "application/octet-stream")
    }
}

/// Records every file of a package (and its manifest) for `report_id`.
pub(crate) async fn record_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    report_id: i64,
    files: &[ManifestEntry],
    manifest_bytes: u64,
    manifest_sha256: &str,
) -> Result<(), ReportError> {
    let manifest = ManifestEntry {
        path: MANIFEST.to_string(),
        bytes: manifest_bytes,
        sha256: manifest_sha256.to_string(),
    };
    for f in files.iter().chain(std::iter::once(&manifest)) {
        let (kind, ct) = classify(&f.path);
        sqlx::query(
            "INSERT INTO report_files (report_id, kind, name, content_type, bytes, sha256) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(report_id)
        .bind(kind)
        .bind(&f.path)
        .bind(ct)
        .bind(i64::try_from(f.bytes).unwrap_or(i64::MAX))
        .bind(&f.sha256)
        .execute(&mut **tx)
        .await
        .map_err(ReporterError::from)?;
    }
    Ok(())
}

/// One recorded file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportFile {
    /// `html`, `pdf`, `csv`, `stix`, `evidence`, `manifest`.
    pub kind: String,
    /// Path inside the package, `/`-separated.
    pub name: String,
    /// MIME type served.
    pub content_type: String,
    /// Size in bytes when written.
    pub bytes: i64,
    /// SHA-256 hex when written.
    pub sha256: String,
}

/// A generated report as listed for liaisons.
#[derive(Debug, Clone, Serialize)]
pub struct ReportEntry {
    /// `reports.id`.
    pub id: i64,
    /// ISO week, e.g. `2026-W47`.
    pub week: String,
    /// When, ms since the epoch.
    pub generated_at: i64,
    /// Who asked (`cli`, `schedule:…`, a user name).
    pub generated_by: String,
    /// The package directory.
    pub out_dir: String,
    /// SHA-256 of `MANIFEST.sha256`.
    pub manifest_sha256: String,
    /// Files recorded for it (empty for reports written before files were recorded).
    pub files: Vec<ReportFile>,
}

impl ReportEntry {
    /// The recorded file of `kind` (`html`, `pdf`, `csv`, `stix`), if any.
    pub fn file(&self, kind: &str) -> Option<&ReportFile> {
        self.files.iter().find(|f| f.kind == kind)
    }
    /// Number of WARC records in the package.
    pub fn records(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.kind == "evidence" && f.name.ends_with(".warc"))
            .count()
    }
}

fn entry(r: &sqlx::any::AnyRow) -> Result<ReportEntry, ReporterError> {
    Ok(ReportEntry {
        id: r.try_get("id")?,
        week: r.try_get("week")?,
        generated_at: r.try_get("generated_at")?,
        generated_by: r.try_get("generated_by")?,
        out_dir: r.try_get("out_dir")?,
        manifest_sha256: r.try_get("manifest_sha256")?,
        files: Vec::new(),
    })
}

async fn files_of(db: &Db, id: i64) -> Result<Vec<ReportFile>, ReporterError> {
    sqlx::query(
        "SELECT kind, name, content_type, bytes, sha256 FROM report_files \
         WHERE report_id = $1 ORDER BY name",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(ReportFile {
            kind: r.try_get("kind")?,
            name: r.try_get("name")?,
            content_type: r.try_get("content_type")?,
            bytes: r.try_get("bytes")?,
            sha256: r.try_get("sha256")?,
        })
    })
    .collect()
}

/// The newest `limit` reports with their files, newest first.
pub async fn list(db: &Db, limit: i64) -> Result<Vec<ReportEntry>, ReporterError> {
    let rows = sqlx::query(
        "SELECT id, week, generated_at, generated_by, out_dir, manifest_sha256 FROM reports \
         ORDER BY id DESC LIMIT $1",
    )
    .bind(limit.max(0))
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut e = entry(r)?;
        e.files = files_of(db, e.id).await?;
        out.push(e);
    }
    Ok(out)
}

/// One report with its files.
pub async fn get(db: &Db, id: i64) -> Result<ReportEntry, ReporterError> {
    let r = sqlx::query(
        "SELECT id, week, generated_at, generated_by, out_dir, manifest_sha256 FROM reports \
         WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(ReporterError::NotFound { what: "report", id })?;
    let mut e = entry(&r)?;
    e.files = files_of(db, id).await?;
    Ok(e)
}

/// The file `name` of the package in `dir`, when `name` is a plain relative path that stays
/// inside it (no `..`, no root, no drive prefix, not empty).
pub fn resolve(dir: &Path, name: &str) -> Option<PathBuf> {
    let rel = Path::new(name);
    if name.is_empty()
        || name.contains('\\')
        || !rel.components().all(|c| matches!(c, Component::Normal(_)))
    {
        return None;
    }
    Some(dir.join(rel))
}

/// Whether the package on disk is still the one recorded for the report: the SHA-256 of its
/// `MANIFEST.sha256` equals the recorded one (a newer report of the same week replaces the
/// folder). Blocking IO.
pub fn is_current(entry: &ReportEntry) -> bool {
    super::evidence::sha256_file(&Path::new(&entry.out_dir).join(MANIFEST))
        .is_ok_and(|sha| sha == entry.manifest_sha256)
}

/// A `ustar` header for a regular file `name` (at most 100 bytes, or 255 split at a `/` into
/// prefix and name) of `size` bytes. `None` when the name does not fit or the size needs more than
/// 11 octal digits (8 GiB).
pub fn tar_header(name: &str, size: u64, mtime_secs: u64) -> Option<[u8; 512]> {
    let (prefix, base) = if name.len() <= 100 {
        ("", name)
    } else {
        let cut = name[..name.len().min(156)].rfind('/')?;
        (&name[..cut], &name[cut + 1..])
    };
    if base.len() > 100 || base.is_empty() || prefix.len() > 155 || size >= 1 << 33 {
        return None;
    }
    let mut h = [0u8; 512];
    h[..base.len()].copy_from_slice(base.as_bytes());
    let octal = |h: &mut [u8; 512], at: usize, width: usize, v: u64| {
        let s = format!("{v:0w$o}", w = width - 1);
        h[at..at + width - 1].copy_from_slice(s.as_bytes());
    };
    octal(&mut h, 100, 8, 0o644);
    octal(&mut h, 108, 8, 0);
    octal(&mut h, 116, 8, 0);
    octal(&mut h, 124, 12, size);
    octal(&mut h, 136, 12, mtime_secs.min(0o77777777777));
    h[148..156].copy_from_slice(b"        ");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    Some(h)
}

/// Zero bytes after a file of `size` bytes up to the next 512-byte block.
pub fn tar_padding(size: u64) -> usize {
    ((512 - size % 512) % 512) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_leave_the_package_are_refused() {
        let d = Path::new("/srv/reports/kuzet-report-2026-W47");
        assert_eq!(
            resolve(d, "evidence/page-1.warc"),
            Some(d.join("evidence/page-1.warc"))
        );
        for bad in [
            "",
            "../x",
            "evidence/../../x",
            "/etc/passwd",
            "./x",
            "a\\..\\b",
        ] {
            assert_eq!(resolve(d, bad), None, "{bad}");
        }
    }

    #[test]
    fn files_are_classified_by_their_place_in_the_package() {
        assert_eq!(classify("kuzet-2026-W47.pdf").0, "pdf");
        assert_eq!(classify("kuzet-2026-W47.stix.json").0, "stix");
        assert_eq!(classify("kuzet-2026-W47.html").0, "html");
        assert_eq!(classify("kuzet-2026-W47.csv").0, "csv");
        assert_eq!(classify("evidence/page-3.warc").0, "evidence");
        assert_eq!(classify("evidence/index.json").0, "evidence");
        assert_eq!(classify(MANIFEST).0, "manifest");
    }

    #[test]
    fn tar_headers_are_valid_ustar_that_tar_lists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tar");
        let mut out = Vec::new();
        let long = format!("kuzet-report-2026-W47/{}/page-1.warc", "e".repeat(90));
        for (name, body) in [
            ("kuzet-report-2026-W47/a.csv", &b"x,y\n"[..]),
            (long.as_str(), &[7u8; 600][..]),
        ] {
            out.extend_from_slice(&tar_header(name, body.len() as u64, 1_700_000_000).unwrap());
            out.extend_from_slice(body);
            out.extend(std::iter::repeat_n(0, tar_padding(body.len() as u64)));
        }
        out.extend_from_slice(&[0u8; 1024]);
        assert_eq!(out.len() % 512, 0);
        std::fs::write(&path, &out).unwrap();
        match std::process::Command::new("tar")
            .arg("-tvf")
            .arg(&path)
            .output()
        {
            Ok(o) => {
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                let listing = String::from_utf8_lossy(&o.stdout);
                assert!(listing.contains("kuzet-report-2026-W47/a.csv"), "{listing}");
                assert!(listing.contains(&long), "{listing}");
                assert!(listing.contains(" 600 "), "{listing}");
            }
            Err(e) => eprintln!("SKIPPED (tar not found: {e}); header checked only"),
        }
        // The checksum field holds the sum of the header with the field as spaces.
        let h = tar_header("a", 1, 0).unwrap();
        let mut blank = h;
        blank[148..156].copy_from_slice(b"        ");
        let sum: u32 = blank.iter().map(|&b| u32::from(b)).sum();
        assert_eq!(&h[148..154], format!("{sum:06o}").as_bytes());
        assert!(tar_header(&"n".repeat(101), 1, 0).is_none());
        assert!(tar_header("a", 1 << 33, 0).is_none());
    }
}
