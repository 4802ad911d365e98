package server

import (
	"context"
	"net/http"
	"testing"

	"github.com/parleyhq/parley/app"
)

// TestSuspend: a suspended account cannot log in, its sessions and tokens
// are refused with 403 account_suspended, its open stream closes with
// "session ended", and restoring it brings its tokens back (sessions
// stay ended: it signs in again).
func TestSuspend(t *testing.T) {
	ts := startServer(t)
	eve := ts.register("eve", "person")
	ts.register("bob", "person")
	tok, err := ts.App.CreateTokenFor(context.Background(), "eve", app.TokenInput{Name: "ci", Scopes: []string{app.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	stream := ts.dial(t, eve.Token, 0)
	// Both were verified a moment ago (and so are cached): still refused.
	must(t, ts.do(tok.Token, "GET", "/api/v1/me", nil), http.StatusOK)
	must(t, eve.do("GET", "/api/v1/me", nil), http.StatusOK)

	acc, err := ts.App.Suspend(context.Background(), "eve", true)
	if err != nil || !acc.Suspended {
		t.Fatalf("suspend: %+v %v", acc, err)
	}
	if code := stream.waitClosed(); code != 4001 {
		t.Errorf("stream closed with %d, want 4001", code)
	}
	wantProblem(t, eve.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized") // the device session ended
	wantProblem(t, ts.do(tok.Token, "GET", "/api/v1/me", nil), http.StatusForbidden, "account_suspended")
	wantProblem(t, ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": "eve", "password": "correct horse battery"}),
		http.StatusForbidden, "account_suspended")
	// A wrong password still says only that: suspension is not revealed to guessers.
	wantProblem(t, ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": "eve", "password": "wrong password!"}),
		http.StatusUnauthorized, "bad_credentials")
	if _, err := ts.App.CreateTokenFor(context.Background(), "eve", app.TokenInput{Name: "x", Scopes: []string{app.ScopeRead}}); err == nil {
		t.Error("token made for a suspended account")
	}

	if _, err := ts.App.Suspend(context.Background(), "eve", false); err != nil {
		t.Fatal(err)
	}
	must(t, ts.do(tok.Token, "GET", "/api/v1/me", nil), http.StatusOK)
	ts.login(t, "eve", "laptop")
}

// TestResetPassword: the new password works, the old one does not, and
// the account's devices are signed out.
func TestResetPassword(t *testing.T) {
	ts := startServer(t)
	eve := ts.register("eve", "person")
	if _, n, err := ts.App.ResetPassword(context.Background(), "eve", "a brand new secret"); err != nil || n != 1 {
		t.Fatalf("reset: %d sessions ended, %v", n, err)
	}
	wantProblem(t, eve.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")
	wantProblem(t, ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": "eve", "password": "correct horse battery"}),
		http.StatusUnauthorized, "bad_credentials")
	must(t, ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": "eve", "password": "a brand new secret"}), http.StatusCreated)
	if _, _, err := ts.App.ResetPassword(context.Background(), "eve", "short"); err == nil {
		t.Error("a short password was accepted")
	}
}
