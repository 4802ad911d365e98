package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// directKey is the unique key of the direct conversation between a and b.
func directKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + ":" + b
}

// membership loads a conversation and the user's membership of it. Users who
// never belonged, or who declined it, get ENotFound: they may not learn that
// it exists.
func membership(tx parley.Tx, convID, userID string) (*parley.Conversation, *parley.Member, error) {
	notFound := parley.Errorf(parley.ENotFound, "conversation not found")
	if convID == "" || len(convID) > 64 {
		return nil, nil, notFound
	}
	c, m, err := tx.ConversationMember(convID, userID)
	if parley.IsNotFound(err) {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, err
	}
	if m.Status == parley.StatusDeclined {
		return nil, nil, notFound
	}
	return c, m, nil
}

// activeMembership is membership for actions that need an active member.
func activeMembership(tx parley.Tx, convID, userID string) (*parley.Conversation, *parley.Member, error) {
	c, m, err := membership(tx, convID, userID)
	if err != nil {
		return nil, nil, err
	}
	switch m.Status {
	case parley.StatusPending:
		return nil, nil, parley.Errorf(parley.EForbidden, "accept the request first")
	case parley.StatusLeft, parley.StatusRemoved:
		return nil, nil, parley.Errorf(parley.EForbidden, "you are no longer a member of this conversation")
	}
	return c, m, nil
}

// setStatus moves a member to a status, filing it accordingly, and records
// an event for the member's own devices.
func setStatus(w *writer, m *parley.Member, st parley.MemberStatus) error {
	m.Status, m.UpdatedAt = st, w.now
	if st == parley.StatusActive && m.Folder == parley.FolderRequests {
		m.Folder = parley.FolderInbox
	}
	if err := w.PutMember(m); err != nil {
		return err
	}
	return w.event(&parley.Event{Type: parley.EventFolderChanged, ConversationID: m.ConversationID, UserID: m.UserID, ActorID: m.UserID,
		Data: mustJSON(map[string]any{"folder": m.Folder, "status": m.Status})})
}

// systemMessage appends a system message (member added, title changed …).
func systemMessage(w *writer, c *parley.Conversation, actorID string, data map[string]any) (*parley.Message, error) {
	seq, err := w.AllocSeq(c.ID, w.now)
	if err != nil {
		return nil, err
	}
	c.LastSeq, c.LastActivityAt = seq, w.now
	m := &parley.Message{ID: newID(), ConversationID: c.ID, Seq: seq, SenderID: actorID, Kind: parley.MessageSystem,
		System: string(mustJSON(data)), CreatedAt: w.now}
	if err := w.CreateMessage(m); err != nil {
		return nil, err
	}
	if err := w.messageCreated(m); err != nil {
		return nil, err
	}
	return m, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// CreateDirect starts (or returns) the direct conversation between the actor
// and handle. created is false when it already existed.
func (a *App) CreateDirect(ctx context.Context, actor *Actor, handle string) (view *ConversationView, created bool, err error) {
	err = a.update(ctx, func(w *writer) error {
		other, err := userByHandle(w, handle)
		if err != nil {
			return err
		}
		if other.ID == actor.User.ID {
			return parley.Invalid("with", "you cannot start a conversation with yourself")
		}
		ct, err := contact(w, actor.User, other)
		if err != nil {
			return err
		}
		if ct.Blocked {
			return refusal(ct)
		}
		c, err := w.DirectConversation(directKey(actor.User.ID, other.ID))
		if err == nil {
			// It exists: bring it back for the actor if they had declined it.
			me, err := w.Member(c.ID, actor.User.ID)
			if err != nil {
				return err
			}
			if me.Status == parley.StatusDeclined || me.Status == parley.StatusPending {
				if err := acceptRequest(w, c, me); err != nil {
					return err
				}
			}
			view, err = conversationView(w, actor.User.ID, c, me, true)
			return err
		} else if !parley.IsNotFound(err) {
			return err
		}
		route := RouteDM(ct)
		if route == RouteRefused {
			return refusal(ct)
		}
		if err := a.newConversationLimit(w, actor.User); err != nil {
			return err
		}
		c = &parley.Conversation{ID: newID(), Kind: parley.ConversationDirect, CreatedBy: actor.User.ID, CreatedAt: w.now,
			DirectKey: directKey(actor.User.ID, other.ID), LastActivityAt: w.now, MemberCount: 2}
		if err := w.CreateConversation(c); err != nil {
			return err
		}
		me := &parley.Member{ConversationID: c.ID, UserID: actor.User.ID, Role: parley.RoleMember, Status: parley.StatusActive,
			Folder: parley.FolderInbox, JoinedAt: w.now, UpdatedAt: w.now, JoinedPos: w.Position()}
		them := &parley.Member{ConversationID: c.ID, UserID: other.ID, Role: parley.RoleMember, Status: parley.StatusActive,
			Folder: parley.FolderInbox, InvitedBy: actor.User.ID, JoinedAt: w.now, UpdatedAt: w.now, JoinedPos: w.Position()}
		if route == RouteRequest {
			them.Status, them.Folder = parley.StatusPending, parley.FolderRequests
		}
		for _, m := range []*parley.Member{me, them} {
			if err := w.PutMember(m); err != nil {
				return err
			}
		}
		if route == RouteRequest {
			if _, err := a.scoreRequest(w, c, them, actor.User, "", nil); err != nil {
				return err
			}
		}
		if err := startInboxItem(w, c, actor.User, other); err != nil {
			return err
		}
		if err := w.event(&parley.Event{Type: parley.EventConversationCreated, ConversationID: c.ID, ActorID: actor.User.ID}); err != nil {
			return err
		}
		created = true
		view, err = conversationView(w, actor.User.ID, c, me, true)
		return err
	})
	return view, created, err
}

// acceptRequest makes a pending (or declined) member active and files the
// conversation in their inbox.
func acceptRequest(w *writer, c *parley.Conversation, m *parley.Member) error {
	if c.Kind == parley.ConversationGroup {
		m.LeftSeq = 0 // the invite's preview limit ends
	}
	if err := setStatus(w, m, parley.StatusActive); err != nil {
		return err
	}
	if c.Kind == parley.ConversationGroup {
		if _, err := systemMessage(w, c, m.UserID, map[string]any{"action": "member_joined", "user": m.UserID}); err != nil {
			return err
		}
	}
	return w.event(&parley.Event{Type: parley.EventRequestAccepted, ConversationID: c.ID, ActorID: m.UserID})
}

// Accept moves a message request (or a group invite) to the inbox.
func (a *App) Accept(ctx context.Context, actor *Actor, convID string) (*ConversationView, error) {
	var view *ConversationView
	var peer string
	err := a.update(ctx, func(w *writer) error {
		peer = ""
		c, m, err := membership(w, convID, actor.User.ID)
		if err != nil {
			return err
		}
		if m.Status != parley.StatusPending {
			return parley.Errorf(parley.EConflict, "this conversation is not a request")
		}
		if c.Kind == parley.ConversationDirect {
			other, blocked, err := otherMember(w, c, actor.User.ID)
			if err != nil {
				return err
			} else if blocked {
				return parley.Errorf(parley.EDMNotAllowed, "you can't message this account")
			}
			// Accepting teaches the spam model what wanted requests say.
			if err := a.learnRequest(w, c, actor.User.ID, other.UserID, false); err != nil {
				return err
			}
			peer = other.UserID
		}
		if err := acceptRequest(w, c, m); err != nil {
			return err
		}
		view, err = conversationView(w, actor.User.ID, c, m, true)
		return err
	})
	if err == nil && peer != "" {
		a.introducePresence(ctx, actor.User.ID, peer)
	}
	return view, err
}

// introducePresence tells each of two people who just became direct
// peers (a request accepted) that the other is online, when they are and
// show it: their presence events go to direct peers only, so neither
// would otherwise know until the other reconnected.
func (a *App) introducePresence(ctx context.Context, x, y string) {
	var evs []*parley.Event
	err := a.view(ctx, func(tx parley.Tx) error {
		if blocked, err := tx.BlockedEither(x, y); err != nil || blocked {
			return err // a block since the accept: nothing to say
		}
		users, err := tx.UsersByIDs([]string{x, y})
		if err != nil {
			return err
		}
		for _, p := range [][2]string{{x, y}, {y, x}} {
			if u := users[p[0]]; u != nil && u.ShowPresence && a.isOnline(p[0]) {
				evs = append(evs, &parley.Event{Type: parley.EventPresence, ActorID: p[0], Data: mustJSON(map[string]bool{"online": true}),
					CreatedAt: a.clock(), Audience: []string{p[1]}})
			}
		}
		return nil
	})
	if err != nil {
		a.log.Warn("presence", "err", err)
		return
	}
	if len(evs) > 0 {
		a.notify(evs)
	}
}

// Decline hides a request from the actor. The sender is not told: to them
// the request still looks pending.
func (a *App) Decline(ctx context.Context, actor *Actor, convID string) error {
	var group *parley.Conversation
	err := a.update(ctx, func(w *writer) error {
		c, m, err := membership(w, convID, actor.User.ID)
		if err != nil {
			return err
		}
		group = c
		if m.Status != parley.StatusPending {
			return parley.Errorf(parley.EConflict, "this conversation is not a request")
		}
		if c.Kind == parley.ConversationGroup {
			c.MemberCount--
			if err := w.UpdateConversation(c); err != nil {
				return err
			}
		}
		if err := setStatus(w, m, parley.StatusDeclined); err != nil {
			return err
		}
		return w.chain(&parley.ChainEntry{ConversationID: c.ID, Kind: parley.ChainDecline, ActorID: actor.User.ID, SubjectID: actor.User.ID})
	})
	if err == nil {
		a.relist(ctx, group)
	}
	return err
}

// otherMember returns the member of a direct conversation who is not
// userID, and whether either of the two blocks the other.
func otherMember(tx parley.Tx, c *parley.Conversation, userID string) (*parley.Member, bool, error) {
	other, err := directPeer(c, userID)
	if err != nil {
		return nil, false, err
	}
	return tx.Peer(c.ID, userID, other)
}

// directPeer returns the id of the other member of userID's direct
// conversation c, from its key.
func directPeer(c *parley.Conversation, userID string) (string, error) {
	a, b, ok := strings.Cut(c.DirectKey, ":")
	if !ok || (a != userID && b != userID) {
		return "", fmt.Errorf("direct conversation %s: key %q does not hold %s", c.ID, c.DirectKey, userID)
	}
	if a == userID {
		return b, nil
	}
	return a, nil
}

// Conversation returns one conversation with its members.
func (a *App) Conversation(ctx context.Context, actor *Actor, convID string) (*ConversationView, error) {
	var view *ConversationView
	err := a.view(ctx, func(tx parley.Tx) error {
		c, m, err := membership(tx, convID, actor.User.ID)
		if err != nil {
			return err
		}
		view, err = conversationView(tx, actor.User.ID, c, m, true)
		return err
	})
	return view, err
}

// maxListLimit caps a page of any list.
const maxListLimit = 200

func pageLimit(limit, def int) (int, error) {
	if limit == 0 {
		return def, nil
	}
	if limit < 0 || limit > maxListLimit {
		return 0, parley.Invalid("limit", "limit is between 1 and %d", maxListLimit)
	}
	return limit, nil
}

type convCursor struct {
	P bool   `json:"p,omitempty"`
	T int64  `json:"t"`
	I string `json:"i"`
}

func encodeConvCursor(c parley.ConversationCursor) string {
	b, _ := json.Marshal(convCursor{P: c.Pinned, T: c.ActivityAt.UnixNano(), I: c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// cursorIDOK reports whether id can be the row id inside a cursor: 1–256
// letters, digits, '-' and '_', what this server's ids are made of. JSON
// would otherwise turn invalid UTF-8 into U+FFFD and hand back an id the
// cursor never held.
func cursorIDOK(id string) bool {
	if id == "" || len(id) > 256 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func decodeConvCursor(s string) (*parley.ConversationCursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := parley.Invalid("cursor", "cursor is not one this server gave")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 256 {
		return nil, bad
	}
	var c convCursor
	if err := json.Unmarshal(b, &c); err != nil || !cursorIDOK(c.I) {
		return nil, bad
	}
	return &parley.ConversationCursor{Pinned: c.P, ActivityAt: time.Unix(0, c.T).UTC(), ID: c.I}, nil
}

// Conversations lists the actor's conversations in one folder, pinned first
// and then newest activity first, with unread counts and last messages.
// Requests are listed by Requests, lowest spam score first, without the
// filtered ones.
func (a *App) Conversations(ctx context.Context, actor *Actor, folder parley.Folder, cursor string, limit int) (*Page[*ConversationView], error) {
	if folder == "" {
		folder = parley.FolderInbox
	}
	if !folder.Valid() {
		return nil, parley.Invalid("folder", "folder is inbox, requests or archived")
	}
	if folder == parley.FolderRequests {
		return a.Requests(ctx, actor, false, cursor, limit) // by spam score
	}
	after, err := decodeConvCursor(cursor)
	if err != nil {
		return nil, err
	}
	if limit, err = pageLimit(limit, 50); err != nil {
		return nil, err
	}
	page := &Page[*ConversationView]{Items: []*ConversationView{}}
	err = a.view(ctx, func(tx parley.Tx) error {
		rows, err := tx.Conversations(parley.ConversationFilter{UserID: actor.User.ID, Folder: folder, After: after, Limit: limit + 1})
		if err != nil {
			return err
		}
		if len(rows) > limit {
			rows = rows[:limit]
			last := rows[limit-1]
			page.NextCursor = encodeConvCursor(parley.ConversationCursor{Pinned: last.Member.PinnedAt != nil, ActivityAt: last.Conversation.LastActivityAt, ID: last.Conversation.ID})
		}
		page.Items, err = conversationViews(tx, actor.User.ID, rows)
		return err
	})
	return page, err
}

// departure is what a departure's system message recorded of the group
// at that moment; DisappearAfter is nil in departures recorded before it
// was.
type departure struct {
	Title          string
	DisappearAfter *int64
}

// departedState reads a departure's system message (member_left or
// member_removed with a title); ok is false for any other message.
func departedState(m *parley.Message) (d departure, ok bool) {
	if m.Kind != parley.MessageSystem || m.System == "" {
		return d, false
	}
	var s struct {
		Action         string  `json:"action"`
		Title          *string `json:"title"`
		DisappearAfter *int64  `json:"disappear_after"`
	}
	if json.Unmarshal([]byte(m.System), &s) != nil || s.Title == nil || (s.Action != "member_left" && s.Action != "member_removed") {
		return d, false
	}
	return departure{Title: *s.Title, DisappearAfter: s.DisappearAfter}, true
}

// maxUnread is where unread counting stops ("999+").
const maxUnread = 1000

// conversationView builds the viewer's view of a conversation.
func conversationView(tx parley.Tx, viewerID string, c *parley.Conversation, me *parley.Member, withMembers bool) (*ConversationView, error) {
	holds, err := loadHolds(tx)
	if err != nil {
		return nil, err
	}
	v, last, err := conversationViewBase(tx, viewerID, c, me, withMembers, holds, nil)
	if err != nil || last == nil {
		return v, err
	}
	mv, err := messageViews(tx, c, me, []*parley.Message{last})
	if err != nil {
		return nil, err
	}
	v.LastMessage = mv[0]
	return v, nil
}

// conversationViews builds the views of a page of the conversation list:
// conversationView for each row, with the legal holds read once and the
// last messages hydrated together (messageViewsOf).
func conversationViews(tx parley.Tx, viewerID string, rows []parley.MemberConversation) ([]*ConversationView, error) {
	holds, err := loadHolds(tx)
	if err != nil {
		return nil, err
	}
	// The rows' last messages in one query, not one per row.
	ranges := make([]parley.MessageRange, 0, len(rows))
	for _, r := range rows {
		if lo, hi, ok := lastMessageRange(r.Conversation, r.Member); ok {
			ranges = append(ranges, parley.MessageRange{ConversationID: r.Conversation.ID, MinSeq: lo, MaxSeq: hi})
		}
	}
	lastOf, err := tx.LastMessages(ranges)
	if err != nil {
		return nil, err
	}
	out := make([]*ConversationView, 0, len(rows))
	var lasts []convMessages
	var withLast []*ConversationView
	for _, r := range rows {
		v, last, err := conversationViewBase(tx, viewerID, r.Conversation, r.Member, r.Conversation.Kind == parley.ConversationDirect, holds, lastOf)
		if err != nil {
			return nil, err
		}
		if last != nil {
			lasts = append(lasts, convMessages{r.Conversation, r.Member, []*parley.Message{last}})
			withLast = append(withLast, v)
		}
		out = append(out, v)
	}
	if len(lasts) > 0 {
		vs, err := messageViewsOf(tx, lasts)
		if err != nil {
			return nil, err
		}
		for i, v := range withLast {
			v.LastMessage = vs[i][0]
		}
	}
	return out, nil
}

// lastMessageRange is the range of seqs in which the member's view of c
// finds its last message; ok is false when they may read none.
func lastMessageRange(c *parley.Conversation, me *parley.Member) (lo, hi int64, ok bool) {
	hi = me.MaxReadable(c.LastSeq)
	return me.JoinedSeq + 1, hi, hi > me.JoinedSeq
}

// conversationViewBase is conversationView without the hydration of the
// last message, which it returns (nil when none is visible). lastOf, when
// not nil, holds the last messages of a page (LastMessages over
// lastMessageRange); otherwise the last message is read here.
func conversationViewBase(tx parley.Tx, viewerID string, c *parley.Conversation, me *parley.Member, withMembers bool,
	holds *holdSet, lastOf map[string]*parley.Message) (*ConversationView, *parley.Message, error) {
	v := &ConversationView{
		ID: c.ID, Kind: string(c.Kind), Title: c.Title, CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt,
		InvitePolicy: c.InvitePolicy, LastSeq: c.LastSeq, LastActivityAt: c.LastActivityAt, MemberCount: c.MemberCount,
		Folder: string(me.Folder), Status: string(me.Status), Role: string(me.Role), Pinned: me.PinnedAt != nil,
		MutedUntil: me.MutedUntil, ReadSeq: me.ReadSeq, Request: me.Status == parley.StatusPending,
		DisappearAfter: int64(c.DisappearAfter / time.Second),
	}
	held, err := holds.held(tx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	v.LegalHold = held
	var last *parley.Message
	visibleMax := me.MaxReadable(c.LastSeq)
	former := me.Departed()
	if former {
		// A former member sees the conversation as it was when they went,
		// and none of its settings that only a member may use.
		v.LastSeq, v.MemberCount, v.InvitePolicy = me.LeftSeq, 0, ""
		withMembers = false
	}
	if visibleMax > me.JoinedSeq {
		// Expired messages the reaper has not purged yet are not shown,
		// so they are not unread either — unless a legal hold keeps them.
		var expiredBy time.Time
		if !held {
			expiredBy = txNow(tx)
		}
		n, err := tx.CountUnread(c.ID, viewerID, max(me.ReadSeq, me.JoinedSeq), expiredBy, maxUnread)
		if err != nil {
			return nil, nil, err
		}
		if visibleMax < c.LastSeq {
			n = 0 // a former member or an invitee has nothing new to read
		}
		v.UnreadCount = n
		if lastOf != nil {
			last = lastOf[c.ID]
		} else {
			msgs, err := tx.Messages(parley.MessageRange{ConversationID: c.ID, MinSeq: me.JoinedSeq + 1, MaxSeq: visibleMax, Limit: 1, Descending: true})
			if err != nil {
				return nil, nil, err
			}
			if len(msgs) == 1 {
				last = msgs[0]
			}
		}
	}
	if former && last != nil && last.Seq == me.LeftSeq {
		// Their departure's system message: the title and timer then,
		// and no activity after it.
		if d, ok := departedState(last); ok {
			v.Title = d.Title
			if d.DisappearAfter != nil {
				v.DisappearAfter = *d.DisappearAfter
			}
		}
		v.LastActivityAt = last.CreatedAt
	}
	if me.Status == parley.StatusPending { // a direct request or a group invite
		if rs, err := tx.RequestScore(c.ID, me.UserID); err == nil {
			v.Triage = triageView(rs)
		} else if !parley.IsNotFound(err) {
			return nil, nil, err
		}
	}
	if withMembers {
		hideReads := false
		if c.Kind == parley.ConversationDirect {
			if _, blocked, err := otherMember(tx, c, viewerID); err != nil {
				return nil, nil, err
			} else if blocked {
				hideReads = true // no read receipts across a block
			}
		}
		ms, err := tx.Members(c.ID)
		if err != nil {
			return nil, nil, err
		}
		ids := make([]string, 0, len(ms))
		for _, m := range ms {
			ids = append(ids, m.UserID)
		}
		users, err := tx.UsersByIDs(ids)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range ms {
			mv := MemberView{User: summarize(users[m.UserID]), Role: string(m.Role), Status: string(m.Status), ReadSeq: m.ReadSeq}
			if m.UserID != viewerID {
				switch m.Status {
				case parley.StatusDeclined:
					if c.Kind == parley.ConversationGroup {
						continue // a declined invite is just gone
					}
					mv.Status = string(parley.StatusPending) // the sender is not told
					mv.ReadSeq = 0
				case parley.StatusPending:
					mv.ReadSeq = 0 // no read receipts from an unaccepted request
				}
				if hideReads || (users[m.UserID] != nil && users[m.UserID].HideReadReceipts) ||
					(users[viewerID] != nil && users[viewerID].HideReadReceipts) {
					mv.ReadSeq = 0 // read receipts off on either side
				}
			}
			if mv.User == nil {
				mv.User = &UserSummary{ID: m.UserID}
			} else if hideReads && m.UserID != viewerID {
				mv.User = &UserSummary{ID: m.UserID, Handle: mv.User.Handle} // a block leaves the handle only
			}
			v.Members = append(v.Members, mv)
		}
	}
	return v, last, nil
}

// FolderChange is a change to the actor's own filing of a conversation.
type FolderChange struct {
	Archived   *bool
	Pinned     *bool
	MutedUntil *time.Time // zero time unmutes
}

// maxPinned caps pinned conversations per user, as the big apps do.
const maxPinned = 10

// File archives/unarchives, pins/unpins or mutes/unmutes a conversation for
// the actor only.
func (a *App) File(ctx context.Context, actor *Actor, convID string, ch FolderChange) (*ConversationView, error) {
	var view *ConversationView
	err := a.update(ctx, func(w *writer) error {
		c, m, err := membership(w, convID, actor.User.ID)
		if err != nil {
			return err
		}
		if m.Status == parley.StatusPending {
			return parley.Errorf(parley.EConflict, "accept or decline the request first")
		}
		if ch.Archived != nil {
			m.Folder = parley.FolderInbox
			if *ch.Archived {
				m.Folder = parley.FolderArchived
			}
		}
		if ch.Pinned != nil {
			if *ch.Pinned && m.PinnedAt == nil {
				rows, err := w.Conversations(parley.ConversationFilter{UserID: actor.User.ID, Folder: m.Folder, Limit: maxPinned})
				if err != nil {
					return err
				}
				pinned := 0
				for _, r := range rows {
					if r.Member.PinnedAt != nil {
						pinned++
					}
				}
				if pinned >= maxPinned {
					return parley.Errorf(parley.EConflict, "you can pin at most %d conversations", maxPinned)
				}
				t := w.now
				m.PinnedAt = &t
			} else if !*ch.Pinned {
				m.PinnedAt = nil
			}
		}
		if ch.MutedUntil != nil {
			if ch.MutedUntil.IsZero() {
				m.MutedUntil = nil
			} else {
				t := ch.MutedUntil.UTC()
				m.MutedUntil = &t
			}
		}
		m.UpdatedAt = w.now
		if err := w.PutMember(m); err != nil {
			return err
		}
		data := map[string]any{"folder": m.Folder, "pinned": m.PinnedAt != nil, "muted_until": m.MutedUntil}
		if err := w.event(&parley.Event{Type: parley.EventFolderChanged, ConversationID: c.ID, UserID: actor.User.ID, ActorID: actor.User.ID, Data: mustJSON(data)}); err != nil {
			return err
		}
		view, err = conversationView(w, actor.User.ID, c, m, c.Kind == parley.ConversationDirect)
		return err
	})
	return view, err
}
