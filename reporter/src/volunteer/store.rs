//! The volunteer tables: reports, photos, photo leads and clean-up tasks (written only here).

use kuzet_storage::{Db, now_ms};
use serde::Serialize;
use sqlx::Row;

use super::{PhotoLead, PhotoResult};
use crate::ReporterError;
use crate::audit;

/// A report (one upload) as created.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Row id.
    pub id: i64,
    /// The district picked, and its centre (used when a photo has no EXIF position).
    pub district: String,
    /// The district's centre.
    pub district_point: Option<(f64, f64)>,
}

/// Creates a report for `user`.
pub async fn create_report(
    db: &Db,
    user: i64,
    note: &str,
    district: &str,
    district_point: Option<(f64, f64)>,
) -> Result<Report, ReporterError> {
    let note: String = note.chars().take(2000).collect();
    let district: String = district.chars().take(100).collect();
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO volunteer_reports (user_id, note, district, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(user)
    .bind(&note)
    .bind(&district)
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Report {
        id,
        district,
        district_point,
    })
}

/// A photo row to insert.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewPhoto {
    /// Report.
    pub report_id: i64,
    /// Name the phone sent.
    pub file_name: String,
    /// SHA-256 of the upload.
    pub sha256: String,
    /// Size.
    pub bytes: u64,
    /// Evidence copy (relative).
    pub original_path: Option<String>,
    /// Re-encoded copy (relative).
    pub view_path: Option<String>,
    /// Pixels.
    pub width: Option<i64>,
    /// Pixels.
    pub height: Option<i64>,
    /// Position.
    pub gps: Option<(f64, f64)>,
    /// Time taken.
    pub taken_at: Option<i64>,
    /// Perceptual hash.
    pub phash: Option<String>,
    /// First photo this duplicates.
    pub duplicate_of: Option<i64>,
    /// `same_file` or `near`.
    pub duplicate_kind: Option<&'static str>,
    /// `processed`, `duplicate` or `rejected`.
    pub status: &'static str,
    /// Short words for the volunteer.
    pub outcome: String,
    /// Why it was refused.
    pub error: Option<String>,
}

/// The first stored (not duplicate, not refused) photo with this file hash.
pub async fn same_file(db: &Db, sha: &str) -> Result<Option<i64>, ReporterError> {
    Ok(sqlx::query_scalar(
        "SELECT MIN(id) FROM volunteer_photos WHERE sha256 = $1 AND status = 'processed'",
    )
    .bind(sha)
    .fetch_one(db.pool())
    .await?)
}

/// The oldest of the `scan` most recent stored photos within `max_distance` bits of `phash`.
pub async fn near_duplicate(
    db: &Db,
    phash: &str,
    max_distance: u32,
    scan: i64,
) -> Result<Option<i64>, ReporterError> {
    let rows = sqlx::query(
        "SELECT id, phash FROM volunteer_photos WHERE status = 'processed' AND phash IS NOT NULL \
         ORDER BY id DESC LIMIT $1",
    )
    .bind(scan)
    .fetch_all(db.pool())
    .await?;
    let mut best = None;
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let h: String = r.try_get("phash")?;
        if super::process::hash_distance(phash, &h).is_some_and(|d| d <= max_distance) {
            best = Some(id);
        }
    }
    Ok(best)
}

/// Inserts a photo with its leads and (when `task` names what it advertises) a clean-up task,
/// and appends the `volunteer.upload` audit entry with the file hash — in one transaction.
pub async fn record(
    db: &Db,
    actor: &str,
    p: NewPhoto,
    leads: &[PhotoLead],
    task: Option<String>,
) -> Result<PhotoResult, ReporterError> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO volunteer_photos (report_id, file_name, sha256, bytes, original_path, \
         view_path, width, height, gps_lat, gps_lon, taken_at, phash, duplicate_of, \
         duplicate_kind, status, outcome, error, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
         RETURNING id",
    )
    .bind(p.report_id)
    .bind(&p.file_name)
    .bind(&p.sha256)
    .bind(i64::try_from(p.bytes).unwrap_or(i64::MAX))
    .bind(p.original_path.as_deref())
    .bind(p.view_path.as_deref())
    .bind(p.width)
    .bind(p.height)
    .bind(p.gps.map(|g| g.0))
    .bind(p.gps.map(|g| g.1))
    .bind(p.taken_at)
    .bind(p.phash.as_deref())
    .bind(p.duplicate_of)
    .bind(p.duplicate_kind)
    .bind(p.status)
    .bind(&p.outcome)
    .bind(p.error.as_deref())
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    for l in leads {
        sqlx::query(
            "INSERT INTO photo_leads (photo_id, kind, value, source, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&l.kind)
        .bind(&l.value)
        .bind(l.source)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(advertises) = &task {
        let district: String =
            sqlx::query_scalar("SELECT district FROM volunteer_reports WHERE id = $1")
                .bind(p.report_id)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO cleanup_tasks (photo_id, district, gps_lat, gps_lon, advertises, status, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'reported', $6, $6)",
        )
        .bind(id)
        .bind(&district)
        .bind(p.gps.map(|g| g.0))
        .bind(p.gps.map(|g| g.1))
        .bind(advertises.chars().take(2000).collect::<String>())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    audit::record_in(
        &mut tx,
        actor,
        "volunteer.upload",
        &format!("photo:{id}"),
        &serde_json::json!({
            "report": p.report_id,
            "sha256": p.sha256,
            "bytes": p.bytes,
            "status": p.status,
            "duplicate_of": p.duplicate_of,
            "leads": leads.len(),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(PhotoResult {
        id: Some(id),
        file_name: p.file_name,
        status: p.status.to_string(),
        outcome: p.outcome,
        leads: leads.len(),
    })
}

/// Records which crawler image a photo became and the URL queued for each payload.
pub async fn set_submitted(
    db: &Db,
    photo: i64,
    image_id: i64,
    urls: &[(String, Option<String>)],
) -> Result<(), ReporterError> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE volunteer_photos SET image_id = $1 WHERE id = $2")
        .bind(image_id)
        .bind(photo)
        .execute(&mut *tx)
        .await?;
    for (payload, url) in urls {
        let Some(url) = url else { continue };
        // OCR handles are handed over as `@name`; QR payloads as read.
        sqlx::query(
            "UPDATE photo_leads SET url = $1 WHERE photo_id = $2 AND url IS NULL \
             AND (value = $3 OR '@' || value = $3)",
        )
        .bind(url)
        .bind(photo)
        .bind(payload)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One photo in "my reports".
#[derive(Debug, Clone, Serialize)]
pub struct MyPhoto {
    /// Row id.
    pub id: i64,
    /// File name.
    pub file_name: String,
    /// Status.
    pub status: String,
    /// The short outcome, updated with what happened since (case under review, painted over).
    pub outcome: String,
    /// Whether a re-encoded copy can be shown.
    pub has_view: bool,
}

/// One report in "my reports".
#[derive(Debug, Clone, Serialize)]
pub struct MyReport {
    /// Row id.
    pub id: i64,
    /// When.
    pub created_at: i64,
    /// District.
    pub district: String,
    /// Note.
    pub note: String,
    /// Photos.
    pub photos: Vec<MyPhoto>,
}

/// The newest `limit` reports of `user` with short, current outcomes (no case details).
pub async fn my_reports(db: &Db, user: i64, limit: i64) -> Result<Vec<MyReport>, ReporterError> {
    let reports = sqlx::query(
        "SELECT id, created_at, district, note FROM volunteer_reports WHERE user_id = $1 \
         ORDER BY id DESC LIMIT $2",
    )
    .bind(user)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::new();
    for r in reports {
        let id: i64 = r.try_get("id")?;
        let rows = sqlx::query(
            "SELECT p.id, p.file_name, p.status, p.outcome, p.view_path, \
             (SELECT t.status FROM cleanup_tasks t WHERE t.photo_id = p.id) AS task, \
             (SELECT COUNT(*) FROM photo_leads l JOIN pages g ON g.url = l.url \
              JOIN case_pages cp ON cp.page_id = g.id WHERE l.photo_id = p.id) AS in_case \
             FROM volunteer_photos p WHERE p.report_id = $1 ORDER BY p.id",
        )
        .bind(id)
        .fetch_all(db.pool())
        .await?;
        let mut photos = Vec::new();
        for p in rows {
            let task: Option<String> = p.try_get("task")?;
            let in_case: i64 = p.try_get("in_case")?;
            let mut outcome: String = p.try_get("outcome")?;
            if in_case > 0 {
                outcome = "read, led to a case under review".to_string();
            }
            if task.as_deref() == Some("painted_over") {
                outcome.push_str("; painted over");
            } else if task.as_deref() == Some("scheduled") {
                outcome.push_str("; clean-up scheduled");
            }
            photos.push(MyPhoto {
                id: p.try_get("id")?,
                file_name: p.try_get("file_name")?,
                status: p.try_get("status")?,
                outcome,
                has_view: p.try_get::<Option<String>, _>("view_path")?.is_some(),
            });
        }
        out.push(MyReport {
            id,
            created_at: r.try_get("created_at")?,
            district: r.try_get("district")?,
            note: r.try_get("note")?,
            photos,
        });
    }
    Ok(out)
}

/// Where a photo's re-encoded copy is and who uploaded it (for access checks).
pub async fn photo_view(db: &Db, photo: i64) -> Result<Option<(String, i64)>, ReporterError> {
    let row = sqlx::query(
        "SELECT COALESCE(p.view_path, f.view_path) AS view_path, r.user_id \
         FROM volunteer_photos p JOIN volunteer_reports r ON r.id = p.report_id \
         LEFT JOIN volunteer_photos f ON f.id = p.duplicate_of WHERE p.id = $1",
    )
    .bind(photo)
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let path: Option<String> = r.try_get("view_path")?;
    Ok(path.map(|p| (p, r.try_get("user_id").unwrap_or(0))))
}

/// A photo lead behind a page of a case: the photo, the place and the time.
#[derive(Debug, Clone, Serialize)]
pub struct CasePhotoLead {
    /// The photo (its re-encoded copy is at `/volunteer/photos/{id}/image`).
    pub photo_id: i64,
    /// Lead kind.
    pub kind: String,
    /// What was read.
    pub value: String,
    /// The page it led to.
    pub url: String,
    /// District.
    pub district: String,
    /// Position.
    pub gps: Option<(f64, f64)>,
    /// When taken (EXIF) or uploaded.
    pub at: i64,
    /// The volunteer's name: only filled for admins.
    pub volunteer: Option<String>,
}

/// Photo leads that led to pages of case `case`; the volunteer is named only when `admin`.
pub async fn case_photo_leads(
    db: &Db,
    case: i64,
    admin: bool,
) -> Result<Vec<CasePhotoLead>, ReporterError> {
    let rows = sqlx::query(
        "SELECT p.id, l.kind, l.value, l.url, r.district, p.gps_lat, p.gps_lon, \
         COALESCE(p.taken_at, p.created_at) AS at, u.name \
         FROM case_pages cp JOIN pages g ON g.id = cp.page_id \
         JOIN photo_leads l ON l.url = g.url \
         JOIN volunteer_photos p ON p.id = l.photo_id \
         JOIN volunteer_reports r ON r.id = p.report_id JOIN users u ON u.id = r.user_id \
         WHERE cp.case_id = $1 ORDER BY p.id LIMIT 200",
    )
    .bind(case)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let lat: Option<f64> = r.try_get("gps_lat")?;
            let lon: Option<f64> = r.try_get("gps_lon")?;
            Ok(CasePhotoLead {
                photo_id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                value: r.try_get("value")?,
                url: r.try_get("url")?,
                district: r.try_get("district")?,
                gps: lat.zip(lon),
                at: r.try_get("at")?,
                volunteer: if admin {
                    Some(r.try_get("name")?)
                } else {
                    None
                },
            })
        })
        .collect()
}

/// Clean-up task statuses, in order.
pub const TASK_STATUSES: [&str; 3] = ["reported", "scheduled", "painted_over"];

/// A wall on the clean-up list.
#[derive(Debug, Clone, Serialize)]
pub struct Task {
    /// Row id.
    pub id: i64,
    /// The photo.
    pub photo_id: i64,
    /// District.
    pub district: String,
    /// Position.
    pub gps: Option<(f64, f64)>,
    /// What it advertises.
    pub advertises: String,
    /// Status.
    pub status: String,
    /// Whether an "after" photo exists.
    pub has_after: bool,
    /// Reported at.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// Tasks, optionally of one district and/or status, by district then age (oldest first).
pub async fn tasks(
    db: &Db,
    district: Option<&str>,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<Task>, ReporterError> {
    let rows = sqlx::query(
        "SELECT id, photo_id, district, gps_lat, gps_lon, advertises, status, after_path, \
         created_at, updated_at FROM cleanup_tasks \
         WHERE ($1 = '' OR district = $1) AND ($2 = '' OR status = $2) \
         ORDER BY district, created_at LIMIT $3",
    )
    .bind(district.unwrap_or(""))
    .bind(status.unwrap_or(""))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let lat: Option<f64> = r.try_get("gps_lat")?;
            let lon: Option<f64> = r.try_get("gps_lon")?;
            Ok(Task {
                id: r.try_get("id")?,
                photo_id: r.try_get("photo_id")?,
                district: r.try_get("district")?,
                gps: lat.zip(lon),
                advertises: r.try_get("advertises")?,
                status: r.try_get("status")?,
                has_after: r.try_get::<Option<String>, _>("after_path")?.is_some(),
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect()
}

/// Moves a task to `status` (any of [`TASK_STATUSES`]), audited as `cleanup.status`.
pub async fn set_task_status(
    db: &Db,
    actor: &str,
    task: i64,
    status: &str,
) -> Result<(), ReporterError> {
    if !TASK_STATUSES.contains(&status) {
        return Err(ReporterError::Invalid(format!(
            "unknown clean-up status {status:?}: expected reported, scheduled or painted_over"
        )));
    }
    let mut tx = db.begin_write().await?;
    let from: Option<String> = sqlx::query_scalar("SELECT status FROM cleanup_tasks WHERE id = $1")
        .bind(task)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(from) = from else {
        return Err(ReporterError::NotFound {
            what: "clean-up task",
            id: task,
        });
    };
    sqlx::query("UPDATE cleanup_tasks SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status)
        .bind(now_ms())
        .bind(task)
        .execute(&mut *tx)
        .await?;
    audit::record_in(
        &mut tx,
        actor,
        "cleanup.status",
        &format!("cleanup:{task}"),
        &serde_json::json!({ "from": from, "to": status }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Attaches an "after" photo (re-encoded copy at `path`, original hash `sha`), audited.
pub async fn set_task_after(
    db: &Db,
    actor: &str,
    task: i64,
    path: &str,
    sha: &str,
) -> Result<(), ReporterError> {
    let mut tx = db.begin_write().await?;
    let n = sqlx::query(
        "UPDATE cleanup_tasks SET after_path = $1, after_sha256 = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(path)
    .bind(sha)
    .bind(now_ms())
    .bind(task)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(ReporterError::NotFound {
            what: "clean-up task",
            id: task,
        });
    }
    audit::record_in(
        &mut tx,
        actor,
        "cleanup.after_photo",
        &format!("cleanup:{task}"),
        &serde_json::json!({ "sha256": sha }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The "after" photo's path of a task.
pub async fn task_after(db: &Db, task: i64) -> Result<Option<String>, ReporterError> {
    Ok(
        sqlx::query_scalar("SELECT after_path FROM cleanup_tasks WHERE id = $1")
            .bind(task)
            .fetch_optional(db.pool())
            .await?
            .flatten(),
    )
}

/// Photo and clean-up figures for a period (`from..to`, ms) or for all time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Photos received (every upload, duplicates and refusals included).
    pub photos_received: i64,
    /// QR codes read from photos.
    pub codes_read: i64,
    /// Pages reached through photo leads that are in a case.
    pub shops_found: i64,
    /// Clean-up tasks painted over (by their last change).
    pub walls_cleaned: i64,
}

/// [`Figures`] for `from <= time < to`.
pub async fn figures(db: &Db, from: i64, to: i64) -> Result<Figures, ReporterError> {
    let one = |sql: &'static str| {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(from)
            .bind(to)
            .fetch_one(db.pool())
    };
    Ok(Figures {
        photos_received: one(
            "SELECT COUNT(*) FROM volunteer_photos WHERE created_at >= $1 AND created_at < $2",
        )
        .await?,
        codes_read: one("SELECT COUNT(*) FROM photo_leads WHERE source = 'qr' \
             AND created_at >= $1 AND created_at < $2")
        .await?,
        shops_found: one(
            "SELECT COUNT(DISTINCT g.id) FROM photo_leads l JOIN pages g ON g.url = l.url \
             JOIN case_pages cp ON cp.page_id = g.id \
             WHERE l.created_at >= $1 AND l.created_at < $2",
        )
        .await?,
        walls_cleaned: one(
            "SELECT COUNT(*) FROM cleanup_tasks WHERE status = 'painted_over' \
             AND updated_at >= $1 AND updated_at < $2",
        )
        .await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::{self, Role};
    use kuzet_storage::testing::TestDb;

    #[tokio::test]
    async fn figures_count_photos_codes_and_cleaned_walls_and_status_changes_are_audited() {
        // SQLite, and PostgreSQL when KUZET_TEST_DATABASE_URL names one.
        for t in TestDb::all().await.unwrap() {
            figures_on(&t).await;
            t.cleanup().await.unwrap();
        }
    }

    async fn figures_on(t: &TestDb) {
        let u = users::add(
            &t.db,
            "test",
            "vera",
            Role::Volunteer,
            "long-enough-password",
        )
        .await
        .unwrap();
        let r = create_report(&t.db, u.id, "", "Medeu", Some((43.25, 76.99)))
            .await
            .unwrap();
        let lead = PhotoLead {
            kind: "url".into(),
            value: "http://127.0.0.1:9/".into(),
            source: "qr",
            payload: Some("http://127.0.0.1:9/".into()),
        };
        let p = NewPhoto {
            report_id: r.id,
            sha256: "a".repeat(64),
            status: "processed",
            gps: Some((43.25, 76.99)),
            ..NewPhoto::default()
        };
        let got = record(&t.db, "vera", p.clone(), &[lead], Some("QR".into()))
            .await
            .unwrap();
        let dup = NewPhoto {
            status: "duplicate",
            duplicate_of: got.id,
            ..p
        };
        record(&t.db, "vera", dup, &[], None).await.unwrap();
        let list = tasks(&t.db, Some("Medeu"), None, 10).await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].status, "reported");
        assert!(
            set_task_status(&t.db, "ana", list[0].id, "gone")
                .await
                .is_err()
        );
        set_task_status(&t.db, "ana", list[0].id, "painted_over")
            .await
            .unwrap();
        let f = figures(&t.db, 0, i64::MAX).await.unwrap();
        assert_eq!(
            f,
            Figures {
                photos_received: 2,
                codes_read: 1,
                shops_found: 0,
                walls_cleaned: 1
            }
        );
        assert_eq!(figures(&t.db, 0, 1).await.unwrap(), Figures::default());
        let audit = crate::audit::recent(&t.db, 10).await.unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.action == "cleanup.status" && e.detail_json.contains("painted_over"))
        );
        let mine = my_reports(&t.db, u.id, 10).await.unwrap();
        assert!(
            mine[0].photos[0].outcome.ends_with("painted over"),
            "{mine:?}"
        );
    }
}
