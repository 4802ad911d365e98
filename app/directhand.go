package app

import (
	"context"
	"slices"
	"time"

	"github.com/parleyhq/parley"
)

// A send into a direct conversation has in hand, when its transaction
// ends, everything of the conversation that its message's frames show
// but the users: the conversation, the message, both memberships, and
// that no block stands between the two members (the send was refused
// otherwise). It hands them to the notifier with the message's event
// (Event.Hand, never on the bus), so that DirectFrames reads only the
// rest (the users, who is an agent) instead of six statements on a
// reader whose page cache the commit just emptied.
//
// What a send had in hand is the committed state of its batch only if no
// update after it in the batch changed it: updates of several requests
// share one commit on both stores (group commit), and the batch of every
// node runs one at a time (on PostgreSQL under the positions lock). So
// every update that may change how a message already sent renders — all
// but sends and markers (updateKeepingFrames) — counts its runs in
// App.frameWrites before it writes anything; a send notes the count
// before it reads anything, and its hand is used only while the count
// has not moved, up to a check after the rendering's reads. An update of
// another node lands between the commit and those reads only as a later
// batch: the frame then shows the state its message committed with.

// sentHand is what a send had in hand (see above).
type sentHand struct {
	// frames is App.frameWrites when the send ran.
	frames uint64
	// c is the conversation as the send read it: of it a frame uses
	// only what never changes (id, kind, the members' key).
	c       parley.Conversation
	m       parley.Message
	members [2]parley.Member
	// users holds the two members and the message's agent, and agents
	// those of them on a business's team, when the store's reads cost
	// no round trip (inProcess): the send read them too, so that the
	// frames need no read at all. Nil otherwise.
	users  map[string]*parley.User
	agents map[string]bool
}

// inProcess is a transaction whose reads cost no round trip (SQLite's
// committer, whose page cache is warm). On PostgreSQL, reads in the
// committer would hold every node's batches (the positions lock) for
// their round trips: there the frames read the users after the commit.
type inProcess interface{ ReadsInProcess() bool }

// handOver attaches to the event of m, a new message of direct
// conversation c, what the send has in hand: me and other are the two
// memberships as the send leaves them, frames the count it noted before
// reading anything. Call it after messageCreated.
func (w *writer) handOver(frames uint64, c *parley.Conversation, m *parley.Message, me, other *parley.Member) error {
	if c.Kind != parley.ConversationDirect {
		return nil
	}
	var e *parley.Event
	for i := len(w.events) - 1; i >= 0 && e == nil; i-- {
		if ev := w.events[i]; ev.Type == parley.EventMessageCreated && ev.MessageID == m.ID {
			e = ev
		}
	}
	if e == nil {
		return nil
	}
	h := &sentHand{frames: frames, c: *c, m: *m, members: [2]parley.Member{*me, *other}}
	if p, ok := w.Tx.(inProcess); ok && p.ReadsInProcess() {
		ids := []string{me.UserID, other.UserID}
		if m.AgentID != "" {
			ids = append(ids, m.AgentID)
		}
		var err error
		if h.users, err = w.UsersByIDs(ids); err != nil {
			return err
		}
		agents, err := w.AgentsAmong(ids)
		if err != nil {
			return err
		}
		h.agents = map[string]bool{}
		for _, id := range agents {
			h.agents[id] = true
		}
		for _, id := range ids {
			if h.users[id] == nil {
				h.users, h.agents = nil, nil // read them after the commit, as before
				break
			}
		}
	}
	e.Hand = h
	return nil
}

// handTx answers from sends' hands the reads that rendering their
// messages' frames makes of them, and passes every other read to the
// store's transaction. Values are copied out: callers may change them.
type handTx struct {
	parley.Tx
	convs   map[string]*parley.Conversation
	msgs    map[string]*parley.Message
	members map[string][2]parley.Member
	// unblocked holds, per user, the other members of their direct
	// conversations in hand: no block stands between them.
	unblocked map[string]map[string]bool
	// users and agents are the users sends read, and which of them are
	// agents (sentHand.users).
	users  map[string]*parley.User
	agents map[string]bool
}

// holds reports whether h is the hand of e's message and still holds at
// count (App.frameWrites).
func (h *sentHand) holds(e *parley.Event, count uint64) bool {
	return h.frames == count && h.m.ID == e.MessageID && h.m.Pos == e.Pos && h.c.ID == e.ConversationID
}

// handsOf returns tx with the hands of the events in todo that still hold
// at count (App.frameWrites).
func handsOf(tx parley.Tx, todo []*parley.Event, count uint64) *handTx {
	ht := &handTx{Tx: tx}
	for _, e := range todo {
		h, ok := e.Hand.(*sentHand)
		if !ok || !h.holds(e, count) {
			continue
		}
		if ht.msgs == nil {
			ht.convs, ht.msgs = map[string]*parley.Conversation{}, map[string]*parley.Message{}
			ht.members, ht.unblocked = map[string][2]parley.Member{}, map[string]map[string]bool{}
		}
		ht.convs[h.c.ID], ht.msgs[h.m.ID], ht.members[h.c.ID] = &h.c, &h.m, h.members
		if h.users != nil {
			if ht.users == nil {
				ht.users, ht.agents = map[string]*parley.User{}, map[string]bool{}
			}
			for id, u := range h.users {
				// A later send's read is as new as an earlier one's.
				ht.users[id], ht.agents[id] = u, h.agents[id]
			}
		}
		a, b := h.members[0].UserID, h.members[1].UserID
		for _, p := range [][2]string{{a, b}, {b, a}} {
			if ht.unblocked[p[0]] == nil {
				ht.unblocked[p[0]] = map[string]bool{}
			}
			ht.unblocked[p[0]][p[1]] = true
		}
	}
	return ht
}

// usersWithAgents is a store that reads users, with whether each is an
// active agent of a business, in one statement outside any transaction
// (PostgreSQL, whose sends leave sentHand.users nil). DirectFrames reads
// so, before its read transaction, the users that rendering the hands
// needs: the transaction then reads nothing for them, and a read
// transaction that reads nothing costs no round trip, where BEGIN, the
// users, the agents and ROLLBACK cost four. The statement runs after the
// sends committed, as the transaction's reads would.
type usersWithAgents interface {
	UsersWithAgents(ctx context.Context, ids []string) (map[string]*parley.User, map[string]bool, error)
}

// handUsersMissing returns the users whom rendering the hands of todo
// that hold at count (as handsOf takes them) reads and no hand holds:
// the members of each conversation and the message's agent.
func handUsersMissing(todo []*parley.Event, count uint64) []string {
	var ids []string
	seen := map[string]bool{}
	for _, e := range todo {
		h, ok := e.Hand.(*sentHand)
		if !ok || !h.holds(e, count) || h.users != nil {
			continue
		}
		for _, id := range []string{h.members[0].UserID, h.members[1].UserID, h.m.AgentID} {
			if id != "" && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// addUsers puts users and whether each is an agent (UsersWithAgents)
// beside those that hands held; a user a hand held stays.
func (h *handTx) addUsers(users map[string]*parley.User, agents map[string]bool) {
	for id, u := range users {
		if h.users == nil {
			h.users, h.agents = map[string]*parley.User{}, map[string]bool{}
		}
		if _, ok := h.users[id]; !ok {
			h.users[id], h.agents[id] = u, agents[id]
		}
	}
}

// empty reports whether no hand is used.
func (h *handTx) empty() bool { return len(h.msgs) == 0 }

// clockNow keeps the app's time of the transaction (txNow).
func (h *handTx) clockNow() time.Time { return txNow(h.Tx) }

// ConversationByID implements parley.Tx.
func (h *handTx) ConversationByID(id string) (*parley.Conversation, error) {
	if c, ok := h.convs[id]; ok {
		cc := *c
		return &cc, nil
	}
	return h.Tx.ConversationByID(id)
}

// MessageByID implements parley.Tx.
func (h *handTx) MessageByID(id string) (*parley.Message, error) {
	if m, ok := h.msgs[id]; ok {
		mc := *m
		return &mc, nil
	}
	return h.Tx.MessageByID(id)
}

// Members implements parley.Tx.
func (h *handTx) Members(conversationID string) ([]*parley.Member, error) {
	if ms, ok := h.members[conversationID]; ok {
		return []*parley.Member{&ms[0], &ms[1]}, nil // ms is a copy
	}
	return h.Tx.Members(conversationID)
}

// BlocksAmong implements parley.Tx.
func (h *handTx) BlocksAmong(userID string, others []string) (map[string]bool, error) {
	for _, o := range others {
		if !h.unblocked[userID][o] {
			return h.Tx.BlocksAmong(userID, others)
		}
	}
	return map[string]bool{}, nil
}

// Reactions implements parley.Tx: a message in hand has none.
func (h *handTx) Reactions(messageIDs []string) (map[string][]*parley.Reaction, error) {
	rest := h.notInHand(messageIDs)
	if len(rest) == 0 {
		return map[string][]*parley.Reaction{}, nil
	}
	return h.Tx.Reactions(rest)
}

// MessageOpens implements parley.Tx: a message in hand was opened by no one.
func (h *handTx) MessageOpens(messageIDs []string) (map[string][]string, error) {
	rest := h.notInHand(messageIDs)
	if len(rest) == 0 {
		return map[string][]string{}, nil
	}
	return h.Tx.MessageOpens(rest)
}

func (h *handTx) notInHand(ids []string) []string {
	var rest []string
	for _, id := range ids {
		if _, ok := h.msgs[id]; !ok {
			rest = append(rest, id)
		}
	}
	return rest
}

// UsersByIDs implements parley.Tx.
func (h *handTx) UsersByIDs(ids []string) (map[string]*parley.User, error) {
	out := make(map[string]*parley.User, len(ids))
	for _, id := range ids {
		u, ok := h.users[id]
		if !ok {
			return h.Tx.UsersByIDs(ids)
		}
		uc := *u
		out[id] = &uc
	}
	return out, nil
}

// AgentsAmong implements parley.Tx.
func (h *handTx) AgentsAmong(userIDs []string) ([]string, error) {
	out := []string{}
	for _, id := range userIDs {
		agent, ok := h.agents[id]
		if !ok {
			return h.Tx.AgentsAmong(userIDs)
		}
		if agent && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}
