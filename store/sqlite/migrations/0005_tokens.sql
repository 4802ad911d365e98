-- API tokens are sessions of kind 'token' with a name, scopes (space
-- separated) and an optional expiry; signed-in devices are kind 'device'.
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'device';
ALTER TABLE sessions ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN expires_at INTEGER;

-- Whether the user keeps their read receipts (and so others') hidden.
ALTER TABLE users ADD COLUMN hide_read_receipts INTEGER NOT NULL DEFAULT 0;
