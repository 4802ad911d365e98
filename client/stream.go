package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Stream transports.
const (
	TransportWebSocket = "websocket"
	TransportPoll      = "poll"
)

// Close codes of the server's stream (see docs/api.md).
const (
	closeSessionEnded websocket.StatusCode = 4001
	closeResync       websocket.StatusCode = 4009
)

// maxFrame bounds one frame from the server (an event with a long
// message is tens of KiB).
const maxFrame = 8 << 20

// StreamOptions tune a Stream; the zero value (or nil) is fine.
type StreamOptions struct {
	// Buffer is the capacity of the Events channel (default 64).
	Buffer int
	// MinBackoff and MaxBackoff bound the pause before reconnecting
	// (defaults 250 ms and 30 s); it doubles with each failure in a row.
	MinBackoff, MaxBackoff time.Duration
	// FallbackAfter is how many WebSocket attempts in a row may fail,
	// while plain HTTP works, before the stream long-polls sync instead
	// (default 2; negative: never).
	FallbackAfter int
	// RetryWebSocket is how long the stream long-polls before it tries
	// the WebSocket again (default 1 minute).
	RetryWebSocket time.Duration
	// PollWait is how long one long-poll waits for changes (default 25 s).
	PollWait time.Duration
	// PingInterval is how often the stream pings the server to notice a
	// dead connection (default 30 s); a ping unanswered within
	// PingInterval/2 drops the connection, and the stream reconnects.
	PingInterval time.Duration
	// PollOnly skips the WebSocket and long-polls sync from the start.
	PollOnly bool
}

func (o *StreamOptions) withDefaults() StreamOptions {
	var out StreamOptions
	if o != nil {
		out = *o
	}
	if out.Buffer <= 0 {
		out.Buffer = 64
	}
	if out.MinBackoff <= 0 {
		out.MinBackoff = 250 * time.Millisecond
	}
	if out.MaxBackoff < out.MinBackoff {
		out.MaxBackoff = max(30*time.Second, out.MinBackoff)
	}
	if out.FallbackAfter == 0 {
		out.FallbackAfter = 2
	}
	if out.RetryWebSocket <= 0 {
		out.RetryWebSocket = time.Minute
	}
	if out.PollWait <= 0 {
		out.PollWait = 25 * time.Second
	}
	if out.PingInterval <= 0 {
		out.PingInterval = 30 * time.Second
	}
	return out
}

// Stream follows the caller's changes: every stored change after a
// position, once and in order, then live ones, across reconnects. Read
// them from Events until it is closed, then look at Err.
//
// Over the WebSocket the stream also carries ephemeral events (typing,
// presence; Pos 0); over long-poll sync it does not.
type Stream struct {
	c      *Client
	opts   StreamOptions
	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc
	events chan Event
	done   chan struct{}
	pos    atomic.Int64
	// closing is set by Close: the stream ends without an error.
	closing atomic.Bool

	// resync asks the next connection to start without since, after the
	// server said the position cannot be replayed. Used by run only.
	resync bool

	mu        sync.Mutex
	err       error
	transport string
	// conn is the WebSocket while it is greeted and read (for Send);
	// waiting holds the answers Send waits for, by frame id.
	conn    *websocket.Conn
	waiting map[string]chan []byte
	sendSeq atomic.Uint64
}

// Stream starts following the caller's changes after position since: the
// highest Event.Pos (or Stream.Position) a previous stream delivered, or
// 0 for a new device, which first gets an EventLimited with the current
// head (load conversations and history, then carry on).
//
// It makes the first connection before returning (unless PollOnly), and
// returns an error only when retrying cannot help (no valid token:
// unauthorized, insufficient_scope). Later failures are retried with backoff; the
// stream ends when ctx ends, Close is called, or the session ends (Err is
// then an unauthorized *Error).
func (c *Client) Stream(ctx context.Context, since int64, opts *StreamOptions) (*Stream, error) {
	if since == SinceNow {
		since = 0 // a new device: the stream starts at the head
	}
	if since < 0 {
		return nil, fmt.Errorf("parley: stream: since %d is not a position", since)
	}
	o := opts.withDefaults()
	sctx, cancel := context.WithCancel(ctx)
	s := &Stream{c: c, opts: o, parent: ctx, ctx: sctx, cancel: cancel, events: make(chan Event, o.Buffer), done: make(chan struct{})}
	s.pos.Store(since)
	var conn *websocket.Conn
	var err error
	if !o.PollOnly {
		if conn, err = s.dial(); err != nil && (isTerminal(err) || ctx.Err() != nil) {
			cancel()
			return nil, err
		}
	}
	go s.run(conn, err)
	return s, nil
}

// Events returns the channel of events. It is closed when the stream
// ends.
func (s *Stream) Events() <-chan Event { return s.events }

// Position is the position to resume from: that of the last event handed
// to the reader, or later when the server moved it on (changes the user
// may not see). Save it to start the next Stream from it.
func (s *Stream) Position() int64 { return s.pos.Load() }

// Transport says how the stream is connected now: TransportWebSocket,
// TransportPoll, or "" while it reconnects.
func (s *Stream) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport
}

// Err returns why the stream ended once Events is closed: nil after
// Close, the context's error when ctx ended, or an *Error (unauthorized
// when the session ended).
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the stream and waits until Events is closed.
func (s *Stream) Close() {
	s.closing.Store(true)
	s.cancel()
	<-s.done
}

// Done is closed when the stream has ended.
func (s *Stream) Done() <-chan struct{} { return s.done }

func (s *Stream) setTransport(t string) {
	s.mu.Lock()
	s.transport = t
	s.mu.Unlock()
}

// run keeps the stream going until it must end. conn and dialErr are the
// outcome of the first connection attempt.
func (s *Stream) run(conn *websocket.Conn, dialErr error) {
	defer close(s.done)
	defer close(s.events)
	defer s.cancel()
	defer func() {
		if conn != nil { // the first connection, when the stream ended at once
			conn.CloseNow()
		}
	}()
	var failures, wsFailures int
	var pollUntil time.Time
	for s.ctx.Err() == nil {
		if s.opts.PollOnly || time.Now().Before(pollUntil) {
			s.setTransport(TransportPoll)
			if err := s.poll(s.opts.PollWait); err != nil {
				if s.stop(err) {
					return
				}
				failures++
				s.pause(failures)
				continue
			}
			failures = 0
			continue
		}
		err := dialErr
		dialErr = nil
		if conn == nil && err == nil {
			conn, err = s.dial()
		}
		healthy := false
		if conn != nil {
			s.setTransport(TransportWebSocket)
			healthy, err = s.read(conn)
			conn = nil
			s.setTransport("")
		}
		if s.stop(err) {
			return
		}
		if healthy {
			failures, wsFailures = 0, 0
			s.pause(1)
			continue
		}
		// The WebSocket failed. If plain HTTP works, count it against the
		// WebSocket (a proxy that drops upgrades, a server without one);
		// if not, the server is away and both wait.
		if perr := s.poll(0); perr == nil {
			failures = 0
			wsFailures++
			if s.opts.FallbackAfter > 0 && wsFailures >= s.opts.FallbackAfter {
				wsFailures = 0
				pollUntil = time.Now().Add(s.opts.RetryWebSocket)
				continue
			}
		} else if s.stop(perr) {
			return
		} else {
			failures++
		}
		s.pause(max(failures, 1))
	}
	s.stop(s.ctx.Err())
}

// stop records why the stream ends and reports whether it must: a
// terminal error or the end of the context.
func (s *Stream) stop(err error) bool {
	if err == nil {
		return false
	}
	if s.ctx.Err() != nil {
		err = s.parent.Err()
		if s.closing.Load() {
			err = nil
		}
	} else if !isTerminal(err) {
		return false
	}
	s.mu.Lock()
	s.err = err
	s.transport = ""
	s.mu.Unlock()
	return true
}

// pause waits before the n-th retry in a row, or until the stream ends.
func (s *Stream) pause(n int) {
	t := time.NewTimer(backoff(n-1, s.opts.MinBackoff, s.opts.MaxBackoff))
	defer t.Stop()
	select {
	case <-s.ctx.Done():
	case <-t.C:
	}
}

// hand gives an event to the reader. The position moves first, so that a
// reader who looks at Position after receiving sees it, and moves back if
// the stream ends before the reader took the event.
func (s *Stream) hand(e Event, pos int64) error {
	old := s.pos.Load()
	if pos != 0 {
		s.pos.Store(pos)
	}
	select {
	case s.events <- e:
		return nil
	default:
	}
	// The reader waits for the caller now, and no answer to a send frame
	// can pass it: the sends waiting for one go over HTTP (Send).
	s.releaseWaiting()
	select {
	case s.events <- e:
		return nil
	case <-s.ctx.Done():
		s.pos.Store(old)
		return s.ctx.Err()
	}
}

// deliver hands over a stored or ephemeral event unless it was delivered
// already (its position is not after the stream's).
func (s *Stream) deliver(e Event) error {
	if e.Pos == 0 {
		return s.hand(e, 0)
	}
	if e.Pos <= s.pos.Load() {
		return nil
	}
	return s.hand(e, e.Pos)
}

// limited tells the reader that the stream restarts at head.
func (s *Stream) limited(next int64) error {
	s.resync = false
	return s.hand(Event{Type: EventLimited, Next: next, CreatedAt: time.Now().UTC()}, next)
}

// since is the position the next connection asks from: SinceNow for a
// new device or after the server refused the position, so that the
// stream restarts at the head with an EventLimited.
func (s *Stream) since() int64 {
	if p := s.pos.Load(); !s.resync && p > 0 {
		return p
	}
	return SinceNow
}

// poll is one long-poll of sync; wait 0 answers at once.
func (s *Stream) poll(wait time.Duration) error {
	page, err := s.c.Sync(s.ctx, s.since(), wait)
	if err != nil {
		if e := AsError(err); e != nil && e.Code == CodeInvalid && e.Field == "since" {
			s.resync = true // ahead of the server (restored from a backup?)
		}
		return err
	}
	if page.Limited {
		return s.limited(page.Next)
	}
	for _, e := range page.Events {
		if err := s.deliver(e); err != nil {
			return err
		}
	}
	if page.Next > s.pos.Load() {
		s.pos.Store(page.Next) // past changes the user may not see
	}
	return nil
}

// dial opens the WebSocket from the stream's position.
func (s *Stream) dial() (*websocket.Conn, error) {
	u := s.c.root() + "/api/v1/stream"
	if since := s.since(); since > 0 {
		u += "?since=" + strconv.FormatInt(since, 10)
	} else {
		u += "?since=now"
	}
	h := http.Header{}
	s.c.authorize(h)
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: s.c.HTTP, HTTPHeader: h})
	if err != nil {
		if s.ctx.Err() != nil {
			return nil, s.ctx.Err()
		}
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols && resp.Body != nil {
			return nil, errorFrom(resp)
		}
		return nil, &transportError{fmt.Errorf("parley: stream: %w", err)}
	}
	conn.SetReadLimit(maxFrame)
	return conn, nil
}

// frame is what the server writes on the stream: an event, or a control
// frame (hello, position, pong, error).
type frame struct {
	Event
	Next    int64 `json:"next"`
	Limited bool  `json:"limited"`
}

// read delivers the frames of one connection until it ends. healthy says
// the server greeted it (hello), so that the connection worked.
func (s *Stream) read(conn *websocket.Conn) (healthy bool, err error) {
	defer conn.CloseNow()
	pctx, stop := context.WithCancel(s.ctx)
	defer stop()
	go s.ping(pctx, conn)
	for {
		_, b, err := conn.Read(s.ctx)
		if err != nil {
			if s.ctx.Err() != nil {
				return healthy, s.ctx.Err()
			}
			switch websocket.CloseStatus(err) {
			case closeSessionEnded:
				return healthy, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Title: "Unauthorized",
					Detail: "the session ended (logged out, revoked or password changed)"}
			case closeResync, websocket.StatusPolicyViolation:
				s.resync = true // too far behind, or ahead of the server
			}
			return healthy, &transportError{fmt.Errorf("parley: stream: %w", err)}
		}
		var f frame
		if json.Unmarshal(b, &f) != nil {
			continue
		}
		switch f.Type {
		case "hello":
			// hello.next is where the stream will be once the backlog
			// that follows has been sent, so it moves nothing unless the
			// position was dropped.
			if !healthy {
				s.attach(conn)
				defer s.detach()
			}
			healthy = true
			if f.Limited {
				err = s.limited(f.Next)
			}
			s.resync = false
		case "position":
			if f.Next > s.pos.Load() {
				s.pos.Store(f.Next)
			}
		case "sent", "error":
			s.answered(b)
		case "pong":
		default:
			err = s.deliver(f.Event)
		}
		if err != nil {
			return healthy, err
		}
	}
}

// Send sends a message like Client.Send, on the stream's WebSocket while
// it has one (no request per message; the answer comes once the message
// is stored), and over HTTP otherwise — also when the caller is behind
// on Events (an answer comes after the events before it) or the answer
// is late. An empty ClientID is filled with
// NewClientID, so that a send whose connection drops before the answer
// is sent again over HTTP and stored at most once. A refusal on the
// socket is asked again over HTTP, which stores nothing either, so that
// errors are Client.Send's: an *Error with the HTTP status, and the same
// retries after a 429.
func (s *Stream) Send(ctx context.Context, conversationID string, m SendRequest) (*Message, error) {
	if m.ClientID == "" {
		m.ClientID = NewClientID()
	}
	if msg := s.sendFrame(ctx, conversationID, m); msg != nil {
		return msg, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.c.Send(ctx, conversationID, m)
}

// sendFrame sends m as a send frame and returns the stored message, or
// nil when there is no WebSocket, it failed, or the server refused.
func (s *Stream) sendFrame(ctx context.Context, conversationID string, m SendRequest) *Message {
	// The answer comes on the socket behind the events before it, which
	// the reader hands to Events: a caller that reads Events and sends
	// from the same goroutine would wait for an answer its own reading
	// holds up. So a send goes over HTTP when the caller is behind on
	// Events, when the reader finds Events full while it waits (hand),
	// and when its answer does not come within frameAnswerWait.
	if len(s.events) > cap(s.events)/2 {
		return nil
	}
	s.mu.Lock()
	conn := s.conn
	if conn == nil {
		s.mu.Unlock()
		return nil
	}
	id := strconv.FormatUint(s.sendSeq.Add(1), 10)
	answer := make(chan []byte, 1)
	s.waiting[id] = answer
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiting, id)
		s.mu.Unlock()
	}()
	b, err := json.Marshal(struct {
		Type           string      `json:"type"`
		ID             string      `json:"id"`
		ConversationID string      `json:"conversation_id"`
		Message        SendRequest `json:"message"`
	}{"send", id, conversationID, m})
	if err != nil {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = conn.Write(wctx, websocket.MessageText, b)
	cancel()
	if err != nil {
		return nil
	}
	wait := time.NewTimer(frameAnswerWait)
	defer wait.Stop()
	select {
	case <-wait.C:
		return nil
	case b, ok := <-answer:
		var a struct {
			Type    string   `json:"type"`
			Message *Message `json:"message"`
		}
		if !ok || json.Unmarshal(b, &a) != nil || a.Type != "sent" || a.Message == nil {
			return nil
		}
		return a.Message
	case <-ctx.Done():
		return nil
	}
}

// frameAnswerWait is how long Send waits for the answer to a send frame
// before it sends over HTTP (with the same client_id: stored at most
// once). A commit takes milliseconds.
const frameAnswerWait = 5 * time.Second

// attach makes conn the socket Send uses.
func (s *Stream) attach(conn *websocket.Conn) {
	s.mu.Lock()
	s.conn, s.waiting = conn, map[string]chan []byte{}
	s.mu.Unlock()
}

// detach forgets the socket; the sends waiting on it go over HTTP.
func (s *Stream) detach() {
	s.mu.Lock()
	s.conn = nil
	s.mu.Unlock()
	s.releaseWaiting()
}

// releaseWaiting sends the sends waiting for an answer over HTTP.
func (s *Stream) releaseWaiting() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ch := range s.waiting {
		close(ch)
		delete(s.waiting, id)
	}
}

// answered hands the answer to a send frame to its Send.
func (s *Stream) answered(b []byte) {
	var a struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(b, &a) != nil || a.ID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.waiting[a.ID]; ok {
		ch <- b
		delete(s.waiting, a.ID)
	}
}

// ping checks that the connection is alive; a dead one is closed, which
// ends read.
func (s *Stream) ping(ctx context.Context, conn *websocket.Conn) {
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, s.opts.PingInterval/2)
		err := conn.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			conn.CloseNow()
			return
		}
	}
}
