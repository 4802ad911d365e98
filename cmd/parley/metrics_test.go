package main

import (
	"io"
	"testing"
)

func TestMetricsListenConfig(t *testing.T) {
	env := map[string]string{"PARLEY_METRICS_LISTEN": "127.0.0.1:9464"}
	cfg, _, err := parseConfig("serve", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsListen != "127.0.0.1:9464" {
		t.Errorf("from the environment: %q", cfg.MetricsListen)
	}
	cfg, _, err = parseConfig("serve", []string{"-metrics-listen", "off"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsListen != "off" { // the flag beats the environment
		t.Errorf("from the flag: %q", cfg.MetricsListen)
	}
	if cfg, _, _ = parseConfig("serve", nil, func(string) string { return "" }, io.Discard); cfg.MetricsListen != "" {
		t.Errorf("default %q, want empty (the main listener)", cfg.MetricsListen)
	}
}
