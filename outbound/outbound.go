// Package outbound makes HTTP requests to addresses that users choose —
// link previews now, webhooks later — without letting them reach the
// server's own network (SSRF). The address is checked at dial time, after
// DNS resolution, on the address actually dialed: a name that resolves to
// a private address, a DNS answer that changes between check and use, and
// a redirect to loopback are all refused the same way.
package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrBlocked is returned (wrapped) for a destination that is not public.
var ErrBlocked = errors.New("destination address is not public")

// Options configure a Client.
type Options struct {
	// Timeout bounds a whole request, redirects and body included
	// (default 5 s).
	Timeout time.Duration
	// MaxRedirects caps redirects, each re-checked (default 3).
	MaxRedirects int
	// AllowLoopback lets requests reach 127.0.0.0/8 and ::1. Tests only:
	// their servers listen on loopback.
	AllowLoopback bool
	// AllowOnly, when set, lets requests reach these exact addresses (and
	// public ones) and nothing else of loopback: tests use it to show that
	// a redirect to another loopback port is refused.
	AllowOnly []netip.AddrPort
	// AllowPrefixes lets requests reach these addresses even though they
	// are not public: an operator's explicit exceptions (an internal
	// webhook receiver, say).
	AllowPrefixes []netip.Prefix
	// AllowHosts lets requests reach these host names (exact, any case)
	// whatever they resolve to: operator exceptions too.
	AllowHosts []string
	// NoRedirects answers a redirect as it is instead of following it
	// (webhooks: a POST is not replayed elsewhere).
	NoRedirects bool
	// MaxConnsPerHost caps idle connections kept per host (default 2, as
	// net/http); a client that posts a lot to one receiver raises it.
	MaxConnsPerHost int
	// UserAgent is sent with every request.
	UserAgent string
}

// Client is an HTTP client for user-chosen addresses.
type Client struct {
	http *http.Client
	opts Options
}

// New returns a Client.
func New(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.MaxRedirects <= 0 {
		opts.MaxRedirects = 3
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Parley (link preview)"
	}
	dialer := &net.Dialer{
		Timeout: opts.Timeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrBlocked, address)
			}
			for _, ok := range opts.AllowOnly {
				if ok.Addr() == ap.Addr().Unmap() && ok.Port() == ap.Port() {
					return nil
				}
			}
			for _, p := range opts.AllowPrefixes {
				if p.Contains(ap.Addr().Unmap()) {
					return nil
				}
			}
			if !Allowed(ap.Addr(), opts.AllowLoopback) {
				return fmt.Errorf("%w: %s", ErrBlocked, ap.Addr())
			}
			return nil
		},
	}
	// Host names the operator allows are dialed without the address check.
	plain := &net.Dialer{Timeout: opts.Timeout}
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		if host, _, err := net.SplitHostPort(address); err == nil {
			for _, h := range opts.AllowHosts {
				if strings.EqualFold(strings.TrimSuffix(host, "."), strings.TrimSuffix(h, ".")) {
					return plain.DialContext(ctx, network, address)
				}
			}
		}
		return dialer.DialContext(ctx, network, address)
	}
	tr := &http.Transport{
		Proxy:                  nil, // a proxy would dial for us, unchecked
		DialContext:            dial,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           max(20, 2*opts.MaxConnsPerHost),
		MaxIdleConnsPerHost:    opts.MaxConnsPerHost,
		IdleConnTimeout:        30 * time.Second,
		TLSHandshakeTimeout:    opts.Timeout,
		ResponseHeaderTimeout:  opts.Timeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
	c := &Client{opts: opts}
	c.http = &http.Client{
		Transport: tr,
		Timeout:   opts.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if opts.NoRedirects {
				return http.ErrUseLastResponse
			}
			if len(via) > opts.MaxRedirects {
				return fmt.Errorf("more than %d redirects", opts.MaxRedirects)
			}
			return CheckURL(req.URL)
		},
	}
	return c
}

// CheckURL refuses what is never fetched whatever it resolves to: schemes
// other than http and https, user info, and hosts written as unusual
// numeric forms (decimal, octal or hexadecimal IPv4, which some resolvers
// turn into addresses and others do not).
func CheckURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q", ErrBlocked, u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("%w: user info in URL", ErrBlocked)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: no host", ErrBlocked)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil // a canonical literal: the dial-time check decides
	}
	if looksNumeric(host) {
		return fmt.Errorf("%w: numeric host %q", ErrBlocked, host)
	}
	return nil
}

// looksNumeric reports whether a host that is not a canonical IP literal
// is made only of digits, dots and hex markers, like 2130706433,
// 0177.0.0.1 or 0x7f.1.
func looksNumeric(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, part := range strings.Split(h, ".") {
		// An empty label (".0", "1..2") is no name either: treated as
		// numeric, so refused (found by FuzzCheckURL).
		p := strings.TrimPrefix(part, "0x")
		for _, r := range p {
			if !(r >= '0' && r <= '9' || part != p && r >= 'a' && r <= 'f') {
				return false
			}
		}
	}
	return true
}

var blockedPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // carrier-grade NAT
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"240.0.0.0/4",     // reserved, and broadcast
		"2001:db8::/32",   // documentation
		"2001::/32",       // Teredo: tunnels to hidden IPv4
		"64:ff9b:1::/48",  // local-use IPv4/IPv6 translation
		"fec0::/10",       // site-local (deprecated)
		"100::/64",        // discard-only
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

var (
	globalIPv6 = netip.MustParsePrefix("2000::/3")
	sixToFour  = netip.MustParsePrefix("2002::/16")
	nat64      = netip.MustParsePrefix("64:ff9b::/96")
)

// Allowed reports whether a may be dialed: a public unicast address.
// IPv4-mapped, 6to4 and NAT64 addresses are judged by the IPv4 address
// inside them.
func Allowed(a netip.Addr, allowLoopback bool) bool {
	a = a.Unmap()
	if a.Is6() {
		b := a.As16()
		switch {
		case sixToFour.Contains(a):
			return Allowed(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), allowLoopback)
		case nat64.Contains(a):
			return Allowed(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), allowLoopback)
		}
	}
	if a.IsLoopback() {
		return allowLoopback
	}
	if a.Is6() && !globalIPv6.Contains(a) {
		return false // IPv4-compatible, unassigned and other oddities
	}
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		// Unspecified, link-local, multicast, private (10/8, 172.16/12,
		// 192.168/16, fc00::/7).
		return false
	}
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// Response is a fetched body, capped.
type Response struct {
	URL         *url.URL // after redirects
	Status      int
	ContentType string
	// Header is the answer's header (Retry-After, rate-limit usage).
	Header http.Header
	Body   []byte
	// Truncated is true when the body was longer than the cap.
	Truncated bool
}

// Get fetches rawURL with at most maxBody bytes of body.
func (c *Client) Get(ctx context.Context, rawURL string, maxBody int64, accept string) (*Response, error) {
	var h http.Header
	if accept != "" {
		h = http.Header{"Accept": {accept}}
	}
	return c.send(ctx, http.MethodGet, rawURL, h, nil, maxBody)
}

// GetWithHeader fetches rawURL with the given headers (an access token)
// and at most maxBody bytes of body.
func (c *Client) GetWithHeader(ctx context.Context, rawURL string, header http.Header, maxBody int64) (*Response, error) {
	return c.send(ctx, http.MethodGet, rawURL, header, nil, maxBody)
}

// Post sends body to rawURL with the given headers and reads at most
// maxBody bytes of the answer.
func (c *Client) Post(ctx context.Context, rawURL string, header http.Header, body []byte, maxBody int64) (*Response, error) {
	return c.send(ctx, http.MethodPost, rawURL, header, body, maxBody)
}

// send checks rawURL, builds the request with the headers (the client's
// User-Agent always) and runs it.
func (c *Client) send(ctx context.Context, method, rawURL string, header http.Header, body []byte, maxBody int64) (*Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("bad URL: %w", err)
	}
	if err := CheckURL(u); err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	return c.do(req, maxBody)
}

func (c *Client) do(req *http.Request, maxBody int64) (*Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	out := &Response{URL: resp.Request.URL, Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Header: resp.Header}
	if int64(len(body)) > maxBody {
		body, out.Truncated = body[:maxBody], true
	}
	out.Body = body
	return out, nil
}
