// Package sqlite is Parley's embedded store: SQLite in WAL mode with
// synchronous=FULL, through the pure-Go modernc.org/sqlite driver. Writes go
// through one connection and are group-committed: concurrent Update calls
// share a transaction, each inside its own savepoint.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/storeseal"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

var _ parley.Store = (*DB)(nil)

// Options tune a DB. The zero value is the production default.
type Options struct {
	// MaxBatch caps how many Update calls share one commit (default 256).
	MaxBatch int
	// ReadConns is the size of the read connection pool (default 2×CPUs).
	ReadConns int
	// OnCommit, when set, is told about every batch the committer ran
	// (for metrics). It runs on the committer goroutine, between two
	// batches: it must be quick and must not block.
	OnCommit func(CommitInfo)

	// For tests: the log length past which it is restarted (walLimit)
	// and the checkpoint interval (checkpointInterval).
	walLimit        int64
	checkpointEvery time.Duration
	// index overrides when search index steps run (tests).
	index indexPolicy
}

// DB is a Parley store on one SQLite file.
type DB struct {
	path string
	// seal holds the keyring of encryption at rest (none: plaintext).
	seal  storeseal.Holder
	write *sql.DB // one connection, owned by the committer goroutine
	read  *sql.DB // a pool of read-only connections
	ckpt  *sql.DB // one connection for background checkpoints

	stopCkpt chan struct{}
	ckptDone chan struct{}

	locks namedLocks // parley.Locker's

	stmtMu sync.Mutex
	wstmts map[string]*sql.Stmt
	rstmts map[string]*sql.Stmt

	reqs chan *updateReq
	// pos is the next position for a message or event. Only the committer
	// touches it; it is loaded at open and its high-water mark is saved with
	// every batch (positions.next), so positions only grow, even across
	// restarts and deletions. A rolled-back batch leaves a gap, which is
	// allowed.
	pos int64
	// purged is set when a commit unsent a message: the next checkpoint
	// truncates the log so that no copy of the content stays in it.
	purged atomic.Bool
	// cache serves the committer's repeated reads; see writeCache.
	cache *writeCache
	// visitCost is what a search's visit of one conversation has cost
	// lately, in nanoseconds, for a query of one word [0] and of several
	// [1] (search.go, visitCosts): what a probe's pruning saves.
	visitCost [2]atomic.Int64
	// probeParts, splits, rares and rareChecks count the probes' parts
	// after the first, the searches split by splitLast, those that read a
	// rare part's matches (rarePart) and those of them that checked the
	// matches one by one (tests look at them); noSplit and noRare turn
	// splitLast and rarePart off (tests compare).
	probeParts, splits, rares, rareChecks atomic.Int64
	noSplit, noRare                       bool
	// common is what rarePart knows of common parts of queries.
	common commonParts
	// lastFailed is set when the last batch had a failing update; only the
	// committer goroutine touches it.
	lastFailed bool
	// What the committer knows of the messages waiting for the search
	// index (indexer.go): how many, since when, and when to try again
	// after a step failed. Only the committer goroutine touches them.
	backlog      int
	backlogAt    time.Time
	indexRetryAt time.Time
	index        indexPolicy
	maxBatch     int
	onCommit     func(CommitInfo)
	// walLimit and ckptEvery: see checkpointLoop.
	walLimit  int64
	ckptEvery time.Duration
	// restarts counts the times the committer started the log over.
	restarts atomic.Int64
	done     chan struct{}
	closeMu  sync.RWMutex
	closed   bool
}

type updateReq struct {
	ctx  context.Context
	fn   func(parley.Tx) error
	errc chan error
	// ckpt, when set, asks the committer for a checkpoint of this mode
	// (RESTART, TRUNCATE) on the write connection instead of an update.
	ckpt string
}

// Open opens (creating if needed) the database at path, applies pending
// migrations and starts the committer.
func Open(path string, opts Options) (*DB, error) {
	registerPlainFunc() // before any connection opens: the search triggers call it
	useFdatasync()
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.walLimit <= 0 {
		opts.walLimit = walLimit
	}
	if opts.checkpointEvery <= 0 {
		opts.checkpointEvery = checkpointInterval
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 2 * runtime.NumCPU()
	}
	if opts.index.every <= 0 {
		opts.index.every = indexEvery
	}
	if opts.index.delay <= 0 {
		opts.index.delay = indexDelay
	}
	// secure_delete zeroes freed content so that unsent messages leave no
	// trace in the file; a 64 MiB page cache keeps hot indexes in memory.
	// journal_size_limit: once the log starts over, the first commit
	// cuts the file back to walLimit (the log reuses its blocks below).
	pragmas := []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)",
		"secure_delete(ON)", "cache_size(-65536)", "temp_store(MEMORY)", "mmap_size(1073741824)",
		fmt.Sprintf("journal_size_limit(%d)", opts.walLimit)}
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	wq := url.Values{}
	for k, v := range q {
		wq[k] = v
	}
	wq.Set("_txlock", "immediate")
	// The committer never checkpoints: a checkpoint inside a commit copies
	// the whole log into the file and stalls every send waiting on that
	// batch. checkpointLoop does it beside the writer instead.
	wq.Add("_pragma", "wal_autocheckpoint(0)")
	write, err := sql.Open("sqlite", "file:"+path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	read, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode()+"&_pragma=query_only(ON)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read.SetMaxOpenConns(opts.ReadConns)
	read.SetMaxIdleConns(opts.ReadConns)
	// The checkpointer waits for readers only briefly: RESTART and TRUNCATE
	// hold the writer lock while they wait, and a send must not stall
	// behind a slow reader. A checkpoint that gives up tries again later.
	cq := url.Values{}
	for _, p := range pragmas {
		if !strings.HasPrefix(p, "busy_timeout") {
			cq.Add("_pragma", p)
		}
	}
	cq.Add("_pragma", "busy_timeout(50)")
	ckpt, err := sql.Open("sqlite", "file:"+path+"?"+cq.Encode())
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	ckpt.SetMaxOpenConns(1)

	db := &DB{
		path: path, write: write, read: read, ckpt: ckpt, stopCkpt: make(chan struct{}), ckptDone: make(chan struct{}),
		wstmts: map[string]*sql.Stmt{}, rstmts: map[string]*sql.Stmt{},
		reqs: make(chan *updateReq, opts.MaxBatch), maxBatch: opts.MaxBatch, onCommit: opts.OnCommit,
		done: make(chan struct{}), cache: newWriteCache(), index: opts.index,
		walLimit: opts.walLimit, ckptEvery: opts.checkpointEvery,
	}
	if err := db.migrate(context.Background()); err != nil {
		write.Close()
		read.Close()
		return nil, err
	}
	// The search index's watermark counts too: no new message may take a
	// position the index already counts as done (indexer.go).
	if err := db.write.QueryRow(`SELECT MAX(next, indexed, COALESCE((SELECT MAX(pos) FROM messages), 0) + 1,
		COALESCE((SELECT MAX(pos) FROM events), 0) + 1) FROM positions`).Scan(&db.pos); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("load position: %w", err)
	}
	if _, err := db.write.Exec(`UPDATE positions SET next = ? WHERE id = 1 AND next < ?`, db.pos, db.pos); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("save position: %w", err)
	}
	// Messages the last run left waiting for the search index (a crash,
	// or a key missing at close) get their step once the store has had
	// time to get its keyring (SetKeyring).
	var waiting bool
	if err := db.write.QueryRow(`SELECT EXISTS (SELECT 1 FROM messages
		WHERE pos >= (SELECT indexed FROM positions WHERE id = 1))`).Scan(&waiting); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("read the index watermark: %w", err)
	} else if waiting {
		db.backlog, db.backlogAt = 1, time.Now()
	}
	addPlainDB(db)
	// The label lets a CPU profile isolate the single writer, whose CPU
	// per update sets the store's ceiling (pprof -tagfocus store=committer).
	go pprof.Do(context.Background(), pprof.Labels("store", "committer"), func(context.Context) { db.commitLoop() })
	go db.checkpointLoop()
	return db, nil
}

// migrate applies each embedded migration not yet recorded, one transaction each.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateFile(ctx, name); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) migrateFile(ctx context.Context, name string) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return nil
	}
	buf, err := fs.ReadFile(migrationFS, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(buf)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// Update implements parley.Store with group commit.
func (db *DB) Update(ctx context.Context, fn func(parley.Tx) error) error {
	// Wait for the commit even if ctx ends meanwhile: the caller must know
	// whether its write is durable, and the commit does not take long.
	return db.submit(&updateReq{ctx: ctx, fn: fn, errc: make(chan error, 1)})
}

// submit hands req to the committer and waits for its answer.
func (db *DB) submit(req *updateReq) error {
	db.closeMu.RLock()
	if db.closed {
		db.closeMu.RUnlock()
		return errors.New("sqlite: store closed")
	}
	db.reqs <- req
	db.closeMu.RUnlock()
	return <-req.errc
}

// commitLoop is the only writer. It takes every request waiting (up to
// MaxBatch), runs each in a savepoint of one transaction, commits once and
// then answers them all. Idle, it catches the search index up when
// messages have waited for it long enough (indexer.go), and once more
// before the store closes.
func (db *DB) commitLoop() {
	defer close(db.done)
	batch := make([]*updateReq, 0, db.maxBatch)
	idle := time.NewTimer(time.Hour)
	idle.Stop()
	for {
		var req *updateReq
		ok := true
		if wait, waiting := db.idleWait(time.Now()); !waiting {
			req, ok = <-db.reqs
		} else if wait <= 0 {
			select {
			case req, ok = <-db.reqs:
			default:
				db.runBatch(nil)
				continue
			}
		} else {
			idle.Reset(wait)
			select {
			case req, ok = <-db.reqs:
				idle.Stop()
			case <-idle.C:
				db.runBatch(nil)
				continue
			}
		}
		if !ok {
			if db.backlog > 0 {
				db.indexRetryAt = time.Time{}
				db.runBatch(nil)
			}
			return
		}
		if req.ckpt != "" {
			req.errc <- db.restartLog(req.ckpt)
			continue
		}
		batch = append(batch[:0], req)
		var ckpt *updateReq
	fill:
		for len(batch) < db.maxBatch {
			select {
			case r, ok := <-db.reqs:
				if !ok {
					break fill
				}
				if r.ckpt != "" {
					ckpt = r
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		db.runBatch(batch)
		if ckpt != nil {
			ckpt.errc <- db.restartLog(ckpt.ckpt)
		}
	}
}

// runBatch commits a batch. The fast path runs every fn straight in one
// transaction: savepoints cost two statements per update, a third of a
// send. If any fn fails, the transaction is rolled back and the batch runs
// again with a savepoint around each fn, so that one failure undoes only
// its own writes. After a failed batch the next one starts on the slow
// path, so a stream of refused sends does not pay for everything twice.
func (db *DB) runBatch(batch []*updateReq) {
	info := CommitInfo{Updates: len(batch)}
	start := time.Now()
	if !db.lastFailed {
		if errs, ok := db.tryBatch(batch, false, &info); ok {
			db.answer(batch, errs, start, &info)
			return
		}
		info.Retried = true
	}
	errs, _ := db.tryBatch(batch, true, &info)
	db.lastFailed = false
	for _, err := range errs {
		if err != nil {
			db.lastFailed = true
		}
	}
	db.answer(batch, errs, start, &info)
}

func (db *DB) answer(batch []*updateReq, errs []error, start time.Time, info *CommitInfo) {
	for i, r := range batch {
		errs[i] = storageErr(errs[i])
		if errs[i] == nil {
			parley.RunCommitted(r.ctx) // in commit order, before the update returns
		}
		r.errc <- errs[i]
	}
	if db.onCommit != nil {
		info.Duration = time.Since(start)
		for _, err := range errs {
			if err != nil {
				info.Failed++
			}
		}
		db.onCommit(*info)
	}
}

// tryBatch runs a batch in one transaction. Without savepoints it gives up
// (ok false, nothing committed) at the first failing fn; with them it runs
// everything and commits what succeeded. A commit failure fails them all.
// It notes in info how long the commit took, or where the batch failed.
func (db *DB) tryBatch(batch []*updateReq, savepoints bool, info *CommitInfo) (errs []error, ok bool) {
	ctx := context.Background()
	errs = make([]error, len(batch))
	stx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		info.FailedAt = "begin"
		for i := range errs {
			errs[i] = fmt.Errorf("begin: %w", err)
		}
		return errs, true
	}
	t := &tx{db: db, sqlTx: stx, ctx: ctx, write: true, startPos: db.pos, batchLen: len(batch)}
	defer t.prepareMisses() // the write connection is free again by then
	defer func() { info.Statements += t.statements }()
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if savepoints {
			errs[i] = db.runOne(t, r)
			if t.broken {
				info.FailedAt = "rollback"
				stx.Rollback()
				db.cache.reset()
				for j := range errs {
					errs[j] = fmt.Errorf("batch abandoned: %w", errs[i])
				}
				return errs, true
			}
		} else if errs[i] = runFn(t, r); errs[i] != nil {
			stx.Rollback()
			db.cache.reset()
			return nil, false
		}
	}
	if !savepoints {
		// What the updates left for the end of the batch; in the slow
		// path each update flushed its own, inside its savepoint. A
		// failure here is retried that way, so that it fails only the
		// update it belongs to.
		if err := t.flush(); err != nil {
			stx.Rollback()
			db.cache.reset()
			return nil, false
		}
	}
	// The search index, when it is due (indexer.go). A step that fails
	// leaves the messages waiting and is tried again later.
	now := time.Now()
	if db.indexDue(t, len(batch), now) {
		info.Indexed = true
		stepErr, fatal := t.indexStep()
		if stepErr != nil {
			db.indexRetryAt = now.Add(db.index.delay)
		}
		if fatal != nil {
			info.FailedAt = "index"
			stx.Rollback()
			db.cache.reset()
			for i := range errs {
				errs[i] = fmt.Errorf("batch abandoned: %w", fatal)
			}
			return errs, true
		}
	}
	if err := t.savePos(); err != nil {
		info.FailedAt = "save_position"
		stx.Rollback()
		db.cache.reset()
		for i := range errs {
			errs[i] = err
		}
		return errs, true
	}
	cstart := time.Now()
	err = stx.Commit()
	info.Commit = time.Since(cstart)
	if err != nil {
		info.FailedAt = "commit"
		stx.Rollback()
		db.cache.reset()
		for i := range errs {
			errs[i] = fmt.Errorf("commit: %w", err)
		}
	} else {
		db.committed(t, now)
		if t.purged {
			// Only now: a checkpoint before this commit would copy the
			// old content into the file and leave it there.
			db.purged.Store(true)
		}
	}
	if err != nil && info.Indexed {
		db.indexRetryAt = now.Add(db.index.delay)
	}
	return errs, true
}

// runFn runs one fn, turning a panic into an error.
func runFn(t *tx, r *updateReq) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlite: update panicked: %v", p)
		}
	}()
	return r.fn(t)
}

// runOne runs one request in a savepoint, undoing its writes on error or panic.
func (db *DB) runOne(t *tx, r *updateReq) (err error) {
	if _, err := t.exec("SAVEPOINT u"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	created, indexed := t.created, t.indexed
	if err = runFn(t, r); err == nil {
		err = t.flush()
	}
	if err != nil {
		db.cache.reset()
		// What is still due belongs to this update, which is undone.
		t.dropDue()
		t.created, t.indexed = created, indexed
		if _, rerr := t.exec("ROLLBACK TO u"); rerr != nil {
			// The failed update's writes could not be undone: nothing of
			// this batch may commit.
			t.broken = true
			err = errors.Join(err, fmt.Errorf("rollback to savepoint: %w", rerr))
		}
	}
	if _, rerr := t.exec("RELEASE u"); rerr != nil && err == nil {
		err = fmt.Errorf("release savepoint: %w", rerr)
	}
	return err
}

// View implements parley.Store. A search that finds messages waiting for
// the search index in its snapshot (indexer.go) has the writer index
// them, then fn runs again in a newer snapshot.
func (db *DB) View(ctx context.Context, fn func(parley.Tx) error) error {
	err := db.view(ctx, fn, false)
	if !errors.Is(err, errSearchBehind) {
		return err
	}
	if err := db.CatchUpSearch(ctx); err != nil {
		return fmt.Errorf("search: %w", err)
	}
	return db.view(ctx, fn, true)
}

// CatchUpSearch adds to the search index every message waiting for it
// (indexer.go). Searches do it themselves when they need it; tests and
// tools that look at the database file call it to see the index whole.
func (db *DB) CatchUpSearch(ctx context.Context) error {
	if err := db.Update(ctx, func(ptx parley.Tx) error { return ptx.(*tx).indexBacklog() }); err != nil {
		return fmt.Errorf("catch the search index up: %w", err)
	}
	return nil
}

// view runs fn in a read transaction; caughtUp marks the run after an
// index step (tx.caughtUp).
func (db *DB) view(ctx context.Context, fn func(parley.Tx) error, caughtUp bool) error {
	stx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	t := &tx{db: db, sqlTx: stx, ctx: ctx, caughtUp: caughtUp}
	defer t.prepareMisses() // runs after Rollback has freed the connection
	defer stx.Rollback()
	return fn(t)
}

// Ping implements parley.Store. Besides answering, the database must
// hold exactly the schema of this build: every embedded migration
// applied, and none that only a newer build knows.
func (db *DB) Ping(ctx context.Context) error {
	rows, err := db.read.QueryContext(ctx, "SELECT name FROM schema_migrations ORDER BY name")
	if err != nil {
		return err
	}
	defer rows.Close()
	var applied []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		applied = append(applied, name)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	known, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	for _, name := range applied {
		if !slices.Contains(known, name) {
			return fmt.Errorf("schema: %s was applied by a newer build of Parley", name)
		}
	}
	if len(applied) != len(known) {
		return fmt.Errorf("schema: %d of %d migrations applied", len(applied), len(known))
	}
	return nil
}

// Close waits for pending updates, then closes the database.
func (db *DB) Close() error {
	db.closeMu.Lock()
	if db.closed {
		db.closeMu.Unlock()
		return nil
	}
	db.closed = true
	close(db.reqs)
	db.closeMu.Unlock()
	<-db.done
	// Only now: the committer's last index step reads sealed bodies
	// through the keyring.
	removePlainDB(db)
	close(db.stopCkpt)
	<-db.ckptDone
	_, cerr := db.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return errors.Join(cerr, db.read.Close(), db.ckpt.Close(), db.write.Close())
}

// checkpointInterval is how often the log is copied into the database
// file; walLimit is the length of log past which the log is made to start
// over (restartLog).
const (
	checkpointInterval = 250 * time.Millisecond
	walLimit           = 64 << 20
	// walFrame is the size of one frame of the log: a page and its header.
	walFrame = 4096 + 24
	// restartWait bounds how long the committer waits for readers when it
	// starts the log over; past it, it gives up and tries at the next tick.
	restartWait = 20 * time.Millisecond
)

// checkpointLoop checkpoints the write-ahead log in the background. A
// passive checkpoint neither blocks the committer nor waits for readers;
// it copies what it can into the database file.
//
// Under a steady stream of sends the log never starts over by itself:
// SQLite restarts it only when a write begins after a checkpoint copied
// all of it, and by the time a checkpoint ends the committer has written
// more. So once the log is longer than walLimit, and whenever unsent
// content must leave it (purged), the loop asks the committer to restart
// (or truncate) the log between two batches, on its own connection: the
// passive checkpoint just before leaves it little to copy, and no write
// waits behind a lock meanwhile. (Doing that here instead, on the
// checkpoint connection, held the writer lock while copying and waiting
// for readers, and the committer polled for the lock with sleeps of
// 1, 2, 5, 10 ms: stalls of 10-60 ms, four times a second once the log
// file had grown past the limit, since the file size was what was
// compared. BENCHMARKS.md, "Real time".)
func (db *DB) checkpointLoop() {
	defer close(db.ckptDone)
	t := time.NewTicker(db.ckptEvery)
	defer t.Stop()
	for {
		select {
		case <-db.stopCkpt:
			return
		case <-t.C:
		}
		var busy, logFrames, done int
		err := db.ckpt.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &done)
		mode := ""
		truncate := db.purged.Swap(false)
		if truncate {
			mode = "TRUNCATE"
		} else if err == nil && int64(logFrames)*walFrame > db.walLimit {
			mode = "RESTART"
		}
		if mode == "" {
			continue
		}
		if err := db.askCommitter(mode); err != nil && truncate {
			db.purged.Store(true) // readers were in the way; try again next tick
		}
	}
}

// askCommitter has the committer run restartLog(mode) between two batches
// and returns its result.
func (db *DB) askCommitter(mode string) error {
	return db.submit(&updateReq{ckpt: mode, errc: make(chan error, 1)})
}

// restartLog checkpoints the log in mode RESTART or TRUNCATE on the write
// connection, so that the log starts over (TRUNCATE: and is emptied). It
// runs on the committer goroutine, between batches. It waits at most
// restartWait for readers still using the log, then gives up.
func (db *DB) restartLog(mode string) error {
	if _, err := db.write.Exec(fmt.Sprintf("PRAGMA busy_timeout = %d", restartWait.Milliseconds())); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	var busy, logFrames, done int
	err := db.write.QueryRow("PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logFrames, &done)
	if _, rerr := db.write.Exec("PRAGMA busy_timeout = 10000"); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		return errors.New("checkpoint: readers kept the log busy")
	}
	db.restarts.Add(1)
	return nil
}

// Checkpoint copies the write-ahead log into the database file and
// truncates the log. It takes the write connection between two batches.
func (db *DB) Checkpoint(ctx context.Context) error {
	var busy, logFrames, done int
	if err := db.write.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		return errors.New("checkpoint: readers kept the log busy")
	}
	return nil
}

// Backup writes a consistent copy of the database to path, which must
// not exist (VACUUM INTO). The copy is one read transaction: it holds
// every commit that finished before it began, and sends go on meanwhile.
// It runs on a connection of its own: the read pool's are query-only,
// which VACUUM INTO refuses, and the committer's must not wait for it.
func (db *DB) Backup(ctx context.Context, path string) error {
	conn, err := sql.Open("sqlite", "file:"+db.path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("vacuum into %s: %w", path, err)
	}
	// VACUUM INTO does not sync what it wrote.
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// ReadsInProcess reports that reads cost no round trip to a server: the
// app reads in a send's transaction what its frames need (app/directhand.go)
// rather than in a read transaction after the commit, whose page cache the
// commit emptied. Only in a small batch, though: the single writer has
// time to spare then, and the latency of each send is what counts; in a
// large one the writer is the bottleneck (two more statements per send
// cost BenchmarkSend ~9 % at 16 senders), and the frames read after the
// commit as on PostgreSQL — if the publisher keeps up at all.
func (t *tx) ReadsInProcess() bool { return !t.write || t.batchLen <= inProcessReadsBatch }

// inProcessReadsBatch is the largest batch whose sends read their frames'
// users in the writer (ReadsInProcess).
const inProcessReadsBatch = 4
