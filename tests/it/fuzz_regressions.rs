//! Replays, on stable Rust, every input kept for the cargo-fuzz targets: the committed seeds in
//! `fuzz/seeds/<target>/` and every finding in `fuzz/regressions/<target>/` (crashes, timeouts and
//! out-of-memory inputs that `fuzz/run.sh` saved, fixed since). Each goes through the very
//! function the fuzz target calls (`fuzz/harness.rs`), so the harness cannot rot unbuilt and a
//! fixed finding cannot come back.

use std::path::Path;

#[path = "../../fuzz/harness.rs"]
mod harness;

fn inputs(kind: &str, target: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    if !dir.exists() {
        return Vec::new(); // git keeps no empty folder: no finding saved for this target yet
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_seed_and_saved_finding_passes_its_fuzz_target() {
    let mut replayed = 0;
    for (name, run) in harness::TARGETS {
        let seeds = inputs("seeds", name);
        assert!(!seeds.is_empty(), "fuzz/seeds/{name}/ has no seed");
        for path in seeds.iter().chain(&inputs("regressions", name)) {
            let data = std::fs::read(path).expect("read input");
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{name}: {} fails again", path.display());
            replayed += 1;
        }
    }
    assert!(replayed >= harness::TARGETS.len());
}
