//! Development helper: time each stage separately on the dev corpus (release build).
use std::time::Instant;

use kuzet_classifier::Classifier;

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
    let text: String = pages
        .iter()
        .map(|p| {
            kuzet_classifier::html::extract(&kuzet_classifier::decode::decode(p, None).text).text()
        })
        .collect::<Vec<_>>()
        .join("\n");
    let norm = c.normalizer().normalize(&text).text().to_string();
    let mb = norm.len() as f64 / 1e6;
    let n = 20;
    let t = Instant::now();
    let mut k = 0;
    for _ in 0..n {
        k += c.engine().automaton().find_iter(&norm).count();
    }
    println!(
        "ac leftmost-longest: {:.1} MB/s ({} matches)",
        mb * n as f64 / t.elapsed().as_secs_f64(),
        k / n
    );
    let t = Instant::now();
    for _ in 0..n {
        k += c.engine().regex_set().matches(&norm).iter().count();
    }
    println!(
        "regexset: {:.1} MB/s",
        mb * n as f64 / t.elapsed().as_secs_f64()
    );
    let pats: Vec<String> = c
        .engine()
        .regexes()
        .iter()
        .map(|r| r.as_str().to_string())
        .collect();
    for skip in 0..pats.len() {
        let sub: Vec<&String> = pats
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, p)| p)
            .collect();
        let set = regex::RegexSet::new(&sub).expect("set");
        let t = Instant::now();
        for _ in 0..5 {
            k += set.matches(&norm).iter().count();
        }
        println!(
            "  set without {skip}: {:.1} MB/s",
            mb * 5.0 / t.elapsed().as_secs_f64()
        );
    }
    let one = regex::RegexSet::new(["кездесусиз"]).expect("set");
    let t = Instant::now();
    for _ in 0..5 {
        k += one.matches(&norm).iter().count();
    }
    println!(
        "  set of one literal: {:.1} MB/s",
        mb * 5.0 / t.elapsed().as_secs_f64()
    );
    for (i, r) in c.engine().regexes().iter().enumerate() {
        let t = Instant::now();
        for _ in 0..5 {
            k += r.find_iter(&norm).count();
        }
        println!(
            "  regex {i}: {:.1} MB/s  {}",
            mb * 5.0 / t.elapsed().as_secs_f64(),
            r.as_str().chars().take(60).collect::<String>()
        );
    }
    let tmb = text.len() as f64 / 1e6;
    let t = Instant::now();
    for _ in 0..n {
        k += c.normalizer().normalize(&text).text().len();
    }
    println!(
        "normalize: {:.1} MB/s",
        tmb * n as f64 / t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    for _ in 0..n {
        k += kuzet_classifier::indicators::extract(&text).len();
    }
    println!(
        "indicators: {:.1} MB/s {k}",
        tmb * n as f64 / t.elapsed().as_secs_f64()
    );
}
