package main

// Value parsers for settings: each error says what is wrong and how to
// write it.

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func checkAddr(v string, optional bool) error {
	if v == "" && optional {
		return nil
	}
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		return fmt.Errorf("%q is not host:port; write e.g. 127.0.0.1:8080 (or :8080 for every interface)", v)
	}
	return nil
}

// checkMediaURL refuses a media.url of an unknown kind before start.
func checkMediaURL(v string) error {
	switch {
	case v == "", strings.HasPrefix(v, "s3://"), strings.HasPrefix(v, "fileblob://"):
		return nil
	case strings.HasPrefix(v, "file://"):
		if !strings.HasPrefix(v, "file:///") {
			return fmt.Errorf("%q: write file:///ABSOLUTE/PATH", v)
		}
		return nil
	}
	return fmt.Errorf("%q: want file:///DIR or s3://BUCKET?region=…, or empty for the data directory", maskURL(v))
}

func checkNATSURL(v string) error {
	for _, u := range strings.Split(v, ",") {
		if v == "" {
			return nil
		}
		if u = strings.TrimSpace(u); !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
			return fmt.Errorf("%q is not a NATS URL; write nats://127.0.0.1:4222 (several, comma-separated), or leave it empty for one node", maskURL(u))
		}
	}
	return nil
}

func checkDatabaseURL(v string) error {
	switch {
	case v == "", strings.HasPrefix(v, "sqlite:") && len(v) > len("sqlite:"),
		strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
		return nil
	}
	return fmt.Errorf("%q is not a database URL Parley knows; write sqlite:/var/lib/parley/parley.db or postgres://parley:secret@db.example/parley, or leave it empty for SQLite in the data directory", maskURL(v))
}

// parseKey reads a 32-byte key written as 64 hex digits or base64.
func parseKey(v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	if b, err := hex.DecodeString(v); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(v); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, errors.New("the key is not 32 bytes as 64 hex digits or base64; make one with: openssl rand -hex 32")
}

func parseBool(v string, dst *bool) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("%q is not true or false; write true or false", v)
	}
	*dst = b
	return nil
}

func parseCount(v, eg string, dst *int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a whole number; write e.g. %s", v, eg)
	}
	*dst = n
	return nil
}

func parseInt64(v, eg string, dst *int64) error {
	n, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a whole number; write e.g. %s", v, eg)
	}
	*dst = n
	return nil
}

func parseDuration(v, eg string, dst *time.Duration) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("%q is not a duration; write e.g. %s (units: s, m, h)", v, eg)
	}
	*dst = d
	return nil
}

func parseRate(v string, dst *float64) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("%q is not a rate; write messages a second, e.g. 1 or 0.5", v)
	}
	*dst = f
	return nil
}

var byteUnits = map[string]int64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}

var bytesRE = regexp.MustCompile(`^\s*([0-9][0-9_]*)\s*([A-Za-z]*)\s*$`)

// parseBytes reads a size: a number of bytes, or one with a unit (KB, MB,
// GB in powers of 1000; KiB, MiB, GiB in powers of 1024).
func parseBytes(v, eg string, dst *int64) error {
	bad := fmt.Errorf("%q is not a number of bytes; write e.g. %s (or with a unit: 25MiB, 1GB)", v, eg)
	m := bytesRE.FindStringSubmatch(v)
	if m == nil {
		return bad
	}
	unit, ok := byteUnits[strings.ToLower(m[2])]
	if !ok {
		return bad
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(m[1], "_", ""), 10, 64)
	if err != nil || n > math.MaxInt64/unit {
		return bad
	}
	*dst = n * unit
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}
