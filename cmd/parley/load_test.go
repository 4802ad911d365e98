package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/server"
)

// startLoadServer runs a real node on 127.0.0.1:0 with cheap (but real)
// argon2id and no per-conversation send limit.
func startLoadServer(t *testing.T) *server.Server {
	t.Helper()
	return startNode(t, func(cfg *server.Config) {
		// A load test sends far faster per conversation than a person may.
		cfg.App.SendPerConversation, cfg.App.SendBurst = 1e6, 1e6
	})
}

// startNode runs a real node on 127.0.0.1:0 in a temporary data
// directory with cheap (but real) argon2id, after edit changed its
// configuration, and shuts it down when the test ends.
func startNode(t *testing.T, edit func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.App.Password = app.PasswordParams{Time: 1, MemoryK: 1024, Threads: 1}
	edit(&cfg)
	s, err := server.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

// TestLoadEndToEnd runs the generator for real against an in-process
// server, in every shape, and requires every delivery exactly once.
func TestLoadEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the load generator for a few seconds")
	}
	s := startLoadServer(t)
	cases := []struct {
		name string
		cfg  loadConfig
	}{
		{"pairs", loadConfig{Users: 10, Devices: 2, Shape: "pairs", Rate: 100, Duration: 2 * time.Second, Warmup: 200 * time.Millisecond}},
		{"groups", loadConfig{Users: 7, Devices: 1, Shape: "group:3", Rate: 100, Duration: time.Second}},
		{"biggroup", loadConfig{Users: 6, Devices: 2, Shape: "biggroup", Rate: 50, Duration: time.Second}},
		{"inbox closed loop", loadConfig{Users: 5, Devices: 2, Shape: "inbox", Senders: 4, Duration: time.Second, Idle: 3, PID: os.Getpid()}},
		{"pairs over the stream", loadConfig{Users: 10, Devices: 2, Shape: "pairs", Rate: 100, Duration: time.Second, Via: "ws"}},
		{"groups closed loop over the stream", loadConfig{Users: 7, Devices: 2, Shape: "group:3", Senders: 8, Duration: time.Second, Via: "ws"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Target = s.URL()
			cfg.Size = 100
			cfg.Drain = 5 * time.Second
			cfg.Workers = 4
			var progress bytes.Buffer
			cfg.Progress = &progress
			res, err := runLoad(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", *res)
			if want := cmp.Or(cfg.Via, "http"); res.Via != want {
				t.Errorf("via %q, want %q", res.Via, want)
			}
			if res.Lost != 0 || res.Duplicated != 0 || res.Misdelivered != 0 {
				t.Errorf("lost %d, duplicated %d, misdelivered %d", res.Lost, res.Duplicated, res.Misdelivered)
			}
			if res.Expected == 0 || res.Received != res.Expected {
				t.Errorf("received %d of %d expected deliveries", res.Received, res.Expected)
			}
			if len(res.Errors) > 0 || res.Failed > 0 {
				t.Errorf("errors %v, %d failed sends", res.Errors, res.Failed)
			}
			if res.Acked == 0 || res.Ack.Count != res.Acked || res.Receive.Count == 0 {
				t.Errorf("acked %d, ack latencies %d, receive latencies %d", res.Acked, res.Ack.Count, res.Receive.Count)
			}
			if res.Streams != cfg.Users*cfg.Devices+cfg.Idle || res.StreamsClosedEarly != 0 {
				t.Errorf("%d streams, %d closed early", res.Streams, res.StreamsClosedEarly)
			}
			if cfg.PID != 0 && (res.Server == nil || res.Server.RSSEnd == 0) {
				t.Errorf("no server usage: %+v", res.Server)
			}
			if !strings.Contains(progress.String(), "received") {
				t.Errorf("no progress line in %q", progress.String())
			}
			var table bytes.Buffer
			printLoadTable(&table, res)
			if !strings.Contains(table.String(), "send→recv") {
				t.Errorf("table:\n%s", table.String())
			}
		})
	}
}

// TestLoadJSON: parley load -json prints one JSON object that tooling can
// read back, with the run's numbers in it.
func TestLoadJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the load generator for a second")
	}
	s := startLoadServer(t)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"load", "-target", s.URL(), "-users", "4", "-rate", "50", "-duration", "1s",
		"-warmup", "0s", "-idle", "2", "-pid", strconv.Itoa(os.Getpid()), "-json", "-quiet"}, func(string) string { return "" }, &stdout, &stderr)
	if err != nil {
		t.Fatalf("parley load -json: %v\n%s", err, stderr.String())
	}
	var res map[string]any
	dec := json.NewDecoder(&stdout)
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout.String())
	}
	if dec.More() {
		t.Fatal("more than one JSON value")
	}
	for _, k := range []string{"acked_per_second", "ack_latency", "receive_latency", "lost", "duplicated", "misdelivered", "server", "idle_streams"} {
		if _, ok := res[k]; !ok {
			t.Errorf("no %q in %v", k, res)
		}
	}
	if res["acked"].(float64) <= 0 || res["lost"].(float64) != 0 || res["misdelivered"].(float64) != 0 || res["idle_streams"].(float64) != 2 {
		t.Errorf("numbers: acked %v, lost %v, misdelivered %v, idle %v", res["acked"], res["lost"], res["misdelivered"], res["idle_streams"])
	}
	if rcv := res["receive_latency"].(map[string]any); rcv["count"].(float64) <= 0 || rcv["p99_ms"].(float64) <= 0 {
		t.Errorf("receive latency %v", rcv)
	}
	if srv, _ := res["server"].(map[string]any); srv == nil || srv["rss_end_bytes"].(float64) <= 0 {
		t.Errorf("server usage %v", res["server"])
	}
}

func TestLoadRefusesRemoteTarget(t *testing.T) {
	for _, target := range []string{"http://example.com:8080", "http://10.0.0.1:8080", "http://[2001:db8::1]:8080", "https://parley.example"} {
		_, err := runLoad(context.Background(), loadConfig{Target: target, Users: 2, Devices: 1, Shape: "pairs", Rate: 10, Duration: time.Second})
		if err == nil || !strings.Contains(err.Error(), "-allow-remote") {
			t.Errorf("%s: err = %v, want a refusal naming -allow-remote", target, err)
		}
	}
	for _, target := range []string{"http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:8080", "http://127.0.0.2"} {
		if _, err := checkTarget(target, false); err != nil {
			t.Errorf("%s: %v", target, err)
		}
	}
	if _, err := checkTarget("http://example.com", true); err != nil {
		t.Errorf("with -allow-remote: %v", err)
	}
	// Through the command line too.
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"load", "-target", "http://192.0.2.1:8080"}, func(string) string { return "" }, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("parley load -target http://192.0.2.1:8080: %v", err)
	}
}

func TestLoadFlags(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"load", "-h"}, func(string) string { return "" }, io.Discard, &stderr)
	if err == nil {
		t.Fatal("-h: no error")
	}
	for _, flag := range []string{"-target", "-allow-remote", "-users", "-devices", "-shape", "-rate", "-senders", "-size", "-duration", "-warmup", "-idle", "-pid", "-json", "-via"} {
		if !strings.Contains(stderr.String(), flag) {
			t.Errorf("help does not mention %s", flag)
		}
	}
	for _, shape := range []string{"triangles", "group:1", "group:x"} {
		if _, err := parseShape(shape, 10); err == nil {
			t.Errorf("shape %q accepted", shape)
		}
	}
}

// TestIdleStreamCountsStrayMessages: an idle stream's user is in no
// conversation, so a message reaching it is counted as misdelivered;
// other frames (hello, presence) are not.
func TestIdleStreamCountsStrayMessages(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		ctx := r.Context()
		for _, f := range []string{`{"type":"hello","next":5}`, `{"type":"presence.snapshot","data":{"online":[]}}`,
			`{"pos":6,"type":"message.created","conversation_id":"c","message":{"text":"not yours"}}`} {
			if err := c.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
				return
			}
		}
		c.Close(websocket.StatusNormalClosure, "")
	}))
	defer srv.Close()
	conn, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTracker(nil, 1, "run")
	var set connSet
	discard(context.Background(), conn, &set, tr)
	if tr.misdelivered != 1 {
		t.Fatalf("misdelivered %d, want 1", tr.misdelivered)
	}
}
