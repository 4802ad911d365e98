package app

import (
	"context"

	"github.com/parleyhq/parley"
)

// ChainBackfill is what BackfillChain did (so far, in progress reports).
type ChainBackfill struct {
	// Conversations counts the conversations looked at; Backfilled those
	// that were missing entries; Messages the messages given entries;
	// Entries the entries appended.
	Conversations int `json:"conversations"`
	Backfilled    int `json:"backfilled"`
	Messages      int `json:"messages"`
	Entries       int `json:"entries"`
}

// backfillBatch is how many messages one backfill transaction covers.
const backfillBatch = 500

// BackfillChain appends hash chain entries for the history written before
// the chain existed (schema 0013): conversations created earlier have no
// create entry and their old messages no message entry, so an export of
// them could not be verified as complete. For each conversation, in id
// order, it appends a create entry when the chain is empty, then, in
// sequence order, for every message without a message entry: a message
// entry with the hash of its first version, an edit entry for each later
// version, and for a purged message an unsend or expire entry (its
// content is gone, so its message entry has no content hash). The entries
// carry the time of the backfill, not of the message: they attest what
// the server held when the backfill ran. Running it again appends nothing.
// progress, when set, is called after each conversation. Run one backfill
// at a time (the admin command goes through the server, which does).
func (a *App) BackfillChain(ctx context.Context, progress func(ChainBackfill)) (ChainBackfill, error) {
	var st ChainBackfill
	after := ""
	for {
		var ids []string
		if err := a.view(ctx, func(tx parley.Tx) error {
			var err error
			ids, err = tx.ConversationIDs(after, 100)
			return err
		}); err != nil {
			return st, err
		}
		for _, id := range ids {
			msgs, entries, err := a.backfillConversation(ctx, id)
			if err != nil {
				return st, err
			}
			st.Conversations++
			if entries > 0 {
				st.Backfilled++
				st.Messages += msgs
				st.Entries += entries
			}
			if progress != nil {
				progress(st)
			}
			if st.Conversations%1000 == 0 {
				a.log.Info("chain backfill", "conversations", st.Conversations, "backfilled", st.Backfilled, "entries", st.Entries)
			}
		}
		if len(ids) < 100 {
			a.log.Info("chain backfill done", "conversations", st.Conversations, "backfilled", st.Backfilled, "messages", st.Messages, "entries", st.Entries)
			return st, nil
		}
		after = ids[len(ids)-1]
	}
}

// backfillConversation backfills one conversation and returns how many
// messages and entries it added.
func (a *App) backfillConversation(ctx context.Context, convID string) (int, int, error) {
	// One snapshot: the messages up to lastSeq are the ones whose entries
	// the scan saw or will never see; anything sent later is chained by
	// its send.
	var lastSeq int64
	chained := map[string]bool{}
	edits := map[string]int{}
	var empty bool
	err := a.view(ctx, func(tx parley.Tx) error {
		c, err := tx.ConversationByID(convID)
		if err != nil {
			return err
		}
		lastSeq = c.LastSeq
		var after int64
		for {
			es, err := tx.ChainEntries(convID, after, 1000)
			if err != nil {
				return err
			}
			for _, e := range es {
				switch e.Kind {
				case parley.ChainMessage:
					chained[e.MessageID] = true
				case parley.ChainEdit:
					edits[e.MessageID]++
				}
			}
			if len(es) < 1000 {
				empty = after == 0 && len(es) == 0
				return nil
			}
			after = es[len(es)-1].Index
		}
	})
	if err != nil {
		return 0, 0, err
	}
	msgs, entries := 0, 0
	if empty {
		err := a.update(ctx, func(w *writer) error {
			c, err := w.ConversationByID(convID)
			if err != nil {
				return err
			}
			if idx, _, err := w.ChainHead(convID); err != nil || idx > 0 {
				return err // a send chained it meanwhile
			}
			return w.chain(&parley.ChainEntry{ConversationID: convID, Kind: parley.ChainCreate, ActorID: c.CreatedBy})
		})
		if err != nil {
			return 0, 0, err
		}
		entries++
	}
	var afterSeq int64
	for afterSeq < lastSeq {
		var n, e int
		var next int64
		err := a.update(ctx, func(w *writer) error {
			n, e, next = 0, 0, lastSeq
			page, err := w.Messages(parley.MessageRange{ConversationID: convID, AfterSeq: afterSeq, MaxSeq: lastSeq, Limit: backfillBatch})
			if err != nil {
				return err
			}
			if len(page) == backfillBatch {
				next = page[len(page)-1].Seq
			}
			for _, m := range page {
				if chained[m.ID] {
					continue
				}
				k, err := w.backfillMessage(m, edits[m.ID])
				if err != nil {
					return err
				}
				n++
				e += k
			}
			return nil
		})
		if err != nil {
			return 0, 0, err
		}
		msgs += n
		entries += e
		afterSeq = next
	}
	return msgs, entries, nil
}

// backfillMessage appends the entries of one message that has none of
// its own; chainedEdits of its edits are in the chain already (made after
// the chain existed). It returns how many entries it appended.
func (w *writer) backfillMessage(m *parley.Message, chainedEdits int) (int, error) {
	entry := &parley.ChainEntry{ConversationID: m.ConversationID, Kind: parley.ChainMessage, MessageID: m.ID, Seq: m.Seq, ActorID: m.SenderID}
	if m.DeletedAt != nil {
		if err := w.chain(entry); err != nil {
			return 0, err
		}
		kind := parley.ChainUnsend
		if m.ExpiresAt != nil && !m.DeletedAt.Before(*m.ExpiresAt) {
			kind = parley.ChainExpire
		}
		return 2, w.chain(&parley.ChainEntry{ConversationID: m.ConversationID, Kind: kind, MessageID: m.ID, Seq: m.Seq, ActorID: m.SenderID})
	}
	content, err := messageContent(w, m)
	if err != nil {
		return 0, err
	}
	// The versions oldest first: the earlier texts, then the current one.
	var texts []string
	if m.EditedAt != nil {
		es, err := w.MessageEdits(m.ID)
		if err != nil {
			return 0, err
		}
		for _, e := range es {
			texts = append(texts, e.Text)
		}
	}
	texts = append(texts, m.Text)
	// The last chainedEdits versions have their edit entries already.
	pre := texts[:len(texts)-min(chainedEdits, len(texts)-1)]
	n := 0
	for i, text := range pre {
		c := *content
		c.Text = text
		e := &parley.ChainEntry{ConversationID: m.ConversationID, Kind: parley.ChainEdit, MessageID: m.ID, Seq: m.Seq, ActorID: m.SenderID,
			ContentHash: c.Hash()}
		if i == 0 {
			e.Kind = parley.ChainMessage
		}
		if err := w.chain(e); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
