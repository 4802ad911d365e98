package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

const userCols = `id, handle, display_name, bio, kind, dm_policy, password_hash, created_at, updated_at,
	show_presence, hide_read_receipts, owner_id, suspended, server_admin, banned, messages_hidden, deleted_at, warn_phone`

// scanUser reads one row of userCols.
func scanUser(s scanner) (*parley.User, error) {
	var u parley.User
	var created, updated int64
	var deleted sql.NullInt64
	if err := s.Scan(&u.ID, &u.Handle, &u.DisplayName, &u.Bio, &u.Kind, &u.DMPolicy,
		&u.PasswordHash, &created, &updated, &u.ShowPresence, &u.HideReadReceipts, &u.OwnerID, &u.Suspended,
		&u.ServerAdmin, &u.Banned, &u.MessagesHidden, &deleted, &u.WarnPhone); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = fromNanos(created), fromNanos(updated)
	u.DeletedAt = fromNullNanos(deleted)
	return &u, nil
}

// userWriteErr maps a failed insert or update of a user.
func userWriteErr(err error, op string) error {
	if isUnique(err) {
		if strings.Contains(constraint(err), "handle") {
			return parley.Errorf(parley.EHandleTaken, "handle is taken")
		}
		return parley.Errorf(parley.EConflict, "user exists")
	}
	return fmt.Errorf("%s user: %w", op, err)
}

// CreateUser implements parley.UserTx. The handle is stored lower-case.
func (t *tx) CreateUser(u *parley.User) error {
	u.Handle = strings.ToLower(u.Handle)
	_, err := t.guarded(`INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Handle, u.DisplayName, u.Bio, string(u.Kind), string(u.DMPolicy),
		u.PasswordHash, toNanos(u.CreatedAt), toNanos(u.UpdatedAt), u.ShowPresence, u.HideReadReceipts, u.OwnerID, u.Suspended,
		u.ServerAdmin, u.Banned, u.MessagesHidden, toNullNanos(u.DeletedAt), u.WarnPhone)
	if err != nil {
		return userWriteErr(err, "create")
	}
	return nil
}

// UserByID implements parley.UserTx.
func (t *tx) UserByID(id string) (*parley.User, error) {
	u, err := scanUser(t.queryRow(`SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err != nil {
		return nil, rowErr(err, "user")
	}
	return u, nil
}

// UserByHandle implements parley.UserTx; the lookup ignores case.
func (t *tx) UserByHandle(handle string) (*parley.User, error) {
	u, err := scanUser(t.queryRow(`SELECT `+userCols+` FROM users WHERE handle = ?`, strings.ToLower(handle)))
	if err != nil {
		return nil, rowErr(err, "user")
	}
	return u, nil
}

// UsersByIDs implements parley.UserTx.
func (t *tx) UsersByIDs(ids []string) (map[string]*parley.User, error) {
	out := make(map[string]*parley.User, len(ids))
	rows, err := t.query(`SELECT `+userCols+` FROM users WHERE id IN (SELECT json_array_elements_text(?::json))`, idList(ids))
	if err != nil {
		return nil, fmt.Errorf("load users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("scan user: %w", err)
		}
		out[u.ID] = u
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load users: %w", err)
	}
	return out, nil
}

// UsersByOwner implements parley.UserTx.
func (t *tx) UsersByOwner(ownerID string) ([]*parley.User, error) {
	if ownerID == "" {
		return []*parley.User{}, nil
	}
	return queryAll(t, "users by owner", scanUser, `SELECT `+userCols+` FROM users WHERE owner_id = ? ORDER BY created_at, id`, ownerID)
}

// UpdateUser implements parley.UserTx. The handle is stored lower-case.
func (t *tx) UpdateUser(u *parley.User) error {
	u.Handle = strings.ToLower(u.Handle)
	res, err := t.guarded(`UPDATE users SET handle = ?, display_name = ?, bio = ?, kind = ?, dm_policy = ?,
		password_hash = ?, updated_at = ?, show_presence = ?, hide_read_receipts = ?, suspended = ?,
		server_admin = ?, banned = ?, messages_hidden = ?, deleted_at = ?, warn_phone = ? WHERE id = ?`,
		u.Handle, u.DisplayName, u.Bio, string(u.Kind), string(u.DMPolicy),
		u.PasswordHash, toNanos(u.UpdatedAt), u.ShowPresence, u.HideReadReceipts, u.Suspended,
		u.ServerAdmin, u.Banned, u.MessagesHidden, toNullNanos(u.DeletedAt), u.WarnPhone, u.ID)
	if err != nil {
		return userWriteErr(err, "update")
	}
	return mustAffect(res, "user")
}

const sessionCols = `id, user_id, token_hash, device, created_at, last_used_at, kind, name, scopes, expires_at`

// scanSession reads one row of sessionCols.
func scanSession(s scanner) (*parley.Session, error) {
	var x parley.Session
	var created, used int64
	var scopes string
	var expires sql.NullInt64
	if err := s.Scan(&x.ID, &x.UserID, &x.TokenHash, &x.Device, &created, &used, &x.Kind, &x.Name, &scopes, &expires); err != nil {
		return nil, err
	}
	x.CreatedAt, x.LastUsedAt, x.ExpiresAt = fromNanos(created), fromNanos(used), fromNullNanos(expires)
	if scopes != "" {
		x.Scopes = strings.Split(scopes, " ")
	}
	return &x, nil
}

// CreateSession implements parley.SessionTx; EConflict if the id or the
// token hash exists.
func (t *tx) CreateSession(s *parley.Session) error {
	kind := s.Kind
	if kind == "" {
		kind = parley.SessionDevice
	}
	_, err := t.guarded(`INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.UserID, s.TokenHash, s.Device, toNanos(s.CreatedAt), toNanos(s.LastUsedAt), kind, s.Name,
		strings.Join(s.Scopes, " "), toNullNanos(s.ExpiresAt))
	if isUnique(err) {
		return parley.Errorf(parley.EConflict, "session exists")
	} else if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByTokenHash implements parley.SessionTx.
func (t *tx) SessionByTokenHash(hash []byte) (*parley.Session, error) {
	s, err := scanSession(t.queryRow(`SELECT `+sessionCols+` FROM sessions WHERE token_hash = ?`, hash))
	if err != nil {
		return nil, rowErr(err, "session")
	}
	return s, nil
}

// Sessions implements parley.SessionTx.
func (t *tx) Sessions(userID string) ([]*parley.Session, error) {
	rows, err := t.query(`SELECT `+sessionCols+` FROM sessions WHERE user_id = ?
		ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	out := []*parley.Session{}
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("scan session: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// DeleteSession implements parley.SessionTx.
func (t *tx) DeleteSession(userID, id string) error {
	res, err := t.exec(`DELETE FROM sessions WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return mustAffect(res, "session")
}

// DeleteSessionsExcept implements parley.SessionTx.
func (t *tx) DeleteSessionsExcept(userID, keepID string) (int, error) {
	res, err := t.exec(`DELETE FROM sessions WHERE user_id = ? AND id != ?`, userID, keepID)
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	return int(n), nil
}

// TouchSession implements parley.SessionTx. LastUsedAt never moves
// backwards; ENotFound if the session is gone.
func (t *tx) TouchSession(id string, at time.Time) error {
	res, err := t.exec(`UPDATE sessions SET last_used_at = GREATEST(last_used_at, ?::bigint) WHERE id = ?`, toNanos(at), id)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return mustAffect(res, "session")
}

// UsersWithAgents reads users by id, with whether each is an active agent
// of a business (as AgentsAmong reads it), in one statement outside any
// transaction: the direct frames of sends read so the users their hands
// lack (app/directhand.go). Ids of no user are left out.
func (db *DB) UsersWithAgents(ctx context.Context, ids []string) (map[string]*parley.User, map[string]bool, error) {
	users, agents := make(map[string]*parley.User, len(ids)), make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return users, agents, nil
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+userCols+`,
			EXISTS (SELECT 1 FROM agents a WHERE a.user_id = users.id AND a.active = 1)
		FROM users WHERE id = ANY($1::text[])`, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("load users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var agent bool
		u, err := scanUser(scanFunc(func(dest ...any) error { return rows.Scan(append(dest, &agent)...) }))
		if err != nil {
			return nil, nil, fmt.Errorf("scan user: %w", err)
		}
		users[u.ID], agents[u.ID] = u, agent
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("load users: %w", err)
	}
	return users, agents, nil
}

// scanFunc is a scanner made of a function.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }
