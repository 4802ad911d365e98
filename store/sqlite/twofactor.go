package sqlite

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parleyhq/parley"
)

// PutTwoFactor implements parley.TwoFactorTx.
func (t *tx) PutTwoFactor(tf *parley.TwoFactor) error {
	codes := make([]string, 0, len(tf.RecoveryCodes))
	for _, c := range tf.RecoveryCodes {
		codes = append(codes, hex.EncodeToString(c))
	}
	b, err := json.Marshal(codes)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT OR REPLACE INTO two_factor (user_id, secret, confirmed_at, last_step, recovery_codes, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, tf.UserID, tf.Secret, toNanos(tf.ConfirmedAt), tf.LastStep, string(b), toNanos(tf.CreatedAt))
	if err != nil {
		return fmt.Errorf("put two factor: %w", err)
	}
	return nil
}

// TwoFactor implements parley.TwoFactorTx.
func (t *tx) TwoFactor(userID string) (*parley.TwoFactor, error) {
	tf := &parley.TwoFactor{UserID: userID}
	var confirmed, created int64
	var codes string
	err := t.queryRow(`SELECT secret, confirmed_at, last_step, recovery_codes, created_at FROM two_factor WHERE user_id = ?`, userID).
		Scan(&tf.Secret, &confirmed, &tf.LastStep, &codes, &created)
	if err != nil {
		return nil, rowErr(err, "second factor")
	}
	tf.ConfirmedAt, tf.CreatedAt = fromNanos(confirmed), fromNanos(created)
	var hexes []string
	if err := json.Unmarshal([]byte(codes), &hexes); err != nil {
		return nil, fmt.Errorf("two factor recovery codes: %w", err)
	}
	tf.RecoveryCodes = [][]byte{}
	for _, h := range hexes {
		c, err := hex.DecodeString(h)
		if err != nil {
			return nil, fmt.Errorf("two factor recovery codes: %w", err)
		}
		tf.RecoveryCodes = append(tf.RecoveryCodes, c)
	}
	return tf, nil
}

// DeleteTwoFactor implements parley.TwoFactorTx.
func (t *tx) DeleteTwoFactor(userID string) error {
	res, err := t.exec(`DELETE FROM two_factor WHERE user_id = ?`, userID)
	if err != nil {
		return fmt.Errorf("delete two factor: %w", err)
	}
	return mustAffect(res, "second factor")
}

// PutLoginChallenge implements parley.TwoFactorTx.
func (t *tx) PutLoginChallenge(c *parley.LoginChallenge) error {
	_, err := t.exec(`INSERT OR REPLACE INTO login_challenges (token_hash, user_id, device, attempts, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, c.TokenHash, c.UserID, c.Device, c.Attempts, toNanos(c.CreatedAt), toNanos(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("put login challenge: %w", err)
	}
	return nil
}

// LoginChallenge implements parley.TwoFactorTx.
func (t *tx) LoginChallenge(tokenHash []byte) (*parley.LoginChallenge, error) {
	c := &parley.LoginChallenge{}
	var created, expires int64
	err := t.queryRow(`SELECT token_hash, user_id, device, attempts, created_at, expires_at FROM login_challenges WHERE token_hash = ?`, tokenHash).
		Scan(&c.TokenHash, &c.UserID, &c.Device, &c.Attempts, &created, &expires)
	if err != nil {
		return nil, rowErr(err, "login challenge")
	}
	c.CreatedAt, c.ExpiresAt = fromNanos(created), fromNanos(expires)
	return c, nil
}

// DeleteLoginChallenge implements parley.TwoFactorTx.
func (t *tx) DeleteLoginChallenge(tokenHash []byte) error {
	res, err := t.exec(`DELETE FROM login_challenges WHERE token_hash = ?`, tokenHash)
	if err != nil {
		return fmt.Errorf("delete login challenge: %w", err)
	}
	return mustAffect(res, "login challenge")
}

// DeleteExpiredLoginChallenges implements parley.TwoFactorTx.
func (t *tx) DeleteExpiredLoginChallenges(at time.Time) (int, error) {
	res, err := t.exec(`DELETE FROM login_challenges WHERE expires_at <= ?`, toNanos(at))
	if err != nil {
		return 0, fmt.Errorf("delete expired login challenges: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// TwoFactorUsers implements parley.TwoFactorTx.
func (t *tx) TwoFactorUsers(afterUserID string, limit int) ([]string, error) {
	rows, err := t.query(`SELECT user_id FROM two_factor WHERE user_id > ? ORDER BY user_id LIMIT ?`, afterUserID, limit)
	if err != nil {
		return nil, fmt.Errorf("list second factors: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list second factors: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
