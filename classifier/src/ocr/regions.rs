//! Text-line detection: a cheap look for rows of letter-sized blobs, so that OCR reads only
//! where text is and photos of nothing are skipped.
//!
//! On a copy scaled to at most `detect_max_dim`: a local threshold (mean ± k·deviation over a
//! window, from integral images) in both polarities, connected components, a filter for
//! letter-like blobs (size, aspect, ink fill), then chaining of blobs of similar height that sit
//! side by side into lines; the same again on a copy at half that size, for letters too big
//! for the first copy's threshold window (lines it adds where the first found none). Linear
//! in the pixels, plus `O(blobs × neighbours)` for chaining.

use image::GrayImage;
use image::imageops;

use super::OcrOptions;

/// A detected text line, in input pixel coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// x, y, width, height of the letters' bounding box (without margin).
    pub bbox: (u32, u32, u32, u32),
    /// Median letter height in input pixels.
    pub letter_h: f32,
    /// Skew in degrees, positive when the line rises to the right.
    pub angle_deg: f32,
    /// The text is lighter than its background.
    pub light_text: bool,
    /// Number of letter-like blobs chained.
    pub letters: usize,
    /// The view of the image the line's crops are cut from (an index into the views given to
    /// [`detect`]: 0 the brightness, 1 the darkest channel of a colour image): the one it was
    /// found on, then, in the session, the one where its ink stands out most.
    pub view: usize,
}

/// A connected component's box and ink.
#[derive(Debug, Clone, Copy)]
struct Blob {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    area: u32,
}

impl Blob {
    fn w(&self) -> u32 {
        self.x1 - self.x0 + 1
    }
    fn h(&self) -> u32 {
        self.y1 - self.y0 + 1
    }
}

/// Most blobs considered per polarity (a noise texture cannot blow up the chaining step).
const MAX_BLOBS: usize = 20_000;
/// Median ink fill above which a row of blobs is taken for solid shapes (bricks, tiles,
/// windows), not letters. Bold letters about 16 px high, run together by the smoothing, fill
/// up to about 0.8 of their boxes.
const SOLID_FILL: f32 = 0.85;
/// Fewest letters a line needs (`МЕФ`, `ОПТ` have three).
pub(super) const MIN_LETTERS: usize = 3;

/// Finds the text lines of the image seen through `views` (images of one size: the
/// brightness, and for a colour image its darkest channel), most letters first, at most
/// `opts.max_lines`. A line found on several views is kept once, as the first view found it
/// (the session then cuts it from the view where its ink stands out most).
pub fn detect(views: &[&GrayImage], opts: &OcrOptions) -> Vec<Line> {
    let mut lines = Vec::new();
    for (view, gray) in views.iter().enumerate() {
        detect_view(gray, view, opts, &mut lines);
    }
    // The same letters seen twice (at both levels of the pyramid): keep the stronger line;
    // seen on two views: keep the first view's (the brightness shows what the darkest
    // channel adds only where it adds a line). Lines of opposite polarity on one place are
    // both kept: one is the letters, the other often the gaps between them (lighter than
    // their surroundings among big dark letters), and only their crops tell which is which
    // ([`twin`]).
    lines.sort_by_key(|l| (l.view, std::cmp::Reverse(l.letters)));
    let mut kept: Vec<Line> = Vec::new();
    for l in lines {
        if !kept.iter().any(|k| same_line(k, &l)) {
            kept.push(l);
        }
    }
    kept.sort_by_key(|l| std::cmp::Reverse(l.letters));
    kept.truncate(opts.max_lines);
    kept
}

/// The lines of one view, in both polarities, appended to `lines`.
fn detect_view(gray: &GrayImage, view: usize, opts: &OcrOptions, lines: &mut Vec<Line>) {
    let (w, h) = gray.dimensions();
    if w < 8 || h < 8 {
        return;
    }
    let max = opts.detect_max_dim.max(64);
    let (small, scale) = if w.max(h) > max {
        let s = f64::from(max) / f64::from(w.max(h));
        let nw = ((f64::from(w) * s).round() as u32).max(1);
        let nh = ((f64::from(h) * s).round() as u32).max(1);
        (crate::pixels::thumbnail(gray, nw, nh), s)
    } else {
        (gray.clone(), 1.0)
    };
    // A second level at half the size for large letters: the threshold's window (1/8 of the
    // shorter side) is then about as high as a big bold letter, whose strokes fill so much
    // of it that they fall apart in the threshold at the first level. Only letters too big
    // for the first level's window are taken from it.
    let half = crate::pixels::thumbnail(
        &small,
        (small.width() / 2).max(1),
        (small.height() / 2).max(1),
    );
    let min_big = window_radius(small.width(), small.height()) / 2;
    let mut first = Vec::new();
    detect_level(&small, scale, 0, (w, h), view, &mut first);
    let mut second = Vec::new();
    detect_level(&half, scale / 2.0, min_big, (w, h), view, &mut second);
    // The second level adds only what the first did not see: where both found a line, the
    // first level's box and letter height are the finer ones.
    second.retain(|l| !first.iter().any(|k| same_line(k, l)));
    lines.extend(first);
    lines.extend(second);
}

/// The lines of one level of the pyramid (`small`, the input scaled by `scale`), with letters
/// at least `min_h` high there, in input coordinates (`w`×`h`).
fn detect_level(
    small: &GrayImage,
    scale: f64,
    min_h: u32,
    (w, h): (u32, u32),
    view: usize,
    lines: &mut Vec<Line>,
) {
    // Smoothing first: pixel noise must not form letter-sized clusters in the threshold.
    let small = imageops::fast_blur(small, 1.0);
    for light in [false, true] {
        let bits = threshold(&small, light);
        let blobs = components(&bits, small.width() as usize, small.height() as usize);
        let letters: Vec<Blob> = blobs
            .into_iter()
            .filter(|b| b.h() >= min_h && letter_like(b, small.height()))
            .collect();
        for mut l in merge_adjacent(chain(&letters, light)) {
            let inv = 1.0 / scale;
            let (x, y, bw, bh) = l.bbox;
            l.bbox = (
                ((f64::from(x) * inv) as u32).min(w - 1),
                ((f64::from(y) * inv) as u32).min(h - 1),
                ((f64::from(bw) * inv).ceil() as u32).max(1),
                ((f64::from(bh) * inv).ceil() as u32).max(1),
            );
            l.bbox.2 = l.bbox.2.min(w - l.bbox.0);
            l.bbox.3 = l.bbox.3.min(h - l.bbox.1);
            l.letter_h = (f64::from(l.letter_h) * inv) as f32;
            l.view = view;
            lines.push(l);
        }
    }
}

/// The line of `lines` that `line` is the opposite-polarity twin of: the same place seen
/// as dark letters and as light ones.
pub fn twin(lines: &[Line], line: &Line) -> Option<usize> {
    lines
        .iter()
        .position(|k| k.light_text != line.light_text && same_place(k, line))
}

/// Two lines on one place: half the smaller box or more inside the other.
fn same_place(a: &Line, b: &Line) -> bool {
    overlap(a.bbox, b.bbox) >= 0.5
}

/// The same line found twice (by two levels or two views): one place, one polarity.
fn same_line(a: &Line, b: &Line) -> bool {
    a.light_text == b.light_text && same_place(a, b)
}

/// Of two twins (one place seen in both polarities, `kept` found first), whether `other` is
/// the text: it has half again as many letters, or about as many (the gaps between letters
/// are one more or one fewer than the letters) and its polarity is that of the minority of
/// the pixels around them in `view`.
pub fn twin_is_text(kept: &Line, other: &Line, view: &GrayImage) -> bool {
    let (a, b) = (kept.letters as f32, other.letters as f32);
    if a.max(b) >= 1.5 * a.min(b) {
        return b > a;
    }
    other.light_text == light_is_minority(view, kept.bbox, kept.letter_h)
}

/// Whether the letters in `bbox` of `gray` (about `letter_h` high) are lighter than their
/// background: text covers less of a line's box, with a margin of background around it, than
/// the background does, so the minority side of Otsu's threshold is the ink. Decides between
/// twins ([`twin`]): among big dark letters, the gaps between them are lighter than the
/// surroundings too and chain into a line of light "letters" as long as the real one.
fn light_is_minority(gray: &GrayImage, bbox: (u32, u32, u32, u32), letter_h: f32) -> bool {
    let (x, y, w, h) = bbox;
    let m = (letter_h * 0.3) as u32;
    let (x0, y0) = (x.saturating_sub(m), y.saturating_sub(m));
    let x1 = (x + w + m).min(gray.width());
    let y1 = (y + h + m).min(gray.height());
    if x1 <= x0 || y1 <= y0 {
        return false;
    }
    let px = imageops::crop_imm(gray, x0, y0, x1 - x0, y1 - y0)
        .to_image()
        .into_raw();
    let t = crate::pixels::otsu(&px);
    let light = px.iter().filter(|&&p| p > t).count();
    light * 2 < px.len()
}

/// Intersection over the smaller box's area.
fn overlap(a: (u32, u32, u32, u32), b: (u32, u32, u32, u32)) -> f64 {
    let x0 = a.0.max(b.0);
    let y0 = a.1.max(b.1);
    let x1 = (a.0 + a.2).min(b.0 + b.2);
    let y1 = (a.1 + a.3).min(b.1 + b.3);
    if x1 <= x0 || y1 <= y0 {
        return 0.0;
    }
    let inter = f64::from(x1 - x0) * f64::from(y1 - y0);
    let smaller = (f64::from(a.2) * f64::from(a.3)).min(f64::from(b.2) * f64::from(b.3));
    inter / smaller.max(1.0)
}

/// Local threshold: a pixel is ink when it is darker (or lighter, for `light`) than the mean
/// of its window by more than `max(8, 0.8·deviation)`. Window: 1/8 of the shorter side.
fn threshold(img: &GrayImage, light: bool) -> Vec<u8> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let px = img.as_raw();
    let r = window_radius(w as u32, h as u32) as usize;
    let stats = crate::pixels::WindowStats::new(px, w, h);
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
            let (mean, sd) = stats.mean_sd(x0, y0, x1, y1);
            let margin = (0.8 * sd).max(8.0);
            let p = f64::from(px[y * w + x]);
            let ink = if light {
                p > mean + margin
            } else {
                p < mean - margin
            };
            out[y * w + x] = u8::from(ink);
        }
    }
    out
}

/// Half the side of [`threshold`]'s window on a `w`×`h` image.
fn window_radius(w: u32, h: u32) -> u32 {
    (w.min(h) / 16).max(6)
}

/// 8-connected components of the set pixels (at most [`MAX_BLOBS`]).
fn components(bits: &[u8], w: usize, h: usize) -> Vec<Blob> {
    let mut out = Vec::new();
    each_component(
        w,
        h,
        |i| bits[i] != 0,
        |c| {
            out.push(Blob {
                x0: c.x0 as u32,
                y0: c.y0 as u32,
                x1: c.x1 as u32,
                y1: c.y1 as u32,
                area: c.members.len() as u32,
            });
            out.len() < MAX_BLOBS
        },
    );
    out
}

/// One 8-connected component: its pixels (row-major indices) and inclusive bounding box.
pub(super) struct Component<'a> {
    pub members: &'a [usize],
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

/// Calls `f` on every 8-connected component of the pixels of a `w`×`h` image for which `set`
/// holds (iterative flood fill), in the row-major order of their first pixels, until `f`
/// returns `false`. Shared by line detection and crop cleaning.
pub(super) fn each_component(
    w: usize,
    h: usize,
    set: impl Fn(usize) -> bool,
    mut f: impl FnMut(&Component) -> bool,
) {
    let mut seen = vec![false; w * h];
    let mut stack = Vec::new();
    let mut members = Vec::new();
    for start in 0..w * h {
        if seen[start] || !set(start) {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        members.clear();
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        while let Some(i) = stack.pop() {
            members.push(i);
            let (x, y) = (i % w, i / w);
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
            for ny in y.saturating_sub(1)..(y + 2).min(h) {
                for nx in x.saturating_sub(1)..(x + 2).min(w) {
                    let j = ny * w + nx;
                    if !seen[j] && set(j) {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        let c = Component {
            members: &members,
            x0,
            y0,
            x1,
            y1,
        };
        if !f(&c) {
            return;
        }
    }
}

/// Letter-sized and letter-shaped: 7 px to a third of the image high, ink covering 10–85 % of
/// its box (up to all of it for a bar at most a third as wide as high), and either not much
/// wider than high (a letter) or, from 10 px high, up to 25 times wider (the letters of a
/// blurred word run together).
fn letter_like(b: &Blob, img_h: u32) -> bool {
    let (w, h) = (b.w(), b.h());
    if h < 7 || h > img_h / 3 || w > h * 25 || (w > h * 2 && h < 14) {
        return false;
    }
    let fill = f64::from(b.area) / (f64::from(w) * f64::from(h));
    // A narrow bar may be solid: `l`, `I`, `1`, `!` in a bold face.
    let most = if w * 3 <= h { 1.0 } else { 0.85 };
    (0.10..=most).contains(&fill)
}

/// How many letters a blob stands for (a run-together word counts its estimated letters).
fn weight(b: &Blob) -> usize {
    if b.w() <= 2 * b.h() {
        1
    } else {
        ((b.w() as f32 / (0.7 * b.h() as f32)).round() as usize).max(1)
    }
}

fn fill(b: &Blob) -> f32 {
    b.area as f32 / (b.w() as f32 * b.h() as f32)
}

/// Chains letters into lines: neighbours of similar height, overlapping vertically, close
/// horizontally. Union–find over pairs found in x order.
fn chain(letters: &[Blob], light: bool) -> Vec<Line> {
    let n = letters.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| letters[i].x0);
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for (k, &i) in order.iter().enumerate() {
        let a = letters[i];
        let reach = a.x1 + a.h() * 3 / 2;
        for &j in &order[k + 1..] {
            let b = letters[j];
            if b.x0 > reach {
                break;
            }
            let (ha, hb) = (a.h() as f32, b.h() as f32);
            if ha.max(hb) > 1.8 * ha.min(hb) {
                continue;
            }
            let ov = a.y1.min(b.y1) as i64 - a.y0.max(b.y0) as i64;
            if (ov as f32) < 0.4 * ha.min(hb) {
                continue;
            }
            let gap = b.x0 as i64 - a.x1 as i64;
            if (gap as f32) < -0.3 * ha.max(hb) {
                continue;
            }
            let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
            if ri != rj {
                parent[ri] = rj;
            }
        }
    }
    // Ordered by root, not hashed: lines with equally many letters must come out in the same
    // order on every run (the order decides which lines are read and how the strip looks).
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..n {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut out = Vec::new();
    for members in groups.into_values() {
        let letters_n: usize = members.iter().map(|&i| weight(&letters[i])).sum();
        if letters_n < MIN_LETTERS {
            continue;
        }
        // Letters are strokes; rows of solid blobs (bricks, tiles, windows) are not text.
        let mut fills: Vec<f32> = members.iter().map(|&i| fill(&letters[i])).collect();
        fills.sort_by(f32::total_cmp);
        if fills[fills.len() / 2] > SOLID_FILL {
            continue;
        }
        let mut hs: Vec<f32> = members.iter().map(|&i| letters[i].h() as f32).collect();
        hs.sort_by(f32::total_cmp);
        let median = hs[hs.len() / 2];
        // Letters of one line have much the same height; a row of random blobs does not.
        // Lower-case text mixes x-height letters with taller ones (`l`, `t`, `y`, `@`: up to
        // about 1.5 x-heights), so the band reaches further up than down.
        let consistent = hs
            .iter()
            .filter(|&&x| x >= 0.65 * median && x <= 1.6 * median)
            .count();
        if consistent * 10 < members.len() * 7 {
            continue;
        }
        let x0 = members.iter().map(|&i| letters[i].x0).min().unwrap_or(0);
        let y0 = members.iter().map(|&i| letters[i].y0).min().unwrap_or(0);
        let x1 = members.iter().map(|&i| letters[i].x1).max().unwrap_or(0);
        let y1 = members.iter().map(|&i| letters[i].y1).max().unwrap_or(0);
        // A line is wider than high.
        if (x1 - x0 + 1) < (y1 - y0 + 1) {
            continue;
        }
        // Letters of a line sit on one straight line; a cloud of blobs does not.
        let (angle_deg, rms) = if members.len() >= 3 {
            skew(letters, &members)
        } else {
            (0.0, 0.0)
        };
        if rms > 0.3 * median {
            continue;
        }
        out.push(Line {
            bbox: (x0, y0, x1 - x0 + 1, y1 - y0 + 1),
            letter_h: median,
            angle_deg,
            light_text: light,
            letters: letters_n,
            view: 0,
        });
    }
    out
}

/// Joins lines that continue each other: side by side on one band, letters of much the same
/// height, and at most [`JOIN_GAP`] letter heights apart. Chaining links letters at most 1.5
/// of the smaller letter's heights apart, so a wide gap inside a word (an underscore between
/// a small `a` and an `i`: `@alma_` and `icebot`) split it into two lines, and each was read
/// as half a handle.
fn merge_adjacent(mut lines: Vec<Line>) -> Vec<Line> {
    lines.sort_by_key(|l| l.bbox.0);
    let mut out: Vec<Line> = Vec::new();
    'next: for l in lines {
        for k in out.iter_mut() {
            let (ha, hb) = (k.letter_h, l.letter_h);
            if ha.max(hb) > 1.5 * ha.min(hb) {
                continue;
            }
            let (ka, la) = (k.bbox, l.bbox);
            let ov = (ka.1 + ka.3).min(la.1 + la.3) as f32 - ka.1.max(la.1) as f32;
            if ov < 0.5 * ka.3.min(la.3) as f32 {
                continue;
            }
            let gap = la.0 as f32 - (ka.0 + ka.2) as f32;
            if gap < -0.3 * ha.max(hb) || gap > JOIN_GAP * ha.max(hb) {
                continue;
            }
            let (x0, y0) = (ka.0.min(la.0), ka.1.min(la.1));
            let x1 = (ka.0 + ka.2).max(la.0 + la.2);
            let y1 = (ka.1 + ka.3).max(la.1 + la.3);
            let (na, nb) = (k.letters as f32, l.letters as f32);
            k.bbox = (x0, y0, x1 - x0, y1 - y0);
            k.letter_h = (ha * na + hb * nb) / (na + nb);
            k.angle_deg = (k.angle_deg * na + l.angle_deg * nb) / (na + nb);
            k.letters += l.letters;
            continue 'next;
        }
        out.push(l);
    }
    out
}

/// Most gap between two lines joined by [`merge_adjacent`], in letter heights.
const JOIN_GAP: f32 = 2.0;

/// Least-squares line through the letters' centres: its slope in degrees (positive: rising to
/// the right, clamped to ±30°) and the root-mean-square distance of the centres from it.
fn skew(letters: &[Blob], members: &[usize]) -> (f32, f32) {
    let pts: Vec<(f64, f64)> = members
        .iter()
        .map(|&i| {
            let b = letters[i];
            (f64::from(b.x0 + b.x1) / 2.0, f64::from(b.y0 + b.y1) / 2.0)
        })
        .collect();
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= f64::EPSILON {
        return (0.0, f32::MAX);
    }
    let slope = sxy / sxx;
    let ss: f64 = pts
        .iter()
        .map(|p| {
            let d = p.1 - (my + slope * (p.0 - mx));
            d * d
        })
        .sum();
    let rms = (ss / n).sqrt() / (1.0 + slope * slope).sqrt();
    // Image y grows downwards: a rising line has a negative slope.
    let deg = (-slope.atan().to_degrees()).clamp(-30.0, 30.0);
    (deg as f32, rms as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_or_tiny_image_has_no_lines() {
        let o = OcrOptions::default();
        for (w, h) in [(1, 1), (7, 100), (640, 480), (1, 5000)] {
            let g = GrayImage::from_pixel(w, h, image::Luma([128]));
            assert!(detect(&[&g], &o).is_empty(), "{w}×{h}");
        }
    }

    fn line(x: u32, w: u32, y: u32, h: f32, letters: usize) -> Line {
        Line {
            bbox: (x, y, w, h as u32),
            letter_h: h,
            angle_deg: 0.0,
            light_text: false,
            letters,
            view: 0,
        }
    }

    #[test]
    fn the_minority_of_a_lines_pixels_is_its_ink() {
        // Bold dark bars 40 px high, 10 px apart, on a light wall: the light gaps between them
        // are no text.
        let mut g = GrayImage::from_pixel(400, 200, image::Luma([190]));
        for k in 0..8 {
            for y in 80..120 {
                for x in 20 + k * 45..55 + k * 45 {
                    g.put_pixel(x, y, image::Luma([40]));
                }
            }
        }
        let bbox = (20, 80, 350, 40);
        assert!(!light_is_minority(&g, bbox, 40.0));
        image::imageops::invert(&mut g);
        assert!(light_is_minority(&g, bbox, 40.0));
        // Twins: a line and another of the other polarity on the same place.
        let dark = line(20, 350, 80, 40.0, 8);
        let gaps = Line {
            light_text: true,
            ..line(10, 360, 80, 40.0, 9)
        };
        assert_eq!(twin(std::slice::from_ref(&dark), &gaps), Some(0));
        assert_eq!(twin(std::slice::from_ref(&dark), &dark), None);
        assert_eq!(
            twin(
                &[dark],
                &Line {
                    bbox: (20, 150, 350, 40),
                    ..gaps
                }
            ),
            None
        );
    }

    #[test]
    fn lines_that_continue_each_other_are_joined() {
        // `@alma_` and `icebot` 24 px apart with letters 20 px high: one line.
        let joined = merge_adjacent(vec![line(130, 100, 52, 20.0, 5), line(10, 96, 50, 20.0, 6)]);
        assert_eq!(joined.len(), 1, "{joined:?}");
        assert_eq!(joined[0].bbox, (10, 50, 220, 22));
        assert_eq!(joined[0].letters, 11);
        // Too far apart, on another band, or of another letter size: kept apart.
        for second in [
            line(150, 100, 50, 20.0, 5),
            line(110, 100, 80, 20.0, 5),
            line(110, 100, 50, 40.0, 5),
        ] {
            let l = merge_adjacent(vec![line(10, 96, 50, 20.0, 6), second]);
            assert_eq!(l.len(), 2, "{l:?}");
        }
    }

    #[test]
    fn a_row_of_bars_is_a_line_and_its_skew_is_measured() {
        // Five letter-like rings (hollow boxes) on a diagonal rising by 1 px per 4 px.
        let mut g = GrayImage::from_pixel(400, 200, image::Luma([220]));
        for k in 0..5u32 {
            let (x0, y0) = (60 + k * 40, 120 - k * 10);
            for y in y0..y0 + 30 {
                for x in x0..x0 + 20 {
                    let edge = x < x0 + 4 || x >= x0 + 16 || y < y0 + 4 || y >= y0 + 26;
                    if edge {
                        g.put_pixel(x, y, image::Luma([20]));
                    }
                }
            }
        }
        let lines = detect(&[&g], &OcrOptions::default());
        // The rings' insides, lighter than their surroundings, are its light twin (the
        // session keeps one of the two).
        assert!(
            lines[1..].iter().all(|t| twin(&lines[..1], t) == Some(0)),
            "{lines:?}"
        );
        let l = &lines[0];
        assert_eq!(l.letters, 5);
        assert!(!l.light_text);
        assert!((l.angle_deg - 14.0).abs() < 2.0, "angle {}", l.angle_deg);
    }
}
