package postgres

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// Business inboxes: agents, teams, inbox items and their labels, notes,
// saved replies, contacts, settings and the audit. JSON columns hold ''
// for an empty value.

// toJSON encodes v for a JSON column: "" when v is empty.
func toJSON(v any, empty bool) (string, error) {
	if empty {
		return "", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// fromJSON decodes a JSON column into v; "" leaves v alone.
func fromJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}

// rawJSON returns a raw JSON column: nil for "".
func rawJSON(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

// likeContains returns a LIKE pattern (with ESCAPE '\') matching strings
// that contain s.
func likeContains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// isForeignKey reports whether err is a FOREIGN KEY violation.
func isForeignKey(err error) bool {
	return err != nil && isPgCode(err, "23503")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ---- Agents ----

const agentCols = `business_id, user_id, role, active, away, max_open, last_assigned_at, created_at, updated_at`

func scanAgent(s scanner) (*parley.Agent, error) {
	var a parley.Agent
	var role string
	var last, created, updated int64
	if err := s.Scan(&a.BusinessID, &a.UserID, &role, &a.Active, &a.Away, &a.MaxOpen, &last, &created, &updated); err != nil {
		return nil, err
	}
	a.Role = parley.AgentRole(role)
	a.LastAssignedAt, a.CreatedAt, a.UpdatedAt = fromNanos(last), fromNanos(created), fromNanos(updated)
	return &a, nil
}

// PutAgent implements parley.BusinessTx.
func (t *tx) PutAgent(a *parley.Agent) error {
	_, err := t.guarded(`INSERT INTO agents (`+agentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (business_id, user_id) DO UPDATE SET role = excluded.role, active = excluded.active,
		away = excluded.away, max_open = excluded.max_open, last_assigned_at = excluded.last_assigned_at,
		created_at = excluded.created_at, updated_at = excluded.updated_at`,
		a.BusinessID, a.UserID, string(a.Role), boolInt(a.Active), boolInt(a.Away), a.MaxOpen,
		toNanos(a.LastAssignedAt), toNanos(a.CreatedAt), toNanos(a.UpdatedAt))
	if isForeignKey(err) {
		return notFound("user")
	} else if err != nil {
		return fmt.Errorf("put agent: %w", err)
	}
	return nil
}

// Agent implements parley.BusinessTx.
func (t *tx) Agent(businessID, userID string) (*parley.Agent, error) {
	a, err := scanAgent(t.queryRow(`SELECT `+agentCols+` FROM agents WHERE business_id = ? AND user_id = ?`,
		businessID, userID))
	if err != nil {
		return nil, rowErr(err, "agent")
	}
	return a, nil
}

// Agents implements parley.BusinessTx.
func (t *tx) Agents(businessID string) ([]*parley.Agent, error) {
	return t.agents(`SELECT `+agentCols+` FROM agents WHERE business_id = ? ORDER BY created_at, user_id`, businessID)
}

// AgentOf implements parley.BusinessTx.
func (t *tx) AgentOf(userID string) ([]*parley.Agent, error) {
	return t.agents(`SELECT `+agentCols+` FROM agents WHERE user_id = ? AND active = 1
		ORDER BY created_at, business_id`, userID)
}

func (t *tx) agents(q string, args ...any) ([]*parley.Agent, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	defer rows.Close()
	var out []*parley.Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, fmt.Errorf("scan agent: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	return out, nil
}

// ---- Teams ----

const teamCols = `id, business_id, name, assign, hours, created_at, updated_at`

func scanTeam(s scanner) (*parley.Team, error) {
	var tm parley.Team
	var hours string
	var created, updated int64
	if err := s.Scan(&tm.ID, &tm.BusinessID, &tm.Name, &tm.Assign, &hours, &created, &updated); err != nil {
		return nil, err
	}
	tm.Hours, tm.CreatedAt, tm.UpdatedAt = rawJSON(hours), fromNanos(created), fromNanos(updated)
	return &tm, nil
}

// CreateTeam implements parley.BusinessTx.
func (t *tx) CreateTeam(tm *parley.Team) error {
	_, err := t.guarded(`INSERT INTO teams (`+teamCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		tm.ID, tm.BusinessID, tm.Name, tm.Assign, string(tm.Hours), toNanos(tm.CreatedAt), toNanos(tm.UpdatedAt))
	switch {
	case isUnique(err):
		if strings.Contains(constraint(err), "name") {
			return parley.Errorf(parley.EConflict, "a team named %q exists", tm.Name)
		}
		return parley.Errorf(parley.EConflict, "team %s exists", tm.ID)
	case isForeignKey(err):
		return notFound("business")
	case err != nil:
		return fmt.Errorf("create team: %w", err)
	}
	return nil
}

// UpdateTeam implements parley.BusinessTx. It saves UpdatedAt too.
func (t *tx) UpdateTeam(tm *parley.Team) error {
	res, err := t.guarded(`UPDATE teams SET name = ?, assign = ?, hours = ?, updated_at = ?
		WHERE id = ? AND business_id = ?`,
		tm.Name, tm.Assign, string(tm.Hours), toNanos(tm.UpdatedAt), tm.ID, tm.BusinessID)
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "a team named %q exists", tm.Name)
	} else if err != nil {
		return fmt.Errorf("update team: %w", err)
	}
	return mustAffect(res, "team")
}

// DeleteTeam implements parley.BusinessTx.
func (t *tx) DeleteTeam(businessID, id string) error {
	res, err := t.exec(`DELETE FROM teams WHERE id = ? AND business_id = ?`, id, businessID)
	if err != nil {
		return fmt.Errorf("delete team: %w", err)
	}
	if err := mustAffect(res, "team"); err != nil {
		return err
	}
	// The foreign key cascades; this does not rely on it.
	if _, err := t.exec(`DELETE FROM team_members WHERE team_id = ?`, id); err != nil {
		return fmt.Errorf("delete team members: %w", err)
	}
	return nil
}

// Team implements parley.BusinessTx.
func (t *tx) Team(businessID, id string) (*parley.Team, error) {
	tm, err := scanTeam(t.queryRow(`SELECT `+teamCols+` FROM teams WHERE id = ? AND business_id = ?`, id, businessID))
	if err != nil {
		return nil, rowErr(err, "team")
	}
	return tm, nil
}

// Teams implements parley.BusinessTx.
func (t *tx) Teams(businessID string) ([]*parley.Team, error) {
	rows, err := t.query(`SELECT `+teamCols+` FROM teams WHERE business_id = ? ORDER BY name, id`, businessID)
	if err != nil {
		return nil, fmt.Errorf("teams: %w", err)
	}
	defer rows.Close()
	var out []*parley.Team
	for rows.Next() {
		tm, err := scanTeam(rows)
		if err != nil {
			return nil, fmt.Errorf("scan team: %w", err)
		}
		out = append(out, tm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("teams: %w", err)
	}
	return out, nil
}

// SetTeamMember implements parley.BusinessTx. Adding to a team that does
// not exist is ENotFound.
func (t *tx) SetTeamMember(teamID, userID string, on bool) (bool, error) {
	var res sql.Result
	var err error
	if on {
		res, err = t.exec(`INSERT INTO team_members (team_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, teamID, userID)
	} else {
		res, err = t.guarded(`DELETE FROM team_members WHERE team_id = ? AND user_id = ?`, teamID, userID)
	}
	if isForeignKey(err) {
		return false, notFound("team")
	} else if err != nil {
		return false, fmt.Errorf("set team member: %w", err)
	}
	return affected(res)
}

// TeamMembers implements parley.BusinessTx.
func (t *tx) TeamMembers(teamID string) ([]string, error) {
	rows, err := t.query(`SELECT user_id FROM team_members WHERE team_id = ? ORDER BY user_id`, teamID)
	if err != nil {
		return nil, fmt.Errorf("team members: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan team member: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("team members: %w", err)
	}
	return out, nil
}

// ---- Inbox items ----

const inboxCols = `conversation_id, business_id, contact_id, status, snoozed_until, priority, assignee_id,
	team_id, attributes, opened_at, waiting_since, first_reply_at, assigned_at, resolved_at, first_due_at,
	resolve_due_at, away_sent_at, csat_message_id, activity_at, updated_at, control`

func scanInboxItem(s scanner) (*parley.InboxItem, error) {
	var it parley.InboxItem
	var status, attrs string
	var snoozed, waiting, firstReply, assigned, resolved, firstDue, resolveDue, away sql.NullInt64
	var opened, activity, updated int64
	if err := s.Scan(&it.ConversationID, &it.BusinessID, &it.ContactID, &status, &snoozed, &it.Priority,
		&it.AssigneeID, &it.TeamID, &attrs, &opened, &waiting, &firstReply, &assigned, &resolved, &firstDue,
		&resolveDue, &away, &it.CSATMessageID, &activity, &updated, &it.Control); err != nil {
		return nil, err
	}
	if err := fromJSON(attrs, &it.Attributes); err != nil {
		return nil, fmt.Errorf("attributes of %s: %w", it.ConversationID, err)
	}
	it.Status = parley.InboxStatus(status)
	it.SnoozedUntil, it.WaitingSince, it.FirstReplyAt = fromNullNanos(snoozed), fromNullNanos(waiting), fromNullNanos(firstReply)
	it.AssignedAt, it.ResolvedAt = fromNullNanos(assigned), fromNullNanos(resolved)
	it.FirstDueAt, it.ResolveDueAt, it.AwaySentAt = fromNullNanos(firstDue), fromNullNanos(resolveDue), fromNullNanos(away)
	it.OpenedAt, it.ActivityAt, it.UpdatedAt = fromNanos(opened), fromNanos(activity), fromNanos(updated)
	return &it, nil
}

// normLabels returns labels sorted, without duplicates or empty strings.
func normLabels(labels []string) []string {
	out := uniqueIDs(labels)
	slices.Sort(out)
	return out
}

// PutInboxItem implements parley.BusinessTx. The label rows are rewritten
// only when they changed.
func (t *tx) PutInboxItem(it *parley.InboxItem) error {
	t.touchConvRow(it.ConversationID)
	if wc := t.cache(); wc != nil {
		delete(wc.noInbox, it.ConversationID)
	}
	attrs, err := toJSON(it.Attributes, len(it.Attributes) == 0)
	if err != nil {
		return fmt.Errorf("put inbox item: attributes: %w", err)
	}
	_, err = t.guarded(`INSERT INTO inbox_items (`+inboxCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (conversation_id) DO UPDATE SET business_id = excluded.business_id,
		contact_id = excluded.contact_id, status = excluded.status, snoozed_until = excluded.snoozed_until,
		priority = excluded.priority, assignee_id = excluded.assignee_id, team_id = excluded.team_id,
		attributes = excluded.attributes, opened_at = excluded.opened_at, waiting_since = excluded.waiting_since,
		first_reply_at = excluded.first_reply_at, assigned_at = excluded.assigned_at,
		resolved_at = excluded.resolved_at, first_due_at = excluded.first_due_at,
		resolve_due_at = excluded.resolve_due_at, away_sent_at = excluded.away_sent_at,
		csat_message_id = excluded.csat_message_id, activity_at = excluded.activity_at,
		updated_at = excluded.updated_at, control = excluded.control`,
		it.ConversationID, it.BusinessID, it.ContactID, string(it.Status), toNullNanos(it.SnoozedUntil), it.Priority,
		it.AssigneeID, it.TeamID, attrs, toNanos(it.OpenedAt), toNullNanos(it.WaitingSince),
		toNullNanos(it.FirstReplyAt), toNullNanos(it.AssignedAt), toNullNanos(it.ResolvedAt),
		toNullNanos(it.FirstDueAt), toNullNanos(it.ResolveDueAt), toNullNanos(it.AwaySentAt), it.CSATMessageID,
		toNanos(it.ActivityAt), toNanos(it.UpdatedAt), it.Control)
	if isForeignKey(err) {
		return notFound("conversation")
	} else if err != nil {
		return fmt.Errorf("put inbox item: %w", err)
	}

	want := normLabels(it.Labels)
	rows, err := t.query(`SELECT label, business_id FROM inbox_labels WHERE conversation_id = ? ORDER BY label`,
		it.ConversationID)
	if err != nil {
		return fmt.Errorf("inbox labels: %w", err)
	}
	var have []string
	same := true
	for rows.Next() {
		var label, business string
		if err := rows.Scan(&label, &business); err != nil {
			rows.Close()
			return fmt.Errorf("scan inbox label: %w", err)
		}
		have = append(have, label)
		same = same && business == it.BusinessID
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("inbox labels: %w", err)
	}
	if same && slices.Equal(have, want) {
		return nil
	}
	if len(have) > 0 {
		if _, err := t.exec(`DELETE FROM inbox_labels WHERE conversation_id = ?`, it.ConversationID); err != nil {
			return fmt.Errorf("delete inbox labels: %w", err)
		}
	}
	if len(want) > 0 {
		b, _ := json.Marshal(want)
		if _, err := t.exec(`INSERT INTO inbox_labels (conversation_id, label, business_id)
			SELECT ?1, value, ?2 FROM json_array_elements_text(?3::json) AS value`, it.ConversationID, it.BusinessID, string(b)); err != nil {
			return fmt.Errorf("insert inbox labels: %w", err)
		}
	}
	return nil
}

// InboxItem implements parley.BusinessTx.
func (t *tx) InboxItem(conversationID string) (*parley.InboxItem, error) {
	wc := t.cache()
	if wc != nil && wc.noInbox[conversationID] {
		return nil, notFound("inbox item")
	}
	it, err := scanInboxItem(t.queryRow(`SELECT `+inboxCols+` FROM inbox_items WHERE conversation_id = ?`,
		conversationID))
	if err != nil {
		if wc != nil && errors.Is(err, sql.ErrNoRows) {
			wc.putNoInbox(conversationID)
		}
		return nil, rowErr(err, "inbox item")
	}
	if err := t.loadLabels([]*parley.InboxItem{it}); err != nil {
		return nil, err
	}
	return it, nil
}

// loadLabels fills in the labels of items, in one query.
func (t *tx) loadLabels(items []*parley.InboxItem) error {
	if len(items) == 0 {
		return nil
	}
	byID := make(map[string]*parley.InboxItem, len(items))
	ids := make([]string, len(items))
	for i, it := range items {
		byID[it.ConversationID], ids[i] = it, it.ConversationID
	}
	var rows *sql.Rows
	var err error
	if len(items) == 1 {
		rows, err = t.query(`SELECT conversation_id, label FROM inbox_labels WHERE conversation_id = ? ORDER BY label`, ids[0])
	} else {
		rows, err = t.query(`SELECT conversation_id, label FROM inbox_labels
			WHERE conversation_id IN (SELECT json_array_elements_text(?::json)) ORDER BY conversation_id, label`, idList(ids))
	}
	if err != nil {
		return fmt.Errorf("inbox labels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, label string
		if err := rows.Scan(&id, &label); err != nil {
			return fmt.Errorf("scan inbox label: %w", err)
		}
		if it := byID[id]; it != nil {
			it.Labels = append(it.Labels, label)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("inbox labels: %w", err)
	}
	return nil
}

// allStatuses are the four inbox statuses: a listing without a status
// filter is the union of one ordered index walk per status.
var allStatuses = []parley.InboxStatus{parley.InboxOpen, parley.InboxPending, parley.InboxSnoozed, parley.InboxResolved}

// overdueIDs selects the ids of a business's unresolved items past an SLA
// target through the partial indexes inbox_first_due and
// inbox_resolve_due, so that the overdue view costs what is overdue, not
// what is open.
const overdueIDs = `SELECT conversation_id FROM inbox_items WHERE business_id = ? AND status != 'resolved'
		AND first_due_at < ? AND first_reply_at IS NULL
	UNION SELECT conversation_id FROM inbox_items WHERE business_id = ? AND status != 'resolved' AND resolve_due_at < ?`

// inboxWhere returns the WHERE clause of f (without After) and its
// arguments. The clause text depends only on which filters are set (and
// on how many statuses), so the statement cache holds a bounded number of
// variants. One status is an equality, so that inbox_by_status,
// inbox_by_assignee or inbox_by_team also gives the order and a page stops
// after Limit rows; several are an IN list (InboxItems splits them into
// one walk per status instead). With OverdueAt the rows come from
// overdueIDs, and the other terms are written +i.col so that the planner
// does not walk an index for them instead.
//
// Unassigned wins over AssigneeID.
func inboxWhere(f *parley.InboxFilter) (string, []any) {
	var b strings.Builder
	var args []any
	const col = "i."
	if f.OverdueAt != nil {
		n := toNanos(*f.OverdueAt)
		b.WriteString(`i.conversation_id IN (` + overdueIDs + `) AND `)
		args = append(args, f.BusinessID, n, f.BusinessID, n)
	}
	b.WriteString(col + `business_id = ?`)
	args = append(args, f.BusinessID)
	if f.Unassigned || f.AssigneeID != "" {
		assignee := f.AssigneeID
		if f.Unassigned {
			assignee = ""
		}
		b.WriteString(` AND ` + col + `assignee_id = ?`)
		args = append(args, assignee)
	}
	statuses := make([]string, len(f.Statuses))
	for i, s := range f.Statuses {
		statuses[i] = string(s)
	}
	switch statuses = uniqueIDs(statuses); len(statuses) {
	case 0:
	case 1:
		b.WriteString(` AND ` + col + `status = ?`)
		args = append(args, statuses[0])
	default:
		// A list of parameters rather than json_each: the planner knows
		// how many there are. There are only four statuses.
		b.WriteString(` AND ` + col + `status IN (?` + strings.Repeat(`, ?`, len(statuses)-1) + `)`)
		for _, s := range statuses {
			args = append(args, s)
		}
	}
	if f.TeamID != "" {
		// team_id != '' lets the partial index inbox_by_team serve.
		b.WriteString(` AND ` + col + `team_id = ? AND ` + col + `team_id != ''`)
		args = append(args, f.TeamID)
	}
	if f.ContactID != "" {
		b.WriteString(` AND ` + col + `contact_id = ?`)
		args = append(args, f.ContactID)
	}
	if f.Label != "" {
		b.WriteString(` AND EXISTS (SELECT 1 FROM inbox_labels l WHERE l.conversation_id = i.conversation_id AND l.label = ?)`)
		args = append(args, f.Label)
	}
	return b.String(), args
}

// inboxItemsQuery returns the statement of InboxItems and its arguments.
// Several statuses (or none, which is all four) become one ordered walk
// per status, each stopping after limit rows, merged: sorting every open
// item of a large business for one page would cost what the inbox holds.
func inboxItemsQuery(f parley.InboxFilter) (string, []any) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	statuses := f.Statuses
	if len(statuses) == 0 && f.ContactID == "" {
		statuses = allStatuses
	}
	if f.OverdueAt != nil && f.AssigneeID == "" && !f.Unassigned && f.TeamID == "" && f.ContactID == "" && f.Label == "" &&
		allUnresolved(f.Statuses) {
		return overdueQuery(f, limit)
	}
	if f.OverdueAt != nil || len(statuses) < 2 {
		return inboxWalk(f, limit)
	}
	var parts []string
	var args []any
	for _, st := range statuses {
		one := f
		one.Statuses = []parley.InboxStatus{st}
		q, a := inboxWalk(one, limit)
		parts = append(parts, `SELECT * FROM (`+q+`) AS x`)
		args = append(args, a...)
	}
	return strings.Join(parts, ` UNION ALL `) + ` ORDER BY activity_at DESC, conversation_id DESC LIMIT ?`, append(args, limit)
}

// overdueQuery lists a business's overdue items (any unresolved status)
// by reading only the covering partial indexes: the page is chosen and
// ordered inside them, and only its rows are fetched.
func overdueQuery(f parley.InboxFilter, limit int) (string, []any) {
	n := toNanos(*f.OverdueAt)
	after, afterArgs := "", []any(nil)
	if f.After != nil {
		after = ` AND (activity_at, conversation_id) < (?, ?)`
		afterArgs = []any{toNanos(f.After.ActivityAt), f.After.ConversationID}
	}
	args := []any{f.BusinessID, n}
	args = append(args, afterArgs...)
	args = append(args, f.BusinessID, n)
	args = append(args, afterArgs...)
	args = append(args, limit)
	q := `SELECT ` + inboxColsI + ` FROM inbox_items i WHERE i.conversation_id IN (
		SELECT conversation_id FROM (
			SELECT activity_at, conversation_id FROM inbox_items WHERE business_id = ? AND status != 'resolved'
				AND first_due_at < ? AND first_reply_at IS NULL` + after + `
			UNION SELECT activity_at, conversation_id FROM inbox_items WHERE business_id = ? AND status != 'resolved'
				AND resolve_due_at < ?` + after + `) AS x
		ORDER BY activity_at DESC, conversation_id DESC LIMIT ?)`
	return q + ` ORDER BY i.activity_at DESC, i.conversation_id DESC`, args
}

// allUnresolved reports whether sts is empty or names every unresolved
// status, so that an overdue listing needs no status filter.
func allUnresolved(sts []parley.InboxStatus) bool {
	if len(sts) == 0 {
		return true
	}
	for _, want := range []parley.InboxStatus{parley.InboxOpen, parley.InboxPending, parley.InboxSnoozed} {
		if !slices.Contains(sts, want) {
			return false
		}
	}
	return true
}

// inboxWalk is the statement of one ordered walk.
func inboxWalk(f parley.InboxFilter, limit int) (string, []any) {
	where, args := inboxWhere(&f)
	if f.After != nil {
		where += ` AND (i.activity_at, i.conversation_id) < (?, ?)`
		args = append(args, toNanos(f.After.ActivityAt), f.After.ConversationID)
	}
	args = append(args, limit)
	return `SELECT ` + inboxColsI + ` FROM inbox_items i WHERE ` + where +
		` ORDER BY i.activity_at DESC, i.conversation_id DESC LIMIT ?`, args
}

// inboxColsI is inboxCols qualified with the alias i.
const inboxColsI = `i.conversation_id, i.business_id, i.contact_id, i.status, i.snoozed_until, i.priority,
	i.assignee_id, i.team_id, i.attributes, i.opened_at, i.waiting_since, i.first_reply_at, i.assigned_at,
	i.resolved_at, i.first_due_at, i.resolve_due_at, i.away_sent_at, i.csat_message_id, i.activity_at, i.updated_at,
	i.control`

// InboxItems implements parley.BusinessTx.
func (t *tx) InboxItems(f parley.InboxFilter) ([]*parley.InboxItem, error) {
	q, args := inboxItemsQuery(f)
	return t.inboxItems(q, args...)
}

// inboxItems runs a query of inboxColsI and loads the labels.
func (t *tx) inboxItems(q string, args ...any) ([]*parley.InboxItem, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("inbox items: %w", err)
	}
	var out []*parley.InboxItem
	for rows.Next() {
		it, err := scanInboxItem(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan inbox item: %w", err)
		}
		out = append(out, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inbox items: %w", err)
	}
	if err := t.loadLabels(out); err != nil {
		return nil, err
	}
	return out, nil
}

// countInboxQuery returns the statement of CountInbox and its arguments.
func countInboxQuery(f parley.InboxFilter, max int) (string, []any) {
	where, args := inboxWhere(&f)
	if max <= 0 {
		return `SELECT COUNT(*) FROM inbox_items i WHERE ` + where, args
	}
	return `SELECT COUNT(*) FROM (SELECT 1 FROM inbox_items i WHERE ` + where + ` LIMIT ?) AS x`, append(args, max)
}

// CountInbox implements parley.BusinessTx. max <= 0 counts everything.
func (t *tx) CountInbox(f parley.InboxFilter, max int) (int, error) {
	q, args := countInboxQuery(f, max)
	var n int
	if err := t.queryRow(q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count inbox: %w", err)
	}
	return n, nil
}

// The statements of OpenLoads, DueSnoozes and Unanswered, served by
// inbox_by_assignee (covering), inbox_snoozed and inbox_waiting.
const (
	openLoadsQuery = `SELECT assignee_id, COUNT(*) FROM inbox_items
		WHERE business_id = ? AND assignee_id != '' AND status != 'resolved' GROUP BY assignee_id`
	dueSnoozesQuery = `SELECT ` + inboxColsI + ` FROM inbox_items i
		WHERE i.status = 'snoozed' AND i.snoozed_until <= ? ORDER BY i.snoozed_until, i.conversation_id LIMIT ?`
	unansweredQuery = `SELECT ` + inboxColsI + ` FROM inbox_items i
		WHERE i.status = 'open' AND i.assignee_id != '' AND i.waiting_since IS NOT NULL AND i.waiting_since < ?
		ORDER BY i.waiting_since, i.conversation_id LIMIT ?`
)

// OpenLoads implements parley.BusinessTx.
func (t *tx) OpenLoads(businessID string) (map[string]int, error) {
	rows, err := t.query(openLoadsQuery, businessID)
	if err != nil {
		return nil, fmt.Errorf("open loads: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("scan open load: %w", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("open loads: %w", err)
	}
	return out, nil
}

// defaultScanLimit is the page of DueSnoozes and Unanswered when limit <= 0.
const defaultScanLimit = 100

// DueSnoozes implements parley.BusinessTx.
func (t *tx) DueSnoozes(now time.Time, limit int) ([]*parley.InboxItem, error) {
	if limit <= 0 {
		limit = defaultScanLimit
	}
	return t.inboxItems(dueSnoozesQuery, toNanos(now), limit)
}

// Unanswered implements parley.BusinessTx.
func (t *tx) Unanswered(before time.Time, limit int) ([]*parley.InboxItem, error) {
	if limit <= 0 {
		limit = defaultScanLimit
	}
	return t.inboxItems(unansweredQuery, toNanos(before), limit)
}

// ---- Notes ----

const noteCols = `id, business_id, conversation_id, author_id, body, mentions, created_at`

// CreateNote implements parley.BusinessTx.
func (t *tx) CreateNote(n *parley.Note) error {
	mentions, err := toJSON(n.Mentions, len(n.Mentions) == 0)
	if err != nil {
		return fmt.Errorf("create note: mentions: %w", err)
	}
	_, err = t.guarded(`INSERT INTO notes (`+noteCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		n.ID, n.BusinessID, n.ConversationID, n.AuthorID, n.Text, mentions, toNanos(n.CreatedAt))
	switch {
	case isUnique(err):
		return parley.Errorf(parley.EConflict, "note %s exists", n.ID)
	case isForeignKey(err):
		return notFound("conversation")
	case err != nil:
		return fmt.Errorf("create note: %w", err)
	}
	return nil
}

// Notes implements parley.BusinessTx.
func (t *tx) Notes(businessID, conversationID string) ([]*parley.Note, error) {
	rows, err := t.query(`SELECT `+noteCols+` FROM notes WHERE business_id = ? AND conversation_id = ?
		ORDER BY created_at, id`, businessID, conversationID)
	if err != nil {
		return nil, fmt.Errorf("notes: %w", err)
	}
	defer rows.Close()
	var out []*parley.Note
	for rows.Next() {
		var n parley.Note
		var mentions string
		var created int64
		if err := rows.Scan(&n.ID, &n.BusinessID, &n.ConversationID, &n.AuthorID, &n.Text, &mentions, &created); err != nil {
			return nil, fmt.Errorf("scan note: %w", err)
		}
		if err := fromJSON(mentions, &n.Mentions); err != nil {
			return nil, fmt.Errorf("mentions of note %s: %w", n.ID, err)
		}
		n.CreatedAt = fromNanos(created)
		out = append(out, &n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notes: %w", err)
	}
	return out, nil
}

// ---- Saved replies ----

const savedReplyCols = `id, business_id, shortcut, title, body, created_by, created_at, updated_at`

func scanSavedReply(s scanner) (*parley.SavedReply, error) {
	var r parley.SavedReply
	var created, updated int64
	if err := s.Scan(&r.ID, &r.BusinessID, &r.Shortcut, &r.Title, &r.Body, &r.CreatedBy, &created, &updated); err != nil {
		return nil, err
	}
	r.CreatedAt, r.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &r, nil
}

// CreateSavedReply implements parley.BusinessTx.
func (t *tx) CreateSavedReply(r *parley.SavedReply) error {
	_, err := t.guarded(`INSERT INTO saved_replies (`+savedReplyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.BusinessID, r.Shortcut, r.Title, r.Body, r.CreatedBy, toNanos(r.CreatedAt), toNanos(r.UpdatedAt))
	switch {
	case isUnique(err):
		if strings.Contains(constraint(err), "shortcut") {
			return parley.Errorf(parley.EConflict, "shortcut %q is taken", r.Shortcut)
		}
		return parley.Errorf(parley.EConflict, "saved reply %s exists", r.ID)
	case isForeignKey(err):
		return notFound("business")
	case err != nil:
		return fmt.Errorf("create saved reply: %w", err)
	}
	return nil
}

// UpdateSavedReply implements parley.BusinessTx. It saves UpdatedAt too.
func (t *tx) UpdateSavedReply(r *parley.SavedReply) error {
	res, err := t.guarded(`UPDATE saved_replies SET shortcut = ?, title = ?, body = ?, updated_at = ?
		WHERE id = ? AND business_id = ?`, r.Shortcut, r.Title, r.Body, toNanos(r.UpdatedAt), r.ID, r.BusinessID)
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "shortcut %q is taken", r.Shortcut)
	} else if err != nil {
		return fmt.Errorf("update saved reply: %w", err)
	}
	return mustAffect(res, "saved reply")
}

// DeleteSavedReply implements parley.BusinessTx.
func (t *tx) DeleteSavedReply(businessID, id string) error {
	res, err := t.exec(`DELETE FROM saved_replies WHERE id = ? AND business_id = ?`, id, businessID)
	if err != nil {
		return fmt.Errorf("delete saved reply: %w", err)
	}
	return mustAffect(res, "saved reply")
}

// SavedReply implements parley.BusinessTx.
func (t *tx) SavedReply(businessID, id string) (*parley.SavedReply, error) {
	r, err := scanSavedReply(t.queryRow(`SELECT `+savedReplyCols+` FROM saved_replies WHERE id = ? AND business_id = ?`,
		id, businessID))
	if err != nil {
		return nil, rowErr(err, "saved reply")
	}
	return r, nil
}

// SavedReplies implements parley.BusinessTx. The query matches without
// regard to case (ASCII letters only, as SQLite's LIKE).
func (t *tx) SavedReplies(businessID, query string) ([]*parley.SavedReply, error) {
	var rows *sql.Rows
	var err error
	if query == "" {
		rows, err = t.query(`SELECT `+savedReplyCols+` FROM saved_replies WHERE business_id = ?
			ORDER BY shortcut`, businessID)
	} else {
		rows, err = t.query(`SELECT `+savedReplyCols+` FROM saved_replies WHERE business_id = ?1
			AND (shortcut ILIKE ?2 ESCAPE '\' OR title ILIKE ?2 ESCAPE '\') ORDER BY shortcut`,
			businessID, likeContains(query))
	}
	if err != nil {
		return nil, fmt.Errorf("saved replies: %w", err)
	}
	defer rows.Close()
	var out []*parley.SavedReply
	for rows.Next() {
		r, err := scanSavedReply(rows)
		if err != nil {
			return nil, fmt.Errorf("scan saved reply: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("saved replies: %w", err)
	}
	return out, nil
}

// ---- Contacts ----

const contactCols = `business_id, id, user_id, name, attributes, labels, notes, merged_into, created_at,
	updated_at, last_seen_at`

func scanContact(s scanner) (*parley.Contact, error) {
	var c parley.Contact
	var attrs, labels string
	var created, updated, seen int64
	if err := s.Scan(&c.BusinessID, &c.ID, &c.UserID, &c.Name, &attrs, &labels, &c.Notes, &c.MergedInto,
		&created, &updated, &seen); err != nil {
		return nil, err
	}
	if err := fromJSON(attrs, &c.Attributes); err != nil {
		return nil, fmt.Errorf("attributes of contact %s: %w", c.ID, err)
	}
	if err := fromJSON(labels, &c.Labels); err != nil {
		return nil, fmt.Errorf("labels of contact %s: %w", c.ID, err)
	}
	c.CreatedAt, c.UpdatedAt, c.LastSeenAt = fromNanos(created), fromNanos(updated), fromNanos(seen)
	return &c, nil
}

// PutContact implements parley.BusinessTx. A second unmerged contact of
// the same account is EConflict.
func (t *tx) PutContact(c *parley.Contact) error {
	attrs, err := toJSON(c.Attributes, len(c.Attributes) == 0)
	if err != nil {
		return fmt.Errorf("put contact: attributes: %w", err)
	}
	labels, err := toJSON(c.Labels, len(c.Labels) == 0)
	if err != nil {
		return fmt.Errorf("put contact: labels: %w", err)
	}
	_, err = t.guarded(`INSERT INTO contacts (`+contactCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (business_id, id) DO UPDATE SET user_id = excluded.user_id, name = excluded.name,
		attributes = excluded.attributes, labels = excluded.labels, notes = excluded.notes,
		merged_into = excluded.merged_into, created_at = excluded.created_at,
		updated_at = excluded.updated_at, last_seen_at = excluded.last_seen_at`,
		c.BusinessID, c.ID, c.UserID, c.Name, attrs, labels, c.Notes, c.MergedInto,
		toNanos(c.CreatedAt), toNanos(c.UpdatedAt), toNanos(c.LastSeenAt))
	switch {
	case isUnique(err):
		return parley.Errorf(parley.EConflict, "the business has a contact of user %s", c.UserID)
	case isForeignKey(err):
		return notFound("business")
	case err != nil:
		return fmt.Errorf("put contact: %w", err)
	}
	return t.putContactTags(c)
}

// Contact implements parley.BusinessTx.
func (t *tx) Contact(businessID, id string) (*parley.Contact, error) {
	c, err := scanContact(t.queryRow(`SELECT `+contactCols+` FROM contacts WHERE business_id = ? AND id = ?`,
		businessID, id))
	if err != nil {
		return nil, rowErr(err, "contact")
	}
	return c, nil
}

// ContactByUser implements parley.BusinessTx. Merged contacts are skipped.
func (t *tx) ContactByUser(businessID, userID string) (*parley.Contact, error) {
	if userID == "" {
		return nil, notFound("contact")
	}
	c, err := scanContact(t.queryRow(`SELECT `+contactCols+` FROM contacts
		WHERE business_id = ? AND user_id = ? AND user_id != '' AND merged_into = ''`, businessID, userID))
	if err != nil {
		return nil, rowErr(err, "contact")
	}
	return c, nil
}

// Contacts implements parley.BusinessTx. The query matches without regard
// to case (ASCII letters only, as SQLite's LIKE); limit <= 0 means 50.
func (t *tx) Contacts(businessID, query string, afterName, afterID string, limit int) ([]*parley.Contact, error) {
	if limit <= 0 {
		limit = 50
	}
	q := `SELECT ` + contactCols + ` FROM contacts WHERE business_id = ? AND merged_into = ''`
	args := []any{businessID}
	if query != "" {
		q += ` AND name ILIKE ? ESCAPE '\'`
		args = append(args, likeContains(query))
	}
	if afterID != "" {
		q += ` AND (name, id) > (?, ?)`
		args = append(args, afterName, afterID)
	}
	q += ` ORDER BY name, id LIMIT ?`
	args = append(args, limit)
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	defer rows.Close()
	var out []*parley.Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("scan contact: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	return out, nil
}

// MoveContactItems implements parley.BusinessTx.
func (t *tx) MoveContactItems(businessID, fromID, toID string) error {
	if _, err := t.exec(`UPDATE inbox_items SET contact_id = ? WHERE business_id = ? AND contact_id = ?`,
		toID, businessID, fromID); err != nil {
		return fmt.Errorf("move contact items: %w", err)
	}
	return nil
}

// ---- Settings ----

// BusinessSettings implements parley.BusinessTx.
func (t *tx) BusinessSettings(businessID string) (json.RawMessage, error) {
	var s string
	err := t.queryRow(`SELECT settings FROM business_settings WHERE business_id = ?`, businessID).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("business settings: %w", err)
	}
	return rawJSON(s), nil
}

// PutBusinessSettings implements parley.BusinessTx.
func (t *tx) PutBusinessSettings(businessID string, settings json.RawMessage, at time.Time) error {
	_, err := t.guarded(`INSERT INTO business_settings (business_id, settings, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (business_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
		businessID, string(settings), toNanos(at))
	if isForeignKey(err) {
		return notFound("business")
	} else if err != nil {
		return fmt.Errorf("put business settings: %w", err)
	}
	return nil
}

// ---- Audit ----

const auditCols = `id, business_id, conversation_id, actor_id, action, agent_id, team_id, value, data, at`

// AppendAudit implements parley.BusinessTx.
func (t *tx) AppendAudit(a *parley.InboxAudit) error {
	err := t.queryRow(`INSERT INTO inbox_audit (business_id, conversation_id, actor_id, action, agent_id, team_id,
		value, data, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.BusinessID, a.ConversationID, a.ActorID, a.Action, a.AgentID, a.TeamID, a.Value, string(a.Data), toNanos(a.At)).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// Audit limits.
const (
	defaultAuditLimit = 1000
	maxAuditLimit     = 100000
)

// Audit implements parley.BusinessTx.
func (t *tx) Audit(f parley.AuditFilter) ([]*parley.InboxAudit, error) {
	q := `SELECT ` + auditCols + ` FROM inbox_audit WHERE business_id = ?`
	args := []any{f.BusinessID}
	if f.ConversationID != "" {
		q += ` AND conversation_id = ?`
		args = append(args, f.ConversationID)
	}
	if len(f.Actions) > 0 {
		q += ` AND action IN (SELECT json_array_elements_text(?::json))`
		args = append(args, idList(f.Actions))
	}
	if !f.From.IsZero() {
		q += ` AND at >= ?`
		args = append(args, toNanos(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND at < ?`
		args = append(args, toNanos(f.To))
	}
	if f.AfterID > 0 {
		q += ` AND id > ?`
		args = append(args, f.AfterID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	} else if limit > maxAuditLimit {
		limit = maxAuditLimit
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, limit)
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	var out []*parley.InboxAudit
	for rows.Next() {
		var a parley.InboxAudit
		var data string
		var when int64
		if err := rows.Scan(&a.ID, &a.BusinessID, &a.ConversationID, &a.ActorID, &a.Action, &a.AgentID, &a.TeamID,
			&a.Value, &data, &when); err != nil {
			return nil, fmt.Errorf("scan audit: %w", err)
		}
		a.Data, a.At = rawJSON(data), fromNanos(when)
		out = append(out, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}
