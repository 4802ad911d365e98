package app_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// TestListAcrossGroupSizes: a group that grows past LargeGroupMembers is
// listed through its own row from then on, and back through its members'
// rows when it has shrunk to half; every list keeps one order, newest
// activity first, across direct conversations, small groups and the
// large group, before and after each move.
func TestListAcrossGroupSizes(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	clock := &fakeClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	a := app.New(db, app.Config{Password: cheap, LargeGroupMembers: 4}, app.WithClock(clock.Now))
	reg := func(h string) *app.Actor { return registerActor(t, a, h) }
	own := reg("owner")
	var ms []*app.Actor
	for i := range 5 {
		m := reg(fmt.Sprintf("mem%d", i))
		if err := a.Follow(ctx, m, "owner", true); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	if err := a.Follow(ctx, own, "mem0", true); err != nil { // so that mem0's direct message lands in the inbox
		t.Fatal(err)
	}
	tick := func() { clock.Advance(time.Second) }
	send := func(who *app.Actor, conv string) {
		t.Helper()
		tick()
		if _, _, err := a.Send(ctx, who, conv, app.SendInput{ClientID: fmt.Sprint(clock.Now().UnixNano()), Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	large := func(id string) bool {
		t.Helper()
		var c *parley.Conversation
		if err := db.View(ctx, func(tx parley.Tx) (err error) { c, err = tx.ConversationByID(id); return err }); err != nil {
			t.Fatal(err)
		}
		return c.ListFromConversation
	}
	wantList := func(who *app.Actor, want ...string) {
		t.Helper()
		for _, limit := range []int{0, 1, 2} {
			var got []string
			cursor := ""
			for {
				page, err := a.Conversations(ctx, who, parley.FolderInbox, cursor, limit)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range page.Items {
					got = append(got, v.ID)
				}
				if cursor = page.NextCursor; cursor == "" {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s's list (limit %d): %v, want %v", who.User.Handle, limit, got, want)
			}
		}
	}

	tick()
	g, _, err := a.CreateGroup(ctx, own, app.GroupInput{Title: "grows", Members: []string{"mem0", "mem1"}})
	if err != nil {
		t.Fatal(err)
	}
	tick()
	h, _, err := a.CreateGroup(ctx, own, app.GroupInput{Title: "stays small", Members: []string{"mem0"}})
	if err != nil {
		t.Fatal(err)
	}
	tick()
	d, _, err := a.CreateDirect(ctx, ms[0], "owner")
	if err != nil {
		t.Fatal(err)
	}
	send(ms[0], d.ID)
	send(own, g.ID)
	wantList(own, g.ID, d.ID, h.ID)
	if large(g.ID) {
		t.Fatal("a group of 3 is listed as large")
	}

	// 5 members > 4: the group moves, and its activity still orders it.
	tick()
	if _, err := a.AddMembers(ctx, own, g.ID, []string{"mem2", "mem3"}); err != nil {
		t.Fatal(err)
	}
	if !large(g.ID) {
		t.Fatal("a group of 5 is not listed as large")
	}
	wantList(own, g.ID, d.ID, h.ID)
	send(own, h.ID)
	wantList(own, h.ID, g.ID, d.ID)
	wantList(ms[0], h.ID, g.ID, d.ID)
	send(ms[1], g.ID)
	wantList(own, g.ID, h.ID, d.ID)
	wantList(ms[3], g.ID)
	send(ms[0], d.ID)
	wantList(ms[0], d.ID, g.ID, h.ID)

	// Down to 3 (> 4/2) it stays; at 2 it moves back.
	tick() // the removals' system messages come after the last send
	if err := a.RemoveMember(ctx, own, g.ID, "mem3"); err != nil {
		t.Fatal(err)
	}
	if err := a.Leave(ctx, ms[2], g.ID); err != nil {
		t.Fatal(err)
	}
	if !large(g.ID) {
		t.Fatal("a group of 3 moved back before it shrank to half the threshold")
	}
	if err := a.RemoveMember(ctx, own, g.ID, "mem1"); err != nil {
		t.Fatal(err)
	}
	if large(g.ID) {
		t.Fatal("a group of 2 is still listed as large")
	}
	// The removals were system messages: the group is newest.
	wantList(own, g.ID, d.ID, h.ID)
	wantList(ms[3], g.ID) // a removed member still lists it
	send(own, h.ID)
	wantList(own, h.ID, g.ID, d.ID)
	send(ms[0], g.ID)
	wantList(ms[0], g.ID, h.ID, d.ID)
}
