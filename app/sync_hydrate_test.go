package app_test

import (
	"context"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// TestSyncPageBlocksPerConversation: a sync page hydrates its direct
// conversations together, and a block still shows only the handle of the
// blocked side in their direct conversation — not in a group with them,
// and not anyone else's — whichever side blocked.
func TestSyncPageBlocksPerConversation(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	me := registerActor(t, a, "viewer")
	bob, carol, dave := registerActor(t, a, "bob"), registerActor(t, a, "carol"), registerActor(t, a, "dave")
	convs := map[string]string{}
	for _, p := range []*app.Actor{bob, carol, dave} {
		if err := a.Follow(ctx, me, p.User.Handle, true); err != nil {
			t.Fatal(err)
		}
		if err := a.Follow(ctx, p, "viewer", true); err != nil {
			t.Fatal(err)
		}
		c, _, err := a.CreateDirect(ctx, p, "viewer")
		if err != nil {
			t.Fatal(err)
		}
		convs[p.User.Handle] = c.ID
	}
	g, _, err := a.CreateGroup(ctx, me, app.GroupInput{Title: "g", Members: []string{"bob"}, InvitePolicy: app.InviteAdmins})
	if err != nil {
		t.Fatal(err)
	}
	since, err := a.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []*app.Actor{bob, carol, dave, bob} {
		conv := convs[p.User.Handle]
		if i == 3 {
			conv = g.ID
		}
		if _, _, err := a.Send(ctx, p, conv, app.SendInput{ClientID: "c" + p.User.Handle + string(rune('0'+i)), Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	// senders returns, per conversation, whether the sender came whole
	// (with its kind) or as a handle only.
	senders := func() map[string]bool {
		page, err := a.Sync(ctx, me, since, 0)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, e := range page.Events {
			if e.Type == parley.EventMessageCreated && e.Message.Sender.ID != me.User.ID {
				if e.Message.Sender.Handle == "" {
					t.Fatalf("sender without a handle: %+v", e.Message.Sender)
				}
				out[e.ConversationID] = e.Message.Sender.Kind != ""
			}
		}
		return out
	}
	all := map[string]bool{convs["bob"]: true, convs["carol"]: true, convs["dave"]: true, g.ID: true}
	if got := senders(); len(got) != 4 || !got[convs["bob"]] || !got[convs["carol"]] || !got[convs["dave"]] || !got[g.ID] {
		t.Fatalf("before any block: %v, want %v", got, all)
	}
	if err := a.Block(ctx, me, "bob", true); err != nil { // the viewer blocks
		t.Fatal(err)
	}
	if err := a.Block(ctx, dave, "viewer", true); err != nil { // the viewer is blocked
		t.Fatal(err)
	}
	want := map[string]bool{convs["bob"]: false, convs["carol"]: true, convs["dave"]: false, g.ID: true}
	got := senders()
	if len(got) != len(want) {
		t.Fatalf("after the blocks: %v, want %v", got, want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Fatalf("after the blocks: %v, want %v", got, want)
		}
	}
}
