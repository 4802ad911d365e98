package storetest

import (
	"testing"

	"github.com/parleyhq/parley"
)

// testChannelPause: a channel's DisabledAt round-trips through
// UpdateChannel (and back to zero); DueChannelSends leaves out the queued
// sends of a paused channel — they stay queued and counted — and lists
// them again once it is resumed.
func testChannelPause(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz")
	update(t, s, func(tx parley.Tx) error {
		if err := tx.CreateChannel(newChannel("ch1", "biz", parley.PlatformMessenger, "page-1")); err != nil {
			return err
		}
		if err := tx.CreateChannel(newChannel("ch2", "biz", parley.PlatformWhatsApp, "phone-1")); err != nil {
			return err
		}
		for i, m := range []*parley.ChannelMessage{
			{MessageID: "m1", ChannelID: "ch1", ConversationID: "conv1"},
			{MessageID: "m2", ChannelID: "ch2", ConversationID: "conv2"},
			{MessageID: "m3", ChannelID: "ch1", ConversationID: "conv1"},
		} {
			m.Direction, m.Status = parley.ChannelOut, parley.ChannelQueued
			m.CreatedAt, m.UpdatedAt, m.NextAttemptAt = at(i+1), at(i+1), at(i+1)
			if err := tx.CreateChannelMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	get := func(id string) *parley.Channel {
		t.Helper()
		return view(t, s, func(tx parley.Tx) (*parley.Channel, error) { return tx.Channel(id) })
	}
	due := func() []string {
		t.Helper()
		ls := view(t, s, func(tx parley.Tx) ([]*parley.ChannelMessage, error) { return tx.DueChannelSends(at(100), 10) })
		var ids []string
		for _, l := range ls {
			ids = append(ids, l.MessageID)
		}
		return ids
	}
	if c := get("ch1"); !c.DisabledAt.IsZero() {
		t.Fatalf("a new channel is paused since %v", c.DisabledAt)
	}
	wantEqual(t, "due before the pause", due(), []string{"m1", "m2", "m3"})

	c := get("ch1")
	c.DisabledAt, c.UpdatedAt = at(50), at(50)
	update(t, s, func(tx parley.Tx) error { return tx.UpdateChannel(c) })
	wantEqual(t, "paused since", get("ch1").DisabledAt, at(50))
	wantEqual(t, "listed paused", view(t, s, func(tx parley.Tx) ([]*parley.Channel, error) { return tx.Channels("biz") })[0].DisabledAt, at(50))
	if other := get("ch2"); !other.DisabledAt.IsZero() {
		t.Fatalf("another channel got paused: %v", other.DisabledAt)
	}
	wantEqual(t, "due while paused", due(), []string{"m2"})
	wantEqual(t, "held, still queued", view(t, s, func(tx parley.Tx) (int, error) { return tx.QueuedChannelSends("ch1") }), 2)

	c.DisabledAt = parley.Channel{}.DisabledAt
	update(t, s, func(tx parley.Tx) error { return tx.UpdateChannel(c) })
	if c := get("ch1"); !c.DisabledAt.IsZero() {
		t.Fatalf("a resumed channel is paused since %v", c.DisabledAt)
	}
	wantEqual(t, "due after the resume", due(), []string{"m1", "m2", "m3"})
}

// testChannelOptins: opt-ins round-trip per channel, person and topic; a
// second put for the same three replaces the first (a new token, a
// stop); a person's list holds only theirs on that channel, by topic;
// deleting the channel deletes its opt-ins.
func testChannelOptins(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz")
	update(t, s, func(tx parley.Tx) error {
		if err := tx.CreateChannel(newChannel("ch1", "biz", parley.PlatformMessenger, "page-1")); err != nil {
			return err
		}
		return tx.CreateChannel(newChannel("ch2", "biz", parley.PlatformMessenger, "page-2"))
	})
	list := func(ch, user string) []*parley.ChannelOptin {
		t.Helper()
		return view(t, s, func(tx parley.Tx) ([]*parley.ChannelOptin, error) { return tx.ChannelOptins(ch, user) })
	}
	wantEqual(t, "none yet", len(list("ch1", "psid-1")), 0)
	news := &parley.ChannelOptin{ChannelID: "ch1", ExternalUserID: "psid-1", TopicID: "topic-news", Token: "sealed-1", Frequency: "DAILY",
		Timezone: "Europe/Paris", Status: parley.OptinActive, ExpiresAt: at(1000), CreatedAt: at(1), UpdatedAt: at(1)}
	deals := &parley.ChannelOptin{ChannelID: "ch1", ExternalUserID: "psid-1", TopicID: "topic-deals", Token: "sealed-2", Frequency: "WEEKLY",
		Status: parley.OptinActive, ExpiresAt: at(2000), LastSentAt: at(5), CreatedAt: at(2), UpdatedAt: at(2)}
	others := []*parley.ChannelOptin{
		{ChannelID: "ch1", ExternalUserID: "psid-2", TopicID: "topic-news", Token: "sealed-3", Frequency: "DAILY", Status: parley.OptinActive, CreatedAt: at(3), UpdatedAt: at(3)},
		{ChannelID: "ch2", ExternalUserID: "psid-1", TopicID: "topic-news", Token: "sealed-4", Frequency: "DAILY", Status: parley.OptinActive, CreatedAt: at(4), UpdatedAt: at(4)},
	}
	update(t, s, func(tx parley.Tx) error {
		for _, o := range append([]*parley.ChannelOptin{news, deals}, others...) {
			if err := tx.PutChannelOptin(o); err != nil {
				return err
			}
		}
		return nil
	})
	wantEqual(t, "psid-1 on ch1", list("ch1", "psid-1"), []*parley.ChannelOptin{deals, news})

	stopped := *news
	stopped.Status, stopped.Token, stopped.LastSentAt, stopped.UpdatedAt = parley.OptinStopped, "sealed-5", at(20), at(21)
	update(t, s, func(tx parley.Tx) error { return tx.PutChannelOptin(&stopped) })
	wantEqual(t, "replaced", list("ch1", "psid-1"), []*parley.ChannelOptin{deals, &stopped})
	wantEqual(t, "psid-2 untouched", list("ch1", "psid-2"), others[:1])
	wantEqual(t, "ch2 untouched", list("ch2", "psid-1"), others[1:])

	update(t, s, func(tx parley.Tx) error { return tx.DeleteChannel("biz", "ch1") })
	wantEqual(t, "deleted with the channel", len(list("ch1", "psid-1")), 0)
	wantEqual(t, "ch2 kept", list("ch2", "psid-1"), others[1:])
}
