package server

import (
	"net/http"
	"testing"
)

// TestAPITokens covers API tokens end to end: scopes decide what a token
// may do, account management needs a device, the secret is shown once,
// logging out everywhere leaves tokens alone, and revoking ends them.
func TestAPITokens(t *testing.T) {
	ts := startServer(t)
	alice := ts.register("alice", "person")
	bob := ts.register("bob", "person")
	must(t, bob.do("PUT", "/api/v1/users/alice/follow", nil), http.StatusNoContent)
	conv := must(t, alice.do("POST", "/api/v1/conversations", map[string]any{"kind": "direct", "with": "bob"}), http.StatusCreated).JSON()["id"].(string)

	// Bad input.
	wantProblem(t, alice.do("POST", "/api/v1/tokens", map[string]any{"name": "x", "scopes": []string{"root"}}), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, alice.do("POST", "/api/v1/tokens", map[string]any{"name": "", "scopes": []string{"read"}}), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, alice.do("POST", "/api/v1/tokens", map[string]any{"name": "x", "scopes": []string{}}), http.StatusUnprocessableEntity, "invalid")

	created := must(t, alice.do("POST", "/api/v1/tokens", map[string]any{"name": "reader", "scopes": []string{"read"}, "expires_in_days": 30}), http.StatusCreated)
	if cc := created.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on the token's secret", cc)
	}
	reader := created.JSON()
	readTok := reader["token"].(string)
	if reader["expires_at"] == nil || reader["name"] != "reader" {
		t.Fatalf("token view %v", reader)
	}
	writer := must(t, alice.do("POST", "/api/v1/tokens", map[string]any{"name": "bot", "scopes": []string{"read", "messages:write"}}), http.StatusCreated).JSON()
	writeTok := writer["token"].(string)

	// The read token reads, and nothing else.
	must(t, ts.do(readTok, "GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK)
	must(t, ts.do(readTok, "GET", "/api/v1/sync?since=0", nil), http.StatusOK)
	must(t, ts.do(readTok, "POST", "/api/v1/stream/tickets", nil), http.StatusCreated)
	wantProblem(t, ts.do(readTok, "POST", "/api/v1/conversations/"+conv+"/messages", map[string]any{"client_id": "r1", "text": "hi"}), http.StatusForbidden, "insufficient_scope")
	wantProblem(t, ts.do(readTok, "PATCH", "/api/v1/me", map[string]any{"bio": "pwned"}), http.StatusForbidden, "insufficient_scope")
	wantProblem(t, ts.do(readTok, "POST", "/api/v1/conversations", map[string]any{"kind": "direct", "with": "bob"}), http.StatusForbidden, "insufficient_scope")
	// No token manages the account, whatever its scopes.
	for _, tok := range []string{readTok, writeTok} {
		wantProblem(t, ts.do(tok, "GET", "/api/v1/tokens", nil), http.StatusForbidden, "insufficient_scope")
		wantProblem(t, ts.do(tok, "POST", "/api/v1/tokens", map[string]any{"name": "more", "scopes": []string{"read"}}), http.StatusForbidden, "insufficient_scope")
		wantProblem(t, ts.do(tok, "GET", "/api/v1/sessions", nil), http.StatusForbidden, "insufficient_scope")
		wantProblem(t, ts.do(tok, "DELETE", "/api/v1/sessions", nil), http.StatusForbidden, "insufficient_scope")
		wantProblem(t, ts.do(tok, "PUT", "/api/v1/me/password", map[string]any{"current_password": "correct horse battery", "new_password": "another good password"}), http.StatusForbidden, "insufficient_scope")
	}
	// The bot token sends.
	sent := must(t, ts.do(writeTok, "POST", "/api/v1/conversations/"+conv+"/messages", map[string]any{"client_id": "b1", "text": "from the bot"}), http.StatusCreated).JSON()
	if sent["sender"].(map[string]any)["handle"] != "alice" {
		t.Fatalf("sent as %v", sent["sender"])
	}

	// Tokens are listed apart from devices, without secrets.
	list := must(t, alice.do("GET", "/api/v1/tokens", nil), http.StatusOK)
	if items := list.Items(); len(items) != 2 || items[0]["token"] != nil {
		t.Fatalf("token list %s", list.Body)
	}
	for _, s := range must(t, alice.do("GET", "/api/v1/sessions", nil), http.StatusOK).Items() {
		if s["id"] == reader["id"] || s["id"] == writer["id"] {
			t.Fatalf("a token is listed as a device: %v", s)
		}
	}

	// Logging out everywhere (from a second device) leaves tokens working.
	second := must(t, ts.do("", "POST", "/api/v1/sessions", map[string]any{"handle": "alice", "password": "correct horse battery"}), http.StatusCreated).JSON()["token"].(string)
	must(t, ts.do(second, "DELETE", "/api/v1/sessions", nil), http.StatusNoContent)
	wantProblem(t, alice.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")
	must(t, ts.do(readTok, "GET", "/api/v1/me", nil), http.StatusOK)

	// Revoking ends a token at once; a token may end itself.
	third := must(t, ts.do("", "POST", "/api/v1/sessions", map[string]any{"handle": "alice", "password": "correct horse battery"}), http.StatusCreated).JSON()["token"].(string)
	must(t, ts.do(third, "DELETE", "/api/v1/tokens/"+reader["id"].(string), nil), http.StatusNoContent)
	wantProblem(t, ts.do(readTok, "GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")
	wantProblem(t, ts.do(third, "DELETE", "/api/v1/tokens/"+reader["id"].(string), nil), http.StatusNotFound, "not_found")
	// Someone else's token is not found, not revocable.
	wantProblem(t, bob.do("DELETE", "/api/v1/tokens/"+writer["id"].(string), nil), http.StatusNotFound, "not_found")
	must(t, ts.do(writeTok, "DELETE", "/api/v1/sessions/current", nil), http.StatusNoContent)
	wantProblem(t, ts.do(writeTok, "GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")
}
