package server

import (
	"context"
	"net/http"
	"testing"
)

// TestModerationOverHTTP: the reports queue answers 403 to anyone but a
// server admin; filters, the filtered sub-folder with its reasons, bulk
// actions with per-id results and a ban, over HTTP.
func TestModerationOverHTTP(t *testing.T) {
	ts := startServer(t)
	ann := ts.register("ann", "person")
	spammer := ts.register("spammer", "person")
	friend := ts.register("friend", "person")
	mod := ts.register("mod", "person")

	for _, u := range []*user{ann, spammer, mod} {
		wantProblem(t, u.do("GET", "/api/v1/admin/reports", nil), http.StatusForbidden, "forbidden")
		wantProblem(t, u.do("POST", "/api/v1/admin/reports/whatever/resolve", map[string]any{"action": "dismiss"}), http.StatusForbidden, "forbidden")
		wantProblem(t, u.do("POST", "/api/v1/admin/filters", map[string]any{"kind": "word", "pattern": "x", "action": "refuse"}), http.StatusForbidden, "forbidden")
	}
	wantProblem(t, ts.do("", "GET", "/api/v1/admin/reports", nil), http.StatusUnauthorized, "unauthorized")
	if _, err := ts.App.SetServerAdmin(context.Background(), "mod", true); err != nil {
		t.Fatal(err)
	}
	if me := must(t, mod.do("GET", "/api/v1/me", nil), http.StatusOK).JSON(); me["server_admin"] != true {
		t.Fatalf("me: %v", me)
	}

	// ann hides requests about crypto; a bad regex is refused with why.
	must(t, ann.do("POST", "/api/v1/me/filters", map[string]any{"kind": "word", "pattern": "crypto"}), http.StatusCreated)
	r := ann.do("POST", "/api/v1/me/filters", map[string]any{"kind": "regex", "pattern": "(unclosed"})
	wantProblem(t, r, http.StatusUnprocessableEntity, "invalid")
	if len(must(t, ann.do("GET", "/api/v1/me/filters", nil), http.StatusOK).Items()) != 1 {
		t.Fatal("filters listed")
	}

	// The server refuses one word.
	must(t, mod.do("POST", "/api/v1/admin/filters", map[string]any{"kind": "word", "pattern": "forbiddenword", "action": "refuse"}), http.StatusCreated)

	conv := spammer.direct("ann")
	spammer.send(conv, "Best CRYPTO deal, visit https://x.example.top now")
	wantProblem(t, spammer.do("POST", "/api/v1/conversations/"+conv+"/messages", map[string]any{"text": "a forbiddenword"}),
		http.StatusUnprocessableEntity, "blocked_content")
	other := friend.direct("ann")
	friend.send(other, "hi ann, lunch tomorrow?")

	if got := ann.folder("requests"); len(got) != 1 || got[0] != other {
		t.Fatalf("requests: %v", got)
	}
	filtered := must(t, ann.do("GET", "/api/v1/conversations?folder=requests&filtered=true", nil), http.StatusOK).Items()
	if len(filtered) != 1 || filtered[0]["id"] != conv {
		t.Fatalf("filtered: %v", filtered)
	}
	tri := filtered[0]["triage"].(map[string]any)
	if tri["filtered"] != true || len(tri["signals"].([]any)) < 3 {
		t.Fatalf("triage: %v", tri)
	}
	wantProblem(t, ann.do("GET", "/api/v1/conversations?folder=requests&filtered=maybe", nil), http.StatusUnprocessableEntity, "invalid")

	// Bulk: ann's two requests and one that is not hers.
	theirs := ann.direct("friend") // ann's own outgoing conversation, not a request to her
	res := must(t, ann.do("POST", "/api/v1/conversations/requests/bulk", map[string]any{"action": "spam", "ids": []string{conv, theirs, "nope"}}), http.StatusOK).JSON()
	results := res["results"].([]any)
	codes := []any{}
	for _, x := range results {
		m := x.(map[string]any)
		codes = append(codes, m["ok"], m["code"])
	}
	if len(results) != 3 || codes[0] != true || codes[3] != "conflict" || codes[5] != "not_found" {
		t.Fatalf("bulk results: %v", results)
	}

	// The spam report is in the queue; the moderator bans the sender.
	page := must(t, mod.do("GET", "/api/v1/admin/reports", nil), http.StatusOK).Items()
	if len(page) != 1 || page[0]["reason"] != "spam" {
		t.Fatalf("queue: %v", page)
	}
	id := page[0]["id"].(string)
	done := must(t, mod.do("POST", "/api/v1/admin/reports/"+id+"/resolve", map[string]any{"action": "ban", "hide_messages": true}), http.StatusOK).JSON()
	if done["status"] != "resolved" || done["target"].(map[string]any)["banned"] != true {
		t.Fatalf("resolved: %v", done)
	}
	wantProblem(t, spammer.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")
	wantProblem(t, mod.do("POST", "/api/v1/admin/reports/"+id+"/resolve", map[string]any{"action": "dismiss"}), http.StatusConflict, "conflict")
	if len(must(t, mod.do("GET", "/api/v1/admin/reports?status=resolved", nil), http.StatusOK).Items()) != 1 {
		t.Fatal("resolved list")
	}
}
