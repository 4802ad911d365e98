package realtime

import (
	"fmt"
	"math/rand/v2"
	"slices"
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
	// The last part shortens the waits again to see one end.
	h, d, uid := holdingHub(t)
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
	wantPushes(t, d, [][2]int64{{53, 50}, {54, 53}})
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

// TestHeldPushesGoInPositionOrder: two messages of one batch may reach
// the hub in the other order (each send publishes when its commit
// returns); the higher one waits for the lower, and the lower goes first
// when it comes, so that a caught-up device takes both without a sync.
func TestHeldPushesGoInPositionOrder(t *testing.T) {
	h, d, uid := holdingHub(t)
	h.cov.record(70, []string{uid}, false)
	h.cov.record(71, []string{"someone else"}, false)
	// 73 comes first, with 72 still on its way.
	h.cov.record(73, []string{uid}, false)
	h.hold.push(uid, &app.Push{Pos: 73, Frame: []byte(`{}`)})
	h.hold.recheck()
	if h.hold.waiting() != 1 {
		t.Fatal("73 went before 72 came")
	}
	h.cov.record(72, []string{uid}, false)
	h.hold.push(uid, &app.Push{Pos: 72, Frame: []byte(`{}`)})
	h.hold.recheck()
	wantPushes(t, d, [][2]int64{{72, 70}, {73, 72}})
	if h.hold.waiting() != 0 {
		t.Fatalf("%d still held", h.hold.waiting())
	}
}

// holdingHub is a hub with one device of one user, whose held pushes
// wait longer than the checks of a test on any machine.
func holdingHub(t *testing.T) (*Hub, *Device, string) {
	h, a := newHub(t)
	ann := actor(t, a, "ann")
	d := h.Register(ann, nil, false)
	h.hold.mu.Lock()
	h.hold.wait = time.Hour
	h.hold.mu.Unlock()
	return h, d, ann.User.ID
}

// wantPushes reads d's next pushes and checks each one's position and
// the position it comes after, in order.
func wantPushes(t *testing.T, d *Device, want [][2]int64) {
	t.Helper()
	for _, w := range want {
		select {
		case p := <-d.Delivered():
			if p.Pos != w[0] || p.After != w[1] {
				t.Fatalf("push %d after %d, want %d after %d", p.Pos, p.After, w[0], w[1])
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("push %d never came", w[0])
		}
	}
}

// refCoverage is the walk coverage.after replaced, kept as the reference
// its indexes must agree with (TestCoverageMatchesWalk).
type refCoverage struct {
	recs              map[int64]concern
	base, contig      int64
	high              int64
	keep, scan, stall int64
}

func newRefCoverage(keep, scan, stall int64) *refCoverage {
	return &refCoverage{recs: map[int64]concern{}, keep: keep, scan: scan, stall: stall}
}

func (c *refCoverage) recordConv(pos int64, r concern) {
	if pos <= 0 {
		return
	}
	if len(c.recs) == 0 && c.contig == c.base {
		c.base, c.contig = pos-1, pos-1
	}
	c.recs[pos] = r
	c.high = max(c.high, pos)
	if pos <= c.base {
		return
	}
	for {
		if _, ok := c.recs[c.contig+1]; ok {
			c.contig++
			continue
		}
		if c.high-c.contig <= c.stall {
			break
		}
		c.base = c.contig + 1
		c.contig = c.base
	}
	if len(c.recs) > int(2*c.keep) {
		floor := c.high - c.keep
		for p := range c.recs {
			if p < floor {
				delete(c.recs, p)
			}
		}
		if c.base < floor {
			c.base = floor
			c.contig = max(c.contig, floor)
		}
	}
}

func (c *refCoverage) taint(pos int64, conv string) {
	for p := pos + 1; p <= c.high; p++ {
		if r, ok := c.recs[p]; ok && !r.all && r.at < pos && (conv == "" || r.conv == conv) {
			r.all = true
			c.recs[p] = r
		}
	}
}

func (c *refCoverage) after(userID string, pos int64) (int64, bool) {
	stop := max(0, pos-1-c.scan)
	for p := pos - 1; p > stop; p-- {
		r, ok := c.recs[p]
		if !ok || r.all || slices.Contains(r.users, userID) || r.at < p-1 && (r.at < c.base || c.contig < p-1) {
			return p, !ok
		}
	}
	return stop, false
}

func (c *refCoverage) reset() {
	c.recs = map[int64]concern{}
	c.base, c.contig, c.high = 0, 0, 0
}

// TestCoverageMatchesWalk drives the indexed coverage and the reference
// walk through the same random histories — positions in and out of
// order, duplicates, holes filled late and never, stalls, pruning, small
// and large audiences read before their change, taints and resets — and
// compares every answer of after.
func TestCoverageMatchesWalk(t *testing.T) {
	type limits struct{ keep, scan, stall int64 }
	for _, lim := range []limits{{64, 32, 16}, {64, 200, 8}, {256, 64, 48}, {coverageKeep, coverageScan, coverageStall}} {
		seeds := 40
		steps := 3000
		if lim.keep == coverageKeep {
			seeds, steps = 2, 150000
		}
		for seed := range seeds {
			compareWalk(t, seed, steps, lim.keep, lim.scan, lim.stall)
		}
	}
}

func compareWalk(t *testing.T, seed, steps int, keep, scan, stall int64) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(uint64(seed), uint64(keep*31+scan*7+stall)))
	c := newCoverage()
	c.keep, c.scan, c.stall = keep, scan, stall
	ref := newRefCoverage(keep, scan, stall)
	pool := make([]string, 80)
	for i := range pool {
		pool[i] = fmt.Sprintf("u%d", i)
	}
	convs := []string{"A", "B", "C", "D"}
	// Per conversation, the audience as last read (shared, like the
	// audience cache's rows) and where it was read.
	type read struct {
		users []string
		at    int64
	}
	cached := map[string]read{}
	audience := func() []string {
		n := rnd.IntN(4) + 1
		if rnd.IntN(5) == 0 {
			n = coverageSmall + 1 + rnd.IntN(30) // a large audience
		}
		us := make([]string, n)
		for i := range us {
			us[i] = pool[rnd.IntN(len(pool))]
		}
		return us
	}
	cursor := int64(1 + rnd.IntN(100))
	nextPos := func() int64 {
		switch k := rnd.IntN(100); {
		case k < 70:
			cursor++
			return cursor
		case k < 78: // skip some: holes, filled late or never
			cursor += int64(2 + rnd.IntN(5))
			return cursor
		case k < 90: // late, or a duplicate
			return max(1, cursor-int64(rnd.IntN(int(stall)*2+2)))
		case k < 93: // far below
			return max(1, cursor-int64(rnd.IntN(int(keep)*3+1)))
		case k < 95: // a stall: far ahead
			cursor += stall + int64(rnd.IntN(int(stall)+1))
			return cursor
		default:
			return max(1, cursor+int64(rnd.IntN(3)))
		}
	}
	check := func(step int, u string, pos int64) {
		a1, h1 := c.after(u, pos)
		a2, h2 := ref.after(u, pos)
		if a1 != a2 || h1 != h2 {
			t.Fatalf("seed %d limits %d/%d/%d step %d: after(%s, %d) = %d, %v; the walk gives %d, %v (base %d contig %d high %d)",
				seed, keep, scan, stall, step, u, pos, a1, h1, a2, h2, ref.base, ref.contig, ref.high)
		}
	}
	for step := range steps {
		switch k := rnd.IntN(1000); {
		case k < 2:
			c.reset()
			ref.reset()
			clear(cached)
		case k < 20:
			p, conv := nextPos(), convs[rnd.IntN(len(convs))]
			if rnd.IntN(3) == 0 {
				conv = ""
			}
			c.taint(p, conv)
			ref.taint(p, conv)
			if conv != "" {
				delete(cached, conv)
			}
		case k < 450:
			p := nextPos()
			conv := convs[rnd.IntN(len(convs))]
			rd, ok := cached[conv]
			if !ok || rnd.IntN(20) == 0 {
				rd = read{users: audience(), at: max(0, p-int64(rnd.IntN(3)))}
				cached[conv] = rd
			}
			r := concern{users: rd.users, conv: conv, at: rd.at, all: rnd.IntN(15) == 0}
			if rnd.IntN(15) == 0 { // the member who went, appended
				r.users = append(slices.Clip(r.users), pool[rnd.IntN(len(pool))])
			}
			if rnd.IntN(25) == 0 { // another conversation's read of the same slice
				r.conv = convs[rnd.IntN(len(convs))]
			}
			c.recordConv(p, r)
			ref.recordConv(p, r)
		case k < 600:
			p, us, all := nextPos(), audience(), rnd.IntN(10) == 0
			c.record(p, us, all)
			ref.recordConv(p, concern{users: us, all: all, at: p})
		default:
			u := pool[rnd.IntN(len(pool))]
			if rnd.IntN(10) == 0 {
				u = "nobody"
			}
			pos := cursor + 1 - int64(rnd.IntN(int(stall)+3))
			if rnd.IntN(8) == 0 {
				pos = int64(rnd.IntN(int(cursor) + int(scan) + 2))
			}
			check(step, u, pos)
		}
		if c.base != ref.base || c.contig != ref.contig || c.high != ref.high || len(c.recs) != len(ref.recs) {
			t.Fatalf("seed %d step %d: base/contig/high/recs %d/%d/%d/%d, the walk's %d/%d/%d/%d",
				seed, step, c.base, c.contig, c.high, len(c.recs), ref.base, ref.contig, ref.high, len(ref.recs))
		}
	}
	// Every answer around the end, for every user.
	for _, u := range append(pool, "nobody") {
		for pos := max(0, cursor-2*scan); pos <= cursor+2; pos++ {
			check(steps, u, pos)
		}
	}
	// Memory stays bounded: the indexes hold no more than recs does.
	n := len(c.recs)
	if len(c.stops) > n || len(c.early) > n || len(c.rec) > n || len(c.pending) > 2*n+64 || len(c.bigs) > n {
		t.Fatalf("indexes outgrow recs (%d): stops %d early %d runs %d pending %d bigs %d",
			n, len(c.stops), len(c.early), len(c.rec), len(c.pending), len(c.bigs))
	}
	for u, l := range c.users {
		if len(*l) == 0 || len(*l) > n {
			t.Fatalf("user %s: %d positions with %d recorded", u, len(*l), n)
		}
	}
}

// TestCoverageReplacedChanges: a position recorded again and again (a
// notification delivered twice) leaves no garbage behind in the indexes,
// and the answers still match the walk's.
func TestCoverageReplacedChanges(t *testing.T) {
	c := newCoverage()
	ref := newRefCoverage(coverageKeep, coverageScan, coverageStall)
	for p := int64(1); p <= 20; p++ {
		r := concern{users: []string{"u"}, conv: "C", at: 1}
		c.recordConv(p, r)
		ref.recordConv(p, r)
	}
	for i := range 5000 {
		p := int64(10 + i%3)
		r := concern{users: []string{fmt.Sprint("v", i%7)}, conv: "C", at: int64(1 + i%5)}
		c.recordConv(p, r)
		ref.recordConv(p, r)
		for _, u := range []string{"u", "v0", "v3", "w"} {
			for pos := int64(1); pos <= 22; pos++ {
				a1, h1 := c.after(u, pos)
				a2, h2 := ref.after(u, pos)
				if a1 != a2 || h1 != h2 {
					t.Fatalf("step %d: after(%s, %d) = %d, %v; the walk gives %d, %v", i, u, pos, a1, h1, a2, h2)
				}
			}
		}
	}
	if n := len(c.recs); len(c.pending) > 2*n+64 || len(c.users) > 8 {
		t.Fatalf("%d recorded, yet %d pending and %d users indexed", n, len(c.pending), len(c.users))
	}
}

// BenchmarkCoverageAfter: the cost of after for a message of a direct
// conversation among 500 (cached audiences read before), by the index and
// by the reference walk.
func BenchmarkCoverageAfter(b *testing.B) {
	const convs = 500
	auds := make([][]string, convs)
	for i := range auds {
		auds[i] = []string{fmt.Sprint("a", i), fmt.Sprint("b", i)}
	}
	c := newCoverage()
	ref := newRefCoverage(coverageKeep, coverageScan, coverageStall)
	var pos int64
	for pos = 1; pos <= 3*coverageKeep; pos++ {
		i := int(pos % convs)
		r := concern{users: auds[i], conv: fmt.Sprint(i), at: max(0, pos-int64(convs)-1)}
		c.recordConv(pos, r)
		ref.recordConv(pos, r)
	}
	b.Run("index", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			c.after(auds[i%convs][0], pos)
		}
	})
	b.Run("walk", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			ref.after(auds[i%convs][0], pos)
		}
	})
	b.Run("record", func(b *testing.B) {
		p := pos
		for i := 0; b.Loop(); i++ {
			p++
			c.recordConv(p, concern{users: auds[i%convs], conv: "x", at: p - 600})
		}
	})
}
