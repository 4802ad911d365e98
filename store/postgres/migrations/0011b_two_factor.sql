-- From SQLite's 0011b_two_factor.sql.
-- TOTP second factors (parley.TwoFactor) and the login challenges of the
-- two-step login (parley.LoginChallenge).
CREATE TABLE two_factor (
	user_id        TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
	secret         TEXT NOT NULL, -- sealed when the server has an encryption key
	confirmed_at   BIGINT NOT NULL,
	last_step      BIGINT NOT NULL,
	recovery_codes TEXT NOT NULL, -- JSON array of hex SHA-256 hashes
	created_at     BIGINT NOT NULL
);
CREATE TABLE login_challenges (
	token_hash BYTEA PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	device     TEXT NOT NULL,
	attempts   BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX login_challenges_expiry ON login_challenges(expires_at);
