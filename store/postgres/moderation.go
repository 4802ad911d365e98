package postgres

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/parleyhq/parley"
)

var _ parley.ModerationTx = (*tx)(nil)

const requestScoreCols = `conversation_id, user_id, sender_id, score, filtered, signals, learned, updated_at`

func scanRequestScore(s scanner) (*parley.RequestScore, error) {
	var r parley.RequestScore
	var updated int64
	if err := s.Scan(&r.ConversationID, &r.UserID, &r.SenderID, &r.Score, &r.Filtered, &r.Signals, &r.Learned, &updated); err != nil {
		return nil, err
	}
	r.UpdatedAt = fromNanos(updated)
	return &r, nil
}

// PutRequestScore implements parley.ModerationTx.
func (t *tx) PutRequestScore(r *parley.RequestScore) error {
	_, err := t.exec(`INSERT INTO request_scores (`+requestScoreCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (conversation_id, user_id) DO UPDATE SET sender_id = excluded.sender_id, score = excluded.score,
		filtered = excluded.filtered, signals = excluded.signals, learned = excluded.learned, updated_at = excluded.updated_at`,
		r.ConversationID, r.UserID, r.SenderID, r.Score, r.Filtered, r.Signals, r.Learned, toNanos(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put request score: %w", err)
	}
	return nil
}

// RequestScore implements parley.ModerationTx.
func (t *tx) RequestScore(conversationID, userID string) (*parley.RequestScore, error) {
	r, err := scanRequestScore(t.queryRow(`SELECT `+requestScoreCols+` FROM request_scores
		WHERE conversation_id = ? AND user_id = ?`, conversationID, userID))
	if err != nil {
		return nil, rowErr(err, "request score")
	}
	return r, nil
}

// DeleteRequestScore implements parley.ModerationTx.
func (t *tx) DeleteRequestScore(conversationID, userID string) error {
	if _, err := t.exec(`DELETE FROM request_scores WHERE conversation_id = ? AND user_id = ?`, conversationID, userID); err != nil {
		return fmt.Errorf("delete request score: %w", err)
	}
	return nil
}

// The requests list: a member's pending requests, lowest score first.
const (
	requestListFrom = `SELECT ` + convColsC + `, ` + memberColsM + `,
		s.sender_id, s.score, s.filtered, s.signals, s.learned, s.updated_at
		FROM members m JOIN conversations c ON c.id = m.conversation_id
		LEFT JOIN request_scores s ON s.conversation_id = m.conversation_id AND s.user_id = m.user_id
		WHERE m.user_id = ? AND m.folder = 'requests' AND m.status = 'pending'
		AND (c.last_seq > 0 OR c.created_by = m.user_id)
		AND COALESCE(s.filtered, 0) = ?`
	requestListOrder = `
		ORDER BY COALESCE(s.score, 0), c.id LIMIT ?`
)

// Requests implements parley.ModerationTx. The default page size is 50.
func (t *tx) Requests(f parley.RequestFilter) ([]parley.ScoredRequest, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	var rows *sql.Rows
	var err error
	if a := f.After; a != nil {
		rows, err = t.query(requestListFrom+` AND (COALESCE(s.score, 0) > ? OR (COALESCE(s.score, 0) = ? AND c.id > ?))`+requestListOrder,
			f.UserID, f.Filtered, a.Score, a.Score, a.ID, limit)
	} else {
		rows, err = t.query(requestListFrom+requestListOrder, f.UserID, f.Filtered, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	defer rows.Close()
	out := []parley.ScoredRequest{}
	for rows.Next() {
		var c parley.Conversation
		var m parley.Member
		var created, activity int64
		var key sql.NullString
		var ms memberScan
		var sender, signals, learned sql.NullString
		var score sql.NullFloat64
		var filtered sql.NullBool
		var updated sql.NullInt64
		dest := append(scanConvDest(&c, &created, &activity, &key), ms.dest(&m)...)
		dest = append(dest, &sender, &score, &filtered, &signals, &learned, &updated)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan request: %w", err)
		}
		c.CreatedAt, c.LastActivityAt, c.DirectKey = fromNanos(created), fromNanos(activity), key.String
		ms.finish(&m)
		row := parley.ScoredRequest{Conversation: &c, Member: &m}
		if sender.Valid {
			row.Score = &parley.RequestScore{ConversationID: c.ID, UserID: m.UserID, SenderID: sender.String, Score: score.Float64,
				Filtered: filtered.Bool, Signals: signals.String, Learned: learned.String, UpdatedAt: fromNanos(updated.Int64)}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	return out, nil
}

// SpamTotals implements parley.ModerationTx.
func (t *tx) SpamTotals() (spamDocs, hamDocs int64, err error) {
	err = t.queryRow(`SELECT COALESCE((SELECT docs FROM spam_totals WHERE class = 'spam'), 0),
		COALESCE((SELECT docs FROM spam_totals WHERE class = 'ham'), 0)`).Scan(&spamDocs, &hamDocs)
	if err != nil {
		return 0, 0, fmt.Errorf("spam totals: %w", err)
	}
	return spamDocs, hamDocs, nil
}

// SpamTokens implements parley.ModerationTx.
func (t *tx) SpamTokens(tokens []string) (map[string]parley.TokenCounts, error) {
	out := make(map[string]parley.TokenCounts, len(tokens))
	if len(tokens) == 0 {
		return out, nil
	}
	rows, err := t.query(`SELECT token, spam, ham FROM spam_tokens WHERE token IN (SELECT json_array_elements_text(?::json))`, idList(tokens))
	if err != nil {
		return nil, fmt.Errorf("spam tokens: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tok string
		var c parley.TokenCounts
		if err := rows.Scan(&tok, &c.Spam, &c.Ham); err != nil {
			return nil, fmt.Errorf("scan spam token: %w", err)
		}
		out[tok] = c
	}
	return out, rows.Err()
}

// LearnSpam implements parley.ModerationTx.
func (t *tx) LearnSpam(tokens []string, spam bool, delta int) error {
	class, col := "ham", "ham"
	if spam {
		class, col = "spam", "spam"
	}
	if _, err := t.exec(`INSERT INTO spam_totals (class, docs) VALUES (?, GREATEST(?::bigint, 0))
		ON CONFLICT (class) DO UPDATE SET docs = GREATEST(spam_totals.docs + ?::bigint, 0)`, class, delta, delta); err != nil {
		return fmt.Errorf("learn spam totals: %w", err)
	}
	if len(tokens) == 0 {
		return nil
	}
	// col is one of two constants above, never input.
	_, err := t.exec(`INSERT INTO spam_tokens (token, `+col+`) SELECT v, GREATEST(?::bigint, 0) FROM json_array_elements_text(?::json) AS v
		ON CONFLICT (token) DO UPDATE SET `+col+` = GREATEST(spam_tokens.`+col+` + ?::bigint, 0)`, delta, idList(tokens), delta)
	if err != nil {
		return fmt.Errorf("learn spam tokens: %w", err)
	}
	return nil
}

// AddFingerprint implements parley.ModerationTx.
func (t *tx) AddFingerprint(senderID, fp, recipientID string, at, dropBefore time.Time) error {
	if _, err := t.exec(`DELETE FROM spam_fingerprints WHERE sender_id = ? AND at < ?`, senderID, toNanos(dropBefore)); err != nil {
		return fmt.Errorf("drop fingerprints: %w", err)
	}
	if _, err := t.exec(`INSERT INTO spam_fingerprints (sender_id, fingerprint, recipient_id, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (sender_id, fingerprint, recipient_id) DO UPDATE SET at = excluded.at`, senderID, fp, recipientID, toNanos(at)); err != nil {
		return fmt.Errorf("add fingerprint: %w", err)
	}
	return nil
}

// CountFingerprintRecipients implements parley.ModerationTx.
func (t *tx) CountFingerprintRecipients(senderID, fp string, since time.Time, max int) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM (SELECT 1 FROM spam_fingerprints
		WHERE sender_id = ? AND fingerprint = ? AND at >= ? LIMIT ?) AS x`, senderID, fp, toNanos(since), max).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count fingerprints: %w", err)
	}
	return n, nil
}

// CountFollowOverlap implements parley.ModerationTx.
func (t *tx) CountFollowOverlap(viewerID, userID string, max int) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM (SELECT 1 FROM follows a
		JOIN follows b ON b.follower_id = a.followee_id AND b.followee_id = ?
		WHERE a.follower_id = ? LIMIT ?) AS x`, userID, viewerID, max).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count follow overlap: %w", err)
	}
	return n, nil
}

// CountReportsAgainst implements parley.ModerationTx.
func (t *tx) CountReportsAgainst(userID string, since time.Time, max int) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM (SELECT 1 FROM reports WHERE target_user_id = ? AND created_at >= ? LIMIT ?) AS x`,
		userID, toNanos(since), max).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count reports: %w", err)
	}
	return n, nil
}

const filterCols = `id, owner_id, kind, pattern, action, created_by, created_at`

func scanFilter(s scanner) (*parley.Filter, error) {
	var f parley.Filter
	var created int64
	if err := s.Scan(&f.ID, &f.OwnerID, &f.Kind, &f.Pattern, &f.Action, &f.CreatedBy, &created); err != nil {
		return nil, err
	}
	f.CreatedAt = fromNanos(created)
	return &f, nil
}

// CreateFilter implements parley.ModerationTx.
func (t *tx) CreateFilter(f *parley.Filter) error {
	_, err := t.guarded(`INSERT INTO filters (`+filterCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.OwnerID, f.Kind, f.Pattern, f.Action, f.CreatedBy, toNanos(f.CreatedAt))
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "this filter exists")
	} else if err != nil {
		return fmt.Errorf("create filter: %w", err)
	}
	return nil
}

// Filters implements parley.ModerationTx.
func (t *tx) Filters(ownerID string) ([]*parley.Filter, error) {
	return queryAll(t, "list filters", scanFilter, `SELECT `+filterCols+` FROM filters WHERE owner_id = ?
		ORDER BY created_at, id`, ownerID)
}

// DeleteFilter implements parley.ModerationTx.
func (t *tx) DeleteFilter(ownerID, id string) error {
	res, err := t.exec(`DELETE FROM filters WHERE owner_id = ? AND id = ?`, ownerID, id)
	if err != nil {
		return fmt.Errorf("delete filter: %w", err)
	}
	return mustAffect(res, "filter")
}

const reportCols = `id, reporter_id, target_user_id, conversation_id, message_id, reason, detail, created_at,
	status, resolution, resolved_by, resolved_at, note`

func scanReport(s scanner) (*parley.Report, error) {
	var r parley.Report
	var created int64
	var resolved sql.NullInt64
	if err := s.Scan(&r.ID, &r.ReporterID, &r.TargetUserID, &r.ConversationID, &r.MessageID, &r.Reason, &r.Detail, &created,
		&r.Status, &r.Resolution, &r.ResolvedBy, &resolved, &r.Note); err != nil {
		return nil, err
	}
	r.CreatedAt, r.ResolvedAt = fromNanos(created), fromNullNanos(resolved)
	return &r, nil
}

// ReportByID implements parley.ModerationTx.
func (t *tx) ReportByID(id string) (*parley.Report, error) {
	r, err := scanReport(t.queryRow(`SELECT `+reportCols+` FROM reports WHERE id = ?`, id))
	if err != nil {
		return nil, rowErr(err, "report")
	}
	return r, nil
}

// Reports implements parley.ModerationTx. The default page size is 50.
func (t *tx) Reports(f parley.ReportFilter) ([]*parley.Report, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	q := `SELECT ` + reportCols + ` FROM reports WHERE (?::text = '' OR status = ?)`
	args := []any{f.Status, f.Status}
	if f.BeforeID != "" {
		at := toNanos(f.BeforeAt)
		q += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, at, at, f.BeforeID)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	return queryAll(t, "list reports", scanReport, q, append(args, limit)...)
}

// ResolveReport implements parley.ModerationTx.
func (t *tx) ResolveReport(r *parley.Report) error {
	res, err := t.exec(`UPDATE reports SET status = ?, resolution = ?, resolved_by = ?, resolved_at = ?, note = ? WHERE id = ?`,
		r.Status, r.Resolution, r.ResolvedBy, toNullNanos(r.ResolvedAt), r.Note, r.ID)
	if err != nil {
		return fmt.Errorf("resolve report: %w", err)
	}
	return mustAffect(res, "report")
}

// SetReportDetail implements parley.ModerationTx.
func (t *tx) SetReportDetail(id, detail string) error {
	res, err := t.exec(`UPDATE reports SET detail = ? WHERE id = ?`, detail, id)
	if err != nil {
		return fmt.Errorf("set report detail: %w", err)
	}
	return mustAffect(res, "report")
}
