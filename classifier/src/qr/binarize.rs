//! Binarisation: grayscale → black/white bitmap, with several local and global methods.
//!
//! All methods are linear in the pixel count. A bitmap pixel is `1` for dark (a QR module)
//! and `0` for light.

use image::GrayImage;

/// A black/white image, row-major, one byte per pixel (`1` = dark).
#[derive(Debug, Clone)]
pub struct Bitmap {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width × height` values, `1` for dark, `0` for light.
    pub bits: Vec<u8>,
}

/// A binarisation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Block-based local threshold in the manner of ZXing's hybrid binariser: 8×8 blocks, each
    /// thresholded at the mean of the 5×5 blocks around it; flat blocks lean to "light".
    Hybrid,
    /// Sauvola's local threshold over a square window (integral images), good on uneven light.
    Sauvola,
    /// Otsu's global threshold: best on clean, evenly lit images.
    Otsu,
}

/// Binarises `img` with `method`; `invert` swaps dark and light (light-on-dark codes).
pub fn binarize(img: &GrayImage, method: Method, invert: bool) -> Bitmap {
    let width = img.width() as usize;
    let height = img.height() as usize;
    let px = img.as_raw();
    let mut bits = match method {
        Method::Hybrid if width >= 40 && height >= 40 => hybrid(px, width, height),
        Method::Sauvola => sauvola(px, width, height),
        Method::Hybrid | Method::Otsu => {
            let t = crate::pixels::otsu(px);
            px.iter().map(|&p| u8::from(p <= t)).collect()
        }
    };
    if invert {
        for b in &mut bits {
            *b ^= 1;
        }
    }
    Bitmap {
        width,
        height,
        bits,
    }
}

const BLOCK: usize = 8;
const MIN_DYNAMIC_RANGE: u32 = 24;

/// First pixel of block `b` along a side `len` long (at least [`BLOCK`]): blocks tile from 0,
/// and the last one is moved back to end at the edge.
fn block_start(b: usize, len: usize) -> usize {
    (b * BLOCK).min(len - BLOCK)
}

/// ZXing-style hybrid binariser (see [`Method::Hybrid`]). Needs at least 5×5 blocks (40×40 px);
/// [`binarize`] falls back to Otsu below that.
///
/// Blocks tile the image from the top left; where the size is not a multiple of 8 the last
/// block row (column) is moved back to end at the edge and overlaps its neighbour, and its
/// threshold wins in the overlap.
fn hybrid(px: &[u8], w: usize, h: usize) -> Vec<u8> {
    let bw = w.div_ceil(BLOCK);
    let bh = h.div_ceil(BLOCK);
    let mut avg = vec![0u32; bw * bh];
    // Per pixel column over the block row's 8 rows (vectorised), then per block.
    let (mut col_sum, mut col_min, mut col_max) = (vec![0u16; w], vec![0u8; w], vec![0u8; w]);
    for by in 0..bh {
        let y0 = block_start(by, h);
        col_sum.fill(0);
        col_min.fill(255);
        col_max.fill(0);
        for row in px[y0 * w..(y0 + BLOCK) * w].chunks_exact(w) {
            for (((s, lo), hi), &p) in col_sum
                .iter_mut()
                .zip(&mut col_min)
                .zip(&mut col_max)
                .zip(row)
            {
                *s += u16::from(p);
                *lo = (*lo).min(p);
                *hi = (*hi).max(p);
            }
        }
        for bx in 0..bw {
            let x0 = block_start(bx, w);
            let r = x0..x0 + BLOCK;
            let sum: u32 = col_sum[r.clone()].iter().map(|&s| u32::from(s)).sum();
            let lo = u32::from(col_min[r.clone()].iter().copied().min().unwrap_or(255));
            let hi = u32::from(col_max[r].iter().copied().max().unwrap_or(0));
            let mut a = sum / (BLOCK * BLOCK) as u32;
            if hi - lo <= MIN_DYNAMIC_RANGE {
                // A flat block: assume it is background unless its neighbours say otherwise.
                a = lo / 2;
                if by > 0 && bx > 0 {
                    let n = (avg[(by - 1) * bw + bx]
                        + 2 * avg[by * bw + bx - 1]
                        + avg[(by - 1) * bw + bx - 1])
                        / 4;
                    if lo < n {
                        a = n;
                    }
                }
            }
            avg[by * bw + bx] = a;
        }
    }
    // Each block's threshold, the mean of the 5×5 block averages around it (clamped inside),
    // spread over its pixel columns (the last block's wins in the overlap) and compared with
    // every row of the block row: whole rows at a time, vectorised.
    let mut out = vec![0u8; w * h];
    let mut thr = vec![0u8; w];
    for by in 0..bh {
        let cy = by.clamp(2, bh - 3);
        for bx in 0..bw {
            let cx = bx.clamp(2, bw - 3);
            let mut sum = 0u32;
            for yy in cy - 2..cy + 3 {
                for xx in cx - 2..cx + 3 {
                    sum += avg[yy * bw + xx];
                }
            }
            let x0 = block_start(bx, w);
            thr[x0..x0 + BLOCK].fill((sum / 25).min(255) as u8);
        }
        // Rows of this block row up to the next block row's start (which takes the overlap).
        let y0 = block_start(by, h);
        let y1 = if by + 1 == bh {
            h
        } else {
            block_start(by + 1, h)
        };
        for (row, orow) in px[y0 * w..y1 * w]
            .chunks_exact(w)
            .zip(out[y0 * w..y1 * w].chunks_exact_mut(w))
        {
            for ((o, &p), &t) in orow.iter_mut().zip(row).zip(&thr) {
                *o = u8::from(p <= t);
            }
        }
    }
    out
}

/// Sauvola threshold `T = m · (1 + k · (s / R − 1))` over a window of about 1/10 of the
/// shorter side (at least 15 px), with `k = 0.2`, `R = 128`.
fn sauvola(px: &[u8], w: usize, h: usize) -> Vec<u8> {
    let r = (w.min(h) / 20).max(7);
    let stats = crate::pixels::WindowStats::new(px, w, h);
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let y0 = y.saturating_sub(r);
        let y1 = (y + r + 1).min(h);
        for x in 0..w {
            let x0 = x.saturating_sub(r);
            let x1 = (x + r + 1).min(w);
            let (mean, sd) = stats.mean_sd(x0, y0, x1, y1);
            let t = mean * (1.0 + 0.2 * (sd / 128.0 - 1.0));
            out[y * w + x] = u8::from(f64::from(px[y * w + x]) <= t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient_with_square(w: u32, h: u32) -> GrayImage {
        // A left-to-right light gradient (80..250) with a 24×24 checkerboard of 4-px cells,
        // QR-like texture whose dark cells sit 150 levels below the local background.
        GrayImage::from_fn(w, h, |x, y| {
            let base = (80 + x * 170 / w) as u8;
            let (sx, sy) = (w * 3 / 4, h / 2);
            let inside = (sx..sx + 24).contains(&x) && (sy..sy + 24).contains(&y);
            let dark_cell = inside && ((x - sx) / 4 + (y - sy) / 4) % 2 == 0;
            image::Luma([if dark_cell { base - 150 } else { base }])
        })
    }

    /// The hybrid binariser as first written, block by block (each block row and column
    /// written in turn, the last ones overwriting the overlap): the reference for the
    /// row-major version.
    fn hybrid_reference(px: &[u8], w: usize, h: usize) -> Vec<u8> {
        let bw = w.div_ceil(BLOCK);
        let bh = h.div_ceil(BLOCK);
        let mut avg = vec![0u32; bw * bh];
        for by in 0..bh {
            let y0 = (by * BLOCK).min(h - BLOCK);
            for bx in 0..bw {
                let x0 = (bx * BLOCK).min(w - BLOCK);
                let (mut sum, mut min, mut max) = (0u32, 255u32, 0u32);
                for row in px[y0 * w..].chunks(w).take(BLOCK) {
                    for &p in &row[x0..x0 + BLOCK] {
                        let p = u32::from(p);
                        sum += p;
                        min = min.min(p);
                        max = max.max(p);
                    }
                }
                let mut a = sum / (BLOCK * BLOCK) as u32;
                if max - min <= MIN_DYNAMIC_RANGE {
                    // A flat block: assume it is background unless its neighbours say otherwise.
                    a = min / 2;
                    if by > 0 && bx > 0 {
                        let n = (avg[(by - 1) * bw + bx]
                            + 2 * avg[by * bw + bx - 1]
                            + avg[(by - 1) * bw + bx - 1])
                            / 4;
                        if min < n {
                            a = n;
                        }
                    }
                }
                avg[by * bw + bx] = a;
            }
        }
        let mut out = vec![0u8; w * h];
        for by in 0..bh {
            let y0 = (by * BLOCK).min(h - BLOCK);
            let cy = by.clamp(2, bh - 3);
            for bx in 0..bw {
                let x0 = (bx * BLOCK).min(w - BLOCK);
                let cx = bx.clamp(2, bw - 3);
                let mut sum = 0u32;
                for yy in cy - 2..cy + 3 {
                    for xx in cx - 2..cx + 3 {
                        sum += avg[yy * bw + xx];
                    }
                }
                let t = sum / 25;
                for y in y0..y0 + BLOCK {
                    let row = &px[y * w..y * w + w];
                    let orow = &mut out[y * w..y * w + w];
                    for x in x0..x0 + BLOCK {
                        orow[x] = u8::from(u32::from(row[x]) <= t);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn hybrid_equals_the_block_by_block_reference() {
        let mut next = crate::pixels::tests::xorshift(0x2545_F491_4F6C_DD1D);
        let mut flat_blocks = 0;
        for case in 0..60usize {
            let (w, h) = (40 + (next() % 200) as usize, 40 + (next() % 200) as usize);
            // Blocky noise with flat areas (to reach the flat-block rule) and a gradient.
            let cell = 1 + case % 12;
            let cells: Vec<u8> = (0..(w / cell + 1) * (h / cell + 1))
                .map(|_| {
                    if next().is_multiple_of(3) {
                        200
                    } else {
                        (next() % 256) as u8
                    }
                })
                .collect();
            let px: Vec<u8> = (0..w * h)
                .map(|i| {
                    let (x, y) = (i % w, i / w);
                    let c = cells[(y / cell) * (w / cell + 1) + x / cell];
                    c.saturating_sub((x * 60 / w) as u8)
                })
                .collect();
            for (bx, by) in (0..w / 8).flat_map(|bx| (0..h / 8).map(move |by| (bx, by))) {
                let block = (0..64).map(|i| px[(by * 8 + i / 8) * w + bx * 8 + i % 8]);
                let (lo, hi) = block.fold((255, 0), |(lo, hi), p| (p.min(lo), p.max(hi)));
                flat_blocks += usize::from(hi - lo <= MIN_DYNAMIC_RANGE as u8);
            }
            assert_eq!(
                hybrid(&px, w, h),
                hybrid_reference(&px, w, h),
                "case {case}: {w}x{h}"
            );
        }
        assert!(flat_blocks > 100, "too few flat blocks ({flat_blocks})");
    }

    #[test]
    fn local_methods_find_a_dark_square_on_a_gradient() {
        let img = gradient_with_square(160, 120);
        for m in [Method::Hybrid, Method::Sauvola] {
            let b = binarize(&img, m, false);
            let at = |x: usize, y: usize| b.bits[y * b.width + x];
            assert_eq!(at(130, 70), 1, "{m:?}: a dark cell is dark");
            assert_eq!(at(134, 70), 0, "{m:?}: a light cell is light");
            assert_eq!(at(150, 20), 0, "{m:?}: bright background is light");
            assert_eq!(at(5, 20), 0, "{m:?}: dim background is light");
        }
    }

    #[test]
    fn invert_swaps_every_pixel() {
        let img = gradient_with_square(64, 64);
        let a = binarize(&img, Method::Otsu, false);
        let b = binarize(&img, Method::Otsu, true);
        assert!(a.bits.iter().zip(&b.bits).all(|(x, y)| x ^ y == 1));
    }

    #[test]
    fn tiny_images_do_not_panic() {
        for (w, h) in [(1, 1), (1, 9), (9, 1), (8, 8), (39, 41), (41, 8)] {
            let img = GrayImage::from_pixel(w, h, image::Luma([100]));
            for m in [Method::Hybrid, Method::Sauvola, Method::Otsu] {
                let b = binarize(&img, m, false);
                assert_eq!(b.bits.len(), (w * h) as usize);
            }
        }
    }
}
