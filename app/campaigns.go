package app

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// Campaigns send an approved promotional template to a segment of a
// business's contacts who opted in to the template's topic. Each message
// goes through Send, so the policy check (consent, frequency cap, quiet
// hours, window) applies to it in the transaction that stores it, and
// that same transaction marks the recipient sent: a crash neither skips
// nor repeats anyone (campaign_worker.go).

// EventCampaignProgress (ephemeral) tells the business's team how a
// running campaign stands; Data is the CampaignView.
const EventCampaignProgress = "campaign.progress"

// Segment is an audience: every condition set must hold.
type Segment struct {
	Labels []string `json:"labels,omitempty"`
	// Attributes maps a key to the value it must have ("" : any value).
	Attributes map[string]string `json:"attributes,omitempty"`
	// Topics the contacts opted in to.
	Topics []string `json:"topics,omitempty"`
	// ActiveWithinDays: wrote to the business in the last N days.
	ActiveWithinDays int `json:"active_within_days,omitempty"`
	// InactiveForDays: has not written for N days (or never).
	InactiveForDays int `json:"inactive_for_days,omitempty"`
}

func (s *Segment) filter(businessID string, now time.Time) (parley.SegmentFilter, error) {
	f := parley.SegmentFilter{BusinessID: businessID}
	if len(s.Labels)+len(s.Attributes)+len(s.Topics) > 20 {
		return f, parley.Invalid("segment", "a segment has at most 20 conditions")
	}
	labels, err := cleanLabels(s.Labels)
	if err != nil {
		return f, parley.Invalid("segment", "%s", parley.ErrorMessage(err))
	}
	f.Labels = labels
	keys := make([]string, 0, len(s.Attributes))
	for k := range s.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "" || utf8.RuneCountInString(k) > 64 || len(s.Attributes[k]) > 500 {
			return f, parley.Invalid("segment", "attribute keys have 1 to 64 characters, values at most 500")
		}
		f.Attributes = append(f.Attributes, parley.AttributeCondition{Key: k, Value: s.Attributes[k]})
	}
	for _, t := range s.Topics {
		if t == "" || len(t) > 64 {
			return f, parley.Invalid("segment", "topics are topic ids")
		}
		if !slices.Contains(f.Topics, t) {
			f.Topics = append(f.Topics, t)
		}
	}
	if s.ActiveWithinDays < 0 || s.ActiveWithinDays > 3650 || s.InactiveForDays < 0 || s.InactiveForDays > 3650 {
		return f, parley.Invalid("segment", "days are between 0 and 3650")
	}
	if s.ActiveWithinDays > 0 {
		f.ActiveSince = now.Add(-time.Duration(s.ActiveWithinDays) * 24 * time.Hour)
	}
	if s.InactiveForDays > 0 {
		f.InactiveSince = now.Add(-time.Duration(s.InactiveForDays) * 24 * time.Hour)
	}
	return f, nil
}

// CountSegment counts the contacts a segment selects right now.
func (a *App) CountSegment(ctx context.Context, ba *BusinessActor, s Segment) (int, error) {
	f, err := s.filter(ba.Business.ID, a.clock())
	if err != nil {
		return 0, err
	}
	var n int
	err = a.view(ctx, func(tx parley.Tx) error {
		var err error
		n, err = tx.CountSegment(f)
		return err
	})
	return n, err
}

// CampaignView is a campaign and its progress.
type CampaignView struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Template    *TemplateView  `json:"template"`
	Topic       *TopicSummary  `json:"topic"`
	Segment     Segment        `json:"segment"`
	Status      string         `json:"status"`
	ScheduledAt *time.Time     `json:"scheduled_at"`
	Rate        float64        `json:"rate"`
	CreatedBy   string         `json:"created_by"`
	CreatedAt   time.Time      `json:"created_at"`
	StartedAt   *time.Time     `json:"started_at"`
	EndedAt     *time.Time     `json:"ended_at"`
	Total       int            `json:"total"`
	Sent        int            `json:"sent"`
	Failed      int            `json:"failed"`
	Skipped     map[string]int `json:"skipped"`
	// Pending is what is left: Total minus sent, failed and skipped.
	Pending int `json:"pending"`
}

func campaignView(tx parley.Tx, c *parley.Campaign) (*CampaignView, error) {
	v := &CampaignView{ID: c.ID, Name: c.Name, Status: c.Status, ScheduledAt: c.ScheduledAt, Rate: c.Rate, CreatedBy: c.CreatedBy,
		CreatedAt: c.CreatedAt, StartedAt: c.StartedAt, EndedAt: c.EndedAt, Total: c.Total, Sent: c.Sent, Failed: c.Failed,
		Skipped: c.Skipped, Topic: &TopicSummary{ID: c.TopicID}}
	if v.Skipped == nil {
		v.Skipped = map[string]int{}
	}
	skipped := 0
	for _, n := range v.Skipped {
		skipped += n
	}
	v.Pending = max(0, v.Total-v.Sent-v.Failed-skipped)
	_ = json.Unmarshal([]byte(c.Segment), &v.Segment)
	if t, err := tx.Topic(c.BusinessID, c.TopicID); err == nil {
		v.Topic.Name = t.Name
	} else if !parley.IsNotFound(err) {
		return nil, err
	}
	if t, err := tx.Template(c.BusinessID, c.TemplateID); err == nil {
		if v.Template, err = templateView(tx, t); err != nil {
			return nil, err
		}
	} else if !parley.IsNotFound(err) {
		return nil, err
	}
	return v, nil
}

// CampaignInput creates a campaign.
type CampaignInput struct {
	Name     string  `json:"name"`
	Template string  `json:"template"`
	Segment  Segment `json:"segment"`
	// Rate is messages per second (default: the server's campaign rate).
	Rate float64 `json:"rate"`
	// ScheduledAt schedules it; SendNow starts it at once; neither keeps
	// it a draft.
	ScheduledAt *time.Time `json:"scheduled_at"`
	SendNow     bool       `json:"send_now"`
}

// maxCampaignRate caps a campaign's messages per second.
const maxCampaignRate = 100000

// Campaigns lists the business's campaigns, newest first.
func (a *App) Campaigns(ctx context.Context, ba *BusinessActor) ([]*CampaignView, error) {
	out := []*CampaignView{}
	err := a.view(ctx, func(tx parley.Tx) error {
		cs, err := tx.Campaigns(ba.Business.ID)
		if err != nil {
			return err
		}
		for _, c := range cs {
			v, err := campaignView(tx, c)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// Campaign returns one campaign with its progress.
func (a *App) Campaign(ctx context.Context, ba *BusinessActor, id string) (*CampaignView, error) {
	var v *CampaignView
	err := a.view(ctx, func(tx parley.Tx) error {
		c, err := tx.Campaign(ba.Business.ID, id)
		if err != nil {
			return err
		}
		v, err = campaignView(tx, c)
		return err
	})
	return v, err
}

// CreateCampaign creates a campaign of an approved promotional template;
// admins only.
func (a *App) CreateCampaign(ctx context.Context, ba *BusinessActor, in CampaignInput) (*CampaignView, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	name, err := cleanText("name", in.Name, 100, false)
	if err != nil {
		return nil, err
	}
	if name = strings.TrimSpace(name); name == "" {
		return nil, parley.Invalid("name", "a campaign needs a name")
	}
	if in.Rate < 0 || in.Rate > maxCampaignRate {
		return nil, parley.Invalid("rate", "rate is messages per second, up to %d", maxCampaignRate)
	}
	if in.Rate == 0 {
		in.Rate = a.cfg.CampaignRate
	}
	if _, err := in.Segment.filter(ba.Business.ID, a.clock()); err != nil {
		return nil, err
	}
	if in.SendNow && in.ScheduledAt != nil {
		return nil, parley.Invalid("scheduled_at", "schedule it or send it now, not both")
	}
	var v *CampaignView
	err = a.update(ctx, func(w *writer) error {
		t, err := w.Template(ba.Business.ID, in.Template)
		if parley.IsNotFound(err) {
			return parley.Invalid("template", "no such template")
		} else if err != nil {
			return err
		}
		if t.TopicID == "" {
			return parley.Invalid("template", "a campaign sends a promotional template: give the template a topic")
		}
		if t.Status != parley.TemplateApproved {
			return parley.Invalid("template", "template %q is not approved; an admin approves it first", t.Name)
		}
		c := &parley.Campaign{ID: newSortableID(w.now), BusinessID: ba.Business.ID, Name: name, TemplateID: t.ID, TopicID: t.TopicID,
			Segment: string(mustJSON(in.Segment)), Status: parley.CampaignDraft, Rate: in.Rate, CreatedBy: ba.agentID(),
			CreatedAt: w.now, UpdatedAt: w.now}
		switch {
		case in.SendNow:
			now := w.now
			c.Status, c.ScheduledAt = parley.CampaignScheduled, &now
		case in.ScheduledAt != nil:
			at := in.ScheduledAt.UTC()
			c.Status, c.ScheduledAt = parley.CampaignScheduled, &at
		}
		if err := w.CreateCampaign(c); err != nil {
			return err
		}
		v, err = campaignView(w, c)
		return err
	})
	if err == nil && v.Status == parley.CampaignScheduled {
		a.campaigns.poke()
	}
	return v, err
}

// CampaignChange moves a campaign: "scheduled" (with ScheduledAt; a
// draft only), "running" (send a draft now, or resume a paused one),
// "paused", "cancelled".
type CampaignChange struct {
	Status      string     `json:"status"`
	ScheduledAt *time.Time `json:"scheduled_at"`
}

// SetCampaignStatus schedules, starts, pauses, resumes or cancels a
// campaign; admins only. A pause or a cancel holds from the next send on:
// each send checks the campaign's status in its own transaction.
func (a *App) SetCampaignStatus(ctx context.Context, ba *BusinessActor, id string, ch CampaignChange) (*CampaignView, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	var v *CampaignView
	err := a.update(ctx, func(w *writer) error {
		c, err := w.Campaign(ba.Business.ID, id)
		if err != nil {
			return err
		}
		bad := func() error {
			return parley.Errorf(parley.EConflict, "a %s campaign cannot become %s", c.Status, ch.Status)
		}
		switch ch.Status {
		case parley.CampaignScheduled:
			if c.Status != parley.CampaignDraft && c.Status != parley.CampaignScheduled {
				return bad()
			}
			if ch.ScheduledAt == nil {
				return parley.Invalid("scheduled_at", "give the time to send it")
			}
			at := ch.ScheduledAt.UTC()
			c.Status, c.ScheduledAt = parley.CampaignScheduled, &at
		case parley.CampaignRunning:
			switch c.Status {
			case parley.CampaignDraft, parley.CampaignScheduled:
				now := w.now
				c.Status, c.ScheduledAt = parley.CampaignScheduled, &now
			case parley.CampaignPaused:
				c.Status = parley.CampaignRunning
				if c.StartedAt == nil { // paused before its audience was taken
					c.Status = parley.CampaignScheduled
				}
			case parley.CampaignRunning:
			default:
				return bad()
			}
		case parley.CampaignPaused:
			if c.Status != parley.CampaignRunning && c.Status != parley.CampaignScheduled && c.Status != parley.CampaignPaused {
				return bad()
			}
			c.Status = parley.CampaignPaused
		case parley.CampaignCancelled:
			if c.Status == parley.CampaignDone || c.Status == parley.CampaignCancelled {
				return bad()
			}
			now := w.now
			c.Status, c.EndedAt = parley.CampaignCancelled, &now
		default:
			return parley.Invalid("status", "status is scheduled, running, paused or cancelled")
		}
		c.UpdatedAt = w.now
		if err := w.UpdateCampaign(c); err != nil {
			return err
		}
		if err := a.audit(w, AuditEntry{ActorID: ba.agentID(), Action: AuditCampaignStatus, TargetType: "campaign", TargetID: c.ID,
			Details: map[string]string{"business_id": ba.Business.ID, "requested": ch.Status, "status": string(c.Status), "name": c.Name}}); err != nil {
			return err
		}
		v, err = campaignView(w, c)
		return err
	})
	if err == nil {
		a.campaigns.poke()
	}
	return v, err
}

// RecipientView is one contact of a campaign and what became of it.
type RecipientView struct {
	Contact   *ContactSummary `json:"contact"`
	State     string          `json:"state"`
	Reason    string          `json:"reason,omitempty"`
	MessageID string          `json:"message_id,omitempty"`
	NotBefore *time.Time      `json:"not_before,omitempty"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// CampaignRecipients lists a page of a campaign's recipients in one
// state ("" every state).
func (a *App) CampaignRecipients(ctx context.Context, ba *BusinessActor, id, state, cursor string, limit int) (*Page[*RecipientView], error) {
	limit, err := pageLimit(limit, 50)
	if err != nil {
		return nil, err
	}
	if state != "" && !slices.Contains([]string{parley.RecipientPending, parley.RecipientSent, parley.RecipientSkipped, parley.RecipientFailed}, state) {
		return nil, parley.Invalid("state", "state is pending, sent, skipped or failed")
	}
	if len(cursor) > 64 {
		return nil, parley.Invalid("cursor", "cursor is not one this server gave")
	}
	page := &Page[*RecipientView]{Items: []*RecipientView{}}
	err = a.view(ctx, func(tx parley.Tx) error {
		if _, err := tx.Campaign(ba.Business.ID, id); err != nil {
			return err
		}
		rs, err := tx.Recipients(id, state, cursor, limit+1)
		if err != nil {
			return err
		}
		if len(rs) > limit {
			rs = rs[:limit]
			page.NextCursor = rs[limit-1].ContactID
		}
		for _, r := range rs {
			v := &RecipientView{Contact: &ContactSummary{ID: r.ContactID}, State: r.State, Reason: r.Reason, MessageID: r.MessageID, UpdatedAt: r.UpdatedAt}
			if !r.NotBefore.IsZero() {
				nb := r.NotBefore
				v.NotBefore = &nb
			}
			if ct, err := tx.Contact(ba.Business.ID, r.ContactID); err == nil {
				v.Contact.Name = ct.Name
			}
			page.Items = append(page.Items, v)
		}
		return nil
	})
	return page, err
}

// campaignMark is the campaign recipient a message is sent to.
type campaignMark struct {
	campaignID string
	contactID  string
}

// errCampaignHalted rolls back a campaign message whose campaign is no
// longer running or whose recipient was already dealt with.
var errCampaignHalted = errors.New("campaign halted")

// campaignSent marks the recipient of a campaign message sent, in the
// transaction that stores the message: a campaign paused or cancelled,
// or a recipient already handled, refuses it.
func (a *App) campaignSent(w *writer, it *parley.InboxItem, mark *campaignMark, m *parley.Message) error {
	c, err := w.Campaign(it.BusinessID, mark.campaignID)
	if err != nil {
		return err
	}
	if c.Status != parley.CampaignRunning || mark.contactID != it.ContactID {
		return errCampaignHalted
	}
	r, err := w.Recipient(c.ID, mark.contactID)
	if err != nil {
		return err
	}
	if r.State != parley.RecipientPending {
		return errCampaignHalted
	}
	r.State, r.Reason, r.MessageID, r.UpdatedAt = parley.RecipientSent, "", m.ID, w.now
	if err := w.PutRecipient(r); err != nil {
		return err
	}
	c.Sent++
	c.UpdatedAt = w.now
	return w.UpdateCampaign(c)
}
