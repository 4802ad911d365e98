package client

import (
	"context"
	"net/http"
	"time"
)

// ChannelInput connects a Messenger Page, Instagram account or WhatsApp
// phone number to the business's inbox.
type ChannelInput struct {
	// Platform is "messenger", "instagram" or "whatsapp".
	Platform string `json:"platform"`
	Name     string `json:"name,omitempty"`
	// AccountID is the Page id, Instagram account id or WhatsApp phone
	// number id.
	AccountID   string `json:"account_id"`
	AppID       string `json:"app_id,omitempty"`
	AccessToken string `json:"access_token"`
	AppSecret   string `json:"app_secret"`
	VerifyToken string `json:"verify_token"`
	// Language is the WhatsApp template language (default en_US).
	Language string `json:"language,omitempty"`
}

// Channel is a connected channel; its secrets show their last 4
// characters only.
type Channel struct {
	ID          string    `json:"id"`
	Platform    string    `json:"platform"`
	Name        string    `json:"name"`
	AccountID   string    `json:"account_id"`
	AppID       string    `json:"app_id"`
	Language    string    `json:"language,omitempty"`
	AccessToken string    `json:"access_token"`
	AppSecret   string    `json:"app_secret"`
	VerifyToken string    `json:"verify_token"`
	WebhookPath string    `json:"webhook_path"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Status is "ok", "failing" (the last error is newer than the last
	// webhook event and the last accepted send) or "disabled" (paused).
	Status         string     `json:"status"`
	LastError      string     `json:"last_error,omitempty"`
	LastErrorAt    *time.Time `json:"last_error_at,omitempty"`
	LastInboundAt  *time.Time `json:"last_inbound_at,omitempty"`
	LastOutboundAt *time.Time `json:"last_outbound_at,omitempty"`
	// Queued counts the outbound messages waiting for their send (held
	// while the channel is paused).
	Queued int `json:"queued"`
	// Disabled: an admin paused the channel (since DisabledAt).
	Disabled   bool       `json:"disabled"`
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
}

// ChannelChange changes a channel; nil fields stay. Rotated secrets are
// stored encrypted and never shown again.
type ChannelChange struct {
	Name        *string `json:"name,omitempty"`
	AppID       *string `json:"app_id,omitempty"`
	Language    *string `json:"language,omitempty"`
	AccessToken *string `json:"access_token,omitempty"`
	AppSecret   *string `json:"app_secret,omitempty"`
	VerifyToken *string `json:"verify_token,omitempty"`
	// Disabled pauses (true) or resumes (false) the channel.
	Disabled *bool `json:"disabled,omitempty"`
}

// SendMode is one way a business message may go out in a conversation.
type SendMode struct {
	// Mode is "standard", "human_agent", "confirmed_event_update",
	// "post_purchase_update", "account_update", "notification_message"
	// or "template".
	Mode   string     `json:"mode"`
	Open   bool       `json:"open"`
	Until  *time.Time `json:"until,omitempty"`
	Reason string     `json:"reason"`
}

// SendModes says how the business may write in a conversation now.
type SendModes struct {
	// Channel is nil for a Parley conversation.
	Channel *struct {
		ID       string `json:"id"`
		Platform string `json:"platform"`
		Name     string `json:"name"`
		// Disabled: the channel is paused.
		Disabled bool `json:"disabled,omitempty"`
	} `json:"channel"`
	LastInboundAt *time.Time `json:"last_inbound_at,omitempty"`
	Modes         []SendMode `json:"modes"`
}

// Channels lists the business's channels (admins).
func (b *Business) Channels(ctx context.Context) ([]Channel, error) {
	var out Page[Channel]
	_, err := b.c.call(ctx, http.MethodGet, b.path("/channels"), nil, nil, &out)
	return out.Items, err
}

// ConnectChannel connects a channel (admins).
func (b *Business) ConnectChannel(ctx context.Context, in ChannelInput) (*Channel, error) {
	var out Channel
	_, err := b.c.call(ctx, http.MethodPost, b.path("/channels"), nil, in, &out)
	return ret(&out, err)
}

// Channel returns one channel (admins).
func (b *Business) Channel(ctx context.Context, id string) (*Channel, error) {
	var out Channel
	_, err := b.c.call(ctx, http.MethodGet, b.path("/channels/"+esc(id)), nil, nil, &out)
	return ret(&out, err)
}

// UpdateChannel changes a channel (admins): its name, rotated
// credentials, or pauses and resumes it (Disabled).
func (b *Business) UpdateChannel(ctx context.Context, id string, ch ChannelChange) (*Channel, error) {
	var out Channel
	_, err := b.c.call(ctx, http.MethodPatch, b.path("/channels/"+esc(id)), nil, ch, &out)
	return ret(&out, err)
}

// DisconnectChannel disconnects a channel (admins); its conversations stay.
func (b *Business) DisconnectChannel(ctx context.Context, id string) error {
	_, err := b.c.call(ctx, http.MethodDelete, b.path("/channels/"+esc(id)), nil, nil, nil)
	return err
}

// SendModes says which send modes are open in a customer conversation.
func (b *Business) SendModes(ctx context.Context, convID string) (*SendModes, error) {
	var out SendModes
	_, err := b.c.call(ctx, http.MethodGet, b.path("/conversations/"+esc(convID)+"/send-modes"), nil, nil, &out)
	return ret(&out, err)
}
