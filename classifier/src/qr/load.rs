//! Image loading: format sniffing by content, size limits checked from the header before any
//! pixel is decoded, EXIF orientation, conversion to 8-bit grayscale.

use std::io::Cursor;

use image::{GrayImage, ImageDecoder, ImageFormat, ImageReader};

use super::QrError;

/// Limits on one input image, checked before decoding (decompression bombs).
///
/// Every breach is a distinct [`QrError`]. Memory while decoding is bounded by roughly
/// `max_pixels × 4` bytes (the decoded colour image) plus `max_pixels` bytes (grayscale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file size in bytes. Default 32 MiB.
    pub max_bytes: usize,
    /// Largest accepted width in pixels. Default 16,384.
    pub max_width: u32,
    /// Largest accepted height in pixels. Default 16,384.
    pub max_height: u32,
    /// Largest accepted `width × height`. Default 50,000,000 (a 48-megapixel phone photo).
    pub max_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 32 << 20,
            max_width: 16_384,
            max_height: 16_384,
            max_pixels: 50_000_000,
        }
    }
}

/// Formats accepted as input; anything else is [`QrError::UnsupportedFormat`].
const ACCEPTED: [ImageFormat; 5] = [
    ImageFormat::Png,
    ImageFormat::Jpeg,
    ImageFormat::Gif,
    ImageFormat::WebP,
    ImageFormat::Bmp,
];

/// Sniffs the format from the first bytes (never from a file name).
pub fn sniff(bytes: &[u8]) -> Result<ImageFormat, QrError> {
    match image::guess_format(bytes) {
        Ok(f) if ACCEPTED.contains(&f) => Ok(f),
        Ok(f) => Err(QrError::UnsupportedFormat(format!("{f:?}"))),
        Err(_) => Err(QrError::UnsupportedFormat(
            "unknown (not PNG, JPEG, GIF, WebP or BMP)".into(),
        )),
    }
}

/// Decodes `bytes` into an upright 8-bit grayscale image, enforcing `limits`.
pub fn load_gray(bytes: &[u8], limits: &Limits) -> Result<GrayImage, QrError> {
    if bytes.len() > limits.max_bytes {
        return Err(QrError::TooManyBytes {
            len: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let format = sniff(bytes)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    // Read the header without `image`'s limits so our own check names the breach precisely...
    reader.no_limits();
    let mut decoder = reader.into_decoder().map_err(|e| header_error(e, limits))?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, limits)?;
    // ...then bound the decoder's allocations: decoded RGBA plus scratch.
    let mut lim = image::Limits::default();
    lim.max_image_width = Some(limits.max_width);
    lim.max_image_height = Some(limits.max_height);
    lim.max_alloc = Some(limits.max_pixels.saturating_mul(4).saturating_add(64 << 20));
    decoder
        .set_limits(lim)
        .map_err(|e| header_error(e, limits))?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img =
        image::DynamicImage::from_decoder(decoder).map_err(|e| header_error(e, limits))?;
    img.apply_orientation(orientation);
    Ok(img.into_luma8())
}

/// Checks header dimensions against the limits.
pub fn check_dimensions(width: u32, height: u32, limits: &Limits) -> Result<(), QrError> {
    if width == 0 || height == 0 {
        return Err(QrError::Decode(format!(
            "image has no pixels ({width}×{height})"
        )));
    }
    if width > limits.max_width {
        return Err(QrError::TooWide {
            width,
            max: limits.max_width,
        });
    }
    if height > limits.max_height {
        return Err(QrError::TooHigh {
            height,
            max: limits.max_height,
        });
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(QrError::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    Ok(())
}

/// Maps `image`'s errors to ours, turning its dimension-limit errors into our limit errors.
fn header_error(e: image::ImageError, limits: &Limits) -> QrError {
    match e {
        image::ImageError::Limits(l) => QrError::LimitExceeded(format!(
            "{l} (limits: {}×{} px, {} px total)",
            limits.max_width, limits.max_height, limits.max_pixels
        )),
        other => QrError::Decode(other.to_string()),
    }
}
