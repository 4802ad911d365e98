-- Phone numbers in the sensitive-data guard, and export leases (issues 9
-- and 11).
--
-- users.warn_phone: the guard warns the user before they send a phone
-- number (off: phone numbers never warn; other kinds always do).
ALTER TABLE users ADD COLUMN warn_phone INTEGER NOT NULL DEFAULT 0;

-- export_jobs.lease_until: the node building a queued or running export
-- renews it while it works; cleanup fails only unfinished jobs whose lease
-- ran out, never another live node's. 0 (rows from before): expired.
ALTER TABLE export_jobs ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
