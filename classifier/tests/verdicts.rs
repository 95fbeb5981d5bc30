//! Verdict snapshot: every page of the dev corpus and of the demo site, classified with the
//! default rules, compared with `classifier/testdata/verdicts.json` (score rounded to 1e-9,
//! label, reasons' rule ids and evidence, indicators).
//!
//! The snapshot guards behaviour while the pipeline is optimised: any difference fails the
//! test with the page and the first differing field. Regenerate it deliberately with
//! `KUZET_UPDATE_SNAPSHOT=1 cargo test -p kuzet-classifier --test verdicts` and explain the
//! change in the commit. The corpus (`KUZET_CORPUS`, default `../../shared/corpus/pages-dev`
//! from this crate) lives outside the repository; when it is missing only the demo pages are
//! compared.

use std::path::{Path, PathBuf};

use kuzet_classifier::Classifier;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Snap {
    page: String,
    score: f64,
    verdict: String,
    reasons: Vec<(String, String)>,
    indicators: Vec<(String, String)>,
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("KUZET_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest().join("../../shared/corpus/pages-dev"))
}

fn html_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            html_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "html") {
            out.push(p);
        }
    }
}

/// (snapshot name, path) of every page, sorted by name.
fn pages() -> (Vec<(String, PathBuf)>, bool) {
    let mut out = Vec::new();
    let corpus = corpus_dir().join("pages");
    let have_corpus = corpus.is_dir();
    let mut files = Vec::new();
    html_files(&corpus, &mut files);
    for f in files {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
        out.push((format!("pages-dev/{}", name.unwrap_or_default()), f));
    }
    let demo = manifest().join("../demo/site");
    let mut files = Vec::new();
    html_files(&demo, &mut files);
    for f in files {
        let rel = f.strip_prefix(&demo).unwrap_or(&f).to_string_lossy();
        out.push((format!("demo/{rel}"), f.clone()));
    }
    out.sort();
    (out, have_corpus)
}

fn snap(classifier: &Classifier, name: &str, path: &Path) -> Snap {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match classifier.classify_html(&bytes, None) {
        Ok(v) => Snap {
            page: name.to_string(),
            score: (v.score * 1e9).round() / 1e9,
            verdict: format!("{:?}", v.verdict),
            reasons: v
                .reasons
                .into_iter()
                .map(|r| (r.rule, r.evidence))
                .collect(),
            indicators: v
                .indicators
                .into_iter()
                .map(|i| (i.kind.name().to_string(), i.value))
                .collect(),
        },
        Err(e) => Snap {
            page: name.to_string(),
            score: -1.0,
            verdict: format!("error: {e}"),
            reasons: Vec::new(),
            indicators: Vec::new(),
        },
    }
}

#[test]
fn verdicts_match_the_snapshot() {
    let classifier = Classifier::default_rules().unwrap_or_else(|e| panic!("default rules: {e}"));
    let (pages, have_corpus) = pages();
    let got: Vec<Snap> = pages
        .iter()
        .map(|(name, path)| snap(&classifier, name, path))
        .collect();
    let file = manifest().join("testdata/verdicts.json");
    if std::env::var_os("KUZET_UPDATE_SNAPSHOT").is_some() {
        assert!(
            have_corpus,
            "refusing to write a snapshot without the corpus"
        );
        let json = serde_json::to_string_pretty(&got).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&file, json + "\n").unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        return;
    }
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let want: Vec<Snap> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    if !have_corpus {
        eprintln!("corpus missing: comparing demo pages only");
    }
    let mut failures = Vec::new();
    let mut compared = 0;
    for w in &want {
        if !have_corpus && w.page.starts_with("pages-dev/") {
            continue;
        }
        compared += 1;
        match got.iter().find(|g| g.page == w.page) {
            None => failures.push(format!("{}: page missing", w.page)),
            Some(g) if g != w => {
                failures.push(format!("{}:\n  want {:?}\n  got  {:?}", w.page, w, g))
            }
            Some(_) => {}
        }
    }
    for g in &got {
        if !want.iter().any(|w| w.page == g.page) {
            failures.push(format!("{}: page not in the snapshot", g.page));
        }
    }
    assert!(compared > 0, "no pages compared");
    assert!(
        failures.is_empty(),
        "{} of {compared} verdicts differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
