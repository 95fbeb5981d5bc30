//! Volunteers in the field: photo reports from phones, their leads and the clean-up list.
//!
//! # Layout
//! - [`process`]: one photo → checks (bytes, pixels, format), SHA-256, a re-encoded PNG without
//!   EXIF, a perceptual hash, QR payloads and OCR leads. No database, no network.
//! - [`store`]: the tables `volunteer_reports`, `volunteer_photos`, `photo_leads` and
//!   `cleanup_tasks` (this crate is their only writer), outcomes, the clean-up list, figures.
//! - [`accept_photo`]: the upload path tying both together with the evidence files, the audit
//!   log and the crawler (through [`FieldTools`], implemented by the binary).
//!
//! Duplicates are linked, never stored twice: the same file (SHA-256) or a near-identical photo
//! (perceptual hash within [`UploadLimits::near_duplicate_distance`] bits) becomes a row that
//! points at the first photo, with no file of its own.

pub mod process;
pub mod store;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kuzet_storage::Db;
use serde::Serialize;

pub use process::{
    BoxFuture, FieldFacts, FieldTools, PhotoLead, Processed, Rejected, Submission, Submitted,
};

use crate::ReporterError;
use crate::users::User;

/// Limits on uploaded photos, as for crawled images. `Default` gives the documented values.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadLimits {
    /// Largest photo, in bytes. Default 20 MiB.
    pub max_bytes: u64,
    /// Most photos in one upload. Default 10.
    pub max_files: usize,
    /// Widest photo, in pixels. Default 12,000.
    pub max_width: u32,
    /// Tallest photo, in pixels. Default 12,000.
    pub max_height: u32,
    /// Most pixels (`width × height`). Default 50,000,000 (a 48-megapixel phone photo).
    pub max_pixels: u64,
    /// Most memory the decoder may allocate, in bytes. Default 512 MiB.
    pub max_alloc: u64,
    /// Largest whole upload request, in bytes. Default 100 MiB; bigger requests are cut off
    /// with 413 before they are read to the end.
    pub max_request_bytes: usize,
    /// Photos one account may upload per [`Self::rate_window`]. Default 60.
    pub rate_max_photos: u32,
    /// The upload rate window. Default 10 minutes.
    pub rate_window: Duration,
    /// Perceptual-hash distance (bits of 64) at or below which two photos count as the same
    /// wall. Default 6.
    pub near_duplicate_distance: u32,
    /// How many recent photos a new photo is compared with for near-duplicates. Default 5,000.
    pub near_duplicate_scan: i64,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits {
            max_bytes: 20 << 20,
            max_files: 10,
            max_width: 12_000,
            max_height: 12_000,
            max_pixels: 50_000_000,
            max_alloc: 512 << 20,
            max_request_bytes: 100 << 20,
            rate_max_photos: 60,
            rate_window: Duration::from_secs(600),
            near_duplicate_distance: 6,
            near_duplicate_scan: 5_000,
        }
    }
}

/// A district a volunteer can pick, with the point used when a photo has no EXIF position.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct District {
    /// Name as shown and stored.
    pub name: String,
    /// Latitude of its centre.
    pub lat: f64,
    /// Longitude of its centre.
    pub lon: f64,
}

/// Almaty's districts (the default list; configure your own city's).
pub fn default_districts() -> Vec<District> {
    [
        ("Alatau", 43.274, 76.835),
        ("Almaly", 43.253, 76.913),
        ("Auezov", 43.232, 76.855),
        ("Bostandyk", 43.208, 76.918),
        ("Medeu", 43.253, 76.990),
        ("Nauryzbay", 43.190, 76.800),
        ("Turksib", 43.340, 76.980),
        ("Zhetysu", 43.290, 76.945),
    ]
    .into_iter()
    .map(|(n, lat, lon)| District {
        name: n.to_string(),
        lat,
        lon,
    })
    .collect()
}

/// Photos per account per window (in memory, per process).
#[derive(Debug)]
pub struct UploadLimiter {
    max: u32,
    window: Duration,
    map: Mutex<HashMap<i64, (u32, Instant)>>,
}

impl UploadLimiter {
    /// `max` photos per `window` per user.
    pub fn new(max: u32, window: Duration) -> UploadLimiter {
        UploadLimiter {
            max,
            window,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one photo from `user`'s allowance; `false` when it is used up.
    pub fn take(&self, user: i64) -> bool {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let e = map.entry(user).or_insert((0, Instant::now()));
        if e.1.elapsed() >= self.window {
            *e = (0, Instant::now());
        }
        if e.0 >= self.max {
            return false;
        }
        e.0 += 1;
        true
    }
}

/// The result of one photo of an upload, as shown to the volunteer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoResult {
    /// The photo's row (absent when it was refused before being recorded).
    pub id: Option<i64>,
    /// The file name the phone sent.
    pub file_name: String,
    /// `processed`, `duplicate`, `rejected` or `limited`.
    pub status: String,
    /// Short words: "QR read: sent for checking", "nothing found", the reason for a refusal.
    pub outcome: String,
    /// How many leads were read.
    pub leads: usize,
}

/// Everything [`accept_photo`] needs besides the photo.
#[derive(Clone)]
pub struct Intake {
    /// The database.
    pub db: Db,
    /// Evidence directory (originals under `volunteer/`).
    pub evidence_dir: PathBuf,
    /// Limits.
    pub limits: UploadLimits,
    /// EXIF, OCR and the crawler, when wired.
    pub tools: Option<Arc<dyn FieldTools>>,
}

fn rel_path(sha: &str, suffix: &str) -> String {
    format!("volunteer/{}/{sha}{suffix}", &sha[..2])
}

fn write_file(root: &Path, rel: &str, bytes: &[u8]) -> Result<(), ReporterError> {
    let path = root.join(rel);
    let io = |e| ReporterError::Evidence {
        path: path.display().to_string(),
        source: e,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    if !path.exists() {
        let tmp = path.with_extension("part");
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
    }
    Ok(())
}

/// Handles one uploaded photo of report `report`: duplicate check, processing, evidence files,
/// rows, clean-up task, audit entry (with the file hash), and the leads handed to the crawler.
pub async fn accept_photo(
    intake: &Intake,
    user: &User,
    report: &store::Report,
    file_name: &str,
    bytes: Vec<u8>,
) -> Result<PhotoResult, ReporterError> {
    let db = &intake.db;
    let sha = process::sha256_hex(&bytes);
    let size = bytes.len() as u64;
    let mut new = store::NewPhoto {
        report_id: report.id,
        file_name: file_name.chars().take(200).collect(),
        sha256: sha.clone(),
        bytes: size,
        ..store::NewPhoto::default()
    };
    if let Some(first) = store::same_file(db, &sha).await? {
        new.status = "duplicate";
        new.duplicate_of = Some(first);
        new.duplicate_kind = Some("same_file");
        new.outcome = format!("already reported: the same photo as photo {first}");
        return store::record(db, &user.name, new, &[], None).await;
    }
    let limits = intake.limits.clone();
    let tools = intake.tools.clone();
    let processed = tokio::task::spawn_blocking(move || {
        process::process(&bytes, &limits, tools.as_deref()).map(|p| (p, bytes))
    })
    .await
    .map_err(|_| ReporterError::Invalid("photo processing failed".into()))?;
    let (p, bytes) = match processed {
        Ok(v) => v,
        Err(why) => {
            new.status = "rejected";
            new.outcome = format!("refused: {why}");
            new.error = Some(why.to_string());
            return store::record(db, &user.name, new, &[], None).await;
        }
    };
    new.width = Some(i64::from(p.width));
    new.height = Some(i64::from(p.height));
    new.phash = Some(p.phash.clone());
    let district = intake_district(report);
    new.gps = p.facts.gps.or(district);
    new.taken_at = p.facts.taken_at;
    if let Some(first) = store::near_duplicate(
        db,
        &p.phash,
        intake.limits.near_duplicate_distance,
        intake.limits.near_duplicate_scan,
    )
    .await?
    {
        new.status = "duplicate";
        new.duplicate_of = Some(first);
        new.duplicate_kind = Some("near");
        new.outcome = format!("already reported: the same wall as photo {first}");
        return store::record(db, &user.name, new, &[], None).await;
    }
    let original = rel_path(&sha, "");
    let view = rel_path(&sha, ".png");
    let root = intake.evidence_dir.clone();
    let (o2, v2, png) = (original.clone(), view.clone(), p.view_png.clone());
    tokio::task::spawn_blocking(move || -> Result<(), ReporterError> {
        write_file(&root, &o2, &bytes)?;
        write_file(&root, &v2, &png)
    })
    .await
    .map_err(|_| ReporterError::Invalid("storing the photo failed".into()))??;
    new.original_path = Some(original.clone());
    new.view_path = Some(view);
    new.status = "processed";
    new.outcome = outcome_for(&p.leads);
    let advertises = p
        .leads
        .iter()
        .map(|l| l.value.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let task = (!p.leads.is_empty()).then_some(advertises);
    let result = store::record(db, &user.name, new.clone(), &p.leads, task).await?;
    let payloads: Vec<(usize, String)> = p
        .leads
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.payload.clone().map(|pl| (i, pl)))
        .collect();
    if let (Some(tools), Some(id)) = (&intake.tools, result.id)
        && !payloads.is_empty()
    {
        let submission = Submission {
            locator: format!("volunteer-photo:{id}"),
            path: Some(original),
            sha256: sha,
            width: i64::from(p.width),
            height: i64::from(p.height),
            gps: new.gps,
            taken_at: new.taken_at,
            payloads: payloads.iter().map(|(_, pl)| pl.clone()).collect(),
        };
        match tools.submit(submission).await {
            Ok(sub) => {
                let urls: Vec<(String, Option<String>)> = payloads
                    .iter()
                    .zip(sub.urls)
                    .map(|((_, pl), u)| (pl.clone(), u))
                    .collect();
                store::set_submitted(db, id, sub.image_id, &urls).await?;
            }
            Err(e) => tracing::warn!(photo = id, error = %e, "leads not handed to the crawler"),
        }
    }
    Ok(result)
}

fn intake_district(report: &store::Report) -> Option<(f64, f64)> {
    report.district_point
}

fn outcome_for(leads: &[PhotoLead]) -> String {
    if leads.is_empty() {
        return "nothing found".to_string();
    }
    let qr = leads.iter().filter(|l| l.source == "qr").count();
    let ocr = leads.len() - qr;
    match (qr, ocr) {
        (0, _) => "text read (handle or phone): sent for checking".to_string(),
        (_, 0) => "QR read: sent for checking".to_string(),
        _ => "QR and text read: sent for checking".to_string(),
    }
}
