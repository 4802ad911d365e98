package sqlite

import (
	"database/sql"
	"fmt"

	"github.com/parleyhq/parley"
)

// The set reads of the campaign worker: one statement for a chunk of
// contacts, each read through a primary key or an index prefix per id of
// the JSON list (json_each), so a chunk costs one statement instead of
// one per recipient.

// keyed runs q, scans each row with scan and keys it with key.
func keyed[T any](t *tx, what string, scan func(scanner) (*T, error), key func(*T) string, q string, args ...any) (map[string]*T, error) {
	rows, err := queryAll(t, what, scan, q, args...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*T, len(rows))
	for _, r := range rows {
		out[key(r)] = r
	}
	return out, nil
}

// ReachOf implements parley.CampaignTx.
func (t *tx) ReachOf(businessID string, contactIDs []string) (map[string]*parley.Reach, error) {
	return keyed(t, "reach", scanReach, func(r *parley.Reach) string { return r.ContactID },
		`SELECT `+reachCols+` FROM contact_reach WHERE business_id = ? AND contact_id IN (SELECT value FROM json_each(?))`,
		businessID, idList(contactIDs))
}

// TopicConsents implements parley.CampaignTx.
func (t *tx) TopicConsents(businessID, topicID string, contactIDs []string) (map[string]*parley.Consent, error) {
	return keyed(t, "consents", scanConsent, func(c *parley.Consent) string { return c.ContactID },
		`SELECT business_id, contact_id, topic_id, opted_in, channel, proof, at FROM consents
		WHERE business_id = ? AND topic_id = ? AND contact_id IN (SELECT value FROM json_each(?))`,
		businessID, topicID, idList(contactIDs))
}

// RecipientsOf implements parley.CampaignTx.
func (t *tx) RecipientsOf(campaignID string, contactIDs []string) (map[string]*parley.CampaignRecipient, error) {
	return keyed(t, "recipients", scanRecipient, func(r *parley.CampaignRecipient) string { return r.ContactID },
		`SELECT `+recipientCols+` FROM campaign_recipients WHERE campaign_id = ? AND contact_id IN (SELECT value FROM json_each(?))`,
		campaignID, idList(contactIDs))
}

// ContactsByIDs implements parley.CampaignTx.
func (t *tx) ContactsByIDs(businessID string, contactIDs []string) (map[string]*parley.Contact, error) {
	return keyed(t, "contacts", scanContact, func(c *parley.Contact) string { return c.ID },
		`SELECT `+contactCols+` FROM contacts WHERE business_id = ? AND id IN (SELECT value FROM json_each(?))`,
		businessID, idList(contactIDs))
}

// LatestConversations implements parley.CampaignTx: LatestInboxItems's
// seek alone, without the item's row.
func (t *tx) LatestConversations(businessID string, contactIDs []string) (map[string]string, error) {
	rows, err := t.query(`SELECT c.value, (SELECT j.conversation_id FROM inbox_items j
		WHERE j.business_id = ? AND j.contact_id = c.value ORDER BY j.activity_at DESC, j.conversation_id DESC LIMIT 1)
		FROM json_each(?) c`, businessID, idList(contactIDs))
	if err != nil {
		return nil, fmt.Errorf("latest conversations: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var contactID string
		var convID sql.NullString
		if err := rows.Scan(&contactID, &convID); err != nil {
			return nil, fmt.Errorf("latest conversations: %w", err)
		}
		if convID.Valid {
			out[contactID] = convID.String
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("latest conversations: %w", err)
	}
	return out, nil
}

// LatestInboxItems implements parley.CampaignTx: per contact, one seek
// into inbox_by_contact (newest activity first) for its item's rowid,
// then that row by rowid. (Was: the items whose conversation ids are IN
// the list of those seeks, which built an ephemeral table of the ids and
// then looked each up in the conversation_id index before its row.)
func (t *tx) LatestInboxItems(businessID string, contactIDs []string) (map[string]*parley.InboxItem, error) {
	items, err := t.inboxItems(`SELECT `+inboxColsI+` FROM json_each(?) c JOIN inbox_items i ON i.rowid =
		(SELECT j.rowid FROM inbox_items j WHERE j.business_id = ? AND j.contact_id = c.value
			ORDER BY j.activity_at DESC, j.conversation_id DESC LIMIT 1)`,
		idList(contactIDs), businessID)
	if err != nil {
		return nil, fmt.Errorf("latest inbox items: %w", err)
	}
	out := make(map[string]*parley.InboxItem, len(items))
	for _, it := range items {
		out[it.ContactID] = it
	}
	return out, nil
}
