-- reporter: takedown tracking. Twin of migrations/postgres/0009_takedown.sql.
-- watch_targets: every URL (web, .onion, Telegram preview) of a watched case, with the baseline it
-- is compared with, its current state and the last check. watch_events: only the transitions, each
-- with its evidence (WARC record and digest). Block signatures come from the configuration.
CREATE TABLE watch_targets (
    id                  INTEGER PRIMARY KEY,
    case_id             INTEGER NOT NULL REFERENCES cases (id),
    page_id             INTEGER REFERENCES pages (id) ON DELETE SET NULL,
    kind                TEXT    NOT NULL CHECK (kind IN ('web', 'onion', 'telegram')),
    url                 TEXT    NOT NULL,
    added_at            BIGINT  NOT NULL,
    added_reason        TEXT    NOT NULL DEFAULT 'watched' CHECK (added_reason IN ('watched', 'reappeared')),
    baseline_text_hash  TEXT,              -- SHA-256 hex of the page's extracted text when flagged
    baseline_score      DOUBLE PRECISION,
    baseline_verdict    TEXT,
    baseline_indicators TEXT    NOT NULL DEFAULT '',  -- sorted kind:value lines
    state               TEXT    NOT NULL DEFAULT 'unchecked'
                        CHECK (state IN ('unchecked', 'live', 'changed', 'blocked', 'gone', 'error')),
    state_since         BIGINT,
    failures            INTEGER NOT NULL DEFAULT 0,   -- consecutive checks that did not reach the page
    checks              BIGINT  NOT NULL DEFAULT 0,
    last_checked_at     BIGINT,
    last_status         INTEGER,
    last_content_hash   TEXT,
    last_text_hash      TEXT,
    last_error_kind     TEXT,
    UNIQUE (case_id, url)
);
CREATE INDEX watch_targets_state ON watch_targets (state);
CREATE TABLE watch_events (
    id             INTEGER PRIMARY KEY,
    target_id      INTEGER NOT NULL REFERENCES watch_targets (id) ON DELETE CASCADE,
    case_id        INTEGER NOT NULL REFERENCES cases (id),
    at             BIGINT  NOT NULL,
    from_state     TEXT    NOT NULL,
    to_state       TEXT    NOT NULL CHECK (to_state IN ('live', 'changed', 'blocked', 'gone', 'error')),
    http_status    INTEGER,
    final_url      TEXT,
    content_hash   TEXT,                   -- SHA-256 hex of the body as received
    text_hash      TEXT,                   -- SHA-256 hex of the extracted text
    score          DOUBLE PRECISION,
    verdict        TEXT,
    failures       INTEGER NOT NULL DEFAULT 0,
    detail         TEXT    NOT NULL DEFAULT '',  -- matched block signature, error kind and message
    warc_file      TEXT,
    warc_offset    BIGINT,
    warc_length    BIGINT,
    warc_record_id TEXT,
    warc_digest    TEXT
);
CREATE INDEX watch_events_target ON watch_events (target_id, at);
CREATE INDEX watch_events_case ON watch_events (case_id, at);
