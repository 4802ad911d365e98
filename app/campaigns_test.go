package app_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// runCampaign ticks the worker until the campaign ends or rounds run out,
// moving the fake clock by step between ticks (deferred recipients wait
// for it).
func runCampaign(t *testing.T, a *app.App, ba *app.BusinessActor, clock *fakeClock, id string, step time.Duration, rounds int) *app.CampaignView {
	t.Helper()
	ctx := context.Background()
	var v *app.CampaignView
	for range rounds {
		if err := a.CampaignTick(ctx); err != nil {
			t.Fatal(err)
		}
		var err error
		if v, err = a.Campaign(ctx, ba, id); err != nil {
			t.Fatal(err)
		}
		if v.Status == parley.CampaignDone || v.Status == parley.CampaignCancelled {
			return v
		}
		clock.Advance(step)
	}
	return v
}

// TestCampaignDeliversAndCounts: a campaign reaches the segment's opted-in
// contacts once each, skips those who opted out since, pauses, resumes,
// and an opt-out during the campaign stops the sends to that contact.
func TestCampaignDeliversAndCounts(t *testing.T) {
	s := newShop(t)
	offers := s.topic("Offers", "JOIN")
	tp := s.template("Sale", "Hi {{contact.first_name}}, sale today", offers.ID)
	var convs []string
	var custs []*app.Actor
	for i := range 12 {
		c, conv := s.customer(fmt.Sprintf("Cust%d X", i))
		custs, convs = append(custs, c), append(convs, conv)
		if i%4 != 3 {
			s.say(c, conv, "join")
		}
		if i%2 == 0 {
			if _, err := s.a.UpdateContact(s.ctx, s.admin, s.contactOf(conv), app.ContactChange{Labels: &[]string{"vip"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	n, err := s.a.CountSegment(s.ctx, s.admin, app.Segment{Labels: []string{"vip"}, Topics: []string{offers.ID}})
	if err != nil || n != 6 { // the even ones, all opted in
		t.Fatalf("segment count %d, %v", n, err)
	}
	c, err := s.a.CreateCampaign(s.ctx, s.admin, app.CampaignInput{Name: "Spring", Template: tp.ID, Segment: app.Segment{Labels: []string{"vip"}}, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != parley.CampaignDraft {
		t.Fatalf("status %s", c.Status)
	}
	// Contact 0 opts out before the start; the worker skips nobody it
	// never took: the audience is the opted-in ones at the start.
	s.say(custs[0], convs[0], "STOP")
	if _, err := s.a.SetCampaignStatus(s.ctx, s.admin, c.ID, app.CampaignChange{Status: parley.CampaignRunning}); err != nil {
		t.Fatal(err)
	}
	v := runCampaign(t, s.a, s.admin, s.clock, c.ID, time.Minute, 20)
	if v.Status != parley.CampaignDone || v.Total != 5 || v.Sent != 5 || v.Pending != 0 {
		t.Fatalf("campaign: %+v", v)
	}
	for i, conv := range convs {
		want := 0
		if i%2 == 0 && i != 0 {
			want = 1
		}
		if got := s.countText(custs[i], conv, "sale today"); got != want {
			t.Fatalf("customer %d got %d campaign messages, want %d", i, got, want)
		}
	}
	if got := s.countText(custs[2], convs[2], "Hi Cust2, sale today"); got != 1 {
		t.Fatal("the template was not personalised")
	}
	// The chunk wrote its messages' chain entries together: each
	// conversation's chain still links, and the campaign message's entry
	// holds its content.
	for i, conv := range convs {
		s.wantChain(conv, i%2 == 0 && i != 0)
	}
	// A second campaign a day later hits the frequency cap for everyone.
	s.clock.Advance(24 * time.Hour)
	c2, err := s.a.CreateCampaign(s.ctx, s.admin, app.CampaignInput{Name: "Again", Template: tp.ID, Segment: app.Segment{Labels: []string{"vip"}}, SendNow: true})
	if err != nil {
		t.Fatal(err)
	}
	v = runCampaign(t, s.a, s.admin, s.clock, c2.ID, time.Minute, 20)
	if v.Sent != 0 || v.Skipped[parley.EFrequencyCap] != 5 {
		t.Fatalf("second campaign: %+v", v)
	}
	// Cancelled and paused campaigns send nothing; a resumed one goes on.
	s.clock.Advance(8 * 24 * time.Hour)
	c3, err := s.a.CreateCampaign(s.ctx, s.admin, app.CampaignInput{Name: "Third", Template: tp.ID, SendNow: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.SetCampaignStatus(s.ctx, s.admin, c3.ID, app.CampaignChange{Status: parley.CampaignPaused}); err != nil {
		t.Fatal(err)
	}
	if err := s.a.CampaignTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.a.Campaign(s.ctx, s.admin, c3.ID); v.Sent != 0 || v.Status != parley.CampaignPaused {
		t.Fatalf("paused campaign: %+v", v)
	}
	// Customer 4 opts out while the campaign is paused: resumed, it skips them.
	s.say(custs[4], convs[4], "unsubscribe")
	if _, err := s.a.SetCampaignStatus(s.ctx, s.admin, c3.ID, app.CampaignChange{Status: parley.CampaignRunning}); err != nil {
		t.Fatal(err)
	}
	v = runCampaign(t, s.a, s.admin, s.clock, c3.ID, time.Minute, 20)
	// Paused before its audience was taken, it takes it on resume: customer
	// 4 has still only the first campaign's message.
	if v.Status != parley.CampaignDone || v.Sent+v.Skipped[parley.ENoConsent] != v.Total || s.countText(custs[4], convs[4], "sale today") != 1 {
		t.Fatalf("third campaign: %+v (customer 4 has %d)", v, s.countText(custs[4], convs[4], "sale today"))
	}
	_, err = s.a.SetCampaignStatus(s.ctx, s.admin, c3.ID, app.CampaignChange{Status: parley.CampaignRunning})
	wantCode(t, "", err, parley.EConflict)
	_, agent := s.agent("ivy", "Ivy", true)
	_, err = s.a.CreateCampaign(s.ctx, agent, app.CampaignInput{Name: "x", Template: tp.ID})
	wantCode(t, "", err, parley.EForbidden)
}

// wantChain fails unless conv's hash chain links from the genesis, each
// entry's hash is its own, and each message entry's content hash is its
// message's; campaign says whether a campaign message must be among them.
func (s *shop) wantChain(conv string, campaign bool) {
	s.t.Helper()
	var es []*parley.ChainEntry
	msgs := map[string]*parley.Message{}
	if err := s.db.View(s.ctx, func(tx parley.Tx) error {
		var err error
		if es, err = tx.ChainEntries(conv, 0, 1000); err != nil {
			return err
		}
		for _, e := range es {
			if e.Kind == parley.ChainMessage {
				if msgs[e.MessageID], err = tx.MessageByID(e.MessageID); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		s.t.Fatal(err)
	}
	prev, found := parley.ChainGenesis, false
	for i, e := range es {
		if e.Index != int64(i+1) || e.PrevHash != prev || e.Hash != e.ComputeHash() {
			s.t.Fatalf("conversation %s: entry %d does not link: %+v", conv, i+1, e)
		}
		prev = e.Hash
		if m := msgs[e.MessageID]; e.Kind == parley.ChainMessage {
			if got := parley.ContentOf(m, nil).Hash(); got != e.ContentHash || e.Seq != m.Seq {
				s.t.Fatalf("conversation %s: entry %d content %s seq %d, message %s seq %d", conv, i+1, e.ContentHash, e.Seq, got, m.Seq)
			}
			found = found || strings.HasPrefix(m.ClientID, "cmp.")
		}
	}
	if found != campaign {
		s.t.Fatalf("conversation %s: campaign entry %v, want %v", conv, found, campaign)
	}
}

// TestCampaignProperties: random contacts, consents, opt-outs, time
// zones and earlier promotions; a campaign run by a worker that is
// stopped mid-campaign and started again (a new App on the same
// database). Then: no message without consent at its time, none over the
// cap, none in quiet hours, none twice, and the counts add up.
func TestCampaignProperties(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { campaignProperty(t, seed) })
	}
}

func campaignProperty(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	db := openStore(t) // SQLite, or PostgreSQL with PARLEY_TEST_STORE=postgres
	clock := &fakeClock{t: time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)}
	s := &shop{t: t, clock: clock, ctx: context.Background()}
	s.a = app.New(db, app.Config{Password: cheap, CampaignConcurrency: 8}, app.WithClock(clock.Now))
	s.biz = s.register("acme", "Acme Store", parley.KindBusiness)
	s.admin = s.actAs(s.biz, "acme")
	s.settings(func(st *app.BusinessSettings) {
		st.Messaging.QuietStart, st.Messaging.QuietEnd = "21:00", "08:00"
	})
	offers := s.topic("Offers", "JOIN")
	tp := s.template("Sale", "Hello {{contact.first_name}} sale", offers.ID)
	zones := []string{"", "Asia/Tokyo", "America/New_York", "Europe/Oslo", "Australia/Sydney"}
	type contact struct {
		cust    *app.Actor
		conv    string
		id      string
		zone    *time.Location
		stopAt  int // the round at which they send STOP (-1 never)
		stopped time.Time
	}
	var cs []*contact
	for i := range 40 {
		cust, conv := s.customer(fmt.Sprintf("P%d Q", i))
		c := &contact{cust: cust, conv: conv, id: s.contactOf(conv), zone: time.UTC, stopAt: -1}
		if z := zones[rng.IntN(len(zones))]; z != "" {
			c.zone, _ = time.LoadLocation(z)
			if _, err := s.a.UpdateContact(s.ctx, s.admin, c.id, app.ContactChange{Attributes: map[string]*string{"timezone": &z}}); err != nil {
				t.Fatal(err)
			}
		}
		if rng.IntN(10) < 7 {
			s.say(cust, conv, []string{"join", "JOIN", "Join!"}[rng.IntN(3)])
			if rng.IntN(5) == 0 { // an earlier promotion: capped for this campaign
				if _, err := s.sendTemplate(conv, tp.ID); err != nil && parley.ErrorCode(err) != parley.EQuietHours {
					t.Fatal(err)
				}
			}
		}
		clock.Advance(time.Second)
		switch rng.IntN(6) {
		case 0:
			s.say(cust, conv, "stop") // before the campaign
			c.stopped = clock.Now()
		case 1:
			c.stopAt = 1 + rng.IntN(6) // during it
		}
		cs = append(cs, c)
	}
	clock.Advance(time.Hour)
	cmp, err := s.a.CreateCampaign(s.ctx, s.admin, app.CampaignInput{Name: "P", Template: tp.ID, SendNow: true, Rate: 10000})
	if err != nil {
		t.Fatal(err)
	}
	// First worker: stopped in the middle of its first run.
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.a.CampaignTick(ctx)
	}()
	for {
		v, err := s.a.Campaign(s.ctx, s.admin, cmp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Sent+v.Failed > 2 || v.Status == parley.CampaignDone {
			break
		}
		select {
		case <-done:
		case <-time.After(time.Millisecond):
			continue
		}
		break
	}
	cancel()
	<-done
	clock.Advance(time.Minute)
	// A new worker on the same database, hour by hour, with opt-outs in between.
	a2 := app.New(db, app.Config{Password: cheap, CampaignConcurrency: 8}, app.WithClock(clock.Now))
	s.a = a2
	var v *app.CampaignView
	for round := 1; round <= 48; round++ {
		for _, c := range cs {
			if c.stopAt == round {
				s.say(c.cust, c.conv, "STOP")
				c.stopped = clock.Now()
			}
		}
		if err := a2.CampaignTick(s.ctx); err != nil {
			t.Fatal(err)
		}
		if v, err = a2.Campaign(s.ctx, s.admin, cmp.ID); err != nil {
			t.Fatal(err)
		}
		if v.Status == parley.CampaignDone {
			break
		}
		clock.Advance(time.Hour)
	}
	if v.Status != parley.CampaignDone {
		t.Fatalf("campaign not done after 48 hours: %+v", v)
	}
	skipped := 0
	for _, n := range v.Skipped {
		skipped += n
	}
	if v.Sent+v.Failed+skipped != v.Total {
		t.Fatalf("counts do not add up: %+v", v)
	}
	sent := 0
	for _, c := range cs {
		page, err := s.a.Messages(s.ctx, c.cust, c.conv, app.HistoryQuery{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		var promos []*app.MessageView
		for _, m := range page.Items {
			if strings.HasSuffix(m.Text, " sale") {
				promos = append(promos, m)
			}
		}
		var campaign []*app.MessageView
		for _, m := range promos {
			if !m.CreatedAt.Before(cmp.CreatedAt) {
				campaign = append(campaign, m)
			}
		}
		sent += len(campaign)
		if len(campaign) > 1 {
			t.Fatalf("contact %s got the campaign %d times", c.id, len(campaign))
		}
		for i, m := range promos {
			if i > 0 && m.CreatedAt.Sub(promos[i-1].CreatedAt) < 7*24*time.Hour {
				t.Fatalf("contact %s: two promotions %v apart (cap 1 per 7 days)", c.id, m.CreatedAt.Sub(promos[i-1].CreatedAt))
			}
			local := m.CreatedAt.In(c.zone)
			if h := local.Hour(); h >= 21 || h < 8 {
				t.Fatalf("contact %s: promotion at %s local time (quiet hours)", c.id, local)
			}
			if !c.stopped.IsZero() && !m.CreatedAt.Before(c.stopped) {
				t.Fatalf("contact %s: promotion at %s after STOP at %s", c.id, m.CreatedAt, c.stopped)
			}
		}
		if len(campaign) == 1 {
			v, err := s.a.ContactConsent(s.ctx, s.admin, c.id)
			if err != nil {
				t.Fatal(err)
			}
			// The consent record that opted in predates the message.
			ok := false
			for _, r := range v.Records {
				if r.OptedIn && r.Topic == offers.ID && r.At.Before(campaign[0].CreatedAt) {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("contact %s got the campaign without an opt-in before it", c.id)
			}
		}
	}
	if sent != v.Sent {
		t.Fatalf("%d campaign messages in conversations, %d counted sent", sent, v.Sent)
	}
	if v.Sent == 0 {
		t.Fatalf("nothing sent: the property holds vacuously: %+v", v)
	}
}

// TestCampaignOpensConversationForSubscriber: people who subscribed
// through the topic's link but never wrote get the campaign in a new
// conversation in their inbox (whatever their dm_policy); one who blocked
// the business and one who unsubscribed get nothing and no conversation.
func TestCampaignOpensConversationForSubscriber(t *testing.T) {
	s := newShop(t)
	offers := s.topic("Offers", "JOIN")
	tp := s.template("Sale", "Hi {{contact.first_name}}, sale today", offers.ID)
	closed := parley.PolicyClosed
	var people []*app.Actor
	for i, name := range []string{"open", "closed", "blocker", "quitter"} {
		p := s.register(name, fmt.Sprintf("P%d %s", i, name), parley.KindPerson)
		if _, err := s.a.ConsentFormSubmit(s.ctx, p, offers.FormToken, "form test"); err != nil {
			t.Fatal(err)
		}
		people = append(people, p)
	}
	if _, err := s.a.UpdateProfile(s.ctx, people[1], app.ProfileUpdate{DMPolicy: &closed}); err != nil {
		t.Fatal(err)
	}
	if err := s.a.Block(s.ctx, people[2], "acme", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.Unsubscribe(s.ctx, people[3], "acme", offers.ID, "settings"); err != nil {
		t.Fatal(err)
	}
	// The audience is the three still subscribed: two reached, the
	// blocker failed (dm_not_allowed) without a conversation.
	c, err := s.a.CreateCampaign(s.ctx, s.admin, app.CampaignInput{Name: "Reach", Template: tp.ID, Rate: 1000, SendNow: true})
	if err != nil {
		t.Fatal(err)
	}
	v := runCampaign(t, s.a, s.admin, s.clock, c.ID, time.Minute, 20)
	if v.Status != parley.CampaignDone || v.Total != 3 || v.Sent != 2 || v.Failed != 1 {
		t.Fatalf("campaign: %+v", v)
	}
	for i, p := range people {
		page, err := s.a.Conversations(s.ctx, p, parley.FolderInbox, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		if i < 2 {
			want = 1
		}
		if len(page.Items) != want {
			t.Fatalf("%s has %d conversations in the inbox, want %d", p.User.Handle, len(page.Items), want)
		}
		if want == 1 && s.countText(p, page.Items[0].ID, "sale today") != 1 {
			t.Fatalf("%s did not get the campaign", p.User.Handle)
		}
		req, err := s.a.Conversations(s.ctx, p, parley.FolderRequests, "", 10)
		if err != nil || len(req.Items) != 0 {
			t.Fatalf("%s has requests %v, %v", p.User.Handle, req, err)
		}
	}
	rs, err := s.a.CampaignRecipients(s.ctx, s.admin, c.ID, parley.RecipientFailed, "", 10)
	if err != nil || len(rs.Items) != 1 || rs.Items[0].Reason != parley.EDMNotAllowed {
		t.Fatalf("failed recipients %+v, %v", rs, err)
	}
}

// TestDeleteTemplateInUse: a template cannot be deleted while a campaign
// that may still send it exists; once the campaign is cancelled it can.
func TestDeleteTemplateInUse(t *testing.T) {
	s := newShop(t)
	offers := s.topic("Offers", "JOIN")
	tp := s.template("Sale", "Sale today", offers.ID)
	at := s.clock.Now().Add(time.Hour)
	c, err := s.a.CreateCampaign(s.ctx, s.admin, app.CampaignInput{Name: "Later", Template: tp.ID, ScheduledAt: &at})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "scheduled", s.a.DeleteTemplate(s.ctx, s.admin, tp.ID), parley.ETemplateInUse)
	if _, err := s.a.SetCampaignStatus(s.ctx, s.admin, c.ID, app.CampaignChange{Status: parley.CampaignPaused}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "paused", s.a.DeleteTemplate(s.ctx, s.admin, tp.ID), parley.ETemplateInUse)
	if _, err := s.a.SetCampaignStatus(s.ctx, s.admin, c.ID, app.CampaignChange{Status: parley.CampaignCancelled}); err != nil {
		t.Fatal(err)
	}
	if err := s.a.DeleteTemplate(s.ctx, s.admin, tp.ID); err != nil {
		t.Fatal(err)
	}
}

// TestCampaignStats: after a campaign, the stats count sent and skipped
// recipients, the contacts' delivered and read markers, their replies and
// their opt-outs, in total and per bucket; a reply after the attribution
// window does not count; an unknown bucket is refused.
func TestCampaignStats(t *testing.T) {
	s := newShop(t)
	offers := s.topic("Offers", "JOIN")
	tp := s.template("Sale", "Hi {{contact.first_name}}, sale today", offers.ID)
	var custs []*app.Actor
	var convs []string
	for i := range 5 {
		c, conv := s.customer(fmt.Sprintf("Cust%d X", i))
		if i != 4 {
			s.say(c, conv, "join")
		}
		custs, convs = append(custs, c), append(convs, conv)
	}
	// Customer 4 never opted in: not in the audience.
	c, err := s.a.CreateCampaign(s.ctx, s.admin, app.CampaignInput{Name: "Stats", Template: tp.ID, Rate: 1000, SendNow: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.a.CampaignTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	v, err := s.a.Campaign(s.ctx, s.admin, c.ID)
	if err != nil || v.Status != parley.CampaignDone || v.Sent != 4 {
		t.Fatalf("campaign %+v %v", v, err)
	}
	seqOf := func(i int) int64 {
		page, err := s.a.Messages(s.ctx, custs[i], convs[i], app.HistoryQuery{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Items {
			if strings.Contains(m.Text, "sale today") {
				return m.Seq
			}
		}
		t.Fatalf("customer %d has no campaign message", i)
		return 0
	}
	// 0: delivered only; 1: read and replied; 2: delivered, STOP an hour
	// later; 3: replies after the 7-day window.
	if _, err := s.a.Delivered(s.ctx, custs[0], convs[0], seqOf(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.MarkRead(s.ctx, custs[1], convs[1], seqOf(1)); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(10 * time.Minute)
	s.say(custs[1], convs[1], "Thanks!")
	if _, err := s.a.Delivered(s.ctx, custs[2], convs[2], seqOf(2)); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Hour)
	s.say(custs[2], convs[2], "STOP")
	s.clock.Advance(8 * 24 * time.Hour)
	s.say(custs[3], convs[3], "hello again")
	st, err := s.a.CampaignStats(s.ctx, s.admin, c.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tot := st.Totals
	if st.Total != 4 || st.Pending != 0 || tot.Sent != 4 || tot.Delivered != 3 || tot.Read != 1 || tot.Replied != 2 || tot.OptedOut != 1 || tot.Failed != 0 {
		t.Fatalf("totals %+v of %+v", tot, st)
	}
	// Hourly: the sends in the first point, the reply too (10 minutes
	// later, same hour); the STOP, a reply and an opt-out, in the next.
	if st.BucketSeconds != 3600 || len(st.Series) != 2 || st.Series[0].Sent != 4 || st.Series[0].Replied != 1 || st.Series[1].OptedOut != 1 ||
		st.Series[1].Replied != 1 || !st.Series[1].At.Equal(st.Series[0].At.Add(time.Hour)) {
		t.Fatalf("series %+v", st.Series)
	}
	// The automatic bucket covers the campaign's life until its window
	// closed (7 days): hours.
	auto, err := s.a.CampaignStats(s.ctx, s.admin, c.ID, 0)
	if err != nil || auto.BucketSeconds != 6*3600 || auto.Totals.Sent != 4 {
		t.Fatalf("auto %+v %v", auto, err)
	}
	_, err = s.a.CampaignStats(s.ctx, s.admin, c.ID, 7*time.Second)
	wantCode(t, "bucket", err, parley.EInvalid)
	_, err = s.a.CampaignStats(s.ctx, s.admin, "nope", 0)
	wantCode(t, "unknown", err, parley.ENotFound)
}

// TestCampaignHonoursBlocks: a chunk reads its contacts' memberships and
// blocks in one set read each; a block either way still fails the
// recipient (dm_not_allowed) and sends nothing to them, while the
// others of the same chunk get theirs — also in a second campaign, when
// the committer's cache holds the rows the first one read, and after a
// block is lifted. No chunk may fail: a failed chunk is sent again one
// recipient at a time (deliverOne), whose own checks would hide a broken
// set read.
func TestCampaignHonoursBlocks(t *testing.T) {
	var logs bytes.Buffer
	s := newShopConfig(t, app.Config{}, app.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	defer func() {
		if strings.Contains(logs.String(), "campaign chunk") {
			t.Errorf("a chunk failed and went one by one:\n%s", logs.String())
		}
	}()
	offers := s.topic("Offers", "JOIN")
	tp := s.template("Sale", "Hi {{contact.first_name}}, sale today", offers.ID)
	var convs []string
	var custs []*app.Actor
	for i := range 6 {
		c, conv := s.customer(fmt.Sprintf("Cust%d X", i))
		custs, convs = append(custs, c), append(convs, conv)
		s.say(c, conv, "join")
	}
	if err := s.a.Block(s.ctx, custs[1], "acme", true); err != nil {
		t.Fatal(err)
	}
	if err := s.a.Block(s.ctx, s.biz, custs[4].User.Handle, true); err != nil {
		t.Fatal(err)
	}
	run := func(name string, want []int) {
		t.Helper()
		c, err := s.a.CreateCampaign(s.ctx, s.admin, app.CampaignInput{Name: name, Template: tp.ID, SendNow: true})
		if err != nil {
			t.Fatal(err)
		}
		v := runCampaign(t, s.a, s.admin, s.clock, c.ID, time.Minute, 20)
		blocked := 0
		for i := range custs {
			if want[i] == 0 {
				blocked++
			}
		}
		if v.Status != parley.CampaignDone || v.Sent != len(custs)-blocked || v.Failed != blocked {
			t.Fatalf("%s: %+v", name, v)
		}
		for i, conv := range convs {
			if got := s.countText(custs[i], conv, "sale today"); got != want[i] {
				t.Fatalf("%s: customer %d has %d campaign messages, want %d", name, i, got, want[i])
			}
		}
	}
	run("First", []int{1, 0, 1, 1, 0, 1})
	// The cap would skip everyone a day later: lift it.
	st, err := s.a.Settings(s.ctx, s.admin)
	if err != nil {
		t.Fatal(err)
	}
	st.Messaging.PromoCap, st.Messaging.PromoCapDays = 100, 1
	if _, err := s.a.PutSettings(s.ctx, s.admin, st); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Hour)
	run("Second", []int{2, 0, 2, 2, 0, 2})
	if err := s.a.Block(s.ctx, custs[1], "acme", false); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Hour)
	run("Third", []int{3, 1, 3, 3, 0, 3})
}
