package server

import (
	"net/http"
	"strings"
	"testing"
)

func TestAccountsAndSessions(t *testing.T) {
	ts := startServer(t)
	for _, kind := range []string{"person", "business", "bot"} {
		u := ts.register("user_"+kind, kind)
		me := must(t, u.do("GET", "/api/v1/me", nil), http.StatusOK).JSON()
		if me["kind"] != kind || me["handle"] != "user_"+kind || me["dm_policy"] != "open" {
			t.Errorf("me = %v", me)
		}
		if _, ok := me["password_hash"]; ok {
			t.Error("me exposes the password hash")
		}
	}

	// Duplicate and invalid registrations.
	wantProblem(t, ts.do("", "POST", "/api/v1/accounts", map[string]string{"handle": "USER_person", "password": "long enough pw"}), http.StatusConflict, "handle_taken")
	for _, h := range []string{"ab", "-bad", "has space", "ünïcode", strings.Repeat("x", 31), "a..b", "me"} {
		r := ts.do("", "POST", "/api/v1/accounts", map[string]string{"handle": h, "password": "long enough pw"})
		if r.Status != http.StatusUnprocessableEntity && r.Code() != "handle_taken" {
			t.Errorf("handle %q: %d %s", h, r.Status, r.Body)
		}
	}
	wantProblem(t, ts.do("", "POST", "/api/v1/accounts", map[string]string{"handle": "shortpw", "password": "short"}), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, ts.do("", "POST", "/api/v1/accounts", map[string]string{"handle": "badkind", "password": "long enough pw", "kind": "robot"}), http.StatusUnprocessableEntity, "invalid")

	// Several devices.
	alice := ts.register("alice", "person")
	login := func(pw, device string) *response {
		return ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": "alice", "password": pw, "device": device})
	}
	wantProblem(t, login("wrong password", "x"), http.StatusUnauthorized, "bad_credentials")
	wantProblem(t, ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": "nobody_here", "password": "whatever1"}), http.StatusUnauthorized, "bad_credentials")
	phone := must(t, login("correct horse battery", "phone"), http.StatusCreated).JSON()
	laptop := must(t, login("correct horse battery", "laptop"), http.StatusCreated).JSON()
	phoneTok, laptopTok := phone["token"].(string), laptop["token"].(string)
	if phoneTok == laptopTok || !strings.HasPrefix(phoneTok, "prl_") || len(phoneTok) < 40 {
		t.Fatalf("tokens %q %q", phoneTok, laptopTok)
	}
	sessions := must(t, ts.do(phoneTok, "GET", "/api/v1/sessions", nil), http.StatusOK).Items()
	if len(sessions) != 3 {
		t.Fatalf("%d sessions, want 3: %v", len(sessions), sessions)
	}
	current := 0
	for _, s := range sessions {
		if s["current"] == true {
			current++
			if s["device"] != "phone" {
				t.Errorf("current session is %v", s)
			}
		}
	}
	if current != 1 {
		t.Errorf("%d current sessions", current)
	}

	// Revoke the laptop from the phone: the laptop token dies at once,
	// though it was verified (and cached) a moment ago.
	must(t, ts.do(laptopTok, "GET", "/api/v1/me", nil), http.StatusOK)
	must(t, ts.do(phoneTok, "DELETE", "/api/v1/sessions/"+laptop["session_id"].(string), nil), http.StatusNoContent)
	wantProblem(t, ts.do(laptopTok, "GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")
	must(t, ts.do(phoneTok, "GET", "/api/v1/me", nil), http.StatusOK)
	// Revoking someone else's session is not found.
	bob := ts.register("bob", "person")
	wantProblem(t, bob.do("DELETE", "/api/v1/sessions/"+phone["session_id"].(string), nil), http.StatusNotFound, "not_found")

	// Log out of the phone: other devices stay. A profile edit shows at once.
	must(t, ts.do(phoneTok, "PATCH", "/api/v1/me", map[string]any{"display_name": "Alice A."}), http.StatusOK)
	if me := must(t, alice.do("GET", "/api/v1/me", nil), http.StatusOK).JSON(); me["display_name"] != "Alice A." {
		t.Errorf("display name %v after the edit", me["display_name"])
	}
	must(t, ts.do(phoneTok, "DELETE", "/api/v1/sessions/current", nil), http.StatusNoContent)
	wantProblem(t, ts.do(phoneTok, "GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")
	must(t, alice.do("GET", "/api/v1/me", nil), http.StatusOK)

	// Change password: other sessions die, this one stays, new password works.
	tablet := must(t, login("correct horse battery", "tablet"), http.StatusCreated).JSON()["token"].(string)
	must(t, ts.do(tablet, "GET", "/api/v1/me", nil), http.StatusOK)
	wantProblem(t, alice.do("PUT", "/api/v1/me/password", map[string]string{"current_password": "nope nope", "new_password": "a new password"}), http.StatusForbidden, "forbidden")
	must(t, alice.do("PUT", "/api/v1/me/password", map[string]string{"current_password": "correct horse battery", "new_password": "a new password"}), http.StatusNoContent)
	wantProblem(t, ts.do(tablet, "GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")
	must(t, alice.do("GET", "/api/v1/me", nil), http.StatusOK)
	wantProblem(t, login("correct horse battery", "x"), http.StatusUnauthorized, "bad_credentials")
	must(t, login("a new password", "desk"), http.StatusCreated)

	// Log out everywhere.
	must(t, alice.do("DELETE", "/api/v1/sessions", nil), http.StatusNoContent)
	wantProblem(t, alice.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")
}

func TestLoginThrottled(t *testing.T) {
	ts := startServer(t)
	ts.register("carol", "person")
	var limited *response
	for i := 0; i < 20; i++ {
		r := ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": "carol", "password": "guess guess " + string(rune('a'+i))})
		if r.Status == http.StatusTooManyRequests {
			limited = r
			break
		}
		wantProblem(t, r, http.StatusUnauthorized, "bad_credentials")
	}
	if limited == nil {
		t.Fatal("20 wrong logins in a row were never throttled")
	}
	if limited.Code() != "rate_limited" || limited.Header.Get("Retry-After") == "" {
		t.Errorf("throttled login: %s, Retry-After %q", limited.Body, limited.Header.Get("Retry-After"))
	}
}

func TestProfileFollowBlock(t *testing.T) {
	ts := startServer(t)
	alice, bob := ts.register("alice", "person"), ts.register("bob", "person")

	me := must(t, alice.do("PATCH", "/api/v1/me", map[string]any{"display_name": "Alice A.", "bio": "hello\nworld", "dm_policy": "following"}), http.StatusOK).JSON()
	if me["display_name"] != "Alice A." || me["bio"] != "hello\nworld" || me["dm_policy"] != "following" {
		t.Errorf("patched me = %v", me)
	}
	wantProblem(t, alice.do("PATCH", "/api/v1/me", map[string]any{"dm_policy": "friends"}), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, alice.do("PATCH", "/api/v1/me", map[string]any{"display_name": strings.Repeat("n", 65)}), http.StatusRequestEntityTooLarge, "too_large")

	must(t, bob.do("PUT", "/api/v1/users/alice/follow", nil), http.StatusNoContent)
	must(t, bob.do("PUT", "/api/v1/users/alice/follow", nil), http.StatusNoContent) // idempotent
	p := must(t, bob.do("GET", "/api/v1/users/alice", nil), http.StatusOK).JSON()
	if p["display_name"] != "Alice A." || p["followers_count"] != 1.0 || p["followed_by_me"] != true || p["follows_me"] != false {
		t.Errorf("profile = %v", p)
	}
	if p["can_message"] != "refused" {
		t.Errorf("bob may not message alice (following-only, does not follow bob): %v", p["can_message"])
	}
	must(t, alice.do("PUT", "/api/v1/users/bob/follow", nil), http.StatusNoContent)
	if p := must(t, bob.do("GET", "/api/v1/users/alice", nil), http.StatusOK).JSON(); p["can_message"] != "inbox" || p["follows_me"] != true {
		t.Errorf("after alice follows bob: %v", p)
	}
	must(t, bob.do("DELETE", "/api/v1/users/alice/follow", nil), http.StatusNoContent)
	if p := must(t, bob.do("GET", "/api/v1/users/alice", nil), http.StatusOK).JSON(); p["followers_count"] != 0.0 {
		t.Errorf("after unfollow: %v", p)
	}
	wantProblem(t, bob.do("GET", "/api/v1/users/nobody_x", nil), http.StatusNotFound, "not_found")

	// Block: both sides see only the handle.
	must(t, alice.do("PUT", "/api/v1/users/bob/block", nil), http.StatusNoContent)
	for _, view := range []struct {
		u      *user
		handle string
	}{{bob, "alice"}, {alice, "bob"}} {
		p := must(t, view.u.do("GET", "/api/v1/users/"+view.handle, nil), http.StatusOK).JSON()
		for _, k := range []string{"id", "display_name", "bio", "followers_count", "kind"} {
			if _, ok := p[k]; ok {
				t.Errorf("%s sees %s of blocked %s: %v", view.u.Handle, k, view.handle, p)
			}
		}
	}
	if p := must(t, alice.do("GET", "/api/v1/users/bob", nil), http.StatusOK).JSON(); p["blocked_by_me"] != true {
		t.Errorf("alice's view of bob: %v", p)
	}
	if p := must(t, bob.do("GET", "/api/v1/users/alice", nil), http.StatusOK).JSON(); p["blocked_by_me"] != false {
		t.Errorf("bob must not learn he is blocked from blocked_by_me: %v", p)
	}
	// The block dropped alice's follow of bob, and bob cannot follow back.
	wantProblem(t, bob.do("PUT", "/api/v1/users/alice/follow", nil), http.StatusForbidden, "forbidden")
	blocks := must(t, alice.do("GET", "/api/v1/me/blocks", nil), http.StatusOK).Items()
	if len(blocks) != 1 || blocks[0]["handle"] != "bob" {
		t.Errorf("blocks = %v", blocks)
	}
	must(t, alice.do("DELETE", "/api/v1/users/bob/block", nil), http.StatusNoContent)
	if p := must(t, bob.do("GET", "/api/v1/users/alice", nil), http.StatusOK).JSON(); p["display_name"] != "Alice A." {
		t.Errorf("after unblock: %v", p)
	}

	// Reports: of a user, and of a message the reporter can see.
	must(t, alice.do("PATCH", "/api/v1/me", map[string]any{"dm_policy": "open"}), http.StatusOK)
	conv := bob.direct("alice")
	msg := bob.send(conv, "buy cheap followers now")
	must(t, alice.do("POST", "/api/v1/users/bob/report", map[string]string{"reason": "spam"}), http.StatusCreated)
	r := must(t, alice.do("POST", "/api/v1/users/bob/report", map[string]string{"reason": "spam", "detail": "unsolicited", "message_id": msg["id"].(string)}), http.StatusCreated)
	if r.JSON()["id"] == "" {
		t.Error("report has no id")
	}
	wantProblem(t, alice.do("POST", "/api/v1/users/bob/report", map[string]string{"reason": "meh"}), http.StatusUnprocessableEntity, "invalid")
	// A message bob did not send cannot be reported as bob's; a stranger
	// cannot report a message they cannot see.
	wantProblem(t, bob.do("POST", "/api/v1/users/alice/report", map[string]string{"reason": "spam", "message_id": msg["id"].(string)}), http.StatusNotFound, "not_found")
	mallory := ts.register("mallory", "person")
	wantProblem(t, mallory.do("POST", "/api/v1/users/bob/report", map[string]string{"reason": "spam", "message_id": msg["id"].(string)}), http.StatusNotFound, "not_found")
}
