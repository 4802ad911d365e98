package client_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
)

func TestBusinessInbox(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	shop := register(t, anon, "shop", "business")
	ann := register(t, anon, "ann", "")
	alice := register(t, anon, "alice", "")
	agent := "agent"
	if a, err := shop.Business("shop").SetAgent(ctx, "ann", client.AgentChange{Role: &agent}); err != nil || a.User.Handle != "ann" {
		t.Fatalf("add agent %+v %v", a, err)
	}
	if bs, err := ann.Businesses(ctx); err != nil || len(bs) != 1 || bs[0].Business.Handle != "shop" || bs[0].Role != "agent" {
		t.Fatalf("ann's businesses %+v %v", bs, err)
	}
	conv, err := alice.StartDirect(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, conv.ID, client.SendRequest{Text: "Where is my order?"}); err != nil {
		t.Fatal(err)
	}

	inbox := ann.Business("shop")
	page, err := inbox.Conversations(ctx, client.InboxQuery{View: "unassigned"})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("unassigned %+v %v", page, err)
	}
	it := page.Items[0]
	if it.ConversationID != conv.ID || it.Status != client.StatusOpen || it.Control != client.ControlHuman || it.Contact == nil {
		t.Fatalf("item %+v", it)
	}
	if n, err := inbox.Counts(ctx); err != nil || n.Unassigned != 1 || n.Open != 1 {
		t.Fatalf("counts %+v %v", n, err)
	}
	d, err := inbox.Conversation(ctx, conv.ID)
	if err != nil || d.Item.ConversationID != conv.ID || d.Contact == nil || d.Conversation.ID != conv.ID {
		t.Fatalf("detail %+v %v", d, err)
	}
	high, labels := "high", []string{"Orders"}
	if it, err := inbox.UpdateConversation(ctx, conv.ID, client.ItemChange{Priority: &high, Labels: &labels}); err != nil ||
		it.Priority != "high" || len(it.Labels) != 1 || it.Labels[0] != "orders" {
		t.Fatalf("update %+v %v", it, err)
	}

	// Notes stay inside the team.
	if n, err := inbox.AddNote(ctx, conv.ID, "@shop she ordered on Monday"); err != nil || len(n.Mentions) != 1 {
		t.Fatalf("note %+v %v", n, err)
	}
	if ns, err := inbox.Notes(ctx, conv.ID); err != nil || len(ns) != 1 || ns[0].Author.Handle != "ann" {
		t.Fatalf("notes %+v %v", ns, err)
	}

	// Saved replies fill their variables for the conversation.
	shortcut, body := "hello", "Hi {{contact.first_name}}, {{agent.first_name}} here."
	r, err := inbox.CreateSavedReply(ctx, client.SavedReplyInput{Shortcut: &shortcut, Body: &body})
	if err != nil || len(r.Variables) != 2 {
		t.Fatalf("saved reply %+v %v", r, err)
	}
	if out, err := inbox.RenderSavedReply(ctx, r.ID, conv.ID); err != nil || out.Text != "Hi Alice, Ann here." || len(out.Missing) != 0 {
		t.Fatalf("render %+v %v", out, err)
	}
	if rs, err := inbox.SavedReplies(ctx, "hel"); err != nil || len(rs) != 1 {
		t.Fatalf("saved replies %+v %v", rs, err)
	}
	m, err := inbox.Send(ctx, conv.ID, client.BusinessSendRequest{SavedReply: r.ID})
	if err != nil || m.Text != "Hi Alice, Ann here." || m.Agent == nil || m.Agent.Handle != "ann" || m.Sender.Handle != "shop" {
		t.Fatalf("send as the business %+v %v", m, err)
	}
	seen, err := alice.Messages(ctx, conv.ID, client.HistoryQuery{})
	if err != nil || len(seen.Items) != 2 || seen.Items[1].Text != "Hi Alice, Ann here." || seen.Items[1].Agent != nil {
		t.Fatalf("the customer sees %+v %v", seen, err)
	}
	hist, err := inbox.Messages(ctx, conv.ID, client.HistoryQuery{})
	if err != nil || len(hist.Items) != 2 {
		t.Fatalf("history as the business %+v %v", hist, err)
	}
	if seq, err := inbox.MarkRead(ctx, conv.ID, 2); err != nil || seq != 2 {
		t.Fatalf("read %d %v", seq, err)
	}
	resolved := client.StatusResolved
	if it, err := inbox.UpdateConversation(ctx, conv.ID, client.ItemChange{Status: &resolved}); err != nil || it.Status != "resolved" {
		t.Fatalf("resolve %+v %v", it, err)
	}

	// No bot to hand over to; outsiders learn nothing.
	if _, err := inbox.Handover(ctx, conv.ID, client.ControlBot, ""); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("handover without a bot: %v", err)
	}
	if _, err := alice.Business("shop").Conversations(ctx, client.InboxQuery{}); !client.IsNotFound(err) {
		t.Fatalf("a customer in the inbox: %v", err)
	}
	if err := inbox.RemoveAgent(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if _, err := inbox.Counts(ctx); !client.IsNotFound(err) {
		t.Fatalf("after leaving the team: %v", err)
	}
}

func TestBots(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	shop := register(t, anon, "shop", "business")
	shopID := mustMe(t, shop).ID
	alice := register(t, anon, "alice", "")
	cara := register(t, anon, "cara", "")

	b, err := shop.CreateBot(ctx, client.BotRequest{Handle: "shopbot", DisplayName: "Shop Assistant"})
	if err != nil || b.User.Kind != "bot" || b.Owner.Handle != "shop" {
		t.Fatalf("create bot %+v %v", b, err)
	}
	if bots, err := shop.Bots(ctx); err != nil || len(bots) != 1 {
		t.Fatalf("bots %+v %v", bots, err)
	}
	if b, err := shop.UpdateBot(ctx, "shopbot", client.BotRequest{Bio: "Answers FAQs"}); err != nil || b.Bio != "Answers FAQs" {
		t.Fatalf("update bot %+v %v", b, err)
	}
	tok, err := shop.CreateBotToken(ctx, "shopbot", client.TokenRequest{Name: "prod", Scopes: []string{client.ScopeRead, client.ScopeBusiness}})
	if err != nil || tok.Token == "" {
		t.Fatalf("bot token %+v %v", tok, err)
	}
	bot := anon.WithToken(tok.Token)
	if bs, err := bot.Businesses(ctx); err != nil || len(bs) != 1 || bs[0].Role != "bot" {
		t.Fatalf("the bot's businesses %+v %v", bs, err)
	}
	head, err := bot.Sync(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := bot.Stream(ctx, head.Next, fast)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// A customer writes; the bot holds the conversation and hears it as
	// the business.
	conv, err := alice.StartDirect(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, conv.ID, client.SendRequest{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	e := next(t, s, messageIn(conv.ID))
	if e.As != shopID || e.Message.Text != "hi" || e.Message.Sender.Handle != "alice" {
		t.Fatalf("the bot hears %+v", e)
	}
	inbox := bot.Business("shop")
	if d, err := inbox.Conversation(ctx, conv.ID); err != nil || d.Item.Control != client.ControlBot {
		t.Fatalf("control %+v %v", d, err)
	}
	m, err := inbox.Send(ctx, conv.ID, client.BusinessSendRequest{Text: "How can I help?",
		QuickReplies: []client.QuickReply{{Title: "Hours", Payload: "HOURS"}, {Title: "Shipping"}},
		Buttons:      []client.Button{client.PostbackButton("Talk to a person", "HUMAN")}})
	if err != nil {
		t.Fatal(err)
	}
	page, err := alice.Messages(ctx, conv.ID, client.HistoryQuery{})
	got := page.Items[len(page.Items)-1]
	if err != nil || got.ID != m.ID || !got.Automated || len(got.QuickReplies) != 2 || got.QuickReplies[1].Payload != "Shipping" ||
		len(got.Buttons) != 1 || got.Body == nil || *got.Body != "How can I help?" {
		t.Fatalf("the customer sees %+v %v", got, err)
	}

	// A tap reaches the bot as a postback event.
	if err := alice.Postback(ctx, conv.ID, m.ID, "HUMAN"); err != nil {
		t.Fatal(err)
	}
	e = next(t, s, func(e client.Event) bool { return e.Type == client.EventPostback })
	var pb client.PostbackData
	if err := e.DecodeData(&pb); err != nil || pb.Payload != "HUMAN" || pb.MessageID != m.ID || e.ConversationID != conv.ID || e.As != shopID {
		t.Fatalf("postback %+v %+v %v", e, pb, err)
	}
	it, err := inbox.Handover(ctx, conv.ID, client.ControlHuman, "the customer asked for a person")
	if err != nil || it.Control != client.ControlHuman {
		t.Fatalf("handover %+v %v", it, err)
	}
	e = next(t, s, func(e client.Event) bool { return e.Type == client.EventHandover })
	var ho client.HandoverData
	if err := e.DecodeData(&ho); err != nil || ho.Control != "human" || ho.Reason != "the customer asked for a person" {
		t.Fatalf("handover event %+v %v", ho, err)
	}
	_, err = inbox.Send(ctx, conv.ID, client.BusinessSendRequest{Text: "still here"})
	if e := client.AsError(err); !errors.Is(err, client.ErrHumanControl) || e.Status != http.StatusConflict {
		t.Fatalf("bot send under human control: %v", err)
	}
	if _, err := inbox.Handover(ctx, conv.ID, client.ControlBot, ""); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("a bot taking control: %v", err)
	}

	// Bot send limits: a burst of 3 in a conversation, then 1 a second.
	// A send waits out the 429's Retry-After and then goes through.
	conv2, err := cara.StartDirect(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cara.Send(ctx, conv2.ID, client.SendRequest{Text: "hello?"}); err != nil {
		t.Fatal(err)
	}
	impatient := bot.WithToken(bot.Token)
	impatient.MaxRetries = -1
	untilLimited := func(c *client.Client) *client.Error {
		t.Helper()
		for i := range 20 { // the burst, then one more (the bucket refills slowly)
			_, err := c.Business("shop").Send(ctx, conv2.ID, client.BusinessSendRequest{Text: fmt.Sprint("burst ", i)})
			if err != nil {
				if !client.IsRateLimited(err) {
					t.Fatal(err)
				}
				return client.AsError(err)
			}
		}
		t.Fatal("never rate limited")
		return nil
	}
	if e := untilLimited(impatient); e.Status != http.StatusTooManyRequests || e.RetryAfter < time.Second {
		t.Fatalf("over the limit: %#v", e)
	}
	if m, err := inbox.Send(ctx, conv2.ID, client.BusinessSendRequest{Text: "after waiting"}); err != nil || m.Text != "after waiting" {
		t.Fatalf("send after Retry-After: %+v %v", m, err)
	}
	short := bot.WithToken(bot.Token)
	short.MaxRetryWait = time.Millisecond // shorter than any Retry-After: the 429 comes back
	untilLimited(short)

	// Tokens: rotate, list, revoke.
	fresh, err := shop.RotateBotToken(ctx, "shopbot", tok.ID)
	if err != nil || fresh.Token == "" || fresh.Token == tok.Token {
		t.Fatalf("rotate %+v %v", fresh, err)
	}
	if _, err := bot.Me(ctx); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("the old token after rotation: %v", err)
	}
	for range s.Events() { // its stream ends too
	}
	if !errors.Is(s.Err(), client.ErrUnauthorized) {
		t.Fatalf("the old token's stream ended with %v", s.Err())
	}
	rotated := anon.WithToken(fresh.Token)
	if me, err := rotated.Me(ctx); err != nil || me.Handle != "shopbot" {
		t.Fatalf("the new token %+v %v", me, err)
	}
	if ts, err := shop.BotTokens(ctx, "shopbot"); err != nil || len(ts) != 1 || ts[0].ID != fresh.ID {
		t.Fatalf("bot tokens %+v %v", ts, err)
	}
	if err := shop.RevokeBotToken(ctx, "shopbot", fresh.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := rotated.Me(ctx); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("a revoked token: %v", err)
	}
	if err := shop.RetireBot(ctx, "shopbot"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.CreateBot(ctx, client.BotRequest{Handle: "shop"}); !client.IsCode(err, client.CodeHandleTaken) {
		t.Fatalf("a bot with a taken handle: %v", err)
	}
}

func mustMe(t *testing.T, c *client.Client) *client.Me {
	t.Helper()
	me, err := c.Me(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	return me
}
