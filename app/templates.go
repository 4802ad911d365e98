package app

import (
	"context"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// Templates are a business's messages with {{variables}} (the saved
// replies' variables: contact.*, conversation.*, business.name). Only
// approved ones are sent: by campaigns, and in a conversation whose
// messaging window is closed. A template with a topic is promotional.

// TemplateView is a template as the team sees it.
type TemplateView struct {
	ID     string        `json:"id"`
	Name   string        `json:"name"`
	Body   string        `json:"body"`
	Topic  *TopicSummary `json:"topic"`
	Status string        `json:"status"`
	// WhatsApp are the header and button parameters sent to WhatsApp.
	WhatsApp   *TemplateWhatsApp `json:"whatsapp,omitempty"`
	Variables  []string          `json:"variables"`
	CreatedBy  string            `json:"created_by"`
	ApprovedBy string            `json:"approved_by,omitempty"`
	ApprovedAt *time.Time        `json:"approved_at,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

func templateView(tx parley.Tx, t *parley.Template) (*TemplateView, error) {
	v := &TemplateView{ID: t.ID, Name: t.Name, Body: t.Body, Status: t.Status, WhatsApp: templateParts(t), Variables: templateVars(t.Body), CreatedBy: t.CreatedBy,
		ApprovedBy: t.ApprovedBy, ApprovedAt: t.ApprovedAt, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if t.TopicID != "" {
		tp, err := tx.Topic(t.BusinessID, t.TopicID)
		if err != nil && !parley.IsNotFound(err) {
			return nil, err
		}
		v.Topic = &TopicSummary{ID: t.TopicID}
		if tp != nil {
			v.Topic.Name = tp.Name
		}
	}
	return v, nil
}

// TemplateInput creates or changes a template; nil fields stay. Only an
// admin may set Status; changing the body of an approved template makes
// it a draft again unless an admin approves it in the same request.
type TemplateInput struct {
	Name   *string `json:"name"`
	Body   *string `json:"body"`
	Topic  *string `json:"topic"`
	Status *string `json:"status"`
	// WhatsApp replaces the WhatsApp header and button parameters (an
	// empty object removes them).
	WhatsApp *TemplateWhatsApp `json:"whatsapp"`
}

// maxTemplates caps a business's templates.
const maxTemplates = 500

// Templates lists the business's templates.
func (a *App) Templates(ctx context.Context, ba *BusinessActor) ([]*TemplateView, error) {
	out := []*TemplateView{}
	err := a.view(ctx, func(tx parley.Tx) error {
		ts, err := tx.Templates(ba.Business.ID)
		if err != nil {
			return err
		}
		for _, t := range ts {
			v, err := templateView(tx, t)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// SaveTemplate creates (id "") or changes a template.
func (a *App) SaveTemplate(ctx context.Context, ba *BusinessActor, id string, in TemplateInput) (*TemplateView, error) {
	if in.Status != nil {
		if err := ba.requireAdmin(); err != nil {
			return nil, parley.Errorf(parley.EForbidden, "only admins of the business approve templates")
		}
		if *in.Status != parley.TemplateDraft && *in.Status != parley.TemplateApproved {
			return nil, parley.Invalid("status", "status is draft or approved")
		}
	}
	var view *TemplateView
	err := a.update(ctx, func(w *writer) error {
		t := &parley.Template{BusinessID: ba.Business.ID, ID: newID(), Status: parley.TemplateDraft, CreatedBy: ba.agentID(), CreatedAt: w.now}
		if id != "" {
			var err error
			if t, err = w.Template(ba.Business.ID, id); err != nil {
				return err
			}
		} else {
			ts, err := w.Templates(ba.Business.ID)
			if err != nil {
				return err
			}
			if len(ts) >= maxTemplates {
				return parley.Errorf(parley.EConflict, "a business has at most %d templates", maxTemplates)
			}
			if in.Name == nil || in.Body == nil {
				return parley.Invalid("name", "a template needs a name and a body")
			}
		}
		if in.Name != nil {
			n, err := cleanText("name", *in.Name, 100, false)
			if err != nil {
				return err
			}
			if t.Name = strings.TrimSpace(n); t.Name == "" {
				return parley.Invalid("name", "a template needs a name")
			}
		}
		if in.Body != nil {
			b, err := cleanText("body", *in.Body, a.cfg.MaxTextLen, true)
			if err != nil {
				return err
			}
			if strings.TrimSpace(b) == "" {
				return parley.Invalid("body", "a template needs a body")
			}
			if v := badVars(b); v != "" {
				return parley.Invalid("body", "{{%s}} is not a variable: use contact.*, conversation.* or business.name", v)
			}
			if b != t.Body && t.Status == parley.TemplateApproved {
				t.Status, t.ApprovedBy, t.ApprovedAt = parley.TemplateDraft, "", nil
			}
			t.Body = b
		}
		for _, v := range templateVars(t.Body) {
			if strings.HasPrefix(v, "agent.") {
				return parley.Invalid("body", "a template has no agent: {{%s}} cannot be filled", v)
			}
		}
		if in.WhatsApp != nil {
			if err := in.WhatsApp.check(); err != nil {
				return err
			}
			c := in.WhatsApp.encode()
			if c != t.Components && t.Status == parley.TemplateApproved {
				t.Status, t.ApprovedBy, t.ApprovedAt = parley.TemplateDraft, "", nil
			}
			t.Components = c
		}
		if in.Topic != nil {
			if *in.Topic != "" {
				if _, err := w.Topic(ba.Business.ID, *in.Topic); parley.IsNotFound(err) {
					return parley.Invalid("topic", "no such topic")
				} else if err != nil {
					return err
				}
			}
			if *in.Topic != t.TopicID && t.Status == parley.TemplateApproved {
				t.Status, t.ApprovedBy, t.ApprovedAt = parley.TemplateDraft, "", nil
			}
			t.TopicID = *in.Topic
		}
		if in.Status != nil && *in.Status != t.Status {
			t.Status = *in.Status
			t.ApprovedBy, t.ApprovedAt = "", nil
			if t.Status == parley.TemplateApproved {
				now := w.now
				t.ApprovedBy, t.ApprovedAt = ba.agentID(), &now
			}
		}
		t.UpdatedAt = w.now
		var err error
		if id == "" {
			err = w.CreateTemplate(t)
		} else {
			err = w.UpdateTemplate(t)
		}
		if err != nil {
			return err
		}
		view, err = templateView(w, t)
		return err
	})
	return view, err
}

// DeleteTemplate deletes a template; admins only. A campaign that may still
// send it (draft, scheduled, running, paused) refuses (ETemplateInUse).
func (a *App) DeleteTemplate(ctx context.Context, ba *BusinessActor, id string) error {
	if err := ba.requireAdmin(); err != nil {
		return err
	}
	return a.update(ctx, func(w *writer) error {
		// Checked in the transaction that deletes: a campaign created or
		// resumed meanwhile is seen.
		cs, err := w.Campaigns(ba.Business.ID)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.TemplateID == id && campaignMaySend(c.Status) {
				return parley.Errorf(parley.ETemplateInUse, "campaign %q (%s) sends this template; cancel it or let it finish first", c.Name, c.Status)
			}
		}
		return w.DeleteTemplate(ba.Business.ID, id)
	})
}

// campaignMaySend reports whether a campaign in this state may still send.
func campaignMaySend(status string) bool {
	return status != parley.CampaignDone && status != parley.CampaignCancelled
}

// PreviewTemplate fills a template in for one contact (their newest
// conversation's attributes included); Missing lists what has no value,
// which would refuse the send.
func (a *App) PreviewTemplate(ctx context.Context, ba *BusinessActor, id, contactID string) (*RenderedReply, error) {
	var out *RenderedReply
	err := a.view(ctx, func(tx parley.Tx) error {
		t, err := tx.Template(ba.Business.ID, id)
		if err != nil {
			return err
		}
		ct, err := tx.Contact(ba.Business.ID, contactID)
		if parley.IsNotFound(err) {
			return parley.Invalid("contact", "no such contact")
		} else if err != nil {
			return err
		}
		it, err := contactItem(tx, ct)
		if err != nil {
			return err
		}
		out, err = renderTemplateItem(tx, ba, t, it)
		return err
	})
	return out, err
}

// contactItem is a contact's newest conversation with the business, or
// a stand-in without a conversation.
func contactItem(tx parley.Tx, ct *parley.Contact) (*parley.InboxItem, error) {
	items, err := tx.InboxItems(parley.InboxFilter{BusinessID: ct.BusinessID, ContactID: ct.ID, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return &parley.InboxItem{BusinessID: ct.BusinessID, ContactID: ct.ID}, nil
	}
	return items[0], nil
}

// renderTemplate loads an approved template and fills it in for a
// conversation of the business.
func (a *App) renderTemplate(ctx context.Context, ba *BusinessActor, id, convID string) (*parley.Template, *RenderedReply, error) {
	var t *parley.Template
	var out *RenderedReply
	err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		if t, err = tx.Template(ba.Business.ID, id); parley.IsNotFound(err) {
			return parley.Invalid("template", "no such template")
		} else if err != nil {
			return err
		}
		if t.Status != parley.TemplateApproved {
			return parley.Invalid("template", "template %q is not approved; an admin approves templates before they are sent", t.Name)
		}
		it, err := itemOf(tx, ba, convID)
		if err != nil {
			return err
		}
		out, err = renderTemplateItem(tx, ba, t, it)
		return err
	})
	return t, out, err
}
