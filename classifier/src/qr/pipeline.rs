//! The decoding pipeline: an ordered table of named attempts (scale × preparation × polarity),
//! cheap ones first, stopping early once an attempt reads every grid it locates.

use image::GrayImage;
use image::imageops::{self, FilterType};

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

/// The attempts in the order they run. Cheap, most often successful first.
const ATTEMPTS: &[Attempt] = &[
    at("work/rqrr", Scale::Work, Prep::Rqrr, false),
    at("work/hybrid", Scale::Work, Prep::Bin(Method::Hybrid), false),
    at(
        "double/hybrid",
        Scale::Double,
        Prep::Bin(Method::Hybrid),
        false,
    ),
    at("half/hybrid", Scale::Half, Prep::Bin(Method::Hybrid), false),
    at(
        "work/sauvola",
        Scale::Work,
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
    at("double/rqrr", Scale::Double, Prep::Rqrr, false),
    at("half/rqrr", Scale::Half, Prep::Rqrr, false),
    at("full/hybrid", Scale::Full, Prep::Bin(Method::Hybrid), false),
    at("work/rqrr-inv", Scale::Work, Prep::Rqrr, true),
    at(
        "double/sauvola",
        Scale::Double,
        Prep::Bin(Method::Sauvola),
        false,
    ),
    at(
        "half/sauvola",
        Scale::Half,
        Prep::Bin(Method::Sauvola),
        false,
    ),
    at(
        "half/hybrid-inv",
        Scale::Half,
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
                imageops::thumbnail(full, nw, nh)
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
                    let img = (nw.min(nh) >= 64).then(|| imageops::thumbnail(w, nw, nh));
                    self.half = Some(img);
                }
                self.half.as_ref().and_then(Option::as_ref)
            }
            Scale::Double => {
                if self.double.is_none() {
                    let limit = self.opts.upscale_max_dim;
                    let w = self.work();
                    let img = (w.width().max(w.height()) <= limit).then(|| {
                        imageops::resize(w, w.width() * 2, w.height() * 2, FilterType::Triangle)
                    });
                    self.double = Some(img);
                }
                self.double.as_ref().and_then(Option::as_ref)
            }
        }
    }
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
        let pass = run_attempt(img, attempt);
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
            scan::scan_gray(&inv)
        }
        Prep::Rqrr => scan::scan_gray(img),
        Prep::Bin(m) => scan::scan_bitmap(&binarize::binarize(img, m, attempt.invert)),
    }
}
