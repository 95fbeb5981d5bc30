//! Crawl benchmark: a generated local web (default 50,000 realistic pages — 3–8 KB of Russian
//! text, 10–20 links — over 50 hosts on 127.0.x.y) served by a separate process, crawled by the
//! real crawl loop (database frontier on SQLite, fetch, charset, parse, classification with the
//! built-in rule set through the same `ClassifierScorer` as `kuzet crawl`, store) with politeness
//! off for 127.0.0.0/8, then crawled again in the same run without classification (`NoScorer`)
//! so the classifier's share shows as a ratio. Reports pages/s, pages per CPU-second of the
//! crawler process, and its peak memory for each crawl.
//!
//! ```text
//! cargo bench -p kuzet-crawler --bench local_web            # 50,000 pages, 50 hosts
//! KUZET_BENCH_PAGES=5000 cargo bench -p kuzet-crawler --bench local_web
//! ```
//! `KUZET_BENCH_WEB=tree` serves the old 340-byte two-link stubs instead; `KUZET_BENCH_SCORERS`
//! picks and orders the crawls (`classifier,none` by default); `KUZET_BENCH_SCRAPY=PYTHON` adds
//! Scrapy (`peer_scrapy.py`) on the same server afterwards.
//! `KUZET_BENCH_SERVE=1` turns the same binary into the web server (used internally); it prints
//! the first page's URL and serves until killed. A peer crawler can be pointed at that URL.

#[path = "../tests/it/web.rs"]
#[allow(dead_code)] // shared with the tests, which use the tree-shaped `start`
mod web;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kuzet_crawler::crawl::{
    CrawlConfig, CrawlSummary, Crawler, EvidencePolicy, NoScorer, PageScorer, Seed,
};
use kuzet_crawler::fetch::{FetchConfig, FetchLimits};
use kuzet_crawler::frontier::FrontierOptions;
use kuzet_crawler::politeness::HostPolicy;
use kuzet_crawler::scope::Scope;
use kuzet_crawler::scoring::ClassifierScorer;
use url::Url;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resets this process's peak resident set (`VmHWM`), so each crawl reports its own peak.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// (user + system CPU seconds, peak resident MiB) of this process, from /proc.
fn cpu_and_peak() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name; clock ticks of 1/100 s.
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    (cpu, hwm / 1024.0)
}

/// One crawl of the web from `seed` with this scorer into a fresh SQLite database:
/// (summary, wall s, crawler CPU s, peak RSS MiB).
fn crawl(
    rt: &tokio::runtime::Runtime,
    seed: &Url,
    scorer: Arc<dyn PageScorer>,
) -> (CrawlSummary, f64, f64, f64) {
    rt.block_on(async move {
        let db_dir = std::env::temp_dir().join(format!("kuzet-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&db_dir);
        std::fs::create_dir_all(&db_dir).expect("temp dir");
        let url = format!("sqlite://{}", db_dir.join("bench.db").display());
        let db = kuzet_storage::Db::connect(&url, &kuzet_storage::DbOptions::default())
            .await
            .expect("db");
        let mut config = CrawlConfig {
            fetch: FetchConfig {
                limits: FetchLimits {
                    read_timeout: Duration::from_secs(10),
                    ..FetchLimits::default()
                },
                scope: Scope::parse(["127.0.0.0/8"]).expect("scope"),
                allow_private_addresses: true,
                socks_proxy: None,
            },
            frontier: FrontierOptions {
                worker: "bench".into(),
                per_host: 64,
                max_hosts: 256,
                ..FrontierOptions::default()
            },
            max_depth: 64,
            concurrency: env_usize("KUZET_BENCH_CONCURRENCY", 128),
            fetch_images: false,
            evidence: EvidencePolicy::Off,
            ..CrawlConfig::default()
        };
        config.politeness.overrides.push((
            "127.0.0.0/8".parse().expect("entry"),
            HostPolicy::relaxed(16),
        ));
        let decoder = Arc::new(|_: &[u8]| -> Vec<String> { Vec::new() });
        let crawler = Crawler::new(db.clone(), config, scorer, decoder)
            .await
            .expect("crawler");
        crawler
            .seed(&[Seed::Web(seed.clone())])
            .await
            .expect("seed");
        reset_peak();
        let (cpu0, _) = cpu_and_peak();
        let t0 = Instant::now();
        let summary = Arc::new(crawler)
            .run(std::future::pending())
            .await
            .expect("crawl");
        let wall = t0.elapsed().as_secs_f64();
        let (cpu1, peak) = cpu_and_peak();
        db.close().await;
        let _ = std::fs::remove_dir_all(&db_dir);
        (summary, wall, cpu1 - cpu0, peak)
    })
}

/// Scrapy (`peer_scrapy.py`) on the same server: (pages, wall s, CPU s, peak RSS MiB).
fn scrapy(python: &str, seed: &str) -> Option<(f64, f64, f64, f64)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peer_scrapy.py");
    let out = Command::new(python)
        .arg(script)
        .arg(seed)
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.lines().rev().find(|l| l.starts_with('{'))?.to_string();
    let v: serde_json::Value = serde_json::from_str(&line).ok()?;
    Some((
        v["pages"].as_f64()?,
        v["wall"].as_f64()?,
        v["cpu"].as_f64()?,
        v["peak_mib"].as_f64()?,
    ))
}

fn main() {
    let pages = env_usize("KUZET_BENCH_PAGES", 50_000);
    let hosts = env_usize("KUZET_BENCH_HOSTS", 50);
    let shape = match std::env::var("KUZET_BENCH_WEB").as_deref() {
        Ok("tree") => web::Shape::Tree,
        _ => web::Shape::Realistic,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if std::env::var("KUZET_BENCH_SERVE").is_ok() {
        rt.block_on(async {
            let addrs = web::start_shaped(hosts, pages, shape).await;
            println!("{}", web::page_url(&addrs, 0));
            std::future::pending::<()>().await;
        });
        return;
    }
    // The web in its own process, so the CPU figures below are the crawler's alone.
    let mut server = Command::new(std::env::current_exe().expect("exe"))
        .env("KUZET_BENCH_SERVE", "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("server process");
    let mut first = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("server URL");
    let seed = kuzet_crawler::url::parse_canonical(first.trim()).expect("seed URL");
    println!("local web ({shape:?}): {pages} pages on {hosts} hosts");
    let scorers = std::env::var("KUZET_BENCH_SCORERS").unwrap_or_else(|_| "classifier,none".into());
    let mut rates = Vec::new();
    for name in scorers.split(',').map(str::trim) {
        let scorer: Arc<dyn PageScorer> = match name {
            "none" => Arc::new(NoScorer),
            _ => Arc::new(ClassifierScorer::new(
                kuzet_classifier::Classifier::default_rules().expect("built-in rules"),
            )),
        };
        let (summary, wall, cpu, peak) = crawl(&rt, &seed, scorer);
        let (per_s, per_cpu) = (
            summary.pages as f64 / wall,
            summary.pages as f64 / cpu.max(1e-9),
        );
        println!(
            "kuzet, scorer {name}: crawled {} pages ({} bytes, flagged {}), errors {:?}",
            summary.pages, summary.bytes, summary.flagged, summary.errors
        );
        println!(
            "  wall {wall:.2} s = {per_s:.0} pages/s; crawler CPU {cpu:.2} s = {per_cpu:.0} pages per CPU-second; peak RSS {peak:.0} MiB"
        );
        rates.push((name.to_string(), per_s, per_cpu));
    }
    if let [(a, a_s, a_cpu), (b, b_s, b_cpu)] = &rates[..] {
        println!(
            "ratio {a}/{b}: {:.2}x pages/s, {:.2}x pages per CPU-second",
            a_s / b_s,
            a_cpu / b_cpu
        );
    }
    // The peer on the same server process, when a Python with Scrapy is named.
    let peer = std::env::var("KUZET_BENCH_SCRAPY")
        .ok()
        .and_then(|python| scrapy(&python, first.trim()));
    let _ = server.kill();
    let _ = server.wait();
    if let Some((p, w, c, m)) = peer {
        let (per_s, per_cpu) = (p / w, p / c.max(1e-9));
        println!(
            "peer (Scrapy): {p:.0} pages, wall {w:.2} s = {per_s:.0} pages/s; CPU {c:.2} s = {per_cpu:.0} pages per CPU-second; peak RSS {m:.0} MiB"
        );
        for (name, k_s, k_cpu) in &rates {
            println!(
                "ratio kuzet ({name})/Scrapy: {:.2}x pages/s, {:.2}x pages per CPU-second",
                k_s / per_s,
                k_cpu / per_cpu
            );
        }
    }
}
