package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSyncQueryPlans checks that a sync page reads index entries, never
// every message after the position sorted in a temporary b-tree: the
// ranges come from the user's memberships with a bounded walk of the
// (conversation_id, seq) index, a window is a seek in that index per
// conversation, and the page's rows are read by their rowid.
func TestSyncQueryPlans(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "plan.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name, q string
		args    []any
		want    []string
	}{
		// The walk back to the device's position stops at the member's
		// join: a new device (position 0) does not scan a long group's
		// history from before it joined.
		{"ranges", syncRanges, []any{"u", 10}, []string{"COVERING INDEX sqlite_autoindex_messages_2 (conversation_id=? AND seq>?)"}},
		{"backlog", syncBacklogMessages, []any{"u", 10}, []string{"COVERING INDEX sqlite_autoindex_messages_2 (conversation_id=? AND seq>?)"}},
		{"window", syncWindow, []any{`[["c",1,5]]`}, []string{"COVERING INDEX sqlite_autoindex_messages_2 (conversation_id=? AND seq>? AND seq<?)"}},
		{"rows", syncRows, []any{`[1,2]`}, []string{"SEARCH m USING INTEGER PRIMARY KEY (rowid=?)"}},
	} {
		plan := queryPlan(t, db, tc.q, tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(plan, w) {
				t.Errorf("%s: plan\n%s\nwant %q", tc.name, plan, w)
			}
		}
		if tc.name != "rows" && strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: plan\n%s\nsorts", tc.name, plan)
		}
		t.Logf("%s:\n%s", tc.name, plan)
	}
}
