// Package webhook delivers Parley's webhooks: a Worker claims due
// deliveries from the app, signs them with the Standard Webhooks scheme
// and posts them through the SSRF-safe outbound client, several at once,
// then reports the outcomes back, where the retry rules live. It also
// holds what a receiver needs to check a delivery (Verify) and the
// operator's exceptions to the SSRF rules (Allow).
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers (https://www.standardwebhooks.com).
const (
	HeaderID        = "Webhook-Id"
	HeaderTimestamp = "Webhook-Timestamp"
	HeaderSignature = "Webhook-Signature"
)

// secretKey decodes a "whsec_<base64>" secret.
func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return nil, errors.New("webhook: a secret is whsec_ and base64")
	}
	return key, nil
}

// Sign returns the signature of a delivery, "v1," and the base64 of the
// HMAC-SHA256 of "id.timestamp.body" under the secret.
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, timestamp, body)), nil
}

func mac(key []byte, id string, timestamp int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, timestamp, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Headers returns the headers of one attempt at time now: the id, the
// timestamp and one signature per secret, space separated.
func Headers(secrets []string, id string, now time.Time, body []byte) (http.Header, error) {
	ts := now.Unix()
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sig, err := Sign(s, id, ts, body)
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, sig)
	}
	return http.Header{
		HeaderID:        {id},
		HeaderTimestamp: {strconv.FormatInt(ts, 10)},
		HeaderSignature: {strings.Join(sigs, " ")},
		"Content-Type":  {"application/json"},
	}, nil
}

// ErrSignature is returned by Verify for a delivery that does not check out.
var ErrSignature = errors.New("webhook: no valid signature")

// Verify checks a delivery as a receiver should: the timestamp within
// tolerance of now (a replayed old request is refused), and one of the
// signatures made with secret, compared in constant time.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	id, tsText := h.Get(HeaderID), h.Get(HeaderTimestamp)
	if id == "" || tsText == "" {
		return fmt.Errorf("%w: missing %s or %s", ErrSignature, HeaderID, HeaderTimestamp)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad timestamp", ErrSignature)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp too far from now", ErrSignature)
	}
	want := mac(key, id, ts, body)
	for _, sig := range strings.Fields(h.Get(HeaderSignature)) {
		v, b64, ok := strings.Cut(sig, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}
