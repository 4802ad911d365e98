package app

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley"
)

// Business inbox events. They are addressed to the business (Event.UserID)
// and woken on its agents' devices; customers never receive them.
const (
	EventInboxUpdated    = "inbox.updated"  // status, assignment, priority, labels, attributes
	EventNoteCreated     = "note.created"   // a private note (Data is the note)
	EventAgentsChanged   = "inbox.agents"   // the business's team changed
	EventAgentRemoved    = "inbox.removed"  // to the removed agent: the business is gone from their app
	EventInboxPresence   = "inbox.presence" // ephemeral: an agent views or types in a conversation
	EventSettingsChanged = "inbox.settings" // the business's inbox settings changed
)

// BusinessSettings are one business's inbox rules.
type BusinessSettings struct {
	// ShowAgentNames shows customers the first name of the agent who wrote
	// each reply.
	ShowAgentNames bool `json:"show_agent_names"`
	// OnlyAssigneeReplies refuses replies from agents other than the
	// assignee (admins excepted).
	OnlyAssigneeReplies bool `json:"only_assignee_replies"`
	// AutoAssign is how conversations without a team are assigned: ""
	// (by hand), "round_robin" or "least_load".
	AutoAssign string `json:"auto_assign"`
	// DefaultTeam receives new conversations.
	DefaultTeam string `json:"default_team,omitempty"`
	// MaxOpenPerAgent caps automatic assignment per agent (0: no cap).
	MaxOpenPerAgent int `json:"max_open_per_agent"`
	// ReassignAfterMinutes moves a conversation to another available agent
	// when its assignee has not answered the customer for that long (0: never).
	ReassignAfterMinutes int `json:"reassign_after_minutes"`
	// Hours are the default business hours (teams may have their own).
	Hours *Hours `json:"hours,omitempty"`
	// AwayMessage goes to a customer who writes outside business hours,
	// once per closed period.
	AwayMessage string `json:"away_message,omitempty"`
	// SLA holds the targets per priority.
	SLA map[string]SLATarget `json:"sla,omitempty"`
	// CSAT asks the customer for a 1–5 rating when a conversation is resolved.
	CSAT bool `json:"csat"`
	// CSATQuestion is the text of that request.
	CSATQuestion string `json:"csat_question,omitempty"`
	// Views are saved views the whole team sees: named inbox filters.
	Views []SavedView `json:"views,omitempty"`
	// Welcome greets a customer's first message (automated).
	Welcome string `json:"welcome,omitempty"`
	// IceBreakers are up to 4 starter questions customers see before
	// writing (on the business's profile).
	IceBreakers []string `json:"ice_breakers,omitempty"`
	// Rules are the automation rules, in order.
	Rules []Rule `json:"rules,omitempty"`
	// ShowSensitive shows the team customers' card numbers, IBANs,
	// national ids, secrets and passwords unmasked (default: masked).
	ShowSensitive bool `json:"show_sensitive,omitempty"`
	// ShowPhoneNumbers shows the team customers' phone numbers unmasked
	// (default: masked) — for a team that calls customers back.
	ShowPhoneNumbers bool `json:"show_phone_numbers,omitempty"`
	// Messaging is the messaging policy: window, frequency cap, quiet
	// hours, STOP keywords (policy.go).
	Messaging MessagingPolicy `json:"messaging"`
	// RequireTwoFactor lets only team members with two-factor
	// authentication on act as the business (two_factor_required).
	RequireTwoFactor bool `json:"require_two_factor,omitempty"`
}

// SavedView is a named inbox filter, as InboxQuery takes it.
type SavedView struct {
	Name     string `json:"name"`
	View     string `json:"view,omitempty"`
	Status   string `json:"status,omitempty"`
	Team     string `json:"team,omitempty"`
	Label    string `json:"label,omitempty"`
	Assignee string `json:"assignee,omitempty"`
}

// maxSavedViews caps a business's saved views.
const maxSavedViews = 50

// SLATarget is a first-response and a resolution target in minutes (0: none).
type SLATarget struct {
	FirstResponseMinutes int `json:"first_response_minutes"`
	ResolutionMinutes    int `json:"resolution_minutes"`
}

// Priorities of inbox items, lowest first.
var Priorities = []string{"low", "normal", "high", "urgent"}

// Assignment modes.
const (
	AssignManual     = ""
	AssignRoundRobin = "round_robin"
	AssignLeastLoad  = "least_load"
)

const defaultCSATQuestion = "How would you rate our help? Reply with a number from 1 (poor) to 5 (excellent)."

func validAssign(s string) bool {
	return s == AssignManual || s == AssignRoundRobin || s == AssignLeastLoad
}

// validate checks the settings and compiles their hours.
func (s *BusinessSettings) validate() error {
	if !validAssign(s.AutoAssign) {
		return parley.Invalid("auto_assign", "auto_assign is \"\", round_robin or least_load")
	}
	if s.MaxOpenPerAgent < 0 || s.MaxOpenPerAgent > 10000 {
		return parley.Invalid("max_open_per_agent", "max_open_per_agent is between 0 and 10000")
	}
	if s.ReassignAfterMinutes < 0 || s.ReassignAfterMinutes > 7*24*60 {
		return parley.Invalid("reassign_after_minutes", "reassign_after_minutes is between 0 and 10080")
	}
	if err := s.Hours.compile("hours"); err != nil {
		return err
	}
	if len(s.AwayMessage) > 2000 || len(s.CSATQuestion) > 500 {
		return parley.Invalid("away_message", "away_message has at most 2000 and csat_question at most 500 characters")
	}
	if err := s.validateAutomation(); err != nil {
		return err
	}
	if err := s.Messaging.validate(); err != nil {
		return err
	}
	if len(s.Views) > maxSavedViews {
		return parley.Invalid("views", "at most %d saved views", maxSavedViews)
	}
	names := map[string]bool{}
	for i, v := range s.Views {
		name, err := cleanText("views", v.Name, 60, false)
		if err != nil {
			return err
		}
		if name = strings.TrimSpace(name); name == "" || names[strings.ToLower(name)] {
			return parley.Invalid("views", "saved views need distinct names")
		}
		names[strings.ToLower(name)] = true
		s.Views[i].Name = name
		if !slices.Contains([]string{"", "all", "mine", "unassigned", "overdue", "team"}, v.View) {
			return parley.Invalid("views", "view %q: view is mine, unassigned, team, overdue or all", name)
		}
		if v.Status != "" && !parley.InboxStatus(v.Status).Valid() {
			return parley.Invalid("views", "view %q: status is open, pending, snoozed or resolved", name)
		}
		if v.View == "team" && v.Team == "" {
			return parley.Invalid("views", "view %q: a team view names its team", name)
		}
		if len(v.Team) > 64 || len(v.Label) > maxLabelLen || len(v.Assignee) > 64 {
			return parley.Invalid("views", "view %q: team, label or assignee too long", name)
		}
	}
	for p, t := range s.SLA {
		if !slices.Contains(Priorities, p) {
			return parley.Invalid("sla", "sla is keyed by priority: low, normal, high, urgent")
		}
		if t.FirstResponseMinutes < 0 || t.ResolutionMinutes < 0 {
			return parley.Invalid("sla", "sla targets are minutes, 0 or more")
		}
	}
	return nil
}

func loadSettings(tx parley.Tx, businessID string) (*BusinessSettings, error) {
	raw, err := tx.BusinessSettings(businessID)
	if err != nil {
		return nil, err
	}
	s := &BusinessSettings{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, s); err != nil {
			return nil, err
		}
		if err := s.Hours.compile("hours"); err != nil {
			s.Hours = nil // stored before a zone vanished: treat as always open
		}
	}
	return s, nil
}

// BusinessMembership is one business the user works for.
type BusinessMembership struct {
	Business *UserSummary `json:"business"`
	Role     string       `json:"role"`
	Away     bool         `json:"away"`
}

// BusinessActor is an actor working in a business's inbox: Actor.User is
// the business, Agent the person (nil when the business account itself
// acts).
type BusinessActor struct {
	*Actor
	Business *parley.User
	Agent    *parley.User
	Role     parley.AgentRole
}

// agentID is who acts: the agent, or the business itself.
func (b *BusinessActor) agentID() string {
	if b.Agent != nil {
		return b.Agent.ID
	}
	return b.Business.ID
}

// ActAs checks that actor may work in the inbox of the business with that
// handle (it is the business, or one of its active agents) and returns
// the actor acting for it.
func (a *App) ActAs(ctx context.Context, actor *Actor, handle string) (*BusinessActor, error) {
	var ba *BusinessActor
	err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		ba, err = actAs(tx, actor, handle)
		return err
	})
	return ba, err
}

func actAs(tx parley.Tx, actor *Actor, handle string) (*BusinessActor, error) {
	notFound := parley.Errorf(parley.ENotFound, "business not found")
	b, err := userByHandle(tx, handle)
	if parley.IsNotFound(err) || (err == nil && b.Kind != parley.KindBusiness) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	if b.ID == actor.User.ID {
		return &BusinessActor{Actor: &Actor{User: b, SessionID: actor.SessionID, Scopes: actor.Scopes, ExpiresAt: actor.ExpiresAt}, Business: b, Role: parley.AgentRoleAdmin}, nil
	}
	ag, err := tx.Agent(b.ID, actor.User.ID)
	if parley.IsNotFound(err) || (err == nil && !ag.Active) {
		return nil, notFound // outsiders may not learn who has an inbox here
	} else if err != nil {
		return nil, err
	}
	if err := requireTwoFactor(tx, b, actor.User); err != nil {
		return nil, err
	}
	return &BusinessActor{Actor: &Actor{User: b, SessionID: actor.SessionID, Agent: actor.User, Scopes: actor.Scopes, ExpiresAt: actor.ExpiresAt},
		Business: b, Agent: actor.User, Role: ag.Role}, nil
}

func (b *BusinessActor) requireAdmin() error {
	if b.Role != parley.AgentRoleAdmin {
		return parley.Errorf(parley.EForbidden, "only admins of the business may do this")
	}
	return nil
}

// MyBusinesses lists the businesses the actor works for (their own
// business account included).
func (a *App) MyBusinesses(ctx context.Context, actor *Actor) ([]BusinessMembership, error) {
	out := []BusinessMembership{}
	err := a.view(ctx, func(tx parley.Tx) error {
		if actor.User.Kind == parley.KindBusiness {
			out = append(out, BusinessMembership{Business: summarize(actor.User), Role: string(parley.AgentRoleAdmin)})
		}
		ags, err := tx.AgentOf(actor.User.ID)
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(ags))
		for _, ag := range ags {
			ids = append(ids, ag.BusinessID)
		}
		users, err := tx.UsersByIDs(ids)
		if err != nil {
			return err
		}
		for _, ag := range ags {
			if u := users[ag.BusinessID]; u != nil {
				out = append(out, BusinessMembership{Business: summarize(u), Role: string(ag.Role), Away: ag.Away})
			}
		}
		return nil
	})
	return out, err
}

// AgentView is a team member as the team sees them.
type AgentView struct {
	User      *UserSummary `json:"user"`
	Role      string       `json:"role"`
	Away      bool         `json:"away"`
	Online    bool         `json:"online"`
	MaxOpen   int          `json:"max_open"`
	Open      int          `json:"open"`
	Teams     []string     `json:"teams"`
	CreatedAt time.Time    `json:"created_at"`
}

// Agents lists the business's active team members with their load.
func (a *App) Agents(ctx context.Context, ba *BusinessActor) ([]*AgentView, error) {
	out := []*AgentView{}
	err := a.view(ctx, func(tx parley.Tx) error {
		ags, err := tx.Agents(ba.Business.ID)
		if err != nil {
			return err
		}
		loads, err := tx.OpenLoads(ba.Business.ID)
		if err != nil {
			return err
		}
		teams, err := tx.Teams(ba.Business.ID)
		if err != nil {
			return err
		}
		teamsOf := map[string][]string{}
		for _, t := range teams {
			ms, err := tx.TeamMembers(t.ID)
			if err != nil {
				return err
			}
			for _, u := range ms {
				teamsOf[u] = append(teamsOf[u], t.ID)
			}
		}
		var ids []string
		for _, ag := range ags {
			ids = append(ids, ag.UserID)
		}
		users, err := tx.UsersByIDs(ids)
		if err != nil {
			return err
		}
		for _, ag := range ags {
			if !ag.Active {
				continue
			}
			out = append(out, &AgentView{User: summarize(users[ag.UserID]), Role: string(ag.Role), Away: ag.Away,
				Online: a.isOnline(ag.UserID), MaxOpen: ag.MaxOpen, Open: loads[ag.UserID],
				Teams: append([]string{}, teamsOf[ag.UserID]...), CreatedAt: ag.CreatedAt})
		}
		return nil
	})
	return out, err
}

// AgentChange adds a team member or changes one; nil fields stay.
type AgentChange struct {
	Role    *string `json:"role"`
	Away    *bool   `json:"away"`
	MaxOpen *int    `json:"max_open"`
}

// PutAgent adds the user with handle to the business's team, or changes
// their role, availability or cap. Admins manage everyone; an agent may
// only set their own availability.
func (a *App) PutAgent(ctx context.Context, ba *BusinessActor, handle string, ch AgentChange) (*AgentView, error) {
	if ch.Role != nil && !parley.AgentRole(*ch.Role).Valid() {
		return nil, parley.Invalid("role", "role is agent or admin")
	}
	if ch.MaxOpen != nil && (*ch.MaxOpen < 0 || *ch.MaxOpen > 10000) {
		return nil, parley.Invalid("max_open", "max_open is between 0 and 10000")
	}
	var view *AgentView
	err := a.update(ctx, func(w *writer) error {
		u, err := userByHandle(w, handle)
		if err != nil {
			return err
		}
		self := u.ID == ba.agentID()
		if ba.Role != parley.AgentRoleAdmin && (!self || ch.Role != nil || ch.MaxOpen != nil) {
			return parley.Errorf(parley.EForbidden, "only admins of the business may do this")
		}
		if u.ID == ba.Business.ID || u.Kind != parley.KindPerson {
			return parley.Invalid("handle", "team members are people's accounts")
		}
		ag, err := w.Agent(ba.Business.ID, u.ID)
		if parley.IsNotFound(err) {
			ag = &parley.Agent{BusinessID: ba.Business.ID, UserID: u.ID, Role: parley.AgentRoleAgent, CreatedAt: w.now}
		} else if err != nil {
			return err
		}
		added := !ag.Active
		if added && ba.Role != parley.AgentRoleAdmin {
			return parley.Errorf(parley.EForbidden, "only admins of the business may add team members")
		}
		before := *ag
		if added {
			// Someone re-added starts afresh, not with the role they had.
			ag.Role, ag.Away, ag.MaxOpen = parley.AgentRoleAgent, false, 0
		}
		ag.Active = true
		if ch.Role != nil {
			ag.Role = parley.AgentRole(*ch.Role)
		}
		if ch.Away != nil {
			ag.Away = *ch.Away
		}
		if ch.MaxOpen != nil {
			ag.MaxOpen = *ch.MaxOpen
		}
		ag.UpdatedAt = w.now
		if err := w.PutAgent(ag); err != nil {
			return err
		}
		if added || before.Role != ag.Role {
			if err := auditRow(w, ba.Business.ID, ba.agentID(), "", parley.AuditMember, u.ID, "", 0, map[string]any{"role": ag.Role, "added": added}); err != nil {
				return err
			}
			// The server-wide log too: team membership grants access to
			// customers' conversations.
			if err := a.audit(w, AuditEntry{ActorID: ba.agentID(), Action: AuditBusinessMember, TargetType: "business", TargetID: ba.Business.ID,
				Details: map[string]string{"user_id": u.ID, "handle": u.Handle, "role": string(ag.Role), "added": strconv.FormatBool(added)}}); err != nil {
				return err
			}
		}
		if err := agentsChanged(w, ba.Business.ID, ba.agentID()); err != nil {
			return err
		}
		view = &AgentView{User: summarize(u)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The same view as the team list, load and teams included.
	all, err := a.Agents(ctx, ba)
	if err != nil {
		return nil, err
	}
	for _, v := range all {
		if v.User != nil && v.User.ID == view.User.ID {
			return v, nil
		}
	}
	return nil, parley.Errorf(parley.ENotFound, "not a member of the team")
}

// RemoveAgent takes a user off the business's team: from the commit on
// they see none of its conversations, and their open streams stop getting
// its events at once. Their assigned conversations become unassigned.
func (a *App) RemoveAgent(ctx context.Context, ba *BusinessActor, handle string) error {
	return a.update(ctx, func(w *writer) error {
		u, err := userByHandle(w, handle)
		if err != nil {
			return err
		}
		if u.ID != ba.agentID() {
			if err := ba.requireAdmin(); err != nil {
				return err
			}
		}
		ag, err := w.Agent(ba.Business.ID, u.ID)
		if parley.IsNotFound(err) || (err == nil && !ag.Active) {
			return parley.Errorf(parley.ENotFound, "not a member of the team")
		} else if err != nil {
			return err
		}
		ag.Active, ag.UpdatedAt = false, w.now
		if err := w.PutAgent(ag); err != nil {
			return err
		}
		teams, err := w.Teams(ba.Business.ID)
		if err != nil {
			return err
		}
		for _, t := range teams {
			if _, err := w.SetTeamMember(t.ID, u.ID, false); err != nil {
				return err
			}
		}
		// Hand their conversations back to the queue, resolved ones too:
		// one reopened later must not wait for someone who is gone.
		for {
			items, err := w.InboxItems(parley.InboxFilter{BusinessID: ba.Business.ID, AssigneeID: u.ID, Limit: 500})
			if err != nil {
				return err
			}
			for _, it := range items {
				if err := assign(w, ba, it, "", it.TeamID, "agent_removed"); err != nil {
					return err
				}
			}
			if len(items) < 500 {
				break
			}
		}
		if err := auditRow(w, ba.Business.ID, ba.agentID(), "", parley.AuditMember, u.ID, "", 0, map[string]any{"removed": true}); err != nil {
			return err
		}
		if err := a.audit(w, AuditEntry{ActorID: ba.agentID(), Action: AuditBusinessMemberRemove, TargetType: "business", TargetID: ba.Business.ID,
			Details: map[string]string{"user_id": u.ID, "handle": u.Handle}}); err != nil {
			return err
		}
		if err := w.event(&parley.Event{Type: EventAgentRemoved, UserID: u.ID, ActorID: ba.agentID(),
			Data: mustJSON(map[string]any{"business": ba.Business.ID})}); err != nil {
			return err
		}
		return agentsChanged(w, ba.Business.ID, ba.agentID())
	})
}

// agentsChanged records that a business's team changed: its members'
// devices refresh, and every node forgets the audiences it cached.
func agentsChanged(w *writer, businessID, actorID string) error {
	return businessEvent(w, &parley.Event{Type: EventAgentsChanged, ActorID: actorID}, businessID)
}

// businessEvent stores e addressed to the business and wakes its active
// agents' devices too.
func businessEvent(w *writer, e *parley.Event, businessID string) error {
	e.UserID = businessID
	ags, err := w.AgentOfBusiness(businessID)
	if err != nil {
		return err
	}
	e.Audience = ags
	return w.event(e)
}

// AgentOfBusiness lists the user ids of a business's active agents.
func (w *writer) AgentOfBusiness(businessID string) ([]string, error) {
	return activeAgentIDs(w, businessID)
}

func activeAgentIDs(tx parley.Tx, businessID string) ([]string, error) {
	ags, err := tx.Agents(businessID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, ag := range ags {
		if ag.Active {
			ids = append(ids, ag.UserID)
		}
	}
	return ids, nil
}

// agentMembership returns the business's membership of a customer
// conversation when userID is an active agent of that business.
func agentMembership(tx parley.Tx, convID, userID string) (*parley.Member, error) {
	it, err := tx.InboxItem(convID)
	if err != nil {
		return nil, err
	}
	if !agentActive(tx, it.BusinessID, userID) {
		return nil, parley.Errorf(parley.ENotFound, "conversation not found")
	}
	_, me, err := membership(tx, convID, it.BusinessID)
	return me, err
}

// Settings returns the business's inbox settings.
func (a *App) Settings(ctx context.Context, ba *BusinessActor) (*BusinessSettings, error) {
	var s *BusinessSettings
	err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		s, err = loadSettings(tx, ba.Business.ID)
		return err
	})
	return s, err
}

// PutSettings replaces the business's inbox settings (admins only).
func (a *App) PutSettings(ctx context.Context, ba *BusinessActor, s *BusinessSettings) (*BusinessSettings, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	s.AwayMessage = strings.TrimSpace(s.AwayMessage)
	s.CSATQuestion = strings.TrimSpace(s.CSATQuestion)
	err := a.update(ctx, func(w *writer) error {
		if s.DefaultTeam != "" {
			if _, err := w.Team(ba.Business.ID, s.DefaultTeam); parley.IsNotFound(err) {
				return parley.Invalid("default_team", "no such team")
			} else if err != nil {
				return err
			}
		}
		if err := selfHasTwoFactor(w, ba, s); err != nil {
			return err
		}
		if err := w.PutBusinessSettings(ba.Business.ID, mustJSON(s), w.now); err != nil {
			return err
		}
		if err := a.audit(w, AuditEntry{ActorID: ba.agentID(), Action: AuditBusinessSettings, TargetType: "business", TargetID: ba.Business.ID,
			Details: map[string]string{"settings": string(mustJSON(s))}}); err != nil {
			return err
		}
		// The team's apps refresh saved views, rules and hours.
		return businessEvent(w, &parley.Event{Type: EventSettingsChanged, ActorID: ba.agentID()}, ba.Business.ID)
	})
	return s, err
}

// TeamView is a team with its members.
type TeamView struct {
	ID      string          `json:"id"`
	Name    string          `json:"name"`
	Assign  string          `json:"assign"`
	Hours   *Hours          `json:"hours,omitempty"`
	Members []*UserSummary  `json:"members"`
	Created time.Time       `json:"created_at"`
	raw     json.RawMessage // hours as stored
}

// TeamInput creates or changes a team; nil fields stay.
type TeamInput struct {
	Name   *string `json:"name"`
	Assign *string `json:"assign"`
	Hours  *Hours  `json:"hours"`
	// ClearHours removes the team's own hours (the business's apply).
	ClearHours bool `json:"clear_hours"`
}

func teamView(tx parley.Tx, t *parley.Team) (*TeamView, error) {
	ids, err := tx.TeamMembers(t.ID)
	if err != nil {
		return nil, err
	}
	users, err := tx.UsersByIDs(ids)
	if err != nil {
		return nil, err
	}
	v := &TeamView{ID: t.ID, Name: t.Name, Assign: t.Assign, Members: []*UserSummary{}, Created: t.CreatedAt, raw: t.Hours}
	for _, id := range ids {
		if u := users[id]; u != nil {
			v.Members = append(v.Members, summarize(u))
		}
	}
	if len(t.Hours) > 0 {
		h := &Hours{}
		if json.Unmarshal(t.Hours, h) == nil {
			v.Hours = h
		}
	}
	return v, nil
}

// Teams lists the business's teams.
func (a *App) Teams(ctx context.Context, ba *BusinessActor) ([]*TeamView, error) {
	out := []*TeamView{}
	err := a.view(ctx, func(tx parley.Tx) error {
		ts, err := tx.Teams(ba.Business.ID)
		if err != nil {
			return err
		}
		for _, t := range ts {
			v, err := teamView(tx, t)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// SaveTeam creates (id "") or changes a team (admins only).
func (a *App) SaveTeam(ctx context.Context, ba *BusinessActor, id string, in TeamInput) (*TeamView, error) {
	if err := ba.requireAdmin(); err != nil {
		return nil, err
	}
	var name string
	if in.Name != nil {
		var err error
		if name, err = cleanText("name", *in.Name, 80, false); err != nil {
			return nil, err
		}
		if strings.TrimSpace(name) == "" {
			return nil, parley.Invalid("name", "a team needs a name")
		}
	} else if id == "" {
		return nil, parley.Invalid("name", "a team needs a name")
	}
	if in.Assign != nil && !validAssign(*in.Assign) {
		return nil, parley.Invalid("assign", "assign is \"\", round_robin or least_load")
	}
	if err := in.Hours.compile("hours"); err != nil {
		return nil, err
	}
	var view *TeamView
	err := a.update(ctx, func(w *writer) error {
		t := &parley.Team{ID: newID(), BusinessID: ba.Business.ID, CreatedAt: w.now}
		if id != "" {
			var err error
			if t, err = w.Team(ba.Business.ID, id); err != nil {
				return err
			}
		}
		if in.Name != nil {
			t.Name = name
		}
		if in.Assign != nil {
			t.Assign = *in.Assign
		}
		if in.Hours != nil {
			t.Hours = mustJSON(in.Hours)
		} else if in.ClearHours {
			t.Hours = nil
		}
		t.UpdatedAt = w.now
		var err error
		if id == "" {
			err = w.CreateTeam(t)
		} else {
			err = w.UpdateTeam(t)
		}
		if parley.ErrorCode(err) == parley.EConflict {
			return parley.Errorf(parley.EConflict, "a team with this name exists")
		} else if err != nil {
			return err
		}
		if err := agentsChanged(w, ba.Business.ID, ba.agentID()); err != nil {
			return err
		}
		view, err = teamView(w, t)
		return err
	})
	return view, err
}

// DeleteTeam deletes a team; its conversations keep their assignee but
// lose the team, and the business no longer routes new ones to it.
func (a *App) DeleteTeam(ctx context.Context, ba *BusinessActor, id string) error {
	if err := ba.requireAdmin(); err != nil {
		return err
	}
	return a.update(ctx, func(w *writer) error {
		if _, err := w.Team(ba.Business.ID, id); err != nil {
			return err
		}
		for {
			items, err := w.InboxItems(parley.InboxFilter{BusinessID: ba.Business.ID, TeamID: id, Limit: 500})
			if err != nil {
				return err
			}
			for _, it := range items {
				it.TeamID, it.UpdatedAt = "", w.now
				if err := w.PutInboxItem(it); err != nil {
					return err
				}
			}
			if len(items) < 500 {
				break
			}
		}
		if err := w.DeleteTeam(ba.Business.ID, id); err != nil {
			return err
		}
		st, err := loadSettings(w, ba.Business.ID)
		if err != nil {
			return err
		}
		if st.DefaultTeam == id {
			st.DefaultTeam = ""
			if err := w.PutBusinessSettings(ba.Business.ID, mustJSON(st), w.now); err != nil {
				return err
			}
		}
		return agentsChanged(w, ba.Business.ID, ba.agentID())
	})
}

// SetTeamMember adds or removes a team member (admins only); the user
// must be an active agent of the business.
func (a *App) SetTeamMember(ctx context.Context, ba *BusinessActor, teamID, handle string, on bool) error {
	if err := ba.requireAdmin(); err != nil {
		return err
	}
	return a.update(ctx, func(w *writer) error {
		if _, err := w.Team(ba.Business.ID, teamID); err != nil {
			return err
		}
		u, err := userByHandle(w, handle)
		if err != nil {
			return err
		}
		if on {
			if ag, err := w.Agent(ba.Business.ID, u.ID); parley.IsNotFound(err) || (err == nil && !ag.Active) {
				return parley.Invalid("handle", "add %s to the business's team first", handle)
			} else if err != nil {
				return err
			}
		}
		changed, err := w.SetTeamMember(teamID, u.ID, on)
		if err != nil || !changed {
			return err
		}
		return agentsChanged(w, ba.Business.ID, ba.agentID())
	})
}

// online tracks which users have a live stream on this node, for
// assignment's availability rule.
type onlineSet struct {
	mu sync.Mutex
	n  map[string]bool
}

func (a *App) setOnline(userID string, on bool) {
	a.online.mu.Lock()
	defer a.online.mu.Unlock()
	if a.online.n == nil {
		a.online.n = map[string]bool{}
	}
	if on {
		a.online.n[userID] = true
	} else {
		delete(a.online.n, userID)
	}
}

func (a *App) isOnline(userID string) bool {
	a.online.mu.Lock()
	here := a.online.n[userID]
	a.online.mu.Unlock()
	if here {
		return true
	}
	if f := a.onlineElsewhere.Load(); f != nil {
		return (*f)(userID)
	}
	return false
}

// SetOnlineElsewhere tells the app how to learn whether a user is online
// on another node (realtime.Hub, from the nodes' heartbeats): a team's
// agents connected to other nodes count as online here.
func (a *App) SetOnlineElsewhere(fn func(userID string) bool) {
	a.onlineElsewhere.Store(&fn)
}

// ValidateSettings checks settings as PutSettings would, compiling their
// business hours, and returns them ready for use.
func ValidateSettings(s *BusinessSettings) (*BusinessSettings, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}
