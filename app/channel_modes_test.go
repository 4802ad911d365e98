package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// sendAs sends a business reply with a chosen send mode.
func (s *shop) sendAs(ba *app.BusinessActor, conv, text, mode string) (*app.MessageView, error) {
	s.n++
	m, _, err := s.a.BusinessSend(s.ctx, ba, conv, "", app.SendInput{ClientID: fmt.Sprintf("mode%d", s.n), Text: text, SendMode: mode})
	return m, err
}

func modeOf(t *testing.T, v *app.SendModesView, mode string) app.SendMode {
	t.Helper()
	for _, m := range v.Modes {
		if m.Mode == mode {
			return m
		}
	}
	t.Fatalf("no mode %s in %+v", mode, v.Modes)
	return app.SendMode{}
}

// TestChannelUpdateTags: outside Messenger's windows a non-promotional
// update goes out with the tag the sender chose — an agent's or an API
// caller's — and never by itself, nor for a promotional template; a
// mode the platform lacks, or one that is not open, is refused.
func TestChannelUpdateTags(t *testing.T) {
	s, g := channelShop(t)
	_, agent := s.agent("ann", "Ann", true)
	_, _, bot := botShopOn(t, s)
	ch := s.connect(parley.PlatformMessenger, pageID)
	s.hook(ch, fixture(t, "messenger", "text.json"))
	conv := s.onlyConversation()
	last := time.UnixMilli(1700000000000).UTC()
	s.clock.Set(last.Add(10 * 24 * time.Hour))

	modes, err := s.a.SendModes(s.ctx, agent, conv)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"confirmed_event_update", "post_purchase_update", "account_update"} {
		if sm := modeOf(t, modes, m); !sm.Open || sm.Until != nil || !strings.Contains(sm.Reason, "never promotional") {
			t.Fatalf("%s after 10 days: %+v", m, sm)
		}
	}
	if modeOf(t, modes, "standard").Open || modeOf(t, modes, "human_agent").Open {
		t.Fatalf("windows open after 10 days: %+v", modes.Modes)
	}
	// Never chosen by Parley: a reply without a mode is refused, and
	// the refusal says a tag may be chosen.
	if _, err := s.reply(agent, conv, "Your parcel left"); parley.ErrorCode(err) != parley.EWindowClosed || !strings.Contains(parley.ErrorMessage(err), "send_mode") {
		t.Fatalf("no mode after 10 days: %v", err)
	}
	if _, err := s.sendAs(agent, conv, "Your parcel left the warehouse", "post_purchase_update"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.Handover(s.ctx, s.admin, conv, "bot", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.botSay(bot, conv, app.SendInput{Text: "Your account was verified", SendMode: "account_update"}); err != nil {
		t.Fatalf("an API caller's tagged update: %v", err)
	}
	if _, err := s.sendAs(agent, conv, "The concert starts at 8 pm", "confirmed_event_update"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.sendAs(agent, conv, "Following up", "human_agent"); parley.ErrorCode(err) != parley.EWindowClosed {
		t.Fatalf("human agent after 10 days: %v", err)
	}
	if _, err := s.sendAs(agent, conv, "x", "promo_blast"); parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("unknown mode: %v", err)
	}
	// A promotional template (one of a topic) may not use a tag.
	deals := s.topic("Deals", "DEALS")
	tp := s.template("deals", "This week's deals", deals.ID)
	s.n++
	if _, _, err := s.a.BusinessSend(s.ctx, agent, conv, "", app.SendInput{ClientID: "promo-tag", Template: tp.ID, SendMode: "post_purchase_update"}); parley.ErrorCode(err) != parley.ETagNotAllowed {
		t.Fatalf("promotional template with a tag: %v", err)
	}
	// A Parley conversation has no send modes.
	_, parleyConv := s.customer("Cara")
	if _, err := s.sendAs(agent, parleyConv, "hello", "post_purchase_update"); parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("send_mode in a Parley conversation: %v", err)
	}

	if n, err := s.a.ChannelSendTick(s.ctx); err != nil || n != 3 {
		t.Fatalf("tick: %d %v", n, err)
	}
	calls := g.calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls", len(calls))
	}
	want := map[string]string{"Your parcel left the warehouse": "POST_PURCHASE_UPDATE", "Your account was verified": "ACCOUNT_UPDATE",
		"The concert starts at 8 pm": "CONFIRMED_EVENT_UPDATE"}
	for i, c := range calls {
		b := c.Body
		text := b["message"].(map[string]any)["text"].(string)
		if b["messaging_type"] != "MESSAGE_TAG" || b["tag"] != want[text] || b["recipient"].(map[string]any)["id"] != "6000000000000001" {
			t.Fatalf("call %d: %v", i, b)
		}
		delete(want, text)
	}
	if ms := s.bizHistory(conv); ms[len(ms)-1].Channel == nil || ms[len(ms)-1].Channel.Mode != "confirmed_event_update" {
		t.Fatalf("delivery: %+v", ms[len(ms)-1].Channel)
	}

}

// TestInstagramOnlyHumanAgent: Instagram takes only the HUMAN_AGENT tag:
// its send modes list no update tag and no notification messages, and
// choosing one is refused as a mode Instagram does not have.
func TestInstagramOnlyHumanAgent(t *testing.T) {
	s, g := channelShop(t)
	_, agent := s.agent("ann", "Ann", true)
	ch := s.connect(parley.PlatformInstagram, igID)
	s.hook(ch, fixture(t, "instagram", "story_mention.json"))
	conv := s.onlyConversation()
	s.clock.Set(time.UnixMilli(1700000001000).UTC().Add(3 * 24 * time.Hour))
	modes, err := s.a.SendModes(s.ctx, agent, conv)
	if err != nil {
		t.Fatal(err)
	}
	if len(modes.Modes) != 2 || modes.Modes[0].Mode != "standard" || modes.Modes[1].Mode != "human_agent" {
		t.Fatalf("Instagram modes: %+v", modes.Modes)
	}
	for _, m := range []string{"post_purchase_update", "account_update", "confirmed_event_update", "notification_message"} {
		if _, err := s.sendAs(agent, conv, "Your order shipped", m); parley.ErrorCode(err) != parley.EInvalid {
			t.Fatalf("Instagram %s: %v", m, err)
		}
	}
	if _, err := s.sendAs(agent, conv, "Your order shipped", "human_agent"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.ChannelSendTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	if calls := g.calls(); len(calls) != 1 || calls[0].Body["tag"] != "HUMAN_AGENT" {
		t.Fatalf("calls: %+v", calls)
	}
}

// optinBody is a Messenger notification messages webhook (opt-in when
// token is set, stop when status is).
func optinBody(at time.Time, title, token, status string, expires time.Time) []byte {
	o := `"type":"notification_messages","title":"` + title + `"`
	if token != "" {
		o += `,"notification_messages_token":"` + token + `","notification_messages_frequency":"WEEKLY","notification_messages_timezone":"Europe/Paris"`
	}
	if !expires.IsZero() {
		o += fmt.Sprintf(`,"token_expiry_timestamp":%d`, expires.UnixMilli())
	}
	if status != "" {
		o += `,"notification_messages_status":"` + status + `"`
	}
	return []byte(fmt.Sprintf(`{"object":"page","entry":[{"id":"%s","time":%d,"messaging":[{"sender":{"id":"6000000000000001"},"recipient":{"id":"%s"},"timestamp":%d,"optin":{%s}}]}]}`,
		pageID, at.UnixMilli(), pageID, at.UnixMilli(), o))
}

// TestChannelNotificationMessages: a person's notification messages
// opt-in to a topic is stored with its token and recorded as their
// consent; a campaign of that topic reaches them outside the window
// with the token (recipient by token), once per week; nobody may choose
// the token for a single message; a stop withdraws both, also for a
// message already queued; an expired token opens nothing.
func TestChannelNotificationMessages(t *testing.T) {
	s, g := channelShop(t)
	_, agent := s.agent("ann", "Ann", true)
	ch := s.connect(parley.PlatformMessenger, pageID)
	s.hook(ch, fixture(t, "messenger", "text.json"))
	conv := s.onlyConversation()
	contact := s.contactOf(conv)
	last := time.UnixMilli(1700000000000).UTC()
	deals := s.topic("Weekly deals", "DEALS")
	tp := s.template("deals", "This week's deals", deals.ID)
	expires := last.Add(90 * 24 * time.Hour)

	s.clock.Set(last.Add(time.Hour))
	if n := s.hook(ch, optinBody(last.Add(time.Hour), "Weekly deals", "NOTIF_TOKEN_1", "", expires)); n != 1 {
		t.Fatalf("opt-in applied %d", n)
	}
	if n := s.hook(ch, optinBody(last.Add(time.Hour), "Weekly deals", "NOTIF_TOKEN_1", "", expires)); n != 0 {
		t.Fatalf("a replayed opt-in applied %d", n)
	}
	if !s.optedIn(contact, deals.ID) {
		t.Fatal("the opt-in is not the contact's consent")
	}

	s.clock.Set(last.Add(3 * 24 * time.Hour))
	modes, err := s.a.SendModes(s.ctx, agent, conv)
	if err != nil {
		t.Fatal(err)
	}
	if nm := modeOf(t, modes, "notification_message"); !nm.Open || nm.Until == nil || !nm.Until.Equal(expires) || !strings.Contains(nm.Reason, "Weekly deals") {
		t.Fatalf("notification mode: %+v", nm)
	}
	if _, err := s.sendAs(agent, conv, "Deals!", "notification_message"); parley.ErrorCode(err) != parley.ETagNotAllowed {
		t.Fatalf("a single message with the token: %v", err)
	}
	c1, err := s.a.CreateCampaign(s.ctx, s.admin, app.CampaignInput{Name: "Week 1", Template: tp.ID, SendNow: true, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if v := runCampaign(t, s.a, s.admin, s.clock, c1.ID, time.Minute, 10); v.Sent != 1 {
		t.Fatalf("campaign: %+v", v)
	}
	if _, err := s.a.ChannelSendTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	calls := g.calls()
	if len(calls) != 1 {
		ms := s.bizHistory(conv)
		t.Fatalf("%d calls; last message %q %+v", len(calls), ms[len(ms)-1].Text, ms[len(ms)-1].Channel)
	}
	rcpt := calls[0].Body["recipient"].(map[string]any)
	if len(rcpt) != 1 || rcpt["notification_messages_token"] != "NOTIF_TOKEN_1" || calls[0].Body["messaging_type"] != nil ||
		calls[0].Body["message"].(map[string]any)["text"] != "This week's deals" {
		t.Fatalf("notification message: %v", calls[0].Body)
	}
	// Once a week: two days later the token is used up.
	s.clock.Set(last.Add(5 * 24 * time.Hour))
	modes, _ = s.a.SendModes(s.ctx, agent, conv)
	if nm := modeOf(t, modes, "notification_message"); nm.Open || !strings.Contains(nm.Reason, "one message per weekly") {
		t.Fatalf("used-up token: %+v", nm)
	}

	// A week on it opens again; a stop after the campaign queued its
	// message keeps that message from going out.
	s.clock.Set(last.Add(12 * 24 * time.Hour))
	if nm := modeOf(t, mustModes(t, s, agent, conv), "notification_message"); !nm.Open {
		t.Fatalf("a week later: %+v", nm)
	}
	c2, err := s.a.CreateCampaign(s.ctx, s.admin, app.CampaignInput{Name: "Week 2", Template: tp.ID, SendNow: true, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if v := runCampaign(t, s.a, s.admin, s.clock, c2.ID, time.Minute, 10); v.Sent != 1 {
		t.Fatalf("second campaign: %+v", v)
	}
	if n := s.hook(ch, optinBody(s.clock.Now(), "Weekly deals", "", "STOP NOTIFICATIONS", time.Time{})); n != 1 {
		t.Fatalf("stop applied %d", n)
	}
	if s.optedIn(contact, deals.ID) {
		t.Fatal("the stop did not withdraw the consent")
	}
	if _, err := s.a.ChannelSendTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	if calls := g.calls(); len(calls) != 1 {
		t.Fatalf("a message went out after the stop: %d calls", len(calls))
	}
	ms := s.bizHistory(conv)
	if d := ms[len(ms)-1].Channel; d == nil || d.Status != "failed" || !strings.Contains(d.Error, "stopped") {
		t.Fatalf("the queued message after the stop: %+v", d)
	}
	if nm := modeOf(t, mustModes(t, s, agent, conv), "notification_message"); nm.Open || !strings.Contains(nm.Reason, "stopped") {
		t.Fatalf("after the stop: %+v", nm)
	}

	// Opted in again, the token expires: nothing opens after it.
	// An opt-in older than the stop (a late delivery) changes nothing.
	if n := s.hook(ch, optinBody(last.Add(2*time.Hour), "Weekly deals", "NOTIF_TOKEN_1", "", expires)); n != 0 || s.optedIn(contact, deals.ID) {
		t.Fatalf("a late opt-in applied %d", n)
	}
	s.hook(ch, optinBody(s.clock.Now().Add(time.Minute), "Weekly deals", "NOTIF_TOKEN_2", "", last.Add(40*24*time.Hour)))
	if !s.optedIn(contact, deals.ID) {
		t.Fatal("the new opt-in is not the contact's consent")
	}
	s.clock.Set(last.Add(41 * 24 * time.Hour))
	if nm := modeOf(t, mustModes(t, s, agent, conv), "notification_message"); nm.Open || !strings.Contains(nm.Reason, "expired") {
		t.Fatalf("after the expiry: %+v", nm)
	}
	c3, err := s.a.CreateCampaign(s.ctx, s.admin, app.CampaignInput{Name: "Late", Template: tp.ID, SendNow: true, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if v := runCampaign(t, s.a, s.admin, s.clock, c3.ID, time.Minute, 10); v.Sent != 0 || v.Skipped[parley.EWindowClosed] != 1 {
		t.Fatalf("campaign after the expiry: %+v", v)
	}
}

func mustModes(t *testing.T, s *shop, ba *app.BusinessActor, conv string) *app.SendModesView {
	t.Helper()
	v, err := s.a.SendModes(s.ctx, ba, conv)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestChannelPause: a paused channel refuses sends with channel_disabled
// and closes every send mode, holds the replies queued before the pause
// (counted, not sent), still takes its webhooks, keeps an automated
// message in Parley marked failed, and sends the held replies once
// resumed. Pausing twice changes nothing.
func TestChannelPause(t *testing.T) {
	s, g := channelShop(t)
	_, agent := s.agent("ann", "Ann", true)
	ch := s.connect(parley.PlatformMessenger, pageID)
	s.hook(ch, fixture(t, "messenger", "text.json"))
	conv := s.onlyConversation()
	s.clock.Set(time.UnixMilli(1700000000000).UTC().Add(time.Hour))
	if _, err := s.reply(agent, conv, "Queued before the pause"); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	v, err := s.a.UpdateChannel(s.ctx, s.admin, ch.ID, app.ChannelChange{Disabled: &yes})
	if err != nil {
		t.Fatal(err)
	}
	if !v.Disabled || v.Status != app.ChannelStatusDisabled || v.DisabledAt == nil || v.Queued != 1 {
		t.Fatalf("paused: %+v", v)
	}
	if _, err := s.a.UpdateChannel(s.ctx, agent, ch.ID, app.ChannelChange{Disabled: &no}); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("an agent resumed the channel: %v", err)
	}
	if _, err := s.a.UpdateChannel(s.ctx, s.admin, ch.ID, app.ChannelChange{Disabled: &yes}); err != nil {
		t.Fatalf("pausing again: %v", err)
	}
	if _, err := s.reply(agent, conv, "While paused"); parley.ErrorCode(err) != parley.EChannelDisabled {
		t.Fatalf("a reply while paused: %v", err)
	}
	if _, err := s.sendAs(agent, conv, "Tagged while paused", "post_purchase_update"); parley.ErrorCode(err) != parley.EChannelDisabled {
		t.Fatalf("a tagged reply while paused: %v", err)
	}
	modes := mustModes(t, s, agent, conv)
	if modes.Channel == nil || !modes.Channel.Disabled {
		t.Fatalf("send modes do not say paused: %+v", modes.Channel)
	}
	for _, m := range modes.Modes {
		if m.Open || !strings.Contains(m.Reason, "paused") {
			t.Fatalf("mode while paused: %+v", m)
		}
	}
	if n, err := s.a.ChannelSendTick(s.ctx); err != nil || n != 0 || len(g.calls()) != 0 {
		t.Fatalf("the held outbox was sent: %d %v %d calls", n, err, len(g.calls()))
	}
	// Webhooks still come in while paused.
	in := []byte(`{"object":"page","entry":[{"id":"` + pageID + `","time":1700003600000,"messaging":[{"sender":{"id":"6000000000000001"},"recipient":{"id":"` + pageID + `"},"timestamp":1700003600000,"message":{"mid":"m_paused_1","text":"Are you there?"}}]}]}`)
	if n := s.hook(ch, in); n != 1 {
		t.Fatalf("webhook while paused applied %d", n)
	}
	if ms := s.bizHistory(conv); ms[len(ms)-1].Text != "Are you there?" {
		t.Fatalf("the message in while paused is not stored: %q", ms[len(ms)-1].Text)
	}
	if v := s.health(ch.ID); v.Status != app.ChannelStatusDisabled || v.Queued != 1 || v.LastInboundAt == nil {
		t.Fatalf("health while paused: %+v", v)
	}
	// An automated message (the CSAT request on resolve) is not refused:
	// it stays in Parley, marked failed, and never goes out.
	s.settings(func(st *app.BusinessSettings) { st.CSAT = true })
	resolved := "resolved"
	if _, err := s.a.UpdateItem(s.ctx, agent, conv, app.ItemChange{Status: &resolved}); err != nil {
		t.Fatalf("resolving while paused: %v", err)
	}
	ms := s.bizHistory(conv)
	if d := ms[len(ms)-1].Channel; len(ms[len(ms)-1].QuickReplies) != 5 || d == nil || d.Status != "failed" || !strings.Contains(d.Error, "paused") {
		t.Fatalf("the CSAT request while paused: %+v", ms[len(ms)-1])
	}

	v, err = s.a.UpdateChannel(s.ctx, s.admin, ch.ID, app.ChannelChange{Disabled: &no})
	if err != nil || v.Disabled || v.Status != app.ChannelStatusOK || v.DisabledAt != nil {
		t.Fatalf("resumed: %+v %v", v, err)
	}
	if n, err := s.a.ChannelSendTick(s.ctx); err != nil || n != 1 {
		t.Fatalf("tick after the resume: %d %v", n, err)
	}
	if calls := g.calls(); len(calls) != 1 || calls[0].Body["message"].(map[string]any)["text"] != "Queued before the pause" {
		t.Fatalf("calls after the resume: %+v", calls)
	}
	if _, err := s.reply(agent, conv, "Back"); err != nil {
		t.Fatal(err)
	}
	rows, _, err := s.a.AuditLog(s.ctx, app.AuditQuery{Action: app.AuditChannelUpdate})
	if err != nil {
		t.Fatal(err)
	}
	changes := 0
	for _, r := range rows {
		if r.Details["changed"] == "disabled" {
			changes++
		}
	}
	if changes != 2 {
		t.Fatalf("%d audited pause/resume, want 2: %+v", changes, rows)
	}
}

// TestCampaignWaitsForPausedChannel: a campaign's recipient whose channel
// is paused waits (pending) rather than being skipped or failed, and is
// sent once the channel is resumed.
func TestCampaignWaitsForPausedChannel(t *testing.T) {
	s, g := channelShop(t)
	ch := s.connect(parley.PlatformMessenger, pageID)
	s.hook(ch, fixture(t, "messenger", "text.json"))
	last := time.UnixMilli(1700000000000).UTC()
	deals := s.topic("Weekly deals", "DEALS")
	tp := s.template("deals", "This week's deals", deals.ID)
	s.clock.Set(last.Add(time.Hour))
	s.hook(ch, optinBody(last.Add(time.Hour), "Weekly deals", "NOTIF_TOKEN_1", "", last.Add(90*24*time.Hour)))
	yes, no := true, false
	if _, err := s.a.UpdateChannel(s.ctx, s.admin, ch.ID, app.ChannelChange{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	c, err := s.a.CreateCampaign(s.ctx, s.admin, app.CampaignInput{Name: "Paused", Template: tp.ID, SendNow: true, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if v := runCampaign(t, s.a, s.admin, s.clock, c.ID, time.Minute, 4); v.Sent != 0 || v.Pending != 1 || v.Failed != 0 || len(v.Skipped) != 0 {
		t.Fatalf("campaign while paused: %+v", v)
	}
	if _, err := s.a.UpdateChannel(s.ctx, s.admin, ch.ID, app.ChannelChange{Disabled: &no}); err != nil {
		t.Fatal(err)
	}
	if v := runCampaign(t, s.a, s.admin, s.clock, c.ID, 5*time.Minute, 4); v.Sent != 1 || v.Status != parley.CampaignDone {
		t.Fatalf("campaign after the resume: %+v", v)
	}
	if _, err := s.a.ChannelSendTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	if calls := g.calls(); len(calls) != 1 || calls[0].Body["messaging_type"] != "RESPONSE" {
		t.Fatalf("calls: %+v", calls)
	}
}

// TestChannelOptinFixture replays the documented opt-in webhook: the
// opt-in names its topic by title, the stop (later in time, first in the
// body) by token only; the checkbox plugin's opt-in is skipped.
func TestChannelOptinFixture(t *testing.T) {
	s, _ := channelShop(t)
	_, agent := s.agent("ann", "Ann", true)
	ch := s.connect(parley.PlatformMessenger, pageID)
	s.hook(ch, fixture(t, "messenger", "text.json"))
	conv := s.onlyConversation()
	deals := s.topic("Weekly deals", "DEALS")
	if n := s.hook(ch, fixture(t, "messenger", "optin.json")); n != 2 {
		t.Fatalf("applied %d, want the opt-in and the stop", n)
	}
	if s.optedIn(s.contactOf(conv), deals.ID) {
		t.Fatal("opted in after the stop")
	}
	if nm := modeOf(t, mustModes(t, s, agent, conv), "notification_message"); nm.Open || !strings.Contains(nm.Reason, `"Weekly deals": stopped`) {
		t.Fatalf("after the fixture: %+v", nm)
	}
	if n := s.hook(ch, fixture(t, "messenger", "optin.json")); n != 0 {
		t.Fatalf("the replay applied %d", n)
	}
}
