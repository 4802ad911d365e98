package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// fakeClock is a settable clock shared by the app and the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// shop is a business with a team, on an app with a fake clock.
type shop struct {
	t     *testing.T
	db    parley.Store
	a     *app.App
	clock *fakeClock
	ctx   context.Context
	biz   *app.Actor
	admin *app.BusinessActor
	n     int
}

func newShop(t *testing.T) *shop { t.Helper(); return newShopConfig(t, app.Config{}) }

// newShopConfig is newShop with cfg (its password cost is the tests').
func newShopConfig(t *testing.T, cfg app.Config, opts ...app.Option) *shop {
	t.Helper()
	db := openStore(t)
	clock := &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)} // a Monday
	s := &shop{t: t, db: db, clock: clock, ctx: context.Background()}
	cfg.Password = cheap
	s.a = app.New(db, cfg, append([]app.Option{app.WithClock(clock.Now)}, opts...)...)
	s.biz = s.register("acme", "Acme Store", parley.KindBusiness)
	s.admin = s.actAs(s.biz, "acme")
	return s
}

func (s *shop) register(handle, name string, kind parley.UserKind) *app.Actor {
	s.t.Helper()
	auth, err := s.a.Register(s.ctx, app.Registration{Handle: handle, Password: "correct horse battery", DisplayName: name, Kind: kind})
	if err != nil {
		s.t.Fatal(err)
	}
	actor, err := s.a.Authenticate(s.ctx, auth.Token)
	if err != nil {
		s.t.Fatal(err)
	}
	return actor
}

func (s *shop) actAs(actor *app.Actor, handle string) *app.BusinessActor {
	s.t.Helper()
	ba, err := s.a.ActAs(s.ctx, actor, handle)
	if err != nil {
		s.t.Fatal(err)
	}
	return ba
}

// agent adds a person to the team, online unless told otherwise.
func (s *shop) agent(handle, name string, online bool) (*app.Actor, *app.BusinessActor) {
	s.t.Helper()
	u := s.register(handle, name, parley.KindPerson)
	if _, err := s.a.PutAgent(s.ctx, s.admin, handle, app.AgentChange{}); err != nil {
		s.t.Fatal(err)
	}
	if online {
		if err := s.a.Presence(s.ctx, u.User.ID, true); err != nil {
			s.t.Fatal(err)
		}
	}
	return u, s.actAs(u, "acme")
}

func (s *shop) settings(mut func(*app.BusinessSettings)) {
	s.t.Helper()
	st, err := s.a.Settings(s.ctx, s.admin)
	if err != nil {
		s.t.Fatal(err)
	}
	mut(st)
	if _, err := s.a.PutSettings(s.ctx, s.admin, st); err != nil {
		s.t.Fatal(err)
	}
}

// customer registers a customer who writes to the business.
func (s *shop) customer(name string) (*app.Actor, string) {
	s.t.Helper()
	s.n++
	c := s.register(fmt.Sprintf("cust%03d", s.n), name, parley.KindPerson)
	conv, _, err := s.a.CreateDirect(s.ctx, c, "acme")
	if err != nil {
		s.t.Fatal(err)
	}
	s.say(c, conv.ID, "hello, I need help")
	return c, conv.ID
}

func (s *shop) say(actor *app.Actor, convID, text string) *app.MessageView {
	s.t.Helper()
	s.n++
	m, _, err := s.a.Send(s.ctx, actor, convID, app.SendInput{ClientID: fmt.Sprintf("c%d", s.n), Text: text})
	if err != nil {
		s.t.Fatal(err)
	}
	return m
}

func (s *shop) reply(ba *app.BusinessActor, convID, text string) (*app.MessageView, error) {
	s.n++
	m, _, err := s.a.BusinessSend(s.ctx, ba, convID, "", app.SendInput{ClientID: fmt.Sprintf("r%d", s.n), Text: text})
	return m, err
}

func (s *shop) item(convID string) *app.InboxItemView {
	s.t.Helper()
	d, err := s.a.InboxConversation(s.ctx, s.admin, convID)
	if err != nil {
		s.t.Fatal(err)
	}
	return d.Item
}

func assignee(v *app.InboxItemView) string {
	if v.Assignee == nil {
		return ""
	}
	return v.Assignee.Handle
}

func TestRoundRobinIsFair(t *testing.T) {
	s := newShop(t)
	s.settings(func(st *app.BusinessSettings) { st.AutoAssign = app.AssignRoundRobin })
	for _, h := range []string{"ann", "bob", "cat"} {
		s.agent(h, h, true)
	}
	got := map[string]int{}
	var order []string
	for range 30 {
		s.clock.Advance(time.Second)
		_, conv := s.customer("Customer")
		h := assignee(s.item(conv))
		got[h]++
		order = append(order, h)
	}
	for _, h := range []string{"ann", "bob", "cat"} {
		if got[h] != 10 {
			t.Fatalf("round robin gave %v, want 10 each", got)
		}
	}
	for i := 3; i < len(order); i++ {
		if order[i] != order[i-3] {
			t.Fatalf("round robin order is not a rotation: %v", order)
		}
	}
}

func TestLeastLoadRespectsCapAndAvailability(t *testing.T) {
	s := newShop(t)
	s.settings(func(st *app.BusinessSettings) {
		st.AutoAssign = app.AssignLeastLoad
		st.MaxOpenPerAgent = 2
	})
	_, annBA := s.agent("ann", "Ann", true)
	s.agent("bob", "Bob", true)
	s.agent("offline", "Off Line", false)
	away, _ := s.agent("away", "A Way", true)
	awayTrue := true
	if _, err := s.a.PutAgent(s.ctx, s.actAs(away, "acme"), "away", app.AgentChange{Away: &awayTrue}); err != nil {
		t.Fatal(err)
	}
	var convs []string
	for range 5 {
		s.clock.Advance(time.Second)
		_, conv := s.customer("C")
		convs = append(convs, conv)
	}
	got := map[string]int{}
	for _, c := range convs {
		got[assignee(s.item(c))]++
	}
	if got["ann"] != 2 || got["bob"] != 2 || got[""] != 1 || len(got) != 3 {
		t.Fatalf("assignments %v, want ann 2, bob 2, one waiting (cap 2; offline and away agents get none)", got)
	}
	// Least load: once ann resolves one, the next goes to her.
	resolved := "resolved"
	for _, c := range convs {
		if assignee(s.item(c)) == "ann" {
			if _, err := s.a.UpdateItem(s.ctx, annBA, c, app.ItemChange{Status: &resolved}); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	_, next := s.customer("D")
	if h := assignee(s.item(next)); h != "ann" {
		t.Fatalf("next conversation went to %q, want ann (least load)", h)
	}
}

func TestTeamAssignmentUsesTeamMembersOnly(t *testing.T) {
	s := newShop(t)
	s.agent("ann", "Ann", true)
	s.agent("bob", "Bob", true)
	rr := app.AssignRoundRobin
	name := "Billing"
	team, err := s.a.SaveTeam(s.ctx, s.admin, "", app.TeamInput{Name: &name, Assign: &rr})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.a.SetTeamMember(s.ctx, s.admin, team.ID, "bob", true); err != nil {
		t.Fatal(err)
	}
	s.settings(func(st *app.BusinessSettings) { st.DefaultTeam = team.ID })
	for range 3 {
		_, conv := s.customer("C")
		if v := s.item(conv); assignee(v) != "bob" || v.TeamID != team.ID {
			t.Fatalf("assigned to %q in team %q, want bob in %s", assignee(v), v.TeamID, team.ID)
		}
	}
}

func TestAutoReassignWhenAssigneeDoesNotReply(t *testing.T) {
	s := newShop(t)
	s.settings(func(st *app.BusinessSettings) {
		st.AutoAssign = app.AssignRoundRobin
		st.ReassignAfterMinutes = 10
	})
	_, annBA := s.agent("ann", "Ann", true)
	s.agent("bob", "Bob", true)
	_, conv := s.customer("C")
	first := assignee(s.item(conv))
	s.clock.Advance(9 * time.Minute)
	if err := s.a.InboxTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	if h := assignee(s.item(conv)); h != first {
		t.Fatalf("reassigned before the time: %q -> %q", first, h)
	}
	s.clock.Advance(2 * time.Minute)
	if err := s.a.InboxTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	second := assignee(s.item(conv))
	if second == first || second == "" {
		t.Fatalf("after 11 minutes without reply the assignee is %q (was %q), want the other agent", second, first)
	}
	// A reply stops the clock: no more moves.
	replier := annBA
	if second == "bob" {
		replier = s.actAs(s.reg("bob"), "acme")
	}
	if _, err := s.reply(replier, conv, "on it"); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Hour)
	if err := s.a.InboxTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	if h := assignee(s.item(conv)); h != second {
		t.Fatalf("answered conversation moved from %q to %q", second, h)
	}
	rows, err := s.a.Audit(s.ctx, s.admin, conv, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, r := range rows {
		if r.Action == parley.AuditAssigned {
			var d struct{ Reason string }
			json.Unmarshal(r.Data, &d)
			reasons = append(reasons, d.Reason)
		}
	}
	if strings.Join(reasons, ",") != "auto_round_robin,no_reply" {
		t.Fatalf("assignment audit reasons %v", reasons)
	}
}

// reg signs in an existing user again (a second device).
func (s *shop) reg(handle string) *app.Actor {
	s.t.Helper()
	auth, err := s.a.Login(s.ctx, handle, "correct horse battery", "test", "127.0.0.1")
	if err != nil {
		s.t.Fatal(err)
	}
	actor, err := s.a.Authenticate(s.ctx, auth.Token)
	if err != nil {
		s.t.Fatal(err)
	}
	return actor
}

func TestBusinessHoursAcrossZonesAndDST(t *testing.T) {
	berlin := app.Hours{TimeZone: "Europe/Berlin", Days: map[string][]string{"mon": {"09:00-17:00"}, "fri": {"09:00-12:00", "13:00-17:00"}},
		Holidays: []string{"2026-12-25"}}
	ny := app.Hours{TimeZone: "America/New_York", Days: map[string][]string{"sun": {"00:00-24:00"}, "mon": {"09:00-17:00"}}}
	var st app.BusinessSettings
	for _, h := range []*app.Hours{&berlin, &ny} {
		st.Hours = h
		if _, err := app.ValidateSettings(&st); err != nil {
			t.Fatal(err)
		}
	}
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cases := []struct {
		h    *app.Hours
		at   string
		open bool
	}{
		// Berlin is UTC+1 before 29 March 2026, UTC+2 after.
		{&berlin, "2026-03-23T08:30:00Z", true},  // Mon 09:30 CET
		{&berlin, "2026-03-23T07:30:00Z", false}, // Mon 08:30 CET
		{&berlin, "2026-03-30T07:30:00Z", true},  // Mon 09:30 CEST: same UTC hour closed a week earlier
		{&berlin, "2026-03-30T15:30:00Z", false}, // Mon 17:30 CEST
		{&berlin, "2026-03-23T15:30:00Z", true},  // Mon 16:30 CET
		{&berlin, "2026-03-27T11:30:00Z", false}, // Fri 12:30 CET: lunch
		{&berlin, "2026-03-27T12:30:00Z", true},  // Fri 13:30 CET
		{&berlin, "2026-12-25T10:00:00Z", false}, // a Friday, but a holiday
		{&berlin, "2026-03-24T10:00:00Z", false}, // Tuesday: not listed
		// New York switches on 8 March 2026 (UTC-5 -> UTC-4) and back on 1 November.
		{&ny, "2026-03-09T13:30:00Z", true},  // Mon 09:30 EDT
		{&ny, "2026-03-02T13:30:00Z", false}, // Mon 08:30 EST
		{&ny, "2026-11-02T13:30:00Z", false}, // Mon 08:30 EST again
		{&ny, "2026-11-02T14:30:00Z", true},  // Mon 09:30 EST
		{&ny, "2026-03-08T07:30:00Z", true},  // Sun 03:30 EDT, the night the clocks jump: open all day
		{&ny, "2026-03-09T03:59:00Z", true},  // still Sunday 23:59 EDT
		{&ny, "2026-03-09T04:01:00Z", false}, // Monday 00:01 EDT
	}
	for _, c := range cases {
		if got := c.h.IsOpen(utc(c.at)); got != c.open {
			t.Errorf("%s at %s: open=%v, want %v", c.h.TimeZone, c.at, got, c.open)
		}
	}
	for _, bad := range []app.Hours{
		{TimeZone: "Mars/Olympus", Days: map[string][]string{"mon": {"09:00-17:00"}}},
		{TimeZone: "UTC", Days: map[string][]string{"funday": {"09:00-17:00"}}},
		{TimeZone: "UTC", Days: map[string][]string{"mon": {"17:00-09:00"}}},
		{TimeZone: "UTC", Days: map[string][]string{"mon": {"9-5"}}},
		{TimeZone: "UTC", Days: map[string][]string{"mon": {"09:00-17:00"}}, Holidays: []string{"Christmas"}},
	} {
		st.Hours = &bad
		if _, err := app.ValidateSettings(&st); parley.ErrorCode(err) != parley.EInvalid {
			t.Errorf("hours %+v accepted (err %v)", bad, err)
		}
	}
}

func TestAwayMessageOncePerClosedPeriod(t *testing.T) {
	s := newShop(t)
	s.settings(func(st *app.BusinessSettings) {
		st.Hours = &app.Hours{TimeZone: "Europe/Berlin", Days: map[string][]string{
			"mon": {"09:00-17:00"}, "tue": {"09:00-17:00"}, "wed": {"09:00-17:00"}, "thu": {"09:00-17:00"}, "fri": {"09:00-17:00"}}}
		st.AwayMessage = "We are closed; we answer from 9:00."
	})
	awayCount := func(c *app.Actor, conv string) int {
		page, err := s.a.Messages(s.ctx, c, conv, app.HistoryQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range page.Items {
			if m.Text == "We are closed; we answer from 9:00." {
				n++
			}
		}
		return n
	}
	s.clock.Set(time.Date(2026, 11, 23, 21, 0, 0, 0, time.UTC)) // Monday 22:00 in Berlin
	c, conv := s.customer("Night Owl")
	if n := awayCount(c, conv); n != 1 {
		t.Fatalf("%d away messages after the first message at night, want 1", n)
	}
	s.clock.Advance(2 * time.Hour)
	s.say(c, conv, "still there?")
	if n := awayCount(c, conv); n != 1 {
		t.Fatalf("%d away messages after a second message the same night, want 1", n)
	}
	s.clock.Set(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)) // Tuesday 11:00: open
	s.say(c, conv, "good morning")
	if n := awayCount(c, conv); n != 1 {
		t.Fatalf("away message sent during business hours")
	}
	s.clock.Set(time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)) // Tuesday 21:00: a new closed period
	s.say(c, conv, "one more thing")
	if n := awayCount(c, conv); n != 2 {
		t.Fatalf("%d away messages after writing in the next closed period, want 2", n)
	}
	// The away message is not a reply: the customer still waits.
	if v := s.item(conv); v.WaitingSince == nil || v.FirstReplyAt != nil {
		t.Fatalf("away message counted as a reply: %+v", v)
	}
}

func TestSLABreachAndOverdueView(t *testing.T) {
	s := newShop(t)
	s.settings(func(st *app.BusinessSettings) {
		st.SLA = map[string]app.SLATarget{"normal": {FirstResponseMinutes: 30, ResolutionMinutes: 120}, "urgent": {FirstResponseMinutes: 5}}
	})
	_, ann := s.agent("ann", "Ann", true)
	_, fast := s.customer("Fast")
	_, slow := s.customer("Slow")
	overdue := func() []string {
		page, err := s.a.Inbox(s.ctx, s.admin, app.InboxQuery{View: "overdue"})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range page.Items {
			ids = append(ids, it.ConversationID)
		}
		return ids
	}
	s.clock.Advance(10 * time.Minute)
	if _, err := s.reply(ann, fast, "hi!"); err != nil {
		t.Fatal(err)
	}
	if ids := overdue(); len(ids) != 0 {
		t.Fatalf("overdue before any target passed: %v", ids)
	}
	s.clock.Advance(25 * time.Minute) // 35 minutes after opening
	if ids := overdue(); len(ids) != 1 || ids[0] != slow {
		t.Fatalf("overdue %v, want only the unanswered conversation %s", ids, slow)
	}
	if v := s.item(slow); !v.Overdue {
		t.Fatal("item not marked overdue")
	}
	if _, err := s.reply(ann, slow, "sorry for the wait"); err != nil {
		t.Fatal(err)
	}
	if ids := overdue(); len(ids) != 0 {
		t.Fatalf("still overdue after the first response (resolution target not passed): %v", ids)
	}
	s.clock.Advance(2 * time.Hour) // resolution target (120 min) passed for both
	if ids := overdue(); len(ids) != 2 {
		t.Fatalf("overdue %v, want both past the resolution target", ids)
	}
	// Raising the priority moves the targets.
	urgent := "urgent"
	_, third := s.customer("Third")
	if _, err := s.a.UpdateItem(s.ctx, ann, third, app.ItemChange{Priority: &urgent}); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(6 * time.Minute)
	if v := s.item(third); !v.Overdue {
		t.Fatal("urgent conversation not overdue after 6 minutes (target 5)")
	}
	rep, err := s.a.InboxReport(s.ctx, s.admin, time.Time{}, s.clock.Now().Add(time.Minute), "day", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.FirstResponses != 2 || rep.Totals.FirstResponseBreak != 1 {
		t.Fatalf("report: %d first responses, %d breaches; want 2 and 1", rep.Totals.FirstResponses, rep.Totals.FirstResponseBreak)
	}
	if rep.Totals.FirstResponseP50 != (10*time.Minute).Milliseconds() || rep.Totals.FirstResponseP90 != (35*time.Minute).Milliseconds() {
		t.Fatalf("first response p50 %d p90 %d", rep.Totals.FirstResponseP50, rep.Totals.FirstResponseP90)
	}
	if rep.OverdueNow != 3 || rep.Totals.Opened != 3 {
		t.Fatalf("overdue now %d, opened %d; want 3 and 3", rep.OverdueNow, rep.Totals.Opened)
	}
	if len(rep.Agents) != 1 || rep.Agents[0].Agent.Handle != "ann" || rep.Agents[0].FirstResponses != 2 {
		t.Fatalf("per-agent rows %+v", rep.Agents)
	}
}

func TestSavedReplyVariables(t *testing.T) {
	s := newShop(t)
	_, ann := s.agent("ann", "Ann Smith", true)
	c, conv := s.customer("Maria Garcia")
	if _, err := s.a.SaveReply(s.ctx, ann, "", app.SavedReplyInput{Shortcut: ptr("oops"), Body: ptr("Hi {{ nobody.knows }}")}); parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("unknown variable accepted: %v", err)
	}
	r, err := s.a.SaveReply(s.ctx, ann, "", app.SavedReplyInput{Shortcut: ptr("/Order"), Title: ptr("Order status"),
		Body: ptr("Hi {{contact.first_name}}, {{agent.first_name}} from {{business.name}} here. Order {{conversation.order}} ships soon.")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Shortcut != "order" {
		t.Fatalf("shortcut %q", r.Shortcut)
	}
	if found, err := s.a.SavedReplies(s.ctx, ann, "/ord"); err != nil || len(found) != 1 {
		t.Fatalf("search by shortcut: %v %v", found, err)
	}
	pre, err := s.a.RenderReply(s.ctx, ann, r.ID, conv)
	if err != nil {
		t.Fatal(err)
	}
	if len(pre.Missing) != 1 || pre.Missing[0] != "conversation.order" {
		t.Fatalf("missing %v", pre.Missing)
	}
	before := s.history(c, conv)
	_, _, err = s.a.BusinessSend(s.ctx, ann, conv, r.ID, app.SendInput{ClientID: "sr1"})
	if parley.ErrorCode(err) != parley.EUnresolvedVar {
		t.Fatalf("send with a missing variable: %v, want unresolved_variable", err)
	}
	if after := s.history(c, conv); after != before {
		t.Fatal("a refused saved reply left a message behind")
	}
	order := "A-1042"
	if _, err := s.a.UpdateItem(s.ctx, ann, conv, app.ItemChange{Attributes: map[string]*string{"order": &order}}); err != nil {
		t.Fatal(err)
	}
	m, _, err := s.a.BusinessSend(s.ctx, ann, conv, r.ID, app.SendInput{ClientID: "sr2"})
	if err != nil {
		t.Fatal(err)
	}
	want := "Hi Maria, Ann from Acme Store here. Order A-1042 ships soon."
	if m.Text != want {
		t.Fatalf("rendered %q, want %q", m.Text, want)
	}
	if m.Sender.Handle != "acme" || m.Agent == nil || m.Agent.Handle != "ann" {
		t.Fatalf("sent as %+v by %+v, want acme by ann", m.Sender, m.Agent)
	}
	// The customer sees the business, not the agent (names hidden by default).
	page, err := s.a.Messages(s.ctx, c, conv, app.HistoryQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	last := page.Items[len(page.Items)-1]
	if last.Agent != nil || last.AgentName != "" || last.Sender.Handle != "acme" {
		t.Fatalf("customer sees %+v agent %+v %q", last.Sender, last.Agent, last.AgentName)
	}
	s.settings(func(st *app.BusinessSettings) { st.ShowAgentNames = true })
	page, _ = s.a.Messages(s.ctx, c, conv, app.HistoryQuery{Limit: 10})
	if last := page.Items[len(page.Items)-1]; last.AgentName != "Ann" || last.Agent != nil {
		t.Fatalf("with names shown the customer sees agent %+v name %q", last.Agent, last.AgentName)
	}
}

func ptr[T any](v T) *T { return &v }

// history summarises what a user sees of a conversation.
func (s *shop) history(actor *app.Actor, conv string) string {
	s.t.Helper()
	page, err := s.a.Messages(s.ctx, actor, conv, app.HistoryQuery{Limit: 200})
	if err != nil {
		s.t.Fatal(err)
	}
	var b strings.Builder
	for _, m := range page.Items {
		fmt.Fprintf(&b, "%d:%s|", m.Seq, m.Text)
	}
	return b.String()
}

func TestNotesNeverReachTheCustomer(t *testing.T) {
	s := newShop(t)
	_, ann := s.agent("ann", "Ann", true)
	bobUser, _ := s.agent("bob", "Bob", true)
	c, conv := s.customer("Customer")
	n, err := s.a.AddNote(s.ctx, ann, conv, "secret-marker-7731 refund approved, @bob please check; @nobody and @"+c.User.Handle)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Mentions) != 1 || n.Mentions[0].Handle != "bob" {
		t.Fatalf("mentions %+v, want only the team member bob", n.Mentions)
	}
	// Everything the customer can read: sync from the start, history,
	// the conversation.
	all := func(actor *app.Actor) string {
		var b strings.Builder
		page, err := s.a.Sync(s.ctx, actor, 1, 500)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(page)
		b.Write(raw)
		hist, err := s.a.Messages(s.ctx, actor, conv, app.HistoryQuery{Limit: 200})
		if err == nil {
			raw, _ = json.Marshal(hist)
			b.Write(raw)
		}
		return b.String()
	}
	if got := all(c); strings.Contains(got, "secret-marker-7731") || strings.Contains(got, app.EventNoteCreated) {
		t.Fatalf("the customer received the note: %s", got)
	}
	page, err := s.a.Sync(s.ctx, bobUser, 1, 500)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range page.Events {
		if e.Type == app.EventNoteCreated && e.As == s.biz.User.ID && strings.Contains(string(e.Data), "secret-marker-7731") {
			found = true
		}
	}
	if !found {
		t.Fatalf("bob's sync has no note.created for the business: %+v", page.Events)
	}
	notes, err := s.a.Notes(s.ctx, ann, conv)
	if err != nil || len(notes) != 1 {
		t.Fatalf("notes %v %v", notes, err)
	}
}

func TestAgentsSeeOnlyTheirBusiness(t *testing.T) {
	s := newShop(t)
	ann, annBA := s.agent("ann", "Ann", true)
	other := s.register("globex", "Globex", parley.KindBusiness)
	globex := s.actAs(other, "globex")
	c := s.register("cust", "Cust", parley.KindPerson)
	conv, _, err := s.a.CreateDirect(s.ctx, c, "globex")
	if err != nil {
		t.Fatal(err)
	}
	s.say(c, conv.ID, "hi globex")
	if _, err := s.a.ActAs(s.ctx, ann, "globex"); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("ann acts as globex: %v", err)
	}
	if _, err := s.a.ActAs(s.ctx, ann, "cust"); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("ann acts as a person: %v", err)
	}
	// Acme's team cannot reach Globex's conversation through Acme either.
	if _, err := s.a.InboxConversation(s.ctx, annBA, conv.ID); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("acme's agent opened globex's conversation: %v", err)
	}
	if _, err := s.a.AddNote(s.ctx, annBA, conv.ID, "x"); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("note on another business's conversation: %v", err)
	}
	if _, _, err := s.a.BusinessSend(s.ctx, annBA, conv.ID, "", app.SendInput{Text: "x"}); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("reply into another business's conversation: %v", err)
	}
	page, err := s.a.Sync(s.ctx, ann, 1, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Events {
		if e.ConversationID == conv.ID {
			t.Fatalf("ann synced globex's conversation: %+v", e)
		}
	}
	list, err := s.a.Inbox(s.ctx, globex, app.InboxQuery{View: "all"})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("globex inbox %v %v", list, err)
	}
	// Agents may not manage the team.
	if _, err := s.a.PutSettings(s.ctx, annBA, &app.BusinessSettings{}); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("agent changed settings: %v", err)
	}
	if _, err := s.a.PutAgent(s.ctx, annBA, "cust", app.AgentChange{}); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("agent added a member: %v", err)
	}
}

func TestRemovedAgentLosesAccessAtOnce(t *testing.T) {
	s := newShop(t)
	s.settings(func(st *app.BusinessSettings) { st.AutoAssign = app.AssignRoundRobin })
	ann, annBA := s.agent("ann", "Ann", true)
	c, conv := s.customer("C")
	if h := assignee(s.item(conv)); h != "ann" {
		t.Fatalf("assigned to %q", h)
	}
	head, err := s.a.Head(s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.a.RemoveAgent(s.ctx, s.admin, "ann"); err != nil {
		t.Fatal(err)
	}
	if h := assignee(s.item(conv)); h != "" {
		t.Fatalf("removed agent still assigned: %q", h)
	}
	if _, err := s.a.ActAs(s.ctx, ann, "acme"); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("removed agent acts as the business: %v", err)
	}
	// The old BusinessActor of an open session is refused too.
	// A request that passed its check just before the removal cannot
	// commit a reply after it.
	before := s.history(c, conv)
	if _, _, err := s.a.BusinessSend(s.ctx, annBA, conv, "", app.SendInput{Text: "still here"}); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("stale agent's reply: %v, want not_found", err)
	}
	if s.history(c, conv) != before {
		t.Fatal("stale agent's reply was stored")
	}
	s.say(c, conv, "anyone?")
	page, err := s.a.Sync(s.ctx, ann, head, 500)
	if err != nil {
		t.Fatal(err)
	}
	removed := false
	for _, e := range page.Events {
		if e.ConversationID == conv && e.Type == parley.EventMessageCreated && e.Message != nil && e.Message.Text == "anyone?" {
			t.Fatal("removed agent synced a message sent after the removal")
		}
		if e.Type == app.EventAgentRemoved {
			removed = true
		}
	}
	if !removed {
		t.Fatalf("no inbox.removed event for the removed agent: %+v", page.Events)
	}
	if aud, err := s.a.AudienceOf(s.ctx, conv); err != nil || strings.Contains(strings.Join(aud, ","), ann.User.ID) {
		t.Fatalf("removed agent still in the audience: %v %v", aud, err)
	}
}

func TestCSATAfterResolve(t *testing.T) {
	s := newShop(t)
	s.settings(func(st *app.BusinessSettings) { st.CSAT = true })
	_, ann := s.agent("ann", "Ann", true)
	c, conv := s.customer("C")
	if _, err := s.reply(ann, conv, "done, anything else?"); err != nil {
		t.Fatal(err)
	}
	resolved := "resolved"
	if _, err := s.a.UpdateItem(s.ctx, ann, conv, app.ItemChange{Status: &resolved}); err != nil {
		t.Fatal(err)
	}
	page, err := s.a.Messages(s.ctx, c, conv, app.HistoryQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	ask := page.Items[len(page.Items)-1]
	if len(ask.QuickReplies) != 5 || !strings.Contains(ask.Text, "1") {
		t.Fatalf("no rating request with 5 quick replies: %+v", ask)
	}
	s.say(c, conv, "4")
	v := s.item(conv)
	if v.Status != "resolved" {
		t.Fatalf("a rating reopened the conversation: %s", v.Status)
	}
	rep, err := s.a.InboxReport(s.ctx, s.admin, time.Time{}, s.clock.Now().Add(time.Minute), "hour", "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.CSATCount != 1 || rep.Totals.CSATAverage != 4 || rep.CSATHistogram[3] != 1 || rep.Totals.Resolved != 1 {
		t.Fatalf("report CSAT %d avg %v hist %v resolved %d", rep.Totals.CSATCount, rep.Totals.CSATAverage, rep.CSATHistogram, rep.Totals.Resolved)
	}
	// A later message is not a rating: it opens a new cycle.
	s.say(c, conv, "5 more questions actually")
	if v := s.item(conv); v.Status != "open" {
		t.Fatalf("status %s after a new question, want open", v.Status)
	}
	rep, _ = s.a.InboxReport(s.ctx, s.admin, time.Time{}, s.clock.Now().Add(time.Minute), "day", "")
	if rep.Totals.CSATCount != 1 || rep.Totals.Opened != 2 {
		t.Fatalf("after the new question: csat %d opened %d", rep.Totals.CSATCount, rep.Totals.Opened)
	}
}

func TestOnlyAssigneeReplies(t *testing.T) {
	s := newShop(t)
	s.settings(func(st *app.BusinessSettings) { st.OnlyAssigneeReplies = true })
	_, ann := s.agent("ann", "Ann", true)
	_, bob := s.agent("bob", "Bob", true)
	boss, _ := s.agent("boss", "Boss", true)
	admin := "admin"
	if _, err := s.a.PutAgent(s.ctx, s.admin, "boss", app.AgentChange{Role: &admin}); err != nil {
		t.Fatal(err)
	}
	c, conv := s.customer("C")
	me := "ann"
	if _, err := s.a.UpdateItem(s.ctx, ann, conv, app.ItemChange{Assignee: &me}); err != nil {
		t.Fatal(err)
	}
	before := s.history(c, conv)
	if _, err := s.reply(bob, conv, "I'll take it"); parley.ErrorCode(err) != parley.ENotAssignee {
		t.Fatalf("non-assignee reply: %v, want not_assignee", err)
	}
	if s.history(c, conv) != before {
		t.Fatal("a refused reply left a message")
	}
	if _, err := s.reply(s.actAs(boss, "acme"), conv, "admin here"); err != nil {
		t.Fatalf("admin refused: %v", err)
	}
	if _, err := s.reply(ann, conv, "assignee here"); err != nil {
		t.Fatal(err)
	}
}

func TestSnoozeWakesUp(t *testing.T) {
	s := newShop(t)
	_, ann := s.agent("ann", "Ann", true)
	c, conv := s.customer("C")
	snoozed := "snoozed"
	until := s.clock.Now().Add(time.Hour)
	if _, err := s.a.UpdateItem(s.ctx, ann, conv, app.ItemChange{Status: &snoozed}); parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("snooze without a time: %v", err)
	}
	if _, err := s.a.UpdateItem(s.ctx, ann, conv, app.ItemChange{Status: &snoozed, SnoozedUntil: &until}); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(59 * time.Minute)
	s.a.InboxTick(s.ctx)
	if v := s.item(conv); v.Status != "snoozed" {
		t.Fatalf("woke early: %s", v.Status)
	}
	s.clock.Advance(2 * time.Minute)
	if err := s.a.InboxTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	if v := s.item(conv); v.Status != "open" {
		t.Fatalf("after the snooze: %s", v.Status)
	}
	// A customer message also wakes a snoozed conversation.
	until = s.clock.Now().Add(time.Hour)
	if _, err := s.a.UpdateItem(s.ctx, ann, conv, app.ItemChange{Status: &snoozed, SnoozedUntil: &until}); err != nil {
		t.Fatal(err)
	}
	s.say(c, conv, "hello?")
	if v := s.item(conv); v.Status != "open" {
		t.Fatalf("customer message left it %s", v.Status)
	}
}

func TestContactsMerge(t *testing.T) {
	s := newShop(t)
	_, ann := s.agent("ann", "Ann", true)
	_, conv := s.customer("Maria")
	d, err := s.a.InboxConversation(s.ctx, ann, conv)
	if err != nil {
		t.Fatal(err)
	}
	vip := "vip"
	plan := "gold"
	if _, err := s.a.UpdateContact(s.ctx, ann, d.Contact.ID, app.ContactChange{Labels: &[]string{vip}, Attributes: map[string]*string{"plan": &plan}}); err != nil {
		t.Fatal(err)
	}
	_, conv2 := s.customer("Maria G.")
	d2, _ := s.a.InboxConversation(s.ctx, ann, conv2)
	if _, err := s.a.MergeContacts(s.ctx, ann, d2.Contact.ID, d.Contact.ID); parley.ErrorCode(err) != parley.EConflict {
		t.Fatalf("merging two accounts: %v, want conflict", err)
	}
	list, err := s.a.Contacts(s.ctx, ann, "mar", "", 10)
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("contacts %v %v", list, err)
	}
	full, err := s.a.Contact(s.ctx, ann, d.Contact.ID)
	if err != nil || len(full.Conversations) != 1 || full.Attributes["plan"] != "gold" || full.Labels[0] != "vip" {
		t.Fatalf("contact %+v %v", full, err)
	}
}

func TestSavedViews(t *testing.T) {
	s := newShop(t)
	_, ann := s.agent("ann", "Ann", true)
	s.settings(func(st *app.BusinessSettings) {
		st.Views = []app.SavedView{{Name: "VIP waiting", View: "unassigned", Label: "vip"}, {Name: "My pending", View: "mine", Status: "pending"}}
	})
	st, err := s.a.Settings(s.ctx, ann)
	if err != nil || len(st.Views) != 2 || st.Views[0].Label != "vip" {
		t.Fatalf("agents see saved views: %+v %v", st, err)
	}
	for _, bad := range [][]app.SavedView{
		{{Name: ""}},
		{{Name: "a"}, {Name: "A"}},
		{{Name: "x", View: "everything"}},
		{{Name: "x", Status: "closed"}},
		{{Name: "x", View: "team"}},
	} {
		st.Views = bad
		if _, err := s.a.PutSettings(s.ctx, s.admin, st); parley.ErrorCode(err) != parley.EInvalid {
			t.Errorf("views %+v accepted: %v", bad, err)
		}
	}
}

// TestAudienceAtRows: the rows of a customer conversation are its members
// with a row and the business's team, each once.
func TestAudienceAtRows(t *testing.T) {
	s := newShop(t)
	ann, _ := s.agent("ann", "Ann", true)
	c, conv := s.customer("C")
	ids, rows, at, err := s.a.AudienceAt(s.ctx, conv)
	if err != nil || at <= 0 {
		t.Fatalf("audience at %d: %v", at, err)
	}
	for _, want := range []string{c.User.ID, s.biz.User.ID, ann.User.ID} {
		if !slices.Contains(ids, want) || !slices.Contains(rows, want) {
			t.Fatalf("%s missing: ids %v rows %v", want, ids, rows)
		}
	}
	seen := map[string]bool{}
	for _, id := range rows {
		if seen[id] {
			t.Fatalf("%s twice in rows %v", id, rows)
		}
		seen[id] = true
	}
}
