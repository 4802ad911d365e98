package app

import (
	"slices"
	"sync"

	"github.com/parleyhq/parley"
)

// memberCache keeps the member states of large groups between messages:
// reading 10,000 membership rows is most of what a new message of such a
// group costs before its first device gets anything (BENCHMARKS.md,
// "Fan-out"), and they rarely change. An entry is used only when the
// revision the caller read in its own transaction (tx.MembersRevision,
// which triggers bump on every change of a member state, on any node) is
// the one the states were read at, so a hit returns exactly what
// MemberStates would have in that transaction. Notifications are not
// used: they arrive after their commit, and a fan-out could meet a cache
// they have not cleared yet.
type memberCache struct {
	mu      sync.Mutex
	entries map[string]memberEntry
	states  int // member states held, at most memberCacheStates
}

type memberEntry struct {
	rev    int64
	states []parley.MemberState
}

const (
	// memberCacheMin is the smallest conversation kept: below it a
	// read of the rows costs about what the revision's read does.
	memberCacheMin = 64
	// memberCacheStates bounds the cache to about 25 MB of states
	// (~100 bytes each with their user ids).
	memberCacheStates = 256 << 10
)

// memberStates returns the member states of convID as of tx, from the
// cache when its revision is tx's. The slice is shared: callers must not
// change it.
func (a *App) memberStates(tx parley.Tx, convID string) ([]parley.MemberState, error) {
	rev, err := tx.MembersRevision(convID)
	if err != nil {
		return nil, err
	}
	c := &a.members
	c.mu.Lock()
	e, ok := c.entries[convID]
	c.mu.Unlock()
	if ok && e.rev == rev {
		return e.states, nil
	}
	ms, err := tx.MemberStates(convID)
	if err != nil || len(ms) < memberCacheMin || len(ms) > memberCacheStates {
		return ms, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[convID]; ok {
		if old.rev > rev {
			return ms, nil // a newer read got there first
		}
		c.states -= len(old.states)
		delete(c.entries, convID)
	}
	for id, old := range c.entries { // any entries, until there is room
		if c.states+len(ms) <= memberCacheStates {
			break
		}
		c.states -= len(old.states)
		delete(c.entries, id)
	}
	if c.entries == nil {
		c.entries = map[string]memberEntry{}
	}
	ms = slices.Clone(ms) // without the spare capacity of the reads' appends
	c.entries[convID] = memberEntry{rev: rev, states: ms}
	c.states += len(ms)
	return ms, nil
}
