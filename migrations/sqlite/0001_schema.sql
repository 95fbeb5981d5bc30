-- kuzet schema, SQLite dialect. The PostgreSQL twin is migrations/postgres/0001_schema.sql:
-- same tables, same columns, same constraints; only the types of keys and blobs differ.
-- Times are BIGINT milliseconds since the Unix epoch (UTC) in both dialects.
-- Ownership (the only crate that writes each table) is noted per table; see ARCHITECTURE.md.

-- reporter: users and roles
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'analyst', 'liaison', 'volunteer')),
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL
);

-- reporter: web sessions (token stored only as a SHA-256 hash)
CREATE TABLE sessions (
    token_hash  TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);

-- crawler: where crawls start
CREATE TABLE sources (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('web', 'telegram', 'onion', 'photos')),
    locator     TEXT    NOT NULL,
    grp         TEXT    NOT NULL DEFAULT 'default',
    created_at  BIGINT  NOT NULL,
    UNIQUE (kind, locator)
);

-- crawler: one row per `kuzet crawl` run (per worker)
CREATE TABLE crawl_runs (
    id          INTEGER PRIMARY KEY,
    worker      TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
    started_at  BIGINT  NOT NULL,
    finished_at BIGINT,
    config_json TEXT    NOT NULL DEFAULT '{}',
    stats_json  TEXT    NOT NULL DEFAULT '{}'
);

-- crawler: per-host politeness state, leased by workers (politeness lives in the database)
CREATE TABLE hosts (
    id               INTEGER PRIMARY KEY,
    host             TEXT    NOT NULL UNIQUE,   -- scheme://host:port
    next_allowed_at  BIGINT  NOT NULL DEFAULT 0,
    crawl_delay_ms   BIGINT  NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    robots_txt       TEXT,
    robots_status    INTEGER,
    robots_fetched_at BIGINT,
    pages_fetched    BIGINT  NOT NULL DEFAULT 0
);

-- crawler: every URL ever discovered (the seen set), keyed by SHA-256 of the canonical URL
CREATE TABLE seen_urls (
    url_hash      TEXT    PRIMARY KEY,
    url           TEXT    NOT NULL,
    first_seen_at BIGINT  NOT NULL
);

-- crawler: the hot queue, kept narrow; a row leaves the queue when its fetch is committed
CREATE TABLE frontier (
    id               INTEGER PRIMARY KEY,
    url_hash         TEXT    NOT NULL UNIQUE REFERENCES seen_urls (url_hash),
    url              TEXT    NOT NULL,
    host_id          INTEGER NOT NULL REFERENCES hosts (id),
    source_id        INTEGER REFERENCES sources (id),
    parent_page_id   INTEGER,
    depth            INTEGER NOT NULL DEFAULT 0,
    priority         DOUBLE PRECISION NOT NULL DEFAULT 0,
    kind             TEXT    NOT NULL DEFAULT 'page' CHECK (kind IN ('page', 'image', 'telegram', 'robots')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_try_at      BIGINT  NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at BIGINT
);
CREATE INDEX frontier_claim ON frontier (host_id, priority DESC, next_try_at);
CREATE INDEX frontier_lease ON frontier (lease_expires_at);

-- crawler: one row per fetch attempt (what was fetched, by whom, how it ended)
CREATE TABLE fetch_log (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER REFERENCES crawl_runs (id),
    worker      TEXT    NOT NULL,
    url_hash    TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    fetched_at  BIGINT  NOT NULL,
    status      INTEGER,
    error_kind  TEXT,
    error       TEXT,
    refetch     INTEGER NOT NULL DEFAULT 0   -- 1 when the URL was fetched again after an expired lease
);
CREATE INDEX fetch_log_url ON fetch_log (url_hash);
CREATE INDEX fetch_log_run ON fetch_log (run_id);

-- crawler: fetched pages and their evidence
CREATE TABLE pages (
    id            INTEGER PRIMARY KEY,
    url           TEXT    NOT NULL,
    url_hash      TEXT    NOT NULL UNIQUE,
    final_url     TEXT    NOT NULL,
    host          TEXT    NOT NULL,
    source_id     INTEGER REFERENCES sources (id),
    run_id        INTEGER REFERENCES crawl_runs (id),
    depth         INTEGER NOT NULL DEFAULT 0,
    status        INTEGER NOT NULL,
    content_type  TEXT,
    encoding      TEXT,
    fetched_at    BIGINT  NOT NULL,
    content_hash  TEXT    NOT NULL,          -- SHA-256 hex of the body as received
    body_bytes    BIGINT  NOT NULL,
    title         TEXT,
    text          TEXT,                      -- extracted visible text, shown escaped in the UI
    warc_file     TEXT,
    warc_offset   BIGINT,
    warc_length   BIGINT,
    warc_record_id TEXT,
    warc_digest   TEXT
);
CREATE INDEX pages_content_hash ON pages (content_hash);
CREATE INDEX pages_host ON pages (host);

-- crawler: images from pages, Telegram posts and photo folders
CREATE TABLE images (
    id            INTEGER PRIMARY KEY,
    url           TEXT,                      -- NULL for local photos
    path          TEXT,                      -- local photo path, NULL for fetched images
    content_hash  TEXT    NOT NULL,
    page_id       INTEGER REFERENCES pages (id),
    source_id     INTEGER REFERENCES sources (id),
    fetched_at    BIGINT  NOT NULL,
    width         INTEGER,
    height        INTEGER,
    gps_lat       DOUBLE PRECISION,
    gps_lon       DOUBLE PRECISION,
    taken_at      BIGINT,
    error_kind    TEXT,
    error         TEXT
);
CREATE INDEX images_content_hash ON images (content_hash);
CREATE INDEX images_page ON images (page_id);

-- crawler: QR codes decoded from images
CREATE TABLE qr_codes (
    id        INTEGER PRIMARY KEY,
    image_id  INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    text      TEXT    NOT NULL,
    lead_kind TEXT    NOT NULL,
    attempt   TEXT
);
CREATE INDEX qr_codes_image ON qr_codes (image_id);

-- crawler: classifier verdicts (a page may be re-scored; the newest row counts)
CREATE TABLE verdicts (
    id            INTEGER PRIMARY KEY,
    page_id       INTEGER REFERENCES pages (id) ON DELETE CASCADE,
    image_id      INTEGER REFERENCES images (id) ON DELETE CASCADE,
    score         DOUBLE PRECISION NOT NULL,
    verdict       TEXT    NOT NULL CHECK (verdict IN ('shop', 'suspicious', 'clean')),
    reasons_json  TEXT    NOT NULL,
    rules_version TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);
CREATE INDEX verdicts_page ON verdicts (page_id);
CREATE INDEX verdicts_image ON verdicts (image_id);

-- crawler: indicators (normalised values) and where they were seen
CREATE TABLE indicators (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    first_seen_at BIGINT  NOT NULL,
    UNIQUE (kind, value)
);
CREATE TABLE page_indicators (
    page_id      INTEGER NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    indicator_id INTEGER NOT NULL REFERENCES indicators (id),
    PRIMARY KEY (page_id, indicator_id)
);
CREATE INDEX page_indicators_indicator ON page_indicators (indicator_id);
CREATE TABLE image_indicators (
    image_id     INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    indicator_id INTEGER NOT NULL REFERENCES indicators (id),
    PRIMARY KEY (image_id, indicator_id)
);

-- reporter: cases (pages grouped by shared indicators) and review workflow
CREATE TABLE cases (
    id           INTEGER PRIMARY KEY,
    status       TEXT    NOT NULL CHECK (status IN ('new', 'in_review', 'confirmed', 'dismissed', 'forwarded')),
    score        DOUBLE PRECISION NOT NULL DEFAULT 0,
    title        TEXT    NOT NULL DEFAULT '',
    reason       TEXT    NOT NULL DEFAULT 'flagged',
    assigned_to  INTEGER REFERENCES users (id),
    merged_into  INTEGER REFERENCES cases (id),
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);
CREATE INDEX cases_status_score ON cases (status, score DESC);
CREATE TABLE case_pages (
    page_id  INTEGER PRIMARY KEY REFERENCES pages (id) ON DELETE CASCADE,
    case_id  INTEGER NOT NULL REFERENCES cases (id),
    added_at BIGINT  NOT NULL
);
CREATE INDEX case_pages_case ON case_pages (case_id);
CREATE TABLE reviews (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    user_id    INTEGER REFERENCES users (id),
    action     TEXT    NOT NULL,
    note       TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL
);
CREATE INDEX reviews_case ON reviews (case_id);

-- reporter: append-only audit log (who did what when); updates and deletes are refused by triggers
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          BIGINT  NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL DEFAULT '',
    detail_json TEXT    NOT NULL DEFAULT '{}'
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- reporter: weekly reports and what was sent to whom
CREATE TABLE reports (
    id              INTEGER PRIMARY KEY,
    week            TEXT    NOT NULL,
    generated_at    BIGINT  NOT NULL,
    generated_by    TEXT    NOT NULL,
    out_dir         TEXT    NOT NULL,
    manifest_sha256 TEXT    NOT NULL
);
CREATE TABLE report_deliveries (
    id         INTEGER PRIMARY KEY,
    report_id  INTEGER REFERENCES reports (id),
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    channel    TEXT    NOT NULL,
    recipient  TEXT    NOT NULL,
    sent_at    BIGINT  NOT NULL,
    status     TEXT    NOT NULL,
    UNIQUE (case_id, channel, recipient)
);
