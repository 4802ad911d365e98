package app

import (
	"encoding/json"

	"github.com/parleyhq/parley"
)

// chainKinds maps conversation-wide event types to the chain entry they
// append. Events not listed (reactions, receipts, folder moves, link
// cards) change neither content nor membership and stay out of the chain.
var chainKinds = map[string]string{
	parley.EventConversationCreated: parley.ChainCreate,
	parley.EventMessageEdited:       parley.ChainEdit,
	parley.EventMessageUnsent:       parley.ChainUnsend,
	parley.EventMessageExpired:      parley.ChainExpire,
	parley.EventMessageErased:       parley.ChainErase,
	parley.EventMessageRedacted:     parley.ChainRedact,
	parley.EventMemberJoined:        parley.ChainJoin,
	parley.EventMemberInvited:       parley.ChainInvite,
	parley.EventMemberLeft:          parley.ChainLeave,
	parley.EventMemberRemoved:       parley.ChainRemove,
	parley.EventMemberRole:          parley.ChainRole,
	parley.EventRequestAccepted:     parley.ChainAccept,
}

// chain appends e to its conversation's hash chain, after the head, with
// the transaction's time. It runs in the transaction of the change, so
// the entry commits (or rolls back) with it.
func (w *writer) chain(e *parley.ChainEntry) error {
	idx, head, err := w.ChainHead(e.ConversationID)
	if err != nil {
		return err
	}
	e.At = w.now
	e.Seal(idx, head)
	return w.AppendChainEntry(e)
}

// chainMessage appends the entry of a new message, with its content hash.
func (w *writer) chainMessage(m *parley.Message) error {
	content, err := messageContent(w, m)
	if err != nil {
		return err
	}
	return w.chain(&parley.ChainEntry{ConversationID: m.ConversationID, Kind: parley.ChainMessage, MessageID: m.ID,
		Seq: m.Seq, ActorID: m.SenderID, ContentHash: content.Hash()})
}

// chainMessages appends the entries of new messages, in order, with one
// AppendChainEntries (the campaign worker's chunks).
func (w *writer) chainMessages(ms []*parley.Message) error {
	ids := make([]string, 0, len(ms))
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		if !seen[m.ConversationID] {
			seen[m.ConversationID] = true
			ids = append(ids, m.ConversationID)
		}
	}
	heads, err := w.ChainHeads(ids)
	if err != nil {
		return err
	}
	es := make([]*parley.ChainEntry, 0, len(ms))
	for _, m := range ms {
		content, err := messageContent(w, m)
		if err != nil {
			return err
		}
		h := heads[m.ConversationID]
		e := &parley.ChainEntry{ConversationID: m.ConversationID, Kind: parley.ChainMessage, MessageID: m.ID,
			Seq: m.Seq, ActorID: m.SenderID, ContentHash: content.Hash(), At: w.now}
		e.Seal(h.Index, h.Hash)
		heads[m.ConversationID] = parley.ChainHead{Index: e.Index, Hash: e.Hash}
		es = append(es, e)
	}
	return w.AppendChainEntries(es)
}

// messageContent returns what m's content hash covers; only media,
// sticker and file messages cost a lookup of their attachments.
func messageContent(tx parley.Tx, m *parley.Message) (*parley.MessageContent, error) {
	var media []*parley.Media
	if m.Kind != parley.MessageText && m.Kind != parley.MessageSystem {
		byMsg, err := tx.MediaOfMessages([]string{m.ID})
		if err != nil {
			return nil, err
		}
		media = byMsg[m.ID]
	}
	return parley.ContentOf(m, media), nil
}

// chainEvent appends the chain entry of a stored conversation-wide event,
// if its type is one the chain records.
func (w *writer) chainEvent(e *parley.Event) error {
	kind, ok := chainKinds[e.Type]
	if !ok || e.ConversationID == "" || e.UserID != "" {
		return nil
	}
	entry := &parley.ChainEntry{ConversationID: e.ConversationID, Kind: kind, ActorID: e.ActorID}
	var data struct {
		User string `json:"user"`
		Role string `json:"role"`
	}
	if len(e.Data) > 0 {
		_ = json.Unmarshal(e.Data, &data) // events the app wrote; a field missing leaves it empty
	}
	switch kind {
	case parley.ChainCreate:
		if err := w.chain(entry); err != nil {
			return err
		}
		// The members the conversation starts with join in the same
		// transaction (a direct conversation's two; a group's owner, whose
		// additions follow as their own events).
		members, err := w.Members(e.ConversationID)
		if err != nil {
			return err
		}
		for _, m := range members {
			k := parley.ChainJoin
			if m.Status == parley.StatusPending {
				k = parley.ChainInvite
			}
			if err := w.chain(&parley.ChainEntry{ConversationID: e.ConversationID, Kind: k, ActorID: e.ActorID, SubjectID: m.UserID}); err != nil {
				return err
			}
		}
		return nil
	case parley.ChainEdit, parley.ChainRedact:
		m, err := w.MessageByID(e.MessageID)
		if err != nil {
			return err
		}
		content, err := messageContent(w, m)
		if err != nil {
			return err
		}
		entry.MessageID, entry.Seq, entry.ContentHash = m.ID, m.Seq, content.Hash()
	case parley.ChainUnsend, parley.ChainExpire, parley.ChainErase:
		entry.MessageID, entry.Seq = e.MessageID, e.Seq
	case parley.ChainAccept:
		entry.SubjectID = e.ActorID
	case parley.ChainRole:
		entry.SubjectID, entry.ContentHash = data.User, parley.TextHash(data.Role)
	default:
		entry.SubjectID = data.User
	}
	return w.chain(entry)
}
