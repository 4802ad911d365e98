package postgres

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/parleyhq/parley"
)

// ExpiredMessages implements parley.MessageTx. It walks the partial
// messages_expiry index, which holds live messages with an expiry only.
func (t *tx) ExpiredMessages(due time.Time, after parley.ExpiryCursor, limit int) ([]*parley.Message, error) {
	out, err := t.scanMessages(`SELECT `+messageCols+` FROM messages
		WHERE expires_at IS NOT NULL AND deleted_at IS NULL AND expires_at <= ?1
		  AND (expires_at > ?2 OR expires_at = ?2 AND pos > ?3)
		ORDER BY expires_at, pos LIMIT ?4`, toNanos(due), toNanos(after.ExpiresAt), after.Pos, limit)
	if err != nil {
		return nil, fmt.Errorf("expired messages: %w", err)
	}
	return out, nil
}

// RetentionCandidates implements parley.MessageTx.
func (t *tx) RetentionCandidates(afterPos int64, createdBefore time.Time, limit int) ([]*parley.Message, error) {
	out, err := t.scanMessages(`SELECT `+messageCols+` FROM messages
		WHERE pos > ? AND deleted_at IS NULL AND created_at < ? ORDER BY pos LIMIT ?`,
		afterPos, toNanos(createdBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("retention candidates: %w", err)
	}
	return out, nil
}

// RecordOpen implements parley.MessageTx.
func (t *tx) RecordOpen(messageID, userID string, at time.Time) (bool, error) {
	res, err := t.exec(`INSERT INTO message_opens (message_id, user_id, opened_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		messageID, userID, toNanos(at))
	if err != nil {
		return false, fmt.Errorf("record open: %w", err)
	}
	return affected(res)
}

// MessageOpens implements parley.MessageTx.
func (t *tx) MessageOpens(messageIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	rows, err := t.query(`SELECT message_id, user_id FROM message_opens
		WHERE message_id IN (SELECT json_array_elements_text(?::json)) ORDER BY message_id, opened_at, user_id`, idList(messageIDs))
	if err != nil {
		return nil, fmt.Errorf("message opens: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m, u string
		if err := rows.Scan(&m, &u); err != nil {
			return nil, fmt.Errorf("scan open: %w", err)
		}
		out[m] = append(out[m], u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("message opens: %w", err)
	}
	return out, nil
}

const holdCols = `id, scope, target_id, business_id, reason, created_by, created_at, released_by, released_at`

func scanHold(s scanner) (*parley.LegalHold, error) {
	var h parley.LegalHold
	var created int64
	var released sql.NullInt64
	if err := s.Scan(&h.ID, &h.Scope, &h.TargetID, &h.BusinessID, &h.Reason, &h.CreatedBy, &created,
		&h.ReleasedBy, &released); err != nil {
		return nil, err
	}
	h.CreatedAt, h.ReleasedAt = fromNanos(created), fromNullNanos(released)
	return &h, nil
}

// CreateHold implements parley.RetentionTx.
func (t *tx) CreateHold(h *parley.LegalHold) error {
	_, err := t.guarded(`INSERT INTO legal_holds (`+holdCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		h.ID, string(h.Scope), h.TargetID, h.BusinessID, h.Reason, h.CreatedBy, toNanos(h.CreatedAt),
		h.ReleasedBy, toNullNanos(h.ReleasedAt))
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "hold exists")
	} else if err != nil {
		return fmt.Errorf("create hold: %w", err)
	}
	return nil
}

// Hold implements parley.RetentionTx.
func (t *tx) Hold(id string) (*parley.LegalHold, error) {
	h, err := scanHold(t.queryRow(`SELECT `+holdCols+` FROM legal_holds WHERE id = ?`, id))
	if err != nil {
		return nil, rowErr(err, "legal hold")
	}
	return h, nil
}

// ReleaseHold implements parley.RetentionTx.
func (t *tx) ReleaseHold(id, by string, at time.Time) error {
	res, err := t.exec(`UPDATE legal_holds SET released_by = ?, released_at = ? WHERE id = ? AND released_at IS NULL`,
		by, toNanos(at), id)
	if err != nil {
		return fmt.Errorf("release hold: %w", err)
	}
	return mustAffect(res, "legal hold")
}

// ActiveHolds implements parley.RetentionTx.
func (t *tx) ActiveHolds() ([]*parley.LegalHold, error) {
	return queryAll(t, "active holds", scanHold, `SELECT `+holdCols+` FROM legal_holds
		WHERE released_at IS NULL ORDER BY created_at, id`)
}

// Holds implements parley.RetentionTx.
func (t *tx) Holds(businessID string, limit int) ([]*parley.LegalHold, error) {
	lim := limitArg(limit)
	if businessID == "" {
		return queryAll(t, "holds", scanHold, `SELECT `+holdCols+` FROM legal_holds
			ORDER BY created_at DESC, id DESC LIMIT ?`, lim)
	}
	return queryAll(t, "holds", scanHold, `SELECT `+holdCols+` FROM legal_holds WHERE business_id = ?
		ORDER BY created_at DESC, id DESC LIMIT ?`, businessID, lim)
}

// PutRetentionPolicy implements parley.RetentionTx.
func (t *tx) PutRetentionPolicy(p *parley.RetentionPolicy) error {
	_, err := t.exec(`INSERT INTO retention_policies (business_id, kind, max_age, after_resolution,
		updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (business_id, kind) DO UPDATE SET
		max_age = excluded.max_age, after_resolution = excluded.after_resolution,
		updated_by = excluded.updated_by, updated_at = excluded.updated_at`, p.BusinessID, p.Kind, int64(p.MaxAge/time.Second),
		int64(p.AfterResolution/time.Second), p.UpdatedBy, toNanos(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put retention policy: %w", err)
	}
	return nil
}

// DeleteRetentionPolicy implements parley.RetentionTx.
func (t *tx) DeleteRetentionPolicy(businessID, kind string) error {
	if _, err := t.exec(`DELETE FROM retention_policies WHERE business_id = ? AND kind = ?`, businessID, kind); err != nil {
		return fmt.Errorf("delete retention policy: %w", err)
	}
	return nil
}

func scanPolicy(s scanner) (*parley.RetentionPolicy, error) {
	var p parley.RetentionPolicy
	var maxAge, after, updated int64
	if err := s.Scan(&p.BusinessID, &p.Kind, &maxAge, &after, &p.UpdatedBy, &updated); err != nil {
		return nil, err
	}
	p.MaxAge, p.AfterResolution = time.Duration(maxAge)*time.Second, time.Duration(after)*time.Second
	p.UpdatedAt = fromNanos(updated)
	return &p, nil
}

// RetentionPolicies implements parley.RetentionTx.
func (t *tx) RetentionPolicies(businessID string) ([]*parley.RetentionPolicy, error) {
	const cols = `SELECT business_id, kind, max_age, after_resolution, updated_by, updated_at FROM retention_policies`
	if businessID == "" {
		return queryAll(t, "retention policies", scanPolicy, cols+` ORDER BY business_id, kind`)
	}
	return queryAll(t, "retention policies", scanPolicy, cols+` WHERE business_id = ? ORDER BY kind`, businessID)
}

const jobCols = `id, business_id, dry_run, state, scanned, purged, held_skipped, cursor, error, created_by,
	created_at, finished_at`

func scanJob(s scanner) (*parley.RetentionJob, error) {
	var j parley.RetentionJob
	var created int64
	var finished sql.NullInt64
	if err := s.Scan(&j.ID, &j.BusinessID, &j.DryRun, &j.State, &j.Scanned, &j.Purged, &j.HeldSkipped, &j.Cursor,
		&j.Error, &j.CreatedBy, &created, &finished); err != nil {
		return nil, err
	}
	j.CreatedAt, j.FinishedAt = fromNanos(created), fromNullNanos(finished)
	return &j, nil
}

// CreateRetentionJob implements parley.RetentionTx.
func (t *tx) CreateRetentionJob(j *parley.RetentionJob) error {
	_, err := t.exec(`INSERT INTO retention_jobs (`+jobCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		j.ID, j.BusinessID, j.DryRun, j.State, j.Scanned, j.Purged, j.HeldSkipped, j.Cursor, j.Error, j.CreatedBy,
		toNanos(j.CreatedAt), toNullNanos(j.FinishedAt))
	if err != nil {
		return fmt.Errorf("create retention job: %w", err)
	}
	return nil
}

// UpdateRetentionJob implements parley.RetentionTx.
func (t *tx) UpdateRetentionJob(j *parley.RetentionJob) error {
	res, err := t.exec(`UPDATE retention_jobs SET state = ?, scanned = ?, purged = ?, held_skipped = ?, cursor = ?,
		error = ?, finished_at = ? WHERE id = ?`, j.State, j.Scanned, j.Purged, j.HeldSkipped, j.Cursor, j.Error,
		toNullNanos(j.FinishedAt), j.ID)
	if err != nil {
		return fmt.Errorf("update retention job: %w", err)
	}
	return mustAffect(res, "retention job")
}

// RetentionJob implements parley.RetentionTx.
func (t *tx) RetentionJob(id string) (*parley.RetentionJob, error) {
	j, err := scanJob(t.queryRow(`SELECT `+jobCols+` FROM retention_jobs WHERE id = ?`, id))
	if err != nil {
		return nil, rowErr(err, "retention job")
	}
	return j, nil
}

// RetentionJobs implements parley.RetentionTx.
func (t *tx) RetentionJobs(businessID string, limit int) ([]*parley.RetentionJob, error) {
	lim := limitArg(limit)
	return queryAll(t, "retention jobs", scanJob, `SELECT `+jobCols+` FROM retention_jobs WHERE business_id = ?
		ORDER BY created_at DESC, id DESC LIMIT ?`, businessID, lim)
}

// RunningRetentionJobs implements parley.RetentionTx.
func (t *tx) RunningRetentionJobs() ([]*parley.RetentionJob, error) {
	return queryAll(t, "running retention jobs", scanJob, `SELECT `+jobCols+` FROM retention_jobs
		WHERE state = 'running' ORDER BY created_at, id`)
}
