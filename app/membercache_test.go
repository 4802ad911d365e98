package app_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/parleyhq/parley/app"
)

// TestFanoutFollowsMembership: the fan-out of a large group keeps the
// member states between messages, and still never tells a removed member
// of a later message, and tells one added since.
func TestFanoutFollowsMembership(t *testing.T) {
	e := newFrameEnv(t)
	owner := e.register("owner", "")
	var handles []string
	members := map[string]*app.Actor{}
	for i := range 80 { // above the size the cache keeps
		h := fmt.Sprintf("member%02d", i)
		members[h] = e.register(h, "")
		handles = append(handles, h)
	}
	g, _, err := e.a.CreateGroup(e.ctx, owner, app.GroupInput{Title: "big", Members: handles})
	if err != nil {
		t.Fatal(err)
	}
	late := e.register("late", "")
	audience := func(what string) []string {
		t.Helper()
		ev := e.send(owner, g.ID, app.SendInput{Text: what})
		for range 2 { // a miss that fills the cache, then a hit
			f, err := e.a.Fanout(e.ctx, g.ID, ev.MessageID, ev.Pos, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Audience) < 80 {
				t.Fatalf("%s: audience of %d", what, len(f.Audience))
			}
		}
		f, err := e.a.Fanout(e.ctx, g.ID, ev.MessageID, ev.Pos, 1)
		if err != nil {
			t.Fatal(err)
		}
		return f.Audience
	}
	gone := members["member07"].User.ID
	if a := audience("before"); !slices.Contains(a, gone) || slices.Contains(a, late.User.ID) {
		t.Fatalf("before: member07 in the audience %v, late %v", slices.Contains(a, gone), slices.Contains(a, late.User.ID))
	}
	if err := e.a.RemoveMember(e.ctx, owner, g.ID, "member07"); err != nil {
		t.Fatal(err)
	}
	if a := audience("after the removal"); slices.Contains(a, gone) {
		t.Fatal("a removed member is in the audience of a later message")
	}
	if _, err := e.a.AddMembers(e.ctx, owner, g.ID, []string{"late"}); err != nil {
		t.Fatal(err)
	}
	if a := audience("after the addition"); !slices.Contains(a, late.User.ID) {
		t.Fatal("an added member is not in the audience of a later message")
	}
}
