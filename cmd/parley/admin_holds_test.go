package main

import "testing"

func TestAdminHoldsAndRetention(t *testing.T) {
	c := newCLI(t)
	c.run("", "migrate")
	_, stop := c.startServe()
	defer stop()
	c.ok(nil, "", "user", "create", "alice")
	var h struct {
		ID, Scope string
		TargetID  string `json:"target_id"`
		CreatedBy string `json:"created_by"`
		Active    bool
	}
	c.ok(&h, "", "hold", "place", "account", "alice", "--reason", "case 4", "--by", "ops")
	if !h.Active || h.Scope != "account" || h.CreatedBy != "operator:ops" || h.TargetID == "" {
		t.Fatalf("hold place: %+v", h)
	}
	c.fails(exitFailed, "not_found", "", "hold", "place", "account", "nobody")
	c.fails(exitFailed, "invalid", "", "hold", "place", "planet", "x")
	c.fails(exitUsage, "", "", "hold", "place", "account")
	var list struct{ Items []struct{ ID string } }
	c.ok(&list, "", "hold", "list")
	if len(list.Items) != 1 || list.Items[0].ID != h.ID {
		t.Fatalf("hold list: %+v", list)
	}
	c.ok(&h, "", "hold", "release", h.ID)
	if h.Active {
		t.Fatalf("released hold active: %+v", h)
	}
	c.fails(exitFailed, "conflict", "", "hold", "release", h.ID)
	var job struct {
		State  string
		DryRun bool `json:"dry_run"`
	}
	c.ok(&job, "", "retention", "run", "--dry-run")
	if job.State != "done" || !job.DryRun {
		t.Fatalf("retention run: %+v", job)
	}
}
