package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// sentAnswer is the answer to a send frame: "sent" or "error".
type sentAnswer struct {
	Type       string   `json:"type"`
	ID         string   `json:"id"`
	Created    bool     `json:"created"`
	Code       string   `json:"code"`
	Field      string   `json:"field"`
	RetryAfter int      `json:"retry_after"`
	Kinds      []string `json:"kinds"`
	Message    struct {
		ID       string `json:"id"`
		Seq      int64  `json:"seq"`
		Text     string `json:"text"`
		ClientID string `json:"client_id"`
	} `json:"message"`
}

// answers reads frames until every id in ids has its answer (sent or
// error), and returns them by id.
func (c *streamClient) answers(ids ...string) map[string]sentAnswer {
	c.t.Helper()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	got := map[string]sentAnswer{}
	for len(got) < len(want) {
		e := c.next()
		if e.Type != "sent" && e.Type != "error" {
			continue
		}
		var a sentAnswer
		if err := json.Unmarshal(e.raw, &a); err != nil {
			c.t.Fatal(err)
		}
		if !want[a.ID] {
			c.t.Fatalf("answer to a frame not sent: %s", e.raw)
		}
		if _, dup := got[a.ID]; dup {
			c.t.Fatalf("two answers to %s", a.ID)
		}
		got[a.ID] = a
	}
	return got
}

func sendFrame(id, conv string, message any) map[string]any {
	return map[string]any{"type": "send", "id": id, "conversation_id": conv, "message": message}
}

// TestStreamSend: a device sends over its stream; the answer comes once
// the message is stored, a repeated client_id answers the original, and
// the other member hears it like any send.
func TestStreamSend(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	ad := ts.dial(t, alice.Token, 0)
	bd := ts.dial(t, bob.Token, 0)

	ad.send(sendFrame("s1", conv, map[string]any{"client_id": "c-1", "text": "over the socket"}))
	first := ad.answers("s1")["s1"]
	if first.Type != "sent" || !first.Created || first.Message.Text != "over the socket" || first.Message.ClientID != "c-1" || first.Message.Seq != 1 {
		t.Fatalf("answer %+v", first)
	}
	bd.until(isText("over the socket"))
	// Stored before the answer: history has it.
	hist := must(t, bob.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).JSON()["items"].([]any)
	if len(hist) != 1 || hist[0].(map[string]any)["id"] != first.Message.ID {
		t.Fatalf("history %v", hist)
	}

	// The same client_id again, over the socket and over HTTP: the original.
	ad.send(sendFrame("s2", conv, map[string]any{"client_id": "c-1", "text": "over the socket"}))
	if again := ad.answers("s2")["s2"]; again.Type != "sent" || again.Created || again.Message.ID != first.Message.ID {
		t.Fatalf("repeat answered %+v", again)
	}
	if r := must(t, alice.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "c-1", "text": "over the socket"}), http.StatusOK).JSON(); r["id"] != first.Message.ID {
		t.Fatalf("HTTP repeat gave %v", r)
	}
	if got := lastSeq(t, bob, conv); got != 1 {
		t.Fatalf("last_seq %v after repeats, want 1", got)
	}

	// Refusals are answered with the frame's id and the API's codes; the
	// stream stays open.
	carol := ts.register("carol", "person")
	ad.send(sendFrame("e1", conv, map[string]any{"text": ""}))
	ad.send(sendFrame("e2", conv, map[string]any{"text": strings.Repeat("x", 10001)}))
	ad.send(sendFrame("e3", carol.direct("bob"), map[string]any{"text": "not mine"}))
	ad.send(sendFrame("e4", "nope", map[string]any{"text": "nowhere"}))
	ad.send(sendFrame("e5", conv, map[string]any{"text": "the iban is GB82 WEST 1234 5698 7654 32"}))
	got := ad.answers("e1", "e2", "e3", "e4", "e5")
	for id, want := range map[string]string{"e1": "invalid", "e2": "too_large", "e3": "not_found", "e4": "not_found", "e5": "sensitive_data"} {
		if a := got[id]; a.Type != "error" || a.Code != want {
			t.Errorf("%s answered %+v, want error %s", id, a, want)
		}
	}
	if got["e2"].Field != "text" {
		t.Errorf("too long a text: field %q", got["e2"].Field)
	}
	if k := got["e5"].Kinds; len(k) != 1 || k[0] != "iban" {
		t.Errorf("an IBAN: kinds %q", k)
	}
	// A bad frame: no answer by id is possible without an id, so it is a
	// malformed frame, as before.
	ad.send(map[string]any{"type": "send", "conversation_id": conv, "message": map[string]any{"text": "no id"}})
	if e := ad.until(func(e streamEvent) bool { return e.Type == "error" }); e[len(e)-1].Code != "malformed_request" {
		t.Errorf("send without an id answered %+v", e[len(e)-1])
	}
	// A frame refused before it reached the app is answered with its id
	// when it has one: an unknown field, a key given twice (as HTTP
	// refuses), too deep.
	ad.send(sendFrame("m2", conv, map[string]any{"text": "x", "colour": "red"}))
	ad.sendRaw(`{"type":"send","id":"m3","conversation_id":"` + conv + `","message":{"text":"a","Text":"b"}}`)
	ad.sendRaw(`{"type":"send","id":"m4","conversation_id":"` + conv + `","message":{"text":"a","cards":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}`)
	for id, a := range ad.answers("m2", "m3", "m4") {
		if a.Type != "error" || a.Code != "malformed_request" {
			t.Errorf("%s answered %+v", id, a)
		}
	}
	ad.send(sendFrame("s3", conv, map[string]any{"text": "still open"}))
	if a := ad.answers("s3")["s3"]; a.Type != "sent" || a.Message.Seq != 2 {
		t.Fatalf("after refusals: %+v", a)
	}

	// A read-only token may follow the stream but not send on it.
	ro := must(t, alice.do("POST", "/api/v1/tokens", map[string]any{"name": "reader", "scopes": []string{"read"}}), http.StatusCreated).JSON()["token"].(string)
	rd := ts.dial(t, ro, 0)
	rd.send(sendFrame("r1", conv, map[string]any{"text": "read only"}))
	if a := rd.answers("r1")["r1"]; a.Type != "error" || a.Code != "insufficient_scope" {
		t.Fatalf("read-only send answered %+v", a)
	}
	if got := lastSeq(t, bob, conv); got != 2 {
		t.Fatalf("last_seq %v, want 2", got)
	}
}

// TestStreamSendPipelined: frames sent without waiting for answers are
// all answered, and one conversation's are stored in the order they were
// sent, while other conversations' go on beside them; more than the
// sends in flight only makes the client wait.
func TestStreamSendPipelined(t *testing.T) {
	ts := startServer(t)
	alice, _, c1 := friends(ts, "alice", "bob")
	carol := ts.register("carol", "person")
	dave := ts.register("dave", "person")
	for _, u := range []*user{carol, dave} {
		must(t, u.do("PUT", "/api/v1/users/alice/follow", nil), http.StatusNoContent)
		must(t, alice.do("PUT", "/api/v1/users/"+u.Handle+"/follow", nil), http.StatusNoContent)
	}
	convs := []string{c1, alice.direct("carol"), alice.direct("dave")}
	ad := ts.dial(t, alice.Token, 0)
	const perConv = 70 // 210 frames: more than the 64 in flight
	var ids []string
	for i := range perConv {
		for j, conv := range convs {
			id := fmt.Sprintf("f%d-%d", j, i)
			ids = append(ids, id)
			ad.send(sendFrame(id, conv, map[string]any{"client_id": id, "text": fmt.Sprintf("%d", i)}))
		}
	}
	got := ad.answers(ids...)
	for j := range convs {
		for i := range perConv {
			a := got[fmt.Sprintf("f%d-%d", j, i)]
			if a.Type != "sent" || a.Message.Seq != int64(i+1) || a.Message.Text != fmt.Sprint(i) {
				t.Fatalf("conversation %d, frame %d: %+v (want seq %d)", j, i, a, i+1)
			}
		}
	}
}

// TestStreamSendRateLimited: the per-conversation limit applies to the
// stream's sends as to HTTP's, with when to retry.
func TestStreamSendRateLimited(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.App.SendPerConversation, c.App.SendBurst = 0.001, 3 })
	alice, _, conv := friends(ts, "alice", "bob")
	ad := ts.dial(t, alice.Token, 0)
	var ids []string
	for i := range 5 {
		id := fmt.Sprint("s", i)
		ids = append(ids, id)
		ad.send(sendFrame(id, conv, map[string]any{"text": id}))
	}
	got := ad.answers(ids...)
	for i, id := range ids {
		a := got[id]
		switch {
		case i < 3 && (a.Type != "sent" || a.Message.Seq != int64(i+1)):
			t.Errorf("%s: %+v, want stored as seq %d", id, a, i+1)
		case i >= 3 && (a.Type != "error" || a.Code != "rate_limited" || a.RetryAfter < 1):
			t.Errorf("%s: %+v, want rate_limited with retry_after", id, a)
		}
	}
}

// TestStreamSendTooBig: a frame over the send limit closes the stream
// with 1009; a non-send frame over 4 KiB is refused and the stream stays.
func TestStreamSendTooBig(t *testing.T) {
	ts := startServer(t)
	alice, _, conv := friends(ts, "alice", "bob")
	ad := ts.dial(t, alice.Token, 0)
	ad.send(map[string]any{"type": "ping", "id": "p", "conversation_id": strings.Repeat("c", 5000)})
	if e := ad.until(func(e streamEvent) bool { return e.Type == "error" }); e[len(e)-1].Code != "malformed_request" {
		t.Fatalf("big ping answered %+v", e[len(e)-1])
	}
	// A frame of 4 MB: the server sends 1009 while most of it is still
	// on its way, and must let the client finish writing and read the
	// close frame (a socket closed with unread bytes is reset, and a reset
	// loses what the client had not read yet), and store nothing.
	b, _ := json.Marshal(sendFrame("s", conv, map[string]any{"text": strings.Repeat("é", 2000000)}))
	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	werr := ad.conn.Write(ctx, websocket.MessageText, b)
	cancel()
	if werr != nil {
		t.Fatalf("writing the frame: %v (the server reset the connection?)", werr)
	}
	if code := ad.waitClosed(); code != websocket.StatusMessageTooBig {
		t.Fatalf("closed with %d, want 1009", code)
	}
	if got := lastSeq(t, alice, conv); got != 0 {
		t.Fatalf("last_seq %v, want 0", got)
	}
}

// TestStreamSendWhilePinged: the server's pings wait for pongs that its
// reader reads, and a reader with every send slot taken waits for
// answers: sends pipelined past the slots while pings come due must all
// be answered, and the stream must stay open.
func TestStreamSendWhilePinged(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.StreamPingInterval = 5 * time.Millisecond
		// A reader that never gets to the pongs still fails the test (the
		// stream closes within liveness); a loaded machine with the race
		// detector took over 3 s to answer one now and then.
		c.StreamWriteTimeout = 10 * time.Second
	})
	alice, _, conv := friends(ts, "alice", "bob")
	ad := ts.dial(t, alice.Token, 0)
	var ids []string
	for round := range 3 {
		for i := range 150 {
			id := fmt.Sprintf("r%d-%d", round, i)
			ids = append(ids, id)
			ad.send(sendFrame(id, conv, map[string]any{"text": id}))
		}
		time.Sleep(20 * time.Millisecond) // pings come due
	}
	got := ad.answers(ids...)
	for _, id := range ids {
		if got[id].Type != "sent" {
			t.Fatalf("%s answered %+v", id, got[id])
		}
	}
	select {
	case code := <-ad.closed:
		t.Fatalf("stream closed with %d", code)
	default:
	}
}

// sendRaw writes a client frame as given.
func (c *streamClient) sendRaw(frame string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		c.t.Fatal(err)
	}
}
