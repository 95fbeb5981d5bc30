//! A hand-built week for the report tests: users, pages with WARC records, verdicts,
//! indicators, cases and reviews, inserted with plain SQL (as the crawler and the review
//! workflow would leave them).
//!
//! Week 2026-W47 (Monday 2026-11-16 00:00 UTC):
//! - case A: confirmed on Tuesday by aigerim; two pages (one with a hostile `<script>` title in
//!   Kazakh and Russian), indicators @shop_one, a bitcoin address and the shop's URL.
//! - case B: confirmed on Wednesday by bolat, approved by aigerim, forwarded on Friday; one
//!   Telegram page, indicators phone and onion.
//! - case C: dismissed on Wednesday (not in the report); indicator @innocent_cafe.
//! - case D: confirmed in the week before (W46), touched in W47 (not in the report).
//! - case E: still in review (not in the report).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use kuzet_storage::Db;

/// Monday 2026-11-16 00:00 UTC, the start of 2026-W47.
pub const W47: i64 = 1_794_787_200_000;
pub const DAY: i64 = 86_400_000;
pub const HOUR: i64 = 3_600_000;

pub const HOSTILE_TITLE: &str =
    "<script>alert('x')</script> Дүкен «Ақ қар» — ә ғ қ ң ө ұ ү һ і, закладки";

pub struct Fixture {
    pub case_a: i64,
    pub case_b: i64,
    pub case_c: i64,
    pub case_d: i64,
    pub case_e: i64,
    pub evidence_dir: PathBuf,
    /// page id → its WARC record bytes
    pub records: Vec<(i64, Vec<u8>)>,
    _tmp: tempfile::TempDir,
}

async fn exec(db: &Db, sql: &str, binds: &[Bind<'_>]) -> i64 {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = match b {
            Bind::I(v) => q.bind(*v),
            Bind::S(v) => q.bind(v.to_string()),
            Bind::F(v) => q.bind(*v),
            Bind::NullText => q.bind(None::<String>),
            Bind::NullInt => q.bind(None::<i64>),
        };
    }
    let row = q.fetch_one(db.pool()).await.expect(sql);
    sqlx::Row::try_get::<i64, _>(&row, 0).expect("id")
}

pub enum Bind<'a> {
    I(i64),
    S(&'a str),
    F(f64),
    NullText,
    NullInt,
}
use Bind::*;

pub async fn user(db: &Db, name: &str) -> i64 {
    exec(
        db,
        "INSERT INTO users (name, role, password_hash, disabled, created_at) \
         VALUES ($1, 'analyst', 'not-a-hash', 0, $2) RETURNING id",
        &[S(name), I(W47 - 30 * DAY)],
    )
    .await
}

/// A page; `warc` = (file, offset, length).
pub async fn page(
    db: &Db,
    url: &str,
    title: &str,
    fetched_at: i64,
    warc: Option<(&str, i64, i64)>,
) -> i64 {
    let hash = format!("{:064x}", fetched_at);
    let (file, off, len) = match warc {
        Some((f, o, l)) => (S(f), I(o), I(l)),
        None => (NullText, NullInt, NullInt),
    };
    exec(
        db,
        "INSERT INTO pages (url, url_hash, final_url, host, depth, status, content_type, fetched_at, \
           content_hash, body_bytes, title, text, warc_file, warc_offset, warc_length, \
           warc_record_id, warc_digest) \
         VALUES ($1, $2, $3, 'host', 0, 200, 'text/html', $4, $5, 1234, $6, 'text', $7, $8, $9, \
           '<urn:uuid:00000000-0000-0000-0000-000000000001>', 'sha256:abc') RETURNING id",
        &[S(url), S(&format!("h:{url}")), S(url), I(fetched_at), S(&hash), S(title), file, off, len],
    )
    .await
}

pub async fn verdict(db: &Db, page: i64, score: f64, at: i64) {
    exec(
        db,
        "INSERT INTO verdicts (page_id, score, verdict, reasons_json, rules_version, created_at) \
         VALUES ($1, $2, 'shop', '[]', 'ru-kk-1', $3) RETURNING id",
        &[I(page), F(score), I(at)],
    )
    .await;
}

pub async fn indicator(db: &Db, kind: &str, value: &str, first_seen: i64, pages: &[i64]) {
    let id = exec(
        db,
        "INSERT INTO indicators (kind, value, first_seen_at) VALUES ($1, $2, $3) RETURNING id",
        &[S(kind), S(value), I(first_seen)],
    )
    .await;
    for p in pages {
        sqlx::query("INSERT INTO page_indicators (page_id, indicator_id) VALUES ($1, $2)")
            .bind(*p)
            .bind(id)
            .execute(db.pool())
            .await
            .unwrap();
    }
}

pub async fn case(db: &Db, status: &str, title: &str, updated_at: i64, pages: &[i64]) -> i64 {
    let id = exec(
        db,
        "INSERT INTO cases (status, score, title, reason, created_at, updated_at) \
         VALUES ($1, 0.93, $2, 'flagged', $3, $4) RETURNING id",
        &[S(status), S(title), I(W47 - 10 * DAY), I(updated_at)],
    )
    .await;
    for p in pages {
        sqlx::query("INSERT INTO case_pages (page_id, case_id, added_at) VALUES ($1, $2, $3)")
            .bind(*p)
            .bind(id)
            .bind(W47 - 10 * DAY)
            .execute(db.pool())
            .await
            .unwrap();
    }
    id
}

pub async fn review(db: &Db, case: i64, user: Option<i64>, action: &str, note: &str, at: i64) {
    let u = match user {
        Some(u) => I(u),
        None => NullInt,
    };
    exec(
        db,
        "INSERT INTO reviews (case_id, user_id, action, note, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        &[I(case), u, S(action), S(note), I(at)],
    )
    .await;
}

fn warc_record(url: &str, body: &str) -> Vec<u8> {
    let payload = format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n{body}");
    format!(
        "WARC/1.1\r\nWARC-Type: response\r\nWARC-Target-URI: {url}\r\nContent-Length: {}\r\n\r\n{payload}\r\n\r\n",
        payload.len()
    )
    .into_bytes()
}

/// Builds the week described in the module docs.
pub async fn week(db: &Db) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let evidence_dir = tmp.path().join("evidence");
    std::fs::create_dir_all(evidence_dir.join("2026")).unwrap();

    // One WARC file with three records back to back, plus some bytes before them.
    let urls = [
        "https://shop-one.kz/",
        "https://shop-one.kz/catalog?a=1&b=<b>",
        "https://t.me/s/shop_two",
    ];
    let mut warc = b"WARC/1.1\r\nWARC-Type: warcinfo\r\n\r\n".to_vec();
    let mut spans = Vec::new();
    for (i, u) in urls.iter().enumerate() {
        let rec = warc_record(u, &format!("<html>page {i} закладки</html>"));
        spans.push((warc.len() as i64, rec.len() as i64, rec.clone()));
        warc.extend_from_slice(&rec);
    }
    std::fs::write(evidence_dir.join("2026/crawl-1.warc"), &warc).unwrap();
    let f = "2026/crawl-1.warc";

    let aigerim = user(db, "aigerim").await;
    let bolat = user(db, "bolat").await;

    let p1 = page(
        db,
        urls[0],
        HOSTILE_TITLE,
        W47 - 2 * DAY,
        Some((f, spans[0].0, spans[0].1)),
    )
    .await;
    let p2 = page(
        db,
        urls[1],
        "Каталог",
        W47 + 3 * HOUR,
        Some((f, spans[1].0, spans[1].1)),
    )
    .await;
    let p3 = page(
        db,
        urls[2],
        "Shop two",
        W47 + DAY,
        Some((f, spans[2].0, spans[2].1)),
    )
    .await;
    let p4 = page(db, "https://cafe.kz/", "Кофейня", W47 + DAY, None).await;
    let p5 = page(db, "https://old-shop.kz/", "Old", W47 - 9 * DAY, None).await;
    let p6 = page(db, "https://pending.kz/", "Pending", W47 + DAY, None).await;
    verdict(db, p1, 0.5, W47 - 2 * DAY).await;
    verdict(db, p1, 0.91, W47 - DAY).await; // re-scored: the newest counts
    verdict(db, p3, 0.88, W47 + DAY).await;

    indicator(db, "telegram", "@shop_one", W47 - 20 * DAY, &[p1, p2]).await;
    indicator(
        db,
        "bitcoin",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        W47 - 2 * DAY,
        &[p2],
    )
    .await;
    indicator(db, "url", "https://shop-one.kz/", W47 - 2 * DAY, &[p1]).await;
    indicator(db, "phone", "+77011234567", W47 + DAY, &[p3]).await;
    indicator(
        db,
        "onion",
        "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion",
        W47 + DAY,
        &[p3],
    )
    .await;
    indicator(db, "telegram", "@innocent_cafe", W47 + DAY, &[p4]).await;
    indicator(db, "telegram", "@old_shop", W47 - 9 * DAY, &[p5]).await;

    let case_a = case(
        db,
        "confirmed",
        "Shop one <b>bold</b>",
        W47 + DAY + 2 * HOUR,
        &[p1, p2],
    )
    .await;
    review(db, case_a, Some(aigerim), "start", "", W47 + DAY).await;
    review(
        db,
        case_a,
        Some(aigerim),
        "confirm",
        "прайс и закладки <img src=x>",
        W47 + DAY + 2 * HOUR,
    )
    .await;

    let case_b = case(db, "forwarded", "Shop two", W47 + 4 * DAY, &[p3]).await;
    review(db, case_b, Some(bolat), "confirm", "", W47 + 2 * DAY).await;
    review(
        db,
        case_b,
        Some(aigerim),
        "approve_forward",
        "ok",
        W47 + 3 * DAY,
    )
    .await;
    review(db, case_b, Some(bolat), "forward", "", W47 + 4 * DAY).await;

    let case_c = case(db, "dismissed", "Cafe", W47 + 2 * DAY, &[p4]).await;
    review(
        db,
        case_c,
        Some(bolat),
        "dismiss",
        "a real cafe",
        W47 + 2 * DAY,
    )
    .await;

    let case_d = case(db, "confirmed", "Old shop", W47 + DAY, &[p5]).await;
    review(db, case_d, Some(bolat), "confirm", "", W47 - 3 * DAY).await;
    review(db, case_d, Some(aigerim), "note", "still online", W47 + DAY).await;

    let case_e = case(db, "in_review", "Pending", W47 + DAY, &[p6]).await;

    Fixture {
        case_a,
        case_b,
        case_c,
        case_d,
        case_e,
        evidence_dir,
        records: vec![
            (p1, spans[0].2.clone()),
            (p2, spans[1].2.clone()),
            (p3, spans[2].2.clone()),
        ],
        _tmp: tmp,
    }
}

/// Runs `sha256sum -c MANIFEST.sha256` in `dir` and returns its stdout.
pub fn sha256sum_check(dir: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .args(["-c", "--strict", "MANIFEST.sha256"])
        .current_dir(dir)
        .output()
        .expect("sha256sum (coreutils) must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "sha256sum -c failed in {}:\n{stdout}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
