-- write_gen grows with every write batch of any node (nextval under the
-- positions lock). A node keeps a cache of the rows its committer read and
-- wrote, valid only while no other node wrote: a batch that finds
-- last_value other than what its node's last commit took drops the cache
-- (store/postgres/cache.go). A sequence, not a column, so that it is not
-- data: a batch that wrote nothing changes no table.
CREATE SEQUENCE write_gen;
