package app_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// syncTexts pages a's changes for actor from since to the end and returns
// the texts of the messages created, in order, and the last page.
func syncTexts(t *testing.T, a *app.App, actor *app.Actor, since int64, limit int) ([]string, *app.SyncPage) {
	t.Helper()
	var texts []string
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatal("sync does not end")
		}
		page, err := a.Sync(context.Background(), actor, since, limit)
		if err != nil {
			t.Fatal(err)
		}
		if page.Limited {
			return texts, page
		}
		for _, e := range page.Events {
			if e.Pos <= since {
				t.Fatalf("event at %d on a page after %d", e.Pos, since)
			}
			if e.Type == parley.EventMessageCreated {
				texts = append(texts, e.Message.Text)
			}
		}
		since = page.Next
		if !page.More {
			return texts, page
		}
	}
}

// TestSyncFromTheBeginning: a new device (since 0) is sent everything its
// user may see from the beginning, oldest first, over as many pages as it
// takes, and nothing of anyone else's conversations; since=now
// (app.SinceHead) starts at the head with nothing replayed.
func TestSyncFromTheBeginning(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	ann, conv := pair(t, a, 1)
	carol, other := pair(t, a, 2)
	var want []string
	for i := range 7 {
		text := fmt.Sprint("to my friend ", i)
		if _, _, err := a.Send(ctx, ann, conv, app.SendInput{ClientID: fmt.Sprint("f", i), Text: text}); err != nil {
			t.Fatal(err)
		}
		want = append(want, text)
		if _, _, err := a.Send(ctx, carol, other, app.SendInput{ClientID: fmt.Sprint("c", i), Text: fmt.Sprint("not for ann ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{1, 3, 500} {
		got, last := syncTexts(t, a, ann, 0, limit)
		if last.Limited || !slices.Equal(got, want) {
			t.Fatalf("a new device paged by %d: limited %v, %q, want %q", limit, last.Limited, got, want)
		}
	}
	head, err := a.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	page, err := a.Sync(ctx, ann, app.SinceHead, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !page.Limited || page.Next != head || len(page.Events) != 0 {
		t.Fatalf("since=now: %+v, want the head %d with nothing replayed", page, head)
	}
	if _, err := a.Sync(ctx, ann, -2, 0); parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("a negative position: %v", err)
	}
}

// TestSyncBacklogIsTheUsers: how far behind a device may be is counted in
// its user's own messages and events, not in positions of the whole
// server: a device a few changes behind on a server that moved by
// hundreds replays them; one further behind than SyncMaxBacklog, or a new
// device of a user with more history than that, reloads (limited, the
// head). An agent's device counts its businesses' backlogs too.
func TestSyncBacklogIsTheUsers(t *testing.T) {
	s := newShopConfig(t, app.Config{SyncMaxBacklog: 12, SendPerConversation: 1e9, SendBurst: 1e9})
	a, ctx := s.a, s.ctx
	agentUser, _ := s.agent("ann", "Ann", false)
	friend := s.register("friend", "Friend", parley.KindPerson)
	if err := a.Follow(ctx, agentUser, "friend", true); err != nil {
		t.Fatal(err)
	}
	dm, _, err := a.CreateDirect(ctx, friend, "ann")
	if err != nil {
		t.Fatal(err)
	}
	since, err := a.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The rest of the server moves far: two strangers talk.
	x, y := s.register("xavier", "X", parley.KindPerson), s.register("yvonne", "Y", parley.KindPerson)
	if err := a.Follow(ctx, y, "xavier", true); err != nil {
		t.Fatal(err)
	}
	xy, _, err := a.CreateDirect(ctx, x, "yvonne")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 150 {
		s.say(x, xy.ID, fmt.Sprint("between strangers ", i))
	}
	var want []string
	for i := range 5 {
		text := fmt.Sprint("for ann ", i)
		s.say(friend, dm.ID, text)
		want = append(want, text)
	}
	got, last := syncTexts(t, a, agentUser, since, 2)
	if last.Limited || !slices.Equal(got, want) {
		t.Fatalf("5 behind on a server 150 ahead: limited %v, %q, want %q", last.Limited, got, want)
	}

	// A customer of the business the agent works for writes: the agent's
	// device counts it too, and past the limit it reloads.
	c, cconv := s.customer("Customer") // one message
	for i := range 5 {
		s.say(c, cconv, fmt.Sprint("customer ", i))
	}
	if _, last := syncTexts(t, a, agentUser, since, 0); last.Limited {
		t.Fatal("limited within the limit")
	}
	for i := range 8 {
		s.say(c, cconv, fmt.Sprint("customer more ", i))
	}
	head, err := a.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, last = syncTexts(t, a, agentUser, since, 0)
	if !last.Limited || last.Next != head || len(got) != 0 {
		t.Fatalf("past the limit in the business's inbox: limited %v, next %d (head %d), %q", last.Limited, last.Next, head, got)
	}
	// The friend's own backlog is small: replayed from the beginning.
	if _, last := syncTexts(t, a, friend, 0, 0); last.Limited {
		t.Fatal("a new device of a user with little history was limited")
	}
	// The stranger's is not.
	if _, last := syncTexts(t, a, x, 0, 0); !last.Limited || last.Next != head {
		t.Fatalf("a new device of a user with 150 messages: %+v, want limited at %d", last, head)
	}
}
