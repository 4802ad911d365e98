// Package natstest runs a real NATS server inside a test, on a free
// loopback port, for bus/natsbus and the tests of nodes that share one.
package natstest

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is an embedded NATS server that can be stopped and started again
// on the same port.
type Server struct {
	tb   testing.TB
	opts server.Options
	mu   sync.Mutex
	srv  *server.Server
}

// Start starts a NATS server on 127.0.0.1 and a free port, shut down when
// tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb, opts: server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true}}
	s.Restart()
	// Restarts reuse the port, so that clients find the server again.
	s.opts.Port = s.srv.Addr().(*net.TCPAddr).Port
	tb.Cleanup(s.Stop)
	return s
}

// URL is the server's client URL.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv.ClientURL()
}

// Stop shuts the server down; clients lose their connection.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
}

// Restart starts the server (again, on the same port after Start).
func (s *Server) Restart() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	opts := s.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		s.tb.Fatalf("nats server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		s.tb.Fatal("nats server did not start")
	}
	s.srv = srv
}
