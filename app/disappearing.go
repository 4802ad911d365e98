package app

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

// DisappearTimers are the disappearing-message timers a conversation may
// have, in seconds (0 turns the timer off): 5 minutes, 1 hour, 24 hours,
// 7 days, 90 days.
var DisappearTimers = []int64{0, 300, 3600, 86400, 7 * 86400, 90 * 86400}

// validTimer reports whether seconds is one of DisappearTimers.
func validTimer(seconds int64) bool {
	for _, s := range DisappearTimers {
		if s == seconds {
			return true
		}
	}
	return false
}

// expiry is when a message sent into c at now expires (nil: never).
func expiry(c *parley.Conversation, now time.Time) *time.Time {
	if c.DisappearAfter <= 0 {
		return nil
	}
	t := now.Add(c.DisappearAfter)
	return &t
}

// SetDisappearing sets a conversation's disappearing timer (seconds, one
// of DisappearTimers; 0 turns it off). Any active member of a direct
// conversation may, in a group its owner and admins. Messages sent from
// then on expire that long after they were sent; messages sent before
// keep the expiry they had. A system message tells every member.
func (a *App) SetDisappearing(ctx context.Context, actor *Actor, convID string, seconds int64) (*ConversationView, error) {
	if !validTimer(seconds) {
		return nil, parley.Invalid("disappear_after", "disappear_after is one of 0, 300, 3600, 86400, 604800, 7776000 (seconds)")
	}
	var view *ConversationView
	err := a.update(ctx, func(w *writer) error {
		c, me, err := activeMembership(w, convID, actor.User.ID)
		if err != nil {
			return err
		}
		if c.Kind == parley.ConversationGroup && me.Role == parley.RoleMember {
			return parley.Errorf(parley.EForbidden, "only admins may change the group's disappearing messages")
		}
		if err := refuseIfBlocked(w, c, actor.User.ID); err != nil {
			return err
		}
		d := time.Duration(seconds) * time.Second
		if c.DisappearAfter != d {
			c.DisappearAfter = d
			if err := w.UpdateConversation(c); err != nil {
				return err
			}
			data := map[string]any{"action": "disappearing_set", "disappear_after": seconds}
			if _, err := systemMessage(w, c, actor.User.ID, data); err != nil {
				return err
			}
			if err := w.event(&parley.Event{Type: parley.EventConversationUpdated, ConversationID: c.ID, ActorID: actor.User.ID,
				Data: mustJSON(map[string]any{"disappear_after": seconds})}); err != nil {
				return err
			}
		}
		view, err = conversationView(w, actor.User.ID, c, me, true)
		return err
	})
	return view, err
}

// clockTx is a transaction that knows the app's time: the writer of an
// update, the reader of a view.
type clockTx interface{ clockNow() time.Time }

func (w *writer) clockNow() time.Time { return w.now }

// reader is a read transaction with the time it was opened at, so that
// views hide expired content by the app's clock (a fake one in tests).
type reader struct {
	parley.Tx
	now time.Time
}

func (r *reader) clockNow() time.Time { return r.now }

// txNow is the app's time for a transaction.
func txNow(tx parley.Tx) time.Time {
	if c, ok := tx.(clockTx); ok {
		return c.clockNow()
	}
	return time.Now().UTC()
}

// expired reports whether m is past its expiry at now (not yet purged).
func expired(m *parley.Message, now time.Time) bool {
	return m.DeletedAt == nil && m.ExpiresAt != nil && !m.ExpiresAt.After(now)
}

// tombstone returns a copy of m as the reaper will leave it: content gone,
// deleted at its expiry.
func tombstone(m *parley.Message) *parley.Message {
	t := *m
	t.Text, t.ReplyTo, t.System, t.Card, t.Data, t.EditedAt = "", "", "", "", "", nil
	t.DeletedAt = m.ExpiresAt
	return &t
}

// hideExpired returns msgs with the messages past their expiry shown as
// tombstones, unless a legal hold keeps them: between expiry and the
// reaper's next pass, expired content is already gone for every reader.
func hideExpired(tx parley.Tx, msgs []*parley.Message) ([]*parley.Message, error) {
	now := txNow(tx)
	var holds *holdSet
	var out []*parley.Message
	for i, m := range msgs {
		if !expired(m, now) {
			continue
		}
		if holds == nil {
			var err error
			if holds, err = loadHolds(tx); err != nil {
				return nil, err
			}
		}
		if held, err := holds.held(tx, m.ConversationID); err != nil {
			return nil, err
		} else if held {
			continue
		}
		if out == nil {
			out = append([]*parley.Message(nil), msgs...)
		}
		out[i] = tombstone(m)
	}
	if out == nil {
		return msgs, nil
	}
	return out, nil
}

// ReapStats counts what one pass of the reaper did.
type ReapStats struct {
	// Purged messages were past their expiry and are now tombstones.
	Purged int `json:"purged"`
	// HeldSkipped messages were past their expiry but under a legal hold.
	HeldSkipped int `json:"held_skipped"`
	// MediaRows and Blobs are the attachments deleted with them, and the
	// blobs no other message used.
	MediaRows int `json:"media_rows"`
	Blobs     int `json:"blobs"`
}

// ReapBatch is how many expired messages the reaper purges per transaction.
const ReapBatch = 500

// Reap purges every message past its expiry that no legal hold keeps:
// text, link card, edits and reactions (PurgeMessage, which the search
// index follows), attachments rows, and then the blobs no other row uses.
// It works in batches of ReapBatch, one transaction each, each with a
// message.expired event per message so that open views remove it. A crash
// loses nothing: a batch commits whole or not at all, a second pass finds
// what is left, and a blob whose row went in a batch that committed just
// before a crash is collected by CollectMedia's sweep of blobs without a
// row. Running it again right after is a no-op.
func (a *App) Reap(ctx context.Context) (ReapStats, error) {
	var st ReapStats
	now := a.clock()
	var cur parley.ExpiryCursor
	for {
		var n, purged, skipped int
		var keys []string
		var next parley.ExpiryCursor
		err := a.update(ctx, func(w *writer) error {
			n, purged, skipped, keys, next = 0, 0, 0, nil, cur
			msgs, err := w.ExpiredMessages(now, cur, ReapBatch)
			if err != nil || len(msgs) == 0 {
				return err
			}
			n = len(msgs)
			last := msgs[n-1]
			next = parley.ExpiryCursor{ExpiresAt: *last.ExpiresAt, Pos: last.Pos}
			holds, err := loadHolds(w)
			if err != nil {
				return err
			}
			var gone []string
			for _, m := range msgs {
				if held, err := holds.held(w, m.ConversationID); err != nil {
					return err
				} else if held {
					skipped++
					continue
				}
				if err := w.PurgeMessage(m.ID, w.now); err != nil {
					return err
				}
				if err := w.event(&parley.Event{Type: parley.EventMessageExpired, ConversationID: m.ConversationID, MessageID: m.ID, Seq: m.Seq}); err != nil {
					return err
				}
				gone = append(gone, m.ID)
				purged++
			}
			keys, err = deleteAttachments(w, gone)
			return err
		})
		if err != nil {
			return st, err
		}
		st.Purged += purged
		st.HeldSkipped += skipped
		st.MediaRows += len(keys) / 2
		blobs, err := a.dropBlobs(ctx, keys)
		st.Blobs += blobs
		if err != nil {
			return st, err
		}
		if n < ReapBatch {
			return st, nil
		}
		cur = next
	}
}

// deleteAttachments deletes the media rows of purged messages and returns
// their blob and thumbnail keys, two per row ("" when there is no
// thumbnail).
func deleteAttachments(w *writer, messageIDs []string) ([]string, error) {
	if len(messageIDs) == 0 {
		return nil, nil
	}
	byMsg, err := w.MediaOfMessages(messageIDs)
	if err != nil {
		return nil, err
	}
	var ids, keys []string
	for _, ms := range byMsg {
		for _, m := range ms {
			ids = append(ids, m.ID)
			keys = append(keys, m.BlobKey, m.ThumbKey)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return keys, w.DeleteMedia(ids)
}

// dropBlobs deletes the blobs of keys that no row uses any more.
func (a *App) dropBlobs(ctx context.Context, keys []string) (int, error) {
	if a.blobs == nil {
		return 0, nil
	}
	n := 0
	seen := map[string]bool{}
	for _, k := range keys {
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		gone, err := a.dropBlobIfUnused(ctx, k)
		if err != nil {
			return n, err
		}
		if gone {
			n++
		}
	}
	return n, nil
}

// RunReaper runs Reap every interval until ctx ends.
func (a *App) RunReaper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			st, err := a.Reap(ctx)
			if err != nil && ctx.Err() == nil {
				a.log.Warn("reaper", "err", err)
			} else if st.Purged > 0 {
				a.log.Info("reaper purged expired messages", "purged", st.Purged, "held_skipped", st.HeldSkipped, "blobs", st.Blobs)
			}
		}
	}
}
