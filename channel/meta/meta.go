// Package meta speaks the Messenger Platform, which Facebook Messenger
// and Instagram messaging share: the webhook's entry[].messaging[] events
// and the Send API (POST /{version}/{account-id}/messages). The
// messenger and instagram packages are this with their platform's name,
// webhook object and base URL.
package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/parleyhq/parley/channel"
)

// Options configure a Messenger Platform channel.
type Options struct {
	// Platform is the name the channel answers (messenger, instagram).
	Platform string
	// Object is the webhook body's "object" ("page", "instagram").
	Object string
	// BaseURL is the Graph API's base (https://graph.facebook.com); tests
	// point it at a local server.
	BaseURL string
	// Version is the Graph API version ("v21.0").
	Version string
	// Client posts the Send API calls (the SSRF-safe client); when it is
	// also a channel.Getter, attachments are downloaded through it.
	Client channel.Poster
	// Tags are the message tags the platform takes (Messenger: all four;
	// Instagram: HUMAN_AGENT only).
	Tags []string
	// Notifications: the platform has notification messages
	// (Messenger).
	Notifications bool
}

// Channel is a Messenger Platform channel.
type Channel struct{ opts Options }

var (
	_ channel.Channel = (*Channel)(nil)
	_ channel.Fetcher = (*Channel)(nil)
	_ channel.Reactor = (*Channel)(nil)
)

// New returns a channel.
func New(opts Options) *Channel { return &Channel{opts: opts} }

// Platform implements channel.Channel.
func (c *Channel) Platform() string { return c.opts.Platform }

// HumanAgentTag is the message tag of a person's reply after the
// standard window.
const HumanAgentTag = channel.TagHumanAgent

// Capabilities implements channel.Channel: the 24-hour standard window,
// the HUMAN_AGENT tag for 7 days, the platform's other tags and
// notification messages.
func (c *Channel) Capabilities() channel.Capabilities {
	tags := c.opts.Tags
	if len(tags) == 0 {
		tags = []string{HumanAgentTag}
	}
	return channel.Capabilities{Window: 24 * time.Hour, HumanAgent: 7 * 24 * time.Hour, Tags: tags, Notifications: c.opts.Notifications, React: true}
}

type idObj struct {
	ID string `json:"id"`
}

type body struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

type entry struct {
	ID        string      `json:"id"`
	Time      int64       `json:"time"`
	Messaging []messaging `json:"messaging"`
}

type attachment struct {
	Type    string `json:"type"`
	Payload struct {
		URL   string `json:"url"`
		Title string `json:"title"`
	} `json:"payload"`
}

type messaging struct {
	Sender    idObj `json:"sender"`
	Recipient idObj `json:"recipient"`
	Timestamp int64 `json:"timestamp"`
	Message   *struct {
		MID         string       `json:"mid"`
		Text        string       `json:"text"`
		IsEcho      bool         `json:"is_echo"`
		IsDeleted   bool         `json:"is_deleted"`
		Attachments []attachment `json:"attachments"`
		QuickReply  *struct {
			Payload string `json:"payload"`
		} `json:"quick_reply"`
		ReplyTo *struct {
			MID string `json:"mid"`
		} `json:"reply_to"`
		Referral *referral `json:"referral"`
	} `json:"message"`
	Reaction *struct {
		MID      string `json:"mid"`
		Action   string `json:"action"`
		Reaction string `json:"reaction"`
		Emoji    string `json:"emoji"`
	} `json:"reaction"`
	Read *struct {
		MID       string `json:"mid"`
		Watermark int64  `json:"watermark"`
	} `json:"read"`
	Delivery *struct {
		MIDs      []string `json:"mids"`
		Watermark int64    `json:"watermark"`
	} `json:"delivery"`
	Postback *struct {
		MID      string    `json:"mid"`
		Title    string    `json:"title"`
		Payload  string    `json:"payload"`
		Referral *referral `json:"referral"`
	} `json:"postback"`
	Referral    *referral `json:"referral"`
	MessageEdit *struct {
		MID  string `json:"mid"`
		Text string `json:"text"`
	} `json:"message_edit"`
	Optin *optin `json:"optin"`
}

// optin is the messaging_optins event of a notification messages
// request: the token with its frequency and expiry, or a stop/resume.
type optin struct {
	Type      string `json:"type"`
	Payload   string `json:"payload"`
	Title     string `json:"title"`
	Token     string `json:"notification_messages_token"`
	Frequency string `json:"notification_messages_frequency"`
	Timezone  string `json:"notification_messages_timezone"`
	// Expiry is in milliseconds since the epoch.
	Expiry int64  `json:"token_expiry_timestamp"`
	Status string `json:"notification_messages_status"`
}

type referral struct {
	Ref    string `json:"ref"`
	Source string `json:"source"`
	Type   string `json:"type"`
}

// ErrNotThisPlatform is returned for a body of another platform.
var ErrNotThisPlatform = errors.New("the webhook body is not of this platform")

// Parse implements channel.Channel.
func (c *Channel) Parse(raw []byte) ([]channel.Event, error) {
	var b body
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("webhook body: %w", err)
	}
	if b.Object != c.opts.Object {
		return nil, fmt.Errorf("%w: object %q, want %q", ErrNotThisPlatform, b.Object, c.opts.Object)
	}
	var out []channel.Event
	for _, e := range b.Entry {
		for _, m := range e.Messaging {
			out = append(out, events(e.ID, m)...)
		}
	}
	// The platform's order: by timestamp, the body's order among equals.
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

func events(account string, m messaging) []channel.Event {
	ev := channel.Event{AccountID: account, UserID: m.Sender.ID, At: channel.Millis(m.Timestamp)}
	if m.Sender.ID == account {
		// An echo: the business's account is the sender.
		ev.UserID, ev.Echo = m.Recipient.ID, true
	}
	var out []channel.Event
	add := func(kind string, f func(e *channel.Event)) {
		e := ev
		e.Kind = kind
		f(&e)
		out = append(out, e)
	}
	switch {
	case m.Message != nil && m.Message.IsDeleted:
		add(channel.KindUnsend, func(e *channel.Event) { e.TargetMID = m.Message.MID })
	case m.Message != nil:
		msg := m.Message
		ev.Echo = ev.Echo || msg.IsEcho
		story := false
		var atts []channel.Attachment
		for _, a := range msg.Attachments {
			if a.Type == "story_mention" {
				story = true
			}
			atts = append(atts, channel.Attachment{Type: a.Type, URL: a.Payload.URL, Name: a.Payload.Title})
		}
		kind := channel.KindMessage
		if story {
			kind = channel.KindStoryMention
		}
		add(kind, func(e *channel.Event) {
			e.MID, e.Text, e.Attachments = msg.MID, msg.Text, atts
			if msg.QuickReply != nil {
				e.Payload = msg.QuickReply.Payload
			}
			if msg.ReplyTo != nil {
				e.ReplyTo = msg.ReplyTo.MID
			}
		})
		if msg.Referral != nil {
			add(channel.KindReferral, func(e *channel.Event) { setReferral(e, msg.Referral) })
		}
	case m.Reaction != nil:
		add(channel.KindReaction, func(e *channel.Event) {
			e.TargetMID = m.Reaction.MID
			if m.Reaction.Action != "unreact" {
				e.Emoji = m.Reaction.Emoji
				if e.Emoji == "" {
					e.Emoji = reactionEmoji[m.Reaction.Reaction]
				}
				if e.Emoji == "" {
					e.Emoji = "❤️"
				}
			}
		})
	case m.Read != nil:
		add(channel.KindRead, func(e *channel.Event) {
			e.TargetMID, e.Watermark = m.Read.MID, channel.Millis(m.Read.Watermark)
		})
	case m.Delivery != nil:
		add(channel.KindDelivery, func(e *channel.Event) {
			e.MIDs, e.Watermark = m.Delivery.MIDs, channel.Millis(m.Delivery.Watermark)
		})
	case m.Postback != nil:
		add(channel.KindPostback, func(e *channel.Event) {
			e.MID, e.Title, e.Payload = m.Postback.MID, m.Postback.Title, m.Postback.Payload
		})
		if m.Postback.Referral != nil {
			add(channel.KindReferral, func(e *channel.Event) { setReferral(e, m.Postback.Referral) })
		}
	case m.Referral != nil:
		add(channel.KindReferral, func(e *channel.Event) { setReferral(e, m.Referral) })
	case m.MessageEdit != nil:
		add(channel.KindEdit, func(e *channel.Event) { e.TargetMID, e.Text = m.MessageEdit.MID, m.MessageEdit.Text })
	case m.Optin != nil && m.Optin.Type == "notification_messages":
		o := m.Optin
		status := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(o.Status), " ", "_"))
		add(channel.KindOptin, func(e *channel.Event) {
			e.Optin = &channel.Optin{Token: o.Token, Frequency: strings.ToUpper(o.Frequency), Timezone: o.Timezone,
				Expires: channel.Millis(o.Expiry), Payload: o.Payload, Title: o.Title,
				Stopped: status == "STOP_NOTIFICATIONS", Resumed: status == "RESUME_NOTIFICATIONS"}
		})
	}
	return out
}

func setReferral(e *channel.Event, r *referral) { e.Ref, e.Source, e.Type = r.Ref, r.Source, r.Type }

// reactionEmoji maps the Messenger Platform's reaction names to emoji
// (for payloads that carry no emoji).
var reactionEmoji = map[string]string{
	"smile": "😆", "angry": "😠", "sad": "😢", "wow": "😮", "love": "❤️", "like": "👍", "dislike": "👎", "other": "",
}

type sendBody struct {
	Recipient     recipient   `json:"recipient"`
	MessagingType string      `json:"messaging_type,omitempty"`
	Tag           string      `json:"tag,omitempty"`
	Message       sendMessage `json:"message"`
}

// recipient is the person by id, or by their notification messages
// token.
type recipient struct {
	ID    string `json:"id,omitempty"`
	Token string `json:"notification_messages_token,omitempty"`
}

type sendMessage struct {
	Text string `json:"text,omitempty"`
	// Attachment is a *sendAttachment or a *templateAttachment.
	Attachment any `json:"attachment,omitempty"`
}

// templateAttachment is the notification messages opt-in request
// template.
type templateAttachment struct {
	Type    string       `json:"type"`
	Payload optinPayload `json:"payload"`
}

type optinPayload struct {
	TemplateType string `json:"template_type"`
	Title        string `json:"title"`
	ImageURL     string `json:"image_url,omitempty"`
	Payload      string `json:"payload"`
	Frequency    string `json:"notification_messages_frequency"`
	Timezone     string `json:"notification_messages_timezone,omitempty"`
}

// sendAttachment is a file the platform fetches from payload.url.
type sendAttachment struct {
	Type    string `json:"type"`
	Payload struct {
		URL        string `json:"url"`
		IsReusable bool   `json:"is_reusable"`
	} `json:"payload"`
}

type graphError struct {
	Error *struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    int    `json:"code"`
		Subcode int    `json:"error_subcode"`
	} `json:"error"`
}

// Send implements channel.Channel: POST /{version}/{account-id}/messages
// with recipient, messaging_type (RESPONSE, or MESSAGE_TAG with one of
// the platform's tags) and message; a notification message names its
// recipient by the token, without messaging_type; an opt-in request is
// the notification_messages template with messaging_type RESPONSE.
func (c *Channel) Send(ctx context.Context, acct channel.Account, out channel.Outgoing) (string, error) {
	var sb sendBody
	sb.Recipient.ID = out.To
	if out.Media != nil {
		// The Messenger Platform takes a file or a text per message;
		// the app sends one file per message, without text.
		a := &sendAttachment{Type: out.Media.Type}
		if a.Type != "image" && a.Type != "video" && a.Type != "audio" {
			a.Type = "file"
		}
		a.Payload.URL = out.Media.URL
		sb.Message.Attachment = a
	} else {
		sb.Message.Text = out.Text
	}
	caps := c.Capabilities()
	switch tag := channel.TagOf(out.Mode); {
	case out.Mode == channel.ModeStandard || out.Mode == "":
		sb.MessagingType = "RESPONSE"
	case tag != "" && caps.HasTag(tag):
		sb.MessagingType, sb.Tag = "MESSAGE_TAG", tag
	case out.Mode == channel.ModeNotification && caps.Notifications && out.NotificationToken != "":
		sb.Recipient = recipient{Token: out.NotificationToken}
	case out.Mode == channel.ModeOptinRequest && caps.Notifications && out.Optin != nil:
		// The request goes within the standard window, as a reply; the
		// template replaces the message's text.
		o := out.Optin
		sb.MessagingType = "RESPONSE"
		sb.Message = sendMessage{Attachment: &templateAttachment{Type: "template", Payload: optinPayload{TemplateType: "notification_messages",
			Title: o.Title, ImageURL: o.ImageURL, Payload: o.Payload, Frequency: o.Frequency, Timezone: o.Timezone}}}
	default:
		return "", &channel.SendError{Message: fmt.Sprintf("%s has no send mode %q", c.opts.Platform, out.Mode)}
	}
	raw, err := json.Marshal(sb)
	if err != nil {
		return "", err
	}
	var answer struct {
		RecipientID string `json:"recipient_id"`
		MessageID   string `json:"message_id"`
	}
	if err := Post(ctx, c.opts.Client, channel.Endpoint(c.opts.BaseURL, c.opts.Version, acct.ID, "messages"), acct.AccessToken, raw, &answer); err != nil {
		return "", err
	}
	if answer.MessageID == "" {
		return "", &channel.SendError{Status: http.StatusOK, Message: "the Send API answered without a message_id", Temporary: true}
	}
	return answer.MessageID, nil
}

// Post posts a Graph API call with the access token as a bearer token and
// decodes a success into answer; a failure is a *channel.SendError.
func Post(ctx context.Context, client channel.Poster, url, token string, body []byte, answer any) error {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Authorization", "Bearer "+token)
	status, ah, ab, err := client.Post(ctx, url, h, body)
	if err != nil {
		return &channel.SendError{Message: "the Send API did not answer: " + err.Error(), Temporary: true}
	}
	if status/100 != 2 {
		var ge graphError
		_ = json.Unmarshal(ab, &ge)
		if ge.Error != nil {
			return channel.Classify(status, ah, ge.Error.Code, ge.Error.Subcode, ge.Error.Message)
		}
		return channel.Classify(status, ah, 0, 0, "")
	}
	if err := json.Unmarshal(ab, answer); err != nil {
		return &channel.SendError{Status: status, Message: "the Send API's answer is not JSON", Temporary: true}
	}
	return nil
}

// Fetch implements channel.Fetcher: the attachment's URL is a CDN link
// that needs no token (it expires after a while).
func (c *Channel) Fetch(ctx context.Context, _ channel.Account, att channel.Attachment, maxBytes int64) ([]byte, error) {
	if att.URL == "" {
		return nil, &channel.SendError{Message: "the attachment has no URL"}
	}
	g, _ := c.opts.Client.(channel.Getter)
	return channel.Download(ctx, g, att.URL, nil, maxBytes)
}

type reactBody struct {
	Recipient    idObj  `json:"recipient"`
	SenderAction string `json:"sender_action"`
	Payload      struct {
		MessageID string `json:"message_id"`
		Reaction  string `json:"reaction,omitempty"`
	} `json:"payload"`
}

// React implements channel.Reactor: a sender action "react" (or
// "unreact") on the person's message. Instagram takes only the "love"
// reaction, so any emoji is sent as that there.
func (c *Channel) React(ctx context.Context, acct channel.Account, to, mid, emoji string) error {
	var rb reactBody
	rb.Recipient.ID, rb.SenderAction, rb.Payload.MessageID = to, "react", mid
	switch {
	case emoji == "":
		rb.SenderAction = "unreact"
	case c.opts.Object == "instagram":
		rb.Payload.Reaction = "love"
	default:
		rb.Payload.Reaction = emoji
	}
	raw, err := json.Marshal(rb)
	if err != nil {
		return err
	}
	var answer struct {
		RecipientID string `json:"recipient_id"`
	}
	return Post(ctx, c.opts.Client, channel.Endpoint(c.opts.BaseURL, c.opts.Version, acct.ID, "messages"), acct.AccessToken, raw, &answer)
}
