package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/sealed"
)

// Encryption at rest: the store seals message text and the blob store
// seals media under the keyring's current data key; the App only manages
// the keys — rotation and a new master key — through the same keyring
// object, so a new key is used by the running server's next write.

// WithKeyring sets the keyring of encryption at rest (the one the store
// and blob store were given), for key rotation. nil: encryption is off.
func WithKeyring(k *sealed.Keyring) Option { return func(a *App) { a.keyring = k } }

// BlobResealer is a blob store that seals blobs; Reseal rewrites one blob
// under the current data key unless it is already, and reports whether it
// did.
type BlobResealer interface {
	Reseal(ctx context.Context, key string) (bool, error)
}

// errNoEncryption: a key command on a server without a master key.
var errNoEncryption = parley.Errorf(parley.EInvalid, "encryption at rest is off: set PARLEY_ENCRYPTION_KEY (or PARLEY_ENCRYPTION_KEY_FILE) first")

// resealBatch is how many messages one transaction of ResealMessages reads.
const resealBatch = 200

// KeyStatus describes encryption at rest.
type KeyStatus struct {
	Enabled bool          `json:"enabled"`
	Current int64         `json:"current_key"`
	Keys    []KeyInfo     `json:"keys"`
	Reseal  *ResealResult `json:"reseal,omitempty"`
}

// KeyInfo is one data key (never its bytes).
type KeyInfo struct {
	ID        int64     `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	InUse     bool      `json:"in_use"`
}

// ResealResult is what a reseal pass did.
type ResealResult struct {
	Resealed    int `json:"messages_resealed"`
	Blobs       int `json:"blobs_read"`
	BlobsSealed int `json:"blobs_resealed"`
	// Secrets counts the TOTP secrets, channel secrets and report
	// details sealed again.
	Secrets      int     `json:"secrets_resealed"`
	DroppedKeys  []int64 `json:"dropped_keys"`
	Complete     bool    `json:"complete"`
	NewKey       int64   `json:"new_key,omitempty"`
	StoppedAtPos int64   `json:"stopped_at_pos,omitempty"`
}

// KeyStatus reports the data keys and whether rows still use each.
func (a *App) KeyStatus(ctx context.Context) (*KeyStatus, error) {
	st := &KeyStatus{Enabled: a.keyring != nil, Keys: []KeyInfo{}}
	if a.keyring != nil {
		st.Current = int64(a.keyring.Current())
	}
	err := a.store.View(ctx, func(tx parley.Tx) error {
		keys, err := tx.DataKeys()
		if err != nil {
			return err
		}
		for _, k := range keys {
			used, err := tx.DataKeyInUse(k.ID)
			if err != nil {
				return err
			}
			st.Keys = append(st.Keys, KeyInfo{ID: k.ID, CreatedAt: k.CreatedAt, InUse: used || k.ID == st.Current})
		}
		return nil
	})
	return st, err
}

// RotateDataKey makes a new data key, which every write uses from then
// on, and reseals what is stored under older keys (Reseal).
func (a *App) RotateDataKey(ctx context.Context) (*ResealResult, error) {
	if a.keyring == nil {
		return nil, errNoEncryption
	}
	var wk sealed.WrappedKey
	err := a.store.Update(ctx, func(tx parley.Tx) error {
		keys, err := tx.DataKeys()
		if err != nil {
			return err
		}
		next := uint32(1)
		for _, k := range keys {
			next = max(next, uint32(k.ID)+1)
		}
		if wk, err = sealed.NewDataKey(a.keyring.Master(), next); err != nil {
			return err
		}
		return tx.CreateDataKey(&parley.DataKey{ID: int64(wk.ID), Wrapped: wk.Wrapped, CreatedAt: a.now().UTC()})
	})
	if err != nil {
		return nil, fmt.Errorf("rotate: new data key: %w", err)
	}
	if err := a.keyring.Add(wk); err != nil {
		return nil, err
	}
	a.log.Info("encryption: new data key", "key", wk.ID)
	res, err := a.Reseal(ctx)
	if res != nil {
		res.NewKey = int64(wk.ID)
	}
	return res, err
}

// Reseal rewrites every message and blob not sealed under the current
// data key (plaintext written before encryption was on included), then
// deletes the data keys nothing uses any more. It can be stopped (ctx)
// and run again: rows already under the current key are skipped.
func (a *App) Reseal(ctx context.Context) (*ResealResult, error) {
	if a.keyring == nil {
		return nil, errNoEncryption
	}
	res := &ResealResult{DroppedKeys: []int64{}}
	var after int64
	for {
		if err := ctx.Err(); err != nil {
			res.StoppedAtPos = after
			return res, fmt.Errorf("reseal stopped at position %d (run parley keys reseal to go on): %w", after, err)
		}
		var last int64
		var n int
		err := a.store.Update(ctx, func(tx parley.Tx) error {
			var err error
			last, n, err = tx.ResealMessages(after, resealBatch)
			return err
		})
		if err != nil {
			res.StoppedAtPos = after
			return res, fmt.Errorf("reseal messages: %w", err)
		}
		if last == 0 {
			break
		}
		res.Resealed += n
		after = last
		a.log.Info("encryption: resealing messages", "at_pos", after, "resealed", res.Resealed)
	}
	n, err := a.resealSecrets(ctx)
	res.Secrets = n
	if err != nil {
		return res, err
	}
	if rb, ok := a.blobs.(BlobResealer); ok {
		err := a.blobs.Keys(ctx, a.now().Add(time.Hour), func(key string) error {
			res.Blobs++
			done, err := rb.Reseal(ctx, key)
			if errors.Is(err, parley.ErrBlobNotFound) {
				return nil // collected meanwhile
			}
			if err != nil {
				return fmt.Errorf("blob %s: %w", key, err)
			}
			if done {
				res.BlobsSealed++
			}
			if res.Blobs%100 == 0 {
				a.log.Info("encryption: resealing media", "blobs", res.Blobs, "resealed", res.BlobsSealed)
			}
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("reseal media: %w", err)
		}
	}
	// Every row and blob is under the current key now; older keys that no
	// row names can go. (A blob's key is not in the database: the pass
	// above is what shows no blob uses them.)
	cur := int64(a.keyring.Current())
	err = a.store.Update(ctx, func(tx parley.Tx) error {
		res.DroppedKeys = res.DroppedKeys[:0]
		keys, err := tx.DataKeys()
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.ID == cur {
				continue
			}
			used, err := tx.DataKeyInUse(k.ID)
			if err != nil {
				return err
			}
			if used {
				continue
			}
			if err := tx.DeleteDataKey(k.ID); err != nil {
				return err
			}
			res.DroppedKeys = append(res.DroppedKeys, k.ID)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("drop old keys: %w", err)
	}
	for _, id := range res.DroppedKeys {
		a.keyring.Remove(uint32(id))
	}
	res.Complete = true
	a.log.Info("encryption: reseal done", "messages_resealed", res.Resealed, "blobs_resealed", res.BlobsSealed, "dropped_keys", res.DroppedKeys)
	return res, nil
}

// RewrapDataKeys wraps every data key with a new master key, in one
// transaction; the data is not touched. The running server goes on with
// the new master key; the operator sets it in the configuration before the
// next start (the old one no longer opens the keys).
func (a *App) RewrapDataKeys(ctx context.Context, newMaster *sealed.MasterKey) (int, error) {
	if a.keyring == nil {
		return 0, errNoEncryption
	}
	// Secrets sealed with the master key itself (before data keys) would
	// not open with the new one: move them under a data key first.
	if _, err := a.resealSecrets(ctx); err != nil {
		return 0, err
	}
	old := a.keyring.Master()
	n := 0
	err := a.store.Update(ctx, func(tx parley.Tx) error {
		n = 0
		keys, err := tx.DataKeys()
		if err != nil {
			return err
		}
		for _, k := range keys {
			w, err := sealed.Rewrap(old, newMaster, sealed.WrappedKey{ID: uint32(k.ID), Wrapped: k.Wrapped})
			if err != nil {
				return err
			}
			k.Wrapped = w.Wrapped
			if err := tx.UpdateDataKey(k); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rewrap: %w", err)
	}
	a.keyring.SetMaster(newMaster)
	a.log.Info("encryption: data keys rewrapped with a new master key", "keys", n)
	return n, nil
}

// resealSecrets re-encrypts the TOTP secrets that are not under the
// current data key (sealed with the master key itself, or an older data
// key) and returns how many it rewrote.
func (a *App) resealSecrets(ctx context.Context) (int, error) {
	cur := sealed.TextKeyPrefix(a.keyring.Current())
	n, after := 0, ""
	for {
		var ids []string
		done := 0
		err := a.store.Update(ctx, func(tx parley.Tx) error {
			var err error
			done = 0
			if ids, err = tx.TwoFactorUsers(after, resealBatch); err != nil {
				return err
			}
			for _, id := range ids {
				tf, err := tx.TwoFactor(id)
				if err != nil {
					return err
				}
				if strings.HasPrefix(tf.Secret, cur) {
					continue
				}
				secret, err := a.unseal(tf.Secret, "totp:"+tf.UserID)
				if err != nil {
					return fmt.Errorf("second factor of %s: %w", id, err)
				}
				if tf.Secret, err = a.seal(secret, "totp:"+tf.UserID); err != nil {
					return err
				}
				if err := tx.PutTwoFactor(tf); err != nil {
					return err
				}
				done++
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("reseal secrets: %w", err)
		}
		n += done
		if len(ids) < resealBatch {
			break
		}
		after = ids[len(ids)-1]
	}
	m, err := a.resealChannels(ctx, cur)
	if err != nil {
		return n + m, err
	}
	r, err := a.resealReports(ctx, cur)
	return n + m + r, err
}

// resealReports seals again, under the current key, every report detail
// not already under it (plaintext written before encryption was on too).
func (a *App) resealReports(ctx context.Context, cur string) (int, error) {
	n := 0
	f := parley.ReportFilter{Limit: resealBatch}
	for {
		var page []*parley.Report
		done := 0
		err := a.store.Update(ctx, func(tx parley.Tx) error {
			var err error
			done = 0
			if page, err = tx.Reports(f); err != nil {
				return err
			}
			for _, r := range page {
				if r.Detail == "" || strings.HasPrefix(r.Detail, cur) {
					continue
				}
				plain, err := a.keyring.OpenText(r.Detail, []byte(reportDetailContext(r.ID)))
				if err != nil {
					return fmt.Errorf("report %s: %w", r.ID, err)
				}
				stored, err := a.keyring.SealText(plain, []byte(reportDetailContext(r.ID)))
				if err != nil {
					return err
				}
				if err := tx.SetReportDetail(r.ID, stored); err != nil {
					return err
				}
				done++
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("reseal reports: %w", err)
		}
		n += done
		if len(page) < resealBatch {
			return n, nil
		}
		last := page[len(page)-1]
		f.BeforeAt, f.BeforeID = last.CreatedAt, last.ID
	}
}

// resealChannels seals again, under the current key, the secrets of every
// channel (access token, app secret, verify token) not already under it.
func (a *App) resealChannels(ctx context.Context, cur string) (int, error) {
	n, after := 0, ""
	for {
		var page []*parley.Channel
		done := 0
		err := a.store.Update(ctx, func(tx parley.Tx) error {
			var err error
			done = 0
			if page, err = tx.ChannelsAfter(after, resealBatch); err != nil {
				return err
			}
			for _, c := range page {
				changed := false
				for _, f := range []struct {
					field string
					v     *string
				}{{"access_token", &c.AccessToken}, {"app_secret", &c.AppSecret}, {"verify_token", &c.VerifyToken}} {
					if strings.HasPrefix(*f.v, cur) {
						continue
					}
					plain, err := a.unseal(*f.v, channelSecretContext(c.ID, f.field))
					if err != nil {
						return fmt.Errorf("channel %s %s: %w", c.ID, f.field, err)
					}
					if *f.v, err = a.seal(plain, channelSecretContext(c.ID, f.field)); err != nil {
						return err
					}
					changed = true
				}
				if changed {
					if err := tx.UpdateChannel(c); err != nil {
						return err
					}
					done++
				}
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("reseal channel secrets: %w", err)
		}
		n += done
		if len(page) < resealBatch {
			return n, nil
		}
		after = page[len(page)-1].ID
	}
}
