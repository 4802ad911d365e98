package realtime

import (
	"context"
	"sync"

	"github.com/parleyhq/parley"
)

// publishQueue bounds the events waiting for the publisher; past it a
// batch is published at once, without frames (its devices sync).
const publishQueue = 4096

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
	waiting int // events in queue
	running bool
	closed  bool
}

// enqueue hands events to the publisher and reports whether it took them.
func (p *publisher) enqueue(events []*parley.Event) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.waiting+len(events) > publishQueue {
		return false
	}
	p.queue = append(p.queue, events)
	p.waiting += len(events)
	if !p.running {
		p.running = true
		go p.run()
	}
	return true
}

func (p *publisher) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

func (p *publisher) run() {
	h := p.h
	for {
		p.mu.Lock()
		batches := p.queue
		p.queue, p.waiting = nil, 0
		if len(batches) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		var all []*parley.Event
		for _, b := range batches {
			all = append(all, b...)
		}
		frames, err := h.app.DirectFrames(context.Background(), all)
		if err != nil {
			// Published without frames: the devices sync.
			h.log.Warn("render direct frames", "err", err)
			frames = nil
		}
		h.publishEvents(all, frames)
	}
}
