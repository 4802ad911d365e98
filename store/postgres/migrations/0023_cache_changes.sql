-- cache_changes says which rows each write batch changed, so that the
-- committer cache of every other node drops those entries only, instead of
-- everything (store/postgres/cache.go). Every batch that writes takes a gen
-- (nextval('write_gen'), under the positions lock, so gens grow in commit
-- order) and writes its row in the same transaction: a gen without a row
-- never committed. The table is a ring of 256 slots (slot = gen % 256): a
-- node that finds more gens since its last commit than the ring holds drops
-- its whole cache, as before.
--
-- keys: 'c:' || conversation id (the conversation row, its members, its
-- chain head, its inbox item), 'b:' || user id || '|' || user id (a block
-- between the two, ids in sorted order), or '*' (everything).
CREATE TABLE cache_changes (
    slot INTEGER PRIMARY KEY,
    gen  BIGINT NOT NULL,
    keys TEXT[] NOT NULL
);
