//! Development helper: runs each stage of the classifier once over the dev corpus, for
//! instruction counts under callgrind (stable on a noisy machine, unlike wall time).
//!
//! ```text
//! cargo build --release -p kuzet-classifier --example count_stages
//! valgrind --tool=callgrind --toggle-collect='*count_stages::stage_*' \
//!     target/release/examples/count_stages ../shared/corpus/pages-dev
//! callgrind_annotate --inclusive=yes callgrind.out.<pid> | grep 'count_stages::stage_'
//! ```
//!
//! Each `stage_*` function is one stage over the whole corpus; the inclusive instruction count
//! of each, divided by the bytes it processed, is the figure to compare before and after.
use std::hint::black_box;

use kuzet_classifier::{Classifier, html};
use regex::Regex;

#[inline(never)]
fn stage_extract(pages: &[String]) -> usize {
    pages.iter().map(|p| html::extract(p).text().len()).sum()
}

#[inline(never)]
fn stage_normalize(c: &Classifier, text: &str) -> usize {
    c.normalizer().normalize(text).text().len()
}

#[inline(never)]
fn stage_rules(c: &Classifier, norm: &str) -> usize {
    c.engine().scan(norm, &[]).len()
}

#[inline(never)]
fn stage_rules_pages(c: &Classifier, norms: &[String]) -> usize {
    norms.iter().map(|t| c.engine().scan(t, &[]).len()).sum()
}

#[inline(never)]
fn stage_naive(naive: &[Regex], norm: &str) -> usize {
    naive.iter().map(|r| r.find_iter(norm).count()).sum()
}

#[inline(never)]
fn stage_indicators(text: &str) -> usize {
    kuzet_classifier::indicators::extract(text).len()
}

#[inline(never)]
fn stage_classify(c: &Classifier, pages: &[Vec<u8>]) -> usize {
    pages
        .iter()
        .filter_map(|p| c.classify_html(p, None).ok())
        .map(|v| v.reasons.len())
        .sum()
}

fn main() {
    let c = Classifier::default_rules().expect("rules");
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/corpus/pages-dev".into());
    let mut paths: Vec<_> = std::fs::read_dir(format!("{dir}/pages"))
        .expect("corpus dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    let pages: Vec<Vec<u8>> = paths.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    let decoded: Vec<String> = pages
        .iter()
        .map(|p| kuzet_classifier::decode::decode(p, None).text)
        .collect();
    let text: String = decoded
        .iter()
        .map(|d| html::extract(d).text())
        .collect::<Vec<_>>()
        .join("\n");
    let norm = c.normalizer().normalize(&text).text().to_string();
    let norms: Vec<String> = decoded
        .iter()
        .map(|d| {
            let t = html::extract(d).text();
            c.normalizer().normalize(&t).text().to_string()
        })
        .collect();
    let mut naive: Vec<Regex> = Vec::new();
    for rule in &c.rules().rules {
        for t in &rule.terms {
            let core = c.normalizer().normalize_term(t.trim_matches('*'));
            for v in kuzet_classifier::normalize::digit_variants(&core, 32) {
                naive.push(Regex::new(&regex::escape(&v)).expect("escaped literal"));
            }
        }
    }
    naive.extend(c.engine().regexes().iter().cloned());
    let html_bytes: usize = pages.iter().map(Vec::len).sum();
    println!(
        "html {html_bytes} B, text {} B, normalised {} B",
        text.len(),
        norm.len()
    );
    // Warm-up outside the counted functions (lazy DFA caches, allocator).
    for d in &decoded {
        black_box(html::extract(d));
    }
    black_box(c.normalizer().normalize(&text));
    black_box(c.engine().scan(&norm, &[]));
    for t in &norms {
        black_box(c.engine().scan(t, &[]));
    }
    for r in &naive {
        black_box(r.find_iter(&norm).count());
    }
    black_box(kuzet_classifier::indicators::extract(&text));
    for p in &pages {
        black_box(c.classify_html(p, None).ok());
    }
    black_box(stage_extract(black_box(&decoded)));
    black_box(stage_normalize(&c, black_box(&text)));
    black_box(stage_rules(&c, black_box(&norm)));
    black_box(stage_rules_pages(&c, black_box(&norms)));
    black_box(stage_naive(&naive, black_box(&norm)));
    black_box(stage_indicators(black_box(&text)));
    black_box(stage_classify(&c, black_box(&pages)));
}
