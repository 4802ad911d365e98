package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// TopicInput creates or changes a consent topic; empty fields are left
// as they are on update.
type TopicInput struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// Keyword: a customer's whole message equal to it opts them in.
	Keyword string `json:"keyword,omitempty"`
	// RotateForm replaces the opt-in link's secret (update only).
	RotateForm bool `json:"rotate_form,omitempty"`
}

// Topic is a subject customers consent to hear about.
type Topic struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Keyword     string `json:"keyword"`
	// FormToken is the secret of the shareable opt-in link at FormPath.
	FormToken string `json:"form_token"`
	FormPath  string `json:"form_path"`
	// LinkPath is the web app's page for the link (/subscribe/{token}),
	// the one to share with people.
	LinkPath string `json:"link_path"`
	// LinkURL is LinkPath in full when the server knows its public
	// address (PARLEY_PUBLIC_URL).
	LinkURL string `json:"link_url,omitempty"`
	// Payload is the quick-reply or postback payload that opts in.
	Payload   string    `json:"payload"`
	CreatedAt time.Time `json:"created_at"`
}

// Topics lists the business's consent topics.
func (b *Business) Topics(ctx context.Context) ([]Topic, error) {
	var out Page[Topic]
	_, err := b.c.call(ctx, http.MethodGet, b.path("/topics"), nil, nil, &out)
	return out.Items, err
}

// CreateTopic creates a consent topic (business admins).
func (b *Business) CreateTopic(ctx context.Context, in TopicInput) (*Topic, error) {
	var out Topic
	_, err := b.c.call(ctx, http.MethodPost, b.path("/topics"), nil, in, &out)
	return ret(&out, err)
}

// UpdateTopic changes a consent topic (business admins).
func (b *Business) UpdateTopic(ctx context.Context, id string, in TopicInput) (*Topic, error) {
	var out Topic
	_, err := b.c.call(ctx, http.MethodPatch, b.path("/topics/"+esc(id)), nil, in, &out)
	return ret(&out, err)
}

// DeleteTopic deletes a consent topic (business admins).
func (b *Business) DeleteTopic(ctx context.Context, id string) error {
	return b.c.Do(ctx, http.MethodDelete, b.path("/topics/"+esc(id)), nil, nil)
}

// Template statuses.
const (
	TemplateDraft    = "draft"
	TemplateApproved = "approved"
)

// TemplateInput creates or changes a message template; empty fields are
// left as they are on update.
type TemplateInput struct {
	Name string `json:"name,omitempty"`
	// Body is the text with {{variables}}.
	Body string `json:"body,omitempty"`
	// Topic is the consent topic the template belongs to.
	Topic string `json:"topic,omitempty"`
	// Status is TemplateDraft or TemplateApproved.
	Status string `json:"status,omitempty"`
	// WhatsApp replaces the WhatsApp header and button parameters (nil
	// keeps them, an empty value removes them).
	WhatsApp *TemplateWhatsApp `json:"whatsapp,omitempty"`
}

// TemplateWhatsApp are a template's WhatsApp header and button
// parameters; each text may hold the template's {{variables}}.
type TemplateWhatsApp struct {
	Header  *TemplateHeader  `json:"header,omitempty"`
	Buttons []TemplateButton `json:"buttons,omitempty"`
}

// TemplateHeader is a WhatsApp template header's parameter: Type text
// with Text, or image or document with an https Link (and a document's
// Filename).
type TemplateHeader struct {
	Type     string `json:"type"`
	Text     string `json:"text,omitempty"`
	Link     string `json:"link,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// TemplateButton is a WhatsApp template button's parameter: SubType
// quick_reply (Parameter is the payload) or url (the end of the address),
// Index its position from 0.
type TemplateButton struct {
	SubType   string `json:"sub_type"`
	Index     int    `json:"index"`
	Parameter string `json:"parameter"`
}

// TopicSummary names a consent topic inside other objects.
type TopicSummary struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Template is a campaign message template.
type Template struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Body string `json:"body"`
	// Topic is the consent topic it belongs to, nil for none.
	Topic      *TopicSummary     `json:"topic"`
	Status     string            `json:"status"`
	WhatsApp   *TemplateWhatsApp `json:"whatsapp,omitempty"`
	Variables  []string          `json:"variables"`
	CreatedBy  string            `json:"created_by"`
	ApprovedBy string            `json:"approved_by,omitempty"`
	ApprovedAt *time.Time        `json:"approved_at,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

// RenderedTemplate is a template filled in for one contact; Missing names
// the variables the contact has no value for.
type RenderedTemplate struct {
	Text    string   `json:"text"`
	Missing []string `json:"missing"`
}

// Segment selects contacts for a campaign; empty fields select everyone.
type Segment struct {
	Labels           []string          `json:"labels,omitempty"`
	Attributes       map[string]string `json:"attributes,omitempty"`
	Topics           []string          `json:"topics,omitempty"`
	ActiveWithinDays int               `json:"active_within_days,omitempty"`
	InactiveForDays  int               `json:"inactive_for_days,omitempty"`
}

// Templates lists the business's message templates.
func (b *Business) Templates(ctx context.Context) ([]Template, error) {
	var out Page[Template]
	_, err := b.c.call(ctx, http.MethodGet, b.path("/templates"), nil, nil, &out)
	return out.Items, err
}

// CreateTemplate creates a message template.
func (b *Business) CreateTemplate(ctx context.Context, in TemplateInput) (*Template, error) {
	var out Template
	_, err := b.c.call(ctx, http.MethodPost, b.path("/templates"), nil, in, &out)
	return ret(&out, err)
}

// UpdateTemplate changes a message template (approving it included).
func (b *Business) UpdateTemplate(ctx context.Context, id string, in TemplateInput) (*Template, error) {
	var out Template
	_, err := b.c.call(ctx, http.MethodPatch, b.path("/templates/"+esc(id)), nil, in, &out)
	return ret(&out, err)
}

// DeleteTemplate deletes a message template.
func (b *Business) DeleteTemplate(ctx context.Context, id string) error {
	return b.c.Do(ctx, http.MethodDelete, b.path("/templates/"+esc(id)), nil, nil)
}

// PreviewTemplate renders a template for one contact.
func (b *Business) PreviewTemplate(ctx context.Context, id, contact string) (*RenderedTemplate, error) {
	v := url.Values{}
	setString(v, "contact", contact)
	var out RenderedTemplate
	_, err := b.c.call(ctx, http.MethodGet, b.path("/templates/"+esc(id)+"/preview"), v, nil, &out)
	return ret(&out, err)
}

// CountSegment says how many contacts a segment selects.
func (b *Business) CountSegment(ctx context.Context, s Segment) (int, error) {
	var out struct {
		Count int `json:"count"`
	}
	_, err := b.c.call(ctx, http.MethodPost, b.path("/segments/count"), nil, s, &out)
	return out.Count, err
}
