package app

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/parleyhq/parley"
)

// readBatcher is group commit for reads. Short reads on the hot paths —
// a device's sync after a wake, the session check of every request — queue
// up; at most runners goroutines take whatever is queued, up to
// maxReadBatch reads, and runs them one after another in one read
// transaction. An idle server runs each read alone and at once; a busy one
// opens one transaction per batch instead of one per read. That matters in
// SQLite, where the first read after any commit starts with a cold page
// cache: every device of a conversation wakes at the same moment, and each
// would pay that price on its own.
//
// A batch's transaction begins after every read in it was queued, so each
// still sees every commit that finished before it was asked for.
type readBatcher struct {
	mu      sync.Mutex
	queue   []*readCall
	urgent  int // how many calls at the head of queue are urgent ones
	running int
	runners int
}

type readCall struct {
	ctx  context.Context
	fn   func(parley.Tx) error
	err  error
	done chan struct{}
}

// maxReadBatch bounds how long one batch holds its read transaction.
const maxReadBatch = 64

func newReadBatcher() *readBatcher {
	return &readBatcher{runners: max(2, runtime.GOMAXPROCS(0))}
}

// shortView runs fn in a read transaction shared with other short reads.
// fn must be short: the reads batched with it wait for it.
func (a *App) shortView(ctx context.Context, fn func(parley.Tx) error) error {
	return a.batchedView(ctx, fn, false)
}

// urgentView is shortView for reads a request waits on before it can do
// anything (the session check of every request, a send's included): it
// joins the next batch ahead of the device syncs queued, which are many
// when a busy conversation wakes its devices and which nobody waits on
// as directly. Without it, a send's check queued behind a batch of 64
// syncs, and that wait was part of the send's acknowledgement.
func (a *App) urgentView(ctx context.Context, fn func(parley.Tx) error) error {
	return a.batchedView(ctx, fn, true)
}

func (a *App) batchedView(ctx context.Context, fn func(parley.Tx) error, urgent bool) error {
	b := a.reads
	c := &readCall{ctx: ctx, fn: fn, done: make(chan struct{})}
	b.mu.Lock()
	if urgent {
		b.queue = append(b.queue, nil)
		n := b.urgent
		copy(b.queue[n+1:], b.queue[n:])
		b.queue[n] = c
		b.urgent++
	} else {
		b.queue = append(b.queue, c)
	}
	start := b.running < b.runners
	if start {
		b.running++
	}
	b.mu.Unlock()
	if start {
		go a.runReads()
	}
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		// The call stays queued; the runner skips it once it sees ctx
		// ended. fn may still be running: the caller must not read what
		// fn writes, and only uses err.
		return ctx.Err()
	}
}

// runReads answers batches until the queue is empty.
func (a *App) runReads() {
	b := a.reads
	for {
		b.mu.Lock()
		n := min(len(b.queue), maxReadBatch)
		if n == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		batch := make([]*readCall, n)
		copy(batch, b.queue)
		b.queue = append(b.queue[:0], b.queue[n:]...)
		b.urgent = max(0, b.urgent-n)
		b.mu.Unlock()
		a.runBatch(batch)
	}
}

// runBatch runs a batch in one read transaction. A call's error is its own;
// a failure to open the transaction is every call's.
func (a *App) runBatch(batch []*readCall) {
	a.obs.ReadBatch(len(batch))
	defer func() {
		for _, c := range batch {
			close(c.done)
		}
	}()
	ran := false
	err := a.view(context.Background(), func(tx parley.Tx) error {
		ran = true
		for _, c := range batch {
			if c.err = c.ctx.Err(); c.err == nil {
				c.err = a.runRead(c, tx)
			}
		}
		return nil
	})
	if err != nil && !ran {
		// The transaction never opened. One that fails to end after the
		// reads ran leaves their answers good: they only read.
		for _, c := range batch {
			c.err = err
		}
	}
}

// runRead runs one call, turning a panic into that call's error so that
// the reads batched with it still get their answers.
func (a *App) runRead(c *readCall, tx parley.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a.log.Error("read panic", "panic", r)
			err = fmt.Errorf("read panic: %v", r)
		}
	}()
	return c.fn(tx)
}
