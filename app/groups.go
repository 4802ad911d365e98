package app

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

// AddResult says what adding one handle to a group did.
type AddResult struct {
	Handle string `json:"handle"`
	// Result is "added", "invited" (the invite waits in their requests),
	// "already_member" or "refused".
	Result string `json:"result"`
	Code   string `json:"code,omitempty"`
}

// MaxAddPerRequest caps the handles of one create or add request: each
// add is a few statements in the single writer, and a thousand at once
// would hold up every send for a noticeable time.
const MaxAddPerRequest = 200

// Invite policies of groups.
const (
	InviteAdmins  = "admins"
	InviteMembers = "members"
)

// GroupInput creates a group.
type GroupInput struct {
	Title        string
	Members      []string // handles
	InvitePolicy string
}

// CreateGroup creates a group owned by the actor and adds (or invites) the
// given members under the privacy rules.
func (a *App) CreateGroup(ctx context.Context, actor *Actor, in GroupInput) (*ConversationView, []AddResult, error) {
	title, err := cleanText("title", in.Title, 100, false)
	if err != nil {
		return nil, nil, err
	}
	if in.InvitePolicy == "" {
		in.InvitePolicy = InviteAdmins
	}
	if in.InvitePolicy != InviteAdmins && in.InvitePolicy != InviteMembers {
		return nil, nil, parley.Invalid("invite_policy", "invite_policy is admins or members")
	}
	if len(in.Members) >= a.cfg.MaxGroupMembers {
		return nil, nil, parley.Errorf(parley.EGroupFull, "a group has at most %d members", a.cfg.MaxGroupMembers)
	}
	if len(in.Members) > MaxAddPerRequest {
		return nil, nil, parley.Invalid("members", "add at most %d members per request", MaxAddPerRequest)
	}
	var view *ConversationView
	var results []AddResult
	var group *parley.Conversation
	err = a.update(ctx, func(w *writer) error {
		if err := a.newConversationLimit(w, actor.User); err != nil {
			return err
		}
		c := &parley.Conversation{ID: newID(), Kind: parley.ConversationGroup, Title: title, CreatedBy: actor.User.ID,
			CreatedAt: w.now, InvitePolicy: in.InvitePolicy, LastActivityAt: w.now, MemberCount: 1}
		if err := w.CreateConversation(c); err != nil {
			return err
		}
		me := &parley.Member{ConversationID: c.ID, UserID: actor.User.ID, Role: parley.RoleOwner, Status: parley.StatusActive,
			Folder: parley.FolderInbox, JoinedAt: w.now, UpdatedAt: w.now, JoinedPos: w.Position()}
		if err := w.PutMember(me); err != nil {
			return err
		}
		if err := w.event(&parley.Event{Type: parley.EventConversationCreated, ConversationID: c.ID, ActorID: actor.User.ID}); err != nil {
			return err
		}
		if _, err := systemMessage(w, c, actor.User.ID, map[string]any{"action": "group_created", "title": title}); err != nil {
			return err
		}
		var err error
		if results, err = a.addMembers(w, actor, c, in.Members); err != nil {
			return err
		}
		group = c
		view, err = conversationView(w, actor.User.ID, c, me, true)
		return err
	})
	if err == nil {
		a.relist(ctx, group)
	}
	return view, results, err
}

// AddMembers adds (or invites) handles to a group the actor may add to.
func (a *App) AddMembers(ctx context.Context, actor *Actor, convID string, handles []string) ([]AddResult, error) {
	if len(handles) == 0 {
		return nil, parley.Invalid("members", "name at least one member")
	}
	if len(handles) > a.cfg.MaxGroupMembers {
		return nil, parley.Errorf(parley.EGroupFull, "a group has at most %d members", a.cfg.MaxGroupMembers)
	}
	if len(handles) > MaxAddPerRequest {
		return nil, parley.Invalid("members", "add at most %d members per request", MaxAddPerRequest)
	}
	var results []AddResult
	var group *parley.Conversation
	err := a.update(ctx, func(w *writer) error {
		c, me, err := activeMembership(w, convID, actor.User.ID)
		if err != nil {
			return err
		}
		if c.Kind != parley.ConversationGroup {
			return parley.Errorf(parley.EConflict, "members can only be added to groups")
		}
		if c.InvitePolicy == InviteAdmins && me.Role == parley.RoleMember {
			return parley.Errorf(parley.EForbidden, "only admins may add members to this group")
		}
		group = c
		results, err = a.addMembers(w, actor, c, handles)
		return err
	})
	if err == nil {
		a.relist(ctx, group)
	}
	return results, err
}

// addMembers applies RouteGroupAdd to each handle. The group limit counts
// active and invited members.
func (a *App) addMembers(w *writer, actor *Actor, c *parley.Conversation, handles []string) ([]AddResult, error) {
	results := make([]AddResult, 0, len(handles))
	seen := map[string]bool{}
	for _, h := range handles {
		res := AddResult{Handle: h}
		u, err := userByHandle(w, h)
		switch {
		case parley.IsNotFound(err):
			res.Result, res.Code = "refused", parley.ENotFound
			results = append(results, res)
			continue
		case err != nil:
			return nil, err
		}
		res.Handle = u.Handle
		if seen[u.ID] || u.ID == actor.User.ID {
			res.Result = "already_member"
			results = append(results, res)
			continue
		}
		seen[u.ID] = true
		existing, err := w.Member(c.ID, u.ID)
		if err != nil && !parley.IsNotFound(err) {
			return nil, err
		}
		if existing != nil && (existing.Status == parley.StatusActive || existing.Status == parley.StatusPending) {
			res.Result = "already_member"
			results = append(results, res)
			continue
		}
		ct, err := contact(w, actor.User, u)
		if err != nil {
			return nil, err
		}
		route := RouteGroupAdd(ct)
		if route == RouteRefused {
			res.Result, res.Code = "refused", parley.EDMNotAllowed
			results = append(results, res)
			continue
		}
		if c.MemberCount >= a.cfg.MaxGroupMembers {
			return nil, parley.Errorf(parley.EGroupFull, "a group has at most %d members", a.cfg.MaxGroupMembers)
		}
		action := "member_added"
		m := &parley.Member{ConversationID: c.ID, UserID: u.ID, Role: parley.RoleMember, Status: parley.StatusActive,
			Folder: parley.FolderInbox, InvitedBy: actor.User.ID, JoinedSeq: c.LastSeq, JoinedAt: w.now, UpdatedAt: w.now,
			JoinedPos: w.Position()}
		if route == RouteRequest {
			m.Status, m.Folder, action = parley.StatusPending, parley.FolderRequests, "member_invited"
			m.LeftSeq = c.LastSeq + 1 // the preview ends with the invite itself
		}
		if err := w.PutMember(m); err != nil {
			return nil, err
		}
		if route == RouteRequest {
			// An invite from a stranger is a request like a direct one:
			// scored from the inviter's signals, the group's title and
			// what the inviter wrote in it, and the same title sent to
			// many strangers counts as repeated text.
			if _, err := a.scoreRequest(w, c, m, actor.User, c.Title, nil); err != nil {
				return nil, err
			}
		}
		c.MemberCount++
		if err := w.UpdateConversation(c); err != nil {
			return nil, err
		}
		if _, err := systemMessage(w, c, actor.User.ID, map[string]any{"action": action, "user": u.ID}); err != nil {
			return nil, err
		}
		evType := parley.EventMemberJoined
		if route == RouteRequest {
			evType = parley.EventMemberInvited
		}
		if err := w.event(&parley.Event{Type: evType, ConversationID: c.ID, ActorID: actor.User.ID, Data: mustJSON(map[string]any{"user": u.ID})}); err != nil {
			return nil, err
		}
		res.Result = "added"
		if route == RouteRequest {
			res.Result = "invited"
		}
		results = append(results, res)
	}
	return results, nil
}

// RemoveMember removes handle from a group. Owners remove anyone; admins
// remove members only.
func (a *App) RemoveMember(ctx context.Context, actor *Actor, convID, handle string) error {
	var group *parley.Conversation
	err := a.update(ctx, func(w *writer) error {
		c, me, err := activeMembership(w, convID, actor.User.ID)
		if err != nil {
			return err
		}
		group = c
		if c.Kind != parley.ConversationGroup {
			return parley.Errorf(parley.EConflict, "members can only be removed from groups")
		}
		u, err := userByHandle(w, handle)
		if err != nil {
			return err
		}
		if u.ID == actor.User.ID {
			return parley.Invalid("handle", "use leave to leave a group")
		}
		target, err := w.Member(c.ID, u.ID)
		if parley.IsNotFound(err) || (err == nil && target.Status != parley.StatusActive && target.Status != parley.StatusPending) {
			return parley.Errorf(parley.ENotFound, "not a member")
		} else if err != nil {
			return err
		}
		if !outranks(me.Role, target.Role) {
			return parley.Errorf(parley.EForbidden, "you may not remove this member")
		}
		return departMember(w, c, target, parley.StatusRemoved, actor.User.ID)
	})
	if err == nil {
		a.relist(ctx, group)
	}
	return err
}

// outranks reports whether a member with role a may remove or demote one with role b.
func outranks(a, b parley.Role) bool {
	rank := map[parley.Role]int{parley.RoleMember: 0, parley.RoleAdmin: 1, parley.RoleOwner: 2}
	return rank[a] > rank[b] && rank[a] >= 1
}

// departMember marks a member left or removed; they keep history up to the
// system message that records it.
func departMember(w *writer, c *parley.Conversation, m *parley.Member, st parley.MemberStatus, actorID string) error {
	action, evType := "member_left", parley.EventMemberLeft
	if st == parley.StatusRemoved {
		action, evType = "member_removed", parley.EventMemberRemoved
	}
	c.MemberCount--
	if err := w.UpdateConversation(c); err != nil {
		return err
	}
	// The group's title and disappearing timer go with it: the departed
	// member's view keeps them as they were then (conversationViewBase),
	// not later changes.
	msg, err := systemMessage(w, c, actorID, map[string]any{"action": action, "user": m.UserID, "title": c.Title,
		"disappear_after": int64(c.DisappearAfter / time.Second)})
	if err != nil {
		return err
	}
	if err := w.event(&parley.Event{Type: evType, ConversationID: c.ID, ActorID: actorID, Data: mustJSON(map[string]any{"user": m.UserID})}); err != nil {
		return err
	}
	// The member sees their own departure, and nothing after it. An
	// invitee who never accepted keeps the preview they had: the invite
	// itself, nothing posted while the invite waited.
	if m.Status == parley.StatusPending && m.LeftSeq > 0 {
		m.LeftSeq = min(m.LeftSeq, msg.Seq)
	} else {
		m.LeftSeq = msg.Seq
	}
	m.Status, m.LeftPos, m.UpdatedAt = st, w.Position(), w.now
	return w.PutMember(m)
}

// Leave takes the actor out of a group. An owner who leaves hands the group
// to the longest-standing admin, or else the longest-standing member.
func (a *App) Leave(ctx context.Context, actor *Actor, convID string) error {
	var group *parley.Conversation
	err := a.update(ctx, func(w *writer) error {
		c, me, err := membership(w, convID, actor.User.ID)
		if err != nil {
			return err
		}
		group = c
		if c.Kind != parley.ConversationGroup {
			return parley.Errorf(parley.EConflict, "you can archive a direct conversation, not leave it")
		}
		if me.Status != parley.StatusActive {
			return parley.Errorf(parley.EConflict, "you are not an active member")
		}
		if me.Role == parley.RoleOwner {
			if err := handOver(w, c, me, actor.User.ID); err != nil {
				return err
			}
		}
		return departMember(w, c, me, parley.StatusLeft, actor.User.ID)
	})
	if err == nil {
		a.relist(ctx, group)
	}
	return err
}

// handOver makes the longest-standing admin of a group, or else its
// longest-standing member, the owner in place of me, who becomes a member.
func handOver(w *writer, c *parley.Conversation, me *parley.Member, actorID string) error {
	ms, err := w.Members(c.ID)
	if err != nil {
		return err
	}
	var heir *parley.Member
	for _, m := range ms {
		if m.UserID == me.UserID || m.Status != parley.StatusActive {
			continue
		}
		if heir == nil || (m.Role == parley.RoleAdmin && heir.Role != parley.RoleAdmin) {
			heir = m
		}
	}
	if heir != nil {
		if err := setRole(w, c, heir, parley.RoleOwner, actorID); err != nil {
			return err
		}
	}
	me.Role = parley.RoleMember
	return nil
}

func setRole(w *writer, c *parley.Conversation, m *parley.Member, role parley.Role, actorID string) error {
	m.Role, m.UpdatedAt = role, w.now
	if err := w.PutMember(m); err != nil {
		return err
	}
	return w.event(&parley.Event{Type: parley.EventMemberRole, ConversationID: c.ID, ActorID: actorID, Data: mustJSON(map[string]any{"user": m.UserID, "role": role})})
}

// SetRole changes a member's role. Only the owner may; making someone else
// owner hands the group over and makes the old owner an admin.
func (a *App) SetRole(ctx context.Context, actor *Actor, convID, handle string, role parley.Role) error {
	if role != parley.RoleOwner && role != parley.RoleAdmin && role != parley.RoleMember {
		return parley.Invalid("role", "role is owner, admin or member")
	}
	return a.update(ctx, func(w *writer) error {
		c, me, err := activeMembership(w, convID, actor.User.ID)
		if err != nil {
			return err
		}
		if c.Kind != parley.ConversationGroup {
			return parley.Errorf(parley.EConflict, "roles exist in groups only")
		}
		if me.Role != parley.RoleOwner {
			return parley.Errorf(parley.EForbidden, "only the owner may change roles")
		}
		u, err := userByHandle(w, handle)
		if err != nil {
			return err
		}
		if u.ID == me.UserID {
			return parley.Invalid("handle", "hand the group to someone else to stop being its owner")
		}
		target, err := w.Member(c.ID, u.ID)
		if parley.IsNotFound(err) || (err == nil && target.Status != parley.StatusActive) {
			return parley.Errorf(parley.ENotFound, "not an active member")
		} else if err != nil {
			return err
		}
		if role == parley.RoleOwner {
			if err := setRole(w, c, me, parley.RoleAdmin, me.UserID); err != nil {
				return err
			}
		}
		return setRole(w, c, target, role, me.UserID)
	})
}

// GroupUpdate changes a group's settings; nil leaves a field as it is.
type GroupUpdate struct {
	Title        *string
	InvitePolicy *string
}

// UpdateGroup changes a group's title or invite policy (owner and admins).
func (a *App) UpdateGroup(ctx context.Context, actor *Actor, convID string, g GroupUpdate) (*ConversationView, error) {
	var title string
	if g.Title != nil {
		var err error
		if title, err = cleanText("title", *g.Title, 100, false); err != nil {
			return nil, err
		}
	}
	if g.InvitePolicy != nil && *g.InvitePolicy != InviteAdmins && *g.InvitePolicy != InviteMembers {
		return nil, parley.Invalid("invite_policy", "invite_policy is admins or members")
	}
	var view *ConversationView
	err := a.update(ctx, func(w *writer) error {
		c, me, err := activeMembership(w, convID, actor.User.ID)
		if err != nil {
			return err
		}
		if c.Kind != parley.ConversationGroup {
			return parley.Errorf(parley.EConflict, "only groups have settings")
		}
		if me.Role == parley.RoleMember {
			return parley.Errorf(parley.EForbidden, "only admins may change the group")
		}
		data := map[string]any{"action": "group_updated"}
		if g.Title != nil {
			c.Title = title
			data["title"] = title
		}
		if g.InvitePolicy != nil {
			c.InvitePolicy = *g.InvitePolicy
			data["invite_policy"] = c.InvitePolicy
		}
		if err := w.UpdateConversation(c); err != nil {
			return err
		}
		if _, err := systemMessage(w, c, actor.User.ID, data); err != nil {
			return err
		}
		if err := w.event(&parley.Event{Type: parley.EventConversationUpdated, ConversationID: c.ID, ActorID: actor.User.ID, Data: mustJSON(data)}); err != nil {
			return err
		}
		view, err = conversationView(w, actor.User.ID, c, me, true)
		return err
	})
	return view, err
}
