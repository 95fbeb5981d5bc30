//! Text in images: the pure half of OCR. Pixels and strings in, OCR jobs and indicators out;
//! the OCR engine itself (Tesseract) runs in a separate process owned by the caller
//! (`kuzet_crawler::ocr_runner`), so a hostile image can never take kuzet down.
//!
//! # Layout
//! - `regions`: text-line detection on a small copy (local threshold in both polarities,
//!   connected components, character-like filtering, chaining into lines, skew per line).
//!   An image with no line is skipped as text-free before any OCR runs.
//! - `prep`: each line cropped from the full image, deskewed, scaled to a fixed letter height,
//!   contrast-stretched, binarised, and all lines stacked into one strip (one OCR process per
//!   pass, not per line); PGM encoding.
//! - `post`: Tesseract TSV parsing, words mapped back to lines, script-aware repair (Cyrillic
//!   look-alikes inside Latin handles, letters inside phone numbers), choice between passes.
//! - [`Session`]: the state machine tying them together: [`Session::next_job`] says what to
//!   run, [`Session::feed`] takes the engine's output, [`Session::finish`] gives the result.
//! - `synth` (feature `synth`): deterministic synthetic street photos for tests and benchmarks.
//!
//! # Passes
//! 1. `general`: all lines, languages [`OcrOptions::languages`] (`rus+kaz+eng`), `--psm 6`.
//! 2. `latin`: lines whose general reading hints at a Telegram handle or link (`@`, look-alike
//!    of `@`, `t.me`, mixed scripts in a word), English only, whitelist of handle characters.
//! 3. `digits`: lines with at least [`OcrOptions::min_phone_digits`] digit-like characters,
//!    whitelist `+0123456789()-`.
//!
//! # Cost
//! One decode of the input (bounded by [`Limits`]), one detection over at most
//! [`OcrOptions::detect_max_dim`]² pixels, at most [`OcrOptions::max_lines`] crops, a strip of at
//! most [`OcrOptions::max_strip_pixels`], and at most three OCR processes per image.

mod post;
mod prep;
mod regions;
#[cfg(feature = "synth")]
pub mod synth;

use image::GrayImage;

use crate::indicators::Indicator;
pub use crate::qr::Limits;
use crate::qr::QrError;
pub use regions::Line;

/// Options of the OCR pipeline, with documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrOptions {
    /// Input limits (bytes, width, height, pixels), as for QR decoding.
    pub limits: Limits,
    /// Longer side of the copy text lines are detected on. Default 1,024.
    pub detect_max_dim: u32,
    /// Height in pixels that letters are scaled to before OCR. Default 40.
    pub letter_px: u32,
    /// At most this many text lines are read per image (the most letter-like first). Default 12.
    pub max_lines: usize,
    /// Largest strip (all lines stacked) handed to the engine, in pixels. Default 4,000,000.
    pub max_strip_pixels: u64,
    /// Tesseract languages of the general pass. Default `rus+kaz+eng`.
    pub languages: String,
    /// Words the engine is less sure of than this (0–100) are dropped. Default 20.
    pub min_word_confidence: f32,
    /// Digit-like characters a line needs before the digit pass reads it. Default 7.
    pub min_phone_digits: usize,
    /// Most bytes of one engine output considered (longer output is cut). Default 64 KiB.
    pub max_output_bytes: usize,
}

impl Default for OcrOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            detect_max_dim: 1024,
            letter_px: 40,
            max_lines: 12,
            max_strip_pixels: 4_000_000,
            languages: "rus+kaz+eng".into(),
            min_word_confidence: 20.0,
            min_phone_digits: 7,
            max_output_bytes: 64 << 10,
        }
    }
}

/// Which OCR pass a job or a finding belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pass {
    /// All lines, all languages.
    General,
    /// Handle-like lines, Latin letters, digits and `@_./:` only.
    Latin,
    /// Phone-like lines, digits and `+()-` only.
    Digits,
    /// The baseline: the whole image as it is, all languages, automatic layout.
    Plain,
}

impl Pass {
    /// Lower-case name (`general`, `latin`, `digits`, `plain`).
    pub fn name(self) -> &'static str {
        match self {
            Pass::General => "general",
            Pass::Latin => "latin",
            Pass::Digits => "digits",
            Pass::Plain => "plain",
        }
    }
}

/// Characters allowed in the Latin (handle) pass.
pub const LATIN_WHITELIST: &str =
    "@_./:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// Characters allowed in the digit (phone) pass.
pub const DIGIT_WHITELIST: &str = "+0123456789()-";

/// One run of the OCR engine: an image and how to read it. The engine's command line is
/// `tesseract stdin stdout` followed by [`Job::args`]; the image goes to its standard input.
#[derive(Debug, Clone)]
pub struct Job {
    /// The pass.
    pub pass: Pass,
    /// The image, encoded (binary PGM for strips; the input file itself for [`Pass::Plain`]).
    pub image: Vec<u8>,
    /// Tesseract languages (`rus+kaz+eng`, `eng`).
    pub languages: String,
    /// Tesseract page segmentation mode.
    pub psm: u8,
    /// Characters the engine may output, if restricted.
    pub whitelist: Option<&'static str>,
    /// Ask for TSV output (word boxes and confidences) instead of plain text.
    pub tsv: bool,
}

impl Job {
    /// Arguments after `tesseract stdin stdout`.
    pub fn args(&self) -> Vec<String> {
        let mut a = vec![
            "-l".to_string(),
            self.languages.clone(),
            "--psm".to_string(),
            self.psm.to_string(),
        ];
        if let Some(w) = self.whitelist {
            a.push("-c".into());
            a.push(format!("tessedit_char_whitelist={w}"));
        }
        if self.tsv {
            a.push("tsv".into());
        }
        a
    }
}

/// The baseline job: the whole input file, `-l LANGUAGES`, Tesseract's automatic layout, plain
/// text out (what `tesseract IMAGE - -l rus+kaz+eng` does). The caller checks the limits first
/// with [`check_image`].
pub fn plain_job(bytes: &[u8], languages: &str) -> Job {
    Job {
        pass: Pass::Plain,
        image: bytes.to_vec(),
        languages: languages.to_string(),
        psm: 3,
        whitelist: None,
        tsv: false,
    }
}

/// Checks an image file against the limits (format by content, header dimensions, and a full
/// decode), without running any OCR.
///
/// # Errors
/// As [`Session::start`].
pub fn check_image(bytes: &[u8], limits: &Limits) -> Result<(u32, u32), OcrError> {
    let g = crate::qr::load::load_gray(bytes, limits)?;
    Ok(g.dimensions())
}

/// Why an image could not be read. Every variant is about the input, never a crash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OcrError {
    /// The image is not acceptable (format, size, damage): the same checks as QR decoding.
    #[error(transparent)]
    Image(#[from] QrError),
}

/// An indicator found in an image, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The indicator (same kinds and normalisation as in page text).
    pub indicator: Indicator,
    /// The pass whose reading gave it.
    pub pass: Pass,
    /// Index into [`OcrResult::lines`] of the line it was read on.
    pub line: usize,
}

/// The reading of one text line.
#[derive(Debug, Clone, PartialEq)]
pub struct LineText {
    /// Where the line is in the input (after EXIF orientation): x, y, width, height.
    pub bbox: (u32, u32, u32, u32),
    /// Estimated skew in degrees (positive: rising to the right).
    pub angle_deg: f32,
    /// The general pass's words after script repair.
    pub text: String,
}

/// What OCR found in one image.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrResult {
    /// Image width after EXIF orientation.
    pub width: u32,
    /// Image height after EXIF orientation.
    pub height: u32,
    /// No text line was detected, so no OCR ran.
    pub text_free: bool,
    /// The lines read, most letter-like first.
    pub lines: Vec<LineText>,
    /// The recognised text: the lines' texts, one per line.
    pub text: String,
    /// Validated indicators, one reading per line and kind chosen across passes.
    pub indicators: Vec<Found>,
    /// Engine runs made.
    pub passes_run: usize,
    /// Engine runs that failed (timeout, memory, crash), as messages.
    pub pass_errors: Vec<String>,
}

impl OcrResult {
    /// The text to classify: the recognised text and, one a line, the indicator values chosen
    /// across passes (so rules that count indicators see the repaired values).
    pub fn classifier_text(&self) -> String {
        let mut t = self.text.clone();
        for f in &self.indicators {
            t.push('\n');
            t.push_str(&f.indicator.value);
        }
        t
    }
}

/// One image's OCR in progress. Pure: it never runs the engine itself.
///
/// ```text
/// let mut s = Session::start(&bytes, &opts)?;
/// while let Some(job) = s.next_job() { let out = engine(&job); s.feed(out); }
/// let result = s.finish();
/// ```
#[derive(Debug)]
pub struct Session {
    opts: OcrOptions,
    width: u32,
    height: u32,
    lines: Vec<Line>,
    crops: Vec<GrayImage>,
    general: Option<post::Reading>,
    latin: Option<post::Reading>,
    digits: Option<post::Reading>,
    /// The pass waiting for output and the strip layout it was built with.
    pending: Option<(Pass, prep::Strip)>,
    next: Option<Pass>,
    passes_run: usize,
    pass_errors: Vec<String>,
}

impl Session {
    /// Loads the image within the limits, detects text lines and prepares their crops.
    ///
    /// # Errors
    /// [`OcrError::Image`] when the bytes are not an accepted image or break a limit.
    pub fn start(bytes: &[u8], opts: &OcrOptions) -> Result<Session, OcrError> {
        let gray = crate::qr::load::load_gray(bytes, &opts.limits)?;
        Ok(Session::from_gray(&gray, opts))
    }

    /// As [`Session::start`], from an already decoded grayscale image.
    pub fn from_gray(gray: &GrayImage, opts: &OcrOptions) -> Session {
        let lines = regions::detect(gray, opts);
        let crops = lines
            .iter()
            .map(|l| prep::crop_line(gray, l, opts.letter_px))
            .collect();
        Session {
            opts: opts.clone(),
            width: gray.width(),
            height: gray.height(),
            next: (!lines.is_empty()).then_some(Pass::General),
            lines,
            crops,
            general: None,
            latin: None,
            digits: None,
            pending: None,
            passes_run: 0,
            pass_errors: Vec::new(),
        }
    }

    /// The text lines detected (empty: the image is skipped as text-free).
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The prepared crop of each line (deskewed, scaled, binarised: dark text on white).
    pub fn crops(&self) -> &[GrayImage] {
        &self.crops
    }

    /// The next engine run to make, or `None` when done. Each job must be answered with
    /// [`Session::feed`] before asking again.
    pub fn next_job(&mut self) -> Option<Job> {
        loop {
            let pass = self.next?;
            let selected: Vec<usize> = match pass {
                Pass::General => (0..self.crops.len()).collect(),
                Pass::Latin => self.select(post::hints_handle),
                Pass::Digits => {
                    let min = self.opts.min_phone_digits;
                    self.select(|t| post::digit_like(t) >= min)
                }
                Pass::Plain => Vec::new(),
            };
            self.next = match pass {
                Pass::General => Some(Pass::Latin),
                Pass::Latin => Some(Pass::Digits),
                _ => None,
            };
            if selected.is_empty() {
                continue;
            }
            let strip = prep::stack(&self.crops, &selected, &self.opts);
            let image = prep::encode_pgm(&strip.image);
            let (languages, whitelist) = match pass {
                Pass::General => (self.opts.languages.clone(), None),
                Pass::Latin => ("eng".to_string(), Some(LATIN_WHITELIST)),
                _ => ("eng".to_string(), Some(DIGIT_WHITELIST)),
            };
            self.pending = Some((pass, strip));
            return Some(Job {
                pass,
                image,
                languages,
                psm: 6,
                whitelist,
                tsv: true,
            });
        }
    }

    /// Indices of lines whose general reading satisfies `f`.
    fn select(&self, f: impl Fn(&str) -> bool) -> Vec<usize> {
        let Some(g) = &self.general else {
            return Vec::new();
        };
        (0..self.lines.len())
            .filter(|&i| g.lines.get(i).is_some_and(|t| f(t)))
            .collect()
    }

    /// Takes the engine's output (`Err` with a message when the run failed) for the job last
    /// returned by [`Session::next_job`].
    pub fn feed(&mut self, output: Result<String, String>) {
        let Some((pass, strip)) = self.pending.take() else {
            return;
        };
        self.passes_run += 1;
        let text = match output {
            Ok(t) => t,
            Err(e) => {
                self.pass_errors.push(format!("{} pass: {e}", pass.name()));
                if pass == Pass::General {
                    // Without the general reading the other passes have nothing to go on.
                    self.next = None;
                }
                return;
            }
        };
        let text = post::cut(&text, self.opts.max_output_bytes);
        let reading = post::Reading::from_tsv(
            text,
            &strip,
            self.lines.len(),
            self.opts.min_word_confidence,
        );
        match pass {
            Pass::General => self.general = Some(reading),
            Pass::Latin => self.latin = Some(reading),
            Pass::Digits => self.digits = Some(reading),
            Pass::Plain => {}
        }
    }

    /// The result: lines with their text and the indicators chosen across passes.
    pub fn finish(self) -> OcrResult {
        let n = self.lines.len();
        let empty = post::Reading::empty(n);
        let general = self.general.unwrap_or_else(|| empty.clone());
        let (texts, indicators) = post::combine(
            &general,
            self.latin.as_ref().unwrap_or(&empty),
            self.digits.as_ref().unwrap_or(&empty),
        );
        let lines: Vec<LineText> = self
            .lines
            .iter()
            .zip(texts)
            .map(|(l, text)| LineText {
                bbox: l.bbox,
                angle_deg: l.angle_deg,
                text,
            })
            .collect();
        let text = lines
            .iter()
            .map(|l| l.text.as_str())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        OcrResult {
            width: self.width,
            height: self.height,
            text_free: n == 0,
            lines,
            text,
            indicators,
            passes_run: self.passes_run,
            pass_errors: self.pass_errors,
        }
    }
}

/// The baseline's indicators: plain text from [`plain_job`] through the page-text extractor,
/// with nothing repaired.
pub fn plain_indicators(text: &str) -> Vec<Indicator> {
    crate::indicators::extract(text)
}

/// Repair and choice on given readings, one string per line for each pass (an empty string or
/// a missing entry: the pass did not read that line). What [`Session::finish`] does after the
/// engine; public for tests and tools. Returns the repaired general text per line and the
/// indicators chosen.
pub fn combine_readings(
    general: &[String],
    latin: &[String],
    digits: &[String],
) -> (Vec<String>, Vec<Found>) {
    let n = general.len();
    let reading = |r: &[String]| post::Reading {
        lines: (0..n)
            .map(|i| r.get(i).cloned().unwrap_or_default())
            .collect(),
    };
    post::combine(&reading(general), &reading(latin), &reading(digits))
}
