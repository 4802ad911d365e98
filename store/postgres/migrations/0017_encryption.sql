-- From SQLite's 0017_encryption.sql: the wrapped data keys of encryption
-- at rest, and a search column the store can fill from plaintext when the
-- body it stores is sealed.
CREATE TABLE data_keys (
    id         BIGINT PRIMARY KEY,
    wrapped    BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- search was generated from body; a sealed body has no words. It becomes
-- a plain column kept by a trigger: tombstones, system messages and empty
-- bodies have none; a plaintext body's words are computed as before; a
-- sealed body keeps what the store wrote (the plaintext's words, given
-- with the statement) or, when only the sealing changed (rotation), what
-- the row had.
ALTER TABLE messages DROP COLUMN search;
ALTER TABLE messages ADD COLUMN search tsvector;
UPDATE messages SET search = to_tsvector('simple'::regconfig, parley_search_text(body))
    WHERE deleted_at IS NULL AND kind <> 'system' AND body <> '';
CREATE INDEX messages_search ON messages USING gin (search);

CREATE FUNCTION parley_message_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deleted_at IS NOT NULL OR NEW.kind = 'system' OR NEW.body = '' THEN
        NEW.search := NULL;
    ELSIF left(NEW.body, 9) <> E'\x01sealed1:' THEN
        NEW.search := to_tsvector('simple'::regconfig, parley_search_text(NEW.body));
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER messages_search BEFORE INSERT OR UPDATE OF body, deleted_at, kind ON messages
    FOR EACH ROW EXECUTE FUNCTION parley_message_search();
