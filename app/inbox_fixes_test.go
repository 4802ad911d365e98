package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// Cases a review found: each was wrong before its fix.
func TestInboxEdgeCases(t *testing.T) {
	s := newShop(t)
	s.settings(func(st *app.BusinessSettings) {
		st.CSAT = true
		st.SLA = map[string]app.SLATarget{"normal": {FirstResponseMinutes: 30}}
		st.Rules = []app.Rule{{Name: "vip hello", When: app.RuleWhen{Event: "label_added", Label: "vip"},
			Actions: []app.RuleAction{{Type: "reply", Text: "Welcome to our VIP line"}}}}
	})
	_, ann := s.agent("ann", "Ann", true)
	_, bob := s.agent("bob", "Bob", true)
	c, conv := s.customer("Cara")
	resolved, open := "resolved", "open"

	// A message that starts with a digit is not a rating.
	if _, err := s.reply(ann, conv, "done?"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.UpdateItem(s.ctx, ann, conv, app.ItemChange{Status: &resolved}); err != nil {
		t.Fatal(err)
	}
	s.say(c, conv, "2 more questions")
	if v := s.item(conv); v.Status != "open" || v.WaitingSince == nil {
		t.Fatalf("a question after the rating request: %s", v.Status)
	}

	// Reopening by hand two days later starts a new cycle: not overdue at once.
	if _, err := s.a.UpdateItem(s.ctx, ann, conv, app.ItemChange{Status: &resolved}); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(48 * time.Hour)
	v, err := s.a.UpdateItem(s.ctx, ann, conv, app.ItemChange{Status: &open})
	if err != nil {
		t.Fatal(err)
	}
	if v.Overdue || v.OpenedAt == nil || !v.OpenedAt.Equal(s.clock.Now()) || v.FirstReplyAt != nil {
		t.Fatalf("reopened by hand: %+v", v)
	}

	// A reply preview of a customer's card number is masked for the team.
	card, _, err := s.a.Send(s.ctx, c, conv, app.SendInput{ClientID: "card", Text: "4242 4242 4242 4242", ConfirmSensitive: true})
	if err != nil {
		t.Fatal(err)
	}
	s.a.Send(s.ctx, c, conv, app.SendInput{ClientID: "re", Text: "that one", ReplyTo: card.ID})
	page, _ := s.a.Messages(s.ctx, ann.Actor, conv, app.HistoryQuery{Limit: 5})
	if last := page.Items[len(page.Items)-1]; last.ReplyTo == nil || strings.Contains(last.ReplyTo.Text, "4242 4242") {
		t.Fatalf("reply preview for the team: %+v", last.ReplyTo)
	}

	// Only the author (or an admin) edits a business message.
	m, err := s.reply(ann, conv, "Ann's answer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.Edit(s.ctx, bob.Actor, conv, m.ID, "Bob's words"); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("another agent edited: %v", err)
	}
	if err := s.a.Unsend(s.ctx, bob.Actor, conv, m.ID); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("another agent unsent: %v", err)
	}
	if _, err := s.a.Edit(s.ctx, ann.Actor, conv, m.ID, "Ann's better answer"); err != nil {
		t.Fatalf("the author: %v", err)
	}

	// A rule's reply does not reach a customer who blocked the business.
	if err := s.a.Block(s.ctx, c, "acme", true); err != nil {
		t.Fatal(err)
	}
	before := s.history(c, conv)
	labels := []string{"vip"}
	if _, err := s.a.UpdateItem(s.ctx, ann, conv, app.ItemChange{Labels: &labels}); err != nil {
		t.Fatal(err)
	}
	if after := s.history(c, conv); after != before {
		t.Fatalf("a rule messaged a customer who blocked the business: %s", after)
	}
}
