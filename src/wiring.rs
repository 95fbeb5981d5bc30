//! Adapters that plug the classifier into the crawler: page scoring (the crawler's own
//! `scoring::ClassifierScorer`, re-exported here, so the crawl benchmark times the same scorer)
//! and QR decoding. The crawler defines the traits.

use kuzet_classifier::qr::{self, QrOptions};
use kuzet_crawler::photos::ImageDecoder;
pub use kuzet_crawler::scoring::ClassifierScorer;
use url::Url;

/// Decodes QR codes in crawled images and photos with kuzet's pipeline.
pub struct QrDecoder {
    opts: QrOptions,
}

impl QrDecoder {
    /// With the given options (limits on bytes and pixels included).
    pub fn new(opts: QrOptions) -> Self {
        Self { opts }
    }
}

impl ImageDecoder for QrDecoder {
    fn decode(&self, image: &[u8]) -> Vec<String> {
        match qr::decode_image(image, &self.opts) {
            Ok(result) => result.codes.into_iter().map(|c| c.text).collect(),
            Err(e) => {
                tracing::debug!(error = %e, "image not decoded");
                Vec::new()
            }
        }
    }
}

/// The crawler's tools for volunteers' photos: EXIF (`crawler::photos::read_exif`), OCR
/// (Tesseract through `crawler::ocr_runner`, when installed) and the crawler's lead intake
/// (`crawler::uploads::ingest`), so the reporter never writes crawler tables itself.
pub struct FieldWiring {
    db: kuzet_storage::Db,
    telegram_base: Url,
    ocr: kuzet_crawler::ocr_runner::OcrRunner,
    ocr_opts: kuzet_classifier::ocr::OcrOptions,
}

impl FieldWiring {
    /// Over `db`, turning Telegram leads into preview pages under `telegram_base`.
    pub fn new(db: kuzet_storage::Db, telegram_base: Url) -> Self {
        Self {
            db,
            telegram_base,
            ocr: kuzet_crawler::ocr_runner::OcrRunner::new(
                kuzet_crawler::ocr_runner::RunnerConfig::default(),
            ),
            ocr_opts: kuzet_classifier::ocr::OcrOptions::default(),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS` with an optional `±HH:MM` or `Z` → ms since the epoch (no offset: UTC).
fn exif_ms(s: &str) -> Option<i64> {
    let base = chrono::NaiveDateTime::parse_from_str(s.get(..19)?, "%Y-%m-%dT%H:%M:%S").ok()?;
    let ms = base.and_utc().timestamp_millis();
    let rest = &s[19..];
    let offset_min = match rest.as_bytes().first() {
        Some(b'+' | b'-') if rest.len() == 6 => {
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (h * 60 + m)
        }
        _ => 0,
    };
    Some(ms - offset_min * 60_000)
}

impl kuzet_reporter::volunteer::FieldTools for FieldWiring {
    fn facts(&self, bytes: &[u8]) -> kuzet_reporter::volunteer::FieldFacts {
        let exif = kuzet_crawler::photos::read_exif(bytes).unwrap_or_default();
        let ocr_text = match self.ocr.available() {
            Ok(_) => self.ocr.plain(bytes, &self.ocr_opts).ok(),
            Err(_) => None,
        };
        kuzet_reporter::volunteer::FieldFacts {
            gps: exif.gps.map(|g| (g.latitude, g.longitude)),
            taken_at: exif
                .gps_time
                .as_deref()
                .and_then(exif_ms)
                .or_else(|| exif.taken_at.as_deref().and_then(exif_ms)),
            ocr_text,
        }
    }

    fn submit(
        &self,
        s: kuzet_reporter::volunteer::Submission,
    ) -> kuzet_reporter::volunteer::BoxFuture<Result<kuzet_reporter::volunteer::Submitted, String>>
    {
        let (db, base) = (self.db.clone(), self.telegram_base.clone());
        Box::pin(async move {
            let photo = kuzet_crawler::uploads::UploadedPhoto {
                locator: s.locator,
                path: s.path,
                sha256: s.sha256,
                width: Some(s.width),
                height: Some(s.height),
                gps_lat: s.gps.map(|g| g.0),
                gps_lon: s.gps.map(|g| g.1),
                taken_at: s.taken_at,
                payloads: s.payloads,
            };
            let got = kuzet_crawler::uploads::ingest(&db, &photo, &base)
                .await
                .map_err(|e| e.to_string())?;
            Ok(kuzet_reporter::volunteer::Submitted {
                image_id: got.image_id,
                urls: got.urls,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn exif_times_with_and_without_offsets() {
        assert_eq!(super::exif_ms("1970-01-01T00:01:00"), Some(60_000));
        assert_eq!(super::exif_ms("1970-01-01T06:00:00+06:00"), Some(0));
        assert_eq!(super::exif_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(super::exif_ms("garbage"), None);
    }
}
