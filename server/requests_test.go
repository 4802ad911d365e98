package server

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
)

// member returns the member entry for handle in a conversation view.
func member(t *testing.T, conv map[string]any, handle string) map[string]any {
	t.Helper()
	ms, _ := conv["members"].([]any)
	for _, m := range ms {
		mm := m.(map[string]any)
		if mm["user"].(map[string]any)["handle"] == handle {
			return mm
		}
	}
	t.Fatalf("no member %s in %v", handle, conv)
	return nil
}

func TestMessageRequestFlow(t *testing.T) {
	ts := startServer(t)
	alice, bob := ts.register("alice", "person"), ts.register("bob", "person")

	// A stranger's DM lands in bob's requests.
	conv := alice.direct("bob")
	if got := alice.direct("bob"); got != conv {
		t.Fatalf("second direct gave %s, want the same %s", got, conv)
	}
	if got := bob.direct("alice"); got != conv {
		t.Fatalf("bob's direct gave %s, want the same %s", got, conv)
	}
	// bob asking for it does not accept the request by itself? It does:
	// starting a conversation with someone is consent. Reset with a third user.
	carol := ts.register("carol", "person")
	conv = carol.direct("bob")
	if got := bob.folder("requests"); len(got) != 0 {
		t.Fatalf("an empty request is not shown: %v", got)
	}
	for i := 1; i <= 3; i++ {
		m := carol.send(conv, fmt.Sprintf("hi %d", i))
		if m["seq"] != float64(i) {
			t.Errorf("seq %v, want %d", m["seq"], i)
		}
	}
	wantProblem(t, carol.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": "hi 4"}), http.StatusForbidden, "request_limit")
	if got := bob.folder("requests"); !slices.Equal(got, []string{conv}) {
		t.Fatalf("bob's requests = %v, want [%s]", got, conv)
	}
	if got := bob.folder("inbox"); slices.Contains(got, conv) {
		t.Fatal("request shows in bob's inbox")
	}
	view := must(t, bob.do("GET", "/api/v1/conversations/"+conv, nil), http.StatusOK).JSON()
	if view["request"] != true || view["status"] != "pending" || view["unread_count"] != 3.0 {
		t.Errorf("bob's view of the request: %v", view)
	}
	// bob reads the request: carol sees no read receipt.
	must(t, bob.do("POST", "/api/v1/conversations/"+conv+"/read", map[string]int{"seq": 3}), http.StatusOK)
	cv := must(t, carol.do("GET", "/api/v1/conversations/"+conv, nil), http.StatusOK).JSON()
	if m := member(t, cv, "bob"); m["read_seq"] != 0.0 || m["status"] != "pending" {
		t.Errorf("carol sees bob as %v", m)
	}
	// A pending recipient cannot react or archive before accepting.
	msgs := must(t, bob.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	if len(msgs) != 3 {
		t.Fatalf("bob previews %d messages, want 3", len(msgs))
	}
	wantProblem(t, bob.do("PUT", "/api/v1/conversations/"+conv+"/messages/"+msgs[0]["id"].(string)+"/reactions/👍", nil), http.StatusForbidden, "forbidden")
	wantProblem(t, bob.do("PUT", "/api/v1/conversations/"+conv+"/archive", nil), http.StatusConflict, "conflict")

	// Accept: inbox, receipts visible, no more limit.
	acc := must(t, bob.do("POST", "/api/v1/conversations/"+conv+"/accept", nil), http.StatusOK).JSON()
	if acc["folder"] != "inbox" || acc["request"] != false {
		t.Errorf("accepted view: %v", acc)
	}
	wantProblem(t, bob.do("POST", "/api/v1/conversations/"+conv+"/accept", nil), http.StatusConflict, "conflict")
	if got := bob.folder("inbox"); !slices.Contains(got, conv) {
		t.Error("accepted conversation not in inbox")
	}
	if got := bob.folder("requests"); len(got) != 0 {
		t.Errorf("requests after accept: %v", got)
	}
	cv = must(t, carol.do("GET", "/api/v1/conversations/"+conv, nil), http.StatusOK).JSON()
	if m := member(t, cv, "bob"); m["read_seq"] != 3.0 || m["status"] != "active" {
		t.Errorf("after accept carol sees bob as %v", m)
	}
	carol.send(conv, "hi 4")
	carol.send(conv, "hi 5")
}

func TestDeclineIsSilent(t *testing.T) {
	ts := startServer(t)
	dave, erin := ts.register("dave", "person"), ts.register("erin", "person")
	conv := dave.direct("erin")
	dave.send(conv, "hello?")
	must(t, erin.do("POST", "/api/v1/conversations/"+conv+"/decline", nil), http.StatusNoContent)
	if got := erin.folder("requests"); len(got) != 0 {
		t.Errorf("declined request still listed: %v", got)
	}
	wantProblem(t, erin.do("GET", "/api/v1/conversations/"+conv, nil), http.StatusNotFound, "not_found")
	wantProblem(t, erin.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusNotFound, "not_found")
	// dave is not told: erin still looks pending, and his sends still
	// count against the request limit.
	cv := must(t, dave.do("GET", "/api/v1/conversations/"+conv, nil), http.StatusOK).JSON()
	if m := member(t, cv, "erin"); m["status"] != "pending" {
		t.Errorf("dave sees erin as %v", m)
	}
	dave.send(conv, "hello??")
	dave.send(conv, "hello???")
	wantProblem(t, dave.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": "!!!"}), http.StatusForbidden, "request_limit")
	// If erin later starts the conversation herself it comes back, accepted.
	if got := erin.direct("dave"); got != conv {
		t.Fatalf("erin's direct gave %s, want %s", got, conv)
	}
	if got := erin.folder("inbox"); !slices.Equal(got, []string{conv}) {
		t.Errorf("erin's inbox = %v", got)
	}
	dave.send(conv, "finally")
}

func TestDMPolicies(t *testing.T) {
	ts := startServer(t)
	sender := ts.register("sender", "person")
	tests := []struct {
		name    string
		kind    string
		policy  string
		follows bool
		want    string // inbox, requests or a problem code
	}{
		{"open stranger", "person", "open", false, "requests"},
		{"open followed", "person", "open", true, "inbox"},
		{"following stranger", "person", "following", false, "dm_not_allowed"},
		{"following followed", "person", "following", true, "inbox"},
		{"closed stranger", "person", "closed", false, "dm_not_allowed"},
		{"closed followed", "person", "closed", true, "dm_not_allowed"},
		{"business customer", "business", "open", false, "inbox"},
		{"business following-only customer", "business", "following", false, "inbox"},
		{"closed business", "business", "closed", false, "dm_not_allowed"},
		{"bot", "bot", "open", false, "inbox"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcpt := ts.register(fmt.Sprintf("rcpt%d", i), tt.kind)
			must(t, rcpt.do("PATCH", "/api/v1/me", map[string]string{"dm_policy": tt.policy}), http.StatusOK)
			if tt.follows {
				must(t, rcpt.do("PUT", "/api/v1/users/sender/follow", nil), http.StatusNoContent)
			}
			r := sender.do("POST", "/api/v1/conversations", map[string]string{"kind": "direct", "with": rcpt.Handle})
			if tt.want != "inbox" && tt.want != "requests" {
				wantProblem(t, r, http.StatusForbidden, tt.want)
				if got := rcpt.folder("requests"); len(got) != 0 {
					t.Errorf("refused conversation shows in requests: %v", got)
				}
				return
			}
			must(t, r, http.StatusCreated)
			conv := r.JSON()["id"].(string)
			sender.send(conv, "hello")
			if got := rcpt.folder(tt.want); !slices.Equal(got, []string{conv}) {
				t.Errorf("%s folder = %v, want [%s]", tt.want, got, conv)
			}
		})
	}
}

func TestBlockSilencesBothWays(t *testing.T) {
	ts := startServer(t)
	frank, gina := ts.register("frank", "person"), ts.register("gina", "person")
	must(t, gina.do("PUT", "/api/v1/users/frank/follow", nil), http.StatusNoContent)
	conv := frank.direct("gina")
	frank.send(conv, "hey")
	gina.send(conv, "hey you")

	must(t, gina.do("PUT", "/api/v1/users/frank/block", nil), http.StatusNoContent)
	wantProblem(t, frank.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": "hello?"}), http.StatusForbidden, "dm_not_allowed")
	wantProblem(t, gina.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": "bye"}), http.StatusForbidden, "dm_not_allowed")
	wantProblem(t, frank.do("POST", "/api/v1/conversations", map[string]string{"kind": "direct", "with": "gina"}), http.StatusForbidden, "dm_not_allowed")
	// Group adds are refused both ways.
	g := must(t, frank.do("POST", "/api/v1/conversations", map[string]any{"kind": "group", "title": "party", "members": []string{"gina"}}), http.StatusCreated).JSON()
	if added := g["added"].([]any)[0].(map[string]any); added["result"] != "refused" || added["code"] != "dm_not_allowed" {
		t.Errorf("adding a blocker: %v", added)
	}
	// A pending request ends when the recipient blocks its sender.
	hank := ts.register("hank", "person")
	req := hank.direct("gina")
	hank.send(req, "psst")
	must(t, gina.do("PUT", "/api/v1/users/hank/block", nil), http.StatusNoContent)
	if got := gina.folder("requests"); len(got) != 0 {
		t.Errorf("requests after blocking the sender: %v", got)
	}
	// Unblocking restores messaging in the existing conversation.
	must(t, gina.do("DELETE", "/api/v1/users/frank/block", nil), http.StatusNoContent)
	frank.send(conv, "we're good?")
}

// TestBlockHidesProfileInConversation: after a block, the conversation and
// its history name the other side by handle only.
func TestBlockHidesProfileInConversation(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	bob.send(conv, "hello")
	must(t, alice.do("PUT", "/api/v1/users/bob/block", nil), http.StatusNoContent)
	for _, u := range []*user{alice, bob} {
		other := "bob"
		if u == bob {
			other = "alice"
		}
		v := must(t, u.do("GET", "/api/v1/conversations/"+conv, nil), http.StatusOK).JSON()
		if m := member(t, v, other)["user"].(map[string]any); m["display_name"] != nil && m["display_name"] != "" {
			t.Errorf("%s sees %s's display name after a block: %v", u.Handle, other, m)
		}
	}
	msgs := must(t, alice.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	if s := msgs[0]["sender"].(map[string]any); s["handle"] != "bob" || (s["display_name"] != nil && s["display_name"] != "") {
		t.Errorf("sender after a block: %v", s)
	}
}
