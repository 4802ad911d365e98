package postgres

import "github.com/parleyhq/parley"

// writeCache is store/sqlite's cache of the committer's reads. It is exact
// there because SQLite has one writer; here other nodes write too, so the
// PostgreSQL store keeps no such cache and cache returns nil: the methods
// shared with store/sqlite read the database every time.
type writeCache struct {
	convs   map[string]parley.Conversation
	members map[memberKey]parley.Member
	blocks  map[pairKey]bool
}

type memberKey struct{ conv, user string }

type pairKey struct{ a, b string }

func pair(a, b string) pairKey {
	if a > b {
		a, b = b, a
	}
	return pairKey{a, b}
}

func (c *writeCache) putConv(v *parley.Conversation) {}

func (c *writeCache) putMember(m *parley.Member) {}

func (c *writeCache) putBlock(a, b string, blocked bool) {}

// cache returns nil: see writeCache.
func (t *tx) cache() *writeCache { return nil }

// nextPos takes the next position; only write transactions may.
func (t *tx) nextPos() int64 {
	if !t.write {
		panic("postgres: position taken in a read transaction")
	}
	p := t.db.pos
	t.db.pos++
	return p
}
