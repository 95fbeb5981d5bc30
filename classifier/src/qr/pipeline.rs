//! The decoding pipeline: an ordered table of named attempts (scale × preparation × polarity),
//! cheap ones first, stopping early once an attempt reads every grid it locates.

use image::GrayImage;
use image::imageops;

use super::binarize::{self, Method};
use super::scan::{self, PassResult};
use super::{Code, QrOptions};

/// Which resolution an attempt scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scale {
    /// The working image: the input scaled down so its longer side is at most
    /// [`QrOptions::work_max_dim`] (the input itself when already smaller).
    Work,
    /// Half the working image (large modules, blur, JPEG noise average out).
    Half,
    /// Twice the working image, only when its longer side is at most
    /// [`QrOptions::upscale_max_dim`] (tiny codes).
    Double,
    /// The input at full resolution, only when it is larger than the working image and at
    /// most [`QrOptions::max_pass_pixels`] (small codes in large photos).
    Full,
}

/// How an attempt turns gray into black and white.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prep {
    /// `rqrr`'s own row-average threshold.
    Rqrr,
    /// One of our binarisers.
    Bin(Method),
}

/// One named attempt.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    name: &'static str,
    scale: Scale,
    prep: Prep,
    invert: bool,
}

const fn at(name: &'static str, scale: Scale, prep: Prep, invert: bool) -> Attempt {
    Attempt {
        name,
        scale,
        prep,
        invert,
    }
}

/// The attempts in the order they run: by measured success per cost. On the zxing-blackbox
/// set (BENCHMARKS.md, "QR decoding benchmark"), the hybrid binariser at working size reads
/// the most codes on its own at the lowest cost; half size is cheap; the doubled image catches
/// small codes; the rest mostly serve images none of those read. Every attempt still runs
/// (within the budgets) on an image where nothing reads, so the order decides cost, not reach.
const ATTEMPTS: &[Attempt] = &[
    at("work/hybrid", Scale::Work, Prep::Bin(Method::Hybrid), false),
    at("half/hybrid", Scale::Half, Prep::Bin(Method::Hybrid), false),
    at(
        "double/hybrid",
        Scale::Double,
        Prep::Bin(Method::Hybrid),
        false,
    ),
    at("double/rqrr", Scale::Double, Prep::Rqrr, false),
    at(
        "work/sauvola",
        Scale::Work,
        Prep::Bin(Method::Sauvola),
        false,
    ),
    at("full/hybrid", Scale::Full, Prep::Bin(Method::Hybrid), false),
    at("work/rqrr-inv", Scale::Work, Prep::Rqrr, true),
    at(
        "half/sauvola",
        Scale::Half,
        Prep::Bin(Method::Sauvola),
        false,
    ),
    at("half/rqrr", Scale::Half, Prep::Rqrr, false),
    at("work/rqrr", Scale::Work, Prep::Rqrr, false),
    at(
        "half/hybrid-inv",
        Scale::Half,
        Prep::Bin(Method::Hybrid),
        true,
    ),
    at(
        "double/sauvola",
        Scale::Double,
        Prep::Bin(Method::Sauvola),
        false,
    ),
    at("work/otsu", Scale::Work, Prep::Bin(Method::Otsu), false),
    at(
        "work/hybrid-inv",
        Scale::Work,
        Prep::Bin(Method::Hybrid),
        true,
    ),
];

/// Names of all attempts in pipeline order (for documentation and tuning tools).
pub fn attempt_names() -> impl Iterator<Item = &'static str> {
    ATTEMPTS.iter().map(|a| a.name)
}

/// The scaled images, built on first use.
struct Pyramid<'a> {
    full: &'a GrayImage,
    work: Option<GrayImage>,
    half: Option<Option<GrayImage>>,
    double: Option<Option<GrayImage>>,
    opts: &'a QrOptions,
}

impl<'a> Pyramid<'a> {
    fn new(full: &'a GrayImage, opts: &'a QrOptions) -> Self {
        Self {
            full,
            work: None,
            half: None,
            double: None,
            opts,
        }
    }

    fn work(&mut self) -> &GrayImage {
        let (full, max) = (self.full, self.opts.work_max_dim.max(16));
        self.work.get_or_insert_with(|| {
            let (w, h) = full.dimensions();
            if w.max(h) <= max {
                full.clone()
            } else {
                let s = f64::from(max) / f64::from(w.max(h));
                let nw = ((f64::from(w) * s).round() as u32).max(1);
                let nh = ((f64::from(h) * s).round() as u32).max(1);
                crate::pixels::thumbnail(full, nw, nh)
            }
        })
    }

    /// The image for `scale`, or `None` when that scale does not apply to this input.
    fn get(&mut self, scale: Scale) -> Option<&GrayImage> {
        match scale {
            Scale::Work => Some(self.work()),
            Scale::Full => {
                let (w, h) = self.full.dimensions();
                let worked = self.work().dimensions();
                let pixels = u64::from(w) * u64::from(h);
                (worked != (w, h) && pixels <= self.opts.max_pass_pixels).then_some(self.full)
            }
            Scale::Half => {
                if self.half.is_none() {
                    let w = self.work();
                    let (nw, nh) = (w.width() / 2, w.height() / 2);
                    let img = (nw.min(nh) >= 64).then(|| crate::pixels::thumbnail(w, nw, nh));
                    self.half = Some(img);
                }
                self.half.as_ref().and_then(Option::as_ref)
            }
            Scale::Double => {
                if self.double.is_none() {
                    let limit = self.opts.upscale_max_dim;
                    let w = self.work();
                    let img = (w.width().max(w.height()) <= limit).then(|| upscale2(w));
                    self.double = Some(img);
                }
                self.double.as_ref().and_then(Option::as_ref)
            }
        }
    }
}

/// `img` at twice its width and height, bilinear (each output pixel weighs its two nearest
/// input pixels per axis 3:1, edges clamped: the same samples as a triangle filter), in
/// integer arithmetic.
fn upscale2(img: &GrayImage) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return GrayImage::new(img.width() * 2, img.height() * 2);
    }
    let px = img.as_raw();
    // Horizontal pass: weights ×4.
    let mut wide = vec![0u16; w * 2 * h];
    for (src, dst) in px.chunks_exact(w).zip(wide.chunks_exact_mut(w * 2)) {
        for x in 0..w {
            let c = u16::from(src[x]);
            let l = u16::from(src[x.saturating_sub(1)]);
            let r = u16::from(src[(x + 1).min(w - 1)]);
            dst[2 * x] = 3 * c + l;
            dst[2 * x + 1] = 3 * c + r;
        }
    }
    // Vertical pass: weights ×4 again, then round and divide by 16.
    let w2 = w * 2;
    let mut out = vec![0u8; w2 * h * 2];
    for y in 0..h {
        let c = &wide[y * w2..(y + 1) * w2];
        let u = &wide[y.saturating_sub(1) * w2..][..w2];
        let d = &wide[(y + 1).min(h - 1) * w2..][..w2];
        let (top, bottom) = out[2 * y * w2..(2 * y + 2) * w2].split_at_mut(w2);
        for x in 0..w2 {
            top[x] = ((3 * c[x] + u[x] + 8) / 16) as u8;
            bottom[x] = ((3 * c[x] + d[x] + 8) / 16) as u8;
        }
    }
    GrayImage::from_raw(img.width() * 2, img.height() * 2, out).unwrap_or_default()
}

/// What the pipeline produced for one image.
pub struct Outcome {
    /// Distinct codes, in the order found.
    pub codes: Vec<Code>,
    /// Attempts actually run (skipped, inapplicable scales not counted).
    pub attempts_tried: usize,
    /// Pixels scanned across all attempts.
    pub pixels_scanned: u64,
    /// Attempts in which `rqrr` panicked (counted as empty).
    pub panics: usize,
}

/// Runs the attempt table over `full` within the budgets of `opts`.
pub fn run(full: &GrayImage, opts: &QrOptions) -> Outcome {
    let mut pyr = Pyramid::new(full, opts);
    let mut out = Outcome {
        codes: Vec::new(),
        attempts_tried: 0,
        pixels_scanned: 0,
        panics: 0,
    };
    for attempt in ATTEMPTS {
        if out.attempts_tried >= opts.max_attempts {
            break;
        }
        let Some(img) = pyr.get(attempt.scale) else {
            continue;
        };
        let pixels = u64::from(img.width()) * u64::from(img.height());
        if out.pixels_scanned.saturating_add(pixels) > opts.max_pixels_scanned {
            continue;
        }
        out.pixels_scanned += pixels;
        out.attempts_tried += 1;
        let mut pass = run_attempt(img, attempt);
        if opts.reread_grids && !pass.failed.is_empty() {
            let more = scan::reread(img, &pass.failed, attempt.invert);
            pass.codes.extend(more);
        }
        out.panics += usize::from(pass.panicked);
        let all_read = pass.grids > 0 && pass.codes.len() >= pass.grids;
        let (sx, sy) = (
            f64::from(full.width()) / f64::from(img.width()),
            f64::from(full.height()) / f64::from(img.height()),
        );
        for raw in pass.codes {
            if out.codes.iter().any(|c| c.bytes == raw.bytes) {
                continue;
            }
            let corners = raw.bounds.map(|(x, y)| {
                (
                    (f64::from(x) * sx).round() as i32,
                    (f64::from(y) * sy).round() as i32,
                )
            });
            out.codes.push(Code {
                text: scan::bytes_to_text(&raw.bytes),
                bytes: raw.bytes,
                attempt: attempt.name,
                corners,
            });
        }
        if all_read && !out.codes.is_empty() && !opts.exhaustive {
            break;
        }
    }
    out
}

fn run_attempt(img: &GrayImage, attempt: &Attempt) -> PassResult {
    match attempt.prep {
        Prep::Rqrr if attempt.invert => {
            let mut inv = img.clone();
            imageops::invert(&mut inv);
            scan::scan_gray(inv)
        }
        Prep::Rqrr => scan::scan_gray(img.clone()),
        Prep::Bin(m) => scan::scan_bitmap(binarize::binarize(img, m, attempt.invert)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upscale2_matches_a_triangle_resize_within_one_level() {
        let img = GrayImage::from_fn(37, 23, |x, y| {
            image::Luma([((x * 37 + y * 91 + x * y * 7) % 256) as u8])
        });
        let fast = upscale2(&img);
        let slow = imageops::resize(&img, 74, 46, imageops::FilterType::Triangle);
        assert_eq!(fast.dimensions(), slow.dimensions());
        for (a, b) in fast.as_raw().iter().zip(slow.as_raw()) {
            assert!(a.abs_diff(*b) <= 1, "{a} vs {b}");
        }
        let one = upscale2(&GrayImage::from_pixel(1, 1, image::Luma([77])));
        assert_eq!(one.as_raw(), &vec![77u8; 4]);
        assert_eq!(upscale2(&GrayImage::new(0, 5)).dimensions(), (0, 10));
    }
}
