//! Building and writing a weekly report for 1,000 confirmed cases (3 pages, 4 indicators and 3
//! reviews each) on SQLite. Baselines in the same run: reading the 1,000 case rows with one plain
//! query (for `build`), and serialising the built report to JSON with serde_json (for the
//! writers).
//!
//! `cargo bench -p kuzet-reporter --bench report`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kuzet_reporter::report::{self, IsoWeek, ReportLimits, weekly};
use kuzet_storage::Db;
use kuzet_storage::testing::TestDb;

const W47: i64 = 1_794_787_200_000;
const CASES: i64 = 1_000;

async fn fill(db: &Db, evidence: &std::path::Path) {
    let record = vec![b'x'; 4096];
    std::fs::create_dir_all(evidence).unwrap();
    let mut warc = Vec::new();
    for _ in 0..CASES * 3 {
        warc.extend_from_slice(&record);
    }
    std::fs::write(evidence.join("w.warc"), &warc).unwrap();
    let mut tx = db.pool().begin().await.unwrap();
    let q = |sql: String| sqlx::query_as::<_, (i64,)>(sql.leak());
    q("INSERT INTO users (name, role, password_hash, created_at) VALUES ('a', 'analyst', 'x', 0) RETURNING id".into())
        .fetch_one(&mut *tx).await.unwrap();
    for c in 1..=CASES {
        let t = W47 + c * 60_000;
        sqlx::query(&format!(
            "INSERT INTO cases (id, status, score, title, created_at, updated_at) \
             VALUES ({c}, 'confirmed', 0.9, 'Магазин №{c} <b>закладки</b>', {t}, {t})"
        ))
        .execute(&mut *tx)
        .await
        .unwrap();
        for k in 0..3 {
            let p = c * 3 + k;
            let off = (p - 3) * 4096;
            sqlx::query(&format!(
                "INSERT INTO pages (id, url, url_hash, final_url, host, status, fetched_at, content_hash, \
                 body_bytes, title, warc_file, warc_offset, warc_length) VALUES ({p}, \
                 'https://shop{c}.kz/p{k}?q=<x>', 'h{p}', 'https://shop{c}.kz/p{k}', 'h', 200, {t}, \
                 '{p:064x}', 4096, 'Дүкен {c} қ ү ә', 'w.warc', {off}, 4096)"
            ))
            .execute(&mut *tx)
            .await
            .unwrap();
            sqlx::query(&format!(
                "INSERT INTO case_pages (page_id, case_id, added_at) VALUES ({p}, {c}, {t})"
            ))
            .execute(&mut *tx)
            .await
            .unwrap();
            sqlx::query(&format!(
                "INSERT INTO verdicts (page_id, score, verdict, reasons_json, rules_version, created_at) \
                 VALUES ({p}, 0.9, 'shop', '[]', 'v1', {t})"
            ))
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        for (i, (kind, value)) in [
            ("telegram", format!("@shop{c}")),
            ("bitcoin", format!("bc1q{c:036}")),
            ("phone", format!("+7701{c:07}")),
            ("url", format!("https://shop{c}.kz/")),
        ]
        .iter()
        .enumerate()
        {
            let id = c * 4 + i as i64;
            sqlx::query(&format!(
                "INSERT INTO indicators (id, kind, value, first_seen_at) VALUES ({id}, '{kind}', '{value}', {t})"
            ))
            .execute(&mut *tx)
            .await
            .unwrap();
            sqlx::query(&format!(
                "INSERT INTO page_indicators (page_id, indicator_id) VALUES ({}, {id})",
                c * 3 + (i as i64 % 3)
            ))
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        for (k, action) in ["start", "confirm", "note"].iter().enumerate() {
            sqlx::query(&format!(
                "INSERT INTO reviews (case_id, user_id, action, note, created_at) \
                 VALUES ({c}, 1, '{action}', 'примечание', {})",
                t + k as i64
            ))
            .execute(&mut *tx)
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    let t = rt.block_on(TestDb::sqlite()).unwrap();
    rt.block_on(fill(&t.db, &evidence));
    let week: IsoWeek = "2026-W47".parse().unwrap();
    let now = W47 + 8 * 86_400_000;
    let r = rt.block_on(weekly::build(&t.db, week, now)).unwrap();
    assert_eq!(r.cases.len() as i64, CASES);
    assert_eq!(r.cases[0].pages.len(), 3);
    assert_eq!(r.cases[0].indicators.len(), 4);

    let mut g = c.benchmark_group("report_1000_cases");
    g.sample_size(10);
    g.bench_function("baseline_select_cases", |b| {
        b.iter(|| {
            rt.block_on(async {
                let rows: Vec<(i64, String)> =
                    sqlx::query_as("SELECT id, title FROM cases WHERE status = 'confirmed'")
                        .fetch_all(t.db.pool())
                        .await
                        .unwrap();
                black_box(rows)
            })
        })
    });
    g.bench_function("build", |b| {
        b.iter(|| black_box(rt.block_on(weekly::build(&t.db, week, now)).unwrap()))
    });
    g.bench_function("baseline_serde_json", |b| {
        b.iter(|| black_box(serde_json::to_vec(&r).unwrap()))
    });
    g.bench_function("html", |b| {
        b.iter(|| black_box(report::html::render(&r).unwrap()))
    });
    g.bench_function("csv", |b| {
        b.iter(|| black_box(report::csv::render(&r).unwrap()))
    });
    g.bench_function("stix", |b| {
        b.iter(|| black_box(report::stix::render(&r).unwrap()))
    });
    g.bench_function("pdf", |b| {
        b.iter(|| black_box(report::pdf::render(&r).unwrap()))
    });
    let out = tmp.path().join("out");
    g.bench_function("package_write_all", |b| {
        b.iter(|| {
            black_box(
                report::package::write(&r, &out, &evidence, &ReportLimits::default()).unwrap(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
