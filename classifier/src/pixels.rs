//! Grey-level helpers shared by the QR pipeline and OCR preparation: Otsu's global threshold,
//! windowed mean / standard deviation from integral images, and area-average downscaling.

use image::{GrayImage, imageops};

/// Otsu's threshold: the level that maximises the between-class variance of `px`.
pub(crate) fn otsu(px: &[u8]) -> u8 {
    otsu_separation(px).0
}

/// Otsu's threshold and how well it splits the values: the between-class variance over the
/// total variance (0: one grey; 1: two values only). A crop whose ink and background stand
/// apart scores high; noise and faint ink score low.
pub(crate) fn otsu_separation(px: &[u8]) -> (u8, f64) {
    let mut hist = [0u64; 256];
    for &p in px {
        hist[p as usize] += 1;
    }
    let total = px.len() as f64;
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum();
    let (mut w_b, mut sum_b, mut best, mut level) = (0.0, 0.0, -1.0, 127u8);
    for (t, &c) in hist.iter().enumerate() {
        w_b += c as f64;
        if w_b == 0.0 {
            continue;
        }
        let w_f = total - w_b;
        if w_f == 0.0 {
            break;
        }
        sum_b += t as f64 * c as f64;
        let m_b = sum_b / w_b;
        let m_f = (sum_all - sum_b) / w_f;
        let between = w_b * w_f * (m_b - m_f) * (m_b - m_f);
        if between > best {
            best = between;
            level = t as u8;
        }
    }
    if total == 0.0 || best <= 0.0 {
        return (level, 0.0);
    }
    let mean = sum_all / total;
    let var: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| (i as f64 - mean).powi(2) * c as f64)
        .sum::<f64>()
        / total;
    let eta = if var > 0.0 {
        best / (total * total) / var
    } else {
        0.0
    };
    (level, eta)
}

/// Integral images of values and squared values of a `w`×`h` grey image, for the mean and
/// standard deviation of any rectangle in constant time.
pub(crate) struct WindowStats {
    sum: Vec<u64>,
    sq: Vec<u64>,
    iw: usize,
}

impl WindowStats {
    /// Builds both integral images, `(w+1)×(h+1)` each.
    pub(crate) fn new(px: &[u8], w: usize, h: usize) -> Self {
        let iw = w + 1;
        let mut sum = vec![0u64; iw * (h + 1)];
        let mut sq = vec![0u64; iw * (h + 1)];
        for y in 0..h {
            let (mut rs, mut rq) = (0u64, 0u64);
            for x in 0..w {
                let p = u64::from(px[y * w + x]);
                rs += p;
                rq += p * p;
                sum[(y + 1) * iw + x + 1] = sum[y * iw + x + 1] + rs;
                sq[(y + 1) * iw + x + 1] = sq[y * iw + x + 1] + rq;
            }
        }
        Self { sum, sq, iw }
    }

    /// Mean and standard deviation over columns `x0..x1` and rows `y0..y1` (non-empty).
    pub(crate) fn mean_sd(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> (f64, f64) {
        let iw = self.iw;
        let rect = |t: &[u64]| {
            (t[y1 * iw + x1] + t[y0 * iw + x0] - t[y0 * iw + x1] - t[y1 * iw + x0]) as f64
        };
        let n = ((y1 - y0) * (x1 - x0)) as f64;
        let mean = rect(&self.sum) / n;
        let sd = (rect(&self.sq) / n - mean * mean).max(0.0).sqrt();
        (mean, sd)
    }
}

/// `image::imageops::thumbnail` of an 8-bit gray image: the same pixels, computed on the raw
/// rows instead of through `image`'s per-pixel, four-channel generic path (3–4 % of the QR
/// pipeline's time). Each output pixel is the rounded mean of the input block `image` assigns
/// it (its block bounds are computed with `image`'s own `f32` expressions). Sizes for which
/// `image` would use its fractional-edge paths (upscaling, or a block that collapses to
/// nothing) are handed to `image`.
pub(crate) fn thumbnail(img: &GrayImage, new_width: u32, new_height: u32) -> GrayImage {
    /// Input index ranges of the output columns (or rows), as `image::imageops::thumbnail`
    /// derives them; `None` when one is empty.
    fn spans(len: u32, new: u32) -> Option<Vec<(usize, usize)>> {
        let ratio = len as f32 / new as f32;
        (0..new)
            .map(|o| {
                let lo_f = o as f32 * ratio;
                let hi_f = lo_f + ratio;
                let lo = (lo_f.ceil() as u32).min(len - 1);
                let hi = (hi_f.ceil() as u32).clamp(lo, len);
                (lo != hi).then_some((lo as usize, hi as usize))
            })
            .collect()
    }
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 || new_width == 0 || new_height == 0 || new_width > w || new_height > h {
        return imageops::thumbnail(img, new_width, new_height);
    }
    let (Some(cols), Some(rows)) = (spans(w, new_width), spans(h, new_height)) else {
        return imageops::thumbnail(img, new_width, new_height);
    };
    let px = img.as_raw();
    let w = w as usize;
    let mut sums = vec![0u64; cols.len()];
    let mut out = Vec::with_capacity(cols.len() * rows.len());
    // Whole ratios (the pipeline's halving) give equal, adjacent column blocks.
    let k = cols[0].1;
    let uniform = cols
        .iter()
        .enumerate()
        .all(|(i, &c)| c == (i * k, (i + 1) * k));
    for &(top, bottom) in &rows {
        sums.fill(0);
        for row in px[top * w..bottom * w].chunks_exact(w) {
            if uniform {
                for (sum, block) in sums.iter_mut().zip(row.chunks_exact(k)) {
                    *sum += block.iter().map(|&p| u64::from(p)).sum::<u64>();
                }
            } else {
                for (sum, &(left, right)) in sums.iter_mut().zip(&cols) {
                    *sum += row[left..right].iter().map(|&p| u64::from(p)).sum::<u64>();
                }
            }
        }
        for (&sum, &(left, right)) in sums.iter().zip(&cols) {
            let n = ((right - left) * (bottom - top)) as u64;
            out.push(((sum + n / 2) / n).min(255) as u8);
        }
    }
    GrayImage::from_raw(new_width, new_height, out)
        .unwrap_or_else(|| imageops::thumbnail(img, new_width, new_height))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A xorshift64 generator for deterministic test images.
    pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    /// The same pixels as `image`'s thumbnail for whole and fractional ratios, odd sizes,
    /// one-pixel outputs, the identity, and upscaling (handed to `image`).
    #[test]
    fn thumbnail_equals_image_thumbnail() {
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
        let mut cases = vec![
            (640, 480, 320, 240),
            (641, 481, 320, 240),
            (1280, 960, 1024, 768),
            (3000, 17, 1024, 5),
            (177, 177, 88, 88),
            (5, 5, 1, 1),
            (7, 3, 7, 3),
            (20, 20, 40, 40),
            (1, 9, 1, 4),
        ];
        for _ in 0..40 {
            let (w, h) = (1 + next() % 300, 1 + next() % 300);
            cases.push((w, h, 1 + next() % w, 1 + next() % h));
        }
        for (w, h, nw, nh) in cases {
            let (w, h, nw, nh) = (w as u32, h as u32, nw as u32, nh as u32);
            let img = GrayImage::from_fn(w, h, |_, _| image::Luma([(next() % 256) as u8]));
            let want = imageops::thumbnail(&img, nw, nh);
            assert_eq!(thumbnail(&img, nw, nh), want, "{w}x{h} -> {nw}x{nh}");
        }
    }
}
