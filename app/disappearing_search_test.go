package app_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
	_ "modernc.org/sqlite"
)

// ftsRows counts the rows of the full-text index that hold word, read
// from the database file itself.
func (c *chat) ftsRows(word string) int {
	c.t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(c.dir, "parley.db")+"?mode=ro")
	if err != nil {
		c.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM message_search WHERE message_search MATCH ?`, word).Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

func (c *chat) found(who *app.Actor, q string) int {
	c.t.Helper()
	p, err := c.a.Search(c.ctx, who, app.SearchQuery{Q: q})
	if err != nil {
		c.t.Fatal(err)
	}
	return len(p.Items)
}

// TestExpiredTextLeavesSearch: expired text is not found from its expiry
// on, and the reaper's purge takes it out of the full-text index.
func TestExpiredTextLeavesSearch(t *testing.T) {
	c := newChat(t)
	c.setTimer(c.ann, 300)
	c.send(c.ann, app.SendInput{Text: "the zanzibar rendezvous"})
	c.setTimer(c.ann, 0)
	c.send(c.ann, app.SendInput{Text: "zanzibar is lovely"})
	if n := c.found(c.bob, "zanzibar"); n != 2 {
		t.Fatalf("found %d before expiry, want 2", n)
	}
	c.clock.Advance(6 * time.Minute)
	if n := c.found(c.bob, "rendezvous"); n != 0 {
		t.Fatalf("expired text found before the reaper: %d", n)
	}
	if n := c.ftsRows("rendezvous"); n != 1 {
		t.Fatalf("index rows before the reaper: %d, want 1", n)
	}
	c.reap()
	if n := c.ftsRows("rendezvous"); n != 0 {
		t.Fatalf("the index still holds expired text: %d rows", n)
	}
	if n := c.found(c.bob, "zanzibar"); n != 1 {
		t.Fatalf("found %d after the reaper, want the message without a timer", n)
	}
}
