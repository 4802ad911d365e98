package outbound_test

import (
	"net/netip"
	"net/url"
	"testing"

	"github.com/parleyhq/parley/outbound"
)

// embedded returns the IPv4 addresses an IPv6 address may lead to: the
// mapped, 6to4 and NAT64 forms, judged by their IPv4 inside.
func embedded(a netip.Addr) []netip.Addr {
	out := []netip.Addr{a.Unmap()}
	if a.Is6() && !a.Is4In6() {
		b := a.As16()
		if netip.MustParsePrefix("2002::/16").Contains(a) {
			out = append(out, netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
		if netip.MustParsePrefix("64:ff9b::/96").Contains(a) {
			out = append(out, netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		}
	}
	return out
}

// FuzzAllowed: the SSRF check lets through public addresses only. For any
// 16 bytes (as IPv6, and the last 4 as IPv4 too), an allowed address — and
// every IPv4 address embedded in it — is, by net/netip's own predicates,
// not private, not loopback (unless loopback is allowed), not link-local,
// not multicast, not unspecified, and a global unicast address; and an
// address in any of the special-purpose ranges checked here is refused.
func FuzzAllowed(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "10.0.0.1", "169.254.169.254", "8.8.8.8", "::1", "::ffff:127.0.0.1", "::ffff:8.8.8.8",
		"2002:7f00:1::", "2002:808:808::", "64:ff9b::a00:1", "64:ff9b::808:808", "fe80::1", "fc00::1", "ff02::1", "2001:db8::1",
		"2606:4700::1111", "::", "0.0.0.0", "100.64.0.1", "::7f00:1", "2001::1", "fec0::1"} {
		a := netip.MustParseAddr(s)
		b := a.As16()
		f.Add(b[:], false)
		f.Add(b[:], true)
	}
	special := []netip.Prefix{}
	for _, s := range []string{"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",
		"240.0.0.0/4", "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "2001:db8::/32"} {
		special = append(special, netip.MustParsePrefix(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte, loopback bool) {
		var b16 [16]byte
		copy(b16[:], raw)
		var b4 [4]byte
		copy(b4[:], b16[12:])
		for _, a := range []netip.Addr{netip.AddrFrom16(b16), netip.AddrFrom4(b4)} {
			if !outbound.Allowed(a, loopback) {
				continue
			}
			for _, e := range embedded(a) {
				if e.IsLoopback() {
					if !loopback {
						t.Fatalf("%s (via %s) allowed: loopback", a, e)
					}
					continue
				}
				if e.IsPrivate() || e.IsLinkLocalUnicast() || e.IsLinkLocalMulticast() || e.IsInterfaceLocalMulticast() ||
					e.IsMulticast() || e.IsUnspecified() || !e.IsGlobalUnicast() {
					t.Fatalf("%s (via %s) allowed: not public", a, e)
				}
				for _, p := range special {
					if p.Contains(e) {
						t.Fatalf("%s (via %s) allowed: in %s", a, e, p)
					}
				}
			}
		}
	})
}

// FuzzCheckURL: a URL that passes is http(s), has no user info and a host,
// and its host is not a numeric form other than a canonical IP literal.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"http://example.com/", "https://[::1]/", "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/",
		"http://user:pw@example.com/", "file:///etc/passwd", "gopher://x/", "http://127.1/", "http:///x", "HTTP://EXAMPLE.COM", "http://1.2.3.4./"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil || outbound.CheckURL(u) != nil {
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			t.Fatalf("%q: scheme %q", s, u.Scheme)
		}
		if u.User != nil || u.Hostname() == "" {
			t.Fatalf("%q: user %v host %q", s, u.User, u.Hostname())
		}
		if _, err := netip.ParseAddr(u.Hostname()); err == nil {
			return
		}
		allDigits, digits := true, 0
		for _, r := range u.Hostname() {
			if r >= '0' && r <= '9' {
				digits++
			} else if r != '.' {
				allDigits = false
			}
		}
		if allDigits && digits > 0 {
			t.Fatalf("%q: numeric host %q passed", s, u.Hostname())
		}
	})
}
