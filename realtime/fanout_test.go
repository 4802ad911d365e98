package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
)

func pushed(t *testing.T, d *Device) *app.Push {
	t.Helper()
	select {
	case p := <-d.Delivered():
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no push")
		return nil
	}
}

// pushedMsg is the device's push of message id, skipping pushes of
// earlier changes still on their way (the group's own system messages:
// notifications go through the hub's publisher queue and may arrive after
// the device registered).
func pushedMsg(t *testing.T, d *Device, id string) *app.Push {
	t.Helper()
	for {
		p := pushed(t, d)
		if bytes.Contains(p.Frame, []byte(`"id":"`+id+`"`)) {
			return p
		}
	}
}

func drainWakes(ds ...*Device) {
	for _, d := range ds {
		select {
		case <-d.Wake():
		default:
		}
	}
}

// TestFanoutPushesWhatSyncGives: a group's new message reaches the
// members' devices as a push whose frame is, byte for byte, the event
// their own sync returns from the push's After, and After covers every
// earlier change that concerns the member (here a direct message to one
// of them) and none that does not. The sender syncs.
func TestFanoutPushesWhatSyncGives(t *testing.T) {
	h, a := newHub(t)
	h.fanoutMin = 2
	ctx := context.Background()
	ann, ben, cid, dan := actor(t, a, "ann"), actor(t, a, "ben"), actor(t, a, "cid"), actor(t, a, "dan")
	for _, who := range []*app.Actor{ben, cid} { // so that ann's group is not a request to them
		if err := a.Follow(ctx, who, "ann", true); err != nil {
			t.Fatal(err)
		}
	}
	g, _, err := a.CreateGroup(ctx, ann, app.GroupInput{Title: "g", Members: []string{"ben", "cid"}})
	if err != nil {
		t.Fatal(err)
	}
	dm, _, err := a.CreateDirect(ctx, dan, "ben")
	if err != nil {
		t.Fatal(err)
	}
	dAnn, dBen, dCid := h.Register(ann, nil, false), h.Register(ben, nil, false), h.Register(cid, nil, false)
	drainWakes(dAnn, dBen, dCid)

	sameAsSync := func(who *app.Actor, p *app.Push) {
		t.Helper()
		page, err := a.Sync(ctx, who, p.After, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 0 || page.Events[0].Pos != p.Pos {
			t.Fatalf("%s: sync from %d does not start with the pushed %d: %+v", who.User.Handle, p.After, p.Pos, page.Events)
		}
		b, _ := json.Marshal(page.Events[0])
		if !bytes.Equal(b, p.Frame) {
			t.Fatalf("%s: push differs from sync:\n push %s\n sync %s", who.User.Handle, p.Frame, b)
		}
	}
	one, _, err := a.Send(ctx, ann, g.ID, app.SendInput{Text: "one"})
	if err != nil {
		t.Fatal(err)
	}
	p1b, p1c := pushedMsg(t, dBen, one.ID), pushedMsg(t, dCid, one.ID)
	sameAsSync(ben, p1b)
	sameAsSync(cid, p1c)
	if !woken(dAnn) {
		t.Fatal("the sender's device was not woken")
	}
	select {
	case p := <-dAnn.Delivered():
		t.Fatalf("the sender got a push: %s", p.Frame)
	default:
	}

	// A direct message to ben comes between: ben's next push must wait
	// for it, cid's need not.
	q, _, err := a.Send(ctx, dan, dm.ID, app.SendInput{Text: "psst"})
	if err != nil {
		t.Fatal(err)
	}
	// The direct message reaches ben as a wake, or pushed itself when the
	// hub knows his device is caught up (publish.go): either way before
	// the group's next message.
	var dmPush *app.Push
	select {
	case <-dBen.Wake():
	case dmPush = <-dBen.Delivered():
	case <-time.After(10 * time.Second):
		t.Fatal("ben was neither woken nor handed the direct message")
	}
	if _, _, err := a.Send(ctx, ann, g.ID, app.SendInput{Text: "two", ReplyTo: one.ID}); err != nil {
		t.Fatal(err)
	}
	p2b, p2c := pushed(t, dBen), pushed(t, dCid)
	var qPos int64
	page, err := a.Sync(ctx, ben, p1b.Pos, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Events {
		if e.Message != nil && e.Message.ID == q.ID {
			qPos = e.Pos
		}
	}
	if dmPush != nil {
		if dmPush.Pos != qPos {
			t.Fatalf("ben's push for the direct message is at %d, the message at %d", dmPush.Pos, qPos)
		}
		sameAsSync(ben, dmPush)
	}
	if qPos == 0 || p2b.After < qPos {
		t.Fatalf("ben's push after %d lets a device skip the direct message at %d", p2b.After, qPos)
	}
	if p2c.After >= qPos {
		t.Fatalf("cid's push waits for %d, a message that is not cid's", p2c.After)
	}
	sameAsSync(ben, p2b)
	sameAsSync(cid, p2c)
}
