package webhook

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/outbound"
)

// Allow is the operator's exceptions to the SSRF rules for webhooks
// (PARLEY_WEBHOOK_ALLOW): receivers on a private network, or on loopback in
// tests. Everything else must be public and served over HTTPS.
type Allow struct {
	// AddrPorts are exact address and port pairs ("127.0.0.1:9000").
	AddrPorts []netip.AddrPort
	// Prefixes are address ranges ("10.1.0.0/16", "10.1.2.3").
	Prefixes []netip.Prefix
	// Hosts are host names ("hooks.internal"), whatever they resolve to.
	Hosts []string
}

// ParseAllow reads a list of exceptions: addresses, address:port pairs,
// CIDR ranges and host names.
func ParseAllow(entries []string) (Allow, error) {
	var a Allow
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if ap, err := netip.ParseAddrPort(e); err == nil {
			a.AddrPorts = append(a.AddrPorts, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
		} else if p, err := netip.ParsePrefix(e); err == nil {
			a.Prefixes = append(a.Prefixes, p.Masked())
		} else if ip, err := netip.ParseAddr(e); err == nil {
			ip = ip.Unmap()
			a.Prefixes = append(a.Prefixes, netip.PrefixFrom(ip, ip.BitLen()))
		} else if validHost(e) {
			a.Hosts = append(a.Hosts, strings.ToLower(strings.TrimSuffix(e, ".")))
		} else {
			return Allow{}, fmt.Errorf("webhook allow list: %q is not an address, address:port, CIDR range or host name", e)
		}
	}
	return a, nil
}

func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// ClientOptions returns outbound options for the webhook client with the
// exceptions applied.
func (a Allow) ClientOptions(o outbound.Options) outbound.Options {
	o.AllowOnly = append(o.AllowOnly, a.AddrPorts...)
	o.AllowPrefixes = append(o.AllowPrefixes, a.Prefixes...)
	o.AllowHosts = append(o.AllowHosts, a.Hosts...)
	return o
}

// allows reports whether a URL's host is one of the exceptions.
func (a Allow) allows(u *url.URL) bool {
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if slices.Contains(a.Hosts, host) {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range a.Prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	for _, ap := range a.AddrPorts {
		if ap.Addr() == ip && fmt.Sprint(ap.Port()) == port {
			return true
		}
	}
	return false
}

// CheckURL refuses, when a webhook is created or changed, what delivery
// would refuse anyway: other schemes, user info, odd numeric hosts, and
// literal addresses that are not public, unless the operator allowed
// them. Plain HTTP is accepted only to an allowed host. A name that
// resolves to a private address passes here and is refused when posting.
func (a Allow) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return parley.Invalid("url", "url is not a URL")
	}
	if a.allows(u) {
		if u.Scheme != "https" && u.Scheme != "http" {
			return parley.Invalid("url", "a webhook URL is https:// (or http:// to a host the operator allowed)")
		}
		return nil
	}
	if u.Scheme != "https" {
		return parley.Invalid("url", "a webhook URL starts with https://")
	}
	if err := outbound.CheckURL(u); err != nil {
		return parley.Invalid("url", "this server does not post to that URL: %v", err)
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil && !outbound.Allowed(ip, false) {
		return parley.Invalid("url", "a webhook may not point to a private, loopback or link-local address")
	}
	if h := strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return parley.Invalid("url", "a webhook may not point to a private, loopback or link-local address")
	}
	return nil
}
