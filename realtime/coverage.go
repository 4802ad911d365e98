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
type coverage struct {
	mu   sync.Mutex
	recs map[int64]concern
	// base and contig: every position in (base, contig] was recorded
	// (contig == base when nothing is known yet).
	base, contig int64
	high         int64 // the highest position recorded
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
)

func newCoverage() *coverage { return &coverage{recs: map[int64]concern{}} }

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
		if c.high-c.contig <= coverageStall {
			break
		}
		// A position never came: start a new contiguous run above it.
		c.base = c.contig + 1
		c.contig = c.base
	}
	if len(c.recs) > 2*coverageKeep {
		floor := c.high - coverageKeep
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

// taint marks the recorded changes above pos whose audience was read
// before pos as concerning anyone: the change at pos changed who may
// see conversation conv (every conversation when conv is ""), and they
// were recorded before it with what was known then.
func (c *coverage) taint(pos int64, conv string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := pos + 1; p <= c.high; p++ {
		if r, ok := c.recs[p]; ok && !r.all && r.at < pos && (conv == "" || r.conv == conv) {
			r.all = true
			c.recs[p] = r
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
func (c *coverage) after(userID string, pos int64) (after int64, hole bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stop := max(0, pos-1-coverageScan)
	for p := pos - 1; p > stop; p-- {
		r, ok := c.recs[p]
		if !ok || r.all || slices.Contains(r.users, userID) || r.at < p-1 && (r.at < c.base || c.contig < p-1) {
			return p, !ok
		}
	}
	return stop, false
}

// reset forgets everything (after notifications were dropped).
func (c *coverage) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = map[int64]concern{}
	c.base, c.contig, c.high = 0, 0, 0
}
