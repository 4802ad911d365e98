package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/mediatest"
)

// TestDisappearingOverHTTP sets a timer, sends view-once media and checks
// the routes, the flags and the stable codes a client sees.
func TestDisappearingOverHTTP(t *testing.T) {
	ts := startServer(t)
	ann, bob := ts.register("ann", "person"), ts.register("bob", "person")
	must(t, bob.do("PUT", "/api/v1/users/ann/follow", nil), http.StatusNoContent)
	conv := ann.direct("bob")
	wantProblem(t, ann.do("PUT", "/api/v1/conversations/"+conv+"/disappearing", map[string]any{"disappear_after": 7}), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, ts.register("eve", "person").do("PUT", "/api/v1/conversations/"+conv+"/disappearing", map[string]any{"disappear_after": 300}), http.StatusNotFound, "not_found")
	c := must(t, bob.do("PUT", "/api/v1/conversations/"+conv+"/disappearing", map[string]any{"disappear_after": 300}), http.StatusOK).JSON()
	if c["disappear_after"] != float64(300) || c["legal_hold"] != false {
		t.Fatalf("conversation: %v", c)
	}
	m := ann.send(conv, "gone in five minutes")
	exp, err := time.Parse(time.RFC3339Nano, m["expires_at"].(string))
	if err != nil || time.Until(exp) < 4*time.Minute || time.Until(exp) > 6*time.Minute {
		t.Fatalf("expires_at %v (%v)", m["expires_at"], err)
	}

	id := must(t, ann.upload("image", "a.png", mediatest.PNG(30, 30)), http.StatusCreated).JSON()["id"].(string)
	r := must(t, ann.do("POST", "/api/v1/conversations/"+conv+"/messages",
		map[string]any{"kind": "image", "attachments": []string{id}, "view_once": true}), http.StatusCreated).JSON()
	if r["view_once"] != true {
		t.Fatalf("view_once not echoed: %v", r)
	}
	must(t, bob.download("/api/v1/media/"+id), http.StatusOK)
	wantProblem(t, bob.download("/api/v1/media/"+id), http.StatusGone, "view_once_opened")
	must(t, ann.download("/api/v1/media/"+id), http.StatusOK)
	items := must(t, ann.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	if last := items[len(items)-1]; last["opened"] != true {
		t.Fatalf("sender does not see opened: %v", last)
	}
}

// TestBusinessHoldsAndRetentionOverHTTP: a business's admin holds a
// customer conversation, sets a policy and runs retention; agents and
// strangers may not.
func TestBusinessHoldsAndRetentionOverHTTP(t *testing.T) {
	ts := startServer(t)
	biz := ts.register("shop", "business")
	cust := ts.register("cust", "person")
	agent := ts.register("agent", "person")
	must(t, biz.do("PUT", "/api/v1/business/shop/agents/agent", map[string]any{}), http.StatusOK)
	conv := cust.direct("shop")
	cust.send(conv, "my order is late")
	const b = "/api/v1/business/shop"

	wantProblem(t, agent.do("POST", b+"/holds", map[string]any{"scope": "conversation", "target": conv}), http.StatusForbidden, "forbidden")
	wantProblem(t, cust.do("POST", b+"/holds", map[string]any{"scope": "conversation", "target": conv}), http.StatusNotFound, "not_found")
	wantProblem(t, biz.do("POST", b+"/holds", map[string]any{"scope": "account", "target": "cust"}), http.StatusUnprocessableEntity, "invalid")
	wantProblem(t, biz.do("POST", b+"/holds", map[string]any{"scope": "conversation", "target": "nope"}), http.StatusNotFound, "not_found")
	h := must(t, biz.do("POST", b+"/holds", map[string]any{"scope": "conversation", "target": conv, "reason": "dispute"}), http.StatusCreated).JSON()
	if h["active"] != true {
		t.Fatalf("hold: %v", h)
	}
	if c := must(t, cust.do("GET", "/api/v1/conversations/"+conv, nil), http.StatusOK).JSON(); c["legal_hold"] != true {
		t.Fatalf("customer does not see legal_hold: %v", c)
	}
	if hs := must(t, biz.do("GET", b+"/holds", nil), http.StatusOK).Items(); len(hs) != 1 {
		t.Fatalf("holds: %v", hs)
	}

	p := must(t, biz.do("PUT", b+"/retention", map[string]any{"max_age_days": 0, "after_resolution_days": 30}), http.StatusOK).JSON()
	if p["after_resolution_days"] != float64(30) {
		t.Fatalf("policy: %v", p)
	}
	wantProblem(t, biz.do("PUT", b+"/retention", map[string]any{"max_age_days": -1}), http.StatusUnprocessableEntity, "invalid")
	j := must(t, biz.do("POST", b+"/retention/jobs", map[string]any{"dry_run": true}), http.StatusAccepted).JSON()
	path := b + "/retention/jobs/" + j["id"].(string)
	deadline := time.Now().Add(10 * time.Second)
	for j["state"] == "running" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		j = must(t, biz.do("GET", path, nil), http.StatusOK).JSON()
	}
	if j["state"] != "done" || j["dry_run"] != true || j["purged"] != float64(0) {
		t.Fatalf("job: %v", j) // nothing is 30 days past its resolution
	}
	wantProblem(t, agent.do("GET", path, nil), http.StatusForbidden, "forbidden")
	wantProblem(t, ts.register("other", "business").do("GET", "/api/v1/business/other/retention/jobs/"+j["id"].(string), nil), http.StatusNotFound, "not_found")

	rel := must(t, biz.do("DELETE", b+"/holds/"+h["id"].(string), nil), http.StatusOK).JSON()
	if rel["active"] != false {
		t.Fatalf("release: %v", rel)
	}
	wantProblem(t, biz.do("DELETE", b+"/holds/"+h["id"].(string), nil), http.StatusConflict, "conflict")
	if c := must(t, cust.do("GET", "/api/v1/conversations/"+conv, nil), http.StatusOK).JSON(); c["legal_hold"] != false {
		t.Fatalf("legal_hold after release: %v", c)
	}
}

// TestAdminHoldsAndRetentionOverHTTP: the server's administrators hold an
// account and run retention over the API; anyone else gets 403.
func TestAdminHoldsAndRetentionOverHTTP(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.App.Admins = []string{"opsadmin"} })
	root, eve := ts.register("opsadmin", "person"), ts.register("eve", "person")
	wantProblem(t, eve.do("POST", "/api/v1/admin/holds", map[string]any{"scope": "account", "target": "eve"}), http.StatusForbidden, "forbidden")
	wantProblem(t, eve.do("GET", "/api/v1/admin/holds", nil), http.StatusForbidden, "forbidden")
	wantProblem(t, eve.do("POST", "/api/v1/admin/retention/jobs", map[string]any{}), http.StatusForbidden, "forbidden")
	wantProblem(t, root.do("POST", "/api/v1/admin/holds", map[string]any{"scope": "account", "target": "nobody"}), http.StatusNotFound, "not_found")
	h := must(t, root.do("POST", "/api/v1/admin/holds", map[string]any{"scope": "account", "target": "eve", "reason": "subpoena"}), http.StatusCreated).JSON()
	if h["created_by"] != "operator:opsadmin" || h["active"] != true {
		t.Fatalf("hold: %v", h)
	}
	if hs := must(t, root.do("GET", "/api/v1/admin/holds", nil), http.StatusOK).Items(); len(hs) != 1 {
		t.Fatalf("holds: %v", hs)
	}
	conv := eve.direct("opsadmin")
	if c := must(t, eve.do("GET", "/api/v1/conversations/"+conv, nil), http.StatusOK).JSON(); c["legal_hold"] != true {
		t.Fatalf("account hold not shown: %v", c)
	}
	wantProblem(t, eve.do("DELETE", "/api/v1/admin/holds/"+h["id"].(string), nil), http.StatusForbidden, "forbidden")
	must(t, root.do("DELETE", "/api/v1/admin/holds/"+h["id"].(string), nil), http.StatusOK)
	wantProblem(t, root.do("DELETE", "/api/v1/admin/holds/nope", nil), http.StatusNotFound, "not_found")

	j := must(t, root.do("POST", "/api/v1/admin/retention/jobs", map[string]any{"dry_run": true}), http.StatusAccepted).JSON()
	path := "/api/v1/admin/retention/jobs/" + j["id"].(string)
	deadline := time.Now().Add(10 * time.Second)
	for j["state"] == "running" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		j = must(t, root.do("GET", path, nil), http.StatusOK).JSON()
	}
	if j["state"] != "done" || j["dry_run"] != true {
		t.Fatalf("job: %v", j)
	}
	wantProblem(t, eve.do("GET", path, nil), http.StatusForbidden, "forbidden")
}
