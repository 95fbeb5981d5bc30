//! The dev corpus for unit tests that compare two implementations on real pages.

/// The visible text (`decode` → `html::extract`) of every page in
/// `../shared/corpus/pages-dev/pages` beside the repository; empty when it is not there.
pub(crate) fn dev_page_texts() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/pages-dev/pages");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .map(|bytes| crate::html::extract(&crate::decode::decode(&bytes, None).text).text())
        .collect()
}
