//! One uploaded photo → hashes, a re-encoded copy without EXIF, QR payloads and OCR leads.
//!
//! [`process`] does no database or network IO: bytes in, [`Processed`] or [`Rejected`] out. What
//! needs the crawler's tools (EXIF reading, the Tesseract process) comes in through
//! [`FieldTools`], which the binary implements; without it the photo is still checked,
//! re-encoded, hashed and scanned for QR codes.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader};
use image_hasher::{HashAlg, HasherConfig, ImageHash};
use kuzet_classifier::indicators::{self, IndicatorKind};
use kuzet_classifier::qr::{self, QrOptions};
use sha2::{Digest, Sha256};

use super::UploadLimits;

/// Position and time read from a photo (EXIF), and text read from it (OCR).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldFacts {
    /// Latitude and longitude in decimal degrees.
    pub gps: Option<(f64, f64)>,
    /// When it was taken, ms since the epoch (UTC; camera-local time read as UTC when the
    /// photo names no offset).
    pub taken_at: Option<i64>,
    /// Text read by OCR, when OCR is available.
    pub ocr_text: Option<String>,
}

/// What the reporter asks of the crawler's side for field photos; the binary implements it.
pub trait FieldTools: Send + Sync {
    /// EXIF position and time, and OCR text when an OCR engine is available. Blocking.
    fn facts(&self, bytes: &[u8]) -> FieldFacts;
    /// Hands a processed photo's payloads to the crawler: stores it as an image under a
    /// `photos` source named `locator` and queues the fetchable payloads. Returns the image id
    /// and, per payload, the canonical URL queued (if fetchable).
    fn submit(&self, submission: Submission) -> BoxFuture<Result<Submitted, String>>;
}

/// A boxed future (the trait is object-safe).
pub type BoxFuture<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send>>;

/// A photo's leads for the crawler, with provenance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Submission {
    /// `volunteer-photo:<id>`.
    pub locator: String,
    /// Evidence path of the original.
    pub path: Option<String>,
    /// SHA-256 of the original.
    pub sha256: String,
    /// Pixel size.
    pub width: i64,
    /// Pixel size.
    pub height: i64,
    /// Position (EXIF, or the district's centre).
    pub gps: Option<(f64, f64)>,
    /// Time taken.
    pub taken_at: Option<i64>,
    /// Payloads to follow, one per lead that has any.
    pub payloads: Vec<String>,
}

/// What the crawler stored for a [`Submission`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Submitted {
    /// The crawler's `images` row.
    pub image_id: i64,
    /// Per payload (same order), the canonical URL queued, if any.
    pub urls: Vec<Option<String>>,
}

/// One lead read from a photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoLead {
    /// `url`, `onion`, `telegram`, `phone`, `wallet`, `email`, `text`, …
    pub kind: String,
    /// The value as read (QR payload) or normalised (OCR indicator).
    pub value: String,
    /// `qr` or `ocr`.
    pub source: &'static str,
    /// What to hand the crawler for it, if it can be followed.
    pub payload: Option<String>,
}

/// A photo that passed the checks.
#[derive(Debug, Clone)]
pub struct Processed {
    /// SHA-256 hex of the file as uploaded.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Pixel size.
    pub width: u32,
    /// Pixel size.
    pub height: u32,
    /// A fresh PNG of the pixels: no EXIF, no device data, nothing but pixels.
    pub view_png: Vec<u8>,
    /// Perceptual (gradient) hash as hex, for near-duplicates.
    pub phash: String,
    /// Leads, QR first.
    pub leads: Vec<PhotoLead>,
    /// EXIF position and time.
    pub facts: FieldFacts,
}

/// Why a photo was refused; the message is shown to the volunteer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// Over the byte limit.
    #[error("file is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// Not an image kuzet reads (judged by content, not by name).
    #[error("not a photo (JPEG, PNG, WebP, GIF or BMP expected)")]
    NotAnImage,
    /// Over a pixel limit (a decompression bomb, or simply too big).
    #[error("image is {width}×{height} pixels, more than the limit")]
    TooManyPixels {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
    },
    /// Damaged or truncated.
    #[error("the photo is damaged or incomplete ({0})")]
    Damaged(String),
}

/// SHA-256 hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks, decodes within `limits`, re-encodes and reads one photo. Never panics on hostile
/// input (a panic in a decoder is caught and reported as damage).
pub fn process(
    bytes: &[u8],
    limits: &UploadLimits,
    tools: Option<&dyn FieldTools>,
) -> Result<Processed, Rejected> {
    let len = bytes.len() as u64;
    if len > limits.max_bytes {
        return Err(Rejected::TooLarge {
            max: limits.max_bytes,
        });
    }
    let img = std::panic::catch_unwind(|| decode(bytes, limits))
        .map_err(|_| Rejected::Damaged("decoder failed".into()))??;
    let (width, height) = (img.width(), img.height());
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png)
        .map_err(|e| Rejected::Damaged(e.to_string()))?;
    let phash = perceptual_hash(&img).to_base64();
    let mut leads = Vec::new();
    let qr_opts = QrOptions {
        limits: qr::Limits {
            max_bytes: usize::try_from(limits.max_bytes).unwrap_or(usize::MAX),
            max_width: limits.max_width,
            max_height: limits.max_height,
            max_pixels: limits.max_pixels,
        },
        ..QrOptions::default()
    };
    if let Ok(found) = qr::decode_image(bytes, &qr_opts) {
        for code in found.codes {
            let kind = qr::leads(&code.text)
                .first()
                .map(|l| l.kind.as_str())
                .unwrap_or("text");
            leads.push(PhotoLead {
                kind: kind.to_string(),
                payload: (kind != "dangerous_scheme").then(|| code.text.clone()),
                value: code.text,
                source: "qr",
            });
        }
    }
    let facts = tools.map(|t| t.facts(bytes)).unwrap_or_default();
    if let Some(text) = &facts.ocr_text {
        leads.extend(ocr_leads(text, &leads));
    }
    Ok(Processed {
        sha256: sha256_hex(bytes),
        bytes: len,
        width,
        height,
        view_png: out.into_inner(),
        phash,
        leads,
        facts,
    })
}

fn decode(bytes: &[u8], limits: &UploadLimits) -> Result<DynamicImage, Rejected> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| Rejected::NotAnImage)?;
    match reader.format() {
        Some(
            ImageFormat::Jpeg
            | ImageFormat::Png
            | ImageFormat::WebP
            | ImageFormat::Gif
            | ImageFormat::Bmp,
        ) => {}
        _ => return Err(Rejected::NotAnImage),
    }
    let (w, h) = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| Rejected::NotAnImage)?
        .into_dimensions()
        .map_err(|e| Rejected::Damaged(e.to_string()))?;
    if w > limits.max_width
        || h > limits.max_height
        || u64::from(w) * u64::from(h) > limits.max_pixels
    {
        return Err(Rejected::TooManyPixels {
            width: w,
            height: h,
        });
    }
    let mut reader = reader;
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_width);
    l.max_image_height = Some(limits.max_height);
    l.max_alloc = Some(limits.max_alloc);
    reader.limits(l);
    reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => Rejected::TooManyPixels {
            width: w,
            height: h,
        },
        e => Rejected::Damaged(e.to_string()),
    })
}

/// The gradient (dHash-style) perceptual hash, 64 bits.
pub fn perceptual_hash(img: &DynamicImage) -> ImageHash {
    HasherConfig::new()
        .hash_alg(HashAlg::Gradient)
        .hash_size(8, 8)
        .to_hasher()
        .hash_image(img)
}

/// Hamming distance between two stored hashes; `None` when either is malformed.
pub fn hash_distance(a: &str, b: &str) -> Option<u32> {
    let a = ImageHash::<Box<[u8]>>::from_base64(a).ok()?;
    let b = ImageHash::<Box<[u8]>>::from_base64(b).ok()?;
    (a.as_bytes().len() == b.as_bytes().len()).then(|| a.dist(&b))
}

/// Handles, phones, wallets and links in OCR text (not already read from a QR code).
fn ocr_leads(text: &str, known: &[PhotoLead]) -> Vec<PhotoLead> {
    let mut out: Vec<PhotoLead> = Vec::new();
    for ind in indicators::extract_limited(text, 50) {
        let payload = match ind.kind {
            IndicatorKind::Telegram => Some(format!("@{}", ind.value.trim_start_matches('@'))),
            IndicatorKind::Url | IndicatorKind::Onion => Some(ind.value.clone()),
            _ => None,
        };
        let kind = ind.kind.name().to_string();
        if known.iter().chain(out.iter()).any(|l| l.value == ind.value) {
            continue;
        }
        out.push(PhotoLead {
            kind,
            value: ind.value,
            source: "ocr",
            payload,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(img: &DynamicImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn wall(shade: u8) -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 48, |x, y| {
            let v = ((x * 4 + y * 2) as u8).wrapping_add(shade);
            image::Rgb([v, v / 2, 255 - v])
        }))
    }

    #[test]
    fn hostile_inputs_are_refused_with_their_reason() {
        let l = UploadLimits::default();
        assert_eq!(
            process(b"<html>no</html>", &l, None).unwrap_err(),
            Rejected::NotAnImage
        );
        let good = png(&wall(0));
        assert!(matches!(
            process(&good[..good.len() / 2], &l, None).unwrap_err(),
            Rejected::Damaged(_)
        ));
        let tiny = UploadLimits {
            max_bytes: 10,
            ..UploadLimits::default()
        };
        assert_eq!(
            process(&good, &tiny, None).unwrap_err(),
            Rejected::TooLarge { max: 10 }
        );
        let few = UploadLimits {
            max_pixels: 100,
            ..UploadLimits::default()
        };
        assert!(matches!(
            process(&good, &few, None).unwrap_err(),
            Rejected::TooManyPixels {
                width: 64,
                height: 48
            }
        ));
    }

    #[test]
    fn a_photo_is_reencoded_and_near_copies_hash_close() {
        let l = UploadLimits::default();
        let a = process(&png(&wall(0)), &l, None).unwrap();
        assert!(a.view_png.starts_with(b"\x89PNG"));
        assert_eq!((a.width, a.height), (64, 48));
        assert!(a.leads.is_empty());
        // The same wall saved as JPEG: another file, nearly the same picture.
        let mut jpg = Cursor::new(Vec::new());
        wall(0).write_to(&mut jpg, ImageFormat::Jpeg).unwrap();
        let b = process(jpg.get_ref(), &l, None).unwrap();
        assert_ne!(a.sha256, b.sha256);
        assert!(hash_distance(&a.phash, &b.phash).unwrap() <= l.near_duplicate_distance);
        let other = DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 48, |x, y| {
            let v = if (x / 8 + y / 8) % 2 == 0 { 0 } else { 255 };
            image::Rgb([v, v, v])
        }));
        let c = process(&png(&other), &l, None).unwrap();
        assert!(hash_distance(&a.phash, &c.phash).unwrap() > l.near_duplicate_distance);
        assert_eq!(hash_distance("zz", &a.phash), None);
    }

    #[test]
    fn ocr_text_gives_handles_and_phones_once() {
        let leads = ocr_leads(
            "Закладки @snow_shop_kz тел +7 701 123 45 67 @snow_shop_kz",
            &[],
        );
        assert!(
            leads
                .iter()
                .any(|l| l.kind == "telegram" && l.payload.as_deref() == Some("@snow_shop_kz")),
            "{leads:?}"
        );
        assert!(
            leads
                .iter()
                .any(|l| l.kind == "phone" && l.payload.is_none())
        );
        assert_eq!(leads.iter().filter(|l| l.kind == "telegram").count(), 1);
    }
}
