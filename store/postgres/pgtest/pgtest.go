// Package pgtest gives tests a fresh PostgreSQL database each. The server
// to use is named by PARLEY_TEST_POSTGRES, a postgres:// URL of a role that
// may create databases (scripts/test.sh starts a throwaway cluster and sets
// it). Without it the tests skip, loudly; under CI they fail instead.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/parleyhq/parley/store/postgres"
)

// EnvDSN names the environment variable holding the admin URL.
const EnvDSN = "PARLEY_TEST_POSTGRES"

var (
	mu       sync.Mutex
	admin    *sql.DB
	template string
	prefix   string // this binary's, for its test databases' names
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

// prepare connects to the server and finds or builds the template
// database holding the migrated schema: each test's database is a copy of
// it, which is much faster than migrating every time. The template is
// named by the schema's digest and shared by every test binary on the
// server, so that none is left behind per binary: the first binary to
// need it migrates a database of its own and renames it to the shared
// name; a binary that loses that race drops its copy and uses the
// winner's.
func prepare() error {
	if admin != nil {
		return nil
	}
	dsn := os.Getenv(EnvDSN)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	tpl := "parley_tpl_" + postgres.SchemaDigest()[:20]
	prefix = fmt.Sprintf("parley_t%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	var exists bool
	if err := db.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tpl).Scan(&exists); err != nil {
		db.Close()
		return fmt.Errorf("look for the template database: %w", err)
	}
	if !exists {
		if err := buildTemplate(db, dsn, tpl, prefix+"_tpl"); err != nil {
			db.Close()
			return err
		}
	}
	admin, template = db, tpl
	return nil
}

// buildTemplate migrates a new database named tmp and renames it to tpl,
// or drops it when another binary renamed its own first.
func buildTemplate(db *sql.DB, dsn, tpl, tmp string) error {
	// C collation: text sorts by bytes, as in SQLite.
	if _, err := db.Exec(`CREATE DATABASE ` + tmp + ` TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`); err != nil {
		return fmt.Errorf("create template database: %w", err)
	}
	tdsn, err := withDatabase(dsn, tmp)
	if err != nil {
		return err
	}
	s, err := postgres.Open(tdsn, postgres.Options{})
	if err == nil {
		err = s.Close()
	}
	if err == nil {
		_, err = db.Exec(`ALTER DATABASE ` + tmp + ` RENAME TO ` + tpl)
		if pgCode(err) == "42P04" { // duplicate_database: another binary's is there
			err = nil
		} else if err == nil {
			return nil
		}
	}
	if _, derr := db.Exec(`DROP DATABASE IF EXISTS ` + tmp + ` WITH (FORCE)`); derr != nil && err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("template database: %w", err)
	}
	return nil
}

// pgCode is err's SQLSTATE, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
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
	name := fmt.Sprintf("%s_%d", prefix, serial.Add(1))
	// PostgreSQL refuses to copy a template while a session is connected
	// to it (55006, object_in_use, after waiting 5 s itself). Nothing
	// connects to the template once it is built, and copies made at once
	// by several binaries only share a lock on it; two more tries cover a
	// backend of the build still exiting. The mutex keeps this binary's
	// own copies apart.
	mu.Lock()
	for try := 0; ; try++ {
		_, err = a.Exec(`CREATE DATABASE ` + name + ` TEMPLATE ` + tpl)
		if pgCode(err) != "55006" || try == 2 {
			break
		}
	}
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
