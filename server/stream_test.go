package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// TestStreamDevices: three devices of alice and two of bob each get every
// event once, in order, with the same positions.
func TestStreamDevices(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	tokens := map[string][]string{
		"alice": {alice.Token, ts.login(t, "alice", "phone"), ts.login(t, "alice", "tablet")},
		"bob":   {bob.Token, ts.login(t, "bob", "phone")},
	}
	devices := map[string][]*streamClient{}
	for who, toks := range tokens {
		for _, tok := range toks {
			devices[who] = append(devices[who], ts.dial(t, tok, 0))
		}
	}
	// A mix of changes from both sides.
	m1 := alice.send(conv, "one")
	bob.send(conv, "two")
	must(t, bob.do("PUT", "/api/v1/conversations/"+conv+"/messages/"+m1["id"].(string)+"/reactions/👍", nil), http.StatusNoContent)
	must(t, alice.do("PATCH", "/api/v1/conversations/"+conv+"/messages/"+m1["id"].(string), map[string]string{"text": "one!"}), http.StatusOK)
	must(t, bob.do("POST", "/api/v1/conversations/"+conv+"/read", map[string]int{"seq": 2}), http.StatusOK)
	for i := 3; i <= 20; i++ {
		alice.send(conv, strconv.Itoa(i))
	}
	must(t, alice.do("PUT", "/api/v1/conversations/"+conv+"/pin", nil), http.StatusOK)
	alice.send(conv, "last")

	var reference map[string][]streamEvent = map[string][]streamEvent{}
	for who, devs := range devices {
		for i, d := range devs {
			evs := d.until(isText("last"))
			var pos []int64
			for _, e := range evs {
				if e.Pos <= 0 {
					continue // ephemeral (presence)
				}
				if len(pos) > 0 && e.Pos <= pos[len(pos)-1] {
					t.Fatalf("%s device %d: position %d after %d", who, i, e.Pos, pos[len(pos)-1])
				}
				pos = append(pos, e.Pos)
			}
			texts := messageTexts(evs)
			// Events carry the message as it is when the device syncs: a
			// device that syncs after the edit sees the new text at once.
			if len(texts) > 0 && texts[0] == "one!" {
				texts[0] = "one"
			}
			want := []string{"one", "two"}
			for j := 3; j <= 20; j++ {
				want = append(want, strconv.Itoa(j))
			}
			want = append(want, "last")
			if !slices.Equal(texts, want) {
				t.Fatalf("%s device %d got messages %v", who, i, texts)
			}
			var stored []streamEvent
			for _, e := range evs {
				if e.Pos > 0 {
					stored = append(stored, e)
				}
			}
			if ref, ok := reference[who]; !ok {
				reference[who] = stored
			} else if len(ref) != len(stored) {
				t.Fatalf("%s devices disagree: %d vs %d events", who, len(ref), len(stored))
			} else {
				for k := range ref {
					if ref[k].Pos != stored[k].Pos || ref[k].Type != stored[k].Type {
						t.Fatalf("%s devices disagree at %d: %+v vs %+v", who, k, ref[k], stored[k])
					}
				}
			}
			types := map[string]int{}
			for _, e := range stored {
				types[e.Type]++
			}
			if types["reaction.added"] != 1 || types["message.edited"] != 1 || types["read"] != 1 {
				t.Errorf("%s device %d event types %v", who, i, types)
			}
			// The pin is alice's own business.
			if (who == "alice") != (types["conversation.folder"] == 1) {
				t.Errorf("%s device %d: folder events %d", who, i, types["conversation.folder"])
			}
		}
	}
}

// TestStreamFromTheBeginning: a new device that gives no position — on
// the stream or the long-poll — is sent its user's history from the
// beginning, in order; since=now starts at the head with nothing
// replayed; a negative or malformed position is refused.
func TestStreamFromTheBeginning(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	for i := range 3 {
		alice.send(conv, fmt.Sprint("old ", i))
	}
	d := ts.dialQuery(t, bob.Token, "")
	if d.hello.Limited || d.hello.Next != 0 {
		t.Fatalf("hello without since: %+v, want a replay from 0", d.hello)
	}
	if got := messageTexts(d.until(isText("old 2"))); !slices.Equal(got, []string{"old 0", "old 1", "old 2"}) {
		t.Fatalf("replayed %q", got)
	}
	alice.send(conv, "live")
	d.until(isText("live"))

	var page struct {
		Events  []streamEvent `json:"events"`
		Next    int64         `json:"next"`
		More    bool          `json:"more"`
		Limited bool          `json:"limited"`
	}
	decodeInto(t, must(t, bob.do("GET", "/api/v1/sync", nil), http.StatusOK).Body, &page)
	if got := messageTexts(page.Events); page.Limited || !slices.Equal(got, []string{"old 0", "old 1", "old 2", "live"}) {
		t.Fatalf("a first long-poll: limited %v, %q", page.Limited, got)
	}
	head := page.Next
	decodeInto(t, must(t, bob.do("GET", "/api/v1/sync?since=now", nil), http.StatusOK).Body, &page)
	if !page.Limited || page.Next != head || len(page.Events) != 0 {
		t.Fatalf("since=now: %+v, want the head %d", page, head)
	}
	now := ts.dialQuery(t, bob.Token, "since=now")
	if !now.hello.Limited || now.hello.Next != head {
		t.Fatalf("stream since=now: hello %+v, want the head %d", now.hello, head)
	}
	alice.send(conv, "after now")
	if got := messageTexts(now.until(isText("after now"))); !slices.Equal(got, []string{"after now"}) {
		t.Fatalf("since=now replayed %q", got)
	}
	for _, q := range []string{"since=-1", "since=later", "since=1.5"} {
		wantProblem(t, bob.do("GET", "/api/v1/sync?"+q, nil), http.StatusUnprocessableEntity, "invalid")
	}
}

// TestStreamResume: a device that goes away while 1,000 messages arrive
// resumes from its last position and gets all of them once, in order.
func TestStreamResume(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	d := ts.dial(t, bob.Token, 0)
	alice.send(conv, "before")
	last := d.until(isText("before"))
	pos := last[len(last)-1].Pos
	d.conn.Close(websocket.StatusNormalClosure, "going offline")

	const n = 1000
	for i := 0; i < n; i++ {
		alice.send(conv, fmt.Sprint("m", i))
	}
	d2 := ts.dial(t, bob.Token, pos)
	if d2.hello.Limited {
		t.Fatal("resume was limited")
	}
	evs := d2.until(isText(fmt.Sprint("m", n-1)))
	texts := messageTexts(evs)
	if len(texts) != n {
		t.Fatalf("got %d messages on resume, want %d", len(texts), n)
	}
	for i, s := range texts {
		if s != fmt.Sprint("m", i) {
			t.Fatalf("message %d is %q", i, s)
		}
	}
	// Then it continues live.
	alice.send(conv, "live")
	d2.until(isText("live"))
}

// TestSyncAcrossRestart: positions survive a restart: no gap, no duplicate.
func TestSyncAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, func(c *Config) { c.DataDir = dir })
	alice, bob, conv := friends(ts, "alice", "bob")
	head := must(t, bob.do("GET", "/api/v1/sync?since=now", nil), http.StatusOK).JSON()
	if head["limited"] != true {
		t.Fatalf("first sync without since: %v", head)
	}
	since := int64(head["next"].(float64))
	alice.send(conv, "a1")
	alice.send(conv, "a2")
	page := syncPage(t, bob, since)
	if got := texts(page.Events); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("before restart: %v", got)
	}
	since = page.Next
	if err := ts.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}

	ts2 := startServer(t, func(c *Config) { c.DataDir = dir })
	alice.ts, bob.ts = ts2, ts2
	alice.send(conv, "b1")
	page = syncPage(t, bob, since)
	if got := texts(page.Events); !slices.Equal(got, []string{"b1"}) {
		t.Fatalf("after restart: %v (since %d)", got, since)
	}
	if page.Events[0].Pos <= since {
		t.Fatalf("position went back: %d after %d", page.Events[0].Pos, since)
	}
}

type syncResult struct {
	Events  []streamEvent `json:"events"`
	Next    int64         `json:"next"`
	More    bool          `json:"more"`
	Limited bool          `json:"limited"`
}

func syncPage(t *testing.T, u *user, since int64) syncResult {
	t.Helper()
	r := must(t, u.do("GET", "/api/v1/sync?since="+strconv.FormatInt(since, 10), nil), http.StatusOK)
	var p syncResult
	decodeInto(t, r.Body, &p)
	return p
}

func texts(evs []streamEvent) []string { return messageTexts(evs) }

// TestLongPoll: sync with a timeout answers as soon as something happens.
func TestLongPoll(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	since := int64(must(t, bob.do("GET", "/api/v1/sync?since=now", nil), http.StatusOK).JSON()["next"].(float64))
	done := make(chan syncResult, 1)
	go func() {
		r := bob.do("GET", fmt.Sprintf("/api/v1/sync?since=%d&timeout=30", since), nil)
		var p syncResult
		decodeInto(t, r.Body, &p)
		done <- p
	}()
	time.Sleep(100 * time.Millisecond) // let the poll start waiting
	alice.send(conv, "wake up")
	select {
	case p := <-done:
		if got := texts(p.Events); !slices.Equal(got, []string{"wake up"}) {
			t.Fatalf("long poll got %v", got)
		}
	case <-time.After(liveness):
		t.Fatal("long poll did not return")
	}
	// Nothing new: it returns an empty page when the timeout ends.
	head := int64(must(t, bob.do("GET", "/api/v1/sync?since=now", nil), http.StatusOK).JSON()["next"].(float64))
	var p syncResult
	decodeInto(t, must(t, bob.do("GET", fmt.Sprintf("/api/v1/sync?since=%d&timeout=1", head), nil), http.StatusOK).Body, &p)
	if len(p.Events) != 0 || p.Next != head {
		t.Errorf("idle long poll: %+v", p)
	}
	wantProblem(t, bob.do("GET", fmt.Sprintf("/api/v1/sync?since=%d", head+1000000), nil), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, bob.do("GET", "/api/v1/sync?timeout=61", nil), http.StatusUnprocessableEntity, "invalid")
}

// TestLongPollTypingAndDelivered: a client without WebSockets says it is
// typing and that messages reached it over HTTP, and hears typing through
// the long-poll (no position, next unmoved); a stranger may do neither.
func TestLongPollTypingAndDelivered(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	mallory := ts.register("mallory", "person")
	head := int64(must(t, bob.do("GET", "/api/v1/sync?since=now", nil), http.StatusOK).JSON()["next"].(float64))
	done := make(chan syncResult, 1)
	go func() {
		r := bob.do("GET", fmt.Sprintf("/api/v1/sync?since=%d&timeout=50", head), nil)
		var p syncResult
		decodeInto(t, r.Body, &p)
		done <- p
	}()
	ts.eventually(t, "bob's long-poll waiting", func(s scrape) bool { return s.value(t, "parley_sync_polls_in_flight") == 1 })
	typing := "/api/v1/conversations/" + conv + "/typing"
	if r := must(t, alice.do("POST", typing, map[string]any{"typing": true}), http.StatusNoContent); len(r.Body) != 0 {
		t.Fatalf("typing answered %s", r.Body)
	}
	select {
	case p := <-done:
		if len(p.Events) != 1 || p.Events[0].Type != "typing" || p.Events[0].ActorID != alice.ID ||
			p.Events[0].ConversationID != conv || p.Events[0].Pos != 0 || p.Next != head {
			t.Fatalf("long-poll after typing: %+v (head %d)", p, head)
		}
	case <-time.After(liveness):
		t.Fatal("the long-poll did not return with the typing")
	}

	alice.send(conv, "did it arrive?")
	delivered := "/api/v1/conversations/" + conv + "/delivered"
	if got := must(t, bob.do("POST", delivered, map[string]any{"seq": 1}), http.StatusOK).JSON()["delivered_seq"]; got != float64(1) {
		t.Fatalf("delivered_seq %v", got)
	}
	found := false
	for _, e := range syncPage(t, alice, head).Events {
		found = found || e.Type == "delivered" && e.ActorID == bob.ID && e.Seq == 1
	}
	if !found {
		t.Fatal("alice did not see bob's delivered marker")
	}

	wantProblem(t, alice.do("POST", typing, map[string]any{}), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, alice.do("POST", typing, map[string]any{"typing": "yes"}), http.StatusBadRequest, "malformed_request")
	wantProblem(t, mallory.do("POST", typing, map[string]any{"typing": true}), http.StatusNotFound, "not_found")
	wantProblem(t, mallory.do("POST", delivered, map[string]any{"seq": 1}), http.StatusNotFound, "not_found")
}

// TestStreamPrivacy: strangers see nothing; a removed member stops
// receiving; a pending requester gets no read receipt or typing.
func TestStreamPrivacy(t *testing.T) {
	ts := startServer(t)
	alice, _, conv := friends(ts, "alice", "bob")
	mallory := ts.register("mallory", "person")
	spy := ts.dial(t, mallory.Token, 0)

	// Group with carol, who is then removed.
	carol := ts.register("carol", "person")
	must(t, carol.do("PUT", "/api/v1/users/alice/follow", nil), http.StatusNoContent)
	g := must(t, alice.do("POST", "/api/v1/conversations", map[string]any{"kind": "group", "title": "g", "members": []string{"carol", "bob"}}), http.StatusCreated).JSON()
	group := g["id"].(string)
	cd := ts.dial(t, carol.Token, 0)
	alice.send(group, "hello group")
	cd.until(isText("hello group"))
	must(t, alice.do("DELETE", "/api/v1/conversations/"+group+"/members/carol", nil), http.StatusNoContent)
	cd.until(func(e streamEvent) bool { return e.Type == "member.removed" })
	alice.send(group, "after carol")
	alice.send(conv, "private to bob")

	// A request from dave to erin: erin reads and types; dave sees neither.
	dave, erin := ts.register("dave", "person"), ts.register("erin", "person")
	req := dave.direct("erin")
	dave.send(req, "hi erin")
	dd := ts.dial(t, dave.Token, 0)
	ed := ts.dial(t, erin.Token, 0)
	must(t, erin.do("POST", "/api/v1/conversations/"+req+"/read", map[string]int{"seq": 1}), http.StatusOK)
	ed.send(map[string]any{"type": "typing", "conversation_id": req, "typing": true, "id": "t1"})
	if e := ed.until(func(e streamEvent) bool { return e.Type == "error" || e.Type == "read" }); e[len(e)-1].Type == "read" {
		// erin's own devices see her private read marker; then the refusal.
		ed.until(func(e streamEvent) bool { return e.Type == "error" })
	}
	dave.send(req, "are you there?")
	// until hands back every frame up to the match: erin's read marker and
	// typing came before it, so they are looked for there, not only after.
	for _, e := range dd.until(isText("are you there?")) {
		if (e.Type == "read" || e.Type == "typing") && e.ConversationID == req {
			t.Errorf("the pending requester saw the recipient's %s: %s", e.Type, e.raw)
		}
	}

	// Give stray deliveries a moment to show up, then look.
	presence := func(e streamEvent) bool { return e.Type == "presence" }
	spy.quiet(300*time.Millisecond, presence)
	cd.quiet(300*time.Millisecond, presence)
	dd.quiet(300*time.Millisecond, presence)
}

// TestStreamClosesOnLogout: ending the session closes its stream with 4001;
// the user's other devices stay.
func TestStreamClosesOnLogout(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	phone := ts.login(t, "bob", "phone")
	pd := ts.dial(t, phone, 0)
	main := ts.dial(t, bob.Token, 0)
	must(t, ts.do(phone, "DELETE", "/api/v1/sessions/current", nil), http.StatusNoContent)
	if code := pd.waitClosed(); code != 4001 {
		t.Errorf("close code %d, want 4001", code)
	}
	alice.send(conv, "still here")
	main.until(isText("still here"))
	// A stream cannot be opened with the dead token.
	r := ts.do(phone, "GET", "/api/v1/stream", nil)
	wantProblem(t, r, http.StatusUnauthorized, "unauthorized")
}

// TestStreamTicket: a browser opens the stream with a single-use ticket.
func TestStreamTicket(t *testing.T) {
	ts := startServer(t)
	_, bob, _ := friends(ts, "alice", "bob")
	tk := must(t, bob.do("POST", "/api/v1/stream/tickets", map[string]any{}), http.StatusCreated).JSON()["ticket"].(string)
	ctx := t.Context()
	conn, _, err := websocket.Dial(ctx, "ws://"+ts.Addr()+"/api/v1/stream?ticket="+tk, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.CloseNow()
	if _, resp, err := websocket.Dial(ctx, "ws://"+ts.Addr()+"/api/v1/stream?ticket="+tk, nil); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a used ticket opened a stream: %v", err)
	}
	// A foreign origin is refused.
	tk = must(t, bob.do("POST", "/api/v1/stream/tickets", map[string]any{}), http.StatusCreated).JSON()["ticket"].(string)
	_, resp, err := websocket.Dial(ctx, "ws://"+ts.Addr()+"/api/v1/stream?ticket="+tk, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	if err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %v", err)
	}
}

// TestStreamShutdown: shutting down closes streams with "going away".
func TestStreamShutdown(t *testing.T) {
	ts := startServer(t)
	_, bob, _ := friends(ts, "alice", "bob")
	d := ts.dial(t, bob.Token, 0)
	go ts.Shutdown(context.Background()) // the harness waits for it at cleanup
	if code := d.waitClosed(); code != websocket.StatusGoingAway {
		t.Errorf("close code %d, want 1001", code)
	}
}

// TestStreamFrames: pings are answered, bad frames get an error frame.
func TestStreamFrames(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	d := ts.dial(t, bob.Token, 0)
	d.send(map[string]any{"type": "ping", "id": "p1"})
	if e := d.until(func(e streamEvent) bool { return e.Type == "pong" }); len(e) == 0 {
		t.Fatal("no pong")
	}
	d.send(map[string]any{"type": "shout"})
	if e := d.until(func(e streamEvent) bool { return e.Type == "error" }); e[len(e)-1].Code != "malformed_request" {
		t.Errorf("error frame %+v", e[len(e)-1])
	}
	// Typing reaches the other member, delivered markers are recorded.
	ad := ts.dial(t, alice.Token, 0)
	d.send(map[string]any{"type": "typing", "conversation_id": conv, "typing": true})
	ad.until(func(e streamEvent) bool { return e.Type == "typing" && e.ConversationID == conv })
	alice.send(conv, "x")
	d.until(isText("x"))
	d.send(map[string]any{"type": "delivered", "conversation_id": conv, "seq": 1})
	ad.until(func(e streamEvent) bool { return e.Type == "delivered" && e.Seq == 1 })
}

// TestPresence: peers of an active direct conversation see a user come
// online and go offline, unless the user hides their presence.
func TestPresence(t *testing.T) {
	ts := startServer(t)
	alice, bob, _ := friends(ts, "alice", "bob")
	bd := ts.dial(t, bob.Token, 0)
	isPresence := func(online bool) func(streamEvent) bool {
		return func(e streamEvent) bool {
			return e.Type == "presence" && e.ActorID == alice.ID && string(e.Data) == fmt.Sprintf(`{"online":%v}`, online)
		}
	}
	ad := ts.dial(t, alice.Token, 0)
	bd.until(isPresence(true))
	ad.conn.Close(websocket.StatusNormalClosure, "")
	bd.until(isPresence(false))

	// Hiding presence while online reads as going offline at once, and
	// showing it again as coming back.
	ad = ts.dial(t, alice.Token, 0)
	bd.until(isPresence(true))
	must(t, alice.do("PATCH", "/api/v1/me", map[string]any{"show_presence": false}), http.StatusOK)
	bd.until(isPresence(false))
	must(t, alice.do("PATCH", "/api/v1/me", map[string]any{"show_presence": true}), http.StatusOK)
	bd.until(isPresence(true))
	must(t, alice.do("PATCH", "/api/v1/me", map[string]any{"show_presence": false}), http.StatusOK)
	bd.until(isPresence(false))
	ad.conn.Close(websocket.StatusNormalClosure, "")

	ad = ts.dial(t, alice.Token, 0)
	bd.quiet(300*time.Millisecond, nil)
	// A new stream starts with who is online now: not alice, who hides.
	snapshot := func(d *streamClient) []string {
		t.Helper()
		var e streamEvent
		select {
		case e = <-d.snapshots:
		case <-time.After(liveness):
			t.Fatal("no presence snapshot")
		}
		var data struct {
			Online []string `json:"online"`
		}
		if err := json.Unmarshal(e.Data, &data); err != nil || data.Online == nil {
			t.Fatalf("snapshot %s: %v", e.Data, err)
		}
		return data.Online
	}
	if got := snapshot(ts.dial(t, ts.login(t, "bob", "phone"), 0)); len(got) != 0 {
		t.Fatalf("snapshot while alice hides: %v", got)
	}
	// A stranger never hears of alice.
	mallory := ts.register("mallory", "person")
	md := ts.dial(t, mallory.Token, 0)
	snapshot(md)
	must(t, alice.do("PATCH", "/api/v1/me", map[string]any{"show_presence": true}), http.StatusOK)
	bd.until(isPresence(true))
	ts.dial(t, ts.login(t, "alice", "laptop"), 0)
	md.quiet(300*time.Millisecond, nil)
	if got := snapshot(ts.dial(t, ts.login(t, "bob", "tablet"), 0)); !slices.Equal(got, []string{alice.ID}) {
		t.Fatalf("snapshot while alice is online: %v, want [%s]", got, alice.ID)
	}
	if got := snapshot(ts.dial(t, ts.login(t, "mallory", "phone"), 0)); len(got) != 0 {
		t.Fatalf("a stranger's snapshot: %v", got)
	}
	ad.conn.Close(websocket.StatusNormalClosure, "")
}

// TestPresenceLongPoll: a client without WebSockets is online while it
// long-polls: the first request brings it online, the next requests (one
// after another, as a client loops) keep it there without flapping, and
// it goes offline PollPresenceHold after its last one answered.
func TestPresenceLongPoll(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.PollPresenceHold = 300 * time.Millisecond })
	alice, bob, _ := friends(ts, "alice", "bob")
	bd := ts.dial(t, bob.Token, 0)
	isPresence := func(online bool) func(streamEvent) bool {
		return func(e streamEvent) bool {
			return e.Type == "presence" && e.ActorID == alice.ID && string(e.Data) == fmt.Sprintf(`{"online":%v}`, online)
		}
	}
	// The head, to wait from (since=now answers at once).
	var head struct {
		Next int64 `json:"next"`
	}
	decodeInto(t, must(t, alice.do("GET", "/api/v1/sync?since=now", nil), http.StatusOK).Body, &head)
	wait := fmt.Sprintf("/api/v1/sync?since=%d&timeout=1", head.Next)
	bd.quiet(500*time.Millisecond, nil) // a plain sync (no wait) brings no one online
	poll := func() {
		t.Helper()
		must(t, alice.do("GET", wait, nil), http.StatusOK)
	}
	statuses := make(chan int, 3)
	go func() {
		defer close(statuses)
		for range 3 { // about 3 s of polling, each request right after the last
			statuses <- alice.do("GET", wait, nil).Status
		}
	}()
	bd.until(isPresence(true))
	// Who is online, for a client that long-polls too: bob sees alice; a
	// stranger sees no one.
	online := func(u *user) []string {
		t.Helper()
		var p struct {
			Online []string `json:"online"`
		}
		decodeInto(t, must(t, u.do("GET", "/api/v1/presence", nil), http.StatusOK).Body, &p)
		return p.Online
	}
	if got := online(bob); !slices.Equal(got, []string{alice.ID}) {
		t.Errorf("bob's peers online while alice polls: %v, want [%s]", got, alice.ID)
	}
	if got := online(ts.register("mallory", "person")); got == nil || len(got) != 0 {
		t.Errorf("a stranger's peers online: %v, want []", got)
	}
	// Polling on: no offline in between (the next request comes well
	// within the hold), and no second online.
	bd.quiet(1500*time.Millisecond, nil)
	for code := range statuses {
		if code != http.StatusOK {
			t.Fatalf("long-poll: %d", code)
		}
	}
	bd.until(isPresence(false))
	poll()
	bd.until(isPresence(true))
	bd.until(isPresence(false))
}

// TestPresenceLongPollSignOut: a long-poll ended by signing out holds no
// presence: its user goes offline at once, not PollPresenceHold later.
func TestPresenceLongPollSignOut(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.PollPresenceHold = time.Hour })
	alice, bob, _ := friends(ts, "alice", "bob")
	bd := ts.dial(t, bob.Token, 0)
	var head struct {
		Next int64 `json:"next"`
	}
	decodeInto(t, must(t, alice.do("GET", "/api/v1/sync?since=now", nil), http.StatusOK).Body, &head)
	polled := make(chan int, 1)
	go func() {
		polled <- alice.do("GET", fmt.Sprintf("/api/v1/sync?since=%d&timeout=30", head.Next), nil).Status
	}()
	bd.until(func(e streamEvent) bool {
		return e.Type == "presence" && e.ActorID == alice.ID && string(e.Data) == `{"online":true}`
	})
	must(t, alice.do("DELETE", "/api/v1/sessions/current", nil), http.StatusNoContent)
	bd.until(func(e streamEvent) bool {
		return e.Type == "presence" && e.ActorID == alice.ID && string(e.Data) == `{"online":false}`
	})
	<-polled
}

// TestPresenceAfterAccept: a request's sender hears nothing of the
// recipient's presence while it is pending; once accepted, each learns at
// once that the other is online.
func TestPresenceAfterAccept(t *testing.T) {
	ts := startServer(t)
	alice := ts.register("alice", "person")
	carol := ts.register("carol", "person")
	online := func(who *user) func(streamEvent) bool {
		return func(e streamEvent) bool {
			return e.Type == "presence" && e.ActorID == who.ID && string(e.Data) == `{"online":true}`
		}
	}
	ad := ts.dial(t, alice.Token, 0)
	cd := ts.dial(t, carol.Token, 0)
	conv := carol.direct("alice")
	carol.send(conv, "hi, we have not met")
	cd.quiet(300*time.Millisecond, func(e streamEvent) bool { return e.Type != "presence" })
	must(t, alice.do("POST", "/api/v1/conversations/"+conv+"/accept", nil), http.StatusOK)
	cd.until(online(alice))
	ad.until(online(carol))
}

// TestStreamBlock: a block shows at once on every device of the blocker
// (a private conversation.updated), never on the blocked side; each side
// sees the other go offline, and nothing of the other's after that:
// neither typing nor presence. Unblocking shows on the blocker's devices
// too.
func TestStreamBlock(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	presence := func(who *user, online bool) func(streamEvent) bool {
		return func(e streamEvent) bool {
			return e.Type == "presence" && e.ActorID == who.ID && string(e.Data) == fmt.Sprintf(`{"online":%v}`, online)
		}
	}
	bd := ts.dial(t, bob.Token, 0)
	a1 := ts.dial(t, alice.Token, 0)
	bd.until(presence(alice, true))
	a2 := ts.dial(t, ts.login(t, "alice", "tablet"), 0)
	// bob comes online after alice: alice's devices see it.
	bd.conn.Close(websocket.StatusNormalClosure, "")
	a1.until(presence(bob, false))
	bd = ts.dial(t, bob.Token, 0)
	a1.until(presence(bob, true))
	a2.until(presence(bob, true))

	must(t, alice.do("PUT", "/api/v1/users/bob/block", nil), http.StatusNoContent)
	blocked := func(on bool) func(streamEvent) bool {
		return func(e streamEvent) bool {
			return e.Type == "conversation.updated" && e.ConversationID == conv && string(e.Data) == fmt.Sprintf(`{"blocked":%v}`, on)
		}
	}
	// The stored change and the ephemeral one come in either order.
	both := func(d *streamClient) {
		t.Helper()
		var sawBlock, sawOffline bool
		d.until(func(e streamEvent) bool {
			sawBlock = sawBlock || blocked(true)(e)
			sawOffline = sawOffline || presence(bob, false)(e)
			return sawBlock && sawOffline
		})
	}
	both(a1)
	both(a2)
	bd.until(presence(alice, false))
	// Nothing of the block, nor of alice, reaches bob after that.
	annStream := a1
	annStream.send(map[string]any{"type": "typing", "conversation_id": conv, "typing": true})
	wantProblem(t, bob.do("POST", "/api/v1/conversations/"+conv+"/typing", map[string]any{"typing": true}), http.StatusForbidden, "dm_not_allowed")
	bd.quiet(300*time.Millisecond, nil)

	must(t, alice.do("DELETE", "/api/v1/users/bob/block", nil), http.StatusNoContent)
	a2.until(blocked(false))
	bd.quiet(300*time.Millisecond, nil)

	// Someone who never saw alice's presence learns nothing of her
	// blocking them: a stranger, and the sender of a pending request.
	mallory := ts.register("mallory", "person")
	md := ts.dial(t, mallory.Token, 0)
	carol := ts.register("carol", "person")
	cd := ts.dial(t, carol.Token, 0)
	req := carol.direct("alice")
	carol.send(req, "a request")
	cd.until(isText("a request"))
	must(t, alice.do("PUT", "/api/v1/users/mallory/block", nil), http.StatusNoContent)
	must(t, alice.do("PUT", "/api/v1/users/carol/block", nil), http.StatusNoContent)
	md.quiet(300*time.Millisecond, nil)
	cd.quiet(300*time.Millisecond, nil)
}

// TestSyncSkipsPagesOfHiddenEvents: a page whose events the viewer may not
// see at all (reactions on a message before an invitee's view) moves the
// position on instead of failing — it once crashed the stream writer.
func TestSyncSkipsPagesOfHiddenEvents(t *testing.T) {
	ts := startServer(t)
	alice := ts.register("alice", "person")
	eve := ts.register("eve", "person")
	g := must(t, alice.do("POST", "/api/v1/conversations", map[string]any{"kind": "group", "title": "g", "members": []string{"eve"}}), http.StatusCreated).JSON()
	group := g["id"].(string)
	since := int64(must(t, eve.do("GET", "/api/v1/sync?since=now", nil), http.StatusOK).JSON()["next"].(float64))
	m := alice.send(group, "members only")
	path := "/api/v1/conversations/" + group + "/messages/" + m["id"].(string) + "/reactions/👍"
	for i := 0; i < 260; i++ {
		must(t, alice.do("PUT", path, nil), http.StatusNoContent)
		must(t, alice.do("DELETE", path, nil), http.StatusNoContent)
	}
	for pages := 0; ; pages++ {
		p := syncPage(t, eve, since)
		for _, e := range p.Events {
			if e.Type == "reaction.added" || e.Type == "reaction.removed" || e.Type == "message.created" && e.text() == "members only" {
				t.Fatalf("invitee sees %+v", e)
			}
		}
		if p.Next < since {
			t.Fatalf("position went back: %d after %d", p.Next, since)
		}
		since = p.Next
		if !p.More {
			break
		}
		if pages > 10 {
			t.Fatal("sync does not progress")
		}
	}
	// The stream replays the same backlog without falling over.
	d := ts.dial(t, eve.Token, max(1, since-600))
	alice.send(group, "still members only")
	d.quiet(300*time.Millisecond, func(e streamEvent) bool {
		// The invite itself is the invitee's to see; the group's traffic is not.
		hidden := strings.HasPrefix(e.Type, "reaction.") || strings.Contains(e.text(), "members only")
		return !hidden
	})
	if ts.Hub.Devices() != 1 {
		t.Fatalf("the stream died: %d devices", ts.Hub.Devices())
	}
}

// TestConcurrentSyncsStayApart: syncs that arrive together share one read
// transaction; each must still get exactly its own user's changes, and one
// call's bad position must not fail the calls batched with it.
func TestConcurrentSyncsStayApart(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	type pair struct {
		actors [2]*app.Actor
		text   string
	}
	var pairs []pair
	var senders []*user
	var convs []string
	for i := range 12 {
		a, b, conv := friends(ts, fmt.Sprintf("u%da", i), fmt.Sprintf("u%db", i))
		p := pair{text: fmt.Sprintf("only for pair %d", i)}
		for j, u := range []*user{a, b} {
			var err error
			if p.actors[j], err = ts.App.Authenticate(ctx, u.Token); err != nil {
				t.Fatal(err)
			}
		}
		pairs, senders, convs = append(pairs, p), append(senders, a), append(convs, conv)
	}
	start, err := ts.App.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pairs {
		senders[i].send(convs[i], p.text)
	}
	head, err := ts.App.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1000)
	var wg sync.WaitGroup
	for round := range 20 {
		for i, p := range pairs {
			for _, actor := range p.actors {
				wg.Go(func() {
					page, err := ts.App.Sync(ctx, actor, start, 0)
					if err != nil {
						errs <- fmt.Errorf("round %d pair %d: %v", round, i, err)
						return
					}
					var got []string
					for _, e := range page.Events {
						if e.Message != nil && e.Message.Kind == "text" {
							got = append(got, e.Message.Text)
						}
					}
					if !slices.Equal(got, []string{p.text}) || page.Next != head {
						b, _ := json.Marshal(page)
						errs <- fmt.Errorf("round %d pair %d: texts %q next %d, want [%q] next %d: %s", round, i, got, page.Next, p.text, head, b)
					}
				})
			}
			wg.Go(func() { // a position from the future, batched with the rest
				if _, err := ts.App.Sync(ctx, p.actors[0], head+1000, 0); parley.ErrorCode(err) != parley.EInvalid {
					errs <- fmt.Errorf("sync from the future: %v, want invalid", err)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
