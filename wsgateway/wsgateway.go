// Package wsgateway serves the WebSocket event stream
// (GET /api/v1/stream): on connect it replays what the device missed after
// its position, then streams every new change live, each event carrying
// its position so the device can resume with since=<pos> after any
// disconnect. Client frames carry typing, delivered and read markers, and
// pings. Authentication happens before the upgrade, in httpapi.
package wsgateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
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
	// conversation list and history, then reconnect without since.
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
}

// Gateway serves streams.
type Gateway struct {
	app  *app.App
	hub  *realtime.Hub
	opts Options
	log  *slog.Logger
	wg   sync.WaitGroup
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
	return &Gateway{app: a, hub: hub, opts: opts, log: opts.Logger}
}

// Wait blocks until every stream has ended (after the hub closed them) or
// ctx ends.
func (g *Gateway) Wait(ctx context.Context) error {
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
	// Next is the position the stream continues from.
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
}

// Stream upgrades an authenticated request and serves the stream until the
// client goes, the session ends or the server shuts down.
func (g *Gateway) Stream(w http.ResponseWriter, r *http.Request, actor *app.Actor, since int64) error {
	if since < 0 {
		return parley.Invalid("since", "since is a position this server gave")
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: g.opts.OriginPatterns})
	if err != nil {
		return nil // Accept has answered the client already
	}
	g.wg.Add(1)
	defer g.wg.Done()
	conn.SetReadLimit(MaxFrame)
	// Register before the first sync so that no change between the two
	// goes unnoticed.
	dev := g.hub.Register(actor)
	defer g.hub.Unregister(dev)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	replies := make(chan reply, 16)
	go g.readLoop(ctx, cancel, conn, actor, replies)
	status, reason := g.writeLoop(ctx, conn, dev, actor, since, replies)
	g.close(conn, status, reason)
	return nil
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

// readLoop handles client frames until the connection fails.
func (g *Gateway) readLoop(ctx context.Context, cancel context.CancelFunc, conn *websocket.Conn, actor *app.Actor, replies chan<- reply) {
	defer cancel()
	for {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			g.send(replies, reply{Type: "error", Code: parley.EMalformed, Detail: "frames are JSON text"})
			continue
		}
		f, err := DecodeFrame(b)
		if err != nil {
			g.send(replies, reply{Type: "error", Code: parley.EMalformed, Detail: err.Error()})
			continue
		}
		switch f.Type {
		case "ping":
			g.send(replies, reply{Type: "pong", ID: f.ID})
			continue
		case "typing":
			err = g.app.Typing(ctx, actor, f.ConversationID, *f.Typing)
		case "delivered":
			_, err = g.app.Delivered(ctx, actor, f.ConversationID, f.Seq)
		case "read":
			_, err = g.app.MarkRead(ctx, actor, f.ConversationID, f.Seq)
		}
		if err != nil {
			g.send(replies, reply{Type: "error", ID: f.ID, Code: parley.ErrorCode(err), Detail: parley.ErrorMessage(err)})
		}
	}
}

// send queues a reply; replies beyond the queue are dropped rather than
// let a client that floods pings hold memory.
func (g *Gateway) send(replies chan<- reply, r reply) {
	select {
	case replies <- r:
	default:
	}
}

// writeLoop is the only writer of the connection.
func (g *Gateway) writeLoop(ctx context.Context, conn *websocket.Conn, dev *realtime.Device, actor *app.Actor,
	since int64, replies <-chan reply) (websocket.StatusCode, string) {
	pos := since
	first := true
	ping := time.NewTicker(g.opts.PingInterval)
	defer ping.Stop()
	syncNow := true
	for {
		if syncNow {
			syncNow = false
			page, err := g.app.Sync(ctx, actor, pos, 0)
			if err != nil {
				if ctx.Err() != nil {
					return websocket.StatusNormalClosure, ""
				}
				if parley.ErrorCode(err) == parley.EInvalid {
					return websocket.StatusPolicyViolation, parley.ErrorMessage(err)
				}
				g.log.Error("stream sync", "user", actor.User.ID, "err", err)
				return websocket.StatusInternalError, "internal error"
			}
			if first || page.Limited {
				if !first && page.Limited {
					return CloseResync, "too far behind: reload and reconnect without since"
				}
				first = false
				if err := g.write(ctx, conn, hello{Type: "hello", Next: page.Next, Limited: page.Limited}); err != nil {
					return g.writeFailed(ctx, err)
				}
			}
			for _, e := range page.Events {
				if err := g.write(ctx, conn, e); err != nil {
					return g.writeFailed(ctx, err)
				}
			}
			pos = page.Next
			if page.More {
				syncNow = true
				continue
			}
		}
		select {
		case <-dev.Wake():
			syncNow = true
		case e := <-dev.Pushed():
			if err := g.write(ctx, conn, e); err != nil {
				return g.writeFailed(ctx, err)
			}
		case r := <-replies:
			if err := g.write(ctx, conn, r); err != nil {
				return g.writeFailed(ctx, err)
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, g.opts.WriteTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return g.writeFailed(ctx, err)
			}
		case <-dev.Revoked():
			if dev.ShuttingDown() {
				return websocket.StatusGoingAway, "server shutting down: reconnect with since"
			}
			return CloseSessionEnded, "session ended"
		case <-ctx.Done():
			return websocket.StatusNormalClosure, ""
		}
	}
}

func (g *Gateway) write(ctx context.Context, conn *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, g.opts.WriteTimeout)
	defer cancel()
	return conn.Write(wctx, websocket.MessageText, b)
}

// writeFailed picks the close code after a failed write: the client went,
// or it stopped reading and is cut off.
func (g *Gateway) writeFailed(ctx context.Context, err error) (websocket.StatusCode, string) {
	if ctx.Err() != nil {
		return websocket.StatusNormalClosure, ""
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return CloseSlowConsumer, "too slow: reconnect with since"
	}
	return websocket.StatusNormalClosure, ""
}
