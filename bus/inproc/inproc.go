// Package inproc is the in-process parley.Bus used by a single node: each
// subscription has its own bounded queue and goroutine, so a slow
// subscriber never holds up a publisher or the other subscribers.
package inproc

import (
	"context"
	"errors"
	"sync"

	"github.com/parleyhq/parley"
)

var _ parley.Bus = (*Bus)(nil)

// DefaultQueue is how many messages a subscription may have waiting before
// newer ones are dropped for it.
const DefaultQueue = 8192

// Bus is an in-process parley.Bus.
type Bus struct {
	queue  int
	mu     sync.RWMutex
	subs   map[string]map[*subscription]struct{}
	closed bool
}

// New returns a Bus whose subscriptions queue up to queue messages
// (DefaultQueue when queue <= 0).
func New(queue int) *Bus {
	if queue <= 0 {
		queue = DefaultQueue
	}
	return &Bus{queue: queue, subs: map[string]map[*subscription]struct{}{}}
}

type item struct {
	data []byte
	gap  bool // messages were dropped just before this one
}

type subscription struct {
	bus     *Bus
	subject string
	handler func([]byte)

	mu      sync.Mutex
	queue   []item
	gap     bool // dropped since the last queued item
	stopped bool
	wake    chan struct{}
	done    chan struct{}
}

// Publish implements parley.Bus.
func (b *Bus) Publish(ctx context.Context, subject string, data []byte) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return errors.New("inproc: bus closed")
	}
	for s := range b.subs[subject] {
		s.push(data, b.queue)
	}
	return nil
}

func (s *subscription) push(data []byte, max int) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= max {
		s.gap = true
	} else {
		s.queue = append(s.queue, item{data: data, gap: s.gap})
		s.gap = false
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Subscribe implements parley.Bus.
func (b *Bus) Subscribe(subject string, handler func([]byte)) (parley.Subscription, error) {
	s := &subscription{bus: b, subject: subject, handler: handler, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("inproc: bus closed")
	}
	if b.subs[subject] == nil {
		b.subs[subject] = map[*subscription]struct{}{}
	}
	b.subs[subject][s] = struct{}{}
	go s.run()
	return s, nil
}

// run delivers queued messages in order until the subscription stops.
func (s *subscription) run() {
	defer close(s.done)
	for {
		s.mu.Lock()
		items, gap, stopped := s.queue, s.gap, s.stopped
		s.queue = nil
		if len(items) == 0 {
			s.gap = false
		}
		s.mu.Unlock()
		if stopped {
			return
		}
		for _, it := range items {
			if it.gap {
				s.handler(nil)
			}
			s.handler(it.data)
		}
		if len(items) == 0 {
			if gap {
				s.handler(nil) // dropped messages with nothing after them yet
			}
			<-s.wake
		}
	}
}

// Unsubscribe implements parley.Subscription.
func (s *subscription) Unsubscribe() error {
	b := s.bus
	b.mu.Lock()
	delete(b.subs[s.subject], s)
	b.mu.Unlock()
	s.stop()
	return nil
}

func (s *subscription) stop() {
	s.mu.Lock()
	already := s.stopped
	s.stopped = true
	s.mu.Unlock()
	if already {
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	<-s.done
}

// Ready reports whether the bus carries notifications: an in-process
// bus is connected until it is closed.
func (b *Bus) Ready() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("inproc: bus closed")
	}
	return nil
}

// Close implements parley.Bus.
func (b *Bus) Close() error {
	b.mu.Lock()
	b.closed = true
	var all []*subscription
	for _, subs := range b.subs {
		for s := range subs {
			all = append(all, s)
		}
	}
	b.subs = map[string]map[*subscription]struct{}{}
	b.mu.Unlock()
	for _, s := range all {
		s.stop()
	}
	return nil
}
