package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestPingChecksSchema: Ping fails while the database's schema is not
// this build's: a migration missing, or one only a newer build knows.
func TestPingChecksSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openAt(t, path)
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("fresh store: %v", err)
	}
	// Another connection plays the part of a newer build, then of a
	// damaged database.
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`INSERT INTO schema_migrations (name, applied_at) VALUES ('migrations/9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(ctx); err == nil || !strings.Contains(err.Error(), "newer build") {
		t.Errorf("with a newer migration: %v", err)
	}
	if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE name IN ('migrations/9999_future.sql', 'migrations/0001_core.sql')`); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(ctx); err == nil || !strings.Contains(err.Error(), "migrations applied") {
		t.Errorf("with a migration missing: %v", err)
	}
}
