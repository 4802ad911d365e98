package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// TestExportLeases: a node's cleanup (at start and after) fails only the
// unfinished exports whose lease ran out — never those another live node
// is building — and a job this node builds carries a lease it renews.
func TestExportLeases(t *testing.T) {
	e := newRecordsApp(t)
	ctx := context.Background()
	now := e.clk.now()
	other := &parley.ExportJob{ID: "other-node", OwnerID: "x", Scope: parley.ExportAccount, State: parley.ExportRunning,
		CreatedAt: now, LeaseUntil: now.Add(app.ExportLease)}
	stopped := &parley.ExportJob{ID: "stopped-node", OwnerID: "x", Scope: parley.ExportAccount, State: parley.ExportQueued,
		CreatedAt: now, LeaseUntil: now.Add(-time.Second)}
	if err := e.db.Update(ctx, func(tx parley.Tx) error {
		if err := tx.CreateExportJob(other); err != nil {
			return err
		}
		return tx.CreateExportJob(stopped)
	}); err != nil {
		t.Fatal(err)
	}
	state := func(id string) string {
		t.Helper()
		var j *parley.ExportJob
		if err := e.db.View(ctx, func(tx parley.Tx) (err error) { j, err = tx.ExportJobByID(id); return err }); err != nil {
			t.Fatal(err)
		}
		return j.State
	}
	// This node starts (a second App on the same store: another node).
	if _, err := e.a.CleanExports(ctx, true); err != nil {
		t.Fatal(err)
	}
	if s := state("other-node"); s != parley.ExportRunning {
		t.Fatalf("another live node's export became %s", s)
	}
	if s := state("stopped-node"); s != parley.ExportFailed {
		t.Fatalf("a stopped node's export is %s, want failed", s)
	}
	// The other node stops renewing: once its lease is out, it fails.
	e.clk.add(app.ExportLease + time.Second)
	if _, err := e.a.CleanExports(ctx, true); err != nil {
		t.Fatal(err)
	}
	if s := state("other-node"); s != parley.ExportFailed {
		t.Fatalf("an export whose lease ran out is %s, want failed", s)
	}

	// A job this node builds is stored with a lease, and finishes.
	alice := e.user(t, "alice")
	e.user(t, "bob")
	direct, _ := e.fixture(t)
	v, _ := e.export(t, alice, app.ExportInput{Scope: parley.ExportConversation, ConversationID: direct})
	if _, err := e.a.CleanExports(ctx, true); err != nil {
		t.Fatal(err)
	}
	if s := state(v.ID); s != parley.ExportDone {
		t.Fatalf("this node's finished export is %s", s)
	}
}
