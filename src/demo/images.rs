//! Images of the demo web, drawn at start-up: a wall photo with a QR code that leads to the
//! otherwise unlinked shop page, a plain picture, and hostile images.

use std::collections::HashMap;

use anyhow::Context as _;
use image::{GrayImage, ImageFormat, Luma};
use qrcode::{Color, EcLevel, QrCode};

pub struct DemoImages {
    by_path: HashMap<(u8, &'static str), Vec<u8>>,
}

impl DemoImages {
    pub fn generate(port: u16) -> anyhow::Result<DemoImages> {
        let mut by_path = HashMap::new();
        let wall = wall_with_qr(
            &format!("http://127.0.0.4:{port}/dukhen.html"),
            640,
            480,
            90,
        )?;
        by_path.insert((5, "/img/wall-1.png"), png(&wall)?);
        let recipe = noise(320, 240, 7, 200);
        by_path.insert((1, "/img/recipe.png"), png(&recipe)?);
        // Hostile host: a QR whose payload is a javascript: URL (must be recorded, never fetched),
        // and one pointing at a private address (refused by the scope and the SSRF guard).
        let js = wall_with_qr("javascript:alert(document.cookie)", 320, 320, 40)?;
        by_path.insert((6, "/img/qr-js.png"), png(&js)?);
        let private = wall_with_qr("http://10.0.0.1/admin", 320, 320, 40)?;
        by_path.insert((6, "/img/qr-private.png"), png(&private)?);
        Ok(DemoImages { by_path })
    }

    pub fn get(&self, host: u8, path: &str) -> Option<&Vec<u8>> {
        self.by_path
            .iter()
            .find(|((h, p), _)| *h == host && *p == path)
            .map(|(_, v)| v)
    }
}

fn png(img: &GrayImage) -> anyhow::Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png)
        .context("encode demo PNG")?;
    Ok(out.into_inner())
}

/// A grey, noisy "wall" (deterministic).
fn noise(w: u32, h: u32, seed: u32, base: u8) -> GrayImage {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    GrayImage::from_fn(w, h, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        Luma([base.saturating_sub((state % 40) as u8)])
    })
}

/// A wall with a QR code painted on it at `(offset, offset)`, four pixels per module.
fn wall_with_qr(payload: &str, w: u32, h: u32, offset: u32) -> anyhow::Result<GrayImage> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .context("demo QR payload too long")?;
    let modules = code.width() as u32;
    let colors = code.to_colors();
    let scale = 4;
    let quiet = 4;
    let mut img = noise(w, h, 11, 190);
    let side = (modules + 2 * quiet) * scale;
    for y in 0..side {
        for x in 0..side {
            let (mx, my) = (
                (x / scale) as i64 - quiet as i64,
                (y / scale) as i64 - quiet as i64,
            );
            let dark = mx >= 0
                && my >= 0
                && (mx as u32) < modules
                && (my as u32) < modules
                && colors[(my as u32 * modules + mx as u32) as usize] == Color::Dark;
            let (px, py) = (offset + x, offset + y);
            if px < w && py < h {
                img.put_pixel(px, py, Luma([if dark { 25 } else { 235 }]));
            }
        }
    }
    Ok(img)
}
