//! Real pages for unit tests that compare two implementations: the dev corpus when it is there
//! and the bundled demo web always, so a comparison never runs on nothing.

use std::path::{Path, PathBuf};

/// Every `.html` file under `dir`, recursively (none when `dir` is missing).
fn html_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for path in rd.flatten().map(|e| e.path()) {
        if path.is_dir() {
            html_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "html") {
            out.push(path);
        }
    }
}

/// The visible text (`decode` → `html::extract`) of every page of the dev corpus
/// (`KUZET_CORPUS`, default `../shared/corpus/pages-dev` beside the repository, as in
/// `tests/verdicts.rs`) and of the demo web (`demo/site`, in the repository).
pub(crate) fn dev_page_texts() -> Vec<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::env::var_os("KUZET_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../shared/corpus/pages-dev"));
    let mut files = Vec::new();
    html_files(&corpus.join("pages"), &mut files);
    html_files(&manifest.join("../demo/site"), &mut files);
    let texts: Vec<String> = files
        .iter()
        .filter_map(|f| std::fs::read(f).ok())
        .map(|bytes| crate::html::extract(&crate::decode::decode(&bytes, None).text).text())
        .collect();
    assert!(
        !texts.is_empty(),
        "no pages to compare on: neither the corpus nor demo/site was found"
    );
    texts
}
