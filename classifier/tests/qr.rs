//! QR decoding: generated codes under transformations, hostile inputs, and a bounded
//! property test over image bytes (the fuzz target of record: `cargo test -p kuzet-classifier
//! --test qr`; raise `PROPTEST_CASES` for a longer run).

use std::io::Cursor;

use image::{GrayImage, ImageFormat, Luma};
use kuzet_classifier::qr::{self, LeadKind, Limits, QrError, QrOptions};
use proptest::prelude::*;

/// Renders `data` as a QR code: `module` px per module, 4-module quiet zone, dark on light.
fn render(data: &[u8], module: u32) -> GrayImage {
    let code = qrcode::QrCode::new(data).expect("encodable test payload");
    let n = code.width() as u32;
    let colors = code.to_colors();
    let side = (n + 8) * module;
    GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = ((x / module) as i64 - 4, (y / module) as i64 - 4);
        let dark = mx >= 0
            && my >= 0
            && (mx as u32) < n
            && (my as u32) < n
            && colors[my as usize * n as usize + mx as usize] == qrcode::Color::Dark;
        Luma([if dark { 20 } else { 235 }])
    })
}

/// Draws `img` onto `canvas` at (`x`,`y`).
fn place(canvas: &mut GrayImage, img: &GrayImage, x: u32, y: u32) {
    image::imageops::overlay(canvas, img, i64::from(x), i64::from(y));
}

/// Rotates about the centre by `deg` degrees (nearest neighbour, light outside).
fn rotate(img: &GrayImage, deg: f64) -> GrayImage {
    let (w, h) = img.dimensions();
    let (s, c) = deg.to_radians().sin_cos();
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    GrayImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (f64::from(x) - cx, f64::from(y) - cy);
        let (sx, sy) = (c * dx + s * dy + cx, -s * dx + c * dy + cy);
        if sx >= 0.0 && sy >= 0.0 && (sx as u32) < w && (sy as u32) < h {
            *img.get_pixel(sx as u32, sy as u32)
        } else {
            Luma([235])
        }
    })
}

fn encode(img: &GrayImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let dynamic = image::DynamicImage::ImageLuma8(img.clone());
    let dynamic = if format == ImageFormat::WebP {
        image::DynamicImage::ImageRgba8(dynamic.to_rgba8())
    } else {
        image::DynamicImage::ImageRgb8(dynamic.to_rgb8())
    };
    dynamic
        .write_to(&mut out, format)
        .expect("encode test image");
    out.into_inner()
}

fn texts(bytes: &[u8]) -> Vec<String> {
    let res = qr::decode_image(bytes, &QrOptions::default()).expect("decodable image");
    res.codes.into_iter().map(|c| c.text).collect()
}

const URL: &str = "https://shop.example.kz/catalog?id=42";

#[test]
fn reads_generated_codes_in_every_format() {
    let img = render(URL.as_bytes(), 4);
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::Bmp,
        ImageFormat::WebP,
    ] {
        assert_eq!(texts(&encode(&img, format)), [URL], "{format:?}");
    }
}

#[test]
fn reads_inverted_codes() {
    let mut img = render(URL.as_bytes(), 4);
    image::imageops::invert(&mut img);
    let png = encode(&img, ImageFormat::Png);
    let res = qr::decode_image(&png, &QrOptions::default()).unwrap();
    assert_eq!(res.codes.len(), 1);
    assert_eq!(res.codes[0].text, URL);
    assert!(
        res.codes[0].attempt.ends_with("-inv"),
        "read by {}",
        res.codes[0].attempt
    );
    // The plain rqrr baseline does not read light-on-dark codes.
    let plain = qr::decode_image_plain_rqrr(&png, &Limits::default()).unwrap();
    assert!(plain.codes.is_empty());
}

#[test]
fn reads_rotated_codes() {
    let code = render(URL.as_bytes(), 5);
    for deg in [10.0, 30.0, 45.0, 80.0] {
        let mut canvas = GrayImage::from_pixel(400, 400, Luma([235]));
        place(
            &mut canvas,
            &code,
            (400 - code.width()) / 2,
            (400 - code.height()) / 2,
        );
        let img = rotate(&canvas, deg);
        assert_eq!(texts(&encode(&img, ImageFormat::Png)), [URL], "{deg}°");
    }
}

/// rqrr patch 9: a grid located without the perspective search and refined afterwards ends on
/// the bounds and payload that `detect_grids` (search while locating) gives, and a located grid
/// decodes before any search.
#[test]
fn refining_a_located_grid_equals_rqrr_search_while_locating() {
    let code = render(URL.as_bytes(), 4);
    for deg in [0.0, 7.0, 23.0, 41.0] {
        let mut canvas = GrayImage::from_pixel(360, 360, Luma([235]));
        place(&mut canvas, &code, 30, 50);
        let img = rotate(&canvas, deg);
        let bits: Vec<u8> = img.as_raw().iter().map(|&p| u8::from(p < 128)).collect();
        let (w, h) = (img.width() as usize, img.height() as usize);
        let mut upstream = rqrr::PreparedImage::from_bitmap_bytes(w, h, bits.clone());
        let mut lazy = rqrr::PreparedImage::from_bitmap_bytes(w, h, bits);
        let want = upstream.detect_grids();
        let mut got = lazy.detect_grids_unrefined();
        assert_eq!(want.len(), 1, "{deg}°");
        assert_eq!(got.len(), 1, "{deg}°");
        assert_eq!(
            got[0].decode().expect("decodes as located").1,
            URL,
            "{deg}°"
        );
        assert!(got[0].refine(), "the first refinement runs the search");
        assert!(!got[0].refine(), "the second does nothing");
        assert_eq!(got[0].bounds, want[0].bounds, "{deg}°");
        assert_eq!(got[0].decode().unwrap().1, want[0].decode().unwrap().1);
    }
}

#[test]
fn reads_small_code_in_large_photo_and_tiny_image() {
    // 2 px per module: the pipeline's upscaled pass reads it.
    let tiny = render(b"t.me/shop_kz", 2);
    assert_eq!(texts(&encode(&tiny, ImageFormat::Png)), ["t.me/shop_kz"]);
    // A 2400×1600 "photo" with a code of 8 px modules near a corner: scaled down first.
    let mut photo = GrayImage::from_fn(2400, 1600, |x, y| Luma([(100 + (x + y) % 90) as u8]));
    place(&mut photo, &render(URL.as_bytes(), 8), 2000, 1200);
    let res = qr::decode_image(&encode(&photo, ImageFormat::Jpeg), &QrOptions::default()).unwrap();
    let got: Vec<_> = res.codes.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(got, [URL]);
    assert_eq!((res.width, res.height), (2400, 1600));
    let (x, y) = res.codes[0].corners[0];
    assert!(
        (2000..2200).contains(&x) && (1200..1400).contains(&y),
        "corner in input coordinates: {x},{y}"
    );
}

#[test]
fn reads_noisy_low_contrast_code() {
    let code = render(URL.as_bytes(), 4);
    let mut state = 0x2545_f491_u32;
    let w = code.width() as i32;
    let img = GrayImage::from_fn(code.width(), code.height(), |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state % 41) as i32 - 20;
        // Contrast compressed to about 90..160, plus a left-to-right light gradient.
        let v = i32::from(code.get_pixel(x, y).0[0]) * 70 / 215 + 84 + x as i32 * 40 / w;
        Luma([(v + noise).clamp(0, 255) as u8])
    });
    assert_eq!(texts(&encode(&img, ImageFormat::Png)), [URL]);
}

#[test]
fn reads_two_codes_once_each() {
    let a = render(b"https://a.example/1", 4);
    let b = render(b"https://b.example/2", 4);
    let (w, h) = (a.width() + b.width() + 40, a.height().max(b.height()) + 40);
    let mut canvas = GrayImage::from_pixel(w, h, Luma([235]));
    place(&mut canvas, &a, 10, 20);
    place(&mut canvas, &b, a.width() + 30, 20);
    let mut got = texts(&encode(&canvas, ImageFormat::Png));
    got.sort();
    assert_eq!(got, ["https://a.example/1", "https://b.example/2"]);
}

#[test]
fn shift_jis_payloads_become_text() {
    // "テスト" in Shift_JIS, not valid UTF-8.
    let sjis = [0x83, 0x65, 0x83, 0x58, 0x83, 0x67];
    let png = encode(&render(&sjis, 4), ImageFormat::Png);
    let res = qr::decode_image(&png, &QrOptions::default()).unwrap();
    assert_eq!(res.codes[0].text, "テスト");
    assert_eq!(res.codes[0].bytes, sjis);
}

#[test]
fn payloads_become_typed_leads() {
    let img = render(b"javascript:fetch('//evil')", 4);
    let res = qr::decode_image(&encode(&img, ImageFormat::Png), &QrOptions::default()).unwrap();
    let leads = qr::leads(&res.codes[0].text);
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].kind, LeadKind::DangerousScheme);
}

#[test]
fn blank_image_has_no_codes_and_respects_the_attempt_cap() {
    let img = GrayImage::from_pixel(300, 200, Luma([200]));
    let opts = QrOptions {
        max_attempts: 3,
        ..QrOptions::default()
    };
    let res = qr::decode_image(&encode(&img, ImageFormat::Png), &opts).unwrap();
    assert!(res.codes.is_empty());
    assert_eq!(res.attempts_tried, 3);
}

// ---- hostile inputs ----

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

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A well-formed PNG claiming `w×h` gray pixels whose IDAT holds only the first row (a
/// decompression bomb's header: tiny file, huge claimed size).
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    // zlib stream with one stored block: filter byte 0 and one pixel, then Adler-32.
    let raw = [0u8, 0u8];
    let mut idat = vec![0x78, 0x01, 0x01, 2, 0, 0xfd, 0xff];
    idat.extend_from_slice(&raw);
    idat.extend_from_slice(&0x0002_0001u32.to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn one_pixel_wide_billion_pixel_png_is_refused_from_the_header() {
    let bomb = png_bomb(1, 1_000_000_000);
    let err = qr::decode_image(&bomb, &QrOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            QrError::TooHigh {
                height: 1_000_000_000,
                ..
            }
        ),
        "{err}"
    );
    // With the height limit lifted, the pixel limit catches it.
    let opts = QrOptions {
        limits: Limits {
            max_height: u32::MAX,
            ..Limits::default()
        },
        ..QrOptions::default()
    };
    let err = qr::decode_image(&bomb, &opts).unwrap_err();
    assert!(
        matches!(err, QrError::TooManyPixels { width: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("1×1000000000"), "{err}");
    // The same file with a claimed size of 1×1 is a valid (blank) image: the header is sound.
    let res = qr::decode_image(&png_bomb(1, 1), &QrOptions::default()).unwrap();
    assert_eq!((res.width, res.height), (1, 1));
}

#[test]
fn truncated_jpeg_is_a_clear_error() {
    let jpeg = encode(&render(URL.as_bytes(), 4), ImageFormat::Jpeg);
    for cut in [2, 20, jpeg.len() / 3] {
        match qr::decode_image(&jpeg[..cut], &QrOptions::default()) {
            Err(QrError::Decode(msg)) => assert!(!msg.is_empty()),
            // Two bytes are not even a JPEG signature.
            Err(QrError::UnsupportedFormat(_)) if cut < 3 => {}
            // A decoder may pad a cut-off scan; it must then simply find nothing.
            Ok(res) => assert!(res.codes.is_empty(), "cut at {cut}"),
            Err(other) => panic!("cut at {cut}: unexpected error {other}"),
        }
    }
}

#[test]
fn random_bytes_and_oversized_inputs_are_refused() {
    let mut state = 7u64;
    let random: Vec<u8> = (0..10_000)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 56) as u8
        })
        .collect();
    let err = qr::decode_image(&random, &QrOptions::default()).unwrap_err();
    assert!(matches!(err, QrError::UnsupportedFormat(_)), "{err}");
    let opts = QrOptions {
        limits: Limits {
            max_bytes: 100,
            ..Limits::default()
        },
        ..QrOptions::default()
    };
    let err = qr::decode_image(&random, &opts).unwrap_err();
    assert!(
        matches!(
            err,
            QrError::TooManyBytes {
                len: 10_000,
                max: 100
            }
        ),
        "{err}"
    );
    let empty = qr::decode_image(b"", &QrOptions::default());
    assert!(matches!(empty, Err(QrError::UnsupportedFormat(_))));
    // TIFF is an image format, but not an accepted one.
    let tiff = qr::decode_image(b"II*\0\x08\0\0\0", &QrOptions::default());
    assert!(matches!(tiff, Err(QrError::UnsupportedFormat(_))));
}

fn seeds() -> Vec<Vec<u8>> {
    let img = render(b"seed", 2);
    [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::Bmp,
        ImageFormat::WebP,
    ]
    .into_iter()
    .map(|f| encode(&img, f))
    .collect()
}

fn small_limits() -> QrOptions {
    QrOptions {
        limits: Limits {
            max_pixels: 4_000_000,
            ..Limits::default()
        },
        ..QrOptions::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Mutated valid images (byte flips, truncation) never panic or hang.
    #[test]
    fn mutated_images_never_panic(
        seed in 0usize..5,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..12),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = seeds()[seed].clone();
        for (i, v) in flips {
            let i = i.index(bytes.len());
            bytes[i] = v;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let _ = qr::decode_image(&bytes, &small_limits());
    }

    /// Arbitrary bytes behind a real magic number never panic.
    #[test]
    fn arbitrary_bytes_never_panic(
        magic in 0usize..6,
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let prefixes: [&[u8]; 6] = [
            b"\x89PNG\r\n\x1a\n",
            b"\xff\xd8\xff",
            b"GIF89a",
            b"BM",
            b"RIFF\0\0\0\0WEBPVP8 ",
            b"",
        ];
        let mut bytes = prefixes[magic].to_vec();
        bytes.extend_from_slice(&tail);
        let _ = qr::decode_image(&bytes, &small_limits());
    }
}
