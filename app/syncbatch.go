package app

import (
	"context"
	"runtime"
	"sync"

	"github.com/parleyhq/parley"
)

// syncBatcher is group commit for reads. Sync calls queue up; at most
// runners goroutines take whatever is queued, up to maxSyncBatch calls,
// and answer all of them from one read transaction. An idle server runs
// each call alone and at once; a busy one opens one transaction (and warms
// one page cache) per batch instead of one per device.
type syncBatcher struct {
	mu      sync.Mutex
	queue   []*syncCall
	running int
	runners int
}

type syncCall struct {
	ctx   context.Context
	actor *Actor
	since int64
	limit int

	page *SyncPage
	err  error
	done chan struct{}
}

// maxSyncBatch bounds how long one batch holds its read transaction.
const maxSyncBatch = 64

func newSyncBatcher() *syncBatcher {
	return &syncBatcher{runners: max(2, runtime.GOMAXPROCS(0))}
}

func (b *syncBatcher) do(ctx context.Context, a *App, c *syncCall) (*SyncPage, error) {
	c.done = make(chan struct{})
	b.mu.Lock()
	b.queue = append(b.queue, c)
	start := b.running < b.runners
	if start {
		b.running++
	}
	b.mu.Unlock()
	if start {
		go b.run(a)
	}
	select {
	case <-c.done:
		return c.page, c.err
	case <-ctx.Done():
		// The call stays queued; run skips it once it sees ctx ended.
		return nil, ctx.Err()
	}
}

// run answers batches until the queue is empty.
func (b *syncBatcher) run(a *App) {
	for {
		b.mu.Lock()
		n := min(len(b.queue), maxSyncBatch)
		if n == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		batch := make([]*syncCall, n)
		copy(batch, b.queue)
		b.queue = append(b.queue[:0], b.queue[n:]...)
		b.mu.Unlock()
		a.runSyncs(batch)
	}
}

// runSyncs answers a batch from one read transaction. A call's error is its
// own; a failure to open the transaction is every call's.
func (a *App) runSyncs(batch []*syncCall) {
	defer func() {
		// A panic in one call must not leave the others waiting forever
		// nor take the server down from this goroutine.
		if r := recover(); r != nil {
			a.log.Error("sync batch panic", "panic", r)
			for _, c := range batch {
				if c.page == nil && c.err == nil {
					c.err = parley.Errorf(parley.EInternal, "internal error")
				}
			}
		}
		for _, c := range batch {
			close(c.done)
		}
	}()
	err := a.view(context.Background(), func(tx parley.Tx) error {
		head, err := tx.Head()
		if err != nil {
			return err
		}
		for _, c := range batch {
			if err := c.ctx.Err(); err != nil {
				c.err = err
				continue
			}
			c.page, c.err = a.syncIn(tx, head, c.actor, c.since, c.limit)
		}
		return nil
	})
	if err != nil {
		for _, c := range batch {
			if c.page == nil && c.err == nil {
				c.err = err
			}
		}
	}
}
