package server

import (
	"strings"
	"testing"
)

// TestBadInput sends broken requests to every body-taking route shape and
// checks each gets a 4xx problem with a code — never a 5xx — and that
// nothing was written.
func TestBadInput(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	alice.send(conv, "baseline")
	msgPath := "/api/v1/conversations/" + conv + "/messages"

	huge := strings.Repeat("a", 70<<10)
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int
		code   string
	}{
		{"malformed json", "POST", msgPath, `{"text": "hi"`, 400, "malformed_request"},
		{"not json", "POST", msgPath, `text=hi`, 400, "malformed_request"},
		{"empty body", "POST", msgPath, ``, 400, "malformed_request"},
		{"array body", "POST", msgPath, `["hi"]`, 400, "malformed_request"},
		{"two objects", "POST", msgPath, `{"text":"a"}{"text":"b"}`, 400, "malformed_request"},
		{"unknown field", "POST", msgPath, `{"text":"hi","colour":"red"}`, 400, "malformed_request"},
		{"wrong type", "POST", msgPath, `{"text": 42}`, 400, "malformed_request"},
		{"null text", "POST", msgPath, `{"text": null}`, 422, "invalid"},
		{"oversized body", "POST", msgPath, `{"text":"` + huge + `"}`, 413, "too_large"},
		{"empty text", "POST", msgPath, `{"text":""}`, 422, "invalid"},
		{"blank text", "POST", msgPath, `{"text":"  \n "}`, 422, "invalid"},
		{"text over 10000 chars", "POST", msgPath, `{"text":"` + strings.Repeat("é", 10001) + `"}`, 413, "too_large"},
		{"control characters", "POST", msgPath, `{"text":"bell\u0007"}`, 422, "invalid"},
		{"invalid utf-8 escape", "POST", msgPath, "{\"text\":\"\xff\xfe\"}", 400, "malformed_request"},
		{"bad client id", "POST", msgPath, `{"text":"x","client_id":"has space"}`, 422, "invalid"},
		{"long client id", "POST", msgPath, `{"text":"x","client_id":"` + strings.Repeat("k", 65) + `"}`, 422, "invalid"},
		{"unsupported kind", "POST", msgPath, `{"text":"x","kind":"image"}`, 422, "invalid"},
		{"negative read", "POST", "/api/v1/conversations/" + conv + "/read", `{"seq":-5}`, 422, "invalid"},
		{"read seq as string", "POST", "/api/v1/conversations/" + conv + "/read", `{"seq":"5"}`, 400, "malformed_request"},
		{"bad conversation kind", "POST", "/api/v1/conversations", `{"kind":"channel"}`, 422, "invalid"},
		{"direct without with", "POST", "/api/v1/conversations", `{"kind":"direct"}`, 422, "invalid"},
		{"direct with bad handle", "POST", "/api/v1/conversations", `{"kind":"direct","with":"$$$"}`, 404, "not_found"},
		{"group title too long", "POST", "/api/v1/conversations", `{"kind":"group","title":"` + strings.Repeat("t", 101) + `"}`, 413, "too_large"},
		{"group members wrong type", "POST", "/api/v1/conversations", `{"kind":"group","members":"bob"}`, 400, "malformed_request"},
		{"huge number", "POST", "/api/v1/conversations/" + conv + "/read", `{"seq":1e400}`, 400, "malformed_request"},
		{"bad mute", "PUT", "/api/v1/conversations/" + conv + "/mute", `{"duration_seconds":-1}`, 422, "invalid"},
		{"bad role", "PUT", "/api/v1/conversations/" + conv + "/members/bob/role", `{"role":"king"}`, 422, "invalid"},
		{"unknown route", "GET", "/api/v1/nothing", ``, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := alice.do(tt.method, tt.path, tt.body)
			wantProblem(t, r, tt.status, tt.code)
			p := r.JSON()
			if p["detail"] == "" || p["title"] == "" || p["status"] != float64(tt.status) {
				t.Errorf("problem lacks fields: %s", r.Body)
			}
		})
	}
	// Registration with bad bodies.
	wantProblem(t, ts.do("", "POST", "/api/v1/accounts", `{"handle":"x","password":"y","admin":true}`), 400, "malformed_request")
	wantProblem(t, ts.do("", "POST", "/api/v1/accounts", `{"handle":"good_handle","password":"`+strings.Repeat("p", 300)+`"}`), 422, "invalid")
	wantProblem(t, ts.do("", "POST", "/api/v1/accounts", `{"handle":"good_handle","password":"long enough","display_name":"`+strings.Repeat("n", 65)+`"}`), 413, "too_large")

	// Nothing was written by any of it.
	if got := lastSeq(t, bob, conv); got != 1 {
		t.Errorf("last_seq = %v after bad input, want 1", got)
	}
	if got := bob.folder("inbox"); len(got) != 1 {
		t.Errorf("bob's inbox = %v", got)
	}
	wantProblem(t, ts.do("", "POST", "/api/v1/sessions", map[string]string{"handle": "good_handle", "password": "long enough"}), 401, "bad_credentials")
}
