package realtime

import (
	"context"
	"sync"
	"time"

	"github.com/parleyhq/parley"
)

// publishQueue bounds the events waiting for the publisher; past it a
// batch is published at once, without frames (its devices sync).
const publishQueue = 4096

// Rendering must not hold notifications back for long, yet giving it up
// costs more than it saves: every device of a message published without
// its frames syncs (a read transaction each), where one render reads for
// every batch waiting at once. So the publisher sheds rendering only when
// the database falls well behind, not when it is merely busy: when the
// oldest batch waiting has waited renderBacklog, everything waiting is
// published without frames, and a render that takes longer than
// renderTimeout is given up. The backlog bound is the shorter, so that
// after a render that timed out (everything queued meanwhile has waited
// longer) the next round sheds instead of timing out again: when every
// render is slow, rounds alternate between rendering and shedding.
// Notifications of new messages are late by about renderBacklog +
// renderTimeout at most, not by a queue. Shedding at 10 ms and 25 ms
// (before) tipped two loaded nodes on PostgreSQL at 1,000 messages/s into
// syncing for nearly every message — 0.1–0.5 pushes per message instead
// of 2, p99 1.2–4.3 s instead of 0.1–0.4 s (BENCHMARKS.md, issue 11,
// eighth session).
const (
	renderBacklog = 50 * time.Millisecond
	renderTimeout = 100 * time.Millisecond
	// closeWait bounds how long close waits for what is queued to go out.
	closeWait = 2 * time.Second
)

// publisher publishes the batches of events that hold new messages, in
// the order they committed, off the committing request: it first renders
// the frames of the new messages of direct conversations
// (app.DirectFrames), every batch waiting at the time in one read, so
// that the nodes of the members' devices can push them without a read of
// their own.
type publisher struct {
	h *Hub

	mu      sync.Mutex
	queue   [][]*parley.Event
	oldest  time.Time // when the first batch in queue came
	waiting int       // events in queue
	running bool
	closed  bool
	// drained is closed when run returns after close was called.
	drained chan struct{}
}

// enqueue hands events to the publisher and reports whether it took them.
func (p *publisher) enqueue(events []*parley.Event) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.waiting+len(events) > publishQueue {
		return false
	}
	if len(p.queue) == 0 {
		p.oldest = time.Now()
	}
	p.queue = append(p.queue, events)
	p.waiting += len(events)
	if !p.running {
		p.running = true
		go p.run()
	}
	return true
}

// close takes no more batches and waits (closeWait at most) until those
// queued are published: a process that publishes and then exits (an
// admin command, a node shutting down) must not drop its last
// notifications, or the other nodes' devices would not hear of them
// until they next sync.
func (p *publisher) close() {
	p.mu.Lock()
	p.closed = true
	if !p.running {
		p.mu.Unlock()
		return
	}
	if p.drained == nil {
		p.drained = make(chan struct{})
	}
	drained := p.drained
	p.mu.Unlock()
	select {
	case <-drained:
	case <-time.After(closeWait):
	}
}

func (p *publisher) run() {
	h := p.h
	for {
		p.mu.Lock()
		batches, oldest := p.queue, p.oldest
		p.queue, p.waiting = nil, 0
		if len(batches) == 0 {
			p.running = false
			if p.drained != nil {
				close(p.drained)
				p.drained = nil
			}
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		var all []*parley.Event
		for _, b := range batches {
			all = append(all, b...)
		}
		var frames map[int64]map[string][]byte
		if time.Since(oldest) < renderBacklog {
			ctx, cancel := context.WithTimeout(context.Background(), renderTimeout)
			var err error
			frames, err = h.app.DirectFrames(ctx, all)
			cancel()
			if err != nil {
				// Published without frames: the devices sync.
				if ctx.Err() == nil {
					h.log.Warn("render direct frames", "err", err)
				}
				frames = nil
			}
		}
		h.rendered.Add(int64(len(frames)))
		h.publishEvents(all, frames)
	}
}
