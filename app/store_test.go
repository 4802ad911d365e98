package app_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/sealed"
	"github.com/parleyhq/parley/sealed/sealedtest"
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
		st.SetKeyring(sealedtest.Ring(tb))
	}
	return st
}
