package realtime

import (
	"context"
	"runtime"
	"sync"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// FanoutMin is the smallest audience for which a new message is hydrated
// once on the hub (app.Fanout) and pushed to every caught-up device,
// instead of waking each device to run its own sync. Below it, waking is
// as cheap and keeps one path.
const FanoutMin = 64

// fanoutQueue bounds the messages waiting for the fan-out goroutine; past
// it a notification wakes its audience as before.
const fanoutQueue = 1024

// fanout hydrates the new messages of large groups one after another, off
// the bus delivery goroutine, in the order the notifications arrived.
type fanout struct {
	h *Hub

	mu      sync.Mutex
	queue   []notification
	running bool
	closed  bool
}

// enqueue hands n to the fan-out goroutine and reports whether it took it.
func (f *fanout) enqueue(n notification) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || len(f.queue) >= fanoutQueue {
		return false
	}
	f.queue = append(f.queue, n)
	if !f.running {
		f.running = true
		go f.run()
	}
	return true
}

func (f *fanout) close() {
	f.mu.Lock()
	f.closed = true
	f.queue = nil
	f.mu.Unlock()
}

func (f *fanout) run() {
	for {
		f.mu.Lock()
		if len(f.queue) == 0 || f.closed {
			f.running = false
			f.mu.Unlock()
			return
		}
		n := f.queue[0]
		f.queue = f.queue[1:]
		f.mu.Unlock()
		f.deliver(n)
	}
}

// deliver pushes n's message to the devices that may take it as it is and
// wakes the others. A failure wakes everyone the conversation concerns,
// or every device when even that is unknown: they sync.
func (f *fanout) deliver(n notification) {
	h := f.h
	fo, err := h.app.Fanout(context.Background(), n.ConversationID, n.MessageID, n.Pos, h.fanoutMin)
	if err != nil {
		h.log.Warn("fan-out", "conversation", n.ConversationID, "err", err)
		h.wakeAll()
		return
	}
	f.handOut(fo)
}

// fanoutChunk is the fewest users worth a goroutine of their own when a
// fan-out is split between the CPUs.
const fanoutChunk = 512

// lookupRun is how many users' devices a fan-out looks up under one
// hold of the hub's lock before it hands them out: the first devices
// get the message without waiting for the lookup of the whole audience
// (~5 ms for 10,000 users), and the lock is never held long.
const lookupRun = 256

// handOut gives every device of the audience its push, or wakes it. A
// stream device that can take its push at once is written to right here
// (RegisterStream): the fan-out then costs each device its socket write,
// not also a writer goroutine woken for it. Large audiences are split
// into contiguous runs, one per CPU, each looked up and handed out in
// audience order.
func (f *fanout) handOut(fo *app.Fanout) {
	aud := fo.Audience
	workers := min(runtime.GOMAXPROCS(0), (len(aud)+fanoutChunk-1)/fanoutChunk)
	if workers <= 1 {
		f.h.pushed.Add(f.handOutRun(fo, 0, len(aud)))
		return
	}
	var wg sync.WaitGroup
	per := (len(aud) + workers - 1) / workers
	for lo := per; lo < len(aud); lo += per {
		wg.Go(func() { f.h.pushed.Add(f.handOutRun(fo, lo, min(lo+per, len(aud)))) })
	}
	f.h.pushed.Add(f.handOutRun(fo, 0, per))
	wg.Wait()
}

// target is one device of a fan-out and what it gets: p, or a wake
// when p is nil.
type target struct {
	d *Device
	p *app.Push
}

// handOutRun hands out the audience from lo to hi, lookupRun users at a
// time, and returns how many pushes devices took at once (a queued push
// counts itself, Device.deliver).
func (f *fanout) handOutRun(fo *app.Fanout, lo, hi int) int64 {
	h := f.h
	var n int64
	targets := make([]target, 0, lookupRun)
	for ; lo < hi; lo += lookupRun {
		targets = targets[:0]
		h.mu.RLock()
		for i := lo; i < min(lo+lookupRun, hi); i++ {
			ds := h.users[fo.Audience[i]]
			if len(ds) == 0 {
				continue
			}
			var p *app.Push
			if fo.Pushes != nil {
				p = fo.Pushes[i]
			}
			for d := range ds {
				targets = append(targets, target{d, p})
			}
		}
		h.mu.RUnlock()
		for _, t := range targets {
			switch {
			case t.p == nil:
				t.d.wake()
			case t.d.handOver(t.p):
				n++
			}
		}
	}
	return n
}

// fansOut reports whether n is a new message that the fan-out goroutine
// should deliver, given what the hub knows of its audience.
func (h *Hub) fansOut(n *notification, ids []string, large, known bool) bool {
	if n.Type != parley.EventMessageCreated || n.MessageID == "" {
		return false
	}
	return large || known && len(ids) >= h.fanoutMin
}

// WithFanoutMin sets the smallest audience the hub fans out to (tests use
// small groups).
func WithFanoutMin(n int) Option { return func(h *Hub) { h.fanoutMin = max(1, n) } }
