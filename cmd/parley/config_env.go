package main

// Near misses: names that are almost a setting, in config files and in
// the environment.

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

// suggest names the closest setting, or where to find them all.
func suggest(name string, env bool) string {
	best, bestD := "", 4
	for _, st := range settingTable {
		cand := st.key
		if env {
			cand = st.env()
		}
		if d := editDistance(strings.ToLower(name), strings.ToLower(cand)); d < bestD {
			best, bestD = cand, d
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %q? (parley config print lists every setting)", best)
	}
	return "parley config print lists every setting"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
