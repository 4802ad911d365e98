package storetest

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// testCampaignActivity: settled recipients count in the bucket of their
// update, by state and reason; a sent message counts delivered and read
// by the contact's markers, in the bucket of the send; the contact's
// first reply and first opt-out of the topic (or STOP) within the window
// count in their own buckets; replies and opt-outs outside the window,
// other topics' opt-outs, opt-ins and other campaigns do not count.
func testCampaignActivity(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "u1", "u2", "u3", "u4")
	minute := func(m int) time.Time { return t0.Truncate(time.Hour).Add(time.Duration(m) * time.Minute) }
	update(t, s, func(tx parley.Tx) error {
		for _, c := range []*parley.Campaign{
			{ID: "k1", BusinessID: "biz", Name: "One", TemplateID: "p1", TopicID: "t1", Segment: `{}`, Status: parley.CampaignRunning,
				Rate: 1, CreatedBy: "biz", CreatedAt: minute(0), UpdatedAt: minute(0)},
			{ID: "k2", BusinessID: "biz", Name: "Two", TemplateID: "p1", TopicID: "t1", Segment: `{}`, Status: parley.CampaignRunning,
				Rate: 1, CreatedBy: "biz", CreatedAt: minute(0), UpdatedAt: minute(0)},
		} {
			if err := tx.CreateCampaign(c); err != nil {
				return err
			}
		}
		for i, u := range []string{"u1", "u2", "u3", "u4"} {
			c := &parley.Contact{BusinessID: "biz", ID: "c" + u[1:], UserID: u, Name: u, CreatedAt: minute(0), UpdatedAt: minute(0)}
			if err := tx.PutContact(c); err != nil {
				return err
			}
			conv := newConversation("d"+u[1:], "biz")
			conv.Kind = parley.ConversationDirect
			conv.DirectKey = "biz:" + u
			if err := tx.CreateConversation(conv); err != nil {
				return err
			}
			if err := tx.PutMember(newMember(conv.ID, "biz")); err != nil {
				return err
			}
			m := newMember(conv.ID, u)
			m.DeliveredSeq, m.ReadSeq = int64(min(i, 2)), int64(min(i, 1)) // u1: neither, u2 and u4: delivered and read, u3: delivered
			if i == 2 {
				m.ReadSeq = 0
			}
			if err := tx.PutMember(m); err != nil {
				return err
			}
		}
		_, err := tx.AddRecipients("k1", []string{"c1", "c2", "c3", "c4", "c5", "c6", "c7"}, minute(0))
		if err != nil {
			return err
		}
		_, err = tx.AddRecipients("k2", []string{"c1"}, minute(0))
		return err
	})
	// Campaign messages: u1..u4 at minutes 1, 1, 2, 61 (seq 1 each).
	sends := map[string]time.Time{"1": minute(1), "2": minute(1), "3": minute(2), "4": minute(61)}
	msgs := map[string]*parley.Message{}
	for _, n := range []string{"1", "2", "3", "4"} {
		msgs[n] = mkMessage(t, s, "d"+n, "biz", "cmp.k1.c"+n, "sale", sends[n])
	}
	// u2 replies twice (the first counts, at minute 3); u3 replies after
	// the window; u1 and u4 do not reply.
	mkMessage(t, s, "d2", "u2", "r1", "thanks", minute(3))
	mkMessage(t, s, "d2", "u2", "r2", "again", minute(70))
	mkMessage(t, s, "d3", "u3", "r3", "late", minute(2).Add(25*time.Hour))
	update(t, s, func(tx parley.Tx) error {
		for _, r := range []*parley.CampaignRecipient{
			{CampaignID: "k1", ContactID: "c1", State: parley.RecipientSent, MessageID: msgs["1"].ID, UpdatedAt: minute(1)},
			{CampaignID: "k1", ContactID: "c2", State: parley.RecipientSent, MessageID: msgs["2"].ID, UpdatedAt: minute(1)},
			{CampaignID: "k1", ContactID: "c3", State: parley.RecipientSent, MessageID: msgs["3"].ID, UpdatedAt: minute(2)},
			{CampaignID: "k1", ContactID: "c4", State: parley.RecipientSent, MessageID: msgs["4"].ID, UpdatedAt: minute(61)},
			{CampaignID: "k1", ContactID: "c5", State: parley.RecipientSkipped, Reason: "no_consent", UpdatedAt: minute(2)},
			{CampaignID: "k1", ContactID: "c6", State: parley.RecipientSkipped, Reason: "frequency_cap", UpdatedAt: minute(62)},
			{CampaignID: "k1", ContactID: "c7", State: parley.RecipientFailed, Reason: "dm_not_allowed", UpdatedAt: minute(62)},
			{CampaignID: "k2", ContactID: "c1", State: parley.RecipientSkipped, Reason: "frequency_cap", UpdatedAt: minute(1)},
		} {
			if err := tx.PutRecipient(r); err != nil {
				return err
			}
		}
		for _, r := range []*parley.ConsentRecord{
			{BusinessID: "biz", ContactID: "c1", TopicID: "t2", OptedIn: false, Channel: "settings", At: minute(5)},                    // another topic
			{BusinessID: "biz", ContactID: "c1", TopicID: "t1", OptedIn: true, Channel: "keyword", At: minute(6)},                      // an opt-in
			{BusinessID: "biz", ContactID: "c3", TopicID: "", OptedIn: false, Channel: "stop", At: minute(63)},                         // STOP
			{BusinessID: "biz", ContactID: "c3", TopicID: "t1", OptedIn: false, Channel: "settings", At: minute(64)},                   // a second one
			{BusinessID: "biz", ContactID: "c4", TopicID: "t1", OptedIn: false, Channel: "settings", At: minute(60)},                   // before the message
			{BusinessID: "biz", ContactID: "c2", TopicID: "t1", OptedIn: false, Channel: "settings", At: minute(1).Add(2 * time.Hour)}, // after the window
		} {
			if err := tx.AppendConsentRecord(r); err != nil {
				return err
			}
		}
		return nil
	})
	got := view(t, s, func(tx parley.Tx) ([]*parley.CampaignActivity, error) {
		return tx.CampaignActivity(parley.CampaignActivityQuery{BusinessID: "biz", CampaignID: "k1", TopicID: "t1", Bucket: time.Hour, Window: 90 * time.Minute})
	})
	h0, h1 := minute(0), minute(60)
	want := []*parley.CampaignActivity{
		{At: h0, Sent: 3, Delivered: 2, Read: 1, Replied: 1, Skipped: map[string]int{"no_consent": 1}},
		{At: h1, Sent: 1, Delivered: 1, Read: 1, OptedOut: 1, Failed: 1, Skipped: map[string]int{"frequency_cap": 1}},
	}
	wantEqual(t, "activity by the hour", got, want)
	// Smaller buckets split the first hour; another business sees nothing.
	got = view(t, s, func(tx parley.Tx) ([]*parley.CampaignActivity, error) {
		return tx.CampaignActivity(parley.CampaignActivityQuery{BusinessID: "biz", CampaignID: "k1", TopicID: "t1", Bucket: time.Minute, Window: 90 * time.Minute})
	})
	if len(got) != 6 || !got[0].At.Equal(minute(1)) || got[0].Sent != 2 || got[0].Delivered != 1 || got[2].Replied != 1 || !got[2].At.Equal(minute(3)) {
		for _, b := range got {
			t.Logf("%+v", *b)
		}
		t.Fatal("activity by the minute: not the buckets expected")
	}
	wantEqual(t, "other business", len(view(t, s, func(tx parley.Tx) ([]*parley.CampaignActivity, error) {
		return tx.CampaignActivity(parley.CampaignActivityQuery{BusinessID: "u1", CampaignID: "k1", TopicID: "t1", Bucket: time.Hour, Window: time.Hour})
	})), 0)
}
