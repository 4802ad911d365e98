package postgres

import (
	"encoding/json"
	"fmt"

	"github.com/parleyhq/parley"
)

const auditLogCols = `seq, at, actor_id, action, target_type, target_id, details, address, user_agent, prev_hash, hash`

func scanAuditRecord(s scanner) (*parley.AuditRecord, error) {
	var r parley.AuditRecord
	var at int64
	var details string
	if err := s.Scan(&r.Seq, &at, &r.ActorID, &r.Action, &r.TargetType, &r.TargetID, &details, &r.Address, &r.UserAgent,
		&r.PrevHash, &r.Hash); err != nil {
		return nil, err
	}
	r.At = fromNanos(at)
	if err := json.Unmarshal([]byte(details), &r.Details); err != nil {
		return nil, fmt.Errorf("audit row %d: details: %w", r.Seq, err)
	}
	return &r, nil
}

// AppendAuditRecord implements parley.AuditLogTx.
func (t *tx) AppendAuditRecord(r *parley.AuditRecord) error {
	details := r.Details
	if details == nil {
		details = map[string]string{}
	}
	d, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("append audit record: %w", err)
	}
	_, err = t.guarded(`INSERT INTO audit_log (`+auditLogCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Seq, toNanos(r.At), r.ActorID, r.Action, r.TargetType, r.TargetID, string(d), r.Address, r.UserAgent, r.PrevHash, r.Hash)
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "audit row %d exists", r.Seq)
	} else if err != nil {
		return fmt.Errorf("append audit record: %w", err)
	}
	return nil
}

// LastAuditRecord implements parley.AuditLogTx.
func (t *tx) LastAuditRecord() (*parley.AuditRecord, error) {
	r, err := scanAuditRecord(t.queryRow(`SELECT ` + auditLogCols + ` FROM audit_log ORDER BY seq DESC LIMIT 1`))
	if err != nil {
		return nil, rowErr(err, "audit record")
	}
	return r, nil
}

// Audit log page sizes.
const (
	defaultAuditLogLimit = 1000
	maxAuditLogLimit     = 10000
)

// AuditRecords implements parley.AuditLogTx.
func (t *tx) AuditRecords(f parley.AuditRecordFilter) ([]*parley.AuditRecord, error) {
	q := `SELECT ` + auditLogCols + ` FROM audit_log WHERE seq > ?`
	args := []any{f.AfterSeq}
	if f.ActorID != "" {
		q += ` AND actor_id = ?`
		args = append(args, f.ActorID)
	}
	if f.Action != "" {
		q += ` AND action = ?`
		args = append(args, f.Action)
	}
	if f.TargetID != "" {
		q += ` AND target_id = ?`
		args = append(args, f.TargetID)
	}
	if !f.From.IsZero() {
		q += ` AND at >= ?`
		args = append(args, toNanos(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND at < ?`
		args = append(args, toNanos(f.To))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLogLimit
	}
	q += ` ORDER BY seq LIMIT ?`
	args = append(args, min(limit, maxAuditLogLimit))
	return queryAll(t, "audit records", scanAuditRecord, q, args...)
}
