package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/loadkit"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/coder/websocket"
)

// connSet is the streams held open.
type connSet struct {
	mu          sync.Mutex
	conns       []*websocket.Conn
	closing     atomic.Bool
	closedEarly atomic.Int64 // streams that ended before we closed them, for good
	resumed     atomic.Int64 // device streams that ended and reconnected
	limited     atomic.Int64 // of those, the ones the server could not replay
}

func (s *connSet) add(c *websocket.Conn) {
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
}

func (s *connSet) lost(ctx context.Context) {
	if ctx.Err() == nil && !s.closing.Load() {
		s.closedEarly.Add(1)
	}
}

func (s *connSet) closeAll() {
	s.closing.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.CloseNow()
	}
	s.conns = nil
}

// discard reads an idle stream until it ends, so that pings are
// answered. Its user is in no conversation: a message reaching it is a
// misdelivery (another user's message crossing over).
func discard(ctx context.Context, conn *websocket.Conn, set *connSet, tr *tracker) {
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			set.lost(ctx)
			return
		}
		if bytes.Contains(b, []byte(`"message.created"`)) {
			tr.strayed()
		}
	}
}

// strayed counts a message delivered to a stream that should get none.
func (t *tracker) strayed() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.misdelivered++
}

// tracker matches deliveries to sends.
type tracker struct {
	convs       []*loadConv
	devices     int
	runID       string
	prefix      string // of every message text of this run
	measureFrom time.Time

	mu           sync.Mutex
	msgs         []loadMsg
	left         int64 // expected deliveries not seen yet, of messages not failed
	nSent        int64
	nAcked       int64
	errors       map[string]int64
	expected     int64
	received     int64
	dups         int64
	misdelivered int64
	afterFail    int64
	ack          *hdrhistogram.Histogram // measured sends
	recv         *hdrhistogram.Histogram // measured deliveries
	window       *hdrhistogram.Histogram // deliveries in the last second, for progress
	firstAcked   time.Time
	measuredSent int64
	measuredAck  int64
	measuredFail int64
	measuredRecv int64

	// answers holds, for each send frame waiting (-via ws), where its
	// answer goes: "" when stored, else the error code.
	answers sync.Map // message number → chan string
}

func newTracker(convs []*loadConv, devices int, runID string) *tracker {
	return &tracker{
		convs: convs, devices: devices, runID: runID, prefix: "plt " + runID + " ",
		errors: map[string]int64{},
		ack:    hdrhistogram.New(1, histMaxMicros, histSignificant),
		recv:   hdrhistogram.New(1, histMaxMicros, histSignificant),
		window: hdrhistogram.New(1, histMaxMicros, histSignificant),
	}
}

// text is message n's text: the match token, padded to size bytes.
func (t *tracker) text(n, size int) string {
	s := t.prefix + strconv.Itoa(n)
	if len(s)+1 < size {
		s += " " + strings.Repeat("x", size-len(s)-1)
	}
	return s
}

// add records a send due at due into conversation ci and returns its number.
func (t *tracker) add(due time.Time, ci int) int {
	exp := len(t.convs[ci].members) * t.devices
	t.mu.Lock()
	defer t.mu.Unlock()
	warm := due.Before(t.measureFrom)
	t.msgs = append(t.msgs, loadMsg{due: due, conv: int32(ci), warm: warm, got: make([]uint64, (exp+63)/64), expect: int32(exp)})
	t.left += int64(exp)
	t.expected += int64(exp)
	t.nSent++
	if !warm {
		t.measuredSent++
	}
	return len(t.msgs) - 1
}

func micros(d time.Duration) int64 { return max(1, min(int64(d/time.Microsecond), histMaxMicros)) }

func (t *tracker) acked(n int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := &t.msgs[n]
	m.state = msgAcked
	t.nAcked++
	if !m.warm {
		t.measuredAck++
		_ = t.ack.RecordValue(micros(at.Sub(m.due)))
	}
}

func (t *tracker) failed(n int, code string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failedLocked(n, code)
}

func (t *tracker) failedLocked(n int, code string) {
	m := &t.msgs[n]
	m.state = msgFailed
	t.errors[code]++
	if !m.warm {
		t.measuredFail++
	}
	// Its deliveries are no longer expected.
	t.left -= int64(m.expect - m.seen)
	t.expected -= int64(m.expect)
	t.received -= int64(m.seen)
	t.afterFail += int64(m.seen)
}

// delivered records message n reaching device dev of user.
func (t *tracker) delivered(n int, convID string, user, dev int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n < 0 || n >= len(t.msgs) {
		t.misdelivered++
		return
	}
	m := &t.msgs[n]
	c := t.convs[m.conv]
	pos, ok := c.slot[user]
	if !ok || convID != c.id {
		t.misdelivered++
		return
	}
	slot := pos*t.devices + dev
	if m.got[slot/64]&(1<<(slot%64)) != 0 {
		t.dups++
		return
	}
	m.got[slot/64] |= 1 << (slot % 64)
	m.seen++
	if m.state == msgFailed {
		t.afterFail++
		return
	}
	t.left--
	t.received++
	lat := micros(at.Sub(m.due))
	_ = t.window.RecordValue(lat)
	if !m.warm {
		t.measuredRecv++
		_ = t.recv.RecordValue(lat)
	}
}

func (t *tracker) outstanding() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.left
}

type progressSnap struct {
	sent, acked, received, expected, errors int64
	p99                                     float64
}

// progress returns the counters and the p99 of the deliveries since the
// previous call.
func (t *tracker) progress() progressSnap {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs int64
	for _, n := range t.errors {
		errs += n
	}
	p := progressSnap{sent: t.nSent, acked: t.nAcked, received: t.received, expected: t.expected, errors: errs,
		p99: float64(t.window.ValueAtQuantile(99)) / 1000}
	t.window.Reset()
	return p
}

// sendFrame sends message n as a send frame on dc and waits for the
// answer; like loadClient.send it returns the error code of a refusal.
// A connection that ends first fails the send (stream_closed): its answer
// is gone with it.
func (t *tracker) sendFrame(ctx context.Context, dc *devConn, n int, convID, clientID, text string) (string, error) {
	frame, _ := json.Marshal(map[string]any{"type": "send", "id": strconv.Itoa(n), "conversation_id": convID,
		"message": map[string]string{"client_id": clientID, "text": text}})
	answer := make(chan string, 1)
	t.answers.Store(n, answer)
	defer t.answers.Delete(n)
	select {
	case <-dc.dead:
		return "stream_closed", errors.New("stream closed before the send")
	default:
	}
	if err := dc.conn.Write(ctx, websocket.MessageText, frame); err != nil {
		if ctx.Err() != nil {
			return "timeout", err
		}
		return "transport", err
	}
	select {
	case code := <-answer:
		if code != "" {
			return code, errors.New(code)
		}
		return "", nil
	case <-dc.dead:
		return "stream_closed", errors.New("stream closed before the answer")
	case <-ctx.Done():
		return "timeout", ctx.Err()
	}
}

// answered hands a send frame's answer to its sender.
func (t *tracker) answered(data []byte) {
	var a struct {
		Type    string `json:"type"`
		ID      string `json:"id"`
		Code    string `json:"code"`
		Created bool   `json:"created"`
	}
	if json.Unmarshal(data, &a) != nil {
		return
	}
	n, err := strconv.Atoi(a.ID)
	if err != nil {
		return // an error frame about something else
	}
	code := a.Code
	if a.Type == "sent" && !a.Created {
		code = "repeated_client_id"
	}
	if ch, ok := t.answers.Load(n); ok {
		select {
		case ch.(chan string) <- code:
		default: // a second answer to one frame: the sender has its first
		}
	}
}

// follow reads one device's stream until ctx ends. When the server ends
// it first (a slow reader is cut off under overload), it reconnects with
// since = the last position it handled, as a client must: what was
// committed meanwhile is replayed, so nothing counts as lost that a real
// device would get.
func (t *tracker) follow(ctx context.Context, wsBase, token string, dc *devConn, next int64, user, dev int, set *connSet, onConn func(*devConn)) {
	for {
		next = t.read(ctx, dc.conn, user, dev, next)
		close(dc.dead)
		if ctx.Err() != nil || set.closing.Load() {
			return
		}
		for attempt := 0; ; attempt++ {
			conn, hello, err := dialStream(ctx, wsBase+"?since="+strconv.FormatInt(next, 10), token)
			if err == nil {
				set.add(conn)
				set.resumed.Add(1)
				if hello.Limited {
					set.limited.Add(1)
					next = hello.Next
				}
				dc = &devConn{conn: conn, dead: make(chan struct{})}
				onConn(dc)
				break
			}
			if ctx.Err() != nil || set.closing.Load() {
				return
			}
			if attempt == 10 {
				set.lost(ctx)
				return
			}
			if loadkit.Sleep(ctx, min(50*time.Millisecond<<attempt, 2*time.Second)) != nil {
				return
			}
		}
	}
}

// read takes one device's frames until its connection ends and returns
// the position to resume from: the highest pos or next it saw (resuming
// from the last message's pos replays only what came after it).
func (t *tracker) read(ctx context.Context, conn *websocket.Conn, user, dev int, next int64) int64 {
	var f struct {
		Type           string `json:"type"`
		Pos            int64  `json:"pos"`
		Next           int64  `json:"next"`
		ConversationID string `json:"conversation_id"`
		Message        struct {
			Text string `json:"text"`
		} `json:"message"`
	}
	for {
		_, data, err := conn.Read(ctx)
		at := time.Now()
		if err != nil {
			return next
		}
		if bytes.HasPrefix(data, []byte(`{"type":"sent"`)) || bytes.HasPrefix(data, []byte(`{"type":"error"`)) {
			t.answered(data)
			continue
		}
		if bytes.HasPrefix(data, []byte(`{"type":"position"`)) {
			f.Next = 0
			if json.Unmarshal(data, &f) == nil && f.Next > next {
				next = f.Next
			}
			continue
		}
		if !bytes.Contains(data, []byte(`"message.created"`)) {
			continue // presence, system messages' companions and the like
		}
		f.Type, f.Pos, f.ConversationID, f.Message.Text = "", 0, "", ""
		if json.Unmarshal(data, &f) != nil || f.Type != "message.created" {
			continue
		}
		next = max(next, f.Pos)
		rest, ok := strings.CutPrefix(f.Message.Text, t.prefix)
		if !ok {
			continue // a system message, or not of this run
		}
		num, _, _ := strings.Cut(rest, " ")
		n, err := strconv.Atoi(num)
		if err != nil {
			n = -1
		}
		t.delivered(n, f.ConversationID, user, dev, at)
	}
}

// finish fills in res from the tracker.
func (t *tracker) finish(res *loadResult) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Sends that never got an answer count as failed.
	for n := range t.msgs {
		if t.msgs[n].state == msgPending {
			t.failedLocked(n, "no_answer")
		}
	}
	res.Sent, res.Acked, res.Failed = t.measuredSent, t.measuredAck, t.measuredFail
	res.Expected, res.Received = t.expected, t.received
	res.Lost = t.expected - t.received
	res.Duplicated, res.Misdelivered, res.DeliveredDespite = t.dups, t.misdelivered, t.afterFail
	for k, v := range t.errors {
		res.Errors[k] += v
	}
	res.Ack, res.Receive = summarize(t.ack), summarize(t.recv)
	if res.Duration > 0 {
		res.AckedPerSecond = float64(t.measuredAck) / res.Duration
		res.DeliveredPerSec = float64(t.measuredRecv) / res.Duration
	}
}
