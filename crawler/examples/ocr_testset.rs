//! Writes the synthetic OCR test set: street photos with handles, phones and slang (and some
//! with none), deterministic from a seed, plus `manifest.tsv` with what each image holds.
//!
//! `cargo run -p kuzet-crawler --example ocr_testset -- [--seed N] [--count N] [--font TTF] DIR`
//!
//! The font defaults to `$KUZET_OCR_FONT` or DejaVu Sans from Debian's `fonts-dejavu-core`.
//! Manifest columns (tab-separated): `image`, `category`, `surface`, `expected` (space-separated
//! `kind:value`), `slang` (`|`-separated words), `conditions` (how the photo was spoilt:
//! `blur=` sigma, `contrast=` ink opacity, `angle=` degrees, `text_px=` letter size, `noise=`).

use std::path::PathBuf;

use kuzet_classifier::ocr::synth::{self, ab_glyph::FontVec};

/// The font used when none is given.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seed: u64 = opt("--seed").map_or(Ok(2024), |s| s.parse())?;
    let count: u64 = opt("--count").map_or(Ok(240), |s| s.parse())?;
    let font_path = opt("--font")
        .or_else(|| std::env::var("KUZET_OCR_FONT").ok())
        .unwrap_or_else(|| DEFAULT_FONT.into());
    let dir = PathBuf::from(
        args.last()
            .filter(|a| !a.starts_with("--"))
            .ok_or("usage: ocr_testset [--seed N] [--count N] [--font TTF] DIR")?,
    );
    let font = FontVec::try_from_vec(
        std::fs::read(&font_path).map_err(|e| format!("font {font_path}: {e}"))?,
    )
    .map_err(|e| format!("font {font_path}: {e}"))?;
    std::fs::create_dir_all(&dir)?;
    let mut manifest = String::from("image\tcategory\tsurface\texpected\tslang\tconditions\n");
    for i in 0..count {
        let s = synth::sample(seed, i);
        let img = synth::render(&font, &s.scene);
        let name = match s.scene.surface {
            synth::Surface::Banner => format!("{i:04}.png"),
            _ => format!("{i:04}.jpg"),
        };
        let path = dir.join(&name);
        if name.ends_with(".jpg") {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut f, 82).encode_image(&img)?;
        } else {
            img.save(&path)?;
        }
        let expected: Vec<String> = s
            .expected
            .iter()
            .map(|ind| format!("{}:{}", ind.kind.name(), ind.value))
            .collect();
        manifest.push_str(&format!(
            "{name}\t{}\t{}\t{}\t{}\tblur={:.1} contrast={:.2} angle={:.1} text_px={:.0} noise={:.0}\n",
            s.category,
            s.scene.surface.name(),
            expected.join(" "),
            s.slang.join("|"),
            s.scene.blur,
            s.scene.contrast,
            s.scene.angle_deg,
            s.scene.text_px,
            s.scene.noise,
        ));
    }
    std::fs::write(dir.join("manifest.tsv"), manifest)?;
    eprintln!("wrote {count} images and manifest.tsv to {}", dir.display());
    Ok(())
}
