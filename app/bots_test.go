package app_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// botShop is a shop with a bot on its team, signed in with a token.
func botShop(t *testing.T) (*shop, *app.Actor, *app.BusinessActor) {
	s := newShop(t)
	bot, err := s.a.CreateBot(s.ctx, s.biz, app.BotInput{Handle: "acmebot", DisplayName: "Acme Assistant"})
	if err != nil {
		t.Fatal(err)
	}
	if bot.Owner.Handle != "acme" || bot.User.Kind != "bot" {
		t.Fatalf("bot %+v", bot)
	}
	tok, err := s.a.CreateBotToken(s.ctx, s.biz, "acmebot", app.TokenInput{Name: "prod", Scopes: []string{"read", "business:write"}})
	if err != nil {
		t.Fatal(err)
	}
	actor, err := s.a.Authenticate(s.ctx, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	return s, actor, s.actAs(actor, "acme")
}

func (s *shop) botSay(ba *app.BusinessActor, conv string, in app.SendInput) (*app.MessageView, error) {
	s.n++
	in.ClientID = fmt.Sprintf("bot%d", s.n)
	m, _, err := s.a.BusinessSend(s.ctx, ba, conv, "", in)
	return m, err
}

func TestBotStructuredMessagesAndPostbacks(t *testing.T) {
	s, botUser, bot := botShop(t)
	c, conv := s.customer("Cara")
	m, err := s.botSay(bot, conv, app.SendInput{Text: "What can I help with?",
		QuickReplies: []app.QuickReply{{Title: "Orders"}, {Title: "Returns", Payload: "RETURNS"}},
		Buttons:      []app.Button{{Type: "postback", Title: "Track my order", Payload: "TRACK"}, {Type: "url", Title: "Help centre", URL: "https://example.com/help"}},
		Cards: []app.Card{{Title: "Blue shoes", Subtitle: "€80", Buttons: []app.Button{{Type: "postback", Title: "Buy", Payload: "BUY:blue"}}},
			{Title: "Red shoes", Subtitle: "€75"}}})
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.a.Messages(s.ctx, c, conv, app.HistoryQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	got := page.Items[len(page.Items)-1]
	if got.ID != m.ID || !got.Automated || got.Sender.Handle != "acme" || got.Agent != nil {
		t.Fatalf("customer sees %+v", got)
	}
	if got.Body == nil || *got.Body != "What can I help with?" || len(got.QuickReplies) != 2 || len(got.Buttons) != 2 || len(got.Cards) != 2 {
		t.Fatalf("structure lost: %+v", got)
	}
	// A client that shows only text still sees every choice and link.
	for _, want := range []string{"What can I help with?", "1. Blue shoes — €80", "[Buy]", "[Track my order]", "Help centre: https://example.com/help", "Reply with: Orders / Returns"} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("fallback text lacks %q:\n%s", want, got.Text)
		}
	}
	head, _ := s.a.Head(s.ctx)
	if err := s.a.Postback(s.ctx, c, conv, m.ID, "BUY:blue"); err != nil {
		t.Fatal(err)
	}
	if err := s.a.Postback(s.ctx, c, conv, m.ID, "NOPE"); parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("unknown payload: %v", err)
	}
	if err := s.a.Postback(s.ctx, botUser, conv, m.ID, "TRACK"); err == nil {
		t.Fatal("the bot itself (not a member) tapped")
	}
	sync, err := s.a.Sync(s.ctx, botUser, head, 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range sync.Events {
		if e.Type == app.EventPostback && e.As == s.biz.User.ID && strings.Contains(string(e.Data), `"payload":"BUY:blue"`) {
			found = true
		}
	}
	if !found {
		t.Fatalf("the bot's sync has no postback: %+v", sync.Events)
	}
	// The customer's own sync has none: postbacks go to the sender.
	mine, _ := s.a.Sync(s.ctx, c, head, 100)
	for _, e := range mine.Events {
		if e.Type == app.EventPostback {
			t.Fatal("the customer received the postback")
		}
	}
	// A quick reply answer carries its payload.
	s.n++
	ans, _, err := s.a.Send(s.ctx, c, conv, app.SendInput{ClientID: "qr", Text: "Returns", QuickReply: "RETURNS"})
	if err != nil || ans.QuickReply != "RETURNS" {
		t.Fatalf("quick reply answer %+v %v", ans, err)
	}
}

func TestStructuredValidation(t *testing.T) {
	s, _, bot := botShop(t)
	c, conv := s.customer("Cara")
	many := make([]app.QuickReply, 14)
	for i := range many {
		many[i] = app.QuickReply{Title: fmt.Sprint(i)}
	}
	for name, in := range map[string]app.SendInput{
		"14 quick replies":  {Text: "x", QuickReplies: many},
		"javascript link":   {Text: "x", Buttons: []app.Button{{Type: "url", Title: "go", URL: "javascript:alert(1)"}}},
		"postback without":  {Text: "x", Buttons: []app.Button{{Type: "postback", Title: "go"}}},
		"long title":        {Text: "x", QuickReplies: []app.QuickReply{{Title: strings.Repeat("a", 21)}}},
		"four buttons":      {Text: "x", Buttons: []app.Button{{Type: "postback", Title: "a", Payload: "a"}, {Type: "postback", Title: "b", Payload: "b"}, {Type: "postback", Title: "c", Payload: "c"}, {Type: "postback", Title: "d", Payload: "d"}}},
		"duplicate payload": {Text: "x", QuickReplies: []app.QuickReply{{Title: "a", Payload: "p"}, {Title: "b", Payload: "p"}}},
		"eleven cards":      {Text: "x", Cards: make([]app.Card, 11)},
	} {
		if _, err := s.botSay(bot, conv, in); parley.ErrorCode(err) != parley.EInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	// People send plain messages.
	if _, _, err := s.a.Send(s.ctx, c, conv, app.SendInput{ClientID: "p1", Text: "x", Buttons: []app.Button{{Type: "postback", Title: "a", Payload: "a"}}}); parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("a person sent buttons: %v", err)
	}
}

func TestHandover(t *testing.T) {
	s, _, bot := botShop(t)
	s.settings(func(st *app.BusinessSettings) { st.AutoAssign = app.AssignRoundRobin })
	_, ann := s.agent("ann", "Ann", true)
	c, conv := s.customer("Cara")
	v := s.item(conv)
	if v.Control != "bot" || v.Assignee != nil {
		t.Fatalf("a business with a bot: control %s, assignee %v; want the bot, unassigned", v.Control, v.Assignee)
	}
	if _, err := s.botSay(bot, conv, app.SendInput{Text: "Hi! I'm the Acme assistant."}); err != nil {
		t.Fatal(err)
	}
	// The customer asks for a person.
	s.say(c, conv, "Human!")
	v = s.item(conv)
	if v.Control != "human" || assignee(v) != "ann" {
		t.Fatalf("after asking for a human: control %s, assignee %q", v.Control, assignee(v))
	}
	if _, err := s.botSay(bot, conv, app.SendInput{Text: "I can still help!"}); parley.ErrorCode(err) != parley.EHumanControl {
		t.Fatalf("bot send under human control: %v", err)
	}
	// The agent gives it back; the bot may answer again.
	if _, err := s.a.Handover(s.ctx, ann, conv, "bot", "resolved the billing part"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.botSay(bot, conv, app.SendInput{Text: "Back to me."}); err != nil {
		t.Fatalf("bot after give-back: %v", err)
	}
	// The bot passes control itself, with a reason.
	if v, err := s.a.Handover(s.ctx, bot, conv, "human", "refund over limit"); err != nil || v.Control != "human" {
		t.Fatalf("bot handover: %+v %v", v, err)
	}
	if _, err := s.a.Handover(s.ctx, bot, conv, "bot", ""); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("bot took control back: %v", err)
	}
	// An agent replying while the bot holds control takes it.
	if _, err := s.a.Handover(s.ctx, ann, conv, "bot", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.reply(ann, conv, "Ann here, I'll take it from here."); err != nil {
		t.Fatal(err)
	}
	if v := s.item(conv); v.Control != "human" {
		t.Fatalf("agent reply left control %s", v.Control)
	}
	rows, _ := s.a.Audit(s.ctx, s.admin, conv, 0, 100)
	var reasons []string
	for _, r := range rows {
		if r.Action == "handover" {
			reasons = append(reasons, string(r.Data))
		}
	}
	if len(reasons) != 5 {
		t.Fatalf("handover audit %v", reasons)
	}
	// Bots are never assigned conversations.
	bh := "acmebot"
	if _, err := s.a.UpdateItem(s.ctx, ann, conv, app.ItemChange{Assignee: &bh}); parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("assigned to the bot: %v", err)
	}
}

func TestBotRateLimit(t *testing.T) {
	s, _, bot := botShop(t)
	_, conv := s.customer("Cara")
	for i := range 3 {
		if _, err := s.botSay(bot, conv, app.SendInput{Text: fmt.Sprint("burst ", i)}); err != nil {
			t.Fatalf("send %d of the burst: %v", i, err)
		}
	}
	_, err := s.botSay(bot, conv, app.SendInput{Text: "one too many"})
	var pe *parley.Error
	if parley.ErrorCode(err) != parley.ERateLimited || !errorsAs(err, &pe) || pe.RetryAfter <= 0 {
		t.Fatalf("fourth send in a second: %v", err)
	}
	s.clock.Advance(1100 * time.Millisecond)
	if _, err := s.botSay(bot, conv, app.SendInput{Text: "later"}); err != nil {
		t.Fatalf("after a second: %v", err)
	}
}

func TestBotTokensRotateAndRetire(t *testing.T) {
	s, _, _ := botShop(t)
	toks, err := s.a.BotTokens(s.ctx, s.biz, "acmebot")
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens %v %v", toks, err)
	}
	fresh, err := s.a.RotateBotToken(s.ctx, s.biz, "acmebot", toks[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.Authenticate(s.ctx, fresh.Token); err != nil {
		t.Fatalf("rotated token: %v", err)
	}
	if fresh.Name != "prod" || len(fresh.Scopes) != 2 {
		t.Fatalf("rotation changed the token: %+v", fresh)
	}
	stranger := s.register("mallory", "Mallory", parley.KindPerson)
	if _, err := s.a.CreateBotToken(s.ctx, stranger, "acmebot", app.TokenInput{Name: "x", Scopes: []string{"read"}}); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("a stranger made a token for the bot: %v", err)
	}
	if _, err := s.a.Login(s.ctx, "acmebot", "!", "x", "127.0.0.1"); err == nil {
		t.Fatal("a bot logged in with a password")
	}
	if err := s.a.RetireBot(s.ctx, s.biz, "acmebot"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.Authenticate(s.ctx, fresh.Token); parley.ErrorCode(err) != parley.EUnauthorized {
		t.Fatalf("retired bot's token: %v", err)
	}
	if _, conv := s.customer("After"); s.item(conv).Control != "human" {
		t.Fatal("a business whose bot retired still gives conversations to a bot")
	}
}

func errorsAs(err error, target **parley.Error) bool { return errors.As(err, target) }
