package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// searchIDs searches as user a and returns the ids found, sorted.
func searchIDs(t *testing.T, s parley.Store, query string) []string {
	t.Helper()
	var ids []string
	err := s.View(context.Background(), func(tx parley.Tx) error {
		hits, err := tx.SearchMessages(parley.SearchFilter{ViewerIDs: []string{"a"}, Query: query, Limit: 100})
		for _, h := range hits {
			ids = append(ids, h.Message.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

// seedSearch stores user a, conversation c1 and one message per text.
func seedSearch(t *testing.T, s parley.Store, texts ...string) {
	t.Helper()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	err := s.Update(context.Background(), func(tx parley.Tx) error {
		if err := tx.CreateUser(&parley.User{ID: "a", Handle: "a", Kind: parley.KindPerson, DMPolicy: parley.PolicyOpen,
			CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateConversation(&parley.Conversation{ID: "c1", Kind: parley.ConversationGroup, CreatedBy: "a",
			CreatedAt: now, LastActivityAt: now}); err != nil {
			return err
		}
		if err := tx.PutMember(&parley.Member{ConversationID: "c1", UserID: "a", Role: parley.RoleOwner,
			Status: parley.StatusActive, Folder: parley.FolderInbox, JoinedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		for i, text := range texts {
			if err := tx.CreateMessage(&parley.Message{ID: fmt.Sprint("m", i+1), ConversationID: "c1", Seq: int64(i + 1),
				SenderID: "a", Kind: parley.MessageText, Text: text, CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=secure_delete(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// TestSearchFollowsDeletes checks that a message deleted with SQL (as
// retention, disappearing messages and conversation deletion do) leaves
// the index, and that the index stays consistent.
func TestSearchFollowsDeletes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openAt(t, path)
	seedSearch(t, db, "expiring walrus", "lasting walrus")
	if got := searchIDs(t, db, "walrus"); !slices.Equal(got, []string{"m1", "m2"}) {
		t.Fatalf("before: %v", got)
	}
	db.Close()

	raw := rawDB(t, path)
	if _, err := raw.Exec(`DELETE FROM messages WHERE id = 'm1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 0)`); err != nil {
		t.Fatalf("integrity-check: %v", err)
	}
	// The index holds no entry of the deleted message's words.
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM message_search WHERE message_search MATCH 'expiring'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("expiring: %d rows, %v", n, err)
	}
	// Nor any copy of them in the file: secure-delete rewrote the index.
	if _, err := raw.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	if buf, err := os.ReadFile(path); err != nil || bytes.Contains(buf, []byte("expiring")) {
		t.Fatalf("the file still holds the deleted word (read error %v)", err)
	}
	if _, err := raw.Exec(`DELETE FROM conversations WHERE id = 'c1'`); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow(`SELECT COUNT(*) FROM message_search WHERE message_search MATCH 'walrus'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after the conversation went: %d rows, %v", n, err)
	}
	raw.Close()

	db = openAt(t, path)
	defer db.Close()
	if got := searchIDs(t, db, "walrus"); len(got) != 0 {
		t.Fatalf("after: %v", got)
	}
}

// TestSearchBackfill checks that migration 0010 indexes the messages
// sent before it, live ones only.
func TestSearchBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openAt(t, path)
	seedSearch(t, db, "old otter", "old otter unsent", "")
	if err := db.Update(context.Background(), func(tx parley.Tx) error {
		return tx.PurgeMessage("m2", time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Undo the migration, as if these messages predated it.
	raw := rawDB(t, path)
	for _, q := range []string{
		`DROP TRIGGER message_search_insert`,
		`DROP TRIGGER message_search_update`,
		`DROP TRIGGER message_search_delete`,
		`DROP TABLE message_search`,
		`DELETE FROM schema_migrations WHERE name LIKE '%0010_search.sql'`,
		`UPDATE messages SET body = 'old otter unsent' WHERE id = 'm2'`, // a tombstone that kept its text must stay out too
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var triggers int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'message_search%'`).Scan(&triggers); err != nil || triggers != 0 {
		t.Fatalf("triggers left: %d, %v", triggers, err)
	}
	raw.Close()

	db = openAt(t, path)
	defer db.Close()
	if got := searchIDs(t, db, "otter"); !slices.Equal(got, []string{"m1"}) {
		t.Fatalf("backfilled: %v, want [m1] (the unsent one stays out)", got)
	}
}
