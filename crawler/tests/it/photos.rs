//! Photo folders: EXIF GPS and time, payload decoding through a plugged decoder, hostile files.

use std::io::Cursor;
use std::path::PathBuf;

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use kuzet_crawler::photos::{PhotoLeadKind, PhotoLimits, scan_folder};

fn r(num: u32, denom: u32) -> Rational {
    Rational { num, denom }
}

/// A JPEG whose only content is an APP1 Exif segment (enough for EXIF readers).
fn jpeg_with_exif() -> Vec<u8> {
    let fields = [
        Field {
            tag: Tag::Make,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"KuzetCam".to_vec()]),
        },
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"2025:06:13 14:50:00".to_vec()]),
        },
        Field {
            tag: Tag::OffsetTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"+05:00".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![r(43, 1), r(14, 1), r(1830, 100)]),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"E".to_vec()]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![r(76, 1), r(53, 1), r(44, 1)]),
        },
        Field {
            tag: Tag::GPSAltitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![r(8005, 10)]),
        },
        Field {
            tag: Tag::GPSDateStamp,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"2025:06:13".to_vec()]),
        },
        Field {
            tag: Tag::GPSTimeStamp,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![r(9, 1), r(50, 1), r(0, 1)]),
        },
    ];
    let mut w = Writer::new();
    for f in &fields {
        w.push_field(f);
    }
    let mut tiff = Cursor::new(Vec::new());
    w.write(&mut tiff, false).unwrap();
    let tiff = tiff.into_inner();
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1];
    jpeg.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    jpeg.extend_from_slice(b"Exif\0\0");
    jpeg.extend_from_slice(&tiff);
    jpeg.extend_from_slice(&[0xFF, 0xD9]);
    jpeg
}

#[test]
fn gps_time_payloads_and_hostile_files() {
    let dir = std::env::temp_dir().join(format!("kuzet-photos-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("street/deeper")).unwrap();
    std::fs::write(dir.join("street/wall.jpg"), jpeg_with_exif()).unwrap();
    let qr =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/qr-wall.png"))
            .unwrap();
    std::fs::write(dir.join("street/deeper/qr.PNG"), &qr).unwrap();
    std::fs::write(dir.join("notes.txt"), "not an image").unwrap();
    std::fs::write(
        dir.join("broken.jpg"),
        b"\xFF\xD8\xFF\xE1\xFF\xFFExif\0\0garbage",
    )
    .unwrap();
    std::fs::write(dir.join("huge.jpg"), vec![0u8; 5000]).unwrap();
    std::fs::write(dir.join("evil.png"), b"\x89PNG-evil").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/", dir.join("loop")).unwrap();

    // A stand-in for the classifier's QR decoder: knows the fixture QR and panics on "evil".
    let qr_payload = qr.clone();
    let decoder = move |bytes: &[u8]| -> Vec<String> {
        if bytes.starts_with(b"\x89PNG-evil") {
            panic!("hostile image");
        }
        if bytes == qr_payload.as_slice() {
            vec!["t.me/aqbarys_store24".to_string()]
        } else {
            Vec::new()
        }
    };
    let limits = PhotoLimits {
        max_file_bytes: 4096,
        ..PhotoLimits::default()
    };
    let scan = scan_folder(&dir, &limits, &decoder).unwrap();
    let names: Vec<String> = scan
        .photos
        .iter()
        .map(|p| {
            p.path
                .strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "broken.jpg",
            "evil.png",
            "huge.jpg",
            "street/deeper/qr.PNG",
            "street/wall.jpg"
        ]
    );
    let by = |n: &str| scan.photos.iter().find(|p| p.path.ends_with(n)).unwrap();
    assert!(by("huge.jpg").error.as_deref().unwrap().contains("exceeds"));
    assert_eq!(
        by("evil.png").error.as_deref(),
        Some("image decoder panicked")
    );
    assert!(by("broken.jpg").error.is_none() && by("broken.jpg").exif.is_none());

    let wall = by("wall.jpg");
    let exif = wall.exif.as_ref().unwrap();
    let gps = exif.gps.unwrap();
    assert!(
        (gps.latitude - (43.0 + 14.0 / 60.0 + 18.3 / 3600.0)).abs() < 1e-9,
        "{gps:?}"
    );
    assert!((gps.longitude - (76.0 + 53.0 / 60.0 + 44.0 / 3600.0)).abs() < 1e-9);
    assert_eq!(gps.altitude_m, Some(800.5));
    assert_eq!(exif.taken_at.as_deref(), Some("2025-06-13T14:50:00+05:00"));
    assert_eq!(exif.gps_time.as_deref(), Some("2025-06-13T09:50:00Z"));
    assert_eq!(exif.camera.as_deref(), Some("KuzetCam"));
    assert_eq!(wall.sha256.len(), 64);

    // Leads carry provenance.
    assert_eq!(scan.leads.len(), 2);
    let payload = scan
        .leads
        .iter()
        .find(|l| matches!(l.kind, PhotoLeadKind::Payload(_)))
        .unwrap();
    assert_eq!(
        payload.kind,
        PhotoLeadKind::Payload("t.me/aqbarys_store24".into())
    );
    assert!(payload.path.ends_with("qr.PNG"));
    let place = scan
        .leads
        .iter()
        .find(|l| matches!(l.kind, PhotoLeadKind::Position(_)))
        .unwrap();
    assert_eq!(
        (place.sha256.as_str(), place.taken_at.as_deref()),
        (wall.sha256.as_str(), Some("2025-06-13T14:50:00+05:00"))
    );

    // Missing folder: an error naming it.
    let e = scan_folder(&dir.join("missing"), &limits, &decoder).unwrap_err();
    assert!(e.to_string().contains("missing"));
    let _ = std::fs::remove_dir_all(&dir);
}
