package storetest

import (
	"testing"

	"github.com/parleyhq/parley"
)

// testChannelHealth: NoteChannel records the last error with its time and
// the last inbound and outbound times, each moving only forward; a note
// without an error keeps the last one; a gone channel is no error; the
// queued sends are counted per channel, and updating a channel keeps its
// health.
func testChannelHealth(t *testing.T, s parley.Store) {
	mkUsers(t, s, "biz")
	update(t, s, func(tx parley.Tx) error {
		if err := tx.CreateChannel(newChannel("ch1", "biz", parley.PlatformMessenger, "page-1")); err != nil {
			return err
		}
		return tx.CreateChannel(newChannel("ch2", "biz", parley.PlatformWhatsApp, "phone-1"))
	})
	note := func(id string, n parley.ChannelNote) {
		t.Helper()
		update(t, s, func(tx parley.Tx) error { return tx.NoteChannel(id, n) })
	}
	get := func(id string) *parley.Channel {
		t.Helper()
		return view(t, s, func(tx parley.Tx) (*parley.Channel, error) { return tx.Channel(id) })
	}
	c := get("ch1")
	if c.LastError != "" || !c.LastErrorAt.IsZero() || !c.LastInboundAt.IsZero() || !c.LastOutboundAt.IsZero() {
		t.Fatalf("a new channel has health %q %v %v %v", c.LastError, c.LastErrorAt, c.LastInboundAt, c.LastOutboundAt)
	}
	note("ch1", parley.ChannelNote{InboundAt: at(10)})
	note("ch1", parley.ChannelNote{OutboundAt: at(12)})
	note("ch1", parley.ChannelNote{Error: "send: token expired", ErrorAt: at(15)})
	note("ch1", parley.ChannelNote{InboundAt: at(5), OutboundAt: at(6)})        // older: kept out
	note("ch1", parley.ChannelNote{Error: "an older failure", ErrorAt: at(14)}) // older: kept out
	note("ch1", parley.ChannelNote{Error: "", ErrorAt: at(30)})                 // no error: nothing
	note("nope", parley.ChannelNote{Error: "x", ErrorAt: at(1)})
	c = get("ch1")
	wantEqual(t, "last error", c.LastError, "send: token expired")
	wantEqual(t, "last error at", c.LastErrorAt, at(15))
	wantEqual(t, "last inbound", c.LastInboundAt, at(10))
	wantEqual(t, "last outbound", c.LastOutboundAt, at(12))
	note("ch1", parley.ChannelNote{Error: "attachment fetch: 404", ErrorAt: at(20), OutboundAt: at(21)})
	c.Name, c.UpdatedAt = "Renamed", at(22)
	update(t, s, func(tx parley.Tx) error { return tx.UpdateChannel(c) })
	c = get("ch1")
	wantEqual(t, "newer error", c.LastError, "attachment fetch: 404")
	wantEqual(t, "newer error at", c.LastErrorAt, at(20))
	wantEqual(t, "newer outbound", c.LastOutboundAt, at(21))
	wantEqual(t, "renamed", c.Name, "Renamed")
	if other := get("ch2"); other.LastError != "" || !other.LastInboundAt.IsZero() {
		t.Fatalf("another channel got the health: %q %v", other.LastError, other.LastInboundAt)
	}
	listed := view(t, s, func(tx parley.Tx) ([]*parley.Channel, error) { return tx.Channels("biz") })
	wantEqual(t, "listed health", listed[0].LastErrorAt, at(20))

	update(t, s, func(tx parley.Tx) error {
		for i, m := range []*parley.ChannelMessage{
			{MessageID: "m1", ChannelID: "ch1", ConversationID: "conv1", Direction: parley.ChannelOut, Status: parley.ChannelQueued},
			{MessageID: "m2", ChannelID: "ch1", ConversationID: "conv1", Direction: parley.ChannelOut, Status: parley.ChannelQueued},
			{MessageID: "m3", ChannelID: "ch1", ConversationID: "conv1", Direction: parley.ChannelOut, Status: parley.ChannelSent},
			{MessageID: "m4", ChannelID: "ch1", ConversationID: "conv1", Direction: parley.ChannelIn, Status: parley.ChannelDelivered},
			{MessageID: "m5", ChannelID: "ch2", ConversationID: "conv2", Direction: parley.ChannelOut, Status: parley.ChannelQueued},
		} {
			m.CreatedAt, m.UpdatedAt, m.NextAttemptAt = at(i+1), at(i+1), at(i+1)
			if err := tx.CreateChannelMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	wantEqual(t, "ch1 queued", view(t, s, func(tx parley.Tx) (int, error) { return tx.QueuedChannelSends("ch1") }), 2)
	wantEqual(t, "ch2 queued", view(t, s, func(tx parley.Tx) (int, error) { return tx.QueuedChannelSends("ch2") }), 1)
	wantEqual(t, "unknown queued", view(t, s, func(tx parley.Tx) (int, error) { return tx.QueuedChannelSends("nope") }), 0)
}
