-- crawler: each fetch-log row says which claim of its URL it was, and, when the URL was claimed
-- again because another worker's lease expired (that worker died or stalled), whose lease it was.
-- `refetch` is 1 exactly for those rows. Twin of migrations/postgres/0006_fetch_attempts.sql.
ALTER TABLE fetch_log ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
ALTER TABLE fetch_log ADD COLUMN expired_lease_owner TEXT;
