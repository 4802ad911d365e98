-- gen grows with every write batch of any node. A node keeps a cache of
-- the rows its committer read and wrote, valid only while no other node
-- wrote: a batch that finds gen other than what its node's last commit
-- left there drops the cache (store/postgres/cache.go).
ALTER TABLE positions ADD COLUMN gen BIGINT NOT NULL DEFAULT 0;
