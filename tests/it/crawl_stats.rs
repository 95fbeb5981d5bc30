//! `kuzet crawl` progress and summary when stderr is not a terminal, and `kuzet evidence verify`
//! following the database's evidence references (corrupted byte, deleted record, missing file).

use std::path::Path;

use kuzet_storage::sqlx::{self, Row};
use kuzet_storage::{Db, DbOptions};

use crate::crawl::start_fixture;
use crate::util::{kuzet, run, stderr, stdout};

/// (warc_file, warc_offset, warc_length) of every page with evidence, in page order.
fn references(dir: &Path) -> Vec<(String, u64, u64)> {
    let url = format!("sqlite://{}", dir.join("k.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let opts = DbOptions {
            migrate: false,
            ..DbOptions::default()
        };
        let db = Db::connect(&url, &opts).await.unwrap();
        let rows = sqlx::query(
            "SELECT warc_file, warc_offset, warc_length FROM pages \
             WHERE warc_file IS NOT NULL ORDER BY id",
        )
        .fetch_all(db.pool())
        .await
        .unwrap();
        rows.iter()
            .map(|r| {
                (
                    r.get::<String, _>(0),
                    r.get::<i64, _>(1) as u64,
                    r.get::<i64, _>(2) as u64,
                )
            })
            .collect()
    })
}

/// The stored run: (status, stats_json).
fn stored_run(dir: &Path) -> (String, serde_json::Value) {
    let url = format!("sqlite://{}", dir.join("k.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let opts = DbOptions {
            migrate: false,
            ..DbOptions::default()
        };
        let db = Db::connect(&url, &opts).await.unwrap();
        let row = sqlx::query("SELECT status, stats_json FROM crawl_runs ORDER BY id DESC LIMIT 1")
            .fetch_one(db.pool())
            .await
            .unwrap();
        let json: String = row.get(1);
        (row.get(0), serde_json::from_str(&json).unwrap())
    })
}

fn verify(dir: &Path) -> (Option<i32>, String) {
    let out = run(
        kuzet(dir).args(["--db", "sqlite://k.db", "evidence", "verify", "evidence"]),
        "",
    );
    (out.status.code(), stdout(&out))
}

#[test]
fn progress_lines_stored_summary_and_database_evidence_check() {
    let (_server, port) = start_fixture();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("seeds.txt"), "@aqbarys_store24\n").unwrap();
    let base = format!("http://127.0.0.1:{port}/s/");
    let mut c = kuzet(dir.path());
    c.args(["--db", "sqlite://k.db", "crawl", "--seeds", "seeds.txt"])
        .args(["--telegram-base", &base, "--scope", "127.0.0.0/8"])
        .args(["--allow-private-addresses", "--impolite-for", "127.0.0.0/8"])
        .args(["--evidence", "all", "--max-depth", "0"])
        .args(["--progress-interval-ms", "1"]);
    // stderr is a pipe, not a terminal: log lines instead of a bar.
    let out = run(c, "");
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(log.contains("crawl progress"), "{log}");
    let finished = log
        .lines()
        .find(|l| l.contains("crawl finished"))
        .unwrap_or_else(|| panic!("no final line: {log}"));
    for field in [
        "pages=3",
        "errors=0",
        "queued=0",
        "flagged=",
        "bytes=",
        "pages_per_sec=",
    ] {
        assert!(finished.contains(field), "{field}: {finished}");
    }
    assert!(!log.contains('\r'), "no bar drawn on a pipe: {log}");

    // The summary is stored with the run, the same as printed.
    let (status, stats) = stored_run(dir.path());
    assert_eq!(status, "finished");
    assert_eq!(stats["pages"], 3, "{stats}");
    assert!(stats["bytes"].as_u64().unwrap() > 0, "{stats}");
    assert_eq!(stats["errors"], serde_json::json!({}), "{stats}");
    let printed = stdout(&out);
    assert!(
        printed.contains(&format!("{} bytes", stats["bytes"]))
            && printed.contains(&format!("{} flagged", stats["flagged"])),
        "{printed} vs {stats}"
    );

    // Every reference holds.
    let refs = references(dir.path());
    assert_eq!(refs.len(), 3);
    let (code, text) = verify(dir.path());
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("3 evidence references checked, 0 problems"),
        "{text}"
    );

    let (name, offset, length) = refs[1].clone();
    let file = dir.path().join("evidence").join(&name);
    let original = std::fs::read(&file).unwrap();

    // One corrupted byte in the second page's response block.
    let mut bytes = original.clone();
    let head_end = offset as usize
        + bytes[offset as usize..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap()
        + 4;
    bytes[head_end + 10] ^= 0x20;
    std::fs::write(&file, &bytes).unwrap();
    let (code, text) = verify(dir.path());
    assert_eq!(code, Some(1), "{text}");
    let bad: Vec<&str> = text.lines().filter(|l| l.contains(": mismatch ")).collect();
    assert_eq!(bad.len(), 1, "{text}");
    assert!(text.contains("1 problems"), "{text}");

    // The second page's records deleted from the file: its reference (and those after it, whose
    // offsets moved) no longer find their record.
    let mut cut = original.clone();
    cut.drain(offset as usize..(offset + length) as usize);
    std::fs::write(&file, &cut).unwrap();
    let (code, text) = verify(dir.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains(": missing_record "), "{text}");
    assert!(!text.contains(": mismatch "), "{text}");

    // The file gone: every reference to it is reported.
    std::fs::remove_file(&file).unwrap();
    let (code, text) = verify(dir.path());
    assert_eq!(code, Some(1), "{text}");
    let missing = text
        .lines()
        .filter(|l| l.contains(": missing_file "))
        .count();
    let in_file = refs.iter().filter(|r| r.0 == name).count();
    assert_eq!(missing, in_file, "{text}");
}
