//! Classifier throughput, with a naive baseline measured in the same run.
//!
//! `cargo bench -p kuzet-classifier --bench classify`
//!
//! Input: the pages of the dev corpus (`KUZET_CORPUS`, default `../../shared/corpus/pages-dev`
//! from this crate), or a synthetic page set when the corpus is missing.
//! - `rules/engine`: the engine over the normalised text of all pages joined into one text.
//! - `rules/naive`: the baseline — every term and every pattern as its own regex, each run
//!   separately over the same normalised text.
//! - `rules_per_page/engine`, `rules_per_page/naive`: the same, page by page (how the crawler
//!   runs it: a pattern whose required literals are missing from a page is skipped there).
//! - `normalize`: visible text → normalised text.
//! - `classify/html`: whole pipeline, HTML bytes → verdict, page by page.
//!
//! Time is the benchmark thread's CPU time (`/proc/thread-self/schedstat`), so figures are per
//! core even on a loaded machine; `KUZET_BENCH_CLOCK=wall` measures wall time instead. Pin the
//! run to one core with `taskset -c 1`.

use std::path::PathBuf;

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput};
use kuzet_classifier::Classifier;
use regex::Regex;

fn pages() -> Vec<Vec<u8>> {
    let dir = std::env::var_os("KUZET_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/pages-dev")
        });
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir.join("pages"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    if out.is_empty() {
        let shop = "<p>Клады в каждом районе: мефедрон 1г — 16 000 ₸, адрес через 5 минут, BTC, @shop_bot</p>";
        let news =
            "<p>Полиция задержала курьера; по данным следствия, закладки прятали у гаражей.</p>";
        for i in 0..100 {
            out.push(
                format!(
                    "<html><body>{}{}</body></html>",
                    shop.repeat(i % 5 + 1),
                    news.repeat(10)
                )
                .into_bytes(),
            );
        }
    }
    out
}

/// CPU time of the calling thread, from the scheduler's accounting (nanoseconds).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .expect("/proc/thread-self/schedstat (Linux) for CPU time; use KUZET_BENCH_CLOCK=wall")
}

/// A criterion measurement of the benchmark thread's CPU time.
struct CpuTime;

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = Duration;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }

    fn end(&self, start: u64) -> Duration {
        Duration::from_nanos(thread_cpu_ns().saturating_sub(start))
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        WallTime.formatter()
    }
}

fn main() {
    if std::env::var("KUZET_BENCH_CLOCK").is_ok_and(|v| v == "wall") {
        let mut c = Criterion::default().configure_from_args();
        bench(&mut c);
        c.final_summary();
    } else {
        let mut c = Criterion::default()
            .with_measurement(CpuTime)
            .configure_from_args();
        bench(&mut c);
        c.final_summary();
    }
}

fn bench<M: Measurement>(c: &mut Criterion<M>) {
    let classifier = Classifier::default_rules().expect("default rules");
    let pages = pages();
    let html_bytes: usize = pages.iter().map(Vec::len).sum();
    let text: String = pages
        .iter()
        .map(|p| {
            let d = kuzet_classifier::decode::decode(p, None);
            kuzet_classifier::html::extract(&d.text).text()
        })
        .collect::<Vec<_>>()
        .join("\n");
    let normalized = classifier.normalizer().normalize(&text);
    let norm = normalized.text().to_string();
    let norm_pages: Vec<String> = pages
        .iter()
        .map(|p| {
            let d = kuzet_classifier::decode::decode(p, None);
            let t = kuzet_classifier::html::extract(&d.text).text();
            classifier.normalizer().normalize(&t).text().to_string()
        })
        .collect();
    let norm_pages_bytes: usize = norm_pages.iter().map(String::len).sum();

    // Naive baseline: each term (escaped, with the same variants) and each pattern separately.
    let mut naive: Vec<Regex> = Vec::new();
    for rule in &classifier.rules().rules {
        for t in &rule.terms {
            let core = classifier.normalizer().normalize_term(t.trim_matches('*'));
            for v in kuzet_classifier::normalize::digit_variants(&core, 32) {
                naive.push(Regex::new(&regex::escape(&v)).expect("escaped literal"));
            }
        }
    }
    naive.extend(classifier.engine().regexes().iter().cloned());

    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Bytes(norm.len() as u64));
    g.sample_size(10);
    g.bench_function("engine", |b| {
        b.iter(|| classifier.engine().scan(&norm, &[]).len())
    });
    g.bench_function("naive", |b| {
        b.iter(|| {
            naive
                .iter()
                .map(|r| r.find_iter(&norm).count())
                .sum::<usize>()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("rules_per_page");
    g.throughput(Throughput::Bytes(norm_pages_bytes as u64));
    g.sample_size(10);
    g.bench_function("engine", |b| {
        b.iter(|| {
            norm_pages
                .iter()
                .map(|t| classifier.engine().scan(t, &[]).len())
                .sum::<usize>()
        })
    });
    g.bench_function("naive", |b| {
        b.iter(|| {
            norm_pages
                .iter()
                .map(|t| naive.iter().map(|r| r.find_iter(t).count()).sum::<usize>())
                .sum::<usize>()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("normalize", |b| {
        b.iter(|| classifier.normalizer().normalize(&text).text().len())
    });
    g.throughput(Throughput::Bytes(html_bytes as u64));
    g.bench_function("classify_html", |b| {
        b.iter(|| {
            pages
                .iter()
                .filter_map(|p| classifier.classify_html(p, None).ok())
                .map(|v| v.reasons.len())
                .sum::<usize>()
        })
    });
    g.finish();
    eprintln!(
        "input: {} pages, {} HTML bytes, {} text bytes, {} normalised bytes; {} literal patterns ({} in the main automaton), {} regexes, naive baseline {} regexes",
        pages.len(),
        html_bytes,
        text.len(),
        norm.len(),
        classifier.engine().literal_count(),
        classifier.engine().main_literal_count(),
        classifier.engine().regexes().len(),
        naive.len()
    );
}
