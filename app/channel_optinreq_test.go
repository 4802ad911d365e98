package app_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// askOptin sends an opt-in request as ba.
func (s *shop) askOptin(ba *app.BusinessActor, conv string, req *app.OptinRequestInput) (*app.MessageView, error) {
	s.n++
	m, _, err := s.a.BusinessSend(s.ctx, ba, conv, "", app.SendInput{ClientID: fmt.Sprintf("optin%d", s.n),
		SendMode: "optin_request", OptinRequest: req})
	return m, err
}

// TestChannelOptinRequest: within Messenger's 24-hour window an agent
// asks the person to opt in to a topic; the request is a message of the
// conversation (its words, its request, its image) that goes out
// through the outbox as the notification_messages template with the
// topic id as payload and the business's time zone; the person's answer
// to that payload records their consent. Outside the window it is
// refused (window_closed); an unknown topic or a bad request is 422;
// Instagram refuses it (channel_unsupported).
func TestChannelOptinRequest(t *testing.T) {
	s, g := channelShop(t)
	_, agent := s.agent("ann", "Ann", true)
	ch := s.connect(parley.PlatformMessenger, pageID)
	s.hook(ch, fixture(t, "messenger", "text.json"))
	conv := s.onlyConversation()
	contact := s.contactOf(conv)
	last := time.UnixMilli(1700000000000).UTC()
	deals := s.topic("Weekly deals", "DEALS")
	s.settings(func(st *app.BusinessSettings) {
		st.Hours = &app.Hours{TimeZone: "Europe/Paris", Days: map[string][]string{"mon": {"09:00-17:00"}}}
	})
	s.clock.Set(last.Add(2 * time.Hour))

	modes := mustModes(t, s, agent, conv)
	if or := modeOf(t, modes, "optin_request"); !or.Open || or.Until == nil || !or.Until.Equal(last.Add(24*time.Hour)) {
		t.Fatalf("optin_request within the window: %+v", or)
	}
	for _, tc := range []struct {
		req   *app.OptinRequestInput
		field string
	}{
		{&app.OptinRequestInput{Topic: "no-such-topic", Title: "Deals", Frequency: "WEEKLY"}, "optin_request.topic"},
		{&app.OptinRequestInput{Topic: deals.ID, Title: strings.Repeat("x", 66), Frequency: "WEEKLY"}, "optin_request.title"},
		{&app.OptinRequestInput{Topic: deals.ID, Title: " ", Frequency: "WEEKLY"}, "optin_request.title"},
		{&app.OptinRequestInput{Topic: deals.ID, Title: "Deals", Frequency: "HOURLY"}, "optin_request.frequency"},
		{&app.OptinRequestInput{Topic: deals.ID, Title: "Deals", Frequency: "WEEKLY", Image: "no-such-media"}, "optin_request.image"},
	} {
		_, err := s.askOptin(agent, conv, tc.req)
		var pe *parley.Error
		if parley.ErrorCode(err) != parley.EInvalid || !errorsAs(err, &pe) || pe.Field != tc.field {
			t.Fatalf("%+v: %v", tc.req, err)
		}
	}
	// The mode without its request, or the request with text, is 422.
	if _, err := s.sendAs(agent, conv, "Want deals?", "optin_request"); parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("optin_request with text: %v", err)
	}
	img := s.uploadPNG(agent)
	m, err := s.askOptin(agent, conv, &app.OptinRequestInput{Topic: deals.ID, Title: "Get our weekly deals", Frequency: "weekly", Image: img})
	if err != nil {
		t.Fatal(err)
	}
	if m.OptinRequest == nil || m.OptinRequest.TopicID != deals.ID || m.OptinRequest.Topic != "Weekly deals" || m.OptinRequest.Frequency != "WEEKLY" ||
		m.OptinRequest.TimeZone != "Europe/Paris" || len(m.Attachments) != 1 || m.Attachments[0].ID != img ||
		m.Text != "Asked to get Weekly deals updates weekly: Get our weekly deals" {
		t.Fatalf("the request as sent: %+v", m)
	}
	if n, err := s.a.ChannelSendTick(s.ctx); err != nil || n != 1 {
		t.Fatalf("tick: %d %v", n, err)
	}
	calls := g.calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	b := calls[0].Body
	att := b["message"].(map[string]any)["attachment"].(map[string]any)
	p := att["payload"].(map[string]any)
	if b["messaging_type"] != "RESPONSE" || b["recipient"].(map[string]any)["id"] != "6000000000000001" || att["type"] != "template" ||
		p["template_type"] != "notification_messages" || p["title"] != "Get our weekly deals" || p["payload"] != deals.ID ||
		p["notification_messages_frequency"] != "WEEKLY" || p["notification_messages_timezone"] != "Europe/Paris" {
		t.Fatalf("Send API call: %v", b)
	}
	// The image goes by the channel's signed link, which opens it.
	u, err := url.Parse(p["image_url"].(string))
	if err != nil || !strings.HasPrefix(u.String(), "https://parley.example/hooks/meta/"+ch.ID+"/media/"+img+"?") {
		t.Fatalf("image_url %v", p["image_url"])
	}
	if f, err := s.a.OpenChannelMedia(s.ctx, ch.ID, img, u.Query().Get("exp"), u.Query().Get("sig")); err != nil {
		t.Fatalf("the image link: %v", err)
	} else {
		f.Close()
	}
	ms := s.bizHistory(conv)
	if got := ms[len(ms)-1]; got.OptinRequest == nil || got.Channel == nil || got.Channel.Status != "sent" || got.Channel.Mode != "optin_request" {
		t.Fatalf("the request in the history: %+v %+v", got, got.Channel)
	}
	if s.optedIn(contact, deals.ID) {
		t.Fatal("opted in before answering")
	}
	// The person accepts: Meta's opt-in carries the request's payload.
	answer := []byte(`{"object":"page","entry":[{"id":"` + pageID + `","time":1700007300000,"messaging":[{"sender":{"id":"6000000000000001"},"recipient":{"id":"` + pageID + `"},"timestamp":1700007300000,` +
		`"optin":{"type":"notification_messages","payload":"` + deals.ID + `","title":"Get our weekly deals","notification_messages_token":"NOTIF_TOKEN_9","notification_messages_frequency":"WEEKLY","notification_messages_timezone":"Europe/Paris"}}]}]}`)
	if n := s.hook(ch, answer); n != 1 {
		t.Fatalf("the answer applied %d", n)
	}
	if !s.optedIn(contact, deals.ID) {
		t.Fatal("the answer to the request is not the contact's consent")
	}

	// Outside the window: closed, and refused.
	s.clock.Set(last.Add(25 * time.Hour))
	if or := modeOf(t, mustModes(t, s, agent, conv), "optin_request"); or.Open || !strings.Contains(or.Reason, "window closed") {
		t.Fatalf("optin_request after the window: %+v", or)
	}
	if _, err := s.askOptin(agent, conv, &app.OptinRequestInput{Topic: deals.ID, Title: "Deals again", Frequency: "DAILY"}); parley.ErrorCode(err) != parley.EWindowClosed {
		t.Fatalf("a request after the window: %v", err)
	}

	// Instagram has no notification messages.
	ig := s.connect(parley.PlatformInstagram, igID)
	s.hook(ig, fixture(t, "instagram", "story_mention.json"))
	var igConv string
	page, err := s.a.Inbox(s.ctx, s.admin, app.InboxQuery{View: "all"})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range page.Items {
		if it.ConversationID != conv {
			igConv = it.ConversationID
		}
	}
	s.clock.Set(time.UnixMilli(1700000001000).UTC().Add(time.Hour))
	if _, err := s.askOptin(agent, igConv, &app.OptinRequestInput{Topic: deals.ID, Title: "Deals", Frequency: "WEEKLY"}); parley.ErrorCode(err) != parley.EChannelUnsupported {
		t.Fatalf("a request on Instagram: %v", err)
	}
	if n, _ := s.a.ChannelSendTick(s.ctx); n != 0 || len(g.calls()) != 1 {
		t.Fatalf("refused requests went out: %d %d", n, len(g.calls()))
	}
}
