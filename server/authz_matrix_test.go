package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The authorization matrix generated from the route table (issue 13,
// item 5): every authenticated operation of openapi.json — which
// TestOpenAPIMatchesRoutes keeps equal to the registered routes — called
// with the objects of business A by the roles that authz_test.go and
// business_test.go do not cover route by route: another business and its
// agent, tokens without the scope a route needs (a person's and a bot's),
// and the right user's credentials once revoked or expired. Sync and the
// WebSocket stream are included.

// mxOp is one authenticated operation of openapi.json.
type mxOp struct{ method, pattern string }

func (o mxOp) String() string { return o.method + " " + o.pattern }

// mxOps reads every operation of openapi.json that needs a bearer token.
func mxOps(t *testing.T) []mxOp {
	t.Helper()
	raw, err := os.ReadFile("../httpapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []mxOp
	for path, item := range doc.Paths {
		if !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		for method, op := range item {
			var o struct {
				Security *[]any `json:"security"`
			}
			if json.Unmarshal(op, &o) != nil || (o.Security != nil && len(*o.Security) == 0) {
				continue // parameters, or a public operation
			}
			ops = append(ops, mxOp{strings.ToUpper(method), path})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].pattern+ops[i].method < ops[j].pattern+ops[j].method })
	if len(ops) < 100 {
		t.Fatalf("found only %d authenticated operations in openapi.json", len(ops))
	}
	return ops
}

// mxScope is the scope a token needs for an operation, written from the
// scope list of docs/api.md (app/tokens.go), not from httpapi/scopes.go:
// the test checks that the code does what the documentation says.
func mxScope(o mxOp) string {
	p := o.pattern
	switch {
	case o.method == "DELETE" && p == "/api/v1/sessions/current":
		return "" // a token may always end itself
	case strings.HasPrefix(p, "/api/v1/sessions"), strings.HasPrefix(p, "/api/v1/tokens"), p == "/api/v1/me/password",
		p == "/api/v1/me" && o.method == "DELETE":
		return "account"
	case strings.HasPrefix(p, "/api/v1/business"):
		return "business:write"
	case strings.HasPrefix(p, "/api/v1/webhooks"):
		return "webhooks:write"
	case o.method == "GET", p == "/api/v1/stream/tickets":
		return "read"
	case p == "/api/v1/media", strings.HasPrefix(p, "/api/v1/sticker-packs"):
		return "media:write"
	case strings.HasPrefix(p, "/api/v1/bots"):
		return "account"
	case strings.HasPrefix(p, "/api/v1/conversations/{id}/messages"), strings.HasSuffix(p, "/read"),
		strings.HasSuffix(p, "/delivered"), strings.HasSuffix(p, "/typing"):
		return "messages:write"
	case strings.HasPrefix(p, "/api/v1/me"), strings.HasPrefix(p, "/api/v1/users/"), strings.HasPrefix(p, "/api/v1/consent/"):
		return "profile:write"
	case strings.HasPrefix(p, "/api/v1/conversations"):
		return "conversations:write"
	}
	return "account"
}

// mxWorld is business A (with a bot, a webhook, a sticker pack and tokens)
// and business B, on a server with a settable clock.
type mxWorld struct {
	ts      *testServer
	clock   *testClock
	a, b    *bizFixture
	bot     string // A's bot
	botTok  string // its token, scope read only
	hook    string
	pack    string
	tokenID string // an API token of A's admin
	session string // the admin's device session
	secrets []string
	ids     []string // A's object ids that must not show up in a refusal
	// A's consent topic (and its link's token), template and campaign.
	topic, formToken, template, campaign string
	// A's Messenger channel.
	channel string
}

func mxSetup(t *testing.T) *mxWorld {
	t.Helper()
	clock := &testClock{t: time.Now().UTC()}
	ts := startServer(t, func(c *Config) { c.Clock = clock.Now })
	w := &mxWorld{ts: ts, clock: clock}
	w.a = newBizFixture(t, ts, "mx_a", "Acme Matrix")
	w.b = newBizFixture(t, ts, "mx_b", "Globex Matrix")
	a := w.a
	bot := must(t, a.biz.do("POST", "/api/v1/bots", map[string]any{"handle": "mx_a_bot", "display_name": "Acme Bot"}), http.StatusCreated).JSON()
	w.bot = "mx_a_bot"
	if h, ok := bot["handle"].(string); ok {
		w.bot = h
	}
	w.botTok = must(t, a.biz.do("POST", "/api/v1/bots/"+w.bot+"/tokens", map[string]any{"name": "reader", "scopes": []string{"read"}}),
		http.StatusCreated).JSON()["token"].(string)
	w.tokenID = must(t, a.admin.do("POST", "/api/v1/tokens", map[string]any{"name": "kept", "scopes": []string{"read"}}), http.StatusCreated).JSON()["id"].(string)
	w.hook = "0nonexistenthook000000000"
	if r := a.admin.do("POST", "/api/v1/webhooks", map[string]any{"url": "https://hooks.example.com/acme", "events": []string{"message.created"}}); r.Status == http.StatusCreated {
		w.hook = r.JSON()["id"].(string)
	} else {
		t.Logf("no webhook for the matrix (%d %s); its routes are called with an id that does not exist", r.Status, r.Body)
	}
	w.pack = "0nonexistentpack000000000" // packs are the server admins'; their routes are checked for scope and credentials
	w.session = must(t, a.admin.do("GET", "/api/v1/sessions", nil), http.StatusOK).Items()[0]["id"].(string)
	w.secrets = []string{a.noteText, "A reply from Acme Matrix", "Hello, I need help with my order"}
	topic := must(t, a.admin.do("POST", bz(a.biz, "/topics"), map[string]any{"name": "Offers", "keyword": "join"}), http.StatusCreated).JSON()
	w.topic, w.formToken = topic["id"].(string), topic["form_token"].(string)
	w.template = must(t, a.admin.do("POST", bz(a.biz, "/templates"), map[string]any{"name": "Sale", "body": "Hi {{contact.first_name}}",
		"topic": w.topic, "status": "approved"}), http.StatusCreated).JSON()["id"].(string)
	w.campaign = must(t, a.admin.do("POST", bz(a.biz, "/campaigns"), map[string]any{"name": "Spring", "template": w.template}),
		http.StatusCreated).JSON()["id"].(string)
	w.channel = must(t, a.admin.do("POST", bz(a.biz, "/channels"), map[string]any{"platform": "messenger", "account_id": "104857600000001",
		"access_token": "EAAB-matrix-secret-token", "app_secret": "matrix-app-secret", "verify_token": "matrix-verify-token"}),
		http.StatusCreated).JSON()["id"].(string)
	w.secrets = append(w.secrets, "EAAB-matrix-secret-token", "matrix-app-secret", "matrix-verify-token")
	w.ids = []string{a.conv, a.mid, a.team, a.reply, a.contact, a.contact2, a.customerImg, a.agentImg, w.hook, w.pack, w.tokenID, w.session, a.customer.ID,
		w.topic, w.formToken, w.template, w.campaign, w.channel}
	return w
}

// path fills a pattern with A's objects.
func (w *mxWorld) path(t *testing.T, pattern string) string {
	t.Helper()
	a := w.a
	p := pattern
	id, handle := "", a.agent1.Handle
	switch {
	case strings.HasPrefix(p, "/api/v1/business/"), strings.HasPrefix(p, "/api/v1/conversations/"):
		id = a.conv
		if strings.HasPrefix(p, "/api/v1/conversations/{id}/members/") {
			handle = a.customer.Handle
		}
	case strings.HasPrefix(p, "/api/v1/sessions/"):
		id = w.session
	case strings.HasPrefix(p, "/api/v1/tokens/"):
		id = w.tokenID
	case strings.HasPrefix(p, "/api/v1/media/"):
		id = a.customerImg
	case strings.HasPrefix(p, "/api/v1/sticker-packs/"):
		id = w.pack
	case strings.HasPrefix(p, "/api/v1/stickers/"):
		id = "0nonexistentsticker000000"
	case strings.HasPrefix(p, "/api/v1/webhooks/"):
		id = w.hook
	case strings.HasPrefix(p, "/api/v1/bots/"):
		id, handle = "0nonexistenttoken00000000", w.bot
	case strings.HasPrefix(p, "/api/v1/exports/"):
		id = "0nonexistentexport0000000"
	case strings.HasPrefix(p, "/api/v1/admin/"), strings.HasPrefix(p, "/api/v1/me/filters/"):
		id = "0nonexistent0000000000000" // reports and filters: none of A's to name
	}
	p = strings.NewReplacer("{business}", a.biz.Handle, "{id}", id, "{mid}", a.mid, "{handle}", handle, "{team}", a.team,
		"{reply}", a.reply, "{contact}", a.contact, "{emoji}", url.PathEscape("👍"), "{did}", "msg_0nonexistent",
		"{topic}", w.topic, "{template}", w.template, "{campaign}", w.campaign, "{token}", w.formToken, "{channel}", w.channel).Replace(p)
	// A parameter the matrix has no object for (a route added later)
	// names one that does not exist: the route is still called.
	return regexp.MustCompile(`\{[a-z_]+\}`).ReplaceAllString(p, "0nonexistent0000000000000")
}

// mxBodies are bodies that would do something if allowed, by pattern;
// other operations get {}.
func mxBodies(w *mxWorld) map[string]any {
	out := map[string]any{}
	for _, r := range azConvRoutes("c", []string{"m"}, []string{"h"}, "me") {
		if _, ok := out[r.pattern]; !ok && r.body != nil {
			out[r.pattern] = r.body
		}
	}
	for _, r := range bizRoutes("b", bizIDs{conv: "c", mid: "m", team: "t", reply: "r", contact: "k", contact2: w.a.contact2, handles: []string{"h"}}) {
		p := r.method + " /api/v1/business/{business}" + strings.TrimPrefix(r.pattern, r.method+" ")
		if _, ok := out[p]; !ok && r.body != nil {
			out[p] = r.body
		}
	}
	for p, b := range map[string]any{
		"PATCH /api/v1/me":                   map[string]any{"bio": "pwned", "display_name": "Pwned"},
		"PUT /api/v1/me/password":            map[string]any{"current_password": "correct horse battery", "new_password": "pwned password 123"},
		"POST /api/v1/tokens":                map[string]any{"name": "stolen", "scopes": []string{"read"}},
		"POST /api/v1/conversations":         map[string]any{"kind": "group", "title": "Pwned group", "members": []string{w.a.customer.Handle}},
		"POST /api/v1/bots":                  map[string]any{"handle": "mx_pwn_bot", "display_name": "Pwn"},
		"PATCH /api/v1/bots/{handle}":        map[string]any{"display_name": "Pwned bot"},
		"POST /api/v1/bots/{handle}/tokens":  map[string]any{"name": "stolen", "scopes": []string{"read", "messages:write"}},
		"POST /api/v1/webhooks":              map[string]any{"url": "https://evil.example.com/", "events": []string{"message.created"}},
		"PATCH /api/v1/webhooks/{id}":        map[string]any{"url": "https://evil.example.com/"},
		"POST /api/v1/sticker-packs":         map[string]any{"name": "Pwned pack"},
		"POST /api/v1/users/{handle}/report": map[string]any{"reason": "spam"},
		"POST /api/v1/business/{business}/channels": map[string]any{"platform": "instagram", "account_id": "17841400000000001",
			"access_token": "EAAB-pwned-token", "app_secret": "pwned-app-secret", "verify_token": "pwned-verify-token"},
	} {
		out[p] = b
	}
	return out
}

// call makes one request with an Authorization header as given ("" for none).
func (w *mxWorld) call(t *testing.T, authz string, o mxOp, path string, bodies map[string]any) *response {
	t.Helper()
	var body []byte
	if o.method != "GET" && o.method != "DELETE" {
		b, ok := bodies[o.String()]
		if !ok {
			b = map[string]any{}
		}
		body, _ = json.Marshal(b)
	}
	req, err := http.NewRequest(o.method, w.ts.URL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := w.ts.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", o.method, path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: buf.Bytes()}
}

// refused checks a refusal: the wanted status (0: any 4xx), problem+json,
// and none of A's secrets or object ids beyond those in the path.
func (w *mxWorld) refused(t *testing.T, who string, o mxOp, path string, r *response, status int, code string) bool {
	t.Helper()
	ok := true
	switch {
	case r.Status >= 200 && r.Status < 300:
		t.Errorf("%s: %s (%s): unauthorized %d: %.300s", who, o, path, r.Status, r.Body)
		return false
	case status != 0 && (r.Status != status || r.Code() != code):
		t.Errorf("%s: %s (%s): %d %q, want %d %q: %.300s", who, o, path, r.Status, r.Code(), status, code, r.Body)
		ok = false
	case r.Status < 400 || r.Status >= 500:
		t.Errorf("%s: %s (%s): status %d: %.300s", who, o, path, r.Status, r.Body)
		ok = false
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: %s: Content-Type %q", who, o, ct)
		ok = false
	}
	for _, s := range w.secrets {
		if bytes.Contains(r.Body, []byte(s)) {
			t.Errorf("%s: %s: refusal holds %q: %s", who, o, s, r.Body)
			ok = false
		}
	}
	for _, id := range w.ids {
		if id != "" && bytes.Contains(r.Body, []byte(id)) && !strings.Contains(path, id) {
			t.Errorf("%s: %s: refusal names %s: %s", who, o, id, r.Body)
			ok = false
		}
	}
	return ok
}

// namesA reports whether an operation, filled in, names one of A's objects
// (rather than the caller's own account, or a public profile).
func namesA(o mxOp) bool {
	p := o.pattern
	if strings.HasPrefix(p, "/api/v1/users/") {
		return false // profiles, follows, blocks and reports are for anyone
	}
	return regexp.MustCompile(`\{(id|mid|business|team|reply|contact|handle|topic|template|campaign)\}`).MatchString(p)
}

// TestAuthorizationMatrix runs the matrix. Destructive operations (DELETE,
// leave, merge) come last within each role, and A's state is compared
// before and after.
func TestAuthorizationMatrix(t *testing.T) {
	w := mxSetup(t)
	a, b := w.a, w.b
	ops := mxOps(t)
	bodies := mxBodies(w)
	// Destructive operations last.
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].method != "DELETE" && ops[j].method == "DELETE" })
	before := a.snapshot(t)
	calls := map[string]int{}

	// 1. Another business and its agent, on every operation naming A's
	//    objects: 0 successes, no data.
	for _, u := range []*user{b.agent1, b.admin, b.biz} {
		who := "other business (" + u.Handle + ")"
		for _, o := range ops {
			if !namesA(o) || o.pattern == "/api/v1/stream" {
				continue
			}
			p := w.path(t, o.pattern)
			w.refused(t, who, o, p, w.call(t, "Bearer "+u.Token, o, p, bodies), 0, "")
			calls[who]++
		}
	}

	// 2. Tokens without the scope an operation needs: 403 insufficient_scope
	//    on every such operation, whatever the object.
	scoped := map[string][]string{}
	tokens := map[string]string{}
	for name, sc := range map[string][]string{
		"admin token [read]":                             {"read"},
		"admin token [messages:write]":                   {"messages:write"},
		"admin token [all but read, messages, business]": {"conversations:write", "profile:write", "media:write", "webhooks:write"},
		"admin token [business:write]":                   {"business:write"},
	} {
		tokens[name] = must(t, a.admin.do("POST", "/api/v1/tokens", map[string]any{"name": name[:10], "scopes": sc}), http.StatusCreated).JSON()["token"].(string)
		scoped[name] = sc
	}
	tokens["bot token [read]"], scoped["bot token [read]"] = w.botTok, []string{"read"}
	names := make([]string, 0, len(tokens))
	for n := range tokens {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, o := range ops {
			need := mxScope(o)
			if need == "" || slices.Contains(scoped[name], need) || o.pattern == "/api/v1/stream" {
				continue
			}
			p := w.path(t, o.pattern)
			w.refused(t, name, o, p, w.call(t, "Bearer "+tokens[name], o, p, bodies), http.StatusForbidden, "insufficient_scope")
			calls[name]++
		}
	}
	// The stream needs read: a token without it cannot open one.
	for _, name := range names {
		if slices.Contains(scoped[name], "read") {
			continue
		}
		if st := mxDial(t, w.ts, "Bearer "+tokens[name]); st != http.StatusForbidden {
			t.Errorf("%s: WebSocket upgrade answered %d, want 403", name, st)
		}
		calls[name]++
	}

	// 3. The right user's credentials, revoked or expired: 401 everywhere,
	//    the stream and sync included; a stream ticket issued before the
	//    revocation dies with it.
	login := func() string {
		return must(t, w.ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": a.admin.Handle, "password": "correct horse battery"}),
			http.StatusCreated).JSON()["token"].(string)
	}
	revokedDevice := login()
	var revokedID string
	for _, s := range must(t, w.ts.do(revokedDevice, "GET", "/api/v1/sessions", nil), http.StatusOK).Items() {
		if cur, _ := s["current"].(bool); cur {
			revokedID = s["id"].(string)
		}
	}
	ticket := must(t, w.ts.do(revokedDevice, "POST", "/api/v1/stream/tickets", nil), http.StatusCreated).JSON()["ticket"].(string)
	if revokedID == "" {
		t.Fatal("the new session is not marked current in the session list")
	}
	must(t, a.admin.do("DELETE", "/api/v1/sessions/"+revokedID, nil), http.StatusNoContent)
	revokedTok := must(t, a.admin.do("POST", "/api/v1/tokens", map[string]any{"name": "revoked", "scopes": []string{"read", "messages:write", "business:write"}}), http.StatusCreated).JSON()
	must(t, a.admin.do("DELETE", "/api/v1/tokens/"+revokedTok["id"].(string), nil), http.StatusNoContent)
	expiring := must(t, a.admin.do("POST", "/api/v1/tokens", map[string]any{"name": "expiring", "scopes": []string{"read", "messages:write", "business:write", "conversations:write"}, "expires_in_days": 1}), http.StatusCreated).JSON()["token"].(string)
	must(t, w.ts.do(expiring, "GET", "/api/v1/sync?since=0", nil), http.StatusOK)
	dead := []struct{ name, token string }{
		{"revoked device session", revokedDevice},
		{"revoked API token", revokedTok["token"].(string)},
	}
	check401 := func(name, token string) {
		for _, o := range ops {
			p := w.path(t, o.pattern)
			if o.pattern == "/api/v1/stream" {
				if st := mxDial(t, w.ts, "Bearer "+token); st != http.StatusUnauthorized {
					t.Errorf("%s: WebSocket upgrade answered %d, want 401", name, st)
				}
			} else {
				w.refused(t, name, o, p, w.call(t, "Bearer "+token, o, p, bodies), http.StatusUnauthorized, "unauthorized")
			}
			calls[name]++
		}
	}
	for _, d := range dead {
		check401(d.name, d.token)
	}
	if st := mxDialURL(t, "ws://"+w.ts.Addr()+"/api/v1/stream?ticket="+url.QueryEscape(ticket), ""); st != http.StatusUnauthorized {
		t.Errorf("a ticket of a revoked session opened a stream (%d)", st)
	}
	calls["revoked device session"]++
	// Past its expiry (the clock moves a day and a minute).
	w.clock.Advance(24*time.Hour + time.Minute)
	check401("expired API token", expiring)

	sameSnapshot(t, "A", before, a.snapshot(t))
	total := 0
	keys := make([]string, 0, len(calls))
	for k := range calls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%-50s %4d calls refused", k, calls[k])
		total += calls[k]
	}
	t.Logf("%d operations × %d roles: %d calls, 0 unauthorized 2xx", len(ops), len(keys), total)
}

// TestAuthorizationMatrixRealtime: what business A does never reaches B's
// team through sync or the stream.
func TestAuthorizationMatrixRealtime(t *testing.T) {
	w := mxSetup(t)
	a, b := w.a, w.b
	var p0 int64
	{
		r := must(t, b.agent1.do("GET", "/api/v1/sync?since=now", nil), http.StatusOK).JSON()
		p0 = int64(r["next"].(float64))
	}
	sc := w.ts.dial(t, b.agent1.Token, p0)
	defer sc.conn.CloseNow()

	// A's team and customer talk; then B's customer writes, which B's
	// agent must see, and which ends the wait.
	secret := marker("mx-secret")
	a.customer.send(a.conv, secret+"-from-customer")
	bizReply(t, a.biz, a.agent1, a.conv, map[string]any{"text": secret + "-reply"}, http.StatusCreated)
	must(t, a.agent1.do("POST", bz(a.biz, "/conversations/"+a.conv+"/notes"), map[string]any{"text": secret + "-note"}), http.StatusCreated)
	end := marker("mx-end")
	b.customer.send(b.conv, end)

	deadline := time.After(liveness)
	for seen := false; !seen; {
		select {
		case e, ok := <-sc.frames:
			if !ok {
				t.Fatal("stream closed")
			}
			raw, _ := json.Marshal(e)
			if bytes.Contains(raw, []byte(secret)) || bytes.Contains(raw, []byte(a.conv)) {
				t.Fatalf("B's agent's stream carries A's activity: %s", raw)
			}
			seen = bytes.Contains(raw, []byte(end))
		case <-deadline:
			t.Fatal("B's own message never arrived on the stream")
		}
	}
	r := must(t, b.agent1.do("GET", "/api/v1/sync?since="+strconv.FormatInt(p0, 10), nil), http.StatusOK)
	if bytes.Contains(r.Body, []byte(secret)) || bytes.Contains(r.Body, []byte(a.conv)) {
		t.Fatalf("B's agent's sync carries A's activity: %s", r.Body)
	}
	if !bytes.Contains(r.Body, []byte(end)) {
		t.Fatalf("B's agent's sync lacks B's own message: %s", r.Body)
	}
}

// mxDial tries a WebSocket upgrade with an Authorization header and
// returns the HTTP status of the answer (101 when it succeeded).
func mxDial(t *testing.T, ts *testServer, authz string) int {
	t.Helper()
	return mxDialURL(t, "ws://"+ts.Addr()+"/api/v1/stream", authz)
}

func mxDialURL(t *testing.T, u, authz string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	defer cancel()
	opts := &websocket.DialOptions{}
	if authz != "" {
		opts.HTTPHeader = http.Header{"Authorization": {authz}}
	}
	conn, resp, err := websocket.Dial(ctx, u, opts)
	if err == nil {
		conn.CloseNow()
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	return resp.StatusCode
}
