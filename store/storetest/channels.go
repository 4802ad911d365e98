package storetest

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/sealed"
)

func newChannel(id, business, platform, account string) *parley.Channel {
	return &parley.Channel{ID: id, BusinessID: business, Platform: platform, Name: "Shop " + id, AccountID: account, AppID: "app-1",
		AccessToken: "sealed-token", AppSecret: "sealed-secret", VerifyToken: "sealed-verify", Hint: `{"access_token":"oken"}`,
		Language: "en_US", CreatedBy: business, CreatedAt: at(1), UpdatedAt: at(1)}
}

// testChannels: channels round-trip, one platform account connects once,
// updates save the secrets, a business lists only its own, and deleting
// one takes its threads and message links with it.
func testChannels(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz", "other")
	c1 := newChannel("ch1", "biz", parley.PlatformMessenger, "page-1")
	c2 := newChannel("ch2", "biz", parley.PlatformWhatsApp, "phone-1")
	c3 := newChannel("ch3", "other", parley.PlatformInstagram, "ig-1")
	update(t, s, func(tx parley.Tx) error {
		for _, c := range []*parley.Channel{c1, c2, c3} {
			if err := tx.CreateChannel(c); err != nil {
				return err
			}
		}
		return nil
	})
	got := view(t, s, func(tx parley.Tx) (*parley.Channel, error) { return tx.Channel("ch1") })
	wantEqual(t, "channel", got, c1)
	_, err := viewErr(s, func(tx parley.Tx) (*parley.Channel, error) { return tx.Channel("nope") })
	wantCode(t, err, parley.ENotFound)
	// The same page, even for another business, is a conflict; the store
	// goes on after it (PostgreSQL: a savepoint).
	update(t, s, func(tx parley.Tx) error {
		wantCode(t, tx.CreateChannel(newChannel("ch4", "other", parley.PlatformMessenger, "page-1")), parley.EConflict)
		return tx.CreateChannel(newChannel("ch5", "other", parley.PlatformInstagram, "page-1"))
	})
	list := view(t, s, func(tx parley.Tx) ([]*parley.Channel, error) { return tx.Channels("biz") })
	wantEqual(t, "biz's channels", list, []*parley.Channel{c1, c2})
	var ids []string
	for after := ""; ; {
		page := view(t, s, func(tx parley.Tx) ([]*parley.Channel, error) { return tx.ChannelsAfter(after, 2) })
		for _, c := range page {
			ids = append(ids, c.ID)
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].ID
	}
	wantEqual(t, "every channel by id", ids, []string{"ch1", "ch2", "ch3", "ch5"})

	c1.Name, c1.AccessToken, c1.Hint, c1.UpdatedAt = "Renamed", "sealed-token-2", `{"access_token":"ken2"}`, at(5)
	update(t, s, func(tx parley.Tx) error { return tx.UpdateChannel(c1) })
	got = view(t, s, func(tx parley.Tx) (*parley.Channel, error) { return tx.Channel("ch1") })
	wantEqual(t, "updated channel", got, c1)

	th := &parley.ChannelThread{ChannelID: "ch1", ExternalUserID: "psid-1", ContactID: "ct1", UserID: "ext1", ConversationID: "conv1",
		LastInboundAt: at(10), CreatedAt: at(10)}
	update(t, s, func(tx parley.Tx) error { return tx.PutChannelThread(th) })
	th.LastInboundAt = at(20)
	update(t, s, func(tx parley.Tx) error { return tx.PutChannelThread(th) })
	gotTh := view(t, s, func(tx parley.Tx) (*parley.ChannelThread, error) { return tx.ChannelThread("ch1", "psid-1") })
	wantEqual(t, "thread", gotTh, th)
	gotTh = view(t, s, func(tx parley.Tx) (*parley.ChannelThread, error) { return tx.ChannelThreadByConversation("conv1") })
	wantEqual(t, "thread by conversation", gotTh, th)
	_, err = viewErr(s, func(tx parley.Tx) (*parley.ChannelThread, error) { return tx.ChannelThread("ch2", "psid-1") })
	wantCode(t, err, parley.ENotFound)

	in := &parley.ChannelMessage{MessageID: "m1", ChannelID: "ch1", ConversationID: "conv1", Direction: parley.ChannelIn,
		PlatformMID: "mid.1", Status: parley.ChannelDelivered, PlatformAt: at(10), CreatedAt: at(11), UpdatedAt: at(11)}
	update(t, s, func(tx parley.Tx) error { return tx.CreateChannelMessage(in) })
	update(t, s, func(tx parley.Tx) error {
		return tx.CreateChannelMessage(&parley.ChannelMessage{MessageID: "m9", ChannelID: "ch2", ConversationID: "conv9",
			Direction: parley.ChannelIn, PlatformMID: "other-mid", Status: parley.ChannelDelivered, CreatedAt: at(1), UpdatedAt: at(1)})
	})

	wantCode(t, deleteErr(s, "other", "ch1"), parley.ENotFound)
	update(t, s, func(tx parley.Tx) error { return tx.DeleteChannel("biz", "ch1") })
	_, err = viewErr(s, func(tx parley.Tx) (*parley.Channel, error) { return tx.Channel("ch1") })
	wantCode(t, err, parley.ENotFound)
	_, err = viewErr(s, func(tx parley.Tx) (*parley.ChannelThread, error) { return tx.ChannelThread("ch1", "psid-1") })
	wantCode(t, err, parley.ENotFound)
	_, err = viewErr(s, func(tx parley.Tx) (*parley.ChannelMessage, error) { return tx.ChannelMessage("m1") })
	wantCode(t, err, parley.ENotFound)
	if _, err := viewErr(s, func(tx parley.Tx) (*parley.ChannelMessage, error) { return tx.ChannelMessage("m9") }); err != nil {
		t.Fatalf("another channel's link went too: %v", err)
	}
	wantCode(t, deleteErr(s, "biz", "ch1"), parley.ENotFound)
}

func deleteErr(s parley.Store, business, id string) error {
	return s.Update(ctx, func(tx parley.Tx) error { return tx.DeleteChannel(business, id) })
}

// testChannelMessages: links are found by message and by platform id, a
// platform id is linked once per channel, and the outbox lists due queued
// sends in order.
func testChannelMessages(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz")
	update(t, s, func(tx parley.Tx) error {
		if err := tx.CreateChannel(newChannel("ch1", "biz", parley.PlatformMessenger, "page-1")); err != nil {
			return err
		}
		return tx.CreateChannel(newChannel("ch2", "biz", parley.PlatformWhatsApp, "phone-1"))
	})
	in := &parley.ChannelMessage{MessageID: "m1", ChannelID: "ch1", ConversationID: "conv1", Direction: parley.ChannelIn,
		PlatformMID: "mid.1", Status: parley.ChannelDelivered, PlatformAt: at(10), CreatedAt: at(11), UpdatedAt: at(11)}
	out1 := &parley.ChannelMessage{MessageID: "m2", ChannelID: "ch1", ConversationID: "conv1", Direction: parley.ChannelOut,
		Mode: "standard", Status: parley.ChannelQueued, NextAttemptAt: at(30), CreatedAt: at(12), UpdatedAt: at(12)}
	out2 := &parley.ChannelMessage{MessageID: "m3", ChannelID: "ch2", ConversationID: "conv2", Direction: parley.ChannelOut,
		Mode: "template", Template: "order_update", Status: parley.ChannelQueued, NextAttemptAt: at(20), CreatedAt: at(13), UpdatedAt: at(13)}
	out3 := &parley.ChannelMessage{MessageID: "m4", ChannelID: "ch1", ConversationID: "conv1", Direction: parley.ChannelOut,
		Mode: "human_agent", Status: parley.ChannelQueued, NextAttemptAt: at(50), CreatedAt: at(14), UpdatedAt: at(14)}
	update(t, s, func(tx parley.Tx) error {
		for _, m := range []*parley.ChannelMessage{in, out1, out2, out3} {
			if err := tx.CreateChannelMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	// Replays: the same platform id in the same channel, the same message.
	update(t, s, func(tx parley.Tx) error {
		dup := *in
		dup.MessageID = "m5"
		wantCode(t, tx.CreateChannelMessage(&dup), parley.EConflict)
		dup = *in
		dup.PlatformMID = "mid.other"
		wantCode(t, tx.CreateChannelMessage(&dup), parley.EConflict)
		// Another channel may have the same platform id.
		dup = *in
		dup.MessageID, dup.ChannelID = "m6", "ch2"
		return tx.CreateChannelMessage(&dup)
	})
	got := view(t, s, func(tx parley.Tx) (*parley.ChannelMessage, error) { return tx.ChannelMessageByMID("ch1", "mid.1") })
	wantEqual(t, "by mid", got, in)
	_, err := viewErr(s, func(tx parley.Tx) (*parley.ChannelMessage, error) { return tx.ChannelMessageByMID("ch1", "") })
	wantCode(t, err, parley.ENotFound)
	got = view(t, s, func(tx parley.Tx) (*parley.ChannelMessage, error) { return tx.ChannelMessage("m3") })
	wantEqual(t, "by message", got, out2)
	links := view(t, s, func(tx parley.Tx) (map[string]*parley.ChannelMessage, error) {
		return tx.ChannelMessages([]string{"m1", "m3", "missing"})
	})
	wantEqual(t, "links", links, map[string]*parley.ChannelMessage{"m1": in, "m3": out2})

	due := view(t, s, func(tx parley.Tx) ([]*parley.ChannelMessage, error) { return tx.DueChannelSends(at(30), 10) })
	wantEqual(t, "due at 30", due, []*parley.ChannelMessage{out2, out1})
	due = view(t, s, func(tx parley.Tx) ([]*parley.ChannelMessage, error) { return tx.DueChannelSends(at(100), 1) })
	wantEqual(t, "limit", due, []*parley.ChannelMessage{out2})

	out2.PlatformMID, out2.Status, out2.Attempts, out2.UpdatedAt = "wamid.1", parley.ChannelSent, 1, at(21)
	out1.Attempts, out1.NextAttemptAt, out1.Error, out1.UpdatedAt = 1, at(90), "rate limited", at(31)
	update(t, s, func(tx parley.Tx) error {
		if err := tx.UpdateChannelMessage(out2); err != nil {
			return err
		}
		return tx.UpdateChannelMessage(out1)
	})
	due = view(t, s, func(tx parley.Tx) ([]*parley.ChannelMessage, error) { return tx.DueChannelSends(at(60), 10) })
	wantEqual(t, "after updates", due, []*parley.ChannelMessage{out3})
	got = view(t, s, func(tx parley.Tx) (*parley.ChannelMessage, error) { return tx.ChannelMessageByMID("ch2", "wamid.1") })
	wantEqual(t, "sent", got, out2)
	// A platform id taken by another message of the channel conflicts.
	update(t, s, func(tx parley.Tx) error {
		out3.PlatformMID = "mid.1"
		wantCode(t, tx.UpdateChannelMessage(out3), parley.EConflict)
		out3.PlatformMID = ""
		return nil
	})
	wantCode(t, s.Update(ctx, func(tx parley.Tx) error {
		return tx.UpdateChannelMessage(&parley.ChannelMessage{MessageID: "gone", Status: parley.ChannelSent})
	}), parley.ENotFound)
}

// testChannelWork: a link's Data and WorkAt round-trip through create and
// update, and DueChannelWork lists the links whose work is due, of any
// status, earliest first; a link whose work is done (WorkAt zero) is not
// listed.
func testChannelWork(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz")
	update(t, s, func(tx parley.Tx) error {
		return tx.CreateChannel(newChannel("ch1", "biz", parley.PlatformWhatsApp, "phone-1"))
	})
	in := &parley.ChannelMessage{MessageID: "m1", ChannelID: "ch1", ConversationID: "conv1", Direction: parley.ChannelIn,
		PlatformMID: "wamid.1", Status: parley.ChannelDelivered, Data: `{"fetch":[{"type":"image","media_id":"9"}]}`, WorkAt: at(20),
		PlatformAt: at(10), CreatedAt: at(11), UpdatedAt: at(11)}
	sent := &parley.ChannelMessage{MessageID: "m2", ChannelID: "ch1", ConversationID: "conv1", Direction: parley.ChannelOut,
		PlatformMID: "wamid.2", Status: parley.ChannelSent, Data: `{"react":"👍"}`, WorkAt: at(15), CreatedAt: at(12), UpdatedAt: at(12)}
	idle := &parley.ChannelMessage{MessageID: "m3", ChannelID: "ch1", ConversationID: "conv1", Direction: parley.ChannelOut,
		Status: parley.ChannelQueued, Data: `{"params":["Ada"]}`, NextAttemptAt: at(5), CreatedAt: at(13), UpdatedAt: at(13)}
	update(t, s, func(tx parley.Tx) error {
		for _, m := range []*parley.ChannelMessage{in, sent, idle} {
			if err := tx.CreateChannelMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	got := view(t, s, func(tx parley.Tx) (*parley.ChannelMessage, error) { return tx.ChannelMessage("m3") })
	wantEqual(t, "data without work", got, idle)
	due := view(t, s, func(tx parley.Tx) ([]*parley.ChannelMessage, error) { return tx.DueChannelWork(at(30), 10) })
	wantEqual(t, "due at 30", due, []*parley.ChannelMessage{sent, in})
	due = view(t, s, func(tx parley.Tx) ([]*parley.ChannelMessage, error) { return tx.DueChannelWork(at(16), 10) })
	wantEqual(t, "due at 16", due, []*parley.ChannelMessage{sent})
	due = view(t, s, func(tx parley.Tx) ([]*parley.ChannelMessage, error) { return tx.DueChannelWork(at(30), 1) })
	wantEqual(t, "limit", due, []*parley.ChannelMessage{sent})

	sent.Data, sent.WorkAt, sent.UpdatedAt = `{"react":"👍","reacted":"👍"}`, time.Time{}, at(16)
	in.Data, in.WorkAt, in.UpdatedAt = `{"fetch":[{"type":"image","media_id":"9","tries":1}]}`, at(40), at(21)
	update(t, s, func(tx parley.Tx) error {
		if err := tx.UpdateChannelMessage(sent); err != nil {
			return err
		}
		return tx.UpdateChannelMessage(in)
	})
	wantEqual(t, "updated", view(t, s, func(tx parley.Tx) (*parley.ChannelMessage, error) { return tx.ChannelMessage("m2") }), sent)
	due = view(t, s, func(tx parley.Tx) ([]*parley.ChannelMessage, error) { return tx.DueChannelWork(at(30), 10) })
	if len(due) != 0 {
		t.Fatalf("after updates at 30: %d due, want none", len(due))
	}
	due = view(t, s, func(tx parley.Tx) ([]*parley.ChannelMessage, error) { return tx.DueChannelWork(at(40), 10) })
	wantEqual(t, "after updates at 40", due, []*parley.ChannelMessage{in})
}

// testChannelSecretsKeepKeys: a data key that seals a channel's secret is
// in use, so that a reseal never drops the key a channel needs.
func testChannelSecretsKeepKeys(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz")
	c := newChannel("ch1", "biz", parley.PlatformMessenger, "page-1")
	c.AppSecret = sealed.TextKeyPrefix(7) + "opaque"
	update(t, s, func(tx parley.Tx) error { return tx.CreateChannel(c) })
	if used := view(t, s, func(tx parley.Tx) (bool, error) { return tx.DataKeyInUse(7) }); !used {
		t.Fatal("DataKeyInUse(7) = false though a channel's app secret is sealed with it")
	}
	if used := view(t, s, func(tx parley.Tx) (bool, error) { return tx.DataKeyInUse(8) }); used {
		t.Fatal("DataKeyInUse(8) = true: nothing uses key 8")
	}
}
