-- storage: runs of scheduled jobs (crawl groups, weekly report), for "no overlapping runs" and
-- "a missed run is run once at start". Twin of migrations/postgres/0004_job_runs.sql.
CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY,
    job         TEXT   NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    status      TEXT   NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
    detail      TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_job ON job_runs (job, started_at);
