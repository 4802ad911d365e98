package sqlite

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// Webhooks and their outbox (migration 0006).

const webhookCols = `id, owner_id, url, description, events, secret, previous_secret, previous_until, enabled,
	disabled_reason, disabled_at, failing_since, last_success_at, created_at, updated_at`

func scanWebhook(s scanner) (*parley.Webhook, error) {
	var h parley.Webhook
	var events string
	var prevUntil, disabledAt, failing, success sql.NullInt64
	var created, updated int64
	if err := s.Scan(&h.ID, &h.OwnerID, &h.URL, &h.Description, &events, &h.Secret, &h.PreviousSecret, &prevUntil,
		&h.Enabled, &h.DisabledReason, &disabledAt, &failing, &success, &created, &updated); err != nil {
		return nil, err
	}
	h.Events = strings.Fields(events)
	h.PreviousUntil, h.DisabledAt = fromNullNanos(prevUntil), fromNullNanos(disabledAt)
	h.FailingSince, h.LastSuccessAt = fromNullNanos(failing), fromNullNanos(success)
	h.CreatedAt, h.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &h, nil
}

// CreateWebhook implements parley.WebhookTx.
func (t *tx) CreateWebhook(h *parley.Webhook) error {
	_, err := t.exec(`INSERT INTO webhooks (`+webhookCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		h.ID, h.OwnerID, h.URL, h.Description, strings.Join(h.Events, " "), h.Secret, h.PreviousSecret,
		toNullNanos(h.PreviousUntil), h.Enabled, h.DisabledReason, toNullNanos(h.DisabledAt), toNullNanos(h.FailingSince),
		toNullNanos(h.LastSuccessAt), toNanos(h.CreatedAt), toNanos(h.UpdatedAt))
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "webhook exists")
	} else if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	return nil
}

// Webhook implements parley.WebhookTx.
func (t *tx) Webhook(id string) (*parley.Webhook, error) {
	h, err := scanWebhook(t.queryRow(`SELECT `+webhookCols+` FROM webhooks WHERE id = ?`, id))
	if err != nil {
		return nil, rowErr(err, "webhook")
	}
	return h, nil
}

// Webhooks implements parley.WebhookTx.
func (t *tx) Webhooks(ownerID string) ([]*parley.Webhook, error) {
	return t.scanWebhooks(`SELECT `+webhookCols+` FROM webhooks WHERE owner_id = ? ORDER BY created_at, id`, ownerID)
}

// EnabledWebhooks implements parley.WebhookTx.
func (t *tx) EnabledWebhooks() ([]*parley.Webhook, error) {
	return t.scanWebhooks(`SELECT ` + webhookCols + ` FROM webhooks WHERE enabled = 1 ORDER BY owner_id, created_at, id`)
}

func (t *tx) scanWebhooks(query string, args ...any) ([]*parley.Webhook, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	defer rows.Close()
	out := []*parley.Webhook{}
	for rows.Next() {
		h, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("scan webhook: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}

// UpdateWebhook implements parley.WebhookTx.
func (t *tx) UpdateWebhook(h *parley.Webhook) error {
	res, err := t.exec(`UPDATE webhooks SET url = ?, description = ?, events = ?, secret = ?, previous_secret = ?,
		previous_until = ?, enabled = ?, disabled_reason = ?, disabled_at = ?, failing_since = ?, last_success_at = ?,
		updated_at = ? WHERE id = ?`,
		h.URL, h.Description, strings.Join(h.Events, " "), h.Secret, h.PreviousSecret, toNullNanos(h.PreviousUntil),
		h.Enabled, h.DisabledReason, toNullNanos(h.DisabledAt), toNullNanos(h.FailingSince), toNullNanos(h.LastSuccessAt),
		toNanos(h.UpdatedAt), h.ID)
	if err != nil {
		return fmt.Errorf("update webhook: %w", err)
	}
	return mustAffect(res, "webhook")
}

// DeleteWebhook implements parley.WebhookTx.
func (t *tx) DeleteWebhook(id string) error {
	res, err := t.exec(`DELETE FROM webhooks WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	if err := mustAffect(res, "webhook"); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM webhook_deliveries WHERE webhook_id = ?`, id); err != nil {
		return fmt.Errorf("delete webhook deliveries: %w", err)
	}
	return nil
}

// ---- The outbox ----

const deliveryCols = `seq, id, webhook_id, pos, type, as_id, conversation_id, status, attempts, next_at,
	first_attempt_at, last_attempt_at, last_status, last_error, delivered_at, created_at`

func scanDelivery(s scanner) (*parley.WebhookDelivery, error) {
	var d parley.WebhookDelivery
	var status string
	var next, created int64
	var first, last, delivered sql.NullInt64
	if err := s.Scan(&d.Seq, &d.ID, &d.WebhookID, &d.Pos, &d.Type, &d.As, &d.ConversationID, &status, &d.Attempts, &next,
		&first, &last, &d.LastStatus, &d.LastError, &delivered, &created); err != nil {
		return nil, err
	}
	d.Status = parley.DeliveryStatus(status)
	d.NextAt, d.CreatedAt = fromNanos(next), fromNanos(created)
	d.FirstAttemptAt, d.LastAttemptAt, d.DeliveredAt = fromNullNanos(first), fromNullNanos(last), fromNullNanos(delivered)
	return &d, nil
}

func (t *tx) scanDeliveries(query string, args ...any) ([]*parley.WebhookDelivery, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.WebhookDelivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// enqueueDelivery inserts one row, pending unless its queue has an
// unfinished row, and returns its seq and status.
const enqueueDelivery = `INSERT INTO webhook_deliveries (id, webhook_id, pos, type, as_id, conversation_id, status,
	next_at, created_at)
	SELECT ?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN EXISTS (SELECT 1 FROM webhook_deliveries
		WHERE webhook_id = ?2 AND conversation_id = ?6 AND status IN ('queued', 'pending')) THEN 'queued' ELSE 'pending' END,
	?7, ?8
	RETURNING seq, status`

// EnqueueDeliveries implements parley.WebhookTx.
func (t *tx) EnqueueDeliveries(ds []*parley.WebhookDelivery) error {
	for _, d := range ds {
		var status string
		err := t.queryRow(enqueueDelivery, d.ID, d.WebhookID, d.Pos, d.Type, d.As, d.ConversationID,
			toNanos(d.NextAt), toNanos(d.CreatedAt)).Scan(&d.Seq, &status)
		if isUnique(err) {
			return parley.Errorf(parley.EConflict, "delivery id taken")
		} else if err != nil {
			return fmt.Errorf("enqueue delivery: %w", err)
		}
		d.Status = parley.DeliveryStatus(status)
	}
	return nil
}

// claimDeliveries leases the earliest due heads of enabled webhooks. The
// subquery walks the partial index of pending rows by due time (named:
// without statistics the planner would rather read every pending row by
// status and sort them).
const claimDeliveries = `UPDATE webhook_deliveries SET next_at = ?1 WHERE seq IN (
	SELECT d.seq FROM webhook_deliveries d INDEXED BY webhook_deliveries_due JOIN webhooks w ON w.id = d.webhook_id
	WHERE d.status = 'pending' AND d.next_at <= ?2 AND w.enabled = 1
	ORDER BY d.next_at LIMIT ?3)
	RETURNING ` + deliveryCols

// ClaimDeliveries implements parley.WebhookTx.
func (t *tx) ClaimDeliveries(now, until time.Time, limit int) ([]*parley.WebhookDelivery, error) {
	out, err := t.scanDeliveries(claimDeliveries, toNanos(until), toNanos(now), limit)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// DeliveriesDue implements parley.WebhookTx, with claimDeliveries'
// condition.
func (t *tx) DeliveriesDue(now time.Time) (bool, error) {
	var due bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM webhook_deliveries d INDEXED BY webhook_deliveries_due JOIN webhooks w ON w.id = d.webhook_id
		WHERE d.status = 'pending' AND d.next_at <= ? AND w.enabled = 1)`, toNanos(now)).Scan(&due)
	if err != nil {
		return false, fmt.Errorf("deliveries due: %w", err)
	}
	return due, nil
}

// SaveDelivery implements parley.WebhookTx.
func (t *tx) SaveDelivery(d *parley.WebhookDelivery) error {
	res, err := t.exec(`UPDATE webhook_deliveries SET status = ?, attempts = ?, next_at = ?, first_attempt_at = ?,
		last_attempt_at = ?, last_status = ?, last_error = ?, delivered_at = ?
		WHERE seq = ? AND status IN ('queued', 'pending')`,
		string(d.Status), d.Attempts, toNanos(d.NextAt), toNullNanos(d.FirstAttemptAt), toNullNanos(d.LastAttemptAt),
		d.LastStatus, d.LastError, toNullNanos(d.DeliveredAt), d.Seq)
	if err != nil {
		return fmt.Errorf("save delivery: %w", err)
	}
	return mustAffect(res, "delivery")
}

// QueuedDeliveries implements parley.WebhookTx.
func (t *tx) QueuedDeliveries(webhookID, conversationID string, limit int) ([]*parley.WebhookDelivery, error) {
	// The IN term names the partial index of unfinished rows, which the
	// planner uses only when the query repeats its condition.
	out, err := t.scanDeliveries(`SELECT `+deliveryCols+` FROM webhook_deliveries
		WHERE webhook_id = ? AND conversation_id = ? AND status IN ('queued', 'pending') AND status = 'queued'
		ORDER BY seq LIMIT ?`, webhookID, conversationID, limit)
	if err != nil {
		return nil, fmt.Errorf("queued deliveries: %w", err)
	}
	return out, nil
}

// PromoteNext implements parley.WebhookTx.
func (t *tx) PromoteNext(webhookID, conversationID string, at time.Time) error {
	_, err := t.exec(`UPDATE webhook_deliveries SET status = 'pending', next_at = ?3 WHERE seq = (
		SELECT seq FROM webhook_deliveries WHERE webhook_id = ?1 AND conversation_id = ?2 AND status IN ('queued', 'pending')
		ORDER BY seq LIMIT 1) AND status = 'queued'`, webhookID, conversationID, toNanos(at))
	if err != nil {
		return fmt.Errorf("promote delivery: %w", err)
	}
	return nil
}

// RescheduleDeliveries implements parley.WebhookTx.
func (t *tx) RescheduleDeliveries(webhookID string, at time.Time) error {
	_, err := t.exec(`UPDATE webhook_deliveries SET next_at = ? WHERE webhook_id = ? AND status = 'pending'`,
		toNanos(at), webhookID)
	if err != nil {
		return fmt.Errorf("reschedule deliveries: %w", err)
	}
	return nil
}

// Delivery implements parley.WebhookTx.
func (t *tx) Delivery(webhookID, id string) (*parley.WebhookDelivery, error) {
	d, err := scanDelivery(t.queryRow(`SELECT `+deliveryCols+` FROM webhook_deliveries WHERE id = ? AND webhook_id = ?`,
		id, webhookID))
	if err != nil {
		return nil, rowErr(err, "delivery")
	}
	return d, nil
}

// Deliveries implements parley.WebhookTx. The default page size is 50.
func (t *tx) Deliveries(f parley.DeliveryFilter) ([]*parley.WebhookDelivery, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	before := f.BeforeSeq
	if before <= 0 {
		before = 1<<63 - 1
	}
	attempted := 0
	if f.Attempted {
		attempted = 1
	}
	var out []*parley.WebhookDelivery
	var err error
	switch len(f.Statuses) {
	case 0:
		out, err = t.scanDeliveries(`SELECT `+deliveryCols+` FROM webhook_deliveries
			WHERE webhook_id = ? AND seq < ? AND attempts >= ? ORDER BY seq DESC LIMIT ?`, f.WebhookID, before, attempted, limit)
	case 1:
		// An ordered walk of (webhook_id, status, seq), backwards.
		out, err = t.scanDeliveries(`SELECT `+deliveryCols+` FROM webhook_deliveries
			WHERE webhook_id = ? AND status = ? AND seq < ? AND attempts >= ? ORDER BY seq DESC LIMIT ?`,
			f.WebhookID, string(f.Statuses[0]), before, attempted, limit)
	default:
		statuses := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			statuses[i] = string(s)
		}
		out, err = t.scanDeliveries(`SELECT `+deliveryCols+` FROM webhook_deliveries
			WHERE webhook_id = ? AND status IN (SELECT value FROM json_each(?)) AND seq < ? AND attempts >= ?
			ORDER BY seq DESC LIMIT ?`, f.WebhookID, idList(statuses), before, attempted, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// ReplayDelivery implements parley.WebhookTx: the row takes the next seq,
// so that it goes behind every unfinished row of its queue.
func (t *tx) ReplayDelivery(webhookID, id string, at time.Time) (*parley.WebhookDelivery, error) {
	d, err := scanDelivery(t.queryRow(`UPDATE webhook_deliveries SET
		seq = (SELECT MAX(seq) + 1 FROM webhook_deliveries),
		status = CASE WHEN EXISTS (SELECT 1 FROM webhook_deliveries q WHERE q.webhook_id = ?1
			AND q.conversation_id = webhook_deliveries.conversation_id AND q.status IN ('queued', 'pending'))
			THEN 'queued' ELSE 'pending' END,
		attempts = 0, next_at = ?3, first_attempt_at = NULL, last_attempt_at = NULL, last_status = 0, last_error = '',
		delivered_at = NULL
		WHERE webhook_id = ?1 AND id = ?2 AND status IN ('delivered', 'dead', 'skipped')
		RETURNING `+deliveryCols, webhookID, id, toNanos(at)))
	if err != nil {
		return nil, rowErr(err, "delivery")
	}
	return d, nil
}

// PruneDeliveries implements parley.WebhookTx.
func (t *tx) PruneDeliveries(statuses []parley.DeliveryStatus, before time.Time, limit int) (int, error) {
	ss := make([]string, len(statuses))
	for i, s := range statuses {
		ss[i] = string(s)
	}
	res, err := t.exec(`DELETE FROM webhook_deliveries WHERE seq IN (SELECT seq FROM webhook_deliveries
		WHERE status IN (SELECT value FROM json_each(?)) AND created_at < ? LIMIT ?)`, idList(ss), toNanos(before), limit)
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ---- What deliveries are made of ----

// EventsAt implements parley.WebhookTx.
func (t *tx) EventsAt(positions []int64) ([]*parley.Message, []*parley.Event, error) {
	list := positionList(positions)
	msgs, err := t.scanMessages(`SELECT `+messageCols+` FROM messages WHERE pos IN (SELECT value FROM json_each(?))
		ORDER BY pos`, list)
	if err != nil {
		return nil, nil, fmt.Errorf("messages at: %w", err)
	}
	rows, err := t.query(`SELECT `+eventCols+` FROM events WHERE pos IN (SELECT value FROM json_each(?)) ORDER BY pos`, list)
	if err != nil {
		return nil, nil, fmt.Errorf("events at: %w", err)
	}
	defer rows.Close()
	evs := []*parley.Event{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, nil, fmt.Errorf("scan event: %w", err)
		}
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("events at: %w", err)
	}
	return msgs, evs, nil
}

// positionList encodes positions as one JSON array (see idList).
func positionList(ps []int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, p)
	}
	b.WriteByte(']')
	return b.String()
}

func scanEvent(s scanner) (*parley.Event, error) {
	var e parley.Event
	var data string
	var created int64
	if err := s.Scan(&e.Pos, &e.Type, &e.ConversationID, &e.UserID, &e.ActorID, &e.MessageID, &e.Seq, &data, &created); err != nil {
		return nil, err
	}
	e.Data, e.CreatedAt = []byte(data), fromNanos(created)
	return &e, nil
}

// MembersAmong implements parley.WebhookTx.
func (t *tx) MembersAmong(conversationID string, userIDs []string) ([]*parley.Member, error) {
	return queryAll(t, "members among", scanMember, `SELECT `+memberCols+` FROM members WHERE conversation_id = ?
		AND user_id IN (SELECT value FROM json_each(?)) ORDER BY user_id`, conversationID, idList(userIDs))
}

// PreviousEvent implements parley.WebhookTx. It reads the conversation's
// events backwards from before.
func (t *tx) PreviousEvent(userID, conversationID, typ string, before int64) (*parley.Event, error) {
	e, err := scanEvent(t.queryRow(`SELECT `+eventCols+` FROM events WHERE conversation_id = ? AND pos < ?
		AND user_id = ? AND type = ? ORDER BY pos DESC LIMIT 1`, conversationID, before, userID, typ))
	if err != nil {
		return nil, rowErr(err, "event")
	}
	return e, nil
}
