package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// TestChainRowsUpgrade opens a database whose chain entries are still in
// the WITHOUT ROWID table of migration 0013 and checks that migration
// 0044 keeps every entry, that a taken index is still a conflict, and
// that appends go on after the copied heads.
func TestChainRowsUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	appendTo := func(db parley.Store, conv string, n int) {
		t.Helper()
		err := db.Update(ctx, func(tx parley.Tx) error {
			for range n {
				idx, head, err := tx.ChainHead(conv)
				if err != nil {
					return err
				}
				e := &parley.ChainEntry{ConversationID: conv, Kind: parley.ChainMessage, MessageID: fmt.Sprint("m", idx+1),
					Seq: idx + 1, ActorID: "a", At: when, ContentHash: parley.TextHash(fmt.Sprint(conv, idx))}
				e.Seal(idx, head)
				if err := tx.AppendChainEntry(e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	entries := func(db parley.Store, conv string) []*parley.ChainEntry {
		t.Helper()
		var out []*parley.ChainEntry
		err := db.View(ctx, func(tx parley.Tx) error {
			var err error
			out, err = tx.ChainEntries(conv, 0, 1000)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	db := openAt(t, path)
	convs := []string{"c3", "c1", "c2"}
	for round := range 4 { // interleaved, as a server writes them
		for i, c := range convs {
			appendTo(db, c, 1+(round+i)%3)
		}
	}
	before := map[string][]*parley.ChainEntry{}
	for _, c := range convs {
		before[c] = entries(db, c)
	}
	db.Close()

	// Back to the schema before 0044, with the same rows.
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE chain_old (
			conversation_id TEXT NOT NULL, idx INTEGER NOT NULL, kind TEXT NOT NULL,
			message_id TEXT NOT NULL DEFAULT '', seq INTEGER NOT NULL DEFAULT 0, actor_id TEXT NOT NULL DEFAULT '',
			subject_id TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL, content BLOB, prev BLOB NOT NULL, hash BLOB NOT NULL,
			PRIMARY KEY (conversation_id, idx)) WITHOUT ROWID`,
		`INSERT INTO chain_old SELECT conversation_id, idx, kind, message_id, seq, actor_id, subject_id, at, content, prev, hash FROM chain_entries`,
		`DROP TABLE chain_entries`,
		`ALTER TABLE chain_old RENAME TO chain_entries`,
		`DELETE FROM schema_migrations WHERE name = 'migrations/0044_chain_rowid.sql'`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var withoutRowid int
	if err := raw.QueryRow(`SELECT count(*) FROM pragma_table_list WHERE name = 'chain_entries' AND wr = 1`).Scan(&withoutRowid); err != nil || withoutRowid != 1 {
		t.Fatalf("old schema not in place: %d, %v", withoutRowid, err)
	}
	raw.Close()

	db = openAt(t, path)
	defer db.Close()
	raw, err = sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	var rowTable, keyIndex int
	var keyCols string
	err = raw.QueryRow(`SELECT (SELECT count(*) FROM pragma_table_list WHERE name = 'chain_entries' AND wr = 0),
		(SELECT count(*) FROM pragma_index_list('chain_entries') WHERE name = 'chain_entries_key' AND "unique" = 1),
		(SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info('chain_entries_key') ORDER BY seqno))`).Scan(&rowTable, &keyIndex, &keyCols)
	raw.Close()
	if err != nil || rowTable != 1 || keyIndex != 1 || keyCols != "conversation_id,idx" {
		t.Fatalf("after the upgrade: rowid table %d, unique key index %d on %q (%v), want 1 and 1 on conversation_id,idx", rowTable, keyIndex, keyCols, err)
	}
	for _, c := range convs {
		if got := entries(db, c); !reflect.DeepEqual(got, before[c]) {
			t.Fatalf("%s after the upgrade: %d entries, want the %d before it", c, len(got), len(before[c]))
		}
	}
	// The key is still unique.
	err = db.Update(ctx, func(tx parley.Tx) error {
		e := &parley.ChainEntry{ConversationID: "c1", Kind: parley.ChainEdit, ActorID: "a", At: when}
		e.Seal(1, before["c1"][0].Hash)
		return tx.AppendChainEntry(e)
	})
	var pe *parley.Error
	if !errors.As(err, &pe) || pe.Code != parley.EConflict {
		t.Fatalf("an index taken after the upgrade: %v, want a conflict", err)
	}
	// So it is for the campaigns' multi-row INSERT, a free index first.
	err = db.Update(ctx, func(tx parley.Tx) error {
		head := before["c3"][len(before["c3"])-1]
		free := &parley.ChainEntry{ConversationID: "c3", Kind: parley.ChainEdit, ActorID: "a", At: when}
		free.Seal(head.Index, head.Hash)
		taken := &parley.ChainEntry{ConversationID: "c1", Kind: parley.ChainEdit, ActorID: "a", At: when}
		taken.Seal(0, "")
		return tx.AppendChainEntries([]*parley.ChainEntry{free, taken})
	})
	if !errors.As(err, &pe) || pe.Code != parley.EConflict {
		t.Fatalf("AppendChainEntries with an index taken after the upgrade: %v, want a conflict", err)
	}
	if got := entries(db, "c3"); len(got) != len(before["c3"]) {
		t.Fatalf("c3 after a failed AppendChainEntries: %d entries, want %d", len(got), len(before["c3"]))
	}
	// Appends go on from the copied heads.
	appendTo(db, "c2", 2)
	got := entries(db, "c2")
	if len(got) != len(before["c2"])+2 || got[len(got)-1].Index != int64(len(got)) ||
		got[len(got)-2].PrevHash != before["c2"][len(before["c2"])-1].Hash {
		t.Fatalf("c2 after two appends: %d entries", len(got))
	}
	err = db.View(ctx, func(tx parley.Tx) error {
		es, err := tx.ChainEntries("c2", 0, 1000)
		for i := 1; err == nil && i < len(es); i++ {
			if es[i].PrevHash != es[i-1].Hash || es[i].Hash != es[i].ComputeHash() {
				return fmt.Errorf("entry %d does not follow entry %d", es[i].Index, es[i-1].Index)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
