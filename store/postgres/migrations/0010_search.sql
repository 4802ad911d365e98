-- From SQLite's 0010_search.sql: full-text search over message text.
--
-- search is a generated tsvector of the live text (not system messages,
-- not empty bodies, not unsent messages): PostgreSQL recomputes it in the
-- same statement as every change of the row — a send, an edit, an unsend,
-- a purge by retention or disappearing messages — so the index can never
-- hold text the row no longer has. A GIN index serves @@.
--
-- parley_search_text splits text as SQLite's unicode61 tokenizer does
-- where it matters for search: ASCII punctuation separates words
-- ("invoice.pdf", "col:on", "e-mail" are two words each), case and the
-- accents of Latin letters are folded ("Café" finds "cafe"). The 'simple'
-- configuration does no stemming and has no stop words, like unicode61.
CREATE FUNCTION parley_search_text(body text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT lower(translate(regexp_replace(body, '[!-/:-@[-`{-~]+', ' ', 'g'),
        'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ',
        'aaaaaaceeeeiiiinooooouuuuyaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddeeeeeeeeeegggggggghhiiiiiiiiijjkkllllllnnnnnnoooooorrrrrrssssssssttttuuuuuuuuuuuuwwyyyzzzzzzoouuaaiioouuuuuuuuuuaaaaggkkoooojggnnaaaaaaeeeeiiiioooorrrruuuusstthhaaeeooooooooyy'))
$$;

ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (
    CASE WHEN deleted_at IS NULL AND kind <> 'system' AND body <> ''
    THEN to_tsvector('simple'::regconfig, parley_search_text(body)) END
) STORED;

CREATE INDEX messages_search ON messages USING gin (search);
