//! Queue page with 10,000 cases on SQLite: server time to render the page (query + template),
//! against a baseline measured in the same run — a bare `SELECT` of the same case rows.
//!
//! Run: `cargo bench -p kuzet-reporter --bench queue` (env `KUZET_BENCH_CASES`, default 10000).
//!
//! Each figure is the median of 15 runs of wall time, and beside it the CPU time of the whole
//! process (every thread, including sqlx's SQLite worker) over the same runs, from
//! `/proc/self/task/*/schedstat`: on the shared, loaded machine wall time includes waiting for a
//! core, CPU time does not.

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

/// CPU time of every thread of this process so far (Linux; 0 elsewhere).
fn process_cpu() -> Duration {
    let mut ns: u64 = 0;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for t in dir.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) {
                ns += s
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    Duration::from_nanos(ns)
}

/// (median wall time, median process CPU time) of `runs` runs after one warm-up.
async fn time<F, Fut>(runs: usize, mut f: F) -> (Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    f().await; // warm-up
    let mut wall = Vec::with_capacity(runs);
    let mut cpu = Vec::with_capacity(runs);
    for _ in 0..runs {
        let c = process_cpu();
        let t = Instant::now();
        f().await;
        wall.push(t.elapsed());
        cpu.push(process_cpu().saturating_sub(c));
    }
    (median(wall), median(cpu))
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
    let json_baseline = time(runs, || async {
        let j: String = sqlx::query_scalar(
            "SELECT json_group_array(json_array(id, status, score, title, created_at, updated_at)) \
             FROM (SELECT id, status, score, title, created_at, updated_at FROM cases \
             WHERE merged_into IS NULL ORDER BY score DESC, created_at ASC, id ASC LIMIT 10000)",
        )
        .fetch_one(db.pool())
        .await
        .expect("select");
        assert!(j.len() > n * 20);
    })
    .await;
    let all_filter = kuzet_reporter::cases::QueueFilter {
        limit: 10_000,
        ..Default::default()
    };
    let list_rows = time(runs, || async {
        let l = cases::list_with(&db, &all_filter, cases::Fetch::Rows)
            .await
            .expect("list");
        assert_eq!(l.len(), n.min(10_000));
    })
    .await;
    let list_only = time(runs, || async {
        let l = cases::list(&db, &all_filter).await.expect("list");
        assert_eq!(l.len(), n.min(10_000));
    })
    .await;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let row = |name: &str, (w, c): (Duration, Duration)| {
        println!(
            "  {name:<62} wall {:>8.1} ms ({:>5.2}x)   cpu {:>8.1} ms ({:>5.2}x)",
            ms(w),
            ms(w) / ms(baseline.0),
            ms(c),
            ms(c) / ms(baseline.1),
        );
    };
    println!(
        "queue bench: {n} cases on SQLite, median of {runs} runs; ratios against the bare SELECT"
    );
    row(
        &format!("baseline: bare SELECT of {n} case rows (row by row)"),
        baseline,
    );
    row("the same rows as one json_group_array row", json_baseline);
    row(
        &format!("cases::list, all {n}, row by row (before; PostgreSQL's path)"),
        list_rows,
    );
    row(
        &format!("cases::list, all {n}, JSON rows (after; SQLite's path)"),
        list_only,
    );
    row(
        &format!("queue page, all {n} cases (list + askama render)"),
        full,
    );
    row("queue page, default page of 200 open cases", default_page);
    t.cleanup().await.expect("cleanup");
}
