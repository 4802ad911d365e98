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

// TestCoverageAudienceRead: a conversation's change whose audience was
// read before it holds only once every change between was notified here,
// and not when one of them changed the conversation's membership.
func TestCoverageAudienceRead(t *testing.T) {
	c := newCoverage()
	c.record(100, []string{"x"}, false)
	c.recordConv(103, concern{users: []string{"v"}, conv: "C", at: 100})
	c.record(104, []string{"x"}, false)
	if after, _ := c.after("u", 105); after != 103 {
		t.Errorf("after(u, 105) = %d with 101 and 102 unknown, want 103", after)
	}
	c.record(101, []string{"x"}, false)
	c.record(102, []string{"x"}, false)
	if after, _ := c.after("u", 105); after != 99 {
		t.Errorf("after(u, 105) = %d once 101 and 102 came, want 99 (nothing known below 100)", after)
	}
	if after, _ := c.after("v", 105); after != 103 {
		t.Errorf("after(v, 105) = %d, want 103", after)
	}
	c.taint(101, "D") // another conversation's membership: no matter
	if after, _ := c.after("u", 105); after != 99 {
		t.Errorf("after(u, 105) = %d after another conversation changed, want 99", after)
	}
	c.taint(102, "C") // C's membership changed after its audience was read
	if after, _ := c.after("u", 105); after != 103 {
		t.Errorf("after(u, 105) = %d after C's membership changed, want 103", after)
	}

	// A position that never comes is given up on once far behind; the
	// run starts again above it, and it is never taken as notified.
	c = newCoverage()
	c.record(110, nil, false)
	for p := int64(112); p < 112+coverageStall+10; p++ {
		c.record(p, nil, false)
	}
	last := int64(112 + coverageStall + 9)
	c.recordConv(last+1, concern{conv: "C", at: 110})
	c.recordConv(last+2, concern{conv: "C", at: 112})
	if after, hole := c.after("u", last+2); after != last+1 || hole {
		t.Errorf("after(u, %d) = %d, %v; want %d: read before the missing 111", last+2, after, hole, last+1)
	}
	if after, hole := c.after("u", last+1); after != 111 || !hole {
		t.Errorf("after(u, %d) = %d, %v; want the missing 111", last+1, after, hole)
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
	// Waits that outlast the checks below on any machine; the last part
	// shortens them again to see a wait end.
	h.hold.mu.Lock()
	h.hold.wait = time.Hour
	h.hold.mu.Unlock()
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
	h.hold.mu.Lock()
	h.hold.wait = holdFor
	h.hold.mu.Unlock()
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
