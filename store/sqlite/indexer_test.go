package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/sealed/sealedtest"
)

// openIndexing opens a store at path whose index steps run only when
// every messages wait or after delay.
func openIndexing(t *testing.T, path string, every int, delay time.Duration) *DB {
	t.Helper()
	db, err := Open(path, Options{index: indexPolicy{every: every, delay: delay}})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// indexedRows counts the index's entries holding word, read from the
// file by another connection.
func indexedRows(t *testing.T, path, word string) int {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM message_search WHERE message_search MATCH ?`, word).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkIndex runs FTS5's integrity check on the file at path.
func checkIndex(t *testing.T, path string) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 0)`); err != nil {
		t.Fatalf("integrity-check: %v", err)
	}
}

// seedConversation stores user a and conversation c1 with a as member.
func seedConversation(t *testing.T, db *DB) {
	t.Helper()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	err := db.Update(context.Background(), func(tx parley.Tx) error {
		if err := tx.CreateUser(&parley.User{ID: "a", Handle: "a", Kind: parley.KindPerson, DMPolicy: parley.PolicyOpen,
			CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateConversation(&parley.Conversation{ID: "c1", Kind: parley.ConversationGroup, CreatedBy: "a",
			CreatedAt: now, LastActivityAt: now}); err != nil {
			return err
		}
		return tx.PutMember(&parley.Member{ConversationID: "c1", UserID: "a", Role: parley.RoleOwner,
			Status: parley.StatusActive, Folder: parley.FolderInbox, JoinedAt: now, UpdatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// send stores one message of a in c1, as one Update (a batch of its own).
func send(t *testing.T, db *DB, id, text string) {
	t.Helper()
	err := db.Update(context.Background(), func(tx parley.Tx) error {
		seq, err := tx.AllocSeq("c1", time.Now())
		if err != nil {
			return err
		}
		return tx.CreateMessage(&parley.Message{ID: id, ConversationID: "c1", Seq: seq, SenderID: "a",
			Kind: parley.MessageText, Text: text, CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// found searches as a and returns the ids found, sorted.
func found(t *testing.T, db *DB, query string) []string {
	t.Helper()
	var ids []string
	err := db.View(context.Background(), func(tx parley.Tx) error {
		ids = nil
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

// TestIndexWaitsAndSearchCatchesUp checks that small batches leave their
// messages out of the index (the point of the steps), that a search
// right after them finds them all the same, and that the index then
// holds them.
func TestIndexWaitsAndSearchCatchesUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openIndexing(t, path, 1000, time.Hour)
	defer db.Close()
	seedConversation(t, db)
	send(t, db, "m1", "quokka one")
	send(t, db, "m2", "quokka two")
	if n := indexedRows(t, path, "quokka"); n != 0 {
		t.Fatalf("%d index entries before any step, want 0: the batches indexed their messages", n)
	}
	if got := found(t, db, "quokka"); !slices.Equal(got, []string{"m1", "m2"}) {
		t.Fatalf("search right after the sends: %v, want [m1 m2]", got)
	}
	if n := indexedRows(t, path, "quokka"); n != 2 {
		t.Fatalf("%d index entries after the search, want 2", n)
	}
	// Messages that wait are indexed as they are at the step: an edit
	// and an unsend before it leave no trace of the old words.
	send(t, db, "m3", "wombat first words")
	send(t, db, "m4", "wombat to be unsent")
	err := db.Update(context.Background(), func(tx parley.Tx) error {
		if err := tx.UpdateMessageText("m3", "numbat second words", time.Now()); err != nil {
			return err
		}
		return tx.PurgeMessage("m4", time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := found(t, db, "wombat"); len(got) != 0 {
		t.Fatalf("wombat: %v, want none", got)
	}
	if got := found(t, db, "numbat"); !slices.Equal(got, []string{"m3"}) {
		t.Fatalf("numbat: %v, want [m3]", got)
	}
	if n := indexedRows(t, path, "wombat"); n != 0 {
		t.Fatalf("%d index entries of the old words, want 0", n)
	}
	// An edit after the step follows through the triggers.
	err = db.Update(context.Background(), func(tx parley.Tx) error {
		return tx.UpdateMessageText("m3", "bilby third words", time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := found(t, db, "numbat"); len(got) != 0 {
		t.Fatalf("numbat after the edit: %v, want none", got)
	}
	if got := found(t, db, "bilby"); !slices.Equal(got, []string{"m3"}) {
		t.Fatalf("bilby: %v, want [m3]", got)
	}
	checkIndex(t, path)
}

// TestIndexStepInWriteTransaction checks that a search inside an update
// finds the messages waiting and those the update created.
func TestIndexStepInWriteTransaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openIndexing(t, path, 1000, time.Hour)
	defer db.Close()
	seedConversation(t, db)
	send(t, db, "m1", "kiwi waiting")
	err := db.Update(context.Background(), func(tx parley.Tx) error {
		if err := tx.CreateMessage(&parley.Message{ID: "m2", ConversationID: "c1", Seq: 2, SenderID: "a",
			Kind: parley.MessageText, Text: "kiwi in this update", CreatedAt: time.Now()}); err != nil {
			return err
		}
		hits, err := tx.SearchMessages(parley.SearchFilter{ViewerIDs: []string{"a"}, Query: "kiwi", Limit: 10})
		if err != nil {
			return err
		}
		if len(hits) != 2 {
			return fmt.Errorf("%d hits in the update, want 2", len(hits))
		}
		// Created after the search: waits for a later step.
		return tx.CreateMessage(&parley.Message{ID: "m3", ConversationID: "c1", Seq: 3, SenderID: "a",
			Kind: parley.MessageText, Text: "kiwi after the search", CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := indexedRows(t, path, "kiwi"); n != 2 {
		t.Fatalf("%d index entries, want 2", n)
	}
	if got := found(t, db, "kiwi"); !slices.Equal(got, []string{"m1", "m2", "m3"}) {
		t.Fatalf("kiwi: %v", got)
	}
	checkIndex(t, path)
}

// TestIndexSteps checks the steps that run without a search: once
// enough messages wait, and when the writer has been idle long enough.
func TestIndexSteps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openIndexing(t, path, 3, time.Hour)
	defer db.Close()
	seedConversation(t, db)
	send(t, db, "m1", "emu")
	send(t, db, "m2", "emu")
	if n := indexedRows(t, path, "emu"); n != 0 {
		t.Fatalf("%d entries with 2 waiting, want 0", n)
	}
	send(t, db, "m3", "emu") // the third: the batch indexes all of them
	if n := indexedRows(t, path, "emu"); n != 3 {
		t.Fatalf("%d entries with 3 waiting, want 3", n)
	}
	db.Close()

	db = openIndexing(t, path, 1000, 10*time.Millisecond)
	defer db.Close()
	send(t, db, "m4", "emu")
	// The idle writer indexes it after 10 ms; allow a loaded machine time.
	deadline := time.Now().Add(20 * time.Second)
	for indexedRows(t, path, "emu") != 4 {
		if time.Now().After(deadline) {
			t.Fatal("the idle writer did not index the waiting message")
		}
		time.Sleep(5 * time.Millisecond)
	}
	checkIndex(t, path)
}

// TestIndexAfterCrash checks that messages committed but not yet indexed
// when the process dies are indexed after the restart, exactly once, and
// that edits and deletes of them before the step keep the index right.
func TestIndexAfterCrash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "parley.db")
	db := openIndexing(t, path, 1000, time.Hour)
	seedConversation(t, db)
	send(t, db, "m1", "dingo indexed")
	if got := found(t, db, "dingo"); !slices.Equal(got, []string{"m1"}) {
		t.Fatalf("dingo: %v", got)
	}
	send(t, db, "m2", "dingo waiting")
	send(t, db, "m3", "dingo waiting then edited")
	send(t, db, "m4", "dingo waiting then deleted")
	// The crash: a copy of the files as they are, the store still open.
	crashed := filepath.Join(dir, "crashed.db")
	for _, suffix := range []string{"", "-wal"} {
		copyFile(t, path+suffix, crashed+suffix)
	}
	db.Close()

	db = openIndexing(t, crashed, 1000, time.Hour)
	defer db.Close()
	if n := indexedRows(t, crashed, "dingo"); n != 1 {
		t.Fatalf("%d entries after the restart, want 1 (the others wait)", n)
	}
	err := db.Update(context.Background(), func(ptx parley.Tx) error {
		if err := ptx.UpdateMessageText("m3", "platypus", time.Now()); err != nil {
			return err
		}
		// As retention and conversation deletion do.
		_, err := ptx.(*tx).exec(`DELETE FROM messages WHERE id = 'm4'`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := found(t, db, "dingo"); !slices.Equal(got, []string{"m1", "m2"}) {
		t.Fatalf("dingo after the restart: %v, want [m1 m2]", got)
	}
	if got := found(t, db, "platypus"); !slices.Equal(got, []string{"m3"}) {
		t.Fatalf("platypus: %v", got)
	}
	if n := indexedRows(t, crashed, "dingo"); n != 2 {
		t.Fatalf("%d entries, want 2", n)
	}
	checkIndex(t, crashed)
}

// TestIndexOnClose checks that a clean shutdown leaves nothing waiting.
func TestIndexOnClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openIndexing(t, path, 1000, time.Hour)
	seedConversation(t, db)
	send(t, db, "m1", "possum")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n := indexedRows(t, path, "possum"); n != 1 {
		t.Fatalf("%d entries after Close, want 1", n)
	}
}

// TestSearchPagesAfterCatchUp checks that a search that had to catch the
// index up reads as of the step: Head says no more than the index holds,
// so a cursor taken from it keeps later pages to the same messages.
func TestSearchPagesAfterCatchUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openIndexing(t, path, 1000, time.Hour)
	defer db.Close()
	seedConversation(t, db)
	send(t, db, "m1", "wallaby")
	runs := 0
	err := db.View(context.Background(), func(ptx parley.Tx) error {
		runs++
		head, err := ptx.Head()
		if err != nil {
			return err
		}
		if runs == 2 {
			var indexed int64
			if err := ptx.(*tx).queryRow(`SELECT indexed FROM positions`).Scan(&indexed); err != nil {
				return err
			}
			if head != indexed-1 {
				return fmt.Errorf("head %d after the step, want %d", head, indexed-1)
			}
		}
		hits, err := ptx.SearchMessages(parley.SearchFilter{ViewerIDs: []string{"a"}, Query: "wallaby", Limit: 10, MaxPos: head})
		if err != nil {
			return err
		}
		if len(hits) != 1 {
			return fmt.Errorf("%d hits, want 1", len(hits))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if runs != 2 {
		t.Fatalf("fn ran %d times, want 2 (once behind, once after the step)", runs)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestIndexWatermarkNeverAboveNext checks that a position handed out by
// an update that rolled back, and so never saved in positions.next, is
// not given again after a reopen to a message that the index's
// watermark, moved past it meanwhile, would count as indexed: such a
// message would never be found.
func TestIndexWatermarkNeverAboveNext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openIndexing(t, path, 1000, time.Hour)
	seedConversation(t, db)
	send(t, db, "m1", "possum")
	// Fails twice: the first try takes a position and rolls back; the
	// retry with savepoints fails before taking one, so the batch saves
	// no position.
	calls := 0
	err := db.Update(context.Background(), func(tx parley.Tx) error {
		calls++
		if calls == 1 {
			seq, err := tx.AllocSeq("c1", time.Now())
			if err != nil {
				return err
			}
			if err := tx.CreateMessage(&parley.Message{ID: "gone", ConversationID: "c1", Seq: seq, SenderID: "a",
				Kind: parley.MessageText, Text: "gone", CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return fmt.Errorf("refused (try %d)", calls)
	})
	if err == nil {
		t.Fatal("the failing update succeeded")
	}
	// Close runs the last index step, which moves the watermark.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openIndexing(t, path, 1000, time.Hour)
	send(t, db, "m2", "wombat")
	if got := found(t, db, "wombat"); !slices.Equal(got, []string{"m2"}) {
		t.Fatalf("search after reopen found %v, want [m2]", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n := indexedRows(t, path, "wombat"); n != 1 {
		t.Fatalf("%d index entries for the new message, want 1", n)
	}
	checkIndex(t, path)
}

// TestIndexOnCloseSealed checks that Close's last index step still has
// the keyring: with encryption at rest the waiting messages' bodies are
// sealed, and the step reads their words through parley_plain.
func TestIndexOnCloseSealed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openIndexing(t, path, 1000, time.Hour)
	db.SetKeyring(sealedtest.Ring(t))
	seedConversation(t, db)
	send(t, db, "m1", "possum")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n := indexedRows(t, path, "possum"); n != 1 {
		t.Fatalf("%d entries after Close, want 1", n)
	}
}

// TestSearchLoadMissing checks the safeguard of a search by positions:
// when a position it kept has no live message, searchLoad says so and
// leaves what was kept alone (SearchMessages then walks again, checking
// every row), and otherwise it replaces the positions with the messages.
func TestSearchLoadMissing(t *testing.T) {
	db := openIndexing(t, filepath.Join(t.TempDir(), "parley.db"), 1, time.Hour)
	defer db.Close()
	seedConversation(t, db)
	send(t, db, "m1", "plum tart")
	var pos int64
	err := db.View(context.Background(), func(ptx parley.Tx) error {
		m, err := ptx.MessageByID("m1")
		pos = m.Pos
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(context.Background(), func(ptx parley.Tx) error {
		t := ptx.(*tx)
		keep := &newest{k: 10}
		keep.add(&parley.Message{Pos: pos})
		keep.add(&parley.Message{Pos: pos + 1000})
		if ok, err := t.searchLoad(keep, nil); err != nil || ok {
			return fmt.Errorf("with a missing position: %v, %v; want false", ok, err)
		}
		if len(keep.msgs) != 2 || keep.msgs[0].ID != "" || keep.msgs[1].ID != "" {
			return fmt.Errorf("with a missing position, keep changed: %+v", keep.msgs)
		}
		keep = &newest{k: 10}
		keep.add(&parley.Message{Pos: pos})
		if ok, err := t.searchLoad(keep, nil); err != nil || !ok {
			return fmt.Errorf("%v, %v; want true", ok, err)
		}
		if len(keep.msgs) != 1 || keep.msgs[0].ID != "m1" || keep.msgs[0].Text != "plum tart" {
			return fmt.Errorf("loaded %+v, want m1", keep.msgs)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
