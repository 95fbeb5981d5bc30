-- reporter: QR watch ("QR hijack"). Twin of migrations/sqlite/0010_qr_watch.sql.
-- qr_watch: every http(s) payload ever decoded from a QR code (table qr_codes, from crawled
-- images and volunteer photos), re-resolved by `kuzet cases recheck`, with its last resolution and
-- the QR-hijack case opened for it. qr_resolutions: every resolution (redirect chain, final URL,
-- score, content hash, WARC evidence when the outcome changed). cases.priority: QR-hijack cases
-- (priority 1) come first in the queue; cases.reason says 'qr_hijack'.
ALTER TABLE cases ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
CREATE TABLE qr_watch (
    id                BIGSERIAL PRIMARY KEY,
    url               TEXT    NOT NULL UNIQUE,     -- the payload as decoded (trimmed)
    first_seen_at     BIGINT  NOT NULL,
    case_id           BIGINT  REFERENCES cases (id),
    checks            BIGINT  NOT NULL DEFAULT 0,
    last_checked_at   BIGINT,
    last_final_url    TEXT,
    last_content_hash TEXT,
    last_score        DOUBLE PRECISION,
    last_verdict      TEXT
);
CREATE INDEX qr_watch_case ON qr_watch (case_id);
CREATE TABLE qr_resolutions (
    id             BIGSERIAL PRIMARY KEY,
    watch_id       BIGINT  NOT NULL REFERENCES qr_watch (id) ON DELETE CASCADE,
    at             BIGINT  NOT NULL,
    seen           TEXT    NOT NULL,              -- live, changed, blocked, gone_like, error
    http_status    INTEGER,
    redirects      TEXT    NOT NULL DEFAULT '',   -- the chain: one hop URL a line, payload first
    final_url      TEXT,
    content_hash   TEXT,                          -- SHA-256 hex of the body as received
    score          DOUBLE PRECISION,
    verdict        TEXT,
    detail         TEXT    NOT NULL DEFAULT '',
    hijack         INTEGER NOT NULL DEFAULT 0,    -- 1: this resolution opened the QR-hijack case
    warc_file      TEXT,
    warc_offset    BIGINT,
    warc_length    BIGINT,
    warc_record_id TEXT,
    warc_digest    TEXT
);
CREATE INDEX qr_resolutions_watch ON qr_resolutions (watch_id, at);
