package client_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/server"
)

// liveness bounds how long a test waits for something that must happen:
// a deadline for a hang, not a claim about speed.
const liveness = 20 * time.Second

// node is a real Parley server in the test process.
type node struct {
	*server.Server
	dir  string
	once sync.Once
}

// startNode starts a node on listen (":0" style addresses welcome) with
// its data in dir, stopped when the test ends.
func startNode(t *testing.T, dir, listen string, mutate ...func(*server.Config)) *node {
	t.Helper()
	cfg := server.Defaults()
	cfg.Listen = listen
	cfg.DataDir = dir
	cfg.App.Password = app.PasswordParams{Time: 1, MemoryK: 1024, Threads: 1}
	cfg.NoLinkPreviews = true
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := server.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	n := &node{Server: s, dir: dir}
	t.Cleanup(n.stop)
	return n
}

// start starts a fresh node and returns an anonymous client for it.
func start(t *testing.T, mutate ...func(*server.Config)) (*node, *client.Client) {
	t.Helper()
	n := startNode(t, filepath.Join(t.TempDir(), "data"), "127.0.0.1:0", mutate...)
	c := client.New(n.URL(), "")
	c.HTTP = &http.Client{Transport: conforming{t}}
	return n, c
}

// stop shuts the node down (once).
func (n *node) stop() {
	n.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
}

// testContext ends with the test or after liveness.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	t.Cleanup(cancel)
	return ctx
}

// register creates an account and returns a client acting as it.
func register(t *testing.T, c *client.Client, handle, kind string) *client.Client {
	t.Helper()
	auth, err := c.Register(testContext(t), client.RegisterRequest{Handle: handle, Password: "correct horse battery",
		Kind: kind, DisplayName: strings.ToUpper(handle[:1]) + handle[1:]})
	if err != nil {
		t.Fatalf("register %s: %v", handle, err)
	}
	if auth.User.Handle != handle || !strings.HasPrefix(auth.Token, "prl_") {
		t.Fatalf("register %s: %+v", handle, auth)
	}
	return c.WithToken(auth.Token)
}

// next reads the stream's next event that keep accepts, failing the test
// when the stream ends or nothing comes.
func next(t *testing.T, s *client.Stream, keep func(client.Event) bool) client.Event {
	t.Helper()
	timeout := time.After(liveness)
	for {
		select {
		case e, ok := <-s.Events():
			if !ok {
				t.Fatalf("stream ended: %v", s.Err())
			}
			if keep == nil || keep(e) {
				return e
			}
		case <-timeout:
			t.Fatal("no event within the liveness bound")
		}
	}
}

// messageIn keeps message.created events of one conversation.
func messageIn(conv string) func(client.Event) bool {
	return func(e client.Event) bool {
		return e.Type == client.EventMessageCreated && e.ConversationID == conv
	}
}

// eventually polls cond until it holds, failing after liveness.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(liveness)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within the liveness bound", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
