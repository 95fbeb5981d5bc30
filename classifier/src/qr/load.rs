//! Image loading: format sniffing by content, size limits checked from the header before any
//! pixel is decoded, EXIF orientation, conversion to 8-bit grayscale.

use std::io::Cursor;

use image::{GrayImage, ImageDecoder, ImageFormat, ImageReader};

use super::QrError;

/// Limits on one input image, checked before decoding (decompression bombs).
///
/// Every breach is a distinct [`QrError`]. Memory while decoding is bounded by roughly
/// `max_pixels × 4` bytes (the decoded colour image) plus `max_pixels` bytes (grayscale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file size in bytes. Default 32 MiB.
    pub max_bytes: usize,
    /// Largest accepted width in pixels. Default 16,384.
    pub max_width: u32,
    /// Largest accepted height in pixels. Default 16,384.
    pub max_height: u32,
    /// Largest accepted `width × height`. Default 50,000,000 (a 48-megapixel phone photo).
    pub max_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 32 << 20,
            max_width: 16_384,
            max_height: 16_384,
            max_pixels: 50_000_000,
        }
    }
}

/// Formats accepted as input; anything else is [`QrError::UnsupportedFormat`].
const ACCEPTED: [ImageFormat; 5] = [
    ImageFormat::Png,
    ImageFormat::Jpeg,
    ImageFormat::Gif,
    ImageFormat::WebP,
    ImageFormat::Bmp,
];

/// Sniffs the format from the first bytes (never from a file name).
pub fn sniff(bytes: &[u8]) -> Result<ImageFormat, QrError> {
    match image::guess_format(bytes) {
        Ok(f) if ACCEPTED.contains(&f) => Ok(f),
        Ok(f) => Err(QrError::UnsupportedFormat(format!("{f:?}"))),
        Err(_) => Err(QrError::UnsupportedFormat(
            "unknown (not PNG, JPEG, GIF, WebP or BMP)".into(),
        )),
    }
}

/// Decodes `bytes` into an upright 8-bit grayscale image, enforcing `limits`.
pub fn load_gray(bytes: &[u8], limits: &Limits) -> Result<GrayImage, QrError> {
    let (img, orientation) = decode(bytes, limits)?;
    // Gray first, then upright: the rotation moves a third (or a quarter) of the bytes.
    Ok(upright(to_gray(img), orientation))
}

/// As [`load_gray`], and for a colour image also its darkest channel (each pixel's least of
/// red, green and blue): red or blue ink on a grey wall is far darker there than in the
/// brightness, where it can all but vanish. `None` when the image has (next to) no colour.
pub fn load_gray_and_darkest(
    bytes: &[u8],
    limits: &Limits,
) -> Result<(GrayImage, Option<GrayImage>), QrError> {
    let (img, orientation) = decode(bytes, limits)?;
    let darkest = darkest_channel(&img).map(|d| upright(d, orientation));
    Ok((upright(to_gray(img), orientation), darkest))
}

/// Pixels whose channels differ by at least this much are coloured.
const COLOURED_SPREAD: u8 = 48;

/// Each pixel's least channel, or `None` when fewer than one pixel in a thousand is coloured
/// ([`COLOURED_SPREAD`]): the brightness then says it all.
fn darkest_channel(img: &image::DynamicImage) -> Option<GrayImage> {
    fn least<const N: usize>(w: u32, h: u32, raw: &[u8]) -> Option<GrayImage> {
        let mut coloured = 0usize;
        let px: Vec<u8> = raw
            .chunks_exact(N)
            .map(|p| {
                let (lo, hi) = (p[0].min(p[1]).min(p[2]), p[0].max(p[1]).max(p[2]));
                coloured += usize::from(hi - lo >= COLOURED_SPREAD);
                lo
            })
            .collect();
        if coloured * 1000 < px.len() {
            return None;
        }
        GrayImage::from_raw(w, h, px)
    }
    let (w, h) = (img.width(), img.height());
    match img {
        image::DynamicImage::ImageLuma8(_)
        | image::DynamicImage::ImageLumaA8(_)
        | image::DynamicImage::ImageLuma16(_)
        | image::DynamicImage::ImageLumaA16(_) => None,
        image::DynamicImage::ImageRgb8(rgb) => least::<3>(w, h, rgb.as_raw()),
        image::DynamicImage::ImageRgba8(rgba) => least::<4>(w, h, rgba.as_raw()),
        other => least::<3>(w, h, other.to_rgb8().as_raw()),
    }
}

fn upright(gray: GrayImage, orientation: image::metadata::Orientation) -> GrayImage {
    let mut gray = image::DynamicImage::ImageLuma8(gray);
    gray.apply_orientation(orientation);
    gray.into_luma8()
}

/// Decodes within `limits`: the image as stored, and the EXIF orientation that makes it
/// upright.
fn decode(
    bytes: &[u8],
    limits: &Limits,
) -> Result<(image::DynamicImage, image::metadata::Orientation), QrError> {
    if bytes.len() > limits.max_bytes {
        return Err(QrError::TooManyBytes {
            len: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let format = sniff(bytes)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    // Read the header without `image`'s limits so our own check names the breach precisely...
    reader.no_limits();
    let mut decoder = reader.into_decoder().map_err(|e| header_error(e, limits))?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, limits)?;
    // ...then bound the decoder's allocations: decoded RGBA plus scratch.
    let mut lim = image::Limits::default();
    lim.max_image_width = Some(limits.max_width);
    lim.max_image_height = Some(limits.max_height);
    lim.max_alloc = Some(limits.max_pixels.saturating_mul(4).saturating_add(64 << 20));
    decoder
        .set_limits(lim)
        .map_err(|e| header_error(e, limits))?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let img = image::DynamicImage::from_decoder(decoder).map_err(|e| header_error(e, limits))?;
    Ok((img, orientation))
}

/// `img` as 8-bit gray with the sRGB luma weights `image` uses (0.2126, 0.7152, 0.0722; alpha
/// ignored, as `image` ignores it), in integer arithmetic for the common 8-bit RGB and RGBA
/// layouts (`image` converts through `f32`, 5 % of the QR pipeline's time); other layouts
/// through `image`.
fn to_gray(img: image::DynamicImage) -> GrayImage {
    fn luma<const N: usize>(w: u32, h: u32, raw: &[u8]) -> GrayImage {
        let px = raw
            .chunks_exact(N)
            .map(|p| {
                let l = 2126 * u32::from(p[0]) + 7152 * u32::from(p[1]) + 722 * u32::from(p[2]);
                ((l + 5000) / 10000) as u8
            })
            .collect();
        GrayImage::from_raw(w, h, px).unwrap_or_else(|| GrayImage::new(w, h))
    }
    let (w, h) = (img.width(), img.height());
    match img {
        image::DynamicImage::ImageLuma8(g) => g,
        image::DynamicImage::ImageRgb8(rgb) => luma::<3>(w, h, rgb.as_raw()),
        image::DynamicImage::ImageRgba8(rgba) => luma::<4>(w, h, rgba.as_raw()),
        other => other.into_luma8(),
    }
}

/// Checks header dimensions against the limits.
pub fn check_dimensions(width: u32, height: u32, limits: &Limits) -> Result<(), QrError> {
    if width == 0 || height == 0 {
        return Err(QrError::Decode(format!(
            "image has no pixels ({width}×{height})"
        )));
    }
    if width > limits.max_width {
        return Err(QrError::TooWide {
            width,
            max: limits.max_width,
        });
    }
    if height > limits.max_height {
        return Err(QrError::TooHigh {
            height,
            max: limits.max_height,
        });
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(QrError::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    Ok(())
}

/// Maps `image`'s errors to ours, turning its dimension-limit errors into our limit errors.
fn header_error(e: image::ImageError, limits: &Limits) -> QrError {
    match e {
        image::ImageError::Limits(l) => QrError::LimitExceeded(format!(
            "{l} (limits: {}×{} px, {} px total)",
            limits.max_width, limits.max_height, limits.max_pixels
        )),
        other => QrError::Decode(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn darkest_channel_only_for_colour_images() {
        // Grey with a red patch of 1 % of the pixels: each pixel's least channel.
        let rgb = image::RgbImage::from_fn(100, 100, |x, y| {
            if x < 10 && y < 10 {
                image::Rgb([200, 40, 60])
            } else {
                image::Rgb([128, 130, 127])
            }
        });
        let png = |img: image::DynamicImage| {
            let mut bytes = Vec::new();
            img.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
                .expect("png");
            bytes
        };
        let bytes = png(image::DynamicImage::ImageRgb8(rgb.clone()));
        let (gray, darkest) = load_gray_and_darkest(&bytes, &Limits::default()).expect("load");
        let darkest = darkest.expect("a colour image has a darkest channel");
        assert_eq!(darkest.get_pixel(5, 5).0[0], 40);
        assert_eq!(darkest.get_pixel(50, 50).0[0], 127);
        assert_eq!(gray, load_gray(&bytes, &Limits::default()).expect("gray"));
        // No pixel coloured: the brightness says it all.
        let grey = image::DynamicImage::ImageRgb8(rgb).to_luma8();
        let bytes = png(image::DynamicImage::ImageLuma8(grey));
        let (_, darkest) = load_gray_and_darkest(&bytes, &Limits::default()).expect("load");
        assert!(darkest.is_none());
    }

    /// The integer conversion gives `image`'s gray levels: equal on grays, within one level
    /// (where `image`'s `f32` path rounds a tie the other way) anywhere else.
    #[test]
    fn to_gray_matches_image_within_one_level() {
        let (w, h) = (97u32, 61u32);
        let rgb = image::RgbImage::from_fn(w, h, |x, y| {
            let v = x * 131 + y * 71 + x * y * 13;
            image::Rgb([(v % 256) as u8, (v / 7 % 256) as u8, (v / 3 % 256) as u8])
        });
        let rgba = image::RgbaImage::from_fn(w, h, |x, y| {
            let p = rgb.get_pixel(x, y).0;
            image::Rgba([p[0], p[1], p[2], (x * 5 % 256) as u8])
        });
        for img in [
            image::DynamicImage::ImageRgb8(rgb),
            image::DynamicImage::ImageRgba8(rgba),
        ] {
            let want = img.to_luma8();
            let got = to_gray(img);
            assert_eq!(got.dimensions(), want.dimensions());
            for (a, b) in got.as_raw().iter().zip(want.as_raw()) {
                assert!(a.abs_diff(*b) <= 1, "{a} vs {b}");
            }
        }
        let grays = image::RgbImage::from_fn(1, 256, |_, y| image::Rgb([y as u8; 3]));
        let want = image::DynamicImage::ImageRgb8(grays.clone()).to_luma8();
        assert_eq!(to_gray(image::DynamicImage::ImageRgb8(grays)), want);
    }
}
