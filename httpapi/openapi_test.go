package httpapi

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestOpenAPICoversRoutes keeps the served OpenAPI document in step with
// the router: every route in routes.go must be described, and nothing else.
func TestOpenAPICoversRoutes(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
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
	routes := map[string]bool{}
	re := regexp.MustCompile(`"(GET|POST|PUT|PATCH|DELETE) (/[^"]*)"`)
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		key := strings.ToLower(m[1]) + " " + m[2]
		routes[key] = true
		if _, ok := doc.Paths[m[2]][strings.ToLower(m[1])]; !ok {
			t.Errorf("route %s %s is not in openapi.json", m[1], m[2])
		}
	}
	if len(routes) < 40 {
		t.Fatalf("found only %d routes in routes.go; the pattern is broken", len(routes))
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
