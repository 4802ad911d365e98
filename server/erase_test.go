package server

import (
	"fmt"
	"net/http"
	"testing"
)

// TestDeleteAccountOverHTTP: DELETE /api/v1/me closes the account's
// streams with 4001, refuses its tokens and old password, and the other
// member sees "Deleted account" with the content gone.
func TestDeleteAccountOverHTTP(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	m := alice.send(conv, "alice's quokka words")
	phone := ts.login(t, "alice", "phone")
	pd := ts.dial(t, phone, 0)
	tok := must(t, alice.do("POST", "/api/v1/tokens", map[string]any{"name": "script", "scopes": []string{"read", "profile:write"}}),
		http.StatusCreated).JSON()["token"].(string)

	// An API token may not delete the account, even with profile:write.
	wantProblem(t, ts.do(tok, "DELETE", "/api/v1/me", map[string]any{"password": "correct horse battery"}), http.StatusForbidden, "insufficient_scope")
	wantProblem(t, alice.do("DELETE", "/api/v1/me", map[string]any{"password": "not the password"}), http.StatusForbidden, "forbidden")
	wantProblem(t, alice.do("DELETE", "/api/v1/me", map[string]any{"password": "correct horse battery", "colour": "red"}), http.StatusBadRequest, "malformed_request")

	res := must(t, alice.do("DELETE", "/api/v1/me", map[string]any{"password": "correct horse battery"}), http.StatusOK).JSON()
	if res["policy"] != "erase" || res["erased"].(float64) != 1 || res["sessions_ended"].(float64) != 3 {
		t.Fatalf("deletion answer %v", res)
	}
	if code := pd.waitClosed(); code != 4001 {
		t.Errorf("the phone's stream closed with %d, want 4001", code)
	}
	for _, token := range []string{alice.Token, phone, tok} {
		wantProblem(t, ts.do(token, "GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")
	}
	wantProblem(t, ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": "alice", "password": "correct horse battery"}),
		http.StatusUnauthorized, "bad_credentials")
	wantProblem(t, ts.do("", "POST", "/api/v1/accounts", map[string]string{"handle": "alice", "password": "another long password"}),
		http.StatusConflict, "handle_taken")

	items := must(t, bob.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	var found bool
	for _, it := range items {
		if it["id"] != m["id"] {
			continue
		}
		found = true
		sender := it["sender"].(map[string]any)
		if sender["display_name"] != "Deleted account" || sender["deleted"] != true || sender["handle"] != "" || it["deleted"] != true || it["text"] != nil {
			t.Fatalf("bob sees %v", it)
		}
	}
	if !found {
		t.Fatal("alice's message is gone from bob's history")
	}
	if r := must(t, bob.do("GET", "/api/v1/search?q=quokka", nil), http.StatusOK); len(r.Items()) != 0 {
		t.Fatalf("search finds erased text: %s", r.Body)
	}
	wantProblem(t, bob.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"text": "hello?"}), http.StatusForbidden, "dm_not_allowed")
}

// TestRedactOverHTTP: only the sender redacts; everyone sees the
// placeholder.
func TestRedactOverHTTP(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	m := alice.send(conv, "the wombat answer, sent by mistake")
	path := "/api/v1/conversations/" + conv + "/messages/" + m["id"].(string) + "/redact"
	wantProblem(t, bob.do("POST", path, map[string]any{}), http.StatusForbidden, "forbidden")
	carol := ts.register("carol", "person")
	wantProblem(t, carol.do("POST", path, map[string]any{}), http.StatusNotFound, "not_found")
	v := must(t, alice.do("POST", path, map[string]any{}), http.StatusOK).JSON()
	if v["redacted"] != true || v["text"] != "This message was redacted" {
		t.Fatalf("redacted: %v", v)
	}
	for _, u := range []*user{alice, bob} {
		for _, it := range must(t, u.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items() {
			if it["id"] == m["id"] && (it["redacted"] != true || it["text"] != "This message was redacted") {
				t.Fatalf("%s sees %v", u.Handle, it)
			}
		}
	}
	if r := must(t, bob.do("GET", "/api/v1/search?q=wombat", nil), http.StatusOK); len(r.Items()) != 0 {
		t.Fatalf("search finds redacted text: %s", r.Body)
	}
}

// TestSensitiveGuardOverHTTP: an edit is guarded like a send and
// confirmed the same way; a phone number warns only a user who turned
// warn_phone on.
func TestSensitiveGuardOverHTTP(t *testing.T) {
	ts := startServer(t)
	alice, _, conv := friends(ts, "alice", "bob")
	m := alice.send(conv, "my card number follows")
	path := "/api/v1/conversations/" + conv + "/messages/" + m["id"].(string)
	r := alice.do("PATCH", path, map[string]any{"text": "card 4242 4242 4242 4242, password is hunter2hunter2, and again 4242 4242 4242 4242"})
	wantProblem(t, r, http.StatusUnprocessableEntity, "sensitive_data")
	if kinds := fmt.Sprint(r.JSON()["kinds"]); kinds != "[card_number password]" {
		t.Fatalf("kinds %s: %s", kinds, r.Body)
	}
	v := must(t, alice.do("PATCH", path, map[string]any{"text": "card 4242 4242 4242 4242", "confirm_sensitive": true}), http.StatusOK).JSON()
	if v["text"] != "card 4242 4242 4242 4242" {
		t.Fatalf("confirmed edit: %v", v)
	}
	msgs := "/api/v1/conversations/" + conv + "/messages"
	must(t, alice.do("POST", msgs, map[string]any{"client_id": "p1", "text": "call me on +44 20 7946 0958"}), http.StatusCreated)
	me := must(t, alice.do("PATCH", "/api/v1/me", map[string]any{"warn_phone": true}), http.StatusOK).JSON()
	if me["warn_phone"] != true {
		t.Fatalf("PATCH /me warn_phone: %v", me)
	}
	r = alice.do("POST", msgs, map[string]any{"client_id": "p2", "text": "or on +44 20 7946 0959"})
	wantProblem(t, r, http.StatusUnprocessableEntity, "sensitive_data")
	if kinds := fmt.Sprint(r.JSON()["kinds"]); kinds != "[phone]" {
		t.Fatalf("kinds %s: %s", kinds, r.Body)
	}
	must(t, alice.do("POST", msgs, map[string]any{"client_id": "p2", "text": "or on +44 20 7946 0959", "confirm_sensitive": true}), http.StatusCreated)
}
