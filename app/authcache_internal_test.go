package app

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

func testEntry(i int) ([]byte, *parley.Session, *parley.User) {
	h := sha256.Sum256([]byte(fmt.Sprint("token ", i)))
	u := &parley.User{ID: fmt.Sprint("user", i), Handle: fmt.Sprint("u", i)}
	return h[:], &parley.Session{ID: fmt.Sprint("session", i), UserID: u.ID}, u
}

// TestAuthCacheBounded: however many tokens come by, the cache holds at
// most its size, and the newest stay.
func TestAuthCacheBounded(t *testing.T) {
	c := newAuthCache(authMaxAge)
	now := time.Now()
	const n = 3 * authShards * authShardSize
	for i := range n {
		h, s, u := testEntry(i)
		c.fill(c.mark(), h, s, u, now)
	}
	if got := c.len(); got > authShards*authShardSize {
		t.Fatalf("%d entries held, bound %d", got, authShards*authShardSize)
	}
	h, _, _ := testEntry(n - 1)
	if c.get(h, now) == nil {
		t.Fatal("the newest entry was evicted")
	}
	h, _, _ = testEntry(0)
	if c.get(h, now) != nil {
		t.Fatal("the oldest entry was kept")
	}
	// Filling the same token again replaces its entry.
	for range 2 * authShardSize {
		h, s, u := testEntry(7)
		c.fill(c.mark(), h, s, u, now)
	}
	if h, _, _ := testEntry(7); c.get(h, now) == nil {
		t.Fatal("a refilled entry is missing")
	}
}

// TestAuthCacheFillRace: rows read before a forget are never served, in
// either order of the forget and the fill's store.
func TestAuthCacheFillRace(t *testing.T) {
	c := newAuthCache(authMaxAge)
	now := time.Now()
	h, s, u := testEntry(1)

	m := c.mark() // the fill reads its rows…
	c.forget([]string{u.ID})
	c.fill(m, h, s, u, now) // …and stores them after the forget
	if c.get(h, now) != nil {
		t.Fatal("an entry filled across a forget is served")
	}

	c.fill(c.mark(), h, s, u, now)
	if c.get(h, now) == nil {
		t.Fatal("a fresh fill is not served")
	}
	c.forget([]string{u.ID})
	if c.get(h, now) != nil {
		t.Fatal("a forgotten entry is served")
	}

	other, os, ou := testEntry(2)
	c.fill(c.mark(), other, os, ou, now)
	c.fill(c.mark(), h, s, u, now)
	c.forget([]string{u.ID})
	if c.get(other, now) == nil && c.slot(ou.ID) != c.slot(u.ID) {
		t.Fatal("forgetting one user dropped another's entry")
	}

	m = c.mark()
	c.forgetAll()
	c.fill(m, h, s, u, now)
	if c.get(h, now) != nil {
		t.Fatal("an entry filled across a flush is served")
	}
	c.fill(c.mark(), other, os, ou, now)
	c.forgetAll()
	if c.get(other, now) != nil {
		t.Fatal("an entry survived a flush")
	}
	c.fill(c.mark(), other, os, ou, now)
	if c.get(other, now.Add(authMaxAge)) != nil || c.get(other, now.Add(-time.Second)) != nil {
		t.Fatal("an entry outlived its age, or a clock that went back")
	}
}
