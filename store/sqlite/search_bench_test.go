//go:build unix

package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// The search benchmark builds a corpus directly through the store and
// measures one user's searches over it.
//
//	PARLEY_SEARCH_BENCH_MESSAGES  corpus size (default 20000, so that
//	                              go test -bench stays quick)
//	PARLEY_SEARCH_BENCH_DB        the corpus file, kept and reused by the
//	                              next run of the same size (default:
//	                              parley-search-bench-SIZE.db in the
//	                              system's temporary directory)
//	PARLEY_SEARCH_BENCH_WINDOW    relevance window (default
//	                              app.RelevanceWindow; 0: rank every match)
//	PARLEY_SEARCH_BENCH_TRACE     set: log each shape's eight slowest
//	                              queries (text, wall time, hits)
//
// The corpus: a vocabulary of 50,000 made-up words whose frequencies
// follow Zipf's law (s = 1.1, like natural text), messages of 2 to 24
// words, 50 messages per conversation on average, interleaved in time
// across conversations; two members per conversation from 20,000 users,
// and the searcher in searchConvs of them. Queries are drawn from the
// same distribution as the text (what people write is what they look
// for), in four shapes; see searchShapes.
const (
	vocabSize   = 50000
	searchConvs = 500
	benchUsers  = 20000
)

// benchWords makes the vocabulary: pronounceable, distinct, rank order.
func benchWords() []string {
	syll := []string{"ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "da", "gu", "ber", "ton", "ral", "mis", "ek", "ol", "an", "ur", "ix"}
	seen := map[string]bool{}
	out := make([]string, 0, vocabSize)
	r := rand.New(rand.NewPCG(7, 7))
	for len(out) < vocabSize {
		n := 1 + r.IntN(4)
		var b strings.Builder
		for range n {
			b.WriteString(syll[r.IntN(len(syll))])
		}
		w := b.String()
		if len(w) < 2 || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

// corpusMsgID is the id of the corpus's i-th message: fixed width, so
// that ids come in index order and the id index grows at its end.
func corpusMsgID(i int) string { return fmt.Sprintf("m%09d", i) }

// searchIndexSteps are the migrations' steps that build the search index
// of a server upgraded with messages (buildSearchIndex), in order; the
// corpus records which it has had (search_bench_index), so that a new
// step runs alone on a corpus that had the earlier ones.
var searchIndexSteps = []struct{ name, sql string }{
	// 0021: the whole index from the messages, in rowid order: the same
	// statement but for CROSS JOIN, which makes SQLite read the messages
	// conversation by conversation instead of sorting all of them with
	// their text (3.8 GB and still sorting after 5 minutes at 10 million).
	// FTS5 gets the same rows in the same order.
	{"0021", `INSERT INTO message_search (rowid, body)
		SELECT c.search_num << 32 | (4294967295 - m.seq), parley_plain(m.id, m.body)
		FROM conversations c CROSS JOIN messages m ON m.conversation_id = c.id
		WHERE m.deleted_at IS NULL AND m.body != '' AND m.kind != 'system'
		ORDER BY c.search_num, m.seq DESC`},
	// 0030: one segment.
	{"0030", `INSERT INTO message_search (message_search) VALUES ('optimize')`},
	// 0034: the index's watermark past the messages it now holds (a
	// corpus built before 0034 got it from positions.next).
	{"0034", `UPDATE positions SET indexed = MAX(indexed, (SELECT COALESCE(MAX(pos), 0) + 1 FROM messages)) WHERE id = 1`},
}

// buildSearchCorpus fills the store at path with n messages unless it
// holds them already, then builds the search index unless it was built
// with every step of searchIndexSteps. Users, conversations and
// members go through the store; the messages, which are nearly all the
// work, go straight into the messages table with SQL in large
// transactions with a large page cache (the message indexes stay in
// memory), so that 10 million take minutes rather than the hours of one
// Update per batch of sends. They are the rows CreateMessage writes (same
// columns, positions after the store's, sequence numbers gap-free per
// conversation). The search index is then built as the migrations build
// it on a server that has messages already (searchIndexSteps): the
// state of an upgraded server, whose later sends add small segments on
// top. PARLEY_SEARCH_BENCH_BUILD=rows (or a step's name) stops after the
// rows (or that step).
func buildSearchCorpus(tb testing.TB, path string, n int) {
	ctx := context.Background()
	db := openAt(tb, path)
	exists := func(id string) bool {
		return db.View(ctx, func(tx parley.Tx) error { _, err := tx.MessageByID(id); return err }) == nil
	}
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	start := time.Now()
	if !exists(corpusMsgID(n - 1)) {
		if exists(corpusMsgID(0)) || exists("m0") {
			db.Close()
			tb.Fatalf("%s holds another corpus: remove it", path)
		}
		buildSearchRows(tb, db, path, n)
		tb.Logf("corpus: %d messages in %s", n, time.Since(start).Round(time.Second))
	} else {
		db.Close()
	}
	if os.Getenv("PARLEY_SEARCH_BENCH_BUILD") == "rows" {
		return
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(OFF)&_pragma=cache_size(-1000000)&_pragma=temp_store(MEMORY)")
	must(err)
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	must(raw.Ping())
	_, err = raw.Exec(`CREATE TABLE IF NOT EXISTS search_bench_index (step TEXT NOT NULL)`)
	must(err)
	done := map[string]bool{}
	rows, err := raw.Query(`SELECT step FROM search_bench_index`)
	must(err)
	for rows.Next() {
		var step string
		must(rows.Scan(&step))
		done[step] = true
	}
	must(rows.Err())
	rows.Close()
	for i, step := range searchIndexSteps {
		if done[step.name] {
			continue
		}
		if i == 0 { // from scratch
			_, err = raw.Exec(`INSERT INTO message_search (message_search) VALUES ('delete-all'); DELETE FROM search_bench_index`)
			must(err)
		}
		t0 := time.Now()
		_, err = raw.Exec(step.sql)
		must(err)
		_, err = raw.Exec(`INSERT INTO search_bench_index (step) VALUES (?)`, step.name)
		must(err)
		_, err = raw.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		must(err)
		tb.Logf("corpus: search index step %s in %s", step.name, time.Since(t0).Round(time.Second))
		if os.Getenv("PARLEY_SEARCH_BENCH_BUILD") == step.name {
			return
		}
	}
}

// buildSearchRows writes the corpus's users, conversations, members and
// messages; it closes db.
func buildSearchRows(tb testing.TB, db interface {
	parley.Store
	Close() error
}, path string, n int) {
	ctx := context.Background()
	start := time.Now()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	convs := max(n/50, searchConvs*2)
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	// Users, then conversations with their members, in batches.
	const batch = 2000
	for lo := 0; lo < benchUsers; lo += batch {
		must(db.Update(ctx, func(tx parley.Tx) error {
			for i := lo; i < min(lo+batch, benchUsers); i++ {
				id := "u" + strconv.Itoa(i)
				if err := tx.CreateUser(&parley.User{ID: id, Handle: id, Kind: parley.KindPerson, DMPolicy: parley.PolicyOpen,
					CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	// The searcher (u0) is in every convs/searchConvs-th conversation.
	every := convs / searchConvs
	for lo := 0; lo < convs; lo += batch {
		must(db.Update(ctx, func(tx parley.Tx) error {
			for i := lo; i < min(lo+batch, convs); i++ {
				id := "c" + strconv.Itoa(i)
				if err := tx.CreateConversation(&parley.Conversation{ID: id, Kind: parley.ConversationGroup, CreatedBy: "u1",
					CreatedAt: now, LastActivityAt: now}); err != nil {
					return err
				}
				a := 1 + (i*7919)%(benchUsers-1)
				b := 1 + (i*104729+13)%(benchUsers-1)
				if i%every == 0 {
					a = 0
				}
				for _, u := range []int{a, b} {
					if err := tx.PutMember(&parley.Member{ConversationID: id, UserID: "u" + strconv.Itoa(u), Role: parley.RoleMember,
						Status: parley.StatusActive, Folder: parley.FolderInbox, JoinedAt: now, UpdatedAt: now}); err != nil && parley.ErrorCode(err) != parley.EConflict {
						return err
					}
				}
			}
			return nil
		}))
	}
	db.Close()
	tb.Logf("corpus: %d users and %d conversations in %s", benchUsers, convs, time.Since(start).Round(time.Second))

	// The messages, with SQL. The store's trigger functions are
	// registered with the driver by Open above. A page cache of 1.5 GB
	// holds the messages' indexes at 10 million (ids and (conversation,
	// seq) come in an order the rows do not), so inserting costs no reads.
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(OFF)&_pragma=cache_size(-1500000)&_pragma=temp_store(MEMORY)")
	must(err)
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	var pos int64
	must(raw.QueryRow(`SELECT MAX(COALESCE((SELECT MAX(pos) FROM messages), 0), COALESCE((SELECT MAX(pos) FROM events), 0)) + 1`).Scan(&pos))
	// No trigger indexes these rows (migration 0025: the store indexes
	// messages in steps); the index is built afterwards (buildSearchIndex,
	// which moves positions.indexed past them), and Open moves
	// positions.next past them.
	words := benchWords()
	r := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(r, 1.1, 1, vocabSize-1)
	seqs := make([]int64, convs)
	last := make([]int, convs) // each conversation's newest message
	var text strings.Builder
	const bulk = 200000
	for lo := 0; lo < n; lo += bulk {
		tx, err := raw.Begin()
		must(err)
		ins, err := tx.Prepare(`INSERT INTO messages (id, conversation_id, seq, pos, sender_id, kind, body, created_at)
			VALUES (?, ?, ?, ?, 'u1', 'text', ?, ?)`)
		must(err)
		for i := lo; i < min(lo+bulk, n); i++ {
			c := r.IntN(convs)
			seqs[c]++
			last[c] = i
			text.Reset()
			for w := range 2 + r.IntN(23) {
				if w > 0 {
					text.WriteByte(' ')
				}
				text.WriteString(words[zipf.Uint64()])
			}
			_, err := ins.Exec(corpusMsgID(i), "c"+strconv.Itoa(c), seqs[c], pos+int64(i), text.String(),
				now.Add(time.Duration(i)*time.Second).UnixNano())
			must(err)
		}
		must(ins.Close())
		must(tx.Commit())
		if done := lo + bulk; done%(5*bulk) == 0 {
			tb.Logf("corpus: %d messages, %s", done, time.Since(start).Round(time.Second))
		}
	}
	// What CreateMessage's callers keep on the conversation.
	tx, err := raw.Begin()
	must(err)
	upd, err := tx.Prepare(`UPDATE conversations SET last_seq = ?, last_pos = ?, last_activity_at = ? WHERE id = ?`)
	must(err)
	for c, seq := range seqs {
		if seq > 0 {
			_, err := upd.Exec(seq, pos+int64(last[c]), now.Add(time.Duration(last[c])*time.Second).UnixNano(), "c"+strconv.Itoa(c))
			must(err)
		}
	}
	must(upd.Close())
	must(tx.Commit())
	_, err = raw.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	must(err)
}

// searchShapes are the kinds of queries measured: name, and how to make
// one from the vocabulary and a Zipf source.
var searchShapes = []struct {
	name string
	make func(words []string, z *rand.Zipf, r *rand.Rand) string
}{
	{"word", func(w []string, z *rand.Zipf, r *rand.Rand) string { return w[z.Uint64()] }},
	{"two-words", func(w []string, z *rand.Zipf, r *rand.Rand) string { return w[z.Uint64()] + " " + w[z.Uint64()] }},
	{"prefix", func(w []string, z *rand.Zipf, r *rand.Rand) string {
		s := w[z.Uint64()]
		return s[:min(len(s), 3+r.IntN(2))]
	}},
	{"rare-word", func(w []string, z *rand.Zipf, r *rand.Rand) string { return w[1000+r.IntN(vocabSize-1000)] }},
}

// BenchmarkSearch reports p50 and p99 of a user's searches (20 results)
// by query shape and order: wall-clock time, and the CPU time the process
// spent (user + system, from getrusage), which on a machine shared with
// other work is the steadier of the two: a query waiting for a core
// counts in the first, not in the second. Run with -benchtime=200x or more for a stable p99.
func BenchmarkSearch(b *testing.B) {
	n := 20000
	if s := os.Getenv("PARLEY_SEARCH_BENCH_MESSAGES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1000 {
			b.Fatalf("PARLEY_SEARCH_BENCH_MESSAGES=%q: a number of at least 1000", s)
		}
	}
	path := os.Getenv("PARLEY_SEARCH_BENCH_DB")
	if path == "" {
		path = filepath.Join(os.TempDir(), fmt.Sprintf("parley-search-bench-%d.db", n))
	}
	buildSearchCorpus(b, path, n)
	// The state of a server that has run a while: the file in the
	// operating system's page cache (a corpus just built may have been
	// pushed out of it), so that wall-clock times are not disk reads.
	// PARLEY_SEARCH_BENCH_COLD=1 measures without this.
	if os.Getenv("PARLEY_SEARCH_BENCH_COLD") == "" {
		before := residentShare(b, path)
		t0 := time.Now()
		readWhole(b, path)
		b.Logf("page cache: %.0f %% of %s resident before, %.0f %% after reading it (%s)", 100*before, path,
			100*residentShare(b, path), time.Since(t0).Round(time.Millisecond))
	}
	db := openAt(b, path)
	defer db.Close()
	words := benchWords()
	ctx := context.Background()
	// The window the app gives relevance searches; PARLEY_SEARCH_BENCH_WINDOW=0
	// measures without it.
	window := app.RelevanceWindow
	if s := os.Getenv("PARLEY_SEARCH_BENCH_WINDOW"); s != "" {
		window, _ = strconv.Atoi(s)
	}
	for _, order := range []parley.SearchOrder{parley.SearchRelevance, parley.SearchRecent} {
		for _, shape := range searchShapes {
			b.Run(fmt.Sprintf("%s/%s", order, shape.name), func(b *testing.B) {
				search := func(q string) ([]parley.SearchHit, error) {
					var hits []parley.SearchHit
					err := db.View(ctx, func(tx parley.Tx) error {
						var err error
						hits, err = tx.SearchMessages(parley.SearchFilter{ViewerIDs: []string{"u0"}, Query: q, Order: order,
							Window: window, Limit: 20})
						return err
					})
					return hits, err
				}
				// Warm-up: other queries of the same shape, untimed, so
				// that the connections' page caches hold what any search
				// of it reads (the memberships, the index's upper levels).
				wr := rand.New(rand.NewPCG(5, 6))
				wz := rand.NewZipf(wr, 1.1, 1, vocabSize-1)
				for range 20 {
					if _, err := search(shape.make(words, wz, wr)); err != nil {
						b.Fatal(err)
					}
				}
				r := rand.New(rand.NewPCG(3, 4))
				zipf := rand.NewZipf(r, 1.1, 1, vocabSize-1)
				var took, cpu []time.Duration
				var slow []slowQuery
				found := 0
				for b.Loop() {
					q := shape.make(words, zipf, r)
					c0 := cpuTime()
					t0 := time.Now()
					hits, err := search(q)
					found += len(hits)
					took = append(took, time.Since(t0))
					cpu = append(cpu, cpuTime()-c0)
					slow = append(slow, slowQuery{q, took[len(took)-1], len(hits)})
					if err != nil {
						b.Fatal(err)
					}
				}
				if os.Getenv("PARLEY_SEARCH_BENCH_TRACE") != "" {
					slices.SortFunc(slow, func(a, b slowQuery) int { return int(b.took - a.took) })
					for _, s := range slow[:min(len(slow), 8)] {
						b.Logf("slow: %q %s, %d hits", s.q, s.took.Round(100*time.Microsecond), s.hits)
					}
				}
				slices.Sort(took)
				slices.Sort(cpu)
				pct := func(d []time.Duration, p float64) float64 {
					return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
				}
				b.ReportMetric(pct(took, 0.50), "p50-ms")
				b.ReportMetric(pct(took, 0.99), "p99-ms")
				b.ReportMetric(pct(cpu, 0.50), "cpu-p50-ms")
				b.ReportMetric(pct(cpu, 0.99), "cpu-p99-ms")
				b.ReportMetric(float64(found)/float64(len(took)), "hits/query")
			})
		}
	}
}

// slowQuery is one timed search (PARLEY_SEARCH_BENCH_TRACE=1 logs the
// slowest of each shape).
type slowQuery struct {
	q    string
	took time.Duration
	hits int
}

// readWhole reads the file at path once, which leaves it in the
// operating system's page cache.
func readWhole(tb testing.TB, path string) {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Read(buf); err != nil {
			break
		}
	}
}

// residentShare is the share of the file at path in the operating
// system's page cache (mincore).
func residentShare(tb testing.TB, path string) float64 {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return 0
	}
	page := int64(os.Getpagesize())
	var in, all int64
	for off := int64(0); off < fi.Size(); off += 1 << 30 { // 1 GiB at a time
		n := min(fi.Size()-off, 1<<30)
		m, err := syscall.Mmap(int(f.Fd()), off, int(n), syscall.PROT_READ, syscall.MAP_SHARED)
		if err != nil {
			tb.Fatal(err)
		}
		vec := make([]byte, (n+page-1)/page)
		_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(n), uintptr(unsafe.Pointer(&vec[0])))
		syscall.Munmap(m)
		if errno != 0 {
			tb.Fatal(errno)
		}
		for _, v := range vec {
			in += int64(v & 1)
		}
		all += int64(len(vec))
	}
	return float64(in) / float64(all)
}

// cpuTime is the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
