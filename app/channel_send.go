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
	// Disabled: the channel is paused (send-modes only).
	Disabled bool `json:"disabled,omitempty"`
}

// modeState is what the modes of a thread depend on besides the
// platform and the clock.
type modeState struct {
	// paused: the channel is paused (nothing is sent).
	paused bool
	// optins are the person's notification messages opt-ins on the
	// channel; topics names their topics.
	optins []*parley.ChannelOptin
	topics map[string]string
}

// sendModes lists the platform's modes at now for a thread.
func sendModes(caps channel.Capabilities, platform string, th *parley.ChannelThread, now time.Time, st modeState) []SendMode {
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
	for _, mode := range channel.UpdateTagModes {
		tag := channel.TagOf(mode)
		if !caps.HasTag(tag) {
			continue
		}
		tm := SendMode{Mode: mode}
		if last.IsZero() {
			tm.Reason = "the person has not written yet"
		} else {
			tm.Open = true
			tm.Reason = tagUse[mode] + ", chosen explicitly, at any time; sent with the " + tag + " tag — never promotional content or a campaign"
		}
		out = append(out, tm)
	}
	if caps.Notifications {
		out = append(out, optinRequestMode(std), notificationMode(st, now))
	}
	if caps.Templates {
		out = append(out, SendMode{Mode: channel.ModeTemplate, Open: true,
			Reason: "an approved template, whose name is the template's name approved in WhatsApp Manager, may be sent at any time"})
	}
	if st.paused {
		for i := range out {
			out[i].Open, out[i].Until = false, nil
			out[i].Reason = "the channel is paused: nothing is sent through it until an admin resumes it"
		}
	}
	return out
}

// tagUse says what each update tag is for (Meta's message tag policy).
var tagUse = map[string]string{
	channel.ModeConfirmedEvent: "a reminder or update about an event the person registered for (CONFIRMED_EVENT_UPDATE)",
	channel.ModePostPurchase:   "an update about the person's purchase: receipt, shipping, order status (POST_PURCHASE_UPDATE)",
	channel.ModeAccountUpdate:  "a change to the person's account or application: status, alert (ACCOUNT_UPDATE)",
}

// Notification message frequencies and the period each allows one
// message in.
var notificationPeriods = map[string]time.Duration{
	"DAILY":   24 * time.Hour,
	"WEEKLY":  7 * 24 * time.Hour,
	"MONTHLY": 30 * 24 * time.Hour,
}

// optinUsable says whether an opt-in's token may carry a message now,
// or why not.
func optinUsable(o *parley.ChannelOptin, now time.Time) (bool, string) {
	switch {
	case o.Status != parley.OptinActive:
		return false, "stopped the notifications"
	case !o.ExpiresAt.IsZero() && !now.Before(o.ExpiresAt):
		return false, "the token expired at " + o.ExpiresAt.Format(time.RFC3339)
	}
	period, ok := notificationPeriods[o.Frequency]
	if !ok {
		period = notificationPeriods["DAILY"]
	}
	if next := o.LastSentAt.Add(period); !o.LastSentAt.IsZero() && now.Before(next) {
		return false, fmt.Sprintf("one message per %s (%s): the next from %s", strings.ToLower(o.Frequency), period, next.Format(time.RFC3339))
	}
	return true, ""
}

// notificationMode says whether a campaign may reach the person through
// a notification messages token, and for which topics.
func notificationMode(st modeState, now time.Time) SendMode {
	nm := SendMode{Mode: channel.ModeNotification}
	var open, closed []string
	for _, o := range st.optins {
		name := st.topics[o.TopicID]
		if name == "" {
			name = o.TopicID
		}
		if ok, why := optinUsable(o, now); ok {
			open = append(open, fmt.Sprintf("%q", name))
			if !o.ExpiresAt.IsZero() && (nm.Until == nil || o.ExpiresAt.After(*nm.Until)) {
				t := o.ExpiresAt
				nm.Until = &t
			}
		} else {
			closed = append(closed, fmt.Sprintf("%q: %s", name, why))
		}
	}
	switch {
	case len(open) > 0:
		nm.Open = true
		nm.Reason = "a campaign of a topic the person opted in to on Messenger (" + strings.Join(open, ", ") + ") goes out with their notification messages token, outside the window"
		if len(closed) > 0 {
			nm.Reason += "; not " + strings.Join(closed, "; ")
		}
	case len(closed) > 0:
		nm.Reason = "no notification messages now: " + strings.Join(closed, "; ")
	default:
		nm.Reason = "the person has not opted in to notification messages of any topic"
	}
	return nm
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
		st, err := loadModeState(tx, c, th, impl.Capabilities(), true)
		if err != nil {
			return err
		}
		out = &SendModesView{Channel: &ChannelSummary{ID: c.ID, Platform: c.Platform, Name: c.Name, Disabled: st.paused},
			Modes: sendModes(impl.Capabilities(), c.Platform, th, a.clock(), st)}
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
		if sc.requested() != "" {
			return parley.Invalid("send_mode", "send_mode is for conversations with a person on Messenger, Instagram or WhatsApp")
		}
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
	if sc != nil && sc.optin != nil {
		if err := a.optinRequestWork(c, work, sc.optin); err != nil {
			return err
		}
	}
	st, err := loadModeState(w, c, th, impl.Capabilities(), sc != nil && sc.campaign != nil)
	if err != nil {
		return err
	}
	mode, optin, err := pickMode(impl.Capabilities(), c.Platform, th, w.now, m, actor, sc, st)
	if code := parley.ErrorCode(err); code == parley.EInternal {
		return err
	} else if err != nil {
		if sc == nil || !sc.automated {
			return err
		}
		link.Data = work.encode()
		link.Status, link.Error = parley.ChannelFailed, clipError("not sent: "+parley.ErrorMessage(err))
		if err := w.CreateChannelMessage(link); err != nil {
			return err
		}
		return deliveryEvent(w, c.BusinessID, link)
	}
	link.Mode = mode
	if mode == channel.ModeTemplate {
		link.Template = sc.template.Name
	}
	if optin != nil {
		// The token carries one message per period: this one.
		work.Topic = optin.TopicID
		optin.LastSentAt = w.now
		if err := w.PutChannelOptin(optin); err != nil {
			return err
		}
	}
	link.Data = work.encode()
	if err := w.CreateChannelMessage(link); err != nil {
		return err
	}
	w.wakeChannels = true
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

// pickMode chooses how a message goes out — the mode the sender asked
// for (sc.mode), or the first that fits — or refuses it with the reason.
// A notification message returns the opt-in whose token it uses.
func pickMode(caps channel.Capabilities, platform string, th *parley.ChannelThread, now time.Time, m *parley.Message, actor *Actor, sc *sendClass, st modeState) (string, *parley.ChannelOptin, error) {
	closed := func(format string, args ...any) (string, *parley.ChannelOptin, error) {
		return "", nil, policyErr(parley.EWindowClosed, 0, format, args...)
	}
	if m.Kind != parley.MessageText && !mediaKinds[m.Kind] {
		return closed("only text, files and templates go out to %s; %s messages do not", platform, m.Kind)
	}
	modes := sendModes(caps, platform, th, now, st)
	find := func(mode string) *SendMode {
		for i := range modes {
			if modes[i].Mode == mode {
				return &modes[i]
			}
		}
		return nil
	}
	open := func(mode string) bool { sm := find(mode); return sm != nil && sm.Open }
	human := sc == nil || sc.human(actor)
	campaign := sc != nil && sc.campaign != nil
	if campaign {
		human = false
	}
	promo := campaign || (sc != nil && sc.template != nil && sc.template.TopicID != "")
	if st.paused {
		return "", nil, parley.Errorf(parley.EChannelDisabled, "the %s channel is paused: nothing is sent through it until an admin resumes it", platformName(platform))
	}
	if want := sc.requested(); want != "" {
		sm := find(want)
		switch {
		case want == channel.ModeOptinRequest && !caps.Notifications:
			return "", nil, parley.Errorf(parley.EChannelUnsupported, "%s has no notification messages: an opt-in request goes only to a person on Messenger", platformName(platform))
		case sm == nil:
			return "", nil, parley.Invalid("send_mode", "%s has no send mode %q", platformName(platform), want)
		case channel.TagOf(want) != "" && want != channel.ModeHumanAgent && promo:
			return "", nil, policyErr(parley.ETagNotAllowed, 0, "the %s tag is for non-promotional updates: a campaign or a template of a topic (promotional) may not use it", channel.TagOf(want))
		case want == channel.ModeNotification:
			return "", nil, policyErr(parley.ETagNotAllowed, 0, "notification messages go out only as a campaign of the topic the person opted in to, never chosen for a single message")
		case want == channel.ModeOptinRequest && sc.optin == nil:
			return "", nil, parley.Invalid("optin_request", "send_mode optin_request goes with optin_request: topic, title, frequency")
		case want == channel.ModeTemplate && (sc.template == nil || !caps.Templates):
			return "", nil, parley.Invalid("send_mode", "the template mode sends an approved template: give its id in template")
		case want == channel.ModeHumanAgent && !human:
			return closed("only a reply written by a person of the team on a signed-in device (not a bot, rule, API token or campaign) may use the HUMAN_AGENT tag")
		case !sm.Open:
			return closed("the %s mode is not open: %s", want, sm.Reason)
		}
		return want, nil, nil
	}
	if sc != nil && sc.template != nil && caps.Templates {
		return channel.ModeTemplate, nil, nil
	}
	if open(channel.ModeStandard) {
		return channel.ModeStandard, nil, nil
	}
	if open(channel.ModeHumanAgent) && human {
		return channel.ModeHumanAgent, nil, nil
	}
	// A campaign of a topic the person opted in to on the platform goes
	// with their notification messages token.
	if campaign && caps.Notifications && sc.template != nil && sc.template.TopicID != "" {
		for _, o := range st.optins {
			if o.TopicID == sc.template.TopicID {
				if ok, _ := optinUsable(o, now); ok {
					return channel.ModeNotification, o, nil
				}
			}
		}
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
	if campaign && caps.Notifications {
		why += "; " + find(channel.ModeNotification).Reason
	} else if len(caps.Tags) > 1 && !th.LastInboundAt.IsZero() && !promo {
		why += "; a non-promotional update may still go out with a message tag chosen explicitly (send_mode)"
	}
	return closed("%s", why)
}

// wakeChannelSends tells the send worker there is work. A write that
// queues work sets writer.wakeChannels instead, and updateFrames wakes the
// worker after the commit: woken earlier, its read of what is due would
// not see the work yet, and it would wait for the next poll.
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
	token   string // a notification message's token
	optin   *channel.OptinRequest
	impl    channel.Channel
	result  error
	mid     string
}

// ChannelSendTick sends the due queued messages once and returns how many
// it tried.
func (a *App) ChannelSendTick(ctx context.Context) (int, error) {
	if due, err := a.anyDue(ctx, func(tx parley.Tx) (bool, error) {
		ls, err := tx.DueChannelSends(a.clock(), 1)
		return len(ls) > 0, err
	}); err != nil || !due {
		return 0, err
	}
	var jobs []*channelJob
	// Taking the lease changes nothing a message's view shows (attempts,
	// the next attempt, the row's time; the status is written after the
	// send, by update): it keeps the frames that sends rendered from what
	// they had in hand (directhand.go).
	err := a.updateKeepingFrames(ctx, func(w *writer) error {
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
			j.params, j.header, j.buttons, j.optin = cw.Params, cw.Header, cw.Buttons, cw.Optin
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
			if l.Mode == channel.ModeNotification && j.gone == "" {
				j.token, j.gone, err = notificationToken(w, l, th, cw.Topic)
				if err != nil {
					return err
				}
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
			Header: j.header, Buttons: j.buttons, NotificationToken: j.token, Optin: j.optin}
		if j.media != nil {
			link, err := a.channelMediaLink(j.ch, j.media.ID)
			if err != nil {
				j.gone = "the file cannot be linked: " + err.Error()
				continue
			}
			if out.Optin != nil {
				out.Optin.ImageURL = link // the request's image
			} else {
				out.Media = &channel.OutMedia{Type: string(j.media.Kind), URL: link, Name: j.media.ID + media.Extension(j.media.ContentType)}
				if out.Media.Type == string(parley.MessageGIF) {
					out.Media.Type = "image"
				}
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

// notificationToken reads the token a queued notification message goes
// with: the person's opt-in to its topic, still active and unexpired
// when it is sent (a stop after it was queued keeps it from going). It
// returns why not instead.
func notificationToken(tx parley.Tx, l *parley.ChannelMessage, th *parley.ChannelThread, topic string) (token, gone string, err error) {
	optins, err := tx.ChannelOptins(l.ChannelID, th.ExternalUserID)
	if err != nil {
		return "", "", err
	}
	for _, o := range optins {
		if o.TopicID != topic {
			continue
		}
		switch {
		case o.Status != parley.OptinActive:
			return "", "the person stopped notification messages before it went out", nil
		case !o.ExpiresAt.IsZero() && !l.UpdatedAt.Before(o.ExpiresAt):
			return "", "the notification messages token expired before it went out", nil
		}
		return o.Token, "", nil
	}
	return "", "the person's notification messages opt-in is gone", nil
}
