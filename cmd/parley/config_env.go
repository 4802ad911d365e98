package main

import (
	"fmt"
	"os"
	"strings"
)

// environ lists the process environment; tests replace it.
var environ = os.Environ

// envTypos warns about PARLEY_* variables that are no setting but within
// two edits of one (PARLEY_LISTN for PARLEY_LISTEN): such a typo would
// otherwise be ignored without a word. Other PARLEY_* names (PARLEY_URL
// and PARLEY_TOKEN of the example bot, the tests' variables) are left
// alone.
func envTypos(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "PARLEY_") || name == "PARLEY_CONFIG" {
			continue
		}
		if _, ok := settingByEnv(name); ok {
			continue
		}
		best, bestD := "", 3
		for _, st := range settingTable {
			if d := editDistance(name, st.env()); d < bestD {
				best, bestD = st.env(), d
			}
		}
		if best != "" {
			out = append(out, fmt.Sprintf("%s is not a setting and is ignored; did you mean %s?", name, best))
		}
	}
	return out
}

// settingByEnv finds a setting by its environment variable.
func settingByEnv(env string) (setting, bool) {
	for _, st := range settingTable {
		if st.env() == env {
			return st, true
		}
	}
	return setting{}, false
}
