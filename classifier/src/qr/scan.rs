//! One detection-and-decode pass of `rqrr` over a prepared image, made panic-proof, and the
//! conversion of a code's raw bytes to text.

use std::panic::{AssertUnwindSafe, catch_unwind};

use image::GrayImage;

use super::binarize::Bitmap;
use super::resample::{self, GridLoc};

/// A code read by one `rqrr` pass, before deduplication.
#[derive(Debug, Clone)]
pub struct RawCode {
    /// The payload bytes as `rqrr` writes them (Byte-mode bytes, Kanji as Shift_JIS).
    pub bytes: Vec<u8>,
    /// Corners in the scanned image: top-left, top-right, bottom-right, bottom-left.
    pub bounds: [(i32, i32); 4],
}

/// What one pass saw: how many candidate grids and which of them decoded.
#[derive(Debug, Default)]
pub struct PassResult {
    /// Grids `rqrr` located (decoded or not).
    pub grids: usize,
    /// Grids that decoded.
    pub codes: Vec<RawCode>,
    /// Grids located but not decoded from the pass image.
    pub failed: Vec<GridLoc>,
    /// `rqrr` panicked (a known upstream bug on some inputs); the pass counts as empty.
    pub panicked: bool,
}

/// Detects and decodes all grids of a prepared image (a macro because `rqrr` does not export
/// the buffer trait its `PreparedImage` is generic over).
///
/// Each grid is first decoded as located and goes through `rqrr`'s perspective search (the
/// costliest step of a pass) only when that fails: a grid whose Reed–Solomon blocks check out
/// needs no refinement (rqrr patch 9, `vendor/rqrr/KUZET-PATCHES.md`).
macro_rules! collect {
    ($img:expr) => {{
        let mut grids = $img.detect_grids_unrefined();
        let mut out = PassResult {
            grids: grids.len(),
            ..Default::default()
        };
        for g in &mut grids {
            let mut bytes = Vec::new();
            let mut read = g.decode_to(&mut bytes).is_ok();
            if !read && g.refine() {
                bytes.clear();
                read = g.decode_to(&mut bytes).is_ok();
            }
            let bounds = g.bounds.map(|p| (p.x, p.y));
            if read {
                out.codes.push(RawCode { bytes, bounds });
            } else {
                let size = rqrr::BitGrid::size(&g.grid);
                out.failed.push(GridLoc { bounds, size });
            }
        }
        out
    }};
}

/// Scans a bitmap binarised by us (its bytes, `1` dark and `0` light, are `rqrr`'s own pixel
/// encoding, so they become its image without a copy).
pub fn scan_bitmap(bm: Bitmap) -> PassResult {
    guarded(|| {
        let mut img = rqrr::PreparedImage::from_bitmap_bytes(bm.width, bm.height, bm.bits);
        collect!(img)
    })
}

/// Scans a grayscale image with `rqrr`'s own row-average threshold.
pub fn scan_gray(img: GrayImage) -> PassResult {
    guarded(|| {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let mut raw = img.into_raw();
        raw.truncate(w * h);
        let mut img = rqrr::PreparedImage::prepare_from_greyscale_bytes(w, h, raw);
        collect!(img)
    })
}

/// Re-reads the grids a pass located but could not decode from the grayscale `img` the pass
/// was made from (see [`resample`]); the codes that decode this way. `invert`: light-on-dark
/// pass. A panic in `rqrr`'s decoder is caught and yields no code.
pub fn reread(img: &GrayImage, failed: &[GridLoc], invert: bool) -> Vec<RawCode> {
    catch_unwind(AssertUnwindSafe(|| {
        failed
            .iter()
            .filter_map(|loc| {
                let bytes = resample::decode(img, loc, invert)?;
                Some(RawCode {
                    bytes,
                    bounds: loc.bounds,
                })
            })
            .collect()
    }))
    .unwrap_or_default()
}

/// Runs `f`, turning a panic inside `rqrr` into an empty, flagged result.
fn guarded(f: impl FnOnce() -> PassResult) -> PassResult {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| PassResult {
        panicked: true,
        ..Default::default()
    })
}

/// Text of a payload: UTF-8 when the bytes are valid UTF-8, else Shift_JIS when they decode
/// cleanly as Shift_JIS (Japanese codes, Kanji mode), else ISO-8859-1 (the QR default).
///
/// `rqrr` drops ECI designators, so the charset is inferred from the bytes.
pub fn bytes_to_text(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_owned();
    }
    let (s, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(bytes);
    if !had_errors {
        return s.into_owned();
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}
