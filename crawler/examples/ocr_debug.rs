//! Shows what the OCR pipeline sees in one image: the detected lines drawn on a grey copy
//! (`NAME.lines.png`) and the prepared crops (`NAME.crops.png`), plus the lines and the
//! indicators read, for studying misses.
//!
//! `cargo run -p kuzet-crawler --example ocr_debug -- OUT_DIR IMAGE…`

use std::path::PathBuf;

use image::{GrayImage, Luma};
use kuzet_classifier::ocr::{OcrOptions, Session};
use kuzet_crawler::ocr_runner::{OcrRunner, RunnerConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, images) = args
        .split_first()
        .ok_or("usage: ocr_debug OUT_DIR IMAGE…")?;
    let out = PathBuf::from(out);
    std::fs::create_dir_all(&out)?;
    let opts = OcrOptions::default();
    let runner = OcrRunner::new(RunnerConfig::default());
    for path in images {
        let bytes = std::fs::read(path)?;
        let stem = PathBuf::from(path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let s = Session::start(&bytes, &opts)?;
        let mut gray = image::load_from_memory(&bytes)?.to_luma8();
        for l in s.lines() {
            let (x, y, w, h) = l.bbox;
            for xx in x..(x + w).min(gray.width()) {
                for yy in [y, (y + h).min(gray.height() - 1)] {
                    gray.put_pixel(xx, yy, Luma([if l.light_text { 0 } else { 255 }]));
                }
            }
            for yy in y..(y + h).min(gray.height()) {
                for xx in [x, (x + w).min(gray.width() - 1)] {
                    gray.put_pixel(xx, yy, Luma([if l.light_text { 0 } else { 255 }]));
                }
            }
        }
        gray.save(out.join(format!("{stem}.lines.png")))?;
        let crops = s.crops();
        let w = crops.iter().map(|c| c.width()).max().unwrap_or(1);
        let h: u32 = crops.iter().map(|c| c.height() + 4).sum::<u32>().max(1);
        let mut strip = GrayImage::from_pixel(w, h, Luma([128]));
        let mut y = 0;
        for c in crops {
            image::imageops::replace(&mut strip, c, 0, i64::from(y));
            y += c.height() + 4;
        }
        strip.save(out.join(format!("{stem}.crops.png")))?;
        println!("{path}: {} lines", s.lines().len());
        for l in s.lines() {
            println!(
                "  line {:?} h {:.1} angle {:.1} letters {} light {}",
                l.bbox, l.letter_h, l.angle_deg, l.letters, l.light_text
            );
        }
        if runner.available().is_ok() {
            let mut session = Session::start(&bytes, &opts)?;
            while let Some(job) = session.next_job() {
                std::fs::write(
                    out.join(format!("{stem}.{}.pgm", job.pass.name())),
                    &job.image,
                )?;
                let res = runner.run(&job).map_err(|e| e.to_string());
                if let Ok(t) = &res {
                    std::fs::write(out.join(format!("{stem}.{}.tsv", job.pass.name())), t)?;
                }
                session.feed(res);
            }
            let r = session.finish();
            for (i, l) in r.lines.iter().enumerate() {
                println!("  text {i}: {}", l.text);
            }
            for c in &r.candidates {
                println!(
                    "  candidate {} {} line {} conf {:.1}",
                    c.pass.name(),
                    c.indicator.value,
                    c.line,
                    c.conf
                );
            }
            for f in &r.indicators {
                println!("  indicator {} ({} votes)", f.indicator.value, f.votes);
            }
        }
    }
    Ok(())
}
