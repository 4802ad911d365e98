package client

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{" 0 ", 0},
		{"-1", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		err   error
		retry bool
	}{
		{&transportError{errors.New("reset")}, true},
		{&Error{Status: 503}, true},
		{&Error{Status: 500, Code: CodeInternal}, true},
		{&Error{Status: 429, Code: CodeRateLimited, RetryAfter: 2 * time.Second}, true},
		{&Error{Status: 409, Code: CodeHumanControl}, false},
		{&Error{Status: 422, Code: CodeInvalid}, false},
		{errors.New("decode"), false},
	} {
		wait, ok := retryAfter(tc.err, 0)
		if ok != tc.retry || (ok && wait <= 0) {
			t.Errorf("retryAfter(%v) = %v, %v", tc.err, wait, ok)
		}
	}
	if wait, _ := retryAfter(&Error{Status: 429, RetryAfter: 7 * time.Second}, 3); wait != 7*time.Second {
		t.Errorf("a 429 waits its Retry-After, not %v", wait)
	}
	for attempt := range 20 {
		if d := backoff(attempt, time.Second, 4*time.Second); d < 750*time.Millisecond || d > 5*time.Second {
			t.Errorf("backoff(%d) = %v", attempt, d)
		}
	}
}
