package outbound_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/parleyhq/parley/outbound"
)

func TestAllowed(t *testing.T) {
	blocked := []string{
		"127.0.0.1", "127.255.0.9", "::1", // loopback
		"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "fc00::1", "fd12:3456::1", // private
		"169.254.169.254", "fe80::1", // link-local (cloud metadata)
		"100.64.0.1", "100.127.255.254", // CGNAT
		"224.0.0.1", "239.1.1.1", "ff02::1", // multicast
		"0.0.0.0", "::", "0.1.2.3", // unspecified, this network
		"255.255.255.255", "240.0.0.1", // broadcast, reserved
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", // IPv4-mapped
		"2002:7f00:1::1", "2002:a00:1::", // 6to4 around loopback and private
		"64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", // NAT64 around loopback and metadata
		"2001:db8::1", "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1", // documentation, benchmarking
		"2001:0:4136:e378:8000:63bf:3fff:fdd2",                // Teredo
		"::808:808", "::ffff:0:808:808", "1000::1", "4000::1", // outside 2000::/3
	}
	for _, s := range blocked {
		if outbound.Allowed(netip.MustParseAddr(s), false) {
			t.Errorf("%s allowed", s)
		}
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808", "172.32.0.1", "100.128.0.1"} {
		if !outbound.Allowed(netip.MustParseAddr(s), false) {
			t.Errorf("%s refused", s)
		}
	}
	if !outbound.Allowed(netip.MustParseAddr("127.0.0.1"), true) || outbound.Allowed(netip.MustParseAddr("10.0.0.1"), true) {
		t.Error("AllowLoopback opens loopback only")
	}
}

func TestClientRefusesAtDialTime(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		switch r.URL.Path {
		case "/to-private":
			http.Redirect(w, r, "http://10.0.0.1/", http.StatusFound)
		case "/to-octal":
			http.Redirect(w, r, "http://0177.0.0.1/", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/to-loopback":
			http.Redirect(w, r, "http://127.0.0.1:1/", http.StatusFound)
		case "/to-localhost":
			http.Redirect(w, r, "http://localhost:1/", http.StatusFound)
		case "/to-mapped":
			http.Redirect(w, r, "http://[::ffff:127.0.0.1]:1/", http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		default:
			fmt.Fprint(w, strings.Repeat("x", 5000))
		}
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	ctx := context.Background()

	strict := outbound.New(outbound.Options{})
	for _, u := range []string{
		srv.URL + "/", // 127.0.0.1
		"http://localhost:" + port + "/",
		"http://[::1]:" + port + "/",
		"http://[::ffff:127.0.0.1]:" + port + "/",
		"http://2130706433:" + port + "/", // decimal
		"http://0177.0.0.1:" + port + "/", // octal
		"http://0x7f.0.0.1:" + port + "/", // hexadecimal
		"http://127.1:" + port + "/",      // short form
		"ftp://example.com/",
		"http://user:pw@example.com/",
	} {
		if _, err := strict.Get(ctx, u, 1024, ""); !errors.Is(err, outbound.ErrBlocked) {
			t.Errorf("%s: %v, want blocked", u, err)
		}
	}
	if hits != 0 {
		t.Fatalf("a blocked request reached the server %d times", hits)
	}

	// Tests allow loopback explicitly; everything else stays blocked, at
	// every redirect.
	c := outbound.New(outbound.Options{AllowLoopback: true})
	r, err := c.Get(ctx, srv.URL+"/", 1000, "")
	if err != nil || len(r.Body) != 1000 || !r.Truncated {
		t.Fatalf("capped body: %v, %d bytes, truncated %v", err, len(r.Body), r != nil && r.Truncated)
	}
	for _, p := range []string{"/to-private", "/to-octal", "/to-file"} {
		if _, err := c.Get(ctx, srv.URL+p, 1000, ""); err == nil {
			t.Errorf("%s: redirect followed", p)
		}
	}
	if _, err := c.Get(ctx, srv.URL+"/loop", 1000, ""); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("redirect loop: %v", err)
	}

	// Only the test server itself is let through: a redirect from it to
	// any other loopback address is refused at dial time.
	only := outbound.New(outbound.Options{AllowOnly: []netip.AddrPort{netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://"))}})
	if _, err := only.Get(ctx, srv.URL+"/", 10, ""); err != nil {
		t.Fatalf("the allowed address: %v", err)
	}
	for _, p := range []string{"/to-loopback", "/to-localhost", "/to-mapped"} {
		if _, err := only.Get(ctx, srv.URL+p, 1000, ""); !errors.Is(err, outbound.ErrBlocked) {
			t.Errorf("%s: %v, want blocked", p, err)
		}
	}
}

// TestOperatorExceptionsAndPost: an operator may allow address ranges and
// host names that are not public; a POST sends its body and headers and,
// with NoRedirects, answers a redirect as it is.
func TestOperatorExceptionsAndPost(t *testing.T) {
	var got struct {
		body, sig string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		b := make([]byte, 100)
		n, _ := r.Body.Read(b)
		got.body, got.sig = string(b[:n]), r.Header.Get("Webhook-Signature")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, "thanks")
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	ctx := context.Background()
	h := http.Header{"Webhook-Signature": {"v1,abc"}}

	if _, err := outbound.New(outbound.Options{}).Post(ctx, srv.URL+"/", h, []byte("{}"), 10); !errors.Is(err, outbound.ErrBlocked) {
		t.Fatalf("POST to loopback without an exception: %v", err)
	}
	byPrefix := outbound.New(outbound.Options{AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, NoRedirects: true})
	r, err := byPrefix.Post(ctx, srv.URL+"/", h, []byte(`{"a":1}`), 3)
	if err != nil || r.Status != http.StatusAccepted || string(r.Body) != "tha" || !r.Truncated {
		t.Fatalf("POST: %v %+v", err, r)
	}
	if got.body != `{"a":1}` || got.sig != "v1,abc" {
		t.Fatalf("the server got %+v", got)
	}
	if r, err := byPrefix.Post(ctx, srv.URL+"/moved", h, nil, 10); err != nil || r.Status != http.StatusFound {
		t.Fatalf("redirect answered as it is: %v %+v", err, r)
	}
	if _, err := byPrefix.Get(ctx, "http://[::1]:"+port+"/", 10, ""); !errors.Is(err, outbound.ErrBlocked) {
		t.Fatalf("::1 is outside the allowed prefix: %v", err)
	}

	byName := outbound.New(outbound.Options{AllowHosts: []string{"LOCALHOST"}})
	if _, err := byName.Post(ctx, "http://localhost:"+port+"/", h, nil, 10); err != nil {
		t.Fatalf("an allowed host name: %v", err)
	}
	if _, err := byName.Post(ctx, srv.URL+"/", h, nil, 10); !errors.Is(err, outbound.ErrBlocked) {
		t.Fatalf("the same address by another name stays blocked: %v", err)
	}
}

// TestGetWithHeader: the headers reach the server (a channel's access
// token), the body is capped, and the address check still applies.
func TestGetWithHeader(t *testing.T) {
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		fmt.Fprint(w, "0123456789")
	}))
	defer srv.Close()
	ctx := context.Background()
	h := http.Header{"Authorization": {"Bearer tok"}}
	if _, err := outbound.New(outbound.Options{}).GetWithHeader(ctx, srv.URL+"/", h, 10); !errors.Is(err, outbound.ErrBlocked) {
		t.Fatalf("GET to loopback without an exception: %v", err)
	}
	c := outbound.New(outbound.Options{AllowLoopback: true})
	r, err := c.GetWithHeader(ctx, srv.URL+"/", h, 4)
	if err != nil || auth != "Bearer tok" || string(r.Body) != "0123" || !r.Truncated {
		t.Fatalf("GET: %v %+v (auth %q)", err, r, auth)
	}
}
