// Package channel is what Parley needs of another messaging platform to
// bring a business's direct messages there into its inbox: turning the
// platform's webhook body into normalised events, sending a message
// through the platform's Send API, and the platform's rules (its
// messaging window, tags and templates). One package per platform
// implements Channel: channel/messenger, channel/instagram (both on the
// Messenger Platform, channel/meta) and channel/whatsapp.
//
// The business rules that use the capabilities live in app/; this package
// only speaks the platforms' formats.
package channel

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Event kinds.
const (
	// KindMessage is a new message (text and/or attachments).
	KindMessage = "message"
	// KindReaction adds (Emoji set) or removes (Emoji "") a reaction on
	// TargetMID.
	KindReaction = "reaction"
	// KindRead says the person read the business's messages: up to
	// Watermark, or TargetMID.
	KindRead = "read"
	// KindDelivery says the business's messages reached the person: the
	// MIDs listed, or everything up to Watermark.
	KindDelivery = "delivery"
	// KindStatus is WhatsApp's status of one business message (TargetMID):
	// Status is sent, delivered, read or failed (with Error).
	KindStatus = "status"
	// KindEdit replaces the text of TargetMID.
	KindEdit = "edit"
	// KindUnsend deletes TargetMID for everyone.
	KindUnsend = "unsend"
	// KindPostback is a tapped button: Title and Payload.
	KindPostback = "postback"
	// KindReferral says how the person came (an ad, a link, a QR code):
	// Ref, Source and Type.
	KindReferral = "referral"
	// KindStoryMention is an Instagram story that mentions the business
	// (Attachments holds its link).
	KindStoryMention = "story_mention"
	// KindOptin is the person's answer to a notification messages
	// request (Messenger): Optin holds the token, its frequency and
	// expiry, or that they stopped (or resumed) the notifications.
	KindOptin = "optin"
)

// Optin is a person's opt-in to the business's notification messages
// (Messenger's recurring notifications / Marketing Messages): the token
// to send with, how often and until when.
type Optin struct {
	// Token is the notification_messages_token.
	Token string
	// Frequency is DAILY, WEEKLY or MONTHLY.
	Frequency string
	Timezone  string
	// Expires is when the token stops working (zero: not said).
	Expires time.Time
	// Payload is what the business put in its request (Parley: the
	// topic id); Title is the request's title the person saw.
	Payload string
	Title   string
	// Stopped: the person stopped the notifications
	// (STOP_NOTIFICATIONS); Resumed: they turned them on again.
	Stopped, Resumed bool
}

// Attachment is a file or link of a message. URL is where the platform
// serves it (Messenger, Instagram: a CDN link that expires); MediaID is
// WhatsApp's media id, resolved through the Graph API.
type Attachment struct {
	Type    string `json:"type"`
	URL     string `json:"url,omitempty"`
	MediaID string `json:"media_id,omitempty"`
	MIME    string `json:"mime_type,omitempty"`
	Name    string `json:"name,omitempty"`
	Caption string `json:"caption,omitempty"`
}

// Event is one thing the platform told about a conversation between the
// business's account (AccountID) and a person (UserID).
type Event struct {
	Kind      string
	AccountID string
	UserID    string
	// UserName is the person's profile name when the platform sends it
	// (WhatsApp).
	UserName    string
	MID         string
	Text        string
	Attachments []Attachment
	// ReplyTo is the platform id of the message this one answers.
	ReplyTo   string
	TargetMID string
	MIDs      []string
	Emoji     string
	Watermark time.Time
	Title     string
	Payload   string
	Ref       string
	Source    string
	Type      string
	Status    string
	Error     string
	// Echo marks a message the business's account sent itself (from the
	// platform's own app, or Parley's send coming back).
	Echo bool
	// At is the platform's timestamp of the event.
	At time.Time
	// Optin is set on a KindOptin event.
	Optin *Optin
}

// Send modes: how a business message goes out.
const (
	// ModeStandard is a free-form message within the platform's window.
	ModeStandard = "standard"
	// ModeHumanAgent is a free-form reply written by a person, after the
	// standard window, within the human-agent window (Messenger and
	// Instagram's HUMAN_AGENT tag).
	ModeHumanAgent = "human_agent"
	// ModeTemplate is a template the platform approved (WhatsApp).
	ModeTemplate = "template"
	// ModeConfirmedEvent, ModePostPurchase and ModeAccountUpdate are
	// Messenger's message tags for non-promotional updates after the
	// standard window, chosen explicitly by the sender.
	ModeConfirmedEvent = "confirmed_event_update"
	ModePostPurchase   = "post_purchase_update"
	ModeAccountUpdate  = "account_update"
	// ModeNotification is a message sent with the person's notification
	// messages token (Messenger), for a topic they opted in to.
	ModeNotification = "notification_message"
	// ModeOptinRequest is Messenger's notification messages opt-in
	// request (a notification_messages template), sent within the
	// standard window.
	ModeOptinRequest = "optin_request"
)

// Notification messages frequencies a person is asked to opt in to.
const (
	FrequencyDaily   = "DAILY"
	FrequencyWeekly  = "WEEKLY"
	FrequencyMonthly = "MONTHLY"
)

// OptinRequest is a request to opt in to the business's notification
// messages (Messenger's notification_messages template).
type OptinRequest struct {
	// Title is what the person sees (at most 65 characters).
	Title string
	// Payload comes back in the optin webhook (Parley: the topic id).
	Payload string
	// Frequency is DAILY, WEEKLY or MONTHLY.
	Frequency string
	// Timezone is an IANA zone name ("" : the platform's default).
	Timezone string
	// ImageURL is an image the platform fetches ("" : none).
	ImageURL string
}

// Message tags of the Messenger Platform.
const (
	TagHumanAgent     = "HUMAN_AGENT"
	TagConfirmedEvent = "CONFIRMED_EVENT_UPDATE"
	TagPostPurchase   = "POST_PURCHASE_UPDATE"
	TagAccountUpdate  = "ACCOUNT_UPDATE"
)

// TagOf is the message tag a send mode goes out with ("" for a mode
// that is no tag).
func TagOf(mode string) string {
	switch mode {
	case ModeHumanAgent:
		return TagHumanAgent
	case ModeConfirmedEvent:
		return TagConfirmedEvent
	case ModePostPurchase:
		return TagPostPurchase
	case ModeAccountUpdate:
		return TagAccountUpdate
	}
	return ""
}

// UpdateTagModes are the send modes of the update tags (not
// HUMAN_AGENT), in the order the composer offers them.
var UpdateTagModes = []string{ModeConfirmedEvent, ModePostPurchase, ModeAccountUpdate}

// HasTag reports whether the platform knows the message tag.
func (c Capabilities) HasTag(tag string) bool {
	for _, t := range c.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// Capabilities are a platform's sending rules.
type Capabilities struct {
	// Window is the standard messaging window after the person's last
	// message.
	Window time.Duration
	// HumanAgent is how long after the person's last message a person of
	// the team may still reply with the HUMAN_AGENT tag (0: no such tag).
	HumanAgent time.Duration
	// Templates: outside the window only approved templates may be sent.
	Templates bool
	// Tags are the message tags the platform knows (TagHumanAgent ...).
	Tags []string
	// Notifications: the person may opt in to notification messages of
	// a topic, sent outside the window with a token (Messenger).
	Notifications bool
	// Caption: a media message may carry text (WhatsApp's image, video
	// and document captions); without it a file and a text are two
	// messages.
	Caption bool
	// React: the business may react to the person's messages through
	// the Send API (Reactor).
	React bool
	// Edit and Unsend: the platform takes edits and deletions of the
	// business's sent messages. None of the three does today; the app
	// refuses them on platform conversations rather than let the two
	// sides differ.
	Edit, Unsend bool
}

// Account is the business's account a message is sent from.
type Account struct {
	// ID is the Page, Instagram account or WhatsApp phone number id.
	ID          string
	AccessToken string
}

// Outgoing is a message to send.
type Outgoing struct {
	// To is the person's platform id.
	To   string
	Text string
	// Mode is one of the send modes.
	Mode string
	// Template and Language name a WhatsApp template; Params are the
	// values of its variables in order ({{1}}, {{2}} ...).
	Template string
	Language string
	Params   []string
	// Header and Buttons are the template's header and button
	// parameters (nil: none).
	Header  *TemplateHeader
	Buttons []TemplateButton
	// Media is a file to send, fetched by the platform from its URL
	// (nil: a text message).
	Media *OutMedia
	// NotificationToken is the person's notification messages token of
	// a ModeNotification message: it stands for the recipient.
	NotificationToken string
	// Optin is the request of a ModeOptinRequest message.
	Optin *OptinRequest
}

// OutMedia is a file the platform fetches from URL: a signed link to
// Parley media that expires.
type OutMedia struct {
	// Type is image, video, audio or file.
	Type string
	URL  string
	// Name is a file's download name.
	Name string
}

// Getter is what a Channel downloads attachments through; the server
// wires the SSRF-safe client in. It reads at most maxBody+1 bytes of the
// answer, so that a caller sees a body that is too long.
type Getter interface {
	Get(ctx context.Context, rawURL string, header http.Header, maxBody int64) (status int, answer http.Header, body []byte, err error)
}

// Fetcher is a Channel that downloads the attachments of inbound
// messages (from the platform's CDN link, or by WhatsApp media id through
// the Graph API with the access token).
type Fetcher interface {
	// Fetch returns the bytes of att, at most maxBytes. A failure is a
	// *SendError: Retryable says whether to try again later.
	Fetch(ctx context.Context, acct Account, att Attachment, maxBytes int64) ([]byte, error)
}

// Reactor is a Channel through which the business reacts to a person's
// message (emoji "" removes the reaction).
type Reactor interface {
	// React sets or removes the business's reaction on the platform
	// message mid of the person to. A failure is a *SendError.
	React(ctx context.Context, acct Account, to, mid, emoji string) error
}

// Channel is one platform.
type Channel interface {
	// Platform is the platform's name (parley.PlatformMessenger, ...).
	Platform() string
	// Capabilities are the platform's sending rules.
	Capabilities() Capabilities
	// Parse turns a webhook body, already authenticated, into events in
	// the order of the body. A body that is not the platform's format is
	// an error; parts it does not know are skipped.
	Parse(body []byte) ([]Event, error)
	// Send posts one message through the Send API and returns the
	// platform's message id. A refusal is a *SendError.
	Send(ctx context.Context, acct Account, out Outgoing) (mid string, err error)
}

// Poster is what a Channel posts through; the server wires the SSRF-safe
// client (package outbound) in. It returns the answer's status, header
// and body, read up to MaxAnswer bytes.
type Poster interface {
	Post(ctx context.Context, rawURL string, header http.Header, body []byte) (status int, answer http.Header, answerBody []byte, err error)
}

// PosterFunc is a function that is a Poster.
type PosterFunc func(ctx context.Context, rawURL string, header http.Header, body []byte) (int, http.Header, []byte, error)

// Post implements Poster.
func (f PosterFunc) Post(ctx context.Context, rawURL string, header http.Header, body []byte) (int, http.Header, []byte, error) {
	return f(ctx, rawURL, header, body)
}

// MaxAnswer caps the Send API answer read.
const MaxAnswer = 64 << 10

// Download gets rawURL through g and returns its body, refusing one
// longer than maxBytes; errors are *SendError (temporary for 5xx, 429
// and network failures).
func Download(ctx context.Context, g Getter, rawURL string, header http.Header, maxBytes int64) ([]byte, error) {
	if g == nil {
		return nil, &SendError{Message: "this server does not download attachments"}
	}
	status, ah, body, err := g.Get(ctx, rawURL, header, maxBytes)
	if err != nil {
		return nil, &SendError{Message: "the download failed: " + err.Error(), Temporary: true}
	}
	if status/100 != 2 {
		e := Classify(status, ah, 0, 0, "")
		e.Message = "the download answered " + e.Message
		return nil, e
	}
	if int64(len(body)) > maxBytes {
		return nil, &SendError{Status: status, Message: fmt.Sprintf("the file is larger than %d bytes", maxBytes)}
	}
	if len(body) == 0 {
		return nil, &SendError{Status: status, Message: "the file is empty"}
	}
	return body, nil
}

// SendError is the platform's refusal of a send.
type SendError struct {
	// Status is the HTTP status (0: no answer, a network error).
	Status  int
	Code    int
	Subcode int
	Message string
	// RateLimited: the platform asks to slow down; retry after
	// RetryAfter (0: the caller's backoff).
	RateLimited bool
	RetryAfter  time.Duration
	// Temporary: the same request may succeed later (5xx, network).
	Temporary bool
}

func (e *SendError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("%s (HTTP %d, code %d)", e.Message, e.Status, e.Code)
	}
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
}

// Retryable reports whether the send may be tried again.
func (e *SendError) Retryable() bool { return e.RateLimited || e.Temporary }

// Graph API error codes that mean "slow down" (Meta's documentation of
// rate limiting and the WhatsApp Cloud API error codes).
var rateLimitCodes = map[int]bool{
	4: true, 17: true, 32: true, 613: true, 80001: true, 80006: true, 80007: true,
	130429: true, 131048: true, 131056: true,
}

// Temporary Graph API codes: the service had a problem (1, 2) or the
// WhatsApp service is unavailable (131016, 133004 ...).
var temporaryCodes = map[int]bool{1: true, 2: true, 131000: true, 131016: true, 133004: true}

// Classify builds the SendError of a Graph API answer that is not a
// success: code and subcode from its error object, rate limits and
// temporary failures told apart from refusals.
func Classify(status int, header http.Header, code, subcode int, message string) *SendError {
	e := &SendError{Status: status, Code: code, Subcode: subcode, Message: message}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	switch {
	case status == http.StatusTooManyRequests || rateLimitCodes[code]:
		e.RateLimited = true
	case status >= 500 || temporaryCodes[code]:
		e.Temporary = true
	}
	if v := header.Get("Retry-After"); v != "" {
		var secs int
		if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && secs > 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		}
	}
	return e
}

// SignatureHeader is the header Meta signs webhook bodies in.
const SignatureHeader = "X-Hub-Signature-256"

// Sign returns the X-Hub-Signature-256 value of body: "sha256=" and the
// hex HMAC-SHA256 of the raw body with the app secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether header is the signature of the raw
// body with the app secret, comparing in constant time. An empty secret
// verifies nothing.
func VerifySignature(secret string, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok || secret == "" {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// Millis turns a platform's millisecond timestamp into a time (UTC).
func Millis(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Endpoint joins the platform's base URL, API version and path.
func Endpoint(base, version string, parts ...string) string {
	u := strings.TrimRight(base, "/")
	if version != "" {
		u += "/" + strings.Trim(version, "/")
	}
	for _, p := range parts {
		u += "/" + strings.Trim(p, "/")
	}
	return u
}

// TemplateHeader is the parameter of a template's header.
type TemplateHeader struct {
	// Type is text, image or document.
	Type string `json:"type"`
	// Text is a text header's parameter.
	Text string `json:"text,omitempty"`
	// Link is the https address the platform fetches an image or a
	// document from; Filename names a document.
	Link     string `json:"link,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// Template header types.
const (
	HeaderText     = "text"
	HeaderImage    = "image"
	HeaderDocument = "document"
)

// TemplateButton is the parameter of one of a template's buttons.
type TemplateButton struct {
	// SubType is quick_reply (Param is the payload sent back when the
	// person taps it) or url (Param completes the button's URL).
	SubType string `json:"sub_type"`
	// Index is the button's position in the template, from 0.
	Index int    `json:"index"`
	Param string `json:"parameter"`
}

// Template button sub-types.
const (
	ButtonQuickReply = "quick_reply"
	ButtonURL        = "url"
)
