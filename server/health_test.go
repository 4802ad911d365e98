package server

import (
	"net/http"
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
