package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "parley.env")
	os.WriteFile(file, []byte("# comment\nPARLEY_LISTEN=127.0.0.1:7000\nPARLEY_DATA_DIR=/from/file\nPARLEY_REQUEST_LIMIT=5\nPARLEY_EDIT_WINDOW=\"30m\"\n"), 0o600)
	env := map[string]string{"PARLEY_CONFIG": file, "PARLEY_DATA_DIR": "/from/env", "PARLEY_MAX_GROUP_MEMBERS": "50"}
	cfg, level, err := parseConfig("serve", []string{"-listen", "127.0.0.1:9000"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9000" { // flag beats file
		t.Errorf("listen %q", cfg.Listen)
	}
	if cfg.DataDir != "/from/env" { // env beats file
		t.Errorf("data dir %q", cfg.DataDir)
	}
	if cfg.App.RequestLimit != 5 || cfg.App.EditWindow != 30*time.Minute || cfg.App.MaxGroupMembers != 50 {
		t.Errorf("app config %+v", cfg.App)
	}
	if level != "info" {
		t.Errorf("log level %q", level)
	}

	defaults, _, err := parseConfig("serve", nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if defaults.Listen != "127.0.0.1:8080" || defaults.DataDir != "./parley-data" || defaults.DatabaseURL != "" {
		t.Errorf("defaults %+v", defaults)
	}

	for _, bad := range []map[string]string{
		{"PARLEY_REQUEST_LIMIT": "three"},
		{"PARLEY_EDIT_WINDOW": "soon"},
		{"PARLEY_CONFIG": "/does/not/exist"},
	} {
		if _, _, err := parseConfig("serve", nil, func(k string) string { return bad[k] }, io.Discard); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestMigrateAndVersion(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	env := func(k string) string {
		if k == "PARLEY_DATA_DIR" {
			return dir
		}
		return ""
	}
	if err := run(context.Background(), []string{"migrate"}, env, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "parley.db")); err != nil {
		t.Fatalf("migrate made no database: %v", err)
	}
	// Running it again is a no-op.
	if err := run(context.Background(), []string{"migrate"}, env, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"version"}, env, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "parley ") {
		t.Errorf("version: %q %v", out.String(), err)
	}
	if err := run(context.Background(), []string{"frobnicate"}, env, &out, io.Discard); err == nil {
		t.Error("unknown command accepted")
	}
	if err := run(context.Background(), []string{"migrate"}, func(k string) string {
		if k == "PARLEY_DATABASE_URL" {
			return "mysql://x"
		}
		return ""
	}, &out, io.Discard); err == nil {
		t.Error("unknown database scheme accepted")
	}
}

func TestMediaConfig(t *testing.T) {
	env := map[string]string{"PARLEY_MEDIA_MAX_BYTES": "1000", "PARLEY_MEDIA_TYPES": "file=application/pdf; image=image/png,image/jpeg", "PARLEY_MEDIA_KEEP_METADATA": "true"}
	cfg, _, err := parseConfig("serve", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.App.Media
	if m.MaxFileBytes != 1000 || !m.KeepMetadata || len(m.Types["file"]) != 1 || len(m.Types["image"]) != 2 || len(m.Types["video"]) == 0 {
		t.Fatalf("media config %+v", m)
	}
	env["PARLEY_MEDIA_TYPES"] = "file=image/svg+xml"
	if _, _, err := parseConfig("serve", nil, func(k string) string { return env[k] }, io.Discard); err == nil {
		t.Fatal("SVG accepted as a file type")
	}
}
