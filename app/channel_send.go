package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/channel"
	"github.com/parleyhq/parley/media"
)

// Outbound: every business message in a channel conversation — an
// agent's reply, a bot's, a rule's, a campaign's — passes the platform's
// rules here, in the transaction that stores it, and is queued in the
// outbox (channel_messages) in that same transaction; the worker below
// posts it to the Send API with retries.

// SendMode is one way a business message may go out in a channel
// conversation, open or not, and why.
type SendMode struct {
	Mode string `json:"mode"`
	Open bool   `json:"open"`
	// Until is when an open mode closes (nil: it does not).
	Until  *time.Time `json:"until,omitempty"`
	Reason string     `json:"reason"`
}

// SendModesView says how the business may write in a conversation now.
type SendModesView struct {
	// Channel is the platform conversation's channel (nil for a Parley
	// conversation, where the business's messaging policy applies).
	Channel       *ChannelSummary `json:"channel"`
	LastInboundAt *time.Time      `json:"last_inbound_at,omitempty"`
	Modes         []SendMode      `json:"modes"`
}

// ChannelSummary names a channel inside other objects.
type ChannelSummary struct {
	ID       string `json:"id"`
	Platform string `json:"platform"`
	Name     string `json:"name"`
}

// sendModes lists the platform's modes at now for a thread.
func sendModes(caps channel.Capabilities, platform string, th *parley.ChannelThread, now time.Time) []SendMode {
	last := th.LastInboundAt
	window := last.Add(caps.Window)
	std := SendMode{Mode: channel.ModeStandard}
	switch {
	case last.IsZero():
		std.Reason = "the person has not written yet"
	case now.Before(window):
		std.Open, std.Until = true, &window
		std.Reason = fmt.Sprintf("within %d hours of the person's last message", int(caps.Window.Hours()))
	default:
		std.Reason = fmt.Sprintf("the %d-hour window closed at %s", int(caps.Window.Hours()), window.Format(time.RFC3339))
	}
	out := []SendMode{std}
	if caps.HumanAgent > 0 {
		end := last.Add(caps.HumanAgent)
		ha := SendMode{Mode: channel.ModeHumanAgent}
		switch {
		case last.IsZero():
			ha.Reason = "the person has not written yet"
		case now.Before(end):
			ha.Open, ha.Until = true, &end
			ha.Reason = fmt.Sprintf("a reply written by a person of the team (not a bot, rule or campaign) within %d days of the person's last message, sent with the HUMAN_AGENT tag", int(caps.HumanAgent.Hours()/24))
		default:
			ha.Reason = fmt.Sprintf("the %d-day human agent window closed at %s", int(caps.HumanAgent.Hours()/24), end.Format(time.RFC3339))
		}
		out = append(out, ha)
	}
	if caps.Templates {
		out = append(out, SendMode{Mode: channel.ModeTemplate, Open: true,
			Reason: "an approved template, whose name is the template's name approved in WhatsApp Manager, may be sent at any time"})
	}
	return out
}

// SendModes says which send modes are open in one of the business's
// conversations and why the others are not.
func (a *App) SendModes(ctx context.Context, ba *BusinessActor, convID string) (*SendModesView, error) {
	var out *SendModesView
	err := a.view(ctx, func(tx parley.Tx) error {
		if _, err := itemOf(tx, ba, convID); err != nil {
			return err
		}
		th, err := tx.ChannelThreadByConversation(convID)
		if parley.IsNotFound(err) {
			out = &SendModesView{Modes: []SendMode{{Mode: channel.ModeStandard, Open: true,
				Reason: "a Parley conversation: the business's messaging policy applies"}}}
			return nil
		} else if err != nil {
			return err
		}
		c, err := tx.Channel(th.ChannelID)
		if err != nil {
			return err
		}
		impl := a.channels[c.Platform]
		if impl == nil {
			return parley.Errorf(parley.ENotFound, "this server does not connect %s", c.Platform)
		}
		out = &SendModesView{Channel: &ChannelSummary{ID: c.ID, Platform: c.Platform, Name: c.Name},
			Modes: sendModes(impl.Capabilities(), c.Platform, th, a.clock())}
		if !th.LastInboundAt.IsZero() {
			t := th.LastInboundAt
			out.LastInboundAt = &t
		}
		return nil
	})
	return out, err
}

// channelOnSend applies the platform's rules to a business message in a
// channel conversation and queues it for the Send API. An automated
// message (away, welcome, CSAT, STOP confirmation) is never refused: when
// the platform would refuse it, it is kept in Parley and marked failed.
func (a *App) channelOnSend(w *writer, m *parley.Message, actor *Actor, sc *sendClass) error {
	th, err := w.ChannelThreadByConversation(m.ConversationID)
	if parley.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	c, err := w.Channel(th.ChannelID)
	if err != nil {
		return err
	}
	impl := a.channels[c.Platform]
	if impl == nil {
		return parley.Errorf(parley.EForbidden, "this server no longer connects %s; the message cannot reach the person", c.Platform)
	}
	link := &parley.ChannelMessage{MessageID: m.ID, ChannelID: c.ID, ConversationID: m.ConversationID, Direction: parley.ChannelOut,
		Status: parley.ChannelQueued, NextAttemptAt: w.now, CreatedAt: w.now, UpdatedAt: w.now}
	work := &channelWork{}
	if mediaKinds[m.Kind] {
		id, err := a.channelMediaCheck(w, c, impl, m)
		if err != nil {
			return err
		}
		work.Media = id
	}
	if sc != nil && sc.template != nil {
		work.Params, work.Header, work.Buttons = sc.params, sc.header, sc.buttons
	}
	link.Data = work.encode()
	mode, why := pickMode(impl.Capabilities(), c.Platform, th, w.now, m, actor, sc)
	if mode == "" {
		if sc == nil || !sc.automated {
			return policyErr(parley.EWindowClosed, 0, "%s", why)
		}
		link.Status, link.Error = parley.ChannelFailed, clipError("not sent: "+why)
		if err := w.CreateChannelMessage(link); err != nil {
			return err
		}
		return deliveryEvent(w, c.BusinessID, link)
	}
	link.Mode = mode
	if mode == channel.ModeTemplate {
		link.Template = sc.template.Name
	}
	if err := w.CreateChannelMessage(link); err != nil {
		return err
	}
	a.wakeChannelSends()
	return nil
}

// channelMediaCheck checks that a media message can go out to the
// platform: one file (a platform message carries one), a caption only
// where the platform takes one, and a public address the platform can
// fetch the file from. It returns the media's id.
func (a *App) channelMediaCheck(w *writer, c *parley.Channel, impl channel.Channel, m *parley.Message) (string, error) {
	ms, err := w.MediaOfMessages([]string{m.ID})
	if err != nil {
		return "", err
	}
	atts := ms[m.ID]
	name := platformName(c.Platform)
	switch {
	case len(atts) != 1:
		return "", parley.Invalid("attachments", "a message to %s carries one file: send each file in its own message", name)
	case strings.TrimSpace(m.Text) != "" && (!impl.Capabilities().Caption || atts[0].Kind == parley.MessageAudio):
		return "", parley.Invalid("text", "%s takes a file or a text in one message, not both here: send the text in its own message", name)
	case a.publicURL == "":
		return "", parley.Invalid("attachments", "%s fetches files from the server's public address, which is not set (PARLEY_PUBLIC_URL)", name)
	}
	return atts[0].ID, nil
}

// pickMode chooses how a message goes out, or says why it may not.
func pickMode(caps channel.Capabilities, platform string, th *parley.ChannelThread, now time.Time, m *parley.Message, actor *Actor, sc *sendClass) (string, string) {
	if m.Kind != parley.MessageText && !mediaKinds[m.Kind] {
		return "", fmt.Sprintf("only text, files and templates go out to %s; %s messages do not", platform, m.Kind)
	}
	modes := sendModes(caps, platform, th, now)
	open := func(mode string) bool {
		for _, sm := range modes {
			if sm.Mode == mode {
				return sm.Open
			}
		}
		return false
	}
	if sc != nil && sc.template != nil && caps.Templates {
		return channel.ModeTemplate, ""
	}
	if open(channel.ModeStandard) {
		return channel.ModeStandard, ""
	}
	human := sc == nil || sc.human(actor)
	if sc != nil && sc.campaign != nil {
		human = false
	}
	if open(channel.ModeHumanAgent) && human {
		return channel.ModeHumanAgent, ""
	}
	why := fmt.Sprintf("the %s messaging window is closed: %s", platform, modes[0].Reason)
	switch {
	case caps.Templates:
		why += "; only an approved template may be sent now"
	case open(channel.ModeHumanAgent):
		why += "; only a reply written by a person of the team (not a bot, rule, API token or campaign) may go out now, with the HUMAN_AGENT tag"
	case caps.HumanAgent > 0:
		why += "; " + modes[1].Reason
	}
	return "", why
}

// wakeChannelSends tells the send worker there is work.
func (a *App) wakeChannelSends() {
	select {
	case a.channelWake <- struct{}{}:
	default:
	}
}

// Channel send worker limits.
const (
	channelSendBatch = 16
	channelSendLease = 2 * time.Minute
	// channelSendAttempts is how many times a send is tried before it is
	// marked failed.
	channelSendAttempts = 10
	channelBackoffBase  = 5 * time.Second
	channelBackoffMax   = 15 * time.Minute
	// channelRateFloor is the least a rate-limited send waits: the
	// platforms' limits are counted over minutes to an hour.
	channelRateFloor = 30 * time.Second
)

// ChannelBackoff is the wait before try number attempt+1 of a send.
func ChannelBackoff(attempt int) time.Duration {
	d := channelBackoffBase
	for i := 1; i < attempt && d < channelBackoffMax; i++ {
		d *= 2
	}
	return min(d, channelBackoffMax)
}

type channelJob struct {
	link    *parley.ChannelMessage
	ch      *parley.Channel
	to      string
	text    string
	media   *parley.Media
	params  []string
	header  *channel.TemplateHeader
	buttons []channel.TemplateButton
	gone    string // why it cannot be sent at all
	impl    channel.Channel
	result  error
	mid     string
}

// ChannelSendTick sends the due queued messages once and returns how many
// it tried.
func (a *App) ChannelSendTick(ctx context.Context) (int, error) {
	var jobs []*channelJob
	err := a.update(ctx, func(w *writer) error {
		jobs = nil
		due, err := w.DueChannelSends(w.now, channelSendBatch)
		if err != nil {
			return err
		}
		for _, l := range due {
			j := &channelJob{link: l}
			// The lease: another node (or a crash) picks it up after it.
			l.Attempts++
			l.NextAttemptAt, l.UpdatedAt = w.now.Add(channelSendLease), w.now
			if err := w.UpdateChannelMessage(l); err != nil {
				return err
			}
			jobs = append(jobs, j)
			if j.ch, err = w.Channel(l.ChannelID); err != nil {
				return err
			}
			// A row that cannot be sent is failed rather than left to
			// block the queue.
			th, err := w.ChannelThreadByConversation(l.ConversationID)
			if parley.IsNotFound(err) {
				j.gone = "the conversation is no longer linked to the channel"
				continue
			} else if err != nil {
				return err
			}
			j.to = th.ExternalUserID
			m, err := w.MessageByID(l.MessageID)
			if parley.IsNotFound(err) {
				j.gone = "the message no longer exists"
				continue
			} else if err != nil {
				return err
			}
			j.text = m.Text
			if m.DeletedAt != nil {
				j.gone = "unsent before it went out"
			}
			cw := readWork(l)
			j.params, j.header, j.buttons = cw.Params, cw.Header, cw.Buttons
			if cw.Media != "" && j.gone == "" {
				if j.media, err = w.MediaByID(cw.Media); parley.IsNotFound(err) {
					j.gone = "the file no longer exists"
				} else if err != nil {
					return err
				}
			}
			if j.impl = a.channels[j.ch.Platform]; j.impl == nil {
				j.gone = "this server no longer connects " + j.ch.Platform
			}
		}
		return nil
	})
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	for _, j := range jobs {
		if j.gone != "" {
			continue
		}
		token, err := a.unseal(j.ch.AccessToken, channelSecretContext(j.ch.ID, "access_token"))
		if err != nil {
			j.gone = "the channel's access token does not open (encryption key?)"
			a.log.Error("channel token", "channel", j.ch.ID, "err", err)
			continue
		}
		out := channel.Outgoing{To: j.to, Text: j.text, Mode: j.link.Mode, Template: j.link.Template, Language: j.ch.Language, Params: j.params,
			Header: j.header, Buttons: j.buttons}
		if j.media != nil {
			link, err := a.channelMediaLink(j.ch, j.media.ID)
			if err != nil {
				j.gone = "the file cannot be linked: " + err.Error()
				continue
			}
			out.Media = &channel.OutMedia{Type: string(j.media.Kind), URL: link, Name: j.media.ID + media.Extension(j.media.ContentType)}
			if out.Media.Type == string(parley.MessageGIF) {
				out.Media.Type = "image"
			}
		}
		j.mid, j.result = j.impl.Send(ctx, channel.Account{ID: j.ch.AccountID, AccessToken: token}, out)
	}
	err = a.update(ctx, func(w *writer) error {
		for _, j := range jobs {
			l, err := w.ChannelMessage(j.link.MessageID)
			if parley.IsNotFound(err) {
				continue // the channel was disconnected meanwhile
			} else if err != nil {
				return err
			}
			l.UpdatedAt = w.now
			result := "sent"
			var se *channel.SendError
			switch {
			case j.gone != "":
				l.Status, l.Error, result = parley.ChannelFailed, clipError(j.gone), "failed"
			case j.result == nil:
				l.Status, l.PlatformMID, l.Error = parley.ChannelSent, j.mid, ""
			case errors.As(j.result, &se) && se.Retryable() && l.Attempts < channelSendAttempts:
				wait := ChannelBackoff(l.Attempts)
				if se.RateLimited {
					wait = max(wait, channelRateFloor, se.RetryAfter)
				}
				l.NextAttemptAt, l.Error, result = w.now.Add(wait), clipError(j.result.Error()), "retry"
			default:
				l.Status, l.Error, result = parley.ChannelFailed, clipError(j.result.Error()), "failed"
			}
			a.obs.ChannelSend(j.ch.Platform, result)
			// The channel's health: an accepted send, or the platform's
			// refusal (not a message unsent or gone meanwhile).
			var note *parley.ChannelNote
			if j.result != nil {
				note = &parley.ChannelNote{Error: clipError("send: " + j.result.Error()), ErrorAt: w.now}
			} else if result == "sent" {
				note = &parley.ChannelNote{OutboundAt: w.now}
			}
			if note != nil {
				if err := w.NoteChannel(j.ch.ID, *note); err != nil {
					return err
				}
			}
			if err := w.UpdateChannelMessage(l); parley.ErrorCode(err) == parley.EConflict {
				// The platform gave an id another message holds: keep
				// the send, without the id.
				l.PlatformMID = ""
				if err := w.UpdateChannelMessage(l); err != nil {
					return err
				}
			} else if err != nil {
				return err
			}
			if result != "retry" {
				if err := deliveryEvent(w, j.ch.BusinessID, l); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return len(jobs), err
}

// RunChannelSends runs the send worker until ctx ends: at once when a
// send is queued, and every poll for retries.
func (a *App) RunChannelSends(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		n, err := a.ChannelSendTick(ctx)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("channel sends", "err", err)
		}
		k, err := a.ChannelWorkTick(ctx)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("channel work", "err", err)
		}
		if n == channelSendBatch || k == channelWorkBatch {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.channelWake:
		}
	}
}

// ChannelDelivery is a business message's platform delivery status.
type ChannelDelivery struct {
	Platform string `json:"platform"`
	Status   string `json:"status"`
	Mode     string `json:"mode,omitempty"`
	Error    string `json:"error,omitempty"`
	// Attachments are an inbound message's files not in Parley: being
	// fetched from the platform, or failed (with the reason).
	Attachments []ChannelAttachmentState `json:"attachments,omitempty"`
}

type channelLink struct {
	*parley.ChannelMessage
	platform string
}

// channelLinks loads the platform links of a page of messages, only in a
// direct conversation with a business or an external person in it.
func channelLinks(tx parley.Tx, c *parley.Conversation, users map[string]*parley.User, ids []string) (map[string]*channelLink, error) {
	if c.Kind != parley.ConversationDirect {
		return nil, nil
	}
	maybe := false
	for _, u := range users {
		maybe = maybe || u.Kind == parley.KindBusiness || u.Kind == parley.KindExternal
	}
	if !maybe {
		return nil, nil
	}
	ls, err := tx.ChannelMessages(ids)
	if err != nil || len(ls) == 0 {
		return nil, err
	}
	out := make(map[string]*channelLink, len(ls))
	platforms := map[string]string{}
	for id, l := range ls {
		p, ok := platforms[l.ChannelID]
		if !ok {
			ch, err := tx.Channel(l.ChannelID)
			if err != nil && !parley.IsNotFound(err) {
				return nil, err
			}
			if ch != nil {
				p = ch.Platform
			}
			platforms[l.ChannelID] = p
		}
		out[id] = &channelLink{ChannelMessage: l, platform: p}
	}
	return out, nil
}
