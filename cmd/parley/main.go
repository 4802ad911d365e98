// Command parley runs the Parley messaging server and its tools.
//
//	parley serve      run the server (the default)
//	parley migrate    apply database migrations and exit
//	parley load       drive a running server and measure it (docs/benchmarking.md)
//	parley version    print the version
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
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
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "parley:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, logLevel, err := parseConfig("serve", args, getenv, stderr)
		if err != nil {
			return err
		}
		setGC(getenv, serveGCPercent)
		return serve(ctx, cfg, newLogger(stderr, logLevel))
	case "migrate":
		cfg, _, err := parseConfig("migrate", args, getenv, stderr)
		if err != nil {
			return err
		}
		st, err := server.OpenStore(cfg)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "migrations applied")
		return st.Close()
	case "load":
		setGC(getenv, loadGCPercent)
		return runLoadCmd(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "parley", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: parley [serve|migrate|load|version] [flags]; parley serve -h and parley load -h list the flags")
		return nil
	}
	return fmt.Errorf("unknown command %q (want serve, migrate or version)", cmd)
}

// parseConfig reads, lowest precedence first: defaults, a config file
// (KEY=VALUE lines of PARLEY_* variables), the environment, then flags.
func parseConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (server.Config, string, error) {
	cfg := server.Defaults()
	configFile := findConfigFlag(args, getenv("PARLEY_CONFIG"))
	env := getenv
	if configFile != "" {
		fileVals, err := readConfigFile(configFile)
		if err != nil {
			return cfg, "", err
		}
		env = func(k string) string {
			if v := getenv(k); v != "" {
				return v
			}
			return fileVals[k]
		}
	}
	str := func(k, def string) string {
		if v := env(k); v != "" {
			return v
		}
		return def
	}
	num := func(k string) (int, error) {
		v := env(k)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%s: %q is not a number", k, v)
		}
		return n, nil
	}
	reqLimit, err := num("PARLEY_REQUEST_LIMIT")
	if err != nil {
		return cfg, "", err
	}
	maxMembers, err := num("PARLEY_MAX_GROUP_MEMBERS")
	if err != nil {
		return cfg, "", err
	}
	var editWindow time.Duration
	if v := env("PARLEY_EDIT_WINDOW"); v != "" {
		if editWindow, err = time.ParseDuration(v); err != nil {
			return cfg, "", fmt.Errorf("PARLEY_EDIT_WINDOW: %w", err)
		}
	}
	trust, _ := strconv.ParseBool(env("PARLEY_TRUST_PROXY"))
	media := &cfg.App.Media
	for k, dst := range map[string]*int64{"PARLEY_MEDIA_MAX_BYTES": &media.MaxFileBytes, "PARLEY_MEDIA_MAX_IMAGE_BYTES": &media.MaxImageBytes,
		"PARLEY_MEDIA_MAX_PIXELS": &media.MaxPixels, "PARLEY_MEDIA_DAILY_BYTES": &media.DailyBytes} {
		n, err := num(k)
		if err != nil {
			return cfg, "", err
		}
		*dst = int64(n)
	}
	if v := env("PARLEY_MEDIA_KEEP_METADATA"); v != "" {
		if media.KeepMetadata, err = strconv.ParseBool(v); err != nil {
			return cfg, "", fmt.Errorf("PARLEY_MEDIA_KEEP_METADATA: %w", err)
		}
	}
	if v := env("PARLEY_MEDIA_TYPES"); v != "" {
		if media.Types, err = parseMediaTypes(v); err != nil {
			return cfg, "", fmt.Errorf("PARLEY_MEDIA_TYPES: %w", err)
		}
	}
	rate := func(k string) (float64, error) {
		v := env(k)
		if v == "" {
			return 0, nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return 0, fmt.Errorf("%s: %q is not a rate (messages a second, e.g. 1 or 0.5)", k, v)
		}
		return f, nil
	}
	botConv, err := rate("PARLEY_BOT_PER_CONVERSATION")
	if err != nil {
		return cfg, "", err
	}
	botAll, err := rate("PARLEY_BOT_PER_SECOND")
	if err != nil {
		return cfg, "", err
	}
	var hookTimeout time.Duration
	if v := env("PARLEY_WEBHOOK_TIMEOUT"); v != "" {
		if hookTimeout, err = time.ParseDuration(v); err != nil {
			return cfg, "", fmt.Errorf("PARLEY_WEBHOOK_TIMEOUT: %w", err)
		}
	}
	previews := true
	if v := env("PARLEY_LINK_PREVIEWS"); v != "" {
		if previews, err = strconv.ParseBool(v); err != nil {
			return cfg, "", fmt.Errorf("PARLEY_LINK_PREVIEWS: %w", err)
		}
	}

	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String("config", configFile, "file of PARLEY_*=value lines (PARLEY_CONFIG)")
	fs.StringVar(&cfg.Listen, "listen", str("PARLEY_LISTEN", cfg.Listen), "HTTP listen address (PARLEY_LISTEN)")
	fs.StringVar(&cfg.DataDir, "data-dir", str("PARLEY_DATA_DIR", cfg.DataDir), "data directory (PARLEY_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", str("PARLEY_DATABASE_URL", ""), "database: empty for SQLite in the data dir, or sqlite:PATH (PARLEY_DATABASE_URL)")
	fs.StringVar(&cfg.DebugListen, "debug-listen", str("PARLEY_DEBUG_LISTEN", ""), "address for Go's profiler (/debug/pprof/); off when empty, keep it on loopback (PARLEY_DEBUG_LISTEN)")
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", str("PARLEY_METRICS_LISTEN", ""), "where GET /metrics is served: empty for the main listener (restrict it at the proxy), host:port for its own listener, off for nowhere (PARLEY_METRICS_LISTEN)")
	logLevel := fs.String("log-level", str("PARLEY_LOG_LEVEL", "info"), "debug, info, warn or error (PARLEY_LOG_LEVEL)")
	fs.BoolVar(&cfg.TrustProxy, "trust-proxy", trust, "take client addresses from X-Forwarded-For (PARLEY_TRUST_PROXY)")
	admins := fs.String("admins", str("PARLEY_ADMINS", ""), "comma-separated handles of the server's administrators (PARLEY_ADMINS)")
	origins := fs.String("allowed-origins", str("PARLEY_ALLOWED_ORIGINS", ""), "comma-separated browser origins, besides the server's own, allowed to open the stream (PARLEY_ALLOWED_ORIGINS)")
	fs.IntVar(&cfg.App.RequestLimit, "request-limit", reqLimit, "messages allowed into a request before it is accepted; 0 = 3 (PARLEY_REQUEST_LIMIT)")
	fs.DurationVar(&cfg.App.EditWindow, "edit-window", editWindow, "how long a message stays editable; 0 = 15m (PARLEY_EDIT_WINDOW)")
	fs.IntVar(&cfg.App.MaxGroupMembers, "max-group-members", maxMembers, "group size limit; 0 = 1000 (PARLEY_MAX_GROUP_MEMBERS)")
	fs.BoolVar(&previews, "link-previews", previews, "fetch link cards for URLs in messages (PARLEY_LINK_PREVIEWS)")
	fs.Float64Var(&cfg.App.BotPerConversation, "bot-per-conversation", botConv, "messages a second a bot may send into one conversation; 0 = 1 (PARLEY_BOT_PER_CONVERSATION)")
	fs.Float64Var(&cfg.App.BotPerSecond, "bot-per-second", botAll, "messages a second a bot may send in all; 0 = 30 (PARLEY_BOT_PER_SECOND)")
	hookAllow := fs.String("webhook-allow", str("PARLEY_WEBHOOK_ALLOW", ""), "comma-separated addresses, address:port pairs, CIDR ranges or host names that webhooks may reach though not public, over plain HTTP too (PARLEY_WEBHOOK_ALLOW)")
	fs.DurationVar(&cfg.WebhookTimeout, "webhook-timeout", hookTimeout, "how long one webhook post may take; 0 = 10s (PARLEY_WEBHOOK_TIMEOUT)")
	if err := fs.Parse(args); err != nil {
		return cfg, "", err
	}
	cfg.NoLinkPreviews = !previews
	for _, h := range strings.Split(*hookAllow, ",") {
		if h = strings.TrimSpace(h); h != "" {
			cfg.WebhookAllow = append(cfg.WebhookAllow, h)
		}
	}
	if fs.NArg() > 0 {
		return cfg, "", fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	for _, h := range strings.Split(*admins, ",") {
		if h = strings.TrimSpace(h); h != "" {
			cfg.App.Admins = append(cfg.App.Admins, h)
		}
	}
	for _, o := range strings.Split(*origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.AllowedOrigins = append(cfg.AllowedOrigins, o)
		}
	}
	return cfg, *logLevel, nil
}

// findConfigFlag returns the value of -config in args, or def: the file
// must be read before the other flags get their defaults from it.
func findConfigFlag(args []string, def string) string {
	for i, a := range args {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			continue
		}
		if hasVal {
			return val
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return def
}

func readConfigFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !strings.HasPrefix(k, "PARLEY_") {
			return nil, fmt.Errorf("config file %s:%d: want PARLEY_NAME=value", path, n)
		}
		vals[k] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return vals, sc.Err()
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// serve runs until SIGINT or SIGTERM, then shuts down gracefully.
func serve(ctx context.Context, cfg server.Config, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := server.Open(cfg, log)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve() }()
	select {
	case err := <-errc:
		s.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return s.Shutdown(sctx)
}

// Garbage collector targets, used unless GOGC is set. Parley's live heap
// is small (tens of MiB), so Go's default of 100 collects many times a
// second under load; each cycle takes CPU from requests and adds to tail
// latency. The server trades a few times its live heap for fewer cycles;
// the load generator, which must not disturb what it measures, more.
const (
	serveGCPercent = 400
	loadGCPercent  = 800
)

func setGC(getenv func(string) string, percent int) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(percent)
	}
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
