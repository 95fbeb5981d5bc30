-- reporter: the files of each weekly report, so the web UI serves only files recorded here (by
-- kind, never by a path from the request); and an index in queue order for the review queue.
-- Twin of migrations/postgres/0007_report_files.sql.
CREATE TABLE report_files (
    report_id    INTEGER NOT NULL REFERENCES reports (id),
    kind         TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    bytes        BIGINT  NOT NULL,
    sha256       TEXT    NOT NULL,
    PRIMARY KEY (report_id, kind, name)
);
CREATE INDEX cases_queue_score ON cases (score DESC, created_at, id) WHERE merged_into IS NULL;
CREATE INDEX cases_queue_age ON cases (created_at, id) WHERE merged_into IS NULL;
