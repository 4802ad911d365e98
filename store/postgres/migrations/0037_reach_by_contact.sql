-- Segment counts (issue 8): the primary key of contact_reach carries
-- last_inbound_at, so an "active since" condition is an index-only scan in
-- contact order and merges with the ordered index scans of the topic,
-- label and attribute conditions (CountSegment). Without it each entry
-- cost a heap fetch, or the planner hashed a scan of the whole table.
-- Included columns are not part of the key: ON CONFLICT (business_id,
-- contact_id) and uniqueness are unchanged, and an update of promos alone
-- stays a HOT update.
ALTER TABLE contact_reach DROP CONSTRAINT contact_reach_pkey,
    ADD PRIMARY KEY (business_id, contact_id) INCLUDE (last_inbound_at);
