package app

import (
	"context"
	"encoding/json"

	"github.com/parleyhq/parley"
)

// maxDirectFrames bounds the new messages DirectFrames renders in one
// read transaction; the rest go without frames (their devices sync).
const maxDirectFrames = 512

// DirectFrames renders, for the new messages among events that belong to
// direct conversations, the frame each member's Sync gives for them, and
// returns them by the message's position, then by user id. It hydrates
// as Sync does (messageViewsOf, each message for each active member who
// may read it, then messageEvent), all messages at once in one read
// transaction after they committed. Team members of a business (agents)
// get no frame: their Sync merges their businesses' changes, which a
// frame for one viewer cannot show; nor does anyone when the message is
// gone, expired or not the one at its position.
//
// The hub carries the frames in the bus notification, so that the node
// of each member's device can hand the frame over without a sync when
// the device is caught up (realtime, docs/architecture.md); a device
// that is not syncs as before, so nothing here decides what a device may
// see, only how soon.
func (a *App) DirectFrames(ctx context.Context, events []*parley.Event) (map[int64]map[string][]byte, error) {
	var todo []*parley.Event
	for _, e := range events {
		if e.Type == parley.EventMessageCreated && e.MessageID != "" && e.ConversationID != "" && e.Pos > 0 {
			todo = append(todo, e)
		}
	}
	if len(todo) == 0 {
		return nil, nil
	}
	todo = todo[:min(len(todo), maxDirectFrames)]
	var out map[int64]map[string][]byte
	// What sends had in hand holds while no update that may change a
	// frame ran after them (App.frameWrites). The count is noted before
	// anything is read and checked again after rendering, when every
	// snapshot read (the users', and tx's, taken at its first read) is
	// older than the check: if it moved, the frames are rendered again
	// from the store alone.
	count := a.frameWrites.Load()
	var users map[string]*parley.User
	var agents map[string]bool
	if r, ok := a.store.(usersWithAgents); ok {
		if ids := handUsersMissing(todo, count); len(ids) > 0 {
			var err error
			if users, agents, err = r.UsersWithAgents(ctx, ids); err != nil {
				users, agents = nil, nil // the transaction reads them
			}
		}
	}
	err := a.view(ctx, func(tx parley.Tx) error {
		ht := handsOf(tx, todo, count)
		ht.addUsers(users, agents)
		var err error
		if out, err = directFrames(ht, todo); err != nil || ht.empty() {
			return err
		}
		if a.frameWrites.Load() != count {
			out, err = directFrames(tx, todo)
		}
		return err
	})
	return out, err
}

// directFrames is DirectFrames inside its read transaction.
func directFrames(tx parley.Tx, todo []*parley.Event) (map[int64]map[string][]byte, error) {
	type target struct {
		m      *parley.Message
		viewer string
	}
	var groups []convMessages
	var targets []target
	var memberIDs []string
	for _, e := range todo {
		c, err := tx.ConversationByID(e.ConversationID)
		if parley.IsNotFound(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		if c.Kind != parley.ConversationDirect {
			continue
		}
		m, err := tx.MessageByID(e.MessageID)
		if parley.IsNotFound(err) {
			continue // gone already: the devices sync
		} else if err != nil {
			return nil, err
		}
		if m.Pos != e.Pos || m.ConversationID != c.ID {
			continue
		}
		ms, err := tx.Members(c.ID)
		if err != nil {
			return nil, err
		}
		for _, mb := range ms {
			// Sync gives an active member every message after they joined.
			if mb.Status != parley.StatusActive || !mb.CanRead(m.Seq) {
				continue
			}
			groups = append(groups, convMessages{c, mb, []*parley.Message{m}})
			targets = append(targets, target{m, mb.UserID})
			memberIDs = append(memberIDs, mb.UserID)
		}
	}
	if len(groups) == 0 {
		return nil, nil
	}
	agentIDs, err := tx.AgentsAmong(memberIDs)
	if err != nil {
		return nil, err
	}
	agents := map[string]bool{}
	for _, id := range agentIDs {
		agents[id] = true
	}
	views, err := messageViewsOf(tx, groups)
	if err != nil {
		return nil, err
	}
	out := map[int64]map[string][]byte{}
	for i, t := range targets {
		if agents[t.viewer] || len(views[i]) != 1 || views[i][0].ID != t.m.ID {
			continue // an agent, or the message expired
		}
		frame, err := json.Marshal(messageEvent(t.m, views[i][0]))
		if err != nil {
			return nil, err
		}
		if out[t.m.Pos] == nil {
			out[t.m.Pos] = map[string][]byte{}
		}
		out[t.m.Pos][t.viewer] = frame
	}
	return out, nil
}
