//! Decode-rate benchmark on a labelled QR corpus (a manifest.csv, see `qr::eval`).
//!
//! `cargo bench -p kuzet-classifier --bench qr_eval -- [--plain-rqrr] [--exhaustive] [--no-reread] [--misses] [DIR]`
//! (DIR defaults to `$KUZET_QR_CORPUS` or `../shared/corpus/qr/zxing-blackbox`). Prints
//! per-category exact-match counts, codes per attempt and images/s (single thread; pin it
//! with `taskset -c 0`). Image files are read before the clock starts.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use kuzet_classifier::qr::{self, QrOptions, eval};

/// (category, expected text bytes) of one code.
type Expected = (String, Vec<u8>);

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let plain = args.iter().any(|a| a == "--plain-rqrr");
    let exhaustive = args.iter().any(|a| a == "--exhaustive");
    let misses = args.iter().any(|a| a == "--misses");
    let dir = args
        .iter()
        .find(|a| a.contains('/'))
        .cloned()
        .or_else(|| std::env::var("KUZET_QR_CORPUS").ok())
        .unwrap_or_else(|| "../shared/corpus/qr/zxing-blackbox".into());
    let dir = PathBuf::from(dir);
    let manifest = std::fs::read(dir.join("manifest.csv")).expect("read manifest.csv");
    let rows = eval::parse_manifest(&manifest).expect("parse manifest");
    // image → (bytes, [(category, expected)])
    let mut images: BTreeMap<String, (Vec<u8>, Vec<Expected>)> = BTreeMap::new();
    for r in &rows {
        let expected = std::fs::read(dir.join(&r.expected_text_file)).expect("read expected");
        let e = images.entry(r.image.clone()).or_insert_with(|| {
            (
                std::fs::read(dir.join(&r.image)).expect("read image"),
                vec![],
            )
        });
        e.1.push((r.category.clone(), expected));
    }
    let num = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u32>().ok())
    };
    let mut opts = QrOptions {
        exhaustive,
        reread_grids: !args.iter().any(|a| a == "--no-reread"),
        ..QrOptions::default()
    };
    if let Some(v) = num("--upscale-max-dim") {
        opts.upscale_max_dim = v;
    }
    if let Some(v) = num("--work-max-dim") {
        opts.work_max_dim = v;
    }
    if let Some(v) = num("--max-attempts") {
        opts.max_attempts = v as usize;
    }
    let mut tally = eval::Tally::default();
    let mut attempts = 0usize;
    let t0 = Instant::now();
    let mut slow: Vec<(f64, String, usize)> = Vec::new();
    for (name, (bytes, expected)) in &images {
        let ti = Instant::now();
        let res = if plain {
            qr::decode_image_plain_rqrr(bytes, &opts.limits)
        } else {
            qr::decode_image(bytes, &opts)
        };
        slow.push((
            ti.elapsed().as_secs_f64(),
            name.clone(),
            res.as_ref().map_or(0, |r| r.attempts_tried),
        ));
        let codes = res.as_ref().map(|r| r.codes.clone()).unwrap_or_default();
        attempts += res.as_ref().map_or(0, |r| r.attempts_tried);
        for (cat, exp) in expected {
            let hit = tally.add(cat, exp, codes.iter().map(|c| (c.text.as_str(), c.attempt)));
            if misses && !hit {
                let got: Vec<_> = codes
                    .iter()
                    .map(|c| c.text.chars().take(40).collect::<String>())
                    .collect();
                eprintln!("miss {name}: got {got:?} err {:?}", res.as_ref().err());
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let mode = if plain { "plain-rqrr" } else { "kuzet" };
    for (cat, (e, r)) in &tally.per_category {
        println!("{mode:<11} {cat:<24} {r:>4}/{e:<4}");
    }
    let (e, r) = tally.total();
    println!(
        "{mode:<11} {:<24} {r:>4}/{e:<4} images {} in {secs:.3}s = {:.1} images/s, {:.2} attempts/image",
        "ALL",
        images.len(),
        images.len() as f64 / secs,
        attempts as f64 / images.len() as f64
    );
    if args.iter().any(|a| a == "--slowest") {
        slow.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (t, n, a) in slow.iter().take(15) {
            println!("slow {:.1} ms {n} ({a} attempts)", t * 1e3);
        }
    }
    for (a, n) in &tally.per_attempt {
        println!("{mode:<11} attempt {a:<20} {n}");
    }
}
