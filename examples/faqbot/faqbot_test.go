package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/server"
)

// liveness bounds every wait: a deadline for a hang, not a claim about
// speed.
const liveness = 20 * time.Second

// startServer runs a real Parley node in the test.
func startServer(t *testing.T) *server.Server {
	t.Helper()
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.App.Password = app.PasswordParams{Time: 1, MemoryK: 1024, Threads: 1}
	cfg.NoLinkPreviews = true
	s, err := server.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

func register(t *testing.T, ctx context.Context, anon *client.Client, handle, kind string) *client.Client {
	t.Helper()
	auth, err := anon.Register(ctx, client.RegisterRequest{Handle: handle, Password: "correct horse battery", Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return anon.WithToken(auth.Token)
}

// handled receives the events the bot has dealt with.
type handled struct {
	ch chan client.Event
}

// waitHandled waits until the bot has handled an event that keep accepts.
func (h *handled) wait(t *testing.T, what string, keep func(client.Event) bool) {
	t.Helper()
	timeout := time.After(liveness)
	for {
		select {
		case e := <-h.ch:
			if keep(e) {
				return
			}
		case <-timeout:
			t.Fatalf("the bot did not handle %s", what)
		}
	}
}

func TestFAQBot(t *testing.T) {
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*liveness)
	defer cancel()
	anon := client.New(srv.URL(), "")

	// The business makes its bot and a token for it.
	shop := register(t, ctx, anon, "shop", "business")
	if _, err := shop.CreateBot(ctx, client.BotRequest{Handle: "shopbot", DisplayName: "Shop Assistant"}); err != nil {
		t.Fatal(err)
	}
	tok, err := shop.CreateBotToken(ctx, "shopbot", client.TokenRequest{Name: "faqbot", Scopes: []string{client.ScopeRead, client.ScopeBusiness}})
	if err != nil {
		t.Fatal(err)
	}
	h := &handled{ch: make(chan client.Event, 1000)}
	bot := &Bot{Client: anon.WithToken(tok.Token), Business: "shop", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		StateFile: filepath.Join(t.TempDir(), "position"),
		OnHandled: func(e client.Event, err error) {
			if err != nil {
				t.Errorf("the bot failed on %s: %v", e.Type, err)
			}
			h.ch <- e
		}}
	s, err := bot.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- bot.Run(ctx, s) }()

	// A customer asks about the hours and gets the answer with the topics.
	cara := register(t, ctx, anon, "cara", "")
	conv, err := cara.StartDirect(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	watch, err := cara.Stream(ctx, mustHead(t, ctx, cara), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	reply := func() *client.Message {
		t.Helper()
		for {
			select {
			case e, ok := <-watch.Events():
				if !ok {
					t.Fatalf("the customer's stream ended: %v", watch.Err())
				}
				if e.Type == client.EventMessageCreated && e.ConversationID == conv.ID && e.Message.Sender.Handle == "shop" {
					return e.Message
				}
			case <-ctx.Done():
				t.Fatal("no answer from the bot")
			}
		}
	}
	send := func(m client.SendRequest) {
		t.Helper()
		if _, err := cara.Send(ctx, conv.ID, m); err != nil {
			t.Fatal(err)
		}
	}
	send(client.SendRequest{Text: "what are your hours?"})
	m := reply()
	if !strings.Contains(m.Text, "Monday to Friday") || !m.Automated || len(m.QuickReplies) != 3 || len(m.Buttons) != 1 {
		t.Fatalf("the hours answer: %+v", m)
	}

	// Tapping a quick reply answers that topic.
	qr := m.QuickReplies[1]
	send(client.SendRequest{Text: qr.Title, QuickReply: qr.Payload})
	if m := reply(); !strings.Contains(m.Text, "Orders ship") {
		t.Fatalf("the shipping answer: %+v", m)
	}

	// Two questions it cannot answer in a row: it says sorry once, then
	// hands over with a reason.
	send(client.SendRequest{Text: "can I pay with bitcoin?"})
	if m := reply(); !strings.HasPrefix(m.Text, "Sorry") {
		t.Fatalf("the first miss: %+v", m)
	}
	send(client.SendRequest{Text: "do you sell hats?"})
	if m := reply(); !strings.Contains(m.Text, "a person") {
		t.Fatalf("the handover message: %+v", m)
	}
	inbox := shop.Business("shop")
	eventually(t, "control passes to people", func() bool {
		d, err := inbox.Conversation(ctx, conv.ID)
		return err == nil && d.Item.Control == client.ControlHuman
	})
	if reasons := handoverReasons(t, ctx, shop, conv.ID); len(reasons) != 1 || !strings.Contains(reasons[0], `"do you sell hats?"`) {
		t.Fatalf("handover reasons %q", reasons)
	}

	// From now on the bot stays quiet; its sends would be refused.
	send(client.SendRequest{Text: "what are your hours?"})
	last := lastMessage(t, ctx, cara, conv.ID)
	h.wait(t, "the question under human control", func(e client.Event) bool {
		return e.Message != nil && e.Message.ID == last.ID
	})
	if now := lastMessage(t, ctx, cara, conv.ID); now.ID != last.ID {
		t.Fatalf("the bot answered under human control: %+v", now)
	}
	_, err = bot.Client.Business("shop").Send(ctx, conv.ID, client.BusinessSendRequest{Text: "hello?"})
	if !errors.Is(err, client.ErrHumanControl) {
		t.Fatalf("a bot send under human control: %v", err)
	}
	if err := bot.say(ctx, conv.ID, "hello?"); err != nil {
		t.Fatalf("the bot does not take human_control gracefully: %v", err)
	}

	// Another customer taps "Talk to a person".
	dan := register(t, ctx, anon, "dan", "")
	conv2, err := dan.StartDirect(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dan.Send(ctx, conv2.ID, client.SendRequest{Text: "how do returns work?"}); err != nil {
		t.Fatal(err)
	}
	var answer *client.Message
	eventually(t, "the returns answer", func() bool {
		answer = lastMessage(t, ctx, dan, conv2.ID)
		return answer.Sender.Handle == "shop"
	})
	if !strings.Contains(answer.Text, "return anything") {
		t.Fatalf("the returns answer: %+v", answer)
	}
	if err := dan.Postback(ctx, conv2.ID, answer.ID, humanPayload); err != nil {
		t.Fatal(err)
	}
	eventually(t, "control passes to people after the tap", func() bool {
		d, err := inbox.Conversation(ctx, conv2.ID)
		return err == nil && d.Item.Control == client.ControlHuman
	})
	if reasons := handoverReasons(t, ctx, shop, conv2.ID); len(reasons) != 1 || reasons[0] != "the customer tapped Talk to a person" {
		t.Fatalf("handover reasons %q", reasons)
	}

	// The bot keeps its position for the next run.
	if p := bot.loadPosition(); p == 0 || p > s.Position() {
		t.Fatalf("saved position %d, stream at %d", p, s.Position())
	}
	s.Close()
	if err := <-done; err != nil {
		t.Fatalf("the bot's loop ended with %v", err)
	}
}

func mustHead(t *testing.T, ctx context.Context, c *client.Client) int64 {
	t.Helper()
	p, err := c.Sync(ctx, client.SinceNow, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p.Next
}

func lastMessage(t *testing.T, ctx context.Context, c *client.Client, conv string) *client.Message {
	t.Helper()
	p, err := c.Messages(ctx, conv, client.HistoryQuery{Limit: 1})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("history %+v %v", p, err)
	}
	return &p.Items[0]
}

// handoverReasons reads the reasons of the conversation's handovers from
// the business's audit log.
func handoverReasons(t *testing.T, ctx context.Context, shop *client.Client, conv string) []string {
	t.Helper()
	var audit struct {
		Items []struct {
			Action string          `json:"action"`
			Data   json.RawMessage `json:"data"`
		} `json:"items"`
	}
	if err := shop.Do(ctx, "GET", "/business/shop/conversations/"+conv+"/audit", nil, &audit); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range audit.Items {
		var d struct {
			To     string `json:"to"`
			Reason string `json:"reason"`
		}
		if a.Action == "handover" && json.Unmarshal(a.Data, &d) == nil && d.To == client.ControlHuman {
			out = append(out, d.Reason)
		}
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(liveness)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within the liveness bound", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
