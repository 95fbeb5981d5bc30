//! Development helper: CPU time of each stage on the dev corpus (release build), per page as
//! the crawler runs them (`taskset -c 1` recommended). For stable figures use `count_stages`
//! under callgrind, or the criterion bench.

/// This thread's CPU time in seconds (Linux scheduler accounting).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |ns| ns / 1e9)
}

use kuzet_classifier::{Classifier, html, indicators};

fn main() {
    let c = Classifier::default_rules().expect("rules");
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/corpus/pages-dev".into());
    let pages: Vec<Vec<u8>> = std::fs::read_dir(format!("{dir}/pages"))
        .expect("dir")
        .flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .collect();
    let decoded: Vec<String> = pages
        .iter()
        .map(|p| kuzet_classifier::decode::decode(p, None).text)
        .collect();
    let texts: Vec<String> = decoded.iter().map(|d| html::extract(d).text()).collect();
    let norms: Vec<String> = texts
        .iter()
        .map(|t| c.normalizer().normalize(t).text().to_string())
        .collect();
    let mb = |v: &[String]| v.iter().map(String::len).sum::<usize>() as f64 / 1e6;
    let n = 20;
    let mut k = 0usize;
    let mut stage = |name: &str, bytes: f64, f: &mut dyn FnMut() -> usize| {
        let t = cpu_seconds();
        for _ in 0..n {
            k += f();
        }
        println!("{name}: {:.1} MB/s", bytes * n as f64 / (cpu_seconds() - t));
    };
    stage("extract (decoded HTML)", mb(&decoded), &mut || {
        decoded
            .iter()
            .map(|d| html::extract(d).segments.len())
            .sum()
    });
    stage("normalize (text)", mb(&texts), &mut || {
        texts
            .iter()
            .map(|t| c.normalizer().normalize(t).text().len())
            .sum()
    });
    stage("indicators (text)", mb(&texts), &mut || {
        texts.iter().map(|t| indicators::extract(t).len()).sum()
    });
    stage("rules (normalised text)", mb(&norms), &mut || {
        norms.iter().map(|t| c.engine().scan(t, &[]).len()).sum()
    });
    let html_mb = pages.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    stage("classify_html (HTML)", html_mb, &mut || {
        pages
            .iter()
            .filter_map(|p| c.classify_html(p, None).ok())
            .map(|v| v.reasons.len())
            .sum()
    });
    println!("({k})");
}
