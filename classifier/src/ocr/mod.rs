//! Text in images: the pure half of OCR. Pixels and strings in, OCR jobs and indicators out;
//! the OCR engine itself (Tesseract) runs in a separate process owned by the caller
//! (`kuzet_crawler::ocr_runner`), so a hostile image can never take kuzet down.
//!
//! # Layout
//! - `regions`: text-line detection on a small copy of each view (the brightness; for a
//!   colour photo also its darkest channel, where red or blue ink on grey stands out): local
//!   threshold in both polarities, connected components, character-like filtering, chaining
//!   into lines, lines that continue each other on one band joined, skew per line; again on
//!   a copy at half that size for letters too big for the threshold's window.
//!   An image with no line is skipped as text-free before any OCR runs. Where a line is
//!   found in both polarities (big dark letters: the light gaps between them chain too), the
//!   one with half again as many letters is the text, or with about as many, the polarity of
//!   the minority of the pixels around them.
//! - `prep`: each line cropped from the full image (the view where its ink stands out most
//!   from the background, by Otsu's separation), deskewed, scaled to a fixed letter height,
//!   freed of the background's light and shade (stains, shadows: the crop less its grey-level
//!   closing), contrast-stretched, binarised, cleaned of ink that cannot be a letter, and all
//!   lines stacked into one strip (one OCR process per pass, not per line); PGM encoding.
//!   Twice [`OcrOptions::max_lines`] lines are detected; those that keep fewer than three
//!   letters on the cleaned crop, or whose crop comes out a third or more ink (grain split in
//!   two by the threshold), are dropped before any OCR.
//! - `post`: Tesseract TSV parsing (words with confidences and boxes), words mapped back to
//!   lines and to text rows within a line's crop (a neighbouring line's letters in the margin
//!   are another row, never the rest of a handle), script-aware repair (Cyrillic look-alikes
//!   inside Latin handles, letters inside phone numbers), candidates with the confidence of
//!   the words they rest on, and the vote.
//! - [`Session`]: the state machine tying them together: [`Session::next_job`] says what to
//!   run, [`Session::feed`] takes the engine's output, [`Session::finish`] gives the result.
//! - `synth` (feature `synth`): deterministic synthetic street photos for tests and benchmarks.
//!
//! # Passes
//! 1. `general`: all lines, languages [`OcrOptions::languages`] (`rus+kaz+eng`), `--psm 6`.
//! 2. `latin`: lines whose general reading hints at a Telegram handle or link (`@`, look-alike
//!    of `@`, `t.me`, mixed scripts in a word, Cyrillic letters mixed with digits, a word
//!    starting with a misread `@` such as `Ф`, `Ө`, `(` followed by Latin look-alikes, an `@`
//!    in a word the engine doubted), and lines the general pass read nothing on at all (a
//!    line that passed the letter checks but defeated the all-language reading: blurred
//!    Latin handles); English only, whitelist of handle characters.
//! 3. `digits`: lines with at least [`OcrOptions::min_phone_digits`] digit-like characters,
//!    whitelist `+0123456789()- `.
//! 4. `latin-recheck`, `digits-recheck` (when [`OcrOptions::recheck`]): lines whose handle
//!    resp. phone the vote has not settled, read again from crops prepared at another scale
//!    (phones with 1.5 letter heights of margin left and right, for a first or last digit
//!    the line detection left out); a handle only one crop read is re-checked even when the
//!    engine was sure of it.
//! 5. `latin-third`, `digits-third` (when [`OcrOptions::recheck`]): lines with a handle resp.
//!    phone read but still not agreed on, read from crops at a third scale to break the tie.
//!
//! # Vote
//! A handle or phone is reported when passes on two differently prepared crops read the same
//! value, or when one crop's reading rests only on words the engine was sure of
//! ([`OcrOptions::sure_confidence`]) and no other reading of the line that the engine did not
//! doubt nearly matches it (`@topc_rystal_bot` sure beside `@topcrystal_bot` at 89: the line
//! gets the recheck instead).
//! A handle that another reading of the same line continues (`@dropstar` beside
//! `@dropstarbot`, or `@mix_v` beside `@mixvip`: underscores aside) is not reported: it was
//! most likely cut short (unless that longer reading is a doubted one of one crop). Readings
//! that lost an underscore that another crop read with confidence 80 or more (`@dropfast`
//! beside `@drop_fast` at 92) vote for that one, unless that crop was also read without it
//! (the general pass's underscore still counts against the Latin pass on its own crop, when
//! another crop lost it too): the engine drops the thin stroke far more often than it
//! invents one. Letters ending a handle where a digit pass read digits they do not look
//! like become those digits (`@star_kaifs0`, `90` read → `@star_kaif90`). A
//! third-look reading counts only when the engine did not doubt it, or, for a phone, when
//! it agrees with a reading of another crop the engine did not doubt.
//! In a handle, `o`, `l`, `i` after its last digits are digits (`@starwhite4o` → `@starwhite40`).
//! The passes on the same crop count as one vote: Tesseract gives a word the same reading and
//! confidence with or without the whitelist. Everything read is kept in
//! [`OcrResult::candidates`].
//!
//! # Cost
//! One decode of the input (bounded by [`Limits`]), one detection over at most
//! [`OcrOptions::detect_max_dim`]² pixels per view (two views for a colour photo), at most
//! [`OcrOptions::max_lines`] crops (each cut from both views of a colour photo), a strip of at
//! most [`OcrOptions::max_strip_pixels`], and at most seven OCR processes per image (about 2.2 on
//! the synthetic sets).

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
    /// A handle or phone read by one pass only is reported when the engine's confidence in
    /// each of its words is at least this (0–100); below it, a second pass must read the
    /// same value. Default 90.
    pub sure_confidence: f32,
    /// Lines whose handle or phone the first passes do not agree on get a second look with
    /// differently prepared crops (one more engine run per kind, only when needed).
    /// Default true.
    pub recheck: bool,
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
            sure_confidence: 90.0,
            recheck: true,
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
    /// Second look at handle lines the first passes disagree on: Latin whitelist, lines
    /// prepared differently (larger letters, local threshold).
    LatinRecheck,
    /// Second look at phone lines the first passes disagree on: digit whitelist, lines
    /// prepared differently.
    DigitsRecheck,
    /// Third look at handle lines whose readings still disagree after the recheck: Latin
    /// whitelist, lines prepared at a third scale (larger letters), to break the tie.
    LatinThird,
    /// Third look at phone lines whose readings still disagree after the recheck: digit
    /// whitelist, the third scale.
    DigitsThird,
}

impl Pass {
    /// Lower-case name (`general`, `latin`, `digits`, `plain`).
    pub fn name(self) -> &'static str {
        match self {
            Pass::General => "general",
            Pass::Latin => "latin",
            Pass::Digits => "digits",
            Pass::Plain => "plain",
            Pass::LatinRecheck => "latin-recheck",
            Pass::DigitsRecheck => "digits-recheck",
            Pass::LatinThird => "latin-third",
            Pass::DigitsThird => "digits-third",
        }
    }
}

/// Characters allowed in the Latin (handle) pass. The space must be allowed: without it
/// Tesseract 5 runs a line's words into one and reports confidence 0 for it.
pub const LATIN_WHITELIST: &str =
    "@_./:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
/// Characters allowed in the digit (phone) pass (space included, as above).
pub const DIGIT_WHITELIST: &str = "+0123456789()- ";

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
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The indicator (same kinds and normalisation as in page text).
    pub indicator: Indicator,
    /// The pass whose reading gave it.
    pub pass: Pass,
    /// Index into [`OcrResult::lines`] of the line it was read on.
    pub line: usize,
    /// On how many differently prepared images of the line (the first crops, the recheck crops,
    /// the third look) a pass read exactly this value: 2 or more when another crop confirmed
    /// it, 1 when the engine was sure of it.
    pub votes: usize,
    /// The engine's confidence (0–100) in the words it was read from, best over the passes.
    pub confidence: f32,
}

pub use post::Candidate;

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
    /// Validated indicators, one reading per line and kind chosen across passes by vote.
    pub indicators: Vec<Found>,
    /// Every indicator any pass read, reported or not (a reading no other pass confirmed and
    /// the engine was unsure of is left out of [`OcrResult::indicators`]).
    pub candidates: Vec<Candidate>,
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
    /// The brightness, then (for a colour image) the darkest channel: each line's crops are
    /// cut from the view it was found on ([`Line::view`]).
    views: Vec<GrayImage>,
    lines: Vec<Line>,
    crops: Vec<GrayImage>,
    readings: Vec<(Pass, post::Reading)>,
    /// The candidates of `readings`, extended as each reading comes in (worked out once).
    candidates: Vec<Candidate>,
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
        let (gray, darkest) = crate::qr::load::load_gray_and_darkest(bytes, &opts.limits)?;
        let mut views = vec![gray];
        views.extend(darkest);
        Ok(Session::from_views(views, opts))
    }

    /// As [`Session::start`], from an already decoded grayscale image.
    pub fn from_gray(gray: &GrayImage, opts: &OcrOptions) -> Session {
        Session::from_views(vec![gray.clone()], opts)
    }

    fn from_views(views: Vec<GrayImage>, opts: &OcrOptions) -> Session {
        // Twice as many lines are detected as are read: each is checked again on its prepared
        // crop at full resolution, where wall texture rarely still looks like a row of
        // letters, and only lines that keep enough letters are read.
        let detect_opts = OcrOptions {
            max_lines: opts.max_lines.saturating_mul(2),
            ..opts.clone()
        };
        let mut lines = Vec::new();
        let mut crops = Vec::new();
        let refs: Vec<&GrayImage> = views.iter().collect();
        for mut l in regions::detect(&refs, &detect_opts) {
            if lines.len() >= opts.max_lines {
                break;
            }
            let mut p = prep::crop_line(&views[l.view], &l, opts.letter_px);
            // A line is cut from the view where its ink stands out most from the background
            // (red ink on a grey wall: the darkest channel; yellow on black: the brightness).
            for (v, view) in views.iter().enumerate() {
                if v != l.view {
                    let q = prep::crop_line(view, &l, opts.letter_px);
                    if q.separation > p.separation {
                        p = q;
                        l.view = v;
                    }
                }
            }
            if p.letters < regions::MIN_LETTERS {
                continue;
            }
            // The same place seen as dark and as light letters: the text and the gaps between
            // its letters (as many as the letters, one more or less), or an outline's two
            // edges. Far more letters on one side tell the text; about as many, the
            // polarity of the minority of the pixels.
            match regions::twin(&lines, &l) {
                Some(k) if !regions::twin_is_text(&lines[k], &l, &views[l.view]) => {}
                Some(k) => (lines[k], crops[k]) = (l, p.image),
                None => {
                    lines.push(l);
                    crops.push(p.image);
                }
            }
        }
        Session {
            opts: opts.clone(),
            views,
            next: (!lines.is_empty()).then_some(Pass::General),
            lines,
            crops,
            readings: Vec::new(),
            candidates: Vec::new(),
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

    /// Each pass's reading so far, as the vote takes them.
    fn pass_readings(&self) -> Vec<(Pass, &post::Reading)> {
        self.readings.iter().map(|(p, r)| (*p, r)).collect()
    }

    fn reading(&self, pass: Pass) -> Option<&post::Reading> {
        self.readings
            .iter()
            .find(|(p, _)| *p == pass)
            .map(|(_, r)| r)
    }

    /// The next engine run to make, or `None` when done. Each job must be answered with
    /// [`Session::feed`] before asking again.
    pub fn next_job(&mut self) -> Option<Job> {
        loop {
            let pass = self.next?;
            let selected: Vec<usize> = match pass {
                Pass::General => (0..self.crops.len()).collect(),
                // Lines whose general reading hints at a handle, and those where the engine
                // saw an `@` in a word it doubted (`@БМО\МИ5ТАВВОТ'`, confidence 19), and
                // those it read nothing on at all.
                Pass::Latin => self.select(|g, i| {
                    post::hints_handle(&g.text(i))
                        || g.seen(i).contains('@')
                        || g.seen(i).trim().is_empty()
                }),
                Pass::Digits => {
                    let min = self.opts.min_phone_digits;
                    self.select(|g, i| post::digit_like(&g.text(i)) >= min)
                }
                Pass::LatinRecheck => self.unsettled(pass, post::hints_handle),
                Pass::DigitsRecheck => {
                    let min = self.opts.min_phone_digits;
                    self.unsettled(pass, |t| post::digit_like(t) >= min)
                }
                // Only lines with a handle read but not agreed on: a tie-breaker.
                Pass::LatinThird | Pass::DigitsThird => self.unsettled(pass, |_| false),
                Pass::Plain => Vec::new(),
            };
            self.next = match pass {
                Pass::General => Some(Pass::Latin),
                Pass::Latin => Some(Pass::Digits),
                Pass::Digits if self.opts.recheck => Some(Pass::LatinRecheck),
                Pass::LatinRecheck => Some(Pass::DigitsRecheck),
                Pass::DigitsRecheck => Some(Pass::LatinThird),
                Pass::LatinThird => Some(Pass::DigitsThird),
                _ => None,
            };
            if selected.is_empty() {
                continue;
            }
            let strip = match pass {
                Pass::LatinRecheck | Pass::DigitsRecheck | Pass::LatinThird | Pass::DigitsThird => {
                    let prepare = if matches!(pass, Pass::LatinThird | Pass::DigitsThird) {
                        prep::crop_line_third
                    } else {
                        prep::crop_line_alt
                    };
                    let side = if matches!(pass, Pass::DigitsRecheck | Pass::DigitsThird) {
                        prep::WIDE_SIDE_MARGIN
                    } else {
                        prep::SIDE_MARGIN
                    };
                    let alt: Vec<GrayImage> = (0..self.lines.len())
                        .map(|i| {
                            if selected.contains(&i) {
                                let line = &self.lines[i];
                                prepare(&self.views[line.view], line, self.opts.letter_px, side)
                            } else {
                                GrayImage::new(1, 1)
                            }
                        })
                        .collect();
                    prep::stack(&alt, &selected, &self.opts)
                }
                _ => prep::stack(&self.crops, &selected, &self.opts),
            };
            let image = prep::encode_pgm(&strip.image);
            let (languages, whitelist) = match pass {
                Pass::General => (self.opts.languages.clone(), None),
                Pass::Latin | Pass::LatinRecheck | Pass::LatinThird => {
                    ("eng".to_string(), Some(LATIN_WHITELIST))
                }
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

    /// Indices of lines `i` for which `f(general reading, i)` holds.
    fn select(&self, f: impl Fn(&post::Reading, usize) -> bool) -> Vec<usize> {
        let Some(g) = self.reading(Pass::General) else {
            return Vec::new();
        };
        (0..self.lines.len()).filter(|&i| f(g, i)).collect()
    }

    /// Lines that hint at an indicator of a kind the recheck `pass` reads (`hint` on the
    /// general reading, or a candidate of such a kind) for which the vote so far reports none
    /// of that kind, or (for the Latin recheck) only a handle that a single crop read: an
    /// engine sure of a reading is still wrong now and then (`l` for `i`), and a different
    /// reading of the other crop then contests it. (Sure phones are not re-checked: on the
    /// tuning sets that only made two wrong crops agree against a right one.)
    fn unsettled(&self, pass: Pass, hint: impl Fn(&str) -> bool) -> Vec<usize> {
        let recheck = pass == Pass::LatinRecheck;
        let f = |k| post::reads_kind(pass, k);
        let found = post::vote(
            &post::digit_tails(&self.candidates, &self.pass_readings()),
            self.opts.sure_confidence,
            self.opts.min_word_confidence,
        );
        let general = self.reading(Pass::General);
        (0..self.lines.len())
            .filter(|&i| {
                let hinted = general.is_some_and(|g| hint(&g.text(i)))
                    || self
                        .candidates
                        .iter()
                        .any(|c| c.line == i && f(c.indicator.kind));
                hinted
                    && !found
                        .iter()
                        .any(|x| x.line == i && f(x.indicator.kind) && (x.votes >= 2 || !recheck))
            })
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
        self.candidates
            .extend(post::candidates(&[(pass, &reading)]));
        self.readings.push((pass, reading));
    }

    /// The result: lines with their text and the indicators chosen across passes.
    pub fn finish(self) -> OcrResult {
        let n = self.lines.len();
        let readings = self.pass_readings();
        let (texts, indicators) = post::combine(
            n,
            &readings,
            &self.candidates,
            self.opts.sure_confidence,
            self.opts.min_word_confidence,
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
            width: self.views[0].width(),
            height: self.views[0].height(),
            text_free: n == 0,
            lines,
            text,
            indicators,
            candidates: self.candidates,
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

/// Repair and vote on given readings, one string per line for each pass (an empty string or a
/// missing entry: the pass did not read that line), every word read with confidence `conf`.
/// What [`Session::finish`] does after the engine; public for tests and tools. Returns the
/// repaired general text per line and the indicators chosen.
pub fn combine_readings(
    general: &[String],
    latin: &[String],
    digits: &[String],
    conf: f32,
    opts: &OcrOptions,
) -> (Vec<String>, Vec<Found>) {
    let n = general.len();
    let reading = |r: &[String]| {
        let texts: Vec<String> = (0..n)
            .map(|i| r.get(i).cloned().unwrap_or_default())
            .collect();
        post::Reading::from_texts(&texts, conf)
    };
    let (g, l, d) = (reading(general), reading(latin), reading(digits));
    let readings = [(Pass::General, &g), (Pass::Latin, &l), (Pass::Digits, &d)];
    let cands = post::candidates(&readings);
    let (texts, found) = post::combine(
        n,
        &readings,
        &cands,
        opts.sure_confidence,
        opts.min_word_confidence,
    );
    (texts, found)
}
