package sqlite

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"

	"modernc.org/sqlite"

	"github.com/parleyhq/parley/sealed"
	"github.com/parleyhq/parley/store/storeseal"
)

// parley_plain(id, body) gives the search index triggers (migration 0017)
// a message body's words: the body when it is plaintext, its plaintext
// when it is sealed. The driver registers functions for every connection
// of the process, not per database, so the function tries the keyrings of
// the stores open in the process (one in a server; several in tests) —
// AES-GCM authentication tells which one sealed the value.

var (
	plainOnce sync.Once
	plainMu   sync.RWMutex
	plainDBs  = map[*DB]struct{}{}
)

// registerPlainFunc registers parley_plain with the driver, once.
func registerPlainFunc() {
	plainOnce.Do(func() { sqlite.MustRegisterScalarFunction("parley_plain", 2, plainFunc) })
}

// addPlainDB makes db's keyring one that parley_plain tries.
func addPlainDB(db *DB) {
	plainMu.Lock()
	plainDBs[db] = struct{}{}
	plainMu.Unlock()
}

func removePlainDB(db *DB) {
	plainMu.Lock()
	delete(plainDBs, db)
	plainMu.Unlock()
}

func plainFunc(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	id, _ := args[0].(string)
	var body string
	switch v := args[1].(type) {
	case string:
		body = v
	case []byte:
		body = string(v)
	default:
		return args[1], nil
	}
	if !sealed.IsSealedText(body) {
		return body, nil
	}
	plainMu.RLock()
	defer plainMu.RUnlock()
	var lastErr error = sealed.ErrNoKeyring
	for db := range plainDBs {
		k := db.seal.Get()
		if k == nil {
			continue
		}
		m, err := storeseal.OpenBody(k, id, body)
		if err == nil {
			return m, nil
		}
		if !errors.Is(err, sealed.ErrOpen) && !errors.Is(err, sealed.ErrUnknownKey) {
			lastErr = err
		} else if errors.Is(lastErr, sealed.ErrNoKeyring) {
			lastErr = err
		}
	}
	return nil, fmt.Errorf("search index: cannot decrypt message %s: %w", id, lastErr)
}

// useFdatasync makes SQLite commit with fdatasync(2) instead of fsync(2),
// as native SQLite builds on Linux do: the data and the file's size reach
// the disk all the same, but not its timestamps, whose update fsync pushes
// through ext4's journal on every commit. The transpiled library keeps
// fsync unless told (modernc.org/sqlite.Fdatasync); the setting is
// process-wide. Where fdatasync does not exist it stays fsync.
func useFdatasync() {
	fdatasyncOnce.Do(func() { _, _ = sqlite.Fdatasync(true) })
}

var fdatasyncOnce sync.Once
