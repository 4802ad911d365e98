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
	"github.com/parleyhq/parley/store/sqlite"
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

// TestSearchMigrationConverts checks that migration 0021 converts the
// index of 0010/0017 (rowid = position) into the index by conversation
// ranges, with live messages only, and that the converted index follows
// later changes.
func TestSearchMigrationConverts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openAt(t, path)
	seedSearch(t, db, "old otter", "old otter unsent", "", "caféteria otters")
	if err := db.Update(context.Background(), func(tx parley.Tx) error {
		return tx.PurgeMessage("m2", time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	undo0021(t, path)

	db = openAt(t, path)
	defer db.Close()
	if got := searchIDs(t, db, "otter"); !slices.Equal(got, []string{"m1", "m4"}) {
		t.Fatalf("converted: %v, want [m1 m4] (the unsent one stays out)", got)
	}
	convertedFollows(t, db, path)
}

// undo0021 puts back the index as 0017 left it, as if 0021 (and 0025
// and 0034, which change its triggers) had not run.
func undo0021(t *testing.T, path string) {
	t.Helper()
	raw := rawDB(t, path)
	for _, q := range []string{
		`DROP TRIGGER IF EXISTS message_search_insert`, // 0025 dropped it
		`DROP TRIGGER message_search_update`,
		`DROP TRIGGER message_search_delete`,
		`DROP TABLE message_search`,
		`DROP TRIGGER conversations_search_num`,
		`DROP TRIGGER conversations_delete_messages`,
		`DROP INDEX conversations_search_num`,
		`DROP TABLE search_pending`,
		`ALTER TABLE conversations DROP COLUMN search_num`,
		`ALTER TABLE positions DROP COLUMN indexed`,
		`DELETE FROM schema_migrations WHERE name LIKE '%0021_search_ranges.sql' OR name LIKE '%0025_batch_sort_key_search.sql'
			OR name LIKE '%0034_search_watermark.sql'`,
		`CREATE VIRTUAL TABLE message_search USING fts5(body, content = '', tokenize = 'unicode61 remove_diacritics 2')`,
		`INSERT INTO message_search (rowid, body)
			SELECT pos, body FROM messages WHERE deleted_at IS NULL AND body != '' AND kind != 'system'`,
		`CREATE TRIGGER message_search_insert AFTER INSERT ON messages
			WHEN new.deleted_at IS NULL AND new.body != '' AND new.kind != 'system'
			BEGIN INSERT INTO message_search (rowid, body) VALUES (new.pos, parley_plain(new.id, new.body)); END`,
		`CREATE TRIGGER message_search_update AFTER UPDATE OF body ON messages BEGIN SELECT 1; END`,
		`CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN SELECT 1; END`,
		`UPDATE messages SET body = 'old otter unsent' WHERE id = 'm2'`, // a tombstone that kept its text must stay out
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
}

// convertedFollows checks a converted index (of seedSearch's messages
// "old otter", unsent, "", "caféteria otters") and that it follows later
// changes.
func convertedFollows(t *testing.T, db *sqlite.DB, path string) {
	t.Helper()
	if got := searchIDs(t, db, "cafeteria"); !slices.Equal(got, []string{"m4"}) {
		t.Fatalf("converted, folded: %v", got)
	}
	// The new triggers index what comes next, in a new conversation too.
	now := time.Date(2025, 1, 3, 0, 0, 0, 0, time.UTC)
	if err := db.Update(context.Background(), func(tx parley.Tx) error {
		if err := tx.CreateConversation(&parley.Conversation{ID: "c2", Kind: parley.ConversationGroup, CreatedBy: "a",
			CreatedAt: now, LastActivityAt: now}); err != nil {
			return err
		}
		if err := tx.PutMember(&parley.Member{ConversationID: "c2", UserID: "a", Role: parley.RoleOwner,
			Status: parley.StatusActive, Folder: parley.FolderInbox, JoinedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateMessage(&parley.Message{ID: "n1", ConversationID: "c2", Seq: 1, SenderID: "a",
			Kind: parley.MessageText, Text: "new otter", CreatedAt: now}); err != nil {
			return err
		}
		return tx.UpdateMessageText("m1", "old beaver", now)
	}); err != nil {
		t.Fatal(err)
	}
	if got := searchIDs(t, db, "otter"); !slices.Equal(got, []string{"m4", "n1"}) {
		t.Fatalf("after new messages: %v, want [m4 n1]", got)
	}
	raw := rawDB(t, path)
	if _, err := raw.Exec(`INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 0)`); err != nil {
		t.Fatalf("integrity-check: %v", err)
	}
	var nums, distinct int
	if err := raw.QueryRow(`SELECT COUNT(search_num), COUNT(DISTINCT search_num) FROM conversations`).Scan(&nums, &distinct); err != nil ||
		nums != 2 || distinct != 2 {
		t.Fatalf("search_num: %d set, %d distinct (%v), want 2 and 2", nums, distinct, err)
	}
}

// TestSearchMigrationSealed checks that 0021 leaves sealed messages
// (encryption at rest: the migration runs before the store has the
// keyring) out of the index without failing, and that the store indexes
// them when it gets the keyring.
func TestSearchMigrationSealed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openAt(t, path)
	ring := sqlite.TestKeyring(t)
	db.SetKeyring(ring)
	seedSearch(t, db, "old otter", "old otter unsent", "", "caféteria otters")
	if err := db.Update(context.Background(), func(tx parley.Tx) error {
		return tx.PurgeMessage("m2", time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	undo0021(t, path)

	db = openAt(t, path) // no keyring yet: 0021 runs and skips the sealed bodies
	defer db.Close()
	var pending int
	raw := rawDB(t, path)
	if err := raw.QueryRow(`SELECT COUNT(*) FROM search_pending`).Scan(&pending); err != nil || pending != 2 {
		t.Fatalf("pending: %d (%v), want the 2 live sealed messages", pending, err)
	}
	db.SetKeyring(ring)
	if got := searchIDs(t, db, "otter"); !slices.Equal(got, []string{"m1", "m4"}) {
		t.Fatalf("sealed, indexed with the keyring: %v, want [m1 m4]", got)
	}
	if err := raw.QueryRow(`SELECT COUNT(*) FROM search_pending`).Scan(&pending); err != nil || pending != 0 {
		t.Fatalf("pending after: %d (%v)", pending, err)
	}
	convertedFollows(t, db, path)
}

// TestSearchCommonWord checks a word with more matches in the index than
// the probe reads (so every conversation of the searcher is visited, not
// only those the probe saw), and words the index splits in several
// tokens.
func TestSearchCommonWord(t *testing.T) {
	db := openAt(t, filepath.Join(t.TempDir(), "parley.db"))
	defer db.Close()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	const convs, msgs = 40, 5000
	var figs, namaste []string // a's matches, newest first
	err := db.Update(context.Background(), func(tx parley.Tx) error {
		for _, u := range []string{"a", "b"} {
			if err := tx.CreateUser(&parley.User{ID: u, Handle: u, Kind: parley.KindPerson, DMPolicy: parley.PolicyOpen,
				CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		for i := range convs {
			id := fmt.Sprint("c", i)
			if err := tx.CreateConversation(&parley.Conversation{ID: id, Kind: parley.ConversationGroup, CreatedBy: "b",
				CreatedAt: now, LastActivityAt: now}); err != nil {
				return err
			}
			if i%2 != 0 {
				continue // a is in every other conversation: 20, enough for the probe to run
			}
			if err := tx.PutMember(&parley.Member{ConversationID: id, UserID: "a", Role: parley.RoleMember,
				Status: parley.StatusActive, Folder: parley.FolderInbox, JoinedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		for i := range msgs {
			c := (i * 7) % convs // 7 and 40 are coprime: every conversation gets messages
			text := "fig tree"
			switch i % 4 {
			case 1:
				text = "a fig"
			case 2:
				text = "नमस्ते fig"
			case 3:
				text = "नमस दोस्त ते figure"
			}
			seq, err := tx.AllocSeq(fmt.Sprint("c", c), now)
			if err != nil {
				return err
			}
			m := &parley.Message{ID: fmt.Sprint("m", i), ConversationID: fmt.Sprint("c", c), Seq: seq, SenderID: "b",
				Kind: parley.MessageText, Text: text, CreatedAt: now.Add(time.Duration(i) * time.Second)}
			if err := tx.CreateMessage(m); err != nil {
				return err
			}
			if c%2 == 0 {
				figs = append([]string{m.ID}, figs...)
				if i%4 == 2 {
					namaste = append([]string{m.ID}, namaste...)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	page := func(q string, after int64, limit int) []parley.SearchHit {
		var hits []parley.SearchHit
		if err := db.View(context.Background(), func(tx parley.Tx) error {
			f := parley.SearchFilter{ViewerIDs: []string{"a"}, Query: q, Order: parley.SearchRecent, Limit: limit}
			if after > 0 {
				f.After = &parley.SearchCursor{Pos: after}
			}
			var err error
			hits, err = tx.SearchMessages(f)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return hits
	}
	// The first three pages (all of them would take minutes under -race).
	first := func(q string) []string {
		var got []string
		for after := int64(0); len(got) < 150; {
			hits := page(q, after, 50)
			for _, h := range hits {
				got = append(got, h.Message.ID)
			}
			if len(hits) < 50 {
				break
			}
			after = hits[len(hits)-1].Message.Pos
		}
		return got
	}
	// "fig" is the last word, so a prefix: "figure" matches too.
	if got := first("fig"); !slices.Equal(got, figs[:150]) {
		t.Errorf("fig: %v, want %v", got, figs[:150])
	}
	// A word the index splits at its combining marks is found whole.
	if got := first("नमस्ते"); !slices.Equal(got, namaste[:150]) {
		t.Errorf("नमस्ते: %v, want %v", got, namaste[:150])
	}
}

// TestSearchProbeStopsPartway checks the ranges a probe that read only
// part of a word's matches keeps: the searcher's conversations numbered
// below the last one it reached and holding no match are dropped, every
// other one is searched, so no match is lost either side of the cut.
func TestSearchProbeStopsPartway(t *testing.T) {
	// Conversations in number order: the searcher's s0..s19 around two
	// busy conversations of others (b0, b1) that hold more matches than the
	// probe reads (4096 at least), so that it stops inside b1.
	order := []string{"s0", "s1", "b0", "s2", "s3", "b1"}
	for i := 4; i < 20; i++ {
		order = append(order, fmt.Sprint("s", i))
	}
	checkProbe(t, order, map[string]int{"s1": 3, "b0": 2100, "s3": 2, "b1": 2100, "s5": 1, "s11": 4, "s19": 2})
}

// TestSearchProbeFirstPart checks a probe that stops after its first
// part (searchProbeFirst matches): a busy conversation of others comes
// early and holds more than that, and the searcher's 100 conversations
// after it are too many for the rest of the probe to reach enough of
// them (probeMore), so it prunes with what the first part saw (s0,
// without a match, goes).
func TestSearchProbeFirstPart(t *testing.T) {
	order := []string{"s0", "b0"}
	holds := map[string]int{"b0": 1100}
	for i := 1; i <= 100; i++ {
		order = append(order, fmt.Sprint("s", i))
		if i%7 == 0 {
			holds[fmt.Sprint("s", i)] = i % 3
		}
	}
	checkProbe(t, order, holds)
}

// checkProbe makes the conversations of order, in that order (their
// search numbers), the searcher "a" a member of those named s..., each
// holding "kiwi" in holds[id] messages and two messages without it, and
// checks that a search for kiwi finds every one of the searcher's.
func checkProbe(t *testing.T, order []string, holds map[string]int) {
	t.Helper()
	db := openAt(t, filepath.Join(t.TempDir(), "parley.db"))
	defer db.Close()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	var want []string // the searcher's matches, newest first
	err := db.Update(context.Background(), func(tx parley.Tx) error {
		for _, u := range []string{"a", "b"} {
			if err := tx.CreateUser(&parley.User{ID: u, Handle: u, Kind: parley.KindPerson, DMPolicy: parley.PolicyOpen,
				CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		n := 0
		for _, id := range order {
			if err := tx.CreateConversation(&parley.Conversation{ID: id, Kind: parley.ConversationGroup, CreatedBy: "b",
				CreatedAt: now, LastActivityAt: now}); err != nil {
				return err
			}
			if id[0] == 's' {
				if err := tx.PutMember(&parley.Member{ConversationID: id, UserID: "a", Role: parley.RoleMember,
					Status: parley.StatusActive, Folder: parley.FolderInbox, JoinedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
			}
			for k := range holds[id] + 2 { // two messages without the word each
				text := "plum tart"
				if k >= 2 {
					text = "kiwi tart"
				}
				seq, err := tx.AllocSeq(id, now)
				if err != nil {
					return err
				}
				n++
				m := &parley.Message{ID: fmt.Sprint("m", n), ConversationID: id, Seq: seq, SenderID: "b",
					Kind: parley.MessageText, Text: text, CreatedAt: now.Add(time.Duration(n) * time.Second)}
				if err := tx.CreateMessage(m); err != nil {
					return err
				}
				if k >= 2 && id[0] == 's' {
					want = append([]string{m.ID}, want...)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// One word and two (an AND, probed 256 matches at a time), with a
	// probe that stops after its first part and one that reads on
	// (probePays); the same two words in the other order, which rarePart
	// may take.
	for _, visit := range []time.Duration{time.Nanosecond, time.Hour} {
		for _, q := range []string{"kiwi", "kiwi tart", "tart kiwi"} {
			for _, order := range []parley.SearchOrder{parley.SearchRecent, parley.SearchRelevance} {
				// A walk moves the cost; each search starts from the one set.
				sqlite.SetSearchVisitCost(db, visit)
				// "kiwi tart" probes; "tart kiwi" may go by its rarer
				// word (rarePart) when the searcher's ranges allow.
				sqlite.SetSearchRare(db, q != "kiwi tart")
				parts, _ := sqlite.SearchCounts(db)
				var got []string
				if err := db.View(context.Background(), func(tx parley.Tx) error {
					hits, err := tx.SearchMessages(parley.SearchFilter{ViewerIDs: []string{"a"}, Query: q, Order: order, Limit: 100})
					for _, h := range hits {
						got = append(got, h.Message.ID)
					}
					return err
				}); err != nil {
					t.Fatal(err)
				}
				slices.Sort(got)
				w := slices.Clone(want)
				slices.Sort(w)
				if !slices.Equal(got, w) {
					t.Errorf("%q, %s, visit %v: %v, want %v", q, order, visit, got, w)
				}
				// Two words: a probe of 256 matches first, which the busy
				// conversation outlasts: at 1 ns a visit it stops there,
				// at an hour it reads on (one word goes to a scan, or
				// stops by probeMore, in these corpora).
				if after, _ := sqlite.SearchCounts(db); q == "kiwi tart" && (after > parts) != (visit == time.Hour) {
					t.Errorf("%q, %s, visit %v: the probe read %d parts after its first", q, order, visit, after-parts)
				}
			}
		}
	}
}

// TestSearchLongLastWord checks a last word longer than the index's
// prefixes (6 letters): it is asked for as the words of the index it
// starts (migration 0039's list of words), and found as a prefix whether
// it starts a few words or more than the search names.
func TestSearchLongLastWord(t *testing.T) {
	db := openAt(t, filepath.Join(t.TempDir(), "parley.db"))
	defer db.Close()
	texts := []string{"vegetables", "a vegetable", "vegetarian", "green vegetablesoup", "vegetab", "vegetabl x"}
	for i := range 20 { // more words starting with "vegetablo" than a search names
		texts = append(texts, fmt.Sprintf("vegetablo%c", 'a'+i))
	}
	seedSearch(t, db, texts...)
	ids := func(from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprint("m", i))
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"vegetab", slices.DeleteFunc(ids(1, 26), func(id string) bool { return id == "m3" })},
		{"Vegetable", []string{"m1", "m2", "m4"}},
		{"vegetables", []string{"m1", "m4"}},
		{"green vegetab", []string{"m4"}},
		{"vegetablo", ids(7, 26)},
		{"vegetabloc", []string{"m9"}},
		{"vegetablez", nil},
		{"vegetari", []string{"m3"}},
	} {
		if got := searchIDs(t, db, c.q); !slices.Equal(got, c.want) {
			t.Errorf("%q: %v, want %v", c.q, got, c.want)
		}
	}
}

// TestSearchScan checks a search that reads a word's matches in the
// searcher's conversations in one pass (scanRanges): the probe's first
// part stops inside a busy conversation of others after 10 of the
// searcher's 30, which tells that the word's matches up to the last of
// them are few enough to read at once. Every match is found, in both
// orders.
func TestSearchScan(t *testing.T) {
	var order []string
	holds := map[string]int{"b0": 1100}
	for i := range 10 {
		order = append(order, fmt.Sprint("s", i))
	}
	order = append(order, "b0")
	for i := 10; i < 30; i++ {
		order = append(order, fmt.Sprint("s", i))
	}
	for i := range 30 {
		if i%4 != 1 {
			holds[fmt.Sprint("s", i)] = i%3 + 1
		}
	}
	checkProbe(t, order, holds)
}
