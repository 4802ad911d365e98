package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// ---- Agents ----

func newAgent(business, user string, created int) *parley.Agent {
	return &parley.Agent{BusinessID: business, UserID: user, Role: parley.AgentRoleAgent, Active: true,
		CreatedAt: at(created), UpdatedAt: at(created)}
}

func agentIDs(as []*parley.Agent) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.BusinessID+"/"+a.UserID)
	}
	return out
}

// testAgents: memberships round-trip and are replaced; Agents lists all
// of a business oldest first; AgentOf only the active ones of a user.
func testAgents(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2", "a1", "a2", "a3")
	full := &parley.Agent{BusinessID: "biz", UserID: "a1", Role: parley.AgentRoleAdmin, Active: true, Away: true,
		MaxOpen: 7, LastAssignedAt: at(5), CreatedAt: at(2), UpdatedAt: at(3)}
	bare := newAgent("biz", "a2", 1) // zero LastAssignedAt
	update(t, s, func(tx parley.Tx) error {
		for _, a := range []*parley.Agent{full, bare, newAgent("biz", "a3", 3), newAgent("biz2", "a1", 0)} {
			if err := tx.PutAgent(a); err != nil {
				return err
			}
		}
		return nil
	})
	wantEqual(t, "agent a1", view(t, s, func(tx parley.Tx) (*parley.Agent, error) { return tx.Agent("biz", "a1") }), full)
	wantEqual(t, "agent a2", view(t, s, func(tx parley.Tx) (*parley.Agent, error) { return tx.Agent("biz", "a2") }), bare)
	wantNotFound(t, s, "agent of another business", func(tx parley.Tx) (*parley.Agent, error) { return tx.Agent("biz2", "a2") })
	wantNotFound(t, s, "no such agent", func(tx parley.Tx) (*parley.Agent, error) { return tx.Agent("biz", "nobody") })

	wantEqual(t, "agents of biz", agentIDs(view(t, s, func(tx parley.Tx) ([]*parley.Agent, error) { return tx.Agents("biz") })),
		[]string{"biz/a2", "biz/a1", "biz/a3"})
	wantEqual(t, "agent of a1", agentIDs(view(t, s, func(tx parley.Tx) ([]*parley.Agent, error) { return tx.AgentOf("a1") })),
		[]string{"biz2/a1", "biz/a1"})

	// Removing a1 from biz keeps the row, inactive; replacing saves every field.
	removed := *full
	removed.Active, removed.Away, removed.Role, removed.MaxOpen, removed.UpdatedAt = false, false, parley.AgentRoleAgent, 0, at(9)
	update(t, s, func(tx parley.Tx) error { return tx.PutAgent(&removed) })
	wantEqual(t, "removed agent", view(t, s, func(tx parley.Tx) (*parley.Agent, error) { return tx.Agent("biz", "a1") }), &removed)
	wantEqual(t, "agent of a1 after removal", agentIDs(view(t, s, func(tx parley.Tx) ([]*parley.Agent, error) { return tx.AgentOf("a1") })),
		[]string{"biz2/a1"})
	if n := len(view(t, s, func(tx parley.Tx) ([]*parley.Agent, error) { return tx.Agents("biz") })); n != 3 {
		t.Fatalf("Agents lists %d memberships after a removal, want 3", n)
	}
	if got := view(t, s, func(tx parley.Tx) ([]*parley.Agent, error) { return tx.AgentOf("nobody") }); len(got) != 0 {
		t.Fatalf("AgentOf(nobody) = %v", agentIDs(got))
	}
}

// ---- Teams ----

// testTeams: teams round-trip, belong to one business, list by name,
// update, and are deleted with their memberships.
func testTeams(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2", "a1", "a2")
	sales := &parley.Team{ID: "t1", BusinessID: "biz", Name: "Sales", Assign: "round_robin",
		Hours: json.RawMessage(`{"mon":["09:00","17:00"]}`), CreatedAt: at(1), UpdatedAt: at(2)}
	billing := &parley.Team{ID: "t2", BusinessID: "biz", Name: "Billing", CreatedAt: at(3), UpdatedAt: at(3)}
	other := &parley.Team{ID: "t3", BusinessID: "biz2", Name: "Sales", CreatedAt: at(0), UpdatedAt: at(0)}
	update(t, s, func(tx parley.Tx) error {
		for _, tm := range []*parley.Team{sales, billing, other} {
			if err := tx.CreateTeam(tm); err != nil {
				return err
			}
		}
		return nil
	})
	wantEqual(t, "team t1", view(t, s, func(tx parley.Tx) (*parley.Team, error) { return tx.Team("biz", "t1") }), sales)
	wantEqual(t, "team t2 (no hours)", view(t, s, func(tx parley.Tx) (*parley.Team, error) { return tx.Team("biz", "t2") }), billing)
	wantNotFound(t, s, "team of another business", func(tx parley.Tx) (*parley.Team, error) { return tx.Team("biz", "t3") })
	wantNotFound(t, s, "no such team", func(tx parley.Tx) (*parley.Team, error) { return tx.Team("biz", "nope") })
	wantEqual(t, "teams of biz", view(t, s, func(tx parley.Tx) ([]*parley.Team, error) { return tx.Teams("biz") }),
		[]*parley.Team{billing, sales})

	err := s.Update(ctx, func(tx parley.Tx) error {
		return tx.CreateTeam(&parley.Team{ID: "t4", BusinessID: "biz", Name: "Sales", CreatedAt: at(0), UpdatedAt: at(0)})
	})
	wantCode(t, err, parley.EConflict)

	// Update saves Name, Assign, Hours; not across businesses.
	renamed := *sales
	renamed.Name, renamed.Assign, renamed.Hours, renamed.UpdatedAt = "Pre-sales", "least_load", nil, at(10)
	update(t, s, func(tx parley.Tx) error { return tx.UpdateTeam(&renamed) })
	got := view(t, s, func(tx parley.Tx) (*parley.Team, error) { return tx.Team("biz", "t1") })
	if got.Name != "Pre-sales" || got.Assign != "least_load" || got.Hours != nil || !got.CreatedAt.Equal(sales.CreatedAt) {
		t.Fatalf("updated team %+v", got)
	}
	stolen := *other
	stolen.BusinessID, stolen.Name = "biz", "Mine"
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.UpdateTeam(&stolen) }), parley.ENotFound)
	clash := renamed
	clash.Name = "Billing"
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.UpdateTeam(&clash) }), parley.EConflict)

	// Members: SetTeamMember reports changes.
	for i, step := range []struct {
		team, user string
		on, want   bool
	}{
		{"t1", "a1", true, true}, {"t1", "a1", true, false}, {"t1", "a2", true, true},
		{"t2", "a1", true, true}, {"t1", "a2", false, true}, {"t1", "a2", false, false}, {"t1", "a2", true, true},
	} {
		changed := false
		update(t, s, func(tx parley.Tx) error {
			var err error
			changed, err = tx.SetTeamMember(step.team, step.user, step.on)
			return err
		})
		if changed != step.want {
			t.Fatalf("step %d: SetTeamMember(%s, %s, %v) = %v, want %v", i, step.team, step.user, step.on, changed, step.want)
		}
	}
	members := func(team string) []string {
		return view(t, s, func(tx parley.Tx) ([]string, error) { return tx.TeamMembers(team) })
	}
	wantEqual(t, "members of t1", members("t1"), []string{"a1", "a2"})
	wantEqual(t, "members of t2", members("t2"), []string{"a1"})

	// Delete: not across businesses, then for good, with the members.
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteTeam("biz2", "t1") }), parley.ENotFound)
	update(t, s, func(tx parley.Tx) error { return tx.DeleteTeam("biz", "t1") })
	wantNotFound(t, s, "deleted team", func(tx parley.Tx) (*parley.Team, error) { return tx.Team("biz", "t1") })
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteTeam("biz", "t1") }), parley.ENotFound)
	if m := members("t1"); len(m) != 0 {
		t.Fatalf("members of a deleted team: %v", m)
	}
	// A new team with the old id starts empty.
	update(t, s, func(tx parley.Tx) error {
		return tx.CreateTeam(&parley.Team{ID: "t1", BusinessID: "biz", Name: "Again", CreatedAt: at(20), UpdatedAt: at(20)})
	})
	if m := members("t1"); len(m) != 0 {
		t.Fatalf("members of a re-created team: %v", m)
	}
	wantEqual(t, "members of t2 after deleting t1", members("t2"), []string{"a1"})
	wantEqual(t, "teams of biz2", len(view(t, s, func(tx parley.Tx) ([]*parley.Team, error) { return tx.Teams("biz2") })), 1)
}

// ---- Inbox items ----

func newInboxItem(conv, business string, activity int) *parley.InboxItem {
	return &parley.InboxItem{ConversationID: conv, BusinessID: business, Status: parley.InboxOpen, Priority: "normal",
		OpenedAt: at(activity), ActivityAt: at(activity), UpdatedAt: at(activity)}
}

// mkInboxItems creates the conversations of items (by business) and puts
// the items.
func mkInboxItems(t *testing.T, s parley.Store, items ...*parley.InboxItem) {
	t.Helper()
	update(t, s, func(tx parley.Tx) error {
		for _, it := range items {
			if err := tx.CreateConversation(newConversation(it.ConversationID, it.BusinessID)); err != nil {
				return err
			}
			if err := tx.PutInboxItem(it); err != nil {
				return err
			}
		}
		return nil
	})
}

func putInboxItems(t *testing.T, s parley.Store, items ...*parley.InboxItem) {
	t.Helper()
	update(t, s, func(tx parley.Tx) error {
		for _, it := range items {
			if err := tx.PutInboxItem(it); err != nil {
				return err
			}
		}
		return nil
	})
}

func inboxItem(t *testing.T, s parley.Store, conv string) *parley.InboxItem {
	t.Helper()
	return view(t, s, func(tx parley.Tx) (*parley.InboxItem, error) { return tx.InboxItem(conv) })
}

func inboxIDs(items []*parley.InboxItem) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.ConversationID)
	}
	return out
}

func inboxItems(t *testing.T, s parley.Store, f parley.InboxFilter) []*parley.InboxItem {
	t.Helper()
	return view(t, s, func(tx parley.Tx) ([]*parley.InboxItem, error) { return tx.InboxItems(f) })
}

// testInboxItemAfterMiss: an update that found no inbox item for a
// conversation sees the item once it is put, in the same update or a
// later one, and a rolled-back put leaves no item behind: a store that
// remembers misses for its writer must forget them exactly.
func testInboxItemAfterMiss(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz")
	for _, id := range []string{"c1", "c2", "c3"} {
		mkConversation(t, s, id, "biz")
	}
	miss := func(tx parley.Tx, conv string) {
		t.Helper()
		if it, err := tx.InboxItem(conv); !parley.IsNotFound(err) {
			t.Errorf("InboxItem(%s) = %+v, %v; want not found", conv, it, err)
		}
	}
	hit := func(tx parley.Tx, conv string) {
		t.Helper()
		if it, err := tx.InboxItem(conv); err != nil || it.ConversationID != conv || it.BusinessID != "biz" {
			t.Errorf("InboxItem(%s) = %+v, %v; want the item put", conv, it, err)
		}
	}
	// Same update: miss, put, hit.
	update(t, s, func(tx parley.Tx) error {
		miss(tx, "c1")
		miss(tx, "c1") // a second miss is still a miss
		if err := tx.PutInboxItem(newInboxItem("c1", "biz", 1)); err != nil {
			return err
		}
		hit(tx, "c1")
		return nil
	})
	// Across updates: a miss, then a put in a later update, then a hit.
	update(t, s, func(tx parley.Tx) error { miss(tx, "c2"); return nil })
	update(t, s, func(tx parley.Tx) error { return tx.PutInboxItem(newInboxItem("c2", "biz", 2)) })
	update(t, s, func(tx parley.Tx) error { hit(tx, "c2"); hit(tx, "c1"); return nil })
	// A put that is rolled back: the next update still misses.
	update(t, s, func(tx parley.Tx) error { miss(tx, "c3"); return nil })
	if err := s.Update(ctx, func(tx parley.Tx) error {
		if err := tx.PutInboxItem(newInboxItem("c3", "biz", 3)); err != nil {
			return err
		}
		hit(tx, "c3")
		return errors.New("roll me back")
	}); err == nil {
		t.Fatal("failing update returned nil")
	}
	update(t, s, func(tx parley.Tx) error { miss(tx, "c3"); return nil })
	if it := inboxItem(t, s, "c2"); it.ConversationID != "c2" {
		t.Errorf("read after commit: %+v", it)
	}
}

// testInboxItemRoundTrip: every field survives, nil times stay nil and
// set ones keep their nanoseconds; labels come back sorted and are
// replaced with the item.
func testInboxItemRoundTrip(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz")
	full := &parley.InboxItem{ConversationID: "c1", BusinessID: "biz", ContactID: "k1", Status: parley.InboxSnoozed,
		SnoozedUntil: ptr(at(100)), Priority: "urgent", AssigneeID: "a1", TeamID: "t1",
		Labels: []string{"vip", "billing", "vip"}, Attributes: map[string]string{"order": "42", "plan": "pro"},
		OpenedAt: at(1), WaitingSince: ptr(at(2)), FirstReplyAt: ptr(at(3)), AssignedAt: ptr(at(4)),
		ResolvedAt: ptr(at(5)), FirstDueAt: ptr(at(6)), ResolveDueAt: ptr(at(7)), AwaySentAt: ptr(at(8)),
		CSATMessageID: "m9", ActivityAt: at(10), UpdatedAt: at(11)}
	bare := newInboxItem("c2", "biz", 0)
	bare.OpenedAt = time.Time{}
	mkInboxItems(t, s, full, bare)

	want := *full
	want.Labels = []string{"billing", "vip"}
	wantEqual(t, "full item", inboxItem(t, s, "c1"), &want)
	wantEqual(t, "bare item", inboxItem(t, s, "c2"), bare)
	wantNotFound(t, s, "no item", func(tx parley.Tx) (*parley.InboxItem, error) { return tx.InboxItem("nope") })
	mkConversation(t, s, "c3", "biz")
	wantNotFound(t, s, "no item of an existing conversation", func(tx parley.Tx) (*parley.InboxItem, error) { return tx.InboxItem("c3") })

	// Replacing: times go back to nil, labels change, then go.
	next := *bare
	next.ConversationID, next.ContactID, next.Status, next.Labels = "c1", "k2", parley.InboxResolved, []string{"spam", "billing"}
	next.ResolvedAt, next.ActivityAt, next.UpdatedAt = ptr(at(50)), at(50), at(50)
	putInboxItems(t, s, &next)
	want = next
	want.Labels = []string{"billing", "spam"}
	wantEqual(t, "replaced item", inboxItem(t, s, "c1"), &want)
	// The same labels again, in another order: nothing changes.
	next.Labels, next.Priority = []string{"spam", "billing"}, "high"
	putInboxItems(t, s, &next)
	want.Priority = "high"
	wantEqual(t, "item with the same labels", inboxItem(t, s, "c1"), &want)
	next.Labels, next.Attributes = nil, map[string]string{}
	putInboxItems(t, s, &next)
	want.Labels = nil
	wantEqual(t, "item without labels", inboxItem(t, s, "c1"), &want)
	// Labels of c1 are gone from listings too.
	if got := inboxItems(t, s, parley.InboxFilter{BusinessID: "biz", Label: "billing"}); len(got) != 0 {
		t.Fatalf("label filter finds removed labels: %v", inboxIDs(got))
	}
	// Items listed carry their labels.
	bare.Labels = []string{"x", "a"}
	putInboxItems(t, s, bare)
	got := inboxItems(t, s, parley.InboxFilter{BusinessID: "biz"})
	if len(got) != 2 || got[0].ConversationID != "c1" || got[0].Labels != nil || !slices.Equal(got[1].Labels, []string{"a", "x"}) {
		t.Fatalf("listed items %s", show(got))
	}
}

// sortInbox sorts items as listings do: newest activity first, then by
// conversation id, descending.
func sortInbox(items []*parley.InboxItem) []string {
	items = slices.Clone(items)
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if !a.ActivityAt.Equal(b.ActivityAt) {
			return a.ActivityAt.After(b.ActivityAt)
		}
		return a.ConversationID > b.ConversationID
	})
	return inboxIDs(items)
}

// pageAll lists every page of f and fails on a duplicate.
func pageAll(t *testing.T, s parley.Store, f parley.InboxFilter) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	for range 100 {
		page := inboxItems(t, s, f)
		if len(page) > f.Limit {
			t.Fatalf("page of %d items, limit %d", len(page), f.Limit)
		}
		for _, it := range page {
			if seen[it.ConversationID] {
				t.Fatalf("%s listed twice", it.ConversationID)
			}
			seen[it.ConversationID] = true
			out = append(out, it.ConversationID)
		}
		if len(page) < f.Limit {
			return out
		}
		last := page[len(page)-1]
		f.After = &parley.InboxCursor{ActivityAt: last.ActivityAt, ConversationID: last.ConversationID}
	}
	t.Fatal("pagination does not end")
	return nil
}

// testInboxPagination: pages follow activity then id, newest first,
// without duplicates or gaps, ties included.
func testInboxPagination(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2")
	var items []*parley.InboxItem
	for i := range 23 {
		it := newInboxItem(fmt.Sprintf("c%02d", i), "biz", i/3) // three items share each time
		if i%4 == 0 {
			it.Status = parley.InboxPending
		}
		items = append(items, it)
	}
	mkInboxItems(t, s, items...)
	mkInboxItems(t, s, newInboxItem("other", "biz2", 5))
	want := sortInbox(items)
	for _, limit := range []int{1, 2, 4, 5, 23, 50} {
		wantEqual(t, fmt.Sprint("all pages of ", limit), pageAll(t, s, parley.InboxFilter{BusinessID: "biz", Limit: limit}), want)
	}
	var open []*parley.InboxItem
	for _, it := range items {
		if it.Status == parley.InboxOpen {
			open = append(open, it)
		}
	}
	wantEqual(t, "pages of open items", pageAll(t, s, parley.InboxFilter{BusinessID: "biz",
		Statuses: []parley.InboxStatus{parley.InboxOpen}, Limit: 4}), sortInbox(open))
	wantEqual(t, "pages of open and pending items", pageAll(t, s, parley.InboxFilter{BusinessID: "biz",
		Statuses: []parley.InboxStatus{parley.InboxOpen, parley.InboxPending}, Limit: 3}), want)

	// The default limit is 50.
	var many []*parley.InboxItem
	for i := range 60 {
		many = append(many, newInboxItem(fmt.Sprintf("m%02d", i), "biz2", 100+i))
	}
	mkInboxItems(t, s, many...)
	if n := len(inboxItems(t, s, parley.InboxFilter{BusinessID: "biz2"})); n != 50 {
		t.Fatalf("default page of %d items, want 50", n)
	}
}

// testInboxFilters: each filter alone and combined, and CountInbox with
// the same filters.
func testInboxFilters(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2")
	mk := func(id string, act int, status parley.InboxStatus, assignee, team, contact string, labels ...string) *parley.InboxItem {
		it := newInboxItem(id, "biz", act)
		it.Status, it.AssigneeID, it.TeamID, it.ContactID, it.Labels = status, assignee, team, contact, labels
		return it
	}
	items := []*parley.InboxItem{
		mk("i1", 1, parley.InboxOpen, "a1", "t1", "k1", "vip"),
		mk("i2", 2, parley.InboxOpen, "", "t1", "k2"),
		mk("i3", 3, parley.InboxPending, "a1", "", "k1", "vip", "billing"),
		mk("i4", 4, parley.InboxResolved, "a2", "t2", "k3", "billing"),
		mk("i5", 5, parley.InboxSnoozed, "", "", "k1"),
		mk("i6", 6, parley.InboxOpen, "a2", "t1", "k2", "vip"),
		mk("i7", 7, parley.InboxPending, "", "t2", "k3"),
	}
	noise := newInboxItem("x1", "biz2", 8)
	noise.AssigneeID, noise.TeamID, noise.ContactID, noise.Labels = "a1", "t1", "k1", []string{"vip"}
	mkInboxItems(t, s, append(items, noise)...)

	statuses := func(ss ...parley.InboxStatus) []parley.InboxStatus { return ss }
	for _, tc := range []struct {
		name string
		f    parley.InboxFilter
		want []string
	}{
		{"all", parley.InboxFilter{}, []string{"i7", "i6", "i5", "i4", "i3", "i2", "i1"}},
		{"open", parley.InboxFilter{Statuses: statuses(parley.InboxOpen)}, []string{"i6", "i2", "i1"}},
		{"open+pending", parley.InboxFilter{Statuses: statuses(parley.InboxOpen, parley.InboxPending)}, []string{"i7", "i6", "i3", "i2", "i1"}},
		{"assignee a1", parley.InboxFilter{AssigneeID: "a1"}, []string{"i3", "i1"}},
		{"assignee a1 open", parley.InboxFilter{AssigneeID: "a1", Statuses: statuses(parley.InboxOpen)}, []string{"i1"}},
		{"assignee a2 open+resolved", parley.InboxFilter{AssigneeID: "a2", Statuses: statuses(parley.InboxOpen, parley.InboxResolved)}, []string{"i6", "i4"}},
		{"unassigned", parley.InboxFilter{Unassigned: true}, []string{"i7", "i5", "i2"}},
		{"unassigned open+pending", parley.InboxFilter{Unassigned: true, Statuses: statuses(parley.InboxOpen, parley.InboxPending)}, []string{"i7", "i2"}},
		{"team t1", parley.InboxFilter{TeamID: "t1"}, []string{"i6", "i2", "i1"}},
		{"team t1 unassigned", parley.InboxFilter{TeamID: "t1", Unassigned: true}, []string{"i2"}},
		{"team t2 pending", parley.InboxFilter{TeamID: "t2", Statuses: statuses(parley.InboxPending)}, []string{"i7"}},
		{"label vip", parley.InboxFilter{Label: "vip"}, []string{"i6", "i3", "i1"}},
		{"label billing open+pending", parley.InboxFilter{Label: "billing", Statuses: statuses(parley.InboxOpen, parley.InboxPending)}, []string{"i3"}},
		{"label none", parley.InboxFilter{Label: "nothing"}, []string{}},
		{"contact k1", parley.InboxFilter{ContactID: "k1"}, []string{"i5", "i3", "i1"}},
		{"contact k1 assignee a1 label vip", parley.InboxFilter{ContactID: "k1", AssigneeID: "a1", Label: "vip"}, []string{"i3", "i1"}},
		{"no such assignee", parley.InboxFilter{AssigneeID: "nobody"}, []string{}},
	} {
		f := tc.f
		f.BusinessID = "biz"
		wantEqual(t, tc.name, inboxIDs(inboxItems(t, s, f)), tc.want)
		// CountInbox ignores Limit and After.
		f.Limit, f.After = 1, &parley.InboxCursor{ActivityAt: at(0), ConversationID: ""}
		if n := view(t, s, func(tx parley.Tx) (int, error) { return tx.CountInbox(f, 100) }); n != len(tc.want) {
			t.Errorf("%s: CountInbox = %d, want %d", tc.name, n, len(tc.want))
		}
		if len(tc.want) > 1 {
			if n := view(t, s, func(tx parley.Tx) (int, error) { return tx.CountInbox(f, len(tc.want)-1) }); n != len(tc.want)-1 {
				t.Errorf("%s: CountInbox up to %d = %d", tc.name, len(tc.want)-1, n)
			}
		}
	}
	if n := view(t, s, func(tx parley.Tx) (int, error) { return tx.CountInbox(parley.InboxFilter{BusinessID: "nobody"}, 10) }); n != 0 {
		t.Fatalf("count of an empty inbox %d", n)
	}
}

// testInboxOverdue: an unresolved item is overdue when its first reply is
// late (and not yet given) or its resolution is late.
func testInboxOverdue(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2")
	mk := func(id string, act int, status parley.InboxStatus, firstDue, reply, resolveDue *time.Time) *parley.InboxItem {
		it := newInboxItem(id, "biz", act)
		it.Status, it.FirstDueAt, it.FirstReplyAt, it.ResolveDueAt = status, firstDue, reply, resolveDue
		return it
	}
	now := at(100)
	past, future := ptr(at(50)), ptr(at(150))
	other := mk("other", 9, parley.InboxOpen, past, nil, nil)
	other.BusinessID = "biz2"
	mkInboxItems(t, s,
		mk("late-reply", 1, parley.InboxOpen, past, nil, nil),
		mk("replied", 2, parley.InboxOpen, past, ptr(at(60)), nil),
		mk("late-resolve", 3, parley.InboxPending, nil, ptr(at(10)), past),
		mk("late-both", 4, parley.InboxSnoozed, past, nil, past),
		mk("resolved", 5, parley.InboxResolved, past, nil, past),
		mk("in-time", 6, parley.InboxOpen, future, nil, future),
		mk("no-sla", 7, parley.InboxOpen, nil, nil, nil),
		mk("due-now", 8, parley.InboxOpen, ptr(now), nil, ptr(now)), // not before now
		mk("replied-late-resolve", 10, parley.InboxOpen, past, ptr(at(60)), past),
		other,
	)
	f := parley.InboxFilter{BusinessID: "biz", OverdueAt: &now}
	want := []string{"replied-late-resolve", "late-both", "late-resolve", "late-reply"}
	wantEqual(t, "overdue", inboxIDs(inboxItems(t, s, f)), want)
	if n := view(t, s, func(tx parley.Tx) (int, error) { return tx.CountInbox(f, 100) }); n != len(want) {
		t.Fatalf("overdue count %d", n)
	}
	f.Statuses = []parley.InboxStatus{parley.InboxOpen}
	wantEqual(t, "overdue open", inboxIDs(inboxItems(t, s, f)), []string{"replied-late-resolve", "late-reply"})
	f = parley.InboxFilter{BusinessID: "biz", OverdueAt: ptr(at(1000))}
	wantEqual(t, "overdue later", inboxIDs(inboxItems(t, s, f)),
		[]string{"replied-late-resolve", "due-now", "in-time", "late-both", "late-resolve", "late-reply"})
}

// testInboxLoads: OpenLoads counts the unresolved items of each assignee.
func testInboxLoads(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2")
	var items []*parley.InboxItem
	for i, spec := range []struct {
		business, assignee string
		status             parley.InboxStatus
	}{
		{"biz", "a1", parley.InboxOpen}, {"biz", "a1", parley.InboxPending}, {"biz", "a1", parley.InboxSnoozed},
		{"biz", "a1", parley.InboxResolved}, {"biz", "a2", parley.InboxOpen}, {"biz", "a3", parley.InboxResolved},
		{"biz", "", parley.InboxOpen}, {"biz2", "a1", parley.InboxOpen},
	} {
		it := newInboxItem(fmt.Sprint("c", i), spec.business, i)
		it.AssigneeID, it.Status = spec.assignee, spec.status
		items = append(items, it)
	}
	mkInboxItems(t, s, items...)
	wantEqual(t, "loads of biz", view(t, s, func(tx parley.Tx) (map[string]int, error) { return tx.OpenLoads("biz") }),
		map[string]int{"a1": 3, "a2": 1})
	if got := view(t, s, func(tx parley.Tx) (map[string]int, error) { return tx.OpenLoads("nobody") }); len(got) != 0 {
		t.Fatalf("loads of nobody %v", got)
	}
}

// testInboxScans: DueSnoozes and Unanswered find items of every business,
// oldest first, up to a limit, with their labels.
func testInboxScans(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2")
	mk := func(id, business string, status parley.InboxStatus, snoozed, waiting *time.Time, assignee string) *parley.InboxItem {
		it := newInboxItem(id, business, 0)
		it.Status, it.SnoozedUntil, it.WaitingSince, it.AssigneeID = status, snoozed, waiting, assignee
		it.Labels = []string{"l-" + id}
		return it
	}
	mkInboxItems(t, s,
		mk("s1", "biz", parley.InboxSnoozed, ptr(at(30)), nil, ""),
		mk("s2", "biz2", parley.InboxSnoozed, ptr(at(10)), nil, "a1"),
		mk("s3", "biz", parley.InboxSnoozed, ptr(at(20)), nil, ""),
		mk("s-now", "biz", parley.InboxSnoozed, ptr(at(50)), nil, ""),
		mk("s-later", "biz", parley.InboxSnoozed, ptr(at(60)), nil, ""),
		mk("s-woken", "biz", parley.InboxOpen, ptr(at(5)), nil, ""), // no longer snoozed

		mk("w1", "biz", parley.InboxOpen, nil, ptr(at(30)), "a1"),
		mk("w2", "biz2", parley.InboxOpen, nil, ptr(at(10)), "a2"),
		mk("w3", "biz", parley.InboxOpen, nil, ptr(at(20)), "a1"),
		mk("w-unassigned", "biz", parley.InboxOpen, nil, ptr(at(1)), ""),
		mk("w-pending", "biz", parley.InboxPending, nil, ptr(at(1)), "a1"),
		mk("w-answered", "biz", parley.InboxOpen, nil, nil, "a1"),
		mk("w-recent", "biz", parley.InboxOpen, nil, ptr(at(50)), "a1"), // not before
	)
	snoozes := func(now time.Time, limit int) []*parley.InboxItem {
		return view(t, s, func(tx parley.Tx) ([]*parley.InboxItem, error) { return tx.DueSnoozes(now, limit) })
	}
	due := snoozes(at(50), 10)
	wantEqual(t, "due snoozes", inboxIDs(due), []string{"s2", "s3", "s1", "s-now"})
	wantEqual(t, "labels of a due snooze", due[0].Labels, []string{"l-s2"})
	wantEqual(t, "due snoozes, limit 2", inboxIDs(snoozes(at(50), 2)), []string{"s2", "s3"})
	wantEqual(t, "nothing due", inboxIDs(snoozes(at(9), 10)), []string{})

	unanswered := func(before time.Time, limit int) []*parley.InboxItem {
		return view(t, s, func(tx parley.Tx) ([]*parley.InboxItem, error) { return tx.Unanswered(before, limit) })
	}
	waiting := unanswered(at(50), 10)
	wantEqual(t, "unanswered", inboxIDs(waiting), []string{"w2", "w3", "w1"})
	wantEqual(t, "labels of an unanswered item", waiting[2].Labels, []string{"l-w1"})
	wantEqual(t, "unanswered, limit 1", inboxIDs(unanswered(at(50), 1)), []string{"w2"})
	wantEqual(t, "unanswered before 10", inboxIDs(unanswered(at(10), 10)), []string{})
}

// ---- Notes ----

// testNotes: notes round-trip, oldest first, per business and conversation.
func testNotes(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2")
	mkConversation(t, s, "c1", "biz")
	mkConversation(t, s, "c2", "biz")
	n1 := &parley.Note{ID: "n1", BusinessID: "biz", ConversationID: "c1", AuthorID: "a1", Text: "call back @a2",
		Mentions: []string{"a2", "a3"}, CreatedAt: at(2)}
	n2 := &parley.Note{ID: "n2", BusinessID: "biz", ConversationID: "c1", AuthorID: "a2", Text: "done", CreatedAt: at(1)}
	n3 := &parley.Note{ID: "n3", BusinessID: "biz", ConversationID: "c2", AuthorID: "a1", Text: "other", CreatedAt: at(0)}
	n4 := &parley.Note{ID: "n4", BusinessID: "biz2", ConversationID: "c1", AuthorID: "b1", Text: "not biz's", CreatedAt: at(0)}
	update(t, s, func(tx parley.Tx) error {
		for _, n := range []*parley.Note{n1, n2, n3, n4} {
			if err := tx.CreateNote(n); err != nil {
				return err
			}
		}
		return nil
	})
	notes := func(business, conv string) []*parley.Note {
		return view(t, s, func(tx parley.Tx) ([]*parley.Note, error) { return tx.Notes(business, conv) })
	}
	wantEqual(t, "notes of c1", notes("biz", "c1"), []*parley.Note{n2, n1})
	wantEqual(t, "notes of c2", notes("biz", "c2"), []*parley.Note{n3})
	wantEqual(t, "notes of biz2", notes("biz2", "c1"), []*parley.Note{n4})
	if got := notes("biz", "nope"); len(got) != 0 {
		t.Fatalf("notes of nothing: %s", show(got))
	}
	err := s.Update(ctx, func(tx parley.Tx) error {
		return tx.CreateNote(&parley.Note{ID: "n1", BusinessID: "biz", ConversationID: "c2", Text: "again", CreatedAt: at(5)})
	})
	wantCode(t, err, parley.EConflict)
}

// ---- Saved replies ----

// testSavedReplies: saved replies round-trip, have unique shortcuts per
// business, update and delete only within their business, and search.
func testSavedReplies(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2")
	mkReply := func(id, business, shortcut, title string) *parley.SavedReply {
		return &parley.SavedReply{ID: id, BusinessID: business, Shortcut: shortcut, Title: title,
			Body: "Hello {{name}}, " + title, CreatedBy: "a1", CreatedAt: at(1), UpdatedAt: at(2)}
	}
	replies := []*parley.SavedReply{
		mkReply("r1", "biz", "thanks", "Thank you"),
		mkReply("r2", "biz", "refund", "Refund policy"),
		mkReply("r3", "biz", "hours", "Opening hours"),
		mkReply("r4", "biz", "50%", "Discount of 50% off"),
		mkReply("r5", "biz", "a_b", "Underscore"),
		mkReply("r6", "biz2", "thanks", "Thanks from biz2"),
	}
	update(t, s, func(tx parley.Tx) error {
		for _, r := range replies {
			if err := tx.CreateSavedReply(r); err != nil {
				return err
			}
		}
		return nil
	})
	get := func(business, id string) func(tx parley.Tx) (*parley.SavedReply, error) {
		return func(tx parley.Tx) (*parley.SavedReply, error) { return tx.SavedReply(business, id) }
	}
	wantEqual(t, "saved reply r1", view(t, s, get("biz", "r1")), replies[0])
	wantNotFound(t, s, "reply of another business", get("biz", "r6"))
	wantNotFound(t, s, "no such reply", get("biz", "nope"))

	taken := mkReply("r7", "biz", "thanks", "Again")
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.CreateSavedReply(taken) }), parley.EConflict)

	search := func(business, q string) []string {
		var out []string
		for _, r := range view(t, s, func(tx parley.Tx) ([]*parley.SavedReply, error) { return tx.SavedReplies(business, q) }) {
			out = append(out, r.ID)
		}
		return out
	}
	wantEqual(t, "all replies", search("biz", ""), []string{"r4", "r5", "r3", "r2", "r1"})
	wantEqual(t, "replies of biz2", search("biz2", ""), []string{"r6"})
	wantEqual(t, "search THANK", search("biz", "THANK"), []string{"r1"})
	wantEqual(t, "search in titles", search("biz", "hours"), []string{"r3"})
	wantEqual(t, "search policy", search("biz", "Policy"), []string{"r2"})
	wantEqual(t, "search o (shortcut or title)", search("biz", "o"), []string{"r4", "r5", "r3", "r2", "r1"})
	wantEqual(t, "search %", search("biz", "%"), []string{"r4"})
	wantEqual(t, "search _", search("biz", "_"), []string{"r5"})
	wantEqual(t, `search \`, search("biz", `\`), []string(nil))
	wantEqual(t, "search nothing", search("biz", "zzz"), []string(nil))

	// Update saves Shortcut, Title, Body; shortcut clashes and other
	// businesses' replies are refused.
	r2 := *replies[1]
	r2.Shortcut, r2.Title, r2.Body, r2.UpdatedAt = "refunds", "Refunds", "We refund within 14 days.", at(9)
	update(t, s, func(tx parley.Tx) error { return tx.UpdateSavedReply(&r2) })
	got := view(t, s, get("biz", "r2"))
	if got.Shortcut != "refunds" || got.Title != "Refunds" || got.Body != r2.Body || got.CreatedBy != "a1" || !got.CreatedAt.Equal(at(1)) {
		t.Fatalf("updated reply %+v", got)
	}
	clash := r2
	clash.Shortcut = "hours"
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.UpdateSavedReply(&clash) }), parley.EConflict)
	foreign := *replies[5]
	foreign.BusinessID = "biz"
	foreign.Shortcut = "mine"
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.UpdateSavedReply(&foreign) }), parley.ENotFound)
	if got := view(t, s, get("biz2", "r6")); got.Shortcut != "thanks" {
		t.Fatalf("another business's reply changed: %+v", got)
	}

	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteSavedReply("biz", "r6") }), parley.ENotFound)
	update(t, s, func(tx parley.Tx) error { return tx.DeleteSavedReply("biz", "r1") })
	wantNotFound(t, s, "deleted reply", get("biz", "r1"))
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteSavedReply("biz", "r1") }), parley.ENotFound)
	// The shortcut is free again.
	update(t, s, func(tx parley.Tx) error { return tx.CreateSavedReply(taken) })
	wantEqual(t, "replies after delete", search("biz", "thanks"), []string{"r7"})
}

// ---- Contacts ----

func newContact(business, id, user, name string) *parley.Contact {
	return &parley.Contact{BusinessID: business, ID: id, UserID: user, Name: name, CreatedAt: at(1), UpdatedAt: at(1)}
}

func contactIDs(cs []*parley.Contact) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// testContacts: contacts round-trip; ContactByUser skips merged ones;
// Contacts pages by name then id; merging moves inbox items.
func testContacts(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2", "u1", "u2")
	full := &parley.Contact{BusinessID: "biz", ID: "k1", UserID: "u1", Name: "Ada Lovelace",
		Attributes: map[string]string{"tier": "gold", "city": "London"}, Labels: []string{"vip", "beta"},
		Notes: "prefers email", CreatedAt: at(1), UpdatedAt: at(2), LastSeenAt: at(3)}
	bare := newContact("biz", "k2", "", "")
	update(t, s, func(tx parley.Tx) error {
		for _, c := range []*parley.Contact{full, bare, newContact("biz2", "k1", "u1", "Other business")} {
			if err := tx.PutContact(c); err != nil {
				return err
			}
		}
		return nil
	})
	contact := func(business, id string) func(tx parley.Tx) (*parley.Contact, error) {
		return func(tx parley.Tx) (*parley.Contact, error) { return tx.Contact(business, id) }
	}
	byUser := func(business, user string) func(tx parley.Tx) (*parley.Contact, error) {
		return func(tx parley.Tx) (*parley.Contact, error) { return tx.ContactByUser(business, user) }
	}
	wantEqual(t, "full contact", view(t, s, contact("biz", "k1")), full)
	wantEqual(t, "bare contact", view(t, s, contact("biz", "k2")), bare)
	wantNotFound(t, s, "no contact", contact("biz", "k9"))
	wantEqual(t, "contact of u1", view(t, s, byUser("biz", "u1")), full)
	wantEqual(t, "contact of u1 at biz2", view(t, s, byUser("biz2", "u1")).Name, "Other business")
	wantNotFound(t, s, "contact of u2", byUser("biz", "u2"))
	wantNotFound(t, s, "contact of no user", byUser("biz", ""))

	// Replacing saves every field.
	changed := *full
	changed.Name, changed.Attributes, changed.Labels, changed.Notes, changed.LastSeenAt = "Ada King", nil, nil, "", at(30)
	update(t, s, func(tx parley.Tx) error { return tx.PutContact(&changed) })
	wantEqual(t, "replaced contact", view(t, s, contact("biz", "k1")), &changed)

	// Merging k1 into k3: the account's contact is now k3, k1 is hidden
	// from listings, and its inbox items move.
	mkInboxItems(t, s, func() *parley.InboxItem { it := newInboxItem("c1", "biz", 1); it.ContactID = "k1"; return it }(),
		func() *parley.InboxItem { it := newInboxItem("c2", "biz", 2); it.ContactID = "k1"; return it }(),
		func() *parley.InboxItem { it := newInboxItem("c3", "biz2", 3); it.ContactID = "k1"; return it }(),
		func() *parley.InboxItem { it := newInboxItem("c4", "biz", 4); it.ContactID = "k2"; return it }())
	merged := changed
	merged.MergedInto = "k3"
	target := newContact("biz", "k3", "u1", "Ada")
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.PutContact(target) }), parley.EConflict)
	update(t, s, func(tx parley.Tx) error {
		if err := tx.PutContact(&merged); err != nil {
			return err
		}
		if err := tx.PutContact(target); err != nil {
			return err
		}
		return tx.MoveContactItems("biz", "k1", "k3")
	})
	wantEqual(t, "contact of u1 after the merge", view(t, s, byUser("biz", "u1")).ID, "k3")
	wantEqual(t, "merged contact", view(t, s, contact("biz", "k1")).MergedInto, "k3")
	for conv, want := range map[string]string{"c1": "k3", "c2": "k3", "c3": "k1", "c4": "k2"} {
		if got := inboxItem(t, s, conv).ContactID; got != want {
			t.Errorf("contact of %s: %s, want %s", conv, got, want)
		}
	}
	wantEqual(t, "items of k3", inboxIDs(inboxItems(t, s, parley.InboxFilter{BusinessID: "biz", ContactID: "k3"})), []string{"c2", "c1"})

	// Listing: by name then id, merged ones left out, pages without gaps.
	update(t, s, func(tx parley.Tx) error {
		for i, name := range []string{"bob", "Carol", "bob", "alice", "Bobby", "dave", "bob"} {
			if err := tx.PutContact(newContact("biz", fmt.Sprintf("p%d", i), "", name)); err != nil {
				return err
			}
		}
		return tx.PutContact(newContact("biz2", "q1", "", "bob"))
	})
	list := func(query, afterName, afterID string, limit int) []*parley.Contact {
		return view(t, s, func(tx parley.Tx) ([]*parley.Contact, error) {
			return tx.Contacts("biz", query, afterName, afterID, limit)
		})
	}
	// Byte order: "" < "Ada" < "Bobby" < "Carol" < "alice" < "bob" < "dave".
	all := []string{"k2", "k3", "p4", "p1", "p3", "p0", "p2", "p6", "p5"}
	wantEqual(t, "contacts", contactIDs(list("", "", "", 0)), all)
	for _, limit := range []int{1, 2, 4} {
		var got []string
		afterName, afterID := "", ""
		for range 20 {
			page := list("", afterName, afterID, limit)
			if len(page) > limit {
				t.Fatalf("page of %d, limit %d", len(page), limit)
			}
			got = append(got, contactIDs(page)...)
			if len(page) < limit {
				break
			}
			afterName, afterID = page[len(page)-1].Name, page[len(page)-1].ID
		}
		wantEqual(t, fmt.Sprint("contacts by pages of ", limit), got, all)
	}
	wantEqual(t, "contacts named bob", contactIDs(list("BOB", "", "", 10)), []string{"p4", "p0", "p2", "p6"})
	wantEqual(t, "contacts named bob, second page", contactIDs(list("bob", "bob", "p0", 2)), []string{"p2", "p6"})
	wantEqual(t, "contacts named ada", contactIDs(list("ada", "", "", 10)), []string{"k3"})
	wantEqual(t, "contacts named %", contactIDs(list("%", "", "", 10)), []string{})
}

// ---- Settings ----

// testBusinessSettings: nil until saved, then the last saved JSON.
func testBusinessSettings(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2")
	settings := func(business string) json.RawMessage {
		return view(t, s, func(tx parley.Tx) (json.RawMessage, error) { return tx.BusinessSettings(business) })
	}
	if got := settings("biz"); got != nil {
		t.Fatalf("settings before any save: %s", got)
	}
	update(t, s, func(tx parley.Tx) error {
		return tx.PutBusinessSettings("biz", json.RawMessage(`{"away":"We are closed"}`), at(1))
	})
	wantEqual(t, "settings", string(settings("biz")), `{"away":"We are closed"}`)
	update(t, s, func(tx parley.Tx) error {
		return tx.PutBusinessSettings("biz", json.RawMessage(`{"csat":true}`), at(2))
	})
	wantEqual(t, "settings replaced", string(settings("biz")), `{"csat":true}`)
	if got := settings("biz2"); got != nil {
		t.Fatalf("settings of another business: %s", got)
	}
}

// ---- Audit ----

// testAudit: rows get increasing ids, round-trip, and filter by
// conversation, action, time and id.
func testAudit(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2")
	mkRow := func(business, conv, action string, sec int) *parley.InboxAudit {
		return &parley.InboxAudit{BusinessID: business, ConversationID: conv, ActorID: "a1", Action: action, At: at(sec)}
	}
	full := &parley.InboxAudit{BusinessID: "biz", ConversationID: "c1", ActorID: "a1", Action: parley.AuditFirstResponse,
		AgentID: "a2", TeamID: "t1", Value: 93000, Data: json.RawMessage(`{"slaMs":60000}`), At: at(5)}
	rows := []*parley.InboxAudit{
		mkRow("biz", "c1", parley.AuditOpened, 0),
		mkRow("biz", "c1", parley.AuditAssigned, 1),
		mkRow("biz2", "c9", parley.AuditOpened, 2),
		mkRow("biz", "c2", parley.AuditOpened, 3),
		mkRow("biz", "", parley.AuditMember, 4),
		full,
		mkRow("biz", "c1", parley.AuditResolved, 6),
		mkRow("biz", "c2", parley.AuditCSAT, 7),
	}
	update(t, s, func(tx parley.Tx) error {
		for _, r := range rows {
			if err := tx.AppendAudit(r); err != nil {
				return err
			}
		}
		return nil
	})
	for i := 1; i < len(rows); i++ {
		if rows[i].ID <= rows[i-1].ID || rows[0].ID <= 0 {
			t.Fatalf("audit ids do not increase: %d then %d", rows[i-1].ID, rows[i].ID)
		}
	}
	audit := func(f parley.AuditFilter) []*parley.InboxAudit {
		return view(t, s, func(tx parley.Tx) ([]*parley.InboxAudit, error) { return tx.Audit(f) })
	}
	pick := func(is ...int) []*parley.InboxAudit {
		out := []*parley.InboxAudit{}
		for _, i := range is {
			out = append(out, rows[i])
		}
		return out
	}
	got := audit(parley.AuditFilter{BusinessID: "biz"})
	wantEqual(t, "audit of biz", got, pick(0, 1, 3, 4, 5, 6, 7))
	if got[0].Data != nil {
		t.Fatalf("empty data came back as %q", got[0].Data)
	}
	for _, tc := range []struct {
		name string
		f    parley.AuditFilter
		want []*parley.InboxAudit
	}{
		{"conversation c1", parley.AuditFilter{ConversationID: "c1"}, pick(0, 1, 5, 6)},
		{"actions", parley.AuditFilter{Actions: []string{parley.AuditOpened, parley.AuditCSAT}}, pick(0, 3, 7)},
		{"c2 opened", parley.AuditFilter{ConversationID: "c2", Actions: []string{parley.AuditOpened}}, pick(3)},
		{"from", parley.AuditFilter{From: at(4)}, pick(4, 5, 6, 7)},
		{"to (excluded)", parley.AuditFilter{To: at(4)}, pick(0, 1, 3)},
		{"from to", parley.AuditFilter{From: at(1), To: at(6)}, pick(1, 3, 4, 5)},
		{"after id", parley.AuditFilter{AfterID: rows[4].ID}, pick(5, 6, 7)},
		{"after id, limit", parley.AuditFilter{AfterID: rows[1].ID, Limit: 2}, pick(3, 4)},
		{"c1 from, actions", parley.AuditFilter{ConversationID: "c1", From: at(1), Actions: []string{parley.AuditResolved, parley.AuditAssigned}}, pick(1, 6)},
		{"nothing", parley.AuditFilter{Actions: []string{"nope"}}, pick()},
	} {
		f := tc.f
		f.BusinessID = "biz"
		if got := audit(f); !(len(got) == 0 && len(tc.want) == 0) {
			wantEqual(t, tc.name, got, tc.want)
		}
	}
	// Paging by AfterID sees every row once.
	var paged []*parley.InboxAudit
	f := parley.AuditFilter{BusinessID: "biz", Limit: 3}
	for range 10 {
		page := audit(f)
		paged = append(paged, page...)
		if len(page) < f.Limit {
			break
		}
		f.AfterID = page[len(page)-1].ID
	}
	wantEqual(t, "audit by pages", paged, pick(0, 1, 3, 4, 5, 6, 7))
}
