package app_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/sealed"
	"github.com/parleyhq/parley/store/postgres"
	"github.com/parleyhq/parley/store/postgres/pgtest"
	"github.com/parleyhq/parley/store/sqlite"
)

// openStore returns a fresh store for a test, closed when it ends:
// SQLite (WAL, synchronous=FULL), or a fresh PostgreSQL database when
// PARLEY_TEST_STORE=postgres (scripts/test.sh runs the package both ways).
// With PARLEY_TEST_ENCRYPTION=1 the store seals message text at rest.
func openStore(tb testing.TB) parley.Store {
	tb.Helper()
	var st interface {
		parley.Store
		SetKeyring(*sealed.Keyring)
	}
	if os.Getenv("PARLEY_TEST_STORE") == "postgres" {
		st = pgtest.Open(tb, postgres.Options{})
	} else {
		db, err := sqlite.Open(filepath.Join(tb.TempDir(), "parley.db"), sqlite.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { db.Close() })
		st = db
	}
	if os.Getenv("PARLEY_TEST_ENCRYPTION") == "1" {
		st.SetKeyring(testKeyring(tb))
	}
	return st
}

// testKeyring returns a keyring with one data key under a new master key.
func testKeyring(tb testing.TB) *sealed.Keyring {
	tb.Helper()
	m, _, err := sealed.GenerateMasterKey()
	if err != nil {
		tb.Fatal(err)
	}
	k, err := sealed.NewDataKey(m, 1)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := sealed.NewKeyring(m, []sealed.WrappedKey{k})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}
