package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/server"
)

// asMainEnv, set to 1, makes the test binary run main(): a test starts
// the real program as a process of its own and sends it signals.
const asMainEnv = "PARLEY_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	// Real argon2id, cheap enough for many accounts under the race detector.
	testConfigHook = func(c *server.Config) { c.App.Password = app.PasswordParams{Time: 1, MemoryK: 1024, Threads: 1} }
	if os.Getenv(asMainEnv) == "1" {
		main() // the test binary re-executed as parley (signals_test.go); exits
	}
	os.Exit(m.Run())
}

// cli runs parley commands in-process against one data directory.
type cli struct {
	t   *testing.T
	dir string
	// extra holds more environment variables.
	extra map[string]string
}

func newCLI(t *testing.T) *cli {
	return &cli{t: t, dir: filepath.Join(t.TempDir(), "data")}
}

func (c *cli) env(k string) string {
	if k == "PARLEY_DATA_DIR" {
		return c.dir
	}
	return c.extra[k]
}

// run runs a command line with stdin and returns its exit status and output.
func (c *cli) run(stdin string, args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	var out, errb bytes.Buffer
	err := runIO(context.Background(), args, c.env, strings.NewReader(stdin), &out, &errb)
	if err != nil {
		errb.WriteString("error: " + err.Error())
	}
	return exitCode(err), out.String(), errb.String()
}

// ok runs a command that must succeed and decodes its --json output.
func (c *cli) ok(v any, stdin string, args ...string) {
	c.t.Helper()
	code, out, errs := c.run(stdin, append(args, "--json")...)
	if code != 0 {
		c.t.Fatalf("%v: exit %d: %s %s", args, code, out, errs)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(out), v); err != nil {
			c.t.Fatalf("%v: output is not JSON: %v: %s", args, err, out)
		}
	}
}

// fails runs a command that must fail with the exit status and, when
// code is set, the --json error code.
func (c *cli) fails(status int, code string, stdin string, args ...string) string {
	c.t.Helper()
	got, out, errs := c.run(stdin, append(args, "--json")...)
	if got != status {
		c.t.Fatalf("%v: exit %d, want %d: %s %s", args, got, status, out, errs)
	}
	if code != "" {
		var e struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal([]byte(out), &e); err != nil || e.Error.Code != code {
			c.t.Fatalf("%v: error output %q, want code %q", args, out, code)
		}
	}
	return errs
}

type account struct {
	User struct {
		ID, Handle, Kind string
		DisplayName      string `json:"display_name"`
		Suspended        bool
		ServerAdmin      bool `json:"server_admin"`
	}
	Password      string
	SessionsEnded *int `json:"sessions_ended"`
}

// TestAdminCommands runs every admin command on a data directory no
// server holds.
func TestAdminCommands(t *testing.T) {
	c := newCLI(t)
	if code, _, errs := c.run("", "stats"); code != exitFailed || !strings.Contains(errs, "no database in") {
		t.Fatalf("stats on a data directory without a database: %d %s", code, errs)
	}
	if _, err := os.Stat(c.dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a command without a database made %s", c.dir)
	}
	if code, _, errs := c.run("", "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errs)
	}
	var alice account
	c.ok(&alice, "", "user", "create", "alice", "--display-name", "Alice A")
	if alice.User.Handle != "alice" || alice.User.Kind != "person" || alice.User.DisplayName != "Alice A" || len(alice.Password) != 20 {
		t.Fatalf("user create: %+v", alice)
	}
	var bob account
	c.ok(&bob, "bob's long password\n", "user", "create", "--password-stdin", "bob") // flags before the argument too
	if bob.Password != "" {
		t.Errorf("a password read from stdin is printed: %+v", bob)
	}
	c.ok(nil, "", "user", "create", "helper_bot", "--kind", "bot")
	c.fails(exitFailed, "handle_taken", "", "user", "create", "alice")
	c.fails(exitFailed, "invalid", "", "user", "create", "x")
	c.fails(exitFailed, "invalid", "", "user", "create", "carol", "--kind", "robot")
	c.fails(exitUsage, "usage", "", "user", "create", "carol", "--password-stdin")           // empty stdin
	c.fails(exitFailed, "invalid", "short\n", "user", "create", "carol", "--password-stdin") // too short
	c.fails(exitUsage, "", "", "user", "create")
	c.fails(exitUsage, "", "", "user", "create", "a", "b")
	c.fails(exitUsage, "", "", "user", "create", "carol", "--frobnicate")
	c.fails(exitUsage, "", "", "user", "frobnicate")

	var shop account
	c.ok(&shop, "", "business", "create", "shop", "--display-name", "The Shop")
	if shop.User.Kind != "business" || shop.Password == "" {
		t.Fatalf("business create: %+v", shop)
	}
	var member struct {
		User struct{ Handle string }
		Role string
	}
	c.ok(&member, "", "business", "add-member", "shop", "alice", "--role", "admin")
	if member.User.Handle != "alice" || member.Role != "admin" {
		t.Errorf("add-member: %+v", member)
	}
	c.ok(&member, "", "business", "add-member", "shop", "bob")
	if member.Role != "agent" {
		t.Errorf("add-member default role: %+v", member)
	}
	c.fails(exitFailed, "not_found", "", "business", "add-member", "alice", "bob") // alice is no business
	c.fails(exitFailed, "not_found", "", "business", "add-member", "shop", "nobody")
	c.fails(exitFailed, "invalid", "", "business", "add-member", "shop", "helper_bot") // teams are people
	c.fails(exitUsage, "usage", "", "business", "add-member", "shop", "bob", "--role", "owner")

	var list struct {
		Items []struct {
			Handle, Kind string
			Suspended    bool
		}
		NextCursor string `json:"next_cursor"`
	}
	c.ok(&list, "", "user", "list", "--limit", "2")
	if len(list.Items) != 2 || list.Items[0].Handle != "alice" || list.Items[1].Handle != "bob" || list.NextCursor != "bob" {
		t.Fatalf("user list page 1: %+v", list)
	}
	after := list.NextCursor
	list.NextCursor = ""
	c.ok(&list, "", "user", "list", "--limit", "2", "--after", after)
	if len(list.Items) != 2 || list.Items[0].Handle != "helper_bot" || list.Items[1].Handle != "shop" || list.NextCursor != "" {
		t.Fatalf("user list page 2: %+v", list)
	}
	c.ok(&list, "", "user", "list", "--kind", "business")
	if len(list.Items) != 1 || list.Items[0].Handle != "shop" {
		t.Fatalf("user list --kind business: %+v", list)
	}
	c.fails(exitFailed, "invalid", "", "user", "list", "--kind", "robot")

	var tok struct {
		Token, Name string
		Scopes      []string
		ExpiresAt   *time.Time `json:"expires_at"`
	}
	c.ok(&tok, "", "token", "create", "alice", "--scopes", "read,messages:write", "--name", "ci", "--expires-in-days", "7")
	if !strings.HasPrefix(tok.Token, "prl_") || tok.Name != "ci" || strings.Join(tok.Scopes, ",") != "messages:write,read" || tok.ExpiresAt == nil {
		t.Fatalf("token create: %+v", tok)
	}
	c.fails(exitUsage, "usage", "", "token", "create", "alice")
	c.fails(exitFailed, "invalid", "", "token", "create", "alice", "--scopes", "everything")
	c.fails(exitFailed, "not_found", "", "token", "create", "nobody", "--scopes", "read")

	var acc app.Account
	c.ok(&acc, "", "user", "suspend", "bob")
	if !acc.Suspended {
		t.Errorf("suspend: %+v", acc)
	}
	c.fails(exitFailed, "account_suspended", "", "token", "create", "bob", "--scopes", "read")
	c.fails(exitFailed, "not_found", "", "user", "suspend", "nobody")
	var reset account
	c.ok(&reset, "", "user", "reset-password", "alice")
	if len(reset.Password) != 20 || reset.SessionsEnded == nil {
		t.Errorf("reset-password: %+v", reset)
	}

	var stats struct {
		Users          map[string]int
		SuspendedUsers int `json:"suspended_users"`
		Tokens         int
		Agents         int
	}
	c.ok(&stats, "", "stats")
	if stats.Users["person"] != 2 || stats.Users["business"] != 1 || stats.Users["bot"] != 1 || stats.SuspendedUsers != 1 ||
		stats.Tokens != 1 || stats.Agents != 2 {
		t.Errorf("stats: %+v", stats)
	}
	c.ok(&acc, "", "user", "unsuspend", "bob")
	if acc.Suspended {
		t.Errorf("unsuspend: %+v", acc)
	}

	// Without --json: words for people.
	if code, out, _ := c.run("", "stats"); code != 0 || !strings.Contains(out, "users") || !strings.Contains(out, "business inboxes") {
		t.Errorf("stats: %d %q", code, out)
	}
	if code, out, errs := c.run("", "user", "suspend", "nobody"); code != exitFailed || out != "" || !strings.Contains(errs, `no account "nobody"`) {
		t.Errorf("suspend nobody: %d %q %q", code, out, errs)
	}
	// Help is no failure, for every admin command; it names the command.
	for _, args := range [][]string{{"user", "--help"}, {"business", "--help"}, {"help"}} {
		if code, out, errs := c.run("", args...); code != 0 || !strings.Contains(out+errs, "usage: parley") {
			t.Errorf("%v: %d %q %q", args, code, out, errs)
		}
	}
	for _, cmd := range [][]string{{"user", "create"}, {"user", "list"}, {"user", "suspend"}, {"user", "unsuspend"}, {"user", "reset-password"},
		{"business", "create"}, {"business", "add-member"}, {"token", "create"}, {"stats"}} {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string{}, cmd...), h)
			if code, out, errs := c.run("", args...); code != 0 || !strings.Contains(out+errs, "usage: parley "+strings.Join(cmd, " ")) ||
				!strings.Contains(out+errs, "-json") {
				t.Errorf("%v: %d %q %q", args, code, out, errs)
			}
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a server's logger and a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs parley serve in-process on a free port and returns its
// base URL; cancel stops it and waits for it.
func (c *cli) startServe() (url string, stop func() error) {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runIO(ctx, []string{"serve", "-listen", "127.0.0.1:0", "-log-format", "text"}, c.env, strings.NewReader(""), io.Discard, logs)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if i := strings.Index(logs.String(), `msg="parley listening" addr=`); i >= 0 {
			addr := strings.Fields(logs.String()[i+len(`msg="parley listening" addr=`):])[0]
			// The admin socket opens just after the listener.
			for time.Now().Before(deadline) {
				if conn, err := dialAdmin(c.dir); err == nil {
					conn.Close()
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			var once sync.Once
			var err error
			stop = func() error {
				once.Do(func() { cancel(); err = <-done })
				return err
			}
			c.t.Cleanup(func() { stop() })
			return "http://" + addr, stop
		}
		select {
		case err := <-done:
			c.t.Fatalf("serve ended: %v: %s", err, logs.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("serve did not start: %s", logs.String())
		}
	}
}

func post(t *testing.T, url, token string, body any) (int, map[string]any) {
	t.Helper()
	buf, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(buf))
	req.Header.Set("Content-Type", "application/json")
	return do(t, req, token)
}

func get(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	return do(t, req, token)
}

func do(t *testing.T, req *http.Request, token string) (int, map[string]any) {
	t.Helper()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// TestAdminOnRunningServer: while parley serve holds the data directory,
// the admin commands are carried out by the server over its socket, and
// take effect at once (a suspended user's session ends); migrate and a
// second server are refused. After the server stops, the commands work
// on the store directly again.
func TestAdminOnRunningServer(t *testing.T) {
	c := newCLI(t)
	c.run("", "migrate")
	c.ok(nil, "", "user", "create", "early") // before the server: on the store
	url, stop := c.startServe()

	var eve account
	c.ok(&eve, "correct horse battery\n", "user", "create", "eve", "--password-stdin")
	code, login := post(t, url+"/api/v1/sessions", "", map[string]string{"handle": "eve", "password": "correct horse battery"})
	if code != http.StatusCreated {
		t.Fatalf("login of an account the CLI made: %d %v", code, login)
	}
	token := login["token"].(string)
	if code, _ := get(t, url+"/api/v1/me", token); code != http.StatusOK {
		t.Fatalf("me: %d", code)
	}
	var tok struct{ Token string }
	c.ok(&tok, "", "token", "create", "eve", "--scopes", "read")
	if code, _ := get(t, url+"/api/v1/me", tok.Token); code != http.StatusOK {
		t.Fatalf("me with the CLI's token: %d", code)
	}

	c.ok(nil, "", "user", "suspend", "eve")
	if code, _ := get(t, url+"/api/v1/me", token); code != http.StatusUnauthorized {
		t.Errorf("the suspended user's session answers %d, want 401", code)
	}
	if code, p := get(t, url+"/api/v1/me", tok.Token); code != http.StatusForbidden || p["code"] != "account_suspended" {
		t.Errorf("the suspended user's token: %d %v", code, p)
	}
	if code, p := post(t, url+"/api/v1/sessions", "", map[string]string{"handle": "eve", "password": "correct horse battery"}); code != http.StatusForbidden || p["code"] != "account_suspended" {
		t.Errorf("login while suspended: %d %v", code, p)
	}
	// Errors come back from the server with their status and JSON.
	c.fails(exitFailed, "handle_taken", "", "user", "create", "eve")
	c.fails(exitFailed, "not_found", "", "user", "suspend", "nobody")
	if code, out, errs := c.run("", "user", "suspend", "nobody"); code != exitFailed || out != "" || !strings.Contains(errs, `no account "nobody"`) {
		t.Errorf("remote failure without --json: %d %q %q", code, out, errs)
	}
	var stats struct{ Users map[string]int }
	c.ok(&stats, "", "stats")
	if stats.Users["person"] != 2 {
		t.Errorf("stats from the server: %+v", stats)
	}

	if code, _, errs := c.run("", "migrate"); code != exitFailed || !strings.Contains(errs, "holds the data directory") {
		t.Errorf("migrate while serving: %d %s", code, errs)
	}

	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if _, err := os.Stat(adminSocketPath(c.dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("admin socket left behind: %v", err)
	}
	// The server is gone: the commands open the store themselves.
	c.ok(nil, "", "user", "unsuspend", "eve")
	c.ok(&stats, "", "stats")
	if stats.Users["person"] != 2 {
		t.Errorf("stats after the server: %+v", stats)
	}
}

// TestOneServerPerDataDir: a second server on the same data directory is
// refused instead of corrupting the store's positions.
func TestOneServerPerDataDir(t *testing.T) {
	c := newCLI(t)
	release, err := lockDataDir(context.Background(), c.dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	_, err = lockDataDir(context.Background(), c.dir, 0)
	if !errors.Is(err, errDataDirBusy) {
		t.Fatalf("second lock: %v", err)
	}
}

// TestAdminModerationCommands: server administrators are made by user
// create --admin and user promote, unmade by demote; a ban is for good.
func TestAdminModerationCommands(t *testing.T) {
	c := newCLI(t)
	if code, _, errs := c.run("", "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errs)
	}
	var mod account
	c.ok(&mod, "", "user", "create", "mod", "--admin")
	if !mod.User.ServerAdmin {
		t.Fatalf("create --admin: %+v", mod)
	}
	c.ok(nil, "", "user", "create", "eve")
	var acc app.Account
	c.ok(&acc, "", "user", "promote", "eve")
	if !acc.ServerAdmin {
		t.Errorf("promote: %+v", acc)
	}
	var demoted app.Account
	c.ok(&demoted, "", "user", "demote", "eve")
	if demoted.ServerAdmin {
		t.Errorf("demote: %+v", acc)
	}
	c.ok(nil, "", "business", "create", "shop")
	c.fails(exitFailed, "invalid", "", "user", "promote", "shop") // people only
	c.fails(exitFailed, "not_found", "", "user", "promote", "nobody")
	c.ok(&acc, "", "user", "ban", "eve", "--hide-messages")
	if !acc.Banned || !acc.Suspended {
		t.Errorf("ban: %+v", acc)
	}
	c.fails(exitFailed, "conflict", "", "user", "unsuspend", "eve")
}
