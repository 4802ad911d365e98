package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestOpenAPICoversRoutes keeps the served OpenAPI document in step with
// the router: every route the server registers must be described, and
// nothing else. The routes are the patterns New registers (routes.go and
// business.go build some of them), not a reading of the source.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	s := New(nil, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	routes := map[string]bool{}
	for _, p := range s.patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			continue // the catch-all "/api/" answers not_found
		}
		key := strings.ToLower(method) + " " + path
		routes[key] = true
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s %s is not in openapi.json", method, path)
		}
	}
	if len(routes) < 80 {
		t.Fatalf("found only %d routes; registration is broken", len(routes))
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			if !routes[method+" "+path] {
				t.Errorf("openapi.json describes %s %s, which no route serves", method, path)
			}
		}
	}
}
