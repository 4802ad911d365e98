package sqlite

import (
	"errors"
	"fmt"
	"time"
)

// The search index catches up in steps (migration 0034). Indexing a
// batch's messages at its end made every commit write a new FTS5
// segment: at 1,000 messages/s, with one to three sends a batch, that
// was five of a send's eighteen pages and about 170 µs of the single
// writer's CPU. Messages now wait below positions.indexed until an index
// step takes all of them at once:
//
//   - at the end of a batch, once indexEvery messages wait or the oldest
//     has waited indexDelay;
//   - alone, when the writer is idle and the oldest has waited indexDelay
//     (commitLoop), and when the store closes;
//   - in a write transaction, before it searches (SearchMessages);
//   - before a search reads the index: a search that finds messages
//     waiting in its snapshot fails with errSearchBehind, View has the
//     writer index them and runs the search again (catchUp).
//
// The step and the watermark move in one transaction, so the index is
// always exactly the messages below the watermark. Which batches run the
// step is only a matter of cost; correctness rests on the watermark.
const (
	indexEvery = 128
	indexDelay = 100 * time.Millisecond
)

// indexPolicy is when index steps run (indexEvery, indexDelay; tests
// change them through Options).
type indexPolicy struct {
	every int
	delay time.Duration
}

// errSearchBehind tells View that a search found messages waiting for
// the index in its snapshot.
var errSearchBehind = errors.New("sqlite: the search index is behind")

// indexBacklog adds every waiting message to the search index, in one
// statement in ascending rowid order (FTS5 writes one segment), and
// moves the watermark past them.
func (t *tx) indexBacklog() error {
	// Every message below db.pos exists now or never will, except those
	// a reserved position is still waiting for (AllocSeqs): the step
	// indexes the messages below the mark and no others, so that none is
	// left above it in the index to be added a second time.
	mark := t.db.pos
	for _, r := range t.reserved {
		mark = min(mark, r.pos)
	}
	if _, err := t.exec(`INSERT INTO message_search (rowid, body)
		SELECT c.search_num << 32 | (4294967295 - m.seq), parley_plain(m.id, m.body)
		FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.pos >= (SELECT indexed FROM positions WHERE id = 1) AND m.pos < ?
		  AND m.deleted_at IS NULL AND m.body != '' AND m.kind != 'system'
		ORDER BY 1`, mark); err != nil {
		return fmt.Errorf("index messages: %w", err)
	}
	// positions.next must never be below the watermark: a position handed
	// out by an attempt that rolled back is past it, and the store, once
	// reopened, would give it again to a message the index then counts as
	// indexed (Open also takes the watermark into account).
	// (savePos would skip it when this transaction took no position
	// itself.)
	if _, err := t.exec(`UPDATE positions SET next = ? WHERE id = 1 AND next < ?`, t.db.pos, t.db.pos); err != nil {
		return fmt.Errorf("save position: %w", err)
	}
	t.savedPos = t.db.pos
	if _, err := t.exec(`UPDATE positions SET indexed = ? WHERE id = 1 AND indexed < ?`, mark, mark); err != nil {
		return fmt.Errorf("move the index watermark: %w", err)
	}
	t.created, t.indexed = 0, true
	return nil
}

// indexDue reports whether the batch t ends should catch the index up:
// always for an idle step (no updates), else when enough messages wait
// or the oldest has waited long enough.
func (db *DB) indexDue(t *tx, updates int, now time.Time) bool {
	waiting := db.backlog + t.created
	if waiting == 0 || now.Before(db.indexRetryAt) {
		return false
	}
	if updates == 0 || waiting >= db.index.every {
		return true
	}
	return !db.backlogAt.IsZero() && now.Sub(db.backlogAt) >= db.index.delay
}

// indexStep runs indexBacklog at the end of a batch, in a savepoint: a
// failure (a sealed body without its key) leaves the messages waiting and
// costs the batch nothing. It returns an error only when the failure
// could not be undone, and then nothing of the batch may commit.
func (t *tx) indexStep() (stepErr, fatal error) {
	if _, err := t.exec("SAVEPOINT idx"); err != nil {
		return err, nil
	}
	created, indexed := t.created, t.indexed
	stepErr = t.indexBacklog()
	if stepErr != nil {
		t.created, t.indexed = created, indexed
		if _, err := t.exec("ROLLBACK TO idx"); err != nil {
			return stepErr, fmt.Errorf("roll back the index step: %w", err)
		}
	}
	if _, err := t.exec("RELEASE idx"); err != nil {
		return stepErr, fmt.Errorf("release the index step: %w", err)
	}
	return stepErr, nil
}

// committed updates what the committer knows of the waiting messages
// after t committed. It runs on the committer goroutine, which alone
// touches these fields.
func (db *DB) committed(t *tx, now time.Time) {
	if t.indexed {
		db.backlog, db.backlogAt = 0, time.Time{}
	}
	if t.created > 0 {
		if db.backlog == 0 {
			db.backlogAt = now
		}
		db.backlog += t.created
	}
}

// idleWait is how long the idle committer may wait for an update before
// it runs an index step alone; ok is false when nothing waits.
func (db *DB) idleWait(now time.Time) (wait time.Duration, ok bool) {
	if db.backlog == 0 {
		return 0, false
	}
	due := db.backlogAt.Add(db.index.delay)
	if due.Before(db.indexRetryAt) {
		due = db.indexRetryAt
	}
	return due.Sub(now), true
}

// behind reports whether messages at or below maxPos (0: any) wait for
// the index in the snapshot of the read transaction t.
func (t *tx) behind(maxPos int64) (bool, error) {
	if maxPos <= 0 {
		maxPos = 1<<63 - 1
	}
	var waiting bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM messages
		WHERE pos >= (SELECT indexed FROM positions WHERE id = 1) AND pos <= ?)`, maxPos).Scan(&waiting)
	if err != nil {
		return false, fmt.Errorf("search: read the index watermark: %w", err)
	}
	return waiting, nil
}

// indexedBelow returns the index watermark of t's snapshot.
func (t *tx) indexedBelow() (int64, error) {
	var mark int64
	if err := t.queryRow(`SELECT indexed FROM positions WHERE id = 1`).Scan(&mark); err != nil {
		return 0, fmt.Errorf("read the index watermark: %w", err)
	}
	return mark, nil
}
