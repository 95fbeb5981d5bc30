use std::{cmp, num::NonZeroUsize};

use crate::identify::match_capstones::CapStoneGroup;
use crate::identify::Point;
use lru::LruCache;

/// An black-and-white image that can be mutated on search for QR codes
///
/// During search for QR codes, some black zones will be recolored in
/// 'different' shades of black. This is done to speed up the search and
/// mitigate the impact of a huge zones.
pub struct PreparedImage<S> {
    buffer: S,
    cache: LruCache<u8, ColoredRegion>,
}

impl<S> Clone for PreparedImage<S>
where
    S: Clone,
{
    fn clone(&self) -> Self {
        let mut cache = LruCache::new(self.cache.cap());
        for (k, v) in self.cache.iter() {
            cache.put(*k, *v);
        }

        PreparedImage {
            buffer: self.buffer.clone(),
            cache,
        }
    }
}

pub trait ImageBuffer {
    fn width(&self) -> usize;
    fn height(&self) -> usize;

    fn get_pixel(&self, x: usize, y: usize) -> u8;
    fn set_pixel(&mut self, x: usize, y: usize, val: u8);

    /// kuzet patch: all pixels as one mutable slice of rows `width()` long, top to bottom,
    /// when the buffer stores them so (lets the flood fill index a slice instead of calling
    /// `get_pixel`/`set_pixel` per pixel); `None` by default.
    fn pixels_mut(&mut self) -> Option<&mut [u8]> {
        None
    }

    /// kuzet patch: all pixels as one slice, laid out as for [`ImageBuffer::pixels_mut`] (lets
    /// the capstone scan skip runs of one colour and the perspective search read samples
    /// without per-pixel calls); `None` by default.
    fn pixels(&self) -> Option<&[u8]> {
        None
    }
}

#[cfg(feature = "img")]
impl<
        T: image::GenericImage<Pixel = image::Luma<u8>>
            + image::GenericImageView<Pixel = image::Luma<u8>>,
    > ImageBuffer for T
{
    fn width(&self) -> usize {
        self.width() as usize
    }

    fn height(&self) -> usize {
        self.height() as usize
    }

    fn get_pixel(&self, x: usize, y: usize) -> u8 {
        self.get_pixel(x as u32, y as u32).0[0]
    }

    fn set_pixel(&mut self, x: usize, y: usize, val: u8) {
        let pixel = image::Luma::<u8>::from([val; 1]);

        self.put_pixel(x as u32, y as u32, pixel);
    }
}

#[derive(Clone, Debug)]
pub struct BasicImageBuffer {
    w: usize,
    h: usize,
    pixels: Box<[u8]>,
}

impl ImageBuffer for BasicImageBuffer {
    fn width(&self) -> usize {
        self.w
    }

    fn height(&self) -> usize {
        self.h
    }

    fn get_pixel(&self, x: usize, y: usize) -> u8 {
        let w = self.width();
        self.pixels[(y * w) + x]
    }

    fn set_pixel(&mut self, x: usize, y: usize, val: u8) {
        let w = self.width();
        self.pixels[(y * w) + x] = val
    }
    fn pixels_mut(&mut self) -> Option<&mut [u8]> {
        Some(&mut self.pixels)
    }

    fn pixels(&self) -> Option<&[u8]> {
        Some(&self.pixels)
    }
}

#[derive(Debug, Clone, Copy, Eq, PartialEq)]
pub struct Row {
    pub left: usize,
    pub right: usize,
    pub y: usize,
}

#[derive(Copy, Clone, Debug, Eq, PartialEq)]
pub enum PixelColor {
    White,
    Black,
    CapStone,
    Alignment,
    Tmp1,
    Discarded(u8),
}

#[derive(Copy, Clone, Debug, Eq, PartialEq)]
pub enum ColoredRegion {
    Unclaimed {
        color: PixelColor,
        src_x: usize,
        src_y: usize,
        pixel_count: usize,
    },
    CapStone,
    Alignment,
    Tmp1,
}

impl From<u8> for PixelColor {
    fn from(x: u8) -> Self {
        match x {
            0 => PixelColor::White,
            1 => PixelColor::Black,
            2 => PixelColor::CapStone,
            3 => PixelColor::Alignment,
            4 => PixelColor::Tmp1,
            x => PixelColor::Discarded(x - 5),
        }
    }
}

impl From<PixelColor> for u8 {
    fn from(c: PixelColor) -> Self {
        match c {
            PixelColor::White => 0,
            PixelColor::Black => 1,
            PixelColor::CapStone => 2,
            PixelColor::Alignment => 3,
            PixelColor::Tmp1 => 4,
            PixelColor::Discarded(x) => x + 5,
        }
    }
}

impl PartialEq<u8> for PixelColor {
    fn eq(&self, other: &u8) -> bool {
        let rep: u8 = (*self).into();
        rep == *other
    }
}

pub trait AreaFiller {
    fn update(&mut self, row: Row);
}

impl<F> AreaFiller for F
where
    F: FnMut(Row),
{
    fn update(&mut self, row: Row) {
        self(row)
    }
}

struct AreaCounter(usize);

impl AreaFiller for AreaCounter {
    fn update(&mut self, row: Row) {
        self.0 += row.right - row.left + 1;
    }
}

/// Upstream's `prepare` (kuzet: moved out of it unchanged): each pixel black when darker than 95 % of the mean of two running
/// averages along its row (left to right and right to left, alternating per row; the averages
/// carry over from row to row).
fn threshold_rows<S: ImageBuffer>(buf: &mut S) {
    let w = buf.width();
    let h = buf.height();
    let mut row_average = vec![0; w];
    let mut avg_v = 0;
    let mut avg_u = 0;

    let threshold_s = cmp::max(w / 8, 1);

    for y in 0..h {
        row_average.fill(0);

        for x in 0..w {
            let (v, u) = if y % 2 == 0 {
                (w - 1 - x, x)
            } else {
                (x, w - 1 - x)
            };
            avg_v = avg_v * (threshold_s - 1) / threshold_s + buf.get_pixel(v, y) as usize;
            avg_u = avg_u * (threshold_s - 1) / threshold_s + buf.get_pixel(u, y) as usize;
            row_average[v] += avg_v;
            row_average[u] += avg_u;
        }

        #[allow(clippy::needless_range_loop)]
        for x in 0..w {
            let fill = if (buf.get_pixel(x, y) as usize)
                < row_average[x] * (100 - 5) / (200 * threshold_s)
            {
                PixelColor::Black
            } else {
                PixelColor::White
            };
            buf.set_pixel(x, y, fill.into());
        }
    }
}

/// Exact `n / d` for any `u32` `n`, by one multiplication (Lemire, Kaser and Kurz, "Faster
/// remainder by direct computation", 2019: `M = ⌊(2^64 − 1) / d⌋ + 1`, quotient = high 64 bits of
/// `n × M`), for `d` ≥ 2. (kuzet patch.)
#[derive(Clone, Copy)]
struct DivU32(u64);

impl DivU32 {
    fn new(d: u32) -> Self {
        assert!(d >= 2);
        DivU32(u64::MAX / u64::from(d) + 1)
    }

    #[inline]
    fn div(self, n: u32) -> u32 {
        ((u128::from(self.0) * u128::from(n)) >> 64) as u32
    }
}

/// kuzet patch 10: `threshold_rows` over a row-major `w × h` byte buffer, with its two
/// divisions per pixel by run-time constants done by `DivU32` (the running averages are a chain
/// from pixel to pixel, and a division's latency was most of each step), for widths from 16 (so
/// `s = w / 8` ≥ 2) to below 2^15: a running average stays at most `255 * s` (`s` ≤ 4095), so
/// `avg * (s - 1)` < 255 · 4095 · 4094 < 2^32, and a row sum (at most `2 * 255 * s`) times 95 is
/// far below 2^32. Same values, same pixels.
fn threshold_rows_fast(px: &mut [u8], w: usize, h: usize) {
    debug_assert!((16..1 << 15).contains(&w) && px.len() == w * h);
    let s = (w / 8) as u32;
    let (by_s, by_200s) = (DivU32::new(s), DivU32::new(200 * s));
    let mut row_average = vec![0u32; w];
    let (mut avg_v, mut avg_u) = (0u32, 0u32);
    for (y, row) in px.chunks_exact_mut(w).enumerate() {
        row_average.fill(0);
        for x in 0..w {
            let (v, u) = if y % 2 == 0 {
                (w - 1 - x, x)
            } else {
                (x, w - 1 - x)
            };
            // ⌊a·(s−1)/s⌋ = a − ⌈a/s⌉: one multiplication less in the chain.
            avg_v = avg_v - by_s.div(avg_v + s - 1) + u32::from(row[v]);
            avg_u = avg_u - by_s.div(avg_u + s - 1) + u32::from(row[u]);
            row_average[v] += avg_v;
            row_average[u] += avg_u;
        }
        for (p, &sum) in row.iter_mut().zip(&row_average) {
            let fill = if u32::from(*p) < by_200s.div(sum * (100 - 5)) {
                PixelColor::Black
            } else {
                PixelColor::White
            };
            *p = fill.into();
        }
    }
}

impl<S> PreparedImage<S>
where
    S: ImageBuffer,
{
    pub fn prepare(mut buf: S) -> Self {
        threshold_rows(&mut buf);
        Self::thresholded(buf)
    }

    /// kuzet patch: a buffer already holding black and white (`PixelColor` codes), with an
    /// empty region cache; shared by `prepare` and the patched constructors.
    fn thresholded(buffer: S) -> Self {
        PreparedImage {
            buffer,
            cache: LruCache::new(NonZeroUsize::new(251).unwrap()),
        }
    }

    /// Group [CapStones](struct.CapStone.html) into [Grids](struct.Grid.html)
    /// that are likely QR codes
    ///
    /// Return a vector of Grids
    pub fn detect_grids<'a>(
        &'a mut self,
    ) -> Vec<crate::Grid<crate::identify::grid::RefGridImage<'a, S>>>
    where
        S: Clone,
    {
        self.detect(true)
    }

    /// kuzet patch 9: `detect_grids` without the perspective search (`jiggle_perspective`, the
    /// costliest step) on each grid: the caller decodes each grid as located and calls
    /// `Grid::refine` on those that do not decode, then decodes again.
    pub fn detect_grids_unrefined<'a>(
        &'a mut self,
    ) -> Vec<crate::Grid<crate::identify::grid::RefGridImage<'a, S>>>
    where
        S: Clone,
    {
        self.detect(false)
    }

    fn detect<'a>(
        &'a mut self,
        refine: bool,
    ) -> Vec<crate::Grid<crate::identify::grid::RefGridImage<'a, S>>>
    where
        S: Clone,
    {
        let stones = crate::capstones_from_image(self);
        // kuzet patch: `find_groupings` already located each grid (on a copy of the image);
        // keep those locations instead of running the same perspective search again here.
        let locations = self.find_groupings(stones, refine);
        let mut res = Vec::new();
        for grid_location in locations {
            let bounds = grid_location.bounds();
            let grid = grid_location.into_grid_image(self);
            res.push(crate::Grid { grid, bounds });
        }
        res
    }

    /// Find CapStones that form a grid
    ///
    /// By trying to match up the relative perspective of 3
    /// [CapStones](struct.CapStone.html) along with other criteria we can find the
    /// CapStones that corner the same QR code.
    fn find_groupings(
        &mut self,
        capstones: Vec<crate::CapStone>,
        refine: bool,
    ) -> Vec<crate::SkewedGridLocation>
    where
        S: Clone,
    {
        let mut used_capstones = Vec::new();
        let mut groups = Vec::new();
        for idx in 0..capstones.len() {
            if used_capstones.contains(&idx) {
                continue;
            }
            let pairs = crate::identify::find_and_rank_possible_neighbors(&capstones, idx);
            for pair in pairs {
                if used_capstones.contains(&pair.0) || used_capstones.contains(&pair.1) {
                    continue;
                }
                let group_under_test = CapStoneGroup(
                    capstones[pair.0].clone(),
                    capstones[idx].clone(),
                    capstones[pair.1].clone(),
                );
                // Confirm that this group has the other requirements of a QR code.
                // A copy of the input image is used to not contaminate the
                // original on an incorrect set of CapStones
                let mut image_copy = self.clone();
                let Some(location) =
                    crate::SkewedGridLocation::from_group(
                        &mut image_copy,
                        group_under_test,
                        refine,
                    )
                else {
                    continue;
                };
                // This is a viable set, save this grouping (kuzet patch: with its location)
                groups.push(location);
                used_capstones.push(pair.0);
                used_capstones.push(idx);
                used_capstones.push(pair.1);
            }
        }
        groups
    }

    pub fn without_preparation(buf: S) -> Self {
        for y in 0..buf.height() {
            for x in 0..buf.width() {
                assert!(buf.get_pixel(x, y) < 2);
            }
        }

        PreparedImage {
            buffer: buf,
            cache: LruCache::new(NonZeroUsize::new(251).unwrap()),
        }
    }

    /// Return the width of the image
    pub fn width(&self) -> usize {
        self.buffer.width()
    }

    /// Return the height of the image
    pub fn height(&self) -> usize {
        self.buffer.height()
    }

    pub(crate) fn get_region(&mut self, (x, y): (usize, usize)) -> ColoredRegion {
        let color: PixelColor = self.buffer.get_pixel(x, y).into();
        match color {
            PixelColor::Discarded(r) => *self.cache.get(&r).unwrap(),
            PixelColor::Black => {
                let cache_fill = self.cache.len();
                let reg_idx = if cache_fill == self.cache.cap().get() {
                    let (c, reg) = self.cache.pop_lru().expect("fill is at capacity (251)");
                    #[allow(clippy::single_match)]
                    match reg {
                        ColoredRegion::Unclaimed {
                            src_x,
                            src_y,
                            color,
                            ..
                        } => {
                            let _ = self.flood_fill(
                                src_x,
                                src_y,
                                color.into(),
                                PixelColor::Black.into(),
                                |_| (),
                            );
                        }
                        _ => (),
                    }
                    c
                } else {
                    cache_fill as u8
                };
                let next_reg_color = PixelColor::Discarded(reg_idx);
                let counter = self.repaint_and_apply((x, y), next_reg_color, AreaCounter(0));
                let new_reg = ColoredRegion::Unclaimed {
                    color: next_reg_color,
                    src_x: x,
                    src_y: y,
                    pixel_count: counter.0,
                };
                self.cache.put(reg_idx, new_reg);
                new_reg
            }
            PixelColor::Tmp1 => ColoredRegion::Tmp1,
            PixelColor::Alignment => ColoredRegion::Alignment,
            PixelColor::CapStone => ColoredRegion::CapStone,
            PixelColor::White => panic!("Tried to color white patch"),
        }
    }

    pub(crate) fn repaint_and_apply<F>(
        &mut self,
        (x, y): (usize, usize),
        target_color: PixelColor,
        fill: F,
    ) -> F
    where
        F: AreaFiller,
    {
        let src = self.buffer.get_pixel(x, y);
        if PixelColor::White == src || target_color == src {
            panic!("Cannot repaint with white or same color");
        }

        self.flood_fill(x, y, src, target_color.into(), fill)
    }

    pub fn get_pixel_at_point(&self, p: Point) -> PixelColor {
        let x = cmp::max(0, cmp::min((self.width() - 1) as i32, p.x));
        let y = cmp::max(0, cmp::min((self.height() - 1) as i32, p.y));
        self.buffer.get_pixel(x as usize, y as usize).into()
    }

    pub fn get_pixel_at(&self, x: usize, y: usize) -> PixelColor {
        self.buffer.get_pixel(x, y).into()
    }

    /// kuzet patch: row `y` of the buffer, when it holds its pixels as one slice.
    pub(crate) fn row(&self, y: usize) -> Option<&[u8]> {
        let w = self.width();
        self.pixels()?.get(y * w..(y + 1) * w)
    }

    /// kuzet patch: all pixels, row-major, when the buffer holds them so (checked length).
    pub(crate) fn pixels(&self) -> Option<&[u8]> {
        self.buffer
            .pixels()
            .filter(|p| p.len() == self.width() * self.height())
    }

    #[cfg(feature = "img")]
    pub fn write_state_to(&self, p: &str) {
        let mut dyn_img = image::RgbImage::new(self.width() as u32, self.height() as u32);
        const COLORS: [[u8; 3]; 8] = [
            [255, 0, 0],
            [0, 255, 0],
            [0, 0, 255],
            [255, 255, 0],
            [255, 0, 255],
            [0, 255, 255],
            [128, 128, 128],
            [128, 0, 128],
        ];
        for y in 0..self.height() {
            for x in 0..self.width() {
                let px = self.buffer.get_pixel(x, y);
                dyn_img.get_pixel_mut(x as u32, y as u32).0 = if px == 0 {
                    [255, 255, 255]
                } else if px == 1 {
                    [0, 0, 0]
                } else {
                    let i = self.buffer.get_pixel(x, y) - 2;
                    COLORS[(i % 8) as usize]
                }
            }
        }
        dyn_img.save(p).unwrap();
    }

    fn flood_fill<F>(&mut self, x: usize, y: usize, from: u8, to: u8, mut fill: F) -> F
    where
        F: AreaFiller,
    {
        assert_ne!(from, to);
        let w = self.width();
        let h = self.height();
        // kuzet patch 11: the same fill on a slice, where the buffer has one.
        if let Some(pixels) = self.buffer.pixels_mut() {
            if w > 0 && pixels.len() == w * h {
                return flood_fill_slice(pixels, w, (x, y), from, to, fill);
            }
        }
        let mut queue = Vec::new();
        queue.push((x, y));

        while let Some((x, y)) = queue.pop() {
            // Bail early in case there is nothing to fill
            if self.buffer.get_pixel(x, y) == to || self.buffer.get_pixel(x, y) != from {
                continue;
            }

            let mut left = x;
            let mut right = x;

            while left > 0 && self.buffer.get_pixel(left - 1, y) == from {
                left -= 1;
            }
            while right < w - 1 && self.buffer.get_pixel(right + 1, y) == from {
                right += 1
            }

            /* Fill the extent */
            for idx in left..=right {
                self.buffer.set_pixel(idx, y, to);
            }

            fill.update(Row { left, right, y });

            /* Seed new flood-fills */
            if y > 0 {
                let mut seeded_previous = false;
                for x in left..=right {
                    let p = self.buffer.get_pixel(x, y - 1);
                    if p == from {
                        if !seeded_previous {
                            queue.push((x, y - 1));
                        }
                        seeded_previous = true;
                    } else {
                        seeded_previous = false;
                    }
                }
            }
            if y < self.height() - 1 {
                let mut seeded_previous = false;
                for x in left..=right {
                    let p = self.buffer.get_pixel(x, y + 1);
                    if p == from {
                        if !seeded_previous {
                            queue.push((x, y + 1));
                        }
                        seeded_previous = true;
                    } else {
                        seeded_previous = false;
                    }
                }
            }
        }
        fill
    }
}

/// kuzet patch 11: `PreparedImage::flood_fill` on a row-major slice `w` wide: the same scans,
/// the same seeds pushed in the same order, so the same rows reach `fill` in the same order.
fn flood_fill_slice<F>(
    pixels: &mut [u8],
    w: usize,
    (x, y): (usize, usize),
    from: u8,
    to: u8,
    mut fill: F,
) -> F
where
    F: AreaFiller,
{
    let h = pixels.len() / w;
    let mut queue = Vec::new();
    queue.push((x, y));

    while let Some((x, y)) = queue.pop() {
        let row = &mut pixels[y * w..(y + 1) * w];
        // `to != from`, so this is upstream's "nothing to fill" test.
        if row[x] != from {
            continue;
        }
        let left = row[..x]
            .iter()
            .rposition(|&p| p != from)
            .map_or(0, |i| i + 1);
        let right = row[x + 1..]
            .iter()
            .position(|&p| p != from)
            .map_or(w - 1, |i| x + i);
        row[left..=right].fill(to);

        fill.update(Row { left, right, y });

        for ny in [y.wrapping_sub(1), y + 1] {
            if ny >= h {
                continue;
            }
            let next = &pixels[ny * w + left..=ny * w + right];
            let mut seeded_previous = false;
            for (i, &p) in next.iter().enumerate() {
                if p == from {
                    if !seeded_previous {
                        queue.push((left + i, ny));
                    }
                    seeded_previous = true;
                } else {
                    seeded_previous = false;
                }
            }
        }
    }
    fill
}

impl PreparedImage<BasicImageBuffer> {
    /// Given a function with binary output, generate a searchable image
    ///
    /// If the given function returns `true` the matching pixel will be 'black'.
    pub fn prepare_from_bitmap<F>(w: usize, h: usize, mut fill: F) -> Self
    where
        F: FnMut(usize, usize) -> bool,
    {
        let capacity = w.checked_mul(h).expect("Image dimensions caused overflow");
        let mut pixels = Vec::with_capacity(capacity);

        for y in 0..h {
            for x in 0..w {
                let col = if fill(x, y) {
                    PixelColor::Black
                } else {
                    PixelColor::White
                };
                pixels.push(col.into())
            }
        }
        let pixels = pixels.into_boxed_slice();
        let buffer = BasicImageBuffer { w, h, pixels };
        PreparedImage::without_preparation(buffer)
    }

    /// kuzet patch: a bitmap already in this crate's pixel encoding, one byte per pixel, row
    /// by row (`0` white, `1` black), taken as the image's buffer without a copy.
    ///
    /// Panics when `pixels` is not `w × h` long or holds any other value (as
    /// `without_preparation` does).
    pub fn from_bitmap_bytes(w: usize, h: usize, pixels: Vec<u8>) -> Self {
        let len = w.checked_mul(h).expect("Image dimensions caused overflow");
        assert_eq!(pixels.len(), len, "bitmap length is not width × height");
        // kuzet patch 14: an OR over all bytes (vectorised) instead of a short-circuiting `all`.
        assert!(
            pixels.iter().fold(0u8, |a, &p| a | p) < 2,
            "bitmap bytes must be 0 or 1"
        );
        PreparedImage::thresholded(BasicImageBuffer {
            w,
            h,
            pixels: pixels.into_boxed_slice(),
        })
    }

    /// Given a byte valued function, generate a searchable image
    ///
    /// The values returned by the function are interpreted as luminance. i.e. a
    /// value of 0 is black, 255 is white.
    pub fn prepare_from_greyscale<F>(w: usize, h: usize, mut fill: F) -> Self
    where
        F: FnMut(usize, usize) -> u8,
    {
        let capacity = w.checked_mul(h).expect("Image dimensions caused overflow");
        let mut data = Vec::with_capacity(capacity);
        for y in 0..h {
            for x in 0..w {
                data.push(fill(x, y));
            }
        }
        Self::prepare_from_greyscale_bytes(w, h, data)
    }

    /// kuzet patch 14: `prepare_from_greyscale` of gray bytes already laid out row by row
    /// (`w × h`, 0 black to 255 white), without a call per pixel; panics on a wrong length.
    pub fn prepare_from_greyscale_bytes(w: usize, h: usize, data: Vec<u8>) -> Self {
        let len = w.checked_mul(h).expect("Image dimensions caused overflow");
        assert_eq!(data.len(), len, "image length is not width × height");
        // kuzet patch 10: `prepare`'s thresholding on the bytes, with fast division where the
        // width allows it.
        let mut buffer = BasicImageBuffer {
            w,
            h,
            pixels: data.into_boxed_slice(),
        };
        if (16..1 << 15).contains(&w) {
            threshold_rows_fast(&mut buffer.pixels, w, h);
            PreparedImage::thresholded(buffer)
        } else {
            PreparedImage::prepare(buffer)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A buffer without a pixel slice (no `pixels`, no `pixels_mut`): the capstone scan, the
    /// flood fill and the perspective search take upstream's pixel-by-pixel paths.
    #[derive(Clone)]
    pub(crate) struct NoRows(pub Vec<u8>, pub usize, pub usize);

    impl ImageBuffer for NoRows {
        fn width(&self) -> usize {
            self.1
        }
        fn height(&self) -> usize {
            self.2
        }
        fn get_pixel(&self, x: usize, y: usize) -> u8 {
            self.0[y * self.1 + x]
        }
        fn set_pixel(&mut self, x: usize, y: usize, val: u8) {
            self.0[y * self.1 + x] = val
        }
    }

    /// kuzet patch 11: the slice flood fill visits the same rows in the same order and leaves
    /// the same pixels as upstream's, on blocky noise of several block sizes (edges included),
    /// from every dark seed of a sample of pixels, refilling already-filled regions too.
    #[test]
    fn slice_flood_fill_equals_pixel_flood_fill() {
        let mut next = crate::geometry::test_rng(0x2545_F491_4F6C_DD1D, 9.2e18);
        let mut fills = 0;
        for case in 0..30 {
            let (w, h, m) = (1 + case * 5, 1 + case * 3, 1 + case % 4);
            let blocks: Vec<u8> = (0..(w / m + 1) * (h / m + 1))
                .map(|_| u8::from(next() > 0.5))
                .collect();
            let bits: Vec<u8> = (0..w * h)
                .map(|i| blocks[(i / w / m) * (w / m + 1) + (i % w) / m])
                .collect();
            let mut fast = PreparedImage::from_bitmap_bytes(w, h, bits.clone());
            let mut slow = PreparedImage::without_preparation(NoRows(bits, w, h));
            for k in 0..40 {
                let (x, y) = ((next().abs() * w as f64) as usize % w, (next().abs() * h as f64) as usize % h);
                let from = fast.buffer.get_pixel(x, y);
                if from == u8::from(PixelColor::White) {
                    continue;
                }
                // Alternate between two colours so that later seeds refill earlier regions.
                let to = if k % 2 == 0 { 7 } else { 9 };
                if from == to {
                    continue;
                }
                let mut a = Vec::new();
                let mut b = Vec::new();
                let _ = fast.flood_fill(x, y, from, to, |r: Row| a.push((r.left, r.right, r.y)));
                let _ = slow.flood_fill(x, y, from, to, |r: Row| b.push((r.left, r.right, r.y)));
                assert_eq!(a, b, "case {case} seed ({x}, {y})");
                assert!(!a.is_empty());
                fills += 1;
            }
            assert_eq!(fast.buffer.pixels.to_vec(), slow.buffer.0);
        }
        assert!(fills > 300, "too few fills exercised ({fills})");
    }

    fn img_from_array(array: [[u8; 3]; 3]) -> PreparedImage<BasicImageBuffer> {
        let mut pixels = Vec::new();
        for col in array.iter() {
            for item in col.iter() {
                if *item == 0 {
                    pixels.push(0)
                } else {
                    pixels.push(1)
                }
            }
        }
        let buffer = BasicImageBuffer {
            w: 3,
            h: 3,
            pixels: pixels.into_boxed_slice(),
        };

        PreparedImage {
            buffer,
            cache: LruCache::new(NonZeroUsize::new(251).unwrap()),
        }
    }

    /// kuzet patch 10: the fast thresholding gives upstream's pixels on noisy, flat and
    /// graded images from 16 to 32,767 pixels wide (all white reaches the largest averages).
    #[test]
    fn threshold_rows_fast_equals_upstream() {
        let mut next = crate::geometry::test_rng(0xA076_1D64_78BD_642F, 9.2e18);
        let sizes = [(16, 9), (17, 5), (23, 4), (640, 6), (641, 5), (4100, 3), (32767, 2)];
        for &(w, h) in &sizes {
            for kind in 0..3 {
                let px: Vec<u8> = (0..w * h)
                    .map(|k| match kind {
                        0 => (next().abs() * 255.0) as u8,
                        1 => 255,
                        _ => ((k % w) * 255 / w) as u8,
                    })
                    .collect();
                let mut a = BasicImageBuffer { w, h, pixels: px.clone().into_boxed_slice() };
                let mut b = px;
                threshold_rows(&mut a);
                threshold_rows_fast(&mut b, w, h);
                assert!(a.pixels[..] == b[..], "{w}x{h} kind {kind}");
            }
        }
        let mut next = crate::geometry::test_rng(0x0123_4567_89AB_CDEF, 1.0);
        for d in [2u32, 3, 7, 200, 4095, 819_000, u32::MAX] {
            let div = DivU32::new(d);
            for n in [0u32, 1, d - 1, d, d.wrapping_add(1), u32::MAX, u32::MAX - 1] {
                assert_eq!(div.div(n), n / d, "{n} / {d}");
            }
            for _ in 0..10_000 {
                let n = next() as u64 as u32;
                assert_eq!(div.div(n), n / d, "{n} / {d}");
            }
        }
    }

    /// kuzet patch 7: `from_bitmap_bytes` is the image `prepare_from_bitmap` builds.
    #[test]
    fn from_bitmap_bytes_equals_prepare_from_bitmap() {
        let (w, h) = (13, 7);
        let bits: Vec<u8> = (0..w * h).map(|i| ((i * 7 + i / 5) % 3 == 0) as u8).collect();
        let a = PreparedImage::from_bitmap_bytes(w, h, bits.clone());
        let b = PreparedImage::prepare_from_bitmap(w, h, |x, y| bits[y * w + x] == 1);
        for y in 0..h {
            for x in 0..w {
                assert_eq!(a.get_pixel_at(x, y), b.get_pixel_at(x, y));
            }
        }
        let r = std::panic::catch_unwind(|| PreparedImage::from_bitmap_bytes(2, 2, vec![0, 1, 2, 0]));
        assert!(r.is_err());
        let r = std::panic::catch_unwind(|| PreparedImage::from_bitmap_bytes(2, 2, vec![0, 1, 0]));
        assert!(r.is_err());
    }

    #[test]
    fn test_flood_fill_full() {
        let mut test_full = img_from_array([[1, 1, 1], [1, 1, 1], [1, 1, 1]]);

        test_full.flood_fill(0, 0, 1, 2, &mut |_| ());

        for x in 0..3 {
            for y in 0..3 {
                assert_eq!(test_full.get_pixel_at(x, y), 2);
            }
        }
    }

    #[test]
    fn test_flood_fill_single() {
        let mut test_single = img_from_array([[1, 0, 1], [0, 1, 0], [1, 0, 1]]);

        test_single.flood_fill(1, 1, 1, 2, &mut |_| ());

        for x in 0..3 {
            for y in 0..3 {
                if x == 1 && y == 1 {
                    assert_eq!(test_single.get_pixel_at(x, y), 2);
                } else {
                    let col = if (x + y) % 2 == 0 { 1 } else { 0 };
                    assert_eq!(test_single.get_pixel_at(x, y), col);
                }
            }
        }
    }

    #[test]
    fn test_flood_fill_ring() {
        let mut test_ring = img_from_array([[1, 1, 1], [1, 0, 1], [1, 1, 1]]);

        test_ring.flood_fill(0, 0, 1, 2, &mut |_| ());

        for x in 0..3 {
            for y in 0..3 {
                if x == 1 && y == 1 {
                    assert_eq!(test_ring.get_pixel_at(x, y), 0);
                } else {
                    assert_eq!(test_ring.get_pixel_at(x, y), 2);
                }
            }
        }
    }

    #[test]
    fn test_flood_fill_u() {
        let mut test_u = img_from_array([[1, 0, 1], [1, 0, 1], [1, 1, 1]]);

        test_u.flood_fill(0, 0, 1, 2, &mut |_| ());

        for x in 0..3 {
            for y in 0..3 {
                if x == 1 && (y == 0 || y == 1) {
                    assert_eq!(test_u.get_pixel_at(x, y), 0);
                } else {
                    assert_eq!(test_u.get_pixel_at(x, y), 2);
                }
            }
        }
    }

    #[test]
    fn test_flood_fill_empty() {
        let mut test_empty = img_from_array([[0, 0, 0], [0, 0, 0], [0, 0, 0]]);

        test_empty.flood_fill(1, 1, 1, 2, &mut |_| ());

        for x in 0..3 {
            for y in 0..3 {
                assert_eq!(test_empty.get_pixel_at(x, y), 0)
            }
        }
    }

    #[test]
    fn test_get_region() {
        let mut test_u = img_from_array([[1, 0, 1], [1, 0, 1], [1, 1, 1]]);

        let reg = test_u.get_region((0, 0));
        let (color, src_x, src_y, pixel_count) = match reg {
            ColoredRegion::Unclaimed {
                color,
                src_x,
                src_y,
                pixel_count,
            } => (color, src_x, src_y, pixel_count),
            x => panic!("Expected Region::Unclaimed, got {:?}", x),
        };
        assert_eq!(0, src_x);
        assert_eq!(0, src_y);
        assert_eq!(7, pixel_count);
        for x in 0..3 {
            for y in 0..3 {
                if x == 1 && (y == 0 || y == 1) {
                    assert_eq!(PixelColor::White, test_u.get_pixel_at(x, y));
                } else {
                    assert_eq!(color, test_u.get_pixel_at(x, y));
                }
            }
        }
    }
}
