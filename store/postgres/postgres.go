// Package postgres is Parley's store on PostgreSQL, for running several
// nodes on one database. It talks to PostgreSQL through pgx's database/sql
// driver (the code keeps the shape of store/sqlite, and pgx prepares and
// caches every statement per connection). synchronous_commit stays on.
//
// Writes are group-committed as in store/sqlite: each DB has one committer
// connection, and concurrent Update calls share its transaction. Every
// batch first locks the single row of the positions table, so that write
// batches of all nodes run one after another; see docs/architecture.md for
// why that keeps sync positions correct across nodes.
package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/storeseal"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

var _ parley.Store = (*DB)(nil)

// migrationLock is the key of the advisory lock held while migrating, so
// that nodes starting at once apply each migration once.
const migrationLock = 0x7061726c6579 // "parley"

// Options tune a DB. The zero value is the production default.
type Options struct {
	// MaxBatch caps how many Update calls share one commit (default 256).
	MaxBatch int
	// ReadConns is the size of the read connection pool (default 4×CPUs).
	ReadConns int
	// OnCommit, when set, is told about every batch the committer ran
	// (for metrics). It runs on the committer goroutine, between two
	// batches: it must be quick and must not block.
	OnCommit func(CommitInfo)
	// NoMigrate leaves the schema alone (parley migrate applies it).
	NoMigrate bool
}

// DB is a Parley store on one PostgreSQL database.
type DB struct {
	// seal holds the keyring of encryption at rest (none: plaintext).
	seal  storeseal.Holder
	write *sql.DB // one connection, owned by the committer goroutine
	read  *sql.DB // a pool for View
	// readsBegun counts the read transactions that Views began.
	readsBegun atomic.Int64

	reqs chan *updateReq
	// pos is the next position for a message or event, valid while a
	// batch runs: the batch reads it under the lock of the positions row
	// and saves it before committing. Only the committer touches it.
	pos int64
	// cache serves the committer's repeated reads (see writeCache); gen
	// is positions.gen as this node's last commit left it, -1 when the
	// cache must not be trusted. Only the committer touches them.
	cache *writeCache
	gen   int64
	// touched holds the cache_changes keys of the running batch (see
	// tx.touchConv, tx.touchConvRow); only the committer touches it.
	touched map[string]struct{}
	// lastFailed is set when the last batch had a failing update; only the
	// committer goroutine touches it.
	lastFailed bool
	maxBatch   int
	onCommit   func(CommitInfo)
	// rateSweepAt is when TakeTokens next deletes full buckets (µs).
	rateSweepAt atomic.Int64
	done        chan struct{}
	closeMu     sync.RWMutex
	closed      bool
}

type updateReq struct {
	ctx  context.Context
	fn   func(parley.Tx) error
	errc chan error
}

// Open connects to the database at dsn (a postgres:// URL or a key=value
// string), applies pending migrations unless opts.NoMigrate, and starts
// the committer.
func Open(dsn string, opts Options) (*DB, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4 * runtime.NumCPU()
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	// A send is acknowledged after its commit: the commit must be durable
	// whatever the server's default is.
	cfg.RuntimeParams["synchronous_commit"] = "on"
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "parley"
	}
	write := stdlib.OpenDB(*cfg)
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	read := stdlib.OpenDB(*cfg)
	read.SetMaxOpenConns(opts.ReadConns)
	read.SetMaxIdleConns(opts.ReadConns)
	db := &DB{
		write: write, read: read,
		reqs: make(chan *updateReq, opts.MaxBatch), maxBatch: opts.MaxBatch, onCommit: opts.OnCommit,
		done: make(chan struct{}), cache: newWriteCache(), gen: -1, touched: map[string]struct{}{},
	}
	ctx := context.Background()
	if !opts.NoMigrate {
		if err := db.Migrate(ctx); err != nil {
			write.Close()
			read.Close()
			return nil, err
		}
	} else if err := read.PingContext(ctx); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.rateSweepAt.Store(time.Now().Add(rateLimitSweep).UnixMicro())
	go db.commitLoop()
	return db, nil
}

// SchemaDigest is a hex SHA-256 of the embedded migrations, names and
// contents in order: two builds with the same digest make the same
// schema (pgtest names its shared template database by it).
func SchemaDigest() string {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		panic(err) // the pattern is constant
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		buf, err := fs.ReadFile(migrationFS, name)
		if err != nil {
			panic(err) // embedded
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(buf))
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Migrate applies each embedded migration not yet recorded, one
// transaction each, holding an advisory lock so that several nodes
// starting at once do not race.
func (db *DB) Migrate(ctx context.Context) error {
	conn, err := db.read.Conn(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("postgres: migration lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := migrateFile(ctx, conn, name); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func migrateFile(ctx context.Context, conn *sql.Conn, name string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = $1`, name).Scan(&n); err != nil {
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
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`, name, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// Update implements parley.Store with group commit.
func (db *DB) Update(ctx context.Context, fn func(parley.Tx) error) error {
	db.closeMu.RLock()
	if db.closed {
		db.closeMu.RUnlock()
		return errors.New("postgres: store closed")
	}
	req := &updateReq{ctx: ctx, fn: fn, errc: make(chan error, 1)}
	db.reqs <- req
	db.closeMu.RUnlock()
	// Wait for the commit even if ctx ends meanwhile: the caller must know
	// whether its write is durable.
	return <-req.errc
}

// commitLoop is this node's only writer. It takes every request waiting
// (up to MaxBatch), runs each in one transaction, commits once and then
// answers them all.
func (db *DB) commitLoop() {
	defer close(db.done)
	batch := make([]*updateReq, 0, db.maxBatch)
	for {
		req, ok := <-db.reqs
		if !ok {
			return
		}
		batch = db.gather(append(batch[:0], req))
		db.runBatch(batch)
	}
}

// gather adds to batch the requests waiting, up to MaxBatch, without
// waiting for more.
func (db *DB) gather(batch []*updateReq) []*updateReq {
	for len(batch) < db.maxBatch {
		select {
		case r, ok := <-db.reqs:
			if !ok {
				return batch
			}
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// runBatch commits a batch: first every fn straight in one transaction,
// and if one fails, the batch again with a savepoint around each fn so
// that one failure undoes only its own writes (a failed statement aborts
// a PostgreSQL transaction until the savepoint is rolled back). After a
// failed batch the next one starts on the slow path.
func (db *DB) runBatch(batch []*updateReq) {
	info := CommitInfo{}
	start := time.Now()
	if !db.lastFailed {
		if errs, ok := db.tryBatch(&batch, false, true, &info); ok {
			db.answer(batch, errs, start, &info)
			return
		}
		info.Retried = true
	}
	errs, _ := db.tryBatch(&batch, true, !info.Retried, &info)
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

// failAll gives every update of a batch the same error.
func failAll(errs []error, err error) []error {
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// tryBatch runs a batch in one transaction. Without savepoints it gives up
// (ok false, nothing committed) at the first failing fn; with them it runs
// everything and commits what succeeded. A commit failure fails them all.
//
// On a batch's first run (first), the requests that came while it waited
// for the positions lock join it once the lock is held: under another
// node's batches they would otherwise wait for the next turn, a whole
// round of every node's batches later.
func (db *DB) tryBatch(pbatch *[]*updateReq, savepoints, first bool, info *CommitInfo) (errs []error, ok bool) {
	ctx := context.Background()
	batch := *pbatch
	info.Updates = len(batch)
	errs = make([]error, len(batch))
	// The committer's one connection, held for the batch. Its transaction
	// is begun and ended by statements rather than database/sql's Tx, so
	// that the BEGIN goes out with the lock and the catch-up, and the
	// COMMIT with the statement that saves the position, each as one
	// pipelined round trip over its pgx connection.
	conn, err := db.write.Conn(ctx)
	if err != nil {
		info.FailedAt = "begin"
		return failAll(errs, fmt.Errorf("begin: %w", err)), true
	}
	defer conn.Close()
	// rollback ends the transaction after a failure. A connection that
	// cannot is dropped from the pool, so that the next batch does not
	// find the transaction still open.
	rollback := func() error {
		_, err := conn.ExecContext(ctx, "ROLLBACK")
		if err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		return err
	}
	// The lock on the positions row makes the write batches of every node
	// run one at a time, from here to the commit: positions are handed out
	// in commit order, so a reader that saw position p has seen every
	// position below p (docs/architecture.md, "Positions across nodes").
	// The sequence is read after the lock is held (a second statement):
	// read in the locking statement, it could predate the wait. The
	// statements go out as one pipelined batch (one round trip instead of
	// several while other nodes wait for the lock): PostgreSQL runs a
	// pipeline's statements one after the other, and the catch-up, in
	// READ COMMITTED, takes its snapshot when it starts, after the lock.
	var gen int64
	var keys []string // the keys other nodes changed; later this batch's
	var fresh []refreshedConv
	lstart := time.Now()
	err = conn.Raw(func(dc any) error {
		var err error
		gen, keys, fresh, err = db.lockAndRead(ctx, dc.(*stdlib.Conn).Conn())
		return err
	})
	info.Lock += time.Since(lstart)
	if err == nil {
		gen, err = db.catchUp(ctx, conn, gen, keys, fresh, info)
	}
	if err != nil {
		info.FailedAt = "begin"
		rollback()
		db.forget()
		return failAll(errs, fmt.Errorf("lock positions: %w", err)), true
	}
	if first {
		if more := db.gather(batch); len(more) > len(batch) {
			info.Joined = len(more) - len(batch)
			batch, *pbatch = more, more
			info.Updates = len(batch)
			errs = make([]error, len(batch))
		}
	}
	startGen := gen
	clear(db.touched)
	t := &tx{db: db, sqlTx: conn, ctx: ctx, write: true, queueWrites: !savepoints}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if savepoints {
			errs[i] = db.runOne(t, r)
			if t.broken {
				info.FailedAt = "rollback"
				rollback()
				db.forget()
				return failAll(errs, fmt.Errorf("batch abandoned: %w", errs[i])), true
			}
		} else if errs[i] = runFn(t, r); errs[i] != nil {
			rollback()
			db.forget()
			return nil, false
		}
	}
	// What the updates left to write goes out with the COMMIT, in one
	// pipelined round trip (saveAndCommit). A flush that failed inside an
	// update (a read after a queued write) may have been ignored by it.
	stmts := t.takeFlush()
	if t.queueFailed {
		// Without savepoints nobody can tell which update it belongs to:
		// the batch runs again with them.
		rollback()
		db.forget()
		return nil, false
	}
	if !t.wrote || !slices.ContainsFunc(errs, func(err error) bool { return err == nil }) {
		// Nothing written, or every update refused (and undone): nothing
		// changes, not even gen, so other nodes keep their caches.
		// A refusal dropped this node's cache already.
		if err := rollback(); err != nil {
			db.forget()
		} else {
			db.gen = startGen
		}
		return errs, true
	}
	// Every batch that writes takes a new gen and records what it
	// changed under it, so that other nodes drop those cache entries.
	keys = make([]string, 0, len(db.touched))
	for k := range db.touched {
		keys = append(keys, k)
	}
	cstart := time.Now()
	stage := "commit"
	outcome := unknownOutcome
	err = conn.Raw(func(dc any) error {
		var err error
		gen, stage, outcome, err = db.saveAndCommit(ctx, dc.(*stdlib.Conn).Conn(), t, stmts, keys)
		if outcome == committed && err != nil {
			// Committed, but the connection is not fit for the next batch.
			return driver.ErrBadConn
		}
		return err
	})
	info.Commit = time.Since(cstart)
	if outcome != committed {
		rollback() // when the COMMIT did not run; else a no-op, or the connection is dropped
		db.forget()
		if stage == "flush" && outcome == notCommitted && !savepoints {
			// PostgreSQL refused the flush (a taken key, see flushErr) and
			// so rolled back: the batch runs again with savepoints.
			return nil, false
		}
		// A flush that failed in the COMMIT's round trip is the commit's
		// failure (FailedAt names no stage of its own for it).
		what := stage
		info.FailedAt = "commit"
		if stage == "save_position" {
			info.FailedAt, what = "save_position", "save position"
		}
		return failAll(errs, fmt.Errorf("%s: %w", what, err)), true
	}
	db.gen = gen
	return errs, true
}

// commitOutcome is what saveAndCommit knows of its transaction.
type commitOutcome int

const (
	// notCommitted: PostgreSQL refused a statement, so it skipped what
	// followed in the pipeline, or it refused the COMMIT itself.
	notCommitted commitOutcome = iota
	// unknownOutcome: the pipeline failed on the way (the connection, or a
	// reply that could not be read); its COMMIT may have run.
	unknownOutcome
	// committed: the COMMIT's reply said so.
	committed
)

// saveAndCommit sends what the batch left to write (stmts, see
// tx.takeFlush), the statement that saves the next position and this
// batch's cache_changes keys under a new gen, which it returns, and the
// COMMIT, in one pipelined round trip. PostgreSQL runs them one after the
// other, and after a refused statement skip the rest of the pipeline,
// the COMMIT included: the transaction is left aborted, and the caller
// rolls it back, so nothing of it commits. stage names the first that
// failed ("flush", "save_position" or "commit").
// Once the COMMIT's reply says COMMIT, the batch is committed whatever
// else goes wrong; an error then means only that the connection is not
// fit to reuse.
func (db *DB) saveAndCommit(ctx context.Context, pc *pgx.Conn, t *tx, stmts []flushStmt, keys []string) (gen int64, stage string, out commitOutcome, err error) {
	b := &pgx.Batch{}
	for _, st := range stmts {
		b.Queue(st.sql, st.args...)
	}
	b.Queue(`WITH g AS (SELECT nextval('write_gen') AS gen),
		p AS (UPDATE positions SET next = $1 WHERE id = 1 AND next <> $1),
		c AS (INSERT INTO cache_changes (slot, gen, keys) SELECT gen % $3, gen, $2 FROM g
			ON CONFLICT (slot) DO UPDATE SET gen = excluded.gen, keys = excluded.keys)
		SELECT gen FROM g`, db.pos, keys, changeRing)
	b.Queue("COMMIT")
	br := pc.SendBatch(ctx, b)
	refused := func(err error) commitOutcome {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return notCommitted
		}
		return unknownOutcome
	}
	for _, st := range stmts {
		// A statement of queued messages inserts all of them or fails
		// (queuedStmt): its count needs no check.
		if _, err := br.Exec(); err != nil {
			br.Close()
			return 0, "flush", refused(err), t.flushErr(st, err)
		}
	}
	if err := br.QueryRow().Scan(&gen); err != nil {
		br.Close()
		return 0, "save_position", refused(err), err
	}
	tag, err := br.Exec()
	if err != nil {
		br.Close()
		return 0, "commit", refused(err), err
	}
	if tag.String() != "COMMIT" {
		br.Close()
		return 0, "commit", notCommitted, fmt.Errorf("the transaction was rolled back (%s)", tag)
	}
	return gen, "", committed, br.Close()
}

// changeRing is the number of slots of cache_changes (migration 0023).
const changeRing = 256

// catchUpQuery reads, in one statement, write_gen's last value and the
// keys of the gens since this node's last commit (none when it has no
// valid cache, or when nothing was written since).
const catchUpQuery = `SELECT w.last_value, c.k FROM write_gen w
	LEFT JOIN LATERAL (SELECT unnest(keys) AS k FROM cache_changes
		WHERE $1 >= 0 AND gen > $1 AND gen <= w.last_value AND w.last_value - $1 < $2) c ON true`

// lockAndRead begins the batch's transaction, takes the positions lock,
// reads the next position into db.pos, runs catchUpQuery and reads the
// rows of the conversations other nodes changed since (refreshChanged),
// in one pipelined round trip over the committer's connection.
func (db *DB) lockAndRead(ctx context.Context, pc *pgx.Conn) (gen int64, keys []string, fresh []refreshedConv, err error) {
	if pc.PgConn().TxStatus() != 'I' {
		// A transaction left open by a batch that could not end it. (pgx's
		// ResetSession already drops such a connection when database/sql
		// hands it out again: a guard.)
		if _, err := pc.Exec(ctx, "ROLLBACK"); err != nil {
			return 0, nil, nil, err
		}
	}
	b := &pgx.Batch{}
	// READ COMMITTED whatever the server's default: the statements after
	// the lock must see the batches committed while this one waited.
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	b.Queue(`SELECT next FROM positions WHERE id = 1 FOR UPDATE`)
	b.Queue(catchUpQuery, db.gen, changeRing)
	b.Queue(refreshChanged, db.gen, changeRing, refreshPipelined)
	br := pc.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := br.Exec(); err != nil {
		return 0, nil, nil, err
	}
	if err := br.QueryRow().Scan(&db.pos); err != nil {
		return 0, nil, nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return 0, nil, nil, err
	}
	for rows.Next() {
		var k *string
		if err := rows.Scan(&gen, &k); err != nil {
			rows.Close()
			return 0, nil, nil, err
		}
		if k != nil {
			keys = append(keys, *k)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, nil, nil, err
	}
	if rows, err = br.Query(); err != nil {
		return 0, nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		row, err := scanRefreshed(rows.Scan)
		if err != nil {
			return 0, nil, nil, err
		}
		fresh = append(fresh, row)
	}
	return gen, keys, fresh, rows.Err()
}

// catchUp runs under the positions lock at the start of a batch, with
// write_gen's last value, the keys changed since this node's last commit
// and the changed conversations' rows (lockAndRead): when other nodes
// wrote since, it drops the cache entries their batches changed (or all
// of them when cache_changes no longer holds every gen in between) and
// puts back those of conversations it had cached, from the rows in hand
// when they hold every changed conversation, and by reading them again
// otherwise (refresh), with the members of conversations whose members
// changed. It returns the gen the cache is now valid for.
func (db *DB) catchUp(ctx context.Context, stx sqlRunner, gen int64, keys []string, fresh []refreshedConv, info *CommitInfo) (int64, error) {
	switch {
	case gen == db.gen:
	case db.gen < 0 || gen < db.gen || gen-db.gen >= changeRing:
		db.cache.reset()
		info.CacheReset = true
	default:
		r := db.cache.refreshTargets(keys)
		db.cache.invalidate(keys)
		info.CacheDropped += len(keys)
		if r.empty() {
			break
		}
		// What the cache had of the changed conversations goes back from
		// the rows in hand, without a statement; only when refreshChanged
		// was cut at its limit may some be missing, and those are read.
		info.CacheRefreshed += db.putRefreshed(fresh, r)
		if len(fresh) < refreshPipelined {
			r.convs, r.chain, r.noInbox = nil, nil, nil
		} else {
			r = r.without(fresh)
		}
		if !r.empty() {
			n, reads, err := db.refresh(ctx, stx, r)
			if err != nil {
				return 0, err
			}
			info.CacheRefreshed += n
			info.RefreshReads += reads
		}
	}
	return gen, nil
}

// forget drops the committer's cache after a rollback, or when what was
// committed is unknown.
func (db *DB) forget() {
	db.cache.reset()
	db.gen = -1
}

// runFn runs one fn, turning a panic into an error.
func runFn(t *tx, r *updateReq) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("postgres: update panicked: %v", p)
		}
	}()
	return r.fn(t)
}

// runOne runs one request in a savepoint, undoing its writes on error or panic.
func (db *DB) runOne(t *tx, r *updateReq) (err error) {
	if _, err := t.sqlTx.ExecContext(t.ctx, "SAVEPOINT u"); err != nil {
		t.broken = true
		return fmt.Errorf("savepoint: %w", err)
	}
	pos := db.pos
	if err = runFn(t, r); err == nil {
		err = t.flush() // inside this update's savepoint
	}
	if err != nil {
		t.drop()
		db.cache.reset()
		if _, rerr := t.sqlTx.ExecContext(t.ctx, "ROLLBACK TO SAVEPOINT u"); rerr != nil {
			// The failed update's writes could not be undone: nothing of
			// this batch may commit.
			t.broken = true
			return errors.Join(err, fmt.Errorf("rollback to savepoint: %w", rerr))
		}
		// Its positions are free again: positions may have gaps, but a
		// gap-free run is nicer to read.
		db.pos = pos
	}
	if _, rerr := t.sqlTx.ExecContext(t.ctx, "RELEASE SAVEPOINT u"); rerr != nil {
		t.broken = true
		if err == nil {
			err = fmt.Errorf("release savepoint: %w", rerr)
		}
	}
	return err
}

// View implements parley.Store: a read-only, repeatable-read transaction
// sees one snapshot throughout. It begins at fn's first statement (where
// PostgreSQL takes a repeatable-read transaction's snapshot anyway), so
// that a view whose reads were all answered from memory — the direct
// frames of sends whose hands hold everything (app/directhand.go) — costs
// no round trip at all, where BEGIN and ROLLBACK cost two.
func (db *DB) View(ctx context.Context, fn func(parley.Tx) error) error {
	lr := &lazyRead{db: db, ctx: ctx}
	defer lr.end()
	err := fn(&tx{db: db, sqlTx: lr, ctx: ctx})
	if lr.err != nil {
		return lr.err // what fn saw of it may be a stand-in (QueryRowContext)
	}
	return err
}

// lazyRead is View's transaction, begun at its first statement. Like a
// *sql.Tx it may be used from several goroutines.
type lazyRead struct {
	db  *DB
	ctx context.Context
	mu  sync.Mutex // guards stx and err while the transaction begins
	stx *sql.Tx
	err error // of the BEGIN, final
}

func (l *lazyRead) begin() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stx == nil && l.err == nil {
		l.db.readsBegun.Add(1)
		l.stx, l.err = l.db.read.BeginTx(l.ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
		if l.err != nil {
			l.stx, l.err = nil, fmt.Errorf("begin read: %w", l.err)
		}
	}
	return l.err
}

func (l *lazyRead) end() {
	if l.stx != nil {
		l.stx.Rollback()
	}
}

func (l *lazyRead) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := l.begin(); err != nil {
		return nil, err
	}
	return l.stx.ExecContext(ctx, query, args...)
}

func (l *lazyRead) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := l.begin(); err != nil {
		return nil, err
	}
	return l.stx.QueryContext(ctx, query, args...)
}

func (l *lazyRead) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if err := l.begin(); err != nil {
		// A *sql.Row carries only errors of its own query: this one fails
		// at once with its context's, and View returns the BEGIN's error.
		dead, cancel := context.WithCancel(ctx)
		cancel()
		return l.db.read.QueryRowContext(dead, query, args...)
	}
	return l.stx.QueryRowContext(ctx, query, args...)
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

// Close waits for pending updates, then closes the connections.
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
	return errors.Join(db.read.Close(), db.write.Close())
}

// sqlRunner is what a tx needs of its connection: a lazyRead for View, the
// committer's *sql.Conn (whose transaction it begins and ends with
// statements) for Update.
type sqlRunner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx implements parley.Tx on one transaction.
type tx struct {
	db    *DB
	sqlTx sqlRunner
	ctx   context.Context
	write bool
	// broken is set when a failed update's writes could not be undone.
	broken bool
	// wrote is set by the first statement that may write.
	wrote bool
	// purged is set when the transaction unsent a message (SQLite needs
	// it to truncate its log; PostgreSQL's own vacuum removes old rows).
	purged bool
	// seqs holds the sequence numbers AllocSeq counted from the cache
	// and not yet written to their conversation rows; flush writes them.
	seqs map[string]pendingSeq
	// chains holds chain entries appended and not yet written.
	chains []chainRow
	// queueWrites is set in the committer's first run of a batch:
	// CreateMessage then queues its row in msgs for flush to write.
	queueWrites bool
	msgs        []msgRow
	// queueFailed is set when a flush failed in a batch's first run (a
	// taken key, or any other error; flushErr): the batch runs again with
	// savepoints, never commits as it is.
	queueFailed bool
}

// drop forgets what flush would write, after a rollback.
func (t *tx) drop() {
	t.seqs, t.chains, t.msgs = nil, nil, nil
}

// pendingSeq is a conversation's last_seq and last_activity_at to write.
type pendingSeq struct{ seq, at int64 }

// flush writes the pending messages with the conversations' sequence
// numbers and the pending chain entries in one statement (two when only
// chain entries or sequence numbers are pending). Every
// other statement of the transaction runs after it, so that nothing reads
// a conversation row without them; the committer flushes before each
// savepoint release, and sends what is left at the end of a batch with
// the saved position and the COMMIT (saveAndCommit).
func (t *tx) flush() error {
	for _, st := range t.takeFlush() {
		if err := t.runFlush(st); err != nil {
			return err
		}
	}
	return nil
}

// flushStmt is one statement of a flush.
type flushStmt struct {
	what string // for errors
	sql  string
	args []any
	// rows is how many messages the statement inserts (it answers with
	// their count); 0 for a statement that answers nothing.
	rows int
	// conflict is the EConflict message of a taken key, when it is one
	// update's (flushErr).
	conflict string
}

// takeFlush returns the statements that write what is pending — the
// queued messages with the conversations' sequence numbers and the
// chain entries (one statement), or either of the latter alone — and
// forgets it: the caller runs them, one at a time (flush) or sent with
// the COMMIT (saveAndCommit).
func (t *tx) takeFlush() []flushStmt {
	var out []flushStmt
	if len(t.msgs) > 0 {
		rows, chains := t.msgs, t.chains
		t.msgs, t.chains = nil, nil
		out = append(out, t.queuedStmt(rows, chains)) // writes the pending seqs too
	}
	if len(t.chains) > 0 {
		ch, args := chainInsert(t.chains, 1)
		first := t.chains[0]
		t.chains = nil
		t.wrote = true
		out = append(out, flushStmt{what: "append chain entries", sql: `WITH x AS (SELECT 1)` + ch + ` SELECT 1`, args: args,
			conflict: fmt.Sprintf("chain entry %d of conversation %s exists", first.idx, first.conv)})
	}
	if len(t.seqs) > 0 {
		ids := make([]string, 0, len(t.seqs))
		seqs := make([]int64, 0, len(t.seqs))
		ats := make([]int64, 0, len(t.seqs))
		for id, p := range t.seqs {
			ids, seqs, ats = append(ids, id), append(seqs, p.seq), append(ats, p.at)
			t.touchConvRow(id)
		}
		t.seqs = nil
		t.wrote = true
		out = append(out, flushStmt{what: "write sequence numbers", sql: `UPDATE conversations c SET last_seq = v.seq, last_activity_at = v.at
		FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS v(id, seq, at) WHERE c.id = v.id`, args: []any{ids, seqs, ats}})
	}
	return out
}

// runFlush runs one statement of a flush on the transaction; a failure
// is flushErr's.
func (t *tx) runFlush(st flushStmt) error {
	var err error
	if st.rows > 0 {
		var inserted int
		if err = t.sqlTx.QueryRowContext(t.ctx, st.sql, st.args...).Scan(&inserted); err == nil && inserted != st.rows {
			err = fmt.Errorf("%d of %d messages inserted", inserted, st.rows)
		}
	} else {
		_, err = t.sqlTx.ExecContext(t.ctx, st.sql, st.args...)
	}
	return t.flushErr(st, err)
}

// flushErr is what a failed statement of a flush returns. In a batch's
// first run (queued writes) the statement may hold several updates'
// writes: the batch must not commit as it is, and the committer runs it
// again with savepoints, where each write says what failed. With
// savepoints the failure is the current update's alone: a taken key
// (a chain entry's index) is its EConflict.
func (t *tx) flushErr(st flushStmt, err error) error {
	switch {
	case err == nil:
		return nil
	case t.queueWrites:
		t.queueFailed = true
		if isUnique(err) {
			return errQueuedConflict
		}
	case isUnique(err) && st.conflict != "":
		return parley.Errorf(parley.EConflict, "%s", st.conflict)
	}
	return fmt.Errorf("%s: %w", st.what, err)
}

var _ parley.Tx = (*tx)(nil)

// noteWrite records that the transaction ran a statement that may write
// (anything but a SELECT): a batch that wrote nothing leaves the positions
// row, gen included, untouched.
func (t *tx) noteWrite(query string) {
	if t.write && !t.wrote && !strings.HasPrefix(strings.TrimSpace(query), "SELECT") {
		t.wrote = true
	}
}

// exec runs a statement written with SQLite's ? placeholders.
func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	t.noteWrite(query)
	return t.sqlTx.ExecContext(t.ctx, rebind(query), pgArgs(args)...)
}

// query runs a query written with SQLite's ? placeholders.
func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	t.noteWrite(query)
	return t.sqlTx.QueryContext(t.ctx, rebind(query), pgArgs(args)...)
}

// queryRow runs a one-row query written with SQLite's ? placeholders.
func (t *tx) queryRow(query string, args ...any) *sql.Row {
	// A failed flush aborts the PostgreSQL transaction: the query then
	// fails too, and the caller sees an error.
	t.flush()
	t.noteWrite(query)
	return t.sqlTx.QueryRowContext(t.ctx, rebind(query), pgArgs(args)...)
}

// guarded runs a statement that may break a unique constraint inside a
// savepoint of its own: a failed statement aborts a PostgreSQL
// transaction, and the caller goes on after a conflict.
func (t *tx) guarded(query string, args ...any) (sql.Result, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	if _, err := t.sqlTx.ExecContext(t.ctx, "SAVEPOINT g"); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	res, err := t.exec(query, args...)
	if err != nil {
		if _, rerr := t.sqlTx.ExecContext(t.ctx, "ROLLBACK TO SAVEPOINT g"); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
	}
	if _, rerr := t.sqlTx.ExecContext(t.ctx, "RELEASE SAVEPOINT g"); rerr != nil && err == nil {
		return nil, rerr
	}
	return res, err
}

// guardedRow is guarded for a statement with RETURNING: scan reads its one row.
func (t *tx) guardedRow(scan func(*sql.Row) error, query string, args ...any) error {
	if err := t.flush(); err != nil {
		return err
	}
	if _, err := t.sqlTx.ExecContext(t.ctx, "SAVEPOINT g"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	err := scan(t.queryRow(query, args...))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		if _, rerr := t.sqlTx.ExecContext(t.ctx, "ROLLBACK TO SAVEPOINT g"); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	if _, rerr := t.sqlTx.ExecContext(t.ctx, "RELEASE SAVEPOINT g"); rerr != nil && err == nil {
		return rerr
	}
	return err
}
