package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Built-in TLS (PARLEY_TLS_CERT, PARLEY_TLS_KEY): the main listener
// speaks HTTPS with a certificate and key from PEM files, read at start.
// Certificates are obtained elsewhere (ACME is not reachable from every
// network Parley runs in); restart after renewing them. HTTP/1.1 only, so
// that WebSocket upgrades work in every browser.

// tlsOn reports whether the server terminates TLS itself.
func (c Config) tlsOn() bool { return c.TLSCert != "" || c.TLSKey != "" }

// HTTPS reports whether users reach the server over HTTPS: it terminates
// TLS itself, or its public URL (behind a proxy) is https. HSTS follows.
func (c Config) HTTPS() bool {
	return c.tlsOn() || strings.HasPrefix(strings.ToLower(c.PublicURL), "https://")
}

// tlsListener wraps ln in TLS with the configured certificate.
func tlsListener(cfg Config, ln net.Listener) (net.Listener, error) {
	if cfg.TLSCert == "" || cfg.TLSKey == "" {
		return nil, errors.New("TLS needs both PARLEY_TLS_CERT and PARLEY_TLS_KEY")
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s and key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
	}
	return tls.NewListener(ln, &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}), nil
}

// redirectHandler answers plain HTTP with a permanent redirect to the
// same path over HTTPS: on the public URL when one is set, else on the
// request's host at the TLS listener's port.
func redirectHandler(cfg Config, tlsAddr string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		var target string
		if u, err := url.Parse(cfg.PublicURL); err == nil && u.Scheme == "https" && u.Host != "" {
			target = "https://" + u.Host + r.URL.RequestURI()
		} else {
			host := r.Host
			if h, _, err := net.SplitHostPort(r.Host); err == nil {
				host = h
			}
			if _, port, err := net.SplitHostPort(tlsAddr); err == nil && port != "443" {
				host = net.JoinHostPort(host, port)
			}
			target = "https://" + host + r.URL.RequestURI()
		}
		http.Redirect(w, r, target, http.StatusPermanentRedirect)
	})
}

// newRedirectServer is the plain-HTTP server of PARLEY_TLS_REDIRECT_LISTEN.
func newRedirectServer(cfg Config, tlsAddr string) *http.Server {
	return &http.Server{Handler: redirectHandler(cfg, tlsAddr), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second}
}
