package app

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/channel"
)

// A template's WhatsApp parts: the parameter of its header (text, or the
// link of an image or a document) and of its buttons (a quick reply's
// payload, the end of a URL button's address). Each may hold the
// template's {{variables}}; a variable without a value refuses the send
// (unresolved_variable) like one in the body. They are stored with the
// template (templates.components) and go out only to WhatsApp.

// TemplateWhatsApp are a template's WhatsApp header and button
// parameters.
type TemplateWhatsApp struct {
	Header  *channel.TemplateHeader  `json:"header,omitempty"`
	Buttons []channel.TemplateButton `json:"buttons,omitempty"`
}

// maxTemplateButtons is the Cloud API's limit of buttons on a template.
const maxTemplateButtons = 10

// fields are the parts' texts that hold variables, in order.
func (tw *TemplateWhatsApp) fields() []*string {
	var out []*string
	if h := tw.Header; h != nil {
		out = append(out, &h.Text, &h.Link, &h.Filename)
	}
	for i := range tw.Buttons {
		out = append(out, &tw.Buttons[i].Param)
	}
	return out
}

// check validates the parts as written (variables unfilled).
func (tw *TemplateWhatsApp) check() error {
	if h := tw.Header; h != nil {
		switch h.Type {
		case channel.HeaderText:
			if strings.TrimSpace(h.Text) == "" || h.Link != "" || h.Filename != "" {
				return parley.Invalid("whatsapp.header", "a text header has a text (and no link)")
			}
		case channel.HeaderImage, channel.HeaderDocument:
			if strings.TrimSpace(h.Link) == "" || h.Text != "" {
				return parley.Invalid("whatsapp.header", "an image or document header has a link (and no text)")
			}
			if len(templateVars(h.Link)) == 0 && !httpsLink(h.Link) {
				return parley.Invalid("whatsapp.header", "the header's link is an https address (or made of variables)")
			}
			if h.Type == channel.HeaderImage && h.Filename != "" {
				return parley.Invalid("whatsapp.header", "only a document header has a filename")
			}
		default:
			return parley.Invalid("whatsapp.header", "a header's type is text, image or document")
		}
	}
	if len(tw.Buttons) > maxTemplateButtons {
		return parley.Invalid("whatsapp.buttons", "a template has at most %d buttons", maxTemplateButtons)
	}
	seen := map[int]bool{}
	for _, b := range tw.Buttons {
		if b.SubType != channel.ButtonQuickReply && b.SubType != channel.ButtonURL {
			return parley.Invalid("whatsapp.buttons", "a button's sub_type is quick_reply or url")
		}
		if b.Index < 0 || b.Index >= maxTemplateButtons || seen[b.Index] {
			return parley.Invalid("whatsapp.buttons", "a button's index is its position from 0 to %d, once each", maxTemplateButtons-1)
		}
		seen[b.Index] = true
		if strings.TrimSpace(b.Param) == "" {
			return parley.Invalid("whatsapp.buttons", "a button needs its parameter")
		}
	}
	for _, f := range tw.fields() {
		if len(*f) > 2000 {
			return parley.Invalid("whatsapp", "a header or button parameter is at most 2000 bytes")
		}
		if v := badVars(*f); v != "" {
			return parley.Invalid("whatsapp", "{{%s}} is not a variable: use contact.*, conversation.* or business.name", v)
		}
		for _, v := range templateVars(*f) {
			if strings.HasPrefix(v, "agent.") {
				return parley.Invalid("whatsapp", "a template has no agent: {{%s}} cannot be filled", v)
			}
		}
	}
	return nil
}

// encode is the parts as stored ("" none).
func (tw *TemplateWhatsApp) encode() string {
	if tw == nil || (tw.Header == nil && len(tw.Buttons) == 0) {
		return ""
	}
	return string(mustJSON(tw))
}

// templateParts reads a template's stored parts (nil: none).
func templateParts(t *parley.Template) *TemplateWhatsApp {
	if t.Components == "" {
		return nil
	}
	var tw TemplateWhatsApp
	if err := json.Unmarshal([]byte(t.Components), &tw); err != nil {
		return nil
	}
	return &tw
}

// renderTemplateItem fills a template in for one conversation (or a
// contact): its body and its WhatsApp parts, whose missing variables
// join the body's.
func renderTemplateItem(tx parley.Tx, ba *BusinessActor, t *parley.Template, it *parley.InboxItem) (*RenderedReply, error) {
	ct, u, err := itemContact(tx, ba, it)
	if err != nil {
		return nil, err
	}
	return templateWith(ba, t, it, ct, u), nil
}

// templateWith is renderTemplateItem with the contact and its account
// loaded (either may be nil: gone).
func templateWith(ba *BusinessActor, t *parley.Template, it *parley.InboxItem, ct *parley.Contact, u *parley.User) *RenderedReply {
	out := renderWith(ba, t.Body, it, ct, u)
	tw := templateParts(t)
	if tw == nil {
		return out
	}
	vals := varsWith(ba, it, ct, u)
	var linkVars []string
	if tw.Header != nil {
		linkVars = templateVars(tw.Header.Link)
	}
	for _, f := range tw.fields() {
		*f = strings.TrimSpace(fillVars(*f, vals, &out.Missing))
	}
	if h := tw.Header; h != nil && h.Link != "" && !httpsLink(h.Link) {
		// The platform fetches the file: variables whose values make no
		// https address have no usable value here.
		for _, v := range linkVars {
			if !slices.Contains(out.Missing, v) {
				out.Missing = append(out.Missing, v)
			}
		}
	}
	out.header, out.buttons = tw.Header, tw.Buttons
	return out
}

// httpsLink reports whether s is an https address the platform can fetch.
func httpsLink(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}
