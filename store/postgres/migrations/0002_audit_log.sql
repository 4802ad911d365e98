-- From SQLite's 0011_audit_log.sql. The server-wide audit log
-- (parley.AuditRecord): admin, agent and security actions, hash-chained by
-- the application. Rows are never changed or deleted; the trigger refuses
-- it so that a bug cannot.
CREATE TABLE audit_log (
	seq         BIGINT PRIMARY KEY,
	at          BIGINT NOT NULL,
	actor_id    TEXT NOT NULL,
	action      TEXT NOT NULL,
	target_type TEXT NOT NULL,
	target_id   TEXT NOT NULL,
	details     TEXT NOT NULL, -- a JSON object of strings
	address     TEXT NOT NULL,
	user_agent  TEXT NOT NULL,
	prev_hash   BYTEA NOT NULL,
	hash        BYTEA NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log(actor_id, seq);
CREATE INDEX audit_log_action ON audit_log(action, seq);
CREATE INDEX audit_log_target ON audit_log(target_id, seq);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
