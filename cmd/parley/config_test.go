package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
)

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func load(t *testing.T, args []string, env map[string]string) (*settings, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	src := configFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return src.load(func(k string) string { return env[k] })
}

// TestConfigFilePrecedence: for each file format, flags beat the
// environment, which beats the file, which beats the defaults.
func TestConfigFilePrecedence(t *testing.T) {
	files := map[string]string{
		"parley.toml": `
listen = "127.0.0.1:7000"
data_dir = "/from/file"
request_limit = 5
edit_window = "30m"
admins = ["Ann", "bob"]
trust_proxy = true

[media]
max_bytes = "10MiB"
max_pixels = 1_000_000
keep_metadata = true

[media.types]
file = ["application/pdf"]

[bot]
per_conversation = 0.5

[webhook]
allow = ["10.0.0.0/8"]
timeout = "3s"
`,
		"parley.yaml": `
listen: 127.0.0.1:7000
data_dir: /from/file
request_limit: 5
edit_window: 30m
admins: [Ann, bob]
trust_proxy: true
media:
  max_bytes: 10MiB
  max_pixels: 1000000
  keep_metadata: true
  types:
    file: [application/pdf]
bot:
  per_conversation: 0.5
webhook:
  allow: [10.0.0.0/8]
  timeout: 3s
`,
		"parley.env": `# the format Parley started with
PARLEY_LISTEN=127.0.0.1:7000
PARLEY_DATA_DIR=/from/file
PARLEY_REQUEST_LIMIT=5
PARLEY_EDIT_WINDOW="30m"
PARLEY_ADMINS=Ann,bob
PARLEY_TRUST_PROXY=true
PARLEY_MEDIA_MAX_BYTES=10MiB
PARLEY_MEDIA_MAX_PIXELS=1000000
PARLEY_MEDIA_KEEP_METADATA=true
PARLEY_MEDIA_TYPES=file=application/pdf
PARLEY_BOT_PER_CONVERSATION=0.5
PARLEY_WEBHOOK_ALLOW=10.0.0.0/8
PARLEY_WEBHOOK_TIMEOUT=3s
`,
	}
	for name, text := range files {
		t.Run(name, func(t *testing.T) {
			path := writeFile(t, name, text)
			env := map[string]string{"PARLEY_CONFIG": path, "PARLEY_DATA_DIR": "/from/env", "PARLEY_LISTEN": "127.0.0.1:8000", "PARLEY_MAX_GROUP_MEMBERS": "50"}
			st, err := load(t, []string{"-listen", "127.0.0.1:9000", "-trust-proxy=false"}, env)
			if err != nil {
				t.Fatal(err)
			}
			c := st.Server
			if c.Listen != "127.0.0.1:9000" || c.TrustProxy { // flags beat env and file
				t.Errorf("flags: listen %q, trust proxy %v", c.Listen, c.TrustProxy)
			}
			if c.DataDir != "/from/env" || c.App.MaxGroupMembers != 50 { // env beats file
				t.Errorf("env: data dir %q, max members %d", c.DataDir, c.App.MaxGroupMembers)
			}
			m := c.App.Media
			if c.App.RequestLimit != 5 || c.App.EditWindow != 30*time.Minute || strings.Join(c.App.Admins, ",") != "Ann,bob" ||
				m.MaxFileBytes != 10<<20 || m.MaxPixels != 1_000_000 || !m.KeepMetadata || strings.Join(m.Types["file"], ",") != "application/pdf" ||
				len(m.Types["image"]) == 0 || c.App.BotPerConversation != 0.5 || strings.Join(c.WebhookAllow, ",") != "10.0.0.0/8" ||
				c.WebhookTimeout != 3*time.Second {
				t.Errorf("file: %+v", c)
			}
			if c.App.BotPerSecond != 30 || c.App.Media.MaxImageBytes != 8<<20 || st.LogLevel != slog.LevelInfo || c.NoLinkPreviews { // defaults
				t.Errorf("defaults: %+v", c)
			}
			sources := map[string]string{}
			for _, v := range st.Values {
				sources[v.Key] = v.Source
			}
			want := map[string]string{"listen": "flag -listen", "trust_proxy": "flag -trust-proxy", "data_dir": "env PARLEY_DATA_DIR",
				"request_limit": "file " + path, "media.types": "file " + path, "bot.per_second": "default"}
			for k, src := range want {
				if sources[k] != src {
					t.Errorf("source of %s: %q, want %q", k, sources[k], src)
				}
			}
		})
	}
	// -config beats PARLEY_CONFIG.
	a := writeFile(t, "a.toml", `listen = "127.0.0.1:1"`)
	b := writeFile(t, "b.toml", `listen = "127.0.0.1:2"`)
	st, err := load(t, []string{"--config", b}, map[string]string{"PARLEY_CONFIG": a})
	if err != nil || st.Server.Listen != "127.0.0.1:2" {
		t.Errorf("-config over PARLEY_CONFIG: %v %v", st, err)
	}
}

// TestConfigDefaultsMatchApp: the defaults that config print shows are
// the ones the rules use when nothing is set.
func TestConfigDefaultsMatchApp(t *testing.T) {
	st, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := st.Server.App
	got.Password = app.PasswordParams{}
	want := app.New(nil, app.Config{}).Config()
	want.Password = app.PasswordParams{}
	if got.Media.Types == nil {
		got.Media.Types = app.DefaultMediaTypes
	}
	// Fields the configuration does not set keep their zero value.
	got.MaxTextLen = want.MaxTextLen
	got.TOTPIssuer = want.TOTPIssuer
	got.Media.MaxGIFFrames, got.Media.UnsentTTL, got.Media.DecodeBudget = want.Media.MaxGIFFrames, want.Media.UnsentTTL, want.Media.DecodeBudget
	got.Records.MaxRunning, got.Records.MaxPending, got.Records.ProgressEvery = want.Records.MaxRunning, want.Records.MaxPending, want.Records.ProgressEvery
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults differ:\nconfig %+v\napp    %+v", got, want)
	}
	if st.Server.WebhookTimeout != 10*time.Second || st.Server.Listen != "127.0.0.1:8080" || st.Server.DataDir != "./parley-data" {
		t.Errorf("server defaults %+v", st.Server)
	}
}

// TestConfigErrors: a bad value or an unknown key stops the start with
// the key, where it came from, and how to write it.
func TestConfigErrors(t *testing.T) {
	toml := func(text string) map[string]string {
		return map[string]string{"PARLEY_CONFIG": writeFile(t, "parley.toml", text)}
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"toml bytes", nil, toml(`media.max_bytes = "ten"`), `config ` + "%s" + `: media.max_bytes: "ten" is not a number of bytes; write e.g. 26214400`},
		{"toml unknown key", nil, toml("[media]\nmax_byte = 5"), `unknown key "media.max_byte"; did you mean "media.max_bytes"?`},
		{"toml unknown section", nil, toml("[cache]\nsize = 5"), `unknown key "cache"`},
		{"toml list for a scalar", nil, toml(`listen = ["a", "b"]`), `listen: a list is not allowed here`},
		{"toml syntax", nil, toml(`listen = `), `config %s:1:`},
		{"yaml duration", nil, map[string]string{"PARLEY_CONFIG": writeFile(t, "p.yml", "webhook:\n  timeout: soon\n")},
			`webhook.timeout: "soon" is not a duration; write e.g. 10s`},
		{"env file unknown", nil, map[string]string{"PARLEY_CONFIG": writeFile(t, "p.env", "PARLEY_LISTN=x\n")},
			`:1: unknown setting PARLEY_LISTN; did you mean "PARLEY_LISTEN"?`},
		{"env file value", nil, map[string]string{"PARLEY_CONFIG": writeFile(t, "p.env", "PARLEY_REQUEST_LIMIT=three\n")},
			`PARLEY_REQUEST_LIMIT: "three" is not a whole number; write e.g. 3`},
		{"env", nil, map[string]string{"PARLEY_EDIT_WINDOW": "soon"}, `PARLEY_EDIT_WINDOW: "soon" is not a duration; write e.g. 15m`},
		{"env bool", nil, map[string]string{"PARLEY_TRUST_PROXY": "yes please"}, `PARLEY_TRUST_PROXY: "yes please" is not true or false`},
		{"env listen", nil, map[string]string{"PARLEY_LISTEN": "8080"}, `PARLEY_LISTEN: "8080" is not host:port; write e.g. 127.0.0.1:8080`},
		{"env metrics", nil, map[string]string{"PARLEY_METRICS_LISTEN": "on"}, `PARLEY_METRICS_LISTEN: "on" is not host:port`},
		{"env log level", nil, map[string]string{"PARLEY_LOG_LEVEL": "verbose"}, `PARLEY_LOG_LEVEL: "verbose" is not a log level; write debug, info, warn or error`},
		{"env media types", nil, map[string]string{"PARLEY_MEDIA_TYPES": "file=image/svg+xml"}, `PARLEY_MEDIA_TYPES: image/svg+xml can carry script`},
		{"env database", nil, map[string]string{"PARLEY_DATABASE_URL": "mysql://u:hunter2@h/db"}, `PARLEY_DATABASE_URL: "mysql://u:********@h/db" is not a database URL`},
		{"env rate", nil, map[string]string{"PARLEY_BOT_PER_SECOND": "-1"}, `PARLEY_BOT_PER_SECOND: "-1" is not a rate`},
		{"env webhook allow", nil, map[string]string{"PARLEY_WEBHOOK_ALLOW": "not a host!"}, `PARLEY_WEBHOOK_ALLOW:`},
		{"flag", []string{"-media-daily-bytes", "lots"}, nil, `-media-daily-bytes: "lots" is not a number of bytes`},
		{"missing file", nil, map[string]string{"PARLEY_CONFIG": "/does/not/exist.toml"}, `config file: open /does/not/exist.toml`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.args, tc.env)
			if err == nil {
				t.Fatal("no error")
			}
			want := tc.want
			if strings.Contains(want, "%s") {
				want = strings.ReplaceAll(want, "%s", tc.env["PARLEY_CONFIG"])
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q\nwant it to contain %q", err, want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows a password: %q", err)
			}
		})
	}
	// Through the command: a configuration error is exit status 2.
	err := run(t.Context(), []string{"serve", "-listen", "nope"}, func(string) string { return "" }, io.Discard, io.Discard)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), `-listen: "nope" is not host:port`) {
		t.Errorf("serve with a bad flag: %d %v", exitCode(err), err)
	}
}

// TestConfigPrint: the effective values with their sources, secrets
// masked, as TOML that loads back to the same configuration.
func TestConfigPrint(t *testing.T) {
	file := writeFile(t, "parley.toml", "data_dir = \"/srv/parley\"\n[media]\nmax_bytes = \"10MiB\"\n")
	env := map[string]string{"PARLEY_CONFIG": file, "PARLEY_DATABASE_URL": "postgres://parley:hunter2@db:5432/parley?sslmode=require", "PARLEY_ADMINS": "ann,bob"}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	if err := run(t.Context(), []string{"config", "print", "-log-level", "debug"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		`data_dir               = "/srv/parley"`, "# file " + file,
		`database_url           = "postgres://parley:********@db:5432/parley?sslmode=require" # env PARLEY_DATABASE_URL`,
		`log_level              = "debug"`, "# flag -log-level",
		`admins                 = ["ann", "bob"]`,
		"[media]\nmax_bytes              = \"10MiB\"",
		`listen                 = "127.0.0.1:8080"                 # default`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("config print lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "hunter2") {
		t.Errorf("config print shows the password:\n%s", text)
	}
	// The output is a config file: loading it gives the same values
	// (the database URL aside: its password is masked).
	printed := writeFile(t, "printed.toml", text)
	again, err := load(t, nil, map[string]string{"PARLEY_CONFIG": printed})
	if err != nil {
		t.Fatalf("printed config does not load: %v\n%s", err, text)
	}
	orig, err := load(t, []string{"-log-level", "debug"}, env)
	if err != nil {
		t.Fatal(err)
	}
	orig.Server.DatabaseURL, again.Server.DatabaseURL = "", ""
	if !reflect.DeepEqual(orig.Server, again.Server) || orig.LogLevel != again.LogLevel {
		t.Errorf("printed config loads differently:\n%+v\n%+v", orig.Server, again.Server)
	}

	out.Reset()
	if err := run(t.Context(), []string{"config", "print", "--json"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		File     string
		Settings []settingValue
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.File != file || len(doc.Settings) != len(settingTable) {
		t.Fatalf("json: %+v", doc)
	}
	for _, s := range doc.Settings {
		if s.Key == "database_url" && (s.Value != "postgres://parley:********@db:5432/parley?sslmode=require" || s.Env != "PARLEY_DATABASE_URL" || s.Flag != "-database-url") {
			t.Errorf("json database_url: %+v", s)
		}
	}
}

func TestMasked(t *testing.T) {
	for _, tc := range []struct{ key, value, want string }{
		{"webhook.secret", "abc", "********"},
		{"smtp.password", "abc", "********"},
		{"api_token", "abc", "********"},
		{"encryption_key", "abc", "********"},
		{"encryption_key", "", ""},
		{"database_url", "postgres://u:p@h/db", "postgres://u:********@h/db"},
		{"database_url", "postgres://u@h/db", "postgres://u@h/db"},
		{"database_url", "postgres://h/db?password=p&sslmode=off", "postgres://h/db?password=********&sslmode=off"},
		{"nats_url", "nats://u:p@h:4222", "nats://u:********@h:4222"},
		{"listen", "127.0.0.1:8080", "127.0.0.1:8080"},
		{"media.keep_metadata", "true", "true"},
	} {
		if got := masked(tc.key, tc.value); got != tc.want {
			t.Errorf("masked(%q, %q) = %q, want %q", tc.key, tc.value, got, tc.want)
		}
	}
}

// TestReload: SIGHUP's reload applies the log level and leaves the rest
// for a restart, saying so; a broken file changes nothing.
func TestReload(t *testing.T) {
	path := writeFile(t, "parley.toml", "log_level = \"info\"\nrequest_limit = 3\n")
	env := map[string]string{"PARLEY_CONFIG": path}
	reload := func() (*settings, error) { return load(t, nil, env) }
	cur, err := reload()
	if err != nil {
		t.Fatal(err)
	}
	level := new(slog.LevelVar)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	os.WriteFile(path, []byte("log_level = \"debug\"\nrequest_limit = 9\n"), 0o600)
	cur = reloadSettings(cur, reload, level, log)
	if level.Level() != slog.LevelDebug {
		t.Errorf("level %v, want debug", level.Level())
	}
	if !strings.Contains(logs.String(), "apply after a restart") || !strings.Contains(logs.String(), "request_limit") {
		t.Errorf("no restart warning: %s", logs.String())
	}

	logs.Reset()
	os.WriteFile(path, []byte("log_level = \"loud\"\n"), 0o600)
	reloadSettings(cur, reload, level, log)
	if level.Level() != slog.LevelDebug || !strings.Contains(logs.String(), `log_level: \"loud\" is not a log level`) {
		t.Errorf("a broken file changed the level to %v: %s", level.Level(), logs.String())
	}
}

// TestDocumentedConfigFiles loads every TOML and YAML example of the
// operator docs, so that they never show a key or a value Parley refuses.
// The complete parley.toml of operations.md must also be the defaults.
func TestDocumentedConfigFiles(t *testing.T) {
	n := 0
	for _, doc := range []string{"../../docs/operations.md", "../../docs/deploy.md"} {
		buf, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, ext := range []string{"toml", "yaml"} {
			parts := strings.Split(string(buf), "```"+ext+"\n")
			for i, part := range parts[1:] {
				block, _, _ := strings.Cut(part, "```")
				path := writeFile(t, "example."+ext, block)
				st, err := load(t, nil, map[string]string{"PARLEY_CONFIG": path})
				if err != nil {
					t.Errorf("%s: %s example %d: %v", doc, ext, i+1, err)
					continue
				}
				n++
				if doc == "../../docs/operations.md" && ext == "toml" && i == 0 { // the complete parley.toml
					def, _ := load(t, nil, nil)
					st.Server.App.Media.Types = nil
					if !reflect.DeepEqual(st.Server, def.Server) || st.LogLevel != def.LogLevel || st.LogFormat != def.LogFormat {
						t.Errorf("%s: the complete parley.toml is not the defaults:\n%+v\n%+v", doc, st.Server, def.Server)
					}
				}
			}
		}
	}
	if n < 3 {
		t.Errorf("found %d examples", n)
	}
}

// TestEncryptionKeyFile: the master key can come from a file; setting it
// both ways is refused, and so is a file without a key.
func TestEncryptionKeyFile(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	st, err := load(t, nil, map[string]string{"PARLEY_ENCRYPTION_KEY_FILE": writeFile(t, "key", hexKey+"\n")})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Server.App.EncryptionKey) != 32 || st.Server.App.EncryptionKey[0] != 0xab {
		t.Fatalf("key from file: %x", st.Server.App.EncryptionKey)
	}
	if _, err := load(t, nil, map[string]string{"PARLEY_ENCRYPTION_KEY": hexKey, "PARLEY_ENCRYPTION_KEY_FILE": writeFile(t, "key", hexKey)}); err == nil || !strings.Contains(err.Error(), "set one of") {
		t.Errorf("both set: %v", err)
	}
	if _, err := load(t, nil, map[string]string{"PARLEY_ENCRYPTION_KEY_FILE": writeFile(t, "key", "not a key")}); err == nil || !strings.Contains(err.Error(), "PARLEY_ENCRYPTION_KEY_FILE") {
		t.Errorf("bad file: %v", err)
	}
	if _, err := load(t, nil, map[string]string{"PARLEY_ENCRYPTION_KEY_FILE": "/does/not/exist"}); err == nil {
		t.Error("missing file accepted")
	}
}

// TestEnvTypos: a PARLEY_ variable within two edits of a setting is named
// with the setting it probably meant; settings, PARLEY_CONFIG and other
// programs' PARLEY_ variables are not.
func TestEnvTypos(t *testing.T) {
	got := envTypos([]string{"PARLEY_LISTN=:80", "PARLEY_LISTEN=:8080", "PARLEY_CONFIG=x.toml", "PARLEY_TOKEN=prl_x",
		"PARLEY_URL=http://x", "HOME=/root", "PARLEY_EDIT_WINDOWS=1m", "PARLEY_TEST_STORE=postgres"})
	want := []string{
		"PARLEY_LISTN is not a setting and is ignored; did you mean PARLEY_LISTEN?",
		"PARLEY_EDIT_WINDOWS is not a setting and is ignored; did you mean PARLEY_EDIT_WINDOW?",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("envTypos = %q, want %q", got, want)
	}

	// parley config print warns on stderr and still prints.
	defer func(f func() []string) { environ = f }(environ)
	environ = func() []string { return []string{"PARLEY_DATA_DIRR=/srv"} }
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"config", "print"}, func(string) string { return "" }, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "PARLEY_DATA_DIRR is not a setting and is ignored; did you mean PARLEY_DATA_DIR?") ||
		!strings.Contains(out.String(), "data_dir") {
		t.Errorf("config print: %q %q", out.String(), errb.String())
	}
}

// TestLoginLimitsConfigured: the login limits are settings, by flag and
// by environment, and reach the app.
func TestLoginLimitsConfigured(t *testing.T) {
	st, err := load(t, []string{"-limits-logins-per-address", "7"}, map[string]string{"PARLEY_LIMITS_LOGINS_PER_HANDLE": "3"})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Server.App; got.LoginPerHandle != 3 || got.LoginPerAddress != 7 {
		t.Fatalf("login limits %d per handle, %d per address", got.LoginPerHandle, got.LoginPerAddress)
	}
	if _, err := load(t, nil, map[string]string{"PARLEY_LIMITS_LOGINS_PER_HANDLE": "many"}); err == nil || !strings.Contains(err.Error(), "PARLEY_LIMITS_LOGINS_PER_HANDLE") {
		t.Fatalf("a bad login limit: %v", err)
	}
}
