package server

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestHealth: /healthz answers while the process runs; /readyz while the
// database holds this build's schema and the bus is connected.
func TestHealth(t *testing.T) {
	ts := startServer(t)
	r := must(t, ts.do("", "GET", "/healthz", nil), http.StatusOK)
	if r.JSON()["status"] != "ok" {
		t.Errorf("healthz: %s", r.Body)
	}
	r = must(t, ts.do("", "GET", "/readyz", nil), http.StatusOK)
	if r.JSON()["status"] != "ready" {
		t.Errorf("readyz: %s", r.Body)
	}
	// A bus that lost its connection makes the node unready, not unhealthy.
	ts.Bus.Close()
	resp, err := http.Get(ts.URL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz without a bus: %d", resp.StatusCode)
	}
	must(t, ts.do("", "GET", "/healthz", nil), http.StatusOK)
}

// TestReadyzSchema: /readyz turns 503 while the database holds a schema
// this build does not know (a migration from a newer build), and ready
// again once it is gone; /healthz stays 200 throughout.
func TestReadyzSchema(t *testing.T) {
	ts := startServer(t)
	driver, dsn := "sqlite", "file:"+filepath.Join(ts.cfg.DataDir, "parley.db")+"?_pragma=busy_timeout(10000)"
	if strings.HasPrefix(ts.cfg.DatabaseURL, "postgres") {
		driver, dsn = "pgx", ts.cfg.DatabaseURL
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const future = "migrations/9999_from_a_newer_build.sql"
	if _, err := db.Exec(`INSERT INTO schema_migrations (name, applied_at) VALUES ($1, 0)`, future); err != nil {
		t.Fatal(err)
	}
	// Not through ts.do: a 503 here is a status document, not a problem.
	resp, err := http.Get(ts.URL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Status string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || body.Status != "unavailable" {
		t.Errorf("readyz with a newer schema: %d %q", resp.StatusCode, body.Status)
	}
	must(t, ts.do("", "GET", "/healthz", nil), http.StatusOK)
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE name = $1`, future); err != nil {
		t.Fatal(err)
	}
	must(t, ts.do("", "GET", "/readyz", nil), http.StatusOK)
}
