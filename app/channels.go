package app

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/channel"
)

// Channels: a business connects its Messenger Page, Instagram account or
// WhatsApp number; the platform's webhook brings the DMs there into the
// business's inbox as conversations with an external contact, and
// replies go back through the platform's Send API (channel_send.go).

// The audit actions of channels.
const (
	AuditChannelConnect    = "channel.connect"
	AuditChannelDisconnect = "channel.disconnect"
	AuditChannelUpdate     = "channel.update"
)

// EventChannelDelivery tells the business's team that the platform
// delivery status of one of its messages changed (Data: message_id,
// status, error).
const EventChannelDelivery = "channel.delivery"

// WithChannels sets the platforms the server connects, by name
// (parley.PlatformMessenger ...).
func WithChannels(chs ...channel.Channel) Option {
	return func(a *App) {
		a.channels = map[string]channel.Channel{}
		for _, c := range chs {
			a.channels[c.Platform()] = c
		}
	}
}

// ChannelInput connects a channel.
type ChannelInput struct {
	Platform    string `json:"platform"`
	Name        string `json:"name"`
	AccountID   string `json:"account_id"`
	AppID       string `json:"app_id"`
	AccessToken string `json:"access_token"`
	AppSecret   string `json:"app_secret"`
	VerifyToken string `json:"verify_token"`
	// Language is the WhatsApp template language (default en_US).
	Language string `json:"language"`
}

// ChannelView is a channel as its business's admins see it: secrets are
// shown by their last 4 characters only.
type ChannelView struct {
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
	// Status is "ok", or "failing" when the last error is newer than the
	// last webhook event and the last accepted send.
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

// Channel health states.
const (
	ChannelStatusOK      = "ok"
	ChannelStatusFailing = "failing"
	// ChannelStatusDisabled is a paused channel, whatever its errors.
	ChannelStatusDisabled = "disabled"
)

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// channelHealth counts the channel's queued sends into its view.
func channelHealth(tx parley.Tx, v *ChannelView, c *parley.Channel) error {
	n, err := tx.QueuedChannelSends(c.ID)
	v.Queued = n
	return err
}

// noteChannel records a channel's health, logging rather than failing
// the caller's work when it cannot.
func (a *App) noteChannel(ctx context.Context, id string, n parley.ChannelNote) {
	if err := a.update(ctx, func(w *writer) error { return w.NoteChannel(id, n) }); err != nil {
		a.log.Warn("channel health", "channel", id, "err", err)
	}
}

type channelHints struct {
	AccessToken string `json:"access_token"`
	AppSecret   string `json:"app_secret"`
	VerifyToken string `json:"verify_token"`
}

func lastFour(s string) string {
	r := []rune(s)
	if len(r) <= 4 {
		return "…"
	}
	return "…" + string(r[len(r)-4:])
}

func channelView(c *parley.Channel) *ChannelView {
	var h channelHints
	_ = json.Unmarshal([]byte(c.Hint), &h)
	v := &ChannelView{ID: c.ID, Platform: c.Platform, Name: c.Name, AccountID: c.AccountID, AppID: c.AppID, Language: c.Language,
		AccessToken: h.AccessToken, AppSecret: h.AppSecret, VerifyToken: h.VerifyToken, WebhookPath: "/hooks/meta/" + c.ID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		Status: ChannelStatusOK, LastError: c.LastError, LastErrorAt: timeOrNil(c.LastErrorAt),
		LastInboundAt: timeOrNil(c.LastInboundAt), LastOutboundAt: timeOrNil(c.LastOutboundAt)}
	if !c.LastErrorAt.IsZero() && c.LastErrorAt.After(c.LastInboundAt) && c.LastErrorAt.After(c.LastOutboundAt) {
		v.Status = ChannelStatusFailing
	}
	if !c.DisabledAt.IsZero() {
		v.Status, v.Disabled, v.DisabledAt = ChannelStatusDisabled, true, timeOrNil(c.DisabledAt)
	}
	return v
}

func digits(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (in *ChannelInput) validate(known map[string]channel.Channel) error {
	in.Platform = strings.ToLower(strings.TrimSpace(in.Platform))
	in.Name, in.AccountID, in.AppID = strings.TrimSpace(in.Name), strings.TrimSpace(in.AccountID), strings.TrimSpace(in.AppID)
	in.AccessToken, in.AppSecret, in.VerifyToken = strings.TrimSpace(in.AccessToken), strings.TrimSpace(in.AppSecret), strings.TrimSpace(in.VerifyToken)
	in.Language = strings.TrimSpace(in.Language)
	switch {
	case !parley.ValidPlatform(in.Platform):
		return parley.Invalid("platform", "platform is messenger, instagram or whatsapp")
	case known[in.Platform] == nil:
		return parley.Invalid("platform", "this server does not connect %s", in.Platform)
	case !digits(in.AccountID, 32):
		return parley.Invalid("account_id", "account_id is the Page id, Instagram account id or WhatsApp phone number id: digits")
	case in.AppID != "" && !digits(in.AppID, 32):
		return parley.Invalid("app_id", "app_id is the Meta app's id: digits")
	case utf8.RuneCountInString(in.Name) > 100:
		return parley.Invalid("name", "a name has at most 100 characters")
	case len(in.AccessToken) < 8 || len(in.AccessToken) > 1024:
		return parley.Invalid("access_token", "access_token has 8 to 1024 characters")
	case len(in.AppSecret) < 8 || len(in.AppSecret) > 256:
		return parley.Invalid("app_secret", "app_secret has 8 to 256 characters")
	case len(in.VerifyToken) < 8 || len(in.VerifyToken) > 256:
		return parley.Invalid("verify_token", "verify_token has 8 to 256 characters (choose a random one)")
	case len(in.Language) > 15:
		return parley.Invalid("language", "language is a template language code such as en_US")
	}
	for _, s := range []string{in.AccessToken, in.AppSecret, in.VerifyToken} {
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			return parley.Invalid("access_token", "tokens and secrets are printable ASCII without spaces")
		}
	}
	if in.Platform == parley.PlatformWhatsApp && in.Language == "" {
		in.Language = "en_US"
	}
	return nil
}

// channelSecretContext binds a sealed secret to its channel and field.
func channelSecretContext(id, field string) string { return "channel:" + id + ":" + field }

// ConnectChannel connects a platform account to the business's inbox
// (admins only).
func (a *App) ConnectChannel(ctx context.Context, ba *BusinessActor, in ChannelInput) (*ChannelView, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	if err := in.validate(a.channels); err != nil {
		return nil, err
	}
	c := &parley.Channel{ID: newID(), BusinessID: ba.Business.ID, Platform: in.Platform, Name: in.Name, AccountID: in.AccountID,
		AppID: in.AppID, Language: in.Language, CreatedBy: ba.agentID()}
	hints, _ := json.Marshal(channelHints{AccessToken: lastFour(in.AccessToken), AppSecret: lastFour(in.AppSecret), VerifyToken: lastFour(in.VerifyToken)})
	c.Hint = string(hints)
	var err error
	if c.AccessToken, err = a.seal(in.AccessToken, channelSecretContext(c.ID, "access_token")); err != nil {
		return nil, err
	}
	if c.AppSecret, err = a.seal(in.AppSecret, channelSecretContext(c.ID, "app_secret")); err != nil {
		return nil, err
	}
	if c.VerifyToken, err = a.seal(in.VerifyToken, channelSecretContext(c.ID, "verify_token")); err != nil {
		return nil, err
	}
	err = a.update(ctx, func(w *writer) error {
		c.CreatedAt, c.UpdatedAt = w.now, w.now
		if err := w.CreateChannel(c); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{ActorID: ba.agentID(), Action: AuditChannelConnect, TargetType: "channel", TargetID: c.ID,
			Details: map[string]string{"business": ba.Business.ID, "platform": c.Platform, "account_id": c.AccountID}})
	})
	if err != nil {
		return nil, err
	}
	return channelView(c), nil
}

// Channels lists the business's channels (admins only).
func (a *App) Channels(ctx context.Context, ba *BusinessActor) ([]*ChannelView, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	out := []*ChannelView{}
	err := a.view(ctx, func(tx parley.Tx) error {
		cs, err := tx.Channels(ba.Business.ID)
		for _, c := range cs {
			v := channelView(c)
			if err := channelHealth(tx, v, c); err != nil {
				return err
			}
			out = append(out, v)
		}
		return err
	})
	return out, err
}

// Channel returns one of the business's channels (admins only).
func (a *App) Channel(ctx context.Context, ba *BusinessActor, id string) (*ChannelView, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	var out *ChannelView
	err := a.view(ctx, func(tx parley.Tx) error {
		c, err := tx.Channel(id)
		if err == nil && c.BusinessID != ba.Business.ID {
			err = parley.Errorf(parley.ENotFound, "channel not found")
		}
		if err == nil {
			out = channelView(c)
			err = channelHealth(tx, out, c)
		}
		return err
	})
	return out, err
}

// ChannelChange changes a channel: its name, app id, language, or its
// credentials (a rotated access token, app secret or verify token). Nil
// fields stay as they are.
type ChannelChange struct {
	Name        *string `json:"name"`
	AppID       *string `json:"app_id"`
	Language    *string `json:"language"`
	AccessToken *string `json:"access_token"`
	AppSecret   *string `json:"app_secret"`
	VerifyToken *string `json:"verify_token"`
	// Disabled pauses (true) or resumes (false) the channel: while paused
	// its webhooks are still taken, its sends refused and its outbox held.
	Disabled *bool `json:"disabled"`
}

// UpdateChannel changes one of the business's channels (admins only). New
// secrets are sealed as on connect and never shown again; the audit entry
// names the fields changed, never their values. A new app secret checks
// the next webhook calls; a new verify token answers the next handshake.
func (a *App) UpdateChannel(ctx context.Context, ba *BusinessActor, id string, ch ChannelChange) (*ChannelView, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	var out *ChannelView
	err := a.update(ctx, func(w *writer) error {
		c, err := w.Channel(id)
		if err == nil && c.BusinessID != ba.Business.ID {
			err = parley.Errorf(parley.ENotFound, "channel not found")
		}
		if err != nil {
			return err
		}
		var h channelHints
		_ = json.Unmarshal([]byte(c.Hint), &h)
		// The same rules as a connect: the current values stand in for
		// the fields not changed.
		in := ChannelInput{Platform: c.Platform, Name: c.Name, AccountID: c.AccountID, AppID: c.AppID, Language: c.Language,
			AccessToken: "unchanged", AppSecret: "unchanged", VerifyToken: "unchanged"}
		var changed []string
		set := func(field string, dst *string, v *string) {
			if v != nil {
				*dst = *v
				changed = append(changed, field)
			}
		}
		set("name", &in.Name, ch.Name)
		set("app_id", &in.AppID, ch.AppID)
		set("language", &in.Language, ch.Language)
		set("access_token", &in.AccessToken, ch.AccessToken)
		set("app_secret", &in.AppSecret, ch.AppSecret)
		set("verify_token", &in.VerifyToken, ch.VerifyToken)
		if ch.Disabled != nil && *ch.Disabled != !c.DisabledAt.IsZero() {
			changed = append(changed, "disabled")
			if *ch.Disabled {
				c.DisabledAt = w.now
			} else {
				c.DisabledAt = time.Time{}
			}
		} else if ch.Disabled != nil && len(changed) == 0 {
			// Pausing a paused channel (or resuming a running one)
			// changes nothing.
			out = channelView(c)
			return channelHealth(w, out, c)
		}
		if len(changed) == 0 {
			return parley.Invalid("name", "nothing to change: send name, app_id, language, access_token, app_secret, verify_token or disabled")
		}
		if err := in.validate(a.channels); err != nil {
			return err
		}
		c.Name, c.AppID, c.Language = in.Name, in.AppID, in.Language
		secrets := []struct {
			field string
			given *string
			value string
			dst   *string
			hint  *string
		}{
			{"access_token", ch.AccessToken, in.AccessToken, &c.AccessToken, &h.AccessToken},
			{"app_secret", ch.AppSecret, in.AppSecret, &c.AppSecret, &h.AppSecret},
			{"verify_token", ch.VerifyToken, in.VerifyToken, &c.VerifyToken, &h.VerifyToken},
		}
		for _, s := range secrets {
			if s.given == nil {
				continue
			}
			if *s.dst, err = a.seal(s.value, channelSecretContext(c.ID, s.field)); err != nil {
				return err
			}
			*s.hint = lastFour(s.value)
		}
		hints, _ := json.Marshal(h)
		c.Hint, c.UpdatedAt = string(hints), w.now
		if err := w.UpdateChannel(c); err != nil {
			return err
		}
		out = channelView(c)
		if err := channelHealth(w, out, c); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{ActorID: ba.agentID(), Action: AuditChannelUpdate, TargetType: "channel", TargetID: c.ID,
			Details: map[string]string{"business": ba.Business.ID, "platform": c.Platform, "changed": strings.Join(changed, ",")}})
	})
	if err == nil && ch.Disabled != nil && !*ch.Disabled {
		a.wakeChannelSends() // the held outbox, if it was paused
	}
	return out, err
}

// DisconnectChannel deletes one of the business's channels (admins only):
// its conversations stay in the inbox, but nothing more comes in or goes
// out through it; queued sends are dropped.
func (a *App) DisconnectChannel(ctx context.Context, ba *BusinessActor, id string) error {
	if err := ba.requireAdmin(); err != nil {
		return err
	}
	return a.update(ctx, func(w *writer) error {
		if err := w.DeleteChannel(ba.Business.ID, id); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{ActorID: ba.agentID(), Action: AuditChannelDisconnect, TargetType: "channel", TargetID: id,
			Details: map[string]string{"business": ba.Business.ID}})
	})
}

// errHookUnauthorized answers every webhook call that does not prove it
// comes from the platform, whatever the reason: an unknown channel and a
// bad signature look the same.
var errHookUnauthorized = parley.Errorf(parley.EUnauthorized, "the webhook call is not signed with the channel's app secret (X-Hub-Signature-256)")

// VerifyChannelWebhook answers the platform's subscription handshake
// (GET with hub.mode=subscribe, hub.verify_token, hub.challenge): the
// challenge when the verify token is the channel's.
func (a *App) VerifyChannelWebhook(ctx context.Context, id, mode, token, challenge string) (string, error) {
	var c *parley.Channel
	err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		c, err = tx.Channel(id)
		return err
	})
	refused := parley.Errorf(parley.EForbidden, "the verify token does not match the channel's")
	if parley.IsNotFound(err) {
		return "", refused
	} else if err != nil {
		return "", err
	}
	want, err := a.unseal(c.VerifyToken, channelSecretContext(c.ID, "verify_token"))
	if err != nil {
		return "", err
	}
	if mode != "subscribe" || subtle.ConstantTimeCompare([]byte(token), []byte(want)) != 1 {
		a.noteChannel(ctx, c.ID, parley.ChannelNote{Error: "webhook handshake refused: the verify token does not match", ErrorAt: a.clock()})
		return "", refused
	}
	if challenge == "" || len(challenge) > 256 {
		return "", parley.Invalid("hub.challenge", "hub.challenge is missing or too long")
	}
	return challenge, nil
}

// ChannelWebhook takes one webhook call of a channel: the raw body is
// verified against X-Hub-Signature-256 with the channel's app secret
// before anything is parsed, then each event is applied in the
// platform's order, each in a transaction of its own. A replayed call
// changes nothing. It returns how many events changed something.
func (a *App) ChannelWebhook(ctx context.Context, id string, body []byte, signature string) (int, error) {
	var c *parley.Channel
	err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		c, err = tx.Channel(id)
		return err
	})
	if parley.IsNotFound(err) {
		return 0, errHookUnauthorized
	} else if err != nil {
		return 0, err
	}
	secret, err := a.unseal(c.AppSecret, channelSecretContext(c.ID, "app_secret"))
	if err != nil {
		return 0, err
	}
	if !channel.VerifySignature(secret, body, signature) {
		why := "webhook refused: the X-Hub-Signature-256 signature does not match the app secret"
		if signature == "" {
			why = "webhook refused: no X-Hub-Signature-256 signature"
		}
		a.noteChannel(ctx, c.ID, parley.ChannelNote{Error: why, ErrorAt: a.clock()})
		return 0, errHookUnauthorized
	}
	impl := a.channels[c.Platform]
	if impl == nil {
		return 0, parley.Errorf(parley.ENotFound, "this server does not connect %s", c.Platform)
	}
	evs, err := impl.Parse(body)
	if err != nil {
		return 0, parley.Invalid("body", "the body is not a %s webhook: %v", c.Platform, err)
	}
	applied := 0
	for _, ev := range evs {
		if ev.AccountID != c.AccountID || ev.UserID == "" || ev.UserID == c.AccountID {
			continue // another account of the same app, or nobody
		}
		var changed bool
		err := a.update(ctx, func(w *writer) error {
			var err error
			changed, err = a.applyChannelEvent(w, c, ev)
			if err == nil {
				err = w.NoteChannel(c.ID, parley.ChannelNote{InboundAt: w.now})
			}
			return err
		})
		if err != nil {
			return applied, err
		}
		if changed {
			applied++
		}
		a.obs.ChannelEvent(c.Platform, ev.Kind, changed)
	}
	a.wakeChannelSends()
	return applied, nil
}

func clipError(s string) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// deliveryEvent tells the business's team a message's platform status.
func deliveryEvent(w *writer, businessID string, link *parley.ChannelMessage) error {
	m, err := w.MessageByID(link.MessageID)
	if parley.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	return businessEvent(w, &parley.Event{Type: EventChannelDelivery, ConversationID: link.ConversationID, MessageID: link.MessageID, Seq: m.Seq,
		Data: mustJSON(map[string]string{"message_id": link.MessageID, "status": link.Status, "error": link.Error})}, businessID)
}
