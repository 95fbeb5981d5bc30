//! `kuzet ocr`: text and indicators per image with the real engine (installed by `.ci/run`),
//! per-image errors that never stop the batch, and "OCR is off" when the engine is missing.

use std::path::Path;

use kuzet_classifier::ocr::synth::{self, Scene, Surface, ab_glyph::FontVec};

use crate::util::{kuzet, run, stderr, stdout};

fn write_scene(dir: &Path, name: &str, lines: &[&str], surface: Surface) {
    let path = std::env::var("KUZET_OCR_FONT")
        .unwrap_or_else(|_| "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf".into());
    let font =
        FontVec::try_from_vec(std::fs::read(&path).expect("DejaVu font (fonts-dejavu-core)"))
            .expect("font");
    let scene = Scene {
        width: 800,
        height: 600,
        surface,
        lines: lines.iter().map(|s| s.to_string()).collect(),
        text_px: 44.0,
        angle_deg: 7.0,
        shear: 0.0,
        blur: 0.8,
        contrast: 0.9,
        noise: 6.0,
        seed: 7,
    };
    synth::render(&font, &scene)
        .save(dir.join(name))
        .expect("write image");
}

#[test]
fn ocr_prints_text_and_indicators_per_image_and_errors_per_item() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_scene(
        dir.path(),
        "sticker.png",
        &["ЗАКЛАДКИ", "@snow_shop", "+7 707 123 45 67"],
        Surface::Sticker,
    );
    write_scene(dir.path(), "banner.png", &[], Surface::Banner);
    std::fs::write(dir.path().join("note.png"), "not an image").expect("write");
    let mut c = kuzet(dir.path());
    c.args([
        "ocr",
        "--format",
        "json",
        "sticker.png",
        "banner.png",
        "note.png",
        "gone.png",
    ]);
    let out = run(c, "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(rows.len(), 4, "{}", stdout(&out));

    let sticker = &rows[0];
    assert_eq!(sticker["path"], "sticker.png");
    assert_eq!(sticker["text_free"], false);
    let inds = sticker["indicators"].as_array().expect("indicators");
    assert!(
        inds.iter().any(|i| i["kind"] == "telegram"
            && i["value"] == "@snow_shop"
            && i["source"] == "image"),
        "{sticker}"
    );
    // Each indicator says how it was chosen: on how many differently prepared crops it was
    // read, and the engine's confidence in the words it rests on (a single reading is only
    // reported when the engine was sure of it).
    for i in inds {
        let votes = i["votes"].as_u64().expect("votes");
        let conf = i["confidence"].as_f64().expect("confidence");
        assert!((1..=2).contains(&votes), "{i}");
        assert!((0.0..=100.0).contains(&conf), "{i}");
        assert!(votes >= 2 || conf >= 90.0, "{i}");
    }
    assert!(
        sticker["text"]
            .as_str()
            .unwrap_or("")
            .to_uppercase()
            .contains("ЗАКЛАДКИ"),
        "{sticker}"
    );
    assert!(sticker["verdict"].is_string() && sticker["score"].is_number());

    assert_eq!(rows[1]["text_free"], true, "{}", rows[1]);
    assert_eq!(rows[1]["indicators"].as_array().map(Vec::len), Some(0));
    assert!(
        rows[2]["error"]
            .as_str()
            .unwrap_or("")
            .contains("unsupported"),
        "{}",
        rows[2]
    );
    assert!(rows[3]["error"].is_string(), "{}", rows[3]);

    let mut c = kuzet(dir.path());
    c.args(["ocr", "sticker.png"]);
    let out = run(c, "");
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let phone = text
        .lines()
        .find(|l| l.contains("indicator phone +77071234567 ("))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        phone.contains(" pass, ") && phone.contains(" vote") && phone.contains("confidence "),
        "{text}"
    );
    assert!(text.contains("indicator telegram @snow_shop ("), "{text}");
}

#[test]
fn ocr_without_the_engine_says_so_once_and_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_scene(dir.path(), "a.png", &["@snow_shop"], Surface::Banner);
    let mut c = kuzet(dir.path());
    c.args([
        "ocr",
        "--tesseract",
        "/nonexistent/tesseract",
        "a.png",
        "a.png",
    ]);
    let out = run(c, "");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.matches("OCR is off").count(), 1, "{err}");
    assert!(stdout(&out).is_empty());
}
