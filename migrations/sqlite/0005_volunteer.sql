-- reporter: volunteers' photo reports from the field and the graffiti clean-up list.
-- Twin of migrations/postgres/0005_volunteer.sql. The `volunteer` role is already allowed by the
-- CHECK on users.role (0001), so `users` is not rebuilt.

-- one upload: who, when, the note and district the volunteer gave
CREATE TABLE volunteer_reports (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    note        TEXT    NOT NULL DEFAULT '',
    district    TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL
);
CREATE INDEX volunteer_reports_user ON volunteer_reports (user_id, created_at);

-- one photo of a report; duplicates link to the first photo and store no file of their own
CREATE TABLE volunteer_photos (
    id            INTEGER PRIMARY KEY,
    report_id     INTEGER NOT NULL REFERENCES volunteer_reports (id),
    file_name     TEXT    NOT NULL DEFAULT '',
    sha256        TEXT    NOT NULL,              -- SHA-256 hex of the file as uploaded
    bytes         BIGINT  NOT NULL,
    original_path TEXT,                          -- evidence copy, relative to the evidence dir
    view_path     TEXT,                          -- re-encoded PNG without EXIF (what others see)
    width         INTEGER,
    height        INTEGER,
    gps_lat       DOUBLE PRECISION,
    gps_lon       DOUBLE PRECISION,
    taken_at      BIGINT,                        -- EXIF time, ms since the epoch, when present
    phash         TEXT,                          -- perceptual hash (hex) for near-duplicates
    duplicate_of  INTEGER REFERENCES volunteer_photos (id),
    duplicate_kind TEXT CHECK (duplicate_kind IN ('same_file', 'near')),
    status        TEXT    NOT NULL CHECK (status IN ('processed', 'duplicate', 'rejected')),
    outcome       TEXT    NOT NULL DEFAULT '',   -- short words for the volunteer
    error         TEXT,
    image_id      INTEGER,                       -- crawler's images row (provenance of its leads)
    created_at    BIGINT  NOT NULL
);
CREATE INDEX volunteer_photos_report ON volunteer_photos (report_id);
CREATE INDEX volunteer_photos_sha ON volunteer_photos (sha256);

-- what a photo advertises: QR payloads, handles, phones (from QR or OCR)
CREATE TABLE photo_leads (
    id          INTEGER PRIMARY KEY,
    photo_id    INTEGER NOT NULL REFERENCES volunteer_photos (id),
    kind        TEXT    NOT NULL,                -- url, onion, telegram, phone, wallet, email, text, …
    value       TEXT    NOT NULL,
    source      TEXT    NOT NULL CHECK (source IN ('qr', 'ocr')),
    url         TEXT,                            -- canonical URL handed to the crawler, if any
    created_at  BIGINT  NOT NULL
);
CREATE INDEX photo_leads_photo ON photo_leads (photo_id);
CREATE INDEX photo_leads_url ON photo_leads (url);

-- a wall to paint over: reported → scheduled → painted_over
CREATE TABLE cleanup_tasks (
    id             INTEGER PRIMARY KEY,
    photo_id       INTEGER NOT NULL UNIQUE REFERENCES volunteer_photos (id),
    district       TEXT    NOT NULL DEFAULT '',
    gps_lat        DOUBLE PRECISION,
    gps_lon        DOUBLE PRECISION,
    advertises     TEXT    NOT NULL DEFAULT '',
    status         TEXT    NOT NULL CHECK (status IN ('reported', 'scheduled', 'painted_over')),
    after_path     TEXT,                         -- re-encoded "after" photo, relative to the evidence dir
    after_sha256   TEXT,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);
CREATE INDEX cleanup_tasks_district ON cleanup_tasks (district, status);
