package app

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// Structured messages: quick replies, buttons and cards (a carousel is
// several cards). They travel in Message.Data; Message.Text always reads
// well on its own, so a client that shows only text loses nothing: the
// fallback lists the choices and the links.

// Button is a tappable action: a postback (the sender receives the
// payload as a "postback" event) or a link.
type Button struct {
	Type    string `json:"type"` // "postback" or "url"
	Title   string `json:"title"`
	Payload string `json:"payload,omitempty"`
	URL     string `json:"url,omitempty"`
}

// Card is one element of a carousel.
type Card struct {
	Title    string   `json:"title"`
	Subtitle string   `json:"subtitle,omitempty"`
	Buttons  []Button `json:"buttons,omitempty"`
}

// Structured message limits.
const (
	MaxQuickReplies = 13
	maxButtons      = 3
	maxCards        = 10
	maxChoiceTitle  = 20
	maxCardText     = 80
	maxPayload      = 1000
	maxButtonURL    = 2000
)

// messageData is what Message.Data holds.
type messageData struct {
	// Body is the sender's own text, before the fallback was added.
	Body         string       `json:"body,omitempty"`
	QuickReplies []QuickReply `json:"quick_replies,omitempty"`
	Buttons      []Button     `json:"buttons,omitempty"`
	Cards        []Card       `json:"cards,omitempty"`
	// Automated marks a message no person wrote (away message, rating
	// request, a rule's reply).
	Automated bool `json:"automated,omitempty"`
	// QuickReply is the payload of the quick reply a customer tapped.
	QuickReply string `json:"quick_reply,omitempty"`
	// Optin is a notification messages opt-in request (Messenger).
	Optin *OptinRequestView `json:"optin_request,omitempty"`
}

func parseData(s string) *messageData {
	d := &messageData{}
	if s != "" {
		_ = json.Unmarshal([]byte(s), d)
	}
	return d
}

func (d *messageData) structured() bool {
	return len(d.QuickReplies)+len(d.Buttons)+len(d.Cards) > 0
}

func (d *messageData) encode() string {
	if !d.structured() && !d.Automated && d.QuickReply == "" && d.Optin == nil {
		return ""
	}
	return string(mustJSON(d))
}

func checkChoiceTitle(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > maxChoiceTitle || strings.ContainsAny(s, "\r\n") {
		return "", parley.Invalid(field, "a title has 1 to %d characters on one line", maxChoiceTitle)
	}
	return s, nil
}

func checkButtons(field string, bs []Button) ([]Button, error) {
	if len(bs) > maxButtons {
		return nil, parley.Invalid(field, "at most %d buttons", maxButtons)
	}
	out := make([]Button, 0, len(bs))
	for _, b := range bs {
		title, err := checkChoiceTitle(field, b.Title)
		if err != nil {
			return nil, err
		}
		switch b.Type {
		case "postback":
			if b.Payload == "" || len(b.Payload) > maxPayload || b.URL != "" {
				return nil, parley.Invalid(field, "a postback button has a payload of 1 to %d bytes and no url", maxPayload)
			}
		case "url":
			u, err := url.Parse(b.URL)
			if err != nil || len(b.URL) > maxButtonURL || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || b.Payload != "" {
				return nil, parley.Invalid(field, "a url button has an http(s) url of at most %d bytes and no payload", maxButtonURL)
			}
		default:
			return nil, parley.Invalid(field, "a button's type is postback or url")
		}
		out = append(out, Button{Type: b.Type, Title: title, Payload: b.Payload, URL: b.URL})
	}
	return out, nil
}

// structure validates the structured parts of a send and returns the data
// to store and the full text (the sender's text, then the fallback).
func structure(text string, qrs []QuickReply, buttons []Button, cards []Card) (*messageData, string, error) {
	d := &messageData{Body: text}
	if len(qrs) > MaxQuickReplies {
		return nil, "", parley.Invalid("quick_replies", "at most %d quick replies", MaxQuickReplies)
	}
	seen := map[string]bool{}
	for _, q := range qrs {
		title, err := checkChoiceTitle("quick_replies", q.Title)
		if err != nil {
			return nil, "", err
		}
		payload := q.Payload
		if payload == "" {
			payload = title
		}
		if len(payload) > maxPayload || seen[payload] {
			return nil, "", parley.Invalid("quick_replies", "quick reply payloads are distinct, at most %d bytes", maxPayload)
		}
		seen[payload] = true
		d.QuickReplies = append(d.QuickReplies, QuickReply{Title: title, Payload: payload})
	}
	var err error
	if d.Buttons, err = checkButtons("buttons", buttons); err != nil {
		return nil, "", err
	}
	if len(cards) > maxCards {
		return nil, "", parley.Invalid("cards", "a carousel has at most %d cards", maxCards)
	}
	for _, c := range cards {
		title := strings.TrimSpace(c.Title)
		if title == "" || utf8.RuneCountInString(title) > maxCardText || utf8.RuneCountInString(c.Subtitle) > maxCardText {
			return nil, "", parley.Invalid("cards", "a card has a title and a subtitle of at most %d characters", maxCardText)
		}
		bs, err := checkButtons("cards", c.Buttons)
		if err != nil {
			return nil, "", err
		}
		d.Cards = append(d.Cards, Card{Title: title, Subtitle: strings.TrimSpace(c.Subtitle), Buttons: bs})
	}
	if !d.structured() {
		return nil, text, nil
	}
	return d, fallbackText(d), nil
}

// fallbackText is the text of a structured message for clients that show
// only text: the body, the cards, the buttons with their links, and the
// quick replies as words to type.
func fallbackText(d *messageData) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(d.Body))
	line := func(s string) {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(s)
	}
	button := func(prefix string, bt Button) {
		if bt.Type == "url" {
			line(fmt.Sprintf("%s%s: %s", prefix, bt.Title, bt.URL))
		} else {
			line(fmt.Sprintf("%s[%s]", prefix, bt.Title))
		}
	}
	for i, c := range d.Cards {
		head := c.Title
		if len(d.Cards) > 1 {
			head = fmt.Sprintf("%d. %s", i+1, c.Title)
		}
		if c.Subtitle != "" {
			head += " — " + c.Subtitle
		}
		line(head)
		for _, bt := range c.Buttons {
			button("   ", bt)
		}
	}
	for _, bt := range d.Buttons {
		button("", bt)
	}
	if len(d.QuickReplies) > 0 {
		titles := make([]string, len(d.QuickReplies))
		for i, q := range d.QuickReplies {
			titles[i] = q.Title
		}
		line("Reply with: " + strings.Join(titles, " / "))
	}
	return b.String()
}

// postbackOf finds the postback button (or quick reply) of a message with
// that payload and returns its title.
func postbackOf(d *messageData, payload string) (string, bool) {
	for _, bt := range d.Buttons {
		if bt.Type == "postback" && bt.Payload == payload {
			return bt.Title, true
		}
	}
	for _, c := range d.Cards {
		for _, bt := range c.Buttons {
			if bt.Type == "postback" && bt.Payload == payload {
				return bt.Title, true
			}
		}
	}
	return "", false
}
