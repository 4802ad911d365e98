package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// TestTwoFactorHTTP: enrolment, the two-step login and the codes over the
// API, as the web app uses them.
func TestTwoFactorHTTP(t *testing.T) {
	ts := startServer(t)
	ann := ts.register("ann", "person")
	must(t, ann.do("GET", "/api/v1/me/2fa", nil), http.StatusOK)
	wantProblem(t, ann.do("POST", "/api/v1/me/2fa/setup", map[string]string{"password": "nope nope"}), http.StatusForbidden, "forbidden")
	setup := must(t, ann.do("POST", "/api/v1/me/2fa/setup", map[string]string{"password": "correct horse battery"}), http.StatusOK).JSON()
	secret := setup["secret"].(string)
	if setup["qr_png"] == "" || setup["otpauth_uri"] == "" {
		t.Fatalf("setup: %v", setup)
	}
	first, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rc := must(t, ann.do("POST", "/api/v1/me/2fa/confirm", map[string]string{"code": first}), http.StatusOK).JSON()
	codes := rc["recovery_codes"].([]any)
	if len(codes) != 10 {
		t.Fatalf("recovery codes: %v", rc)
	}

	login := func() string {
		r := must(t, ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": "ann", "password": "correct horse battery", "device": "desk"}), http.StatusOK).JSON()
		if _, ok := r["token"]; ok {
			t.Fatalf("a token before the second factor: %v", r)
		}
		return r["second_factor"].(map[string]any)["challenge"].(string)
	}
	ch := login()
	// The code that turned 2FA on is spent.
	wantProblem(t, ts.do("", "POST", "/api/v1/sessions/second-factor", map[string]string{"challenge": ch, "code": first}), http.StatusUnauthorized, "bad_credentials")
	auth := must(t, ts.do("", "POST", "/api/v1/sessions/second-factor", map[string]string{"challenge": ch, "code": codes[0].(string)}), http.StatusCreated).JSON()
	tok := auth["token"].(string)
	must(t, ts.do(tok, "GET", "/api/v1/me", nil), http.StatusOK)
	wantProblem(t, ts.do("", "POST", "/api/v1/sessions/second-factor", map[string]string{"challenge": ch, "code": codes[1].(string)}), http.StatusUnauthorized, "unauthorized")
	st := must(t, ann.do("GET", "/api/v1/me/2fa", nil), http.StatusOK).JSON()
	if st["enabled"] != true || st["recovery_codes_left"] != float64(9) {
		t.Fatalf("status: %v", st)
	}

	// An API token may not touch it.
	tv := must(t, ann.do("POST", "/api/v1/tokens", map[string]any{"name": "ci", "scopes": []string{"read", "profile:write"}}), http.StatusCreated).JSON()
	wantProblem(t, ts.do(tv["token"].(string), "GET", "/api/v1/me/2fa", nil), http.StatusForbidden, "insufficient_scope")

	must(t, ann.do("POST", "/api/v1/me/2fa/disable", map[string]string{"password": "correct horse battery", "code": codes[2].(string)}), http.StatusNoContent)
	must(t, ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": "ann", "password": "correct horse battery"}), http.StatusCreated)
	wantProblem(t, ann.do("PUT", "/api/v1/me/password", map[string]string{"current_password": "correct horse battery", "new_password": "Password123"}),
		http.StatusUnprocessableEntity, "weak_password")
}

// TestSessionsEndAtOnce: a password change, logout everywhere and an
// operator's password reset end the other sessions in the same commit —
// the very next request with an old token is refused — and close their
// open streams (4001). The time from the answer to the stream's close is
// logged; the revocation is pushed on the bus right after the commit,
// not polled.
func TestSessionsEndAtOnce(t *testing.T) {
	ts := startServer(t)
	cases := []struct {
		name string
		act  func(u *user)
		// keeps: the acting session survives.
		keeps bool
	}{
		{"password change", func(u *user) {
			must(t, u.do("PUT", "/api/v1/me/password", map[string]string{"current_password": "correct horse battery", "new_password": "a new long passphrase"}), http.StatusNoContent)
		}, true},
		{"logout everywhere", func(u *user) { must(t, u.do("DELETE", "/api/v1/sessions", nil), http.StatusNoContent) }, false},
		{"admin reset", func(u *user) {
			if _, _, err := ts.App.ResetPassword(context.Background(), u.Handle, "reset by the operator"); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := ts.register("user"+string(rune('a'+i)), "person")
			phone := ts.login(t, u.Handle, "phone")
			streamPhone := ts.dial(t, phone, 0)
			streamSelf := ts.dial(t, u.Token, 0)
			start := time.Now()
			tc.act(u)
			answered := time.Since(start)
			wantProblem(t, ts.do(phone, "GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")
			if code := streamPhone.waitClosed(); code != 4001 {
				t.Errorf("phone stream closed with %d, want 4001", code)
			}
			t.Logf("%s: answered in %v, other device's stream closed %v after the answer", tc.name, answered, time.Since(start)-answered)
			if tc.keeps {
				must(t, u.do("GET", "/api/v1/me", nil), http.StatusOK)
				streamSelf.quiet(200*time.Millisecond, nil)
			} else {
				wantProblem(t, u.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")
				if code := streamSelf.waitClosed(); code != 4001 {
					t.Errorf("own stream closed with %d, want 4001", code)
				}
			}
		})
	}
}

// TestAuditLogHTTP: the server's administrators read, export and verify
// the audit log over the API; others may not.
func TestAuditLogHTTP(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.App.Admins = []string{"ops"} })
	ops := ts.register("ops", "person")
	eve := ts.register("eve", "person")
	wantProblem(t, ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": "eve", "password": "wrong password!"}), http.StatusUnauthorized, "bad_credentials")
	ts.login(t, "eve", "phone")

	wantProblem(t, eve.do("GET", "/api/v1/admin/audit-log", nil), http.StatusForbidden, "forbidden")
	wantProblem(t, eve.do("GET", "/api/v1/admin/audit-log/verify", nil), http.StatusForbidden, "forbidden")
	page := must(t, ops.do("GET", "/api/v1/admin/audit-log?actor=eve", nil), http.StatusOK).Items()
	if len(page) != 2 || page[0]["action"] != "login.failure" || page[1]["action"] != "login.success" || page[0]["address"] != "127.0.0.1" {
		t.Fatalf("eve's rows: %v", page)
	}
	first := must(t, ops.do("GET", "/api/v1/admin/audit-log?limit=1", nil), http.StatusOK).JSON()
	if first["next_cursor"] != "1" {
		t.Fatalf("first page: %v", first)
	}
	wantProblem(t, ops.do("GET", "/api/v1/admin/audit-log?from=yesterday", nil), http.StatusUnprocessableEntity, "invalid")
	r := must(t, ops.do("GET", "/api/v1/admin/audit-log?format=jsonl", nil), http.StatusOK)
	if r.Header.Get("Content-Type") != "application/x-ndjson" || strings.Count(string(r.Body), "\n") != 2 {
		t.Fatalf("export: %s %q", r.Header.Get("Content-Type"), r.Body)
	}
	v := must(t, ops.do("GET", "/api/v1/admin/audit-log/verify", nil), http.StatusOK).JSON()
	if v["ok"] != true || v["rows"] != float64(2) {
		t.Fatalf("verify: %v", v)
	}
}
