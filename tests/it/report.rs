//! `kuzet report weekly` end to end: the real binary, a real database (both backends), the
//! outbox channel, exit codes.

use kuzet_storage::Db;
use kuzet_storage::testing::TestDb;
use serde_json::Value;

use crate::util::{kuzet, run, stderr, stdout};

/// Monday 2026-11-16 00:00 UTC (2026-W47).
const W47: i64 = 1_794_787_200_000;
const DAY: i64 = 86_400_000;

async fn exec(db: &Db, sql: &str) {
    sqlx::query(sql).execute(db.pool()).await.expect(sql);
}

/// One confirmed case with a page (and its WARC record) and a dismissed one, in 2026-W47.
async fn fixture(db: &Db, evidence: &std::path::Path) -> Vec<u8> {
    let record =
        b"WARC/1.1\r\nWARC-Type: response\r\n\r\nHTTP/1.1 200 OK\r\n\r\n<p>shop</p>\r\n\r\n";
    std::fs::create_dir_all(evidence).unwrap();
    let mut warc = b"junk-before".to_vec();
    warc.extend_from_slice(record);
    std::fs::write(evidence.join("c.warc"), &warc).unwrap();
    exec(db, "INSERT INTO users (id, name, role, password_hash, created_at) VALUES (1, 'aigerim', 'analyst', 'x', 0)").await;
    let t = W47 + DAY;
    for (id, url, title) in [
        (1, "https://shop.kz/", "<script>x</script> Дүкен"),
        (2, "https://cafe.kz/", "Cafe"),
    ] {
        exec(
            db,
            &format!(
                "INSERT INTO pages (id, url, url_hash, final_url, host, status, fetched_at, content_hash, \
                 body_bytes, title, warc_file, warc_offset, warc_length) VALUES ({id}, '{url}', 'h{id}', \
                 '{url}', 'h', 200, {t}, 'abc{id}', 10, '{title}', 'c.warc', 11, {})",
                record.len()
            ),
        )
        .await;
    }
    exec(db, "INSERT INTO indicators (id, kind, value, first_seen_at) VALUES (1, 'telegram', '@shop', 0), (2, 'telegram', '@cafe', 0)").await;
    exec(
        db,
        "INSERT INTO page_indicators (page_id, indicator_id) VALUES (1, 1), (2, 2)",
    )
    .await;
    exec(db, &format!("INSERT INTO cases (id, status, title, created_at, updated_at) VALUES (1, 'confirmed', 'Shop', {t}, {t}), (2, 'dismissed', 'Cafe', {t}, {t})")).await;
    exec(
        db,
        &format!(
            "INSERT INTO case_pages (page_id, case_id, added_at) VALUES (1, 1, {t}), (2, 2, {t})"
        ),
    )
    .await;
    exec(db, &format!("INSERT INTO reviews (case_id, user_id, action, note, created_at) VALUES (1, 1, 'confirm', 'shop', {t}), (2, 1, 'dismiss', 'cafe', {t})")).await;
    record.to_vec()
}

#[tokio::test]
async fn weekly_report_package_and_outbox_forwarding() {
    for t in TestDb::all().await.unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let record = fixture(&t.db, &dir.path().join("evidence")).await;
        let out = dir.path().join("out");
        let outbox = dir.path().join("outbox");
        let report = |forward: bool| {
            let mut c = kuzet(dir.path());
            c.args([
                "--db", &t.url, "--format", "json", "report", "weekly", "--week", "2026-W47",
            ])
            .arg("--out")
            .arg(&out)
            .env("KUZET_REPORT_EVIDENCE_DIR", dir.path().join("evidence"))
            .env("KUZET_REPORT_OUTBOX_DIR", &outbox);
            if forward {
                c.arg("--forward");
            }
            run(c, "")
        };
        let o = report(true);
        assert!(o.status.success(), "{}", stderr(&o));
        let summary: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        assert_eq!(summary["week"], "2026-W47");
        assert_eq!(summary["cases"], serde_json::json!([1]));
        assert_eq!(summary["evidence"]["copied"], 1);
        assert_eq!(summary["deliveries"][0]["status"], "sent");
        assert_eq!(summary["deliveries"][0]["cases"], serde_json::json!([1]));
        let pkg = std::path::PathBuf::from(summary["dir"].as_str().unwrap());
        assert_eq!(pkg, out.join("kuzet-report-2026-W47"));
        assert_eq!(
            std::fs::read(pkg.join("evidence/page-1.warc")).unwrap(),
            record
        );
        let check = std::process::Command::new("sha256sum")
            .args(["-c", "--strict", "MANIFEST.sha256"])
            .current_dir(&pkg)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stdout)
        );
        let html = std::fs::read_to_string(pkg.join("kuzet-2026-W47.html")).unwrap();
        assert!(
            html.contains("&#60;script&#62;x&#60;/script&#62; Дүкен") && !html.contains("<script>")
        );
        assert!(!html.contains("@cafe"));
        let outboxed: Vec<_> = std::fs::read_dir(&outbox).unwrap().collect();
        assert_eq!(outboxed.len(), 1);

        // Again: the package is rebuilt, but the case already went to the outbox.
        let o = report(true);
        assert!(o.status.success(), "{}", stderr(&o));
        let summary: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        assert_eq!(summary["deliveries"][0]["status"], "nothing_new");
        assert_eq!(std::fs::read_dir(&outbox).unwrap().count(), 1);

        // Text output names the package and the manifest hash.
        let mut c = kuzet(dir.path());
        c.args(["--db", &t.url, "report", "weekly", "--week", "2026-w47"])
            .arg("--out")
            .arg(&out);
        let o = run(c, "");
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("report 2026-W47") && stdout(&o).contains("manifest sha256"));
        t.cleanup().await.unwrap();
    }
}

#[test]
fn bad_week_and_missing_channels_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("k.db").display());
    for bad in ["2026-47", "2025-W53", "W47", "2026-W00"] {
        let mut c = kuzet(dir.path());
        c.args(["--db", &db, "report", "weekly", "--week", bad, "--out", "o"]);
        let o = run(c, "");
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("expected YYYY-Www"), "{}", stderr(&o));
    }
    let mut c = kuzet(dir.path());
    c.args([
        "--db",
        &db,
        "report",
        "weekly",
        "--week",
        "2026-W47",
        "--out",
        "o",
        "--forward",
    ]);
    let o = run(c, "");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no channel configured"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn config_show_masks_the_smtp_password() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = kuzet(dir.path());
    c.args(["config", "show"])
        .env("KUZET_SMTP_PASSWORD", "very-secret-pw")
        .env("KUZET_SMTP_HOST", "mail.police.test");
    let o = run(c, "");
    assert!(o.status.success(), "{}", stderr(&o));
    let shown = stdout(&o);
    assert!(
        shown.contains("[smtp]") && shown.contains("mail.police.test"),
        "{shown}"
    );
    assert!(!shown.contains("very-secret"), "{shown}");
    assert!(shown.contains("password = \"***\""), "{shown}");
}
