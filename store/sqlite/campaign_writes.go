package sqlite

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// The set writes of the campaign worker: one statement for a chunk's
// sequence numbers, recipient rows, caps and chain entries instead of one
// per recipient. Besides its parsing and stepping, each statement in a
// transaction copies every page it first touches into the statement
// journal, so one statement over a chunk copies a shared page once.

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

// seqPos is a sequence number and the position taken with it.
type seqPos struct{ seq, pos int64 }

// AllocSeqs implements parley.ConversationTx. Each conversation's next
// position is taken here too, in the order given, and written as its
// last_pos by the same statement: the message CreateMessages stores with
// that number gets that position, and the conversation row is not
// written a second time for it.
func (t *tx) AllocSeqs(conversationIDs []string, at time.Time) (map[string]int64, error) {
	out := make(map[string]int64, len(conversationIDs))
	if len(conversationIDs) == 0 {
		return out, nil
	}
	if !distinct(conversationIDs) {
		return nil, parley.Invalid("conversation_ids", "a conversation appears twice")
	}
	rows := make([][2]any, len(conversationIDs))
	pos := make(map[string]int64, len(conversationIDs))
	for i, id := range conversationIDs {
		pos[id] = t.nextPos()
		rows[i] = [2]any{id, pos[id]}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return nil, fmt.Errorf("alloc seqs: %w", err)
	}
	res, err := t.query(`UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = ?, last_pos = p.value ->> 1
		FROM json_each(?) p WHERE conversations.id = p.value ->> 0 RETURNING conversations.id, conversations.last_seq`,
		toNanos(at), string(b))
	if err != nil {
		return nil, fmt.Errorf("alloc seqs: %w", err)
	}
	defer res.Close()
	for res.Next() {
		var id string
		var seq int64
		if err := res.Scan(&id, &seq); err != nil {
			return nil, fmt.Errorf("alloc seqs: %w", err)
		}
		out[id] = seq
		t.markMoved(id) // the list's sort key follows at the flush (flush.go)
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("alloc seqs: %w", err)
	}
	if t.reserved == nil {
		t.reserved = make(map[string]seqPos, len(out))
	}
	for id, seq := range out {
		t.reserved[id] = seqPos{seq, pos[id]}
	}
	if wc := t.cache(); wc != nil {
		for id, seq := range out {
			if c, ok := wc.convs[id]; ok {
				c.LastSeq, c.LastActivityAt, c.LastPos = seq, fromNanos(toNanos(at)), pos[id]
				wc.convs[id] = c
			}
		}
	}
	if len(out) != len(conversationIDs) {
		return nil, notFound("conversation")
	}
	return out, nil
}

// PutRecipients implements parley.CampaignTx.
func (t *tx) PutRecipients(rs []*parley.CampaignRecipient) error {
	if len(rs) == 0 {
		return nil
	}
	keys := make([]string, len(rs))
	rows := make([][7]any, len(rs))
	for i, r := range rs {
		keys[i] = r.CampaignID + "\x00" + r.ContactID
		rows[i] = [7]any{r.CampaignID, r.ContactID, r.State, r.Reason, r.MessageID, toNanos(r.NotBefore), toNanos(r.UpdatedAt)}
	}
	if !distinct(keys) {
		return parley.Invalid("recipients", "a recipient appears twice")
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("put recipients: %w", err)
	}
	res, err := t.exec(`UPDATE campaign_recipients SET state = r.value ->> 2, reason = r.value ->> 3, message_id = r.value ->> 4,
		not_before = r.value ->> 5, updated_at = r.value ->> 6
		FROM json_each(?) r WHERE campaign_id = r.value ->> 0 AND contact_id = r.value ->> 1`, string(b))
	if err != nil {
		return fmt.Errorf("put recipients: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("put recipients: %w", err)
	}
	if int(n) != len(rs) {
		return notFound("recipient")
	}
	return nil
}

// PutReaches implements parley.CampaignTx.
func (t *tx) PutReaches(rs []*parley.Reach) error {
	if len(rs) == 0 {
		return nil
	}
	keys := make([]string, len(rs))
	rows := make([][5]any, len(rs))
	for i, r := range rs {
		keys[i] = r.BusinessID + "\x00" + r.ContactID
		ps := make([]string, len(r.Promos))
		for j, p := range r.Promos {
			ps[j] = fmt.Sprint(toNanos(p))
		}
		rows[i] = [5]any{r.BusinessID, r.ContactID, toNanos(r.LastInboundAt), toNullNanos(r.StoppedAt), strings.Join(ps, ",")}
	}
	if !distinct(keys) {
		return parley.Invalid("reaches", "a contact appears twice")
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("put reaches: %w", err)
	}
	// WHERE true: without it SQLite would read ON CONFLICT as a join's ON.
	_, err = t.exec(`INSERT INTO contact_reach (business_id, contact_id, last_inbound_at, stopped_at, promos)
		SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4 FROM json_each(?) r WHERE true
		ON CONFLICT (business_id, contact_id) DO UPDATE SET last_inbound_at = excluded.last_inbound_at,
		stopped_at = excluded.stopped_at, promos = excluded.promos`, string(b))
	if isForeignKey(err) {
		return notFound("business")
	} else if err != nil {
		return fmt.Errorf("put reaches: %w", err)
	}
	return nil
}

// maxChainPerInsert keeps an INSERT of AppendChainEntries under SQLite's
// 32,766 bound parameters (11 a row).
const maxChainPerInsert = 2000

// AppendChainEntries implements parley.ChainTx.
func (t *tx) AppendChainEntries(es []*parley.ChainEntry) error {
	if len(es) == 0 {
		return nil
	}
	if len(es) > maxChainPerInsert {
		if err := t.AppendChainEntries(es[:maxChainPerInsert]); err != nil {
			return err
		}
		return t.AppendChainEntries(es[maxChainPerInsert:])
	}
	var q strings.Builder
	// OR FAIL: on a taken index the statement stops where it is instead
	// of undoing its own rows, and the caller abandons the transaction
	// (parley.ChainTx), so SQLite keeps no statement journal for it. With
	// the default ABORT every page the statement first touches — a leaf
	// of the (conversation_id, idx) key per conversation of a chunk — was
	// copied into that journal and freed again when the statement ended.
	q.WriteString(`INSERT OR FAIL INTO chain_entries (conversation_id, idx, kind, message_id, seq, actor_id, subject_id, at, content, prev, hash) VALUES `)
	args := make([]any, 0, len(es)*11)
	for i, e := range es {
		content, prev, hash, err := e.Digests()
		if err != nil {
			return err
		}
		if i > 0 {
			q.WriteString(`, `)
		}
		q.WriteString(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		args = append(args, e.ConversationID, e.Index, e.Kind, e.MessageID, e.Seq, e.ActorID, e.SubjectID,
			toNanos(e.At), nullBytes(content), prev, hash)
	}
	// Not t.exec: a statement per row count would fill the statement cache.
	_, err := t.sqlTx.ExecContext(t.ctx, q.String(), args...)
	wc := t.cache()
	if isUnique(err) {
		if wc != nil {
			for _, e := range es {
				delete(wc.heads, e.ConversationID)
			}
		}
		return parley.Errorf(parley.EConflict, "a chain entry exists (index taken)")
	} else if err != nil {
		return fmt.Errorf("append chain entries: %w", err)
	}
	if wc != nil {
		for _, e := range es {
			if wc.full() {
				wc.reset()
			}
			wc.heads[e.ConversationID] = chainHead{e.Index, e.Hash}
		}
	}
	return nil
}
