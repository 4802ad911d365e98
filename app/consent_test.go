package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// topic creates a topic with a keyword.
func (s *shop) topic(name, keyword string) *app.TopicView {
	s.t.Helper()
	tv, err := s.a.SaveTopic(s.ctx, s.admin, "", app.TopicInput{Name: &name, Keyword: &keyword})
	if err != nil {
		s.t.Fatal(err)
	}
	return tv
}

// template creates and approves a template.
func (s *shop) template(name, body, topic string) *app.TemplateView {
	s.t.Helper()
	tv, err := s.a.SaveTemplate(s.ctx, s.admin, "", app.TemplateInput{Name: &name, Body: &body, Topic: &topic, Status: ptr(parley.TemplateApproved)})
	if err != nil {
		s.t.Fatal(err)
	}
	return tv
}

func (s *shop) contactOf(conv string) string { return s.item(conv).Contact.ID }

func (s *shop) optedIn(contact, topic string) bool {
	s.t.Helper()
	v, err := s.a.ContactConsent(s.ctx, s.admin, contact)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, tc := range v.Topics {
		if tc.Topic.ID == topic {
			return tc.OptedIn
		}
	}
	return false
}

// sendTemplate sends a template in a conversation as the business.
func (s *shop) sendTemplate(conv, template string) (*app.MessageView, error) {
	s.n++
	m, _, err := s.a.BusinessSend(s.ctx, s.admin, conv, "", app.SendInput{ClientID: fmt.Sprintf("t%d", s.n), Template: template})
	return m, err
}

// countText counts the messages of a conversation that contain sub.
func (s *shop) countText(actor *app.Actor, conv, sub string) int {
	return strings.Count(s.history(actor, conv), sub)
}

// TestStopInEveryCasing: every default stop word in every casing (and
// with punctuation) opts out of every topic; the confirmation goes out
// once however often STOP is repeated, and again only after opting in.
func TestStopInEveryCasing(t *testing.T) {
	s := newShop(t)
	offers := s.topic("Offers", "join")
	news := s.topic("News", "news")
	casings := func(w string) []string {
		title := strings.ToUpper(w[:1]) + strings.ToLower(w[1:])
		mixed := []rune(strings.ToLower(w))
		for i := range mixed {
			if i%2 == 1 {
				mixed[i] = []rune(strings.ToUpper(string(mixed[i])))[0]
			}
		}
		return []string{strings.ToUpper(w), strings.ToLower(w), title, string(mixed), "  " + strings.ToLower(w) + "! ", w + "."}
	}
	for _, word := range app.DefaultStopKeywords {
		for i, text := range casings(word) {
			cust, conv := s.customer("Ann")
			contact := s.contactOf(conv)
			s.say(cust, conv, "JOIN")
			s.say(cust, conv, "news")
			if !s.optedIn(contact, offers.ID) || !s.optedIn(contact, news.ID) {
				t.Fatalf("%q: keywords did not opt in", text)
			}
			s.say(cust, conv, text)
			if s.optedIn(contact, offers.ID) || s.optedIn(contact, news.ID) {
				t.Fatalf("%q (casing %d): still opted in", text, i)
			}
			if n := s.countText(cust, conv, "You are unsubscribed"); n != 1 {
				t.Fatalf("%q: %d confirmations, want 1", text, n)
			}
			s.say(cust, conv, text) // repeated: no second confirmation
			s.say(cust, conv, strings.ToLower(word))
			if n := s.countText(cust, conv, "You are unsubscribed"); n != 1 {
				t.Fatalf("%q repeated: %d confirmations, want 1", text, n)
			}
		}
	}
	// Opting in again and stopping again confirms again.
	cust, conv := s.customer("Bo")
	s.say(cust, conv, "join")
	s.say(cust, conv, "stop")
	s.say(cust, conv, "Join")
	s.say(cust, conv, "ArrÊt")
	if n := s.countText(cust, conv, "You are unsubscribed"); n != 2 {
		t.Fatalf("%d confirmations after opt-in and a second STOP, want 2", n)
	}
	// A word that only contains STOP is no opt-out.
	s.say(cust, conv, "join")
	s.say(cust, conv, "please don't stop the offers")
	if !s.optedIn(s.contactOf(conv), offers.ID) {
		t.Fatal("a sentence with stop in it opted out")
	}
	// Configured words replace the defaults.
	s.settings(func(st *app.BusinessSettings) { st.Messaging.StopKeywords = []string{"basta"} })
	s.say(cust, conv, "stop")
	if !s.optedIn(s.contactOf(conv), offers.ID) {
		t.Fatal("stop opted out though the business's stop words are only basta")
	}
	s.say(cust, conv, "BASTA")
	if s.optedIn(s.contactOf(conv), offers.ID) {
		t.Fatal("basta did not opt out")
	}
}

// TestConsentChannelsAndProof: quick reply, keyword, postback, the form
// link, the API and the contact's own settings each record their channel
// and proof; opt-outs from settings and the API hold.
func TestConsentChannelsAndProof(t *testing.T) {
	s := newShop(t)
	offers := s.topic("Offers", "JOIN")
	restock := s.topic("Restock", "")
	cust, conv := s.customer("Cy")
	contact := s.contactOf(conv)

	// A quick reply with the topic's payload.
	m := s.say(cust, conv, "Yes please")
	_ = m
	s.n++
	qr, _, err := s.a.Send(s.ctx, cust, conv, app.SendInput{ClientID: "qr1", Text: "Yes please", QuickReply: offers.Payload})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.a.ContactConsent(s.ctx, s.admin, contact)
	if err != nil {
		t.Fatal(err)
	}
	if tc := v.Topics[0]; tc.Topic.ID != offers.ID || !tc.OptedIn || tc.Channel != parley.ConsentQuickReply || tc.Proof != qr.ID {
		t.Fatalf("quick reply consent: %+v (message %s)", tc, qr.ID)
	}

	// A postback button of a business message.
	biz, _, err := s.a.BusinessSend(s.ctx, s.admin, conv, "", app.SendInput{ClientID: "pb", Text: "Restock alerts?",
		Buttons: []app.Button{{Type: "postback", Title: "Subscribe", Payload: restock.Payload}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.a.Postback(s.ctx, cust, conv, biz.ID, restock.Payload); err != nil {
		t.Fatal(err)
	}
	if !s.optedIn(contact, restock.ID) {
		t.Fatal("postback did not opt in")
	}

	// The customer's settings list and opt out.
	subs, err := s.a.MySubscriptions(s.ctx, cust)
	if err != nil || len(subs) != 1 || len(subs[0].Topics) != 2 {
		t.Fatalf("subscriptions: %+v %v", subs, err)
	}
	if _, err := s.a.Unsubscribe(s.ctx, cust, "acme", restock.ID, "req-1"); err != nil {
		t.Fatal(err)
	}
	if s.optedIn(contact, restock.ID) || !s.optedIn(contact, offers.ID) {
		t.Fatal("unsubscribing from one topic changed the wrong ones")
	}
	if _, err := s.a.Unsubscribe(s.ctx, cust, "acme", "", "req-2"); err != nil {
		t.Fatal(err)
	}
	if s.optedIn(contact, offers.ID) {
		t.Fatal("unsubscribing from everything left offers")
	}

	// The form link: anyone may read it; a signed-in person opts in, a
	// new contact is made for someone the business did not know.
	f, err := s.a.ConsentFormInfo(s.ctx, offers.FormToken)
	if err != nil || f.Topic.Name != "Offers" || f.Business.Handle != "acme" {
		t.Fatalf("form info: %+v %v", f, err)
	}
	_, err = s.a.ConsentFormInfo(s.ctx, "nope")
	wantCode(t, "", err, parley.ENotFound)
	stranger := s.register("stranger", "Stranger", parley.KindPerson)
	if _, err := s.a.ConsentFormSubmit(s.ctx, stranger, offers.FormToken, "req-3"); err != nil {
		t.Fatal(err)
	}
	page, err := s.a.Contacts(s.ctx, s.admin, "Stranger", "", 10)
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("form contact: %+v %v", page, err)
	}
	v, _ = s.a.ContactConsent(s.ctx, s.admin, page.Items[0].ID)
	if tc := v.Topics[0]; !tc.OptedIn || tc.Channel != parley.ConsentForm || tc.Proof != "req-3" {
		t.Fatalf("form consent: %+v", tc)
	}
	_, err = s.a.ConsentFormSubmit(s.ctx, s.biz, offers.FormToken, "req-4")
	wantCode(t, "", err, parley.EForbidden)

	// The API, by an agent: in, then out of everything; the records keep
	// every change, newest first.
	_, agent := s.agent("dee", "Dee", true)
	if _, err := s.a.SetContactConsent(s.ctx, agent, contact, offers.ID, true, "req-5"); err != nil {
		t.Fatal(err)
	}
	v, err = s.a.SetContactConsent(s.ctx, agent, contact, "", false, "req-6")
	if err != nil {
		t.Fatal(err)
	}
	if v.StoppedAt == nil || v.Topics[0].OptedIn || v.Topics[1].OptedIn {
		t.Fatalf("after API opt-out: %+v", v)
	}
	var chans []string
	for _, r := range v.Records {
		chans = append(chans, r.Channel)
	}
	want := "api,api,settings,settings,quick_reply,quick_reply"
	if strings.Join(chans, ",") != want {
		t.Fatalf("records %v, want %s", chans, want)
	}
	if !strings.HasPrefix(v.Records[1].Proof, "req-5 by ") {
		t.Fatalf("API proof %q", v.Records[1].Proof)
	}
}

// TestTemplatePolicy: a promotional template needs consent; the cap
// (default 1 per 7 days) and quiet hours in the contact's zone refuse
// with their codes and say why; drafts are never sent.
func TestTemplatePolicy(t *testing.T) {
	s := newShop(t)
	offers := s.topic("Offers", "JOIN")
	tp := s.template("Sale", "Hi {{contact.first_name}}, 20% off today", offers.ID)
	cust, conv := s.customer("Eve Smith")

	_, err := s.sendTemplate(conv, tp.ID)
	wantCode(t, "", err, parley.ENoConsent)
	if !strings.Contains(parley.ErrorMessage(err), "Offers") {
		t.Fatalf("no_consent message does not name the topic: %q", parley.ErrorMessage(err))
	}
	s.say(cust, conv, "join")
	m, err := s.sendTemplate(conv, tp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "Hi Eve, 20% off today" {
		t.Fatalf("rendered %q", m.Text)
	}
	s.clock.Advance(6 * 24 * time.Hour)
	_, err = s.sendTemplate(conv, tp.ID)
	wantCode(t, "", err, parley.EFrequencyCap)
	var pe *parley.Error
	if !errorsAs(err, &pe) || pe.RetryAfter != 24*time.Hour {
		t.Fatalf("frequency cap retry after %v, want 24h", pe)
	}
	s.clock.Advance(24 * time.Hour)
	if _, err := s.sendTemplate(conv, tp.ID); err != nil {
		t.Fatalf("after 7 days: %v", err)
	}

	// Quiet hours 21:00–08:00 in the contact's zone (Tokyo, UTC+9): at
	// 13:00 UTC it is 22:00 there.
	s.settings(func(st *app.BusinessSettings) {
		st.Messaging.QuietStart, st.Messaging.QuietEnd, st.Messaging.PromoCap = "21:00", "08:00", 100
	})
	if _, err := s.a.UpdateContact(s.ctx, s.admin, s.contactOf(conv), app.ContactChange{Attributes: map[string]*string{"timezone": ptr("Asia/Tokyo")}}); err != nil {
		t.Fatal(err)
	}
	day := s.clock.Now().Truncate(24 * time.Hour)
	s.clock.Set(day.Add(13 * time.Hour))
	_, err = s.sendTemplate(conv, tp.ID)
	wantCode(t, "", err, parley.EQuietHours)
	if !errorsAs(err, &pe) || pe.RetryAfter != 10*time.Hour || !strings.Contains(pe.Message, "Asia/Tokyo") {
		t.Fatalf("quiet hours: %+v", pe)
	}
	s.clock.Set(day.Add(23 * time.Hour)) // 08:00 in Tokyo
	if _, err := s.sendTemplate(conv, tp.ID); err != nil {
		t.Fatalf("after quiet hours: %v", err)
	}
	// Free-form replies ignore quiet hours and consent.
	s.clock.Set(day.Add(13 * time.Hour))
	if _, err := s.reply(s.admin, conv, "Your order shipped"); err != nil {
		t.Fatal(err)
	}

	// A template edited back to draft is not sent.
	if _, err := s.a.SaveTemplate(s.ctx, s.admin, tp.ID, app.TemplateInput{Body: ptr("New text {{contact.name}}")}); err != nil {
		t.Fatal(err)
	}
	_, err = s.sendTemplate(conv, tp.ID)
	wantCode(t, "", err, parley.EInvalid)
	// Agents may not approve.
	_, agent := s.agent("fay", "Fay", true)
	_, err = s.a.SaveTemplate(s.ctx, agent, tp.ID, app.TemplateInput{Status: ptr(parley.TemplateApproved)})
	wantCode(t, "", err, parley.EForbidden)
	// A variable without a value refuses the send; the preview says which.
	tp2 := s.template("Points", "You have {{contact.points}} points", offers.ID)
	_, err = s.sendTemplate(conv, tp2.ID)
	wantCode(t, "", err, parley.EUnresolvedVar)
	prev, err := s.a.PreviewTemplate(s.ctx, s.admin, tp2.ID, s.contactOf(conv))
	if err != nil || len(prev.Missing) != 1 || prev.Missing[0] != "contact.points" {
		t.Fatalf("preview %+v %v", prev, err)
	}
}

// TestMessagingWindow: with a 24-hour window, free-form messages go up to
// the last instant before 24 h and not at 24 h; a person may still reply
// within the agent grace, a bot or an API token may not; an approved
// template for an opted-in topic always may; the window reopens when the
// contact writes. Without a window (the default) nothing changes.
func TestMessagingWindow(t *testing.T) {
	s := newShop(t)
	offers := s.topic("Offers", "JOIN")
	tp := s.template("Sale", "Sale now on", offers.ID)
	cust, conv := s.customer("Gus")
	s.say(cust, conv, "join")
	last := s.clock.Now()

	// Default: no window, an old conversation still takes free-form replies.
	s.clock.Advance(30 * 24 * time.Hour)
	if _, err := s.reply(s.admin, conv, "still here"); err != nil {
		t.Fatalf("no window configured: %v", err)
	}
	s.settings(func(st *app.BusinessSettings) { st.Messaging.WindowHours, st.Messaging.HumanAgentDays = 24, 7 })
	_, agent := s.agent("hal", "Hal", true)
	token := &app.BusinessActor{Actor: &app.Actor{User: s.admin.Actor.User, Scopes: []string{app.ScopeBusiness}}, Business: s.admin.Business, Role: parley.AgentRoleAdmin}

	s.clock.Set(last)
	s.say(cust, conv, "question")
	last = s.clock.Now()
	s.clock.Set(last.Add(24*time.Hour - time.Nanosecond))
	if _, err := s.reply(token, conv, "just in time"); err != nil {
		t.Fatalf("inside the window: %v", err)
	}
	s.clock.Set(last.Add(24 * time.Hour))
	_, err := s.reply(token, conv, "too late")
	wantCode(t, "", err, parley.EWindowClosed)
	if !strings.Contains(parley.ErrorMessage(err), "24-hour") {
		t.Fatalf("window_closed message: %q", parley.ErrorMessage(err))
	}
	// A person within 7 days.
	if _, err := s.reply(agent, conv, "a person answering"); err != nil {
		t.Fatalf("human agent within 7 days: %v", err)
	}
	s.clock.Set(last.Add(7 * 24 * time.Hour))
	_, err = s.reply(agent, conv, "a week later")
	wantCode(t, "", err, parley.EWindowClosed)
	// The approved template of an opted-in topic goes.
	if _, err := s.sendTemplate(conv, tp.ID); err != nil {
		t.Fatalf("template outside the window: %v", err)
	}
	// Rule replies are automated: no grace. The contact writing reopens.
	s.say(cust, conv, "hello again")
	if _, err := s.reply(token, conv, "welcome back"); err != nil {
		t.Fatalf("reopened window: %v", err)
	}
	// A contact who never wrote: closed.
	other := s.register("quiet", "Quiet", parley.KindPerson)
	c2, _, err := s.a.CreateDirect(s.ctx, other, "acme")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.reply(agent, c2.ID, "hi")
	wantCode(t, "", err, parley.EWindowClosed)
}

// TestTopicLinks: a topic's link is the web app's page; in full when the
// server knows its public address.
func TestTopicLinks(t *testing.T) {
	tv := newShop(t).topic("Offers", "")
	if tv.LinkPath != "/subscribe/"+tv.FormToken || tv.FormPath != "/api/v1/consent/"+tv.FormToken || tv.LinkURL != "" {
		t.Fatalf("links without a public address: %+v", tv)
	}
	tv = newShopConfig(t, app.Config{}, app.WithPublicURL("https://chat.example.com/")).topic("Offers", "")
	if tv.LinkURL != "https://chat.example.com/subscribe/"+tv.FormToken {
		t.Fatalf("link_url %q", tv.LinkURL)
	}
}
