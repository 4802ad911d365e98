-- parley_search_text lowercased with the database's LC_CTYPE, which the
-- documented setup makes C: lower() then folded ASCII only, so on
-- PostgreSQL "ПРИВЕТ" did not find "привет" nor "ÜBER" "über", where
-- SQLite (FTS5's unicode61) folds the case of every script (issue 10:
-- the same behaviour on both stores). It now lowercases text that holds
-- anything beyond ASCII under a Unicode-aware collation: glibc's C.utf8
-- (its İ becomes i, as in SQLite) or, without it, ICU's root locale.
-- Pure ASCII text (most messages) keeps the plain, cheaper lower().
-- Without either collation (PostgreSQL built without ICU on a system
-- without C.UTF-8) the function stays as it was, with a notice.
--
-- The stored vectors of plaintext messages that hold non-ASCII text are
-- computed again. Sealed messages (encryption at rest) were indexed from
-- their plaintext by the store; written before this migration, their
-- non-ASCII capitals stay unfolded until they are edited.
DO $migration$
DECLARE
    coll text;
BEGIN
    SELECT collname INTO coll FROM pg_collation
        WHERE collname IN ('C.utf8', 'C.UTF-8', 'und-x-icu')
          AND collencoding IN (-1, pg_char_to_encoding('UTF8'))
          AND pg_char_to_encoding('UTF8') = (SELECT encoding FROM pg_database WHERE datname = current_database())
        ORDER BY collname = 'und-x-icu', collname
        LIMIT 1;
    IF coll IS NULL THEN
        RAISE NOTICE 'parley: no Unicode collation (C.utf8, und-x-icu) in this database: search folds the case of ASCII letters only';
        RETURN;
    END IF;
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION parley_search_text(body text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE
        WHEN body ~ '[\u00c0-\u0233]' THEN lower(translate(regexp_replace(body, '[!-/:-@[-`{-~]+', ' ', 'g'),
            'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ',
            'aaaaaaceeeeiiiinooooouuuuyaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddeeeeeeeeeegggggggghhiiiiiiiiijjkkllllllnnnnnnoooooorrrrrrssssssssttttuuuuuuuuuuuuwwyyyzzzzzzoouuaaiioouuuuuuuuuuaaaaggkkoooojggnnaaaaaaeeeeiiiioooorrrruuuusstthhaaeeooooooooyy')
            COLLATE %1$I)
        WHEN body ~ '[^\u0001-\u007f]' THEN lower(regexp_replace(body, '[!-/:-@[-`{-~]+', ' ', 'g') COLLATE %1$I)
        ELSE lower(regexp_replace(body, '[!-/:-@[-`{-~]+', ' ', 'g'))
    END
$$$f$, coll);
    UPDATE messages SET search = to_tsvector('simple'::regconfig, parley_search_text(body))
        WHERE search IS NOT NULL AND left(body, 9) <> E'\x01sealed1:' AND body ~ '[^\u0001-\u007f]';
END
$migration$;
