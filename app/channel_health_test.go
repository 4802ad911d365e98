package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/channel"
)

// health is the channel as the business's admins get and list it.
func (s *shop) health(id string) *app.ChannelView {
	s.t.Helper()
	v, err := s.a.Channel(s.ctx, s.admin, id)
	if err != nil {
		s.t.Fatal(err)
	}
	list, err := s.a.Channels(s.ctx, s.admin)
	if err != nil || len(list) != 1 || list[0].Status != v.Status || list[0].LastError != v.LastError || list[0].Queued != v.Queued {
		s.t.Fatalf("the list disagrees with the channel: %+v %v", list, err)
	}
	return v
}

func TestChannelHealth(t *testing.T) {
	s, g := channelShop(t)
	_, agent := s.agent("ann", "Ann", true)
	ch := s.connect(parley.PlatformMessenger, pageID)
	if v := s.health(ch.ID); v.Status != app.ChannelStatusOK || v.LastError != "" || v.LastInboundAt != nil || v.LastOutboundAt != nil || v.Queued != 0 {
		t.Fatalf("a new channel: %+v", v)
	}
	body := fixture(t, "messenger", "text.json")
	s.hook(ch, body)
	v := s.health(ch.ID)
	if v.Status != app.ChannelStatusOK || v.LastInboundAt == nil || !v.LastInboundAt.Equal(s.clock.Now()) {
		t.Fatalf("after an inbound message: %+v", v)
	}

	// A bad signature: failing, with the reason and its time.
	s.clock.Advance(time.Second)
	if _, err := s.a.ChannelWebhook(s.ctx, ch.ID, body, channel.Sign("another-secret", body)); parley.ErrorCode(err) != parley.EUnauthorized {
		t.Fatal(err)
	}
	v = s.health(ch.ID)
	if v.Status != app.ChannelStatusFailing || !strings.Contains(v.LastError, "signature") || v.LastErrorAt == nil || !v.LastErrorAt.Equal(s.clock.Now()) {
		t.Fatalf("after a bad signature: %+v", v)
	}
	// A refused handshake too.
	s.clock.Advance(time.Second)
	if _, err := s.a.VerifyChannelWebhook(s.ctx, ch.ID, "subscribe", "wrong-token", "1"); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatal(err)
	}
	if v = s.health(ch.ID); v.Status != app.ChannelStatusFailing || !strings.Contains(v.LastError, "handshake") {
		t.Fatalf("after a refused handshake: %+v", v)
	}

	// A reply waits in the outbox (counted), then the platform refuses it.
	conv := s.onlyConversation()
	s.clock.Set(time.UnixMilli(1700000000000).Add(time.Minute))
	if _, err := s.reply(agent, conv, "One moment"); err != nil {
		t.Fatal(err)
	}
	if v = s.health(ch.ID); v.Queued != 1 {
		t.Fatalf("queued: %+v", v)
	}
	g.answer(400, `{"error":{"message":"Error validating access token: Session has expired.","type":"OAuthException","code":190}}`)
	if n, err := s.a.ChannelSendTick(s.ctx); err != nil || n != 1 {
		t.Fatalf("tick: %d %v", n, err)
	}
	v = s.health(ch.ID)
	if v.Status != app.ChannelStatusFailing || !strings.HasPrefix(v.LastError, "send: ") || !strings.Contains(v.LastError, "Session has expired") ||
		!v.LastErrorAt.Equal(s.clock.Now()) || v.Queued != 0 || v.LastOutboundAt != nil {
		t.Fatalf("after a refused send: %+v", v)
	}

	// The next send goes out: ok again, the error kept for the record.
	s.clock.Advance(time.Second)
	if _, err := s.reply(agent, conv, "Sorry about that"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.a.ChannelSendTick(s.ctx); err != nil || n != 1 {
		t.Fatalf("tick: %d %v", n, err)
	}
	v = s.health(ch.ID)
	if v.Status != app.ChannelStatusOK || v.LastOutboundAt == nil || !v.LastOutboundAt.Equal(s.clock.Now()) || v.Queued != 0 ||
		!strings.Contains(v.LastError, "Session has expired") {
		t.Fatalf("after a sent reply: %+v", v)
	}
}
