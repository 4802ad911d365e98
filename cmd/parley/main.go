// Command parley runs the Parley messaging server and its tools.
//
//	parley serve          run the server (the default)
//	parley migrate        apply database migrations and exit
//	parley migrate-data   copy an SQLite installation into PostgreSQL
//	parley config print   show the effective configuration
//	parley user …, business …, token create, stats   administer accounts
//	parley verify         check an export ZIP (docs/records.md)
//	parley backup, restore  online backup of the data directory, and its restore
//	parley audit list|export|verify   read and verify the audit log
//	parley load           drive a running server and measure it (docs/benchmarking.md)
//	parley version        print the version
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/server"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	err := runIO(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	var reported exitStatus
	if err != nil && !errors.Is(err, flag.ErrHelp) && !errors.As(err, &reported) {
		fmt.Fprintln(os.Stderr, "parley:", err)
	}
	os.Exit(exitCode(err))
}

// Exit statuses: 0 success (and --help), 1 the command failed, 2 the
// command line or the configuration is wrong.
const (
	exitFailed = 1
	exitUsage  = 2
)

// usageError marks a mistake in the command line or the configuration.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitStatus carries the exit status of an admin command that the server
// ran and already reported.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func exitCode(err error) int {
	var us usageError
	var st exitStatus
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &st):
		return int(st)
	case errors.As(err, &us):
		return exitUsage
	}
	return exitFailed
}

const usageText = `usage: parley <command> [flags]

  serve                 run the server (the default); parley serve -h lists the settings
  migrate               apply database migrations and exit
  migrate-data          copy an embedded (SQLite) installation into PostgreSQL, then verify it
  config print          show the effective configuration and where each value comes from
  user create|list|suspend|unsuspend|reset-password|delete
  business create|add-member
  hold place|release|list   legal holds (kept from disappearing timers and retention)
  retention run         apply the retention policies now (--dry-run counts only)
  keys status|rotate|reseal|rewrap  encryption at rest: data keys, rotation, a new master key
  records backfill-chain  give pre-chain history its hash chain entries (idempotent)
  token create          make an API token for an account
  stats                 count users, conversations, messages, media, sessions
  verify EXPORT.zip     check an export: complete, unaltered, signed (docs/records.md)
  backup DEST           consistent online backup of the database, media and signing key
  restore SRC           restore a backup into an empty data directory
  audit list|export|verify  read, export (JSON lines) and verify the audit log
  load                  drive a running server and measure it (docs/benchmarking.md)
  version               print the version

Every command takes -h. The admin commands (user, business, token, stats,
audit, hold, retention, records, keys) work on the data directory; while parley serve runs
there, the server carries them out.
`

// run runs a command with no standard input.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runIO(ctx, args, getenv, strings.NewReader(""), stdout, stderr)
}

func runIO(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		st, src, err := loadSettings("serve", args, getenv, stderr)
		if err != nil {
			return err
		}
		if setGC(getenv, serveGCPercent) {
			go tuneGC(ctx, serveGCPercent)
		}
		level := new(slog.LevelVar)
		level.Set(st.LogLevel)
		log := newLogger(stderr, st.LogFormat, level)
		for _, w := range envTypos(environ()) {
			log.Warn("configuration: " + w)
		}
		return serve(ctx, st, log, level, func() (*settings, error) { return src.load(getenv) })
	case "migrate":
		st, _, err := loadSettings("migrate", args, getenv, stderr)
		if err != nil {
			return err
		}
		// On PostgreSQL an advisory lock keeps concurrent migrations
		// apart, and running nodes may stay up; SQLite's file is guarded
		// by the data directory's lock.
		if !server.IsPostgresURL(st.Server.DatabaseURL) {
			release, err := lockDataDir(ctx, st.Server.DataDir, 0)
			if err != nil {
				return fmt.Errorf("migrate: %w; the server applies migrations when it starts", err)
			}
			defer release()
		}
		store, err := server.OpenStore(st.Server)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "migrations applied")
		return store.Close()
	case "migrate-data":
		return migrateDataCmd(ctx, args, stdout, stderr)
	case "config":
		return configCommand(args, getenv, stdout, stderr)
	case "user", "business", "token", "stats", "audit", "hold", "retention", "records", "keys":
		return adminCommand(ctx, cmd, args, getenv, stdin, stdout, stderr)
	case "verify":
		return verifyCommand(args, stdout, stderr)
	case "backup":
		return backupCommand(ctx, args, getenv, stdout, stderr)
	case "restore":
		return restoreCommand(ctx, args, getenv, stdout, stderr)
	case "load":
		setGC(getenv, loadGCPercent)
		return runLoadCmd(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "parley", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usageText)
		return nil
	}
	fmt.Fprint(stderr, usageText)
	return usagef("unknown command %q", cmd)
}

// loadSettings parses a command's flags (every setting has one) and
// returns the effective configuration.
func loadSettings(name string, args []string, getenv func(string) string, stderr io.Writer) (*settings, *configSource, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	src := configFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err
		}
		return nil, nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, nil, usagef("unexpected arguments: %v", fs.Args())
	}
	st, err := src.load(getenv)
	if err != nil {
		return nil, nil, usageError{err}
	}
	return st, src, nil
}

// parseConfig returns the server configuration and log level of a
// command line (for tests).
func parseConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (server.Config, string, error) {
	st, _, err := loadSettings(name, args, getenv, stderr)
	if err != nil {
		return server.Config{}, "", err
	}
	return st.Server, strings.ToLower(st.LogLevel.String()), nil
}

// configCommand runs parley config print.
func configCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "print" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stdout, "usage: parley config print [--json] [serve's flags]")
			return nil
		}
		return usagef("usage: parley config print [--json] [serve's flags]")
	}
	fs := flag.NewFlagSet("config print", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	src := configFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %v", fs.Args())
	}
	st, err := src.load(getenv)
	if err != nil {
		return usageError{err}
	}
	if *asJSON {
		out := struct {
			File     string         `json:"file,omitempty"`
			Settings []settingValue `json:"settings"`
		}{File: st.File, Settings: make([]settingValue, len(st.Values))}
		for i, v := range st.Values {
			v.Value = masked(v.Key, v.Value)
			out.Settings[i] = v
		}
		return writeJSON(stdout, out)
	}
	for _, w := range envTypos(environ()) {
		fmt.Fprintln(stderr, "parley: warning:", w)
	}
	var b bytes.Buffer
	b.WriteString("# parley: the effective configuration; flags > environment > file > defaults\n")
	if st.File != "" {
		fmt.Fprintf(&b, "# config file: %s\n", st.File)
	}
	printTOML(&b, st.Values)
	_, err = stdout.Write(b.Bytes())
	return err
}

func newLogger(w io.Writer, format string, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// serve runs until SIGINT or SIGTERM, then shuts down gracefully. SIGHUP
// reads the configuration again and applies the log level; other changes
// wait for a restart (the log says which).
func serve(ctx context.Context, st *settings, log *slog.Logger, level *slog.LevelVar, reload func() (*settings, error)) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// One server per data directory: the store keeps its next position
	// and a cache in memory, so a second writer would corrupt both.
	release, err := lockDataDir(ctx, st.Server.DataDir, 10*time.Second)
	if err != nil {
		return err
	}
	defer release()
	s, err := server.Open(st.Server, log)
	if err != nil {
		return err
	}
	admin, err := listenAdmin(st.Server.DataDir, s.App, s.Backup, log)
	if err != nil {
		log.Warn("admin socket: the admin commands cannot reach this server", "err", err)
	}
	logFileLimit(log)
	go releaseWhenQuiet(ctx, log)
	errc := make(chan error, 1)
	go func() { errc <- s.Serve() }()
	for {
		select {
		case err := <-errc:
			admin.Close()
			s.Shutdown(context.Background())
			return err
		case <-hup:
			st = reloadSettings(st, reload, level, log)
			continue
		case <-ctx.Done():
		}
		break
	}
	log.Info("shutting down")
	admin.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return s.Shutdown(sctx)
}

// reloadSettings applies what SIGHUP may change (the settings marked
// reload) and logs the changes that need a restart. A configuration that
// does not load changes nothing.
func reloadSettings(cur *settings, reload func() (*settings, error), level *slog.LevelVar, log *slog.Logger) *settings {
	next, err := reload()
	if err != nil {
		log.Error("reload: configuration not applied", "err", err)
		return cur
	}
	var restart []string
	for i, v := range next.Values {
		if v.Value == cur.Values[i].Value {
			continue
		}
		if st, _ := settingByKey(v.Key); !st.reload {
			restart = append(restart, v.Key)
		}
	}
	if next.LogLevel != level.Level() {
		level.Set(next.LogLevel)
		log.Info("reload: log level set", "log_level", next.LogLevel.String())
	}
	if len(restart) > 0 {
		log.Warn("reload: these settings changed and apply after a restart", "settings", restart)
	}
	log.Info("configuration reloaded")
	// Keep the running values of what was not applied, so that the next
	// reload reports them again.
	for i, v := range next.Values {
		if st, _ := settingByKey(v.Key); !st.reload {
			next.Values[i] = cur.Values[i]
		}
	}
	return next
}

// Garbage collector targets, used unless GOGC is set. Parley's live heap
// is small (tens of MiB), so Go's default of 100 collects many times a
// second under load; each cycle takes CPU from requests and adds to tail
// latency. The server trades a few times its live heap for fewer cycles
// (and lowers the target as the live heap grows: tuneGC); the load
// generator, which must not disturb what it measures, more.
const (
	serveGCPercent = 400
	loadGCPercent  = 800
)

// setGC sets the collector's target unless GOGC is set, and reports
// whether it did.
func setGC(getenv func(string) string, percent int) bool {
	if getenv("GOGC") != "" {
		return false
	}
	debug.SetGCPercent(percent)
	return true
}

// parseMediaTypes reads "kind=type,type;kind=type": the content types each
// message kind accepts, replacing the defaults of the kinds it names.
func parseMediaTypes(v string) (map[parley.MessageKind][]string, error) {
	out := map[parley.MessageKind][]string{}
	for k, types := range app.DefaultMediaTypes {
		out[k] = types
	}
	for _, entry := range strings.Split(v, ";") {
		kind, list, ok := strings.Cut(strings.TrimSpace(entry), "=")
		if !ok {
			return nil, fmt.Errorf("%q: want kind=type,type", entry)
		}
		k := parley.MessageKind(strings.TrimSpace(kind))
		if _, known := app.DefaultMediaTypes[k]; !known {
			return nil, fmt.Errorf("unknown kind %q", kind)
		}
		var types []string
		for _, t := range strings.Split(list, ",") {
			t = strings.ToLower(strings.TrimSpace(t))
			if t == "image/svg+xml" || t == "text/html" || t == "application/xhtml+xml" {
				return nil, fmt.Errorf("%s can carry script and is never accepted", t)
			}
			if t != "" {
				types = append(types, t)
			}
		}
		out[k] = types
	}
	return out, nil
}
