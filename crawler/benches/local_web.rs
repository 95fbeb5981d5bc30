//! Crawl benchmark: a generated local web (default 50,000 pages over 50 hosts on 127.0.x.y) served
//! by a separate process, crawled by the real crawl loop (database frontier on SQLite, fetch,
//! charset, parse, store) with politeness off for 127.0.0.0/8. Reports pages/s, pages/s per CPU
//! second of the crawler process, and its peak memory.
//!
//! ```text
//! cargo bench -p kuzet-crawler --bench local_web            # 50,000 pages, 50 hosts
//! KUZET_BENCH_PAGES=5000 cargo bench -p kuzet-crawler --bench local_web
//! ```
//! `KUZET_BENCH_SERVE=1` turns the same binary into the web server (used internally); it prints
//! the first page's URL and serves until killed. A peer crawler can be pointed at that URL.

#[path = "../tests/it/web.rs"]
mod web;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kuzet_crawler::crawl::{CrawlConfig, Crawler, EvidencePolicy, NoScorer, Seed};
use kuzet_crawler::fetch::{FetchConfig, FetchLimits};
use kuzet_crawler::frontier::FrontierOptions;
use kuzet_crawler::politeness::HostPolicy;
use kuzet_crawler::scope::Scope;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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

fn main() {
    let pages = env_usize("KUZET_BENCH_PAGES", 50_000);
    let hosts = env_usize("KUZET_BENCH_HOSTS", 50);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if std::env::var("KUZET_BENCH_SERVE").is_ok() {
        rt.block_on(async {
            let addrs = web::start(hosts, pages).await;
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

    let result = rt.block_on(async move {
        let db_dir = std::env::temp_dir().join(format!("kuzet-bench-{}", std::process::id()));
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
        let crawler = Crawler::new(db.clone(), config, Arc::new(NoScorer), decoder)
            .await
            .expect("crawler");
        crawler.seed(&[Seed::Web(seed)]).await.expect("seed");
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
    });
    let (summary, wall, cpu, peak) = result;
    // The peer on the same server process, when a Python with Scrapy is named.
    let peer = std::env::var("KUZET_BENCH_SCRAPY").ok().and_then(|python| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peer_scrapy.py");
        let out = Command::new(python)
            .arg(script)
            .arg(first.trim())
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
    });
    let _ = server.kill();
    let _ = server.wait();
    println!(
        "local web: {pages} pages on {hosts} hosts; crawled {} pages ({} bytes), errors {:?}",
        summary.pages, summary.bytes, summary.errors
    );
    println!(
        "wall {wall:.2} s = {:.0} pages/s; crawler CPU {cpu:.2} s = {:.0} pages per CPU-second; peak RSS {peak:.0} MiB",
        summary.pages as f64 / wall,
        summary.pages as f64 / cpu.max(1e-9)
    );
    if let Some((p, w, c, m)) = peer {
        println!(
            "peer (Scrapy): {p:.0} pages, wall {w:.2} s = {:.0} pages/s; CPU {c:.2} s = {:.0} pages per CPU-second; peak RSS {m:.0} MiB",
            p / w,
            p / c.max(1e-9)
        );
        println!(
            "ratio kuzet/Scrapy: {:.2}x pages/s, {:.2}x pages per CPU-second",
            (summary.pages as f64 / wall) / (p / w),
            (summary.pages as f64 / cpu.max(1e-9)) / (p / c.max(1e-9))
        );
    }
}
