package main

import "testing"

// TestUserDeleteAndBackfill: parley user delete and parley records
// backfill-chain, on the data directory (no server running).
func TestUserDeleteAndBackfill(t *testing.T) {
	c := newCLI(t)
	c.run("", "migrate")
	c.ok(nil, "", "user", "create", "alice")
	var res struct {
		Handle, Policy string
		SessionsEnded  int    `json:"sessions_ended"`
		Reserved       string `json:"handle_reserved_until"`
	}
	c.ok(&res, "", "user", "delete", "alice")
	if res.Handle != "alice" || res.Policy != "erase" || res.Reserved == "" {
		t.Fatalf("user delete: %+v", res)
	}
	// Again: the erasure runs again (nothing left); the handle stays taken.
	c.ok(&res, "", "user", "delete", "alice")
	c.fails(exitFailed, "handle_taken", "", "user", "create", "alice")
	c.fails(exitFailed, "not_found", "", "user", "delete", "nobody")
	var st struct{ Conversations, Backfilled, Entries int }
	c.ok(&st, "", "records", "backfill-chain")
	if st.Entries != 0 || st.Backfilled != 0 {
		t.Fatalf("backfill on a fresh server: %+v", st)
	}
}
