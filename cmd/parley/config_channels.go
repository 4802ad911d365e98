package main

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// The channels.* settings' parsers (docs/channels.md).

// parseBaseURL takes an http(s) base URL without query or fragment.
func parseBaseURL(v string, dst *string) error {
	if v == "" {
		*dst = ""
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not a base URL; write it as https://graph.facebook.com", v)
	}
	*dst = strings.TrimRight(v, "/")
	return nil
}

var graphVersion = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,2}$`)

// parseGraphVersion takes a Graph API version such as v21.0.
func parseGraphVersion(v string, dst *string) error {
	if v != "" && !graphVersion.MatchString(v) {
		return fmt.Errorf("%q is not a Graph API version; write it as v21.0", v)
	}
	*dst = v
	return nil
}
