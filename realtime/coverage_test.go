package realtime

import (
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
)

// TestCoverageAfter: a push may be taken from the last position that
// concerns its user, that concerns anyone (unknown audience), or that was
// not notified here — whichever comes first walking down from it.
func TestCoverageAfter(t *testing.T) {
	c := newCoverage()
	c.record(10, []string{"u", "v"}, false)
	c.record(11, []string{"v"}, false)
	c.record(12, []string{"w"}, false)
	for _, tc := range []struct {
		user  string
		pos   int64
		after int64
		hole  bool
	}{
		{"u", 13, 10, false}, // 11 and 12 are others'
		{"v", 13, 11, false},
		{"w", 13, 12, false},
		{"x", 13, 9, true},  // nothing known below 10
		{"u", 15, 14, true}, // 13 and 14 not notified yet
	} {
		after, hole := c.after(tc.user, tc.pos)
		if after != tc.after || hole != tc.hole {
			t.Errorf("after(%s, %d) = %d, %v; want %d, %v", tc.user, tc.pos, after, hole, tc.after, tc.hole)
		}
	}
	c.record(14, nil, true) // unknown audience: concerns everyone
	c.record(13, []string{"z"}, false)
	if after, hole := c.after("u", 15); after != 14 || hole {
		t.Errorf("after an unknown audience: %d, %v; want 14, false", after, hole)
	}
	c.reset()
	if after, hole := c.after("u", 15); after != 14 || !hole {
		t.Errorf("after reset: %d, %v; want 14, true", after, hole)
	}
}

// TestCoverageComplete: an audience read at one position is exact at a
// later one only when every change between them was notified here.
func TestCoverageComplete(t *testing.T) {
	c := newCoverage()
	for p := int64(100); p <= 110; p++ {
		if p != 105 {
			c.record(p, nil, false)
		}
	}
	if !c.complete(101, 105) || !c.complete(99, 105) {
		t.Error("complete up to the hole")
	}
	if c.complete(101, 107) {
		t.Error("complete across the missing 105")
	}
	if c.complete(90, 102) {
		t.Error("complete below what was ever notified")
	}
	if !c.complete(200, 150) || !c.complete(106, 107) {
		t.Error("an audience read at or after the position is exact")
	}
	c.record(105, nil, false)
	if !c.complete(101, 111) {
		t.Error("the hole filled: complete")
	}
	// A position that never comes is given up on once far behind; the
	// run starts again above it, and it is never taken as notified.
	for p := int64(112); p < 112+coverageStall+10; p++ {
		c.record(p, nil, false)
	}
	last := int64(112 + coverageStall + 9)
	if !c.complete(112, last) {
		t.Error("no run again above a position that never came")
	}
	if c.complete(110, last) {
		t.Error("complete across a position that never came")
	}
	if after, hole := c.after("u", 113); after != 111 || !hole {
		t.Errorf("after(u, 113) = %d, %v; want the missing 111", after, hole)
	}
}

// TestHeldPushWaitsForAHole: a push whose predecessor is still on its way
// waits for it, then goes with the position it must come after; one whose
// hole never fills goes when its time is up, and a device behind it syncs.
func TestHeldPushWaitsForAHole(t *testing.T) {
	h, a := newHub(t)
	ann := actor(t, a, "ann")
	d := h.Register(ann, nil, false)
	uid := ann.User.ID
	h.cov.record(50, []string{uid}, false)
	h.hold.push(uid, &app.Push{Pos: 53, Frame: []byte(`{}`)})
	if h.hold.waiting() != 1 {
		t.Fatal("a push above a missing position went at once")
	}
	h.hold.push(uid, &app.Push{Pos: 54, Frame: []byte(`{}`)}) // waits behind 53
	h.cov.record(51, []string{"someone else"}, false)
	h.hold.recheck()
	if h.hold.waiting() != 2 {
		t.Fatal("went while 52 is still missing")
	}
	h.cov.record(52, []string{"someone else"}, false)
	h.cov.record(53, []string{uid}, false)
	h.hold.recheck()
	for _, want := range []app.Push{{Pos: 53, After: 50}, {Pos: 54, After: 53}} {
		select {
		case p := <-d.Delivered():
			if p.Pos != want.Pos || p.After != want.After {
				t.Fatalf("push %d after %d, want %d after %d", p.Pos, p.After, want.Pos, want.After)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("push %d never came", want.Pos)
		}
	}
	// 60 never comes: the push at 61 goes when its time is up, to be
	// taken only by a device at 60 or beyond.
	h.hold.push(uid, &app.Push{Pos: 61, Frame: []byte(`{}`)})
	select {
	case p := <-d.Delivered():
		if p.After != 60 {
			t.Fatalf("push after %d, want 60", p.After)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a held push never went")
	}
}
