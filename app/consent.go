package app

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// Consent: a contact opts in per topic of a business, through a quick
// reply or postback (payload "consent:<topic id>"), a keyword, the topic's
// shareable link, or the business's API; STOP (and its translations) opts
// out of every topic at once and is confirmed once. Every change is kept
// as a record with its channel and proof. Opting out is read by the policy
// check inside each send's transaction, so it holds from the next send on,
// campaigns already running included.

// EventConsentChanged tells the business's team that a contact's consent
// changed (Data: contact, topic, opted_in, channel).
const EventConsentChanged = "consent.changed"

// consentPayload prefixes the quick-reply and postback payloads that opt
// in to a topic; "consent:stop" opts out of everything.
const consentPayload = "consent:"

// TopicView is a topic as the business's team sees it.
type TopicView struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Keyword     string `json:"keyword"`
	// FormToken is the secret of the opt-in link: /api/v1/consent/{token}.
	FormToken string `json:"form_token"`
	FormPath  string `json:"form_path"`
	// LinkPath is the web app's page for the link, the one to share:
	// /subscribe/{token}; LinkURL is it in full when the server knows its
	// public address (PARLEY_PUBLIC_URL).
	LinkPath  string    `json:"link_path"`
	LinkURL   string    `json:"link_url,omitempty"`
	Payload   string    `json:"payload"`
	CreatedAt time.Time `json:"created_at"`
}

func (a *App) topicView(t *parley.Topic) *TopicView {
	v := &TopicView{ID: t.ID, Name: t.Name, Description: t.Description, Keyword: t.Keyword, FormToken: t.FormToken,
		FormPath: "/api/v1/consent/" + t.FormToken, LinkPath: "/subscribe/" + t.FormToken, Payload: consentPayload + t.ID, CreatedAt: t.CreatedAt}
	if a.publicURL != "" {
		v.LinkURL = strings.TrimRight(a.publicURL, "/") + v.LinkPath
	}
	return v
}

// TopicInput creates or changes a topic; nil fields stay.
type TopicInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Keyword     *string `json:"keyword"`
	// RotateForm replaces the opt-in link's token (the old link stops working).
	RotateForm bool `json:"rotate_form"`
}

// normalizeKeyword is how keywords compare: trimmed, trailing
// punctuation dropped, upper case.
func normalizeKeyword(s string) string {
	return strings.ToUpper(strings.Trim(s, " \t\r\n.!?¡¿"))
}

// Topics lists the business's topics.
func (a *App) Topics(ctx context.Context, ba *BusinessActor) ([]*TopicView, error) {
	out := []*TopicView{}
	err := a.view(ctx, func(tx parley.Tx) error {
		ts, err := tx.Topics(ba.Business.ID)
		for _, t := range ts {
			out = append(out, a.topicView(t))
		}
		return err
	})
	return out, err
}

// maxTopics caps a business's topics.
const maxTopics = 100

// SaveTopic creates (id "") or changes a topic; admins only.
func (a *App) SaveTopic(ctx context.Context, ba *BusinessActor, id string, in TopicInput) (*TopicView, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	var view *TopicView
	err := a.update(ctx, func(w *writer) error {
		t := &parley.Topic{BusinessID: ba.Business.ID, ID: newID(), FormToken: newID() + newID(), CreatedAt: w.now}
		if id != "" {
			var err error
			if t, err = w.Topic(ba.Business.ID, id); err != nil {
				return err
			}
		} else {
			ts, err := w.Topics(ba.Business.ID)
			if err != nil {
				return err
			}
			if len(ts) >= maxTopics {
				return parley.Errorf(parley.EConflict, "a business has at most %d topics", maxTopics)
			}
			if in.Name == nil {
				return parley.Invalid("name", "a topic needs a name")
			}
		}
		if in.Name != nil {
			n, err := cleanText("name", *in.Name, 60, false)
			if err != nil {
				return err
			}
			if t.Name = strings.TrimSpace(n); t.Name == "" {
				return parley.Invalid("name", "a topic needs a name")
			}
		}
		if in.Description != nil {
			d, err := cleanText("description", *in.Description, 500, true)
			if err != nil {
				return err
			}
			t.Description = d
		}
		if in.Keyword != nil {
			k := normalizeKeyword(*in.Keyword)
			if len(k) > 40 || strings.ContainsAny(k, "\r\n") {
				return parley.Invalid("keyword", "a keyword has at most 40 characters on one line")
			}
			st, err := loadSettings(w, ba.Business.ID)
			if err != nil {
				return err
			}
			if slices.Contains(st.Messaging.stopWords(), k) {
				return parley.Invalid("keyword", "%q is an opt-out keyword", k)
			}
			t.Keyword = k
		}
		if in.RotateForm {
			t.FormToken = newID() + newID()
		}
		t.UpdatedAt = w.now
		var err error
		if id == "" {
			err = w.CreateTopic(t)
		} else {
			err = w.UpdateTopic(t)
		}
		view = a.topicView(t)
		return err
	})
	return view, err
}

// DeleteTopic deletes a topic and its consents (their records stay);
// admins only.
func (a *App) DeleteTopic(ctx context.Context, ba *BusinessActor, id string) error {
	if err := ba.requireAdmin(); err != nil {
		return err
	}
	return a.update(ctx, func(w *writer) error { return w.DeleteTopic(ba.Business.ID, id) })
}

// loadReach returns a contact's policy state, new when it has none.
func loadReach(tx parley.Tx, businessID, contactID string) (*parley.Reach, error) {
	r, err := tx.Reach(businessID, contactID)
	if parley.IsNotFound(err) {
		return &parley.Reach{BusinessID: businessID, ContactID: contactID}, nil
	}
	return r, err
}

// setConsent records a contact's answer: opt in to or out of one topic,
// or (topicID "") out of every topic. It changes r (saved by the caller)
// and reports whether anything changed.
func setConsent(w *writer, r *parley.Reach, topicID string, in bool, channel, proof string) (bool, error) {
	biz, contact := r.BusinessID, r.ContactID
	cs, err := w.Consents(biz, contact)
	if err != nil {
		return false, err
	}
	changed := false
	put := func(topic string) error {
		changed = true
		return w.PutConsent(&parley.Consent{BusinessID: biz, ContactID: contact, TopicID: topic, OptedIn: in, Channel: channel, Proof: proof, At: w.now})
	}
	if topicID == "" {
		if in {
			return false, parley.Invalid("topic", "opt in to one topic at a time")
		}
		for _, c := range cs {
			if c.OptedIn {
				if err := put(c.TopicID); err != nil {
					return false, err
				}
			}
		}
		if r.StoppedAt == nil {
			t := w.now
			r.StoppedAt, changed = &t, true
		}
	} else {
		cur := false
		for _, c := range cs {
			if c.TopicID == topicID {
				cur = c.OptedIn
			}
		}
		if cur != in {
			if err := put(topicID); err != nil {
				return false, err
			}
		}
		if in && r.StoppedAt != nil {
			r.StoppedAt, changed = nil, true
		}
	}
	if !changed {
		return false, nil
	}
	if err := w.AppendConsentRecord(&parley.ConsentRecord{BusinessID: biz, ContactID: contact, TopicID: topicID, OptedIn: in,
		Channel: channel, Proof: proof, At: w.now}); err != nil {
		return false, err
	}
	return true, businessEvent(w, &parley.Event{Type: EventConsentChanged, Data: mustJSON(map[string]any{"contact": contact,
		"topic": topicID, "opted_in": in, "channel": channel})}, biz)
}

// consentOnMessage runs on every customer message to a business, before
// its rules: it opens the messaging window, and applies STOP, topic
// keywords and consent quick replies. Confirmations go out only when the
// consent changed, so a repeated STOP is not answered again.
func (a *App) consentOnMessage(w *writer, c *parley.Conversation, it *parley.InboxItem, st *BusinessSettings, m *parley.Message) error {
	r, err := loadReach(w, it.BusinessID, it.ContactID)
	if err != nil {
		return err
	}
	r.LastInboundAt = w.now
	reply := ""
	word := normalizeKeyword(m.Text)
	payload := parseData(m.Data).QuickReply
	switch {
	case payload == consentPayload+"stop" || (word != "" && slices.Contains(st.Messaging.stopWords(), word)):
		changed, err := setConsent(w, r, "", false, parley.ConsentStop, m.ID)
		if err != nil {
			return err
		}
		if changed {
			reply = st.Messaging.StopReply
			if reply == "" {
				reply = defaultStopReply
			}
		}
	case strings.HasPrefix(payload, consentPayload):
		t, err := w.Topic(it.BusinessID, strings.TrimPrefix(payload, consentPayload))
		if parley.IsNotFound(err) {
			break
		} else if err != nil {
			return err
		}
		if changed, err := setConsent(w, r, t.ID, true, parley.ConsentQuickReply, m.ID); err != nil {
			return err
		} else if changed {
			reply = "You are subscribed to " + t.Name + ". Reply STOP to unsubscribe."
		}
	case word != "" && len(word) <= 40:
		ts, err := w.Topics(it.BusinessID)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if t.Keyword != "" && t.Keyword == word {
				if changed, err := setConsent(w, r, t.ID, true, parley.ConsentKeyword, m.ID); err != nil {
					return err
				} else if changed {
					reply = "You are subscribed to " + t.Name + ". Reply STOP to unsubscribe."
				}
			}
		}
	}
	if err := w.PutReach(r); err != nil {
		return err
	}
	if reply != "" {
		if _, err := a.autoMessage(w, c, it, reply, ""); err != nil {
			return err
		}
	}
	return nil
}

// postbackConsent opts the tapper in when a business message's postback
// payload names a topic; the proof is the message and the tapper.
func postbackConsent(w *writer, it *parley.InboxItem, msgID, userID, payload string) error {
	if !strings.HasPrefix(payload, consentPayload) || contactUser(w, it) != userID {
		return nil
	}
	r, err := loadReach(w, it.BusinessID, it.ContactID)
	if err != nil {
		return err
	}
	proof := "postback " + msgID
	if payload == consentPayload+"stop" {
		_, err = setConsent(w, r, "", false, parley.ConsentStop, proof)
	} else {
		t, terr := w.Topic(it.BusinessID, strings.TrimPrefix(payload, consentPayload))
		if parley.IsNotFound(terr) {
			return nil
		} else if terr != nil {
			return terr
		}
		_, err = setConsent(w, r, t.ID, true, parley.ConsentQuickReply, proof)
	}
	if err != nil {
		return err
	}
	return w.PutReach(r)
}

// ConsentView is a contact's consent: per topic, STOP, and the records.
type ConsentView struct {
	Topics    []TopicConsent `json:"topics"`
	StoppedAt *time.Time     `json:"stopped_at"`
	// LastInboundAt opens the messaging window.
	LastInboundAt *time.Time       `json:"last_inbound_at"`
	Records       []ConsentRecView `json:"records"`
}

// TopicConsent is one topic and the contact's answer.
type TopicConsent struct {
	Topic   *TopicSummary `json:"topic"`
	OptedIn bool          `json:"opted_in"`
	Channel string        `json:"channel,omitempty"`
	Proof   string        `json:"proof,omitempty"`
	At      *time.Time    `json:"at,omitempty"`
}

// TopicSummary names a topic.
type TopicSummary struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ConsentRecView is one recorded change ("" topic: every topic).
type ConsentRecView struct {
	Topic   string    `json:"topic"`
	OptedIn bool      `json:"opted_in"`
	Channel string    `json:"channel"`
	Proof   string    `json:"proof"`
	At      time.Time `json:"at"`
}

func consentView(tx parley.Tx, businessID, contactID string, records bool) (*ConsentView, error) {
	ts, err := tx.Topics(businessID)
	if err != nil {
		return nil, err
	}
	cs, err := tx.Consents(businessID, contactID)
	if err != nil {
		return nil, err
	}
	r, err := loadReach(tx, businessID, contactID)
	if err != nil {
		return nil, err
	}
	v := &ConsentView{Topics: []TopicConsent{}, StoppedAt: r.StoppedAt, Records: []ConsentRecView{}}
	if !r.LastInboundAt.IsZero() {
		v.LastInboundAt = &r.LastInboundAt
	}
	for _, t := range ts {
		tc := TopicConsent{Topic: &TopicSummary{ID: t.ID, Name: t.Name}}
		for _, c := range cs {
			if c.TopicID == t.ID {
				at := c.At
				tc.OptedIn, tc.Channel, tc.Proof, tc.At = c.OptedIn, c.Channel, c.Proof, &at
			}
		}
		v.Topics = append(v.Topics, tc)
	}
	if records {
		recs, err := tx.ConsentRecords(businessID, contactID, 100)
		if err != nil {
			return nil, err
		}
		for _, rc := range recs {
			v.Records = append(v.Records, ConsentRecView{Topic: rc.TopicID, OptedIn: rc.OptedIn, Channel: rc.Channel, Proof: rc.Proof, At: rc.At})
		}
	}
	return v, nil
}

// ContactConsent returns a contact's consent with its records.
func (a *App) ContactConsent(ctx context.Context, ba *BusinessActor, contactID string) (*ConsentView, error) {
	var v *ConsentView
	err := a.view(ctx, func(tx parley.Tx) error {
		if _, err := tx.Contact(ba.Business.ID, contactID); err != nil {
			return err
		}
		var err error
		v, err = consentView(tx, ba.Business.ID, contactID, true)
		return err
	})
	return v, err
}

// SetContactConsent opts a contact in to (in) or out of a topic, or out
// of every topic (topicID ""), through the business's API. proof is the
// request's id; the acting agent is recorded with it.
func (a *App) SetContactConsent(ctx context.Context, ba *BusinessActor, contactID, topicID string, in bool, proof string) (*ConsentView, error) {
	if len(proof) > 200 {
		return nil, parley.Invalid("proof", "proof has at most 200 characters")
	}
	var v *ConsentView
	err := a.update(ctx, func(w *writer) error {
		ct, err := w.Contact(ba.Business.ID, contactID)
		if err != nil {
			return err
		}
		if ct.MergedInto != "" {
			return parley.Errorf(parley.EConflict, "this contact was merged into another")
		}
		if topicID != "" {
			if _, err := w.Topic(ba.Business.ID, topicID); err != nil {
				return err
			}
		}
		r, err := loadReach(w, ba.Business.ID, contactID)
		if err != nil {
			return err
		}
		if _, err := setConsent(w, r, topicID, in, parley.ConsentAPI, proof+" by "+ba.agentID()); err != nil {
			return err
		}
		if err := w.PutReach(r); err != nil {
			return err
		}
		v, err = consentView(w, ba.Business.ID, contactID, true)
		return err
	})
	return v, err
}

// ConsentForm is what a topic's opt-in link shows before the person
// confirms.
type ConsentForm struct {
	Business *UserSummary  `json:"business"`
	Topic    *TopicSummary `json:"topic"`
	// Description is the topic's.
	Description string `json:"description"`
}

// ConsentFormInfo describes a topic's opt-in link to anyone who has it.
func (a *App) ConsentFormInfo(ctx context.Context, token string) (*ConsentForm, error) {
	var f *ConsentForm
	err := a.view(ctx, func(tx parley.Tx) error {
		t, err := tx.TopicByToken(token)
		if err != nil {
			return parley.Errorf(parley.ENotFound, "no such subscription link")
		}
		biz, err := tx.UserByID(t.BusinessID)
		if err != nil {
			return err
		}
		f = &ConsentForm{Business: summarize(biz), Topic: &TopicSummary{ID: t.ID, Name: t.Name}, Description: t.Description}
		return nil
	})
	return f, err
}

// ConsentFormSubmit opts the signed-in actor in to the link's topic; the
// proof is the request's id. A person without a contact at the business
// gets one.
func (a *App) ConsentFormSubmit(ctx context.Context, actor *Actor, token, proof string) (*SubscriptionView, error) {
	if actor.User.Kind != parley.KindPerson {
		return nil, parley.Errorf(parley.EForbidden, "only people subscribe to a business's messages")
	}
	var v *SubscriptionView
	err := a.update(ctx, func(w *writer) error {
		t, err := w.TopicByToken(token)
		if err != nil {
			return parley.Errorf(parley.ENotFound, "no such subscription link")
		}
		ct, err := w.ContactByUser(t.BusinessID, actor.User.ID)
		if parley.IsNotFound(err) {
			ct = &parley.Contact{BusinessID: t.BusinessID, ID: newID(), UserID: actor.User.ID, Name: actor.User.DisplayName, CreatedAt: w.now, UpdatedAt: w.now}
			if ct.Name == "" {
				ct.Name = actor.User.Handle
			}
			if err := w.PutContact(ct); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		r, err := loadReach(w, t.BusinessID, ct.ID)
		if err != nil {
			return err
		}
		if _, err := setConsent(w, r, t.ID, true, parley.ConsentForm, proof); err != nil {
			return err
		}
		if err := w.PutReach(r); err != nil {
			return err
		}
		v, err = subscriptionView(w, ct)
		return err
	})
	return v, err
}

// SubscriptionView is one business's topics as the person subscribed to
// them sees them.
type SubscriptionView struct {
	Business  *UserSummary   `json:"business"`
	Topics    []TopicConsent `json:"topics"`
	StoppedAt *time.Time     `json:"stopped_at"`
}

func subscriptionView(tx parley.Tx, ct *parley.Contact) (*SubscriptionView, error) {
	biz, err := tx.UserByID(ct.BusinessID)
	if err != nil {
		return nil, err
	}
	cv, err := consentView(tx, ct.BusinessID, ct.ID, false)
	if err != nil {
		return nil, err
	}
	for i := range cv.Topics {
		cv.Topics[i].Proof = "" // the business's business
	}
	return &SubscriptionView{Business: summarize(biz), Topics: cv.Topics, StoppedAt: cv.StoppedAt}, nil
}

// MySubscriptions lists the businesses that know the actor as a contact
// and the actor's consent to each of their topics.
func (a *App) MySubscriptions(ctx context.Context, actor *Actor) ([]*SubscriptionView, error) {
	out := []*SubscriptionView{}
	err := a.view(ctx, func(tx parley.Tx) error {
		cts, err := tx.ContactsOfUser(actor.User.ID)
		if err != nil {
			return err
		}
		for _, ct := range cts {
			v, err := subscriptionView(tx, ct)
			if parley.IsNotFound(err) {
				continue
			} else if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// Unsubscribe opts the actor out of one topic of a business, or of every
// topic (topicID ""), from their own settings.
func (a *App) Unsubscribe(ctx context.Context, actor *Actor, handle, topicID, proof string) (*SubscriptionView, error) {
	var v *SubscriptionView
	err := a.update(ctx, func(w *writer) error {
		biz, err := w.UserByHandle(strings.ToLower(handle))
		if err != nil {
			return err
		}
		ct, err := w.ContactByUser(biz.ID, actor.User.ID)
		if err != nil {
			return err
		}
		if topicID != "" {
			if _, err := w.Topic(biz.ID, topicID); err != nil {
				return err
			}
		}
		r, err := loadReach(w, biz.ID, ct.ID)
		if err != nil {
			return err
		}
		if _, err := setConsent(w, r, topicID, false, parley.ConsentSettings, proof); err != nil {
			return err
		}
		if err := w.PutReach(r); err != nil {
			return err
		}
		v, err = subscriptionView(w, ct)
		return err
	})
	return v, err
}
