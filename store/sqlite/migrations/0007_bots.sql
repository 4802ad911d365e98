-- Bots belong to the account that created them.
ALTER TABLE users ADD COLUMN owner_id TEXT NOT NULL DEFAULT '';
CREATE INDEX users_owner ON users(owner_id) WHERE owner_id != '';

-- Who controls a customer conversation of a business: its bot or its
-- people (handover).
ALTER TABLE inbox_items ADD COLUMN control TEXT NOT NULL DEFAULT '';
