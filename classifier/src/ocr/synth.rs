//! Synthetic street photos with text, for tests and benchmarks (cargo feature `synth`).
//!
//! Deterministic from a seed: the same seed gives the same image on every machine, so the
//! OCR test set is regenerated on demand instead of committed. The caller passes the font
//! (e.g. DejaVu Sans from Debian's `fonts-dejavu-core`); this module does no IO.
//!
//! A [`Sample`] is a scene (textured wall, sticker or banner; text lines; rotation, blur,
//! contrast, noise) plus what a perfect reader would find: the indicators of the drawn text
//! (by [`crate::indicators::extract`]) and the slang words drawn.

pub use ab_glyph;
use ab_glyph::{Font, PxScale, ScaleFont, point};
use image::{Rgb, RgbImage};

use crate::indicators::{self, Indicator};

/// SplitMix64: a tiny generator whose output is fixed forever (a library generator may change
/// its stream between versions, which would silently change the test set).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in `[0, n)` (`0` when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }
}

/// What the text is painted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Plaster or brick with stains and cracks; stencil or spray paint.
    Wall,
    /// A paper sticker on a wall.
    Sticker,
    /// A printed banner or shop picture: flat or gradient colour.
    Banner,
}

impl Surface {
    /// Lower-case name (`wall`, `sticker`, `banner`).
    pub fn name(self) -> &'static str {
        match self {
            Surface::Wall => "wall",
            Surface::Sticker => "sticker",
            Surface::Banner => "banner",
        }
    }
}

/// Everything needed to draw one image.
#[derive(Debug, Clone)]
pub struct Scene {
    /// Image width.
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// What the text is on.
    pub surface: Surface,
    /// Text lines, top to bottom (may be empty: a photo of nothing).
    pub lines: Vec<String>,
    /// Font size in pixels.
    pub text_px: f32,
    /// Rotation of the text block in degrees (positive: counter-clockwise).
    pub angle_deg: f32,
    /// Horizontal shear of the text (a slanted stencil), as a factor.
    pub shear: f32,
    /// Gaussian blur sigma in pixels (0 for none).
    pub blur: f32,
    /// Ink opacity in `(0, 1]`: low values give low-contrast text.
    pub contrast: f32,
    /// Amplitude of uniform pixel noise (0–255 scale).
    pub noise: f32,
    /// Seed of the textures and noise.
    pub seed: u64,
}

/// One generated test image and its expectations.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The scene to draw.
    pub scene: Scene,
    /// Category: `handle`, `phone`, `slang`, `mixed`, `decoy` (text without indicators) or
    /// `blank` (no text).
    pub category: &'static str,
    /// Indicators of the drawn text.
    pub expected: Vec<Indicator>,
    /// Slang words drawn (upper-case as drawn).
    pub slang: Vec<String>,
}

const HANDLE_PARTS: &[&str] = &[
    "shop", "snow", "alma", "white", "ice", "fast", "mag", "top", "drop", "klad", "nur", "astana",
    "crystal", "green", "lux", "vip", "store", "market", "kz", "mix", "good", "star", "bro",
    "kaif", "zakaz", "lavka", "stuff", "moon", "dream", "tripp",
];
const SLANG: &[&str] = &[
    "ЗАКЛАДКИ",
    "СОЛЬ",
    "МЕФ",
    "ШИШКИ",
    "КРИСТАЛЛЫ",
    "ГАШ",
    "ЭКСТАЗИ",
    "АЛЬФА",
    "МЕФЕДРОН",
    "ДҮКЕН",
    "ЖҰМЫС",
    "ТЕГІН ЖЕТКІЗУ",
    "КУРЬЕРЫ",
    "КЛАДМЕН",
    "ОПТ",
];
const DECOYS: &[&str] = &[
    "РЕМОНТ КВАРТИР",
    "ПРОДАМ ГАРАЖ",
    "КАФЕ",
    "OPEN 9-21",
    "ул. Абая 15",
    "SALE -50%",
    "МАРШРУТ 32",
    "Coffee to go",
    "АПТЕКА",
    "ДӘРІХАНА",
    "Шиномонтаж",
    "WiFi free",
    "2024",
    "КАССА №3",
    "Нан және сүт",
];
const LEADS: &[&str] = &["Telegram:", "TG", "Пиши", "Жаз", "Заказ", "Работа", "Звони"];
const PHONE_PREFIXES: &[&str] = &[
    "700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777", "778",
];

fn handle(rng: &mut Rng) -> String {
    let mut h = rng.pick(HANDLE_PARTS).to_string();
    let second = *rng.pick(HANDLE_PARTS);
    if rng.chance(0.5) {
        h.push('_');
    }
    h.push_str(second);
    match rng.below(4) {
        0 => h.push_str("_bot"),
        1 => h.push_str("bot"),
        2 => h.push_str(&format!("{}", 1 + rng.below(99))),
        _ => {}
    }
    if rng.chance(0.2) {
        h = h.to_uppercase();
    }
    format!("@{h}")
}

fn phone(rng: &mut Rng) -> String {
    let p = rng.pick(PHONE_PREFIXES);
    let d: Vec<u32> = (0..7).map(|_| rng.below(10) as u32).collect();
    let s = |r: std::ops::Range<usize>| d[r].iter().map(|x| x.to_string()).collect::<String>();
    match rng.below(4) {
        0 => format!("+7 {p} {} {} {}", s(0..3), s(3..5), s(5..7)),
        1 => format!("8 ({p}) {}-{}-{}", s(0..3), s(3..5), s(5..7)),
        2 => format!("+7{p}{}", s(0..7)),
        _ => format!("8-{p}-{}-{}-{}", s(0..3), s(3..5), s(5..7)),
    }
}

/// The sample with index `index` of the set generated from `seed`.
///
/// Categories cycle so that every 20 images hold 6 handle, 5 phone, 3 mixed, 2 slang, 2 decoy
/// and 2 blank images; surfaces and distortions are drawn at random.
pub fn sample(seed: u64, index: u64) -> Sample {
    let mut rng = Rng::new(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
    const CYCLE: [&str; 20] = [
        "handle", "phone", "handle", "mixed", "phone", "slang", "handle", "decoy", "phone",
        "blank", "handle", "mixed", "phone", "handle", "slang", "decoy", "phone", "handle",
        "mixed", "blank",
    ];
    let category = CYCLE[(index % 20) as usize];
    let mut lines = Vec::new();
    let mut slang = Vec::new();
    match category {
        "handle" => {
            if rng.chance(0.5) {
                lines.push(rng.pick(LEADS).to_string());
            }
            lines.push(handle(&mut rng));
        }
        "phone" => {
            if rng.chance(0.4) {
                lines.push(rng.pick(LEADS).to_string());
            }
            lines.push(phone(&mut rng));
        }
        "mixed" => {
            let s = rng.pick(SLANG).to_string();
            slang.push(s.clone());
            lines.push(s);
            lines.push(handle(&mut rng));
            if rng.chance(0.5) {
                lines.push(phone(&mut rng));
            }
        }
        "slang" => {
            let s = rng.pick(SLANG).to_string();
            slang.push(s.clone());
            lines.push(s);
        }
        "decoy" => lines.push(rng.pick(DECOYS).to_string()),
        _ => {}
    }
    let surface = match rng.below(5) {
        0 | 1 => Surface::Wall,
        2 | 3 => Surface::Sticker,
        _ => Surface::Banner,
    };
    let (width, height) = *rng.pick(&[(640u32, 480u32), (800, 600), (1024, 768), (960, 1280)]);
    let hard = rng.chance(0.5);
    let scene = Scene {
        width,
        height,
        surface,
        text_px: rng.range(0.045, 0.11) * width.min(height) as f32,
        angle_deg: if hard {
            rng.range(-12.0, 12.0)
        } else {
            rng.range(-3.0, 3.0)
        },
        shear: if rng.chance(0.3) {
            rng.range(-0.2, 0.2)
        } else {
            0.0
        },
        blur: if rng.chance(0.4) {
            rng.range(0.6, 2.2)
        } else {
            0.0
        },
        contrast: if rng.chance(0.3) {
            rng.range(0.3, 0.5)
        } else {
            rng.range(0.7, 1.0)
        },
        noise: rng.range(2.0, if hard { 28.0 } else { 10.0 }),
        lines,
        seed: rng.next_u64(),
    };
    let expected = indicators::extract(&scene.lines.join("\n"));
    Sample {
        scene,
        category,
        expected,
        slang,
    }
}

/// Smooth value noise in `[0, 1]` at `(x, y)` with cell size `cell`.
fn value_noise(rng_seed: u64, x: f32, y: f32, cell: f32) -> f32 {
    let (gx, gy) = (x / cell, y / cell);
    let (x0, y0) = (gx.floor(), gy.floor());
    let (fx, fy) = (gx - x0, gy - y0);
    let h = |ix: f32, iy: f32| {
        let mut r = Rng::new(
            rng_seed
                ^ ((ix as i64 as u64).wrapping_mul(0x9E37_79B9))
                ^ ((iy as i64 as u64).wrapping_mul(0x85EB_CA6B) << 20),
        );
        r.unit()
    };
    let s = |t: f32| t * t * (3.0 - 2.0 * t);
    let (sx, sy) = (s(fx), s(fy));
    let top = h(x0, y0) * (1.0 - sx) + h(x0 + 1.0, y0) * sx;
    let bottom = h(x0, y0 + 1.0) * (1.0 - sx) + h(x0 + 1.0, y0 + 1.0) * sx;
    top * (1.0 - sy) + bottom * sy
}

fn lerp(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// The background: a float RGB buffer.
fn background(scene: &Scene, rng: &mut Rng) -> Vec<[f32; 3]> {
    let (w, h) = (scene.width as usize, scene.height as usize);
    let palette: &[[f32; 3]] = match scene.surface {
        Surface::Wall | Surface::Sticker => &[
            [190.0, 180.0, 165.0],
            [150.0, 80.0, 60.0],
            [120.0, 120.0, 125.0],
            [210.0, 205.0, 190.0],
            [90.0, 95.0, 100.0],
        ],
        Surface::Banner => &[
            [240.0, 240.0, 235.0],
            [250.0, 210.0, 40.0],
            [30.0, 60.0, 140.0],
            [200.0, 30.0, 40.0],
            [20.0, 20.0, 25.0],
        ],
    };
    let base = *rng.pick(palette);
    let tex_seed = rng.next_u64();
    let bricks = scene.surface != Surface::Banner && rng.chance(0.4);
    let brick_h = rng.range(30.0, 70.0);
    let mut px = vec![[0.0f32; 3]; w * h];
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32, y as f32);
            let c = match scene.surface {
                Surface::Banner => {
                    let g = (fy / h as f32 - 0.5) * 30.0;
                    [base[0] + g, base[1] + g, base[2] + g]
                }
                _ => {
                    let n = value_noise(tex_seed, fx, fy, 64.0) * 0.5
                        + value_noise(tex_seed ^ 1, fx, fy, 16.0) * 0.3
                        + value_noise(tex_seed ^ 2, fx, fy, 4.0) * 0.2;
                    let stain = value_noise(tex_seed ^ 3, fx, fy, 150.0);
                    let mut v = (n - 0.5) * 70.0 - (stain - 0.6).max(0.0) * 150.0;
                    if bricks {
                        let row = (fy / brick_h).floor();
                        let off = if row as i64 % 2 == 0 { 0.0 } else { brick_h };
                        let bx = (fx + off) % (brick_h * 2.0);
                        let by = fy % brick_h;
                        if bx < 4.0 || by < 4.0 {
                            v += 45.0;
                        }
                    }
                    [base[0] + v, base[1] + v, base[2] + v]
                }
            };
            px[y * w + x] = c;
        }
    }
    if scene.surface == Surface::Wall {
        // A few cracks and scratches: thin dark lines (distractors for text detection).
        for _ in 0..rng.below(4) {
            let (mut x, mut y) = (rng.range(0.0, w as f32), rng.range(0.0, h as f32));
            let mut a = rng.range(0.0, std::f32::consts::TAU);
            for _ in 0..rng.below(300) + 50 {
                a += rng.range(-0.3, 0.3);
                x += a.cos() * 2.0;
                y += a.sin() * 2.0;
                if x >= 0.0 && y >= 0.0 && (x as usize) < w && (y as usize) < h {
                    let p = &mut px[y as usize * w + x as usize];
                    *p = lerp(*p, [40.0, 40.0, 40.0], 0.6);
                }
            }
        }
    }
    px
}

/// Renders the text lines into a coverage mask (`0..=1`), unrotated; returns it with its size.
fn text_mask(font: &impl Font, scene: &Scene) -> (Vec<f32>, usize, usize) {
    let scale = PxScale::from(scene.text_px.max(4.0));
    let sf = font.as_scaled(scale);
    let line_h = (sf.ascent() - sf.descent() + sf.line_gap()).ceil();
    let widths: Vec<f32> = scene
        .lines
        .iter()
        .map(|l| {
            let mut wdt = 0.0;
            let mut prev = None;
            for c in l.chars() {
                let g = sf.glyph_id(c);
                if let Some(p) = prev {
                    wdt += sf.kern(p, g);
                }
                wdt += sf.h_advance(g);
                prev = Some(g);
            }
            wdt
        })
        .collect();
    let pad = (scene.text_px * 0.6).ceil();
    let mw = (widths.iter().cloned().fold(0.0, f32::max) + 2.0 * pad).ceil() as usize;
    let mh = (line_h * scene.lines.len() as f32 + 2.0 * pad).ceil() as usize;
    let mut mask = vec![0.0f32; mw.max(1) * mh.max(1)];
    for (i, l) in scene.lines.iter().enumerate() {
        let mut x = pad + (mw as f32 - 2.0 * pad - widths[i]) / 2.0;
        let baseline = pad + line_h * i as f32 + sf.ascent();
        let mut prev = None;
        for c in l.chars() {
            let id = sf.glyph_id(c);
            if let Some(p) = prev {
                x += sf.kern(p, id);
            }
            let glyph = id.with_scale_and_position(scale, point(x, baseline));
            x += sf.h_advance(id);
            prev = Some(id);
            if let Some(og) = font.outline_glyph(glyph) {
                let b = og.px_bounds();
                og.draw(|gx, gy, cov| {
                    let px = b.min.x as i64 + i64::from(gx);
                    let py = b.min.y as i64 + i64::from(gy);
                    if px >= 0 && py >= 0 && (px as usize) < mw && (py as usize) < mh {
                        let m = &mut mask[py as usize * mw + px as usize];
                        *m = (*m + cov).min(1.0);
                    }
                });
            }
        }
    }
    (mask, mw, mh)
}

/// Draws `scene` with `font`.
pub fn render(font: &impl Font, scene: &Scene) -> RgbImage {
    let mut rng = Rng::new(scene.seed);
    let (w, h) = (scene.width as usize, scene.height as usize);
    let mut px = background(scene, &mut rng);
    if !scene.lines.is_empty() {
        let (mask, mw, mh) = text_mask(font, scene);
        let (a, sh) = (scene.angle_deg.to_radians(), scene.shear);
        let (ca, sa) = (a.cos(), a.sin());
        // Place the block centre so the rotated block fits when possible.
        let (hw, hh) = (mw as f32 / 2.0, mh as f32 / 2.0);
        let ext_x = hw * ca.abs() + hh * sa.abs();
        let ext_y = hw * sa.abs() + hh * ca.abs();
        let cx = if ext_x * 2.0 < w as f32 {
            rng.range(ext_x, w as f32 - ext_x)
        } else {
            w as f32 / 2.0
        };
        let cy = if ext_y * 2.0 < h as f32 {
            rng.range(ext_y, h as f32 - ext_y)
        } else {
            h as f32 / 2.0
        };
        let (ink, paper) = ink_and_paper(scene, &mut rng, px[(cy as usize).min(h - 1) * w]);
        let sample = |u: f32, v: f32| -> f32 {
            if u < 0.0 || v < 0.0 || u >= (mw - 1) as f32 || v >= (mh - 1) as f32 {
                return 0.0;
            }
            let (x0, y0) = (u as usize, v as usize);
            let (fx, fy) = (u - x0 as f32, v - y0 as f32);
            let m = |x: usize, y: usize| mask[y * mw + x];
            (m(x0, y0) * (1.0 - fx) + m(x0 + 1, y0) * fx) * (1.0 - fy)
                + (m(x0, y0 + 1) * (1.0 - fx) + m(x0 + 1, y0 + 1) * fx) * fy
        };
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                // Inverse rotation (screen y points down, so counter-clockwise is -a here).
                let u = dx * ca - dy * sa;
                let v = dx * sa + dy * ca;
                let u = u - sh * v;
                let (u, v) = (u + hw, v + hh);
                let p = &mut px[y * w + x];
                if let Some(paper) = paper
                    && u >= 0.0
                    && v >= 0.0
                    && u < mw as f32
                    && v < mh as f32
                {
                    *p = lerp(*p, paper, 0.92);
                }
                let cov = sample(u, v);
                if cov > 0.0 {
                    *p = lerp(*p, ink, cov * scene.contrast);
                }
            }
        }
    }
    let mut img = RgbImage::from_fn(scene.width, scene.height, |x, y| {
        let c = px[y as usize * w + x as usize];
        Rgb(c.map(|v| v.clamp(0.0, 255.0) as u8))
    });
    if scene.blur > 0.0 {
        img = image::imageops::blur(&img, scene.blur);
    }
    if scene.noise > 0.0 {
        for p in img.pixels_mut() {
            let n = rng.range(-scene.noise, scene.noise);
            for c in &mut p.0 {
                *c = (f32::from(*c) + n).clamp(0.0, 255.0) as u8;
            }
        }
    }
    img
}

/// Ink colour and, for stickers, the paper colour under the text.
fn ink_and_paper(scene: &Scene, rng: &mut Rng, bg: [f32; 3]) -> ([f32; 3], Option<[f32; 3]>) {
    let luma = 0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2];
    match scene.surface {
        Surface::Sticker => {
            let paper = *rng.pick(&[
                [245.0, 245.0, 240.0],
                [250.0, 235.0, 120.0],
                [230.0, 240.0, 250.0],
            ]);
            let ink = *rng.pick(&[[20.0, 20.0, 20.0], [180.0, 20.0, 30.0], [20.0, 40.0, 150.0]]);
            (ink, Some(paper))
        }
        _ => {
            let dark = *rng.pick(&[[15.0, 15.0, 15.0], [30.0, 40.0, 120.0], [140.0, 10.0, 20.0]]);
            let light = *rng.pick(&[[250.0, 250.0, 250.0], [255.0, 230.0, 60.0]]);
            (if luma > 110.0 { dark } else { light }, None)
        }
    }
}
