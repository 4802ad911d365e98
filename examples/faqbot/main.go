// Command faqbot is a small Parley bot for a business: it follows the
// event stream and answers customers about opening hours, shipping and
// returns, with the topics as quick replies, in the conversations it
// controls. When it cannot help twice in a row, or the customer taps
// "Talk to a person", it hands the conversation to the business's people;
// from then on its sends are refused (409 human_control) and it stays quiet.
//
// Configuration (flags override the environment):
//
//	PARLEY_URL       -url       the server (default http://127.0.0.1:8080)
//	PARLEY_BUSINESS  -business  the business's handle
//	PARLEY_TOKEN     -token     a token of the business's bot with scopes read and business:write
//	PARLEY_STATE     -state     a file keeping the stream position across restarts (optional)
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/parleyhq/parley/client"
)

// faq is one topic the bot knows.
type faq struct {
	Payload  string   // quick reply payload
	Title    string   // quick reply title (at most 20 characters)
	Keywords []string // any of them in a question picks the topic
	Answer   string
}

var faqs = []faq{
	{"HOURS", "Opening hours", []string{"hour", "open", "close"},
		"We're open Monday to Friday, 9:00 to 17:00, and Saturday 10:00 to 14:00."},
	{"SHIPPING", "Shipping", []string{"ship", "deliver", "postage", "track"},
		"Orders ship within 2 working days; delivery takes 3 to 5 days. Shipping is free over €50."},
	{"RETURNS", "Returns", []string{"return", "refund", "exchange"},
		"You can return anything within 30 days for a full refund: reply with your order number and we'll send a label."},
}

// humanPayload is the payload of the "Talk to a person" button.
const humanPayload = "HUMAN"

// Bot answers a business's customers.
type Bot struct {
	Client   *client.Client // with the bot's token
	Business string         // the business's handle
	Log      *slog.Logger
	// StateFile, when set, keeps the stream position across restarts.
	StateFile string
	// OnHandled, when set, is called after each event (logging, tests).
	OnHandled func(client.Event, error)

	businessID string
	misses     map[string]int // unanswered questions in a row, per conversation
}

// Start checks that the token works for the business and opens the
// stream where the bot left off (or at the current head).
func (b *Bot) Start(ctx context.Context) (*client.Stream, error) {
	bs, err := b.Client.Businesses(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range bs {
		if m.Business.Handle == strings.TrimPrefix(b.Business, "@") {
			b.businessID = m.Business.ID
		}
	}
	if b.businessID == "" {
		return nil, fmt.Errorf("this token does not work for @%s: create it for the business's bot", b.Business)
	}
	b.misses = map[string]int{}
	since := b.loadPosition()
	if since == 0 { // first run: start from now, not from the history
		page, err := b.Client.Sync(ctx, client.SinceNow, 0)
		if err != nil {
			return nil, err
		}
		since = page.Next
	}
	return b.Client.Stream(ctx, since, nil)
}

// Run handles the stream's events until it ends.
func (b *Bot) Run(ctx context.Context, s *client.Stream) error {
	for e := range s.Events() {
		err := b.Handle(ctx, e)
		if err != nil {
			b.Log.Warn("event not handled", "type", e.Type, "conversation", e.ConversationID, "err", err)
		}
		b.savePosition(s.Position())
		if b.OnHandled != nil {
			b.OnHandled(e, err)
		}
	}
	return s.Err()
}

// Handle reacts to one event: a customer's message or a button tap.
func (b *Bot) Handle(ctx context.Context, e client.Event) error {
	if e.As != b.businessID { // not about the business's customers
		return nil
	}
	switch e.Type {
	case client.EventMessageCreated:
		m := e.Message
		if m == nil || m.Sender == nil || m.Sender.ID == b.businessID || m.Deleted || strings.TrimSpace(m.Text) == "" {
			return nil // the business's own messages (its bot's, its people's), tombstones, media
		}
		return b.answer(ctx, e.ConversationID, m)
	case client.EventPostback:
		var pb client.PostbackData
		if err := e.DecodeData(&pb); err != nil || pb.Payload != humanPayload {
			return err
		}
		return b.handover(ctx, e.ConversationID, "the customer tapped Talk to a person")
	}
	return nil
}

// answer replies to a customer's message in a conversation the bot holds.
func (b *Bot) answer(ctx context.Context, conv string, m *client.Message) error {
	d, err := b.Client.Business(b.Business).Conversation(ctx, conv)
	if err != nil {
		return err
	}
	if d.Item.Control != client.ControlBot {
		return nil // the business's people answer this one
	}
	topic := match(m)
	if topic == nil {
		b.misses[conv]++
		if b.misses[conv] >= 2 {
			delete(b.misses, conv)
			return b.handover(ctx, conv, fmt.Sprintf("the bot could not answer twice; last question: %q", m.Text))
		}
		return b.say(ctx, conv, "Sorry, I can only help with opening hours, shipping and returns. Pick a topic below, or ask in other words.")
	}
	delete(b.misses, conv)
	return b.say(ctx, conv, topic.Answer)
}

// match finds the topic of a message: the quick reply tapped, else a
// keyword.
func match(m *client.Message) *faq {
	text := strings.ToLower(m.Text)
	for i, f := range faqs {
		if m.QuickReply == f.Payload {
			return &faqs[i]
		}
	}
	for i, f := range faqs {
		for _, k := range f.Keywords {
			if strings.Contains(text, k) {
				return &faqs[i]
			}
		}
	}
	return nil
}

// say sends an answer with the topics as quick replies and a way to a
// person. A conversation a person took meanwhile is left alone.
func (b *Bot) say(ctx context.Context, conv, text string) error {
	qrs := make([]client.QuickReply, len(faqs))
	for i, f := range faqs {
		qrs[i] = client.QuickReply{Title: f.Title, Payload: f.Payload}
	}
	_, err := b.Client.Business(b.Business).Send(ctx, conv, client.BusinessSendRequest{Text: text, QuickReplies: qrs,
		Buttons: []client.Button{client.PostbackButton("Talk to a person", humanPayload)}})
	if errors.Is(err, client.ErrHumanControl) {
		b.Log.Info("a person holds the conversation; staying quiet", "conversation", conv)
		return nil
	}
	return err
}

// handover passes the conversation to the business's people, telling the
// customer and giving the team the reason.
func (b *Bot) handover(ctx context.Context, conv, reason string) error {
	if err := b.say(ctx, conv, "Let me get a person from our team for you; they'll answer here."); err != nil {
		return err
	}
	it, err := b.Client.Business(b.Business).Handover(ctx, conv, client.ControlHuman, reason)
	if err == nil {
		b.Log.Info("handed over", "conversation", conv, "reason", reason, "control", it.Control)
	}
	return err
}

func (b *Bot) loadPosition() int64 {
	raw, _ := os.ReadFile(b.StateFile) // none on the first run
	n, _ := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	return n
}

// savePosition writes the position atomically (write, then rename).
func (b *Bot) savePosition(pos int64) {
	if b.StateFile == "" || pos == 0 {
		return
	}
	tmp := filepath.Join(filepath.Dir(b.StateFile), "."+filepath.Base(b.StateFile)+".tmp")
	err := os.WriteFile(tmp, []byte(strconv.FormatInt(pos, 10)+"\n"), 0o600)
	if err == nil {
		err = os.Rename(tmp, b.StateFile)
	}
	if err != nil {
		b.Log.Warn("position not saved", "file", b.StateFile, "err", err)
	}
}

func main() {
	url := flag.String("url", cmp.Or(os.Getenv("PARLEY_URL"), "http://127.0.0.1:8080"), "the Parley server (PARLEY_URL)")
	business := flag.String("business", os.Getenv("PARLEY_BUSINESS"), "the business's handle (PARLEY_BUSINESS)")
	token := flag.String("token", os.Getenv("PARLEY_TOKEN"), "the bot's API token with scopes read and business:write (PARLEY_TOKEN)")
	state := flag.String("state", os.Getenv("PARLEY_STATE"), "a file keeping the stream position across restarts (PARLEY_STATE)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if *business == "" || *token == "" {
		fmt.Fprintln(os.Stderr, "faqbot: set PARLEY_BUSINESS and PARLEY_TOKEN (or -business and -token)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bot := &Bot{Client: client.New(*url, *token), Business: *business, Log: log, StateFile: *state}
	s, err := bot.Start(ctx)
	if err != nil {
		log.Error("cannot start", "err", err)
		os.Exit(1)
	}
	log.Info("faqbot listening", "business", *business, "server", *url)
	if err := bot.Run(ctx, s); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("stream ended", "err", err)
		os.Exit(1)
	}
}
