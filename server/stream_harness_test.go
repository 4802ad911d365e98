package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// streamEvent is a frame received on the stream.
type streamEvent struct {
	Pos            int64           `json:"pos"`
	Type           string          `json:"type"`
	ConversationID string          `json:"conversation_id"`
	ActorID        string          `json:"actor_id"`
	Seq            int64           `json:"seq"`
	Next           int64           `json:"next"`
	Limited        bool            `json:"limited"`
	Code           string          `json:"code"`
	Message        json.RawMessage `json:"message"`
	Data           json.RawMessage `json:"data"`
	// raw is the frame as it came.
	raw []byte
}

// text returns the text of the event's message.
func (e streamEvent) text() string {
	var m struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(e.Message, &m)
	return m.Text
}

// streamClient is one device's WebSocket.
type streamClient struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan streamEvent
	// snapshots holds the presence snapshots, which every stream gets
	// soon after hello, apart from the other frames (TestPresence reads
	// them).
	snapshots chan streamEvent
	closed    chan websocket.StatusCode
	hello     streamEvent
}

// liveness bounds how long a test waits for something that must happen; it
// is a deadline for a hang, not a claim about speed.
const liveness = 20 * time.Second

// dial opens a stream as token from since (0: since=now, from the head on, after the
// hello) and reads the hello frame.
func (ts *testServer) dial(t *testing.T, token string, since int64) *streamClient {
	t.Helper()
	if since > 0 {
		return ts.dialQuery(t, token, "since="+strconv.FormatInt(since, 10))
	}
	return ts.dialQuery(t, token, "since=now")
}

// dialQuery opens a stream as token with this query string.
func (ts *testServer) dialQuery(t *testing.T, token, query string) *streamClient {
	t.Helper()
	u := "ws://" + ts.Addr() + "/api/v1/stream"
	if query != "" {
		u += "?" + query
	}
	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	conn.SetReadLimit(1 << 20)
	c := &streamClient{t: t, conn: conn, frames: make(chan streamEvent, 100000), snapshots: make(chan streamEvent, 100),
		closed: make(chan websocket.StatusCode, 1)}
	go func() {
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				c.closed <- websocket.CloseStatus(err)
				close(c.frames)
				return
			}
			var e streamEvent
			if err := json.Unmarshal(b, &e); err != nil {
				t.Errorf("bad frame %s: %v", b, err)
				continue
			}
			e.raw = b
			if e.Type == "presence.snapshot" {
				c.snapshots <- e
				continue
			}
			c.frames <- e
		}
	}()
	t.Cleanup(func() { conn.CloseNow() })
	c.hello = c.next()
	if c.hello.Type != "hello" {
		t.Fatalf("first frame is %+v, want hello", c.hello)
	}
	return c
}

// next returns the next frame, failing if none comes.
func (c *streamClient) next() streamEvent {
	c.t.Helper()
	select {
	case e, ok := <-c.frames:
		if !ok {
			c.t.Fatal("stream closed")
		}
		return e
	case <-time.After(liveness):
		c.t.Fatal("no frame arrived")
	}
	return streamEvent{}
}

// until collects frames until one satisfies done, and returns them all.
func (c *streamClient) until(done func(streamEvent) bool) []streamEvent {
	c.t.Helper()
	var got []streamEvent
	for {
		e := c.next()
		got = append(got, e)
		if done(e) {
			return got
		}
	}
}

// quiet asserts that no frame (other than position frames and those skip
// accepts) arrives for d.
func (c *streamClient) quiet(d time.Duration, skip func(streamEvent) bool) {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case e, ok := <-c.frames:
			if !ok {
				return
			}
			// A position frame carries no content: a device may always get one.
			if e.Type != "position" && (skip == nil || !skip(e)) {
				c.t.Errorf("unexpected frame %+v", e)
			}
		case <-deadline:
			return
		}
	}
}

// send writes a client frame.
func (c *streamClient) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

// waitClosed returns the close code the server sent.
func (c *streamClient) waitClosed() websocket.StatusCode {
	c.t.Helper()
	for {
		select {
		case _, ok := <-c.frames:
			if !ok {
				return <-c.closed
			}
		case <-time.After(liveness):
			c.t.Fatal("stream was not closed")
		}
	}
}

// messageTexts returns the texts of message.created events.
func messageTexts(evs []streamEvent) []string {
	var out []string
	for _, e := range evs {
		if e.Type == "message.created" {
			out = append(out, e.text())
		}
	}
	return out
}

// login opens another session (device) for a registered user.
func (ts *testServer) login(t *testing.T, handle, device string) string {
	t.Helper()
	r := must(t, ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": handle, "password": "correct horse battery", "device": device}), http.StatusCreated)
	return r.JSON()["token"].(string)
}

// isText reports whether an event is the message with this text.
func isText(s string) func(streamEvent) bool {
	return func(e streamEvent) bool { return e.Type == "message.created" && strings.TrimSpace(e.text()) == s }
}
