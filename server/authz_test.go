package server

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Authorization tests: every conversation route is called by people who
// must not get in — strangers, blocked accounts, removed members and
// callers without valid credentials — and must neither answer with anything
// secret nor change anything.

// azClass says what a conversation route does, which decides what a former
// member may still do with it.
type azClass int

const (
	azRead     azClass = iota // reads conversation state or history
	azPersonal                // changes only the caller's own filing or read marker
	azState                   // moves the caller's own membership (accept, decline, leave)
	azWrite                   // changes the conversation for others
)

// azRoute is one concrete call of a route pattern of routes.go.
type azRoute struct {
	pattern string // exactly as in routes.go
	method  string
	path    string
	body    any
	class   azClass
	mid     string // the message id in the path, if any
}

func (r azRoute) String() string { return r.method + " " + r.path }

const azThumbs = "👍"

// azConvRoutes builds a call of every /api/v1/conversations/{id}… route for
// conv, with each of mids for the message routes and each of handles for the
// member routes. self is the caller's handle.
func azConvRoutes(conv string, mids, handles []string, self string) []azRoute {
	base := "/api/v1/conversations/" + url.PathEscape(conv)
	const p = "/api/v1/conversations/{id}"
	var rs []azRoute
	add := func(class azClass, method, suffix, path string, body any, mid string) {
		rs = append(rs, azRoute{pattern: method + " " + p + suffix, method: method, path: base + path, body: body, class: class, mid: mid})
	}
	add(azRead, "GET", "", "", nil, "")
	add(azWrite, "PATCH", "", "", map[string]any{"title": "pwned title"}, "")
	add(azWrite, "PATCH", "", "", map[string]any{"invite_policy": "members"}, "")
	add(azState, "POST", "/accept", "/accept", nil, "")
	add(azState, "POST", "/decline", "/decline", nil, "")
	add(azState, "POST", "/report-spam", "/report-spam", nil, "")
	add(azPersonal, "PUT", "/archive", "/archive", nil, "")
	add(azPersonal, "DELETE", "/archive", "/archive", nil, "")
	add(azPersonal, "PUT", "/pin", "/pin", nil, "")
	add(azPersonal, "DELETE", "/pin", "/pin", nil, "")
	add(azPersonal, "PUT", "/mute", "/mute", map[string]any{"duration_seconds": 3600}, "")
	add(azPersonal, "PUT", "/mute", "/mute", nil, "")
	add(azPersonal, "DELETE", "/mute", "/mute", nil, "")
	add(azWrite, "PUT", "/disappearing", "/disappearing", map[string]any{"disappear_after": 300}, "")
	add(azWrite, "POST", "/members", "/members", map[string]any{"members": []string{self}}, "")
	for _, h := range handles {
		add(azWrite, "POST", "/members", "/members", map[string]any{"members": []string{h}}, "")
		add(azWrite, "DELETE", "/members/{handle}", "/members/"+url.PathEscape(h), nil, "")
		add(azWrite, "PUT", "/members/{handle}/role", "/members/"+url.PathEscape(h)+"/role", map[string]any{"role": "owner"}, "")
		add(azWrite, "PUT", "/members/{handle}/role", "/members/"+url.PathEscape(h)+"/role", map[string]any{"role": "member"}, "")
	}
	add(azPersonal, "POST", "/read", "/read", map[string]any{"seq": 1}, "")
	add(azPersonal, "POST", "/read", "/read", map[string]any{"seq": 1 << 40}, "")
	add(azPersonal, "POST", "/delivered", "/delivered", map[string]any{"seq": 1}, "")
	add(azPersonal, "POST", "/delivered", "/delivered", map[string]any{"seq": 1 << 40}, "")
	add(azWrite, "POST", "/typing", "/typing", map[string]any{"typing": true}, "")
	add(azWrite, "POST", "/typing", "/typing", map[string]any{"typing": false}, "")
	add(azWrite, "POST", "/messages", "/messages", map[string]any{"text": "intruder message"}, "")
	add(azWrite, "POST", "/messages", "/messages", map[string]any{"text": "intruder message", "client_id": "intruder-1"}, "")
	add(azRead, "GET", "/messages", "/messages", nil, "")
	add(azRead, "GET", "/messages", "/messages?after_seq=0&limit=200", nil, "")
	add(azRead, "GET", "/messages", "/messages?before_seq=1000000&limit=200", nil, "")
	for _, mid := range mids {
		m := "/messages/" + url.PathEscape(mid)
		add(azWrite, "POST", "/messages", "/messages", map[string]any{"text": "intruder reply", "reply_to": mid}, mid)
		add(azWrite, "PATCH", "/messages/{mid}", m, map[string]any{"text": "intruder edit"}, mid)
		add(azRead, "GET", "/messages/{mid}/edits", m+"/edits", nil, mid)
		for _, e := range []string{azThumbs, "❤️", "🎉"} {
			add(azWrite, "PUT", "/messages/{mid}/reactions/{emoji}", m+"/reactions/"+url.PathEscape(e), nil, mid)
			add(azWrite, "DELETE", "/messages/{mid}/reactions/{emoji}", m+"/reactions/"+url.PathEscape(e), nil, mid)
		}
	}
	// Unsend last, so that a wrongful success shows up as a change rather
	// than spoiling the calls after it.
	for _, mid := range mids {
		add(azWrite, "POST", "/messages/{mid}/redact", "/messages/"+url.PathEscape(mid)+"/redact", map[string]any{}, mid)
		add(azWrite, "DELETE", "/messages/{mid}", "/messages/"+url.PathEscape(mid), nil, mid)
	}
	// Leaving last of all: a wrongful success would end the membership.
	add(azState, "POST", "/leave", "/leave", nil, "")
	return rs
}

// azAuthPatterns returns the patterns of routes.go registered with s.auth.
func azAuthPatterns(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("../httpapi/routes.go")
	if err != nil {
		t.Fatalf("read routes.go: %v", err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`s\.auth\("([A-Z]+ /[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
		out = append(out, m[1])
	}
	if len(out) < 30 {
		t.Fatalf("found only %d authenticated routes in routes.go; has the registration changed?", len(out))
	}
	return out
}

// TestAuthorizationRouteTableCoversRoutes fails when routes.go gains a
// conversation route that the authorization table does not call.
func TestAuthorizationRouteTableCoversRoutes(t *testing.T) {
	covered := map[string]bool{}
	for _, r := range azConvRoutes("c", []string{"m"}, []string{"h"}, "me") {
		covered[r.pattern] = true
	}
	n := 0
	for _, p := range azAuthPatterns(t) {
		if _, path, _ := strings.Cut(p, " "); strings.HasPrefix(path, "/api/v1/conversations/{id}") {
			n++
			if !covered[p] {
				t.Errorf("route %q is not in the authorization table (azConvRoutes)", p)
			}
		}
	}
	if n < 22 {
		t.Errorf("found %d conversation routes in routes.go, want at least 22", n)
	}
}

// azFixture is a small world with secrets in it.
type azFixture struct {
	ts                                *testServer
	alice, bob, carol, dave, mal, eve *user
	dm, group, foreign                string
	dmMids, groupMids, foreignMids    []string
	groupPreMids, groupPostMids       []string // split at carol's removal
	secrets                           []string // every text and title ever stored
	postRemovalSecrets                []string // message texts written after carol's removal
	carolLeftSeq                      int64
	renamedTitle                      string
	memberHandles, memberIDs, convIDs []string
	allMids                           []string
	snapshotUsers                     []*user
	snapshotConvs                     map[*user][]string
}

func azMsgID(m map[string]any) string { return m["id"].(string) }

func azSeq(m map[string]any) int64 { return int64(m["seq"].(float64)) }

// azSetup builds the fixture:
//   - a direct conversation alice↔bob with an edited message and reactions,
//     pinned by alice;
//   - a group owned by alice with bob and carol, edited messages and
//     reactions, muted by alice; carol is then removed, dave is added, the
//     group is renamed and more secrets are sent;
//   - a request carol→dave that dave declined;
//   - alice blocks eve (never a member of anything) and bob.
func azSetup(t *testing.T) *azFixture {
	t.Helper()
	ts := startServer(t)
	f := &azFixture{ts: ts}
	f.alice = ts.register("alice_q7", "person")
	f.bob = ts.register("bob_q7", "person")
	f.carol = ts.register("carol_q7", "person")
	f.dave = ts.register("dave_q7", "person")
	f.mal = ts.register("mallory_q7", "person")
	f.eve = ts.register("eve_q7", "person")
	for _, u := range []*user{f.bob, f.carol, f.dave} {
		must(t, u.do("PUT", "/api/v1/users/alice_q7/follow", nil), http.StatusNoContent)
	}
	secret := func(s string) string { f.secrets = append(f.secrets, s); return s }
	edit := func(u *user, conv, mid, text string) {
		t.Helper()
		must(t, u.do("PATCH", "/api/v1/conversations/"+conv+"/messages/"+mid, map[string]string{"text": secret(text)}), http.StatusOK)
	}
	react := func(u *user, conv, mid, emoji string) {
		t.Helper()
		must(t, u.do("PUT", "/api/v1/conversations/"+conv+"/messages/"+mid+"/reactions/"+url.PathEscape(emoji), nil), http.StatusNoContent)
	}

	// A request carol→dave that dave declines.
	f.foreign = f.carol.direct("dave_q7")
	f.carol.send(f.foreign, secret("SECRET-foreign-carol-to-dave"))
	must(t, f.dave.do("POST", "/api/v1/conversations/"+f.foreign+"/decline", nil), http.StatusNoContent)

	// Direct alice↔bob.
	f.dm = f.alice.direct("bob_q7")
	a1 := f.alice.send(f.dm, secret("SECRET-dm-a1-original"))
	b1 := f.bob.send(f.dm, secret("SECRET-dm-b1-from-bob"))
	r := must(t, f.alice.do("POST", "/api/v1/conversations/"+f.dm+"/messages", map[string]string{"text": secret("SECRET-dm-a2"), "client_id": "alice-cid-1"}), http.StatusCreated)
	a2 := r.JSON()
	edit(f.alice, f.dm, azMsgID(a1), "SECRET-dm-a1-edited")
	edit(f.bob, f.dm, azMsgID(b1), "SECRET-dm-b1-edited")
	react(f.alice, f.dm, azMsgID(b1), azThumbs)
	react(f.bob, f.dm, azMsgID(a1), "❤️")
	must(t, f.bob.do("POST", "/api/v1/conversations/"+f.dm+"/read", map[string]any{"seq": azSeq(a2)}), http.StatusOK)
	must(t, f.alice.do("POST", "/api/v1/conversations/"+f.dm+"/read", map[string]any{"seq": azSeq(a2)}), http.StatusOK)
	must(t, f.alice.do("PUT", "/api/v1/conversations/"+f.dm+"/pin", nil), http.StatusOK)

	// The group.
	r = must(t, f.alice.do("POST", "/api/v1/conversations", map[string]any{"kind": "group", "title": secret("SECRET-group-title"), "members": []string{"bob_q7", "carol_q7"}}), http.StatusCreated)
	f.group = r.JSON()["id"].(string)
	for _, a := range r.JSON()["added"].([]any) {
		if res := a.(map[string]any)["result"]; res != "added" {
			t.Fatalf("group add: %v, want added", a)
		}
	}
	g1 := f.alice.send(f.group, secret("SECRET-group-g1-original"))
	c1 := f.carol.send(f.group, secret("SECRET-group-c1-by-carol"))
	b2 := f.bob.send(f.group, secret("SECRET-group-b2-by-bob"))
	edit(f.alice, f.group, azMsgID(g1), "SECRET-group-g1-edited")
	edit(f.carol, f.group, azMsgID(c1), "SECRET-group-c1-edited")
	react(f.carol, f.group, azMsgID(g1), "🎉")
	react(f.bob, f.group, azMsgID(c1), azThumbs)
	react(f.alice, f.group, azMsgID(b2), "❤️")
	must(t, f.alice.do("PUT", "/api/v1/conversations/"+f.group+"/mute", map[string]any{"duration_seconds": 7 * 24 * 3600}), http.StatusOK)

	// Carol is removed; she keeps history up to her removal.
	must(t, f.alice.do("DELETE", "/api/v1/conversations/"+f.group+"/members/carol_q7", nil), http.StatusNoContent)
	r = must(t, f.carol.do("POST", "/api/v1/conversations/"+f.group+"/read", map[string]any{"seq": 1 << 40}), http.StatusOK)
	f.carolLeftSeq = int64(r.JSON()["read_seq"].(float64))

	// After the removal: dave joins, secrets are sent, edited and reacted to,
	// and the group is renamed.
	r = must(t, f.alice.do("POST", "/api/v1/conversations/"+f.group+"/members", map[string]any{"members": []string{"dave_q7"}}), http.StatusOK)
	if res := r.Items()[0]["result"]; res != "added" {
		t.Fatalf("add dave: %s", r.Body)
	}
	n0 := len(f.secrets)
	g3 := f.alice.send(f.group, secret("SECRET-group-after-removal-g3"))
	d1 := f.dave.send(f.group, secret("SECRET-group-after-removal-d1-by-dave"))
	edit(f.alice, f.group, azMsgID(g3), "SECRET-group-after-removal-g3-edited")
	react(f.bob, f.group, azMsgID(g3), azThumbs)
	react(f.alice, f.group, azMsgID(d1), "🎉")
	f.postRemovalSecrets = slices.Clone(f.secrets[n0:])
	f.renamedTitle = secret("SECRET-group-title-renamed-after-removal")
	must(t, f.alice.do("PATCH", "/api/v1/conversations/"+f.group, map[string]any{"title": f.renamedTitle}), http.StatusOK)
	for _, u := range []*user{f.alice, f.bob, f.dave} {
		last := int64(must(t, u.do("GET", "/api/v1/conversations/"+f.group, nil), http.StatusOK).JSON()["last_seq"].(float64))
		must(t, u.do("POST", "/api/v1/conversations/"+f.group+"/read", map[string]any{"seq": last}), http.StatusOK)
	}

	// Blocks: eve was never in anything; bob is alice's partner in the dm.
	must(t, f.alice.do("PUT", "/api/v1/users/eve_q7/block", nil), http.StatusNoContent)
	must(t, f.alice.do("PUT", "/api/v1/users/bob_q7/block", nil), http.StatusNoContent)

	// Message ids, as their members see them (system messages included).
	f.dmMids = azMids(t, f.alice, f.dm, nil)
	var pre, post []string
	f.groupMids = azMids(t, f.alice, f.group, func(m map[string]any) {
		if azSeq(m) <= f.carolLeftSeq {
			pre = append(pre, azMsgID(m))
		} else {
			post = append(post, azMsgID(m))
		}
	})
	f.groupPreMids, f.groupPostMids = pre, post
	f.foreignMids = azMids(t, f.carol, f.foreign, nil)
	if len(f.dmMids) != 3 || len(post) < 4 || len(pre) < 5 || len(f.foreignMids) != 1 {
		t.Fatalf("unexpected fixture: dm %d, group pre %d post %d, foreign %d messages", len(f.dmMids), len(pre), len(post), len(f.foreignMids))
	}
	f.allMids = slices.Concat(f.dmMids, f.groupMids, f.foreignMids)
	f.memberHandles = []string{"alice_q7", "bob_q7", "carol_q7", "dave_q7"}
	f.memberIDs = []string{f.alice.ID, f.bob.ID, f.carol.ID, f.dave.ID}
	f.convIDs = []string{f.dm, f.group, f.foreign}
	f.snapshotUsers = []*user{f.alice, f.bob, f.carol, f.dave}
	f.snapshotConvs = map[*user][]string{
		f.alice: {f.dm, f.group},
		f.bob:   {f.dm, f.group},
		f.carol: {f.group, f.foreign},
		f.dave:  {f.group},
	}
	return f
}

// azMids lists the ids of every message of conv that u can see.
func azMids(t *testing.T, u *user, conv string, each func(map[string]any)) []string {
	t.Helper()
	r := must(t, u.do("GET", "/api/v1/conversations/"+conv+"/messages?after_seq=0&limit=200", nil), http.StatusOK)
	var ids []string
	for _, m := range r.Items() {
		ids = append(ids, azMsgID(m))
		if each != nil {
			each(m)
		}
	}
	return ids
}

// azSnapshot is everything the members can see: their conversations, each
// with its full history, edits and reactions, and their folders.
func (f *azFixture) snapshot(t *testing.T) map[string]any {
	t.Helper()
	out := map[string]any{}
	get := func(u *user, path string) any {
		t.Helper()
		r := must(t, u.do("GET", path, nil), http.StatusOK)
		var v any
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, u := range f.snapshotUsers {
		for _, folder := range []string{"inbox", "requests", "archived"} {
			out[u.Handle+" folder "+folder] = get(u, "/api/v1/conversations?folder="+folder)
		}
		for _, c := range f.snapshotConvs[u] {
			base := "/api/v1/conversations/" + c
			out[u.Handle+" "+base] = get(u, base)
			out[u.Handle+" "+base+"/messages"] = get(u, base+"/messages?after_seq=0&limit=200")
			for _, mid := range azMids(t, u, c, nil) {
				out[u.Handle+" "+base+"/messages/"+mid+"/edits"] = get(u, base+"/messages/"+mid+"/edits")
			}
		}
	}
	return out
}

// checkUnchanged compares a snapshot with the current state.
func (f *azFixture) checkUnchanged(t *testing.T, before map[string]any) {
	t.Helper()
	after := f.snapshot(t)
	keys := make([]string, 0, len(before))
	for k := range before {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !reflect.DeepEqual(before[k], after[k]) {
			b, _ := json.Marshal(before[k])
			a, _ := json.Marshal(after[k])
			t.Errorf("state changed: %s\nbefore: %s\nafter:  %s", k, b, a)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("state changed: %s appeared", k)
		}
	}
}

// leaks returns the secrets that body holds. A handle, id or text that the
// caller put in the URL does not count.
func (f *azFixture) leaks(body []byte, path string, texts, ids, handles []string) []string {
	p, err := url.PathUnescape(path)
	if err != nil {
		p = path
	}
	var out []string
	for _, s := range texts {
		if bytes.Contains(body, []byte(s)) {
			out = append(out, "text "+s)
		}
	}
	for _, s := range ids {
		if bytes.Contains(body, []byte(s)) && !strings.Contains(p, s) {
			out = append(out, "id "+s)
		}
	}
	lower := bytes.ToLower(body)
	for _, h := range handles {
		if bytes.Contains(lower, []byte(strings.ToLower(h))) && !strings.Contains(strings.ToLower(p), strings.ToLower(h)) {
			out = append(out, "handle "+h)
		}
	}
	return out
}

// secretIDs is every message, member and conversation id of the fixture.
func (f *azFixture) secretIDs() []string {
	return slices.Concat(f.allMids, f.memberIDs, f.convIDs)
}

// azDenied asserts that r refuses: 403 or 404, problem+json, no secrets.
func (f *azFixture) azDenied(t *testing.T, who string, rt azRoute, r *response) {
	t.Helper()
	if r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
		t.Errorf("%s: %s: status %d, want 403 or 404: %s", who, rt, r.Status, r.Body)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: %s: Content-Type %q, want application/problem+json", who, rt, ct)
	}
	if c := r.Code(); c != "not_found" && c != "forbidden" && c != "dm_not_allowed" {
		t.Errorf("%s: %s: code %q, want not_found or forbidden: %s", who, rt, c, r.Body)
	}
	if l := f.leaks(r.Body, rt.path, f.secrets, f.secretIDs(), f.memberHandles); len(l) > 0 {
		t.Errorf("%s: %s: refusal leaks %v: %s", who, rt, l, r.Body)
	}
}

// strangerCalls runs every conversation route on the fixture's
// conversations as u, who belongs to none of them, and checks each refusal.
func (f *azFixture) strangerCalls(t *testing.T, u *user, who string, convs map[string][]string) {
	t.Helper()
	calls := 0
	for conv, mids := range convs {
		for _, rt := range azConvRoutes(conv, mids, []string{"alice_q7", "bob_q7", "carol_q7", "dave_q7", u.Handle}, u.Handle) {
			f.azDenied(t, who, rt, u.do(rt.method, rt.path, rt.body))
			calls++
		}
	}
	t.Logf("%s: %d calls refused", who, calls)
}

// TestAuthorizationNonMember: a stranger (and carol, a stranger to the
// direct conversation; and dave, who declined carol's request) can do
// nothing with a conversation and learns nothing about it.
func TestAuthorizationNonMember(t *testing.T) {
	f := azSetup(t)
	before := f.snapshot(t)

	allMids := map[string][]string{f.dm: f.dmMids, f.group: f.groupMids, f.foreign: f.foreignMids}
	f.strangerCalls(t, f.mal, "mallory (stranger)", allMids)
	// Message ids of one conversation on another's path.
	f.strangerCalls(t, f.mal, "mallory (crossed ids)", map[string][]string{f.dm: f.groupMids[:2], f.group: f.dmMids})
	f.strangerCalls(t, f.carol, "carol (stranger to the dm)", map[string][]string{f.dm: f.dmMids})
	f.strangerCalls(t, f.dave, "dave (declined the request)", map[string][]string{f.foreign: f.foreignMids})
	f.strangerCalls(t, f.dave, "dave (stranger to the dm)", map[string][]string{f.dm: f.dmMids})

	// The stranger's own lists stay empty.
	for _, folder := range []string{"inbox", "requests", "archived"} {
		if ids := f.mal.folder(folder); len(ids) != 0 {
			t.Errorf("mallory's %s holds %v after the attempts", folder, ids)
		}
	}
	f.checkUnchanged(t, before)
}

// TestAuthorizationBlocked: an account that alice blocked and that was never
// a member gets nowhere; bob, blocked while a member of the direct
// conversation, may not send into it (nor may alice, the blocker).
func TestAuthorizationBlocked(t *testing.T) {
	f := azSetup(t)
	before := f.snapshot(t)

	// (b) eve, blocked by alice and never a member.
	f.strangerCalls(t, f.eve, "eve (blocked, never a member)", map[string][]string{f.dm: f.dmMids, f.group: f.groupMids})

	// (c) bob, blocked by alice, in their direct conversation.
	dm := "/api/v1/conversations/" + f.dm
	for _, body := range []map[string]any{
		{"text": "let me in"},
		{"text": "let me in", "client_id": "bob-after-block-1"},
		{"text": "let me in", "reply_to": f.dmMids[0]},
	} {
		r := f.bob.do("POST", dm+"/messages", body)
		wantProblem(t, r, http.StatusForbidden, "dm_not_allowed")
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("bob blocked send: Content-Type %q", ct)
		}
	}
	// Both directions go silent: the blocker cannot send either.
	wantProblem(t, f.alice.do("POST", dm+"/messages", map[string]any{"text": "one last word"}), http.StatusForbidden, "dm_not_allowed")
	// Starting the conversation again does not reopen it.
	wantProblem(t, f.bob.do("POST", "/api/v1/conversations", map[string]string{"kind": "direct", "with": "alice_q7"}), http.StatusForbidden, "dm_not_allowed")
	wantProblem(t, f.eve.do("POST", "/api/v1/conversations", map[string]string{"kind": "direct", "with": "alice_q7"}), http.StatusForbidden, "dm_not_allowed")

	f.checkUnchanged(t, before)

	// A block silences both directions (DESIGN.md §1), so nothing new may
	// reach the other side through the direct conversation: no reactions
	// either way, and the blocked one may not rewrite what the blocker
	// sees by editing. (Unsending stays allowed: it only takes away.)
	aliceMsg, bobMsg := f.dmMids[0], f.dmMids[1]
	for _, c := range []struct {
		who          *user
		method, path string
		body         any
	}{
		{f.bob, "PUT", dm + "/messages/" + aliceMsg + "/reactions/" + url.PathEscape("😡"), nil},
		{f.alice, "PUT", dm + "/messages/" + bobMsg + "/reactions/" + url.PathEscape("😡"), nil},
		{f.bob, "PATCH", dm + "/messages/" + bobMsg, map[string]string{"text": "edited after the block"}},
	} {
		r := c.who.do(c.method, c.path, c.body)
		if r.Status != http.StatusForbidden || (r.Code() != "dm_not_allowed" && r.Code() != "forbidden") {
			t.Errorf("%s %s %s across a block: got %d %q, want 403 dm_not_allowed: %s", c.who.Handle, c.method, c.path, r.Status, r.Code(), r.Body)
		}
	}
	f.checkUnchanged(t, before)
}

// TestAuthorizationRemovedMember: carol, removed from the group, can no
// longer change it and can read only what was sent before her removal.
func TestAuthorizationRemovedMember(t *testing.T) {
	f := azSetup(t)
	before := f.snapshot(t)

	post := map[string]bool{}
	for _, id := range f.groupPostMids {
		post[id] = true
	}
	postIDs := slices.Concat(f.groupPostMids, []string{f.dave.ID})
	mids := slices.Concat(f.groupPreMids, f.groupPostMids)
	handles := []string{"alice_q7", "bob_q7", "dave_q7", "carol_q7"}
	var softLeaks []string
	for _, rt := range azConvRoutes(f.group, mids, handles, "carol_q7") {
		r := f.carol.do(rt.method, rt.path, rt.body)
		who := "carol (removed)"
		ok2xx := r.Status >= 200 && r.Status < 300
		switch {
		case post[rt.mid]:
			// Anything about a message after her removal: as if it did not exist.
			if r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
				t.Errorf("%s: %s (message after removal): status %d, want 403 or 404: %s", who, rt, r.Status, r.Body)
			}
		case rt.class == azWrite:
			if r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
				t.Errorf("%s: %s: status %d, want 403 or 404: %s", who, rt, r.Status, r.Body)
			}
		case rt.class == azState:
			// Accepting, declining or leaving a group she was removed from
			// must not succeed; 409 (not a request / not active) is fine.
			if ok2xx || (r.Status != http.StatusForbidden && r.Status != http.StatusNotFound && r.Status != http.StatusConflict) {
				t.Errorf("%s: %s: status %d, want 403, 404 or 409: %s", who, rt, r.Status, r.Body)
			}
		case rt.class == azRead, rt.class == azPersonal:
			// Her own history and filing stay hers.
			if !ok2xx && r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
				t.Errorf("%s: %s: status %d, want success, 403 or 404: %s", who, rt, r.Status, r.Body)
			}
		}
		if r.Status >= 400 {
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("%s: %s: Content-Type %q, want application/problem+json", who, rt, ct)
			}
		}
		if l := f.leaks(r.Body, rt.path, f.postRemovalSecrets, f.groupPostMids, nil); len(l) > 0 {
			t.Errorf("%s: %s: leaks what was sent after her removal %v: %s", who, rt, l, r.Body)
		}
		if ok2xx && rt.method == "POST" && strings.HasSuffix(rt.path, "/delivered") {
			if got := int64(r.JSON()["delivered_seq"].(float64)); got > f.carolLeftSeq {
				t.Errorf("%s: %s: delivered_seq %d beyond her removal at %d", who, rt, got, f.carolLeftSeq)
			}
		}
		if ok2xx && rt.method == "POST" && strings.HasSuffix(rt.path, "/read") {
			if got := int64(r.JSON()["read_seq"].(float64)); got > f.carolLeftSeq {
				t.Errorf("%s: %s: read_seq %d beyond her removal at %d", who, rt, got, f.carolLeftSeq)
			}
		}
		if ok2xx && rt.method == "GET" && rt.mid == "" && strings.Contains(rt.path, "/messages") {
			for _, m := range r.Items() {
				if azSeq(m) > f.carolLeftSeq || post[azMsgID(m)] {
					t.Errorf("%s: %s: lists message seq %d after her removal at %d", who, rt, azSeq(m), f.carolLeftSeq)
				}
			}
		}
		if ok2xx {
			if l := f.leaks(r.Body, rt.path, []string{f.renamedTitle}, postIDs, nil); len(l) > 0 {
				softLeaks = append(softLeaks, fmt.Sprintf("%s → %v", rt, l))
			}
		}
	}
	// Nor the conversation's metadata after the removal: a title renamed
	// later, ids of what was posted later.
	for _, s := range softLeaks {
		t.Errorf("carol (removed) sees post-removal metadata: %s", s)
	}

	// Her view of the group ends at her removal.
	r := must(t, f.carol.do("GET", "/api/v1/conversations/"+f.group, nil), http.StatusOK)
	v := r.JSON()
	if v["status"] != "removed" {
		t.Errorf("carol's status is %v, want removed", v["status"])
	}
	if lm, ok := v["last_message"].(map[string]any); ok && azSeq(lm) > f.carolLeftSeq {
		t.Errorf("carol's last_message is seq %d, after her removal at %d", azSeq(lm), f.carolLeftSeq)
	}
	if n := v["unread_count"].(float64); n != 0 {
		t.Errorf("carol has %v unread after her removal", n)
	}
	// The messages she could see are all there.
	if got := azMids(t, f.carol, f.group, nil); len(got) == 0 || !slices.Equal(got, f.groupPreMids[len(f.groupPreMids)-len(got):]) {
		t.Errorf("carol's history %v is not a tail of the messages before her removal %v", got, f.groupPreMids)
	}

	// Dave, who joined after carol's removal, sees nothing from before he
	// joined either.
	daveMids := azMids(t, f.dave, f.group, nil)
	for _, id := range f.groupPreMids {
		if slices.Contains(daveMids, id) {
			t.Errorf("dave sees message %s from before he joined", id)
		}
		rt := azRoute{method: "GET", path: "/api/v1/conversations/" + f.group + "/messages/" + id + "/edits"}
		if r := f.dave.do(rt.method, rt.path, nil); r.Status != http.StatusNotFound {
			t.Errorf("dave: %s (before he joined): status %d, want 404: %s", rt, r.Status, r.Body)
		}
		rt = azRoute{method: "PUT", path: "/api/v1/conversations/" + f.group + "/messages/" + id + "/reactions/" + url.PathEscape(azThumbs)}
		if r := f.dave.do(rt.method, rt.path, nil); r.Status != http.StatusNotFound {
			t.Errorf("dave: %s (before he joined): status %d, want 404: %s", rt, r.Status, r.Body)
		}
	}

	// carol's own filing may have moved (archive/pin/mute are hers); she
	// ran every PUT with its DELETE after it, so compare the rest.
	f.checkUnchanged(t, before)
}

// azFakeID is an id of the shape the server gives that names nothing.
func azFakeID() string {
	return strings.ToLower(strings.TrimRight(rand.Text(), "="))[:26]
}

// TestAuthorizationNoExistenceOracle: a conversation that exists but is not
// yours and one that does not exist answer alike, route by route; so do a
// message that exists elsewhere and one that does not.
func TestAuthorizationNoExistenceOracle(t *testing.T) {
	f := azSetup(t)
	before := f.snapshot(t)

	type answer struct {
		Status int
		Code   string
		Detail string
	}
	ans := func(r *response) answer {
		var p struct {
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(r.Body, &p)
		return answer{r.Status, r.Code(), p.Detail}
	}
	fake := azFakeID()
	fakeMid := azFakeID()
	handles := []string{"alice_q7", "mallory_q7"}

	// Conversations: others' (direct, group, declined-by-dave) vs none.
	type probe struct {
		who  *user
		name string
		conv string
		mids []string
	}
	for _, p := range []probe{
		{f.mal, "mallory on the dm", f.dm, f.dmMids[:1]},
		{f.mal, "mallory on the group", f.group, f.groupMids[len(f.groupMids)-1:]},
		{f.eve, "eve (blocked) on the dm", f.dm, f.dmMids[:1]},
		{f.dave, "dave on the request he declined", f.foreign, f.foreignMids},
		{f.carol, "carol on the dm", f.dm, f.dmMids[:1]},
	} {
		exists := azConvRoutes(p.conv, p.mids, handles, p.who.Handle)
		none := azConvRoutes(fake, []string{fakeMid}, handles, p.who.Handle)
		if len(exists) != len(none) {
			t.Fatalf("route tables differ in length")
		}
		for i := range exists {
			a := ans(p.who.do(exists[i].method, exists[i].path, exists[i].body))
			b := ans(p.who.do(none[i].method, none[i].path, none[i].body))
			if a != b {
				t.Errorf("%s: %s answers %+v, a conversation that does not exist answers %+v", p.name, exists[i], a, b)
			}
			if a.Status != http.StatusNotFound && a.Status != http.StatusForbidden {
				t.Errorf("%s: %s: status %d, want 403 or 404", p.name, exists[i], a.Status)
			}
		}
	}
	// Odd conversation ids answer like missing ones.
	for _, id := range []string{"x", strings.Repeat("a", 65)} {
		a := ans(f.mal.do("GET", "/api/v1/conversations/"+id, nil))
		b := ans(f.mal.do("GET", "/api/v1/conversations/"+fake, nil))
		if a != b {
			t.Errorf("GET conversation %q answers %+v, a missing one %+v", id, a, b)
		}
	}

	// Messages: alice, a member of the dm, names on its path a message of
	// the group (hers to see, another conversation), one of carol's declined
	// request (not hers to see) and one that does not exist.
	dm := "/api/v1/conversations/" + f.dm + "/messages/"
	for _, rt := range []struct{ method, suffix string }{
		{"PATCH", ""}, {"DELETE", ""}, {"GET", "/edits"},
		{"PUT", "/reactions/" + url.PathEscape(azThumbs)}, {"DELETE", "/reactions/" + url.PathEscape(azThumbs)},
	} {
		var body any
		if rt.method == "PATCH" {
			body = map[string]string{"text": "edited elsewhere"}
		}
		want := ans(f.alice.do(rt.method, dm+fakeMid+rt.suffix, body))
		for _, mid := range []string{f.groupMids[len(f.groupMids)-1], f.groupPreMids[1], f.foreignMids[0]} {
			if got := ans(f.alice.do(rt.method, dm+mid+rt.suffix, body)); got != want {
				t.Errorf("alice: %s %s…%s with a message of another conversation answers %+v, a missing message %+v", rt.method, dm, rt.suffix, got, want)
			}
		}
		if want.Status != http.StatusNotFound {
			t.Errorf("alice: %s %s<missing>%s: status %d, want 404", rt.method, dm, rt.suffix, want.Status)
		}
	}
	// Replying to a message of another conversation is refused like replying
	// to one that does not exist.
	want := ans(f.bob.do("POST", "/api/v1/conversations/"+f.group+"/messages", map[string]any{"text": "re", "reply_to": fakeMid}))
	for _, mid := range []string{f.foreignMids[0], f.dmMids[0]} {
		if got := ans(f.bob.do("POST", "/api/v1/conversations/"+f.group+"/messages", map[string]any{"text": "re", "reply_to": mid})); got != want {
			t.Errorf("bob: reply_to a message of another conversation answers %+v, a missing one %+v", got, want)
		}
	}
	if want.Status < 400 {
		t.Errorf("reply_to a missing message: status %d", want.Status)
	}
	f.checkUnchanged(t, before)
}

// TestUnauthenticated: every authenticated route of routes.go answers 401
// unauthorized to no token, a garbage token, a well-formed unknown token and
// tokens revoked by logout and by logout-everywhere — and does nothing.
func TestUnauthenticated(t *testing.T) {
	f := azSetup(t)
	ts := f.ts
	// Tokens that once worked.
	loggedOut := ts.register("gone_q7", "person")
	must(t, loggedOut.do("GET", "/api/v1/me", nil), http.StatusOK)
	must(t, loggedOut.do("DELETE", "/api/v1/sessions/current", nil), http.StatusNoContent)
	everywhere := ts.register("gone2_q7", "person")
	second := must(t, ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": "gone2_q7", "password": "correct horse battery"}), http.StatusCreated).JSON()["token"].(string)
	must(t, ts.do(second, "DELETE", "/api/v1/sessions", nil), http.StatusNoContent)
	sessions := must(t, f.alice.do("GET", "/api/v1/sessions", nil), http.StatusOK).Items()
	aliceSession := sessions[0]["id"].(string)
	before := f.snapshot(t)

	wellFormed := "prl_" + strings.Repeat("A", 43)
	tokens := []struct{ name, header string }{
		{"no token", ""},
		{"garbage token", "Bearer prl_xxxxxxxxxxxxxxxxxxxxxxxx"},
		{"well-formed unknown token", "Bearer " + wellFormed},
		{"revoked token (logout)", "Bearer " + loggedOut.Token},
		{"revoked token (logout everywhere)", "Bearer " + everywhere.Token},
		{"revoked token (logout everywhere, the calling session)", "Bearer " + second},
		{"empty bearer", "Bearer "},
		{"wrong scheme", "Basic " + f.alice.Token},
		{"token without scheme", f.alice.Token},
	}
	subst := strings.NewReplacer(
		"{id}", "ID", // replaced per route below
		"{handle}", "bob_q7",
		"{mid}", f.dmMids[0],
		"{emoji}", url.PathEscape(azThumbs),
	)
	patterns := azAuthPatterns(t)
	calls := 0
	for _, p := range patterns {
		method, path, _ := strings.Cut(p, " ")
		id := f.dm
		if strings.HasPrefix(path, "/api/v1/sessions/") {
			id = aliceSession
		}
		path = strings.Replace(subst.Replace(path), "ID", id, 1)
		var body any
		if method != "GET" && method != "DELETE" {
			body = "{}"
		}
		for _, tk := range tokens {
			req, err := http.NewRequest(method, ts.URL()+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if body != nil {
				req, _ = http.NewRequest(method, ts.URL()+path, strings.NewReader(body.(string)))
				req.Header.Set("Content-Type", "application/json")
			}
			if tk.header != "" {
				req.Header.Set("Authorization", tk.header)
			}
			resp, err := ts.client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			r := &response{Status: resp.StatusCode, Header: resp.Header, Body: buf.Bytes()}
			calls++
			if r.Status != http.StatusUnauthorized || r.Code() != "unauthorized" {
				t.Errorf("%s with %s: got %d %q, want 401 unauthorized: %s", p, tk.name, r.Status, r.Code(), r.Body)
				continue
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("%s with %s: Content-Type %q, want application/problem+json", p, tk.name, ct)
			}
			if l := f.leaks(r.Body, path, f.secrets, f.secretIDs(), f.memberHandles); len(l) > 0 {
				t.Errorf("%s with %s: leaks %v: %s", p, tk.name, l, r.Body)
			}
		}
	}
	t.Logf("%d routes × %d tokens = %d unauthenticated calls", len(patterns), len(tokens), calls)

	// Nothing happened: alice is still signed in, nothing moved.
	must(t, f.alice.do("GET", "/api/v1/me", nil), http.StatusOK)
	if got := must(t, f.alice.do("GET", "/api/v1/sessions", nil), http.StatusOK).Items(); len(got) != len(sessions) {
		t.Errorf("alice has %d sessions, had %d", len(got), len(sessions))
	}
	r := must(t, ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": "bob_q7", "password": "correct horse battery"}), http.StatusCreated)
	if tok := r.JSON()["token"].(string); tok == "" {
		t.Error("bob cannot log in")
	}
	f.checkUnchanged(t, before)
}
