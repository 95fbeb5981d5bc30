//! Weekly reports for the police partners, their evidence packages, and forwarding.
//!
//! # Layout
//! - [`week`]: ISO weeks (`2026-W47`), their bounds, and "the last complete week".
//! - [`weekly`]: [`weekly::build`] reads the confirmed cases of one week from the database into a
//!   [`weekly::WeeklyReport`] (data only, no IO besides the queries).
//! - Writers, each a pure function of a report: [`html`] (escaped, no scripts), [`pdf`] (an
//!   embedded DejaVu Sans that covers Cyrillic and the Kazakh letters), [`csv`] (formula-safe
//!   cells) and [`stix`] (a STIX 2.1 bundle with deterministic ids).
//! - [`evidence`]: copies each page's WARC record (byte range) into the package and writes
//!   `MANIFEST.sha256` (the `sha256sum` format) over every file of the package.
//! - [`package`]: writes a whole package into a directory (staged, then renamed into place).
//! - [`files`]: the files of each report as recorded in `report_files`, looked up by report and
//!   kind for the liaisons' downloads, and the package as one tar stream.
//! - [`forward`]: delivery channels (an outbox folder, SMTP to partner addresses); each case goes
//!   once per channel and recipient, recorded in `report_deliveries` and the audit log.
//!
//! [`generate`] ties these together for `kuzet report weekly` and the scheduler: build, write the
//! package, record a `reports` row with the manifest's hash and a `report_files` row per file.
//!
//! Crawled text (titles, URLs, notes) is hostile: every writer escapes it for its format, and no
//! output contains live links or scripts.

pub mod csv;
mod error;
pub mod evidence;
pub mod files;
pub mod forward;
pub mod html;
pub mod package;
pub mod pdf;
pub mod stix;
pub mod week;
pub mod weekly;

use std::path::{Path, PathBuf};

use kuzet_storage::Db;
use serde::Serialize;
use sqlx::Row;

pub use error::ReportError;
pub use week::IsoWeek;

use crate::audit;

/// Every limit of report generation, with its default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLimits {
    /// Most cases in one report; more is an error rather than a silently truncated report
    /// (default 20,000).
    pub max_cases: usize,
    /// Most characters of a page or case title kept in the report; longer ones are cut with `…`
    /// (default 300).
    pub max_title_chars: usize,
    /// Most characters of a reviewer's note kept in the report (default 2,000).
    pub max_note_chars: usize,
    /// Largest single WARC record copied into a package, in bytes (default 64 MiB); larger
    /// records are listed as skipped.
    pub max_record_bytes: u64,
    /// Most evidence bytes in one package (default 2 GiB); records past it are listed as skipped.
    pub max_evidence_bytes: u64,
    /// Most bytes attached to one e-mail (default 20 MiB); when the evidence records do not fit,
    /// the mail carries the report files and the manifest only, and says so.
    pub max_attachment_bytes: u64,
    /// The N of the takedown section's "still live after N days" (default 7).
    pub still_live_days: i64,
}

impl Default for ReportLimits {
    fn default() -> Self {
        Self {
            max_cases: 20_000,
            max_title_chars: 300,
            max_note_chars: 2_000,
            max_record_bytes: 64 << 20,
            max_evidence_bytes: 2 << 30,
            max_attachment_bytes: 20 << 20,
            still_live_days: 7,
        }
    }
}

/// What [`generate`] needs besides the database.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// The week to report.
    pub week: IsoWeek,
    /// Offset of the reporting time zone from UTC, in minutes (weeks start on Monday 00:00 there).
    pub utc_offset_minutes: i32,
    /// The package goes into `out_dir/kuzet-report-<week>/` (replaced when it exists).
    pub out_dir: PathBuf,
    /// Relative `pages.warc_file` paths are resolved against this directory.
    pub evidence_dir: PathBuf,
    /// Who asked, for `reports.generated_by` and the audit log (`cli`, `scheduler`, a user name).
    pub actor: String,
    /// Limits.
    pub limits: ReportLimits,
}

/// The outcome of [`generate`].
#[derive(Debug, Clone, Serialize)]
pub struct Generated {
    /// `reports.id` of the new row.
    pub report_id: i64,
    /// The week, e.g. `2026-W47`.
    pub week: String,
    /// Whether the week had ended when the report was built.
    pub complete: bool,
    /// Number of cases in the report.
    pub cases: usize,
    /// The package as written.
    pub package: package::Package,
}

/// Builds the report for `opts.week`, writes its package, and records it in `reports` (with the
/// SHA-256 of `MANIFEST.sha256`) and the audit log. Returns the report too, for forwarding.
pub async fn generate(
    db: &Db,
    opts: &GenerateOptions,
    now_ms: i64,
) -> Result<(weekly::WeeklyReport, Generated), ReportError> {
    let report =
        weekly::build_with(db, opts.week, opts.utc_offset_minutes, now_ms, &opts.limits).await?;
    let dir = opts.out_dir.join(package_dir_name(opts.week));
    let pkg = {
        let report = report.clone();
        let dir = dir.clone();
        let evidence_dir = opts.evidence_dir.clone();
        let limits = opts.limits.clone();
        tokio::task::spawn_blocking(move || package::write(&report, &dir, &evidence_dir, &limits))
            .await
            .map_err(|e| ReportError::Task(e.to_string()))??
    };
    let manifest_path = pkg.dir.join(evidence::MANIFEST);
    let manifest_bytes = std::fs::metadata(&manifest_path)
        .map_err(ReportError::io("stat", &manifest_path))?
        .len();
    let mut tx = db.begin_write().await?;
    let report_id: i64 = sqlx::query(
        "INSERT INTO reports (week, generated_at, generated_by, out_dir, manifest_sha256) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(opts.week.to_string())
    .bind(now_ms)
    .bind(&opts.actor)
    .bind(path_text(&pkg.dir))
    .bind(&pkg.manifest_sha256)
    .fetch_one(&mut *tx)
    .await?
    .try_get("id")?;
    files::record_in(
        &mut tx,
        report_id,
        &pkg.files,
        manifest_bytes,
        &pkg.manifest_sha256,
    )
    .await?;
    audit::record_in(
        &mut tx,
        &opts.actor,
        "report.generate",
        &format!("report:{report_id}"),
        &serde_json::json!({
            "week": opts.week.to_string(),
            "cases": report.cases.iter().map(|c| c.id).collect::<Vec<_>>(),
            "dir": path_text(&pkg.dir),
            "manifest_sha256": pkg.manifest_sha256,
        }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(week = %opts.week, report_id, cases = report.cases.len(), dir = %pkg.dir.display(), "report written");
    let generated = Generated {
        report_id,
        week: opts.week.to_string(),
        complete: report.complete,
        cases: report.cases.len(),
        package: pkg,
    };
    Ok((report, generated))
}

/// The package folder's name for a week: `kuzet-report-2026-W47`.
pub fn package_dir_name(week: IsoWeek) -> String {
    format!("kuzet-report-{week}")
}

/// The base name of the report files for a week: `kuzet-2026-W47` (`.html`, `.pdf`, …).
pub fn file_stem(week: IsoWeek) -> String {
    format!("kuzet-{week}")
}

pub(crate) fn path_text(p: &Path) -> String {
    p.display().to_string()
}

/// Cuts `s` to at most `max` characters, marking a cut with `…`.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// RFC 3339 UTC with milliseconds (`2026-11-16T10:00:00.000Z`), the form STIX requires and the
/// other writers show. Out-of-range times (corrupt rows) print as the epoch.
pub fn rfc3339_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&f)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

/// A short human form in UTC: `2026-11-16 10:00 UTC`.
pub fn human_time(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.format(&f)
        .unwrap_or_else(|_| "1970-01-01 00:00 UTC".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_as_rfc3339_with_millis() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_763_287_200_123), "2025-11-16T10:00:00.123Z");
        assert_eq!(human_time(1_763_287_200_123), "2025-11-16 10:00 UTC");
        // Corrupt rows never panic.
        assert_eq!(rfc3339_ms(i64::MAX), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn clip_counts_characters_not_bytes() {
        assert_eq!(clip("қазақ", 5), "қазақ");
        assert_eq!(clip("қазақстан", 5), "қаза…");
    }
}
