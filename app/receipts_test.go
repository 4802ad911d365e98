package app_test

import (
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

func TestReadReceiptsOff(t *testing.T) {
	s := newShop(t)
	ann := s.register("ann", "Ann", parley.KindPerson)
	ben := s.register("ben", "Ben", parley.KindPerson)
	if err := s.a.Follow(s.ctx, ben, "ann", true); err != nil {
		t.Fatal(err)
	}
	conv, _, err := s.a.CreateDirect(s.ctx, ann, "ben")
	if err != nil {
		t.Fatal(err)
	}
	off := false
	if _, err := s.a.UpdateProfile(s.ctx, ben, app.ProfileUpdate{ReadReceipts: &off}); err != nil {
		t.Fatal(err)
	}
	ben = s.reg("ben") // a request after the change carries it
	head, _ := s.a.Head(s.ctx)
	m1 := s.say(ann, conv.ID, "one")
	m2 := s.say(ben, conv.ID, "two")
	if _, err := s.a.MarkRead(s.ctx, ben, conv.ID, m1.Seq); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.MarkRead(s.ctx, ann, conv.ID, m2.Seq); err != nil {
		t.Fatal(err)
	}
	reads := func(viewer *app.Actor) map[string]bool {
		page, err := s.a.Sync(s.ctx, viewer, head, 100)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, e := range page.Events {
			if e.Type == parley.EventRead {
				got[e.ActorID] = true
			}
		}
		return got
	}
	memberRead := func(viewer *app.Actor, of string) int64 {
		v, err := s.a.Conversation(s.ctx, viewer, conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range v.Members {
			if m.User.ID == of {
				return m.ReadSeq
			}
		}
		t.Fatalf("no member %s", of)
		return 0
	}
	if r := reads(ann); r[ben.User.ID] || !r[ann.User.ID] {
		t.Fatalf("ann's sync reads %v: ben's receipt must stay hidden, her own shown", r)
	}
	if r := reads(ben); r[ann.User.ID] || !r[ben.User.ID] {
		t.Fatalf("ben's sync reads %v: with his receipts off he sees no one else's, but his own marker (other devices)", r)
	}
	if memberRead(ann, ben.User.ID) != 0 || memberRead(ben, ann.User.ID) != 0 {
		t.Fatal("read positions shown across a receipts-off user")
	}
	if memberRead(ben, ben.User.ID) != m1.Seq {
		t.Fatal("ben's own read position lost")
	}
	// Reading implies delivery: ann learns that "one" reached ben even
	// though ben's device never said "delivered" and his read stays hidden.
	page, err := s.a.Sync(s.ctx, ann, head, 100)
	if err != nil {
		t.Fatal(err)
	}
	delivered := false
	for _, e := range page.Events {
		if e.Type == parley.EventDelivered && e.ActorID == ben.User.ID && e.Seq == m1.Seq {
			delivered = true
		}
	}
	if !delivered {
		t.Fatal("a read with receipts off did not tell the sender it was delivered")
	}
	on := true
	if _, err := s.a.UpdateProfile(s.ctx, ben, app.ProfileUpdate{ReadReceipts: &on}); err != nil {
		t.Fatal(err)
	}
	if memberRead(ann, ben.User.ID) != m1.Seq || memberRead(ben, ann.User.ID) != m2.Seq {
		t.Fatal("receipts back on: positions still hidden")
	}
}
