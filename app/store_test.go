package app_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/postgres"
	"github.com/parleyhq/parley/store/postgres/pgtest"
	"github.com/parleyhq/parley/store/sqlite"
)

// openStore returns a fresh store for a test, closed when it ends:
// SQLite (WAL, synchronous=FULL), or a fresh PostgreSQL database when
// PARLEY_TEST_STORE=postgres (scripts/test.sh runs the package both ways).
func openStore(tb testing.TB) parley.Store {
	tb.Helper()
	if os.Getenv("PARLEY_TEST_STORE") == "postgres" {
		return pgtest.Open(tb, postgres.Options{})
	}
	db, err := sqlite.Open(filepath.Join(tb.TempDir(), "parley.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
