package app

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley"
)

// The verified-token cache spares every API request the session and user
// reads of Authenticate (two lookups in a read transaction, ~90 µs of CPU)
// when the same token came by a moment ago — as Synapse and Mattermost
// cache access tokens. It never weakens what a token may do:
//
//   - Entries are keyed by the token's SHA-256 (the raw token is never
//     kept) and hold copies of the session's and user's rows as they were
//     read; a hit hands out fresh copies.
//   - An entry lives authMaxAge at most, so a change made where this node
//     cannot hear of it (another node whose notification was lost, the
//     CLI on the same database) is seen within that time.
//   - Every transaction of this app that changes a user's row or ends one
//     of their sessions (writer.UpdateUser, DeleteSession,
//     DeleteSessionsExcept: logout, revocation, password change,
//     suspension, erasure, bot and token changes, profile edits) forgets
//     that user's entries right after its commit, before the change's
//     answer is sent, and tells the other nodes over the bus
//     (WithAuthChanged; they call ForgetAuth).
//   - Session expiry is checked on every hit against the clock.
//
// Forgetting a user is O(1): it bumps the user's epoch, one of
// authEpochSlots counters chosen by a hash of the user id, and an entry is
// good only while its slot's epoch is the one read before its rows were.
// Users sharing a slot only cost each other a refill. The cache is bounded:
// authShards shards of authShardSize entries, each evicting its oldest
// entry first (all entries have the same lifetime, so that is also the one
// closest to expiry).
const (
	authMaxAge     = 5 * time.Second
	authShards     = 16
	authShardSize  = 512 // 8,192 entries, a few MiB at most
	authEpochSlots = 4096
	authHashSize   = 32 // SHA-256
)

// authCache holds recently verified tokens.
type authCache struct {
	maxAge time.Duration
	seed   maphash.Seed
	// forgets counts the forgets that happened: a fill that overlaps one
	// is not kept (see fill).
	forgets atomic.Uint64
	// flushes counts ForgetAllAuth calls; an entry is good only while it
	// is the one it was filled under.
	flushes atomic.Uint64
	epochs  [authEpochSlots]atomic.Uint64
	shards  [authShards]authShard
}

type authShard struct {
	mu sync.Mutex
	m  map[[authHashSize]byte]*authEntry
	// ring holds the shard's entries in the order they were filled; an
	// entry replaced or forgotten stays in it until its turn comes and is
	// then skipped.
	ring       [authShardSize]*authEntry
	head, size int
}

// authEntry is one verified token. Only lastUsed changes after it is
// filled.
type authEntry struct {
	hash      [authHashSize]byte
	session   parley.Session // TokenHash and LastUsedAt not used
	user      parley.User
	filled    time.Time
	slot      uint32
	epoch     uint64
	flush     uint64
	createdNs int64
	// lastUsed is when the session was last recorded as used (unix ns),
	// so that hits go on recording use once a minute.
	lastUsed atomic.Int64
}

func newAuthCache(maxAge time.Duration) *authCache {
	c := &authCache{maxAge: maxAge, seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[[authHashSize]byte]*authEntry)
	}
	return c
}

func (c *authCache) slot(userID string) uint32 {
	return uint32(maphash.String(c.seed, userID) % authEpochSlots)
}

func (c *authCache) shard(hash []byte) *authShard { return &c.shards[hash[0]%authShards] }

// authMark is the state of the cache before a fill's reads.
type authMark struct{ forgets, flushes uint64 }

// mark is taken before reading the rows a fill stores.
func (c *authCache) mark() authMark {
	return authMark{forgets: c.forgets.Load(), flushes: c.flushes.Load()}
}

// get returns the live entry for a token hash, or nil.
func (c *authCache) get(hash []byte, now time.Time) *authEntry {
	sh := c.shard(hash)
	sh.mu.Lock()
	e := sh.m[[authHashSize]byte(hash)]
	sh.mu.Unlock()
	if e == nil {
		return nil
	}
	// A clock that went back also ends the entry.
	if age := now.Sub(e.filled); age < 0 || age >= c.maxAge {
		return nil
	}
	if e.epoch != c.epochs[e.slot].Load() || e.flush != c.flushes.Load() {
		return nil
	}
	return e
}

// fill stores what Authenticate read after m was taken, unless a forget
// ran meanwhile: the rows may predate it. The user's epoch is read only
// after the check of forgets, and forget bumps forgets before the epoch,
// so an entry kept with an epoch that a forget then bumps is never used.
func (c *authCache) fill(m authMark, hash []byte, s *parley.Session, u *parley.User, now time.Time) {
	e := &authEntry{hash: [authHashSize]byte(hash), session: *s, user: *u, filled: now, slot: c.slot(u.ID),
		flush: m.flushes, createdNs: s.CreatedAt.UnixNano()}
	e.session.TokenHash, e.session.Scopes = nil, append([]string(nil), s.Scopes...)
	if s.ExpiresAt != nil {
		exp := *s.ExpiresAt
		e.session.ExpiresAt = &exp
	}
	if u.DeletedAt != nil {
		d := *u.DeletedAt
		e.user.DeletedAt = &d
	}
	e.lastUsed.Store(s.LastUsedAt.UnixNano())
	e.epoch = c.epochs[e.slot].Load()
	if c.forgets.Load() != m.forgets {
		return
	}
	sh := c.shard(hash)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.size == authShardSize {
		old := sh.ring[sh.head]
		if sh.m[old.hash] == old {
			delete(sh.m, old.hash)
		}
		sh.ring[sh.head] = nil
		sh.head = (sh.head + 1) % authShardSize
		sh.size--
	}
	sh.ring[(sh.head+sh.size)%authShardSize] = e
	sh.size++
	sh.m[e.hash] = e
}

// forget ends every entry of these users.
func (c *authCache) forget(userIDs []string) {
	for _, id := range userIDs {
		c.forgets.Add(1)
		c.epochs[c.slot(id)].Add(1)
	}
}

// forgetAll ends every entry.
func (c *authCache) forgetAll() {
	c.forgets.Add(1)
	c.flushes.Add(1)
}

// len counts the entries held (live or not), for tests.
func (c *authCache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// actor builds a fresh Actor from an entry: nothing the caller may change
// is shared with the cache.
func (e *authEntry) actor() *Actor {
	u := e.user
	if u.DeletedAt != nil {
		d := *u.DeletedAt
		u.DeletedAt = &d
	}
	actor := &Actor{User: &u, SessionID: e.session.ID}
	if e.session.Kind == parley.SessionToken {
		actor.Scopes = append([]string{}, e.session.Scopes...)
	}
	if e.session.ExpiresAt != nil {
		exp := *e.session.ExpiresAt
		actor.ExpiresAt = &exp
	}
	return actor
}

// ForgetAuth drops what this node caches about these users' tokens. The
// hub calls it when another node says their sessions or accounts changed.
func (a *App) ForgetAuth(userIDs []string) { a.auth.forget(userIDs) }

// ForgetAllAuth drops every cached token, for when the bus lost
// notifications that may have said to.
func (a *App) ForgetAllAuth() { a.auth.forgetAll() }

// WithAuthChanged sets the function told, after commit, which users'
// sessions or accounts changed, so that the other nodes forget their
// cached tokens (ForgetAuth). It must not block.
func WithAuthChanged(fn func(userIDs []string)) Option {
	return func(a *App) { a.authChanged = fn }
}

// WithAuthMaxAge sets how long a verified token is remembered (default
// 5 s). Tests lengthen it to show that a change reaches a node by its
// notification and not by the entry's expiry.
func WithAuthMaxAge(d time.Duration) Option {
	return func(a *App) {
		if d > 0 {
			a.auth.maxAge = d
		}
	}
}

// authWrites forgets the cached tokens of the users a transaction changed
// and tells the other nodes.
func (a *App) authWrites(userIDs []string) {
	if len(userIDs) == 0 {
		return
	}
	a.auth.forget(userIDs)
	a.authChanged(userIDs)
}

// UpdateUser saves u and notes that its cached tokens must go.
func (w *writer) UpdateUser(u *parley.User) error {
	if err := w.Tx.UpdateUser(u); err != nil {
		return err
	}
	w.authUser(u.ID)
	return nil
}

// DeleteSession deletes a session and notes that its user's cached
// tokens must go.
func (w *writer) DeleteSession(userID, id string) error {
	if err := w.Tx.DeleteSession(userID, id); err != nil {
		return err
	}
	w.authUser(userID)
	return nil
}

// DeleteSessionsExcept deletes sessions and notes that the user's cached
// tokens must go.
func (w *writer) DeleteSessionsExcept(userID, keepID string) (int, error) {
	n, err := w.Tx.DeleteSessionsExcept(userID, keepID)
	if err == nil && n > 0 {
		w.authUser(userID)
	}
	return n, err
}

func (w *writer) authUser(id string) {
	for _, x := range w.authUsers {
		if x == id {
			return
		}
	}
	w.authUsers = append(w.authUsers, id)
}
