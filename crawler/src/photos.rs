//! Photo folders as a source: walk a folder, read EXIF GPS position and time (`kamadak-exif`), hand
//! each image's bytes to a decoder (QR, from the classifier crate, plugged in by the caller) and turn
//! what was found into leads with provenance (file, SHA-256, time taken).
//!
//! The walk does not follow symbolic links, skips files above [`PhotoLimits::max_file_bytes`] and
//! stops after [`PhotoLimits::max_files`] images; unreadable files and broken EXIF are recorded per
//! file, never fatal. A decoder that panics on a hostile image is contained and recorded as an error.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use exif::{In, Tag, Value};
use sha2::{Digest, Sha256};

/// Errors that stop a folder scan (per-file problems are recorded in [`Photo::error`]).
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The folder cannot be read.
    #[error("cannot read photo folder {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
}

/// Limits of a scan. `Default` gives the documented values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoLimits {
    /// Largest image file read. Default 40 MiB.
    pub max_file_bytes: u64,
    /// Most images handled. Default 100 000.
    pub max_files: usize,
    /// Deepest sub-folder level. Default 16.
    pub max_depth: usize,
    /// File extensions treated as images (lower case). Default jpg, jpeg, png, webp, heic, heif, tif,
    /// tiff, gif, bmp.
    pub extensions: Vec<String>,
}

impl Default for PhotoLimits {
    fn default() -> Self {
        PhotoLimits {
            max_file_bytes: 40 * 1024 * 1024,
            max_files: 100_000,
            max_depth: 16,
            extensions: [
                "jpg", "jpeg", "png", "webp", "heic", "heif", "tif", "tiff", "gif", "bmp",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }
}

/// Decodes machine-readable payloads (QR codes) from image bytes. The classifier's QR module
/// implements it; any `Fn(&[u8]) -> Vec<String>` does too.
pub trait ImageDecoder: Send + Sync {
    /// Every payload found in the image (empty when none or when the image cannot be decoded).
    fn decode(&self, image: &[u8]) -> Vec<String>;
}

impl<F: Fn(&[u8]) -> Vec<String> + Send + Sync> ImageDecoder for F {
    fn decode(&self, image: &[u8]) -> Vec<String> {
        self(image)
    }
}

/// A GPS position in decimal degrees (WGS 84; south and west negative).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpsPosition {
    /// Latitude.
    pub latitude: f64,
    /// Longitude.
    pub longitude: f64,
    /// Altitude in metres, if recorded.
    pub altitude_m: Option<f64>,
}

/// The EXIF facts kuzet uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExifFacts {
    /// GPS position.
    pub gps: Option<GpsPosition>,
    /// `DateTimeOriginal` (or `DateTime`) as `YYYY-MM-DDTHH:MM:SS`, with `OffsetTimeOriginal` appended
    /// when present; camera-local time otherwise.
    pub taken_at: Option<String>,
    /// `GPSDateStamp` + `GPSTimeStamp` as `YYYY-MM-DDTHH:MM:SSZ` (UTC by definition).
    pub gps_time: Option<String>,
    /// Camera make and model.
    pub camera: Option<String>,
}

/// Reads EXIF from image bytes (JPEG, PNG, WebP, HEIF, TIFF). `None` when there is none or it is
/// unreadable.
pub fn read_exif(bytes: &[u8]) -> Option<ExifFacts> {
    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(bytes))
        .ok()?;
    let field = |tag| exif.get_field(tag, In::PRIMARY);
    let ascii = |tag| {
        field(tag).and_then(|f| match &f.value {
            Value::Ascii(v) => v
                .first()
                .map(|s| String::from_utf8_lossy(s).trim().to_string()),
            _ => None,
        })
    };
    let rationals = |tag| {
        field(tag).and_then(|f| match &f.value {
            Value::Rational(v) => Some(v.iter().map(|r| r.to_f64()).collect::<Vec<f64>>()),
            _ => None,
        })
    };
    let dms = |v: Vec<f64>| -> Option<f64> {
        let d = v.first().copied()?
            + v.get(1).copied().unwrap_or(0.0) / 60.0
            + v.get(2).copied().unwrap_or(0.0) / 3600.0;
        d.is_finite().then_some(d)
    };
    let gps = (|| {
        let mut lat = dms(rationals(Tag::GPSLatitude)?)?;
        let mut lon = dms(rationals(Tag::GPSLongitude)?)?;
        if ascii(Tag::GPSLatitudeRef).is_some_and(|r| r.eq_ignore_ascii_case("S")) {
            lat = -lat;
        }
        if ascii(Tag::GPSLongitudeRef).is_some_and(|r| r.eq_ignore_ascii_case("W")) {
            lon = -lon;
        }
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return None;
        }
        let below = field(Tag::GPSAltitudeRef).and_then(|f| f.value.get_uint(0)) == Some(1);
        let altitude_m = rationals(Tag::GPSAltitude)
            .and_then(|v| v.first().copied())
            .filter(|a| a.is_finite())
            .map(|a| if below { -a } else { a });
        Some(GpsPosition {
            latitude: lat,
            longitude: lon,
            altitude_m,
        })
    })();
    let taken_at = [Tag::DateTimeOriginal, Tag::DateTime]
        .into_iter()
        .find_map(|tag| {
            let f = field(tag)?;
            let Value::Ascii(v) = &f.value else {
                return None;
            };
            let dt = exif::DateTime::from_ascii(v.first()?).ok()?;
            let mut s = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second
            );
            if let Some(off) = ascii(Tag::OffsetTimeOriginal)
                .filter(|o| o.len() == 6 && (o.starts_with('+') || o.starts_with('-')))
            {
                s.push_str(&off);
            }
            Some(s)
        });
    let gps_time = (|| {
        let date = ascii(Tag::GPSDateStamp)?; // "YYYY:MM:DD"
        let t = rationals(Tag::GPSTimeStamp)?;
        let (h, m, s) = (*t.first()?, *t.get(1)?, *t.get(2)?);
        if date.len() != 10
            || !(0.0..24.0).contains(&h)
            || !(0.0..60.0).contains(&m)
            || !(0.0..61.0).contains(&s)
        {
            return None;
        }
        Some(format!(
            "{}T{:02}:{:02}:{:02}Z",
            date.replace(':', "-"),
            h as u32,
            m as u32,
            s as u32
        ))
    })();
    let camera = match (ascii(Tag::Make), ascii(Tag::Model)) {
        (Some(a), Some(b)) => Some(format!("{a} {b}")),
        (a, b) => a.or(b),
    };
    Some(ExifFacts {
        gps,
        taken_at,
        gps_time,
        camera,
    })
}

/// One image of the folder.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Photo {
    /// The file.
    pub path: PathBuf,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    /// File size in bytes.
    pub bytes: u64,
    /// EXIF facts, when the file has EXIF.
    pub exif: Option<ExifFacts>,
    /// Payloads the decoder found.
    pub codes: Vec<String>,
    /// Why the file could not be handled (read error, too large, decoder panic).
    pub error: Option<String>,
}

/// What a lead from a photo is.
#[derive(Debug, Clone, PartialEq)]
pub enum PhotoLeadKind {
    /// A decoded payload (a URL, `t.me/…`, a handle, a wallet: the frontier and the classifier decide).
    Payload(String),
    /// Where the photo was taken.
    Position(GpsPosition),
}

/// A lead with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoLead {
    /// The lead.
    pub kind: PhotoLeadKind,
    /// The photo file.
    pub path: PathBuf,
    /// Its SHA-256.
    pub sha256: String,
    /// When it was taken (EXIF), if known.
    pub taken_at: Option<String>,
}

/// The result of a folder scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhotoScan {
    /// Every image file seen, in path order.
    pub photos: Vec<Photo>,
    /// Leads from payloads and positions.
    pub leads: Vec<PhotoLead>,
    /// Whether [`PhotoLimits::max_files`] or `max_depth` cut the walk.
    pub truncated: bool,
}

/// Scans `dir` recursively.
pub fn scan_folder(
    dir: &Path,
    limits: &PhotoLimits,
    decoder: &dyn ImageDecoder,
) -> Result<PhotoScan, PhotoError> {
    let mut files = Vec::new();
    let mut truncated = false;
    collect(dir, 0, limits, &mut files, &mut truncated, true)?;
    files.sort();
    if files.len() > limits.max_files {
        files.truncate(limits.max_files);
        truncated = true;
    }
    let mut scan = PhotoScan {
        truncated,
        ..PhotoScan::default()
    };
    for path in files {
        let photo = scan_file(&path, limits, decoder);
        let taken_at = photo
            .exif
            .as_ref()
            .and_then(|e| e.taken_at.clone().or(e.gps_time.clone()));
        let lead = |kind| PhotoLead {
            kind,
            path: photo.path.clone(),
            sha256: photo.sha256.clone(),
            taken_at: taken_at.clone(),
        };
        for code in &photo.codes {
            scan.leads.push(lead(PhotoLeadKind::Payload(code.clone())));
        }
        if let Some(gps) = photo.exif.as_ref().and_then(|e| e.gps) {
            scan.leads.push(lead(PhotoLeadKind::Position(gps)));
        }
        scan.photos.push(photo);
    }
    Ok(scan)
}

/// Handles one image file.
pub fn scan_file(path: &Path, limits: &PhotoLimits, decoder: &dyn ImageDecoder) -> Photo {
    let mut photo = Photo {
        path: path.to_path_buf(),
        ..Photo::default()
    };
    let size = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) => {
            photo.error = Some(format!("cannot stat: {e}"));
            return photo;
        }
    };
    photo.bytes = size;
    if size > limits.max_file_bytes {
        photo.error = Some(format!(
            "file of {size} bytes exceeds the {} byte limit",
            limits.max_file_bytes
        ));
        return photo;
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            photo.error = Some(format!("cannot read: {e}"));
            return photo;
        }
    };
    photo.sha256 = hex::encode(Sha256::digest(&bytes));
    photo.exif = read_exif(&bytes);
    match catch_unwind(AssertUnwindSafe(|| decoder.decode(&bytes))) {
        Ok(codes) => photo.codes = codes,
        Err(_) => photo.error = Some("image decoder panicked".to_string()),
    }
    photo
}

fn collect(
    dir: &Path,
    depth: usize,
    limits: &PhotoLimits,
    out: &mut Vec<PathBuf>,
    truncated: &mut bool,
    top: bool,
) -> Result<(), PhotoError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) if top => {
            return Err(PhotoError::Folder {
                path: dir.to_path_buf(),
                source,
            });
        }
        Err(_) => return Ok(()),
    };
    for entry in entries.flatten() {
        if out.len() > limits.max_files {
            *truncated = true;
            return Ok(());
        }
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if depth + 1 > limits.max_depth {
                *truncated = true;
                continue;
            }
            collect(&path, depth + 1, limits, out, truncated, false)?;
        } else if meta.is_file() {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            if ext.is_some_and(|e| limits.extensions.contains(&e)) {
                out.push(path);
            }
        }
    }
    Ok(())
}
