//! Preparing lines for the engine: crop, deskew, scale to a fixed letter height, stretch the
//! contrast, binarise (dark text on white), and stack the lines into one strip.

use image::imageops::{self, FilterType};
use image::{GrayImage, Luma};

use super::OcrOptions;
use super::regions::Line;

/// Scale factors outside this range are clamped (a 2-px "line" is not blown up to 40 px).
const MIN_SCALE: f32 = 0.2;
const MAX_SCALE: f32 = 4.0;
/// A binarised crop with more ink than this share (in percent) holds grain, not text.
const MAX_INK_PERCENT: usize = 35;
/// Margin left and right of a line's letters, in letter heights, as above and below.
pub const SIDE_MARGIN: f32 = 0.6;
/// The wider side margin of the phone rechecks: a phone's first digit or last pair set a
/// little apart (`8 (747) 139-38-78`) is often not chained into the line; a crop that
/// reaches 1.5 letter heights further gives the engine the whole number.
pub const WIDE_SIDE_MARGIN: f32 = 1.5;
/// Longest side of one prepared crop.
const MAX_CROP_SIDE: u32 = 4_000;

/// Crops `line` out of `gray` with a margin, rotates it level, scales its letters to
/// `letter_px`, and binarises it with Otsu's threshold so the text is black on white.
pub fn crop_line(gray: &GrayImage, line: &Line, letter_px: u32) -> Prepared {
    crop_line_sides(gray, line, letter_px, SIDE_MARGIN)
}

/// As [`crop_line`], with `side_margin` letter heights left and right of the letters.
fn crop_line_sides(gray: &GrayImage, line: &Line, letter_px: u32, side_margin: f32) -> Prepared {
    let (x, y, w, h) = line.bbox;
    let m = (line.letter_h * 0.6).max(4.0) as u32;
    let mx = (line.letter_h * side_margin).max(4.0) as u32;
    let x0 = x.saturating_sub(mx);
    let y0 = y.saturating_sub(m);
    let x1 = (x + w + mx).min(gray.width());
    let y1 = (y + h + m).min(gray.height());
    let crop = imageops::crop_imm(gray, x0, y0, x1 - x0, y1 - y0).to_image();
    let level = rotate(&crop, line.angle_deg);
    let s = (letter_px as f32 / line.letter_h.max(1.0)).clamp(MIN_SCALE, MAX_SCALE);
    let nw = ((level.width() as f32 * s) as u32).clamp(1, MAX_CROP_SIDE);
    let nh = ((level.height() as f32 * s) as u32).clamp(1, MAX_CROP_SIDE);
    let mut scaled = imageops::resize(&level, nw, nh, FilterType::Triangle);
    if line.light_text {
        imageops::invert(&mut scaled);
    }
    flatten(&mut scaled, (letter_px as usize * 2 / 5).max(3));
    stretch(&mut scaled);
    let (t, separation) = crate::pixels::otsu_separation(scaled.as_raw());
    let mut ink = 0usize;
    for p in scaled.pixels_mut() {
        let dark = p.0[0] <= t;
        ink += usize::from(dark);
        p.0[0] = if dark { 0 } else { 255 };
    }
    // Otsu splits any histogram in two; when a third or more of the crop comes out as ink,
    // the histogram had one peak (grain, noise: about half is "ink") and there is no text.
    // Letters with their margins cover well under a third of a crop.
    let noise = ink * 100 > scaled.as_raw().len() * MAX_INK_PERCENT;
    let letters = clean(&mut scaled, letter_px);
    let letters = if noise { 0 } else { letters };
    Prepared {
        image: scaled,
        letters,
        separation,
    }
}

/// A prepared crop and how many letter-like blobs it still holds after [`clean`].
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Dark text on white, letters about `letter_px` high.
    pub image: GrayImage,
    /// Letter-like blobs on the crop's main text band (a run-together word counts its
    /// estimated letters).
    pub letters: usize,
    /// How cleanly the threshold split ink from background before binarisation (Otsu's
    /// between-class over total variance, 0–1).
    pub separation: f64,
}

/// Removes ink that cannot be a letter from a binarised crop whose letters are about
/// `letter_px` high: blobs more than twice that high (stains, shadows), blobs touching the
/// crop's edge that are taller than a letter or wider than three (the edge of a sticker, a
/// wall's shadow), solid blocks, and specks. Such ink makes the engine take the whole line
/// for a picture and read nothing. Underscores, dashes and dots stay (small but not specks).
///
/// Returns the letters left: blobs 0.5–1.6 letters high, shaped like letters (or like a
/// blurred word), whose centres sit on the band of the median one. Texture that passed
/// detection on the small copy rarely keeps three of them at full resolution.
pub fn clean(img: &mut GrayImage, letter_px: u32) -> usize {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let l = letter_px.max(8) as usize;
    let mut erase = Vec::new();
    let mut letters: Vec<(usize, usize)> = Vec::new();
    let px = img.as_raw();
    super::regions::each_component(
        w,
        h,
        |i| px[i] == 0,
        |c| {
            let (x0, y0, x1, y1) = (c.x0, c.y0, c.x1, c.y1);
            let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
            let area = c.members.len();
            let edge = x0 == 0 || y0 == 0 || x1 + 1 == w || y1 + 1 == h;
            let fill = area as f32 / (bw * bh) as f32;
            let drop = bh > 2 * l
                || (edge && (bh * 5 > l * 6 || bw > 3 * l))
                || (fill > 0.9 && area > l * l)
                || area * 250 < l * l;
            if drop {
                erase.extend_from_slice(c.members);
            } else if bh * 2 >= l && bh * 5 <= l * 8 && bw <= 25 * bh && (0.1..=0.9).contains(&fill)
            {
                let weight = if bw * 5 <= bh * 6 {
                    1
                } else {
                    ((bw as f32 / (0.7 * bh as f32)).round() as usize).max(1)
                };
                letters.push(((y0 + y1) / 2, weight));
            }
            true
        },
    );
    // Erased after the search: a dropped blob's pixels were all seen, so erasing them during
    // it would change nothing either.
    let px = img.as_mut();
    for i in erase {
        px[i] = 255;
    }
    if letters.is_empty() {
        return 0;
    }
    let mut ys: Vec<usize> = letters.iter().map(|&(y, _)| y).collect();
    ys.sort_unstable();
    let mid = ys[ys.len() / 2];
    letters
        .iter()
        .filter(|&&(y, _)| y.abs_diff(mid) * 5 <= l * 2)
        .map(|&(_, wgt)| wgt)
        .sum()
}

/// The second, differently prepared crop of `line` for the recheck passes: the same steps as
/// [`crop_line`] with letters scaled to three quarters of `letter_px`, and `side` letter
/// heights left and right ([`SIDE_MARGIN`], or [`WIDE_SIDE_MARGIN`] for phones). The engine's line
/// recogniser sees each stroke at another size and another threshold, so a misread letter in
/// one crop is rarely misread the same way in the other; an agreement then means more than
/// the same reading twice. (Tried on the seed-2024 set against a 1.5× crop with a local
/// Sauvola threshold and against unbinarised grey crops at 1× and 1.5×: the 0.75× crop
/// confirmed the most true readings with the fewest false ones.)
pub fn crop_line_alt(gray: &GrayImage, line: &Line, letter_px: u32, side: f32) -> GrayImage {
    crop_line_sides(gray, line, (letter_px * 3 / 4).max(8), side).image
}

/// The third crop of `line`, for handles or phones whose first two crops were read
/// differently: letters at five quarters of `letter_px`, so that the tie is broken by a view
/// unlike both; `side` as for [`crop_line_alt`].
pub fn crop_line_third(gray: &GrayImage, line: &Line, letter_px: u32, side: f32) -> GrayImage {
    crop_line_sides(gray, line, letter_px * 5 / 4, side).image
}

/// Rotates by `deg` (positive: counter-clockwise, undoing a line that rises to the right)
/// about the centre, bilinear, keeping the size; uncovered corners take the median value.
fn rotate(img: &GrayImage, deg: f32) -> GrayImage {
    if deg.abs() < 0.5 {
        return img.clone();
    }
    let (w, h) = img.dimensions();
    let fill = median(img.as_raw());
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let a = deg.to_radians();
    let (ca, sa) = (a.cos(), a.sin());
    GrayImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        // Output (x, y) shows the input at the inverse rotation (y points down).
        let u = cx + dx * ca + dy * sa;
        let v = cy - dx * sa + dy * ca;
        Luma([bilinear(img, u, v).unwrap_or(fill)])
    })
}

fn bilinear(img: &GrayImage, u: f32, v: f32) -> Option<u8> {
    let (w, h) = img.dimensions();
    if u < 0.0 || v < 0.0 || u > (w - 1) as f32 || v > (h - 1) as f32 {
        return None;
    }
    let (x0, y0) = (u as u32, v as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (u - x0 as f32, v - y0 as f32);
    let p = |x, y| f32::from(img.get_pixel(x, y).0[0]);
    let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
    let bot = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
    Some((top * (1.0 - fy) + bot * fy).round() as u8)
}

fn median(px: &[u8]) -> u8 {
    let mut hist = [0usize; 256];
    for &p in px {
        hist[p as usize] += 1;
    }
    let mut acc = 0;
    for (v, &c) in hist.iter().enumerate() {
        acc += c;
        if acc * 2 >= px.len() {
            return v as u8;
        }
    }
    128
}

/// Removes the background's light and shade from dark text: the background is the image
/// closed (greatest then least value) over a square of side `2·radius + 1`, wider than any
/// stroke, so strokes vanish from it while stains and shadows larger than a letter stay; each
/// pixel becomes white less its darkness below that background. Text on a stain keeps its
/// contrast against the stain instead of drowning in one global threshold.
fn flatten(img: &mut GrayImage, radius: usize) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return;
    }
    let bg = filter_rows_cols(img.as_raw(), w, h, radius, u8::max);
    let bg = filter_rows_cols(&bg, w, h, radius, u8::min);
    for (p, b) in img.as_mut().iter_mut().zip(bg) {
        *p = 255 - b.saturating_sub(*p);
    }
}

/// The greatest (or least, by `pick`) value over a `(2r+1)`-square around each pixel, as a
/// row pass then a column pass (clipped at the borders).
fn filter_rows_cols(px: &[u8], w: usize, h: usize, r: usize, pick: fn(u8, u8) -> u8) -> Vec<u8> {
    let run = |src: &[u8], n: usize, stride: usize, base: usize, dst: &mut [u8]| {
        for i in 0..n {
            let (a, b) = (i.saturating_sub(r), (i + r + 1).min(n));
            let mut v = src[base + a * stride];
            for k in a + 1..b {
                v = pick(v, src[base + k * stride]);
            }
            dst[base + i * stride] = v;
        }
    };
    let mut rows = vec![0u8; w * h];
    for y in 0..h {
        run(px, w, 1, y * w, &mut rows);
    }
    let mut out = vec![0u8; w * h];
    for x in 0..w {
        run(&rows, h, w, x, &mut out);
    }
    out
}

/// Maps the 2nd–98th percentiles to 0–255.
fn stretch(img: &mut GrayImage) {
    let px = img.as_raw();
    let mut hist = [0usize; 256];
    for &p in px {
        hist[p as usize] += 1;
    }
    let n = px.len();
    let pct = |q: usize| {
        let mut acc = 0;
        for (v, &c) in hist.iter().enumerate() {
            acc += c;
            if acc * 100 >= n * q {
                return v as f32;
            }
        }
        255.0
    };
    let (lo, hi) = (pct(2), pct(98));
    if hi - lo < 4.0 {
        return;
    }
    for p in img.pixels_mut() {
        p.0[0] = ((f32::from(p.0[0]) - lo) * 255.0 / (hi - lo)).clamp(0.0, 255.0) as u8;
    }
}

/// Lines stacked into one image, and which rows belong to which line.
#[derive(Debug, Clone)]
pub struct Strip {
    /// The stacked image.
    pub image: GrayImage,
    /// `(line index, first row, end row)` of each crop in the strip.
    pub rows: Vec<(usize, u32, u32)>,
}

impl Strip {
    /// The line whose crop holds row `y` (nearest crop when `y` falls in a gap).
    pub fn line_at(&self, y: u32) -> Option<usize> {
        self.rows
            .iter()
            .min_by_key(|(_, a, b)| {
                if y < *a {
                    a - y
                } else if y >= *b {
                    y - b + 1
                } else {
                    0
                }
            })
            .map(|(i, _, _)| *i)
    }
}

/// Stacks the crops `selected` top to bottom on white with gaps of one letter height, until
/// the strip would exceed `opts.max_strip_pixels`.
pub fn stack(crops: &[GrayImage], selected: &[usize], opts: &OcrOptions) -> Strip {
    let gap = opts.letter_px.max(8);
    let border = opts.letter_px.max(8) / 2;
    let mut chosen = Vec::new();
    let (mut width, mut height) = (0u32, border);
    for &i in selected {
        let Some(c) = crops.get(i) else { continue };
        let nw = width.max(c.width() + 2 * border);
        let nh = height + c.height() + gap;
        if u64::from(nw) * u64::from(nh) > opts.max_strip_pixels && !chosen.is_empty() {
            break;
        }
        width = nw;
        height = nh;
        chosen.push(i);
    }
    let mut image = GrayImage::from_pixel(width.max(1), height.max(1), Luma([255]));
    let mut rows = Vec::new();
    let mut y = border;
    for i in chosen {
        let c = &crops[i];
        imageops::replace(&mut image, c, i64::from(border), i64::from(y));
        rows.push((i, y, y + c.height()));
        y += c.height() + gap;
    }
    Strip { image, rows }
}

/// Binary PGM (P5): the simplest format the engine reads from standard input.
pub fn encode_pgm(img: &GrayImage) -> Vec<u8> {
    let mut out = format!("P5\n{} {}\n255\n", img.width(), img.height()).into_bytes();
    out.extend_from_slice(img.as_raw());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_maps_rows_back_to_lines() {
        let crops = vec![
            GrayImage::from_pixel(100, 40, Luma([0])),
            GrayImage::from_pixel(60, 30, Luma([0])),
        ];
        let s = stack(&crops, &[1, 0], &OcrOptions::default());
        assert_eq!(s.rows.len(), 2);
        let (first, a, b) = s.rows[0];
        assert_eq!(first, 1);
        assert_eq!(s.line_at((a + b) / 2), Some(1));
        let (second, a2, _) = s.rows[1];
        assert_eq!(second, 0);
        assert_eq!(s.line_at(a2 + 1), Some(0));
        assert_eq!(*s.image.get_pixel(0, 0), Luma([255]));
    }

    /// Five ring "letters" 40 px high, 60 px apart from x = 60, on a white 400×120 crop.
    fn five_rings() -> GrayImage {
        let mut g = GrayImage::from_pixel(400, 120, Luma([255]));
        for k in 0..5u32 {
            let x0 = 60 + k * 60;
            for y in 40..80 {
                for x in x0..x0 + 28 {
                    if !(x0 + 6..x0 + 22).contains(&x) || !(46..74).contains(&y) {
                        g.put_pixel(x, y, Luma([0]));
                    }
                }
            }
        }
        g
    }

    #[test]
    fn cleaning_drops_sticker_edges_and_specks_and_counts_letters() {
        // Five letter-like rings 40 px high in a row, a dark wedge along the left edge (a
        // sticker's border), and scattered specks.
        let mut g = five_rings();
        for y in 0..120 {
            for x in 0..20 {
                g.put_pixel(x, y, Luma([0]));
            }
        }
        for k in 0..30u32 {
            g.put_pixel(30 + k * 12, 10 + (k * 7) % 100, Luma([0]));
        }
        let letters = clean(&mut g, 40);
        assert_eq!(letters, 5);
        assert_eq!(*g.get_pixel(5, 60), Luma([255]), "edge blob removed");
        assert_eq!(*g.get_pixel(30, 10), Luma([255]), "speck removed");
        assert_eq!(*g.get_pixel(62, 60), Luma([0]), "letter kept");
        // A crop of texture: specks only, no letters left.
        let mut t = GrayImage::from_fn(300, 100, |x, y| {
            Luma([if (x * 7 + y * 13) % 17 == 0 { 0 } else { 255 }])
        });
        assert_eq!(clean(&mut t, 40), 0);
    }

    /// Five ring "letters" 40 px high (ink 40 levels darker than what lies under them) on a
    /// light wall whose right half is a dark stain (90 levels darker than the left).
    fn rings_on_a_stain() -> GrayImage {
        let mut g = GrayImage::from_fn(400, 120, |x, _| Luma([if x < 200 { 200 } else { 110 }]));
        for k in 0..5u32 {
            let x0 = 40 + k * 70;
            for y in 40..80 {
                for x in x0..x0 + 28 {
                    if !(x0 + 6..x0 + 22).contains(&x) || !(46..74).contains(&y) {
                        let under = g.get_pixel(x, y).0[0];
                        g.put_pixel(x, y, Luma([under - 40]));
                    }
                }
            }
        }
        g
    }

    /// The line of [`rings_on_a_stain`]: five letters 40 px high from (40, 40).
    fn five_letter_line() -> Line {
        Line {
            bbox: (40, 40, 328, 40),
            letter_h: 40.0,
            angle_deg: 0.0,
            light_text: false,
            letters: 5,
            view: 0,
        }
    }

    #[test]
    fn text_on_a_stain_keeps_its_letters_and_the_stain_goes() {
        let g = rings_on_a_stain();
        let line = five_letter_line();
        let p = crop_line(&g, &line, 40);
        // The crop starts 24 px (0.6 letter heights) left of and above the line's box.
        let at = |x: u32, y: u32| p.image.get_pixel(x - 16, y - 16).0[0];
        assert_eq!(p.letters, 5, "every ring is a letter, on the stain too");
        for (x, y, what) in [(42, 60, "ring"), (322, 60, "ring on the stain")] {
            assert_eq!(at(x, y), 0, "{what}");
        }
        for (x, y, what) in [
            (50, 60, "hole"),
            (330, 60, "hole on the stain"),
            (250, 30, "stain"),
        ] {
            assert_eq!(at(x, y), 255, "{what}");
        }
        // One global threshold on the same crop takes the whole stain for ink.
        let mut plain = g.clone();
        let t = crate::pixels::otsu(plain.as_raw());
        let dark = plain.pixels_mut().filter(|p| p.0[0] <= t).count();
        assert!(dark * 3 > 400 * 120, "the stain is a third of the image");
    }

    #[test]
    fn the_wide_side_margin_takes_in_a_letter_left_out_of_the_line() {
        // Five rings 40 px high, 60 px apart; the line was found from the second ring on (the
        // first, set apart, was not chained). The usual margin (24 px) leaves it out, the
        // phone rechecks' wide one (60 px) takes it in.
        let g = five_rings();
        let line = Line {
            bbox: (120, 40, 268, 40),
            letter_h: 40.0,
            angle_deg: 0.0,
            light_text: false,
            letters: 4,
            view: 0,
        };
        assert_eq!(crop_line(&g, &line, 40).letters, 4);
        assert_eq!(crop_line_sides(&g, &line, 40, WIDE_SIDE_MARGIN).letters, 5);
    }

    #[test]
    fn a_crop_of_grain_has_no_letters() {
        // Grain around one grey, smoothed into letter-sized clumps: Otsu splits it in about
        // half, which is no text (the clumps alone would pass for letters).
        let mut next = crate::pixels::tests::xorshift(7);
        let g = GrayImage::from_fn(400, 120, |_, _| Luma([60 + (next() % 140) as u8]));
        let g = imageops::blur(&g, 3.0);
        let line = five_letter_line();
        assert_eq!(crop_line(&g, &line, 40).letters, 0);
    }

    #[test]
    fn pgm_header_and_size() {
        let g = GrayImage::from_pixel(3, 2, Luma([7]));
        let p = encode_pgm(&g);
        assert!(p.starts_with(b"P5\n3 2\n255\n"));
        assert_eq!(p.len(), b"P5\n3 2\n255\n".len() + 6);
    }

    #[test]
    fn rotation_keeps_size_and_levels_a_rising_bar() {
        // A thin bar rising 10° to the right; rotating by +10° makes it horizontal.
        let mut g = GrayImage::from_pixel(200, 100, Luma([255]));
        let t = 10f32.to_radians().tan();
        for x in 20..180u32 {
            let y = (50.0 + (100.0 - x as f32) * t) as u32;
            g.put_pixel(x, y, Luma([0]));
            g.put_pixel(x, y + 1, Luma([0]));
        }
        let r = rotate(&g, 10.0);
        assert_eq!(r.dimensions(), (200, 100));
        let dark_rows: Vec<u32> = (0..100)
            .filter(|&y| (40..160).any(|x| r.get_pixel(x, y).0[0] < 128))
            .collect();
        assert!(dark_rows.len() <= 5, "{dark_rows:?}");
    }
}
