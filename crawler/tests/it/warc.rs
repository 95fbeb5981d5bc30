//! WARC evidence: write real exchanges, read them back by offset, detect tampering.

use std::io::Write;
use std::path::PathBuf;

use kuzet_crawler::warc::{WarcWriter, read_record_at, verify};

use crate::{loopback_fetcher, servers, url};

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kuzet-crawler-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

#[tokio::test]
async fn exchanges_round_trip_and_tampering_is_detected() {
    let page = "<html><body>Мефедрон, закладки, Kaspi</body></html>".repeat(5);
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(page.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        gz.len()
    )
    .into_bytes();
    resp.extend_from_slice(&gz);
    let a = servers::fixed(resp).await;
    let b = servers::fixed(
        b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 4\r\n\r\n\x89PNG".to_vec(),
    )
    .await;
    let f = loopback_fetcher();
    let pa = f
        .fetch(&url(&format!("http://{a}/shop?x=1")))
        .await
        .unwrap();
    let pb = f.fetch(&url(&format!("http://{b}/qr.png"))).await.unwrap();

    let path = temp_file("evidence.warc");
    let mut w = WarcWriter::append(&path).unwrap();
    let ra = w
        .write_exchange(
            &pa,
            &[
                ("kuzet-verdict", "shop".into()),
                ("kuzet-score", "0.97".into()),
            ],
        )
        .unwrap();
    let rb = w.write_exchange(&pb, &[]).unwrap();
    w.sync().unwrap();
    drop(w);
    // Appending again continues the offsets.
    let mut w = WarcWriter::append(&path).unwrap();
    assert_eq!(w.offset(), std::fs::metadata(&path).unwrap().len());
    let rc = w.write_exchange(&pa, &[]).unwrap();
    w.sync().unwrap();
    assert_eq!(rc.response.offset, rb.metadata.offset + rb.metadata.length);

    let report = verify(&path).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.records, 9);
    assert_eq!(report.digests_checked, 9 + 3);

    let response = read_record_at(&path, ra.response.offset).unwrap();
    assert_eq!(response.field("WARC-Type"), Some("response"));
    assert_eq!(
        response.field("WARC-Target-URI"),
        Some(format!("http://{a}/shop?x=1").as_str())
    );
    assert_eq!(response.field("WARC-IP-Address"), Some("127.0.0.1"));
    assert_eq!(
        response.http_payload(),
        Some(&gz[..]),
        "payload is the body as received"
    );
    let request = read_record_at(&path, ra.request.offset).unwrap();
    assert_eq!(
        request.field("WARC-Concurrent-To"),
        Some(ra.response.record_id.as_str())
    );
    assert!(request.block.starts_with(b"GET /shop?x=1 HTTP/1.1\r\n"));
    let meta = read_record_at(&path, ra.metadata.offset).unwrap();
    assert!(String::from_utf8_lossy(&meta.block).contains("kuzet-verdict: shop\r\n"));
    assert!(read_record_at(&path, ra.response.offset + 1).is_err());

    // Flip one byte of the first response's body: block and payload digests of that record fail.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = (ra.response.offset + ra.response.length - 10) as usize;
    bytes[at] ^= 0x01;
    let tampered = temp_file("tampered.warc");
    std::fs::write(&tampered, &bytes).unwrap();
    let report = verify(&tampered).unwrap();
    assert!(!report.is_ok());
    let fields: Vec<(u64, &str)> = report
        .mismatches
        .iter()
        .map(|m| (m.offset, m.field))
        .collect();
    assert_eq!(
        fields,
        vec![
            (ra.response.offset, "WARC-Block-Digest"),
            (ra.response.offset, "WARC-Payload-Digest")
        ]
    );
    assert_eq!(report.records, 9);

    // A byte flipped in a request header line: only that record's block digest fails.
    let mut bytes = std::fs::read(&path).unwrap();
    let req_body_start = bytes[rb.request.offset as usize..]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap();
    bytes[rb.request.offset as usize + req_body_start + 4] ^= 0x20; // 'G' of GET → 'g'
    std::fs::write(&tampered, &bytes).unwrap();
    let report = verify(&tampered).unwrap();
    let fields: Vec<(u64, &str)> = report
        .mismatches
        .iter()
        .map(|m| (m.offset, m.field))
        .collect();
    assert_eq!(fields, vec![(rb.request.offset, "WARC-Block-Digest")]);

    // A truncated file is reported as malformed after the records that could be read.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&tampered, &bytes[..bytes.len() - 7]).unwrap();
    let report = verify(&tampered).unwrap();
    assert!(
        report.malformed.is_some() && report.records == 8,
        "{report:?}"
    );
}
