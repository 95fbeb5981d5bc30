//! `kuzet qr`: the design notes' contract (folders recursive, one JSON line per image, per-file
//! errors that never stop the batch) and its work limits.

use std::path::Path;

use serde_json::Value;

use crate::util::{kuzet, qr_png, run, stderr, stdout};

/// Runs `kuzet --format json qr ARGS…` in `dir`; one parsed JSON line per image.
fn qr_json(dir: &Path, args: &[&str]) -> Vec<Value> {
    let mut c = kuzet(dir);
    c.args(["--format", "json", "qr"]).args(args);
    let out = run(c, "");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn line<'a>(lines: &'a [Value], file: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["path"].as_str().unwrap().ends_with(file))
        .unwrap_or_else(|| panic!("no line for {file}: {lines:?}"))
}

#[test]
fn qr_reads_folders_recursively_and_reports_bad_files_without_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir_all(photos.join("raid-2")).unwrap();
    let shop = qr_png("https://t.me/some_shop_bot");
    std::fs::write(photos.join("a-sticker.png"), &shop).unwrap();
    std::fs::write(
        photos.join("raid-2/b-wall.png"),
        qr_png("tg://resolve?domain=other_shop"),
    )
    .unwrap();
    std::fs::write(photos.join("c-truncated.png"), &shop[..shop.len() / 3]).unwrap();
    std::fs::write(
        photos.join("d-noise.jpg"),
        b"\xff\xd8\xff not really a jpeg",
    )
    .unwrap();
    std::fs::write(photos.join("notes.txt"), "not an image, skipped in folders").unwrap();

    let lines = qr_json(dir.path(), &["photos"]);
    assert_eq!(lines.len(), 4, "{lines:?}");
    let a = line(&lines, "a-sticker.png");
    assert!(a["error"].is_null(), "{a}");
    assert_eq!(a["codes"][0]["text"], "https://t.me/some_shop_bot");
    assert!(
        a["codes"][0]["leads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["kind"] == "telegram"),
        "{a}"
    );
    let b = line(&lines, "b-wall.png");
    assert_eq!(b["codes"][0]["text"], "tg://resolve?domain=other_shop");
    for bad in ["c-truncated.png", "d-noise.jpg"] {
        let l = line(&lines, bad);
        assert!(l["error"].as_str().is_some_and(|e| !e.is_empty()), "{l}");
        assert_eq!(l["codes"], serde_json::json!([]), "{l}");
    }
}

#[test]
fn qr_work_limits_are_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("code.png"),
        qr_png("https://example.kz/menu"),
    )
    .unwrap();

    let read = qr_json(dir.path(), &["code.png"]);
    assert_eq!(read[0]["codes"][0]["text"], "https://example.kz/menu");
    // No pass allowed: no code, and no error either (the image itself is fine).
    let none = qr_json(dir.path(), &["--max-attempts", "0", "code.png"]);
    assert_eq!(none[0]["codes"], serde_json::json!([]), "{}", none[0]);
    assert!(none[0]["error"].is_null(), "{}", none[0]);
    // A pixel budget smaller than the image: no pass fits.
    let tiny = qr_json(dir.path(), &["--max-pixels-scanned", "100", "code.png"]);
    assert_eq!(tiny[0]["codes"], serde_json::json!([]), "{}", tiny[0]);
    // The byte limit is checked before reading.
    let big = qr_json(dir.path(), &["--max-bytes", "10", "code.png"]);
    assert!(
        big[0]["error"].as_str().unwrap().contains("limit"),
        "{}",
        big[0]
    );
}
