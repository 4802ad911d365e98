package storetest

import (
	"testing"

	"github.com/parleyhq/parley"
)

// testUserSuspended: the suspended flag is stored, read back and changed
// by UpdateUser like every other field.
func testUserSuspended(t *testing.T, s parley.Store) {
	u := newUser("u1")
	u.Suspended = true
	update(t, s, func(tx parley.Tx) error { return tx.CreateUser(u) })
	got := view(t, s, func(tx parley.Tx) (*parley.User, error) { return tx.UserByHandle("u1") })
	wantEqual(t, "created suspended", got, u)

	u.Suspended, u.UpdatedAt = false, at(9)
	update(t, s, func(tx parley.Tx) error { return tx.UpdateUser(u) })
	got = view(t, s, func(tx parley.Tx) (*parley.User, error) { return tx.UserByID("u1") })
	wantEqual(t, "unsuspended", got, u)
	byIDs := view(t, s, func(tx parley.Tx) (map[string]*parley.User, error) { return tx.UsersByIDs([]string{"u1"}) })
	wantEqual(t, "UsersByIDs", byIDs["u1"], u)
}

// testUsersList: Users pages through accounts in handle order, by kind.
func testUsersList(t *testing.T, s parley.Store) {
	handles := func(us []*parley.User) []string {
		out := []string{}
		for _, u := range us {
			out = append(out, u.Handle)
		}
		return out
	}
	list := func(f parley.UserFilter) []string {
		t.Helper()
		return handles(view(t, s, func(tx parley.Tx) ([]*parley.User, error) { return tx.Users(f) }))
	}
	wantEqual(t, "empty store", list(parley.UserFilter{}), []string{})
	mkUsers(t, s, "dora", "bea", "carl", "ann")
	update(t, s, func(tx parley.Tx) error {
		b := newUser("shop")
		b.Kind = parley.KindBusiness
		return tx.CreateUser(b)
	})
	wantEqual(t, "all", list(parley.UserFilter{}), []string{"ann", "bea", "carl", "dora", "shop"})
	wantEqual(t, "first page", list(parley.UserFilter{Limit: 2}), []string{"ann", "bea"})
	wantEqual(t, "next page", list(parley.UserFilter{Limit: 2, AfterHandle: "bea"}), []string{"carl", "dora"})
	wantEqual(t, "last page", list(parley.UserFilter{Limit: 2, AfterHandle: "dora"}), []string{"shop"})
	wantEqual(t, "businesses", list(parley.UserFilter{Kind: parley.KindBusiness}), []string{"shop"})
	wantEqual(t, "people after carl", list(parley.UserFilter{Kind: parley.KindPerson, AfterHandle: "carl"}), []string{"dora"})
	wantEqual(t, "bots", list(parley.UserFilter{Kind: parley.KindBot}), []string{})
	got := view(t, s, func(tx parley.Tx) ([]*parley.User, error) { return tx.Users(parley.UserFilter{Limit: 1}) })
	wantEqual(t, "whole rows", got[0], newUser("ann"))
}

// testStats: the counts follow what is stored.
func testStats(t *testing.T, s parley.Store) {
	stats := func() *parley.Stats {
		t.Helper()
		return view(t, s, func(tx parley.Tx) (*parley.Stats, error) { return tx.Stats() })
	}
	wantEqual(t, "empty store", stats(), &parley.Stats{
		Users:         map[parley.UserKind]int{parley.KindPerson: 0, parley.KindBusiness: 0, parley.KindBot: 0},
		Conversations: map[parley.ConversationKind]int{parley.ConversationDirect: 0, parley.ConversationGroup: 0},
	})

	mkUsers(t, s, "a", "b", "c")
	update(t, s, func(tx parley.Tx) error {
		for id, kind := range map[string]parley.UserKind{"shop": parley.KindBusiness, "shop2": parley.KindBusiness, "bot": parley.KindBot} {
			u := newUser(id)
			u.Kind = kind
			if err := tx.CreateUser(u); err != nil {
				return err
			}
		}
		c, err := tx.UserByID("c")
		if err != nil {
			return err
		}
		c.Suspended = true
		if err := tx.UpdateUser(c); err != nil {
			return err
		}
		for _, ss := range []*parley.Session{newSession("s1", "a", 1), newSession("s2", "a", 2), newSession("s3", "b", 3)} {
			if err := tx.CreateSession(ss); err != nil {
				return err
			}
		}
		tok := newSession("t1", "bot", 4)
		tok.Kind, tok.Name, tok.Scopes = parley.SessionToken, "ci", []string{"read"}
		if err := tx.CreateSession(tok); err != nil {
			return err
		}
		for _, ag := range []*parley.Agent{newAgent("shop", "a", 1), newAgent("shop", "b", 2), newAgent("shop2", "a", 3)} {
			if err := tx.PutAgent(ag); err != nil {
				return err
			}
		}
		gone := newAgent("shop2", "b", 4)
		gone.Active = false
		return tx.PutAgent(gone)
	})
	mkConversation(t, s, "g1", "a")
	update(t, s, func(tx parley.Tx) error {
		d := newConversation("d1", "a")
		d.Kind, d.DirectKey = parley.ConversationDirect, "a:b"
		return tx.CreateConversation(d)
	})
	mkMessage(t, s, "g1", "a", "", "one", at(1))
	mkMessage(t, s, "g1", "b", "", "two", at(2))
	mkMessage(t, s, "d1", "a", "", "three", at(3))
	update(t, s, func(tx parley.Tx) error {
		// Two uploads of the same file share a blob: stored once.
		for _, md := range []*parley.Media{newMedia("m1", "a", "k1", 1000, at(1)), newMedia("m2", "b", "k1", 1000, at(2)),
			newMedia("m3", "a", "k2", 250, at(3))} {
			if err := tx.CreateMedia(md); err != nil {
				return err
			}
		}
		return nil
	})
	mkInboxItems(t, s, newInboxItem("i1", "shop", 1), newInboxItem("i2", "shop", 2))

	wantEqual(t, "stats", stats(), &parley.Stats{
		Users:          map[parley.UserKind]int{parley.KindPerson: 3, parley.KindBusiness: 2, parley.KindBot: 1},
		SuspendedUsers: 1,
		// The inbox items' conversations are groups here.
		Conversations: map[parley.ConversationKind]int{parley.ConversationDirect: 1, parley.ConversationGroup: 3},
		Messages:      3, MediaFiles: 3, MediaBytes: 1250,
		Sessions: 3, Tokens: 1,
		BusinessInboxes: 1, InboxConversations: 2, Agents: 3,
	})
}
