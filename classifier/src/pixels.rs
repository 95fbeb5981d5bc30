//! Grey-level statistics shared by the QR binarisers and OCR preparation: Otsu's global
//! threshold and windowed mean / standard deviation from integral images.

/// Otsu's threshold: the level that maximises the between-class variance of `px`.
pub(crate) fn otsu(px: &[u8]) -> u8 {
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
    level
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
