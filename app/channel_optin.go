package app

import (
	"strings"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/channel"
)

// Notification messages (Messenger): a person who accepts the business's
// notification messages request for a topic gives a token that lets the
// business write to them outside the 24-hour window, once per period of
// the frequency they chose, until it expires. Parley keeps one opt-in per
// channel, person and topic (the request's payload is the topic's id, or
// its title the topic's name), records it as the contact's consent to the
// topic, and uses the token only for a campaign of that topic
// (pickMode). A stop withdraws both.

// loadModeState reads what a thread's send modes depend on: the
// channel's pause, and — when the platform has notification messages and
// withOptins is set — the person's opt-ins with their topics' names.
func loadModeState(tx parley.Tx, c *parley.Channel, th *parley.ChannelThread, caps channel.Capabilities, withOptins bool) (modeState, error) {
	st := modeState{paused: !c.DisabledAt.IsZero()}
	if !caps.Notifications || !withOptins {
		return st, nil
	}
	optins, err := tx.ChannelOptins(c.ID, th.ExternalUserID)
	if err != nil || len(optins) == 0 {
		return st, err
	}
	st.optins, st.topics = optins, map[string]string{}
	for _, o := range optins {
		tp, err := tx.Topic(c.BusinessID, o.TopicID)
		if parley.IsNotFound(err) {
			continue
		} else if err != nil {
			return st, err
		}
		st.topics[o.TopicID] = tp.Name
	}
	return st, nil
}

// optinTopic finds the business's topic a notification messages request
// named: its id as the payload, else its name as the request's title.
func optinTopic(w *writer, businessID string, o *channel.Optin) (*parley.Topic, error) {
	if o.Payload != "" {
		tp, err := w.Topic(businessID, o.Payload)
		if err == nil || !parley.IsNotFound(err) {
			return tp, err
		}
	}
	ts, err := w.Topics(businessID)
	if err != nil {
		return nil, err
	}
	for _, tp := range ts {
		if (o.Title != "" && strings.EqualFold(tp.Name, o.Title)) || (o.Payload != "" && strings.EqualFold(tp.Name, o.Payload)) {
			return tp, nil
		}
	}
	return nil, parley.Errorf(parley.ENotFound, "topic not found")
}

// channelOptin applies a notification messages opt-in, stop or resume.
func (a *App) channelOptin(w *writer, c *parley.Channel, ev channel.Event) (bool, error) {
	o := ev.Optin
	if o == nil {
		return false, nil
	}
	th, err := a.channelThread(w, c, ev, !o.Stopped)
	if parley.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	existing, err := w.ChannelOptins(c.ID, th.ExternalUserID)
	if err != nil {
		return false, err
	}
	var cur *parley.ChannelOptin
	tp, err := optinTopic(w, c.BusinessID, o)
	switch {
	case err == nil:
		for _, e := range existing {
			if e.TopicID == tp.ID {
				cur = e
			}
		}
	case !parley.IsNotFound(err):
		return false, err
	case o.Token != "":
		// A stop may name no topic: the token tells which opt-in.
		for _, e := range existing {
			if e.Token == o.Token {
				cur = e
			}
		}
	}
	if cur == nil && tp == nil {
		a.log.Info("channel optin for no known topic", "channel", c.ID, "payload", o.Payload, "title", o.Title)
		return false, nil
	}
	at := ev.At
	if at.IsZero() {
		at = w.now
	}
	if cur == nil {
		cur = &parley.ChannelOptin{ChannelID: c.ID, ExternalUserID: th.ExternalUserID, TopicID: tp.ID, CreatedAt: w.now}
	} else if !at.After(cur.UpdatedAt) {
		// An answer older than the one applied (or the same): a replayed
		// or late webhook changes nothing.
		return false, nil
	}
	before := *cur
	switch {
	case o.Stopped:
		if cur.Token == "" {
			return false, nil // a stop of nothing Parley holds
		}
		cur.Status = parley.OptinStopped
	case o.Token != "":
		cur.Token, cur.Status = o.Token, parley.OptinActive
		if o.Frequency != "" {
			cur.Frequency = o.Frequency
		}
		if o.Timezone != "" {
			cur.Timezone = o.Timezone
		}
		if !o.Expires.IsZero() {
			cur.ExpiresAt = o.Expires
		}
	case o.Resumed && cur.Token != "":
		cur.Status = parley.OptinActive
	default:
		return false, nil
	}
	if cur.Frequency == "" {
		cur.Frequency = "DAILY"
	}
	if sameOptin(cur, &before) {
		return false, nil // a replay
	}
	cur.UpdatedAt = at
	if err := w.PutChannelOptin(cur); err != nil {
		return false, err
	}
	// The person's answer is their consent to the topic (or its
	// withdrawal), kept with the proof like any other.
	r, err := loadReach(w, c.BusinessID, th.ContactID)
	if err != nil {
		return false, err
	}
	in := cur.Status == parley.OptinActive
	proof := platformName(c.Platform) + " notification messages: "
	if in {
		proof += "opted in (" + strings.ToLower(cur.Frequency) + ")"
	} else {
		proof += "stopped"
	}
	if _, err := setConsent(w, r, cur.TopicID, in, parley.ConsentNotification, proof); err != nil {
		return false, err
	}
	return true, w.PutReach(r)
}

// sameOptin reports whether an opt-in's answer is unchanged (a replayed
// webhook).
func sameOptin(a, b *parley.ChannelOptin) bool {
	return a.Token == b.Token && a.Status == b.Status && a.Frequency == b.Frequency && a.Timezone == b.Timezone &&
		a.ExpiresAt.Equal(b.ExpiresAt) && a.TopicID == b.TopicID
}
