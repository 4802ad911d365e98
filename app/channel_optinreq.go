package app

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/channel"
)

// The notification messages opt-in request (Messenger): an agent or an
// API caller asks the person, within the 24-hour window, to get a topic's
// updates. It is a business message like any other — stored in the
// conversation, queued in the outbox, with its delivery status — whose
// platform form is the notification_messages template; its payload is
// the topic's id, so the optin webhook it brings back maps to the topic
// (optinTopic).

// maxOptinTitle is the longest title Messenger takes.
const maxOptinTitle = 65

// OptinRequestInput asks a person on Messenger to opt in to a topic's
// notification messages (send_mode optin_request).
type OptinRequestInput struct {
	// Topic is the id of one of the business's topics.
	Topic string `json:"topic"`
	// Title is what the person sees (1 to 65 characters).
	Title string `json:"title"`
	// Frequency is DAILY, WEEKLY or MONTHLY.
	Frequency string `json:"frequency"`
	// Image is an image uploaded by the sender (a media id), shown with
	// the request ("" none).
	Image string `json:"image,omitempty"`
}

// OptinRequestView is a sent opt-in request as the conversation shows
// it.
type OptinRequestView struct {
	TopicID   string `json:"topic_id"`
	Topic     string `json:"topic"`
	Title     string `json:"title"`
	Frequency string `json:"frequency"`
	// TimeZone is the business's time zone sent with it ("" none).
	TimeZone string `json:"time_zone,omitempty"`
	// Image is the media id of its image ("" none).
	Image string `json:"image,omitempty"`
}

// optinRequestText is the stored text of a request: what a client that
// shows only text says of it.
func optinRequestText(v *OptinRequestView) string {
	return fmt.Sprintf("Asked to get %s updates %s: %s", v.Topic, strings.ToLower(v.Frequency), v.Title)
}

// prepareOptinRequest checks a request and fills in the business's topic
// and time zone.
func (a *App) prepareOptinRequest(ctx context.Context, ba *BusinessActor, in *OptinRequestInput) (*OptinRequestView, error) {
	title := strings.TrimSpace(in.Title)
	if title == "" || utf8.RuneCountInString(title) > maxOptinTitle || strings.ContainsAny(title, "\r\n") {
		return nil, parley.Invalid("optin_request.title", "the title has 1 to %d characters on one line", maxOptinTitle)
	}
	freq := strings.ToUpper(strings.TrimSpace(in.Frequency))
	if freq != channel.FrequencyDaily && freq != channel.FrequencyWeekly && freq != channel.FrequencyMonthly {
		return nil, parley.Invalid("optin_request.frequency", "frequency is DAILY, WEEKLY or MONTHLY")
	}
	if in.Topic == "" || len(in.Topic) > 64 {
		return nil, parley.Invalid("optin_request.topic", "topic is the id of one of the business's topics")
	}
	if len(in.Image) > 64 {
		return nil, parley.Invalid("optin_request.image", "image is the id of an image you uploaded")
	}
	v := &OptinRequestView{Title: title, Frequency: freq, Image: in.Image}
	err := a.view(ctx, func(tx parley.Tx) error {
		tp, err := tx.Topic(ba.Business.ID, in.Topic)
		if parley.IsNotFound(err) {
			return parley.Invalid("optin_request.topic", "no topic %q in this business", in.Topic)
		} else if err != nil {
			return err
		}
		v.TopicID, v.Topic = tp.ID, tp.Name
		st, err := loadSettings(tx, ba.Business.ID)
		if err != nil {
			return err
		}
		if st.Hours != nil {
			v.TimeZone = st.Hours.TimeZone
		}
		return nil
	})
	return v, err
}

// optinRequestWork is what the outbox keeps of a request to send it.
func (a *App) optinRequestWork(c *parley.Channel, work *channelWork, v *OptinRequestView) error {
	if v.Image != "" {
		if a.publicURL == "" {
			return parley.Invalid("optin_request.image", "%s fetches the image from the server's public address, which is not set (PARLEY_PUBLIC_URL)", platformName(c.Platform))
		}
		work.Media = v.Image
	}
	work.Optin = &channel.OptinRequest{Title: v.Title, Payload: v.TopicID, Frequency: v.Frequency, Timezone: v.TimeZone}
	return nil
}

// optinRequestMode is the send mode of the opt-in request: open exactly
// when the standard window is.
func optinRequestMode(std SendMode) SendMode {
	m := SendMode{Mode: channel.ModeOptinRequest}
	if std.Open {
		m.Open, m.Until = true, std.Until
		m.Reason = "a request to opt in to notification messages of one of the business's topics, within the standard window (Meta allows it only then)"
	} else {
		m.Reason = "an opt-in request goes only within the standard window: " + std.Reason
	}
	return m
}
