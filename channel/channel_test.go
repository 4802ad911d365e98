package channel_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/parleyhq/parley/channel"
)

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"object":"page","entry":[]}`)
	good := channel.Sign("app-secret", body)
	for _, tc := range []struct {
		name, secret, header string
		body                 []byte
		want                 bool
	}{
		{"valid", "app-secret", good, body, true},
		{"missing", "app-secret", "", body, false},
		{"no prefix", "app-secret", good[len("sha256="):], body, false},
		{"wrong secret", "other-secret", good, body, false},
		{"altered body", "app-secret", good, []byte(`{"object":"page","entry":[{}]}`), false},
		{"re-serialised body", "app-secret", good, []byte(`{"object": "page", "entry": []}`), false},
		{"not hex", "app-secret", "sha256=zz", body, false},
		{"short", "app-secret", good[:20], body, false},
		{"empty secret", "", channel.Sign("", body), body, false},
	} {
		if got := channel.VerifySignature(tc.secret, tc.body, tc.header); got != tc.want {
			t.Errorf("%s: VerifySignature = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	h := http.Header{}
	h.Set("Retry-After", "30")
	for _, tc := range []struct {
		name                string
		status, code        int
		header              http.Header
		rate, temp, retries bool
		after               time.Duration
	}{
		{"HTTP 429", 429, 0, h, true, false, true, 30 * time.Second},
		{"page rate limit 613", 400, 613, http.Header{}, true, false, true, 0},
		{"app rate limit 4", 400, 4, http.Header{}, true, false, true, 0},
		{"cloud api throughput 130429", 400, 130429, http.Header{}, true, false, true, 0},
		{"server error", 503, 0, http.Header{}, false, true, true, 0},
		{"window closed 10", 400, 10, http.Header{}, false, false, false, 0},
		{"re-engagement 131047", 400, 131047, http.Header{}, false, false, false, 0},
		{"bad token 190", 401, 190, http.Header{}, false, false, false, 0},
	} {
		e := channel.Classify(tc.status, tc.header, tc.code, 0, "")
		if e.RateLimited != tc.rate || e.Temporary != tc.temp || e.Retryable() != tc.retries || e.RetryAfter != tc.after {
			t.Errorf("%s: %+v", tc.name, e)
		}
	}
}
