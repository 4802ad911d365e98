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
//
// The devices are looked up under one hold of the hub's lock, not one
// per user: a 10,000-member group is 10,000 lookups per message.
func (f *fanout) deliver(n notification) {
	h := f.h
	fo, err := h.app.Fanout(context.Background(), n.ConversationID, n.MessageID, n.Pos, h.fanoutMin)
	if err != nil {
		h.log.Warn("fan-out", "conversation", n.ConversationID, "err", err)
		h.wakeAll()
		return
	}
	var targets []target
	h.mu.Lock()
	for _, u := range fo.Audience {
		ds := h.users[u]
		if len(ds) == 0 {
			continue
		}
		if targets == nil {
			targets = make([]target, 0, len(fo.Audience))
		}
		p, _ := fo.For(u)
		for d := range ds {
			targets = append(targets, target{d, p})
		}
	}
	h.mu.Unlock()
	f.handOut(targets)
}

// target is one device of a fan-out and what it gets: p, or a wake
// when p is nil.
type target struct {
	d *Device
	p *app.Push
}

// fanoutChunk is the fewest devices worth a goroutine of their own when
// a fan-out is split between the CPUs.
const fanoutChunk = 512

// handOut gives every target its push, or wakes it. A stream device
// that can take its push at once is written to right here (RegisterStream):
// the fan-out then costs each device its socket write, not also a writer
// goroutine woken for it. Large fan-outs are split into contiguous runs,
// one per CPU, each handed out in audience order.
func (f *fanout) handOut(targets []target) {
	workers := min(runtime.GOMAXPROCS(0), (len(targets)+fanoutChunk-1)/fanoutChunk)
	if workers <= 1 {
		f.h.pushed.Add(handOutRun(targets))
		return
	}
	var wg sync.WaitGroup
	per := (len(targets) + workers - 1) / workers
	for lo := per; lo < len(targets); lo += per {
		run := targets[lo:min(lo+per, len(targets))]
		wg.Go(func() { f.h.pushed.Add(handOutRun(run)) })
	}
	f.h.pushed.Add(handOutRun(targets[:per]))
	wg.Wait()
}

// handOutRun hands out one run of targets and returns how many pushes
// devices took at once (a queued push counts itself, Device.deliver).
func handOutRun(targets []target) int64 {
	var n int64
	for _, t := range targets {
		switch {
		case t.p == nil:
			t.d.wake()
		case t.d.handOver(t.p):
			n++
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
