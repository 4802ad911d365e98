// Package whatsapp is the WhatsApp Cloud API channel: a WhatsApp Business
// phone number's conversations (webhook object
// "whatsapp_business_account", field "messages") and its send endpoint
// (POST /{version}/{phone-number-id}/messages). Outside the 24-hour
// customer service window only templates approved by Meta may be sent.
package whatsapp

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/channel"
	"github.com/parleyhq/parley/channel/meta"
)

// DefaultBaseURL is the Graph API.
const DefaultBaseURL = "https://graph.facebook.com"

// Channel is the WhatsApp channel.
type Channel struct {
	client  channel.Poster
	base    string
	version string
}

var (
	_ channel.Channel = (*Channel)(nil)
	_ channel.Fetcher = (*Channel)(nil)
	_ channel.Reactor = (*Channel)(nil)
)

// New returns the WhatsApp channel posting through client to baseURL
// (DefaultBaseURL when empty) with the Graph API version.
func New(client channel.Poster, baseURL, version string) *Channel {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	return &Channel{client: client, base: baseURL, version: version}
}

// Platform implements channel.Channel.
func (c *Channel) Platform() string { return parley.PlatformWhatsApp }

// Capabilities implements channel.Channel: the 24-hour customer service
// window, templates outside it, no human-agent tag.
func (c *Channel) Capabilities() channel.Capabilities {
	return channel.Capabilities{Window: 24 * time.Hour, Templates: true, Caption: true, React: true}
}

type body struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Changes []struct {
			Field string `json:"field"`
			Value value  `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type media struct {
	ID       string `json:"id"`
	MIME     string `json:"mime_type"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type message struct {
	From      string `json:"from"`
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Type      string `json:"type"`
	Text      *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *media `json:"image"`
	Video    *media `json:"video"`
	Audio    *media `json:"audio"`
	Document *media `json:"document"`
	Sticker  *media `json:"sticker"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
	Button *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	Interactive *struct {
		Type        string `json:"type"`
		ButtonReply *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"list_reply"`
	} `json:"interactive"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
	} `json:"location"`
	Context *struct {
		ID string `json:"id"`
	} `json:"context"`
	Referral *struct {
		SourceURL  string `json:"source_url"`
		SourceType string `json:"source_type"`
		SourceID   string `json:"source_id"`
		Headline   string `json:"headline"`
	} `json:"referral"`
}

type value struct {
	MessagingProduct string `json:"messaging_product"`
	Metadata         struct {
		PhoneNumberID string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID string `json:"wa_id"`
	} `json:"contacts"`
	Messages []message `json:"messages"`
	Statuses []struct {
		ID          string `json:"id"`
		Status      string `json:"status"`
		Timestamp   string `json:"timestamp"`
		RecipientID string `json:"recipient_id"`
		Errors      []struct {
			Code    int    `json:"code"`
			Title   string `json:"title"`
			Message string `json:"message"`
		} `json:"errors"`
	} `json:"statuses"`
}

func seconds(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// Parse implements channel.Channel.
func (c *Channel) Parse(raw []byte) ([]channel.Event, error) {
	var b body
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("webhook body: %w", err)
	}
	if b.Object != "whatsapp_business_account" {
		return nil, fmt.Errorf("%w: object %q, want whatsapp_business_account", meta.ErrNotThisPlatform, b.Object)
	}
	var out []channel.Event
	for _, e := range b.Entry {
		for _, ch := range e.Changes {
			if ch.Field != "messages" {
				continue
			}
			v := ch.Value
			account := v.Metadata.PhoneNumberID
			names := map[string]string{}
			for _, ct := range v.Contacts {
				names[ct.WaID] = ct.Profile.Name
			}
			for _, m := range v.Messages {
				out = append(out, messageEvents(account, names[m.From], m)...)
			}
			for _, s := range v.Statuses {
				ev := channel.Event{Kind: channel.KindStatus, AccountID: account, UserID: s.RecipientID, TargetMID: s.ID,
					Status: s.Status, At: seconds(s.Timestamp)}
				if len(s.Errors) > 0 {
					ev.Error = fmt.Sprintf("%s (code %d)", s.Errors[0].Title, s.Errors[0].Code)
				}
				out = append(out, ev)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

func messageEvents(account, name string, m message) []channel.Event {
	ev := channel.Event{Kind: channel.KindMessage, AccountID: account, UserID: m.From, UserName: name, MID: m.ID, At: seconds(m.Timestamp)}
	if m.Context != nil {
		ev.ReplyTo = m.Context.ID
	}
	att := func(kind string, md *media) {
		if md != nil {
			ev.Attachments = append(ev.Attachments, channel.Attachment{Type: kind, MediaID: md.ID, MIME: md.MIME, Name: md.Filename, Caption: md.Caption})
			if ev.Text == "" {
				ev.Text = md.Caption
			}
		}
	}
	switch m.Type {
	case "text":
		if m.Text != nil {
			ev.Text = m.Text.Body
		}
	case "image":
		att("image", m.Image)
	case "video":
		att("video", m.Video)
	case "audio":
		att("audio", m.Audio)
	case "document":
		att("file", m.Document)
	case "sticker":
		att("sticker", m.Sticker)
	case "reaction":
		if m.Reaction == nil {
			return nil
		}
		// An empty emoji removes the reaction.
		ev.Kind, ev.MID, ev.TargetMID, ev.Emoji = channel.KindReaction, "", m.Reaction.MessageID, m.Reaction.Emoji
	case "button":
		if m.Button != nil {
			ev.Kind, ev.Title, ev.Payload = channel.KindPostback, m.Button.Text, m.Button.Payload
		}
	case "interactive":
		if it := m.Interactive; it != nil {
			ev.Kind = channel.KindPostback
			if it.ButtonReply != nil {
				ev.Title, ev.Payload = it.ButtonReply.Title, it.ButtonReply.ID
			} else if it.ListReply != nil {
				ev.Title, ev.Payload = it.ListReply.Title, it.ListReply.ID
			}
		}
	case "location":
		if l := m.Location; l != nil {
			ev.Text = fmt.Sprintf("%s %s https://www.openstreetmap.org/?mlat=%f&mlon=%f", l.Name, l.Address, l.Latitude, l.Longitude)
		}
	default:
		ev.Text = "[" + m.Type + " message: not shown here; open WhatsApp to see it]"
	}
	out := []channel.Event{ev}
	if r := m.Referral; r != nil {
		out = append(out, channel.Event{Kind: channel.KindReferral, AccountID: account, UserID: m.From, At: ev.At,
			Ref: r.SourceID, Source: r.SourceType, Type: "ad", Title: r.Headline, Payload: r.SourceURL})
	}
	return out
}

type sendBody struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Type             string `json:"type"`
	Text             *struct {
		Body string `json:"body"`
	} `json:"text,omitempty"`
	Template *template  `json:"template,omitempty"`
	Image    *sendMedia `json:"image,omitempty"`
	Video    *sendMedia `json:"video,omitempty"`
	Audio    *sendMedia `json:"audio,omitempty"`
	Document *sendMedia `json:"document,omitempty"`
	Reaction *reaction  `json:"reaction,omitempty"`
}

// sendMedia is a file the Cloud API fetches from link.
type sendMedia struct {
	Link     string `json:"link"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

type template struct {
	Name     string `json:"name"`
	Language struct {
		Code string `json:"code"`
	} `json:"language"`
	Components []component `json:"components,omitempty"`
}

type component struct {
	Type       string      `json:"type"`
	Parameters []parameter `json:"parameters"`
}

type parameter struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Send implements channel.Channel: POST /{version}/{phone-number-id}/messages
// with messaging_product "whatsapp" and type text or template.
func (c *Channel) Send(ctx context.Context, acct channel.Account, out channel.Outgoing) (string, error) {
	sb := sendBody{MessagingProduct: "whatsapp", RecipientType: "individual", To: out.To}
	switch out.Mode {
	case channel.ModeStandard, "":
		if md := out.Media; md != nil {
			m := &sendMedia{Link: md.URL}
			switch md.Type {
			case "image":
				sb.Type, sb.Image, m.Caption = "image", m, out.Text
			case "video":
				sb.Type, sb.Video, m.Caption = "video", m, out.Text
			case "audio":
				sb.Type, sb.Audio = "audio", m // audio takes no caption
			default:
				sb.Type, sb.Document, m.Caption, m.Filename = "document", m, out.Text, md.Name
			}
			break
		}
		sb.Type = "text"
		sb.Text = &struct {
			Body string `json:"body"`
		}{out.Text}
	case channel.ModeTemplate:
		if out.Template == "" {
			return "", &channel.SendError{Message: "a template message needs the template's name"}
		}
		sb.Type = "template"
		sb.Template = &template{Name: out.Template}
		sb.Template.Language.Code = out.Language
		if sb.Template.Language.Code == "" {
			sb.Template.Language.Code = "en_US"
		}
		if len(out.Params) > 0 {
			// The template's variables, in order, fill {{1}}, {{2}} ...
			// of its body.
			body := component{Type: "body"}
			for _, p := range out.Params {
				body.Parameters = append(body.Parameters, parameter{Type: "text", Text: p})
			}
			sb.Template.Components = []component{body}
		}
	default:
		return "", &channel.SendError{Message: fmt.Sprintf("whatsapp has no send mode %q", out.Mode)}
	}
	raw, err := json.Marshal(sb)
	if err != nil {
		return "", err
	}
	var answer struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := meta.Post(ctx, c.client, channel.Endpoint(c.base, c.version, acct.ID, "messages"), acct.AccessToken, raw, &answer); err != nil {
		return "", err
	}
	if len(answer.Messages) == 0 || answer.Messages[0].ID == "" {
		return "", &channel.SendError{Status: http.StatusOK, Message: "the Cloud API answered without a message id", Temporary: true}
	}
	return answer.Messages[0].ID, nil
}

// Fetch implements channel.Fetcher: GET /{version}/{media-id} with the
// access token gives the media's URL (valid for minutes), which is then
// downloaded with the same token; the SHA-256 the Graph API gives is
// checked.
func (c *Channel) Fetch(ctx context.Context, acct channel.Account, att channel.Attachment, maxBytes int64) ([]byte, error) {
	if att.MediaID == "" {
		return nil, &channel.SendError{Message: "the attachment has no media id"}
	}
	g, _ := c.client.(channel.Getter)
	h := http.Header{}
	h.Set("Authorization", "Bearer "+acct.AccessToken)
	raw, err := channel.Download(ctx, g, channel.Endpoint(c.base, c.version, att.MediaID), h, channel.MaxAnswer)
	if err != nil {
		return nil, err
	}
	var info struct {
		URL    string `json:"url"`
		MIME   string `json:"mime_type"`
		SHA256 string `json:"sha256"`
		// FileSize is a number or a string of digits (both are seen).
		FileSize json.Number `json:"file_size"`
	}
	if err := json.Unmarshal(raw, &info); err != nil || info.URL == "" {
		return nil, &channel.SendError{Message: "the media endpoint answered without a url", Temporary: true}
	}
	if n, err := info.FileSize.Int64(); err == nil && n > maxBytes {
		return nil, &channel.SendError{Message: fmt.Sprintf("the file has %d bytes, more than %d", n, maxBytes)}
	}
	body, err := channel.Download(ctx, g, info.URL, h, maxBytes)
	if err != nil {
		return nil, err
	}
	if info.SHA256 != "" {
		// Hex in the media endpoint's answer, base64 in webhooks: take either.
		sum := sha256.Sum256(body)
		if !strings.EqualFold(hex.EncodeToString(sum[:]), info.SHA256) && base64.StdEncoding.EncodeToString(sum[:]) != info.SHA256 {
			return nil, &channel.SendError{Message: "the downloaded file does not match its SHA-256", Temporary: true}
		}
	}
	return body, nil
}

// React implements channel.Reactor: a message of type reaction on the
// person's message (an empty emoji removes it).
func (c *Channel) React(ctx context.Context, acct channel.Account, to, mid, emoji string) error {
	sb := sendBody{MessagingProduct: "whatsapp", RecipientType: "individual", To: to, Type: "reaction",
		Reaction: &reaction{MessageID: mid, Emoji: emoji}}
	raw, err := json.Marshal(sb)
	if err != nil {
		return err
	}
	var answer struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	return meta.Post(ctx, c.client, channel.Endpoint(c.base, c.version, acct.ID, "messages"), acct.AccessToken, raw, &answer)
}
