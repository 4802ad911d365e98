package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleyhq/parley/app"
)

// TestKeysCommands: parley keys status, rotate, reseal and rewrap on a data
// directory no server holds; a new master key comes from a file or stdin,
// and afterwards only it opens the database.
func TestKeysCommands(t *testing.T) {
	c := newCLI(t)
	c.extra = map[string]string{"PARLEY_ENCRYPTION_KEY": strings.Repeat("ab", 32)}
	if code, _, errs := c.run("", "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errs)
	}
	c.ok(nil, "", "user", "create", "alice")
	var st app.KeyStatus
	c.ok(&st, "", "keys", "status")
	if !st.Enabled || st.Current != 1 || len(st.Keys) != 1 {
		t.Fatalf("status %+v", st)
	}
	var res app.ResealResult
	c.ok(&res, "", "keys", "rotate")
	if res.NewKey != 2 || !res.Complete || len(res.DroppedKeys) != 1 || res.DroppedKeys[0] != 1 {
		t.Fatalf("rotate %+v", res)
	}
	c.ok(&res, "", "keys", "reseal")
	if res.Resealed != 0 || !res.Complete {
		t.Fatalf("reseal after rotate %+v", res)
	}

	// rewrap wants the new key in a file or on stdin, never as a value.
	c.fails(exitUsage, "usage", "", "keys", "rewrap")
	c.fails(exitUsage, "", "", "keys", "rewrap", "--new-key", strings.Repeat("cd", 32))
	c.fails(exitUsage, "usage", "not a key\n", "keys", "rewrap", "--new-key-stdin")
	newKey := strings.Repeat("cd", 32)
	var n map[string]int
	c.ok(&n, newKey+"\n", "keys", "rewrap", "--new-key-stdin")
	if n["rewrapped"] != 1 {
		t.Fatalf("rewrap %v", n)
	}
	// The old key no longer opens the database; the new one does.
	code, _, errs := c.run("", "keys", "status")
	if code == 0 || !strings.Contains(errs, "PARLEY_ENCRYPTION_KEY") {
		t.Fatalf("status with the old key: %d %s", code, errs)
	}
	c.extra["PARLEY_ENCRYPTION_KEY"] = newKey
	c.ok(&st, "", "keys", "status")
	if st.Current != 2 {
		t.Fatalf("status with the new key %+v", st)
	}
	// Again, from a file.
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte(strings.Repeat("ef", 32)+"\n"), 0o600)
	c.ok(&n, "", "keys", "rewrap", "--new-key-file", keyFile)
	delete(c.extra, "PARLEY_ENCRYPTION_KEY")
	c.extra["PARLEY_ENCRYPTION_KEY_FILE"] = keyFile
	c.ok(&st, "", "keys", "status")

	// Without a key the database does not open, and says which setting.
	delete(c.extra, "PARLEY_ENCRYPTION_KEY_FILE")
	if code, _, errs := c.run("", "keys", "status"); code == 0 || !strings.Contains(errs, "PARLEY_ENCRYPTION_KEY") {
		t.Fatalf("status without a key: %d %s", code, errs)
	}
}
