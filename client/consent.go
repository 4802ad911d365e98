package client

import (
	"context"
	"net/http"
	"time"
)

// TopicConsent is a person's answer for one topic.
type TopicConsent struct {
	Topic   TopicSummary `json:"topic"`
	OptedIn bool         `json:"opted_in"`
	// Channel is quick_reply, keyword, form, api, settings or stop.
	Channel string `json:"channel,omitempty"`
	// Proof is the message or request id that gave the answer.
	Proof string     `json:"proof,omitempty"`
	At    *time.Time `json:"at,omitempty"`
}

// ConsentRecord is one change of a contact's consent; Topic "" is a STOP
// (every topic).
type ConsentRecord struct {
	Topic   string    `json:"topic"`
	OptedIn bool      `json:"opted_in"`
	Channel string    `json:"channel"`
	Proof   string    `json:"proof"`
	At      time.Time `json:"at"`
}

// Consent is a contact's consent as the business sees it.
type Consent struct {
	Topics        []TopicConsent `json:"topics"`
	StoppedAt     *time.Time     `json:"stopped_at"`
	LastInboundAt *time.Time     `json:"last_inbound_at"`
	// Records is every change, newest first (up to 100).
	Records []ConsentRecord `json:"records"`
}

// Subscription is what the caller agreed to hear from one business.
type Subscription struct {
	Business  UserSummary    `json:"business"`
	Topics    []TopicConsent `json:"topics"`
	StoppedAt *time.Time     `json:"stopped_at"`
}

// ConsentForm describes a shareable opt-in link.
type ConsentForm struct {
	Business    UserSummary  `json:"business"`
	Topic       TopicSummary `json:"topic"`
	Description string       `json:"description"`
}

// Consent returns a contact's consent.
func (b *Business) Consent(ctx context.Context, contact string) (*Consent, error) {
	return b.consentCall(ctx, http.MethodGet, contact, "")
}

// OptIn records a contact's opt-in to a topic (channel "api").
func (b *Business) OptIn(ctx context.Context, contact, topic string) (*Consent, error) {
	return b.consentCall(ctx, http.MethodPut, contact, "/"+esc(topic))
}

// OptOut records a contact's opt-out of a topic.
func (b *Business) OptOut(ctx context.Context, contact, topic string) (*Consent, error) {
	return b.consentCall(ctx, http.MethodDelete, contact, "/"+esc(topic))
}

// OptOutAll records a contact's STOP: out of every topic.
func (b *Business) OptOutAll(ctx context.Context, contact string) (*Consent, error) {
	return b.consentCall(ctx, http.MethodDelete, contact, "")
}

func (b *Business) consentCall(ctx context.Context, method, contact, suffix string) (*Consent, error) {
	var out Consent
	_, err := b.c.call(ctx, method, b.path("/contacts/"+esc(contact)+"/consent"+suffix), nil, nil, &out)
	return ret(&out, err)
}

// Subscriptions lists what the caller agreed to hear from businesses.
func (c *Client) Subscriptions(ctx context.Context) ([]Subscription, error) {
	var out Page[Subscription]
	_, err := c.call(ctx, http.MethodGet, "/me/subscriptions", nil, nil, &out)
	return out.Items, err
}

// Unsubscribe opts the caller out of every topic of a business.
func (c *Client) Unsubscribe(ctx context.Context, business string) (*Subscription, error) {
	var out Subscription
	_, err := c.call(ctx, http.MethodDelete, "/me/subscriptions/"+esc(business), nil, nil, &out)
	return ret(&out, err)
}

// UnsubscribeTopic opts the caller out of one topic of a business.
func (c *Client) UnsubscribeTopic(ctx context.Context, business, topic string) (*Subscription, error) {
	var out Subscription
	_, err := c.call(ctx, http.MethodDelete, "/me/subscriptions/"+esc(business)+"/"+esc(topic), nil, nil, &out)
	return ret(&out, err)
}

// ConsentForm describes the opt-in link with this token (Topic.FormToken);
// no sign-in is needed.
func (c *Client) ConsentForm(ctx context.Context, token string) (*ConsentForm, error) {
	var out ConsentForm
	_, err := c.call(ctx, http.MethodGet, "/consent/"+esc(token), nil, nil, &out)
	return ret(&out, err)
}

// SubmitConsentForm opts the caller in through an opt-in link.
func (c *Client) SubmitConsentForm(ctx context.Context, token string) (*Subscription, error) {
	var out Subscription
	_, err := c.call(ctx, http.MethodPost, "/consent/"+esc(token), nil, nil, &out)
	return ret(&out, err)
}
