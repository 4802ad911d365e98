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

// TestAccountsSettings: accounts.deletion takes erase or anonymise only;
// accounts.handle_reserve_days takes days, 0 releasing handles at once.
func TestAccountsSettings(t *testing.T) {
	var s settings
	for _, v := range []string{"erase", "anonymise"} {
		if err := applyDeletionPolicy(&s, v); err != nil || s.Server.App.Deletion.Policy != v {
			t.Fatalf("policy %q: %v (%q)", v, err, s.Server.App.Deletion.Policy)
		}
	}
	if err := applyDeletionPolicy(&s, "shred"); err == nil {
		t.Fatal("an unknown policy was accepted")
	}
	if err := applyHandleReserve(&s, "7"); err != nil || s.Server.App.Deletion.HandleReserve.Hours() != 7*24 {
		t.Fatalf("7 days: %v %v", err, s.Server.App.Deletion.HandleReserve)
	}
	if err := applyHandleReserve(&s, "0"); err != nil || s.Server.App.Deletion.HandleReserve <= 0 || s.Server.App.Deletion.HandleReserve.Seconds() > 1 {
		t.Fatalf("0 days: %v %v", err, s.Server.App.Deletion.HandleReserve)
	}
	if err := applyHandleReserve(&s, "-1"); err == nil {
		t.Fatal("negative days accepted")
	}
}
