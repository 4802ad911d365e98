// Package natsbus is the parley.Bus that carries notifications between
// nodes through a NATS server (PARLEY_NATS_URL). NATS only notifies: when it
// is unreachable, publishes are buffered or lost, never the data, and once
// the connection is back every subscriber is told that messages may have
// been dropped (handler(nil)), so that devices catch up through sync.
//
// Each subscription has its own bounded queue and goroutine, as in
// bus/inproc: NATS's delivery goroutine only appends to the queue, so a slow
// subscriber never makes the NATS server cut the connection as a slow
// consumer, and memory stays bounded.
//
// Publishing is queued too, for one goroutine that hands the messages to
// NATS in order: the NATS client writes its buffer to the socket inline
// once it holds 32 KiB, and a server or network that stops reading would
// hold that write — and the caller, a store's committer publishing after
// each commit — for up to the write timeout. When the queue is full the
// message is dropped, and before the next message on its subject goes out
// the subscribers are told that some were lost (a message with the
// Parley-Gap header, delivered to handlers as nil).
package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/parleyhq/parley"
)

var _ parley.Bus = (*Bus)(nil)

// DefaultQueue is how many messages a subscription may have waiting before
// newer ones are dropped for it.
const DefaultQueue = 8192

// DefaultPublishQueue is how many published messages may wait for the
// NATS connection before newer ones are dropped.
const DefaultPublishQueue = 16384

// gapHeader marks a message that only says others were dropped before it
// reached NATS.
const gapHeader = "Parley-Gap"

// writeTimeout bounds one write to the NATS server; past it the client
// takes the connection for broken and reconnects.
const writeTimeout = 10 * time.Second

// Options tune a Bus. The zero value is the production default.
type Options struct {
	// Queue is how many messages a subscription may have waiting
	// (DefaultQueue when <= 0).
	Queue int
	// PublishQueue is how many published messages may wait to be handed
	// to NATS (DefaultPublishQueue when <= 0).
	PublishQueue int
	// Prefix is put before every subject, so that several installations
	// may share one NATS server (default "parley.").
	Prefix string
	// Name is the connection's name in NATS's monitoring (default
	// "parley").
	Name string
	// ReconnectWait is the pause between reconnection attempts (default
	// 250 ms). The bus never stops trying.
	ReconnectWait time.Duration
	// Logger receives disconnects and reconnects.
	Logger *slog.Logger
}

// Bus is a parley.Bus on one NATS connection.
type Bus struct {
	nc     *nats.Conn
	opts   Options
	mu     sync.Mutex
	subs   map[*subscription]struct{}
	closed bool

	// out is the publish queue, drained by publisher; outMu guards its
	// sends (read lock) against Close closing it (outClosed). sent is
	// closed when publisher has returned.
	outMu     sync.RWMutex
	outClosed bool
	out       chan outMsg
	sent      chan struct{}
	// dropped holds the subjects that lost a message to a full queue or
	// a failed publish since their last gap marker (guarded by dropMu).
	dropMu  sync.Mutex
	dropped map[string]struct{}
}

// outMsg is a published message waiting for the connection, or (flushed
// not nil) a mark that Flush waits for.
type outMsg struct {
	subject string
	data    []byte
	flushed chan struct{}
}

// Open connects to the NATS server(s) at url (comma-separated URLs). When
// no server answers yet, Open still succeeds and the bus keeps trying in
// the background: notifications are lost meanwhile, which costs latency,
// not data.
func Open(url string, opts Options) (*Bus, error) {
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.Prefix == "" {
		opts.Prefix = "parley."
	}
	if opts.Name == "" {
		opts.Name = "parley"
	}
	if opts.ReconnectWait <= 0 {
		opts.ReconnectWait = 250 * time.Millisecond
	}
	if opts.PublishQueue <= 0 {
		opts.PublishQueue = DefaultPublishQueue
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	b := &Bus{opts: opts, subs: map[*subscription]struct{}{},
		out: make(chan outMsg, opts.PublishQueue), sent: make(chan struct{}), dropped: map[string]struct{}{}}
	nc, err := nats.Connect(url,
		nats.Name(opts.Name),
		nats.FlusherTimeout(writeTimeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(opts.ReconnectWait),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			// Close disconnects too, and NATS calls this on its own
			// goroutine, possibly after Close returned: nothing to
			// report then (and the logger may be gone: an admin
			// command's stderr).
			b.mu.Lock()
			closed := b.closed
			b.mu.Unlock()
			if closed {
				return
			}
			opts.Logger.Warn("nats disconnected; notifications wait for the reconnect, devices catch up through sync", "err", err)
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			opts.Logger.Info("nats reconnected")
			b.gapAll()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) {
				b.gapAll()
				return
			}
			opts.Logger.Warn("nats", "err", err)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("natsbus: connect: %w", err)
	}
	b.nc = nc
	go b.publisher()
	return b, nil
}

// publisher hands the queued messages to NATS in order until Close,
// each subject's gap marker first when it lost messages.
func (b *Bus) publisher() {
	defer close(b.sent)
	var failed time.Time // last publish error logged
	for m := range b.out {
		if m.flushed != nil {
			close(m.flushed)
			continue
		}
		subject := b.opts.Prefix + m.subject
		b.dropMu.Lock()
		_, gap := b.dropped[m.subject]
		delete(b.dropped, m.subject)
		b.dropMu.Unlock()
		var err error
		if gap {
			// A marker that cannot go (not connected yet: headers count
			// as unsupported until a server said otherwise) is tried
			// again before the next message; this one goes regardless.
			if err = b.nc.PublishMsg(&nats.Msg{Subject: subject, Header: nats.Header{gapHeader: {"1"}}}); err != nil {
				b.drop(m.subject)
			}
		}
		if perr := b.nc.Publish(subject, m.data); perr != nil {
			b.drop(m.subject)
			err = perr
		}
		if err != nil && time.Since(failed) > time.Minute && !b.isClosed() {
			failed = time.Now()
			b.opts.Logger.Warn("nats publish failed: notifications dropped, subscribers will be told", "err", err)
		}
	}
}

// isClosed reports whether Close was called (the logger may be gone).
func (b *Bus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// drop records that subject lost a message.
func (b *Bus) drop(subject string) {
	b.dropMu.Lock()
	b.dropped[subject] = struct{}{}
	b.dropMu.Unlock()
}

type item struct {
	data []byte
	gap  bool // messages were dropped just before this one
}

type subscription struct {
	bus     *Bus
	ns      *nats.Subscription
	handler func([]byte)
	max     int

	mu      sync.Mutex
	queue   []item
	gap     bool // dropped since the last queued item
	stopped bool
	wake    chan struct{}
	done    chan struct{}
}

// Publish implements parley.Bus. It never waits for the server or the
// network: the message is queued for the connection, and when the queue
// is full it is dropped (the error says so) and the subscribers are told
// before the subject's next message.
func (b *Bus) Publish(ctx context.Context, subject string, data []byte) error {
	b.outMu.RLock()
	defer b.outMu.RUnlock()
	if b.outClosed {
		return errors.New("natsbus: bus closed")
	}
	select {
	case b.out <- outMsg{subject: subject, data: data}:
		return nil
	default:
		b.drop(subject)
		return errors.New("natsbus: publish queue full: notification dropped")
	}
}

// Subscribe implements parley.Bus.
func (b *Bus) Subscribe(subject string, handler func([]byte)) (parley.Subscription, error) {
	s := &subscription{bus: b, handler: handler, max: b.opts.Queue, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("natsbus: bus closed")
	}
	ns, err := b.nc.Subscribe(b.opts.Prefix+subject, func(m *nats.Msg) {
		if m.Header.Get(gapHeader) != "" {
			s.push(nil, true) // the publisher dropped some
			return
		}
		s.push(m.Data, false)
	})
	if err != nil {
		return nil, fmt.Errorf("natsbus: subscribe: %w", err)
	}
	// The queue above bounds memory; NATS's own pending limit only has to
	// be larger, so that it does not drop first.
	if err := ns.SetPendingLimits(4*s.max+1024, -1); err != nil {
		ns.Unsubscribe()
		return nil, fmt.Errorf("natsbus: subscribe: %w", err)
	}
	s.ns = ns
	b.subs[s] = struct{}{}
	go s.run()
	return s, nil
}

// gapAll tells every subscriber that messages may have been lost.
func (b *Bus) gapAll() {
	b.mu.Lock()
	subs := make([]*subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		s.push(nil, true)
	}
}

// push queues data, or only records a gap (gap true, data nil).
func (s *subscription) push(data []byte, gap bool) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	switch {
	case gap || len(s.queue) >= s.max:
		s.gap = true
	default:
		s.queue = append(s.queue, item{data: data, gap: s.gap})
		s.gap = false
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
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
	delete(b.subs, s)
	b.mu.Unlock()
	err := s.ns.Unsubscribe()
	if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrBadSubscription) {
		err = nil
	}
	s.stop()
	return err
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

// Ready reports whether the bus can carry notifications. A bus that is
// reconnecting is ready: NATS only notifies, and sends and sync work
// without it; only a closed bus is not.
func (b *Bus) Ready() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.nc.IsClosed() {
		return errors.New("natsbus: bus closed")
	}
	return nil
}

// Flush waits until the server has processed everything sent so far,
// subscriptions included: first until the publish queue has handed it
// to the connection.
func (b *Bus) Flush() error {
	done := make(chan struct{})
	// Never blocked while holding outMu: Close waits for it, and a
	// waiting Close holds up every Publish.
	for deadline := time.Now().Add(10 * time.Second); ; {
		b.outMu.RLock()
		if b.outClosed {
			b.outMu.RUnlock()
			return errors.New("natsbus: bus closed")
		}
		queued := false
		select {
		case b.out <- outMsg{flushed: done}:
			queued = true
		default:
		}
		b.outMu.RUnlock()
		if queued {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("natsbus: flush: publish queue full")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		return errors.New("natsbus: flush: publish queue not drained")
	}
	return b.nc.FlushTimeout(10 * time.Second)
}

// Connected reports whether the connection to NATS is up right now.
func (b *Bus) Connected() bool { return b.nc.IsConnected() }

// Close implements parley.Bus: it flushes what was published, closes the
// connection and ends every subscription.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	all := make([]*subscription, 0, len(b.subs))
	for s := range b.subs {
		all = append(all, s)
	}
	b.subs = map[*subscription]struct{}{}
	b.mu.Unlock()
	b.outMu.Lock()
	b.outClosed = true
	close(b.out)
	b.outMu.Unlock()
	// What was published goes out first, unless the connection is stuck.
	select {
	case <-b.sent:
	case <-time.After(writeTimeout):
	}
	if b.nc.IsConnected() {
		b.nc.FlushTimeout(2 * time.Second)
	}
	b.nc.Close()
	for _, s := range all {
		s.stop()
	}
	return nil
}
