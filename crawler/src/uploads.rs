//! Photos uploaded by volunteers enter the crawl the way photo folders do: one `images` row with
//! the photo's hash, position and time under a `photos` source naming the upload, its decoded
//! payloads as `qr_codes`, and every fetchable payload (http(s) URL, Telegram reference) as a
//! frontier entry with that source. The reporter calls this through the binary's wiring; it
//! never writes crawler tables itself.

use kuzet_storage::{Db, StorageError};
use url::Url;

use crate::crawl::payload_leads;
use crate::frontier;
use crate::store::{self, ImageRecord};

/// One uploaded photo and what was read from it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadedPhoto {
    /// Provenance locator of the `photos` source, e.g. `volunteer-report:7`.
    pub locator: String,
    /// Where the evidence copy is stored (as the uploader's side names it).
    pub path: Option<String>,
    /// SHA-256 hex of the file as uploaded.
    pub sha256: String,
    /// Pixel width.
    pub width: Option<i64>,
    /// Pixel height.
    pub height: Option<i64>,
    /// Latitude (EXIF or the district's centre).
    pub gps_lat: Option<f64>,
    /// Longitude.
    pub gps_lon: Option<f64>,
    /// When it was taken, ms since the epoch.
    pub taken_at: Option<i64>,
    /// Decoded payloads (QR text, handles and phones read by OCR).
    pub payloads: Vec<String>,
}

/// What [`ingest`] stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ingested {
    /// The `images` row.
    pub image_id: i64,
    /// The `sources` row.
    pub source_id: i64,
    /// Per payload (same order): the canonical URL handed to the frontier, if the payload is
    /// fetchable. A URL already seen is still named here (the frontier keeps it once).
    pub urls: Vec<Option<String>>,
    /// URLs new to the frontier.
    pub queued: usize,
}

/// Stores the photo as an image with its codes and queues its leads, in one transaction.
pub async fn ingest(
    db: &Db,
    photo: &UploadedPhoto,
    telegram_base: &Url,
) -> Result<Ingested, StorageError> {
    let source = store::source_id(db, "photos", &photo.locator).await?;
    let mut codes = Vec::new();
    let mut links = Vec::new();
    let mut urls = Vec::new();
    for p in &photo.payloads {
        let (c, l) = payload_leads(
            std::slice::from_ref(p),
            telegram_base,
            0,
            Some(source),
            None,
            // A host first seen here starts with no delay; each fetch spaces the next one.
            &|_| 0,
        );
        urls.push(l.first().map(|n| n.url.clone()));
        codes.extend(c);
        links.extend(l);
    }
    let record = ImageRecord {
        path: photo.path.clone(),
        content_hash: photo.sha256.clone(),
        source_id: Some(source),
        width: photo.width,
        height: photo.height,
        gps_lat: photo.gps_lat,
        gps_lon: photo.gps_lon,
        taken_at: photo.taken_at,
        ..ImageRecord::default()
    };
    let mut tx = db.begin_write().await?;
    let image_id = store::save_image(&mut tx, &record, &codes).await?;
    let queued = frontier::enqueue(&mut tx, &links).await?;
    tx.commit().await?;
    Ok(Ingested {
        image_id,
        source_id: source,
        urls,
        queued,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kuzet_storage::testing::TestDb;

    #[tokio::test]
    async fn an_upload_becomes_an_image_with_codes_and_frontier_entries() {
        let t = TestDb::sqlite().await.unwrap();
        let base = Url::parse("http://127.0.0.1:9/s/").unwrap();
        let photo = UploadedPhoto {
            locator: "volunteer-report:1".into(),
            sha256: "ab".repeat(32),
            gps_lat: Some(43.25),
            gps_lon: Some(76.9),
            payloads: vec![
                "http://127.0.0.1:9/Shop".into(),
                "t.me/snowshop".into(),
                "+7 701 000 0000".into(),
            ],
            ..UploadedPhoto::default()
        };
        let got = ingest(&t.db, &photo, &base).await.unwrap();
        assert_eq!(got.queued, 2);
        assert_eq!(got.urls[0].as_deref(), Some("http://127.0.0.1:9/Shop"));
        assert!(got.urls[1].as_deref().unwrap().contains("snowshop"));
        assert_eq!(got.urls[2], None);
        let again = ingest(&t.db, &photo, &base).await.unwrap();
        assert_eq!(again.queued, 0, "the frontier keeps a URL once");
        assert_eq!(again.source_id, got.source_id);
        let n: i64 =
            kuzet_storage::sqlx::query_scalar("SELECT COUNT(*) FROM frontier WHERE source_id = $1")
                .bind(got.source_id)
                .fetch_one(t.db.pool())
                .await
                .unwrap();
        assert_eq!(n, 2);
    }
}
