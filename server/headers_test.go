package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// checkSecurityHeaders fails unless a response carries every security
// header (and HSTS exactly when https).
func checkSecurityHeaders(t *testing.T, what string, h http.Header, https bool) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src") {
		t.Errorf("%s: Content-Security-Policy %q", what, csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("%s: nosniff %q, X-Frame-Options %q, Referrer-Policy %q", what, h.Get("X-Content-Type-Options"),
			h.Get("X-Frame-Options"), h.Get("Referrer-Policy"))
	}
	if hsts := h.Get("Strict-Transport-Security"); (hsts != "") != https || (https && !strings.Contains(hsts, "max-age=")) {
		t.Errorf("%s: Strict-Transport-Security %q (https %v)", what, hsts, https)
	}
}

// everyPath returns each method and path of openapi.json (parameters
// filled with "x") and the web app's and server's own paths.
func everyPath(t *testing.T, get func(path string) *http.Response) [][2]string {
	t.Helper()
	resp := get("/api/v1/openapi.json")
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	var out [][2]string
	for p, ops := range doc.Paths {
		for m := range ops {
			if m == "parameters" || m == "summary" || m == "description" {
				continue
			}
			out = append(out, [2]string{strings.ToUpper(m), param.ReplaceAllString(p, "x")})
		}
	}
	if len(out) < 80 {
		t.Fatalf("only %d operations in openapi.json", len(out))
	}
	sort.Slice(out, func(i, j int) bool { return out[i][1]+out[i][0] < out[j][1]+out[j][0] })
	dist, err := os.ReadDir("../web/dist/assets")
	if err != nil || len(dist) == 0 {
		t.Fatalf("web/dist/assets: %v", err)
	}
	return append(out,
		[2]string{"GET", "/"}, [2]string{"GET", "/index.html"}, [2]string{"GET", "/settings/security"},
		[2]string{"GET", "/assets/" + dist[0].Name()}, [2]string{"GET", "/assets/missing.js"}, [2]string{"POST", "/"},
		[2]string{"GET", "/metrics"}, [2]string{"GET", "/api/nowhere"}, [2]string{"PATCH", "/healthz"},
		[2]string{"GET", "/api/v1/media/x?download=1"})
}

// TestSecurityHeadersEverywhere walks every route of openapi.json and the
// static paths — answered 2xx, 4xx or 404 — and checks the headers on
// each, first over plain HTTP (no HSTS), then behind an https public URL.
func TestSecurityHeadersEverywhere(t *testing.T) {
	for _, https := range []bool{false, true} {
		ts := startServer(t, func(c *Config) {
			if https {
				c.PublicURL = "https://chat.example.com"
			}
		})
		u := ts.register("ann", "person")
		get := func(path string) *http.Response {
			resp, err := ts.client.Get(ts.URL() + path)
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		statuses := map[int]int{}
		for _, mp := range everyPath(t, get) {
			for _, token := range []string{"", u.Token} {
				req, _ := http.NewRequest(mp[0], ts.URL()+mp[1], strings.NewReader("{}"))
				req.Header.Set("Content-Type", "application/json")
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := ts.client.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", mp[0], mp[1], err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				statuses[resp.StatusCode]++
				checkSecurityHeaders(t, mp[0]+" "+mp[1]+" → "+resp.Status, resp.Header, https)
			}
		}
		t.Logf("https=%v: statuses %v", https, statuses)
		if statuses[200] == 0 || statuses[401] == 0 || statuses[404] == 0 {
			t.Errorf("the walk did not reach successes, refusals and 404s: %v", statuses)
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "parley test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestBuiltInTLS: with a certificate and key the server speaks HTTPS only,
// sends HSTS, serves the API and sync, and its redirect listener
// sends plain HTTP to HTTPS.
func TestBuiltInTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	ts := startServer(t, func(c *Config) {
		c.TLSCert, c.TLSKey, c.TLSRedirectListen = certFile, keyFile, "127.0.0.1:0"
	})
	if !strings.HasPrefix(ts.URL(), "https://") {
		t.Fatalf("URL %s", ts.URL())
	}
	ts.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	ann := ts.register("ann", "person")
	r := must(t, ann.do("GET", "/api/v1/me", nil), http.StatusOK)
	checkSecurityHeaders(t, "GET /api/v1/me over TLS", r.Header, true)

	// Plain HTTP on the TLS port is not served.
	plain := &http.Client{Timeout: 10 * time.Second}
	if resp, err := plain.Get("http://" + ts.Addr() + "/healthz"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("plain HTTP served on the TLS port: %s", body)
		}
	}
	// An untrusted client refuses the certificate: it is really TLS.
	if _, err := (&http.Client{Timeout: 10 * time.Second}).Get(ts.URL() + "/healthz"); err == nil {
		t.Fatal("a client without the test CA accepted the certificate")
	}
	// The redirect listener.
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get("http://" + ts.redirLn.Addr().String() + "/api/v1/me?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := net.SplitHostPort(ts.Addr())
	if want := "https://127.0.0.1:" + port + "/api/v1/me?x=1"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Fatalf("redirect: %d to %q, want 308 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	// Long-poll sync works over TLS too.
	rr := must(t, ts.do(ann.Token, "GET", "/api/v1/sync?since=0", nil), http.StatusOK)
	checkSecurityHeaders(t, "sync over TLS", rr.Header, true)
}
