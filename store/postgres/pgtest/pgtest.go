// Package pgtest gives tests a fresh PostgreSQL database each. The server
// to use is named by PARLEY_TEST_POSTGRES, a postgres:// URL of a role that
// may create databases (scripts/test.sh starts a throwaway cluster and sets
// it). Without it the tests skip, loudly; under CI they fail instead.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/parleyhq/parley/store/postgres"
)

// EnvDSN names the environment variable holding the admin URL.
const EnvDSN = "PARLEY_TEST_POSTGRES"

var (
	mu       sync.Mutex
	admin    *sql.DB
	template string
	serial   atomic.Int64
)

// Enabled reports whether PostgreSQL tests can run.
func Enabled() bool { return os.Getenv(EnvDSN) != "" }

// skip skips tb with a message nobody can miss, or fails it under CI,
// where PostgreSQL must be there.
func skip(tb testing.TB) {
	tb.Helper()
	msg := "PostgreSQL tests did NOT run: set " + EnvDSN + "=postgres://user@host:port/postgres (scripts/test.sh starts a cluster and sets it)"
	if os.Getenv("CI") != "" {
		tb.Fatal(msg)
	}
	tb.Skip("!!! " + msg)
}

// withDatabase returns dsn with its database replaced by name.
func withDatabase(dsn, name string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("%s must be a postgres:// URL", EnvDSN)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// prepare connects to the server and builds, once per test binary, a
// template database holding the migrated schema: each test's database is
// a copy of it, which is much faster than migrating every time.
func prepare() error {
	if admin != nil {
		return nil
	}
	dsn := os.Getenv(EnvDSN)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("parley_tpl_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	// C collation: text sorts by bytes, as in SQLite.
	if _, err := db.Exec(`CREATE DATABASE ` + name + ` TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`); err != nil {
		db.Close()
		return fmt.Errorf("create template database: %w", err)
	}
	tdsn, err := withDatabase(dsn, name)
	if err != nil {
		db.Close()
		return err
	}
	s, err := postgres.Open(tdsn, postgres.Options{})
	if err != nil {
		db.Close()
		return fmt.Errorf("migrate template database: %w", err)
	}
	if err := s.Close(); err != nil {
		db.Close()
		return err
	}
	admin, template = db, name
	return nil
}

// DSN creates a fresh, migrated database for tb, dropped when tb ends, and
// returns its URL. It skips tb when PARLEY_TEST_POSTGRES is not set.
func DSN(tb testing.TB) string {
	tb.Helper()
	if !Enabled() {
		skip(tb)
	}
	mu.Lock()
	err := prepare()
	a, tpl := admin, template
	mu.Unlock()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	name := fmt.Sprintf("%s_%d", tpl, serial.Add(1))
	// Copies of one template may not start while another copy is being
	// made from it by a session still connected to it: the mutex keeps
	// creations of this binary apart, and nothing connects to the template.
	mu.Lock()
	_, err = a.Exec(`CREATE DATABASE ` + name + ` TEMPLATE ` + tpl)
	mu.Unlock()
	if err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := a.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			tb.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(os.Getenv(EnvDSN), name)
	if err != nil {
		tb.Fatal(err)
	}
	return dsn
}

// Open returns a store on a fresh database, closed when tb ends (before
// the database is dropped).
func Open(tb testing.TB, opts postgres.Options) *postgres.DB {
	tb.Helper()
	dsn := DSN(tb)
	db, err := postgres.Open(dsn, opts)
	if err != nil {
		tb.Fatalf("postgres.Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
