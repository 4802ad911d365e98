package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEConfigTable keeps the README's configuration table and the
// settings of parley serve together: every setting has a row (a row may
// name several, as `PARLEY_MEDIA_MAX_BYTES` · `_MAX_PIXELS`), with its
// flag and, for a row of one setting with a fixed default, that default
// (an empty default is described in words); and every variable
// the table names is a setting.
func TestREADMEConfigTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ envs, flags, def string }
	rows := map[string]*row{} // env → its row
	code := regexp.MustCompile("`([^`]*)`")
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `PARLEY_") {
			continue
		}
		n++
		cells := strings.Split(line, " | ")
		if len(cells) < 4 {
			t.Errorf("README row %q has fewer than 4 cells", line)
			continue
		}
		r := &row{envs: cells[0], flags: cells[1], def: cells[2]}
		first := ""
		for _, m := range code.FindAllStringSubmatch(cells[0], -1) {
			env := m[1]
			switch {
			case strings.HasPrefix(env, "PARLEY_"):
				first = env
			case strings.HasPrefix(env, "_") && first != "":
				// `_MAX_PIXELS` after `PARLEY_MEDIA_MAX_BYTES`: the first
				// one's section (PARLEY_MEDIA) with this suffix.
				for i := strings.LastIndex(first, "_"); i > 0; i = strings.LastIndex(first[:i], "_") {
					if _, ok := settingByEnv(first[:i] + env); ok {
						env = first[:i] + env
						break
					}
				}
			}
			if _, ok := settingByEnv(env); !ok {
				t.Errorf("README names %s, which is no setting", env)
				continue
			}
			rows[env] = r
		}
	}
	if n < 20 {
		t.Fatalf("only %d configuration rows in README.md; the test is broken", n)
	}
	for _, st := range settingTable {
		r, ok := rows[st.env()]
		switch {
		case !ok:
			t.Errorf("README's configuration table has no row for %s (-%s, default %q)", st.env(), st.flagName(), st.def)
		case !strings.Contains(r.flags, "`-"+st.flagName()+"`") && !strings.Contains(r.flags, "…"):
			t.Errorf("README's row of %s shows the flag %s, want -%s", st.env(), r.flags, st.flagName())
		case st.def != "" && strings.Count(r.envs, "`") == 2 && strings.HasPrefix(r.def, "`") && !strings.HasPrefix(r.def, "`"+st.def+"`"):
			t.Errorf("README's row of %s shows the default %s, want %q", st.env(), r.def, st.def)
		}
	}
}
