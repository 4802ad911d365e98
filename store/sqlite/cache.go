package sqlite

import "github.com/parleyhq/parley"

// writeCache keeps the conversations, memberships and blocks that the
// committer read or wrote, so that the checks of a send — is the sender a
// member, is the peer blocked — cost a map lookup instead of two
// statements inside the single writer. Only the committer goroutine uses
// it, so it needs no lock.
//
// It is exact, not a guess: every write method of tx that changes one of
// these rows updates or drops the entry (see the calls to cache in
// conversations.go and graph.go), SQLite has no other writer, and any
// rollback — of a batch or of one savepoint — throws the whole cache away.
// Read transactions never use it. Entries are values, copied in and out,
// because callers modify what they get.
type writeCache struct {
	convs   map[string]parley.Conversation
	members map[memberKey]parley.Member
	blocks  map[pairKey]bool
	// heads holds the last chain entry of conversations (chain.go).
	heads map[string]chainHead
	// noInbox holds conversations known to have no inbox item: a send
	// into a direct conversation looks for one every time, and most have
	// none. PutInboxItem, the only writer of inbox_items, drops the entry.
	noInbox map[string]struct{}
}

type memberKey struct{ conv, user string }

// pairKey is two user ids in sorted order: a block either way.
type pairKey struct{ a, b string }

func pair(a, b string) pairKey {
	if a > b {
		a, b = b, a
	}
	return pairKey{a, b}
}

// maxCached bounds the cache; past it everything is dropped and refilled.
const maxCached = 50000

func newWriteCache() *writeCache {
	c := &writeCache{}
	c.reset()
	return c
}

// reset drops every entry.
func (c *writeCache) reset() {
	c.convs = map[string]parley.Conversation{}
	c.members = map[memberKey]parley.Member{}
	c.blocks = map[pairKey]bool{}
	c.heads = map[string]chainHead{}
	c.noInbox = map[string]struct{}{}
}

func (c *writeCache) full() bool {
	return len(c.convs)+len(c.members)+len(c.blocks)+len(c.heads)+len(c.noInbox) > maxCached
}

func (c *writeCache) putConv(v *parley.Conversation) {
	if c.full() {
		c.reset()
	}
	c.convs[v.ID] = *v
}

func (c *writeCache) putMember(m *parley.Member) {
	if c.full() {
		c.reset()
	}
	c.members[memberKey{m.ConversationID, m.UserID}] = *m
}

func (c *writeCache) putNoInbox(conversationID string) {
	if c.full() {
		c.reset()
	}
	c.noInbox[conversationID] = struct{}{}
}

func (c *writeCache) putBlock(a, b string, blocked bool) {
	if c.full() {
		c.reset()
	}
	c.blocks[pair(a, b)] = blocked
}

// cache returns the write cache in a write transaction and nil in a read one.
func (t *tx) cache() *writeCache {
	if !t.write {
		return nil
	}
	return t.db.cache
}

// nextPos takes the next position; only write transactions may.
func (t *tx) nextPos() int64 {
	if !t.write {
		panic("sqlite: position taken in a read transaction")
	}
	p := t.db.pos
	t.db.pos++
	return p
}
