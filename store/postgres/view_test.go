package postgres_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/postgres"
	"github.com/parleyhq/parley/store/postgres/pgtest"
)

// TestViewBeginsAtFirstRead: a View begins its read transaction at its
// first statement, so one that reads nothing costs no round trip, and one
// that reads still sees one snapshot throughout; when the transaction
// cannot begin, the View returns that error, whichever kind of read met
// it.
func TestViewBeginsAtFirstRead(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t, postgres.Options{})
	now := time.Unix(1700000000, 0).UTC()
	create := func(id string) {
		t.Helper()
		if err := db.Update(ctx, func(tx parley.Tx) error {
			return tx.CreateUser(&parley.User{ID: id, Handle: id, Kind: parley.KindPerson,
				DMPolicy: parley.PolicyOpen, CreatedAt: now, UpdatedAt: now})
		}); err != nil {
			t.Fatal(err)
		}
	}
	create("u1")

	before := db.ReadsBegun()
	if err := db.View(ctx, func(parley.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := db.ReadsBegun() - before; n != 0 {
		t.Fatalf("a view that read nothing began %d transactions", n)
	}

	// One snapshot: a user made after the view's first read is not seen
	// by its second.
	before = db.ReadsBegun()
	err := db.View(ctx, func(tx parley.Tx) error {
		if _, err := tx.UserByID("u1"); err != nil {
			return err
		}
		create("u2")
		if _, err := tx.UserByID("u2"); !parley.IsNotFound(err) {
			t.Errorf("the view's second read saw a user made after its first (err %v)", err)
		}
		users, err := tx.UsersByIDs([]string{"u1", "u2"})
		if err != nil {
			return err
		}
		if len(users) != 1 {
			t.Errorf("the view's third read saw %d users, want 1", len(users))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := db.ReadsBegun() - before; n != 1 {
		t.Fatalf("a view with three reads began %d transactions, want 1", n)
	}

	// A transaction that cannot begin: its error, from a one-row read
	// and from a many-row one.
	gone, cancel := context.WithCancel(ctx)
	cancel()
	for name, read := range map[string]func(parley.Tx) error{
		"UserByID":   func(tx parley.Tx) error { _, err := tx.UserByID("u1"); return err },
		"UsersByIDs": func(tx parley.Tx) error { _, err := tx.UsersByIDs([]string{"u1"}); return err },
	} {
		err := db.View(gone, read)
		if err == nil || !strings.Contains(err.Error(), "begin read") {
			t.Errorf("%s in a view that cannot begin: %v, want the BEGIN's error", name, err)
		}
	}
}

// TestUsersWithAgents reads users with whether each is an active agent
// of a business, in one statement, leaving out ids of no user.
func TestUsersWithAgents(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t, postgres.Options{})
	now := time.Unix(1700000000, 0).UTC()
	err := db.Update(ctx, func(tx parley.Tx) error {
		for _, u := range []struct {
			id   string
			kind parley.UserKind
		}{{"shop", parley.KindBusiness}, {"agent", parley.KindPerson}, {"former", parley.KindPerson}, {"person", parley.KindPerson}} {
			if err := tx.CreateUser(&parley.User{ID: u.id, Handle: u.id, DisplayName: "Name of " + u.id, Kind: u.kind,
				DMPolicy: parley.PolicyOpen, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		for _, a := range []parley.Agent{{BusinessID: "shop", UserID: "agent", Role: parley.AgentRole("agent"), Active: true},
			{BusinessID: "shop", UserID: "former", Role: parley.AgentRole("agent"), Active: false}} {
			a.CreatedAt, a.UpdatedAt, a.LastAssignedAt = now, now, now
			if err := tx.PutAgent(&a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"shop", "agent", "former", "person", "nobody"}
	users, agents, err := db.UsersWithAgents(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]*parley.User
	var wantAgents []string
	err = db.View(ctx, func(tx parley.Tx) error {
		var err error
		if want, err = tx.UsersByIDs(ids); err != nil {
			return err
		}
		wantAgents, err = tx.AgentsAmong(ids)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != len(want) || len(want) != 4 {
		t.Fatalf("%d users, want %d (UsersByIDs) and 4", len(users), len(want))
	}
	for id, w := range want {
		if u := users[id]; u == nil || *u != *w {
			t.Errorf("user %s: %+v, want %+v", id, u, w)
		}
	}
	var gotAgents []string
	for id, a := range agents {
		if a {
			gotAgents = append(gotAgents, id)
		}
	}
	slices.Sort(gotAgents)
	slices.Sort(wantAgents)
	if !slices.Equal(gotAgents, wantAgents) || !slices.Equal(gotAgents, []string{"agent"}) {
		t.Errorf("agents %v, want %v (AgentsAmong) and [agent]", gotAgents, wantAgents)
	}
}

// TestChainHeadsCacheForgotten: ChainHeads reads the heads the committer's
// cache lacks from the store, including entries appended earlier in the
// same update that the store has not written yet (due at the batch's end).
func TestChainHeadsCacheForgotten(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t, postgres.Options{})
	at := time.Unix(1700000000, 0).UTC()
	entry := func(conv string, idx int64, head string) *parley.ChainEntry {
		e := &parley.ChainEntry{ConversationID: conv, Kind: parley.ChainMessage, MessageID: "m", Seq: idx, ActorID: "a", At: at,
			ContentHash: parley.TextHash(conv)}
		e.Seal(idx, head)
		return e
	}
	a1 := entry("c1", 0, "")
	if err := db.Update(ctx, func(tx parley.Tx) error { return tx.AppendChainEntry(a1) }); err != nil {
		t.Fatal(err)
	}
	a2, b1 := entry("c1", 1, a1.Hash), entry("c2", 0, "")
	err := db.Update(ctx, func(tx parley.Tx) error {
		for _, e := range []*parley.ChainEntry{a2, b1} {
			if err := tx.AppendChainEntry(e); err != nil {
				return err
			}
		}
		postgres.ForgetWriteCache(tx)
		got, err := tx.ChainHeads([]string{"c1", "c2", "c3"})
		if err != nil {
			return err
		}
		want := map[string]parley.ChainHead{"c1": {Index: 2, Hash: a2.Hash}, "c2": {Index: 1, Hash: b1.Hash}, "c3": {}}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("heads after the cache was emptied: %v, want %v", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
