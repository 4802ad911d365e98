package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"mime"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/net/html"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/media"
)

// Fetched is a fetched web resource.
type Fetched struct {
	URL         string // after redirects
	Status      int
	ContentType string
	Body        []byte
}

// LinkFetcher fetches a URL chosen by a user, with at most maxBody bytes of
// body. It must refuse every destination that is not public (the server
// uses package outbound).
type LinkFetcher func(ctx context.Context, url string, maxBody int64, accept string) (*Fetched, error)

// WithLinkPreviews turns link cards on: the first http(s) URL of a sent
// text is fetched (HTML only, 1 MB at most, 5 s) and its title,
// description, site name and image shown under the message.
func WithLinkPreviews(fetch LinkFetcher) Option {
	return func(a *App) { a.fetch = fetch }
}

// CardView is a link preview.
type CardView struct {
	URL         string         `json:"url"`
	Title       string         `json:"title,omitempty"`
	Description string         `json:"description,omitempty"`
	SiteName    string         `json:"site_name,omitempty"`
	Image       *CardImageView `json:"image,omitempty"`
}

// CardImageView is a link card's picture, fetched and stored by the server
// (GET /api/v1/media/{id}), so that showing a card tells the linked site
// nothing about who looks at it.
type CardImageView struct {
	ID          string `json:"id"`
	ContentType string `json:"content_type"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
}

// Link card limits.
const (
	maxCardPage       = 1 << 20
	maxCardFetches    = 8
	cardTimeout       = 10 * time.Second
	maxCardTitle      = 300
	maxCardDesc       = 1000
	cardImagePosition = -1 // the media row of a card image, not an attachment
)

var urlPattern = regexp.MustCompile(`(?i)\bhttps?://[^\s\v<>"'` + "`" + `]+`) // RE2's \s leaves out \v

// firstURL returns the first http(s) URL in text, without trailing
// punctuation.
func firstURL(text string) string {
	u := urlPattern.FindString(text)
	return strings.TrimRight(u, ".,;:!?)]}")
}

// maybeFetchCard starts fetching the card of a just-sent message, unless
// previews are off, the text has no URL, or too many fetches run already
// (a card is a nicety; a send never waits for one).
func (a *App) maybeFetchCard(m *MessageView, senderID string) {
	if a.fetch == nil || m.Kind != string(parley.MessageText) {
		return
	}
	link := firstURL(m.Text)
	if link == "" {
		return
	}
	select {
	case a.cardSlots <- struct{}{}:
	default:
		return
	}
	go func() {
		defer func() { <-a.cardSlots }()
		defer func() {
			// Hostile pages and pictures must not take the server down:
			// nothing above this goroutine would recover.
			if r := recover(); r != nil {
				a.log.Error("link card panic", "message", m.ID, "panic", r)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), cardTimeout)
		defer cancel()
		if err := a.fetchCard(ctx, m.ConversationID, m.ID, senderID, link); err != nil {
			a.log.Debug("link card", "message", m.ID, "err", err)
		}
	}()
}

// errNoCard ends a card fetch quietly.
var errNoCard = errors.New("no card")

func (a *App) fetchCard(ctx context.Context, convID, msgID, senderID, link string) error {
	// Never inside a request: its recipient sees plain text only.
	if err := a.view(ctx, func(tx parley.Tx) error {
		c, err := tx.ConversationByID(convID)
		if err != nil {
			return err
		}
		if c.Kind == parley.ConversationDirect {
			other, _, err := otherMember(tx, c, senderID)
			if err != nil {
				return err
			}
			if other.Status != parley.StatusActive {
				return errNoCard
			}
		}
		return nil
	}); err != nil {
		return err
	}
	page, err := a.fetch(ctx, link, maxCardPage, "text/html,application/xhtml+xml")
	if err != nil {
		return err
	}
	ct, _, _ := mime.ParseMediaType(page.ContentType)
	if page.Status != 200 || (ct != "text/html" && ct != "application/xhtml+xml") {
		return errNoCard
	}
	meta := parseCard(page.Body)
	card := CardView{URL: link, Title: clip(firstOf(meta["og:title"], meta["twitter:title"], meta["title"]), maxCardTitle),
		Description: clip(firstOf(meta["og:description"], meta["twitter:description"], meta["description"]), maxCardDesc),
		SiteName:    clip(meta["og:site_name"], maxCardTitle)}
	if card.Title == "" && card.Description == "" {
		return errNoCard
	}
	var img *parley.Media
	var thumb *media.Thumb
	if src := firstOf(meta["og:image"], meta["twitter:image"]); src != "" {
		if thumb, err = a.cardImage(ctx, page.URL, src); err != nil {
			a.log.Debug("link card image", "url", src, "err", err)
		}
	}
	var key string
	if thumb != nil && a.blobs != nil {
		sum := sha256.Sum256(thumb.Data)
		key = hex.EncodeToString(sum[:])
	}
	unlock, err := a.lockBlobs(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	if key != "" {
		if err := a.blobs.Put(ctx, key, bytes.NewReader(thumb.Data)); err != nil {
			return err
		}
		img = &parley.Media{ID: "med_" + newID(), OwnerID: senderID, Kind: parley.MessageImage, ContentType: thumb.ContentType,
			Size: int64(len(thumb.Data)), Width: thumb.Width, Height: thumb.Height, BlobKey: key,
			ConversationID: convID, MessageID: msgID, Position: cardImagePosition, CreatedAt: a.clock()}
		card.Image = &CardImageView{ID: img.ID, ContentType: img.ContentType, Width: img.Width, Height: img.Height}
	}
	data, err := json.Marshal(card)
	if err != nil {
		return err
	}
	return a.update(ctx, func(w *writer) error {
		ok, err := w.SetMessageCard(msgID, string(data))
		if err != nil || !ok {
			return err // unsent meanwhile: nothing to show
		}
		if img != nil {
			if err := w.CreateMedia(img); err != nil {
				return err
			}
		}
		m, err := w.MessageByID(msgID)
		if err != nil {
			return err
		}
		return w.event(&parley.Event{Type: parley.EventMessageUpdated, ConversationID: convID, ActorID: senderID,
			MessageID: msgID, Seq: m.Seq})
	})
}

// cardImage fetches a card's picture and returns its thumbnail; the
// picture goes through the same checks as an upload.
func (a *App) cardImage(ctx context.Context, base, src string) (*media.Thumb, error) {
	b, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	u, err := b.Parse(src)
	if err != nil {
		return nil, err
	}
	res, err := a.fetch(ctx, u.String(), a.cfg.Media.MaxImageBytes, "image/*")
	if err != nil {
		return nil, err
	}
	if res.Status != 200 || int64(len(res.Body)) >= a.cfg.Media.MaxImageBytes {
		return nil, errNoCard
	}
	info, err := media.Inspect(bytes.NewReader(res.Body), int64(len(res.Body)), media.Limits{MaxPixels: a.cfg.Media.MaxPixels,
		MaxFrames: a.cfg.Media.MaxGIFFrames, MaxImageBytes: a.cfg.Media.MaxImageBytes})
	if err != nil || !info.HasThumbnail() {
		return nil, errNoCard
	}
	return a.thumbnail(ctx, info, bytes.NewReader(res.Body))
}

// parseCard reads <title> and the <meta> tags of a page's head.
func parseCard(page []byte) map[string]string {
	out := map[string]string{}
	z := html.NewTokenizer(bytes.NewReader(page))
	inTitle := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch string(name) {
			case "title":
				inTitle = true
			case "body":
				return out
			case "meta":
				var key, content string
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					switch string(k) {
					case "property", "name":
						key = strings.ToLower(string(v))
					case "content":
						content = string(v)
					}
				}
				if key != "" && content != "" {
					if _, seen := out[key]; !seen {
						out[key] = content
					}
				}
			}
		case html.TextToken:
			if inTitle {
				if _, seen := out["title"]; !seen {
					out["title"] = string(z.Text())
				}
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "title" {
				inTitle = false
			} else if string(name) == "head" {
				return out
			}
		}
	}
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// clip shortens s to at most n runes and drops control characters.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

// cardView decodes a stored card.
func cardView(stored string) *CardView {
	if stored == "" {
		return nil
	}
	var c CardView
	if json.Unmarshal([]byte(stored), &c) != nil {
		return nil
	}
	return &c
}
