package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/server"
)

// errDataDirBusy: another process (a server, or an admin command) holds
// the data directory.
var errDataDirBusy = errors.New("another parley process holds the data directory (is parley serve running?)")

// The admin socket is a Unix socket in the data directory, readable by
// the server's user alone (0600, in a 0700 directory): whoever may use it
// may read the database anyway. One request per connection: a JSON
// adminRequest, answered by one adminResponse.

func adminSocketPath(dataDir string) string { return filepath.Join(dataDir, "admin.sock") }

type adminRequest struct {
	Args  []string `json:"args"`
	Stdin string   `json:"stdin,omitempty"`
}

type adminResponse struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	Exit   int    `json:"exit"`
	Error  string `json:"error,omitempty"`
}

// adminTimeout bounds one admin command on the server.
const adminTimeout = time.Minute

// adminServer answers the admin commands on the server's socket.
type adminServer struct {
	ln  net.Listener
	app *app.App
	// backup snapshots the running server's data (parley backup).
	backup func(ctx context.Context, dest string) (*server.BackupResult, error)
	log    *slog.Logger
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// listenAdmin opens the admin socket. The caller holds the data
// directory's lock, so a socket file found there is a dead server's.
func listenAdmin(dataDir string, a *app.App, backup func(context.Context, string) (*server.BackupResult, error), log *slog.Logger) (*adminServer, error) {
	path := adminSocketPath(dataDir)
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	s := &adminServer{ln: ln, app: a, backup: backup, log: log}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *adminServer) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			s.handle(conn)
		}()
	}
}

func (s *adminServer) handle(conn net.Conn) {
	conn.SetDeadline(time.Now().Add(adminTimeout + 5*time.Second))
	var req adminRequest
	err := json.NewDecoder(io.LimitReader(conn, 1<<20)).Decode(&req)
	if err == nil && len(req.Args) == 2 && req.Args[0] == backupVerb && s.backup != nil {
		s.handleBackup(conn, req.Args[1])
		return
	}
	if err != nil || len(req.Args) == 0 || !isAdminGroup(req.Args[0]) {
		json.NewEncoder(conn).Encode(adminResponse{Exit: exitUsage, Error: "not an admin command"})
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, adminTimeout)
	defer cancel()
	var out, errb bytes.Buffer
	err = runAdminHere(ctx, s.app, req.Args, strings.NewReader(req.Stdin), &out, &errb)
	resp := adminResponse{Stdout: out.String(), Stderr: errb.String(), Exit: exitCode(err)}
	if err != nil && resp.Exit != 0 {
		resp.Error = err.Error()
	}
	// The audit trail of the operators' commands; arguments are handles
	// and flags, never secrets (passwords come on stdin).
	s.log.Info("admin command", "args", req.Args, "exit", resp.Exit)
	json.NewEncoder(conn).Encode(resp)
}

// handleBackup takes a backup with the server's live store.
func (s *adminServer) handleBackup(conn net.Conn, dest string) {
	conn.SetDeadline(time.Now().Add(backupTimeout + 5*time.Second))
	ctx, cancel := context.WithTimeout(s.ctx, backupTimeout)
	defer cancel()
	resp := adminResponse{}
	if !filepath.IsAbs(dest) {
		resp.Exit, resp.Error = exitUsage, "the backup directory must be an absolute path"
	} else if res, err := s.backup(ctx, dest); err != nil {
		resp.Exit, resp.Error = exitFailed, err.Error()
	} else {
		b, _ := json.Marshal(res)
		resp.Stdout = string(b)
	}
	s.log.Info("admin command", "args", []string{backupVerb, dest}, "exit", resp.Exit)
	json.NewEncoder(conn).Encode(resp)
}

// Close stops answering and waits for the commands in progress.
func (s *adminServer) Close() error {
	if s == nil {
		return nil
	}
	err := s.ln.Close()
	s.wg.Wait()
	s.cancel()
	return err
}

// runAdminHere runs an admin command line on the server's app.
func runAdminHere(ctx context.Context, a *app.App, line []string, stdin io.Reader, stdout, stderr io.Writer) error {
	inv, err := parseAdmin(line, stdout, stderr)
	if err != nil {
		return err
	}
	return adminError(inv.exec(ctx, a, stdin, stdout))
}

func dialAdmin(dataDir string) (net.Conn, error) {
	return net.DialTimeout("unix", adminSocketPath(dataDir), time.Second)
}

// sendAdmin has the server run a command line and prints its answer.
func sendAdmin(conn net.Conn, line []string, withStdin bool, stdin io.Reader, stdout, stderr io.Writer) error {
	defer conn.Close()
	req := adminRequest{Args: line}
	if withStdin {
		buf, err := io.ReadAll(io.LimitReader(stdin, 4096))
		if err != nil {
			return fmt.Errorf("read standard input: %w", err)
		}
		req.Stdin = string(buf)
	}
	conn.SetDeadline(time.Now().Add(adminTimeout + 10*time.Second))
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	var resp adminResponse
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return fmt.Errorf("admin socket: no answer from the server: %w", err)
	}
	io.WriteString(stdout, resp.Stdout)
	io.WriteString(stderr, resp.Stderr)
	if resp.Exit == 0 {
		return nil
	}
	if resp.Error != "" {
		fmt.Fprintln(stderr, "parley:", resp.Error)
	}
	return exitStatus(resp.Exit)
}
