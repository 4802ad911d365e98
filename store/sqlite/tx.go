package sqlite

import (
	"context"
	"database/sql"
	"sync"

	"github.com/parleyhq/parley"
)

// The transaction type and the prepared-statement cache (split from
// sqlite.go, which holds the store, the committer and the checkpoints).

// stmt returns the prepared statement for query on the write or read pool,
// or nil when it has not been prepared yet.
func (db *DB) stmt(write bool, query string) *sql.Stmt {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if write {
		return db.wstmts[query]
	}
	return db.rstmts[query]
}

// prepare prepares the queries that missed the cache. It must be called
// holding no connection of the pool: preparing needs an idle connection, the
// write pool has only one, and a read pool whose connections are all held by
// transactions waiting to prepare would deadlock. A query that fails to
// prepare is skipped; its caller already got the error.
func (db *DB) prepare(write bool, queries []string) {
	pool := db.read
	if write {
		pool = db.write
	}
	for _, q := range queries {
		if db.stmt(write, q) != nil {
			continue
		}
		s, err := pool.Prepare(q)
		if err != nil {
			continue
		}
		db.stmtMu.Lock()
		m := db.rstmts
		if write {
			m = db.wstmts
		}
		if _, ok := m[q]; ok {
			s.Close()
		} else {
			m[q] = s
		}
		db.stmtMu.Unlock()
	}
}

// tx implements parley.Tx on one *sql.Tx.
type tx struct {
	db    *DB
	sqlTx *sql.Tx
	ctx   context.Context
	write bool
	// batchLen is the number of updates in a write transaction's batch.
	batchLen int

	mu     sync.Mutex
	misses []string // queries run unprepared, to prepare once the tx ends
	// broken is set when a failed update's writes could not be undone.
	broken bool
	// statements counts the statements a write transaction ran through
	// exec, query and queryRow (CommitInfo.Statements).
	statements int
	// purged is set when the transaction unsent a message.
	purged bool
	// bound memoizes statements bound to this transaction: a write
	// transaction serves a whole batch and runs the same few statements
	// hundreds of times.
	bound map[string]*sql.Stmt

	// What flush writes (migration 0025). moved holds the conversations
	// whose last activity moved since the last flush: their member rows'
	// copy of it, the list's sort key, is due. savedPos is the position
	// this transaction last wrote to positions.next (0: none yet);
	// startPos is the next position when it began.
	moved    map[string]struct{}
	savedPos int64
	startPos int64
	// The search index (indexer.go): created counts the messages this
	// transaction created since its last index step; indexed is set once
	// it ran one. caughtUp marks a read transaction that View began after
	// an index step: its search reads the index as it is, and Head says
	// no more than the index holds.
	created  int
	indexed  bool
	caughtUp bool
	// reserved holds the positions AllocSeqs took with the sequence
	// numbers, keyed by conversation: CreateMessages gives them to the
	// messages of those numbers, whose conversations already point at
	// them (campaign_writes.go).
	reserved map[string]seqPos
	// chainDue holds the chain entries appended since the last flush, in
	// order (chain.go).
	chainDue []*parley.ChainEntry
}

var _ parley.Tx = (*tx)(nil)

// cached returns the statement for query bound to the transaction, or nil
// after noting the miss: a statement cannot be prepared on the pool while
// this transaction holds one of its connections (see DB.prepare).
func (t *tx) cached(query string) *sql.Stmt {
	if s, ok := t.bound[query]; ok {
		return s
	}
	if s := t.db.stmt(t.write, query); s != nil {
		bs := t.sqlTx.StmtContext(t.ctx, s)
		if t.write {
			if t.bound == nil {
				t.bound = map[string]*sql.Stmt{}
			}
			t.bound[query] = bs
		}
		return bs
	}
	t.mu.Lock()
	t.misses = append(t.misses, query)
	t.mu.Unlock()
	return nil
}

// prepareMisses prepares the queries that missed the cache; call it after
// the transaction ended.
func (t *tx) prepareMisses() {
	t.mu.Lock()
	misses := t.misses
	t.misses = nil
	t.mu.Unlock()
	if len(misses) > 0 {
		t.db.prepare(t.write, misses)
	}
}

// counted counts a statement of a write transaction; read transactions
// may be shared by goroutines and are not counted.
func (t *tx) counted() {
	if t.write {
		t.statements++
	}
}

// exec runs a statement through the prepared-statement cache.
func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	t.counted()
	if s := t.cached(query); s != nil {
		return s.ExecContext(t.ctx, args...)
	}
	return t.sqlTx.ExecContext(t.ctx, query, args...)
}

// query runs a query through the prepared-statement cache.
func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	t.counted()
	if s := t.cached(query); s != nil {
		return s.QueryContext(t.ctx, args...)
	}
	return t.sqlTx.QueryContext(t.ctx, query, args...)
}

// queryRow runs a one-row query through the prepared-statement cache.
func (t *tx) queryRow(query string, args ...any) *sql.Row {
	t.counted()
	if s := t.cached(query); s != nil {
		return s.QueryRowContext(t.ctx, args...)
	}
	return t.sqlTx.QueryRowContext(t.ctx, query, args...)
}
