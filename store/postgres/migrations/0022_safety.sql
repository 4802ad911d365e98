-- From SQLite's 0022_safety.sql: users.warn_phone (the guard warns before
-- sending a phone number) and export_jobs.lease_until (cleanup fails only
-- unfinished exports whose node stopped renewing them).
ALTER TABLE users ADD COLUMN warn_phone BIGINT NOT NULL DEFAULT 0;
ALTER TABLE export_jobs ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
