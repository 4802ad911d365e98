package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// testTopics: topics round-trip, names and keywords are unique per
// business (names without regard to case), tokens find them, deleting one
// takes its consents.
func testTopics(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2")
	offers := &parley.Topic{BusinessID: "biz", ID: "t1", Name: "Offers", Description: "deals", Keyword: "JOIN", FormToken: "tok1",
		CreatedAt: at(1), UpdatedAt: at(1)}
	restock := &parley.Topic{BusinessID: "biz", ID: "t2", Name: "Restock", FormToken: "tok2", CreatedAt: at(2), UpdatedAt: at(2)}
	update(t, s, func(tx parley.Tx) error {
		for _, tp := range []*parley.Topic{restock, offers,
			{BusinessID: "biz2", ID: "t3", Name: "offers", Keyword: "JOIN", FormToken: "tok3", CreatedAt: at(3), UpdatedAt: at(3)}} {
			if err := tx.CreateTopic(tp); err != nil {
				return err
			}
		}
		return tx.PutConsent(&parley.Consent{BusinessID: "biz", ContactID: "c1", TopicID: "t1", OptedIn: true, Channel: "api", Proof: "r1", At: at(4)})
	})
	wantEqual(t, "topic", view(t, s, func(tx parley.Tx) (*parley.Topic, error) { return tx.Topic("biz", "t1") }), offers)
	wantEqual(t, "by token", view(t, s, func(tx parley.Tx) (*parley.Topic, error) { return tx.TopicByToken("tok2") }), restock)
	wantNotFound(t, s, "other business's topic", func(tx parley.Tx) (*parley.Topic, error) { return tx.Topic("biz2", "t1") })
	wantNotFound(t, s, "empty token", func(tx parley.Tx) (*parley.Topic, error) { return tx.TopicByToken("") })
	wantEqual(t, "topics by name", view(t, s, func(tx parley.Tx) ([]*parley.Topic, error) { return tx.Topics("biz") }),
		[]*parley.Topic{offers, restock})
	for _, dup := range []*parley.Topic{
		{BusinessID: "biz", ID: "t9", Name: "OFFERS", FormToken: "tok9"},
		{BusinessID: "biz", ID: "t9", Name: "Other", Keyword: "JOIN", FormToken: "tok9"},
	} {
		wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.CreateTopic(dup) }), parley.EConflict)
	}
	changed := *restock
	changed.Name, changed.Keyword, changed.FormToken, changed.UpdatedAt = "Restock alerts", "RESTOCK", "tok2b", at(9)
	update(t, s, func(tx parley.Tx) error { return tx.UpdateTopic(&changed) })
	wantEqual(t, "updated", view(t, s, func(tx parley.Tx) (*parley.Topic, error) { return tx.Topic("biz", "t2") }), &changed)
	wantNotFound(t, s, "old token", func(tx parley.Tx) (*parley.Topic, error) { return tx.TopicByToken("tok2") })
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.UpdateTopic(&parley.Topic{BusinessID: "biz2", ID: "t2"}) }), parley.ENotFound)

	update(t, s, func(tx parley.Tx) error { return tx.DeleteTopic("biz", "t1") })
	wantNotFound(t, s, "deleted", func(tx parley.Tx) (*parley.Topic, error) { return tx.Topic("biz", "t1") })
	wantEqual(t, "consents of a deleted topic", len(view(t, s, func(tx parley.Tx) ([]*parley.Consent, error) { return tx.Consents("biz", "c1") })), 0)
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteTopic("biz", "t1") }), parley.ENotFound)
}

// testConsents: the current consent per contact and topic is replaced;
// records append and list newest first; reach round-trips with its
// promos; ContactsOfUser finds an account's unmerged contacts.
func testConsents(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2", "u1")
	in := &parley.Consent{BusinessID: "biz", ContactID: "c1", TopicID: "t1", OptedIn: true, Channel: parley.ConsentKeyword, Proof: "m1", At: at(1)}
	other := &parley.Consent{BusinessID: "biz", ContactID: "c1", TopicID: "t0", OptedIn: true, Channel: parley.ConsentAPI, Proof: "r1", At: at(2)}
	update(t, s, func(tx parley.Tx) error {
		for _, c := range []*parley.Consent{in, other, {BusinessID: "biz", ContactID: "c2", TopicID: "t1", OptedIn: true, Channel: "api", At: at(1)}} {
			if err := tx.PutConsent(c); err != nil {
				return err
			}
		}
		return nil
	})
	wantEqual(t, "consents", view(t, s, func(tx parley.Tx) ([]*parley.Consent, error) { return tx.Consents("biz", "c1") }),
		[]*parley.Consent{other, in})
	out := *in
	out.OptedIn, out.Channel, out.Proof, out.At = false, parley.ConsentStop, "m2", at(5)
	update(t, s, func(tx parley.Tx) error { return tx.PutConsent(&out) })
	wantEqual(t, "replaced", view(t, s, func(tx parley.Tx) ([]*parley.Consent, error) { return tx.Consents("biz", "c1") }),
		[]*parley.Consent{other, &out})
	wantEqual(t, "no consents", view(t, s, func(tx parley.Tx) ([]*parley.Consent, error) { return tx.Consents("biz2", "c1") }),
		[]*parley.Consent{})

	var recs []*parley.ConsentRecord
	update(t, s, func(tx parley.Tx) error {
		recs = nil
		for i := range 3 {
			r := &parley.ConsentRecord{BusinessID: "biz", ContactID: "c1", TopicID: fmt.Sprint("t", i), OptedIn: i != 2, Channel: "api",
				Proof: fmt.Sprint("r", i), At: at(i)}
			if err := tx.AppendConsentRecord(r); err != nil {
				return err
			}
			recs = append(recs, r)
		}
		return nil
	})
	if recs[0].ID == 0 || recs[1].ID <= recs[0].ID {
		t.Fatalf("record ids %d, %d: want growing, non-zero", recs[0].ID, recs[1].ID)
	}
	wantEqual(t, "records newest first", view(t, s, func(tx parley.Tx) ([]*parley.ConsentRecord, error) {
		return tx.ConsentRecords("biz", "c1", 2)
	}), []*parley.ConsentRecord{recs[2], recs[1]})

	wantNotFound(t, s, "no reach", func(tx parley.Tx) (*parley.Reach, error) { return tx.Reach("biz", "c1") })
	r := &parley.Reach{BusinessID: "biz", ContactID: "c1", LastInboundAt: at(3), StoppedAt: ptr(at(4)), Promos: []time.Time{at(1), at(2)}}
	update(t, s, func(tx parley.Tx) error { return tx.PutReach(r) })
	wantEqual(t, "reach", view(t, s, func(tx parley.Tx) (*parley.Reach, error) { return tx.Reach("biz", "c1") }), r)
	r2 := &parley.Reach{BusinessID: "biz", ContactID: "c1", LastInboundAt: at(8)}
	update(t, s, func(tx parley.Tx) error { return tx.PutReach(r2) })
	wantEqual(t, "reach replaced", view(t, s, func(tx parley.Tx) (*parley.Reach, error) { return tx.Reach("biz", "c1") }), r2)

	update(t, s, func(tx parley.Tx) error {
		for _, c := range []*parley.Contact{
			{BusinessID: "biz", ID: "k1", UserID: "u1", Name: "U", CreatedAt: at(1), UpdatedAt: at(1)},
			{BusinessID: "biz2", ID: "k2", UserID: "u1", Name: "U", CreatedAt: at(1), UpdatedAt: at(1)},
			{BusinessID: "biz2", ID: "k3", UserID: "", Name: "U", MergedInto: "k2", CreatedAt: at(1), UpdatedAt: at(1)},
		} {
			if err := tx.PutContact(c); err != nil {
				return err
			}
		}
		return nil
	})
	got := view(t, s, func(tx parley.Tx) ([]*parley.Contact, error) { return tx.ContactsOfUser("u1") })
	if len(got) != 2 || got[0].ID != "k1" || got[1].ID != "k2" {
		t.Fatalf("contacts of u1: %s", show(got))
	}
}

// testTemplates: templates round-trip; names are unique per business.
func testTemplates(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz")
	tp := &parley.Template{BusinessID: "biz", ID: "p1", Name: "Sale", Body: "Hi {{contact.first_name}}", TopicID: "t1",
		Components: `{"buttons":[{"sub_type":"url","index":0,"parameter":"x"}]}`, Status: parley.TemplateDraft, CreatedBy: "a1", CreatedAt: at(1), UpdatedAt: at(1)}
	tp2 := &parley.Template{BusinessID: "biz", ID: "p2", Name: "Account", Body: "x", Status: parley.TemplateDraft, CreatedBy: "a1",
		CreatedAt: at(2), UpdatedAt: at(2)}
	update(t, s, func(tx parley.Tx) error {
		if err := tx.CreateTemplate(tp); err != nil {
			return err
		}
		return tx.CreateTemplate(tp2)
	})
	wantEqual(t, "template", view(t, s, func(tx parley.Tx) (*parley.Template, error) { return tx.Template("biz", "p1") }), tp)
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error {
		return tx.CreateTemplate(&parley.Template{BusinessID: "biz", ID: "p3", Name: "SALE", Status: "draft"})
	}), parley.EConflict)
	approved := *tp
	approved.Status, approved.ApprovedBy, approved.ApprovedAt, approved.UpdatedAt, approved.Body = parley.TemplateApproved, "a2", ptr(at(5)), at(5), "Hello"
	approved.Components = `{"header":{"type":"text","text":"{{contact.order}}"}}`
	update(t, s, func(tx parley.Tx) error { return tx.UpdateTemplate(&approved) })
	wantEqual(t, "templates", view(t, s, func(tx parley.Tx) ([]*parley.Template, error) { return tx.Templates("biz") }),
		[]*parley.Template{tp2, &approved})
	update(t, s, func(tx parley.Tx) error { return tx.DeleteTemplate("biz", "p2") })
	wantNotFound(t, s, "deleted", func(tx parley.Tx) (*parley.Template, error) { return tx.Template("biz", "p2") })
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteTemplate("biz", "p2") }), parley.ENotFound)
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { return tx.UpdateTemplate(tp2) }), parley.ENotFound)
}

// testSegments: every kind of condition, alone and combined, counts and
// lists the same contacts; labels and attributes follow PutContact;
// merged contacts and other businesses never count.
func testSegments(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2")
	// Contact i has label "vip" when i%2==0, attribute tier=gold when
	// i%3==0, consent to t1 when i%5 != 0 (opted out when i%5==0 and i%2==0),
	// and wrote at(i).
	const n = 30
	update(t, s, func(tx parley.Tx) error {
		for i := range n {
			c := &parley.Contact{BusinessID: "biz", ID: fmt.Sprintf("c%02d", i), Name: "x", Attributes: map[string]string{"city": "Oslo"},
				CreatedAt: at(0), UpdatedAt: at(0)}
			if i%2 == 0 {
				c.Labels = []string{"vip"}
			}
			if i%3 == 0 {
				c.Attributes["tier"] = "gold"
			}
			if err := tx.PutContact(c); err != nil {
				return err
			}
			if i%5 != 0 || i%2 == 0 {
				if err := tx.PutConsent(&parley.Consent{BusinessID: "biz", ContactID: c.ID, TopicID: "t1", OptedIn: i%5 != 0, Channel: "api", At: at(0)}); err != nil {
					return err
				}
			}
			if err := tx.PutReach(&parley.Reach{BusinessID: "biz", ContactID: c.ID, LastInboundAt: at(i)}); err != nil {
				return err
			}
		}
		// Another business's look-alike never counts.
		return tx.PutContact(&parley.Contact{BusinessID: "biz2", ID: "c00", Name: "x", Labels: []string{"vip"}, CreatedAt: at(0), UpdatedAt: at(0)})
	})
	want := func(pred func(i int) bool) []string {
		out := []string{}
		for i := range n {
			if pred(i) {
				out = append(out, fmt.Sprintf("c%02d", i))
			}
		}
		return out
	}
	check := func(name string, f parley.SegmentFilter, pred func(i int) bool) {
		t.Helper()
		f.BusinessID = "biz"
		ids := want(pred)
		if got := view(t, s, func(tx parley.Tx) (int, error) { return tx.CountSegment(f) }); got != len(ids) {
			t.Fatalf("%s: count %d, want %d", name, got, len(ids))
		}
		var all []string
		after := ""
		for {
			page := view(t, s, func(tx parley.Tx) ([]string, error) { return tx.SegmentContacts(f, after, 4) })
			if len(page) == 0 {
				break
			}
			all = append(all, page...)
			after = page[len(page)-1]
		}
		if all == nil {
			all = []string{}
		}
		wantEqual(t, name+": contacts", all, ids)
	}
	vip := func(i int) bool { return i%2 == 0 }
	gold := func(i int) bool { return i%3 == 0 }
	consented := func(i int) bool { return i%5 != 0 }
	check("everyone", parley.SegmentFilter{}, func(int) bool { return true })
	check("label", parley.SegmentFilter{Labels: []string{"vip"}}, vip)
	check("attribute", parley.SegmentFilter{Attributes: []parley.AttributeCondition{{Key: "tier", Value: "gold"}}}, gold)
	check("attribute set", parley.SegmentFilter{Attributes: []parley.AttributeCondition{{Key: "tier"}}}, gold)
	check("topic", parley.SegmentFilter{Topics: []string{"t1"}}, consented)
	check("active", parley.SegmentFilter{ActiveSince: at(20)}, func(i int) bool { return i >= 20 })
	check("inactive", parley.SegmentFilter{InactiveSince: at(20)}, func(i int) bool { return i < 20 })
	check("all of them", parley.SegmentFilter{Topics: []string{"t1"}, Labels: []string{"vip"},
		Attributes: []parley.AttributeCondition{{Key: "tier", Value: "gold"}, {Key: "city", Value: "Oslo"}}, ActiveSince: at(5), InactiveSince: at(25)},
		func(i int) bool { return vip(i) && gold(i) && consented(i) && i >= 5 && i < 25 })
	check("no match", parley.SegmentFilter{Labels: []string{"vip", "nobody"}}, func(int) bool { return false })
	check("topic and label", parley.SegmentFilter{Topics: []string{"t1"}, Labels: []string{"vip"}}, func(i int) bool { return vip(i) && consented(i) })
	check("label, attribute, attribute set, active", parley.SegmentFilter{Labels: []string{"vip"},
		Attributes: []parley.AttributeCondition{{Key: "tier", Value: "gold"}, {Key: "city"}}, ActiveSince: at(10)},
		func(i int) bool { return vip(i) && gold(i) && i >= 10 })

	// Changing a contact moves it between segments; merging removes it.
	update(t, s, func(tx parley.Tx) error {
		c, err := tx.Contact("biz", "c01")
		if err != nil {
			return err
		}
		c.Labels = []string{"vip"}
		if err := tx.PutContact(c); err != nil {
			return err
		}
		c, err = tx.Contact("biz", "c02")
		if err != nil {
			return err
		}
		c.MergedInto = "c03"
		return tx.PutContact(c)
	})
	check("label after changes", parley.SegmentFilter{Labels: []string{"vip"}}, func(i int) bool { return (vip(i) || i == 1) && i != 2 })
	check("topic after merge", parley.SegmentFilter{Topics: []string{"t1"}}, func(i int) bool { return consented(i) && i != 2 })
	check("topic and label after merge", parley.SegmentFilter{Topics: []string{"t1"}, Labels: []string{"vip"}},
		func(i int) bool { return (vip(i) || i == 1) && i != 2 && consented(i) })
}

// testCampaigns: campaigns round-trip; CampaignsToRun finds running ones
// and scheduled ones that are due; recipients are added once, come due by
// NotBefore, and page by state.
func testCampaigns(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2")
	c := &parley.Campaign{ID: "k1", BusinessID: "biz", Name: "Spring", TemplateID: "p1", TopicID: "t1", Segment: `{"labels":["vip"]}`,
		Status: parley.CampaignDraft, Rate: 50, CreatedBy: "a1", CreatedAt: at(1), UpdatedAt: at(1)}
	sched := &parley.Campaign{ID: "k2", BusinessID: "biz", Name: "Later", TemplateID: "p1", TopicID: "t1", Segment: `{}`,
		Status: parley.CampaignScheduled, ScheduledAt: ptr(at(100)), Rate: 1, CreatedBy: "a1", CreatedAt: at(2), UpdatedAt: at(2)}
	update(t, s, func(tx parley.Tx) error {
		if err := tx.CreateCampaign(c); err != nil {
			return err
		}
		return tx.CreateCampaign(sched)
	})
	wantEqual(t, "campaign", view(t, s, func(tx parley.Tx) (*parley.Campaign, error) { return tx.Campaign("biz", "k1") }), c)
	wantNotFound(t, s, "other business", func(tx parley.Tx) (*parley.Campaign, error) { return tx.Campaign("biz2", "k1") })
	wantEqual(t, "campaigns newest first", view(t, s, func(tx parley.Tx) ([]*parley.Campaign, error) { return tx.Campaigns("biz") }),
		[]*parley.Campaign{sched, c})
	wantEqual(t, "nothing to run", view(t, s, func(tx parley.Tx) ([]*parley.Campaign, error) { return tx.CampaignsToRun(at(50)) }),
		[]*parley.Campaign{})
	running := *c
	running.Status, running.StartedAt, running.Total, running.Sent, running.Failed, running.Skipped, running.UpdatedAt =
		parley.CampaignRunning, ptr(at(3)), 5, 2, 1, map[string]int{"no_consent": 1}, at(3)
	update(t, s, func(tx parley.Tx) error { return tx.UpdateCampaign(&running) })
	wantEqual(t, "to run", view(t, s, func(tx parley.Tx) ([]*parley.Campaign, error) { return tx.CampaignsToRun(at(100)) }),
		[]*parley.Campaign{&running, sched})

	var added int
	update(t, s, func(tx parley.Tx) error {
		var err error
		added, err = tx.AddRecipients("k1", []string{"c3", "c1", "c2", "c1"}, at(4))
		return err
	})
	wantEqual(t, "added", added, 3)
	update(t, s, func(tx parley.Tx) error {
		var err error
		added, err = tx.AddRecipients("k1", []string{"c2", "c4"}, at(4))
		return err
	})
	wantEqual(t, "added again", added, 1)
	r1 := view(t, s, func(tx parley.Tx) (*parley.CampaignRecipient, error) { return tx.Recipient("k1", "c1") })
	wantEqual(t, "recipient", r1, &parley.CampaignRecipient{CampaignID: "k1", ContactID: "c1", State: parley.RecipientPending, UpdatedAt: at(4)})
	sent := &parley.CampaignRecipient{CampaignID: "k1", ContactID: "c1", State: parley.RecipientSent, MessageID: "m1", UpdatedAt: at(6)}
	deferred := &parley.CampaignRecipient{CampaignID: "k1", ContactID: "c2", State: parley.RecipientPending, Reason: "quiet_hours",
		NotBefore: at(50), UpdatedAt: at(6)}
	update(t, s, func(tx parley.Tx) error {
		if err := tx.PutRecipient(sent); err != nil {
			return err
		}
		return tx.PutRecipient(deferred)
	})
	ids := func(rs []*parley.CampaignRecipient) []string {
		out := []string{}
		for _, r := range rs {
			out = append(out, r.ContactID)
		}
		return out
	}
	wantEqual(t, "due now", ids(view(t, s, func(tx parley.Tx) ([]*parley.CampaignRecipient, error) { return tx.DueRecipients("k1", at(10), 10) })),
		[]string{"c3", "c4"})
	wantEqual(t, "due later", ids(view(t, s, func(tx parley.Tx) ([]*parley.CampaignRecipient, error) { return tx.DueRecipients("k1", at(60), 2) })),
		[]string{"c3", "c4"})
	wantEqual(t, "due later, all", ids(view(t, s, func(tx parley.Tx) ([]*parley.CampaignRecipient, error) { return tx.DueRecipients("k1", at(60), 10) })),
		[]string{"c3", "c4", "c2"})
	wantEqual(t, "next pending", view(t, s, func(tx parley.Tx) (time.Time, error) { return tx.NextPending("k1") }), time.Time{})
	wantEqual(t, "pending page", ids(view(t, s, func(tx parley.Tx) ([]*parley.CampaignRecipient, error) {
		return tx.Recipients("k1", parley.RecipientPending, "c2", 10)
	})), []string{"c3", "c4"})
	wantEqual(t, "all recipients", ids(view(t, s, func(tx parley.Tx) ([]*parley.CampaignRecipient, error) { return tx.Recipients("k1", "", "", 0) })),
		[]string{"c1", "c2", "c3", "c4"})
	update(t, s, func(tx parley.Tx) error {
		for _, id := range []string{"c3", "c4"} {
			if err := tx.PutRecipient(&parley.CampaignRecipient{CampaignID: "k1", ContactID: id, State: parley.RecipientSkipped, Reason: "no_consent", UpdatedAt: at(7)}); err != nil {
				return err
			}
		}
		return nil
	})
	wantEqual(t, "next pending is the deferred one", view(t, s, func(tx parley.Tx) (time.Time, error) { return tx.NextPending("k1") }), at(50))
	update(t, s, func(tx parley.Tx) error {
		return tx.PutRecipient(&parley.CampaignRecipient{CampaignID: "k1", ContactID: "c2", State: parley.RecipientSent, UpdatedAt: at(51)})
	})
	_, err := viewErr(s, func(tx parley.Tx) (time.Time, error) { return tx.NextPending("k1") })
	wantCode(t, err, parley.ENotFound)
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error {
		return tx.PutRecipient(&parley.CampaignRecipient{CampaignID: "k1", ContactID: "nobody", State: "sent"})
	}), parley.ENotFound)
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error { _, err := tx.AddRecipients("nope", []string{"c1"}, at(1)); return err }), parley.ENotFound)
}
