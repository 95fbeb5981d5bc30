//! OCR evaluation on a labelled image set (see `examples/ocr_testset.rs` for the generator and
//! the manifest format): the plain baseline (`tesseract IMAGE stdout -l rus+kaz+eng` on the
//! whole image, then the page-text indicator extractor) and the kuzet pipeline, on the same
//! images in the same run.
//!
//! `cargo bench -p kuzet-crawler --bench ocr_eval -- [--no-baseline] [--misses] [--limit N] DIR`
//! (DIR defaults to `$KUZET_OCR_CORPUS`). Pin it to one core with `taskset -c 0` (the engine
//! processes inherit the pinning); image files are read before the clock starts.
//!
//! Reported per method: handles and phones read exactly (recall), indicators not in the image
//! (false, per image), slang words found in the text, images skipped as text-free, images/s.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use kuzet_classifier::indicators::Indicator;
use kuzet_classifier::normalize::Normalizer;
use kuzet_classifier::ocr::OcrOptions;
use kuzet_crawler::ocr_runner::{OcrRunner, RunnerConfig};

struct Item {
    name: String,
    category: String,
    bytes: Vec<u8>,
    expected: Vec<(String, String)>,
    slang: Vec<String>,
}

#[derive(Default)]
struct Score {
    images: usize,
    key_expected: usize,
    key_exact: usize,
    by_kind: BTreeMap<&'static str, (usize, usize)>,
    false_ind: usize,
    images_with_false: usize,
    slang_expected: usize,
    slang_found: usize,
    skipped: usize,
    skipped_blank: usize,
    blank: usize,
    errors: usize,
    seconds: f64,
}

fn key_kind(kind: &str) -> Option<&'static str> {
    match kind {
        "telegram" | "telegram_bot" => Some("handle"),
        "phone" => Some("phone"),
        _ => None,
    }
}

impl Score {
    // One call per image with everything the tally needs; a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        item: &Item,
        found: &[Indicator],
        text: &str,
        skipped: bool,
        norm: &Normalizer,
        misses: bool,
        method: &str,
    ) {
        self.images += 1;
        let got: Vec<(String, String)> = found
            .iter()
            .map(|i| (i.kind.name().to_string(), i.value.clone()))
            .collect();
        for (k, v) in &item.expected {
            if let Some(kk) = key_kind(k) {
                self.key_expected += 1;
                let e = self.by_kind.entry(kk).or_default();
                e.0 += 1;
                if got.iter().any(|(gk, gv)| gk == k && gv == v) {
                    self.key_exact += 1;
                    e.1 += 1;
                } else if misses {
                    eprintln!("{method} miss {} {k}:{v} — read {text:?}", item.name);
                }
            }
        }
        let false_here = got
            .iter()
            .filter(|(k, v)| !item.expected.iter().any(|(ek, ev)| ek == k && ev == v))
            .inspect(|(k, v)| {
                if misses {
                    eprintln!("{method} false {} {k}:{v}", item.name);
                }
            })
            .count();
        self.false_ind += false_here;
        self.images_with_false += usize::from(false_here > 0);
        let ntext = norm.normalize(text);
        for s in &item.slang {
            self.slang_expected += 1;
            if ntext.text().contains(&norm.normalize_term(s)) {
                self.slang_found += 1;
            }
        }
        let blank = item.category == "blank";
        self.blank += usize::from(blank);
        self.skipped += usize::from(skipped);
        self.skipped_blank += usize::from(skipped && blank);
    }

    fn row(&self, name: &str) -> String {
        let pct = |a: usize, b: usize| {
            if b == 0 {
                "–".to_string()
            } else {
                format!("{:.1} % ({a}/{b})", 100.0 * a as f64 / b as f64)
            }
        };
        let (hs, hx) = self.by_kind.get("handle").copied().unwrap_or_default();
        let (ps, px) = self.by_kind.get("phone").copied().unwrap_or_default();
        format!(
            "| {name} | {} | {} | {} | {:.3} ({}/{}) | {} | {} | {} | {:.2} | {} |",
            pct(self.key_exact, self.key_expected),
            pct(hx, hs),
            pct(px, ps),
            self.false_ind as f64 / self.images.max(1) as f64,
            self.false_ind,
            self.images,
            pct(self.slang_found, self.slang_expected),
            pct(self.skipped, self.images),
            pct(self.skipped_blank, self.blank),
            self.images as f64 / self.seconds.max(1e-9),
            self.errors,
        )
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let baseline = !args.iter().any(|a| a == "--no-baseline");
    let misses = args.iter().any(|a| a == "--misses");
    let limit = args
        .iter()
        .position(|a| a == "--limit")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    // `--dump FILE`: every candidate reading (pass, value, confidence, in the image or not,
    // reported or not) as TSV, for studying the vote.
    let dump_path = args
        .iter()
        .position(|a| a == "--dump")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let mut dump = String::from("image\tline\tpass\tkind\tvalue\tconf\texpected\treported\n");
    let dir = args
        .iter()
        .filter(|a| Some(*a) != dump_path.as_ref())
        .find(|a| a.contains('/'))
        .cloned()
        .or_else(|| std::env::var("KUZET_OCR_CORPUS").ok())
        .expect("give the test set directory (or set KUZET_OCR_CORPUS)");
    let dir = PathBuf::from(dir);
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).expect("read manifest.tsv");
    let mut items = Vec::new();
    for row in manifest.lines().skip(1).take(limit) {
        let f: Vec<&str> = row.split('\t').collect();
        if f.len() < 5 {
            continue;
        }
        items.push(Item {
            name: f[0].to_string(),
            category: f[1].to_string(),
            bytes: std::fs::read(dir.join(f[0])).expect("read image"),
            expected: f[3]
                .split_whitespace()
                .filter_map(|kv| kv.split_once(':'))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            slang: f[4]
                .split('|')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        });
    }
    let runner = OcrRunner::new(RunnerConfig::default());
    let version = runner
        .available()
        .map(str::to_string)
        .expect("the OCR engine must be installed for this benchmark");
    let opts = OcrOptions::default();
    let norm = Normalizer::new();
    let mut rows = Vec::new();
    if baseline {
        let mut s = Score::default();
        let t0 = Instant::now();
        for it in &items {
            match runner.plain(&it.bytes, &opts) {
                Ok(text) => {
                    let found = kuzet_classifier::ocr::plain_indicators(&text);
                    s.add(it, &found, &text, false, &norm, misses, "plain");
                }
                Err(e) => {
                    eprintln!("plain {}: {e}", it.name);
                    s.errors += 1;
                }
            }
        }
        s.seconds = t0.elapsed().as_secs_f64();
        rows.push(s.row("plain `tesseract IMAGE stdout -l rus+kaz+eng` + regex"));
    }
    let mut s = Score::default();
    let mut passes = 0usize;
    let t0 = Instant::now();
    for it in &items {
        match runner.ocr(&it.bytes, &opts) {
            Ok(r) => {
                passes += r.passes_run;
                for e in &r.pass_errors {
                    eprintln!("pipeline {}: {e}", it.name);
                }
                let found: Vec<Indicator> =
                    r.indicators.iter().map(|f| f.indicator.clone()).collect();
                for c in &r.candidates {
                    let kind = c.indicator.kind.name();
                    let expected = it
                        .expected
                        .iter()
                        .any(|(k, v)| k == kind && *v == c.indicator.value);
                    dump.push_str(&format!(
                        "{}\t{}\t{}\t{kind}\t{}\t{:.1}\t{expected}\t{}\n",
                        it.name,
                        c.line,
                        c.pass.name(),
                        c.indicator.value,
                        c.conf,
                        found.contains(&c.indicator)
                    ));
                }
                s.add(it, &found, &r.text, r.text_free, &norm, misses, "pipeline");
            }
            Err(e) => {
                eprintln!("pipeline {}: {e}", it.name);
                s.errors += 1;
            }
        }
    }
    s.seconds = t0.elapsed().as_secs_f64();
    rows.push(s.row("kuzet pipeline"));
    if let Some(p) = &dump_path {
        std::fs::write(p, &dump).expect("write the dump");
    }
    println!(
        "engine: {version}; {} images from {}",
        items.len(),
        dir.display()
    );
    println!(
        "| method | handles+phones exact | handles | phones | false indicators / image | slang found | skipped as text-free | blank images skipped | images/s | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    println!(
        "pipeline engine runs: {passes} ({:.2} per image)",
        passes as f64 / items.len().max(1) as f64
    );
}
