//! Second chances for a located grid: `rqrr` found a grid but could not decode it from the
//! pass's black-and-white image, so its modules are read again from the grayscale image with
//! thresholds chosen per grid, and decoded with `rqrr`'s decoder.
//!
//! Locating a grid (finder patterns, grouping, `rqrr`'s perspective search) is the costly part
//! of a pass; re-reading a located grid costs a few thousand pixel look-ups. Doing it here
//! spares the further passes that would otherwise locate the same grid again only to try one
//! more binarisation.

use image::GrayImage;

/// A grid located by `rqrr`: its corners (as `rqrr::Grid::bounds`) and its size in modules.
#[derive(Debug, Clone, Copy)]
pub struct GridLoc {
    /// Images of the module-space points `(0,0)`, `(n+1,0)`, `(n+1,n+1)`, `(0,n+1)` (this is
    /// how `rqrr` reports a grid's bounds), in pass-image pixels.
    pub bounds: [(i32, i32); 4],
    /// Modules per side (21 for version 1).
    pub size: usize,
}

/// A projective map from the unit square to the image (square-to-quad, Heckbert 1989).
struct Homography([f64; 8]);

impl Homography {
    /// The map sending (0,0), (1,0), (1,1), (0,1) to `q[0..4]`; `None` when degenerate.
    fn square_to_quad(q: [(f64, f64); 4]) -> Option<Self> {
        let [(x0, y0), (x1, y1), (x2, y2), (x3, y3)] = q;
        let (sx, sy) = (x0 - x1 + x2 - x3, y0 - y1 + y2 - y3);
        let (dx1, dy1, dx2, dy2) = (x1 - x2, y1 - y2, x3 - x2, y3 - y2);
        let den = dx1 * dy2 - dx2 * dy1;
        if den.abs() < 1e-9 {
            return None;
        }
        let g = (sx * dy2 - dx2 * sy) / den;
        let h = (dx1 * sy - sx * dy1) / den;
        Some(Self([
            x1 - x0 + g * x1,
            x3 - x0 + h * x3,
            x0,
            y1 - y0 + g * y1,
            y3 - y0 + h * y3,
            y0,
            g,
            h,
        ]))
    }

    fn map(&self, u: f64, v: f64) -> (f64, f64) {
        let m = &self.0;
        let den = m[6] * u + m[7] * v + 1.0;
        (
            (m[0] * u + m[1] * v + m[2]) / den,
            (m[3] * u + m[4] * v + m[5]) / den,
        )
    }
}

/// Mean gray level of every module (3×3 samples inside it), row-major, `size²` values; `None`
/// when the grid is degenerate or a quarter or more of its modules fall outside the image.
fn module_means(img: &GrayImage, loc: &GridLoc) -> Option<Vec<u8>> {
    let n = loc.size;
    if !(21..=177).contains(&n) {
        return None;
    }
    let quad = loc.bounds.map(|(x, y)| (f64::from(x), f64::from(y)));
    let hom = Homography::square_to_quad(quad)?;
    let scale = 1.0 / (n as f64 + 1.0);
    let (w, h) = (i64::from(img.width()), i64::from(img.height()));
    let px = img.as_raw();
    let mut means = Vec::with_capacity(n * n);
    let mut outside = 0usize;
    for y in 0..n {
        for x in 0..n {
            let (mut sum, mut count) = (0u32, 0u32);
            for dv in [0.3, 0.5, 0.7] {
                for du in [0.3, 0.5, 0.7] {
                    let (fx, fy) = hom.map((x as f64 + du) * scale, (y as f64 + dv) * scale);
                    if !(fx.is_finite() && fy.is_finite()) {
                        continue;
                    }
                    let (ix, iy) = (fx.round() as i64, fy.round() as i64);
                    if (0..w).contains(&ix) && (0..h).contains(&iy) {
                        sum += u32::from(px[(iy * w + ix) as usize]);
                        count += 1;
                    }
                }
            }
            if let Some(mean) = sum.checked_div(count) {
                means.push(mean as u8);
            } else {
                outside += 1;
                means.push(255);
            }
        }
    }
    (outside * 4 < n * n).then_some(means)
}

/// Dark modules under a local threshold: a module is dark when it is below the mean of the
/// modules within `r` of it (a `(2r+1)²` window, clipped at the edges).
fn local_dark(means: &[u8], n: usize, r: usize) -> Vec<bool> {
    let stats = crate::pixels::WindowStats::new(means, n, n);
    (0..n * n)
        .map(|i| {
            let (x, y) = (i % n, i / n);
            let (x0, y0) = (x.saturating_sub(r), y.saturating_sub(r));
            let (mean, _) = stats.mean_sd(x0, y0, (x + r + 1).min(n), (y + r + 1).min(n));
            f64::from(means[i]) < mean
        })
        .collect()
}

/// Reads `loc` from the grayscale `img` under several module thresholds (a global Otsu
/// threshold over the module means, then local means over two window sizes) and returns the
/// payload bytes of the first reading that decodes. `invert`: the code is light on dark.
pub fn decode(img: &GrayImage, loc: &GridLoc, invert: bool) -> Option<Vec<u8>> {
    let n = loc.size;
    let means = module_means(img, loc)?;
    let t = crate::pixels::otsu(&means);
    let readings = [
        means.iter().map(|&m| m <= t).collect::<Vec<bool>>(),
        local_dark(&means, n, 4),
        local_dark(&means, n, (n / 5).max(6)),
    ];
    readings.iter().find_map(|dark| {
        let grid = rqrr::SimpleGrid::from_func(n, |x, y| dark[y * n + x] != invert);
        let mut bytes = Vec::new();
        rqrr::Grid::new(grid).decode_to(&mut bytes).ok()?;
        Some(bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_to_quad_maps_the_corners() {
        let q = [(10.0, 20.0), (110.0, 25.0), (120.0, 130.0), (5.0, 118.0)];
        let h = Homography::square_to_quad(q).unwrap();
        for ((u, v), (x, y)) in [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
            .iter()
            .zip(q)
        {
            let (mx, my) = h.map(*u, *v);
            assert!((mx - x).abs() < 1e-6 && (my - y).abs() < 1e-6, "{u},{v}");
        }
    }

    /// A rendered code (`module` px per module, 4-module quiet zone) under a left-to-right
    /// light gradient, and its grid location in `rqrr`'s convention.
    fn rendered(data: &[u8], module: u32, invert: bool) -> (GrayImage, GridLoc) {
        let code = qrcode::QrCode::new(data).unwrap();
        let n = code.width() as u32;
        let colors = code.to_colors();
        let side = (n + 8) * module;
        let img = GrayImage::from_fn(side, side, |x, y| {
            let (mx, my) = ((x / module) as i64 - 4, (y / module) as i64 - 4);
            let dark = (0..i64::from(n)).contains(&mx)
                && (0..i64::from(n)).contains(&my)
                && colors[my as usize * n as usize + mx as usize] == qrcode::Color::Dark;
            let light = 120 + (x * 130 / side) as u8;
            let v = if dark { light - 90 } else { light };
            image::Luma([if invert { 255 - v } else { v }])
        });
        let at = |m: u32| (4 * module + m * module) as i32;
        let loc = GridLoc {
            bounds: [
                (at(0), at(0)),
                (at(n + 1), at(0)),
                (at(n + 1), at(n + 1)),
                (at(0), at(n + 1)),
            ],
            size: n as usize,
        };
        (img, loc)
    }

    #[test]
    fn reads_a_located_grid_from_grayscale_in_both_polarities() {
        let payload = b"https://example.invalid/resample?x=1";
        let (img, loc) = rendered(payload, 5, false);
        assert_eq!(decode(&img, &loc, false).as_deref(), Some(&payload[..]));
        let (inv, loc) = rendered(payload, 5, true);
        assert_eq!(decode(&inv, &loc, true).as_deref(), Some(&payload[..]));
        // Read with the wrong polarity, the modules do not form a code.
        assert_eq!(decode(&inv, &loc, false), None);
    }

    #[test]
    fn degenerate_and_outside_grids_are_refused() {
        let img = GrayImage::from_pixel(50, 50, image::Luma([200]));
        let flat = GridLoc {
            bounds: [(0, 0), (10, 0), (20, 0), (30, 0)],
            size: 21,
        };
        assert!(decode(&img, &flat, false).is_none());
        let far = GridLoc {
            bounds: [(500, 500), (600, 500), (600, 600), (500, 600)],
            size: 21,
        };
        assert!(module_means(&img, &far).is_none());
        let bad_size = GridLoc {
            bounds: [(0, 0), (40, 0), (40, 40), (0, 40)],
            size: 500,
        };
        assert!(decode(&img, &bad_size, false).is_none());
    }
}
