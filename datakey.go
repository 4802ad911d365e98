package parley

import "time"

// DataKey is a data key of encryption at rest as the database keeps it:
// the random key sealed (wrapped) by the operator's master key, which the
// database never holds.
type DataKey struct {
	ID        int64
	Wrapped   []byte
	CreatedAt time.Time
}

// KeyTx stores the wrapped data keys of encryption at rest and rewrites
// sealed rows under the store's current data key (key rotation).
type KeyTx interface {
	// DataKeys lists the wrapped data keys, lowest id first.
	DataKeys() ([]*DataKey, error)
	// CreateDataKey inserts k; EConflict when its id exists.
	CreateDataKey(k *DataKey) error
	// UpdateDataKey replaces the wrapped bytes of k (a new master key);
	// ENotFound if gone.
	UpdateDataKey(k *DataKey) error
	// DeleteDataKey removes a data key; ENotFound if gone. The caller
	// first makes sure that DataKeyInUse is false.
	DeleteDataKey(id int64) error
	// DataKeyInUse reports whether any stored message text (body, link
	// card, structured data, edit history) or second-factor secret is
	// sealed under data key id.
	DataKeyInUse(id int64) (bool, error)
	// ResealMessages reads up to limit messages with Pos after afterPos,
	// in Pos order, and rewrites under the current data key those whose
	// text or edit history is plaintext or sealed under another key; it
	// also indexes for search the live sealed bodies the index lacks (rows
	// copied in by migrate-data). It returns the last Pos read (0 when there was none) and how many
	// messages it rewrote. Without encryption configured it rewrites
	// nothing.
	ResealMessages(afterPos int64, limit int) (last int64, n int, err error)
}
