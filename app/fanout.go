package app

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/parleyhq/parley"
)

// Push is one stored change, hydrated and encoded once, for the devices of
// one user that are caught up to just before it. A device whose position
// is at least After and below Pos may write Frame and move its position
// to Pos: nothing else that concerns its user lies between. Any other
// device syncs instead.
type Push struct {
	Pos   int64
	After int64
	// Frame is the SyncEvent as the stream writes it, byte for byte what
	// Sync would have given this user.
	Frame []byte

	wireOnce sync.Once
	wire     []byte
}

// Wire returns encode(p.Frame), computed once however many devices write
// the push: a transport's framing of the frame (the WebSocket gateway's
// header and payload), the same bytes for every connection.
func (p *Push) Wire(encode func([]byte) []byte) []byte {
	p.wireOnce.Do(func() { p.wire = encode(p.Frame) })
	return p.wire
}

// Fanout is a new message of a large group, hydrated once per class of
// viewer instead of once per device.
type Fanout struct {
	// Audience is everyone the change may concern (AudienceOf).
	Audience []string
	// Pushes, when not nil, is as long as Audience: Pushes[i] is the
	// push for the devices of Audience[i], or nil when they must sync.
	// Members with the same class and After share one Push.
	Pushes []*Push
}

// fanoutScan is how many changes before a message Fanout looks at to find
// what each member may still be missing. A device further behind than
// that syncs.
const fanoutScan = 256

// Fanout prepares the delivery of message messageID (at position pos) of
// conversation convID. When the audience has fewer than minAudience
// users, or the message cannot be shown the same way to many viewers, it
// returns only the audience and every device syncs.
//
// What a member sees of a group message depends on who they are only in
// ways this checks for: the sender sees their client id, a view-once
// message its opens, reactions their own mark, a reply preview the
// replied-to message only if they could read it. Masks, blocks and agent
// names apply to direct conversations only, which never take this path.
// So the members are split by whether they may read the replied-to
// message, one member of each class is hydrated through messageViews (the
// path Sync takes), and the sender, agents (whose sync merges their
// businesses' changes) and anyone not an active member who may read the
// message sync instead.
//
// Each push says how far a device must have come: past every change
// before the message that concerns the user, as far as the last
// fanoutScan changes show. A change concerns a user when it is an event
// addressed to them, or a message or conversation-wide event of a
// conversation where they have a member row of any status — a superset of
// what their Sync returns. All of it is read in one transaction that
// holds the message, so every position below it is final.
func (a *App) Fanout(ctx context.Context, convID, messageID string, pos int64, minAudience int) (*Fanout, error) {
	f := &Fanout{}
	err := a.view(ctx, func(tx parley.Tx) error {
		ms, err := a.memberStates(tx, convID)
		if parley.IsNotFound(err) {
			return nil // the conversation is gone: nobody to tell
		} else if err != nil {
			return err
		}
		if f.Audience, err = audienceIn(tx, convID, ms); err != nil || len(f.Audience) < minAudience {
			return err
		}
		c, err := tx.ConversationByID(convID)
		if err != nil || c.Kind != parley.ConversationGroup {
			return err
		}
		m, err := tx.MessageByID(messageID)
		if parley.IsNotFound(err) {
			return nil // gone already: the devices sync
		} else if err != nil {
			return err
		}
		if m.Pos != pos || m.ConversationID != convID || m.ViewOnce {
			return nil
		}
		var reply *parley.Message
		if m.ReplyTo != "" {
			if reply, err = tx.MessageByID(m.ReplyTo); err != nil && !parley.IsNotFound(err) {
				return err
			}
		}
		pushes, err := a.fanoutPushes(tx, c, m, reply, ms)
		if pushes != nil {
			for len(pushes) < len(f.Audience) {
				pushes = append(pushes, nil) // a business's team syncs
			}
			f.Pushes = pushes
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// fanoutPushes returns the pushes of the members in ms who are in the
// audience (active or pending, in the order of ms, as audienceIn lists
// them), nil for those who sync; or nil when every device must sync.
func (a *App) fanoutPushes(tx parley.Tx, c *parley.Conversation, m, reply *parley.Message, ms []parley.MemberState) ([]*Push, error) {
	// How far each user must have come.
	changes, err := tx.ChangesBefore(m.Pos, fanoutScan)
	if err != nil {
		return nil, err
	}
	var floor, inConv int64
	if len(changes) == fanoutScan {
		floor = changes[len(changes)-1].Pos // older changes were not looked at
	}
	concern := map[string]int64{}
	others := map[string]int64{} // other conversations: their newest change here
	for _, ch := range changes {
		switch {
		case ch.UserID != "":
			concern[ch.UserID] = max(concern[ch.UserID], ch.Pos)
		case ch.ConversationID == c.ID:
			inConv = max(inConv, ch.Pos)
		default:
			others[ch.ConversationID] = max(others[ch.ConversationID], ch.Pos)
		}
	}
	for convID, p := range others {
		oms, err := tx.MemberStates(convID)
		if err != nil && !parley.IsNotFound(err) {
			return nil, err
		}
		for _, om := range oms {
			concern[om.UserID] = max(concern[om.UserID], p)
		}
	}
	agentIDs, err := tx.AgentMembers(c.ID)
	if err != nil {
		return nil, err
	}
	agents := make(map[string]bool, len(agentIDs))
	for _, id := range agentIDs {
		agents[id] = true
	}
	// One hydration per class of viewer, one Push per class and After.
	type pushKey struct {
		class bool
		after int64
	}
	frames := map[bool][]byte{}
	shared := map[pushKey]*Push{}
	pushes := make([]*Push, 0, len(ms))
	for _, mb := range ms {
		if mb.Status != parley.StatusActive && mb.Status != parley.StatusPending {
			continue // not in the audience (audienceIn)
		}
		pushes = append(pushes, nil)
		if mb.Status != parley.StatusActive || !mb.CanRead(m.Seq) || mb.UserID == m.SenderID || agents[mb.UserID] ||
			reply != nil && mb.UserID == reply.SenderID {
			continue
		}
		class := reply != nil && mb.CanRead(reply.Seq)
		frame, ok := frames[class]
		if !ok {
			// This member's whole row stands for the class.
			full, err := tx.Member(c.ID, mb.UserID)
			if err != nil {
				return nil, err
			}
			vs, err := messageViews(tx, c, full, []*parley.Message{m})
			if err != nil {
				return nil, err
			}
			v := vs[0]
			if len(v.Reactions) > 0 || v.Opened {
				return nil, nil // marks of one viewer: everyone syncs
			}
			if frame, err = json.Marshal(&SyncEvent{Pos: m.Pos, Type: parley.EventMessageCreated, ConversationID: m.ConversationID,
				ActorID: m.SenderID, Seq: m.Seq, Message: v, CreatedAt: m.CreatedAt}); err != nil {
				return nil, err
			}
			frames[class] = frame
		}
		k := pushKey{class, max(floor, inConv, concern[mb.UserID])}
		p := shared[k]
		if p == nil {
			p = &Push{Pos: m.Pos, After: k.after, Frame: frame}
			shared[k] = p
		}
		pushes[len(pushes)-1] = p
	}
	return pushes, nil
}
