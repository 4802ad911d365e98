package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/mediatest"
)

// Business inbox tests, end to end over HTTP and the real stream: who may
// use a business's inbox, what its customers may never see (notes, who the
// agent is), how changes reach the team live (tagged with the business in
// "as"), what removal does to an open stream, and the reply rules
// (only-assignee, saved replies with variables, idempotent sends).

// --- accounts and worlds ---------------------------------------------------

// regNamed registers an account with a display name of the test's choosing
// (agent_name and saved-reply variables use first names).
func regNamed(ts *testServer, handle, kind, name string) *user {
	ts.t.Helper()
	r := ts.do("", "POST", "/api/v1/accounts", map[string]string{"handle": handle, "password": "correct horse battery", "kind": kind, "display_name": name})
	if r.Status != http.StatusCreated {
		ts.t.Fatalf("register %s: %d %s", handle, r.Status, r.Body)
	}
	m := r.JSON()
	return &user{ts: ts, Handle: handle, ID: m["user"].(map[string]any)["id"].(string), Token: m["token"].(string)}
}

// bz is the path of a business route.
func bz(biz *user, suffix string) string {
	return "/api/v1/business/" + url.PathEscape(biz.Handle) + suffix
}

// addAgent puts u on biz's team with a role, as the business account.
func addAgent(t *testing.T, biz, u *user, role string) {
	t.Helper()
	v := must(t, biz.do("PUT", bz(biz, "/agents/"+u.Handle), map[string]any{"role": role}), http.StatusOK).JSON()
	if v["role"] != role {
		t.Fatalf("added %s as %v, want %s", u.Handle, v["role"], role)
	}
}

// bizWorld is one business with a team and a customer conversation.
type bizWorld struct {
	ts                    *testServer
	biz                   *user // the business account itself (acts as admin)
	admin, agent1, agent2 *user // admin, agent, agent
	customer              *user
	conv                  string
}

// newBizWorld registers p_biz (display name bizName), p_admin (admin),
// p_ag1 "Ada Lovelace" and p_ag2 "Bea Baker" (agents) and p_cust "Carla
// Customer", who opens a conversation with the business and writes first.
func newBizWorld(t *testing.T, ts *testServer, p, bizName string) *bizWorld {
	t.Helper()
	w := &bizWorld{ts: ts}
	w.biz = regNamed(ts, p+"_biz", "business", bizName)
	w.admin = regNamed(ts, p+"_admin", "person", "Alma Admin")
	w.agent1 = regNamed(ts, p+"_ag1", "person", "Ada Lovelace")
	w.agent2 = regNamed(ts, p+"_ag2", "person", "Bea Baker")
	w.customer = regNamed(ts, p+"_cust", "person", "Carla Customer")
	addAgent(t, w.biz, w.admin, "admin")
	addAgent(t, w.biz, w.agent1, "agent")
	addAgent(t, w.biz, w.agent2, "agent")
	w.conv = w.customer.direct(w.biz.Handle)
	w.customer.send(w.conv, "Hello, I need help with my order")
	return w
}

// bizReply sends a reply as the business through the inbox route.
func bizReply(t *testing.T, biz, agent *user, conv string, body map[string]any, status int) map[string]any {
	t.Helper()
	return must(t, agent.do("POST", bz(biz, "/conversations/"+conv+"/messages"), body), status).JSON()
}

func putSettings(t *testing.T, biz *user, s map[string]any) {
	t.Helper()
	must(t, biz.do("PUT", bz(biz, "/settings"), s), http.StatusOK)
}

func assign(t *testing.T, biz, by *user, conv, handle string) {
	t.Helper()
	must(t, by.do("PATCH", bz(biz, "/conversations/"+conv), map[string]any{"assignee": handle}), http.StatusOK)
}

func marker(prefix string) string { return prefix + "-" + rand.Text() }

// --- events from sync and the stream ----------------------------------------

// bizEvent is one change as a device receives it, with its raw bytes.
type bizEvent struct {
	Raw            []byte          `json:"-"`
	Type           string          `json:"type"`
	Pos            int64           `json:"pos"`
	Next           int64           `json:"next"`
	ConversationID string          `json:"conversation_id"`
	ActorID        string          `json:"actor_id"`
	As             string          `json:"as"`
	Message        json.RawMessage `json:"message"`
	Data           json.RawMessage `json:"data"`
}

func decodeBizEvent(t *testing.T, b []byte) bizEvent {
	var e bizEvent
	if err := json.Unmarshal(b, &e); err != nil {
		t.Errorf("bad event %s: %v", b, err)
	}
	e.Raw = b
	return e
}

// msg returns the event's message as a map (nil without one).
func (e bizEvent) msg() map[string]any {
	if len(e.Message) == 0 || string(e.Message) == "null" {
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal(e.Message, &m)
	return m
}

func (e bizEvent) data() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(e.Data, &m)
	return m
}

func (e bizEvent) text() string {
	if m := e.msg(); m != nil {
		s, _ := m["text"].(string)
		return s
	}
	return ""
}

func (e bizEvent) String() string { return string(e.Raw) }

// senderID returns the id of the event's message's sender.
func senderID(m map[string]any) string {
	s, _ := m["sender"].(map[string]any)
	id, _ := s["id"].(string)
	return id
}

// isMessage matches the creation of the message with this text in conv.
func isMessage(conv, text string) func(bizEvent) bool {
	return func(e bizEvent) bool {
		return e.Type == "message.created" && e.ConversationID == conv && e.text() == text
	}
}

// syncHead returns the current position for u (a first sync is limited).
func syncHead(t *testing.T, u *user) int64 {
	t.Helper()
	var p struct {
		Next    int64 `json:"next"`
		Limited bool  `json:"limited"`
	}
	decodeInto(t, must(t, u.do("GET", "/api/v1/sync?since=now", nil), http.StatusOK).Body, &p)
	if !p.Limited || p.Next <= 0 {
		t.Fatalf("first sync of %s: %+v", u.Handle, p)
	}
	return p.Next
}

// syncAll reads every page of u's changes after since and returns the
// events and every byte the server sent.
func syncAll(t *testing.T, u *user, since int64) ([]bizEvent, []byte) {
	t.Helper()
	var evs []bizEvent
	var raw []byte
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatalf("sync of %s does not end", u.Handle)
		}
		r := must(t, u.do("GET", fmt.Sprintf("/api/v1/sync?since=%d", since), nil), http.StatusOK)
		raw = append(raw, r.Body...)
		var p struct {
			Events  []json.RawMessage `json:"events"`
			Next    int64             `json:"next"`
			More    bool              `json:"more"`
			Limited bool              `json:"limited"`
		}
		decodeInto(t, r.Body, &p)
		if p.Limited {
			t.Fatalf("sync of %s from %d was limited", u.Handle, since)
		}
		for _, b := range p.Events {
			evs = append(evs, decodeBizEvent(t, b))
		}
		since = p.Next
		if !p.More {
			return evs, raw
		}
	}
}

// bizStream is one device's WebSocket, keeping every byte it received.
type bizStream struct {
	t      *testing.T
	who    string
	conn   *websocket.Conn
	frames chan bizEvent

	mu  sync.Mutex
	raw [][]byte
}

// dialBiz opens a stream as u from now on and reads its hello.
func dialBiz(t *testing.T, ts *testServer, u *user) *bizStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws://"+ts.Addr()+"/api/v1/stream?since=now",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + u.Token}}})
	if err != nil {
		t.Fatalf("dial as %s: %v (%v)", u.Handle, err, resp)
	}
	conn.SetReadLimit(1 << 20)
	s := &bizStream{t: t, who: u.Handle, conn: conn, frames: make(chan bizEvent, 10000)}
	go func() {
		defer close(s.frames)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			s.mu.Lock()
			s.raw = append(s.raw, b)
			s.mu.Unlock()
			s.frames <- decodeBizEvent(t, b)
		}
	}()
	t.Cleanup(func() { conn.CloseNow() })
	if h := s.next("the hello"); h.Type != "hello" {
		t.Fatalf("%s: first frame is %s, want hello", u.Handle, h)
	}
	return s
}

func (s *bizStream) next(what string) bizEvent {
	s.t.Helper()
	select {
	case e, ok := <-s.frames:
		if !ok {
			s.t.Fatalf("%s: stream closed while waiting for %s", s.who, what)
		}
		return e
	case <-time.After(liveness):
		s.t.Fatalf("%s: %s never arrived", s.who, what)
	}
	return bizEvent{}
}

// until reads frames until one matches done and returns them all; every
// frame before it is also checked against bad.
func (s *bizStream) until(what string, done func(bizEvent) bool, bad func(bizEvent) bool) []bizEvent {
	s.t.Helper()
	var got []bizEvent
	for {
		e := s.next(what)
		got = append(got, e)
		if bad != nil && bad(e) {
			s.t.Errorf("%s: got %s while waiting for %s", s.who, e, what)
		}
		if done(e) {
			return got
		}
	}
}

// quiet gives the stream a window to deliver anything still on its way
// and fails on any frame bad matches.
func (s *bizStream) quiet(window time.Duration, bad func(bizEvent) bool) {
	s.t.Helper()
	deadline := time.After(window)
	for {
		select {
		case e, ok := <-s.frames:
			if !ok {
				return
			}
			if bad(e) {
				s.t.Errorf("%s: unexpected frame %s", s.who, e)
			}
		case <-deadline:
			return
		}
	}
}

// bytes returns every byte the stream received so far.
func (s *bizStream) bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Join(s.raw, []byte("\n"))
}

// fairWindow is how long a stream gets, after a fence proved it synced past
// a change, for anything else still on its way. It is a wait, not a claim
// about speed: nothing is asserted about how long delivery takes.
const fairWindow = 500 * time.Millisecond

// --- the route table ---------------------------------------------------------

// bizRoute is one concrete call of a route of httpapi/business.go.
type bizRoute struct {
	pattern string // method and path after /api/v1/business/{business}, as registered
	method  string
	path    string
	body    any
	byID    bool // the path names an object of the business (not only a handle)
}

func (r bizRoute) String() string { return r.method + " " + r.path }

// bizIDs are the objects the routes name.
type bizIDs struct {
	conv, mid, team, reply, contact, contact2 string
	handles                                   []string // for the member routes
}

// bizRoutes builds a call of every business route; destructive calls come
// last, so that a wrongful success shows up as a change rather than
// spoiling the calls after it.
func bizRoutes(biz string, ids bizIDs) []bizRoute {
	base := "/api/v1/business/" + url.PathEscape(biz)
	var rs []bizRoute
	add := func(method, pattern, path string, body any, byID bool) {
		rs = append(rs, bizRoute{pattern: method + " " + pattern, method: method, path: base + path, body: body, byID: byID})
	}
	c := "/conversations/" + url.PathEscape(ids.conv)
	m := c + "/messages/" + url.PathEscape(ids.mid)
	team := "/teams/" + url.PathEscape(ids.team)
	reply := "/saved-replies/" + url.PathEscape(ids.reply)
	contact := "/contacts/" + url.PathEscape(ids.contact)
	thumbs := "/reactions/" + url.PathEscape("👍")

	add("GET", "/agents", "/agents", nil, false)
	for _, h := range ids.handles {
		add("PUT", "/agents/{handle}", "/agents/"+h, map[string]any{"role": "admin"}, false)
		add("PUT", "/agents/{handle}", "/agents/"+h, map[string]any{"away": true, "max_open": 1}, false)
	}
	add("GET", "/teams", "/teams", nil, false)
	add("POST", "/teams", "/teams", map[string]any{"name": "Intruders"}, false)
	add("PATCH", "/teams/{team}", team, map[string]any{"name": "Renamed by intruder", "assign": "round_robin"}, true)
	for _, h := range ids.handles {
		add("PUT", "/teams/{team}/members/{handle}", team+"/members/"+h, nil, true)
		add("DELETE", "/teams/{team}/members/{handle}", team+"/members/"+h, nil, true)
	}
	add("GET", "/settings", "/settings", nil, false)
	add("PUT", "/settings", "/settings", map[string]any{"show_agent_names": true, "only_assignee_replies": true, "csat": true}, false)
	add("GET", "/conversations", "/conversations", nil, false)
	add("GET", "/conversations", "/conversations?view=all", nil, false)
	add("GET", "/conversations", "/conversations?view=all&contact="+url.QueryEscape(ids.contact), nil, false)
	add("GET", "/counts", "/counts", nil, false)
	add("GET", "/conversations/{id}", c, nil, true)
	add("PATCH", "/conversations/{id}", c, map[string]any{"status": "resolved", "labels": []string{"intruder"}, "priority": "urgent",
		"attributes": map[string]any{"pwned": "yes"}}, true)
	add("POST", "/conversations/{id}/messages", c+"/messages", map[string]any{"text": "intruder reply"}, true)
	add("POST", "/conversations/{id}/messages", c+"/messages", map[string]any{"text": "intruder reply", "client_id": "intruder-1"}, true)
	add("POST", "/conversations/{id}/messages", c+"/messages", map[string]any{"saved_reply": ids.reply}, true)
	add("POST", "/conversations/{id}/messages", c+"/messages", map[string]any{"text": "intruder quote", "reply_to": ids.mid}, true)
	add("GET", "/conversations/{id}/messages", c+"/messages", nil, true)
	add("GET", "/conversations/{id}/messages", c+"/messages?after_seq=0&limit=200", nil, true)
	add("POST", "/conversations/{id}/read", c+"/read", map[string]any{"seq": 1}, true)
	add("PATCH", "/conversations/{id}/messages/{mid}", m, map[string]any{"text": "intruder edit"}, true)
	add("PUT", "/conversations/{id}/messages/{mid}/reactions/{emoji}", m+thumbs, nil, true)
	add("DELETE", "/conversations/{id}/messages/{mid}/reactions/{emoji}", m+thumbs, nil, true)
	add("POST", "/conversations/{id}/presence", c+"/presence", map[string]any{"state": "typing"}, true)
	add("POST", "/conversations/{id}/presence", c+"/presence", map[string]any{"state": "viewing"}, true)
	add("GET", "/conversations/{id}/notes", c+"/notes", nil, true)
	add("POST", "/conversations/{id}/notes", c+"/notes", map[string]any{"text": "intruder note"}, true)
	add("GET", "/conversations/{id}/audit", c+"/audit", nil, true)
	add("GET", "/audit", "/audit", nil, false)
	add("GET", "/saved-replies", "/saved-replies", nil, false)
	add("GET", "/saved-replies", "/saved-replies?q=h", nil, false)
	add("POST", "/saved-replies", "/saved-replies", map[string]any{"shortcut": "intruder", "title": "x", "body": "intruder body"}, false)
	add("PATCH", "/saved-replies/{reply}", reply, map[string]any{"body": "intruder body"}, true)
	add("GET", "/saved-replies/{reply}/render", reply+"/render?conversation="+url.QueryEscape(ids.conv), nil, true)
	add("GET", "/contacts", "/contacts", nil, false)
	add("GET", "/contacts", "/contacts?q=c", nil, false)
	add("GET", "/contacts/{contact}", contact, nil, true)
	add("PATCH", "/contacts/{contact}", contact, map[string]any{"name": "Renamed by intruder", "notes": "intruder",
		"attributes": map[string]any{"pwned": "yes"}}, true)
	add("POST", "/contacts/{contact}/merge", contact+"/merge", map[string]any{"into": ids.contact2}, true)
	add("GET", "/reports", "/reports", nil, false)
	add("GET", "/reports", "/reports?format=csv", nil, false)
	add("GET", "/reports", "/reports?bucket=hour&from=2020-01-01&to=2020-01-02", nil, false)
	// Destructive calls last.
	add("POST", "/conversations/{id}/messages/{mid}/redact", m+"/redact", map[string]any{}, true)
	add("DELETE", "/conversations/{id}/messages/{mid}", m, nil, true)
	add("DELETE", "/saved-replies/{reply}", reply, nil, true)
	add("DELETE", "/teams/{team}", team, nil, true)
	for _, h := range ids.handles {
		add("DELETE", "/agents/{handle}", "/agents/"+h, nil, false)
	}
	return rs
}

// bizRoutePatterns reads the routes httpapi/business.go registers under
// /api/v1/business/{business}, as "METHOD /suffix".
func bizRoutePatterns(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("../httpapi/business.go")
	if err != nil {
		t.Fatalf("read business.go: %v", err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`s\.biz(?:Conv)?\("([A-Z]+) "\+b\+"([^"]*)"`).FindAllStringSubmatch(string(src), -1) {
		out = append(out, m[1]+" "+m[2])
	}
	// Routes registered in a loop over methods: for method, on := range
	// map[string]bool{"PUT": true, "DELETE": false} { s.biz(method+" "+b+"…
	loop := regexp.MustCompile(`range map\[string\]bool\{([^}]*)\}\s*\{\s*s\.biz(?:Conv)?\(method\+" "\+b\+"([^"]*)"`)
	for _, m := range loop.FindAllStringSubmatch(string(src), -1) {
		for _, meth := range regexp.MustCompile(`"([A-Z]+)"`).FindAllStringSubmatch(m[1], -1) {
			out = append(out, meth[1]+" "+m[2])
		}
	}
	if len(out) < 35 {
		t.Fatalf("found only %d business routes in business.go; has the registration changed?", len(out))
	}
	return out
}

// TestBusinessRouteTableCoversRoutes fails when httpapi/business.go gains a
// route that the authorization table (bizRoutes) does not call.
func TestBusinessRouteTableCoversRoutes(t *testing.T) {
	covered := map[string]bool{}
	for _, r := range bizRoutes("b", bizIDs{conv: "c", mid: "m", team: "t", reply: "r", contact: "k", contact2: "k2", handles: []string{"h"}}) {
		covered[r.pattern] = true
	}
	for _, p := range bizRoutePatterns(t) {
		if !covered[p] {
			t.Errorf("business route %q is not in the authorization table (bizRoutes)", p)
		}
	}
}

// bizSnapshot reads, as the business, everything a wrongful call could have
// changed, keyed by path. Reports are left out: they are computed up to now.
func bizSnapshot(t *testing.T, biz *user, conv string, contacts ...string) map[string]string {
	t.Helper()
	paths := []string{"/agents", "/teams", "/settings", "/conversations?view=all", "/counts",
		"/conversations/" + conv, "/conversations/" + conv + "/messages", "/conversations/" + conv + "/notes",
		"/conversations/" + conv + "/audit", "/audit", "/saved-replies", "/contacts"}
	for _, c := range contacts {
		paths = append(paths, "/contacts/"+c)
	}
	out := map[string]string{}
	for _, p := range paths {
		r := biz.do("GET", bz(biz, p), nil)
		out[p] = fmt.Sprintf("%d %s", r.Status, r.Body)
	}
	return out
}

func sameSnapshot(t *testing.T, who string, before, after map[string]string) {
	t.Helper()
	for p, b := range before {
		if after[p] != b {
			t.Errorf("%s: %s changed:\nbefore %s\nafter  %s", who, p, b, after[p])
		}
	}
}

// contactIDs lists the ids of a business's contacts.
func contactIDs(t *testing.T, biz *user) []string {
	t.Helper()
	var ids []string
	for _, c := range must(t, biz.do("GET", bz(biz, "/contacts"), nil), http.StatusOK).Items() {
		ids = append(ids, c["id"].(string))
	}
	return ids
}

// bizFixture is a business with every kind of object the routes name.
type bizFixture struct {
	*bizWorld
	customer2             *user
	conv2                 string
	mid                   string // a reply of the business in conv
	team, reply           string
	contact, contact2     string
	customerImg, agentImg string // media in conv, from the customer and from an agent
	noteText              string
}

func newBizFixture(t *testing.T, ts *testServer, p, name string) *bizFixture {
	t.Helper()
	f := &bizFixture{bizWorld: newBizWorld(t, ts, p, name)}
	f.customer2 = regNamed(ts, p+"_cust2", "person", "Dan Duplicate")
	f.conv2 = f.customer2.direct(f.biz.Handle)
	f.customer2.send(f.conv2, "me too")

	f.mid = bizReply(t, f.biz, f.agent1, f.conv, map[string]any{"text": "A reply from " + name}, http.StatusCreated)["id"].(string)
	f.noteText = marker("note-of-" + p)
	must(t, f.agent1.do("POST", bz(f.biz, "/conversations/"+f.conv+"/notes"), map[string]any{"text": f.noteText}), http.StatusCreated)
	f.team = must(t, f.biz.do("POST", bz(f.biz, "/teams"), map[string]any{"name": "Support"}), http.StatusCreated).JSON()["id"].(string)
	must(t, f.biz.do("PUT", bz(f.biz, "/teams/"+f.team+"/members/"+f.agent1.Handle), nil), http.StatusNoContent)
	f.reply = must(t, f.admin.do("POST", bz(f.biz, "/saved-replies"), map[string]any{"shortcut": "hi", "title": "Greeting",
		"body": "Hello {{contact.first_name}}, this is {{agent.first_name}}."}), http.StatusCreated).JSON()["id"].(string)
	cs := contactIDs(t, f.biz)
	if len(cs) != 2 {
		t.Fatalf("%s has contacts %v, want 2", name, cs)
	}
	f.contact, f.contact2 = cs[0], cs[1]

	png := mediatest.PNG(64, 48)
	f.customerImg = must(t, f.customer.upload("image", "receipt.png", png), http.StatusCreated).JSON()["id"].(string)
	must(t, f.customer.sendMedia(f.conv, "image", f.customerImg), http.StatusCreated)
	f.agentImg = must(t, f.agent1.upload("image", "label.png", png), http.StatusCreated).JSON()["id"].(string)
	bizReply(t, f.biz, f.agent1, f.conv, map[string]any{"kind": "image", "attachments": []string{f.agentImg}, "text": "your label"}, http.StatusCreated)
	// The team sees both.
	for _, u := range []*user{f.biz, f.admin, f.agent1, f.agent2} {
		for _, id := range []string{f.customerImg, f.agentImg} {
			must(t, u.download("/api/v1/media/"+id), http.StatusOK)
			must(t, u.download("/api/v1/media/"+id+"/thumbnail"), http.StatusOK)
		}
	}
	return f
}

func (f *bizFixture) ids(handles ...string) bizIDs {
	return bizIDs{conv: f.conv, mid: f.mid, team: f.team, reply: f.reply, contact: f.contact, contact2: f.contact2, handles: handles}
}

func (f *bizFixture) snapshot(t *testing.T) map[string]string {
	t.Helper()
	s := bizSnapshot(t, f.biz, f.conv, f.contact, f.contact2)
	s["customer history"] = string(must(t, f.customer.do("GET", "/api/v1/conversations/"+f.conv+"/messages", nil), http.StatusOK).Body)
	return s
}

// wantAll404 calls every route as u and wants 404 not_found without the
// business's secrets in the answer.
func wantAll404(t *testing.T, who *user, routes []bizRoute, secrets ...string) {
	t.Helper()
	for _, r := range routes {
		resp := who.do(r.method, r.path, r.body)
		if resp.Status != http.StatusNotFound || resp.Code() != "not_found" {
			t.Errorf("%s: %s → %d %q, want 404 not_found: %s", who.Handle, r, resp.Status, resp.Code(), resp.Body)
		}
		for _, s := range secrets {
			if s != "" && bytes.Contains(resp.Body, []byte(s)) {
				t.Errorf("%s: %s answered with %q: %s", who.Handle, r, s, resp.Body)
			}
		}
	}
}

// --- 1. authorization ----------------------------------------------------------

// TestBusinessAuthorization: an agent of business A gets 404 for every route
// of business B, B's media and B's conversations through the personal
// routes, and A's own routes give B's objects the same answer as objects
// that do not exist; a non-agent (a stranger, the customer) gets 404 on
// every route of A. Nothing changes in either business.
func TestBusinessAuthorization(t *testing.T) {
	ts := startServer(t)
	a := newBizFixture(t, ts, "az_a", "Acme Corp")
	b := newBizFixture(t, ts, "az_b", "Globex Inc")
	stranger := regNamed(ts, "az_stranger", "person", "Sam Stranger")
	bSecrets := []string{b.noteText, "A reply from Globex Inc", b.customer.ID, b.agent1.ID}

	beforeA, beforeB := a.snapshot(t), b.snapshot(t)

	// Agents and the admin of A against every route of B.
	for _, u := range []*user{a.agent1, a.admin} {
		wantAll404(t, u, bizRoutes(b.biz.Handle, b.ids(u.Handle, b.agent1.Handle)), bSecrets...)
		// B's media, from the customer and from B's agent.
		for _, id := range []string{b.customerImg, b.agentImg} {
			for _, p := range []string{"/api/v1/media/" + id, "/api/v1/media/" + id + "/thumbnail"} {
				wantProblem(t, u.download(p), http.StatusNotFound, "not_found")
			}
		}
		// B's conversation through the personal routes.
		for _, p := range []string{"", "/messages"} {
			wantProblem(t, u.do("GET", "/api/v1/conversations/"+b.conv+p, nil), http.StatusNotFound, "not_found")
		}
	}
	// The business account of A too is a stranger to B.
	wantAll404(t, a.biz, bizRoutes(b.biz.Handle, b.ids(a.agent1.Handle)), bSecrets...)
	for _, id := range []string{b.customerImg, b.agentImg} {
		wantProblem(t, a.biz.download("/api/v1/media/"+id), http.StatusNotFound, "not_found")
	}

	// A's own routes, named with B's objects, answer as for objects that do
	// not exist (the admin of A gets past every role check).
	const none, none2 = "0nonexistent0000000000000", "0nonexistent0000000000002"
	bogus := bizIDs{conv: none, mid: none, team: none, reply: none, contact: none, contact2: none2, handles: []string{a.admin.Handle}}
	crossed := bizRoutes(a.biz.Handle, bizIDs{conv: b.conv, mid: b.mid, team: b.team, reply: b.reply, contact: b.contact,
		contact2: b.contact2, handles: []string{a.admin.Handle}})
	missing := bizRoutes(a.biz.Handle, bogus)
	if len(crossed) != len(missing) {
		t.Fatal("route tables differ in length")
	}
	for i, r := range crossed {
		if !r.byID {
			continue
		}
		got := a.admin.do(r.method, r.path, r.body)
		want := a.admin.do(missing[i].method, missing[i].path, missing[i].body)
		if got.Status < 400 || got.Status != want.Status || got.Code() != want.Code() {
			t.Errorf("%s with B's ids → %d %q; with ids that do not exist → %d %q: %s", r, got.Status, got.Code(), want.Status, want.Code(), got.Body)
		}
		for _, s := range bSecrets {
			if bytes.Contains(got.Body, []byte(s)) {
				t.Errorf("%s answered with B's %q: %s", r, s, got.Body)
			}
		}
	}
	// A's conversation, with one of B's objects in the body or as the message.
	aConv := bz(a.biz, "/conversations/"+a.conv)
	for _, c := range []struct {
		method, path     string
		crossed, missing any
	}{
		{"PATCH", aConv, map[string]any{"team": b.team}, map[string]any{"team": none}},
		{"PATCH", aConv, map[string]any{"assignee": b.agent1.Handle}, map[string]any{"assignee": stranger.Handle}},
		{"POST", aConv + "/messages", map[string]any{"saved_reply": b.reply}, map[string]any{"saved_reply": none}},
		{"POST", aConv + "/messages", map[string]any{"text": "quoting B", "reply_to": b.mid}, map[string]any{"text": "quoting B", "reply_to": none}},
		{"POST", aConv + "/messages", map[string]any{"kind": "image", "attachments": []string{b.agentImg}}, map[string]any{"kind": "image", "attachments": []string{none}}},
		{"POST", aConv + "/messages", map[string]any{"kind": "image", "attachments": []string{b.customerImg}}, map[string]any{"kind": "image", "attachments": []string{none}}},
		{"POST", bz(a.biz, "/contacts/"+a.contact+"/merge"), map[string]any{"into": b.contact}, map[string]any{"into": none}},
		{"GET", bz(a.biz, "/saved-replies/"+a.reply+"/render?conversation="+b.conv), nil, nil},
		{"PATCH", aConv + "/messages/" + b.mid, map[string]any{"text": "edited through A"}, nil},
		{"DELETE", aConv + "/messages/" + b.mid, nil, nil},
		{"PUT", aConv + "/messages/" + b.mid + "/reactions/" + url.PathEscape("👍"), nil, nil},
	} {
		got := a.admin.do(c.method, c.path, c.crossed)
		missingPath := strings.NewReplacer(b.conv, none, b.mid, none).Replace(c.path)
		if c.missing == nil {
			c.missing = c.crossed // the object is in the path
		}
		want := a.admin.do(c.method, missingPath, c.missing)
		if got.Status < 400 || got.Status != want.Status || got.Code() != want.Code() {
			t.Errorf("%s %s %v → %d %q; with objects that do not exist → %d %q: %s", c.method, c.path, c.crossed, got.Status, got.Code(), want.Status, want.Code(), got.Body)
		}
		for _, s := range bSecrets {
			if bytes.Contains(got.Body, []byte(s)) {
				t.Errorf("%s %s answered with B's %q: %s", c.method, c.path, s, got.Body)
			}
		}
	}

	// People who are not on A's team: a stranger, A's own customer, and B's
	// agent.
	for _, u := range []*user{stranger, a.customer, b.agent1} {
		wantAll404(t, u, bizRoutes(a.biz.Handle, a.ids(u.Handle, a.agent1.Handle)), a.noteText, "A reply from Acme Corp")
	}
	// The customer of A may fetch what was sent in their conversation, but
	// not B's; the stranger nothing.
	must(t, a.customer.download("/api/v1/media/"+a.agentImg), http.StatusOK)
	for _, id := range []string{a.customerImg, a.agentImg} {
		wantProblem(t, stranger.download("/api/v1/media/"+id), http.StatusNotFound, "not_found")
		wantProblem(t, b.agent1.download("/api/v1/media/"+id), http.StatusNotFound, "not_found")
	}
	// The list of businesses one works for names only one's own.
	for _, c := range []struct {
		u    *user
		want []string
	}{{a.agent1, []string{a.biz.ID}}, {a.admin, []string{a.biz.ID}}, {stranger, nil}, {a.customer, nil}, {b.agent2, []string{b.biz.ID}}} {
		var got []string
		for _, it := range must(t, c.u.do("GET", "/api/v1/business", nil), http.StatusOK).Items() {
			got = append(got, it["business"].(map[string]any)["id"].(string))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s works for %v, want %v", c.u.Handle, got, c.want)
		}
	}

	sameSnapshot(t, "A", beforeA, a.snapshot(t))
	sameSnapshot(t, "B", beforeB, b.snapshot(t))
}

// TestBusinessAgentRoleForbidden: an agent (role agent) gets 403 on the
// admin routes and changes nothing; they may still set their own
// availability.
func TestBusinessAgentRoleForbidden(t *testing.T) {
	ts := startServer(t)
	f := newBizFixture(t, ts, "rl", "Acme Corp")
	outsider := regNamed(ts, "rl_new", "person", "Nina New")
	// f.reply is the admin's saved reply: only its author or an admin may change it.
	ag, ag2, adm := f.agent1.Handle, f.agent2.Handle, f.admin.Handle
	before := f.snapshot(t)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"PUT", "/agents/" + ag2, map[string]any{"role": "admin"}},
		{"PUT", "/agents/" + ag2, map[string]any{"away": true}},
		{"PUT", "/agents/" + ag2, map[string]any{"max_open": 1}},
		{"PUT", "/agents/" + adm, map[string]any{"role": "agent"}},
		{"PUT", "/agents/" + ag, map[string]any{"role": "admin"}}, // promoting oneself
		{"PUT", "/agents/" + ag, map[string]any{"max_open": 1000}},
		{"PUT", "/agents/" + outsider.Handle, map[string]any{}}, // adding someone
		{"PUT", "/agents/" + outsider.Handle, map[string]any{"role": "agent"}},
		{"DELETE", "/agents/" + ag2, nil},
		{"DELETE", "/agents/" + adm, nil},
		{"PUT", "/settings", map[string]any{"only_assignee_replies": true, "show_agent_names": true}},
		{"PUT", "/settings", map[string]any{}},
		{"POST", "/teams", map[string]any{"name": "Agents only"}},
		{"PATCH", "/teams/" + f.team, map[string]any{"name": "Renamed"}},
		{"DELETE", "/teams/" + f.team, nil},
		{"PUT", "/teams/" + f.team + "/members/" + ag2, nil},
		{"DELETE", "/teams/" + f.team + "/members/" + ag, nil},
		{"PATCH", "/saved-replies/" + f.reply, map[string]any{"body": "changed by an agent"}},
		{"DELETE", "/saved-replies/" + f.reply, nil},
	} {
		wantProblem(t, f.agent1.do(c.method, bz(f.biz, c.path), c.body), http.StatusForbidden, "forbidden")
	}
	sameSnapshot(t, "business", before, f.snapshot(t))

	// What an agent may do: read the settings and team, set their own availability.
	must(t, f.agent1.do("GET", bz(f.biz, "/settings"), nil), http.StatusOK)
	if v := must(t, f.agent1.do("PUT", bz(f.biz, "/agents/"+ag), map[string]any{"away": true}), http.StatusOK).JSON(); v["away"] != true || v["role"] != "agent" {
		t.Errorf("setting own availability gave %v", v)
	}
	// The admin (not the business account) may do what the agent may not.
	must(t, f.admin.do("PUT", bz(f.biz, "/settings"), map[string]any{"show_agent_names": true}), http.StatusOK)
	must(t, f.admin.do("POST", bz(f.biz, "/teams"), map[string]any{"name": "Admins made this"}), http.StatusCreated)
}

// TestBusinessNotesStayPrivate: a note reaches the team (sync with as = the
// business, and the stream) and never a byte of it reaches the customer:
// not their history, their conversation views, their sync pages or their
// stream.
func TestBusinessNotesStayPrivate(t *testing.T) {
	ts := startServer(t)
	w := newBizWorld(t, ts, "nt", "Acme Corp")
	custHead, agentHead := syncHead(t, w.customer), syncHead(t, w.agent2)
	cs := dialBiz(t, ts, w.customer)
	as := dialBiz(t, ts, w.agent2)

	secret := marker("NOTE-SECRET")
	note := must(t, w.agent1.do("POST", bz(w.biz, "/conversations/"+w.conv+"/notes"),
		map[string]any{"text": "Internal: refund approved " + secret + " cc @" + w.agent2.Handle}), http.StatusCreated).JSON()
	if !strings.Contains(note["text"].(string), secret) {
		t.Fatalf("note %v", note)
	}

	// The team: another agent's stream, tagged with the business.
	isNote := func(e bizEvent) bool { return e.Type == "note.created" && e.ConversationID == w.conv }
	evs := as.until("note.created", isNote, nil)
	if e := evs[len(evs)-1]; e.As != w.biz.ID || !strings.Contains(string(e.Data), secret) {
		t.Errorf("agent's stream: note event %s, want as=%s and the note", e, w.biz.ID)
	}
	// The team: sync, tagged with the business.
	synced, _ := syncAll(t, w.agent2, agentHead)
	var found bool
	for _, e := range synced {
		if isNote(e) {
			found = true
			if e.As != w.biz.ID || e.data()["text"] == nil || !strings.Contains(e.data()["text"].(string), secret) {
				t.Errorf("agent's sync: note event %s, want as=%s and the note", e, w.biz.ID)
			}
		}
	}
	if !found {
		t.Errorf("agent's sync from %d has no note.created: %v", agentHead, synced)
	}
	if got := must(t, w.agent2.do("GET", bz(w.biz, "/conversations/"+w.conv+"/notes"), nil), http.StatusOK).Items(); len(got) != 1 || !strings.Contains(got[0]["text"].(string), secret) {
		t.Errorf("notes listed %v", got)
	}

	// A reply after the note is the fence: the customer's stream delivers
	// in position order, so once it has the reply it had its chance at the
	// note.
	fence := marker("fence")
	bizReply(t, w.biz, w.agent1, w.conv, map[string]any{"text": fence}, http.StatusCreated)
	leaks := func(e bizEvent) bool {
		return bytes.Contains(e.Raw, []byte(secret)) || strings.HasPrefix(e.Type, "note.") || strings.HasPrefix(e.Type, "inbox.") || e.As != ""
	}
	cs.until("the reply after the note", isMessage(w.conv, fence), leaks)
	cs.quiet(fairWindow, leaks)

	// Every other way the customer reads.
	var seen [][]byte
	for _, p := range []string{
		"/api/v1/conversations/" + w.conv + "/messages",
		"/api/v1/conversations/" + w.conv + "/messages?after_seq=0&limit=200",
		"/api/v1/conversations/" + w.conv,
		"/api/v1/conversations",
	} {
		seen = append(seen, must(t, w.customer.do("GET", p, nil), http.StatusOK).Body)
	}
	custEvs, raw := syncAll(t, w.customer, custHead)
	seen = append(seen, raw, cs.bytes())
	for _, e := range custEvs {
		if leaks(e) {
			t.Errorf("customer's sync has %s", e)
		}
	}
	var gotFence bool
	for _, e := range custEvs {
		gotFence = gotFence || isMessage(w.conv, fence)(e)
	}
	if !gotFence {
		t.Errorf("customer's sync lacks the reply: %v", custEvs)
	}
	// The business's routes are closed to them.
	r := w.customer.do("GET", bz(w.biz, "/conversations/"+w.conv+"/notes"), nil)
	wantProblem(t, r, http.StatusNotFound, "not_found")
	seen = append(seen, r.Body)
	for i, b := range seen {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("customer received the note (read %d): %s", i, b)
		}
		if bytes.Contains(b, []byte("note.created")) {
			t.Errorf("customer received a note event (read %d): %s", i, b)
		}
	}
}

// --- 2. removal ------------------------------------------------------------------

// TestBusinessAgentRemoval: an agent with an open stream is removed. They
// get inbox.removed, then nothing more of the business: a new customer
// message reaches the customer and the rest of the team but not them; every
// business route and the conversation's media answer 404; their open
// conversations go back to the queue.
func TestBusinessAgentRemoval(t *testing.T) {
	ts := startServer(t)
	w := newBizWorld(t, ts, "rm", "Acme Corp")
	gone, stays := w.agent1, w.agent2
	cust2 := regNamed(ts, "rm_cust2", "person", "Dan Duplicate")
	conv2 := cust2.direct(w.biz.Handle)
	cust2.send(conv2, "where is my parcel")
	// A friend of the agent's, whose direct messages fence their stream.
	pal := regNamed(ts, "rm_pal", "person", "Pat Pal")
	must(t, pal.do("PUT", "/api/v1/users/"+gone.Handle+"/follow", nil), http.StatusNoContent)
	must(t, gone.do("PUT", "/api/v1/users/"+pal.Handle+"/follow", nil), http.StatusNoContent)
	palConv := pal.direct(gone.Handle)

	img := must(t, w.customer.upload("image", "damage.png", mediatest.PNG(64, 48)), http.StatusCreated).JSON()["id"].(string)
	must(t, w.customer.sendMedia(w.conv, "image", img), http.StatusCreated)
	must(t, gone.download("/api/v1/media/"+img), http.StatusOK)
	team := must(t, w.biz.do("POST", bz(w.biz, "/teams"), map[string]any{"name": "Support"}), http.StatusCreated).JSON()["id"].(string)
	must(t, w.biz.do("PUT", bz(w.biz, "/teams/"+team+"/members/"+gone.Handle), nil), http.StatusNoContent)
	reply := must(t, gone.do("POST", bz(w.biz, "/saved-replies"), map[string]any{"shortcut": "bye", "body": "Bye {{contact.first_name}}"}), http.StatusCreated).JSON()["id"].(string)
	mid := bizReply(t, w.biz, stays, w.conv, map[string]any{"text": "On it"}, http.StatusCreated)["id"].(string)

	gs := dialBiz(t, ts, gone)
	ss := dialBiz(t, ts, stays)
	cs := dialBiz(t, ts, w.customer)

	// Both conversations are the leaving agent's: one open, one pending.
	assign(t, w.biz, w.admin, w.conv, gone.Handle)
	must(t, w.admin.do("PATCH", bz(w.biz, "/conversations/"+conv2), map[string]any{"assignee": gone.Handle, "status": "pending"}), http.StatusOK)
	assignedTo := func(conv, who string) func(bizEvent) bool {
		return func(e bizEvent) bool {
			return e.Type == "inbox.updated" && e.ConversationID == conv && e.data()["assignee"] == who
		}
	}
	gs.until("the assignment of conv2", assignedTo(conv2, gone.ID), nil)
	// While on the team, they get the customer's messages live.
	before := marker("before-removal")
	w.customer.send(w.conv, before)
	if e := gs.until("the message before removal", isMessage(w.conv, before), nil); e[len(e)-1].As != w.biz.ID {
		t.Fatalf("message to the agent: %s, want as=%s", e[len(e)-1], w.biz.ID)
	}
	goneHead := syncHead(t, gone)
	ss.until("the message before removal", isMessage(w.conv, before), nil)

	must(t, w.biz.do("DELETE", bz(w.biz, "/agents/"+gone.Handle), nil), http.StatusNoContent)

	// From here on nothing of the business may reach the removed agent.
	after := marker("after-removal")
	ofBusiness := func(e bizEvent) bool {
		return e.As != "" || e.ConversationID == w.conv || e.ConversationID == conv2 ||
			bytes.Contains(e.Raw, []byte(after)) || bytes.Contains(e.Raw, []byte(w.customer.ID))
	}
	// The stream delivers in position order: frames before inbox.removed
	// are changes committed before the removal (the customer's last message
	// also updated the inbox item), and are the agent's to see.
	evs := gs.until("inbox.removed", func(e bizEvent) bool { return e.Type == "inbox.removed" }, nil)
	removedAt := evs[len(evs)-1]
	if d := removedAt.data(); d["business"] != w.biz.ID {
		t.Errorf("inbox.removed data %v, want business %s", d, w.biz.ID)
	}
	for _, e := range evs {
		if e.Pos > removedAt.Pos && ofBusiness(e) {
			t.Errorf("removed agent got %s, after the removal at %d", e, removedAt.Pos)
		}
	}
	// The team hears that the conversations went back to the queue.
	ss.until("conv unassigned", assignedTo(w.conv, ""), nil)

	w.customer.send(w.conv, after)
	cs.until("the customer's own message", isMessage(w.conv, after), nil)
	if e := ss.until("the message after removal", isMessage(w.conv, after), nil); e[len(e)-1].As != w.biz.ID {
		t.Errorf("message to the remaining agent: %s, want as=%s", e[len(e)-1], w.biz.ID)
	}
	// The fence: a direct message to the removed agent, committed after the
	// customer's. Once their stream delivers it, it has synced past the
	// customer's message.
	fence := marker("fence")
	pal.send(palConv, fence)
	gs.until("the fence", isMessage(palConv, fence), ofBusiness)
	gs.quiet(fairWindow, ofBusiness)
	if bytes.Contains(gs.bytes(), []byte(after)) {
		t.Error("the removed agent's stream carried the customer's message")
	}
	// Their sync from before the removal has nothing of the business either.
	synced, raw := syncAll(t, gone, goneHead)
	var removed bool
	for _, e := range synced {
		removed = removed || e.Type == "inbox.removed"
		if ofBusiness(e) {
			t.Errorf("removed agent's sync has %s", e)
		}
	}
	if !removed || bytes.Contains(raw, []byte(after)) {
		t.Errorf("removed agent's sync: inbox.removed %v, events %v", removed, synced)
	}

	// Every business route: 404, and nothing changes.
	snap := bizSnapshot(t, w.biz, w.conv)
	contacts := contactIDs(t, w.biz)
	wantAll404(t, gone, bizRoutes(w.biz.Handle, bizIDs{conv: w.conv, mid: mid, team: team, reply: reply, contact: contacts[0],
		contact2: contacts[1], handles: []string{gone.Handle, stays.Handle}}), after)
	wantAll404(t, gone, bizRoutes(w.biz.Handle, bizIDs{conv: conv2, mid: mid, team: team, reply: reply, contact: contacts[1],
		contact2: contacts[0]}), after)
	sameSnapshot(t, "business", snap, bizSnapshot(t, w.biz, w.conv))
	for _, p := range []string{"/api/v1/media/" + img, "/api/v1/media/" + img + "/thumbnail"} {
		wantProblem(t, gone.download(p), http.StatusNotFound, "not_found")
	}
	wantProblem(t, gone.do("GET", "/api/v1/conversations/"+w.conv+"/messages", nil), http.StatusNotFound, "not_found")
	if items := must(t, gone.do("GET", "/api/v1/business", nil), http.StatusOK).Items(); len(items) != 0 {
		t.Errorf("removed agent still works for %v", items)
	}

	// Their conversations are unassigned; the pending one stays pending.
	for _, c := range []struct{ conv, status string }{{w.conv, "open"}, {conv2, "pending"}} {
		it := must(t, w.biz.do("GET", bz(w.biz, "/conversations/"+c.conv), nil), http.StatusOK).JSON()["item"].(map[string]any)
		if it["assignee"] != nil || it["status"] != c.status {
			t.Errorf("conversation %s after removal: assignee %v status %v, want none and %s", c.conv, it["assignee"], it["status"], c.status)
		}
	}
	var unassigned []string
	for _, it := range must(t, w.biz.do("GET", bz(w.biz, "/conversations?view=unassigned"), nil), http.StatusOK).Items() {
		unassigned = append(unassigned, it["conversation_id"].(string))
	}
	if !slices.Contains(unassigned, w.conv) || !slices.Contains(unassigned, conv2) {
		t.Errorf("unassigned view %v, want both conversations", unassigned)
	}
	for _, ag := range must(t, w.biz.do("GET", bz(w.biz, "/agents"), nil), http.StatusOK).Items() {
		if ag["user"].(map[string]any)["id"] == gone.ID {
			t.Errorf("removed agent still listed: %v", ag)
		}
	}
	for _, tm := range must(t, w.biz.do("GET", bz(w.biz, "/teams"), nil), http.StatusOK).Items() {
		for _, m := range tm["members"].([]any) {
			if m.(map[string]any)["id"] == gone.ID {
				t.Errorf("removed agent still in team %v", tm["name"])
			}
		}
	}
}

// --- 3. live delivery ------------------------------------------------------------

// TestBusinessLiveDelivery: a customer message reaches the agents' streams
// as message.created tagged with the business; an agent's reply reaches the
// customer as the business's, without the agent (agent_name only when the
// business shows names); assignment changes reach the other agents.
func TestBusinessLiveDelivery(t *testing.T) {
	ts := startServer(t)
	biz := regNamed(ts, "lv_biz", "business", "Nimbus Air")
	ada := regNamed(ts, "lv_ada", "person", "Ada Lovelace")
	bea := regNamed(ts, "lv_bea", "person", "Bea Baker")
	cust := regNamed(ts, "lv_cust", "person", "Carla Customer")
	addAgent(t, biz, ada, "agent")
	addAgent(t, biz, bea, "agent")
	custHead := syncHead(t, cust)
	s1, s2 := dialBiz(t, ts, ada), dialBiz(t, ts, bea)
	cs := dialBiz(t, ts, cust)

	conv := cust.direct(biz.Handle)
	hello := marker("my bag is lost")
	cust.send(conv, hello)
	for _, s := range []*bizStream{s1, s2} {
		evs := s.until("the customer's message", isMessage(conv, hello), nil)
		e := evs[len(evs)-1]
		if e.As != biz.ID || senderID(e.msg()) != cust.ID {
			t.Errorf("%s got %s, want as=%s from the customer", s.who, e, biz.ID)
		}
	}

	// Ada answers; the answer is the business's.
	r1 := marker("Sorry to hear that")
	sent := bizReply(t, biz, ada, conv, map[string]any{"text": r1}, http.StatusCreated)
	if senderID(sent) != biz.ID || sent["agent"] == nil || sent["agent"].(map[string]any)["id"] != ada.ID {
		t.Errorf("reply as sent: %v, want sender the business and agent Ada", sent)
	}
	// A reply as the customer must see it: from the business, no agent,
	// and agent_name one of names (a first name, or "" for none).
	agentHidden := func(where string, m map[string]any, names ...string) {
		t.Helper()
		if senderID(m) != biz.ID {
			t.Errorf("%s: sender %v, want the business", where, m["sender"])
		}
		if _, ok := m["agent"]; ok {
			t.Errorf("%s: the customer sees agent %v", where, m["agent"])
		}
		if got, _ := m["agent_name"].(string); !slices.Contains(names, got) {
			t.Errorf("%s: agent_name %q, want one of %q", where, got, names)
		}
	}
	evs := cs.until("Ada's reply", isMessage(conv, r1), nil)
	agentHidden("customer's stream", evs[len(evs)-1].msg(), "")
	if evs[len(evs)-1].As != "" {
		t.Errorf("customer's event has as=%q", evs[len(evs)-1].As)
	}
	// The team sees who wrote it; answering took the conversation for Ada.
	evs = s2.until("Ada's reply", isMessage(conv, r1), nil)
	if e := evs[len(evs)-1]; e.As != biz.ID || e.msg()["agent"] == nil || e.msg()["agent"].(map[string]any)["id"] != ada.ID {
		t.Errorf("Bea got %s, want as=%s and agent Ada", e, biz.ID)
	}
	isAssigned := func(who string) func(bizEvent) bool {
		return func(e bizEvent) bool {
			return e.Type == "inbox.updated" && e.ConversationID == conv && e.data()["assignee"] == who
		}
	}
	s2.until("the assignment to Ada", isAssigned(ada.ID), nil)

	// The business reassigns to Bea: Ada (the other agent) hears it.
	assign(t, biz, biz, conv, bea.Handle)
	evs = s1.until("the assignment to Bea", isAssigned(bea.ID), nil)
	if e := evs[len(evs)-1]; e.As != biz.ID {
		t.Errorf("Ada got %s, want as=%s", e, biz.ID)
	}
	s2.until("the assignment to Bea", isAssigned(bea.ID), nil)

	// Bea types a reply: the customer sees the business typing, Ada gets
	// the collision warning naming Bea. Ephemeral events come without a
	// position, so the stored change after them is the fence.
	must(t, bea.do("POST", bz(biz, "/conversations/"+conv+"/presence"), map[string]any{"state": "typing"}), http.StatusNoContent)
	evs = cs.until("the business typing", func(e bizEvent) bool { return e.Type == "typing" && e.ConversationID == conv }, nil)
	if e := evs[len(evs)-1]; e.ActorID != biz.ID || bytes.Contains(e.Raw, []byte(bea.ID)) {
		t.Errorf("customer's typing event %s, want the business as actor and no agent", e)
	}
	evs = s1.until("Bea's presence", func(e bizEvent) bool { return e.Type == "inbox.presence" && e.ConversationID == conv }, nil)
	if e := evs[len(evs)-1]; e.ActorID != bea.ID || e.data()["state"] != "typing" {
		t.Errorf("Ada got %s, want Bea typing", e)
	}

	// With show_agent_names, the customer sees Bea's first name and no more.
	putSettings(t, biz, map[string]any{"show_agent_names": true})
	r2 := marker("We found it")
	bizReply(t, biz, bea, conv, map[string]any{"text": r2}, http.StatusCreated)
	evs = cs.until("Bea's reply", isMessage(conv, r2), nil)
	agentHidden("customer's stream", evs[len(evs)-1].msg(), "Bea")

	// History and sync as the customer: same rules.
	hist := must(t, cust.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK)
	for _, m := range hist.Items() {
		switch m["text"] {
		case r1:
			// Written while names were hidden; whether the setting applies
			// when a reply is read or when it was sent, only the first name
			// may show.
			agentHidden("customer's history", m, "", "Ada")
		case r2:
			agentHidden("customer's history", m, "Bea")
		}
	}
	custEvs, raw := syncAll(t, cust, custHead)
	for _, e := range custEvs {
		if e.As != "" || strings.HasPrefix(e.Type, "inbox.") || strings.HasPrefix(e.Type, "note.") {
			t.Errorf("customer's sync has %s", e)
		}
		if e.ConversationID == conv && e.Type == "message.created" && senderID(e.msg()) == biz.ID {
			agentHidden("customer's sync", e.msg(), "", map[string]string{r1: "Ada", r2: "Bea"}[e.text()])
		}
	}
	// Nothing the customer received names the agents beyond a first name.
	cs.quiet(fairWindow, func(e bizEvent) bool { return e.As != "" || strings.HasPrefix(e.Type, "inbox.") })
	for where, b := range map[string][]byte{"stream": cs.bytes(), "sync": raw, "history": hist.Body} {
		for _, s := range []string{ada.ID, bea.ID, ada.Handle, bea.Handle, "Lovelace", "Baker", `"as"`, "inbox."} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("customer's %s contains %q: %s", where, s, b)
			}
		}
	}
}

// --- 4. only the assignee replies ----------------------------------------------------

// TestBusinessOnlyAssigneeReplies: with only_assignee_replies, another agent
// gets 403 not_assignee and nothing is stored (not the message, not its
// seq, not its client_id); an admin and the assignee may reply.
func TestBusinessOnlyAssigneeReplies(t *testing.T) {
	ts := startServer(t)
	w := newBizWorld(t, ts, "oa", "Acme Corp")
	putSettings(t, w.biz, map[string]any{"only_assignee_replies": true})
	assign(t, w.biz, w.biz, w.conv, w.agent1.Handle)
	cs := dialBiz(t, ts, w.customer)

	history := func() string {
		return string(must(t, w.biz.do("GET", bz(w.biz, "/conversations/"+w.conv+"/messages"), nil), http.StatusOK).Body)
	}
	lastSeq := func() float64 {
		return must(t, w.biz.do("GET", bz(w.biz, "/conversations/"+w.conv), nil), http.StatusOK).JSON()["conversation"].(map[string]any)["last_seq"].(float64)
	}
	snap := bizSnapshot(t, w.biz, w.conv)
	seq0 := lastSeq()

	refused := marker("not-my-conversation")
	for _, body := range []map[string]any{
		{"text": refused, "client_id": "oa-1"},
		{"text": refused},
	} {
		wantProblem(t, w.agent2.do("POST", bz(w.biz, "/conversations/"+w.conv+"/messages"), body), http.StatusForbidden, "not_assignee")
	}
	sameSnapshot(t, "business", snap, bizSnapshot(t, w.biz, w.conv))
	if got := lastSeq(); got != seq0 {
		t.Errorf("last_seq %v after the refused send, want %v", got, seq0)
	}
	custHist := must(t, w.customer.do("GET", "/api/v1/conversations/"+w.conv+"/messages", nil), http.StatusOK).Body
	if bytes.Contains(custHist, []byte(refused)) || strings.Contains(history(), refused) {
		t.Error("the refused reply was stored")
	}

	// An admin may reply; the client id of the refused send was never used.
	byAdmin := marker("admin-reply")
	m := bizReply(t, w.biz, w.admin, w.conv, map[string]any{"text": byAdmin, "client_id": "oa-1"}, http.StatusCreated)
	if m["text"] != byAdmin || m["seq"].(float64) != seq0+1 {
		t.Errorf("admin's reply %v, want seq %v", m, seq0+1)
	}
	// The assignee may; so may the business account itself.
	byAssignee := marker("assignee-reply")
	if m := bizReply(t, w.biz, w.agent1, w.conv, map[string]any{"text": byAssignee}, http.StatusCreated); m["seq"].(float64) != seq0+2 {
		t.Errorf("assignee's reply %v, want seq %v", m, seq0+2)
	}
	bizReply(t, w.biz, w.biz, w.conv, map[string]any{"text": "from the business account"}, http.StatusCreated)
	// Still refused for the other agent; the assignment did not move to them.
	wantProblem(t, w.agent2.do("POST", bz(w.biz, "/conversations/"+w.conv+"/messages"), map[string]any{"text": refused}), http.StatusForbidden, "not_assignee")
	it := must(t, w.biz.do("GET", bz(w.biz, "/conversations/"+w.conv), nil), http.StatusOK).JSON()["item"].(map[string]any)
	if a, _ := it["assignee"].(map[string]any); a == nil || a["id"] != w.agent1.ID {
		t.Errorf("assignee %v, want agent1", it["assignee"])
	}

	noRefused := func(e bizEvent) bool { return bytes.Contains(e.Raw, []byte(refused)) }
	cs.until("the admin's reply", isMessage(w.conv, byAdmin), noRefused)
	cs.until("the assignee's reply", isMessage(w.conv, byAssignee), noRefused)
	cs.until("the business's reply", isMessage(w.conv, "from the business account"), noRefused)
	if bytes.Contains(cs.bytes(), []byte(refused)) {
		t.Error("the customer's stream carried the refused reply")
	}
}

// --- 5. saved replies ----------------------------------------------------------------

// TestBusinessSavedReplyVariables: a saved reply with a variable that has no
// value in the conversation is refused with 422 unresolved_variable and
// nothing is sent; once it has a value, the rendered text arrives.
func TestBusinessSavedReplyVariables(t *testing.T) {
	ts := startServer(t)
	w := newBizWorld(t, ts, "sr", "Acme Corp")
	cs := dialBiz(t, ts, w.customer)
	body := "Hi {{contact.first_name}}, order {{conversation.order_id}} has shipped. {{agent.first_name}} from {{business.name}}"
	sr := must(t, w.agent1.do("POST", bz(w.biz, "/saved-replies"), map[string]any{"shortcut": "/Shipped", "title": "Shipped", "body": body}), http.StatusCreated).JSON()
	id := sr["id"].(string)
	if sr["shortcut"] != "shipped" {
		t.Errorf("shortcut %v", sr["shortcut"])
	}

	rendered := must(t, w.agent1.do("GET", bz(w.biz, "/saved-replies/"+id+"/render?conversation="+w.conv), nil), http.StatusOK).JSON()
	if miss, _ := rendered["missing"].([]any); len(miss) != 1 || miss[0] != "conversation.order_id" {
		t.Errorf("render: %v, want conversation.order_id missing", rendered)
	}
	snap := bizSnapshot(t, w.biz, w.conv)
	send := map[string]any{"saved_reply": id, "client_id": "sr-1"}
	wantProblem(t, w.agent1.do("POST", bz(w.biz, "/conversations/"+w.conv+"/messages"), send), http.StatusUnprocessableEntity, "unresolved_variable")
	sameSnapshot(t, "business", snap, bizSnapshot(t, w.biz, w.conv))
	if b := must(t, w.customer.do("GET", "/api/v1/conversations/"+w.conv+"/messages", nil), http.StatusOK).Body; bytes.Contains(b, []byte("has shipped")) {
		t.Errorf("the refused reply was stored: %s", b)
	}

	// A contact attribute fills nothing here; the conversation's does.
	must(t, w.agent1.do("PATCH", bz(w.biz, "/conversations/"+w.conv), map[string]any{"attributes": map[string]any{"order_id": "A-1001"}}), http.StatusOK)
	want := "Hi Carla, order A-1001 has shipped. Ada from Acme Corp"
	m := bizReply(t, w.biz, w.agent1, w.conv, send, http.StatusCreated) // 201: the refused send stored nothing under sr-1
	if m["text"] != want {
		t.Errorf("sent %q, want %q", m["text"], want)
	}
	notRaw := func(e bizEvent) bool { return bytes.Contains(e.Raw, []byte("{{")) }
	cs.until("the rendered reply", isMessage(w.conv, want), notRaw)
	hist := must(t, w.customer.do("GET", "/api/v1/conversations/"+w.conv+"/messages", nil), http.StatusOK).Items()
	if last := hist[len(hist)-1]; last["text"] != want {
		t.Errorf("customer's last message %v, want %q", last["text"], want)
	}
	var n int
	for _, it := range hist {
		if strings.Contains(it["text"].(string), "has shipped") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("customer has %d shipped messages, want 1", n)
	}
	// Text and a saved reply together are refused.
	wantProblem(t, w.agent1.do("POST", bz(w.biz, "/conversations/"+w.conv+"/messages"), map[string]any{"saved_reply": id, "text": "and more"}),
		http.StatusUnprocessableEntity, "invalid")
}

// --- 6. idempotency --------------------------------------------------------------------

// TestBusinessIdempotentSend: an agent's send repeated with the same
// client_id returns the first message (same id and seq) and stores nothing
// new; the customer gets it once.
func TestBusinessIdempotentSend(t *testing.T) {
	ts := startServer(t)
	w := newBizWorld(t, ts, "id", "Acme Corp")
	cs := dialBiz(t, ts, w.customer)
	once := marker("only-once")
	first := bizReply(t, w.biz, w.agent1, w.conv, map[string]any{"text": once, "client_id": "biz-c-1"}, http.StatusCreated)
	for _, body := range []map[string]any{
		{"text": once, "client_id": "biz-c-1"},
		{"text": "a different text", "client_id": "biz-c-1"},
	} {
		again := bizReply(t, w.biz, w.agent1, w.conv, body, http.StatusOK)
		if again["id"] != first["id"] || again["seq"] != first["seq"] || again["text"] != once || again["client_id"] != "biz-c-1" {
			t.Errorf("resend gave %v, want %v", again, first)
		}
	}
	conv := must(t, w.biz.do("GET", bz(w.biz, "/conversations/"+w.conv), nil), http.StatusOK).JSON()["conversation"].(map[string]any)
	if conv["last_seq"] != first["seq"] {
		t.Errorf("last_seq %v after resends, want %v", conv["last_seq"], first["seq"])
	}
	fence := marker("fence")
	bizReply(t, w.biz, w.agent1, w.conv, map[string]any{"text": fence}, http.StatusCreated)
	evs := cs.until("the fence", isMessage(w.conv, fence), func(e bizEvent) bool { return bytes.Contains(e.Raw, []byte("a different text")) })
	var n int
	for _, e := range evs {
		if isMessage(w.conv, once)(e) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("customer's stream had the message %d times, want once", n)
	}
	var stored int
	for _, m := range must(t, w.customer.do("GET", "/api/v1/conversations/"+w.conv+"/messages", nil), http.StatusOK).Items() {
		if m["text"] == once {
			stored++
			if _, ok := m["client_id"]; ok {
				t.Errorf("the customer sees the business's client_id: %v", m)
			}
		}
	}
	if stored != 1 {
		t.Errorf("customer's history has the message %d times", stored)
	}
}

// TestBusinessRemovalResolvedConversation: a resolved conversation assigned
// to an agent who is then removed must not come back to the removed agent
// when it is reopened — whether by the customer writing or by a team member
// reopening it by hand, it belongs in the unassigned queue.
func TestBusinessRemovalResolvedConversation(t *testing.T) {
	ts := startServer(t)
	w := newBizWorld(t, ts, "rr", "Acme Corp")
	gone := w.agent1
	cust2 := regNamed(ts, "rr_cust2", "person", "Dan Duplicate")
	conv2 := cust2.direct(w.biz.Handle)
	cust2.send(conv2, "hello")
	for _, c := range []string{w.conv, conv2} {
		must(t, w.admin.do("PATCH", bz(w.biz, "/conversations/"+c), map[string]any{"assignee": gone.Handle, "status": "resolved"}), http.StatusOK)
	}
	must(t, w.biz.do("DELETE", bz(w.biz, "/agents/"+gone.Handle), nil), http.StatusNoContent)

	item := func(conv string) map[string]any {
		return must(t, w.biz.do("GET", bz(w.biz, "/conversations/"+conv), nil), http.StatusOK).JSON()["item"].(map[string]any)
	}
	assigneeID := func(it map[string]any) string {
		a, _ := it["assignee"].(map[string]any)
		id, _ := a["id"].(string)
		return id
	}
	unassigned := func() []string {
		var ids []string
		for _, it := range must(t, w.biz.do("GET", bz(w.biz, "/conversations?view=unassigned"), nil), http.StatusOK).Items() {
			ids = append(ids, it["conversation_id"].(string))
		}
		return ids
	}

	// The customer writes again: the conversation reopens, unassigned.
	w.customer.send(w.conv, "it broke again")
	if it := item(w.conv); it["status"] != "open" || assigneeID(it) != "" {
		t.Errorf("reopened by the customer: status %v assignee %v, want open and none", it["status"], it["assignee"])
	}
	// A team member reopens the other by hand: it must not land on the
	// removed agent (who can neither see nor answer it) and stay out of
	// the queue.
	must(t, w.agent2.do("PATCH", bz(w.biz, "/conversations/"+conv2), map[string]any{"status": "open"}), http.StatusOK)
	if it := item(conv2); assigneeID(it) == gone.ID {
		t.Errorf("reopened by hand: assigned to the removed agent %v", it["assignee"])
	}
	if q := unassigned(); !slices.Contains(q, w.conv) || !slices.Contains(q, conv2) {
		t.Errorf("unassigned queue %v, want %s and %s", q, w.conv, conv2)
	}
	// With only_assignee_replies, the team must still be able to answer it.
	putSettings(t, w.biz, map[string]any{"only_assignee_replies": true})
	bizReply(t, w.biz, w.agent2, conv2, map[string]any{"text": "Back to you"}, http.StatusCreated)
}

// TestBusinessAgentAddedLive: a person added to the team while their stream
// is open gets the business's changes from then on, tagged with the
// business, without reconnecting.
func TestBusinessAgentAddedLive(t *testing.T) {
	ts := startServer(t)
	w := newBizWorld(t, ts, "ad", "Acme Corp")
	newcomer := regNamed(ts, "ad_new", "person", "Nico New")
	ns := dialBiz(t, ts, newcomer)
	addAgent(t, w.biz, newcomer, "agent")
	evs := ns.until("inbox.agents", func(e bizEvent) bool { return e.Type == "inbox.agents" }, nil)
	if e := evs[len(evs)-1]; e.As != w.biz.ID {
		t.Errorf("team change %s, want as=%s", e, w.biz.ID)
	}
	after := marker("after-joining")
	w.customer.send(w.conv, after)
	evs = ns.until("the customer's message", isMessage(w.conv, after), nil)
	if e := evs[len(evs)-1]; e.As != w.biz.ID || senderID(e.msg()) != w.customer.ID {
		t.Errorf("newcomer got %s, want as=%s from the customer", e, w.biz.ID)
	}
}
