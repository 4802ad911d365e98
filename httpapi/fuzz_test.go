package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// fuzzBody has the shapes request bodies use: strings, numbers, booleans,
// pointers, lists and nested objects (a structured message's cards).
type fuzzBody struct {
	Text    string            `json:"text"`
	Seq     int64             `json:"seq"`
	On      *bool             `json:"on"`
	Members []string          `json:"members"`
	Attrs   map[string]string `json:"attrs"`
	Cards   []struct {
		Title   string `json:"title"`
		Buttons []struct {
			Label string `json:"label"`
		} `json:"buttons"`
	} `json:"cards"`
}

// FuzzDecode: the shared body decoder either refuses with malformed_request
// or too_large (never another code), or accepts a body that is valid UTF-8,
// one JSON object and nothing after it, at most MaxBodyBytes, with no key
// twice in an object and no nesting past MaxJSONDepth — checked here
// independently of the decoder — and whose decoded value survives a round
// trip.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"text":"hi"}`, `{"text":"a","text":"b"}`, `{"text":"a","TEXT":"b"}`, `{"text":"a","ſeq":1,"seq":2}`,
		`{"cards":[{"title":"t","buttons":[{"label":"l"}]}]}`, `{"attrs":{"a":"1","a":"2"}}`, `{"attrs":{"a":"1","A":"2"}}`,
		`{"text":"x"}{"text":"y"}`, `{"text":"x"} `, `{"text":"x"} x`, `[]`, `null`, `"s"`, `{"seq":1e400}`, `{"seq":"1"}`,
		`{"on":null}`, `{"members":[1]}`, "{\"text\":\"\xff\"}", `{"text":"\ud800"}`, `{"text":"\u202e\u200b"}`,
		strings.Repeat(`{"cards":[`, 20) + strings.Repeat(`]}`, 20), `{"colour":"red"}`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v fuzzBody
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/x", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		err := decode(rec, req, &v)
		if err != nil {
			if c := parley.ErrorCode(err); c != parley.EMalformed && c != parley.ETooLarge {
				t.Fatalf("%q: code %q (%v)", body, c, err)
			}
			if st := statusOf(parley.ErrorCode(err)); st < 400 || st >= 500 {
				t.Fatalf("%q: status %d", body, st)
			}
			return
		}
		if len(body) > MaxBodyBytes || !utf8.Valid(body) || !json.Valid(body) {
			t.Fatalf("accepted %q", body)
		}
		if b := bytes.TrimLeft(body, " \t\r\n"); len(b) == 0 || b[0] != '{' {
			t.Fatalf("accepted a non-object %q", body)
		}
		if dup, depth := shapeOf(t, body); dup != "" || depth > MaxJSONDepth {
			t.Fatalf("accepted %q: duplicate key %q, depth %d", body, dup, depth)
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		var again fuzzBody
		if err := decode(httptest.NewRecorder(), httptest.NewRequest("POST", "/x", bytes.NewReader(out)), &again); err != nil {
			t.Fatalf("%q decoded, re-encoded as %s, is refused: %v", body, out, err)
		}
		if out2, _ := json.Marshal(again); !bytes.Equal(out, out2) {
			t.Fatalf("round trip: %s → %s", out, out2)
		}
	})
}

// shapeOf returns the first key repeated (without regard to case) in an
// object of a valid JSON document, and its depth, by decoding it into
// generic values, which is not how checkShape works.
func shapeOf(t *testing.T, body []byte) (dup string, depth int) {
	var walk func(raw json.RawMessage, d int)
	walk = func(raw json.RawMessage, d int) {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || dup != "" {
			return
		}
		switch raw[0] {
		case '{':
			depth = max(depth, d)
			// Collect the keys in order: a map would merge the duplicates.
			dec := json.NewDecoder(bytes.NewReader(raw))
			_, _ = dec.Token()
			seen := map[string]bool{}
			for dec.More() {
				k, _ := dec.Token()
				var val json.RawMessage
				if err := dec.Decode(&val); err != nil {
					t.Fatalf("re-reading %s: %v", raw, err)
				}
				key := k.(string)
				fold := strings.ToLower(strings.ToUpper(key))
				if seen[fold] && dup == "" {
					dup = key
				}
				seen[fold] = true
				walk(val, d+1)
			}
		case '[':
			depth = max(depth, d)
			var items []json.RawMessage
			if err := json.Unmarshal(raw, &items); err != nil {
				t.Fatalf("re-reading %s: %v", raw, err)
			}
			for _, it := range items {
				walk(it, d+1)
			}
		}
	}
	walk(body, 1)
	return dup, depth
}

// FuzzQueryInt: sync's since, limits and sequence numbers in queries. An
// accepted value is the integer written (canonical or not), and refusals
// are invalid, never a panic or another code.
func FuzzQueryInt(f *testing.F) {
	for _, s := range []string{"0", "42", "-1", "+7", "007", "9223372036854775807", "9223372036854775808", "1e3", "0x10", " 1", "", "١٢"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := httptest.NewRequest("GET", "/x?since="+url.QueryEscape(s), nil)
		n, err := queryInt(r, "since")
		if err != nil {
			if parley.ErrorCode(err) != parley.EInvalid {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if s == "" {
			if n != 0 {
				t.Fatalf("absent → %d", n)
			}
			return
		}
		want, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil || want != n {
			t.Fatalf("%q → %d (ParseInt: %d, %v)", s, n, want, perr)
		}
	})
}

// TestDecodeShape: the two refusals checkShape adds.
func TestDecodeShape(t *testing.T) {
	for _, tt := range []struct {
		body string
		ok   bool
	}{
		{`{"text":"a","seq":1}`, true},
		{`{"text":"a","text":"b"}`, false},
		{`{"text":"a","Text":"b"}`, false},
		{`{"attrs":{"a":"1","a":"2"}}`, false},
		{`{"attrs":{"a":"1"},"cards":[{"title":"a"},{"title":"b"}]}`, true}, // same key in sibling objects
		{`{"cards":[{"title":"a","title":"b"}]}`, false},
		{`{"cards":[` + strings.Repeat(`[`, MaxJSONDepth) + strings.Repeat(`]`, MaxJSONDepth) + `]}`, false},
	} {
		var v fuzzBody
		err := decode(httptest.NewRecorder(), httptest.NewRequest("POST", "/x", strings.NewReader(tt.body)), &v)
		if tt.ok && err != nil {
			t.Errorf("%s: %v", tt.body, err)
		}
		if !tt.ok && (err == nil || statusOf(parley.ErrorCode(err)) != http.StatusBadRequest) {
			t.Errorf("%s: accepted or wrong status: %v", tt.body, err)
		}
	}
}
