//! Queue page with 10,000 cases on SQLite: server time to render the page (query + template),
//! against a baseline measured in the same run — a bare `SELECT` of the same case rows.
//!
//! Run: `cargo bench -p kuzet-reporter --bench queue` (env `KUZET_BENCH_CASES`, default 10000).

use std::time::{Duration, Instant};

use kuzet_reporter::cases::fixture::{self, PageSpec};
use kuzet_reporter::cases::{self, GroupingLimits};
use kuzet_reporter::users::{self, Role};
use kuzet_reporter::web::{self, AppState, QueueParams, Session, WebConfig};
use kuzet_storage::testing::TestDb;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn time<F, Fut>(runs: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    f().await; // warm-up
    let mut v = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f().await;
        v.push(t.elapsed());
    }
    median(v)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("KUZET_BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let t = TestDb::sqlite().await.expect("sqlite");
    let db = t.db.clone();
    let fill = Instant::now();
    for i in 0..n {
        let url = format!("http://shop{i}.test/catalog");
        let handle = format!("shop_{i}");
        let wallet = format!("bc1q{i:08}");
        let title = format!("Магазин {i} — закладки");
        fixture::page(
            &db,
            &PageSpec {
                url: &url,
                title: &title,
                text: "закладки мефедрон",
                score: (i % 97) as f64 / 97.0,
                verdict: if i % 3 == 0 { "shop" } else { "suspicious" },
                indicators: &[("telegram", &handle), ("bitcoin", &wallet)],
                ..PageSpec::default()
            },
        )
        .await
        .expect("page");
    }
    let stats = cases::rebuild_or_update(&db, &GroupingLimits::default())
        .await
        .expect("rebuild");
    assert_eq!(stats.created.len(), n);
    eprintln!("filled {n} cases in {:.1?}", fill.elapsed());
    let user = users::add(&db, "bench", "bench", Role::Analyst, "bench password 1")
        .await
        .expect("user");
    let sess = Session {
        user,
        csrf: "x".repeat(64),
    };
    let state = AppState::new(db.clone(), WebConfig::default());
    let runs = 15;

    let baseline = time(runs, || async {
        let rows = sqlx::query(
            "SELECT id, status, score, title, created_at, updated_at FROM cases \
             WHERE merged_into IS NULL ORDER BY score DESC, created_at ASC, id ASC LIMIT 10000",
        )
        .fetch_all(db.pool())
        .await
        .expect("select");
        assert_eq!(rows.len(), n.min(10_000));
    })
    .await;
    let all = QueueParams {
        status: Some("all".into()),
        limit: Some(10_000),
        ..QueueParams::default()
    };
    let full = time(runs, || async {
        let html = web::render_queue(&state, &sess, &all)
            .await
            .expect("render");
        assert!(html.len() > n * 100);
    })
    .await;
    let default_page = time(runs, || async {
        web::render_queue(&state, &sess, &QueueParams::default())
            .await
            .expect("render");
    })
    .await;
    let ratio = full.as_secs_f64() / baseline.as_secs_f64();
    println!("queue bench: {n} cases on SQLite, median of {runs} runs");
    println!("  baseline bare SELECT of {n} case rows: {baseline:.1?}");
    println!(
        "  queue page, all {n} cases (query + URLs + indicators + template): {full:.1?}  ({ratio:.1}x baseline)"
    );
    println!("  queue page, default page of 200 open cases: {default_page:.1?}");
    t.cleanup().await.expect("cleanup");
}
