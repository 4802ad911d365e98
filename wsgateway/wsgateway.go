// Package wsgateway serves the WebSocket event stream
// (GET /api/v1/stream): on connect it replays what the device missed after
// its position, then streams every new change live, each event carrying
// its position so the device can resume with since=<pos> after any
// disconnect. Client frames carry typing, delivered and read markers,
// pings, and sends (send.go), answered once the message is stored. Authentication happens before the upgrade, in httpapi.
package wsgateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/realtime"
)

// Close codes the stream uses besides the standard ones (1001 going away
// on shutdown, 1008 for bad frames, 1009 for frames over MaxFrame).
const (
	// CloseSessionEnded: the session was logged out or revoked. Do not
	// reconnect with the same token.
	CloseSessionEnded websocket.StatusCode = 4001
	// CloseSlowConsumer: the device did not read fast enough. Reconnect
	// with since=<last position received>; nothing is lost.
	CloseSlowConsumer websocket.StatusCode = 4008
	// CloseResync: the device is too far behind to replay. Reload the
	// conversation list and history, then reconnect with since=now.
	CloseResync websocket.StatusCode = 4009
)

// Options configure a Gateway.
type Options struct {
	Logger *slog.Logger
	// OriginPatterns are the browser origins allowed besides the server's
	// own host (e.g. "app.example.com", "*.example.com").
	OriginPatterns []string
	// WriteTimeout is how long one write may wait for a slow client before
	// the stream is closed with CloseSlowConsumer (default 10 s).
	WriteTimeout time.Duration
	// PingInterval is how often the server pings to detect dead
	// connections (default 30 s).
	PingInterval time.Duration
	// Observer, when set, is told about streams and the events they
	// deliver (for metrics).
	Observer Observer
}

// Gateway serves streams.
type Gateway struct {
	app  *app.App
	hub  *realtime.Hub
	opts Options
	log  *slog.Logger
	wg   sync.WaitGroup
	poll *poller

	mu      sync.Mutex
	closing bool // Wait was called: no new streams
}

// New returns a Gateway.
func New(a *app.App, hub *realtime.Hub, opts Options) *Gateway {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 30 * time.Second
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	return &Gateway{app: a, hub: hub, opts: opts, log: opts.Logger, poll: newPoller(opts.Logger)}
}

// Wait blocks until every stream has ended (after the hub closed them) or
// ctx ends.
func (g *Gateway) Wait(ctx context.Context) error {
	g.mu.Lock()
	g.closing = true
	g.mu.Unlock()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hello is the first frame of a stream.
type hello struct {
	Type string `json:"type"`
	// Next is a position the device may resume from: for "hello", where
	// the stream starts (what follows comes after it); for "position",
	// how far the device has seen.
	Next int64 `json:"next"`
	// Limited means the device's position was too old (or absent): it
	// should reload conversations and history; the stream continues live.
	Limited bool `json:"limited,omitempty"`
}

type reply struct {
	Type   string `json:"type"`
	ID     string `json:"id,omitempty"`
	Code   string `json:"code,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Field names the offending field of an invalid send.
	Field string `json:"field,omitempty"`
	// RetryAfter is how many seconds to wait before sending again, with
	// rate_limited.
	RetryAfter int `json:"retry_after,omitempty"`
	// Kinds: what the sensitive-data guard found, with sensitive_data.
	Kinds []string `json:"kinds,omitempty"`
}

// Stream upgrades an authenticated request and serves the stream until the
// client goes, the session ends or the server shuts down.
//
// An idle stream holds no goroutine on Linux: the gateway's poller wakes
// a reader when the client sends something (see wire.go), and writing
// happens on a goroutine started when there is something to write (a
// change to sync, a typing event, a pong, a ping, a close) and ended when
// there is nothing left, so that a hundred thousand quiet devices do not
// hold a hundred thousand stacks. Elsewhere, and for connections that are
// not sockets, one goroutine per stream reads client frames.
func (g *Gateway) Stream(w http.ResponseWriter, r *http.Request, actor *app.Actor, since int64) error {
	if since < 0 && since != app.SinceHead {
		return parley.Invalid("since", "since is a position this server gave")
	}
	hj := &smallBuffers{ResponseWriter: w}
	ws, err := websocket.Accept(hj, r, &websocket.AcceptOptions{OriginPatterns: g.opts.OriginPatterns})
	if err != nil {
		return nil // Accept has answered the client already
	}
	if !g.enter() {
		ws.Close(websocket.StatusGoingAway, "server shutting down: reconnect with since")
		return nil
	}
	g.opts.Observer.StreamOpened()
	ws.SetReadLimit(MaxSendFrame)
	ctx, cancel := context.WithCancel(context.Background())
	st := &stream{g: g, ws: ws, wire: hj.wire, actor: actor, pos: since, ctx: ctx, cancel: cancel,
		first: true}
	st.ping = time.AfterFunc(g.opts.PingInterval, st.pingDue)
	// Register before the first sync so that no change between the two
	// goes unnoticed. Signals that arrive before dev is set are picked up
	// by the schedule below, which sends the hello and the backlog.
	dev := g.hub.RegisterStream(actor, st.schedule, st.offer)
	st.mu.Lock()
	st.dev = dev
	st.mu.Unlock()
	st.schedule()
	// Let the handler return: its stack, grown deep by authentication and
	// the upgrade, and the request go with it. An idle stream is then a
	// socket in the poller's set, or (without a poller) a small reading
	// goroutine.
	if g.poll.watch(st) {
		if st.wire.pending() { // the client wrote right after the upgrade
			go st.readWoken() // which arms the poller when done
		} else if err := g.poll.rearm(st); err != nil {
			st.end()
		}
		return nil
	}
	go func() {
		st.readLoop()
		st.end()
	}()
	return nil
}

// end tears the stream down once, after the client went or the writer
// closed the connection.
func (s *stream) end() {
	s.endOnce.Do(func() { go s.finish() })
}

func (s *stream) finish() {
	g := s.g
	defer g.wg.Done()
	s.cancel()
	s.waitLanes() // sends under way end (their context is gone) before the stream is counted out
	// Cut a write in progress (see writeFrame); the close below needs
	// no deadline.
	s.wire.SetWriteDeadline(time.Now())
	s.ping.Stop()
	g.hub.Unregister(s.dev)
	g.poll.unwatch(s)
	s.waitIdle()
	s.mu.Lock()
	code, tooBig := s.closedAs, s.tooBig
	s.mu.Unlock()
	if tooBig {
		s.linger()
	}
	s.ws.CloseNow()
	g.opts.Observer.StreamClosed(int(code))
}

// A client whose frame was over the read limit is most likely still
// sending it when the close frame (1009) goes out; closing the socket
// with its bytes unread would make the kernel reset the connection, and
// the reset can cost the client the close frame and its reason: it sees
// "connection reset" instead of "message too big". So the server ends
// its side of the connection and reads and drops what still comes, for
// lingerFor and lingerBytes at most, before it closes (the lingering
// close of HTTP servers).
const (
	lingerFor   = 2 * time.Second
	lingerBytes = 64 << 20
)

// linger drains the client's side of the connection (see lingerFor).
func (s *stream) linger() {
	c := s.wire.Conn
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite() // the close frame went before: the client reads it, then the end
	}
	c.SetReadDeadline(time.Now().Add(lingerFor))
	io.Copy(io.Discard, io.LimitReader(c, lingerBytes))
}

// enter counts a new stream unless the gateway is shutting down.
func (g *Gateway) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.wg.Add(1)
	return true
}

// smallBuffers hands coder/websocket small buffers (256 B to read, 1 KiB
// to write) instead of net/http's 4 KiB reader and writer, which would
// otherwise stay with every idle connection, and reads through a
// wireConn. Bytes the server already buffered are carried over.
type smallBuffers struct {
	http.ResponseWriter
	wire *wireConn
}

// Hijack implements http.Hijacker.
func (s *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w := &wireConn{Conn: c}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		w.prefix = bytes.Clone(b)
	}
	w.br = bufio.NewReaderSize(w, 256) // client frames are small; bigger ones take a few reads
	s.wire = w
	return w, bufio.NewReadWriter(w.br, bufio.NewWriterSize(w, 1024)), nil
}

// stream is one WebSocket connection.
type stream struct {
	g    *Gateway
	ws   *websocket.Conn
	wire *wireConn
	// pollID and raw are the stream's registration with the poller.
	pollID  uint64
	raw     syscall.RawConn
	armed   bool // in the poller's set (guarded by the poller)
	endOnce sync.Once
	dev     *realtime.Device
	actor   *app.Actor
	ctx     context.Context
	cancel  context.CancelFunc
	ping    *time.Timer

	mu      sync.Mutex
	writing bool // a writer goroutine is running
	again   bool // something arrived while it ran
	// idle, when not nil, is closed when the writer's turn ends. It is
	// made only for a waiter (waitIdle), not for every turn: a fan-out
	// takes a turn on each of 10,000 streams per message.
	idle    chan struct{}
	replies []reply // answers to client frames, bounded
	pingNow bool
	// pingFailed is why the last ping went unanswered: the writer closes
	// the stream.
	pingFailed error
	finished   bool // the stream was closed by the writer
	cutting    bool // a revoked stream's writes end after revokeGrace
	// closedAs is the code the writer closed with, for metrics.
	closedAs websocket.StatusCode
	// tooBig is set when the client sent a frame over the read limit.
	tooBig bool
	pos    int64
	first  bool
	// typing records, for the reader only, when this stream last announced
	// typing per conversation.
	typing map[string]time.Time

	// sends runs the client's send frames; made by the reader at the
	// first (send.go).
	sends *sends
	// answers holds the encoded answers to send frames, for the writer;
	// each frees a slot of sends once written.
	answers [][]byte
	// lanesRunning counts the sends' runners; lanesIdle, when not nil,
	// is closed when the last ends; ending stops new ones (finish).
	lanesRunning int
	lanesIdle    chan struct{}
	ending       bool
}

// typingInterval is how often one stream may announce "typing" in one
// conversation; a client repeating it faster is ignored, so that one
// socket cannot turn a big group into a flood of pushes.
const typingInterval = 2 * time.Second

// typingAllowed reports whether a typing frame should go out, and records
// it. "Stopped typing" always goes out once after "typing".
func (s *stream) typingAllowed(convID string, typing bool) bool {
	now := time.Now()
	if s.typing == nil {
		s.typing = map[string]time.Time{}
	}
	last, seen := s.typing[convID]
	if !typing {
		delete(s.typing, convID)
		return seen
	}
	if seen && now.Sub(last) < typingInterval {
		return false
	}
	if len(s.typing) >= 16 { // a client typing in many places at once
		return false
	}
	s.typing[convID] = now
	return true
}

// revokeGrace is how long a write already in progress may go on after the
// device was revoked (session ended, server shutting down) before it is
// cut. Cutting at once would drop the connection without its close frame
// whenever a revoke met a write, and the client could not tell "session
// ended" or "going away" from a network failure.
const revokeGrace = time.Second

// maxReplies bounds the answers waiting for one client; a client flooding
// pings loses pongs, not server memory.
const maxReplies = 16

// schedule makes sure a writer runs; it never blocks.
func (s *stream) schedule() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished || s.dev == nil {
		return
	}
	select {
	case <-s.dev.Revoked():
		// A write in progress normally ends in microseconds and the
		// writer then sends the close frame; one stuck on a slow client
		// is cut after a short grace, which closes the connection.
		if !s.cutting {
			s.cutting = true
			// Closing the socket ends a write stuck on a slow client.
			time.AfterFunc(revokeGrace, func() { s.ws.CloseNow() })
		}
	default:
	}
	if s.writing {
		s.again = true
		return
	}
	s.writing, s.again = true, false
	go s.writeLoop()
}

// waitIdle waits for the writer's turn, if one is under way, to end.
func (s *stream) waitIdle() {
	s.mu.Lock()
	if !s.writing {
		s.mu.Unlock()
		return
	}
	if s.idle == nil {
		s.idle = make(chan struct{})
	}
	idle := s.idle
	s.mu.Unlock()
	<-idle
}

// endTurnLocked ends the writer's turn; s.mu is held.
func (s *stream) endTurnLocked() {
	s.writing = false
	if s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
}

func (s *stream) pingDue() {
	if s.ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	s.pingNow = true
	s.mu.Unlock()
	s.schedule()
}

// pingClient pings the client and waits for the pong; a client that does
// not answer within the write timeout is cut off, as a slow one is.
func (s *stream) pingClient() {
	pctx, cancel := context.WithTimeout(s.ctx, s.g.opts.WriteTimeout)
	err := s.ws.Ping(pctx)
	cancel()
	if s.ctx.Err() != nil {
		return
	}
	if err != nil {
		s.mu.Lock()
		s.pingFailed = err
		s.mu.Unlock()
		s.schedule()
		return
	}
	s.ping.Reset(s.g.opts.PingInterval)
}

// reply queues an answer to a client frame.
func (s *stream) reply(r reply) {
	s.mu.Lock()
	if len(s.replies) < maxReplies {
		s.replies = append(s.replies, r)
	}
	s.mu.Unlock()
	s.schedule()
}

// readLoop handles client frames until the connection fails.
func (s *stream) readLoop() {
	for {
		typ, b, err := s.ws.Read(s.ctx)
		if err != nil {
			s.readFailed(err)
			return
		}
		s.handle(typ, b)
	}
}

// readFailed notes why the client's frames ended: a frame over the read
// limit, which coder/websocket answered with a close frame (1009), has
// finish let the client read it (linger).
func (s *stream) readFailed(err error) {
	if errors.Is(err, websocket.ErrMessageTooBig) {
		s.mu.Lock()
		s.tooBig = true
		if s.closedAs == 0 {
			s.closedAs = websocket.StatusMessageTooBig
		}
		s.mu.Unlock()
	}
}

// readWoken runs when the poller saw the client send something: it
// handles every frame that arrived, then re-arms the poller and ends. The
// wireConn ends the last read with a wakeFrame once the socket is empty.
func (s *stream) readWoken() {
	s.wire.wake.Store(1)
	for {
		woken := s.wire.woken.Load()
		// No deadline or cancellation here: a woken read waits only for
		// the rest of a frame that has begun, and finish closes the
		// socket under it. A cancellable context would cost each idle
		// stream an entry in its context's children, kept by the map.
		typ, b, err := s.ws.Read(context.Background())
		if err != nil {
			s.readFailed(err)
			s.end()
			return
		}
		if s.wire.woken.Load() != woken {
			break // the wakeFrame: nothing more to read
		}
		s.handle(typ, b)
	}
	if err := s.g.poll.rearm(s); err != nil {
		s.end()
	}
}

// handle answers one client frame.
func (s *stream) handle(typ websocket.MessageType, b []byte) {
	g, ctx := s.g, s.ctx
	if typ != websocket.MessageText {
		s.reply(reply{Type: "error", Code: parley.EMalformed, Detail: "frames are JSON text"})
		return
	}
	f, err := DecodeFrame(b)
	if err != nil {
		s.reply(reply{Type: "error", ID: FrameID(b), Code: parley.EMalformed, Detail: err.Error()})
		return
	}
	if f.Type != "ping" {
		// Nothing is accepted once the session ended or expired, even
		// before the writer has closed the stream.
		if s.dev.Ended() {
			s.reply(errorReply(f.ID, errSessionEnded))
			return
		}
		// Sends, typing and markers write: a read-only token may not.
		if err := s.actor.RequireScope(app.ScopeMessages); err != nil {
			s.reply(errorReply(f.ID, err))
			return
		}
	}
	switch f.Type {
	case "ping":
		s.reply(reply{Type: "pong", ID: f.ID})
		return
	case "send":
		s.takeSend(f) // answered when stored, while this reader goes on
		return
	case "typing":
		if !s.typingAllowed(f.ConversationID, *f.Typing) {
			return // a repeat within the interval says nothing new
		}
		err = g.app.Typing(ctx, s.actor, f.ConversationID, *f.Typing)
	case "delivered":
		_, err = g.app.Delivered(ctx, s.actor, f.ConversationID, f.Seq)
	case "read":
		_, err = g.app.MarkRead(ctx, s.actor, f.ConversationID, f.Seq)
	}
	if err != nil && ctx.Err() == nil {
		s.reply(errorReply(f.ID, err))
	}
}

// writeLoop writes everything due, then ends; schedule starts another when
// more arrives.
func (s *stream) writeLoop() {
	for {
		status, reason, stop := s.safeWriteDue()
		if stop {
			s.stopWriting(status, reason)
			return
		}
		if !s.doneWriting() {
			continue
		}
		return
	}
}

// doneWriting ends the writer's turn unless something arrived meanwhile;
// it reports whether the turn ended.
func (s *stream) doneWriting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.again {
		s.again = false
		return false
	}
	s.endTurnLocked()
	return true
}

// stopWriting closes the stream with status after the writer's turn
// ended in stop.
func (s *stream) stopWriting(status websocket.StatusCode, reason string) {
	s.mu.Lock()
	s.finished = true // no new writer from now on
	// 1000 means the client went: a close of the client's.
	if status != websocket.StatusNormalClosure {
		s.closedAs = status
	}
	s.mu.Unlock()
	s.g.close(s.ws, status, reason)
	s.cancel()
	s.end() // a polled stream has no reader to notice
	s.mu.Lock()
	s.endTurnLocked()
	s.mu.Unlock()
}

// offer is the stream's side of realtime.RegisterStream: it writes p on
// the caller's goroutine (the hub's fan-out, or the hub handing out a
// direct message's push) when the stream's writer
// would write it now, and reports whether p was taken (written, or old
// news). It takes the writer's turn the way schedule does, so the writer
// and offer never write at once, and gives p back (false, nothing
// written) when a writer runs, when anything else is due first (the
// hello, replies, a ping, earlier pushes, a wake, typing), when the
// device is revoked, and when the stream is not caught up to p.After
// (the queued push then makes the writer sync, as it would), or past its
// session's expiry (the writer then closes the stream).
//
// The write never waits for the client: the push's frame is written to
// the socket without the library and without waiting (wireConn.pushFrame,
// between two of the library's frames), and what the socket does not
// take at once is left to the writer, which sends it under the write
// timeout like any write: a slow client costs the hub nothing and is cut
// as before.
func (s *stream) offer(p *app.Push) bool {
	s.mu.Lock()
	dev := s.dev
	if dev == nil || s.finished || s.writing || s.first || s.cutting || len(s.replies) > 0 || len(s.answers) > 0 || s.pingNow || s.pingFailed != nil ||
		len(dev.Delivered()) > 0 || len(dev.Wake()) > 0 || len(dev.Pushed()) > 0 || s.ctx.Err() != nil || dev.Expired() {
		s.mu.Unlock()
		return false
	}
	select {
	case <-dev.Revoked():
		s.mu.Unlock()
		return false
	default:
	}
	s.writing, s.again = true, false
	s.mu.Unlock()

	took, backlog := true, false
	var err error
	switch {
	case p.Pos <= s.pos: // a sync already brought it
	case s.pos >= p.After:
		var sent bool
		sent, backlog, err = s.wire.pushFrame(p.Wire(textFrame))
		switch {
		case !sent:
			took = false
		case err == nil:
			s.pos = p.Pos
			s.g.opts.Observer.Delivered(false)
		}
	default:
		took = false
	}
	switch {
	case err != nil:
		status, reason, _ := s.writeFailed(err)
		go s.stopWriting(status, reason)
	case backlog || !s.doneWriting():
		// The writer takes over the turn: to send what the socket did
		// not take, or what arrived meanwhile.
		go s.writeLoop()
	}
	return took
}

// flushBacklog sends what an offer left unsent, under the write timeout.
func (s *stream) flushBacklog() error {
	if err := s.wire.SetWriteDeadline(time.Now().Add(s.g.opts.WriteTimeout)); err != nil {
		return err
	}
	if err := s.ctx.Err(); err != nil {
		return err
	}
	err := s.wire.flush()
	if err == nil {
		err = s.wire.SetWriteDeadline(time.Time{})
	}
	return err
}

// safeWriteDue is writeDue with a panic turned into a closed stream: a bug
// must cost one connection, not the process.
func (s *stream) safeWriteDue() (status websocket.StatusCode, reason string, stop bool) {
	defer func() {
		if p := recover(); p != nil {
			s.g.log.Error("stream writer panicked", "user", s.actor.User.ID, "panic", p, "stack", string(debug.Stack()))
			status, reason, stop = websocket.StatusInternalError, "internal error", true
		}
	}()
	return s.writeDue()
}

// revokedClose returns the close for a revoked device, or one whose
// session is past its expiry (its timer may not have fired yet), or stop
// false.
func (s *stream) revokedClose() (websocket.StatusCode, string, bool) {
	select {
	case <-s.dev.Revoked():
		if s.dev.ShuttingDown() {
			return websocket.StatusGoingAway, "server shutting down: reconnect with since", true
		}
		return CloseSessionEnded, "session ended", true
	default:
	}
	if s.dev.Expired() {
		return CloseSessionEnded, "session ended", true
	}
	return 0, "", false
}

// writeDue writes what is due; stop says the stream must close.
func (s *stream) writeDue() (websocket.StatusCode, string, bool) {
	g, ctx, dev := s.g, s.ctx, s.dev
	if status, reason, stop := s.revokedClose(); stop {
		return status, reason, stop
	}
	if ctx.Err() != nil {
		return websocket.StatusNormalClosure, "", true
	}
	if s.wire.backlogged() { // the rest of an offer's write goes first
		if err := s.flushBacklog(); err != nil {
			return s.writeFailed(err)
		}
	}
	if s.first { // the hello comes before anything else
		if status, reason, stop := s.syncAll(); stop {
			return status, reason, stop
		}
	}
	s.mu.Lock()
	replies, pingNow, pingFailed := s.replies, s.pingNow, s.pingFailed
	s.replies, s.pingNow = nil, false
	s.mu.Unlock()
	if pingFailed != nil {
		return s.writeFailed(pingFailed)
	}
	for _, r := range replies {
		if err := s.write(r); err != nil {
			return s.writeFailed(err)
		}
	}
	if err := s.writeAnswers(); err != nil {
		return s.writeFailed(err)
	}
	if pingNow {
		// The ping waits for the pong, which the stream's reader reads; a
		// reader waiting for a send's slot waits for this writer to write
		// that send's answer. So the ping waits on its own goroutine and
		// the writer goes on writing answers meanwhile.
		go s.pingClient()
	}
	for pushed := true; pushed; {
		select {
		case e := <-dev.Pushed():
			if err := s.write(e); err != nil {
				return s.writeFailed(err)
			}
			g.opts.Observer.Delivered(true)
		default:
			pushed = false
		}
	}
	// Changes pushed as they are (a large group's new message, hydrated
	// once on the hub): written only when the stream's position shows
	// that nothing before them is missing; otherwise the stream syncs,
	// which also brings them.
	needSync := false
	for pushed := true; pushed; {
		select {
		case p := <-dev.Delivered():
			switch {
			case p.Pos <= s.pos: // a sync already brought it
			case !needSync && s.pos >= p.After:
				if status, reason, stop := s.revokedClose(); stop {
					return status, reason, stop
				}
				if err := s.writeFrame(p.Frame); err != nil {
					return s.writeFailed(err)
				}
				s.pos = p.Pos
				g.opts.Observer.Delivered(false)
			default:
				needSync = true
			}
		default:
			pushed = false
		}
	}
	select {
	case <-dev.Wake():
		needSync = true
	default:
	}
	if needSync {
		return s.syncAll()
	}
	return 0, "", false
}

// syncAll writes every change after the stream's position, the hello first
// when the stream is new. A sync that moves the position without anything
// to show (changes the device may not see) is announced with a position
// frame, so that the device resumes from there and not from further back.
func (s *stream) syncAll() (websocket.StatusCode, string, bool) {
	g, ctx := s.g, s.ctx
	for {
		if status, reason, stop := s.revokedClose(); stop {
			return status, reason, stop
		}
		page, err := g.app.Sync(ctx, s.actor, s.pos, 0)
		if err != nil {
			if ctx.Err() != nil {
				return websocket.StatusNormalClosure, "", true
			}
			if parley.ErrorCode(err) == parley.EInvalid {
				return websocket.StatusPolicyViolation, parley.ErrorMessage(err), true
			}
			g.log.Error("stream sync", "user", s.actor.User.ID, "err", err)
			return websocket.StatusInternalError, "internal error", true
		}
		if !s.first && page.Limited {
			return CloseResync, "too far behind: reload and reconnect with since=now", true
		}
		if s.first {
			s.first = false
			// The hello names where the stream starts (the head when the
			// device must reload): a device that keeps it and drops
			// before reading the backlog resumes without a gap.
			start := s.pos
			if page.Limited {
				start = page.Next
			}
			if err := s.write(hello{Type: "hello", Next: start, Limited: page.Limited}); err != nil {
				return s.writeFailed(err)
			}
		}
		if len(page.Events) == 0 && page.Next > s.pos && !page.Limited {
			if err := s.write(hello{Type: "position", Next: page.Next}); err != nil {
				return s.writeFailed(err)
			}
		}
		for _, e := range page.Events {
			if status, reason, stop := s.revokedClose(); stop {
				return status, reason, stop
			}
			if err := s.write(e); err != nil {
				return s.writeFailed(err)
			}
			g.opts.Observer.Delivered(false)
		}
		s.pos = page.Next
		if !page.More {
			return 0, "", false
		}
	}
}

// write writes one frame, waiting at most the write timeout, and not at
// all once the device is revoked.
func (s *stream) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.writeFrame(b)
}

// writeFrame writes an encoded frame like write.
//
// The write timeout is the socket's write deadline rather than a context:
// a context with a deadline costs a timer, and coder/websocket arms a
// context.AfterFunc around every write made with a cancellable context —
// together ~3 µs per frame, which a new message of a 10,000-member group
// pays 10,000 times. The deadline also ends a write of the library's own
// (a pong) that holds the connection's write lock, so the wait for the
// lock is bounded the same way. finish cuts a write in progress by moving
// the deadline to now, after cancelling the stream's context, which is
// checked here after the deadline is set: one of the two always sees the
// other.
func (s *stream) writeFrame(b []byte) error {
	if err := s.wire.SetWriteDeadline(time.Now().Add(s.g.opts.WriteTimeout)); err != nil {
		return err
	}
	if err := s.ctx.Err(); err != nil {
		return err
	}
	err := s.ws.Write(context.Background(), websocket.MessageText, b)
	if err == nil {
		// A later write of the library's own (a pong, the close frame)
		// must not meet a stale deadline. After a failure the stream
		// closes, and a deadline already past makes that quick.
		err = s.wire.SetWriteDeadline(time.Time{})
	}
	return err
}

// writeFailed picks the close code after a failed write: the device was
// revoked, the client went, or it stopped reading and is cut off.
func (s *stream) writeFailed(err error) (websocket.StatusCode, string, bool) {
	if status, reason, stop := s.revokedClose(); stop {
		return status, reason, stop
	}
	if s.ctx.Err() != nil {
		return websocket.StatusNormalClosure, "", true
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return CloseSlowConsumer, "too slow: reconnect with since", true
	}
	return websocket.StatusNormalClosure, "", true
}

// close ends the connection with a code, not waiting long for a client
// that does not answer.
func (g *Gateway) close(conn *websocket.Conn, status websocket.StatusCode, reason string) {
	done := make(chan struct{})
	go func() {
		conn.Close(status, reason)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		conn.CloseNow()
	}
}
