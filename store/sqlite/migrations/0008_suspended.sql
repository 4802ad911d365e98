-- Administrators suspend accounts (parley user suspend): a suspended
-- account cannot sign in, and its sessions and tokens are refused.
ALTER TABLE users ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;
