package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// queryPlan returns the EXPLAIN QUERY PLAN lines of q.
func queryPlan(t *testing.T, db *DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.read.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

// TestInboxQueryPlans checks that the inbox views agents open most are
// served by their indexes, in order when one status is asked for.
func TestInboxQueryPlans(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "plan.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	after := &parley.InboxCursor{ActivityAt: now, ConversationID: "c9"}
	one := []parley.InboxStatus{parley.InboxOpen}
	two := []parley.InboxStatus{parley.InboxOpen, parley.InboxPending}
	for _, tc := range []struct {
		name   string
		f      parley.InboxFilter
		index  string
		sorted bool // the index gives the order: no temp b-tree
	}{
		{"business+assignee+status", parley.InboxFilter{BusinessID: "b", AssigneeID: "a", Statuses: one}, "inbox_by_assignee", true},
		{"business+assignee+status after", parley.InboxFilter{BusinessID: "b", AssigneeID: "a", Statuses: one, After: after}, "inbox_by_assignee", true},
		{"business+assignee+statuses", parley.InboxFilter{BusinessID: "b", AssigneeID: "a", Statuses: two}, "inbox_by_assignee", false},
		{"business+unassigned+status", parley.InboxFilter{BusinessID: "b", Unassigned: true, Statuses: one}, "inbox_by_assignee", true},
		{"business+unassigned+statuses", parley.InboxFilter{BusinessID: "b", Unassigned: true, Statuses: two, After: after}, "inbox_by_assignee", false},
		{"business+status", parley.InboxFilter{BusinessID: "b", Statuses: one}, "inbox_by_status", true},
		{"business+status after", parley.InboxFilter{BusinessID: "b", Statuses: one, After: after}, "inbox_by_status", true},
		{"business+statuses", parley.InboxFilter{BusinessID: "b", Statuses: two}, "inbox_by_status", false},
		{"business+team+status", parley.InboxFilter{BusinessID: "b", TeamID: "t", Statuses: one}, "inbox_by_team", true},
		{"business+contact", parley.InboxFilter{BusinessID: "b", ContactID: "c"}, "inbox_by_contact", false},
	} {
		q, args := inboxItemsQuery(tc.f)
		plan := queryPlan(t, db, q, args...)
		if !strings.Contains(plan, " INDEX "+tc.index+" ") || (tc.sorted && strings.Contains(plan, "TEMP B-TREE")) {
			t.Errorf("%s: plan\n%s\nwant index %s (sorted %v)", tc.name, plan, tc.index, tc.sorted)
		}
		q, args = countInboxQuery(tc.f, 100)
		if plan := queryPlan(t, db, q, args...); !strings.Contains(plan, " INDEX "+tc.index+" ") {
			t.Errorf("%s: count plan\n%s\nwant index %s", tc.name, plan, tc.index)
		}
	}
	// The overdue view reads the two covering partial indexes, never a
	// walk over every open item.
	q, args := inboxItemsQuery(parley.InboxFilter{BusinessID: "b", OverdueAt: &now, Limit: 26,
		Statuses: []parley.InboxStatus{parley.InboxOpen, parley.InboxPending, parley.InboxSnoozed}})
	if plan := queryPlan(t, db, q, args...); !strings.Contains(plan, "COVERING INDEX inbox_first_due") ||
		!strings.Contains(plan, "COVERING INDEX inbox_resolve_due") || strings.Contains(plan, "inbox_by_status") {
		t.Errorf("overdue: plan\n%s\nwant the covering due indexes", plan)
	}
	for _, tc := range []struct {
		name, q, index string
		args           []any
	}{
		{"open loads", openLoadsQuery, "COVERING INDEX inbox_by_assignee", []any{"b"}},
		{"due snoozes", dueSnoozesQuery, "INDEX inbox_snoozed", []any{1, 10}},
		{"unanswered", unansweredQuery, "INDEX inbox_waiting", []any{1, 10}},
	} {
		if plan := queryPlan(t, db, tc.q, tc.args...); !strings.Contains(plan, tc.index) {
			t.Errorf("%s: plan\n%s\nwant %s", tc.name, plan, tc.index)
		}
	}
}
