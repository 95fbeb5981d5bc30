//! The crawl loop end to end on a real database (SQLite, and PostgreSQL when configured) against
//! local servers: focused crawl, QR leads, robots, failures by kind, evidence, resume.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use kuzet_crawler::crawl::{
    CrawlConfig, Crawler, EvidencePolicy, PageScorer, Score, Seed, parse_seeds,
};
use kuzet_crawler::frontier::FrontierOptions;
use kuzet_crawler::politeness::{HostPolicy, PolitenessConfig};
use kuzet_crawler::{FetchConfig, Scope};
use kuzet_storage::Db;
use kuzet_storage::sqlx::{self, Row};
use kuzet_storage::testing::TestDb;
use url::Url;

use crate::{servers, test_limits};

/// Stand-in for the classifier: "мефедрон" or "закладк" makes a shop.
struct KeywordScorer;

impl PageScorer for KeywordScorer {
    fn score(&self, _: &Url, _: Option<&str>, text: &str) -> Option<Score> {
        let lower = text.to_lowercase();
        let hit = lower.contains("мефедрон") || lower.contains("закладк");
        Some(Score {
            score: if hit { 0.9 } else { 0.1 },
            verdict: if hit { "shop" } else { "clean" }.into(),
            reasons_json: "[]".into(),
            rules_version: "test".into(),
            indicators: if hit {
                vec![("keyword".into(), "мефедрон".into())]
            } else {
                Vec::new()
            },
        })
    }
}

fn config(worker: &str, evidence: Option<std::path::PathBuf>) -> CrawlConfig {
    CrawlConfig {
        fetch: FetchConfig {
            limits: test_limits(),
            scope: Scope::parse(["127.0.0.0/8"]).unwrap(),
            allow_private_addresses: true,
            socks_proxy: None,
        },
        politeness: PolitenessConfig {
            default: HostPolicy {
                min_delay: Duration::ZERO,
                max_concurrency: 4,
                ..HostPolicy::default()
            },
            ..PolitenessConfig::default()
        },
        frontier: FrontierOptions {
            worker: worker.into(),
            per_host: 8,
            backoff_ms: 50,
            max_attempts: 2,
            ..FrontierOptions::default()
        },
        concurrency: 4,
        evidence_dir: evidence,
        evidence: EvidencePolicy::Flagged,
        ..CrawlConfig::default()
    }
}

const QR_IMAGE: &[u8] = b"\x89PNG fake image carrying a QR code";

async fn web() -> std::net::SocketAddr {
    let html = |body: &'static str| ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body);
    let app = Router::new()
        .route("/robots.txt", get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "User-agent: *\nDisallow: /private\n") }))
        .route(
            "/",
            get(move || async move {
                html(
                    "<html><title>Главная</title><body><a href=/a>Магазин</a> <a href=/news>Новости</a>\
                     <a href=/private/x>закрыто</a> <a href=http://example.com/>внешняя</a> <a href=/broken>сломано</a>\
                     <a href='/a/b/a/b/a/b/a/b'>ловушка</a></body></html>",
                )
            }),
        )
        .route("/a", get(move || async move { html("<html><body>Мефедрон 1г, закладки по городу <img src=/qr.png></body></html>") }))
        .route("/news", get(move || async move { html("<html><body>Погода в Алматы: солнечно</body></html>") }))
        .route("/hidden", get(move || async move { html("<html><body>Резервный магазин: мефедрон, оплата Kaspi</body></html>") }))
        .route("/qr.png", get(|| async { ([(header::CONTENT_TYPE, "image/png")], QR_IMAGE) }))
        .route("/broken", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "down") }));
    servers::serve(app).await
}

/// A crawler scoring with [`KeywordScorer`] that decodes no images.
async fn keyword_crawler(db: &Db, cfg: CrawlConfig) -> Arc<Crawler> {
    let no_images = Arc::new(|_: &[u8]| -> Vec<String> { Vec::new() });
    Arc::new(
        Crawler::new(db.clone(), cfg, Arc::new(KeywordScorer), no_images)
            .await
            .unwrap(),
    )
}

/// Every stored page as `(url, id, content_hash)`, by URL.
async fn stored_pages(db: &Db) -> Vec<(String, i64, String)> {
    sqlx::query("SELECT url, id, content_hash FROM pages ORDER BY url")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

async fn rows(db: &Db, sql: &str) -> Vec<String> {
    sqlx::query(sql)
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect()
}

#[tokio::test]
async fn focused_crawl_follows_qr_leads_and_records_every_failure() {
    let addr = web().await;
    let hidden = format!("http://{addr}/hidden");
    let decoder_target = hidden.clone();
    let decoder = Arc::new(move |bytes: &[u8]| -> Vec<String> {
        if bytes == QR_IMAGE {
            vec![decoder_target.clone()]
        } else {
            Vec::new()
        }
    });
    for t in TestDb::all().await.unwrap() {
        let evidence = std::env::temp_dir().join(format!(
            "kuzet-crawl-evidence-{}-{:?}",
            std::process::id(),
            t.backend()
        ));
        let _ = std::fs::remove_dir_all(&evidence);
        let crawler = Crawler::new(
            t.db.clone(),
            config("w1", Some(evidence.clone())),
            Arc::new(KeywordScorer),
            decoder.clone(),
        )
        .await
        .unwrap();
        let seeds = parse_seeds(&format!("# seeds\nhttp://{addr}/\n")).unwrap();
        assert_eq!(crawler.seed(&seeds).await.unwrap(), 1);
        let crawler = Arc::new(crawler);
        let summary = tokio::time::timeout(
            Duration::from_secs(60),
            crawler.clone().run(std::future::pending()),
        )
        .await
        .expect("crawl finishes")
        .unwrap();
        // Pages: /, /a, /news, /hidden (reached only through the QR code on /a's image).
        let mut pages = rows(&t.db, "SELECT final_url FROM pages").await;
        pages.sort();
        let want: Vec<String> = ["/", "/a", "/hidden", "/news"]
            .iter()
            .map(|p| format!("http://{addr}{p}"))
            .collect();
        assert_eq!(pages, want, "{:?}", t.backend());
        assert_eq!(summary.pages, 4);
        assert_eq!(summary.images, 1);
        assert_eq!(summary.flagged, 2);
        let verdict = rows(
            &t.db,
            &format!("SELECT v.verdict FROM verdicts v JOIN pages p ON p.id = v.page_id WHERE p.final_url = '{hidden}'"),
        )
        .await;
        assert_eq!(verdict, ["shop"]);
        let qr = rows(&t.db, "SELECT text FROM qr_codes").await;
        assert_eq!(qr, vec![hidden.clone()]);
        // Every failure recorded by kind; /broken retried once (max_attempts 2).
        let mut kinds = rows(
            &t.db,
            "SELECT error_kind FROM fetch_log WHERE error_kind IS NOT NULL",
        )
        .await;
        kinds.sort();
        assert_eq!(
            kinds,
            [
                "http_status",
                "http_status",
                "out_of_scope",
                "robots_denied",
                "trap_repeating_segments"
            ]
        );
        assert_eq!(summary.errors.values().sum::<u64>(), 5);
        // Evidence only for flagged pages, and it verifies.
        let warc = rows(
            &t.db,
            "SELECT warc_file FROM pages WHERE warc_file IS NOT NULL",
        )
        .await;
        assert_eq!(warc.len(), 2);
        let report = kuzet_crawler::warc::verify(&evidence.join(&warc[0])).unwrap();
        assert!(report.is_ok() && report.records == 6, "{report:?}");
        let status = rows(&t.db, "SELECT status FROM crawl_runs").await;
        assert_eq!(status, ["finished"]);
        let _ = std::fs::remove_dir_all(&evidence);
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn a_stopped_run_resumes_without_redoing_work() {
    let addr = web().await;
    for t in TestDb::all().await.unwrap() {
        let mut cfg = config("w1", None);
        cfg.max_pages = Some(1);
        cfg.concurrency = 1;
        let first = keyword_crawler(&t.db, cfg).await;
        first
            .seed(&[Seed::Web(Url::parse(&format!("http://{addr}/")).unwrap())])
            .await
            .unwrap();
        let s1 = first.run(std::future::pending()).await.unwrap();
        assert_eq!(s1.pages, 1);
        // A second worker process picks up where the first stopped.
        let second = keyword_crawler(&t.db, config("w2", None)).await;
        let s2 = second.run(std::future::pending()).await.unwrap();
        assert_eq!(s2.pages, 2, "/a and /news; / is not fetched again");
        let dup = rows(
            &t.db,
            "SELECT url FROM fetch_log WHERE error_kind IS NULL GROUP BY url HAVING COUNT(*) > 1",
        )
        .await;
        assert!(dup.is_empty(), "{dup:?}");
        t.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn telegram_news_channel_qr_leads_to_the_shop_channel() {
    let fx = crate::telegram::start_fixture().await;
    let qr = std::fs::read(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/qr-wall.png"),
    )
    .unwrap();
    // Stand-in for the QR decoder: the fixture's graffiti QR carries `t.me/aqbarys_store24`.
    let decoder = Arc::new(move |bytes: &[u8]| -> Vec<String> {
        if bytes == qr.as_slice() {
            vec!["t.me/aqbarys_store24".into()]
        } else {
            Vec::new()
        }
    });
    let t = TestDb::sqlite().await.unwrap();
    let mut cfg = config("tg", None);
    cfg.telegram_base = fx.base.clone();
    cfg.max_depth = 1;
    let crawler = Crawler::new(t.db.clone(), cfg, Arc::new(KeywordScorer), decoder)
        .await
        .unwrap();
    crawler
        .seed(&parse_seeds("@qaragandy_habar24").unwrap())
        .await
        .unwrap();
    let summary = tokio::time::timeout(
        Duration::from_secs(60),
        Arc::new(crawler).run(std::future::pending()),
    )
    .await
    .expect("crawl finishes")
    .unwrap();
    let urls = rows(&t.db, "SELECT url FROM pages").await;
    let base = fx.base.as_str();
    for want in [
        format!("{base}qaragandy_habar24"),
        format!("{base}qaragandy_habar24?before=16"),
        format!("{base}aqbarys_store24"),
        format!("{base}aqbarys_store24?before=38"),
        format!("{base}aqbarys_store24?before=16"),
    ] {
        assert!(urls.contains(&want), "{want} not crawled: {urls:?}");
    }
    let shop = rows(
        &t.db,
        &format!("SELECT v.verdict FROM verdicts v JOIN pages p ON p.id = v.page_id WHERE p.url = '{base}aqbarys_store24'"),
    )
    .await;
    // Scored (the stub scorer's verdict; the obfuscated shop text is the real classifier's job).
    assert_eq!(shop.len(), 1);
    assert!(summary.images >= 2, "{summary:?}");
    t.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_the_frontier_without_fetching_twice() {
    const PAGES: usize = 300;
    let hosts = crate::web::start(6, PAGES).await;
    for t in TestDb::all().await.unwrap() {
        let worker = |name: &str| {
            let mut cfg = config(name, None);
            cfg.max_depth = 64;
            cfg.robots.obey = false;
            cfg.frontier.lease_ms = 30_000;
            cfg
        };
        let a = keyword_crawler(&t.db, worker("wa")).await;
        let b = keyword_crawler(&t.db, worker("wb")).await;
        a.seed(&[Seed::Web(
            Url::parse(&crate::web::page_url(&hosts, 0)).unwrap(),
        )])
        .await
        .unwrap();
        // The second worker starts once the first has stored a few pages: the frontier is then
        // wider than the first worker's four fetches in flight, so the second finds work at once
        // (rather than only after its one-second idle wait, by when the first may be done).
        let (ra, rb) = tokio::time::timeout(Duration::from_secs(120), async {
            tokio::join!(a.clone().run(std::future::pending()), async {
                loop {
                    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pages")
                        .fetch_one(t.db.pool())
                        .await
                        .unwrap();
                    if stored >= 10 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                b.clone().run(std::future::pending()).await
            })
        })
        .await
        .expect("crawl finishes");
        let (sa, sb) = (ra.unwrap(), rb.unwrap());
        assert_eq!(
            sa.pages + sb.pages,
            PAGES as u64,
            "{:?}: {sa:?} {sb:?}",
            t.backend()
        );
        let fetched: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT url_hash) FROM fetch_log WHERE error_kind IS NULL",
        )
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fetch_log")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert_eq!(
            (fetched, attempts),
            (PAGES as i64, PAGES as i64),
            "{:?}",
            t.backend()
        );
        let workers = rows(
            &t.db,
            "SELECT DISTINCT worker FROM fetch_log ORDER BY worker",
        )
        .await;
        // Both took part when the frontier was wide enough (it is after the first levels).
        assert_eq!(workers, ["wa", "wb"], "{:?}", t.backend());
        t.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realistic_web_is_crawled_once_and_every_page_scored_by_the_classifier() {
    // The benchmark's web and scorer, small: every page reached through the random cross-links
    // exactly once, and every page gets the built-in rule set's verdict.
    const PAGES: usize = 200;
    let hosts = crate::web::start_shaped(5, PAGES, crate::web::Shape::Realistic).await;
    let scorer = Arc::new(kuzet_crawler::scoring::ClassifierScorer::new(
        kuzet_classifier::Classifier::default_rules().unwrap(),
    ));
    let none = Arc::new(|_: &[u8]| -> Vec<String> { Vec::new() });
    for t in TestDb::all().await.unwrap() {
        let mut cfg = config("real", None);
        cfg.max_depth = 64;
        cfg.robots.obey = false;
        cfg.fetch_images = false;
        let crawler = Arc::new(
            Crawler::new(t.db.clone(), cfg, scorer.clone(), none.clone())
                .await
                .unwrap(),
        );
        crawler
            .seed(&[Seed::Web(
                Url::parse(&crate::web::page_url(&hosts, 0)).unwrap(),
            )])
            .await
            .unwrap();
        let summary = tokio::time::timeout(
            Duration::from_secs(120),
            crawler.clone().run(std::future::pending()),
        )
        .await
        .expect("crawl finishes")
        .unwrap();
        assert_eq!(
            summary.pages,
            PAGES as u64,
            "{:?}: {summary:?}",
            t.backend()
        );
        let count = |sql: &'static str| {
            let db = t.db.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(db.pool())
                    .await
                    .unwrap()
            }
        };
        assert_eq!(count("SELECT COUNT(*) FROM fetch_log").await, PAGES as i64);
        let rules = kuzet_classifier::Classifier::default_rules().unwrap();
        let version = rules.rules().version().to_string();
        let scored: Vec<String> = rows(
            &t.db,
            "SELECT DISTINCT v.rules_version FROM verdicts v JOIN pages p ON p.id = v.page_id",
        )
        .await;
        assert_eq!(scored, [version], "{:?}", t.backend());
        assert_eq!(
            count("SELECT COUNT(*) FROM verdicts WHERE page_id IS NOT NULL").await,
            PAGES as i64
        );
        let bytes: i64 = count("SELECT MIN(body_bytes) FROM pages").await;
        assert!(bytes >= 3 * 1024, "pages are a few KB: {bytes}");
        t.cleanup().await.unwrap();
    }
}

/// Group commit: a batch is one transaction. A crawl whose batch fails to commit (here a trigger
/// refuses one page) stores nothing of that batch — no page without its verdict, fetch-log row
/// or frontier removal, none of it at all — keeps everything committed before, and leaves the
/// batch's URLs leased in the frontier; a later run fetches exactly those again, and in the end
/// every page is stored and scored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_commit_stores_none_of_it_and_a_resume_completes() {
    const PAGES: usize = 150;
    const POISON: &str = "%/p/97";
    let hosts = crate::web::start(3, PAGES).await;
    let crawl_config = |worker: &str| {
        let mut cfg = config(worker, None);
        cfg.max_depth = 64;
        cfg.robots.obey = false;
        cfg.fetch_images = false;
        cfg.concurrency = 16;
        cfg.frontier.lease_ms = 1_000;
        cfg
    };
    for t in TestDb::all().await.unwrap() {
        let label = format!("{:?}", t.backend());
        let poison = match t.backend() {
            kuzet_storage::Backend::Sqlite => format!(
                "CREATE TRIGGER poison BEFORE INSERT ON pages WHEN NEW.url LIKE '{POISON}' \
                 BEGIN SELECT RAISE(ABORT, 'poisoned page'); END"
            ),
            kuzet_storage::Backend::Postgres => format!(
                "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN \
                 IF NEW.url LIKE '{POISON}' THEN RAISE EXCEPTION 'poisoned page'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER poison BEFORE INSERT ON pages FOR EACH ROW \
                 EXECUTE FUNCTION poison()"
            ),
        };
        sqlx::raw_sql(&poison).execute(t.db.pool()).await.unwrap();
        let first = keyword_crawler(&t.db, crawl_config("w1")).await;
        first
            .seed(&[Seed::Web(
                Url::parse(&crate::web::page_url(&hosts, 0)).unwrap(),
            )])
            .await
            .unwrap();
        let err = first
            .run(std::future::pending())
            .await
            .expect_err("the poisoned batch fails the crawl");
        assert!(err.to_string().contains("poisoned page"), "{label}: {err}");

        // All or nothing per URL: a URL with a page has its verdict and its fetch-log row and
        // left the queue; a URL without one has neither and is still queued.
        let pages = rows(&t.db, "SELECT url FROM pages ORDER BY url").await;
        let logged = rows(&t.db, "SELECT url FROM fetch_log ORDER BY url").await;
        assert_eq!(logged, pages, "{label}: fetch log and pages differ");
        let scored = rows(
            &t.db,
            "SELECT p.url FROM pages p JOIN verdicts v ON v.page_id = p.id ORDER BY p.url",
        )
        .await;
        assert_eq!(scored, pages, "{label}: a page without its verdict");
        let queued_stored = rows(
            &t.db,
            "SELECT f.url FROM frontier f JOIN pages p ON p.url_hash = f.url_hash",
        )
        .await;
        assert!(queued_stored.is_empty(), "{label}: {queued_stored:?}");
        assert!(
            !pages.iter().any(|u| u.ends_with("/p/97")),
            "{label}: the refused page is not stored"
        );
        let held = rows(
            &t.db,
            "SELECT url FROM frontier WHERE lease_owner = 'w1' AND url LIKE '%/p/97'",
        )
        .await;
        assert_eq!(held.len(), 1, "{label}: the failed batch's lease stays");
        assert!(
            pages.len() > 1 && pages.len() < PAGES,
            "{label}: {} pages before the failure",
            pages.len()
        );
        let before = stored_pages(&t.db).await;

        let cure = match t.backend() {
            kuzet_storage::Backend::Sqlite => "DROP TRIGGER poison",
            kuzet_storage::Backend::Postgres => "DROP TRIGGER poison ON pages",
        };
        sqlx::raw_sql(cure).execute(t.db.pool()).await.unwrap();
        let second = keyword_crawler(&t.db, crawl_config("w2")).await;
        let summary =
            tokio::time::timeout(Duration::from_secs(60), second.run(std::future::pending()))
                .await
                .expect("the resumed crawl finishes")
                .unwrap();
        assert_eq!(
            summary.pages as usize + before.len(),
            PAGES,
            "{label}: the resume fetches exactly what was not committed"
        );
        let after = stored_pages(&t.db).await;
        assert_eq!(after.len(), PAGES, "{label}");
        for row in &before {
            assert!(after.contains(row), "{label}: {row:?} changed or lost");
        }
        let twice = rows(
            &t.db,
            "SELECT url FROM fetch_log GROUP BY url HAVING COUNT(*) > 1",
        )
        .await;
        assert!(twice.is_empty(), "{label}: committed twice: {twice:?}");
        let verdicts: Vec<i64> =
            sqlx::query_scalar("SELECT COUNT(*) FROM verdicts GROUP BY page_id")
                .fetch_all(t.db.pool())
                .await
                .unwrap();
        assert!(
            verdicts.len() == PAGES && verdicts.iter().all(|n| *n == 1),
            "{label}: one verdict per page"
        );
        let refetched = rows(
            &t.db,
            "SELECT url FROM fetch_log WHERE expired_lease_owner = 'w1'",
        )
        .await;
        assert!(
            refetched.iter().any(|u| u.ends_with("/p/97")),
            "{label}: the refused page was fetched again after w1's lease expired"
        );
        t.cleanup().await.unwrap();
    }
}
