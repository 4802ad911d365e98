package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/channel"
	"github.com/parleyhq/parley/media"
)

// Channel media and the work besides the send: an inbound message's
// attachments are fetched into Parley media after the message is stored
// (the webhook answers at once; a failed fetch is retried and, at last,
// shown as failed on the message), an outbound file goes out as a signed
// link the platform fetches, and the business's reactions to the
// person's messages are forwarded. The work rides on the message's link
// row (channel_messages.data, work_at).

// channelWork is a link's Data.
type channelWork struct {
	// Fetch are an inbound message's attachments, in order.
	Fetch []*fetchItem `json:"fetch,omitempty"`
	// Params are a template's variable values, in order.
	Params []string `json:"params,omitempty"`
	// Header and Buttons are a template's WhatsApp header and button
	// parameters, filled in.
	Header  *channel.TemplateHeader  `json:"header,omitempty"`
	Buttons []channel.TemplateButton `json:"buttons,omitempty"`
	// Media is the media sent in an outbound message.
	Media string `json:"media,omitempty"`
	// React is the business's reaction the platform should show on an
	// inbound message; Reacted is the one it shows.
	React   string `json:"react,omitempty"`
	Reacted string `json:"reacted,omitempty"`
	// Topic is the topic of a notification message: its token is the
	// person's opt-in to it, read when it is sent.
	Topic string `json:"topic,omitempty"`
	// Optin is an opt-in request to send (its image is Media).
	Optin *channel.OptinRequest `json:"optin,omitempty"`
}

// fetchItem is one attachment to fetch.
type fetchItem struct {
	channel.Attachment
	// State is fetching, done or failed.
	State string `json:"state"`
	Tries int    `json:"tries,omitempty"`
	Error string `json:"error,omitempty"`
}

// Fetch states.
const (
	fetchPending = "fetching"
	fetchDone    = "done"
	fetchFailed  = "failed"
)

// channelFetchTries caps the tries of one attachment; the platforms' CDN
// links expire within hours.
const channelFetchTries = 6

func readWork(l *parley.ChannelMessage) *channelWork {
	w := &channelWork{}
	if l.Data != "" {
		_ = json.Unmarshal([]byte(l.Data), w)
	}
	return w
}

func (cw *channelWork) encode() string {
	b, _ := json.Marshal(cw)
	if string(b) == "{}" {
		return ""
	}
	return string(b)
}

// fetchable reports whether an inbound attachment is a file Parley can
// bring in (not a link card, a shared post or a story).
func fetchable(at channel.Attachment) bool {
	if at.MediaID != "" {
		return true
	}
	switch at.Type {
	case "image", "video", "audio", "file":
		return at.URL != ""
	}
	return false
}

// fetchItems are the attachments of an inbound message to fetch, at most
// MaxAttachments.
func fetchItems(ev channel.Event) []channel.Attachment {
	var out []channel.Attachment
	for _, at := range ev.Attachments {
		if fetchable(at) && len(out) < MaxAttachments {
			out = append(out, at)
		}
	}
	return out
}

// inboundKind is the kind of a message with these fetchable attachments.
func inboundKind(atts []channel.Attachment) parley.MessageKind {
	kind := parley.MessageKind("")
	for _, at := range atts {
		k := parley.MessageFile
		switch at.Type {
		case "image", "sticker":
			k = parley.MessageImage
		case "video":
			k = parley.MessageVideo
		case "audio":
			k = parley.MessageAudio
		}
		if kind != "" && kind != k {
			return parley.MessageFile
		}
		kind = k
	}
	return kind
}

// ChannelAttachmentState is an inbound attachment not (yet) in Parley:
// still being fetched from the platform, or failed.
type ChannelAttachmentState struct {
	Type   string `json:"type"`
	Name   string `json:"name,omitempty"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

func pendingAttachments(l *parley.ChannelMessage) []ChannelAttachmentState {
	if l.Data == "" {
		return nil
	}
	var out []ChannelAttachmentState
	for _, it := range readWork(l).Fetch {
		if it.State != fetchDone {
			out = append(out, ChannelAttachmentState{Type: it.Type, Name: it.Name, Status: it.State, Error: it.Error})
		}
	}
	return out
}

// Channel work worker limits.
const (
	channelWorkBatch = 8
	channelWorkLease = 5 * time.Minute
)

type workJob struct {
	link  *parley.ChannelMessage
	ch    *parley.Channel
	impl  channel.Channel
	to    string // the person's platform id
	owner *parley.User
	work  *channelWork
	// results
	media  map[int]string // fetch index -> media id
	errs   map[int]error
	reacts bool   // a reaction call succeeded
	sent   string // the reaction it sent
	react  error
}

// ChannelWorkTick does the due channel work once (attachment fetches,
// reactions) and returns how many links it worked on.
func (a *App) ChannelWorkTick(ctx context.Context) (int, error) {
	if due, err := a.anyDue(ctx, func(tx parley.Tx) (bool, error) {
		ls, err := tx.DueChannelWork(a.clock(), 1)
		return len(ls) > 0, err
	}); err != nil || !due {
		return 0, err
	}
	var jobs []*workJob
	// Only the lease (work_at and the row's time): nothing a view shows,
	// so the frames of sends rendered from their hands hold (see
	// ChannelSendTick).
	err := a.updateKeepingFrames(ctx, func(w *writer) error {
		jobs = nil
		due, err := w.DueChannelWork(w.now, channelWorkBatch)
		if err != nil {
			return err
		}
		for _, l := range due {
			l.WorkAt, l.UpdatedAt = w.now.Add(channelWorkLease), w.now
			if err := w.UpdateChannelMessage(l); err != nil {
				return err
			}
			j := &workJob{link: l, work: readWork(l), media: map[int]string{}, errs: map[int]error{}}
			if j.ch, err = w.Channel(l.ChannelID); err != nil {
				return err
			}
			th, err := w.ChannelThreadByConversation(l.ConversationID)
			if parley.IsNotFound(err) {
				continue
			} else if err != nil {
				return err
			}
			if j.owner, err = w.UserByID(th.UserID); err != nil {
				return err
			}
			j.to, j.impl = th.ExternalUserID, a.channels[j.ch.Platform]
			jobs = append(jobs, j)
		}
		return nil
	})
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	for _, j := range jobs {
		a.doWork(ctx, j)
	}
	err = a.update(ctx, func(w *writer) error {
		for _, j := range jobs {
			if err := a.finishWork(w, j); err != nil {
				return err
			}
		}
		return nil
	})
	return len(jobs), err
}

// doWork makes the platform calls of one job, outside any transaction.
func (a *App) doWork(ctx context.Context, j *workJob) {
	if j.impl == nil {
		return
	}
	token, err := a.unseal(j.ch.AccessToken, channelSecretContext(j.ch.ID, "access_token"))
	if err != nil {
		a.log.Error("channel token", "channel", j.ch.ID, "err", err)
		for i, it := range j.work.Fetch {
			if it.State == fetchPending {
				j.errs[i] = &channel.SendError{Message: "the channel's access token does not open (encryption key?)"}
			}
		}
		return
	}
	acct := channel.Account{ID: j.ch.AccountID, AccessToken: token}
	fetcher, _ := j.impl.(channel.Fetcher)
	for i, it := range j.work.Fetch {
		if it.State != fetchPending {
			continue
		}
		if fetcher == nil {
			j.errs[i] = &channel.SendError{Message: j.ch.Platform + " attachments are not fetched by this server"}
			continue
		}
		body, err := fetcher.Fetch(ctx, acct, it.Attachment, a.cfg.Media.MaxFileBytes)
		if err == nil {
			var mv *MediaView
			// The same checks as an upload: the type from the content,
			// sizes, pixels, metadata stripped.
			if mv, err = a.upload(ctx, &Actor{User: j.owner}, "", bytes.NewReader(body)); err == nil {
				j.media[i] = mv.ID
				continue
			}
		}
		j.errs[i] = err
		a.log.Warn("channel attachment", "channel", j.ch.ID, "message", j.link.MessageID, "err", err)
	}
	if j.work.React != j.work.Reacted && j.link.PlatformMID != "" && j.ch.DisabledAt.IsZero() {
		if r, ok := j.impl.(channel.Reactor); ok {
			j.sent = j.work.React
			j.react = r.React(ctx, acct, j.to, j.link.PlatformMID, j.work.React)
			j.reacts = j.react == nil
		}
	}
}

// finishWork stores what one job did, merged with what changed meanwhile
// (a reaction changed during the calls is forwarded next).
func (a *App) finishWork(w *writer, j *workJob) error {
	l, err := w.ChannelMessage(j.link.MessageID)
	if parley.IsNotFound(err) {
		return nil // the channel was disconnected meanwhile
	} else if err != nil {
		return err
	}
	cw := readWork(l)
	m, err := w.MessageByID(l.MessageID)
	if parley.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	changed := false
	var next time.Time
	later := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for i, it := range cw.Fetch {
		if it.State != fetchPending || i >= len(j.work.Fetch) {
			continue
		}
		if id, ok := j.media[i]; ok && m.DeletedAt == nil {
			if err := w.AttachMedia(id, m.ConversationID, m.ID, i); err != nil {
				return err
			}
			it.State, it.Error, changed = fetchDone, "", true
			continue
		}
		err := j.errs[i]
		if err == nil {
			if m.DeletedAt != nil {
				it.State, it.Error = fetchFailed, "the message was unsent"
				continue
			}
			later(w.now.Add(channelWorkLease)) // not tried (the platform is not connected): later
			continue
		}
		it.Tries++
		it.Error = clipError(fetchReason(err))
		if err := w.NoteChannel(j.ch.ID, parley.ChannelNote{Error: clipError("attachment fetch: " + it.Error), ErrorAt: w.now}); err != nil {
			return err
		}
		var se *channel.SendError
		retry := !errors.As(err, &se) || se.Retryable()
		if pe := (*parley.Error)(nil); errors.As(err, &pe) {
			retry = pe.Code == parley.EStorageFull
		}
		if retry && it.Tries < channelFetchTries && m.DeletedAt == nil {
			wait := ChannelBackoff(it.Tries)
			if se != nil && se.RateLimited {
				wait = max(wait, channelRateFloor, se.RetryAfter)
			}
			later(w.now.Add(wait))
			continue
		}
		it.State, changed = fetchFailed, true
	}
	if j.reacts {
		cw.Reacted = j.sent
	} else if j.react != nil {
		a.log.Warn("channel reaction", "channel", j.ch.ID, "message", l.MessageID, "err", j.react)
		var se *channel.SendError
		if errors.As(j.react, &se) && !se.Retryable() {
			cw.Reacted = cw.React // refused for good: do not try again
		} else {
			later(w.now.Add(ChannelBackoff(2)))
		}
	}
	switch {
	case cw.React == cw.Reacted || l.PlatformMID == "":
	case !j.ch.DisabledAt.IsZero():
		// A paused channel forwards nothing: look again later.
		later(w.now.Add(channelPausedPoll))
	case j.react == nil:
		later(w.now) // changed during the call
	}
	l.Data, l.WorkAt, l.UpdatedAt = cw.encode(), next, w.now
	if err := w.UpdateChannelMessage(l); err != nil {
		return err
	}
	if changed {
		// The team's devices load the message again: its attachments
		// or the failed placeholder.
		return w.event(&parley.Event{Type: parley.EventMessageUpdated, ConversationID: m.ConversationID, MessageID: m.ID, Seq: m.Seq})
	}
	return nil
}

// channelPausedPoll is how often a paused channel's held reactions are
// looked at again (they go within this after it is resumed).
const channelPausedPoll = 5 * time.Minute

// fetchReason is the reason a fetch failed as the team reads it.
func fetchReason(err error) string {
	var pe *parley.Error
	if errors.As(err, &pe) {
		return pe.Message
	}
	return err.Error()
}

// Outbound media: the platform fetches the file from a link on the
// server's public address, signed with the channel's app secret and
// valid for channelMediaTTL.

// channelMediaTTL is how long a media link given to a platform works: the
// platforms fetch a file when the message is sent.
const channelMediaTTL = time.Hour

func channelMediaSig(secret, channelID, mediaID string, exp int64) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("parley-channel-media\x00" + channelID + "\x00" + mediaID + "\x00" + strconv.FormatInt(exp, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

// channelMediaLink is the signed link of a media for a channel's platform.
func (a *App) channelMediaLink(c *parley.Channel, mediaID string) (string, error) {
	if a.publicURL == "" {
		return "", errors.New("no public URL: set PARLEY_PUBLIC_URL so that the platform can fetch files")
	}
	secret, err := a.unseal(c.AppSecret, channelSecretContext(c.ID, "app_secret"))
	if err != nil {
		return "", err
	}
	exp := a.clock().Add(channelMediaTTL).Unix()
	q := url.Values{"exp": {strconv.FormatInt(exp, 10)}, "sig": {channelMediaSig(secret, c.ID, mediaID, exp)}}
	return strings.TrimRight(a.publicURL, "/") + "/hooks/meta/" + url.PathEscape(c.ID) + "/media/" + url.PathEscape(mediaID) + "?" + q.Encode(), nil
}

// OpenChannelMedia opens a media for a platform fetching it through a
// link of channelMediaLink: only a file sent in one of the channel's
// conversations, before the link expires, with the right signature.
// Anything else is ELinkExpired or ENotFound, told apart only by the time.
func (a *App) OpenChannelMedia(ctx context.Context, channelID, mediaID, exp, sig string) (*MediaFile, error) {
	notFound := parley.Errorf(parley.ENotFound, "media not found")
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || a.blobs == nil || len(sig) != 64 {
		return nil, notFound
	}
	if a.clock().Unix() > n {
		return nil, parley.Errorf(parley.ELinkExpired, "the link has expired")
	}
	var md *parley.Media
	err = a.view(ctx, func(tx parley.Tx) error {
		c, err := tx.Channel(channelID)
		if err != nil {
			return notFound
		}
		secret, err := a.unseal(c.AppSecret, channelSecretContext(c.ID, "app_secret"))
		if err != nil {
			return err
		}
		if !hmac.Equal([]byte(sig), []byte(channelMediaSig(secret, c.ID, mediaID, n))) {
			return notFound
		}
		if md, err = tx.MediaByID(mediaID); err != nil || md.MessageID == "" {
			return notFound
		}
		l, err := tx.ChannelMessage(md.MessageID)
		if err != nil || l.ChannelID != c.ID || l.Direction != parley.ChannelOut {
			return notFound
		}
		msg, err := tx.MessageByID(md.MessageID)
		if err != nil || msg.DeletedAt != nil {
			return notFound
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	f, err := a.blobs.Open(ctx, md.BlobKey)
	if err != nil {
		return nil, err
	}
	return &MediaFile{BlobFile: f, ContentType: md.ContentType, Inline: false, Name: md.ID + media.Extension(md.ContentType)}, nil
}

// WithPublicURL sets the server's public address (PARLEY_PUBLIC_URL): the
// platforms of channels fetch outbound files from links on it.
func WithPublicURL(u string) Option { return func(a *App) { a.publicURL = u } }

// channelOnEdit refuses an edit of a business message in a channel
// conversation: no platform takes it, and the two sides would differ.
func (a *App) channelOnEdit(w *writer, m *parley.Message) error {
	l, err := w.ChannelMessage(m.ID)
	if parley.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if impl, c := a.linkImpl(w, l); impl != nil && !impl.Capabilities().Edit {
		return parley.Errorf(parley.EChannelUnsupported, "%s does not take edits of sent messages; the person would keep the first version. Send a correction instead", platformName(c.Platform))
	}
	return nil
}

// channelOnUnsend refuses to unsend a business message the platform has
// (a queued one is simply not sent).
func (a *App) channelOnUnsend(w *writer, m *parley.Message) error {
	l, err := w.ChannelMessage(m.ID)
	if parley.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if l.Status == parley.ChannelQueued || l.Status == parley.ChannelFailed {
		return nil
	}
	if impl, c := a.linkImpl(w, l); impl != nil && !impl.Capabilities().Unsend {
		return parley.Errorf(parley.EChannelUnsupported, "%s does not take deletions of sent messages; the person keeps it. Send a correction instead", platformName(c.Platform))
	}
	return nil
}

// channelOnReact forwards the business's reaction to a person's message
// in a channel conversation (the platforms show one reaction of the
// business per message: the newest). A reaction to the business's own
// message stays in Parley.
func (a *App) channelOnReact(w *writer, m *parley.Message, actor *Actor, emoji string, on bool) error {
	if actor.User.Kind != parley.KindBusiness {
		return nil
	}
	l, err := w.ChannelMessage(m.ID)
	if parley.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if l.Direction != parley.ChannelIn || strings.HasPrefix(l.PlatformMID, "pb:") {
		return nil // not the person's message, or a postback (no platform id)
	}
	impl, _ := a.linkImpl(w, l)
	if impl == nil || !impl.Capabilities().React {
		return nil
	}
	cw := readWork(l)
	switch {
	case on:
		cw.React = emoji
	case cw.React == emoji:
		cw.React = ""
	default:
		return nil // another of the business's reactions went
	}
	l.Data, l.UpdatedAt = cw.encode(), w.now
	if cw.React != cw.Reacted {
		l.WorkAt = w.now
	}
	if err := w.UpdateChannelMessage(l); err != nil {
		return err
	}
	w.wakeChannels = true
	return nil
}

func (a *App) linkImpl(w *writer, l *parley.ChannelMessage) (channel.Channel, *parley.Channel) {
	c, err := w.Channel(l.ChannelID)
	if err != nil {
		return nil, nil
	}
	return a.channels[c.Platform], c
}

func platformName(p string) string {
	switch p {
	case parley.PlatformWhatsApp:
		return "WhatsApp"
	case parley.PlatformInstagram:
		return "Instagram"
	}
	return "Messenger"
}
