package app

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/parleyhq/parley"
)

// SyncEvent is one change as a device receives it, from sync or the stream.
// Stored changes carry their position; ephemeral ones (typing, presence)
// have none.
type SyncEvent struct {
	Pos            int64           `json:"pos,omitempty"`
	Type           string          `json:"type"`
	ConversationID string          `json:"conversation_id,omitempty"`
	ActorID        string          `json:"actor_id,omitempty"`
	Seq            int64           `json:"seq,omitempty"`
	Message        *MessageView    `json:"message,omitempty"`
	Data           json.RawMessage `json:"data,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	// As is set on the changes a team member receives for a business
	// they work for: the business's id. The change is the business's view.
	As string `json:"as,omitempty"`
}

// SyncPage is a page of a user's changes after a position.
type SyncPage struct {
	Events []*SyncEvent `json:"events"`
	// Next is the position to ask from next time.
	Next int64 `json:"next"`
	// More is true when more changes wait after Next.
	More bool `json:"more,omitempty"`
	// Limited is true when the device starts at the head without a
	// replay — it asked to (SinceHead) or its backlog was too long: Next
	// is the current head, and the client reloads its conversations and
	// pages their history instead.
	Limited bool `json:"limited,omitempty"`
}

// Sync limits.
const (
	// DefaultSyncLimit is the page size of Sync.
	DefaultSyncLimit = 500
	// DefaultSyncMaxBacklog is Config.SyncMaxBacklog's default: a device
	// may have missed this many of its own messages and events (not
	// positions of the whole server) and still replay them — forty pages.
	DefaultSyncMaxBacklog = 20000
	// SinceHead asks Sync to start at the head, with no replay: a client
	// that loads its conversations itself and then follows live
	// (?since=now).
	SinceHead int64 = -1
)

// Head returns the newest committed position.
func (a *App) Head(ctx context.Context) (int64, error) {
	var head int64
	err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		head, err = tx.Head()
		return err
	})
	return head, err
}

// Sync returns the actor's changes after position since, oldest first. A
// since of 0 (a new device) starts from the beginning of what the actor
// may see. SinceHead, or a backlog longer than Config.SyncMaxBacklog
// messages and events, gives Limited and the current head, so that the
// device starts from its conversation list.
//
// Calls that arrive together share one read transaction (see readBatcher).
func (a *App) Sync(ctx context.Context, actor *Actor, since int64, limit int) (*SyncPage, error) {
	if since == SinceHead {
		head, err := a.Head(ctx)
		if err != nil {
			return nil, err
		}
		return &SyncPage{Events: []*SyncEvent{}, Next: head, Limited: true}, nil
	}
	if since < 0 {
		return nil, parley.Invalid("since", "since is a position this server gave")
	}
	if limit <= 0 || limit > DefaultSyncLimit {
		limit = DefaultSyncLimit
	}
	var page *SyncPage
	err := a.shortView(ctx, func(tx parley.Tx) error {
		head, err := tx.Head()
		if err != nil {
			return err
		}
		page, err = a.syncIn(tx, head, actor, since, limit)
		if err != nil || page.Limited {
			return err
		}
		// A team member also follows the businesses they work for, as
		// those businesses; checked on every call, so that a removed agent
		// stops at once.
		ags, err := tx.AgentOf(actor.User.ID)
		if err != nil || len(ags) == 0 {
			return err
		}
		pages := []*SyncPage{page}
		for _, ag := range ags {
			p, err := a.syncIn(tx, head, &Actor{User: &parley.User{ID: ag.BusinessID}}, since, limit)
			if err != nil {
				return err
			}
			if p.Limited {
				// Too far behind in a business's inbox: the device reloads
				// everything.
				page = p
				return nil
			}
			for _, e := range p.Events {
				e.As = ag.BusinessID
			}
			pages = append(pages, p)
		}
		page = mergePages(pages, head)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// mergePages merges the pages of several viewers over the same range of
// positions. When any page stopped early, the merged page stops at the
// lowest such stop, and later events wait for the next call; an event two
// viewers share (an agent writing to their own business) comes once, as
// the first page's.
func mergePages(pages []*SyncPage, head int64) *SyncPage {
	out := &SyncPage{Events: []*SyncEvent{}, Next: head}
	for _, p := range pages {
		if p.More {
			out.More = true
			out.Next = min(out.Next, p.Next)
		}
	}
	seen := map[int64]bool{}
	for _, p := range pages {
		for _, e := range p.Events {
			if e.Pos > out.Next || seen[e.Pos] {
				continue
			}
			seen[e.Pos] = true
			out.Events = append(out.Events, e)
		}
	}
	slices.SortStableFunc(out.Events, func(x, y *SyncEvent) int { return cmp.Compare(x.Pos, y.Pos) })
	return out
}

// syncIn is one Sync inside a read transaction whose head is known.
func (a *App) syncIn(tx parley.Tx, head int64, actor *Actor, since int64, limit int) (*SyncPage, error) {
	page := &SyncPage{Events: []*SyncEvent{}}
	if since > head {
		return nil, parley.Invalid("since", "since is ahead of this server; start again without it")
	}
	if most := a.cfg.SyncMaxBacklog; head-since > int64(most) {
		// Whole-server positions bound the user's backlog from above;
		// only when they do not, the user's own is counted.
		n, err := tx.SyncBacklog(actor.User.ID, since, most)
		if err != nil {
			return nil, err
		}
		if n > most {
			page.Next, page.Limited = head, true
			return page, nil
		}
	}
	msgs, err := tx.SyncMessages(actor.User.ID, since, limit+1)
	if err != nil {
		return nil, err
	}
	evs, err := tx.SyncEvents(actor.User.ID, since, limit+1)
	if err != nil {
		return nil, err
	}
	// Merge the two ordered lists by position, up to limit.
	var outMsgs []*parley.Message
	var outEvs []*parley.Event
	i, j := 0, 0
	for len(outMsgs)+len(outEvs) < limit && (i < len(msgs) || j < len(evs)) {
		if j >= len(evs) || (i < len(msgs) && msgs[i].Pos < evs[j].Pos) {
			outMsgs = append(outMsgs, msgs[i])
			i++
		} else {
			outEvs = append(outEvs, evs[j])
			j++
		}
	}
	page.More = i < len(msgs) || j < len(evs)
	page.Events, err = a.hydrate(tx, actor.User.ID, outMsgs, outEvs)
	if err != nil {
		return nil, err
	}
	page.Next = head
	if page.More {
		// The last position the merge consumed, not the last event kept:
		// hydrate may drop events the viewer may not see, even all of them.
		page.Next = since
		if len(outMsgs) > 0 {
			page.Next = max(page.Next, outMsgs[len(outMsgs)-1].Pos)
		}
		if len(outEvs) > 0 {
			page.Next = max(page.Next, outEvs[len(outEvs)-1].Pos)
		}
	}
	return page, nil
}

// hydrate turns message rows and stored events into SyncEvents ordered by
// position, loading message views with the viewer's membership so that
// reply previews follow the same rules as history.
func (a *App) hydrate(tx parley.Tx, viewerID string, msgs []*parley.Message, evs []*parley.Event) ([]*SyncEvent, error) {
	type membership struct {
		c *parley.Conversation
		m *parley.Member
	}
	loaded := map[string]membership{}
	load := func(convID string) (*parley.Conversation, *parley.Member, error) {
		if l, ok := loaded[convID]; ok {
			return l.c, l.m, nil
		}
		c, m, err := tx.ConversationMember(convID, viewerID)
		if err != nil {
			return nil, nil, err
		}
		loaded[convID] = membership{c, m}
		return c, m, nil
	}
	member := func(convID string) (*parley.Member, error) {
		_, m, err := load(convID)
		return m, err
	}
	// The viewer's memberships of the page's conversations in one query.
	var convIDs []string
	for _, m := range msgs {
		convIDs = append(convIDs, m.ConversationID)
	}
	for _, e := range evs {
		if e.ConversationID != "" {
			convIDs = append(convIDs, e.ConversationID)
		}
	}
	slices.Sort(convIDs)
	if convIDs = slices.Compact(convIDs); len(convIDs) > 1 {
		rows, err := tx.ConversationMembers(viewerID, convIDs)
		if err != nil {
			return nil, err
		}
		for id, r := range rows {
			loaded[id] = membership{r.Conversation, r.Member}
		}
	}
	out := make([]*SyncEvent, 0, len(msgs)+len(evs))
	// One hydration per page, not per conversation or message.
	byConv := map[string][]*parley.Message{}
	for _, m := range msgs {
		byConv[m.ConversationID] = append(byConv[m.ConversationID], m)
	}
	groups := make([]convMessages, 0, len(byConv))
	for convID, group := range byConv {
		c, me, err := load(convID)
		if err != nil {
			return nil, err
		}
		groups = append(groups, convMessages{c, me, group})
	}
	// Senders, reactions and media of the whole page at once.
	hydrated, err := messageViewsOf(tx, groups)
	if err != nil {
		return nil, err
	}
	views := map[string]*MessageView{}
	for _, vs := range hydrated {
		for _, v := range vs {
			views[v.ID] = v
		}
	}
	for _, m := range msgs {
		out = append(out, messageEvent(m, views[m.ID]))
	}
	var hidesReads *bool // the viewer's read-receipt setting, loaded at the first read marker of another
	for _, e := range evs {
		if e.Type == parley.EventRead || e.Type == parley.EventDelivered {
			// A marker past what the viewer may read says nothing they need.
			if e.UserID == "" {
				if me, err := member(e.ConversationID); err != nil {
					return nil, err
				} else if !me.CanRead(e.Seq) && e.ActorID != viewerID {
					continue
				}
			}
		}
		if e.Type == parley.EventRead && e.UserID == "" && e.ActorID != viewerID {
			// Who hides their own read receipts sees no one else's.
			if hidesReads == nil {
				u, err := tx.UserByID(viewerID)
				if err != nil && !parley.IsNotFound(err) {
					return nil, err
				}
				h := u != nil && u.HideReadReceipts
				hidesReads = &h
			}
			if *hidesReads {
				continue
			}
		}
		se := &SyncEvent{Pos: e.Pos, Type: e.Type, ConversationID: e.ConversationID, ActorID: e.ActorID, Seq: e.Seq, CreatedAt: e.CreatedAt}
		if len(e.Data) > 0 && string(e.Data) != "{}" {
			se.Data = e.Data
		}
		if e.MessageID != "" {
			me, err := member(e.ConversationID)
			if err != nil {
				return nil, err
			}
			if !me.CanRead(e.Seq) {
				continue // about a message from outside the member's view
			}
			msg, err := tx.MessageByID(e.MessageID)
			if err != nil && !parley.IsNotFound(err) {
				return nil, err
			}
			if msg != nil && me.CanRead(msg.Seq) {
				c, _, err := load(e.ConversationID)
				if err != nil {
					return nil, err
				}
				vs, err := messageViews(tx, c, me, []*parley.Message{msg})
				if err != nil {
					return nil, err
				}
				se.Message = vs[0]
			}
		}
		out = append(out, se)
	}
	slices.SortFunc(out, func(a, b *SyncEvent) int { return cmp.Compare(a.Pos, b.Pos) })
	return out, nil
}

// messageEvent is the change a new message is in a sync page, with the
// message as its viewer sees it (DirectFrames renders the same).
func messageEvent(m *parley.Message, v *MessageView) *SyncEvent {
	return &SyncEvent{Pos: m.Pos, Type: parley.EventMessageCreated, ConversationID: m.ConversationID,
		ActorID: m.SenderID, Seq: m.Seq, Message: v, CreatedAt: m.CreatedAt}
}

// Delivered moves the actor's delivered marker up to seq (never back).
// Like read markers, it stays private while a request is pending or a block
// stands between the two members of a direct conversation.
func (a *App) Delivered(ctx context.Context, actor *Actor, convID string, seq int64) (int64, error) {
	return a.moveMarker(ctx, actor, convID, seq, false)
}

// AudienceOf returns the users who may care about a conversation-wide
// change: the active and pending members. Devices re-check what they may
// see when they sync, so a wider audience would cost a query, not a leak —
// but even an empty sync moves a device's position, which would tell a
// former member when the conversation is busy. The notifier wakes a
// departing member once, for their own departure.
func (a *App) AudienceOf(ctx context.Context, convID string) ([]string, error) {
	ids, _, _, err := a.AudienceAt(ctx, convID)
	return ids, err
}

// AudienceAt is AudienceOf, with everyone the conversation's changes may
// concern in a sync (rows gives every user with a member row of any
// status, and the team of a business, as of the snapshot: a superset of
// whose Sync may return them) and the position both were read at (the
// newest committed position of the snapshot).
func (a *App) AudienceAt(ctx context.Context, convID string) (ids, rows []string, at int64, err error) {
	err = a.view(ctx, func(tx parley.Tx) error {
		var err error
		if at, err = tx.Head(); err != nil {
			return err
		}
		ms, err := tx.MemberStates(convID)
		if err != nil {
			return err
		}
		if ids, err = audienceIn(tx, convID, ms); err != nil {
			return err
		}
		// A set, not a scan of rows per id: in a 10,000-member group
		// that scan was 50 million comparisons per call.
		rows = make([]string, 0, len(ms))
		has := make(map[string]struct{}, len(ms))
		for _, m := range ms {
			rows = append(rows, m.UserID)
			has[m.UserID] = struct{}{}
		}
		for _, id := range ids {
			if _, ok := has[id]; !ok {
				rows = append(rows, id) // the team
			}
		}
		return nil
	})
	return ids, rows, at, err
}

// audienceIn is AudienceOf for the members ms of convID.
func audienceIn(tx parley.Tx, convID string, ms []parley.MemberState) ([]string, error) {
	ids := make([]string, 0, len(ms))
	for _, m := range ms {
		if m.Status == parley.StatusActive || m.Status == parley.StatusPending {
			ids = append(ids, m.UserID)
		}
	}
	// A business's customer conversation also concerns its team.
	it, err := tx.InboxItem(convID)
	if parley.IsNotFound(err) {
		return ids, nil
	} else if err != nil {
		return nil, err
	}
	team, err := activeAgentIDs(tx, it.BusinessID)
	return append(ids, team...), err
}

// Typing announces that the actor is typing (or stopped) in a conversation.
// Only active members may, and only other active members hear it: nothing
// reaches the sender of a request the actor has not accepted, and nothing
// crosses a block in a direct conversation (in groups, blocks do not
// silence the group). The event is ephemeral: it goes to the notifier and is
// never stored.
func (a *App) Typing(ctx context.Context, actor *Actor, convID string, typing bool) error {
	return a.TypingIf(ctx, actor, convID, typing, nil)
}

// TypingIf is Typing that asks allow, once the actor may type in the
// conversation, whether to announce it (a transport's throttle: a repeat
// is answered as the first was, whoever asks, and says nothing new).
func (a *App) TypingIf(ctx context.Context, actor *Actor, convID string, typing bool, allow func() bool) error {
	var ev, teamEv *parley.Event
	err := a.view(ctx, func(tx parley.Tx) error {
		c, _, err := activeMembership(tx, convID, actor.User.ID)
		if err != nil {
			return err
		}
		if err := refuseIfBlocked(tx, c, actor.User.ID); err != nil {
			return err
		}
		var audience []string
		if c.Kind == parley.ConversationDirect {
			other, _, err := otherMember(tx, c, actor.User.ID)
			if err != nil {
				return err
			}
			if other.Status == parley.StatusActive {
				audience = []string{other.UserID}
				// A customer typing to a business shows in its team's
				// inbox, tagged with the business like the team's sync.
				if it, err := tx.InboxItem(c.ID); err == nil && it.BusinessID == other.UserID {
					team, err := activeAgentIDs(tx, it.BusinessID)
					if err != nil {
						return err
					}
					teamEv = &parley.Event{Type: parley.EventTyping, ConversationID: c.ID, ActorID: actor.User.ID,
						Data: mustJSON(map[string]bool{"typing": typing}), CreatedAt: a.clock(), Audience: team, As: it.BusinessID}
				} else if err != nil && !parley.IsNotFound(err) {
					return err
				}
			}
		} else {
			ms, err := tx.MemberStates(c.ID)
			if err != nil {
				return err
			}
			for _, m := range ms {
				if m.Status == parley.StatusActive && m.UserID != actor.User.ID {
					audience = append(audience, m.UserID)
				}
			}
		}
		ev = &parley.Event{Type: parley.EventTyping, ConversationID: c.ID, ActorID: actor.User.ID,
			Data: mustJSON(map[string]bool{"typing": typing}), CreatedAt: a.clock(), Audience: audience}
		return nil
	})
	if err != nil {
		return err
	}
	if allow != nil && !allow() {
		return nil
	}
	if len(ev.Audience) > 0 {
		a.notify([]*parley.Event{ev})
	}
	if teamEv != nil && len(teamEv.Audience) > 0 {
		a.notify([]*parley.Event{teamEv})
	}
	return nil
}

// Presence announces that a user came online or went offline to the
// people who share an active direct conversation with them, unless the
// user hides their presence. Transports call it when a user's first device
// connects and when the last one goes.
func (a *App) Presence(ctx context.Context, userID string, online bool) error {
	a.setOnline(userID, online)
	return a.announcePresence(ctx, userID, online, false)
}

// PresenceHere records that a user's last device left this node without
// announcing it to their peers: they are still online on another node
// (the transport announces with Presence once they are not).
func (a *App) PresenceHere(userID string, online bool) { a.setOnline(userID, online) }

// OnlinePeers lists the user's direct peers who are online now (on any
// node) and whom the user may see online: they show their presence and
// no block stands between the two — the people whose presence events the
// user would get. A new stream starts from it.
func (a *App) OnlinePeers(ctx context.Context, userID string) ([]string, error) {
	out := []string{}
	err := a.view(ctx, func(tx parley.Tx) error {
		peers, err := tx.DirectPeers(userID)
		if err != nil {
			return err
		}
		var online []string
		for _, p := range peers {
			if a.isOnline(p) {
				online = append(online, p)
			}
		}
		if len(online) == 0 {
			return nil
		}
		users, err := tx.UsersByIDs(online)
		if err != nil {
			return err
		}
		for _, p := range online {
			if u := users[p]; u == nil || !u.ShowPresence {
				continue
			}
			if blocked, err := tx.BlockedEither(userID, p); err != nil {
				return err
			} else if !blocked {
				out = append(out, p)
			}
		}
		return nil
	})
	return out, err
}

// announcePresence tells the user's direct peers that the user is online
// or not: only when the user shows their presence, unless always (the
// user just hid it, and peers who saw them online must see them go).
func (a *App) announcePresence(ctx context.Context, userID string, online, always bool) error {
	var ev *parley.Event
	err := a.view(ctx, func(tx parley.Tx) error {
		u, err := tx.UserByID(userID)
		if err != nil || !u.ShowPresence && !always {
			return err
		}
		peers, err := tx.DirectPeers(userID)
		if err != nil {
			return err
		}
		var audience []string
		for _, p := range peers {
			if blocked, err := tx.BlockedEither(userID, p); err != nil {
				return err
			} else if !blocked {
				audience = append(audience, p)
			}
		}
		ev = &parley.Event{Type: parley.EventPresence, ActorID: userID, Data: mustJSON(map[string]bool{"online": online}),
			CreatedAt: a.clock(), Audience: audience}
		return nil
	})
	if err == nil && ev != nil && len(ev.Audience) > 0 {
		a.notify([]*parley.Event{ev})
	}
	return err
}
