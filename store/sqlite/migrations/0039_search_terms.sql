-- The words of the search index, for expanding a long last word (issue 10).
--
-- A search's last word matches as a prefix. The index holds the first 3
-- to 6 letters of every word (0021's prefix = '3 4 5 6'), so a longer
-- last word used to be looked up by its first 6 letters and checked on
-- each message's text, visit after visit (search.go). This table lists
-- the index's words (one row per occurrence; it stores nothing itself),
-- so that a search can list the few words that start with a long last
-- word, one seek each, and ask the index for exactly those.
CREATE VIRTUAL TABLE message_search_terms USING fts5vocab(message_search, 'instance');
