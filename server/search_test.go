package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSearchHTTP searches through the API: results with snippets as text
// parts, cursors, the business route, and problem+json for bad input.
func TestSearchHTTP(t *testing.T) {
	ts := startServer(t)
	alice, bob, conv := friends(ts, "alice", "bob")
	eve := ts.register("eve", "person")
	for _, text := range []string{"the <script>alert(1)</script> tea party", "green tea", "tea for two", "coffee"} {
		alice.send(conv, text)
	}
	search := func(u *user, q url.Values) *response {
		return u.do("GET", "/api/v1/search?"+q.Encode(), nil)
	}
	r := must(t, search(bob, url.Values{"q": {"tea"}, "limit": {"2"}}), http.StatusOK)
	items := r.Items()
	if len(items) != 2 {
		t.Fatalf("first page: %s", r.Body)
	}
	next, _ := r.JSON()["next_cursor"].(string)
	if next == "" {
		t.Fatalf("no next_cursor: %s", r.Body)
	}
	r = must(t, search(bob, url.Values{"q": {"tea"}, "limit": {"2"}, "cursor": {next}}), http.StatusOK)
	items = append(items, r.Items()...)
	if len(items) != 3 {
		t.Fatalf("two pages: %d items", len(items))
	}
	var marked []string
	for _, it := range items {
		msg := it["message"].(map[string]any)
		if msg["conversation_id"] != conv || msg["id"] == "" {
			t.Errorf("message: %v", msg)
		}
		for _, p := range it["snippet"].([]any) {
			part := p.(map[string]any)
			if part["hit"] == true {
				marked = append(marked, part["text"].(string))
			}
			if strings.Contains(part["text"].(string), "&lt;") {
				t.Errorf("snippet text is escaped HTML: %q", part["text"])
			}
		}
	}
	if strings.Join(marked, ",") != "tea,tea,tea" {
		t.Errorf("hits %q", marked)
	}
	if got := search(eve, url.Values{"q": {"tea"}}).Items(); len(got) != 0 {
		t.Errorf("eve found %v", got)
	}
	wantProblem(t, search(eve, url.Values{"q": {"tea"}, "conversation": {conv}}), 404, "not_found")
	wantProblem(t, ts.do("", "GET", "/api/v1/search?q=tea", nil), 401, "unauthorized")

	for _, c := range []struct {
		name   string
		q      url.Values
		status int
		code   string
	}{
		{"no q", url.Values{}, 422, "invalid"},
		{"blank q", url.Values{"q": {"  "}}, 422, "invalid"},
		{"punctuation only", url.Values{"q": {`"*)`}}, 422, "invalid"},
		{"long q", url.Values{"q": {strings.Repeat("tea ", 100)}}, 413, "too_large"},
		{"bad cursor", url.Values{"q": {"tea"}, "cursor": {"%%%"}}, 422, "invalid"},
		{"forged cursor", url.Values{"q": {"tea"}, "cursor": {"eyJ4IjoxfQ"}}, 422, "invalid"},
		{"bad after", url.Values{"q": {"tea"}, "after": {"last week"}}, 422, "invalid"},
		{"bad before", url.Values{"q": {"tea"}, "before": {"2026-02-30"}}, 422, "invalid"},
		{"after not before before", url.Values{"q": {"tea"}, "after": {"2026-03-01"}, "before": {"2026-03-01"}}, 422, "invalid"},
		{"bad has", url.Values{"q": {"tea"}, "has": {"links"}}, 422, "invalid"},
		{"bad limit", url.Values{"q": {"tea"}, "limit": {"x"}}, 422, "invalid"},
		{"limit too big", url.Values{"q": {"tea"}, "limit": {"500"}}, 422, "invalid"},
		{"unknown sender", url.Values{"q": {"tea"}, "from": {"nobody"}}, 422, "invalid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := search(bob, c.q)
			wantProblem(t, r, c.status, c.code)
			if r.JSON()["detail"] == "" {
				t.Errorf("no detail: %s", r.Body)
			}
		})
	}

	// The business route: the team finds customers' messages; others
	// learn nothing.
	shop := ts.register("shop", "business")
	cust := ts.register("cust", "person")
	cc := cust.direct("shop")
	cust.send(cc, "my order of tea is late")
	r = must(t, shop.do("GET", "/api/v1/business/shop/search?q=order", nil), http.StatusOK)
	if items := r.Items(); len(items) != 1 || items[0]["message"].(map[string]any)["conversation_id"] != cc {
		t.Errorf("business search: %s", r.Body)
	}
	wantProblem(t, alice.do("GET", "/api/v1/business/shop/search?q=order", nil), 404, "not_found")
	must(t, shop.do("PUT", "/api/v1/business/shop/agents/eve", map[string]any{}), http.StatusOK)
	r = must(t, search(eve, url.Values{"q": {"order"}}), http.StatusOK)
	if items := r.Items(); len(items) != 1 || items[0]["as"] != shop.ID {
		t.Errorf("agent search: %s", r.Body)
	}
}
