package webhook_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/parleyhq/parley/webhook"
)

// FuzzSignVerify: for any key, id, timestamp and body, a delivery signed
// by Headers verifies; changing any single byte of the body or the id, or
// the timestamp, or the key, makes it fail with ErrSignature.
func FuzzSignVerify(f *testing.F) {
	f.Add([]byte("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "msg_1", int64(1_800_000_000), []byte(`{"id":"msg_1"}`), uint16(3), byte(1))
	f.Add([]byte{0}, "x", int64(0), []byte{}, uint16(0), byte(0x80))
	f.Add([]byte("k"), "id with spaces", int64(-5), []byte("\xff\x00"), uint16(9), byte(0xff))
	f.Fuzz(func(t *testing.T, key []byte, id string, ts int64, body []byte, pos uint16, delta byte) {
		if len(key) == 0 || id == "" || delta == 0 {
			return
		}
		secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
		now := time.Unix(ts, 0)
		h, err := webhook.Headers([]string{secret}, id, now, body)
		if err != nil {
			t.Fatal(err)
		}
		if h.Get(webhook.HeaderID) != id {
			// Header values cannot hold every string; the receiver would
			// get another id, which must not verify (checked below).
			return
		}
		if err := webhook.Verify(secret, h, body, now, time.Minute); err != nil {
			t.Fatalf("verify(sign(x)) failed: %v", err)
		}
		fails := func(what string, h http.Header, body []byte, secret string) {
			t.Helper()
			if err := webhook.Verify(secret, h, body, now, time.Minute); !errors.Is(err, webhook.ErrSignature) {
				t.Fatalf("%s changed, verify = %v", what, err)
			}
		}
		if len(body) > 0 {
			b := append([]byte(nil), body...)
			b[int(pos)%len(b)] ^= delta
			fails("a body byte", h, b, secret)
		}
		fails("the body's length", h, append(append([]byte(nil), body...), delta), secret)
		{
			b := []byte(id)
			b[int(pos)%len(b)] ^= delta
			c := h.Clone()
			c.Set(webhook.HeaderID, string(b))
			if c.Get(webhook.HeaderID) != "" {
				fails("an id byte", c, body, secret)
			}
		}
		{
			c := h.Clone()
			c.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts+1, 10))
			if ts+1 > ts { // no overflow
				fails("the timestamp", c, body, secret)
			}
		}
		{
			k := append([]byte(nil), key...)
			k[int(pos)%len(k)] ^= delta
			fails("a key byte", h, body, "whsec_"+base64.StdEncoding.EncodeToString(k))
		}
		{
			sig := []byte(h.Get(webhook.HeaderSignature))
			i := 3 + int(pos)%(len(sig)-3) // after "v1,"
			sig[i] ^= delta
			c := h.Clone()
			c.Set(webhook.HeaderSignature, string(sig))
			if err := webhook.Verify(secret, c, body, now, time.Minute); err == nil {
				// Base64 has slack in its last character's low bits: a
				// changed byte that decodes to the same MAC is the same
				// signature.
				want, _ := base64.StdEncoding.DecodeString(h.Get(webhook.HeaderSignature)[3:])
				got, _ := base64.StdEncoding.DecodeString(string(sig[3:]))
				if string(got) != string(want) {
					t.Fatalf("a changed signature %q verifies", sig)
				}
			}
		}
	})
}
