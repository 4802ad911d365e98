-- Campaign recipients (issue 8): one partial index of the pending ones
-- instead of two indexes of every recipient by state. Marking a
-- recipient sent moved its entries in both (a delete and an insert
-- each); now it only leaves the pending index. DueRecipients and
-- NextPending read the pending index; listing by state reads the
-- primary key, or the small index of the failed and skipped ones.
DROP INDEX campaign_recipients_due;
DROP INDEX campaign_recipients_state;
CREATE INDEX campaign_recipients_pending ON campaign_recipients(campaign_id, not_before, contact_id) WHERE state = 'pending';
CREATE INDEX campaign_recipients_unsent ON campaign_recipients(campaign_id, state, contact_id) WHERE state IN ('failed', 'skipped');
