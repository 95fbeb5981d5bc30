//! Takedown tracking end to end: crawl two shops on loopback, forward their cases, then switch what
//! the servers answer between `kuzet cases recheck` runs: live → blocked → gone, live → changed,
//! and a reappearance of the gone shop on a new host; and the QR watch: a QR code on a poster page
//! and in a photo folder whose harmless target starts redirecting to a shop opens a QR-hijack
//! case. Both backends when PostgreSQL is configured.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use kuzet_storage::Db;
use kuzet_storage::testing::TestDb;
use serde_json::Value;

use crate::util::{kuzet, qr_png, run, stderr, stdout};

/// One answer: status, extra header lines, content type, body.
type Answer = (u16, String, &'static str, Vec<u8>);

/// A loopback web whose answers per path the test switches.
#[derive(Clone)]
struct Web {
    port: u16,
    answers: Arc<Mutex<HashMap<String, Answer>>>,
}

impl Web {
    fn start(ip: &str) -> Web {
        let listener = TcpListener::bind((ip, 0)).expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let answers: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let a = answers.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, headers, ctype, body) =
                    a.lock().unwrap().get(&path).cloned().unwrap_or((
                        404,
                        String::new(),
                        "text/html; charset=utf-8",
                        b"<p>not found</p>".to_vec(),
                    ));
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\n{headers}\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(&body);
            }
        });
        Web { port, answers }
    }

    fn set(&self, path: &str, status: u16, body: &str) {
        self.set_raw(
            path,
            (
                status,
                String::new(),
                "text/html; charset=utf-8",
                body.as_bytes().to_vec(),
            ),
        );
    }

    fn set_raw(&self, path: &str, answer: Answer) {
        self.answers
            .lock()
            .unwrap()
            .insert(path.to_string(), answer);
    }
}

fn shop(title: &str, handle: &str, price: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\
         <h1>{title}</h1><p>Ровные клады по всем районам Караганды. Магнит, прикоп, тайник — на выбор. \
         Фото и координаты сразу после оплаты.</p><table>\
         <tr><td>Мефедрон кристалл</td><td>1 г</td><td>{price} ₸</td></tr>\
         <tr><td>Альфа-PVP (крис)</td><td>0,5 г</td><td>12 000 ₸</td></tr>\
         <tr><td>Гаш Euro</td><td>1 г</td><td>11 000 ₸</td></tr></table>\
         <p>Оплата: BTC, USDT TRC20, карта.</p><p>Заказ только через бота: @{handle}</p>\
         <p>Нужны курьеры! Работа с закладками, оплата ежедневно.</p></body></html>"
    )
}

const BLOCK_PAGE: &str = "<html><head><title>Ресурс</title></head><body><p>Доступ к ресурсу \
    ограничен по решению уполномоченного органа.</p></body></html>";

fn kuzet_in(dir: &Path, db: &str, args: &[&str]) -> Vec<Value> {
    let mut c = kuzet(dir);
    c.env("KUZET_TAKEDOWN_GONE_AFTER", "2")
        .env("KUZET_TAKEDOWN_STILL_LIVE_DAYS", "0")
        .arg("--db")
        .arg(db)
        .arg("--format")
        .arg("json")
        .args(args);
    let o = run(c, "");
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

const NET: &[&str] = &[
    "--scope",
    "127.0.0.0/8",
    "--allow-private-addresses",
    "--impolite-for",
    "127.0.0.0/8",
];

fn crawl(dir: &Path, db: &str, seeds: &[String]) {
    std::fs::write(dir.join("seeds.txt"), seeds.join("\n")).unwrap();
    let mut args = vec!["crawl", "--seeds", "seeds.txt", "--max-depth", "0"];
    args.extend_from_slice(NET);
    args.extend_from_slice(&["--evidence-dir", "ev"]);
    kuzet_in(dir, db, &args);
}

/// (url suffix, from, to) of each transition a re-check printed.
fn recheck(dir: &Path, db: &str) -> Vec<(String, String, String)> {
    let mut args = vec!["cases", "recheck", "--evidence-dir", "ev"];
    args.extend_from_slice(NET);
    let lines = kuzet_in(dir, db, &args);
    assert!(lines.last().unwrap().get("summary").is_some(), "{lines:?}");
    let mut out: Vec<(String, String, String)> = lines
        .iter()
        .filter_map(|l| l.get("transition"))
        .map(|t| {
            let url = t["url"].as_str().unwrap();
            let path = url.rsplit_once(':').unwrap().1;
            let path = path.split_once('/').map(|(_, p)| p).unwrap_or("");
            (
                format!(
                    "{}/{path}",
                    if url.contains("127.0.0.2") { "2" } else { "1" }
                ),
                t["from"].as_str().unwrap().to_string(),
                t["to"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn t(url: &str, from: &str, to: &str) -> (String, String, String) {
    (url.into(), from.into(), to.into())
}

/// `/metrics` of the web UI served in-process on loopback.
async fn get_metrics(db: &Db) -> String {
    use kuzet_reporter::web::{self, AppState, WebConfig};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(
        listener,
        AppState::new(db.clone(), WebConfig::default()),
        async move {
            let _ = stopped.await;
        },
    ));
    let text = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    let _ = stop.send(());
    let _ = server.await;
    text
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db.pool())
        .await
        .expect(sql)
}

#[tokio::test(flavor = "multi_thread")]
async fn live_blocked_gone_changed_and_reappearance() {
    let web = Web::start("127.0.0.1");
    let mirror = Web::start("127.0.0.2");
    for tdb in TestDb::all().await.unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let db = tdb.url.as_str();
        web.set(
            "/a",
            200,
            &shop("Снежный Барс", "aq_barys_shop_bot", "16 000"),
        );
        web.set("/b", 200, &shop("Кара Мысык", "qara_mysyq_bot", "15 000"));
        let base = format!("http://127.0.0.1:{}", web.port);
        crawl(d, db, &[format!("{base}/a"), format!("{base}/b")]);
        assert_eq!(scalar(&tdb.db, "SELECT COUNT(*) FROM cases").await, 2);
        let now = kuzet_storage::now_ms();
        sqlx::query("UPDATE cases SET status = 'forwarded'")
            .execute(tdb.db.pool())
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO reviews (case_id, action, note, created_at) \
             SELECT id, 'forward', '', $1 FROM cases",
        )
        .bind(now)
        .execute(tdb.db.pool())
        .await
        .unwrap();

        // First check: both live (same text as when crawled).
        assert_eq!(
            recheck(d, db),
            [t("1/a", "unchecked", "live"), t("1/b", "unchecked", "live")]
        );
        // Unchanged pages: no transition.
        assert_eq!(recheck(d, db), []);
        // /a answers with a block page, /b with another shop's content.
        web.set("/a", 200, BLOCK_PAGE);
        web.set(
            "/b",
            200,
            &shop("Кара Мысык", "new_operator_kz_bot", "14 000"),
        );
        assert_eq!(
            recheck(d, db),
            [t("1/a", "live", "blocked"), t("1/b", "live", "changed")]
        );
        // 410 twice (gone_after = 2): the first keeps "blocked", the second is "gone".
        web.set("/a", 410, "<p>gone</p>");
        assert_eq!(recheck(d, db), []);
        assert_eq!(recheck(d, db), [t("1/a", "blocked", "gone")]);

        // Every transition has evidence with a digest, and the WARC files verify.
        let events = scalar(&tdb.db, "SELECT COUNT(*) FROM watch_events").await;
        assert_eq!(events, 5);
        let with_evidence = scalar(
            &tdb.db,
            "SELECT COUNT(*) FROM watch_events WHERE warc_digest LIKE 'sha256:%' AND warc_file IS NOT NULL",
        )
        .await;
        assert_eq!(with_evidence, events);
        let o = run(kuzet(d).args(["--db", db, "evidence", "verify", "ev"]), "");
        assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
        let detail: String =
            sqlx::query_scalar("SELECT detail FROM watch_events WHERE to_state = 'blocked'")
                .fetch_one(tdb.db.pool())
                .await
                .unwrap();
        assert!(detail.contains("block page"), "{detail}");

        // Figures from the stored transitions: 2 forwarded, 1 gone, 1 live (changed).
        let f = kuzet_reporter::takedown::stats::figures(&tdb.db, kuzet_storage::now_ms(), 0, 0)
            .await
            .unwrap();
        assert_eq!((f.forwarded, f.gone, f.blocked, f.live), (2, 1, 0, 1));
        assert_eq!(f.takedown_times, 1);
        assert_eq!(f.resend.len(), 1);
        assert!(f.resend[0].urls[0].ends_with("/b"), "{:?}", f.resend);

        // The weekly report of the current week carries the takedown section.
        let week = {
            use chrono::Datelike;
            let w = chrono::Utc::now().iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        };
        kuzet_in(
            d,
            db,
            &["report", "weekly", "--week", &week, "--out", "reports"],
        );
        let html = std::fs::read_to_string(
            d.join(format!("reports/kuzet-report-{week}/kuzet-{week}.html")),
        )
        .unwrap();
        assert!(html.contains("<h2>Takedown</h2>"), "{html}");
        assert!(html.contains("<tr><th>Gone</th><td>1</td></tr>"), "{html}");
        assert!(html.contains("Still live: resend"), "{html}");
        // /metrics exposes the counts.
        let metrics = get_metrics(&tdb.db).await;
        assert!(
            metrics.contains("kuzet_watch_targets{state=\"gone\"} 1"),
            "{metrics}"
        );
        assert!(metrics.contains("kuzet_takedown_forwarded 2"), "{metrics}");
        assert!(
            metrics.contains("kuzet_takedown_cases{outcome=\"gone\"} 1"),
            "{metrics}"
        );

        // The gone shop reappears on another host with the same bot: its case reopens.
        mirror.set(
            "/",
            200,
            &shop("Снежный Барс — зеркало", "aq_barys_shop_bot", "17 000"),
        );
        crawl(d, db, &[format!("http://127.0.0.2:{}/", mirror.port)]);
        assert_eq!(scalar(&tdb.db, "SELECT COUNT(*) FROM cases").await, 2);
        let reopened = scalar(
            &tdb.db,
            "SELECT COUNT(*) FROM cases WHERE status = 'new' AND reason = 'reappeared'",
        )
        .await;
        assert_eq!(reopened, 1);
        let reappeared = scalar(
            &tdb.db,
            "SELECT COUNT(*) FROM watch_targets WHERE added_reason = 'reappeared' AND url LIKE 'http://127.0.0.2:%'",
        )
        .await;
        assert_eq!(reappeared, 1);
        assert_eq!(recheck(d, db), [t("2/", "unchecked", "live")]);
        // The case's timeline shows both URLs.
        let case: i64 = scalar(&tdb.db, "SELECT id FROM cases WHERE reason = 'reappeared'").await;
        let timeline = kuzet_reporter::takedown::watch::timeline(&tdb.db, case)
            .await
            .unwrap();
        let states: Vec<&str> = timeline.iter().map(|e| e.to.as_str()).collect();
        assert_eq!(states, ["live", "blocked", "gone", "live"]);

        // Merging the two cases moves the other case's watched URL and its transitions along.
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM cases ORDER BY id")
            .fetch_all(tdb.db.pool())
            .await
            .unwrap();
        let keep =
            kuzet_reporter::cases::merge(&tdb.db, &kuzet_reporter::cases::Actor::system(), &ids)
                .await
                .unwrap();
        assert_eq!(
            scalar(
                &tdb.db,
                &format!("SELECT COUNT(*) FROM watch_targets WHERE case_id <> {keep}")
            )
            .await,
            0
        );
        let timeline = kuzet_reporter::takedown::watch::timeline(&tdb.db, keep)
            .await
            .unwrap();
        assert_eq!(timeline.len(), 6, "{timeline:?}");
        tdb.cleanup().await.unwrap();
    }
}

/// A stored QR resolution: redirects, final URL, verdict, score, content hash, hijack.
type ResolutionRow = (
    String,
    Option<String>,
    Option<String>,
    Option<f64>,
    Option<String>,
    i64,
);

/// Every JSON line a `kuzet cases recheck` printed.
fn recheck_lines(dir: &Path, db: &str) -> Vec<Value> {
    let mut args = vec!["cases", "recheck", "--evidence-dir", "ev"];
    args.extend_from_slice(NET);
    let lines = kuzet_in(dir, db, &args);
    assert!(lines.last().unwrap().get("summary").is_some(), "{lines:?}");
    lines
}

#[tokio::test(flavor = "multi_thread")]
async fn qr_code_whose_target_starts_redirecting_to_a_shop_opens_a_hijack_case() {
    let web = Web::start("127.0.0.1");
    let shop_host = Web::start("127.0.0.2");
    let plaque = format!("http://127.0.0.1:{}/plaque", web.port);
    let shop_url = format!("http://127.0.0.2:{}/shop", shop_host.port);
    let png = qr_png(&plaque);
    for tdb in TestDb::all().await.unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let db = tdb.url.as_str();
        // A city poster with the QR code, and the same code photographed on a wall.
        web.set(
            "/poster",
            200,
            "<!DOCTYPE html><html><head><title>Городской квест</title></head><body>\
             <h1>Городской квест</h1><p>Сканируйте код на табличке у фонтана.</p>\
             <img src=\"/qr.png\" alt=\"QR\"></body></html>",
        );
        web.set_raw("/qr.png", (200, String::new(), "image/png", png.clone()));
        web.set(
            "/plaque",
            200,
            "<!DOCTYPE html><html><head><title>Фонтан</title></head><body><h1>Фонтан на площади</h1>\
             <p>Построен в 1967 году. Часы работы подсветки: с 20:00 до 23:00.</p></body></html>",
        );
        shop_host.set(
            "/shop",
            200,
            &shop("Снежный Барс", "aq_barys_shop_bot", "16 000"),
        );
        let photos = d.join("photos");
        std::fs::create_dir_all(&photos).unwrap();
        std::fs::write(photos.join("wall.png"), &png).unwrap();
        std::fs::write(
            d.join("seeds.txt"),
            format!(
                "http://127.0.0.1:{}/poster\n{}\n",
                web.port,
                photos.display()
            ),
        )
        .unwrap();
        let mut args = vec!["crawl", "--seeds", "seeds.txt", "--max-depth", "3"];
        args.extend_from_slice(NET);
        kuzet_in(d, db, &args);
        assert_eq!(scalar(&tdb.db, "SELECT COUNT(*) FROM cases").await, 0);
        assert_eq!(
            scalar(
                &tdb.db,
                "SELECT COUNT(*) FROM qr_codes WHERE lead_kind = 'url'"
            )
            .await,
            2,
            "the code is read from the poster image and from the photo"
        );

        // First re-check: the code is watched and resolves to the harmless plaque page.
        let lines = recheck_lines(d, db);
        let summary = &lines.last().unwrap()["summary"];
        assert_eq!(summary["qr_added"], 1, "{summary}");
        assert_eq!(summary["qr_checked"], 1, "{summary}");
        assert_eq!(summary["qr_hijacks"], 0, "{summary}");
        assert!(lines.iter().all(|l| l.get("qr_hijack").is_none()));

        // The domain is taken over: the code's URL now redirects to a shop on another host.
        web.set_raw(
            "/plaque",
            (
                302,
                format!("Location: {shop_url}\r\n"),
                "text/html; charset=utf-8",
                Vec::new(),
            ),
        );
        let lines = recheck_lines(d, db);
        let hijacks: Vec<&Value> = lines.iter().filter_map(|l| l.get("qr_hijack")).collect();
        assert_eq!(hijacks.len(), 1, "{lines:?}");
        let h = hijacks[0];
        assert_eq!(h["qr"], plaque.as_str());
        assert_eq!(h["final_url"], shop_url.as_str());
        assert_eq!(h["redirects"], serde_json::json!([shop_url]));
        assert_eq!(h["verdict"], "shop");
        assert!(h["warc_digest"].as_str().unwrap().starts_with("sha256:"));
        let seen_on: Vec<&str> = h["seen_on"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(seen_on.len(), 2, "{seen_on:?}");
        assert!(
            seen_on.iter().any(|s| s.ends_with("/poster")),
            "{seen_on:?}"
        );
        assert!(
            seen_on
                .iter()
                .any(|s| s.contains(&photos.display().to_string())),
            "{seen_on:?}"
        );
        let case = h["case"].as_i64().unwrap();

        // The case is a high-priority QR hijack, first in the queue, its history names the sources.
        let (reason, priority, status): (String, i64, String) =
            sqlx::query_as("SELECT reason, priority, status FROM cases WHERE id = $1")
                .bind(case)
                .fetch_one(tdb.db.pool())
                .await
                .unwrap();
        assert_eq!(
            (reason.as_str(), priority, status.as_str()),
            ("qr_hijack", 1, "new")
        );
        let note: String = sqlx::query_scalar(
            "SELECT note FROM reviews WHERE case_id = $1 AND action = 'qr_hijack'",
        )
        .bind(case)
        .fetch_one(tdb.db.pool())
        .await
        .unwrap();
        assert!(
            note.contains("/poster") && note.contains("earlier: clean"),
            "{note}"
        );
        let listed = kuzet_in(d, db, &["cases", "list"]);
        assert_eq!(listed[0]["id"], case, "{listed:?}");
        assert_eq!(listed[0]["reason"], "qr_hijack");

        // Every resolution is stored with its chain, final URL, score and evidence.
        let rows: Vec<ResolutionRow> = sqlx::query_as(
            "SELECT redirects, final_url, verdict, score, content_hash, hijack \
                 FROM qr_resolutions ORDER BY id",
        )
        .fetch_all(tdb.db.pool())
        .await
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, "");
        assert_eq!(rows[0].1.as_deref(), Some(plaque.as_str()));
        assert_eq!(rows[0].2.as_deref(), Some("clean"));
        assert_eq!(rows[1].0, shop_url);
        assert_eq!(rows[1].2.as_deref(), Some("shop"));
        assert!(rows[1].3.unwrap() >= 0.8);
        assert!(
            rows.iter()
                .all(|r| r.4.as_ref().is_some_and(|h| h.len() == 64))
        );
        assert_eq!(rows[1].5, 1);
        let o = run(kuzet(d).args(["--db", db, "evidence", "verify", "ev"]), "");
        assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));

        let metrics = get_metrics(&tdb.db).await;
        assert!(metrics.contains("kuzet_qr_watched 1"), "{metrics}");
        assert!(metrics.contains("kuzet_qr_hijack_cases 1"), "{metrics}");

        // Still a shop: no second case.
        let lines = recheck_lines(d, db);
        assert_eq!(lines.last().unwrap()["summary"]["qr_hijacks"], 0);
        assert_eq!(scalar(&tdb.db, "SELECT COUNT(*) FROM cases").await, 1);
        tdb.cleanup().await.unwrap();
    }
}
