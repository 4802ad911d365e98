package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/store/postgres/pgtest"
)

// testServer is a real Parley node on 127.0.0.1:0 with a fresh data dir.
type testServer struct {
	*Server
	t      *testing.T
	client *http.Client
}

// cheapPasswords keeps argon2id real but fast enough for hundreds of
// registrations in a test.
var cheapPasswords = app.PasswordParams{Time: 1, MemoryK: 1024, Threads: 1}

func startServer(t *testing.T, mutate ...func(*Config)) *testServer {
	t.Helper()
	var log *slog.Logger
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s := openServer(t, log, mutate...)
	return &testServer{Server: s, t: t, client: &http.Client{Timeout: 30 * time.Second}}
}

// openServer starts a real node on 127.0.0.1:0 with a fresh data dir and
// cheap (but real) argon2id, shut down when the test or benchmark ends.
func openServer(tb testing.TB, log *slog.Logger, mutate ...func(*Config)) *Server {
	tb.Helper()
	cfg := Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(tb.TempDir(), "data")
	cfg.App.Password = cheapPasswords
	// Tests send far faster per conversation than a person may; the
	// limits have their own tests in app.
	cfg.App.SendPerConversation, cfg.App.SendBurst = 1e6, 1e6
	// PARLEY_TEST_ENCRYPTION=1 runs every server test with encryption at
	// rest on (scripts/test.sh does one such pass): answers must not change.
	if os.Getenv("PARLEY_TEST_ENCRYPTION") == "1" {
		cfg.App.EncryptionKey = testEncryptionKey()
	}
	for _, m := range mutate {
		m(&cfg)
	}
	if cfg.DatabaseURL == "" && testStore() == "postgres" {
		cfg.DatabaseURL = postgresFor(tb, cfg.DataDir)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := Open(cfg, log)
	if err != nil {
		tb.Fatal(err)
	}
	go s.Serve()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// testEncryptionKey is the master key of PARLEY_TEST_ENCRYPTION=1: one
// per test process, so that tests restarting a node on its data directory
// (or restoring a backup) find their data readable.
var testEncryptionKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
})

// testStore is the store the tests run on: PARLEY_TEST_STORE=postgres
// puts every test server on a fresh PostgreSQL database (scripts/test.sh
// runs the package a second time so); anything else means SQLite.
func testStore() string { return os.Getenv("PARLEY_TEST_STORE") }

// pgByDir remembers each data directory's database, so that a test that
// restarts a server on the same directory finds its data again.
var pgByDir sync.Map

func postgresFor(tb testing.TB, dataDir string) string {
	if dsn, ok := pgByDir.Load(dataDir); ok {
		return dsn.(string)
	}
	dsn := pgtest.DSN(tb)
	pgByDir.Store(dataDir, dsn)
	return dsn
}

// sqliteOnly skips a test that looks inside SQLite's files.
func sqliteOnly(tb testing.TB) {
	tb.Helper()
	if testStore() == "postgres" {
		tb.Skip("looks inside the SQLite database file")
	}
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// user is a signed-in test client.
type user struct {
	ts     *testServer
	Handle string
	ID     string
	Token  string
}

// response is a decoded API answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map.
func (r *response) JSON() map[string]any {
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		panic(fmt.Sprintf("body is not a JSON object: %v: %s", err, r.Body))
	}
	return m
}

// Items returns the "items" array of a list response.
func (r *response) Items() []map[string]any {
	var p struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		panic(fmt.Sprintf("body is not a list: %v: %s", err, r.Body))
	}
	return p.Items
}

// Code returns the problem+json code, or "".
func (r *response) Code() string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(r.Body, &p)
	return p.Code
}

// do sends a request with an optional JSON body (a string is sent as is).
func (ts *testServer) do(token, method, path string, body any) *response {
	ts.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, ts.URL()+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	if resp.StatusCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			ts.t.Errorf("%s %s: error %d with Content-Type %q, want application/problem+json", method, path, resp.StatusCode, ct)
		}
	}
	if resp.StatusCode >= 500 {
		ts.t.Errorf("%s %s: server error %d: %s", method, path, resp.StatusCode, buf)
	}
	conform(ts.t, req, resp.StatusCode, resp.Header, buf)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: buf}
}

// register creates an account of the given kind.
func (ts *testServer) register(handle string, kind string) *user {
	ts.t.Helper()
	r := ts.do("", "POST", "/api/v1/accounts", map[string]string{"handle": handle, "password": "correct horse battery", "kind": kind, "display_name": strings.ToUpper(handle[:1]) + handle[1:]})
	if r.Status != http.StatusCreated {
		ts.t.Fatalf("register %s: %d %s", handle, r.Status, r.Body)
	}
	m := r.JSON()
	return &user{ts: ts, Handle: handle, ID: m["user"].(map[string]any)["id"].(string), Token: m["token"].(string)}
}

func (u *user) do(method, path string, body any) *response {
	u.ts.t.Helper()
	return u.ts.do(u.Token, method, path, body)
}

// must asserts the status of a response and returns it.
func must(t *testing.T, r *response, status int) *response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// wantProblem asserts an error status and code.
func wantProblem(t *testing.T, r *response, status int, code string) {
	t.Helper()
	if r.Status != status || r.Code() != code {
		t.Fatalf("got %d %q, want %d %q: %s", r.Status, r.Code(), status, code, r.Body)
	}
}

// direct starts a direct conversation from u with handle and returns its id.
func (u *user) direct(handle string) string {
	u.ts.t.Helper()
	r := u.do("POST", "/api/v1/conversations", map[string]string{"kind": "direct", "with": handle})
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		u.ts.t.Fatalf("direct %s→%s: %d %s", u.Handle, handle, r.Status, r.Body)
	}
	return r.JSON()["id"].(string)
}

// send posts a text message and returns the decoded message.
func (u *user) send(convID, text string) map[string]any {
	u.ts.t.Helper()
	r := u.do("POST", "/api/v1/conversations/"+convID+"/messages", map[string]string{"text": text})
	if r.Status != http.StatusCreated {
		u.ts.t.Fatalf("send as %s: %d %s", u.Handle, r.Status, r.Body)
	}
	return r.JSON()
}

// folder lists u's conversation ids in a folder.
func (u *user) folder(name string) []string {
	u.ts.t.Helper()
	r := must(u.ts.t, u.do("GET", "/api/v1/conversations?folder="+name, nil), http.StatusOK)
	var ids []string
	for _, it := range r.Items() {
		ids = append(ids, it["id"].(string))
	}
	return ids
}

func decodeInto(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}
