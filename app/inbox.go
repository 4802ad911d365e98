package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// A customer conversation of a business has an inbox item from its
// creation. Until the customer writes it is dormant (resolved, never
// opened); each customer message after a resolve opens a new cycle, which
// first-response and resolution times, SLAs and reports measure.

// startInboxItem records a new direct conversation between a business and
// someone else; other is the member who is not the creator.
func startInboxItem(w *writer, c *parley.Conversation, creator, other *parley.User) error {
	biz, customer := other, creator
	if other.Kind != parley.KindBusiness {
		if creator.Kind != parley.KindBusiness {
			return nil
		}
		biz, customer = creator, other
	}
	ct, err := w.ContactByUser(biz.ID, customer.ID)
	if parley.IsNotFound(err) {
		ct = &parley.Contact{BusinessID: biz.ID, ID: newID(), UserID: customer.ID, Name: customer.DisplayName, CreatedAt: w.now, UpdatedAt: w.now}
		if ct.Name == "" {
			ct.Name = customer.Handle
		}
		if err := w.PutContact(ct); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	return w.PutInboxItem(&parley.InboxItem{ConversationID: c.ID, BusinessID: biz.ID, ContactID: ct.ID, Status: parley.InboxResolved,
		Priority: "normal", ActivityAt: w.now, UpdatedAt: w.now})
}

// inboxOnSend applies the business inbox rules to a message just written
// into a direct conversation: the only-assignee rule, reply times and SLA
// for business replies; reopening, auto-assignment, the away message and
// CSAT answers for customer messages.
func (a *App) inboxOnSend(w *writer, c *parley.Conversation, m *parley.Message, actor *Actor, sc *sendClass) error {
	if c.Kind != parley.ConversationDirect {
		return nil
	}
	it, err := w.InboxItem(c.ID)
	if parley.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	st, err := loadSettings(w, it.BusinessID)
	if err != nil {
		return err
	}
	if m.SenderID == it.BusinessID {
		if sc == nil {
			sc = &sendClass{}
		}
		if err := a.checkPolicy(w, it, st, actor, sc); err != nil {
			return err
		}
		// A channel conversation: the platform's rules, then the outbox.
		if err := a.channelOnSend(w, m, actor, sc); err != nil {
			return err
		}
		if sc.campaign != nil {
			// A campaign message is no reply: the inbox item stays as it is.
			return a.campaignSent(w, it, sc.campaign, m)
		}
		return a.businessReplied(w, c, it, st, m, actor)
	}
	if err := a.consentOnMessage(w, c, it, st, m); err != nil {
		return err
	}
	return a.customerWrote(w, c, it, st, m)
}

func (a *App) businessReplied(w *writer, c *parley.Conversation, it *parley.InboxItem, st *BusinessSettings, m *parley.Message, actor *Actor) error {
	if actor.Agent != nil && !agentActive(w, it.BusinessID, actor.Agent.ID) {
		// Removed between the request's check and this commit.
		return parley.Errorf(parley.ENotFound, "conversation not found")
	}
	changed := false
	if actor.Agent != nil && actor.Agent.Kind == parley.KindBot {
		if it.Control != parley.ControlBot {
			return parley.Errorf(parley.EHumanControl, "a person is handling this conversation; the bot may send again when it is handed back")
		}
	} else if it.Control == parley.ControlBot {
		// A person answering takes the conversation from the bot.
		it.Control = parley.ControlHuman
		if err := handoverRecord(w, it, actorOf(actor), "agent_replied"); err != nil {
			return err
		}
		changed = true
	}
	if actor.Agent != nil && actor.Agent.Kind != parley.KindBot && st.OnlyAssigneeReplies && it.AssigneeID != "" && it.AssigneeID != actor.Agent.ID {
		ag, err := w.Agent(it.BusinessID, actor.Agent.ID)
		if err != nil {
			return err
		}
		if ag.Role != parley.AgentRoleAdmin {
			return parley.Errorf(parley.ENotAssignee, "only the assignee may reply in this conversation; ask them or an admin to reassign it")
		}
	}
	it.WaitingSince = nil
	it.CSATMessageID = "" // a reply after the rating request ends it
	if it.FirstReplyAt == nil && !it.OpenedAt.IsZero() && it.Status != parley.InboxResolved {
		t := w.now
		it.FirstReplyAt = &t
		breached := it.FirstDueAt != nil && w.now.After(*it.FirstDueAt)
		who := it.BusinessID
		if actor.Agent != nil {
			who = actor.Agent.ID
		}
		if err := auditRow(w, it.BusinessID, who, c.ID, parley.AuditFirstResponse, who, it.TeamID,
			w.now.Sub(it.OpenedAt).Milliseconds(), map[string]any{"breached": breached}); err != nil {
			return err
		}
		changed = true
	}
	if it.AssigneeID == "" && actor.Agent != nil && actor.Agent.Kind != parley.KindBot && it.Status != parley.InboxResolved {
		// Whoever answers an unassigned conversation takes it.
		if err := setAssignee(w, it, actor.Agent.ID, it.TeamID, actor.Agent.ID, "replied"); err != nil {
			return err
		}
		changed = true
	}
	it.ActivityAt, it.UpdatedAt = w.now, w.now
	if err := w.PutInboxItem(it); err != nil {
		return err
	}
	if changed {
		who := m.SenderID
		if actor.Agent != nil {
			who = actor.Agent.ID
		}
		return inboxUpdated(w, it, who)
	}
	return nil
}

func (a *App) customerWrote(w *writer, c *parley.Conversation, it *parley.InboxItem, st *BusinessSettings, m *parley.Message) error {
	it.ActivityAt, it.UpdatedAt = w.now, w.now
	if it.CSATMessageID != "" {
		pending := it.CSATMessageID
		it.CSATMessageID = ""
		if r := parseRating(m); r > 0 {
			if err := auditRow(w, it.BusinessID, m.SenderID, c.ID, parley.AuditCSAT, it.AssigneeID, it.TeamID, int64(r),
				map[string]any{"request": pending}); err != nil {
				return err
			}
			if err := w.PutInboxItem(it); err != nil {
				return err
			}
			return inboxUpdated(w, it, m.SenderID)
		}
	}
	changed := false
	first := it.OpenedAt.IsZero() // the conversation's first customer message
	switch it.Status {
	case parley.InboxResolved:
		it.Status, it.OpenedAt = parley.InboxOpen, w.now
		it.FirstReplyAt, it.ResolvedAt, it.SnoozedUntil = nil, nil, nil
		setDues(it, st)
		if err := auditRow(w, it.BusinessID, m.SenderID, c.ID, parley.AuditOpened, "", it.TeamID, 0, nil); err != nil {
			return err
		}
		// The business's bot answers first when it has one.
		bot, err := hasBot(w, it.BusinessID)
		if err != nil {
			return err
		}
		it.Control = parley.ControlHuman
		if bot {
			it.Control = parley.ControlBot
		}
		if it.AssigneeID == "" || !agentActive(w, it.BusinessID, it.AssigneeID) {
			it.AssigneeID = ""
			if !bot {
				if err := a.autoAssign(w, it, st, ""); err != nil {
					return err
				}
			}
		}
		changed = true
	case parley.InboxSnoozed, parley.InboxPending:
		it.Status, it.SnoozedUntil = parley.InboxOpen, nil
		changed = true
	}
	if it.WaitingSince == nil {
		t := w.now
		it.WaitingSince = &t
		changed = true
	}
	if it.Control == parley.ControlBot && asksForHuman(m.Text) {
		// A customer can always reach a person.
		it.Control = parley.ControlHuman
		if err := handoverRecord(w, it, m.SenderID, "customer_asked"); err != nil {
			return err
		}
		if it.AssigneeID == "" {
			if err := a.autoAssign(w, it, st, ""); err != nil {
				return err
			}
		}
		if _, err := a.autoMessage(w, c, it, "Thanks — a person from our team will answer here.", ""); err != nil {
			return err
		}
		changed = true
	}
	hours, err := hoursFor(w, it, st)
	if err != nil {
		return err
	}
	if first && strings.TrimSpace(st.Welcome) != "" {
		if _, err := a.autoMessage(w, c, it, st.Welcome, ""); err != nil {
			return err
		}
	}
	if len(st.Rules) > 0 {
		in := RuleInput{Event: "message", Text: m.Text, Open: hours.IsOpen(w.now)}
		if first {
			in.Event = "first_message"
		}
		if err := a.runRules(w, c, it, st, in, m.SenderID); err != nil {
			return err
		}
	}
	if st.AwayMessage != "" {
		if hours != nil && !hours.IsOpen(w.now) && (it.AwaySentAt == nil || hours.openBetween(*it.AwaySentAt, w.now)) {
			if _, err := a.autoMessage(w, c, it, st.AwayMessage, ""); err != nil {
				return err
			}
			t := w.now
			it.AwaySentAt = &t
			if err := auditRow(w, it.BusinessID, it.BusinessID, c.ID, parley.AuditAway, "", it.TeamID, 0, nil); err != nil {
				return err
			}
		}
	}
	if err := w.PutInboxItem(it); err != nil {
		return err
	}
	if changed {
		return inboxUpdated(w, it, m.SenderID)
	}
	return nil
}

func agentActive(tx parley.Tx, businessID, userID string) bool {
	ag, err := tx.Agent(businessID, userID)
	return err == nil && ag.Active
}

// ratingRE is a whole message that is a rating: "4", "4/5", "4 ⭐", "4 stars".
var ratingRE = regexp.MustCompile(`^\s*([1-5])\s*(?:/\s*5|⭐{1,5}|★{1,5}|stars?)?\s*[.!]?\s*$`)

// parseRating reads a CSAT answer: the quick reply's payload, or a message
// that is nothing but a rating ("3pm ok?" or "2 questions" are not).
func parseRating(m *parley.Message) int {
	if q := parseData(m.Data).QuickReply; len(q) == 1 && q[0] >= '1' && q[0] <= '5' {
		return int(q[0] - '0')
	}
	if sm := ratingRE.FindStringSubmatch(m.Text); sm != nil {
		return int(sm[1][0] - '0')
	}
	return 0
}

// setDues sets the cycle's SLA targets from its priority.
func setDues(it *parley.InboxItem, st *BusinessSettings) {
	it.FirstDueAt, it.ResolveDueAt = nil, nil
	if it.OpenedAt.IsZero() {
		return
	}
	t, ok := st.SLA[it.Priority]
	if !ok {
		return
	}
	if t.FirstResponseMinutes > 0 {
		d := it.OpenedAt.Add(time.Duration(t.FirstResponseMinutes) * time.Minute)
		it.FirstDueAt = &d
	}
	if t.ResolutionMinutes > 0 {
		d := it.OpenedAt.Add(time.Duration(t.ResolutionMinutes) * time.Minute)
		it.ResolveDueAt = &d
	}
}

// hoursFor returns the business hours that apply to an item: its team's,
// else the business's, else nil (always open).
func hoursFor(tx parley.Tx, it *parley.InboxItem, st *BusinessSettings) (*Hours, error) {
	if it.TeamID != "" {
		t, err := tx.Team(it.BusinessID, it.TeamID)
		if err != nil && !parley.IsNotFound(err) {
			return nil, err
		}
		if t != nil && len(t.Hours) > 0 {
			h := &Hours{}
			if json.Unmarshal(t.Hours, h) == nil && h.compile("hours") == nil {
				return h, nil
			}
		}
	}
	return st.Hours, nil
}

// autoMessage writes a message from the business that no agent wrote (the
// away message, the CSAT request). It does not count as a reply. The
// messaging policy applies to it like to any business message.
func (a *App) autoMessage(w *writer, c *parley.Conversation, it *parley.InboxItem, text, data string) (*parley.Message, error) {
	businessID := it.BusinessID
	st, err := loadSettings(w, businessID)
	if err != nil {
		return nil, err
	}
	if err := a.checkPolicy(w, it, st, nil, &sendClass{automated: true}); err != nil {
		return nil, err
	}
	seq, err := w.AllocSeq(c.ID, w.now)
	if err != nil {
		return nil, err
	}
	d := parseData(data)
	d.Automated = true
	if d.structured() && d.Body == "" {
		d.Body = text
	}
	m := &parley.Message{ID: newSortableID(w.now), ConversationID: c.ID, Seq: seq, SenderID: businessID,
		Kind: parley.MessageText, Text: text, Data: d.encode(), CreatedAt: w.now, ExpiresAt: expiry(c, w.now)}
	if err := w.CreateMessage(m); err != nil {
		return nil, err
	}
	if err := a.channelOnSend(w, m, nil, &sendClass{automated: true}); err != nil {
		return nil, err
	}
	if err := w.messageCreated(m); err != nil {
		return nil, err
	}
	return m, nil
}

// autoAssign gives an item to an available agent when its team (or the
// business, for items without one) assigns automatically. exclude is an
// agent not to pick (the one being replaced).
func (a *App) autoAssign(w *writer, it *parley.InboxItem, st *BusinessSettings, exclude string) error {
	mode := st.AutoAssign
	if it.TeamID == "" && st.DefaultTeam != "" {
		it.TeamID = st.DefaultTeam
	}
	var pool map[string]bool // nil: every agent
	if it.TeamID != "" {
		t, err := w.Team(it.BusinessID, it.TeamID)
		if parley.IsNotFound(err) {
			it.TeamID = ""
		} else if err != nil {
			return err
		} else {
			mode = t.Assign
			ids, err := w.TeamMembers(t.ID)
			if err != nil {
				return err
			}
			pool = map[string]bool{}
			for _, id := range ids {
				pool[id] = true
			}
		}
	}
	if mode == AssignManual {
		return nil
	}
	pick, err := a.pickAgent(w, it.BusinessID, pool, mode, st.MaxOpenPerAgent, exclude)
	if err != nil || pick == "" {
		return err
	}
	return setAssignee(w, it, pick, it.TeamID, it.BusinessID, "auto_"+mode)
}

// pickAgent chooses among the business's active agents (limited to pool
// when it is not nil) who are online, not away and under their cap:
// round-robin takes the one assigned longest ago, least-load the one with
// the fewest unresolved conversations (then the one assigned longest ago).
func (a *App) pickAgent(tx parley.Tx, businessID string, pool map[string]bool, mode string, defCap int, exclude string) (string, error) {
	ags, err := tx.Agents(businessID)
	if err != nil {
		return "", err
	}
	loads, err := tx.OpenLoads(businessID)
	if err != nil {
		return "", err
	}
	var best *parley.Agent
	better := func(x, y *parley.Agent) bool {
		if mode == AssignLeastLoad && loads[x.UserID] != loads[y.UserID] {
			return loads[x.UserID] < loads[y.UserID]
		}
		if !x.LastAssignedAt.Equal(y.LastAssignedAt) {
			return x.LastAssignedAt.Before(y.LastAssignedAt)
		}
		return x.UserID < y.UserID
	}
	for _, ag := range ags {
		if !ag.Active || ag.Away || ag.Role == parley.AgentRoleBot || ag.UserID == exclude || (pool != nil && !pool[ag.UserID]) || !a.isOnline(ag.UserID) {
			continue
		}
		limit := ag.MaxOpen
		if limit == 0 {
			limit = defCap
		}
		if limit > 0 && loads[ag.UserID] >= limit {
			continue
		}
		if best == nil || better(ag, best) {
			best = ag
		}
	}
	if best == nil {
		return "", nil
	}
	return best.UserID, nil
}

// setAssignee assigns an item (assignee "" unassigns) and records it.
func setAssignee(w *writer, it *parley.InboxItem, assigneeID, teamID, actorID, reason string) error {
	if it.AssigneeID == assigneeID && it.TeamID == teamID {
		return nil
	}
	it.AssigneeID, it.TeamID = assigneeID, teamID
	it.AssignedAt = nil
	if assigneeID != "" {
		t := w.now
		it.AssignedAt = &t
		ag, err := w.Agent(it.BusinessID, assigneeID)
		if err != nil {
			return err
		}
		ag.LastAssignedAt = w.now
		if err := w.PutAgent(ag); err != nil {
			return err
		}
	}
	return auditRow(w, it.BusinessID, actorID, it.ConversationID, parley.AuditAssigned, assigneeID, teamID, 0, map[string]any{"reason": reason})
}

// assign is setAssignee for an acting team member, saving the item.
func assign(w *writer, ba *BusinessActor, it *parley.InboxItem, assigneeID, teamID, reason string) error {
	if err := setAssignee(w, it, assigneeID, teamID, ba.agentID(), reason); err != nil {
		return err
	}
	it.UpdatedAt = w.now
	if err := w.PutInboxItem(it); err != nil {
		return err
	}
	return inboxUpdated(w, it, ba.agentID())
}

func auditRow(w *writer, businessID, actorID, convID, action, agentID, teamID string, value int64, data map[string]any) error {
	row := &parley.InboxAudit{BusinessID: businessID, ConversationID: convID, ActorID: actorID, Action: action,
		AgentID: agentID, TeamID: teamID, Value: value, At: w.now}
	if data != nil {
		row.Data = mustJSON(data)
	}
	return w.AppendAudit(row)
}

// inboxUpdated tells the business's team that an item changed.
func inboxUpdated(w *writer, it *parley.InboxItem, actorID string) error {
	return businessEvent(w, &parley.Event{Type: EventInboxUpdated, ConversationID: it.ConversationID, ActorID: actorID,
		Data: mustJSON(map[string]any{"status": it.Status, "assignee": it.AssigneeID, "team": it.TeamID, "priority": it.Priority,
			"control": controlOf(it)})}, it.BusinessID)
}

// InboxItemView is a customer conversation as the business's team sees it
// in a list.
type InboxItemView struct {
	ConversationID string            `json:"conversation_id"`
	Contact        *ContactSummary   `json:"contact"`
	Status         string            `json:"status"`
	SnoozedUntil   *time.Time        `json:"snoozed_until,omitempty"`
	Priority       string            `json:"priority"`
	Assignee       *UserSummary      `json:"assignee,omitempty"`
	TeamID         string            `json:"team_id,omitempty"`
	Labels         []string          `json:"labels"`
	Attributes     map[string]string `json:"attributes"`
	OpenedAt       *time.Time        `json:"opened_at,omitempty"`
	WaitingSince   *time.Time        `json:"waiting_since,omitempty"`
	FirstReplyAt   *time.Time        `json:"first_reply_at,omitempty"`
	ResolvedAt     *time.Time        `json:"resolved_at,omitempty"`
	FirstDueAt     *time.Time        `json:"first_due_at,omitempty"`
	ResolveDueAt   *time.Time        `json:"resolve_due_at,omitempty"`
	// Control is who answers: "bot" (the business's bot) or "human".
	Control string `json:"control"`
	// Overdue is true when an SLA target of the open cycle has passed.
	Overdue     bool         `json:"overdue"`
	ActivityAt  time.Time    `json:"activity_at"`
	LastMessage *MessageView `json:"last_message,omitempty"`
}

// ContactSummary names a contact inside other objects.
type ContactSummary struct {
	ID   string       `json:"id"`
	Name string       `json:"name"`
	User *UserSummary `json:"user,omitempty"`
	// Channel is the platform (messenger, instagram, whatsapp) of a
	// contact who writes through a connected channel.
	Channel string `json:"channel,omitempty"`
}

func overdue(it *parley.InboxItem, now time.Time) bool {
	if it.Status == parley.InboxResolved {
		return false
	}
	return (it.FirstDueAt != nil && it.FirstReplyAt == nil && now.After(*it.FirstDueAt)) ||
		(it.ResolveDueAt != nil && now.After(*it.ResolveDueAt))
}

// itemViews builds list views with a handful of point queries per item.
func itemViews(tx parley.Tx, items []*parley.InboxItem, now time.Time) ([]*InboxItemView, error) {
	out := make([]*InboxItemView, 0, len(items))
	userIDs := map[string]bool{}
	contacts := map[string]*parley.Contact{}
	for _, it := range items {
		if it.AssigneeID != "" {
			userIDs[it.AssigneeID] = true
		}
		if _, ok := contacts[it.ContactID]; !ok && it.ContactID != "" {
			ct, err := tx.Contact(it.BusinessID, it.ContactID)
			if err != nil && !parley.IsNotFound(err) {
				return nil, err
			}
			contacts[it.ContactID] = ct
			if ct != nil && ct.UserID != "" {
				userIDs[ct.UserID] = true
			}
		}
	}
	lasts := map[string]*parley.Message{}
	for _, it := range items {
		last, err := tx.Messages(parley.MessageRange{ConversationID: it.ConversationID, Limit: 1, Descending: true})
		if err != nil {
			return nil, err
		}
		if len(last) == 1 {
			lasts[it.ConversationID] = last[0]
			userIDs[last[0].SenderID] = true
		}
	}
	users, err := tx.UsersByIDs(keys(userIDs))
	if err != nil {
		return nil, err
	}
	var mask *teamMask // what the business masks, loaded at the first customer message
	for _, it := range items {
		v := &InboxItemView{ConversationID: it.ConversationID, Status: string(it.Status), SnoozedUntil: it.SnoozedUntil,
			Priority: it.Priority, TeamID: it.TeamID, Labels: it.Labels, Attributes: it.Attributes, WaitingSince: it.WaitingSince,
			FirstReplyAt: it.FirstReplyAt, ResolvedAt: it.ResolvedAt, FirstDueAt: it.FirstDueAt, ResolveDueAt: it.ResolveDueAt,
			Overdue: overdue(it, now), ActivityAt: it.ActivityAt, Control: controlOf(it)}
		if v.Labels == nil {
			v.Labels = []string{}
		}
		if v.Attributes == nil {
			v.Attributes = map[string]string{}
		}
		if !it.OpenedAt.IsZero() {
			t := it.OpenedAt
			v.OpenedAt = &t
		}
		if it.AssigneeID != "" {
			v.Assignee = summarize(users[it.AssigneeID])
		}
		if ct := contacts[it.ContactID]; ct != nil {
			v.Contact = &ContactSummary{ID: ct.ID, Name: ct.Name, User: summarize(users[ct.UserID])}
			if u := users[ct.UserID]; u != nil && u.Kind == parley.KindExternal {
				v.Contact.Channel = ct.Attributes["channel"]
			}
		}
		if m := lasts[it.ConversationID]; m != nil {
			text := m.Text
			if m.SenderID != it.BusinessID {
				if mask == nil {
					st, err := loadSettings(tx, it.BusinessID)
					if err != nil {
						return nil, err
					}
					m := teamMaskOf(st)
					mask = &m
				}
				text = maskText(text, *mask) // as in the conversation itself
			}
			v.LastMessage = &MessageView{ID: m.ID, ConversationID: m.ConversationID, Seq: m.Seq, Sender: summarize(users[m.SenderID]),
				Kind: string(m.Kind), Text: truncate(text, 140), CreatedAt: m.CreatedAt, Deleted: m.DeletedAt != nil}
			if v.LastMessage.Sender == nil {
				v.LastMessage.Sender = &UserSummary{ID: m.SenderID}
			}
			if m.DeletedAt != nil {
				v.LastMessage.Text = ""
			} else if hiddenFor(users[m.SenderID], it.BusinessID) {
				v.LastMessage.Text, v.LastMessage.Hidden = "", true
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// InboxQuery selects a view of the inbox. View is "mine", "unassigned",
// "all", "overdue" or "team" (with Team); Status narrows to one status
// (default: open and pending, or every status for "all").
type InboxQuery struct {
	View     string
	Status   string
	Team     string
	Label    string
	Assignee string // a handle
	Contact  string
	Cursor   string
	Limit    int
}

// Inbox lists a page of the business's customer conversations, newest
// activity first.
func (a *App) Inbox(ctx context.Context, ba *BusinessActor, q InboxQuery) (*Page[*InboxItemView], error) {
	limit, err := pageLimit(q.Limit, 25)
	if err != nil {
		return nil, err
	}
	f := parley.InboxFilter{BusinessID: ba.Business.ID, TeamID: q.Team, Label: q.Label, ContactID: q.Contact, Limit: limit + 1}
	now := a.clock()
	switch q.View {
	case "", "all":
	case "mine":
		f.AssigneeID = ba.agentID()
	case "unassigned":
		f.Unassigned = true
	case "overdue":
		f.OverdueAt = &now
	case "team":
		if q.Team == "" {
			return nil, parley.Invalid("team", "the team view needs team")
		}
	default:
		return nil, parley.Invalid("view", "view is mine, unassigned, team, overdue or all")
	}
	switch {
	case q.Status != "":
		st := parley.InboxStatus(q.Status)
		if !st.Valid() {
			return nil, parley.Invalid("status", "status is open, pending, snoozed or resolved")
		}
		f.Statuses = []parley.InboxStatus{st}
	case q.View == "overdue":
		f.Statuses = []parley.InboxStatus{parley.InboxOpen, parley.InboxPending, parley.InboxSnoozed}
	case q.View != "" && q.View != "all":
		f.Statuses = []parley.InboxStatus{parley.InboxOpen, parley.InboxPending}
	}
	if q.Cursor != "" {
		c, err := decodeInboxCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		f.After = c
	}
	page := &Page[*InboxItemView]{Items: []*InboxItemView{}}
	err = a.view(ctx, func(tx parley.Tx) error {
		if q.Assignee != "" {
			u, err := userByHandle(tx, q.Assignee)
			if err != nil {
				return err
			}
			f.AssigneeID = u.ID
		}
		items, err := tx.InboxItems(f)
		if err != nil {
			return err
		}
		if len(items) > limit {
			items = items[:limit]
			last := items[limit-1]
			page.NextCursor = encodeInboxCursor(parley.InboxCursor{ActivityAt: last.ActivityAt, ConversationID: last.ConversationID})
		}
		page.Items, err = itemViews(tx, items, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

func encodeInboxCursor(c parley.InboxCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.ActivityAt.UnixNano(), 10) + ":" + c.ConversationID))
}

func decodeInboxCursor(s string) (*parley.InboxCursor, error) {
	bad := parley.Invalid("cursor", "cursor is not one this server gave")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 200 {
		return nil, bad
	}
	ts, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || !cursorIDOK(id) {
		return nil, bad
	}
	return &parley.InboxCursor{ActivityAt: time.Unix(0, n).UTC(), ConversationID: id}, nil
}

// InboxCounts are the badges of the main views.
type InboxCounts struct {
	Mine       int `json:"mine"`
	Unassigned int `json:"unassigned"`
	Overdue    int `json:"overdue"`
	Open       int `json:"open"`
}

// Counts counts the main views, each up to 1000.
func (a *App) Counts(ctx context.Context, ba *BusinessActor) (*InboxCounts, error) {
	c := &InboxCounts{}
	now := a.clock()
	active := []parley.InboxStatus{parley.InboxOpen, parley.InboxPending}
	err := a.view(ctx, func(tx parley.Tx) error {
		for _, q := range []struct {
			f   parley.InboxFilter
			out *int
		}{
			{parley.InboxFilter{AssigneeID: ba.agentID(), Statuses: active}, &c.Mine},
			{parley.InboxFilter{Unassigned: true, Statuses: active}, &c.Unassigned},
			{parley.InboxFilter{OverdueAt: &now, Statuses: []parley.InboxStatus{parley.InboxOpen, parley.InboxPending, parley.InboxSnoozed}}, &c.Overdue},
			{parley.InboxFilter{Statuses: active}, &c.Open},
		} {
			q.f.BusinessID = ba.Business.ID
			n, err := tx.CountInbox(q.f, 1000)
			if err != nil {
				return err
			}
			*q.out = n
		}
		return nil
	})
	return c, err
}

// itemOf returns the business's item of a conversation; any other
// conversation is not found.
func itemOf(tx parley.Tx, ba *BusinessActor, convID string) (*parley.InboxItem, error) {
	it, err := tx.InboxItem(convID)
	if parley.IsNotFound(err) || (err == nil && it.BusinessID != ba.Business.ID) {
		return nil, parley.Errorf(parley.ENotFound, "conversation not found")
	}
	return it, err
}

// InboxDetail is one customer conversation for the team: the item, the
// conversation as the business sees it, and the contact.
type InboxDetail struct {
	Item         *InboxItemView    `json:"item"`
	Conversation *ConversationView `json:"conversation"`
	Contact      *ContactView      `json:"contact,omitempty"`
}

// InboxConversation returns one customer conversation of the business.
func (a *App) InboxConversation(ctx context.Context, ba *BusinessActor, convID string) (*InboxDetail, error) {
	d := &InboxDetail{}
	err := a.view(ctx, func(tx parley.Tx) error {
		it, err := itemOf(tx, ba, convID)
		if err != nil {
			return err
		}
		vs, err := itemViews(tx, []*parley.InboxItem{it}, a.clock())
		if err != nil {
			return err
		}
		d.Item = vs[0]
		c, me, err := membership(tx, convID, ba.Business.ID)
		if err != nil {
			return err
		}
		if d.Conversation, err = conversationView(tx, ba.Business.ID, c, me, true); err != nil {
			return err
		}
		if it.ContactID != "" {
			ct, err := tx.Contact(ba.Business.ID, it.ContactID)
			if err != nil && !parley.IsNotFound(err) {
				return err
			}
			if ct != nil {
				d.Contact, err = contactView(tx, ct, false, a.clock())
				return err
			}
		}
		return nil
	})
	return d, err
}

// ItemChange changes a customer conversation; nil fields stay. Attributes
// set the given keys; a null value deletes one.
type ItemChange struct {
	Status       *string            `json:"status"`
	SnoozedUntil *time.Time         `json:"snoozed_until"`
	Priority     *string            `json:"priority"`
	Assignee     *string            `json:"assignee"` // a handle, "" to unassign
	Team         *string            `json:"team"`     // a team id, "" for none
	Labels       *[]string          `json:"labels"`
	Attributes   map[string]*string `json:"attributes"`
}

// Label and attribute limits.
const (
	maxLabels     = 20
	maxLabelLen   = 40
	maxAttributes = 50
	maxAttrKey    = 40
	maxAttrValue  = 500
)

func cleanLabels(in []string) ([]string, error) {
	if len(in) > maxLabels {
		return nil, parley.Invalid("labels", "at most %d labels", maxLabels)
	}
	out := []string{}
	for _, l := range in {
		l = strings.ToLower(strings.TrimSpace(l))
		if l == "" || utf8.RuneCountInString(l) > maxLabelLen || strings.ContainsAny(l, ",\n\r\t") {
			return nil, parley.Invalid("labels", "a label has 1 to %d characters and no commas", maxLabelLen)
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out, nil
}

func applyAttributes(cur map[string]string, ch map[string]*string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range cur {
		out[k] = v
	}
	for k, v := range ch {
		if k == "" || len(k) > maxAttrKey || strings.ContainsAny(k, " {}\n\t.") {
			return nil, parley.Invalid("attributes", "attribute names have 1 to %d characters, no spaces, dots or braces", maxAttrKey)
		}
		if v == nil {
			delete(out, k)
			continue
		}
		if utf8.RuneCountInString(*v) > maxAttrValue {
			return nil, parley.Invalid("attributes", "attribute values have at most %d characters", maxAttrValue)
		}
		out[k] = *v
	}
	if len(out) > maxAttributes {
		return nil, parley.Invalid("attributes", "at most %d attributes", maxAttributes)
	}
	return out, nil
}

// UpdateItem changes status, priority, assignment, labels or attributes
// of a customer conversation, records each change in the audit log and
// tells the team. Resolving sends the CSAT request when the business
// asks for ratings.
func (a *App) UpdateItem(ctx context.Context, ba *BusinessActor, convID string, ch ItemChange) (*InboxItemView, error) {
	var labels []string
	if ch.Labels != nil {
		var err error
		if labels, err = cleanLabels(*ch.Labels); err != nil {
			return nil, err
		}
	}
	if ch.Priority != nil && !slices.Contains(Priorities, *ch.Priority) {
		return nil, parley.Invalid("priority", "priority is low, normal, high or urgent")
	}
	if ch.Status != nil && !parley.InboxStatus(*ch.Status).Valid() {
		return nil, parley.Invalid("status", "status is open, pending, snoozed or resolved")
	}
	var view *InboxItemView
	err := a.update(ctx, func(w *writer) error {
		it, err := itemOf(w, ba, convID)
		if err != nil {
			return err
		}
		st, err := loadSettings(w, ba.Business.ID)
		if err != nil {
			return err
		}
		actorID := ba.agentID()
		if ch.Priority != nil && *ch.Priority != it.Priority {
			if err := auditRow(w, it.BusinessID, actorID, convID, parley.AuditPriority, "", "", 0, map[string]any{"from": it.Priority, "to": *ch.Priority}); err != nil {
				return err
			}
			it.Priority = *ch.Priority
			setDues(it, st)
		}
		var added []string
		if ch.Labels != nil && !slices.Equal(labels, it.Labels) {
			if err := auditRow(w, it.BusinessID, actorID, convID, parley.AuditLabels, "", "", 0, map[string]any{"labels": labels}); err != nil {
				return err
			}
			for _, l := range labels {
				if !slices.Contains(it.Labels, l) {
					added = append(added, l)
				}
			}
			it.Labels = labels
		}
		if len(added) > 0 && len(st.Rules) > 0 {
			c, err := w.ConversationByID(convID)
			if err != nil {
				return err
			}
			hours, err := hoursFor(w, it, st)
			if err != nil {
				return err
			}
			if err := a.runRules(w, c, it, st, RuleInput{Event: "label_added", Labels: added, Open: hours.IsOpen(w.now)}, actorID); err != nil {
				return err
			}
		}
		if ch.Attributes != nil {
			if it.Attributes, err = applyAttributes(it.Attributes, ch.Attributes); err != nil {
				return err
			}
		}
		if ch.Assignee != nil || ch.Team != nil {
			assignee, team := it.AssigneeID, it.TeamID
			if ch.Team != nil {
				team = *ch.Team
				if team != "" {
					if _, err := w.Team(ba.Business.ID, team); parley.IsNotFound(err) {
						return parley.Invalid("team", "no such team")
					} else if err != nil {
						return err
					}
				}
			}
			if ch.Assignee != nil {
				assignee = ""
				if *ch.Assignee != "" {
					u, err := userByHandle(w, *ch.Assignee)
					if err != nil {
						return parley.Invalid("assignee", "no team member %q", *ch.Assignee)
					}
					if ag, err := w.Agent(ba.Business.ID, u.ID); err != nil || !ag.Active || ag.Role == parley.AgentRoleBot {
						return parley.Invalid("assignee", "%s is not a person on the business's team", *ch.Assignee)
					}
					assignee = u.ID
				}
			}
			if err := setAssignee(w, it, assignee, team, actorID, "manual"); err != nil {
				return err
			}
		}
		if ch.Status != nil && parley.InboxStatus(*ch.Status) != it.Status || ch.SnoozedUntil != nil {
			to := it.Status
			if ch.Status != nil {
				to = parley.InboxStatus(*ch.Status)
			}
			if err := a.setItemStatus(w, it, st, to, ch.SnoozedUntil, actorID); err != nil {
				return err
			}
		}
		it.UpdatedAt = w.now
		if err := w.PutInboxItem(it); err != nil {
			return err
		}
		if err := inboxUpdated(w, it, actorID); err != nil {
			return err
		}
		vs, err := itemViews(w, []*parley.InboxItem{it}, w.now)
		if err != nil {
			return err
		}
		view = vs[0]
		return nil
	})
	return view, err
}

// setItemStatus moves an item to a status. Resolving closes the cycle
// (resolution time, SLA) and may ask for a rating; reopening by hand starts
// the clock again only if the cycle was closed.
func (a *App) setItemStatus(w *writer, it *parley.InboxItem, st *BusinessSettings, to parley.InboxStatus, until *time.Time, actorID string) error {
	from := it.Status
	switch to {
	case parley.InboxSnoozed:
		if until == nil || !until.After(w.now) {
			return parley.Invalid("snoozed_until", "snoozing needs snoozed_until in the future")
		}
		if until.Sub(w.now) > 366*24*time.Hour {
			return parley.Invalid("snoozed_until", "snooze for at most a year")
		}
		u := until.UTC()
		it.SnoozedUntil = &u
	case parley.InboxResolved:
		it.SnoozedUntil = nil
		if from == parley.InboxResolved {
			return nil
		}
		t := w.now
		it.ResolvedAt, it.WaitingSince = &t, nil
		if !it.OpenedAt.IsZero() {
			breached := it.ResolveDueAt != nil && w.now.After(*it.ResolveDueAt)
			if err := auditRow(w, it.BusinessID, actorID, it.ConversationID, parley.AuditResolved, it.AssigneeID, it.TeamID,
				w.now.Sub(it.OpenedAt).Milliseconds(), map[string]any{"breached": breached}); err != nil {
				return err
			}
		}
		if st.CSAT {
			c, err := w.ConversationByID(it.ConversationID)
			if err != nil {
				return err
			}
			if peer, blocked, err := w.Peer(c.ID, it.BusinessID, contactUser(w, it)); err == nil && !blocked && peer.Status == parley.StatusActive {
				q := st.CSATQuestion
				if q == "" {
					q = defaultCSATQuestion
				}
				m, err := a.autoMessage(w, c, it, q, csatQuickReplies)
				if parley.ErrorCode(err) == parley.EWindowClosed {
					// No rating request outside the messaging window.
				} else if err != nil {
					return err
				} else {
					it.CSATMessageID = m.ID
				}
			} else if err != nil && !parley.IsNotFound(err) {
				return err
			}
		}
	default:
		it.SnoozedUntil = nil
		if from == parley.InboxResolved {
			// Reopening by hand starts a new cycle, as a customer's
			// message does: clocks, targets and the rating request anew.
			it.ResolvedAt, it.FirstReplyAt, it.CSATMessageID = nil, nil, ""
			it.OpenedAt = w.now
			setDues(it, st)
			if it.AssigneeID != "" && !agentActive(w, it.BusinessID, it.AssigneeID) {
				it.AssigneeID, it.AssignedAt = "", nil
			}
			if err := auditRow(w, it.BusinessID, actorID, it.ConversationID, parley.AuditOpened, "", it.TeamID, 0,
				map[string]any{"reason": "reopened"}); err != nil {
				return err
			}
		}
	}
	it.Status = to
	if from != to {
		return auditRow(w, it.BusinessID, actorID, it.ConversationID, parley.AuditStatus, "", "", 0, map[string]any{"from": from, "to": to})
	}
	return nil
}

// csatQuickReplies are the choices of the rating request; a client that
// does not show them still reads the question, and a typed "4" counts.
var csatQuickReplies = (&messageData{QuickReplies: []QuickReply{
	{Title: "1", Payload: "1"}, {Title: "2", Payload: "2"}, {Title: "3", Payload: "3"},
	{Title: "4", Payload: "4"}, {Title: "5", Payload: "5"}}}).encode()

func contactUser(tx parley.Tx, it *parley.InboxItem) string {
	ct, err := tx.Contact(it.BusinessID, it.ContactID)
	if err != nil {
		return ""
	}
	return ct.UserID
}

// InboxTick runs the inbox's timed rules once: snoozes that ended reopen,
// and conversations whose assignee has not answered within the business's
// reassign time go to another available agent. serve calls it every few
// seconds; tests call it with a fake clock.
func (a *App) InboxTick(ctx context.Context) (err error) {
	now := a.clock()
	var woken, reassigned int
	defer func() { a.obs.InboxTick(woken, reassigned, err) }()
	for {
		var n int
		err := a.update(ctx, func(w *writer) error {
			items, err := w.DueSnoozes(now, 100)
			if err != nil {
				return err
			}
			n = len(items)
			for _, it := range items {
				it.Status, it.SnoozedUntil, it.UpdatedAt = parley.InboxOpen, nil, w.now
				if err := auditRow(w, it.BusinessID, it.BusinessID, it.ConversationID, parley.AuditStatus, "", "", 0,
					map[string]any{"from": parley.InboxSnoozed, "to": parley.InboxOpen, "reason": "snooze_ended"}); err != nil {
					return err
				}
				if err := w.PutInboxItem(it); err != nil {
					return err
				}
				if err := inboxUpdated(w, it, it.BusinessID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		woken += n
		if n < 100 {
			break
		}
	}
	return a.update(ctx, func(w *writer) error {
		reassigned = 0 // the store may run this more than once
		items, err := w.Unanswered(now.Add(-time.Minute), 200)
		if err != nil {
			return err
		}
		settings := map[string]*BusinessSettings{}
		for _, it := range items {
			st, ok := settings[it.BusinessID]
			if !ok {
				if st, err = loadSettings(w, it.BusinessID); err != nil {
					return err
				}
				settings[it.BusinessID] = st
			}
			if st.ReassignAfterMinutes <= 0 {
				continue
			}
			limit := now.Add(-time.Duration(st.ReassignAfterMinutes) * time.Minute)
			if it.WaitingSince.After(limit) || (it.AssignedAt != nil && it.AssignedAt.After(limit)) {
				continue
			}
			prev := it.AssigneeID
			var pool map[string]bool
			if it.TeamID != "" {
				ids, err := w.TeamMembers(it.TeamID)
				if err != nil {
					return err
				}
				pool = map[string]bool{}
				for _, id := range ids {
					pool[id] = true
				}
			}
			pick, err := a.pickAgent(w, it.BusinessID, pool, AssignLeastLoad, st.MaxOpenPerAgent, prev)
			if err != nil {
				return err
			}
			if pick == "" {
				continue
			}
			if err := setAssignee(w, it, pick, it.TeamID, it.BusinessID, "no_reply"); err != nil {
				return err
			}
			it.UpdatedAt = w.now
			if err := w.PutInboxItem(it); err != nil {
				return err
			}
			if err := inboxUpdated(w, it, it.BusinessID); err != nil {
				return err
			}
			reassigned++
		}
		return nil
	})
}

// RunInbox calls InboxTick every interval until ctx ends.
func (a *App) RunInbox(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.InboxTick(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("inbox timers", "err", err)
			}
		}
	}
}

// CheckInboxConversation reports ENotFound unless the conversation is a
// customer conversation of the business.
func (a *App) CheckInboxConversation(ctx context.Context, ba *BusinessActor, convID string) error {
	return a.view(ctx, func(tx parley.Tx) error {
		_, err := itemOf(tx, ba, convID)
		return err
	})
}

func controlOf(it *parley.InboxItem) string {
	if it.Control == parley.ControlBot {
		return parley.ControlBot
	}
	return parley.ControlHuman
}

// actorOf is who acts: the agent, or the account itself.
func actorOf(actor *Actor) string {
	if actor.Agent != nil {
		return actor.Agent.ID
	}
	return actor.User.ID
}

// hasBot reports whether a business has an active bot on its team.
func hasBot(tx parley.Tx, businessID string) (bool, error) {
	ags, err := tx.Agents(businessID)
	if err != nil {
		return false, err
	}
	for _, ag := range ags {
		if ag.Active && ag.Role == parley.AgentRoleBot {
			return true, nil
		}
	}
	return false, nil
}

// humanWords are what a customer types to reach a person, alone in a message.
var humanWords = map[string]bool{"human": true, "agent": true, "person": true, "representative": true,
	"operator": true, "talk to a human": true, "talk to a person": true, "real person": true, "speak to a human": true}

func asksForHuman(text string) bool {
	t := strings.Trim(strings.ToLower(strings.TrimSpace(text)), ".!? ")
	return humanWords[t]
}

// handoverRecord audits and announces a change of control.
func handoverRecord(w *writer, it *parley.InboxItem, actorID, reason string) error {
	if err := auditRow(w, it.BusinessID, actorID, it.ConversationID, "handover", "", it.TeamID, 0,
		map[string]any{"to": controlOf(it), "reason": reason}); err != nil {
		return err
	}
	return businessEvent(w, &parley.Event{Type: EventHandover, ConversationID: it.ConversationID, ActorID: actorID,
		Data: mustJSON(map[string]string{"control": controlOf(it), "reason": reason})}, it.BusinessID)
}

// Handover passes control of a customer conversation: the bot hands over
// to people (with a reason), a person takes control or gives it back to
// the bot. While people hold it, the bot still receives events but its
// sends are refused (human_control).
func (a *App) Handover(ctx context.Context, ba *BusinessActor, convID, to, reason string) (*InboxItemView, error) {
	if to != parley.ControlBot && to != parley.ControlHuman {
		return nil, parley.Invalid("to", "to is bot or human")
	}
	if len(reason) > 500 {
		return nil, parley.Invalid("reason", "reason has at most 500 characters")
	}
	var view *InboxItemView
	err := a.update(ctx, func(w *writer) error {
		it, err := itemOf(w, ba, convID)
		if err != nil {
			return err
		}
		isBot := ba.Role == parley.AgentRoleBot
		if isBot && to == parley.ControlBot {
			return parley.Errorf(parley.EForbidden, "a bot cannot take control; people give it back")
		}
		if to == parley.ControlBot {
			if ok, err := hasBot(w, ba.Business.ID); err != nil {
				return err
			} else if !ok {
				return parley.Errorf(parley.EConflict, "the business has no bot to hand over to")
			}
		}
		if controlOf(it) == to {
			vs, err := itemViews(w, []*parley.InboxItem{it}, w.now)
			if err == nil {
				view = vs[0]
			}
			return err
		}
		it.Control, it.UpdatedAt = to, w.now
		if reason == "" {
			reason = "manual"
		}
		if err := handoverRecord(w, it, ba.agentID(), reason); err != nil {
			return err
		}
		if to == parley.ControlHuman && it.AssigneeID == "" && !isBot && ba.Agent != nil {
			// A person taking control takes the conversation.
			if err := setAssignee(w, it, ba.Agent.ID, it.TeamID, ba.Agent.ID, "took_control"); err != nil {
				return err
			}
		} else if to == parley.ControlHuman && it.AssigneeID == "" && isBot {
			st, err := loadSettings(w, ba.Business.ID)
			if err != nil {
				return err
			}
			if err := a.autoAssign(w, it, st, ""); err != nil {
				return err
			}
		}
		if err := w.PutInboxItem(it); err != nil {
			return err
		}
		if err := inboxUpdated(w, it, ba.agentID()); err != nil {
			return err
		}
		vs, err := itemViews(w, []*parley.InboxItem{it}, w.now)
		if err != nil {
			return err
		}
		view = vs[0]
		return nil
	})
	return view, err
}
