package app

import (
	"context"

	"github.com/parleyhq/parley"
)

// DefaultLargeGroupMembers is the group size (active and invited members) above
// which a group is listed through its own row (ListFromConversation): the
// conversation list keeps its sort key on each member row, which every
// message updates in its transaction — two rows for a direct conversation,
// at most this many for a group — and a larger group would pay a row per
// member per message (docs/architecture.md, "The conversation list").
// A group goes back to per-member rows when it has shrunk to half of it,
// so that one member coming and going at the line does not move it back
// and forth. Migration 0019 applied the same line to existing groups.
const DefaultLargeGroupMembers = 256

// relist moves a group whose size crossed Config.LargeGroupMembers between the
// two ways the list finds it. It runs after the membership change has
// committed, in a transaction of its own, so that the change does not wait
// for up to LargeGroupMembers row updates; until it commits the group is
// listed as before, which is still right (the two ways list the same rows
// in the same order), only dearer per message. A failure is logged and
// retried by the next membership change of the group.
func (a *App) relist(ctx context.Context, c *parley.Conversation) {
	if c == nil || c.Kind != parley.ConversationGroup || a.listFromConversation(c) == c.ListFromConversation {
		return
	}
	err := a.update(ctx, func(w *writer) error {
		cur, err := w.ConversationByID(c.ID)
		if err != nil {
			return err
		}
		if want := a.listFromConversation(cur); want != cur.ListFromConversation {
			return w.SetListFromConversation(cur.ID, want)
		}
		return nil
	})
	if err != nil && !parley.IsNotFound(err) {
		a.log.Warn("conversation list: moving a group between listings failed", "conversation", c.ID, "err", err)
	}
}

// listFromConversation says how the list should find c, after its size.
func (a *App) listFromConversation(c *parley.Conversation) bool {
	if c.Kind != parley.ConversationGroup {
		return false
	}
	if c.ListFromConversation {
		return c.MemberCount > a.cfg.LargeGroupMembers/2
	}
	return c.MemberCount > a.cfg.LargeGroupMembers
}
