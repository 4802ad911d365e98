-- Segment counts join the contacts of one label or attribute (contact_tags)
-- with those opted in to a topic (consents). The planner estimated each
-- side from its columns one at a time: a label held by half of 1,000,000
-- contacts came out at 15,000 rows, so the hash of a join was sized 30
-- times too small and spilled to disk in batches. Statistics over the
-- columns together (most common combinations) give the real sizes.
CREATE STATISTICS contact_tags_combinations (mcv) ON business_id, kind, name, value FROM contact_tags;
CREATE STATISTICS consents_combinations (mcv) ON business_id, topic_id, opted_in FROM consents;
ANALYZE contact_tags, consents;
