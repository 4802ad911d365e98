package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestPanicBecomesProblem checks that a panicking handler answers 500
// problem+json with a request id and no detail of the cause.
func TestPanicBecomesProblem(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil)), mux: http.NewServeMux()}
	s.handle("GET /boom", func(w http.ResponseWriter, r *http.Request) error {
		panic("secret cause")
	})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Code != "internal" || p.RequestID == "" || p.RequestID != rec.Header().Get("X-Request-Id") || p.Detail != "internal error" {
		t.Errorf("problem = %+v", p)
	}
}

func TestStatusOfEveryCode(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{
		{"invalid", 422}, {"malformed_request", 400}, {"not_found", 404}, {"unauthorized", 401},
		{"bad_credentials", 401}, {"forbidden", 403}, {"dm_not_allowed", 403}, {"request_limit", 403},
		{"edit_window_closed", 403}, {"conflict", 409}, {"handle_taken", 409}, {"group_full", 409},
		{"channel_unsupported", 409}, {"rate_limited", 429}, {"too_large", 413}, {"internal", 500}, {"anything else", 500},
		{"legal_hold", 409}, {"sensitive_data", 422},
	}
	for _, tt := range tests {
		if got := statusOf(tt.code); got != tt.want {
			t.Errorf("statusOf(%q) = %d, want %d", tt.code, got, tt.want)
		}
	}
}
