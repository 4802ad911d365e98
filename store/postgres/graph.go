package postgres

import (
	"fmt"
	"time"

	"github.com/parleyhq/parley"
)

// SetFollow implements parley.GraphTx.
func (t *tx) SetFollow(followerID, followeeID string, on bool, at time.Time) (bool, error) {
	if on {
		res, err := t.exec(`INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			followerID, followeeID, toNanos(at))
		if err != nil {
			return false, fmt.Errorf("follow: %w", err)
		}
		return affected(res)
	}
	res, err := t.exec(`DELETE FROM follows WHERE follower_id = ? AND followee_id = ?`, followerID, followeeID)
	if err != nil {
		return false, fmt.Errorf("unfollow: %w", err)
	}
	return affected(res)
}

// IsFollowing implements parley.GraphTx.
func (t *tx) IsFollowing(followerID, followeeID string) (bool, error) {
	var ok bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = ? AND followee_id = ?)`,
		followerID, followeeID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("is following: %w", err)
	}
	return ok, nil
}

// FollowCounts implements parley.GraphTx.
func (t *tx) FollowCounts(userID string) (followers, following int, err error) {
	err = t.queryRow(`SELECT (SELECT COUNT(*) FROM follows WHERE followee_id = ?),
		(SELECT COUNT(*) FROM follows WHERE follower_id = ?)`, userID, userID).Scan(&followers, &following)
	if err != nil {
		return 0, 0, fmt.Errorf("follow counts: %w", err)
	}
	return followers, following, nil
}

// SetBlock implements parley.GraphTx.
func (t *tx) SetBlock(blockerID, blockedID string, on bool, at time.Time) (bool, error) {
	t.touchBlock(blockerID, blockedID)
	if wc := t.cache(); wc != nil {
		delete(wc.blocks, pair(blockerID, blockedID))
	}
	if on {
		res, err := t.exec(`INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			blockerID, blockedID, toNanos(at))
		if err != nil {
			return false, fmt.Errorf("block: %w", err)
		}
		return affected(res)
	}
	res, err := t.exec(`DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?`, blockerID, blockedID)
	if err != nil {
		return false, fmt.Errorf("unblock: %w", err)
	}
	return affected(res)
}

// IsBlocked implements parley.GraphTx.
func (t *tx) IsBlocked(blockerID, blockedID string) (bool, error) {
	var ok bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = ? AND blocked_id = ?)`,
		blockerID, blockedID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("is blocked: %w", err)
	}
	return ok, nil
}

// BlockedEither implements parley.GraphTx.
func (t *tx) BlockedEither(a, b string) (bool, error) {
	var ok bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM blocks WHERE (blocker_id = ? AND blocked_id = ?) OR (blocker_id = ? AND blocked_id = ?))`,
		a, b, b, a).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("blocked either: %w", err)
	}
	return ok, nil
}

// Blocked implements parley.GraphTx.
func (t *tx) Blocked(userID string) ([]string, error) {
	rows, err := t.query(`SELECT blocked_id FROM blocks WHERE blocker_id = ?
		ORDER BY created_at DESC, blocked_id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("list blocked: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan blocked: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list blocked: %w", err)
	}
	return out, nil
}

// CreateReport implements parley.GraphTx; EConflict if the id exists.
func (t *tx) CreateReport(r *parley.Report) error {
	if r.Status == "" {
		r.Status = parley.ReportOpen
	}
	_, err := t.guarded(`INSERT INTO reports (id, reporter_id, target_user_id, conversation_id, message_id,
		reason, detail, created_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.ReporterID, r.TargetUserID, r.ConversationID, r.MessageID, r.Reason, r.Detail, toNanos(r.CreatedAt), r.Status)
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "report exists")
	} else if err != nil {
		return fmt.Errorf("create report: %w", err)
	}
	return nil
}

// BlocksAmong implements parley.GraphTx.
func (t *tx) BlocksAmong(userID string, others []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(others) == 0 {
		return out, nil
	}
	rows, err := t.query(`SELECT blocked_id FROM blocks WHERE blocker_id = ?1 AND blocked_id IN (SELECT json_array_elements_text(?2::json))
		UNION SELECT blocker_id FROM blocks WHERE blocked_id = ?1 AND blocker_id IN (SELECT json_array_elements_text(?2::json))`,
		userID, idList(others))
	if err != nil {
		return nil, fmt.Errorf("blocks among: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("blocks among: %w", err)
		}
		out[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("blocks among: %w", err)
	}
	return out, nil
}
