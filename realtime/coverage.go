package realtime

import (
	"slices"
	"sync"
)

// coverage remembers the stored changes this hub was notified of, by
// position, and whom each may concern, so that a new message of a direct
// conversation, rendered by the sending node (app.DirectFrames), can be
// handed to a caught-up device without a sync.
//
// A device at position p may take the message at P as it is only when no
// change between them concerns its user: Sync from p would give exactly
// that frame and move to at least P. Positions are handed out under one
// lock across nodes and every write commits before its notification
// goes out, so when P's notification arrives every position below P is
// final. after(u, P) walks down from P-1 and stops at the first position
// that was not notified here (dropped, still on its way from another
// node, or never published), that concerns u, or that concerns an
// unknown audience: a device must be at least there. So a notification
// that is late or lost makes devices sync, never skip; the bus still
// only notifies.
//
// after does not walk: coverage keeps, besides the changes by position,
// indexes that give the same answer as that walk (the highest position
// below P that stops it) in a few lookups — the runs of recorded
// positions, the positions that stop every user, per user the positions
// that name them, and the changes whose audience was read before them.
// The reference walk is kept in coverage_test.go, which drives both
// through random histories and compares every answer.
type coverage struct {
	mu   sync.Mutex
	recs map[int64]concern
	// base and contig: every position in (base, contig] was recorded
	// (contig == base when nothing is known yet).
	base, contig int64
	high         int64 // the highest position recorded

	// keep, scan and stall are coverageKeep, coverageScan and
	// coverageStall (tests make them small).
	keep, scan, stall int64

	// rec is the set of positions recorded.
	rec runs
	// stops holds the recorded positions that stop every user: unknown
	// audience (all), or an audience read before the position less one
	// and before base.
	stops posList
	// early holds the recorded positions whose audience was read before
	// the position less one (at < pos-1); they stop every user when
	// above contig+1, and join stops when base passes their at.
	early posList
	// pending is the changes of early not in stops yet, by at.
	pending byRead
	// users holds, per user, the positions of small audiences that
	// name the user.
	users map[string]*posList
	// bigs holds the large audiences (more than coverageSmall users),
	// each once per audience read, with its positions: indexing them
	// per user would cost a position per member.
	bigs    map[*bigAudience]struct{}
	lastBig map[string]*bigAudience // per conversation, the latest
}

// bigAudience is one large audience as read, and the positions recorded
// with it.
type bigAudience struct {
	users   []string
	conv    string
	members map[string]struct{}
	pos     posList
}

// concern is whom one stored change may concern.
type concern struct {
	users []string
	all   bool // unknown: it may concern anyone
	// For a conversation's change: the conversation, and the position
	// its audience was read at. The audience holds for the change only
	// if no change of membership came between (see after and taint).
	conv string
	at   int64
	big  *bigAudience // the index of a large audience
}

const (
	// coverageKeep is how many positions below the highest recorded
	// are remembered; older ones count as not notified.
	coverageKeep = 1 << 16
	// coverageScan bounds the walk of after; past it a device syncs.
	coverageScan = 4096
	// coverageStall is how far recorded positions may run ahead of a
	// hole before the hole is given up on: contig then starts again
	// above it (the hole itself stays unrecorded).
	coverageStall = 2048
	// coverageSmall is the largest audience indexed per user.
	coverageSmall = 32
)

func newCoverage() *coverage {
	c := &coverage{keep: coverageKeep, scan: coverageScan, stall: coverageStall}
	c.clearLocked()
	return c
}

func (c *coverage) clearLocked() {
	c.recs = map[int64]concern{}
	c.base, c.contig, c.high = 0, 0, 0
	c.rec, c.stops, c.early, c.pending = nil, nil, nil, nil
	c.users = map[string]*posList{}
	c.bigs = map[*bigAudience]struct{}{}
	c.lastBig = map[string]*bigAudience{}
}

// record notes the change at pos and whom it concerns: users, or anyone
// when all is set. A conversation's change names the conversation and
// the position at which users was read.
func (c *coverage) record(pos int64, users []string, all bool) {
	c.recordConv(pos, concern{users: users, all: all, at: pos})
}

// recordConv is record for a change of conversation r.conv whose audience
// r.users was read at position r.at.
func (c *coverage) recordConv(pos int64, r concern) {
	if pos <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.recs) == 0 && c.contig == c.base {
		c.base, c.contig = pos-1, pos-1
	}
	if old, ok := c.recs[pos]; ok {
		c.unindex(pos, old)
		defer c.compact()
	}
	r.big = nil
	c.index(pos, &r)
	c.recs[pos] = r
	c.high = max(c.high, pos)
	if pos <= c.base {
		return
	}
	base := c.base
	for {
		if _, ok := c.recs[c.contig+1]; ok {
			c.contig++
			continue
		}
		if c.high-c.contig <= c.stall {
			break
		}
		// A position never came: start a new contiguous run above it.
		c.base = c.contig + 1
		c.contig = c.base
	}
	if len(c.recs) > int(2*c.keep) {
		c.prune(c.high - c.keep)
	}
	if c.base != base {
		c.passed()
	}
}

// index adds the change r at pos to the indexes.
func (c *coverage) index(pos int64, r *concern) {
	c.rec.add(pos)
	early := r.at < pos-1
	if r.all || early && r.at < c.base {
		c.stops.add(pos)
	} else if early {
		c.pending.push(readBefore{at: r.at, pos: pos})
	}
	if early {
		c.early.add(pos)
	}
	if r.all || len(r.users) == 0 {
		return // stops every user anyway, or none
	}
	if len(r.users) <= coverageSmall {
		for _, u := range r.users {
			l := c.users[u]
			if l == nil {
				l = new(posList)
				c.users[u] = l
			}
			l.add(pos)
		}
		return
	}
	b := c.lastBig[r.conv]
	if b == nil || !sameSlice(b.users, r.users) {
		b = &bigAudience{users: r.users, conv: r.conv, members: make(map[string]struct{}, len(r.users))}
		for _, u := range r.users {
			b.members[u] = struct{}{}
		}
		c.bigs[b] = struct{}{}
		c.lastBig[r.conv] = b
	}
	b.pos.add(pos)
	r.big = b
}

// sameSlice reports whether a and b are the same slice (one audience as
// read, shared by the changes recorded with it).
func sameSlice(a, b []string) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// unindex removes the change r at pos, about to be replaced, from the
// indexes (pending is checked against recs when popped).
func (c *coverage) unindex(pos int64, r concern) {
	c.stops.remove(pos)
	c.early.remove(pos)
	if r.big != nil {
		r.big.pos.remove(pos)
		c.dropBig(r.big)
		return
	}
	if len(r.users) <= coverageSmall {
		for _, u := range r.users {
			if l := c.users[u]; l != nil {
				l.remove(pos)
				if len(*l) == 0 {
					delete(c.users, u)
				}
			}
		}
	}
}

// dropBig forgets a large audience left without positions.
func (c *coverage) dropBig(b *bigAudience) {
	if len(b.pos) > 0 {
		return
	}
	delete(c.bigs, b)
	if c.lastBig[b.conv] == b {
		delete(c.lastBig, b.conv)
	}
}

// prune forgets the positions below floor.
func (c *coverage) prune(floor int64) {
	for p := range c.recs {
		if p < floor {
			delete(c.recs, p)
		}
	}
	c.rec.dropBelow(floor)
	c.stops.dropBelow(floor)
	c.early.dropBelow(floor)
	for u, l := range c.users {
		if l.dropBelow(floor); len(*l) == 0 {
			delete(c.users, u)
		}
	}
	for b := range c.bigs {
		b.pos.dropBelow(floor)
		c.dropBig(b)
	}
	if c.base < floor {
		c.base = floor
		c.contig = max(c.contig, floor)
	}
	// The changes forgotten had at below floor, so below base: passed
	// pops them.
}

// compact drops from pending what replaced changes left there, when it
// outgrows recs (otherwise it holds one entry per change at most).
func (c *coverage) compact() {
	if len(c.pending) <= 2*len(c.recs)+64 {
		return
	}
	old := c.pending
	c.pending = nil
	seen := make(map[int64]bool, len(c.recs))
	for _, e := range old {
		if r, ok := c.recs[e.pos]; ok && r.at == e.at && !r.all && !seen[e.pos] {
			seen[e.pos] = true
			c.pending.push(e)
		}
	}
}

// passed moves to stops the changes whose audience was read below base,
// after base moved up.
func (c *coverage) passed() {
	for len(c.pending) > 0 && c.pending[0].at < c.base {
		e := c.pending.pop()
		if r, ok := c.recs[e.pos]; ok && r.at == e.at {
			c.stops.add(e.pos)
		}
	}
}

// taint marks the recorded changes above pos whose audience was read
// before pos as concerning anyone: the change at pos changed who may
// see conversation conv (every conversation when conv is ""), and they
// were recorded before it with what was known then.
func (c *coverage) taint(pos int64, conv string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Such a change has at < pos <= p-1: it is in early.
	i, _ := slices.BinarySearch(c.early, pos+1)
	for _, p := range c.early[i:] {
		if r, ok := c.recs[p]; ok && !r.all && r.at < pos && (conv == "" || r.conv == conv) {
			r.all = true
			c.recs[p] = r
			c.stops.add(p)
		}
	}
}

// after returns the lowest position from which a device of userID may
// take the change at pos as it is (see coverage); hole reports that the
// walk stopped at a position not recorded (yet).
//
// A conversation's change whose audience was read at a position below it
// holds only when every change between was recorded here: a change of
// membership among them recorded after it has tainted it (taint); one
// not recorded yet might be one.
//
// The walk down from pos-1 stops at the first position p (above
// pos-1-scan) that is not recorded, that concerns anyone, that names
// the user, or whose audience was read before p-1 when that is before
// base or p-1 is above contig; after takes the highest of each kind from
// its index.
func (c *coverage) after(userID string, pos int64) (after int64, hole bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stop := max(0, pos-1-c.scan)
	top := pos - 1
	if top <= stop {
		return stop, false
	}
	best := c.rec.highestGap(stop, top)
	hole = best > stop
	if p := c.stops.highestIn(best, top); p > best {
		best, hole = p, false
	}
	if lo := max(best, c.contig+1); lo < top {
		if p := c.early.highestIn(lo, top); p > lo {
			best, hole = p, false
		}
	}
	if l := c.users[userID]; l != nil {
		if p := l.highestIn(best, top); p > best {
			best, hole = p, false
		}
	}
	for b := range c.bigs {
		if p := b.pos.highestIn(best, top); p > best {
			if _, ok := b.members[userID]; ok {
				best, hole = p, false
			}
		}
	}
	return best, hole
}

// reset forgets everything (after notifications were dropped).
func (c *coverage) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
}
