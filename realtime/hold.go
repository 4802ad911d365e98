package realtime

import (
	"slices"
	"sync"
	"time"

	"github.com/parleyhq/parley/app"
)

// holdFor is how long a push waits for the notifications of the
// positions just below it. Nodes publish in the order they commit, but
// the notifications of two nodes may cross on the way: a message whose
// predecessor from another node is still on its way would otherwise make
// a caught-up device sync. Past it the push goes with what is known.
const holdFor = 5 * time.Millisecond

// maxHeld bounds the pushes waiting; past it they go at once.
const maxHeld = 4096

// held is a push waiting for a hole below it to fill.
type held struct {
	user     string
	push     *app.Push
	deadline time.Time
}

// holder keeps the pushes that wait, in arrival order, and hands each to
// its user's devices once the walk below it no longer stops at a missing
// position, or its time is up. A user's later pushes wait behind an
// earlier one, so that each device gets them in order.
type holder struct {
	h *Hub
	// wait is how long a push may wait (holdFor; tests lengthen it so
	// that a slow machine does not end a wait the test is inspecting).
	wait  time.Duration
	mu    sync.Mutex
	queue []held
	timer *time.Timer
}

// push hands p to userID's devices now, or holds it.
func (o *holder) push(userID string, p *app.Push) {
	o.mu.Lock()
	defer o.mu.Unlock()
	after, hole := o.h.cov.after(userID, p.Pos)
	if (!hole || len(o.queue) >= maxHeld) && !o.waitingLocked(userID) {
		p.After = after
		o.deliverLocked(userID, p)
		return
	}
	o.insertLocked(held{user: userID, push: p, deadline: time.Now().Add(o.wait)})
	if o.timer == nil {
		o.timer = time.AfterFunc(o.wait, o.recheck)
	}
}

// insertLocked queues w behind the pushes waiting, but before any of its
// user's at a higher position: a user's pushes go in position order.
// The sends of one batch commit together and each publishes its own
// message when its commit returns, so two messages of one conversation
// may reach the hub in the other order; the higher one waits for the
// lower (a hole), and when the lower comes it must go first — queued
// behind the higher one it would have let that go to a device short of
// the lower, which would then sync for both.
func (o *holder) insertLocked(w held) {
	for i, q := range o.queue {
		if q.user == w.user && q.push.Pos > w.push.Pos {
			// It goes no later than the push it overtakes would have:
			// that one waits behind it now.
			if q.deadline.Before(w.deadline) {
				w.deadline = q.deadline
			}
			o.queue = slices.Insert(o.queue, i, w)
			return
		}
	}
	o.queue = append(o.queue, w)
}

func (o *holder) waitingLocked(userID string) bool {
	for _, w := range o.queue {
		if w.user == userID {
			return true
		}
	}
	return false
}

// deliverLocked hands p to each of the user's devices: a stream that can
// take it at once is written to right here (RegisterStream), as the
// fan-out does, instead of waking a writer goroutine to write it; the
// others queue it.
func (o *holder) deliverLocked(userID string, p *app.Push) {
	o.h.forUser(userID, func(d *Device) {
		if d.handOver(p) {
			o.h.pushed.Add(1)
		}
	})
}

// recheck hands over what may go: called after each recorded position
// and by the timer.
func (o *holder) recheck() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.queue) == 0 {
		if o.timer != nil {
			o.timer.Stop()
			o.timer = nil
		}
		return
	}
	now := time.Now()
	blocked := map[string]bool{}
	keep := o.queue[:0]
	var next time.Time
	for _, w := range o.queue {
		if !blocked[w.user] {
			after, hole := o.h.cov.after(w.user, w.push.Pos)
			if !hole || !now.Before(w.deadline) {
				w.push.After = after
				o.deliverLocked(w.user, w.push)
				continue
			}
		}
		blocked[w.user] = true
		keep = append(keep, w)
		if next.IsZero() || w.deadline.Before(next) {
			next = w.deadline
		}
	}
	clear(o.queue[len(keep):])
	o.queue = keep
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
	if len(keep) > 0 {
		o.timer = time.AfterFunc(max(time.Until(next), 100*time.Microsecond), o.recheck)
	}
}

// wait is the pushes held (tests).
func (o *holder) waiting() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.queue)
}
