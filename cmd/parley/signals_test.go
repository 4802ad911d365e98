//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// liveness bounds waits for what must happen; it is not a speed claim.
const liveness = 30 * time.Second

// process is parley serve running as a child process.
type process struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs []map[string]any
	seen chan struct{} // poked at every log line
	done chan error
}

// startProcess runs parley serve (this test binary as main) with args on
// a free port and returns it once it listens, with its base URL.
func startProcess(t *testing.T, dataDir string, args ...string) (*process, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "-listen", "127.0.0.1:0", "-log-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), asMainEnv+"=1", "PARLEY_DATA_DIR="+dataDir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, seen: make(chan struct{}, 1), done: make(chan error, 1)}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				rec = map[string]any{"msg": sc.Text()}
			}
			p.mu.Lock()
			p.logs = append(p.logs, rec)
			p.mu.Unlock()
			select {
			case p.seen <- struct{}{}:
			default:
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.done <- cmd.Wait()
	}()
	rec := p.waitLog(t, "parley listening")
	return p, "http://" + rec["addr"].(string)
}

// find returns the first log record with msg (and, when given, whose
// text holds contains), or nil.
func (p *process) find(msg, contains string) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.logs {
		if r["msg"] != msg {
			continue
		}
		b, _ := json.Marshal(r)
		if strings.Contains(string(b), contains) {
			return r
		}
	}
	return nil
}

// waitLog waits for a log record with msg whose text holds each of
// contains.
func (p *process) waitLog(t *testing.T, msg string, contains ...string) map[string]any {
	t.Helper()
	deadline := time.After(liveness)
	for {
		if r := p.find(msg, strings.Join(contains, "")); r != nil {
			return r
		}
		select {
		case <-p.seen:
		case err := <-p.done:
			p.done <- err
			if r := p.find(msg, strings.Join(contains, "")); r != nil {
				return r
			}
			t.Fatalf("parley exited (%v) before logging %q", err, msg)
		case <-deadline:
			p.mu.Lock()
			all, _ := json.Marshal(p.logs)
			p.mu.Unlock()
			t.Fatalf("parley never logged %q %v; it logged %s", msg, contains, all)
		}
	}
}

// TestSignals runs the real program: SIGHUP reloads the config file (the
// log level applies at once, other changes are named as needing a
// restart), and SIGTERM shuts down gracefully — open streams are closed
// with 1001 "going away", a waiting long-poll is answered, the process
// exits 0 — after which the data is intact for the next start.
func TestSignals(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "parley.toml")
	if err := os.WriteFile(cfg, []byte("log_level = \"info\"\nrequest_limit = 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, url := startProcess(t, dataDir, "--config", cfg)

	code, reg := post(t, url+"/api/v1/accounts", "", map[string]string{"handle": "ann", "password": "correct horse battery"})
	if code != http.StatusCreated {
		t.Fatalf("register: %d %v", code, reg)
	}
	token := reg["token"].(string)
	if code, _ := get(t, url+"/api/v1/me", token); code != http.StatusOK {
		t.Fatalf("me: %d", code)
	}
	if p.find("request", "/api/v1/me") != nil {
		t.Fatal("a request was logged at level info")
	}

	// SIGHUP: debug logging at once; request_limit waits for a restart.
	if err := os.WriteFile(cfg, []byte("log_level = \"debug\"\nrequest_limit = 9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "reload: log level set", `"log_level":"DEBUG"`)
	p.waitLog(t, "reload: these settings changed and apply after a restart", "request_limit")
	if code, _ := get(t, url+"/api/v1/me", token); code != http.StatusOK {
		t.Fatalf("me after the reload: %d", code)
	}
	p.waitLog(t, "request", "/api/v1/me")

	// A stream and a waiting long-poll, then SIGTERM.
	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(url, "http", "ws", 1)+"/api/v1/stream?since=now",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan websocket.StatusCode, 1)
	go func() {
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				closed <- websocket.CloseStatus(err)
				return
			}
		}
	}()
	_, sync0 := get(t, url+"/api/v1/sync?since=now", token)
	next := int64(sync0["next"].(float64))
	polled := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", url+"/api/v1/sync?timeout=50&since="+jsonInt(next), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			polled <- 0
			return
		}
		resp.Body.Close()
		polled <- resp.StatusCode
	}()
	p.waitLog(t, "request", "/api/v1/stream")
	// The long-poll is in flight once the server counts it.
	deadline := time.Now().Add(liveness)
	for !metricAbove(t, url, "parley_sync_polls_in_flight", 0) {
		if time.Now().After(deadline) {
			t.Fatal("the long-poll never started")
		}
		time.Sleep(10 * time.Millisecond)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-closed:
		if code != websocket.StatusGoingAway {
			t.Errorf("the stream closed with %d, want 1001 (going away)", code)
		}
	case <-time.After(liveness):
		t.Fatal("SIGTERM did not close the stream")
	}
	select {
	case code := <-polled:
		if code != http.StatusOK {
			t.Errorf("the long-poll was answered %d, want 200 (retry elsewhere)", code)
		}
	case <-time.After(liveness):
		t.Fatal("SIGTERM did not answer the long-poll")
	}
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Fatalf("parley exited with %v after SIGTERM, want status 0", err)
		}
	case <-time.After(liveness):
		t.Fatal("parley did not exit after SIGTERM")
	}
	if p.find("shutting down", "") == nil {
		t.Error("no shutting down in the log")
	}

	// The data directory is released and whole: the account is there.
	_, url = startProcess(t, dataDir, "--config", cfg)
	if code, _ := post(t, url+"/api/v1/sessions", "", map[string]string{"handle": "ann", "password": "correct horse battery"}); code != http.StatusCreated {
		t.Fatalf("login after the restart: %d", code)
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// metricAbove reports whether the gauge name at url's /metrics is above v.
func metricAbove(t *testing.T, url, name string, v float64) bool {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			var got float64
			if json.Unmarshal([]byte(f[1]), &got) == nil && got > v {
				return true
			}
		}
	}
	return false
}
