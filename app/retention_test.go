package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// runRetention queues a server-wide run, runs it and returns its result.
func (c *chat) runRetention(dry bool) *app.RetentionJobView {
	c.t.Helper()
	j, err := c.a.StartRetention(c.ctx, "root", dry)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.a.RunRetentionJobs(c.ctx); err != nil {
		c.t.Fatal(err)
	}
	if j, err = c.a.RetentionJob(c.ctx, j.ID); err != nil {
		c.t.Fatal(err)
	}
	if j.State != parley.JobDone || j.FinishedAt == nil {
		c.t.Fatalf("job not done: %+v", j)
	}
	return j
}

func TestRetentionDryRunThenRun(t *testing.T) {
	c := newChatWith(t, app.Config{Retention: app.RetentionConfig{Direct: 30 * 24 * time.Hour}})
	old1 := c.send(c.ann, app.SendInput{Text: "old one"})
	old2 := c.send(c.bob, app.SendInput{Text: "old two"})
	c.clock.Advance(31 * 24 * time.Hour)
	recent := c.send(c.ann, app.SendInput{Text: "recent"})

	dry := c.runRetention(true)
	if dry.Purged != 2 || dry.Scanned != 2 || dry.HeldSkipped != 0 || !dry.DryRun {
		t.Fatalf("dry run: %+v, want 2 scanned, 2 would be purged", dry)
	}
	if c.stored(old1.ID).Text != "old one" {
		t.Fatal("a dry run purged")
	}
	real := c.runRetention(false)
	if real.Purged != 2 {
		t.Fatalf("run: %+v, want 2 purged", real)
	}
	for _, m := range []*app.MessageView{old1, old2} {
		if got := c.stored(m.ID); got.Text != "" || got.DeletedAt == nil {
			t.Fatalf("%s kept: %+v", m.ID, got)
		}
	}
	if c.stored(recent.ID).Text != "recent" {
		t.Fatal("a recent message was purged")
	}
	if again := c.runRetention(false); again.Purged != 0 || again.Scanned != 0 {
		t.Fatalf("second run: %+v, want nothing", again)
	}
}

func TestRetentionSkipsHeld(t *testing.T) {
	c := newChatWith(t, app.Config{Retention: app.RetentionConfig{Direct: 24 * time.Hour, Group: 0}})
	m := c.send(c.ann, app.SendInput{Text: "evidence"})
	if _, err := c.a.PlaceHold(c.ctx, "root", app.HoldInput{Scope: "account", Target: "ann"}); err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(48 * time.Hour)
	j := c.runRetention(false)
	if j.Purged != 0 || j.HeldSkipped != 1 {
		t.Fatalf("held: %+v", j)
	}
	if c.stored(m.ID).Text != "evidence" {
		t.Fatal("held message purged")
	}
	hs, err := c.a.Holds(c.ctx)
	if err != nil || len(hs) != 1 {
		t.Fatalf("holds: %v %v", hs, err)
	}
	if _, err := c.a.ReleaseHold(c.ctx, "root", hs[0].ID); err != nil {
		t.Fatal(err)
	}
	if j := c.runRetention(false); j.Purged != 1 {
		t.Fatalf("after release: %+v", j)
	}
}

func TestBusinessRetentionAfterResolution(t *testing.T) {
	s := newShop(t)
	_, conv := s.customer("Customer")
	_, other := s.customer("Other")
	if _, err := s.reply(s.admin, conv, "happy to help"); err != nil {
		t.Fatal(err)
	}
	resolved := "resolved"
	if _, err := s.a.UpdateItem(s.ctx, s.admin, conv, app.ItemChange{Status: &resolved}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.SetRetentionPolicy(s.ctx, s.admin, 0, -1); parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("negative days: %v", err)
	}
	p, err := s.a.SetRetentionPolicy(s.ctx, s.admin, 0, 1)
	if err != nil || p.AfterResolutionDays != 1 {
		t.Fatalf("policy: %+v %v", p, err)
	}
	agent, agentBA := s.agent("ann", "Ann", true)
	_ = agent
	if _, err := s.a.StartBusinessRetention(s.ctx, agentBA, false); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("agent starts retention: %v", err)
	}
	s.clock.Advance(2 * 24 * time.Hour)
	j, err := s.a.StartBusinessRetention(s.ctx, s.admin, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.a.RunRetentionJobs(s.ctx); err != nil {
		t.Fatal(err)
	}
	if j, err = s.a.BusinessRetentionJob(s.ctx, s.admin, j.ID); err != nil {
		t.Fatal(err)
	}
	// The resolved conversation's messages go; the open one's stay.
	if j.State != parley.JobDone || j.Purged < 2 {
		t.Fatalf("job: %+v", j)
	}
	if h := s.history(s.biz, conv); strings.Contains(h, "hello, I need help") || strings.Contains(h, "happy to help") {
		t.Fatalf("resolved conversation kept: %s", h)
	}
	if h := s.history(s.biz, other); !strings.Contains(h, "hello, I need help") {
		t.Fatalf("open conversation purged: %s", h)
	}
}

// TestBusinessContactHold: a business's admin holds a contact; retention
// skips that customer's conversation and purges another's; releasing it
// lets the next run purge it; the hold is the business's alone.
func TestBusinessContactHold(t *testing.T) {
	s := newShop(t)
	_, held := s.customer("Held")
	_, free := s.customer("Free")
	if _, err := s.a.SetRetentionPolicy(s.ctx, s.admin, 1, 0); err != nil {
		t.Fatal(err)
	}
	d, err := s.a.InboxConversation(s.ctx, s.admin, held)
	if err != nil || d.Contact == nil {
		t.Fatalf("inbox detail: %+v %v", d, err)
	}
	if _, err := s.a.PlaceBusinessHold(s.ctx, s.admin, app.HoldInput{Scope: "account", Target: "cust001"}); parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("a business holds an account: %v", err)
	}
	h, err := s.a.PlaceBusinessHold(s.ctx, s.admin, app.HoldInput{Scope: "contact", Target: d.Contact.ID, Reason: "chargeback"})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := s.a.InboxConversation(s.ctx, s.admin, held); err != nil || !d.Conversation.LegalHold {
		t.Fatalf("held conversation does not say legal_hold: %v", err)
	}
	run := func() *app.RetentionJobView {
		t.Helper()
		j, err := s.a.StartBusinessRetention(s.ctx, s.admin, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.a.RunRetentionJobs(s.ctx); err != nil {
			t.Fatal(err)
		}
		j, err = s.a.BusinessRetentionJob(s.ctx, s.admin, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	s.clock.Advance(48 * time.Hour)
	if j := run(); j.Purged != 1 || j.HeldSkipped != 1 {
		t.Fatalf("run under the contact hold: %+v", j)
	}
	if !strings.Contains(s.history(s.biz, held), "hello, I need help") || strings.Contains(s.history(s.biz, free), "hello, I need help") {
		t.Fatal("the hold kept the wrong conversation")
	}
	other := s.register("othershop", "Other", parley.KindBusiness)
	if _, err := s.a.ReleaseBusinessHold(s.ctx, s.actAs(other, "othershop"), h.ID); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("another business releases the hold: %v", err)
	}
	if _, err := s.a.ReleaseBusinessHold(s.ctx, s.admin, h.ID); err != nil {
		t.Fatal(err)
	}
	if j := run(); j.Purged != 1 || j.HeldSkipped != 0 {
		t.Fatalf("run after the release: %+v", j)
	}
}
