package postgres

import (
	"fmt"

	"github.com/parleyhq/parley"
)

// The set reads of the campaign worker: one statement for a chunk of
// contacts, each read through a primary key or an index prefix per id of
// the JSON list (json_array_elements_text), so a chunk costs one statement instead of
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
		`SELECT `+reachCols+` FROM contact_reach WHERE business_id = ? AND contact_id IN (SELECT json_array_elements_text(?::json))`,
		businessID, idList(contactIDs))
}

// TopicConsents implements parley.CampaignTx.
func (t *tx) TopicConsents(businessID, topicID string, contactIDs []string) (map[string]*parley.Consent, error) {
	return keyed(t, "consents", scanConsent, func(c *parley.Consent) string { return c.ContactID },
		`SELECT business_id, contact_id, topic_id, opted_in, channel, proof, at FROM consents
		WHERE business_id = ? AND topic_id = ? AND contact_id IN (SELECT json_array_elements_text(?::json))`,
		businessID, topicID, idList(contactIDs))
}

// RecipientsOf implements parley.CampaignTx.
func (t *tx) RecipientsOf(campaignID string, contactIDs []string) (map[string]*parley.CampaignRecipient, error) {
	return keyed(t, "recipients", scanRecipient, func(r *parley.CampaignRecipient) string { return r.ContactID },
		`SELECT `+recipientCols+` FROM campaign_recipients WHERE campaign_id = ? AND contact_id IN (SELECT json_array_elements_text(?::json))`,
		campaignID, idList(contactIDs))
}

// ContactsByIDs implements parley.CampaignTx.
func (t *tx) ContactsByIDs(businessID string, contactIDs []string) (map[string]*parley.Contact, error) {
	return keyed(t, "contacts", scanContact, func(c *parley.Contact) string { return c.ID },
		`SELECT `+contactCols+` FROM contacts WHERE business_id = ? AND id IN (SELECT json_array_elements_text(?::json))`,
		businessID, idList(contactIDs))
}

// LatestConversations implements parley.CampaignTx: LatestInboxItems's
// seek alone, without the item's row.
func (t *tx) LatestConversations(businessID string, contactIDs []string) (map[string]string, error) {
	rows, err := t.query(`SELECT c.id, (SELECT j.conversation_id FROM inbox_items j
		WHERE j.business_id = ? AND j.contact_id = c.id ORDER BY j.activity_at DESC, j.conversation_id DESC LIMIT 1)
		FROM json_array_elements_text(?::json) AS c(id)`, businessID, idList(contactIDs))
	if err != nil {
		return nil, fmt.Errorf("latest conversations: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var contactID string
		var convID *string
		if err := rows.Scan(&contactID, &convID); err != nil {
			return nil, fmt.Errorf("latest conversations: %w", err)
		}
		if convID != nil {
			out[contactID] = *convID
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("latest conversations: %w", err)
	}
	return out, nil
}

// LatestInboxItems implements parley.CampaignTx: per contact, one seek
// into inbox_by_contact (newest activity first) for its conversation,
// then that item's row.
func (t *tx) LatestInboxItems(businessID string, contactIDs []string) (map[string]*parley.InboxItem, error) {
	items, err := t.inboxItems(`SELECT `+inboxCols+` FROM inbox_items WHERE conversation_id IN
		(SELECT (SELECT j.conversation_id FROM inbox_items j WHERE j.business_id = ? AND j.contact_id = c.id
			ORDER BY j.activity_at DESC, j.conversation_id DESC LIMIT 1) FROM json_array_elements_text(?::json) AS c(id))`,
		businessID, idList(contactIDs))
	if err != nil {
		return nil, fmt.Errorf("latest inbox items: %w", err)
	}
	out := make(map[string]*parley.InboxItem, len(items))
	for _, it := range items {
		out[it.ContactID] = it
	}
	return out, nil
}
