//! OCR, pure half: repair cases from `data/ocr_repair.toml`, the session state machine driven
//! with scripted engine answers, text-free skipping, and hostile images.

use image::{GrayImage, Luma};
use kuzet_classifier::ocr::{self, OcrError, OcrOptions, Pass, Session};

#[derive(serde::Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    general: String,
    #[serde(default)]
    latin: String,
    #[serde(default)]
    digits: String,
    /// The engine's confidence in every word (default 100: sure, so the case tests repair
    /// and the choice between sure readings, not the vote).
    #[serde(default = "sure")]
    conf: f32,
    expect: Vec<String>,
}

fn sure() -> f32 {
    100.0
}

#[test]
fn repair_cases_from_the_data_file() {
    let text = include_str!("data/ocr_repair.toml");
    let cases: Cases = toml::from_str(text).expect("ocr_repair.toml parses");
    assert!(cases.case.len() >= 10);
    let mut failures = Vec::new();
    for c in &cases.case {
        let (_, found) = ocr::combine_readings(
            std::slice::from_ref(&c.general),
            std::slice::from_ref(&c.latin),
            std::slice::from_ref(&c.digits),
            c.conf,
            &OcrOptions::default(),
        );
        let got: Vec<String> = found
            .iter()
            .map(|f| format!("{}:{}", f.indicator.kind.name(), f.indicator.value))
            .collect();
        if got != c.expect {
            failures.push(format!(
                "{}: expected {:?}, got {:?}",
                c.name, c.expect, got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A light image with dark letter-like rings in one row (a "word" of `n` letters), 20° skew.
fn ring_word(n: u32, angle_deg: f32) -> GrayImage {
    let mut g = GrayImage::from_pixel(640, 480, Luma([200]));
    let t = angle_deg.to_radians().tan();
    for k in 0..n {
        let x0 = 80 + k * 44;
        let y0 = (260.0 - (k * 44) as f32 * t) as u32;
        for y in y0..y0 + 36 {
            for x in x0..x0 + 24 {
                if x < x0 + 5 || x >= x0 + 19 || y < y0 + 5 || y >= y0 + 31 {
                    g.put_pixel(x, y, Luma([30]));
                }
            }
        }
    }
    g
}

fn png(g: &GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    g.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode png");
    out
}

/// CRC-32 of a PNG chunk (type and data), to keep the edited header valid.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn tsv_word(top: u32, conf: f32, text: &str) -> String {
    format!("5\t1\t1\t1\t1\t1\t10\t{top}\t100\t30\t{conf}\t{text}\n")
}

const TSV_HEADER: &str = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n";

/// The engine's answer for a strip of one line: `text` as one TSV word at confidence `conf`.
fn one_line(conf: f32, text: &str) -> Result<String, String> {
    Ok(format!("{TSV_HEADER}{}", tsv_word(30, conf, text)))
}

#[test]
fn session_runs_general_then_latin_then_digits_and_chooses() {
    let opts = OcrOptions::default();
    let mut s = Session::start(&png(&ring_word(8, 6.0)), &opts).expect("valid image");
    assert_eq!(s.lines().len(), 1, "{:?}", s.lines());
    assert!((s.lines()[0].angle_deg - 6.0).abs() < 2.0);
    let crop = &s.crops()[0];
    // Letters scaled to about `letter_px`: 36 px rings → ~40 px, plus margins.
    assert!(
        crop.height() > 40 && crop.height() < 160,
        "{:?}",
        crop.dimensions()
    );
    assert!(crop.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255));

    let job = s.next_job().expect("general pass");
    assert_eq!(job.pass, Pass::General);
    assert_eq!(job.args(), ["-l", "rus+kaz+eng", "--psm", "6", "tsv"]);
    assert!(job.image.starts_with(b"P5\n"));
    s.feed(Ok(format!(
        "{TSV_HEADER}{}{}",
        tsv_word(30, 90.0, "@ѕпоw_ѕһор"),
        tsv_word(30, 85.0, "8-777-5б5-75-З5")
    )));

    let job = s.next_job().expect("latin pass: the line has an @");
    assert_eq!(job.pass, Pass::Latin);
    assert!(
        job.args()
            .iter()
            .any(|a| a.starts_with("tessedit_char_whitelist=@_"))
    );
    s.feed(one_line(80.0, "@snow_shop 8"));

    let job = s.next_job().expect("digits pass: the line has a number");
    assert_eq!(job.pass, Pass::Digits);
    s.feed(Err("killed".into()));

    // The handle rests on one crop (the engine sure of it): the Latin recheck reads it from
    // another crop and confirms it. The phone rests on an unsure general reading alone, so it
    // gets a second look too.
    let job = s.next_job().expect("a recheck of the one-crop handle");
    assert_eq!(job.pass, Pass::LatinRecheck);
    s.feed(one_line(75.0, "@snow_shop"));
    let job = s.next_job().expect("a recheck of the unconfirmed phone");
    assert_eq!(job.pass, Pass::DigitsRecheck);
    assert!(
        job.args()
            .iter()
            .any(|a| a == "tessedit_char_whitelist=+0123456789()- ")
    );
    s.feed(one_line(70.0, "8-777-565-75-35"));
    assert!(s.next_job().is_none());

    let r = s.finish();
    assert!(!r.text_free);
    assert_eq!(r.passes_run, 5);
    assert_eq!(r.pass_errors, ["digits pass: killed"]);
    let got: Vec<(&str, Pass, usize)> = r
        .indicators
        .iter()
        .map(|f| (f.indicator.value.as_str(), f.pass, f.votes))
        .collect();
    assert_eq!(
        got,
        [
            ("@snow_shop", Pass::Latin, 2),
            ("+77775657535", Pass::DigitsRecheck, 2)
        ]
    );
    assert!(r.text.contains("@snow_shop"), "{}", r.text);
}

/// A session on [`ring_word`] driven by scripted engine answers: the general pass reads
/// `general`, then each `(pass, confidence, text)` in turn must be the next job asked for and
/// gets that one-line answer; no further job is asked for. Returns the result and the jobs.
fn scripted(
    general: (f32, &str),
    answers: &[(Pass, f32, &str)],
) -> (ocr::OcrResult, Vec<ocr::Job>) {
    let mut s = Session::from_gray(&ring_word(8, 0.0), &OcrOptions::default());
    assert_eq!(s.next_job().map(|j| j.pass), Some(Pass::General));
    s.feed(one_line(general.0, general.1));
    let mut jobs = Vec::new();
    for &(pass, conf, text) in answers {
        let job = s
            .next_job()
            .unwrap_or_else(|| panic!("no job, expected {pass:?}"));
        assert_eq!(job.pass, pass);
        jobs.push(job);
        s.feed(one_line(conf, text));
    }
    assert!(s.next_job().is_none());
    (s.finish(), jobs)
}

/// The reported indicators' values with their votes.
fn votes(r: &ocr::OcrResult) -> Vec<(&str, usize)> {
    r.indicators
        .iter()
        .map(|f| (f.indicator.value.as_str(), f.votes))
        .collect()
}

#[test]
fn a_reading_only_one_pass_made_and_the_engine_doubted_is_dropped() {
    let mut s = Session::from_gray(&ring_word(8, 0.0), &OcrOptions::default());
    assert_eq!(s.next_job().map(|j| j.pass), Some(Pass::General));
    s.feed(one_line(88.0, "Пиши"));
    // No handle hint in the general reading: no Latin pass; no digits: no digit pass.
    assert!(s.next_job().is_none());
    let r = s.finish();
    assert!(r.indicators.is_empty());

    // The Latin pass alone reads a handle, the engine unsure of it; the recheck reads a
    // different one; the third look agrees with the first, but the engine doubts it. Nothing
    // is confirmed: all are candidates, none is reported.
    let disagree = |third_conf: f32| {
        let answers = [
            (Pass::Latin, 64.0, "@zakazstar116"),
            (Pass::LatinRecheck, 71.0, "@zakazstarl16"),
            (Pass::LatinThird, third_conf, "@zakazstar116"),
        ];
        scripted((88.0, "Пиши zakazstar"), &answers).0
    };
    let r = disagree(10.0);
    assert!(r.indicators.is_empty(), "{:?}", r.indicators);
    let c: Vec<(&str, Pass)> = r
        .candidates
        .iter()
        .map(|c| (c.indicator.value.as_str(), c.pass))
        .collect();
    assert_eq!(
        c,
        [
            ("@zakazstar116", Pass::Latin),
            ("@zakazstarl16", Pass::LatinRecheck),
            ("@zakazstar116", Pass::LatinThird)
        ]
    );
    // A third look the engine does not doubt breaks the tie: two crops of three agree.
    let r = disagree(55.0);
    assert_eq!(votes(&r), [("@zakazstar116", 2)]);

    // Without the recheck and with a sure engine, the Latin pass alone is enough.
    let opts = OcrOptions {
        recheck: false,
        ..OcrOptions::default()
    };
    let mut s = Session::from_gray(&ring_word(8, 0.0), &opts);
    s.next_job();
    s.feed(one_line(88.0, "Пиши zakazstar"));
    s.next_job();
    s.feed(one_line(96.0, "@zakazstar116"));
    assert!(s.next_job().is_none());
    let r = s.finish();
    let got: Vec<&str> = r
        .indicators
        .iter()
        .map(|f| f.indicator.value.as_str())
        .collect();
    assert_eq!(got, ["@zakazstar116"]);
}

#[test]
fn a_sure_handle_of_one_crop_is_rechecked_and_a_rival_reading_contests_it() {
    // The Latin pass is sure of `@zakazstarl16` (an `l` for a `1`); the recheck still runs on
    // the line, reads `@zakazstar116`, and the two differ: the third look decides.
    let (r, _) = scripted(
        (88.0, "Пиши zakazstar"),
        &[
            (Pass::Latin, 96.0, "@zakazstarl16"),
            (Pass::LatinRecheck, 71.0, "@zakazstar116"),
            (Pass::LatinThird, 64.0, "@zakazstar116"),
        ],
    );
    assert_eq!(votes(&r), [("@zakazstar116", 2)]);
    // A recheck that agrees settles it at once: no third look.
    let (r, _) = scripted(
        (88.0, "Пиши zakazstar"),
        &[
            (Pass::Latin, 96.0, "@zakazstar116"),
            (Pass::LatinRecheck, 70.0, "@zakazstar116"),
        ],
    );
    assert_eq!(r.indicators.len(), 1);
}

#[test]
fn a_line_the_general_pass_read_nothing_on_gets_the_latin_pass() {
    // The all-language reading gives nothing for a line that passed the letter checks; the
    // Latin pass reads a handle there and the recheck confirms it.
    let (r, _) = scripted(
        (0.0, ""),
        &[
            (Pass::Latin, 80.0, "@dropmoon"),
            (Pass::LatinRecheck, 75.0, "@dropmoon"),
        ],
    );
    assert_eq!(votes(&r), [("@dropmoon", 2)]);
}

#[test]
fn a_phone_the_first_two_crops_read_differently_gets_a_third_look() {
    // The first crop reads one number (general and digit pass: one view), the recheck another;
    // the third look, with a digit whitelist, agrees with the first: reported with two votes.
    // A third look the engine doubts counts only beside a first reading it did not doubt.
    let run = |third_conf: f32, first_conf: f32, general: &str| {
        let answers = [
            (Pass::Digits, first_conf, "+7 (700) 189-52-57"),
            (Pass::DigitsRecheck, 43.0, "+7 (700) 189-52-87"),
            (Pass::DigitsThird, third_conf, "+7 (700) 189-52-57"),
        ];
        let (r, jobs) = scripted((70.0, general), &answers);
        assert_eq!(
            jobs[2].whitelist,
            Some(kuzet_classifier::ocr::DIGIT_WHITELIST)
        );
        r
    };
    let got = |r: &ocr::OcrResult| -> Vec<(String, Pass, usize)> {
        r.indicators
            .iter()
            .map(|f| (f.indicator.value.clone(), f.pass, f.votes))
            .collect()
    };
    let want = [("+77001895257".to_string(), Pass::Digits, 2)];
    let general = "Звони +7 (700) 189-52-57";
    assert_eq!(got(&run(60.0, 75.0, general)), want);
    assert_eq!(got(&run(5.0, 75.0, general)), want);
    // The general pass misread a digit, the digit pass was doubted too: nothing is agreed.
    let r = run(5.0, 15.0, "Звони +7 (700) 189-52-37");
    assert!(r.indicators.is_empty(), "{:?}", r.indicators);
    assert_eq!(r.passes_run, 4);
}

#[test]
fn red_ink_on_a_grey_wall_is_cut_from_the_darkest_channel() {
    // Rings in red (255, 60, 60) on grey 128, with grain (±30 levels, the same on every
    // channel): 27 levels apart in brightness, 68 in the darkest channel. The line is read
    // from the view where its ink stands out more from the grain.
    let shape = ring_word(8, 0.0);
    let rgb = image::RgbImage::from_fn(640, 480, |x, y| {
        let grain = ((x * 7919 + y * 104_729) % 61) as i32 - 30;
        let ink = shape.get_pixel(x, y).0[0] < 100;
        let base = if ink { [255, 60, 60] } else { [128, 128, 128] };
        image::Rgb(base.map(|c: i32| (c + grain).clamp(0, 255) as u8))
    });
    let mut bytes = Vec::new();
    rgb.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .expect("encode png");
    let s = Session::start(&bytes, &OcrOptions::default()).expect("session");
    let views: Vec<usize> = s.lines().iter().map(|l| l.view).collect();
    assert_eq!(views, [1], "one line, from the darkest channel");
    // The same photo in grey (the brightness alone) does not even show the line.
    let grey = image::DynamicImage::ImageRgb8(rgb).to_luma8();
    let s = Session::start(&png(&grey), &OcrOptions::default()).expect("session");
    assert!(s.lines().is_empty(), "{:?}", s.lines());
}

#[test]
fn a_failed_general_pass_ends_the_session() {
    let mut s = Session::from_gray(&ring_word(6, 0.0), &OcrOptions::default());
    assert!(s.next_job().is_some());
    s.feed(Err("timeout".into()));
    assert!(s.next_job().is_none());
    let r = s.finish();
    assert!(r.indicators.is_empty());
    assert_eq!(r.pass_errors.len(), 1);
}

#[test]
fn photos_of_nothing_are_skipped_without_any_engine_run() {
    let opts = OcrOptions::default();
    // Flat, smooth gradient, and fine noise (blobs too small and unchained).
    let flat = GrayImage::from_pixel(800, 600, Luma([120]));
    let gradient = GrayImage::from_fn(800, 600, |x, y| Luma([((x + y) / 6) as u8]));
    let noise = GrayImage::from_fn(800, 600, |x, y| {
        let h = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 7;
        Luma([100 + (h % 40) as u8])
    });
    for (name, g) in [("flat", flat), ("gradient", gradient), ("noise", noise)] {
        let mut s = Session::from_gray(&g, &opts);
        assert!(s.next_job().is_none(), "{name}: {:?}", s.lines());
        let r = s.finish();
        assert!(r.text_free, "{name}");
        assert_eq!(r.passes_run, 0);
    }
}

#[test]
fn hostile_images_are_clear_errors() {
    let opts = OcrOptions::default();
    // 1 × 100000: over the height limit.
    let tall = png(&GrayImage::from_pixel(1, 100_000, Luma([0])));
    assert!(matches!(
        Session::start(&tall, &opts),
        Err(OcrError::Image(
            kuzet_classifier::qr::QrError::TooHigh { .. }
        ))
    ));
    // A pixel bomb: a tiny PNG whose header claims 60000 × 60000 pixels.
    let mut bomb = png(&GrayImage::from_pixel(8, 8, Luma([0])));
    bomb[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&60_000u32.to_be_bytes());
    let crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    let e = Session::start(&bomb, &opts).expect_err("bomb refused");
    assert!(e.to_string().contains("60000"), "{e}");
    // Truncated file.
    let good = png(&ring_word(5, 0.0));
    let e = Session::start(&good[..good.len() / 2], &opts).expect_err("truncated refused");
    assert!(e.to_string().contains("decode"), "{e}");
    // Not an image at all.
    assert!(matches!(
        Session::start(b"@shop_bot +77071234567", &opts),
        Err(OcrError::Image(
            kuzet_classifier::qr::QrError::UnsupportedFormat(_)
        ))
    ));
    // 1 × 10000 within the limits: a valid image, no text, no panic.
    let thin = png(&GrayImage::from_pixel(1, 10_000, Luma([0])));
    let r = Session::start(&thin, &opts)
        .expect("thin image loads")
        .finish();
    assert!(r.text_free);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
        let _ = Session::start(&bytes, &OcrOptions::default());
    }

    #[test]
    fn arbitrary_engine_output_never_panics(out in ".{0,400}") {
        let mut s = Session::from_gray(&ring_word(5, 3.0), &OcrOptions::default());
        while s.next_job().is_some() {
            s.feed(Ok(format!("{TSV_HEADER}{out}\n5\t1\t1\t1\t1\t1\t0\t30\t9\t9\t50\t{out}")));
        }
        let _ = s.finish();
    }
}
