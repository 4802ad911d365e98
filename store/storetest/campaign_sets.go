package storetest

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// testCampaignSets: the campaign worker's set reads return, keyed by
// contact id, exactly the rows of the asked contacts of the asked
// business (or campaign, or topic), nothing for a contact without one,
// and an empty map for no ids.
func testCampaignSets(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "biz2")
	c1 := &parley.Contact{BusinessID: "biz", ID: "c1", Name: "Ann", Attributes: map[string]string{"tz": "Europe/Oslo"},
		Labels: []string{"vip"}, CreatedAt: at(1), UpdatedAt: at(1)}
	c2 := &parley.Contact{BusinessID: "biz", ID: "c2", Name: "Bo", MergedInto: "c1", CreatedAt: at(1), UpdatedAt: at(2)}
	c3 := &parley.Contact{BusinessID: "biz", ID: "c3", Name: "Cy", CreatedAt: at(1), UpdatedAt: at(1)}
	alien := &parley.Contact{BusinessID: "biz2", ID: "c4", Name: "Di", CreatedAt: at(1), UpdatedAt: at(1)}
	reach1 := &parley.Reach{BusinessID: "biz", ContactID: "c1", LastInboundAt: at(5), Promos: []time.Time{at(2), at(3)}}
	reach3 := &parley.Reach{BusinessID: "biz", ContactID: "c3", LastInboundAt: at(6), StoppedAt: ptr(at(7))}
	in1 := &parley.Consent{BusinessID: "biz", ContactID: "c1", TopicID: "t1", OptedIn: true, Channel: parley.ConsentKeyword, Proof: "m1", At: at(1)}
	out3 := &parley.Consent{BusinessID: "biz", ContactID: "c3", TopicID: "t1", OptedIn: false, Channel: parley.ConsentStop, Proof: "m2", At: at(2)}
	update(t, s, func(tx parley.Tx) error {
		for _, c := range []*parley.Contact{c1, c2, c3, alien} {
			if err := tx.PutContact(c); err != nil {
				return err
			}
		}
		for _, r := range []*parley.Reach{reach1, reach3, {BusinessID: "biz2", ContactID: "c4", LastInboundAt: at(1)}} {
			if err := tx.PutReach(r); err != nil {
				return err
			}
		}
		for _, c := range []*parley.Consent{in1, out3,
			{BusinessID: "biz", ContactID: "c1", TopicID: "t2", OptedIn: true, Channel: "api", At: at(1)},
			{BusinessID: "biz2", ContactID: "c4", TopicID: "t1", OptedIn: true, Channel: "api", At: at(1)}} {
			if err := tx.PutConsent(c); err != nil {
				return err
			}
		}
		if err := tx.CreateCampaign(&parley.Campaign{ID: "k1", BusinessID: "biz", Name: "A", TemplateID: "p1", TopicID: "t1", Segment: `{}`,
			Status: parley.CampaignRunning, Rate: 10, CreatedBy: "a1", CreatedAt: at(1), UpdatedAt: at(1)}); err != nil {
			return err
		}
		if err := tx.CreateCampaign(&parley.Campaign{ID: "k2", BusinessID: "biz", Name: "B", TemplateID: "p1", TopicID: "t1", Segment: `{}`,
			Status: parley.CampaignRunning, Rate: 10, CreatedBy: "a1", CreatedAt: at(1), UpdatedAt: at(1)}); err != nil {
			return err
		}
		if _, err := tx.AddRecipients("k1", []string{"c1", "c3"}, at(3)); err != nil {
			return err
		}
		_, err := tx.AddRecipients("k2", []string{"c1", "c2"}, at(3))
		return err
	})
	// c1 has two conversations, the second the newer; c3 one; c2 none.
	old, newer, only := newInboxItem("v1", "biz", 10), newInboxItem("v2", "biz", 20), newInboxItem("v3", "biz", 15)
	old.ContactID, newer.ContactID, only.ContactID = "c1", "c1", "c3"
	newer.Labels, newer.Attributes = []string{"hot", "new"}, map[string]string{"order": "42"}
	alienItem := newInboxItem("v4", "biz2", 30)
	alienItem.ContactID = "c1"
	mkInboxItems(t, s, old, newer, only, alienItem)
	sent := &parley.CampaignRecipient{CampaignID: "k1", ContactID: "c3", State: parley.RecipientSent, MessageID: "m9", UpdatedAt: at(4)}
	update(t, s, func(tx parley.Tx) error { return tx.PutRecipient(sent) })

	asked := []string{"c1", "c2", "c3", "c4", "nobody", "c1"}
	wantEqual(t, "reach of", view(t, s, func(tx parley.Tx) (map[string]*parley.Reach, error) { return tx.ReachOf("biz", asked) }),
		map[string]*parley.Reach{"c1": view(t, s, func(tx parley.Tx) (*parley.Reach, error) { return tx.Reach("biz", "c1") }),
			"c3": view(t, s, func(tx parley.Tx) (*parley.Reach, error) { return tx.Reach("biz", "c3") })})
	wantEqual(t, "topic consents", view(t, s, func(tx parley.Tx) (map[string]*parley.Consent, error) { return tx.TopicConsents("biz", "t1", asked) }),
		map[string]*parley.Consent{"c1": in1, "c3": out3})
	wantEqual(t, "recipients of", view(t, s, func(tx parley.Tx) (map[string]*parley.CampaignRecipient, error) { return tx.RecipientsOf("k1", asked) }),
		map[string]*parley.CampaignRecipient{
			"c1": {CampaignID: "k1", ContactID: "c1", State: parley.RecipientPending, UpdatedAt: at(3)},
			"c3": sent,
		})
	wantEqual(t, "contacts by ids", view(t, s, func(tx parley.Tx) (map[string]*parley.Contact, error) { return tx.ContactsByIDs("biz", asked) }),
		map[string]*parley.Contact{
			"c1": view(t, s, func(tx parley.Tx) (*parley.Contact, error) { return tx.Contact("biz", "c1") }),
			"c2": view(t, s, func(tx parley.Tx) (*parley.Contact, error) { return tx.Contact("biz", "c2") }),
			"c3": view(t, s, func(tx parley.Tx) (*parley.Contact, error) { return tx.Contact("biz", "c3") }),
		})
	items := view(t, s, func(tx parley.Tx) (map[string]*parley.InboxItem, error) { return tx.LatestInboxItems("biz", asked) })
	wantEqual(t, "latest inbox items", items, map[string]*parley.InboxItem{"c1": inboxItem(t, s, "v2"), "c3": inboxItem(t, s, "v3")})
	wantEqual(t, "labels of the latest", items["c1"].Labels, []string{"hot", "new"})
	wantEqual(t, "latest conversations", view(t, s, func(tx parley.Tx) (map[string]string, error) { return tx.LatestConversations("biz", asked) }),
		map[string]string{"c1": "v2", "c3": "v3"})
	for _, ids := range [][]string{nil, {}} {
		if n := len(view(t, s, func(tx parley.Tx) (map[string]*parley.Reach, error) { return tx.ReachOf("biz", ids) })); n != 0 {
			t.Fatalf("reach of no ids: %d", n)
		}
		if n := len(view(t, s, func(tx parley.Tx) (map[string]*parley.InboxItem, error) { return tx.LatestInboxItems("biz", ids) })); n != 0 {
			t.Fatalf("inbox items of no ids: %d", n)
		}
		if n := len(view(t, s, func(tx parley.Tx) (map[string]string, error) { return tx.LatestConversations("biz", ids) })); n != 0 {
			t.Fatalf("conversations of no ids: %d", n)
		}
	}
}
