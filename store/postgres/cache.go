package postgres

import (
	"strings"

	"github.com/parleyhq/parley"
)

// writeCache keeps the conversations, memberships and blocks that the
// committer read or wrote, so that the checks of a send — is the sender a
// member, is the peer blocked — cost a map lookup instead of two
// statements inside the single writer. Only the committer goroutine uses
// it, so it needs no lock.
//
// It is exact, not a guess: every write method of tx that changes one of
// these rows updates or drops the entry (see the calls to cache in
// conversations.go and graph.go), and any rollback — of a batch or of one
// savepoint — throws the whole cache away.
//
// Other nodes write too. Each of those write methods also names what it
// changed (tx.touchConv, tx.touchBlock), and every batch that writes
// records these keys in cache_changes under its gen (nextval('write_gen')
// under the positions lock), in its own transaction. A batch that finds
// the sequence's last value other than what its node's last commit took
// reads the rows of the gens in between and drops only the entries they
// name (invalidate); when the ring no longer holds them all, it starts
// from an empty cache. The bus plays no part: a dropped notification
// cannot leave a stale entry.
// Read transactions never use it. Entries are values, copied in and out,
// because callers modify what they get.
type writeCache struct {
	convs   map[string]parley.Conversation
	members map[memberKey]parley.Member
	// byConv holds, per conversation, the users whose member rows are in
	// members, so that a conversation's entries can be dropped (or read
	// again) without a walk over every member.
	byConv map[string]map[string]struct{}
	blocks map[pairKey]bool
	// chain holds the head of each conversation's hash chain that the
	// committer read or appended to (chain entries are only ever
	// appended, by AppendChainEntry).
	chain map[string]chainHead
	// noInbox holds conversations known to have no business inbox item
	// (only PutInboxItem makes one): a person-to-person send does not
	// look again.
	noInbox map[string]bool
}

// chainHead is the newest entry of a conversation's chain.
type chainHead struct {
	idx  int64
	hash string
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
	c.byConv = map[string]map[string]struct{}{}
	c.blocks = map[pairKey]bool{}
	c.chain = map[string]chainHead{}
	c.noInbox = map[string]bool{}
}

func (c *writeCache) full() bool {
	return len(c.convs)+len(c.members)+len(c.blocks)+len(c.chain)+len(c.noInbox) > maxCached
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
	k := memberKey{m.ConversationID, m.UserID}
	us := c.byConv[k.conv]
	if us == nil {
		us = map[string]struct{}{}
		c.byConv[k.conv] = us
	}
	us[k.user] = struct{}{}
	c.members[k] = *m
}

// dropMember forgets a member row (written in this batch: read again
// when next wanted).
func (c *writeCache) dropMember(k memberKey) {
	delete(c.members, k)
	if us := c.byConv[k.conv]; us != nil {
		delete(us, k.user)
		if len(us) == 0 {
			delete(c.byConv, k.conv)
		}
	}
}

// dropConv forgets a conversation: its row, its members, its chain head
// and whether it has an inbox item.
func (c *writeCache) dropConv(id string) {
	delete(c.convs, id)
	delete(c.chain, id)
	delete(c.noInbox, id)
	for u := range c.byConv[id] {
		delete(c.members, memberKey{id, u})
	}
	delete(c.byConv, id)
}

// dropConvRow forgets a conversation's row, its chain head and whether
// it has an inbox item, and keeps its members.
func (c *writeCache) dropConvRow(id string) {
	delete(c.convs, id)
	delete(c.chain, id)
	delete(c.noInbox, id)
}

// invalidate drops the entries that cache_changes keys name; "*" drops
// everything.
func (c *writeCache) invalidate(keys []string) {
	for _, k := range keys {
		switch {
		case k == "*":
			c.reset()
			return
		case strings.HasPrefix(k, "c:"):
			c.dropConv(k[2:])
		case strings.HasPrefix(k, "s:"):
			c.dropConvRow(k[2:])
		case strings.HasPrefix(k, "b:"):
			if a, b, ok := strings.Cut(k[2:], "|"); ok {
				delete(c.blocks, pairKey{a, b})
			}
		default: // a key of a newer build: play safe
			c.reset()
			return
		}
	}
}

// convKey, convRowKey and blockKey are the cache_changes keys of a
// conversation with its members, of a conversation's own row, chain and
// inbox item alone, and of a block between two users. A node of an
// older build, which knows no "s:", drops its whole cache on one: safe
// while a deployment runs two builds.
func convKey(id string) string { return "c:" + id }

func convRowKey(id string) string { return "s:" + id }

func blockKey(a, b string) string {
	p := pair(a, b)
	return "b:" + p.a + "|" + p.b
}

// touchConv records that this write transaction changed a member of a
// conversation, or made the conversation: other nodes' caches drop the
// conversation with its members.
func (t *tx) touchConv(id string) {
	if t.write {
		t.db.touched[convKey(id)] = struct{}{}
	}
}

// touchConvRow records that this write transaction changed a
// conversation's row, its chain or its inbox item, and none of its
// members (what a send writes): other nodes' caches drop those and keep
// the members, and read the row and chain head again in the round trip
// that takes the positions lock (see refreshChanged). This holds while
// the cached Member has nothing a conversation's write changes (the 0019
// trigger's members.activity_at is not in memberCols): a member column
// that follows the conversation would need "c:" here.
func (t *tx) touchConvRow(id string) {
	if t.write {
		t.db.touched[convRowKey(id)] = struct{}{}
	}
}

// touchBlock records a change of the block between a and b.
func (t *tx) touchBlock(a, b string) {
	if t.write {
		t.db.touched[blockKey(a, b)] = struct{}{}
	}
}

func (c *writeCache) putBlock(a, b string, blocked bool) {
	if c.full() {
		c.reset()
	}
	c.blocks[pair(a, b)] = blocked
}

func (c *writeCache) putChain(conv string, h chainHead) {
	if c.full() {
		c.reset()
	}
	c.chain[conv] = h
}

func (c *writeCache) putNoInbox(conv string) {
	if c.full() {
		c.reset()
	}
	c.noInbox[conv] = true
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
		panic("postgres: position taken in a read transaction")
	}
	p := t.db.pos
	t.db.pos++
	return p
}
