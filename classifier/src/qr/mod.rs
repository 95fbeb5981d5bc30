//! QR decoding from photos and web images: bytes in, decoded codes out. Pure: no IO.
//!
//! # Layout
//! - `load`: format sniffing by content, [`Limits`] checked from the header before decoding,
//!   EXIF orientation, grayscale.
//! - `binarize`: local (hybrid blocks, Sauvola) and global (Otsu) thresholds.
//! - `scan`: one panic-proof `rqrr` pass, payload bytes → text (UTF-8, else Shift_JIS, else
//!   ISO-8859-1).
//! - `resample`: re-reads a located but undecoded grid from the grayscale image under
//!   per-grid module thresholds.
//! - `pipeline`: the ordered, named attempts (scale pyramid × binarisation × polarity), early
//!   stop, deduplication.
//! - [`payload`]: decoded text → typed leads (URL, onion, Telegram, wallet, phone, e-mail,
//!   dangerous scheme, text).
//! - [`eval`]: manifest parsing and exact-match scoring for `kuzet eval qr`.
//!
//! # Cost
//! Work per image is bounded by [`QrOptions`]: at most [`QrOptions::max_attempts`] `rqrr`
//! passes and at most [`QrOptions::max_pixels_scanned`] pixels scanned in total, plus one decode
//! of the input (bounded by [`Limits`]). Each pass is linear in its pixels for binarisation and
//! region growing; `rqrr`'s grouping of finder-pattern candidates copies the pass image once per
//! candidate triple, so a pass over an image crowded with finder-like patterns costs more; the
//! default working size (1,024 px on the longer side) keeps one pass to about a megapixel.
//! Locating a grid (rqrr's perspective search) is the dearest step of a pass; a grid that is
//! located but does not decode is re-read from grayscale (`resample`, a few thousand pixel
//! look-ups and at most three decodes) before the next pass would locate it again.
//! `rqrr` is the patched copy in `vendor/rqrr` (see its `KUZET-PATCHES.md`).

mod binarize;
pub mod eval;
pub(crate) mod load;
pub mod payload;
mod pipeline;
mod resample;
mod scan;

pub use load::Limits;
pub use payload::{Lead, LeadKind, leads};

/// Options for [`decode_image`], with documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrOptions {
    /// Input limits (bytes, width, height, pixels).
    pub limits: Limits,
    /// Longer side of the working image; larger inputs are scaled down to it. Default 1,024.
    pub work_max_dim: u32,
    /// The working image is also tried at twice its size when its longer side is at most this.
    /// Default 640 (so a VGA photo is also read at 1,280×960).
    pub upscale_max_dim: u32,
    /// A full-resolution pass is tried only when the input has at most this many pixels.
    /// Default 4,000,000.
    pub max_pass_pixels: u64,
    /// At most this many `rqrr` passes per image. Default 10: the attempt table has 14, and its
    /// last four (`half/hybrid-inv`, `double/sauvola`, `work/otsu`, `work/hybrid-inv`) never
    /// were the first to read a code on the benchmark set, so by default they do not run
    /// (raise this to 14 to run the whole table; it mostly costs time on images with no code).
    pub max_attempts: usize,
    /// At most this many pixels scanned per image over all passes. Default 16,000,000.
    pub max_pixels_scanned: u64,
    /// Run every attempt instead of stopping at the first one that reads every grid it finds
    /// (for tuning; finds more codes in crowded images, costs more). Default `false`.
    pub exhaustive: bool,
    /// Re-read every grid a pass locates but cannot decode from the grayscale image under
    /// per-grid module thresholds before moving on to the next pass. Default `true`.
    pub reread_grids: bool,
}

impl Default for QrOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            work_max_dim: 1024,
            upscale_max_dim: 640,
            max_pass_pixels: 4_000_000,
            max_attempts: 10,
            max_pixels_scanned: 16_000_000,
            exhaustive: false,
            reread_grids: true,
        }
    }
}

/// One decoded QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The payload as text (see [`QrResult`] on charsets).
    pub text: String,
    /// The payload bytes as encoded in the symbol (Kanji mode as Shift_JIS).
    pub bytes: Vec<u8>,
    /// Name of the pipeline attempt that first read this code (e.g. `work/hybrid`).
    pub attempt: &'static str,
    /// Corners in input pixel coordinates (after EXIF orientation): top-left, top-right,
    /// bottom-right, bottom-left of the symbol.
    pub corners: [(i32, i32); 4],
}

/// Result for one image.
///
/// Text is UTF-8 when the payload bytes are valid UTF-8, else Shift_JIS when they decode
/// cleanly as such, else ISO-8859-1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrResult {
    /// Distinct codes found (deduplicated by payload bytes), in the order found.
    pub codes: Vec<Code>,
    /// Image width after EXIF orientation.
    pub width: u32,
    /// Image height after EXIF orientation.
    pub height: u32,
    /// Number of `rqrr` passes run.
    pub attempts_tried: usize,
    /// Passes in which `rqrr` panicked (caught; counted as finding nothing).
    pub decoder_panics: usize,
}

/// Why an image could not be scanned. Every variant is about the input, never a crash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The input is larger than [`Limits::max_bytes`].
    #[error("image is {len} bytes, more than the limit of {max}")]
    TooManyBytes {
        /// Input length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not a PNG, JPEG, GIF, WebP or BMP file (judged by content).
    #[error("unsupported image format: {0}")]
    UnsupportedFormat(String),
    /// Header width above [`Limits::max_width`].
    #[error("image is {width} px wide, more than the limit of {max}")]
    TooWide {
        /// Width from the header.
        width: u32,
        /// The limit.
        max: u32,
    },
    /// Header height above [`Limits::max_height`].
    #[error("image is {height} px high, more than the limit of {max}")]
    TooHigh {
        /// Height from the header.
        height: u32,
        /// The limit.
        max: u32,
    },
    /// Header `width × height` above [`Limits::max_pixels`].
    #[error("image is {width}×{height} px, more than the limit of {max} pixels")]
    TooManyPixels {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The limit.
        max: u64,
    },
    /// The image decoder refused the image for exceeding a limit (size or memory).
    #[error("image exceeds a limit: {0}")]
    LimitExceeded(String),
    /// The file is damaged or truncated.
    #[error("cannot decode image: {0}")]
    Decode(String),
}

/// Decodes every QR code in an image file's bytes with the full pipeline.
///
/// # Errors
/// A [`QrError`] when the bytes are not an accepted image or break a limit. Finding no code is
/// not an error (empty [`QrResult::codes`]).
pub fn decode_image(bytes: &[u8], opts: &QrOptions) -> Result<QrResult, QrError> {
    let gray = load::load_gray(bytes, &opts.limits)?;
    let out = pipeline::run(&gray, opts);
    Ok(QrResult {
        codes: out.codes,
        width: gray.width(),
        height: gray.height(),
        attempts_tried: out.attempts_tried,
        decoder_panics: out.panics,
    })
}

/// Baseline for benchmarks: the same loading and limits, then a single plain `rqrr` call on
/// the full-resolution grayscale image and `rqrr`'s own UTF-8 text conversion (codes that are
/// not UTF-8 are dropped), as `rqrr`'s documentation shows. A panic in `rqrr` is caught.
///
/// # Errors
/// As [`decode_image`].
pub fn decode_image_plain_rqrr(bytes: &[u8], limits: &Limits) -> Result<QrResult, QrError> {
    let gray = load::load_gray(bytes, limits)?;
    let (width, height) = gray.dimensions();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut img = rqrr::PreparedImage::prepare(gray);
        img.detect_grids()
            .iter()
            .filter_map(|g| {
                let (_, text) = g.decode().ok()?;
                Some(Code {
                    bytes: text.as_bytes().to_vec(),
                    text,
                    attempt: "plain-rqrr",
                    corners: g.bounds.map(|p| (p.x, p.y)),
                })
            })
            .collect::<Vec<_>>()
    }));
    let (codes, decoder_panics) = match res {
        Ok(codes) => (codes, 0),
        Err(_) => (Vec::new(), 1),
    };
    Ok(QrResult {
        codes,
        width,
        height,
        attempts_tried: 1,
        decoder_panics,
    })
}

/// Names of the pipeline's attempts in the order they run.
pub fn attempt_names() -> impl Iterator<Item = &'static str> {
    pipeline::attempt_names()
}
