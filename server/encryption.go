package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/sealed"
)

// keyringStore is a store that can seal message text at rest (both are).
type keyringStore interface {
	parley.Store
	SetKeyring(k *sealed.Keyring)
}

// openKeyring makes the keyring of encryption at rest from the master key
// (cfg.App.EncryptionKey) and the data keys in st, and gives it to st. The
// first start with a master key makes data key 1. Without a master key it
// returns nil — unless the database holds data keys, which means sealed
// data that could not be read: then it fails, as it does when the master
// key does not unwrap them (a wrong key must stop the start, not turn into
// errors on every read).
func openKeyring(ctx context.Context, st keyringStore, master []byte, now func() time.Time) (*sealed.Keyring, error) {
	var keys []*parley.DataKey
	if err := st.View(ctx, func(tx parley.Tx) error {
		var err error
		keys, err = tx.DataKeys()
		return err
	}); err != nil {
		return nil, fmt.Errorf("encryption: read data keys: %w", err)
	}
	if len(master) == 0 {
		if len(keys) > 0 {
			return nil, errors.New("this database holds encrypted data: set PARLEY_ENCRYPTION_KEY (or PARLEY_ENCRYPTION_KEY_FILE) to the key it was written with")
		}
		return nil, nil
	}
	m, err := sealed.NewMasterKey(master)
	if err != nil {
		return nil, fmt.Errorf("PARLEY_ENCRYPTION_KEY: %w", err)
	}
	wrapped := make([]sealed.WrappedKey, len(keys))
	for i, k := range keys {
		wrapped[i] = sealed.WrappedKey{ID: uint32(k.ID), Wrapped: k.Wrapped}
	}
	ring, err := sealed.NewKeyring(m, wrapped)
	if errors.Is(err, sealed.ErrWrongMasterKey) {
		return nil, errors.New("PARLEY_ENCRYPTION_KEY is not the key this database's data was encrypted with (wrong key, or a key file from another server?); start with the right key — data sealed under another cannot be read")
	} else if err != nil {
		return nil, fmt.Errorf("encryption: %w", err)
	}
	if len(keys) == 0 {
		k, err := sealed.NewDataKey(m, 1)
		if err != nil {
			return nil, err
		}
		err = st.Update(ctx, func(tx parley.Tx) error {
			return tx.CreateDataKey(&parley.DataKey{ID: 1, Wrapped: k.Wrapped, CreatedAt: now().UTC()})
		})
		if parley.ErrorCode(err) == parley.EConflict {
			// Another node made it first: use theirs.
			return openKeyring(ctx, st, master, now)
		} else if err != nil {
			return nil, fmt.Errorf("encryption: store the first data key: %w", err)
		}
		if err := ring.Add(k); err != nil {
			return nil, err
		}
	}
	st.SetKeyring(ring)
	return ring, nil
}
