package webhook_test

import (
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/webhook"
)

// TestSignStandardVector checks Sign against the Standard Webhooks
// reference libraries' test vector.
func TestSignStandardVector(t *testing.T) {
	sig, err := webhook.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
		[]byte(`{"test": 2432232314}`))
	if err != nil || sig != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("Sign = %q, %v", sig, err)
	}
}

func TestVerify(t *testing.T) {
	const secret, old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2VjcmV0IGJlZm9yZSB0aGUgcm90YXRpb24="
	body := []byte(`{"id":"msg_1","type":"ping"}`)
	now := time.Unix(1_800_000_000, 0)
	h, err := webhook.Headers([]string{secret, old}, "msg_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("webhook-id") != "msg_1" || h.Get("webhook-timestamp") != strconv.FormatInt(now.Unix(), 10) ||
		h.Get("content-type") != "application/json" {
		t.Fatalf("headers %v", h)
	}
	for _, s := range []string{secret, old} {
		if err := webhook.Verify(s, h, body, now.Add(time.Minute), 5*time.Minute); err != nil {
			t.Fatalf("either secret verifies during a rotation: %v", err)
		}
	}
	tamper := func(f func(h http.Header) []byte) error {
		c := h.Clone()
		b := f(c)
		return webhook.Verify(secret, c, b, now, 5*time.Minute)
	}
	for name, f := range map[string]func(h http.Header) []byte{
		"body": func(http.Header) []byte { return []byte(`{"id":"msg_1","type":"pong"}`) },
		"id":   func(h http.Header) []byte { h.Set("webhook-id", "msg_2"); return body },
		"timestamp": func(h http.Header) []byte {
			h.Set("webhook-timestamp", strconv.FormatInt(now.Unix()+1, 10))
			return body
		},
		"no id": func(h http.Header) []byte { h.Del("webhook-id"); return body },
		"v2 only": func(h http.Header) []byte {
			h.Set("webhook-signature", "v2,"+h.Get("webhook-signature")[3:])
			return body
		},
	} {
		if err := tamper(f); !errors.Is(err, webhook.ErrSignature) {
			t.Errorf("tampered %s: %v", name, err)
		}
	}
	if err := webhook.Verify(secret, h, body, now.Add(6*time.Minute), 5*time.Minute); !errors.Is(err, webhook.ErrSignature) {
		t.Errorf("an old delivery replayed later: %v", err)
	}
	if err := webhook.Verify("whsec_d3Jvbmc=", h, body, now, 5*time.Minute); !errors.Is(err, webhook.ErrSignature) {
		t.Errorf("another secret: %v", err)
	}
}

func TestAllow(t *testing.T) {
	a, err := webhook.ParseAllow([]string{"127.0.0.1:9000", "10.1.0.0/16", "192.168.1.5", "Hooks.Internal.", " "})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.AddrPorts) != 1 || len(a.Prefixes) != 2 || len(a.Hosts) != 1 || a.Hosts[0] != "hooks.internal" ||
		a.Prefixes[1] != netip.MustParsePrefix("192.168.1.5/32") {
		t.Fatalf("parsed %+v", a)
	}
	if _, err := webhook.ParseAllow([]string{"http://x"}); err == nil {
		t.Fatal("a URL is not an exception")
	}
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://example.com/hook", true},
		{"https://93.184.216.34/hook", true},
		{"http://example.com/hook", false}, // plain HTTP to the internet
		{"https://127.0.0.1/hook", false},
		{"https://127.0.0.1:9001/hook", false},
		{"http://127.0.0.1:9000/hook", true}, // allowed exactly
		{"https://10.0.0.1/", false},
		{"http://10.1.200.3:8080/", true},
		{"https://169.254.169.254/latest/meta-data", false},
		{"https://[::ffff:10.0.0.1]/", false},
		{"https://[fd00::1]/", false},
		{"https://2130706433/", false},
		{"https://localhost/", false},
		{"https://a.localhost/", false},
		{"http://hooks.internal/x", true},
		{"ftp://hooks.internal/x", false},
		{"https://192.168.1.5/", true},
		{"https://192.168.1.6/", false},
	} {
		err := a.CheckURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok %v", tc.url, err, tc.ok)
		}
		if err != nil && parley.ErrorCode(err) != parley.EInvalid {
			t.Errorf("%s: code %s, want invalid", tc.url, parley.ErrorCode(err))
		}
	}
}
