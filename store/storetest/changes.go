package storetest

import (
	"slices"
	"testing"

	"github.com/parleyhq/parley"
)

// testChangesBefore: messages and events below a position, newest first,
// messages without a user, events with theirs, cut at the limit.
func testChangesBefore(t *testing.T, s parley.Store) {
	mkUsers(t, s, "a", "b")
	mkConversation(t, s, "c1", "a")
	mkConversation(t, s, "c2", "b")
	m1 := mkMessage(t, s, "c1", "a", "x1", "one", at(1))
	e1 := &parley.Event{Type: parley.EventReactionAdded, ConversationID: "c1", CreatedAt: at(2)}
	update(t, s, func(tx parley.Tx) error { return tx.AppendEvent(e1) })
	m2 := mkMessage(t, s, "c2", "b", "x2", "two", at(3))
	e2 := &parley.Event{Type: parley.EventFolderChanged, ConversationID: "c2", UserID: "b", CreatedAt: at(4)}
	update(t, s, func(tx parley.Tx) error { return tx.AppendEvent(e2) })
	m3 := mkMessage(t, s, "c1", "b", "x3", "three", at(5))

	all := []parley.Change{{Pos: e2.Pos, ConversationID: "c2", UserID: "b"}, {Pos: m2.Pos, ConversationID: "c2"},
		{Pos: e1.Pos, ConversationID: "c1"}, {Pos: m1.Pos, ConversationID: "c1"}}
	before := func(pos int64, limit int) []parley.Change {
		return view(t, s, func(tx parley.Tx) ([]parley.Change, error) { return tx.ChangesBefore(pos, limit) })
	}
	wantEqual(t, "below the last message", before(m3.Pos, 10), all)
	wantEqual(t, "cut at the limit", before(m3.Pos, 3), all[:3])
	wantEqual(t, "below an event", before(e2.Pos, 10), all[1:])
	wantEqual(t, "below the first", before(m1.Pos, 10), []parley.Change{})
	wantEqual(t, "limit 0", before(m3.Pos, 0), []parley.Change{})
	if got := before(m3.Pos+1, 1); len(got) != 1 || got[0].Pos != m3.Pos {
		t.Fatalf("below the head+1: %+v, want message %d", got, m3.Pos)
	}
}

// testAgentsAmong: only active agents, each once, only from the list.
func testAgentsAmong(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2", "a1", "a2", "a3", "p")
	gone := newAgent("biz", "a3", 3)
	gone.Active = false
	update(t, s, func(tx parley.Tx) error {
		for _, a := range []*parley.Agent{newAgent("biz", "a1", 1), newAgent("biz2", "a1", 2), newAgent("biz", "a2", 2), gone} {
			if err := tx.PutAgent(a); err != nil {
				return err
			}
		}
		return nil
	})
	among := func(ids ...string) []string {
		got := view(t, s, func(tx parley.Tx) ([]string, error) { return tx.AgentsAmong(ids) })
		slices.Sort(got)
		return got
	}
	wantEqual(t, "agents among all", among("a1", "a2", "a3", "p", "biz", "nobody"), []string{"a1", "a2"})
	wantEqual(t, "agents among some", among("a2", "p", "a2"), []string{"a2"})
	wantEqual(t, "agents among none", among(), []string{})
	wantEqual(t, "no agent among", among("p", "a3"), []string{})
}

// testAgentMembers: the conversation's members who are active agents,
// each once (an agent of two businesses), any member status, no one else.
func testAgentMembers(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2", "a1", "a2", "a3", "a4", "p")
	mkConversation(t, s, "c1", "p")
	mkConversation(t, s, "c2", "p")
	gone := newAgent("biz", "a3", 3)
	gone.Active = false
	left := newMember("c1", "a2")
	left.Status = parley.StatusLeft
	update(t, s, func(tx parley.Tx) error {
		for _, a := range []*parley.Agent{newAgent("biz", "a1", 1), newAgent("biz2", "a1", 2), newAgent("biz", "a2", 2), gone,
			newAgent("biz", "a4", 4)} {
			if err := tx.PutAgent(a); err != nil {
				return err
			}
		}
		for _, m := range []*parley.Member{newMember("c1", "p"), newMember("c1", "a1"), left, newMember("c1", "a3"),
			newMember("c2", "a4")} {
			if err := tx.PutMember(m); err != nil {
				return err
			}
		}
		return nil
	})
	in := func(conv string) []string {
		got := view(t, s, func(tx parley.Tx) ([]string, error) { return tx.AgentMembers(conv) })
		slices.Sort(got)
		return got
	}
	wantEqual(t, "agents in c1", in("c1"), []string{"a1", "a2"})
	wantEqual(t, "agents in c2", in("c2"), []string{"a4"})
	wantEqual(t, "agents in a conversation without members", in("nowhere"), []string{})
	// The same for a group with more members than the server has agents
	// (a store may walk the agents then).
	big := newConversation("big", "p")
	big.Kind, big.MemberCount = parley.ConversationGroup, 5
	update(t, s, func(tx parley.Tx) error {
		if err := tx.CreateConversation(big); err != nil {
			return err
		}
		left := newMember("big", "a2")
		left.Status = parley.StatusLeft
		for _, m := range []*parley.Member{newMember("big", "p"), newMember("big", "a1"), left, newMember("big", "a3"),
			newMember("big", "biz")} {
			if err := tx.PutMember(m); err != nil {
				return err
			}
		}
		return nil
	})
	wantEqual(t, "agents in a group larger than the team", in("big"), []string{"a1", "a2"})
}
