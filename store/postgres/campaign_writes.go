package postgres

import (
	"time"

	"github.com/parleyhq/parley"
)

// The set writes of the campaign worker. This store already defers a
// transaction's sequence numbers and chain entries to a few statements at
// its end (conversations.go, chain.go), so these go row by row through the
// single-row methods and keep their behaviour exactly.

// distinct reports whether ids has no repeats.
func distinct(ids []string) bool {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return false
		}
		seen[id] = true
	}
	return true
}

// AllocSeqs implements parley.ConversationTx.
func (t *tx) AllocSeqs(conversationIDs []string, at time.Time) (map[string]int64, error) {
	if !distinct(conversationIDs) {
		return nil, parley.Invalid("conversation_ids", "a conversation appears twice")
	}
	out := make(map[string]int64, len(conversationIDs))
	for _, id := range conversationIDs {
		seq, err := t.AllocSeq(id, at)
		if err != nil {
			return nil, err
		}
		out[id] = seq
	}
	return out, nil
}

// PutRecipients implements parley.CampaignTx.
func (t *tx) PutRecipients(rs []*parley.CampaignRecipient) error {
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.CampaignID + "\x00" + r.ContactID
	}
	if !distinct(keys) {
		return parley.Invalid("recipients", "a recipient appears twice")
	}
	for _, r := range rs {
		if err := t.PutRecipient(r); err != nil {
			return err
		}
	}
	return nil
}

// PutReaches implements parley.CampaignTx.
func (t *tx) PutReaches(rs []*parley.Reach) error {
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.BusinessID + "\x00" + r.ContactID
	}
	if !distinct(keys) {
		return parley.Invalid("reaches", "a contact appears twice")
	}
	for _, r := range rs {
		if err := t.PutReach(r); err != nil {
			return err
		}
	}
	return nil
}

// AppendChainEntries implements parley.ChainTx.
func (t *tx) AppendChainEntries(es []*parley.ChainEntry) error {
	for _, e := range es {
		if err := t.AppendChainEntry(e); err != nil {
			return err
		}
	}
	return nil
}
